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
 * ..."), on a key repeated in one object (as json_loadb with JSON_REJECT_DUPLICATES: "invalid
 * JSON at line L column C: duplicate object key \"k\"", L and C those of the second key), or
 * when jansson cannot allocate. a holds the scan's bookkeeping and unescaped
 * strings while the tree is built (the tree itself is jansson's: json_decref it). */
json_t *roster_json_load(const char *text, size_t len, struct roster_arena *a,
                         struct roster_err *err);

/* A document of roster_json_doc_load: its tree, and the block of memory the tree lives in. */
struct roster_json_doc {
    json_t *root;
    void *block;
};
/* roster_json_load with the tree's values put one after the other in one block instead of
 * a malloc each, when roster_json_alloc_install has run and the thread holds no other
 * document's block (else as roster_json_load). Values the tree gains later (json_*_set on
 * it) come from malloc as usual. The tree must be used, and released, on this thread:
 * roster_json_doc_release decrefs it (a value in the block is not freed, only forgotten)
 * and frees the block. 0, or roster_json_load's error with d->root NULL. */
int roster_json_doc_load(struct roster_json_doc *d, const char *text, size_t len,
                         struct roster_arena *a, struct roster_err *err);
void roster_json_doc_release(struct roster_json_doc *d);
/* Makes jansson allocate through roster's functions: malloc and free, but for values in
 * the block of a document being loaded on the thread. Called once by main before any
 * thread starts or any jansson value exists (json_set_alloc_funcs is process-wide). */
void roster_json_alloc_install(void);

#endif
