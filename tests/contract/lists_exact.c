/* Store contract suite (contract.h): list access paths (list_plan of every filter and order
 * a dialect makes) and the lists kept by core staying exact under every kind of write,
 * checked against a brute force in C.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

static const char *const PL_LAST[] = {"Lovelace", "Turing", "Liskov", "Shannon", "Knuth",
                                      "Dijkstra", "Allen",  "Hopper", "Lamarr",  "Cerf"};
static const char *const PL_FIRST[] = {"Ada",    "Alan",  "Barbara", "Claude", "Donald",
                                       "Edsger", "Grace", "Ken",     "Radia",  "Vint"};
static const char *const PL_DEPT[] = {"Engineering", "Sales", "Support", "Legal"};

static uint64_t pl_rnd;

/* Starts the sequence of rnd afresh: a test that calls it first generates the same users
 * whether it runs alone or after others. */
static void rnd_seed(void)
{
    pl_rnd = 88172645463325252ull;
}

static uint64_t rnd(void)
{
    pl_rnd ^= pl_rnd << 13;
    pl_rnd ^= pl_rnd >> 7;
    pl_rnd ^= pl_rnd << 17;
    return pl_rnd;
}

/* Fills u (strings in A) as user i of a generated directory: every field a list can test,
 * the rarely set ones on some users only. */
static void gen_user(struct roster_user *u, int i, const char *tag)
{
    memset(u, 0, sizeof(*u));
    u->f[RU_USERNAME] = roster_arena_printf(&A, "%s.u%06d", tag, i);
    u->f[RU_EMAIL] = roster_arena_printf(&A, "%s.u%06d@list.test", tag, i);
    u->f[RU_EMPLOYEE_ID] = roster_arena_printf(&A, "%sE%06d", tag, i);
    u->f[RU_FIRST_NAME] = PL_FIRST[rnd() % 10];
    u->f[RU_LAST_NAME] = rnd() % 17 == 0 ? NULL : PL_LAST[rnd() % 10];
    if (rnd() % 10 == 0)
        u->f[RU_DEPARTMENT] = PL_DEPT[rnd() % 4];
    if (rnd() % 3 == 0)
        u->f[RU_COUNTRY_CODE] = rnd() % 2 ? "US" : "DE";
    if (rnd() % 4 == 0)
        u->f[RU_DISPLAY_NAME] = roster_arena_printf(&A, "Agent %03d", (int)(rnd() % 500));
    if (rnd() % 5 == 0)
        u->f[RU_JOB_TITLE] = rnd() % 2 ? "Engineer" : "Manager";
    /* the SCIM fields: externalId on most (not unique), no e-mail on a few */
    if (rnd() % 4 != 0)
        u->f[RU_EXTERNAL_ID] = roster_arena_printf(&A, "x%04d", (int)(rnd() % 5000));
    if (rnd() % 7 == 0)
        u->f[RU_LOCALE] = rnd() % 2 ? "en-US" : "de-DE";
    if (rnd() % 40 == 0)
        u->f[RU_EMAIL] = NULL;
    uint64_t s = rnd() % 20;
    u->state = s < 17 ? ROSTER_ACTIVATED : s < 19 ? ROSTER_SUSPENDED : ROSTER_STAGED;
}

static struct roster_qval *pl_s(const char *s)
{
    struct roster_qval *v = roster_arena_zalloc(&A, sizeof(*v));
    v->s = s;
    return v;
}
static struct roster_qval *pl_i(int64_t i)
{
    struct roster_qval *v = roster_arena_zalloc(&A, sizeof(*v));
    v->i = i;
    return v;
}

/* The list queries the dialects make: one per filter and order (and membership orders). */
struct pl_case {
    const char *name;
    struct roster_query q;
    bool scan; /* a substring filter: docs/lists.md names it as a scan */
    bool sort; /* several sort keys: sorted, not index-ordered (docs/lists.md) */
};

static size_t pl_cases(struct pl_case *c, size_t max, const char *tag, int64_t app, int64_t skill,
                       int64_t other)
{
    size_t n = 0;
#define PL_NEW(label)                                                                              \
    (n < max ? (memset(&c[n], 0, sizeof(c[n])), roster_query_init(&c[n].q), c[n].q.limit = 100,    \
                c[n].name = (label), &c[n++].q)                                                    \
             : &c[0].q)
#define PL_F(q, k, op, v)                                                                          \
    ((q)->filters[(q)->nfilters++] = (struct roster_filter){(k), (op), (v), 1})
    struct roster_query *q;
    q = PL_NEW("all, id order");
    q = PL_NEW("state eq ACTIVATED (isactive=true)");
    PL_F(q, RQ_STATE, ROSTER_OP_EQ, pl_i(ROSTER_ACTIVATED));
    q = PL_NEW("state ne ACTIVATED (isactive=false)");
    PL_F(q, RQ_STATE, ROSTER_OP_NE, pl_i(ROSTER_ACTIVATED));
    q = PL_NEW("state eq SUSPENDED");
    PL_F(q, RQ_STATE, ROSTER_OP_EQ, pl_i(ROSTER_SUSPENDED));
    q = PL_NEW("username eq");
    PL_F(q, RU_USERNAME, ROSTER_OP_EQ, pl_s(roster_arena_printf(&A, "%s.u000007", tag)));
    q = PL_NEW("username prefix");
    PL_F(q, RU_USERNAME, ROSTER_OP_PREFIX, pl_s(roster_arena_printf(&A, "%s.u0001", tag)));
    q = PL_NEW("email eq");
    PL_F(q, RU_EMAIL, ROSTER_OP_EQ, pl_s(roster_arena_printf(&A, "%s.u000007@list.test", tag)));
    q = PL_NEW("employee id eq");
    PL_F(q, RU_EMPLOYEE_ID, ROSTER_OP_EQ, pl_s(roster_arena_printf(&A, "%sE000007", tag)));
    q = PL_NEW("id eq");
    PL_F(q, RQ_ID, ROSTER_OP_EQ, pl_s("000000000000000000000001"));
    q = PL_NEW("num_id eq (user_id)");
    PL_F(q, RQ_NUM_ID, ROSTER_OP_EQ, pl_i(7));
    q = PL_NEW("created ge");
    PL_F(q, RQ_CREATED, ROSTER_OP_GE, pl_i(0));
    q = PL_NEW("last name eq");
    PL_F(q, RU_LAST_NAME, ROSTER_OP_EQ, pl_s("Knuth"));
    q = PL_NEW("last name prefix");
    PL_F(q, RU_LAST_NAME, ROSTER_OP_PREFIX, pl_s("La"));
    q = PL_NEW("first name eq");
    PL_F(q, RU_FIRST_NAME, ROSTER_OP_EQ, pl_s("Grace"));
    for (int k = 0; k < RU_NFIELDS; k++) {
        if (roster_ufields[k].kind != RU_KIND_STR || k == RU_USERNAME || k == RU_EMAIL ||
            k == RU_EMPLOYEE_ID || k == RU_FIRST_NAME || k == RU_LAST_NAME || k == RU_CUSTOM_DATA)
            continue;
        q = PL_NEW(roster_arena_printf(&A, "%s eq", roster_ufields[k].column));
        PL_F(q, k, ROSTER_OP_EQ, pl_s("Sales"));
        q = PL_NEW(roster_arena_printf(&A, "%s prefix", roster_ufields[k].column));
        PL_F(q, k, ROSTER_OP_PREFIX, pl_s("Sa"));
    }
    static const int sorts[] = {
        RU_USERNAME,     RU_EMAIL,        RU_FIRST_NAME,  RU_MIDDLE_NAME,   RU_LAST_NAME,
        RU_DISPLAY_NAME, RU_EMPLOYEE_ID,  RU_DEPARTMENT,  RU_COST_CENTER,   RU_COMPANY,
        RU_JOB_TITLE,    RU_LOCATION,     RU_MANAGER,     RU_EMPLOYEE_TYPE, RU_ALTERNATE_EMAIL,
        RU_DESCRIPTION,  RU_COUNTRY_CODE, RU_EXTERNAL_ID, RQ_STATE,         RQ_ID,
        RQ_CREATED,      RQ_NUM_ID};
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int d = 0; d < 2; d++) {
            const char *col = sorts[i] < RU_NFIELDS   ? roster_ufields[sorts[i]].column
                              : sorts[i] == RQ_STATE  ? "state"
                              : sorts[i] == RQ_ID     ? "id"
                              : sorts[i] == RQ_NUM_ID ? "num_id"
                                                      : "created";
            q = PL_NEW(roster_arena_printf(&A, "sort %s%s", d ? "-" : "", col));
            q->sorts[q->nsorts++] = (struct roster_sort){sorts[i], d == 1};
        }
    }
    q = PL_NEW("sort lastname, filter last name eq");
    PL_F(q, RU_LAST_NAME, ROSTER_OP_EQ, pl_s("Knuth"));
    q->sorts[q->nsorts++] = (struct roster_sort){RU_LAST_NAME, false};
    q = PL_NEW("sort lastname -username (two keys)");
    q->sorts[q->nsorts++] = (struct roster_sort){RU_LAST_NAME, false};
    q->sorts[q->nsorts++] = (struct roster_sort){RU_USERNAME, true};
    c[n - 1].sort = true;
    q = PL_NEW("free-text search");
    q->search = "u0001";
    c[n - 1].scan = true;
    q = PL_NEW("username part (search)");
    PL_F(q, RU_USERNAME, ROSTER_OP_SEARCH, pl_s("0001"));
    c[n - 1].scan = true;
    /* Voximplant GetUsers: membership conditions, user_name / user_id / display name orders */
    static const int vorders[] = {RU_USERNAME, RQ_NUM_ID, RU_DISPLAY_NAME};
    for (size_t i = 0; i < 3; i++) {
        q = PL_NEW(roster_arena_printf(&A, "skill and application members, sort %d", vorders[i]));
        q->conds[q->nconds++] = (struct roster_group_cond){skill, true};
        q->conds[q->nconds++] = (struct roster_group_cond){app, true};
        q->sorts[q->nsorts++] = (struct roster_sort){vorders[i], false};
        q = PL_NEW(roster_arena_printf(&A, "application members, sort %d", vorders[i]));
        q->conds[q->nconds++] = (struct roster_group_cond){app, true};
        q->sorts[q->nsorts++] = (struct roster_sort){vorders[i], false};
        q = PL_NEW(roster_arena_printf(&A, "all users, sort %d", vorders[i]));
        q->sorts[q->nsorts++] = (struct roster_sort){vorders[i], false};
    }
    q = PL_NEW("skill members, not in the other skill, active");
    q->conds[q->nconds++] = (struct roster_group_cond){skill, true};
    q->conds[q->nconds++] = (struct roster_group_cond){other, false};
    PL_F(q, RQ_STATE, ROSTER_OP_EQ, pl_i(ROSTER_ACTIVATED));
    q->sorts[q->nsorts++] = (struct roster_sort){RU_USERNAME, false};
#undef PL_NEW
#undef PL_F
    return n;
}

/* Whether plan (list_plan's text) reads users through an index range only: no full scan,
 * no sort of every match (unless allowed). */
static bool is_count; /* the plan being checked is a count's */
static const char *plan_problem1(const char *plan, bool allow_sort);

/* plan_problem for each segment of the plan text; a segment of the users without a
 * username or e-mail (their lower() indexes hold no id order) may sort those few. */
static const char *plan_problem(const char *plan, bool allow_sort)
{
    char *copy = roster_arena_strdup(&A, plan);
    for (char *seg = copy; seg && *seg;) {
        char *next = strstr(seg + 1, "segment ");
        if (next)
            next[-1] = '\0';
        bool ci_nulls = strstr(seg, "lower(users.username) IS NULL") ||
                        strstr(seg, "lower(users.email) IS NULL");
        const char *why = plan_problem1(seg, allow_sort || ci_nulls);
        if (why)
            return why;
        seg = next;
    }
    return NULL;
}

static const char *plan_problem1(const char *plan, bool allow_sort)
{
    bool pg = strstr(plan, "Scan") || strstr(plan, "Result");
    if (pg) {
        /* PostgreSQL's planner picks by its statistics: a count of most of the table may read
         * it all (counts run only when the kept list state starts afresh), and a set of
         * matches it expects to be small may be sorted rather than read in index order */
        if (strstr(plan, "Seq Scan on users") && !is_count)
            return "a sequential scan";
        if (!strstr(plan, "Index") && !is_count)
            return "no index";
        return NULL;
    }
    for (const char *p = plan; (p = strstr(p, "SCAN ")) != NULL; p++)
        if (strncmp(p, "SCAN CONSTANT", 13) != 0)
            return "a full scan";
    if (!allow_sort && strstr(plan, "TEMP B-TREE FOR ORDER BY"))
        return "a sort";
    if (!strstr(plan, "INDEX") && !strstr(plan, "PRIMARY KEY"))
        return "no index";
    return NULL;
}

static struct roster_org org_p;

void test_list_plans(void)
{
    struct roster_err err = {0};
    rnd_seed();
    make_org(&org_p, "Org P");
    struct roster_group app = {.kind = ROSTER_GROUP_APPLICATION, .name = "plans-app"};
    struct roster_group sk1 = {.kind = ROSTER_GROUP_SKILL, .name = "plans-s1"};
    struct roster_group sk2 = {.kind = ROSTER_GROUP_SKILL, .name = "plans-s2"};
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &app, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &sk1, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &sk2, &err), 0);
    /* 10,000 users, as the plan test asks */
    enum { PL_N = 10000, PL_BATCH = 1000, PL_OTHERS = 1000 };
    static struct roster_user u[PL_BATCH];
    static int rcs[PL_BATCH];
    static struct roster_err errs[PL_BATCH];
    static int64_t nums[PL_N];
    size_t nn = 0;
    for (int b = 0; b < PL_N; b += PL_BATCH) {
        for (int i = 0; i < PL_BATCH; i++)
            gen_user(&u[i], b + i, "p");
        CHECK_EQ_INT(create_many(org_p.id, u, PL_BATCH, rcs, errs), 0);
        for (int i = 0; i < PL_BATCH; i++)
            if (rcs[i] == 0)
                nums[nn++] = u[i].num_id;
        roster_arena_clear(&A);
    }
    CHECK_EQ_INT(nn, PL_N);
    /* users of another organisation, as any store of several organisations has (the whole
     * run leaves thousands before this test): without them every user of the table has an
     * employee id, and PostgreSQL plans the first segment of the employee id orders (the
     * users without one, in id order: all the organisation's when there are none) as a
     * sequential scan of the table */
    struct roster_org other;
    make_org(&other, "Org P other");
    static char onames[PL_OTHERS][16], omails[PL_OTHERS][32];
    static struct roster_user ou[PL_OTHERS];
    static int orcs[PL_OTHERS];
    static struct roster_err oerrs[PL_OTHERS];
    for (int i = 0; i < PL_OTHERS; i++) {
        snprintf(onames[i], sizeof(onames[i]), "po%05d", i);
        snprintf(omails[i], sizeof(omails[i]), "po%05d@other.test", i);
        make_user(&ou[i], onames[i], omails[i]);
    }
    CHECK_EQ_INT(create_many(other.id, ou, PL_OTHERS, orcs, oerrs), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, org_p.id, &app.num_id, 1, nums, nn, true, &err), 0);
    static int64_t s1[PL_N / 10], s2[PL_N / 10];
    for (size_t i = 0; i < PL_N / 10; i++) {
        s1[i] = nums[i * 10];
        s2[i] = nums[i * 10 + 1];
    }
    CHECK_EQ_INT(roster_store_group_bind(conn, org_p.id, &sk1.num_id, 1, s1, PL_N / 10, true, &err),
                 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, org_p.id, &sk2.num_id, 1, s2, PL_N / 10, true, &err),
                 0);
    static struct pl_case cases[192];
    size_t nc = pl_cases(cases, 192, "p", app.num_id, sk1.num_id, sk2.num_id);
    int bad = 0;
    struct roster_arena pa;
    roster_arena_init(&pa, 0);
    for (size_t i = 0; i < nc; i++) {
        struct roster_query *q = &cases[i].q;
        /* a row to resume after: the list's 50th */
        struct roster_user *rows = NULL;
        size_t n = 0;
        CHECK_EQ_INT(
            roster_store_user_page(conn, org_p.id, q, NULL, 49, 1, &pa, &rows, &n, NULL, &err), 0);
        for (int v = 0; v < 3; v++) {
            const struct roster_user *after = v == 1 && n == 1 && q->nsorts <= 1 ? rows : NULL;
            if (v == 1 && !after)
                continue;
            const char *plan = NULL;
            int rc = roster_store_list_plan(conn, org_p.id, q, after, v == 2, &pa, &plan, &err);
            CHECK_EQ_INT(rc, 0);
            if (rc) {
                fprintf(stderr, "    list_plan %s: %s (%s)\n", cases[i].name, err.msg, err.detail);
                continue;
            }
            /* a prefix or range in id order: an index range finds the matches, which are then
             * sorted (docs/lists.md) */
            bool range = q->nsorts == 0 && q->nfilters == 1 && q->filters[0].op != ROSTER_OP_EQ &&
                         q->filters[0].op != ROSTER_OP_IN;
            bool unique = q->nfilters == 1 && q->filters[0].op == ROSTER_OP_EQ &&
                          (q->filters[0].key == RU_USERNAME || q->filters[0].key == RU_EMAIL ||
                           q->filters[0].key == RU_EMPLOYEE_ID || q->filters[0].key == RQ_ID ||
                           q->filters[0].key == RQ_NUM_ID);
            is_count = v == 2;
            const char *why = plan_problem(plan, cases[i].sort || unique || range || v == 2);
            if (why && !cases[i].scan) {
                bad++;
                fprintf(stderr, "    plan of \"%s\" (%s) has %s:\n%s", cases[i].name,
                        v == 0   ? "first page"
                        : v == 1 ? "resumed page"
                                 : "count",
                        why, plan);
            }
        }
        roster_arena_clear(&pa);
    }
    roster_arena_release(&pa);
    CHECK_EQ_INT(bad, 0);
}

/* --- lists kept by core stay exact under every kind of write --- */

static struct roster_org org_x;

/* Every user of org_x with its memberships (ascending), read straight from the store. */
struct xuser {
    struct roster_user u;
    int64_t g[8];
    size_t ng;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t x_all(struct xuser **out, struct roster_arena *a)
{
    struct roster_err err = {0};
    struct roster_query all;
    roster_query_init(&all);
    struct roster_user *rows = NULL;
    size_t n = 0;
    CHECK_EQ_INT(
        roster_store_user_page(conn, org_x.id, &all, NULL, 0, -1, a, &rows, &n, NULL, &err), 0);
    struct xuser *v = roster_arena_zalloc(a, (n ? n : 1) * sizeof(*v));
    int64_t *nums = roster_arena_alloc(a, (n ? n : 1) * sizeof(*nums));
    for (size_t i = 0; i < n; i++) {
        v[i].u = rows[i];
        nums[i] = rows[i].num_id;
    }
    static const int kinds[] = {ROSTER_GROUP_APPLICATION, ROSTER_GROUP_SKILL};
    for (size_t k = 0; k < 2; k++) {
        struct roster_membership *ms = NULL;
        size_t nm = 0;
        CHECK_EQ_INT(
            roster_store_group_memberships(conn, org_x.id, nums, n, kinds[k], a, &ms, &nm, &err),
            0);
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            while (j < nm && ms[j].user_num_id == nums[i]) {
                if (v[i].ng < 8)
                    v[i].g[v[i].ng++] = ms[j].g.num_id;
                j++;
            }
    }
    for (size_t i = 0; i < n; i++)
        qsort(v[i].g, v[i].ng, sizeof(v[i].g[0]), cmp_i64);
    *out = v;
    return n;
}

static const struct roster_query *x_sort_q;
static int x_cmp(const void *a, const void *b)
{
    return roster_list_cmp(x_sort_q, *(const struct roster_user *const *)a,
                           *(const struct roster_user *const *)b);
}

/* The ids of q's list, brute force: every user tested and sorted in C. */
static size_t x_expect(const struct roster_query *q, struct xuser *all, size_t n,
                       const struct roster_user ***out, struct roster_arena *a)
{
    const struct roster_user **v = roster_arena_alloc(a, (n ? n : 1) * sizeof(*v));
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (roster_list_match(q, &all[i].u, all[i].g, all[i].ng))
            v[len++] = &all[i].u;
    x_sort_q = q;
    qsort(v, len, sizeof(*v), x_cmp);
    *out = v;
    return len;
}

static void x_id_render(const struct roster_user *u, struct roster_buf *out, struct roster_arena *a)
{
    (void)a;
    roster_buf_addstr(out, u->id);
}
static const struct roster_user_render x_ids = {x_id_render};

/* Checks one page of q through core (kept lists) and through the store (uncached) against
 * the brute force list. Returns the number of mismatches. */
static int x_check_page(const char *name, struct roster_query q, int64_t skip, int64_t limit,
                        const struct roster_user **want, size_t nwant, struct roster_arena *a)
{
    struct roster_err err = {0};
    int bad = 0;
    q.skip = skip;
    q.limit = limit;
    q.want_total = true;
    struct roster_buf got, exp;
    roster_buf_init(&got);
    roster_buf_init(&exp);
    for (int64_t i = skip; i < (int64_t)nwant && i < skip + limit; i++) {
        if (i > skip)
            roster_buf_addch(&exp, ',');
        roster_buf_addstr(&exp, want[i]->id);
    }
    size_t n = 0;
    int64_t total = -1;
    int rc = list_render(conn, org_x.id, &q, &x_ids, ",", &got, a, &n, &total, &err);
    const char *g = got.data ? got.data : "", *e = exp.data ? exp.data : "";
    if (rc || total != (int64_t)nwant || strcmp(g, e) != 0) {
        bad++;
        fprintf(stderr, "    kept list \"%s\" skip %lld limit %lld: rc %d total %lld/%zu\n", name,
                (long long)skip, (long long)limit, rc, (long long)total, nwant);
    }
    /* the store's own statements agree with the brute force too */
    struct roster_user *rows = NULL;
    size_t rn = 0;
    int64_t cnt = -1;
    rc = roster_store_user_count(conn, org_x.id, &q, &cnt, NULL, &err);
    if (!rc)
        rc = roster_store_user_page(conn, org_x.id, &q, NULL, skip, limit, a, &rows, &rn, NULL,
                                    &err);
    roster_buf_reset(&got);
    for (size_t i = 0; i < rn; i++) {
        if (i)
            roster_buf_addch(&got, ',');
        roster_buf_addstr(&got, rows[i].id);
    }
    g = got.data ? got.data : "";
    if (rc || cnt != (int64_t)nwant || strcmp(g, e) != 0) {
        bad++;
        fprintf(stderr, "    store list \"%s\" skip %lld limit %lld: rc %d count %lld/%zu\n", name,
                (long long)skip, (long long)limit, rc, (long long)cnt, nwant);
    }
    roster_buf_release(&got);
    roster_buf_release(&exp);
    return bad;
}

/* org_x ("Org X", made by the first test that calls need_org_x): XN generated users, every
 * one in the application x-app, every third in the skill x-s1, none in the skill x-s2. */
enum { XN = 600 };
static struct roster_group x_app, x_sk1, x_sk2;

static void need_org_x(void)
{
    struct roster_err err = {0};
    if (org_x.id[0])
        return;
    rnd_seed();
    make_org(&org_x, "Org X");
    x_app = (struct roster_group){.kind = ROSTER_GROUP_APPLICATION, .name = "x-app"};
    x_sk1 = (struct roster_group){.kind = ROSTER_GROUP_SKILL, .name = "x-s1"};
    x_sk2 = (struct roster_group){.kind = ROSTER_GROUP_SKILL, .name = "x-s2"};
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &x_app, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &x_sk1, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &x_sk2, &err), 0);
    static struct roster_user u[XN];
    static int rcs[XN];
    static struct roster_err errs[XN];
    static int64_t nums[XN];
    for (int i = 0; i < XN; i++)
        gen_user(&u[i], i, "x");
    CHECK_EQ_INT(create_many(org_x.id, u, XN, rcs, errs), 0);
    for (int i = 0; i < XN; i++)
        nums[i] = u[i].num_id;
    CHECK_EQ_INT(roster_store_group_bind(conn, org_x.id, &x_app.num_id, 1, nums, XN, true, &err),
                 0);
    static int64_t half[XN];
    size_t nh = 0;
    for (int i = 0; i < XN; i += 3)
        half[nh++] = nums[i];
    CHECK_EQ_INT(roster_store_group_bind(conn, org_x.id, &x_sk1.num_id, 1, half, nh, true, &err),
                 0);
}

void test_list_exact(void)
{
    struct roster_err err = {0};
    need_org_x();
    rnd_seed();
    struct roster_group app = x_app, sk1 = x_sk1, sk2 = x_sk2;
    static struct pl_case cases[192];
    size_t nc = pl_cases(cases, 192, "x", app.num_id, sk1.num_id, sk2.num_id);
    int next = XN, bad = 0;
    struct roster_arena a;
    roster_arena_init(&a, 0);
    for (int op = 0; op < 160; op++) {
        /* one write of some kind */
        struct xuser *all = NULL;
        size_t n = x_all(&all, &a);
        struct roster_user *t = n ? &all[rnd() % n].u : NULL;
        int kind = (int)(rnd() % 10);
        int rc = 0;
        if (kind == 0 || !t) {
            struct roster_user nu;
            gen_user(&nu, next++, "x");
            rc = create(org_x.id, &nu, &err);
        } else if (kind == 1) {
            rc = roster_store_user_delete(conn, org_x.id, t->id, &err);
        } else if (kind <= 4) {
            /* a field lists filter or sort on */
            struct roster_user w = *t;
            int f = (int)(rnd() % 5);
            if (f == 0)
                w.f[RU_LAST_NAME] = rnd() % 4 ? PL_LAST[rnd() % 10] : NULL;
            else if (f == 1)
                w.f[RU_DEPARTMENT] = rnd() % 2 ? PL_DEPT[rnd() % 4] : NULL;
            else if (f == 2)
                w.f[RU_USERNAME] = roster_arena_printf(&a, "x.r%06d", next++);
            else if (f == 3)
                w.f[RU_DISPLAY_NAME] =
                    rnd() % 3 ? roster_arena_printf(&a, "Agent %03d", (int)(rnd() % 500)) : NULL;
            else
                w.state = (int)(rnd() % 3);
            w.set = 0;
            rc = roster_store_user_update(conn, org_x.id, &w, &err);
        } else if (kind == 5) {
            struct roster_user w = *t; /* the state alone, as the scheduler writes it */
            w.state = w.state == ROSTER_ACTIVATED ? ROSTER_SUSPENDED : ROSTER_ACTIVATED;
            w.set = ROSTER_USET_STATE;
            rc = roster_store_user_update(conn, org_x.id, &w, &err);
        } else if (kind <= 7) {
            int64_t g = rnd() % 2 ? sk1.num_id : sk2.num_id;
            rc = roster_store_group_bind(conn, org_x.id, &g, 1, &t->num_id, 1, kind == 6, &err);
        } else if (kind == 8) {
            /* a bulk write: the lists start afresh */
            struct roster_user bu[5];
            int brc[5];
            struct roster_err berr[5];
            for (int i = 0; i < 5; i++)
                gen_user(&bu[i], next++, "x");
            rc = create_many(org_x.id, bu, 5, brc, berr);
        } else {
            /* a bind of many: recorded as a reset */
            size_t k = n < 40 ? n : 40;
            int64_t *us = roster_arena_alloc(&a, k * sizeof(*us));
            for (size_t i = 0; i < k; i++)
                us[i] = all[(rnd() % n)].u.num_id;
            int64_t g = sk2.num_id;
            rc = roster_store_group_bind(conn, org_x.id, &g, 1, us, k, rnd() % 2, &err);
        }
        if (rc && rc != ROSTER_ECONFLICT && rc != ROSTER_ENOTFOUND) {
            bad++;
            fprintf(stderr, "    write %d of kind %d: %s (%s)\n", op, kind, err.msg, err.detail);
        }
        /* every list a few writes apart, some after each: totals and pages at random offsets
         * (deep ones too: positions every 256 users) equal the brute force */
        n = x_all(&all, &a);
        for (size_t i = 0; i < nc; i++) {
            if (i % 8 != (size_t)op % 8 && op % 20 != 19)
                continue;
            const struct roster_user **want = NULL;
            size_t nw = x_expect(&cases[i].q, all, n, &want, &a);
            int64_t skips[4] = {0, (int64_t)(rnd() % (nw + 3)), (int64_t)(rnd() % (nw + 3)),
                                nw > 300 ? 280 + (int64_t)(rnd() % (nw - 280)) : 0};
            for (int k = 0; k < 4; k++)
                bad += x_check_page(cases[i].name, cases[i].q, skips[k], 1 + (int64_t)(rnd() % 40),
                                    want, nw, &a);
        }
        roster_arena_clear(&a);
    }
    /* a group deleted: the lists on it start afresh and show it gone */
    CHECK_EQ_INT(roster_store_group_delete(conn, org_x.id, ROSTER_GROUP_SKILL, sk1.num_id, &err),
                 0);
    struct xuser *all = NULL;
    size_t n = x_all(&all, &a);
    for (size_t i = 0; i < nc; i++) {
        const struct roster_user **want = NULL;
        size_t nw = x_expect(&cases[i].q, all, n, &want, &a);
        bad += x_check_page(cases[i].name, cases[i].q, 0, 50, want, nw, &a);
    }
    roster_arena_release(&a);
    CHECK_EQ_INT(bad, 0);
}

/* A reader never sees a total that disagrees with the rows of its own answer while a writer
 * adds and removes users. */
static atomic_int xr_stop, xr_bad, xr_reads;

static void *xr_reader(void *arg)
{
    (void)arg;
    struct roster_err err = {0};
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &xr_bad);
    if (!c)
        return NULL;
    uint64_t r = 12345;
    while (!atomic_load(&xr_stop)) {
        struct roster_query q;
        roster_query_init(&q);
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        bool whole = (r >> 33) % 2;
        q.skip = whole ? 0 : (int64_t)((r >> 40) % 900);
        q.limit = whole ? 5000 : 7;
        q.want_total = true;
        if ((r >> 20) % 3 == 0) {
            static struct roster_qval v = {.i = ROSTER_ACTIVATED};
            q.filters[q.nfilters++] = (struct roster_filter){RQ_STATE, ROSTER_OP_EQ, &v, 1};
        }
        struct roster_buf b;
        roster_buf_init(&b);
        size_t n = 0;
        int64_t total = -1;
        int rc = list_render(c, org_x.id, &q, &x_ids, ",", &b, &a, &n, &total, &err);
        int64_t want = total - q.skip < 0 ? 0 : total - q.skip;
        if (want > q.limit)
            want = q.limit;
        if (rc == 0 && (int64_t)n != want)
            atomic_fetch_add(&xr_bad, 1);
        else if (rc && rc != ROSTER_EBUSY)
            atomic_fetch_add(&xr_bad, 1);
        atomic_fetch_add(&xr_reads, 1);
        roster_buf_release(&b);
        roster_arena_clear(&a);
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

void test_list_reader_writer(void)
{
    struct roster_err err = {0};
    need_org_x();
    rnd_seed();
    atomic_store(&xr_stop, 0);
    atomic_store(&xr_bad, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, xr_reader, NULL);
    char made[64][ROSTER_ID_LEN + 1];
    int nmade = 0, next = 100000;
    for (int op = 0; op < 200; op++) {
        if (nmade < 64 && (op % 3 != 2 || nmade == 0)) {
            struct roster_user nu;
            gen_user(&nu, next++, "xr");
            if (create(org_x.id, &nu, &err) == 0)
                snprintf(made[nmade++], sizeof(made[0]), "%s", nu.id);
        } else {
            CHECK_EQ_INT(roster_store_user_delete(conn, org_x.id, made[--nmade], &err), 0);
        }
    }
    atomic_store(&xr_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(atomic_load(&xr_reads) > 0);
    CHECK_EQ_INT(atomic_load(&xr_bad), 0);
}

/* What core keeps is used: the same page asked again reads no count and no page from the
 * store; a write to a user outside the list leaves it kept. */
void test_list_kept(void)
{
    struct roster_err err = {0};
    need_org_x();
    rnd_seed();
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_query q;
    roster_query_init(&q);
    q.want_total = true;
    q.limit = 10;
    q.filters[q.nfilters++] = (struct roster_filter){RU_LAST_NAME, ROSTER_OP_EQ, pl_s("Knuth"), 1};
    struct roster_buf b;
    roster_buf_init(&b);
    size_t n = 0;
    int64_t total = -1;
    CHECK_EQ_INT(list_render(conn, org_x.id, &q, &x_ids, ",", &b, &a, &n, &total, &err), 0);
    struct roster_lists_stats s0, s1;
    roster_lists_stats(capp.lists, &s0);
    for (int i = 0; i < 5; i++) {
        roster_buf_reset(&b);
        CHECK_EQ_INT(list_render(conn, org_x.id, &q, &x_ids, ",", &b, &a, &n, &total, &err), 0);
    }
    roster_lists_stats(capp.lists, &s1);
    CHECK_EQ_INT(s1.hits - s0.hits, 5);
    CHECK_EQ_INT(s1.misses - s0.misses, 0);
    /* a user outside the list changes: the list applies the record and stays kept */
    struct roster_user nu;
    gen_user(&nu, 777777, "xk");
    nu.f[RU_LAST_NAME] = "Hopper";
    CHECK_EQ_INT(create(org_x.id, &nu, &err), 0);
    roster_buf_reset(&b);
    CHECK_EQ_INT(list_render(conn, org_x.id, &q, &x_ids, ",", &b, &a, &n, &total, &err), 0);
    roster_buf_reset(&b);
    CHECK_EQ_INT(list_render(conn, org_x.id, &q, &x_ids, ",", &b, &a, &n, &total, &err), 0);
    roster_lists_stats(capp.lists, &s0);
    CHECK_EQ_INT(s0.resets - s1.resets, 0);
    CHECK_EQ_INT(s0.pages_dropped - s1.pages_dropped, 0);
    CHECK(s0.hits - s1.hits >= 1);
    roster_buf_release(&b);
    roster_arena_release(&a);
}
