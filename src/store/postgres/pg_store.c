/* The PostgreSQL store backend's method table (include/roster/store_methods.def): each
 * method is pg_<method>, declared in pg_int.h. Opening and connections are in pg_open.c
 * (pg_open below hands it this table, so that pg_open.c needs nothing from this file),
 * statements in pg_conn.c, transactions in pg_txn.c, the methods one file per area.
 */
#include "roster/store.h"
#include "store/postgres/pg_int.h"

int pg_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    return pg_open_store(&roster_store_postgres, url, out, err);
}

/* Each read has its own snapshot: a read span does nothing here. A method a backend does
 * not support at all is defined as NULL the same way (its wrapper then answers
 * ROSTER_EUNSUPPORTED); the prototypes in pg_int.h come before, so they are unaffected. */
#define pg_read_begin roster_store_read_begin_noop
#define pg_read_end roster_store_read_end_noop

const struct roster_store_methods roster_store_postgres = {
    .version = ROSTER_STORE_VERSION,
    .name = "postgres",
    .flags = ROSTER_STORE_MULTI_NODE,
#define ROSTER_STORE_METHOD(ret, method, params, args) .method = pg_##method,
#include "roster/store_methods.def"
};
