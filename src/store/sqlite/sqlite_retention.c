/* SQLite store: purging the input of finished bulk jobs (job_input_purge).
 *
 * The input lives in the intake file, a job's progress in the main file, on two handles
 * (sq_conn.db, sq_conn.idb) that cannot join. Purged jobs are listed in the intake file
 * (job_purged), so that a pass reads the definitions of the jobs not purged yet (small rows,
 * in seq order, a page at a time), asks the main file whether each is finished and old
 * enough, and empties the chunks of those in one intake transaction per job, with
 * secure_delete on so that freed and rewritten pages are zeroed in the file. */
#include "store/sqlite/sqlite_int.h"

#define PURGE_PAGE 256

struct purge_candidate {
    char id[ROSTER_ID_LEN + 1];
    int64_t seq, total;
};

/* done and updated_ms of a job_progress row */
static void read_progress(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    (void)ctx;
    (void)a;
    int64_t *v = row;
    v[0] = sqlite3_column_int64(s, 0);
    v[1] = sqlite3_column_int64(s, 1);
}

/* Whether job_id's every item was applied before before_ms (main file). */
static int finished_before(struct sq_conn *c, const struct purge_candidate *p, int64_t before_ms,
                           bool *yes, struct roster_err *err)
{
    int64_t v[2];
    *yes = false;
    int code = sq_select_one(c, "SELECT done, updated_ms FROM job_progress WHERE job_id = ?1",
                             SQ_ARGS(SQ_TEXT(p->id)), read_progress, NULL, v, NULL, err);
    if (code == ROSTER_ENOTFOUND)
        return 0;
    if (!code)
        *yes = v[0] >= p->total && v[1] < before_ms;
    return code;
}

/* Empties job_id's chunks and lists it purged, in one intake transaction; *n += chunks. */
static int purge_job(struct sq_conn *c, const char *job_id, size_t *n, struct roster_err *err)
{
    static const char *const sql[] = {
        "UPDATE chunk_inputs SET items_json = '[]' WHERE job_id = ?1",
        "INSERT OR IGNORE INTO job_purged (job_id) VALUES (?1)",
    };
    int code = sq_exec_cached(c, SQ_IBEGIN, err);
    for (size_t i = 0; !code && i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *s = NULL;
        code = sq_prepare_args(c->idb, sql[i], SQ_ARGS(SQ_TEXT(job_id)), &s, err);
        if (code)
            break;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            code = sq_fail_on(c->idb, rc, err);
        else if (i == 0)
            *n += (size_t)sqlite3_changes(c->idb);
        sqlite3_finalize(s);
    }
    if (!code)
        code = sq_exec_cached(c, SQ_ICOMMIT, err);
    if (code)
        sq_intake_rollback(c);
    return code;
}

/* The next page of jobs of kind not purged yet, after seq after_seq, into v[0..*nv). */
static int candidates(struct sq_conn *c, int kind, int64_t after_seq,
                      struct purge_candidate v[PURGE_PAGE], size_t *nv, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    *nv = 0;
    int code =
        sq_prepare_args(c->idb,
                        "SELECT id, seq, total FROM job_inputs AS j WHERE kind = ?1 AND seq > ?2"
                        " AND NOT EXISTS (SELECT 1 FROM job_purged AS p WHERE p.job_id = j.id)"
                        " ORDER BY seq LIMIT ?3",
                        SQ_ARGS(SQ_INT(kind), SQ_INT(after_seq), SQ_INT(PURGE_PAGE)), &s, err);
    if (code)
        return code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *nv < PURGE_PAGE) {
        sq_col_id(s, 0, v[*nv].id);
        v[*nv].seq = sqlite3_column_int64(s, 1);
        v[*nv].total = sqlite3_column_int64(s, 2);
        (*nv)++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = sq_fail_on(c->idb, rc, err);
    sqlite3_finalize(s);
    return code;
}

int sq_job_input_purge(struct roster_conn *pc, int kind, int64_t before_ms, size_t max, size_t *n,
                       struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *n = 0;
    if (sqlite3_exec(c->idb, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail_on(c->idb, sqlite3_errcode(c->idb), err);
    struct purge_candidate v[PURGE_PAGE];
    size_t nv = PURGE_PAGE;
    int64_t after_seq = -1;
    int code = 0;
    while (!code && *n < max && nv == PURGE_PAGE) {
        code = candidates(c, kind, after_seq, v, &nv, err);
        for (size_t i = 0; !code && i < nv && *n < max; i++) {
            bool old = false;
            after_seq = v[i].seq;
            code = finished_before(c, &v[i], before_ms, &old, err);
            if (!code && old)
                code = purge_job(c, v[i].id, n, err);
        }
    }
    return code;
}
