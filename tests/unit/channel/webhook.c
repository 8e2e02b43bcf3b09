/* Unit tests of webhook signing and secrets (src/channel/webhook.c, src/core/webhooks.c):
 * the Standard Webhooks reference vector (the one the specification's libraries test
 * against), secrets with and without base64 padding, refused secrets, the endpoint's event
 * filter and the event body.
 */
#include <string.h>

#include "roster/webhook.h"
#include "test.h"

static void test_sign(void)
{
    char sig[64];
    const char *body = "{\"test\": 2432232314}";
    CHECK(roster_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), sig));
    CHECK_EQ_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* another timestamp, id or body: another signature */
    CHECK(roster_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body), sig));
    CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
    CHECK(!roster_webhook_sign("nope", "id", 1, body, strlen(body), sig));
    CHECK_EQ_STR(sig, "");
}

static void test_secret(void)
{
    unsigned char key[64];
    size_t n;
    CHECK(
        roster_webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof(key), &n));
    CHECK_EQ_INT(n, 24);
    /* padded and unpadded spellings of 16 bytes */
    CHECK(roster_webhook_secret_key("whsec_AAECAwQFBgcICQoLDA0ODw==", key, sizeof(key), &n));
    CHECK_EQ_INT(n, 16);
    CHECK_EQ_INT(key[15], 15);
    CHECK(roster_webhook_secret_key("whsec_AAECAwQFBgcICQoLDA0ODw", key, sizeof(key), &n));
    CHECK_EQ_INT(n, 16);
    CHECK(!roster_webhook_secret_key("whsec_", key, sizeof(key), &n));
    CHECK(!roster_webhook_secret_key("whsec_abc", key, sizeof(key), &n)); /* too short */
    CHECK(!roster_webhook_secret_key("whsec_AAEC AwQFBgcICQoLDA0ODw", key, sizeof(key), &n));
    CHECK(!roster_webhook_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof(key), &n));
    CHECK(!roster_webhook_secret_key("whsec_AAECAwQFBgcICQoLDA0ODw===", key, sizeof(key), &n));
    CHECK(!roster_webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, 8, &n));
    CHECK(!roster_webhook_secret_key(NULL, key, sizeof(key), &n));
}

static void test_filter(void)
{
    struct roster_webhook w;
    memset(&w, 0, sizeof(w));
    CHECK(roster_webhook_takes(&w, "job.completed"));
    w.events = "job.completed,message.sent";
    CHECK(roster_webhook_takes(&w, "job.completed"));
    CHECK(roster_webhook_takes(&w, "message.sent"));
    CHECK(!roster_webhook_takes(&w, "message.sen"));
    CHECK(!roster_webhook_takes(&w, "job"));
    CHECK(!roster_webhook_takes(&w, "schedule.applied"));
    w.disabled_ms = 1;
    CHECK(!roster_webhook_takes(&w, "job.completed"));
    CHECK(roster_webhook_type_known("message.created", 15));
    CHECK(!roster_webhook_type_known("message.create", 14));
    CHECK(!roster_webhook_type_known("", 0));
}

static void test_body(void)
{
    struct roster_arena a;
    roster_arena_init(&a, 0);
    CHECK_EQ_STR(roster_webhook_body("job.completed", 1614265330123, "{\"a\":1}", &a),
                 "{\"type\":\"job.completed\",\"timestamp\":\"2021-02-25T15:02:10.123Z\","
                 "\"data\":{\"a\":1}}");
    roster_arena_release(&a);
}

int main(void)
{
    test_sign();
    test_secret();
    test_filter();
    test_body();
    return test_finish();
}
