/* Store contract suite (contract.h): the progress of roster import (import_progress_get,
 * import_progress_put) and bulk_hint: replace in place, removal, isolation between
 * organisations, and a put inside a caller's transaction that is rolled back with it.
 */
#include <string.h>

#include "contract.h"

static void put(const char *org_id, const char *key, int64_t rows, const char *counts)
{
    struct roster_err err = {0};
    struct roster_import_progress p = {.file_key = key, .rows_done = rows, .counts = counts};
    memcpy(p.org_id, org_id, ROSTER_ID_LEN);
    CHECK_EQ_INT(roster_store_import_progress_put(conn, &p, &err), 0);
}

void test_import_progress(void)
{
    struct roster_err err = {0};
    struct roster_import_progress got;
    need_orgs();
    const char *key = "/data/hr.csv|1234|1700000000.000000001";
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    int64_t before = roster_now_ms();
    put(org_a.id, key, 10000, "[10000,0,0,0,0,0,0]");
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err), 0);
    CHECK_EQ_INT(got.rows_done, 10000);
    CHECK_EQ_STR(got.counts, "[10000,0,0,0,0,0,0]");
    CHECK_EQ_STR(got.file_key, key);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK(got.updated_ms >= before);
    /* replaced in place */
    put(org_a.id, key, 20000, "[19990,0,0,0,10,0,0]");
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err), 0);
    CHECK_EQ_INT(got.rows_done, 20000);
    CHECK_EQ_STR(got.counts, "[19990,0,0,0,10,0,0]");
    /* another organisation has none, and its own is apart */
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_b.id, key, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    put(org_b.id, key, 5, "[5,0,0,0,0,0,0]");
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err), 0);
    CHECK_EQ_INT(got.rows_done, 20000);
    /* inside a transaction that is rolled back: nothing changes */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    put(org_a.id, key, 30000, "[30000,0,0,0,0,0,0]");
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err), 0);
    CHECK_EQ_INT(got.rows_done, 20000);
    /* removal */
    put(org_a.id, key, -1, NULL);
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, key, &got, &A, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_b.id, key, &got, &A, &err), 0);
    put(org_b.id, key, -1, NULL);
    /* a missing organisation's progress is missing */
    CHECK_EQ_INT(
        roster_store_import_progress_get(conn, "0123456789abcdef01234567", key, &got, &A, &err),
        ROSTER_ENOTFOUND);
    /* the hint is accepted and the connection still works */
    CHECK_EQ_INT(roster_store_bulk_hint(conn, (int64_t)64 << 20, &err), 0);
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_b.id, key, &got, &A, &err),
                 ROSTER_ENOTFOUND);
}

/* bulk_load on a store that holds users: refused (ROSTER_ENOTFOUND) with nothing changed,
 * the unique indexes in place; END with no load is a no-op; outside a transaction EINVAL.
 * The load itself needs a store without users: tests/api/import_load.test.mjs runs it on
 * fresh stores of both backends. */
void test_bulk_load(void)
{
    need_orgs();
    struct roster_err err = {0};
    struct roster_user u;
    make_user(&u, "bulkload1", "bulkload1@example.com");
    CHECK_EQ_INT(roster_store_user_create(conn, org_a.id, &u, &err), 0);
    CHECK_EQ_INT(roster_store_bulk_load(conn, ROSTER_BULK_LOAD_BEGIN, &err), ROSTER_EINVAL);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_bulk_load(conn, ROSTER_BULK_LOAD_END, &err), 0);
    CHECK_EQ_INT(roster_store_bulk_load(conn, ROSTER_BULK_LOAD_BEGIN, &err), ROSTER_ENOTFOUND);
    roster_store_rollback(conn);
    struct roster_user again;
    make_user(&again, "BULKLOAD1", "other-bulkload1@example.com");
    CHECK_EQ_INT(roster_store_user_create(conn, org_a.id, &again, &err), ROSTER_ECONFLICT);
}
