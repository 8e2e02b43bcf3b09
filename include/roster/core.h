/* Core operations that dialects call: the single-user paths, job submission and result
 * pages, and the job engine that runs bulk jobs on worker threads. No HTTP, no SQL.
 */
#ifndef ROSTER_CORE_H
#define ROSTER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/job.h"
#include "roster/jsonscan.h"
#include "roster/msgjob.h"
#include "roster/store.h"
#include "roster/user.h"

struct roster_jobs;
struct roster_retention;
struct roster_delivery;
struct roster_wake;

/* TLS 1.2 and 1.3 only, and key exchanges with forward secrecy only (no plain RSA). */
#define ROSTER_TLS_PRIORITIES_DEFAULT                                                              \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:%SERVER_PRECEDENCE"

#define ROSTER_MAX_CONNS_DEFAULT 4096
#define ROSTER_MAX_CONNS_PER_IP_DEFAULT 256
#define ROSTER_BODY_TIMEOUT_S_DEFAULT 120
#define ROSTER_HEADER_TIMEOUT_S_DEFAULT 30
#define ROSTER_JOB_INPUT_RETENTION_S_DEFAULT (7 * 86400)
#define ROSTER_BULK_MAX_ITEMS_DEFAULT 10000
/* requests per second per API key or service-account key, and the burst above it: far
 * above what one key reaches on this 2-core machine (bench/lists near 40,000 a second, the
 * lightest JumpCloud list page 48,000-58,000 with wrk), so only a runaway client meets it */
#define ROSTER_RATE_LIMIT_DEFAULT 200000.0
/* per organisation: bulk jobs not finished yet, and their items without a result (far
 * above what the benchmarks hold: bench/bulk_create keeps at most 100 jobs of 1,000 users
 * open by default) */
#define ROSTER_MAX_OPEN_JOBS_DEFAULT 10000
#define ROSTER_MAX_PENDING_ITEMS_DEFAULT 5000000
#define ROSTER_IDLE_TIMEOUT_S 30 /* a connection with nothing to do for this long is closed */

/* Who may read GET /metrics (--metrics): anyone who reaches the listening address (it holds
 * counts, never personal data), only a caller with an all-organisations admin key as a
 * bearer token, or nobody (404). */
enum roster_metrics_mode {
    ROSTER_METRICS_OPEN = 0,
    ROSTER_METRICS_KEY = 1,
    ROSTER_METRICS_OFF = 2,
};

struct roster_config {
    const char *listen;    /* host:port */
    const char *store_url; /* sqlite file path or postgres:// URL */
    int workers;           /* job worker threads */
    size_t max_body;       /* bytes */
    int log_level;
    int http_threads;
    int max_conns;        /* open connections at most; 0: ROSTER_MAX_CONNS_DEFAULT */
    int max_conns_per_ip; /* from one address at most; 0: ROSTER_MAX_CONNS_PER_IP_DEFAULT */
    int body_timeout_s;   /* a request's body must arrive within this; 0: the default */
    int header_timeout_s; /* a request's headers must arrive within this; 0: the default */
    int bulk_max_items;   /* users per bulk request at most; 0: ROSTER_BULK_MAX_ITEMS_DEFAULT */
    /* HTTPS: PEM text of the certificate chain and its private key (both or neither);
     * NULL = plain HTTP. */
    const char *tls_cert_pem, *tls_key_pem;
    /* the GnuTLS priority string of HTTPS; NULL: ROSTER_TLS_PRIORITIES_DEFAULT */
    const char *tls_priorities;
    int64_t job_lease_ms; /* how long a claimed job chunk stays reserved; 0: the default */
    /* a finished bulk job's input is purged this long after its last item was applied;
     * 0: ROSTER_JOB_INPUT_RETENTION_S_DEFAULT */
    int64_t job_input_retention_s;
    /* requests per second per credential (token bucket); 0: no limit. `roster serve` sets
     * ROSTER_RATE_LIMIT_DEFAULT unless told otherwise */
    double rate_limit_per_s;
    int64_t rate_burst;    /* the bucket's size; 0: the rate per second rounded up (at least 1) */
    int max_open_jobs;     /* per organisation; 0: ROSTER_MAX_OPEN_JOBS_DEFAULT */
    int max_pending_items; /* per organisation; 0: ROSTER_MAX_PENDING_ITEMS_DEFAULT */
    int metrics;           /* enum roster_metrics_mode */
    /* outbox delivery (roster/delivery.h); 0: the defaults */
    int64_t delivery_lifetime_s;  /* a message is given up this long after it was created */
    int64_t delivery_backoff_ms;  /* the first retry comes about this long after a failure */
    int64_t delivery_lease_ms;    /* a claim holds its messages this long */
    int delivery_per_destination; /* sends to one destination at once at most */
    /* idempotency keys (roster/idem.h): how long a key is kept, and the least a client's
     * X-Idempotency-Expiration gets; 0: ROSTER_IDEM_TTL_S_DEFAULT */
    int64_t idempotency_ttl_s;
};

/* Server-wide state, shared by every thread (read-only after start, except jobs). */
struct roster_app {
    struct roster_config cfg;
    struct roster_store *store;
    struct roster_jobs *jobs;           /* NULL in offline CLI commands */
    struct roster_scheduler *scheduler; /* NULL in offline CLI commands */
    struct roster_retention *retention; /* NULL in offline CLI commands */
    struct roster_delivery *delivery;   /* NULL without a channel (or offline) */
    struct roster_lists *lists;         /* kept list state (list.h); NULL: none */
    /* the job engine's wake-up signal while it runs (set by roster_jobs_start, cleared by
     * roster_jobs_stop): whoever stores new work notifies it */
    struct roster_wake *job_wake;
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

/* --- organisations, keys and read spans (src/core/directory.c) --- */

/* Where a new user comes from: which of its organisation's default states it gets when
 * the request sets none. */
enum roster_origin {
    ROSTER_ORIGIN_MANUAL,     /* one user created by an API call (default_state_manual) */
    ROSTER_ORIGIN_BULK,       /* a bulk job (default_state_bulk) */
    ROSTER_ORIGIN_APP_IMPORT, /* a bulk job from an application import (default_state_app_import) */
};
/* The state a new user of origin gets in ctx's organisation when none is given. */
int roster_default_state(struct roster_ctx *ctx, enum roster_origin origin, int *state,
                         struct roster_err *err);

/* Organisation org_id (ROSTER_ENOTFOUND when missing). The caller decides whether its key
 * may see it (roster_ctx.org_id, or any for an all-organisations key). */
int roster_org_get(struct roster_ctx *ctx, const char *org_id, struct roster_org *out,
                   struct roster_err *err);
/* Replaces name, company block and default states of org->id. */
int roster_org_update(struct roster_ctx *ctx, const struct roster_org *org, struct roster_err *err);
/* The active API key whose secret this is (only its SHA-256 is stored); ROSTER_ENOTFOUND
 * for an unknown or revoked one. */
int roster_key_authenticate(struct roster_ctx *ctx, const char *secret, struct roster_key *out,
                            struct roster_err *err);
/* The active service-account key kid and its organisation; ROSTER_ENOTFOUND for an
 * unknown or revoked key. */
int roster_sa_key_get(struct roster_ctx *ctx, const char *kid, struct roster_sa_key *out,
                      struct roster_org *org, struct roster_err *err);
/* A connection to the app's store for one thread (each thread opens its own and never
 * shares it), and its end. */
int roster_app_conn_open(struct roster_app *app, struct roster_conn **out, struct roster_err *err);
void roster_app_conn_close(struct roster_conn *c);

/* Whether the app's store answers (a read of its schema): 0, or the failure. */
int roster_app_ping(struct roster_ctx *ctx, struct roster_err *err);

/* GET /metrics, what core knows (src/core/metrics.c): appends to out, in the Prometheus
 * text format, what waits in the store's queues (one read of the store: roster_store_up is
 * 0 and these gauges are left out when it fails), the list cache's counters and the
 * process-wide counters of roster/metrics.h. */
void roster_app_metrics_write(struct roster_ctx *ctx, struct roster_buf *out);

/* A read-only request reads its key, organisation and data in one snapshot: begin (ok to
 * fail: each read then has its own snapshot, which is also right) and end. */
bool roster_read_begin(struct roster_ctx *ctx);
void roster_read_end(struct roster_ctx *ctx);

/* Users one bulk request may carry (--bulk-max-items; Courier and JumpCloud document no
 * limit): a request's memory stays proportional to it. */
static inline int roster_bulk_max_items(const struct roster_ctx *ctx)
{
    return ctx->app && ctx->app->cfg.bulk_max_items > 0 ? ctx->app->cfg.bulk_max_items
                                                        : ROSTER_BULK_MAX_ITEMS_DEFAULT;
}

/* Whether ctx's organisation may take jobs more bulk jobs with items more items to do:
 * 0, or ROSTER_EQUOTA with a message naming the cap, its flag and the organisation's
 * count when --max-open-jobs or --max-pending-items would be passed. The store counts
 * (job_usage); two submissions at the same moment may both pass and go over the cap by
 * one request. (src/core/quota.c) */
int roster_job_quota_check(struct roster_ctx *ctx, int64_t jobs, int64_t items,
                           struct roster_err *err);

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
/* roster_user_update of *cur as the caller read it (its version included), without retry:
 * ROSTER_ESTALE, nothing written, when another write changed the user since that read (the
 * caller reads again and re-applies its change: a read-modify-write such as SCIM's PATCH). */
int roster_user_update_from(struct roster_ctx *ctx, const struct roster_user *cur,
                            const struct roster_user *patch, bool allow_staged,
                            struct roster_user *out, struct roster_err *err);

/* User user_id of ctx's organisation (ROSTER_ENOTFOUND, message naming it, when missing
 * or malformed). */
int roster_user_get(struct roster_ctx *ctx, const char *user_id, struct roster_user *out,
                    struct roster_err *err);
/* Deletes users ids[0..n) of ctx's organisation, all or none. */
int roster_users_delete(struct roster_ctx *ctx, const char *const *ids, size_t n,
                        struct roster_err *err);

/* What may come with a user created or updated on its own: a password (hashed here, only
 * the hash is stored) and groups to bind it to. */
struct roster_user_extras {
    const char *password; /* NULL: none (update: unchanged) */
    const int64_t *groups;
    size_t ngroups;
};
/* roster_user_create, then the extras, in one transaction: all or nothing. */
int roster_user_create_with(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                            const struct roster_user_extras *x, struct roster_err *err);
/* roster_user_update (when patch sets any field), then the extras, in one transaction. */
int roster_user_update_with(struct roster_ctx *ctx, const char *user_id,
                            const struct roster_user *patch, bool allow_staged,
                            const struct roster_user_extras *x, struct roster_err *err);

/* Creates u[0..n) as n roster_user_create_with calls would (default state, validation,
 * store; passwords[i], when passwords and it are not NULL, hashed and stored with u[i]),
 * but in one transaction with one store user_create_many call: for each i, rcs[i] is 0 (u[i]
 * holds the stored user) or the item's own failure in errs[i] (ROSTER_EINVAL from the
 * validator, ROSTER_ECONFLICT with errs[i].field against the store or an earlier item of
 * this call), which does not stop the others. Returns non-zero (err set; nothing written)
 * only when the store fails. For SCIM /Bulk runs of POST /Users. */
int roster_users_create_many(struct roster_ctx *ctx, struct roster_user *u, size_t n,
                             int default_state, const char *const *passwords, int *rcs,
                             struct roster_err *errs, struct roster_err *err);

/* --- groups and memberships (src/core/groups.c) --- */

int roster_group_list(struct roster_ctx *ctx, const struct roster_group_query *q,
                      struct roster_group **out, size_t *n, int64_t *total, struct roster_err *err);
/* Assigns num_id and created_ms in *g. ROSTER_ECONFLICT for a name in use. */
int roster_group_create(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err);
int roster_group_update(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err);
/* Deletes groups ids[0..n) of kind, all or none. */
int roster_groups_delete(struct roster_ctx *ctx, int kind, const int64_t *ids, size_t n,
                         struct roster_err *err);
/* Binds (bind) or unbinds every user of users[0..nu) to every group of groups[0..ng). */
int roster_group_bind(struct roster_ctx *ctx, const int64_t *groups, size_t ng,
                      const int64_t *users, size_t nu, bool bind, struct roster_err *err);
/* The groups of kind that users[0..nu) are members of. */
int roster_group_memberships(struct roster_ctx *ctx, const int64_t *users, size_t nu, int kind,
                             struct roster_membership **out, size_t *n, struct roster_err *err);
/* Group num_id of kind in ctx's organisation into *out (strings in ctx's arena);
 * ROSTER_ENOTFOUND "group <num_id> not found" when there is none (another organisation's
 * too). */
int roster_group_get(struct roster_ctx *ctx, int kind, int64_t num_id, struct roster_group *out,
                     struct roster_err *err);
/* The members of group num_id (of ctx's organisation; none for another's) with user num_id
 * above after, in user num_id order, at most limit (< 0: all), in ctx's arena. */
int roster_group_members(struct roster_ctx *ctx, int64_t num_id, int64_t after, int64_t limit,
                         struct roster_group_member **out, size_t *n, struct roster_err *err);

/* One step of roster_group_apply. Users are named by their ids (24 hex). */
enum roster_group_op {
    ROSTER_GROUP_RENAME = 1, /* name (NULL: unchanged), and extra when it is not NULL */
    ROSTER_GROUP_ADD,        /* users[0..n) join (already members: fine) */
    ROSTER_GROUP_REMOVE,     /* users[0..n) leave (not members: fine) */
    ROSTER_GROUP_SET,        /* the members become exactly users[0..n) */
};
struct roster_group_step {
    int op; /* enum roster_group_op */
    const char *name;
    const char *const *users;
    size_t n;
    const char *extra; /* RENAME: the new extra object ("": none), NULL: unchanged */
};
/* Creates g (kind, name, extra; create) or changes group g->num_id of g->kind (!create),
 * then applies steps[0..n) in order, all in one transaction: all or nothing. With
 * expect_version > 0 (!create), a group whose version differs is ROSTER_ESTALE (If-Match).
 * On success *g is the group as committed (version included; strings in ctx's arena).
 * Errors: ROSTER_ENOTFOUND for the group; ROSTER_ECONFLICT (err->field "name") for a name
 * in use by a group of the same kind; a member that is not a user of the organisation is
 * ROSTER_EINVAL with err->field "members" and a message naming it (a number naming a group
 * of the kind: "nested groups are not supported"). */
int roster_group_apply(struct roster_ctx *ctx, struct roster_group *g, bool create,
                       int64_t expect_version, const struct roster_group_step *steps, size_t n,
                       struct roster_err *err);

/* --- scheduled state changes and outbox messages (src/core/schedules.c) --- */

int roster_schedule_list(struct roster_ctx *ctx, const struct roster_query *q,
                         struct roster_schedule **out, size_t *n, struct roster_err *err);
int roster_schedule_get(struct roster_ctx *ctx, const char *id, struct roster_schedule *out,
                        struct roster_err *err);
/* Cancels a pending change now; ROSTER_ENOTFOUND for a missing or malformed id. */
int roster_schedule_cancel(struct roster_ctx *ctx, const char *id, struct roster_err *err);
/* The pending changes of users ids[0..nids), next first. */
int roster_schedule_next(struct roster_ctx *ctx, const char *const *ids, size_t nids,
                         struct roster_schedule **out, size_t *n, struct roster_err *err);
/* An outbox message of ctx's organisation. */
int roster_message_get(struct roster_ctx *ctx, const char *id, struct roster_message *out,
                       struct roster_err *err);

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

/* What a user job runs with (stored with the job). */
struct roster_job_params {
    const char *codec;           /* the item codec (roster_job_codec_register); required */
    int default_state;           /* creates: the state of users that set none */
    const char *creation_source; /* where the users come from (e.g. "jumpcloud:bulk"), or NULL */
    bool suppress_email;         /* no activation e-mail for the users */
};

/* Stores a user job (ROSTER_JOB_USERS_CREATE or _UPDATE) durably and wakes the workers;
 * returns once it is committed. raw is the JSON array text of the items and spans[0..n)
 * its elements (from roster_json_scan): chunks are cut from it by byte ranges, and a job
 * that fits one chunk stores raw as is. (src/core/job_users.c) */
int roster_job_submit(struct roster_ctx *ctx, int kind, const char *raw,
                      const struct roster_json_span *spans, size_t n,
                      const struct roster_job_params *params, struct roster_job *out,
                      struct roster_err *err);

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

/* --- retention (src/core/retention.c) --- */
/* Starts a thread that, every hour (or a quarter of the retention, if shorter) and once at
 * the start, purges the input of bulk jobs finished more than cfg.job_input_retention_s
 * ago, for each job kind that does not keep its input, and deletes the idempotency keys
 * that have expired (roster/idem.h). */
int roster_retention_start(struct roster_app *app, struct roster_retention **out,
                           struct roster_err *err);
/* One pass of it on conn at now_ms (exposed for tests): *purged = chunks emptied (the
 * idempotency keys deleted are not counted). */
int roster_retention_pass(const struct roster_app *app, struct roster_conn *conn, int64_t now_ms,
                          size_t *purged, struct roster_err *err);
void roster_retention_stop(struct roster_retention *r);

/* --- outbox delivery (src/core/delivery.c, roster/delivery.h) --- */
/* Starts the delivery workers (one per session of each registered channel); *out = NULL
 * and nothing runs when no channel is registered. */
int roster_delivery_start(struct roster_app *app, struct roster_delivery **out,
                          struct roster_err *err);
/* Stops them: each finishes the message it is sending and records its batch. */
void roster_delivery_stop(struct roster_delivery *d);

/* Runs one claimed chunk to completion on conn (exposed for tests); ROSTER_ESTALE (nothing
 * applied) when its lease is no longer ch's. */
int roster_jobs_run_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_err *err);

#endif
