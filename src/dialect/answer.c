/* The answer to a core call, shared by the dialects (answer.h). */
#include "dialect/answer.h"

#include "roster/core.h"
#include "roster/jsonscan.h"
#include "roster/schedule.h"
#include "roster/user.h"

#define QUOTE_MAX 64 /* characters of a client's id quoted back in a message */

const char *roster_path_param(const struct roster_req *r)
{
    return r->nparams > 0 ? r->params[0] : "";
}

void roster_answer_fail(struct roster_req *r, int rc, const struct roster_err *err,
                        const char *what, const char *id)
{
    if (rc == ROSTER_ENOTFOUND && what)
        roster_resp_error(r, 404, "%s \"%.*s\" not found", what, QUOTE_MAX, id ? id : "");
    else
        roster_resp_fail(r, rc, err);
}

struct roster_jsonw *roster_answer_json(struct roster_req *r, int rc, const struct roster_err *err,
                                        const char *what, const char *id, int status,
                                        struct roster_jsonw *w)
{
    if (rc != 0) {
        roster_answer_fail(r, rc, err, what, id);
        return NULL;
    }
    return roster_resp_json(r, status, w);
}

struct roster_jsonw *roster_answer_message(struct roster_req *r, struct roster_message *m,
                                           struct roster_jsonw *w)
{
    const char *id = roster_path_param(r);
    struct roster_err err = {0};
    int rc = roster_message_get(&r->ctx, id, m, &err);
    if (!roster_answer_json(r, rc, &err, "message", id, 200, w))
        return NULL;
    roster_jsonw_obj_begin(w);
    return w;
}

void roster_answer_code_error(struct roster_req *r, int status, const char *msg, const char *reason)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "code", status);
    roster_jsonw_kstr(&w, "message", msg);
    if (reason)
        roster_jsonw_kstr(&w, "status", reason);
    roster_jsonw_obj_end(&w);
}

void roster_put_company(struct roster_jsonw *w, const struct roster_org *o)
{
    roster_jsonw_kstr(w, "name", o->name);
    roster_jsonw_kstr(w, "address", o->address);
    roster_jsonw_kstr(w, "city", o->city);
    roster_jsonw_kstr(w, "state", o->region);
    roster_jsonw_kstr(w, "zip", o->zip);
    roster_jsonw_kstr(w, "country", o->country);
}

int roster_answer_body_object(struct roster_req *r, struct roster_jsonr_val *body)
{
    struct roster_err err = {0};
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(r->body, r->body_len, r->ctx.arena, &spans, &n, &top, &err) != 0) {
        roster_resp_error(r, 400, "%s", err.msg);
        return -1;
    }
    if (roster_jsonr_parse(r->body, r->body_len, body) != 0 || body->type != ROSTER_JSONR_OBJECT) {
        roster_resp_error(r, 400, "body must be a JSON object");
        return -1;
    }
    return 0;
}
