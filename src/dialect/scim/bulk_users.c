/* The /Users side of SCIM /Bulk (bulk.h): users.c's decoder and per-operation functions,
 * their struct scim_out turned into the struct scim_gres that bulk.c keeps per operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/scim/bulk.h"
#include "dialect/scim/scim.h"

int scim_bulk_user_decode(struct roster_ctx *ctx, json_t *data, struct roster_user *u,
                          const char **password, struct scim_gres *out)
{
    struct roster_err err = {0};
    memset(u, 0, sizeof(*u));
    int rc = scim_user_decode_json(data, false, u, password, ctx->arena, &err);
    if (rc) {
        const char *type = NULL;
        int status = scim_status_of(rc, &type);
        *out = (struct scim_gres){status, type, roster_arena_strdup(ctx->arena, err.msg),
                                  NULL,   0,    NULL};
        return -1;
    }
    return 0;
}

/* o as a struct scim_gres: the id from the location, the version from the ETag, an
 * error's detail and scimType from its body */
static void gres_of(struct roster_ctx *ctx, const char *id, struct scim_out *o,
                    struct scim_gres *out)
{
    *out = (struct scim_gres){o->status, o->scim_type, NULL, id, 0, NULL};
    const char *slash = strrchr(o->location, '/');
    if (o->location[0] && slash)
        out->id = roster_arena_strdup(ctx->arena, slash + 1);
    if (o->etag[0]) {
        const char *q = strchr(o->etag, '"');
        out->version = q ? strtoll(q + 1, NULL, 10) : 0;
    }
    if (o->status >= 400) {
        json_t *e = json_loadb(o->body.data ? o->body.data : "", o->body.len, 0, NULL);
        const char *d = json_string_value(json_object_get(e, "detail"));
        out->detail = roster_arena_strdup(ctx->arena, d ? d : "");
        const char *t = json_string_value(json_object_get(e, "scimType"));
        out->scim_type = t ? roster_arena_strdup(ctx->arena, t) : NULL;
        json_decref(e);
    }
}

void scim_bulk_user_op(struct roster_req *r, const char *method, const char *id, json_t *data,
                       int64_t if_match, struct scim_gres *out)
{
    struct scim_out o;
    scim_out_init(&o);
    char *body = data ? json_dumps(data, JSON_COMPACT) : NULL;
    size_t len = body ? strlen(body) : 0;
    char im[SCIM_ETAG_MAX];
    if (if_match > 0)
        scim_etag(im, if_match);
    else if (if_match < 0)
        snprintf(im, sizeof(im), "W/\"0\""); /* a version roster never gives: 412 */
    const char *imp = if_match ? im : NULL;
    if (!id && strcmp(method, "POST")) {
        scim_out_error(&o, 404, NULL, "user not found");
    } else if (!strcmp(method, "POST")) {
        scim_users_post(r, body, len, &o);
    } else if (!strcmp(method, "PUT")) {
        scim_users_put(r, id, body, len, imp, &o);
    } else if (!strcmp(method, "PATCH")) {
        scim_users_patch(r, id, body, len, imp, &o);
    } else {
        scim_users_delete(r, id, imp, &o);
    }
    gres_of(&r->ctx, id, &o, out);
    free(body);
    scim_out_release(&o);
}
