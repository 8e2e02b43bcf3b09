/* PostgreSQL store: scheduled user state changes and the message outbox
 * (include/roster/schedule.h), with the SQLite store's semantics. Several
 * roster processes may share the database: a claim locks due rows (FOR UPDATE
 * SKIP LOCKED) whose lease is free or expired and writes one random token and
 * an expiry; finishing a row requires the token and a pending status, so a
 * scheduler that lost its lease, or raced a cancel, commits nothing. Another
 * organisation's schedule or message is exactly as absent as a missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/sqlgen.h"
#include "store/store_keys.h"

#define SCHED_COLS                                                                                 \
    "s.id, s.user_id, s.state, s.due_ms, s.send_activation_email, "                                \
    "s.email_override, s.status,"                                                                  \
    " s.created_ms, s.done_ms, s.outcome, s.message_id, s.lease_token"

/* the fields of SCHED_COLS */
#define S(kind, field) PG_COL(kind, struct roster_schedule, field)
#define SCHED_FIELDS                                                                               \
    S(PG_BUF, id), S(PG_BUF, user_id), S(PG_INT, state), S(PG_I64, due_ms),                        \
        S(PG_BOOL, send_activation_email), S(PG_STR, email_override), S(PG_INT, status),           \
        S(PG_I64, created_ms), S(PG_I64, done_ms) /* NULL reads as 0 */, S(PG_TEXT, outcome),      \
        S(PG_BUF, message_id), S(PG_I64, lease_token)
static const struct pg_col sched_cols[] = {SCHED_FIELDS};
static const struct pg_rec sched_rec =
    PG_REC(struct roster_schedule, sched_cols, offsetof(struct roster_schedule, org_id));
/* a claimed schedule: its organisation's id, then the SCHED_COLS */
static const struct pg_col claimed_cols[] = {S(PG_BUF, org_id), SCHED_FIELDS};
static const struct pg_rec claimed_rec = PG_REC(struct roster_schedule, claimed_cols, -1);
#undef S

static int by_due_then_id(const void *pa, const void *pb)
{
    const struct roster_schedule *x = pa, *y = pb;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int pg_schedule_create(struct roster_conn *pc, struct roster_schedule *s, size_t n,
                       struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    const struct roster_idem_rec *idem = pg_idem_take(c);
    struct pg_call q;
    if (n == 0)
        return 0;
    pg_call_init(&q, c, NULL);
    bool in_tx = false, *assigned = roster_arena_zalloc(q.a, n * sizeof(*assigned));
    int64_t now = roster_now_ms();
    int code = pg_tx_start(c, true, err);
    if (code)
        goto fail;
    in_tx = true;
    code = pg_idem_write(c, idem, err);
    if (code)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct roster_schedule *r = &s[i];
        if (!r->id[0]) {
            roster_id_new(r->id);
            assigned[i] = true;
        }
        code = pg_call_stmt(
            &q,
            PG_STMT(PG_SCHED_INSERT,
                    "INSERT INTO schedules (id, org_num, user_id, state, due_ms,"
                    " send_activation_email, email_override, status, created_ms, outcome)"
                    " SELECT $1, o.num_id, $3, $4::integer, $5::bigint, $6::boolean, $7, 0,"
                    " $8::bigint, '' FROM orgs o WHERE o.id = $2",
                    PG_S(r->id), PG_S(r->org_id), PG_S(r->user_id), PG_I(r->state), PG_I(r->due_ms),
                    PG_S(r->send_activation_email ? "true" : "false"), PG_S(r->email_override),
                    PG_I(now)),
            err);
        if (code) {
            code = pg_insert_fail(q.res, code, "schedule", r->id, NULL, err);
            goto fail;
        }
        if (strcmp(PQcmdTuples(q.res), "1") != 0) {
            code =
                roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", r->org_id);
            goto fail;
        }
    }
    in_tx = false;
    code = pg_tx_end(c, true, true, err);
    if (code)
        goto fail;
    roster_store_sched_stored(s, n, now);
    goto done;
fail:
    if (in_tx)
        pg_tx_end(c, true, false, NULL);
    for (size_t i = 0; i < n; i++)
        if (assigned[i])
            s[i].id[0] = '\0';
done:
    return pg_call_end(&q, code);
}

/* --- schedule_list --- */

int pg_schedule_list(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                     struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     int64_t *total, struct roster_err *err)
{
    struct sg w;
    struct pg_call r;
    sg_init(&w, SG_PG, a);
    sg_add(&w, PG_S(org_id)); /* $1 */
    pg_call_init(&r, pg_conn_of(pc), a);
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    int code = sg_filters(&w, q, "s", roster_store_sched_column, "scheduled changes", err);
    if (!code && q->search && q->search[0])
        code = roster_err_set(err, ROSTER_EINVAL, "scheduled changes have no free-text search");
    if (!code) {
        pg_args_sg(&r.p, &w);
        struct pg_page page = {
            SCHED_COLS,
            roster_arena_printf(
                a, "schedules s WHERE s.org_num = " ORG_NUM_OF(1) " AND s.status = 0%s",
                w.sql.data ? w.sql.data : ""),
            "s.due_ms, s.id",
            total && q->want_total ? total : NULL,
            q->limit,
            q->skip};
        *out = pg_page_rows(&r, &page, &sched_rec, org_id, n, &code, err);
    }
    sg_release(&w);
    return pg_call_end(&r, code);
}

int pg_schedule_get(struct roster_conn *pc, const char *org_id, const char *id,
                    struct roster_schedule *out, struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(PG_SCHED_GET,
                          "SELECT " SCHED_COLS
                          " FROM schedules s WHERE s.org_num = " ORG_NUM_OF(1) " AND s.id = $2",
                          PG_S(org_id), PG_S(id)),
                  &sched_rec, org_id, out, a, "schedule", id ? id : "", err);
}

int pg_schedule_cancel(struct roster_conn *pc, const char *org_id, const char *id, int64_t now_ms,
                       struct roster_err *err)
{
    bool none;
    int code =
        pg_update(pg_conn_of(pc),
                  PG_WRITE(-1,
                           "UPDATE schedules SET status = 3, done_ms = $3, lease_token = NULL,"
                           " lease_until_ms = NULL WHERE org_num = " ORG_NUM_OF(
                               1) " AND id = $2 AND status = 0",
                           PG_S(org_id), PG_S(id), PG_I(now_ms)),
                  &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "schedule \"%s\" not found", id ? id : "");
    return code;
}

int pg_schedule_next(struct roster_conn *pc, const char *org_id, const char *const *user_ids,
                     size_t nusers, struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_buf ids;
    *out = NULL;
    *n = 0;
    roster_buf_init(&ids);
    roster_buf_addch(&ids, '{');
    size_t nids = 0;
    for (size_t i = 0; i < nusers; i++) {
        if (!user_ids[i])
            continue;
        if (nids++)
            roster_buf_addch(&ids, ',');
        pg_array_elem(&ids, user_ids[i]);
    }
    roster_buf_addch(&ids, '}');
    int code = 0;
    if (nids == 0)
        goto done;
    /* each (user, state)'s earliest pending change, then in due, id order */
    *out = pg_select(c,
                     PG_STMT(PG_SCHED_NEXT,
                             "SELECT DISTINCT ON (s.user_id, s.state) " SCHED_COLS
                             " FROM schedules s WHERE s.org_num = " ORG_NUM_OF(
                                 1) " AND s.status = 0"
                                    " AND s.user_id = ANY ($2::text[]) AND s.state IN "
                                    "($3::integer, $4::integer)"
                                    " ORDER BY s.user_id, s.state, s.due_ms, s.id",
                             PG_S(org_id), PG_S(ids.data), PG_I(ROSTER_ACTIVATED),
                             PG_I(ROSTER_SUSPENDED)),
                     &sched_rec, org_id, a, n, &code, err);
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), by_due_then_id);
done:
    roster_buf_release(&ids);
    return code;
}

/* --- the scheduler's side: claim, finish, next due --- */

int pg_schedule_claim_due(struct roster_conn *pc, int64_t now_ms, int64_t lease_ms, size_t max,
                          struct roster_arena *a, struct roster_schedule **out, size_t *n,
                          struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    int64_t tok = pg_new_token();
    /* rows another scheduler is claiming or finishing right now are skipped, not
     * waited for */
    int code = pg_call_stmt(
        &q,
        PG_WRITE(PG_SCHED_CLAIM,
                 "WITH pick AS (SELECT num_id FROM schedules WHERE status = 0"
                 " AND due_ms <= $1::bigint"
                 " AND (lease_until_ms IS NULL OR lease_until_ms < $1::bigint)"
                 " ORDER BY due_ms, id LIMIT $2::bigint FOR UPDATE SKIP LOCKED)"
                 " UPDATE schedules s SET lease_token = $3::bigint, lease_until_ms = $4::bigint"
                 " FROM pick, orgs o WHERE s.num_id = pick.num_id AND o.num_id = s.org_num"
                 " RETURNING o.id, " SCHED_COLS,
                 PG_I(now_ms), PG_I(max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max), PG_I(tok),
                 PG_I(now_ms + lease_ms)),
        err);
    if (!code) {
        *out = pg_read_rows(q.res, &claimed_rec, NULL, a, n);
        if (*n > 1)
            qsort(*out, *n, sizeof(**out), by_due_then_id);
    }
    return pg_call_end(&q, code);
}

int pg_schedule_finish(struct roster_conn *pc, const struct roster_schedule *sch, int status,
                       const char *outcome, int64_t now_ms, struct roster_err *err)
{
    if (status != ROSTER_SCHED_APPLIED && status != ROSTER_SCHED_FAILED)
        return roster_err_set(err, ROSTER_EINVAL,
                              "schedule status %d is not an outcome (use applied or failed)",
                              status);
    bool none;
    int code = pg_update(
        pg_conn_of(pc),
        PG_WRITE(PG_SCHED_FINISH,
                 "UPDATE schedules SET status = $4, outcome = $5, done_ms = $6, message_id = $7,"
                 " lease_token = NULL, lease_until_ms = NULL"
                 /* the row by its unique (org_num, id) first: with status = 0 in the
                  * same WHERE, the cached generic plan picks a partial status = 0
                  * index on org_num alone and scans every pending change of the org */
                 " WHERE num_id = (SELECT num_id FROM schedules WHERE org_num = " ORG_NUM_OF(
                     1) " AND id = $2)"
                        " AND lease_token = $3 AND status = 0",
                 PG_S(sch->org_id), PG_S(sch->id), PG_I(sch->lease_token), PG_I(status),
                 PG_S(outcome ? outcome : ""), PG_I(now_ms),
                 PG_S(sch->message_id[0] ? sch->message_id : NULL)),
        &none, err);
    if (!code && none)
        /* the lease expired and was claimed again, or the schedule was cancelled
         * meanwhile */
        code = roster_err_set(err, ROSTER_ESTALE, "lease on schedule \"%s\" was lost", sch->id);
    return code;
}

int pg_schedule_next_due(struct roster_conn *pc, int64_t *due_ms, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int code = pg_call_run(
        &q, -1, "SELECT due_ms FROM schedules WHERE status = 0 ORDER BY due_ms LIMIT 1", err);
    if (!code && PQntuples(q.res) == 1)
        *due_ms = pg_col_int(q.res, 0, 0);
    else if (!code)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "no schedule is pending");
    return pg_call_end(&q, code);
}

/* --- message outbox --- */

int pg_message_create(struct roster_conn *pc, struct roster_message *m, struct roster_err *err)
{
    if (!m->kind || !m->kind[0])
        return roster_err_set(err, ROSTER_EINVAL, "message kind is missing");
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    bool new_id = !m->id[0];
    if (new_id)
        roster_message_id_new(m->id);
    const char *status = m->status ? m->status : "ENQUEUED";
    int64_t now = roster_now_ms();
    int code = pg_call_stmt(
        &q,
        PG_WRITE(PG_MSG_INSERT,
                 "INSERT INTO messages (id, org_num, kind, source_id, user_id, recipient,"
                 " content_json, status, created_ms, channel) SELECT $1, o.num_id, $3, $4, $5,"
                 " $6, $7, $8, $9::bigint, $10 FROM orgs o WHERE o.id = $2",
                 PG_S(m->id), PG_S(m->org_id), PG_S(m->kind), PG_S(m->source_id), PG_S(m->user_id),
                 PG_S(m->recipient), PG_S(m->content_json), PG_S(status), PG_I(now),
                 PG_S(m->channel ? m->channel : "email")),
        err);
    if (code)
        code = pg_insert_fail(q.res, code, "message", m->id, NULL, err);
    else if (strcmp(PQcmdTuples(q.res), "1") != 0)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", m->org_id);
    if (!code) {
        m->status = status;
        m->created_ms = now;
    }
    if (code && new_id)
        m->id[0] = '\0';
    return pg_call_end(&q, code);
}

#define M(kind, field) PG_COL(kind, struct roster_message, field)
static const struct pg_col message_cols[] = {
    M(PG_BUF, id),        M(PG_STR, kind),         M(PG_STR, source_id), M(PG_STR, user_id),
    M(PG_STR, recipient), M(PG_STR, content_json), M(PG_STR, status),    M(PG_I64, created_ms),
    M(PG_I64, sent_ms),   M(PG_I64, attempts),     M(PG_STR, reason),    M(PG_STR, channel),
    M(PG_I64, due_ms)};
#undef M
const struct pg_rec pg_message_rec =
    PG_REC(struct roster_message, message_cols, offsetof(struct roster_message, org_id));

int pg_message_get(struct roster_conn *pc, const char *org_id, const char *id,
                   struct roster_message *out, struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(PG_MSG_GET,
                          "SELECT " PG_MSG_COLS " FROM messages"
                          " WHERE org_num = " ORG_NUM_OF(1) " AND id = $2",
                          PG_S(org_id), PG_S(id)),
                  &pg_message_rec, org_id, out, a, "message", id ? id : "", err);
}
