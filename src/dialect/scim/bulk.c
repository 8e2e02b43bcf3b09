/* SCIM POST /Bulk (RFC 7644 section 3.7). DESIGN:
 * - Limits: at most SCIM_BULK_MAX_OPERATIONS operations and SCIM_BULK_MAX_PAYLOAD bytes of body
 *   (advertised by /ServiceProviderConfig); more is 413 before anything runs.
 * - Order: operations run in request order, except that one referring to a bulkId
 *   ("bulkId:<id>" as a string value anywhere in its data, or a path segment) waits until
 *   the operation defining that bulkId has run, also when that one comes later in the
 *   request. Operations left waiting on each other (a cycle, or on an operation of a
 *   cycle) answer 409; one referring to a bulkId no operation defines, or whose defining
 *   operation failed, answers 409 naming it.
 * - Speed: a run of ready POST /Users operations goes to core as one batch
 *   (roster_users_create_many: one transaction), each with its own outcome (a duplicate in
 *   the batch or in the store is that operation's 409). With failOnErrors = N a batch is
 *   cut to the errors still allowed, so processing stops exactly after the N-th error.
 * - The BulkResponse lists the operations that ran, in request order, each with method,
 *   bulkId, status, location and version, and for a failure the Error as "response".
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialect/scim/bulk.h"
#include "dialect/scim/groups.h"
#include "dialect/scim/scim.h"
#include "roster/core.h"
#include "roster/jsonutil.h"

#define SCHEMA_BULK_REQ "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCHEMA_BULK_RESP "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCHEMA_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

enum { RES_USERS = 1, RES_GROUPS = 2 };

struct op {
    const char *method; /* upper case: POST PUT PATCH DELETE */
    const char *bulk_id;
    const char *path;
    json_t *data;
    int64_t version; /* from "version": If-Match */
    int resource;    /* RES_USERS / RES_GROUPS */
    const char *id;  /* the resource id of the path (may be "bulkId:x") */
    const char **refs;
    struct op **deps; /* deps[k]: the op defining refs[k], or NULL */
    size_t nrefs;
    bool refused; /* res already holds its error, answered when its turn comes */
    bool done, ran;
    struct scim_gres res;
};

struct bulk {
    struct roster_req *r;
    struct roster_ctx *ctx;
    const char *base;
    struct op *ops;
    size_t n;
    struct op **by_id; /* the ops with a bulkId, sorted by it (then request order) */
    size_t nby_id;
    int64_t fail_on_errors; /* 0: no limit */
    int64_t errors;
};

static int cmp_bulk_id(const void *a, const void *b)
{
    const struct op *x = *(const struct op *const *)a, *y = *(const struct op *const *)b;
    int c = strcmp(x->bulk_id, y->bulk_id);
    return c ? c : (x < y ? -1 : x > y);
}

/* the op defining bulk id b (the first with it), or NULL */
static struct op *defining(struct bulk *b, const char *bulk_id)
{
    size_t lo = 0, hi = b->nby_id;
    while (lo < hi) { /* the first whose bulkId is not below bulk_id */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->by_id[mid]->bulk_id, bulk_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->nby_id && !strcmp(b->by_id[lo]->bulk_id, bulk_id) ? b->by_id[lo] : NULL;
}

static void op_fail(struct bulk *b, struct op *o, int status, const char *scim_type,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void op_fail(struct bulk *b, struct op *o, int status, const char *scim_type,
                    const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->res = (struct scim_gres){status, scim_type, roster_arena_strdup(b->ctx->arena, msg),
                                NULL,   0,         NULL};
}

/* the length of the bulk id after "bulkId:" at s: up to a quote, bracket, space, comma,
 * parenthesis or the end (a reference may sit inside a path filter:
 * members[value eq "bulkId:x"]) */
static size_t ref_len(const char *s)
{
    return strcspn(s, "\"]) ,\t");
}

/* the bulkIds that v refers to ("bulkId:x" in its strings), appended to o->refs */
static void collect_refs(struct bulk *b, struct op *o, json_t *v, size_t *cap)
{
    if (json_is_string(v)) {
        for (const char *s = strstr(json_string_value(v), "bulkId:"); s;
             s = strstr(s + 7, "bulkId:")) {
            size_t len = ref_len(s + 7);
            if (!len)
                continue;
            if (o->nrefs == *cap) {
                *cap = *cap ? *cap * 2 : 4;
                const char **nr = roster_arena_alloc(b->ctx->arena, *cap * sizeof(*nr));
                if (o->nrefs)
                    memcpy(nr, o->refs, o->nrefs * sizeof(*nr));
                o->refs = nr;
            }
            o->refs[o->nrefs++] = roster_arena_printf(b->ctx->arena, "%.*s", (int)len, s + 7);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            collect_refs(b, o, json_array_get(v, i), cap);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            collect_refs(b, o, x, cap);
        }
    }
}

/* the id a resolved bulkId reference stands for */
static const char *resolved(struct bulk *b, const char *ref)
{
    struct op *d = defining(b, ref);
    return d && d->done && d->res.status < 300 ? d->res.id : NULL;
}

/* s with every resolved "bulkId:x" replaced by x's resource id (NULL: none to replace) */
static json_t *substituted(struct bulk *b, const char *s)
{
    if (!strstr(s, "bulkId:"))
        return NULL;
    struct roster_buf out;
    roster_buf_init(&out);
    const char *p = s;
    for (const char *q = strstr(p, "bulkId:"); q; q = strstr(p, "bulkId:")) {
        size_t len = ref_len(q + 7);
        char *ref = roster_arena_printf(b->ctx->arena, "%.*s", (int)len, q + 7);
        const char *id = len ? resolved(b, ref) : NULL;
        roster_buf_add(&out, p, (size_t)(q - p));
        if (id)
            roster_buf_addstr(&out, id);
        else
            roster_buf_add(&out, q, 7 + len);
        p = q + 7 + len;
    }
    roster_buf_addstr(&out, p);
    json_t *v = json_string(out.data ? out.data : "");
    roster_buf_release(&out);
    return v;
}

/* replaces every "bulkId:x" in the strings of v by x's resource id */
static void substitute(struct bulk *b, json_t *v)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            json_t *n = json_is_string(x) ? substituted(b, json_string_value(x)) : NULL;
            if (n)
                json_array_set_new(v, i, n);
            else
                substitute(b, x);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            json_t *n = json_is_string(x) ? substituted(b, json_string_value(x)) : NULL;
            if (n)
                json_object_set_new(v, k, n);
            else
                substitute(b, x);
        }
    }
}

/* Reads operation i of the request into o; false after op_fail (the op is done). */
static bool decode_op(struct bulk *b, json_t *jo, size_t i, struct op *o)
{
    memset(o, 0, sizeof(*o));
    const char *m = json_string_value(json_object_get(jo, "method"));
    o->bulk_id = json_string_value(json_object_get(jo, "bulkId"));
    o->path = json_string_value(json_object_get(jo, "path"));
    o->method = NULL;
    if (!json_is_object(jo)) {
        op_fail(b, o, 400, "invalidSyntax", "Operations[%zu] must be an object", i);
        return false;
    }
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (size_t k = 0; m && k < 4; k++)
        if (!strcasecmp(m, methods[k]))
            o->method = methods[k];
    if (!o->method) {
        o->method = m; /* answered as given (none when it is not a string) */
        op_fail(b, o, 400, "invalidSyntax",
                "Operations[%zu]: method must be POST, PUT, PATCH or DELETE", i);
        return false;
    }
    if (json_object_get(jo, "bulkId") && (!o->bulk_id || !o->bulk_id[0])) {
        op_fail(b, o, 400, "invalidSyntax", "Operations[%zu]: bulkId must be a non-empty string",
                i);
        return false;
    }
    if (!strcmp(o->method, "POST") && !o->bulk_id) {
        op_fail(b, o, 400, "invalidSyntax", "Operations[%zu]: a POST needs a bulkId", i);
        return false;
    }
    json_t *ver = json_object_get(jo, "version");
    if (json_is_string(ver)) {
        const char *s = json_string_value(ver);
        const char *p = !strncmp(s, "W/", 2) ? s + 2 : s;
        p += *p == '"';
        o->version = strtoll(p, NULL, 10);
        if (o->version <= 0)
            o->version = -1; /* a version roster never gives: 412 */
    }
    if (!o->path) {
        op_fail(b, o, 400, "invalidPath", "Operations[%zu] needs a path (\"/Users\", ...)", i);
        return false;
    }
    const char *p = o->path;
    size_t len;
    if (!strncasecmp(p, "/Users", 6) && (p[6] == '/' || !p[6])) {
        o->resource = RES_USERS;
        len = 6;
    } else if (!strncasecmp(p, "/Groups", 7) && (p[7] == '/' || !p[7])) {
        o->resource = RES_GROUPS;
        len = 7;
    } else {
        op_fail(b, o, 400, "invalidPath",
                "Operations[%zu]: path \"%.128s\" names no resource (/Users or /Groups)", i, p);
        return false;
    }
    o->id = p[len] == '/' && p[len + 1] ? p + len + 1 : NULL;
    if (o->id && strchr(o->id, '/')) {
        op_fail(b, o, 400, "invalidPath", "Operations[%zu]: path \"%.128s\" is too deep", i, p);
        return false;
    }
    bool post = !strcmp(o->method, "POST");
    if (post == (o->id != NULL)) {
        op_fail(b, o, 400, "invalidPath",
                post ? "Operations[%zu]: a POST goes to the collection, not \"%.128s\""
                     : "Operations[%zu]: %s needs a resource path, not \"%.128s\"",
                i, post ? p : o->method, p);
        return false;
    }
    o->data = json_object_get(jo, "data");
    if (strcmp(o->method, "DELETE") && !json_is_object(o->data)) {
        op_fail(b, o, 400, "invalidSyntax", "Operations[%zu]: %s needs a data object", i,
                o->method);
        return false;
    }
    size_t cap = 0;
    if (o->data)
        collect_refs(b, o, o->data, &cap);
    if (o->id && !strncmp(o->id, "bulkId:", 7)) { /* the path's reference, one more */
        const char **nr = roster_arena_alloc(b->ctx->arena, (o->nrefs + 1) * sizeof(*nr));
        if (o->nrefs)
            memcpy(nr, o->refs, o->nrefs * sizeof(*nr));
        nr[o->nrefs++] = o->id + 7;
        o->refs = nr;
    }
    return true;
}

/* whether every reference of o is settled (its op ran); *bad: one that failed or is
 * missing */
static bool ready(const struct op *o, const char **bad)
{
    *bad = NULL;
    if (o->refused)
        return true;
    for (size_t k = 0; k < o->nrefs; k++) {
        const struct op *d = o->deps[k];
        if (!d || (d->done && d->res.status >= 300)) {
            *bad = o->refs[k];
            return true;
        }
        if (!d->done)
            return false;
    }
    return true;
}

static bool budget_left(const struct bulk *b)
{
    return !b->fail_on_errors || b->errors < b->fail_on_errors;
}

static void finish(struct bulk *b, struct op *o)
{
    o->done = o->ran = true;
    if (o->res.status >= 400)
        b->errors++;
}

/* one operation that is not a batched POST /Users */
static void run_one(struct bulk *b, struct op *o)
{
    if (o->data)
        substitute(b, o->data);
    const char *id = o->id;
    if (id && !strncmp(id, "bulkId:", 7))
        id = resolved(b, id + 7);
    if (o->resource == RES_GROUPS) {
        if (!strcmp(o->method, "POST"))
            scim_group_post(b->ctx, b->base, o->data, &o->res);
        else if (!strcmp(o->method, "PUT"))
            scim_group_put(b->ctx, b->base, id, o->data, o->version, &o->res);
        else if (!strcmp(o->method, "PATCH"))
            scim_group_patch(b->ctx, b->base, id, o->data, o->version, false, &o->res);
        else
            scim_group_delete(b->ctx, id, o->version, &o->res);
    } else {
        scim_bulk_user_op(b->r, o->method, id, o->data, o->version, &o->res);
    }
    if (o->res.status == 204 && !strcmp(o->method, "PATCH"))
        o->res.status = 200; /* a Bulk PATCH answers 200 (RFC 7644 section 3.7.3's example) */
    finish(b, o);
}

/* POST /Users ops[0..n) in one core batch */
static void run_user_batch(struct bulk *b, struct op **ops, size_t n)
{
    struct roster_user *u = calloc(n, sizeof(*u));
    const char **pw = roster_arena_zalloc(b->ctx->arena, n * sizeof(*pw));
    int *rcs = calloc(n, sizeof(*rcs));
    struct roster_err *errs = calloc(n, sizeof(*errs));
    struct op **dec = roster_arena_zalloc(b->ctx->arena, n * sizeof(*dec));
    if (!u || !rcs || !errs) {
        for (size_t i = 0; i < n; i++) {
            op_fail(b, ops[i], 500, NULL, "out of memory");
            finish(b, ops[i]);
        }
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        substitute(b, ops[i]->data);
        if (scim_bulk_user_decode(b->ctx, ops[i]->data, &u[k], &pw[k], &ops[i]->res) == 0)
            dec[k++] = ops[i];
        else
            finish(b, ops[i]);
    }
    struct roster_err err = {0};
    int default_state = ROSTER_ACTIVATED;
    int rc = k ? roster_users_create_many(b->ctx, u, k, default_state, pw, rcs, errs, &err) : 0;
    for (size_t i = 0; i < k; i++) {
        struct op *o = dec[i];
        if (rc) {
            op_fail(b, o, roster_http_status(rc), NULL, "%s", err.msg);
        } else if (rcs[i] == ROSTER_ECONFLICT) {
            op_fail(b, o, 409, "uniqueness", "%s", errs[i].msg);
        } else if (rcs[i]) {
            op_fail(b, o, roster_http_status(rcs[i]),
                    rcs[i] == ROSTER_EINVAL ? "invalidValue" : NULL, "%s", errs[i].msg);
        } else {
            o->res = (struct scim_gres){
                201, NULL, NULL, roster_arena_strdup(b->ctx->arena, u[i].id), u[i].version, NULL};
        }
        finish(b, o);
    }
done:
    free(u);
    free(rcs);
    free(errs);
}

static bool batchable(const struct op *o)
{
    return o->resource == RES_USERS && !strcmp(o->method, "POST");
}

/* Runs the ops: each step takes the first op (in request order) whose references are
 * settled; a POST /Users takes along the POST /Users after it that are ready too, up to the
 * first ready op of another kind, as one batch. */
static void run_all(struct bulk *b)
{
    struct op **batch = roster_arena_alloc(b->ctx->arena, (b->n + 1) * sizeof(*batch));
    size_t first = 0; /* ops before it are done */
    while (budget_left(b)) {
        while (first < b->n && b->ops[first].done)
            first++;
        struct op *o = NULL;
        const char *bad = NULL;
        for (size_t i = first; i < b->n && !o; i++)
            if (!b->ops[i].done && ready(&b->ops[i], &bad))
                o = &b->ops[i];
        if (!o)
            break;
        if (o->refused) {
            finish(b, o);
        } else if (bad) {
            op_fail(b, o, 409, NULL,
                    defining(b, bad) ? "bulkId \"%.64s\" refers to an operation that failed"
                                     : "bulkId \"%.64s\" is not defined by any operation of "
                                       "this request",
                    bad);
            finish(b, o);
        } else if (!batchable(o)) {
            run_one(b, o);
        } else {
            /* with failOnErrors a batch holds at most the errors still allowed */
            int64_t cap = b->fail_on_errors ? b->fail_on_errors - b->errors : INT64_MAX;
            size_t nb = 0;
            for (struct op *p = o; p < b->ops + b->n && (int64_t)nb < cap; p++) {
                const char *pbad = NULL;
                if (p->done || !ready(p, &pbad))
                    continue;
                if (pbad || p->refused || !batchable(p))
                    break;
                batch[nb++] = p;
            }
            run_user_batch(b, batch, nb);
        }
    }
    /* what is left waits on itself: circular references */
    for (size_t i = 0; i < b->n && budget_left(b); i++) {
        struct op *o = &b->ops[i];
        if (o->done)
            continue;
        op_fail(b, o, 409, NULL,
                "bulkId references of this operation are circular and cannot be resolved");
        finish(b, o);
    }
}

static void write_response(struct roster_req *r, struct bulk *b)
{
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    r->content_type = "application/scim+json";
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "schemas");
    roster_jsonw_arr_begin(&w);
    roster_jsonw_str(&w, SCHEMA_BULK_RESP);
    roster_jsonw_arr_end(&w);
    roster_jsonw_key(&w, "Operations");
    roster_jsonw_arr_begin(&w);
    char st[16], ver[32];
    for (size_t i = 0; i < b->n; i++) {
        struct op *o = &b->ops[i];
        if (!o->ran)
            continue;
        roster_jsonw_obj_begin(&w);
        if (o->method)
            roster_jsonw_kstr(&w, "method", o->method);
        if (o->bulk_id)
            roster_jsonw_kstr(&w, "bulkId", o->bulk_id);
        const char *id = o->res.id;
        if (!id && o->id && strncmp(o->id, "bulkId:", 7))
            id = o->id;
        if (id && !o->refused && (o->res.status < 300 || strcmp(o->method, "POST")))
            roster_jsonw_kstr(&w, "location",
                              roster_arena_printf(r->ctx.arena, "%s/%s/%s", b->base,
                                                  o->resource == RES_GROUPS ? "Groups" : "Users",
                                                  id));
        if (o->res.status < 300 && o->res.version > 0) {
            snprintf(ver, sizeof(ver), "W/\"%lld\"", (long long)o->res.version);
            roster_jsonw_kstr(&w, "version", ver);
        }
        snprintf(st, sizeof(st), "%d", o->res.status);
        roster_jsonw_kstr(&w, "status", st);
        if (o->res.status >= 400) {
            roster_jsonw_key(&w, "response");
            roster_jsonw_obj_begin(&w);
            roster_jsonw_key(&w, "schemas");
            roster_jsonw_arr_begin(&w);
            roster_jsonw_str(&w, SCHEMA_ERROR);
            roster_jsonw_arr_end(&w);
            roster_jsonw_kstr(&w, "status", st);
            if (o->res.scim_type)
                roster_jsonw_kstr(&w, "scimType", o->res.scim_type);
            roster_jsonw_kstr(&w, "detail", o->res.detail ? o->res.detail : "");
            roster_jsonw_obj_end(&w);
        }
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}

void scim_bulk(struct roster_req *r)
{
    if (r->body_len > SCIM_BULK_MAX_PAYLOAD) {
        scim_groups_error(r, 413, "tooMany",
                          "the bulk request has %zu bytes, more than maxPayloadSize (%d)",
                          r->body_len, SCIM_BULK_MAX_PAYLOAD);
        return;
    }
    /* 1,000 operations make a tree of about 20,000 values: built without jansson's lexer
     * and without a malloc and a free each (roster_json_doc_load) */
    struct roster_err jerr = {0};
    struct roster_json_doc doc;
    roster_json_doc_load(&doc, r->body, r->body_len, r->ctx.arena, &jerr);
    json_t *body = doc.root;
    if (!body) {
        if (jerr.code == ROSTER_EINVAL)
            scim_groups_error(r, 400, "invalidSyntax", "the body is not JSON: %s", jerr.msg);
        else
            scim_groups_error(r, 500, NULL, "%s", jerr.msg);
        return;
    }
    json_t *ops = json_object_get(body, "Operations");
    json_t *fail = json_object_get(body, "failOnErrors");
    json_t *schemas = json_object_get(body, "schemas");
    bool schema_ok = false;
    for (size_t i = 0; json_is_array(schemas) && i < json_array_size(schemas); i++)
        schema_ok |= json_is_string(json_array_get(schemas, i)) &&
                     !strcmp(json_string_value(json_array_get(schemas, i)), SCHEMA_BULK_REQ);
    if (!json_is_object(body) || !json_is_array(ops)) {
        scim_groups_error(r, 400, "invalidSyntax",
                          "the body must be a BulkRequest with an Operations array");
    } else if (!schema_ok) {
        scim_groups_error(r, 400, "invalidSyntax", "schemas must hold \"%s\"", SCHEMA_BULK_REQ);
    } else if (json_array_size(ops) > SCIM_BULK_MAX_OPERATIONS) {
        scim_groups_error(r, 413, "tooMany",
                          "the bulk request has %zu operations, more than maxOperations (%d)",
                          json_array_size(ops), SCIM_BULK_MAX_OPERATIONS);
    } else if (fail && (!json_is_integer(fail) || json_integer_value(fail) < 1)) {
        scim_groups_error(r, 400, "invalidValue", "failOnErrors must be an integer of 1 or more");
    } else {
        struct bulk b = {r,
                         &r->ctx,
                         scim_groups_base(r),
                         NULL,
                         json_array_size(ops),
                         NULL,
                         0,
                         fail ? json_integer_value(fail) : 0,
                         0};
        b.ops = roster_arena_zalloc(r->ctx.arena, (b.n + 1) * sizeof(*b.ops));
        for (size_t i = 0; i < b.n; i++) {
            if (!decode_op(&b, json_array_get(ops, i), i, &b.ops[i]))
                b.ops[i].refused = true;
        }
        /* the bulkId index; a repeated bulkId: every later one is an error */
        b.by_id = roster_arena_alloc(r->ctx.arena, (b.n + 1) * sizeof(*b.by_id));
        for (size_t i = 0; i < b.n; i++)
            if (b.ops[i].bulk_id && !b.ops[i].refused)
                b.by_id[b.nby_id++] = &b.ops[i];
        qsort(b.by_id, b.nby_id, sizeof(*b.by_id), cmp_bulk_id);
        size_t k = 0;
        for (size_t i = 0; i < b.nby_id; i++) {
            struct op *o = b.by_id[i];
            if (k && !strcmp(b.by_id[k - 1]->bulk_id, o->bulk_id)) {
                op_fail(&b, o, 400, "invalidValue",
                        "bulkId \"%.64s\" is used by an earlier operation", o->bulk_id);
                o->refused = true;
            } else {
                b.by_id[k++] = o;
            }
        }
        b.nby_id = k;
        for (size_t i = 0; i < b.n; i++) {
            struct op *o = &b.ops[i];
            o->deps = roster_arena_zalloc(r->ctx.arena, (o->nrefs + 1) * sizeof(*o->deps));
            for (size_t j = 0; j < o->nrefs; j++)
                o->deps[j] = defining(&b, o->refs[j]);
        }
        run_all(&b);
        write_response(r, &b);
    }
    roster_json_doc_release(&doc);
}
