/* The JumpCloud dialect: v1 system users (/api/systemusers) and v2 bulk user jobs
 * (/api/v2/bulk/users). Decodes JumpCloud JSON into core users and encodes core users
 * into the systemuserreturn shape; never touches SQL, never decides business rules.
 */
#ifndef ROSTER_DIALECT_JUMPCLOUD_H
#define ROSTER_DIALECT_JUMPCLOUD_H

#include <stdbool.h>
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

/* Decodes one JumpCloud user object, the JSON text json[0..len), into out. For CREATE every
 * known field becomes a field of out; for UPDATE/PUT out is a patch (out->set marks the
 * fields given). Known top-level fields map to roster_ufields (by label); phoneNumbers,
 * attributes and addresses keep their JSON text (whitespace between tokens dropped, never
 * re-serialised); every other field of the bulk-user-create / systemuserput schemas is kept
 * in the RU_EXTRA object text verbatim. A field of the wrong JSON type, an unknown state, or
 * a non-object item is ROSTER_EINVAL naming the field. With a key given twice, the last
 * value counts (as in jansson). Strings are allocated in a.
 * PRECONDITION: the text was accepted by roster_json_scan (the whole body, or a span it
 * returned); it is read with roster/jsonr.h, which does not validate again (text that is not
 * valid JSON fails with "user is not valid JSON" where the reader notices). */
int jc_user_decode(const char *json, size_t len, int mode, struct roster_user *out,
                   struct roster_arena *a, struct roster_err *err);

/* JumpCloud requires an e-mail address; roster's model does not (a SCIM user needs only a
 * userName). A create (patch false) without one, or a patch that clears it, is ROSTER_EINVAL
 * "email is required" (field "email"), the answer the core validator gave before e-mail
 * became optional; a bad username in the same user is reported instead, as the validator
 * checks fields in order. 0 when the e-mail is there (or, in a patch, not touched). */
int jc_user_require_email(const struct roster_user *u, bool patch, struct roster_err *err);

/* The job codec registered as "jumpcloud" (a roster_item_decode_fn): kind
 * ROSTER_JOB_USERS_CREATE decodes with JC_DECODE_CREATE, ROSTER_JOB_USERS_UPDATE with
 * JC_DECODE_UPDATE, then requires the e-mail (jc_user_require_email). Same precondition as
 * jc_user_decode. */
int jc_item_decode(const char *json, size_t len, int kind, struct roster_user *out,
                   struct roster_arena *a, struct roster_err *err);

/* Writes u as a systemuserreturn object. fields: when nfields > 0, only those top-level
 * keys (plus _id, always) are written. */
void jc_user_encode(struct roster_jsonw *w, const struct roster_user *u, const char *const *fields,
                    size_t nfields);

/* Whether name is a JumpCloud user setting that roster keeps in the extra object and that
 * bulk-user-create accepts (account_locked, mfa, ssh_keys, ...): roster export's --fields. */
bool jc_user_setting(const char *name);

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

/* Validates the request body with roster_json_scan (the text codec reads only validated
 * text; its messages name line and column) and requires an object; otherwise sends 400 and
 * returns -1 (common.c). */
int jc_body_object(struct roster_req *r);

#define JC_FILTER_V1_OPS 0x1u /* also the v1 spellings "$eq", "$gte", "$lte" */

/* Adds the filter expressions of one filter= value to q (common.c). Clients send an array
 * either as repeated parameters or comma-joined in one (style form, explode false), so a ','
 * splits two expressions only where the text after it starts with "<a field of names>:"; a
 * comma inside a value ("company:eq:Acme, Inc.") is kept. flags: JC_FILTER_*. Errors:
 * ROSTER_EINVAL from roster_filter_parse, naming the expression. */
int jc_filter_add(struct roster_query *q, const char *val, const struct roster_qname *names,
                  unsigned flags, struct roster_arena *a, struct roster_err *err);

/* Handlers: /api/v2/bulk/userstates (scheduled user state changes, userstates.c) */
void jc_userstates_create(struct roster_req *r);
void jc_userstates_list(struct roster_req *r);
void jc_userstates_delete(struct roster_req *r);
void jc_userstates_get(struct roster_req *r);  /* roster extension */
void jc_userstates_next(struct roster_req *r); /* /eventlist/next */
void jc_messages_get(struct roster_req *r);    /* /api/v2/messages/{id}, roster extension */

/* The status of an Idempotency-Key sent again with another request (JumpCloud documents
 * no idempotency keys): 422, as the IETF draft on the header has it (docs/idempotency.md) */
#define JC_IDEM_MISMATCH 422

#endif
