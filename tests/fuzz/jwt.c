/* JWT parsing (src/util/jwt.c) on any token text, then RS256 verification of what parses
 * with a key made at start: parse either fills the token (its signing input a prefix of the
 * text, up to the second '.') or answers ROSTER_EINVAL with a message; a token nobody signed
 * never verifies. */
#include "fuzz.h"
#include "roster/jwt.h"

static char *pub_pem;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *priv = NULL;
    struct roster_err err = {0};
    if (roster_rsa_keypair(2048, &priv, &pub_pem, &err) != 0)
        abort();
    free(priv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = fuzz_cstr(data, size);
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct roster_jwt t;
    memset(&t, 0, sizeof(t));
    struct roster_err err = {0};
    int rc = roster_jwt_parse(token, &a, &t, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == ROSTER_EINVAL && err.code == ROSTER_EINVAL && err.msg[0]);
    } else {
        FUZZ_CHECK(t.signing_input == token && t.signing_len < strlen(token));
        FUZZ_CHECK(token[t.signing_len] == '.');
        FUZZ_CHECK(memchr(token, '.', t.signing_len) != NULL);
        struct roster_err verr = {0};
        FUZZ_CHECK(roster_jwt_verify_rs256(&t, pub_pem, &verr) == ROSTER_EAUTH);
    }
    roster_arena_release(&a);
    free(token);
    return 0;
}
