/* Importing users from a file into one organisation (`roster import`, docs/import-export.md):
 * the core side. The command reads and decodes the file (src/cli/import.c) and hands
 * the rows to this module in batches; every row goes through the one validator
 * (roster_user_prepare_create / _update) and the store's many-user calls.
 *
 * Transactions: modes fail and sync, and every dry run, run in one transaction from
 * roster_import_begin to roster_import_finish (fail: nothing of the file is written
 * after a bad row; sync: the --max-changes guard can refuse the whole sync; dry run:
 * rolled back). Modes skip and overwrite commit every commit_rows rows.
 */
#ifndef ROSTER_IMPORT_H
#define ROSTER_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/core.h"

enum roster_import_mode {
    ROSTER_IMPORT_SKIP = 0, /* bad rows and rows whose user exists are reported, the rest written */
    ROSTER_IMPORT_FAIL,     /* the first bad row stops the import; nothing is written */
    ROSTER_IMPORT_OVERWRITE, /* a matched user is updated, others created */
    ROSTER_IMPORT_SYNC,      /* overwrite, and the users not in the file get --missing */
};

enum roster_import_match {
    ROSTER_MATCH_USERNAME = 0,
    ROSTER_MATCH_EMAIL,
    ROSTER_MATCH_EMPLOYEE_ID,
    ROSTER_MATCH_EXTERNAL_ID,
};

enum roster_import_missing {
    ROSTER_MISSING_SUSPEND = 0,
    ROSTER_MISSING_DELETE,
    ROSTER_MISSING_KEEP,
};

/* What happened to a row, or to a user not in the file (suspended, deleted). */
enum roster_import_action {
    RIA_CREATED = 0,
    RIA_UPDATED,
    RIA_UNCHANGED,
    RIA_SKIPPED, /* skip mode: the user exists */
    RIA_REJECTED,
    RIA_SUSPENDED,
    RIA_DELETED,
    RIA_N
};
const char *roster_import_action_name(int action);

struct roster_import_opts {
    int mode;    /* enum roster_import_mode */
    int match;   /* enum roster_import_match (overwrite, sync) */
    int missing; /* enum roster_import_missing (sync) */
    bool dry_run;
    /* no bulk load: into a store without users, too, the rows go in with the indexes in
     * place (see roster_store_bulk_load) */
    bool no_bulk_load;
    int64_t commit_rows; /* skip, overwrite: rows per transaction; 0: 100,000 */
    /* skip, overwrite: the identity of the file (path, size, modification time), under
     * which the rows applied so far are kept with each commit, so that the same import
     * after a crash continues after them; NULL: not resumable (stdin) */
    const char *file_key;
};

/* One row of the file, decoded by the command. */
struct roster_import_row {
    struct roster_user u; /* the user as the row gives it (u.set: the fields it gives) */
    long line;            /* where the row starts in the file */
    int rc; /* in: 0, or the row's decoding failure (err says what); out: the outcome */
    struct roster_err err; /* the failure, when rc != 0 */
    int action;            /* out: enum roster_import_action */
};

struct roster_import;

/* Starts an import into ctx's organisation (which must exist: ROSTER_ENOTFOUND): reads
 * the organisation's default state of bulk-created users and, for overwrite and sync,
 * the key (--match) of each of its users into a compact in-memory index (a few tens of
 * bytes a user). ctx->conn is used until roster_import_finish; ctx->arena is cleared
 * by every batch. */
int roster_import_begin(struct roster_ctx *ctx, const struct roster_import_opts *o,
                        struct roster_import **out, struct roster_err *err);

/* Applies rows[0..n) in order: each row's action, and rc/err for a rejected one. A
 * non-zero return is a store failure (nothing since the last commit is kept; in the
 * modes of one transaction, nothing at all). */
int roster_import_batch(struct roster_import *im, struct roster_import_row *rows, size_t n,
                        struct roster_err *err);

/* Rows of the file applied by an earlier run of the same import that ended before it was
 * done (their counts are in roster_import_counts already): the caller reads them again
 * and does not pass them on; 0 for a fresh import. */
int64_t roster_import_resumed(const struct roster_import *im);

/* The bulk load of an import into a store without users (roster_store_bulk_load): 0 when
 * the import does not load that way; else the line of the row at which the load ended
 * early (a key that may repeat an earlier one, or one outside ASCII: from that row on the
 * rows went in one by one), or -1 while it goes on (to the end of the file). */
long roster_import_bulk_load(const struct roster_import *im);

/* The id of the import's job (kind ROSTER_JOB_IMPORT: GET /api/v2/bulk/users/{id}/results
 * lists one result per row of the file, in file order): chosen by roster_import_begin, the
 * earlier run's when resumed; the job exists once the first rows commit (modes fail and
 * sync: with everything, at roster_import_finish). "" for a dry run, which has none. */
const char *roster_import_job_id(const struct roster_import *im);

/* Whether the import must stop reading (fail mode after a bad row). */
bool roster_import_stopped(const struct roster_import *im);

/* Makes roster_import_finish roll back what is not committed (the file could not be read
 * on). */
void roster_import_cancel(struct roster_import *im);

/* The counts of each action so far. */
void roster_import_counts(const struct roster_import *im, int64_t counts[RIA_N]);

enum roster_import_outcome {
    ROSTER_IMPORT_COMMITTED = 0,
    ROSTER_IMPORT_ROLLED_BACK, /* dry run, or fail mode after a bad row */
    ROSTER_IMPORT_TOO_MANY,    /* sync refused by max_changes: nothing written */
};

/* Ends the import: for sync, the users not in the file get --missing; then the changes
 * (created + updated + suspended + deleted) are checked against max_changes (< 0: no
 * limit) and the transaction, if one is open, committed or rolled back. *outcome says
 * which. Non-zero: a store failure. roster_import_free after, in any case. */
int roster_import_finish(struct roster_import *im, int64_t max_changes, int *outcome,
                         struct roster_err *err);
void roster_import_free(struct roster_import *im);

#endif
