/* The validating JSON scanner (src/util/jsonscan.c) on any bytes, against jansson: the
 * scanner accepts exactly what jansson's json_loadb (JSON_DECODE_ANY) accepts (but for one
 * laxity of jansson's: it takes a NUL byte right after a top-level number, "99\0", as the
 * end of the text; RFC 8259 and the scanner do not), its error
 * message names line and column, and for a top-level array its spans are the elements in
 * order, each one value equal to jansson's element (json_equal). roster_json_scan_max stops
 * at the cap with ROSTER_ETOOBIG and never more spans than the cap. roster_json_load
 * (src/util/jsonutil.c), in a document's block, builds the tree jansson builds
 * (json_equal), or fails as the scanner does, or on a repeated key as jansson's
 * JSON_REJECT_DUPLICATES does. */
#include <jansson.h>

#include "fuzz.h"
#include "roster/jsonr.h"
#include "roster/jsonutil.h"
#include "roster/jsonscan.h"

static char first_byte(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i < n ? s[i] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct roster_json_span *spans = NULL;
    size_t n = 0;
    char top = 0;
    struct roster_err err = {0};
    int rc = roster_json_scan(text, size, &a, &spans, &n, &top, &err);
    json_error_t je;
    json_t *doc = json_loadb(text, size, JSON_DECODE_ANY, &je);
    FUZZ_CHECK((rc == 0) == (doc != NULL) || (rc != 0 && memchr(text, '\0', size)));
    static bool installed;
    if (!installed)
        roster_json_alloc_install();
    installed = true;
    struct roster_err lerr = {0};
    struct roster_json_doc d;
    roster_json_doc_load(&d, text, size, &a, &lerr);
    /* a key repeated in one object is refused, as JSON_REJECT_DUPLICATES refuses it */
    json_t *strict =
        rc == 0 ? json_loadb(text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je) : NULL;
    FUZZ_CHECK((d.root != NULL) == (strict != NULL) && (d.block != NULL) == (strict != NULL));
    FUZZ_CHECK(d.root ? json_equal(d.root, doc)
                      : lerr.code == ROSTER_EINVAL &&
                            (rc == 0 ? strstr(lerr.msg, "duplicate object key") != NULL
                                     : !strcmp(lerr.msg, err.msg)));
    json_decref(strict);
    roster_json_doc_release(&d);
    if (rc != 0) {
        FUZZ_CHECK(rc == ROSTER_EINVAL && err.code == ROSTER_EINVAL);
        FUZZ_CHECK(strncmp(err.msg, "invalid JSON at line ", 21) == 0);
    } else {
        FUZZ_CHECK(top == first_byte(text, size));
        FUZZ_CHECK(json_is_array(doc) ? n == json_array_size(doc) : n == 0);
        size_t prev_end = 0;
        for (size_t i = 0; i < n; i++) {
            const struct roster_json_span *sp = &spans[i];
            FUZZ_CHECK(sp->start >= prev_end && sp->start < sp->end && sp->end <= size);
            FUZZ_CHECK(sp->type == text[sp->start]);
            prev_end = sp->end;
            json_t *el = json_loadb(text + sp->start, sp->end - sp->start, JSON_DECODE_ANY, &je);
            FUZZ_CHECK(el && json_equal(el, json_array_get(doc, i)));
            json_decref(el);
            struct roster_jsonr_val v;
            FUZZ_CHECK(roster_jsonr_parse(text + sp->start, sp->end - sp->start, &v) == 0);
            FUZZ_CHECK(v.raw == text + sp->start && v.len == sp->end - sp->start);
        }
        /* the capped scan: the same spans up to the cap, ETOOBIG past it */
        size_t max = n / 2, m = 0;
        struct roster_json_span *capped = NULL;
        struct roster_err err2 = {0};
        int rc2 = roster_json_scan_max(text, size, &a, &capped, &m, &top, max, &err2);
        if (n > max) {
            FUZZ_CHECK(rc2 == ROSTER_ETOOBIG && m <= max);
        } else {
            FUZZ_CHECK(rc2 == 0 && m == n);
        }
        for (size_t i = 0; i < m && i < n; i++)
            FUZZ_CHECK(capped[i].start == spans[i].start && capped[i].end == spans[i].end);
    }
    json_decref(doc);
    roster_arena_release(&a);
    return 0;
}
