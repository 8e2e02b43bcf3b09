/* A scan of every user of a list in one snapshot (include/roster/list.h), for `roster
 * export`: the store's keyset pages (user_page after the last id read) inside one
 * snapshot_begin/snapshot_end, so memory is one page whatever the number of users and the
 * rows are one consistent state of the organisation while writes go on (SQLite: one read
 * transaction; PostgreSQL: REPEATABLE READ, READ ONLY).
 */
#include <string.h>

#include "roster/core.h"
#include "roster/list.h"
#include "roster/store.h"

int roster_users_scan(struct roster_ctx *ctx, const struct roster_query *q, size_t page_size,
                      int64_t *total, roster_users_scan_fn fn, void *arg, struct roster_err *err)
{
    if (q->nsorts != 0)
        return roster_err_set(err, ROSTER_EINVAL, "a scan is in id order: no sort keys");
    if (page_size == 0)
        page_size = ROSTER_SCAN_PAGE_DEFAULT;
    struct roster_conn *c = ctx->conn;
    bool began = false;
    int code = roster_store_snapshot_begin(c, &began, err);
    if (code)
        return code;
    if (total) {
        *total = -1;
        code = roster_store_user_count(c, ctx->org_id, q, total, NULL, err);
    }
    /* two arenas in turn: a page is read into one while the last row of the page before
     * (the keyset's `after`) still lives in the other */
    struct roster_arena ar[2];
    roster_arena_init(&ar[0], 0);
    roster_arena_init(&ar[1], 0);
    const struct roster_user *after = NULL;
    for (int turn = 0; !code; turn ^= 1) {
        roster_arena_clear(&ar[turn]);
        struct roster_user *rows = NULL;
        size_t n = 0;
        code = roster_store_user_page(c, ctx->org_id, q, after, 0, (int64_t)page_size, &ar[turn],
                                      &rows, &n, NULL, err);
        if (code || n == 0)
            break;
        code = fn(arg, rows, n, err);
        if (code || n < page_size)
            break;
        after = &rows[n - 1];
    }
    roster_store_snapshot_end(c, began);
    roster_arena_release(&ar[0]);
    roster_arena_release(&ar[1]);
    return code;
}
