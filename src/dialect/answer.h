/* What the handlers of every dialect share after decoding a request: the path's parameter
 * and the answer to a core call (its failure in the dialect's error shape, or the start of
 * its JSON body). */
#ifndef ROSTER_DIALECT_ANSWER_H
#define ROSTER_DIALECT_ANSWER_H

#include "roster/http.h"
#include "roster/jsonr.h"
#include "roster/jsonw.h"

/* The first parameter of the route's path ({id}, {job_id}, {message_id}), or "" when the
 * route has none. */
const char *roster_path_param(const struct roster_req *r);

/* Answers a failed core call (rc != 0, err filled): ROSTER_ENOTFOUND of a thing the caller
 * names (what, e.g. "job", and id) is 404 `<what> "<id>" not found` (id cut at 64
 * characters); anything else is answered as roster_resp_fail. */
void roster_answer_fail(struct roster_req *r, int rc, const struct roster_err *err,
                        const char *what, const char *id);

/* After a core call that returned rc: on failure answers it as roster_answer_fail and
 * returns NULL; on success starts a JSON answer of the given status (roster_resp_json) and
 * returns w for its body. */
struct roster_jsonw *roster_answer_json(struct roster_req *r, int rc, const struct roster_err *err,
                                        const char *what, const char *id, int status,
                                        struct roster_jsonw *w);

/* The error body of JumpCloud's Error schema, {"code": status, "message": msg, "status":
 * reason}; without "status" when reason is NULL (the admin API's). */
void roster_answer_code_error(struct roster_req *r, int status, const char *msg,
                              const char *reason);

struct roster_message;
/* GET .../messages/{message_id} of every dialect that has it: the message the path names
 * into m and a 200 JSON object begun for it; NULL after answering the failure (a missing
 * message is 404 naming it). */
struct roster_jsonw *roster_answer_message(struct roster_req *r, struct roster_message *m,
                                           struct roster_jsonw *w);

/* Reads the request body as one JSON object into *body (courier, admin); answers 400 with
 * the scanner's message or "body must be a JSON object" and returns -1 otherwise. */
int roster_answer_body_object(struct roster_req *r, struct roster_jsonr_val *body);

struct roster_org;
/* The members of an organisation's company block, as Concur's "company" object and the admin
 * API both name them: name, address, city, state, zip, country. */
void roster_put_company(struct roster_jsonw *w, const struct roster_org *o);

#endif
