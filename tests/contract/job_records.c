/* Store contract suite (contract.h): jobs applied by their creator (job_record_create,
 * job_record_chunk; a local roster import): running until finished, never claimed, results
 * served by job_results in item order, a range never recorded twice, a recording inside a
 * caller's transaction rolled back with it, isolation between organisations, and the job id
 * kept in the import progress.
 */
#include <string.h>

#include "contract.h"

static int record(const char *org_id, const char *job_id, int64_t first, int64_t count,
                  const char *results, int64_t nok, int64_t nfailed, bool finished)
{
    struct roster_err err = {0};
    return roster_store_job_record_chunk(conn, org_id, job_id, first, count, results, nok, nfailed,
                                         finished, roster_now_ms(), &err);
}

void test_job_records(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_job job = {0}, got;
    memcpy(job.org_id, org_a.id, sizeof(job.org_id));
    job.kind = ROSTER_JOB_IMPORT;
    job.params_json = "{\"source\":\"test\"}";
    /* not bulk work waiting for the server: neither the quota nor the queue counts it
     * (compared below, with the job running) */
    int64_t njobs = -1, nitems = -1;
    struct roster_queue_stats qs;
    CHECK_EQ_INT(roster_store_job_usage(conn, org_a.id, &njobs, &nitems, &err), 0);
    int64_t jobs_before = njobs;
    CHECK_EQ_INT(roster_store_queue_stats(conn, &qs, &err), 0);
    int64_t open_before = qs.jobs_open;
    /* created in a transaction that rolls back: no job */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_record_create(conn, &job, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, job.id, &got, &A, &err), ROSTER_ENOTFOUND);
    /* created again with the same id, committed: running, empty */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_record_create(conn, &job, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, job.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.kind, ROSTER_JOB_IMPORT);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.total, 0);
    CHECK_EQ_STR(got.params_json, "{\"source\":\"test\"}");
    CHECK_EQ_INT(roster_store_job_record_create(conn, &job, &err), ROSTER_ECONFLICT);
    /* another organisation does not see it, nor record into it */
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, job.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(record(org_b.id, job.id, 0, 1, "[[1,\"\",null,1,null,null,null]]", 1, 0, false),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(record(org_a.id, "0123456789abcdef01234567", 0, 1,
                        "[[1,\"\",null,1,null,null,null]]", 1, 0, false),
                 ROSTER_ENOTFOUND);
    /* two ranges, the second inside a transaction */
    CHECK_EQ_INT(
        record(org_a.id, job.id, 0, 2,
               "[[1,\"user created\",\"a\",1,\"u0\",null,null],[2,\"bad\",null,1,null,null,"
               "\"email\"]]",
               1, 1, false),
        0);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(record(org_a.id, job.id, 2, 1, "[[1,\"user created\",\"b\",1,\"u2\",null,null]]",
                        1, 0, false),
                 0);
    /* the same range again: refused, and the transaction goes on */
    CHECK_EQ_INT(
        record(org_a.id, job.id, 2, 1, "[[1,\"again\",\"c\",1,null,null,null]]", 1, 0, false),
        ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    /* a range in a transaction rolled back is not there */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(
        record(org_a.id, job.id, 3, 1, "[[1,\"lost\",\"d\",1,null,null,null]]", 1, 0, true), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, job.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.total, 3);
    CHECK_EQ_INT(roster_store_job_usage(conn, org_a.id, &njobs, &nitems, &err), 0);
    CHECK_EQ_INT(njobs, jobs_before);
    CHECK_EQ_INT(roster_store_queue_stats(conn, &qs, &err), 0);
    CHECK_EQ_INT(qs.jobs_open, open_before);
    CHECK_EQ_INT(got.done, 3);
    CHECK_EQ_INT(got.ok, 2);
    CHECK_EQ_INT(got.failed, 1);
    /* never claimed */
    struct roster_chunk ch;
    int64_t now = roster_now_ms();
    for (int i = 0; i < 3; i++) {
        int rc = roster_store_chunk_claim(conn, now, 60000, &ch, &A, &err);
        CHECK(rc == ROSTER_ENOTFOUND || strcmp(ch.job_id, job.id) != 0);
    }
    /* results in item order, from any item on */
    struct roster_chunk_results *res;
    size_t n;
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, job.id, 0, 3, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(res[0].first_idx, 0);
    CHECK_EQ_INT(res[0].count, 2);
    CHECK(res[0].results_json && strstr(res[0].results_json, "\"u0\""));
    CHECK_EQ_INT(res[1].first_idx, 2);
    CHECK_EQ_INT(res[1].count, 1);
    CHECK(res[1].results_json && strstr(res[1].results_json, "\"u2\""));
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, job.id, 1, 2, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(res[0].first_idx, 0);
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, job.id, 2, 10, &A, &res, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(res[0].first_idx, 2);
    CHECK_EQ_INT(roster_store_job_results(conn, org_b.id, job.id, 0, 3, &A, &res, &n, &err),
                 ROSTER_ENOTFOUND);
    /* finished, with no more items */
    CHECK_EQ_INT(record(org_a.id, job.id, 3, 0, "[]", 0, 0, true), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, job.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.total, 3);
    CHECK_EQ_INT(got.done, 3);
    /* the job id in the import progress */
    struct roster_import_progress p = {.file_key = "/x.csv|1|2", .rows_done = 3, .counts = "[2]"};
    memcpy(p.org_id, org_a.id, ROSTER_ID_LEN);
    memcpy(p.job_id, job.id, ROSTER_ID_LEN);
    CHECK_EQ_INT(roster_store_import_progress_put(conn, &p, &err), 0);
    struct roster_import_progress gp;
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, p.file_key, &gp, &A, &err), 0);
    CHECK_EQ_STR(gp.job_id, job.id);
    p.job_id[0] = '\0';
    CHECK_EQ_INT(roster_store_import_progress_put(conn, &p, &err), 0);
    CHECK_EQ_INT(roster_store_import_progress_get(conn, org_a.id, p.file_key, &gp, &A, &err), 0);
    CHECK_EQ_STR(gp.job_id, "");
    p.rows_done = -1;
    CHECK_EQ_INT(roster_store_import_progress_put(conn, &p, &err), 0);
}
