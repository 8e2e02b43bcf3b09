/* Streaming JSON writer (include/roster/jsonw.h). It sits on every response path, so strings
 * are escaped by scanning runs of bytes that need no change (8 bytes at a time while they are
 * ASCII) and appending each run with one memcpy; valid multi-byte UTF-8 stays in the run,
 * invalid sequences become U+FFFD (one per maximal invalid subpart, as Unicode recommends).
 */
#include "roster/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes plus the NUL that roster_buf keeps after the data. Mirrors
 * the growth in util.c (realloc, doubling) but inline, since it runs for every token. */
static void reserve_slow(struct roster_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        fputs("roster: out of memory\n", stderr);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

static inline char *reserve(struct roster_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap)
        reserve_slow(b, n);
    return b->data + b->len;
}

static inline void put(struct roster_buf *b, const void *p, size_t n)
{
    char *d = reserve(b, n);
    memcpy(d, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void putch(struct roster_buf *b, char c)
{
    char *d = reserve(b, 1);
    d[0] = c;
    d[1] = '\0';
    b->len++;
}

/* Writes the comma a new value needs at the current level (none right after a key). */
static inline void sep(struct roster_jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    int d = w->depth < ROSTER_JSONW_MAX_DEPTH ? w->depth : ROSTER_JSONW_MAX_DEPTH - 1;
    if (w->has_item[d])
        putch(w->out, ',');
    w->has_item[d] = true;
}

void roster_jsonw_init(struct roster_jsonw *w, struct roster_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->has_item[0] = false;
    w->after_key = false;
}

/* Deeper than ROSTER_JSONW_MAX_DEPTH the levels share the last slot; nothing roster writes
 * nests that deep. */
static void open_level(struct roster_jsonw *w, char c)
{
    sep(w);
    putch(w->out, c);
    w->depth++;
    if (w->depth < ROSTER_JSONW_MAX_DEPTH)
        w->has_item[w->depth] = false;
}

static void close_level(struct roster_jsonw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    w->after_key = false;
    putch(w->out, c);
}

void roster_jsonw_obj_begin(struct roster_jsonw *w)
{
    open_level(w, '{');
}

void roster_jsonw_obj_end(struct roster_jsonw *w)
{
    close_level(w, '}');
}

void roster_jsonw_arr_begin(struct roster_jsonw *w)
{
    open_level(w, '[');
}

void roster_jsonw_arr_end(struct roster_jsonw *w)
{
    close_level(w, ']');
}

/* 0: copy as is (printable ASCII and bytes of valid UTF-8 handled by the caller),
 * 1: needs an escape, 2: start of a multi-byte sequence (or an invalid byte) */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80, at most n bytes available),
 * or minus the length of the maximal invalid subpart to replace with one U+FFFD. */
static inline int utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return -1; /* continuation byte, C0/C1 overlong lead or F5..FF */
    }
    if (n < 2 || p[1] < lo || p[1] > hi)
        return -1;
    for (int i = 2; i < need; i++)
        if ((size_t)i >= n || (p[i] & 0xC0) != 0x80)
            return -i;
    return need;
}

/* true if none of the 8 bytes needs attention: all in 0x20..0x7F except '"' and '\\' */
static inline bool plain8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), s = x ^ (ones * '\\');
    uint64_t bad = (x - ones * 0x20) | (q - ones) | (s - ones);
    bad &= ~x; /* ignore borrows from bytes >= 0x80: those are caught below */
    return ((bad | x) & high) == 0;
}

/* The letter of the two-character escape of a byte of class 1, or 0 for \u00XX. */
static const char short_escape[0x60] = {
    ['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
    ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't',
};

static void put_escaped(struct roster_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str, *end = s + n, *run = s;
    reserve(b, n + 2);
    b->data[b->len++] = '"';
    while (s < end) {
        while (end - s >= 8 && plain8(s))
            s += 8;
        if (s >= end)
            break;
        unsigned c = *s;
        unsigned cls = byte_class[c];
        if (cls == 0) {
            s++;
            continue;
        }
        int len = 0;
        if (cls == 2) {
            len = utf8_seq(s, (size_t)(end - s));
            if (len > 0) {
                s += len;
                continue;
            }
        }
        /* flush the run, then the replacement for the byte(s) at s */
        if (s > run)
            put(b, run, (size_t)(s - run));
        char *d = reserve(b, 6);
        if (cls == 2) {
            memcpy(d, "\xEF\xBF\xBD", 3);
            b->len += 3;
            s += -len;
        } else {
            /* class 1: a control character, '"' or '\\' */
            d[0] = '\\';
            d[1] = short_escape[c];
            if (!d[1]) {
                memcpy(d + 1, "u00", 3);
                d[4] = hex[c >> 4];
                d[5] = hex[c & 15];
                b->len += 4;
            }
            b->len += 2;
            s++;
        }
        run = s;
    }
    if (s > run)
        put(b, run, (size_t)(s - run));
    putch(b, '"');
}

void roster_jsonw_key(struct roster_jsonw *w, const char *key)
{
    sep(w);
    put_escaped(w->out, key ? key : "", key ? strlen(key) : 0);
    putch(w->out, ':');
    w->after_key = true;
}

void roster_jsonw_key_lit(struct roster_jsonw *w, const char *key, size_t n)
{
    sep(w);
    char *d = reserve(w->out, n + 3);
    d[0] = '"';
    memcpy(d + 1, key, n);
    d[n + 1] = '"';
    d[n + 2] = ':';
    w->out->len += n + 3;
    w->out->data[w->out->len] = '\0';
    w->after_key = true;
}

void roster_jsonw_str(struct roster_jsonw *w, const char *s)
{
    if (!s) {
        roster_jsonw_null(w);
        return;
    }
    sep(w);
    put_escaped(w->out, s, strlen(s));
}

void roster_jsonw_strn(struct roster_jsonw *w, const char *s, size_t n)
{
    if (!s) {
        roster_jsonw_null(w);
        return;
    }
    sep(w);
    put_escaped(w->out, s, n);
}

void roster_jsonw_int(struct roster_jsonw *w, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    /* negate in unsigned arithmetic so INT64_MIN has no overflow */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    sep(w);
    put(w->out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Shortest of %.15g/%.16g/%.17g that reads back as the same double. */
void roster_jsonw_double(struct roster_jsonw *w, double v)
{
    if (!isfinite(v)) {
        roster_jsonw_null(w);
        return;
    }
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    sep(w);
    put(w->out, tmp, (size_t)n);
}

void roster_jsonw_bool(struct roster_jsonw *w, bool v)
{
    sep(w);
    if (v)
        put(w->out, "true", 4);
    else
        put(w->out, "false", 5);
}

void roster_jsonw_null(struct roster_jsonw *w)
{
    sep(w);
    put(w->out, "null", 4);
}

void roster_jsonw_raw(struct roster_jsonw *w, const char *json)
{
    if (!json || !*json) {
        roster_jsonw_null(w);
        return;
    }
    sep(w);
    put(w->out, json, strlen(json));
}

void roster_jsonw_kstr(struct roster_jsonw *w, const char *key, const char *s)
{
    roster_jsonw_key(w, key);
    roster_jsonw_str(w, s);
}

void roster_jsonw_kint(struct roster_jsonw *w, const char *key, int64_t v)
{
    roster_jsonw_key(w, key);
    roster_jsonw_int(w, v);
}

void roster_jsonw_kbool(struct roster_jsonw *w, const char *key, bool v)
{
    roster_jsonw_key(w, key);
    roster_jsonw_bool(w, v);
}

void roster_jsonw_knull(struct roster_jsonw *w, const char *key)
{
    roster_jsonw_key(w, key);
    roster_jsonw_null(w);
}

void roster_jsonw_kraw(struct roster_jsonw *w, const char *key, const char *json)
{
    roster_jsonw_key(w, key);
    roster_jsonw_raw(w, json);
}

void roster_jsonw_ktime(struct roster_jsonw *w, const char *key, int64_t ms)
{
    roster_jsonw_key(w, key);
    if (ms <= 0) {
        roster_jsonw_null(w);
        return;
    }
    char tmp[34];
    tmp[0] = '"';
    roster_time_format(ms, tmp + 1);
    size_t n = strlen(tmp);
    tmp[n] = '"';
    sep(w);
    put(w->out, tmp, n + 1);
}
