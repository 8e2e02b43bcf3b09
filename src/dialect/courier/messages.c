/* GET /messages/{message_id}: one message of the caller's outbox in the shape of Courier's
 * MessageDetails (id, status, enqueued, event, notification, recipient), plus what roster
 * recorded for it: the merged data and recipient profile ("data", "to"), "template",
 * "brand", the bulk job that made it ("jobId") and the directory user ("userId"). Delivery
 * (docs/delivery.md): status ENQUEUED, SENT or UNDELIVERABLE, "sent" (ms) once sent,
 * "error" (the last failure) and, when UNDELIVERABLE, Courier's "reason"; "attempts".
 */
#include <string.h>

#include "dialect/answer.h"
#include "dialect/courier/courier.h"
#include "roster/jsonr.h"

/* A string member of the stored content, or NULL. */
static const char *content_str(const struct roster_jsonr_val *content, bool ok, const char *key,
                               struct roster_arena *a)
{
    return ok ? roster_jsonr_get_str(content, key, a) : NULL;
}

/* Courier's reason for an undeliverable message, from what roster recorded
 * (docs/delivery.md): the relay refused it (an SMTP 5xx reply) BOUNCED, retries spent
 * PROVIDER_ERROR, anything else (no address, nothing to render) FAILED. */
static const char *delivery_reason(const char *error)
{
    if (strncmp(error, "gave up", 7) == 0)
        return "PROVIDER_ERROR";
    if (strstr(error, "(SMTP 5"))
        return "BOUNCED";
    return "FAILED";
}

void courier_message_get(struct roster_req *r)
{
    struct roster_message m;
    struct roster_jsonw w;
    if (!roster_answer_message(r, &m, &w))
        return;
    /* content_json is written by roster (core/msgjobs.c, core/scheduler.c): valid JSON */
    struct roster_jsonr_val content, v;
    bool ok = m.content_json &&
              roster_jsonr_parse(m.content_json, strlen(m.content_json), &content) == 0 &&
              content.type == ROSTER_JSONR_OBJECT;
    struct roster_arena *a = r->ctx.arena;
    const char *event = content_str(&content, ok, "event", a);
    const char *template = content_str(&content, ok, "template", a);
    const char *brand = content_str(&content, ok, "brand", a);
    roster_jsonw_kstr(&w, "id", m.id);
    roster_jsonw_kstr(&w, "status", m.status);
    roster_jsonw_kint(&w, "enqueued", m.created_ms);
    roster_jsonw_kstr(&w, "event", event ? event : template ? template : m.kind);
    roster_jsonw_kstr(&w, "notification", template ? template : event ? event : m.kind);
    roster_jsonw_kstr(&w, "recipient", m.recipient ? m.recipient : "");
    if (template)
        roster_jsonw_kstr(&w, "template", template);
    if (brand)
        roster_jsonw_kstr(&w, "brand", brand);
    if (ok && roster_jsonr_get(&content, "data", &v) == 1)
        roster_jsonw_kraw(&w, "data", roster_jsonr_compact(&v, a, NULL));
    if (ok && roster_jsonr_get(&content, "to", &v) == 1)
        roster_jsonw_kraw(&w, "to", roster_jsonr_compact(&v, a, NULL));
    if (m.sent_ms > 0)
        roster_jsonw_kint(&w, "sent", m.sent_ms);
    if (m.reason) {
        roster_jsonw_kstr(&w, "error", m.reason);
        if (strcmp(m.status, "UNDELIVERABLE") == 0)
            roster_jsonw_kstr(&w, "reason", delivery_reason(m.reason));
    }
    roster_jsonw_kint(&w, "attempts", m.attempts);
    roster_jsonw_kstr(&w, "kind", m.kind);
    if (m.source_id)
        roster_jsonw_kstr(&w, "jobId", m.source_id);
    if (m.user_id)
        roster_jsonw_kstr(&w, "userId", m.user_id);
    roster_jsonw_obj_end(&w);
}
