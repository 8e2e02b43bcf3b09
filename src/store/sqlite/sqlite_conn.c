/* SQLite store: connection and statement helpers. The per-connection cache of prepared
 * statements and their SQL, the mapping of SQLite result codes to roster codes, column and
 * parameter helpers, organisation numbers, and transactions: BEGIN IMMEDIATE, or a
 * SAVEPOINT inside the caller's transaction (c->in_txn), with the begin/commit/rollback
 * methods. Every other file of the backend builds on these; this one calls none of them.
 *
 * DESIGN: every write transaction starts with BEGIN IMMEDIATE so that two writers queue
 * instead of failing on a lock upgrade (how they queue: sqlite_open.c, sq_busy). A method
 * that runs several statements opens its own transaction, or a SAVEPOINT when the caller
 * already holds one.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define MSG_ROW "(?,?,?,?,?,?,?,?,?,?)"
#define MSG_ROWS4 MSG_ROW "," MSG_ROW "," MSG_ROW "," MSG_ROW
_Static_assert(SQ_MSG_ROWS == 16, "SQ_MSG_INSERT_MANY has 16 rows");

/* fixed SQL of the cached statements; NULL: built at run time (the users statements,
 * sqlite_user_row.c: sq_user_stmt) */
static const char *const fixed_sql[SQ_NSTMTS] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT roster_op",
    [SQ_RELEASE] = "RELEASE roster_op",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO roster_op",
    [SQ_ORG_NUM] = "SELECT num_id FROM orgs WHERE id = ?1",
    [SQ_USER_EXISTS] = "SELECT 1 FROM users WHERE org_num = ?1 AND id = ?2",
    [SQ_USER_DELETE] = "DELETE FROM users WHERE org_num = ?1 AND id = ?2",
    [SQ_KEY_FIND] = "SELECT id, org_id, name, hash, all_orgs, created_ms, revoked_ms"
                    " FROM api_keys WHERE hash = ?1 AND revoked_ms IS NULL",
    [SQ_PROGRESS_GET] = "SELECT next_chunk FROM job_progress WHERE job_id = ?1",
    [SQ_CHUNK_RESULT_INSERT] = "INSERT INTO chunk_results (job_id, chunk_no, done_ms, results_json)"
                               " VALUES (?1, ?2, ?3, ?4)",
    [SQ_PROGRESS_ADVANCE] = "INSERT INTO job_progress (job_id, done, ok, failed, next_chunk,"
                            " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                            " ON CONFLICT (job_id) DO UPDATE SET done = done + ?2,"
                            " ok = ok + ?3, failed = failed + ?4,"
                            " next_chunk = max(next_chunk, ?5), updated_ms = ?6",
    [SQ_IBEGIN] = "BEGIN IMMEDIATE",
    [SQ_ICOMMIT] = "COMMIT",
    [SQ_IROLLBACK] = "ROLLBACK",
    [SQ_JOB_INSERT] = "INSERT INTO job_inputs (id, org_id, kind, total, nchunks, params_json,"
                      " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQ_JOB_DEF] = "SELECT org_id, kind, params_json, nchunks FROM job_inputs WHERE id = ?1",
    [SQ_CHUNK_INPUT_INSERT] = "INSERT INTO chunk_inputs (job_id, chunk_no, first_idx, count,"
                              " items_json) VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQ_CHUNK_INPUT_GET] = "SELECT first_idx, count, items_json FROM chunk_inputs"
                           " WHERE job_id = ?1 AND chunk_no = ?2",
    [SQ_SCHED_INSERT] = "INSERT INTO schedules (id, org_num, user_id, state, due_ms,"
                        " send_activation_email, email_override, status, created_ms, outcome)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, '')",
    [SQ_SCHED_GET] = "SELECT " SQ_SCHED_COLS " FROM schedules WHERE org_num = ?1 AND id = ?2",
    [SQ_SCHED_CANCEL] = "UPDATE schedules SET status = 3, done_ms = ?3, lease_token = NULL,"
                        " lease_until_ms = NULL WHERE org_num = ?1 AND id = ?2 AND status = 0",
    /* the first entries of (user, state) in schedules_org_user are the answer; without
     * INDEXED BY, SQLite would rather walk schedules_org_due in ORDER BY order */
    [SQ_SCHED_NEXT] = "SELECT " SQ_SCHED_COLS " FROM schedules INDEXED BY schedules_org_user"
                      " WHERE org_num = ?1"
                      " AND user_id = ?2 AND state = ?3 AND status = 0"
                      " ORDER BY due_ms, id LIMIT 1",
    /* the claim, read-only first: idle schedulers poll without the write lock */
    [SQ_SCHED_PEEK] = "SELECT 1 FROM schedules WHERE status = 0 AND due_ms <= ?1"
                      " AND (lease_until_ms IS NULL OR lease_until_ms < ?1) LIMIT 1",
    /* walks schedules_due from the earliest; CROSS JOIN keeps schedules the outer loop */
    [SQ_SCHED_PICK] = "SELECT s.num_id, o.id, " SQ_SCHED_COLS_S
                      " FROM schedules AS s CROSS JOIN orgs AS o ON o.num_id = s.org_num"
                      " WHERE s.status = 0 AND s.due_ms <= ?1"
                      " AND (s.lease_until_ms IS NULL OR s.lease_until_ms < ?1)"
                      " ORDER BY s.due_ms, s.id LIMIT ?2",
    [SQ_SCHED_LEASE] = "UPDATE schedules SET lease_token = ?2, lease_until_ms = ?3"
                       " WHERE num_id = ?1",
    [SQ_SCHED_FINISH] = "UPDATE schedules SET status = ?4, outcome = ?5, done_ms = ?6,"
                        " message_id = ?7, lease_token = NULL, lease_until_ms = NULL"
                        " WHERE org_num = ?1 AND id = ?2 AND lease_token = ?3 AND status = 0",
    [SQ_SCHED_NEXT_DUE] = "SELECT due_ms FROM schedules WHERE status = 0"
                          " ORDER BY due_ms LIMIT 1",
    [SQ_MSG_INSERT] = "INSERT INTO messages (id, org_num, kind, source_id, user_id, recipient,"
                      " content_json, status, created_ms, channel)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_MSG_GET] = "SELECT " SQ_MSG_COLS " FROM messages WHERE org_num = ?1 AND id = ?2",
    [SQ_BEGIN_READ] = "BEGIN",
    [SQ_DATA_VERSION] = "PRAGMA data_version",
    [SQ_ORG_GET] = "SELECT " SQ_ORG_COLS " FROM orgs WHERE id = ?1",
    /* message jobs (sqlite_msgjobs.c) */
    [SQ_USER_RESOLVE_ID] = "SELECT id, username, email, first_name, last_name, phones"
                           " FROM users WHERE org_num = ?1 AND id = ?2",
    /* lower(): the expression of users_org_username, which serves it */
    [SQ_USER_RESOLVE_NAME] = "SELECT id, username, email, first_name, last_name, phones"
                             " FROM users WHERE org_num = ?1 AND lower(username) = lower(?2)",
    /* a message job's chunks done after its next one (sqlite_jobs.c, claim_later_chunk) */
    [SQ_RESULTS_AFTER] = "SELECT chunk_no FROM chunk_results WHERE job_id = ?1 AND chunk_no > ?2"
                         " ORDER BY chunk_no",
    /* the lowest chunk from ?2 on without a result: ?2 itself or one after a done chunk */
    [SQ_LOWEST_TODO] = "SELECT min(n) FROM (SELECT ?2 AS n UNION ALL SELECT chunk_no + 1"
                       " FROM chunk_results WHERE job_id = ?1 AND chunk_no >= ?2) AS c"
                       " WHERE NOT EXISTS (SELECT 1 FROM chunk_results AS r"
                       " WHERE r.job_id = ?1 AND r.chunk_no = c.n)",
    /* as SQ_PROGRESS_ADVANCE, for chunks done in any order: next_chunk as computed */
    [SQ_PROGRESS_ADVANCE_ANY] = "INSERT INTO job_progress (job_id, done, ok, failed, next_chunk,"
                                " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                                " ON CONFLICT (job_id) DO UPDATE SET done = done + ?2,"
                                " ok = ok + ?3, failed = failed + ?4, next_chunk = ?5,"
                                " updated_ms = ?6",
    /* SQ_MSG_ROWS outbox rows in one statement (sqlite_msgjobs.c) */
    [SQ_MSG_INSERT_MANY] = "INSERT INTO messages (id, org_num, kind, source_id, user_id, recipient,"
                           " content_json, status, created_ms, channel) VALUES " MSG_ROWS4
                           "," MSG_ROWS4 "," MSG_ROWS4 "," MSG_ROWS4,
    [SQ_SA_KEY_FIND] = "SELECT " SQ_SA_COLS " FROM service_keys WHERE id = ?1"
                       " AND revoked_ms IS NULL",
    [SQ_GROUP_GET] = "SELECT " SQ_GROUP_COLS " FROM groups AS g"
                     " WHERE g.org_num = ?1 AND g.num_id = ?2 AND g.kind = ?3",
    /* user lists (sqlite_lists.c) */
    [SQ_LIST_VERSION] = "SELECT v FROM list_versions WHERE org_num = ?1",
    [SQ_LIST_BUMP] = "INSERT INTO list_versions (org_num, v) VALUES (?1, 1)"
                     " ON CONFLICT (org_num) DO UPDATE SET v = v + 1 RETURNING v",
    [SQ_LIST_RECORD] =
        "INSERT INTO list_changes (org_num, v, kind, payload) VALUES (?1, ?2, ?3, ?4)",
    [SQ_LIST_PRUNE] = "DELETE FROM list_changes WHERE org_num = ?1 AND v <= ?2",
    [SQ_LIST_CHANGES] = "SELECT v, kind, payload FROM list_changes"
                        " WHERE org_num = ?1 AND v > ?2 AND v <= ?3 ORDER BY v",
    [SQ_USER_GROUPS] = "SELECT group_num FROM group_members WHERE user_num = ?1 ORDER BY group_num",
    /* the columns in sg_sparse() order (roster_ufields order) */
    [SQ_SPARSE_UPSERT] =
        "INSERT INTO user_sparse (num_id, org_num, id, middle_name, display_name, department, "
        "cost_center, company, job_title, location, manager, country_code, alternate_email, "
        "description, employee_type, external_id, user_type, preferred_language, locale, "
        "timezone) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, ?17, ?18, ?19, ?20)"
        " ON CONFLICT (num_id) DO UPDATE SET middle_name = excluded.middle_name, display_name = "
        "excluded.display_name, department = excluded.department, cost_center = "
        "excluded.cost_center, company = excluded.company, job_title = excluded.job_title, "
        "location = excluded.location, manager = excluded.manager, country_code = "
        "excluded.country_code, alternate_email = excluded.alternate_email, description = "
        "excluded.description, employee_type = excluded.employee_type, external_id = "
        "excluded.external_id, user_type = excluded.user_type, preferred_language = "
        "excluded.preferred_language, locale = excluded.locale, timezone = excluded.timezone",
    [SQ_SPARSE_DELETE] = "DELETE FROM user_sparse WHERE num_id = ?1",
    /* the head of messages_due: the rows to claim (the lease moves them to its end) */
    [SQ_MSG_CLAIM] = "UPDATE messages SET due_ms = ?2, lease_token = ?3"
                     " WHERE rowid IN (SELECT rowid FROM messages INDEXED BY messages_due"
                     " WHERE channel = ?5 AND status = 'ENQUEUED' AND due_ms <= ?1"
                     " ORDER BY due_ms LIMIT ?4)"
                     " RETURNING " SQ_MSG_COLS ","
                     " (SELECT o.id FROM orgs AS o WHERE o.num_id = org_num)",
    [SQ_WEBHOOK_LIST] = "SELECT id, url, secret, events, created_ms, disabled_ms,"
                        " disabled_reason FROM webhooks WHERE org_num = ?1 ORDER BY num_id",
    [SQ_MSG_RECORD] = "UPDATE messages SET status = ?3, sent_ms = ?4, reason = ?5,"
                      " attempts = attempts + ?6, due_ms = ?7, lease_token = 0"
                      " WHERE id = ?1 AND lease_token = ?2 AND status = 'ENQUEUED'",
    /* roster outbox (sqlite_delivery.c): ?2 the id to start below, ?3 how many */
    [SQ_MSG_LIST] = "SELECT " SQ_MSG_COLS " FROM messages INDEXED BY messages_org_id"
                    " WHERE org_num = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    [SQ_MSG_LIST_STATUS] = "SELECT " SQ_MSG_COLS " FROM messages INDEXED BY messages_org_id"
                           " WHERE org_num = ?1 AND id < ?2 AND status = ?4"
                           " ORDER BY id DESC LIMIT ?3",
    [SQ_MSG_LIST_UNDELIVERABLE] =
        "SELECT " SQ_MSG_COLS " FROM messages INDEXED BY messages_undeliverable"
        " WHERE org_num = ?1 AND id < ?2 AND status = 'UNDELIVERABLE'"
        " ORDER BY id DESC LIMIT ?3",
    [SQ_MSG_RETRY] = "UPDATE messages SET status = 'ENQUEUED', due_ms = ?3"
                     " WHERE org_num = ?1 AND id = ?2 AND (status = 'UNDELIVERABLE'"
                     " OR (status = 'ENQUEUED' AND lease_token = 0))",
};

/* the statements prepared on the intake handle */
static bool on_intake(int id)
{
    return id >= SQ_IBEGIN && id <= SQ_CHUNK_INPUT_GET;
}

int sq_fail(struct sq_conn *c, int rc, struct roster_err *err)
{
    return sq_fail_on(c ? c->db : NULL, rc, err);
}

int sq_fail_on(sqlite3 *db, int rc, struct roster_err *err)
{
    int code;
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        code = roster_err_set(err, ROSTER_EBUSY, "store is busy, try again");
    else if (primary == SQLITE_FULL) /* over when space returns: 503, like busy */
        code = roster_err_set(err, ROSTER_EBUSY, "store is out of disk space, try again later");
    else if (primary == SQLITE_IOERR)
        code = roster_err_set(err, ROSTER_EIO, "store I/O error");
    else
        code = roster_err_set(err, ROSTER_EIO, "store error");
    roster_err_detail(err, "sqlite: %s (%d)", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
    return code;
}

static int prepare_on(sqlite3 *db, const char *sql, sqlite3_stmt **out, struct roster_err *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return sq_fail_on(db, rc, err);
    }
    return 0;
}

int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct roster_err *err)
{
    return prepare_on(c->db, sql, out, err);
}

int sq_iprepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct roster_err *err)
{
    return prepare_on(c->idb, sql, out, err);
}

sqlite3_stmt *sq_stmt(struct sq_conn *c, int id, struct roster_err *err)
{
    return sq_stmt_built(c, id, NULL, err);
}

sqlite3_stmt *sq_stmt_built(struct sq_conn *c, int id, void (*build)(int id, struct roster_buf *b),
                            struct roster_err *err)
{
    if (c->stmts[id])
        return c->stmts[id];
    struct roster_buf b;
    roster_buf_init(&b);
    if (fixed_sql[id])
        roster_buf_addstr(&b, fixed_sql[id]);
    else if (build)
        build(id, &b);
    sqlite3 *db = on_intake(id) ? c->idb : c->db;
    int rc = sqlite3_prepare_v3(db, b.data, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
    roster_buf_release(&b);
    if (rc != SQLITE_OK) {
        c->stmts[id] = NULL;
        sq_fail_on(db, rc, err);
        return NULL;
    }
    return c->stmts[id];
}

int sq_exec_cached(struct sq_conn *c, int id, struct roster_err *err)
{
    return sq_exec_args(c, id, NULL, 0, err);
}

int sq_exec_args(struct sq_conn *c, int id, const struct sq_arg *args, size_t n,
                 struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, id, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_args(s, args, n);
    int rc = sqlite3_step(s);
    int code = rc == SQLITE_DONE ? 0 : sq_fail_on(sqlite3_db_handle(s), rc, err);
    sqlite3_reset(s);
    return code;
}

int sq_bind_str(sqlite3_stmt *st, int idx, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

void sq_bind_args(sqlite3_stmt *s, const struct sq_arg *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (args[i].is_text)
            sq_bind_str(s, (int)i + 1, args[i].text);
        else
            sqlite3_bind_int64(s, (int)i + 1, args[i].num);
    }
}

int sq_prepare_args(sqlite3 *db, const char *sql, const struct sq_arg *args, size_t n,
                    sqlite3_stmt **out, struct roster_err *err)
{
    int code = prepare_on(db, sql, out, err);
    if (!code)
        sq_bind_args(*out, args, n);
    return code;
}

int sq_write(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
             sq_fail_map *fail, const void *ctx, struct roster_err *err)
{
    sqlite3_stmt *s;
    int code = sq_prepare_args(c->db, sql, args, n, &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        code = fail ? fail(c, rc, ctx, err) : sq_fail(c, rc, err);
    sqlite3_finalize(s);
    return code;
}

int sq_insert_fail(struct sq_conn *c, int rc, const void *item, struct roster_err *err)
{
    const struct sq_item *it = item;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", it->what, it->id);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              it->org_id ? it->org_id : "");
    return sq_fail(c, rc, err);
}

int sq_conflict_on(struct sq_conn *c, const char *field, struct roster_err *err)
{
    if (err)
        err->field = field;
    return roster_err_detail(err, "sqlite: %s", sqlite3_errmsg(c->db));
}

int sq_not_found(struct roster_err *err, const char *what, const char *name)
{
    return roster_err_set(err, ROSTER_ENOTFOUND, "%s \"%s\" not found", what, name ? name : "");
}

const char *sq_col_str(sqlite3_stmt *s, int col, struct roster_arena *a)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    if (!t)
        return NULL;
    return roster_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(s, col));
}

void sq_col_id(sqlite3_stmt *s, int col, char out[ROSTER_ID_LEN + 1])
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, ROSTER_ID_LEN + 1, "%s", t ? (const char *)t : "");
}

void sq_col_strs(sqlite3_stmt *s, int col, const char **const *dst, size_t n,
                 struct roster_arena *a)
{
    for (size_t i = 0; i < n; i++)
        *dst[i] = sq_col_str(s, col + (int)i, a);
}

/* --- rows --- */

int sq_row(struct sq_conn *c, sqlite3_stmt *s, sq_reader *read, const void *ctx, void *row,
           struct roster_arena *a, struct roster_err *err)
{
    int rc = sqlite3_step(s);
    int code = 0;
    if (rc == SQLITE_ROW)
        read(s, row, ctx, a);
    else if (rc == SQLITE_DONE)
        code = ROSTER_ENOTFOUND;
    else
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    return code;
}

int sq_row_args(struct sq_conn *c, int id, const struct sq_arg *args, size_t n, sq_reader *read,
                const void *ctx, void *row, struct roster_arena *a, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, id, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_args(s, args, n);
    return sq_row(c, s, read, ctx, row, a, err);
}

void sq_read_int(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    (void)ctx;
    (void)a;
    *(int64_t *)row = sqlite3_column_int64(s, 0);
}

int sq_int_row(struct sq_conn *c, int id, const struct sq_arg *args, size_t n, int64_t *out,
               struct roster_err *err)
{
    return sq_row_args(c, id, args, n, sq_read_int, NULL, out, NULL, err);
}

int sq_exists(struct sq_conn *c, int id, const struct sq_arg *args, size_t n,
              struct roster_err *err)
{
    int64_t first;
    int code = sq_int_row(c, id, args, n, &first, err);
    return code == 0 ? 1 : code == ROSTER_ENOTFOUND ? 0 : -code;
}

int sq_step_changed(struct sq_conn *c, sqlite3_stmt *s, struct roster_err *err)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    return sqlite3_changes(c->db) == 0 ? ROSTER_ENOTFOUND : 0;
}

int sq_update(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
              const char *what, const char *name, struct roster_err *err)
{
    int code = sq_write(c, sql, args, n, NULL, NULL, err);
    if (!code && sqlite3_changes(c->db) == 0)
        code = sq_not_found(err, what, name);
    return code;
}

int sq_rows(struct sq_conn *c, sqlite3_stmt *s, size_t size, sq_reader *read, const void *ctx,
            struct roster_arena *a, void **out, size_t *n, struct roster_err *err)
{
    size_t cap = 16, len = 0;
    char *v = roster_arena_alloc(a, cap * size);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = roster_arena_grow(a, v, len, &cap, size);
        read(s, v + len++ * size, ctx, a);
    }
    if (rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    *out = v;
    *n = len;
    return 0;
}

int sq_select_one(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
                  sq_reader *read, const void *ctx, void *row, struct roster_arena *a,
                  struct roster_err *err)
{
    sqlite3_stmt *s;
    int code = sq_prepare_args(c->db, sql, args, n, &s, err);
    if (!code)
        code = sq_row(c, s, read, ctx, row, a, err);
    sqlite3_finalize(s);
    return code;
}

int sq_select_rows(struct sq_conn *c, const char *sql, size_t size, sq_reader *read,
                   struct roster_arena *a, void **out, size_t *n, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, sql, &s, err);
    if (!code)
        code = sq_rows(c, s, size, read, NULL, a, out, n, err);
    sqlite3_finalize(s);
    return code;
}

/* --- organisation numbers --- */

void sq_org_cache_clear(struct sq_conn *c)
{
    memset(c->orgs, 0, sizeof(c->orgs));
    c->org_next = 0;
}

int sq_org_num(struct sq_conn *c, const char *org_id, int64_t *num, struct roster_err *err)
{
    if (!org_id || strlen(org_id) != ROSTER_ID_LEN)
        return ROSTER_ENOTFOUND;
    for (int i = 0; i < SQ_ORG_CACHE; i++) {
        if (c->orgs[i].num && memcmp(c->orgs[i].id, org_id, ROSTER_ID_LEN) == 0) {
            *num = c->orgs[i].num;
            return 0;
        }
    }
    sqlite3_stmt *s = sq_stmt(c, SQ_ORG_NUM, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_text(s, 1, org_id, ROSTER_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int code = 0;
    if (rc == SQLITE_ROW) {
        *num = sqlite3_column_int64(s, 0);
        struct sq_org_slot *slot = &c->orgs[c->org_next++ % SQ_ORG_CACHE];
        memcpy(slot->id, org_id, ROSTER_ID_LEN + 1);
        slot->num = *num;
    } else if (rc == SQLITE_DONE) {
        code = ROSTER_ENOTFOUND;
    } else {
        code = sq_fail(c, rc, err);
    }
    sqlite3_reset(s);
    return code;
}

int sq_org_num_for(struct sq_conn *c, const char *org_id, int64_t *num, const char *what,
                   const char *name, struct roster_err *err)
{
    int code = sq_org_num(c, org_id, num, err);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, what, name) : code;
}

int sq_org_bind(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
                const char *name, struct roster_err *err)
{
    if (!s)
        return err ? err->code : ROSTER_EIO;
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, what, name, err);
    if (code)
        return code;
    sqlite3_bind_int64(s, 1, org_num);
    sq_bind_str(s, 2, name);
    return 0;
}

int sq_org_row(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
               const char *name, sq_reader *read, void *row, struct roster_arena *a,
               struct roster_err *err)
{
    int code = sq_org_bind(c, s, org_id, what, name, err);
    if (!code)
        code = sq_row(c, s, read, org_id, row, a, err);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, what, name) : code;
}

int sq_org_exec(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
                const char *name, struct roster_err *err)
{
    int code = sq_org_bind(c, s, org_id, what, name, err);
    if (code)
        return code;
    code = sq_step_changed(c, s, err);
    sqlite3_reset(s);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, what, name) : code;
}

/* --- transactions --- */

void sq_list_txn_end(struct sq_conn *c)
{
    c->lc_org = 0;
    c->lc_count = 0;
    c->lc_reset = false;
}

static bool caller_txn(struct sq_conn *c)
{
    /* SQLite rolls a transaction back by itself after some errors (SQLITE_FULL, IOERR...);
     * then there is nothing left to nest a savepoint in */
    return c->in_txn && !sqlite3_get_autocommit(c->db);
}

int sq_tx_start(struct sq_conn *c, struct roster_err *err)
{
    if (c->rs_active)
        return roster_err_set(err, ROSTER_EINVAL, "no writes inside a read span");
    return sq_exec_cached(c, caller_txn(c) ? SQ_SAVEPOINT : SQ_BEGIN, err);
}

int sq_tx_stmt(struct sq_conn *c, int id, sqlite3_stmt **s, struct roster_err *err)
{
    *s = NULL;
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    *s = sq_stmt(c, id, err);
    if (*s)
        return 0;
    code = err ? err->code : ROSTER_EIO;
    sq_tx_end(c, false, NULL);
    return code;
}

int sq_tx_start_or_join(struct sq_conn *c, bool *own, struct roster_err *err)
{
    if (c->rs_active)
        return roster_err_set(err, ROSTER_EINVAL, "no writes inside a read span");
    /* joins any open transaction: the caller's, or one a store method opened around this */
    *own = !caller_txn(c) && sqlite3_get_autocommit(c->db);
    return *own ? sq_exec_cached(c, SQ_BEGIN, err) : 0;
}

int sq_tx_end_joined(struct sq_conn *c, bool own, int code, struct roster_err *err)
{
    if (!own)
        return code;
    int end = sq_tx_end(c, code == 0, code ? NULL : err);
    return code ? code : end;
}

/* Ends the whole transaction with ROLLBACK (if SQLite has not already rolled it back). */
static void rollback_all(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sq_exec_cached(c, SQ_ROLLBACK, NULL);
    sq_org_cache_clear(c);
}

int sq_tx_end(struct sq_conn *c, bool ok, struct roster_err *err)
{
    if (caller_txn(c)) {
        if (!ok)
            sq_list_txn_end(c); /* what it recorded is gone: record again from here */
        if (!ok && sq_exec_cached(c, SQ_ROLLBACK_TO, NULL) != 0)
            return ROSTER_EIO;
        return sq_exec_cached(c, SQ_RELEASE, ok ? err : NULL);
    }
    if (sqlite3_get_autocommit(c->db)) {
        /* SQLite rolled our transaction back after an error */
        sq_org_cache_clear(c);
        return ok ? roster_err_set(err, ROSTER_EIO, "store error") : 0;
    }
    if (!ok) {
        rollback_all(c);
        return 0;
    }
    int code = sq_exec_cached(c, SQ_COMMIT, err);
    if (code)
        rollback_all(c);
    return code;
}

int sq_begin(struct roster_conn *pc, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (caller_txn(c) || c->rs_active)
        return roster_err_set(err, ROSTER_EINVAL, "a transaction is already open");
    int code = sq_exec_cached(c, SQ_BEGIN, err);
    c->in_txn = code == 0;
    return code;
}

int sq_commit(struct roster_conn *pc, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "no transaction is open");
    c->in_txn = false;
    if (sqlite3_get_autocommit(c->db)) {
        sq_org_cache_clear(c);
        roster_err_set(err, ROSTER_EIO, "transaction was rolled back after an error");
        return roster_err_detail(err, "sqlite: %s", sqlite3_errmsg(c->db));
    }
    int code = sq_exec_cached(c, SQ_COMMIT, err);
    if (code)
        rollback_all(c);
    return code;
}

void sq_rollback(struct roster_conn *pc)
{
    struct sq_conn *c = sq_conn_of(pc);
    c->in_txn = false;
    rollback_all(c);
}
