/* Private to src/core: the job of a local `roster import` (src/core/job_import.c), as the
 * import (src/core/import.c) writes it: created in the transaction of its first rows, and
 * each batch's per-row results recorded in the transaction of those rows.
 */
#ifndef ROSTER_CORE_JOB_IMPORT_H
#define ROSTER_CORE_JOB_IMPORT_H

#include <stdbool.h>

#include "roster/import.h"
#include "roster/job.h"
#include "roster/util.h"

/* Creates a running import job of ctx's organisation (store job_record_create, in the open
 * transaction) with the id in job_id (empty: a new one, written there). */
int roster_import_job_create(struct roster_ctx *ctx, char job_id[ROSTER_ID_LEN + 1],
                             struct roster_err *err);

/* Records the results of rows[0..n) as items [first_idx, first_idx + n) of job_id, in
 * ranges of ROSTER_JOB_CHUNK (store job_record_chunk, in the open transaction): created,
 * updated and unchanged rows succeeded with the user's id, skipped and rejected rows
 * failed with their reason and field. finished: these are the last rows (n may be 0). buf
 * is scratch space, reused between calls. */
int roster_import_job_record(struct roster_ctx *ctx, const char *job_id, int64_t first_idx,
                             const struct roster_import_row *rows, size_t n, bool finished,
                             struct roster_buf *buf, struct roster_err *err);

#endif
