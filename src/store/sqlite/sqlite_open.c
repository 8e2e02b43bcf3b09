/* SQLite store: opening a store file (WAL, synchronous=NORMAL with each commit fsynced after the
 * write lock is released, foreign keys), the intake file beside it, the embedded schema migrations
 * (applied once), the checkpoint thread, and per-thread connections (the close, conn_open and
 * conn_close methods, and the open method for sqlite_store.c, which passes its table).
 *
 * DESIGN: one struct sq_store per file, shared by all threads (its paths, and the state
 * under its locks: see struct sq_store); one struct sq_conn (its own sqlite3 handles,
 * opened without SQLite's mutexes) per thread. Writers queue on a condition variable of
 * the store that every commit signals (SQLite's own busy handler sleeps up to 100 ms
 * between tries, which cost more than the writes themselves); the same commit hook asks
 * the checkpoint thread for WAL checkpoints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "roster/store.h"
#include "roster/util.h"
#include "roster/wake.h"
#include "store/sqlite/sqlite_int.h"

#define SQ_BUSY_TIMEOUT_MS 10000
#define SQ_CHECKPOINT_PAGES 10000

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
    /* jobs whose input job_input_purge emptied (sqlite_retention.c) */
    " CREATE TABLE IF NOT EXISTS intake.job_purged (job_id TEXT PRIMARY KEY) WITHOUT ROWID;"
    " PRAGMA intake.user_version = 3;";

/* Creates every missing directory above the file path (mkdir -p of its dirname), readable
 * by the owner only: the store holds password hashes and personal data. */
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
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            code = roster_err_set(err, ROSTER_EIO, "cannot create directory \"%s\"", dir);
            roster_err_detail(err, "mkdir: %s", strerror(errno));
            goto done;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        code = roster_err_set(err, ROSTER_EIO, "cannot create directory \"%s\"", dir);
        roster_err_detail(err, "mkdir: %s", strerror(errno));
    }
done:
    free(dir);
    return code;
}

/* Creates path, if it is missing, readable and writable by its owner only. SQLite gives a
 * database's WAL, shared-memory and journal files the mode of the database file, so they
 * are private too. An existing file keeps its mode. */
static int create_private(const char *path, struct roster_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int code = roster_err_set(err, ROSTER_EIO, "cannot create store file \"%s\"", path);
        roster_err_detail(err, "open: %s", strerror(errno));
        return code;
    }
    close(fd);
    return 0;
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
 * asks the checkpoint thread for a checkpoint once the WAL holds SQ_CHECKPOINT_PAGES pages,
 * then makes the commit durable. A store handle runs with synchronous = NORMAL, under which
 * SQLite writes a commit's frames to the WAL but does not fsync it; the fsync is done here,
 * after the lock is released and before the statement that committed returns, so no
 * caller learns of a commit before it is on disk (what FULL gives), while the next writer
 * already writes its transaction during this one's fsync (with FULL it waited for it).
 * WAL recovery keeps every frame up to the last valid commit frame, so a commit whose
 * frames this fsync covered survives a power loss whatever a later writer left half
 * written; NORMAL still syncs the WAL before each checkpoint and at its restart.
 * A failed fsync fails the statement (SQLITE_IOERR_FSYNC), as it would under FULL. */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct sq_conn *c = arg;
    struct sq_store *st = c->store;
    struct sq_hook *h = &st->hooks[db == c->idb ? 1 : 0];
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
    if (c->no_sync)
        return SQLITE_OK;
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(db, name, SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || !wal ||
        !wal->pMethods)
        return SQLITE_IOERR_FSYNC;
    return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
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
    /* the busy handler first: journal_mode below reads the file and meets the locks of
     * other connections (a checkpoint, a WAL restart: "database is locked" otherwise) */
    c->store = st;
    if (st)
        sqlite3_busy_handler(db, sq_busy, c);
    else
        sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
        /* A WAL of up to SQ_CHECKPOINT_PAGES (160 MB of 16 KiB pages) before a checkpoint: bulk
         * inserts re-dirty the same index pages commit after commit, and a checkpoint copies each
         * page once however often it was written (measured: +30% users/s over the default 1,000
         * pages). No mmap: after a write by one connection, SQLite unmaps the whole mapping of
         * every other connection at its next read (pager_reset) and each page then faults in again;
         * with a write every 100 ms, GetUsers (bench/lists vox_skill) served 5,900 requests/s
         * with mmap and 9,500 without (10,100 / 9,900 without writes). A new file gets 16 KiB
         * pages (an existing one keeps
         * its own): the four users indexes are a level shallower, and a batch of random keys
         * dirties a quarter as many pages. bench/bulk_create, medians of 7 alternating runs:
         * 4 KiB 45,400, 16 KiB 54,100 users/s; 32 KiB was another 7% faster but made
         * bench/userstates' random state changes 50% slower (3.0 -> 4.6 s), 16 KiB did not. */
        /* a store handle commits with synchronous = NORMAL: sq_wal_hook fsyncs after the write
         * lock is released; the bootstrap handle (no hook) keeps FULL */
#define SQ_PRAGMAS(sync)                                                                           \
    "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = " sync ";"          \
    " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"                                       \
    " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000;"                              \
    " PRAGMA journal_size_limit = 67108864; PRAGMA mmap_size = 0;"
    rc = sqlite3_exec(db, st ? SQ_PRAGMAS("NORMAL") : SQ_PRAGMAS("FULL"), NULL, NULL, &errmsg);
#undef SQ_PRAGMAS
    if (rc != SQLITE_OK) {
        roster_err_set(err, ROSTER_EIO, "cannot configure store \"%s\"", path);
        roster_err_detail(err, "sqlite: %s", errmsg ? errmsg : sqlite3_errstr(rc));
        goto fail;
    }
    if (st)
        sqlite3_wal_hook(db, sq_wal_hook, c); /* replaces wal_autocheckpoint */
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
    for (const struct roster_store_migration *m = roster_sqlite_migrations; m->name; m++) {
        int64_t v = strtoll(m->name, NULL, 10);
        if (v > newest)
            newest = v;
        if (v <= current)
            continue;
        code = exec_sql(c, m->sql, m->name, err);
        if (code)
            goto fail;
        code = sq_write(c,
                        "INSERT INTO schema_version (version, name, applied_ms)"
                        " VALUES (?1, ?2, ?3)",
                        SQ_ARGS(SQ_INT(v), SQ_TEXT(m->name), SQ_INT(roster_now_ms())), NULL, NULL,
                        err);
        if (code)
            goto fail;
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

/* Runs sql on the bootstrap handle (the intake file attached) and hands each row to add;
 * ROSTER_ENOMEM when add fails. */
static int load_jobs(struct sq_conn *boot, struct sq_store *st, const char *sql,
                     int (*add)(struct sq_store *st, sqlite3_stmt *row), struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(boot, sql, &s, err);
    if (code)
        return code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (add(st, s) != 0) {
            code = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
            break;
        }
    }
    if (!code && rc != SQLITE_DONE)
        code = sq_fail(boot, rc, err);
    sqlite3_finalize(s);
    return code;
}

static int add_open_job(struct sq_store *st, sqlite3_stmt *row)
{
    const char *id = (const char *)sqlite3_column_text(row, 1);
    return id ? sq_open_job_add(st, sqlite3_column_int64(row, 0), id) : 0;
}

static int add_quota_job(struct sq_store *st, sqlite3_stmt *row)
{
    const char *org = (const char *)sqlite3_column_text(row, 0);
    const char *id = (const char *)sqlite3_column_text(row, 1);
    return org && id ? sq_quota_job_add(st, org, id) : 0;
}

/* Fills st->open_jobs with the jobs that still have a chunk to do, oldest first, and
 * st->quota_jobs with the jobs not finished yet (taking items, or with items without a
 * result). */
static int load_open_jobs(struct sq_conn *boot, struct sq_store *st, struct roster_err *err)
{
    int code = load_jobs(boot, st,
                         "SELECT j.seq, j.id FROM intake.job_inputs AS j"
                         " LEFT JOIN main.job_progress AS p ON p.job_id = j.id"
                         " WHERE coalesce(p.next_chunk, 0) < j.nchunks"
                         " AND NOT EXISTS (SELECT 1 FROM intake.job_holds AS h"
                         " WHERE h.job_id = j.id) ORDER BY j.seq",
                         add_open_job, err);
    if (code)
        return code;
    return load_jobs(boot, st,
                     "SELECT j.org_id, j.id FROM intake.job_inputs AS j"
                     " LEFT JOIN main.job_progress AS p ON p.job_id = j.id"
                     " WHERE coalesce(p.done, 0) < j.total"
                     " OR EXISTS (SELECT 1 FROM intake.job_holds AS h WHERE h.job_id = j.id)",
                     add_quota_job, err);
}

/* Process-wide SQLite settings, before SQLite initialises: without memory statistics no
 * allocation takes SQLite's global memory mutex, which every connection (one per thread)
 * otherwise contends on (measured: a tenth of the time of a 100-user list page). */
static pthread_once_t sq_global_once = PTHREAD_ONCE_INIT;
static void sq_global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int sq_open_store(const struct roster_store_methods *m, const char *url, struct roster_store **out,
                  struct roster_err *err)
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
    st->pub.m = m;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_cond_init(&st->ckpt_cv, NULL);
    st->sync_init = true;
    sq_spans_init(st);
    st->hooks[0] = (struct sq_hook){st, 1u};
    st->hooks[1] = (struct sq_hook){st, 2u};

    code = create_private(url, err);
    if (!code)
        code = create_private(st->intake_path, err);
    if (!code)
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
    free(st->quota_jobs);
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
    c->pub.m = pst->m;
    c->pub.st = pst;
    sqlite3_commit_hook(c->db, on_commit, c);
    sqlite3_rollback_hook(c->db, on_rollback, c);
    /* this connection's baseline for noticing other processes' commits; the commits it
     * cannot know about (before now, not noticed by another connection yet) void what read
     * spans keep once (the check bumps the write generation): sqlite_spans.c */
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
