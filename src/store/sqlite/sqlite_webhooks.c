/* SQLite store: webhook endpoints (docs/webhooks.md). Small per-organisation rows read
 * through webhooks_org (org_num, num_id): the list is what every event costs, one index
 * read that finds nothing for an organisation without endpoints. Ending an endpoint (410
 * Gone, or removed) ends its waiting messages in the same transaction.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define WEBHOOK_COLS "id, url, secret, events, created_ms, disabled_ms, disabled_reason"

static void read_webhook(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    struct roster_webhook *w = row;
    memset(w, 0, sizeof(*w));
    sq_col_id(s, 0, w->id);
    snprintf(w->org_id, sizeof(w->org_id), "%s", org_id ? (const char *)org_id : "");
    w->url = sq_col_str(s, 1, a);
    w->secret = sq_col_str(s, 2, a);
    w->events = sq_col_str(s, 3, a);
    w->created_ms = sqlite3_column_int64(s, 4);
    w->disabled_ms = sqlite3_column_int64(s, 5);
    w->disabled_reason = sq_col_str(s, 6, a);
}

int sq_webhook_create(struct roster_conn *pc, const struct roster_webhook *w,
                      struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, w->org_id, &org_num, "organization", w->org_id, err);
    if (code)
        return code;
    const struct sq_item it = {"webhook", w->id, w->org_id};
    return sq_write(c,
                    "INSERT INTO webhooks (id, org_num, url, secret, events, created_ms)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    SQ_ARGS(SQ_TEXT(w->id), SQ_INT(org_num), SQ_TEXT(w->url), SQ_TEXT(w->secret),
                            SQ_TEXT(w->events), SQ_INT(w->created_ms)),
                    sq_insert_fail, &it, err);
}

int sq_webhook_list(struct roster_conn *pc, const char *org_id, struct roster_arena *a,
                    struct roster_webhook **out, size_t *n, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0; /* an unknown organisation has none */
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_WEBHOOK_LIST, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    void *v = NULL;
    code = sq_rows(c, s, sizeof(**out), read_webhook, org_id, a, &v, n, err);
    sqlite3_reset(s);
    if (!code)
        *out = v;
    return code;
}

int sq_webhook_get(struct roster_conn *pc, const char *org_id, const char *id,
                   struct roster_webhook *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, "SELECT " WEBHOOK_COLS " FROM webhooks WHERE org_num = ?1 AND id = ?2",
                          &s, err);
    if (!code)
        code = sq_org_row(c, s, org_id, "webhook", id, read_webhook, out, a, err);
    sqlite3_finalize(s);
    return code;
}

int sq_webhook_end(struct roster_conn *pc, const char *org_id, const char *id, bool remove,
                   const char *reason, int64_t now_ms, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "webhook", id, err);
    if (code)
        return code;
    code = sq_tx_start(c, err);
    if (code)
        return code;
    code = remove
               ? sq_update(c, "DELETE FROM webhooks WHERE org_num = ?1 AND id = ?2",
                           SQ_ARGS(SQ_INT(org_num), SQ_TEXT(id)), "webhook", id, err)
               : sq_update(c,
                           "UPDATE webhooks SET disabled_ms = coalesce(disabled_ms, ?3),"
                           " disabled_reason = coalesce(disabled_reason, ?4)"
                           " WHERE org_num = ?1 AND id = ?2",
                           SQ_ARGS(SQ_INT(org_num), SQ_TEXT(id), SQ_INT(now_ms), SQ_TEXT(reason)),
                           "webhook", id, err);
    /* the waiting ones, through the channel's due index (a claimed one's outcome then
     * finds it no longer ENQUEUED and records nothing) */
    if (!code)
        code = sq_write(c,
                        "UPDATE messages INDEXED BY messages_due"
                        " SET status = 'UNDELIVERABLE', reason = ?3, lease_token = 0"
                        " WHERE channel = 'webhook' AND status = 'ENQUEUED' AND org_num = ?1"
                        " AND recipient = ?2",
                        SQ_ARGS(SQ_INT(org_num), SQ_TEXT(id), SQ_TEXT(reason)), NULL, NULL, err);
    if (code) {
        sq_tx_end(c, false, NULL);
        return code;
    }
    return sq_tx_end(c, true, err);
}
