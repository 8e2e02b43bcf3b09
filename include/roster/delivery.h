/* Outbox delivery (src/core/delivery.c, docs/delivery.md): worker threads claim due
 * outbox messages from the store with leases, deliver each through a channel, and record
 * each outcome durably: SENT, UNDELIVERABLE with the reason, or (a temporary failure)
 * ENQUEUED again for a later attempt, with exponential backoff and jitter, until the
 * message's lifetime is spent.
 *
 * The engine knows channels only through this table of functions: a channel (SMTP e-mail,
 * src/channel/smtp.c; webhooks, src/channel/webhook.c) registers itself before the engine
 * starts; each channel's workers claim only its messages (message_claim by channel name:
 * "webhook" takes the webhook messages, any other name the rest) and hand them to it. Without any
 * channel the engine does not start, and messages wait in the outbox (ENQUEUED).
 */
#ifndef ROSTER_DELIVERY_H
#define ROSTER_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/schedule.h"

#define ROSTER_DELIVERY_LIFETIME_S_DEFAULT (3 * 86400) /* then a message is given up */
#define ROSTER_DELIVERY_BACKOFF_MS_DEFAULT 5000        /* the first retry, about */
#define ROSTER_DELIVERY_BACKOFF_MAX_MS (3600 * 1000)   /* no longer between two attempts */
/* a claim holds its messages: well above the longest send (a worker stops starting sends
 * at half the lease, and a send takes at most a quarter of it: roster_smtp_config) */
#define ROSTER_DELIVERY_LEASE_MS_DEFAULT 300000

/* What one attempt came to. */
enum roster_delivery_result {
    ROSTER_DELIVERY_SENT = 0,      /* accepted by the relay or endpoint */
    ROSTER_DELIVERY_TEMPORARY = 1, /* try again later (4xx, connection trouble) */
    ROSTER_DELIVERY_PERMANENT = 2, /* never deliverable as it is (5xx, no address, ...) */
    /* permanent, and the destination is gone for good (a webhook endpoint's 410): core
     * disables it, with the outcome, so that nothing more is written for it */
    ROSTER_DELIVERY_GONE = 3,
};

struct roster_channel {
    const char *name;
    int sessions; /* at most this many at once (each worker thread opens its own) */
    void *cfg;    /* the channel's own */
    /* messages a worker claims (and records) at once; 0: 16. Larger batches cost fewer
     * store commits per message, and at most sessions x batch messages are sent again
     * after a crash */
    int batch;
    /* Whether this channel delivers m. */
    bool (*accepts)(const struct roster_channel *ch, const struct roster_message *m);
    /* A session (e.g. one SMTP connection, reused), or NULL when none can be made. */
    void *(*session_open)(const struct roster_channel *ch);
    void (*session_close)(void *session);
    /* Delivers m; *reason (in a, or static) says why when it is not SENT. For a TEMPORARY
     * failure the channel may set *retry_at_ms (0 when called) to when the destination
     * asked to be tried again (HTTP Retry-After, unix ms): the engine then retries at that
     * time instead of its backoff's, or gives up when it is past the message's lifetime. */
    enum roster_delivery_result (*send)(void *session, const struct roster_message *m,
                                        struct roster_arena *a, const char **reason,
                                        int64_t *retry_at_ms);
};

/* Registers ch (static storage, or outliving the engine); before roster_delivery_start.
 * ROSTER_ENOMEM when the small table is full. */
int roster_channel_register(const struct roster_channel *ch);
/* Forgets every registered channel (after the engine stopped; tests). */
void roster_channel_clear(void);

/* When the attempt-th failed attempt (1 = the first) of a message created at created_ms
 * and failed at now_ms is retried: backoff_ms * 2^(attempt-1), at most
 * ROSTER_DELIVERY_BACKOFF_MAX_MS, times a jitter in [0.8, 1.2) drawn from r in [0, 1);
 * -1 when that is past created_ms + lifetime_ms (give up). */
int64_t roster_delivery_retry_at(int64_t created_ms, int64_t now_ms, int attempt,
                                 int64_t backoff_ms, int64_t lifetime_ms, double r);

#endif
