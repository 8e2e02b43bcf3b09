/* PostgreSQL store: opening (schema migrations under an advisory lock, so that
 * several processes may start at once), connections (one PGconn each), prepared
 * statements, transactions and the mapping of PostgreSQL errors to roster
 * codes. Methods live in pg_orgs.c, pg_users.c, pg_jobs.c and pg_schedules.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

/* key of the advisory lock that serialises migrations ("roster" in ASCII) */
#define PG_MIGRATE_LOCK 0x726f73746572LL

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
    /* serialization failure, deadlock, lock not available, too many connections
     */
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
        !strcmp(state, "53300"))
        code = ROSTER_EBUSY;
    roster_err_set(err, code, code == ROSTER_EBUSY ? "store busy" : "store error");
    return roster_err_detail(err, "postgres %s: %s", state, msg);
}

static bool result_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int pg_run(struct pg_conn *c, int id, const char *sql, const struct pg_args *p, PGresult **res,
           struct roster_err *err)
{
    int n = p ? (int)p->n : 0;
    const char *const *v = p ? p->v : NULL;
    *res = NULL;
    if (id < 0) {
        *res = PQexecParams(c->db, sql, n, NULL, v, NULL, NULL, 0);
    } else {
        char name[16];
        snprintf(name, sizeof(name), "r%d", id);
        if (!c->prepared[id]) {
            PGresult *pr = PQprepare(c->db, name, sql, n, NULL);
            if (!result_ok(pr)) {
                int code = pg_fail(c, pr, err);
                *res = pr;
                return code;
            }
            PQclear(pr);
            c->prepared[id] = true;
        }
        *res = PQexecPrepared(c->db, name, n, v, NULL, NULL, 0);
    }
    if (result_ok(*res))
        return 0;
    return pg_fail(c, *res, err);
}

int pg_exec(struct pg_conn *c, const char *sql, struct roster_err *err)
{
    PGresult *res = PQexec(c->db, sql);
    int code = result_ok(res) ? 0 : pg_fail(c, res, err);
    PQclear(res);
    return code;
}

/* --- transactions --- */

int pg_tx_start(struct pg_conn *c, bool multi, struct roster_err *err)
{
    if (c->in_txn)
        return pg_exec(c, "SAVEPOINT roster_m", err);
    return multi ? pg_exec(c, "BEGIN", err) : 0;
}

int pg_tx_end(struct pg_conn *c, bool multi, bool ok, struct roster_err *err)
{
    if (c->in_txn) {
        if (!ok && pg_exec(c, "ROLLBACK TO SAVEPOINT roster_m", NULL) != 0)
            return ROSTER_EIO;
        return pg_exec(c, "RELEASE SAVEPOINT roster_m", ok ? err : NULL);
    }
    if (!multi)
        return 0;
    if (!ok) {
        pg_exec(c, "ROLLBACK", NULL);
        return 0;
    }
    int code = pg_exec(c, "COMMIT", err);
    if (code)
        pg_exec(c, "ROLLBACK", NULL);
    return code;
}

static int pg_begin(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "a transaction is already open");
    int code = pg_exec(c, "BEGIN", err);
    c->in_txn = code == 0;
    return code;
}

static int pg_commit(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "no transaction is open");
    c->in_txn = false;
    if (PQtransactionStatus(c->db) == PQTRANS_INERROR) {
        pg_exec(c, "ROLLBACK", NULL);
        return roster_err_set(err, ROSTER_EIO, "transaction was rolled back after an error");
    }
    /* COMMIT of a failed transaction answers "ROLLBACK" without an error */
    PGresult *res = PQexec(c->db, "COMMIT");
    int code = 0;
    if (!result_ok(res))
        code = pg_fail(c, res, err);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        code = roster_err_set(err, ROSTER_EIO, "transaction was rolled back");
    PQclear(res);
    if (code && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        pg_exec(c, "ROLLBACK", NULL);
    return code;
}

static void pg_rollback(struct roster_conn *pc)
{
    struct pg_conn *c = pg_conn_of(pc);
    c->in_txn = false;
    if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
        pg_exec(c, "ROLLBACK", NULL);
}

/* --- opening --- */

static int connect_db(const char *url, PGconn **out, struct roster_err *err)
{
    PGconn *db = PQconnectdb(url);
    *out = NULL;
    if (!db)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    if (PQstatus(db) != CONNECTION_OK) {
        roster_err_set(err, ROSTER_EIO, "cannot connect to the postgres store");
        roster_err_detail(err, "postgres: %s", PQerrorMessage(db));
        PQfinish(db);
        return err ? err->code : ROSTER_EIO;
    }
    PGresult *res = PQexec(db, "SET client_min_messages = warning");
    PQclear(res);
    *out = db;
    return 0;
}

/* Applies every embedded migration newer than the database's schema_version,
 * all in one transaction under an advisory lock, so that processes starting
 * together apply them once. */
static int migrate(struct pg_conn *c, struct roster_err *err)
{
    PGresult *res = NULL;
    struct roster_arena a;
    struct pg_args p;
    roster_arena_init(&a, 0);
    int code = pg_exec(c, "BEGIN", err);
    if (code)
        goto done;
    char lock[80];
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)", PG_MIGRATE_LOCK);
    code = pg_exec(c, lock, err);
    if (!code)
        code = pg_exec(c,
                       "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY,"
                       " name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
                       err);
    if (!code)
        code =
            pg_run(c, -1, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, &res, err);
    if (code)
        goto fail;
    int64_t current = pg_col_int(res, 0, 0);
    PQclear(res);
    res = NULL;
    int64_t newest = 0;
    for (const struct roster_pg_migration *m = roster_pg_migrations; m->name; m++) {
        int64_t v = strtoll(m->name, NULL, 10);
        if (v > newest)
            newest = v;
        if (v <= current)
            continue;
        code = pg_exec(c, m->sql, err);
        if (code) {
            roster_err_detail(err, "%s: %s", m->name, PQerrorMessage(c->db));
            goto fail;
        }
        pg_args_init(&p, &a);
        pg_arg_int(&p, v);
        pg_arg_str(&p, m->name);
        pg_arg_int(&p, roster_now_ms());
        code = pg_run(c, -1,
                      "INSERT INTO schema_version (version, name, applied_ms)"
                      " VALUES ($1, $2, $3)",
                      &p, &res, err);
        PQclear(res);
        res = NULL;
        if (code)
            goto fail;
    }
    if (current > newest) {
        code = roster_err_set(err, ROSTER_EIO,
                              "store schema version %lld is newer than this roster (%lld)",
                              (long long)current, (long long)newest);
        goto fail;
    }
    code = pg_exec(c, "COMMIT", err);
    goto done;
fail:
    PQclear(res);
    pg_exec(c, "ROLLBACK", NULL);
done:
    roster_arena_release(&a);
    return code;
}

static int pg_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    struct pg_conn boot = {0};
    struct pg_store *st = NULL;
    *out = NULL;
    int code = connect_db(url, &boot.db, err);
    if (code)
        goto fail;
    code = migrate(&boot, err);
    if (code)
        goto fail;
    st = calloc(1, sizeof(*st));
    if (!st || !(st->url = strdup(url))) {
        code = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto fail;
    }
    st->pub.m = &roster_store_postgres;
    PQfinish(boot.db);
    *out = &st->pub;
    return 0;
fail:
    if (st)
        free(st->url);
    free(st);
    if (boot.db)
        PQfinish(boot.db);
    return code;
}

static void pg_close(struct roster_store *pst)
{
    struct pg_store *st = (struct pg_store *)pst;
    if (!st)
        return;
    free(st->url);
    free(st);
}

static int pg_conn_open(struct roster_store *pst, struct roster_conn **out, struct roster_err *err)
{
    struct pg_store *st = (struct pg_store *)pst;
    *out = NULL;
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int code = connect_db(st->url, &c->db, err);
    if (code) {
        free(c);
        return code;
    }
    c->pub.m = &roster_store_postgres;
    c->pub.st = pst;
    *out = &c->pub;
    return 0;
}

static void pg_conn_close(struct roster_conn *pc)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!c)
        return;
    PQfinish(c->db); /* the server rolls back an open transaction */
    free(c);
}

const struct roster_store_methods roster_store_postgres = {
    .version = ROSTER_STORE_VERSION,
    .name = "postgres",
    .flags = ROSTER_STORE_MULTI_NODE,
    .open = pg_open,
    .close = pg_close,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .org_create = pg_org_create,
    .org_get = pg_org_get,
    .org_list = pg_org_list,
    .org_update = pg_org_update,
    .key_create = pg_key_create,
    .key_find = pg_key_find,
    .key_list = pg_key_list,
    .key_revoke = pg_key_revoke,
    .user_create = pg_user_create,
    .user_get = pg_user_get,
    .user_update = pg_user_update,
    .user_delete = pg_user_delete,
    .user_list = pg_user_list,
    .job_create = pg_job_create,
    .job_get = pg_job_get,
    .chunk_claim = pg_chunk_claim,
    .chunk_complete = pg_chunk_complete,
    .chunk_renew = pg_chunk_renew,
    .job_results = pg_job_results,
    .lease_reset_all = pg_lease_reset_all,
    .schedule_create = pg_schedule_create,
    .schedule_list = pg_schedule_list,
    .schedule_get = pg_schedule_get,
    .schedule_cancel = pg_schedule_cancel,
    .schedule_next = pg_schedule_next,
    .schedule_claim_due = pg_schedule_claim_due,
    .schedule_finish = pg_schedule_finish,
    .schedule_next_due = pg_schedule_next_due,
    .message_create = pg_message_create,
    .message_get = pg_message_get,
    .sa_key_create = pg_sa_key_create,
    .sa_key_find = pg_sa_key_find,
    .sa_key_revoke = pg_sa_key_revoke,
    .group_create = pg_group_create,
    .group_list = pg_group_list,
    .group_update = pg_group_update,
    .group_delete = pg_group_delete,
    .group_bind = pg_group_bind,
    .group_memberships = pg_group_memberships,
    .user_list_grouped = pg_user_list_grouped,
    .user_secret_set = pg_user_secret_set,
    .user_secret_get = pg_user_secret_get,
};
