/* The route table: every endpoint roster serves, with its dialect (auth + error shape).
 * Handed to the HTTP server by `roster serve`; `roster routes` prints it; docs are checked
 * against it. */
#include <strings.h>

#include "dialect/dialects.h"

#include "dialect/admin/admin.h"
#include "dialect/admin/templates.h"
#include "dialect/concur/concur.h"
#include "dialect/courier/courier.h"
#include "dialect/jumpcloud/jumpcloud.h"
#include "dialect/scim/bulk.h"
#include "dialect/scim/groups.h"
#include "dialect/scim/scim.h"
#include "dialect/voximplant/voximplant.h"
#include "roster/log.h"

static void health(struct roster_req *r)
{
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "status", "ok");
    roster_jsonw_obj_end(&w);
}

/* 200 while the store answers a read of its schema, 503 naming the failure otherwise (a
 * load balancer then sends requests elsewhere; /healthz stays the liveness probe). */
static void ready(struct roster_req *r)
{
    struct roster_err err = {0};
    if (roster_app_ping(&r->ctx, &err) != 0) {
        roster_log(ROSTER_LOG_WARN, "not ready: the store does not answer", "code=%s detail=\"%s\"",
                   roster_code_name(err.code), err.detail);
        roster_resp_error(r, 503, "store unavailable: %s", err.msg);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "status", "ready");
    roster_jsonw_obj_end(&w);
}

/* Prometheus text format 0.0.4: the HTTP layer's counters, then core's (queues read from
 * the store, list cache, job items, scheduled changes, store errors). --metrics decides who
 * may read it (README: "Operator's view"): anyone (open, the default), a caller with an
 * all-organisations admin key as a bearer token (key), or nobody (off: 404 as for any
 * unknown path). */
static void metrics(struct roster_req *r)
{
    int mode = r->ctx.app ? r->ctx.app->cfg.metrics : ROSTER_METRICS_OPEN;
    if (mode == ROSTER_METRICS_OFF) {
        roster_resp_error(r, 404, "no such endpoint: %s %s", r->method, r->path);
        return;
    }
    if (mode == ROSTER_METRICS_KEY) {
        const char *h = roster_req_header(r, "Authorization");
        const char *secret = h && strncasecmp(h, "Bearer ", 7) == 0 && h[7] ? h + 7 : NULL;
        if (!secret) {
            roster_resp_error(r, 401, "missing bearer token in the Authorization header");
            return;
        }
        struct roster_err err = {0};
        struct roster_key key;
        int rc = roster_key_authenticate(&r->ctx, secret, &key, &err);
        if (rc == ROSTER_ENOTFOUND) {
            roster_resp_error(r, 401, "invalid api key");
            return;
        }
        if (rc != 0) {
            roster_resp_fail(r, rc, &err);
            return;
        }
        if (!key.all_orgs) {
            roster_resp_error(r, 403, "metrics need an all-organisations admin key");
            return;
        }
    }
    roster_resp_empty(r, 200);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    roster_http_metrics_write(r, &r->resp);
    roster_app_metrics_write(&r->ctx, &r->resp);
}

#define JC (&roster_jumpcloud_dialect)
#define CONCUR (&roster_concur_dialect)
#define VOX (&roster_voximplant_dialect)
#define CR (&roster_courier_dialect)
#define SCIM (&roster_scim_dialect)
#define ICASE ROSTER_ROUTE_ICASE
#define JSON ROSTER_ROUTE_JSON_BODY
#define READ ROSTER_ROUTE_READ_SPAN

static const struct roster_route routes[] = {
    {"GET", "/healthz", &roster_plain_dialect, health, 0,
     "liveness: 200 once requests are accepted"},
    {"GET", "/readyz", &roster_plain_dialect, ready, 0,
     "readiness: 200 while the store answers, else 503"},
    {"GET", "/metrics", &roster_plain_dialect, metrics, 0,
     "operator's view: counters and queue gauges in the Prometheus text format (--metrics)"},

    {"GET", "/api/systemusers", JC, jc_systemusers_list, 0, "JumpCloud v1: list system users"},
    {"POST", "/api/systemusers", JC, jc_systemusers_create, JSON, "JumpCloud v1: create a user"},
    {"GET", "/api/systemusers/{id}", JC, jc_systemusers_get, 0, "JumpCloud v1: get a user"},
    {"PUT", "/api/systemusers/{id}", JC, jc_systemusers_put, JSON, "JumpCloud v1: update a user"},
    {"DELETE", "/api/systemusers/{id}", JC, jc_systemusers_delete, 0,
     "JumpCloud v1: delete a user"},

    {"POST", "/api/v2/bulk/users", JC, jc_bulk_users_create, JSON,
     "JumpCloud v2: bulk create users (async job)"},
    {"PATCH", "/api/v2/bulk/users", JC, jc_bulk_users_update, JSON,
     "JumpCloud v2: bulk update users (async job)"},
    {"GET", "/api/v2/bulk/users/{job_id}/results", JC, jc_bulk_users_results, 0,
     "JumpCloud v2: per-item results of a bulk job"},

    /* eventlist/next before {id}: the router takes the first route that matches */
    {"POST", "/api/v2/bulk/userstates", JC, jc_userstates_create, JSON,
     "JumpCloud v2: schedule user state changes"},
    {"GET", "/api/v2/bulk/userstates", JC, jc_userstates_list, 0,
     "JumpCloud v2: list pending scheduled state changes"},
    {"GET", "/api/v2/bulk/userstates/eventlist/next", JC, jc_userstates_next, 0,
     "JumpCloud v2: next scheduled ACTIVATED/SUSPENDED change per user"},
    {"GET", "/api/v2/bulk/userstates/{id}", JC, jc_userstates_get, 0,
     "roster extension: one scheduled state change with its status and outcome"},
    {"DELETE", "/api/v2/bulk/userstates/{id}", JC, jc_userstates_delete, 0,
     "JumpCloud v2: cancel a pending scheduled state change"},
    {"GET", "/api/v2/messages/{message_id}", JC, jc_messages_get, 0,
     "roster extension: one outbox message (e.g. an activation e-mail)"},

    /* both spellings: Concur's doc moved from /users to /users/, its example still shows
     * /users */
    {"GET", "/users", CONCUR, concur_users_list, READ,
     "SAP Concur: list users (offset, limit, exact filters, total)"},
    {"GET", "/users/", CONCUR, concur_users_list, READ,
     "SAP Concur: list users (the same as /users)"},

    {"GET", "/admin/orgs/{id}", &roster_admin_dialect, admin_org_get, 0,
     "roster admin: an organisation's name and company block"},
    {"PATCH", "/admin/orgs/{id}", &roster_admin_dialect, admin_org_patch, JSON,
     "roster admin: set an organisation's name and company block"},
    {"GET", "/admin/orgs/{id}/templates", &roster_admin_dialect, admin_templates_list, 0,
     "roster admin: an organisation's message templates"},
    {"POST", "/admin/orgs/{id}/templates", &roster_admin_dialect, admin_templates_create, JSON,
     "roster admin: store a new message template ({\"name\", \"content\"})"},
    {"GET", "/admin/orgs/{id}/templates/{name}", &roster_admin_dialect, admin_template_get, 0,
     "roster admin: one message template"},
    {"PUT", "/admin/orgs/{id}/templates/{name}", &roster_admin_dialect, admin_template_put, JSON,
     "roster admin: create or replace a message template ({\"content\"})"},
    {"DELETE", "/admin/orgs/{id}/templates/{name}", &roster_admin_dialect, admin_template_delete, 0,
     "roster admin: delete a message template"},
    {"POST", "/admin/orgs/{id}/webhooks", &roster_admin_dialect, admin_webhooks_create, JSON,
     "roster admin: register a webhook endpoint (url, events, secret)"},
    {"GET", "/admin/orgs/{id}/webhooks", &roster_admin_dialect, admin_webhooks_list, 0,
     "roster admin: an organisation's webhook endpoints"},
    {"GET", "/admin/orgs/{id}/webhooks/{wid}", &roster_admin_dialect, admin_webhooks_get, 0,
     "roster admin: one webhook endpoint with its secret"},
    {"DELETE", "/admin/orgs/{id}/webhooks/{wid}", &roster_admin_dialect, admin_webhooks_delete, 0,
     "roster admin: remove a webhook endpoint (its waiting messages end UNDELIVERABLE)"},
    {"GET", "/admin/orgs/{id}/outbox", &roster_admin_dialect, admin_outbox_list, 0,
     "roster admin: an organisation's outbox messages, newest first (status, limit, after)"},
    {"POST", "/admin/orgs/{id}/outbox/{message_id}/retry", &roster_admin_dialect,
     admin_outbox_retry, 0, "roster admin: make a waiting or undeliverable message due now"},

    /* Voximplant: the method in the cmd parameter, or in the path (query-string style) */
    {"POST", "/platform_api", VOX, vox_platform_api, 0,
     "Voximplant: call the method named by cmd (multipart, urlencoded or JSON body)"},
    {"GET", "/platform_api", VOX, vox_platform_api, 0,
     "Voximplant: call the method named by cmd (query string)"},
    {"POST", "/platform_api/{method}", VOX, vox_platform_api, 0,
     "Voximplant: call {method} (GetUsers, AddUser, ...)"},
    {"GET", "/platform_api/{method}", VOX, vox_platform_api, 0,
     "Voximplant: call {method} (GetUsers, AddUser, ...)"},
    {"POST", "/platform_api/{method}/", VOX, vox_platform_api, 0,
     "Voximplant: call {method} (legacy trailing slash)"},
    {"GET", "/platform_api/{method}/", VOX, vox_platform_api, 0,
     "Voximplant: call {method} (legacy trailing slash)"},

    /* SCIM 2.0 (docs/scim.md): resource endpoints matched without regard to case, as Entra ID
     * and Microsoft's reference server do; .search before {id} */
    {"GET", "/scim/v2/ServiceProviderConfig", SCIM, scim_service_provider_config, ICASE,
     "SCIM: what the service provider supports (patch, bulk, filter, sort, etag, auth)"},
    {"GET", "/scim/v2/ResourceTypes", SCIM, scim_resource_types, ICASE,
     "SCIM: the resource types (User, Group)"},
    {"GET", "/scim/v2/ResourceTypes/{id}", SCIM, scim_resource_type, ICASE,
     "SCIM: one resource type"},
    {"GET", "/scim/v2/Schemas", SCIM, scim_schemas, ICASE,
     "SCIM: the schemas (User, EnterpriseUser, Group)"},
    {"GET", "/scim/v2/Schemas/{id}", SCIM, scim_schema, ICASE, "SCIM: one schema by its URN"},
    {"GET", "/scim/v2/Users", SCIM, scim_users_list, ICASE | READ,
     "SCIM: list users (filter, sortBy, startIndex, count, attributes)"},
    {"POST", "/scim/v2/Users/.search", SCIM, scim_users_search, ICASE | JSON | READ,
     "SCIM: list users with a SearchRequest body"},
    {"POST", "/scim/v2/Users", SCIM, scim_users_create_h, ICASE | JSON, "SCIM: create a user"},
    {"GET", "/scim/v2/Users/{id}", SCIM, scim_users_get_h, ICASE | READ, "SCIM: get a user"},
    {"PUT", "/scim/v2/Users/{id}", SCIM, scim_users_put_h, ICASE | JSON, "SCIM: replace a user"},
    {"PATCH", "/scim/v2/Users/{id}", SCIM, scim_users_patch_h, ICASE | JSON,
     "SCIM: modify a user (PatchOp)"},
    {"DELETE", "/scim/v2/Users/{id}", SCIM, scim_users_delete_h, ICASE, "SCIM: delete a user"},
    {"GET", "/scim/v2/Groups", SCIM, scim_groups_list, ICASE | READ,
     "SCIM 2.0: list groups (filter displayName/id/externalId eq, startIndex, count, sortBy)"},
    {"POST", "/scim/v2/Groups", SCIM, scim_groups_post, ICASE | JSON, "SCIM 2.0: create a group"},
    {"GET", "/scim/v2/Groups/{id}", SCIM, scim_groups_get, ICASE | READ, "SCIM 2.0: one group"},
    {"PUT", "/scim/v2/Groups/{id}", SCIM, scim_groups_put, ICASE | JSON,
     "SCIM 2.0: replace a group"},
    {"PATCH", "/scim/v2/Groups/{id}", SCIM, scim_groups_patch, ICASE | JSON,
     "SCIM 2.0: change a group (add/replace/remove, members)"},
    {"DELETE", "/scim/v2/Groups/{id}", SCIM, scim_groups_delete, ICASE, "SCIM 2.0: delete a group"},
    {"POST", "/scim/v2/Bulk", SCIM, scim_bulk, ICASE | JSON,
     "SCIM 2.0: bulk operations on users and groups (bulkId references, failOnErrors)"},

    {"POST", "/bulk", CR, courier_bulk_create, JSON, "Courier: create a bulk message job"},
    {"POST", "/bulk/{job_id}", CR, courier_bulk_add_users, JSON,
     "Courier: add users to a bulk job that has not run yet"},
    {"POST", "/bulk/{job_id}/run", CR, courier_bulk_run, 0,
     "Courier: run a bulk job (202; the job engine sends one message per user)"},
    {"GET", "/bulk/{job_id}", CR, courier_bulk_get, 0,
     "Courier: a bulk job's definition, counts and status"},
    {"GET", "/bulk/{job_id}/users", CR, courier_bulk_users, 0,
     "Courier: a bulk job's users with status and messageId (cursor pages)"},
    {"GET", "/messages/{message_id}", CR, courier_message_get, 0,
     "Courier: one outbox message (what a bulk job enqueued)"},
};

const struct roster_routes roster_dialect_routes = {routes, sizeof(routes) / sizeof(routes[0])};

void roster_dialects_init(void)
{
    roster_job_codec_register("jumpcloud", jc_item_decode);
    roster_msg_codec_register(&courier_msg_codec);
}
