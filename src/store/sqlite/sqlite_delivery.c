/* SQLite store: outbox delivery (src/core/delivery.c). A claim is one UPDATE ... RETURNING
 * over the head of the partial index messages_due (the ENQUEUED messages in due order): it
 * moves the claimed rows' due_ms to the end of the lease, so the next claim skips them
 * without reading them, and gives them a lease token that their outcome must carry. One
 * SQLite file has one server (the embedded store is locked), so a lease only matters
 * across a crash: lease_reset_all makes claimed messages due again at the next start.
 * Each channel claims only its own messages (messages_due is by channel, then due time).
 * `roster outbox` lists an organisation's messages newest first by id (messages_org_id, or
 * the partial messages_undeliverable) and retries one.
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
    sqlite3_stmt *s = sq_stmt(c, SQ_MSG_CLAIM, err);
    if (!s) {
        sq_tx_end(c, false, NULL);
        return err ? err->code : ROSTER_EIO;
    }
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int64(s, 2, now_ms + lease_ms);
    sqlite3_bind_int64(s, 3, token);
    sqlite3_bind_int64(s, 4, (int64_t)max);
    sq_bind_str(s, 5, channel ? channel : "email");
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        const unsigned char *org = sqlite3_column_text(s, 13);
        sq_message_row(s, (const char *)org, &v[k], a);
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

int sq_message_list(struct roster_conn *pc, const char *org_id, const char *status,
                    const char *after, size_t limit, struct roster_arena *a,
                    struct roster_message **out, size_t *n, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "organization", org_id, err);
    if (code || limit == 0)
        return code;
    int which = !status                                ? SQ_MSG_LIST
                : strcmp(status, "UNDELIVERABLE") == 0 ? SQ_MSG_LIST_UNDELIVERABLE
                                                       : SQ_MSG_LIST_STATUS;
    sqlite3_stmt *s = sq_stmt(c, which, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    struct roster_message *v = roster_arena_zalloc(a, limit * sizeof(*v));
    sqlite3_bind_int64(s, 1, org_num);
    /* every id sorts below "~" (ids are hex, digits and dashes) */
    sq_bind_str(s, 2, after && after[0] ? after : "~");
    sqlite3_bind_int64(s, 3, (int64_t)limit);
    if (which == SQ_MSG_LIST_STATUS)
        sq_bind_str(s, 4, status);
    size_t k = 0;
    int rc;
    while (k < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        sq_message_row(s, org_id, &v[k++], a);
    if (k < limit && rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    if (code)
        return code;
    *out = v;
    *n = k;
    return 0;
}

int sq_message_retry(struct roster_conn *pc, const char *org_id, const char *id, int64_t now_ms,
                     struct roster_message *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct roster_message cur;
    struct roster_arena own;
    roster_arena_init(&own, 0);
    int code = sq_tx_start(c, err);
    if (code)
        goto done;
    code = sq_message_get(pc, org_id, id, &cur, &own, err);
    if (!code && strcmp(cur.status, "SENT") == 0)
        code = roster_err_set(err, ROSTER_ECONFLICT,
                              "message \"%s\" was sent; only a waiting or undeliverable message "
                              "can be retried",
                              id);
    int64_t org_num = 0;
    if (!code)
        code = sq_org_num_for(c, org_id, &org_num, "organization", org_id, err);
    sqlite3_stmt *s = code ? NULL : sq_stmt(c, SQ_MSG_RETRY, err);
    if (!code && !s)
        code = err ? err->code : ROSTER_EIO;
    if (!code) {
        sqlite3_bind_int64(s, 1, org_num);
        sq_bind_str(s, 2, id);
        sqlite3_bind_int64(s, 3, now_ms);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
        else if (sqlite3_changes(c->db) == 0)
            code = roster_err_set(err, ROSTER_ECONFLICT,
                                  "message \"%s\" is being delivered right now; retry it "
                                  "after this attempt if it fails",
                                  id);
        sqlite3_reset(s);
    }
    if (!code && out)
        code = sq_message_get(pc, org_id, id, out, a ? a : &own, err);
    code = tx_finish(c, code, err);
done:
    roster_arena_release(&own);
    return code;
}
