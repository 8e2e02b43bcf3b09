/* The SCIM dialect descriptor and what every SCIM resource shares (scim.h): errors in the
 * RFC 7644 §3.12 Error schema, answers written into struct scim_out, application/scim+json
 * responses, meta, ETags and preconditions, and the attributes / excludedAttributes
 * projection. */
#include "dialect/scim/scim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "roster/log.h"

#define SCIM_CONTENT_TYPE "application/scim+json; charset=utf-8"

/* --- errors --- */

static void error_json(struct roster_buf *out, int status, const char *scim_type, const char *msg)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, out);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "schemas");
    roster_jsonw_arr_begin(&w);
    roster_jsonw_str(&w, SCIM_MSG_ERROR);
    roster_jsonw_arr_end(&w);
    char st[16];
    snprintf(st, sizeof(st), "%d", status);
    roster_jsonw_kstr(&w, "status", st);
    if (scim_type)
        roster_jsonw_kstr(&w, "scimType", scim_type);
    roster_jsonw_kstr(&w, "detail", msg);
    roster_jsonw_obj_end(&w);
}

static void send_error(struct roster_req *r, int status, const char *scim_type, const char *msg)
{
    r->status = status;
    r->content_type = SCIM_CONTENT_TYPE;
    roster_buf_reset(&r->resp);
    error_json(&r->resp, status, scim_type, msg);
    if (status == 401)
        roster_resp_header(r, "WWW-Authenticate", "Bearer realm=\"roster\"");
}

/* the dialect's error encoder: auth failures, unknown paths, 405, 413, 415, 429 */
static void dialect_error(struct roster_req *r, int status, const char *msg)
{
    send_error(r, status, status == 413 ? "tooLarge" : NULL, msg);
}

const struct roster_dialect roster_scim_dialect = {"scim", ROSTER_AUTH_BEARER, dialect_error};

void scim_error(struct roster_req *r, int status, const char *scim_type, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->nheaders = 0;
    send_error(r, status, scim_type, msg);
}

int scim_status_of(int rc, const char **scim_type)
{
    *scim_type = NULL;
    switch (rc) {
    case ROSTER_EINVAL:
        *scim_type = "invalidValue";
        return 400;
    case ROSTER_ECONFLICT:
        *scim_type = "uniqueness";
        return 409;
    case ROSTER_ESTALE:
        return 412;
    case ROSTER_ETOOBIG:
        *scim_type = "tooLarge";
        return 413;
    default:
        return roster_http_status(rc);
    }
}

static void log_5xx(int status, const struct roster_err *err)
{
    if (status >= 500)
        roster_log(ROSTER_LOG_ERROR, "scim request failed", "code=%s msg=\"%s\" detail=\"%s\"",
                   roster_code_name(err ? err->code : 0), err ? err->msg : "",
                   err ? err->detail : "");
}

void scim_fail(struct roster_req *r, int rc, const struct roster_err *err)
{
    const char *type;
    int status = scim_status_of(rc, &type);
    log_5xx(status, err);
    scim_error(r, status, type, "%s", err && err->msg[0] ? err->msg : roster_http_reason(status));
}

/* --- answers --- */

void scim_out_init(struct scim_out *o)
{
    memset(o, 0, sizeof(*o));
    roster_buf_init(&o->body);
}

void scim_out_release(struct scim_out *o)
{
    roster_buf_release(&o->body);
}

int scim_out_error(struct scim_out *o, int status, const char *scim_type, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->status = status;
    o->scim_type = scim_type;
    o->location[0] = o->etag[0] = '\0';
    roster_buf_reset(&o->body);
    error_json(&o->body, status, scim_type, msg);
    return -1;
}

int scim_out_fail(struct scim_out *o, int rc, const struct roster_err *err)
{
    const char *type;
    int status = scim_status_of(rc, &type);
    log_5xx(status, err);
    return scim_out_error(o, status, type, "%s",
                          err && err->msg[0] ? err->msg : roster_http_reason(status));
}

void scim_out_json(struct scim_out *o, int status, json_t *j)
{
    o->status = status;
    roster_buf_reset(&o->body);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text) {
        roster_buf_addstr(&o->body, text);
        free(text);
    }
}

void scim_out_send(struct roster_req *r, struct scim_out *o)
{
    r->status = o->status;
    roster_buf_reset(&r->resp);
    r->content_type = o->body.len ? SCIM_CONTENT_TYPE : NULL;
    if (o->body.len)
        roster_buf_add(&r->resp, o->body.data, o->body.len);
    if (o->location[0])
        roster_resp_header(r, "Location", roster_arena_strdup(r->ctx.arena, o->location));
    if (o->etag[0])
        roster_resp_header(r, "ETag", roster_arena_strdup(r->ctx.arena, o->etag));
    if (o->status == 401)
        roster_resp_header(r, "WWW-Authenticate", "Bearer realm=\"roster\"");
}

struct roster_jsonw *scim_resp_json(struct roster_req *r, int status, struct roster_jsonw *w)
{
    roster_resp_json(r, status, w);
    r->content_type = SCIM_CONTENT_TYPE;
    return w;
}

/* --- request helpers --- */

const char *scim_base_url(struct roster_req *r)
{
    const char *host = roster_req_header(r, "Host");
    bool tls = r->ctx.app && r->ctx.app->cfg.tls_cert_pem;
    if (!host || !*host || strpbrk(host, "/\\\"<> \t\r\n"))
        host = "localhost";
    return roster_arena_printf(r->ctx.arena, "%s://%s/scim/v2", tls ? "https" : "http", host);
}

int scim_parse_body(const char *body, size_t len, json_t **out, struct scim_out *o)
{
    json_error_t jerr;
    *out = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        return scim_out_error(o, 400, "invalidSyntax",
                              "request body is not valid JSON: %s at line %d, column %d", jerr.text,
                              jerr.line, jerr.column);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return scim_out_error(o, 400, "invalidSyntax", "request body must be a JSON object");
    }
    return 0;
}

/* --- meta and versions --- */

void scim_etag(char out[SCIM_ETAG_MAX], int64_t version)
{
    snprintf(out, SCIM_ETAG_MAX, "W/\"%lld\"", (long long)version);
}

json_t *scim_meta(const char *resource_type, const char *base, const char *endpoint, const char *id,
                  int64_t created_ms, int64_t modified_ms, int64_t version)
{
    char created[32], modified[32], etag[SCIM_ETAG_MAX];
    roster_time_format(created_ms, created);
    roster_time_format(modified_ms ? modified_ms : created_ms, modified);
    scim_etag(etag, version);
    json_t *m = json_object();
    json_object_set_new(m, "resourceType", json_string(resource_type));
    json_object_set_new(m, "created", json_string(created));
    json_object_set_new(m, "lastModified", json_string(modified));
    char loc[SCIM_LOCATION_MAX];
    snprintf(loc, sizeof(loc), "%s/%s/%s", base, endpoint, id);
    json_object_set_new(m, "location", json_string(loc));
    json_object_set_new(m, "version", json_string(etag));
    return m;
}

/* Whether the entity-tag list `list` (RFC 7232: "*" or comma-separated tags, weak or
 * strong) names version (compared weakly, as SCIM's versions are weak). */
static bool etag_matches(const char *list, int64_t version)
{
    char want[32];
    snprintf(want, sizeof(want), "%lld", (long long)version);
    size_t wl = strlen(want);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return true;
        if ((p[0] == 'W' || p[0] == 'w') && p[1] == '/')
            p += 2;
        bool quoted = *p == '"';
        if (quoted)
            p++;
        const char *start = p;
        while (*p && *p != (quoted ? '"' : ',') && !(!quoted && (*p == ' ' || *p == '\t')))
            p++;
        if ((size_t)(p - start) == wl && memcmp(start, want, wl) == 0)
            return true;
        if (quoted && *p == '"')
            p++;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

int scim_precondition(const char *if_match, const char *if_none_match, int64_t version,
                      struct scim_out *o)
{
    char etag[SCIM_ETAG_MAX];
    scim_etag(etag, version);
    if (if_match && *if_match && !etag_matches(if_match, version))
        return scim_out_error(o, 412, NULL,
                              "precondition failed: If-Match %.64s does not match the current "
                              "version %s",
                              if_match, etag);
    if (if_none_match && *if_none_match && etag_matches(if_none_match, version))
        return scim_out_error(o, 412, NULL,
                              "precondition failed: If-None-Match %.64s matches the current "
                              "version %s",
                              if_none_match, etag);
    return 0;
}

/* --- attributes / excludedAttributes --- */

static size_t split_list(const char *s, const char *core_urn, struct roster_arena *a,
                         const char ***out)
{
    *out = NULL;
    if (!s || !*s)
        return 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    const char **v = roster_arena_alloc(a, cap * sizeof(*v));
    size_t n = 0, ulen = strlen(core_urn);
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t > p) {
            if ((size_t)(t - p) > ulen + 1 && strncasecmp(p, core_urn, ulen) == 0 && p[ulen] == ':')
                p += ulen + 1;
            v[n++] = roster_arena_strndup(a, p, (size_t)(t - p));
        }
        p = e;
    }
    *out = v;
    return n;
}

void scim_proj_parse(struct scim_proj *p, const char *attributes, const char *excluded,
                     const char *core_urn, struct roster_arena *a)
{
    memset(p, 0, sizeof(*p));
    p->nattrs = split_list(attributes, core_urn, a, &p->attrs);
    p->nexcl = split_list(excluded, core_urn, a, &p->excl);
}

void scim_proj_of_req(struct scim_proj *p, struct roster_req *r, const char *core_urn)
{
    scim_proj_parse(p, roster_req_query(r, "attributes"), roster_req_query(r, "excludedAttributes"),
                    core_urn, r->ctx.arena);
}

bool scim_proj_empty(const struct scim_proj *p)
{
    return p->nattrs == 0 && p->nexcl == 0;
}

/* name equals prefix "." sub (case-insensitive); sub NULL: name equals prefix */
static bool name_is(const char *name, const char *prefix, const char *sub)
{
    size_t n = strlen(prefix);
    if (strncasecmp(name, prefix, n) != 0)
        return false;
    if (!sub)
        return name[n] == '\0';
    return (name[n] == '.' || name[n] == ':') && strcasecmp(name + n + 1, sub) == 0;
}

/* name starts with prefix and a separator ('.' or, after a URN, ':') */
static bool name_under(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(name, prefix, n) == 0 && (name[n] == '.' || name[n] == ':');
}

static bool listed(const char *const *v, size_t n, const char *key, const char *sub)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(v[i], key, sub))
            return true;
    return false;
}

static bool any_under(const char *const *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (name_under(v[i], key))
            return true;
    return false;
}

/* Keeps the sub-attributes of obj that p wants under key (attrs given: those listed;
 * else all but the excluded). */
static void project_subs(json_t *obj, const char *key, const struct scim_proj *p, bool whole)
{
    if (!json_is_object(obj))
        return;
    const char *sub;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, sub, v)
    {
        bool keep = p->nattrs ? whole || listed(p->attrs, p->nattrs, key, sub) : true;
        if (p->nexcl && listed(p->excl, p->nexcl, key, sub))
            keep = false;
        if (!keep)
            json_object_del(obj, sub);
    }
}

void scim_project(json_t *res, const struct scim_proj *p)
{
    if (!json_is_object(res) || scim_proj_empty(p))
        return;
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(res, tmp, key, v)
    {
        if (strcmp(key, "id") == 0 || strcmp(key, "schemas") == 0)
            continue;
        bool whole = p->nattrs && listed(p->attrs, p->nattrs, key, NULL);
        bool part = p->nattrs && !whole && any_under(p->attrs, p->nattrs, key);
        bool keep = p->nattrs ? whole || part : true;
        if (p->nexcl && listed(p->excl, p->nexcl, key, NULL))
            keep = false;
        if (!keep) {
            json_object_del(res, key);
            continue;
        }
        bool narrow = part || (p->nexcl && any_under(p->excl, p->nexcl, key));
        if (!narrow)
            continue;
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                project_subs(e, key, p, whole);
            }
        } else {
            project_subs(v, key, p, whole);
        }
        if ((json_is_object(v) && json_object_size(v) == 0))
            json_object_del(res, key);
    }
}
