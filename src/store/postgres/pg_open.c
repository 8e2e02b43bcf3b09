/* PostgreSQL store: opening (schema migrations under an advisory lock, so that several
 * processes may start at once) and connections, one PGconn each: the close, conn_open and
 * conn_close methods, and the open method for pg_store.c, which passes its table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/log.h"
#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

/* key of the advisory lock that serialises migrations ("roster" in ASCII) */
#define PG_MIGRATE_LOCK 0x726f73746572LL

static int connect_db(const char *url, PGconn **out, struct roster_err *err)
{
    PGconn *db = pg_session_open(url);
    *out = NULL;
    if (!db)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    if (PQstatus(db) != CONNECTION_OK) {
        roster_err_set(err, ROSTER_EIO, "cannot connect to the postgres store");
        roster_err_detail(err, "postgres: %s", PQerrorMessage(db));
        PQfinish(db);
        return err ? err->code : ROSTER_EIO;
    }
    *out = db;
    return 0;
}

/* Runs migration m (version v) and records it in schema_version. */
static int apply(void *ctx, const struct roster_store_migration *m, int64_t v,
                 struct roster_err *err)
{
    struct pg_conn *c = ctx;
    int code = pg_exec(c, m->sql, err);
    if (code) {
        roster_err_detail(err, "%s: %s", m->name, PQerrorMessage(c->db));
        return code;
    }
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    code = pg_call_stmt(&q,
                        PG_STMT(-1,
                                "INSERT INTO schema_version (version, name, applied_ms)"
                                " VALUES ($1, $2, $3)",
                                PG_I(v), PG_S(m->name), PG_I(roster_now_ms())),
                        err);
    return pg_call_end(&q, code);
}

/* Applies every embedded migration newer than the database's schema_version,
 * all in one transaction under an advisory lock, so that processes starting
 * together apply them once. */
static int migrate(struct pg_conn *c, struct roster_err *err)
{
    PGresult *res = NULL;
    int code = pg_tx_start(c, true, err);
    if (code)
        return code;
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
    if (!code)
        code = roster_store_migrate(roster_pg_migrations, pg_col_int(res, 0, 0), apply, c, err);
    PQclear(res);
    return pg_tx_finish(c, code, err);
}

int pg_open_store(const struct roster_store_methods *m, const char *url, struct roster_store **out,
                  struct roster_err *err)
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
    st->pub.m = m;
    pg_analyze_init(st);
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

void pg_close(struct roster_store *pst)
{
    struct pg_store *st = (struct pg_store *)pst;
    if (!st)
        return;
    pg_analyze_stop(st);
    free(st->url);
    free(st);
}

int pg_conn_open(struct roster_store *pst, struct roster_conn **out, struct roster_err *err)
{
    struct pg_conn *c = calloc(1, sizeof(*c));
    /* The store was reachable at open (migrations ran). A server that cannot be reached
     * now (restarting) does not fail the connection: its first statement connects again,
     * so a worker thread opened during an outage recovers instead of giving up. */
    PGconn *db = c ? pg_session_open(((struct pg_store *)pst)->url) : NULL;
    *out = NULL;
    if (!db) {
        free(c);
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    }
    c->db = db;
    if (PQstatus(c->db) != CONNECTION_OK)
        roster_log(ROSTER_LOG_WARN, "cannot connect to the store now; retrying on first use",
                   "detail=\"%s\"", PQerrorMessage(c->db));
    c->pub.m = pst->m;
    c->pub.st = pst;
    *out = &c->pub;
    return 0;
}

void pg_conn_close(struct roster_conn *pc)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!c)
        return;
    PQfinish(c->db); /* the server rolls back an open transaction */
    pg_dyn_forget(c);
    free(c);
}
