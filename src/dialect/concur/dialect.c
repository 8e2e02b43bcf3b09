/* The Concur dialect descriptor: Authorization: Bearer <api key>, and the error body. No
 * error schema is published for this API; the body follows the one error body Concur does
 * publish (its OAuth2 service): {"code": <status>, "error": "<name>", "error_description":
 * "<what was wrong>"}, plus "parameter" naming the query parameter of a 400. */
#include "dialect/concur/concur.h"

#include <stdarg.h>
#include <stdio.h>

/* The "error" name of a status. */
static const char *error_name(int status)
{
    switch (status) {
    case 400:
        return "invalid_query_params";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 413:
        return "request_too_large";
    case 429:
        return "too_many_requests";
    case 503:
        return "temporarily_unavailable";
    default:
        return status >= 500 ? "server_error" : "bad_request";
    }
}

static void write_error(struct roster_req *r, int status, const char *param, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "code", status);
    roster_jsonw_kstr(&w, "error", error_name(status));
    roster_jsonw_kstr(&w, "error_description", msg);
    if (param)
        roster_jsonw_kstr(&w, "parameter", param);
    roster_jsonw_obj_end(&w);
    if (status == 401)
        roster_resp_header(r, "WWW-Authenticate", "Bearer");
}

static void concur_error(struct roster_req *r, int status, const char *msg)
{
    write_error(r, status, NULL, msg);
}

void concur_error_param(struct roster_req *r, int status, const char *param, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->nheaders = 0;
    write_error(r, status, param, msg);
}

const struct roster_dialect roster_concur_dialect = {"concur", ROSTER_AUTH_BEARER, concur_error};
