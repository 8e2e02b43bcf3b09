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
                  int64_t now, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    pg_arg_str(&q.p, job->id);
    pg_arg_str(&q.p, job->org_id);
    pg_arg_int(&q.p, job->kind);
    pg_arg_int(&q.p, status);
    pg_arg_int(&q.p, total);
    pg_arg_str(&q.p, job->params_json);
    pg_arg_int(&q.p, now);
    int code = pg_call_run(&q, PG_JOB_INSERT,
                           "INSERT INTO jobs (id, org_id, kind, status, total, "
                           "params_json, created_ms,"
                           " updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                           err);
    if (code) {
        const char *state = pg_sqlstate(q.res);
        if (!strcmp(state, "23503"))
            code =
                roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", job->org_id);
        else if (!strcmp(state, "23505"))
            code = roster_err_set(err, ROSTER_ECONFLICT, "job \"%s\" already exists", job->id);
    }
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
        pg_args_init(&q.p, a);
        pg_arg_str(&q.p, job_id);
        pg_arg_int(&q.p, chunk_no + (int64_t)i);
        pg_arg_int(&q.p, first_idx);
        pg_arg_int(&q.p, counts[i]);
        pg_arg_str(&q.p, items_json[i]);
        code = pg_call_run(&q, PG_CHUNK_INSERT,
                           "INSERT INTO chunks (job_id, chunk_no, first_idx, count, items_json)"
                           " VALUES ($1, $2, $3, $4, $5)",
                           err);
        first_idx += counts[i];
    }
    return pg_call_end(&q, code);
}

int pg_job_create(struct roster_conn *pc, struct roster_job *job, const char *const *items_json,
                  const int64_t *counts, size_t nchunks, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
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
    code = pg_job_insert(c, job, status, total, now, &a, err);
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

int pg_job_get(struct roster_conn *pc, const char *org_id, const char *job_id,
               struct roster_job *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, job_id);
    int code = pg_call_run(&q, PG_JOB_GET,
                           "SELECT " JOB_COLS " FROM jobs WHERE org_id = $1 AND id = $2", err);
    if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id ? job_id : "");
    if (code)
        return pg_call_end(&q, code);
    const PGresult *res = q.res;
    memset(out, 0, sizeof(*out));
    pg_col_id(res, 0, 0, out->id);
    pg_col_id(res, 0, 1, out->org_id);
    out->kind = (int)pg_col_int(res, 0, 2);
    out->status = (int)pg_col_int(res, 0, 3);
    out->total = pg_col_int(res, 0, 4);
    out->done = pg_col_int(res, 0, 5);
    out->ok = pg_col_int(res, 0, 6);
    out->failed = pg_col_int(res, 0, 7);
    out->params_json = pg_col_str(res, 0, 8, a);
    out->created_ms = pg_col_int(res, 0, 9);
    out->updated_ms = pg_col_int(res, 0, 10);
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

int pg_chunk_claim(struct roster_conn *pc, int64_t now_ms, int64_t lease_ms,
                   struct roster_chunk *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    int64_t tok = pg_new_token();
    pg_arg_int(&q.p, now_ms);
    pg_arg_int(&q.p, now_ms + lease_ms);
    pg_arg_int(&q.p, tok);
    /* the next chunk of the oldest open job nobody holds (of a message job: any chunk
     * from its next one on); chunks locked by another claim or completion right now are
     * skipped, not waited for */
    int code = pg_call_write1(&q, PG_CHUNK_CLAIM,
                              "WITH pick AS (SELECT ch.job_id, ch.chunk_no FROM jobs j"
                              " JOIN chunks ch ON ch.job_id = j.id AND ch.chunk_no >= j.next_chunk"
                              " AND ch.chunk_no <= CASE WHEN j.kind = 3 THEN 9223372036854775807"
                              " ELSE j.next_chunk END"
                              " WHERE j.status < 2 AND NOT ch.done"
                              " AND (ch.lease_until_ms IS NULL OR ch.lease_until_ms < $1::bigint)"
                              " ORDER BY j.seq, ch.chunk_no LIMIT 1 FOR UPDATE OF ch SKIP LOCKED)"
                              " UPDATE chunks ch SET lease_token = $3::bigint, lease_until_ms = "
                              "$2::bigint"
                              " FROM pick, jobs j WHERE ch.job_id = pick.job_id"
                              " AND ch.chunk_no = pick.chunk_no AND j.id = ch.job_id"
                              " RETURNING ch.job_id, j.org_id, j.kind, j.params_json, ch.chunk_no,"
                              " ch.first_idx, ch.count, ch.items_json",
                              err);
    if (!code && PQntuples(q.res) == 1) {
        memset(out, 0, sizeof(*out));
        pg_col_id(q.res, 0, 0, out->job_id);
        pg_col_id(q.res, 0, 1, out->org_id);
        out->kind = (int)pg_col_int(q.res, 0, 2);
        out->params_json = pg_col_str(q.res, 0, 3, a);
        out->chunk_no = pg_col_int(q.res, 0, 4);
        out->first_idx = pg_col_int(q.res, 0, 5);
        out->count = pg_col_int(q.res, 0, 6);
        out->items_json = pg_col_str(q.res, 0, 7, a);
        out->lease_token = tok;
    } else if (!code) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "no chunk to run");
    }
    return pg_call_end(&q, code);
}

int pg_chunk_complete(struct roster_conn *pc, const struct roster_chunk *ch,
                      const char *results_json, int64_t nok, int64_t nfailed, int64_t now_ms,
                      struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int code = pg_tx_start(q.c, true, err);
    if (code)
        return pg_call_end(&q, code);
    pg_arg_str(&q.p, ch->job_id);
    pg_arg_int(&q.p, ch->chunk_no);
    pg_arg_str(&q.p, results_json);
    pg_arg_int(&q.p, now_ms);
    pg_arg_int(&q.p, ch->lease_token);
    code = pg_call_run(&q, PG_CHUNK_DONE,
                       "UPDATE chunks SET done = true, results_json = $3, done_ms = $4"
                       " WHERE job_id = $1 AND chunk_no = $2 AND NOT done AND lease_token = $5"
                       " RETURNING count",
                       err);
    if (code)
        goto fail;
    if (PQntuples(q.res) != 1) {
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
        goto fail;
    }
    int64_t count = pg_col_int(q.res, 0, 0);
    pg_args_init(&q.p, q.a);
    pg_arg_str(&q.p, ch->job_id);
    pg_arg_int(&q.p, count);
    pg_arg_int(&q.p, nok);
    pg_arg_int(&q.p, nfailed);
    pg_arg_int(&q.p, ch->chunk_no + 1);
    pg_arg_int(&q.p, now_ms);
    if (ch->kind == ROSTER_JOB_MESSAGE) /* chunks complete in any order */
        code = pg_call_run(&q, PG_JOB_ADVANCE_ANY,
                           "UPDATE jobs SET done = done + $2, ok = ok + $3, failed = failed + $4,"
                           " next_chunk = coalesce((SELECT min(chunk_no) FROM chunks"
                           " WHERE job_id = $1 AND NOT done), greatest(next_chunk, $5)),"
                           " updated_ms = $6,"
                           " status = CASE WHEN done + $2 >= total THEN 2 ELSE 1 END WHERE id = $1",
                           err);
    else
        code = pg_call_run(&q, PG_JOB_ADVANCE,
                           "UPDATE jobs SET done = done + $2, ok = ok + $3, failed = failed + $4,"
                           " next_chunk = greatest(next_chunk, $5), updated_ms = $6,"
                           " status = CASE WHEN done + $2 >= total THEN 2 ELSE 1 END WHERE id = $1",
                           err);
    if (code)
        goto fail;
    /* The lease stays until it expires: a done chunk is never offered again, and
     * if the caller rolls this back, the same token may still complete it on a
     * retry. */
    code = pg_tx_end(q.c, true, true, err);
    return pg_call_end(&q, code);
fail:
    pg_tx_end(q.c, true, false, NULL);
    return pg_call_end(&q, code);
}

int pg_chunk_renew(struct roster_conn *pc, const struct roster_chunk *ch, int64_t until_ms,
                   struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, ch->job_id);
    pg_arg_int(&q.p, ch->chunk_no);
    pg_arg_int(&q.p, ch->lease_token);
    pg_arg_int(&q.p, until_ms);
    int code = pg_call_write1(&q, PG_CHUNK_RENEW,
                              "UPDATE chunks SET lease_until_ms = $4"
                              " WHERE job_id = $1 AND chunk_no = $2 AND lease_token = $3",
                              err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
    return pg_call_end(&q, code);
}

int pg_job_exists(struct pg_conn *c, const char *org_id, const char *job_id, struct roster_arena *a,
                  struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, job_id);
    int code = pg_call_run(&q, -1, "SELECT 1 FROM jobs WHERE org_id = $1 AND id = $2", err);
    if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id ? job_id : "");
    return pg_call_end(&q, code);
}

#define RANGE_COLS "first_idx, count, results_json, done_ms"
#define RANGE_WHERE                                                                                \
    " FROM chunks WHERE job_id = $1 AND first_idx < $3 AND first_idx + count > $2"                 \
    " ORDER BY first_idx, chunk_no"

int pg_job_range(struct pg_conn *c, const char *org_id, const char *job_id, int64_t from,
                 int64_t to, bool items, struct roster_arena *a, PGresult **res,
                 struct roster_err *err)
{
    struct pg_args p;
    *res = NULL;
    if (from < 0)
        from = 0;
    int code = pg_job_exists(c, org_id, job_id, a, err);
    if (code || to <= from)
        return code; /* missing, or an empty range */
    pg_args_init(&p, a);
    pg_arg_str(&p, job_id);
    pg_arg_int(&p, from);
    pg_arg_int(&p, to);
    return pg_run(c, -1,
                  items ? "SELECT " RANGE_COLS ", items_json" RANGE_WHERE
                        : "SELECT " RANGE_COLS RANGE_WHERE,
                  &p, res, err);
}

int pg_job_results(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_results **out, size_t *n,
                   struct roster_err *err)
{
    PGresult *res = NULL;
    *out = NULL;
    *n = 0;
    int code = pg_job_range(pg_conn_of(pc), org_id, job_id, from, to, false, a, &res, err);
    if (code || !res)
        goto done;
    struct roster_chunk_results *v = pg_rows(res, a, sizeof(*v), n);
    for (size_t i = 0; i < *n; i++) {
        v[i].first_idx = pg_col_int(res, (int)i, 0);
        v[i].count = pg_col_int(res, (int)i, 1);
        v[i].results_json = pg_col_str(res, (int)i, 2, a);
        v[i].done_ms = pg_col_int(res, (int)i, 3);
    }
    *out = v;
done:
    PQclear(res);
    return code;
}

/* Not needed for correctness (expired leases are taken over by the next claim)
 * and not called by the server for multi-node stores; drops every lease of
 * unfinished work. */
int pg_lease_reset_all(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    int code = pg_tx_start(c, true, err);
    if (code)
        return code;
    code = pg_exec(c,
                   "UPDATE chunks SET lease_token = NULL, lease_until_ms = NULL"
                   " WHERE NOT done AND lease_token IS NOT NULL",
                   err);
    if (!code)
        code = pg_exec(c,
                       "UPDATE schedules SET lease_token = NULL, lease_until_ms = NULL"
                       " WHERE status = 0 AND lease_token IS NOT NULL",
                       err);
    if (!code)
        code = pg_exec(c,
                       "UPDATE messages SET due_ms = 0, lease_token = 0"
                       " WHERE status = 'ENQUEUED' AND lease_token <> 0",
                       err);
    int end = pg_tx_end(c, true, code == 0, err);
    return code ? code : end;
}
