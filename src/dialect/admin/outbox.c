/* roster admin API: an organisation's outbox (docs/delivery.md), as `roster outbox` does it
 * on the command line: GET /admin/orgs/{id}/outbox lists its messages newest first, a page
 * at a time; POST /admin/orgs/{id}/outbox/{message_id}/retry makes one due now and wakes
 * the delivery workers of this process. Core does the work (roster_outbox_list/_retry); a
 * key of another organisation gets 404, exactly like a missing organisation.
 */
#include <stdlib.h>
#include <string.h>

#include "dialect/admin/admin.h"
#include "dialect/answer.h"
#include "roster/delivery.h"

/* The organisation {id} of the path as the context of the call, if the caller's key may
 * reach it; else answers 404 and returns false. */
static bool org_ctx(struct roster_req *r, struct roster_ctx *ctx)
{
    const char *id = roster_path_param(r);
    bool allowed = roster_id_valid(id) && r->ctx.key &&
                   (r->ctx.key->all_orgs || strcmp(id, r->ctx.key->org_id) == 0);
    if (!allowed) {
        struct roster_err err = {0};
        roster_answer_fail(r, ROSTER_ENOTFOUND, &err, "organization", id);
        return false;
    }
    *ctx = r->ctx;
    ctx->org_id = id;
    return true;
}

static void put_message(struct roster_jsonw *w, const struct roster_message *m)
{
    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "id", m->id);
    roster_jsonw_kstr(w, "kind", m->kind);
    roster_jsonw_kstr(w, "channel", m->channel);
    roster_jsonw_kstr(w, "recipient", m->recipient);
    roster_jsonw_kstr(w, "status", m->status);
    roster_jsonw_kint(w, "attempts", m->attempts);
    roster_jsonw_ktime(w, "created", m->created_ms);
    bool waiting = m->status && strcmp(m->status, "ENQUEUED") == 0;
    if (waiting)
        roster_jsonw_ktime(w, "due", m->due_ms);
    else
        roster_jsonw_knull(w, "due");
    if (m->sent_ms > 0)
        roster_jsonw_ktime(w, "sent", m->sent_ms);
    else
        roster_jsonw_knull(w, "sent");
    roster_jsonw_kstr(w, "reason", m->reason);
    roster_jsonw_obj_end(w);
}

void admin_outbox_list(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (!org_ctx(r, &ctx))
        return;
    const char *status = roster_req_query(r, "status");
    const char *after = roster_req_query(r, "after");
    const char *lim = roster_req_query(r, "limit");
    long limit = 50;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (!*lim || *end) {
            roster_resp_error(r, 400, "limit \"%.40s\" is not a number", lim);
            return;
        }
    }
    struct roster_err err = {0};
    struct roster_message *v;
    size_t n;
    int rc = roster_outbox_list(&ctx, status && *status ? status : NULL,
                                after && *after ? after : NULL, limit, &v, &n, &err);
    if (rc) {
        roster_answer_fail(r, rc, &err, "organization", ctx.org_id);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "messages");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_message(&w, &v[i]);
    roster_jsonw_arr_end(&w);
    /* a full page may have a next one: it starts after this page's last id */
    roster_jsonw_kstr(&w, "next", n == (size_t)limit ? v[n - 1].id : NULL);
    roster_jsonw_obj_end(&w);
}

void admin_outbox_retry(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (!org_ctx(r, &ctx))
        return;
    const char *mid = r->nparams > 1 ? r->params[1] : "";
    struct roster_err err = {0};
    struct roster_message m;
    int rc = roster_outbox_retry(&ctx, mid, &m, &err);
    if (rc) {
        roster_answer_fail(r, rc, &err, "message", mid);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    put_message(&w, &m);
}
