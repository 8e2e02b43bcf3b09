/* What the HTTP layer counts for GET /metrics, per server: requests by route and status,
 * their durations by route (a histogram), connections open and accepted. Private to
 * src/http (server.c records and writes through it).
 *
 * Lock-free: every counter is an atomic added to with relaxed order; the arrays are
 * allocated once, when the server starts, for its route table (the route label is the
 * table's pattern, so the number of series is bounded by the table, never by the paths
 * clients send; a path of no route counts as route "unmatched").
 */
#ifndef ROSTER_HTTP_METRICS_H
#define ROSTER_HTTP_METRICS_H

#include <stdint.h>

#include "roster/http.h"

struct http_metrics;

/* For routes (which must outlive it); NULL when out of memory (nothing is counted then). */
struct http_metrics *http_metrics_new(const struct roster_routes *routes);
void http_metrics_free(struct http_metrics *m);

/* The monotonic clock in microseconds (what durations are measured with). */
int64_t http_metrics_now_us(void);

/* One request answered: route (NULL: unmatched), its status and how long it took from its
 * headers to its answer being queued. m may be NULL. */
void http_metrics_request(struct http_metrics *m, const struct roster_route *route, int status,
                          int64_t duration_us);
/* A connection opened (+1) or closed (-1). m may be NULL. */
void http_metrics_conn(struct http_metrics *m, int delta);
/* Appends the families above in the text format. m may be NULL (families without samples). */
void http_metrics_write(const struct http_metrics *m, struct roster_buf *out);

#endif
