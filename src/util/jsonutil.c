/* Dump helpers that never hand a jansson-allocated string to the caller. */
#include "roster/jsonutil.h"

#include <stdlib.h>

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
