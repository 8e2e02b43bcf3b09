/* SQLite store: idempotency keys (include/roster/idem.h). A key is written by the effect it
 * was staged for, in that effect's transaction, so it lives in the effect's file: the
 * intake file for job_create, job_open and job_append (job input is there), the main file
 * for schedule_create. The two files do not commit together, so no other place would be
 * atomic with the effect. A scope always has one kind of effect, so one key is never in
 * both files; idem_get reads the intake file first, then the main one, and idem_purge
 * empties both.
 *
 * Two requests with one key: writers queue on the file's write lock (BEGIN IMMEDIATE), so
 * the second one's insert sees the first one's committed row and writes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

/* an expired row of the same key is replaced, a live one kept (0 changes) */
#define IDEM_UPSERT                                                                                \
    "INSERT INTO idem_keys (org_id, scope, idem_key, req_hash, result, created_ms, expires_ms)"    \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"                                                         \
    " ON CONFLICT (org_id, scope, idem_key) DO UPDATE SET req_hash = excluded.req_hash,"           \
    " result = excluded.result, created_ms = excluded.created_ms,"                                 \
    " expires_ms = excluded.expires_ms WHERE idem_keys.expires_ms <= excluded.created_ms"

int sq_idem_stage(struct roster_conn *pc, const struct roster_idem_rec *rec, struct roster_err *err)
{
    (void)err;
    sq_conn_of(pc)->idem = rec;
    return 0;
}

const struct roster_idem_rec *sq_idem_take(struct sq_conn *c)
{
    const struct roster_idem_rec *rec = c->idem;
    c->idem = NULL;
    return rec;
}

int sq_idem_write(sqlite3 *db, const struct roster_idem_rec *rec, struct roster_err *err)
{
    if (!rec)
        return 0;
    sqlite3_stmt *s;
    int code =
        sq_prepare_args(db, IDEM_UPSERT,
                        SQ_ARGS(SQ_TEXT(rec->org_id), SQ_TEXT(rec->scope), SQ_TEXT(rec->key),
                                SQ_TEXT(rec->req_hash), SQ_TEXT(rec->result ? rec->result : ""),
                                SQ_INT(rec->created_ms), SQ_INT(rec->expires_ms)),
                        &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        code = sq_fail_on(db, rc, err);
    else if (sqlite3_changes(db) == 0) {
        code = roster_err_set(err, ROSTER_ECONFLICT,
                              "Idempotency-Key \"%.64s\" is held by another request", rec->key);
        if (err)
            err->field = ROSTER_IDEM_FIELD;
    }
    sqlite3_finalize(s);
    return code;
}

/* The live key in the file of handle db: 0, ROSTER_ENOTFOUND or a failure. */
static int idem_get_on(sqlite3 *db, const char *org_id, const char *scope, const char *key,
                       int64_t now_ms, struct roster_idem_rec *out, struct roster_arena *a,
                       struct roster_err *err)
{
    sqlite3_stmt *s;
    int code = sq_prepare_args(
        db,
        "SELECT req_hash, result, created_ms, expires_ms FROM idem_keys"
        " WHERE org_id = ?1 AND scope = ?2 AND idem_key = ?3"
        " AND expires_ms > ?4",
        SQ_ARGS(SQ_TEXT(org_id), SQ_TEXT(scope), SQ_TEXT(key), SQ_INT(now_ms)), &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        snprintf(out->org_id, sizeof(out->org_id), "%s", org_id);
        out->scope = roster_arena_strdup(a, scope);
        out->key = roster_arena_strdup(a, key);
        out->req_hash = sq_col_str(s, 0, a);
        out->result = sq_col_str(s, 1, a);
        out->created_ms = sqlite3_column_int64(s, 2);
        out->expires_ms = sqlite3_column_int64(s, 3);
        if (!out->result)
            out->result = "";
    } else if (rc == SQLITE_DONE) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "Idempotency-Key \"%.64s\" not found", key);
    } else {
        code = sq_fail_on(db, rc, err);
    }
    sqlite3_finalize(s);
    return code;
}

int sq_idem_get(struct roster_conn *pc, const char *org_id, const char *scope, const char *key,
                int64_t now_ms, struct roster_idem_rec *out, struct roster_arena *a,
                struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int code = idem_get_on(c->idb, org_id, scope, key, now_ms, out, a, err);
    if (code == ROSTER_ENOTFOUND) {
        roster_err_clear(err);
        code = idem_get_on(c->db, org_id, scope, key, now_ms, out, a, err);
    }
    return code;
}

#define IDEM_PURGE                                                                                 \
    "DELETE FROM idem_keys WHERE (org_id, scope, idem_key) IN"                                     \
    " (SELECT org_id, scope, idem_key FROM idem_keys WHERE expires_ms <= ?1 LIMIT ?2)"

int sq_idem_purge(struct roster_conn *pc, int64_t before_ms, size_t max, size_t *n,
                  struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *n = 0;
    /* the intake file, in a write transaction of its own */
    int code = sq_exec_cached(c, SQ_IBEGIN, err);
    sqlite3_stmt *s = NULL;
    if (!code)
        code =
            sq_prepare_args(c->idb, IDEM_PURGE, SQ_ARGS(SQ_INT(before_ms), SQ_INT(max)), &s, err);
    if (!code) {
        int rc = sqlite3_step(s);
        code = rc == SQLITE_DONE ? 0 : sq_fail_on(c->idb, rc, err);
        if (!code)
            *n += (size_t)sqlite3_changes(c->idb);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (!code)
        code = sq_exec_cached(c, SQ_ICOMMIT, err);
    if (code) {
        sq_intake_rollback(c);
        return code;
    }
    if (*n >= max)
        return 0;
    /* then the main file */
    code = sq_tx_start(c, err);
    if (code)
        return code;
    code =
        sq_prepare_args(c->db, IDEM_PURGE, SQ_ARGS(SQ_INT(before_ms), SQ_INT(max - *n)), &s, err);
    if (!code) {
        int rc = sqlite3_step(s);
        code = rc == SQLITE_DONE ? 0 : sq_fail(c, rc, err);
        if (!code)
            *n += (size_t)sqlite3_changes(c->db);
    }
    sqlite3_finalize(s);
    int end = sq_tx_end(c, code == 0, code ? NULL : err);
    return code ? code : end;
}
