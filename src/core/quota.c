/* Quotas of bulk work per organisation (issue 14): how many bulk jobs it may have open
 * (created and not finished: JumpCloud user jobs, Courier message jobs taking items or
 * running) and how many of their items may wait for a result. Decided here, counted by the
 * store (job_usage), checked before a job is created or items are added, so that nothing
 * is stored for a refused request. docs/limits.md. */
#include "roster/core.h"

static int64_t cap_or(int64_t v, int64_t def)
{
    return v > 0 ? v : def;
}

int roster_job_quota_check(struct roster_ctx *ctx, int64_t jobs, int64_t items,
                           struct roster_err *err)
{
    const struct roster_config *cfg = ctx->app ? &ctx->app->cfg : NULL;
    int64_t max_jobs = cap_or(cfg ? cfg->max_open_jobs : 0, ROSTER_MAX_OPEN_JOBS_DEFAULT);
    int64_t max_items = cap_or(cfg ? cfg->max_pending_items : 0, ROSTER_MAX_PENDING_ITEMS_DEFAULT);
    int64_t open = 0, pending = 0;
    int code = roster_store_job_usage(ctx->conn, ctx->org_id, &open, &pending, err);
    if (code)
        return code;
    if (jobs > 0 && open + jobs > max_jobs)
        return roster_err_set(err, ROSTER_EQUOTA,
                              "the organization has %lld open bulk jobs, the most it may have "
                              "(--max-open-jobs %lld): wait until one finishes",
                              (long long)open, (long long)max_jobs);
    if (items > 0 && pending + items > max_items)
        return roster_err_set(err, ROSTER_EQUOTA,
                              "the organization's open bulk jobs have %lld items still to do, "
                              "and %lld more would pass the most it may have "
                              "(--max-pending-items %lld): wait until its jobs have done more",
                              (long long)pending, (long long)items, (long long)max_items);
    return 0;
}
