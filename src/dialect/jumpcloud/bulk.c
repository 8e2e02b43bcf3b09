/* JumpCloud v2 bulk user jobs: POST/PATCH /api/v2/bulk/users (answer 201 {"jobId"} once the
 * job is durable) and GET /api/v2/bulk/users/{job_id}/results (one job-workresult per input
 * item, in input order). The items themselves are decoded by jc_item_decode on the workers.
 */
#include <stdio.h>
#include <string.h>

#include "dialect/answer.h"
#include "dialect/idem.h"
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/log.h"

static const char *const creation_sources[] = {
    "jumpcloud:gapps", "jumpcloud:o365", "jumpcloud:workday",
    "jumpcloud:scim",  "jumpcloud:bulk", "jumpcloud:custom_integration",
};

/* An empty value of v's JSON type: what a password is stored as. */
static const char *placeholder(const struct roster_jsonr_val *v)
{
    switch (v->type) {
    case ROSTER_JSONR_STRING:
        return "\"\"";
    case ROSTER_JSONR_INTEGER:
    case ROSTER_JSONR_REAL:
        return "0";
    case ROSTER_JSONR_TRUE:
    case ROSTER_JSONR_FALSE:
        return "false";
    case ROSTER_JSONR_OBJECT:
        return "{}";
    case ROSTER_JSONR_ARRAY:
        return "[]";
    default:
        return "null";
    }
}

/* Appends item (an element of the body) to b with the value of every top-level "password"
 * member replaced by an empty value of the same JSON type: the codec still refuses a
 * password that is not a string, and no password reaches the stored job input or a
 * result message. */
static void put_redacted(struct roster_buf *b, const char *item, size_t len)
{
    struct roster_jsonr_val obj, key, val;
    struct roster_jsonr it;
    const char *from = item;
    if (roster_jsonr_parse(item, len, &obj) == 0 && obj.type == ROSTER_JSONR_OBJECT &&
        roster_jsonr_open(&it, &obj) == 0) {
        while (roster_jsonr_next(&it, &key, &val) == 1) {
            if (!roster_jsonr_str_eq(&key, "password"))
                continue;
            roster_buf_add(b, from, (size_t)(val.raw - from));
            roster_buf_addstr(b, placeholder(&val));
            from = val.raw + val.len;
        }
    }
    roster_buf_add(b, from, (size_t)(item + len - from));
}

/* The body as it is stored: *raw and *spans rewritten with put_redacted when any item may
 * hold a password (the name, or an escape that could spell it). */
static void redact_passwords(const char **raw, size_t *len, struct roster_json_span **spans,
                             size_t n, struct roster_arena *a)
{
    if (!memmem(*raw, *len, "password", 8) && !memmem(*raw, *len, "\\u", 2))
        return;
    struct roster_buf b;
    roster_buf_init(&b);
    struct roster_json_span *out = roster_arena_alloc(a, n * sizeof(*out));
    roster_buf_addch(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(&b, ',');
        out[i].start = b.len;
        out[i].type = (*spans)[i].type;
        put_redacted(&b, *raw + (*spans)[i].start, (*spans)[i].end - (*spans)[i].start);
        out[i].end = b.len;
    }
    roster_buf_addch(&b, ']');
    *raw = roster_arena_strndup(a, b.data, b.len);
    *len = b.len;
    *spans = out;
    roster_buf_release(&b);
}

static void submit(struct roster_req *r, int kind)
{
    struct roster_err err = {0};
    /* what changes the job besides the body: its source and suppressEmail */
    const char *parts[2] = {roster_req_header(r, "creation-source"),
                            roster_req_query(r, "suppressEmail")};
    struct roster_idem key, *idem = &key;
    int has =
        roster_idem_read(r,
                         kind == ROSTER_JOB_USERS_UPDATE ? "jumpcloud PATCH /api/v2/bulk/users"
                                                         : "jumpcloud POST /api/v2/bulk/users",
                         parts, 2, &key);
    if (has < 0)
        return;
    if (has == 0)
        idem = NULL;
    const char *source = roster_req_header(r, "creation-source");
    if (!source)
        source = "jumpcloud:bulk";
    bool known = false;
    for (size_t i = 0; i < sizeof(creation_sources) / sizeof(creation_sources[0]); i++)
        known = known || strcmp(source, creation_sources[i]) == 0;
    if (!known) {
        roster_resp_error(
            r, 400,
            "creation-source \"%.64s\" is not one of jumpcloud:gapps, jumpcloud:o365, "
            "jumpcloud:workday, jumpcloud:scim, jumpcloud:bulk, "
            "jumpcloud:custom_integration",
            source);
        return;
    }
    const char *suppress = roster_req_query(r, "suppressEmail");
    if (suppress && strcmp(suppress, "true") != 0 && strcmp(suppress, "false") != 0) {
        roster_resp_error(r, 400, "query parameter suppressEmail \"%.64s\" must be true or false",
                          suppress);
        return;
    }
    struct roster_json_span *items;
    size_t n;
    char top;
    /* users per request at most (JumpCloud documents none): the job input, the scanner's
     * spans and the request's memory stay proportional to a request this size */
    int max = roster_bulk_max_items(&r->ctx);
    int rc = roster_json_scan_max(r->body, r->body_len, r->ctx.arena, &items, &n, &top, (size_t)max,
                                  &err);
    if (rc == ROSTER_ETOOBIG) {
        roster_resp_error(r, 400, "a bulk request takes at most %d users; send more in several",
                          max);
        return;
    }
    if (rc != 0) {
        roster_resp_error(r, 400, "%s", err.msg);
        return;
    }
    if (top != '[') {
        roster_resp_error(r, 400, "body must be a JSON array of users");
        return;
    }
    if (n == 0) {
        roster_resp_error(r, 400, "body must contain at least one user");
        return;
    }
    int default_state = ROSTER_ACTIVATED;
    if (kind == ROSTER_JOB_USERS_CREATE) {
        rc = roster_default_state(&r->ctx,
                                  strcmp(source, "jumpcloud:bulk") == 0 ? ROSTER_ORIGIN_BULK
                                                                        : ROSTER_ORIGIN_APP_IMPORT,
                                  &default_state, &err);
        if (rc != 0) {
            roster_resp_fail(r, rc, &err);
            return;
        }
    }
    struct roster_job_params params = {"jumpcloud", default_state, source,
                                       suppress && strcmp(suppress, "true") == 0};
    struct roster_job job;
    int64_t t0 = roster_monotonic_ms();
    const char *raw = r->body;
    size_t raw_len = r->body_len;
    redact_passwords(&raw, &raw_len, &items, n, r->ctx.arena);
    /* the key's hash is of the body as stored: no digest of a password is kept (a repeat
     * that differs only in passwords replays the first request) */
    if (idem)
        roster_idem_hash_req(r, idem, parts, 2, raw, raw_len);
    rc = roster_job_submit_idem(&r->ctx, kind, raw, items, n, &params, idem, &job, &err);
    roster_log(ROSTER_LOG_DEBUG, "job stored", "items=%zu ms=%lld", n,
               (long long)(roster_monotonic_ms() - t0));
    if (roster_idem_answered(r, idem, rc, &err, JC_IDEM_MISMATCH))
        return;
    struct roster_jsonw w;
    if (!roster_answer_json(r, rc, &err, NULL, NULL, 201, &w))
        return;
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "jobId", job.id);
    roster_jsonw_obj_end(&w);
}

void jc_bulk_users_create(struct roster_req *r)
{
    submit(r, ROSTER_JOB_USERS_CREATE);
}

void jc_bulk_users_update(struct roster_req *r)
{
    submit(r, ROSTER_JOB_USERS_UPDATE);
}

static void write_result(struct roster_jsonw *w, const struct roster_job *job,
                         const struct roster_item_result *res)
{
    char id[ROSTER_ID_LEN + 24];
    snprintf(id, sizeof(id), "%s-%lld", job->id, (long long)res->index);
    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "id", id);
    roster_jsonw_kstr(w, "status", roster_item_status_name(res->status));
    const char *msg = res->message;
    if (res->status == ROSTER_ITEM_SUCCEEDED && (!msg || !*msg)) /* an import's says which */
        msg = job->kind == ROSTER_JOB_USERS_UPDATE ? "user updated" : "user created";
    roster_jsonw_kstr(w, "statusMsg", msg);
    roster_jsonw_ktime(w, "createdAt", job->created_ms);
    roster_jsonw_ktime(w, "updatedAt", res->updated_ms);
    roster_jsonw_key(w, "meta");
    roster_jsonw_obj_begin(w);
    roster_jsonw_kint(w, "index", res->index);
    roster_jsonw_kstr(w, "jobId", job->id);
    roster_jsonw_kstr(w, "operation", job->kind == ROSTER_JOB_USERS_UPDATE ? "update" : "create");
    if (res->user_id)
        roster_jsonw_kstr(w, "userId", res->user_id);
    if (res->field)
        roster_jsonw_kstr(w, "field", res->field);
    roster_jsonw_obj_end(w);
    roster_jsonw_key(w, "persistedFields");
    roster_jsonw_obj_begin(w);
    if (res->status == ROSTER_ITEM_SUCCEEDED) {
        roster_jsonw_kstr(w, "_id", res->user_id);
        roster_jsonw_kstr(w, "username", res->username);
        roster_jsonw_kstr(w, "email", res->email);
    }
    roster_jsonw_obj_end(w);
    roster_jsonw_obj_end(w);
}

void jc_bulk_users_results(struct roster_req *r)
{
    int64_t limit, skip;
    if (roster_req_query_int(r, "limit", 10, 0, 100, &limit) != 0 ||
        roster_req_query_int(r, "skip", 0, 0, INT64_MAX, &skip) != 0)
        return;
    const char *job_id = r->params[0];
    struct roster_err err = {0};
    struct roster_job job;
    struct roster_item_result *res;
    size_t n;
    int rc = roster_id_valid(job_id)
                 ? roster_job_results(&r->ctx, job_id, skip, limit, &job, &res, &n, &err)
                 : ROSTER_ENOTFOUND;
    struct roster_jsonw w;
    if (!roster_answer_json(r, rc, &err, "job", job_id, 200, &w))
        return;
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_result(&w, &job, &res[i]);
    roster_jsonw_arr_end(&w);
}
