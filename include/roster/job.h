/* Durable bulk jobs. A job's input items are stored in chunks (a JSON array text of at
 * most ROSTER_JOB_CHUNK items each) in the same transaction as the job row, before the
 * client gets the job id (message jobs: before each add request is answered). Workers claim
 * one chunk at a time with a lease, apply every item and write the chunk's results (one per
 * item) and the item effects in one transaction; a commit from a lease that was lost is
 * rejected (ROSTER_ESTALE), so no item is ever applied twice or lost. Within one job, chunks
 * are applied in order, so "the first of two duplicates wins" holds across chunk
 * boundaries; message jobs (below) are the exception: their items are independent, so
 * their chunks run several at once, in any order.
 */
#ifndef ROSTER_JOB_H
#define ROSTER_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/util.h"

#define ROSTER_JOB_CHUNK 1000

enum roster_job_kind {
    ROSTER_JOB_USERS_CREATE = 1,
    ROSTER_JOB_USERS_UPDATE = 2,
    ROSTER_JOB_MESSAGE = 3,
};

enum roster_job_status {
    ROSTER_JOB_PENDING = 0,  /* no chunk done yet */
    ROSTER_JOB_RUNNING = 1,  /* some chunks done */
    ROSTER_JOB_FINISHED = 2, /* every chunk done */
    ROSTER_JOB_CREATED = 3,  /* message jobs: taking items, not runnable until started */
};

struct roster_job {
    char id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    int kind;                /* enum roster_job_kind */
    int status;              /* enum roster_job_status */
    int64_t total;           /* number of input items */
    int64_t done;            /* items with a result */
    int64_t ok;              /* items that succeeded */
    int64_t failed;          /* items that failed */
    const char *params_json; /* job-wide parameters (creation source, default state), JSON object */
    int64_t created_ms, updated_ms;
};

/* A claimed chunk, as handed to a worker. */
struct roster_chunk {
    char job_id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    int kind;
    int64_t chunk_no;
    int64_t first_idx;       /* index of the chunk's first item in the job's input */
    int64_t count;           /* number of items */
    const char *items_json;  /* JSON array of count items, as received */
    const char *params_json; /* the job's params_json */
    int64_t lease_token;     /* must be presented at commit */
};

/* A chunk's results as read back for the results endpoint. results_json is NULL while the
 * chunk is not done. Format (written and read only by core/job.c): a JSON array of count
 * entries [status, "message", "user id", updated_ms]. */
struct roster_chunk_results {
    int64_t first_idx;
    int64_t count;
    const char *results_json;
    int64_t done_ms;
};

/* Per-item result status, as shown in job-workresult.status */
enum roster_item_status {
    ROSTER_ITEM_PENDING = 0,
    ROSTER_ITEM_SUCCEEDED = 1,
    ROSTER_ITEM_FAILED = 2,
};
const char *roster_item_status_name(int status); /* "pending" | "succeeded" | "failed" */

/* --- message jobs (Courier bulk jobs; src/core/msgjobs.c) ---
 *
 * A message job sends one message definition to many users. Unlike a user job it is
 * created empty (status ROSTER_JOB_CREATED), takes its items in any number of add requests
 * (each one stored durably, as new chunks, before it is answered), and becomes runnable only
 * when started. The job engine then runs its chunks like any other: for each item it
 * resolves the recipient, merges the data, and writes one outbox message (struct
 * roster_message) and the item's result in the chunk's transaction.
 *
 * Items are stored as given. Their format is Courier's InboundBulkMessageUser, the one
 * message item format of roster: an object with optional "to" (object: "user_id",
 * "email", "phone_number", ...), "recipient" (string), "profile" (object), "data" (object)
 * and "preferences" (object). The job's params_json is {"definition": <the message
 * definition as given>}. */

/* A chunk with its input, as read back for the item listing of a job. */
struct roster_chunk_page {
    int64_t first_idx;
    int64_t count;
    const char *items_json;   /* the chunk's items as stored */
    const char *results_json; /* NULL while the chunk is not done */
    int64_t done_ms;
};

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
    const char *error;      /* ERROR: the reason, else NULL */
};

struct roster_ctx;
struct roster_err;
struct roster_json_span;

/* Stores a new message job of ctx's organisation in status ROSTER_JOB_CREATED with no
 * items. definition[0..len) is the message definition as JSON object text (already
 * validated by roster_json_scan); it must name what to send ("event", "template",
 * "content", or a nested legacy "message" with "template" or "content"), and the members
 * roster reads must have the right types; ROSTER_EINVAL naming the field otherwise. */
int roster_msgjob_create(struct roster_ctx *ctx, const char *definition, size_t len,
                         struct roster_job *out, struct roster_err *err);

/* The message job job_id of ctx's organisation and its definition (JSON text in ctx's
 * arena). ROSTER_ENOTFOUND for a missing job, another organisation's, or a job that is not a
 * message job. */
int roster_msgjob_get(struct roster_ctx *ctx, const char *job_id, struct roster_job *job,
                      const char **definition, struct roster_err *err);

/* Checks one item, json[0..len) (a span accepted by roster_json_scan), against the item
 * format above: ROSTER_EINVAL naming the member when it is not an object or a member roster
 * reads has the wrong type. Items that pass can always be run (a recipient that cannot be
 * reached is the item's result, not an input error). */
int roster_msgjob_item_check(const char *json, size_t len, struct roster_err *err);

/* Appends the items raw[spans[i]] (i < n, each checked with roster_msgjob_item_check) to
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
