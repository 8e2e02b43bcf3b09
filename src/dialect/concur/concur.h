/* The SAP Concur dialect: the bulk user listing GET /users (and /users/), Bearer auth, and
 * Concur's error body. Decodes the query string into a core query, encodes users into
 * Concur's PascalCase User; never touches SQL, never decides business rules.
 * Contract and choices: docs/concur.md.
 */
#ifndef ROSTER_DIALECT_CONCUR_H
#define ROSTER_DIALECT_CONCUR_H

#include <stddef.h>

#include "roster/http.h"
#include "roster/user.h"

extern const struct roster_dialect roster_concur_dialect;

/* Sends Concur's error body {"code", "error", "error_description"} with status, plus
 * "parameter" when param is not NULL (a 400 about one query parameter). */
void concur_error_param(struct roster_req *r, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* GET /users, GET /users/ */
void concur_users_list(struct roster_req *r);

/* Writes u as a Concur User object (docs/concur.md has the field mapping). */
void concur_user_encode(struct roster_jsonw *w, const struct roster_user *u,
                        struct roster_arena *a);

#endif
