/* Unit tests of the pull reader (src/util/jsonr.c): every value type, string escapes
 * (\u surrogate pairs to UTF-8), skipping of nested values, raw and compact slices, empty
 * containers, duplicate keys; a differential check against jansson on random valid
 * documents; and damaged input (truncated, bytes flipped) walked under exact-size buffers.
 */
#include "roster/jsonr.h"
#include "roster/jsonscan.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

static struct roster_arena arena;

static struct roster_jsonr_val parse(const char *text)
{
    struct roster_jsonr_val v;
    memset(&v, 0, sizeof(v));
    int rc = roster_jsonr_parse(text, strlen(text), &v);
    test_record_(rc == 0, __FILE__, __LINE__, text);
    return v;
}

static const char *str_of(const struct roster_jsonr_val *v)
{
    const char *s = NULL;
    return roster_jsonr_str(v, &arena, &s, NULL) == 0 ? s : NULL;
}

static const char *raw_of(const struct roster_jsonr_val *v)
{
    return roster_arena_strndup(&arena, v->raw, v->len);
}

static void test_scalars(void)
{
    struct roster_jsonr_val v = parse(" true ");
    bool b = false;
    CHECK_EQ_INT(v.type, ROSTER_JSONR_TRUE);
    CHECK(roster_jsonr_bool(&v, &b) == 0 && b);
    v = parse("false");
    CHECK(roster_jsonr_bool(&v, &b) == 0 && !b);
    CHECK_EQ_INT(v.type, ROSTER_JSONR_FALSE);
    v = parse("\n\tnull\r\n");
    CHECK_EQ_INT(v.type, ROSTER_JSONR_NULL);
    CHECK_EQ_INT(roster_jsonr_bool(&v, &b), -1);
    CHECK_EQ_STR(raw_of(&v), "null");

    int64_t i = 0;
    double d = 0;
    v = parse("0");
    CHECK(v.type == ROSTER_JSONR_INTEGER && roster_jsonr_int(&v, &i) == 0 && i == 0);
    v = parse("-0");
    CHECK(v.type == ROSTER_JSONR_INTEGER && roster_jsonr_int(&v, &i) == 0 && i == 0);
    v = parse("5001");
    CHECK(roster_jsonr_int(&v, &i) == 0 && i == 5001);
    v = parse("9223372036854775807");
    CHECK(roster_jsonr_int(&v, &i) == 0 && i == INT64_MAX);
    v = parse("-9223372036854775808");
    CHECK(roster_jsonr_int(&v, &i) == 0 && i == INT64_MIN);
    CHECK(roster_jsonr_real(&v, &d) == 0 && d == -9223372036854775808.0);
    /* the reader refuses what the scanner would have refused */
    v = parse("9223372036854775808");
    CHECK_EQ_INT(roster_jsonr_int(&v, &i), -1);
    v = parse("1.5");
    CHECK_EQ_INT(v.type, ROSTER_JSONR_REAL);
    CHECK_EQ_INT(roster_jsonr_int(&v, &i), -1);
    CHECK(roster_jsonr_real(&v, &d) == 0 && d == 1.5);
    v = parse("-2.5e-3");
    CHECK(v.type == ROSTER_JSONR_REAL && roster_jsonr_real(&v, &d) == 0 && d == -2.5e-3);
    v = parse("1E+2");
    CHECK(v.type == ROSTER_JSONR_REAL && roster_jsonr_real(&v, &d) == 0 && d == 100.0);
    v = parse("1e2");
    CHECK_EQ_INT(v.type, ROSTER_JSONR_REAL); /* jansson: a real, not an integer */
    CHECK_EQ_STR(raw_of(&v), "1e2");
    /* a long real goes through the heap copy */
    char longreal[200] = "0.";
    memset(longreal + 2, '0', 150);
    strcpy(longreal + 152, "125e150");
    v = parse(longreal);
    CHECK(roster_jsonr_real(&v, &d) == 0 && d == strtod(longreal, NULL) && d > 0.1249 &&
          d < 0.1251);
    v = parse("7");
    CHECK(roster_jsonr_real(&v, &d) == 0 && d == 7.0);
    v = parse("\"7\"");
    CHECK_EQ_INT(roster_jsonr_real(&v, &d), -1);
    CHECK_EQ_INT(roster_jsonr_int(&v, &i), -1);

    struct roster_jsonr_val bad;
    CHECK_EQ_INT(roster_jsonr_parse("1 2", 3, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("", 0, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("   ", 3, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("tru", 3, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("-", 1, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("\"abc", 4, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse("[1,2", 4, &bad), -1);
    CHECK_EQ_INT(roster_jsonr_parse(NULL, 0, &bad), -1);
    /* the length bounds the text, not a NUL */
    CHECK_EQ_INT(roster_jsonr_parse("12345", 2, &bad), 0);
    CHECK(roster_jsonr_int(&bad, &i) == 0 && i == 12);
}

static void test_strings(void)
{
    struct roster_jsonr_val v = parse("\"plain text\"");
    CHECK_EQ_INT(v.type, ROSTER_JSONR_STRING);
    CHECK(!v.esc);
    CHECK_EQ_STR(str_of(&v), "plain text");
    CHECK_EQ_STR(raw_of(&v), "\"plain text\"");
    const char *p;
    size_t n;
    /* without escapes the view points into the input */
    const char *text = "\"abc\"";
    CHECK_EQ_INT(roster_jsonr_parse(text, 5, &v), 0);
    CHECK(roster_jsonr_str_view(&v, &arena, &p, &n) == 0 && p == text + 1 && n == 3);

    v = parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"");
    CHECK(v.esc);
    CHECK_EQ_STR(str_of(&v), "q\" b\\ s/ \b\f\n\r\t");
    CHECK(roster_jsonr_str_view(&v, &arena, &p, &n) == 0 && n == 14 && p[n] == '\0');
    CHECK(roster_jsonr_str_eq(&v, "q\" b\\ s/ \b\f\n\r\t"));
    CHECK(!roster_jsonr_str_eq(&v, "q\" b\\ s/ \b\f\n\r"));
    CHECK(!roster_jsonr_str_eq(&v, "q\" b\\ s/ \b\f\n\r\t!"));

    /* \u escapes: 1, 2 and 3 UTF-8 bytes, hex in both cases, and a surrogate pair */
    v = parse("\"\\u0041\\u00e9\\u00E9\\u20ac\\ud83d\\ude00x\"");
    CHECK_EQ_STR(str_of(&v), "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x");
    CHECK(roster_jsonr_str_eq(&v, "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x"));
    CHECK(!roster_jsonr_str_eq(&v, "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x81x"));
    n = 0;
    CHECK(roster_jsonr_str_chars(&v, &n) == 0 && n == 6);
    v = parse("\"\\uDBFF\\uDFFF\"");
    CHECK_EQ_STR(str_of(&v), "\xf4\x8f\xbf\xbf");
    /* raw UTF-8 counts by code point */
    v = parse("\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
    CHECK(roster_jsonr_str_chars(&v, &n) == 0 && n == 7);
    CHECK(roster_jsonr_str_eq(&v, "h\xc3\xa9llo \xf0\x9f\x98\x80"));
    v = parse("\"\"");
    CHECK_EQ_STR(str_of(&v), "");
    CHECK(roster_jsonr_str_eq(&v, ""));
    CHECK(!roster_jsonr_str_eq(&v, "x"));
    CHECK(roster_jsonr_str_chars(&v, &n) == 0 && n == 0);

    /* escapes the scanner refuses are refused here too */
    const char *bad[] = {"\"\\u0000\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"",
                         "\"\\x\"",     "\"\\u12\"",   "\"\\u12g4\""};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        v = parse(bad[k]);
        CHECK_EQ_INT(roster_jsonr_str(&v, &arena, &p, &n), -1);
        CHECK_EQ_INT(roster_jsonr_str_chars(&v, &n), -1);
        CHECK(!roster_jsonr_str_eq(&v, ""));
    }
    /* non-strings */
    v = parse("12");
    CHECK_EQ_INT(roster_jsonr_str(&v, &arena, &p, &n), -1);
    CHECK(!roster_jsonr_str_eq(&v, "12"));
}

static void test_containers(void)
{
    const char *doc = "{ \"a\" : [1, {\"x\": \"]}\\\"[{\"}, [[]], \"\\\\\"] ,\n"
                      "  \"b\\u0062\":{\"c\":{\"d\":[true,false,null]}}, \"e\": {}, \"f\": [ ],"
                      " \"g\": -1.5e3 }";
    struct roster_jsonr_val v = parse(doc), key, val;
    CHECK_EQ_INT(v.type, ROSTER_JSONR_OBJECT);
    CHECK_EQ_INT(v.len, strlen(doc));
    struct roster_jsonr it;
    CHECK_EQ_INT(roster_jsonr_open(&it, &v), 0);
    static const struct {
        const char *key, *raw;
        int type;
    } want[] = {
        {"a", "[1, {\"x\": \"]}\\\"[{\"}, [[]], \"\\\\\"]", ROSTER_JSONR_ARRAY},
        {"bb", "{\"c\":{\"d\":[true,false,null]}}", ROSTER_JSONR_OBJECT},
        {"e", "{}", ROSTER_JSONR_OBJECT},
        {"f", "[ ]", ROSTER_JSONR_ARRAY},
        {"g", "-1.5e3", ROSTER_JSONR_REAL},
    };
    size_t k = 0;
    int r;
    while ((r = roster_jsonr_next(&it, &key, &val)) == 1) {
        if (k < 5) {
            CHECK_EQ_STR(str_of(&key), want[k].key);
            CHECK(roster_jsonr_str_eq(&key, want[k].key));
            CHECK_EQ_STR(raw_of(&val), want[k].raw);
            CHECK_EQ_INT(val.type, want[k].type);
        }
        k++;
    }
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(k, 5);
    CHECK_EQ_INT(roster_jsonr_next(&it, &key, &val), 0); /* stays at the end */

    /* the nested array "a" */
    CHECK_EQ_INT(roster_jsonr_get(&v, "a", &val), 1);
    struct roster_jsonr ia;
    CHECK_EQ_INT(roster_jsonr_open(&ia, &val), 0);
    const char *elems[] = {"1", "{\"x\": \"]}\\\"[{\"}", "[[]]", "\"\\\\\""};
    struct roster_jsonr_val e;
    k = 0;
    while ((r = roster_jsonr_next(&ia, NULL, &e)) == 1) {
        if (k < 4)
            CHECK_EQ_STR(raw_of(&e), elems[k]);
        k++;
    }
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(k, 4);

    /* get: unescaped key match, absent key, deep value */
    CHECK_EQ_INT(roster_jsonr_get(&v, "bb", &val), 1);
    struct roster_jsonr_val c, d;
    CHECK_EQ_INT(roster_jsonr_get(&val, "c", &c), 1);
    CHECK_EQ_INT(roster_jsonr_get(&c, "d", &d), 1);
    CHECK_EQ_STR(raw_of(&d), "[true,false,null]");
    CHECK_EQ_INT(roster_jsonr_get(&v, "b\\u0062", &val), 0);
    CHECK_EQ_INT(roster_jsonr_get(&v, "zz", &val), 0);
    CHECK_EQ_INT(roster_jsonr_get(&d, "x", &val), -1); /* not an object */
    /* compact: whitespace outside strings goes, inside strings stays */
    size_t n;
    CHECK_EQ_STR(roster_jsonr_compact(&v, &arena, &n),
                 "{\"a\":[1,{\"x\":\"]}\\\"[{\"},[[]],\"\\\\\"],\"b\\u0062\":{\"c\":{\"d\":[true,"
                 "false,null]}},\"e\":{},\"f\":[],\"g\":-1.5e3}");
    struct roster_jsonr_val s = parse("[ \" a  b \" , 1 ]");
    CHECK_EQ_STR(roster_jsonr_compact(&s, &arena, &n), "[\" a  b \",1]");
    CHECK_EQ_INT(n, 12);

    /* empty containers, with and without whitespace */
    const char *empties[] = {"[]", "{}", "[ ]", "{\n\t}", " [\r\n] "};
    for (k = 0; k < 5; k++) {
        struct roster_jsonr_val ev = parse(empties[k]);
        struct roster_jsonr ei;
        CHECK_EQ_INT(roster_jsonr_open(&ei, &ev), 0);
        CHECK_EQ_INT(roster_jsonr_next(&ei, &key, &val), 0);
    }
    /* duplicate keys: the last one wins, as in jansson */
    struct roster_jsonr_val dup = parse("{\"k\":1,\"j\":2,\"k\":3}");
    int64_t i;
    CHECK(roster_jsonr_get(&dup, "k", &val) == 1 && roster_jsonr_int(&val, &i) == 0 && i == 3);
    /* a scalar cannot be opened */
    struct roster_jsonr_val one = parse("1");
    CHECK_EQ_INT(roster_jsonr_open(&it, &one), -1);
    CHECK_EQ_INT(roster_jsonr_next(&it, &key, &val), 0);

    /* malformed containers report errors instead of values */
    const char *broken[] = {"[1 2]",    "[,1]", "{\"a\" 1}", "{1:2}",
                            "{\"a\":}", "[1,]", "{\"a\":1,}"};
    for (k = 0; k < sizeof(broken) / sizeof(broken[0]); k++) {
        struct roster_jsonr_val bv;
        CHECK_EQ_INT(roster_jsonr_parse(broken[k], strlen(broken[k]), &bv), 0);
        struct roster_jsonr bi;
        CHECK_EQ_INT(roster_jsonr_open(&bi, &bv), 0);
        int got;
        int steps = 0;
        while ((got = roster_jsonr_next(&bi, &key, &val)) == 1 && steps < 10)
            steps++;
        test_record_(got == -1, __FILE__, __LINE__, broken[k]);
        CHECK_EQ_INT(roster_jsonr_next(&bi, &key, &val), -1); /* stays failed */
    }
}

/* ---- random documents ---- */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static unsigned long long rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void ws(struct sbuf *b)
{
    static const char w[] = " \t\n\r";
    if (rn(3) == 0)
        for (unsigned k = rn(3); k > 0; k--)
            put(b, &w[rn(4)], 1);
}

static void put_u(struct sbuf *b, unsigned v)
{
    char t[8];
    snprintf(t, sizeof(t), rn(2) ? "\\u%04x" : "\\u%04X", v);
    puts_(b, t);
}

static void put_utf8(struct sbuf *b, unsigned cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | cp >> 6), t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | cp >> 12), t[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | cp >> 18), t[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        t[2] = (char)(0x80 | (cp >> 6 & 0x3F)), t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(b, t, n);
}

/* A string of random code points, each written raw or escaped. */
static void gen_string(struct sbuf *b, const char *suffix)
{
    puts_(b, "\"");
    unsigned n = rn(4) == 0 ? 0 : rn(12);
    for (unsigned k = 0; k < n; k++) {
        unsigned cp, kind = rn(10);
        if (kind < 4)
            cp = 0x20 + rn(0x5F);
        else if (kind == 4)
            cp = 1 + rn(0x1F);
        else if (kind == 5)
            cp = rn(2) ? '"' : '\\';
        else if (kind == 6)
            cp = 0x80 + rn(0x780);
        else if (kind == 7) {
            do
                cp = 0x800 + rn(0xF800);
            while (cp >= 0xD800 && cp <= 0xDFFF);
        } else {
            cp = 0x10000 + rn(0x100000);
        }
        bool must = cp < 0x20 || cp == '"' || cp == '\\';
        if (!must && rn(3) != 0) {
            put_utf8(b, cp);
            continue;
        }
        static const char simple[] = "\"\\/\b\f\n\r\t", letters[] = "\"\\/bfnrt";
        const char *s = cp < 0x80 ? strchr(simple, (int)cp) : NULL;
        if (s && cp && rn(2)) {
            char t[2] = {'\\', letters[s - simple]};
            put(b, t, 2);
        } else if (cp >= 0x10000) {
            unsigned v = cp - 0x10000;
            put_u(b, 0xD800 + (v >> 10));
            put_u(b, 0xDC00 + (v & 0x3FF));
        } else {
            put_u(b, cp);
        }
        if (cp == '/' && rn(2))
            puts_(b, "\\/");
    }
    puts_(b, suffix);
    puts_(b, "\"");
}

static void gen_number(struct sbuf *b)
{
    char t[64];
    switch (rn(6)) {
    case 0:
        snprintf(t, sizeof(t), "%lld", (long long)(rnd() >> (1 + rn(63))) * (rn(2) ? 1 : -1));
        break;
    case 1:
        snprintf(t, sizeof(t), "%s", rn(2) ? "9223372036854775807" : "-9223372036854775808");
        break;
    case 2:
        snprintf(t, sizeof(t), "%s", rn(2) ? "0" : "-0");
        break;
    case 3:
        snprintf(t, sizeof(t), "%s%u.%u", rn(2) ? "-" : "", rn(100000), rn(1000000));
        break;
    case 4:
        snprintf(t, sizeof(t), "%u%s%c%s%u", 1 + rn(9), rn(2) ? ".5" : "", rn(2) ? 'e' : 'E',
                 rn(3) == 0 ? "+"
                 : rn(2)    ? "-"
                            : "",
                 rn(300));
        break;
    default:
        snprintf(t, sizeof(t), "%u", rn(1000));
        break;
    }
    puts_(b, t);
}

static void gen_value(struct sbuf *b, int depth)
{
    unsigned k = rn(depth > 5 ? 5 : 8);
    switch (k) {
    case 0:
        puts_(b, "true");
        break;
    case 1:
        puts_(b, rn(2) ? "false" : "null");
        break;
    case 2:
        gen_number(b);
        break;
    case 3:
    case 4:
        gen_string(b, "");
        break;
    case 5:
    case 6: {
        puts_(b, "[");
        ws(b);
        unsigned n = rn(5);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                puts_(b, ","), ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        puts_(b, "]");
        break;
    }
    default: {
        puts_(b, "{");
        ws(b);
        unsigned n = rn(5);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                puts_(b, ","), ws(b);
            char suffix[16]; /* keeps keys distinct: jansson keeps the last duplicate only */
            snprintf(suffix, sizeof(suffix), "#%u", i);
            gen_string(b, suffix);
            ws(b);
            puts_(b, ":");
            ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        puts_(b, "}");
        break;
    }
    }
}

static long utf8_chars(const char *s, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* true if v (read by the reader) holds the same value as j (read by jansson) */
static bool same(const struct roster_jsonr_val *v, json_t *j, int *steps)
{
    (*steps)++;
    json_error_t e;
    json_t *again = json_loadb(v->raw, v->len, JSON_DECODE_ANY, &e);
    bool raw_ok = again && json_equal(again, j);
    json_decref(again);
    size_t cn;
    const char *compact = roster_jsonr_compact(v, &arena, &cn);
    again = json_loadb(compact, cn, JSON_DECODE_ANY, &e);
    raw_ok = raw_ok && again && json_equal(again, j) && cn <= v->len;
    json_decref(again);
    if (!raw_ok)
        return false;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        struct roster_jsonr it;
        struct roster_jsonr_val k, val, got;
        size_t n = 0;
        int r;
        if (v->type != ROSTER_JSONR_OBJECT || roster_jsonr_open(&it, v) != 0)
            return false;
        while ((r = roster_jsonr_next(&it, &k, &val)) == 1) {
            const char *key;
            size_t klen;
            if (roster_jsonr_str(&k, &arena, &key, &klen) != 0 || strlen(key) != klen)
                return false;
            json_t *jv = json_object_get(j, key);
            if (!jv || !same(&val, jv, steps) || !roster_jsonr_str_eq(&k, key))
                return false;
            if (roster_jsonr_get(v, key, &got) != 1 || got.raw != val.raw || got.len != val.len)
                return false;
            n++;
        }
        return r == 0 && n == json_object_size(j);
    }
    case JSON_ARRAY: {
        struct roster_jsonr it;
        struct roster_jsonr_val val;
        size_t n = 0;
        int r;
        if (v->type != ROSTER_JSONR_ARRAY || roster_jsonr_open(&it, v) != 0)
            return false;
        while ((r = roster_jsonr_next(&it, NULL, &val)) == 1) {
            json_t *jv = json_array_get(j, n++);
            if (!jv || !same(&val, jv, steps))
                return false;
        }
        return r == 0 && n == json_array_size(j);
    }
    case JSON_STRING: {
        const char *s, *view;
        size_t n, vn, chars;
        if (v->type != ROSTER_JSONR_STRING || roster_jsonr_str(v, &arena, &s, &n) != 0 ||
            roster_jsonr_str_view(v, &arena, &view, &vn) != 0 ||
            roster_jsonr_str_chars(v, &chars) != 0)
            return false;
        size_t jn = json_string_length(j);
        const char *js = json_string_value(j);
        return n == jn && memcmp(s, js, n) == 0 && vn == jn && memcmp(view, js, jn) == 0 &&
               s[n] == '\0' && roster_jsonr_str_eq(v, js) && (long)chars == utf8_chars(js, jn) &&
               (v->esc || view == v->raw + 1);
    }
    case JSON_INTEGER: {
        int64_t i;
        double d;
        return v->type == ROSTER_JSONR_INTEGER && roster_jsonr_int(v, &i) == 0 &&
               i == json_integer_value(j) && roster_jsonr_real(v, &d) == 0 &&
               d == json_number_value(j);
    }
    case JSON_REAL: {
        double d;
        int64_t i;
        return v->type == ROSTER_JSONR_REAL && roster_jsonr_real(v, &d) == 0 &&
               memcmp(&d, &(double){json_real_value(j)}, sizeof(d)) == 0 &&
               roster_jsonr_int(v, &i) == -1;
    }
    case JSON_TRUE:
        return v->type == ROSTER_JSONR_TRUE;
    case JSON_FALSE:
        return v->type == ROSTER_JSONR_FALSE;
    default:
        return v->type == ROSTER_JSONR_NULL;
    }
}

static void test_differential(void)
{
    int docs = 0, bad = 0, skipped = 0, values = 0, shown = 0;
    struct sbuf b = {0};
    for (int n = 0; n < 6000; n++) {
        b.len = 0;
        ws(&b);
        gen_value(&b, 0);
        ws(&b);
        /* the reader's precondition: the scanner accepts the text */
        struct roster_json_span *spans;
        size_t nspans;
        char top;
        struct roster_err err;
        if (roster_json_scan(b.p, b.len, &arena, &spans, &nspans, &top, &err) != 0) {
            skipped++;
            continue;
        }
        json_error_t e;
        json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &e);
        struct roster_jsonr_val v;
        bool ok = j && roster_jsonr_parse(b.p, b.len, &v) == 0 && same(&v, j, &values);
        /* every span the scanner gives is one value the reader reads alike */
        for (size_t s = 0; ok && s < nspans; s++) {
            struct roster_jsonr_val sv;
            ok =
                roster_jsonr_parse(b.p + spans[s].start, spans[s].end - spans[s].start, &sv) == 0 &&
                same(&sv, json_array_get(j, s), &values);
        }
        docs++;
        if (!ok) {
            bad++;
            if (shown++ < 3)
                fprintf(stderr, "    differs from jansson: %s\n", b.p);
        }
        json_decref(j);
        roster_arena_clear(&arena);
    }
    free(b.p);
    printf("differential: %d documents (%d values), %d differ, %d refused by the scanner\n", docs,
           values, bad, skipped);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(skipped, 0); /* the generator writes valid JSON only */
    CHECK(docs == 6000 && values > 25000);
}

/* ---- damaged input: every function on every value, within exact-size buffers ---- */

static void walk(const struct roster_jsonr_val *v, int depth, long *steps)
{
    const char *s;
    size_t n;
    int64_t i;
    double d;
    bool b;
    (*steps)++;
    (void)roster_jsonr_str(v, &arena, &s, &n);
    (void)roster_jsonr_str_view(v, &arena, &s, &n);
    (void)roster_jsonr_str_eq(v, "abc");
    (void)roster_jsonr_str_chars(v, &n);
    (void)roster_jsonr_int(v, &i);
    (void)roster_jsonr_real(v, &d);
    (void)roster_jsonr_bool(v, &b);
    (void)roster_jsonr_compact(v, &arena, &n);
    struct roster_jsonr_val got;
    (void)roster_jsonr_get(v, "a#0", &got);
    struct roster_jsonr it;
    struct roster_jsonr_val k, val;
    if (depth > 64 || roster_jsonr_open(&it, v) != 0)
        return;
    int guard = 0;
    while (roster_jsonr_next(&it, &k, &val) == 1 && guard++ < 100000) {
        if (v->type == ROSTER_JSONR_OBJECT)
            walk(&k, depth + 1, steps);
        walk(&val, depth + 1, steps);
    }
}

static void test_damaged(void)
{
    struct sbuf b = {0};
    long steps = 0;
    int texts = 0, parsed = 0;
    for (int n = 0; n < 3000; n++) {
        b.len = 0;
        gen_value(&b, 0);
        for (int m = 0; m < 6; m++) {
            size_t len = b.len;
            char *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
            memcpy(copy, b.p, len);
            if (m == 0 && len)
                len = rn((unsigned)len); /* truncated */
            for (int f = 0; m > 0 && f < m && len; f++) {
                static const char bytes[] = "\"\\[]{},:0-eE.tfn u";
                copy[rn((unsigned)len)] = rn(3) ? bytes[rn(sizeof(bytes) - 1)] : (char)rn(256);
            }
            struct roster_jsonr_val v;
            texts++;
            if (roster_jsonr_parse(copy, len, &v) == 0) {
                parsed++;
                walk(&v, 0, &steps);
            }
            free(copy);
            roster_arena_clear(&arena);
        }
    }
    free(b.p);
    printf("damaged: %d texts, %d read as one value, %ld values walked\n", texts, parsed, steps);
    CHECK(texts == 18000 && steps > 0);
}

/* roster_jsonr_get_str: the string member, unescaped, or NULL for anything else */
static void test_get_str(void)
{
    struct roster_jsonr_val v = parse("{\"a\":\"x\\u00e9\\\"y\",\"n\":null,\"i\":1,\"o\":{},"
                                      "\"a\":\"last\",\"bad\":\"\\u0000\"}");
    CHECK_EQ_STR(roster_jsonr_get_str(&v, "a", &arena), "last");
    CHECK(roster_jsonr_get_str(&v, "n", &arena) == NULL);
    CHECK(roster_jsonr_get_str(&v, "i", &arena) == NULL);
    CHECK(roster_jsonr_get_str(&v, "o", &arena) == NULL);
    CHECK(roster_jsonr_get_str(&v, "missing", &arena) == NULL);
    CHECK(roster_jsonr_get_str(&v, "bad", &arena) == NULL);
    struct roster_jsonr_val e = parse("{\"k\":\"x\\u00e9\\\"y\"}");
    CHECK_EQ_STR(roster_jsonr_get_str(&e, "k", &arena), "x\xc3\xa9\"y");
    struct roster_jsonr_val arr = parse("[\"k\"]");
    CHECK(roster_jsonr_get_str(&arr, "k", &arena) == NULL);
}

int main(void)
{
    roster_arena_init(&arena, 64 * 1024);
    test_scalars();
    test_strings();
    test_containers();
    test_differential();
    test_damaged();
    test_get_str();
    roster_arena_release(&arena);
    return test_finish();
}
