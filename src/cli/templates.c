/* `roster template set|list|get|remove`: an organisation's message templates
 * (docs/templates.md) from the command line, through the same core operations as the admin
 * route, on the store (which a server may be serving at the same time). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "roster/cli.h"
#include "roster/core.h"
#include "roster/template.h"

static const char usage[] =
    "usage: roster template set NAME FILE --org ORG_ID   (FILE: the content JSON; - reads stdin)\n"
    "       roster template list --org ORG_ID\n"
    "       roster template get NAME --org ORG_ID\n"
    "       roster template remove NAME --org ORG_ID\n"
    "       [--store PATH|URL]\n";

/* The whole of path ("-": stdin) into b, at most max bytes; prints why not and returns -1. */
static int read_file(const char *path, struct roster_buf *b, size_t max)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "roster: cannot read \"%s\"\n", path);
        return -1;
    }
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 && b->len <= max)
        roster_buf_add(b, chunk, got);
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "roster: cannot read \"%s\"\n", path);
        return -1;
    }
    if (b->len > max) {
        fprintf(stderr, "roster: \"%s\" holds more than %zu bytes\n", path, max);
        return -1;
    }
    return 0;
}

/* Runs verb with its operands (ops[0..nops)) in ctx; returns the exit code. */
static int run(struct roster_ctx *ctx, const char *verb, char **ops, int nops)
{
    struct roster_err err = {0};
    struct roster_template t, *v;
    size_t n;
    int rc;
    if (strcmp(verb, "set") == 0 && nops == 2) {
        struct roster_buf b;
        roster_buf_init(&b);
        if (read_file(ops[1], &b, ROSTER_TEMPLATE_MAX) != 0) {
            roster_buf_release(&b);
            return 1;
        }
        bool created = false;
        rc = roster_template_put(ctx, ops[0], b.data ? b.data : "", b.len, &created, &t, &err);
        roster_buf_release(&b);
        if (rc == 0)
            printf("template \"%s\" %s\n", t.name, created ? "created" : "replaced");
    } else if (strcmp(verb, "list") == 0 && nops == 0) {
        rc = roster_template_list(ctx, &v, &n, &err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%s\t%s\n", v[i].name, v[i].content_json);
    } else if (strcmp(verb, "get") == 0 && nops == 1) {
        rc = roster_template_get(ctx, ops[0], &t, &err);
        if (rc == 0)
            printf("%s\n", t.content_json);
    } else if (strcmp(verb, "remove") == 0 && nops == 1) {
        rc = roster_template_delete(ctx, ops[0], &err);
        if (rc == 0)
            printf("template \"%s\" removed\n", ops[0]);
    } else {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "roster: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int roster_cmd_template(int argc, char **argv)
{
    const char *store = NULL, *org = NULL;
    const struct roster_cli_opt opts[] = {{"store", &store, NULL}, {"org", &org, NULL}};
    int o = roster_cli_options(argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (o != 0 || optind >= argc || !org) {
        fprintf(o == 1 ? stdout : stderr, "%s", usage);
        return o == 1 ? 0 : 2;
    }
    const char *verb = argv[optind];
    struct roster_err err = {0};
    struct roster_store *st = NULL;
    struct roster_conn *c = NULL;
    const char *url = roster_cli_store_url(store);
    char shown[1024];
    roster_url_redact(url, shown, sizeof(shown));
    if (roster_store_open(url, &st, &err) != 0 || roster_conn_open(st, &c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        roster_store_close(st);
        return 1;
    }
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_org found;
    int rc;
    if (!roster_id_valid(org) || roster_store_org_get(c, org, &found, &a, &err) != 0) {
        fprintf(stderr, "roster: organization \"%s\" not found\n", org);
        rc = 1;
    } else {
        struct roster_ctx ctx = {.conn = c, .arena = &a, .org_id = org};
        rc = run(&ctx, verb, argv + optind + 1, argc - optind - 1);
    }
    roster_arena_release(&a);
    roster_conn_close(c);
    roster_store_close(st);
    return rc;
}
