/* Unit tests for the validating JSON scanner (src/util/jsonscan.c): a table of hand-written
 * inputs checked against both the scanner and jansson, nesting limits, a differential fuzz
 * against json_loadb(JSON_DECODE_ANY), element spans of arrays written by jansson, and the
 * line/column of error messages; the same fuzz checks roster_json_load's trees
 * (src/util/jsonutil.c) against jansson's. Optional arguments: fuzz seed and iteration count.
 */
#include "roster/jsonscan.h"
#include "roster/jsonutil.h"
#include "test.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

struct result {
    int rc;
    size_t n;
    char top;
    struct roster_json_span *spans;
    struct roster_err err;
};

/* Scans a private copy of exactly n bytes (no terminator), so a read past the end shows
 * up under AddressSanitizer. Spans are offsets, so they stay meaningful for s. */
static struct result scan(const char *s, size_t n, struct roster_arena *a)
{
    struct result r;
    memset(&r, 0, sizeof(r));
    char *copy = malloc(n ? n : 1);
    if (n)
        memcpy(copy, s, n);
    r.rc = roster_json_scan(copy, n, a, &r.spans, &r.n, &r.top, &r.err);
    free(copy);
    return r;
}

static json_t *jload(const char *s, size_t n, json_error_t *e)
{
    return json_loadb(s, n, JSON_DECODE_ANY, e);
}

static bool jansson_accepts(const char *s, size_t n)
{
    json_error_t e;
    json_t *j = jload(s, n, &e);
    json_decref(j);
    return j != NULL;
}

static void hexdump(const char *s, size_t n)
{
    size_t show = n > 96 ? 96 : n;
    fprintf(stderr, "    %zu bytes:", n);
    for (size_t i = 0; i < show; i++)
        fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n      " : " ", (unsigned char)s[i]);
    fprintf(stderr, "%s\n    text: \"", n > show ? " ..." : "");
    for (size_t i = 0; i < show; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c >= 0x20 && c < 0x7f ? c : '.', stderr);
    }
    fprintf(stderr, "\"\n");
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Checks a successful scan of the top-level array doc against jansson's parse of it:
 * count, order, trimmed non-overlapping spans, type byte, and each slice parsing to the
 * same value. Returns a description of the first problem, or NULL. */
static const char *check_spans(const char *s, size_t len, const struct result *r, json_t *doc)
{
    if (r->top != '[')
        return "top is not '['";
    if (!json_is_array(doc))
        return "jansson did not parse an array";
    if (r->n != json_array_size(doc))
        return "span count differs from json_array_size";
    if (r->n > 0 && r->spans == NULL)
        return "spans is NULL";
    size_t prev_end = 0;
    while (prev_end < len && is_ws(s[prev_end]))
        prev_end++;
    prev_end++; /* past '[' */
    for (size_t i = 0; i < r->n; i++) {
        const struct roster_json_span *sp = &r->spans[i];
        if (sp->start < prev_end || sp->end <= sp->start || sp->end > len)
            return "span out of order or out of range";
        if (sp->type != s[sp->start])
            return "span type is not its first byte";
        if (is_ws(s[sp->start]) || is_ws(s[sp->end - 1]))
            return "span not trimmed";
        for (size_t k = prev_end; k < sp->start; k++)
            if (!is_ws(s[k]) && s[k] != ',')
                return "non-separator byte between spans";
        json_error_t e;
        json_t *v = jload(s + sp->start, sp->end - sp->start, &e);
        bool same = v && json_equal(v, json_array_get(doc, i));
        json_decref(v);
        if (!same)
            return "span text does not parse to the element";
        prev_end = sp->end;
    }
    return NULL;
}

/* ---- 1. hand-written table ---- */

struct case_ {
    const char *s;
    size_t n;
    int ok;
};

#define V(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, 1                                                                    \
    }
#define X(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, 0                                                                    \
    }

static const struct case_ cases[] = {
    /* empty and whitespace */
    X(""),
    X(" "),
    X("\n\t\r "),
    X("\f1"),
    X("\v1"),
    /* literals */
    V("true"),
    V("false"),
    V("null"),
    V(" \t\n\r null \r\n\t "),
    X("tru"),
    X("True"),
    X("nul"),
    X("nulll"),
    X("falsey"),
    X("truefalse"),
    X("NaN"),
    X("Infinity"),
    X("-Infinity"),
    X("undefined"),
    /* numbers */
    V("0"),
    V("-0"),
    V("0.5"),
    V("-0.5"),
    V("1e5"),
    V("1E+5"),
    V("1e-5"),
    V("1E5"),
    V("0e0"),
    V("-0.0e+0"),
    V("-1.5e-3"),
    V("123456789"),
    V("999999999999999999"),
    V("9223372036854775807"),
    V("-9223372036854775808"),
    V("0.0e0"),
    V("1.7976931348623157e308"),
    V("-1.7976931348623157e308"),
    V("1.7976931348623158e308"), /* rounds down to DBL_MAX */
    V("1e-400"),                 /* underflow is not an error for jansson */
    V("4.9e-324"),
    V("0.0000000000000000000000000000000000000000000000000000000000000000000000000001"),
    V("1.00000000000000000000000000000000000000000000000000000000000000000000000000e308"),
    V("-12345678901234567890123456789012345678901234567890123456789012345678901234.5"),
    V("100000000000000000000000000000000000000000000000000000000000000000000000000e-60"),
    X("01"),
    X("-01"),
    X("00"),
    X("1."),
    X("1.e5"),
    X(".5"),
    X("-"),
    X("-a"),
    X("+1"),
    X("1e"),
    X("1e+"),
    X("1E-"),
    X("0x10"),
    X("1.5.5"),
    X("--1"),
    X("- 1"),
    X("1 2"),
    X("9223372036854775808"),
    X("-9223372036854775809"),
    X("18446744073709551616"),
    X("1234567890123456789012345678901234567890123456789012345678901234567890"),
    X("1e400"),
    X("-1e400"),
    X("1.7976931348623159e308"),
    X("1000000000000000000000000000000000000000000000000000000000000000000000000000e300"),
    /* strings */
    V("\"\""),
    V("\"abc\""),
    V("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""),
    V("\"\\u0041\\u00e9\\u00E9\\uFFFF\\uabcd\\u0001\\u001f\""),
    V("\"\\uD83D\\uDE00\""),
    V("\"\\ud83d\\ude00\""),
    V("\"\\uD800\\uDC00\""),
    V("\"\\uDBFF\\uDFFF\""),
    V("\"\\uD7FF\\uE000\""),
    V("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""), /* é € U+1F600 */
    V("\"\x7f\""),
    V("\"\xc2\x80\xdf\xbf\""),                 /* U+0080 U+07FF */
    V("\"\xe0\xa0\x80\xef\xbf\xbf\""),         /* U+0800 U+FFFF */
    V("\"\xed\x9f\xbf\xee\x80\x80\""),         /* U+D7FF U+E000 */
    V("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""), /* U+10000 U+10FFFF */
    X("\"abc"),
    X("\""),
    X("\"\\"),
    X("\"\\\""),
    X("\"\\x\""),
    X("\"\\a\""),
    X("\"\\'\""),
    X("\"\\U0041\""),
    X("\"\\u12\""),
    X("\"\\u12"),
    X("\"\\u12G4\""),
    X("\"\\u 123\""),
    X("\"\\u0000\""),
    X("\"a\\u0000b\""),
    X("\"\\uD800\""),
    X("\"\\uDBFF\""),
    X("\"\\uDC00\""),
    X("\"\\uDFFF\""),
    X("\"\\uD800x\""),
    X("\"\\uD800\\u0041\""),
    X("\"\\uD800\\uD800\""),
    X("\"\\uDC00\\uD800\""),
    X("\"\\uD800\\n\""),
    X("\"\\uD800\\uDC0\""),
    X("\"\\uDE00\\uD83D\""),
    X("\"\x01\""),
    X("\"\t\""),
    X("\"\n\""),
    X("\"\r\""),
    X("\"\x1f\""),
    X("\"\0\""),
    X("\"\xc0\xaf\""),                 /* overlong '/' */
    X("\"\xc1\xbf\""),                 /* overlong */
    X("\"\xe0\x80\xaf\""),             /* overlong, 3 bytes */
    X("\"\xe0\x9f\xbf\""),             /* overlong U+07FF */
    X("\"\xf0\x80\x80\xaf\""),         /* overlong, 4 bytes */
    X("\"\xf0\x8f\xbf\xbf\""),         /* overlong U+FFFF */
    X("\"\xed\xa0\x80\""),             /* U+D800 encoded */
    X("\"\xed\xbf\xbf\""),             /* U+DFFF encoded */
    X("\"\xed\xa0\xbd\xed\xb8\x80\""), /* CESU-8 pair */
    X("\"\xf4\x90\x80\x80\""),         /* U+110000 */
    X("\"\xf5\x80\x80\x80\""),
    X("\"\xf8\x88\x80\x80\x80\""),
    X("\"\xff\""),
    X("\"\xfe\""),
    X("\"\x80\""), /* lone continuation byte */
    X("\"\xbf\""),
    X("\"\xc3\""), /* truncated before the quote */
    X("\"\xc3\x28\""),
    X("\"\xe2\x82\""),
    X("\"\xf0\x9f\x98\""),
    X("\"\xc3"), /* truncated at end of input */
    X("\"\xe2\x82"),
    X("\"\xf0\x9f\x98"),
    X("\xc3\xa9"),
    X("[1]\xff"),
    X("[1] \xc3\xa9"),
    X("\xef\xbb\xbf[]"), /* byte order mark */
    X("'a'"),
    /* containers */
    V("[]"),
    V("{}"),
    V("[ ]"),
    V("{ }"),
    V("[\n]"),
    V("[[]]"),
    V("[{}]"),
    V("[[],[[]],{}]"),
    V("{\"a\":[]}"),
    V("{\"a\":{\"b\":{}}}"),
    V("[1,2,3]"),
    V("[1, \"a\", true, false, null, {}, [], -0.5]"),
    V("{\"\":0}"),
    V("{\"a\":1,\"a\":2}"),
    V(" [ 1 , 2 ] "),
    V("{ \"a\" : 1 , \"b\" : [ 2 , { } ] }"),
    V("{\"\\u00e9\\uD83D\\uDE00\":\"\xc3\xa9\"}"),
    X("["),
    X("]"),
    X("{"),
    X("}"),
    X("[1"),
    X("[1,"),
    X("{\"a\""),
    X("{\"a\":"),
    X("{\"a\":1"),
    X("[1,]"),
    X("[1,2,]"),
    X("[1 ,\n]"),
    X("[1,,2]"),
    X("[,1]"),
    X("[,]"),
    X("{\"a\":1,}"),
    X("{\"a\":1, }"),
    X("{,}"),
    X("{\"a\"}"),
    X("{\"a\" 1}"),
    X("{\"a\":}"),
    X("{\"a\"::1}"),
    X("{1:2}"),
    X("{true:1}"),
    X("{null:1}"),
    X("{[]:1}"),
    X("{{}:1}"),
    X("{'a':1}"),
    X("{a:1}"),
    X("{\"a\\u0000\":1}"),
    X("[1 2]"),
    X("[1:2]"),
    X("{\"a\":1 \"b\":2}"),
    X("{\"a\",1}"),
    X("{\"a\":1;\"b\":2}"),
    X("[}"),
    X("{]"),
    X("[[]"),
    X("[]]"),
    X("[] []"),
    X("{} x"),
    X("1 x"),
    X("\"a\" \"b\""),
    X("[1]]"),
    X("[1],"),
    X("nullx"),
    X("[1]/"),
    X("// c\n1"),
    X("/* c */1"),
    X("\0"),
    X("1 \0"),
    X("[1,\0 2]"),
    X("\0[]"),
};

static void test_table(struct roster_arena *a)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *c = &cases[i];
        struct result r = scan(c->s, c->n, a);
        bool jok = jansson_accepts(c->s, c->n);
        bool ok = (r.rc == 0) == (c->ok != 0);
        test_record_(ok, __FILE__, __LINE__, "scanner verdict matches table");
        test_record_(jok == (c->ok != 0), __FILE__, __LINE__, "jansson verdict matches table");
        if (!ok || jok != (c->ok != 0)) {
            fprintf(stderr, "    case %zu: table %s, scanner %s (%s), jansson %s\n", i,
                    c->ok ? "valid" : "invalid", r.rc == 0 ? "accepts" : "rejects",
                    r.rc == 0 ? "-" : r.err.msg, jok ? "accepts" : "rejects");
            hexdump(c->s, c->n);
        }
        if (r.rc != 0) {
            CHECK_EQ_INT(r.rc, ROSTER_EINVAL);
            CHECK(strncmp(r.err.msg, "invalid JSON at line ", 21) == 0);
            CHECK(r.n == 0 && r.spans == NULL);
        } else {
            size_t k = 0;
            while (is_ws(c->s[k]))
                k++;
            CHECK(r.top == c->s[k]);
        }
        roster_arena_clear(a);
    }
}

/* jansson 2.14 drops one NUL byte that directly follows a number or literal (its stream
 * unget of a '\0' is lost), so it accepts "1\0" and "[true\0]". RFC 8259 does not allow a
 * NUL byte anywhere, and nothing in roster wants one, so the scanner rejects these. */
static void test_nul_bytes(struct roster_arena *a)
{
    static const struct case_ nul[] = {
        X("1\0"), X("[1\0]"), X("true\0"), X("[null\0, 2]"), X("{\"a\":1.5\0}"), X("-0\0"),
    };
    int jansson_quirk = 0;
    for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
        struct result r = scan(nul[i].s, nul[i].n, a);
        CHECK(r.rc == ROSTER_EINVAL);
        jansson_quirk += jansson_accepts(nul[i].s, nul[i].n);
        roster_arena_clear(a);
    }
    printf("note: jansson accepts %d of %zu inputs with a NUL byte after a scalar; the scanner "
           "rejects all\n",
           jansson_quirk, sizeof(nul) / sizeof(nul[0]));
}

/* ---- nesting limits (jansson: JSON_PARSER_MAX_DEPTH counts every value, scalars too) ---- */

/* depth containers of the given kind ('[', '{' or 'm' for alternating), around inner; an object
 * container is {"k":inner}, so inner must be a value */
static char *nest(int depth, char kind, const char *inner, size_t *len)
{
    size_t cap = (size_t)depth * 8 + strlen(inner) + 1, k = 0;
    char *b = malloc(cap);
    for (int i = 0; i < depth; i++) {
        bool obj = kind == '{' || (kind == 'm' && i % 2 == 1);
        const char *open = obj ? "{\"k\":" : "[";
        memcpy(b + k, open, strlen(open));
        k += strlen(open);
    }
    memcpy(b + k, inner, strlen(inner));
    k += strlen(inner);
    for (int i = depth - 1; i >= 0; i--) {
        bool obj = kind == '{' || (kind == 'm' && i % 2 == 1);
        b[k++] = obj ? '}' : ']';
    }
    b[k] = '\0';
    *len = k;
    return b;
}

static void check_depth(struct roster_arena *a, int depth, char kind, const char *inner, bool want)
{
    size_t len;
    char *b = nest(depth, kind, inner, &len);
    struct result r = scan(b, len, a);
    bool jok = jansson_accepts(b, len);
    bool ok = (r.rc == 0) == want && jok == want;
    test_record_(ok, __FILE__, __LINE__, "nesting limit matches jansson");
    if (!ok)
        fprintf(stderr, "    depth %d kind %c inner \"%s\": want %d, scanner %d (%s), jansson %d\n",
                depth, kind, inner, want, r.rc == 0, r.rc ? r.err.msg : "-", jok);
    if (r.rc != 0 && !want)
        CHECK(strstr(r.err.msg, "too deeply nested") != NULL);
    free(b);
    roster_arena_clear(a);
}

static void test_depth(struct roster_arena *a)
{
    /* containers only: the innermost empty container is value number `depth` */
    check_depth(a, 2047, '[', "[]", true);  /* 2048 arrays */
    check_depth(a, 2048, '[', "[]", false); /* 2049 arrays */
    check_depth(a, 2047, '[', "{}", true);
    check_depth(a, 2047, '{', "{}", true); /* 2048 objects */
    check_depth(a, 2048, '{', "{}", false);
    check_depth(a, 2047, 'm', "[]", true);
    check_depth(a, 2048, 'm', "{}", false);
    /* a scalar counts as one more level */
    check_depth(a, 2047, '[', "1", true);
    check_depth(a, 2048, '[', "1", false);
    check_depth(a, 2047, '{', "\"s\"", true);
    check_depth(a, 2048, '{', "null", false);
    check_depth(a, 2047, 'm', "true", true);
    check_depth(a, 2048, 'm', "-1.5", false);
    check_depth(a, 2046, '[', "[1,[]]", true);
    check_depth(a, 2046, '[', "[1,[[]]]", false);
    /* far beyond the limit: must fail cleanly, not exhaust any stack */
    check_depth(a, 200000, '[', "", false);
    check_depth(a, 200000, 'm', "1", false);

    /* the top-level array's element spans at the limit */
    size_t len;
    char *b = nest(2047, '[', "[1]", &len); /* 2048 arrays around 1: too deep */
    struct result r = scan(b, len, a);
    CHECK(r.rc != 0);
    free(b);
    b = nest(2046, '[', "[1],2", &len); /* top array holds one deep element */
    r = scan(b, len, a);
    CHECK_EQ_INT(r.rc, 0);
    if (r.rc == 0) {
        CHECK_EQ_INT(r.n, 1);
        CHECK(r.spans[0].start == 1 && r.spans[0].end == len - 1 && r.spans[0].type == '[');
    }
    free(b);
    roster_arena_clear(a);
}

/* ---- 2. differential fuzz ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putc_(struct buf *b, char c)
{
    put(b, &c, 1);
}

static void ws(struct buf *b)
{
    static const char w[] = " \t\n\r";
    if (rn(3) != 0)
        return;
    for (unsigned i = rn(3) + 1; i > 0; i--)
        putc_(b, w[rn(4)]);
}

static void digits(struct buf *b, unsigned n, bool first_nonzero)
{
    for (unsigned i = 0; i < n; i++)
        putc_(b, (char)('0' + (i == 0 && first_nonzero ? 1 + rn(9) : rn(10))));
}

static void gen_number(struct buf *b)
{
    static const char *edges[] = {
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "99999999999999999999",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "1e308",
        "1e309",
        "-2e308",
        "2.2250738585072014e-308",
        "4.9e-324",
        "1e-400",
        "0e99999",
        "0.0e-99999",
        "1E+308",
    };
    if (rn(8) == 0) {
        puts_(b, edges[rn(sizeof(edges) / sizeof(edges[0]))]);
        return;
    }
    if (rn(3) == 0)
        putc_(b, '-');
    unsigned form = rn(10);
    if (rn(4) == 0)
        putc_(b, '0');
    else
        digits(b, 1 + (form == 0 ? 15 + rn(70) : rn(6)), true);
    if (rn(3) == 0) {
        putc_(b, '.');
        digits(b, 1 + (form == 1 ? 60 + rn(40) : rn(6)), false);
    }
    if (rn(4) == 0) {
        putc_(b, rn(2) ? 'e' : 'E');
        unsigned sign = rn(3);
        if (sign)
            putc_(b, sign == 1 ? '+' : '-');
        digits(b, 1 + rn(form == 2 ? 4 : 2), false);
    }
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(b, u, n);
}

static uint32_t random_cp(void)
{
    switch (rn(6)) {
    case 0:
        return 0x80 + rn(0x780);
    case 1:
        return 0x800 + rn(0xD800 - 0x800);
    case 2:
        return 0xE000 + rn(0x2000);
    case 3:
        return 0x10000 + rn(0x100000);
    case 4: {
        uint32_t c = 0x20 + rn(0x5F);
        return c == '"' || c == '\\' ? 'q' : c;
    }
    default:
        return 'a' + rn(26);
    }
}

static void put_u_escape(struct buf *b, unsigned v)
{
    char e[8];
    snprintf(e, sizeof(e), rn(2) ? "\\u%04X" : "\\u%04x", v & 0xFFFF);
    puts_(b, e);
}

static void gen_string(struct buf *b)
{
    static const char *esc[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
    putc_(b, '"');
    for (unsigned i = rn(12); i > 0; i--) {
        unsigned k = rn(20);
        if (k < 8) {
            putc_(b, (char)('a' + rn(26)));
        } else if (k < 11) {
            puts_(b, esc[rn(8)]);
        } else if (k < 14) {
            put_utf8(b, random_cp());
        } else if (k < 16) {
            unsigned v = rn(4) == 0 ? rn(0x80) : rn(0x10000);
            if (v >= 0xD800 && v <= 0xDBFF && rn(4) != 0) { /* mostly a proper pair */
                put_u_escape(b, v);
                v = 0xDC00 + rn(0x400);
            } else if (v >= 0xDC00 && v <= 0xDFFF && rn(2) != 0) {
                v = 'x';
            }
            if (v == 0 && rn(4) != 0)
                v = 1;
            put_u_escape(b, v);
        } else if (k < 17) {
            put_u_escape(b, 0xD800 + rn(0x400));
            put_u_escape(b, 0xDC00 + rn(0x400));
        } else if (k < 18) {
            putc_(b, (char)(0x80 + rn(0x80))); /* a raw byte that is probably invalid here */
        } else {
            putc_(b, (char)('A' + rn(26)));
        }
    }
    putc_(b, '"');
}

static void gen_value(struct buf *b, int depth)
{
    unsigned k = rn(depth > 5 ? 6 : 10);
    switch (k) {
    case 0:
    case 1:
        gen_number(b);
        break;
    case 2:
    case 3:
        gen_string(b);
        break;
    case 4:
        puts_(b, rn(2) ? "true" : "false");
        break;
    case 5:
        puts_(b, "null");
        break;
    case 6:
    case 7:
    case 8: {
        putc_(b, '[');
        ws(b);
        for (unsigned i = 0, n = rn(6); i < n; i++) {
            if (i)
                putc_(b, ',');
            ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        putc_(b, ']');
        break;
    }
    default: {
        putc_(b, '{');
        ws(b);
        for (unsigned i = 0, n = rn(5); i < n; i++) {
            if (i)
                putc_(b, ',');
            ws(b);
            gen_string(b);
            ws(b);
            putc_(b, ':');
            ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        putc_(b, '}');
        break;
    }
    }
}

static char interesting_byte(void)
{
    static const char set[] = "[]{}\",:\\ \n-+.eE0123456789tfnu\"\"";
    switch (rn(4)) {
    case 0:
        return (char)rn(256);
    case 1:
        return (char)(0x80 + rn(0x80));
    default:
        return set[rn(sizeof(set) - 1)];
    }
}

static void mutate(struct buf *b)
{
    for (unsigned m = 1 + rn(3); m > 0; m--) {
        size_t at = b->len ? rn((unsigned)b->len + 1) : 0;
        switch (rn(8)) {
        case 0: /* insert */
        case 1: {
            char c = interesting_byte();
            put(b, &c, 1);
            memmove(b->p + at + 1, b->p + at, b->len - 1 - at);
            b->p[at] = c;
            break;
        }
        case 2: /* delete */
        case 3:
            if (at < b->len) {
                memmove(b->p + at, b->p + at + 1, b->len - at - 1);
                b->len--;
            }
            break;
        case 4: /* replace */
            if (at < b->len)
                b->p[at] = interesting_byte();
            break;
        case 5: /* flip a bit */
            if (at < b->len)
                b->p[at] ^= (char)(1u << rn(8));
            break;
        case 6: /* truncate */
            b->len = at;
            break;
        default: /* duplicate a short slice in place */
            if (at < b->len) {
                size_t n = 1 + rn(8);
                if (n > b->len - at)
                    n = b->len - at;
                char tmp[8];
                memcpy(tmp, b->p + at, n);
                put(b, tmp, n);
                memmove(b->p + at + n, b->p + at, b->len - n - at);
                memcpy(b->p + at, tmp, n);
            }
            break;
        }
    }
}

static void test_fuzz(struct roster_arena *a, uint64_t seed, long iterations)
{
    rng_state = seed;
    long accepted = 0, rejected = 0, mismatches = 0, span_bad = 0, nul_quirk = 0, arrays = 0,
         loads = 0, blocks = 0, dups = 0;
    struct buf b = {0};
    for (long it = 0; it < iterations; it++) {
        b.len = 0;
        ws(&b);
        if (rn(4) == 0) { /* a top-level array, as bulk bodies are */
            putc_(&b, '[');
            for (unsigned i = 0, n = rn(12); i < n; i++) {
                if (i)
                    putc_(&b, ',');
                ws(&b);
                gen_value(&b, 1);
                ws(&b);
            }
            putc_(&b, ']');
        } else {
            gen_value(&b, 0);
        }
        ws(&b);
        if (rn(10) < 7)
            mutate(&b);
        if (!b.p)
            put(&b, "", 0);

        struct result r = scan(b.p, b.len, a);
        json_error_t e;
        json_t *doc = jload(b.p, b.len, &e);
        bool has_nul = memchr(b.p, '\0', b.len) != NULL;
        bool want = doc != NULL && !has_nul; /* see test_nul_bytes */
        if (doc && has_nul)
            nul_quirk++;
        if ((r.rc == 0) != want) {
            if (++mismatches <= 5) {
                fprintf(stderr, "FUZZ MISMATCH (iteration %ld): scanner %s, jansson %s\n", it,
                        r.rc == 0 ? "accepts" : r.err.msg, doc ? "accepts" : e.text);
                hexdump(b.p, b.len);
            }
        } else if (r.rc == 0) {
            accepted++;
            const char *why = NULL;
            if (json_is_array(doc)) {
                arrays++;
                why = check_spans(b.p, b.len, &r, doc);
            } else if (r.n != 0 || r.top == '[') {
                why = "non-array top reported as array";
            }
            /* roster_json_load (in a document's block): the same tree as jansson's, or
             * refused where jansson refuses a repeated key (JSON_REJECT_DUPLICATES) */
            struct roster_err lerr = {0};
            struct roster_json_doc d;
            roster_json_doc_load(&d, b.p, b.len, a, &lerr);
            json_error_t de;
            json_t *strict = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &de);
            if (!why && strict && !json_equal(d.root, doc))
                why = d.root ? "roster_json_load built another tree" : lerr.msg;
            if (!why && !strict &&
                (d.root || lerr.code != ROSTER_EINVAL || !strstr(lerr.msg, "duplicate object key")))
                why = d.root ? "roster_json_load took a repeated key" : lerr.msg;
            dups += strict == NULL;
            json_decref(strict);
            blocks += d.block != NULL;
            roster_json_doc_release(&d);
            loads++;
            if (why && ++span_bad <= 5) {
                fprintf(stderr, "FUZZ SPAN PROBLEM (iteration %ld): %s\n", it, why);
                hexdump(b.p, b.len);
            }
        } else {
            rejected++;
            if (r.rc != ROSTER_EINVAL || strncmp(r.err.msg, "invalid JSON at line ", 21) != 0 ||
                r.n != 0 || r.spans != NULL) {
                if (++span_bad <= 5)
                    fprintf(stderr, "FUZZ bad error result: %d %s\n", r.rc, r.err.msg);
            }
            /* roster_json_load refuses it with the scanner's message */
            struct roster_err lerr = {0};
            json_t *loaded = roster_json_load(b.p, b.len, a, &lerr);
            if ((loaded || lerr.code != ROSTER_EINVAL || strcmp(lerr.msg, r.err.msg)) &&
                ++span_bad <= 5)
                fprintf(stderr, "FUZZ roster_json_load on rejected text: %s\n",
                        loaded ? "a tree" : lerr.msg);
            json_decref(loaded);
        }
        json_decref(doc);
        roster_arena_clear(a);
    }
    free(b.p);
    printf("fuzz: seed %" PRIu64 ", %ld inputs, %ld accepted (%ld arrays), %ld rejected, "
           "%ld mismatches, %ld span/result problems, %ld jansson NUL-byte quirks\n",
           seed, iterations, accepted, arrays, rejected, mismatches, span_bad, nul_quirk);
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(span_bad, 0);
    /* the generator must exercise both sides */
    CHECK(accepted > iterations / 5);
    CHECK(rejected > iterations / 5);
    CHECK(arrays > iterations / 20);
    CHECK_EQ_INT(loads, accepted);
    CHECK_EQ_INT(blocks, accepted - dups);
    /* the generator repeats keys now and then (a small alphabet of keys) */
    CHECK(dups > 0);
}

/* ---- roster_json_doc_load: a tree in a block, changed and released ---- */

static void test_doc(struct roster_arena *a)
{
    const char *text =
        "{\"a\": [1, 2.5, {\"b\": \"x\\u00e9\"}], \"c\": \"y\", \"d\": [true, null]}";
    struct roster_err err = {0};
    struct roster_json_doc d;
    CHECK_EQ_INT(roster_json_doc_load(&d, text, strlen(text), a, &err), 0);
    CHECK(d.root != NULL && d.block != NULL);
    CHECK(json_is_true(json_array_get(json_object_get(d.root, "d"), 0)));
    /* a repeated key (also spelled with an escape) is refused where it repeats; the same key
     * in another object is not a repeat */
    const char *dup = "{\"a\": {\"a\": 1},\n \"b\": 2, \"\\u0061\": 3}";
    struct roster_json_doc bad;
    CHECK(roster_json_doc_load(&bad, dup, strlen(dup), a, &err) == ROSTER_EINVAL);
    CHECK(bad.root == NULL && bad.block == NULL);
    CHECK_EQ_STR(err.msg, "invalid JSON at line 2 column 10: duplicate object key \"a\"");
    /* while d holds the thread's block, another document is built by malloc */
    struct roster_json_doc inner;
    const char *small = "[1, {\"k\": \"v\"}]";
    CHECK_EQ_INT(roster_json_doc_load(&inner, small, strlen(small), a, &err), 0);
    CHECK(inner.root != NULL && inner.block == NULL);
    /* values added to the tree (the object's table grows: its old buckets are in the block)
     * and values replaced (those in the block are forgotten, not freed) */
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_EQ_INT(json_object_set_new(d.root, key, json_integer(i)), 0);
    }
    CHECK_EQ_INT(json_object_set(d.root, "c", inner.root), 0);
    CHECK_EQ_INT(json_object_del(d.root, "a"), 0);
    CHECK_EQ_INT((long)json_object_size(d.root), 102);
    CHECK_EQ_INT((long)json_integer_value(json_object_get(d.root, "k99")), 99);
    CHECK(json_equal(json_object_get(d.root, "c"), inner.root));
    roster_json_doc_release(&d);
    CHECK(d.root == NULL && d.block == NULL);
    CHECK_EQ_INT((long)json_array_size(inner.root), 2);
    roster_json_doc_release(&inner);
    /* the block is free again: the next document takes one */
    CHECK_EQ_INT(roster_json_doc_load(&d, "[]", 2, a, &err), 0);
    CHECK(d.block != NULL);
    roster_json_doc_release(&d);
    /* invalid text: no tree, no block, the scanner's message */
    CHECK(roster_json_doc_load(&d, "{\"a\": }", 7, a, &err) == ROSTER_EINVAL);
    CHECK(d.root == NULL && d.block == NULL);
    CHECK(strncmp(err.msg, "invalid JSON at line 1 column 7", 31) == 0);
}

/* ---- 3. spans of arrays written by jansson ---- */

static json_t *rand_json(int depth);

static json_t *rand_string(void)
{
    struct buf s = {0};
    for (unsigned i = rn(10); i > 0; i--) {
        unsigned k = rn(6);
        if (k == 0)
            putc_(&s, (char)(1 + rn(0x7F))); /* controls, quote and backslash included */
        else if (k == 1)
            put_utf8(&s, random_cp());
        else
            putc_(&s, (char)('a' + rn(26)));
    }
    json_t *v = json_stringn(s.p ? s.p : "", s.len);
    free(s.p);
    return v;
}

static json_t *rand_json(int depth)
{
    switch (rn(depth > 3 ? 7 : 9)) {
    case 0: {
        static const json_int_t edge[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1000000007};
        return json_integer(rn(2) ? edge[rn(6)] : (json_int_t)rnd());
    }
    case 1: {
        double d;
        do {
            uint64_t bits = rnd();
            memcpy(&d, &bits, sizeof(d));
        } while (!isfinite(d));
        return json_real(rn(2) ? d : (double)(int)rn(1000) / 8);
    }
    case 2:
    case 3:
        return rand_string();
    case 4:
        return json_boolean(rn(2));
    case 5:
        return json_null();
    case 6:
        return json_integer((json_int_t)rn(100) - 50);
    case 7: {
        json_t *arr = json_array();
        for (unsigned i = rn(5); i > 0; i--)
            json_array_append_new(arr, rand_json(depth + 1));
        return arr;
    }
    default: {
        json_t *obj = json_object();
        for (unsigned i = rn(5); i > 0; i--) {
            json_t *k = rand_string();
            json_object_set_new(obj, json_string_value(k), rand_json(depth + 1));
            json_decref(k);
        }
        return obj;
    }
    }
}

static bool spans_ok_for(struct roster_arena *a, json_t *arr, size_t flags, int *shown)
{
    char *text = json_dumps(arr, flags);
    size_t len = strlen(text);
    struct result r = scan(text, len, a);
    json_error_t e;
    json_t *doc = jload(text, len, &e);
    const char *why = r.rc != 0 ? r.err.msg : check_spans(text, len, &r, doc);
    if (!why && !json_equal(doc, arr))
        why = "jansson round trip changed the array (test bug)";
    if (why && (*shown)++ < 5) {
        fprintf(stderr, "SPAN PROBLEM (flags 0x%zx): %s\n", flags, why);
        hexdump(text, len);
    }
    json_decref(doc);
    free(text);
    roster_arena_clear(a);
    return why == NULL;
}

static void test_spans(struct roster_arena *a)
{
    static const size_t flag_sets[] = {
        0,
        JSON_COMPACT,
        JSON_INDENT(1),
        JSON_INDENT(2),
        JSON_INDENT(4) | JSON_SORT_KEYS,
        JSON_INDENT(8) | JSON_ENSURE_ASCII,
        JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH,
        JSON_INDENT(3) | JSON_PRESERVE_ORDER,
    };
    int shown = 0, bad = 0, total = 0;
    rng_state = 0x5eedULL;
    for (int it = 0; it < 2000; it++) {
        json_t *arr = json_array();
        for (unsigned i = rn(30); i > 0; i--)
            json_array_append_new(arr, rand_json(1));
        for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
            total++;
            bad += !spans_ok_for(a, arr, flag_sets[f], &shown);
        }
        json_decref(arr);
    }
    /* bulk-sized and past the span buffer's first growth (1024) */
    static const unsigned sizes[] = {1000, 1024, 1025, 5000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        json_t *arr = json_array();
        for (unsigned i = 0; i < sizes[s]; i++)
            json_array_append_new(arr, rand_json(2));
        total += 2;
        bad += !spans_ok_for(a, arr, JSON_INDENT(2), &shown);
        bad += !spans_ok_for(a, arr, JSON_COMPACT, &shown);
        json_decref(arr);
    }
    printf("spans: %d arrays written by jansson, %d problems\n", total, bad);
    CHECK_EQ_INT(bad, 0);

    /* hand-checked offsets */
    const char *t = " [ 1 ,\"a\\\"]\" ,\n[ [] ] , {\"k\":[1]},-2.5e3,true,false,null ] ";
    struct result r = scan(t, strlen(t), a);
    CHECK_EQ_INT(r.rc, 0);
    CHECK(r.top == '[');
    CHECK_EQ_INT(r.n, 8);
    if (r.rc == 0 && r.n == 8) {
        static const char *want[] = {"1",      "\"a\\\"]\"", "[ [] ]", "{\"k\":[1]}",
                                     "-2.5e3", "true",       "false",  "null"};
        for (int i = 0; i < 8; i++) {
            char got[32];
            size_t n = r.spans[i].end - r.spans[i].start;
            snprintf(got, sizeof(got), "%.*s", (int)n, t + r.spans[i].start);
            CHECK_EQ_STR(got, want[i]);
            CHECK(r.spans[i].type == want[i][0]);
        }
    }
    roster_arena_clear(a);

    /* top-level scalars and objects: no spans, top is the first byte */
    static const char *nonarr[] = {" {\"a\":[1,2]}", "\n\"x\"", "-1", "7", "true", "null"};
    for (size_t i = 0; i < sizeof(nonarr) / sizeof(nonarr[0]); i++) {
        r = scan(nonarr[i], strlen(nonarr[i]), a);
        CHECK_EQ_INT(r.rc, 0);
        CHECK_EQ_INT(r.n, 0);
        CHECK(r.spans == NULL);
        CHECK(r.top == nonarr[i][strspn(nonarr[i], " \n")]);
        roster_arena_clear(a);
    }
    r = scan("[]", 2, a);
    CHECK(r.rc == 0 && r.n == 0 && r.top == '[');
    r = scan(" [ \n ] ", 7, a);
    CHECK(r.rc == 0 && r.n == 0 && r.top == '[');
    roster_arena_clear(a);
}

/* ---- 4. error messages ---- */

static void check_msg(struct roster_arena *a, const char *text, size_t len, const char *want,
                      int line)
{
    struct result r = scan(text, len, a);
    test_record_(r.rc == ROSTER_EINVAL, __FILE__, line, "rc == ROSTER_EINVAL");
    bool same = strcmp(r.err.msg, want) == 0;
    test_record_(same, __FILE__, line, want);
    if (!same)
        fprintf(stderr, "    got \"%s\"\n", r.err.msg);
    roster_arena_clear(a);
}

#define MSG(text, want) check_msg(a, text, sizeof(text) - 1, want, __LINE__)

static void test_messages(struct roster_arena *a)
{
    MSG("{\n  \"a\": 1,\n  \"b\" 2\n}",
        "invalid JSON at line 3 column 7: ':' expected after object key");
    MSG("[\n  1,\n  2,\n]", "invalid JSON at line 4 column 1: trailing comma");
    MSG("[\r\n\t\"x\",\r\n\ttrux\r\n]", "invalid JSON at line 3 column 2: invalid token");
    MSG("[\"\xc3\xa9\xe2\x82\xac\", 01]",
        "invalid JSON at line 1 column 9: invalid number (leading zero)");
    MSG("\n\n   ", "invalid JSON at line 3 column 4: empty body");
    MSG("", "invalid JSON at line 1 column 1: empty body");
    MSG("{\"a\": \"b\nc\"}", "invalid JSON at line 1 column 9: control character in string");
    MSG("[1,\n 2,\n \"\\uD800\"]",
        "invalid JSON at line 3 column 3: invalid Unicode escape (lone high surrogate)");
    MSG("[\n\"ab\\uDC00\"]",
        "invalid JSON at line 2 column 4: invalid Unicode escape (lone low surrogate)");
    MSG("[\"\\uD800\\u0041\"]",
        "invalid JSON at line 1 column 3: invalid Unicode escape (bad surrogate pair)");
    MSG("[\"x\\u0000\"]", "invalid JSON at line 1 column 4: \\u0000 is not allowed in strings");
    MSG("[\"\\u12x4\"]", "invalid JSON at line 1 column 7: invalid \\u escape");
    MSG("[\"\\q\"]", "invalid JSON at line 1 column 3: invalid escape in string");
    MSG("[1]\n\n  x", "invalid JSON at line 3 column 3: end of input expected");
    MSG("[1,\n2", "invalid JSON at line 2 column 2: unexpected end of input");
    MSG("{\n\"a\":1,\n\"b\":\n", "invalid JSON at line 4 column 1: unexpected end of input");
    MSG("[\n  9223372036854775808\n]", "invalid JSON at line 2 column 3: too big integer");
    MSG("[\n  -1e999\n]", "invalid JSON at line 2 column 3: real number overflow");
    MSG("{\n  1: 2}", "invalid JSON at line 2 column 3: object key must be a string");
    MSG("[1\n 2]", "invalid JSON at line 2 column 2: ',' or ']' expected");
    MSG("{\"a\":1\n \"b\":2}", "invalid JSON at line 2 column 2: ',' or '}' expected");
    MSG("[\"\xc3\xa9\", \"\xc0\xaf\"]", "invalid JSON at line 1 column 8: invalid UTF-8 in string");
    MSG("[\"abc", "invalid JSON at line 1 column 6: unterminated string");
}

/* roster_json_scan_max: at most max elements of a top-level array, refused past them before
 * the rest is read (issue 14: one request's memory stays bounded). */
static void test_max(struct roster_arena *a)
{
    struct roster_json_span *sp;
    size_t n;
    char top;
    struct roster_err err = {0};
    const char *three = "[1, {\"a\": [2]}, \"x\"]";
    CHECK_EQ_INT(roster_json_scan_max(three, strlen(three), a, &sp, &n, &top, 3, &err), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(roster_json_scan_max(three, strlen(three), a, &sp, &n, &top, 2, &err),
                 ROSTER_ETOOBIG);
    CHECK_EQ_STR(err.msg, "the array has more than 2 elements");
    CHECK_EQ_INT(n, 0);
    CHECK(sp == NULL);
    /* the element after the max-th is not read: what follows it does not matter */
    const char *bad_tail = "[1,2,3,4,@@@";
    CHECK_EQ_INT(roster_json_scan_max(bad_tail, strlen(bad_tail), a, &sp, &n, &top, 3, &err),
                 ROSTER_ETOOBIG);
    CHECK_EQ_INT(roster_json_scan_max(bad_tail, strlen(bad_tail), a, &sp, &n, &top, 9, &err),
                 ROSTER_EINVAL);
    /* an empty array and a top-level object are not limited */
    CHECK_EQ_INT(roster_json_scan_max("[]", 2, a, &sp, &n, &top, 0, &err), 0);
    CHECK_EQ_INT(n, 0);
    const char *obj = "{\"users\": [1, 2, 3, 4]}";
    CHECK_EQ_INT(roster_json_scan_max(obj, strlen(obj), a, &sp, &n, &top, 1, &err), 0);
    CHECK_EQ_INT(top, '{');
    /* the nested elements of an element do not count */
    const char *nested = "[[1,2,3,4,5]]";
    CHECK_EQ_INT(roster_json_scan_max(nested, strlen(nested), a, &sp, &n, &top, 1, &err), 0);
    CHECK_EQ_INT(n, 1);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20240601;
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 50000;
    struct roster_arena a;
    roster_arena_init(&a, 0);
    roster_json_alloc_install(); /* as main does: documents get their blocks */
    test_doc(&a);
    test_table(&a);
    test_nul_bytes(&a);
    test_depth(&a);
    test_fuzz(&a, seed, iterations);
    test_spans(&a);
    test_messages(&a);
    test_max(&a);
    roster_arena_release(&a);
    return test_finish();
}
