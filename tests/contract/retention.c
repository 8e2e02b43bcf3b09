/* Store contract suite (contract.h): purging the input of finished bulk jobs
 * (job_input_purge): only finished jobs of the kind asked, only those finished before the
 * cut, at most max chunks a call; results and progress stay.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* A job of kind in org_a with chunks items[0..n) of one item each. */
static void make_job(struct roster_job *j, int kind, const char *const *items, size_t n)
{
    struct roster_err err = {0};
    int64_t counts[4] = {1, 1, 1, 1};
    memset(j, 0, sizeof(*j));
    memcpy(j->org_id, org_a.id, sizeof(j->org_id));
    j->kind = kind;
    j->params_json = "{}";
    CHECK_EQ_INT(roster_store_job_create(conn, j, items, counts, n, &err), 0);
}

/* Claims and completes every chunk of job j at now. */
static void finish_job(const struct roster_job *j, int64_t now)
{
    struct roster_err err = {0};
    struct roster_chunk ch;
    for (int64_t i = 0; i < j->total; i++) {
        CHECK_EQ_INT(claim_of(j->id, now, 60000, &ch), 0);
        CHECK_EQ_INT(
            roster_store_chunk_complete(conn, &ch, "[{\"status\":\"ok\"}]", 1, 0, now, &err), 0);
    }
}

/* The stored input of j's chunks, joined with "|". */
static const char *inputs(const struct roster_job *j)
{
    struct roster_err err = {0};
    struct roster_chunk_page *pages = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_job_chunks(conn, j->org_id, j->id, 0, j->total, &A, &pages, &n, &err),
                 0);
    char *out = roster_arena_zalloc(&A, 256);
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 256 - strlen(out), "%s%s", i ? "|" : "",
                 pages[i].items_json ? pages[i].items_json : "NULL");
    return out;
}

static size_t purge(int kind, int64_t before_ms, size_t max)
{
    struct roster_err err = {0};
    size_t n = 99;
    int rc = roster_store_job_input_purge(conn, kind, before_ms, max, &n, &err);
    if (rc)
        fprintf(stderr, "    job_input_purge: %s (%s)\n", err.msg, err.detail);
    CHECK_EQ_INT(rc, 0);
    return n;
}

void test_job_input_purge(void)
{
    need_orgs();
    /* what the tests before left: their open chunks completed, every finished job purged,
     * so that the counts below are this test's own */
    struct roster_chunk none;
    char nojob[ROSTER_ID_LEN + 1];
    roster_id_new(nojob);
    CHECK_EQ_INT(claim_of(nojob, roster_now_ms(), 60000, &none), ROSTER_ENOTFOUND);
    while (purge(ROSTER_JOB_USERS_CREATE, INT64_MAX, 100000) > 0)
        ;
    while (purge(ROSTER_JOB_USERS_UPDATE, INT64_MAX, 100000) > 0)
        ;
    const char *in1[] = {"[\"secret-a\"]", "[\"secret-b\"]"};
    const char *in2[] = {"[\"still-running\"]"};
    const char *in3[] = {"[\"other-kind\"]"};
    struct roster_job done, running, other;
    make_job(&done, ROSTER_JOB_USERS_CREATE, in1, 2);
    make_job(&other, ROSTER_JOB_USERS_UPDATE, in3, 1);
    int64_t t = roster_now_ms();
    finish_job(&done, t);
    finish_job(&other, t);
    make_job(&running, ROSTER_JOB_USERS_CREATE, in2, 1); /* after: claim_of would finish it */

    /* finished at t: not before t, so a cut at t purges nothing */
    CHECK_EQ_INT(purge(ROSTER_JOB_USERS_CREATE, t, 100), 0);
    CHECK_EQ_STR(inputs(&done), "[\"secret-a\"]|[\"secret-b\"]");

    /* past the cut: a call stops once max chunks are emptied (a backend may empty a job's
     * chunks together), the next goes on, until none is left */
    size_t first = purge(ROSTER_JOB_USERS_CREATE, t + 1, 1);
    CHECK(first == 1 || first == 2);
    CHECK_EQ_INT(first + purge(ROSTER_JOB_USERS_CREATE, t + 1, 100), 2);
    CHECK_EQ_INT(purge(ROSTER_JOB_USERS_CREATE, t + 1, 100), 0);
    CHECK_EQ_STR(inputs(&done), "[]|[]");
    CHECK_EQ_STR(inputs(&running), "[\"still-running\"]"); /* not finished */
    CHECK_EQ_STR(inputs(&other), "[\"other-kind\"]");      /* another kind */

    /* progress and results stay */
    struct roster_err err = {0};
    struct roster_job got;
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, done.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, 2);
    CHECK_EQ_INT(got.ok, 2);
    struct roster_chunk_results *res = NULL;
    size_t nres = 0;
    CHECK_EQ_INT(roster_store_job_results(conn, org_a.id, done.id, 0, 2, &A, &res, &nres, &err), 0);
    CHECK_EQ_INT(nres, 2);
    if (nres == 2) {
        CHECK_EQ_STR(res[0].results_json, "[{\"status\":\"ok\"}]");
        CHECK_EQ_INT(res[1].first_idx, 1);
    }

    /* the other kind, and the running job once it finishes */
    CHECK_EQ_INT(purge(ROSTER_JOB_USERS_UPDATE, t + 1, 100), 1);
    CHECK_EQ_STR(inputs(&other), "[]");
    finish_job(&running, t + 5);
    CHECK_EQ_INT(purge(ROSTER_JOB_USERS_CREATE, t + 5, 100), 0);
    CHECK_EQ_INT(purge(ROSTER_JOB_USERS_CREATE, t + 6, 100), 1);
    CHECK_EQ_STR(inputs(&running), "[]");
}
