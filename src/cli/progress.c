/* Progress lines and bars on stderr (src/cli/progress.h). */
#include "cli/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "roster/util.h"

#define BAR_REDRAW_MS 100
#define LINES_INTERVAL_MS 5000
#define BAR_WIDTH 30

int roster_progress_mode(bool quiet, bool no_progress)
{
    if (quiet)
        return ROSTER_PROGRESS_QUIET;
    const char *ci = getenv("CI");
    if (no_progress || (ci && *ci) || !isatty(STDERR_FILENO))
        return ROSTER_PROGRESS_LINES;
    return ROSTER_PROGRESS_BAR;
}

void roster_progress_start(struct roster_progress *p, int mode, const char *what, const char *unit,
                           int64_t total, int64_t total_bytes)
{
    *p = (struct roster_progress){
        .mode = mode, .what = what, .unit = unit, .total = total, .total_bytes = total_bytes};
    p->start_ms = p->last_ms = roster_monotonic_ms();
    p->interval_ms = mode == ROSTER_PROGRESS_BAR ? BAR_REDRAW_MS : LINES_INTERVAL_MS;
    const char *env = getenv("ROSTER_PROGRESS_INTERVAL_MS");
    int64_t v;
    if (mode == ROSTER_PROGRESS_LINES && env && roster_parse_i64(env, &v) == 0 && v >= 0)
        p->interval_ms = v;
}

int64_t roster_progress_elapsed_ms(const struct roster_progress *p)
{
    return roster_monotonic_ms() - p->start_ms;
}

/* The share done in [0, 1], or -1 when the total is unknown. */
static double fraction(const struct roster_progress *p)
{
    double f;
    if (p->total_bytes > 0)
        f = (double)p->bytes / (double)p->total_bytes;
    else if (p->total > 0)
        f = (double)p->done / (double)p->total;
    else if (p->total == 0 || p->total_bytes == 0)
        f = 1;
    else
        return -1;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* "1:02:03", "2:03" or "5 s" */
static void duration(int64_t s, char *out, size_t cap)
{
    if (s < 60)
        snprintf(out, cap, "%lld s", (long long)s);
    else if (s < 3600)
        snprintf(out, cap, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(out, cap, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
}

static void draw(struct roster_progress *p, int64_t now)
{
    double secs = (double)(now - p->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    double f = fraction(p);
    char eta[32] = "?";
    if (f > 0 && f < 1 && secs > 0)
        duration((int64_t)(secs / f * (1 - f) + 0.5), eta, sizeof(eta));
    else if (f >= 1)
        snprintf(eta, sizeof(eta), "0 s");
    char of[48] = "";
    if (p->total >= 0)
        snprintf(of, sizeof(of), "/%lld", (long long)p->total);
    if (p->mode == ROSTER_PROGRESS_BAR) {
        char bar[BAR_WIDTH + 1];
        int full = f < 0 ? 0 : (int)(f * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < full ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        if (f >= 0)
            fprintf(stderr, "\r[%s] %5.1f%% %lld%s %s, %.0f %s/s, ETA %s\033[K", bar, f * 100,
                    (long long)p->done, of, p->unit, rate, p->unit, eta);
        else
            fprintf(stderr, "\r[%s] %lld %s, %.0f %s/s\033[K", bar, (long long)p->done, p->unit,
                    rate, p->unit);
        p->drawn = true;
    } else if (f >= 0) {
        fprintf(stderr, "%s: %lld%s %s (%.1f%%), %.0f %s/s, ETA %s\n", p->what, (long long)p->done,
                of, p->unit, f * 100, rate, p->unit, eta);
    } else {
        fprintf(stderr, "%s: %lld %s, %.0f %s/s\n", p->what, (long long)p->done, p->unit, rate,
                p->unit);
    }
    fflush(stderr);
    p->last_ms = now;
}

void roster_progress_update(struct roster_progress *p, int64_t done, int64_t bytes)
{
    p->done = done;
    p->bytes = bytes;
    if (p->mode == ROSTER_PROGRESS_QUIET)
        return;
    int64_t now = roster_monotonic_ms();
    if (now - p->last_ms >= p->interval_ms)
        draw(p, now);
}

void roster_progress_end(struct roster_progress *p)
{
    if (p->mode != ROSTER_PROGRESS_BAR)
        return;
    draw(p, roster_monotonic_ms());
    fputc('\n', stderr);
    fflush(stderr);
    p->drawn = false;
}
