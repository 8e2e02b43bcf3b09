/* The SCIM User decoder and PatchOp application (src/dialect/scim/users.c, patch.c) on any
 * bytes: as a User body (create and PUT) it decodes or answers ROSTER_EINVAL with a
 * message, and a decoded user encodes back to a JSON object holding its userName; as a
 * PatchOp applied to a full user it applies or answers a 400 Error with a scimType, and an
 * applied result decodes or is refused like any body. */
#include <jansson.h>

#include "dialect/scim/scim.h"
#include "fuzz.h"

static const char *const RESOURCE =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"x\",\"userName\":\"a\","
    "\"name\":{\"givenName\":\"A\",\"familyName\":\"B\"},\"emails\":[{\"value\":\"a@b.test\","
    "\"type\":\"work\",\"primary\":true}],\"phoneNumbers\":[{\"value\":\"1\",\"type\":\"work\"}],"
    "\"members\":[{\"value\":\"1\"},{\"value\":\"2\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"D\"}}";

static void decode_doc(json_t *doc, struct roster_arena *a)
{
    for (int put = 0; put < 2; put++) {
        struct roster_user u;
        struct roster_err err = {0};
        const char *pw = NULL;
        int rc = scim_user_decode_json(doc, put, &u, &pw, a, &err);
        if (rc != 0) {
            FUZZ_CHECK(rc == ROSTER_EINVAL && err.msg[0]);
            continue;
        }
        FUZZ_CHECK(u.f[RU_USERNAME] && *u.f[RU_USERNAME]);
        memcpy(u.id, "0123456789abcdef01234567", 25);
        json_t *back = scim_user_json(&u, "http://h/scim/v2");
        char *text = json_dumps(back, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        json_t *again = json_loads(text, 0, NULL);
        FUZZ_CHECK(json_is_object(again));
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(again, "userName")), u.f[RU_USERNAME]) ==
                   0);
        free(text);
        json_decref(again);
        json_decref(back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc) {
        decode_doc(doc, &a);
        json_t *res = json_loads(RESOURCE, 0, NULL);
        struct scim_out o;
        scim_out_init(&o);
        if (scim_patch_apply(res, doc, SCIM_SCHEMA_USER, &o) == 0) {
            decode_doc(res, &a);
        } else {
            FUZZ_CHECK(o.status == 400 && o.scim_type && o.body.len > 0);
        }
        scim_out_release(&o);
        json_decref(res);
        json_decref(doc);
    }
    roster_arena_release(&a);
    return 0;
}
