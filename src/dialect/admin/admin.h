/* roster's own admin API (not a vendor's): organisation settings that no vendor dialect can
 * write, such as the company block that Concur's GET /users returns. Bearer auth with any
 * API key; a key reaches its own organisation, an all-orgs key every organisation.
 * Error body {"code": <status>, "message": "..."}. docs/concur.md describes it.
 */
#ifndef ROSTER_DIALECT_ADMIN_H
#define ROSTER_DIALECT_ADMIN_H

#include "roster/http.h"

extern const struct roster_dialect roster_admin_dialect;

/* GET /admin/orgs/{id} */
void admin_org_get(struct roster_req *r);
/* PATCH /admin/orgs/{id}: {"name", "address", "city", "state", "zip", "country"}, each a
 * string (replaces) or null (clears); fields left out are kept. */
void admin_org_patch(struct roster_req *r);
/* GET /admin/orgs/{id}/outbox?status=&limit=&after= (outbox.c, docs/delivery.md):
 * {"messages": [...], "next": id or null}, newest first */
void admin_outbox_list(struct roster_req *r);
/* POST /admin/orgs/{id}/outbox/{message_id}/retry: the message, due now; 409 when it was
 * sent or is being sent */
void admin_outbox_retry(struct roster_req *r);

/* The webhook endpoints of an organisation (webhooks.c, docs/webhooks.md):
 * POST/GET /admin/orgs/{id}/webhooks, GET/DELETE /admin/orgs/{id}/webhooks/{wid}. */
void admin_webhooks_create(struct roster_req *r);
void admin_webhooks_list(struct roster_req *r);
void admin_webhooks_get(struct roster_req *r);
void admin_webhooks_delete(struct roster_req *r);

#endif
