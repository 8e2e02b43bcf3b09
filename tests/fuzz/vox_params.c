/* Voximplant request parameters from a body (src/dialect/voximplant/transport.c):
 * multipart/form-data, application/x-www-form-urlencoded and JSON objects. Input: the
 * Content-Type header, '\n', the body. Either the parameters are read (names and values
 * C strings) or error 101 is written as Voximplant's {"error": {"msg", "code"}} with HTTP
 * 200. */
#include <jansson.h>

#include "dialect/voximplant/voximplant.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ct;
    const uint8_t *body;
    size_t len;
    fuzz_split(data, size, &ct, &body, &len);
    char *b = fuzz_cstr(body, len); /* the server's bodies are NUL-terminated too */
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct roster_req r;
    memset(&r, 0, sizeof(r));
    r.ctx.arena = &a;
    r.dialect = &roster_voximplant_dialect;
    r.body = b;
    r.body_len = len;
    roster_buf_init(&r.resp);
    struct vox_call c = {.r = &r};
    int rc = vox_body_params(&c, *ct ? ct : NULL, b, len);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK((rc == -1) == c.failed);
    if (rc == 0) {
        for (size_t i = 0; i < c.n; i++)
            FUZZ_CHECK(c.k[i] && c.v[i] && vox_param(&c, c.k[i]));
    } else {
        json_error_t je;
        json_t *e = json_loadb(r.resp.data, r.resp.len, 0, &je);
        FUZZ_CHECK(r.status == 200 && e);
        json_t *code = json_object_get(json_object_get(e, "error"), "code");
        FUZZ_CHECK(json_integer_value(code) == VOX_EINVAL);
        json_decref(e);
    }
    roster_buf_release(&r.resp);
    roster_arena_release(&a);
    free(b);
    free(ct);
    return 0;
}
