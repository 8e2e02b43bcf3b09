/* Unit tests for the checks of message templates (src/core/templates.c): the content shapes
 * a template may have, each refusal naming the member, and the built-in activation template
 * (only for activation e-mails).
 */
#include "roster/arena.h"
#include "roster/template.h"
#include "test.h"

#include <string.h>

static struct roster_arena A;

/* roster_template_check of s: its code, and the message in *msg */
static int check(const char *s, const char **msg)
{
    static struct roster_err err;
    roster_err_clear(&err);
    int rc = roster_template_check(s, strlen(s), &A, &err);
    *msg = err.msg;
    return rc;
}

static void test_good(void)
{
    const char *msg;
    CHECK_EQ_INT(check("{\"title\":\"T {{x}}\",\"body\":\"B\"}", &msg), 0);
    CHECK_EQ_INT(check(" { \"title\" : \"\" , \"body\" : \"\" , \"extra\": [1] } ", &msg), 0);
    CHECK_EQ_INT(check("{\"version\":\"2022-01-01\",\"elements\":[]}", &msg), 0);
    CHECK_EQ_INT(check("{\"elements\":[{\"type\":\"meta\",\"title\":\"t\"},{\"type\":\"text\","
                       "\"content\":\"c\"},{\"type\":\"action\"}]}",
                       &msg),
                 0);
}

static void test_bad(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"", "content: invalid JSON"},
        {"{\"title\":\"t\",\"body\":\"b\"", "content: invalid JSON"},
        {"[]", "content must be an object"},
        {"\"x\"", "content must be an object"},
        {"{}", "content.title is missing"},
        {"{\"title\":\"t\"}", "content.body is missing"},
        {"{\"title\":1,\"body\":\"b\"}", "content.title must be a string"},
        {"{\"title\":\"t\",\"body\":null}", "content.body must be a string"},
        {"{\"elements\":{}}", "content.elements must be an array"},
        {"{\"elements\":[1]}", "content.elements[0] must be an object"},
        {"{\"elements\":[{\"type\":\"text\"},{}]}", "content.elements[1].type must be a string"},
        {"{\"elements\":[{\"type\":7}]}", "content.elements[0].type must be a string"},
        {"{\"version\":2,\"elements\":[]}", "content.version must be a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *msg;
        int rc = check(cases[i].json, &msg);
        CHECK_EQ_INT(rc, ROSTER_EINVAL);
        if (!strstr(msg, cases[i].want))
            fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, msg, cases[i].want);
        CHECK(strstr(msg, cases[i].want) != NULL);
    }
}

static void test_builtin(void)
{
    const char *b = roster_template_builtin("activation", "activation_email");
    CHECK(b != NULL);
    const char *msg;
    CHECK_EQ_INT(b ? check(b, &msg) : -1, 0); /* the built-in one passes its own check */
    CHECK(b && strstr(b, "{{username}}") && strstr(b, "{{name}}"));
    CHECK(roster_template_builtin("activation", "bulk_message") == NULL);
    CHECK(roster_template_builtin("welcome", "activation_email") == NULL);
    CHECK(roster_template_builtin(NULL, "activation_email") == NULL);
}

int main(void)
{
    roster_arena_init(&A, 0);
    test_good();
    test_bad();
    test_builtin();
    roster_arena_release(&A);
    return test_finish();
}
