/* Unit tests of the Prometheus text format writer (src/util/metrics.c) and the process-wide
 * counters: exact lines for families, samples, label escaping, real values and histograms;
 * counters that move by what was added, from several threads at once.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "roster/job.h"
#include "roster/metrics.h"
#include "test.h"

/* What one call wrote (a fresh buffer each time). */
static struct roster_buf out;
static const char *text(void)
{
    return out.data ? out.data : "";
}

/* The value of the sample line that begins with series (name and labels) in s, or -1. */
static double sample(const char *s, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static void test_writer(void)
{
    roster_buf_reset(&out);
    roster_prom_family(&out, "x_total", "counter", "Requests \"seen\", one\\two\nthree.");
    CHECK_EQ_STR(text(), "# HELP x_total Requests \"seen\", one\\\\two\\nthree.\n"
                         "# TYPE x_total counter\n");

    roster_buf_reset(&out);
    roster_prom_u64(&out, "x_total", NULL, 0, 0);
    roster_prom_u64(&out, "x_total", NULL, 0, UINT64_MAX);
    CHECK_EQ_STR(text(), "x_total 0\nx_total 18446744073709551615\n");

    /* label values: backslash, double quote and newline escaped; NULL is empty */
    roster_buf_reset(&out);
    struct roster_prom_label l[3] = {{"route", "/a/{id}"}, {"odd", "q\"b\\s\nn"}, {"none", NULL}};
    roster_prom_u64(&out, "x_total", l, 3, 7);
    CHECK_EQ_STR(text(), "x_total{route=\"/a/{id}\",odd=\"q\\\"b\\\\s\\nn\",none=\"\"} 7\n");

    /* real values: shortest form that reads back, and Prometheus's spellings */
    roster_buf_reset(&out);
    roster_prom_f64(&out, "g", NULL, 0, 0.005);
    roster_prom_f64(&out, "g", NULL, 0, 0.1 + 0.2);
    roster_prom_f64(&out, "g", NULL, 0, 1e21);
    roster_prom_f64(&out, "g", NULL, 0, -2);
    roster_prom_f64(&out, "g", NULL, 0, INFINITY);
    roster_prom_f64(&out, "g", NULL, 0, -INFINITY);
    roster_prom_f64(&out, "g", NULL, 0, NAN);
    CHECK_EQ_STR(text(), "g 0.005\ng 0.30000000000000004\ng 1e+21\ng -2\ng +Inf\ng -Inf\ng NaN\n");

    /* a histogram: cumulative buckets, +Inf, sum and count, the labels kept in front of le */
    roster_buf_reset(&out);
    const double bounds[] = {0.001, 0.5, 2};
    const uint64_t counts[] = {3, 0, 2, 1}; /* 1 above the last bound */
    struct roster_prom_label r = {"route", "/x"};
    roster_prom_histogram(&out, "d_seconds", &r, 1, bounds, 3, counts, 4.25);
    CHECK_EQ_STR(text(), "d_seconds_bucket{route=\"/x\",le=\"0.001\"} 3\n"
                         "d_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
                         "d_seconds_bucket{route=\"/x\",le=\"2\"} 5\n"
                         "d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6\n"
                         "d_seconds_sum{route=\"/x\"} 4.25\n"
                         "d_seconds_count{route=\"/x\"} 6\n");
    /* without labels */
    roster_buf_reset(&out);
    const uint64_t none[] = {0};
    roster_prom_histogram(&out, "e", NULL, 0, NULL, 0, none, 0);
    CHECK_EQ_STR(text(), "e_bucket{le=\"+Inf\"} 0\ne_sum 0\ne_count 0\n");
}

#define THREADS 4
#define ROUNDS 10000

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        roster_metrics_rate_limited();
        roster_metrics_items(ROSTER_JOB_USERS_CREATE, 2, 1);
    }
    return NULL;
}

static void test_counters(void)
{
    roster_buf_reset(&out);
    roster_metrics_write_process(&out);
    /* every family is there before anything was counted, at 0 */
    CHECK_EQ_INT((long long)sample(text(), "roster_rate_limited_requests_total"), 0);
    CHECK_EQ_INT((long long)sample(text(), "roster_bulk_items_applied_total{kind=\"message\","
                                           "result=\"failed\"}"),
                 0);
    CHECK_EQ_INT((long long)sample(text(), "roster_store_errors_total{code=\"io\"}"), 0);
    CHECK_EQ_INT((long long)sample(text(), "roster_scheduled_changes_late_total"), 0);
    CHECK(strstr(text(), "# TYPE roster_store_errors_total counter\n") != NULL);

    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, bump, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    roster_metrics_items(ROSTER_JOB_MESSAGE, 5, 0);
    roster_metrics_items(99, 1, 4); /* a kind registered at run time: "other" */
    roster_metrics_items(ROSTER_JOB_USERS_UPDATE, -3, 0); /* nothing negative is added */
    roster_metrics_schedules(3, 1, 2);
    roster_metrics_store_error(ROSTER_EIO);
    roster_metrics_store_error(ROSTER_EBUSY);
    roster_metrics_store_error(ROSTER_EIO);
    roster_metrics_store_error(77); /* an unknown code shows as "other" */

    roster_buf_reset(&out);
    roster_metrics_write_process(&out);
    const char *t = text();
    CHECK_EQ_INT((long long)sample(t, "roster_rate_limited_requests_total"), THREADS * ROUNDS);
    CHECK_EQ_INT((long long)sample(t, "roster_bulk_items_applied_total{kind=\"users_create\","
                                      "result=\"succeeded\"}"),
                 2 * THREADS * ROUNDS);
    CHECK_EQ_INT((long long)sample(t, "roster_bulk_items_applied_total{kind=\"users_create\","
                                      "result=\"failed\"}"),
                 THREADS * ROUNDS);
    CHECK_EQ_INT((long long)sample(t, "roster_bulk_items_applied_total{kind=\"message\","
                                      "result=\"succeeded\"}"),
                 5);
    CHECK_EQ_INT((long long)sample(t, "roster_bulk_items_applied_total{kind=\"other\","
                                      "result=\"failed\"}"),
                 4);
    CHECK_EQ_INT((long long)sample(t, "roster_bulk_items_applied_total{kind=\"users_update\","
                                      "result=\"succeeded\"}"),
                 0);
    CHECK_EQ_INT((long long)sample(t, "roster_scheduled_changes_done_total{result=\"applied\"}"),
                 3);
    CHECK_EQ_INT((long long)sample(t, "roster_scheduled_changes_done_total{result=\"failed\"}"), 1);
    CHECK_EQ_INT((long long)sample(t, "roster_scheduled_changes_late_total"), 2);
    CHECK_EQ_INT((long long)sample(t, "roster_store_errors_total{code=\"io\"}"), 2);
    CHECK_EQ_INT((long long)sample(t, "roster_store_errors_total{code=\"busy\"}"), 1);
    CHECK_EQ_INT((long long)sample(t, "roster_store_errors_total{code=\"other\"}"), 1);

    /* what counts as the store's own failure */
    CHECK(roster_metrics_is_store_error(ROSTER_EIO));
    CHECK(roster_metrics_is_store_error(ROSTER_EBUSY));
    CHECK(roster_metrics_is_store_error(ROSTER_ENOMEM));
    CHECK(!roster_metrics_is_store_error(0));
    CHECK(!roster_metrics_is_store_error(ROSTER_ENOTFOUND));
    CHECK(!roster_metrics_is_store_error(ROSTER_ECONFLICT));
    CHECK(!roster_metrics_is_store_error(ROSTER_EINVAL));
    CHECK(!roster_metrics_is_store_error(ROSTER_ESTALE));
}

int main(void)
{
    roster_buf_init(&out);
    test_writer();
    test_counters();
    roster_buf_release(&out);
    return test_finish();
}
