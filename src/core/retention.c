/* Retention of bulk job input: a finished job's input (the users as they were sent) is
 * purged --job-input-retention after its last item was applied, for every job kind that
 * does not read its items afterwards (src/core/jobkind.h, input_kept). Progress and results
 * stay, so the job still answers. Passwords never reach job input (the dialects empty them
 * first); this bounds how long the rest of what was sent is kept. Expired idempotency keys
 * (roster/idem.h) are deleted by the same passes.
 *
 * One thread: a pass at the start, then one every hour, or every quarter of the retention
 * when that is shorter, each in batches so that no transaction holds the intake file long.
 */
#include <pthread.h>
#include <stdlib.h>

#include "core/jobkind.h"
#include "core/worker.h"
#include "roster/wake.h"
#include "roster/log.h"
#include "roster/store.h"
#include "roster/util.h"

#define RETENTION_BATCH 64 /* chunks a store call empties, at most (about) */
#define RETENTION_EVERY_S 3600

struct roster_retention {
    struct roster_app *app;
    pthread_t thread;
    struct roster_wake wake; /* stopped: the thread ends */
};

static int64_t retention_s(const struct roster_app *app)
{
    return app->cfg.job_input_retention_s > 0 ? app->cfg.job_input_retention_s
                                              : ROSTER_JOB_INPUT_RETENTION_S_DEFAULT;
}

int roster_retention_pass(const struct roster_app *app, struct roster_conn *conn, int64_t now_ms,
                          size_t *purged, struct roster_err *err)
{
    int64_t before = now_ms - retention_s(app) * 1000;
    *purged = 0;
    const struct roster_job_kind_ops *k;
    for (size_t i = 0; (k = roster_job_kind_at(i)) != NULL; i++) {
        if (k->input_kept)
            continue;
        size_t n;
        do {
            int code =
                roster_store_job_input_purge(conn, k->kind, before, RETENTION_BATCH, &n, err);
            if (code)
                return code;
            *purged += n;
        } while (n > 0);
    }
    /* idempotency keys past their expiry (roster/idem.h): a lookup ignores them already,
     * this only frees their room (not counted in *purged, which counts chunks) */
    size_t n;
    do {
        int code = roster_store_idem_purge(conn, now_ms, RETENTION_BATCH * 16, &n, err);
        if (code)
            return code;
    } while (n > 0);
    return 0;
}

static void *retention_main(void *arg)
{
    struct roster_retention *r = arg;
    int64_t every = retention_s(r->app) / 4;
    if (every > RETENTION_EVERY_S)
        every = RETENTION_EVERY_S;
    if (every < 1)
        every = 1;
    struct roster_conn *conn = NULL;
    for (;;) {
        uint64_t gen = roster_wake_generation(&r->wake);
        if (roster_wake_stopped(&r->wake))
            break;
        struct roster_err err = {0};
        size_t n = 0;
        if (!conn)
            conn = core_worker_conn(r->app, "job input retention: no store connection");
        if (conn && roster_retention_pass(r->app, conn, roster_now_ms(), &n, &err) != 0) {
            roster_log(ROSTER_LOG_WARN, "job input retention pass failed", "error=\"%s %s\"",
                       err.msg, err.detail);
            roster_conn_close(conn); /* a new connection next time */
            conn = NULL;
        } else if (n) {
            roster_log(ROSTER_LOG_INFO, "job input purged", "chunks=%zu retention_s=%lld", n,
                       (long long)retention_s(r->app));
        }
        roster_wake_wait(&r->wake, gen, every * 1000);
    }
    roster_conn_close(conn);
    return NULL;
}

int roster_retention_start(struct roster_app *app, struct roster_retention **out,
                           struct roster_err *err)
{
    struct roster_retention *r = calloc(1, sizeof(*r));
    if (!r)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    r->app = app;
    roster_wake_init(&r->wake);
    if (pthread_create(&r->thread, NULL, retention_main, r) != 0) {
        roster_wake_release(&r->wake);
        free(r);
        return roster_err_set(err, ROSTER_ENOMEM, "cannot start the retention thread");
    }
    *out = r;
    return 0;
}

void roster_retention_stop(struct roster_retention *r)
{
    if (!r)
        return;
    roster_wake_stop(&r->wake);
    pthread_join(r->thread, NULL);
    roster_wake_release(&r->wake);
    free(r);
}
