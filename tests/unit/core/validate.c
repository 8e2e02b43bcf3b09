/* Unit tests for the user validator and patch application (src/core/user.c): each rule
 * passes and fails, messages name the field by its label and quote the value, lengths
 * count UTF-8 characters, and JSON fields must have the documented shapes.
 */
#include "roster/user.h"
#include "test.h"

#include <stdlib.h>

static struct roster_user base(void)
{
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    u.f[RU_USERNAME] = "jdoe";
    u.f[RU_EMAIL] = "jdoe@example.com";
    u.state = ROSTER_ACTIVATED;
    return u;
}

static struct roster_err last;

/* Validates u in both modes (they must agree); returns the code and keeps the error. */
static int validate(const struct roster_user *u)
{
    struct roster_err e2;
    roster_err_clear(&last);
    roster_err_clear(&e2);
    int rc = roster_user_validate(u, ROSTER_VALIDATE_CREATE, &last);
    int rc2 = roster_user_validate(u, ROSTER_VALIDATE_UPDATE, &e2);
    CHECK_EQ_INT(rc, rc2);
    CHECK_EQ_STR(last.msg, e2.msg);
    return rc;
}

/* field f set to v must pass */
static void check_ok(int f, const char *v, int line)
{
    struct roster_user u = base();
    u.f[f] = v;
    int rc = validate(&u);
    test_record_(rc == 0, __FILE__, line, v ? v : "(null)");
    if (rc)
        fprintf(stderr, "    rejected: %s\n", last.msg);
}
#define CHECK_OK(f, v) check_ok(f, v, __LINE__)

/* field f set to v must fail with exactly msg and err.field == label of f */
static void check_bad(int f, const char *v, const char *msg, int line)
{
    struct roster_user u = base();
    u.f[f] = v;
    int rc = validate(&u);
    bool ok = rc == ROSTER_EINVAL && last.code == ROSTER_EINVAL && strcmp(last.msg, msg) == 0 &&
              last.field && strcmp(last.field, roster_ufields[f].label) == 0;
    test_record_(ok, __FILE__, line, msg);
    if (!ok)
        fprintf(stderr, "    rc %d, msg \"%s\", field %s\n", rc, last.msg,
                last.field ? last.field : "(null)");
}
#define CHECK_BAD(f, v, msg) check_bad(f, v, msg, __LINE__)

/* a malloc'd string of n copies of the UTF-8 character ch */
static char *repeat(const char *ch, size_t n)
{
    size_t l = strlen(ch);
    char *s = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, ch, l);
    s[l * n] = '\0';
    return s;
}

static void test_base(void)
{
    struct roster_user u = base();
    CHECK_EQ_INT(validate(&u), 0);
    u.state = ROSTER_STAGED;
    CHECK_EQ_INT(validate(&u), 0);
    u.state = ROSTER_SUSPENDED;
    CHECK_EQ_INT(validate(&u), 0);
    u.state = 3;
    CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
    CHECK_EQ_STR(last.msg, "state 3 is not one of STAGED, ACTIVATED or SUSPENDED");
    CHECK_EQ_STR(last.field, "state");
    u.state = -1;
    CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
    /* a NULL err is allowed */
    CHECK_EQ_INT(roster_user_validate(&u, ROSTER_VALIDATE_CREATE, NULL), ROSTER_EINVAL);
}

static void test_username(void)
{
    CHECK_BAD(RU_USERNAME, NULL, "username is required");
    CHECK_BAD(RU_USERNAME, "", "username is required");
    CHECK_OK(RU_USERNAME, "j.doe-1_x+y@corp");
    CHECK_OK(RU_USERNAME, "j\xc3\xb6rg");
    CHECK_BAD(RU_USERNAME, "j doe",
              "username \"j doe\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "jdoe\t",
              "username \"jdoe\\t\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "jd\x01oe",
              "username \"jd\\x01oe\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "jd\x7foe",
              "username \"jd\\x7foe\" must not contain whitespace or control characters");
    /* U+00A0 no-break space, U+2003 em space, U+3000 ideographic space, U+0085 NEL */
    CHECK_BAD(RU_USERNAME,
              "j\xc2\xa0"
              "doe",
              "username \"j\xc2\xa0"
              "doe\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME,
              "j\xe2\x80\x83"
              "doe",
              "username \"j\xe2\x80\x83"
              "doe\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "j\xe3\x80\x80",
              "username \"j\xe3\x80\x80\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "j\xc2\x85",
              "username \"j\xc2\x85\" must not contain whitespace or control characters");
    CHECK_BAD(RU_USERNAME, "j\xff", "username \"j\\xff\" is not valid UTF-8");
    CHECK_BAD(RU_USERNAME, "j\xed\xa0\x80", "username \"j\\xed\\xa0\\x80\" is not valid UTF-8");
}

/* the first 64 characters of a quoted over-long value (messages cut values there) */
#define A16 "aaaaaaaaaaaaaaaa"
#define A64 A16 A16 A16 A16
#define C16 "cccccccccccccccc"
#define C64 C16 C16 C16 C16
#define M16 "mmmmmmmmmmmmmmmm"
#define M64 M16 M16 M16 M16
#define E16 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E64 E16 E16 E16 E16 E16 E16 E16 E16

static void test_lengths(void)
{
    /* 1024 characters pass, 1025 fail; multi-byte characters count once */
    char *a1024 = repeat("a", 1024), *a1025 = repeat("a", 1025);
    char *e1024 = repeat("\xc3\xa9", 1024), *e1025 = repeat("\xc3\xa9", 1025);
    char *x1024 = repeat("\xf0\x9f\x98\x80", 1024);
    CHECK_OK(RU_LAST_NAME, a1024);
    CHECK_BAD(RU_LAST_NAME, a1025, "lastname \"" A64 "...\" is longer than 1024 characters");
    CHECK_OK(RU_LAST_NAME, e1024);
    CHECK_OK(RU_LAST_NAME, x1024);
    CHECK_BAD(RU_LAST_NAME, e1025, "lastname \"" E64 "...\" is longer than 1024 characters");
    CHECK_OK(RU_USERNAME, a1024);
    CHECK_BAD(RU_USERNAME, a1025, "username \"" A64 "...\" is longer than 1024 characters");
    CHECK_BAD(RU_FIRST_NAME, a1025, "firstname \"" A64 "...\" is longer than 1024 characters");
    CHECK_BAD(RU_JOB_TITLE, a1025, "jobTitle \"" A64 "...\" is longer than 1024 characters");
    CHECK_BAD(RU_DESCRIPTION, e1025, "description \"" E64 "...\" is longer than 1024 characters");

    char *a256 = repeat("a", 256), *a257 = repeat("a", 257);
    CHECK_OK(RU_EMPLOYEE_ID, a256);
    CHECK_BAD(RU_EMPLOYEE_ID, a257,
              "employeeIdentifier \"" A64 "...\" is longer than 256 characters");
    CHECK_OK(RU_COUNTRY_CODE, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK_BAD(RU_COUNTRY_CODE, "123456789",
              "countryCode \"123456789\" is longer than 8 characters");
    char *c65536 = repeat("c", 65536), *c65537 = repeat("c", 65537);
    CHECK_OK(RU_CUSTOM_DATA, c65536);
    CHECK_BAD(RU_CUSTOM_DATA, c65537, "customData \"" C64 "...\" is longer than 65536 characters");
    /* the SCIM fields */
    CHECK_OK(RU_EXTERNAL_ID, a1024);
    CHECK_BAD(RU_EXTERNAL_ID, a1025, "externalId \"" A64 "...\" is longer than 1024 characters");
    CHECK_OK(RU_USER_TYPE, a1024);
    CHECK_OK(RU_PREFERRED_LANGUAGE, a256);
    CHECK_BAD(RU_PREFERRED_LANGUAGE, a257,
              "preferredLanguage \"" A64 "...\" is longer than 256 characters");
    CHECK_OK(RU_LOCALE, "en-US");
    CHECK_BAD(RU_LOCALE, a257, "locale \"" A64 "...\" is longer than 256 characters");
    CHECK_OK(RU_TIMEZONE, "America/Los_Angeles");
    CHECK_BAD(RU_TIMEZONE, "\xff", "timezone \"\\xff\" is not valid UTF-8");
    /* email length: a long but well-formed address */
    char *longmail = repeat("m", 1030);
    memcpy(longmail + 1000, "@example.com", 12);
    CHECK_BAD(RU_EMAIL, longmail, "email \"" M64 "...\" is longer than 1024 characters");
    /* other string fields accept spaces and are optional */
    CHECK_OK(RU_DISPLAY_NAME, "Jane Q. Doe");
    CHECK_OK(RU_DISPLAY_NAME, NULL);
    CHECK_OK(RU_DISPLAY_NAME, "");
    CHECK_BAD(RU_COMPANY, "Ac\xc3me", "company \"Ac\\xc3me\" is not valid UTF-8");
    free(a1024), free(a1025), free(e1024), free(e1025), free(x1024), free(a256), free(a257);
    free(c65536), free(c65537), free(longmail);
}

static void test_quote_truncation(void)
{
    /* values longer than 64 characters are cut at 64 characters and end in "..." */
    char *u70 = repeat("u", 70);
    u70[3] = ' ';
    char want[256];
    snprintf(want, sizeof(want),
             "username \"uuu %.60s...\" must not contain whitespace or control characters",
             u70 + 4);
    CHECK_BAD(RU_USERNAME, u70, want);
    /* a multi-byte value is cut on a character boundary */
    char *e70 = repeat("\xc3\xa9", 70);
    e70[0] = '@';
    e70[1] = '@';
    /* e70 is "@@" then 69 times é; its first 64 characters are "@@" and 62 times é */
    char *e62 = repeat("\xc3\xa9", 62);
    snprintf(want, sizeof(want), "email \"@@%s...\" is not a valid email address", e62);
    CHECK_BAD(RU_EMAIL, e70, want);
    free(u70), free(e70), free(e62);
}

static void test_email(void)
{
    /* optional (a SCIM user needs only a userName), but never empty */
    CHECK_OK(RU_EMAIL, NULL);
    CHECK_BAD(RU_EMAIL, "", "email must not be empty");
    CHECK_OK(RU_EMAIL, "a@b.c");
    CHECK_OK(RU_EMAIL, "first.last+tag@mail.example.co.uk");
    CHECK_OK(RU_EMAIL, "j\xc3\xb6rg@b\xc3\xbc"
                       "cher.de");
    const char *bad[] = {
        "not-an-email",
        "@example.com",
        "jdoe@",
        "jdoe@example",
        "jdoe@@example.com",
        "jdoe@ex@ample.com",
        "jdoe@.example.com",
        "jdoe@example.com.",
        "jdoe@example..com",
        "j doe@example.com",
        "jdoe@example .com",
        "jdoe@exa\tmple.com",
        "jdoe@.",
        "jdoe@example.com\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct roster_user u = base();
        u.f[RU_EMAIL] = bad[i];
        CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
        CHECK(strstr(last.msg, "is not a valid email address") != NULL);
        CHECK(strncmp(last.msg, "email \"", 7) == 0);
        CHECK_EQ_STR(last.field, "email");
    }
    CHECK_BAD(RU_EMAIL, "not-an-email", "email \"not-an-email\" is not a valid email address");
    CHECK_BAD(RU_EMAIL, "a@b\n.c", "email \"a@b\\n.c\" is not a valid email address");

    CHECK_OK(RU_ALTERNATE_EMAIL, NULL);
    CHECK_OK(RU_ALTERNATE_EMAIL, "");
    CHECK_OK(RU_ALTERNATE_EMAIL, "alt@example.org");
    CHECK_BAD(RU_ALTERNATE_EMAIL, "alt@example",
              "alternateEmail \"alt@example\" is not a valid email address");
    CHECK_BAD(RU_ALTERNATE_EMAIL, "a b@example.org",
              "alternateEmail \"a b@example.org\" is not a valid email address");
}

static void test_json_fields(void)
{
    /* attributes */
    CHECK_OK(RU_ATTRIBUTES, "[]");
    CHECK_OK(RU_ATTRIBUTES, "");
    CHECK_OK(RU_ATTRIBUTES, "[{\"name\":\"team\",\"value\":\"blue\"},{\"name\":\"n\",\"value\":3},"
                            "{\"name\":\"b\",\"value\":true},{\"name\":\"f\",\"value\":1.5}]");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":", "attributes \"[{\"name\":\" is not valid JSON");
    CHECK_BAD(RU_ATTRIBUTES, "{\"name\":\"a\",\"value\":\"b\"}",
              "attributes must be an array of objects");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"a\",\"value\":\"b\"},\"x\"]",
              "attributes[1] must be an object");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"value\":\"b\"}]", "attributes[0].name is required");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":null,\"value\":\"b\"}]", "attributes[0].name is required");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":5,\"value\":\"b\"}]",
              "attributes[0].name must be a string");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"\",\"value\":\"b\"}]",
              "attributes[0].name must not be empty");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"a\"}]", "attributes[0].value is required");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"a\",\"value\":null}]",
              "attributes[0].value must be a string, number or boolean");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"a\",\"value\":[1]}]",
              "attributes[0].value must be a string, number or boolean");
    CHECK_BAD(RU_ATTRIBUTES, "[{\"name\":\"a\",\"value\":{}}]",
              "attributes[0].value must be a string, number or boolean");

    /* attribute values: 1024 characters (counted as characters, not bytes) */
    char *a1024 = repeat("a", 1024), *a1025 = repeat("a", 1025), *e1024 = repeat("\xc3\xa9", 1024);
    char doc[8192];
    snprintf(doc, sizeof(doc),
             "[{\"name\":\"a\",\"value\":\"x\"},{\"name\":\"b\",\"value\":\"x\"},"
             "{\"name\":\"c\",\"value\":\"%s\"}]",
             a1024);
    CHECK_OK(RU_ATTRIBUTES, doc);
    snprintf(doc, sizeof(doc), "[{\"name\":\"c\",\"value\":\"%s\"}]", e1024);
    CHECK_OK(RU_ATTRIBUTES, doc);
    snprintf(doc, sizeof(doc),
             "[{\"name\":\"a\",\"value\":\"x\"},{\"name\":\"b\",\"value\":\"x\"},"
             "{\"name\":\"c\",\"value\":\"%s\"}]",
             a1025);
    CHECK_BAD(RU_ATTRIBUTES, doc, "attributes[2].value is longer than 1024 characters");

    /* phone numbers */
    CHECK_OK(RU_PHONES, "[{\"type\":\"work\",\"number\":\"+1 555 0100\"},{\"number\":\"12\"},"
                        "{\"type\":null,\"number\":\"3\"}]");
    CHECK_BAD(RU_PHONES, "[{\"type\":\"work\"}]", "phoneNumbers[0].number is required");
    CHECK_BAD(RU_PHONES, "[{\"number\":5551234}]", "phoneNumbers[0].number must be a string");
    CHECK_BAD(RU_PHONES, "[{\"number\":\"1\"},{\"number\":\"2\",\"type\":7}]",
              "phoneNumbers[1].type must be a string");
    snprintf(doc, sizeof(doc), "[{\"number\":\"%s\"}]", a1024);
    CHECK_OK(RU_PHONES, doc);
    snprintf(doc, sizeof(doc), "[{\"number\":\"%s\"}]", a1025);
    CHECK_BAD(RU_PHONES, doc, "phoneNumbers[0].number is longer than 1024 characters");
    CHECK_BAD(RU_PHONES, "[[]]", "phoneNumbers[0] must be an object");
    CHECK_BAD(RU_PHONES, "\"555\"", "phoneNumbers must be an array of objects");

    /* addresses: any objects */
    CHECK_OK(RU_ADDRESSES, "[{\"type\":\"work\",\"streetAddress\":\"1 Main St\",\"locality\":"
                           "\"Springfield\"},{}]");
    CHECK_BAD(RU_ADDRESSES, "[1]", "addresses[0] must be an object");
    CHECK_BAD(RU_ADDRESSES, "null", "addresses must be an array of objects");
    CHECK_BAD(RU_ADDRESSES, "[{}] x", "addresses \"[{}] x\" is not valid JSON");

    /* extra: an object */
    CHECK_OK(RU_EXTRA, "{}");
    CHECK_OK(RU_EXTRA, "{\"sudo\":true,\"mfa\":{\"configured\":false}}");
    CHECK_BAD(RU_EXTRA, "[]", "extra must be a JSON object");
    CHECK_BAD(RU_EXTRA, "42", "extra must be a JSON object");
    CHECK_BAD(RU_EXTRA, "{", "extra \"{\" is not valid JSON");
    free(a1024), free(a1025), free(e1024);
}

/* the first failing field in table order is reported */
static void test_order(void)
{
    struct roster_user u = base();
    u.f[RU_EMAIL] = "bad";
    u.f[RU_LAST_NAME] = "\xff";
    u.state = 9;
    CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
    CHECK_EQ_STR(last.field, "email");
    u.f[RU_EMAIL] = "ok@example.com";
    CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
    CHECK_EQ_STR(last.field, "lastname");
    u.f[RU_LAST_NAME] = "Doe";
    CHECK_EQ_INT(validate(&u), ROSTER_EINVAL);
    CHECK_EQ_STR(last.field, "state");
}

static void test_apply_patch(void)
{
    struct roster_user u = base();
    u.f[RU_FIRST_NAME] = "Jane";
    u.f[RU_LAST_NAME] = "Doe";
    u.f[RU_DEPARTMENT] = "Sales";
    u.state = ROSTER_STAGED;

    struct roster_user p;
    memset(&p, 0, sizeof(p));
    p.f[RU_FIRST_NAME] = "Janet";
    p.f[RU_DEPARTMENT] = NULL;     /* given as null: clears */
    p.f[RU_LAST_NAME] = "Ignored"; /* not marked as set */
    p.f[RU_EXTRA] = "{\"k\":1}";
    p.set = (1ull << RU_FIRST_NAME) | (1ull << RU_DEPARTMENT) | (1ull << RU_EXTRA);
    p.state = ROSTER_SUSPENDED; /* not marked as set */
    roster_user_apply_patch(&u, &p);
    CHECK_EQ_STR(u.f[RU_FIRST_NAME], "Janet");
    CHECK_EQ_STR(u.f[RU_DEPARTMENT], NULL);
    CHECK_EQ_STR(u.f[RU_LAST_NAME], "Doe");
    CHECK_EQ_STR(u.f[RU_EXTRA], "{\"k\":1}");
    CHECK_EQ_STR(u.f[RU_USERNAME], "jdoe");
    CHECK_EQ_INT(u.state, ROSTER_STAGED);

    p.set = ROSTER_USET_STATE;
    roster_user_apply_patch(&u, &p);
    CHECK_EQ_INT(u.state, ROSTER_SUSPENDED);
    CHECK_EQ_STR(u.f[RU_LAST_NAME], "Doe");

    /* clearing the optional e-mail leaves a valid user; clearing the username does not */
    memset(&p, 0, sizeof(p));
    p.set = 1ull << RU_EMAIL;
    roster_user_apply_patch(&u, &p);
    CHECK_EQ_STR(u.f[RU_EMAIL], NULL);
    CHECK_EQ_INT(roster_user_validate(&u, ROSTER_VALIDATE_UPDATE, &last), 0);
    p.set = 1ull << RU_USERNAME;
    roster_user_apply_patch(&u, &p);
    CHECK_EQ_INT(roster_user_validate(&u, ROSTER_VALIDATE_UPDATE, &last), ROSTER_EINVAL);
    CHECK_EQ_STR(last.msg, "username is required");
}

int main(void)
{
    test_base();
    test_username();
    test_lengths();
    test_quote_truncation();
    test_email();
    test_json_fields();
    test_order();
    test_apply_patch();
    return test_finish();
}
