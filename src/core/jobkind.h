/* Private to src/core: a kind of bulk job as the job engine (src/core/jobs.c) knows it.
 * The engine claims a chunk, has its kind prepare it outside any transaction, and has it
 * applied inside the batch's transaction; it knows nothing else of what a kind does. Each
 * kind's file defines one struct roster_job_kind_ops; src/core/job_kinds.c lists them, so
 * adding a kind adds a file and a line there, and no branch in the engine.
 */
#ifndef ROSTER_CORE_JOBKIND_H
#define ROSTER_CORE_JOBKIND_H

#include "roster/core.h"
#include "roster/wake.h"

struct roster_job_kind_ops {
    int kind; /* enum roster_job_kind */
    /* Phase 1 for a claimed chunk, outside any transaction (preparer threads run it in
     * parallel; store reads on conn are allowed): whatever phase 2 needs, as *state,
     * allocated in a (the chunk's arena, which lives until the chunk is applied) or
     * released by release. Non-zero only for a store failure: the chunk is then retried
     * once its lease expires. */
    int (*prepare)(struct roster_conn *conn, const struct roster_chunk *ch, struct roster_arena *a,
                   void **state, struct roster_err *err);
    /* Phase 2, inside the applier's transaction: applies the chunk and completes it with its
     * results (roster_store_chunk_complete, refused if the lease was lost). Item failures
     * are results; any returned failure makes the caller roll the transaction back, after
     * which the same state is applied again: apply must leave it unchanged. */
    int (*apply)(struct roster_conn *conn, const struct roster_chunk *ch, struct roster_arena *a,
                 void *state, struct roster_err *err);
    /* Frees what prepare allocated outside the arena; NULL when nothing is. */
    void (*release)(void *state);
    /* Results of items [skip, skip+limit) of job (roster_job_results); NULL for a kind that
     * lists its items another way (the job is then "not found" there). */
    int (*results)(struct roster_ctx *ctx, const struct roster_job *job, int64_t skip,
                   int64_t limit, struct roster_item_result **out, size_t *n,
                   struct roster_err *err);
    /* Whether the kind reads its items after the job finished (a listing of them): its
     * input is then kept; otherwise it is purged --job-input-retention after the job
     * finished (src/core/retention.c). */
    bool input_kept;
};

/* Wakes the job engine, if it runs, after new work was committed. */
static inline void roster_job_wake(const struct roster_ctx *ctx)
{
    if (ctx->app && ctx->app->job_wake)
        roster_wake_notify(ctx->app->job_wake);
}

/* What a kind's apply calls to complete its chunk: roster_store_chunk_complete, and the
 * chunk's item counts kept for GET /metrics until the batch's transaction commits
 * (src/core/jobs.c; a rolled-back batch counts nothing). */
int roster_job_chunk_complete(struct roster_conn *conn, const struct roster_chunk *ch,
                              const char *results_json, int64_t nok, int64_t nfailed,
                              struct roster_err *err);

/* The kinds (src/core/job_kinds.c): the built-in ones, then the registered ones; NULL for
 * an unknown kind. */
const struct roster_job_kind_ops *roster_job_kind_find(int kind);
/* The i-th kind (built-in, then registered), NULL past the last: for what runs over all. */
const struct roster_job_kind_ops *roster_job_kind_at(size_t i);

/* Adds a kind at run time, looked up after the built-in ones: for tests and future kinds.
 * k must outlive every engine and lookup (static storage). Call before the engine starts
 * (and before any request that lists a job's results): the table is not locked. Returns
 * ROSTER_ECONFLICT when k->kind is already known, ROSTER_ENOMEM when the (small, fixed)
 * table of registered kinds is full. */
int roster_job_kind_register(const struct roster_job_kind_ops *k);

/* The result pages of the kinds whose results_json entries are user results
 * ([status, message, user id, updated_ms, username, email, field], src/core/job_users.c):
 * user jobs and imports. */
int roster_job_user_results(struct roster_ctx *ctx, const struct roster_job *job, int64_t skip,
                            int64_t limit, struct roster_item_result **out, size_t *n,
                            struct roster_err *err);

extern const struct roster_job_kind_ops roster_job_kind_users_create;
extern const struct roster_job_kind_ops roster_job_kind_users_update;
extern const struct roster_job_kind_ops roster_job_kind_message;
extern const struct roster_job_kind_ops roster_job_kind_import;

#endif
