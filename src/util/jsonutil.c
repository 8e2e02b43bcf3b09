/* Dump helpers that never hand a jansson-allocated string to the caller, and a loader of
 * jansson trees over roster's scanner (include/roster/jsonutil.h). */
#include "roster/jsonutil.h"
#include "roster/jsonr.h"
#include "roster/jsonscan.h"

#include <stdbool.h>
#include <stdint.h>
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

static json_t *build(const struct roster_jsonr_val *v, struct roster_arena *a);

/* The object or array v with its members built. */
static json_t *build_container(const struct roster_jsonr_val *v, struct roster_arena *a)
{
    bool obj = v->type == ROSTER_JSONR_OBJECT;
    json_t *out = obj ? json_object() : json_array();
    struct roster_jsonr it;
    if (!out || roster_jsonr_open(&it, v) != 0)
        goto fail;
    struct roster_jsonr_val key, val;
    int rc;
    while ((rc = roster_jsonr_next(&it, obj ? &key : NULL, &val)) == 1) {
        json_t *x = build(&val, a);
        const char *k;
        size_t n;
        if (!x)
            goto fail;
        if (!obj ? json_array_append_new(out, x) != 0
                 : roster_jsonr_str_view(&key, a, &k, &n) != 0 ||
                       /* a repeated key: the last one wins, as in json_loadb */
                       json_object_setn_new_nocheck(out, k, n, x) != 0) {
            if (obj)
                json_decref(x);
            goto fail;
        }
    }
    if (rc == 0)
        return out;
fail:
    json_decref(out);
    return NULL;
}

/* v as a jansson value; NULL on text roster_json_scan would not have passed, or no memory. */
static json_t *build(const struct roster_jsonr_val *v, struct roster_arena *a)
{
    switch (v->type) {
    case ROSTER_JSONR_OBJECT:
    case ROSTER_JSONR_ARRAY:
        return build_container(v, a);
    case ROSTER_JSONR_STRING: {
        const char *s;
        size_t n;
        return roster_jsonr_str_view(v, a, &s, &n) == 0 ? json_stringn_nocheck(s, n) : NULL;
    }
    case ROSTER_JSONR_INTEGER: {
        int64_t i;
        return roster_jsonr_int(v, &i) == 0 ? json_integer(i) : NULL;
    }
    case ROSTER_JSONR_REAL: {
        double d;
        return roster_jsonr_real(v, &d) == 0 ? json_real(d) : NULL;
    }
    case ROSTER_JSONR_TRUE:
        return json_true();
    case ROSTER_JSONR_FALSE:
        return json_false();
    case ROSTER_JSONR_NULL:
        return json_null();
    default:
        return NULL;
    }
}

json_t *roster_json_load(const char *text, size_t len, struct roster_arena *a,
                         struct roster_err *err)
{
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(text, len, a, &spans, &n, &top, err) != 0)
        return NULL;
    struct roster_jsonr_val v;
    json_t *j = roster_jsonr_parse(text, len, &v) == 0 ? build(&v, a) : NULL;
    if (!j)
        roster_err_set(err, ROSTER_ENOMEM, "cannot build the JSON document (out of memory)");
    return j;
}

/* The block of the document this thread is loading or holds: jansson's allocations come
 * from [next, end) while next is set (during roster_json_doc_load); a free of an address in
 * [base, end) is a no-op until the document is released. */
static _Thread_local uintptr_t blk_base, blk_end;
static _Thread_local char *blk_next;
static bool alloc_installed;

static void *json_alloc(size_t n)
{
    if (blk_next) {
        size_t need = (n + 15) & ~(size_t)15;
        if (need >= n && need <= blk_end - (uintptr_t)blk_next) {
            void *p = blk_next;
            blk_next += need;
            return p;
        }
    }
    return malloc(n);
}

static void json_free(void *p)
{
    uintptr_t at = (uintptr_t)p;
    if (at >= blk_base && at < blk_end)
        return;
    free(p);
}

void roster_json_alloc_install(void)
{
    json_set_alloc_funcs(json_alloc, json_free);
    alloc_installed = true;
}

int roster_json_doc_load(struct roster_json_doc *d, const char *text, size_t len,
                         struct roster_arena *a, struct roster_err *err)
{
    /* jansson's tree of a SCIM /Bulk body takes about 9 times the text (mallinfo) */
    size_t cap = len < (SIZE_MAX - 65536) / 10 ? 10 * len + 65536 : 0;
    d->block = alloc_installed && !blk_base && cap ? malloc(cap) : NULL;
    if (d->block) {
        blk_base = (uintptr_t)d->block;
        blk_end = blk_base + cap;
        blk_next = d->block;
    }
    d->root = roster_json_load(text, len, a, err);
    blk_next = NULL;
    if (!d->root) {
        roster_json_doc_release(d);
        return err ? err->code : ROSTER_EINVAL;
    }
    return 0;
}

void roster_json_doc_release(struct roster_json_doc *d)
{
    json_decref(d->root);
    d->root = NULL;
    if (d->block) {
        blk_base = blk_end = 0;
        free(d->block);
        d->block = NULL;
    }
}
