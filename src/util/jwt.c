/* RS256 JWTs with OpenSSL's EVP interface (include/roster/jwt.h). */
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "roster/jwt.h"
#include "roster/util.h"

/* base64url (no padding; padding tolerated) -> bytes in the arena, NUL-terminated; -1 on a
 * bad character. */
static int b64url_decode(const char *s, size_t n, struct roster_arena *a, unsigned char **out,
                         size_t *outlen)
{
    unsigned char *o = roster_arena_alloc(a, n * 3 / 4 + 1);
    if (roster_b64url_decode(s, n, o, outlen) != 0)
        return -1;
    o[*outlen] = 0;
    *out = o;
    return 0;
}

static json_t *decode_json_part(const char *s, size_t n, const char *what, struct roster_arena *a,
                                struct roster_err *err)
{
    unsigned char *raw;
    size_t len;
    if (b64url_decode(s, n, a, &raw, &len) != 0) {
        roster_err_set(err, ROSTER_EINVAL, "the token's %s is not base64url", what);
        return NULL;
    }
    json_t *j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        roster_err_set(err, ROSTER_EINVAL, "the token's %s is not a JSON object", what);
        return NULL;
    }
    return j;
}

static int parse_token(const char *token, struct roster_arena *a, struct roster_jwt *out,
                       struct roster_err *err);

static const char *str_of(json_t *o, const char *k, struct roster_arena *a)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? roster_arena_strdup(a, json_string_value(v)) : NULL;
}

static void caches_track(void);

/* Per-thread cache of parsed tokens, by their exact text: a client sends one token on
 * every request for up to an hour, and decoding its two JSON parts was a tenth of a small
 * request. Only tokens that parsed are kept; the result is copied into the caller's arena
 * as a fresh parse would be. */
#define PARSE_CACHE 32
struct parse_slot {
    uint64_t hash;
    char *token;           /* cppcheck-suppress unusedStructMember ; used below */
    struct roster_jwt jwt; /* strings and sig in `token`'s block, signing_input unused */
};
static _Thread_local struct parse_slot parse_cache[PARSE_CACHE];

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static const char *dup_opt(struct roster_arena *a, const char *s)
{
    return s ? roster_arena_strdup(a, s) : NULL;
}

static bool parse_cached(const char *token, size_t len, uint64_t h, struct roster_arena *a,
                         struct roster_jwt *out)
{
    const struct parse_slot *e = &parse_cache[h % PARSE_CACHE];
    if (!e->token || e->hash != h || strncmp(e->token, token, len + 1) != 0)
        return false;
    *out = e->jwt;
    out->alg = dup_opt(a, e->jwt.alg);
    out->kid = dup_opt(a, e->jwt.kid);
    out->iss_str = dup_opt(a, e->jwt.iss_str);
    out->signing_input = token;
    out->sig = roster_arena_alloc(a, e->jwt.sig_len + 1);
    memcpy(out->sig, e->jwt.sig, e->jwt.sig_len);
    out->sig[e->jwt.sig_len] = 0;
    return true;
}

/* One block: the token, then alg, kid, iss_str and the signature. */
static void parse_remember(const char *token, size_t len, uint64_t h, const struct roster_jwt *t)
{
    const char *strs[3] = {t->alg, t->kid, t->iss_str};
    size_t need = len + 1 + t->sig_len;
    for (int i = 0; i < 3; i++)
        need += strs[i] ? strlen(strs[i]) + 1 : 0;
    char *block = malloc(need);
    if (!block)
        return;
    caches_track();
    struct parse_slot *e = &parse_cache[h % PARSE_CACHE];
    free(e->token);
    e->hash = h;
    e->token = block;
    e->jwt = *t;
    memcpy(block, token, len + 1);
    char *p = block + len + 1;
    const char **dst[3] = {&e->jwt.alg, &e->jwt.kid, &e->jwt.iss_str};
    for (int i = 0; i < 3; i++) {
        if (!strs[i])
            continue;
        size_t n = strlen(strs[i]) + 1;
        memcpy(p, strs[i], n);
        *dst[i] = p;
        p += n;
    }
    memcpy(p, t->sig, t->sig_len);
    e->jwt.sig = (unsigned char *)p;
    e->jwt.signing_input = NULL;
}

int roster_jwt_parse(const char *token, struct roster_arena *a, struct roster_jwt *out,
                     struct roster_err *err)
{
    size_t len = strlen(token);
    uint64_t h = fnv1a(0xcbf29ce484222325ull, token, len);
    if (parse_cached(token, len, h, a, out))
        return 0;
    int rc = parse_token(token, a, out, err);
    if (rc == 0)
        parse_remember(token, len, h, out);
    return rc;
}

static int parse_token(const char *token, struct roster_arena *a, struct roster_jwt *out,
                       struct roster_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return roster_err_set(err, ROSTER_EINVAL, "the bearer token is not a JWT (three parts)");
    json_t *h = decode_json_part(token, (size_t)(d1 - token), "header", a, err);
    if (!h)
        return ROSTER_EINVAL;
    json_t *p = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1), "payload", a, err);
    if (!p) {
        json_decref(h);
        return ROSTER_EINVAL;
    }
    out->alg = str_of(h, "alg", a);
    out->kid = str_of(h, "kid", a);
    json_t *iss = json_object_get(p, "iss");
    if (json_is_integer(iss)) {
        out->iss_is_int = true;
        out->iss = json_integer_value(iss);
    } else if (json_is_string(iss)) {
        out->iss_str = roster_arena_strdup(a, json_string_value(iss));
    }
    json_t *iat = json_object_get(p, "iat"), *exp = json_object_get(p, "exp");
    out->has_iat = json_is_integer(iat);
    out->iat = out->has_iat ? json_integer_value(iat) : 0;
    out->has_exp = json_is_integer(exp);
    out->exp = out->has_exp ? json_integer_value(exp) : 0;
    json_decref(h);
    json_decref(p);
    out->signing_input = token;
    out->signing_len = (size_t)(d2 - token);
    if (b64url_decode(d2 + 1, strlen(d2 + 1), a, &out->sig, &out->sig_len) != 0)
        return roster_err_set(err, ROSTER_EINVAL, "the token's signature is not base64url");
    return 0;
}

/* Per-thread cache of parsed public keys, by PEM text (a revoked key is never looked up:
 * the caller checks the store first). */
#define KEY_CACHE 8
struct key_slot {
    char *pem;     /* cppcheck-suppress unusedStructMember ; used through key_cache */
    EVP_PKEY *key; /* cppcheck-suppress unusedStructMember */
};
static _Thread_local struct key_slot key_cache[KEY_CACHE];
static _Thread_local unsigned key_next;

static EVP_PKEY *public_key(const char *pem)
{
    for (unsigned i = 0; i < KEY_CACHE; i++)
        if (key_cache[i].pem && strcmp(key_cache[i].pem, pem) == 0)
            return key_cache[i].key;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!k)
        return NULL;
    char *copy = strdup(pem);
    if (!copy) {
        EVP_PKEY_free(k);
        return NULL;
    }
    caches_track();
    unsigned slot = key_next++ % KEY_CACHE;
    free(key_cache[slot].pem);
    EVP_PKEY_free(key_cache[slot].key);
    key_cache[slot].pem = copy;
    key_cache[slot].key = k;
    return k;
}

/* Per-thread cache of verified signatures: a client signs one token and sends it on every
 * request for up to an hour, and RSA verification is the costliest step of a request's
 * authentication. An entry holds the exact signing input, signature and PEM it was
 * verified with, and the token's exp; it answers only for byte-identical input. Only
 * successes are kept; the caller still checks exp, the key's revocation and the issuer on
 * every request. */
#define SIG_CACHE 64
struct sig_slot {
    uint64_t hash;
    int64_t exp;
    char *input;      /* signing input, then the signature bytes */
    size_t input_len; /* cppcheck-suppress unusedStructMember */
    size_t sig_len;   /* cppcheck-suppress unusedStructMember */
    char *pem;
};
static _Thread_local struct sig_slot sig_cache[SIG_CACHE];

/* The caches above are freed when their thread exits (an HTTP pool thread at server stop):
 * a thread that fills one sets a thread-specific value whose destructor empties them. */
static pthread_once_t caches_once = PTHREAD_ONCE_INIT;
static pthread_key_t caches_key;

static void caches_free(void *unused)
{
    (void)unused;
    for (size_t i = 0; i < PARSE_CACHE; i++) {
        free(parse_cache[i].token);
        parse_cache[i].token = NULL;
    }
    for (size_t i = 0; i < KEY_CACHE; i++) {
        free(key_cache[i].pem);
        EVP_PKEY_free(key_cache[i].key);
        key_cache[i].pem = NULL;
        key_cache[i].key = NULL;
    }
    for (size_t i = 0; i < SIG_CACHE; i++) {
        free(sig_cache[i].input);
        free(sig_cache[i].pem);
        sig_cache[i].input = sig_cache[i].pem = NULL;
    }
}

static void caches_key_init(void)
{
    pthread_key_create(&caches_key, caches_free);
}

/* Called by a thread before it puts anything in a cache. */
static void caches_track(void)
{
    static const char mark = 1;
    pthread_once(&caches_once, caches_key_init);
    if (!pthread_getspecific(caches_key))
        pthread_setspecific(caches_key, &mark);
}

static uint64_t sig_hash(const struct roster_jwt *t, const char *pem)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ull, t->signing_input, t->signing_len);
    h = fnv1a(h, t->sig, t->sig_len);
    return fnv1a(h, pem, strlen(pem));
}

static bool sig_cached(const struct roster_jwt *t, const char *pem, uint64_t h)
{
    const struct sig_slot *e = &sig_cache[h % SIG_CACHE];
    return e->input && e->hash == h && e->exp == t->exp && e->input_len == t->signing_len &&
           e->sig_len == t->sig_len && memcmp(e->input, t->signing_input, t->signing_len) == 0 &&
           memcmp(e->input + t->signing_len, t->sig, t->sig_len) == 0 && strcmp(e->pem, pem) == 0;
}

static void sig_remember(const struct roster_jwt *t, const char *pem, uint64_t h)
{
    struct sig_slot *e = &sig_cache[h % SIG_CACHE];
    char *input = malloc(t->signing_len + t->sig_len + 1);
    char *copy = strdup(pem);
    if (!input || !copy) {
        free(input);
        free(copy);
        return;
    }
    caches_track();
    memcpy(input, t->signing_input, t->signing_len);
    memcpy(input + t->signing_len, t->sig, t->sig_len);
    free(e->input);
    free(e->pem);
    e->hash = h;
    e->exp = t->exp;
    e->input = input;
    e->input_len = t->signing_len;
    e->sig_len = t->sig_len;
    e->pem = copy;
}

int roster_jwt_verify_rs256(const struct roster_jwt *t, const char *public_pem,
                            struct roster_err *err)
{
    uint64_t h = sig_hash(t, public_pem);
    if (sig_cached(t, public_pem, h))
        return 0;
    EVP_PKEY *k = public_key(public_pem);
    if (!k)
        return roster_err_set(err, ROSTER_EINVAL, "the service account's public key is unreadable");
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
        return roster_err_set(err, ROSTER_EINVAL, "the service account's key is not an RSA key");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(ctx, t->sig, t->sig_len, (const unsigned char *)t->signing_input,
                              t->signing_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return roster_err_set(err, ROSTER_EAUTH, "the token's signature is not valid");
    sig_remember(t, public_pem, h);
    return 0;
}

static char *bio_text(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

int roster_rsa_keypair(int bits, char **private_pem, char **public_pem, struct roster_err *err)
{
    *private_pem = *public_pem = NULL;
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    int ok = k && priv && pub &&
             PEM_write_bio_PrivateKey_traditional(priv, k, NULL, NULL, 0, NULL, NULL) == 1 &&
             PEM_write_bio_PUBKEY(pub, k) == 1;
    if (ok) {
        *private_pem = bio_text(priv);
        *public_pem = bio_text(pub);
        ok = *private_pem && *public_pem;
    }
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(k);
    if (!ok) {
        free(*private_pem);
        free(*public_pem);
        *private_pem = *public_pem = NULL;
        return roster_err_set(err, ROSTER_EIO, "cannot generate an RSA key pair");
    }
    return 0;
}
