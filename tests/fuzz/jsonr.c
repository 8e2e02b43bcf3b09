/* The pull reader (src/util/jsonr.c). On any bytes it must stay inside them and end (its
 * documented promise for text the scanner did not accept): every value is walked with every
 * accessor. On text the scanner accepts it must agree with jansson: each string, integer,
 * real and boolean as jansson reads it, roster_jsonr_get finding what json_object_get finds
 * (duplicate keys: the last wins), and the compact text parsing to an equal document. */
#include <jansson.h>

#include "fuzz.h"
#include "roster/jsonr.h"
#include "roster/jsonscan.h"

#define MAX_WALK_DEPTH 200

static struct roster_arena arena;

/* Walks v; j is jansson's reading of the same value when the text is valid, else NULL. */
static void walk(const struct roster_jsonr_val *v, const json_t *j, int depth)
{
    FUZZ_CHECK(v->len > 0);
    char *compact = malloc(v->len);
    FUZZ_CHECK(compact);
    size_t cl = roster_jsonr_compact_to(v, compact);
    FUZZ_CHECK(cl <= v->len);
    if (j) {
        json_error_t je;
        json_t *back = json_loadb(compact, cl, JSON_DECODE_ANY, &je);
        FUZZ_CHECK(back && json_equal(back, j));
        json_decref(back);
    }
    free(compact);

    switch (v->type) {
    case ROSTER_JSONR_STRING: {
        const char *s = NULL, *view = NULL;
        size_t n = 0, vn = 0, chars = 0;
        int rc = roster_jsonr_str(v, &arena, &s, &n);
        int rcv = roster_jsonr_str_view(v, &arena, &view, &vn);
        int rcc = roster_jsonr_str_chars(v, &chars);
        FUZZ_CHECK(rc == rcv);
        if (rc == 0) {
            FUZZ_CHECK(n == vn && memcmp(s, view, n) == 0 && s[n] == '\0');
            FUZZ_CHECK(roster_jsonr_str_eq(v, s) == (memchr(s, '\0', n) == NULL));
        }
        if (j) {
            FUZZ_CHECK(json_is_string(j) && rc == 0 && rcc == 0);
            FUZZ_CHECK(n == json_string_length(j) && memcmp(s, json_string_value(j), n) == 0);
            FUZZ_CHECK(chars <= n);
        }
        break;
    }
    case ROSTER_JSONR_INTEGER:
    case ROSTER_JSONR_REAL: {
        int64_t i = 0;
        double d = 0;
        int rci = roster_jsonr_int(v, &i);
        int rcd = roster_jsonr_real(v, &d);
        FUZZ_CHECK(v->type == ROSTER_JSONR_REAL ? rci == -1 : 1);
        if (j && v->type == ROSTER_JSONR_INTEGER)
            FUZZ_CHECK(json_is_integer(j) && rci == 0 && i == json_integer_value(j));
        if (j)
            FUZZ_CHECK(rcd == 0 && d == json_number_value(j));
        break;
    }
    case ROSTER_JSONR_TRUE:
    case ROSTER_JSONR_FALSE: {
        bool b = false;
        FUZZ_CHECK(roster_jsonr_bool(v, &b) == 0 && b == (v->type == ROSTER_JSONR_TRUE));
        if (j)
            FUZZ_CHECK(json_is_boolean(j) && b == json_is_true(j));
        break;
    }
    case ROSTER_JSONR_NULL:
        if (j)
            FUZZ_CHECK(json_is_null(j));
        break;
    case ROSTER_JSONR_OBJECT:
    case ROSTER_JSONR_ARRAY: {
        if (j)
            FUZZ_CHECK(v->type == ROSTER_JSONR_OBJECT ? json_is_object(j) : json_is_array(j));
        struct roster_jsonr it;
        FUZZ_CHECK(roster_jsonr_open(&it, v) == 0);
        struct roster_jsonr_val key, val;
        size_t count = 0;
        int rc;
        while ((rc = roster_jsonr_next(&it, &key, &val)) == 1) {
            FUZZ_CHECK(val.raw >= v->raw && val.raw + val.len <= v->raw + v->len);
            const json_t *jval = NULL;
            if (v->type == ROSTER_JSONR_OBJECT) {
                const char *k = NULL;
                size_t kn = 0;
                int rck = roster_jsonr_str(&key, &arena, &k, &kn);
                if (j) {
                    /* the walked member may be overridden by a later duplicate: walk the
                     * one roster_jsonr_get finds, which must be the one jansson kept */
                    FUZZ_CHECK(rck == 0);
                    FUZZ_CHECK(roster_jsonr_get(v, k, &val) == 1);
                    jval = json_object_get(j, k);
                    FUZZ_CHECK(jval);
                }
            } else if (j) {
                jval = json_array_get(j, count);
                FUZZ_CHECK(jval);
            }
            if (depth < MAX_WALK_DEPTH)
                walk(&val, jval, depth + 1);
            count++;
        }
        if (rc == 0) /* and on every call after the end */
            FUZZ_CHECK(roster_jsonr_next(&it, &key, &val) == 0);
        if (j) {
            FUZZ_CHECK(rc == 0);
            FUZZ_CHECK(v->type == ROSTER_JSONR_ARRAY ? count == json_array_size(j)
                                                     : count >= json_object_size(j));
        }
        break;
    }
    default:
        FUZZ_CHECK(!"a value of no known type");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    roster_arena_init(&arena, 4096);
    struct roster_json_span *spans;
    size_t n;
    char top;
    struct roster_err err;
    int valid = roster_json_scan(text, size, &arena, &spans, &n, &top, &err) == 0;
    json_t *doc = NULL;
    if (valid) {
        json_error_t je;
        doc = json_loadb(text, size, JSON_DECODE_ANY, &je);
        FUZZ_CHECK(doc);
    }
    struct roster_jsonr_val v;
    int rc = roster_jsonr_parse(text, size, &v);
    if (valid)
        FUZZ_CHECK(rc == 0);
    if (rc == 0) {
        FUZZ_CHECK(v.raw >= text && v.raw + v.len <= text + size);
        walk(&v, doc, 0);
    }
    json_decref(doc);
    roster_arena_release(&arena);
    return 0;
}
