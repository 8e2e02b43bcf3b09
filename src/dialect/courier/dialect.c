/* The Courier dialect descriptor: Bearer auth and Courier's error body,
 * {"message": "...", "type": "invalid_request_error"}. The official client retries 408, 409,
 * 429 and every 5xx unless the answer carries x-should-retry: false, so every such answer
 * says false except 503 (the store was busy or unreachable: trying again may work) and a
 * 429 that says when to come back (the rate limit's, with Retry-After, which the client
 * waits for before its retry).
 */
#include "dialect/courier/courier.h"

static void courier_error(struct roster_req *r, int status, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "message", msg);
    roster_jsonw_kstr(&w, "type", "invalid_request_error");
    roster_jsonw_obj_end(&w);
    bool retried = status == 408 || status == 409 || status == 429 || status >= 500;
    if (retried && status != 503 && !(status == 429 && r->retry_after_s > 0))
        roster_resp_header(r, "x-should-retry", "false");
}

const struct roster_dialect roster_courier_dialect = {"courier", ROSTER_AUTH_BEARER, courier_error};
