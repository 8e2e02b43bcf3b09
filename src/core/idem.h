/* Private to src/core: the steps every _idem operation (include/roster/idem.h) shares. */
#ifndef ROSTER_CORE_IDEM_H
#define ROSTER_CORE_IDEM_H

#include "roster/core.h"
#include "roster/idem.h"

/* Looks idem's key up: 0 with *result NULL when the organisation has no live key of that
 * scope (go on with the effect); 0 with *result the stored result and idem->replayed set
 * when it has one of the same request; ROSTER_ECONFLICT (err->field ROSTER_IDEM_FIELD)
 * when the key is another request's. */
int core_idem_find(struct roster_ctx *ctx, struct roster_idem *idem, const char **result,
                   struct roster_err *err);
/* Fills rec (which must live until the effect's store call returns) with idem's key and
 * result and stages it on ctx's connection for the next effect (store idem_stage). */
int core_idem_stage(struct roster_ctx *ctx, struct roster_idem *idem, const char *result,
                    struct roster_idem_rec *rec, struct roster_err *err);
/* After the effect's store call returned rc (always called then, when idem is not NULL:
 * it also clears the stage): when it lost the key to another request
 * (which committed first), looks again and returns 0 with *result the winner's result
 * (idem->replayed set), or that lookup's failure (ROSTER_EBUSY when the winner's key is
 * already gone); any other rc is returned as it is, *result NULL. idem may be NULL. */
int core_idem_settle(struct roster_ctx *ctx, struct roster_idem *idem, int rc, const char **result,
                     struct roster_err *err);

#endif
