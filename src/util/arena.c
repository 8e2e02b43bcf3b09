/* Bump allocator in linked blocks: per-request and per-job memory, freed all at once. */
#include "roster/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct roster_arena_block {
    struct roster_arena_block *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

static void oom(void)
{
    fputs("roster: out of memory\n", stderr);
    abort();
}

void roster_arena_init(struct roster_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used_total = 0;
}

void roster_arena_release(struct roster_arena *a)
{
    struct roster_arena_block *b = a->head;
    while (b) {
        struct roster_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void roster_arena_clear(struct roster_arena *a)
{
    if (!a->head)
        return;
    /* keep the last (oldest) block if it has the default size: it is the warm one */
    struct roster_arena_block *b = a->head, *keep = NULL;
    while (b) {
        struct roster_arena_block *next = b->next;
        if (!next && b->cap == a->block_size)
            keep = b;
        else
            free(b);
        b = next;
    }
    a->head = keep;
    if (keep)
        keep->used = 0;
    a->used_total = 0;
}

void *roster_arena_alloc(struct roster_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct roster_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > a->block_size ? n : a->block_size;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            oom();
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

void *roster_arena_zalloc(struct roster_arena *a, size_t n)
{
    void *p = roster_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *roster_arena_strndup(struct roster_arena *a, const char *s, size_t n)
{
    char *p = roster_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *roster_arena_strdup(struct roster_arena *a, const char *s)
{
    if (!s)
        return NULL;
    return roster_arena_strndup(a, s, strlen(s));
}

char *roster_arena_printf(struct roster_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = roster_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *roster_arena_grow(struct roster_arena *a, void *v, size_t len, size_t *cap, size_t size)
{
    if (len < *cap)
        return v;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *nv = roster_arena_alloc(a, ncap * size);
    if (len)
        memcpy(nv, v, len * size);
    *cap = ncap;
    return nv;
}
