/* Facts and checks both store backends share: which users or schedules column a query key
 * reads, the error for a key a list cannot filter on, the checks of a batch of messages.
 * Backend-private (include only from src/store/). */
#ifndef ROSTER_STORE_KEYS_H
#define ROSTER_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

struct roster_message;
struct roster_schedule;

/* The users column of a query key (include/roster/query.h), or NULL if users have none. */
const char *roster_store_user_column(int key);
/* ROSTER_EINVAL naming key, for a list of `what` (e.g. "scheduled changes"). */
int roster_store_not_filterable(int key, const char *what, struct roster_err *err);
/* The schedules column of a query key (RQ_ID, RQ_USER_ID, RQ_STATE, RQ_DUE), or NULL. */
const char *roster_store_sched_column(int key);
/* Fills in what schedule_create stored of s[0..n): pending, created at now, nothing done. */
void roster_store_sched_stored(struct roster_schedule *s, size_t n, int64_t now);
/* ROSTER_EINVAL when a message of m[0..n) has no kind or another organisation than m[0]
 * (message_create_many), else 0. */
int roster_store_messages_check(const struct roster_message *m, size_t n, struct roster_err *err);

#endif
