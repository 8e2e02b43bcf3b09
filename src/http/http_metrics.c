/* Per-server HTTP metrics (http_metrics.h): counters as atomics in arrays sized for the
 * route table when the server starts; one more row for requests of no route.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http/http_metrics.h"
#include "roster/metrics.h"

#define STATUS_MIN 100
#define NSTATUS 500 /* 100..599; anything else counts as 0 ("other") below */

/* Upper bounds of the duration buckets, in seconds: from half a millisecond (a page read
 * from the list cache) to 10 s (a bulk request of the largest size on a busy store). */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NB (sizeof(bounds) / sizeof(bounds[0]))

struct http_metrics {
    const struct roster_routes *routes;
    size_t rows;                  /* routes->n + 1: the last row is "unmatched" */
    _Atomic uint64_t *requests;   /* [rows][NSTATUS + 1]: the last column for other statuses */
    _Atomic uint64_t *durations;  /* [rows][NB + 1]: per bucket, not cumulative */
    _Atomic uint64_t *dur_sum_us; /* [rows] */
    _Atomic int64_t conns_open;
    _Atomic uint64_t conns_total;
};

struct http_metrics *http_metrics_new(const struct roster_routes *routes)
{
    struct http_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->routes = routes;
    m->rows = routes->n + 1;
    m->requests = calloc(m->rows * (NSTATUS + 1), sizeof(*m->requests));
    m->durations = calloc(m->rows * (NB + 1), sizeof(*m->durations));
    m->dur_sum_us = calloc(m->rows, sizeof(*m->dur_sum_us));
    if (!m->requests || !m->durations || !m->dur_sum_us) {
        http_metrics_free(m);
        return NULL;
    }
    return m;
}

void http_metrics_free(struct http_metrics *m)
{
    if (!m)
        return;
    free((void *)m->requests);
    free((void *)m->durations);
    free((void *)m->dur_sum_us);
    free(m);
}

int64_t http_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t row_of(const struct http_metrics *m, const struct roster_route *route)
{
    if (!route || route < m->routes->v || route >= m->routes->v + m->routes->n)
        return m->rows - 1;
    return (size_t)(route - m->routes->v);
}

void http_metrics_request(struct http_metrics *m, const struct roster_route *route, int status,
                          int64_t duration_us)
{
    if (!m)
        return;
    size_t row = row_of(m, route);
    size_t col = status >= STATUS_MIN && status < STATUS_MIN + NSTATUS
                     ? (size_t)(status - STATUS_MIN)
                     : NSTATUS;
    atomic_fetch_add_explicit(&m->requests[row * (NSTATUS + 1) + col], 1, memory_order_relaxed);
    if (duration_us < 0)
        duration_us = 0;
    double s = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < NB && s > bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->durations[row * (NB + 1) + b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->dur_sum_us[row], (uint64_t)duration_us, memory_order_relaxed);
}

void http_metrics_conn(struct http_metrics *m, int delta)
{
    if (!m)
        return;
    atomic_fetch_add_explicit(&m->conns_open, delta, memory_order_relaxed);
    if (delta > 0)
        atomic_fetch_add_explicit(&m->conns_total, (uint64_t)delta, memory_order_relaxed);
}

/* The labels of row: method and route (the pattern), or route "unmatched" alone. */
static size_t row_labels(const struct http_metrics *m, size_t row, struct roster_prom_label *l)
{
    if (row == m->rows - 1) {
        l[0] = (struct roster_prom_label){"route", "unmatched"};
        return 1;
    }
    l[0] = (struct roster_prom_label){"method", m->routes->v[row].method};
    l[1] = (struct roster_prom_label){"route", m->routes->v[row].pattern};
    return 2;
}

void http_metrics_write(const struct http_metrics *m, struct roster_buf *out)
{
    static const char req[] = "roster_http_requests_total";
    roster_prom_family(out, req, "counter",
                       "HTTP requests answered, by route (the route table's pattern, or "
                       "\"unmatched\") and status.");
    for (size_t row = 0; m && row < m->rows; row++) {
        struct roster_prom_label l[3];
        size_t nl = row_labels(m, row, l);
        for (size_t col = 0; col <= NSTATUS; col++) {
            uint64_t n =
                atomic_load_explicit(&m->requests[row * (NSTATUS + 1) + col], memory_order_relaxed);
            if (!n)
                continue;
            char status[16];
            if (col < NSTATUS)
                snprintf(status, sizeof(status), "%zu", col + STATUS_MIN);
            else
                snprintf(status, sizeof(status), "other");
            l[nl] = (struct roster_prom_label){"status", status};
            roster_prom_u64(out, req, l, nl + 1, n);
        }
    }

    static const char dur[] = "roster_http_request_duration_seconds";
    roster_prom_family(out, dur, "histogram",
                       "Time from a request's headers to its answer being queued, by route.");
    for (size_t row = 0; m && row < m->rows; row++) {
        uint64_t counts[NB + 1], total = 0;
        for (size_t b = 0; b <= NB; b++) {
            counts[b] =
                atomic_load_explicit(&m->durations[row * (NB + 1) + b], memory_order_relaxed);
            total += counts[b];
        }
        if (!total)
            continue;
        struct roster_prom_label l[2];
        size_t nl = row_labels(m, row, l);
        double sum = (double)atomic_load_explicit(&m->dur_sum_us[row], memory_order_relaxed) / 1e6;
        roster_prom_histogram(out, dur, l, nl, bounds, NB, counts, sum);
    }

    roster_prom_family(out, "roster_http_connections_open", "gauge", "HTTP connections open now.");
    int64_t open = m ? atomic_load_explicit(&m->conns_open, memory_order_relaxed) : 0;
    roster_prom_u64(out, "roster_http_connections_open", NULL, 0, open > 0 ? (uint64_t)open : 0);
    roster_prom_family(out, "roster_http_connections_total", "counter",
                       "HTTP connections accepted.");
    roster_prom_u64(out, "roster_http_connections_total", NULL, 0,
                    m ? atomic_load_explicit(&m->conns_total, memory_order_relaxed) : 0);
}
