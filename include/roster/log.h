/* Structured one-line logs to stderr: ts=... level=... msg="..." key=value ...
 * Thread-safe (one write(2) per line).
 */
#ifndef ROSTER_LOG_H
#define ROSTER_LOG_H

enum roster_log_level { ROSTER_LOG_DEBUG, ROSTER_LOG_INFO, ROSTER_LOG_WARN, ROSTER_LOG_ERROR };

void roster_log_set_level(int level);
int roster_log_level_parse(const char *s); /* "debug" | "info" | "warn" | "error", else -1 */

/* fmt is the rest of the line after msg, as key=value pairs, e.g.
 * roster_log(ROSTER_LOG_INFO, "listening", "addr=%s", addr). */
void roster_log(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
