/* Message jobs (src/core/msgjobs.c): one message definition sent to many users.
 *
 * A message job is created empty (status ROSTER_JOB_CREATED), takes its items in any number
 * of add requests (each one stored durably, as new chunks, before it is answered), and
 * becomes runnable only when started. The job engine then runs its chunks like any other:
 * for each item it looks the recipient up in the directory, merges the data, and writes one
 * outbox message (struct roster_message) and the item's result in the chunk's transaction.
 *
 * Core knows no vendor's format: the definition and the items are stored as the dialect
 * received them (so that it can show them back), and the dialect's message codec decodes
 * them into the neutral structs below, at creation (the definition), at ingest (item_check)
 * and when a chunk runs. The job's params_json is {"codec": <name>, "definition": <the
 * definition as given>}.
 *
 * An item that names a list (list_id) becomes one message per member of that group, each
 * with its own id and status: at most ROSTER_MSG_LIST_MAX members, and at most
 * ROSTER_MSG_LIST_MAX messages in one chunk (more: the item's error).
 *
 * The content of an outbox message (roster_message.content_json) is roster's own JSON
 * object: "event", "template" and "brand" (strings, when the definition names them),
 * "content" (the definition's content object, when it has one, copied as given),
 * "data" (the merged data object) and "to" (the merged recipient object: "user_id",
 * "username", "email", "phone_number", "given_name", "family_name" of the directory user,
 * overridden member by member by the item's layers).
 */
#ifndef ROSTER_MSGJOB_H
#define ROSTER_MSGJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/job.h"
#include "roster/jsonr.h"

#define ROSTER_MSG_LIST_MAX 100000 /* members of one list item at most */
#define ROSTER_MSG_LIST_PAGE 1000  /* members read from the store at once */

/* What every message of a job carries, decoded from its definition. The values point into
 * the definition's text. */
struct roster_msg_def {
    const char *event, *template, *brand; /* unescaped; NULL when not given */
    struct roster_jsonr_val data[2];      /* objects merged in this order (later wins) */
    size_t ndata;
    /* what the message says (an object, e.g. Courier's title/body or elements), copied
     * into every message's content as "content"; only when has_content */
    struct roster_jsonr_val content;
    bool has_content;
    /* routed to the webhook channel (Courier: routing.channels ["webhook"]): each user's
     * rendered message goes to the organisation's endpoints that take message.created */
    bool webhook;
};

/* One item of a message job, decoded from its stored text (the values point into it). */
struct roster_msg_input {
    bool readable;                 /* false: the stored item is not an object */
    const char *key;               /* the directory user to look up (id, else username or
                                      e-mail), or NULL */
    struct roster_jsonr_val to[2]; /* objects merged over the directory user's profile */
    size_t nto;
    struct roster_jsonr_val data; /* merged over the definition's data, when has_data */
    bool has_data;
    /* a list of recipients (Courier's to.list_id): the roster group whose num_id or name
     * it is; each member becomes one message (docs/templates.md); NULL: none */
    const char *list_id;
};

/* A dialect's message format. */
struct roster_msg_codec {
    const char *name;
    /* The definition json[0..len) (a JSON object), or ROSTER_EINVAL naming the member. */
    int (*definition)(const char *json, size_t len, struct roster_msg_def *out,
                      struct roster_arena *a, struct roster_err *err);
    /* Checks one item, json[0..len) (a span accepted by roster_json_scan): ROSTER_EINVAL
     * naming the member when it cannot be run. Items that pass can always be run (a
     * recipient that cannot be reached is the item's result, not an input error). */
    int (*item_check)(const char *json, size_t len, struct roster_err *err);
    /* One stored item (any JSON value; checked at ingest). */
    void (*item)(const struct roster_jsonr_val *v, struct roster_msg_input *out,
                 struct roster_arena *a);
    /* The result of an item that names no recipient at all: what to give instead. */
    const char *no_recipient;
};

/* Registers a message codec (static storage); call before the job engine starts. */
void roster_msg_codec_register(const struct roster_msg_codec *c);
/* The codec registered under name, or NULL. */
const struct roster_msg_codec *roster_msg_codec_find(const char *name);

enum roster_msg_status {
    ROSTER_MSG_PENDING = 0,  /* the job has not reached the item yet */
    ROSTER_MSG_ENQUEUED = 1, /* one outbox message was written (message_id) */
    ROSTER_MSG_ERROR = 2,    /* no message: error says why */
};

/* One item of a message job as listed. */
struct roster_msg_item {
    int64_t index;
    const char *item_json; /* the item as stored: item_len bytes of JSON object text */
    size_t item_len;
    int status;             /* enum roster_msg_status */
    const char *message_id; /* ENQUEUED: the outbox message, else NULL */
    /* ENQUEUED: the message's delivery status ("ENQUEUED", "SENT", "UNDELIVERABLE"), or
     * NULL when it cannot be read */
    const char *message_status;
    const char *error; /* ERROR: the reason, else NULL */
    /* an item naming a list (roster_msg_input.list_id) that became list_messages messages
     * (message_id is the first of them) and skipped list_skipped members that have no
     * e-mail address or phone number; both 0 for any other item */
    int64_t list_messages, list_skipped;
};

struct roster_ctx;
struct roster_json_span;

/* Stores a new message job of ctx's organisation in status ROSTER_JOB_CREATED with no
 * items, whose definition and items the message codec named codec decodes.
 * definition[0..len) is the definition as JSON object text (already validated by
 * roster_json_scan), stored as given; the codec's definition decoder must accept it
 * (ROSTER_EINVAL naming the field otherwise). */
int roster_msgjob_create(struct roster_ctx *ctx, const char *codec, const char *definition,
                         size_t len, struct roster_job *out, struct roster_err *err);

/* The message job job_id of ctx's organisation and its definition (JSON text in ctx's
 * arena). ROSTER_ENOTFOUND for a missing job, another organisation's, or a job that is not a
 * message job. */
int roster_msgjob_get(struct roster_ctx *ctx, const char *job_id, struct roster_job *job,
                      const char **definition, struct roster_err *err);

/* Appends the items raw[spans[i]] (i < n, each checked by the codec's item_check) to
 * the message job job_id, durably, in one transaction, cut into chunks of at most
 * ROSTER_JOB_CHUNK; *first_idx receives the index of the first one. ROSTER_ENOTFOUND as
 * roster_msgjob_get; ROSTER_ECONFLICT once the job was started. n == 0 only checks that. */
int roster_msgjob_add(struct roster_ctx *ctx, const char *job_id, const char *raw,
                      const struct roster_json_span *spans, size_t n, int64_t *first_idx,
                      struct roster_err *err);

/* Makes the message job runnable and wakes the job engine. *started: false when it had been
 * started before (nothing changes). ROSTER_ENOTFOUND as roster_msgjob_get. */
int roster_msgjob_start(struct roster_ctx *ctx, const char *job_id, bool *started,
                        struct roster_err *err);

/* Items [from, from + limit) of the message job (fewer at its end), in the order they
 * were added, with their status. *job receives the job. ROSTER_ENOTFOUND as
 * roster_msgjob_get. Everything is allocated in ctx's arena. */
int roster_msgjob_items(struct roster_ctx *ctx, const char *job_id, int64_t from, int64_t limit,
                        struct roster_job *job, struct roster_msg_item **out, size_t *n,
                        struct roster_err *err);

#endif
