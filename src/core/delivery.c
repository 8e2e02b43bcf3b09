/* Outbox delivery (include/roster/delivery.h, docs/delivery.md).
 *
 * Worker threads, one per session of each registered channel, each with its own store
 * connection. A worker claims a small batch of due messages (a lease of
 * cfg.delivery_lease_ms), hands each to the first channel that accepts it (opening its
 * session of that channel on first use and keeping it: an SMTP session keeps its
 * connection), and records the batch's outcomes in one store call. A message whose outcome
 * is not recorded (a crash) is claimed again when its lease expires, or at the next start
 * of an embedded store (lease_reset_all): it is sent at most once more per crash, with
 * the same Message-ID. Past half its lease a worker stops sending its batch and hands the
 * rest back untried, so a slow relay never lets a lease expire under a message being sent.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "roster/core.h"
#include "roster/delivery.h"
#include "roster/log.h"
#include "roster/store.h"
#include "roster/template.h"
#include "roster/util.h"
#include "roster/wake.h"
#include "roster/webhook.h"

#define DELIVERY_BATCH 16    /* messages a worker claims at once (unless its channel says) */
#define DELIVERY_IDLE_MS 250 /* a worker that found nothing due looks again after this */
/* A channel's other workers, idle, hold no store connection (a server has one per worker
 * on PostgreSQL otherwise, busy or not) and wait for the first worker's call: it claimed a
 * full batch, so more may wait. They look again after this anyway. */
#define DELIVERY_HELPER_IDLE_MS 30000
#define CHANNELS_MAX 8
#define WORKERS_MAX 256

static const struct roster_channel *channels[CHANNELS_MAX];
static size_t nchannels;

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

struct worker {
    struct roster_delivery *d;
    pthread_t thread;
    bool started;
    size_t channel; /* in channels: the channel whose messages this worker claims */
    bool first;     /* the channel's first worker: polls while idle, calls the others */
    void *sessions[CHANNELS_MAX];
};

struct roster_delivery {
    struct roster_app *app;
    struct roster_wake wake; /* stop */
    int64_t lease_ms, backoff_ms, lifetime_ms;
    struct worker *workers;
    size_t nworkers;
};

static double random_unit(void)
{
    uint32_t r;
    roster_random(&r, sizeof(r));
    return (double)r / 4294967296.0;
}

/* The outcome of one attempt at claimed by this worker's channel (*gone: the destination
 * is gone for good, e.g. a webhook endpoint's 410). A message that names a stored template
 * reaches the channel with the template's content in it (roster_template_resolve, on this
 * worker's connection). */
static void attempt(struct worker *w, struct roster_conn *conn,
                    const struct roster_message *claimed, struct roster_arena *a,
                    struct roster_message_outcome *o, bool *gone)
{
    struct roster_delivery *d = w->d;
    memset(o, 0, sizeof(*o));
    o->id = claimed->id;
    o->lease_token = claimed->lease_token;
    o->attempted = true;
    struct roster_message resolved = *claimed, *m = &resolved;
    size_t k = w->channel;
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
    } else if (!channels[k]->accepts(channels[k], m)) {
        res = ROSTER_DELIVERY_PERMANENT;
        reason = roster_arena_printf(a, "no delivery channel takes messages of kind \"%s\"",
                                     m->kind ? m->kind : "");
    } else {
        if (!w->sessions[k])
            w->sessions[k] = channels[k]->session_open(channels[k]);
        if (!w->sessions[k]) {
            res = ROSTER_DELIVERY_TEMPORARY;
            reason =
                roster_arena_printf(a, "the %s channel cannot open a session", channels[k]->name);
        } else {
            res = channels[k]->send(w->sessions[k], m, a, &reason, &retry_at);
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

/* Claims, delivers and records one batch; how many messages it claimed (0: none due, or
 * a store failure, logged). */
static size_t one_batch(struct worker *w, struct roster_conn *conn, struct roster_arena *a)
{
    struct roster_delivery *d = w->d;
    struct roster_err err = {0};
    struct roster_message *v;
    size_t n;
    int64_t claimed = roster_now_ms();
    const struct roster_channel *ch = channels[w->channel];
    size_t batch = ch->batch > 0 ? (size_t)ch->batch : DELIVERY_BATCH;
    if (roster_store_message_claim(conn, ch->name, claimed, d->lease_ms, batch, a, &v, &n, &err)) {
        roster_log(ROSTER_LOG_WARN, "outbox claim failed", "error=\"%s %s\"", err.msg, err.detail);
        return 0;
    }
    if (n == 0)
        return 0;
    /* the webhook messages' endpoints, through core (the channel never reads the store) */
    bool unread = roster_webhook_attach(conn, v, n, a, &err) != 0;
    if (unread)
        roster_log(ROSTER_LOG_WARN, "webhook endpoints not read; batch handed back",
                   "error=\"%s %s\"", err.msg, err.detail);
    struct roster_message_outcome *o = roster_arena_zalloc(a, n * sizeof(*o));
    bool *gone = roster_arena_zalloc(a, n * sizeof(*gone));
    for (size_t i = 0; i < n; i++) {
        bool late = roster_now_ms() - claimed > d->lease_ms / 2;
        if (late || unread || roster_wake_stopped(&d->wake)) {
            /* handed back untried: due again at once */
            o[i] = (struct roster_message_outcome){.id = v[i].id,
                                                   .lease_token = v[i].lease_token,
                                                   .status = "ENQUEUED",
                                                   .due_ms = roster_now_ms()};
            continue;
        }
        attempt(w, conn, &v[i], a, &o[i], &gone[i]);
        if (strcmp(o[i].status, "SENT") != 0)
            roster_log(ROSTER_LOG_INFO, "message not delivered",
                       "id=%s status=%s attempts=%lld reason=\"%s\"", v[i].id, o[i].status,
                       (long long)v[i].attempts + 1, o[i].reason ? o[i].reason : "");
    }
    size_t recorded = 0;
    if (roster_outbox_record(conn, v, o, gone, n, &recorded, a, &err) != 0)
        roster_log(ROSTER_LOG_WARN, "outbox outcomes not recorded (sent again after the lease)",
                   "messages=%zu error=\"%s %s\"", n, err.msg, err.detail);
    else if (recorded < n)
        roster_log(ROSTER_LOG_WARN, "outbox claim lost before the outcomes were recorded",
                   "messages=%zu recorded=%zu", n, recorded);
    return n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct roster_delivery *d = w->d;
    struct roster_conn *conn = NULL;
    struct roster_arena a;
    roster_arena_init(&a, 0);
    while (!roster_wake_stopped(&d->wake)) {
        uint64_t gen = roster_wake_generation(&d->wake);
        struct roster_err err = {0};
        if (!conn && roster_app_conn_open(d->app, &conn, &err) != 0) {
            roster_log(ROSTER_LOG_WARN, "delivery: no store connection", "error=\"%s %s\"", err.msg,
                       err.detail);
            conn = NULL;
            roster_wake_wait(&d->wake, gen, 1000);
            continue;
        }
        size_t n = one_batch(w, conn, &a);
        roster_arena_clear(&a);
        const struct roster_channel *ch = channels[w->channel];
        if (n >= (ch->batch > 0 ? (size_t)ch->batch : DELIVERY_BATCH)) {
            roster_wake_notify(&d->wake); /* a full batch: more may wait, call the others */
        } else if (n == 0 && w->first) {
            roster_wake_wait(&d->wake, gen, DELIVERY_IDLE_MS);
        } else if (n == 0) {
            roster_app_conn_close(conn);
            conn = NULL;
            roster_wake_wait(&d->wake, gen, DELIVERY_HELPER_IDLE_MS);
        }
    }
    for (size_t k = 0; k < nchannels; k++)
        if (w->sessions[k])
            channels[k]->session_close(w->sessions[k]);
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
        nworkers = WORKERS_MAX;
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
    roster_wake_init(&d->wake);
    size_t k = 0,
           left = nchannels ? (size_t)(channels[0]->sessions > 0 ? channels[0]->sessions : 1) : 0;
    for (size_t i = 0; i < nworkers; i++) {
        while (left == 0 && k + 1 < nchannels) {
            k++;
            left = (size_t)(channels[k]->sessions > 0 ? channels[k]->sessions : 1);
        }
        left--;
        ws[i].first = i == 0 || ws[i - 1].channel != k;
        ws[i].channel = k;
        ws[i].d = d;
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            roster_delivery_stop(d);
            return roster_err_set(err, ROSTER_ENOMEM, "cannot start the delivery workers");
        }
        ws[i].started = true;
        d->nworkers = i + 1;
    }
    roster_log(ROSTER_LOG_INFO, "delivery started", "workers=%zu lease_ms=%lld backoff_ms=%lld",
               nworkers, (long long)d->lease_ms, (long long)d->backoff_ms);
    *out = d;
    return 0;
}

void roster_delivery_stop(struct roster_delivery *d)
{
    if (!d)
        return;
    roster_wake_stop(&d->wake);
    for (size_t i = 0; i < d->nworkers; i++)
        if (d->workers[i].started)
            pthread_join(d->workers[i].thread, NULL);
    roster_wake_release(&d->wake);
    free(d->workers);
    free(d);
}
