/* SCIM /Groups and /Bulk (src/dialect/scim/groups.c, bulk.c): the HTTP handlers and the
 * per-operation functions that /Bulk calls as well. A SCIM group is a roster group of kind
 * ROSTER_GROUP_PLAIN; its SCIM id is its num_id as a decimal string (docs/scim.md).
 */
#ifndef ROSTER_DIALECT_SCIM_GROUPS_H
#define ROSTER_DIALECT_SCIM_GROUPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "roster/http.h"

/* The outcome of one operation on a resource: a direct answer, or one /Bulk operation's
 * status, location, version and (for errors) response. */
struct scim_gres {
    int status;            /* 200, 201, 204, or the error's */
    const char *scim_type; /* an error's scimType, or NULL */
    const char *detail;    /* an error's detail (ctx arena) */
    const char *id;        /* the resource's id (location) */
    int64_t version;       /* the resource's version (ETag), 0: none */
    const char *body;      /* success: the resource's JSON (ctx arena), or NULL */
};

/* The absolute base URL of the SCIM service as the caller reached it
 * ("http://host:port/scim/v2"), in r's arena. */
const char *scim_groups_base(struct roster_req *r);

/* One operation on /Groups: data is the request body (a Group resource or a PatchOp), id
 * the group's SCIM id, if_match the version an If-Match asked for (0: none). */
void scim_group_post(struct roster_ctx *ctx, const char *base, json_t *data, struct scim_gres *out);
void scim_group_put(struct roster_ctx *ctx, const char *base, const char *id, json_t *data,
                    int64_t if_match, struct scim_gres *out);
void scim_group_patch(struct roster_ctx *ctx, const char *base, const char *id, json_t *data,
                      int64_t if_match, bool want_body, struct scim_gres *out);
void scim_group_delete(struct roster_ctx *ctx, const char *id, int64_t if_match,
                       struct scim_gres *out);

/* HTTP handlers (route table: src/dialect/routes.c) */
void scim_groups_list(struct roster_req *r);
void scim_groups_get(struct roster_req *r);
void scim_groups_post(struct roster_req *r);
void scim_groups_put(struct roster_req *r);
void scim_groups_patch(struct roster_req *r);
void scim_groups_delete(struct roster_req *r);
void scim_bulk(struct roster_req *r);

/* the error answer of the SCIM dialect (RFC 7644 section 3.12) */
void scim_groups_error(struct roster_req *r, int status, const char *scim_type, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* the answer of a finished operation (error body, or the resource with Location and ETag) */
void scim_groups_answer(struct roster_req *r, const struct scim_gres *res);
/* The version If-Match asks for: 0 for none or "*", -1 (answered 412/400) for one that
 * can never match. */
int64_t scim_groups_if_match(struct roster_req *r);

#endif
