/* Store contract suite (contract.h): job_usage, the counts behind the quotas
 * --max-open-jobs and --max-pending-items: an organisation's jobs not finished yet (user
 * jobs with items to do, message jobs taking items or running) and their items without a
 * result, as jobs are created, opened, appended to, started and completed; other
 * organisations' jobs never counted; the same counts from a second handle opened on the
 * store afterwards (what a restart reads). Completes every chunk it meets: runs late.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* CHECKs org_id's counts on c. */
static void usage_is(struct roster_conn *c, const char *org_id, int64_t jobs, int64_t items)
{
    struct roster_err err = {0};
    int64_t j = -1, i = -1;
    CHECK_EQ_INT(roster_store_job_usage(c, org_id, &j, &i, &err), 0);
    CHECK_EQ_INT(j, jobs);
    CHECK_EQ_INT(i, items);
}

/* A job of org_id and kind, to be created or opened. */
static struct roster_job job_of(const char *org_id, int kind)
{
    struct roster_job j = {0};
    memcpy(j.org_id, org_id, sizeof(j.org_id));
    j.kind = kind;
    j.params_json = "{\"codec\":\"test\"}";
    return j;
}

/* Claims job_id's next chunk and completes it (every item failed: no user needed). */
static void complete_next(const char *job_id, int64_t now)
{
    struct roster_err err = {0};
    struct roster_chunk ch;
    int rc = claim_of(job_id, now, 60000, &ch);
    if (rc)
        fprintf(stderr, "    no chunk of job %s to claim\n", job_id);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0)
        CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[]", 0, ch.count, now, &err), 0);
}

void test_job_usage(void)
{
    struct roster_err err = {0};
    struct roster_org org, other;
    make_org(&org, "Org Quota");
    make_org(&other, "Org Quota Other");
    int64_t now = roster_now_ms();
    usage_is(conn, org.id, 0, 0);

    /* a user job of 3 items in 2 chunks; another organisation's job of 4 */
    const char *items[] = {"[\"q0\",\"q1\"]", "[\"q2\"]"};
    const int64_t counts[] = {2, 1};
    struct roster_job uj = job_of(org.id, ROSTER_JOB_USERS_CREATE);
    CHECK_EQ_INT(roster_store_job_create(conn, &uj, items, counts, 2, &err), 0);
    const char *oitems[] = {"[\"o0\",\"o1\",\"o2\",\"o3\"]"};
    const int64_t ocounts[] = {4};
    struct roster_job oj = job_of(other.id, ROSTER_JOB_USERS_CREATE);
    CHECK_EQ_INT(roster_store_job_create(conn, &oj, oitems, ocounts, 1, &err), 0);
    usage_is(conn, org.id, 1, 3);
    usage_is(conn, other.id, 1, 4);

    /* a job without items is finished at once: not counted */
    struct roster_job ej = job_of(org.id, ROSTER_JOB_USERS_CREATE);
    CHECK_EQ_INT(roster_store_job_create(conn, &ej, NULL, NULL, 0, &err), 0);
    usage_is(conn, org.id, 1, 3);

    /* a message job counts while it takes items, empty or not */
    struct roster_job mj = job_of(org.id, ROSTER_JOB_MESSAGE);
    CHECK_EQ_INT(roster_store_job_open(conn, &mj, &err), 0);
    usage_is(conn, org.id, 2, 3);
    const char *mitems[] = {"[\"m0\",\"m1\"]"};
    const int64_t mcounts[] = {2};
    int64_t first = -1;
    CHECK_EQ_INT(roster_store_job_append(conn, org.id, mj.id, mitems, mcounts, 1, &first, &err), 0);
    usage_is(conn, org.id, 2, 5);

    /* what a restart reads: a second handle on the store sees the same */
    struct roster_store *st2 = NULL;
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st2, &err), 0);
    if (st2 && roster_conn_open(st2, &c2, &err) == 0) {
        usage_is(c2, org.id, 2, 5);
        usage_is(c2, other.id, 1, 4);
    }
    roster_conn_close(c2);
    roster_store_close(st2);

    /* items leave the count as their chunks are done, a job when its last one is */
    complete_next(uj.id, now);
    usage_is(conn, org.id, 2, 3);
    complete_next(uj.id, now);
    usage_is(conn, org.id, 1, 2);
    CHECK_EQ_INT(roster_store_job_start(conn, org.id, mj.id, now, &err), 0);
    usage_is(conn, org.id, 1, 2);
    complete_next(mj.id, now);
    usage_is(conn, org.id, 0, 0);

    /* a message job started without items is finished at once */
    struct roster_job nj = job_of(org.id, ROSTER_JOB_MESSAGE);
    CHECK_EQ_INT(roster_store_job_open(conn, &nj, &err), 0);
    usage_is(conn, org.id, 1, 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org.id, nj.id, now, &err), 0);
    usage_is(conn, org.id, 0, 0);

    /* the other organisation's job: its chunk may have been completed on the way already */
    struct roster_chunk ch;
    if (claim_of(oj.id, now, 60000, &ch) == 0)
        CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch, "[]", 0, ch.count, now, &err), 0);
    usage_is(conn, other.id, 0, 0);
    /* an organisation that never had a job */
    usage_is(conn, "ffffffffffffffffffffffff", 0, 0);
}
