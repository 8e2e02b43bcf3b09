/* The store's front door: picks the backend for a URL (postgres:// and postgresql:// name a
 * PostgreSQL database, anything else is the path of a SQLite file) and defines the
 * roster_store_*() wrappers that callers use instead of the function table.
 */
#include <string.h>

#include "roster/metrics.h"
#include "roster/store.h"

int roster_store_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    *out = NULL;
    if (!url || !*url)
        return roster_err_set(err, ROSTER_EINVAL, "store url is empty");
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return roster_store_postgres.open(url, out, err);
    return roster_store_sqlite.open(url, out, err);
}

void roster_store_close(struct roster_store *st)
{
    if (st)
        st->m->close(st);
}

int roster_conn_open(struct roster_store *st, struct roster_conn **out, struct roster_err *err)
{
    return st->m->conn_open(st, out, err);
}

void roster_conn_close(struct roster_conn *c)
{
    if (c)
        c->m->conn_close(c);
}

/* One wrapper per method of roster/store_methods.def, as declared in store.h. Generated
 * rather than written out so that adding a method to the list is all it takes; the body
 * is picked by the return type (WRAP_int, WRAP_void): a method the backend leaves NULL is
 * ROSTER_EUNSUPPORTED, or does nothing when it returns nothing. A failure of the store's
 * own (busy, I/O, memory; not the caller's input) is counted for GET /metrics. */
#define WRAP_int(name, params, args)                                                               \
    int roster_store_##name params                                                                 \
    {                                                                                              \
        if (!c->m->name)                                                                           \
            return roster_err_set(err, ROSTER_EUNSUPPORTED, "store does not support " #name);      \
        int rc_ = c->m->name args;                                                                 \
        if (roster_metrics_is_store_error(rc_))                                                    \
            roster_metrics_store_error(rc_);                                                       \
        return rc_;                                                                                \
    }
#define WRAP_void(name, params, args)                                                              \
    void roster_store_##name params                                                                \
    {                                                                                              \
        if (c->m->name)                                                                            \
            c->m->name args;                                                                       \
    }
#define ROSTER_STORE_METHOD(ret, name, params, args) WRAP_##ret(name, params, args)
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args) /* written out above */
#include "roster/store_methods.def"
