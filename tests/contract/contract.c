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
    CHECK_EQ_INT(roster_store_user_list(conn, org_a.id, &q, &A, &rows, &n, NULL, &err), 0);
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
    CHECK_EQ_INT(roster_store_user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(total, (int64_t)n);
    int leaked = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].org_id, org_b.id) != 0 || strcmp(rows[i].id, u.id) == 0)
            leaked++;
    CHECK_EQ_INT(leaked, 0);
    struct roster_qval val = {.s = "isolated"};
    q.filters[0] = (struct roster_filter){RU_USERNAME, ROSTER_OP_EQ, &val, 1};
    q.nfilters = 1;
    CHECK_EQ_INT(roster_store_user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_INT(roster_store_user_list(conn, org_a.id, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 1);

    /* an organisation that does not exist has no users and takes none */
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_user_get(conn, nowhere, u.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_delete(conn, nowhere, u.id, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_update(conn, nowhere, &upd, &err), ROSTER_ENOTFOUND);
    q.nfilters = 0;
    total = -1;
    CHECK_EQ_INT(roster_store_user_list(conn, nowhere, &q, &A, &rows, &n, &total, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(total, 0);
    struct roster_user orphan;
    make_user(&orphan, "orphan", "orphan@example.com");
    CHECK_EQ_INT(roster_store_user_create(conn, nowhere, &orphan, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, u.id, &got, &A, &err), 0);
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
    CHECK_EQ_INT(roster_store_user_list(conn, org_b.id, &q, &A, &rows, &n, &total, &err), 0);
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
    int rc = roster_store_user_list(conn, org_l.id, q, &A, &rows, &n, total, &err);
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

    /* sorting, with id ascending as the tiebreak in both directions */
    qinit(&q);
    q.sorts[q.nsorts++] = (struct roster_sort){RU_LAST_NAME, false};
    CHECK_EQ_STR(run(&q, NULL), "frank,dave,bob,eve,alice,carol,alfred,albert");
    q.sorts[0].desc = true;
    CHECK_EQ_STR(run(&q, NULL), "albert,alice,carol,alfred,bob,eve,dave,frank");
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
    CHECK_EQ_INT(roster_store_user_list(conn, org_l.id, &q, &A, &rows, &n, NULL, &err), 0);
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
    /* ids keep growing after a reopen */
    struct roster_user nu;
    make_user(&nu, "after-reopen", "after-reopen@example.com");
    CHECK_EQ_INT(create(org_a.id, &nu, &err), 0);
    CHECK(nu.num_id > u.num_id);
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
    test_transactions();
    test_list();
    test_jobs();
    test_concurrent_claims();
    test_reopen();
    roster_conn_close(conn);
    roster_store_close(st);
    roster_arena_release(&A);
    return test_finish();
}
