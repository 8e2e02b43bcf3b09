/* Groups (Voximplant applications, skills and ACD queues) and their members, for the
 * dialects: every call is scoped to the caller's organisation, and a delete of several
 * groups is one transaction.
 */
#include "core/tx.h"

int roster_group_list(struct roster_ctx *ctx, const struct roster_group_query *q,
                      struct roster_group **out, size_t *n, int64_t *total, struct roster_err *err)
{
    return roster_store_group_list(ctx->conn, ctx->org_id, q, ctx->arena, out, n, total, err);
}

int roster_group_create(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err)
{
    return roster_store_group_create(ctx->conn, ctx->org_id, g, err);
}

int roster_group_update(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err)
{
    return roster_store_group_update(ctx->conn, ctx->org_id, g, err);
}

int roster_groups_delete(struct roster_ctx *ctx, int kind, const int64_t *ids, size_t n,
                         struct roster_err *err)
{
    int rc = roster_store_begin(ctx->conn, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = roster_store_group_delete(ctx->conn, ctx->org_id, kind, ids[i], err);
        if (rc == ROSTER_ENOTFOUND && kind == ROSTER_GROUP_QUEUE)
            rc = 0; /* a queue that went with its application earlier in this list */
    }
    return core_tx_end(ctx, rc, err);
}

int roster_group_bind(struct roster_ctx *ctx, const int64_t *groups, size_t ng,
                      const int64_t *users, size_t nu, bool bind, struct roster_err *err)
{
    return roster_store_group_bind(ctx->conn, ctx->org_id, groups, ng, users, nu, bind, err);
}

int roster_group_memberships(struct roster_ctx *ctx, const int64_t *users, size_t nu, int kind,
                             struct roster_membership **out, size_t *n, struct roster_err *err)
{
    return roster_store_group_memberships(ctx->conn, ctx->org_id, users, nu, kind, ctx->arena, out,
                                          n, err);
}
