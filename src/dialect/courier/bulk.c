/* Courier bulk jobs: POST /bulk (create), POST /bulk/{job_id} (add users), POST
 * /bulk/{job_id}/run, GET /bulk/{job_id} and GET /bulk/{job_id}/users (cursor pages). The
 * job itself is a core message job (include/roster/job.h); this file only reads Courier's
 * request bodies and writes its response shapes.
 */
#include <string.h>

#include "dialect/answer.h"
#include "dialect/courier/courier.h"
#include "dialect/idem.h"
#include "roster/jsonr.h"

#define QUOTE_MAX 64 /* characters of a client's value quoted back in a message */

/* The job id of the path, or NULL after answering 404 (roster job ids are 24 hex). */
static const char *path_job(struct roster_req *r)
{
    const char *id = roster_path_param(r);
    if (roster_id_valid(id))
        return id;
    roster_answer_fail(r, ROSTER_ENOTFOUND, NULL, "job", id);
    return NULL;
}

/* After a core call about job_id (NULL before there is one): a failure answered (a missing
 * job is 404 naming it), or the writer of a 200 JSON object, begun. */
static struct roster_jsonw *job_answer(struct roster_req *r, int rc, const struct roster_err *err,
                                       const char *job_id, struct roster_jsonw *w)
{
    if (!roster_answer_json(r, rc, err, "job", job_id, 200, w))
        return NULL;
    roster_jsonw_obj_begin(w);
    return w;
}

/* Courier documents no status for a key sent again with another request: 422, as the
 * IETF draft on the Idempotency-Key header has it (docs/idempotency.md) */
#define IDEM_MISMATCH 422

void courier_bulk_create(struct roster_req *r)
{
    struct roster_idem key, *idem = &key;
    int has = roster_idem_read(r, "courier POST /bulk", NULL, 0, &key);
    if (has < 0)
        return;
    if (has == 0)
        idem = NULL;
    struct roster_jsonr_val body, msg;
    if (roster_answer_body_object(r, &body) != 0)
        return;
    int got = roster_jsonr_get(&body, "message", &msg);
    if (got != 1 || msg.type == ROSTER_JSONR_NULL) {
        roster_resp_error(r, 400, "body needs a \"message\": the message definition to send");
        return;
    }
    if (msg.type != ROSTER_JSONR_OBJECT) {
        roster_resp_error(r, 400, "message must be an object");
        return;
    }
    struct roster_err err = {0};
    struct roster_job job;
    int rc = roster_msgjob_create_idem(&r->ctx, courier_msg_codec.name, msg.raw, msg.len, idem,
                                       &job, &err);
    if (roster_idem_answered(r, idem, rc, &err, IDEM_MISMATCH))
        return;
    struct roster_jsonw w;
    if (!job_answer(r, rc, &err, NULL, &w))
        return;
    roster_jsonw_kstr(&w, "jobId", job.id);
    roster_jsonw_obj_end(&w);
}

void courier_bulk_add_users(struct roster_req *r)
{
    const char *job_id = path_job(r);
    if (!job_id)
        return;
    struct roster_idem key, *idem = &key;
    int has = roster_idem_read(r, "courier POST /bulk/{job_id}", NULL, 0, &key);
    if (has < 0)
        return;
    if (has == 0)
        idem = NULL;
    struct roster_jsonr_val body, users;
    if (roster_answer_body_object(r, &body) != 0)
        return;
    if (roster_jsonr_get(&body, "users", &users) != 1 || users.type != ROSTER_JSONR_ARRAY) {
        roster_resp_error(r, 400, "body needs a \"users\" array");
        return;
    }
    struct roster_err err = {0};
    /* the elements' byte ranges in users.raw (the body was validated by the scan) */
    size_t cap = 1024, n = 0;
    struct roster_json_span *spans = roster_arena_alloc(r->ctx.arena, cap * sizeof(*spans));
    struct roster_jsonr it;
    struct roster_jsonr_val el;
    int max = roster_bulk_max_items(&r->ctx);
    int more = roster_jsonr_open(&it, &users);
    while (more == 0 && (more = roster_jsonr_next(&it, NULL, &el)) == 1) {
        if (n == (size_t)max) {
            roster_resp_error(
                r, 400, "a request adds at most %d users to a job; send more in several", max);
            return;
        }
        spans = roster_arena_grow(r->ctx.arena, spans, n, &cap, sizeof(*spans));
        spans[n].start = (size_t)(el.raw - users.raw);
        spans[n].end = spans[n].start + el.len;
        spans[n].type = el.raw[0];
        n++;
        more = 0;
    }
    if (more < 0) {
        roster_resp_error(r, 400, "users is not a valid JSON array");
        return;
    }
    struct roster_json_span *ok = roster_arena_alloc(r->ctx.arena, (n ? n : 1) * sizeof(*ok));
    size_t nok = 0, nbad = 0;
    size_t *bad = roster_arena_alloc(r->ctx.arena, (n ? n : 1) * sizeof(*bad));
    const char **why = roster_arena_alloc(r->ctx.arena, (n ? n : 1) * sizeof(*why));
    for (size_t i = 0; i < n; i++) {
        roster_err_clear(&err);
        if (courier_item_check(users.raw + spans[i].start, spans[i].end - spans[i].start, &err) ==
            0) {
            ok[nok++] = spans[i];
            continue;
        }
        bad[nbad] = i;
        why[nbad++] = roster_arena_printf(r->ctx.arena, "users[%zu]: %s", i, err.msg);
    }
    int64_t first;
    roster_err_clear(&err);
    int rc = roster_msgjob_add_idem(&r->ctx, job_id, users.raw, ok, nok, idem, &first, &err);
    if (roster_idem_answered(r, idem, rc, &err, IDEM_MISMATCH))
        return;
    if (rc == ROSTER_ECONFLICT) {
        roster_resp_error(r, 400,
                          "job \"%s\" has already been run; users can only be added before "
                          "POST /bulk/%s/run",
                          job_id, job_id);
        return;
    }
    struct roster_jsonw w;
    if (!job_answer(r, rc, &err, job_id, &w))
        return;
    roster_jsonw_kint(&w, "total", (int64_t)nok);
    roster_jsonw_key(&w, "errors");
    roster_jsonw_arr_begin(&w);
    for (size_t k = 0; k < nbad; k++) {
        const struct roster_json_span *sp = &spans[bad[k]];
        roster_jsonw_obj_begin(&w);
        roster_jsonw_key(&w, "user");
        roster_jsonw_raw(
            &w, roster_arena_strndup(r->ctx.arena, users.raw + sp->start, sp->end - sp->start));
        roster_jsonw_kstr(&w, "error", why[k]);
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}

void courier_bulk_run(struct roster_req *r)
{
    const char *job_id = path_job(r);
    if (!job_id)
        return;
    struct roster_err err = {0};
    bool started;
    int rc = roster_msgjob_start(&r->ctx, job_id, &started, &err);
    if (rc) {
        roster_answer_fail(r, rc, &err, "job", job_id);
        return;
    }
    /* 202 also when it was run before: a client that retries a run whose answer it lost
     * must not see an error */
    roster_resp_empty(r, 202);
}

static const char *job_status_name(int status)
{
    switch (status) {
    case ROSTER_JOB_CREATED:
        return "CREATED";
    case ROSTER_JOB_FINISHED:
        return "COMPLETED";
    default:
        return "PROCESSING";
    }
}

void courier_bulk_get(struct roster_req *r)
{
    const char *job_id = path_job(r);
    if (!job_id)
        return;
    struct roster_err err = {0};
    struct roster_job job;
    const char *definition;
    int rc = roster_msgjob_get(&r->ctx, job_id, &job, &definition, &err);
    struct roster_jsonw w;
    if (!job_answer(r, rc, &err, job_id, &w))
        return;
    roster_jsonw_key(&w, "job");
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kraw(&w, "definition", definition);
    roster_jsonw_kint(&w, "enqueued", job.ok);
    roster_jsonw_kint(&w, "failures", job.failed);
    roster_jsonw_kint(&w, "received", job.total);
    roster_jsonw_kstr(&w, "status", job_status_name(job.status));
    roster_jsonw_obj_end(&w);
    roster_jsonw_obj_end(&w);
}

static const char *item_status_name(int status)
{
    switch (status) {
    case ROSTER_MSG_ENQUEUED:
        return "ENQUEUED";
    case ROSTER_MSG_ERROR:
        return "ERROR";
    default:
        return "PENDING";
    }
}

/* One listed item: the user as ingested, then status, messageId and error (members of the
 * ingested user with those names are left out: roster's own values replace them). */
static void write_item(struct roster_jsonw *w, const struct roster_msg_item *it,
                       struct roster_arena *a)
{
    static const char *const own[] = {"status",       "messageId",   "messageStatus",
                                      "listMessages", "listSkipped", "error"};
    struct roster_jsonr_val obj, key, val;
    struct roster_jsonr iter;
    roster_jsonw_obj_begin(w);
    if (roster_jsonr_parse(it->item_json, it->item_len, &obj) == 0 &&
        roster_jsonr_open(&iter, &obj) == 0) {
        while (roster_jsonr_next(&iter, &key, &val) == 1) {
            const char *k = NULL;
            if (roster_jsonr_str(&key, a, &k, NULL) != 0)
                continue;
            bool skip = false;
            for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
                skip = skip || strcmp(k, own[i]) == 0;
            if (skip)
                continue;
            roster_jsonw_key(w, k);
            roster_jsonw_raw(w, roster_jsonr_compact(&val, a, NULL));
        }
    }
    roster_jsonw_kstr(w, "status", item_status_name(it->status));
    if (it->message_id)
        roster_jsonw_kstr(w, "messageId", it->message_id);
    if (it->message_status)
        roster_jsonw_kstr(w, "messageStatus", it->message_status);
    if (it->list_messages > 0) { /* to.list_id: the first message, and how many in all */
        roster_jsonw_kint(w, "listMessages", it->list_messages);
        roster_jsonw_kint(w, "listSkipped", it->list_skipped);
    }
    if (it->error)
        roster_jsonw_kstr(w, "error", it->error);
    roster_jsonw_obj_end(w);
}

void courier_bulk_users(struct roster_req *r)
{
    const char *job_id = path_job(r);
    if (!job_id)
        return;
    struct roster_err err = {0};
    struct roster_job job;
    int64_t from = 0;
    const char *bad = NULL; /* the 400's message when the cursor is not one of this job's */
    const char *cursor = roster_req_query(r, "cursor");
    if (cursor && cursor[0]) {
        char cjob[ROSTER_ID_LEN + 1];
        if (courier_cursor_decode(cursor, cjob, &from) != 0)
            bad = roster_arena_printf(r->ctx.arena, "cursor \"%.*s\" is not a cursor of this API",
                                      QUOTE_MAX, cursor);
        else if (strcmp(cjob, job_id) != 0)
            bad = roster_arena_printf(r->ctx.arena,
                                      "cursor \"%.*s\" belongs to another job, not \"%s\"",
                                      QUOTE_MAX, cursor, job_id);
    }
    int rc;
    if (bad) {
        /* a missing or foreign job is 404 whatever the cursor (with a good cursor,
         * roster_msgjob_items reads the job itself) */
        rc = roster_msgjob_get(&r->ctx, job_id, &job, NULL, &err);
        if (rc)
            roster_answer_fail(r, rc, &err, "job", job_id);
        else
            roster_resp_error(r, 400, "%s", bad);
        return;
    }
    struct roster_msg_item *items;
    size_t n;
    rc = roster_msgjob_items(&r->ctx, job_id, from, COURIER_USERS_PAGE, &job, &items, &n, &err);
    struct roster_jsonw w;
    if (!job_answer(r, rc, &err, job_id, &w))
        return;
    int64_t next = from + (int64_t)n;
    bool more = next < job.total;
    roster_jsonw_key(&w, "items");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_item(&w, &items[i], r->ctx.arena);
    roster_jsonw_arr_end(&w);
    roster_jsonw_key(&w, "paging");
    roster_jsonw_obj_begin(&w);
    if (more) {
        char next_cursor[COURIER_CURSOR_MAX];
        courier_cursor_encode(job_id, next, next_cursor);
        roster_jsonw_kstr(&w, "cursor", next_cursor);
    } else {
        roster_jsonw_knull(&w, "cursor");
    }
    roster_jsonw_kbool(&w, "more", more);
    roster_jsonw_obj_end(&w);
    roster_jsonw_obj_end(&w);
}
