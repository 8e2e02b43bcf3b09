/* The JumpCloud user decoder (src/dialect/jumpcloud/user_json.c) on what the bulk and v1
 * endpoints hand it: a body the scanner accepted, or one element of a top-level array (a
 * bulk item). Each of the three modes either decodes or answers ROSTER_EINVAL with a
 * message; a decoded create is encoded back (systemuserreturn), which must be valid JSON
 * holding the username. */
#include <jansson.h>

#include "dialect/jumpcloud/jumpcloud.h"
#include "fuzz.h"
#include "roster/jsonscan.h"
#include "roster/jsonw.h"

static void decode_one(const char *json, size_t len, struct roster_arena *a)
{
    static const int modes[] = {JC_DECODE_CREATE, JC_DECODE_UPDATE, JC_DECODE_PUT};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct roster_user u;
        memset(&u, 0, sizeof(u));
        struct roster_err err = {0};
        int rc = jc_user_decode(json, len, modes[m], &u, a, &err);
        if (rc != 0) {
            FUZZ_CHECK(rc == ROSTER_EINVAL && err.code == ROSTER_EINVAL && err.msg[0]);
            continue;
        }
        for (int f = 0; f < RU_NFIELDS; f++)
            FUZZ_CHECK(!u.f[f] || modes[m] == JC_DECODE_CREATE || ROSTER_USER_FIELD_SET(&u, f));
        if (modes[m] != JC_DECODE_CREATE)
            continue;
        struct roster_buf b;
        roster_buf_init(&b);
        struct roster_jsonw w;
        roster_jsonw_init(&w, &b);
        jc_user_encode(&w, &u, NULL, 0);
        json_error_t je;
        json_t *back = json_loadb(b.data, b.len, 0, &je);
        if (!back)
            fprintf(stderr, "encoded: %.*s\nerror: %s\n", (int)b.len, b.data, je.text);
        FUZZ_CHECK(json_is_object(back));
        const char *un = json_string_value(json_object_get(back, "username"));
        FUZZ_CHECK(u.f[RU_USERNAME] ? un && strcmp(un, u.f[RU_USERNAME]) == 0 : 1);
        json_decref(back);
        roster_buf_release(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct roster_json_span *spans;
    size_t n;
    char top;
    struct roster_err err;
    if (roster_json_scan(text, size, &a, &spans, &n, &top, &err) == 0) { /* the precondition */
        decode_one(text, size, &a);
        for (size_t i = 0; i < n; i++)
            decode_one(text + spans[i].start, spans[i].end - spans[i].start, &a);
    }
    roster_arena_release(&a);
    return 0;
}
