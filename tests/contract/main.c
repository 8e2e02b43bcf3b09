/* The store contract suite: every method of include/roster/store.h against a fresh store,
 * through the public interface only, so that each backend (SQLite and PostgreSQL) runs the
 * same checks. The tests are in the files beside this one, by area (contract.h); this file
 * is the runner:
 *   contract <store-url> [NAME...]  every test in the table's order, or only those whose
 *                                   name contains one of the NAMEs (=NAME: exactly NAME)
 *   contract [<store-url>] --list [NAME...]  the names of those tests, one a line
 * The store is a new SQLite file path or an empty PostgreSQL database. Prints a line per
 * test and "N passed, N failed" last; exits 1 on a failed check, 2 on a usage error (also a
 * NAME that selects no test).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TEST_DEFINE_COUNTERS
#include "contract.h"

/* Every test, in the order of a whole run. Each also runs alone on a fresh store: what it
 * needs that another test would make (an organisation, the schedule tests' changes) it
 * makes through a fixture of contract.h unless a test before it in the same run did. Some
 * need what only a fresh store has (jobs and concurrent_claims: no chunk to claim;
 * schedule_create: nothing scheduled) and so come before those that leave such things;
 * job_usage and message_jobs complete every chunk they meet and come last. */
static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"orgs", test_orgs},
    {"keys", test_keys},
    {"user_crud", test_user_crud},
    {"conflicts", test_conflicts},
    {"isolation", test_isolation},
    {"scim_fields", test_scim_fields},
    {"state_only_update", test_state_only_update},
    {"transactions", test_transactions},
    {"list", test_list},
    {"list_paging_writes", test_list_paging_writes},
    {"list_render", test_list_render},
    {"list_render_dense", test_list_render_dense},
    {"read_span", test_read_span},
    {"users_scan", test_users_scan},
    {"jobs", test_jobs},
    {"concurrent_claims", test_concurrent_claims},
    {"submit_during_write", test_submit_during_write},
    {"schedule_create", test_schedule_create},
    {"schedule_list", test_schedule_list},
    {"schedule_next", test_schedule_next},
    {"schedule_claim", test_schedule_claim},
    {"schedule_concurrent", test_schedule_concurrent},
    {"schedule_queue_stats", test_schedule_queue_stats},
    {"messages", test_messages},
    {"service_keys", test_service_keys},
    {"groups", test_groups},
    {"group_members", test_group_members},
    {"core_create_many", test_core_create_many},
    {"user_create_many", test_user_create_many},
    {"user_create_many_ids", test_user_create_many_ids},
    {"user_create_many_txn", test_user_create_many_txn},
    {"user_create_many_big", test_user_create_many_big},
    {"user_create_many_race", test_user_create_many_race},
    {"user_get_many", test_user_get_many},
    {"user_update_many", test_user_update_many},
    {"user_update_many_big", test_user_update_many_big},
    {"grouped_list_writes", test_grouped_list_writes},
    {"list_plans", test_list_plans},
    {"list_exact", test_list_exact},
    {"list_reader_writer", test_list_reader_writer},
    {"list_kept", test_list_kept},
    {"reopen", test_reopen},
    {"fault_bulk_job", test_fault_bulk_job},
    {"fault_scheduler", test_fault_scheduler},
    {"fault_message_job", test_fault_message_job},
    {"job_usage", test_job_usage},
    {"message_jobs", test_message_jobs},
    {"job_input_purge", test_job_input_purge},
    {"delivery_claims", test_delivery_claims},
    {"delivery_concurrent", test_delivery_concurrent},
    {"idem_keys", test_idem_keys},
    {"idem_race", test_idem_race},
    {"idem_purge", test_idem_purge},
    {"templates", test_templates},
    {"import_progress", test_import_progress},
    {"bulk_load", test_bulk_load},
    {"job_records", test_job_records},
    {"webhooks", test_webhooks},
    {"delivery_channels", test_delivery_channels},
    {"delivery_outbox", test_delivery_outbox},
};
enum { NTESTS = sizeof(tests) / sizeof(tests[0]) };

static const char usage[] =
    "usage: contract <store-url> [NAME...]\n"
    "       contract [<store-url>] --list [NAME...]\n"
    "Runs every test of the store contract suite in order, or only those whose name contains\n"
    "one of the NAMEs (=NAME: the test named NAME exactly); --list prints their names.\n"
    "<store-url>: a new SQLite file path, or an empty PostgreSQL database (postgresql://...)\n";

static bool selects(const char *filter, const char *name)
{
    if (filter[0] == '=')
        return strcmp(name, filter + 1) == 0;
    return strstr(name, filter) != NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    bool list = false, filtered = false, run[NTESTS] = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    int i = 1;
    if (i < argc && strcmp(argv[i], "--list") == 0) {
        list = true;
        i++;
    } else if (i < argc && argv[i][0] != '-') {
        url = argv[i++];
    } else {
        fputs(usage, stderr);
        return 2;
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = true;
            continue;
        }
        if (argv[i][0] == '-' || argv[i][0] == '\0') {
            fprintf(stderr, "contract: unknown option \"%s\"\n%s", argv[i], usage);
            return 2;
        }
        bool any = false;
        for (int t = 0; t < NTESTS; t++)
            if (selects(argv[i], tests[t].name))
                any = run[t] = true;
        if (!any) {
            fprintf(stderr, "contract: no test %s \"%s\" (contract --list prints them)\n",
                    argv[i][0] == '=' ? "is named" : "name contains",
                    argv[i][0] == '=' ? argv[i] + 1 : argv[i]);
            return 2;
        }
        filtered = true;
    }
    if (!filtered)
        for (int t = 0; t < NTESTS; t++)
            run[t] = true;
    if (list) {
        for (int t = 0; t < NTESTS; t++)
            if (run[t])
                printf("%s\n", tests[t].name);
        return 0;
    }

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
    for (int t = 0; t < NTESTS; t++) {
        if (!run[t])
            continue;
        int passed = test_passed_, failed = test_failed_;
        double t0 = now_s();
        tests[t].fn();
        printf("%s: %d passed, %d failed (%.2f s)\n", tests[t].name, test_passed_ - passed,
               test_failed_ - failed, now_s() - t0);
        fflush(stdout);
        roster_arena_clear(&A);
        /* a test that reopens the store and fails to leaves nothing to run the others on */
        if (!st || !conn) {
            test_record_(0, __FILE__, __LINE__, "a store connection after this test");
            fprintf(stderr,
                    "contract: no store connection after %s; the tests after it did "
                    "not run\n",
                    tests[t].name);
            break;
        }
    }
    roster_conn_close(conn);
    roster_store_close(st);
    roster_arena_release(&A);
    return test_finish();
}
