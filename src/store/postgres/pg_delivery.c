/* PostgreSQL store: outbox delivery (src/core/delivery.c). Several roster processes may
 * deliver one outbox: a claim locks the head of messages_due (the ENQUEUED messages in
 * due order) with FOR UPDATE SKIP LOCKED, as job chunk claims do, so concurrent claims
 * take different messages without waiting for each other, and moves the claimed rows'
 * due_ms to the end of the lease with a new lease token. An outcome is written only where
 * its token still holds: a process whose lease expired (and whose messages another took)
 * records nothing. Outcomes of a batch are one statement over unnest'ed arrays. Each
 * channel claims only its own messages (messages_due is by channel, then due time).
 * `roster outbox` lists an organisation's messages newest first by id (messages_org_id, or
 * the partial messages_undeliverable) and retries one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

int pg_message_claim(struct roster_conn *pc, const char *channel, int64_t now_ms, int64_t lease_ms,
                     size_t max, struct roster_arena *a, struct roster_message **out, size_t *n,
                     struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    struct pg_call q;
    if (max == 0)
        return 0;
    pg_call_init(&q, pg_conn_of(pc), a);
    /* $1 now, $2 the lease's end, $3 its token, $4 how many */
    const int64_t args[4] = {now_ms, now_ms + lease_ms, pg_new_token(), (int64_t)max};
    for (size_t i = 0; i < 4; i++)
        pg_arg_int(&q.p, args[i]);
    const int64_t tok = args[2];
    pg_arg_str(&q.p, channel ? channel : "email");
    int code = pg_call_write1(
        &q, PG_MSG_CLAIM,
        "WITH pick AS (SELECT id FROM messages WHERE channel = $5"
        " AND status = 'ENQUEUED' AND due_ms <= $1::bigint ORDER BY due_ms LIMIT $4::bigint"
        " FOR UPDATE SKIP LOCKED)"
        " UPDATE messages m SET due_ms = $2::bigint, lease_token = $3::bigint"
        " FROM pick, orgs o WHERE m.id = pick.id AND o.num_id = m.org_num"
        " RETURNING m.id, o.id, m.kind, m.source_id, m.user_id, m.recipient,"
        " m.content_json, m.status, m.created_ms, m.sent_ms, m.attempts,"
        " m.reason, m.channel, m.due_ms",
        err);
    if (code)
        return pg_call_end(&q, code);
    int rows = PQntuples(q.res);
    struct roster_message *v = roster_arena_zalloc(a, (size_t)(rows ? rows : 1) * sizeof(*v));
    for (int r = 0; r < rows; r++) {
        struct roster_message *m = &v[r];
        snprintf(m->id, sizeof(m->id), "%s", PQgetvalue(q.res, r, 0));
        pg_col_id(q.res, r, 1, m->org_id);
        m->kind = pg_col_str(q.res, r, 2, a);
        m->source_id = pg_col_str(q.res, r, 3, a);
        m->user_id = pg_col_str(q.res, r, 4, a);
        m->recipient = pg_col_str(q.res, r, 5, a);
        m->content_json = pg_col_str(q.res, r, 6, a);
        m->status = pg_col_str(q.res, r, 7, a);
        m->created_ms = pg_col_int(q.res, r, 8);
        m->sent_ms = pg_col_int(q.res, r, 9);
        m->attempts = pg_col_int(q.res, r, 10);
        m->reason = pg_col_str(q.res, r, 11, a);
        m->channel = pg_col_str(q.res, r, 12, a);
        m->due_ms = pg_col_int(q.res, r, 13);
        m->lease_token = tok;
    }
    *out = v;
    *n = (size_t)rows;
    return pg_call_end(&q, 0);
}

int pg_message_record(struct roster_conn *pc, const struct roster_message_outcome *o, size_t n,
                      size_t *recorded, struct roster_err *err)
{
    if (recorded)
        *recorded = 0;
    if (n == 0)
        return 0;
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    const char **col = roster_arena_alloc(q.a, n * sizeof(*col));
    for (int k = 0; k < 7; k++) {
        for (size_t i = 0; i < n; i++) {
            const struct roster_message_outcome *x = &o[i];
            bool sent = x->status && strcmp(x->status, "SENT") == 0;
            switch (k) {
            case 0:
                col[i] = x->id;
                break;
            case 1:
                col[i] = roster_arena_printf(q.a, "%lld", (long long)x->lease_token);
                break;
            case 2:
                col[i] = x->status ? x->status : "ENQUEUED";
                break;
            case 3:
                col[i] = sent ? roster_arena_printf(q.a, "%lld", (long long)x->at_ms) : NULL;
                break;
            case 4:
                col[i] = x->reason;
                break;
            case 5:
                col[i] = x->attempted ? "1" : "0";
                break;
            default:
                col[i] = roster_arena_printf(q.a, "%lld", (long long)x->due_ms);
                break;
            }
        }
        pg_arg_str(&q.p, pg_text_array(q.a, col, n));
    }
    int code = pg_call_write1(&q, PG_MSG_RECORD,
                              "UPDATE messages m SET status = v.status, sent_ms = v.sent_ms,"
                              " reason = v.reason, attempts = m.attempts + v.att,"
                              " due_ms = v.due_ms, lease_token = 0"
                              " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[],"
                              " $5::text[], $6::bigint[], $7::bigint[])"
                              " AS v(id, tok, status, sent_ms, reason, att, due_ms)"
                              " WHERE m.id = v.id AND m.lease_token = v.tok"
                              " AND m.status = 'ENQUEUED'",
                              err);
    if (!code && recorded)
        *recorded = (size_t)strtoull(PQcmdTuples(q.res), NULL, 10);
    return pg_call_end(&q, code);
}

int pg_message_list(struct roster_conn *pc, const char *org_id, const char *status,
                    const char *after, size_t limit, struct roster_arena *a,
                    struct roster_message **out, size_t *n, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    *out = NULL;
    *n = 0;
    int64_t num;
    int code = pg_org_num(c, org_id, &num, a, err);
    if (!code && num == 0)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", org_id);
    if (code || limit == 0)
        return code;
    /* every id sorts below "~" (ids are hex, digits and dashes; the column is COLLATE "C") */
    const char *below = after && after[0] ? after : "~";
    struct roster_message *v;
    if (!status)
        v = pg_select(c,
                      PG_STMT(PG_MSG_LIST,
                              "SELECT " PG_MSG_COLS " FROM messages WHERE org_num = $1::bigint"
                              " AND id < $2 ORDER BY org_num DESC, id DESC LIMIT $3::bigint",
                              PG_I(num), PG_S(below), PG_I((int64_t)limit)),
                      &pg_message_rec, org_id, a, n, &code, err);
    else if (strcmp(status, "UNDELIVERABLE") == 0)
        v = pg_select(c,
                      PG_STMT(PG_MSG_LIST_UNDELIVERABLE,
                              "SELECT " PG_MSG_COLS " FROM messages WHERE org_num = $1::bigint"
                              " AND id < $2 AND status = 'UNDELIVERABLE'"
                              " ORDER BY org_num DESC, id DESC LIMIT $3::bigint",
                              PG_I(num), PG_S(below), PG_I((int64_t)limit)),
                      &pg_message_rec, org_id, a, n, &code, err);
    else
        v = pg_select(c,
                      PG_STMT(PG_MSG_LIST_STATUS,
                              "SELECT " PG_MSG_COLS " FROM messages WHERE org_num = $1::bigint"
                              " AND id < $2 AND status = $4"
                              " ORDER BY org_num DESC, id DESC LIMIT $3::bigint",
                              PG_I(num), PG_S(below), PG_I((int64_t)limit), PG_S(status)),
                      &pg_message_rec, org_id, a, n, &code, err);
    if (!code)
        *out = v;
    return code;
}

int pg_message_retry(struct roster_conn *pc, const char *org_id, const char *id, int64_t now_ms,
                     struct roster_message *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_message tmp = {0};
    struct roster_arena own;
    roster_arena_init(&own, 0);
    struct roster_arena *ma = a ? a : &own;
    struct roster_message *m = out ? out : &tmp;
    int code = pg_get(
        c,
        PG_WRITE(PG_MSG_RETRY,
                 "UPDATE messages SET status = 'ENQUEUED', due_ms = $3::bigint"
                 " WHERE org_num = " ORG_NUM_OF(1) " AND id = $2"
                                                   " AND (status = 'UNDELIVERABLE'"
                                                   " OR (status = 'ENQUEUED' AND lease_token = 0))"
                                                   " RETURNING " PG_MSG_COLS,
                 PG_S(org_id), PG_S(id), PG_I(now_ms)),
        &pg_message_rec, org_id, m, ma, NULL, NULL, err);
    if (code == ROSTER_ENOTFOUND) {
        /* why not: missing, sent, or claimed right now */
        code = pg_message_get(pc, org_id, id, m, ma, err);
        if (!code && strcmp(m->status, "SENT") == 0)
            code = roster_err_set(err, ROSTER_ECONFLICT,
                                  "message \"%s\" was sent; only a waiting or undeliverable "
                                  "message can be retried",
                                  id);
        else if (!code)
            code = roster_err_set(err, ROSTER_ECONFLICT,
                                  "message \"%s\" is being delivered right now; retry it "
                                  "after this attempt if it fails",
                                  id);
    }
    roster_arena_release(&own);
    return code;
}
