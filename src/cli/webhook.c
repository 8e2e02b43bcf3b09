/* `roster webhook add|list|remove` (docs/webhooks.md): an organisation's webhook endpoints,
 * through the same core functions as the admin API, on the store the server uses (it may
 * be serving it meanwhile). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "roster/cli.h"
#include "roster/core.h"
#include "roster/store.h"
#include "roster/webhook.h"

static const char usage[] =
    "usage: roster webhook add --org ORG_ID --url URL [--events TYPE,...] [--secret whsec_...]\n"
    "       roster webhook list --org ORG_ID\n"
    "       roster webhook remove WEBHOOK_ID --org ORG_ID\n"
    "       (each also takes --store PATH|URL)\n"
    "event types: job.completed schedule.applied schedule.failed message.sent message.failed\n"
    "             message.created (all of them when --events is left out)\n";

static int do_add(struct roster_ctx *ctx, const char *url, const char *events, const char *secret)
{
    struct roster_webhook w;
    struct roster_err err = {0};
    memset(&w, 0, sizeof(w));
    w.url = url;
    w.events = events;
    w.secret = secret;
    if (roster_webhook_add(ctx, &w, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        return 1;
    }
    printf("%s %s\n", w.id, w.secret);
    return 0;
}

static int do_list(struct roster_ctx *ctx)
{
    struct roster_webhook *v;
    size_t n;
    struct roster_err err = {0};
    if (roster_webhook_list(ctx, &v, &n, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char created[32];
        roster_time_format(v[i].created_ms, created);
        printf("%s\t%s\t%s\t%s\t%s%s\n", v[i].id, v[i].url, v[i].events ? v[i].events : "*",
               created, v[i].disabled_ms ? "disabled: " : "enabled",
               v[i].disabled_ms && v[i].disabled_reason ? v[i].disabled_reason : "");
    }
    return 0;
}

static int do_remove(struct roster_ctx *ctx, const char *id)
{
    struct roster_err err = {0};
    if (roster_webhook_remove(ctx, id, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        return 1;
    }
    printf("removed %s\n", id);
    return 0;
}

int roster_cmd_webhook(int argc, char **argv)
{
    const char *store = NULL, *org = NULL, *url = NULL, *events = NULL, *secret = NULL;
    const struct roster_cli_opt opts[] = {
        {"store", &store, NULL},   {"org", &org, NULL},       {"url", &url, NULL},
        {"events", &events, NULL}, {"secret", &secret, NULL},
    };
    int parsed = roster_cli_options(argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (parsed == 1) {
        printf("%s", usage);
        return 0;
    }
    if (parsed != 0 || optind >= argc) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *verb = argv[optind];
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0,
         remove = strcmp(verb, "remove") == 0;
    if (!add && !list && !remove) {
        fprintf(stderr, "roster: unknown webhook command \"%s\"\n%s", verb, usage);
        return 2;
    }
    if (!org || (add && !url) || (remove && !arg)) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    struct roster_store *st;
    struct roster_conn *c;
    struct roster_err err = {0};
    char shown[1024];
    const char *surl = roster_cli_store_url(store);
    roster_url_redact(surl, shown, sizeof(shown));
    if (roster_store_open(surl, &st, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        return 1;
    }
    if (roster_conn_open(st, &c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        roster_store_close(st);
        return 1;
    }
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_ctx ctx = {.conn = c, .arena = &a, .org_id = org};
    struct roster_org o;
    int rc;
    if (!roster_id_valid(org) || roster_store_org_get(c, org, &o, &a, &err) != 0) {
        fprintf(stderr, "roster: organization \"%s\" not found\n", org);
        rc = 1;
    } else {
        rc = add ? do_add(&ctx, url, events, secret) : list ? do_list(&ctx) : do_remove(&ctx, arg);
    }
    roster_arena_release(&a);
    roster_conn_close(c);
    roster_store_close(st);
    return rc;
}
