/* The JumpCloud dialect descriptor: x-api-key auth and the error body of JumpCloud's
 * published Error schema, {"code": <status>, "message": "...", "status": "<reason>"}. */
#include "dialect/jumpcloud/jumpcloud.h"

static void jc_error(struct roster_req *r, int status, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "code", status);
    roster_jsonw_kstr(&w, "message", msg);
    roster_jsonw_kstr(&w, "status", roster_http_reason(status));
    roster_jsonw_obj_end(&w);
}

const struct roster_dialect roster_jumpcloud_dialect = {"jumpcloud", ROSTER_AUTH_API_KEY, jc_error};
