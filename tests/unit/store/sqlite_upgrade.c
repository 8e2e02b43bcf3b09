/* Upgrading a SQLite store written before job input moved to the intake file (schema 3):
 * a file at schema 2 with a half-done job opens, keeps the job's progress and results, and
 * the job's remaining chunk is claimed with its input and can be completed.
 * Usage: unit_store_sqlite_upgrade [dir]  (a scratch directory; default /tmp)
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roster/store.h"
#include "store/sqlite/sqlite_int.h"
#include "test.h"

#define ORG "6b0000000000000000000001"
#define JOB "6b0000000000000000000002"

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "    sqlite: %s\n", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc;
}

/* A store as roster wrote it at schema 2: migrations 0001 and 0002 applied, one
 * organisation, one job of two chunks whose first chunk is done. */
static int write_schema2_store(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    int rc = exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE schema_version (version INTEGER"
                      " PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)");
    for (int i = 0; rc == SQLITE_OK && roster_sqlite_migrations[i].name; i++) {
        if (strtol(roster_sqlite_migrations[i].name, NULL, 10) > 2)
            break;
        rc = exec(db, roster_sqlite_migrations[i].sql);
    }
    if (rc == SQLITE_OK)
        rc = exec(db,
                  "INSERT INTO schema_version VALUES (1, '0001_init', 1), (2, '0002_schedules', 2);"
                  "INSERT INTO orgs (id, name, created_ms) VALUES ('" ORG "', 'Old', 1);"
                  "INSERT INTO jobs (id, org_id, kind, status, total, done, ok, failed,"
                  " next_chunk, params_json, created_ms, updated_ms)"
                  " VALUES ('" JOB "', '" ORG "', 1, 1, 3, 2, 1, 1, 1, '{\"codec\":\"x\"}',"
                  " 1000, 2000);"
                  "INSERT INTO chunks (job_id, chunk_no, first_idx, count, done, done_ms,"
                  " results_json) VALUES ('" JOB "', 0, 0, 2, 1, 2000, '[\"r0\",\"r1\"]'),"
                  " ('" JOB "', 1, 2, 1, 0, NULL, NULL);"
                  "INSERT INTO chunk_items (job_id, chunk_no, items_json)"
                  " VALUES ('" JOB "', 0, '[\"i0\",\"i1\"]'), ('" JOB "', 1, '[\"i2\"]');");
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/roster-upgrade-%ld.db", argc > 1 ? argv[1] : "/tmp",
             (long)getpid());
    char intake[600];
    snprintf(intake, sizeof(intake), "%s.jobs", path);
    int ok = write_schema2_store(path) == 0;
    CHECK(ok);
    struct roster_err err = {0};
    struct roster_store *st = NULL;
    struct roster_conn *c = NULL;
    struct roster_arena a;
    roster_arena_init(&a, 0);
    if (ok && roster_store_open(path, &st, &err) != 0)
        fprintf(stderr, "    open: %s (%s)\n", err.msg, err.detail);
    CHECK(st != NULL);
    if (st)
        CHECK_EQ_INT(roster_conn_open(st, &c, &err), 0);
    if (c) {
        struct roster_job j;
        CHECK_EQ_INT(roster_store_job_get(c, ORG, JOB, &j, &a, &err), 0);
        CHECK_EQ_INT(j.total, 3);
        CHECK_EQ_INT(j.done, 2);
        CHECK_EQ_INT(j.ok, 1);
        CHECK_EQ_INT(j.failed, 1);
        CHECK_EQ_INT(j.status, ROSTER_JOB_RUNNING);
        CHECK_EQ_INT(j.created_ms, 1000);
        CHECK_EQ_INT(j.updated_ms, 2000);
        CHECK_EQ_STR(j.params_json, "{\"codec\":\"x\"}");

        struct roster_chunk_results *res = NULL;
        size_t n = 0;
        CHECK_EQ_INT(roster_store_job_results(c, ORG, JOB, 0, 3, &a, &res, &n, &err), 0);
        CHECK_EQ_INT(n, 2);
        if (n == 2) {
            CHECK_EQ_STR(res[0].results_json, "[\"r0\",\"r1\"]");
            CHECK_EQ_INT(res[0].done_ms, 2000);
            CHECK(res[1].results_json == NULL);
            CHECK_EQ_INT(res[1].first_idx, 2);
        }

        struct roster_chunk ch;
        int rc = roster_store_chunk_claim(c, roster_now_ms(), 60000, &ch, &a, &err);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0) {
            CHECK_EQ_STR(ch.job_id, JOB);
            CHECK_EQ_INT(ch.chunk_no, 1);
            CHECK_EQ_INT(ch.first_idx, 2);
            CHECK_EQ_STR(ch.items_json, "[\"i2\"]");
            CHECK_EQ_INT(roster_store_chunk_complete(c, &ch, "[\"r2\"]", 1, 0, 3000, &err), 0);
            CHECK_EQ_INT(roster_store_job_get(c, ORG, JOB, &j, &a, &err), 0);
            CHECK_EQ_INT(j.status, ROSTER_JOB_FINISHED);
            CHECK_EQ_INT(j.done, 3);
            CHECK_EQ_INT(j.ok, 2);
        }
        CHECK_EQ_INT(roster_store_chunk_claim(c, roster_now_ms(), 60000, &ch, &a, &err),
                     ROSTER_ENOTFOUND);
    }
    roster_conn_close(c);
    roster_store_close(st);
    /* opening the upgraded store again changes nothing */
    st = NULL;
    c = NULL;
    CHECK_EQ_INT(roster_store_open(path, &st, &err), 0);
    if (st && roster_conn_open(st, &c, &err) == 0) {
        struct roster_job j;
        CHECK_EQ_INT(roster_store_job_get(c, ORG, JOB, &j, &a, &err), 0);
        CHECK_EQ_INT(j.done, 3);
    }
    roster_conn_close(c);
    roster_store_close(st);
    roster_arena_release(&a);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s%s", intake, suffixes[i]);
        unlink(p);
    }
    return test_finish();
}
