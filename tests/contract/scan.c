/* Core's scan of a whole list in one snapshot (roster_users_scan, src/core/scan.c), which
 * `roster export` reads through: every user once, in id order, in keyset pages, and none of
 * the writes another connection commits while the scan runs. */
#include <stdio.h>
#include <string.h>

#include "contract.h"

#define SCAN_USERS 1000
#define SCAN_PAGE 64

struct scan_state {
    struct roster_conn *writer; /* commits writes during the first page, or NULL */
    const char *org_id;
    char deleted[ROSTER_ID_LEN + 1]; /* the last user, deleted by the writer */
    int64_t n, pages, stop_after;
    char last[ROSTER_ID_LEN + 1];
    bool ordered, saw_new, saw_changed;
    int writes_rc;
};

static int on_scan_page(void *arg, const struct roster_user *rows, size_t n, struct roster_err *err)
{
    struct scan_state *s = arg;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        if (s->last[0] && strcmp(rows[i].id, s->last) <= 0)
            s->ordered = false;
        memcpy(s->last, rows[i].id, sizeof(s->last));
        if (rows[i].f[RU_USERNAME] && strcmp(rows[i].f[RU_USERNAME], "scan-new") == 0)
            s->saw_new = true;
        if (rows[i].f[RU_LAST_NAME] && strcmp(rows[i].f[RU_LAST_NAME], "Changed") == 0)
            s->saw_changed = true;
    }
    s->n += (int64_t)n;
    s->pages++;
    if (s->writer && s->pages == 1) {
        /* another connection deletes the last user and adds one after every id */
        struct roster_err e = {0};
        struct roster_user u;
        make_user(&u, "scan-new", "scan-new@example.com");
        user_id_for(u.id, s->org_id, SCAN_USERS + 5);
        s->writes_rc = roster_store_user_delete(s->writer, s->org_id, s->deleted, &e);
        if (!s->writes_rc)
            s->writes_rc = roster_store_user_create(s->writer, s->org_id, &u, &e);
        if (s->writes_rc)
            fprintf(stderr, "    writer: %s (%s)\n", e.msg, e.detail);
    }
    return s->stop_after && s->pages == s->stop_after ? ROSTER_EBUSY : 0;
}

static void scan_init(struct scan_state *s, const char *org_id)
{
    memset(s, 0, sizeof(*s));
    s->org_id = org_id;
    s->ordered = true;
}

void test_users_scan(void)
{
    struct roster_org o;
    make_org(&o, "Scan");
    static struct roster_user u[SCAN_USERS];
    static char names[SCAN_USERS][32], mails[SCAN_USERS][48];
    static int rcs[SCAN_USERS];
    static struct roster_err errs[SCAN_USERS];
    for (int i = 0; i < SCAN_USERS; i++) {
        snprintf(names[i], sizeof(names[i]), "scan%04d", i);
        snprintf(mails[i], sizeof(mails[i]), "scan%04d@example.com", i);
        make_user(&u[i], names[i], mails[i]);
        u[i].f[RU_LAST_NAME] = i % 2 ? "Odd" : "Even";
        user_id_for(u[i].id, o.id, i);
    }
    CHECK_EQ_INT(create_many(o.id, u, SCAN_USERS, rcs, errs), 0);
    struct roster_ctx ctx = {.conn = conn, .arena = &A, .org_id = o.id};
    struct roster_err err = {0};
    struct roster_query q;
    roster_query_init(&q);

    /* every user once, in id order, in pages, with the count of the same snapshot */
    struct scan_state s;
    scan_init(&s, o.id);
    int64_t total = -1;
    CHECK_EQ_INT(roster_users_scan(&ctx, &q, SCAN_PAGE, &total, on_scan_page, &s, &err), 0);
    CHECK_EQ_INT(s.n, SCAN_USERS);
    CHECK_EQ_INT(total, SCAN_USERS);
    CHECK_EQ_INT(s.pages, (SCAN_USERS + SCAN_PAGE - 1) / SCAN_PAGE);
    CHECK(s.ordered);
    CHECK_EQ_STR(s.last, u[SCAN_USERS - 1].id);

    /* a filter (the JumpCloud list grammar's AST) */
    struct roster_query qf;
    roster_query_init(&qf);
    CHECK_EQ_INT(
        roster_filter_parse(&qf, "lastname:eq:Odd",
                            (const struct roster_qname[]){{"lastname", RU_LAST_NAME}, {NULL, 0}},
                            &A, &err),
        0);
    scan_init(&s, o.id);
    CHECK_EQ_INT(roster_users_scan(&ctx, &qf, SCAN_PAGE, &total, on_scan_page, &s, &err), 0);
    CHECK_EQ_INT(s.n, SCAN_USERS / 2);
    CHECK_EQ_INT(total, SCAN_USERS / 2);
    CHECK(s.ordered);

    /* one snapshot: what another connection commits during the scan is not in it */
    atomic_int werr = 0;
    struct roster_arena wa;
    struct roster_conn *w = worker_conn(&wa, &werr);
    CHECK(w != NULL);
    if (w) {
        scan_init(&s, o.id);
        s.writer = w;
        memcpy(s.deleted, u[SCAN_USERS - 1].id, sizeof(s.deleted));
        CHECK_EQ_INT(roster_users_scan(&ctx, &q, SCAN_PAGE, &total, on_scan_page, &s, &err), 0);
        CHECK_EQ_INT(s.writes_rc, 0);
        CHECK_EQ_INT(s.n, SCAN_USERS);
        CHECK_EQ_INT(total, SCAN_USERS);
        CHECK(!s.saw_new);
        CHECK_EQ_STR(s.last, u[SCAN_USERS - 1].id); /* deleted after the scan began */
        /* the next scan sees the writes */
        scan_init(&s, o.id);
        CHECK_EQ_INT(roster_users_scan(&ctx, &q, SCAN_PAGE, &total, on_scan_page, &s, &err), 0);
        CHECK_EQ_INT(s.n, SCAN_USERS);
        CHECK(s.saw_new);
        roster_conn_close(w);
        roster_arena_release(&wa);
    }

    /* the callback stops it: its code comes back */
    scan_init(&s, o.id);
    s.stop_after = 2;
    CHECK_EQ_INT(roster_users_scan(&ctx, &q, SCAN_PAGE, NULL, on_scan_page, &s, &err),
                 ROSTER_EBUSY);
    CHECK_EQ_INT(s.n, 2 * SCAN_PAGE);
    /* a scan is in id order: sort keys are refused */
    struct roster_query qs;
    roster_query_init(&qs);
    qs.sorts[0] = (struct roster_sort){RU_LAST_NAME, false};
    qs.nsorts = 1;
    CHECK_EQ_INT(roster_users_scan(&ctx, &qs, SCAN_PAGE, NULL, on_scan_page, &s, &err),
                 ROSTER_EINVAL);
    /* another organisation's scan has none of these users */
    struct roster_org o2;
    make_org(&o2, "Scan other");
    struct roster_ctx other = {.conn = conn, .arena = &A, .org_id = o2.id};
    scan_init(&s, o2.id);
    CHECK_EQ_INT(roster_users_scan(&other, &qf, SCAN_PAGE, &total, on_scan_page, &s, &err), 0);
    CHECK_EQ_INT(s.n, 0);
    CHECK_EQ_INT(total, 0);
}
