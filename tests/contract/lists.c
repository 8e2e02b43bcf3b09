/* Store contract suite (contract.h): user lists read straight from the store (every filter,
 * sort and page), pages and totals under writes, grouped (membership) lists under writes.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- user lists --- */

struct lrow {
    const char *username, *email, *first, *last, *dept, *emp;
    int state;
};

/* ids sort in this order (see user_id_for) */
static const struct lrow lrows[] = {
    {"alice", "alice@ex.com", "Alice", "Smith", "Sales", "E1", ROSTER_ACTIVATED},
    {"bob", "bob@ex.com", "Bob", "Jones", "Eng", "E2", ROSTER_ACTIVATED},
    {"carol", "carol@corp.org", "Carol", "Smith", "Eng", NULL, ROSTER_STAGED},
    {"dave", "dave@ex.com", "Dave", "Brown", NULL, "E4", ROSTER_SUSPENDED},
    {"eve", "eve@corp.org", "Eve", "Jones", "Sales", NULL, ROSTER_ACTIVATED},
    {"frank", "frank@ex.com", "Frank", "Adams", "Eng", "E6", ROSTER_ACTIVATED},
    {"alfred", "alfred@ex.com", "Alfred", "Smith", "Ops", "E7", ROSTER_SUSPENDED},
    {"albert", "ALBERT@Ex.com", "Albert", "Zed", "Ops", "E8", ROSTER_ACTIVATED},
};
#define NL ((int)(sizeof(lrows) / sizeof(lrows[0])))

static struct roster_org org_l;
static struct roster_user lusers[NL];

/* Runs q in org_l and returns the usernames joined by ',' (or "ERR:<code>"). */
static const char *run(const struct roster_query *q, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_user *rows = NULL;
    size_t n = 0;
    int rc = user_list(conn, org_l.id, q, &A, &rows, &n, total, &err);
    if (rc) {
        fprintf(stderr, "    user_list: %s (%s)\n", err.msg, err.detail);
        return roster_arena_printf(&A, "ERR:%d", rc);
    }
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(&b, ',');
        roster_buf_addstr(&b, rows[i].f[RU_USERNAME] ? rows[i].f[RU_USERNAME] : "(null)");
        if (strcmp(rows[i].org_id, org_l.id) != 0)
            roster_buf_addstr(&b, "(other org)");
    }
    const char *s = roster_arena_strdup(&A, b.data);
    roster_buf_release(&b);
    return s;
}

static const char *filter1(int key, int op, struct roster_qval *v, size_t n)
{
    struct roster_query q;
    qinit(&q);
    qfilter(&q, key, op, v, n);
    return run(&q, NULL);
}

void test_list(void)
{
    struct roster_err err = {0};
    struct roster_query q;
    int64_t total;
    make_org(&org_l, "Org L");
    for (int i = 0; i < NL; i++) {
        struct roster_user *u = &lusers[i];
        make_user(u, lrows[i].username, lrows[i].email);
        user_id_for(u->id, org_l.id, i + 1);
        u->f[RU_FIRST_NAME] = lrows[i].first;
        u->f[RU_LAST_NAME] = lrows[i].last;
        u->f[RU_DEPARTMENT] = lrows[i].dept;
        u->f[RU_EMPLOYEE_ID] = lrows[i].emp;
        u->state = lrows[i].state;
        CHECK_EQ_INT(create(org_l.id, u, &err), 0);
    }
    /* dave is modified after every user was created */
    sleep_ms(3);
    struct roster_user dave = lusers[3];
    dave.f[RU_COMPANY] = "Acme";
    CHECK_EQ_INT(roster_store_user_update(conn, org_l.id, &dave, &err), 0);
    int64_t max_created = 0;
    for (int i = 0; i < NL; i++)
        if (lusers[i].created_ms > max_created)
            max_created = lusers[i].created_ms;

    const char *all = "alice,bob,carol,dave,eve,frank,alfred,albert";
    qinit(&q);
    q.want_total = true;
    total = 0;
    CHECK_EQ_STR(run(&q, &total), all);
    CHECK_EQ_INT(total, NL);

    /* string operators */
    CHECK_EQ_STR(filter1(RU_LAST_NAME, ROSTER_OP_EQ, svals(1, "Smith"), 1), "alice,carol,alfred");
    CHECK_EQ_STR(filter1(RU_LAST_NAME, ROSTER_OP_EQ, svals(1, "smith"), 1), "");
    CHECK_EQ_STR(filter1(RU_EMPLOYEE_ID, ROSTER_OP_EQ, svals(1, "E4"), 1), "dave");
    /* ne also matches users without a value (dave has no department) */
    CHECK_EQ_STR(filter1(RU_DEPARTMENT, ROSTER_OP_NE, svals(1, "Sales"), 1),
                 "bob,carol,dave,frank,alfred,albert");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_GT, svals(1, "eve"), 1), "frank");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_GE, svals(1, "eve"), 1), "eve,frank");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_LT, svals(1, "b"), 1), "alice,alfred,albert");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_LE, svals(1, "bob"), 1), "alice,bob,alfred,albert");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_BETWEEN, svals(2, "bob", "dave"), 2),
                 "bob,carol,dave");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_BETWEEN, svals(2, "b", "d"), 2), "bob,carol");
    CHECK_EQ_STR(filter1(RU_DEPARTMENT, ROSTER_OP_IN, svals(2, "Eng", "Ops"), 2),
                 "bob,carol,frank,alfred,albert");
    CHECK_EQ_STR(filter1(RU_DEPARTMENT, ROSTER_OP_IN, svals(1, "Sales"), 1), "alice,eve");
    CHECK_EQ_STR(filter1(RU_EMAIL, ROSTER_OP_SEARCH, svals(1, "EX.COM"), 1),
                 "alice,bob,dave,frank,alfred,albert");
    CHECK_EQ_STR(filter1(RU_FIRST_NAME, ROSTER_OP_SEARCH, svals(1, "l"), 1),
                 "alice,carol,alfred,albert");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_PREFIX, svals(1, "al"), 1), "alice,alfred,albert");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_PREFIX, svals(1, "alf"), 1), "alfred");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_PREFIX, svals(1, "alfredo"), 1), "");
    CHECK_EQ_STR(filter1(RU_USERNAME, ROSTER_OP_PREFIX, svals(1, "z"), 1), "");
    CHECK_EQ_STR(filter1(RU_EMAIL, ROSTER_OP_PREFIX, svals(1, "e"), 1), "eve");

    /* id and integer keys */
    CHECK_EQ_STR(filter1(RQ_ID, ROSTER_OP_EQ, svals(1, lusers[2].id), 1), "carol");
    CHECK_EQ_STR(filter1(RQ_ID, ROSTER_OP_IN, svals(2, lusers[4].id, lusers[0].id), 2),
                 "alice,eve");
    CHECK_EQ_STR(filter1(RQ_ID, ROSTER_OP_GT, svals(1, lusers[5].id), 1), "alfred,albert");
    CHECK_EQ_STR(filter1(RQ_STATE, ROSTER_OP_EQ, ivals(1, (int64_t)ROSTER_ACTIVATED), 1),
                 "alice,bob,eve,frank,albert");
    CHECK_EQ_STR(filter1(RQ_STATE, ROSTER_OP_NE, ivals(1, (int64_t)ROSTER_ACTIVATED), 1),
                 "carol,dave,alfred");
    CHECK_EQ_STR(filter1(RQ_STATE, ROSTER_OP_IN,
                         ivals(2, (int64_t)ROSTER_STAGED, (int64_t)ROSTER_SUSPENDED), 2),
                 "carol,dave,alfred");
    CHECK_EQ_STR(
        filter1(RQ_NUM_ID, ROSTER_OP_BETWEEN, ivals(2, lusers[1].num_id, lusers[3].num_id), 2),
        "bob,carol,dave");
    CHECK_EQ_STR(filter1(RQ_NUM_ID, ROSTER_OP_GT, ivals(1, lusers[6].num_id), 1), "albert");
    CHECK_EQ_STR(filter1(RQ_NUM_ID, ROSTER_OP_LE, ivals(1, lusers[1].num_id), 1), "alice,bob");
    CHECK_EQ_STR(filter1(RQ_NUM_ID, ROSTER_OP_EQ, ivals(1, lusers[7].num_id), 1), "albert");
    CHECK_EQ_STR(filter1(RQ_CREATED, ROSTER_OP_GE, ivals(1, lusers[0].created_ms), 1), all);
    CHECK_EQ_STR(filter1(RQ_CREATED, ROSTER_OP_LT, ivals(1, lusers[0].created_ms), 1), "");
    CHECK_EQ_STR(filter1(RQ_MODIFIED, ROSTER_OP_GT, ivals(1, max_created), 1), "dave");
    CHECK_EQ_STR(filter1(RQ_MODIFIED, ROSTER_OP_LE, ivals(1, max_created), 1),
                 "alice,bob,carol,eve,frank,alfred,albert");
    CHECK_EQ_STR(
        filter1(RQ_CREATED, ROSTER_OP_BETWEEN, ivals(2, lusers[0].created_ms, max_created), 2),
        all);

    /* filters are ANDed */
    qinit(&q);
    qfilter(&q, RU_DEPARTMENT, ROSTER_OP_EQ, svals(1, "Eng"), 1);
    qfilter(&q, RQ_STATE, ROSTER_OP_EQ, ivals(1, (int64_t)ROSTER_ACTIVATED), 1);
    CHECK_EQ_STR(run(&q, NULL), "bob,frank");
    qfilter(&q, RU_USERNAME, ROSTER_OP_PREFIX, svals(1, "f"), 1);
    CHECK_EQ_STR(run(&q, NULL), "frank");

    /* free-text search: username, email, first and last name, any case */
    qinit(&q);
    q.search = "SMI";
    CHECK_EQ_STR(run(&q, NULL), "alice,carol,alfred");
    q.search = "corp";
    CHECK_EQ_STR(run(&q, NULL), "carol,eve");
    q.search = "zed";
    CHECK_EQ_STR(run(&q, NULL), "albert");
    q.search = "ALBE";
    CHECK_EQ_STR(run(&q, NULL), "albert");
    q.search = "Eng"; /* department is not searched */
    CHECK_EQ_STR(run(&q, NULL), "");
    q.search = "al";
    qfilter(&q, RQ_STATE, ROSTER_OP_EQ, ivals(1, (int64_t)ROSTER_ACTIVATED), 1);
    CHECK_EQ_STR(run(&q, NULL), "alice,albert");

    /* sorting, with the id as the tiebreak in the direction of the last sort key (so that
     * an index on (key, id) read backwards serves a descending order) */
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RU_LAST_NAME, false};
    CHECK_EQ_STR(run(&q, NULL), "frank,dave,bob,eve,alice,carol,alfred,albert");
    q.sorts[0].desc = true;
    CHECK_EQ_STR(run(&q, NULL), "albert,alfred,carol,alice,eve,bob,dave,frank");
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RQ_STATE, false};
    q.sorts[q.nsorts++] = (struct roster_sort){RU_USERNAME, true};
    CHECK_EQ_STR(run(&q, NULL), "carol,frank,eve,bob,alice,albert,dave,alfred");
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RU_USERNAME, false};
    CHECK_EQ_STR(run(&q, NULL), "albert,alfred,alice,bob,carol,dave,eve,frank");
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RQ_ID, true};
    CHECK_EQ_STR(run(&q, NULL), "albert,alfred,frank,eve,dave,carol,bob,alice");
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RQ_NUM_ID, true};
    CHECK_EQ_STR(run(&q, NULL), "albert,alfred,frank,eve,dave,carol,bob,alice");
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RQ_MODIFIED, true};
    q.limit = 1;
    CHECK_EQ_STR(run(&q, NULL), "dave");

    /* paging and totals */
    qinit(&q);
    q.skip = 2;
    q.limit = 3;
    q.want_total = true;
    total = 0;
    CHECK_EQ_STR(run(&q, &total), "carol,dave,eve");
    CHECK_EQ_INT(total, NL);
    q.skip = 7;
    CHECK_EQ_STR(run(&q, &total), "albert");
    q.skip = 8;
    CHECK_EQ_STR(run(&q, &total), "");
    CHECK_EQ_INT(total, NL);
    q.skip = 0;
    q.limit = 0; /* count only */
    CHECK_EQ_STR(run(&q, &total), "");
    CHECK_EQ_INT(total, NL);
    qinit(&q);
    q.limit = 2;
    q.skip = 1;
    q.want_total = true;
    q.sorts[q.nsorts++] = (struct roster_sort){RU_LAST_NAME, false};
    qfilter(&q, RU_EMAIL, ROSTER_OP_SEARCH, svals(1, "ex.com"), 1);
    CHECK_EQ_STR(run(&q, &total), "dave,bob");
    CHECK_EQ_INT(total, 6);
    q.want_total = false;
    total = 123;
    CHECK_EQ_STR(run(&q, &total), "dave,bob");
    CHECK_EQ_INT(total, -1);
    qinit(&q);
    q.want_total = true;
    qfilter(&q, RU_USERNAME, ROSTER_OP_EQ, svals(1, "nobody"), 1);
    total = -5;
    CHECK_EQ_STR(run(&q, &total), "");
    CHECK_EQ_INT(total, 0);

    /* the full rows come back, not only usernames */
    struct roster_user *rows = NULL;
    size_t n = 0;
    qinit(&q);
    qfilter(&q, RU_USERNAME, ROSTER_OP_EQ, svals(1, "dave"), 1);
    CHECK_EQ_INT(user_list(conn, org_l.id, &q, &A, &rows, &n, NULL, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_EQ_STR(rows[0].id, lusers[3].id);
        CHECK_EQ_INT(rows[0].num_id, lusers[3].num_id);
        CHECK_EQ_STR(rows[0].f[RU_COMPANY], "Acme");
        CHECK_EQ_STR(rows[0].f[RU_EMPLOYEE_ID], "E4");
        CHECK(rows[0].f[RU_DEPARTMENT] == NULL);
        CHECK_EQ_INT(rows[0].state, ROSTER_SUSPENDED);
        CHECK_EQ_INT(rows[0].version, 2);
        CHECK_EQ_INT(rows[0].created_ms, lusers[3].created_ms);
    }
}

/* --- list paging and totals under writes (the SQLite list cache must never be stale) --- */

static struct roster_org org_p;

/* Lists org_p on connection c with q; returns the count of rows and writes the usernames
 * joined by ',' into *names (arena). -1 on error. */
static long plist(struct roster_conn *c, const struct roster_query *q, int64_t *total,
                  const char **names)
{
    struct roster_err err = {0};
    struct roster_user *rows = NULL;
    size_t n = 0;
    if (user_list(c, org_p.id, q, &A, &rows, &n, total, &err)) {
        fprintf(stderr, "    user_list: %s (%s)\n", err.msg, err.detail);
        return -1;
    }
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(&b, ',');
        roster_buf_addstr(&b, rows[i].f[RU_USERNAME] ? rows[i].f[RU_USERNAME] : "(null)");
        if (strcmp(rows[i].org_id, org_p.id) != 0)
            roster_buf_addstr(&b, "(other org)");
    }
    if (names)
        *names = roster_arena_strdup(&A, b.data);
    roster_buf_release(&b);
    return (long)n;
}

/* The total of org_p's users matching one optional filter, read on connection c. */
static int64_t ptotal(struct roster_conn *c, int key, int op, struct roster_qval *v)
{
    struct roster_query q;
    qinit(&q);
    q.limit = 0;
    q.want_total = true;
    if (v)
        qfilter(&q, key, op, v, 1);
    int64_t total = -7;
    if (plist(c, &q, &total, NULL) < 0)
        return -1;
    return total;
}

#define NP 300

void test_list_paging_writes(void)
{
    struct roster_err err = {0};
    make_org(&org_p, "Org P");
    static struct roster_user pu[NP];
    static char names[NP][32], emails[NP][48];
    /* created in a scrambled order: the list order is the id order, not the insert order */
    for (int k = 0; k < NP; k++) {
        int i = (k * 7) % NP;
        snprintf(names[i], sizeof(names[i]), "p%03d", i);
        snprintf(emails[i], sizeof(emails[i]), "p%03d@p.test", i);
        make_user(&pu[i], names[i], emails[i]);
        user_id_for(pu[i].id, org_p.id, i + 1);
        pu[i].f[RU_LAST_NAME] = i % 3 == 0 ? "Three" : "Other";
        pu[i].state = i % 5 == 0 ? ROSTER_SUSPENDED : ROSTER_ACTIVATED;
        CHECK_EQ_INT(create(org_p.id, &pu[i], &err), 0);
    }

    /* pages of 7 from every offset: each user exactly once, in id order, total stable */
    struct roster_buf all;
    roster_buf_init(&all);
    roster_buf_addstr(&all, "");
    for (int i = 0; i < NP; i++) {
        if (i)
            roster_buf_addch(&all, ',');
        roster_buf_addstr(&all, names[i]);
    }
    struct roster_buf got;
    roster_buf_init(&got);
    roster_buf_addstr(&got, "");
    bool totals_ok = true;
    for (int off = 0; off < NP + 7; off += 7) {
        struct roster_query q;
        qinit(&q);
        q.skip = off;
        q.limit = 7;
        q.want_total = true;
        int64_t total = 0;
        const char *page = NULL;
        long n = plist(conn, &q, &total, &page);
        totals_ok = totals_ok && total == NP;
        if (n > 0) {
            if (got.len)
                roster_buf_addch(&got, ',');
            roster_buf_addstr(&got, page);
        }
    }
    CHECK(totals_ok);
    CHECK_EQ_STR(got.data, all.data);
    roster_buf_release(&got);
    roster_buf_release(&all);

    /* filtered pages: offsets count matching rows only */
    struct roster_query q;
    qinit(&q);
    qfilter(&q, RU_LAST_NAME, ROSTER_OP_EQ, svals(1, "Three"), 1);
    qfilter(&q, RQ_STATE, ROSTER_OP_EQ, ivals(1, (int64_t)ROSTER_ACTIVATED), 1);
    q.skip = 2;
    q.limit = 3;
    q.want_total = true;
    int64_t total = 0;
    const char *page = NULL;
    CHECK_EQ_INT(plist(conn, &q, &total, &page), 3);
    CHECK_EQ_STR(page, "p009,p012,p018"); /* 3, 6, 9, 12, 18 match (0 and 15 are suspended) */
    CHECK_EQ_INT(total, 80);              /* multiples of 3 below 300 (100) but not of 15 (20) */

    struct roster_qval *three = svals(1, "Three");
    struct roster_qval *active = ivals(1, (int64_t)ROSTER_ACTIVATED);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP);
    CHECK_EQ_INT(ptotal(conn, RQ_STATE, ROSTER_OP_EQ, active), 240);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 100);

    /* every kind of write shows in the next list of the same connection */
    struct roster_user nu;
    make_user(&nu, "p-new", "p-new@p.test");
    nu.f[RU_LAST_NAME] = "Three";
    CHECK_EQ_INT(create(org_p.id, &nu, &err), 0);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP + 1);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 101);
    struct roster_user s1 = pu[3];
    s1.set = ROSTER_USET_STATE; /* the state-only update path */
    s1.state = ROSTER_SUSPENDED;
    CHECK_EQ_INT(roster_store_user_update(conn, org_p.id, &s1, &err), 0);
    CHECK_EQ_INT(ptotal(conn, RQ_STATE, ROSTER_OP_EQ, active), 240);
    struct roster_user s2 = pu[6];
    s2.f[RU_LAST_NAME] = "Renamed";
    CHECK_EQ_INT(roster_store_user_update(conn, org_p.id, &s2, &err), 0);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 100);
    CHECK_EQ_INT(roster_store_user_delete(conn, org_p.id, pu[9].id, &err), 0);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 99);
    qinit(&q);
    q.skip = NP - 2;
    q.limit = 10;
    CHECK_EQ_INT(plist(conn, &q, NULL, &page), 2);
    CHECK_EQ_STR(page, "p299,p-new");

    /* writes on another connection of the same store, and on another handle of the same
     * store (as another process would write it), show in this connection's next list */
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &c2, &err), 0);
    struct roster_store *st3 = NULL;
    struct roster_conn *c3 = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st3, &err), 0);
    if (st3)
        CHECK_EQ_INT(roster_conn_open(st3, &c3, &err), 0);
    if (c2 && c3) {
        CHECK_EQ_INT(ptotal(c2, -1, 0, NULL), NP); /* c2 and c3 have looked once */
        CHECK_EQ_INT(ptotal(c3, -1, 0, NULL), NP);
        CHECK_EQ_INT(roster_store_user_delete(c2, org_p.id, pu[12].id, &err), 0);
        CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP - 1);
        CHECK_EQ_INT(ptotal(c3, -1, 0, NULL), NP - 1);
        CHECK_EQ_INT(roster_store_user_delete(c3, org_p.id, pu[15].id, &err), 0);
        CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP - 2);
        CHECK_EQ_INT(ptotal(c2, -1, 0, NULL), NP - 2);
        CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 97);
        struct roster_user s3 = pu[18];
        s3.set = ROSTER_USET_STATE;
        s3.state = ROSTER_SUSPENDED;
        CHECK_EQ_INT(roster_store_user_update(c3, org_p.id, &s3, &err), 0);
        CHECK_EQ_INT(ptotal(conn, RQ_STATE, ROSTER_OP_EQ, active), 237);
        CHECK_EQ_INT(ptotal(c2, RQ_STATE, ROSTER_OP_EQ, active), 237);
    }

    /* a transaction: its own uncommitted rows are listed inside it, never after a rollback,
     * and others never see them */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_user tu;
    make_user(&tu, "p-txn", "p-txn@p.test");
    tu.f[RU_LAST_NAME] = "Three";
    CHECK_EQ_INT(create(org_p.id, &tu, &err), 0);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP - 1);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 98);
    if (c2)
        CHECK_EQ_INT(ptotal(c2, -1, 0, NULL), NP - 2);
    roster_store_rollback(conn);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP - 2);
    CHECK_EQ_INT(ptotal(conn, RU_LAST_NAME, ROSTER_OP_EQ, three), 97);
    if (c2)
        CHECK_EQ_INT(ptotal(c2, -1, 0, NULL), NP - 2);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    make_user(&tu, "p-txn2", "p-txn2@p.test");
    CHECK_EQ_INT(create(org_p.id, &tu, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(ptotal(conn, -1, 0, NULL), NP - 1);
    if (c2)
        CHECK_EQ_INT(ptotal(c2, -1, 0, NULL), NP - 1);
    if (c3)
        CHECK_EQ_INT(ptotal(c3, -1, 0, NULL), NP - 1);
    roster_conn_close(c3);
    roster_store_close(st3);
    roster_conn_close(c2);
}

/* "username/display name/A|S,..." of a page of a grouped list on connection cn */
static const char *gpage(struct roster_conn *cn, const char *org_id, const struct roster_query *q,
                         const struct roster_group_cond *c, size_t nc, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_user *v;
    size_t n;
    int rc = user_list_grouped(cn, org_id, q, c, nc, &A, &v, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_STR(v[i].org_id, org_id);
        roster_buf_printf(&b, "%s%s/%s/%c", i ? "," : "", v[i].f[RU_USERNAME],
                          v[i].f[RU_DISPLAY_NAME] ? v[i].f[RU_DISPLAY_NAME] : "-",
                          v[i].state == ROSTER_ACTIVATED ? 'A' : 'S');
    }
    const char *out = roster_arena_strdup(&A, b.data);
    roster_buf_release(&b);
    return out;
}

/* Grouped lists are read through caches (SQLite: the ordered matches and the rows of a
 * page); whatever is written (a user's fields, its state, memberships, groups, on this
 * connection, another one or another handle of the store) shows in the very next list,
 * and two organisations asking the same never see each other's users. */
void test_grouped_list_writes(void)
{
    struct roster_err err = {0};
    struct roster_org o1, o2;
    make_org(&o1, "grouped-cache-1");
    make_org(&o2, "grouped-cache-2");
    struct roster_group app = mk_group(o1.id, ROSTER_GROUP_APPLICATION, "gc-app", 0, 0);
    struct roster_group sk = mk_group(o1.id, ROSTER_GROUP_SKILL, "gc-skill", 0, 0);
    struct roster_group app2 = mk_group(o2.id, ROSTER_GROUP_APPLICATION, "gc-app", 0, 0);
    struct roster_group sk2 = mk_group(o2.id, ROSTER_GROUP_SKILL, "gc-skill", 0, 0);
#define GN 12
    static struct roster_user u[GN], w[GN];
    static char names[GN][16], emails[GN][32], wnames[GN][16], wemails[GN][32];
    int64_t un[GN], wn[GN];
    for (int i = 0; i < GN; i++) {
        snprintf(names[i], sizeof(names[i]), "gc%02d", i);
        snprintf(emails[i], sizeof(emails[i]), "gc%02d@g.test", i);
        make_user(&u[i], names[i], emails[i]);
        u[i].f[RU_DISPLAY_NAME] = "D";
        CHECK_EQ_INT(create(o1.id, &u[i], &err), 0);
        un[i] = u[i].num_id;
        snprintf(wnames[i], sizeof(wnames[i]), "gw%02d", i);
        snprintf(wemails[i], sizeof(wemails[i]), "gw%02d@g.test", i);
        make_user(&w[i], wnames[i], wemails[i]);
        CHECK_EQ_INT(create(o2.id, &w[i], &err), 0);
        wn[i] = w[i].num_id;
    }
    int64_t a1[1] = {app.num_id}, s1[1] = {sk.num_id}, a2[1] = {app2.num_id}, s2[1] = {sk2.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, o1.id, a1, 1, un, GN, true, &err), 0);
    int64_t even[GN / 2];
    for (int i = 0; i < GN / 2; i++)
        even[i] = un[2 * i];
    CHECK_EQ_INT(roster_store_group_bind(conn, o1.id, s1, 1, even, GN / 2, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, o2.id, a2, 1, wn, GN, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, o2.id, s2, 1, wn, 3, true, &err), 0);

    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    q.sorts[0] = (struct roster_sort){RU_USERNAME, false};
    q.nsorts = 1;
    q.skip = 1;
    q.limit = 3;
    struct roster_group_cond c[2] = {{sk.num_id, true}, {app.num_id, true}};
    struct roster_group_cond c2[2] = {{sk2.num_id, true}, {app2.num_id, true}};
    int64_t total = -1;
    const char *p1 = "gc02/D/A,gc04/D/A,gc06/D/A";
    for (int k = 0; k < 3; k++) { /* the first read fills the caches, the others use them */
        CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), p1);
        CHECK_EQ_INT(total, GN / 2);
        CHECK_EQ_STR(gpage(conn, o2.id, &q, c2, 2, &total), "gw01/-/A,gw02/-/A");
        CHECK_EQ_INT(total, 3);
    }
    /* every match (no limit: read directly, not through the caches on SQLite) */
    q.skip = 0;
    q.limit = -1;
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total),
                 "gc00/D/A,gc02/D/A,gc04/D/A,gc06/D/A,gc08/D/A,gc10/D/A");
    CHECK_EQ_INT(total, GN / 2);
    q.limit = 3;
    /* a page past the end: no users, the total of every match */
    q.skip = 100;
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "");
    CHECK_EQ_INT(total, GN / 2);
    q.skip = 1;
    /* another organisation's groups as conditions: nobody */
    CHECK_EQ_STR(gpage(conn, o2.id, &q, c, 2, &total), "");
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c2, 1, &total), "");
    CHECK_EQ_INT(total, 0);

    /* a field of a listed user */
    struct roster_user e = u[4];
    e.f[RU_DISPLAY_NAME] = "Renamed";
    CHECK_EQ_INT(roster_store_user_update(conn, o1.id, &e, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc02/D/A,gc04/Renamed/A,gc06/D/A");
    /* the state alone */
    struct roster_user st6 = u[6];
    st6.set = ROSTER_USET_STATE;
    st6.state = ROSTER_SUSPENDED;
    CHECK_EQ_INT(roster_store_user_update(conn, o1.id, &st6, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc02/D/A,gc04/Renamed/A,gc06/D/S");
    /* the sort key: gc02 becomes the last one */
    struct roster_user r2 = u[2];
    r2.f[RU_USERNAME] = "gc99";
    CHECK_EQ_INT(roster_store_user_update(conn, o1.id, &r2, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc04/Renamed/A,gc06/D/S,gc08/D/A");
    CHECK_EQ_INT(total, GN / 2);
    /* memberships: bind and unbind */
    CHECK_EQ_INT(roster_store_group_bind(conn, o1.id, s1, 1, &un[5], 1, true, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc04/Renamed/A,gc05/D/A,gc06/D/S");
    CHECK_EQ_INT(total, GN / 2 + 1);
    CHECK_EQ_INT(roster_store_group_bind(conn, o1.id, a1, 1, &un[4], 1, false, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc05/D/A,gc06/D/S,gc08/D/A");
    CHECK_EQ_INT(total, GN / 2);
    /* a deleted user */
    CHECK_EQ_INT(roster_store_user_delete(conn, o1.id, u[6].id, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/D/A,gc10/D/A");
    CHECK_EQ_INT(total, GN / 2 - 1);
    q.skip = 0;
    q.limit = -1;
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total),
                 "gc00/D/A,gc05/D/A,gc08/D/A,gc10/D/A,gc99/D/A");
    q.skip = 1;
    q.limit = 3;
    /* the other organisation never changed */
    CHECK_EQ_STR(gpage(conn, o2.id, &q, c2, 2, &total), "gw01/-/A,gw02/-/A");

    /* writes through another connection and another handle of the store (as another
     * process writes) */
    struct roster_conn *cb = NULL, *cc = NULL;
    struct roster_store *stc = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &cb, &err), 0);
    CHECK_EQ_INT(roster_store_open(url, &stc, &err), 0);
    if (stc)
        CHECK_EQ_INT(roster_conn_open(stc, &cc, &err), 0);
    if (cb && cc) {
        CHECK_EQ_STR(gpage(cb, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/D/A,gc10/D/A");
        CHECK_EQ_STR(gpage(cc, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/D/A,gc10/D/A");
        struct roster_user e8 = u[8];
        e8.f[RU_DISPLAY_NAME] = "FromB";
        CHECK_EQ_INT(roster_store_user_update(cb, o1.id, &e8, &err), 0);
        CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/FromB/A,gc10/D/A");
        CHECK_EQ_STR(gpage(cc, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/FromB/A,gc10/D/A");
        struct roster_user e10 = u[10];
        e10.f[RU_DISPLAY_NAME] = "FromC";
        CHECK_EQ_INT(roster_store_user_update(cc, o1.id, &e10, &err), 0);
        CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/FromB/A,gc10/FromC/A");
        CHECK_EQ_STR(gpage(cb, o1.id, &q, c, 2, &total), "gc05/D/A,gc08/FromB/A,gc10/FromC/A");
        CHECK_EQ_INT(roster_store_group_bind(cc, o1.id, s1, 1, &un[1], 1, true, &err), 0);
        CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc01/D/A,gc05/D/A,gc08/FromB/A");
        CHECK_EQ_INT(total, GN / 2);
        CHECK_EQ_STR(gpage(cb, o1.id, &q, c, 2, &total), "gc01/D/A,gc05/D/A,gc08/FromB/A");
    }
    roster_conn_close(cc);
    roster_store_close(stc);
    roster_conn_close(cb);

    /* inside a transaction its own uncommitted membership is listed; after the rollback
     * it is not */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, o1.id, s1, 1, &un[3], 1, true, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc01/D/A,gc03/D/A,gc05/D/A");
    roster_store_rollback(conn);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "gc01/D/A,gc05/D/A,gc08/FromB/A");
    CHECK_EQ_INT(total, GN / 2);
    /* a deleted group: its members are gone from the list */
    CHECK_EQ_INT(roster_store_group_delete(conn, o1.id, ROSTER_GROUP_SKILL, sk.num_id, &err), 0);
    CHECK_EQ_STR(gpage(conn, o1.id, &q, c, 2, &total), "");
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_STR(gpage(conn, o2.id, &q, c2, 2, &total), "gw01/-/A,gw02/-/A");
    CHECK_EQ_INT(total, 3);
#undef GN
}

/* --- list access paths and exactness (docs/lists.md) --- */
