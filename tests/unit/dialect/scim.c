/* Unit tests of the SCIM dialect's helpers (src/dialect/scim/): PatchOp application on a
 * resource's JSON (paths, value filters, URN and dotted keys, errors with their scimType),
 * the attributes / excludedAttributes projection, If-Match / If-None-Match, the Error body,
 * and the User decoder and encoder (a round trip through roster's fields).
 */
#include "dialect/scim/scim.h"
#include "test.h"

#include <stdlib.h>

static struct roster_arena arena;

/* Applies the patch text to the resource text; returns the result's compact text (static
 * buffer) or "ERR <status> <scimType>". */
static const char *patched(const char *res, const char *patch)
{
    static char out[4096];
    json_t *r = json_loads(res, 0, NULL), *p = json_loads(patch, 0, NULL);
    if (!r || !p) {
        snprintf(out, sizeof(out), "bad test JSON");
        json_decref(r);
        json_decref(p);
        return out;
    }
    struct scim_out o;
    scim_out_init(&o);
    if (scim_patch_apply(r, p, SCIM_SCHEMA_USER, &o) != 0) {
        snprintf(out, sizeof(out), "ERR %d %s", o.status, o.scim_type ? o.scim_type : "-");
    } else {
        char *t = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out, sizeof(out), "%s", t);
        free(t);
    }
    scim_out_release(&o);
    json_decref(r);
    json_decref(p);
    return out;
}

#define OPS(...) "{\"Operations\":[" __VA_ARGS__ "]}"

static void test_patch(void)
{
    const char *u = "{\"userName\":\"a\",\"name\":{\"givenName\":\"A\",\"familyName\":\"B\"},"
                    "\"emails\":[{\"value\":\"w@x.test\",\"type\":\"work\",\"primary\":true},"
                    "{\"value\":\"h@x.test\",\"type\":\"home\"}]}";
    /* simple, complex (merged), dotted path */
    CHECK_EQ_STR(
        patched("{\"userName\":\"a\"}", OPS("{\"op\":\"add\",\"path\":\"title\",\"value\":\"T\"}")),
        "{\"title\":\"T\",\"userName\":\"a\"}");
    CHECK_EQ_STR(
        patched(u, OPS("{\"op\":\"replace\",\"path\":\"name.givenName\",\"value\":\"Z\"}")),
        "{\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"w@x.test\"},{\"type\":"
        "\"home\",\"value\":\"h@x.test\"}],\"name\":{\"familyName\":\"B\",\"givenName\":\"Z\"},"
        "\"userName\":\"a\"}");
    CHECK_EQ_STR(
        patched("{\"name\":{\"givenName\":\"A\"}}",
                OPS("{\"op\":\"replace\",\"path\":\"name\",\"value\":{\"familyName\":\"F\"}}")),
        "{\"name\":{\"familyName\":\"F\",\"givenName\":\"A\"}}");
    /* capitalised op, no path with dotted and URN keys (Entra) */
    CHECK_EQ_STR(
        patched(
            "{\"name\":{\"givenName\":\"A\"}}",
            OPS("{\"op\":\"Replace\",\"value\":{\"name.familyName\":\"F\",\"urn:ietf:params:scim:"
                "schemas:extension:enterprise:2.0:User:employeeNumber\":\"7\",\"active\":\"False\"}"
                "}")),
        "{\"active\":\"False\",\"name\":{\"familyName\":\"F\",\"givenName\":\"A\"},\"urn:ietf:"
        "params:"
        "scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\"}}");
    /* a URN-qualified core attribute */
    CHECK_EQ_STR(
        patched("{}", OPS("{\"op\":\"add\",\"path\":\"urn:ietf:params:scim:schemas:core:2.0:"
                          "User:title\",\"value\":\"T\"}")),
        "{\"title\":\"T\"}");
    /* value paths */
    CHECK_EQ_STR(
        patched(u, OPS("{\"op\":\"replace\",\"path\":\"emails[type eq \\\"work\\\"].value\","
                       "\"value\":\"n@x.test\"}")),
        "{\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"n@x.test\"},{\"type\":"
        "\"home\",\"value\":\"h@x.test\"}],\"name\":{\"familyName\":\"B\",\"givenName\":\"A\"},"
        "\"userName\":\"a\"}");
    CHECK_EQ_STR(
        patched(u, OPS("{\"op\":\"remove\",\"path\":\"emails[type eq \\\"HOME\\\" or value sw "
                       "\\\"zzz\\\"]\"}")),
        "{\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"w@x.test\"}],\"name\":{"
        "\"familyName\":\"B\",\"givenName\":\"A\"},\"userName\":\"a\"}");
    /* no match: an element made of the filter's eq terms */
    CHECK_EQ_STR(
        patched("{}", OPS("{\"op\":\"add\",\"path\":\"emails[type eq \\\"work\\\"].value\","
                          "\"value\":\"w@x.test\"}")),
        "{\"emails\":[{\"type\":\"work\",\"value\":\"w@x.test\"}]}");
    /* add appends to a multi-valued attribute; remove with a value list removes those */
    CHECK_EQ_STR(
        patched("{\"members\":[{\"value\":\"1\"},{\"value\":\"2\"}]}",
                OPS("{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"3\"}]}")),
        "{\"members\":[{\"value\":\"1\"},{\"value\":\"2\"},{\"value\":\"3\"}]}");
    CHECK_EQ_STR(patched("{\"members\":[{\"value\":\"1\"},{\"value\":\"2\"},{\"value\":\"3\"}]}",
                         OPS("{\"op\":\"remove\",\"path\":\"members\",\"value\":[{\"value\":\"1\"},"
                             "{\"value\":\"3\"}]}")),
                 "{\"members\":[{\"value\":\"2\"}]}");
    CHECK_EQ_STR(patched("{\"members\":[{\"value\":\"1\"},{\"value\":\"2\"}]}",
                         OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"2\\\"]\"}")),
                 "{\"members\":[{\"value\":\"1\"}]}");
    /* remove of something absent is nothing */
    CHECK_EQ_STR(patched("{\"a\":1}", OPS("{\"op\":\"remove\",\"path\":\"title\"}")), "{\"a\":1}");
    CHECK_EQ_STR(
        patched("{\"a\":1}", OPS("{\"op\":\"remove\",\"path\":\"urn:ietf:params:scim:schemas:"
                                 "extension:enterprise:2.0:User:manager\"}")),
        "{\"a\":1}");
    /* errors */
    CHECK_EQ_STR(patched("{}", "{}"), "ERR 400 invalidSyntax");
    CHECK_EQ_STR(patched("{}", "{\"Operations\":[]}"), "ERR 400 invalidSyntax");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"copy\",\"path\":\"a\"}")), "ERR 400 invalidSyntax");
    CHECK_EQ_STR(patched("{}", OPS("5")), "ERR 400 invalidSyntax");
    CHECK_EQ_STR(patched("{}",
                         "{\"schemas\":[\"urn:x\"],\"Operations\":[{\"op\":\"add\",\"path\":\"a\","
                         "\"value\":1}]}"),
                 "ERR 400 invalidSyntax");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"remove\"}")), "ERR 400 noTarget");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":\"urn:x:y\",\"value\":1}")),
                 "ERR 400 invalidPath");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":\"a[b eq \\\"1\\\"\",\"value\":1}")),
                 "ERR 400 invalidPath");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":\"a[b zz 1]\",\"value\":1}")),
                 "ERR 400 invalidFilter");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":\"a.b.c\",\"value\":1}")),
                 "ERR 400 invalidPath");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"replace\",\"path\":\"id\",\"value\":\"x\"}")),
                 "ERR 400 mutability");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":\"title\"}")), "ERR 400 invalidValue");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"value\":5}")), "ERR 400 invalidValue");
    CHECK_EQ_STR(patched("{}", OPS("{\"op\":\"add\",\"path\":5,\"value\":5}")),
                 "ERR 400 invalidPath");
    /* an or filter names no single element: no element is made */
    CHECK_EQ_STR(
        patched("{}", OPS("{\"op\":\"replace\",\"path\":\"emails[type eq \\\"a\\\" or type eq "
                          "\\\"b\\\"].value\",\"value\":\"v\"}")),
        "ERR 400 noTarget");
}

static const char *projected(const char *res, const char *attrs, const char *excl)
{
    static char out[2048];
    json_t *r = json_loads(res, 0, NULL);
    struct scim_proj p;
    scim_proj_parse(&p, attrs, excl, SCIM_SCHEMA_USER, &arena);
    scim_project(r, &p);
    char *t = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, sizeof(out), "%s", t);
    free(t);
    json_decref(r);
    return out;
}

static void test_projection(void)
{
    const char *u =
        "{\"schemas\":[\"s\"],\"id\":\"1\",\"userName\":\"a\",\"title\":\"t\","
        "\"name\":{\"givenName\":\"g\",\"familyName\":\"f\"},"
        "\"emails\":[{\"value\":\"v\",\"type\":\"work\"}],\"meta\":{\"version\":\"W/\\\"1\\\"\"},"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"d\","
        "\"costCenter\":\"c\"}}";
    CHECK_EQ_STR(projected(u, "userName", NULL),
                 "{\"id\":\"1\",\"schemas\":[\"s\"],\"userName\":\"a\"}");
    CHECK_EQ_STR(projected(u, "USERNAME, urn:ietf:params:scim:schemas:core:2.0:User:title", NULL),
                 "{\"id\":\"1\",\"schemas\":[\"s\"],\"title\":\"t\",\"userName\":\"a\"}");
    CHECK_EQ_STR(projected(u, "name.givenName,emails.value", NULL),
                 "{\"emails\":[{\"value\":\"v\"}],\"id\":\"1\",\"name\":{\"givenName\":\"g\"},"
                 "\"schemas\":[\"s\"]}");
    CHECK_EQ_STR(
        projected(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", NULL),
        "{\"id\":\"1\",\"schemas\":[\"s\"],\"urn:ietf:params:scim:schemas:extension:"
        "enterprise:2.0:User\":{\"department\":\"d\"}}");
    CHECK_EQ_STR(projected(u, NULL,
                           "meta,name.familyName,emails,id,urn:ietf:params:scim:schemas:"
                           "extension:enterprise:2.0:User"),
                 "{\"id\":\"1\",\"name\":{\"givenName\":\"g\"},\"schemas\":[\"s\"],\"title\":\"t\","
                 "\"userName\":\"a\"}");
    /* nothing asked: unchanged */
    json_t *a = json_loads(u, 0, NULL), *b = json_loads(projected(u, NULL, ""), 0, NULL);
    CHECK(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

static void test_preconditions(void)
{
    struct scim_out o;
    scim_out_init(&o);
    CHECK_EQ_INT(scim_precondition(NULL, NULL, 3, &o), 0);
    CHECK_EQ_INT(scim_precondition("W/\"3\"", NULL, 3, &o), 0);
    CHECK_EQ_INT(scim_precondition("\"3\"", NULL, 3, &o), 0);
    CHECK_EQ_INT(scim_precondition("*", NULL, 3, &o), 0);
    CHECK_EQ_INT(scim_precondition("W/\"1\", W/\"3\"", NULL, 3, &o), 0);
    CHECK_EQ_INT(scim_precondition("W/\"33\"", NULL, 3, &o), -1);
    CHECK_EQ_INT(o.status, 412);
    CHECK(strstr(o.body.data, "\"status\":\"412\"") != NULL);
    CHECK_EQ_INT(scim_precondition(NULL, "W/\"3\"", 3, &o), -1);
    CHECK_EQ_INT(scim_precondition(NULL, "W/\"2\"", 3, &o), 0);
    CHECK_EQ_INT(scim_precondition(NULL, "*", 3, &o), -1);
    char tag[SCIM_ETAG_MAX];
    scim_etag(tag, 42);
    CHECK_EQ_STR(tag, "W/\"42\"");
    /* the Error body */
    scim_out_error(&o, 409, "uniqueness", "userName \"%s\" already exists", "a\"b");
    CHECK_EQ_STR(o.body.data,
                 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
                 "\"status\":\"409\",\"scimType\":\"uniqueness\",\"detail\":\"userName "
                 "\\\"a\\\"b\\\" already exists\"}");
    scim_out_error(&o, 404, NULL, "x");
    CHECK(strstr(o.body.data, "scimType") == NULL);
    const char *t;
    CHECK_EQ_INT(scim_status_of(ROSTER_ECONFLICT, &t), 409);
    CHECK_EQ_STR(t, "uniqueness");
    CHECK_EQ_INT(scim_status_of(ROSTER_ENOTFOUND, &t), 404);
    CHECK(t == NULL);
    CHECK_EQ_INT(scim_status_of(ROSTER_EINVAL, &t), 400);
    CHECK_EQ_STR(t, "invalidValue");
    scim_out_release(&o);
}

static void test_user_codec(void)
{
    const char *body =
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"USERNAME\":\"ada\","
        "\"externalId\":\"x1\",\"name\":{\"givenName\":\"Ada\",\"familyName\":\"L\",\"formatted\":"
        "\"Ada "
        "L\"},\"displayName\":\"Ada "
        "L\",\"nickName\":\"a\",\"title\":\"T\",\"userType\":\"Employee\","
        "\"preferredLanguage\":\"en\",\"locale\":\"en-GB\",\"timezone\":\"UTC\",\"active\":"
        "\"False\","
        "\"emails\":[{\"value\":\"h@x.test\",\"type\":\"home\"},{\"value\":\"w@x.test\",\"type\":"
        "\"work\","
        "\"primary\":\"True\"}],\"phoneNumbers\":[{\"value\":\"1\",\"type\":\"work\"}],"
        "\"addresses\":[{\"locality\":\"L\",\"bogus\":1}],\"roles\":[{\"value\":\"r\"}],"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\","
        "\"department\":\"D\",\"manager\":{\"value\":\"m1\"},\"division\":\"V\"},\"id\":"
        "\"ignored\","
        "\"password\":\"pw\"}";
    struct roster_user u;
    struct roster_err err = {0};
    CHECK_EQ_INT(scim_user_decode(body, strlen(body), false, &u, &arena, &err), 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "ada");
    CHECK_EQ_STR(u.f[RU_EXTERNAL_ID], "x1");
    CHECK_EQ_STR(u.f[RU_FIRST_NAME], "Ada");
    CHECK_EQ_STR(u.f[RU_EMAIL], "w@x.test");
    CHECK_EQ_STR(u.f[RU_ALTERNATE_EMAIL], "h@x.test");
    CHECK_EQ_STR(u.f[RU_EMPLOYEE_ID], "7");
    CHECK_EQ_STR(u.f[RU_MANAGER], "m1");
    CHECK_EQ_STR(u.f[RU_USER_TYPE], "Employee");
    CHECK_EQ_STR(u.f[RU_TIMEZONE], "UTC");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"1\"}]");
    CHECK_EQ_STR(u.f[RU_ADDRESSES], "[{\"locality\":\"L\"}]");
    CHECK_EQ_INT(u.state, ROSTER_SUSPENDED);
    CHECK(u.set & ROSTER_USET_STATE);
    CHECK(u.id[0] == '\0');
    /* encoded back: the same attributes */
    strcpy(u.id, "0123456789abcdef01234567");
    u.version = 4;
    u.created_ms = u.modified_ms = 1000;
    json_t *j = scim_user_json(&u, "http://h/scim/v2");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "name"), "formatted")),
                 "Ada L");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "nickName")), "a");
    CHECK(json_is_false(json_object_get(j, "active")));
    json_t *emails = json_object_get(j, "emails");
    CHECK_EQ_INT(json_array_size(emails), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(emails, 0), "type")), "work");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(emails, 1), "type")), "home");
    CHECK_EQ_INT(json_array_size(json_object_get(j, "roles")), 1);
    json_t *ent = json_object_get(j, SCIM_SCHEMA_ENTERPRISE);
    CHECK_EQ_STR(json_string_value(json_object_get(ent, "division")), "V");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(ent, "manager"), "$ref")),
                 "http://h/scim/v2/Users/m1");
    json_t *meta = json_object_get(j, "meta");
    CHECK_EQ_STR(json_string_value(json_object_get(meta, "version")), "W/\"4\"");
    CHECK_EQ_STR(json_string_value(json_object_get(meta, "location")),
                 "http://h/scim/v2/Users/0123456789abcdef01234567");
    CHECK(json_object_get(j, "password") == NULL);
    json_decref(j);

    /* a PUT sets every mapped field; absent active leaves the state */
    CHECK_EQ_INT(scim_user_decode("{\"userName\":\"b\"}", 16, true, &u, &arena, &err), 0);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_EMAIL) && u.f[RU_EMAIL] == NULL);
    CHECK(ROSTER_USER_FIELD_SET(&u, RU_EXTERNAL_ID));
    CHECK(!ROSTER_USER_FIELD_SET(&u, RU_DESCRIPTION));
    CHECK(!(u.set & ROSTER_USET_STATE));
    CHECK_EQ_STR(u.f[RU_EXTRA], "{\"scim\":null}");

    /* errors name the attribute */
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{}", "userName is required"},
        {"{\"userName\":\"\"}", "userName is required"},
        {"{\"userName\":1}", "userName must be a string"},
        {"{\"userName\":\"a\",\"active\":2}", "active must be a boolean"},
        {"{\"userName\":\"a\",\"name\":\"x\"}", "name must be an object"},
        {"{\"userName\":\"a\",\"emails\":{}}", "emails must be an array"},
        {"{\"userName\":\"a\",\"emails\":[{\"value\":1}]}", "emails.value must be a string"},
        {"{\"userName\":\"a\",\"emails\":[{\"value\":\"a@b.c\"},{\"value\":\"b@b.c\"},{\"value\":"
         "\"c@b.c\"}]}",
         "emails has more than two values (roster keeps a primary and one other address)"},
        {"{\"userName\":\"a\",\"phoneNumbers\":[{\"type\":\"x\"}]}",
         "phoneNumbers.value must be a string"},
        {"{\"userName\":\"a\",\"addresses\":[{\"country\":1}]}",
         "addresses.country must be a string"},
        {"{\"userName\":\"a\",\"password\":\"\"}", "password must be a non-empty string"},
        {"{\"userName\":\"a\",\"roles\":{}}", "roles must be an array"},
        {"{\"userName\":\"a\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":1}",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User must be an object"},
        {"{\"userName\":\"a\",\"userName\":\"b\"}",
         "a User is not valid JSON: duplicate object key near '\"userName\"'"},
        {"[]", "a User must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        roster_err_clear(&err);
        CHECK_EQ_INT(scim_user_decode(bad[i].body, strlen(bad[i].body), false, &u, &arena, &err),
                     ROSTER_EINVAL);
        CHECK_EQ_STR(err.msg, bad[i].msg);
    }
}

int main(void)
{
    roster_arena_init(&arena, 4096);
    test_patch();
    test_projection();
    test_preconditions();
    test_user_codec();
    roster_arena_release(&arena);
    return test_finish();
}
