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
#define OPT_BASE 256 /* getopt_long's value of opts[i] is OPT_BASE + i: no option character */

const char *roster_cli_store_url(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("ROSTER_STORE");
    return env && *env ? env : DEFAULT_STORE;
}

int roster_cli_options(int argc, char **argv, const struct roster_cli_opt *opts, size_t n)
{
    struct option longopts[ROSTER_CLI_OPTS_MAX + 2];
    if (n > ROSTER_CLI_OPTS_MAX)
        n = ROSTER_CLI_OPTS_MAX;
    for (size_t i = 0; i < n; i++)
        longopts[i] = (struct option){opts[i].name, opts[i].value ? required_argument : no_argument,
                                      NULL, OPT_BASE + (int)i};
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'h')
            return 1;
        if (ch < OPT_BASE || ch >= OPT_BASE + (int)n)
            return -1;
        const struct roster_cli_opt *opt = &opts[ch - OPT_BASE];
        if (opt->value)
            *opt->value = optarg;
        else
            *opt->flag = 1;
    }
    return 0;
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

/* The options shared by org/key: --store, --org, --name, --all-orgs, and the company block of
 * org set (--address, --city, --state, --zip, --country). */
struct admin_opts {
    const char *store, *org, *name;
    int all_orgs;
    const char *address, *city, *state, *zip, *country;
};

/* 0, or -1 after getopt's message (an unknown option, a missing value) or on --help: the
 * caller prints its usage. */
static int parse_admin(int argc, char **argv, struct admin_opts *o)
{
    memset(o, 0, sizeof(*o));
    const struct roster_cli_opt opts[] = {
        {"store", &o->store, NULL},     {"org", &o->org, NULL},
        {"name", &o->name, NULL},       {"all-orgs", NULL, &o->all_orgs},
        {"address", &o->address, NULL}, {"city", &o->city, NULL},
        {"state", &o->state, NULL},     {"zip", &o->zip, NULL},
        {"country", &o->country, NULL},
    };
    return roster_cli_options(argc, argv, opts, sizeof(opts) / sizeof(opts[0])) == 0 ? 0 : -1;
}

/* Reads the organisation org_id into *org; prints that it is not found otherwise. */
static int find_org(struct roster_conn *c, const char *org_id, struct roster_org *org,
                    struct roster_arena *a)
{
    struct roster_err err = {0};
    if (!roster_id_valid(org_id) || roster_store_org_get(c, org_id, org, a, &err) != 0) {
        fprintf(stderr, "roster: organization \"%s\" not found\n", org_id);
        return -1;
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

/* What a verb of org or key works with: the open store, the operand after the verb (NULL
 * when there is none), the options, the organisation it names (ORG_*), an arena and the
 * store's error. */
struct admin_call {
    struct roster_conn *c;
    const char *arg;
    const struct admin_opts *o;
    struct roster_org org;
    struct roster_arena a;
    struct roster_err err;
};

/* What a verb needs before the store is opened (usage says what is missing): the operand,
 * --org (ORG_OPT, read into the call's org), a field to set; or the organisation the operand
 * names (ORG_ARG). */
enum { NEEDS_ARG = 1, ORG_OPT = 2, NEEDS_FIELD = 4, ORG_ARG = 8 };

struct admin_verb {
    const char *name;
    int needs;
    const char *usage;
    int (*run)(struct admin_call *x);
};

/* Prints a store failure; returns the exit code 1. */
static int failed(const struct roster_err *err)
{
    fprintf(stderr, "roster: %s %s\n", err->msg, err->detail);
    return 1;
}

/* org and key: the options, the verb (one of verbs, n of them) and what it needs, then the
 * verb's work on a store opened for it; returns the exit code. */
static int run_admin(int argc, char **argv, const char *family, const char *usage,
                     const struct admin_verb *verbs, size_t n)
{
    struct admin_opts o;
    if (parse_admin(argc, argv, &o) != 0 || optind >= argc) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *verb = argv[optind];
    const struct admin_verb *v = verbs;
    while (v < verbs + n && strcmp(verb, v->name) != 0)
        v++;
    if (v == verbs + n) {
        fprintf(stderr, "roster: unknown %s command \"%s\"\n", family, verb);
        return 2;
    }
    struct admin_call x = {.arg = optind + 1 < argc ? argv[optind + 1] : NULL, .o = &o};
    bool field = o.name || o.address || o.city || o.state || o.zip || o.country;
    if (((v->needs & NEEDS_ARG) && !x.arg) || ((v->needs & ORG_OPT) && !o.org) ||
        ((v->needs & NEEDS_FIELD) && !field)) {
        fprintf(stderr, "%s", v->usage);
        return 2;
    }
    struct roster_store *st;
    if (open_store(o.store, &st, &x.c) != 0)
        return 1;
    roster_arena_init(&x.a, 0);
    const char *org_id = v->needs & ORG_OPT ? o.org : v->needs & ORG_ARG ? x.arg : NULL;
    int rc = org_id && find_org(x.c, org_id, &x.org, &x.a) != 0 ? 1 : v->run(&x);
    roster_arena_release(&x.a);
    close_store(st, x.c);
    return rc;
}

static int org_create(struct admin_call *x)
{
    struct roster_org org = {0};
    org.name = x->arg;
    org.default_state_bulk = org.default_state_app_import = org.default_state_manual =
        ROSTER_ACTIVATED;
    if (roster_store_org_create(x->c, &org, &x->err) != 0)
        return failed(&x->err);
    printf("%s\n", org.id);
    return 0;
}

static int org_list(struct admin_call *x)
{
    struct roster_org *orgs;
    size_t n;
    if (roster_store_org_list(x->c, &x->a, &orgs, &n, &x->err) != 0)
        return failed(&x->err);
    for (size_t i = 0; i < n; i++)
        printf("%s\t%lld\t%s\n", orgs[i].id, (long long)orgs[i].num_id,
               orgs[i].name ? orgs[i].name : "");
    return 0;
}

/* org set ORG_ID: replaces the given fields of the name and company block (Concur's
 * `company`), keeps the others. */
static int org_set(struct admin_call *x)
{
    const struct admin_opts *o = x->o;
    struct roster_org org = x->org;
    org.name = opt_value(o->name, org.name);
    org.address = opt_value(o->address, org.address);
    org.city = opt_value(o->city, org.city);
    org.region = opt_value(o->state, org.region);
    org.zip = opt_value(o->zip, org.zip);
    org.country = opt_value(o->country, org.country);
    if (roster_store_org_update(x->c, &org, &x->err) != 0)
        return failed(&x->err);
    printf("updated %s\n", org.id);
    return 0;
}

int roster_cmd_org(int argc, char **argv)
{
    static const struct admin_verb verbs[] = {
        {"create", NEEDS_ARG, "usage: roster org create NAME\n", org_create},
        {"list", 0, NULL, org_list},
        {"set", NEEDS_ARG | NEEDS_FIELD | ORG_ARG,
         "usage: roster org set ORG_ID [--name N] [--address A] [--city C] [--state S] "
         "[--zip Z] [--country C]  (at least one; \"\" clears)\n",
         org_set},
    };
    return run_admin(argc, argv, "org",
                     "usage: roster org create NAME | roster org list | roster org set ORG_ID "
                     "[--name N] [--address A] [--city C] [--state S] [--zip Z] [--country C] "
                     "[--store PATH]\n",
                     verbs, sizeof(verbs) / sizeof(verbs[0]));
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

static int key_create(struct admin_call *x)
{
    const struct admin_opts *o = x->o;
    char secret[41];
    struct roster_key key;
    if (roster_cli_make_key(x->c, o->org, o->name, o->all_orgs, NULL, secret, &key, &x->err) != 0)
        return failed(&x->err);
    printf("%s\n", secret);
    return 0;
}

/* `key create-service-account`: a new RSA key pair for --org; stores the public key and
 * prints credentials.json as the Voximplant clients read it (account_id is the
 * organisation's numeric id, key_id the JWT kid). The private key is never stored. */
static int create_service_account(struct admin_call *x)
{
    const struct admin_opts *o = x->o;
    const struct roster_org *org = &x->org;
    char *priv = NULL, *pub = NULL;
    if (roster_rsa_keypair(2048, &priv, &pub, &x->err) != 0) {
        fprintf(stderr, "roster: %s\n", x->err.msg);
        return 1;
    }
    struct roster_sa_key k = {0};
    snprintf(k.org_id, sizeof(k.org_id), "%s", o->org);
    k.name = o->name;
    k.public_key_pem = pub;
    int rc = 1;
    if (roster_store_sa_key_create(x->c, &k, &x->err) != 0) {
        rc = failed(&x->err);
        goto done;
    }
    char email[128];
    snprintf(email, sizeof(email), "%s@%lld.roster.invalid", k.id, (long long)org->num_id);
    json_t *j = json_pack("{s:s, s:I, s:s, s:s}", "account_email", email, "account_id",
                          (json_int_t)org->num_id, "key_id", k.id, "private_key", priv);
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

static int key_list(struct admin_call *x)
{
    struct roster_key *keys;
    size_t n;
    if (roster_store_key_list(x->c, &x->a, &keys, &n, &x->err) != 0)
        return failed(&x->err);
    for (size_t i = 0; i < n; i++) {
        char created[32];
        roster_time_format(keys[i].created_ms, created);
        printf("%s\t%s\t%s\t%s\t%s%s\n", keys[i].id, keys[i].org_id,
               keys[i].name ? keys[i].name : "", created, keys[i].revoked_ms ? "revoked" : "active",
               keys[i].all_orgs ? "\tall-orgs" : "");
    }
    return 0;
}

/* an API key or, failing that, a service-account key (ids never collide) */
static int key_revoke(struct admin_call *x)
{
    int r = roster_store_key_revoke(x->c, x->arg, &x->err);
    if (r == ROSTER_ENOTFOUND)
        r = roster_store_sa_key_revoke(x->c, x->arg, &x->err);
    if (r != 0) {
        fprintf(stderr, "roster: %s\n", x->err.msg);
        return 1;
    }
    printf("revoked %s\n", x->arg);
    return 0;
}

int roster_cmd_key(int argc, char **argv)
{
    static const struct admin_verb verbs[] = {
        {"create", ORG_OPT, "roster: key create needs --org ORG_ID\n", key_create},
        {"list", 0, NULL, key_list},
        {"revoke", NEEDS_ARG, "usage: roster key revoke KEY_ID\n", key_revoke},
        {"create-service-account", ORG_OPT,
         "roster: key create-service-account needs --org ORG_ID\n", create_service_account},
    };
    return run_admin(argc, argv, "key",
                     "usage: roster key create --org ORG_ID [--name NAME] [--all-orgs] | "
                     "key list | key revoke KEY_ID | key create-service-account --org ORG_ID "
                     "[--name NAME] [--store PATH]\n",
                     verbs, sizeof(verbs) / sizeof(verbs[0]));
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
