/* Store contract suite (contract.h): scheduled user state changes (create, list with every
 * filter, next per user, claim and finish under leases) and concurrent schedulers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

/* --- scheduled state changes --- */

/* Every schedule the tests create, by label, so that results read as "r2,r4,r3". */
enum { SREG_MAX = 64 };
static struct {
    char id[ROSTER_ID_LEN + 1];
    const char *label;
} sreg[SREG_MAX];
static int nsreg;

/* virtual times (contract.h): the claim tests run at C + x, the list tests' rows are due at
 * D + x, far later, so that no claim ever takes them */
static const int64_t C = SCHED_C;
static const int64_t D = SCHED_D;

struct roster_org org_s;
static char su[8][ROSTER_ID_LEN + 1]; /* users of org_s (they need not exist) */
static int sched_stage;               /* what the store holds of sched_fixture's stages */

static void sreg_add(const struct roster_schedule *s, const char *label)
{
    if (nsreg < SREG_MAX) {
        memcpy(sreg[nsreg].id, s->id, sizeof(sreg[nsreg].id));
        sreg[nsreg++].label = label;
    }
}

static const char *slabel(const char *id)
{
    for (int i = 0; i < nsreg; i++)
        if (strcmp(sreg[i].id, id) == 0)
            return sreg[i].label;
    return "?";
}

const char *sid(const char *label)
{
    for (int i = 0; i < nsreg; i++)
        if (strcmp(sreg[i].label, label) == 0)
            return sreg[i].id;
    return "";
}

/* Fills s; n > 0 gives it the explicit id "<org prefix><n>" (ids sort like n). */
static void sched_fill(struct roster_schedule *s, const char *org_id, const char *user_id,
                       int state, int64_t due, int n)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->org_id, org_id, sizeof(s->org_id));
    snprintf(s->user_id, sizeof(s->user_id), "%s", user_id);
    s->state = state;
    s->due_ms = due;
    if (n > 0)
        user_id_for(s->id, org_id, n);
}

/* Creates one schedule and registers it under label. */
static void sched_one(const char *label, const char *org_id, const char *user_id, int state,
                      int64_t due, int n, struct roster_schedule *out)
{
    struct roster_err err = {0};
    struct roster_schedule s;
    sched_fill(&s, org_id, user_id, state, due, n);
    int rc = roster_store_schedule_create(conn, &s, 1, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    schedule_create %s: %s (%s)\n", label, err.msg, err.detail);
    sreg_add(&s, label);
    if (out)
        *out = s;
}

static const char *slabels(const struct roster_schedule *rows, size_t n)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(&b, ',');
        roster_buf_addstr(&b, slabel(rows[i].id));
    }
    const char *s = roster_arena_strdup(&A, b.data);
    roster_buf_release(&b);
    return s;
}

const char *slist(const char *org_id, const struct roster_query *q, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_schedule *rows = NULL;
    size_t n = 0;
    int rc = roster_store_schedule_list(conn, org_id, q, &A, &rows, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "ERR:%d", rc);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].org_id, org_id) != 0 || rows[i].status != ROSTER_SCHED_PENDING)
            return "ERR:foreign or not pending row";
    return slabels(rows, n);
}

static const char *sfilter(int key, int op, struct roster_qval *v, size_t n)
{
    struct roster_query q;
    qinit(&q);
    qfilter(&q, key, op, v, n);
    return slist(org_s.id, &q, NULL);
}

static const char *snext(const char *org_id, const char *const *users, size_t nusers)
{
    struct roster_err err = {0};
    struct roster_schedule *rows = NULL;
    size_t n = 0;
    int rc = roster_store_schedule_next(conn, org_id, users, nusers, &A, &rows, &n, &err);
    if (rc)
        return roster_arena_printf(&A, "ERR:%d", rc);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].org_id, org_id) != 0 || rows[i].status != ROSTER_SCHED_PENDING)
            return "ERR:foreign or not pending row";
    return slabels(rows, n);
}

/* Claims at now; returns the labels and keeps the first rows in cl[] (zeroed past them). */
static struct roster_schedule cl[16];
static const char *sclaim(int64_t now, int64_t lease, size_t max)
{
    struct roster_err err = {0};
    struct roster_schedule *r = NULL;
    size_t n = 99;
    memset(cl, 0, sizeof(cl));
    int rc = roster_store_schedule_claim_due(conn, now, lease, max, &A, &r, &n, &err);
    if (rc) {
        fprintf(stderr, "    schedule_claim_due: %s (%s)\n", err.msg, err.detail);
        return roster_arena_printf(&A, "ERR:%d", rc);
    }
    for (size_t i = 0; i < n && i < sizeof(cl) / sizeof(cl[0]); i++)
        cl[i] = r[i];
    return slabels(r, n);
}

/* org_s ("Org S") and the ids of its users su[0..8): 10, 20, 31, 41, 51, ... (made by the
 * first test that calls sched_org) */
static void sched_org(void)
{
    if (org_s.id[0])
        return;
    make_org(&org_s, "Org S");
    for (int i = 0; i < 8; i++)
        user_id_for(su[i], org_s.id, 10 * (i + 1) + (i >= 2 ? 1 : 0));
}

/* The changes test_schedule_create leaves pending in org_s: k1 with every field and the id
 * 900, k2 and k3 with ids the store assigns. */
static void k_fill(struct roster_schedule *s, int k)
{
    if (k == 1) {
        sched_fill(s, org_s.id, su[0], ROSTER_ACTIVATED, D + 1000, 900);
        s->send_activation_email = true;
        s->email_override = "first.last@example.com";
    } else if (k == 2) {
        sched_fill(s, org_s.id, su[1], ROSTER_SUSPENDED, D + 1001, 0);
    } else {
        sched_fill(s, org_s.id, su[3], ROSTER_ACTIVATED, D + 1005, 0);
    }
}

/* test_schedule_list's changes r1..r9 in org_s; ids sort like their numbers */
static const struct {
    const char *label;
    int user, state, n;
    int64_t due;
} rs[] = {
    {"r5", 1, ROSTER_ACTIVATED, 105, 400}, {"r1", 0, ROSTER_ACTIVATED, 101, 300},
    {"r8", 0, ROSTER_ACTIVATED, 108, 50},  {"r3", 0, ROSTER_SUSPENDED, 103, 200},
    {"r2", 1, ROSTER_SUSPENDED, 102, 100}, {"r7", 0, ROSTER_ACTIVATED, 107, 600},
    {"r4", 2, ROSTER_ACTIVATED, 104, 100}, {"r6", 2, ROSTER_SUSPENDED, 106, 500},
    {"r9", 3, ROSTER_ACTIVATED, 111, 700},
};
enum { NR = sizeof(rs) / sizeof(rs[0]) };

/* Creates r1..r9 in one call, in no particular order, and registers them; *r8 is r8. */
static void r_create(struct roster_schedule *r8)
{
    struct roster_err err = {0};
    struct roster_schedule s[NR];
    for (int i = 0; i < NR; i++)
        sched_fill(&s[i], org_s.id, su[rs[i].user], rs[i].state, D + rs[i].due, rs[i].n);
    CHECK_EQ_INT(roster_store_schedule_create(conn, s, NR, &err), 0);
    for (int i = 0; i < NR; i++) {
        sreg_add(&s[i], rs[i].label);
        if (strcmp(rs[i].label, "r8") == 0)
            *r8 = s[i];
    }
}

/* test_schedule_next's changes: su[4] has two due at the same time (t1 has the lower id)
 * and a later one; org_b has a change for the same user id as org_s's su[0] */
static void t_create(void)
{
    sched_one("t2", org_s.id, su[4], ROSTER_ACTIVATED, D + 800, 132, NULL);
    sched_one("t1", org_s.id, su[4], ROSTER_ACTIVATED, D + 800, 131, NULL);
    sched_one("t3", org_s.id, su[4], ROSTER_ACTIVATED, D + 900, 130, NULL);
    sched_one("b1", org_b.id, su[0], ROSTER_SUSPENDED, D + 1, 0, NULL);
}

void sched_fixture(int stage)
{
    struct roster_err err = {0};
    need_orgs();
    sched_org();
    if (sched_stage < SCHED_CREATED) {
        static const char *const k[] = {"k1", "k2", "k3"};
        for (int i = 0; i < 3; i++) {
            struct roster_schedule s;
            k_fill(&s, i + 1);
            CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), 0);
            sreg_add(&s, k[i]);
        }
        sched_stage = SCHED_CREATED;
    }
    if (stage >= SCHED_LISTED && sched_stage < SCHED_LISTED) {
        struct roster_schedule r8;
        r_create(&r8);
        CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("k2"), D, &err), 0);
        CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("k3"), D, &err), 0);
        CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, r8.id, D + 2, &err), 0);
        sched_stage = SCHED_LISTED;
    }
    if (stage >= SCHED_NEXTED && sched_stage < SCHED_NEXTED) {
        t_create();
        CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("t1"), D, &err), 0);
        sched_stage = SCHED_NEXTED;
    }
}

void test_schedule_create(void)
{
    struct roster_err err = {0};
    struct roster_schedule s, got, *rows = NULL;
    size_t n = 0;
    int64_t due;

    /* a fresh store has nothing scheduled */
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(sclaim(D * 2, 1000, 100), "");

    need_orgs();
    sched_org();

    /* one schedule with every field and a caller-chosen id (kept); created_ms is assigned */
    k_fill(&s, 1);
    char chosen[ROSTER_ID_LEN + 1];
    memcpy(chosen, s.id, sizeof(chosen));
    int64_t before = roster_now_ms();
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), 0);
    sreg_add(&s, "k1");
    CHECK_EQ_STR(s.id, chosen);
    CHECK(s.created_ms >= before && s.created_ms <= roster_now_ms());
    CHECK_EQ_INT(s.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, s.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, s.id);
    CHECK_EQ_STR(got.org_id, org_s.id);
    CHECK_EQ_STR(got.user_id, su[0]);
    CHECK_EQ_INT(got.state, ROSTER_ACTIVATED);
    CHECK_EQ_INT(got.due_ms, D + 1000);
    CHECK(got.send_activation_email);
    CHECK_EQ_STR(got.email_override, "first.last@example.com");
    CHECK_EQ_INT(got.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_INT(got.created_ms, s.created_ms);
    CHECK_EQ_INT(got.done_ms, 0);
    CHECK_EQ_STR(got.outcome, "");
    CHECK_EQ_STR(got.message_id, "");

    /* without the e-mail options; the id is assigned */
    k_fill(&s, 2);
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), 0);
    sreg_add(&s, "k2");
    CHECK(roster_id_valid(s.id));
    CHECK(strcmp(s.id, chosen) != 0);
    memcpy(chosen, s.id, sizeof(chosen));
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, chosen, &got, &A, &err), 0);
    CHECK(!got.send_activation_email);
    CHECK(got.email_override == NULL);
    CHECK_EQ_INT(got.state, ROSTER_SUSPENDED);

    /* another organisation's schedule is not found, like a missing one */
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, chosen, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, missing, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_schedule_get(conn, nowhere, chosen, &got, &A, &err),
                 ROSTER_ENOTFOUND);

    /* all or nothing: a batch whose third row repeats an id stores none of them, and the ids
     * it assigned are taken back */
    struct roster_schedule batch[3];
    sched_fill(&batch[0], org_s.id, su[2], ROSTER_ACTIVATED, D + 1002, 0);
    sched_fill(&batch[1], org_s.id, su[2], ROSTER_SUSPENDED, D + 1003, 902);
    sched_fill(&batch[2], org_s.id, su[3], ROSTER_ACTIVATED, D + 1004, 900); /* = k1 */
    CHECK_EQ_INT(roster_store_schedule_create(conn, batch, 3, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(batch[0].id, "");
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, batch[1].id, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    /* the same, inside the caller's transaction: the transaction goes on */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, batch, 3, &err), ROSTER_ECONFLICT);
    k_fill(&s, 3);
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), 0);
    sreg_add(&s, "k3");
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, s.id, &got, &A, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, batch[1].id, &got, &A, &err),
                 ROSTER_ENOTFOUND);

    /* rolled back with the caller's transaction */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    sched_fill(&s, org_s.id, su[3], ROSTER_ACTIVATED, D + 1006, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, s.id, &got, &A, &err), ROSTER_ENOTFOUND);

    /* an unknown organisation takes nothing */
    sched_fill(&s, nowhere, su[0], ROSTER_ACTIVATED, C + 1, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 1, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_schedule_create(conn, &s, 0, &err), 0);

    /* a bigger batch in one call */
    enum { NB = 300 };
    struct roster_schedule *big = roster_arena_zalloc(&A, NB * sizeof(*big));
    for (int i = 0; i < NB; i++)
        sched_fill(&big[i], org_b.id, su[i % 8], i % 2 ? ROSTER_ACTIVATED : ROSTER_SUSPENDED,
                   D + 5000 + i, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, big, NB, &err), 0);
    int distinct = 1;
    for (int i = 1; i < NB; i++)
        if (strcmp(big[i].id, big[i - 1].id) == 0 || !roster_id_valid(big[i].id))
            distinct = 0;
    CHECK(distinct);
    struct roster_query q;
    qinit(&q);
    q.limit = -1;
    q.want_total = true;
    int64_t total = 0;
    CHECK_EQ_INT(roster_store_schedule_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, NB);
    CHECK_EQ_INT(total, NB);
    if (n == NB)
        CHECK_EQ_STR(rows[NB - 1].id, big[NB - 1].id);
    /* cancel them again so that they stay out of the way */
    int cancelled = 0;
    for (int i = 0; i < NB; i++)
        cancelled += roster_store_schedule_cancel(conn, org_b.id, big[i].id, C, &err) == 0;
    CHECK_EQ_INT(cancelled, NB);
    sched_stage = SCHED_CREATED;
}

void test_schedule_list(void)
{
    struct roster_err err = {0};
    struct roster_query q;
    int64_t total;
    struct roster_schedule r8;

    sched_fixture(SCHED_CREATED);
    r_create(&r8);
    /* the rows of test_schedule_create leave the list: cancel them */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("k2"), D, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("k3"), D, &err), 0);

    /* cancel: pending only, once, in its own organisation only */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_b.id, r8.id, D + 1, &err),
                 ROSTER_ENOTFOUND);
    struct roster_schedule got;
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, r8.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, r8.id, D + 2, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, r8.id, D + 3, &err),
                 ROSTER_ENOTFOUND);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, missing, D + 3, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, r8.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_CANCELLED);
    CHECK_EQ_INT(got.done_ms, D + 2);
    CHECK_EQ_INT(got.due_ms, D + 50);

    /* pending rows in due order, ties by id; k1 (D + 1000) is still pending */
    const char *all = "r2,r4,r3,r1,r5,r6,r7,r9,k1";
    qinit(&q);
    q.want_total = true;
    total = 0;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), all);
    CHECK_EQ_INT(total, 9);
    /* sorts are ignored */
    q.sorts[q.nsorts++] = (struct roster_sort){RQ_USER_ID, true};
    CHECK_EQ_STR(slist(org_s.id, &q, NULL), all);

    /* id: every operator */
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_EQ, svals(1, sid("r3")), 1), "r3");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_EQ, svals(1, r8.id), 1), "");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_NE, svals(1, sid("r3")), 1), "r2,r4,r1,r5,r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_GT, svals(1, sid("r4")), 1), "r5,r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_GE, svals(1, sid("r4")), 1), "r4,r5,r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_LT, svals(1, sid("r3")), 1), "r2,r1");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_LE, svals(1, sid("r3")), 1), "r2,r3,r1");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_BETWEEN, svals(2, sid("r2"), sid("r4")), 2), "r2,r4,r3");
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_IN, svals(3, sid("r6"), sid("r1"), missing), 3), "r1,r6");
    char up[ROSTER_ID_LEN + 1];
    snprintf(up, sizeof(up), "%s", sid("r5") + 6);
    for (char *p = up; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_SEARCH, svals(1, up), 1), "r5"); /* any case */
    char pre[ROSTER_ID_LEN + 1];
    snprintf(pre, sizeof(pre), "%.23s", sid("r9")); /* "...00000000011": 110-119 */
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_PREFIX, svals(1, pre), 1), "r9");
    snprintf(pre, sizeof(pre), "%.22s", sid("r9")); /* "...0000000001": 100-199 */
    CHECK_EQ_STR(sfilter(RQ_ID, ROSTER_OP_PREFIX, svals(1, pre), 1), "r2,r4,r3,r1,r5,r6,r7,r9");

    /* user id: su[0] = 10, su[1] = 20, su[2] = 31, su[3] = 41 */
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_EQ, svals(1, su[0]), 1), "r3,r1,r7,k1");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_EQ, svals(1, su[5]), 1), "");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_NE, svals(1, su[0]), 1), "r2,r4,r5,r6,r9");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_GT, svals(1, su[1]), 1), "r4,r6,r9");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_GE, svals(1, su[1]), 1), "r2,r4,r5,r6,r9");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_LT, svals(1, su[1]), 1), "r3,r1,r7,k1");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_LE, svals(1, su[1]), 1), "r2,r3,r1,r5,r7,k1");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_BETWEEN, svals(2, su[1], su[2]), 2), "r2,r4,r5,r6");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_IN, svals(2, su[2], su[0]), 2), "r4,r3,r1,r6,r7,k1");
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_SEARCH, svals(1, "000000000041"), 1), "r9");
    snprintf(pre, sizeof(pre), "%.23s", su[2]); /* "...00000000003": 30-39 */
    CHECK_EQ_STR(sfilter(RQ_USER_ID, ROSTER_OP_PREFIX, svals(1, pre), 1), "r4,r6");

    /* state */
    const int64_t act = ROSTER_ACTIVATED, sus = ROSTER_SUSPENDED;
    const char *acts = "r4,r1,r5,r7,r9,k1", *suss = "r2,r3,r6";
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_EQ, ivals(1, act), 1), acts);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_NE, ivals(1, act), 1), suss);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_GT, ivals(1, act), 1), suss);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_GE, ivals(1, act), 1), all);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_LT, ivals(1, sus), 1), acts);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_LE, ivals(1, act), 1), acts);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_BETWEEN, ivals(2, act, sus), 2), all);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_IN, ivals(1, sus), 1), suss);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_IN, ivals(2, (int64_t)ROSTER_STAGED, sus), 2), suss);
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_SEARCH, svals(1, "1"), 1),
                 roster_arena_printf(&A, "ERR:%d", ROSTER_EINVAL));
    CHECK_EQ_STR(sfilter(RQ_STATE, ROSTER_OP_PREFIX, svals(1, "1"), 1),
                 roster_arena_printf(&A, "ERR:%d", ROSTER_EINVAL));

    /* due time */
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_EQ, ivals(1, D + 100), 1), "r2,r4");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_NE, ivals(1, D + 100), 1), "r3,r1,r5,r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_GT, ivals(1, D + 400), 1), "r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_GE, ivals(1, D + 400), 1), "r5,r6,r7,r9,k1");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_LT, ivals(1, D + 200), 1), "r2,r4");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_LE, ivals(1, D + 200), 1), "r2,r4,r3");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_BETWEEN, ivals(2, D + 200, D + 400), 2), "r3,r1,r5");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_IN, ivals(2, D + 500, D + 100), 2), "r2,r4,r6");
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_LE, ivals(1, D + 50), 1), ""); /* r8: cancelled */
    CHECK_EQ_STR(sfilter(RQ_DUE, ROSTER_OP_SEARCH, svals(1, "4"), 1),
                 roster_arena_printf(&A, "ERR:%d", ROSTER_EINVAL));

    /* other keys are not filterable */
    static const int others[] = {RU_USERNAME, RQ_NUM_ID, RQ_CREATED, RQ_MODIFIED};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        struct roster_schedule *rows = NULL;
        size_t n = 0;
        qinit(&q);
        qfilter(&q, others[i], ROSTER_OP_EQ, svals(1, "x"), 1);
        roster_err_clear(&err);
        CHECK_EQ_INT(roster_store_schedule_list(conn, org_s.id, &q, &A, &rows, &n, NULL, &err),
                     ROSTER_EINVAL);
        CHECK(strstr(err.msg, "not filterable") != NULL);
    }

    /* filters are ANDed */
    qinit(&q);
    qfilter(&q, RQ_USER_ID, ROSTER_OP_EQ, svals(1, su[0]), 1);
    qfilter(&q, RQ_STATE, ROSTER_OP_EQ, ivals(1, act), 1);
    CHECK_EQ_STR(slist(org_s.id, &q, NULL), "r1,r7,k1");
    qfilter(&q, RQ_DUE, ROSTER_OP_LT, ivals(1, D + 1000), 1);
    CHECK_EQ_STR(slist(org_s.id, &q, NULL), "r1,r7");
    qfilter(&q, RQ_ID, ROSTER_OP_IN, svals(2, sid("r7"), sid("r2")), 2);
    CHECK_EQ_STR(slist(org_s.id, &q, NULL), "r7");

    /* paging and totals */
    qinit(&q);
    q.skip = 2;
    q.limit = 3;
    q.want_total = true;
    total = 0;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r3,r1,r5");
    CHECK_EQ_INT(total, 9);
    q.skip = 8;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "k1");
    q.skip = 9;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "");
    CHECK_EQ_INT(total, 9);
    q.skip = 0;
    q.limit = 0; /* count only */
    total = -5;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "");
    CHECK_EQ_INT(total, 9);
    q.limit = -1; /* no limit */
    q.skip = 7;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r9,k1");
    q.want_total = false;
    total = 123;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r9,k1");
    CHECK_EQ_INT(total, -1);
    qinit(&q);
    q.want_total = true;
    q.limit = 2;
    qfilter(&q, RQ_USER_ID, ROSTER_OP_EQ, svals(1, su[0]), 1);
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r3,r1");
    CHECK_EQ_INT(total, 4);

    /* tenants: another organisation's list has none of these, even filtered by their ids */
    qinit(&q);
    q.want_total = true;
    total = -1;
    CHECK_EQ_STR(slist(org_a.id, &q, &total), "");
    CHECK_EQ_INT(total, 0);
    qfilter(&q, RQ_USER_ID, ROSTER_OP_EQ, svals(1, su[0]), 1);
    CHECK_EQ_STR(slist(org_b.id, &q, &total), "");
    CHECK_EQ_INT(total, 0);
    qinit(&q);
    qfilter(&q, RQ_ID, ROSTER_OP_EQ, svals(1, sid("r1")), 1);
    CHECK_EQ_STR(slist(org_b.id, &q, NULL), "");
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    q.want_total = true;
    total = -1;
    CHECK_EQ_STR(slist(nowhere, &q, &total), "");
    CHECK_EQ_INT(total, 0);

    /* the full rows come back */
    struct roster_schedule *rows = NULL;
    size_t n = 0;
    qinit(&q);
    qfilter(&q, RQ_ID, ROSTER_OP_EQ, svals(1, sid("r6")), 1);
    CHECK_EQ_INT(roster_store_schedule_list(conn, org_s.id, &q, &A, &rows, &n, NULL, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_EQ_STR(rows[0].org_id, org_s.id);
        CHECK_EQ_STR(rows[0].user_id, su[2]);
        CHECK_EQ_INT(rows[0].state, ROSTER_SUSPENDED);
        CHECK_EQ_INT(rows[0].due_ms, D + 500);
        CHECK_EQ_INT(rows[0].status, ROSTER_SCHED_PENDING);
        CHECK(rows[0].created_ms > 0);
        CHECK_EQ_STR(rows[0].outcome, "");
    }
    sched_stage = SCHED_LISTED;
}

void test_schedule_next(void)
{
    struct roster_err err = {0};
    sched_fixture(SCHED_LISTED);
    /* su[4]: two changes due at the same time, the lower id wins; org_b has a change for
     * the same user id as su[0]: never part of org_s's answer */
    t_create();

    /* su[0]: ACTIVATED r1 (300; r8 at 50 is cancelled), SUSPENDED r3 (200); su[1]: r2, r5;
     * su[2]: r4, r6; su[3]: only ACTIVATED r9; su[5]: none */
    const char *five[] = {su[0], su[1], su[2], su[3], su[5]};
    CHECK_EQ_STR(snext(org_s.id, five, 5), "r2,r4,r3,r1,r5,r6,r9");
    const char *one[] = {su[1]};
    CHECK_EQ_STR(snext(org_s.id, one, 1), "r2,r5");
    const char *ties[] = {su[4]};
    CHECK_EQ_STR(snext(org_s.id, ties, 1), "t1");
    const char *twice[] = {su[3], su[3]};
    CHECK_EQ_STR(snext(org_s.id, twice, 2), "r9");
    const char *none[] = {su[5], su[6]};
    CHECK_EQ_STR(snext(org_s.id, none, 2), "");
    CHECK_EQ_STR(snext(org_s.id, five, 0), "");
    const char *first[] = {su[0]};
    CHECK_EQ_STR(snext(org_s.id, first, 1), "r3,r1");
    CHECK_EQ_STR(snext(org_b.id, first, 1), "b1");
    CHECK_EQ_STR(snext(org_a.id, five, 5), "");
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_STR(snext(nowhere, five, 5), "");

    /* a cancelled change gives way to the next one */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_s.id, sid("t1"), D, &err), 0);
    CHECK_EQ_STR(snext(org_s.id, ties, 1), "t2");
    /* up to 100 users at once */
    const char *many[100];
    for (int i = 0; i < 100; i++)
        many[i] = i < 8 ? su[i] : roster_arena_printf(&A, "%024d", i);
    CHECK_EQ_STR(snext(org_s.id, many, 100), "r2,r4,r3,r1,r5,r6,r9,t2");
    sched_stage = SCHED_NEXTED;
}

void test_schedule_claim(void)
{
    struct roster_err err = {0};
    struct roster_schedule first_c1, c1, c2, c3, c4, c6, got;
    int64_t due = 0;

    sched_fixture(SCHED_NEXTED); /* the list tests' changes, due long after these */
    sched_one("c0", org_a.id, su[0], ROSTER_ACTIVATED, C + 5, 0, NULL);
    sched_one("c4", org_a.id, su[1], ROSTER_SUSPENDED, C + 30, 304, NULL);
    sched_one("c3", org_a.id, su[2], ROSTER_ACTIVATED, C + 30, 303, NULL);
    sched_one("c1", org_a.id, su[0], ROSTER_ACTIVATED, C + 10, 0, NULL);
    sched_one("c2", org_b.id, su[0], ROSTER_SUSPENDED, C + 20, 0, NULL);
    sched_one("c5", org_b.id, su[1], ROSTER_ACTIVATED, C + 40, 0, NULL);
    sched_one("c6", org_a.id, su[3], ROSTER_ACTIVATED, C + 1000, 0, NULL);
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, C + 5);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_a.id, sid("c0"), C, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_b.id, sid("c5"), C, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, C + 10);

    /* only what is due (at or before now), earliest first, at most max; never a cancelled
     * one */
    CHECK_EQ_STR(sclaim(C + 5, 1000, 10), "");
    CHECK_EQ_STR(sclaim(C + 9, 1000, 10), "");
    CHECK_EQ_STR(sclaim(C + 10, 1000, 10), "c1");
    first_c1 = cl[0];
    CHECK_EQ_STR(first_c1.org_id, org_a.id);
    CHECK_EQ_STR(first_c1.user_id, su[0]);
    CHECK_EQ_INT(first_c1.state, ROSTER_ACTIVATED);
    CHECK_EQ_INT(first_c1.due_ms, C + 10);
    CHECK_EQ_INT(first_c1.status, ROSTER_SCHED_PENDING);
    CHECK(first_c1.lease_token != 0);
    CHECK_EQ_STR(sclaim(C + 50, 1000, 2), "c2,c3");
    c2 = cl[0];
    c3 = cl[1];
    CHECK_EQ_STR(c2.org_id, org_b.id);
    CHECK(c2.lease_token != 0);
    CHECK_EQ_STR(sclaim(C + 50, 1000, 10), "c4");
    c4 = cl[0];
    CHECK_EQ_STR(sclaim(C + 60, 1000, 10), ""); /* all leased, c6 not due */
    CHECK_EQ_STR(sclaim(C + 60, 1000, 0), "");
    /* still pending while leased: next_due and the list show them */
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, C + 10);

    /* a lease ends after lease_ms: c1 (leased until C + 1010) is claimed again with a new
     * token, not before */
    CHECK_EQ_STR(sclaim(C + 1010, 1000, 10), "c6");
    c6 = cl[0];
    CHECK_EQ_STR(sclaim(C + 1011, 1000, 10), "c1");
    c1 = cl[0];
    CHECK(c1.lease_token != first_c1.lease_token);

    /* finish: the lost lease, a wrong token, or a status that is not an outcome change
     * nothing */
    CHECK_EQ_INT(roster_store_schedule_finish(conn, &first_c1, ROSTER_SCHED_APPLIED, "stale",
                                              C + 1100, &err),
                 ROSTER_ESTALE);
    struct roster_schedule bad = c2;
    bad.lease_token ^= 0x5a5a;
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &bad, ROSTER_SCHED_APPLIED, "bad", C + 1100, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_schedule_finish(conn, &c1, ROSTER_SCHED_PENDING, "x", C + 1100, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c1, ROSTER_SCHED_CANCELLED, "x", C + 1100, &err),
        ROSTER_EINVAL);
    struct roster_schedule other = c1;
    memcpy(other.org_id, org_b.id, sizeof(other.org_id)); /* right token, wrong org */
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &other, ROSTER_SCHED_APPLIED, "x", C + 1100, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, c1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_STR(got.outcome, "");

    /* finish with the live lease: outcome, message id and done time are kept */
    struct roster_message m = {0};
    memcpy(m.org_id, org_a.id, sizeof(m.org_id));
    m.kind = "activation_email";
    m.source_id = c1.id;
    m.user_id = c1.user_id;
    m.recipient = "c1@example.com";
    m.content_json = "{\"template\":\"activation\"}";
    CHECK_EQ_INT(roster_store_message_create(conn, &m, &err), 0);
    snprintf(c1.message_id, sizeof(c1.message_id), "%s", m.id);
    CHECK_EQ_INT(roster_store_schedule_finish(conn, &c1, ROSTER_SCHED_APPLIED,
                                              "user state set to ACTIVATED", C + 1200, &err),
                 0);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, c1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(got.outcome, "user state set to ACTIVATED");
    CHECK_EQ_STR(got.message_id, m.id);
    CHECK_EQ_INT(got.done_ms, C + 1200);
    CHECK_EQ_INT(got.due_ms, C + 10);
    /* once: not pending any more */
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c1, ROSTER_SCHED_FAILED, "again", C + 1300, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_a.id, c1.id, C + 1300, &err),
                 ROSTER_ENOTFOUND);

    /* inside the caller's transaction: a rollback leaves it pending (and leased) */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c2, ROSTER_SCHED_FAILED, "rolled back", C + 1300, &err),
        0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_b.id, c2.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_STR(got.outcome, "");
    CHECK_EQ_INT(got.done_ms, 0);
    /* a stale finish inside a transaction fails alone; the transaction goes on */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &bad, ROSTER_SCHED_FAILED, "bad", C + 1400, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_schedule_finish(conn, &c2, ROSTER_SCHED_FAILED,
                                              "user \"x\" not found", C + 1400, &err),
                 0);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c3, ROSTER_SCHED_APPLIED, "ok", C + 1400, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_b.id, c2.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_FAILED);
    CHECK_EQ_STR(got.outcome, "user \"x\" not found");
    CHECK_EQ_STR(got.message_id, "");
    CHECK_EQ_INT(got.done_ms, C + 1400);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, c3.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_APPLIED);

    /* a leased change can still be cancelled; then its lease cannot finish it */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_b.id, c4.id, C + 1500, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_a.id, c4.id, C + 1500, &err), 0);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c4, ROSTER_SCHED_APPLIED, "late", C + 1600, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, c4.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_SCHED_CANCELLED);
    CHECK_EQ_INT(got.done_ms, C + 1500);

    /* finished and cancelled changes are never claimed again; c6's lease has expired */
    CHECK_EQ_STR(sclaim(C + 100000, 1000, 10), "c6");
    struct roster_schedule c6b = cl[0];
    CHECK(c6b.lease_token != c6.lease_token);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c6, ROSTER_SCHED_APPLIED, "x", C + 100001, &err),
        ROSTER_ESTALE);

    /* after a restart every lease is dropped: c6 can be claimed at once */
    CHECK_EQ_STR(sclaim(C + 100000, 1000, 10), "");
    CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    CHECK_EQ_STR(sclaim(C + 100000, 1000, 10), "c6");
    CHECK(cl[0].lease_token != c6b.lease_token);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &c6b, ROSTER_SCHED_APPLIED, "x", C + 100001, &err),
        ROSTER_ESTALE);
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &cl[0], ROSTER_SCHED_APPLIED, "x", C + 100001, &err), 0);

    /* a claim inside the caller's transaction is rolled back with it */
    sched_one("c7", org_b.id, su[2], ROSTER_SUSPENDED, C + 200000, 0, NULL);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_STR(sclaim(C + 200000, 1000, 10), "c7");
    roster_store_rollback(conn);
    CHECK_EQ_STR(sclaim(C + 200000, 1000, 10), "c7");
    CHECK_EQ_INT(
        roster_store_schedule_finish(conn, &cl[0], ROSTER_SCHED_FAILED, "x", C + 200001, &err), 0);

    /* many due at once: claimed in batches of max, earliest first, each once */
    enum { NM = 250 };
    struct roster_schedule *many = roster_arena_zalloc(&A, NM * sizeof(*many));
    for (int i = 0; i < NM; i++)
        sched_fill(&many[i], i % 3 ? org_a.id : org_b.id, su[i % 8], ROSTER_ACTIVATED,
                   C + 300000 + (NM - i) / 2, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, many, NM, &err), 0);
    int claimed = 0, ordered = 1, rounds = 0, finished = 0;
    int64_t last_due = 0;
    char last_id[ROSTER_ID_LEN + 1] = "";
    for (;;) {
        struct roster_schedule *r = NULL;
        size_t n = 0;
        CHECK_EQ_INT(
            roster_store_schedule_claim_due(conn, C + 400000, 60000, 100, &A, &r, &n, &err), 0);
        if (n == 0)
            break;
        rounds++;
        CHECK(n <= 100);
        CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
        for (size_t i = 0; i < n; i++) {
            if (r[i].due_ms < last_due ||
                (r[i].due_ms == last_due && strcmp(r[i].id, last_id) <= 0))
                ordered = 0;
            last_due = r[i].due_ms;
            memcpy(last_id, r[i].id, sizeof(last_id));
            claimed++;
            finished += roster_store_schedule_finish(conn, &r[i], ROSTER_SCHED_APPLIED, "ok",
                                                     C + 400000, &err) == 0;
        }
        CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
        if (rounds > 10)
            break;
    }
    CHECK_EQ_INT(claimed, NM);
    CHECK_EQ_INT(finished, NM);
    CHECK_EQ_INT(rounds, 3);
    CHECK(ordered);

    /* what is left: the list tests' changes; the earliest is org_b's b1 at D + 1 */
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, D + 1);
    CHECK_EQ_STR(sclaim(D - 1, 1000, 10), "");
}

/* Several schedulers, each with its own connection, claim and finish the same due
 * changes: each is finished exactly once. Only the main thread calls CHECK. */
enum { SC_N = 600, SC_WORKERS = 4 };
static char sc_ids[SC_N][ROSTER_ID_LEN + 1]; /* sorted */
static atomic_int sc_done[SC_N];
static atomic_int sc_errors, sc_stale;

static int sc_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void *sc_worker(void *arg)
{
    (void)arg;
    struct roster_err err = {0};
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &sc_errors);
    if (!c)
        return NULL;
    for (;;) {
        struct roster_schedule *r = NULL;
        size_t n = 0;
        roster_arena_clear(&a);
        int rc = roster_store_schedule_claim_due(c, C + 500000, 60000, 25, &a, &r, &n, &err);
        if (rc == ROSTER_EBUSY)
            continue;
        if (rc != 0) {
            atomic_fetch_add(&sc_errors, 1);
            break;
        }
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            do {
                rc = roster_store_schedule_finish(c, &r[i], ROSTER_SCHED_APPLIED, "ok", C + 500000,
                                                  &err);
            } while (rc == ROSTER_EBUSY);
            if (rc == ROSTER_ESTALE) {
                atomic_fetch_add(&sc_stale, 1);
                continue;
            }
            const char *hit = bsearch(r[i].id, sc_ids, SC_N, sizeof(sc_ids[0]), sc_cmp);
            if (rc != 0 || !hit) {
                atomic_fetch_add(&sc_errors, 1);
                continue;
            }
            atomic_fetch_add(&sc_done[(hit - &sc_ids[0][0]) / sizeof(sc_ids[0])], 1);
        }
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

void test_schedule_concurrent(void)
{
    struct roster_err err = {0};
    need_orgs();
    sched_org();
    struct roster_schedule *s = roster_arena_zalloc(&A, SC_N * sizeof(*s));
    for (int i = 0; i < SC_N; i++)
        sched_fill(&s[i], i % 2 ? org_a.id : org_b.id, su[i % 8], ROSTER_SUSPENDED,
                   C + 400000 + i % 7, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, s, SC_N, &err), 0);
    for (int i = 0; i < SC_N; i++)
        memcpy(sc_ids[i], s[i].id, sizeof(sc_ids[i]));
    qsort(sc_ids, SC_N, sizeof(sc_ids[0]), sc_cmp);
    pthread_t th[SC_WORKERS];
    int started = 0;
    for (int i = 0; i < SC_WORKERS; i++)
        if (pthread_create(&th[i], NULL, sc_worker, NULL) == 0)
            started++;
    CHECK_EQ_INT(started, SC_WORKERS);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&sc_errors), 0);
    CHECK_EQ_INT(atomic_load(&sc_stale), 0); /* leases of 60 s never expire here */
    int once = 0;
    for (int i = 0; i < SC_N; i++)
        once += atomic_load(&sc_done[i]) == 1;
    CHECK_EQ_INT(once, SC_N);
    CHECK_EQ_STR(sclaim(C + 500000, 1000, 10), "");
}

/* The pending schedules in the store's queue stats (GET /metrics): counted while pending,
 * not once cancelled; the earliest due time among them. Measured against what the earlier
 * tests left. */
void test_schedule_queue_stats(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_queue_stats before, q;
    CHECK_EQ_INT(roster_store_queue_stats(conn, &before, &err), 0);
    int64_t due = SCHED_D + INT64_C(900000000); /* later than any claim of the tests */
    struct roster_schedule s[2];
    sched_fill(&s[0], org_a.id, "q-user-0", ROSTER_SUSPENDED, due + 5, 0);
    sched_fill(&s[1], org_b.id, "q-user-1", ROSTER_ACTIVATED, due, 0);
    CHECK_EQ_INT(roster_store_schedule_create(conn, s, 2, &err), 0);
    CHECK_EQ_INT(roster_store_queue_stats(conn, &q, &err), 0);
    CHECK_EQ_INT(q.schedules_pending, before.schedules_pending + 2);
    int64_t earliest =
        before.earliest_due_ms && before.earliest_due_ms < due ? before.earliest_due_ms : due;
    CHECK_EQ_INT(q.earliest_due_ms, earliest);
    CHECK_EQ_INT(q.jobs_open, before.jobs_open); /* schedules are no jobs */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_b.id, s[1].id, roster_now_ms(), &err), 0);
    CHECK_EQ_INT(roster_store_queue_stats(conn, &q, &err), 0);
    CHECK_EQ_INT(q.schedules_pending, before.schedules_pending + 1);
    if (!before.earliest_due_ms || before.earliest_due_ms >= due)
        CHECK_EQ_INT(q.earliest_due_ms, due + 5);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org_a.id, s[0].id, roster_now_ms(), &err), 0);
    CHECK_EQ_INT(roster_store_queue_stats(conn, &q, &err), 0);
    CHECK_EQ_INT(q.schedules_pending, before.schedules_pending);
    CHECK_EQ_INT(q.earliest_due_ms, before.earliest_due_ms);
}
