/* Private to src/core: the end of a transaction that core began on ctx's connection. */
#ifndef ROSTER_CORE_TX_H
#define ROSTER_CORE_TX_H

#include "core/worker.h"
#include "roster/core.h"

/* Commits when rc is 0, else rolls back; returns the outcome. Messages written in the
 * transaction wake the delivery workers once it committed (core_outbox_end). */
static inline int core_tx_end(struct roster_ctx *ctx, int rc, struct roster_err *err)
{
    if (rc == 0)
        rc = roster_store_commit(ctx->conn, err);
    else
        roster_store_rollback(ctx->conn);
    core_outbox_end(rc == 0);
    return rc;
}

#endif
