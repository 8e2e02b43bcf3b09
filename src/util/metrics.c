/* Process-wide counters and the Prometheus text format writer (include/roster/metrics.h).
 *
 * DESIGN
 * - Each counter is a _Atomic uint64_t bumped with memory_order_relaxed: a write costs one
 *   locked add on its cache line and never waits for a lock; a scrape reads them one by
 *   one (a scrape may see one counter bumped and a neighbour not yet: fine for counters).
 * - The writer follows the text exposition format 0.0.4: label values escape backslash,
 *   double quote and newline; HELP text escapes backslash and newline; real values are
 *   printed in the shortest form that reads back the same double, +Inf/-Inf/NaN as Prometheus
 * spells them.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/job.h"
#include "roster/metrics.h"

/* --- counters --- */

#define NKINDS 4 /* enum roster_job_kind 1..3; 0: any other (registered at run time) */
#define NCODES (ROSTER_EUNSUPPORTED + 2) /* every roster code, and one for unknown codes */

static _Atomic uint64_t rate_limited;
static _Atomic uint64_t items_ok[NKINDS], items_failed[NKINDS];
static _Atomic uint64_t sched_applied, sched_failed, sched_late;
static _Atomic uint64_t store_errors[NCODES];

void roster_metrics_rate_limited(void)
{
    atomic_fetch_add_explicit(&rate_limited, 1, memory_order_relaxed);
}

void roster_metrics_items(int kind, int64_t nok, int64_t nfailed)
{
    int k = kind > 0 && kind < NKINDS ? kind : 0;
    if (nok > 0)
        atomic_fetch_add_explicit(&items_ok[k], (uint64_t)nok, memory_order_relaxed);
    if (nfailed > 0)
        atomic_fetch_add_explicit(&items_failed[k], (uint64_t)nfailed, memory_order_relaxed);
}

void roster_metrics_schedules(int64_t applied, int64_t failed, int64_t late)
{
    if (applied > 0)
        atomic_fetch_add_explicit(&sched_applied, (uint64_t)applied, memory_order_relaxed);
    if (failed > 0)
        atomic_fetch_add_explicit(&sched_failed, (uint64_t)failed, memory_order_relaxed);
    if (late > 0)
        atomic_fetch_add_explicit(&sched_late, (uint64_t)late, memory_order_relaxed);
}

void roster_metrics_store_error(int code)
{
    int i = code >= 0 && code <= ROSTER_EUNSUPPORTED ? code : NCODES - 1;
    atomic_fetch_add_explicit(&store_errors[i], 1, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static const char *const kind_names[NKINDS] = {
    [0] = "other",
    [ROSTER_JOB_USERS_CREATE] = "users_create",
    [ROSTER_JOB_USERS_UPDATE] = "users_update",
    [ROSTER_JOB_MESSAGE] = "message",
};

/* The store error codes shown (always, zero or not), as roster_code_name spells them. */
static const int shown_codes[] = {ROSTER_EBUSY, ROSTER_EIO, ROSTER_ENOMEM, ROSTER_EUNSUPPORTED};

/* A counter family of one label (none: label NULL, n 1): its header and n samples. */
static void counter(struct roster_buf *b, const char *name, const char *help, const char *label,
                    const char *const *values, _Atomic uint64_t *const *c, size_t n)
{
    roster_prom_family(b, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        struct roster_prom_label l = {label, values ? values[i] : NULL};
        roster_prom_u64(b, name, &l, label ? 1 : 0, get(c[i]));
    }
}

void roster_metrics_write_process(struct roster_buf *b)
{
    counter(b, "roster_rate_limited_requests_total", "Requests refused by rate limiting (429).",
            NULL, NULL, (_Atomic uint64_t *const[]){&rate_limited}, 1);

    static const char items[] = "roster_bulk_items_applied_total";
    roster_prom_family(b, items, "counter",
                       "Bulk job items whose outcome committed, by job kind and result "
                       "(failed: refused item, e.g. validation or a conflict).");
    for (int k = 1; k <= NKINDS; k++) {
        int i = k % NKINDS; /* the named kinds first, "other" last */
        struct roster_prom_label l[2] = {{"kind", kind_names[i]}, {"result", "succeeded"}};
        roster_prom_u64(b, items, l, 2, get(&items_ok[i]));
        l[1].value = "failed";
        roster_prom_u64(b, items, l, 2, get(&items_failed[i]));
    }

    static const char *const results[] = {"applied", "failed"};
    counter(b, "roster_scheduled_changes_done_total",
            "Scheduled user state changes whose outcome committed, by result.", "result", results,
            (_Atomic uint64_t *const[]){&sched_applied, &sched_failed}, 2);
    counter(b, "roster_scheduled_changes_late_total",
            "Scheduled changes applied more than 60 s after their due time.", NULL, NULL,
            (_Atomic uint64_t *const[]){&sched_late}, 1);

    static const char errs[] = "roster_store_errors_total";
    roster_prom_family(b, errs, "counter",
                       "Store calls that failed for the store's reason (busy, I/O, memory), "
                       "by code.");
    for (size_t i = 0; i < sizeof(shown_codes) / sizeof(shown_codes[0]); i++) {
        struct roster_prom_label l = {"code", roster_code_name(shown_codes[i])};
        roster_prom_u64(b, errs, &l, 1, get(&store_errors[shown_codes[i]]));
    }
    uint64_t unknown = get(&store_errors[NCODES - 1]);
    if (unknown) {
        struct roster_prom_label l = {"code", "other"};
        roster_prom_u64(b, errs, &l, 1, unknown);
    }
}

/* --- the text format --- */

/* s with the escapes of a label value (help: of a HELP text, which keeps '"'). */
static void add_escaped(struct roster_buf *b, const char *s, bool help)
{
    for (; *s; s++) {
        if (*s == '\\')
            roster_buf_addstr(b, "\\\\");
        else if (*s == '\n')
            roster_buf_addstr(b, "\\n");
        else if (*s == '"' && !help)
            roster_buf_addstr(b, "\\\"");
        else
            roster_buf_addch(b, *s);
    }
}

void roster_prom_family(struct roster_buf *b, const char *name, const char *type, const char *help)
{
    roster_buf_printf(b, "# HELP %s ", name);
    add_escaped(b, help, true);
    roster_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void add_labels(struct roster_buf *b, const struct roster_prom_label *l, size_t nl)
{
    if (!nl)
        return;
    roster_buf_addch(b, '{');
    for (size_t i = 0; i < nl; i++) {
        if (i)
            roster_buf_addch(b, ',');
        roster_buf_addstr(b, l[i].name);
        roster_buf_addstr(b, "=\"");
        add_escaped(b, l[i].value ? l[i].value : "", false);
        roster_buf_addch(b, '"');
    }
    roster_buf_addch(b, '}');
}

void roster_prom_u64(struct roster_buf *b, const char *name, const struct roster_prom_label *l,
                     size_t nl, uint64_t value)
{
    roster_buf_addstr(b, name);
    add_labels(b, l, nl);
    roster_buf_printf(b, " %llu\n", (unsigned long long)value);
}

/* v in out[32] as Prometheus reads it: the shortest of %.15g..%.17g that reads back the
 * same double (0.005, not 0.0050000000000000001). */
static const char *fmt_f64(double v, char out[32])
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return out;
}

static void add_f64(struct roster_buf *b, double v)
{
    char tmp[32];
    roster_buf_addstr(b, fmt_f64(v, tmp));
}

void roster_prom_f64(struct roster_buf *b, const char *name, const struct roster_prom_label *l,
                     size_t nl, double value)
{
    roster_buf_addstr(b, name);
    add_labels(b, l, nl);
    roster_buf_addch(b, ' ');
    add_f64(b, value);
    roster_buf_addch(b, '\n');
}

#define HIST_MAX_LABELS 8

void roster_prom_histogram(struct roster_buf *b, const char *name,
                           const struct roster_prom_label *l, size_t nl, const double *bounds,
                           size_t nb, const uint64_t *counts, double sum)
{
    if (nl > HIST_MAX_LABELS)
        nl = HIST_MAX_LABELS;
    struct roster_prom_label ll[HIST_MAX_LABELS + 1];
    if (nl)
        memcpy(ll, l, nl * sizeof(*l));
    char series[256], le[32];
    snprintf(series, sizeof(series), "%s_bucket", name);
    uint64_t total = 0;
    for (size_t i = 0; i <= nb; i++) {
        total += counts[i];
        ll[nl] = (struct roster_prom_label){"le", i < nb ? fmt_f64(bounds[i], le) : "+Inf"};
        roster_prom_u64(b, series, ll, nl + 1, total);
    }
    snprintf(series, sizeof(series), "%s_sum", name);
    roster_prom_f64(b, series, l, nl, sum);
    snprintf(series, sizeof(series), "%s_count", name);
    roster_prom_u64(b, series, l, nl, total);
}
