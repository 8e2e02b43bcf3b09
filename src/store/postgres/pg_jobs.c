/* PostgreSQL store: durable bulk jobs and their chunks (see
 * include/roster/job.h).
 *
 * Several roster processes may share the database, so leases live in the chunks
 * table: a claim locks the next chunk of the oldest open job whose lease is
 * free or expired (FOR UPDATE SKIP LOCKED: claimers never wait for each other)
 * and writes a random token and an expiry; completing or renewing requires the
 * token (ROSTER_ESTALE otherwise), so a worker that lost its lease cannot
 * commit twice. Nothing has to be reset at start.
 *
 * Only a job's next chunk (its lowest not done) can be claimed, so one job's chunks run in
 * order. Message jobs are the exception: their items are independent, so any of their
 * chunks still to do can be claimed (several at once), and completing one sets next_chunk
 * to the lowest still to do (a stale, lower value only makes the next claim skip a few
 * done chunks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

#define JOB_COLS                                                                                   \
    "id, org_id, kind, status, total, done, ok, failed, params_json, "                             \
    "created_ms, updated_ms"

int pg_job_insert(struct pg_conn *c, const struct roster_job *job, int status, int64_t total,
                  int64_t next_chunk, int64_t now, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    int code =
        pg_call_stmt(&q,
                     PG_STMT(PG_JOB_INSERT,
                             "INSERT INTO jobs (id, org_id, kind, status, total,"
                             " next_chunk, params_json, created_ms, updated_ms)"
                             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                             PG_S(job->id), PG_S(job->org_id), PG_I(job->kind), PG_I(status),
                             PG_I(total), PG_I(next_chunk), PG_S(job->params_json), PG_I(now)),
                     err);
    if (code)
        code = pg_insert_fail(q.res, code, "job", job->id, job->org_id, err);
    return pg_call_end(&q, code);
}

int pg_chunks_insert(struct pg_conn *c, const char *job_id, int64_t chunk_no, int64_t first_idx,
                     const char *const *items_json, const int64_t *counts, size_t n,
                     struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    int code = 0;
    for (size_t i = 0; i < n && !code; i++) {
        code = pg_call_stmt(&q,
                            PG_STMT(PG_CHUNK_INSERT,
                                    "INSERT INTO chunks (job_id, chunk_no, first_idx, count,"
                                    " items_json) VALUES ($1, $2, $3, $4, $5)",
                                    PG_S(job_id), PG_I(chunk_no + (int64_t)i), PG_I(first_idx),
                                    PG_I(counts[i]), PG_S(items_json[i])),
                            err);
        first_idx += counts[i];
    }
    return pg_call_end(&q, code);
}

int pg_job_create(struct roster_conn *pc, struct roster_job *job, const char *const *items_json,
                  const int64_t *counts, size_t nchunks, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    const struct roster_idem_rec *idem = pg_idem_take(c);
    struct roster_arena a;
    bool new_id = !job->id[0], in_tx = false;
    int64_t total = 0, now = roster_now_ms();
    int code = 0;
    roster_arena_init(&a, 0);
    for (size_t i = 0; i < nchunks; i++) {
        if (!items_json[i] || counts[i] < 0) {
            code = roster_err_set(err, ROSTER_EINVAL, "chunk %zu of the job is malformed", i);
            goto fail;
        }
        total += counts[i];
    }
    if (new_id)
        roster_id_new(job->id);
    int status = total == 0 ? ROSTER_JOB_FINISHED : ROSTER_JOB_PENDING;
    code = pg_tx_start(c, true, err);
    if (code)
        goto fail;
    in_tx = true;
    code = pg_idem_write(c, idem, err);
    if (!code)
        code = pg_job_insert(c, job, status, total, 0, now, &a, err);
    if (!code)
        code = pg_chunks_insert(c, job->id, 0, 0, items_json, counts, nchunks, &a, err);
    if (code)
        goto fail;
    in_tx = false;
    code = pg_tx_end(c, true, true, err);
    if (code)
        goto fail;
    job->status = status;
    job->total = total;
    job->done = job->ok = job->failed = 0;
    job->created_ms = job->updated_ms = now;
    roster_arena_release(&a);
    return 0;
fail:
    if (in_tx)
        pg_tx_end(c, true, false, NULL);
    if (new_id)
        job->id[0] = '\0';
    roster_arena_release(&a);
    return code;
}

#define J(kind, field) PG_COL(kind, struct roster_job, field)
static const struct pg_col job_cols[] = {
    J(PG_BUF, id),          J(PG_BUF, org_id),     J(PG_INT, kind),      J(PG_INT, status),
    J(PG_I64, total),       J(PG_I64, done),       J(PG_I64, ok),        J(PG_I64, failed),
    J(PG_STR, params_json), J(PG_I64, created_ms), J(PG_I64, updated_ms)};
#undef J
/* a row of JOB_COLS */
static const struct pg_rec job_rec = PG_REC(struct roster_job, job_cols, -1);

int pg_job_get(struct roster_conn *pc, const char *org_id, const char *job_id,
               struct roster_job *out, struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(PG_JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE org_id = $1 AND id = $2",
                          PG_S(org_id), PG_S(job_id)),
                  &job_rec, org_id, out, a, "job", job_id ? job_id : "", err);
}

/* Over the organisation's unfinished jobs only: the partial index jobs_org_open (schema 6)
 * holds just them. */
int pg_job_usage(struct roster_conn *pc, const char *org_id, int64_t *jobs, int64_t *items,
                 struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, org_id);
    int code = pg_call_run(&q, PG_JOB_USAGE,
                           "SELECT count(*), coalesce(sum(total - done), 0)::bigint FROM jobs"
                           " WHERE org_id = $1 AND status <> 2 AND next_chunk >= 0",
                           err);
    if (code)
        return pg_call_end(&q, code);
    *jobs = pg_col_int(q.res, 0, 0);
    *items = pg_col_int(q.res, 0, 1);
    return pg_call_end(&q, 0);
}

/* a random positive lease token */
int64_t pg_new_token(void)
{
    uint64_t token;
    roster_random(&token, sizeof(token));
    int64_t tok = (int64_t)(token & INT64_MAX);
    return tok ? tok : 1;
}

#define C(kind, field) PG_COL(kind, struct roster_chunk, field)
static const struct pg_col claim_cols[] = {
    C(PG_BUF, job_id),   C(PG_BUF, org_id),    C(PG_INT, kind),  C(PG_STR, params_json),
    C(PG_I64, chunk_no), C(PG_I64, first_idx), C(PG_I64, count), C(PG_STR, items_json)};
#undef C
/* a claimed chunk (the RETURNING of PG_CHUNK_CLAIM) */
static const struct pg_rec claim_rec = PG_REC(struct roster_chunk, claim_cols, -1);

int pg_chunk_claim(struct roster_conn *pc, int64_t now_ms, int64_t lease_ms,
                   struct roster_chunk *out, struct roster_arena *a, struct roster_err *err)
{
    int64_t tok = pg_new_token();
    /* the next chunk of the oldest open job nobody holds (of a message job: any chunk
     * from its next one on); chunks locked by another claim or completion right now are
     * skipped, not waited for */
    int code = pg_get(
        pg_conn_of(pc),
        PG_WRITE(PG_CHUNK_CLAIM,
                 "WITH pick AS (SELECT ch.job_id, ch.chunk_no FROM jobs j"
                 " JOIN chunks ch ON ch.job_id = j.id AND ch.chunk_no >= j.next_chunk"
                 " AND ch.chunk_no <= CASE WHEN j.kind = 3 THEN 9223372036854775807"
                 " ELSE j.next_chunk END"
                 " WHERE j.status < 2 AND NOT ch.done"
                 " AND (ch.lease_until_ms IS NULL OR ch.lease_until_ms < $1::bigint)"
                 " ORDER BY j.seq, ch.chunk_no LIMIT 1 FOR UPDATE OF ch SKIP LOCKED)"
                 " UPDATE chunks ch SET lease_token = $3::bigint, lease_until_ms = $2::bigint"
                 " FROM pick, jobs j WHERE ch.job_id = pick.job_id"
                 " AND ch.chunk_no = pick.chunk_no AND j.id = ch.job_id"
                 " RETURNING ch.job_id, j.org_id, j.kind, j.params_json, ch.chunk_no,"
                 " ch.first_idx, ch.count, ch.items_json",
                 PG_I(now_ms), PG_I(now_ms + lease_ms), PG_I(tok)),
        &claim_rec, NULL, out, a, NULL, NULL, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, ROSTER_ENOTFOUND, "no chunk to run");
    if (!code)
        out->lease_token = tok;
    return code;
}

int pg_chunk_complete(struct roster_conn *pc, const struct roster_chunk *ch,
                      const char *results_json, int64_t nok, int64_t nfailed, int64_t now_ms,
                      struct roster_err *err)
{
    struct pg_call q;
    int code = pg_call_tx(&q, pg_conn_of(pc), err);
    if (code)
        return pg_call_end(&q, code);
    code = pg_call_stmt(
        &q,
        PG_STMT(PG_CHUNK_DONE,
                "UPDATE chunks SET done = true, results_json = $3, done_ms = $4"
                " WHERE job_id = $1 AND chunk_no = $2 AND NOT done AND lease_token = $5"
                " RETURNING count",
                PG_S(ch->job_id), PG_I(ch->chunk_no), PG_S(results_json), PG_I(now_ms),
                PG_I(ch->lease_token)),
        err);
    if (code)
        goto done;
    if (PQntuples(q.res) != 1) {
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
        goto done;
    }
    int64_t count = pg_col_int(q.res, 0, 0);
#define ADVANCE_VALS                                                                               \
    PG_S(ch->job_id), PG_I(count), PG_I(nok), PG_I(nfailed), PG_I(ch->chunk_no + 1), PG_I(now_ms)
    if (ch->kind == ROSTER_JOB_MESSAGE) /* chunks complete in any order */
        code = pg_call_stmt(
            &q,
            PG_STMT(PG_JOB_ADVANCE_ANY,
                    "UPDATE jobs SET done = done + $2, ok = ok + $3, failed = failed + $4,"
                    " next_chunk = coalesce((SELECT min(chunk_no) FROM chunks"
                    " WHERE job_id = $1 AND NOT done), greatest(next_chunk, $5)),"
                    " updated_ms = $6,"
                    " status = CASE WHEN done + $2 >= total THEN 2 ELSE 1 END WHERE id = $1",
                    ADVANCE_VALS),
            err);
    else
        code = pg_call_stmt(
            &q,
            PG_STMT(PG_JOB_ADVANCE,
                    "UPDATE jobs SET done = done + $2, ok = ok + $3, failed = failed + $4,"
                    " next_chunk = greatest(next_chunk, $5), updated_ms = $6,"
                    " status = CASE WHEN done + $2 >= total THEN 2 ELSE 1 END WHERE id = $1",
                    ADVANCE_VALS),
            err);
#undef ADVANCE_VALS
    /* The lease stays until it expires: a done chunk is never offered again, and
     * if the caller rolls this back, the same token may still complete it on a
     * retry. */
done:
    return pg_call_end(&q, pg_tx_finish(q.c, code, err));
}

int pg_chunk_renew(struct roster_conn *pc, const struct roster_chunk *ch, int64_t until_ms,
                   struct roster_err *err)
{
    bool none;
    int code = pg_update(pg_conn_of(pc),
                         PG_WRITE(PG_CHUNK_RENEW,
                                  "UPDATE chunks SET lease_until_ms = $4"
                                  " WHERE job_id = $1 AND chunk_no = $2 AND lease_token = $3",
                                  PG_S(ch->job_id), PG_I(ch->chunk_no), PG_I(ch->lease_token),
                                  PG_I(until_ms)),
                         &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
    return code;
}

int pg_job_exists(struct pg_conn *c, const char *org_id, const char *job_id, struct roster_arena *a,
                  struct roster_err *err)
{
    return pg_get(
        c,
        PG_STMT(-1, "SELECT 1 FROM jobs WHERE org_id = $1 AND id = $2", PG_S(org_id), PG_S(job_id)),
        NULL, org_id, NULL, a, "job", job_id ? job_id : "", err);
}

#define RANGE_COLS "first_idx, count, results_json, done_ms"
#define RANGE_WHERE                                                                                \
    " FROM chunks WHERE job_id = $1 AND first_idx < $3 AND first_idx + count > $2"                 \
    " ORDER BY first_idx, chunk_no"

/* RANGE_COLS of a struct T (and with items, items_json) */
#define RANGE_FIELDS(T)                                                                            \
    PG_COL(PG_I64, T, first_idx), PG_COL(PG_I64, T, count), PG_COL(PG_STR, T, results_json),       \
        PG_COL(PG_I64, T, done_ms)
static const struct pg_col results_cols[] = {RANGE_FIELDS(struct roster_chunk_results)};
static const struct pg_rec results_rec = PG_REC(struct roster_chunk_results, results_cols, -1);
static const struct pg_col page_cols[] = {RANGE_FIELDS(struct roster_chunk_page),
                                          PG_COL(PG_STR, struct roster_chunk_page, items_json)};
static const struct pg_rec page_rec = PG_REC(struct roster_chunk_page, page_cols, -1);

void *pg_job_range(struct pg_conn *c, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, bool items, struct roster_arena *a, size_t *n, int *code,
                   struct roster_err *err)
{
    *n = 0;
    if (from < 0)
        from = 0;
    *code = pg_job_exists(c, org_id, job_id, a, err);
    if (*code || to <= from)
        return NULL; /* missing, or an empty range */
    return pg_select(c,
                     PG_STMT(-1,
                             items ? "SELECT " RANGE_COLS ", items_json" RANGE_WHERE
                                   : "SELECT " RANGE_COLS RANGE_WHERE,
                             PG_S(job_id), PG_I(from), PG_I(to)),
                     items ? &page_rec : &results_rec, NULL, a, n, code, err);
}

int pg_job_results(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_results **out, size_t *n,
                   struct roster_err *err)
{
    int code;
    *out = pg_job_range(pg_conn_of(pc), org_id, job_id, from, to, false, a, n, &code, err);
    return code;
}

/* --- jobs applied by their creator (a local roster import) ---
 *
 * A row of jobs like any other (status RUNNING until its creator finishes it), whose
 * chunks are inserted done, with their results, in the creator's transactions that also
 * wrote the items' effects: claims take only chunks not done, so the engine never runs
 * one. Its next_chunk is -1, which no chunk has: claims would pass it by even so, and
 * job_usage and queue_stats, which count the work waiting for the engine, leave it out. A
 * chunk's number is its first item's index (the creator's ranges need no counter across a
 * crash and a resumed run). */

int pg_job_record_create(struct roster_conn *pc, struct roster_job *job, struct roster_err *err)
{
    bool new_id = !job->id[0];
    int64_t now = roster_now_ms();
    if (new_id)
        roster_id_new(job->id);
    int code = pg_job_insert(pg_conn_of(pc), job, ROSTER_JOB_RUNNING, 0, -1, now, NULL, err);
    if (code) {
        if (new_id)
            job->id[0] = '\0';
        return code;
    }
    job->status = ROSTER_JOB_RUNNING;
    job->total = job->done = job->ok = job->failed = 0;
    job->created_ms = job->updated_ms = now;
    return 0;
}

int pg_job_record_chunk(struct roster_conn *pc, const char *org_id, const char *job_id,
                        int64_t first_idx, int64_t count, const char *results_json, int64_t nok,
                        int64_t nfailed, bool finished, int64_t now_ms, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (count < 0 || first_idx < 0 || (count > 0 && !results_json))
        return roster_err_set(err, ROSTER_EINVAL, "malformed results of job \"%s\"", job_id);
    bool none;
    /* one statement: the results (never over a range recorded already: DO NOTHING, so that
     * the caller's transaction is not aborted) and, only if they were written, the counts */
    int code = pg_update(
        c,
        PG_WRITE(
            -1,
            "WITH ins AS (INSERT INTO chunks (job_id, chunk_no, first_idx, count, done,"
            " done_ms, items_json, results_json)"
            " SELECT id, $3::bigint, $3::bigint, $4::bigint, true, $8::bigint, '[]', $9"
            " FROM jobs WHERE org_id = $1 AND id = $2 AND $4::bigint > 0"
            " ON CONFLICT (job_id, chunk_no) DO NOTHING RETURNING 1)"
            " UPDATE jobs SET total = total + $4::bigint, done = done + $4::bigint,"
            " ok = ok + $5::bigint, failed = failed + $6::bigint,"
            " status = CASE WHEN $7::int = 1 THEN 2 ELSE 1 END, updated_ms = $8::bigint"
            " WHERE org_id = $1 AND id = $2 AND ($4::bigint = 0 OR EXISTS (SELECT 1 FROM ins))",
            PG_S(org_id), PG_S(job_id), PG_I(first_idx), PG_I(count), PG_I(nok), PG_I(nfailed),
            PG_I(finished ? 1 : 0), PG_I(now_ms), PG_S(results_json)),
        &none, err);
    if (code || !none)
        return code;
    struct roster_arena a;
    roster_arena_init(&a, 256);
    code = pg_job_exists(c, org_id, job_id, &a, err);
    roster_arena_release(&a);
    if (code)
        return code;
    return roster_err_set(err, ROSTER_ECONFLICT, "result of item %lld of job \"%s\" already exists",
                          (long long)first_idx, job_id);
}

/* Not needed for correctness (expired leases are taken over by the next claim)
 * and not called by the server for multi-node stores; drops every lease of
 * unfinished work. */
int pg_lease_reset_all(struct roster_conn *pc, struct roster_err *err)
{
    bool none;
    /* one statement: every table or none */
    return pg_update(pg_conn_of(pc),
                     PG_WRITE_SQL(-1,
                                  "WITH ch AS (UPDATE chunks SET lease_token = NULL,"
                                  " lease_until_ms = NULL"
                                  " WHERE NOT done AND lease_token IS NOT NULL),"
                                  " m AS (UPDATE messages SET due_ms = 0, lease_token = 0"
                                  " WHERE status = 'ENQUEUED' AND lease_token <> 0)"
                                  " UPDATE schedules SET lease_token = NULL, lease_until_ms = NULL"
                                  " WHERE status = 0 AND lease_token IS NOT NULL"),
                     &none, err);
}

/* --- the operator's view --- */

int pg_queue_stats(struct roster_conn *pc, struct roster_queue_stats *out, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    memset(out, 0, sizeof(*out));
    struct roster_arena a;
    roster_arena_init(&a, 256);
    struct pg_args p;
    pg_args_init(&p, &a);
    PGresult *res = NULL;
    /* one statement, two reads: the open jobs through jobs_open (status < 2: message jobs
     * still taking items have status 3), the pending schedules through schedules_due */
    int code = pg_run_dyn(c,
                          "SELECT j.n, j.items, j.oldest, s.n, s.due FROM"
                          " (SELECT count(*) AS n, coalesce(sum(greatest(total - done, 0)), 0)"
                          " AS items, coalesce(min(created_ms), 0) AS oldest FROM jobs"
                          " WHERE status < 2 AND next_chunk >= 0) AS j,"
                          " (SELECT count(*) AS n, coalesce(min(due_ms), 0) AS due FROM schedules"
                          " WHERE status = 0) AS s",
                          &p, &res, err);
    if (!code && PQntuples(res) == 1) {
        out->jobs_open = pg_col_int(res, 0, 0);
        out->items_open = pg_col_int(res, 0, 1);
        out->oldest_job_ms = pg_col_int(res, 0, 2);
        out->schedules_pending = pg_col_int(res, 0, 3);
        out->earliest_due_ms = pg_col_int(res, 0, 4);
    }
    PQclear(res);
    roster_arena_release(&a);
    return code;
}
