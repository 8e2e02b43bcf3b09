/* Unit tests of the Courier dialect's pieces that the official client cannot reach on
 * demand: the users-page cursor (src/dialect/courier/cursor.c: round trip, shape, every
 * kind of damage refused) and the error body with its x-should-retry header
 * (src/dialect/courier/dialect.c: no retry of a permanent 408/409/429/5xx), plus the
 * codec's item check (courier_item_check, src/dialect/courier/codec.c) that decides which
 * ingested users are refused.
 */
#include "dialect/courier/courier.h"
#include "test.h"

#include <jansson.h>

#include <stdlib.h>

static void test_cursor(void)
{
    const char *job = "6b03dafed5a64bb2ed24d8de";
    const int64_t idx[] = {0, 1, 100, 65535, 1234567890123, INT64_MAX};
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        char c[COURIER_CURSOR_MAX], got[ROSTER_ID_LEN + 1];
        int64_t back = -1;
        courier_cursor_encode(job, idx[i], c);
        CHECK_EQ_INT(strlen(c), 36);
        CHECK_EQ_INT(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     36);
        CHECK_EQ_INT(courier_cursor_decode(c, got, &back), 0);
        CHECK_EQ_STR(got, job);
        CHECK_EQ_INT(back, idx[i]);
    }
    char c[COURIER_CURSOR_MAX], other[COURIER_CURSOR_MAX], got[ROSTER_ID_LEN + 1];
    int64_t back;
    courier_cursor_encode(job, 100, c);
    courier_cursor_encode("6b03dafed5a64bb2ed24d8df", 100, other);
    CHECK(strcmp(c, other) != 0);
    /* every single character changed, to every other character: refused */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. ";
    int accepted = 0;
    for (size_t i = 0; i < strlen(c); i++) {
        for (size_t k = 0; alphabet[k]; k++) {
            char bad[COURIER_CURSOR_MAX];
            memcpy(bad, c, sizeof(bad));
            if (bad[i] == alphabet[k])
                continue;
            bad[i] = alphabet[k];
            accepted += courier_cursor_decode(bad, got, &back) == 0;
        }
    }
    CHECK_EQ_INT(accepted, 0);
    char longer[COURIER_CURSOR_MAX + 2];
    snprintf(longer, sizeof(longer), "%sA", c);
    CHECK_EQ_INT(courier_cursor_decode(longer, got, &back), -1);
    c[35] = '\0';
    CHECK_EQ_INT(courier_cursor_decode(c, got, &back), -1);
    CHECK_EQ_INT(courier_cursor_decode("", got, &back), -1);
    CHECK_EQ_INT(courier_cursor_decode(NULL, got, &back), -1);
}

static void test_error_body(void)
{
    const struct {
        int status;
        const char *retry; /* x-should-retry, or NULL when the client may retry or won't */
    } cases[] = {{400, NULL},    {401, NULL},    {404, NULL},    {405, NULL},
                 {413, NULL},    {408, "false"}, {409, "false"}, {429, "false"},
                 {500, "false"}, {502, "false"}, {503, NULL}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct roster_req r;
        memset(&r, 0, sizeof(r));
        roster_buf_init(&r.resp);
        roster_courier_dialect.error(&r, cases[i].status, "job \"x\" not found");
        CHECK_EQ_INT(r.status, cases[i].status);
        roster_buf_addch(&r.resp, '\0');
        json_error_t je;
        json_t *body = json_loads(r.resp.data, 0, &je);
        CHECK(body != NULL);
        CHECK_EQ_INT(json_object_size(body), 2);
        CHECK_EQ_STR(json_string_value(json_object_get(body, "message")), "job \"x\" not found");
        CHECK_EQ_STR(json_string_value(json_object_get(body, "type")), "invalid_request_error");
        json_decref(body);
        const char *retry = NULL;
        for (size_t h = 0; h < r.nheaders; h++)
            if (strcmp(r.headers[h].name, "x-should-retry") == 0)
                retry = r.headers[h].value;
        CHECK_EQ_STR(retry, cases[i].retry);
        roster_buf_release(&r.resp);
    }
    CHECK_EQ_INT(roster_courier_dialect.auth, ROSTER_AUTH_BEARER);
}

static int check(const char *json, struct roster_err *err)
{
    roster_err_clear(err);
    return courier_item_check(json, strlen(json), err);
}

static void test_item_check(void)
{
    struct roster_err err;
    const char *ok[] = {
        "{}",
        "{\"recipient\":\"u1\",\"profile\":{\"email\":\"a@b.c\"},\"data\":{\"x\":[1]}}",
        "{\"to\":{\"user_id\":\"u\",\"email\":null,\"phone_number\":\"+1\",\"list_id\":null}}",
        "{\"to\":{\"list_id\":\"team\",\"tenant_id\":5}}",
        "{\"recipient\":null,\"profile\":null,\"to\":null,\"data\":null,\"preferences\":null}",
        "{\"preferences\":{\"notifications\":{}},\"unknown\":{\"kept\":true},\"status\":1}",
        "{\"profile\":{\"email\":\"a@b.c\",\"nested\":{\"email\":5}}}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int rc = check(ok[i], &err);
        CHECK_EQ_INT(rc, 0);
        if (rc)
            fprintf(stderr, "    %s: %s\n", ok[i], err.msg);
    }
    const struct {
        const char *json, *msg;
    } bad[] = {
        {"\"u1\"", "a user must be an object"},
        {"[]", "a user must be an object"},
        {"null", "a user must be an object"},
        {"{\"recipient\":5}", "recipient must be a string"},
        {"{\"profile\":\"x\"}", "profile must be an object"},
        {"{\"to\":[]}", "to must be an object"},
        {"{\"data\":[1]}", "data must be an object"},
        {"{\"data\":\"x\"}", "data must be an object"},
        {"{\"preferences\":true}", "preferences must be an object"},
        {"{\"to\":{\"user_id\":5}}", "to.user_id must be a string"},
        {"{\"to\":{\"email\":{}}}", "to.email must be a string"},
        {"{\"to\":{\"list_id\":5}}", "to.list_id must be a string"},
        {"{\"profile\":{\"phone_number\":1}}", "profile.phone_number must be a string"},
        {"{\"recipient\":\"ok\",\"recipient\":7}", "recipient must be a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_INT(check(bad[i].json, &err), ROSTER_EINVAL);
        CHECK_EQ_STR(err.msg, bad[i].msg);
    }
}

int main(void)
{
    test_cursor();
    test_error_body();
    test_item_check();
    return test_finish();
}
