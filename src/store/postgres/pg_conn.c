/* PostgreSQL store: connection and statement helpers. Statement parameters and result
 * columns, the mapping of PostgreSQL errors to roster codes, sessions (a dropped connection
 * is replaced before a statement that runs outside a transaction), prepared statements
 * (fixed ones by id, run-time ones kept per connection) and struct pg_call. Every other
 * file of the backend builds on these; this one calls none of them.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "roster/log.h"
#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

/* --- parameters and results --- */

void pg_args_init(struct pg_args *p, struct roster_arena *a)
{
    memset(p, 0, sizeof(*p));
    p->a = a;
}

void pg_arg_str(struct pg_args *p, const char *s)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        const char **nv = roster_arena_alloc(p->a, cap * sizeof(*nv));
        if (p->n)
            memcpy(nv, p->v, p->n * sizeof(*nv));
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = s;
}

void pg_arg_int(struct pg_args *p, int64_t i)
{
    pg_arg_str(p, roster_arena_printf(p->a, "%lld", (long long)i));
}

void pg_args_vals(struct pg_args *p, size_t n, const struct sg_val *v)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == SG_INT)
            pg_arg_int(p, v[i].i);
        else
            pg_arg_str(p, v[i].s);
    }
}

void pg_array_elem(struct roster_buf *b, const char *v)
{
    if (!v) {
        roster_buf_addstr(b, "NULL");
        return;
    }
    roster_buf_addch(b, '"');
    const char *span = v;
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            roster_buf_add(b, span, (size_t)(p - span));
            roster_buf_addch(b, '\\');
            span = p; /* the quote or backslash itself goes with the next span */
        }
    }
    roster_buf_addstr(b, span);
    roster_buf_addch(b, '"');
}

const char *pg_text_array(struct roster_arena *a, const char *const *v, size_t n)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addch(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(&b, ',');
        pg_array_elem(&b, v[i]);
    }
    roster_buf_addch(&b, '}');
    const char *out = roster_arena_strndup(a, b.data, b.len);
    roster_buf_release(&b);
    return out;
}

const char *pg_col_str(const PGresult *r, int row, int col, struct roster_arena *a)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return roster_arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const char *v = PQgetvalue(r, row, col);
    if (v[0] == 't' || v[0] == 'f') /* boolean */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

void pg_col_id(const PGresult *r, int row, int col, char out[ROSTER_ID_LEN + 1])
{
    snprintf(out, ROSTER_ID_LEN + 1, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

const char *pg_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int pg_fail(struct pg_conn *c, const PGresult *res, struct roster_err *err)
{
    const char *state = pg_sqlstate(res);
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(c->db);
    int code = ROSTER_EIO;
    const char *what = "store error";
    /* serialization failure, deadlock, lock not available, too many connections
     */
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
        !strcmp(state, "53300")) {
        code = ROSTER_EBUSY;
        what = "store busy";
    } else if (PQstatus(c->db) != CONNECTION_OK) {
        what = "store connection lost";
    }
    roster_err_set(err, code, "%s", what);
    return roster_err_detail(err, "postgres %s: %s", state, msg);
}

bool pg_result_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* --- the connection: dropped connections are replaced outside transactions --- */

/* Server messages outside a result (warnings, and the FATAL error of a terminated
 * session) go to the log instead of libpq's bare lines on stderr. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' '))
        n--;
    roster_log(ROSTER_LOG_WARN, "store notice", "detail=\"%.*s\"", (int)n, message);
}

/* Settings of every session; run after each (re)connection. */
static void session_setup(PGconn *db)
{
    PQclear(PQexec(db, "SET client_min_messages = warning"));
}

/* A new connection to url (NULL only when out of memory); check PQstatus. */
PGconn *pg_session_open(const char *url)
{
    PGconn *db = PQconnectdb(url);
    if (!db)
        return NULL;
    PQsetNoticeProcessor(db, log_notice, NULL); /* kept by PQreset */
    if (PQstatus(db) == CONNECTION_OK)
        session_setup(db);
    return db;
}

/* Whether statements on c belong to an open transaction: they must never move to a
 * new connection, where they would run (and commit) outside it. */
static bool txn_open(const struct pg_conn *c)
{
    return c->in_txn || c->method_txn;
}

/* Reads what an idle connection has received. A backend that was terminated
 * (pg_terminate_backend, server shutdown or restart) sends an error and closes its
 * socket, and libpq only notices when it reads: a poll() that finds nothing costs
 * about a microsecond. The second read after the error sees the end of the stream
 * and marks the connection bad. */
static void drain_idle(struct pg_conn *c)
{
    for (int i = 0; i < 4 && PQstatus(c->db) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = PQsocket(c->db), .events = POLLIN};
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(c->db))
            return;
    }
}

/* The statements prepared by pg_run_dyn are gone with the session. */
void pg_dyn_forget(struct pg_conn *c)
{
    for (size_t i = 0; i < PG_DYN_SLOTS; i++) {
        free(c->dyn[i].sql);
        c->dyn[i] = (struct pg_dyn){0};
    }
}

/* Replaces c's session with a new one (same URL); its prepared statements are gone.
 * ROSTER_EBUSY when the server cannot be reached: nothing was executed. */
static int reconnect(struct pg_conn *c, struct roster_err *err)
{
    PQreset(c->db);
    memset(c->prepared, 0, sizeof(c->prepared));
    pg_dyn_forget(c);
    if (PQstatus(c->db) != CONNECTION_OK) {
        roster_err_set(err, ROSTER_EBUSY, "store unavailable");
        return roster_err_detail(err, "postgres: cannot reconnect: %s", PQerrorMessage(c->db));
    }
    session_setup(c->db);
    roster_log(ROSTER_LOG_WARN, "store connection was lost; reconnected", "backend_pid=%d",
               PQbackendPID(c->db));
    return 0;
}

/* Before a statement that is not part of a transaction: a dropped connection is
 * replaced now, while that is still safe. */
static int ready(struct pg_conn *c, struct roster_err *err)
{
    if (txn_open(c))
        return 0;
    drain_idle(c);
    return PQstatus(c->db) == CONNECTION_OK ? 0 : reconnect(c, err);
}

/* Whether sql changes nothing when it runs on its own (outside a transaction): one
 * read (the store's SELECTs call no function that writes), or BEGIN. */
static bool changes_nothing(const char *sql)
{
    while (*sql == ' ' || *sql == '\n')
        sql++;
    if (strchr(sql, ';'))
        return false; /* several statements */
    return !strncasecmp(sql, "SELECT ", 7) || !strcasecmp(sql, "BEGIN");
}

/* Whether a statement outside a transaction that failed on a lost connection may run
 * again on a new one: when it changes nothing, or when the server refused it because
 * it terminated the session (SQLSTATE 57P01, admin_shutdown: a backend told to exit
 * does so at an interrupt check, and interrupts are held from writing a commit until
 * it is reported, so the statement took no effect). A write that lost its connection
 * without that answer may have committed: it is not repeated. */
static bool may_retry(const struct pg_conn *c, const char *sql, const PGresult *res)
{
    if (PQstatus(c->db) == CONNECTION_OK)
        return false;
    return changes_nothing(sql) || !strcmp(pg_sqlstate(res), "57P01");
}

#define PG_DYN (-2)

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* One attempt of a run-time statement: its kept prepared statement, or prepared now in the
 * least recently used slot (whose statement is deallocated first). */
static int run_dyn_once(struct pg_conn *c, const char *sql, int n, const char *const *v,
                        PGresult **res, struct roster_err *err)
{
    uint64_t h = hash_sql(sql);
    struct pg_dyn *d = NULL, *lru = &c->dyn[0];
    for (size_t i = 0; i < PG_DYN_SLOTS && !d; i++) {
        struct pg_dyn *s = &c->dyn[i];
        if (s->sql && s->hash == h && strcmp(s->sql, sql) == 0)
            d = s;
        else if (!s->sql || (lru->sql && s->used < lru->used))
            lru = s;
    }
    char name[24];
    if (!d) {
        d = lru;
        if (d->sql) {
            snprintf(name, sizeof(name), "DEALLOCATE d%u", d->name);
            PQclear(PQexec(c->db, name));
            free(d->sql);
            d->sql = NULL;
        }
        d->name = ++c->dyn_names;
        snprintf(name, sizeof(name), "d%u", d->name);
        PGresult *pr = PQprepare(c->db, name, sql, n, NULL);
        if (!pg_result_ok(pr)) {
            int code = pg_fail(c, pr, err);
            *res = pr;
            return code;
        }
        PQclear(pr);
        d->sql = strdup(sql);
        d->hash = h;
        if (!d->sql) {
            *res = NULL;
            return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        }
    }
    d->used = ++c->dyn_clock;
    snprintf(name, sizeof(name), "d%u", d->name);
    *res = PQexecPrepared(c->db, name, n, v, NULL, NULL, 0);
    if (pg_result_ok(*res))
        return 0;
    return pg_fail(c, *res, err);
}

/* One attempt of a statement: prepared statement id (prepared on first use), a
 * one-off statement with parameters (id < 0 and simple == false) or, with simple, the
 * simple protocol (several statements allowed, no parameters). */
static int run_once(struct pg_conn *c, int id, bool simple, const char *sql,
                    const struct pg_args *p, PGresult **res, struct roster_err *err)
{
    int n = p ? (int)p->n : 0;
    const char *const *v = p ? p->v : NULL;
    *res = NULL;
    if (simple) {
        *res = PQexec(c->db, sql);
    } else if (id == PG_DYN) {
        return run_dyn_once(c, sql, n, v, res, err);
    } else if (id < 0) {
        *res = PQexecParams(c->db, sql, n, NULL, v, NULL, NULL, 0);
    } else {
        char name[16];
        snprintf(name, sizeof(name), "r%d", id);
        if (!c->prepared[id]) {
            PGresult *pr = PQprepare(c->db, name, sql, n, NULL);
            if (!pg_result_ok(pr)) {
                int code = pg_fail(c, pr, err);
                *res = pr;
                return code;
            }
            PQclear(pr);
            c->prepared[id] = true;
        }
        *res = PQexecPrepared(c->db, name, n, v, NULL, NULL, 0);
    }
    if (pg_result_ok(*res))
        return 0;
    return pg_fail(c, *res, err);
}

static int run(struct pg_conn *c, int id, bool simple, const char *sql, const struct pg_args *p,
               PGresult **res, struct roster_err *err)
{
    *res = NULL;
    bool idle = !txn_open(c);
    int code = ready(c, err);
    if (code)
        return code;
    code = run_once(c, id, simple, sql, p, res, err);
    if (code && idle && may_retry(c, sql, *res)) {
        PQclear(*res);
        *res = NULL;
        code = reconnect(c, err);
        if (!code)
            code = run_once(c, id, simple, sql, p, res, err);
    }
    return code;
}

int pg_run(struct pg_conn *c, int id, const char *sql, const struct pg_args *p, PGresult **res,
           struct roster_err *err)
{
    return run(c, id, false, sql, p, res, err);
}

int pg_run_dyn(struct pg_conn *c, const char *sql, const struct pg_args *p, PGresult **res,
               struct roster_err *err)
{
    return run(c, PG_DYN, false, sql, p, res, err);
}

int pg_exec(struct pg_conn *c, const char *sql, struct roster_err *err)
{
    PGresult *res;
    int code = run(c, -1, true, sql, NULL, &res, err);
    PQclear(res);
    return code;
}

void pg_call_init(struct pg_call *q, struct pg_conn *c, struct roster_arena *a)
{
    q->c = c;
    q->res = NULL;
    roster_arena_init(&q->own, 0);
    q->a = a ? a : &q->own;
    pg_args_init(&q->p, q->a);
}

int pg_call_run(struct pg_call *q, int id, const char *sql, struct roster_err *err)
{
    PQclear(q->res);
    return pg_run(q->c, id, sql, &q->p, &q->res, err);
}

bool pg_call_none(const struct pg_call *q)
{
    return strcmp(PQcmdTuples(q->res), "0") == 0;
}

int pg_call_end(struct pg_call *q, int code)
{
    PQclear(q->res);
    q->res = NULL;
    roster_arena_release(&q->own);
    return code;
}

void pg_read_rec(const struct pg_rec *rec, const PGresult *r, int row, const char *org_id,
                 void *out, struct roster_arena *a)
{
    char *base = out;
    memset(out, 0, rec->size);
    if (rec->read) {
        rec->read(r, row, org_id, out, a);
        return;
    }
    for (size_t i = 0; i < rec->ncols; i++) {
        const struct pg_col *f = &rec->cols[i];
        char *field = base + f->off;
        int col = (int)i;
        switch (f->kind) {
        case PG_BUF:
            snprintf(field, f->size, "%s", PQgetvalue(r, row, col)); /* "" for NULL */
            break;
        case PG_STR:
            *(const char **)field = pg_col_str(r, row, col, a);
            break;
        case PG_TEXT:
            *(const char **)field = PQgetisnull(r, row, col) ? "" : pg_col_str(r, row, col, a);
            break;
        case PG_I64:
            *(int64_t *)field = pg_col_int(r, row, col);
            break;
        case PG_INT:
            *(int *)field = (int)pg_col_int(r, row, col);
            break;
        default:
            *(bool *)field = pg_col_int(r, row, col) != 0;
            break;
        }
    }
    if (rec->org_off >= 0)
        snprintf(base + rec->org_off, ROSTER_ID_LEN + 1, "%s", org_id ? org_id : "");
}

void *pg_read_rows(const PGresult *res, const struct pg_rec *rec, const char *org_id,
                   struct roster_arena *a, size_t *n)
{
    int rows = PQntuples(res);
    char *v = roster_arena_alloc(a, (size_t)(rows ? rows : 1) * rec->size);
    for (int i = 0; i < rows; i++)
        pg_read_rec(rec, res, i, org_id, v + (size_t)i * rec->size, a);
    *n = (size_t)rows;
    return v;
}
