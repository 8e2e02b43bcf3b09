/* PostgreSQL store: transactions. A method's own (BEGIN, or a SAVEPOINT inside the
 * caller's transaction: pg_tx_start/pg_tx_end, pg_write1) and the caller's (the begin,
 * commit and rollback methods); both record the list changes deferred to the commit and
 * forget those of what they roll back (pg_lists.c).
 */
#include <string.h>

#include "roster/store.h"
#include "store/postgres/pg_int.h"

/* Ends whatever transaction is open on c, without reconnecting: on a lost connection
 * the server has already rolled it back. */
static void abort_txn(struct pg_conn *c)
{
    c->method_txn = false;
    pg_list_txn_end(c, true);
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
}

int pg_tx_start(struct pg_conn *c, bool multi, struct roster_err *err)
{
    if (c->in_txn)
        return pg_exec(c, "SAVEPOINT roster_m", err);
    if (!multi)
        return 0;
    int code = pg_exec(c, "BEGIN", err);
    c->method_txn = code == 0;
    return code;
}

int pg_tx_end(struct pg_conn *c, bool multi, bool ok, struct roster_err *err)
{
    if (c->in_txn) {
        if (!ok)
            pg_list_txn_end(c, false); /* what it recorded is gone: record again from here */
        if (!ok && pg_exec(c, "ROLLBACK TO SAVEPOINT roster_m", NULL) != 0)
            return ROSTER_EIO;
        return pg_exec(c, "RELEASE SAVEPOINT roster_m", ok ? err : NULL);
    }
    if (!multi)
        return 0;
    if (!ok) {
        abort_txn(c);
        return 0;
    }
    int code = pg_list_flush(c, err);
    if (code) {
        abort_txn(c);
        return code;
    }
    code = pg_exec(c, "COMMIT", err); /* method_txn still set: COMMIT never reconnects */
    if (code)
        abort_txn(c);
    c->method_txn = false;
    pg_list_txn_end(c, true);
    return code;
}

int pg_write1(struct pg_conn *c, int id, const char *sql, const struct pg_args *p, PGresult **res,
              struct roster_err *err)
{
    *res = NULL;
    int code = pg_tx_start(c, false, err);
    if (code)
        return code;
    code = pg_run(c, id, sql, p, res, err);
    int end = pg_tx_end(c, false, code == 0, err);
    return code ? code : end;
}

int pg_call_write1(struct pg_call *q, int id, const char *sql, struct roster_err *err)
{
    PQclear(q->res);
    return pg_write1(q->c, id, sql, &q->p, &q->res, err);
}

int pg_begin(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "a transaction is already open");
    int code = pg_exec(c, "BEGIN", err);
    c->in_txn = code == 0;
    return code;
}

int pg_commit(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "no transaction is open");
    c->in_txn = false;
    if (PQtransactionStatus(c->db) == PQTRANS_INERROR) {
        abort_txn(c);
        return roster_err_set(err, ROSTER_EIO, "transaction was rolled back after an error");
    }
    c->in_txn = true; /* the deferred list record runs inside it */
    int flushed = pg_list_flush(c, err);
    c->in_txn = false;
    if (flushed) {
        abort_txn(c);
        return flushed;
    }
    /* COMMIT of a failed transaction answers "ROLLBACK" without an error; PQexec
     * directly: a commit never reconnects */
    PGresult *res = PQexec(c->db, "COMMIT");
    pg_list_txn_end(c, true);
    int code = 0;
    if (!pg_result_ok(res))
        code = pg_fail(c, res, err);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        code = roster_err_set(err, ROSTER_EIO, "transaction was rolled back");
    PQclear(res);
    if (code)
        abort_txn(c);
    return code;
}

void pg_rollback(struct roster_conn *pc)
{
    struct pg_conn *c = pg_conn_of(pc);
    c->in_txn = false;
    abort_txn(c);
}
