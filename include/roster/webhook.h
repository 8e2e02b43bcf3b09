/* Webhooks (src/core/webhooks.c, src/channel/webhook.c, docs/webhooks.md): an organisation's
 * endpoints, the events written for them, and the signing of Standard Webhooks.
 *
 * An event is written as one outbox message (kind "webhook", channel "webhook", recipient
 * the endpoint's id, content_json the exact body {"type","timestamp","data"}) per enabled
 * endpoint of the organisation that takes its type, in the transaction of what caused it:
 * a job's last chunk (job.completed), a scheduled change (schedule.applied/failed), the
 * final outcome of a message (message.sent/failed, never for webhook messages themselves),
 * a Courier message routed to the webhook channel (message.created). The body is fixed at
 * write time, so every resend is byte-identical and carries the same webhook-id (the
 * message id).
 */
#ifndef ROSTER_WEBHOOK_H
#define ROSTER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/util.h"

#define ROSTER_WEBHOOK_KIND "webhook" /* roster_message.kind and .channel of webhook messages */

/* The event types, in the order docs/webhooks.md lists them (NULL-terminated). */
extern const char *const roster_webhook_types[];

struct roster_webhook {
    char id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    const char *url;    /* http:// or https:// */
    const char *secret; /* whsec_<base64 of the key bytes> */
    const char *events; /* comma-separated types it takes, or NULL: every type */
    int64_t created_ms;
    int64_t disabled_ms;         /* 0: enabled */
    const char *disabled_reason; /* why it was disabled, or NULL */
};

/* Whether w is enabled and takes events of type. */
bool roster_webhook_takes(const struct roster_webhook *w, const char *type);

/* Whether type is one of roster_webhook_types. */
bool roster_webhook_type_known(const char *type, size_t len);

/* The key bytes of secret "whsec_<base64>" into key[0..*len) (at most cap); false when
 * secret is not of that form or the key is shorter than 16 bytes or longer than cap. */
bool roster_webhook_secret_key(const char *secret, unsigned char *key, size_t cap, size_t *len);

/* The Standard Webhooks signature of one attempt: "v1," + base64 of HMAC-SHA256(key of
 * secret, "<id>.<timestamp>.<body>") into out (at least 64 bytes). false when the secret is
 * unusable. Thread-safe. */
bool roster_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                         size_t len, char out[64]);

/* --- core operations (src/core/webhooks.c) --- */

struct roster_ctx;
struct roster_conn;
struct roster_message;
struct roster_message_outcome;
struct roster_chunk;
struct roster_schedule;

/* Registers w for ctx's organisation: url must be http(s)://, events (may be NULL) a
 * comma-separated list of known types (ROSTER_EINVAL naming the first unknown one), secret
 * (NULL: a new one, whsec_ + base64 of 24 random bytes, in ctx's arena) whsec_<base64>.
 * Fills id, org_id, created_ms. */
int roster_webhook_add(struct roster_ctx *ctx, struct roster_webhook *w, struct roster_err *err);
/* Every endpoint of ctx's organisation, oldest first (in ctx's arena). */
int roster_webhook_list(struct roster_ctx *ctx, struct roster_webhook **out, size_t *n,
                        struct roster_err *err);
/* One endpoint of ctx's organisation; another organisation's is ROSTER_ENOTFOUND. */
int roster_webhook_get(struct roster_ctx *ctx, const char *id, struct roster_webhook *out,
                       struct roster_err *err);
/* Removes an endpoint of ctx's organisation; its waiting messages end UNDELIVERABLE. */
int roster_webhook_remove(struct roster_ctx *ctx, const char *id, struct roster_err *err);

/* Writes the event type with data (a JSON object's text) for every endpoint of org_id that
 * takes it, inside the caller's transaction on conn: one cheap read of the organisation's
 * endpoints when it has none. source_id (may be NULL) and user_id (may be NULL) are kept
 * with the messages. *written (may be NULL) = how many messages. */
int roster_webhook_emit(struct roster_conn *conn, const char *org_id, const char *type,
                        const char *source_id, const char *user_id, const char *data_json,
                        struct roster_arena *a, size_t *written, struct roster_err *err);

/* The enabled endpoints of org_id that take type, in a (*n = 0: none). */
int roster_webhook_targets(struct roster_conn *conn, const char *org_id, const char *type,
                           struct roster_arena *a, struct roster_webhook **out, size_t *n,
                           struct roster_err *err);

/* job.completed for the job of chunk ch when completing ch (chunk_complete, just before,
 * in the same transaction) finished it: called for every completed chunk, it reads the
 * organisation's endpoints first and the job only when one takes the type. */
int roster_webhook_job_chunk_done(struct roster_conn *conn, const struct roster_chunk *ch,
                                  struct roster_err *err);
/* The endpoints of the last organisation read, kept by a caller for one transaction (in
 * its arena): a batch of one organisation's changes reads them once. Zero it to begin. */
struct roster_webhook_seen {
    char org_id[ROSTER_ID_LEN + 1]; /* "" until one was read */
    struct roster_webhook *w;
    size_t n;
};
/* schedule.applied (applied) or schedule.failed for s, finished with outcome, in the
 * scheduler's transaction; seen (may be NULL) spares re-reading the same organisation's
 * endpoints within it. */
int roster_webhook_schedule_done(struct roster_conn *conn, const struct roster_schedule *s,
                                 bool applied, const char *outcome,
                                 struct roster_webhook_seen *seen, struct roster_arena *a,
                                 struct roster_err *err);

/* Records the outcomes o[0..n) of the claimed messages m[0..n) (store message_record) in
 * one transaction with what follows from them: message.sent/failed for every final outcome
 * of a message that is not a webhook message, and the disabling of the endpoint of each
 * webhook message with gone[i] (410; gone may be NULL), whose waiting messages end
 * UNDELIVERABLE. Only outcomes whose claim still held are recorded (*recorded of them), and
 * only they have events. */
int roster_outbox_record(struct roster_conn *conn, const struct roster_message *m,
                         const struct roster_message_outcome *o, const bool *gone, size_t n,
                         size_t *recorded, struct roster_arena *a, struct roster_err *err);

/* Fills the endpoint (m[i].webhook, in a) of every webhook message of m[0..n), read once
 * per endpoint; left NULL when the endpoint is gone. For the delivery engine, after a
 * claim: the webhook channel never reads the store. A store failure is returned (the
 * engine then hands the batch back untried). */
int roster_webhook_attach(struct roster_conn *conn, struct roster_message *m, size_t n,
                          struct roster_arena *a, struct roster_err *err);

/* The body of an event: {"type":..,"timestamp":RFC 3339 of at_ms,"data":data_json}, in a. */
const char *roster_webhook_body(const char *type, int64_t at_ms, const char *data_json,
                                struct roster_arena *a);

#endif
