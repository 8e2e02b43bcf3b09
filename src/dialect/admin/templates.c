/* roster admin API: message templates of an organisation (templates.h, docs/templates.md).
 * Decodes the request, calls core's template operations in the organisation of the path
 * (which the caller's key must reach: else 404, like a missing organisation) and encodes
 * the template as {"name", "content", "updated"}.
 */
#include "dialect/admin/templates.h"

#include <string.h>

#include "dialect/admin/admin.h"
#include "dialect/answer.h"
#include "roster/core.h"
#include "roster/jsonr.h"
#include "roster/jsonscan.h"
#include "roster/template.h"

/* ctx: the request's, in the organisation {id} of the path if the caller's key may reach
 * it and it exists; else answers 404 and returns -1. */
static int org_ctx(struct roster_req *r, struct roster_ctx *ctx)
{
    const char *id = r->nparams > 0 ? r->params[0] : "";
    struct roster_err err = {0};
    struct roster_org org;
    bool allowed = roster_id_valid(id) && r->ctx.key &&
                   (r->ctx.key->all_orgs || strcmp(id, r->ctx.key->org_id) == 0);
    int rc = allowed ? roster_org_get(&r->ctx, id, &org, &err) : ROSTER_ENOTFOUND;
    if (rc) {
        roster_answer_fail(r, rc, &err, "organization", id);
        return -1;
    }
    *ctx = r->ctx;
    ctx->org_id = id;
    return 0;
}

static void put_template(struct roster_jsonw *w, const struct roster_template *t)
{
    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "name", t->name);
    roster_jsonw_key(w, "content");
    roster_jsonw_raw(w, t->content_json);
    roster_jsonw_ktime(w, "updated", t->updated_ms);
    roster_jsonw_obj_end(w);
}

/* The body as a JSON object whose members are among allowed (NULL-terminated); answers
 * 400 and returns -1 otherwise. */
static int body_object(struct roster_req *r, struct roster_jsonr_val *obj,
                       const char *const *allowed)
{
    if (roster_answer_body_object(r, obj) != 0)
        return -1;
    struct roster_jsonr it;
    struct roster_jsonr_val key, val;
    roster_jsonr_open(&it, obj);
    while (roster_jsonr_next(&it, &key, &val) == 1) {
        size_t i = 0;
        while (allowed[i] && !roster_jsonr_str_eq(&key, allowed[i]))
            i++;
        if (!allowed[i]) {
            const char *k = "";
            roster_jsonr_str(&key, r->ctx.arena, &k, NULL);
            roster_resp_error(r, 400, "unknown member \"%.64s\" (known: %s%s%s)", k, allowed[0],
                              allowed[1] ? ", " : "", allowed[1] ? allowed[1] : "");
            return -1;
        }
    }
    return 0;
}

/* The "content" member of obj (its text in *text, *len); answers 400 when it is missing
 * or not an object (its shape is core's to check). */
static int content_of(struct roster_req *r, const struct roster_jsonr_val *obj, const char **text,
                      size_t *len)
{
    struct roster_jsonr_val v;
    if (roster_jsonr_get(obj, "content", &v) != 1) {
        roster_resp_error(r, 400, "content is missing: give the template's content object");
        return -1;
    }
    if (v.type != ROSTER_JSONR_OBJECT) {
        roster_resp_error(r, 400, "content must be an object");
        return -1;
    }
    *text = v.raw;
    *len = v.len;
    return 0;
}

/* name as one URL path segment (RFC 3986 unreserved characters as they are), in a. */
static const char *path_segment(const char *name, struct roster_arena *a)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = roster_arena_alloc(a, 3 * strlen(name) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Stores name with content and answers the template with status created ? 201 : 200. */
static void store(struct roster_req *r, struct roster_ctx *ctx, const char *name,
                  const char *content, size_t len)
{
    struct roster_err err = {0};
    struct roster_template t;
    bool created = false;
    int rc = roster_template_put(ctx, name, content, len, &created, &t, &err);
    if (rc) {
        roster_resp_fail(r, rc, &err);
        return;
    }
    if (created)
        roster_resp_header(r, "Location",
                           roster_arena_printf(r->ctx.arena, "/admin/orgs/%s/templates/%s",
                                               ctx->org_id, path_segment(name, r->ctx.arena)));
    struct roster_jsonw w;
    roster_resp_json(r, created ? 201 : 200, &w);
    put_template(&w, &t);
}

void admin_templates_list(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    struct roster_err err = {0};
    struct roster_template *v;
    size_t n;
    int rc = roster_template_list(&ctx, &v, &n, &err);
    if (rc) {
        roster_resp_fail(r, rc, &err);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "templates");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_template(&w, &v[i]);
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}

void admin_templates_create(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    static const char *const allowed[] = {"name", "content", NULL};
    struct roster_jsonr_val obj, v;
    const char *content, *name = NULL;
    size_t len;
    if (body_object(r, &obj, allowed) != 0)
        return;
    if (roster_jsonr_get(&obj, "name", &v) != 1 || v.type != ROSTER_JSONR_STRING ||
        roster_jsonr_str(&v, r->ctx.arena, &name, NULL) != 0) {
        roster_resp_error(r, 400, "name must be a string");
        return;
    }
    if (content_of(r, &obj, &content, &len) != 0)
        return;
    struct roster_err err = {0};
    struct roster_template t;
    int rc = roster_template_get(&ctx, name, &t, &err);
    if (rc == 0) {
        roster_resp_error(r, 409,
                          "template \"%.200s\" already exists: PUT "
                          "/admin/orgs/{id}/templates/{name} replaces it",
                          name);
        return;
    }
    if (rc != ROSTER_ENOTFOUND) {
        roster_resp_fail(r, rc, &err);
        return;
    }
    store(r, &ctx, name, content, len);
}

void admin_template_get(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    const char *name = r->params[1];
    struct roster_err err = {0};
    struct roster_template t;
    int rc = roster_template_get(&ctx, name, &t, &err);
    if (rc) {
        roster_answer_fail(r, rc, &err, "template", name);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    put_template(&w, &t);
}

void admin_template_put(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    static const char *const allowed[] = {"content", NULL};
    struct roster_jsonr_val obj;
    const char *content;
    size_t len;
    if (body_object(r, &obj, allowed) != 0 || content_of(r, &obj, &content, &len) != 0)
        return;
    store(r, &ctx, r->params[1], content, len);
}

void admin_template_delete(struct roster_req *r)
{
    struct roster_ctx ctx;
    if (org_ctx(r, &ctx) != 0)
        return;
    const char *name = r->params[1];
    struct roster_err err = {0};
    int rc = roster_template_delete(&ctx, name, &err);
    if (rc) {
        roster_answer_fail(r, rc, &err, "template", name);
        return;
    }
    roster_resp_empty(r, 204);
}
