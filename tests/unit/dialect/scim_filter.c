/* Unit tests for the SCIM filter parser (src/dialect/scim/filter.c): the trees of the RFC
 * 7644 examples and of what Okta and Entra send (as their JSON dump), precedence, case of
 * operators and keywords, values (strings with JSON escapes, numbers, literals), value
 * paths with and without a sub-attribute, and errors naming the position and what was
 * expected, the bounds on length, depth and nodes.
 */
#include <stdlib.h>
#include <string.h>

#include "dialect/scim/filter.h"
#include "roster/list.h"
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

/* --- translation into core queries --- */

static struct roster_query tq;

static int users(const char *filter)
{
    roster_query_init(&tq);
    struct roster_err err = {0};
    int rc = scim_users_filter(&tq, filter, &arena, &err);
    if (rc)
        fprintf(stderr, "    (%s: %s)\n", filter, err.msg);
    return rc;
}

static void users_err(const char *filter, const char *part)
{
    roster_query_init(&tq);
    struct roster_err err = {0};
    int rc = scim_users_filter(&tq, filter, &arena, &err);
    bool ok = rc == ROSTER_EINVAL && strstr(err.msg, part);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "    filter %s: rc %d \"%s\", want an error with %s\n", filter, rc, err.msg,
                part);
}

/* Users to match: a (all fields), b (few fields, suspended), c (staged). */
static struct roster_user ua, ub, uc;

static void make_users(void)
{
    memset(&ua, 0, sizeof(ua));
    strcpy(ua.id, "aaaaaaaaaaaaaaaaaaaaaaaa");
    ua.f[RU_USERNAME] = "Bob.Smith";
    ua.f[RU_EMAIL] = "bob@Example.com";
    ua.f[RU_ALTERNATE_EMAIL] = "bobby@home.test";
    ua.f[RU_FIRST_NAME] = "Bob";
    ua.f[RU_LAST_NAME] = "Smith";
    ua.f[RU_JOB_TITLE] = "Engineer";
    ua.f[RU_DEPARTMENT] = "R&D";
    ua.f[RU_EMPLOYEE_ID] = "E100";
    ua.f[RU_MANAGER] = "bbbbbbbbbbbbbbbbbbbbbbbb";
    ua.f[RU_EXTERNAL_ID] = "Ext-1";
    ua.f[RU_USER_TYPE] = "Employee";
    ua.f[RU_LOCALE] = "en-US";
    ua.state = ROSTER_ACTIVATED;
    ua.created_ms = 1600000000000;
    ua.modified_ms = 1700000000000;
    memset(&ub, 0, sizeof(ub));
    strcpy(ub.id, "bbbbbbbbbbbbbbbbbbbbbbbb");
    ub.f[RU_USERNAME] = "alice";
    ub.f[RU_EMAIL] = "alice@example.org";
    ub.state = ROSTER_SUSPENDED;
    ub.created_ms = 1500000000000;
    ub.modified_ms = 1500000000000;
    memset(&uc, 0, sizeof(uc));
    strcpy(uc.id, "cccccccccccccccccccccccc");
    uc.f[RU_USERNAME] = "carol";
    uc.f[RU_JOB_TITLE] = "";
    uc.state = ROSTER_STAGED;
}

/* Which of a, b, c the filter matches, as "abc" with '-' for a miss. */
static const char *who(const char *filter)
{
    if (users(filter))
        return "ERR";
    char *s = roster_arena_strdup(&arena, "---");
    const struct roster_user *u[3] = {&ua, &ub, &uc};
    for (int i = 0; i < 3; i++)
        if (roster_list_match(&tq, u[i], NULL, 0))
            s[i] = (char)('a' + i);
    return s;
}

static void test_users_shape(void)
{
    /* the top-level conjunction's comparisons are plain filters: indexes serve them */
    CHECK_EQ_INT(users("userName eq \"Bob.Smith\""), 0);
    CHECK_EQ_INT(tq.nfilters, 1);
    CHECK(tq.expr == NULL);
    CHECK_EQ_INT(tq.filters[0].key, RU_USERNAME);
    CHECK_EQ_INT(tq.filters[0].op, ROSTER_OP_EQ);
    CHECK(tq.filters[0].ci);
    CHECK_EQ_INT(users("urn:ietf:params:scim:schemas:core:2.0:User:USERNAME sw \"b\" and "
                       "meta.created ge \"2020-01-01T00:00:00Z\""),
                 0);
    CHECK_EQ_INT(tq.nfilters, 2);
    CHECK_EQ_INT(tq.filters[0].op, ROSTER_OP_PREFIX);
    CHECK_EQ_INT(tq.filters[1].key, RQ_CREATED);
    CHECK_EQ_INT(tq.filters[1].vals[0].i, 1577836800000);
    CHECK(tq.expr == NULL);
    CHECK_EQ_INT(users("id eq \"aaaaaaaaaaaaaaaaaaaaaaaa\" and (title pr or department pr)"), 0);
    CHECK_EQ_INT(tq.nfilters, 1);
    CHECK(!tq.filters[0].ci);
    CHECK(tq.expr && tq.expr->kind == ROSTER_QN_OR);
    CHECK_EQ_INT(users("title pr or department pr"), 0);
    CHECK_EQ_INT(tq.nfilters, 0);
    CHECK(tq.expr && tq.expr->kind == ROSTER_QN_OR);
    CHECK_EQ_INT(users("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber "
                       "eq \"e100\""),
                 0);
    CHECK_EQ_INT(tq.filters[0].key, RU_EMPLOYEE_ID);
    /* Entra's look-up by the work e-mail: the e-mail's conditions alone, as plain filters */
    CHECK_EQ_INT(users("emails[type eq \"work\"].value eq \"A@b.c\""), 0);
    CHECK(tq.expr == NULL);
    CHECK_EQ_INT(tq.nfilters, 2);
    CHECK_EQ_INT(tq.filters[0].key, RU_EMAIL);
    CHECK_EQ_INT(tq.filters[0].op, ROSTER_OP_PRESENT);
    CHECK_EQ_INT(tq.filters[1].key, RU_EMAIL);
    CHECK_EQ_INT(tq.filters[1].op, ROSTER_OP_EQ);
    CHECK(tq.filters[1].ci);
    /* constants fold: a type no entry has selects nothing, not (false) is true */
    CHECK_EQ_INT(users("emails[type eq \"home\"]"), 0);
    CHECK(tq.expr && tq.expr->kind == ROSTER_QN_FALSE);
    CHECK_EQ_INT(users("not (emails[type eq \"home\"]) and active pr"), 0);
    CHECK(tq.expr == NULL && tq.nfilters == 0);
    CHECK_EQ_INT(users("(title pr or (department pr or title eq \"x\")) and (userName pr and "
                       "(displayName pr and title pr))"),
                 0);
    CHECK_EQ_INT(tq.nfilters, 3); /* the nested and flattened into the top level */
    CHECK(tq.expr && tq.expr->kind == ROSTER_QN_OR && tq.expr->nkids == 3);
    /* externalId is caseExact: an exact comparison its index serves */
    CHECK_EQ_INT(users("externalId eq \"Ab-1\""), 0);
    CHECK_EQ_INT(tq.nfilters, 1);
    CHECK_EQ_INT(tq.filters[0].key, RU_EXTERNAL_ID);
    CHECK_EQ_INT(tq.filters[0].op, ROSTER_OP_EQ);
    CHECK(!tq.filters[0].ci);
}

static void test_users_match(void)
{
    make_users();
    CHECK_EQ_STR(who("userName eq \"bob.smith\""), "a--");
    CHECK_EQ_STR(who("USERNAME Eq \"ALICE\""), "-b-");
    CHECK_EQ_STR(who("userName ne \"alice\""), "a-c");
    CHECK_EQ_STR(who("userName sw \"B\""), "a--");
    CHECK_EQ_STR(who("userName ew \"SMITH\""), "a--");
    CHECK_EQ_STR(who("userName co \"ARO\""), "--c");
    CHECK_EQ_STR(who("userName gt \"b\""), "a-c");
    CHECK_EQ_STR(who("userName le \"Bob.Smith\""), "ab-");
    CHECK_EQ_STR(who("id eq \"bbbbbbbbbbbbbbbbbbbbbbbb\""), "-b-");
    CHECK_EQ_STR(who("id eq \"BBBBBBBBBBBBBBBBBBBBBBBB\""), "---"); /* caseExact */
    CHECK_EQ_STR(who("title pr"), "a--");                           /* "" is not a value */
    CHECK_EQ_STR(who("title eq null"), "-bc");
    CHECK_EQ_STR(who("title ne null"), "a--");
    CHECK_EQ_STR(who("not (title eq \"engineer\")"), "-bc");
    CHECK_EQ_STR(who("title ne \"engineer\""), "-bc");
    CHECK_EQ_STR(who("not (title pr) and not (userName eq \"carol\")"), "-b-");
    CHECK_EQ_STR(who("name.familyName eq \"smith\" or userName sw \"c\""), "a-c");
    CHECK_EQ_STR(who("active eq true"), "a--");
    CHECK_EQ_STR(who("active eq false"), "-bc");
    CHECK_EQ_STR(who("active ne true"), "-bc");
    CHECK_EQ_STR(who("active eq \"False\""), "-bc");
    CHECK_EQ_STR(who("active pr"), "abc");
    CHECK_EQ_STR(who("meta.created lt \"2019-01-01T00:00:00Z\""), "-bc");
    CHECK_EQ_STR(who("meta.lastModified ge \"2023-11-14T22:13:20Z\""), "a--");
    CHECK_EQ_STR(who("emails pr"), "ab-");
    CHECK_EQ_STR(who("emails co \"example\""), "ab-");
    CHECK_EQ_STR(who("emails.value ew \"@HOME.test\""), "a--");
    CHECK_EQ_STR(who("emails[type eq \"work\" and value co \"example.com\"]"), "a--");
    CHECK_EQ_STR(who("emails[type eq \"other\" and value co \"example.com\"]"), "---");
    CHECK_EQ_STR(who("emails[type eq \"work\"].value eq \"alice@example.org\""), "-b-");
    CHECK_EQ_STR(who("emails[type eq \"other\"].value eq \"BOBBY@home.test\""), "a--");
    CHECK_EQ_STR(who("emails[primary eq true]"), "ab-");
    CHECK_EQ_STR(who("emails[not (type eq \"work\")]"), "a--");
    CHECK_EQ_STR(who("emails.type eq \"other\""), "a--");
    CHECK_EQ_STR(who("emails[type eq \"home\"]"), "---");
    CHECK_EQ_STR(who("not (emails[type eq \"home\"])"), "abc");
    CHECK_EQ_STR(who("not (not (emails[type eq \"other\"]))"), "a--");
    CHECK_EQ_STR(who("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department "
                     "eq \"r&d\""),
                 "a--");
    CHECK_EQ_STR(who("manager.value eq \"bbbbbbbbbbbbbbbbbbbbbbbb\""), "a--");
    CHECK_EQ_STR(who("employeeNumber sw \"e1\""), "a--");
    CHECK_EQ_STR(who("externalId eq \"Ext-1\""), "a--");
    CHECK_EQ_STR(who("externalId eq \"ext-1\""), "---"); /* caseExact */
    CHECK_EQ_STR(who("userType eq \"employee\" and locale sw \"EN\""), "a--");
    CHECK_EQ_STR(who("externalId pr"), "a--");
    CHECK_EQ_STR(who("(userName eq \"alice\" or userName eq \"carol\") and not (active eq true "
                     "or title pr)"),
                 "-bc");
}

static void test_users_errors(void)
{
    users_err("foo eq \"x\"", "unknown attribute \"foo\"");
    users_err("urn:example:User:userName eq \"x\"", "unknown attribute");
    users_err("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq \"x\"",
              "unknown attribute");
    users_err("phoneNumbers co \"555\"", "cannot filter on \"phoneNumbers\"");
    users_err("userName eq 5", "compare it with a string");
    users_err("userName gt null", "only eq and ne");
    users_err("active gt true", "only eq, ne and pr");
    users_err("active eq \"yes\"", "true or false");
    users_err("meta.created gt \"yesterday\"", "RFC 3339");
    users_err("meta.created co \"2020\"", "only eq ne gt ge lt le pr");
    users_err("emails[display eq \"x\"]", "no sub-attribute \"display\"");
    users_err("addresses[type eq \"work\"]", "cannot filter on \"addresses\"");
    users_err("name[givenName eq \"x\"]", "not a multi-valued attribute");
    users_err("emails[value.x eq \"x\"]", "sub-attribute of emails");
    users_err("userName eq", "character 12");
}

static void test_groups(void)
{
    struct scim_group_filter g;
    struct roster_err err = {0};
    CHECK_EQ_INT(scim_groups_filter(&g, "displayName eq \"Sales\"", &arena, &err), 0);
    CHECK_EQ_STR(g.name, "Sales");
    CHECK(!g.id && !g.name_substr && !g.none);
    CHECK_EQ_INT(scim_groups_filter(&g, "id eq \"12\" and DISPLAYNAME co \"al\"", &arena, &err), 0);
    CHECK_EQ_STR(g.id, "12");
    CHECK_EQ_STR(g.name_substr, "al");
    CHECK_EQ_INT(scim_groups_filter(&g, "id eq \"1\" and id eq \"2\"", &arena, &err), 0);
    CHECK(g.none);
    CHECK_EQ_INT(scim_groups_filter(&g, "displayName sw \"x\"", &arena, &err), ROSTER_EINVAL);
    CHECK(strstr(err.msg, "unsupported operator on displayName"));
    CHECK_EQ_INT(scim_groups_filter(&g, "displayName eq \"x\" or id eq \"1\"", &arena, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_INT(scim_groups_filter(&g, "members[value eq \"x\"]", &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_INT(scim_groups_filter(&g, "externalId eq \"x\"", &arena, &err), ROSTER_EINVAL);
    CHECK(strstr(err.msg, "unsupported attribute"));
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
    test_users_shape();
    test_users_match();
    test_users_errors();
    test_groups();
    roster_arena_release(&arena);
    return test_finish();
}
