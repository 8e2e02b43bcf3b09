/* Facts and checks both store backends share: which users or schedules column a query key
 * reads, the error for a key a list cannot filter on, the checks of a batch of messages.
 * Backend-private (include only from src/store/). */
#ifndef ROSTER_STORE_KEYS_H
#define ROSTER_STORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

struct roster_change;
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
/* message_create_many around its write: first roster_store_messages_check, then a new id for
 * each message of m[0..n) without one, marked in made[i]; after the write (code), the ids
 * made are taken back on failure, and on success every message was stored at now, ENQUEUED
 * unless its status was given. */
int roster_store_messages_ids(struct roster_message *m, size_t n, bool *made,
                              struct roster_err *err);
void roster_store_messages_done(struct roster_message *m, size_t n, const bool *made, int code,
                                int64_t now);

/* The start of list_changes: *out and *n emptied; ROSTER_ESTALE when the changes after since
 * are older than the keep most recent versions; else 0, with *want = until - since records
 * to read (0: none). */
int roster_store_changes_want(int64_t since, int64_t until, int64_t keep,
                              struct roster_change **out, size_t *n, size_t *want,
                              struct roster_err *err);

#endif
