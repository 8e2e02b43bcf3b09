/* Private to the PostgreSQL store backend: the store and connection structs, the
 * per-connection prepared statements, the helpers its files share (statements, results and
 * errors: pg_conn.c; transactions, BEGIN or a SAVEPOINT inside the caller's: pg_txn.c) and
 * the prototypes of the methods, generated from roster/store_methods.def. Only files under
 * src/store/postgres/ include this header (and libpq-fe.h).
 */
#ifndef ROSTER_STORE_PG_INT_H
#define ROSTER_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlgen.h"          /* struct sg_val */
#include "store/store_migration.h" /* roster_pg_migrations */

/* Statements prepared (PQprepare) on first use on each connection. */
enum pg_stmt_id {
    PG_USER_INSERT,
    PG_USER_GET,
    PG_USER_UPDATE,
    PG_USER_UPDATE_STATE,
    PG_USER_EXISTS,
    PG_USER_DELETE,
    PG_KEY_FIND,
    PG_JOB_INSERT,
    PG_CHUNK_INSERT,
    PG_JOB_GET,
    PG_CHUNK_CLAIM,
    PG_CHUNK_DONE,
    PG_JOB_ADVANCE,
    PG_CHUNK_RENEW,
    PG_SCHED_INSERT,
    PG_SCHED_GET,
    PG_SCHED_NEXT,
    PG_SCHED_CLAIM,
    PG_SCHED_FINISH,
    PG_MSG_INSERT,
    PG_MSG_GET,
    PG_ORG_NUM,
    PG_USER_INSERT_MANY,
    PG_USER_CONFLICTS,
    PG_USER_NUM_IDS,
    PG_USER_GET_MANY,
    PG_USER_EXISTS_MANY,
    PG_JOB_APPEND,
    PG_CHUNK_NEXT_NO,
    PG_USER_RESOLVE,
    PG_MSG_INSERT_MANY,
    PG_JOB_ADVANCE_ANY,
    PG_JOB_USAGE,
    PG_MSG_CLAIM,
    PG_MSG_RECORD,
    PG_WEBHOOK_LIST,
    PG_MSG_LIST,
    PG_MSG_LIST_STATUS,
    PG_MSG_LIST_UNDELIVERABLE,
    PG_MSG_RETRY,
    PG_NSTMTS
};

/* Statements built at run time (lists), prepared on first use and kept per connection. */
#define PG_DYN_SLOTS 96
struct pg_dyn {
    uint64_t hash;
    char *sql;
    unsigned name; /* prepared as d<name> */
    uint64_t used;
};

/* Fresh statistics after bulk loads (pg_analyze.c): a thread of the store's that runs
 * ANALYZE users, on a connection of its own, each time this process has created as many
 * users as the table held at the previous one (at least PG_ANALYZE_MIN). */
struct pg_analyzer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, want, stop;
    int64_t inserted; /* users created since the last ANALYZE was asked for */
    int64_t base;     /* the threshold: the table's rows at the last ANALYZE */
    int64_t last_ms;  /* monotonic time of the last creation counted */
};

struct pg_store {
    struct roster_store pub; /* first: the public struct */
    char *url;
    struct pg_analyzer an;
};

void pg_analyze_init(struct pg_store *st);
/* Counts n users created by this process; may wake the analyzer thread. */
void pg_analyze_note(struct pg_store *st, int64_t n);
/* Stops the analyzer thread (waits for a running ANALYZE). */
void pg_analyze_stop(struct pg_store *st);

/* One connection. A dropped connection (server restart, pg_terminate_backend) is
 * replaced before the next statement that runs outside a transaction (see pg_run); the
 * statements of an open transaction never move to a new connection: they fail, and so
 * does the transaction. */
struct pg_conn {
    struct roster_conn pub; /* first: the public struct */
    PGconn *db;
    bool in_txn;     /* the caller opened a transaction with begin() */
    bool method_txn; /* a method opened its own transaction (pg_tx_start, multi) */
    bool prepared[PG_NSTMTS];
    /* user_create_many: the last batch had conflicts, so the next one goes straight to
     * INSERT ... ON CONFLICT instead of trying COPY first */
    bool many_conflicts;
    bool snapshot; /* in_txn is a read-only snapshot of pg_snapshot_begin */
    /* org id -> num_id (organisations are never deleted: a committed mapping stays true) */
    struct {
        char id[ROSTER_ID_LEN + 1];
        int64_t num;
    } orgs[8];
    unsigned org_next;
    struct pg_dyn dyn[PG_DYN_SLOTS];
    unsigned dyn_names;
    uint64_t dyn_clock;
    /* list change records of the current transaction (pg_lists.c) */
    char lc_org[ROSTER_ID_LEN + 1];
    unsigned lc_count;
    bool lc_reset;
    /* a reset of a bulk write in the caller's transaction, recorded just before its COMMIT
     * (pg_list_flush): the organisation's version row stays locked only for the commit, not
     * while the rest of the transaction runs (two job appliers would wait for each other) */
    char lc_deferred[ROSTER_ID_LEN + 1];
    /* the idempotency key staged for the next effect (idem_stage, pg_idem.c) */
    const struct roster_idem_rec *idem;
};

static inline struct pg_conn *pg_conn_of(struct roster_conn *c)
{
    return (struct pg_conn *)c;
}

/* Text parameters of one statement; integers are formatted into the arena. */
struct pg_args {
    const char **v;
    size_t n, cap;
    struct roster_arena *a;
};
void pg_args_init(struct pg_args *p, struct roster_arena *a);
void pg_arg_str(struct pg_args *p, const char *s); /* NULL -> SQL NULL */
void pg_arg_int(struct pg_args *p, int64_t i);
/* Parameters by value, as the shared translator keeps them (src/store/sqlgen.h): PG_S a
 * string (NULL -> SQL NULL), PG_I an integer; pg_args_vals adds v[0..n) to p. */
#define PG_S(x) ((struct sg_val){SG_TEXT, 0, (x)})
#define PG_I(x) ((struct sg_val){SG_INT, (x), NULL})
void pg_args_vals(struct pg_args *p, size_t n, const struct sg_val *v);

/* A statement and its parameters in one value, for the method helpers of pg_query.c:
 *     PG_STMT(PG_X, "SELECT ... WHERE org_num = " ORG_NUM_OF(1) " AND id = $2",
 *             PG_S(org_id), PG_S(id))
 * id is a prepared statement (enum pg_stmt_id) or -1 for a one-off statement. A PG_WRITE
 * statement writes: it runs as a method of its own (pg_write1). */
struct pg_stmt {
    int id;
    bool write;
    const char *sql;
    size_t n;
    const struct sg_val *v;
};
#define PG_STMT_OF(id, write, sql, ...)                                                            \
    (&(const struct pg_stmt){(id), (write), (sql),                                                 \
                             sizeof((struct sg_val[]){__VA_ARGS__}) / sizeof(struct sg_val),       \
                             (const struct sg_val[]){__VA_ARGS__}})
#define PG_STMT(id, sql, ...) PG_STMT_OF(id, false, sql, __VA_ARGS__)
#define PG_WRITE(id, sql, ...) PG_STMT_OF(id, true, sql, __VA_ARGS__)
/* A read, a write without parameters. */
#define PG_SQL(id, sql) (&(const struct pg_stmt){(id), false, (sql), 0, NULL})
#define PG_WRITE_SQL(id, sql) (&(const struct pg_stmt){(id), true, (sql), 0, NULL})

/* Runs sql with p's parameters: a prepared statement id (prepared on first use)
 * or, with id < 0, a one-off statement. *res is the result (or NULL), which the
 * caller clears also on failure (to read the SQLSTATE). Returns 0 or the mapped
 * roster code with err set.
 * Outside a transaction, a connection found dropped is reconnected first, and a
 * statement refused because the server terminated the session (SQLSTATE 57P01:
 * it was not executed) is run once more on a new connection; a reconnection that
 * fails is ROSTER_EBUSY ("store unavailable", nothing was executed). A
 * connection lost while a statement ran is ROSTER_EIO ("store connection lost":
 * the statement may or may not have committed); the next statement reconnects. */
int pg_run(struct pg_conn *c, int id, const char *sql, const struct pg_args *p, PGresult **res,
           struct roster_err *err);
/* pg_run for a statement built at run time: prepared on first use and kept (per
 * connection, the most recently used PG_DYN_SLOTS), so that a list statement is planned
 * once, not at every request. */
int pg_run_dyn(struct pg_conn *c, const char *sql, const struct pg_args *p, PGresult **res,
               struct roster_err *err);
/* Runs a statement without parameters or results (BEGIN, SAVEPOINT...; several
 * statements separated by ';' are allowed), with pg_run's reconnection rules. */
int pg_exec(struct pg_conn *c, const char *sql, struct roster_err *err);
/* Sessions (pg_conn.c): a new connection to url with the settings of every session (NULL
 * only when out of memory; check PQstatus); forgetting the statements pg_run_dyn prepared
 * on c's session, which are gone with it. */
PGconn *pg_session_open(const char *url);
void pg_dyn_forget(struct pg_conn *c);
/* Whether res is a success (a command or rows; NULL is not). */
bool pg_result_ok(const PGresult *res);
/* Maps a failed result (NULL: connection lost) to a roster code with err set.
 */
int pg_fail(struct pg_conn *c, const PGresult *res, struct roster_err *err);
/* The SQLSTATE of a failed result ("" if none). */
const char *pg_sqlstate(const PGresult *res);

/* Makes a method atomic (pg_txn.c): BEGIN when the caller has no transaction open (multi:
 * only if the method runs several statements), else a SAVEPOINT inside it, so
 * that a failure leaves the caller's transaction usable. pg_tx_end
 * commits/releases when ok, else rolls back only what this method wrote. */
int pg_tx_start(struct pg_conn *c, bool multi, struct roster_err *err);
int pg_tx_end(struct pg_conn *c, bool multi, bool ok, struct roster_err *err);
/* pg_tx_end(multi) of a method whose work gave code: commits when code is 0, else rolls
 * back; returns code, or the failure of the commit. */
int pg_tx_finish(struct pg_conn *c, int code, struct roster_err *err);
/* Runs one statement that writes (pg_run's id, sql and p) as a method of its own:
 * inside pg_tx_start/pg_tx_end(multi = false), i.e. in a SAVEPOINT when the caller has a
 * transaction open. A statement that ran but matched no row is a success here: nothing
 * was written, and the caller reads *res (cleared by the caller) to say what is missing. */
int pg_write1(struct pg_conn *c, int id, const char *sql, const struct pg_args *p, PGresult **res,
              struct roster_err *err);

/* One statement of a method: its parameters, formatted into the caller's arena (or, for a
 * NULL arena, into one of q's own), and its result:
 *     struct pg_call q;
 *     pg_call_init(&q, c, a);
 *     pg_arg_str(&q.p, id);
 *     int code = pg_call_run(&q, PG_X, "SELECT ...", err);
 *     ... read q.res ...
 *     return pg_call_end(&q, code);
 * pg_call_run and pg_call_write1 are pg_run and pg_write1 with q's parameters into q.res
 * (the result of q's statement before, if any, is cleared first); pg_call_end clears the
 * result, releases q's own arena and returns code. A method with a second statement sets
 * its parameters up again with pg_args_init(&q.p, q.a). */
struct pg_call {
    struct pg_conn *c;
    struct roster_arena *a; /* the caller's arena or &own */
    struct pg_args p;
    PGresult *res;
    struct roster_arena own;
};
void pg_call_init(struct pg_call *q, struct pg_conn *c, struct roster_arena *a);
int pg_call_run(struct pg_call *q, int id, const char *sql, struct roster_err *err);
int pg_call_write1(struct pg_call *q, int id, const char *sql, struct roster_err *err);
/* The start of a method of several statements: q (pg_call_init, its own arena) and the
 * method's transaction (pg_tx_start(multi)), which pg_tx_finish ends; pg_call_end(q) also
 * when this fails. */
int pg_call_tx(struct pg_call *q, struct pg_conn *c, struct roster_err *err);
/* Whether the statement of q (an UPDATE or DELETE) changed no row. */
bool pg_call_none(const struct pg_call *q);
int pg_call_end(struct pg_call *q, int code);

/* How a method reads a row into a struct (pg_read_rec): each column, in result order, into
 * a field of the struct, by kind: PG_BUF a char array (the text, cut to fit; "" for NULL),
 * PG_STR a const char * (a copy in the arena; NULL for NULL), PG_TEXT the same but "" for
 * NULL, PG_I64 an int64_t, PG_INT an int, PG_BOOL a bool (0 for NULL). */
enum pg_col_kind { PG_BUF, PG_STR, PG_TEXT, PG_I64, PG_INT, PG_BOOL };
struct pg_col {
    int kind;
    size_t off, size;
};
#define PG_COL(kind, type, field)                                                                  \
    {                                                                                              \
        (kind), offsetof(type, field), sizeof(((type *)0)->field)                                  \
    }
/* The struct (size bytes, zeroed first), the fields of its columns (cols[0..ncols)) and the
 * offset of the char array that gets the organisation's id the method was given (-1:
 * none); or, with read, a reader of its own. */
struct pg_rec {
    size_t size;
    const struct pg_col *cols;
    size_t ncols;
    long org_off;
    void (*read)(const PGresult *r, int row, const char *org_id, void *out, struct roster_arena *a);
};
#define PG_REC(type, cols, org_off)                                                                \
    {                                                                                              \
        sizeof(type), (cols), sizeof(cols) / sizeof((cols)[0]), (org_off), NULL                    \
    }
void pg_read_rec(const struct pg_rec *rec, const PGresult *r, int row, const char *org_id,
                 void *out, struct roster_arena *a);
/* Every row of res, read as rec says into an array in a (never NULL: room for one at
 * least); *n = how many. */
void *pg_read_rows(const PGresult *res, const struct pg_rec *rec, const char *org_id,
                   struct roster_arena *a, size_t *n);

/* PostgreSQL array literals, for a whole array in one parameter ($n::text[]): v as one
 * element ("..." with backslash escapes; NULL -> NULL) appended to b; the literal {..} of
 * v[0..n) in a. */
void pg_array_elem(struct roster_buf *b, const char *v);
const char *pg_text_array(struct roster_arena *a, const char *const *v, size_t n);

/* Result helpers: a copy in the arena (NULL for SQL NULL), an integer (0 for
 * NULL), an id. */
const char *pg_col_str(const PGresult *r, int row, int col, struct roster_arena *a);
int64_t pg_col_int(const PGresult *r, int row, int col);
void pg_col_id(const PGresult *r, int row, int col, char out[ROSTER_ID_LEN + 1]);

/* The values of g (src/store/sqlgen.h) as the parameters of p. */
void pg_args_sg(struct pg_args *p, const struct sg *g);
/* Appends " LIMIT $n OFFSET $m" to sql with their values in p (limit < 0: no limit). */
const char *pg_query_page(struct pg_args *p, int64_t limit, int64_t skip);
/* Runs sql, a SELECT count(*), with p's parameters; the count into *total. */
int pg_count(struct pg_conn *c, const char *sql, const struct pg_args *p, int64_t *total,
             struct roster_err *err);

/* Methods of one statement s (pg_query.c), which set up their parameters, run it and clear
 * its result:
 * pg_get: a read (or a PG_WRITE) of one row, read into out (rec NULL: only whether there is
 * one); none is ROSTER_ENOTFOUND, "<what> \"<id>\" not found" (id NULL: "<what> not found";
 * what NULL: no message, which the caller sets).
 * pg_select: a read of rows, returned as pg_read_rows does; NULL (*n = 0) on failure, with
 * *code set (0 or the failure).
 * pg_update: a PG_WRITE statement; *none: it changed no row, which the caller names. */
int pg_get(struct pg_conn *c, const struct pg_stmt *s, const struct pg_rec *rec, const char *org_id,
           void *out, struct roster_arena *a, const char *what, const char *id,
           struct roster_err *err);
void *pg_select(struct pg_conn *c, const struct pg_stmt *s, const struct pg_rec *rec,
                const char *org_id, struct roster_arena *a, size_t *n, int *code,
                struct roster_err *err);
int pg_update(struct pg_conn *c, const struct pg_stmt *s, bool *none, struct roster_err *err);
/* The page of a list method: with total, the count of "FROM <from>" into *total; then, unless
 * limit is 0, the rows "SELECT <cols> FROM <from> ORDER BY <order>" of the page (limit < 0:
 * no limit; skip < 0 is 0), read as pg_read_rows does (NULL when none were read). The
 * parameters of from are q's (the page's are added); *code is 0 or the failure. */
struct pg_page {
    const char *cols, *from, *order;
    int64_t *total;
    int64_t limit, skip;
};
void *pg_page_rows(struct pg_call *q, const struct pg_page *page, const struct pg_rec *rec,
                   const char *org_id, size_t *n, int *code, struct roster_err *err);
/* The start of a method that creates a row with an id: q (pg_call_init, its own arena) and
 * id, a new one when it is empty; returns the time of creation (now). */
int64_t pg_call_create(struct pg_call *q, struct pg_conn *c, char id[ROSTER_ID_LEN + 1]);
/* q's statement s: its parameters (replacing q's) and a run as pg_call_run (a PG_WRITE as
 * pg_call_write1). */
int pg_call_stmt(struct pg_call *q, const struct pg_stmt *s, struct roster_err *err);
/* A failed insert (code, err set) as the method names it: a unique violation is
 * ROSTER_ECONFLICT, "<what> \"<id>\" already exists"; with org_id, a foreign key violation
 * (the organisation is missing) is ROSTER_ENOTFOUND naming it. Any other failure stays code. */
int pg_insert_fail(const PGresult *res, int code, const char *what, const char *id,
                   const char *org_id, struct roster_err *err);

/* --- idempotency keys (pg_idem.c) --- */
/* The key staged on c (NULL: none), which the caller, an effect, now consumes. */
const struct roster_idem_rec *pg_idem_take(struct pg_conn *c);
/* Writes rec (NULL: nothing) inside the transaction the effect opened: ROSTER_ECONFLICT
 * (err->field ROSTER_IDEM_FIELD) when the organisation holds a live key of that scope and
 * name (waiting first for a transaction that is writing it). */
int pg_idem_write(struct pg_conn *c, const struct roster_idem_rec *rec, struct roster_err *err);

/* --- user lists (pg_lists.c) --- */
/* Records a change of a list of org_id in the current write transaction (ch NULL: a
 * reset); after PG_LIST_MAX_TXN_CHANGES of one organisation in one transaction, a reset
 * replaces the rest. */
#define PG_LIST_MAX_TXN_CHANGES 64
int pg_list_record(struct pg_conn *c, const char *org_id, const struct roster_change *ch,
                   struct roster_err *err);
bool pg_list_wants_detail(struct pg_conn *c, const char *org_id);
/* The transaction ended (all: also forgets a deferred reset) or a savepoint inside it was
 * rolled back (!all: what it recorded one by one is gone; a deferred reset stays). */
void pg_list_txn_end(struct pg_conn *c, bool all);
/* Records the deferred reset, if any, in the caller's transaction before it commits. */
int pg_list_flush(struct pg_conn *c, struct roster_err *err);
/* The image of user id (or num_id when id is NULL) of org_id with its memberships, for a
 * change record; ROSTER_ENOTFOUND when it is not there. */
int pg_user_image(struct pg_conn *c, const char *org_id, const char *id, int64_t num_id,
                  struct roster_arena *a, struct roster_user **u, int64_t **groups, size_t *ng,
                  struct roster_err *err);

/* Reads the users row at columns col.. (the sg_user_columns order of SG_PG: num_id, id,
 * the roster_ufields columns, state, created_ms, modified_ms, version; pg_user_row.c). */
void pg_read_user(const PGresult *r, int row, int col, const char *org_id, struct roster_user *u,
                  struct roster_arena *a);

/* SQL for the num_id of the organisation whose id is parameter $n (NULL when none). */
#define ORG_NUM_OF(n) "(SELECT num_id FROM orgs WHERE id = $" #n ")"
/* The num_id of organisation org_id into *num: 0 when there is none (num_ids start at
 * 1). Returns 0 or a store error. */
int pg_org_num(struct pg_conn *c, const char *org_id, int64_t *num, struct roster_arena *a,
               struct roster_err *err);

/* The columns of an outbox message, in the order of pg_message_rec (pg_schedules.c). */
#define PG_MSG_COLS                                                                                \
    "id, kind, source_id, user_id, recipient, content_json, status, created_ms, sent_ms,"          \
    " attempts, reason, channel, due_ms"
extern const struct pg_rec pg_message_rec;

/* A random positive lease token. */
int64_t pg_new_token(void);

/* Jobs and chunks (pg_jobs.c), shared with message jobs (pg_msgjobs.c). */
/* Inserts job's row (id, org_id, kind, params_json as given) with status, total and
 * next_chunk (0; -1 for a job its creator applies, which no claim reaches), created at now:
 * a missing organisation is ROSTER_ENOTFOUND, a taken id ROSTER_ECONFLICT. */
int pg_job_insert(struct pg_conn *c, const struct roster_job *job, int status, int64_t total,
                  int64_t next_chunk, int64_t now, struct roster_arena *a, struct roster_err *err);
/* Inserts the n chunks items_json[i] (counts[i] items) of job_id, numbered from chunk_no
 * and holding the items from first_idx on. */
int pg_chunks_insert(struct pg_conn *c, const char *job_id, int64_t chunk_no, int64_t first_idx,
                     const char *const *items_json, const int64_t *counts, size_t n,
                     struct roster_arena *a, struct roster_err *err);
/* 0 when job_id is a job of org_id, else ROSTER_ENOTFOUND naming it (or a store error). */
int pg_job_exists(struct pg_conn *c, const char *org_id, const char *job_id, struct roster_arena *a,
                  struct roster_err *err);
/* The chunks of job_id (ROSTER_ENOTFOUND unless it is a job of org_id) holding items of
 * [from, to), by first_idx, as pg_select returns them: struct roster_chunk_page with items,
 * else struct roster_chunk_results. NULL for an empty range. */
void *pg_job_range(struct pg_conn *c, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, bool items, struct roster_arena *a, size_t *n, int *code,
                   struct roster_err *err);

/* The open method (pg_open.c) with the table m that the store and its connections point
 * to; pg_store.c's pg_open passes its own. */
int pg_open_store(const struct roster_store_methods *m, const char *url, struct roster_store **out,
                  struct roster_err *err);

/* The methods of roster/store_methods.def, each as pg_<method>, one file per area:
 * pg_store.c (open, with the table), pg_open.c (close, conn_open, conn_close), pg_txn.c
 * (begin, commit, rollback), pg_orgs.c, pg_users.c, pg_jobs.c, pg_msgjobs.c,
 * pg_schedules.c, pg_groups.c, pg_lists.c. */
#define ROSTER_STORE_METHOD(ret, name, params, args) ret pg_##name params;
#include "roster/store_methods.def"

#endif
