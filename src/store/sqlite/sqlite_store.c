/* The SQLite store backend: opening the file (WAL, synchronous=FULL, foreign keys),
 * applying the embedded schema migrations once, per-thread connections with their cache of
 * prepared statements, transactions, error mapping, and the method table.
 *
 * DESIGN: one struct sq_store per file, shared by all threads (its paths, and the state
 * under its locks: see struct sq_store); one struct sq_conn (its own sqlite3 handles,
 * opened without SQLite's mutexes) per thread. Every write transaction starts with BEGIN
 * IMMEDIATE so that two writers queue instead of failing on a lock upgrade. They queue on a
 * condition variable of the store that every commit signals (SQLite's own busy handler
 * sleeps up to 100 ms between tries, which cost more than the writes themselves); the same
 * commit hook asks the checkpoint thread for WAL checkpoints. A method that runs several
 * statements opens its own transaction, or a SAVEPOINT when the caller already holds one
 * (c->in_txn).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "roster/store.h"
#include "roster/util.h"
#include "roster/wake.h"
#include "store/sqlite/sqlite_int.h"

#define SQ_BUSY_TIMEOUT_MS 10000
#define SQ_CHECKPOINT_PAGES 10000

#define MSG_ROW "(?,?,?,?,?,?,?,?,?)"
#define MSG_ROWS4 MSG_ROW "," MSG_ROW "," MSG_ROW "," MSG_ROW
_Static_assert(SQ_MSG_ROWS == 16, "SQ_MSG_INSERT_MANY has 16 rows");

/* fixed SQL of the cached statements; NULL: built by sq_users_sql() */
static const char *const fixed_sql[SQ_NSTMTS] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT roster_op",
    [SQ_RELEASE] = "RELEASE roster_op",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO roster_op",
    [SQ_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [SQ_SYNC_FULL] = "PRAGMA synchronous = FULL",
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
                      " content_json, status, created_ms)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQ_MSG_GET] = "SELECT id, kind, source_id, user_id, recipient, content_json, status,"
                   " created_ms FROM messages WHERE org_num = ?1 AND id = ?2",
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
                           " content_json, status, created_ms) VALUES " MSG_ROWS4 "," MSG_ROWS4
                           "," MSG_ROWS4 "," MSG_ROWS4,
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
        "description, employee_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15)"
        " ON CONFLICT (num_id) DO UPDATE SET middle_name = excluded.middle_name, display_name = "
        "excluded.display_name, department = excluded.department, cost_center = "
        "excluded.cost_center, company = excluded.company, job_title = excluded.job_title, "
        "location = excluded.location, manager = excluded.manager, country_code = "
        "excluded.country_code, alternate_email = excluded.alternate_email, description = "
        "excluded.description, employee_type = excluded.employee_type",
    [SQ_SPARSE_DELETE] = "DELETE FROM user_sparse WHERE num_id = ?1",
};

/* the statements prepared on the intake handle */
static bool on_intake(int id)
{
    return id >= SQ_IBEGIN && id <= SQ_CHUNK_INPUT_GET;
}

/* The intake file's schema, applied (idempotently) at every open. A later change bumps
 * user_version and adds its statements here, guarded by the version read first. */
static const char intake_schema[] =
    "PRAGMA intake.journal_mode = WAL;"
    " CREATE TABLE IF NOT EXISTS intake.job_inputs ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " org_id TEXT NOT NULL," /* orgs.id of the main file */
    " kind INTEGER NOT NULL,"
    " total INTEGER NOT NULL,"
    " nchunks INTEGER NOT NULL,"
    " params_json TEXT,"
    " created_ms INTEGER NOT NULL);"
    /* items_json last: reading a chunk's place does not read its items */
    " CREATE TABLE IF NOT EXISTS intake.chunk_inputs ("
    " job_id TEXT NOT NULL,"
    " chunk_no INTEGER NOT NULL,"
    " first_idx INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " items_json TEXT NOT NULL,"
    " PRIMARY KEY (job_id, chunk_no));"
    " CREATE INDEX IF NOT EXISTS intake.chunk_inputs_idx ON chunk_inputs (job_id, first_idx);"
    /* message jobs still taking items (include/roster/job.h, ROSTER_JOB_CREATED): never
     * claimed; job_start deletes the row. In this file, so that an append and the start
     * of one job are serialised by its write lock. */
    " CREATE TABLE IF NOT EXISTS intake.job_holds (job_id TEXT PRIMARY KEY) WITHOUT ROWID;"
    " PRAGMA intake.user_version = 2;";

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
    if (c->stmts[id])
        return c->stmts[id];
    struct roster_buf b;
    roster_buf_init(&b);
    if (fixed_sql[id])
        roster_buf_addstr(&b, fixed_sql[id]);
    else
        sq_users_sql(id, &b);
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
    sqlite3_stmt *s = sq_stmt(c, id, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
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

/* --- transactions --- */

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

int sq_tx_start_or_join(struct sq_conn *c, bool *own, struct roster_err *err)
{
    if (c->rs_active)
        return roster_err_set(err, ROSTER_EINVAL, "no writes inside a read span");
    /* joins any open transaction: the caller's, or one a store method opened around this */
    *own = !caller_txn(c) && sqlite3_get_autocommit(c->db);
    return *own ? sq_exec_cached(c, SQ_BEGIN, err) : 0;
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

/* --- opening --- */

/* Creates every missing directory above the file path (mkdir -p of its dirname). */
static int make_parent_dirs(const char *path, struct roster_err *err)
{
    char *dir = strdup(path);
    int code = 0;
    if (!dir)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        goto done;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            code = roster_err_set(err, ROSTER_EIO, "cannot create directory \"%s\"", dir);
            roster_err_detail(err, "mkdir: %s", strerror(errno));
            goto done;
        }
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        code = roster_err_set(err, ROSTER_EIO, "cannot create directory \"%s\"", dir);
        roster_err_detail(err, "mkdir: %s", strerror(errno));
    }
done:
    free(dir);
    return code;
}

/* Waits for another connection of this process to commit (or 2 ms, for writers in other
 * processes), then asks SQLite to try again; gives up after SQ_BUSY_TIMEOUT_MS. */
static int sq_busy(void *arg, int count)
{
    struct sq_conn *c = arg;
    struct sq_store *st = c->store;
    int64_t now = roster_monotonic_ms();
    if (count == 0)
        c->busy_since_ms = now;
    if (now - c->busy_since_ms > SQ_BUSY_TIMEOUT_MS)
        return 0;
    struct timespec ts;
    roster_deadline_after(&ts, 2);
    pthread_mutex_lock(&st->mu);
    uint64_t seen = st->commits;
    while (st->commits == seen)
        if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&st->mu);
    return 1;
}

/* Runs after every commit, with the write lock already released: wakes the waiting writers,
 * and asks the checkpoint thread for a checkpoint once the WAL holds SQ_CHECKPOINT_PAGES
 * pages. */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct sq_hook *h = arg;
    struct sq_store *st = h->st;
    /* a commit to the main file (users, orgs): list cache entries built before it are void
     * from now on (the intake file holds only job input) */
    if (h == &st->hooks[0])
        sq_list_gen_bump(st);
    pthread_mutex_lock(&st->mu);
    st->commits++;
    pthread_cond_broadcast(&st->cv);
    if (pages >= SQ_CHECKPOINT_PAGES && !(st->ckpt_want & h->file)) {
        st->ckpt_want |= h->file;
        pthread_cond_signal(&st->ckpt_cv);
    }
    pthread_mutex_unlock(&st->mu);
    return SQLITE_OK;
}

static int open_db(struct sq_conn *c, sqlite3 **dbp, const char *path, int flags,
                   struct sq_store *st, struct roster_err *err);

/* The checkpoint thread: a PASSIVE checkpoint of each file whose bit is set, on handles of
 * its own (opened on first use). A checkpoint copies WAL pages into the file while readers
 * and the writer go on; it never waits for them. */
static void *checkpointer_main(void *arg)
{
    struct sq_store *st = arg;
    sqlite3 *dbs[2] = {NULL, NULL};
    const char *paths[2] = {st->path, st->intake_path};
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->ckpt_stop && !st->ckpt_want)
            pthread_cond_wait(&st->ckpt_cv, &st->mu);
        if (st->ckpt_stop)
            break;
        unsigned want = st->ckpt_want;
        st->ckpt_want = 0;
        pthread_mutex_unlock(&st->mu);
        for (int i = 0; i < 2; i++) {
            if (!(want & (1u << i)))
                continue;
            struct sq_conn ck = {0};
            if (!dbs[i] && open_db(&ck, &dbs[i], paths[i], SQLITE_OPEN_READWRITE, NULL, NULL) != 0)
                continue;
            sqlite3_wal_checkpoint_v2(dbs[i], "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        }
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    sqlite3_close(dbs[0]);
    sqlite3_close(dbs[1]);
    return NULL;
}

/* Opens a handle on path with the pragmas every roster connection runs with. st is NULL
 * for the bootstrap handle (SQLite's own busy handler and checkpoints then). */
static int open_db(struct sq_conn *c, sqlite3 **dbp, const char *path, int flags,
                   struct sq_store *st, struct roster_err *err)
{
    char *errmsg = NULL;
    int rc = sqlite3_open_v2(path, dbp, flags | SQLITE_OPEN_NOMUTEX, NULL);
    sqlite3 *db = *dbp;
    if (rc != SQLITE_OK) {
        roster_err_set(err, ROSTER_EIO, "cannot open store \"%s\"", path);
        roster_err_detail(err, "sqlite: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    /* A WAL of up to SQ_CHECKPOINT_PAGES (40 MB) before a checkpoint: bulk inserts re-dirty
     * the same index pages commit after commit, and a checkpoint copies each page once
     * however often it was written (measured: +30% users/s over the default 1,000 pages).
     * No mmap: after a write by one connection, SQLite unmaps the whole mapping of every
     * other connection at its next read (pager_reset) and each page then faults in again;
     * with a write every 100 ms, GetUsers (bench/lists vox_skill) served 5,900 requests/s
     * with mmap and 9,500 without (10,100 / 9,900 without writes). A new file gets 16 KiB
     * pages (an existing one keeps
     * its own): the four users indexes are a level shallower, and a batch of random keys
     * dirties a quarter as many pages. bench/bulk_create, medians of 7 alternating runs:
     * 4 KiB 45,400, 16 KiB 54,100 users/s; 32 KiB was another 7% faster but made
     * bench/userstates' random state changes 50% slower (3.0 -> 4.6 s), 16 KiB did not. */
    rc = sqlite3_exec(db,
                      "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;"
                      " PRAGMA synchronous = FULL;"
                      " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
                      " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000;"
                      " PRAGMA journal_size_limit = 67108864; PRAGMA mmap_size = 0;",
                      NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        roster_err_set(err, ROSTER_EIO, "cannot configure store \"%s\"", path);
        roster_err_detail(err, "sqlite: %s", errmsg ? errmsg : sqlite3_errstr(rc));
        goto fail;
    }
    c->store = st;
    if (st) {
        sqlite3_busy_handler(db, sq_busy, c);
        /* replaces wal_autocheckpoint */
        sqlite3_wal_hook(db, sq_wal_hook, &st->hooks[dbp == &c->idb ? 1 : 0]);
    } else {
        sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    }
    return 0;
fail:
    sqlite3_free(errmsg);
    sqlite3_close(db);
    *dbp = NULL;
    return err ? err->code : ROSTER_EIO;
}

static int exec_sql(struct sq_conn *c, const char *sql, const char *what, struct roster_err *err)
{
    char *errmsg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &errmsg);
    if (rc == SQLITE_OK)
        return 0;
    sq_fail(c, rc, err);
    roster_err_detail(err, "%s: %s", what, errmsg ? errmsg : sqlite3_errstr(rc));
    sqlite3_free(errmsg);
    return err ? err->code : ROSTER_EIO;
}

/* Applies every embedded migration newer than the file's schema_version, all in one
 * transaction, so that two processes opening the same new file apply them once. */
static int migrate(struct sq_conn *c, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = exec_sql(c, "BEGIN IMMEDIATE", "begin", err);
    if (code)
        return code;
    code = exec_sql(c,
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
                    "schema_version", err);
    if (code)
        goto fail;
    code = sq_prepare(c, "SELECT coalesce(max(version), 0) FROM schema_version", &s, err);
    if (code)
        goto fail;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        code = sq_fail(c, rc, err);
        goto fail;
    }
    int64_t current = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    s = NULL;

    int64_t newest = 0;
    for (const struct roster_sqlite_migration *m = roster_sqlite_migrations; m->name; m++) {
        int64_t v = strtoll(m->name, NULL, 10);
        if (v > newest)
            newest = v;
        if (v <= current)
            continue;
        code = exec_sql(c, m->sql, m->name, err);
        if (code)
            goto fail;
        code = sq_prepare(c,
                          "INSERT INTO schema_version (version, name, applied_ms)"
                          " VALUES (?1, ?2, ?3)",
                          &s, err);
        if (code)
            goto fail;
        sqlite3_bind_int64(s, 1, v);
        sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, roster_now_ms());
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        s = NULL;
        if (rc != SQLITE_DONE) {
            code = sq_fail(c, rc, err);
            goto fail;
        }
    }
    if (current > newest) {
        code = roster_err_set(err, ROSTER_EIO,
                              "store schema version %lld is newer than this roster (%lld)",
                              (long long)current, (long long)newest);
        goto fail;
    }
    return exec_sql(c, "COMMIT", "commit", err);
fail:
    sqlite3_finalize(s);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return code;
}

/* "<path>.jobs": the intake file beside the main one */
static char *intake_path(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + sizeof(".jobs"));
    if (p) {
        memcpy(p, path, n);
        memcpy(p + n, ".jobs", sizeof(".jobs"));
    }
    return p;
}

/* true if schema `name` of the handle runs in WAL mode */
static bool uses_wal(struct sq_conn *c, const char *name)
{
    char sql[64];
    sqlite3_stmt *s = NULL;
    snprintf(sql, sizeof(sql), "PRAGMA %s.journal_mode", name);
    if (sq_prepare(c, sql, &s, NULL) != 0)
        return false;
    bool wal = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
               sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    return wal;
}

/* Fills st->open_jobs with the jobs that still have a chunk to do, oldest first (the
 * bootstrap handle has the intake file attached). */
static int load_open_jobs(struct sq_conn *boot, struct sq_store *st, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(boot,
                          "SELECT j.seq, j.id FROM intake.job_inputs AS j"
                          " LEFT JOIN main.job_progress AS p ON p.job_id = j.id"
                          " WHERE coalesce(p.next_chunk, 0) < j.nchunks"
                          " AND NOT EXISTS (SELECT 1 FROM intake.job_holds AS h"
                          " WHERE h.job_id = j.id) ORDER BY j.seq",
                          &s, err);
    if (code)
        return code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 1);
        if (id && sq_open_job_add(st, sqlite3_column_int64(s, 0), id) != 0) {
            code = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
            break;
        }
    }
    if (!code && rc != SQLITE_DONE)
        code = sq_fail(boot, rc, err);
    sqlite3_finalize(s);
    return code;
}

/* Process-wide SQLite settings, before SQLite initialises: without memory statistics no
 * allocation takes SQLite's global memory mutex, which every connection (one per thread)
 * otherwise contends on (measured: a tenth of the time of a 100-user list page). */
static pthread_once_t sq_global_once = PTHREAD_ONCE_INIT;
static void sq_global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int sq_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    struct sq_conn boot = {0};
    pthread_once(&sq_global_once, sq_global_init);
    struct sq_store *st = NULL;
    char *ipath = NULL;
    sqlite3_stmt *s = NULL;
    *out = NULL;
    int code = make_parent_dirs(url, err);
    if (code)
        goto fail;
    st = calloc(1, sizeof(*st));
    ipath = intake_path(url);
    if (!st || !ipath || !(st->path = strdup(url))) {
        code = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto fail;
    }
    st->intake_path = ipath;
    ipath = NULL;
    st->pub.m = &roster_store_sqlite;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_cond_init(&st->ckpt_cv, NULL);
    st->sync_init = true;
    sq_spans_init(st);
    st->hooks[0] = (struct sq_hook){st, 1u};
    st->hooks[1] = (struct sq_hook){st, 2u};

    code = open_db(&boot, &boot.db, url, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL, err);
    if (code)
        goto fail;
    code = sq_prepare(&boot, "ATTACH DATABASE ?1 AS intake", &s, err);
    if (code)
        goto fail;
    sqlite3_bind_text(s, 1, st->intake_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        code = roster_err_set(err, ROSTER_EIO, "cannot open store \"%s\"", st->intake_path);
        roster_err_detail(err, "sqlite: %s", sqlite3_errmsg(boot.db));
        goto fail;
    }
    code = exec_sql(&boot, intake_schema, "intake schema", err);
    if (code)
        goto fail;
    if (!uses_wal(&boot, "main") || !uses_wal(&boot, "intake")) {
        code = roster_err_set(err, ROSTER_EIO, "store \"%s\" cannot use write-ahead logging", url);
        goto fail;
    }
    code = migrate(&boot, err);
    if (code)
        goto fail;
    code = load_open_jobs(&boot, st, err);
    if (code)
        goto fail;
    if (pthread_create(&st->ckpt_thread, NULL, checkpointer_main, st) != 0) {
        code = roster_err_set(err, ROSTER_EIO, "cannot start the checkpoint thread");
        goto fail;
    }
    st->ckpt_started = true;
    sqlite3_close(boot.db);
    *out = &st->pub;
    return 0;
fail:
    sqlite3_close(boot.db);
    free(ipath);
    sq_close(st ? &st->pub : NULL);
    return code;
}

void sq_close(struct roster_store *pst)
{
    struct sq_store *st = (struct sq_store *)pst;
    if (!st)
        return;
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->mu);
        st->ckpt_stop = true;
        pthread_cond_signal(&st->ckpt_cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->ckpt_thread, NULL);
    }
    if (st->sync_init) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        pthread_cond_destroy(&st->ckpt_cv);
        sq_spans_free(st);
    }
    free(st->leases);
    free(st->open_jobs);
    free(st->intake_path);
    free(st->path);
    free(st);
}

/* The change records of a transaction (sqlite_lists.c) are counted until it ends. */
static int on_commit(void *arg)
{
    sq_list_txn_end(arg);
    return 0;
}

static void on_rollback(void *arg)
{
    sq_list_txn_end(arg);
}

int sq_conn_open(struct roster_store *pst, struct roster_conn **out, struct roster_err *err)
{
    struct sq_store *st = (struct sq_store *)pst;
    *out = NULL;
    struct sq_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int code = open_db(c, &c->db, st->path, SQLITE_OPEN_READWRITE, st, err);
    if (code == 0)
        code = open_db(c, &c->idb, st->intake_path, SQLITE_OPEN_READWRITE, st, err);
    /* intake pages are written once and read once: no need to keep many */
    if (code == 0 &&
        sqlite3_exec(c->idb, "PRAGMA cache_size = -2048", NULL, NULL, NULL) != SQLITE_OK)
        code = sq_fail_on(c->idb, sqlite3_errcode(c->idb), err);
    if (code) {
        sqlite3_close(c->db);
        free(c);
        return code;
    }
    c->pub.m = &roster_store_sqlite;
    c->pub.st = pst;
    sqlite3_commit_hook(c->db, on_commit, c);
    sqlite3_rollback_hook(c->db, on_rollback, c);
    /* this connection's baseline for noticing other processes' commits; the commits it
     * cannot know about (before now, not noticed by another connection yet) void every
     * cached list once (the check bumps the write generation): sqlite_listcache.c */
    c->last_data_version = -1;
    bool fresh;
    code = sq_list_check_version(c, &fresh, err);
    if (code) {
        sq_conn_close(&c->pub);
        return code;
    }
    *out = &c->pub;
    return 0;
}

void sq_conn_close(struct roster_conn *pc)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!c)
        return;
    if (c->db && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (c->idb && !sqlite3_get_autocommit(c->idb))
        sqlite3_exec(c->idb, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < SQ_NSTMTS; i++)
        sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->idb);
    sqlite3_close(c->db);
    free(c);
}

const struct roster_store_methods roster_store_sqlite = {
    .version = ROSTER_STORE_VERSION,
    .name = "sqlite",
    .flags = ROSTER_STORE_EMBEDDED,
#define ROSTER_STORE_METHOD(ret, method, params, args) .method = sq_##method,
#include "roster/store_methods.def"
};
