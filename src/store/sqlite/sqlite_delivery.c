/* SQLite store: outbox delivery (src/core/delivery.c). A claim is one UPDATE ... RETURNING
 * over the head of the partial index messages_due (the ENQUEUED messages in due order): it
 * moves the claimed rows' due_ms to the end of the lease, so the next claim skips them
 * without reading them, and gives them a lease token that their outcome must carry. One
 * SQLite file has one server (the embedded store is locked), so a lease only matters
 * across a crash: lease_reset_all makes claimed messages due again at the next start.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

/* Ends the transaction of sq_tx_start: commits when code is 0, else rolls back; the
 * method's result. */
static int tx_finish(struct sq_conn *c, int code, struct roster_err *err)
{
    if (code) {
        sq_tx_end(c, false, NULL);
        return code;
    }
    return sq_tx_end(c, true, err);
}

int sq_message_claim(struct roster_conn *pc, const char *channel, int64_t now_ms, int64_t lease_ms,
                     size_t max, struct roster_arena *a, struct roster_message **out, size_t *n,
                     struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    uint64_t r;
    roster_random(&r, sizeof(r));
    int64_t token = (int64_t)(r & INT64_MAX);
    token = token ? token : 1;
    struct roster_message *v = roster_arena_zalloc(a, max * sizeof(*v));
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    bool webhook = channel && strcmp(channel, "webhook") == 0;
    sqlite3_stmt *s = sq_stmt(c, webhook ? SQ_MSG_CLAIM_WEBHOOK : SQ_MSG_CLAIM, err);
    if (!s) {
        sq_tx_end(c, false, NULL);
        return err ? err->code : ROSTER_EIO;
    }
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int64(s, 2, now_ms + lease_ms);
    sqlite3_bind_int64(s, 3, token);
    sqlite3_bind_int64(s, 4, (int64_t)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        const unsigned char *org = sqlite3_column_text(s, 11);
        sq_message_row(s, (const char *)org, &v[k], a);
        v[k].channel = webhook ? "webhook" : "email";
        v[k++].lease_token = token;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    code = tx_finish(c, code, err);
    if (code)
        return code;
    *out = v;
    *n = k;
    return 0;
}

int sq_message_record(struct roster_conn *pc, const struct roster_message_outcome *o, size_t n,
                      size_t *recorded, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    size_t done = 0;
    if (recorded)
        *recorded = 0;
    if (n == 0)
        return 0;
    int code = sq_tx_start(c, err);
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_MSG_RECORD, err);
    if (!s)
        code = err ? err->code : ROSTER_EIO;
    for (size_t i = 0; !code && i < n; i++) {
        const struct roster_message_outcome *x = &o[i];
        bool sent = x->status && strcmp(x->status, "SENT") == 0;
        sq_bind_str(s, 1, x->id);
        sqlite3_bind_int64(s, 2, x->lease_token);
        sq_bind_str(s, 3, x->status ? x->status : "ENQUEUED");
        if (sent)
            sqlite3_bind_int64(s, 4, x->at_ms);
        else
            sqlite3_bind_null(s, 4);
        sq_bind_str(s, 5, x->reason);
        sqlite3_bind_int64(s, 6, x->attempted ? 1 : 0);
        sqlite3_bind_int64(s, 7, x->due_ms);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            done += (size_t)sqlite3_changes(c->db);
        else
            code = sq_fail(c, rc, err);
        sqlite3_reset(s);
    }
    code = tx_finish(c, code, err);
    if (!code && recorded)
        *recorded = done;
    return code;
}
