/* PostgreSQL store: the methods message jobs add (include/roster/job.h): a job opened empty
 * in status ROSTER_JOB_CREATED, items appended in chunks while it stays so, started later;
 * the item listing with each chunk's input; batch look-ups of recipients; batch outbox
 * writes.
 *
 * DESIGN: a CREATED job (status 3) is never claimed (the claim takes status < 2). An append
 * bumps the job's total with an UPDATE guarded by status = 3, which locks the job row until
 * the append commits: a concurrent append waits for it, and job_start (the same row, status
 * 3 -> 0) either runs before it, and the append then finds no row, or after it. So items of
 * two appends never interleave and none is added to a started job. The batch methods
 * send one statement per call (arrays unnested on the server), not one per row: the
 * applier writes a chunk of 1,000 messages in one round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/store_keys.h"

/* Which of "missing" and "started" explains that a guarded update touched no row. */
static int job_not_open(struct pg_conn *c, const char *org_id, const char *job_id,
                        struct roster_arena *a, struct roster_err *err)
{
    int code = pg_job_exists(c, org_id, job_id, a, err);
    if (code)
        return code;
    return roster_err_set(err, ROSTER_ECONFLICT, "job \"%s\" has already been started",
                          job_id ? job_id : "");
}

int pg_job_open(struct roster_conn *pc, struct roster_job *job, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    const struct roster_idem_rec *idem = pg_idem_take(c);
    struct roster_arena a;
    bool new_id = !job->id[0];
    int64_t now = roster_now_ms();
    roster_arena_init(&a, 0);
    if (new_id)
        roster_id_new(job->id);
    int code = 0;
    if (idem) {
        /* the key and the job commit together */
        code = pg_tx_start(c, true, err);
        if (!code) {
            code = pg_idem_write(c, idem, err);
            if (!code)
                code = pg_job_insert(c, job, ROSTER_JOB_CREATED, 0, 0, now, &a, err);
            code = pg_tx_finish(c, code, err);
        }
    } else {
        code = pg_job_insert(c, job, ROSTER_JOB_CREATED, 0, 0, now, &a, err);
    }
    if (code) {
        if (new_id)
            job->id[0] = '\0';
    } else {
        job->status = ROSTER_JOB_CREATED;
        job->total = job->done = job->ok = job->failed = 0;
        job->created_ms = job->updated_ms = now;
    }
    roster_arena_release(&a);
    return code;
}

int pg_job_append(struct roster_conn *pc, const char *org_id, const char *job_id,
                  const char *const *items_json, const int64_t *counts, size_t nchunks,
                  int64_t *first_idx, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    const struct roster_idem_rec *idem = pg_idem_take(c);
    struct pg_call q;
    int64_t total = 0;
    bool in_tx = false;
    int code = 0;
    pg_call_init(&q, c, NULL);
    *first_idx = 0;
    for (size_t i = 0; i < nchunks; i++) {
        if (!items_json[i] || counts[i] <= 0) {
            code = roster_err_set(err, ROSTER_EINVAL, "chunk %zu to append is malformed", i);
            goto done;
        }
        total += counts[i];
    }
    code = pg_tx_start(c, true, err);
    if (code)
        goto done;
    in_tx = true;
    /* a key first: a request that lost the key to another one replays it, whatever the
     * job's state now */
    code = pg_idem_write(c, idem, err);
    if (code)
        goto done;
    code = pg_call_stmt(
        &q,
        PG_STMT(PG_JOB_APPEND,
                "UPDATE jobs SET total = total + $3::bigint, updated_ms = $4::bigint"
                " WHERE id = $1 AND org_id = $2 AND status = 3 RETURNING total - $3::bigint",
                PG_S(job_id), PG_S(org_id), PG_I(total), PG_I(roster_now_ms())),
        err);
    if (code)
        goto done;
    if (PQntuples(q.res) != 1) {
        code = job_not_open(c, org_id, job_id, q.a, err);
        goto done;
    }
    int64_t first = pg_col_int(q.res, 0, 0);
    if (nchunks > 0) {
        code = pg_call_stmt(&q,
                            PG_STMT(PG_CHUNK_NEXT_NO,
                                    "SELECT coalesce(max(chunk_no) + 1, 0) FROM chunks"
                                    " WHERE job_id = $1",
                                    PG_S(job_id)),
                            err);
        if (code)
            goto done;
        int64_t chunk_no = pg_col_int(q.res, 0, 0);
        code = pg_chunks_insert(c, job_id, chunk_no, first, items_json, counts, nchunks, q.a, err);
        if (code)
            goto done;
    }
    in_tx = false;
    code = pg_tx_end(c, true, true, err);
    if (code == 0)
        *first_idx = first;
done:
    if (in_tx)
        pg_tx_end(c, true, false, NULL);
    return pg_call_end(&q, code);
}

int pg_job_start(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t now_ms,
                 struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    bool none;
    int code = pg_update(c,
                         PG_WRITE(-1,
                                  "UPDATE jobs SET status = CASE WHEN total = 0 THEN 2 ELSE 0 END,"
                                  " updated_ms = $3 WHERE org_id = $1 AND id = $2 AND status = 3",
                                  PG_S(org_id), PG_S(job_id), PG_I(now_ms)),
                         &none, err);
    if (!code && none)
        code = job_not_open(c, org_id, job_id, NULL, err);
    return code;
}

int pg_job_chunks(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                  int64_t to, struct roster_arena *a, struct roster_chunk_page **out, size_t *n,
                  struct roster_err *err)
{
    int code;
    *out = pg_job_range(pg_conn_of(pc), org_id, job_id, from, to, true, a, n, &code, err);
    return code;
}

int pg_user_resolve(struct roster_conn *pc, const char *org_id, const char *const *keys, size_t n,
                    struct roster_arena *a, struct roster_user *out, struct roster_err *err)
{
    for (size_t i = 0; i < n; i++)
        memset(&out[i], 0, sizeof(out[i]));
    if (n == 0)
        return 0;
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    /* one look-up per key, by id first, then by username (lower(): users_org_username) */
    int code =
        pg_call_stmt(&q,
                     PG_STMT(PG_USER_RESOLVE,
                             "WITH o AS (SELECT num_id FROM orgs WHERE id = $1)"
                             " SELECT k.i, u.id, u.username, u.email, u.first_name, u.last_name,"
                             " u.phones FROM unnest($2::text[]) WITH ORDINALITY AS k(key, i)"
                             " CROSS JOIN LATERAL ("
                             "(SELECT 0 AS pri, id, username, email, first_name, last_name, phones"
                             " FROM users WHERE org_num = (SELECT num_id FROM o) AND id = k.key)"
                             " UNION ALL"
                             " (SELECT 1, id, username, email, first_name, last_name, phones"
                             " FROM users WHERE org_num = (SELECT num_id FROM o)"
                             " AND lower(username) = lower(k.key))"
                             " ORDER BY pri LIMIT 1) AS u"
                             " WHERE k.key <> ''",
                             PG_S(org_id), PG_S(pg_text_array(a, keys, n))),
                     err);
    if (code)
        return pg_call_end(&q, code);
    const PGresult *res = q.res;
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        int64_t i = pg_col_int(res, r, 0) - 1;
        if (i < 0 || (size_t)i >= n)
            continue;
        struct roster_user *u = &out[i];
        pg_col_id(res, r, 1, u->id);
        snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
        u->f[RU_USERNAME] = pg_col_str(res, r, 2, a);
        u->f[RU_EMAIL] = pg_col_str(res, r, 3, a);
        u->f[RU_FIRST_NAME] = pg_col_str(res, r, 4, a);
        u->f[RU_LAST_NAME] = pg_col_str(res, r, 5, a);
        u->f[RU_PHONES] = pg_col_str(res, r, 6, a);
    }
    return pg_call_end(&q, 0);
}

int pg_message_create_many(struct roster_conn *pc, struct roster_message *m, size_t n,
                           struct roster_err *err)
{
    if (n == 0)
        return 0;
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    bool *made = roster_arena_zalloc(q.a, n * sizeof(*made));
    int code = roster_store_messages_ids(m, n, made, err);
    if (code)
        return pg_call_end(&q, code);
    const char **col = roster_arena_alloc(q.a, n * sizeof(*col));
    pg_arg_str(&q.p, m[0].org_id);
    int64_t now = roster_now_ms();
    pg_arg_int(&q.p, now);
    for (int k = 0; k < 8; k++) {
        for (size_t i = 0; i < n; i++) {
            const char *const v[8] = {m[i].id,
                                      m[i].kind,
                                      m[i].source_id,
                                      m[i].user_id,
                                      m[i].recipient,
                                      m[i].content_json,
                                      m[i].status ? m[i].status : "ENQUEUED",
                                      m[i].channel ? m[i].channel : "email"};
            col[i] = v[k];
        }
        pg_arg_str(&q.p, pg_text_array(q.a, col, n));
    }
    code = pg_call_write1(&q, PG_MSG_INSERT_MANY,
                          "INSERT INTO messages (id, org_num, kind, source_id, user_id, recipient,"
                          " content_json, status, created_ms, channel)"
                          " SELECT v.id, o.num_id, v.kind, v.source_id, v.user_id, v.recipient,"
                          " v.content_json, v.status, $2::bigint, v.channel FROM orgs o,"
                          " unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
                          " $8::text[], $9::text[], $10::text[]) AS v(id, kind, source_id,"
                          " user_id, recipient, content_json, status, channel)"
                          " WHERE o.id = $1",
                          err);
    if (code) {
        const char *state = pg_sqlstate(q.res);
        if (!strcmp(state, "23505"))
            code = roster_err_set(err, ROSTER_ECONFLICT, "a message id already exists");
    } else if (strtoll(PQcmdTuples(q.res), NULL, 10) != (long long)n) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", m[0].org_id);
    }
    roster_store_messages_done(m, n, made, code, now);
    return pg_call_end(&q, code);
}
