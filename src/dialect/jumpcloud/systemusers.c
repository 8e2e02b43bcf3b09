/* JumpCloud v1 system users: GET/POST /api/systemusers and GET/PUT/DELETE
 * /api/systemusers/{id}. Each handler decodes the request (user_json.c), calls one core
 * operation or store read, and encodes the result as systemuserreturn. Status mapping:
 * core failures through roster_resp_fail (roster_http_status, the dialect's error body).
 */
#include "dialect/jumpcloud/jumpcloud.h"
#include "dialect/answer.h"

#include <stdint.h>
#include <string.h>

#include "roster/list.h"

#define MAX_FILTER_PARAMS 64
#define MAX_FIELDS 64

/* Answers a single-user call: its failure (err), or the user as systemuserreturn. */
static void send_user(struct roster_req *r, bool failed, const struct roster_err *err,
                      const struct roster_user *u)
{
    if (failed) {
        roster_resp_fail(r, err->code, err);
        return;
    }
    struct roster_jsonw wbuf;
    jc_user_encode(roster_resp_json(r, 200, &wbuf), u, NULL, 0);
}

/* --- list: filter / sort / fields / search --- */

/* Adds the filter expressions of one filter= value (v1 operator spellings allowed). */
static int add_filters(struct roster_query *q, const char *val, struct roster_arena *a,
                       struct roster_err *err)
{
    return jc_filter_add(q, val, jc_user_qnames, JC_FILTER_V1_OPS, a, err);
}

/* filter[0]=...&filter[1]=... (the v1 documentation's AND form) */
struct indexed_filters {
    const char *vals[MAX_FILTER_PARAMS];
    size_t n;
    const char *unsupported; /* e.g. filter[or][0] */
};

static bool collect_indexed(void *ud, const char *k, const char *v)
{
    struct indexed_filters *f = ud;
    if (strncmp(k, "filter[", 7) != 0)
        return true;
    const char *p = k + 7;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || strcmp(p + digits, "]") != 0) {
        f->unsupported = k;
        return false;
    }
    if (f->n < MAX_FILTER_PARAMS)
        f->vals[f->n++] = v ? v : "";
    return true;
}

/* Splits fields= (space- or comma-separated) into an array allocated in a. */
static size_t parse_fields(const char *spec, struct roster_arena *a, const char ***out)
{
    const char **fields = roster_arena_alloc(a, MAX_FIELDS * sizeof(*fields));
    size_t n = 0;
    const char *p = spec;
    while (n < MAX_FIELDS) {
        p += strspn(p, " ,\t");
        if (!*p)
            break;
        size_t len = strcspn(p, " ,\t");
        fields[n++] = roster_arena_strndup(a, p, len);
        p += len;
    }
    *out = fields;
    return n;
}

void jc_systemusers_list(struct roster_req *r)
{
    struct roster_arena *a = r->ctx.arena;
    struct roster_err err;
    roster_err_clear(&err);
    struct roster_query q;
    roster_query_init(&q);
    int64_t limit, skip;
    if (roster_req_query_int(r, "limit", 10, 0, 100, &limit) < 0 ||
        roster_req_query_int(r, "skip", 0, 0, INT64_MAX, &skip) < 0)
        return;
    q.limit = limit;
    q.skip = skip;
    q.want_total = true;

    const char *sort = roster_req_query(r, "sort");
    if (sort && roster_sort_parse(&q, sort, jc_user_qnames, a, &err))
        goto fail;

    const char *vals[MAX_FILTER_PARAMS];
    size_t nvals = roster_req_query_all(r, "filter", vals, MAX_FILTER_PARAMS);
    for (size_t i = 0; i < nvals; i++)
        if (vals[i] && add_filters(&q, vals[i], a, &err))
            goto fail;
    struct indexed_filters ix = {.n = 0, .unsupported = NULL};
    roster_req_query_each(r, collect_indexed, &ix);
    if (ix.unsupported) {
        roster_resp_error(r, 400, "query parameter \"%.64s\" is not supported (use filter=)",
                          ix.unsupported);
        return;
    }
    for (size_t i = 0; i < ix.n; i++)
        if (add_filters(&q, ix.vals[i], a, &err))
            goto fail;

    const char *search = roster_req_query(r, "search");
    if (search && *search)
        q.search = search;
    const char **fields = NULL;
    const char *fspec = roster_req_query(r, "fields");
    size_t nfields = fspec ? parse_fields(fspec, a, &fields) : 0;

    struct roster_list_result res;
    if (roster_users_list(&r->ctx, &q, NULL, NULL, NULL, &res, &err))
        goto fail;
    struct roster_user *users = res.rows;
    size_t n = res.n;
    int64_t total = res.total;

    struct roster_jsonw wbuf;
    struct roster_jsonw *w = roster_resp_json(r, 200, &wbuf);
    roster_jsonw_obj_begin(w);
    roster_jsonw_kint(w, "totalCount", total);
    roster_jsonw_key(w, "results");
    roster_jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        jc_user_encode(w, &users[i], fields, nfields);
    roster_jsonw_arr_end(w);
    roster_jsonw_obj_end(w);
    return;
fail:
    roster_resp_fail(r, err.code, &err);
}

/* --- single users --- */

void jc_systemusers_create(struct roster_req *r)
{
    struct roster_err err = {0};
    if (jc_body_object(r))
        return;
    struct roster_user u;
    int state;
    bool failed = jc_user_decode(r->body, r->body_len, JC_DECODE_CREATE, &u, r->ctx.arena, &err) ||
                  jc_user_require_email(&u, false, &err) ||
                  roster_default_state(&r->ctx, ROSTER_ORIGIN_MANUAL, &state, &err) ||
                  roster_user_create(&r->ctx, &u, state, &err);
    send_user(r, failed, &err, &u);
}

/* Loads the {id} of the path; a malformed id is "not found", exactly like a missing one. */
static int load_user(struct roster_req *r, struct roster_user *u, struct roster_err *err)
{
    return roster_user_get(&r->ctx, roster_path_param(r), u, err);
}

void jc_systemusers_get(struct roster_req *r)
{
    struct roster_err err = {0};
    struct roster_user u;
    bool failed = load_user(r, &u, &err) != 0;
    send_user(r, failed, &err, &u);
}

void jc_systemusers_put(struct roster_req *r)
{
    struct roster_err err = {0};
    if (jc_body_object(r))
        return;
    struct roster_user patch, out;
    bool failed = jc_user_decode(r->body, r->body_len, JC_DECODE_PUT, &patch, r->ctx.arena, &err) ||
                  jc_user_require_email(&patch, true, &err) ||
                  roster_user_update(&r->ctx, roster_path_param(r), &patch, false, &out, &err);
    send_user(r, failed, &err, &out);
}

void jc_systemusers_delete(struct roster_req *r)
{
    struct roster_err err = {0};
    struct roster_user u;
    int rc = load_user(r, &u, &err);
    if (!rc) {
        const char *ids[] = {u.id};
        rc = roster_users_delete(&r->ctx, ids, 1, &err);
    }
    send_user(r, rc != 0, &err, &u);
}
