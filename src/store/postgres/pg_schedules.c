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

/* Reads the SCHED_COLS starting at column col of row. */
static void read_schedule(const PGresult *r, int row, int col, const char *org_id,
                          struct roster_schedule *out, struct roster_arena *a)
{
    memset(out, 0, sizeof(*out));
    pg_col_id(r, row, col, out->id);
    snprintf(out->org_id, sizeof(out->org_id), "%s", org_id);
    pg_col_id(r, row, col + 1, out->user_id);
    out->state = (int)pg_col_int(r, row, col + 2);
    out->due_ms = pg_col_int(r, row, col + 3);
    out->send_activation_email = pg_col_int(r, row, col + 4) != 0;
    out->email_override = pg_col_str(r, row, col + 5, a);
    out->status = (int)pg_col_int(r, row, col + 6);
    out->created_ms = pg_col_int(r, row, col + 7);
    out->done_ms = pg_col_int(r, row, col + 8); /* NULL reads as 0 */
    const char *outcome = pg_col_str(r, row, col + 9, a);
    out->outcome = outcome ? outcome : "";
    snprintf(out->message_id, sizeof(out->message_id), "%s",
             PQgetisnull(r, row, col + 10) ? "" : PQgetvalue(r, row, col + 10));
    out->lease_token = pg_col_int(r, row, col + 11);
}

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
    struct pg_call q;
    bool in_tx = false;
    bool *assigned = NULL;
    int code = 0;
    if (n == 0)
        return 0;
    assigned = calloc(n, sizeof(*assigned));
    if (!assigned)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    pg_call_init(&q, c, NULL);
    int64_t now = roster_now_ms();
    code = pg_tx_start(c, true, err);
    if (code)
        goto fail;
    in_tx = true;
    for (size_t i = 0; i < n; i++) {
        struct roster_schedule *r = &s[i];
        if (!r->id[0]) {
            roster_id_new(r->id);
            assigned[i] = true;
        }
        pg_args_init(&q.p, q.a);
        pg_arg_str(&q.p, r->id);
        pg_arg_str(&q.p, r->org_id);
        pg_arg_str(&q.p, r->user_id);
        pg_arg_int(&q.p, r->state);
        pg_arg_int(&q.p, r->due_ms);
        pg_arg_str(&q.p, r->send_activation_email ? "true" : "false");
        pg_arg_str(&q.p, r->email_override);
        pg_arg_int(&q.p, now);
        code = pg_call_run(&q, PG_SCHED_INSERT,
                           "INSERT INTO schedules (id, org_num, user_id, state, due_ms,"
                           " send_activation_email, email_override, status, created_ms, outcome)"
                           " SELECT $1, o.num_id, $3, $4::integer, $5::bigint, $6::boolean, $7, 0,"
                           " $8::bigint, '' FROM orgs o WHERE o.id = $2",
                           err);
        if (code) {
            if (!strcmp(pg_sqlstate(q.res), "23505"))
                code =
                    roster_err_set(err, ROSTER_ECONFLICT, "schedule \"%s\" already exists", r->id);
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
    free(assigned);
    return pg_call_end(&q, code);
}

/* --- schedule_list --- */

int pg_schedule_list(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                     struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     int64_t *total, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct sg w;
    sg_init(&w, SG_PG, a);
    struct roster_buf sql;
    struct pg_call r;
    pg_call_init(&r, c, a);
    int code = 0;
    roster_buf_init(&sql);
    sg_add(&w, (struct sg_val){SG_TEXT, 0, org_id}); /* $1 */
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    code = sg_filters(&w, q, "s", roster_store_sched_column, "scheduled changes", err);
    if (code)
        goto done;
    if (q->search && q->search[0]) {
        code = roster_err_set(err, ROSTER_EINVAL, "scheduled changes have no free-text search");
        goto done;
    }
    pg_args_sg(&r.p, &w);
    const char *where = w.sql.data ? w.sql.data : "";
    if (total && q->want_total) {
        roster_buf_printf(&sql,
                          "SELECT count(*) FROM schedules s WHERE s.org_num = " ORG_NUM_OF(
                              1) " AND s.status = 0%s",
                          where);
        code = pg_count(c, sql.data, &r.p, total, err);
        if (code)
            goto done;
    }
    if (q->limit == 0)
        goto done; /* count only */
    const char *page = pg_query_page(&r.p, q->limit, q->skip);
    roster_buf_reset(&sql);
    roster_buf_printf(&sql,
                      "SELECT " SCHED_COLS " FROM schedules s WHERE s.org_num = " ORG_NUM_OF(
                          1) " AND s.status = 0%s ORDER BY s.due_ms, s.id%s",
                      where, page);
    code = pg_call_run(&r, -1, sql.data, err);
    if (code)
        goto done;
    struct roster_schedule *v = pg_rows(r.res, a, sizeof(*v), n);
    for (size_t i = 0; i < *n; i++)
        read_schedule(r.res, (int)i, 0, org_id, &v[i], a);
    *out = v;
done:
    roster_buf_release(&sql);
    sg_release(&w);
    return pg_call_end(&r, code);
}

int pg_schedule_get(struct roster_conn *pc, const char *org_id, const char *id,
                    struct roster_schedule *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, id);
    int code = pg_call_run(&q, PG_SCHED_GET,
                           "SELECT " SCHED_COLS
                           " FROM schedules s WHERE s.org_num = " ORG_NUM_OF(1) " AND s.id = $2",
                           err);
    if (!code && PQntuples(q.res) == 1)
        read_schedule(q.res, 0, 0, org_id, out, a);
    else if (!code)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "schedule \"%s\" not found", id ? id : "");
    return pg_call_end(&q, code);
}

int pg_schedule_cancel(struct roster_conn *pc, const char *org_id, const char *id, int64_t now_ms,
                       struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, id);
    pg_arg_int(&q.p, now_ms);
    int code =
        pg_call_write1(&q, -1,
                       "UPDATE schedules SET status = 3, done_ms = $3, lease_token = NULL,"
                       " lease_until_ms = NULL WHERE org_num = " ORG_NUM_OF(1) " AND id = $2"
                                                                               " AND status = 0",
                       err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "schedule \"%s\" not found", id ? id : "");
    return pg_call_end(&q, code);
}

int pg_schedule_next(struct roster_conn *pc, const char *org_id, const char *const *user_ids,
                     size_t nusers, struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_buf ids;
    struct pg_call q;
    pg_call_init(&q, c, a);
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
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, ids.data);
    pg_arg_int(&q.p, ROSTER_ACTIVATED);
    pg_arg_int(&q.p, ROSTER_SUSPENDED);
    /* each (user, state)'s earliest pending change, then in due, id order */
    code = pg_call_run(&q, PG_SCHED_NEXT,
                       "SELECT DISTINCT ON (s.user_id, s.state) " SCHED_COLS
                       " FROM schedules s WHERE s.org_num = " ORG_NUM_OF(
                           1) " AND s.status = 0"
                              " AND s.user_id = ANY ($2::text[]) AND s.state IN "
                              "($3::integer, $4::integer)"
                              " ORDER BY s.user_id, s.state, s.due_ms, s.id",
                       err);
    if (code)
        goto done;
    struct roster_schedule *v = pg_rows(q.res, a, sizeof(*v), n);
    for (size_t i = 0; i < *n; i++)
        read_schedule(q.res, (int)i, 0, org_id, &v[i], a);
    if (*n > 1)
        qsort(v, *n, sizeof(*v), by_due_then_id);
    *out = v;
done:
    roster_buf_release(&ids);
    return pg_call_end(&q, code);
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
    pg_arg_int(&q.p, now_ms);
    pg_arg_int(&q.p, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    pg_arg_int(&q.p, tok);
    pg_arg_int(&q.p, now_ms + lease_ms);
    /* rows another scheduler is claiming or finishing right now are skipped, not
     * waited for */
    int code =
        pg_call_write1(&q, PG_SCHED_CLAIM,
                       "WITH pick AS (SELECT num_id FROM schedules WHERE status = 0"
                       " AND due_ms <= $1::bigint"
                       " AND (lease_until_ms IS NULL OR lease_until_ms < $1::bigint)"
                       " ORDER BY due_ms, id LIMIT $2::bigint FOR UPDATE SKIP LOCKED)"
                       " UPDATE schedules s SET lease_token = $3::bigint, lease_until_ms = "
                       "$4::bigint"
                       " FROM pick, orgs o WHERE s.num_id = pick.num_id AND o.num_id = s.org_num"
                       " RETURNING o.id, " SCHED_COLS,
                       err);
    if (!code) {
        struct roster_schedule *v = pg_rows(q.res, a, sizeof(*v), n);
        for (size_t i = 0; i < *n; i++)
            read_schedule(q.res, (int)i, 1, PQgetvalue(q.res, (int)i, 0), &v[i], a);
        if (*n > 1)
            qsort(v, *n, sizeof(*v), by_due_then_id);
        *out = v;
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
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, sch->org_id);
    pg_arg_str(&q.p, sch->id);
    pg_arg_int(&q.p, sch->lease_token);
    pg_arg_int(&q.p, status);
    pg_arg_str(&q.p, outcome ? outcome : "");
    pg_arg_int(&q.p, now_ms);
    pg_arg_str(&q.p, sch->message_id[0] ? sch->message_id : NULL);
    int code =
        pg_call_write1(&q, PG_SCHED_FINISH,
                       "UPDATE schedules SET status = $4, outcome = $5, done_ms = $6, "
                       "message_id = $7,"
                       " lease_token = NULL, lease_until_ms = NULL"
                       /* the row by its unique (org_num, id) first: with status = 0 in the
                        * same WHERE, the cached generic plan picks a partial status = 0
                        * index on org_num alone and scans every pending change of the org */
                       " WHERE num_id = (SELECT num_id FROM schedules WHERE org_num = " ORG_NUM_OF(
                           1) " AND id = $2)"
                              " AND lease_token = $3 AND status = 0",
                       err);
    if (!code && pg_call_none(&q))
        /* the lease expired and was claimed again, or the schedule was cancelled
         * meanwhile */
        code = roster_err_set(err, ROSTER_ESTALE, "lease on schedule \"%s\" was lost", sch->id);
    return pg_call_end(&q, code);
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
    pg_arg_str(&q.p, m->id);
    pg_arg_str(&q.p, m->org_id);
    pg_arg_str(&q.p, m->kind);
    pg_arg_str(&q.p, m->source_id);
    pg_arg_str(&q.p, m->user_id);
    pg_arg_str(&q.p, m->recipient);
    pg_arg_str(&q.p, m->content_json);
    pg_arg_str(&q.p, status);
    pg_arg_int(&q.p, now);
    int code =
        pg_call_write1(&q, PG_MSG_INSERT,
                       "INSERT INTO messages (id, org_num, kind, source_id, user_id, recipient,"
                       " content_json, status, created_ms) SELECT $1, o.num_id, $3, $4, $5, $6, "
                       "$7,"
                       " $8, $9::bigint FROM orgs o WHERE o.id = $2",
                       err);
    if (code && !strcmp(pg_sqlstate(q.res), "23505"))
        code = roster_err_set(err, ROSTER_ECONFLICT, "message \"%s\" already exists", m->id);
    else if (!code && strcmp(PQcmdTuples(q.res), "1") != 0)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", m->org_id);
    if (!code) {
        m->status = status;
        m->created_ms = now;
    }
    if (code && new_id)
        m->id[0] = '\0';
    return pg_call_end(&q, code);
}

int pg_message_get(struct roster_conn *pc, const char *org_id, const char *id,
                   struct roster_message *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, id);
    int code = pg_call_run(&q, PG_MSG_GET,
                           "SELECT id, kind, source_id, user_id, recipient, content_json, status,"
                           " created_ms, sent_ms, attempts, reason FROM messages"
                           " WHERE org_num = " ORG_NUM_OF(1) " AND id = $2",
                           err);
    if (!code && PQntuples(q.res) == 1) {
        memset(out, 0, sizeof(*out));
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(q.res, 0, 0));
        snprintf(out->org_id, sizeof(out->org_id), "%s", org_id);
        out->kind = pg_col_str(q.res, 0, 1, a);
        out->source_id = pg_col_str(q.res, 0, 2, a);
        out->user_id = pg_col_str(q.res, 0, 3, a);
        out->recipient = pg_col_str(q.res, 0, 4, a);
        out->content_json = pg_col_str(q.res, 0, 5, a);
        out->status = pg_col_str(q.res, 0, 6, a);
        out->created_ms = pg_col_int(q.res, 0, 7);
        out->sent_ms = pg_col_int(q.res, 0, 8);
        out->attempts = pg_col_int(q.res, 0, 9);
        out->reason = pg_col_str(q.res, 0, 10, a);
    } else if (!code) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "message \"%s\" not found", id ? id : "");
    }
    return pg_call_end(&q, code);
}
