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

int roster_store_user_list_render_generic(struct roster_conn *c, const char *org_id,
                                          const struct roster_query *q,
                                          const struct roster_user_render *rd, const char *sep,
                                          struct roster_buf *out, struct roster_arena *a, size_t *n,
                                          int64_t *total, struct roster_err *err)
{
    *n = 0;
    if (q->nsorts || (q->search && q->search[0]))
        return roster_err_set(err, ROSTER_EINVAL,
                              "a rendered list is in id order: no sorts, "
                              "no search");
    struct roster_user *users = NULL;
    size_t len = 0;
    int code = roster_store_user_list(c, org_id, q, a, &users, &len, total, err);
    if (code)
        return code;
    for (size_t i = 0; i < len; i++) {
        /* what the renderer gets is what the contract promises, on every backend */
        struct roster_user *u = &users[i];
        for (int f = 0; f < RU_NFIELDS; f++)
            if (!((rd->fields >> f) & 1u))
                u->f[f] = NULL;
        u->created_ms = u->modified_ms = u->version = 0;
        u->set = 0;
        if (i && sep)
            roster_buf_addstr(out, sep);
        rd->render(u, out, a);
    }
    *n = len;
    return 0;
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
