/* Durable bulk jobs. A job's input items are stored in chunks (a JSON array text of at
 * most ROSTER_JOB_CHUNK items each) in the same transaction as the job row, before the
 * client gets the job id (message jobs: before each add request is answered). Workers claim
 * one chunk at a time with a lease, apply every item and write the chunk's results (one per
 * item) and the item effects in one transaction; a commit from a lease that was lost is
 * rejected (ROSTER_ESTALE), so no item is ever applied twice or lost. Within one job, chunks
 * are applied in order, so "the first of two duplicates wins" holds across chunk
 * boundaries; message jobs (below) are the exception: their items are independent, so
 * their chunks run several at once, in any order.
 */
#ifndef ROSTER_JOB_H
#define ROSTER_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/util.h"

#define ROSTER_JOB_CHUNK 1000

enum roster_job_kind {
    ROSTER_JOB_USERS_CREATE = 1,
    ROSTER_JOB_USERS_UPDATE = 2,
    ROSTER_JOB_MESSAGE = 3,
    ROSTER_JOB_IMPORT = 4, /* a local `roster import`: applied by the command, never claimed */
};

enum roster_job_status {
    ROSTER_JOB_PENDING = 0,  /* no chunk done yet */
    ROSTER_JOB_RUNNING = 1,  /* some chunks done */
    ROSTER_JOB_FINISHED = 2, /* every chunk done */
    ROSTER_JOB_CREATED = 3,  /* message jobs: taking items, not runnable until started */
};

struct roster_job {
    char id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    int kind;                /* enum roster_job_kind */
    int status;              /* enum roster_job_status */
    int64_t total;           /* number of input items */
    int64_t done;            /* items with a result */
    int64_t ok;              /* items that succeeded */
    int64_t failed;          /* items that failed */
    const char *params_json; /* job-wide parameters (creation source, default state), JSON object */
    int64_t created_ms, updated_ms;
};

/* A claimed chunk, as handed to a worker. */
struct roster_chunk {
    char job_id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    int kind;
    int64_t chunk_no;
    int64_t first_idx;       /* index of the chunk's first item in the job's input */
    int64_t count;           /* number of items */
    const char *items_json;  /* JSON array of count items, as received */
    const char *params_json; /* the job's params_json */
    int64_t lease_token;     /* must be presented at commit */
};

/* A chunk's results as read back for the results endpoint. results_json is NULL while the
 * chunk is not done. Format (written and read only by src/core: job_users.c for the user
 * jobs, job_import.c for imports): a JSON array of count entries [status, "message",
 * "user id", updated_ms, "username", "email", "field"], an import's cut short (see
 * job_import.c). */
struct roster_chunk_results {
    int64_t first_idx;
    int64_t count;
    const char *results_json;
    int64_t done_ms;
};

/* Per-item result status, as shown in job-workresult.status */
enum roster_item_status {
    ROSTER_ITEM_PENDING = 0,
    ROSTER_ITEM_SUCCEEDED = 1,
    ROSTER_ITEM_FAILED = 2,
};
const char *roster_item_status_name(int status); /* "pending" | "succeeded" | "failed" */

/* --- message jobs (include/roster/msgjob.h) --- */

/* A chunk with its input, as read back for the item listing of a job. */
struct roster_chunk_page {
    int64_t first_idx;
    int64_t count;
    const char *items_json;   /* the chunk's items as stored */
    const char *results_json; /* NULL while the chunk is not done */
    int64_t done_ms;
};

#endif
