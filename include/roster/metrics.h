/* Metrics for GET /metrics (Prometheus text exposition format 0.0.4): the process-wide
 * counters that any layer bumps, and the writer of the text format.
 *
 * Counters cost a write nothing measurable: each is a C11 atomic added to with relaxed
 * order (no lock, no ordering with other memory), read only when /metrics is scraped.
 * What the HTTP layer counts per route (requests, durations, connections) lives in its
 * server (src/http/http_metrics.c); what needs the store (queue depth, pending scheduled
 * changes) is read from it at scrape time (roster_app_queue_stats). docs/metrics.md lists
 * every metric.
 */
#ifndef ROSTER_METRICS_H
#define ROSTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"
#include "roster/util.h"

/* --- counters (thread-safe, lock-free) --- */

/* A request refused by rate limiting (429). */
void roster_metrics_rate_limited(void);
/* Items of a bulk job of kind (enum roster_job_kind) whose effect and result committed:
 * nok succeeded, nfailed failed (an item-level failure: validation, conflict). */
void roster_metrics_items(int kind, int64_t nok, int64_t nfailed);
/* Scheduled state changes whose outcome committed: applied, failed, and of the applied
 * ones how many late (more than ROSTER_SCHED_LATE_MS after their due time). */
#define ROSTER_SCHED_LATE_MS 60000
void roster_metrics_schedules(int64_t applied, int64_t failed, int64_t late);
/* A store method failed for a reason of the store's (code ROSTER_EBUSY, ROSTER_EIO,
 * ROSTER_ENOMEM, ROSTER_EUNSUPPORTED), not of the caller's input. */
void roster_metrics_store_error(int code);
/* Whether a store method's return code counts as a store error (see above). */
static inline bool roster_metrics_is_store_error(int code)
{
    return code == ROSTER_EBUSY || code == ROSTER_EIO || code == ROSTER_ENOMEM ||
           code == ROSTER_EUNSUPPORTED || code > ROSTER_EUNSUPPORTED || code < 0;
}

/* Appends the families of the counters above (every one, zero or not). */
void roster_metrics_write_process(struct roster_buf *b);

/* --- the text format --- */

struct roster_prom_label {
    const char *name, *value; /* value is escaped by the writer */
};

/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge, histogram). */
void roster_prom_family(struct roster_buf *b, const char *name, const char *type, const char *help);
/* One sample: name{l0="v0",...} value; an integer value (counters, counts). */
void roster_prom_u64(struct roster_buf *b, const char *name, const struct roster_prom_label *l,
                     size_t nl, uint64_t value);
/* One sample with a real value (seconds, ratios): shortest form that reads back the same. */
void roster_prom_f64(struct roster_buf *b, const char *name, const struct roster_prom_label *l,
                     size_t nl, double value);
/* The samples of one histogram of labels l: name_bucket{l...,le="b"} for each upper bound
 * bounds[0..nb) and +Inf (cumulative: counts[i] is what fell in bucket i alone, counts[nb]
 * what fell above the last bound), name_sum and name_count. At most 8 labels. */
void roster_prom_histogram(struct roster_buf *b, const char *name,
                           const struct roster_prom_label *l, size_t nl, const double *bounds,
                           size_t nb, const uint64_t *counts, double sum);

#endif
