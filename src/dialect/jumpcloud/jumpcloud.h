/* The JumpCloud dialect: v1 system users (/api/systemusers) and v2 bulk user jobs
 * (/api/v2/bulk/users). Decodes JumpCloud JSON into core users and encodes core users
 * into the systemuserreturn shape; never touches SQL, never decides business rules.
 */
#ifndef ROSTER_DIALECT_JUMPCLOUD_H
#define ROSTER_DIALECT_JUMPCLOUD_H

#include <jansson.h>
#include <stddef.h>

#include "roster/http.h"
#include "roster/query.h"
#include "roster/user.h"

extern const struct roster_dialect roster_jumpcloud_dialect;

enum jc_decode_mode {
    JC_DECODE_CREATE, /* bulk-user-create / systemuserputpost: no id */
    JC_DECODE_UPDATE, /* bulk-user-update: "id" required (copied to out->id) */
    JC_DECODE_PUT,    /* systemuserput: a patch, no id in the body */
};

/* Decodes one JumpCloud user object into out. For CREATE every known field becomes a
 * field of out; for UPDATE/PUT out is a patch (out->set marks the fields given).
 * Known top-level fields map to roster_ufields (by label); phoneNumbers, attributes and
 * addresses are kept as compact JSON; every other field of the bulk-user-create /
 * systemuserput schemas is kept in the RU_EXTRA object verbatim. A field of the wrong
 * JSON type, an unknown state, or a non-object item is ROSTER_EINVAL naming the field.
 * Strings are allocated in a. */
int jc_user_decode(json_t *obj, int mode, struct roster_user *out, struct roster_arena *a,
                   struct roster_err *err);

/* The job codec registered as "jumpcloud": kind ROSTER_JOB_USERS_CREATE decodes with
 * JC_DECODE_CREATE, ROSTER_JOB_USERS_UPDATE with JC_DECODE_UPDATE. */
int jc_item_decode(json_t *item, int kind, struct roster_user *out, struct roster_arena *a,
                   struct roster_err *err);

/* Writes u as a systemuserreturn object. fields: when nfields > 0, only those top-level
 * keys (plus _id, always) are written. */
void jc_user_encode(struct roster_jsonw *w, const struct roster_user *u, const char *const *fields,
                    size_t nfields);

/* Field names accepted in filter= and sort= of /api/systemusers. */
extern const struct roster_qname jc_user_qnames[];

/* Handlers: /api/systemusers and /api/systemusers/{id} */
void jc_systemusers_list(struct roster_req *r);
void jc_systemusers_create(struct roster_req *r);
void jc_systemusers_get(struct roster_req *r);
void jc_systemusers_put(struct roster_req *r);
void jc_systemusers_delete(struct roster_req *r);

/* Handlers: /api/v2/bulk/users */
void jc_bulk_users_create(struct roster_req *r);
void jc_bulk_users_update(struct roster_req *r);
void jc_bulk_users_results(struct roster_req *r);

/* Parses the request body as JSON; on failure sends 400 naming line/column and returns
 * NULL. The returned value is owned by the caller (json_decref). */
json_t *jc_parse_body(struct roster_req *r);

#endif
