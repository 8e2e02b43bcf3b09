/* jansson allocation hooks (arena or heap per thread) and dump helpers that never hand a
 * jansson-allocated string to the caller. */
#include "roster/jsonutil.h"

#include <pthread.h>
#include <stdlib.h>

/* Every block carries a 16-byte header saying where it came from, so the free hook can
 * tell an arena block (freed with its arena) from a heap block. */
enum { JSON_HDR = 16 };
static const unsigned char FROM_ARENA = 0xA5, FROM_HEAP = 0x5A;

static _Thread_local struct roster_arena *json_arena;

static void *json_alloc(size_t n)
{
    unsigned char *p =
        json_arena ? roster_arena_alloc(json_arena, n + JSON_HDR) : malloc(n + JSON_HDR);
    if (!p)
        return NULL;
    p[0] = json_arena ? FROM_ARENA : FROM_HEAP;
    return p + JSON_HDR;
}

static void json_release(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - JSON_HDR;
    if (p[0] == FROM_HEAP)
        free(p);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void install(void)
{
    json_set_alloc_funcs(json_alloc, json_release);
}

void roster_json_init(void)
{
    pthread_once(&hooks_once, install);
}

void roster_json_use_arena(struct roster_arena *a)
{
    roster_json_init();
    json_arena = a;
}

static int to_buf(const char *text, size_t n, void *ud)
{
    roster_buf_add(ud, text, n);
    return 0;
}

int roster_json_dump_buf(const json_t *v, struct roster_buf *b)
{
    return json_dump_callback(v, to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY) == 0 ? 0 : -1;
}

const char *roster_json_dump_arena(const json_t *v, struct roster_arena *a)
{
    struct roster_buf b;
    roster_buf_init(&b);
    const char *out = NULL;
    if (roster_json_dump_buf(v, &b) == 0)
        out = roster_arena_strndup(a, b.data ? b.data : "", b.len);
    roster_buf_release(&b);
    return out;
}
