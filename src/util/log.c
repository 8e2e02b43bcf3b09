/* One-line structured logs to stderr, one write(2) per line so threads never interleave. */
#include "roster/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "roster/util.h"

static int min_level = ROSTER_LOG_INFO;

void roster_log_set_level(int level)
{
    min_level = level;
}

int roster_log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void roster_log(int level, const char *msg, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < min_level)
        return;
    char line[2048], ts[32];
    roster_time_format(roster_now_ms(), ts);
    int n = snprintf(line, sizeof(line), "ts=%s level=%s msg=\"%s\"", ts, names[level & 3], msg);
    if (n < 0)
        return;
    if (fmt && *fmt && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
