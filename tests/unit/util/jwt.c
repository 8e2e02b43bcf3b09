/* Unit tests of RS256 JWTs (src/util/jwt.c): parsing and signature verification, and that
 * the per-thread caches of parsed tokens and verified signatures answer exactly as a fresh
 * parse and verification would: a token that differs in one byte, a signature checked
 * with another key, and tokens beyond the caches' size.
 */
#include "roster/jwt.h"
#include "jwt_sign.h"
#include "test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdlib.h>

static struct roster_arena arena;

static char *b64url(const unsigned char *p, size_t n)
{
    return test_b64url(&arena, p, n);
}

/* "<header>.<payload>.<RS256 signature with private_pem>" */
static const char *sign(const char *private_pem, const char *header, const char *payload)
{
    int ok;
    const char *t = test_jwt_sign(&arena, private_pem, header, payload, &ok);
    CHECK(ok);
    return t;
}

/* 0 when token parses and verifies with public_pem, else the failing code */
static int check(const char *token, const char *public_pem)
{
    struct roster_err err = {0};
    struct roster_jwt t;
    int rc = roster_jwt_parse(token, &arena, &t, &err);
    if (rc)
        return rc;
    return roster_jwt_verify_rs256(&t, public_pem, &err);
}

static void test_parse(const char *priv)
{
    const char *tok = sign(priv, "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
                           "{\"iss\":\"42\",\"iat\":1000,\"exp\":2000}");
    for (int round = 0; round < 3; round++) { /* a fresh parse, then the cached one */
        struct roster_err err = {0};
        struct roster_jwt t;
        CHECK_EQ_INT(roster_jwt_parse(tok, &arena, &t, &err), 0);
        CHECK_EQ_STR(t.alg, "RS256");
        CHECK_EQ_STR(t.kid, "k1");
        CHECK(!t.iss_is_int);
        CHECK_EQ_STR(t.iss_str, "42");
        CHECK(t.has_iat && t.has_exp);
        CHECK_EQ_INT(t.iat, 1000);
        CHECK_EQ_INT(t.exp, 2000);
        CHECK(t.signing_input == tok);
        CHECK_EQ_INT(t.signing_len, strrchr(tok, '.') - tok);
        CHECK_EQ_INT(t.sig_len, 256);
    }
    const char *tok2 =
        sign(priv, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", "{\"iss\":7,\"iat\":1,\"exp\":3}");
    for (int round = 0; round < 2; round++) {
        struct roster_err err = {0};
        struct roster_jwt t;
        CHECK_EQ_INT(roster_jwt_parse(tok2, &arena, &t, &err), 0);
        CHECK_EQ_STR(t.kid, "k2");
        CHECK(t.iss_is_int);
        CHECK_EQ_INT(t.iss, 7);
        CHECK(t.iss_str == NULL);
    }
    /* malformed tokens are refused every time, also next to cached ones */
    struct roster_err err = {0};
    struct roster_jwt t;
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_INT(roster_jwt_parse("a.b", &arena, &t, &err), ROSTER_EINVAL);
        CHECK_EQ_INT(roster_jwt_parse("e30.e30.!!", &arena, &t, &err), ROSTER_EINVAL);
        CHECK_EQ_INT(roster_jwt_parse("W10.e30.AA", &arena, &t, &err), ROSTER_EINVAL);
    }
}

static void test_verify(const char *priv, const char *pub, const char *other_pub)
{
    const char *tok = sign(priv, "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
                           "{\"iss\":\"42\",\"iat\":1000,\"exp\":2000}");
    CHECK_EQ_INT(check(tok, pub), 0);
    CHECK_EQ_INT(check(tok, pub), 0); /* cached */
    /* the same token checked with another key: refused, before and after the right one */
    CHECK_EQ_INT(check(tok, other_pub), ROSTER_EAUTH);
    CHECK_EQ_INT(check(tok, pub), 0);
    CHECK_EQ_INT(check(tok, other_pub), ROSTER_EAUTH);
    /* one byte of the signature changed (its last character: the whole last byte's bits) */
    char *bad = roster_arena_strdup(&arena, tok);
    char *last = bad + strlen(bad) - 1;
    *last = *last == 'A' ? 'Q' : 'A';
    CHECK_EQ_INT(check(bad, pub), ROSTER_EAUTH);
    CHECK_EQ_INT(check(bad, pub), ROSTER_EAUTH);
    /* the payload changed under the old signature (a later exp) */
    const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    const char *payload = "{\"iss\":\"42\",\"iat\":1000,\"exp\":2999}";
    const char *forged =
        roster_arena_printf(&arena, "%.*s.%s%s", (int)(dot1 - tok), tok,
                            b64url((const unsigned char *)payload, strlen(payload)), dot2);
    CHECK_EQ_INT(check(forged, pub), ROSTER_EAUTH);
    CHECK_EQ_INT(check(forged, pub), ROSTER_EAUTH);
    CHECK_EQ_INT(check(tok, pub), 0);
    /* more tokens than the caches hold: each still answers right */
    const char *many[100];
    for (int i = 0; i < 100; i++)
        many[i] =
            sign(priv, "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
                 roster_arena_printf(&arena, "{\"iss\":\"42\",\"iat\":%d,\"exp\":%d}", i, i + 60));
    bool all_ok = true;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 100; i++)
            all_ok = all_ok && check(many[i], pub) == 0 && check(many[i], other_pub) != 0;
    CHECK(all_ok);
}

int main(void)
{
    roster_arena_init(&arena, 0);
    struct roster_err err = {0};
    char *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL;
    CHECK_EQ_INT(roster_rsa_keypair(2048, &priv, &pub, &err), 0);
    CHECK_EQ_INT(roster_rsa_keypair(2048, &priv2, &pub2, &err), 0);
    if (priv && pub && pub2) {
        test_parse(priv);
        test_verify(priv, pub, pub2);
    }
    free(priv);
    free(pub);
    free(priv2);
    free(pub2);
    roster_arena_release(&arena);
    return test_finish();
}
