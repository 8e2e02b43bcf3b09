/* roster admin API: an organisation's webhook endpoints (docs/webhooks.md).
 *   POST   /admin/orgs/{id}/webhooks        {"url", "events": [types] | null, "secret"}
 *   GET    /admin/orgs/{id}/webhooks        {"data": [endpoint, ...]} (no secrets)
 *   GET    /admin/orgs/{id}/webhooks/{wid}  the endpoint with its secret
 *   DELETE /admin/orgs/{id}/webhooks/{wid}  204
 * A key reaches its own organisation (an all-orgs key every one); another organisation's
 * endpoint, like another organisation, is 404.
 */
#include <jansson.h>
#include <string.h>

#include "dialect/admin/admin.h"
#include "dialect/answer.h"
#include "roster/core.h"
#include "roster/webhook.h"

/* ctx for the organisation of the path if the caller's key may reach it; else answers 404
 * and returns -1. */
static int org_ctx(struct roster_req *r, struct roster_ctx *ctx)
{
    const char *id = r->nparams > 0 ? r->params[0] : "";
    bool allowed = roster_id_valid(id) && r->ctx.key &&
                   (r->ctx.key->all_orgs || strcmp(id, r->ctx.key->org_id) == 0);
    struct roster_org org;
    struct roster_err err = {0};
    *ctx = r->ctx;
    ctx->org_id = id;
    int rc = allowed ? roster_org_get(ctx, id, &org, &err) : ROSTER_ENOTFOUND;
    if (rc) {
        roster_answer_fail(r, rc, &err, "organization", id);
        return -1;
    }
    return 0;
}

static void put_webhook(struct roster_jsonw *w, const struct roster_webhook *h, bool secret)
{
    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "id", h->id);
    roster_jsonw_kstr(w, "url", h->url);
    roster_jsonw_key(w, "events");
    if (!h->events) {
        roster_jsonw_null(w);
    } else {
        roster_jsonw_arr_begin(w);
        for (const char *p = h->events; *p;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            roster_jsonw_strn(w, p, len);
            if (!e)
                break;
            p = e + 1;
        }
        roster_jsonw_arr_end(w);
    }
    if (secret)
        roster_jsonw_kstr(w, "secret", h->secret);
    roster_jsonw_kbool(w, "disabled", h->disabled_ms != 0);
    if (h->disabled_ms) {
        roster_jsonw_ktime(w, "disabled_at", h->disabled_ms);
        roster_jsonw_kstr(w, "disabled_reason", h->disabled_reason);
    }
    roster_jsonw_ktime(w, "created", h->created_ms);
    roster_jsonw_obj_end(w);
}

void admin_webhooks_create(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, 0, &jerr);
    struct roster_webhook h;
    memset(&h, 0, sizeof(h));
    if (!body || !json_is_object(body)) {
        if (body)
            roster_resp_error(r, 400, "body must be a JSON object");
        else
            roster_resp_error(r, 400, "invalid JSON at line %d column %d: %s", jerr.line,
                              jerr.column, jerr.text);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "url") == 0 || strcmp(key, "secret") == 0) {
            if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val)) {
                roster_resp_error(r, 400, "%s must be a string", key);
                goto done;
            }
            const char *s = roster_arena_strdup(ctx.arena, json_string_value(val));
            if (key[0] == 'u')
                h.url = s;
            else
                h.secret = s;
        } else if (strcmp(key, "events") == 0) {
            if (json_is_null(val))
                continue;
            if (!json_is_array(val)) {
                roster_resp_error(r, 400, "events must be an array of event types or null");
                goto done;
            }
            struct roster_buf b;
            roster_buf_init(&b);
            size_t i;
            json_t *e;
            json_array_foreach(val, i, e)
            {
                const char *t = json_is_string(e) ? json_string_value(e) : NULL;
                if (!t || strchr(t, ',') || !roster_webhook_type_known(t, strlen(t))) {
                    roster_resp_error(r, 400,
                                      "unknown event type %s%.100s%s (known: job.completed, "
                                      "schedule.applied, schedule.failed, message.sent, "
                                      "message.failed, message.created)",
                                      t ? "\"" : "", t ? t : "(not a string)", t ? "\"" : "");
                    roster_buf_release(&b);
                    goto done;
                }
                if (i)
                    roster_buf_addch(&b, ',');
                roster_buf_addstr(&b, t);
            }
            h.events = roster_arena_strndup(ctx.arena, b.data ? b.data : "", b.len);
            roster_buf_release(&b);
        } else {
            roster_resp_error(r, 400, "unknown field \"%.64s\" (known: url, events, secret)", key);
            goto done;
        }
    }
    if (!h.url) {
        roster_resp_error(r, 400, "url is required");
        goto done;
    }
    struct roster_err err = {0};
    struct roster_jsonw w;
    int rc = roster_webhook_add(&ctx, &h, &err);
    if (roster_answer_json(r, rc, &err, "organization", ctx.org_id, 201, &w))
        put_webhook(&w, &h, true);
done:
    json_decref(body);
}

void admin_webhooks_list(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    struct roster_err err = {0};
    struct roster_webhook *v;
    size_t n;
    struct roster_jsonw w;
    int rc = roster_webhook_list(&ctx, &v, &n, &err);
    if (!roster_answer_json(r, rc, &err, "organization", ctx.org_id, 200, &w))
        return;
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "data");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_webhook(&w, &v[i], false);
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}

void admin_webhooks_get(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    const char *wid = r->nparams > 1 ? r->params[1] : "";
    struct roster_err err = {0};
    struct roster_webhook h;
    struct roster_jsonw w;
    int rc = roster_webhook_get(&ctx, wid, &h, &err);
    if (roster_answer_json(r, rc, &err, "webhook", wid, 200, &w))
        put_webhook(&w, &h, true);
}

void admin_webhooks_delete(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    const char *wid = r->nparams > 1 ? r->params[1] : "";
    struct roster_err err = {0};
    int rc = roster_webhook_remove(&ctx, wid, &err);
    if (rc)
        roster_answer_fail(r, rc, &err, "webhook", wid);
    else
        roster_resp_empty(r, 204);
}
