/* `roster import --url URL --key KEY`: the import driven through a server's public
 * JumpCloud API (GET /api/systemusers, POST/PATCH /api/v2/bulk/users and their results,
 * DELETE /api/systemusers/{id}) with libcurl, in every mode of the local import. The file
 * is read, decoded, reported and summarised by src/cli/import.c through the callbacks of
 * struct roster_remote_src; this module plans each row against the organisation's users
 * (read once), sends the changes as bulk jobs and keeps a small state file so that the same
 * command continues after a crash. docs/import-export.md ("Remote") describes it.
 */
#ifndef ROSTER_CLI_IMPORT_REMOTE_H
#define ROSTER_CLI_IMPORT_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/import.h"

/* Rows per bulk job (the server's --bulk-max-items must be at least this) */
#define REMOTE_BATCH 1000

/* What the command gives the driver: the file's rows and where they are reported. */
struct roster_remote_src {
    void *ctx;
    /* Fills rows[0..*n) with up to max rows decoded from the file (rc/err set for a row
     * that cannot be decoded), strings in a: 0, or -1 when the file cannot be read on
     * (printed). */
    int (*read)(void *ctx, struct roster_import_row *rows, size_t max, size_t *n,
                struct roster_arena *a);
    /* Back to the first row (a second pass over the file): 0 or -1 (printed). */
    int (*rewind)(void *ctx);
    /* A rejected or skipped row, for the report and standard error. */
    void (*report)(void *ctx, const struct roster_import_row *row);
    /* rows of the file done so far (last: the final call). */
    void (*progress)(void *ctx, int64_t rows, bool last);
};

struct roster_remote_opts {
    const char *url, *key, *org; /* org: sent as x-org-id, or NULL */
    int mode, match, missing;    /* enum roster_import_mode, _match, _missing */
    bool dry_run, quiet;
    int64_t max_changes; /* sync: < 0 no limit (or --force) */
    /* the file's identity (absolute path, size, modification time); NULL: not resumable */
    const char *file_key;
};

/* Outcome of a run, for the summary's prefix */
enum roster_remote_outcome {
    ROSTER_REMOTE_APPLIED = 0,
    ROSTER_REMOTE_DRY_RUN,
    ROSTER_REMOTE_NOTHING_WRITTEN, /* fail mode: a row was rejected, nothing was sent */
    ROSTER_REMOTE_REFUSED,         /* sync over --max-changes, nothing was sent */
};

struct roster_remote_import;

/* Checks the options and loads the state of an earlier run of the same import (by URL,
 * organisation, mode, match, missing and the file's identity) that ended early. 0, or an
 * exit status (2: usage) with the reason printed. */
int roster_remote_import_begin(const struct roster_remote_opts *o,
                               struct roster_remote_import **out);

/* Rows of the file that an earlier run applied (their counts are included in the run's
 * counts already); 0 for a fresh import. */
int64_t roster_remote_import_resumed(const struct roster_remote_import *im);

/* Runs the import: 0 when it went through (rows may be rejected: see counts), else an exit
 * status (4: the server failed or refused, 2: the file could not be read on). counts and
 * *rows cover the whole file (with an earlier run's), *outcome says what was done. */
int roster_remote_import_run(struct roster_remote_import *im, const struct roster_remote_src *src,
                             int64_t counts[RIA_N], int64_t *rows, int *outcome);

void roster_remote_import_free(struct roster_remote_import *im);

#endif
