/* Concur bulk user listing: GET /users and GET /users/ with offset, limit and exact-match
 * filters (ANDed). Decodes the query string into a struct roster_query (users in id order,
 * total wanted), reads the company block from the organisation, lists through core
 * (roster_users_list: index-served, deep offsets and totals cheap, see docs/lists.md), and
 * encodes Concur's response. docs/concur.md has the contract and the choices.
 */
#include "dialect/concur/concur.h"
#include "dialect/answer.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "roster/jsonr.h"
#include "roster/list.h"
#include "roster/query.h"

#define CONCUR_DEFAULT_LIMIT 100
#define CONCUR_MAX_LIMIT 1000

/* The query parameters, in the order they are documented. */
enum {
    P_OFFSET,
    P_LIMIT,
    P_ISACTIVE,
    P_LOGINID,
    P_LASTNAME,
    P_EMPLOYEEID,
    P_PRIMARYEMAIL,
    P_COUNTRYCODE,
    P_ID,
    P_COUNT
};

static const struct {
    const char *name;
    int key; /* the query key of a filter; -1 for offset and limit */
} params[P_COUNT] = {
    [P_OFFSET] = {"offset", -1},
    [P_LIMIT] = {"limit", -1},
    [P_ISACTIVE] = {"isactive", RQ_STATE},
    [P_LOGINID] = {"loginid", RU_USERNAME},
    [P_LASTNAME] = {"lastname", RU_LAST_NAME},
    [P_EMPLOYEEID] = {"employeeid", RU_EMPLOYEE_ID},
    [P_PRIMARYEMAIL] = {"primaryemail", RU_EMAIL},
    [P_COUNTRYCODE] = {"countrycode", RU_COUNTRY_CODE},
    [P_ID] = {"id", RQ_ID},
};

#define PARAM_NAMES                                                                                \
    "offset, limit, isactive, loginid, lastname, employeeid, primaryemail, countrycode, id"

struct collected {
    const char *val[P_COUNT];
    bool seen[P_COUNT];
    /* the first problem found: the parameter it is about and the message */
    const char *bad_param;
    const char *bad_msg;
    struct roster_arena *a;
};

static bool collect(void *ud, const char *k, const char *v)
{
    struct collected *c = ud;
    for (int i = 0; i < P_COUNT; i++) {
        if (strcmp(k, params[i].name) != 0)
            continue;
        if (c->seen[i]) {
            c->bad_param = params[i].name;
            c->bad_msg = roster_arena_printf(c->a, "query parameter \"%s\" is given more than once",
                                             params[i].name);
            return false;
        }
        c->seen[i] = true;
        c->val[i] = v ? v : "";
        return true;
    }
    c->bad_param = roster_arena_strndup(c->a, k, strnlen(k, 64));
    for (int i = 0; i < P_COUNT; i++) {
        if (strcasecmp(k, params[i].name) == 0) {
            c->bad_msg = roster_arena_printf(c->a,
                                             "invalid query parameter \"%.64s\": parameter names "
                                             "are case-sensitive, use \"%s\"",
                                             k, params[i].name);
            return false;
        }
    }
    c->bad_msg =
        roster_arena_printf(c->a, "invalid query parameter \"%.64s\": not one of " PARAM_NAMES, k);
    return false;
}

/* A non-negative decimal integer of at most 18 digits (no sign, no spaces); -1 otherwise. */
static int parse_count(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] != '\0')
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return 0;
}

static void add_eq(struct roster_query *q, int key, const char *s, int64_t i,
                   struct roster_arena *a)
{
    struct roster_filter *f = &q->filters[q->nfilters++];
    f->key = key;
    f->op = ROSTER_OP_EQ;
    f->vals = roster_arena_zalloc(a, sizeof(*f->vals));
    f->vals[0].s = s;
    f->vals[0].i = i;
    f->nvals = 1;
}

/* Fills q from the collected parameters; on a bad value sends the 400 and returns -1. */
static int decode(struct roster_req *r, const struct collected *c, struct roster_query *q)
{
    struct roster_arena *a = r->ctx.arena;
    int64_t v;
    roster_query_init(q);
    q->want_total = true;
    q->skip = 0;
    q->limit = CONCUR_DEFAULT_LIMIT;
    if (c->seen[P_OFFSET]) {
        if (parse_count(c->val[P_OFFSET], &v) != 0) {
            concur_error_param(r, 400, "offset", "offset \"%.64s\" must be a non-negative integer",
                               c->val[P_OFFSET]);
            return -1;
        }
        q->skip = v;
    }
    if (c->seen[P_LIMIT]) {
        if (parse_count(c->val[P_LIMIT], &v) != 0 || v > CONCUR_MAX_LIMIT) {
            concur_error_param(r, 400, "limit", "limit \"%.64s\" must be an integer from 0 to %d",
                               c->val[P_LIMIT], CONCUR_MAX_LIMIT);
            return -1;
        }
        q->limit = v;
    }
    for (int i = P_ISACTIVE; i < P_COUNT; i++) {
        if (!c->seen[i])
            continue;
        const char *s = c->val[i];
        if (i == P_ISACTIVE) {
            if (strcasecmp(s, "true") == 0) {
                add_eq(q, RQ_STATE, NULL, ROSTER_ACTIVATED, a);
            } else if (strcasecmp(s, "false") == 0) {
                /* not active: STAGED or SUSPENDED */
                add_eq(q, RQ_STATE, NULL, ROSTER_ACTIVATED, a);
                q->filters[q->nfilters - 1].op = ROSTER_OP_NE;
            } else {
                concur_error_param(r, 400, "isactive", "isactive \"%.64s\" must be true or false",
                                   s);
                return -1;
            }
            continue;
        }
        if (!*s) {
            concur_error_param(r, 400, params[i].name,
                               "%s must not be empty (leave the parameter out to not filter)",
                               params[i].name);
            return -1;
        }
        if (i == P_ID && roster_id_valid(s)) {
            /* ids are lower-case hex; Concur's are upper-case GUIDs: accept either case */
            char *low = roster_arena_strdup(a, s);
            for (char *p = low; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char)(*p - 'A' + 'a');
            s = low;
        }
        add_eq(q, params[i].key, s, 0, a);
    }
    return 0;
}

/* The number of the first phone of type mobile or cell (any case): 0 and *num, *n (a view
 * into phones, or an unescaped copy in a), or -1 when there is none. */
static int cell_phone(const char *phones, struct roster_arena *a, const char **num, size_t *n)
{
    struct roster_jsonr_val arr, el, type, number;
    struct roster_jsonr it;
    if (!phones || roster_jsonr_parse(phones, strlen(phones), &arr) != 0 ||
        arr.type != ROSTER_JSONR_ARRAY || roster_jsonr_open(&it, &arr) != 0)
        return -1;
    while (roster_jsonr_next(&it, NULL, &el) == 1) {
        if (el.type != ROSTER_JSONR_OBJECT || roster_jsonr_get(&el, "type", &type) != 1 ||
            type.type != ROSTER_JSONR_STRING)
            continue;
        const char *t;
        size_t tn;
        if (roster_jsonr_str_view(&type, a, &t, &tn) != 0 ||
            !((tn == 6 && strncasecmp(t, "mobile", 6) == 0) ||
              (tn == 4 && strncasecmp(t, "cell", 4) == 0)))
            continue;
        if (roster_jsonr_get(&el, "number", &number) == 1 && number.type == ROSTER_JSONR_STRING &&
            roster_jsonr_str_view(&number, a, num, n) == 0)
            return 0;
    }
    return -1;
}

/* A string member: the value escaped, or null. */
#define KSTR(w, lit, s)                                                                            \
    do {                                                                                           \
        ROSTER_JSONW_KEY_LIT(w, lit);                                                              \
        roster_jsonw_str(w, s);                                                                    \
    } while (0)

void concur_user_encode(struct roster_jsonw *w, const struct roster_user *u, struct roster_arena *a)
{
    roster_jsonw_obj_begin(w);
    KSTR(w, "ID", u->id);
    ROSTER_JSONW_KEY_LIT(w, "Active");
    roster_jsonw_bool(w, u->state == ROSTER_ACTIVATED);
    KSTR(w, "CountryCode", u->f[RU_COUNTRY_CODE]);
    const char *cell;
    size_t cell_len;
    ROSTER_JSONW_KEY_LIT(w, "CellPhoneNumber");
    if (cell_phone(u->f[RU_PHONES], a, &cell, &cell_len) == 0)
        roster_jsonw_strn(w, cell, cell_len);
    else
        roster_jsonw_null(w);
    KSTR(w, "PrimaryEmail", u->f[RU_EMAIL]);
    KSTR(w, "EmployeeID", u->f[RU_EMPLOYEE_ID]);
    KSTR(w, "OrganizationUnit", u->f[RU_DEPARTMENT]);
    KSTR(w, "FirstName", u->f[RU_FIRST_NAME]);
    KSTR(w, "MiddleName", u->f[RU_MIDDLE_NAME]);
    KSTR(w, "LastName", u->f[RU_LAST_NAME]);
    KSTR(w, "LoginID", u->f[RU_USERNAME]);
    ROSTER_JSONW_KEY_LIT(w, "Emails");
    roster_jsonw_arr_begin(w);
    const char *primary = u->f[RU_EMAIL], *alt = u->f[RU_ALTERNATE_EMAIL];
    if (primary && *primary)
        roster_jsonw_str(w, primary);
    if (alt && *alt && !(primary && strcasecmp(primary, alt) == 0))
        roster_jsonw_str(w, alt);
    roster_jsonw_arr_end(w);
    roster_jsonw_obj_end(w);
}

static void render_user(const struct roster_user *u, struct roster_buf *out, struct roster_arena *a)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, out);
    concur_user_encode(&w, u, a);
}

/* A page of Concur Users is rendered through core's list operation, which keeps the text of
 * a page until a write changes the page (docs/lists.md). */
static const struct roster_user_render concur_user_render = {render_user};

void concur_users_list(struct roster_req *r)
{
    struct roster_arena *a = r->ctx.arena;
    struct roster_err err;
    roster_err_clear(&err);
    struct collected c;
    memset(&c, 0, sizeof(c));
    c.a = a;
    roster_req_query_each(r, collect, &c);
    if (c.bad_msg) {
        concur_error_param(r, 400, c.bad_param, "%s", c.bad_msg);
        return;
    }
    struct roster_query q;
    if (decode(r, &c, &q) != 0)
        return;

    /* The Users are rendered straight into the response body, then the envelope (which
     * needs the total, known only after the list) is put in front of them: one copy of the
     * page, no second buffer. */
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w); /* status, content type, an empty body */
    struct roster_buf *body = &r->resp;
    roster_buf_reserve(body, (size_t)(q.limit < 1000 ? q.limit : 1000) * 400 + 2048);
    struct roster_org org;
    struct roster_list_result res;
    if (roster_org_get(&r->ctx, r->ctx.org_id, &org, &err) ||
        roster_users_list(&r->ctx, &q, &concur_user_render, ",", body, &res, &err)) {
        roster_resp_fail(r, err.code, &err);
        return;
    }
    int64_t total = res.total;
    size_t items_len = body->len;

    struct roster_buf head;
    roster_buf_init(&head);
    roster_jsonw_init(&w, &head);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "total", total);
    roster_jsonw_kint(&w, "offset", q.skip);
    roster_jsonw_kint(&w, "limit", q.limit);
    roster_jsonw_key(&w, "company");
    roster_jsonw_obj_begin(&w);
    roster_put_company(&w, &org);
    roster_jsonw_obj_end(&w);
    roster_jsonw_key(&w, "Items");
    roster_jsonw_arr_begin(&w);

    /* body = head + the n Users (already JSON, comma-separated) + "]}" */
    roster_buf_reserve(body, head.len + 2);
    memmove(body->data + head.len, body->data, items_len);
    memcpy(body->data, head.data, head.len);
    body->len = head.len + items_len;
    body->data[body->len] = '\0';
    roster_buf_release(&head);
    w.out = body;
    roster_jsonw_arr_end(&w);
    roster_jsonw_obj_end(&w);
}
