/* GET /metrics, the part core knows (include/roster/core.h: roster_app_metrics_write): the
 * store's queues read at scrape time (store method queue_stats), the list cache's counters,
 * and the process-wide counters (src/util/metrics.c).
 */
#include "roster/core.h"
#include "roster/list.h"
#include "roster/log.h"
#include "roster/metrics.h"

/* Seconds from then_ms to now_ms, 0 when then_ms is 0 (nothing) or not past. */
static double age_s(int64_t then_ms, int64_t now_ms)
{
    return then_ms > 0 && now_ms > then_ms ? (double)(now_ms - then_ms) / 1000.0 : 0.0;
}

static void gauge(struct roster_buf *out, const char *name, const char *help, double v)
{
    roster_prom_family(out, name, "gauge", help);
    roster_prom_f64(out, name, NULL, 0, v);
}

static void queues(struct roster_ctx *ctx, struct roster_buf *out)
{
    struct roster_queue_stats q;
    struct roster_err err = {0};
    int rc = ctx->conn ? roster_store_queue_stats(ctx->conn, &q, &err) : ROSTER_EIO;
    gauge(out, "roster_store_up", "1 when the store answered this scrape's read, else 0.",
          rc == 0 ? 1 : 0);
    if (rc != 0) {
        roster_log(ROSTER_LOG_WARN, "metrics: the store does not answer", "code=%s detail=\"%s\"",
                   roster_code_name(rc), err.detail);
        return;
    }
    int64_t now = roster_now_ms();
    gauge(out, "roster_bulk_jobs_queued",
          "Bulk jobs started and not finished (of every organisation).", (double)q.jobs_open);
    gauge(out, "roster_bulk_items_queued", "Items of those jobs without a result yet.",
          (double)q.items_open);
    gauge(out, "roster_bulk_oldest_queued_age_seconds",
          "Age of the oldest bulk job not finished; 0 when there is none.",
          age_s(q.oldest_job_ms, now));
    gauge(out, "roster_scheduled_changes_pending",
          "Scheduled user state changes not applied, failed or cancelled yet.",
          (double)q.schedules_pending);
    gauge(out, "roster_scheduled_changes_overdue_seconds",
          "How long the earliest pending scheduled change is past its due time; 0 when none "
          "is.",
          age_s(q.earliest_due_ms, now));
}

static void list_cache(struct roster_ctx *ctx, struct roster_buf *out)
{
    struct roster_lists_stats st;
    roster_lists_stats(ctx->app ? ctx->app->lists : NULL, &st);
    static const char lookups[] = "roster_list_cache_lookups_total";
    roster_prom_family(out, lookups, "counter",
                       "User list requests by whether the list cache answered them (hit) or the "
                       "store was read (miss).");
    struct roster_prom_label l = {"result", "hit"};
    roster_prom_u64(out, lookups, &l, 1, st.hits);
    l.value = "miss";
    roster_prom_u64(out, lookups, &l, 1, st.misses);
    gauge(out, "roster_list_cache_entries", "Lists kept in the list cache.", (double)st.entries);
    gauge(out, "roster_list_cache_bytes", "Memory the list cache holds, in bytes.",
          (double)st.bytes);
}

void roster_app_metrics_write(struct roster_ctx *ctx, struct roster_buf *out)
{
    queues(ctx, out);
    list_cache(ctx, out);
    roster_metrics_write_process(out);
}
