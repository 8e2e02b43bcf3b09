/* SQLite store: durable bulk jobs and their chunks (see include/roster/job.h).
 *
 * DESIGN: a job row keeps next_chunk, the lowest chunk not done yet; only that chunk can be
 * claimed, so one job's chunks run in order and never two at once. A claim walks the open
 * jobs (partial index jobs_open) oldest first and takes the first whose next chunk has no
 * live lease: its cost grows with the number of jobs being worked on right now, not with
 * the number of chunks ever stored. A lease is a random token plus an expiry; completing a
 * chunk requires the token, so a worker that lost its lease cannot commit twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define JOB_COLS                                                                                   \
    "id, org_id, kind, status, total, done, ok, failed, params_json, created_ms, updated_ms"

int sq_job_create(struct roster_conn *pc, struct roster_job *job, const char *const *items_json,
                  const int64_t *counts, size_t nchunks, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    bool new_id = !job->id[0], in_tx = false;
    int64_t total = 0, now = roster_now_ms();
    int code, rc;
    for (size_t i = 0; i < nchunks; i++) {
        if (!items_json[i] || counts[i] < 0)
            return roster_err_set(err, ROSTER_EINVAL, "chunk %zu of the job is malformed", i);
        total += counts[i];
    }
    if (new_id)
        roster_id_new(job->id);
    int status = total == 0 ? ROSTER_JOB_FINISHED : ROSTER_JOB_PENDING;

    code = sq_tx_start(c, err);
    if (code)
        goto fail;
    in_tx = true;
    code = sq_prepare(c,
                      "INSERT INTO jobs (id, org_id, kind, status, total, params_json,"
                      " created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                      &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, job->id);
    sq_bind_str(s, 2, job->org_id);
    sqlite3_bind_int(s, 3, job->kind);
    sqlite3_bind_int(s, 4, status);
    sqlite3_bind_int64(s, 5, total);
    sq_bind_str(s, 6, job->params_json);
    sqlite3_bind_int64(s, 7, now);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            code =
                roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", job->org_id);
        else if (rc == SQLITE_CONSTRAINT_UNIQUE)
            code = roster_err_set(err, ROSTER_ECONFLICT, "job \"%s\" already exists", job->id);
        else
            code = sq_fail(c, rc, err);
        goto fail;
    }
    sqlite3_finalize(s);
    s = NULL;

    sqlite3_stmt *ins = sq_stmt(c, SQ_CHUNK_INSERT, err);
    sqlite3_stmt *items = ins ? sq_stmt(c, SQ_ITEMS_INSERT, err) : NULL;
    if (!items) {
        code = err ? err->code : ROSTER_EIO;
        goto fail;
    }
    int64_t first = 0;
    for (size_t i = 0; i < nchunks; i++) {
        sq_bind_str(ins, 1, job->id);
        sqlite3_bind_int64(ins, 2, (int64_t)i);
        sqlite3_bind_int64(ins, 3, first);
        sqlite3_bind_int64(ins, 4, counts[i]);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc == SQLITE_DONE) {
            sq_bind_str(items, 1, job->id);
            sqlite3_bind_int64(items, 2, (int64_t)i);
            sq_bind_str(items, 3, items_json[i]);
            rc = sqlite3_step(items);
            sqlite3_reset(items);
        }
        if (rc != SQLITE_DONE) {
            code = sq_fail(c, rc, err);
            goto fail;
        }
        first += counts[i];
    }
    in_tx = false;
    code = sq_tx_end(c, true, err);
    if (code)
        goto fail;
    job->status = status;
    job->total = total;
    job->done = job->ok = job->failed = 0;
    job->created_ms = job->updated_ms = now;
    return 0;
fail:
    sqlite3_finalize(s);
    if (in_tx)
        sq_tx_end(c, false, NULL);
    if (new_id)
        job->id[0] = '\0';
    return code;
}

int sq_job_get(struct roster_conn *pc, const char *org_id, const char *job_id,
               struct roster_job *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int code =
        sq_prepare(c, "SELECT " JOB_COLS " FROM jobs WHERE org_id = ?1 AND id = ?2", &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, org_id);
    sq_bind_str(s, 2, job_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id ? job_id : "");
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    memset(out, 0, sizeof(*out));
    sq_col_id(s, 0, out->id);
    sq_col_id(s, 1, out->org_id);
    out->kind = sqlite3_column_int(s, 2);
    out->status = sqlite3_column_int(s, 3);
    out->total = sqlite3_column_int64(s, 4);
    out->done = sqlite3_column_int64(s, 5);
    out->ok = sqlite3_column_int64(s, 6);
    out->failed = sqlite3_column_int64(s, 7);
    out->params_json = sq_col_str(s, 8, a);
    out->created_ms = sqlite3_column_int64(s, 9);
    out->updated_ms = sqlite3_column_int64(s, 10);
fail:
    sqlite3_finalize(s);
    return code;
}

/* --- chunk leases (in the store object, see struct sq_store) --- */

#define PICK_CANDIDATES 64 /* open jobs looked at per claim; leased chunks are skipped */

static struct sq_lease *lease_find(struct sq_store *st, const char *job_id, int64_t chunk_no)
{
    for (size_t i = 0; i < st->nleases; i++)
        if (st->leases[i].chunk_no == chunk_no && strcmp(st->leases[i].job_id, job_id) == 0)
            return &st->leases[i];
    return NULL;
}

/* Takes the lease of (job_id, chunk_no) if it is free or expired. Expired leases are
 * dropped on the way, so the table holds only the chunks being worked on. */
static bool lease_take(struct sq_store *st, const char *job_id, int64_t chunk_no, int64_t now_ms,
                       int64_t until_ms, int64_t token)
{
    bool taken = false;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->nleases;) {
        if (st->leases[i].until_ms < now_ms)
            st->leases[i] = st->leases[--st->nleases];
        else
            i++;
    }
    if (lease_find(st, job_id, chunk_no))
        goto done;
    if (st->nleases == st->cap_leases) {
        size_t cap = st->cap_leases ? st->cap_leases * 2 : 64;
        struct sq_lease *grown = realloc(st->leases, cap * sizeof(*grown));
        if (!grown)
            goto done;
        st->leases = grown;
        st->cap_leases = cap;
    }
    struct sq_lease *l = &st->leases[st->nleases++];
    snprintf(l->job_id, sizeof(l->job_id), "%s", job_id);
    l->chunk_no = chunk_no;
    l->token = token;
    l->until_ms = until_ms;
    taken = true;
done:
    pthread_mutex_unlock(&st->mu);
    return taken;
}

/* true if token still holds the lease of the chunk; until_ms > 0 also moves its end. */
static bool lease_check(struct sq_store *st, const struct roster_chunk *ch, int64_t until_ms)
{
    pthread_mutex_lock(&st->mu);
    struct sq_lease *l = lease_find(st, ch->job_id, ch->chunk_no);
    bool ok = l && l->token == ch->lease_token;
    if (ok && until_ms > 0)
        l->until_ms = until_ms;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

int sq_chunk_claim(struct roster_conn *pc, int64_t now_ms, int64_t lease_ms,
                   struct roster_chunk *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct sq_store *st = c->store;
    int code = 0, rc;
    if (!st)
        return roster_err_set(err, ROSTER_EINVAL, "no store for this connection");
    uint64_t token;
    roster_random(&token, sizeof(token));
    int64_t tok = (int64_t)(token & INT64_MAX);
    if (tok == 0)
        tok = 1;
    /* a read: the oldest open jobs' next chunks; the first one nobody holds is ours */
    sqlite3_stmt *s = sq_stmt(c, SQ_CHUNK_PICK, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, PICK_CANDIDATES);
    bool found = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *job_id = (const char *)sqlite3_column_text(s, 0);
        int64_t chunk_no = sqlite3_column_int64(s, 4);
        if (!job_id || !lease_take(st, job_id, chunk_no, now_ms, now_ms + lease_ms, tok))
            continue;
        memset(out, 0, sizeof(*out));
        sq_col_id(s, 0, out->job_id);
        sq_col_id(s, 1, out->org_id);
        out->kind = sqlite3_column_int(s, 2);
        out->params_json = sq_col_str(s, 3, a);
        out->chunk_no = chunk_no;
        out->first_idx = sqlite3_column_int64(s, 5);
        out->count = sqlite3_column_int64(s, 6);
        out->lease_token = tok;
        found = true;
        break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    if (code)
        return code;
    if (!found)
        return roster_err_set(err, ROSTER_ENOTFOUND, "no chunk to run");
    s = sq_stmt(c, SQ_CHUNK_ITEMS, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, out->job_id);
    sqlite3_bind_int64(s, 2, out->chunk_no);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        out->items_json = sq_col_str(s, 0, a);
    else
        code = rc == SQLITE_DONE ? roster_err_set(err, ROSTER_EIO, "chunk input missing")
                                 : sq_fail(c, rc, err);
    sqlite3_reset(s);
    return code;
}

int sq_chunk_complete(struct roster_conn *pc, const struct roster_chunk *ch,
                      const char *results_json, int64_t nok, int64_t nfailed, int64_t now_ms,
                      struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    if (!c->store || !lease_check(c->store, ch, 0))
        return roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    s = sq_stmt(c, SQ_CHUNK_DONE, err);
    if (!s) {
        code = err ? err->code : ROSTER_EIO;
        goto fail;
    }
    sq_bind_str(s, 1, ch->job_id);
    sqlite3_bind_int64(s, 2, ch->chunk_no);
    sq_bind_str(s, 3, results_json);
    sqlite3_bind_int64(s, 4, now_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    int64_t count = sqlite3_column_int64(s, 0);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    sqlite3_reset(s);

    s = sq_stmt(c, SQ_JOB_ADVANCE, err);
    if (!s) {
        code = err ? err->code : ROSTER_EIO;
        goto fail;
    }
    sq_bind_str(s, 1, ch->job_id);
    sqlite3_bind_int64(s, 2, count);
    sqlite3_bind_int64(s, 3, nok);
    sqlite3_bind_int64(s, 4, nfailed);
    sqlite3_bind_int64(s, 5, ch->chunk_no + 1);
    sqlite3_bind_int64(s, 6, now_ms);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    sqlite3_reset(s);
    /* The lease stays until it expires: a done chunk is never offered again (done = 1),
     * and if the caller rolls this back, the same token may still complete it on a retry. */
    return sq_tx_end(c, true, err);
fail:
    if (s)
        sqlite3_reset(s);
    sq_tx_end(c, false, NULL);
    return code;
}

int sq_chunk_renew(struct roster_conn *pc, const struct roster_chunk *ch, int64_t until_ms,
                   struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!c->store || !lease_check(c->store, ch, until_ms))
        return roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
    return 0;
}

int sq_job_results(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_results **out, size_t *n,
                   struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int rc;
    *out = NULL;
    *n = 0;
    if (from < 0)
        from = 0;
    int code = sq_prepare(c, "SELECT 1 FROM jobs WHERE org_id = ?1 AND id = ?2", &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, org_id);
    sq_bind_str(s, 2, job_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id ? job_id : "");
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (to <= from)
        goto fail; /* empty range */

    /* start at the chunk holding item `from` (the last one starting at or before it) so that
     * chunks_job_idx serves the range instead of a scan over the job's chunks */
    code = sq_prepare(c,
                      "SELECT first_idx, count, results_json, done_ms FROM chunks"
                      " WHERE job_id = ?1 AND first_idx < ?3 AND first_idx + count > ?2"
                      " AND first_idx >= coalesce((SELECT max(first_idx) FROM chunks"
                      " WHERE job_id = ?1 AND first_idx <= ?2), 0)"
                      " ORDER BY first_idx, chunk_no",
                      &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, job_id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    size_t cap = 8, len = 0;
    struct roster_chunk_results *v = roster_arena_alloc(a, cap * sizeof(*v));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            struct roster_chunk_results *nv = roster_arena_alloc(a, 2 * cap * sizeof(*v));
            memcpy(nv, v, len * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        struct roster_chunk_results *r = &v[len++];
        r->first_idx = sqlite3_column_int64(s, 0);
        r->count = sqlite3_column_int64(s, 1);
        r->results_json = sq_col_str(s, 2, a);
        r->done_ms = sqlite3_column_int64(s, 3);
    }
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    *out = v;
    *n = len;
fail:
    sqlite3_finalize(s);
    return code;
}

int sq_lease_reset_all(struct roster_conn *pc, struct roster_err *err)
{
    static const char *const sql[] = {
        /* chunk leases of stores written before leases moved into memory */
        "UPDATE chunks SET lease_token = NULL, lease_until_ms = NULL"
        " WHERE done = 0 AND (lease_token IS NOT NULL OR lease_until_ms IS NOT NULL)",
        /* one pass over the table: walking a partial index of the pending rows instead
         * looks every row up at random (measured 4x slower at 100,000 pending) */
        "UPDATE schedules NOT INDEXED SET lease_token = NULL, lease_until_ms = NULL"
        " WHERE status = 0 AND (lease_token IS NOT NULL OR lease_until_ms IS NOT NULL)",
    };
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s;
    if (c->store) {
        pthread_mutex_lock(&c->store->mu);
        c->store->nleases = 0;
        pthread_mutex_unlock(&c->store->mu);
    }
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        code = sq_prepare(c, sql[i], &s, err);
        if (code)
            goto fail;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
        sqlite3_finalize(s);
        if (code)
            goto fail;
    }
    return sq_tx_end(c, true, err);
fail:
    sq_tx_end(c, false, NULL);
    return code;
}
