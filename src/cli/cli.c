/* The offline admin commands (org, key, routes), which use the same core and store as the
 * server and may run while it serves the same store, and what `roster serve` shares with
 * them (the store URL, key creation). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/dialects.h"
#include "roster/cli.h"
#include "roster/http.h"
#include "roster/jwt.h"
#include "roster/store.h"

#define DEFAULT_STORE "./roster-data/roster.db"

const char *roster_cli_store_url(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("ROSTER_STORE");
    return env && *env ? env : DEFAULT_STORE;
}

/* Opens the store and one connection for an offline command; prints the error. */
static int open_store(const char *flag, struct roster_store **st, struct roster_conn **c)
{
    struct roster_err err = {0};
    const char *url = roster_cli_store_url(flag);
    char shown[1024];
    roster_url_redact(url, shown, sizeof(shown));
    if (roster_store_open(url, st, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        return 1;
    }
    if (roster_conn_open(*st, c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        roster_store_close(*st);
        return 1;
    }
    return 0;
}

static void close_store(struct roster_store *st, struct roster_conn *c)
{
    roster_conn_close(c);
    roster_store_close(st);
}

/* Parses the options shared by org/key: --store, --org, --name, --all-orgs, and the company
 * block of org set (--address, --city, --state, --zip, --country). */
struct admin_opts {
    const char *store, *org, *name;
    int all_orgs;
    const char *address, *city, *state, *zip, *country;
    int name_given;
};

static int parse_admin(int argc, char **argv, struct admin_opts *o)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"org", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'n'},
        {"all-orgs", no_argument, NULL, 'a'},
        {"address", required_argument, NULL, 'A'},
        {"city", required_argument, NULL, 'C'},
        {"state", required_argument, NULL, 'S'},
        {"zip", required_argument, NULL, 'Z'},
        {"country", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->store = optarg;
            break;
        case 'o':
            o->org = optarg;
            break;
        case 'n':
            o->name = optarg;
            o->name_given = 1;
            break;
        case 'a':
            o->all_orgs = 1;
            break;
        case 'A':
            o->address = optarg;
            break;
        case 'C':
            o->city = optarg;
            break;
        case 'S':
            o->state = optarg;
            break;
        case 'Z':
            o->zip = optarg;
            break;
        case 'K':
            o->country = optarg;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* A given option replaces the field; an empty one clears it (no value). */
static const char *opt_value(const char *given, const char *current)
{
    if (!given)
        return current;
    return *given ? given : NULL;
}

/* org set ORG_ID: replaces the given fields of the name and company block (Concur's
 * `company`), keeps the others. */
static int org_set(struct roster_conn *c, const char *org_id, const struct admin_opts *o,
                   struct roster_arena *a)
{
    struct roster_err err = {0};
    struct roster_org org;
    if (!roster_id_valid(org_id) || roster_store_org_get(c, org_id, &org, a, &err) != 0) {
        fprintf(stderr, "roster: organization \"%s\" not found\n", org_id);
        return 1;
    }
    org.name = o->name_given ? opt_value(o->name, org.name) : org.name;
    org.address = opt_value(o->address, org.address);
    org.city = opt_value(o->city, org.city);
    org.region = opt_value(o->state, org.region);
    org.zip = opt_value(o->zip, org.zip);
    org.country = opt_value(o->country, org.country);
    if (roster_store_org_update(c, &org, &err) != 0) {
        fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
        return 1;
    }
    printf("updated %s\n", org.id);
    return 0;
}

int roster_cmd_org(int argc, char **argv)
{
    struct admin_opts o;
    if (parse_admin(argc, argv, &o) != 0 || optind >= argc) {
        fprintf(stderr, "usage: roster org create NAME | roster org list | roster org set ORG_ID "
                        "[--name N] [--address A] [--city C] [--state S] [--zip Z] [--country C] "
                        "[--store PATH]\n");
        return 2;
    }
    const char *verb = argv[optind];
    struct roster_store *st;
    struct roster_conn *c;
    struct roster_err err = {0};
    struct roster_arena a;
    int rc = 1;
    if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "set") != 0) {
        fprintf(stderr, "roster: unknown org command \"%s\"\n", verb);
        return 2;
    }
    if (strcmp(verb, "create") == 0 && optind + 1 >= argc) {
        fprintf(stderr, "usage: roster org create NAME\n");
        return 2;
    }
    if (strcmp(verb, "set") == 0 && (optind + 1 >= argc || !(o.name_given || o.address || o.city ||
                                                             o.state || o.zip || o.country))) {
        fprintf(stderr, "usage: roster org set ORG_ID [--name N] [--address A] [--city C] "
                        "[--state S] [--zip Z] [--country C]  (at least one; \"\" clears)\n");
        return 2;
    }
    if (open_store(o.store, &st, &c) != 0)
        return 1;
    roster_arena_init(&a, 0);
    if (strcmp(verb, "set") == 0) {
        rc = org_set(c, argv[optind + 1], &o, &a);
        goto done;
    }
    if (strcmp(verb, "create") == 0) {
        struct roster_org org = {0};
        org.name = argv[optind + 1];
        org.default_state_bulk = org.default_state_app_import = org.default_state_manual =
            ROSTER_ACTIVATED;
        if (roster_store_org_create(c, &org, &err) != 0) {
            fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
            goto done;
        }
        printf("%s\n", org.id);
    } else {
        struct roster_org *orgs;
        size_t n;
        if (roster_store_org_list(c, &a, &orgs, &n, &err) != 0) {
            fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            printf("%s\t%lld\t%s\n", orgs[i].id, (long long)orgs[i].num_id,
                   orgs[i].name ? orgs[i].name : "");
    }
    rc = 0;
done:
    roster_arena_release(&a);
    close_store(st, c);
    return rc;
}

/* Creates an API key for org_id and writes the secret (40 hex chars) into secret[41].
 * Only the SHA-256 of the secret is stored. If given is not NULL it becomes the secret. */
int roster_cli_make_key(struct roster_conn *c, const char *org_id, const char *name, int all_orgs,
                        const char *given, char secret[41], struct roster_key *key,
                        struct roster_err *err)
{
    if (given) {
        snprintf(secret, 41, "%s", given);
    } else {
        unsigned char raw[20];
        roster_random(raw, sizeof(raw));
        roster_hex(raw, sizeof(raw), secret);
    }
    memset(key, 0, sizeof(*key));
    snprintf(key->org_id, sizeof(key->org_id), "%s", org_id);
    key->name = name;
    key->all_orgs = all_orgs != 0;
    roster_sha256_hex(given ? given : secret, strlen(given ? given : secret), key->hash);
    return roster_store_key_create(c, key, err);
}

/* Wipes a secret string before it is freed. */
static void wipe_str(char *s)
{
    volatile char *p = s;
    while (*p)
        *p++ = 0;
}

/* `key create-service-account`: a new RSA key pair for org_id; stores the public key and
 * prints credentials.json as the Voximplant clients read it (account_id is the
 * organisation's numeric id, key_id the JWT kid). The private key is never stored. */
static int create_service_account(struct roster_conn *c, const char *org_id, const char *name,
                                  struct roster_arena *a)
{
    struct roster_err err = {0};
    struct roster_org org;
    if (!roster_id_valid(org_id) || roster_store_org_get(c, org_id, &org, a, &err) != 0) {
        fprintf(stderr, "roster: organization \"%s\" not found\n", org_id);
        return 1;
    }
    char *priv = NULL, *pub = NULL;
    if (roster_rsa_keypair(2048, &priv, &pub, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        return 1;
    }
    struct roster_sa_key k = {0};
    snprintf(k.org_id, sizeof(k.org_id), "%s", org_id);
    k.name = name;
    k.public_key_pem = pub;
    int rc = 1;
    if (roster_store_sa_key_create(c, &k, &err) != 0) {
        fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
        goto done;
    }
    char email[128];
    snprintf(email, sizeof(email), "%s@%lld.roster.invalid", k.id, (long long)org.num_id);
    json_t *j = json_pack("{s:s, s:I, s:s, s:s}", "account_email", email, "account_id",
                          (json_int_t)org.num_id, "key_id", k.id, "private_key", priv);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text) {
        printf("%s\n", text);
        rc = 0;
    }
    free(text);
    json_decref(j);
done:
    if (priv)
        wipe_str(priv);
    free(priv);
    free(pub);
    return rc;
}

int roster_cmd_key(int argc, char **argv)
{
    struct admin_opts o;
    if (parse_admin(argc, argv, &o) != 0 || optind >= argc) {
        fprintf(stderr, "usage: roster key create --org ORG_ID [--name NAME] [--all-orgs] | "
                        "key list | key revoke KEY_ID | key create-service-account --org ORG_ID "
                        "[--name NAME] [--store PATH]\n");
        return 2;
    }
    const char *verb = argv[optind];
    struct roster_store *st;
    struct roster_conn *c;
    struct roster_err err = {0};
    struct roster_arena a;
    int rc = 1;
    bool sa = strcmp(verb, "create-service-account") == 0;
    if ((strcmp(verb, "create") == 0 || sa) && !o.org) {
        fprintf(stderr, "roster: key %s needs --org ORG_ID\n", verb);
        return 2;
    }
    if (strcmp(verb, "revoke") == 0 && optind + 1 >= argc) {
        fprintf(stderr, "usage: roster key revoke KEY_ID\n");
        return 2;
    }
    if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0 &&
        !sa) {
        fprintf(stderr, "roster: unknown key command \"%s\"\n", verb);
        return 2;
    }
    if (open_store(o.store, &st, &c) != 0)
        return 1;
    roster_arena_init(&a, 0);
    if (sa) {
        rc = create_service_account(c, o.org, o.name, &a);
        goto done;
    }
    if (strcmp(verb, "create") == 0) {
        struct roster_org org;
        if (!roster_id_valid(o.org) || roster_store_org_get(c, o.org, &org, &a, &err) != 0) {
            fprintf(stderr, "roster: organization \"%s\" not found\n", o.org);
            goto done;
        }
        char secret[41];
        struct roster_key key;
        if (roster_cli_make_key(c, o.org, o.name, o.all_orgs, NULL, secret, &key, &err) != 0) {
            fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
            goto done;
        }
        printf("%s\n", secret);
    } else if (strcmp(verb, "list") == 0) {
        struct roster_key *keys;
        size_t n;
        if (roster_store_key_list(c, &a, &keys, &n, &err) != 0) {
            fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            char created[32];
            roster_time_format(keys[i].created_ms, created);
            printf("%s\t%s\t%s\t%s\t%s%s\n", keys[i].id, keys[i].org_id,
                   keys[i].name ? keys[i].name : "", created,
                   keys[i].revoked_ms ? "revoked" : "active", keys[i].all_orgs ? "\tall-orgs" : "");
        }
    } else {
        /* an API key or, failing that, a service-account key (ids never collide) */
        int r = roster_store_key_revoke(c, argv[optind + 1], &err);
        if (r == ROSTER_ENOTFOUND)
            r = roster_store_sa_key_revoke(c, argv[optind + 1], &err);
        if (r != 0) {
            fprintf(stderr, "roster: %s\n", err.msg);
            goto done;
        }
        printf("revoked %s\n", argv[optind + 1]);
    }
    rc = 0;
done:
    roster_arena_release(&a);
    close_store(st, c);
    return rc;
}

int roster_cmd_routes(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct roster_route *rt = roster_dialect_routes.v;
    for (size_t i = 0; i < roster_dialect_routes.n; i++)
        printf("%-7s %-42s %-10s %s\n", rt[i].method, rt[i].pattern, rt[i].dialect->name,
               rt[i].summary);
    return 0;
}
