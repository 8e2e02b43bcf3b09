/* Reads and cancellation of scheduled state changes, and reads of outbox messages, for
 * the dialects; scoped to the caller's organisation. A malformed id is "not found",
 * exactly like a missing one.
 */
#include "roster/core.h"
#include "roster/util.h"

int roster_schedule_list(struct roster_ctx *ctx, const struct roster_query *q,
                         struct roster_schedule **out, size_t *n, struct roster_err *err)
{
    return roster_store_schedule_list(ctx->conn, ctx->org_id, q, ctx->arena, out, n, NULL, err);
}

int roster_schedule_get(struct roster_ctx *ctx, const char *id, struct roster_schedule *out,
                        struct roster_err *err)
{
    if (!roster_id_valid(id))
        return roster_err_set(err, ROSTER_ENOTFOUND, "scheduled change not found");
    return roster_store_schedule_get(ctx->conn, ctx->org_id, id, out, ctx->arena, err);
}

int roster_schedule_cancel(struct roster_ctx *ctx, const char *id, struct roster_err *err)
{
    if (!roster_id_valid(id))
        return roster_err_set(err, ROSTER_ENOTFOUND, "scheduled change not found");
    return roster_store_schedule_cancel(ctx->conn, ctx->org_id, id, roster_now_ms(), err);
}

int roster_schedule_next(struct roster_ctx *ctx, const char *const *ids, size_t nids,
                         struct roster_schedule **out, size_t *n, struct roster_err *err)
{
    return roster_store_schedule_next(ctx->conn, ctx->org_id, ids, nids, ctx->arena, out, n, err);
}

int roster_message_get(struct roster_ctx *ctx, const char *id, struct roster_message *out,
                       struct roster_err *err)
{
    return roster_store_message_get(ctx->conn, ctx->org_id, id, out, ctx->arena, err);
}
