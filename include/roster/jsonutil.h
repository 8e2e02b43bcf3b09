/* jansson helpers: serialise a jansson value into a roster buffer or arena, so no caller
 * ever frees a string that jansson allocated. */
#ifndef ROSTER_JSONUTIL_H
#define ROSTER_JSONUTIL_H

#include <jansson.h>

#include "roster/arena.h"
#include "roster/util.h"

/* Appends the compact JSON text of v (any type) to b; returns 0 or -1. */
int roster_json_dump_buf(const json_t *v, struct roster_buf *b);
/* The compact JSON text of v (any type), allocated in a; NULL on failure. */
const char *roster_json_dump_arena(const json_t *v, struct roster_arena *a);

#endif
