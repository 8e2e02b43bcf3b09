/* Core operations that dialects call: the single-user paths, job submission and result
 * pages, and the job engine that runs bulk jobs on worker threads. No HTTP, no SQL.
 */
#ifndef ROSTER_CORE_H
#define ROSTER_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/job.h"
#include "roster/jsonscan.h"
#include "roster/store.h"
#include "roster/user.h"

struct roster_jobs;

struct roster_config {
    const char *listen;    /* host:port */
    const char *store_url; /* sqlite file path or postgres:// URL */
    int workers;           /* job worker threads */
    size_t max_body;       /* bytes */
    int log_level;
    int http_threads;
    /* HTTPS: PEM text of the certificate chain and its private key (both or neither);
     * NULL = plain HTTP. */
    const char *tls_cert_pem, *tls_key_pem;
    int64_t job_lease_ms; /* how long a claimed job chunk stays reserved; 0: the default */
};

/* Server-wide state, shared by every thread (read-only after start, except jobs). */
struct roster_app {
    struct roster_config cfg;
    struct roster_store *store;
    struct roster_jobs *jobs;           /* NULL in offline CLI commands */
    struct roster_scheduler *scheduler; /* NULL in offline CLI commands */
    struct roster_lists *lists;         /* kept list state (list.h); NULL: none */
};

/* What one operation runs with: the caller's organisation and this thread's store
 * connection and arena. */
struct roster_ctx {
    struct roster_app *app;
    struct roster_conn *conn;
    struct roster_arena *arena;
    const char *org_id;
    const struct roster_key *key;
};

/* --- single users --- */

/* Applies the default state (if the state is not set), validates and stores u.
 * On success u holds the stored user (id, num_id, timestamps, version). */
int roster_user_create(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                       struct roster_err *err);
/* The part of roster_user_create that needs no store: default state, organisation and
 * validation. Lets the job engine validate a chunk before it takes the write lock. */
int roster_user_prepare_create(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                               struct roster_err *err);
/* The part of roster_user_update that needs no store: applies patch onto *cur (the user
 * as stored, read by the caller; the STAGED rule, the key-by-key merge of extra) and
 * validates the result. On success *cur is the user to write with user_update (cur->set
 * names the patched fields). Strings go to ctx->arena. */
int roster_user_prepare_update(struct roster_ctx *ctx, struct roster_user *cur,
                               const struct roster_user *patch, bool allow_staged,
                               struct roster_err *err);
/* Loads user_id, applies patch, validates and stores; retries on a concurrent write.
 * The patch's extra object is merged key by key into the stored one (null removes a key).
 * allow_staged: whether the patch may set state STAGED. On success *out is the new user. */
int roster_user_update(struct roster_ctx *ctx, const char *user_id, const struct roster_user *patch,
                       bool allow_staged, struct roster_user *out, struct roster_err *err);

/* --- bulk jobs --- */

/* Decodes one input item of a job, the JSON text json[0..len) (one element span of the
 * chunk, already validated by roster_json_scan), into a user (create) or a patch with id set
 * (update). Provided by the dialect that accepted the job, named in the job's params
 * ("codec"). */
typedef int (*roster_item_decode_fn)(const char *json, size_t len, int kind,
                                     struct roster_user *out, struct roster_arena *a,
                                     struct roster_err *err);
/* Registers a codec under name (static storage); call before the job engine starts. */
void roster_job_codec_register(const char *name, roster_item_decode_fn fn);

/* Stores a job durably and wakes the workers; returns once it is committed. raw is the JSON
 * array text of the items and spans[0..n) its elements (from roster_json_scan): chunks are
 * cut from it by byte ranges, and a job that fits one chunk stores raw as is. params is a
 * JSON object (borrowed) that must carry "codec"; the engine also reads "default_state"
 * (int) for creates. */
int roster_job_submit(struct roster_ctx *ctx, int kind, const char *raw,
                      const struct roster_json_span *spans, size_t n, json_t *params,
                      struct roster_job *out, struct roster_err *err);

struct roster_item_result {
    int64_t index;
    int status;          /* enum roster_item_status */
    const char *message; /* "" on success */
    const char *field;   /* the offending field on failure, or NULL */
    const char *user_id; /* the created/updated user, or NULL */
    const char *username, *email;
    int64_t updated_ms; /* when the result was written; the job's created time if pending */
};

/* Results of items [skip, skip+limit) of job_id, in input order, one per item (pending
 * items included). *job receives the job. ROSTER_ENOTFOUND for unknown/foreign jobs. */
int roster_job_results(struct roster_ctx *ctx, const char *job_id, int64_t skip, int64_t limit,
                       struct roster_job *job, struct roster_item_result **out, size_t *n,
                       struct roster_err *err);

/* --- job engine --- */

/* Starts nworkers threads that claim and run chunks. */
int roster_jobs_start(struct roster_app *app, int nworkers, struct roster_jobs **out,
                      struct roster_err *err);
/* Wakes idle workers (new work was stored). Thread-safe; jobs may be NULL. */
void roster_jobs_notify(struct roster_jobs *jobs);
/* Stops the workers after their current chunk (an unfinished chunk is rolled back and
 * picked up again on the next start) and joins them. */
void roster_jobs_stop(struct roster_jobs *jobs);

/* Runs one claimed chunk to completion on conn (exposed for tests). */
int roster_jobs_run_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, struct roster_err *err);

#endif
