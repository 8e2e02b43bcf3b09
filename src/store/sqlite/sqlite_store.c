/* The SQLite store backend's method table (include/roster/store_methods.def): each method
 * is sq_<method>, declared in sqlite_int.h. Opening and connections are in sqlite_open.c,
 * statements and transactions in sqlite_conn.c, the methods one file per area.
 */
#include "roster/store.h"
#include "store/sqlite/sqlite_int.h"

const struct roster_store_methods roster_store_sqlite = {
    .version = ROSTER_STORE_VERSION,
    .name = "sqlite",
    .flags = ROSTER_STORE_EMBEDDED,
#define ROSTER_STORE_METHOD(ret, method, params, args) .method = sq_##method,
#include "roster/store_methods.def"
};
