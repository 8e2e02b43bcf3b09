/* The outbox from core's side (include/roster/delivery.h): the one door through which core
 * writes messages (core_outbox_add, src/core/worker.h), so that whichever transaction
 * committed them wakes the delivery workers of this process at once, whatever wrote them
 * (a Courier job's chunk, a scheduled activation e-mail, an event); and the operator's
 * list and retry (roster outbox, the admin routes).
 *
 * Messages written on a thread are counted in a thread-local counter until that thread's
 * transaction ends (each store connection belongs to one thread): core_outbox_end(true)
 * after a commit wakes the workers if the count is not zero, core_outbox_end(false) after
 * a rollback forgets it. A wake is only a hint: the workers also poll (messages of other
 * processes, retries that come due).
 */
#include <string.h>

#include "core/worker.h"
#include "roster/delivery.h"
#include "roster/store.h"
#include "roster/util.h"

static _Thread_local size_t written; /* messages written in this thread's transaction */

int core_outbox_add(struct roster_conn *conn, struct roster_message *m, size_t n,
                    struct roster_err *err)
{
    int rc = n == 1 ? roster_store_message_create(conn, m, err)
                    : roster_store_message_create_many(conn, m, n, err);
    if (rc == 0)
        written += n;
    return rc;
}

void core_outbox_end(bool committed)
{
    if (committed && written)
        roster_delivery_notify();
    written = 0;
}

int roster_outbox_list(struct roster_ctx *ctx, const char *status, const char *after, long limit,
                       struct roster_message **out, size_t *n, struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    if (status && strcmp(status, "ENQUEUED") != 0 && strcmp(status, "SENT") != 0 &&
        strcmp(status, "UNDELIVERABLE") != 0)
        return roster_err_set(err, ROSTER_EINVAL,
                              "status \"%.40s\" is not one of ENQUEUED, SENT, UNDELIVERABLE",
                              status);
    if (limit < 1 || limit > ROSTER_OUTBOX_LIST_MAX)
        return roster_err_set(err, ROSTER_EINVAL, "limit %ld is not between 1 and %d", limit,
                              ROSTER_OUTBOX_LIST_MAX);
    if (after && strlen(after) >= ROSTER_MESSAGE_ID_MAX)
        return roster_err_set(err, ROSTER_EINVAL, "\"%.80s\" is not a message id", after);
    return roster_store_message_list(ctx->conn, ctx->org_id, status, after, (size_t)limit,
                                     ctx->arena, out, n, err);
}

int roster_outbox_retry(struct roster_ctx *ctx, const char *id, struct roster_message *out,
                        struct roster_err *err)
{
    if (!id || !id[0] || strlen(id) >= ROSTER_MESSAGE_ID_MAX)
        return roster_err_set(err, ROSTER_ENOTFOUND, "message \"%.80s\" not found", id ? id : "");
    int rc = roster_store_message_retry(ctx->conn, ctx->org_id, id, roster_now_ms(), out,
                                        ctx->arena, err);
    if (rc == 0)
        roster_delivery_notify();
    return rc;
}
