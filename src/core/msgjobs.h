/* Private to src/core: the message-job path of the job engine (src/core/msgjobs.c), which
 * src/core/jobs.c calls for chunks of kind ROSTER_JOB_MESSAGE beside its user-job path.
 */
#ifndef ROSTER_CORE_MSGJOBS_H
#define ROSTER_CORE_MSGJOBS_H

#include "roster/core.h"

/* A message chunk after phase 1: the outbox messages to write and the chunk's results. */
struct roster_msg_prepared;

/* Phase 1 for a claimed message chunk, outside any transaction (preparer threads run it in
 * parallel): reads its items, looks every recipient up in the directory (store reads on
 * conn), merges profiles and data and builds each item's message or failure. Everything
 * is allocated in a (the chunk's arena). Returns 0, or a store failure (the chunk is then
 * retried once its lease expires). */
int roster_msgjob_prepare(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, struct roster_msg_prepared **out,
                          struct roster_err *err);

/* Phase 2, inside the applier's transaction: writes the prepared messages and completes the
 * chunk with its results (refused if the lease was lost). Any failure is returned for the
 * caller to roll the transaction back. */
int roster_msgjob_apply(struct roster_conn *conn, const struct roster_chunk *ch,
                        struct roster_msg_prepared *p, struct roster_err *err);

#endif
