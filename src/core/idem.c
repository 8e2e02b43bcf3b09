/* Idempotency keys in core (include/roster/idem.h, docs/idempotency.md): the request hash,
 * the key's expiry, and the two steps every _idem operation takes around its effect.
 *
 * DESIGN
 * - Before the effect, core_idem_find: a live key of the same request replays it (the
 *   operation fills its outputs from the stored result and does nothing else), one of
 *   another request is a conflict, none lets the operation run.
 * - The effect: core_idem_stage hands the store a record (key, hash, the effect's result:
 *   the ids the operation chose before writing) that the store writes in the effect's own
 *   transaction, so the key exists exactly when the effect does.
 * - Two requests with one key that both found nothing: the store serialises them on the
 *   key (SQLite: the file's write lock; PostgreSQL: the primary key), the second one's
 *   effect writes nothing and answers a conflict on ROSTER_IDEM_FIELD (core_idem_settle),
 *   and the operation looks again and replays the first.
 */
#include <stdio.h>
#include <string.h>

#include "core/idem.h"
#include "roster/util.h"

void roster_idem_hash(struct roster_idem *idem, const char *const *parts, size_t nparts,
                      const char *body, size_t body_len)
{
    struct roster_buf b;
    roster_buf_init(&b);
    /* each part as "<length>:<bytes>" ("-" when absent), so that no two requests hash the
     * same text */
    roster_buf_printf(&b, "%zu:%s", strlen(idem->scope), idem->scope);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i])
            roster_buf_printf(&b, "%zu:%s", strlen(parts[i]), parts[i]);
        else
            roster_buf_addch(&b, '-');
    }
    roster_buf_printf(&b, "%zu:", body_len);
    if (body_len)
        roster_buf_add(&b, body, body_len);
    roster_sha256_hex(b.data ? b.data : "", b.len, idem->hash);
    roster_buf_release(&b);
}

int64_t roster_idem_expiry(int64_t now_ms, int64_t ttl_s, int64_t asked_ms)
{
    if (ttl_s <= 0)
        ttl_s = ROSTER_IDEM_TTL_S_DEFAULT;
    if (ttl_s > ROSTER_IDEM_TTL_S_MAX)
        ttl_s = ROSTER_IDEM_TTL_S_MAX;
    int64_t least = now_ms + ttl_s * 1000, most = now_ms + ROSTER_IDEM_TTL_S_MAX * 1000;
    if (asked_ms < least)
        return least;
    return asked_ms > most ? most : asked_ms;
}

static int64_t ttl_s(const struct roster_ctx *ctx)
{
    return ctx->app ? ctx->app->cfg.idempotency_ttl_s : 0;
}

int core_idem_find(struct roster_ctx *ctx, struct roster_idem *idem, const char **result,
                   struct roster_err *err)
{
    struct roster_idem_rec rec;
    *result = NULL;
    idem->replayed = false;
    int rc = roster_store_idem_get(ctx->conn, ctx->org_id, idem->scope, idem->key, roster_now_ms(),
                                   &rec, ctx->arena, err);
    if (rc == ROSTER_ENOTFOUND) {
        roster_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    if (strcmp(rec.req_hash, idem->hash) != 0) {
        rc = roster_err_set(err, ROSTER_ECONFLICT,
                            "Idempotency-Key \"%.64s\" was already used with another request; "
                            "use a new key for a new request",
                            idem->key);
        if (err)
            err->field = ROSTER_IDEM_FIELD;
        return rc;
    }
    *result = rec.result;
    idem->replayed = true;
    return 0;
}

int core_idem_stage(struct roster_ctx *ctx, struct roster_idem *idem, const char *result,
                    struct roster_idem_rec *rec, struct roster_err *err)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->org_id, sizeof(rec->org_id), "%s", ctx->org_id);
    rec->scope = idem->scope;
    rec->key = idem->key;
    rec->req_hash = idem->hash;
    rec->result = result;
    rec->created_ms = roster_now_ms();
    rec->expires_ms = idem->expires_ms > rec->created_ms
                          ? idem->expires_ms
                          : roster_idem_expiry(rec->created_ms, ttl_s(ctx), 0);
    return roster_store_idem_stage(ctx->conn, rec, err);
}

int core_idem_settle(struct roster_ctx *ctx, struct roster_idem *idem, int rc, const char **result,
                     struct roster_err *err)
{
    *result = NULL;
    /* the effect consumed the stage; a wrapper that refused the call before the store saw
     * it (the fault store) did not: never leave a record of this frame staged */
    if (idem)
        roster_store_idem_stage(ctx->conn, NULL, NULL);
    if (!idem || rc != ROSTER_ECONFLICT || !err || !err->field ||
        strcmp(err->field, ROSTER_IDEM_FIELD) != 0)
        return rc;
    roster_err_clear(err);
    rc = core_idem_find(ctx, idem, result, err);
    if (rc == 0 && !*result)
        rc = roster_err_set(err, ROSTER_EBUSY,
                            "another request with Idempotency-Key \"%.64s\" is in progress, "
                            "try again",
                            idem->key);
    return rc;
}
