/* Pull reader over already-validated JSON text (see include/roster/jsonr.h). Every loop
 * moves forward through bounds-checked indexes, so text that is not valid after all can
 * produce an error or a meaningless value, never an out-of-bounds read or an endless loop.
 */
#include "roster/jsonr.h"
#include "roster/util.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#define NPOS ((size_t)-1)

/* Bytes the skipping loops must look at: 1 inside strings, 2 between tokens. */
enum { C_STR = 1, C_TOK = 2 };
static const unsigned char cls[256] = {
    ['"'] = C_STR | C_TOK, ['\\'] = C_STR, ['{'] = C_TOK,
    ['['] = C_TOK,         ['}'] = C_TOK,  [']'] = C_TOK,
};

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws((unsigned char)s[i]))
        i++;
    return i;
}

/* s[i] is an opening quote: the index after the closing one, or NPOS. */
static size_t string_end(const char *s, size_t len, size_t i, bool *esc)
{
    i++;
    for (;;) {
        while (i < len && !(cls[(unsigned char)s[i]] & C_STR))
            i++;
        if (i >= len)
            return NPOS;
        if (s[i] == '"')
            return i + 1;
        *esc = true; /* a backslash: the next byte is escaped */
        i += 2;
    }
}

/* s[i] opens an object or array: the index after its closing bracket, or NPOS. Brackets
 * are counted without matching their kinds: the text is valid by precondition. */
static size_t container_end(const char *s, size_t len, size_t i)
{
    size_t depth = 0;
    for (;;) {
        while (i < len && !(cls[(unsigned char)s[i]] & C_TOK))
            i++;
        if (i >= len)
            return NPOS;
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            bool esc = false;
            i = string_end(s, len, i, &esc);
            if (i == NPOS)
                return NPOS;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
}

static size_t literal_end(const char *s, size_t len, size_t i, const char *word, size_t n)
{
    return len - i >= n && memcmp(s + i, word, n) == 0 ? i + n : NPOS;
}

static size_t number_end(const char *s, size_t len, size_t i, int *type)
{
    size_t start = i;
    bool digit = false;
    *type = ROSTER_JSONR_INTEGER;
    if (s[i] == '-')
        i++;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c == '.' || c == 'e' || c == 'E')
            *type = ROSTER_JSONR_REAL;
        else if (!((c == '+' || c == '-') && i > start && (s[i - 1] == 'e' || s[i - 1] == 'E')))
            break;
    }
    return digit ? i : NPOS;
}

/* Reads the value starting exactly at s[i]. */
static int read_value(const char *s, size_t len, size_t i, struct roster_jsonr_val *v, size_t *end)
{
    if (i >= len)
        return -1;
    if (s[i] != '{' && s[i] != '[')
        return roster_jsonr_scalar_at(s, len, i, v, end);
    v->type = s[i] == '{' ? ROSTER_JSONR_OBJECT : ROSTER_JSONR_ARRAY;
    v->esc = false;
    size_t e = container_end(s, len, i);
    if (e == NPOS)
        return -1;
    v->raw = s + i;
    v->len = e - i;
    *end = e;
    return 0;
}

int roster_jsonr_scalar_at(const char *s, size_t len, size_t i, struct roster_jsonr_val *v,
                           size_t *end)
{
    if (i >= len)
        return -1;
    size_t e;
    v->esc = false;
    switch (s[i]) {
    case '"':
        v->type = ROSTER_JSONR_STRING;
        e = string_end(s, len, i, &v->esc);
        break;
    case 't':
        v->type = ROSTER_JSONR_TRUE;
        e = literal_end(s, len, i, "true", 4);
        break;
    case 'f':
        v->type = ROSTER_JSONR_FALSE;
        e = literal_end(s, len, i, "false", 5);
        break;
    case 'n':
        v->type = ROSTER_JSONR_NULL;
        e = literal_end(s, len, i, "null", 4);
        break;
    default:
        if (s[i] != '-' && (s[i] < '0' || s[i] > '9'))
            return -1;
        e = number_end(s, len, i, &v->type);
        break;
    }
    if (e == NPOS)
        return -1;
    v->raw = s + i;
    v->len = e - i;
    *end = e;
    return 0;
}

int roster_jsonr_parse(const char *text, size_t len, struct roster_jsonr_val *out)
{
    if (!text)
        return -1;
    size_t start = skip_ws(text, len, 0), end = len;
    while (end > start && is_ws((unsigned char)text[end - 1]))
        end--;
    if (start < end && (text[start] == '{' || text[start] == '[')) {
        /* A container is taken to span the whole text (by precondition it does): only its
         * closing bracket is checked here, the iterator finds any other damage. This keeps
         * reading a chunk's item one pass over its bytes instead of two. */
        char close = text[start] == '{' ? '}' : ']';
        if (end - start < 2 || text[end - 1] != close)
            return -1;
        *out =
            (struct roster_jsonr_val){text[start] == '{' ? ROSTER_JSONR_OBJECT : ROSTER_JSONR_ARRAY,
                                      false, text + start, end - start};
        return 0;
    }
    size_t vend;
    if (read_value(text, len, start, out, &vend) != 0)
        return -1;
    return vend == end ? 0 : -1;
}

int roster_jsonr_open(struct roster_jsonr *it, const struct roster_jsonr_val *v)
{
    memset(it, 0, sizeof(*it));
    it->done = true;
    if ((v->type != ROSTER_JSONR_OBJECT && v->type != ROSTER_JSONR_ARRAY) || v->len < 2)
        return -1;
    it->s = v->raw;
    it->len = v->len;
    it->pos = 1;
    it->close = v->type == ROSTER_JSONR_OBJECT ? '}' : ']';
    it->first = true;
    it->done = false;
    return 0;
}

int roster_jsonr_next(struct roster_jsonr *it, struct roster_jsonr_val *key,
                      struct roster_jsonr_val *val)
{
    if (it->done)
        return it->failed ? -1 : 0;
    const char *s = it->s;
    size_t len = it->len, i = skip_ws(s, len, it->pos);
    if (i >= len)
        goto bad;
    if (s[i] == it->close) {
        it->pos = i + 1;
        it->done = true;
        return 0;
    }
    if (!it->first) {
        if (s[i] != ',')
            goto bad;
        i = skip_ws(s, len, i + 1);
    }
    if (it->close == '}') {
        if (i >= len || s[i] != '"')
            goto bad;
        bool esc = false;
        size_t kend = string_end(s, len, i, &esc);
        if (kend == NPOS)
            goto bad;
        if (key)
            *key = (struct roster_jsonr_val){ROSTER_JSONR_STRING, esc, s + i, kend - i};
        i = skip_ws(s, len, kend);
        if (i >= len || s[i] != ':')
            goto bad;
        i = skip_ws(s, len, i + 1);
    }
    size_t end;
    if (read_value(s, len, i, val, &end) != 0)
        goto bad;
    it->pos = end;
    it->first = false;
    return 1;
bad:
    it->done = true;
    it->failed = true;
    return -1;
}

int roster_jsonr_get(const struct roster_jsonr_val *obj, const char *key,
                     struct roster_jsonr_val *out)
{
    struct roster_jsonr it;
    struct roster_jsonr_val k, v;
    int found = 0, r;
    if (obj->type != ROSTER_JSONR_OBJECT || roster_jsonr_open(&it, obj) != 0)
        return -1;
    while ((r = roster_jsonr_next(&it, &k, &v)) == 1) {
        if (roster_jsonr_str_eq(&k, key)) {
            *out = v; /* keep going: the last duplicate wins */
            found = 1;
        }
    }
    return r < 0 ? -1 : found;
}

/* --- strings --- */

/* The 4 hex digits at in[i..i+4) (bounds checked); -1 if they are not. */
static long hex4(const char *in, size_t n, size_t i)
{
    if (i > n || n - i < 4)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = roster_hexval((unsigned char)in[i + k]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t utf8_put(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape at in[i] (a backslash) into out[0..4); *outn receives the bytes
 * written. Returns the input bytes used, or 0 if the escape is malformed. The output is
 * never longer than the input it came from. */
static size_t unescape_one(const char *in, size_t n, size_t i, char *out, size_t *outn)
{
    if (n - i < 2)
        return 0;
    char c = in[i + 1];
    const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
    for (const char *p = simple; *p; p += 2) {
        if (*p == c) {
            out[0] = p[1];
            *outn = 1;
            return 2;
        }
    }
    if (c != 'u')
        return 0;
    long hi = hex4(in, n, i + 2);
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) /* \u0000 and lone low surrogates */
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *outn = utf8_put((unsigned long)hi, out);
        return 6;
    }
    if (n - i < 12 || in[i + 6] != '\\' || in[i + 7] != 'u')
        return 0;
    long lo = hex4(in, n, i + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *outn = utf8_put(0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00),
                     out);
    return 12;
}

/* Unescapes in[0..n) into out (which holds n bytes); returns the length or NPOS. */
static size_t unescape(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        const char *bs = memchr(in + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (in + i)) : n - i;
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
        if (!bs)
            break;
        size_t outn, used = unescape_one(in, n, i, out + o, &outn);
        if (!used)
            return NPOS;
        o += outn;
        i += used;
    }
    return o;
}

/* The text between the quotes of string v. */
static int interior(const struct roster_jsonr_val *v, const char **p, size_t *n)
{
    if (v->type != ROSTER_JSONR_STRING || v->len < 2)
        return -1;
    *p = v->raw + 1;
    *n = v->len - 2;
    return 0;
}

int roster_jsonr_str(const struct roster_jsonr_val *v, struct roster_arena *a, const char **out,
                     size_t *n)
{
    const char *in;
    size_t len, got;
    if (interior(v, &in, &len) != 0)
        return -1;
    char *buf = roster_arena_alloc(a, len + 1);
    if (!v->esc) {
        memcpy(buf, in, len);
        got = len;
    } else if ((got = unescape(in, len, buf)) == NPOS) {
        return -1;
    }
    buf[got] = '\0';
    *out = buf;
    if (n)
        *n = got;
    return 0;
}

int roster_jsonr_str_view(const struct roster_jsonr_val *v, struct roster_arena *a,
                          const char **out, size_t *n)
{
    const char *in;
    size_t len;
    if (interior(v, &in, &len) != 0)
        return -1;
    if (v->esc)
        return roster_jsonr_str(v, a, out, n);
    *out = in;
    if (n)
        *n = len;
    return 0;
}

bool roster_jsonr_str_eq(const struct roster_jsonr_val *v, const char *s)
{
    const char *in;
    size_t n, slen = strlen(s);
    if (interior(v, &in, &n) != 0)
        return false;
    if (!v->esc)
        return n == slen && memcmp(in, s, n) == 0;
    size_t i = 0, o = 0;
    while (i < n) {
        if (in[i] != '\\') {
            if (o >= slen || in[i] != s[o])
                return false;
            i++, o++;
            continue;
        }
        char buf[4];
        size_t outn, used = unescape_one(in, n, i, buf, &outn);
        if (!used || slen - o < outn || memcmp(buf, s + o, outn) != 0)
            return false;
        i += used;
        o += outn;
    }
    return o == slen;
}

int roster_jsonr_str_chars(const struct roster_jsonr_val *v, size_t *n)
{
    const char *in;
    size_t len, count = 0;
    if (interior(v, &in, &len) != 0)
        return -1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\\') {
            char buf[4];
            size_t outn, used = unescape_one(in, len, i, buf, &outn);
            if (!used)
                return -1;
            count++; /* every escape is one code point (a surrogate pair too) */
            i += used;
            continue;
        }
        count += (c & 0xC0) != 0x80; /* continuation bytes do not start a code point */
        i++;
    }
    *n = count;
    return 0;
}

/* --- other scalars --- */

int roster_jsonr_int(const struct roster_jsonr_val *v, int64_t *out)
{
    if (v->type != ROSTER_JSONR_INTEGER || v->len == 0)
        return -1;
    const char *p = v->raw, *end = v->raw + v->len;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (p == end)
        return -1;
    uint64_t acc = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg) {
        if (acc > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    } else {
        if (acc > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)acc;
    }
    return 0;
}

int roster_jsonr_real(const struct roster_jsonr_val *v, double *out)
{
    if (v->type == ROSTER_JSONR_INTEGER) {
        int64_t i;
        if (roster_jsonr_int(v, &i) != 0)
            return -1;
        *out = (double)i; /* what json_number_value gives for an integer */
        return 0;
    }
    if (v->type != ROSTER_JSONR_REAL)
        return -1;
    char small[64];
    char *buf = v->len < sizeof(small) ? small : malloc(v->len + 1);
    if (!buf)
        return -1;
    memcpy(buf, v->raw, v->len);
    buf[v->len] = '\0';
    /* as jansson does: strtod reads the locale's decimal point */
    const char *point = localeconv()->decimal_point;
    char *dot = memchr(buf, '.', v->len);
    if (dot && point[0] != '.' && point[0] != '\0')
        *dot = point[0];
    char *end;
    *out = strtod(buf, &end);
    int rc = end == buf + v->len ? 0 : -1;
    if (buf != small)
        free(buf);
    return rc;
}

int roster_jsonr_bool(const struct roster_jsonr_val *v, bool *out)
{
    if (v->type != ROSTER_JSONR_TRUE && v->type != ROSTER_JSONR_FALSE)
        return -1;
    *out = v->type == ROSTER_JSONR_TRUE;
    return 0;
}

/* --- raw text --- */

size_t roster_jsonr_compact_to(const struct roster_jsonr_val *v, char *out)
{
    const char *p = v->raw;
    size_t n = v->len, i = 0, o = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < n && p[j] != '"')
                j += p[j] == '\\' ? 2 : 1;
            j = j < n ? j + 1 : n;
            memcpy(out + o, p + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        if (!is_ws((unsigned char)c))
            out[o++] = c;
        i++;
    }
    return o;
}

const char *roster_jsonr_compact(const struct roster_jsonr_val *v, struct roster_arena *a,
                                 size_t *n)
{
    char *buf = roster_arena_alloc(a, v->len + 1);
    size_t got = roster_jsonr_compact_to(v, buf);
    buf[got] = '\0';
    if (n)
        *n = got;
    return buf;
}

const char *roster_jsonr_get_str(const struct roster_jsonr_val *obj, const char *key,
                                 struct roster_arena *a)
{
    struct roster_jsonr_val v;
    const char *s = NULL;
    if (roster_jsonr_get(obj, key, &v) == 1 && v.type == ROSTER_JSONR_STRING &&
        roster_jsonr_str(&v, a, &s, NULL) != 0)
        s = NULL;
    return s;
}
