/* PostgreSQL store: webhook endpoints (docs/webhooks.md). Small per-organisation rows read
 * through webhooks_org (org_num, num_id): the list is what every event costs, one index
 * read that finds nothing for an organisation without endpoints. Ending an endpoint (410
 * Gone, or removed) ends its waiting messages in the same transaction.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

#define WEBHOOK_COLS "id, url, secret, events, created_ms, disabled_ms, disabled_reason"

#define W(kind, field) PG_COL(kind, struct roster_webhook, field)
static const struct pg_col webhook_cols[] = {
    W(PG_BUF, id),         W(PG_STR, url),         W(PG_STR, secret),          W(PG_STR, events),
    W(PG_I64, created_ms), W(PG_I64, disabled_ms), W(PG_STR, disabled_reason),
};
#undef W
static const struct pg_rec webhook_rec =
    PG_REC(struct roster_webhook, webhook_cols, (long)offsetof(struct roster_webhook, org_id));

int pg_webhook_create(struct roster_conn *pc, const struct roster_webhook *w,
                      struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int code = pg_call_stmt(&q,
                            PG_WRITE(-1,
                                     "INSERT INTO webhooks (id, org_num, url, secret, events,"
                                     " created_ms) SELECT $1, o.num_id, $3, $4, $5, $6::bigint"
                                     " FROM orgs o WHERE o.id = $2",
                                     PG_S(w->id), PG_S(w->org_id), PG_S(w->url), PG_S(w->secret),
                                     PG_S(w->events), PG_I(w->created_ms)),
                            err);
    if (code)
        code = pg_insert_fail(q.res, code, "webhook", w->id, w->org_id, err);
    else if (pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", w->org_id);
    return pg_call_end(&q, code);
}

int pg_webhook_list(struct roster_conn *pc, const char *org_id, struct roster_arena *a,
                    struct roster_webhook **out, size_t *n, struct roster_err *err)
{
    int code;
    *out = pg_select(pg_conn_of(pc),
                     PG_STMT(PG_WEBHOOK_LIST,
                             "SELECT " WEBHOOK_COLS " FROM webhooks WHERE org_num ="
                             " (SELECT num_id FROM orgs WHERE id = $1) ORDER BY num_id",
                             PG_S(org_id)),
                     &webhook_rec, org_id, a, n, &code, err);
    return code;
}

int pg_webhook_get(struct roster_conn *pc, const char *org_id, const char *id,
                   struct roster_webhook *out, struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(-1,
                          "SELECT " WEBHOOK_COLS " FROM webhooks WHERE org_num ="
                          " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2",
                          PG_S(org_id), PG_S(id)),
                  &webhook_rec, org_id, out, a, "webhook", id, err);
}

int pg_webhook_end(struct roster_conn *pc, const char *org_id, const char *id, bool remove,
                   const char *reason, int64_t now_ms, struct roster_err *err)
{
    struct pg_call q;
    int code = pg_call_tx(&q, pg_conn_of(pc), err);
    if (code)
        return pg_call_end(&q, code);
    code = pg_call_stmt(
        &q,
        remove ? PG_STMT(-1,
                         "DELETE FROM webhooks WHERE org_num ="
                         " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2",
                         PG_S(org_id), PG_S(id))
               : PG_STMT(-1,
                         "UPDATE webhooks SET disabled_ms = coalesce(disabled_ms, $3::bigint),"
                         " disabled_reason = coalesce(disabled_reason, $4) WHERE org_num ="
                         " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2",
                         PG_S(org_id), PG_S(id), PG_I(now_ms), PG_S(reason)),
        err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "webhook \"%s\" not found", id);
    if (!code)
        code = pg_call_stmt(&q,
                            PG_STMT(-1,
                                    "UPDATE messages SET status = 'UNDELIVERABLE', reason = $3,"
                                    " lease_token = 0 WHERE status = 'ENQUEUED'"
                                    " AND channel = 'webhook' AND org_num ="
                                    " (SELECT num_id FROM orgs WHERE id = $1) AND recipient = $2",
                                    PG_S(org_id), PG_S(id), PG_S(reason)),
                            err);
    return pg_call_end(&q, pg_tx_finish(q.c, code, err));
}
