/* Store contract suite (contract.h): bulk jobs (create, claim in order, leases, completion
 * inside the caller's transaction, results), concurrent workers, and a job submitted while
 * another connection writes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- bulk jobs --- */

static int claim(int64_t now, int64_t lease, struct roster_chunk *ch)
{
    struct roster_err err = {0};
    int rc = roster_store_chunk_claim(conn, now, lease, ch, &A, &err);
    if (rc && rc != ROSTER_ENOTFOUND)
        fprintf(stderr, "    chunk_claim: %s (%s)\n", err.msg, err.detail);
    return rc;
}

/* What the store's queues hold now (GET /metrics), CHECKed to be read. */
static struct roster_queue_stats queue(void)
{
    struct roster_err err = {0};
    struct roster_queue_stats q;
    memset(&q, 0xff, sizeof(q));
    CHECK_EQ_INT(roster_store_queue_stats(conn, &q, &err), 0);
    return q;
}

void test_jobs(void)
{
    struct roster_err err = {0};
    need_orgs();
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

    /* the queue (GET /metrics): jobs 1 and 2 (the empty job is finished), their 8 items,
     * job 1 the oldest */
    struct roster_queue_stats q = queue();
    CHECK_EQ_INT(q.jobs_open, 2);
    CHECK_EQ_INT(q.items_open, 8);
    CHECK_EQ_INT(q.oldest_job_ms, j1.created_ms);

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
    q = queue(); /* a done chunk's items leave the queue, its job stays in it */
    CHECK_EQ_INT(q.jobs_open, 2);
    CHECK_EQ_INT(q.items_open, 6);
    CHECK_EQ_INT(q.oldest_job_ms, j1.created_ms);

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
    q = queue(); /* a finished job leaves the queue: job 2 is the oldest left */
    CHECK_EQ_INT(q.jobs_open, 1);
    CHECK_EQ_INT(q.items_open, 2);
    CHECK_EQ_INT(q.oldest_job_ms, j2.created_ms);

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
    struct roster_err err = {0};
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &cerrors);
    if (!c)
        return NULL;
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

void test_concurrent_claims(void)
{
    struct roster_err err = {0};
    need_orgs();
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
 * job applier does, for whole batches): submission must not wait for it. */
void test_submit_during_write(void)
{
    struct roster_err err = {0};
    need_orgs();
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
    roster_conn_close(c2);
}
