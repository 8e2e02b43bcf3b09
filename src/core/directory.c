/* The organisation, key and read-span operations that dialects and the HTTP layer call:
 * each takes the caller's context and goes to the store, so that nothing above core
 * talks to the store itself.
 */
#include <string.h>

#include "roster/core.h"
#include "roster/util.h"

int roster_default_state(struct roster_ctx *ctx, enum roster_origin origin, int *state,
                         struct roster_err *err)
{
    struct roster_org org;
    int rc = roster_store_org_get(ctx->conn, ctx->org_id, &org, ctx->arena, err);
    if (rc)
        return rc;
    switch (origin) {
    case ROSTER_ORIGIN_BULK:
        *state = org.default_state_bulk;
        break;
    case ROSTER_ORIGIN_APP_IMPORT:
        *state = org.default_state_app_import;
        break;
    case ROSTER_ORIGIN_MANUAL:
    default:
        *state = org.default_state_manual;
        break;
    }
    return 0;
}

int roster_org_get(struct roster_ctx *ctx, const char *org_id, struct roster_org *out,
                   struct roster_err *err)
{
    return roster_store_org_get(ctx->conn, org_id, out, ctx->arena, err);
}

int roster_org_update(struct roster_ctx *ctx, const struct roster_org *org, struct roster_err *err)
{
    return roster_store_org_update(ctx->conn, org, err);
}

int roster_key_authenticate(struct roster_ctx *ctx, const char *secret, struct roster_key *out,
                            struct roster_err *err)
{
    char hash[65];
    roster_sha256_hex(secret, strlen(secret), hash);
    return roster_store_key_find(ctx->conn, hash, out, ctx->arena, err);
}

int roster_sa_key_get(struct roster_ctx *ctx, const char *kid, struct roster_sa_key *out,
                      struct roster_org *org, struct roster_err *err)
{
    int rc = roster_store_sa_key_find(ctx->conn, kid, out, ctx->arena, err);
    if (rc == 0)
        rc = roster_store_org_get(ctx->conn, out->org_id, org, ctx->arena, err);
    return rc;
}

int roster_app_conn_open(struct roster_app *app, struct roster_conn **out, struct roster_err *err)
{
    return roster_conn_open(app->store, out, err);
}

void roster_app_conn_close(struct roster_conn *c)
{
    roster_conn_close(c);
}

bool roster_read_begin(struct roster_ctx *ctx)
{
    struct roster_err err = {0};
    return roster_store_read_begin(ctx->conn, &err) == 0;
}

void roster_read_end(struct roster_ctx *ctx)
{
    roster_store_read_end(ctx->conn);
}

int roster_app_ping(struct roster_ctx *ctx, struct roster_err *err)
{
    return roster_store_ping(ctx->conn, err);
}
