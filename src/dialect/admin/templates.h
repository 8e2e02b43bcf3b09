/* roster admin API: an organisation's message templates (docs/templates.md), with the
 * admin dialect's auth and error body (admin.h). */
#ifndef ROSTER_DIALECT_ADMIN_TEMPLATES_H
#define ROSTER_DIALECT_ADMIN_TEMPLATES_H

#include "roster/http.h"

/* GET /admin/orgs/{id}/templates: {"templates": [{"name", "content", "updated"}, ...]} */
void admin_templates_list(struct roster_req *r);
/* POST /admin/orgs/{id}/templates {"name", "content"}: 201, or 409 when the name is taken */
void admin_templates_create(struct roster_req *r);
/* GET /admin/orgs/{id}/templates/{name} */
void admin_template_get(struct roster_req *r);
/* PUT /admin/orgs/{id}/templates/{name} {"content"}: 201 created, 200 replaced */
void admin_template_put(struct roster_req *r);
/* DELETE /admin/orgs/{id}/templates/{name}: 204 */
void admin_template_delete(struct roster_req *r);

#endif
