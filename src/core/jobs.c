/* The bulk job engine: the worker threads that claim, prepare and apply the chunks of bulk
 * jobs of any kind, and the result pages of a job by its kind.
 *
 * DESIGN
 * - A job's kind (src/core/jobkind.h: user creates and updates in job_users.c, message
 *   jobs in msgjobs.c) is all the engine knows of what a job does.
 * - A preparer thread leases one chunk (store chunk_claim) and has its kind prepare it
 *   outside any transaction. An applier thread then, in ONE transaction, renews the
 *   chunk's lease (a chunk that another process sharing the store took over while it
 *   waited is left out) and has its kind apply it, which writes the chunk's results with
 *   chunk_complete, failing if the lease was lost. So
 *   after a crash a chunk is either fully applied with its results or not at all, and it
 *   is simply claimed again: no item is lost or applied twice. An applier puts the chunks
 *   that are ready into the same transaction (group commit: up to BATCH_CHUNKS on an
 *   embedded store, MULTI_NODE_BATCH_CHUNKS on a multi-node one). There is one applier on
 *   an embedded store, --workers of them on a multi-node one.
 * - Only store failures (I/O, busy) roll a chunk back for a later retry; what an item's
 *   failure is, its kind decides.
 * - Threads: each preparer and applier owns its store connection. A prepared chunk
 *   (with its arena) moves from a preparer to an applier through a bounded queue under the
 *   engine mutex; the other shared state is the wake-up condition (condvar + generation
 *   counter).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jobkind.h"
#include "core/worker.h"
#include "roster/log.h"
#include "roster/metrics.h"
#include "roster/wake.h"

#define LEASE_MS 60000 /* default of --job-lease-ms */
#define IDLE_POLL_MS 1000
#define BATCH_CHUNKS 16           /* chunks applied in one transaction at most (embedded store) */
#define BATCH_ITEMS 10000         /* stop claiming once a batch has this many items */
#define MULTI_NODE_BATCH_CHUNKS 2 /* the same on a multi-node store (see "threads") */

/* --- result pages --- */

int roster_job_results(struct roster_ctx *ctx, const char *job_id, int64_t skip, int64_t limit,
                       struct roster_job *job, struct roster_item_result **out, size_t *n,
                       struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    int rc = roster_store_job_get(ctx->conn, ctx->org_id, job_id, job, ctx->arena, err);
    if (rc != 0)
        return rc;
    const struct roster_job_kind_ops *k = roster_job_kind_find(job->kind);
    if (!k || !k->results) /* e.g. message jobs: listed by roster_msgjob_items */
        return roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id);
    return k->results(ctx, job, skip, limit, out, n, err);
}

/* --- running a chunk --- */

/* A claimed chunk, prepared by a preparer thread and waiting for the applier. It owns its
 * arena (the chunk's strings and the decoded users) and is freed by the applier. */
struct prepared {
    struct prepared *next;
    struct roster_arena arena;
    struct roster_chunk ch;
    const struct roster_job_kind_ops *k; /* the chunk's kind, once prepared */
    void *state;                         /* what k->prepare made */
    bool lost; /* its lease was taken over while it waited (see renew_leases) */
};

/* Drops what the kind prepared (the arena is cleared or released by the caller). */
static void prepared_drop(struct prepared *p)
{
    if (p->k && p->k->release)
        p->k->release(p->state);
    p->k = NULL;
    p->state = NULL;
}

static void prepared_free(struct prepared *p)
{
    if (!p)
        return;
    prepared_drop(p);
    roster_arena_release(&p->arena);
    free(p);
}

/* Phase 1 for a claimed chunk, by its kind. */
static int prepare_chunk(struct prepared *p, struct roster_conn *conn, struct roster_err *err)
{
    const struct roster_job_kind_ops *k = roster_job_kind_find(p->ch.kind);
    if (!k)
        return roster_err_set(err, ROSTER_EINVAL, "job kind %d is unknown", p->ch.kind);
    int rc = k->prepare(conn, &p->ch, &p->arena, &p->state, err);
    if (rc == 0)
        p->k = k;
    return rc;
}

/* Inside the batch's transaction, extends the lease of every chunk of p[0..n) (by lease_ms
 * from now) and marks those whose lease is gone. A chunk may wait in the queue for longer
 * than its lease, and another process sharing the store may then have claimed it: such a
 * chunk is left out of the batch instead of making its commit fail. On a multi-node store
 * the renewal also locks the chunk's row until the commit, so that no other process can
 * claim it while it is being applied. */
static int renew_leases(struct roster_conn *conn, struct prepared **p, size_t n, int64_t lease_ms,
                        struct roster_err *err)
{
    int64_t until = roster_now_ms() + lease_ms;
    for (size_t c = 0; c < n; c++) {
        int rc = roster_store_chunk_renew(conn, &p[c]->ch, until, err);
        p[c]->lost = rc == ROSTER_ESTALE;
        if (p[c]->lost) {
            roster_log(ROSTER_LOG_WARN,
                       "chunk waited longer than its lease and another worker took it over",
                       "job=%s chunk=%lld lease_ms=%lld", p[c]->ch.job_id,
                       (long long)p[c]->ch.chunk_no, (long long)lease_ms);
            roster_err_clear(err);
        } else if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The item counts of the chunks completed in this thread's current batch, by kind, added
 * to the metrics once the batch commits (apply_batch). */
#define TALLY_KINDS 8
static _Thread_local int64_t tally_ok[TALLY_KINDS], tally_failed[TALLY_KINDS];

int roster_job_chunk_complete(struct roster_conn *conn, const struct roster_chunk *ch,
                              const char *results_json, int64_t nok, int64_t nfailed,
                              struct roster_err *err)
{
    int rc =
        roster_store_chunk_complete(conn, ch, results_json, nok, nfailed, roster_now_ms(), err);
    if (rc == 0)
        rc = roster_webhook_job_chunk_done(conn, ch, err);
    if (rc == 0) {
        int k = ch->kind > 0 && ch->kind < TALLY_KINDS ? ch->kind : 0;
        tally_ok[k] += nok;
        tally_failed[k] += nfailed;
    }
    return rc;
}

/* Phase 2 for p[0..n) in ONE transaction (group commit: one fsync for all of them). */
static int apply_batch(struct roster_conn *conn, struct prepared **p, size_t n, int64_t lease_ms,
                       struct roster_err *err)
{
    int rc = 0;
    int64_t t0 = roster_monotonic_ms();
    memset(tally_ok, 0, sizeof(tally_ok));
    memset(tally_failed, 0, sizeof(tally_failed));
    rc = roster_store_begin(conn, err);
    if (rc != 0)
        goto done;
    int64_t t_locked = roster_monotonic_ms();
    rc = renew_leases(conn, p, n, lease_ms, err);
    for (size_t c = 0; c < n && rc == 0; c++)
        if (!p[c]->lost)
            rc = p[c]->k->apply(conn, &p[c]->ch, &p[c]->arena, p[c]->state, err);
    if (rc != 0) {
        roster_store_rollback(conn);
        goto done;
    }
    int64_t t_applied = roster_monotonic_ms();
    rc = roster_store_commit(conn, err);
    for (int k = 0; rc == 0 && k < TALLY_KINDS; k++)
        roster_metrics_items(k, tally_ok[k], tally_failed[k]);
    roster_log(ROSTER_LOG_DEBUG, "batch timing",
               "chunks=%zu lock_wait_ms=%lld apply_ms=%lld commit_ms=%lld", n,
               (long long)(t_locked - t0), (long long)(t_applied - t_locked),
               (long long)(roster_monotonic_ms() - t_applied));
done:
    core_outbox_end(rc == 0); /* wakes the delivery workers if the batch wrote messages */
    return rc;
}

int roster_jobs_run_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_err *err)
{
    struct prepared *p = calloc(1, sizeof(*p));
    if (!p)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    roster_arena_init(&p->arena, 64 * 1024);
    p->ch = *ch;
    int rc = prepare_chunk(p, conn, err);
    if (rc == 0)
        rc = apply_batch(conn, &p, 1, LEASE_MS, err);
    if (rc == 0 && p->lost)
        rc = roster_err_set(err, ROSTER_ESTALE,
                            "chunk %lld of job \"%s\" is leased to another worker",
                            (long long)ch->chunk_no, ch->job_id);
    prepared_free(p);
    return rc;
}

/* --- threads --- */

/* Preparers (--workers of them) claim chunks and decode/validate them in parallel; on an
 * embedded store ONE applier writes them, as many as are ready in one transaction. A
 * single writing connection keeps its page cache warm (SQLite drops a connection's cache
 * whenever another connection has committed) and batches grow by themselves when writes
 * are the bottleneck. Measured (bench/bulk_create, 100,000 users, random usernames): two
 * workers that each prepared and wrote reached 29-31k users/s, one such worker 41-44k.
 * A multi-node store runs each applier's transaction in its own server process, so there
 * --workers appliers write in parallel (PostgreSQL, 1 roster process, alternating runs:
 * 16-31k users/s with two appliers, 12-18k with one). There a commit is one WAL flush, so
 * each applier takes at most MULTI_NODE_BATCH_CHUNKS and never lingers: when the first to
 * wake took every ready chunk, the other appliers' server processes sat idle (median
 * 41,955 -> 46,092 users/s with batches of two). */
#define QUEUE_MAX BATCH_CHUNKS /* prepared chunks waiting for the applier (bounds memory) */
#define BATCH_LINGER_MS 100

struct roster_jobs {
    struct roster_app *app;
    pthread_t *threads; /* preparers */
    int nthreads;
    pthread_t *appliers;
    int nappliers;
    struct roster_wake wake; /* new work stored (a job, or a chunk became claimable), stop */
    pthread_mutex_t mu;      /* guards the queue and stop */
    pthread_cond_t queue_cv; /* queue changed (item added or removed), or stop */
    struct prepared *head, *tail;
    int queued;
    bool stop;
    bool preparers_done; /* set once every preparer has exited: nothing more gets queued */
    size_t batch_chunks; /* chunks an applier takes for one transaction at most */
    int64_t linger_ms;   /* how long a batch may grow after the previous commit */
};

static int64_t job_lease_ms(const struct roster_jobs *jobs)
{
    return jobs->app->cfg.job_lease_ms > 0 ? jobs->app->cfg.job_lease_ms : LEASE_MS;
}

void roster_jobs_notify(struct roster_jobs *jobs)
{
    if (jobs)
        roster_wake_notify(&jobs->wake);
}

/* A job thread: loop on the thread's own store connection (none after logging failure). */
static void *job_thread(struct roster_jobs *jobs, const char *failure,
                        void (*loop)(struct roster_jobs *, struct roster_conn *))
{
    struct roster_conn *conn = core_worker_conn(jobs->app, failure);
    if (conn) {
        loop(jobs, conn);
        roster_conn_close(conn);
    }
    return NULL;
}

/* Claims and prepares chunks into the queue until the engine stops. */
static void prepare_loop(struct roster_jobs *jobs, struct roster_conn *conn)
{
    struct roster_err err = {0};
    struct prepared *p = NULL;
    for (;;) {
        pthread_mutex_lock(&jobs->mu);
        while (!jobs->stop && jobs->queued >= QUEUE_MAX)
            pthread_cond_wait(&jobs->queue_cv, &jobs->mu);
        bool stop = jobs->stop;
        pthread_mutex_unlock(&jobs->mu);
        uint64_t gen = roster_wake_generation(&jobs->wake);
        if (stop)
            break;
        if (!p) {
            p = calloc(1, sizeof(*p));
            if (!p) {
                roster_wake_wait(&jobs->wake, gen, 100);
                continue;
            }
            roster_arena_init(&p->arena, 64 * 1024);
        }
        roster_err_clear(&err);
        int rc = roster_store_chunk_claim(conn, roster_now_ms(), job_lease_ms(jobs), &p->ch,
                                          &p->arena, &err);
        bool claimed = rc == 0;
        if (rc == 0)
            rc = prepare_chunk(p, conn, &err);
        if (rc == 0) {
            pthread_mutex_lock(&jobs->mu);
            if (jobs->tail)
                jobs->tail->next = p;
            else
                jobs->head = p;
            jobs->tail = p;
            jobs->queued++;
            pthread_cond_broadcast(&jobs->queue_cv);
            pthread_mutex_unlock(&jobs->mu);
            p = NULL;
            continue;
        }
        if (claimed)
            roster_log(ROSTER_LOG_WARN,
                       "chunk not prepared; it will be retried when its lease expires",
                       "job=%s chunk=%lld code=%s msg=\"%s\" detail=\"%s\"", p->ch.job_id,
                       (long long)p->ch.chunk_no, roster_code_name(rc), err.msg, err.detail);
        else if (rc != ROSTER_ENOTFOUND)
            roster_log(ROSTER_LOG_WARN, "chunk claim failed", "code=%s detail=\"%s\"",
                       roster_code_name(rc), err.detail);
        prepared_drop(p);
        roster_arena_clear(&p->arena);
        /* idle (or backing off after a failure): wait for a notify or the poll interval */
        roster_wake_wait(&jobs->wake, gen, rc == ROSTER_ENOTFOUND ? IDLE_POLL_MS : 100);
    }
    prepared_free(p);
}

static void log_chunk_failure(const struct roster_chunk *ch, int rc, const struct roster_err *err)
{
    roster_log(ROSTER_LOG_WARN, "chunk not applied; it will be retried when its lease expires",
               "job=%s chunk=%lld code=%s msg=\"%s\" detail=\"%s\"", ch->job_id,
               (long long)ch->chunk_no, roster_code_name(rc), err->msg, err->detail);
}

/* Applies the queue's prepared chunks in batches until the engine stops. */
static void apply_loop(struct roster_jobs *jobs, struct roster_conn *conn)
{
    struct roster_err err = {0};
    struct prepared *batch[BATCH_CHUNKS];
    int64_t last_commit_ms = 0;
    for (;;) {
        size_t n = 0;
        int64_t items = 0;
        pthread_mutex_lock(&jobs->mu);
        /* on stop, whatever is already prepared is still applied, including what a
         * preparer is still preparing: its chunk is claimed, and a chunk left claimed
         * would hold up every other process sharing the store until its lease expires */
        while (!jobs->head && !(jobs->stop && jobs->preparers_done))
            pthread_cond_wait(&jobs->queue_cv, &jobs->mu);
        /* Under load, let a batch grow for up to BATCH_LINGER_MS after the previous commit
         * (embedded store only): with random usernames and e-mails a commit rewrites most
         * pages of those indexes whatever its size, so fewer, larger commits write far
         * less. An idle server (last commit long ago) commits at once. */
        struct timespec linger;
        roster_deadline_after(&linger, last_commit_ms + jobs->linger_ms - roster_monotonic_ms());
        while (!jobs->stop && (size_t)jobs->queued < jobs->batch_chunks / 2 &&
               roster_monotonic_ms() < last_commit_ms + jobs->linger_ms)
            if (pthread_cond_timedwait(&jobs->queue_cv, &jobs->mu, &linger) != 0)
                break;
        while (jobs->head && n < jobs->batch_chunks && items < BATCH_ITEMS) {
            struct prepared *p = jobs->head;
            jobs->head = p->next;
            if (!jobs->head)
                jobs->tail = NULL;
            jobs->queued--;
            p->next = NULL;
            items += p->ch.count;
            batch[n++] = p;
        }
        bool stop = jobs->stop && jobs->preparers_done;
        pthread_cond_broadcast(&jobs->queue_cv);
        pthread_mutex_unlock(&jobs->mu);
        if (n == 0 && stop)
            break;
        roster_err_clear(&err);
        int rc = apply_batch(conn, batch, n, job_lease_ms(jobs), &err);
        last_commit_ms = roster_monotonic_ms();
        if (rc != 0) {
            /* one chunk's trouble must not hold back the others: retry them one by one (also
             * a batch of one: a dropped store connection is back by now, and the chunk would
             * otherwise wait for its lease to expire) */
            roster_log(ROSTER_LOG_WARN, "batch rolled back; retrying its chunks one by one",
                       "chunks=%zu code=%s detail=\"%s\"", n, roster_code_name(rc), err.detail);
            for (size_t i = 0; i < n; i++) {
                roster_err_clear(&err);
                rc = apply_batch(conn, &batch[i], 1, job_lease_ms(jobs), &err);
                if (rc != 0)
                    log_chunk_failure(&batch[i]->ch, rc, &err);
            }
        }
        for (size_t i = 0; i < n; i++)
            prepared_free(batch[i]);
        /* the next chunk of these jobs became claimable */
        roster_jobs_notify(jobs);
    }
}

static void *preparer_main(void *arg)
{
    return job_thread(arg, "job worker cannot open the store", prepare_loop);
}

static void *applier_main(void *arg)
{
    return job_thread(arg, "job applier cannot open the store", apply_loop);
}

/* n threads running fn(jobs), their handles in a new array *threads; returns how many
 * started (0 when none could). */
static int start_threads(pthread_t **threads, int n, void *(*fn)(void *), struct roster_jobs *jobs)
{
    *threads = calloc((size_t)n, sizeof(pthread_t));
    int started = 0;
    while (*threads && started < n && pthread_create(&(*threads)[started], NULL, fn, jobs) == 0)
        started++;
    return started;
}

int roster_jobs_start(struct roster_app *app, int nworkers, struct roster_jobs **out,
                      struct roster_err *err)
{
    struct roster_jobs *jobs = calloc(1, sizeof(*jobs));
    if (!jobs)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    jobs->app = app;
    roster_wake_init(&jobs->wake);
    pthread_mutex_init(&jobs->mu, NULL);
    pthread_cond_init(&jobs->queue_cv, NULL);
    if (nworkers < 1)
        nworkers = 1;
    /* Several appliers only where several writers make sense: an embedded store has one
     * writer at a time (and keeps its page cache warm with one), a multi-node store takes
     * each applier's transaction in its own server process. */
    bool multi_node = roster_store_flags(app->store) & ROSTER_STORE_MULTI_NODE;
    int nappliers = multi_node ? nworkers : 1;
    jobs->batch_chunks = multi_node ? MULTI_NODE_BATCH_CHUNKS : BATCH_CHUNKS;
    jobs->linger_ms = multi_node ? 0 : BATCH_LINGER_MS;
    jobs->nappliers = start_threads(&jobs->appliers, nappliers, applier_main, jobs);
    if (jobs->nappliers == 0)
        goto fail;
    jobs->nthreads = start_threads(&jobs->threads, nworkers, preparer_main, jobs);
    if (jobs->nthreads == 0)
        goto fail;
    app->job_wake = &jobs->wake;
    *out = jobs;
    return 0;
fail:
    roster_jobs_stop(jobs);
    return roster_err_set(err, ROSTER_EIO, "cannot start job workers");
}

void roster_jobs_stop(struct roster_jobs *jobs)
{
    if (!jobs)
        return;
    if (jobs->app && jobs->app->job_wake == &jobs->wake)
        jobs->app->job_wake = NULL;
    pthread_mutex_lock(&jobs->mu);
    jobs->stop = true;
    pthread_cond_broadcast(&jobs->queue_cv);
    pthread_mutex_unlock(&jobs->mu);
    roster_wake_stop(&jobs->wake);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    pthread_mutex_lock(&jobs->mu);
    jobs->preparers_done = true;
    pthread_cond_broadcast(&jobs->queue_cv);
    pthread_mutex_unlock(&jobs->mu);
    for (int i = 0; i < jobs->nappliers; i++)
        pthread_join(jobs->appliers[i], NULL);
    /* prepared but unapplied chunks (only if the applier could not start) */
    while (jobs->head) {
        struct prepared *p = jobs->head;
        jobs->head = p->next;
        prepared_free(p);
    }
    roster_wake_release(&jobs->wake);
    pthread_mutex_destroy(&jobs->mu);
    pthread_cond_destroy(&jobs->queue_cv);
    free(jobs->threads);
    free(jobs->appliers);
    free(jobs);
}
