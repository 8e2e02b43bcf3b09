/* SQLite store: durable bulk jobs and their chunks (see include/roster/job.h).
 *
 * DESIGN: two files, so that submitting a job never waits for the applier. A job's
 * definition and input (job_inputs, chunk_inputs) are written once, by the submitter, to
 * the intake file (sq_conn.idb); what the job workers write — each job's progress
 * (job_progress: next_chunk, the lowest chunk not done, and the counts) and each done
 * chunk's results (chunk_results) — goes to the main file, in the applier's transaction
 * that also wrote the items' effects. SQLite has one write lock per file: with both in one
 * file, a POST waited behind the applier's whole batch (100-250 ms under load), and each
 * submission's commit emptied the applier's page cache.
 *
 * Only a job's next chunk can be claimed, so one job's chunks run in order and never two
 * at once. Message jobs are the exception: their items are independent, so when their next
 * chunk is taken a claim takes a later one still to do (no chunk_results row), several run
 * at once, and completing one sets next_chunk to the lowest still to do. A claim walks the open
 * jobs (st->open_jobs, in memory: loaded at open, added to after each job_create commit, pruned
 * when a claim finds a job finished) oldest first and takes the first whose next chunk has no live
 * lease: its cost grows with the number of jobs being worked on right now, not with the number of
 * chunks ever stored. A lease is a random token plus an expiry; completing a chunk requires the
 * token (and a chunk's results row can be written once), so a worker that lost its lease cannot
 * commit twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define OPEN_JOBS_SLACK 64 /* free slots kept before a job_create commits */

/* --- the open-job list (in the store object, see struct sq_store) --- */

static bool open_jobs_grow(struct sq_store *st, size_t need)
{
    if (st->cap_open >= need)
        return true;
    size_t cap = st->cap_open ? st->cap_open : 64;
    while (cap < need)
        cap *= 2;
    struct sq_open_job *grown = realloc(st->open_jobs, cap * sizeof(*grown));
    if (!grown)
        return false;
    st->open_jobs = grown;
    st->cap_open = cap;
    return true;
}

int sq_open_job_add(struct sq_store *st, int64_t seq, const char *id)
{
    int code = 0;
    pthread_mutex_lock(&st->mu);
    if (!open_jobs_grow(st, st->nopen + 1)) {
        code = ROSTER_ENOMEM;
        goto done;
    }
    /* usually the newest: insert from the end */
    size_t at = st->nopen;
    while (at > 0 && st->open_jobs[at - 1].seq > seq)
        at--;
    memmove(&st->open_jobs[at + 1], &st->open_jobs[at], (st->nopen - at) * sizeof(*st->open_jobs));
    st->open_jobs[at].seq = seq;
    snprintf(st->open_jobs[at].id, sizeof(st->open_jobs[at].id), "%s", id);
    st->nopen++;
done:
    pthread_mutex_unlock(&st->mu);
    return code;
}

int sq_open_jobs_reserve(struct sq_store *st, size_t extra)
{
    pthread_mutex_lock(&st->mu);
    bool room = open_jobs_grow(st, st->nopen + extra);
    pthread_mutex_unlock(&st->mu);
    return room ? 0 : ROSTER_ENOMEM;
}

static void quota_job_remove_locked(struct sq_store *st, const char *id);

/* A claim found job id finished: it leaves the open list and the quota list. */
static void open_job_remove(struct sq_store *st, const char *id)
{
    pthread_mutex_lock(&st->mu);
    quota_job_remove_locked(st, id);
    for (size_t i = 0; i < st->nopen; i++) {
        if (strcmp(st->open_jobs[i].id, id) == 0) {
            memmove(&st->open_jobs[i], &st->open_jobs[i + 1],
                    (st->nopen - i - 1) * sizeof(*st->open_jobs));
            st->nopen--;
            break;
        }
    }
    pthread_mutex_unlock(&st->mu);
}

/* --- the quota list (st->quota_jobs, see struct sq_store) --- */

int sq_quota_job_add(struct sq_store *st, const char *org_id, const char *id)
{
    int code = 0;
    pthread_mutex_lock(&st->mu);
    if (st->nquota == st->cap_quota) {
        size_t cap = st->cap_quota ? st->cap_quota * 2 : 64;
        struct sq_quota_job *grown = realloc(st->quota_jobs, cap * sizeof(*grown));
        if (!grown) {
            code = ROSTER_ENOMEM;
            goto done;
        }
        st->quota_jobs = grown;
        st->cap_quota = cap;
    }
    struct sq_quota_job *q = &st->quota_jobs[st->nquota++];
    snprintf(q->org_id, sizeof(q->org_id), "%s", org_id);
    snprintf(q->id, sizeof(q->id), "%s", id);
done:
    pthread_mutex_unlock(&st->mu);
    return code;
}

/* Drops finished job id from the quota list; the caller holds mu. */
static void quota_job_remove_locked(struct sq_store *st, const char *id)
{
    for (size_t i = 0; i < st->nquota; i++) {
        if (strcmp(st->quota_jobs[i].id, id) == 0) {
            st->quota_jobs[i] = st->quota_jobs[--st->nquota]; /* order does not matter */
            return;
        }
    }
}

/* Reads job_id's items and whether it still takes items (intake file) and its done count
 * (main file); *open = held or not every item done. A job without an intake row is gone. */
/* The two one-off statements of a walk over n jobs, each read by primary key: def on the
 * intake file (the job's definition) and prog on the main file (its progress); none (both
 * NULL) when n is 0. The caller finalizes them. */
static int walk_prepare(struct sq_conn *c, size_t n, const char *def_sql, const char *prog_sql,
                        sqlite3_stmt **def, sqlite3_stmt **prog, struct roster_err *err)
{
    *def = *prog = NULL;
    if (n == 0)
        return 0;
    int code = sq_iprepare(c, def_sql, def, err);
    return code ? code : sq_prepare(c, prog_sql, prog, err);
}

static int usage_of(struct sq_conn *c, sqlite3_stmt *in, sqlite3_stmt *prog, const char *job_id,
                    bool *open, int64_t *pending, struct roster_err *err)
{
    int64_t done = 0, total = 0;
    bool held = false;
    sq_bind_str(prog, 1, job_id);
    int rc = sqlite3_step(prog);
    if (rc == SQLITE_ROW)
        done = sqlite3_column_int64(prog, 0);
    sqlite3_reset(prog);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    sq_bind_str(in, 1, job_id);
    rc = sqlite3_step(in);
    if (rc == SQLITE_ROW) {
        total = sqlite3_column_int64(in, 0);
        held = sqlite3_column_int(in, 1) != 0;
    }
    sqlite3_reset(in);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail_on(c->idb, rc, err);
    *open = held || done < total;
    *pending = total > done ? total - done : 0;
    return 0;
}

int sq_job_usage(struct roster_conn *pc, const char *org_id, int64_t *jobs, int64_t *items,
                 struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct sq_store *st = c->store;
    *jobs = *items = 0;
    if (!st)
        return 0;
    /* the organisation's listed jobs, copied out of the lock */
    pthread_mutex_lock(&st->mu);
    size_t n = 0;
    char(*ids)[ROSTER_ID_LEN + 1] = malloc((st->nquota ? st->nquota : 1) * sizeof(*ids));
    for (size_t i = 0; ids && i < st->nquota; i++)
        if (strcmp(st->quota_jobs[i].org_id, org_id) == 0)
            memcpy(ids[n++], st->quota_jobs[i].id, sizeof(ids[0]));
    pthread_mutex_unlock(&st->mu);
    if (!ids)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    sqlite3_stmt *in, *prog;
    int code = walk_prepare(c, n,
                            "SELECT total, EXISTS (SELECT 1 FROM job_holds AS h"
                            " WHERE h.job_id = j.id) FROM job_inputs AS j WHERE id = ?1",
                            "SELECT done FROM job_progress WHERE job_id = ?1", &in, &prog, err);
    size_t nfinished = 0;
    for (size_t i = 0; !code && i < n; i++) {
        bool open = false;
        int64_t pending = 0;
        code = usage_of(c, in, prog, ids[i], &open, &pending, err);
        if (code)
            break;
        if (open) {
            (*jobs)++;
            *items += pending;
        } else {
            memcpy(ids[nfinished++], ids[i], sizeof(ids[0])); /* i >= nfinished */
        }
    }
    sqlite3_finalize(in);
    sqlite3_finalize(prog);
    if (!code && nfinished) {
        pthread_mutex_lock(&st->mu);
        for (size_t i = 0; i < nfinished; i++)
            quota_job_remove_locked(st, ids[i]);
        pthread_mutex_unlock(&st->mu);
    }
    free(ids);
    return code;
}

/* --- jobs --- */

void sq_intake_rollback(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->idb))
        sq_exec_cached(c, SQ_IROLLBACK, NULL);
}

int sq_intake_job_insert(struct sq_conn *c, const struct roster_job *job, int64_t total,
                         int64_t nchunks, int64_t now, int64_t *seq, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_JOB_INSERT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, job->id);
    sq_bind_str(s, 2, job->org_id);
    sqlite3_bind_int(s, 3, job->kind);
    sqlite3_bind_int64(s, 4, total);
    sqlite3_bind_int64(s, 5, nchunks);
    sq_bind_str(s, 6, job->params_json);
    sqlite3_bind_int64(s, 7, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return (rc & 0xff) == SQLITE_CONSTRAINT
                   ? roster_err_set(err, ROSTER_ECONFLICT, "job \"%s\" already exists", job->id)
                   : sq_fail_on(c->idb, rc, err);
    if (seq)
        *seq = sqlite3_last_insert_rowid(c->idb);
    return 0;
}

int sq_intake_chunks_insert(struct sq_conn *c, const char *job_id, int64_t first_chunk,
                            int64_t first_idx, const char *const *items_json, const int64_t *counts,
                            size_t n, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_CHUNK_INPUT_INSERT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    for (size_t i = 0; i < n; i++) {
        sq_bind_str(s, 1, job_id);
        sqlite3_bind_int64(s, 2, first_chunk + (int64_t)i);
        sqlite3_bind_int64(s, 3, first_idx);
        sqlite3_bind_int64(s, 4, counts[i]);
        sq_bind_str(s, 5, items_json[i]);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return sq_fail_on(c->idb, rc, err);
        first_idx += counts[i];
    }
    return 0;
}

/* Writes the job and its chunks to the intake file in one transaction of its own (not the
 * caller's: that one is on the main file). Returns the job's intake seq in *seq. */
static int intake_insert(struct sq_conn *c, struct roster_job *job, const char *const *items_json,
                         const int64_t *counts, size_t nchunks, int64_t total, int64_t now,
                         const struct roster_idem_rec *idem, int64_t *seq, struct roster_err *err)
{
    int code = sq_exec_cached(c, SQ_IBEGIN, err);
    if (code)
        return code;
    code = sq_idem_write(c->idb, idem, err);
    if (!code)
        code = sq_intake_job_insert(c, job, total, (int64_t)nchunks, now, seq, err);
    if (!code)
        code = sq_intake_chunks_insert(c, job->id, 0, 0, items_json, counts, nchunks, err);
    if (!code)
        code = sq_exec_cached(c, SQ_ICOMMIT, err);
    if (code)
        sq_intake_rollback(c);
    return code;
}

int sq_job_create(struct roster_conn *pc, struct roster_job *job, const char *const *items_json,
                  const int64_t *counts, size_t nchunks, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    const struct roster_idem_rec *idem = sq_idem_take(c);
    bool new_id = !job->id[0];
    int64_t total = 0, now = roster_now_ms(), seq = 0, org_num;
    for (size_t i = 0; i < nchunks; i++) {
        if (!items_json[i] || counts[i] < 0)
            return roster_err_set(err, ROSTER_EINVAL, "chunk %zu of the job is malformed", i);
        total += counts[i];
    }
    int code = sq_org_num_for(c, job->org_id, &org_num, "organization", job->org_id, err);
    if (code)
        return code;
    /* room for this job in the open list before it is committed */
    if (c->store && sq_open_jobs_reserve(c->store, OPEN_JOBS_SLACK) != 0)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    if (new_id)
        roster_id_new(job->id);
    code = intake_insert(c, job, items_json, counts, nchunks, total, now, idem, &seq, err);
    if (code) {
        if (new_id)
            job->id[0] = '\0';
        return code;
    }
    /* cannot fail but for memory, and room was made above; the job would otherwise wait
     * for the next start, which loads every open job */
    if (c->store && total > 0) {
        (void)sq_open_job_add(c->store, seq, job->id);
        /* out of memory: the job is missing from the counts until the next start */
        (void)sq_quota_job_add(c->store, job->org_id, job->id);
    }
    job->status = total == 0 ? ROSTER_JOB_FINISHED : ROSTER_JOB_PENDING;
    job->total = total;
    job->done = job->ok = job->failed = 0;
    job->created_ms = job->updated_ms = now;
    return 0;
}

/* --- jobs applied by their creator (schema 15: job_records, record_results) ---
 *
 * A local `roster import` applies its rows itself and records each batch's results in the
 * same transaction. SQLite commits atomically in one file only, so these jobs live wholly
 * in the main file with the users they describe (not in the intake file, whose jobs the
 * claims walk): after a crash the users and the results agree, and an import that rolls
 * back leaves no job. job_get and the result pages look here when the intake file has no
 * such job. */

static void read_record(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_job *j = row;
    (void)ctx;
    memset(j, 0, sizeof(*j));
    sq_col_id(s, 0, j->id);
    sq_col_id(s, 1, j->org_id);
    j->kind = sqlite3_column_int(s, 2);
    j->status = sqlite3_column_int(s, 3);
    j->total = j->done = sqlite3_column_int64(s, 4);
    j->ok = sqlite3_column_int64(s, 5);
    j->failed = sqlite3_column_int64(s, 6);
    j->params_json = sq_col_str(s, 7, a);
    j->created_ms = sqlite3_column_int64(s, 8);
    j->updated_ms = sqlite3_column_int64(s, 9);
}

static int record_get(struct sq_conn *c, const char *org_id, const char *job_id,
                      struct roster_job *out, struct roster_arena *a, struct roster_err *err)
{
    int code =
        sq_select_one(c,
                      "SELECT id, org_id, kind, status, total, ok, failed, params_json,"
                      " created_ms, updated_ms FROM job_records WHERE org_id = ?1 AND id = ?2",
                      SQ_ARGS(SQ_TEXT(org_id), SQ_TEXT(job_id)), read_record, NULL, out, a, err);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, "job", job_id) : code;
}

int sq_job_record_create(struct roster_conn *pc, struct roster_job *job, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num, now = roster_now_ms();
    int code = sq_org_num_for(c, job->org_id, &org_num, "organization", job->org_id, err);
    if (code)
        return code;
    bool new_id = !job->id[0];
    if (new_id)
        roster_id_new(job->id);
    struct sq_item item = {"job", job->id, job->org_id};
    code = sq_write(c,
                    "INSERT INTO job_records (id, org_id, kind, status, params_json, created_ms,"
                    " updated_ms) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5)",
                    SQ_ARGS(SQ_TEXT(job->id), SQ_TEXT(job->org_id), SQ_INT(job->kind),
                            SQ_TEXT(job->params_json), SQ_INT(now)),
                    sq_insert_fail, &item, err);
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

int sq_job_record_chunk(struct roster_conn *pc, const char *org_id, const char *job_id,
                        int64_t first_idx, int64_t count, const char *results_json, int64_t nok,
                        int64_t nfailed, bool finished, int64_t now_ms, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (count < 0 || first_idx < 0 || (count > 0 && !results_json))
        return roster_err_set(err, ROSTER_EINVAL, "malformed results of job \"%s\"", job_id);
    /* a savepoint: a refused range or job leaves nothing in the caller's transaction */
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    if (count > 0) {
        char what[64];
        snprintf(what, sizeof(what), "result of item %lld of job", (long long)first_idx);
        struct sq_item item = {what, job_id, org_id};
        code = sq_write(c,
                        "INSERT INTO record_results (job_id, first_idx, count, done_ms,"
                        " results_json) VALUES (?1, ?2, ?3, ?4, ?5)",
                        SQ_ARGS(SQ_TEXT(job_id), SQ_INT(first_idx), SQ_INT(count), SQ_INT(now_ms),
                                SQ_TEXT(results_json)),
                        sq_insert_fail, &item, err);
    }
    if (!code)
        code = sq_update(c,
                         "UPDATE job_records SET total = total + ?3, ok = ok + ?4,"
                         " failed = failed + ?5, status = CASE WHEN ?6 THEN 2 ELSE status END,"
                         " updated_ms = ?7 WHERE org_id = ?1 AND id = ?2",
                         SQ_ARGS(SQ_TEXT(org_id), SQ_TEXT(job_id), SQ_INT(count), SQ_INT(nok),
                                 SQ_INT(nfailed), SQ_INT(finished), SQ_INT(now_ms)),
                         "job", job_id, err);
    if (code) {
        sq_tx_end(c, false, NULL);
        return code;
    }
    return sq_tx_end(c, true, err);
}

/* chunk_span of a job_records job: its recorded ranges that hold items [from, to). */
static int record_span(struct sq_conn *c, const char *org_id, const char *job_id, int64_t from,
                       int64_t to, struct roster_arena *a, struct roster_chunk_page **out,
                       size_t *n, struct roster_err *err)
{
    struct roster_job job;
    int code = record_get(c, org_id, job_id, &job, a, err);
    if (code || to <= from)
        return code;
    sqlite3_stmt *s = NULL;
    /* from the range holding item `from` (the last one starting at or before it) on, so
     * that the primary key serves the range */
    code = sq_prepare_args(c->db,
                           "SELECT first_idx, count, results_json, done_ms FROM record_results"
                           " WHERE job_id = ?1 AND first_idx < ?3 AND first_idx >= coalesce("
                           "(SELECT max(first_idx) FROM record_results WHERE job_id = ?1"
                           " AND first_idx <= ?2), 0) ORDER BY first_idx",
                           SQ_ARGS(SQ_TEXT(job_id), SQ_INT(from), SQ_INT(to)), &s, err);
    if (code)
        return code;
    size_t cap = 8, len = 0;
    struct roster_chunk_page *v = roster_arena_zalloc(a, cap * sizeof(*v));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            struct roster_chunk_page *nv = roster_arena_zalloc(a, 2 * cap * sizeof(*v));
            memcpy(nv, v, len * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        v[len].first_idx = sqlite3_column_int64(s, 0);
        v[len].count = sqlite3_column_int64(s, 1);
        v[len].results_json = sq_col_str(s, 2, a);
        v[len].done_ms = sqlite3_column_int64(s, 3);
        len++;
    }
    code = rc == SQLITE_DONE ? 0 : sq_fail(c, rc, err);
    sqlite3_finalize(s);
    if (code)
        return code;
    *out = v;
    *n = len;
    return 0;
}

int sq_job_get(struct roster_conn *pc, const char *org_id, const char *job_id,
               struct roster_job *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int rc;
    int code =
        sq_prepare_args(c->idb, SQ_INTAKE_JOB("id, org_id, kind, total, params_json, created_ms"),
                        SQ_ARGS(SQ_TEXT(org_id), SQ_TEXT(job_id)), &s, err);
    if (code)
        return code;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) { /* not the engine's: perhaps one its creator applies */
        code = record_get(c, org_id, job_id, out, a, err);
        goto done;
    }
    if (rc != SQLITE_ROW) {
        code = sq_fail_on(c->idb, rc, err);
        goto done;
    }
    memset(out, 0, sizeof(*out));
    sq_col_id(s, 0, out->id);
    sq_col_id(s, 1, out->org_id);
    out->kind = sqlite3_column_int(s, 2);
    out->total = sqlite3_column_int64(s, 3);
    out->params_json = sq_col_str(s, 4, a);
    out->created_ms = out->updated_ms = sqlite3_column_int64(s, 5);
    bool held = sqlite3_column_int(s, 6) != 0;
    sqlite3_finalize(s);
    s = NULL;
    code = sq_prepare_args(
        c->db, "SELECT done, ok, failed, updated_ms FROM job_progress WHERE job_id = ?1",
        SQ_ARGS(SQ_TEXT(out->id)), &s, err);
    if (code)
        goto done;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->done = sqlite3_column_int64(s, 0);
        out->ok = sqlite3_column_int64(s, 1);
        out->failed = sqlite3_column_int64(s, 2);
        out->updated_ms = sqlite3_column_int64(s, 3);
    } else if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto done;
    }
    out->status = out->done >= out->total ? ROSTER_JOB_FINISHED
                  : out->done > 0         ? ROSTER_JOB_RUNNING
                                          : ROSTER_JOB_PENDING;
    if (out->kind == ROSTER_JOB_MESSAGE && held)
        out->status = ROSTER_JOB_CREATED;
done:
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
    size_t idlen = strnlen(job_id, ROSTER_ID_LEN);
    memcpy(l->job_id, job_id, idlen);
    l->job_id[idlen] = '\0';
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

/* The next_chunk of job_id's progress row (0 when it has none yet). */
static int progress_next(struct sq_conn *c, const char *job_id, int64_t *next,
                         struct roster_err *err)
{
    *next = 0;
    int code = sq_int_row(c, SQ_PROGRESS_GET, SQ_ARGS(SQ_TEXT(job_id)), next, err);
    return code == ROSTER_ENOTFOUND ? 0 : code;
}

/* The next chunk of open job id: *chunk_no and the job's definition, or ROSTER_ENOTFOUND
 * once every chunk is done (or the job is gone). */
static int next_chunk_of(struct sq_conn *c, const char id[ROSTER_ID_LEN + 1], int64_t *chunk_no,
                         int64_t *nchunks, struct roster_chunk *out, struct roster_arena *a,
                         struct roster_err *err)
{
    int code = progress_next(c, id, chunk_no, err);
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_JOB_DEF, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, id);
    int rc = sqlite3_step(s);
    *nchunks = rc == SQLITE_ROW ? sqlite3_column_int64(s, 3) : 0;
    if (rc == SQLITE_ROW && *chunk_no < *nchunks) {
        memset(out, 0, sizeof(*out));
        memcpy(out->job_id, id, sizeof(out->job_id));
        sq_col_id(s, 0, out->org_id);
        out->kind = sqlite3_column_int(s, 1);
        out->params_json = sq_col_str(s, 2, a);
        out->chunk_no = *chunk_no;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        code = ROSTER_ENOTFOUND;
    } else {
        code = sq_fail_on(c->idb, rc, err);
    }
    sqlite3_reset(s);
    return code;
}

/* A message job's chunks may run at once: takes the lease of the first chunk after `next`
 * (below nchunks) that is neither done (a chunk_results row) nor leased, looking at
 * PICK_CANDIDATES of them at most; *taken false when there is none. */
static int claim_later_chunk(struct sq_conn *c, const char *job_id, int64_t next, int64_t nchunks,
                             int64_t now_ms, int64_t until_ms, int64_t tok, int64_t *chunk_no,
                             bool *taken, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_RESULTS_AFTER, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, job_id);
    sqlite3_bind_int64(s, 2, next);
    int rc = SQLITE_ROW, code = 0, tries = 0;
    int64_t done_no = -1; /* the next done chunk (results are read in chunk order) */
    *taken = false;
    for (int64_t cand = next + 1; cand < nchunks && tries < PICK_CANDIDATES; cand++) {
        while (rc == SQLITE_ROW && done_no < cand) {
            rc = sqlite3_step(s);
            done_no = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : INT64_MAX;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            code = sq_fail(c, rc, err);
            break;
        }
        if (done_no == cand)
            continue;
        tries++;
        if (lease_take(c->store, job_id, cand, now_ms, until_ms, tok)) {
            *chunk_no = cand;
            *taken = true;
            break;
        }
    }
    sqlite3_reset(s);
    return code;
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
    /* the oldest open jobs' next chunks; the first one nobody holds is ours */
    char ids[PICK_CANDIDATES][ROSTER_ID_LEN + 1];
    size_t n = 0;
    pthread_mutex_lock(&st->mu);
    for (; n < st->nopen && n < PICK_CANDIDATES; n++)
        memcpy(ids[n], st->open_jobs[n].id, sizeof(ids[n]));
    pthread_mutex_unlock(&st->mu);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        int64_t chunk_no = 0, nchunks = 0;
        code = next_chunk_of(c, ids[i], &chunk_no, &nchunks, out, a, err);
        if (code == ROSTER_ENOTFOUND) {
            open_job_remove(st, ids[i]);
            code = 0;
            continue;
        }
        if (code)
            return code;
        found = lease_take(st, ids[i], chunk_no, now_ms, now_ms + lease_ms, tok);
        if (!found && out->kind == ROSTER_JOB_MESSAGE) {
            code = claim_later_chunk(c, ids[i], chunk_no, nchunks, now_ms, now_ms + lease_ms, tok,
                                     &out->chunk_no, &found, err);
            if (code)
                return code;
        }
    }
    if (!found)
        return roster_err_set(err, ROSTER_ENOTFOUND, "no chunk to run");
    out->lease_token = tok;
    sqlite3_stmt *s = sq_stmt(c, SQ_CHUNK_INPUT_GET, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, out->job_id);
    sqlite3_bind_int64(s, 2, out->chunk_no);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->first_idx = sqlite3_column_int64(s, 0);
        out->count = sqlite3_column_int64(s, 1);
        out->items_json = sq_col_str(s, 2, a);
    } else {
        code = rc == SQLITE_DONE ? roster_err_set(err, ROSTER_EIO, "chunk input missing")
                                 : sq_fail_on(c->idb, rc, err);
    }
    sqlite3_reset(s);
    return code;
}

/* The lowest chunk of job_id without a result, from its current next_chunk on (after this
 * transaction's result row was written). */
static int lowest_to_do(struct sq_conn *c, const char *job_id, int64_t *next,
                        struct roster_err *err)
{
    int64_t from;
    int code = progress_next(c, job_id, &from, err);
    if (code)
        return code;
    code = sq_int_row(c, SQ_LOWEST_TODO, SQ_ARGS(SQ_TEXT(job_id), SQ_INT(from)), next, err);
    /* min() answers one row at all times */
    return code == ROSTER_ENOTFOUND ? sq_fail(c, SQLITE_DONE, err) : code;
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
    int code = sq_tx_stmt(c, SQ_CHUNK_RESULT_INSERT, &s, err);
    if (code)
        return code;
    sq_bind_str(s, 1, ch->job_id);
    sqlite3_bind_int64(s, 2, ch->chunk_no);
    sqlite3_bind_int64(s, 3, now_ms);
    sq_bind_str(s, 4, results_json ? results_json : "[]");
    int rc = sqlite3_step(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        /* done already: by a worker whose lease expired before ours was taken */
        code = roster_err_set(err, ROSTER_ESTALE, "lease on chunk %lld of job \"%s\" was lost",
                              (long long)ch->chunk_no, ch->job_id);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    sqlite3_reset(s);

    int64_t next = ch->chunk_no + 1;
    if (ch->kind == ROSTER_JOB_MESSAGE) {
        /* chunks done in any order (claim_later_chunk): the lowest one still to do */
        code = lowest_to_do(c, ch->job_id, &next, err);
        if (code)
            goto fail;
    }
    code = sq_exec_args(
        c, ch->kind == ROSTER_JOB_MESSAGE ? SQ_PROGRESS_ADVANCE_ANY : SQ_PROGRESS_ADVANCE,
        SQ_ARGS(SQ_TEXT(ch->job_id), SQ_INT(ch->count), SQ_INT(nok), SQ_INT(nfailed), SQ_INT(next),
                SQ_INT(now_ms)),
        err);
    if (code)
        goto fail;
    /* The lease stays until it expires: a done chunk is never offered again (next_chunk
     * moved past it), and if the caller rolls this back, the same token may still complete
     * it on a retry. */
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

/* chunk_span's one read of the intake file: the job (no row: missing or another
 * organisation's), LEFT JOINed to the chunks' places, none when the range is empty (?4).
 * They start at the chunk holding item `from` (the last one starting at or before it) so
 * that chunk_inputs_idx serves the range instead of a scan over the job's chunks. */
#define SPAN_FROM                                                                                  \
    " FROM job_inputs AS j LEFT JOIN chunk_inputs AS c ON c.job_id = j.id AND ?4"                  \
    " AND c.first_idx < ?3 AND c.first_idx + c.count > ?2"                                         \
    " AND c.first_idx >= coalesce((SELECT max(first_idx) FROM chunk_inputs"                        \
    " WHERE job_id = ?1 AND first_idx <= ?2), 0)"                                                  \
    " WHERE j.org_id = ?5 AND j.id = ?1 ORDER BY c.first_idx, c.chunk_no"

/* The chunks of job_id (of org_id) that hold items [from, to), in item order: their places,
 * their input when items, and the results of the done ones (job_results and job_chunks).
 * ROSTER_ENOTFOUND for a missing or foreign job; none for an empty range. */
static int chunk_span(struct sq_conn *c, const char *org_id, const char *job_id, int64_t from,
                      int64_t to, bool items, struct roster_arena *a,
                      struct roster_chunk_page **out, size_t *n, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc, code = 0;
    *out = NULL;
    *n = 0;
    if (from < 0)
        from = 0;
    code = sq_prepare_args(
        c->idb,
        items ? "SELECT c.chunk_no, c.first_idx, c.count, c.items_json" SPAN_FROM
              : "SELECT c.chunk_no, c.first_idx, c.count" SPAN_FROM,
        SQ_ARGS(SQ_TEXT(job_id), SQ_INT(from), SQ_INT(to), SQ_INT(to > from), SQ_TEXT(org_id)), &s,
        err);
    if (code)
        return code;
    size_t cap = 8, len = 0;
    struct roster_chunk_page *v = roster_arena_zalloc(a, cap * sizeof(*v));
    int64_t *nos = roster_arena_alloc(a, cap * sizeof(*nos));
    bool found = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        found = true;
        if (sqlite3_column_type(s, 0) == SQLITE_NULL)
            continue; /* the job without a chunk in the range */
        if (len == cap) {
            struct roster_chunk_page *nv = roster_arena_zalloc(a, 2 * cap * sizeof(*v));
            int64_t *nn = roster_arena_alloc(a, 2 * cap * sizeof(*nos));
            memcpy(nv, v, len * sizeof(*v));
            memcpy(nn, nos, len * sizeof(*nos));
            v = nv;
            nos = nn;
            cap *= 2;
        }
        nos[len] = sqlite3_column_int64(s, 0);
        v[len].first_idx = sqlite3_column_int64(s, 1);
        v[len].count = sqlite3_column_int64(s, 2);
        if (items)
            v[len].items_json = sq_col_str(s, 3, a);
        len++;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc != SQLITE_DONE)
        return sq_fail_on(c->idb, rc, err);
    if (!found) /* not the engine's: perhaps one its creator applies */
        return record_span(c, org_id, job_id, from, to, a, out, n, err);
    if (len == 0)
        return 0;

    /* their results, from the main file (rows only for done chunks) */
    int64_t lo = nos[0], hi = nos[0];
    for (size_t i = 1; i < len; i++) {
        lo = nos[i] < lo ? nos[i] : lo;
        hi = nos[i] > hi ? nos[i] : hi;
    }
    code = sq_prepare_args(c->db,
                           "SELECT chunk_no, results_json, done_ms FROM chunk_results"
                           " WHERE job_id = ?1 AND chunk_no BETWEEN ?2 AND ?3",
                           SQ_ARGS(SQ_TEXT(job_id), SQ_INT(lo), SQ_INT(hi)), &s, err);
    if (code)
        return code;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(s, 0);
        for (size_t i = 0; i < len; i++) {
            if (nos[i] == no) {
                v[i].results_json = sq_col_str(s, 1, a);
                v[i].done_ms = sqlite3_column_int64(s, 2);
                break;
            }
        }
    }
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    sqlite3_finalize(s);
    if (code)
        return code;
    *out = v;
    *n = len;
    return 0;
}

int sq_job_results(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_results **out, size_t *n,
                   struct roster_err *err)
{
    struct roster_chunk_page *p;
    size_t len;
    *out = NULL;
    *n = 0;
    int code = chunk_span(sq_conn_of(pc), org_id, job_id, from, to, false, a, &p, &len, err);
    if (code || len == 0)
        return code;
    struct roster_chunk_results *v = roster_arena_alloc(a, len * sizeof(*v));
    for (size_t i = 0; i < len; i++)
        v[i] = (struct roster_chunk_results){p[i].first_idx, p[i].count, p[i].results_json,
                                             p[i].done_ms};
    *out = v;
    *n = len;
    return 0;
}

/* A message job's items (sqlite_msgjobs.c has its other methods): the chunks' input too. */
int sq_job_chunks(struct roster_conn *pc, const char *org_id, const char *job_id, int64_t from,
                  int64_t to, struct roster_arena *a, struct roster_chunk_page **out, size_t *n,
                  struct roster_err *err)
{
    return chunk_span(sq_conn_of(pc), org_id, job_id, from, to, true, a, out, n, err);
}

int sq_lease_reset_all(struct roster_conn *pc, struct roster_err *err)
{
    /* one pass over the table: walking a partial index of the pending rows instead looks
     * every row up at random (measured 4x slower at 100,000 pending) */
    static const char sql[] =
        "UPDATE schedules NOT INDEXED SET lease_token = NULL, lease_until_ms = NULL"
        " WHERE status = 0 AND (lease_token IS NOT NULL OR lease_until_ms IS NOT NULL)";
    /* claimed outbox messages without an outcome are due again at once */
    static const char msgs[] = "UPDATE messages SET due_ms = 0, lease_token = 0"
                               " WHERE status = 'ENQUEUED' AND lease_token != 0";
    struct sq_conn *c = sq_conn_of(pc);
    if (c->store) {
        pthread_mutex_lock(&c->store->mu);
        c->store->nleases = 0;
        pthread_mutex_unlock(&c->store->mu);
    }
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    code = sq_write(c, sql, NULL, 0, NULL, NULL, err);
    if (!code)
        code = sq_write(c, msgs, NULL, 0, NULL, NULL, err);
    if (code) {
        sq_tx_end(c, false, NULL);
        return code;
    }
    return sq_tx_end(c, true, err);
}

/* --- the operator's view --- */

/* The open jobs walked from the in-memory list (oldest first; a job the claims have not
 * pruned yet is read and found finished), each with two primary-key reads: its definition
 * in the intake file and its progress in the main file. The two files answer separately,
 * so a job finishing in between is seen either way. */
static int open_jobs_stats(struct sq_conn *c, struct roster_queue_stats *out,
                           struct roster_err *err)
{
    struct sq_store *st = c->store;
    if (!st)
        return 0;
    pthread_mutex_lock(&st->mu);
    size_t n = st->nopen;
    int64_t *seqs = n ? malloc(n * sizeof(*seqs)) : NULL;
    for (size_t i = 0; seqs && i < n; i++)
        seqs[i] = st->open_jobs[i].seq;
    pthread_mutex_unlock(&st->mu);
    if (n && !seqs)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    sqlite3_stmt *def, *prog;
    int code = walk_prepare(
        c, n, "SELECT j.id, j.total, j.nchunks, j.created_ms FROM job_inputs AS j WHERE j.seq = ?1",
        "SELECT done, next_chunk FROM job_progress WHERE job_id = ?1", &def, &prog, err);
    for (size_t i = 0; !code && i < n; i++) {
        sqlite3_bind_int64(def, 1, seqs[i]);
        int rc = sqlite3_step(def);
        if (rc == SQLITE_ROW) {
            int64_t total = sqlite3_column_int64(def, 1), nchunks = sqlite3_column_int64(def, 2);
            int64_t created = sqlite3_column_int64(def, 3), done = 0, next = 0;
            sqlite3_bind_text(prog, 1, (const char *)sqlite3_column_text(def, 0), -1,
                              SQLITE_TRANSIENT);
            int prc = sqlite3_step(prog);
            if (prc == SQLITE_ROW) {
                done = sqlite3_column_int64(prog, 0);
                next = sqlite3_column_int64(prog, 1);
            } else if (prc != SQLITE_DONE) {
                code = sq_fail(c, prc, err);
            }
            sqlite3_reset(prog);
            if (!code && next < nchunks) {
                out->jobs_open++;
                out->items_open += total > done ? total - done : 0;
                if (!out->oldest_job_ms || created < out->oldest_job_ms)
                    out->oldest_job_ms = created;
            }
        } else if (rc != SQLITE_DONE) {
            code = sq_fail_on(c->idb, rc, err);
        }
        sqlite3_reset(def);
    }
    sqlite3_finalize(def);
    sqlite3_finalize(prog);
    free(seqs);
    return code;
}

int sq_queue_stats(struct roster_conn *pc, struct roster_queue_stats *out, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    memset(out, 0, sizeof(*out));
    int code = open_jobs_stats(c, out, err);
    if (code)
        return code;
    /* the partial index of pending schedules (schedules_due) serves both */
    sqlite3_stmt *s = NULL;
    code = sq_prepare(c,
                      "SELECT count(*), coalesce(min(due_ms), 0) FROM schedules"
                      " WHERE status = 0",
                      &s, err);
    if (!code) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            out->schedules_pending = sqlite3_column_int64(s, 0);
            out->earliest_due_ms = sqlite3_column_int64(s, 1);
        } else {
            code = sq_fail(c, rc, err);
        }
    }
    sqlite3_finalize(s);
    return code;
}
