/* The store contract suite: every method of include/roster/store.h against a fresh store,
 * through the public interface only, so that each backend (SQLite and PostgreSQL) runs the
 * same checks. Usage: contract <store-url>  (a new SQLite file path, or an empty PostgreSQL
 * database). Prints "N passed, N failed" last. The tests are in the files beside this one,
 * by area (contract.h).
 */
#include <stdio.h>

#define TEST_DEFINE_COUNTERS
#include "contract.h"

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
