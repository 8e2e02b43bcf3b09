/* Validating JSON scanner without a document (see include/roster/jsonscan.h). Iterative,
 * with an explicit nesting stack, so deep input cannot exhaust the C stack. */
#include "roster/jsonscan.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

struct scan {
    const unsigned char *s;
    size_t len, pos;
    const char *what;       /* error description */
    struct roster_arena *a; /* for the text of numbers too long for a stack buffer */
    size_t max;             /* elements of the top-level array at most */
    bool too_many;          /* stopped at the element after the max-th */
};

static int fail(struct scan *sc, const char *what)
{
    sc->what = what;
    return -1;
}

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len) {
        unsigned char c = sc->s[sc->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->pos++;
    }
}

static int hex4(struct scan *sc, unsigned *out)
{
    if (sc->len - sc->pos < 4)
        return fail(sc, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = sc->s[sc->pos];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return fail(sc, "invalid \\u escape");
        sc->pos++;
    }
    *out = v;
    return 0;
}

/* One UTF-8 sequence starting at a byte >= 0x80. */
static int utf8_seq(struct scan *sc)
{
    const unsigned char *p = sc->s + sc->pos;
    size_t left = sc->len - sc->pos;
    unsigned c = p[0], n, min;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return fail(sc, "invalid UTF-8 in string");
    }
    if (left < n)
        return fail(sc, "invalid UTF-8 in string");
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return fail(sc, "invalid UTF-8 in string");
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(sc, "invalid UTF-8 in string");
    sc->pos += n;
    return 0;
}

static int string(struct scan *sc)
{
    sc->pos++; /* opening quote */
    for (;;) {
        /* fast path: plain ASCII */
        while (sc->pos < sc->len) {
            unsigned char c = sc->s[sc->pos];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
                break;
            sc->pos++;
        }
        if (sc->pos >= sc->len)
            return fail(sc, "unterminated string");
        unsigned char c = sc->s[sc->pos];
        if (c == '"') {
            sc->pos++;
            return 0;
        }
        if (c < 0x20)
            return fail(sc, "control character in string");
        if (c >= 0x80) {
            if (utf8_seq(sc) != 0)
                return -1;
            continue;
        }
        /* escape; errors about its meaning point at its backslash */
        size_t esc = sc->pos++;
        if (sc->pos >= sc->len)
            return fail(sc, "unterminated string");
        c = sc->s[sc->pos++];
        switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            break;
        case 'u': {
            unsigned v;
            if (hex4(sc, &v) != 0)
                return -1;
            if (v == 0) {
                sc->pos = esc;
                return fail(sc, "\\u0000 is not allowed in strings");
            }
            if (v >= 0xDC00 && v <= 0xDFFF) {
                sc->pos = esc;
                return fail(sc, "invalid Unicode escape (lone low surrogate)");
            }
            if (v >= 0xD800 && v <= 0xDBFF) {
                unsigned lo;
                if (sc->len - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u') {
                    sc->pos = esc;
                    return fail(sc, "invalid Unicode escape (lone high surrogate)");
                }
                sc->pos += 2;
                if (hex4(sc, &lo) != 0)
                    return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    sc->pos = esc;
                    return fail(sc, "invalid Unicode escape (bad surrogate pair)");
                }
            }
            break;
        }
        default:
            sc->pos = esc;
            return fail(sc, "invalid escape in string");
        }
    }
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int number(struct scan *sc)
{
    size_t start = sc->pos;
    bool real = false;
    if (sc->s[sc->pos] == '-')
        sc->pos++;
    if (sc->pos >= sc->len || !is_digit(sc->s[sc->pos]))
        return fail(sc, "invalid number");
    if (sc->s[sc->pos] == '0') {
        sc->pos++;
        if (sc->pos < sc->len && is_digit(sc->s[sc->pos]))
            return fail(sc, "invalid number (leading zero)");
    } else {
        while (sc->pos < sc->len && is_digit(sc->s[sc->pos]))
            sc->pos++;
    }
    if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
        real = true;
        sc->pos++;
        if (sc->pos >= sc->len || !is_digit(sc->s[sc->pos]))
            return fail(sc, "invalid number");
        while (sc->pos < sc->len && is_digit(sc->s[sc->pos]))
            sc->pos++;
    }
    if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
        real = true;
        sc->pos++;
        if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
            sc->pos++;
        if (sc->pos >= sc->len || !is_digit(sc->s[sc->pos]))
            return fail(sc, "invalid number");
        while (sc->pos < sc->len && is_digit(sc->s[sc->pos]))
            sc->pos++;
    }
    size_t n = sc->pos - start;
    if (n <= 18 && !real)
        return 0; /* fits int64 whatever the digits */
    /* jansson: integers must fit int64 (strtoll), reals must not overflow (strtod; underflow
     * is fine). Same functions on the same text, so the verdicts agree exactly. A long real
     * such as 0.000...01 is valid, so its text is copied to the arena, not refused. */
    if (!real && n > 20) {
        sc->pos = start;
        return fail(sc, "too big integer");
    }
    char small[64];
    char *buf = n < sizeof(small) ? small : roster_arena_alloc(sc->a, n + 1);
    memcpy(buf, sc->s + start, n);
    buf[n] = '\0';
    errno = 0;
    if (real) {
        /* as jansson does: strtod reads the locale's decimal point */
        const char *point = localeconv()->decimal_point;
        char *dot = memchr(buf, '.', n);
        if (dot && point[0] != '.' && point[0] != '\0')
            *dot = point[0];
        double d = strtod(buf, NULL);
        if (errno == ERANGE && isinf(d)) {
            sc->pos = start;
            return fail(sc, "real number overflow");
        }
    } else {
        (void)strtoll(buf, NULL, 10);
        if (errno == ERANGE) {
            sc->pos = start;
            return fail(sc, "too big integer");
        }
    }
    return 0;
}

static int literal(struct scan *sc, const char *word)
{
    size_t n = strlen(word);
    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
        return fail(sc, "invalid token");
    sc->pos += n;
    return 0;
}

/* A scalar, or the opening of a container (returns 1 for '{' / '[' with pos past it). */
static int value_start(struct scan *sc)
{
    if (sc->pos >= sc->len)
        return fail(sc, "unexpected end of input");
    switch (sc->s[sc->pos]) {
    case '{':
    case '[':
        sc->pos++;
        return 1;
    case '"':
        return string(sc);
    case 't':
        return literal(sc, "true");
    case 'f':
        return literal(sc, "false");
    case 'n':
        return literal(sc, "null");
    default:
        if (sc->s[sc->pos] == '-' || is_digit(sc->s[sc->pos]))
            return number(sc);
        return fail(sc, "invalid token");
    }
}

static int scan_all(struct scan *sc, struct roster_arena *a, struct roster_json_span **spans,
                    size_t *n, char *top)
{
    char stack[MAX_DEPTH];
    int depth = 0;
    size_t cap = 0, count = 0;
    struct roster_json_span *out = NULL;
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return fail(sc, "empty body");
    *top = (char)sc->s[sc->pos];
    bool top_array = *top == '[';

    int r = value_start(sc);
    if (r < 0)
        return -1;
    if (r == 1)
        stack[depth++] = (char)sc->s[sc->pos - 1];
    while (depth > 0) {
        char open = stack[depth - 1];
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return fail(sc, "unexpected end of input");
        unsigned char c = sc->s[sc->pos];
        /* here we are right after the opening bracket or after a ',' (which refused a
         * closing bracket), so a closing bracket means an empty container */
        if (c == (open == '{' ? '}' : ']')) {
            sc->pos++;
            depth--;
            if (top_array && depth == 1)
                out[count - 1].end = sc->pos; /* an element of the top array ended */
            goto after_value;
        }
        if (open == '{') {
            if (c != '"')
                return fail(sc, "object key must be a string");
            if (string(sc) != 0)
                return -1;
            skip_ws(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                return fail(sc, "':' expected after object key");
            sc->pos++;
            skip_ws(sc);
        }
        if (top_array && depth == 1) {
            if (count == sc->max) {
                sc->too_many = true;
                return fail(sc, "too many elements");
            }
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                struct roster_json_span *grown = roster_arena_alloc(a, ncap * sizeof(*grown));
                if (count)
                    memcpy(grown, out, count * sizeof(*out));
                out = grown;
                cap = ncap;
            }
            out[count].start = sc->pos;
            out[count].type = sc->pos < sc->len ? (char)sc->s[sc->pos] : 0;
            count++;
        }
        /* jansson counts every value, scalars too: a value inside MAX_DEPTH open
         * containers is one too deep */
        if (depth >= MAX_DEPTH)
            return fail(sc, "too deeply nested");
        r = value_start(sc);
        if (r < 0)
            return -1;
        if (r == 1) {
            stack[depth++] = (char)sc->s[sc->pos - 1];
            continue;
        }
        if (top_array && depth == 1)
            out[count - 1].end = sc->pos;
    after_value:
        if (depth == 0)
            break;
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return fail(sc, "unexpected end of input");
        c = sc->s[sc->pos];
        char close = stack[depth - 1] == '{' ? '}' : ']';
        if (c == ',') {
            sc->pos++;
            skip_ws(sc);
            if (sc->pos < sc->len && sc->s[sc->pos] == close)
                return fail(sc, "trailing comma");
            continue;
        }
        if (c != close)
            return fail(sc,
                        stack[depth - 1] == '{' ? "',' or '}' expected" : "',' or ']' expected");
    }
    skip_ws(sc);
    if (sc->pos != sc->len)
        return fail(sc, "end of input expected");
    *spans = out;
    *n = top_array ? count : 0;
    return 0;
}

int roster_json_scan(const char *text, size_t len, struct roster_arena *a,
                     struct roster_json_span **spans, size_t *n, char *top, struct roster_err *err)
{
    return roster_json_scan_max(text, len, a, spans, n, top, SIZE_MAX, err);
}

void roster_json_line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

int roster_json_scan_max(const char *text, size_t len, struct roster_arena *a,
                         struct roster_json_span **spans, size_t *n, char *top, size_t max,
                         struct roster_err *err)
{
    struct scan sc = {(const unsigned char *)text, len, 0, NULL, a, max, false};
    *spans = NULL;
    *n = 0;
    *top = 0;
    if (scan_all(&sc, a, spans, n, top) == 0)
        return 0;
    if (sc.too_many) {
        *spans = NULL;
        *n = 0;
        return roster_err_set(err, ROSTER_ETOOBIG, "the array has more than %zu elements", max);
    }
    size_t line, col;
    roster_json_line_col(text, sc.pos < len ? sc.pos : len, &line, &col);
    *spans = NULL;
    *n = 0;
    return roster_err_set(err, ROSTER_EINVAL, "invalid JSON at line %zu column %zu: %s", line, col,
                          sc.what);
}
