/* Outbox delivery (include/roster/delivery.h, docs/delivery.md).
 *
 * One pool of worker threads per registered channel (its `sessions` of them), each worker
 * with its own store connection and its own session of the channel (an SMTP session keeps
 * its connection). A worker claims a small batch of its channel's due messages (a lease of
 * cfg.delivery_lease_ms), sends them one after the other, and records the batch's outcomes
 * in one store call. Pools never share messages, so a slow relay stalls only its own
 * channel.
 *
 * - Crash: a message whose outcome is not recorded is claimed again when its lease
 *   expires, or at the next start of an embedded store (lease_reset_all): it is sent at
 *   most once more per crash, with the same Message-ID. Past half its lease a worker stops
 *   sending its batch and hands the rest back untried, so a slow relay never lets a lease
 *   expire under a message being sent.
 * - Destinations: before a send the worker counts it against its destination in the
 *   pool's table (roster_dest_limits), unless the pool has no more workers than the limit
 *   (then no destination can exceed it: no bookkeeping, no destination look-up); a message whose
 * destination already has its limit of sends under way in this process is handed back untried, due
 * again ROSTER_DELIVERY_BUSY_MS later (no attempt counted), and the worker goes on with the rest of
 * its batch, so other destinations' messages go first.
 * - Waking: a pool's workers sleep on its roster_wake, notified (every pool's) when this
 *   process commits new messages (core_outbox_end, src/core/outbox.c) or makes one due now
 *   (roster outbox retry), and (this pool's alone) when one of its workers claimed a full
 *   batch. The pool's first worker polls: every DELIVERY_POLL_MS on a multi-node store
 *   (other processes write messages too), every DELIVERY_POLL_EMBEDDED_MS on an embedded
 *   one, and never later than the earliest retry this pool recorded; the others, idle,
 *   close their store connection and wait for a wake (DELIVERY_HELPER_IDLE_MS at most).
 * - Threads: the channel table is written before the engine starts and only read while it
 *   runs; `running` (the engine that roster_delivery_notify wakes) is under running_mu.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "roster/core.h"
#include "roster/delivery.h"
#include "roster/log.h"
#include "core/worker.h"
#include "roster/store.h"
#include "roster/template.h"
#include "roster/util.h"
#include "roster/wake.h"
#include "roster/webhook.h"

#define DELIVERY_BATCH 16    /* messages a worker claims at once (unless its channel says) */
#define DELIVERY_POLL_MS 250 /* idle look on a multi-node store */
#define DELIVERY_POLL_EMBEDDED_MS 2000 /* idle look on an embedded store (wakes do the rest) */
/* A pool's other workers, idle, hold no store connection (a server has one per worker on
 * PostgreSQL otherwise, busy or not) and wait for a wake: new messages committed here, or
 * a worker that claimed a full batch (more may wait). They look again after this anyway. */
#define DELIVERY_HELPER_IDLE_MS 30000
#define CHANNELS_MAX 8
#define WORKERS_MAX 256

static const struct roster_channel *channels[CHANNELS_MAX];
static size_t nchannels;

static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static struct roster_delivery *running;

int roster_channel_register(const struct roster_channel *ch)
{
    if (nchannels == CHANNELS_MAX)
        return ROSTER_ENOMEM;
    channels[nchannels++] = ch;
    return 0;
}

void roster_channel_clear(void)
{
    nchannels = 0;
}

int64_t roster_delivery_retry_at(int64_t created_ms, int64_t now_ms, int attempt,
                                 int64_t backoff_ms, int64_t lifetime_ms, double r)
{
    int64_t delay = backoff_ms > 0 ? backoff_ms : 1;
    for (int i = 1; i < attempt && delay < ROSTER_DELIVERY_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > ROSTER_DELIVERY_BACKOFF_MAX_MS)
        delay = ROSTER_DELIVERY_BACKOFF_MAX_MS;
    delay = (int64_t)((double)delay * (0.8 + 0.4 * r));
    int64_t at = now_ms + (delay > 0 ? delay : 1);
    return at > created_ms + lifetime_ms ? -1 : at;
}

struct pool {
    struct roster_delivery *d;
    const struct roster_channel *ch;
    struct roster_dest_limits limits;
    /* more workers than the limit: sends are counted per destination (with at most as
     * many workers as the limit, no destination can have more sends than that) */
    bool limited;
    pthread_mutex_t mu;
    int64_t next_due; /* the earliest retry a worker recorded (INT64_MAX: none); under mu */
    /* its workers sleep on it: new messages (every pool's), a full batch claimed by one of
     * them (this pool's alone: another channel's workers are not woken for nothing), stop */
    struct roster_wake wake;
};

struct worker {
    struct pool *pool;
    pthread_t thread;
    bool started;
    bool first; /* the pool's first worker: polls while idle, and keeps its connection */
    void *session;
};

struct roster_delivery {
    struct roster_app *app;
    int64_t lease_ms, backoff_ms, lifetime_ms, poll_ms;
    struct pool pools[CHANNELS_MAX];
    size_t npools;
    struct worker *workers;
    size_t nworkers;
};

void roster_delivery_notify(void)
{
    pthread_mutex_lock(&running_mu);
    if (running)
        for (size_t k = 0; k < running->npools; k++)
            roster_wake_notify(&running->pools[k].wake);
    pthread_mutex_unlock(&running_mu);
}

static double random_unit(void)
{
    uint32_t r;
    roster_random(&r, sizeof(r));
    return (double)r / 4294967296.0;
}

/* The outcome of one attempt at claimed through the worker's channel (*gone: the
 * destination is gone for good, e.g. a webhook endpoint's 410). A message that names a
 * stored template reaches the channel with the template's content in it
 * (roster_template_resolve, on this worker's connection). */
static void attempt(struct worker *w, struct roster_conn *conn,
                    const struct roster_message *claimed, struct roster_arena *a,
                    struct roster_message_outcome *o, bool *gone)
{
    struct roster_delivery *d = w->pool->d;
    const struct roster_channel *ch = w->pool->ch;
    memset(o, 0, sizeof(*o));
    o->id = claimed->id;
    o->lease_token = claimed->lease_token;
    o->attempted = true;
    struct roster_message resolved = *claimed, *m = &resolved;
    const char *reason = NULL;
    int64_t retry_at = 0;
    struct roster_err terr = {0};
    enum roster_delivery_result res;
    int trc = roster_template_resolve(conn, claimed, a, &resolved.content_json, &reason, &terr);
    if (trc) {
        res = ROSTER_DELIVERY_TEMPORARY;
        reason = roster_arena_printf(a, "template look-up failed: %s", terr.msg);
    } else if (reason) {
        res = ROSTER_DELIVERY_PERMANENT;
    } else {
        if (!w->session)
            w->session = ch->session_open(ch);
        if (!w->session) {
            res = ROSTER_DELIVERY_TEMPORARY;
            reason = roster_arena_printf(a, "the %s channel cannot open a session", ch->name);
        } else {
            res = ch->send(w->session, m, a, &reason, &retry_at);
        }
    }
    if (res == ROSTER_DELIVERY_GONE) {
        *gone = true;
        res = ROSTER_DELIVERY_PERMANENT;
    }
    int64_t now = roster_now_ms();
    o->reason = reason;
    if (res == ROSTER_DELIVERY_SENT) {
        o->status = "SENT";
        o->at_ms = now;
        o->reason = NULL;
        return;
    }
    if (res == ROSTER_DELIVERY_PERMANENT) {
        o->status = "UNDELIVERABLE";
        return;
    }
    int n = (int)(m->attempts + 1);
    int64_t at = roster_delivery_retry_at(m->created_ms, now, n, d->backoff_ms, d->lifetime_ms,
                                          random_unit());
    if (retry_at > 0) /* the destination said when (Retry-After) */
        at = retry_at > m->created_ms + d->lifetime_ms ? -1 : retry_at > now ? retry_at : now;
    if (at < 0) {
        o->status = "UNDELIVERABLE";
        o->reason = roster_arena_printf(a, "gave up after %d attempts in %lld s: %s", n,
                                        (long long)(d->lifetime_ms / 1000),
                                        reason ? reason : "temporary failure");
        return;
    }
    o->status = "ENQUEUED";
    o->due_ms = at;
}

/* m handed back untried (no attempt counted, its last failure kept), due again at due_ms. */
static void hand_back(const struct roster_message *m, int64_t due_ms,
                      struct roster_message_outcome *o)
{
    *o = (struct roster_message_outcome){.id = m->id,
                                         .lease_token = m->lease_token,
                                         .status = "ENQUEUED",
                                         .reason = m->reason,
                                         .due_ms = due_ms};
}

/* Claims, delivers and records one batch of the worker's channel. *claimed: how many
 * messages it claimed (0: none due, or a store failure, logged); *tried: how many it sent
 * or tried to send (the others were handed back). */
static void one_batch(struct worker *w, struct roster_conn *conn, struct roster_arena *a,
                      size_t *claimed, size_t *tried)
{
    struct pool *pool = w->pool;
    struct roster_delivery *d = pool->d;
    const struct roster_channel *ch = pool->ch;
    struct roster_err err = {0};
    struct roster_message *v;
    size_t n;
    *claimed = *tried = 0;
    int64_t t0 = roster_now_ms();
    size_t batch = ch->batch > 0 ? (size_t)ch->batch : DELIVERY_BATCH;
    if (roster_store_message_claim(conn, ch->name, t0, d->lease_ms, batch, a, &v, &n, &err)) {
        roster_log(ROSTER_LOG_WARN, "outbox claim failed", "channel=%s error=\"%s %s\"", ch->name,
                   err.msg, err.detail);
        return;
    }
    if (n == 0)
        return;
    /* the webhook messages' endpoints, through core (the channel never reads the store) */
    bool unread = roster_webhook_attach(conn, v, n, a, &err) != 0;
    if (unread)
        roster_log(ROSTER_LOG_WARN, "webhook endpoints not read; batch handed back",
                   "error=\"%s %s\"", err.msg, err.detail);
    struct roster_message_outcome *o = roster_arena_zalloc(a, n * sizeof(*o));
    bool *gone = roster_arena_zalloc(a, n * sizeof(*gone));
    int64_t next_due = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t now = roster_now_ms();
        if (unread || now - t0 > d->lease_ms / 2 || roster_wake_stopped(&pool->wake)) {
            hand_back(&v[i], now, &o[i]); /* due again at once */
            continue;
        }
        const char *dest = NULL;
        if (pool->limited) {
            dest = ch->destination ? ch->destination(ch, &v[i], a) : NULL;
            if (!dest)
                dest = ""; /* the channel as a whole */
        }
        if (dest && !roster_dest_limits_enter(&pool->limits, dest)) {
            hand_back(&v[i], now + ROSTER_DELIVERY_BUSY_MS, &o[i]);
            if (o[i].due_ms < next_due)
                next_due = o[i].due_ms;
            continue;
        }
        attempt(w, conn, &v[i], a, &o[i], &gone[i]);
        if (dest)
            roster_dest_limits_leave(&pool->limits, dest);
        (*tried)++;
        if (strcmp(o[i].status, "ENQUEUED") == 0 && o[i].due_ms < next_due)
            next_due = o[i].due_ms;
        if (strcmp(o[i].status, "SENT") != 0)
            roster_log(ROSTER_LOG_INFO, "message not delivered",
                       "id=%s channel=%s status=%s attempts=%lld reason=\"%s\"", v[i].id, ch->name,
                       o[i].status, (long long)v[i].attempts + 1, o[i].reason ? o[i].reason : "");
    }
    size_t recorded = 0;
    int rrc = roster_outbox_record(conn, v, o, gone, n, &recorded, a, &err);
    core_outbox_end(rrc == 0); /* events it wrote (message.sent, ...) wake the workers */
    if (rrc != 0)
        roster_log(ROSTER_LOG_WARN, "outbox outcomes not recorded (sent again after the lease)",
                   "messages=%zu error=\"%s %s\"", n, err.msg, err.detail);
    else if (recorded < n)
        roster_log(ROSTER_LOG_WARN, "outbox claim lost before the outcomes were recorded",
                   "messages=%zu recorded=%zu", n, recorded);
    if (next_due != INT64_MAX) {
        pthread_mutex_lock(&pool->mu);
        if (next_due < pool->next_due)
            pool->next_due = next_due;
        pthread_mutex_unlock(&pool->mu);
    }
    *claimed = n;
}

/* How long an idle worker of pool sleeps: the poll, or until the earliest retry it knows. */
static int64_t idle_ms(struct pool *pool)
{
    int64_t wait = pool->d->poll_ms, now = roster_now_ms();
    pthread_mutex_lock(&pool->mu);
    if (pool->next_due <= now)
        pool->next_due = INT64_MAX; /* come due: this claim found it, or another worker did */
    else if (pool->next_due - now < wait)
        wait = pool->next_due - now;
    pthread_mutex_unlock(&pool->mu);
    return wait;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *pool = w->pool;
    struct roster_delivery *d = pool->d;
    pthread_setname_np(pthread_self(), "roster-deliver");
    struct roster_conn *conn = NULL;
    struct roster_arena a;
    roster_arena_init(&a, 0);
    while (!roster_wake_stopped(&pool->wake)) {
        uint64_t gen = roster_wake_generation(&pool->wake);
        struct roster_err err = {0};
        if (!conn && roster_app_conn_open(d->app, &conn, &err) != 0) {
            roster_log(ROSTER_LOG_WARN, "delivery: no store connection", "error=\"%s %s\"", err.msg,
                       err.detail);
            conn = NULL;
            roster_wake_wait(&pool->wake, gen, 1000);
            continue;
        }
        size_t claimed, tried;
        one_batch(w, conn, &a, &claimed, &tried);
        roster_arena_clear(&a);
        const struct roster_channel *ch = pool->ch;
        if (claimed > 0 && tried == 0) { /* all for busy destinations: let their sends end */
            roster_wake_wait(&pool->wake, gen, ROSTER_DELIVERY_BUSY_MS);
        } else if (claimed >= (ch->batch > 0 ? (size_t)ch->batch : DELIVERY_BATCH)) {
            roster_wake_notify(&pool->wake); /* a full batch: more may wait, call the others */
        } else if (claimed == 0 && w->first) {
            roster_wake_wait(&pool->wake, gen, idle_ms(pool));
        } else if (claimed == 0) {
            roster_app_conn_close(conn);
            conn = NULL;
            roster_wake_wait(&pool->wake, gen, DELIVERY_HELPER_IDLE_MS);
        }
    }
    if (w->session)
        pool->ch->session_close(w->session);
    roster_app_conn_close(conn);
    roster_arena_release(&a);
    return NULL;
}

int roster_delivery_start(struct roster_app *app, struct roster_delivery **out,
                          struct roster_err *err)
{
    *out = NULL;
    size_t nworkers = 0;
    for (size_t k = 0; k < nchannels; k++)
        nworkers += (size_t)(channels[k]->sessions > 0 ? channels[k]->sessions : 1);
    if (nworkers == 0)
        return 0;
    if (nworkers > WORKERS_MAX)
        return roster_err_set(err, ROSTER_EINVAL, "%zu delivery workers is more than %d", nworkers,
                              WORKERS_MAX);
    struct roster_delivery *d = calloc(1, sizeof(*d));
    struct worker *ws = calloc(nworkers, sizeof(*ws));
    if (!d || !ws) {
        free(d);
        free(ws);
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    }
    d->app = app;
    d->workers = ws;
    const struct roster_config *cfg = &app->cfg;
    d->lease_ms =
        cfg->delivery_lease_ms > 0 ? cfg->delivery_lease_ms : ROSTER_DELIVERY_LEASE_MS_DEFAULT;
    d->backoff_ms = cfg->delivery_backoff_ms > 0 ? cfg->delivery_backoff_ms
                                                 : ROSTER_DELIVERY_BACKOFF_MS_DEFAULT;
    d->lifetime_ms = (cfg->delivery_lifetime_s > 0 ? cfg->delivery_lifetime_s
                                                   : ROSTER_DELIVERY_LIFETIME_S_DEFAULT) *
                     1000;
    d->poll_ms = (roster_store_flags(app->store) & ROSTER_STORE_MULTI_NODE)
                     ? DELIVERY_POLL_MS
                     : DELIVERY_POLL_EMBEDDED_MS;
    int per_dest = cfg->delivery_per_destination > 0 ? cfg->delivery_per_destination
                                                     : ROSTER_DELIVERY_PER_DESTINATION_DEFAULT;
    d->npools = nchannels;
    size_t i = 0;
    for (size_t k = 0; k < nchannels; k++) {
        struct pool *p = &d->pools[k];
        p->d = d;
        p->ch = channels[k];
        p->next_due = INT64_MAX;
        pthread_mutex_init(&p->mu, NULL);
        roster_wake_init(&p->wake);
        roster_dest_limits_init(
            &p->limits, channels[k]->per_destination > 0 ? channels[k]->per_destination : per_dest);
        int nw = channels[k]->sessions > 0 ? channels[k]->sessions : 1;
        p->limited = nw > p->limits.limit;
        for (int s = 0; s < nw; s++) {
            ws[i].first = s == 0;
            ws[i++].pool = p;
        }
    }
    for (i = 0; i < nworkers; i++) {
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            roster_delivery_stop(d);
            return roster_err_set(err, ROSTER_ENOMEM, "cannot start the delivery workers");
        }
        ws[i].started = true;
        d->nworkers = i + 1;
    }
    pthread_mutex_lock(&running_mu);
    running = d;
    pthread_mutex_unlock(&running_mu);
    for (size_t k = 0; k < d->npools; k++)
        roster_log(ROSTER_LOG_INFO, "delivery started",
                   "channel=%s workers=%d per_destination=%d lease_ms=%lld backoff_ms=%lld",
                   d->pools[k].ch->name,
                   d->pools[k].ch->sessions > 0 ? d->pools[k].ch->sessions : 1,
                   d->pools[k].limits.limit, (long long)d->lease_ms, (long long)d->backoff_ms);
    *out = d;
    return 0;
}

void roster_delivery_stop(struct roster_delivery *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&running_mu);
    if (running == d)
        running = NULL;
    pthread_mutex_unlock(&running_mu);
    for (size_t k = 0; k < d->npools; k++)
        roster_wake_stop(&d->pools[k].wake);
    for (size_t i = 0; i < d->nworkers; i++)
        if (d->workers[i].started)
            pthread_join(d->workers[i].thread, NULL);
    for (size_t k = 0; k < d->npools; k++) {
        roster_dest_limits_release(&d->pools[k].limits);
        pthread_mutex_destroy(&d->pools[k].mu);
        roster_wake_release(&d->pools[k].wake);
    }
    free(d->workers);
    free(d);
}
