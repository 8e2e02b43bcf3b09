/* Unit tests for the SCIM filter parser (src/dialect/scim/filter.c): the trees of the RFC
 * 7644 examples and of what Okta and Entra send (as their JSON dump), precedence, case of
 * operators and keywords, values (strings with JSON escapes, numbers, literals), value
 * paths with and without a sub-attribute, and errors naming the position and what was
 * expected, the bounds on length, depth and nodes.
 */
#include <stdlib.h>
#include <string.h>

#include "dialect/scim/filter.h"
#include "test.h"

static struct roster_arena arena;

/* The dump of filter, or "ERR:<message>". */
static const char *dump(const char *filter)
{
    struct scim_fnode *n = NULL;
    struct roster_err err = {0};
    if (scim_filter_parse(filter, &arena, &n, &err)) {
        CHECK_EQ_INT(err.code, ROSTER_EINVAL);
        return roster_arena_printf(&arena, "ERR:%s", err.msg);
    }
    struct roster_buf b;
    roster_buf_init(&b);
    scim_filter_dump(n, &b);
    char *s = roster_arena_strndup(&arena, b.data, b.len);
    roster_buf_release(&b);
    return s;
}

#define T(filter, want) CHECK_EQ_STR(dump(filter), want)

static void err_has(const char *filter, const char *part)
{
    const char *d = dump(filter);
    bool ok = strncmp(d, "ERR:", 4) == 0 && strstr(d, part);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "    filter %s: got %s, want an error with %s\n", filter, d, part);
}

static void test_rfc_examples(void)
{
    T("userName eq \"bjensen\"",
      "{\"op\":\"eq\",\"attrPath\":\"userName\",\"compValue\":\"bjensen\"}");
    T("name.familyName co \"O'Malley\"",
      "{\"op\":\"co\",\"attrPath\":\"name.familyName\",\"compValue\":\"O'Malley\"}");
    T("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
      "{\"op\":\"sw\",\"attrPath\":\"urn:ietf:params:scim:schemas:core:2.0:User:userName\","
      "\"compValue\":\"J\"}");
    T("title pr", "{\"op\":\"pr\",\"attrPath\":\"title\"}");
    T("title pr and userType eq \"Employee\"",
      "{\"op\":\"and\",\"filters\":[{\"op\":\"pr\",\"attrPath\":\"title\"},{\"op\":\"eq\","
      "\"attrPath\":\"userType\",\"compValue\":\"Employee\"}]}");
    T("userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co "
      "\"example.org\")",
      "{\"op\":\"and\",\"filters\":[{\"op\":\"ne\",\"attrPath\":\"userType\",\"compValue\":"
      "\"Employee\"},{\"op\":\"not\",\"filter\":{\"op\":\"or\",\"filters\":[{\"op\":\"co\","
      "\"attrPath\":\"emails\",\"compValue\":\"example.com\"},{\"op\":\"co\",\"attrPath\":"
      "\"emails.value\",\"compValue\":\"example.org\"}]}}]}");
    T("emails[type eq \"work\" and value co \"@example.com\"]",
      "{\"op\":\"[]\",\"attrPath\":\"emails\",\"valFilter\":{\"op\":\"and\",\"filters\":[{\"op\":"
      "\"eq\",\"attrPath\":\"type\",\"compValue\":\"work\"},{\"op\":\"co\",\"attrPath\":\"value\","
      "\"compValue\":\"@example.com\"}]}}");
    T("meta.lastModified gt \"2011-05-13T04:42:34Z\"",
      "{\"op\":\"gt\",\"attrPath\":\"meta.lastModified\",\"compValue\":\"2011-05-13T04:42:34Z\"}");
}

static void test_clients(void)
{
    /* Entra: a value path with a sub-attribute, as scim2-parse-filter turns it */
    T("emails[type eq \"work\"].value eq \"a@b.c\"",
      "{\"op\":\"and\",\"filters\":[{\"op\":\"[]\",\"attrPath\":\"emails\",\"valFilter\":{\"op\":"
      "\"eq\",\"attrPath\":\"type\",\"compValue\":\"work\"}},{\"op\":\"eq\",\"attrPath\":"
      "\"emails.value\",\"compValue\":\"a@b.c\"}]}");
    T("externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
      "{\"op\":\"eq\",\"attrPath\":\"externalId\",\"compValue\":"
      "\"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"}");
    T("members[value eq \"abc\"]",
      "{\"op\":\"[]\",\"attrPath\":\"members\",\"valFilter\":{\"op\":\"eq\",\"attrPath\":"
      "\"value\",\"compValue\":\"abc\"}}");
}

static void test_precedence_and_case(void)
{
    T("a pr or b pr and c pr",
      "{\"op\":\"or\",\"filters\":[{\"op\":\"pr\",\"attrPath\":\"a\"},{\"op\":\"and\",\"filters\":"
      "[{\"op\":\"pr\",\"attrPath\":\"b\"},{\"op\":\"pr\",\"attrPath\":\"c\"}]}]}");
    T("a pr AND b pr Or c pr",
      "{\"op\":\"or\",\"filters\":[{\"op\":\"and\",\"filters\":[{\"op\":\"pr\",\"attrPath\":\"a\"},"
      "{\"op\":\"pr\",\"attrPath\":\"b\"}]},{\"op\":\"pr\",\"attrPath\":\"c\"}]}");
    /* a chain is one node; parentheses keep their own */
    T("a pr or b pr or c pr",
      "{\"op\":\"or\",\"filters\":[{\"op\":\"pr\",\"attrPath\":\"a\"},{\"op\":\"pr\",\"attrPath\":"
      "\"b\"},{\"op\":\"pr\",\"attrPath\":\"c\"}]}");
    T("(a pr or b pr) or c pr",
      "{\"op\":\"or\",\"filters\":[{\"op\":\"or\",\"filters\":[{\"op\":\"pr\",\"attrPath\":\"a\"},"
      "{\"op\":\"pr\",\"attrPath\":\"b\"}]},{\"op\":\"pr\",\"attrPath\":\"c\"}]}");
    T("NOT(a PR)", "{\"op\":\"not\",\"filter\":{\"op\":\"pr\",\"attrPath\":\"a\"}}");
    T("  ((a Eq  \"x\"))  ", "{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":\"x\"}");
    T("a eq\"x\"and b pr",
      "{\"op\":\"and\",\"filters\":[{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":\"x\"},"
      "{\"op\":\"pr\",\"attrPath\":\"b\"}]}");
}

static void test_values(void)
{
    T("a eq true", "{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":true}");
    T("a eq False", "{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":false}");
    T("a ne null", "{\"op\":\"ne\",\"attrPath\":\"a\",\"compValue\":null}");
    T("a gt -1.5e3", "{\"op\":\"gt\",\"attrPath\":\"a\",\"compValue\":-1.5e3}");
    T("(a lt 0)", "{\"op\":\"lt\",\"attrPath\":\"a\",\"compValue\":0}");
    T("a eq \"q\\\"\\\\\\/\\t\\u00e9\\ud83d\\ude00\"",
      "{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":\"q\\\"\\\\/"
      "\\u0009\xc3\xa9\xf0\x9f\x98\x80\"}");
    T("a eq \"\xc3\xa9\"", "{\"op\":\"eq\",\"attrPath\":\"a\",\"compValue\":\"\xc3\xa9\"}");
    err_has("a eq 007", "character 6: expected a value");
    err_has("a eq 1.", "character 6");
    err_has("a eq 1x", "character 6");
    err_has("a eq bob", "expected a value");
    err_has("a eq \"x", "no closing quote");
    err_has("a eq \"\\q\"", "bad escape");
    err_has("a eq \"\\ud800\"", "bad escape");
    err_has("a eq \"\\u0000\"", "\\u0000");
    err_has("a eq \"\t\"", "control character");
    err_has("a eq \"\xff\"", "not UTF-8");
    err_has("a eq \"\xed\xa0\x80\"", "not UTF-8");
}

static void test_errors(void)
{
    err_has("", "empty");
    err_has("   ", "empty");
    err_has("a", "character 2: expected an operator");
    err_has("a eq", "found the end of the filter");
    err_has("a foo \"x\"", "character 3: expected an operator");
    err_has("a eq \"x\" b", "character 10: expected a logical operator");
    err_has("a eq \"x\" and", "character 13");
    err_has("(a pr", "expected \")\"");
    err_has("a pr)", "character 5");
    err_has("not a pr", "\"(\" after not");
    err_has("1a pr", "character 1: expected an attribute path");
    err_has("_a pr", "attribute path");
    err_has("a.b.c pr", "attribute path");
    err_has("a/b pr", "attribute path");
    err_has("emails[type pr", "expected \"]\"");
    err_has("emails[a[b pr]]", "value path inside a value path");
    err_has("emails.value[b pr]", "without a sub-attribute");
    err_has("emails[type pr].", "sub-attribute name");
    err_has("emails[type pr].value", "expected an operator");
    err_has("a pr !", "\"!\"");
    err_has("a eq \"x\" and-b pr", "\"and-b\"");
}

static void test_bounds(void)
{
    size_t n = 100000;
    char *deep = malloc(n + 1);
    memset(deep, '(', n);
    deep[n] = '\0';
    err_has(deep, "longer than");
    deep[1000] = '\0';
    err_has(deep, "nested more than 32");
    memset(deep, '[', 1000);
    memcpy(deep, "a", 1);
    err_has(deep, "character 3");
    /* not( nests too */
    struct roster_buf b;
    roster_buf_init(&b);
    for (int i = 0; i < 40; i++)
        roster_buf_addstr(&b, "not(");
    roster_buf_addstr(&b, "a pr");
    for (int i = 0; i < 40; i++)
        roster_buf_addch(&b, ')');
    err_has(b.data, "nested more than 32");
    /* 32 deep is fine */
    roster_buf_reset(&b);
    for (int i = 0; i < 31; i++)
        roster_buf_addstr(&b, "(a pr or ");
    roster_buf_addstr(&b, "a pr");
    for (int i = 0; i < 31; i++)
        roster_buf_addch(&b, ')');
    CHECK(strncmp(dump(b.data), "{\"op\":\"or\"", 10) == 0);
    /* too many expressions */
    roster_buf_reset(&b);
    for (int i = 0; i < 600; i++)
        roster_buf_printf(&b, "%sa pr", i ? " or " : "");
    err_has(b.data, "more than 512 expressions");
    roster_buf_release(&b);
    free(deep);
}

int main(void)
{
    roster_arena_init(&arena, 4096);
    test_rfc_examples();
    test_clients();
    test_precedence_and_case();
    test_values();
    test_errors();
    test_bounds();
    roster_arena_release(&arena);
    return test_finish();
}
