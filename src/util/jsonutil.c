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

/* One pass over text that roster_json_scan has passed: each value is built as it is read,
 * so a byte is looked at once whatever its depth (the pull reader would find the end of
 * every container before reading into it, i.e. once per enclosing container). Scalars are
 * read by the pull reader (roster_jsonr_scalar_at). Returns NULL on text the scanner would
 * not have passed (kept safe: every index is checked), or no memory. */
struct loader {
    const char *s;
    size_t len, i;
    struct roster_arena *a;
    size_t dup_at; /* a repeated key: where it starts (else NO_DUP); the load fails */
};
#define NO_DUP ((size_t)-1)

static void ld_ws(struct loader *l)
{
    while (l->i < l->len) {
        char c = l->s[l->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        l->i++;
    }
}

/* The string at l->i, unescaped (in the text when it has no escapes); l->i moves past it. */
static int ld_string(struct loader *l, const char **out, size_t *n)
{
    struct roster_jsonr_val v;
    size_t end;
    if (roster_jsonr_scalar_at(l->s, l->len, l->i, &v, &end) != 0 ||
        v.type != ROSTER_JSONR_STRING || roster_jsonr_str_view(&v, l->a, out, n) != 0)
        return -1;
    l->i = end;
    return 0;
}

static json_t *ld_value(struct loader *l);

static json_t *ld_container(struct loader *l, bool obj)
{
    json_t *out = obj ? json_object() : json_array();
    char close = obj ? '}' : ']';
    if (!out)
        return NULL;
    l->i++;
    ld_ws(l);
    if (l->i < l->len && l->s[l->i] == close) {
        l->i++;
        return out;
    }
    for (;;) {
        const char *k = NULL;
        size_t kn = 0, at = l->i;
        if (obj) {
            if (ld_string(l, &k, &kn) != 0)
                goto fail;
            ld_ws(l);
            if (l->i >= l->len || l->s[l->i] != ':')
                goto fail;
            l->i++;
            ld_ws(l);
        }
        json_t *x = ld_value(l);
        if (!x) {
            /* a repeated key inside the value: if this key repeats too, it comes first in
             * the text and is the one named (as jansson checks a key before its value) */
            if (obj && l->dup_at != NO_DUP && json_object_getn(out, k, kn))
                l->dup_at = at;
            goto fail;
        }
        size_t had = obj ? json_object_size(out) : 0;
        /* jansson releases x when it cannot add it */
        if (!obj ? json_array_append_new(out, x) != 0
                 : json_object_setn_new_nocheck(out, k, kn, x) != 0)
            goto fail;
        /* a repeated key (it replaced the earlier value: the object did not grow) is refused,
         * as the other SCIM bodies refuse it (json_loadb with JSON_REJECT_DUPLICATES) */
        if (obj && json_object_size(out) == had) {
            l->dup_at = at;
            goto fail;
        }
        ld_ws(l);
        if (l->i >= l->len)
            goto fail;
        char c = l->s[l->i++];
        if (c == close)
            return out;
        if (c != ',')
            goto fail;
        ld_ws(l);
    }
fail:
    json_decref(out);
    return NULL;
}

static json_t *ld_value(struct loader *l)
{
    if (l->i < l->len && (l->s[l->i] == '{' || l->s[l->i] == '['))
        return ld_container(l, l->s[l->i] == '{');
    struct roster_jsonr_val v;
    size_t end;
    if (roster_jsonr_scalar_at(l->s, l->len, l->i, &v, &end) != 0)
        return NULL;
    l->i = end;
    const char *t;
    size_t n;
    int64_t iv;
    double d;
    switch (v.type) {
    case ROSTER_JSONR_STRING:
        return roster_jsonr_str_view(&v, l->a, &t, &n) == 0 ? json_stringn_nocheck(t, n) : NULL;
    case ROSTER_JSONR_INTEGER:
        return roster_jsonr_int(&v, &iv) == 0 ? json_integer(iv) : NULL;
    case ROSTER_JSONR_REAL:
        return roster_jsonr_real(&v, &d) == 0 ? json_real(d) : NULL;
    case ROSTER_JSONR_TRUE:
        return json_true();
    case ROSTER_JSONR_FALSE:
        return json_false();
    default:
        return json_null();
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
    struct loader l = {text, len, 0, a, NO_DUP};
    ld_ws(&l);
    json_t *j = ld_value(&l);
    if (j)
        return j;
    if (l.dup_at == NO_DUP) {
        roster_err_set(err, ROSTER_ENOMEM, "cannot build the JSON document (out of memory)");
        return NULL;
    }
    /* the key is read again for the message (the load keeps only where it is) */
    const char *k = "";
    size_t kn = 0, line, col;
    l.i = l.dup_at;
    ld_string(&l, &k, &kn);
    roster_json_line_col(text, l.dup_at, &line, &col);
    roster_err_set(err, ROSTER_EINVAL,
                   "invalid JSON at line %zu column %zu: duplicate object key \"%.*s\"", line, col,
                   (int)kn, k);
    return NULL;
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
