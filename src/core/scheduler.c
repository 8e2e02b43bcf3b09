/* The scheduler: durable scheduled user state changes (include/roster/schedule.h, JumpCloud
 * /bulk/userstates). Submission, the batch step that applies due changes, and the thread
 * that runs it on time.
 *
 * DESIGN
 * - Submission checks that every user exists in the caller's organisation, then stores all
 *   the changes in one transaction (schedule_create) and wakes the scheduler thread. The
 *   client gets the scheduledJobIds only after that commit.
 * - A batch (roster_scheduler_run_due) is ONE transaction: it claims up to BATCH_MAX due
 *   changes (schedule_claim_due, inside the transaction), applies each through
 *   roster_user_update (the path of PUT /api/systemusers/{id}: validation, modified,
 *   version), records an activation e-mail in the outbox when one is asked for, and writes
 *   each outcome with schedule_finish. Everything commits together or not at all, so a
 *   crash or a store failure leaves every change pending and unleased, and the next batch
 *   simply takes it again: each change is applied exactly once. Claiming inside the
 *   transaction (rather than before it, like job chunks) means a rolled-back batch holds no
 *   lease for LEASE_MS; the lease and schedule_finish's token check still guard stores
 *   that several processes share.
 * - Item outcomes: a user deleted before the due time fails the change with
 *   `user "X" not found`; any other item-level refusal (validation, conflict) fails it with
 *   that message. Only store failures (I/O, busy, out of memory) and a lost lease
 *   (ROSTER_ESTALE from schedule_finish) roll the batch back.
 * - Timing: the thread loops without sleeping while batches find work; then it sleeps
 *   until the earliest due time (schedule_next_due), at most IDLE_POLL_MS (other processes
 *   sharing the store add changes without telling this one), or until notified of new
 *   changes. When the earliest change is already due but nothing could be claimed (leased
 *   by another process, or a batch that keeps failing) it waits BACKOFF_MS instead of
 *   spinning.
 * - Threads: one scheduler thread per server, with its own store connection and arena. The
 *   only shared state is the wake-up condition (mutex + condvar + generation counter, as in
 *   the job engine). roster_schedule_submit runs on the caller's thread and connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/idem.h"
#include "core/worker.h"
#include "roster/core.h"
#include "roster/jsonw.h"
#include "roster/log.h"
#include "roster/metrics.h"
#include "roster/wake.h"
#include "roster/schedule.h"

#define LEASE_MS 60000
#define BATCH_MAX 1000    /* changes applied in one transaction at most */
#define IDLE_POLL_MS 1000 /* longest sleep: the store may be shared with other processes */
#define BACKOFF_MS 250    /* due but nothing claimable, or the last batch failed */

/* --- submission --- */

int roster_schedule_submit(struct roster_ctx *ctx, struct roster_schedule *s, size_t n,
                           struct roster_err *err)
{
    return roster_schedule_submit_idem(ctx, s, n, NULL, err);
}

/* The record of a submission keeps the changes' ids, 24 characters each, in order. */
static void replay_ids(struct roster_ctx *ctx, struct roster_schedule *s, size_t n,
                       const char *result)
{
    size_t have = strlen(result) / ROSTER_ID_LEN;
    for (size_t i = 0; i < n && i < have; i++) {
        memcpy(s[i].id, result + i * ROSTER_ID_LEN, ROSTER_ID_LEN);
        s[i].id[ROSTER_ID_LEN] = '\0';
        snprintf(s[i].org_id, sizeof(s[i].org_id), "%s", ctx->org_id);
    }
}

int roster_schedule_submit_idem(struct roster_ctx *ctx, struct roster_schedule *s, size_t n,
                                struct roster_idem *idem, struct roster_err *err)
{
    const char *result;
    if (idem) {
        int rc = core_idem_find(ctx, idem, &result, err);
        if (result)
            replay_ids(ctx, s, n, result);
        if (rc || result)
            return rc;
    }
    if (n == 0)
        return roster_err_set(err, ROSTER_EINVAL, "no user state change to schedule");
    /* the changes are checked in order, each its state and then its user; the users up to
     * the first bad state are read with one store call (one query on PostgreSQL instead of
     * a round trip per change) */
    size_t nstate = 0;
    while (nstate < n &&
           (s[nstate].state == ROSTER_ACTIVATED || s[nstate].state == ROSTER_SUSPENDED))
        nstate++;
    const char **ids = roster_arena_alloc(ctx->arena, (nstate ? nstate : 1) * sizeof(*ids));
    struct roster_user *users =
        roster_arena_alloc(ctx->arena, (nstate ? nstate : 1) * sizeof(*users));
    int *found = roster_arena_alloc(ctx->arena, (nstate ? nstate : 1) * sizeof(*found));
    size_t nids = 0;
    for (size_t i = 0; i < nstate; i++)
        if (roster_id_valid(s[i].user_id))
            ids[nids++] = s[i].user_id;
    int rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, nids, users, found, ctx->arena,
                                        err);
    if (rc)
        return rc;
    for (size_t i = 0, k = 0; i < nstate; i++) {
        /* found[k] belongs to the k-th valid id */
        if (!roster_id_valid(s[i].user_id) || found[k++] != 0) {
            roster_err_set(err, ROSTER_EINVAL, "user \"%.64s\" not found", s[i].user_id);
            if (err)
                err->field = "user_ids";
            return ROSTER_EINVAL;
        }
        memcpy(s[i].org_id, ctx->org_id, ROSTER_ID_LEN);
        s[i].org_id[ROSTER_ID_LEN] = '\0';
    }
    if (nstate < n) {
        roster_err_set(err, ROSTER_EINVAL, "state \"%s\" is not one of ACTIVATED, SUSPENDED",
                       roster_state_name(s[nstate].state));
        if (err)
            err->field = "state";
        return ROSTER_EINVAL;
    }
    struct roster_idem_rec rec;
    if (idem) {
        /* the ids chosen here, so that the record keeps them */
        char *kept = roster_arena_alloc(ctx->arena, n * ROSTER_ID_LEN + 1);
        for (size_t i = 0; i < n; i++) {
            if (!s[i].id[0])
                roster_id_new(s[i].id);
            memcpy(kept + i * ROSTER_ID_LEN, s[i].id, ROSTER_ID_LEN);
        }
        kept[n * ROSTER_ID_LEN] = '\0';
        rc = core_idem_stage(ctx, idem, kept, &rec, err);
        if (rc)
            return rc;
    }
    rc = roster_store_schedule_create(ctx->conn, s, n, err);
    if (rc == 0)
        roster_scheduler_notify(ctx->app ? ctx->app->scheduler : NULL);
    rc = core_idem_settle(ctx, idem, rc, &result, err);
    if (result) /* another request with this key committed first */
        replay_ids(ctx, s, n, result);
    return rc;
}

/* --- one batch --- */

/* Failures of one change that are its outcome; every other code is the store's trouble. */
static bool is_item_failure(int rc)
{
    return rc == ROSTER_EINVAL || rc == ROSTER_ENOTFOUND || rc == ROSTER_ECONFLICT ||
           rc == ROSTER_EFORBIDDEN;
}

/* Records the activation e-mail of s for the freshly activated user u in the outbox and
 * sets s->message_id. content is scratch space for the message's JSON. */
static int queue_activation_email(struct roster_conn *conn, struct roster_schedule *s,
                                  const struct roster_user *u, struct roster_buf *content,
                                  struct roster_arena *a, struct roster_err *err)
{
    const char *m_recipient =
        s->email_override && s->email_override[0] ? s->email_override : u->f[RU_EMAIL];
    struct roster_jsonw w;
    roster_buf_reset(content);
    roster_jsonw_init(&w, content);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "template", "activation");
    roster_jsonw_key(&w, "user");
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "id", u->id);
    roster_jsonw_kstr(&w, "username", u->f[RU_USERNAME]);
    roster_jsonw_kstr(&w, "email", u->f[RU_EMAIL]);
    roster_jsonw_kstr(&w, "firstname", u->f[RU_FIRST_NAME]);
    roster_jsonw_kstr(&w, "lastname", u->f[RU_LAST_NAME]);
    roster_jsonw_obj_end(&w);
    /* the variables of the "activation" template (docs/templates.md) */
    const char *first = u->f[RU_FIRST_NAME], *last = u->f[RU_LAST_NAME];
    bool has_first = first && first[0], has_last = last && last[0];
    const char *full = has_first && has_last ? roster_arena_printf(a, "%s %s", first, last)
                       : has_first           ? first
                       : has_last            ? last
                                             : NULL;
    roster_jsonw_key(&w, "data");
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "user_id", u->id);
    roster_jsonw_kstr(&w, "username", u->f[RU_USERNAME]);
    roster_jsonw_kstr(&w, "email", m_recipient);
    roster_jsonw_kstr(&w, "firstname", first);
    roster_jsonw_kstr(&w, "lastname", last);
    roster_jsonw_kstr(&w, "fullname", full);
    roster_jsonw_kstr(&w, "name", has_first ? first : full ? full : u->f[RU_USERNAME]);
    roster_jsonw_obj_end(&w);
    roster_jsonw_obj_end(&w);
    roster_buf_addch(content, '\0');

    struct roster_message m;
    memset(&m, 0, sizeof(m));
    memcpy(m.org_id, s->org_id, sizeof(m.org_id));
    m.kind = "activation_email";
    m.source_id = s->id;
    m.user_id = u->id;
    m.recipient = m_recipient;
    m.content_json = content->data;
    m.status = "ENQUEUED";
    int rc = core_outbox_add(conn, &m, 1, err);
    if (rc == 0)
        memcpy(s->message_id, m.id, sizeof(s->message_id));
    return rc;
}

/* Applies one claimed change and writes its outcome, inside the caller's transaction.
 * Returns 0 when the change is finished (applied or failed), else a code for the batch. */
static int apply_one(struct roster_conn *conn, struct roster_schedule *s, struct roster_arena *a,
                     struct roster_buf *content, struct roster_webhook_seen *seen,
                     struct roster_err *err)
{
    struct roster_ctx ctx = {.conn = conn, .arena = a, .org_id = s->org_id};
    struct roster_user patch, u;
    memset(&patch, 0, sizeof(patch));
    patch.state = s->state;
    patch.set = ROSTER_USET_STATE;
    struct roster_err ierr;
    roster_err_clear(&ierr);
    int status = ROSTER_SCHED_APPLIED;
    const char *outcome;
    int rc = roster_user_update(&ctx, s->user_id, &patch, false, &u, &ierr);
    if (rc == ROSTER_ENOTFOUND) {
        status = ROSTER_SCHED_FAILED;
        outcome = roster_arena_printf(a, "user \"%s\" not found", s->user_id);
    } else if (is_item_failure(rc)) {
        status = ROSTER_SCHED_FAILED;
        outcome = roster_arena_strdup(a, ierr.msg);
    } else if (rc) {
        *err = ierr;
        return rc;
    } else {
        outcome = roster_arena_printf(a, "user state set to %s", roster_state_name(s->state));
        s->message_id[0] = '\0';
        if (s->state == ROSTER_ACTIVATED && s->send_activation_email) {
            rc = queue_activation_email(conn, s, &u, content, a, err);
            if (rc)
                return rc;
        }
    }
    rc = roster_store_schedule_finish(conn, s, status, outcome, roster_now_ms(), err);
    if (rc == 0)
        rc = roster_webhook_schedule_done(conn, s, status == ROSTER_SCHED_APPLIED, outcome, seen, a,
                                          err);
    if (rc == 0)
        s->status = status;
    return rc;
}

/* Adds the outcomes of a committed batch to the metrics: applied, failed, and applied
 * more than ROSTER_SCHED_LATE_MS after the due time (the server was down, or the
 * scheduler behind). */
static void count_done(const struct roster_schedule *s, size_t n, int64_t now_ms)
{
    int64_t applied = 0, failed = 0, late = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].status != ROSTER_SCHED_APPLIED) {
            failed++;
            continue;
        }
        applied++;
        if (now_ms - s[i].due_ms > ROSTER_SCHED_LATE_MS)
            late++;
    }
    roster_metrics_schedules(applied, failed, late);
}

int roster_scheduler_run_due(struct roster_conn *conn, int64_t now_ms, size_t max,
                             struct roster_arena *a, size_t *done, struct roster_err *err)
{
    *done = 0;
    /* a cheap read first: an idle tick must not take the store's write lock */
    int64_t due;
    int rc = roster_store_schedule_next_due(conn, &due, err);
    if (rc == ROSTER_ENOTFOUND || (rc == 0 && due > now_ms)) {
        roster_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    struct roster_buf content;
    roster_buf_init(&content);
    bool in_tx = false;
    int64_t t_start = roster_monotonic_ms();
    rc = roster_store_begin(conn, err);
    if (rc)
        goto fail;
    in_tx = true;
    int64_t t_locked = roster_monotonic_ms();
    struct roster_schedule *s = NULL;
    size_t n = 0;
    rc = roster_store_schedule_claim_due(conn, now_ms, LEASE_MS, max, a, &s, &n, err);
    if (rc)
        goto fail;
    int64_t t_claimed = roster_monotonic_ms();
    /* the endpoints of an organisation are read once per batch (for its events) */
    struct roster_webhook_seen seen = {{0}, NULL, 0};
    for (size_t i = 0; i < n; i++) {
        rc = apply_one(conn, &s[i], a, &content, &seen, err);
        if (rc == ROSTER_ESTALE) {
            /* not ours any more (its lease ran out and another process finished it; the
             * claim in this transaction makes that rare): nothing of this batch may
             * commit, and the rollback frees every other claim of it for the next batch */
            roster_log(ROSTER_LOG_WARN, "scheduled change lost its lease; batch rolled back",
                       "schedule=%s batch=%zu", s[i].id, n);
            roster_err_clear(err);
            rc = 0;
            goto fail;
        }
        if (rc)
            goto fail;
    }
    int64_t t_applied = roster_monotonic_ms();
    in_tx = false;
    rc = roster_store_commit(conn, err);
    core_outbox_end(rc == 0);
    if (rc == 0) {
        *done = n;
        count_done(s, n, roster_now_ms());
    }
    /* one line per change this process applied: with several processes on one store, each
     * change shows up in exactly one process's log */
    for (size_t i = 0; rc == 0 && i < n; i++)
        roster_log(ROSTER_LOG_DEBUG, "scheduled change done", "schedule=%s user=%s status=%s",
                   s[i].id, s[i].user_id,
                   s[i].status == ROSTER_SCHED_APPLIED ? "applied" : "failed");
    if (n > 0)
        roster_log(ROSTER_LOG_DEBUG, "scheduler batch timing",
                   "n=%zu lock_wait_ms=%lld claim_ms=%lld apply_ms=%lld commit_ms=%lld", n,
                   (long long)(t_locked - t_start), (long long)(t_claimed - t_locked),
                   (long long)(t_applied - t_claimed),
                   (long long)(roster_monotonic_ms() - t_applied));
fail:
    if (in_tx) {
        roster_store_rollback(conn);
        core_outbox_end(false);
    }
    roster_buf_release(&content);
    return rc;
}

/* --- the thread --- */

struct roster_scheduler {
    struct roster_app *app;
    pthread_t thread;
    struct roster_wake wake; /* notified on new schedules and on stop */
};

void roster_scheduler_notify(struct roster_scheduler *s)
{
    if (s)
        roster_wake_notify(&s->wake);
}

/* How long to sleep after a batch that found nothing to do at now_ms. */
static int64_t idle_wait(struct roster_conn *conn, int64_t now_ms)
{
    struct roster_err err;
    roster_err_clear(&err);
    int64_t due;
    int rc = roster_store_schedule_next_due(conn, &due, &err);
    if (rc == ROSTER_ENOTFOUND)
        return IDLE_POLL_MS;
    if (rc) {
        roster_log(ROSTER_LOG_WARN, "scheduler cannot read the next due time",
                   "code=%s detail=\"%s\"", roster_code_name(rc), err.detail);
        return BACKOFF_MS;
    }
    if (due <= now_ms)
        return BACKOFF_MS; /* due, yet nothing was claimable: leased elsewhere */
    /* +1: wake at or just after the due millisecond, never just before it */
    int64_t wait = due - roster_now_ms() + 1;
    return wait < IDLE_POLL_MS ? wait : IDLE_POLL_MS;
}

static void *scheduler_main(void *arg)
{
    struct roster_scheduler *sch = arg;
    pthread_setname_np(pthread_self(), "roster-sched");
    struct roster_conn *conn = core_worker_conn(sch->app, "scheduler cannot open the store");
    if (!conn)
        return NULL;
    struct roster_err err = {0};
    struct roster_arena arena;
    roster_arena_init(&arena, 256 * 1024);
    for (;;) {
        uint64_t gen = roster_wake_generation(&sch->wake);
        if (roster_wake_stopped(&sch->wake))
            break;
        int64_t now = roster_now_ms(), t0 = roster_monotonic_ms();
        size_t done = 0;
        roster_err_clear(&err);
        int rc = roster_scheduler_run_due(conn, now, BATCH_MAX, &arena, &done, &err);
        roster_arena_clear(&arena);
        if (rc != 0) {
            roster_log(ROSTER_LOG_WARN, "scheduled changes not applied; they will be retried",
                       "code=%s msg=\"%s\" detail=\"%s\"", roster_code_name(rc), err.msg,
                       err.detail);
            roster_wake_wait(&sch->wake, gen, BACKOFF_MS);
            continue;
        }
        if (done > 0) {
            roster_log(ROSTER_LOG_DEBUG, "scheduled changes applied", "n=%zu ms=%lld", done,
                       (long long)(roster_monotonic_ms() - t0));
            continue; /* there may be more due right away */
        }
        roster_wake_wait(&sch->wake, gen, idle_wait(conn, now));
    }
    roster_conn_close(conn);
    roster_arena_release(&arena);
    return NULL;
}

int roster_scheduler_start(struct roster_app *app, struct roster_scheduler **out,
                           struct roster_err *err)
{
    struct roster_scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    s->app = app;
    roster_wake_init(&s->wake);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        roster_wake_release(&s->wake);
        free(s);
        return roster_err_set(err, ROSTER_EIO, "cannot start the scheduler thread");
    }
    *out = s;
    return 0;
}

void roster_scheduler_stop(struct roster_scheduler *s)
{
    if (!s)
        return;
    roster_wake_stop(&s->wake);
    pthread_join(s->thread, NULL);
    roster_wake_release(&s->wake);
    free(s);
}
