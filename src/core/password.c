/* yescrypt password hashes through libxcrypt (include/roster/password.h). */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "roster/password.h"
#include "roster/util.h"

int roster_password_hash(const char *password, struct roster_arena *a, const char **out,
                         struct roster_err *err)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libxcrypt takes them from the kernel (getentropy) */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt)))
        return roster_err_set(err, ROSTER_EIO, "cannot make a password salt");
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    const char *h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
    int code = 0;
    if (!h || h[0] == '*')
        code = roster_err_set(err, ROSTER_EIO, "cannot hash the password");
    else
        *out = roster_arena_strdup(a, h);
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return code;
}

bool roster_password_check(const char *password, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return false;
    const char *h = crypt_rn(password, hash, cd, (int)sizeof(*cd));
    size_t n = strlen(hash);
    bool ok = h && h[0] != '*' && strlen(h) == n && roster_ct_equal(h, hash, n);
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}
