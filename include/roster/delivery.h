/* Outbox delivery (src/core/delivery.c, docs/delivery.md): worker threads claim due
 * outbox messages from the store with leases, deliver each through a channel, and record
 * each outcome durably: SENT, UNDELIVERABLE with the reason, or (a temporary failure)
 * ENQUEUED again for a later attempt, with exponential backoff and jitter, until the
 * message's lifetime is spent.
 *
 * The engine knows channels only through this table of functions: a channel (SMTP e-mail,
 * src/channel/smtp.c) registers itself before the engine starts under the name that
 * messages carry in their `channel` ("email", "webhook"), and gets its own pool of workers
 * (its `sessions`), which claim only that channel's messages: a slow relay never stalls
 * another channel. Messages of a channel that is not registered wait in the outbox
 * (ENQUEUED); without any channel the engine does not start.
 *
 * Per-destination limits: a channel may name each message's destination (a webhook
 * endpoint, an e-mail's domain); the engine never has more than a limit of sends to one
 * destination at once in this process, and hands a message over the limit back untried
 * (no attempt counted) for a moment, so other destinations' messages go first.
 */
#ifndef ROSTER_DELIVERY_H
#define ROSTER_DELIVERY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
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
/* sends to one destination at once, at most (Postfix's default_destination_concurrency_limit) */
#define ROSTER_DELIVERY_PER_DESTINATION_DEFAULT 20
#define ROSTER_DELIVERY_PER_DESTINATION_MAX 1000
/* a message over its destination's limit is due again this much later */
#define ROSTER_DELIVERY_BUSY_MS 100

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
    const char *name; /* the `channel` of the messages it delivers: "email", "webhook" */
    int sessions;     /* its workers: at most this many sends at once (each its own session) */
    void *cfg;        /* the channel's own */
    /* The destination of m (a key, in a or static: a webhook endpoint's id, an e-mail's
     * domain); NULL (or a NULL callback): the channel as a whole is one destination. */
    const char *(*destination)(const struct roster_channel *ch, const struct roster_message *m,
                               struct roster_arena *a);
    /* sends to one destination at once at most; 0: the engine's (--delivery-per-destination) */
    int per_destination;
    /* messages a worker claims (and records) at once; 0: 16. Larger batches cost fewer
     * store commits per message, and at most sessions x batch messages are sent again
     * after a crash */
    int batch;
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

/* Wakes the delivery workers of this process (new messages were committed, or one was
 * made due now). Thread-safe; nothing when the engine does not run. Core calls it: writers
 * of messages use core's outbox functions (src/core/worker.h), never this directly. */
void roster_delivery_notify(void);

/* --- per-destination bookkeeping (src/core/dest_limits.c) ---
 * How many sends to each destination are under way, under a mutex: a destination is in
 * the table only while it has sends, so the table is never larger than the workers of a
 * pool. Thread-safe. */
struct roster_dest_slot {
    char *key;
    int count;
};
struct roster_dest_limits {
    pthread_mutex_t mu;
    int limit; /* at most this many at once per key */
    struct roster_dest_slot *v;
    size_t n, cap;
};
void roster_dest_limits_init(struct roster_dest_limits *l, int limit);
void roster_dest_limits_release(struct roster_dest_limits *l);
/* Counts one more send to key and returns true, or false (nothing counted) when key already
 * has limit sends under way. Out of memory: true, and nothing counted. */
bool roster_dest_limits_enter(struct roster_dest_limits *l, const char *key);
/* The send to key that enter counted is over. */
void roster_dest_limits_leave(struct roster_dest_limits *l, const char *key);
/* Sends to key under way. */
int roster_dest_limits_count(struct roster_dest_limits *l, const char *key);

/* --- the operator's outbox (src/core/outbox.c; roster outbox, docs/delivery.md) --- */
struct roster_ctx;
#define ROSTER_OUTBOX_LIST_MAX 1000
/* ctx's organisation's messages newest first (by id: an id starts with its creation
 * second), below the id after (NULL: from the newest), of status (NULL: any; else
 * "ENQUEUED", "SENT" or "UNDELIVERABLE": ROSTER_EINVAL otherwise), at most limit (1 to
 * ROSTER_OUTBOX_LIST_MAX: ROSTER_EINVAL otherwise). *out in ctx's arena. */
int roster_outbox_list(struct roster_ctx *ctx, const char *status, const char *after, long limit,
                       struct roster_message **out, size_t *n, struct roster_err *err);
/* Makes message id of ctx's organisation ENQUEUED and due now (UNDELIVERABLE, or waiting
 * for a later attempt) and wakes the delivery workers; its reason (the last failure) and
 * attempt count stay. ROSTER_ENOTFOUND (also another organisation's), ROSTER_ECONFLICT when
 * it was SENT or is being sent right now. *out (may be NULL): the message after. */
int roster_outbox_retry(struct roster_ctx *ctx, const char *id, struct roster_message *out,
                        struct roster_err *err);

/* When the attempt-th failed attempt (1 = the first) of a message created at created_ms
 * and failed at now_ms is retried: backoff_ms * 2^(attempt-1), at most
 * ROSTER_DELIVERY_BACKOFF_MAX_MS, times a jitter in [0.8, 1.2) drawn from r in [0, 1);
 * -1 when that is past created_ms + lifetime_ms (give up). */
int64_t roster_delivery_retry_at(int64_t created_ms, int64_t now_ms, int attempt,
                                 int64_t backoff_ms, int64_t lifetime_ms, double r);

#endif
