/* The JumpCloud dialect descriptor: x-api-key auth and the error body of JumpCloud's
 * published Error schema, {"code": <status>, "message": "...", "status": "<reason>"}. */
#include "dialect/answer.h"
#include "dialect/jumpcloud/jumpcloud.h"

static void jc_error(struct roster_req *r, int status, const char *msg)
{
    roster_answer_code_error(r, status, msg, roster_http_reason(status));
}

const struct roster_dialect roster_jumpcloud_dialect = {"jumpcloud", ROSTER_AUTH_API_KEY, jc_error};
