/* The /Users side of SCIM /Bulk (bulk.h). STAND-IN until the SCIM /Users dialect is merged:
 * it decodes only userName, name.givenName/familyName, displayName, the first e-mail,
 * active and password, and answers 501 for PUT, PATCH and DELETE of users. Replaced by calls
 * to the /Users per-operation functions at the merge.
 */
#include <string.h>
#include <strings.h>

#include "dialect/scim/bulk.h"
#include "roster/core.h"

static json_t *jget(json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!strcasecmp(k, key))
            return v;
    }
    return NULL;
}

static const char *str(struct roster_ctx *ctx, json_t *v)
{
    return json_is_string(v) ? roster_arena_strdup(ctx->arena, json_string_value(v)) : NULL;
}

int scim_bulk_user_decode(struct roster_ctx *ctx, json_t *data, struct roster_user *u,
                          const char **password, struct scim_gres *out)
{
    memset(u, 0, sizeof(*u));
    *password = NULL;
    const char *un = str(ctx, jget(data, "userName"));
    if (!un || !un[0]) {
        *out = (struct scim_gres){400, "invalidValue", "userName is required", NULL, 0, NULL};
        return -1;
    }
    u->f[RU_USERNAME] = un;
    json_t *name = jget(data, "name");
    u->f[RU_FIRST_NAME] = str(ctx, jget(name, "givenName"));
    u->f[RU_LAST_NAME] = str(ctx, jget(name, "familyName"));
    u->f[RU_DISPLAY_NAME] = str(ctx, jget(data, "displayName"));
    json_t *emails = jget(data, "emails");
    u->f[RU_EMAIL] = str(ctx, jget(json_array_get(emails, 0), "value"));
    json_t *active = jget(data, "active");
    if (json_is_boolean(active)) {
        u->state = json_is_true(active) ? ROSTER_ACTIVATED : ROSTER_SUSPENDED;
        u->set |= ROSTER_USET_STATE;
    }
    *password = str(ctx, jget(data, "password"));
    return 0;
}

void scim_bulk_user_op(struct roster_ctx *ctx, const char *base, const char *method,
                       const char *id, json_t *data, int64_t if_match, struct scim_gres *out)
{
    (void)base;
    (void)id;
    (void)if_match;
    if (!strcmp(method, "POST")) {
        struct roster_user u;
        const char *pw;
        if (scim_bulk_user_decode(ctx, data, &u, &pw, out))
            return;
        int rc = 0;
        struct roster_err err = {0}, e1 = {0};
        int rc1 = 0;
        rc = roster_users_create_many(ctx, &u, 1, ROSTER_ACTIVATED, &pw, &rc1, &e1, &err);
        if (!rc && rc1) {
            rc = rc1;
            err = e1;
        }
        if (rc) {
            *out = (struct scim_gres){roster_http_status(rc),
                                      rc == ROSTER_ECONFLICT ? "uniqueness" : NULL,
                                      roster_arena_strdup(ctx->arena, err.msg), NULL, 0, NULL};
            return;
        }
        *out = (struct scim_gres){201, NULL, NULL, roster_arena_strdup(ctx->arena, u.id),
                                  u.version, NULL};
        return;
    }
    *out = (struct scim_gres){501, NULL, "this roster build has no SCIM /Users operations yet",
                              NULL, 0, NULL};
}
