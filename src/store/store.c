/* Picks the store backend for a URL: postgres:// and postgresql:// name a PostgreSQL
 * database, anything else is the path of a SQLite file.
 */
#include <string.h>

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

int roster_store_read_begin_noop(struct roster_conn *c, struct roster_err *err)
{
    (void)c;
    (void)err;
    return 0;
}

void roster_store_read_end_noop(struct roster_conn *c)
{
    (void)c;
}
