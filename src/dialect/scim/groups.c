/* SCIM /Groups (RFC 7643 section 4.2, RFC 7644 section 3): roster groups of kind
 * ROSTER_GROUP_PLAIN with their user members. The SCIM id of a group is its num_id in
 * decimal; members are users named by their ids (24 hex); roster has no nested groups, so a
 * member that is a group is a 400. externalId is kept in the group's extra object. Each
 * operation is a function writing a struct scim_gres, which the HTTP handlers answer and
 * /Bulk (bulk.c) puts into its operations' results. docs/scim.md, section "Groups".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialect/scim/filter.h"
#include "dialect/scim/groups.h"
#include "dialect/scim/scim.h"
#include "roster/core.h"
#include "roster/group.h"

#define SCHEMA_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCHEMA_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCHEMA_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCHEMA_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define LIST_DEFAULT_COUNT 100
#define LIST_MAX_COUNT 1000 /* filter.maxResults of /ServiceProviderConfig */

/* --- answers --- */

void scim_groups_error(struct roster_req *r, int status, const char *scim_type, const char *fmt,
                       ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->nheaders = 0;
    scim_error(r, status, scim_type, "%s", msg);
}

const char *scim_groups_base(struct roster_req *r)
{
    return scim_base_url(r);
}

static void etag_of(char *buf, size_t n, int64_t version)
{
    snprintf(buf, n, "W/\"%lld\"", (long long)version);
}

void scim_groups_answer(struct roster_req *r, const struct scim_gres *res)
{
    if (res->status >= 400) {
        scim_groups_error(r, res->status, res->scim_type, "%s", res->detail ? res->detail : "");
        return;
    }
    if (res->status == 204 || !res->body) {
        roster_resp_empty(r, res->status);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, res->status, &w);
    r->content_type = "application/scim+json";
    roster_jsonw_raw(&w, res->body);
    if (res->version > 0) {
        char *etag = roster_arena_alloc(r->ctx.arena, 32);
        etag_of(etag, 32, res->version);
        roster_resp_header(r, "ETag", etag);
    }
    if (res->status == 201 && res->id)
        roster_resp_header(
            r, "Location",
            roster_arena_printf(r->ctx.arena, "%s/Groups/%s", scim_groups_base(r), res->id));
}

/* A version from an entity tag: W/"12", "12" or 12; -1 when it is none of these. */
static int64_t etag_version(const char *s)
{
    while (*s == ' ')
        s++;
    if (!strncmp(s, "W/", 2))
        s += 2;
    bool q = *s == '"';
    s += q;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0 || (q && *end++ != '"'))
        return -1;
    while (*end == ' ')
        end++;
    return *end ? -1 : v;
}

int64_t scim_groups_if_match(struct roster_req *r)
{
    const char *h = roster_req_header(r, "If-Match");
    if (!h || !strcmp(h, "*"))
        return 0;
    int64_t v = etag_version(h);
    return v > 0 ? v : -1; /* a tag roster never gives matches nothing: 412 */
}

static void res_fail(struct roster_ctx *ctx, struct scim_gres *out, int status,
                     const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void res_fail(struct roster_ctx *ctx, struct scim_gres *out, int status,
                     const char *scim_type, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    out->status = status;
    out->scim_type = scim_type;
    out->detail = roster_arena_strdup(ctx->arena, msg);
    out->body = NULL;
}

/* a failed core call as SCIM answers it */
static void res_core_fail(struct roster_ctx *ctx, struct scim_gres *out, int rc,
                          const struct roster_err *err, const char *id)
{
    switch (rc) {
    case ROSTER_ENOTFOUND:
        res_fail(ctx, out, 404, NULL, "group \"%.64s\" not found", id ? id : "");
        break;
    case ROSTER_ECONFLICT:
        res_fail(ctx, out, 409, "uniqueness", "displayName: %s", err->msg);
        break;
    case ROSTER_ESTALE:
        res_fail(ctx, out, 412, NULL, "If-Match does not match: %s", err->msg);
        break;
    case ROSTER_EINVAL:
        res_fail(ctx, out, 400, "invalidValue", "%s", err->msg);
        break;
    default:
        res_fail(ctx, out, roster_http_status(rc), NULL, "%s", err->msg);
    }
}

/* --- the resource --- */

/* which attributes an answer has (attributes / excludedAttributes) */
struct gattrs {
    bool display_name, members, external_id, meta;
};
static const struct gattrs ALL_ATTRS = {true, true, true, true};

/* The name of a Group attribute that a list item names ("members.value",
 * "urn:...:Group:displayName"), without its URN and sub-attribute, in buf. */
static const char *attr_name(const char *item, char *buf, size_t n)
{
    const char *s = item;
    if (!strncasecmp(s, SCHEMA_GROUP ":", sizeof(SCHEMA_GROUP)))
        s += sizeof(SCHEMA_GROUP);
    size_t len = strcspn(s, ".");
    snprintf(buf, n, "%.*s", (int)len, s);
    return buf;
}

/* Applies attrs (a comma list to return: id and schemas always are) or, without it,
 * excluded (a comma list to leave out). */
static struct gattrs gattrs_of(const char *attrs, const char *excluded)
{
    struct gattrs a = ALL_ATTRS;
    const char *list = attrs && attrs[0] ? attrs : excluded;
    if (!list || !list[0])
        return a;
    if (list == attrs)
        a = (struct gattrs){false, false, false, false};
    char item[256], name[128];
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        snprintf(item, sizeof(item), "%.*s", (int)len, p);
        char *t = item;
        while (*t == ' ')
            t++;
        attr_name(t, name, sizeof(name));
        bool on = list == attrs;
        if (!strcasecmp(name, "displayName"))
            a.display_name = on;
        else if (!strcasecmp(name, "members"))
            a.members = on;
        else if (!strcasecmp(name, "externalId"))
            a.external_id = on;
        else if (!strcasecmp(name, "meta"))
            a.meta = on;
        p += len + (p[len] == ',');
    }
    return a;
}

/* the externalId kept in a group's extra object, or NULL */
static const char *external_id(struct roster_arena *a, const struct roster_group *g)
{
    if (!g->extra || !g->extra[0])
        return NULL;
    json_t *x = json_loads(g->extra, 0, NULL);
    const char *v = json_string_value(json_object_get(x, "externalId"));
    const char *out = v ? roster_arena_strdup(a, v) : NULL;
    json_decref(x);
    return out;
}

/* Writes group g as a SCIM Group resource into w (its members read here when asked for). */
static int write_group(struct roster_ctx *ctx, struct roster_jsonw *w, const char *base,
                       const struct roster_group *g, const struct gattrs *at,
                       struct roster_err *err)
{
    struct roster_group_member *m = NULL;
    size_t nm = 0;
    if (at->members) {
        int rc = roster_group_members(ctx, g->num_id, 0, -1, &m, &nm, err);
        if (rc)
            return rc;
    }
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)g->num_id);
    roster_jsonw_obj_begin(w);
    roster_jsonw_key(w, "schemas");
    roster_jsonw_arr_begin(w);
    roster_jsonw_str(w, SCHEMA_GROUP);
    roster_jsonw_arr_end(w);
    roster_jsonw_kstr(w, "id", id);
    const char *ext = at->external_id ? external_id(ctx->arena, g) : NULL;
    if (ext)
        roster_jsonw_kstr(w, "externalId", ext);
    if (at->display_name)
        roster_jsonw_kstr(w, "displayName", g->name);
    if (at->members) {
        roster_jsonw_key(w, "members");
        roster_jsonw_arr_begin(w);
        for (size_t i = 0; i < nm; i++) {
            roster_jsonw_obj_begin(w);
            roster_jsonw_kstr(w, "value", m[i].user_id);
            roster_jsonw_kstr(w, "display",
                              m[i].display_name && m[i].display_name[0] ? m[i].display_name
                                                                        : m[i].username);
            roster_jsonw_kstr(w, "type", "User");
            roster_jsonw_kstr(w, "$ref",
                              roster_arena_printf(ctx->arena, "%s/Users/%s", base, m[i].user_id));
            roster_jsonw_obj_end(w);
        }
        roster_jsonw_arr_end(w);
    }
    if (at->meta) {
        roster_jsonw_key(w, "meta");
        roster_jsonw_obj_begin(w);
        roster_jsonw_kstr(w, "resourceType", "Group");
        roster_jsonw_ktime(w, "created", g->created_ms);
        roster_jsonw_ktime(w, "lastModified", g->modified_ms);
        roster_jsonw_kstr(w, "location", roster_arena_printf(ctx->arena, "%s/Groups/%s", base, id));
        char etag[32];
        etag_of(etag, sizeof(etag), g->version);
        roster_jsonw_kstr(w, "version", etag);
        roster_jsonw_obj_end(w);
    }
    roster_jsonw_obj_end(w);
    return 0;
}

/* out: status with g's resource as the body */
static void res_group(struct roster_ctx *ctx, const char *base, const struct roster_group *g,
                      int status, const struct gattrs *at, struct scim_gres *out)
{
    struct roster_buf b;
    struct roster_jsonw w;
    struct roster_err err = {0};
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    int rc = write_group(ctx, &w, base, g, at, &err);
    if (rc) {
        roster_buf_release(&b);
        res_core_fail(ctx, out, rc, &err, NULL);
        return;
    }
    out->status = status;
    out->scim_type = NULL;
    out->detail = NULL;
    out->id = roster_arena_printf(ctx->arena, "%lld", (long long)g->num_id);
    out->version = g->version;
    out->body = roster_arena_strdup(ctx->arena, b.data ? b.data : "{}");
    roster_buf_release(&b);
}

/* The num_id a SCIM group id names; 0 when it names none (not a positive decimal). */
static int64_t group_num(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (!len || len > 18 || strspn(id, "0123456789") != len || id[0] == '0')
        return 0;
    return strtoll(id, NULL, 10);
}

/* --- decoding --- */

/* a key of obj matched without regard to case (SCIM attribute names are case-insensitive) */
static json_t *jget(json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!strcasecmp(k, key))
            return v;
    }
    return NULL;
}

/* The user ids of a members value (an array of {"value": id}, or one such object) into
 * *ids; 0, or -1 after res_fail. */
static int member_ids(struct roster_ctx *ctx, json_t *v, const char ***ids, size_t *n,
                      struct scim_gres *out)
{
    *ids = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_object(v)) {
        res_fail(ctx, out, 400, "invalidValue",
                 "members must be an array of objects with a \"value\" (a user id)");
        return -1;
    }
    const char **list = roster_arena_zalloc(ctx->arena, (cnt + 1) * sizeof(*list));
    for (size_t i = 0; i < cnt; i++) {
        json_t *m = json_is_array(v) ? json_array_get(v, i) : v;
        const char *id = json_string_value(jget(m, "value"));
        if (!json_is_object(m) || !id) {
            res_fail(ctx, out, 400, "invalidValue",
                     "members[%zu] needs a \"value\" with the id of a user", i);
            return -1;
        }
        json_t *type = jget(m, "type");
        if (json_is_string(type) && !strcasecmp(json_string_value(type), "Group")) {
            res_fail(ctx, out, 400, "invalidValue",
                     "member \"%.64s\" is a group: nested groups are not supported", id);
            return -1;
        }
        list[i] = id;
    }
    *ids = list;
    *n = cnt;
    return 0;
}

/* The extra object of a group with externalId ext (NULL or JSON null: none). */
static const char *extra_with(struct roster_ctx *ctx, const char *cur, json_t *ext)
{
    json_t *x = cur && cur[0] ? json_loads(cur, 0, NULL) : NULL;
    if (!json_is_object(x)) {
        json_decref(x);
        x = json_object();
    }
    if (json_is_string(ext))
        json_object_set(x, "externalId", ext);
    else
        json_object_del(x, "externalId");
    const char *out = "";
    if (json_object_size(x)) {
        char *s = json_dumps(x, JSON_COMPACT);
        out = roster_arena_strdup(ctx->arena, s);
        free(s);
    }
    json_decref(x);
    return out;
}

/* The checks of a Group resource (POST, PUT): a displayName string, members objects,
 * externalId a string. 0, or -1 after res_fail. */
static int check_group(struct roster_ctx *ctx, json_t *data, const char **name, json_t **ext,
                       const char ***ids, size_t *nids, struct scim_gres *out)
{
    if (!json_is_object(data)) {
        res_fail(ctx, out, 400, "invalidSyntax", "the body must be a Group resource object");
        return -1;
    }
    json_t *dn = jget(data, "displayName");
    if (!json_is_string(dn) || !json_string_length(dn)) {
        res_fail(ctx, out, 400, "invalidValue", "displayName is required (a non-empty string)");
        return -1;
    }
    *name = json_string_value(dn);
    *ext = jget(data, "externalId");
    if (*ext && !json_is_string(*ext) && !json_is_null(*ext)) {
        res_fail(ctx, out, 400, "invalidValue", "externalId must be a string");
        return -1;
    }
    return member_ids(ctx, jget(data, "members"), ids, nids, out);
}

/* --- operations --- */

void scim_group_post(struct roster_ctx *ctx, const char *base, json_t *data, struct scim_gres *out)
{
    const char *name;
    json_t *ext;
    const char **ids;
    size_t nids;
    if (check_group(ctx, data, &name, &ext, &ids, &nids, out))
        return;
    struct roster_group g = {.kind = ROSTER_GROUP_PLAIN, .name = name};
    g.extra = extra_with(ctx, NULL, ext);
    g.extra = g.extra[0] ? g.extra : NULL;
    struct roster_group_step st = {ROSTER_GROUP_SET, NULL, ids, nids, NULL};
    struct roster_err err = {0};
    int rc = roster_group_apply(ctx, &g, true, 0, &st, nids ? 1 : 0, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, NULL);
        return;
    }
    res_group(ctx, base, &g, 201, &ALL_ATTRS, out);
}

void scim_group_put(struct roster_ctx *ctx, const char *base, const char *id, json_t *data,
                    int64_t if_match, struct scim_gres *out)
{
    const char *name;
    json_t *ext;
    const char **ids;
    size_t nids;
    struct roster_group g = {.kind = ROSTER_GROUP_PLAIN, .num_id = group_num(id)};
    struct roster_err err = {0};
    int rc = roster_group_get(ctx, g.kind, g.num_id, &g, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, id);
        return;
    }
    if (check_group(ctx, data, &name, &ext, &ids, &nids, out))
        return;
    /* externalId replaced, the rest of extra kept */
    struct roster_group_step st[2] = {
        {ROSTER_GROUP_RENAME, name, NULL, 0, extra_with(ctx, g.extra, ext)},
        {ROSTER_GROUP_SET, NULL, ids, nids, NULL}};
    struct roster_group h = g;
    rc = roster_group_apply(ctx, &h, false, if_match, st, 2, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, id);
        return;
    }
    res_group(ctx, base, &h, 200, &ALL_ATTRS, out);
}

/* A PATCH path naming members with a filter, `members[value eq "id"]` (Okta), or several
 * joined by or: the ids into *ids. 0; 1 when path is not of this form; -1 after res_fail. */
static int member_filter_path(struct roster_ctx *ctx, const char *path, const char ***ids,
                              size_t *n, struct scim_gres *out)
{
    size_t len = strlen(path);
    if (strncasecmp(path, "members[", 8) || len < 10 || path[len - 1] != ']')
        return 1;
    char *inner = roster_arena_printf(ctx->arena, "%.*s", (int)(len - 9), path + 8);
    struct scim_fnode *f = NULL;
    struct roster_err err = {0};
    if (scim_filter_parse(inner, ctx->arena, &f, &err)) {
        res_fail(ctx, out, 400, "invalidPath", "path \"%.128s\": %s", path, err.msg);
        return -1;
    }
    /* value eq "a" [or value eq "b" ...] */
    struct scim_fnode *one[1] = {f};
    struct scim_fnode **kids = f->kind == SCIM_F_OR ? f->kids : one;
    size_t nk = f->kind == SCIM_F_OR ? f->nkids : 1;
    const char **v = roster_arena_zalloc(ctx->arena, (nk + 1) * sizeof(*v));
    for (size_t i = 0; i < nk; i++) {
        struct scim_fnode *k = kids[i];
        if (k->kind != SCIM_F_CMP || k->op != SCIM_EQ || k->vtype != SCIM_V_STRING ||
            strcasecmp(k->path.name, "value") || k->path.sub || k->path.uri) {
            res_fail(ctx, out, 400, "invalidPath",
                     "path \"%.128s\": only members[value eq \"<user id>\"] (joined by or) is "
                     "supported",
                     path);
            return -1;
        }
        v[i] = k->text;
    }
    *ids = v;
    *n = nk;
    return 0;
}

/* The attribute a PATCH path names (without the Group URN), lower-cased into buf. */
static const char *patch_attr(const char *path, char *buf, size_t n)
{
    const char *s = path;
    if (!strncasecmp(s, SCHEMA_GROUP ":", sizeof(SCHEMA_GROUP)))
        s += sizeof(SCHEMA_GROUP);
    snprintf(buf, n, "%s", s);
    return buf;
}

/* One PATCH operation turned into steps (appended to *steps) and changes of the group's
 * extra (*ext_set, *ext). 0, or -1 after res_fail. */
struct patch_plan {
    struct roster_group_step *steps;
    size_t n, cap;
    bool ext_set;
    json_t *ext;
};

static void plan_add(struct roster_ctx *ctx, struct patch_plan *p, struct roster_group_step st)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct roster_group_step *v = roster_arena_alloc(ctx->arena, cap * sizeof(*v));
        if (p->n)
            memcpy(v, p->steps, p->n * sizeof(*v));
        p->steps = v;
        p->cap = cap;
    }
    p->steps[p->n++] = st;
}

/* an op's attribute (displayName, members, externalId) set to value by add or replace */
static int plan_value(struct roster_ctx *ctx, struct patch_plan *p, int op, const char *attr,
                      json_t *value, struct scim_gres *out)
{
    if (!strcasecmp(attr, "displayName")) {
        if (!json_is_string(value) || !json_string_length(value)) {
            res_fail(ctx, out, 400, "invalidValue", "displayName must be a non-empty string");
            return -1;
        }
        plan_add(ctx, p,
                 (struct roster_group_step){ROSTER_GROUP_RENAME, json_string_value(value), NULL, 0,
                                            NULL});
        return 0;
    }
    if (!strcasecmp(attr, "members")) {
        const char **ids;
        size_t n;
        if (member_ids(ctx, value, &ids, &n, out))
            return -1;
        plan_add(ctx, p,
                 (struct roster_group_step){op == 'a' ? ROSTER_GROUP_ADD : ROSTER_GROUP_SET, NULL,
                                            ids, n, NULL});
        return 0;
    }
    if (!strcasecmp(attr, "externalId")) {
        if (!json_is_string(value) && !json_is_null(value)) {
            res_fail(ctx, out, 400, "invalidValue", "externalId must be a string");
            return -1;
        }
        p->ext_set = true;
        p->ext = value;
        return 0;
    }
    if (!strcasecmp(attr, "id") || !strcasecmp(attr, "schemas") || !strcasecmp(attr, "meta"))
        return 0; /* read-only: Okta sends the id along with displayName; ignored */
    res_fail(ctx, out, 400, "invalidPath", "a Group has no attribute \"%.64s\"", attr);
    return -1;
}

static int plan_op(struct roster_ctx *ctx, struct patch_plan *p, json_t *op, size_t i,
                   struct scim_gres *out)
{
    const char *name = json_string_value(jget(op, "op"));
    json_t *jpath = jget(op, "path");
    json_t *value = jget(op, "value");
    int kind = 0;
    if (name && !strcasecmp(name, "add"))
        kind = 'a';
    else if (name && !strcasecmp(name, "replace"))
        kind = 'r';
    else if (name && !strcasecmp(name, "remove"))
        kind = 'd';
    if (!json_is_object(op) || !kind) {
        res_fail(ctx, out, 400, "invalidSyntax",
                 "Operations[%zu]: op must be \"add\", \"replace\" or \"remove\"", i);
        return -1;
    }
    if (jpath && !json_is_string(jpath)) {
        res_fail(ctx, out, 400, "invalidPath", "Operations[%zu]: path must be a string", i);
        return -1;
    }
    const char *path = json_string_value(jpath);
    char buf[256];
    if (kind == 'd') {
        if (!path) {
            res_fail(ctx, out, 400, "noTarget", "Operations[%zu]: remove needs a path", i);
            return -1;
        }
        const char **ids;
        size_t n;
        int f = member_filter_path(ctx, path, &ids, &n, out);
        if (f < 0)
            return -1;
        if (f == 0) {
            plan_add(ctx, p, (struct roster_group_step){ROSTER_GROUP_REMOVE, NULL, ids, n, NULL});
            return 0;
        }
        const char *attr = patch_attr(path, buf, sizeof(buf));
        if (!strcasecmp(attr, "members")) {
            if (!value || json_is_null(value)) { /* every member */
                plan_add(ctx, p, (struct roster_group_step){ROSTER_GROUP_SET, NULL, NULL, 0, NULL});
                return 0;
            }
            if (member_ids(ctx, value, &ids, &n, out)) /* Entra: the members to remove */
                return -1;
            plan_add(ctx, p, (struct roster_group_step){ROSTER_GROUP_REMOVE, NULL, ids, n, NULL});
            return 0;
        }
        if (!strcasecmp(attr, "externalId")) {
            p->ext_set = true;
            p->ext = NULL;
            return 0;
        }
        if (!strcasecmp(attr, "displayName")) {
            res_fail(ctx, out, 400, "mutability", "displayName is required and cannot be removed");
            return -1;
        }
        res_fail(ctx, out, 400, "invalidPath", "a Group has no attribute \"%.64s\"", attr);
        return -1;
    }
    if (!value) {
        res_fail(ctx, out, 400, "invalidValue", "Operations[%zu]: %s needs a value", i, name);
        return -1;
    }
    if (path) {
        const char **ids;
        size_t n;
        int f = member_filter_path(ctx, path, &ids, &n, out);
        if (f < 0)
            return -1;
        if (f == 0) {
            res_fail(ctx, out, 400, "invalidPath",
                     "Operations[%zu]: %s of a filtered members path is not supported", i, name);
            return -1;
        }
        return plan_value(ctx, p, kind, patch_attr(path, buf, sizeof(buf)), value, out);
    }
    /* no path: value is an object of attributes */
    if (!json_is_object(value)) {
        res_fail(ctx, out, 400, "invalidValue",
                 "Operations[%zu]: without a path the value must be an object of attributes", i);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(value, k, v)
    {
        if (plan_value(ctx, p, kind, patch_attr(k, buf, sizeof(buf)), v, out))
            return -1;
    }
    return 0;
}

void scim_group_patch(struct roster_ctx *ctx, const char *base, const char *id, json_t *data,
                      int64_t if_match, bool want_body, struct scim_gres *out)
{
    struct roster_group g = {.kind = ROSTER_GROUP_PLAIN, .num_id = group_num(id)};
    struct roster_err err = {0};
    int rc = roster_group_get(ctx, g.kind, g.num_id, &g, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, id);
        return;
    }
    json_t *ops = jget(data, "Operations");
    if (!json_is_object(data) || !json_is_array(ops) || !json_array_size(ops)) {
        res_fail(ctx, out, 400, "invalidSyntax",
                 "the body must be a PatchOp with a non-empty Operations array");
        return;
    }
    struct patch_plan p = {0};
    for (size_t i = 0; i < json_array_size(ops); i++)
        if (plan_op(ctx, &p, json_array_get(ops, i), i, out))
            return;
    if (p.ext_set) /* the name stays as the steps before leave it */
        plan_add(ctx, &p,
                 (struct roster_group_step){ROSTER_GROUP_RENAME, NULL, NULL, 0,
                                            extra_with(ctx, g.extra, p.ext)});
    struct roster_group h = g;
    rc = roster_group_apply(ctx, &h, false, if_match, p.steps, p.n, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, id);
        return;
    }
    if (!want_body) {
        out->status = 204;
        out->body = NULL;
        out->id = roster_arena_printf(ctx->arena, "%lld", (long long)h.num_id);
        out->version = h.version;
        return;
    }
    res_group(ctx, base, &h, 200, &ALL_ATTRS, out);
}

void scim_group_delete(struct roster_ctx *ctx, const char *id, int64_t if_match,
                       struct scim_gres *out)
{
    struct roster_group g = {.kind = ROSTER_GROUP_PLAIN, .num_id = group_num(id)};
    struct roster_err err = {0};
    int rc = roster_group_get(ctx, g.kind, g.num_id, &g, &err);
    if (!rc && if_match > 0 && g.version != if_match)
        rc = roster_err_set(&err, ROSTER_ESTALE, "group %s is at version %lld", id,
                            (long long)g.version);
    if (!rc)
        rc = roster_groups_delete(ctx, ROSTER_GROUP_PLAIN, &g.num_id, 1, &err);
    if (rc) {
        res_core_fail(ctx, out, rc, &err, id);
        return;
    }
    out->status = 204;
    out->body = NULL;
    out->id = id;
    out->version = 0;
}

/* --- HTTP handlers --- */

/* The request body as JSON; NULL after answering 400. */
static json_t *body_json(struct roster_req *r)
{
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!body)
        scim_groups_error(r, 400, "invalidSyntax", "the body is not JSON: %s at line %d", jerr.text,
                          jerr.line);
    return body;
}

/* If-Match, or answered: -1 */
static int64_t if_match_or_answer(struct roster_req *r)
{
    int64_t v = scim_groups_if_match(r);
    if (v < 0)
        scim_groups_error(r, 412, NULL, "If-Match \"%.64s\" matches no version of this group",
                          roster_req_header(r, "If-Match"));
    return v;
}

void scim_groups_post(struct roster_req *r)
{
    json_t *body = body_json(r);
    if (!body)
        return;
    struct scim_gres res = {0};
    scim_group_post(&r->ctx, scim_groups_base(r), body, &res);
    json_decref(body);
    scim_groups_answer(r, &res);
}

void scim_groups_put(struct roster_req *r)
{
    int64_t im = if_match_or_answer(r);
    if (im < 0)
        return;
    json_t *body = body_json(r);
    if (!body)
        return;
    struct scim_gres res = {0};
    scim_group_put(&r->ctx, scim_groups_base(r), r->params[0], body, im, &res);
    json_decref(body);
    scim_groups_answer(r, &res);
}

void scim_groups_patch(struct roster_req *r)
{
    int64_t im = if_match_or_answer(r);
    if (im < 0)
        return;
    json_t *body = body_json(r);
    if (!body)
        return;
    const char *attrs = roster_req_query(r, "attributes");
    const char *excl = roster_req_query(r, "excludedAttributes");
    bool want = (attrs && attrs[0]) || (excl && excl[0]);
    struct scim_gres res = {0};
    scim_group_patch(&r->ctx, scim_groups_base(r), r->params[0], body, im, want, &res);
    json_decref(body);
    if (want && res.status == 200) { /* again with the attributes asked for */
        struct gattrs at = gattrs_of(attrs, excl);
        struct roster_group g;
        struct roster_err err = {0};
        if (roster_group_get(&r->ctx, ROSTER_GROUP_PLAIN, group_num(r->params[0]), &g, &err) == 0)
            res_group(&r->ctx, scim_groups_base(r), &g, 200, &at, &res);
    }
    scim_groups_answer(r, &res);
}

void scim_groups_delete(struct roster_req *r)
{
    int64_t im = if_match_or_answer(r);
    if (im < 0)
        return;
    struct scim_gres res = {0};
    scim_group_delete(&r->ctx, r->params[0], im, &res);
    scim_groups_answer(r, &res);
}

void scim_groups_get(struct roster_req *r)
{
    struct roster_group g;
    struct roster_err err = {0};
    struct scim_gres res = {0};
    int rc = roster_group_get(&r->ctx, ROSTER_GROUP_PLAIN, group_num(r->params[0]), &g, &err);
    if (rc) {
        res_core_fail(&r->ctx, &res, rc, &err, r->params[0]);
        scim_groups_answer(r, &res);
        return;
    }
    const char *inm = roster_req_header(r, "If-None-Match");
    if (inm && (!strcmp(inm, "*") || etag_version(inm) == g.version)) {
        roster_resp_empty(r, 304);
        char *etag = roster_arena_alloc(r->ctx.arena, 32);
        etag_of(etag, 32, g.version);
        roster_resp_header(r, "ETag", etag);
        return;
    }
    struct gattrs at =
        gattrs_of(roster_req_query(r, "attributes"), roster_req_query(r, "excludedAttributes"));
    res_group(&r->ctx, scim_groups_base(r), &g, 200, &at, &res);
    scim_groups_answer(r, &res);
}

/* What a /Groups filter selects (displayName eq, id eq, externalId eq, joined by and). */
struct gfilter {
    const char *name, *ext;
    int64_t num;
    bool none;
};

static int gfilter_node(struct roster_req *r, const struct scim_fnode *n, struct gfilter *f)
{
    if (n->kind == SCIM_F_AND) {
        for (size_t i = 0; i < n->nkids; i++)
            if (gfilter_node(r, n->kids[i], f))
                return -1;
        return 0;
    }
    char buf[128];
    const char *attr =
        n->kind == SCIM_F_CMP ? patch_attr(n->path.raw ? n->path.raw : "", buf, sizeof(buf)) : "";
    if (n->kind != SCIM_F_CMP || n->op != SCIM_EQ || n->vtype != SCIM_V_STRING ||
        (strcasecmp(attr, "displayName") && strcasecmp(attr, "id") &&
         strcasecmp(attr, "externalId"))) {
        scim_groups_error(r, 400, "invalidFilter",
                          "a /Groups filter supports displayName eq, id eq and externalId eq "
                          "(joined by and) only; not at character %zu",
                          n->pos);
        return -1;
    }
    if (!strcasecmp(attr, "displayName")) {
        f->none |= f->name && strcmp(f->name, n->text);
        f->name = n->text;
    } else if (!strcasecmp(attr, "externalId")) {
        f->none |= f->ext && strcmp(f->ext, n->text);
        f->ext = n->text;
    } else {
        int64_t num = group_num(n->text);
        f->none |= !num || (f->num && f->num != num);
        f->num = num;
    }
    return 0;
}

/* a query parameter that is an integer (any sign), or def; -1 after answering 400 */
static int query_int(struct roster_req *r, const char *name, int64_t def, int64_t *out)
{
    const char *v = roster_req_query(r, name);
    *out = def;
    if (!v)
        return 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (!v[0] || *end) {
        scim_groups_error(r, 400, "invalidValue", "%s must be an integer, not \"%.32s\"", name, v);
        return -1;
    }
    *out = x;
    return 0;
}

void scim_groups_list(struct roster_req *r)
{
    struct gfilter f = {0};
    const char *ftext = roster_req_query(r, "filter");
    if (ftext && ftext[0]) {
        struct scim_fnode *n = NULL;
        struct roster_err err = {0};
        if (scim_filter_parse(ftext, r->ctx.arena, &n, &err)) {
            scim_groups_error(r, 400, "invalidFilter", "%s", err.msg);
            return;
        }
        if (gfilter_node(r, n, &f))
            return;
    }
    int64_t start, count;
    if (query_int(r, "startIndex", 1, &start) || query_int(r, "count", LIST_DEFAULT_COUNT, &count))
        return;
    start = start < 1 ? 1 : start;
    count = count < 0 ? 0 : count > LIST_MAX_COUNT ? LIST_MAX_COUNT : count;
    const char *sort_by = roster_req_query(r, "sortBy");
    const char *order = roster_req_query(r, "sortOrder");
    char buf[128];
    if (sort_by && sort_by[0] && strcasecmp(patch_attr(sort_by, buf, sizeof(buf)), "displayName") &&
        strcasecmp(sort_by, "id")) {
        scim_groups_error(r, 400, "invalidValue",
                          "sortBy \"%.64s\": groups sort by displayName or id only", sort_by);
        return;
    }
    if (order && order[0] && strcasecmp(order, "ascending") && strcasecmp(order, "descending")) {
        scim_groups_error(r, 400, "invalidValue",
                          "sortOrder must be \"ascending\" or \"descending\", not \"%.32s\"",
                          order);
        return;
    }
    bool desc = order && !strcasecmp(order, "descending");
    struct roster_group_query q = {
        .kind = ROSTER_GROUP_PLAIN,
        .num_id = f.num,
        .name = f.name,
        .limit = -1,
        .want_total = true,
        .by_name = sort_by && !strcasecmp(patch_attr(sort_by, buf, sizeof(buf)), "displayName")};
    struct roster_group *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    struct roster_err err = {0};
    int rc = 0;
    if (!f.none && !f.ext) {
        /* descending: the ascending slice that ends where the descending page starts */
        q.limit = 0;
        rc = roster_group_list(&r->ctx, &q, &v, &n, &total, &err);
        int64_t skip = start - 1, lim = count;
        if (desc) {
            int64_t end = total - skip; /* exclusive, ascending */
            skip = end - count < 0 ? 0 : end - count;
            lim = end - skip < 0 ? 0 : end - skip;
        }
        q.skip = skip;
        q.limit = lim;
        q.want_total = false;
        if (!rc && lim > 0)
            rc = roster_group_list(&r->ctx, &q, &v, &n, NULL, &err);
    } else if (!f.none) {
        /* externalId lives in the extra object: the groups matching the rest, then it */
        rc = roster_group_list(&r->ctx, &q, &v, &n, NULL, &err);
        size_t k = 0;
        for (size_t i = 0; !rc && i < n; i++) {
            const char *e = external_id(r->ctx.arena, &v[i]);
            if (e && !strcmp(e, f.ext))
                v[k++] = v[i];
        }
        total = (int64_t)k;
        int64_t skip = start - 1;
        if (desc) {
            int64_t end = total - skip;
            skip = end - count < 0 ? 0 : end - count;
            count = end - skip < 0 ? 0 : end - skip;
        }
        v += skip < total ? skip : total;
        n = (size_t)(skip < total ? (total - skip < count ? total - skip : count) : 0);
    }
    if (rc) {
        struct scim_gres res = {0};
        res_core_fail(&r->ctx, &res, rc, &err, NULL);
        scim_groups_answer(r, &res);
        return;
    }
    struct gattrs at =
        gattrs_of(roster_req_query(r, "attributes"), roster_req_query(r, "excludedAttributes"));
    const char *base = scim_groups_base(r);
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    r->content_type = "application/scim+json";
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "schemas");
    roster_jsonw_arr_begin(&w);
    roster_jsonw_str(&w, SCHEMA_LIST);
    roster_jsonw_arr_end(&w);
    roster_jsonw_kint(&w, "totalResults", total);
    roster_jsonw_kint(&w, "startIndex", start);
    roster_jsonw_kint(&w, "itemsPerPage", (int64_t)n);
    roster_jsonw_key(&w, "Resources");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        rc = write_group(&r->ctx, &w, base, &v[desc ? n - 1 - i : i], &at, &err);
        if (rc) {
            struct scim_gres res = {0};
            res_core_fail(&r->ctx, &res, rc, &err, NULL);
            scim_groups_answer(r, &res);
            return;
        }
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}
