/* Store contract suite (contract.h): single users (create, read, update, delete, conflicts,
 * tenants, transactions) and the bulk user methods (user_create_many, user_get_many,
 * user_update_many).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

/* --- single users --- */

void test_user_crud(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_user u, got;
    make_user(&u, "jdoe", "jdoe@example.com");
    u.f[RU_EMPLOYEE_ID] = "E-100";
    u.f[RU_FIRST_NAME] = "John";
    u.f[RU_MIDDLE_NAME] = "Q";
    u.f[RU_LAST_NAME] = "Doe";
    u.f[RU_DISPLAY_NAME] = "John Doe";
    u.f[RU_DEPARTMENT] = "Engineering";
    u.f[RU_COST_CENTER] = "CC-1";
    u.f[RU_COMPANY] = "Acme";
    u.f[RU_JOB_TITLE] = "Engineer";
    u.f[RU_LOCATION] = "Berlin";
    u.f[RU_MANAGER] = "0123456789abcdef01234567";
    u.f[RU_COUNTRY_CODE] = "DE";
    u.f[RU_ALTERNATE_EMAIL] = "john@private.example";
    u.f[RU_DESCRIPTION] = "d\xc3\xa9j\xc3\xa0 vu \xe2\x9c\x93"; /* UTF-8 kept byte for byte */
    u.f[RU_EMPLOYEE_TYPE] = "full-time";
    u.f[RU_CUSTOM_DATA] = "{\"k\":1}";
    u.f[RU_EXTERNAL_ID] = "00u1abcd";
    u.f[RU_USER_TYPE] = "Employee";
    u.f[RU_PREFERRED_LANGUAGE] = "de-DE";
    u.f[RU_LOCALE] = "de-DE";
    u.f[RU_TIMEZONE] = "Europe/Berlin";
    u.f[RU_PHONES] = "[{\"type\":\"work\",\"number\":\"+49 30 1234\"}]";
    u.f[RU_ATTRIBUTES] = "[{\"name\":\"a\",\"value\":\"b\"}]";
    u.f[RU_ADDRESSES] = "[{\"type\":\"home\",\"locality\":\"Berlin\"}]";
    u.f[RU_EXTRA] = "{\"sudo\":true}";
    u.state = ROSTER_STAGED;
    int64_t before = roster_now_ms();
    CHECK_EQ_INT(create(org_a.id, &u, &err), 0);
    CHECK(roster_id_valid(u.id));
    CHECK(u.num_id > 0);
    CHECK_EQ_STR(u.org_id, org_a.id);
    CHECK(u.created_ms >= before && u.created_ms <= roster_now_ms());
    CHECK_EQ_INT(u.modified_ms, u.created_ms);
    CHECK_EQ_INT(u.version, 1);

    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, u.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_INT(got.num_id, u.num_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        CHECK_EQ_STR(got.f[i], u.f[i]);
    CHECK_EQ_INT(got.state, ROSTER_STAGED);
    CHECK_EQ_INT(got.created_ms, u.created_ms);
    CHECK_EQ_INT(got.modified_ms, u.modified_ms);
    CHECK_EQ_INT(got.version, 1);

    /* a second user gets a larger numeric id; a caller-chosen id is kept */
    struct roster_user v;
    make_user(&v, "second", "second@example.com");
    char chosen[ROSTER_ID_LEN + 1];
    roster_id_new(chosen);
    memcpy(v.id, chosen, sizeof(v.id));
    CHECK_EQ_INT(create(org_a.id, &v, &err), 0);
    CHECK_EQ_STR(v.id, chosen);
    CHECK(v.num_id > u.num_id);
    CHECK(v.f[RU_EMPLOYEE_ID] == NULL);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, chosen, &got, &A, &err), 0);
    CHECK(got.f[RU_EMPLOYEE_ID] == NULL && got.f[RU_PHONES] == NULL);
    CHECK_EQ_INT(got.state, ROSTER_ACTIVATED);

    /* update: every field is written, NULL clears; version and modified move */
    sleep_ms(3);
    struct roster_user w = got;
    w.f[RU_FIRST_NAME] = "Second";
    w.f[RU_EMAIL] = "second.new@example.com";
    w.f[RU_DEPARTMENT] = "Ops";
    w.state = ROSTER_SUSPENDED;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &w, &err), 0);
    CHECK_EQ_INT(w.version, 2);
    CHECK(w.modified_ms > w.created_ms);
    CHECK_EQ_INT(w.created_ms, v.created_ms);
    CHECK_EQ_INT(w.num_id, v.num_id);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, chosen, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Second");
    CHECK_EQ_STR(got.f[RU_EMAIL], "second.new@example.com");
    CHECK_EQ_STR(got.f[RU_DEPARTMENT], "Ops");
    CHECK_EQ_INT(got.state, ROSTER_SUSPENDED);
    CHECK_EQ_INT(got.version, 2);
    CHECK_EQ_INT(got.modified_ms, w.modified_ms);
    CHECK_EQ_INT(got.created_ms, v.created_ms);

    got.f[RU_DEPARTMENT] = NULL;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &got, &err), 0);
    CHECK_EQ_INT(got.version, 3);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, chosen, &got, &A, &err), 0);
    CHECK(got.f[RU_DEPARTMENT] == NULL);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Second");

    /* a stale version is refused and changes nothing */
    struct roster_user stale = got;
    stale.version = 2;
    stale.f[RU_FIRST_NAME] = "Stale";
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &stale, &err), ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, chosen, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Second");
    CHECK_EQ_INT(got.version, 3);

    /* update of a missing user */
    struct roster_user ghost;
    make_user(&ghost, "ghost", "ghost@example.com");
    roster_id_new(ghost.id);
    ghost.version = 1;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &ghost, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, ghost.id, &got, &A, &err), ROSTER_ENOTFOUND);

    /* values are data, never SQL */
    struct roster_user evil;
    make_user(&evil, "o'brien\"; DROP TABLE users; --", "x'@example.com");
    evil.f[RU_LAST_NAME] = "O'Brien";
    CHECK_EQ_INT(create(org_a.id, &evil, &err), 0);
    struct roster_query q;
    memset(&q, 0, sizeof(q));
    q.limit = 10;
    q.want_total = true;
    struct roster_qval val = {.s = "O'Brien"};
    q.filters[0] = (struct roster_filter){RU_LAST_NAME, ROSTER_OP_EQ, &val, 1};
    q.nfilters = 1;
    struct roster_user *rows = NULL;
    size_t n = 0;
    CHECK_EQ_INT(user_list(conn, org_a.id, &q, &A, &rows, &n, NULL, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK_EQ_STR(rows[0].f[RU_USERNAME], evil.f[RU_USERNAME]);

    /* delete */
    CHECK_EQ_INT(roster_store_user_delete(conn, org_a.id, evil.id, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, evil.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_delete(conn, org_a.id, evil.id, &err), ROSTER_ENOTFOUND);
    /* the username is free again */
    struct roster_user again;
    make_user(&again, evil.f[RU_USERNAME], "again@example.com");
    CHECK_EQ_INT(create(org_a.id, &again, &err), 0);
}

void test_conflicts(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_user u, d;
    make_user(&u, "alpha", "alpha@example.com");
    u.f[RU_EMPLOYEE_ID] = "EMP-1";
    CHECK_EQ_INT(create(org_b.id, &u, &err), 0);

    make_user(&d, "alpha", "other@example.com");
    CHECK_EQ_INT(create(org_b.id, &d, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "username");
    CHECK_EQ_STR(err.msg, "username \"alpha\" already exists");
    CHECK(d.num_id == 0);

    make_user(&d, "beta", "alpha@example.com");
    CHECK_EQ_INT(create(org_b.id, &d, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "email");
    CHECK_EQ_STR(err.msg, "email \"alpha@example.com\" already exists");

    /* usernames and e-mail addresses collide regardless of case; values keep their case */
    make_user(&d, "ALPHA", "other2@example.com");
    CHECK_EQ_INT(create(org_b.id, &d, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "username");
    CHECK_EQ_STR(err.msg, "username \"ALPHA\" already exists");
    make_user(&d, "beta", "Alpha@Example.COM");
    CHECK_EQ_INT(create(org_b.id, &d, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "email");

    make_user(&d, "beta", "beta@example.com");
    d.f[RU_EMPLOYEE_ID] = "EMP-1";
    CHECK_EQ_INT(create(org_b.id, &d, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "employeeIdentifier");
    CHECK_EQ_STR(err.msg, "employeeIdentifier \"EMP-1\" already exists");

    /* users without an employee id do not collide with each other */
    make_user(&d, "beta", "beta@example.com");
    CHECK_EQ_INT(create(org_b.id, &d, &err), 0);
    struct roster_user g;
    make_user(&g, "gamma", "gamma@example.com");
    CHECK_EQ_INT(create(org_b.id, &g, &err), 0);

    /* uniqueness is per organisation */
    struct roster_user x;
    make_user(&x, "alpha", "alpha@example.com");
    x.f[RU_EMPLOYEE_ID] = "EMP-1";
    CHECK_EQ_INT(create(org_a.id, &x, &err), 0);

    /* an update into another user's username or employee id is a conflict too */
    struct roster_user upd = g;
    upd.f[RU_USERNAME] = "beta";
    CHECK_EQ_INT(roster_store_user_update(conn, org_b.id, &upd, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "username");
    upd = g;
    upd.f[RU_EMPLOYEE_ID] = "EMP-1";
    CHECK_EQ_INT(roster_store_user_update(conn, org_b.id, &upd, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "employeeIdentifier");
    struct roster_user got;
    CHECK_EQ_INT(roster_store_user_get(conn, org_b.id, g.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "gamma");
    CHECK_EQ_INT(got.version, 1);
}

/* The SCIM fields (migration 12): users without an e-mail address (any number of them),
 * externalId kept, found by eq through its index, not unique, per organisation, and gone
 * from the index when cleared or when its user is deleted. */
void test_scim_fields(void)
{
    struct roster_err err = {0};
    struct roster_org o, p;
    make_org(&o, "Org SCIM");
    make_org(&p, "Org SCIM other");
    struct roster_user a, b, c, x, got;
    make_user(&a, "scim.a", NULL);
    a.f[RU_EXTERNAL_ID] = "ext-1";
    a.f[RU_LOCALE] = "en-US";
    CHECK_EQ_INT(create(o.id, &a, &err), 0);
    make_user(&b, "scim.b", NULL); /* a second user without e-mail: no conflict */
    b.f[RU_EXTERNAL_ID] = "ext-1"; /* externalId is not unique */
    b.f[RU_USER_TYPE] = "Contractor";
    CHECK_EQ_INT(create(o.id, &b, &err), 0);
    make_user(&c, "scim.c", "scim.c@example.com");
    c.f[RU_EXTERNAL_ID] = "ext-2";
    CHECK_EQ_INT(create(o.id, &c, &err), 0);
    make_user(&x, "scim.a", NULL);
    x.f[RU_EXTERNAL_ID] = "ext-1";
    CHECK_EQ_INT(create(p.id, &x, &err), 0);

    CHECK_EQ_INT(roster_store_user_get(conn, o.id, a.id, &got, &A, &err), 0);
    CHECK(got.f[RU_EMAIL] == NULL);
    CHECK_EQ_STR(got.f[RU_EXTERNAL_ID], "ext-1");
    CHECK_EQ_STR(got.f[RU_LOCALE], "en-US");
    CHECK(got.f[RU_USER_TYPE] == NULL && got.f[RU_TIMEZONE] == NULL);

    struct roster_qval v = {"ext-1", 0};
    struct roster_query q;
    roster_query_init(&q);
    q.filters[q.nfilters++] = (struct roster_filter){RU_EXTERNAL_ID, ROSTER_OP_EQ, &v, 1};
    q.limit = 10;
    q.want_total = true;
    struct roster_user *rows = NULL;
    size_t n = 0;
    int64_t total = -1;
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(total, 2);
    if (n == 2) {
        CHECK_EQ_STR(rows[0].f[RU_USERNAME], "scim.a"); /* id order: a was created first */
        CHECK_EQ_STR(rows[1].f[RU_USERNAME], "scim.b");
        CHECK_EQ_STR(rows[1].f[RU_USER_TYPE], "Contractor");
    }
    /* the lookup uses the index (SQLite; PostgreSQL's planner reads a table this small
     * whole: list_plans checks its plan of "external_id eq" among 10,000 users) */
    const char *plan = NULL;
    CHECK_EQ_INT(roster_store_list_plan(conn, o.id, &q, NULL, false, &A, &plan, &err), 0);
    bool pg = plan && (strstr(plan, "Scan") || strstr(plan, "Result"));
    bool indexed = plan && (pg || strstr(plan, "USING COVERING INDEX user_sparse_external_id"));
    CHECK(indexed);
    if (plan && (!indexed || getenv("SHOW_PLAN")))
        fprintf(stderr, "    externalId eq plan:\n%s", plan);

    /* cleared: no longer found; a changed value is found under the new one */
    got.f[RU_EXTERNAL_ID] = NULL;
    CHECK_EQ_INT(roster_store_user_update(conn, o.id, &got, &err), 0);
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(total, 1);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, c.id, &got, &A, &err), 0);
    got.f[RU_EXTERNAL_ID] = "ext-1";
    got.f[RU_EMAIL] = NULL; /* an e-mail can be removed */
    CHECK_EQ_INT(roster_store_user_update(conn, o.id, &got, &err), 0);
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, c.id, &got, &A, &err), 0);
    CHECK(got.f[RU_EMAIL] == NULL);
    /* deleted: gone */
    CHECK_EQ_INT(roster_store_user_delete(conn, o.id, b.id, &err), 0);
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK_EQ_STR(rows[0].f[RU_USERNAME], "scim.c");
    /* the other organisation's user with the same externalId */
    CHECK_EQ_INT(user_list(conn, p.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK_EQ_STR(rows[0].id, x.id);
    /* the bulk create keeps the SCIM fields too */
    struct roster_user many[2];
    int rcs[2];
    struct roster_err errs[2];
    make_user(&many[0], "scim.m0", NULL);
    many[0].f[RU_EXTERNAL_ID] = "ext-1";
    many[0].f[RU_TIMEZONE] = "UTC";
    make_user(&many[1], "scim.m1", NULL);
    CHECK_EQ_INT(create_many(o.id, many, 2, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], 0);
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, many[0].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_TIMEZONE], "UTC");
    CHECK(got.f[RU_EMAIL] == NULL);
}

void test_isolation(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_user u, got;
    make_user(&u, "isolated", "isolated@example.com");
    CHECK_EQ_INT(create(org_a.id, &u, &err), 0);

    CHECK_EQ_INT(roster_store_user_get(conn, org_b.id, u.id, &got, &A, &err), ROSTER_ENOTFOUND);
    struct roster_user upd = u;
    upd.f[RU_FIRST_NAME] = "hijacked";
    CHECK_EQ_INT(roster_store_user_update(conn, org_b.id, &upd, &err), ROSTER_ENOTFOUND);
    upd.version = 99; /* a wrong version from another org is still "not found" */
    CHECK_EQ_INT(roster_store_user_update(conn, org_b.id, &upd, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_delete(conn, org_b.id, u.id, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
    CHECK(got.f[RU_FIRST_NAME] == NULL);
    CHECK_EQ_INT(got.version, 1);

    struct roster_query q;
    memset(&q, 0, sizeof(q));
    q.limit = 1000;
    q.want_total = true;
    struct roster_user *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    CHECK_EQ_INT(user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(total, (int64_t)n);
    int leaked = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].org_id, org_b.id) != 0 || strcmp(rows[i].id, u.id) == 0)
            leaked++;
    CHECK_EQ_INT(leaked, 0);
    struct roster_qval val = {.s = "isolated"};
    q.filters[0] = (struct roster_filter){RU_USERNAME, ROSTER_OP_EQ, &val, 1};
    q.nfilters = 1;
    CHECK_EQ_INT(user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_INT(user_list(conn, org_a.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 1);

    /* an organisation that does not exist has no users and takes none */
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_user_get(conn, nowhere, u.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_delete(conn, nowhere, u.id, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_update(conn, nowhere, &upd, &err), ROSTER_ENOTFOUND);
    q.nfilters = 0;
    total = -1;
    CHECK_EQ_INT(user_list(conn, nowhere, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 0);
    struct roster_user orphan;
    make_user(&orphan, "orphan", "orphan@example.com");
    CHECK_EQ_INT(roster_store_user_create(conn, nowhere, &orphan, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
}

/* A state-only update (set == ROSTER_USET_STATE) changes state, modified and version and
 * keeps every other field; a stale version is refused like any update. */
void test_state_only_update(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_user u, got;
    make_user(&u, "state-only", "state-only@example.com");
    u.f[RU_FIRST_NAME] = "Kept";
    u.state = ROSTER_STAGED;
    CHECK_EQ_INT(create(org_a.id, &u, &err), 0);
    struct roster_user upd = u;
    upd.state = ROSTER_SUSPENDED;
    upd.set = ROSTER_USET_STATE;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &upd, &err), 0);
    CHECK_EQ_INT(upd.version, 2);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.state, ROSTER_SUSPENDED);
    CHECK_EQ_INT(got.version, 2);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Kept");
    CHECK_EQ_STR(got.f[RU_USERNAME], "state-only");
    upd.version = 1; /* stale */
    upd.state = ROSTER_ACTIVATED;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &upd, &err), ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.state, ROSTER_SUSPENDED);
}

void test_transactions(void)
{
    struct roster_err err = {0};
    struct roster_user u1, dup, u2, got, u3, taken;
    need_orgs();
    make_user(&taken, "tx-taken", "tx-taken@example.com"); /* a username taken in org A */
    CHECK_EQ_INT(create(org_a.id, &taken, &err), 0);

    /* a failed insert inside a transaction leaves it usable: the others commit */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    make_user(&u1, "tx-one", "tx-one@example.com");
    CHECK_EQ_INT(create(org_a.id, &u1, &err), 0);
    make_user(&dup, "tx-one", "tx-dup@example.com");
    CHECK_EQ_INT(create(org_a.id, &dup, &err), ROSTER_ECONFLICT);
    struct roster_user ghost;
    make_user(&ghost, "tx-ghost", "tx-ghost@example.com");
    roster_id_new(ghost.id);
    ghost.version = 1;
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &ghost, &err), ROSTER_ENOTFOUND);
    struct roster_user upd = u1;
    upd.f[RU_USERNAME] = "tx-taken";
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &upd, &err), ROSTER_ECONFLICT);
    make_user(&u2, "tx-two", "tx-two@example.com");
    CHECK_EQ_INT(create(org_a.id, &u2, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u1.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "tx-one");
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u2.id, &got, &A, &err), 0);

    /* rollback discards */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    make_user(&u3, "tx-three", "tx-three@example.com");
    CHECK_EQ_INT(create(org_a.id, &u3, &err), 0);
    got = u1;
    got.f[RU_FIRST_NAME] = "rolled back";
    CHECK_EQ_INT(roster_store_user_update(conn, org_a.id, &got, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u3.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u1.id, &got, &A, &err), 0);
    CHECK(got.f[RU_FIRST_NAME] == NULL);
    CHECK_EQ_INT(got.version, 1);

    /* a second connection does not see uncommitted rows, then sees committed ones */
    struct roster_conn *other = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &other, &err), 0);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_user u4;
    make_user(&u4, "tx-four", "tx-four@example.com");
    CHECK_EQ_INT(create(org_a.id, &u4, &err), 0);
    if (other)
        CHECK_EQ_INT(roster_store_user_get(other, org_a.id, u4.id, &got, &A, &err),
                     ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    if (other)
        CHECK_EQ_INT(roster_store_user_get(other, org_a.id, u4.id, &got, &A, &err), 0);
    roster_conn_close(other);

    /* many inserts in one transaction */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    int fails = 0;
    char name[64], mail[64];
    for (int i = 0; i < 500; i++) {
        struct roster_user b;
        snprintf(name, sizeof(name), "batch-%d", i);
        snprintf(mail, sizeof(mail), "batch-%d@example.com", i);
        make_user(&b, name, mail);
        if (create(org_b.id, &b, &err) != 0)
            fails++;
    }
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(fails, 0);
    struct roster_query q;
    memset(&q, 0, sizeof(q));
    q.limit = 0;
    q.want_total = true;
    struct roster_qval val = {.s = "batch-"};
    q.filters[0] = (struct roster_filter){RU_USERNAME, ROSTER_OP_PREFIX, &val, 1};
    q.nfilters = 1;
    struct roster_user *rows = NULL;
    size_t n = 0;
    int64_t total = -1;
    CHECK_EQ_INT(user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 500);
}

/* The users an org starts with in the many tests: "Pre" (with an explicit id and employee
 * id) and "pre2". */
static const char *const MANY_PRE_ID = "0000000000000000000000a1";

static void many_seed(const char *org_id)
{
    struct roster_err err = {0};
    struct roster_user u;
    make_user(&u, "Pre", "pre@example.com");
    u.f[RU_EMPLOYEE_ID] = "E-PRE";
    snprintf(u.id, sizeof(u.id), "%s", MANY_PRE_ID);
    CHECK_EQ_INT(create(org_id, &u, &err), 0);
    make_user(&u, "pre2", "pre2@example.com");
    CHECK_EQ_INT(create(org_id, &u, &err), 0);
}

enum { MANY_N = 17 };

/* Fills the mixed batch: every kind of collision, with existing rows and inside the call. */
static void many_batch(struct roster_user *u)
{
    make_user(&u[0], "m0", "m0@example.com");
    u[0].f[RU_EMPLOYEE_ID] = "E0";
    make_user(&u[1], "PRE", "new1@example.com"); /* username of an existing row, other case */
    make_user(&u[2], "n2", "Pre@Example.com");   /* e-mail of an existing row */
    make_user(&u[3], "n3", "n3@example.com");    /* employee id of an existing row */
    u[3].f[RU_EMPLOYEE_ID] = "E-PRE";
    make_user(&u[4], "M0", "n4@example.com"); /* username of item 0, other case */
    make_user(&u[5], "n5", "M0@EXAMPLE.com"); /* e-mail of item 0 */
    make_user(&u[6], "n6", "n6@example.com"); /* employee id of item 0 */
    u[6].f[RU_EMPLOYEE_ID] = "E0";
    make_user(&u[7], "n7", "n7@example.com"); /* no employee id: never collides */
    make_user(&u[8], "n8", "n8@example.com");
    make_user(&u[9], "pre", "m0@example.com");      /* an existing username and item 0's email */
    make_user(&u[10], "later", "PRE2@example.com"); /* e-mail taken; its username is free... */
    make_user(&u[11], "later", "l11@example.com");  /* ...so this later item gets it */
    make_user(&u[12], "n12", "new1@example.com");   /* e-mail of item 1, which failed */
    make_user(&u[13], "n13", "n13@example.com");    /* the id of an existing row */
    snprintf(u[13].id, sizeof(u[13].id), "%s", MANY_PRE_ID);
    make_user(&u[14], "n14", "n14@example.com"); /* text that needs quoting in SQL forms */
    u[14].f[RU_DISPLAY_NAME] = "tab\there \"quoted\" back\\slash\nnew line\r, {braces} NULL";
    u[14].f[RU_CUSTOM_DATA] = "\\N";
    u[14].f[RU_EXTRA] = "{\"k\":\"a\\\"b\\\\c\"}";
    u[14].state = ROSTER_STAGED;
    make_user(&u[15], "n15", "n15@example.com"); /* the employee id of item 16, which follows */
    u[15].f[RU_EMPLOYEE_ID] = "E16";
    make_user(&u[16], "n16", "n16@example.com");
    u[16].f[RU_EMPLOYEE_ID] = "E16";
}

void test_user_create_many(void)
{
    struct roster_err err = {0};
    struct roster_org m1, m2;
    make_org(&m1, "Many 1");
    make_org(&m2, "Many 2");
    many_seed(m1.id);
    many_seed(m2.id);

    struct roster_user u[MANY_N], seq[MANY_N];
    int rcs[MANY_N];
    struct roster_err errs[MANY_N];
    many_batch(u);
    many_batch(seq);
    CHECK_EQ_INT(create_many(m1.id, u, MANY_N, rcs, errs), 0);

    /* what the method must match: one user_create per item, in another organisation
     * that holds the same rows */
    for (int i = 0; i < MANY_N; i++) {
        struct roster_err e = {0};
        int rc = create(m2.id, &seq[i], &e);
        CHECK_EQ_INT(rcs[i], rc);
        if (rc && rcs[i] == rc) {
            CHECK_EQ_STR(errs[i].field, e.field);
            CHECK_EQ_STR(errs[i].msg, e.msg);
        }
    }

    static const int ok[] = {0, 7, 8, 11, 12, 14, 15};
    /* two keys taken: which one is named is the backend's (the same as user_create's,
     * checked above) */
    CHECK_EQ_INT(rcs[9], ROSTER_ECONFLICT);
    CHECK(errs[9].field && (!strcmp(errs[9].field, "username") || !strcmp(errs[9].field, "email")));
    static const struct {
        int i;
        const char *field, *msg;
    } bad[] = {
        {1, "username", "username \"PRE\" already exists"},
        {2, "email", "email \"Pre@Example.com\" already exists"},
        {3, "employeeIdentifier", "employeeIdentifier \"E-PRE\" already exists"},
        {4, "username", "username \"M0\" already exists"},
        {5, "email", "email \"M0@EXAMPLE.com\" already exists"},
        {6, "employeeIdentifier", "employeeIdentifier \"E0\" already exists"},
        {10, "email", "email \"PRE2@example.com\" already exists"},
        {13, "id", "user id \"0000000000000000000000a1\" already exists"},
        {16, "employeeIdentifier", "employeeIdentifier \"E16\" already exists"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        int i = bad[k].i;
        CHECK_EQ_INT(rcs[i], ROSTER_ECONFLICT);
        CHECK_EQ_STR(errs[i].field, bad[k].field);
        CHECK_EQ_STR(errs[i].msg, bad[k].msg);
        CHECK(u[i].num_id == 0);
        if (i != 13)
            CHECK_EQ_STR(u[i].id, ""); /* a generated id is taken back, as by user_create */
    }
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
        int i = ok[k];
        CHECK_EQ_INT(rcs[i], 0);
        CHECK(roster_id_valid(u[i].id));
        CHECK(u[i].num_id > 0);
        CHECK_EQ_INT(u[i].version, 1);
        CHECK(u[i].created_ms > 0);
        CHECK_EQ_INT(u[i].modified_ms, u[i].created_ms);
        CHECK_EQ_STR(u[i].org_id, m1.id);
        for (size_t l = 0; l < k; l++) {
            CHECK(strcmp(u[i].id, u[ok[l]].id) != 0);
            CHECK(u[i].num_id != u[ok[l]].num_id);
        }
        struct roster_user got;
        CHECK_EQ_INT(roster_store_user_get(conn, m1.id, u[i].id, &got, &A, &err), 0);
        CHECK_EQ_INT(got.num_id, u[i].num_id);
        CHECK_EQ_INT(got.created_ms, u[i].created_ms);
        CHECK_EQ_INT(got.version, 1);
        CHECK_EQ_INT(got.state, u[i].state);
        for (int f = 0; f < RU_NFIELDS; f++)
            CHECK_EQ_STR(got.f[f], u[i].f[f]);
    }
    /* the two seeded rows and the items that succeeded, nothing else */
    struct roster_query q = {.limit = 0, .want_total = true};
    struct roster_user *rows;
    size_t n;
    int64_t total = -1;
    CHECK_EQ_INT(user_list(conn, m1.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(total, 2 + (int64_t)(sizeof(ok) / sizeof(ok[0])));

    /* tenant scoping: the same names in a third organisation are all new */
    struct roster_org m3;
    make_org(&m3, "Many 3");
    struct roster_user v[3];
    make_user(&v[0], "m0", "m0@example.com");
    v[0].f[RU_EMPLOYEE_ID] = "E0";
    make_user(&v[1], "Pre", "pre@example.com");
    v[1].f[RU_EMPLOYEE_ID] = "E-PRE";
    make_user(&v[2], "n13", "n13@example.com");
    snprintf(v[2].id, sizeof(v[2].id), "%s", MANY_PRE_ID);
    CHECK_EQ_INT(create_many(m3.id, v, 3, rcs, errs), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(rcs[i], 0);
    CHECK_EQ_STR(v[2].id, MANY_PRE_ID);
    /* ...and were not written into the other organisations */
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, v[0].id, &seq[0], &A, &err), ROSTER_ENOTFOUND);

    /* an organisation that does not exist: every item is not found, like user_create */
    struct roster_user w[2];
    make_user(&w[0], "w0", "w0@example.com");
    make_user(&w[1], "w1", "w1@example.com");
    CHECK_EQ_INT(create_many("ffffffffffffffffffffffff", w, 2, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], ROSTER_ENOTFOUND);
    CHECK_EQ_INT(rcs[1], ROSTER_ENOTFOUND);
    CHECK_EQ_STR(errs[0].msg, "organization \"ffffffffffffffffffffffff\" not found");

    /* nothing to do */
    CHECK_EQ_INT(create_many(m1.id, w, 0, rcs, errs), 0);
}

/* Two items with the same given id: the second is an id conflict. */
void test_user_create_many_ids(void)
{
    struct roster_org o;
    make_org(&o, "Many ids");
    struct roster_user u[3];
    int rcs[3];
    struct roster_err errs[3];
    make_user(&u[0], "i0", "i0@example.com");
    make_user(&u[1], "i1", "i1@example.com");
    make_user(&u[2], "i2", "i2@example.com");
    snprintf(u[0].id, sizeof(u[0].id), "%s", "0000000000000000000000b1");
    snprintf(u[1].id, sizeof(u[1].id), "%s", "0000000000000000000000b1");
    CHECK_EQ_INT(create_many(o.id, u, 3, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], ROSTER_ECONFLICT);
    CHECK_EQ_STR(errs[1].field, "id");
    CHECK_EQ_INT(rcs[2], 0);
    CHECK(roster_id_valid(u[2].id));
}

/* Inside the caller's transaction: items that collide leave it usable, and a rollback
 * takes back every item. */
void test_user_create_many_txn(void)
{
    struct roster_err err = {0};
    struct roster_org o;
    make_org(&o, "Many txn");
    struct roster_user u[3], x;
    int rcs[3];
    struct roster_err errs[3];
    make_user(&u[0], "t0", "t0@example.com");
    make_user(&u[1], "T0", "t1@example.com");
    make_user(&u[2], "t2", "t2@example.com");
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(create_many(o.id, u, 3, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], ROSTER_ECONFLICT);
    CHECK_EQ_INT(rcs[2], 0);
    make_user(&x, "t3", "t3@example.com");
    CHECK_EQ_INT(create(o.id, &x, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    struct roster_user got;
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[0].id, &got, &A, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[2].id, &got, &A, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, x.id, &got, &A, &err), 0);

    struct roster_user r[2];
    make_user(&r[0], "r0", "r0@example.com");
    make_user(&r[1], "r1", "r1@example.com");
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(create_many(o.id, r, 2, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, r[0].id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, r[1].id, &got, &A, &err), ROSTER_ENOTFOUND);
    /* the same names are free again */
    make_user(&r[0], "r0", "r0@example.com");
    CHECK_EQ_INT(create_many(o.id, r, 1, rcs, errs), 0);
    CHECK_EQ_INT(rcs[0], 0);
}

/* A big batch with duplicates spread through it, then clean batches (a backend may switch
 * between a fast path and a conflict-handling one; both must give exact results). */
enum { MANY_BIG = 2500 };
void test_user_create_many_big(void)
{
    struct roster_err err = {0};
    struct roster_org o;
    make_org(&o, "Many big");
    /* in the tests' arena, like the other big arrays here (it aborts if memory runs out) */
    struct roster_user *u = roster_arena_zalloc(&A, MANY_BIG * sizeof(*u));
    int *rcs = roster_arena_zalloc(&A, MANY_BIG * sizeof(*rcs));
    struct roster_err *errs = roster_arena_zalloc(&A, MANY_BIG * sizeof(*errs));
    char(*names)[32] = roster_arena_zalloc(&A, MANY_BIG * sizeof(*names));
    char(*mails)[48] = roster_arena_zalloc(&A, MANY_BIG * sizeof(*mails));
    for (int round = 0; round < 3; round++) {
        int expect_ok = 0;
        for (int i = 0; i < MANY_BIG; i++) {
            /* round 0: every 97th item repeats the username of the item 50 before it */
            int k = round == 0 && i % 97 == 96 ? i - 50 : i;
            snprintf(names[i], sizeof(names[i]), "big%d.%d", round, k);
            snprintf(mails[i], sizeof(mails[i]), "big%d.%d@example.com", round, i);
            make_user(&u[i], names[i], mails[i]);
            expect_ok += k == i;
        }
        CHECK_EQ_INT(create_many(o.id, u, MANY_BIG, rcs, errs), 0);
        int nok = 0, bad = 0;
        for (int i = 0; i < MANY_BIG; i++) {
            bool dup = round == 0 && i % 97 == 96;
            nok += rcs[i] == 0;
            if (dup && (rcs[i] != ROSTER_ECONFLICT || strcmp(errs[i].field, "username") != 0))
                bad++;
            if (!dup && (rcs[i] != 0 || u[i].num_id <= 0))
                bad++;
        }
        CHECK_EQ_INT(nok, expect_ok);
        CHECK_EQ_INT(bad, 0);
        struct roster_user got;
        CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[MANY_BIG - 2].id, &got, &A, &err), 0);
        CHECK_EQ_STR(got.f[RU_USERNAME], names[MANY_BIG - 2]);
        CHECK_EQ_INT(got.num_id, u[MANY_BIG - 2].num_id);
    }
    struct roster_query q = {.limit = 0, .want_total = true};
    struct roster_user *rows;
    size_t n;
    int64_t total = -1;
    CHECK_EQ_INT(user_list(conn, o.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(total, 3 * MANY_BIG - MANY_BIG / 97);
}

/* A row that another connection commits while the call waits for it is a conflict. */
static struct roster_org org_race;
static atomic_int race_rc = -1;
static int race_rcs[2];
static struct roster_err race_errs[2];

static void *race_worker(void *arg)
{
    (void)arg;
    struct roster_conn *c2 = NULL;
    struct roster_err err = {0};
    if (roster_conn_open(st, &c2, &err) != 0) {
        atomic_store(&race_rc, 100);
        return NULL;
    }
    struct roster_user u[2];
    make_user(&u[0], "race", "race2@example.com");
    make_user(&u[1], "race-ok", "race-ok@example.com");
    atomic_store(&race_rc,
                 roster_store_user_create_many(c2, org_race.id, u, 2, race_rcs, race_errs, &err));
    roster_conn_close(c2);
    return NULL;
}

void test_user_create_many_race(void)
{
    struct roster_err err = {0};
    make_org(&org_race, "Many race");
    struct roster_user first;
    make_user(&first, "race", "race@example.com");
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(create(org_race.id, &first, &err), 0);
    pthread_t th;
    bool started = pthread_create(&th, NULL, race_worker, NULL) == 0;
    CHECK(started);
    sleep_ms(300); /* the worker now waits for our row (or for the write lock) */
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    if (!started)
        return;
    pthread_join(th, NULL);
    CHECK_EQ_INT(atomic_load(&race_rc), 0);
    CHECK_EQ_INT(race_rcs[0], ROSTER_ECONFLICT);
    CHECK_EQ_STR(race_errs[0].field, "username");
    CHECK_EQ_INT(race_rcs[1], 0);
}

/* --- bulk user updates (user_get_many, user_update_many) --- */

void test_user_get_many(void)
{
    struct roster_err err = {0};
    struct roster_org o, other;
    make_org(&o, "Get many");
    make_org(&other, "Get many other");
    struct roster_user a, b, x;
    make_user(&a, "ga", "ga@example.com");
    make_user(&b, "gb", "gb@example.com");
    b.f[RU_DEPARTMENT] = "Sales";
    make_user(&x, "gx", "gx@example.com");
    CHECK_EQ_INT(create(o.id, &a, &err), 0);
    CHECK_EQ_INT(create(o.id, &b, &err), 0);
    CHECK_EQ_INT(create(other.id, &x, &err), 0);
    const char *ids[] = {b.id, "ffffffffffffffffffffffff", a.id, x.id, b.id};
    struct roster_user out[5];
    int rcs[5];
    memset(out, 0, sizeof(out));
    CHECK_EQ_INT(roster_store_user_get_many(conn, o.id, ids, 5, out, rcs, &A, &err), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_STR(out[0].id, b.id);
    CHECK_EQ_STR(out[0].f[RU_DEPARTMENT], "Sales");
    CHECK_EQ_INT(out[0].num_id, b.num_id);
    CHECK_EQ_INT(out[0].version, 1);
    CHECK_EQ_INT(rcs[1], ROSTER_ENOTFOUND);
    CHECK_EQ_INT(rcs[2], 0);
    CHECK_EQ_STR(out[2].f[RU_USERNAME], "ga");
    CHECK_EQ_INT(rcs[3], ROSTER_ENOTFOUND); /* another organisation's user */
    CHECK_EQ_INT(rcs[4], 0);
    CHECK_EQ_STR(out[4].id, b.id);
    CHECK_EQ_INT(roster_store_user_get_many(conn, o.id, ids, 0, out, rcs, &A, &err), 0);
}

enum { UPD_USERS = 6, UPD_N = 11 };

/* Seeds org with users u0..u5 (u0 has employee id "UE0"); their ids go to ids[]. */
static void upd_seed(const char *org_id, char ids[UPD_USERS][ROSTER_ID_LEN + 1])
{
    struct roster_err err = {0};
    static const char *const names[UPD_USERS] = {"u0", "u1", "u2", "u3", "u4", "u5"};
    static const char *const mails[UPD_USERS] = {"u0@example.com", "u1@example.com",
                                                 "u2@example.com", "u3@example.com",
                                                 "u4@example.com", "u5@example.com"};
    for (int i = 0; i < UPD_USERS; i++) {
        struct roster_user u;
        make_user(&u, names[i], mails[i]);
        if (i == 0)
            u.f[RU_EMPLOYEE_ID] = "UE0";
        CHECK_EQ_INT(create(org_id, &u, &err), 0);
        memcpy(ids[i], u.id, ROSTER_ID_LEN + 1);
    }
}

/* The updates of the mixed batch, as full users read from org (version as read). */
static void upd_batch(const char *org_id, char ids[UPD_USERS][ROSTER_ID_LEN + 1],
                      struct roster_user *w)
{
    struct roster_err err = {0};
    struct roster_user cur[UPD_USERS];
    for (int i = 0; i < UPD_USERS; i++)
        CHECK_EQ_INT(roster_store_user_get(conn, org_id, ids[i], &cur[i], &A, &err), 0);
    /* 0: a plain change */
    w[0] = cur[0];
    w[0].f[RU_FIRST_NAME] = "Zero";
    /* 1: u1 takes u2's username (other case) before u2 gives it up (item 2): a conflict */
    w[1] = cur[1];
    w[1].f[RU_USERNAME] = "U2";
    /* 2: u2 renames itself */
    w[2] = cur[2];
    w[2].f[RU_USERNAME] = "u2-new";
    /* 3: u3 takes the name u2 had: free now */
    w[3] = cur[3];
    w[3].f[RU_USERNAME] = "u2";
    /* 4: u4 takes u0's employee id: a conflict */
    w[4] = cur[4];
    w[4].f[RU_EMPLOYEE_ID] = "UE0";
    /* 5: a version that is no longer current */
    w[5] = cur[5];
    w[5].version = 7;
    /* 6: a user that does not exist */
    make_user(&w[6], "ghost", "ghost@example.com");
    snprintf(w[6].id, sizeof(w[6].id), "%s", "eeeeeeeeeeeeeeeeeeeeeeee");
    w[6].version = 1;
    /* 7: u5 gets u1's e-mail (other case): u1 still holds it (item 1 failed) */
    w[7] = cur[5];
    w[7].f[RU_EMAIL] = "U1@example.com";
    /* 8: a change of state alone */
    w[8] = cur[1];
    w[8].state = ROSTER_SUSPENDED;
    w[8].set = ROSTER_USET_STATE;
    /* 9: u0 gives its employee id up, 10: u4 takes it (both succeed, in this order) */
    w[9] = w[0];
    w[9].version = cur[0].version + 1; /* after item 0 */
    w[9].f[RU_EMPLOYEE_ID] = NULL;
    w[10] = cur[4];
    w[10].f[RU_EMPLOYEE_ID] = "UE0";
}

void test_user_update_many(void)
{
    struct roster_err err = {0};
    struct roster_org m1, m2;
    make_org(&m1, "Update many 1");
    make_org(&m2, "Update many 2");
    char ids1[UPD_USERS][ROSTER_ID_LEN + 1], ids2[UPD_USERS][ROSTER_ID_LEN + 1];
    upd_seed(m1.id, ids1);
    upd_seed(m2.id, ids2);
    struct roster_user w[UPD_N], seq[UPD_N];
    upd_batch(m1.id, ids1, w);
    upd_batch(m2.id, ids2, seq);
    int rcs[UPD_N];
    struct roster_err errs[UPD_N];
    for (int i = 0; i < UPD_N; i++)
        rcs[i] = -1;
    CHECK_EQ_INT(roster_store_user_update_many(conn, m1.id, w, UPD_N, rcs, errs, &err), 0);

    /* what it must match: one user_update per item on the same rows in another org
     * (whose user ids differ: a message naming the id is compared with it swapped) */
    for (int i = 0; i < UPD_N; i++) {
        struct roster_err e = {0};
        int rc = roster_store_user_update(conn, m2.id, &seq[i], &e);
        CHECK_EQ_INT(rcs[i], rc);
        if (rc && rcs[i] == rc) {
            CHECK_EQ_STR(errs[i].field, e.field);
            struct roster_buf want_msg;
            roster_buf_init(&want_msg);
            const char *at = strstr(e.msg, seq[i].id);
            if (at) {
                roster_buf_add(&want_msg, e.msg, (size_t)(at - e.msg));
                roster_buf_addstr(&want_msg, w[i].id);
                roster_buf_addstr(&want_msg, at + strlen(seq[i].id));
            } else {
                roster_buf_addstr(&want_msg, e.msg);
            }
            CHECK_EQ_STR(errs[i].msg, want_msg.data);
            roster_buf_release(&want_msg);
        }
    }
    static const int want[UPD_N] = {0,
                                    ROSTER_ECONFLICT,
                                    0,
                                    0,
                                    ROSTER_ECONFLICT,
                                    ROSTER_ESTALE,
                                    ROSTER_ENOTFOUND,
                                    ROSTER_ECONFLICT,
                                    0,
                                    0,
                                    0};
    for (int i = 0; i < UPD_N; i++)
        CHECK_EQ_INT(rcs[i], want[i]);
    CHECK_EQ_STR(errs[1].field, "username");
    CHECK_EQ_STR(errs[1].msg, "username \"U2\" already exists");
    CHECK_EQ_STR(errs[4].field, "employeeIdentifier");
    CHECK_EQ_STR(errs[7].field, "email");
    CHECK_EQ_STR(errs[7].msg, "email \"U1@example.com\" already exists");
    CHECK_EQ_INT(w[0].version, 2);
    CHECK_EQ_INT(w[9].version, 3);
    CHECK(w[0].modified_ms >= w[0].created_ms);

    struct roster_user got;
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[0], &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Zero");
    CHECK(got.f[RU_EMPLOYEE_ID] == NULL);
    CHECK_EQ_INT(got.version, 3);
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[1], &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "u1");
    CHECK_EQ_INT(got.state, ROSTER_SUSPENDED);
    CHECK_EQ_INT(got.version, 2);
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[3], &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "u2");
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[4], &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_EMPLOYEE_ID], "UE0");
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[5], &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_EMAIL], "u5@example.com");
    CHECK_EQ_INT(got.version, 1);

    /* tenant scoping: another org's user is not found, and stays as it was */
    struct roster_user cross = got;
    snprintf(cross.id, sizeof(cross.id), "%s", ids2[2]);
    cross.version = 2;
    cross.f[RU_FIRST_NAME] = "Cross";
    CHECK_EQ_INT(roster_store_user_update_many(conn, m1.id, &cross, 1, rcs, errs, &err), 0);
    CHECK_EQ_INT(rcs[0], ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, m2.id, ids2[2], &got, &A, &err), 0);
    CHECK(got.f[RU_FIRST_NAME] == NULL);

    /* in a caller's transaction: usable after a conflict; a rollback takes all back */
    struct roster_user t[2];
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[2], &t[0], &A, &err), 0);
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[3], &t[1], &A, &err), 0);
    t[0].f[RU_LAST_NAME] = "Rolled";
    t[1].f[RU_USERNAME] = "u0";
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_user_update_many(conn, m1.id, t, 2, rcs, errs, &err), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], ROSTER_ECONFLICT);
    struct roster_user more;
    make_user(&more, "after-conflict", "after-conflict@example.com");
    CHECK_EQ_INT(create(m1.id, &more, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, ids1[2], &got, &A, &err), 0);
    CHECK(got.f[RU_LAST_NAME] == NULL);
    CHECK_EQ_INT(roster_store_user_get(conn, m1.id, more.id, &got, &A, &err), ROSTER_ENOTFOUND);
}

/* Many updates with a conflict every so often (a backend may send them in groups and
 * resume after a failure), checked one by one. */
enum { UPD_BIG = 700 };
void test_user_update_many_big(void)
{
    struct roster_err err = {0};
    struct roster_org o;
    make_org(&o, "Update many big");
    /* in the tests' arena, like the other big arrays here (it aborts if memory runs out) */
    struct roster_user *u = roster_arena_zalloc(&A, UPD_BIG * sizeof(*u));
    int *rcs = roster_arena_zalloc(&A, UPD_BIG * sizeof(*rcs));
    struct roster_err *errs = roster_arena_zalloc(&A, UPD_BIG * sizeof(*errs));
    char(*names)[32] = roster_arena_zalloc(&A, UPD_BIG * sizeof(*names));
    char(*mails)[48] = roster_arena_zalloc(&A, UPD_BIG * sizeof(*mails));
    for (int i = 0; i < UPD_BIG; i++) {
        snprintf(names[i], sizeof(names[i]), "ub.%d", i);
        snprintf(mails[i], sizeof(mails[i]), "ub.%d@example.com", i);
        make_user(&u[i], names[i], mails[i]);
    }
    CHECK_EQ_INT(roster_store_user_create_many(conn, o.id, u, UPD_BIG, rcs, errs, &err), 0);
    int expect_ok = 0;
    for (int i = 0; i < UPD_BIG; i++) {
        /* every 37th takes the username of user 0 (which keeps it): a conflict; the
         * others rename */
        if (i % 37 == 36) {
            u[i].f[RU_USERNAME] = "ub.0";
        } else if (i == 0) {
            u[i].f[RU_FIRST_NAME] = "Keeps";
            expect_ok++;
        } else {
            snprintf(names[i], sizeof(names[i]), "ub2.%d", i);
            u[i].f[RU_USERNAME] = names[i];
            expect_ok++;
        }
        rcs[i] = -1;
    }
    CHECK_EQ_INT(roster_store_user_update_many(conn, o.id, u, UPD_BIG, rcs, errs, &err), 0);
    int nok = 0, bad = 0;
    for (int i = 0; i < UPD_BIG; i++) {
        bool conflict = i % 37 == 36;
        nok += rcs[i] == 0;
        if (conflict && (rcs[i] != ROSTER_ECONFLICT || strcmp(errs[i].field, "username") != 0))
            bad++;
        if (!conflict && (rcs[i] != 0 || u[i].version != 2))
            bad++;
    }
    CHECK_EQ_INT(nok, expect_ok);
    CHECK_EQ_INT(bad, 0);
    struct roster_user got;
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[UPD_BIG - 1].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], names[UPD_BIG - 1]);
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[0].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_FIRST_NAME], "Keeps");
    CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[36].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "ub.36");
    CHECK_EQ_INT(got.version, 1);
}
