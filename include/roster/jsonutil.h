/* jansson helpers. roster installs its own allocation hooks into jansson so that a thread
 * can make its jansson values live in an arena (job workers parse 1,000-item chunks this way
 * at half the cost of malloc). Because of those hooks, never free() what json_dumps()
 * returns: serialise with roster_json_dump_buf / roster_json_dump_arena instead.
 */
#ifndef ROSTER_JSONUTIL_H
#define ROSTER_JSONUTIL_H

#include <jansson.h>

#include "roster/arena.h"
#include "roster/util.h"

/* Installs the hooks (idempotent, thread-safe). Must run before the process creates its
 * first jansson value (roster_cli_main does it first thing): a value allocated before the
 * hooks would be freed through them. */
void roster_json_init(void);

/* From now on this thread's jansson allocations come from a (NULL: from malloc again).
 * Values made while an arena is set must be dropped before the arena is cleared. */
void roster_json_use_arena(struct roster_arena *a);

/* Appends the compact JSON text of v (any type) to b; returns 0 or -1. */
int roster_json_dump_buf(const json_t *v, struct roster_buf *b);
/* The compact JSON text of v (any type), allocated in a; NULL on failure. */
const char *roster_json_dump_arena(const json_t *v, struct roster_arena *a);

#endif
