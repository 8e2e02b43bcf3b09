/* Unit tests for the filter and sort parsers (src/core/query.c): every operator, values
 * containing ':', prefixes and misplaced wildcards, unknown fields and operators, integer
 * keys, value counts of in/between, and the limits on filters and sort fields.
 */
#include "roster/query.h"
#include "test.h"

static const struct roster_qname names[] = {
    {"username", RU_USERNAME},
    {"email", RU_EMAIL},
    {"state", RQ_STATE},
    {"created", RQ_CREATED},
    {"_id", RQ_ID},
    {"user_id", RQ_NUM_ID},
    {"modified", RQ_MODIFIED},
    {"lastname", RU_LAST_NAME},
    {"phoneNumbers", RU_PHONES},
    {NULL, 0},
};

static struct roster_arena arena;
static struct roster_err err;

/* Parses expr into a fresh query; returns the code, the filter in *f on success. */
static int parse1(const char *expr, struct roster_filter *f)
{
    struct roster_query q;
    roster_query_init(&q);
    roster_err_clear(&err);
    int rc = roster_filter_parse(&q, expr, names, &arena, &err);
    if (rc == 0) {
        CHECK_EQ_INT(q.nfilters, 1);
        *f = q.filters[0];
    } else {
        CHECK_EQ_INT(q.nfilters, 0);
        CHECK_EQ_INT(err.code, rc);
    }
    return rc;
}

static void check_fails(const char *expr, const char *msg, int line)
{
    struct roster_filter f;
    int rc = parse1(expr, &f);
    bool ok = rc == ROSTER_EINVAL && strcmp(err.msg, msg) == 0;
    test_record_(ok, __FILE__, line, msg);
    if (!ok)
        fprintf(stderr, "    rc %d, msg \"%s\"\n", rc, err.msg);
}
#define CHECK_FAILS(expr, msg) check_fails(expr, msg, __LINE__)

static void test_operators(void)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {{"eq", ROSTER_OP_EQ},         {"ne", ROSTER_OP_NE}, {"gt", ROSTER_OP_GT},
               {"ge", ROSTER_OP_GE},         {"lt", ROSTER_OP_LT}, {"le", ROSTER_OP_LE},
               {"search", ROSTER_OP_SEARCH}, {"in", ROSTER_OP_IN}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char expr[64];
        snprintf(expr, sizeof(expr), "username:%s:jdoe", ops[i].name);
        struct roster_filter f;
        CHECK_EQ_INT(parse1(expr, &f), 0);
        CHECK_EQ_INT(f.key, RU_USERNAME);
        CHECK_EQ_INT(f.op, ops[i].op);
        CHECK_EQ_INT(f.nvals, 1);
        CHECK_EQ_STR(f.vals[0].s, "jdoe");
    }
    struct roster_filter f;
    CHECK_EQ_INT(parse1("lastname:between:a|m", &f), 0);
    CHECK_EQ_INT(f.key, RU_LAST_NAME);
    CHECK_EQ_INT(f.op, ROSTER_OP_BETWEEN);
    CHECK_EQ_INT(f.nvals, 2);
    CHECK_EQ_STR(f.vals[0].s, "a");
    CHECK_EQ_STR(f.vals[1].s, "m");

    CHECK_EQ_INT(parse1("email:in:a@x.io|b@x.io|c@x.io", &f), 0);
    CHECK_EQ_INT(f.op, ROSTER_OP_IN);
    CHECK_EQ_INT(f.nvals, 3);
    CHECK_EQ_STR(f.vals[0].s, "a@x.io");
    CHECK_EQ_STR(f.vals[1].s, "b@x.io");
    CHECK_EQ_STR(f.vals[2].s, "c@x.io");

    /* '|' is only a separator for in and between */
    CHECK_EQ_INT(parse1("username:eq:a|b", &f), 0);
    CHECK_EQ_INT(f.nvals, 1);
    CHECK_EQ_STR(f.vals[0].s, "a|b");
    /* empty values are allowed for text keys */
    CHECK_EQ_INT(parse1("lastname:eq:", &f), 0);
    CHECK_EQ_INT(f.nvals, 1);
    CHECK_EQ_STR(f.vals[0].s, "");
    CHECK_EQ_INT(parse1("username:in:a||b", &f), 0);
    CHECK_EQ_INT(f.nvals, 3);
    CHECK_EQ_STR(f.vals[1].s, "");
    CHECK_EQ_INT(parse1("_id:eq:5f1e1b3c2a9d4c0001a1b2c3", &f), 0);
    CHECK_EQ_INT(f.key, RQ_ID);
    CHECK_EQ_STR(f.vals[0].s, "5f1e1b3c2a9d4c0001a1b2c3");
}

static void test_colons_in_value(void)
{
    struct roster_filter f;
    CHECK_EQ_INT(parse1("username:eq:a:b:c", &f), 0);
    CHECK_EQ_STR(f.vals[0].s, "a:b:c");
    CHECK_EQ_INT(parse1("created:gt:2020-01-01T02:00:00Z", &f), 0);
    CHECK_EQ_INT(f.key, RQ_CREATED);
    CHECK_EQ_INT(f.op, ROSTER_OP_GT);
    CHECK_EQ_INT(f.vals[0].i, 1577844000000);
    CHECK_EQ_STR(f.vals[0].s, "2020-01-01T02:00:00Z");
    CHECK_EQ_INT(parse1("modified:between:2020-01-01T00:00:00+02:00|2020-01-02", &f), 0);
    CHECK_EQ_INT(f.key, RQ_MODIFIED);
    CHECK_EQ_INT(f.nvals, 2);
    CHECK_EQ_INT(f.vals[0].i, 1577829600000);
    CHECK_EQ_INT(f.vals[1].i, 1577923200000);
    CHECK_EQ_STR(f.vals[1].s, "2020-01-02");
}

static void test_prefix_and_wildcards(void)
{
    struct roster_filter f;
    CHECK_EQ_INT(parse1("username:eq:jd*", &f), 0);
    CHECK_EQ_INT(f.op, ROSTER_OP_PREFIX);
    CHECK_EQ_INT(f.nvals, 1);
    CHECK_EQ_STR(f.vals[0].s, "jd");
    CHECK_EQ_INT(parse1("email:eq:*", &f), 0);
    CHECK_EQ_INT(f.op, ROSTER_OP_PREFIX);
    CHECK_EQ_STR(f.vals[0].s, "");
    CHECK_EQ_INT(parse1("username:eq:a:b*", &f), 0);
    CHECK_EQ_INT(f.op, ROSTER_OP_PREFIX);
    CHECK_EQ_STR(f.vals[0].s, "a:b");

    CHECK_FAILS("username:eq:*doe",
                "filter \"username:eq:*doe\": wildcards are only supported at the end of a value");
    CHECK_FAILS("username:eq:j*e",
                "filter \"username:eq:j*e\": wildcards are only supported at the end of a value");
    CHECK_FAILS("username:eq:j**",
                "filter \"username:eq:j**\": wildcards are only supported at the end of a value");
    CHECK_FAILS("username:in:a*|b",
                "filter \"username:in:a*|b\": wildcards are only supported at the end of a value");
    CHECK_FAILS("username:ne:jd*",
                "filter \"username:ne:jd*\": wildcards are only supported with eq on text fields");
    CHECK_FAILS("state:eq:ACT*",
                "filter \"state:eq:ACT*\": wildcards are only supported with eq on text fields");
}

static void test_int_keys(void)
{
    struct roster_filter f;
    CHECK_EQ_INT(parse1("state:eq:SUSPENDED", &f), 0);
    CHECK_EQ_INT(f.key, RQ_STATE);
    CHECK_EQ_INT(f.vals[0].i, ROSTER_SUSPENDED);
    CHECK_EQ_STR(f.vals[0].s, "SUSPENDED");
    CHECK_EQ_INT(parse1("state:in:STAGED|ACTIVATED", &f), 0);
    CHECK_EQ_INT(f.nvals, 2);
    CHECK_EQ_INT(f.vals[0].i, ROSTER_STAGED);
    CHECK_EQ_INT(f.vals[1].i, ROSTER_ACTIVATED);
    CHECK_EQ_INT(parse1("user_id:ge:-42", &f), 0);
    CHECK_EQ_INT(f.key, RQ_NUM_ID);
    CHECK_EQ_INT(f.vals[0].i, -42);
    CHECK_EQ_INT(parse1("user_id:between:1|9223372036854775807", &f), 0);
    CHECK_EQ_INT(f.vals[1].i, INT64_MAX);

    CHECK_FAILS("state:eq:active", "filter \"state:eq:active\": \"active\" is not a state (use "
                                   "STAGED, ACTIVATED or SUSPENDED)");
    CHECK_FAILS("state:in:STAGED|nope", "filter \"state:in:STAGED|nope\": \"nope\" is not a state "
                                        "(use STAGED, ACTIVATED or SUSPENDED)");
    CHECK_FAILS("state:eq:", "filter \"state:eq:\": \"\" is not a state (use STAGED, ACTIVATED "
                             "or SUSPENDED)");
    CHECK_FAILS("created:gt:2020-13-01", "filter \"created:gt:2020-13-01\": \"2020-13-01\" is not "
                                         "a date-time (use RFC 3339, e.g. 2020-01-01T02:00:00Z)");
    CHECK_FAILS("created:gt:", "filter \"created:gt:\": \"\" is not a date-time (use RFC 3339, "
                               "e.g. 2020-01-01T02:00:00Z)");
    CHECK_FAILS("user_id:eq:12x", "filter \"user_id:eq:12x\": \"12x\" is not an integer");
    CHECK_FAILS("user_id:eq:", "filter \"user_id:eq:\": \"\" is not an integer");
    CHECK_FAILS("user_id:eq:99999999999999999999",
                "filter \"user_id:eq:99999999999999999999\": \"99999999999999999999\" is not an "
                "integer");
    CHECK_FAILS("state:search:ACT",
                "filter \"state:search:ACT\": search is only supported on text fields");
    CHECK_FAILS("created:search:2020",
                "filter \"created:search:2020\": search is only supported on text fields");

    CHECK(roster_qkey_is_int(RQ_NUM_ID));
    CHECK(roster_qkey_is_int(RQ_STATE));
    CHECK(roster_qkey_is_int(RQ_CREATED));
    CHECK(roster_qkey_is_int(RQ_MODIFIED));
    CHECK(!roster_qkey_is_int(RQ_ID));
    CHECK(!roster_qkey_is_int(RU_USERNAME));
    CHECK(!roster_qkey_is_int(RU_EXTRA));
}

static void test_bad_shapes(void)
{
    CHECK_FAILS("foo:eq:x", "filter \"foo:eq:x\": unknown field \"foo\"");
    CHECK_FAILS("Username:eq:x", "filter \"Username:eq:x\": unknown field \"Username\"");
    CHECK_FAILS("user:eq:x", "filter \"user:eq:x\": unknown field \"user\"");
    CHECK_FAILS("phoneNumbers:eq:x",
                "filter \"phoneNumbers:eq:x\": unknown field \"phoneNumbers\"");
    CHECK_FAILS("username:like:x", "filter \"username:like:x\": unknown operator \"like\" (use eq, "
                                   "ne, gt, ge, lt, le, between, search or in)");
    CHECK_FAILS("username:EQ:x", "filter \"username:EQ:x\": unknown operator \"EQ\" (use eq, ne, "
                                 "gt, ge, lt, le, between, search or in)");
    CHECK_FAILS("x", "filter \"x\" must look like <field>:<operator>:<value>");
    CHECK_FAILS("", "filter \"\" must look like <field>:<operator>:<value>");
    CHECK_FAILS("username:eq", "filter \"username:eq\" must look like <field>:<operator>:<value>");
    CHECK_FAILS(":eq:x", "filter \":eq:x\" must look like <field>:<operator>:<value>");
    CHECK_FAILS("username::x", "filter \"username::x\" must look like <field>:<operator>:<value>");
    CHECK_FAILS(NULL, "filter \"\" must look like <field>:<operator>:<value>");

    CHECK_FAILS("lastname:between:a",
                "filter \"lastname:between:a\": between needs exactly two values separated by '|'");
    CHECK_FAILS("lastname:between:a|b|c", "filter \"lastname:between:a|b|c\": between needs "
                                          "exactly two values separated by '|'");
    CHECK_FAILS("lastname:between:", "filter \"lastname:between:\": between needs exactly two "
                                     "values separated by '|'");
    CHECK_FAILS("username:in:", "filter \"username:in:\": in needs at least one value (separate "
                                "values with '|')");
}

static void test_many_filters(void)
{
    struct roster_query q;
    roster_query_init(&q);
    CHECK_EQ_INT(q.nfilters, 0);
    CHECK_EQ_INT(q.nsorts, 0);
    CHECK_EQ_INT(q.skip, 0);
    CHECK(q.search == NULL);
    int rc = 0;
    for (int i = 0; i < ROSTER_QUERY_MAX_FILTERS && rc == 0; i++) {
        char expr[32];
        snprintf(expr, sizeof(expr), "username:ne:u%d", i);
        rc = roster_filter_parse(&q, expr, names, &arena, &err);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(q.nfilters, ROSTER_QUERY_MAX_FILTERS);
    CHECK_EQ_STR(q.filters[31].vals[0].s, "u31");
    CHECK_EQ_INT(roster_filter_parse(&q, "username:ne:one-more", names, &arena, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "filter \"username:ne:one-more\": too many filters (at most 32)");
    CHECK_EQ_INT(q.nfilters, ROSTER_QUERY_MAX_FILTERS);
    /* a failed parse leaves earlier filters alone */
    roster_query_init(&q);
    CHECK_EQ_INT(roster_filter_parse(&q, "state:eq:ACTIVATED", names, &arena, &err), 0);
    CHECK_EQ_INT(roster_filter_parse(&q, "state:eq:nope", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_INT(q.nfilters, 1);
    CHECK_EQ_INT(q.filters[0].vals[0].i, ROSTER_ACTIVATED);
}

static void test_sort(void)
{
    struct roster_query q;
    roster_query_init(&q);
    CHECK_EQ_INT(roster_sort_parse(&q, "-created username", names, &arena, &err), 0);
    CHECK_EQ_INT(q.nsorts, 2);
    CHECK_EQ_INT(q.sorts[0].key, RQ_CREATED);
    CHECK(q.sorts[0].desc);
    CHECK_EQ_INT(q.sorts[1].key, RU_USERNAME);
    CHECK(!q.sorts[1].desc);

    roster_query_init(&q);
    CHECK_EQ_INT(roster_sort_parse(&q, " ,email,,-lastname ,  state,", names, &arena, &err), 0);
    CHECK_EQ_INT(q.nsorts, 3);
    CHECK_EQ_INT(q.sorts[0].key, RU_EMAIL);
    CHECK(!q.sorts[0].desc);
    CHECK_EQ_INT(q.sorts[1].key, RU_LAST_NAME);
    CHECK(q.sorts[1].desc);
    CHECK_EQ_INT(q.sorts[2].key, RQ_STATE);

    roster_query_init(&q);
    CHECK_EQ_INT(roster_sort_parse(&q, "", names, &arena, &err), 0);
    CHECK_EQ_INT(roster_sort_parse(&q, NULL, names, &arena, &err), 0);
    CHECK_EQ_INT(roster_sort_parse(&q, " , ", names, &arena, &err), 0);
    CHECK_EQ_INT(q.nsorts, 0);

    CHECK_EQ_INT(roster_sort_parse(&q, "username -bogus", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sort field \"-bogus\" is not sortable");
    CHECK_EQ_INT(roster_sort_parse(&q, "x", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sort field \"x\" is not sortable");
    CHECK_EQ_INT(roster_sort_parse(&q, "-", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sort field \"-\" is not sortable");
    CHECK_EQ_INT(roster_sort_parse(&q, "phoneNumbers", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sort field \"phoneNumbers\" is not sortable");

    roster_query_init(&q);
    CHECK_EQ_INT(roster_sort_parse(&q, "a,b,c", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sort field \"a\" is not sortable");
    CHECK_EQ_INT(roster_sort_parse(&q, "username email state created _id user_id modified lastname",
                                   names, &arena, &err),
                 0);
    CHECK_EQ_INT(q.nsorts, ROSTER_QUERY_MAX_SORTS);
    CHECK_EQ_INT(q.sorts[7].key, RU_LAST_NAME);
    CHECK_EQ_INT(roster_sort_parse(&q, "username", names, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "too many sort fields (at most 8)");
}

int main(void)
{
    roster_arena_init(&arena, 4096);
    test_operators();
    test_colons_in_value();
    test_prefix_and_wildcards();
    test_int_keys();
    test_bad_shapes();
    test_many_filters();
    test_sort();
    roster_arena_release(&arena);
    return test_finish();
}
