/* User passwords: stored only as a one-way yescrypt hash (libxcrypt's crypt_rn), never
 * returned by any API. */
#ifndef ROSTER_PASSWORD_H
#define ROSTER_PASSWORD_H

#include <stdbool.h>

#include "roster/arena.h"
#include "roster/err.h"

/* A fresh "$y$..." hash of password (random salt) in the arena. ROSTER_EIO if the
 * library refuses. */
int roster_password_hash(const char *password, struct roster_arena *a, const char **out,
                         struct roster_err *err);
/* Whether password matches hash (a crypt(3) string). */
bool roster_password_check(const char *password, const char *hash);

#endif
