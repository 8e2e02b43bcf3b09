/* Unit tests of the JumpCloud user codec (src/dialect/jumpcloud/user_json.c):
 * decoding of create/update/put bodies from their text (types, extra fields, password,
 * patches, ids, escapes, whitespace, duplicate keys) and encoding of systemuserreturn
 * (defaults, extra merge, fields projection), plus a round trip.
 */
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/jsonscan.h"
#include "test.h"

#include <jansson.h>

#include <stdlib.h>

static struct roster_arena arena;

/* Decodes text (a JSON text; the codec's precondition is that the scanner accepted it)
 * with mode; returns the code. */
static int decode(const char *text, int mode, struct roster_user *u, struct roster_err *err)
{
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(text, strlen(text), &arena, &spans, &n, &top, err) != 0) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, err->msg);
        return -1;
    }
    roster_err_clear(err);
    return jc_user_decode(text, strlen(text), mode, u, &arena, err);
}

/* Encodes u and parses the output back (duplicate keys rejected); caller
 * decrefs. text (may be NULL) receives the output text, allocated in the arena. */
static json_t *encode_text(const struct roster_user *u, const char *const *fields, size_t n,
                           const char **text)
{
    struct roster_buf buf;
    roster_buf_init(&buf);
    struct roster_jsonw w;
    roster_jsonw_init(&w, &buf);
    jc_user_encode(&w, u, fields, n);
    json_error_t jerr;
    json_t *obj = json_loadb(buf.data ? buf.data : "", buf.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        fprintf(stderr, "encoder wrote invalid JSON (%s): %.*s\n", jerr.text, (int)buf.len,
                buf.data ? buf.data : "");
    if (text)
        *text = roster_arena_strndup(&arena, buf.data ? buf.data : "", buf.len);
    roster_buf_release(&buf);
    return obj;
}

static json_t *encode(const struct roster_user *u, const char *const *fields, size_t n)
{
    return encode_text(u, fields, n, NULL);
}

static const char *sget(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void test_create_basic(void)
{
    struct roster_user u;
    struct roster_err err;
    int rc = decode("{\"username\":\"jdoe\",\"email\":\"j@x.test\",\"firstname\":\"J\","
                    "\"lastname\":\"Doe\",\"employeeIdentifier\":\"E1\",\"costCenter\":"
                    "\"C9\","
                    "\"attributes\":[{\"name\":\"EmployeeID\",\"value\":\"0000\"}],"
                    "\"phoneNumbers\":[{\"type\":\"work\",\"number\":\"+1 555\"}],"
                    "\"state\":\"ACTIVATED\"}",
                    JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "jdoe");
    CHECK_EQ_STR(u.f[RU_EMAIL], "j@x.test");
    CHECK_EQ_STR(u.f[RU_FIRST_NAME], "J");
    CHECK_EQ_STR(u.f[RU_LAST_NAME], "Doe");
    CHECK_EQ_STR(u.f[RU_EMPLOYEE_ID], "E1");
    CHECK_EQ_STR(u.f[RU_COST_CENTER], "C9");
    CHECK_EQ_STR(u.f[RU_ATTRIBUTES], "[{\"name\":\"EmployeeID\",\"value\":\"0000\"}]");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"+1 555\"}]");
    CHECK(u.f[RU_ADDRESSES] == NULL);
    CHECK(u.f[RU_EXTRA] == NULL);
    CHECK(u.f[RU_MIDDLE_NAME] == NULL);
    CHECK_EQ_INT(u.state, ROSTER_ACTIVATED);
    CHECK(u.set & ROSTER_USET_STATE);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_USERNAME));
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_ATTRIBUTES));
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_MIDDLE_NAME));
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_EXTRA));
    CHECK_EQ_STR(u.id, "");

    /* no state given: the bit stays clear so the core applies the org default */
    rc = decode("{\"username\":\"a\",\"email\":\"a@x.test\"}", JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK(!(u.set & ROSTER_USET_STATE));
}

static void test_extra_and_ignored(void)
{
    struct roster_user u;
    struct roster_err err;
    int rc = decode("{\"username\":\"a\",\"email\":\"a@x.test\",\"sudo\":true,\"unix_"
                    "uid\":5001,"
                    "\"mfa\":{\"configured\":true,\"exclusion\":false},\"external_"
                    "dn\":\"cn=a\","
                    "\"restrictedFields\":{\"field\":\"email\"},\"foo\":1,\"_id\":"
                    "\"0123456789abcdef01234567\",\"id\":\"0123456789abcdef01234567\","
                    "\"created\":\"2020-01-01T00:00:00Z\",\"organization\":\"o\","
                    "\"totp_enabled\":true,\"badLoginAttempts\":3}",
                    JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_EXTRA));
    json_t *x = json_loads(u.f[RU_EXTRA] ? u.f[RU_EXTRA] : "", 0, NULL);
    CHECK(json_is_object(x));
    CHECK(json_is_true(json_object_get(x, "sudo")));
    CHECK_EQ_INT(json_integer_value(json_object_get(x, "unix_uid")), 5001);
    CHECK(json_is_true(json_object_get(json_object_get(x, "mfa"), "configured")));
    CHECK_EQ_STR(sget(x, "external_dn"), "cn=a");
    CHECK(json_is_object(json_object_get(x, "restrictedFields")));
    /* unknown and read-only fields are not kept */
    CHECK(json_object_get(x, "foo") == NULL);
    CHECK(json_object_get(x, "_id") == NULL);
    CHECK(json_object_get(x, "created") == NULL);
    CHECK(json_object_get(x, "organization") == NULL);
    CHECK(json_object_get(x, "totp_enabled") == NULL);
    CHECK(json_object_get(x, "badLoginAttempts") == NULL);
    CHECK_EQ_INT(json_object_size(x), 5);
    json_decref(x);
    CHECK_EQ_STR(u.id, ""); /* "id" is only read in update mode */
    CHECK_EQ_INT(u.created_ms, 0);

    /* restrictedFields as the v1 array */
    rc = decode("{\"restrictedFields\":[{\"field\":\"email\",\"type\":\"scim\"}]}", JC_DECODE_PUT,
                &u, &err);
    CHECK_EQ_INT(rc, 0);
}

static void test_password_dropped(void)
{
    struct roster_user u;
    struct roster_err err;
    int rc = decode("{\"username\":\"a\",\"email\":\"a@x.test\",\"password\":\"s3cret-pw\"}",
                    JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    int leaked = 0;
    for (int i = 0; i < RU_NFIELDS; i++)
        if (u.f[i] && strstr(u.f[i], "s3cret-pw"))
            leaked++;
    CHECK_EQ_INT(leaked, 0);
    CHECK(u.f[RU_EXTRA] == NULL);
    rc = decode("{\"password\":42}", JC_DECODE_PUT, &u, &err);
    CHECK_EQ_INT(rc, ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "password must be a string, got 42");
}

static void test_type_errors(void)
{
    struct roster_user u;
    struct roster_err err;
    static const struct {
        const char *body, *msg, *field;
    } cases[] = {
        {"{\"email\":5}", "email must be a string, got 5", "email"},
        {"{\"employeeIdentifier\":true}", "employeeIdentifier must be a string, got true",
         "employeeIdentifier"},
        {"{\"attributes\":\"x\"}", "attributes must be an array, got \"x\"", "attributes"},
        {"{\"phoneNumbers\":{}}", "phoneNumbers must be an array, got {}", "phoneNumbers"},
        {"{\"sudo\":\"yes\"}", "sudo must be a boolean, got \"yes\"", "sudo"},
        {"{\"unix_uid\":\"5\"}", "unix_uid must be an integer, got \"5\"", "unix_uid"},
        {"{\"unix_uid\":1.5}", "unix_uid must be an integer, got 1.5", "unix_uid"},
        {"{\"unix_uid\":0}", "unix_uid 0 is out of range (1 to 4294967295)", "unix_uid"},
        {"{\"mfa\":[]}", "mfa must be an object, got []", "mfa"},
        {"{\"ssh_keys\":{}}", "ssh_keys must be an array, got {}", "ssh_keys"},
        {"{\"restrictedFields\":\"email\"}",
         "restrictedFields must be an object or an array, got \"email\"", "restrictedFields"},
        {"{\"state\":\"FOO\"}", "state \"FOO\" is not one of STAGED, ACTIVATED, SUSPENDED",
         "state"},
        {"{\"state\":\"activated\"}",
         "state \"activated\" is not one of STAGED, ACTIVATED, SUSPENDED", "state"},
        {"{\"state\":1}", "state must be a string, got 1", "state"},
        {"{\"suspended\":\"no\"}", "suspended must be a boolean, got \"no\"", "suspended"},
        {"{\"activated\":1}", "activated must be a boolean, got 1", "activated"},
        {"{\"external_password_expiration_date\":\"soon\"}",
         "external_password_expiration_date \"soon\" is not a date-time (use RFC "
         "3339)",
         "external_password_expiration_date"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = decode(cases[i].body, JC_DECODE_CREATE, &u, &err);
        CHECK_EQ_INT(rc, ROSTER_EINVAL);
        CHECK_EQ_STR(err.msg, cases[i].msg);
        CHECK_EQ_STR(err.field, cases[i].field);
    }
    roster_err_clear(&err);
    CHECK_EQ_INT(jc_user_decode("[]", 2, JC_DECODE_CREATE, &u, &arena, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "user must be a JSON object");
    CHECK_EQ_INT(decode(" \"x\" ", JC_DECODE_CREATE, &u, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "user must be a JSON object");
    /* a valid date-time is kept */
    CHECK_EQ_INT(decode("{\"external_password_expiration_date\":\"2030-01-01T00:00:00Z\"}",
                        JC_DECODE_CREATE, &u, &err),
                 0);
}

static void test_patch(void)
{
    struct roster_user u;
    struct roster_err err;
    int rc = decode("{\"firstname\":null,\"department\":\"Eng\",\"attributes\":null,"
                    "\"sudo\":null,\"state\":null,\"password\":null}",
                    JC_DECODE_PUT, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_FIRST_NAME));
    CHECK(u.f[RU_FIRST_NAME] == NULL);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_DEPARTMENT));
    CHECK_EQ_STR(u.f[RU_DEPARTMENT], "Eng");
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_ATTRIBUTES));
    CHECK(u.f[RU_ATTRIBUTES] == NULL);
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_USERNAME));
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_EMAIL));
    CHECK(!(u.set & ROSTER_USET_STATE));
    /* a null extra field stays in the patch as null: the core's merge removes the
     * key */
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_EXTRA));
    CHECK_EQ_STR(u.f[RU_EXTRA], "{\"sudo\":null}");
    uint64_t want = (1ull << RU_FIRST_NAME) | (1ull << RU_DEPARTMENT) | (1ull << RU_ATTRIBUTES) |
                    (1ull << RU_EXTRA);
    CHECK_EQ_INT(u.set, want);

    /* on a create, null means absent */
    rc = decode("{\"username\":\"a\",\"email\":\"a@x.test\",\"firstname\":null,"
                "\"sudo\":null}",
                JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_FIRST_NAME));
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_EXTRA));

    /* PUT with STAGED decodes (the core decides whether it is allowed) */
    rc = decode("{\"state\":\"STAGED\"}", JC_DECODE_PUT, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(u.state, ROSTER_STAGED);
    CHECK(u.set & ROSTER_USET_STATE);
    /* "id" in a PUT body is ignored */
    rc = decode("{\"id\":\"nope\",\"_id\":\"nope\"}", JC_DECODE_PUT, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(u.id, "");
    CHECK_EQ_INT(u.set, 0);
}

static void test_suspended_flag(void)
{
    struct roster_user u;
    struct roster_err err;
    CHECK_EQ_INT(decode("{\"suspended\":true}", JC_DECODE_PUT, &u, &err), 0);
    CHECK_EQ_INT(u.state, ROSTER_SUSPENDED);
    CHECK(u.set & ROSTER_USET_STATE);
    CHECK_EQ_INT(decode("{\"suspended\":true,\"state\":\"ACTIVATED\"}", JC_DECODE_PUT, &u, &err),
                 0);
    CHECK_EQ_INT(u.state, ROSTER_ACTIVATED);
    CHECK_EQ_INT(decode("{\"suspended\":false,\"activated\":true}", JC_DECODE_PUT, &u, &err), 0);
    CHECK(!(u.set & ROSTER_USET_STATE));
    CHECK(u.f[RU_EXTRA] == NULL);
}

static void test_update_id(void)
{
    struct roster_user u;
    struct roster_err err;
    CHECK_EQ_INT(decode("{\"firstname\":\"x\"}", JC_DECODE_UPDATE, &u, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id is required");
    CHECK_EQ_STR(err.field, "id");
    CHECK_EQ_INT(decode("{\"id\":null}", JC_DECODE_UPDATE, &u, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id is required");
    CHECK_EQ_INT(decode("{\"id\":\"x\"}", JC_DECODE_UPDATE, &u, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id \"x\" is not a valid user id");
    CHECK_EQ_INT(decode("{\"id\":\"0123456789abcdef0123456\"}", JC_DECODE_UPDATE, &u, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id \"0123456789abcdef0123456\" is not a valid user id");
    CHECK_EQ_INT(decode("{\"id\":7}", JC_DECODE_UPDATE, &u, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id must be a string, got 7");
    CHECK_EQ_INT(decode("{\"id\":\"5be9fb4ddb01290001e85109\",\"department\":\"D\"}",
                        JC_DECODE_UPDATE, &u, &err),
                 0);
    CHECK_EQ_STR(u.id, "5be9fb4ddb01290001e85109");
    CHECK_EQ_STR(u.f[RU_DEPARTMENT], "D");
    CHECK_EQ_INT(u.set, 1ull << RU_DEPARTMENT);
}

static void test_item_decode(void)
{
    struct roster_user u;
    struct roster_err err;
    const char *item = "{\"id\": \"5be9fb4ddb01290001e85109\", \"email\": \"e@x.test\"}";
    roster_err_clear(&err);
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_USERS_UPDATE, &u, &arena, &err), 0);
    CHECK_EQ_STR(u.id, "5be9fb4ddb01290001e85109");
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_USERS_CREATE, &u, &arena, &err), 0);
    CHECK_EQ_STR(u.id, "");
    CHECK_EQ_STR(u.f[RU_EMAIL], "e@x.test");
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_MESSAGE, &u, &arena, &err),
                 ROSTER_EINVAL);
    item = "\"nope\"";
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_USERS_CREATE, &u, &arena, &err),
                 ROSTER_EINVAL);
    /* a span inside a larger text: only len bytes are read */
    const char *chunk = "[{\"email\":\"a@x.test\"},{\"email\":\"b@x.test\"}]";
    CHECK_EQ_INT(jc_item_decode(chunk + 1, 20, ROSTER_JOB_USERS_CREATE, &u, &arena, &err), 0);
    CHECK_EQ_STR(u.f[RU_EMAIL], "a@x.test");
}

static void sample_user(struct roster_user *u)
{
    memset(u, 0, sizeof(*u));
    strcpy(u->id, "5be9fb4ddb01290001e85109");
    strcpy(u->org_id, "aaaaaaaaaaaaaaaaaaaaaaaa");
    u->f[RU_USERNAME] = "jdoe";
    u->f[RU_EMAIL] = "j@x.test";
    u->f[RU_FIRST_NAME] = "Jane \"Q\"";
    u->f[RU_ATTRIBUTES] = "[{\"name\":\"a\",\"value\":\"b\"}]";
    u->f[RU_EXTRA] = "{\"sudo\":true,\"unix_uid\":5001,\"creationSource\":\"jumpcloud:bulk\","
                     "\"custom_thing\":[1,2]}";
    u->state = ROSTER_ACTIVATED;
    u->created_ms = 1577836800123; /* 2020-01-01T00:00:00.123Z */
    u->version = 1;
}

static void test_encode(void)
{
    struct roster_user u;
    sample_user(&u);
    json_t *o = encode(&u, NULL, 0);
    CHECK(o != NULL);
    if (!o)
        return;
    CHECK_EQ_STR(sget(o, "_id"), "5be9fb4ddb01290001e85109");
    CHECK_EQ_STR(sget(o, "username"), "jdoe");
    CHECK_EQ_STR(sget(o, "email"), "j@x.test");
    CHECK_EQ_STR(sget(o, "firstname"), "Jane \"Q\"");
    CHECK_EQ_STR(sget(o, "lastname"), "");
    CHECK_EQ_STR(sget(o, "department"), "");
    CHECK(json_is_null(json_object_get(o, "employeeIdentifier")));
    CHECK(json_is_null(json_object_get(o, "manager")));
    CHECK(json_is_null(json_object_get(o, "alternateEmail")));
    CHECK(json_object_get(o, "countryCode") == NULL);
    CHECK(json_object_get(o, "extra") == NULL);
    CHECK_EQ_STR(sget(o, "state"), "ACTIVATED");
    CHECK(json_is_true(json_object_get(o, "activated")));
    CHECK(json_is_false(json_object_get(o, "suspended")));
    CHECK_EQ_STR(sget(o, "created"), "2020-01-01T00:00:00.123Z");
    CHECK_EQ_STR(sget(o, "organization"), "aaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK_EQ_INT(json_array_size(json_object_get(o, "attributes")), 1);
    CHECK(json_is_array(json_object_get(o, "phoneNumbers")));
    CHECK_EQ_INT(json_array_size(json_object_get(o, "phoneNumbers")), 0);
    CHECK(json_is_array(json_object_get(o, "addresses")));
    /* extra values win over defaults; unknown extra keys are merged at top level
     */
    CHECK(json_is_true(json_object_get(o, "sudo")));
    CHECK_EQ_INT(json_integer_value(json_object_get(o, "unix_uid")), 5001);
    CHECK_EQ_STR(sget(o, "creationSource"), "jumpcloud:bulk");
    CHECK_EQ_INT(json_array_size(json_object_get(o, "custom_thing")), 2);
    /* defaults of the common booleans */
    CHECK(json_is_false(json_object_get(o, "account_locked")));
    CHECK(json_is_true(json_object_get(o, "allow_public_key")));
    CHECK(json_is_false(json_object_get(o, "password_never_expires")));
    CHECK(json_is_false(json_object_get(o, "passwordless_sudo")));
    CHECK(json_is_false(json_object_get(o, "totp_enabled")));
    CHECK(json_is_false(json_object_get(o, "mfa")
                            ? json_object_get(json_object_get(o, "mfa"), "configured")
                            : json_true()));
    CHECK(json_is_null(json_object_get(o, "account_locked_date")));
    CHECK_EQ_INT(json_integer_value(json_object_get(o, "badLoginAttempts")), 0);
    CHECK(json_object_get(o, "unix_guid") == NULL);
    CHECK(json_object_get(o, "password") == NULL);
    json_decref(o);

    /* suspended / staged users */
    u.state = ROSTER_SUSPENDED;
    u.f[RU_EXTRA] = NULL;
    o = encode(&u, NULL, 0);
    CHECK(o && json_is_false(json_object_get(o, "activated")));
    CHECK(o && json_is_true(json_object_get(o, "suspended")));
    CHECK(o && json_is_false(json_object_get(o, "sudo")));
    CHECK_EQ_STR(sget(o, "state"), "SUSPENDED");
    json_decref(o);
    u.state = ROSTER_STAGED;
    o = encode(&u, NULL, 0);
    CHECK(o && json_is_false(json_object_get(o, "activated")));
    CHECK(o && json_is_false(json_object_get(o, "suspended")));
    json_decref(o);
}

static void test_projection(void)
{
    struct roster_user u;
    sample_user(&u);
    const char *fields[] = {"email", "sudo", "state", "nosuchfield", "custom_thing"};
    json_t *o = encode(&u, fields, 5);
    CHECK(o != NULL);
    CHECK_EQ_INT(json_object_size(o), 5);
    CHECK_EQ_STR(sget(o, "_id"), "5be9fb4ddb01290001e85109");
    CHECK_EQ_STR(sget(o, "email"), "j@x.test");
    CHECK(json_is_true(json_object_get(o, "sudo")));
    CHECK_EQ_STR(sget(o, "state"), "ACTIVATED");
    CHECK(json_object_get(o, "custom_thing") != NULL);
    json_decref(o);
    const char *only_unknown[] = {"nosuchfield"};
    o = encode(&u, only_unknown, 1);
    CHECK_EQ_INT(json_object_size(o), 1);
    CHECK(json_object_get(o, "_id") != NULL);
    json_decref(o);
}

/* decode(create) -> encode -> decode(create) keeps every field */
static void test_round_trip(void)
{
    const char *body = "{\"username\":\"rt\",\"email\":\"rt@x.test\",\"middlename\":\"M\","
                       "\"displayname\":\"R T\",\"jobTitle\":\"Eng\",\"location\":\"L\","
                       "\"manager\":\"5be9fb4ddb01290001e85109\",\"alternateEmail\":\"a@x."
                       "test\","
                       "\"description\":\"d\",\"employeeType\":\"ft\",\"company\":\"Acme\","
                       "\"addresses\":[{\"type\":\"work\",\"locality\":\"X\"}],"
                       "\"state\":\"SUSPENDED\",\"sudo\":true,\"unix_guid\":77,"
                       "\"ssh_keys\":[{\"name\":\"k\",\"public_key\":\"ssh-ed25519 AAAA\"}]}";
    struct roster_user a, b;
    struct roster_err err;
    CHECK_EQ_INT(decode(body, JC_DECODE_CREATE, &a, &err), 0);
    strcpy(a.id, "0123456789abcdef01234567");
    a.created_ms = 1000;
    const char *text = NULL;
    json_t *o = encode_text(&a, NULL, 0, &text);
    CHECK(o != NULL);
    roster_err_clear(&err);
    CHECK_EQ_INT(decode(text, JC_DECODE_CREATE, &b, &err), 0);
    for (int i = 0; i < RU_NFIELDS; i++) {
        if (i == RU_EXTRA)
            continue;
        /* absent strings come back as "" or null; both mean "no value" */
        const char *x = a.f[i] ? a.f[i] : "", *y = b.f[i] ? b.f[i] : "";
        if (roster_ufields[i].kind != RU_KIND_STR && !*x)
            x = "[]";
        CHECK_EQ_STR(y, x);
    }
    CHECK_EQ_INT(b.state, ROSTER_SUSPENDED);
    json_t *xa = json_loads(a.f[RU_EXTRA], 0, NULL), *xb = json_loads(b.f[RU_EXTRA], 0, NULL);
    /* b's extra also holds the returned defaults; a's keys must be there
     * unchanged */
    const char *key;
    json_t *v;
    int same = 0;
    json_object_foreach(xa, key, v) same += json_equal(v, json_object_get(xb, key));
    CHECK_EQ_INT(same, (int)json_object_size(xa));
    CHECK_EQ_INT(json_object_size(xa), 3);
    json_decref(xa);
    json_decref(xb);
    json_decref(o);
}

/* What the text codec does with the text itself: escapes, whitespace, duplicate keys */
static void test_text(void)
{
    struct roster_user u;
    struct roster_err err;
    /* strings are unescaped (surrogate pairs to UTF-8); an escaped key still matches */
    int rc = decode("{\"\\u0075sername\":\"j\\u00f6rg\",\"email\":\"a\\/b@x.test\","
                    "\"displayname\":\"\\\"Q\\\" \\ud83d\\ude00\\n\"}",
                    JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "j\xc3\xb6rg");
    CHECK_EQ_STR(u.f[RU_EMAIL], "a/b@x.test");
    CHECK_EQ_STR(u.f[RU_DISPLAY_NAME], "\"Q\" \xf0\x9f\x98\x80\n");

    /* JSON-valued fields keep their text, whitespace between tokens dropped, string
     * contents (escapes included) as sent */
    rc = decode("{ \"phoneNumbers\" : [ { \"type\" : \"work\" , \"number\" : \"+1  555\" } ] ,\n"
                "  \"attributes\":[{\"name\":\"a\\u00e9\",\"value\":[ 1 , 2 ]}],\n"
                "  \"addresses\" :\t[ ],\n"
                "  \"mfa\": { \"configured\" : true }, \"ssh_keys\": [ {\"name\": \"k\"} ] }",
                JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"+1  555\"}]");
    CHECK_EQ_STR(u.f[RU_ATTRIBUTES], "[{\"name\":\"a\\u00e9\",\"value\":[1,2]}]");
    CHECK_EQ_STR(u.f[RU_ADDRESSES], "[]");
    CHECK_EQ_STR(u.f[RU_EXTRA], "{\"mfa\":{\"configured\":true},\"ssh_keys\":[{\"name\":\"k\"}]}");

    /* a key given twice: the last value counts, at the place of the first (as jansson) */
    rc = decode("{\"email\":5,\"sudo\":true,\"email\":\"b@x.test\",\"unix_uid\":7,"
                "\"sudo\":false,\"suspended\":true,\"suspended\":false}",
                JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(u.f[RU_EMAIL], "b@x.test");
    CHECK_EQ_STR(u.f[RU_EXTRA], "{\"sudo\":false,\"unix_uid\":7}");
    CHECK(!(u.set & ROSTER_USET_STATE));
    rc = decode("{\"email\":\"a@x.test\",\"email\":5}", JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email must be a string, got 5");
    rc = decode("{\"id\":\"5be9fb4ddb01290001e85109\",\"id\":\"x\"}", JC_DECODE_UPDATE, &u, &err);
    CHECK_EQ_INT(rc, ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "id \"x\" is not a valid user id");
    /* the first failing field in the body's order is the one reported */
    rc = decode("{\"sudo\":1,\"email\":2}", JC_DECODE_CREATE, &u, &err);
    CHECK_EQ_INT(rc, ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "sudo must be a boolean, got 1");

    /* text that breaks the precondition fails; it is not read past its end */
    const char *broken[] = {"{\"email\":\"a@x.test\"", "{\"email\" \"x\"}", "{\"email\":}", ""};
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        roster_err_clear(&err);
        CHECK_EQ_INT(
            jc_user_decode(broken[i], strlen(broken[i]), JC_DECODE_CREATE, &u, &arena, &err),
            ROSTER_EINVAL);
        CHECK_EQ_STR(err.msg, "user is not valid JSON");
    }
    /* a real bulk item, as the job engine hands it over */
    const char *item = "{\"username\": \"user000000\", \"email\": \"user000000@example.com\", "
                       "\"firstname\": \"First0\", \"lastname\": \"Last0\", "
                       "\"employeeIdentifier\": \"E000000\", \"attributes\": [{\"name\": "
                       "\"dept\", \"value\": \"d0\"}], \"phoneNumbers\": [{\"type\": "
                       "\"mobile\", \"number\": \"+15550000000\"}]}";
    CHECK_EQ_INT(decode(item, JC_DECODE_CREATE, &u, &err), 0);
    CHECK_EQ_STR(u.f[RU_ATTRIBUTES], "[{\"name\":\"dept\",\"value\":\"d0\"}]");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"mobile\",\"number\":\"+15550000000\"}]");
    CHECK_EQ_STR(u.f[RU_EMPLOYEE_ID], "E000000");
    CHECK_EQ_INT(u.set, (1ull << RU_USERNAME) | (1ull << RU_EMAIL) | (1ull << RU_FIRST_NAME) |
                            (1ull << RU_LAST_NAME) | (1ull << RU_EMPLOYEE_ID) |
                            (1ull << RU_ATTRIBUTES) | (1ull << RU_PHONES));
}

static void test_qnames(void)
{
    int n = 0, state = -1, id = -1, created = -1;
    for (const struct roster_qname *q = jc_user_qnames; q->name; q++, n++) {
        if (strcmp(q->name, "state") == 0)
            state = q->key;
        if (strcmp(q->name, "_id") == 0)
            id = q->key;
        if (strcmp(q->name, "created") == 0)
            created = q->key;
    }
    CHECK_EQ_INT(n, 19);
    CHECK_EQ_INT(state, RQ_STATE);
    CHECK_EQ_INT(id, RQ_ID);
    CHECK_EQ_INT(created, RQ_CREATED);
}

/* The SCIM-only fields and the SCIM extra object are not JumpCloud's: never decoded, never
 * shown. JumpCloud still requires an e-mail address although the model does not. */
static void test_scim_fields_and_email(void)
{
    struct roster_user u;
    struct roster_err err;
    CHECK_EQ_INT(decode("{\"username\":\"a\",\"email\":\"a@x.test\",\"externalId\":\"E1\","
                        "\"locale\":\"en\",\"userType\":\"T\",\"timezone\":\"UTC\","
                        "\"preferredLanguage\":\"en\"}",
                        JC_DECODE_CREATE, &u, &err),
                 0);
    int scim_set = 0;
    for (int i = 0; i < RU_NFIELDS; i++)
        scim_set += roster_ufields[i].scim_only && u.f[i] != NULL;
    CHECK_EQ_INT(scim_set, 0);
    CHECK(u.f[RU_EXTRA] == NULL);

    strcpy(u.id, "0123456789abcdef01234567");
    u.f[RU_EMAIL] = NULL;
    u.f[RU_EXTERNAL_ID] = "E1";
    u.f[RU_USER_TYPE] = "Employee";
    u.f[RU_PREFERRED_LANGUAGE] = "en";
    u.f[RU_LOCALE] = "en-US";
    u.f[RU_TIMEZONE] = "UTC";
    u.f[RU_EXTRA] = "{\"" ROSTER_EXTRA_SCIM "\":{\"nickName\":\"n\"},\"sudo\":true}";
    json_t *o = encode(&u, NULL, 0);
    CHECK(o != NULL);
    for (int i = 0; i < RU_NFIELDS; i++)
        if (roster_ufields[i].scim_only)
            CHECK(json_object_get(o, roster_ufields[i].label) == NULL);
    CHECK(json_object_get(o, ROSTER_EXTRA_SCIM) == NULL);
    CHECK(json_is_true(json_object_get(o, "sudo")));
    /* no e-mail: shown as JumpCloud shows an empty profile string */
    CHECK_EQ_STR(sget(o, "email"), "");
    json_decref(o);

    /* jc_user_require_email */
    CHECK_EQ_INT(decode("{\"username\":\"a\"}", JC_DECODE_CREATE, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, false, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email is required");
    CHECK_EQ_STR(err.field, "email");
    CHECK_EQ_INT(decode("{\"username\":\"a\",\"email\":\"\"}", JC_DECODE_CREATE, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, false, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email is required");
    /* the username is checked first, as the validator does */
    CHECK_EQ_INT(decode("{}", JC_DECODE_CREATE, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, false, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "username is required");
    CHECK_EQ_INT(decode("{\"username\":\"a b\"}", JC_DECODE_CREATE, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, false, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "username \"a b\" must not contain whitespace or control characters");
    CHECK_EQ_INT(decode("{\"username\":\"a\",\"email\":\"a@x.test\"}", JC_DECODE_CREATE, &u, &err),
                 0);
    CHECK_EQ_INT(jc_user_require_email(&u, false, &err), 0);
    /* a patch: only clearing the e-mail is refused */
    CHECK_EQ_INT(decode("{\"firstname\":\"x\"}", JC_DECODE_PUT, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, true, &err), 0);
    CHECK_EQ_INT(decode("{\"email\":null}", JC_DECODE_PUT, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, true, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email is required");
    CHECK_EQ_INT(decode("{\"email\":\"\",\"username\":\"\"}", JC_DECODE_PUT, &u, &err), 0);
    CHECK_EQ_INT(jc_user_require_email(&u, true, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "username is required");
    /* the job codec requires it too */
    const char *item = "{\"username\":\"a\"}";
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_USERS_CREATE, &u, &arena, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email is required");
    item = "{\"id\":\"5be9fb4ddb01290001e85109\",\"email\":null}";
    CHECK_EQ_INT(jc_item_decode(item, strlen(item), ROSTER_JOB_USERS_UPDATE, &u, &arena, &err),
                 ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "email is required");
}

int main(void)
{
    roster_arena_init(&arena, 4096);
    test_create_basic();
    test_extra_and_ignored();
    test_password_dropped();
    test_type_errors();
    test_patch();
    test_suspended_flag();
    test_update_id();
    test_item_decode();
    test_encode();
    test_projection();
    test_round_trip();
    test_text();
    test_qnames();
    test_scim_fields_and_email();
    roster_arena_release(&arena);
    return test_finish();
}
