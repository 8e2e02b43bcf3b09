/* Private to the SQLite store backend: the store and connection structs, the cached
 * statements, the helpers its files share (under the name of the file that defines them:
 * statements, errors and transactions are sqlite_conn.c's), and the prototypes of the
 * methods, generated from roster/store_methods.def. Only files under src/store/sqlite/
 * include this header (and sqlite3.h).
 */
#ifndef ROSTER_STORE_SQLITE_INT_H
#define ROSTER_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "roster/list.h"
#include "roster/store.h"
#include "roster/util.h"
#include "store/store_migration.h" /* roster_sqlite_migrations */

/* The columns every schedule read returns, in the order sqlite_schedules.c reads them
 * (SQ_SCHED_COLS_S: the same, qualified by the alias s). */
#define SQ_SCHED_COLS                                                                              \
    "id, user_id, state, due_ms, send_activation_email, email_override, status, created_ms,"       \
    " done_ms, outcome, message_id, lease_token"
#define SQ_SCHED_COLS_S                                                                            \
    "s.id, s.user_id, s.state, s.due_ms, s.send_activation_email, s.email_override, s.status,"     \
    " s.created_ms, s.done_ms, s.outcome, s.message_id, s.lease_token"

/* The columns every organisation read returns, in the order sqlite_orgs.c reads them. */
#define SQ_ORG_COLS                                                                                \
    "num_id, id, name, address, city, region, zip, country, default_state_bulk,"                   \
    " default_state_app_import, default_state_manual, created_ms"

/* A read of job ?2 of organisation ?1 from the intake file: cols of its job_inputs row (alias
 * j), then whether it still takes items (a message job's job_holds row, sqlite_msgjobs.c). */
#define SQ_INTAKE_JOB(cols)                                                                        \
    "SELECT " cols ", EXISTS (SELECT 1 FROM job_holds AS h WHERE h.job_id = j.id)"                 \
    " FROM job_inputs AS j WHERE org_id = ?1 AND id = ?2"

/* Rows of SQ_MSG_INSERT_MANY (9 parameters each, ?1.. in row order). */
#define SQ_MSG_ROWS 16
#define SQ_SA_COLS "id, org_id, name, public_key, created_ms, revoked_ms"
#define SQ_GROUP_COLS                                                                              \
    "g.num_id, g.kind, g.name, g.parent_num, g.extra, g.created_ms, g.modified_ms, g.version"

/* Cached statements, prepared on first use on each connection. */
enum sq_stmt_id {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    SQ_ORG_NUM,
    SQ_USER_INSERT,
    SQ_USER_GET,
    SQ_USER_UPDATE,
    SQ_USER_UPDATE_STATE,
    SQ_USER_EXISTS,
    SQ_USER_DELETE,
    SQ_KEY_FIND,
    SQ_PROGRESS_GET,
    SQ_CHUNK_RESULT_INSERT,
    SQ_PROGRESS_ADVANCE,
    /* on the intake handle (sq_conn.idb) */
    SQ_IBEGIN,
    SQ_ICOMMIT,
    SQ_IROLLBACK,
    SQ_JOB_INSERT,
    SQ_JOB_DEF,
    SQ_CHUNK_INPUT_INSERT,
    SQ_CHUNK_INPUT_GET,
    SQ_SCHED_INSERT,
    SQ_SCHED_GET,
    SQ_SCHED_CANCEL,
    SQ_SCHED_NEXT,
    SQ_SCHED_PEEK,
    SQ_SCHED_PICK,
    SQ_SCHED_LEASE,
    SQ_SCHED_FINISH,
    SQ_SCHED_NEXT_DUE,
    SQ_MSG_INSERT,
    SQ_MSG_GET,
    SQ_BEGIN_READ,   /* a deferred transaction: one read snapshot for a list */
    SQ_DATA_VERSION, /* PRAGMA data_version: did another process commit? */
    SQ_USER_BY_NUM,  /* one user by rowid (num_id), in its organisation */
    SQ_ORG_GET,
    /* message jobs (sqlite_msgjobs.c, sqlite_jobs.c), on the main handle */
    SQ_USER_RESOLVE_ID,
    SQ_USER_RESOLVE_NAME,
    SQ_MSG_INSERT_MANY,
    SQ_RESULTS_AFTER,
    SQ_LOWEST_TODO,
    SQ_PROGRESS_ADVANCE_ANY,
    SQ_SA_KEY_FIND, /* an active service key by id (every JWT-authenticated request) */
    SQ_GROUP_GET,   /* one group by num_id and kind, in its organisation */
    /* user lists (sqlite_lists.c) */
    SQ_LIST_VERSION,
    SQ_LIST_BUMP,
    SQ_LIST_RECORD,
    SQ_LIST_PRUNE,
    SQ_LIST_CHANGES,
    SQ_USER_GROUPS,
    SQ_SPARSE_UPSERT,
    SQ_SPARSE_DELETE,
    /* outbox delivery (sqlite_delivery.c) */
    SQ_MSG_CLAIM,
    SQ_MSG_RECORD,
    /* webhooks (sqlite_webhooks.c) */
    SQ_WEBHOOK_LIST,
    /* roster outbox (sqlite_delivery.c) */
    SQ_MSG_LIST,
    SQ_MSG_LIST_STATUS,
    SQ_MSG_LIST_UNDELIVERABLE,
    SQ_MSG_RETRY,
    SQ_NSTMTS
};

/* organisations and API keys read inside read spans (sqlite_spans.c) */
#define SQ_ROW_SLOTS 32
struct sq_row_slot {
    bool used;
    bool is_key;
    char name[65];  /* the key's hash or the organisation's id */
    uint64_t clock; /* last use */
    char *strs;     /* the strings below point into this block */
    union {
        struct roster_key key;
        struct roster_org org;
    } v;
};
struct sq_row_cache {
    pthread_mutex_t mu;
    uint64_t gen, clock;
    struct sq_row_slot slot[SQ_ROW_SLOTS];
};

struct sq_store {
    struct roster_store pub; /* first: the public struct */
    char *path;
    char *intake_path; /* path + ".jobs" */
    bool sync_init;    /* mu and cv are initialised */
    /* Writers of this process wait for each other here instead of in SQLite's sleeping
     * busy handler: every commit bumps `commits` and wakes the waiters at once. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t commits;
    /* Chunk leases live here, not in the file: an embedded store has exactly one serving
     * process, and a lease written to the file would be a commit by a claiming connection,
     * which empties the page cache of the connection that applies chunks. Guarded by mu. */
    struct sq_lease *leases;
    size_t nleases, cap_leases;
    /* The jobs not finished yet, oldest (lowest intake seq) first: what a claim walks. Loaded
     * at open, added to by job_create after its commit, pruned by claims that find a job
     * finished. In memory for the same reason as the leases. Guarded by mu. */
    struct sq_open_job *open_jobs;
    size_t nopen, cap_open;
    /* The jobs that may not be finished yet, with their organisation, also those still
     * taking items (held): what job_usage reads the counts of, so that it never looks at
     * an organisation's finished jobs. Loaded at open, added to after each job_create and
     * job_open commit, pruned by job_usage (and by claims) when a job is found finished.
     * Guarded by mu. */
    struct sq_quota_job *quota_jobs;
    size_t nquota, cap_quota;
    /* WAL checkpoints run on a thread of their own, not in the committing thread (the job
     * applier spent ~9% of its time in them): the commit hook sets a bit of ckpt_want (1:
     * main file, 2: intake file) and signals ckpt_cv. Guarded by mu. */
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_stop;
    unsigned ckpt_want;
    pthread_cond_t ckpt_cv;
    struct sq_hook {
        struct sq_store *st;
        unsigned file; /* its bit in ckpt_want */
    } hooks[2];
    /* Read spans (sqlite_spans.c): the write generation, bumped after every commit of this
     * process and when a reader sees another process's commit, and the API keys and
     * organisations read in spans. */
    _Atomic uint64_t list_gen;
    struct sq_row_cache rows;
};

struct sq_open_job {
    int64_t seq;
    char id[ROSTER_ID_LEN + 1];
};

struct sq_quota_job {
    char org_id[ROSTER_ID_LEN + 1];
    char id[ROSTER_ID_LEN + 1];
};

struct sq_lease {
    char job_id[ROSTER_ID_LEN + 1];
    int64_t chunk_no;
    int64_t token;
    int64_t until_ms;
};

/* org id -> orgs.num_id, the key users rows carry. Organisations are never deleted, so a
 * committed mapping stays true; entries are only added by lookups and the cache is emptied
 * on rollback, so a mapping never outlives the transaction that saw the org created. */
#define SQ_ORG_CACHE 8
struct sq_org_slot {
    char id[ROSTER_ID_LEN + 1];
    int64_t num;
};

struct sq_conn {
    struct roster_conn pub; /* first: the public struct */
    sqlite3 *db;  /* the main file: organisations, keys, users, job progress and results */
    sqlite3 *idb; /* the intake file (<path>.jobs): job definitions and input items */
    bool in_txn;  /* the caller opened a transaction with begin() */
    struct sq_store *store; /* NULL for the bootstrap handle used by open */
    int64_t busy_since_ms;  /* when the current wait for the write lock began */
    sqlite3_stmt *stmts[SQ_NSTMTS];
    struct sq_org_slot orgs[SQ_ORG_CACHE];
    unsigned org_next;         /* slot to replace next */
    int64_t last_data_version; /* PRAGMA data_version at this connection's last list */
    /* a read span (read_begin): its read transaction's generation (read before the
     * snapshot began) and whether the connection had seen no outside change */
    bool rs_active, rs_fresh;
    uint64_t rs_gen;
    /* change records written in the current write transaction (sqlite_lists.c): of which
     * organisation, how many, and whether a reset ended the individual records */
    int64_t lc_org;
    unsigned lc_count;
    bool lc_reset;
    /* the idempotency key staged for the next effect (idem_stage, sqlite_idem.c) */
    const struct roster_idem_rec *idem;
    /* user_create_many: new users' user_sparse rows are written by one statement after
     * the batch (sq_user_side_write leaves them) */
    bool sparse_deferred;
    /* a commit that needs no fsync of its own (a lease: sq_schedule_claim_due) */
    bool no_sync;
    /* bulk_load: the connection's cache_size before the load (restored at its end) */
    int64_t bulk_cache;
};

static inline struct sq_conn *sq_conn_of(struct roster_conn *c)
{
    return (struct sq_conn *)c;
}

/* --- statements, errors, organisation numbers, transactions (sqlite_conn.c) --- */

/* Maps a failed SQLite call: SQLITE_BUSY/LOCKED -> ROSTER_EBUSY, anything else ->
 * ROSTER_EIO, with sqlite3_errmsg in err->detail. Returns the roster code. */
int sq_fail(struct sq_conn *c, int rc, struct roster_err *err);
/* The same for a call on handle db (the intake handle, say). */
int sq_fail_on(sqlite3 *db, int rc, struct roster_err *err);

/* Finds the num_id of organisation org_id: 0, ROSTER_ENOTFOUND (err untouched: the caller
 * says what was not found), or a store error. */
int sq_org_num(struct sq_conn *c, const char *org_id, int64_t *num, struct roster_err *err);
/* The same for a method on a `what` named name (a user, a schedule; "organization" and
 * org_id itself for something new) of org_id: a missing organisation answers as a missing
 * `what` would, ROSTER_ENOTFOUND with the message "<what> \"<name>\" not found". */
int sq_org_num_for(struct sq_conn *c, const char *org_id, int64_t *num, const char *what,
                   const char *name, struct roster_err *err);
void sq_org_cache_clear(struct sq_conn *c);
/* For a conflict the caller has just set in err: names field in it (err->field) and adds the
 * failed write's sqlite3_errmsg as the detail. Returns err's code. */
int sq_conflict_on(struct sq_conn *c, const char *field, struct roster_err *err);
/* ROSTER_ENOTFOUND with the message "<what> \"<name>\" not found". */
int sq_not_found(struct roster_err *err, const char *what, const char *name);

/* The cached statement id (prepared on first use), or NULL with err set. */
sqlite3_stmt *sq_stmt(struct sq_conn *c, int id, struct roster_err *err);
/* The same for a statement whose SQL is built at run time: build(id, b) appends it to b
 * when the statement is first prepared on c (sqlite_user_row.c, sq_user_stmt). */
sqlite3_stmt *sq_stmt_built(struct sq_conn *c, int id, void (*build)(int id, struct roster_buf *b),
                            struct roster_err *err);
/* Prepares a one-off statement (caller finalizes). */
int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct roster_err *err);
/* The same on the intake handle (sq_conn.idb). */
int sq_iprepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct roster_err *err);
/* Runs a cached statement that returns no rows, then resets it. */
int sq_exec_cached(struct sq_conn *c, int id, struct roster_err *err);

/* A parameter of a statement: text (SQ_TEXT; NULL binds SQL NULL) or an integer (SQ_INT).
 * SQ_ARGS(...) passes a list of them as the pair (array, count). */
struct sq_arg {
    bool is_text;
    const char *text;
    int64_t num;
};
#define SQ_TEXT(v) ((struct sq_arg){true, (v), 0})
#define SQ_INT(v) ((struct sq_arg){false, NULL, (int64_t)(v)})
#define SQ_ARGS(...)                                                                               \
    (const struct sq_arg[]){__VA_ARGS__},                                                          \
        sizeof((const struct sq_arg[]){__VA_ARGS__}) / sizeof(struct sq_arg)
/* Binds args[0..n) to parameters ?1..?n of s. */
void sq_bind_args(sqlite3_stmt *s, const struct sq_arg *args, size_t n);
/* sq_exec_cached with args bound first. */
int sq_exec_args(struct sq_conn *c, int id, const struct sq_arg *args, size_t n,
                 struct roster_err *err);
/* Steps cached statement id with args bound once, then resets it: 1 when it has a row, 0
 * when not, or a negative roster code. */
int sq_exists(struct sq_conn *c, int id, const struct sq_arg *args, size_t n,
              struct roster_err *err);
/* Prepares a one-off statement on handle db (c->db, c->idb) with args bound (caller
 * finalizes; *out NULL on failure). */
int sq_prepare_args(sqlite3 *db, const char *sql, const struct sq_arg *args, size_t n,
                    sqlite3_stmt **out, struct roster_err *err);
/* Maps a failed step (rc) of a write to a roster code; called before the statement is
 * finalized (sqlite3_errmsg still names the failure). ctx: the caller's. */
typedef int sq_fail_map(struct sq_conn *c, int rc, const void *ctx, struct roster_err *err);
/* Runs the one-off write sql on the main handle with args bound, once, and finalizes it: 0
 * when it ran to its end (sqlite3_changes, sqlite3_last_insert_rowid tell the rest), a
 * prepare failure, or a failed step mapped by fail(c, rc, ctx) (sq_fail when fail is NULL). */
int sq_write(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
             sq_fail_map *fail, const void *ctx, struct roster_err *err);
/* What an insert writes, for sq_insert_fail: a `what` with id, of organisation org_id. */
struct sq_item {
    const char *what, *id, *org_id;
};
/* A sq_fail_map for inserts (ctx: a struct sq_item): a taken id -> ROSTER_ECONFLICT
 * "<what> \"<id>\" already exists", a missing organisation -> ROSTER_ENOTFOUND, anything else
 * as sq_fail. */
int sq_insert_fail(struct sq_conn *c, int rc, const void *item, struct roster_err *err);

/* Makes a multi-statement method atomic: BEGIN IMMEDIATE when the caller has no
 * transaction open, else a SAVEPOINT inside it. sq_tx_end commits/releases when ok, else
 * rolls back only what this method wrote. */
int sq_tx_start(struct sq_conn *c, struct roster_err *err);
int sq_tx_end(struct sq_conn *c, bool ok, struct roster_err *err);
/* sq_tx_start, then cached statement id into *s; on failure (*s NULL) nothing is left open. */
int sq_tx_stmt(struct sq_conn *c, int id, sqlite3_stmt **s, struct roster_err *err);
/* For a method whose store failure its caller must roll back (the interface says so):
 * BEGIN IMMEDIATE (*own = true; end it with sq_tx_end) when the caller has no transaction
 * open, else nothing at all (*own = false). Under a savepoint SQLite copies every page
 * before its first change (a 16 KiB memcpy for each index leaf a bulk insert touches);
 * bench/bulk_create on 16 KiB pages, medians of 5 runs: 44,400 -> 52,400 users/s. */
int sq_tx_start_or_join(struct sq_conn *c, bool *own, struct roster_err *err);
/* Ends what sq_tx_start_or_join began, for a method whose result is code: nothing when it
 * joined (!own); else commits when code is 0 and rolls back when it is not. Returns code, or
 * the commit's failure. */
int sq_tx_end_joined(struct sq_conn *c, bool own, int code, struct roster_err *err);
/* Forgets the list change records counted for the current transaction (it ended, or the
 * savepoint that held them was rolled back): sqlite_lists.c records from scratch. */
void sq_list_txn_end(struct sq_conn *c);

/* An outbox message from the row of s: the columns SQ_MSG_COLS (sqlite_schedules.c). */
#define SQ_MSG_COLS                                                                                \
    "id, kind, source_id, user_id, recipient, content_json, status, created_ms, sent_ms,"          \
    " attempts, reason, channel, due_ms"
void sq_message_row(sqlite3_stmt *s, const char *org_id, struct roster_message *out,
                    struct roster_arena *a);
/* Column helpers: copy into the arena (NULL for SQL NULL). */
const char *sq_col_str(sqlite3_stmt *s, int col, struct roster_arena *a);
void sq_col_id(sqlite3_stmt *s, int col, char out[ROSTER_ID_LEN + 1]);
/* sq_col_str of columns col.. into *dst[0..n). */
void sq_col_strs(sqlite3_stmt *s, int col, const char **const *dst, size_t n,
                 struct roster_arena *a);
/* Binds s as text (SQLITE_STATIC: inputs outlive the statement's use) or NULL. */
int sq_bind_str(sqlite3_stmt *st, int idx, const char *s);

/* Reads the current row of s into *row (strings in a); ctx is the caller's (e.g. the
 * organisation id of the rows). */
typedef void sq_reader(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a);
/* Steps s (prepared and bound) once: its row into row and 0, ROSTER_ENOTFOUND when there is
 * none (err untouched: the caller says what is missing), or sq_fail's code. Resets s. */
int sq_row(struct sq_conn *c, sqlite3_stmt *s, sq_reader *read, const void *ctx, void *row,
           struct roster_arena *a, struct roster_err *err);
/* sq_row of cached statement id with args bound. */
int sq_row_args(struct sq_conn *c, int id, const struct sq_arg *args, size_t n, sq_reader *read,
                const void *ctx, void *row, struct roster_arena *a, struct roster_err *err);
/* Steps s (prepared and bound) once, a write: 0 when it changed a row, ROSTER_ENOTFOUND when
 * it changed none (err untouched: the caller says what is missing), or sq_fail's code.
 * Neither resets nor finalizes s. */
int sq_step_changed(struct sq_conn *c, sqlite3_stmt *s, struct roster_err *err);
/* The first column of the row of cached statement id (args bound) into *out: 0, or
 * ROSTER_ENOTFOUND when it has none (*out and err untouched), or sq_fail's code. */
int sq_int_row(struct sq_conn *c, int id, const struct sq_arg *args, size_t n, int64_t *out,
               struct roster_err *err);
/* sq_write (failures as sq_fail) of a write that must change a row: none answers
 * sq_not_found(what, name). */
int sq_update(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
              const char *what, const char *name, struct roster_err *err);
/* Steps s (prepared and bound) to its end, each row into the next element (size bytes) of
 * an array in a (room for one at least): *out the array and *n how many, or sq_fail's code
 * (*out and *n untouched). Neither resets nor finalizes s. */
int sq_rows(struct sq_conn *c, sqlite3_stmt *s, size_t size, sq_reader *read, const void *ctx,
            struct roster_arena *a, void **out, size_t *n, struct roster_err *err);
/* sq_row of the one-off statement sql (main handle) with args bound. */
int sq_select_one(struct sq_conn *c, const char *sql, const struct sq_arg *args, size_t n,
                  sq_reader *read, const void *ctx, void *row, struct roster_arena *a,
                  struct roster_err *err);
/* A sq_reader of column 0 as an integer (row: an int64_t). */
void sq_read_int(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a);
/* sq_rows of a one-off statement without parameters (ctx NULL). */
int sq_select_rows(struct sq_conn *c, const char *sql, size_t size, sq_reader *read,
                   struct roster_arena *a, void **out, size_t *n, struct roster_err *err);

/* The door of a method on one item (a `what` named name) of organisation org_id: binds s, a
 * cached statement (NULL when sq_stmt failed: err says why), ?1 to the organisation's
 * num_id and ?2 to name. A missing organisation answers as sq_org_num_for. */
int sq_org_bind(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
                const char *name, struct roster_err *err);
/* sq_org_bind, then the item's row into row (sq_row; read's ctx: org_id); no row answers
 * sq_not_found(what, name). */
int sq_org_row(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
               const char *name, sq_reader *read, void *row, struct roster_arena *a,
               struct roster_err *err);
/* sq_org_bind, then runs s (its other parameters bound by the caller) and resets it; a run
 * that changed no row answers sq_not_found(what, name). */
int sq_org_exec(struct sq_conn *c, sqlite3_stmt *s, const char *org_id, const char *what,
                const char *name, struct roster_err *err);

/* --- jobs (sqlite_jobs.c) --- */

/* Adds job (seq, id) to st->open_jobs in seq order; ROSTER_ENOMEM on failure. Takes mu. */
int sq_open_job_add(struct sq_store *st, int64_t seq, const char *id);
/* Makes room for extra more jobs in st->open_jobs (so that adding them cannot fail);
 * ROSTER_ENOMEM on failure. Takes mu. */
int sq_open_jobs_reserve(struct sq_store *st, size_t extra);
/* Adds job id of org_id to st->quota_jobs; ROSTER_ENOMEM on failure. Takes mu. */
int sq_quota_job_add(struct sq_store *st, const char *org_id, const char *id);

/* Writes to the intake file (sqlite_jobs.c), inside the caller's intake transaction
 * (SQ_IBEGIN): job's job_inputs row with total items in nchunks chunks (*seq: its intake
 * seq, when seq is not NULL; ROSTER_ECONFLICT when its id is taken), and chunks
 * items_json[0..n) of job_id numbered from first_chunk, their items from first_idx on.
 * sq_intake_rollback ends that transaction if it is still open. */
int sq_intake_job_insert(struct sq_conn *c, const struct roster_job *job, int64_t total,
                         int64_t nchunks, int64_t now, int64_t *seq, struct roster_err *err);
int sq_intake_chunks_insert(struct sq_conn *c, const char *job_id, int64_t first_chunk,
                            int64_t first_idx, const char *const *items_json, const int64_t *counts,
                            size_t n, struct roster_err *err);
void sq_intake_rollback(struct sq_conn *c);

/* --- idempotency keys (sqlite_idem.c) --- */

/* The key staged on c (NULL: none), which the caller, an effect, now consumes. */
const struct roster_idem_rec *sq_idem_take(struct sq_conn *c);
/* Writes rec (NULL: nothing) into the idem_keys table of handle db (c->db or c->idb) inside
 * the transaction open on it: ROSTER_ECONFLICT (err->field ROSTER_IDEM_FIELD) when the
 * organisation holds a live key of that scope and name. */
int sq_idem_write(sqlite3 *db, const struct roster_idem_rec *rec, struct roster_err *err);

/* --- users (sqlite_users.c) --- */

/* Maps a constraint violation of a write on users (or another table) to ROSTER_ECONFLICT
 * naming the field and value (u: the row that was written), a missing organisation to
 * ROSTER_ENOTFOUND, anything else as sq_fail. The statement must not be reset yet. */
int sq_user_write_fail(struct sq_conn *c, int rc, const struct roster_user *u, const char *org_id,
                       struct roster_err *err);

/* --- users rows (sqlite_user_row.c) --- */

/* parameters of SQ_USER_INSERT / SQ_USER_UPDATE: ?1 id, ?2 org_num, ?3.. fields, then these */
enum {
    UP_FIELDS = 3,
    UP_STATE = UP_FIELDS + RU_NFIELDS,
    UP_TIME,    /* created_ms (insert) or modified_ms (update) */
    UP_VERSION, /* update: the version the caller read */
};

/* The cached users statement id (SQ_USER_INSERT, _GET, _BY_NUM, _UPDATE, _UPDATE_STATE),
 * its SQL built from roster_ufields[]; NULL with err set. */
sqlite3_stmt *sq_user_stmt(struct sq_conn *c, int id, struct roster_err *err);
/* Reads a users row whose columns start at col (sg_user_columns order). */
void sq_read_user(sqlite3_stmt *s, int col, const char *org_id, struct roster_user *u,
                  struct roster_arena *a);

/* --- read spans (sqlite_spans.c; its DESIGN comment explains validity) --- */
void sq_spans_init(struct sq_store *st);
void sq_spans_free(struct sq_store *st);
/* The write generation; bumped (thread-safe) after every commit of this process. */
uint64_t sq_list_gen(struct sq_store *st);
void sq_list_gen_bump(struct sq_store *st);
/* Inside the caller's read transaction: runs PRAGMA data_version; *fresh = false (and the
 * generation is bumped) when it moved since this connection's last look. */
int sq_list_check_version(struct sq_conn *c, bool *fresh, struct roster_err *err);
/* API keys (is_key, by hash) and organisations (by id) kept for read spans: only a span that
 * may use them (sq_span_caches) gets or puts them, with its generation. A get copies the
 * row (a struct roster_key or roster_org) into out and its strings into a. */
bool sq_span_get(struct sq_store *st, uint64_t gen, bool is_key, const char *name, void *out,
                 struct roster_arena *a);
/* row: a struct roster_key (is_key; kept by its hash) or a struct roster_org (by its id) */
void sq_span_put(struct sq_store *st, uint64_t gen, bool is_key, const void *row);
static inline bool sq_span_caches(const struct sq_conn *c)
{
    return c->rs_active && c->rs_fresh && c->store;
}

/* --- user lists (sqlite_lists.c) --- */
struct sg;
/* Binds the values of g (src/store/sqlgen.h) to parameters 1.. of s. */
int sq_bind_sg(struct sq_conn *c, sqlite3_stmt *s, const struct sg *g, struct roster_err *err);
/* Runs sql, a statement that returns one integer (a count), with g's values as its
 * parameters; the integer into *out. */
int sq_count(struct sq_conn *c, const char *sql, const struct sg *g, int64_t *out,
             struct roster_err *err);
/* Records a change of a list of org_num in the caller's write transaction: ch (a USER
 * change) or, with ch NULL, a reset. After SQ_LIST_MAX_TXN_CHANGES records of one
 * organisation in one transaction, a reset replaces the rest (a bulk write). */
#define SQ_LIST_MAX_TXN_CHANGES 64
int sq_list_record(struct sq_conn *c, int64_t org_num, const struct roster_change *ch,
                   struct roster_err *err);
/* Whether the next user change of org_num in this transaction is still recorded one by one
 * (else a reset covers it: no before image is needed). */
bool sq_list_wants_detail(struct sq_conn *c, int64_t org_num);
/* The image a change record carries of user (num_id, or id when num_id is 0) of org_num,
 * with its memberships; ROSTER_ENOTFOUND when it is not there. */
int sq_user_image(struct sq_conn *c, int64_t org_num, const char *id, int64_t num_id,
                  struct roster_arena *a, struct roster_user **u, int64_t **groups, size_t *ng,
                  struct roster_err *err);
/* Keeps user_sparse in step with a user just written (before: its previous image, NULL
 * for a new user or when not read; a trigger keeps the memberships' sort keys). */
int sq_user_side_write(struct sq_conn *c, int64_t org_num, const struct roster_user *before,
                       const struct roster_user *u, struct roster_err *err);

/* The open method (sqlite_open.c) with the table m that the store and its connections
 * point to; sqlite_store.c's sq_open passes its own. */
int sq_open_store(const struct roster_store_methods *m, const char *url, struct roster_store **out,
                  struct roster_err *err);

/* The methods of roster/store_methods.def, each as sq_<method>, one file per area:
 * sqlite_store.c (open, with the table), sqlite_open.c (close, conn_open, conn_close),
 * sqlite_conn.c (begin, commit, rollback), sqlite_orgs.c, sqlite_users.c (with sqlite_user_row.c),
 * sqlite_jobs.c, sqlite_msgjobs.c, sqlite_schedules.c, sqlite_groups.c, sqlite_lists.c,
 * sqlite_spans.c (read_begin, read_end). The table is sqlite_store.c. */
#define ROSTER_STORE_METHOD(ret, name, params, args) ret sq_##name params;
#include "roster/store_methods.def"

#endif
