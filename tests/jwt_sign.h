/* RS256 JWT signing for tests (roster only verifies tokens): base64url without padding and
 * "<header>.<payload>.<signature>" signed with a PEM private key. Header-only; include from
 * one .c file per program.
 */
#ifndef ROSTER_TEST_JWT_SIGN_H
#define ROSTER_TEST_JWT_SIGN_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "roster/arena.h"

/* p[0..n) in base64url without padding, in a. */
static inline char *test_b64url(struct roster_arena *a, const unsigned char *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *o = roster_arena_alloc(a, n * 4 / 3 + 4), *q = o;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *q++ = al[v >> 18];
        *q++ = al[(v >> 12) & 63];
        *q++ = al[(v >> 6) & 63];
        *q++ = al[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *q++ = al[v >> 18];
        *q++ = al[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *q++ = al[v >> 18];
        *q++ = al[(v >> 12) & 63];
        *q++ = al[(v >> 6) & 63];
    }
    *q = '\0';
    return o;
}

/* "<header>.<payload>.<RS256 signature with private_pem>" in a; *ok: whether it signed. */
static inline const char *test_jwt_sign(struct roster_arena *a, const char *private_pem,
                                        const char *header, const char *payload, int *ok)
{
    const char *input = roster_arena_printf(
        a, "%s.%s", test_b64url(a, (const unsigned char *)header, strlen(header)),
        test_b64url(a, (const unsigned char *)payload, strlen(payload)));
    BIO *bio = BIO_new_mem_buf(private_pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    unsigned char sig[512];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    *ok = k && ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
          EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return roster_arena_printf(a, "%s.%s", input, test_b64url(a, sig, *ok ? sl : 0));
}

#endif
