/* SCIM filters -> core list queries (filter.h): the attribute names of /Users mapped to
 * roster's keys, each comparison to a filter (case-insensitive where RFC 7643 says
 * caseExact false), and/or/not to the expression of struct roster_query. The top-level
 * conjunction's plain comparisons go into q->filters, so that `userName eq "x"` and
 * `externalId eq "x"` are served by their indexes (docs/lists.md). /Groups filters
 * (scim_groups_filter) are the few roster's group lists can answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dialect/scim/filter.h"
#include "roster/user.h"

#define URN_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define URN_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define URN_CORE_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"

enum akind {
    A_TEXT,   /* a text field */
    A_ID,     /* the 24-hex id (caseExact) */
    A_ACTIVE, /* the state */
    A_TIME,   /* created / modified, RFC 3339 */
    A_EMAILS, /* the multi-valued emails */
    A_NOFILTER,
};

struct attr {
    const char *name; /* name or name.sub, lower case */
    bool enterprise;
    int kind;
    int key; /* A_TEXT, A_TIME: the roster key */
    bool ci; /* A_TEXT: caseExact false */
};

/* Every user attribute a filter may name; docs/scim.md, section "Filter". */
static const struct attr attrs[] = {
    {"id", false, A_ID, RQ_ID, false},
    {"username", false, A_TEXT, RU_USERNAME, true},
    {"name.givenname", false, A_TEXT, RU_FIRST_NAME, true},
    {"name.familyname", false, A_TEXT, RU_LAST_NAME, true},
    {"name.middlename", false, A_TEXT, RU_MIDDLE_NAME, true},
    {"displayname", false, A_TEXT, RU_DISPLAY_NAME, true},
    {"title", false, A_TEXT, RU_JOB_TITLE, true},
    {"externalid", false, A_TEXT, RU_EXTERNAL_ID, false},
    {"usertype", false, A_TEXT, RU_USER_TYPE, true},
    {"preferredlanguage", false, A_TEXT, RU_PREFERRED_LANGUAGE, true},
    {"locale", false, A_TEXT, RU_LOCALE, true},
    {"timezone", false, A_TEXT, RU_TIMEZONE, true},
    {"active", false, A_ACTIVE, RQ_STATE, false},
    {"meta.created", false, A_TIME, RQ_CREATED, false},
    {"meta.lastmodified", false, A_TIME, RQ_MODIFIED, false},
    {"emails", false, A_EMAILS, 0, true},
    {"employeenumber", true, A_TEXT, RU_EMPLOYEE_ID, true},
    {"department", true, A_TEXT, RU_DEPARTMENT, true},
    {"costcenter", true, A_TEXT, RU_COST_CENTER, true},
    {"organization", true, A_TEXT, RU_COMPANY, true},
    {"manager", true, A_TEXT, RU_MANAGER, true},
    {"manager.value", true, A_TEXT, RU_MANAGER, true},
    /* SCIM attributes roster holds but cannot filter on (JSON or kept verbatim) */
    {"phonenumbers", false, A_NOFILTER, 0, false},
    {"addresses", false, A_NOFILTER, 0, false},
    {"name.formatted", false, A_NOFILTER, 0, false},
    {"nickname", false, A_NOFILTER, 0, false},
    {"profileurl", false, A_NOFILTER, 0, false},
    {"groups", false, A_NOFILTER, 0, false},
    {"meta.version", false, A_NOFILTER, 0, false},
    {"meta.location", false, A_NOFILTER, 0, false},
    {"meta.resourcetype", false, A_NOFILTER, 0, false},
    {"schemas", false, A_NOFILTER, 0, false},
    {"password", false, A_NOFILTER, 0, false},
    {"division", true, A_NOFILTER, 0, false},
    {"manager.displayname", true, A_NOFILTER, 0, false},
};

/* The entries of emails: roster's primary e-mail (type "work", primary) and its alternate
 * e-mail (type "other"). */
struct email_entry {
    int key;
    const char *type;
    bool primary;
};
static const struct email_entry email_entries[] = {
    {RU_EMAIL, "work", true},
    {RU_ALTERNATE_EMAIL, "other", false},
};

struct tr {
    struct roster_arena *a;
    struct roster_err *err;
    size_t nodes;
};

__attribute__((format(printf, 3, 4))) static int bad(struct tr *t, const struct scim_fnode *n,
                                                     const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return roster_err_set(t->err, ROSTER_EINVAL, "invalid filter at character %zu: %s", n->pos,
                          msg);
}

static struct roster_qnode *qnode(struct tr *t, int kind, size_t nkids)
{
    if (++t->nodes > ROSTER_QUERY_MAX_NODES)
        return NULL;
    struct roster_qnode *q = roster_arena_zalloc(t->a, sizeof(*q));
    q->kind = kind;
    q->nkids = nkids;
    q->kids = nkids ? roster_arena_zalloc(t->a, nkids * sizeof(*q->kids)) : NULL;
    return q;
}

static int too_big(struct tr *t)
{
    return roster_err_set(t->err, ROSTER_EINVAL, "invalid filter: it needs more than %d conditions",
                          ROSTER_QUERY_MAX_NODES);
}

/* The attribute of path (in a value path: base is its attribute, path a sub-attribute). */
static const struct attr *find_attr(const struct scim_attrpath *p)
{
    bool enterprise = false;
    if (p->uri) {
        if (strcasecmp(p->uri, URN_ENTERPRISE_USER) == 0)
            enterprise = true;
        else if (strcasecmp(p->uri, URN_CORE_USER) != 0)
            return NULL;
    }
    char full[256];
    snprintf(full, sizeof(full), "%s%s%s", p->name, p->sub ? "." : "", p->sub ? p->sub : "");
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        if (strcasecmp(attrs[i].name, full) == 0 && (!p->uri || attrs[i].enterprise == enterprise))
            return &attrs[i];
    return NULL;
}

static struct roster_qnode *leaf(struct tr *t, int key, int op, const char *s, int64_t i, bool ci)
{
    struct roster_qnode *q = qnode(t, ROSTER_QN_FILTER, 0);
    if (!q)
        return NULL;
    q->f.key = key;
    q->f.op = op;
    q->f.ci = ci;
    if (op != ROSTER_OP_PRESENT) {
        q->f.vals = roster_arena_zalloc(t->a, sizeof(*q->f.vals));
        q->f.vals[0].s = s;
        q->f.vals[0].i = i;
        q->f.nvals = 1;
    }
    return q;
}

static struct roster_qnode *konst(struct tr *t, bool v)
{
    return qnode(t, v ? ROSTER_QN_TRUE : ROSTER_QN_FALSE, 0);
}

static struct roster_qnode *negate(struct tr *t, struct roster_qnode *k)
{
    if (!k)
        return NULL;
    struct roster_qnode *q = qnode(t, ROSTER_QN_NOT, 1);
    if (q)
        q->kids[0] = k;
    return q;
}

static const int op_of[] = {
    [SCIM_EQ] = ROSTER_OP_EQ,     [SCIM_NE] = ROSTER_OP_NE,     [SCIM_CO] = ROSTER_OP_CONTAINS,
    [SCIM_SW] = ROSTER_OP_PREFIX, [SCIM_EW] = ROSTER_OP_SUFFIX, [SCIM_GT] = ROSTER_OP_GT,
    [SCIM_GE] = ROSTER_OP_GE,     [SCIM_LT] = ROSTER_OP_LT,     [SCIM_LE] = ROSTER_OP_LE,
};

/* A comparison (or pr: n->kind) on the text key: eq null is "not present", ne null
 * "present". */
static int text_cmp(struct tr *t, const struct scim_fnode *n, int key, bool ci,
                    struct roster_qnode **out)
{
    if (n->kind == SCIM_F_PR) {
        *out = leaf(t, key, ROSTER_OP_PRESENT, NULL, 0, false);
        return *out ? 0 : too_big(t);
    }
    if (n->vtype == SCIM_V_NULL) {
        if (n->op != SCIM_EQ && n->op != SCIM_NE)
            return bad(t, n, "%s null: only eq and ne compare with null", scim_cmpop_names[n->op]);
        struct roster_qnode *pr = leaf(t, key, ROSTER_OP_PRESENT, NULL, 0, false);
        *out = n->op == SCIM_EQ ? negate(t, pr) : pr;
        return *out ? 0 : too_big(t);
    }
    if (n->vtype != SCIM_V_STRING)
        return bad(t, n, "\"%s\" is a string attribute: compare it with a string", n->path.raw);
    *out = leaf(t, key, op_of[n->op], n->text, 0, ci);
    return *out ? 0 : too_big(t);
}

/* A string constant (an email entry's type) compared as n says, folding case. */
static bool const_text_match(const struct scim_fnode *n, const char *v)
{
    if (n->kind == SCIM_F_PR)
        return v && v[0];
    if (n->vtype == SCIM_V_NULL)
        return n->op == SCIM_EQ ? !v : v != NULL;
    if (!v)
        return n->op == SCIM_NE;
    const char *x = n->text;
    size_t lv = strlen(v), lx = strlen(x);
    int c = strcasecmp(v, x);
    switch (n->op) {
    case SCIM_EQ:
        return c == 0;
    case SCIM_NE:
        return c != 0;
    case SCIM_CO:
        for (size_t i = 0; i + lx <= lv; i++)
            if (strncasecmp(v + i, x, lx) == 0)
                return true;
        return false;
    case SCIM_SW:
        return lv >= lx && strncasecmp(v, x, lx) == 0;
    case SCIM_EW:
        return lv >= lx && strcasecmp(v + lv - lx, x) == 0;
    case SCIM_GT:
        return c > 0;
    case SCIM_GE:
        return c >= 0;
    case SCIM_LT:
        return c < 0;
    default:
        return c <= 0;
    }
}

/* A comparison on the sub-attribute sub of one email entry e. */
static int email_sub(struct tr *t, const struct scim_fnode *n, const char *sub,
                     const struct email_entry *e, struct roster_qnode **out)
{
    if (!sub || strcasecmp(sub, "value") == 0)
        return text_cmp(t, n, e->key, true, out);
    if (strcasecmp(sub, "type") == 0) {
        if (n->kind == SCIM_F_CMP && n->vtype != SCIM_V_STRING && n->vtype != SCIM_V_NULL)
            return bad(t, n, "\"%s\" is a string attribute: compare it with a string", n->path.raw);
        *out = konst(t, const_text_match(n, e->type));
        return *out ? 0 : too_big(t);
    }
    if (strcasecmp(sub, "primary") == 0) {
        if (n->kind == SCIM_F_PR) {
            *out = konst(t, true);
        } else {
            bool v;
            if (n->vtype == SCIM_V_TRUE || n->vtype == SCIM_V_FALSE)
                v = n->vtype == SCIM_V_TRUE;
            else
                return bad(t, n, "\"%s\" is a boolean: compare it with true or false", n->path.raw);
            if (n->op == SCIM_EQ)
                *out = konst(t, e->primary == v);
            else if (n->op == SCIM_NE)
                *out = konst(t, e->primary != v);
            else
                return bad(t, n, "%s on a boolean: only eq, ne and pr", scim_cmpop_names[n->op]);
        }
        return *out ? 0 : too_big(t);
    }
    return bad(t, n,
               "emails has no sub-attribute \"%s\" roster can filter on (value, type, primary)",
               sub);
}

/* What translates one operand of and/or/not: expr, or email_valfilter with its entry. */
typedef int (*operand_fn)(struct tr *t, const struct scim_fnode *n, const void *arg,
                          struct roster_qnode **out);

/* n (and, or, not) as the query node of the same kind over its operands, each translated
 * by fn with arg. */
static int logical(struct tr *t, const struct scim_fnode *n, operand_fn fn, const void *arg,
                   struct roster_qnode **out)
{
    struct roster_qnode *q = qnode(t,
                                   n->kind == SCIM_F_AND  ? ROSTER_QN_AND
                                   : n->kind == SCIM_F_OR ? ROSTER_QN_OR
                                                          : ROSTER_QN_NOT,
                                   n->nkids);
    if (!q)
        return too_big(t);
    for (size_t i = 0; i < n->nkids; i++) {
        int rc = fn(t, n->kids[i], arg, &q->kids[i]);
        if (rc)
            return rc;
    }
    *out = q;
    return 0;
}

/* Inside emails[...]: the filter n over the sub-attributes of entry arg (an email_entry). */
static int email_valfilter(struct tr *t, const struct scim_fnode *n, const void *arg,
                           struct roster_qnode **out)
{
    const struct email_entry *e = arg;
    switch (n->kind) {
    case SCIM_F_AND:
    case SCIM_F_OR:
    case SCIM_F_NOT:
        return logical(t, n, email_valfilter, e, out);
    default:
        if (n->path.uri || n->path.sub)
            return bad(t, n, "\"%s\": inside emails[...] name a sub-attribute of emails",
                       n->path.raw);
        return email_sub(t, n, n->path.name, e, out);
    }
}

/* emails in any form: each entry that is present and satisfies the conditions (the value
 * path's filter, then the comparison), any of the entries. */
static int emails(struct tr *t, const struct scim_fnode *n, struct roster_qnode **out)
{
    size_t ne = sizeof(email_entries) / sizeof(email_entries[0]);
    struct roster_qnode *any = qnode(t, ROSTER_QN_OR, ne);
    if (!any)
        return too_big(t);
    for (size_t i = 0; i < ne; i++) {
        const struct email_entry *e = &email_entries[i];
        struct roster_qnode *all = qnode(t, ROSTER_QN_AND, 3);
        if (!all)
            return too_big(t);
        all->kids[0] = leaf(t, e->key, ROSTER_OP_PRESENT, NULL, 0, false);
        if (!all->kids[0])
            return too_big(t);
        int rc;
        if (n->kind == SCIM_F_VALPATH) {
            rc = email_valfilter(t, n->kids[0], e, &all->kids[1]);
            if (!rc && n->sub)
                rc = email_sub(t, n->sub, n->sub->path.sub, e, &all->kids[2]);
            else if (!rc)
                all->nkids = 2;
        } else {
            rc = email_sub(t, n, n->path.sub, e, &all->kids[1]);
            all->nkids = 2;
        }
        if (rc)
            return rc;
        any->kids[i] = all;
    }
    *out = any;
    return 0;
}

static int active(struct tr *t, const struct scim_fnode *n, struct roster_qnode **out)
{
    if (n->kind == SCIM_F_PR) {
        *out = konst(t, true);
        return *out ? 0 : too_big(t);
    }
    bool v;
    if (n->vtype == SCIM_V_TRUE || n->vtype == SCIM_V_FALSE)
        v = n->vtype == SCIM_V_TRUE;
    else if (n->vtype == SCIM_V_STRING &&
             (strcasecmp(n->text, "true") == 0 || strcasecmp(n->text, "false") == 0))
        v = strcasecmp(n->text, "true") == 0; /* "False", as Entra writes booleans */
    else
        return bad(t, n, "\"%s\" is a boolean: compare it with true or false", n->path.raw);
    if (n->op != SCIM_EQ && n->op != SCIM_NE)
        return bad(t, n, "%s on a boolean: only eq, ne and pr", scim_cmpop_names[n->op]);
    if (n->op == SCIM_NE)
        v = !v;
    /* active = ACTIVATED; STAGED and SUSPENDED are both not active */
    *out = leaf(t, RQ_STATE, v ? ROSTER_OP_EQ : ROSTER_OP_NE, NULL, ROSTER_ACTIVATED, false);
    return *out ? 0 : too_big(t);
}

static int time_cmp(struct tr *t, const struct scim_fnode *n, int key, struct roster_qnode **out)
{
    if (n->kind == SCIM_F_PR) {
        *out = konst(t, true);
        return *out ? 0 : too_big(t);
    }
    switch (n->op) {
    case SCIM_EQ:
    case SCIM_NE:
    case SCIM_GT:
    case SCIM_GE:
    case SCIM_LT:
    case SCIM_LE:
        break;
    default:
        return bad(t, n, "%s on a date-time: only eq ne gt ge lt le pr", scim_cmpop_names[n->op]);
    }
    int64_t ms;
    if (n->vtype != SCIM_V_STRING || roster_time_parse(n->text, &ms) != 0)
        return bad(t, n, "\"%s\" is a date-time: compare it with an RFC 3339 time string",
                   n->path.raw);
    *out = leaf(t, key, op_of[n->op], NULL, ms, false);
    return *out ? 0 : too_big(t);
}

static int attr_exp(struct tr *t, const struct scim_fnode *n, struct roster_qnode **out)
{
    const struct attr *at = find_attr(&n->path);
    if (!at && n->kind == SCIM_F_VALPATH)
        return bad(t, n, "\"%s\" is not a multi-valued attribute roster can filter on (emails)",
                   n->path.raw);
    if (!at && n->path.sub) {
        /* emails.value, emails.type ...: the sub-attribute of emails */
        struct scim_attrpath base = n->path;
        base.sub = NULL;
        const struct attr *b = find_attr(&base);
        if (b && b->kind == A_EMAILS)
            return emails(t, n, out);
    }
    if (!at)
        return bad(t, n, "unknown attribute \"%s\"", n->path.raw);
    switch (at->kind) {
    case A_TEXT:
        return text_cmp(t, n, at->key, at->ci, out);
    case A_ID:
        if (n->kind == SCIM_F_PR) {
            *out = konst(t, true);
            return *out ? 0 : too_big(t);
        }
        return text_cmp(t, n, at->key, false, out);
    case A_ACTIVE:
        return active(t, n, out);
    case A_TIME:
        return time_cmp(t, n, at->key, out);
    case A_EMAILS:
        return emails(t, n, out);
    default:
        return bad(t, n, "roster cannot filter on \"%s\"", n->path.raw);
    }
}

/* A filter (arg unused: the shape of operand_fn). */
static int expr(struct tr *t, const struct scim_fnode *n, const void *arg,
                struct roster_qnode **out)
{
    switch (n->kind) {
    case SCIM_F_AND:
    case SCIM_F_OR:
    case SCIM_F_NOT:
        return logical(t, n, expr, arg, out);
    default:
        return attr_exp(t, n, out);
    }
}

/* n with constants folded and nested and/or flattened: `emails[type eq "work"].value eq "x"`
 * becomes the two conditions on the e-mail alone, which the top level then hoists into plain
 * filters (the e-mail's index). */
static struct roster_qnode *simplify(struct tr *t, struct roster_qnode *n)
{
    if (n->kind == ROSTER_QN_NOT) {
        struct roster_qnode *k = simplify(t, n->kids[0]);
        if (k->kind == ROSTER_QN_TRUE || k->kind == ROSTER_QN_FALSE) {
            k->kind = k->kind == ROSTER_QN_TRUE ? ROSTER_QN_FALSE : ROSTER_QN_TRUE;
            return k;
        }
        n->kids[0] = k;
        return n;
    }
    if (n->kind != ROSTER_QN_AND && n->kind != ROSTER_QN_OR)
        return n;
    bool and = n->kind == ROSTER_QN_AND;
    int unit = and? ROSTER_QN_TRUE : ROSTER_QN_FALSE; /* dropped */
    int zero = and? ROSTER_QN_FALSE : ROSTER_QN_TRUE; /* decides */
    struct roster_qnode **kids = NULL;
    size_t nk = 0, cap = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        struct roster_qnode *k = simplify(t, n->kids[i]);
        if (k->kind == unit)
            continue;
        if (k->kind == zero)
            return k;
        size_t nsub = k->kind == n->kind ? k->nkids : 1;
        for (size_t j = 0; j < nsub; j++) {
            kids = roster_arena_grow(t->a, kids, nk, &cap, sizeof(*kids));
            kids[nk++] = k->kind == n->kind ? k->kids[j] : k;
        }
    }
    if (nk == 0) {
        n->kind = unit;
        n->nkids = 0;
        return n;
    }
    if (nk == 1)
        return kids[0];
    n->kids = kids;
    n->nkids = nk;
    return n;
}

int scim_users_filter(struct roster_query *q, const char *filter, struct roster_arena *a,
                      struct roster_err *err)
{
    struct scim_fnode *root;
    int rc = scim_filter_parse(filter, a, &root, err);
    if (rc)
        return rc;
    struct tr t = {a, err, 0};
    struct roster_qnode *e;
    rc = expr(&t, root, NULL, &e);
    if (rc)
        return rc;
    e = simplify(&t, e);
    /* the top-level conjunction's comparisons as plain filters (their indexes) */
    struct roster_qnode **kids = e->kind == ROSTER_QN_AND ? e->kids : &e;
    size_t nk = e->kind == ROSTER_QN_AND ? e->nkids : 1;
    size_t rest = 0;
    for (size_t i = 0; i < nk; i++) {
        if (kids[i]->kind == ROSTER_QN_FILTER && q->nfilters < ROSTER_QUERY_MAX_FILTERS)
            q->filters[q->nfilters++] = kids[i]->f;
        else if (kids[i]->kind != ROSTER_QN_TRUE)
            kids[rest++] = kids[i];
    }
    if (rest == 0)
        return 0;
    if (e->kind == ROSTER_QN_AND) {
        e->nkids = rest;
        q->expr = rest == 1 ? e->kids[0] : e;
    } else {
        q->expr = e;
    }
    return 0;
}

/* --- Groups --- */

static int group_bad(struct roster_err *err, const struct scim_fnode *n, const char *what)
{
    return roster_err_set(err, ROSTER_EINVAL,
                          "invalid filter at character %zu: %s (Groups filter on displayName eq "
                          "or co, id eq, joined by and)",
                          n->pos, what);
}

static int group_leaf(struct scim_group_filter *g, const struct scim_fnode *n,
                      struct roster_err *err)
{
    if (n->kind != SCIM_F_CMP)
        return group_bad(err, n, "unsupported expression");
    if (n->path.uri && strcasecmp(n->path.uri, URN_CORE_GROUP) != 0)
        return group_bad(err, n, "unknown schema");
    if (n->path.sub)
        return group_bad(err, n, "unsupported attribute");
    if (n->vtype != SCIM_V_STRING)
        return group_bad(err, n, "compare with a string");
    const char **slot = NULL;
    if (strcasecmp(n->path.name, "displayName") == 0) {
        if (n->op == SCIM_EQ)
            slot = &g->name;
        else if (n->op == SCIM_CO)
            slot = &g->name_substr;
        else
            return group_bad(err, n, "unsupported operator on displayName");
    } else if (strcasecmp(n->path.name, "id") == 0) {
        if (n->op != SCIM_EQ)
            return group_bad(err, n, "unsupported operator on id");
        slot = &g->id;
    } else {
        return group_bad(err, n, "unsupported attribute");
    }
    if (*slot && strcmp(*slot, n->text) != 0)
        g->none = true; /* two different values of one attribute: nothing matches */
    *slot = n->text;
    return 0;
}

int scim_groups_filter(struct scim_group_filter *g, const char *filter, struct roster_arena *a,
                       struct roster_err *err)
{
    memset(g, 0, sizeof(*g));
    struct scim_fnode *root;
    int rc = scim_filter_parse(filter, a, &root, err);
    if (rc)
        return rc;
    if (root->kind == SCIM_F_AND) {
        for (size_t i = 0; i < root->nkids; i++)
            if ((rc = group_leaf(g, root->kids[i], err)) != 0)
                return rc;
        return 0;
    }
    return group_leaf(g, root, err);
}
