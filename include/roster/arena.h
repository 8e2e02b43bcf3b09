/* Per-request and per-job memory arenas. A handler allocates from its arena and
 * frees nothing by hand; roster_arena_clear() releases everything at once.
 * An arena belongs to one thread at a time and is never shared.
 */
#ifndef ROSTER_ARENA_H
#define ROSTER_ARENA_H

#include <stddef.h>

struct roster_arena_block;

struct roster_arena {
    struct roster_arena_block *head;
    size_t block_size; /* default size of a new block */
    size_t used_total; /* bytes handed out since the last clear */
};

void roster_arena_init(struct roster_arena *a, size_t block_size);
/* Frees every block; the arena can be reused after init. */
void roster_arena_release(struct roster_arena *a);
/* Frees all but the first block and rewinds it; keeps memory warm for reuse. */
void roster_arena_clear(struct roster_arena *a);

/* 16-byte aligned; aborts the process on out-of-memory (like xmalloc in git). */
void *roster_arena_alloc(struct roster_arena *a, size_t n);
void *roster_arena_zalloc(struct roster_arena *a, size_t n);
char *roster_arena_strdup(struct roster_arena *a, const char *s);
char *roster_arena_strndup(struct roster_arena *a, const char *s, size_t n);
char *roster_arena_printf(struct roster_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The array v in a (len elements of size bytes, room for *cap) with room for one more: v
 * itself, or a copy in a with twice the room (16 when *cap is 0) and *cap updated. The old
 * array stays until the arena is cleared. For arrays that grow row by row:
 *     v = roster_arena_grow(a, v, len, &cap, sizeof(*v));
 *     read_row(..., &v[len++]); */
void *roster_arena_grow(struct roster_arena *a, void *v, size_t len, size_t *cap, size_t size);

#endif
