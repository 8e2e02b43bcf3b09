/* Unit tests for the streaming JSON writer (src/util/jsonw.c): every document written is
 * parsed back with jansson and compared with what went in, including every control
 * character, multi-byte and invalid UTF-8, number extremes, raw values and nesting.
 */
#include "roster/jsonw.h"
#include "test.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#define FFFD "\xef\xbf\xbd"

/* Writes one string (n bytes) as the only element of an array and parses it back. */
static json_t *roundtrip_str(const char *s, size_t n, struct roster_buf *out)
{
    struct roster_jsonw w;
    roster_buf_reset(out);
    roster_jsonw_init(&w, out);
    roster_jsonw_arr_begin(&w);
    roster_jsonw_strn(&w, s, n);
    roster_jsonw_arr_end(&w);
    json_error_t e;
    json_t *doc = json_loads(out->data, JSON_ALLOW_NUL, &e);
    if (!doc)
        fprintf(stderr, "    jansson: %s in %s\n", e.text, out->data);
    return doc;
}

/* true if s (n bytes) survives writer + jansson unchanged */
static bool same_after_roundtrip(const char *s, size_t n)
{
    struct roster_buf b;
    roster_buf_init(&b);
    json_t *doc = roundtrip_str(s, n, &b);
    json_t *v = doc ? json_array_get(doc, 0) : NULL;
    bool ok = v && json_is_string(v) && json_string_length(v) == n &&
              memcmp(json_string_value(v), s, n) == 0;
    json_decref(doc);
    roster_buf_release(&b);
    return ok;
}

/* Output of the writer for string s as a whole document ("..."), for exact-text checks. */
static char *written(const char *s, size_t n)
{
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_strn(&w, s, n);
    return roster_buf_detach(&b, NULL);
}

static void check_written(const char *in, size_t n, const char *want, int line)
{
    char *got = written(in, n);
    bool ok = strcmp(got, want) == 0;
    test_record_(ok, __FILE__, line, want);
    if (!ok)
        fprintf(stderr, "    got %s\n", got);
    free(got);
}
#define CHECK_WRITTEN(in, want) check_written(in, sizeof(in) - 1, want, __LINE__)

static void test_control_chars(void)
{
    for (int c = 0; c < 0x20; c++) {
        char s[3] = {'x', (char)c, 'y'};
        CHECK(same_after_roundtrip(s, 3));
        CHECK(same_after_roundtrip(s + 1, 1));
    }
    CHECK_WRITTEN("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    CHECK_WRITTEN("\x01\x1f", "\"\\u0001\\u001f\"");
    check_written("\0", 1, "\"\\u0000\"", __LINE__);
    CHECK_WRITTEN("a\"b\\c/d\x7f", "\"a\\\"b\\\\c/d\x7f\"");
    CHECK(same_after_roundtrip("\"\\/", 3));
}

/* Each special byte at every position of a long string, so both the 8-byte scan and the
 * byte-by-byte tail see it. */
static void test_positions(void)
{
    const char specials[] = {'"', '\\', '\n', '\x01', '\0', '/', '\x10', '\x1f', '\x7f', '\x80'};
    for (size_t k = 0; k < sizeof(specials); k++) {
        for (size_t pos = 0; pos < 40; pos++) {
            char s[40];
            memset(s, 'a' + (int)(pos % 26), sizeof(s));
            s[pos] = specials[k];
            if ((unsigned char)specials[k] >= 0x80) {
                /* a lone continuation byte is replaced, everything around it kept */
                struct roster_buf b;
                roster_buf_init(&b);
                json_t *doc = roundtrip_str(s, sizeof(s), &b);
                const char *v = json_string_value(json_array_get(doc, 0));
                CHECK(v && strlen(v) == sizeof(s) + 2 && memcmp(v + pos, FFFD, 3) == 0);
                json_decref(doc);
                roster_buf_release(&b);
            } else {
                CHECK(same_after_roundtrip(s, sizeof(s)));
            }
        }
    }
    char big[100000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i % 97 == 0 ? '"' : i % 89 == 0 ? '\n' : 'a' + (int)(i % 26));
    CHECK(same_after_roundtrip(big, sizeof(big)));
}

static void test_utf8_valid(void)
{
    const char *ok[] = {
        "\xc3\xa9t\xc3\xa9",            /* été */
        "\xe2\x82\xac 5",               /* € */
        "\xf0\x9f\x98\x80 smile",       /* U+1F600, 4 bytes */
        "\xe2\x80\xa8\xe2\x80\xa9",     /* U+2028/2029 stay raw */
        "\xf4\x8f\xbf\xbf",             /* U+10FFFF */
        "\xef\xbf\xbf\xee\x80\x80",     /* U+FFFF, U+E000 */
        "\xed\x9f\xbf",                 /* U+D7FF, just below the surrogates */
        "\xc2\x80\xdf\xbf",             /* smallest and largest 2-byte */
        "\xe0\xa0\x80\xf0\x90\x80\x80", /* smallest 3- and 4-byte */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9"
        "\xe3\x83\x88 mixed with ascii and \"quotes\"",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CHECK(same_after_roundtrip(ok[i], strlen(ok[i])));
    CHECK_WRITTEN("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");
}

static void test_utf8_invalid(void)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"a\xc3", "a" FFFD},                       /* truncated at the end */
        {"\xc3(", FFFD "("},                       /* bad continuation */
        {"\x80", FFFD},                            /* lone continuation */
        {"\xbf\xbf", FFFD FFFD},                   /* two lone continuations */
        {"\xc0\xaf", FFFD FFFD},                   /* overlong '/' */
        {"\xc1\xbf", FFFD FFFD},                   /* overlong */
        {"\xe0\x80\xaf", FFFD FFFD FFFD},          /* 3-byte overlong */
        {"\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD}, /* 4-byte overlong */
        {"\xed\xa0\x80", FFFD FFFD FFFD},          /* surrogate U+D800 */
        {"\xed\xbf\xbf", FFFD FFFD FFFD},          /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* U+110000 */
        {"\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD}, /* lead > F4 */
        {"\xff", FFFD},
        {"\xfe\xff", FFFD FFFD},
        {"\xf0\x9f\x98", FFFD}, /* truncated 4-byte at the end */
        {"\xf0\x9f\x98"
         "A",
         FFFD "A"},              /* truncated before ASCII */
        {"\xe2\x82x", FFFD "x"}, /* truncated 3-byte */
        {"ok\xe2\x82\xac\xe2\x82", "ok\xe2\x82\xac" FFFD},
        {"abcdefgh\x80ijklmnop", "abcdefgh" FFFD "ijklmnop"}, /* after an 8-byte block */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct roster_buf b;
        roster_buf_init(&b);
        json_t *doc = roundtrip_str(cases[i].in, strlen(cases[i].in), &b);
        CHECK(doc != NULL);
        const char *got = doc ? json_string_value(json_array_get(doc, 0)) : NULL;
        CHECK_EQ_STR(got, cases[i].want);
        json_decref(doc);
        roster_buf_release(&b);
    }
}

/* Random byte strings: the output is always valid JSON, and exactly the valid UTF-8 inputs
 * (jansson's json_stringn is the oracle) come back unchanged. */
static void test_utf8_random(void)
{
    unsigned seed = 12345;
    int bad = 0, valid_seen = 0, invalid_seen = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char s[24];
        size_t n = (size_t)(iter % 24);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0xff;
            /* bias towards bytes that form and break multi-byte sequences */
            const unsigned char pool[] = {0x80, 0xbf, 0xa0, 0x9f, 0x8f, 0x90, 0xc2, 0xdf,
                                          0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 'a',  0};
            s[i] = (char)(r & 0x80 ? pool[r % sizeof(pool)] : r);
        }
        json_t *oracle = json_stringn(s, n);
        struct roster_buf b;
        roster_buf_init(&b);
        json_t *doc = roundtrip_str(s, n, &b);
        json_t *v = json_array_get(doc, 0);
        if (!doc || !json_is_string(v)) {
            if (bad++ < 3) {
                fprintf(stderr, "    input:");
                for (size_t i = 0; i < n; i++)
                    fprintf(stderr, " %02x", (unsigned char)s[i]);
                fprintf(stderr, "\n");
            }
        } else if (oracle) {
            valid_seen++;
            if (json_string_length(v) != n || memcmp(json_string_value(v), s, n) != 0)
                bad++;
        } else {
            invalid_seen++;
            if (!memmem(json_string_value(v), json_string_length(v), FFFD, 3))
                bad++;
        }
        json_decref(oracle);
        json_decref(doc);
        roster_buf_release(&b);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(valid_seen > 1000);
    CHECK(invalid_seen > 1000);
}

static void test_numbers(void)
{
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_arr_begin(&w);
    roster_jsonw_int(&w, INT64_MIN);
    roster_jsonw_int(&w, INT64_MAX);
    roster_jsonw_int(&w, 0);
    roster_jsonw_int(&w, -1);
    roster_jsonw_int(&w, 1234567890123);
    roster_jsonw_arr_end(&w);
    CHECK_EQ_STR(b.data, "[-9223372036854775808,9223372036854775807,0,-1,1234567890123]");
    json_t *doc = json_loads(b.data, 0, NULL);
    CHECK(doc != NULL);
    CHECK(json_integer_value(json_array_get(doc, 0)) == INT64_MIN);
    CHECK(json_integer_value(json_array_get(doc, 1)) == INT64_MAX);
    json_decref(doc);

    const double ds[] = {
        0.1,    1.0 / 3, 1e300, -1e-300, 5e-324, DBL_MAX, -DBL_MAX,   DBL_MIN,           123.125,
        2.5e-7, 1e21,    -2.0,  1.0,     0.0,    42.0,    1e15 + 0.3, 9007199254740993.0};
    roster_buf_reset(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++)
        roster_jsonw_double(&w, ds[i]);
    roster_jsonw_double(&w, NAN);
    roster_jsonw_double(&w, INFINITY);
    roster_jsonw_double(&w, -INFINITY);
    roster_jsonw_arr_end(&w);
    doc = json_loads(b.data, 0, NULL);
    CHECK(doc != NULL);
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        json_t *v = json_array_get(doc, i);
        bool same = json_is_number(v) && json_number_value(v) == ds[i];
        test_record_(same, __FILE__, __LINE__, "double round trip");
        if (!same)
            fprintf(stderr, "    %.17g came back as %s\n", ds[i], b.data);
    }
    size_t nd = sizeof(ds) / sizeof(ds[0]);
    CHECK(json_is_null(json_array_get(doc, nd)));
    CHECK(json_is_null(json_array_get(doc, nd + 1)));
    CHECK(json_is_null(json_array_get(doc, nd + 2)));
    json_decref(doc);
    /* shortest form that reads back: 0.1, not 0.10000000000000001 */
    CHECK(strncmp(b.data, "[0.1,0.3333333333333333,1e+300,", 31) == 0);

    roster_buf_reset(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_double(&w, -0.0);
    CHECK_EQ_STR(b.data, "-0");
    roster_buf_release(&b);
}

static void test_values_and_keys(void)
{
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "name", "jdoe");
    roster_jsonw_kstr(&w, "missing", NULL);
    roster_jsonw_kint(&w, "n", 7);
    roster_jsonw_kbool(&w, "t", true);
    roster_jsonw_kbool(&w, "f", false);
    roster_jsonw_knull(&w, "z");
    roster_jsonw_kraw(&w, "raw", "[{\"type\":\"work\",\"number\":\"+1 555\"}]");
    roster_jsonw_kraw(&w, "rawnull", NULL);
    roster_jsonw_kraw(&w, "rawempty", "");
    roster_jsonw_ktime(&w, "created", 1700000000123);
    roster_jsonw_ktime(&w, "never", 0);
    roster_jsonw_ktime(&w, "negative", -5);
    roster_jsonw_key(&w, "we\"ird\nkey");
    roster_jsonw_str(&w, "v");
    roster_jsonw_key(&w, "arr");
    roster_jsonw_arr_begin(&w);
    roster_jsonw_str(&w, NULL);
    roster_jsonw_raw(&w, "{\"a\":1}");
    roster_jsonw_raw(&w, NULL);
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
    CHECK_EQ_STR(b.data, "{\"name\":\"jdoe\",\"missing\":null,\"n\":7,\"t\":true,\"f\":false,"
                         "\"z\":null,\"raw\":[{\"type\":\"work\",\"number\":\"+1 555\"}],"
                         "\"rawnull\":null,\"rawempty\":null,"
                         "\"created\":\"2023-11-14T22:13:20.123Z\",\"never\":null,"
                         "\"negative\":null,\"we\\\"ird\\nkey\":\"v\",\"arr\":[null,{\"a\":1},"
                         "null]}");
    json_t *doc = json_loads(b.data, 0, NULL);
    CHECK(doc != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "name")), "jdoe");
    CHECK(json_is_null(json_object_get(doc, "missing")));
    CHECK(json_is_true(json_object_get(doc, "t")));
    CHECK(json_is_false(json_object_get(doc, "f")));
    CHECK_EQ_STR(json_string_value(
                     json_object_get(json_array_get(json_object_get(doc, "raw"), 0), "number")),
                 "+1 555");
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "created")), "2023-11-14T22:13:20.123Z");
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "we\"ird\nkey")), "v");
    json_decref(doc);
    roster_buf_release(&b);
}

/* n levels of arrays, each holding a number, an empty object and the next level */
static void nest(struct roster_jsonw *w, int n)
{
    roster_jsonw_arr_begin(w);
    roster_jsonw_int(w, n);
    roster_jsonw_obj_begin(w);
    roster_jsonw_obj_end(w);
    if (n > 0) {
        nest(w, n - 1);
        roster_jsonw_obj_begin(w);
        roster_jsonw_kint(w, "a", n);
        roster_jsonw_key(w, "b");
        roster_jsonw_arr_begin(w);
        roster_jsonw_arr_end(w);
        roster_jsonw_kint(w, "c", n);
        roster_jsonw_obj_end(w);
    }
    roster_jsonw_arr_end(w);
}

static void test_nesting(void)
{
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    nest(&w, 2);
    CHECK_EQ_STR(b.data,
                 "[2,{},[1,{},[0,{}],{\"a\":1,\"b\":[],\"c\":1}],{\"a\":2,\"b\":[],\"c\":2}]");
    CHECK_EQ_INT(w.depth, 0);

    roster_buf_reset(&b);
    roster_jsonw_init(&w, &b);
    nest(&w, 60);
    CHECK_EQ_INT(w.depth, 0);
    json_error_t e;
    json_t *doc = json_loads(b.data, 0, &e);
    CHECK(doc != NULL);
    /* walk down: each level is [n, {}, next, {"a":n,"b":[],"c":n}] */
    json_t *lvl = doc;
    int levels = 0;
    for (int n = 60; lvl && n >= 0; n--) {
        if (json_integer_value(json_array_get(lvl, 0)) != n)
            break;
        if (n > 0 && json_integer_value(json_object_get(json_array_get(lvl, 3), "c")) != n)
            break;
        levels++;
        lvl = json_array_get(lvl, 2);
    }
    CHECK_EQ_INT(levels, 61);
    json_decref(doc);

    /* an array of 100 user-like objects: the shape of a list response */
    roster_buf_reset(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "totalCount", 100);
    roster_jsonw_key(&w, "results");
    roster_jsonw_arr_begin(&w);
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof(name), "user%d", i);
        roster_jsonw_obj_begin(&w);
        roster_jsonw_kstr(&w, "username", name);
        roster_jsonw_kraw(&w, "attributes", i % 2 ? "[]" : NULL);
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
    doc = json_loads(b.data, 0, &e);
    CHECK(doc != NULL);
    json_t *res = json_object_get(doc, "results");
    CHECK_EQ_INT(json_array_size(res), 100);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(res, 99), "username")), "user99");
    json_decref(doc);
    roster_buf_release(&b);
}

/* Literal keys: copied as they are, with commas where needed, in objects at any depth. */
static void test_key_lit(void)
{
    struct roster_buf b;
    roster_buf_init(&b);
    struct roster_jsonw w;
    roster_jsonw_init(&w, &b);
    roster_jsonw_arr_begin(&w);
    for (int i = 0; i < 2; i++) {
        roster_jsonw_obj_begin(&w);
        ROSTER_JSONW_KEY_LIT(&w, "ID");
        roster_jsonw_str(&w, "x\"y");
        ROSTER_JSONW_KEY_LIT(&w, "Active");
        roster_jsonw_bool(&w, true);
        roster_jsonw_key_lit(&w, "Emails and more", 6);
        roster_jsonw_arr_begin(&w);
        roster_jsonw_str(&w, "a@b");
        roster_jsonw_arr_end(&w);
        roster_jsonw_key(&w, "k");
        roster_jsonw_null(&w);
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
    const char *one = "{\"ID\":\"x\\\"y\",\"Active\":true,\"Emails\":[\"a@b\"],\"k\":null}";
    char want[256];
    snprintf(want, sizeof(want), "[%s,%s]", one, one);
    CHECK_EQ_STR(b.data, want);
    CHECK_EQ_INT(b.len, strlen(want));
    roster_buf_release(&b);
}

int main(void)
{
    test_control_chars();
    test_positions();
    test_utf8_valid();
    test_utf8_invalid();
    test_utf8_random();
    test_numbers();
    test_values_and_keys();
    test_nesting();
    test_key_lit();
    return test_finish();
}
