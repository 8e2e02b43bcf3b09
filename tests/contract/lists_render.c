/* Store contract suite (contract.h): rendered user lists through core's list operation (what
 * a server answers) under writes on this connection, another one and another handle of the
 * store; read spans.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

/* --- rendered user lists (user_list_render; the SQLite store keeps rendered text) --- */

static struct roster_org org_r;
static const char *rtest_org_id; /* the organisation the renderer expects */

/* A renderer that writes "username:last:state" and flags a user that is not a whole row of
 * the organisation (no id, no version, another organisation). */
static void rtest_render(const struct roster_user *u, struct roster_buf *out,
                         struct roster_arena *a)
{
    (void)a;
    roster_buf_printf(out, "%s:%s:%d", u->f[RU_USERNAME] ? u->f[RU_USERNAME] : "(null)",
                      u->f[RU_LAST_NAME] ? u->f[RU_LAST_NAME] : "(null)", u->state);
    bool bad = u->version < 1 || !roster_id_valid(u->id) || u->num_id <= 0 ||
               strcmp(u->org_id, rtest_org_id) != 0 || !u->f[RU_EMAIL];
    if (bad)
        roster_buf_addstr(out, "(not a row)");
}
static const struct roster_user_render rtest_r = {rtest_render};

/* A second renderer over the same rows: the e-mail only. */
static void rtest_render_email(const struct roster_user *u, struct roster_buf *out,
                               struct roster_arena *a)
{
    (void)a;
    roster_buf_printf(out, "<%s>", u->f[RU_EMAIL] ? u->f[RU_EMAIL] : "(null)");
}
static const struct roster_user_render rtest_email = {rtest_render_email};

/* Renders q in org_id on c; returns the text (or "ERR:<code>"); *n and *total as given. */
static const char *rlist_on(struct roster_conn *c, const char *org_id,
                            const struct roster_user_render *rd, const struct roster_query *q,
                            size_t *n, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_buf b;
    roster_buf_init(&b);
    size_t got = 0;
    int rc = list_render(c, org_id, q, rd, ",", &b, &A, &got, total, &err);
    const char *res;
    if (rc) {
        fprintf(stderr, "    user_list_render: %s (%s)\n", err.msg, err.detail);
        res = roster_arena_printf(&A, "ERR:%d", rc);
    } else {
        res = roster_arena_strdup(&A, b.data ? b.data : "");
    }
    roster_buf_release(&b);
    if (n)
        *n = got;
    return res;
}

static const char *rlist(struct roster_conn *c, const struct roster_query *q, int64_t *total)
{
    return rlist_on(c, org_r.id, &rtest_r, q, NULL, total);
}

/* The page's text as user_list + rtest_render would make it, for comparison. */
static const char *rexpect_on(struct roster_conn *c, const char *org_id,
                              const struct roster_query *q)
{
    struct roster_err err = {0};
    struct roster_user *rows = NULL;
    size_t n = 0;
    if (user_list(c, org_id, q, &A, &rows, &n, NULL, &err))
        return "ERR";
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s:%s:%d", i ? "," : "", rows[i].f[RU_USERNAME],
                          rows[i].f[RU_LAST_NAME] ? rows[i].f[RU_LAST_NAME] : "(null)",
                          rows[i].state);
    const char *res = roster_arena_strdup(&A, b.data);
    roster_buf_release(&b);
    return res;
}

static const char *rexpect(struct roster_conn *c, const struct roster_query *q)
{
    return rexpect_on(c, org_r.id, q);
}

#define NRENDER 40

/* Writers and readers at once: after a write is acknowledged, no page read afterwards may
 * show an older version of the row (the kept text must never be stale). */
static atomic_int rw_acked;  /* the last version whose write was acknowledged */
static atomic_int rw_stop;   /* the writer is done */
static atomic_int rw_stale;  /* a reader saw an older version than acknowledged */
static atomic_int rw_errors; /* store errors */
static atomic_int rw_reads;

static void *rw_reader(void *arg)
{
    (void)arg;
    struct roster_err err = {0};
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &rw_errors);
    if (!c)
        return NULL;
    struct roster_query q;
    qinit(&q);
    q.limit = 5;
    while (!atomic_load(&rw_stop)) {
        int before = atomic_load(&rw_acked);
        struct roster_buf b;
        roster_buf_init(&b);
        size_t n = 0;
        int rc = list_render(c, org_r.id, &q, &rtest_r, ",", &b, &a, &n, NULL, &err);
        if (rc == ROSTER_EBUSY) {
            roster_buf_release(&b);
            continue;
        }
        /* user r000 is first; its last name is "v<version>" */
        const char *v = rc == 0 && b.data ? strstr(b.data, "r000:v") : NULL;
        if (!v)
            atomic_fetch_add(&rw_errors, 1);
        else if (atoi(v + 6) < before)
            atomic_fetch_add(&rw_stale, 1);
        atomic_fetch_add(&rw_reads, 1);
        roster_buf_release(&b);
        roster_arena_clear(&a);
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

/* A new org_r named "Org R" (the organisation rtest_render expects from now on) with the
 * users ru[0..NRENDER): "r000".."r039", ids in that order, last name "Four" for every
 * fourth, every fifth SUSPENDED. */
static void render_org(struct roster_user ru[NRENDER])
{
    struct roster_err err = {0};
    static char names[NRENDER][16], emails[NRENDER][32];
    make_org(&org_r, "Org R");
    rtest_org_id = org_r.id;
    for (int k = 0; k < NRENDER; k++) {
        int i = (k * 7) % NRENDER; /* scrambled creation order: lists are in id order */
        snprintf(names[i], sizeof(names[i]), "r%03d", i);
        snprintf(emails[i], sizeof(emails[i]), "r%03d@r.test", i);
        make_user(&ru[i], names[i], emails[i]);
        user_id_for(ru[i].id, org_r.id, i + 1);
        ru[i].f[RU_LAST_NAME] = i % 4 == 0 ? "Four" : "Other";
        ru[i].f[RU_DEPARTMENT] = "Dept"; /* outside the renderer's mask */
        ru[i].state = i % 5 == 0 ? ROSTER_SUSPENDED : ROSTER_ACTIVATED;
        CHECK_EQ_INT(create(org_r.id, &ru[i], &err), 0);
    }
}

void test_list_render(void)
{
    struct roster_err err = {0};
    static struct roster_user ru[NRENDER];
    need_orgs();
    render_org(ru);

    /* the same users as user_list, in id order, each exactly once across pages, twice (the
     * second time from whatever the store kept) */
    struct roster_query q;
    for (int round = 0; round < 2; round++) {
        struct roster_buf all;
        roster_buf_init(&all);
        roster_buf_addstr(&all, "");
        bool totals_ok = true, pages_ok = true;
        for (int off = 0; off < NRENDER + 7; off += 7) {
            qinit(&q);
            q.skip = off;
            q.limit = 7;
            q.want_total = true;
            int64_t total = -1;
            size_t n = 0;
            const char *page = rlist_on(conn, org_r.id, &rtest_r, &q, &n, &total);
            totals_ok = totals_ok && total == NRENDER;
            pages_ok = pages_ok && strcmp(page, rexpect(conn, &q)) == 0 &&
                       n == (size_t)(off + 7 <= NRENDER ? 7
                                     : off < NRENDER    ? NRENDER - off
                                                        : 0);
            if (*page)
                roster_buf_printf(&all, "%s%s", all.len ? "," : "", page);
        }
        CHECK(totals_ok);
        CHECK(pages_ok);
        qinit(&q);
        q.limit = -1;
        CHECK_EQ_STR(all.data, rexpect(conn, &q));
        CHECK(strstr(all.data, "(too much)") == NULL); /* only the masked fields */
        CHECK(strncmp(all.data, "r000:Four:2,r001:Other:1,", 25) == 0);
        roster_buf_release(&all);
    }

    /* filters, limit 0 (the total only), an offset past the end */
    qinit(&q);
    qfilter(&q, RU_LAST_NAME, ROSTER_OP_EQ, svals(1, "Four"), 1);
    qfilter(&q, RQ_STATE, ROSTER_OP_EQ, ivals(1, (int64_t)ROSTER_ACTIVATED), 1);
    q.skip = 1;
    q.limit = 2;
    q.want_total = true;
    int64_t total = -1;
    CHECK_EQ_STR(rlist(conn, &q, &total), "r008:Four:1,r012:Four:1"); /* 4 8 12 16 24 28 32 36 */
    CHECK_EQ_INT(total, 8);
    q.limit = 0;
    size_t n = 9;
    CHECK_EQ_STR(rlist_on(conn, org_r.id, &rtest_r, &q, &n, &total), "");
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 8);
    qinit(&q);
    q.skip = NRENDER + 5;
    q.want_total = true;
    CHECK_EQ_STR(rlist(conn, &q, &total), "");
    CHECK_EQ_INT(total, NRENDER);
    /* another renderer over the same rows gets its own text */
    qinit(&q);
    q.limit = 2;
    CHECK_EQ_STR(rlist_on(conn, org_r.id, &rtest_email, &q, NULL, NULL),
                 "<r000@r.test>,<r001@r.test>");
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:Four:2,r001:Other:1");
    /* any order and the free-text search render as the store lists them */
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RU_USERNAME, true};
    CHECK_EQ_STR(rlist(conn, &q, NULL), rexpect(conn, &q));
    CHECK(strncmp(rlist(conn, &q, NULL), "r039:", 5) == 0);
    qinit(&q);
    q.search = "r00";
    CHECK_EQ_STR(rlist(conn, &q, NULL), rexpect(conn, &q));

    /* another organisation's users are never rendered; an unknown one has none */
    qinit(&q);
    q.want_total = true;
    total = -1;
    const char *other = rlist_on(conn, org_b.id, &rtest_r, &q, NULL, &total);
    CHECK(strstr(other, "r0") == NULL);
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_STR(rlist_on(conn, nowhere, &rtest_r, &q, &n, &total), "");
    CHECK_EQ_INT(total, 0);

    /* every write shows in the next page, on this connection, another connection of the
     * store, and another handle of the same store (as another process would write) */
    qinit(&q);
    q.limit = 3;
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:Four:2,r001:Other:1,r002:Other:1");
    struct roster_user w = ru[1];
    w.f[RU_LAST_NAME] = "Renamed";
    CHECK_EQ_INT(roster_store_user_update(conn, org_r.id, &w, &err), 0);
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:Four:2,r001:Renamed:1,r002:Other:1");
    struct roster_user s = w;
    s.set = ROSTER_USET_STATE;
    s.state = ROSTER_STAGED;
    CHECK_EQ_INT(roster_store_user_update(conn, org_r.id, &s, &err), 0);
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:Four:2,r001:Renamed:0,r002:Other:1");
    struct roster_conn *c2 = NULL;
    struct roster_store *st3 = NULL;
    struct roster_conn *c3 = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &c2, &err), 0);
    CHECK_EQ_INT(roster_store_open(url, &st3, &err), 0);
    if (st3)
        CHECK_EQ_INT(roster_conn_open(st3, &c3, &err), 0);
    if (c2 && c3) {
        CHECK_EQ_STR(rlist(c2, &q, NULL), "r000:Four:2,r001:Renamed:0,r002:Other:1");
        CHECK_EQ_STR(rlist(c3, &q, NULL), "r000:Four:2,r001:Renamed:0,r002:Other:1");
        struct roster_user w2;
        CHECK_EQ_INT(roster_store_user_get(c2, org_r.id, ru[2].id, &w2, &A, &err), 0);
        w2.f[RU_LAST_NAME] = "ByC2";
        CHECK_EQ_INT(roster_store_user_update(c2, org_r.id, &w2, &err), 0);
        CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:Four:2,r001:Renamed:0,r002:ByC2:1");
        CHECK_EQ_STR(rlist(c3, &q, NULL), "r000:Four:2,r001:Renamed:0,r002:ByC2:1");
        CHECK_EQ_INT(roster_store_user_get(c3, org_r.id, ru[0].id, &w2, &A, &err), 0);
        w2.f[RU_LAST_NAME] = "ByC3";
        CHECK_EQ_INT(roster_store_user_update(c3, org_r.id, &w2, &err), 0);
        CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:ByC3:2,r001:Renamed:0,r002:ByC2:1");
        CHECK_EQ_STR(rlist(c2, &q, NULL), "r000:ByC3:2,r001:Renamed:0,r002:ByC2:1");
        CHECK_EQ_INT(roster_store_user_delete(c3, org_r.id, ru[1].id, &err), 0);
        CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:ByC3:2,r002:ByC2:1,r003:Other:1");
        CHECK_EQ_STR(rlist(c2, &q, NULL), "r000:ByC3:2,r002:ByC2:1,r003:Other:1");
    }
    roster_conn_close(c3);
    roster_store_close(st3);

    /* a transaction: its own uncommitted change is rendered inside it, never after a
     * rollback, and other connections never see it */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, org_r.id, ru[3].id, &w, &A, &err), 0);
    w.f[RU_LAST_NAME] = "InTxn";
    CHECK_EQ_INT(roster_store_user_update(conn, org_r.id, &w, &err), 0);
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:ByC3:2,r002:ByC2:1,r003:InTxn:1");
    if (c2)
        CHECK_EQ_STR(rlist(c2, &q, NULL), "r000:ByC3:2,r002:ByC2:1,r003:Other:1");
    roster_store_rollback(conn);
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:ByC3:2,r002:ByC2:1,r003:Other:1");

    /* concurrent readers and a writer: nothing acknowledged is ever rendered stale */
    struct roster_user v0;
    CHECK_EQ_INT(roster_store_user_get(conn, org_r.id, ru[0].id, &v0, &A, &err), 0);
    v0.f[RU_LAST_NAME] = "v0";
    CHECK_EQ_INT(roster_store_user_update(conn, org_r.id, &v0, &err), 0);
    atomic_store(&rw_acked, 0);
    atomic_store(&rw_stop, 0);
    atomic_store(&rw_stale, 0);
    atomic_store(&rw_errors, 0);
    atomic_store(&rw_reads, 0);
    pthread_t th[3];
    int started = 0;
    for (int i = 0; i < 3; i++)
        if (pthread_create(&th[i], NULL, rw_reader, NULL) == 0)
            started++;
    int written = 0;
    for (int k = 1; k <= 150; k++) {
        char last[16];
        snprintf(last, sizeof(last), "v%d", k);
        v0.f[RU_LAST_NAME] = last;
        int rc;
        do {
            rc = roster_store_user_update(conn, org_r.id, &v0, &err);
        } while (rc == ROSTER_EBUSY);
        if (rc != 0)
            break;
        written = k;
        atomic_store(&rw_acked, k);
        if (k % 10 == 0)
            sleep_ms(1);
    }
    atomic_store(&rw_stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(started, 3);
    CHECK_EQ_INT(written, 150);
    CHECK_EQ_INT(atomic_load(&rw_stale), 0);
    CHECK_EQ_INT(atomic_load(&rw_errors), 0);
    CHECK(atomic_load(&rw_reads) > 0);
    qinit(&q);
    q.limit = 1;
    CHECK_EQ_STR(rlist(conn, &q, NULL), "r000:v150:2");
    if (c2)
        CHECK_EQ_STR(rlist(c2, &q, NULL), "r000:v150:2");
    roster_conn_close(c2);
}

/* Pages of users created in id order (the SQLite store reads such a page with one range
 * scan): kept and fresh text mixed, a row deleted and one changed in the middle. */
void test_list_render_dense(void)
{
    struct roster_err err = {0};
    static struct roster_org org_d;
    make_org(&org_d, "Org D");
    rtest_org_id = org_d.id;
    static struct roster_user du[60];
    static char names[60][16], emails[60][32];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof(names[i]), "d%03d", i);
        snprintf(emails[i], sizeof(emails[i]), "d%03d@d.test", i);
        make_user(&du[i], names[i], emails[i]);
        user_id_for(du[i].id, org_d.id, i + 1);
        du[i].f[RU_LAST_NAME] = i % 2 ? "Odd" : "Even";
        CHECK_EQ_INT(create(org_d.id, &du[i], &err), 0);
    }
    struct roster_query q;
    bool same = true;
    const char *got, *want;
    /* 10 users rendered twice (kept from the second time on), then 50 with those 10 in
     * the middle, three times */
    for (int round = 0; round < 5; round++) {
        qinit(&q);
        q.skip = round < 2 ? 20 : 5;
        q.limit = round < 2 ? 10 : 50;
        got = rlist_on(conn, org_d.id, &rtest_r, &q, NULL, NULL);
        want = rexpect_on(conn, org_d.id, &q);
        same = same && strcmp(got, want) == 0;
    }
    CHECK(same);
    CHECK(strncmp(got, "d005:Odd:1,d006:Even:1,", 23) == 0);
    CHECK(strstr(got, "(too much)") == NULL);
    /* a row deleted and one changed in the middle of a kept page */
    CHECK_EQ_INT(roster_store_user_delete(conn, org_d.id, du[25].id, &err), 0);
    struct roster_user w = du[26];
    w.f[RU_LAST_NAME] = "Changed";
    CHECK_EQ_INT(roster_store_user_update(conn, org_d.id, &w, &err), 0);
    for (int round = 0; round < 3; round++) {
        got = rlist_on(conn, org_d.id, &rtest_r, &q, NULL, NULL);
        want = rexpect_on(conn, org_d.id, &q);
        CHECK_EQ_STR(got, want);
        CHECK(strstr(got, "d025:") == NULL);
        CHECK(strstr(got, "d026:Changed:1") != NULL);
    }
    /* the whole organisation, the last page cut short */
    qinit(&q);
    q.skip = 40;
    q.limit = 30;
    CHECK_EQ_STR(rlist_on(conn, org_d.id, &rtest_r, &q, NULL, NULL),
                 rexpect_on(conn, org_d.id, &q));
    rtest_org_id = org_r.id;
}

/* --- read spans (read_begin/read_end): reads inside agree with reads outside, and a span
 * never shows anything older than what was acknowledged before it began --- */

void test_read_span(void)
{
    struct roster_err err = {0};
    struct roster_key k = {0}, got;
    static struct roster_user ru[NRENDER];
    need_orgs();
    render_org(ru); /* its own: what test_list_render wrote into its org_r does not matter */
    char secret[33];
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), k.hash);
    memcpy(k.org_id, org_r.id, sizeof(k.org_id));
    k.name = "span key";
    CHECK_EQ_INT(roster_store_key_create(conn, &k, &err), 0);
    struct roster_query q;
    qinit(&q);
    q.limit = 3;
    q.want_total = true;
    int64_t total = -1, total_in = -2;
    const char *outside = rlist(conn, &q, &total); /* also fills the caches */

    /* the request path: key, organisation, then the list, in one span */
    CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), 0);
    CHECK_EQ_STR(got.org_id, org_r.id);
    struct roster_org o;
    CHECK_EQ_INT(roster_store_org_get(conn, org_r.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org R");
    CHECK_EQ_STR(rlist(conn, &q, &total_in), outside);
    CHECK_EQ_INT(total_in, total);
    CHECK_EQ_STR(rexpect(conn, &q), outside);
    roster_store_read_end(conn);

    /* writes acknowledged before a span began show in it, cached pages or not: on this
     * connection, another one, and another handle of the store (another process) */
    struct roster_conn *c2 = NULL;
    struct roster_store *st3 = NULL;
    struct roster_conn *c3 = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &c2, &err), 0);
    CHECK_EQ_INT(roster_store_open(url, &st3, &err), 0);
    if (st3)
        CHECK_EQ_INT(roster_conn_open(st3, &c3, &err), 0);
    struct roster_conn *writers[3] = {conn, c2, c3};
    const char *names[3] = {"SpanA", "SpanB", "SpanC"};
    for (int i = 0; i < 3; i++) {
        if (!writers[i])
            continue;
        struct roster_user u;
        /* the first user of the page */
        struct roster_user *rows = NULL;
        size_t n = 0;
        struct roster_query q1;
        qinit(&q1);
        q1.limit = 1;
        CHECK_EQ_INT(user_list(writers[i], org_r.id, &q1, &A, &rows, &n, NULL, &err), 0);
        if (n != 1)
            continue;
        u = rows[0];
        u.f[RU_LAST_NAME] = names[i];
        CHECK_EQ_INT(roster_store_user_update(writers[i], org_r.id, &u, &err), 0);
        CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
        const char *in = rlist(conn, &q, NULL);
        CHECK(strstr(in, names[i]) != NULL);
        roster_store_read_end(conn);
        /* and the same in a span of the writer's own connection */
        CHECK_EQ_INT(roster_store_read_begin(writers[i], &err), 0);
        CHECK(strstr(rlist(writers[i], &q, NULL), names[i]) != NULL);
        roster_store_read_end(writers[i]);
    }

    /* after a span: writes and transactions work again on the connection, and what another
     * connection wrote during the span shows */
    CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
    CHECK(strstr(rlist(conn, &q, NULL), "SpanC") != NULL || !c3);
    if (c2) {
        struct roster_user nu;
        make_user(&nu, "r-span", "r-span@r.test");
        nu.f[RU_LAST_NAME] = "Four";
        roster_err_clear(&err);
        CHECK_EQ_INT(roster_store_user_create(c2, org_r.id, &nu, &err), 0);
    }
    roster_store_read_end(conn);
    qinit(&q);
    qfilter(&q, RU_LAST_NAME, ROSTER_OP_EQ, svals(1, "Four"), 1);
    q.limit = 0;
    q.want_total = true;
    CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
    int64_t fours = -1;
    rlist(conn, &q, &fours);
    roster_store_read_end(conn);
    CHECK_EQ_INT(fours, c2 ? 10 : 9); /* 4, 8, ..., 36 (r000 was renamed) and r-span */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0); /* a transaction after a span */
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);

    /* keys and organisations read in spans (a store may keep them): a change by this
     * connection, another one, or another process shows in the next span */
    struct roster_key keys[3];
    for (int i = 0; i < 3; i++) {
        memset(&keys[i], 0, sizeof(keys[i]));
        char sec[33];
        roster_id_new(sec);
        roster_sha256_hex(sec, strlen(sec), keys[i].hash);
        memcpy(keys[i].org_id, org_r.id, sizeof(keys[i].org_id));
        keys[i].name = "span key";
        CHECK_EQ_INT(roster_store_key_create(conn, &keys[i], &err), 0);
    }
    struct roster_org ro = org_r;
    for (int i = 0; i < 3; i++) {
        if (!writers[i])
            continue;
        for (int round = 0; round < 2; round++) { /* read twice: the second may be kept */
            CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
            for (int j = i; j < 3; j++)
                CHECK_EQ_INT(roster_store_key_find(conn, keys[j].hash, &got, &A, &err), 0);
            CHECK_EQ_INT(roster_store_org_get(conn, org_r.id, &o, &A, &err), 0);
            roster_store_read_end(conn);
        }
        CHECK_EQ_INT(roster_store_key_revoke(writers[i], keys[i].id, &err), 0);
        ro.name = names[i];
        ro.city = i == 1 ? NULL : names[i];
        CHECK_EQ_INT(roster_store_org_update(writers[i], &ro, &err), 0);
        CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
        CHECK_EQ_INT(roster_store_key_find(conn, keys[i].hash, &got, &A, &err), ROSTER_ENOTFOUND);
        if (i < 2)
            CHECK_EQ_INT(roster_store_key_find(conn, keys[i + 1].hash, &got, &A, &err), 0);
        CHECK_EQ_INT(roster_store_org_get(conn, org_r.id, &o, &A, &err), 0);
        CHECK_EQ_STR(o.name, names[i]);
        CHECK_EQ_STR(o.city, i == 1 ? NULL : names[i]);
        roster_store_read_end(conn);
    }
    ro.name = "Org R";
    ro.city = NULL;
    CHECK_EQ_INT(roster_store_org_update(conn, &ro, &err), 0);
    /* another organisation is not this one, read in the same span */
    CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_org_get(conn, org_b.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org B");
    CHECK_EQ_INT(roster_store_org_get(conn, org_r.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org R");
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_org_get(conn, nowhere, &o, &A, &err), ROSTER_ENOTFOUND);
    roster_store_read_end(conn);

    /* a key revoked by another process no longer authenticates in the next span */
    struct roster_conn *revoker = c3 ? c3 : conn;
    CHECK_EQ_INT(roster_store_key_revoke(revoker, k.id, &err), 0);
    CHECK_EQ_INT(roster_store_read_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), ROSTER_ENOTFOUND);
    roster_store_read_end(conn);
    roster_conn_close(c3);
    roster_store_close(st3);
    roster_conn_close(c2);
}
