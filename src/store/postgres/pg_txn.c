/* PostgreSQL store: transactions. A method's own (BEGIN, or a SAVEPOINT inside the
 * caller's transaction: pg_tx_start/pg_tx_end, pg_write1) and the caller's (the begin,
 * commit and rollback methods); both record the list changes deferred to the commit and
 * forget those of what they roll back (pg_lists.c).
 */
#include <string.h>

#include "roster/store.h"
#include "store/postgres/pg_int.h"

/* Ends whatever transaction is open on c (the caller's or a method's), without
 * reconnecting: on a lost connection the server has already rolled it back. */
static void abort_txn(struct pg_conn *c)
{
    c->in_txn = false;
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

int pg_call_tx(struct pg_call *q, struct pg_conn *c, struct roster_err *err)
{
    pg_call_init(q, c, NULL);
    return pg_tx_start(c, true, err);
}

int pg_tx_finish(struct pg_conn *c, int code, struct roster_err *err)
{
    int end = pg_tx_end(c, true, code == 0, code ? NULL : err);
    return code ? code : end;
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

/* The caller's transaction as begin (open: false) and commit (open: true) need it:
 * ROSTER_EINVAL when it is not. */
static int caller_txn(const struct pg_conn *c, bool open, struct roster_err *err)
{
    if (c->in_txn == open)
        return 0;
    return roster_err_set(err, ROSTER_EINVAL,
                          open ? "no transaction is open" : "a transaction is already open");
}

int pg_begin(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    int code = caller_txn(c, false, err);
    if (!code)
        code = pg_exec(c, "BEGIN", err);
    if (!code)
        c->in_txn = true;
    return code;
}

int pg_commit(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    int code = caller_txn(c, true, err);
    if (code)
        return code;
    if (PQtransactionStatus(c->db) == PQTRANS_INERROR) {
        abort_txn(c);
        return roster_err_set(err, ROSTER_EIO, "transaction was rolled back after an error");
    }
    code = pg_list_flush(c, err); /* the deferred list record, inside the transaction */
    c->in_txn = false;
    if (code) {
        abort_txn(c);
        return code;
    }
    /* COMMIT of a failed transaction answers "ROLLBACK" without an error; PQexec
     * directly: a commit never reconnects */
    PGresult *res = PQexec(c->db, "COMMIT");
    pg_list_txn_end(c, true);
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
    abort_txn(pg_conn_of(pc));
}
