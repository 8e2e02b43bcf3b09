/* SQLite store: scheduled user state changes and the message outbox (include/roster/schedule.h).
 *
 * DESIGN: a schedule is pending (status 0) until the scheduler finishes it (applied, failed)
 * or the client cancels it; every index on schedules is partial on status = 0, so the cost
 * of a list, a claim or a next-due look-up follows the pending rows, not every row ever
 * stored. Rows carry their organisation's num_id (org_num, see sq_org_num) like users. A
 * claim leases a batch of due rows with one random token and an expiry; finishing a row
 * requires the token and a pending status, so a scheduler that lost its lease, or raced a
 * cancel, commits nothing. Another organisation's schedule or message is exactly as absent
 * as a missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlgen.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store_keys.h"

/* Reads the SQ_SCHED_COLS starting at column col. */
static void read_schedule(sqlite3_stmt *s, int col, const char *org_id, struct roster_schedule *out,
                          struct roster_arena *a)
{
    memset(out, 0, sizeof(*out));
    sq_col_id(s, col, out->id);
    snprintf(out->org_id, sizeof(out->org_id), "%s", org_id);
    sq_col_id(s, col + 1, out->user_id);
    out->state = sqlite3_column_int(s, col + 2);
    out->due_ms = sqlite3_column_int64(s, col + 3);
    out->send_activation_email = sqlite3_column_int(s, col + 4) != 0;
    out->email_override = sq_col_str(s, col + 5, a);
    out->status = sqlite3_column_int(s, col + 6);
    out->created_ms = sqlite3_column_int64(s, col + 7);
    out->done_ms = sqlite3_column_int64(s, col + 8); /* NULL reads as 0 */
    const char *outcome = sq_col_str(s, col + 9, a);
    out->outcome = outcome ? outcome : "";
    const unsigned char *mid = sqlite3_column_text(s, col + 10);
    snprintf(out->message_id, sizeof(out->message_id), "%s", mid ? (const char *)mid : "");
    out->lease_token = sqlite3_column_int64(s, col + 11);
}

/* read_schedule of a row that is a schedule of organisation org_id */
static void read_schedule_row(sqlite3_stmt *s, void *row, const void *org_id,
                              struct roster_arena *a)
{
    read_schedule(s, 0, org_id, row, a);
}

int sq_schedule_create(struct roster_conn *pc, struct roster_schedule *s, size_t n,
                       struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    const struct roster_idem_rec *idem = sq_idem_take(c);
    sqlite3_stmt *ins = NULL;
    bool in_tx = false;
    bool *assigned = NULL;
    int code = 0;
    if (n == 0)
        return 0;
    assigned = calloc(n, sizeof(*assigned));
    if (!assigned)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int64_t now = roster_now_ms();
    code = sq_tx_stmt(c, SQ_SCHED_INSERT, &ins, err);
    if (code)
        goto fail;
    in_tx = true;
    code = sq_idem_write(c->db, idem, err);
    if (code)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct roster_schedule *r = &s[i];
        int64_t org_num;
        /* a cache hit after the first row */
        code = sq_org_num_for(c, r->org_id, &org_num, "organization", r->org_id, err);
        if (code)
            goto fail;
        if (!r->id[0]) {
            roster_id_new(r->id);
            assigned[i] = true;
        }
        sqlite3_bind_text(ins, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, org_num);
        sqlite3_bind_text(ins, 3, r->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 4, r->state);
        sqlite3_bind_int64(ins, 5, r->due_ms);
        sqlite3_bind_int(ins, 6, r->send_activation_email ? 1 : 0);
        sq_bind_str(ins, 7, r->email_override);
        sqlite3_bind_int64(ins, 8, now);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc == SQLITE_DONE)
            continue;
        const struct sq_item it = {"schedule", r->id, r->org_id};
        code = sq_insert_fail(c, rc, &it, err);
        goto fail;
    }
    in_tx = false;
    code = sq_tx_end(c, true, err);
    if (code)
        goto fail;
    roster_store_sched_stored(s, n, now);
    free(assigned);
    return 0;
fail:
    if (in_tx)
        sq_tx_end(c, false, NULL);
    for (size_t i = 0; i < n; i++)
        if (assigned[i])
            s[i].id[0] = '\0';
    free(assigned);
    return code;
}

/* --- schedule_list --- */

int sq_schedule_list(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                     struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     int64_t *total, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct sg w;
    sg_init(&w, SG_SQLITE, a);
    sqlite3_stmt *s = NULL;
    int code = 0, rc;
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    /* validate the query before looking at the organisation: a bad request is bad for all */
    if (q->search && q->search[0]) {
        code = roster_err_set(err, ROSTER_EINVAL, "scheduled changes have no free-text search");
        goto done;
    }
    int64_t org_num;
    code = sg_filters(&w, q, "t", roster_store_sched_column, "scheduled changes", err);
    if (code)
        goto done;
    code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND) {
        /* an unknown organisation has no schedules */
        if (total && q->want_total)
            *total = 0;
        code = 0;
        goto done;
    }
    if (code)
        goto done;
    /* Without statistics SQLite prefers walking schedules_org_due in ORDER BY order and
     * filtering, which reads every pending row of the organisation to find a few: filters
     * that pin ids or users look them up by their index instead. */
    const char *from = "schedules AS t";
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++) {
        const struct roster_filter *f = &q->filters[i];
        if (f->op != ROSTER_OP_EQ && f->op != ROSTER_OP_IN)
            continue;
        if (f->key == RQ_ID) {
            from = "schedules AS t INDEXED BY schedules_org_id";
            break;
        }
        if (f->key == RQ_USER_ID)
            from = "schedules AS t INDEXED BY schedules_org_user";
    }
    const char *where = w.sql.data ? w.sql.data : ""; /* ?1..: the filters' values */
    struct roster_buf sql;
    roster_buf_init(&sql);
    if (total && q->want_total) {
        roster_buf_printf(&sql, "SELECT count(*) FROM %s WHERE t.org_num = ?%zu AND t.status = 0%s",
                          from, w.nvals + 1, where);
        code = sq_prepare(c, sql.data, &s, err);
        if (!code)
            code = sq_bind_sg(c, s, &w, err);
        if (!code) {
            sqlite3_bind_int64(s, (int)w.nvals + 1, org_num);
            rc = sqlite3_step(s);
            if (rc == SQLITE_ROW)
                *total = sqlite3_column_int64(s, 0);
            else
                code = sq_fail(c, rc, err);
        }
        sqlite3_finalize(s);
        s = NULL;
        if (code) {
            roster_buf_release(&sql);
            goto done;
        }
    }
    if (q->limit == 0) {
        roster_buf_release(&sql);
        goto done; /* count only */
    }

    /* status = 0 is a literal so that the partial indexes apply; a negative limit means no
     * limit (SQLite's LIMIT -1) */
    roster_buf_reset(&sql);
    roster_buf_printf(&sql,
                      "SELECT " SQ_SCHED_COLS " FROM %s WHERE t.org_num = ?%zu AND t.status = 0%s"
                      " ORDER BY t.due_ms, t.id LIMIT ?%zu OFFSET ?%zu",
                      from, w.nvals + 1, where, w.nvals + 2, w.nvals + 3);
    code = sq_prepare(c, sql.data, &s, err);
    roster_buf_release(&sql);
    if (!code)
        code = sq_bind_sg(c, s, &w, err);
    if (code)
        goto done;
    sqlite3_bind_int64(s, (int)w.nvals + 1, org_num);
    sqlite3_bind_int64(s, (int)w.nvals + 2, q->limit < 0 ? -1 : q->limit);
    sqlite3_bind_int64(s, (int)w.nvals + 3, q->skip > 0 ? q->skip : 0);

    void *v = NULL;
    code = sq_rows(c, s, sizeof(**out), read_schedule_row, org_id, a, &v, n, err);
    if (!code)
        *out = v;
done:
    sqlite3_finalize(s);
    sg_release(&w);
    return code;
}

int sq_schedule_get(struct roster_conn *pc, const char *org_id, const char *id,
                    struct roster_schedule *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    return sq_org_row(c, sq_stmt(c, SQ_SCHED_GET, err), org_id, "schedule", id, read_schedule_row,
                      out, a, err);
}

int sq_schedule_cancel(struct roster_conn *pc, const char *org_id, const char *id, int64_t now_ms,
                       struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = sq_stmt(c, SQ_SCHED_CANCEL, err);
    if (s)
        sqlite3_bind_int64(s, 3, now_ms);
    return sq_org_exec(c, s, org_id, "schedule", id, err);
}

/* --- schedule_next --- */

static int by_due_then_id(const void *pa, const void *pb)
{
    const struct roster_schedule *x = pa, *y = pb;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int sq_schedule_next(struct roster_conn *pc, const char *org_id, const char *const *user_ids,
                     size_t nusers, struct roster_arena *a, struct roster_schedule **out, size_t *n,
                     struct roster_err *err)
{
    static const int states[] = {ROSTER_ACTIVATED, ROSTER_SUSPENDED};
    struct sq_conn *c = sq_conn_of(pc);
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND || nusers == 0)
        return 0; /* an unknown organisation has no schedules */
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_SCHED_NEXT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    /* one indexed probe per (user, state): each reads one index entry and one row, which
     * beats any single query that must first gather every pending row of the users */
    size_t cap = 0, len = 0;
    struct roster_schedule *v = NULL;
    for (size_t i = 0; i < nusers; i++) {
        if (!user_ids[i])
            continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = user_ids[j] && strcmp(user_ids[j], user_ids[i]) == 0;
        if (dup)
            continue;
        for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
            sqlite3_bind_int64(s, 1, org_num);
            sqlite3_bind_text(s, 2, user_ids[i], -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 3, states[k]);
            int rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                v = roster_arena_grow(a, v, len, &cap, sizeof(*v));
                read_schedule(s, 0, org_id, &v[len++], a);
            } else if (rc != SQLITE_DONE) {
                code = sq_fail(c, rc, err);
                sqlite3_reset(s);
                return code;
            }
            sqlite3_reset(s);
        }
    }
    if (len > 1)
        qsort(v, len, sizeof(*v), by_due_then_id);
    *out = v;
    *n = len;
    return 0;
}

/* --- the scheduler's side: claim, finish, next due --- */

int sq_schedule_claim_due(struct roster_conn *pc, int64_t now_ms, int64_t lease_ms, size_t max,
                          struct roster_arena *a, struct roster_schedule **out, size_t *n,
                          struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    bool in_tx = false;
    int code = 0, rc;
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    if (!c->in_txn) {
        /* 1 if a schedule can be claimed at now_ms, 0 if not, or a negative roster code */
        int found = sq_exists(c, SQ_SCHED_PEEK, SQ_ARGS(SQ_INT(now_ms)), err);
        if (found <= 0)
            return -found;
        /* as in sq_chunk_claim: a lease needs no fsync of its own (an embedded store drops
         * every lease when it starts, and the next durable commit syncs the WAL up to here);
         * NORMAL still syncs checkpoints, so the file stays intact */
        c->no_sync = true;
    }
    code = sq_tx_stmt(c, SQ_SCHED_PICK, &s, err);
    if (code)
        goto fail;
    in_tx = true;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int64(s, 2, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    size_t cap = 0, ncap = 0, len = 0;
    struct roster_schedule *v = NULL;
    int64_t *nums = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = roster_arena_grow(a, v, len, &cap, sizeof(*v));
        nums = roster_arena_grow(a, nums, len, &ncap, sizeof(*nums));
        nums[len] = sqlite3_column_int64(s, 0);
        const unsigned char *org = sqlite3_column_text(s, 1);
        read_schedule(s, 2, org ? (const char *)org : "", &v[len], a);
        len++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto fail;
    }

    uint64_t token;
    roster_random(&token, sizeof(token));
    int64_t lease_token = (int64_t)(token & INT64_MAX);
    if (lease_token == 0)
        lease_token = 1;
    s = sq_stmt(c, SQ_SCHED_LEASE, err);
    if (!s) {
        code = err ? err->code : ROSTER_EIO;
        goto fail;
    }
    for (size_t i = 0; i < len; i++) {
        sqlite3_bind_int64(s, 1, nums[i]);
        sqlite3_bind_int64(s, 2, lease_token);
        sqlite3_bind_int64(s, 3, now_ms + lease_ms);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            code = sq_fail(c, rc, err);
            goto fail;
        }
        v[i].lease_token = lease_token;
    }
    in_tx = false;
    code = sq_tx_end(c, true, err);
    if (code)
        goto fail;
    *out = v;
    *n = len;
fail:
    if (in_tx)
        sq_tx_end(c, false, NULL);
    c->no_sync = false;
    return code;
}

int sq_schedule_finish(struct roster_conn *pc, const struct roster_schedule *sch, int status,
                       const char *outcome, int64_t now_ms, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (status != ROSTER_SCHED_APPLIED && status != ROSTER_SCHED_FAILED)
        return roster_err_set(err, ROSTER_EINVAL,
                              "schedule status %d is not an outcome (use applied or failed)",
                              status);
    int64_t org_num;
    int code = sq_org_num(c, sch->org_id, &org_num, err);
    if (!code) {
        sqlite3_stmt *s = sq_stmt(c, SQ_SCHED_FINISH, err);
        if (!s)
            return err ? err->code : ROSTER_EIO;
        sqlite3_bind_int64(s, 1, org_num);
        sqlite3_bind_text(s, 2, sch->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, sch->lease_token);
        sqlite3_bind_int(s, 4, status);
        sqlite3_bind_text(s, 5, outcome ? outcome : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, now_ms);
        sq_bind_str(s, 7, sch->message_id[0] ? sch->message_id : NULL);
        code = sq_step_changed(c, s, err);
        sqlite3_reset(s);
    }
    /* no organisation or no pending row leased with this token: the lease expired and was
     * claimed again, or the schedule was cancelled meanwhile */
    if (code == ROSTER_ENOTFOUND)
        code = roster_err_set(err, ROSTER_ESTALE, "lease on schedule \"%s\" was lost", sch->id);
    return code;
}

int sq_schedule_next_due(struct roster_conn *pc, int64_t *due_ms, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = sq_stmt(c, SQ_SCHED_NEXT_DUE, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    int code = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *due_ms = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "no schedule is pending");
    else
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    return code;
}

/* --- message outbox --- */

int sq_message_create(struct roster_conn *pc, struct roster_message *m, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!m->kind || !m->kind[0])
        return roster_err_set(err, ROSTER_EINVAL, "message kind is missing");
    int64_t org_num;
    int code = sq_org_num_for(c, m->org_id, &org_num, "organization", m->org_id, err);
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_MSG_INSERT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    bool new_id = !m->id[0];
    if (new_id)
        roster_message_id_new(m->id);
    const char *status = m->status ? m->status : "ENQUEUED";
    int64_t now = roster_now_ms();
    sqlite3_bind_text(s, 1, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, org_num);
    sq_bind_str(s, 3, m->kind);
    sq_bind_str(s, 4, m->source_id);
    sq_bind_str(s, 5, m->user_id);
    sq_bind_str(s, 6, m->recipient);
    sq_bind_str(s, 7, m->content_json);
    sq_bind_str(s, 8, status);
    sqlite3_bind_int64(s, 9, now);
    sq_bind_str(s, 10, m->channel ? m->channel : "email");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        m->status = status;
        m->created_ms = now;
    } else {
        const struct sq_item it = {"message", m->id, m->org_id};
        code = sq_insert_fail(c, rc, &it, err);
        if (new_id)
            m->id[0] = '\0';
    }
    /* the reset ends the statement: a failed insert leaves the caller's transaction usable */
    sqlite3_reset(s);
    return code;
}

void sq_message_row(sqlite3_stmt *s, const char *org_id, struct roster_message *out,
                    struct roster_arena *a)
{
    memset(out, 0, sizeof(*out));
    const unsigned char *mid = sqlite3_column_text(s, 0);
    snprintf(out->id, sizeof(out->id), "%s", mid ? (const char *)mid : "");
    snprintf(out->org_id, sizeof(out->org_id), "%s", org_id ? org_id : "");
    const char **strs[] = {&out->kind,      &out->source_id,    &out->user_id,
                           &out->recipient, &out->content_json, &out->status};
    sq_col_strs(s, 1, strs, 6, a);
    out->created_ms = sqlite3_column_int64(s, 7);
    out->sent_ms = sqlite3_column_int64(s, 8);
    out->attempts = sqlite3_column_int64(s, 9);
    out->reason = sq_col_str(s, 10, a);
    out->channel = sq_col_str(s, 11, a);
    out->due_ms = sqlite3_column_int64(s, 12);
}

static void read_message(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    sq_message_row(s, org_id, row, a);
}

int sq_message_get(struct roster_conn *pc, const char *org_id, const char *id,
                   struct roster_message *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    return sq_org_row(c, sq_stmt(c, SQ_MSG_GET, err), org_id, "message", id, read_message, out, a,
                      err);
}
