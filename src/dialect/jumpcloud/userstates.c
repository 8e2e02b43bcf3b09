/* JumpCloud v2 scheduled user state changes: POST/GET /api/v2/bulk/userstates,
 * DELETE /api/v2/bulk/userstates/{id}, GET
 * /api/v2/bulk/userstates/eventlist/next, and the roster extensions GET
 * /api/v2/bulk/userstates/{id} and GET /api/v2/messages/{message_id}. Requests
 * are checked here (types, counts, duplicates, state, date, e-mail override
 * rules); the core (src/core/scheduler.c) checks the users and stores the
 * changes.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/answer.h"
#include "dialect/idem.h"
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/schedule.h"

#define MAX_USER_IDS 1000   /* user_ids of one POST */
#define MAX_EVENT_USERS 100 /* users= of eventlist/next */
#define MAX_QUERY_VALUES 64 /* repeated filter= / users= parameters read */
#define QUOTE_MAX 64        /* characters of a wrong value quoted in a message */

/* Field names of filter= on GET /api/v2/bulk/userstates. */
static const struct roster_qname userstate_qnames[] = {
    {"state", RQ_STATE},
    {"systemUserId", RQ_USER_ID},
    {"scheduledDate", RQ_DUE},
    {"scheduledJobId", RQ_ID},
    {NULL, 0},
};

/* A wrong value as a message quotes it: a string in double quotes, anything
 * else as its JSON text; at most QUOTE_MAX bytes either way. */
static const char *quote(const json_t *v, struct roster_arena *a)
{
    if (json_is_string(v))
        return roster_arena_printf(a, "\"%.*s\"", QUOTE_MAX, json_string_value(v));
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *out = roster_arena_printf(a, "%.*s", QUOTE_MAX, text ? text : "?");
    free(text);
    return out;
}

/* scheduledDate and the other times: RFC 3339 UTC with milliseconds (also
 * before 1970, which roster_jsonw_ktime would write as null). */
static void put_time(struct roster_jsonw *w, const char *key, int64_t ms)
{
    char t[32];
    roster_time_format(ms, t);
    roster_jsonw_kstr(w, key, t);
}

/* One scheduled-userstate-result (the JumpCloud schema's four fields). */
static void put_result_fields(struct roster_jsonw *w, const struct roster_schedule *s)
{
    roster_jsonw_kstr(w, "scheduledJobId", s->id);
    roster_jsonw_kstr(w, "systemUserId", s->user_id);
    roster_jsonw_kstr(w, "state", roster_state_name(s->state));
    put_time(w, "scheduledDate", s->due_ms);
}

static void put_result(struct roster_jsonw *w, const struct roster_schedule *s)
{
    roster_jsonw_obj_begin(w);
    put_result_fields(w, s);
    roster_jsonw_obj_end(w);
}

/* --- POST /api/v2/bulk/userstates --- */

/* The parsed body of a bulk-scheduled-statechange-create. */
struct create_req {
    json_t *ids; /* user_ids: an array of 1..MAX_USER_IDS distinct strings */
    int state;
    int64_t due_ms;
    bool send_email;
    const char *email_override; /* NULL when absent or ignored */
};

/* A required member: NULL when absent or JSON null (both are "is required"). Optional
 * members are read with json_object_get: a null there is a value of the wrong type. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* true if s is an RFC 3339 date-time: a date AND a time (a bare date is
 * refused). */
static bool parse_date_time(const char *s, int64_t *ms)
{
    if (strlen(s) < 16 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return false;
    return roster_time_parse(s, ms) == 0;
}

/* The e-mail syntax of the user validator (the same rules as a user's email).
 */
static bool email_ok(const char *s)
{
    if (!s || !*s)
        return false;
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    u.f[RU_USERNAME] = "x";
    u.f[RU_EMAIL] = s;
    u.state = ROSTER_ACTIVATED;
    return roster_user_validate(&u, ROSTER_VALIDATE_CREATE, NULL) == 0;
}

/* A user id of the request and where it was. */
struct id_at {
    const char *id;
    size_t index;
};

static int by_id_then_index(const void *pa, const void *pb)
{
    const struct id_at *x = pa, *y = pb;
    int c = strcmp(x->id, y->id);
    return c ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* Checks the body's shape; on a problem sends 400 and returns -1. */
static int parse_create(struct roster_req *r, json_t *body, struct create_req *c)
{
    struct roster_arena *a = r->ctx.arena;
    memset(c, 0, sizeof(*c));

    json_t *ids = member(body, "user_ids");
    if (!ids) {
        roster_resp_error(r, 400, "user_ids is required (an array of user ids)");
        return -1;
    }
    if (!json_is_array(ids)) {
        roster_resp_error(r, 400, "user_ids must be an array of user ids");
        return -1;
    }
    size_t n = json_array_size(ids);
    if (n == 0) {
        roster_resp_error(r, 400, "user_ids must not be empty");
        return -1;
    }
    if (n > MAX_USER_IDS) {
        roster_resp_error(r, 400, "user_ids has %zu ids (at most %d)", n, MAX_USER_IDS);
        return -1;
    }
    struct id_at *sorted = roster_arena_alloc(a, n * sizeof(*sorted));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ids, i);
        if (!json_is_string(v)) {
            roster_resp_error(r, 400, "user_ids[%zu] %s must be a string", i, quote(v, a));
            return -1;
        }
        sorted[i] = (struct id_at){json_string_value(v), i};
    }
    /* sorted by (id, index): equal neighbours are repeats; name the id whose second
     * occurrence comes first in the request */
    qsort(sorted, n, sizeof(*sorted), by_id_then_index);
    size_t dup = n;
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i].id, sorted[i - 1].id) == 0 && sorted[i].index < dup &&
            (i < 2 || strcmp(sorted[i - 1].id, sorted[i - 2].id) != 0))
            dup = sorted[i].index;
    if (dup < n) {
        roster_resp_error(r, 400, "user id \"%.*s\" is listed twice", QUOTE_MAX,
                          json_string_value(json_array_get(ids, dup)));
        return -1;
    }
    c->ids = ids;

    json_t *st = member(body, "state");
    if (!st) {
        roster_resp_error(r, 400, "state is required (ACTIVATED or SUSPENDED)");
        return -1;
    }
    if (!json_is_string(st) || roster_state_parse(json_string_value(st), &c->state) != 0 ||
        c->state == ROSTER_STAGED) {
        roster_resp_error(r, 400, "state %s is not one of ACTIVATED, SUSPENDED", quote(st, a));
        return -1;
    }

    json_t *sd = member(body, "start_date");
    if (!sd) {
        roster_resp_error(r, 400, "start_date is required (an RFC 3339 date-time)");
        return -1;
    }
    if (!json_is_string(sd) || !parse_date_time(json_string_value(sd), &c->due_ms)) {
        roster_resp_error(r, 400, "start_date %s is not an RFC 3339 date-time", quote(sd, a));
        return -1;
    }

    json_t *send = json_object_get(body, "send_activation_emails");
    if (send && !json_is_boolean(send)) {
        roster_resp_error(r, 400, "send_activation_emails %s must be a boolean", quote(send, a));
        return -1;
    }
    c->send_email = send && json_is_true(send);

    json_t *ov = json_object_get(body, "activation_email_override");
    if (ov && !(send && json_is_false(send))) { /* ignored when sending is explicitly off */
        if (!json_is_string(ov)) {
            roster_resp_error(r, 400, "activation_email_override %s must be a string",
                              quote(ov, a));
            return -1;
        }
        if (n != 1 || c->state != ROSTER_ACTIVATED) {
            roster_resp_error(r, 400,
                              "activation_email_override needs exactly one user and state "
                              "ACTIVATED");
            return -1;
        }
        if (!email_ok(json_string_value(ov))) {
            roster_resp_error(r, 400, "activation_email_override %s is not a valid email address",
                              quote(ov, a));
            return -1;
        }
        c->email_override = roster_arena_strdup(a, json_string_value(ov));
    }

    /* malformed ids cannot name a user (and would not fit a schedule): reported
     * like unknown ones, after every other check of the body */
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!roster_id_valid(id)) {
            roster_resp_error(r, 400, "user \"%.*s\" not found", QUOTE_MAX, id);
            return -1;
        }
    }
    return 0;
}

void jc_userstates_create(struct roster_req *r)
{
    struct roster_arena *a = r->ctx.arena;
    struct roster_err err = {0};
    json_t *body = NULL;
    struct roster_idem key, *idem = &key;
    int has = roster_idem_read(r, "jumpcloud POST /api/v2/bulk/userstates", NULL, 0, &key);
    if (has < 0)
        return;
    if (has == 0)
        idem = NULL;
    /* the scanner's messages name line and column; jansson then reads the small
     * body */
    if (jc_body_object(r) != 0)
        goto done;
    json_error_t jerr;
    body = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        roster_resp_error(r, 400, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                          jerr.text);
        goto done;
    }
    struct create_req c;
    if (parse_create(r, body, &c) != 0)
        goto done;

    size_t n = json_array_size(c.ids);
    struct roster_schedule *s = roster_arena_zalloc(a, n * sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        memcpy(s[i].user_id, json_string_value(json_array_get(c.ids, i)), ROSTER_ID_LEN);
        s[i].state = c.state;
        s[i].due_ms = c.due_ms;
        s[i].send_activation_email = c.send_email;
        s[i].email_override = c.email_override;
    }
    int rc = roster_schedule_submit_idem(&r->ctx, s, n, idem, &err);
    if (roster_idem_answered(r, idem, rc, &err, JC_IDEM_MISMATCH))
        goto done;
    struct roster_jsonw w;
    if (!roster_answer_json(r, rc, &err, NULL, NULL, 201, &w))
        goto done;
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_result(&w, &s[i]);
    roster_jsonw_arr_end(&w);
done:
    json_decref(body);
}

/* The page of a userstates list as a query: limit (default 10, at most 100) and skip, no
 * total; sends the 400 itself */
static int page_query(struct roster_req *r, struct roster_query *q)
{
    roster_query_init(q);
    q->want_total = false;
    if (roster_req_query_int(r, "limit", 10, 0, 100, &q->limit) != 0 ||
        roster_req_query_int(r, "skip", 0, 0, INT64_MAX, &q->skip) != 0)
        return -1;
    return 0;
}

/* --- GET /api/v2/bulk/userstates --- */

void jc_userstates_list(struct roster_req *r)
{
    struct roster_query q;
    if (page_query(r, &q) != 0)
        return;
    struct roster_arena *a = r->ctx.arena;
    struct roster_err err = {0};

    const char *userid = roster_req_query(r, "userid");
    if (userid && *userid) {
        if (!roster_id_valid(userid)) {
            roster_resp_error(r, 400, "userid \"%.*s\" is not a valid user id", QUOTE_MAX, userid);
            return;
        }
        const char *expr = roster_arena_printf(a, "systemUserId:eq:%s", userid);
        if (roster_filter_parse(&q, expr, userstate_qnames, a, &err) != 0)
            goto fail;
    }
    const char *vals[MAX_QUERY_VALUES];
    size_t nvals = roster_req_query_all(r, "filter", vals, MAX_QUERY_VALUES);
    for (size_t i = 0; i < nvals; i++)
        if (vals[i] && jc_filter_add(&q, vals[i], userstate_qnames, 0, a, &err) != 0)
            goto fail;

    struct roster_schedule *rows = NULL;
    size_t n = 0;
    if (roster_schedule_list(&r->ctx, &q, &rows, &n, &err) != 0)
        goto fail;
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_result(&w, &rows[i]);
    roster_jsonw_arr_end(&w);
    return;
fail:
    roster_resp_fail(r, err.code, &err);
}

/* --- DELETE and GET /api/v2/bulk/userstates/{id} --- */

void jc_userstates_delete(struct roster_req *r)
{
    const char *id = roster_path_param(r);
    struct roster_err err = {0};
    int rc = roster_schedule_cancel(&r->ctx, id, &err);
    if (rc != 0) {
        roster_answer_fail(r, rc, &err, "scheduled job", id);
        return;
    }
    roster_resp_empty(r, 204);
}

void jc_userstates_get(struct roster_req *r)
{
    const char *id = roster_path_param(r);
    struct roster_err err = {0};
    struct roster_schedule s;
    int rc = roster_schedule_get(&r->ctx, id, &s, &err);
    if (rc != 0) {
        roster_answer_fail(r, rc, &err, "scheduled job", id);
        return;
    }
    struct roster_message m;
    bool have_msg = false;
    if (s.message_id[0]) {
        rc = roster_message_get(&r->ctx, s.message_id, &m, &err);
        if (rc != 0 && rc != ROSTER_ENOTFOUND) {
            roster_resp_fail(r, err.code, &err);
            return;
        }
        have_msg = rc == 0;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    put_result_fields(&w, &s);
    roster_jsonw_kstr(&w, "status", roster_sched_status_name(s.status));
    roster_jsonw_ktime(&w, "createdAt", s.created_ms);
    if (s.status == ROSTER_SCHED_PENDING)
        roster_jsonw_knull(&w, "completedAt");
    else
        put_time(&w, "completedAt", s.done_ms);
    roster_jsonw_kstr(&w, "outcome", s.outcome ? s.outcome : "");
    roster_jsonw_key(&w, "activationEmail");
    if (s.message_id[0]) {
        roster_jsonw_obj_begin(&w);
        roster_jsonw_kstr(&w, "messageId", s.message_id);
        roster_jsonw_kstr(&w, "recipient", have_msg ? m.recipient : NULL);
        roster_jsonw_ktime(&w, "queuedAt", have_msg ? m.created_ms : 0);
        /* its delivery (docs/delivery.md): ENQUEUED -> SENT | UNDELIVERABLE */
        roster_jsonw_kstr(&w, "status", have_msg ? m.status : NULL);
        if (have_msg && m.sent_ms > 0)
            put_time(&w, "sentAt", m.sent_ms);
        else
            roster_jsonw_knull(&w, "sentAt");
        roster_jsonw_kint(&w, "attempts", have_msg ? m.attempts : 0);
        roster_jsonw_kstr(&w, "lastError", have_msg ? m.reason : NULL);
        roster_jsonw_obj_end(&w);
    } else {
        roster_jsonw_null(&w);
    }
    roster_jsonw_obj_end(&w);
}

/* --- GET /api/v2/bulk/userstates/eventlist/next --- */

/* The ids of users=ID,ID,... (CSV, as the spec says; repeated users= parameters are read
 * too): the first MAX_EVENT_USERS + 1 of them into *ids, *nids; returns how many were given. */
static size_t event_users(struct roster_req *r, const char ***out, size_t *nids)
{
    struct roster_arena *a = r->ctx.arena;
    const char *vals[MAX_QUERY_VALUES];
    size_t nvals = roster_req_query_all(r, "users", vals, MAX_QUERY_VALUES);
    const char **ids = roster_arena_alloc(a, (MAX_EVENT_USERS + 1) * sizeof(*ids));
    size_t given = 0;
    *nids = 0;
    for (size_t i = 0; i < nvals; i++) {
        const char *p = vals[i] ? vals[i] : "";
        for (;;) {
            p += strspn(p, " ,");
            if (!*p)
                break;
            size_t len = strcspn(p, " ,");
            if (*nids <= MAX_EVENT_USERS)
                ids[(*nids)++] = roster_arena_strndup(a, p, len);
            given++;
            p += len;
        }
    }
    *out = ids;
    return given;
}

void jc_userstates_next(struct roster_req *r)
{
    struct roster_query page;
    if (page_query(r, &page) != 0)
        return;
    const char **ids;
    size_t nids;
    size_t given = event_users(r, &ids, &nids);
    if (given == 0) {
        roster_resp_error(r, 400,
                          "query parameter users is required (comma-separated user ids, at "
                          "most %d)",
                          MAX_EVENT_USERS);
        return;
    }
    if (given > MAX_EVENT_USERS) {
        roster_resp_error(r, 400, "query parameter users has %zu ids (at most %d)", given,
                          MAX_EVENT_USERS);
        return;
    }
    struct roster_err err = {0};
    struct roster_schedule *rows = NULL;
    size_t n = 0;
    int rc = roster_schedule_next(&r->ctx, ids, nids, &rows, &n, &err);
    struct roster_jsonw w;
    if (!roster_answer_json(r, rc, &err, NULL, NULL, 200, &w))
        return;
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "events_count", (int64_t)n);
    roster_jsonw_key(&w, "results");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if ((int64_t)i < page.skip || (int64_t)i - page.skip >= page.limit)
            continue;
        put_result(&w, &rows[i]);
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}

/* --- GET /api/v2/messages/{message_id} --- */

void jc_messages_get(struct roster_req *r)
{
    struct roster_message m;
    struct roster_jsonw w;
    if (!roster_answer_message(r, &m, &w))
        return;
    roster_jsonw_kstr(&w, "id", m.id);
    roster_jsonw_kstr(&w, "kind", m.kind);
    roster_jsonw_kstr(&w, "userId", m.user_id);
    roster_jsonw_kstr(&w, "recipient", m.recipient);
    roster_jsonw_kstr(&w, "status", m.status);
    roster_jsonw_ktime(&w, "createdAt", m.created_ms);
    if (m.sent_ms > 0)
        roster_jsonw_ktime(&w, "sentAt", m.sent_ms);
    else
        roster_jsonw_knull(&w, "sentAt");
    roster_jsonw_kint(&w, "attempts", m.attempts);
    roster_jsonw_kstr(&w, "lastError", m.reason);
    roster_jsonw_kraw(&w, "content", m.content_json);
    roster_jsonw_obj_end(&w);
}
