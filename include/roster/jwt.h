/* JSON Web Tokens signed with RS256 (RFC 7519 / 7515), as Voximplant service accounts use
 * them: parsing (header alg/kid, claims iss/iat/exp), signature verification with a PEM
 * public key (OpenSSL), and RSA key pairs for new service accounts. No policy here: the
 * caller decides what alg, issuer and lifetime it accepts.
 */
#ifndef ROSTER_JWT_H
#define ROSTER_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"

struct roster_jwt {
    const char *alg; /* header "alg" (NULL if absent or not a string) */
    const char *kid; /* header "kid" */
    /* claim "iss": a JSON integer (iss_is_int, iss) or a string (iss_str) */
    bool iss_is_int;
    int64_t iss;
    const char *iss_str;
    bool has_iat, has_exp; /* integer claims present */
    int64_t iat, exp;
    const char *signing_input; /* "<header>.<payload>" as received */
    size_t signing_len;
    unsigned char *sig; /* the decoded signature */
    size_t sig_len;
};

/* Splits and decodes token (three base64url parts, JSON objects for header and payload).
 * ROSTER_EINVAL with a message naming what is malformed. Strings live in a. */
int roster_jwt_parse(const char *token, struct roster_arena *a, struct roster_jwt *out,
                     struct roster_err *err);
/* Verifies t's RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) with public_pem (an RSA
 * SubjectPublicKeyInfo PEM). Parsed keys are cached per thread by their PEM text, and so
 * are successful verifications, by the exact signing input, signature, exp and PEM (a
 * repeated token is not verified again; time, issuer and revocation stay the caller's
 * checks). 0 when valid, ROSTER_EAUTH when not, ROSTER_EINVAL when the key cannot be
 * read. */
int roster_jwt_verify_rs256(const struct roster_jwt *t, const char *public_pem,
                            struct roster_err *err);
/* A new RSA key pair of bits bits: *private_pem ("BEGIN RSA PRIVATE KEY", PKCS#1) and
 * *public_pem ("BEGIN PUBLIC KEY"), heap strings the caller frees. */
int roster_rsa_keypair(int bits, char **private_pem, char **public_pem, struct roster_err *err);

#endif
