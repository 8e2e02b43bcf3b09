/* SCIM /Bulk (src/dialect/scim/bulk.c): its limits, advertised by /ServiceProviderConfig,
 * and what it needs of /Users: the decoding of a new user (for batches of POST /Users)
 * and one operation on a user (POST, PUT, PATCH, DELETE) as a struct scim_gres.
 */
#ifndef ROSTER_DIALECT_SCIM_BULK_H
#define ROSTER_DIALECT_SCIM_BULK_H

#include <jansson.h>

#include "dialect/scim/groups.h"
#include "roster/user.h"

#define SCIM_BULK_MAX_OPS 1000         /* maxOperations */
#define SCIM_BULK_MAX_PAYLOAD 1048576  /* maxPayloadSize, bytes */

/* Decodes data, a User resource of a POST, into *u (a new user; strings in ctx's arena)
 * and *password (NULL: none). 0, or non-zero with out holding the 400. */
int scim_bulk_user_decode(struct roster_ctx *ctx, json_t *data, struct roster_user *u,
                          const char **password, struct scim_gres *out);
/* One operation (method "POST", "PUT", "PATCH", "DELETE") on user id (NULL for POST) with
 * body data and If-Match version if_match (0: none), into out; a PATCH answers 200 with
 * its version. */
void scim_bulk_user_op(struct roster_ctx *ctx, const char *base, const char *method,
                       const char *id, json_t *data, int64_t if_match, struct scim_gres *out);

#endif
