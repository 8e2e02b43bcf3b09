/* Query-key facts both store backends share: which users column a key reads, and the error
 * for a key a list cannot filter on. Backend-private (include only from src/store/). */
#ifndef ROSTER_STORE_KEYS_H
#define ROSTER_STORE_KEYS_H

#include "roster/err.h"

/* The users column of a query key (include/roster/query.h), or NULL if users have none. */
const char *roster_store_user_column(int key);
/* ROSTER_EINVAL naming key, for a list of `what` (e.g. "scheduled changes"). */
int roster_store_not_filterable(int key, const char *what, struct roster_err *err);

#endif
