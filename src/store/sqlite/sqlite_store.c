/* The SQLite store backend's method table (include/roster/store_methods.def): each method
 * is sq_<method>, declared in sqlite_int.h. Opening and connections are in sqlite_open.c
 * (sq_open below hands it this table, so that sqlite_open.c needs nothing from this file),
 * statements and transactions in sqlite_conn.c, the methods one file per area.
 */
#include "roster/store.h"
#include "store/sqlite/sqlite_int.h"

int sq_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    return sq_open_store(&roster_store_sqlite, url, out, err);
}

const struct roster_store_methods roster_store_sqlite = {
    .version = ROSTER_STORE_VERSION,
    .name = "sqlite",
    .flags = ROSTER_STORE_EMBEDDED,
#define ROSTER_STORE_METHOD(ret, method, params, args) .method = sq_##method,
#include "roster/store_methods.def"
};
