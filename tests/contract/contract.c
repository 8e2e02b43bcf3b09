/* The store contract suite: every method of include/roster/store.h against a fresh store,
 * through the public interface only, so that each backend (SQLite now, PostgreSQL later)
 * runs the same checks. Usage: contract <store-url>  (a new SQLite file path, or an empty
 * PostgreSQL database). Prints "N passed, N failed" last.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roster/core.h"
#include "roster/list.h"
#include "roster/store.h"
#include "roster/util.h"
#include "test.h"

static const char *url;
static struct roster_store *st;
static struct roster_conn *conn;
static struct roster_arena A;

/* objects that the reopen test looks for after close/open */
static struct roster_org org_a, org_b;
static char kept_user[ROSTER_ID_LEN + 1];
static char kept_job[ROSTER_ID_LEN + 1];
static char kept_key_hash[65];

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void make_org(struct roster_org *o, const char *name)
{
    struct roster_err err = {0};
    memset(o, 0, sizeof(*o));
    o->name = name;
    o->default_state_bulk = ROSTER_ACTIVATED;
    o->default_state_app_import = ROSTER_ACTIVATED;
    o->default_state_manual = ROSTER_ACTIVATED;
    int rc = roster_store_org_create(conn, o, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    org_create: %s (%s)\n", err.msg, err.detail);
}

static void make_user(struct roster_user *u, const char *username, const char *email)
{
    memset(u, 0, sizeof(*u));
    u->f[RU_USERNAME] = username;
    u->f[RU_EMAIL] = email;
    u->state = ROSTER_ACTIVATED;
}

/* An explicit user id: the org id's first 12 hex chars + n, so that ids sort like n. */
static void user_id_for(char out[ROSTER_ID_LEN + 1], const char *org_id, int n)
{
    snprintf(out, ROSTER_ID_LEN + 1, "%.12s%012d", org_id, n);
}

/* A list read straight from the store (count and page), as the list tests expect it. */
static int user_list(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                     struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
                     struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    bool began = false;
    int code = roster_store_snapshot_begin(c, &began, err);
    if (!code && total && q->want_total)
        code = roster_store_user_count(c, org_id, q, total, NULL, err);
    if (!code && q->limit != 0)
        code = roster_store_user_page(c, org_id, q, NULL, q->skip, q->limit, a, out, n, NULL, err);
    roster_store_snapshot_end(c, began);
    return code;
}

/* user_list with membership conditions conds[0..ncond) */
static int user_list_grouped(struct roster_conn *c, const char *org_id,
                             const struct roster_query *q, const struct roster_group_cond *conds,
                             size_t ncond, struct roster_arena *a, struct roster_user **out,
                             size_t *n, int64_t *total, struct roster_err *err)
{
    struct roster_query g = *q;
    for (size_t i = 0; i < ncond && g.nconds < ROSTER_QUERY_MAX_CONDS; i++)
        g.conds[g.nconds++] = conds[i];
    return user_list(c, org_id, &g, a, out, n, total, err);
}

/* The lists kept by core (src/core/lists.c) for this store, as a server keeps them. */
static struct roster_app capp;

/* A rendered list through core's list operation, on connection c (the kept list state of
 * the store: what a server answers). */
static int list_render(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                       const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                       struct roster_arena *a, size_t *n, int64_t *total, struct roster_err *err)
{
    if (!capp.lists)
        capp.lists = roster_lists_new(ROSTER_LISTS_MAX_BYTES);
    capp.store = st;
    struct roster_ctx ctx = {&capp, c, a, org_id, NULL};
    struct roster_list_result res;
    int code = roster_users_list(&ctx, q, rd, sep, out, &res, err);
    *n = res.n;
    if (total)
        *total = res.total;
    return code;
}

static int create(const char *org_id, struct roster_user *u, struct roster_err *err)
{
    roster_err_clear(err);
    int rc = roster_store_user_create(conn, org_id, u, err);
    if (rc && rc != ROSTER_ECONFLICT)
        fprintf(stderr, "    user_create %s: %s (%s)\n", u->f[RU_USERNAME] ? u->f[RU_USERNAME] : "",
                err->msg, err->detail);
    return rc;
}

/* --- organisations --- */

static void test_orgs(void)
{
    struct roster_err err = {0};
    struct roster_org got;

    make_org(&org_a, "Org A");
    CHECK(roster_id_valid(org_a.id));
    CHECK(org_a.num_id > 0);
    CHECK(org_a.created_ms > 0);
    make_org(&org_b, "Org B");
    CHECK(strcmp(org_a.id, org_b.id) != 0);
    CHECK(org_a.num_id != org_b.num_id);

    CHECK_EQ_INT(roster_store_org_get(conn, org_a.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, org_a.id);
    CHECK_EQ_INT(got.num_id, org_a.num_id);
    CHECK_EQ_STR(got.name, "Org A");
    CHECK(got.address == NULL);
    CHECK_EQ_INT(got.default_state_bulk, ROSTER_ACTIVATED);
    CHECK_EQ_INT(got.default_state_manual, ROSTER_ACTIVATED);
    CHECK_EQ_INT(got.created_ms, org_a.created_ms);

    /* a caller-chosen id is kept; the same id twice is a conflict */
    struct roster_org c = {0};
    roster_id_new(c.id);
    char chosen[ROSTER_ID_LEN + 1];
    memcpy(chosen, c.id, sizeof(chosen));
    c.name = "Org C";
    CHECK_EQ_INT(roster_store_org_create(conn, &c, &err), 0);
    CHECK_EQ_STR(c.id, chosen);
    struct roster_org dup = {0};
    memcpy(dup.id, chosen, sizeof(dup.id));
    dup.name = "dup";
    CHECK_EQ_INT(roster_store_org_create(conn, &dup, &err), ROSTER_ECONFLICT);

    /* update replaces name, company block and default states */
    c.name = "Org C renamed";
    c.address = "1 Main St";
    c.city = "Springfield";
    c.region = "IL";
    c.zip = "62701";
    c.country = "US";
    c.default_state_bulk = ROSTER_STAGED;
    c.default_state_app_import = ROSTER_SUSPENDED;
    c.default_state_manual = ROSTER_STAGED;
    CHECK_EQ_INT(roster_store_org_update(conn, &c, &err), 0);
    CHECK_EQ_INT(roster_store_org_get(conn, c.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.name, "Org C renamed");
    CHECK_EQ_STR(got.address, "1 Main St");
    CHECK_EQ_STR(got.city, "Springfield");
    CHECK_EQ_STR(got.region, "IL");
    CHECK_EQ_STR(got.zip, "62701");
    CHECK_EQ_STR(got.country, "US");
    CHECK_EQ_INT(got.default_state_bulk, ROSTER_STAGED);
    CHECK_EQ_INT(got.default_state_app_import, ROSTER_SUSPENDED);
    CHECK_EQ_INT(got.default_state_manual, ROSTER_STAGED);
    CHECK_EQ_INT(got.num_id, c.num_id);

    struct roster_org missing = {0};
    roster_id_new(missing.id);
    missing.name = "nobody";
    CHECK_EQ_INT(roster_store_org_update(conn, &missing, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_org_get(conn, missing.id, &got, &A, &err), ROSTER_ENOTFOUND);

    struct roster_org *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_org_list(conn, &A, &list, &n, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, org_a.id) == 0 && strcmp(list[i].name, "Org A") == 0)
            seen |= 1;
        if (strcmp(list[i].id, org_b.id) == 0 && list[i].num_id == org_b.num_id)
            seen |= 2;
        if (strcmp(list[i].id, c.id) == 0 && strcmp(list[i].name, "Org C renamed") == 0)
            seen |= 4;
    }
    CHECK_EQ_INT(seen, 7);
}

/* --- API keys --- */

static void test_keys(void)
{
    struct roster_err err = {0};
    struct roster_key k = {0}, got;
    char secret[33];
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), k.hash);
    memcpy(k.org_id, org_a.id, sizeof(k.org_id));
    k.name = "ci key";
    k.all_orgs = true;
    CHECK_EQ_INT(roster_store_key_create(conn, &k, &err), 0);
    CHECK(roster_id_valid(k.id));
    CHECK(k.created_ms > 0);
    memcpy(kept_key_hash, k.hash, sizeof(kept_key_hash));

    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, k.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_STR(got.name, "ci key");
    CHECK_EQ_STR(got.hash, k.hash);
    CHECK(got.all_orgs);
    CHECK_EQ_INT(got.revoked_ms, 0);
    CHECK_EQ_INT(got.created_ms, k.created_ms);

    char other[65];
    roster_sha256_hex("not a key", 9, other);
    CHECK_EQ_INT(roster_store_key_find(conn, other, &got, &A, &err), ROSTER_ENOTFOUND);

    /* the same secret twice is refused */
    struct roster_key dup = {0};
    memcpy(dup.hash, k.hash, sizeof(dup.hash));
    memcpy(dup.org_id, org_b.id, sizeof(dup.org_id));
    dup.name = "dup";
    CHECK_EQ_INT(roster_store_key_create(conn, &dup, &err), ROSTER_ECONFLICT);

    /* a key of a missing organisation is refused */
    struct roster_key orphan = {0};
    roster_sha256_hex("orphan", 6, orphan.hash);
    roster_id_new(orphan.org_id);
    orphan.name = "orphan";
    CHECK(roster_store_key_create(conn, &orphan, &err) != 0);

    /* a second key, then revoke it */
    struct roster_key k2 = {0};
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), k2.hash);
    memcpy(k2.org_id, org_b.id, sizeof(k2.org_id));
    k2.name = "to revoke";
    CHECK_EQ_INT(roster_store_key_create(conn, &k2, &err), 0);
    CHECK(!k2.all_orgs);
    CHECK_EQ_INT(roster_store_key_find(conn, k2.hash, &got, &A, &err), 0);
    CHECK(!got.all_orgs);
    CHECK_EQ_INT(roster_store_key_revoke(conn, k2.id, &err), 0);
    CHECK_EQ_INT(roster_store_key_find(conn, k2.hash, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), 0);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(roster_store_key_revoke(conn, missing, &err), ROSTER_ENOTFOUND);

    struct roster_key *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_key_list(conn, &A, &list, &n, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, k.id) == 0 && list[i].revoked_ms == 0)
            seen |= 1;
        if (strcmp(list[i].id, k2.id) == 0 && list[i].revoked_ms > 0 &&
            strcmp(list[i].org_id, org_b.id) == 0)
            seen |= 2;
    }
    CHECK_EQ_INT(seen, 3);
}

/* --- single users --- */

static void test_user_crud(void)
{
    struct roster_err err = {0};
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
    memcpy(kept_user, u.id, sizeof(kept_user));

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

static void test_conflicts(void)
{
    struct roster_err err = {0};
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

static void test_isolation(void)
{
    struct roster_err err = {0};
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
static void test_state_only_update(void)
{
    struct roster_err err = {0};
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

static void test_transactions(void)
{
    struct roster_err err = {0};
    struct roster_user u1, dup, u2, got, u3;

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
    upd.f[RU_USERNAME] = "alpha"; /* taken in org A by test_conflicts */
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

static void qinit(struct roster_query *q)
{
    memset(q, 0, sizeof(*q));
    q->limit = 100;
}

static struct roster_qval *svals(int n, ...)
{
    struct roster_qval *v = roster_arena_zalloc(&A, (size_t)n * sizeof(*v));
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i].s = va_arg(ap, const char *);
    va_end(ap);
    return v;
}

static struct roster_qval *ivals(int n, ...)
{
    struct roster_qval *v = roster_arena_zalloc(&A, (size_t)n * sizeof(*v));
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i].i = va_arg(ap, int64_t);
    va_end(ap);
    return v;
}

static void qfilter(struct roster_query *q, int key, int op, struct roster_qval *v, size_t n)
{
    q->filters[q->nfilters++] = (struct roster_filter){key, op, v, n};
}

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

static void test_list(void)
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

static void test_list_paging_writes(void)
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
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    struct roster_arena a;
    roster_arena_init(&a, 0);
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&rw_errors, 1);
        return NULL;
    }
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

static void test_list_render(void)
{
    struct roster_err err = {0};
    make_org(&org_r, "Org R");
    rtest_org_id = org_r.id;
    static struct roster_user ru[NRENDER];
    static char names[NRENDER][16], emails[NRENDER][32];
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
static void test_list_render_dense(void)
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

static void test_read_span(void)
{
    struct roster_err err = {0};
    struct roster_key k = {0}, got;
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

/* --- bulk jobs --- */

static int claim(int64_t now, int64_t lease, struct roster_chunk *ch)
{
    struct roster_err err = {0};
    int rc = roster_store_chunk_claim(conn, now, lease, ch, &A, &err);
    if (rc && rc != ROSTER_ENOTFOUND)
        fprintf(stderr, "    chunk_claim: %s (%s)\n", err.msg, err.detail);
    return rc;
}

static void test_jobs(void)
{
    struct roster_err err = {0};
    struct roster_chunk ch, ch2, again;
    struct roster_job got;
    int64_t t0 = roster_now_ms();

    CHECK_EQ_INT(claim(t0, 1000, &ch), ROSTER_ENOTFOUND); /* needs a fresh store */

    const char *items1[] = {"[\"a0\",\"a1\"]", "[\"a2\",\"a3\",\"a4\"]", "[\"a5\"]"};
    const int64_t counts1[] = {2, 3, 1};
    struct roster_job j1 = {0};
    memcpy(j1.org_id, org_a.id, sizeof(j1.org_id));
    j1.kind = ROSTER_JOB_USERS_CREATE;
    j1.params_json = "{\"codec\":\"test\",\"default_state\":1}";
    CHECK_EQ_INT(roster_store_job_create(conn, &j1, items1, counts1, 3, &err), 0);
    CHECK(roster_id_valid(j1.id));
    CHECK_EQ_INT(j1.status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(j1.total, 6);
    CHECK_EQ_INT(j1.done, 0);
    CHECK(j1.created_ms > 0);
    CHECK_EQ_INT(j1.updated_ms, j1.created_ms);
    memcpy(kept_job, j1.id, sizeof(kept_job));

    const char *items2[] = {"[\"b0\",\"b1\"]"};
    const int64_t counts2[] = {2};
    struct roster_job j2 = {0};
    memcpy(j2.org_id, org_b.id, sizeof(j2.org_id));
    j2.kind = ROSTER_JOB_USERS_UPDATE;
    j2.params_json = "{\"codec\":\"other\"}";
    CHECK_EQ_INT(roster_store_job_create(conn, &j2, items2, counts2, 1, &err), 0);

    /* a job without items is finished at once and never claimed */
    struct roster_job j0 = {0};
    memcpy(j0.org_id, org_b.id, sizeof(j0.org_id));
    j0.kind = ROSTER_JOB_USERS_CREATE;
    j0.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_create(conn, &j0, NULL, NULL, 0, &err), 0);
    CHECK_EQ_INT(j0.total, 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, j0.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);

    /* a job of a missing organisation is refused */
    struct roster_job jx = {0};
    roster_id_new(jx.org_id);
    jx.kind = ROSTER_JOB_USERS_CREATE;
    jx.params_json = "{}";
    CHECK(roster_store_job_create(conn, &jx, items2, counts2, 1, &err) != 0);

    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, j1.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_INT(got.kind, ROSTER_JOB_USERS_CREATE);
    CHECK_EQ_INT(got.status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(got.total, 6);
    CHECK_EQ_INT(got.done + got.ok + got.failed, 0);
    CHECK_EQ_STR(got.params_json, j1.params_json);
    CHECK_EQ_INT(got.created_ms, j1.created_ms);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, j1.id, &got, &A, &err), ROSTER_ENOTFOUND);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, missing, &got, &A, &err), ROSTER_ENOTFOUND);

    /* the oldest job's first chunk comes first */
    CHECK_EQ_INT(claim(t0, 1000, &ch), 0);
    CHECK_EQ_STR(ch.job_id, j1.id);
    CHECK_EQ_STR(ch.org_id, org_a.id);
    CHECK_EQ_INT(ch.kind, ROSTER_JOB_USERS_CREATE);
    CHECK_EQ_INT(ch.chunk_no, 0);
    CHECK_EQ_INT(ch.first_idx, 0);
    CHECK_EQ_INT(ch.count, 2);
    CHECK_EQ_STR(ch.items_json, items1[0]);
    CHECK_EQ_STR(ch.params_json, j1.params_json);
    CHECK(ch.lease_token != 0);

    /* job 1's next chunk waits for its first: the next claim goes to job 2 */
    CHECK_EQ_INT(claim(t0, 1000, &ch2), 0);
    CHECK_EQ_STR(ch2.job_id, j2.id);
    CHECK_EQ_STR(ch2.org_id, org_b.id);
    CHECK_EQ_INT(ch2.kind, ROSTER_JOB_USERS_UPDATE);
    CHECK_EQ_INT(ch2.chunk_no, 0);
    CHECK_EQ_STR(ch2.items_json, items2[0]);
    CHECK_EQ_STR(ch2.params_json, j2.params_json);
    CHECK_EQ_INT(claim(t0 + 999, 1000, &again), ROSTER_ENOTFOUND);

    /* renewing keeps a chunk; an expired lease can be claimed again, with a new token */
    struct roster_chunk renewed = ch2;
    CHECK_EQ_INT(roster_store_chunk_renew(conn, &renewed, t0 + 5000, &err), 0);
    CHECK_EQ_INT(claim(t0 + 1500, 1000, &again), 0);
    CHECK_EQ_STR(again.job_id, j1.id);
    CHECK_EQ_INT(again.chunk_no, 0);
    CHECK(again.lease_token != ch.lease_token);
    CHECK_EQ_INT(claim(t0 + 1500, 1000, &ch2), ROSTER_ENOTFOUND); /* job 2 was renewed */

    /* the lost lease can neither complete nor renew, and changes nothing */
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[\"stale\"]", 2, 0, t0 + 1600, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_chunk_renew(conn, &ch, t0 + 9000, &err), ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.done, 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_PENDING);
    struct roster_chunk_results *res = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, j1.id, 0, 6, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK(res[0].results_json == NULL);
        CHECK_EQ_INT(res[0].done_ms, 0);
        CHECK_EQ_INT(res[1].first_idx, 2);
    }

    /* completing adds the counts and moves the job to RUNNING */
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &again, "[[1,\"\",\"u0\",7],[2,\"bad\",\"\",7]]",
                                             1, 1, t0 + 1700, &err),
                 0);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &again, "[]", 2, 0, t0 + 1700, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.done, 2);
    CHECK_EQ_INT(got.ok, 1);
    CHECK_EQ_INT(got.failed, 1);
    CHECK(got.updated_ms >= got.created_ms);

    /* now job 1's second chunk is next */
    CHECK_EQ_INT(claim(t0 + 1800, 1000, &ch), 0);
    CHECK_EQ_STR(ch.job_id, j1.id);
    CHECK_EQ_INT(ch.chunk_no, 1);
    CHECK_EQ_INT(ch.first_idx, 2);
    CHECK_EQ_INT(ch.count, 3);
    CHECK_EQ_STR(ch.items_json, items1[1]);

    /* completing inside the caller's transaction together with the items' effects */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_user eff;
    make_user(&eff, "job-effect", "job-effect@example.com");
    CHECK_EQ_INT(create(org_a.id, &eff, &err), 0);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[1,2,3]", 3, 0, t0 + 1900, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    struct roster_user ugot;
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, eff.id, &ugot, &A, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.done, 5);
    CHECK_EQ_INT(got.ok, 4);

    /* a rolled back completion leaves the chunk leased and not done */
    CHECK_EQ_INT(claim(t0 + 2000, 1000, &ch), 0);
    CHECK_EQ_INT(ch.chunk_no, 2);
    CHECK_EQ_INT(ch.first_idx, 5);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_user lost;
    make_user(&lost, "job-lost", "job-lost@example.com");
    CHECK_EQ_INT(create(org_a.id, &lost, &err), 0);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[9]", 1, 0, t0 + 2100, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, lost.id, &ugot, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.done, 5);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    /* a stale completion inside a transaction fails alone; the transaction goes on */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_chunk bad = ch;
    bad.lease_token ^= 0x5a5a;
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &bad, "[0]", 0, 1, t0 + 2150, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[\"last\"]", 0, 1, t0 + 2200, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j1.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, 6);
    CHECK_EQ_INT(got.total, 6);
    CHECK_EQ_INT(got.ok, 4);
    CHECK_EQ_INT(got.failed, 2);
    CHECK_EQ_INT(got.updated_ms, t0 + 2200);

    /* results by item range, in chunk order */
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, j1.id, 0, 6, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_INT(res[0].first_idx, 0);
        CHECK_EQ_INT(res[0].count, 2);
        CHECK_EQ_STR(res[0].results_json, "[[1,\"\",\"u0\",7],[2,\"bad\",\"\",7]]");
        CHECK_EQ_INT(res[0].done_ms, t0 + 1700);
        CHECK_EQ_INT(res[1].first_idx, 2);
        CHECK_EQ_INT(res[1].count, 3);
        CHECK_EQ_STR(res[1].results_json, "[1,2,3]");
        CHECK_EQ_INT(res[2].first_idx, 5);
        CHECK_EQ_STR(res[2].results_json, "[\"last\"]");
        CHECK_EQ_INT(res[2].done_ms, t0 + 2200);
    }
    struct {
        int64_t from, to;
        size_t n;
        int64_t first;
    } ranges[] = {
        {3, 4, 1, 2}, {2, 3, 1, 2},  {1, 3, 2, 0}, {1, 2, 1, 0}, {4, 100, 2, 2},
        {5, 6, 1, 5}, {6, 10, 0, 0}, {0, 0, 0, 0}, {4, 2, 0, 0}, {0, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, j1.id, ranges[i].from, ranges[i].to,
                                              &A, &res, &n, &err),
                     0);
        CHECK_EQ_INT(n, ranges[i].n);
        if (n > 0 && n == ranges[i].n)
            CHECK_EQ_INT(res[0].first_idx, ranges[i].first);
    }
    CHECK_EQ_INT(roster_store_job_results(conn, org_b.id, j1.id, 0, 6, &A, &res, &n, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, missing, 0, 6, &A, &res, &n, &err),
                 ROSTER_ENOTFOUND);

    /* a finished job is never claimed again; job 2 is still leased (until t0 + 5000) */
    CHECK_EQ_INT(claim(t0 + 3000, 1000, &again), ROSTER_ENOTFOUND);
    /* after a restart every lease is dropped */
    CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    CHECK_EQ_INT(claim(t0 + 3000, 1000, &again), 0);
    CHECK_EQ_STR(again.job_id, j2.id);
    CHECK(again.lease_token != renewed.lease_token);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &renewed, "[0,0]", 2, 0, t0 + 3100, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &again, "[0,0]", 2, 0, t0 + 3100, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, j2.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.ok, 2);
    CHECK_EQ_INT(claim(t0 + 100000, 1000, &again), ROSTER_ENOTFOUND);

    /* first in, first out across jobs, and many chunks in order */
    enum { NCH = 50 };
    const char *many[NCH];
    int64_t ones[NCH];
    for (int i = 0; i < NCH; i++) {
        many[i] = roster_arena_printf(&A, "[%d]", i);
        ones[i] = 1;
    }
    struct roster_job j3 = {0}, j4 = {0};
    memcpy(j3.org_id, org_a.id, sizeof(j3.org_id));
    memcpy(j4.org_id, org_b.id, sizeof(j4.org_id));
    j3.kind = j4.kind = ROSTER_JOB_MESSAGE;
    j3.params_json = j4.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_create(conn, &j3, many, ones, NCH, &err), 0);
    CHECK_EQ_INT(roster_store_job_create(conn, &j4, many, ones, 2, &err), 0);
    int64_t t = t0 + 200000;
    int in_order = 1, j4_seen = 0, claimed = 0;
    for (;;) {
        struct roster_chunk a;
        if (claim(t, 1000, &a) != 0)
            break;
        claimed++;
        if (strcmp(a.job_id, j3.id) == 0) {
            if (a.chunk_no != claimed - 1 || a.first_idx != a.chunk_no || j4_seen)
                in_order = 0;
        } else {
            j4_seen++;
        }
        CHECK_EQ_INT(roster_store_chunk_complete(conn, &a, "[0]", 1, 0, t, &err), 0);
    }
    CHECK_EQ_INT(claimed, NCH + 2);
    CHECK(in_order);
    CHECK_EQ_INT(j4_seen, 2);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j3.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, NCH);
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, j3.id, 20, 23, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    if (n == 3)
        CHECK_EQ_INT(res[2].first_idx, 22);
}

/* --- concurrent workers --- */

enum { CJOBS = 3, CCHUNKS = 60, CWORKERS = 4 };
static struct roster_job cjobs[CJOBS];
static atomic_int cdone[CJOBS][CCHUNKS]; /* completions per chunk */
static atomic_int cnext[CJOBS];          /* next chunk_no expected per job */
static atomic_int cbad_order, cerrors, cclaimed;

static int cjob_index(const char *job_id)
{
    for (int j = 0; j < CJOBS; j++)
        if (strcmp(cjobs[j].id, job_id) == 0)
            return j;
    return -1;
}

/* A worker with its own connection: claim, check the order, complete, until nothing is left.
 * Only the main thread calls CHECK. */
static void *cworker(void *arg)
{
    (void)arg;
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    struct roster_arena a;
    roster_arena_init(&a, 0);
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&cerrors, 1);
        return NULL;
    }
    for (;;) {
        struct roster_chunk ch;
        roster_arena_clear(&a);
        int rc = roster_store_chunk_claim(c, roster_now_ms(), 60000, &ch, &a, &err);
        if (rc == ROSTER_ENOTFOUND)
            break;
        if (rc == ROSTER_EBUSY)
            continue;
        if (rc != 0) {
            atomic_fetch_add(&cerrors, 1);
            break;
        }
        atomic_fetch_add(&cclaimed, 1);
        int j = cjob_index(ch.job_id);
        if (j < 0 || ch.chunk_no < 0 || ch.chunk_no >= CCHUNKS) {
            atomic_fetch_add(&cerrors, 1);
            break;
        }
        /* chunks of one job are handed out one at a time, in order */
        if (atomic_fetch_add(&cnext[j], 1) != ch.chunk_no)
            atomic_fetch_add(&cbad_order, 1);
        do {
            rc = roster_store_chunk_complete(c, &ch, "[1]", 1, 0, roster_now_ms(), &err);
        } while (rc == ROSTER_EBUSY);
        if (rc != 0) {
            atomic_fetch_add(&cerrors, 1);
            break;
        }
        atomic_fetch_add(&cdone[j][ch.chunk_no], 1);
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

static void test_concurrent_claims(void)
{
    struct roster_err err = {0};
    const char *items[CCHUNKS];
    int64_t counts[CCHUNKS];
    for (int i = 0; i < CCHUNKS; i++) {
        items[i] = "[0]";
        counts[i] = 1;
    }
    for (int j = 0; j < CJOBS; j++) {
        memset(&cjobs[j], 0, sizeof(cjobs[j]));
        memcpy(cjobs[j].org_id, j % 2 ? org_b.id : org_a.id, sizeof(cjobs[j].org_id));
        cjobs[j].kind = ROSTER_JOB_USERS_CREATE;
        cjobs[j].params_json = "{}";
        CHECK_EQ_INT(roster_store_job_create(conn, &cjobs[j], items, counts, CCHUNKS, &err), 0);
    }
    pthread_t th[CWORKERS];
    int started = 0;
    for (int i = 0; i < CWORKERS; i++)
        if (pthread_create(&th[i], NULL, cworker, NULL) == 0)
            started++;
    CHECK_EQ_INT(started, CWORKERS);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&cerrors), 0);
    CHECK_EQ_INT(atomic_load(&cbad_order), 0);
    CHECK_EQ_INT(atomic_load(&cclaimed), CJOBS * CCHUNKS);
    int once = 0;
    for (int j = 0; j < CJOBS; j++)
        for (int i = 0; i < CCHUNKS; i++)
            once += atomic_load(&cdone[j][i]) == 1;
    CHECK_EQ_INT(once, CJOBS * CCHUNKS);
    for (int j = 0; j < CJOBS; j++) {
        struct roster_job got;
        CHECK_EQ_INT(roster_store_job_get(conn, cjobs[j].org_id, cjobs[j].id, &got, &A, &err), 0);
        CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
        CHECK_EQ_INT(got.done, CCHUNKS);
        CHECK_EQ_INT(got.ok, CCHUNKS);
    }
}

/* A job can be submitted while another connection holds a write transaction open (the
 * job applier does, for whole batches): submission must not wait for it. The job stays
 * open across a reopen (the reopen test claims it). */
static char kept_open_job[ROSTER_ID_LEN + 1];

static void test_submit_during_write(void)
{
    struct roster_err err = {0};
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &c2, &err), 0);
    if (!c2)
        return;
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    struct roster_user u;
    make_user(&u, "writer-holds-lock", "writer-holds-lock@example.com");
    CHECK_EQ_INT(create(org_a.id, &u, &err), 0);
    const char *items[] = {"[\"w0\",\"w1\"]"};
    const int64_t counts[] = {2};
    struct roster_job j = {0};
    memcpy(j.org_id, org_a.id, sizeof(j.org_id));
    j.kind = ROSTER_JOB_USERS_CREATE;
    j.params_json = "{}";
    int rc = roster_store_job_create(c2, &j, items, counts, 1, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    job_create during a write: %s (%s)\n", err.msg, err.detail);
    struct roster_job got;
    CHECK_EQ_INT(roster_store_job_get(c2, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(got.total, 2);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    memcpy(kept_open_job, j.id, sizeof(kept_open_job));
    roster_conn_close(c2);
}

/* --- scheduled state changes --- */

/* Every schedule the tests create, by label, so that results read as "r2,r4,r3". */
enum { SREG_MAX = 64 };
static struct {
    char id[ROSTER_ID_LEN + 1];
    const char *label;
} sreg[SREG_MAX];
static int nsreg;

/* virtual times: the claim tests run at C + x, the list tests' rows are due at D + x, far
 * later, so that no claim ever takes them */
static const int64_t C = 3000000000000;
static const int64_t D = 4000000000000;

static struct roster_org org_s;
static char su[8][ROSTER_ID_LEN + 1]; /* users of org_s (they need not exist) */
static char kept_sched_done[ROSTER_ID_LEN + 1], kept_sched_pending[ROSTER_ID_LEN + 1];
static char kept_message[ROSTER_MESSAGE_ID_MAX];
static int64_t kept_next_due;

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

static const char *sid(const char *label)
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

static const char *slist(const char *org_id, const struct roster_query *q, int64_t *total)
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

static void test_schedule_create(void)
{
    struct roster_err err = {0};
    struct roster_schedule s, got, *rows = NULL;
    size_t n = 0;
    int64_t due;

    /* a fresh store has nothing scheduled */
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(sclaim(D * 2, 1000, 100), "");

    make_org(&org_s, "Org S");
    for (int i = 0; i < 8; i++)
        user_id_for(su[i], org_s.id, 10 * (i + 1) + (i >= 2 ? 1 : 0));

    /* one schedule with every field and a caller-chosen id (kept); created_ms is assigned */
    sched_fill(&s, org_s.id, su[0], ROSTER_ACTIVATED, D + 1000, 900);
    char chosen[ROSTER_ID_LEN + 1];
    memcpy(chosen, s.id, sizeof(chosen));
    s.send_activation_email = true;
    s.email_override = "first.last@example.com";
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
    memcpy(kept_sched_pending, s.id, sizeof(kept_sched_pending));

    /* without the e-mail options; the id is assigned */
    sched_fill(&s, org_s.id, su[1], ROSTER_SUSPENDED, D + 1001, 0);
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
    sched_fill(&s, org_s.id, su[3], ROSTER_ACTIVATED, D + 1005, 0);
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
}

static void test_schedule_list(void)
{
    struct roster_err err = {0};
    struct roster_query q;
    int64_t total;
    struct roster_schedule r8;

    /* created in one call, in no particular order; ids sort like their numbers */
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
    struct roster_schedule s[NR];
    for (int i = 0; i < NR; i++)
        sched_fill(&s[i], org_s.id, su[rs[i].user], rs[i].state, D + rs[i].due, rs[i].n);
    CHECK_EQ_INT(roster_store_schedule_create(conn, s, NR, &err), 0);
    for (int i = 0; i < NR; i++) {
        sreg_add(&s[i], rs[i].label);
        if (strcmp(rs[i].label, "r8") == 0)
            r8 = s[i];
    }
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
}

static void test_schedule_next(void)
{
    struct roster_err err = {0};
    /* su[4]: two changes due at the same time, the lower id wins */
    sched_one("t2", org_s.id, su[4], ROSTER_ACTIVATED, D + 800, 132, NULL);
    sched_one("t1", org_s.id, su[4], ROSTER_ACTIVATED, D + 800, 131, NULL);
    sched_one("t3", org_s.id, su[4], ROSTER_ACTIVATED, D + 900, 130, NULL);
    /* org_b has a change for the same user id: never part of org_s's answer */
    sched_one("b1", org_b.id, su[0], ROSTER_SUSPENDED, D + 1, 0, NULL);

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
}

static void test_schedule_claim(void)
{
    struct roster_err err = {0};
    struct roster_schedule first_c1, c1, c2, c3, c4, c6, got;
    int64_t due = 0;

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
    memcpy(kept_sched_done, c1.id, sizeof(kept_sched_done));
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
    kept_next_due = due;
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
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    struct roster_arena a;
    roster_arena_init(&a, 0);
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&sc_errors, 1);
        return NULL;
    }
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

static void test_schedule_concurrent(void)
{
    struct roster_err err = {0};
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

static void test_messages(void)
{
    struct roster_err err = {0};
    struct roster_message m = {0}, got;
    memcpy(m.org_id, org_a.id, sizeof(m.org_id));
    m.kind = "activation_email";
    m.source_id = sid("c1");
    m.user_id = su[0];
    m.recipient = "jdoe@example.com";
    m.content_json = "{\"template\":\"activation\",\"data\":{\"name\":\"J\\u00f6rg\"}}";
    int64_t before = roster_now_ms();
    CHECK_EQ_INT(roster_store_message_create(conn, &m, &err), 0);
    CHECK(m.created_ms >= before && m.created_ms <= roster_now_ms());
    CHECK_EQ_STR(m.status, "ENQUEUED");
    /* "1-" + 8 hex seconds + "-" + 24 hex */
    int shape = strlen(m.id) == 35 && strncmp(m.id, "1-", 2) == 0 && m.id[10] == '-';
    for (int i = 2; i < 35; i++)
        if (i != 10 && !strchr("0123456789abcdef", m.id[i]))
            shape = 0;
    CHECK(shape);
    unsigned long secs = strtoul(m.id + 2, NULL, 16);
    CHECK(secs >= (unsigned long)(before / 1000) &&
          secs <= (unsigned long)(roster_now_ms() / 1000));
    memcpy(kept_message, m.id, sizeof(kept_message));

    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, m.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, m.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_STR(got.kind, "activation_email");
    CHECK_EQ_STR(got.source_id, sid("c1"));
    CHECK_EQ_STR(got.user_id, su[0]);
    CHECK_EQ_STR(got.recipient, "jdoe@example.com");
    CHECK_EQ_STR(got.content_json, m.content_json);
    CHECK_EQ_STR(got.status, "ENQUEUED");
    CHECK_EQ_INT(got.created_ms, m.created_ms);

    /* another organisation's message is not found, like a missing one */
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, m.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, "1-00000000-000000000000000000000000",
                                          &got, &A, &err),
                 ROSTER_ENOTFOUND);
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_message_get(conn, nowhere, m.id, &got, &A, &err), ROSTER_ENOTFOUND);

    /* optional fields stay NULL; a given status and id are kept; an id is unique */
    struct roster_message b = {0};
    memcpy(b.org_id, org_b.id, sizeof(b.org_id));
    snprintf(b.id, sizeof(b.id), "1-%08x-%s", 0x61e9dd53u, "b5bb6c863b7ffbe83ad4b28d");
    b.kind = "bulk_message";
    b.status = "SENT";
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), 0);
    CHECK_EQ_STR(b.id, "1-61e9dd53-b5bb6c863b7ffbe83ad4b28d");
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, b.id, &got, &A, &err), 0);
    CHECK(got.source_id == NULL && got.user_id == NULL && got.recipient == NULL &&
          got.content_json == NULL);
    CHECK_EQ_STR(got.status, "SENT");
    CHECK_EQ_STR(got.kind, "bulk_message");
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), ROSTER_ECONFLICT);

    /* two new ids differ */
    struct roster_message c = {0};
    memcpy(c.org_id, org_a.id, sizeof(c.org_id));
    c.kind = "activation_email";
    CHECK_EQ_INT(roster_store_message_create(conn, &c, &err), 0);
    CHECK(strcmp(c.id, m.id) != 0);

    /* an unknown organisation takes none; a rolled back one is gone */
    struct roster_message x = {0};
    memcpy(x.org_id, nowhere, sizeof(x.org_id));
    x.kind = "activation_email";
    CHECK_EQ_INT(roster_store_message_create(conn, &x, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(x.id, "");
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    memcpy(x.org_id, org_a.id, sizeof(x.org_id));
    CHECK_EQ_INT(roster_store_message_create(conn, &x, &err), 0);
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), ROSTER_ECONFLICT); /* goes on */
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, x.id, &got, &A, &err), ROSTER_ENOTFOUND);
}

/* --- durability and migrations --- */

static void test_reopen(void)
{
    struct roster_err err = {0};
    /* a second handle on the same store, opened while the first is in use */
    struct roster_store *st2 = NULL;
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st2, &err), 0);
    if (st2) {
        CHECK_EQ_INT(roster_conn_open(st2, &c2, &err), 0);
        struct roster_user u;
        if (c2)
            CHECK_EQ_INT(roster_store_user_get(c2, org_a.id, kept_user, &u, &A, &err), 0);
        roster_conn_close(c2);
        roster_store_close(st2);
    }

    roster_conn_close(conn);
    conn = NULL;
    roster_store_close(st);
    st = NULL;
    int rc = roster_store_open(url, &st, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "    reopen: %s (%s)\n", err.msg, err.detail);
        return;
    }
    CHECK((roster_store_flags(st) & (ROSTER_STORE_EMBEDDED | ROSTER_STORE_MULTI_NODE)) != 0);
    CHECK_EQ_INT(roster_conn_open(st, &conn, &err), 0);
    if (!conn)
        return;
    struct roster_org o;
    CHECK_EQ_INT(roster_store_org_get(conn, org_a.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org A");
    struct roster_user u;
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, kept_user, &u, &A, &err), 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "jdoe");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"+49 30 1234\"}]");
    struct roster_key k;
    CHECK_EQ_INT(roster_store_key_find(conn, kept_key_hash, &k, &A, &err), 0);
    struct roster_job j;
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, kept_job, &j, &A, &err), 0);
    CHECK_EQ_INT(j.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(j.done, 6);
    /* a job still to do before the reopen can be claimed after it, with its input */
    if (kept_open_job[0]) {
        CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
        bool seen = false;
        struct roster_chunk ch;
        for (int i = 0; i < 1000 && !seen; i++) {
            if (roster_store_chunk_claim(conn, roster_now_ms(), 60000, &ch, &A, &err) != 0)
                break;
            seen = strcmp(ch.job_id, kept_open_job) == 0;
        }
        CHECK(seen);
        if (seen) {
            CHECK_EQ_STR(ch.items_json, "[\"w0\",\"w1\"]");
            CHECK_EQ_INT(ch.count, 2);
            CHECK_EQ_INT(ch.first_idx, 0);
        }
    }
    /* ids keep growing after a reopen */
    struct roster_user nu;
    make_user(&nu, "after-reopen", "after-reopen@example.com");
    CHECK_EQ_INT(create(org_a.id, &nu, &err), 0);
    CHECK(nu.num_id > u.num_id);
    /* scheduled changes and messages */
    struct roster_schedule sg;
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, kept_sched_done, &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(sg.outcome, "user state set to ACTIVATED");
    CHECK(sg.message_id[0] != '\0');
    CHECK_EQ_INT(sg.done_ms, C + 1200);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, kept_sched_pending, &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_STR(sg.email_override, "first.last@example.com");
    CHECK(sg.send_activation_email);
    int64_t due = 0;
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, kept_next_due);
    struct roster_message mg;
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, kept_message, &mg, &A, &err), 0);
    CHECK_EQ_STR(mg.recipient, "jdoe@example.com");
    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    int64_t total = 0;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r2,r4,r3,r1,r5,r6,r7,r9,t2,t3,k1");
    CHECK_EQ_INT(total, 11);
}

/* --- service-account keys (Voximplant JWT) --- */

static void test_service_keys(void)
{
    struct roster_err err = {0};
    struct roster_sa_key k = {0}, f;
    snprintf(k.org_id, sizeof(k.org_id), "%s", org_a.id);
    k.name = "vox";
    k.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &k, &err), 0);
    CHECK(roster_id_valid(k.id));
    CHECK(k.created_ms > 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k.id, &f, &A, &err), 0);
    CHECK_EQ_STR(f.id, k.id);
    CHECK_EQ_STR(f.org_id, org_a.id);
    CHECK_EQ_STR(f.name, "vox");
    CHECK_EQ_STR(f.public_key_pem, k.public_key_pem);
    CHECK_EQ_INT(f.revoked_ms, 0);
    /* the same id again is a conflict; an unknown organisation is not found */
    struct roster_sa_key dup = k;
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &dup, &err), ROSTER_ECONFLICT);
    struct roster_sa_key orphan = {0};
    snprintf(orphan.org_id, sizeof(orphan.org_id), "%s", "0123456789abcdef01234567");
    orphan.public_key_pem = "x";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &orphan, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, "0123456789abcdef01234567", &f, &A, &err),
                 ROSTER_ENOTFOUND);
    /* the store works inside a caller's transaction after a failed create */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &dup, &err), ROSTER_ECONFLICT);
    struct roster_sa_key k2 = {0};
    snprintf(k2.org_id, sizeof(k2.org_id), "%s", org_b.id);
    k2.public_key_pem = "pem2";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &k2, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k2.id, &f, &A, &err), 0);
    CHECK_EQ_STR(f.org_id, org_b.id);
    /* revoked keys are not found; revoking twice is fine; unknown ids are not found */
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, k.id, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k.id, &f, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, k.id, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, "0123456789abcdef01234567", &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k2.id, &f, &A, &err), 0);
}

/* --- typed groups, memberships, user password hashes --- */

static struct roster_group mk_group(const char *org_id, int kind, const char *name, int64_t parent,
                                    int expect)
{
    struct roster_err err = {0};
    struct roster_group g = {0};
    g.kind = kind;
    g.name = name;
    g.parent_num_id = parent;
    int rc = roster_store_group_create(conn, org_id, &g, &err);
    CHECK_EQ_INT(rc, expect);
    if (rc != expect)
        fprintf(stderr, "    group_create %s: %s (%s)\n", name, err.msg, err.detail);
    return g;
}

/* "name,name" of the groups q lists in org_id */
static const char *glist(const char *org_id, const struct roster_group_query *q, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_group *v;
    size_t n;
    int rc = roster_store_group_list(conn, org_id, q, &A, &v, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s", i ? "," : "", v[i].name);
    const char *out = roster_arena_strdup(&A, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

/* "username,username" of the users of org_id matching q and conds */
static const char *glusers(const char *org_id, const struct roster_query *q,
                           const struct roster_group_cond *c, size_t nc, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_user *v;
    size_t n;
    int rc = user_list_grouped(conn, org_id, q, c, nc, &A, &v, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s", i ? "," : "", v[i].f[RU_USERNAME]);
    const char *out = roster_arena_strdup(&A, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

static void test_groups(void)
{
    struct roster_err err = {0};
    struct roster_org og, oh;
    make_org(&og, "groups-org");
    make_org(&oh, "groups-other");
    struct roster_group app = mk_group(og.id, ROSTER_GROUP_APPLICATION, "app1", 0, 0);
    CHECK(app.num_id > 0);
    CHECK(app.created_ms > 0);
    CHECK_EQ_INT(app.modified_ms, app.created_ms);
    struct roster_group sk1 = mk_group(og.id, ROSTER_GROUP_SKILL, "English", 0, 0);
    struct roster_group sk2 = mk_group(og.id, ROSTER_GROUP_SKILL, "German", 0, 0);
    struct roster_group q1 = mk_group(og.id, ROSTER_GROUP_QUEUE, "sales", app.num_id, 0);
    CHECK(sk2.num_id > sk1.num_id);
    /* names are unique per organisation and kind */
    mk_group(og.id, ROSTER_GROUP_SKILL, "English", 0, ROSTER_ECONFLICT);
    mk_group(og.id, ROSTER_GROUP_QUEUE, "English", app.num_id, 0);
    mk_group(oh.id, ROSTER_GROUP_SKILL, "English", 0, 0);
    /* a parent of another organisation is not found */
    mk_group(oh.id, ROSTER_GROUP_QUEUE, "q-foreign", app.num_id, ROSTER_ENOTFOUND);
    mk_group("0123456789abcdef01234567", ROSTER_GROUP_SKILL, "x", 0, ROSTER_ENOTFOUND);

    struct roster_group_query gq = {0};
    gq.limit = -1;
    gq.want_total = true;
    int64_t total = -1;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "app1,English,German,sales,English");
    CHECK_EQ_INT(total, 5);
    gq.kind = ROSTER_GROUP_SKILL;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English,German");
    CHECK_EQ_STR(glist(oh.id, &gq, &total), "English");
    gq.name_part = "ERM";
    CHECK_EQ_STR(glist(og.id, &gq, &total), "German");
    gq.name_part = NULL;
    gq.name = "English";
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English");
    gq.name = NULL;
    gq.num_id = sk2.num_id;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "German");
    CHECK_EQ_STR(glist(oh.id, &gq, &total), ""); /* another org's id: nothing */
    CHECK_EQ_INT(total, 0);
    gq.num_id = 0;
    gq.kind = 0;
    gq.parent_num_id = app.num_id;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "sales,English");
    gq.parent_num_id = 0;
    gq.skip = 1;
    gq.limit = 2;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English,German");
    CHECK_EQ_INT(total, 5);
    gq.limit = 0;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "");
    CHECK_EQ_INT(total, 5);

    /* update: rename, conflicts, other organisations */
    struct roster_group up = sk2;
    up.name = "Deutsch";
    up.extra = "{\"k\":1}";
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), 0);
    CHECK(up.modified_ms >= sk2.modified_ms);
    gq = (struct roster_group_query){.kind = ROSTER_GROUP_SKILL, .num_id = sk2.num_id, .limit = 1};
    struct roster_group *gv;
    size_t gn;
    CHECK_EQ_INT(roster_store_group_list(conn, og.id, &gq, &A, &gv, &gn, NULL, &err), 0);
    CHECK_EQ_INT(gn, 1);
    if (gn == 1) {
        CHECK_EQ_STR(gv[0].name, "Deutsch");
        CHECK_EQ_STR(gv[0].extra, "{\"k\":1}");
        CHECK_EQ_INT(gv[0].kind, ROSTER_GROUP_SKILL);
        CHECK_EQ_STR(gv[0].org_id, og.id);
    }
    up.name = "English";
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "name");
    up.name = "Deutsch2";
    CHECK_EQ_INT(roster_store_group_update(conn, oh.id, &up, &err), ROSTER_ENOTFOUND);
    up.kind = ROSTER_GROUP_QUEUE; /* the right id with the wrong kind */
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), ROSTER_ENOTFOUND);

    /* users and memberships */
    struct roster_user u[4];
    const char *names[4] = {"gu-a", "gu-b", "gu-c", "gu-d"};
    int64_t un[4];
    for (int i = 0; i < 4; i++) {
        char *email = roster_arena_printf(&A, "%s@example.com", names[i]);
        make_user(&u[i], names[i], email);
        CHECK_EQ_INT(create(og.id, &u[i], &err), 0);
        un[i] = u[i].num_id;
    }
    struct roster_user foreign;
    make_user(&foreign, "gu-x", "gu-x@example.com");
    CHECK_EQ_INT(create(oh.id, &foreign, &err), 0);
    int64_t gapp[1] = {app.num_id}, gsk[2] = {sk1.num_id, sk2.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gapp, 1, un, 4, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 2, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, un + 2, 1, true, &err), 0);
    /* binding again is fine */
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, un + 2, 1, true, &err), 0);
    /* another organisation's user or group: not found, and nothing is written */
    int64_t mixed[2] = {un[3], foreign.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, mixed, 2, true, &err),
                 ROSTER_ENOTFOUND);
    int64_t fg[1] = {sk1.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, oh.id, fg, 1, &foreign.num_id, 1, true, &err),
                 ROSTER_ENOTFOUND);
    struct roster_membership *mv;
    size_t mn;
    CHECK_EQ_INT(
        roster_store_group_memberships(conn, og.id, un, 4, ROSTER_GROUP_SKILL, &A, &mv, &mn, &err),
        0);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < mn; i++)
        roster_buf_printf(&b, "%s%lld:%s", i ? "," : "", (long long)(mv[i].user_num_id - un[0]),
                          mv[i].g.name);
    CHECK_EQ_STR(b.data ? b.data : "", "0:English,0:Deutsch,1:English,1:Deutsch,2:English");
    roster_buf_release(&b);
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un + 3, 1, ROSTER_GROUP_SKILL, &A, &mv,
                                                &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 0);
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un, 1, ROSTER_GROUP_APPLICATION, &A,
                                                &mv, &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 1);
    if (mn == 1)
        CHECK_EQ_STR(mv[0].g.name, "app1");
    /* the foreign org sees no memberships of og's users */
    CHECK_EQ_INT(
        roster_store_group_memberships(conn, oh.id, un, 4, ROSTER_GROUP_SKILL, &A, &mv, &mn, &err),
        0);
    CHECK_EQ_INT(mn, 0);

    /* user_list_grouped */
    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    q.sorts[0] = (struct roster_sort){RU_USERNAME, false};
    q.nsorts = 1;
    struct roster_group_cond c[2] = {{app.num_id, true}, {sk1.num_id, true}};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, &total), "gu-a,gu-b,gu-c,gu-d");
    CHECK_EQ_INT(total, 4);
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-a,gu-b,gu-c");
    CHECK_EQ_INT(total, 3);
    c[1] = (struct roster_group_cond){sk2.num_id, false};
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-c,gu-d");
    q.sorts[0].desc = true;
    q.limit = 1;
    q.skip = 1;
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-c");
    CHECK_EQ_INT(total, 2);
    qinit(&q);
    q.want_total = true;
    qfilter(&q, RU_USERNAME, ROSTER_OP_SEARCH, svals(1, "U-B"), 1);
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, &total), "gu-b");
    /* the foreign org: its own users only, never og's group members */
    qinit(&q);
    q.want_total = true;
    CHECK_EQ_STR(glusers(oh.id, &q, c, 1, &total), "");
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_STR(glusers(oh.id, &q, NULL, 0, &total), "gu-x");

    /* unbind */
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 1, false, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 1, false, &err), 0);
    qinit(&q);
    c[0] = (struct roster_group_cond){sk1.num_id, true};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "gu-b,gu-c");

    /* password hashes: set, replace, clear, other organisations */
    const char *h = "x";
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[0].id, &A, &h, &err), 0);
    CHECK(h == NULL);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[0].id, "$y$h1", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[0].id, "$y$h2", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[0].id, &A, &h, &err), 0);
    CHECK_EQ_STR(h, "$y$h2");
    CHECK_EQ_INT(roster_store_user_secret_get(conn, oh.id, u[0].id, &A, &h, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, oh.id, u[0].id, "$y$h3", &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[1].id, "$y$b", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[1].id, NULL, &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[1].id, &A, &h, &err), 0);
    CHECK(h == NULL);

    /* deleting a user removes its memberships and hash */
    CHECK_EQ_INT(roster_store_user_delete(conn, og.id, u[0].id, &err), 0);
    qinit(&q);
    c[0] = (struct roster_group_cond){app.num_id, true};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "gu-b,gu-c,gu-d");
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un, 1, ROSTER_GROUP_APPLICATION, &A,
                                                &mv, &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 0);

    /* delete: another org's id is not found; an application takes its queues along */
    CHECK_EQ_INT(roster_store_group_delete(conn, oh.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_SKILL, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 0);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    gq = (struct roster_group_query){.limit = -1};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "English,Deutsch");
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "");
    (void)q1;
    /* a new group never reuses a deleted group's number */
    struct roster_group app2 = mk_group(og.id, ROSTER_GROUP_APPLICATION, "app2", 0, 0);
    CHECK(app2.num_id > q1.num_id);
    /* inside a caller's transaction a failed create leaves the transaction usable */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    mk_group(og.id, ROSTER_GROUP_APPLICATION, "app2", 0, ROSTER_ECONFLICT);
    mk_group(og.id, ROSTER_GROUP_APPLICATION, "app3", 0, 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    gq = (struct roster_group_query){.kind = ROSTER_GROUP_APPLICATION, .limit = -1};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "app2,app3");
}

/* --- bulk user creation (user_create_many) --- */

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

/* Calls user_create_many and reports a store failure. */
static int create_many(const char *org_id, struct roster_user *u, size_t n, int *rcs,
                       struct roster_err *errs)
{
    struct roster_err err = {0};
    for (size_t i = 0; i < n; i++)
        rcs[i] = -1;
    int rc = roster_store_user_create_many(conn, org_id, u, n, rcs, errs, &err);
    if (rc)
        fprintf(stderr, "    user_create_many: %s (%s)\n", err.msg, err.detail);
    return rc;
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

static void test_user_create_many(void)
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
static void test_user_create_many_ids(void)
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
static void test_user_create_many_txn(void)
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
static void test_user_create_many_big(void)
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

static void test_user_create_many_race(void)
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

static void test_user_get_many(void)
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

static void test_user_update_many(void)
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
static void test_user_update_many_big(void)
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

/* --- message jobs (appended methods: job_open, job_append, job_start, job_chunks,
 * user_resolve, message_create_many) --- */

/* Claims chunks until one of job_id comes; 0 and *out, or ROSTER_ENOTFOUND. Chunks of
 * other jobs (left open by the tests before: this runs last) are completed on the way, as a
 * server would, so that they stop standing in the way of later claims. */
static int claim_of(const char *job_id, int64_t now, int64_t lease_ms, struct roster_chunk *out)
{
    struct roster_err err = {0};
    for (int i = 0; i < 100000; i++) {
        int rc = roster_store_chunk_claim(conn, now, lease_ms, out, &A, &err);
        if (rc)
            return rc;
        if (strcmp(out->job_id, job_id) == 0)
            return 0;
        roster_store_chunk_complete(conn, out, "[]", 0, out->count, now, &err);
    }
    return ROSTER_ENOTFOUND;
}

#define MAPPENDS 20
static struct roster_job mjob_conc;
static atomic_int mappend_errors;

/* appends MAPPENDS chunks of 2 items ("[t,t]" with t = the thread's tag) one by one */
static void *mappender(void *arg)
{
    const char *items = arg;
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&mappend_errors, 1);
        return NULL;
    }
    const int64_t two = 2;
    for (int i = 0; i < MAPPENDS; i++) {
        int64_t first;
        if (roster_store_job_append(c, mjob_conc.org_id, mjob_conc.id, &items, &two, 1, &first,
                                    &err) != 0)
            atomic_fetch_add(&mappend_errors, 1);
    }
    roster_conn_close(c);
    return NULL;
}

static void test_message_jobs(void)
{
    struct roster_err err = {0};
    struct roster_job j, got;
    memset(&j, 0, sizeof(j));
    memcpy(j.org_id, org_a.id, sizeof(j.org_id));
    j.kind = ROSTER_JOB_MESSAGE;
    j.params_json = "{\"definition\":{\"event\":\"welcome\"}}";
    CHECK_EQ_INT(roster_store_job_open(conn, &j, &err), 0);
    CHECK(roster_id_valid(j.id));
    CHECK_EQ_INT(j.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(got.kind, ROSTER_JOB_MESSAGE);
    CHECK_EQ_INT(got.total, 0);
    CHECK_EQ_STR(got.params_json, j.params_json);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, j.id, &got, &A, &err), ROSTER_ENOTFOUND);
    struct roster_job nowhere = j;
    nowhere.id[0] = '\0';
    roster_id_new(nowhere.org_id);
    CHECK_EQ_INT(roster_store_job_open(conn, &nowhere, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(nowhere.id, "");

    /* appends: chunks after the existing ones, indexes continue, total grows */
    const char *c1[] = {"[{\"recipient\":\"a\"}, {\"recipient\":\"b\"}]",
                        "[{\"recipient\":\"c\"}]"};
    const int64_t n1[] = {2, 1};
    int64_t first = -1;
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c1, n1, 2, &first, &err), 0);
    CHECK_EQ_INT(first, 0);
    const char *c2[] = {"[{\"to\":{\"email\":\"d@x.io\"}},{}]"};
    const int64_t n2[] = {2};
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, n2, 1, &first, &err), 0);
    CHECK_EQ_INT(first, 3);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, NULL, NULL, 0, &first, &err), 0);
    CHECK_EQ_INT(first, 5);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 5);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    /* another organisation's or a missing job takes nothing; malformed chunks are refused */
    CHECK_EQ_INT(roster_store_job_append(conn, org_b.id, j.id, c2, n2, 1, &first, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, nowhere.org_id, c2, n2, 1, &first, &err),
                 ROSTER_ENOTFOUND);
    const int64_t zero[] = {0};
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, zero, 1, &first, &err),
                 ROSTER_EINVAL);

    struct roster_chunk_page *pg;
    size_t npg;
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 0, 5, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 3);
    if (npg == 3) {
        CHECK_EQ_INT(pg[0].first_idx, 0);
        CHECK_EQ_INT(pg[0].count, 2);
        CHECK_EQ_STR(pg[0].items_json, c1[0]); /* as given, whitespace and all */
        CHECK_EQ_INT(pg[1].first_idx, 2);
        CHECK_EQ_STR(pg[1].items_json, c1[1]);
        CHECK_EQ_INT(pg[2].first_idx, 3);
        CHECK_EQ_STR(pg[2].items_json, c2[0]);
        CHECK(pg[0].results_json == NULL && pg[2].results_json == NULL);
    }
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 3, 4, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 1);
    CHECK_EQ_INT(npg ? pg[0].first_idx : -1, 3);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 1, 3, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 2);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 5, 9, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 0);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_b.id, j.id, 0, 5, &A, &pg, &npg, &err),
                 ROSTER_ENOTFOUND);

    /* a CREATED job is never claimed */
    const int64_t T = 5000000000000;
    struct roster_chunk ch[4];
    CHECK_EQ_INT(claim_of(j.id, T, 1000, &ch[0]), ROSTER_ENOTFOUND);

    /* start: once; then no more items */
    CHECK_EQ_INT(roster_store_job_start(conn, org_b.id, j.id, T, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, j.id, T, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, j.id, T, &err), ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, n2, 1, &first, &err),
                 ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, NULL, NULL, 0, &first, &err),
                 ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 5);

    /* a message job's chunks are claimed at once, in any order, each once */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(claim_of(j.id, T, 1000, &ch[i]), 0);
    CHECK(ch[0].chunk_no != ch[1].chunk_no && ch[1].chunk_no != ch[2].chunk_no &&
          ch[0].chunk_no != ch[2].chunk_no);
    CHECK_EQ_INT(claim_of(j.id, T + 10, 1000, &ch[3]), ROSTER_ENOTFOUND);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(ch[i].kind, ROSTER_JOB_MESSAGE);
        CHECK_EQ_STR(ch[i].org_id, org_a.id);
        CHECK_EQ_STR(ch[i].params_json, j.params_json);
    }
    /* complete the later ones, lose the first one's lease: it comes back */
    int first_chunk = ch[0].chunk_no == 0 ? 0 : ch[1].chunk_no == 0 ? 1 : 2;
    for (int i = 0; i < 3; i++) {
        if (i == first_chunk)
            continue;
        char res[64];
        snprintf(res, sizeof(res), "[[1,\"m%lld\"]]", (long long)ch[i].chunk_no);
        CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[i], res, ch[i].count, 0, T + 20, &err),
                     0);
    }
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.done, 5 - ch[first_chunk].count);
    CHECK_EQ_INT(claim_of(j.id, T + 500, 1000, &ch[3]), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(claim_of(j.id, T + 2000, 1000, &ch[3]), 0);
    CHECK_EQ_INT(ch[3].chunk_no, 0);
    CHECK_EQ_STR(ch[3].items_json, c1[0]);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[first_chunk], "[[2,\"x\"],[2,\"y\"]]", 0, 2,
                                             T + 2100, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[3], "[[1,\"a\"],[2,\"no address\"]]", 1, 1,
                                             T + 2100, &err),
                 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, 5);
    CHECK_EQ_INT(got.ok, 4);
    CHECK_EQ_INT(got.failed, 1);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 0, 5, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 3);
    if (npg == 3) {
        CHECK_EQ_STR(pg[0].results_json, "[[1,\"a\"],[2,\"no address\"]]");
        CHECK_EQ_STR(pg[2].results_json, "[[1,\"m2\"]]");
        CHECK_EQ_INT(pg[0].done_ms, T + 2100);
    }

    /* a job started without items is finished at once */
    struct roster_job empty;
    memset(&empty, 0, sizeof(empty));
    memcpy(empty.org_id, org_b.id, sizeof(empty.org_id));
    empty.kind = ROSTER_JOB_MESSAGE;
    empty.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_open(conn, &empty, &err), 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_b.id, empty.id, T, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, empty.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.total, 0);

    /* concurrent appends never interleave: every chunk is one append's, indexes contiguous */
    memset(&mjob_conc, 0, sizeof(mjob_conc));
    memcpy(mjob_conc.org_id, org_b.id, sizeof(mjob_conc.org_id));
    mjob_conc.kind = ROSTER_JOB_MESSAGE;
    mjob_conc.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_open(conn, &mjob_conc, &err), 0);
    pthread_t th[2];
    static const char *tags[2] = {"[1,1]", "[2,2]"};
    int started = 0;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, mappender, (void *)tags[i]) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(started, 2);
    CHECK_EQ_INT(atomic_load(&mappend_errors), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, mjob_conc.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 2 * 2 * MAPPENDS);
    CHECK_EQ_INT(
        roster_store_job_chunks(conn, org_b.id, mjob_conc.id, 0, got.total, &A, &pg, &npg, &err),
        0);
    CHECK_EQ_INT(npg, 2 * MAPPENDS);
    int contiguous = 1, ones = 0;
    for (size_t i = 0; i < npg; i++) {
        contiguous &= pg[i].first_idx == (int64_t)(2 * i) && pg[i].count == 2;
        ones += strcmp(pg[i].items_json, tags[0]) == 0;
    }
    CHECK(contiguous);
    CHECK_EQ_INT(ones, MAPPENDS);

    /* user_resolve: by id, else by username ignoring case; only the organisation's users */
    struct roster_user ua, ub;
    make_user(&ua, "Resolve.Me", "resolve.me@example.com");
    ua.f[RU_FIRST_NAME] = "Res";
    ua.f[RU_PHONES] = "[{\"type\":\"work\",\"number\":\"+1 555 0100\"}]";
    CHECK_EQ_INT(create(org_a.id, &ua, &err), 0);
    make_user(&ub, "resolve.other", "resolve.other@example.com");
    CHECK_EQ_INT(create(org_b.id, &ub, &err), 0);
    const char *keys[] = {ua.id, "RESOLVE.ME", "nobody", NULL, ub.id, "resolve.other", ""};
    struct roster_user out[7];
    CHECK_EQ_INT(roster_store_user_resolve(conn, org_a.id, keys, 7, &A, out, &err), 0);
    CHECK_EQ_STR(out[0].id, ua.id);
    CHECK_EQ_STR(out[0].f[RU_EMAIL], "resolve.me@example.com");
    CHECK_EQ_STR(out[0].f[RU_FIRST_NAME], "Res");
    CHECK_EQ_STR(out[0].f[RU_PHONES], ua.f[RU_PHONES]);
    CHECK_EQ_STR(out[0].org_id, org_a.id);
    CHECK_EQ_STR(out[1].id, ua.id);
    CHECK_EQ_STR(out[1].f[RU_USERNAME], "Resolve.Me");
    CHECK_EQ_STR(out[2].id, "");
    CHECK_EQ_STR(out[3].id, "");
    CHECK_EQ_STR(out[4].id, "");
    CHECK_EQ_STR(out[5].id, "");
    CHECK_EQ_STR(out[6].id, "");
    /* a username that is another user's id: the id wins; an id of no user of the
     * organisation still matches a username */
    struct roster_user uc, ud;
    make_user(&uc, ua.id, "looks-like-an-id@example.com");
    CHECK_EQ_INT(create(org_a.id, &uc, &err), 0);
    make_user(&ud, ub.id, "looks-like-b@example.com");
    CHECK_EQ_INT(create(org_a.id, &ud, &err), 0);
    const char *k2[] = {ua.id, ub.id, uc.id};
    CHECK_EQ_INT(roster_store_user_resolve(conn, org_a.id, k2, 3, &A, out, &err), 0);
    CHECK_EQ_STR(out[0].id, ua.id);
    CHECK_EQ_STR(out[1].id, ud.id);
    CHECK_EQ_STR(out[2].id, uc.id);

    /* message_create_many: all or nothing */
    struct roster_message ms[3], mg;
    memset(ms, 0, sizeof(ms));
    const char *recips[3] = {"a@x.io", "b@x.io", "c\"d\\e@x.io"};
    for (int i = 0; i < 3; i++) {
        memcpy(ms[i].org_id, org_a.id, sizeof(ms[i].org_id));
        ms[i].kind = "bulk_message";
        ms[i].source_id = j.id;
        ms[i].recipient = recips[i];
        ms[i].content_json = "{\"event\":\"welcome\",\"data\":{\"n\":\"\\u00e9\"}}";
    }
    ms[1].user_id = ua.id;
    CHECK_EQ_INT(roster_store_message_create_many(conn, ms, 3, &err), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, ms[i].id, &mg, &A, &err), 0);
        CHECK_EQ_STR(mg.recipient, recips[i]);
        CHECK_EQ_STR(mg.kind, "bulk_message");
        CHECK_EQ_STR(mg.source_id, j.id);
        CHECK_EQ_STR(mg.status, "ENQUEUED");
        CHECK_EQ_STR(mg.content_json, ms[i].content_json);
        CHECK_EQ_STR(mg.user_id, i == 1 ? ua.id : NULL);
        CHECK(mg.created_ms > 0);
    }
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, ms[0].id, &mg, &A, &err),
                 ROSTER_ENOTFOUND);
    struct roster_message dup[2];
    memset(dup, 0, sizeof(dup));
    for (int i = 0; i < 2; i++) {
        memcpy(dup[i].org_id, org_a.id, sizeof(dup[i].org_id));
        dup[i].kind = "bulk_message";
    }
    memcpy(dup[1].id, ms[2].id, sizeof(dup[1].id)); /* taken */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_message_create_many(conn, dup, 2, &err), ROSTER_ECONFLICT);
    struct roster_message after = {0};
    memcpy(after.org_id, org_a.id, sizeof(after.org_id));
    after.kind = "bulk_message";
    CHECK_EQ_INT(roster_store_message_create_many(conn, &after, 1, &err), 0); /* goes on */
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, after.id, &mg, &A, &err), 0);
    CHECK_EQ_STR(dup[0].id, ""); /* the id made up for it was taken back */
    CHECK_EQ_STR(dup[1].id, ms[2].id);
    CHECK_EQ_INT(roster_store_message_create_many(conn, ms, 0, &err), 0);

    /* after a restart: a job still taking items is not run, a started one whose later
     * chunk was done first still has its first chunk to run */
    struct roster_job held, half;
    const char *one[] = {"[{\"recipient\":\"h\"}]", "[{\"recipient\":\"i\"}]"};
    const int64_t ones1[] = {1, 1};
    memset(&held, 0, sizeof(held));
    memcpy(held.org_id, org_a.id, sizeof(held.org_id));
    held.kind = ROSTER_JOB_MESSAGE;
    held.params_json = "{}";
    half = held;
    CHECK_EQ_INT(roster_store_job_open(conn, &held, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, held.id, one, ones1, 2, &first, &err), 0);
    CHECK_EQ_INT(roster_store_job_open(conn, &half, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, half.id, one, ones1, 2, &first, &err), 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, half.id, T, &err), 0);
    const int64_t R = T + 100000;
    struct roster_chunk h0, h1;
    CHECK_EQ_INT(claim_of(half.id, R, 60000, &h0), 0);
    CHECK_EQ_INT(claim_of(half.id, R, 60000, &h1), 0);
    struct roster_chunk *later = h0.chunk_no == 1 ? &h0 : &h1;
    CHECK_EQ_INT(later->chunk_no, 1);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, later, "[[1,\"x\"]]", 1, 0, R, &err), 0);
    roster_conn_close(conn);
    conn = NULL;
    roster_store_close(st);
    st = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st, &err), 0);
    if (!st || roster_conn_open(st, &conn, &err) != 0) {
        CHECK(0);
        return;
    }
    if (roster_store_flags(st) & ROSTER_STORE_EMBEDDED) /* as roster serve does */
        CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, held.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(got.total, 2);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, half.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.done, 1);
    const int64_t R2 = R + 120000; /* past the old leases */
    CHECK_EQ_INT(claim_of(half.id, R2, 60000, &h0), 0);
    CHECK_EQ_INT(h0.chunk_no, 0);
    /* (claim_of completes every other chunk it meets: the held job's would be lost) */
    CHECK_EQ_INT(claim_of(half.id, R2, 60000, &h1), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &h0, "[[1,\"y\"]]", 1, 0, R2, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, half.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, held.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.done, 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, held.id, R2, &err), 0);
    CHECK_EQ_INT(claim_of(held.id, R2, 60000, &h0), 0);
    CHECK_EQ_INT(h0.chunk_no, 0);

    /* larger batches (a backend may write them in groups): all, or none whichever message
     * fails, and the ids it made up are taken back */
    enum { NBIG = 41 };
    static struct roster_message big[NBIG];
    static char bigrecip[NBIG][16];
    for (int fail_at = -1; fail_at < NBIG; fail_at += fail_at < 0 ? 6 : 17) {
        memset(big, 0, sizeof(big));
        for (int i = 0; i < NBIG; i++) {
            memcpy(big[i].org_id, org_b.id, sizeof(big[i].org_id));
            big[i].kind = "bulk_message";
            snprintf(bigrecip[i], sizeof(bigrecip[i]), "r%d", i);
            big[i].recipient = bigrecip[i];
            big[i].content_json = "{}";
        }
        if (fail_at >= 0)
            memcpy(big[fail_at].id, ms[0].id, sizeof(big[fail_at].id)); /* taken (org_a's) */
        int rc = roster_store_message_create_many(conn, big, NBIG, &err);
        CHECK_EQ_INT(rc, fail_at < 0 ? 0 : ROSTER_ECONFLICT);
        int stored = 0, cleared = 0;
        for (int i = 0; i < NBIG; i++) {
            if (i == fail_at)
                continue;
            cleared += big[i].id[0] == '\0';
            if (big[i].id[0] &&
                roster_store_message_get(conn, org_b.id, big[i].id, &mg, &A, &err) == 0)
                stored += mg.recipient && strcmp(mg.recipient, bigrecip[i]) == 0;
        }
        CHECK_EQ_INT(stored, fail_at < 0 ? NBIG : 0);
        CHECK_EQ_INT(cleared, fail_at < 0 ? 0 : NBIG - 1);
    }
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
static void test_grouped_list_writes(void)
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

static const char *const PL_LAST[] = {"Lovelace", "Turing", "Liskov", "Shannon", "Knuth",
                                      "Dijkstra", "Allen",  "Hopper", "Lamarr",  "Cerf"};
static const char *const PL_FIRST[] = {"Ada",    "Alan",  "Barbara", "Claude", "Donald",
                                       "Edsger", "Grace", "Ken",     "Radia",  "Vint"};
static const char *const PL_DEPT[] = {"Engineering", "Sales", "Support", "Legal"};

static uint64_t pl_rnd = 88172645463325252ull;
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
    static const int sorts[] = {RU_USERNAME,    RU_EMAIL,         RU_FIRST_NAME,
                                RU_MIDDLE_NAME, RU_LAST_NAME,     RU_DISPLAY_NAME,
                                RU_EMPLOYEE_ID, RU_DEPARTMENT,    RU_COST_CENTER,
                                RU_COMPANY,     RU_JOB_TITLE,     RU_LOCATION,
                                RU_MANAGER,     RU_EMPLOYEE_TYPE, RU_ALTERNATE_EMAIL,
                                RU_DESCRIPTION, RU_COUNTRY_CODE,  RQ_STATE,
                                RQ_ID,          RQ_CREATED,       RQ_NUM_ID};
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

static void test_list_plans(void)
{
    struct roster_err err = {0};
    make_org(&org_p, "Org P");
    struct roster_group app = {.kind = ROSTER_GROUP_APPLICATION, .name = "plans-app"};
    struct roster_group sk1 = {.kind = ROSTER_GROUP_SKILL, .name = "plans-s1"};
    struct roster_group sk2 = {.kind = ROSTER_GROUP_SKILL, .name = "plans-s2"};
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &app, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &sk1, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_p.id, &sk2, &err), 0);
    /* 10,000 users, as the issue's plan test asks */
    enum { PL_N = 10000, PL_BATCH = 1000 };
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
    static struct pl_case cases[128];
    size_t nc = pl_cases(cases, 128, "p", app.num_id, sk1.num_id, sk2.num_id);
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

static void test_list_exact(void)
{
    struct roster_err err = {0};
    make_org(&org_x, "Org X");
    struct roster_group app = {.kind = ROSTER_GROUP_APPLICATION, .name = "x-app"};
    struct roster_group sk1 = {.kind = ROSTER_GROUP_SKILL, .name = "x-s1"};
    struct roster_group sk2 = {.kind = ROSTER_GROUP_SKILL, .name = "x-s2"};
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &app, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &sk1, &err), 0);
    CHECK_EQ_INT(roster_store_group_create(conn, org_x.id, &sk2, &err), 0);
    enum { XN = 600 };
    static struct roster_user u[XN];
    static int rcs[XN];
    static struct roster_err errs[XN];
    static int64_t nums[XN];
    for (int i = 0; i < XN; i++)
        gen_user(&u[i], i, "x");
    CHECK_EQ_INT(create_many(org_x.id, u, XN, rcs, errs), 0);
    for (int i = 0; i < XN; i++)
        nums[i] = u[i].num_id;
    CHECK_EQ_INT(roster_store_group_bind(conn, org_x.id, &app.num_id, 1, nums, XN, true, &err), 0);
    static int64_t half[XN];
    size_t nh = 0;
    for (int i = 0; i < XN; i += 3)
        half[nh++] = nums[i];
    CHECK_EQ_INT(roster_store_group_bind(conn, org_x.id, &sk1.num_id, 1, half, nh, true, &err), 0);
    static struct pl_case cases[128];
    size_t nc = pl_cases(cases, 128, "x", app.num_id, sk1.num_id, sk2.num_id);
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
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    struct roster_arena a;
    roster_arena_init(&a, 0);
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&xr_bad, 1);
        return NULL;
    }
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

static void test_list_reader_writer(void)
{
    struct roster_err err = {0};
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
static void test_list_kept(void)
{
    struct roster_err err = {0};
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: contract <store-url>  (a fresh store)\n");
        return 2;
    }
    url = argv[1];
    roster_arena_init(&A, 0);
    struct roster_err err = {0};
    int rc = roster_store_open(url, &st, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "cannot open %s: %s (%s)\n", url, err.msg, err.detail);
        test_finish();
        return 1;
    }
    rc = roster_conn_open(st, &conn, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "cannot connect: %s (%s)\n", err.msg, err.detail);
        roster_store_close(st);
        test_finish();
        return 1;
    }
    test_orgs();
    test_keys();
    test_user_crud();
    test_conflicts();
    test_isolation();
    test_state_only_update();
    test_transactions();
    test_list();
    test_list_paging_writes();
    test_list_render();
    test_list_render_dense();
    test_read_span();
    test_jobs();
    test_concurrent_claims();
    test_submit_during_write();
    test_schedule_create();
    test_schedule_list();
    test_schedule_next();
    test_schedule_claim();
    test_schedule_concurrent();
    test_messages();
    test_service_keys();
    test_groups();
    test_user_create_many();
    test_user_create_many_ids();
    test_user_create_many_txn();
    test_user_create_many_big();
    test_user_create_many_race();
    test_user_get_many();
    test_user_update_many();
    test_user_update_many_big();
    test_grouped_list_writes();
    test_list_plans();
    test_list_exact();
    test_list_reader_writer();
    test_list_kept();
    test_reopen();
    if (conn)
        test_message_jobs();
    roster_conn_close(conn);
    roster_store_close(st);
    roster_arena_release(&A);
    return test_finish();
}
