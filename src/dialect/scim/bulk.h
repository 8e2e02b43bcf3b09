/* SCIM /Bulk (src/dialect/scim/bulk.c) and what it needs of /Users (bulk_users.c): the
 * decoding of a new user (for batches of POST /Users) and one operation on a user (POST,
 * PUT, PATCH, DELETE) as a struct scim_gres, over users.c's per-operation functions. The
 * limits are scim.h's SCIM_BULK_MAX_OPERATIONS and SCIM_BULK_MAX_PAYLOAD.
 */
#ifndef ROSTER_DIALECT_SCIM_BULK_H
#define ROSTER_DIALECT_SCIM_BULK_H

#include <jansson.h>

#include "dialect/scim/groups.h"
#include "roster/user.h"

/* Decodes data, a User resource of a POST, into *u (a new user; strings in ctx's arena)
 * and *password (NULL: none). 0, or non-zero with out holding the 400. */
int scim_bulk_user_decode(struct roster_ctx *ctx, json_t *data, struct roster_user *u,
                          const char **password, struct scim_gres *out);
/* One operation (method "POST", "PUT", "PATCH", "DELETE") of request r on user id (NULL
 * for POST) with body data and If-Match version if_match (0: none), into out. */
void scim_bulk_user_op(struct roster_req *r, const char *method, const char *id, json_t *data,
                       int64_t if_match, struct scim_gres *out);

#endif
