/* Progress of a long command (roster export; roster import shares it) on stderr:
 * - a bar redrawn in place (done / total, percent, rows/s, ETA) when stderr is a terminal;
 * - one plain line every few seconds when stderr is not a terminal, or CI is set, or
 *   --no-progress was given (ROSTER_PROGRESS_INTERVAL_MS sets "a few": default 5000; 0:
 *   a line at every update, for tests);
 * - nothing with --quiet.
 * The summary line at the end is the command's own (printed also with --quiet).
 */
#ifndef ROSTER_CLI_PROGRESS_H
#define ROSTER_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

enum roster_progress_mode {
    ROSTER_PROGRESS_QUIET = 0,
    ROSTER_PROGRESS_LINES = 1,
    ROSTER_PROGRESS_BAR = 2,
};

struct roster_progress {
    int mode;            /* enum roster_progress_mode */
    const char *what;    /* the command, first word of a plain line: "export" */
    const char *unit;    /* "users", "rows" */
    int64_t total;       /* rows to do, -1: unknown */
    int64_t total_bytes; /* bytes to read (a file of known size), -1: unknown */
    int64_t done, bytes;
    int64_t start_ms, last_ms, interval_ms;
    bool drawn; /* a bar is on the screen (ended by a newline at roster_progress_end) */
};

/* The mode from the command's flags and the environment (isatty(2), CI). */
int roster_progress_mode(bool quiet, bool no_progress);

/* Starts counting now; total and total_bytes -1 when unknown. The percent and the ETA
 * come from the bytes when total_bytes is known, else from the rows. */
void roster_progress_start(struct roster_progress *p, int mode, const char *what, const char *unit,
                           int64_t total, int64_t total_bytes);
/* The rows and bytes done so far; draws when it is time (a bar at most 10 times a second,
 * a plain line every interval). Cheap enough to call per batch of rows. */
void roster_progress_update(struct roster_progress *p, int64_t done, int64_t bytes);
/* Draws the final state of the bar and ends its line (nothing in the other modes). */
void roster_progress_end(struct roster_progress *p);
/* Milliseconds since roster_progress_start. */
int64_t roster_progress_elapsed_ms(const struct roster_progress *p);

#endif
