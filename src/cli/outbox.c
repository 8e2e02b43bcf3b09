/* `roster outbox`: an operator's view of an organisation's outbox (docs/delivery.md):
 * `list` prints its messages newest first, a page at a time, and `retry` makes a waiting
 * or undeliverable message due now. Both go through core (roster_outbox_list/_retry) on
 * the store the server uses, and may run while it serves (a server on PostgreSQL, or on
 * the same SQLite file, picks a retried message up at its next poll).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/cli.h"
#include "roster/core.h"
#include "roster/delivery.h"
#include "roster/store.h"

static const char usage[] =
    "usage: roster outbox list --org ORG_ID [--status ENQUEUED|SENT|UNDELIVERABLE] [--limit N] "
    "[--after MESSAGE_ID]\n"
    "       roster outbox retry MESSAGE_ID --org ORG_ID\n"
    "       (and --store PATH|URL)\n";

/* A field of a tab-separated line: tabs and line breaks become spaces. */
static void field(const char *s)
{
    for (const char *p = s ? s : ""; *p; p++)
        putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
}

static void time_or_dash(int64_t ms)
{
    char t[32];
    if (ms <= 0) {
        fputs("-", stdout);
        return;
    }
    roster_time_format(ms, t);
    fputs(t, stdout);
}

static void print_message(const struct roster_message *m)
{
    field(m->id);
    putchar('\t');
    field(m->kind);
    putchar('\t');
    field(m->channel);
    putchar('\t');
    field(m->recipient);
    putchar('\t');
    field(m->status);
    printf("\t%lld\t", (long long)m->attempts);
    /* when: SENT its sent time, ENQUEUED when it is due, UNDELIVERABLE none */
    bool sent = m->status && strcmp(m->status, "SENT") == 0;
    bool waiting = m->status && strcmp(m->status, "ENQUEUED") == 0;
    time_or_dash(sent ? m->sent_ms : waiting ? m->due_ms : 0);
    putchar('\t');
    field(m->reason ? m->reason : "-");
    putchar('\n');
}

int roster_cmd_outbox(int argc, char **argv)
{
    const char *store = NULL, *org = NULL, *status = NULL, *limit_s = NULL, *after = NULL;
    const struct roster_cli_opt opts[] = {
        {"store", &store, NULL},   {"org", &org, NULL},     {"status", &status, NULL},
        {"limit", &limit_s, NULL}, {"after", &after, NULL},
    };
    int parsed = roster_cli_options(argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (parsed == 1) {
        printf("%s", usage);
        return 0;
    }
    if (parsed != 0 || optind >= argc || !org) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *verb = argv[optind];
    const char *id = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool list = strcmp(verb, "list") == 0, retry = strcmp(verb, "retry") == 0;
    if ((!list && !retry) || (retry && !id)) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    long limit = 50;
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end) {
            fprintf(stderr, "roster: --limit \"%s\" is not a number\n", limit_s);
            return 2;
        }
    }
    struct roster_err err = {0};
    const char *url = roster_cli_store_url(store);
    char shown[1024];
    roster_url_redact(url, shown, sizeof(shown));
    struct roster_store *st = NULL;
    struct roster_conn *c = NULL;
    if (roster_store_open(url, &st, &err) != 0 || roster_conn_open(st, &c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        if (st)
            roster_store_close(st);
        return 1;
    }
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_ctx ctx = {.conn = c, .arena = &a, .org_id = org};
    int rc = 0;
    if (!roster_id_valid(org)) {
        fprintf(stderr, "roster: organization \"%.80s\" not found\n", org);
        rc = 1;
    } else if (list) {
        struct roster_message *v;
        size_t n;
        if (roster_outbox_list(&ctx, status, after, limit, &v, &n, &err) != 0) {
            fprintf(stderr, "roster: %s\n", err.msg);
            rc = err.code == ROSTER_EINVAL ? 2 : 1;
        } else {
            printf("ID\tKIND\tCHANNEL\tRECIPIENT\tSTATUS\tATTEMPTS\tDUE_OR_SENT\tREASON\n");
            for (size_t i = 0; i < n; i++)
                print_message(&v[i]);
            if (n == (size_t)limit)
                fprintf(stderr, "more: --after %s\n", v[n - 1].id);
        }
    } else {
        struct roster_message m;
        if (roster_outbox_retry(&ctx, id, &m, &err) != 0) {
            fprintf(stderr, "roster: %s\n", err.msg);
            rc = 1;
        } else {
            printf("retrying %s (due now; %lld attempts so far)\n", m.id, (long long)m.attempts);
        }
    }
    roster_arena_release(&a);
    roster_conn_close(c);
    roster_store_close(st);
    return rc;
}
