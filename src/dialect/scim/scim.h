/* The SCIM 2.0 dialect (RFC 7643 schema, RFC 7644 protocol) at /scim/v2: Bearer auth with
 * the organisation's API keys, application/scim+json out (application/json accepted in),
 * RFC 7644 §3.12 errors. Decodes SCIM resources into core users (and groups: groups.c) and
 * encodes core results as SCIM resources; never touches SQL, never decides business rules.
 * Contract, attribute mapping and choices: docs/scim.md.
 *
 * Files: dialect.c (the descriptor, errors, responses, meta, ETags, preconditions,
 * attribute projection), users.c (/Users), discovery.c (/ServiceProviderConfig,
 * /ResourceTypes, /Schemas), filter_users.c (scimfilter: the filter of /Users lists),
 * groups.c and bulk.c (scimgroups).
 */
#ifndef ROSTER_DIALECT_SCIM_H
#define ROSTER_DIALECT_SCIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/http.h"
#include "roster/query.h"
#include "roster/user.h"

/* --- schema and message URNs --- */
#define SCIM_SCHEMA_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_SCHEMA_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_SCHEMA_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_SCHEMA_SPC "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_SCHEMA_RESOURCE_TYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_SCHEMA_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Schema"
#define SCIM_MSG_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_MSG_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_MSG_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_MSG_SEARCH "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCIM_MSG_BULK_REQUEST "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_MSG_BULK_RESPONSE "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

/* --- limits, advertised by /ServiceProviderConfig and enforced --- */
#define SCIM_BULK_MAX_OPERATIONS 1000 /* bulk.maxOperations */
#define SCIM_BULK_MAX_PAYLOAD 1048576 /* bulk.maxPayloadSize, bytes */
#define SCIM_FILTER_MAX_RESULTS 1000  /* filter.maxResults: the largest count of a page */
#define SCIM_DEFAULT_COUNT 100        /* count when a list request gives none */
#define SCIM_LOCATION_MAX 512         /* a resource's location URL, bytes with the NUL */
#define SCIM_ETAG_MAX 32              /* W/"<version>" with the NUL */

extern const struct roster_dialect roster_scim_dialect;

/* --- answers ---
 * An operation's answer, written into a struct rather than the response so that /Bulk runs
 * one operation without an HTTP request of its own: the HTTP handlers send it with
 * scim_out_send, /Bulk copies status, location, etag and body into its BulkResponse. */
struct scim_out {
    int status;
    struct roster_buf body;           /* the resource or the Error (JSON text); empty for 204 */
    char location[SCIM_LOCATION_MAX]; /* "" when none */
    char etag[SCIM_ETAG_MAX];         /* "" when none */
    const char *scim_type;            /* of an error: "uniqueness", ...; NULL when none */
};
void scim_out_init(struct scim_out *o);
void scim_out_release(struct scim_out *o);
/* Writes an Error (RFC 7644 §3.12) with status, scimType (NULL: none) and the detail into
 * o; returns -1 (for `return scim_out_error(...)`). */
int scim_out_error(struct scim_out *o, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A core failure (rc != 0) as an Error in o (scim_fail's mapping); returns -1. A 5xx is
 * logged with err->detail. */
int scim_out_fail(struct scim_out *o, int rc, const struct roster_err *err);
/* Sends o as the response: status, body (application/scim+json), Location and ETag. */
void scim_out_send(struct roster_req *r, struct scim_out *o);

/* Sends an Error: {"schemas":[Error], "status":"<status>", "scimType":..., "detail":...}
 * (scimType left out when NULL). */
void scim_error(struct roster_req *r, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends a core failure: ENOTFOUND 404, ECONFLICT 409 uniqueness, EINVAL 400 invalidValue,
 * ESTALE 412, ETOOBIG 413 tooLarge, others as roster_http_status without a scimType. */
void scim_fail(struct roster_req *r, int rc, const struct roster_err *err);
/* scim_type and status of a core error code (the mapping above). */
int scim_status_of(int rc, const char **scim_type);
/* Starts an application/scim+json answer of status; returns w over the body. */
struct roster_jsonw *scim_resp_json(struct roster_req *r, int status, struct roster_jsonw *w);
/* Appends the compact text of j to o->body, sets o->status and the content. */
void scim_out_json(struct scim_out *o, int status, json_t *j);

/* --- request helpers --- */
/* "<scheme>://<Host>/scim/v2" of the request (https when the server has TLS; X-Forwarded-Proto
 * and X-Forwarded-Host are not trusted), in the request's arena. */
const char *scim_base_url(struct roster_req *r);
/* Parses a request body as one JSON object (duplicate keys refused) into *out; on failure
 * writes 400 invalidSyntax naming the position into o and returns -1. */
int scim_parse_body(const char *body, size_t len, json_t **out, struct scim_out *o);

/* --- meta and versions --- */
/* W/"<version>" */
void scim_etag(char out[SCIM_ETAG_MAX], int64_t version);
/* The "meta" object of a resource: resourceType, created, lastModified (RFC 3339),
 * location (base + "/" + endpoint + "/" + id) and version (the ETag). */
json_t *scim_meta(const char *resource_type, const char *base, const char *endpoint, const char *id,
                  int64_t created_ms, int64_t modified_ms, int64_t version);
/* If-Match / If-None-Match against a resource at version: 0 to go on; otherwise a 412
 * Error in o ("precondition failed") and -1. if_match "*" matches any version; a list of
 * tags matches when one of them is W/"<version>" or "<version>". NULL: no condition. */
int scim_precondition(const char *if_match, const char *if_none_match, int64_t version,
                      struct scim_out *o);

/* --- attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9) --- */
struct scim_proj {
    const char **attrs; /* attributes=: only these (with id and schemas, always) */
    size_t nattrs;
    const char **excl; /* excludedAttributes=: all but these */
    size_t nexcl;
};
/* Parses the comma-separated lists (either may be NULL) into p; names are kept as given
 * (matched without regard to case), the core schema's URN prefix (core_urn, e.g.
 * SCIM_SCHEMA_USER) removed. */
void scim_proj_parse(struct scim_proj *p, const char *attributes, const char *excluded,
                     const char *core_urn, struct roster_arena *a);
/* The projection of the request's query parameters attributes / excludedAttributes. */
void scim_proj_of_req(struct scim_proj *p, struct roster_req *r, const char *core_urn);
bool scim_proj_empty(const struct scim_proj *p);
/* Removes from resource (a JSON object) what p does not want: top-level attributes,
 * sub-attributes ("name.givenName", also of every element of a multi-valued attribute) and
 * those of extension objects ("urn:...:enterprise:2.0:User:department"). "id" and
 * "schemas" are always kept. */
void scim_project(json_t *resource, const struct scim_proj *p);

/* --- /Users (users.c) --- */
/* Decodes one SCIM User (the JSON text json[0..len)) into out: every attribute roster keeps
 * (docs/scim.md), read-only ones (id, meta, groups) ignored. put: a full replacement, so out
 * sets (out->set) every field SCIM maps, absent ones NULL; otherwise a create. Errors:
 * ROSTER_EINVAL naming the attribute (400 invalidValue / invalidSyntax). Strings in a. */
int scim_user_decode(const char *json, size_t len, bool put, struct roster_user *out,
                     struct roster_arena *a, struct roster_err *err);
/* scim_user_decode of a parsed document, with the write-only password (NULL: none). */
int scim_user_decode_json(json_t *doc, bool put, struct roster_user *out, const char **password,
                          struct roster_arena *a, struct roster_err *err);
/* The full SCIM representation of u (core and enterprise schemas, meta with base). */
json_t *scim_user_json(const struct roster_user *u, const char *base);

/* One operation on /Users, its answer in o (status, body, Location, ETag). The request r
 * gives the organisation (r->ctx), the base URL and the query's attributes /
 * excludedAttributes; body/len the operation's data; if_match / if_none_match its
 * preconditions (NULL: none). 0 on success, -1 when o holds an Error. */
int scim_users_post(struct roster_req *r, const char *body, size_t len, struct scim_out *o);
int scim_users_get(struct roster_req *r, const char *id, const char *if_none_match,
                   struct scim_out *o);
int scim_users_put(struct roster_req *r, const char *id, const char *body, size_t len,
                   const char *if_match, struct scim_out *o);
int scim_users_patch(struct roster_req *r, const char *id, const char *body, size_t len,
                     const char *if_match, struct scim_out *o);
int scim_users_delete(struct roster_req *r, const char *id, const char *if_match,
                      struct scim_out *o);

/* Applies the operations of a PatchOp document (RFC 7644 §3.5.2) to resource, the JSON of
 * the resource as it is: add/replace/remove (any case), with and without path, value paths
 * (emails[type eq "work"].value), URN-qualified and dotted keys in a path-less value.
 * core_urn: the resource's core schema. On failure a 400 Error (invalidSyntax, invalidPath,
 * noTarget, invalidValue, mutability) in o and -1. */
int scim_patch_apply(json_t *resource, json_t *patch, const char *core_urn, struct scim_out *o);

/* Adds the SCIM filter expression filter (RFC 7644 §3.4.2.2) of a /Users list to q: the
 * attribute paths mapped to roster's keys (userName, externalId, emails.value, ...).
 * ROSTER_EINVAL naming what is wrong (400 invalidFilter). Implemented by filter_users.c. */
int scim_users_filter(struct roster_query *q, const char *filter, struct roster_arena *a,
                      struct roster_err *err);

/* HTTP handlers */
void scim_users_list(struct roster_req *r);     /* GET /Users */
void scim_users_search(struct roster_req *r);   /* POST /Users/.search */
void scim_users_create_h(struct roster_req *r); /* POST /Users */
void scim_users_get_h(struct roster_req *r);    /* GET /Users/{id} */
void scim_users_put_h(struct roster_req *r);    /* PUT /Users/{id} */
void scim_users_patch_h(struct roster_req *r);  /* PATCH /Users/{id} */
void scim_users_delete_h(struct roster_req *r); /* DELETE /Users/{id} */

/* --- discovery (discovery.c) --- */
void scim_service_provider_config(struct roster_req *r);
void scim_resource_types(struct roster_req *r);
void scim_resource_type(struct roster_req *r);
void scim_schemas(struct roster_req *r);
void scim_schema(struct roster_req *r);

#endif
