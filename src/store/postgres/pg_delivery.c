/* PostgreSQL store: outbox delivery (src/core/delivery.c). Several roster processes may
 * deliver one outbox: a claim locks the head of messages_due (the ENQUEUED messages in
 * due order) with FOR UPDATE SKIP LOCKED, as job chunk claims do, so concurrent claims
 * take different messages without waiting for each other, and moves the claimed rows'
 * due_ms to the end of the lease with a new lease token. An outcome is written only where
 * its token still holds: a process whose lease expired (and whose messages another took)
 * records nothing. Outcomes of a batch are one statement over unnest'ed arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

/* The claim of the messages matching filter (the channel's): the head of messages_due, or
 * of messages_webhook_due for the webhook channel. */
#define CLAIM_SQL(filter)                                                                          \
    "WITH pick AS (SELECT id FROM messages WHERE status = 'ENQUEUED' AND " filter                  \
    " AND due_ms <= $1::bigint ORDER BY due_ms LIMIT $4::bigint FOR UPDATE SKIP LOCKED)"           \
    " UPDATE messages m SET due_ms = $2::bigint, lease_token = $3::bigint"                         \
    " FROM pick, orgs o WHERE m.id = pick.id AND o.num_id = m.org_num"                             \
    " RETURNING m.id, o.id, m.kind, m.source_id, m.user_id, m.recipient,"                          \
    " m.content_json, m.status, m.created_ms, m.sent_ms, m.attempts, m.reason"

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
    bool webhook = channel && strcmp(channel, "webhook") == 0;
    int code = pg_call_write1(
        &q, webhook ? PG_MSG_CLAIM_WEBHOOK : PG_MSG_CLAIM,
        webhook ? CLAIM_SQL("kind = 'webhook'") : CLAIM_SQL("kind <> 'webhook'"), err);
    if (code)
        return pg_call_end(&q, code);
    int rows = PQntuples(q.res);
    struct roster_message *v = roster_arena_zalloc(a, (size_t)(rows ? rows : 1) * sizeof(*v));
    for (int r = 0; r < rows; r++) {
        struct roster_message *m = &v[r];
        snprintf(m->id, sizeof(m->id), "%s", PQgetvalue(q.res, r, 0));
        pg_col_id(q.res, r, 1, m->org_id);
        m->kind = pg_col_str(q.res, r, 2, a);
        m->channel = webhook ? "webhook" : "email";
        m->source_id = pg_col_str(q.res, r, 3, a);
        m->user_id = pg_col_str(q.res, r, 4, a);
        m->recipient = pg_col_str(q.res, r, 5, a);
        m->content_json = pg_col_str(q.res, r, 6, a);
        m->status = pg_col_str(q.res, r, 7, a);
        m->created_ms = pg_col_int(q.res, r, 8);
        m->sent_ms = pg_col_int(q.res, r, 9);
        m->attempts = pg_col_int(q.res, r, 10);
        m->reason = pg_col_str(q.res, r, 11, a);
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
