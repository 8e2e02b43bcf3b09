/* jansson helpers: serialise a jansson value into a roster buffer or arena, so no caller
 * ever frees a string that jansson allocated; and load a tree without jansson's lexer. */
#ifndef ROSTER_JSONUTIL_H
#define ROSTER_JSONUTIL_H

#include <jansson.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/util.h"

/* Appends the compact JSON text of v (any type) to b; returns 0 or -1. */
int roster_json_dump_buf(const json_t *v, struct roster_buf *b);
/* The compact JSON text of v (any type), allocated in a; NULL on failure. */
const char *roster_json_dump_arena(const json_t *v, struct roster_arena *a);

/* The tree json_loadb(text, len, JSON_DECODE_ANY) gives, built in half its time: the text
 * is validated by roster_json_scan (which accepts exactly what jansson accepts, fuzzed
 * against it: tests/fuzz/jsonscan.c) and the values made from roster_jsonr's slices
 * instead of jansson's lexer, which reads a byte at a time through a stream. NULL on
 * invalid text, with err as roster_json_scan sets it ("invalid JSON at line L column C:
 * ..."), or when jansson cannot allocate. a holds the scan's bookkeeping and unescaped
 * strings while the tree is built (the tree itself is jansson's: json_decref it). */
json_t *roster_json_load(const char *text, size_t len, struct roster_arena *a,
                         struct roster_err *err);

#endif
