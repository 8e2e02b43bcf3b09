/* The list translator shared by both store backends (see sqlgen.h). Semantics, which
 * src/core/list_eval.c repeats in C: NE matches NULL, comparisons and PREFIX are in byte
 * order (SQLite's BINARY, PostgreSQL's COLLATE "C" columns), SEARCH and the free text fold
 * ASCII case, username and email sort ignoring ASCII case, NULL sorts first ascending.
 *
 * Access paths (docs/lists.md): every users index leads with org_num.
 * - users_org_id (org_num, id): the id order, and the rows a residual filter checks.
 * - (org_num, lower(username)) and (org_num, lower(email)), unique: eq, in and prefix on
 *   them (with the exact comparison as a residual), and their case-insensitive order.
 * - (org_num, last_name, id), (org_num, first_name, id), (org_num, created_ms, id),
 *   (org_num, employee_id): eq/in/prefix/ranges in id order, and their order.
 * - (org_num, state, id) WHERE state <> 1: the inactive states; ACTIVATED is the id order
 *   with the state checked per row (most users are active; the state counts come from the
 *   list state in core, not from counting).
 * - the rarely set text fields (sg_sparse): PostgreSQL has partial indexes (org_num,
 *   field, id) WHERE field IS NOT NULL on users, which cost an insert of a user without
 *   the field nothing; SQLite has the same indexes on user_sparse, a copy of those fields
 *   of the users that have any (an index on users would cost every SQLite insert, field
 *   or not). Orders on them read the NULL part (id order) and the rest as two segments.
 * - group_members (group_num, uname, uid) and (group_num, dname, uid), beside its primary
 *   key (group_num, user_num): the members of a group in user_name, display name and
 *   user_id order (Voximplant GetUsers).
 * Substring filters (search, the free text) are checked per row: they scan.
 */
#include "store/sqlgen.h"

#include <string.h>

#include "store/store_keys.h"

void sg_init(struct sg *g, int flavor, struct roster_arena *a)
{
    memset(g, 0, sizeof(*g));
    g->flavor = flavor;
    g->a = a;
    roster_buf_init(&g->sql);
}

void sg_release(struct sg *g)
{
    roster_buf_release(&g->sql);
}

size_t sg_add(struct sg *g, struct sg_val v)
{
    if (g->nvals == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct sg_val *nv = roster_arena_alloc(g->a, cap * sizeof(*nv));
        if (g->nvals)
            memcpy(nv, g->vals, g->nvals * sizeof(*nv));
        g->vals = nv;
        g->cap = cap;
    }
    g->vals[g->nvals++] = v;
    return g->nvals;
}

void sg_ref(struct sg *g, size_t n)
{
    if (g->flavor == SG_PG)
        roster_buf_printf(&g->sql, "$%zu::%s", n,
                          g->vals[n - 1].type == SG_INT ? "bigint" : "text");
    else
        roster_buf_printf(&g->sql, "?%zu", n);
}

void sg_int(struct sg *g, int64_t v)
{
    sg_ref(g, sg_add(g, (struct sg_val){SG_INT, v, NULL}));
}

void sg_text(struct sg *g, const char *s)
{
    sg_ref(g, sg_add(g, (struct sg_val){SG_TEXT, 0, s}));
}

static void sql(struct sg *g, const char *s)
{
    roster_buf_addstr(&g->sql, s);
}

/* username and email: unique and ordered ignoring ASCII case, through lower() indexes */
static bool ci_key(int key)
{
    return key == RU_USERNAME || key == RU_EMAIL;
}

bool sg_sparse(int key)
{
    switch (key) {
    case RU_MIDDLE_NAME:
    case RU_DISPLAY_NAME:
    case RU_DEPARTMENT:
    case RU_COST_CENTER:
    case RU_COMPANY:
    case RU_JOB_TITLE:
    case RU_LOCATION:
    case RU_MANAGER:
    case RU_COUNTRY_CODE:
    case RU_ALTERNATE_EMAIL:
    case RU_DESCRIPTION:
    case RU_EMPLOYEE_TYPE:
    case RU_EXTERNAL_ID:
    case RU_USER_TYPE:
    case RU_PREFERRED_LANGUAGE:
    case RU_LOCALE:
    case RU_TIMEZONE:
        return true;
    default:
        return false;
    }
}

void sg_user_columns(struct roster_buf *b, int flavor, const char *alias)
{
    roster_buf_printf(b, "%s.num_id, %s.id", alias, alias);
    if (flavor == SG_SQLITE)
        roster_buf_printf(b, ", %s.org_num", alias);
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_buf_printf(b, ", %s.%s", alias, roster_ufields[i].column);
    roster_buf_printf(b, ", %s.state, %s.created_ms, %s.modified_ms, %s.version", alias, alias,
                      alias, alias);
}

void sg_user_row_columns(struct roster_buf *b, bool num_id)
{
    roster_buf_addstr(b, num_id ? "num_id, id, org_num" : "id, org_num");
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_buf_printf(b, ", %s", roster_ufields[i].column);
    roster_buf_addstr(b, ", state, created_ms, modified_ms, version");
}

/* --- ASCII case folding of values (ci keys) --- */

static const char *lowered(struct sg *g, const char *s)
{
    char *l = roster_arena_strdup(g->a, s ? s : "");
    for (char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return l;
}

/* The smallest string greater than every string that starts with prefix (byte order): the
 * prefix with its last byte below 0xff incremented; NULL if there is none. */
static const char *prefix_end(const char *prefix, struct roster_arena *a)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    if (n == 0)
        return NULL;
    char *end = roster_arena_strndup(a, prefix, n);
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
    return end;
}

/* --- the plan of a list statement --- */

enum driver { D_USERS, D_MEMBERS, D_SPARSE };

struct plan {
    int driver;
    int64_t group;     /* D_MEMBERS: the group whose members drive */
    size_t cond_used;  /* D_MEMBERS: the condition that drives (not repeated as EXISTS) */
    int sparse_key;    /* D_SPARSE: the field of user_sparse that drives */
    int sparse_filter; /* D_SPARSE by a filter: its index in q->filters, else -1 */
};

static bool member_order(int key)
{
    return key == RU_USERNAME || key == RQ_NUM_ID || key == RU_DISPLAY_NAME;
}

/* Whether filter f can use an index of users (an equality-like condition). */
static bool indexed_users_filter(const struct roster_filter *f)
{
    bool eqish = f->op == ROSTER_OP_EQ || f->op == ROSTER_OP_IN || f->op == ROSTER_OP_PREFIX;
    switch (f->key) {
    case RU_USERNAME:
    case RU_EMAIL:
    case RU_EMPLOYEE_ID:
    case RU_FIRST_NAME:
    case RU_LAST_NAME:
    case RQ_ID:
    case RQ_NUM_ID:
        return eqish;
    case RQ_STATE:
        return f->op == ROSTER_OP_EQ && f->nvals > 0 && f->vals[0].i != ROSTER_ACTIVATED;
    default:
        return false;
    }
}

static bool sparse_filter_ok(const struct roster_filter *f)
{
    return sg_sparse(f->key) && f->op != ROSTER_OP_NE && f->op != ROSTER_OP_SEARCH;
}

int sg_segments(const struct roster_query *q, int flavor)
{
    (void)flavor;
    if (q->nsorts == 0)
        return 1;
    int k = q->sorts[0].key;
    if (k == RQ_STATE)
        return 3;
    if (k >= 0 && k < RU_NFIELDS)
        return 2; /* the NULLs, then the values (ascending) */
    return 1;
}

/* For a text first key: whether segment seg holds the NULLs. */
static bool seg_is_null(const struct roster_query *q, int seg)
{
    return q->sorts[0].desc ? seg == 1 : seg == 0;
}

/* For a state first key: the state of segment seg. */
static int seg_state(const struct roster_query *q, int seg)
{
    return q->sorts[0].desc ? 2 - seg : seg;
}

int sg_segment_of(const struct roster_query *q, int flavor, const struct roster_user *u)
{
    int n = sg_segments(q, flavor);
    if (n == 1)
        return 0;
    int k = q->sorts[0].key;
    if (k == RQ_STATE)
        return q->sorts[0].desc ? 2 - u->state : u->state;
    bool null = u->f[k] == NULL;
    return null == !q->sorts[0].desc ? 0 : 1;
}

bool sg_keyset_ok(const struct roster_query *q)
{
    return q->nsorts <= 1;
}

static struct plan choose(const struct roster_query *q, int flavor, int seg)
{
    struct plan p = {D_USERS, 0, 0, -1, -1};
    if (q->nsorts == 1 && member_order(q->sorts[0].key)) {
        for (size_t i = 0; i < q->nconds; i++) {
            if (q->conds[i].member) {
                p.driver = D_MEMBERS;
                p.group = q->conds[i].group_num_id;
                p.cond_used = i;
                return p;
            }
        }
    }
    if (flavor != SG_SQLITE)
        return p;
    if (q->nsorts >= 1) {
        int k = q->sorts[0].key;
        if (sg_sparse(k) && !seg_is_null(q, seg)) {
            p.driver = D_SPARSE;
            p.sparse_key = k;
        }
        return p;
    }
    for (size_t i = 0; i < q->nfilters; i++)
        if (indexed_users_filter(&q->filters[i]))
            return p;
    for (size_t i = 0; i < q->nfilters; i++) {
        if (sparse_filter_ok(&q->filters[i])) {
            p.driver = D_SPARSE;
            p.sparse_key = q->filters[i].key;
            p.sparse_filter = (int)i;
            return p;
        }
    }
    return p;
}

/* The tiebreak column (the user id) of the driver. */
static const char *tiebreak(const struct plan *p)
{
    return p->driver == D_MEMBERS ? "m0.uid" : p->driver == D_SPARSE ? "s.id" : "users.id";
}

/* The expression that orders by key (as the driver's index has it). */
static void ord(struct sg *g, const struct plan *p, int key)
{
    if (p->driver == D_MEMBERS) {
        sql(g, key == RU_USERNAME       ? "m0.uname"
               : key == RU_DISPLAY_NAME ? "m0.dname"
                                        : "m0.user_num");
        return;
    }
    const char *col = roster_store_user_column(key);
    const char *tab = p->driver == D_SPARSE && key == p->sparse_key ? "s" : "users";
    if (ci_key(key))
        roster_buf_printf(&g->sql, "lower(%s.%s)", tab, col);
    else
        roster_buf_printf(&g->sql, "%s.%s", tab, col);
}

/* --- filters --- */

static void add_value(struct sg *g, int key, const struct roster_qval *v)
{
    if (roster_qkey_is_int(key))
        sg_int(g, v->i);
    else
        sg_text(g, v->s ? v->s : "");
}

static int add_filter(struct sg *g, const struct roster_filter *f, const char *tab,
                      const char *(*column)(int), const char *what, bool ci_index,
                      struct roster_err *err)
{
    static const char *const cmp[] = {
        [ROSTER_OP_EQ] = "=",  [ROSTER_OP_NE] = "<>", [ROSTER_OP_GT] = ">",
        [ROSTER_OP_GE] = ">=", [ROSTER_OP_LT] = "<",  [ROSTER_OP_LE] = "<=",
    };
    const char *c = column(f->key);
    if (!c)
        return roster_store_not_filterable(f->key, what, err);
    size_t need = f->op == ROSTER_OP_BETWEEN ? 2 : 1;
    if (f->nvals < need || !f->vals)
        return roster_err_set(err, ROSTER_EINVAL, "filter on \"%s\" needs %zu value%s", c, need,
                              need > 1 ? "s" : "");
    bool is_int = roster_qkey_is_int(f->key);
    if ((f->op == ROSTER_OP_SEARCH || f->op == ROSTER_OP_PREFIX) && is_int)
        return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" does not support %s", c,
                              f->op == ROSTER_OP_SEARCH ? "search" : "prefix");
    bool ci = ci_index && ci_key(f->key);
    switch (f->op) {
    case ROSTER_OP_EQ:
    case ROSTER_OP_GT:
    case ROSTER_OP_GE:
    case ROSTER_OP_LT:
    case ROSTER_OP_LE:
        roster_buf_printf(&g->sql, " AND %s.%s %s ", tab, c, cmp[f->op]);
        add_value(g, f->key, &f->vals[0]);
        if (f->op == ROSTER_OP_EQ && ci) {
            /* implied by the exact match; finds the row through the lower() index */
            roster_buf_printf(&g->sql, " AND lower(%s.%s) = ", tab, c);
            sg_text(g, lowered(g, f->vals[0].s));
        }
        if (ci_index && f->op == ROSTER_OP_EQ && f->key == RQ_STATE &&
            f->vals[0].i != ROSTER_ACTIVATED)
            roster_buf_printf(&g->sql, " AND %s.state <> 1", tab); /* the partial index */
        break;
    case ROSTER_OP_NE:
        roster_buf_printf(&g->sql, " AND %s.%s %s ", tab, c,
                          g->flavor == SG_PG ? "IS DISTINCT FROM" : "IS NOT");
        add_value(g, f->key, &f->vals[0]);
        break;
    case ROSTER_OP_BETWEEN:
        roster_buf_printf(&g->sql, " AND %s.%s BETWEEN ", tab, c);
        add_value(g, f->key, &f->vals[0]);
        sql(g, " AND ");
        add_value(g, f->key, &f->vals[1]);
        break;
    case ROSTER_OP_IN:
        roster_buf_printf(&g->sql, " AND %s.%s IN (", tab, c);
        for (size_t i = 0; i < f->nvals; i++) {
            if (i)
                sql(g, ", ");
            add_value(g, f->key, &f->vals[i]);
        }
        sql(g, ")");
        if (ci) {
            roster_buf_printf(&g->sql, " AND lower(%s.%s) IN (", tab, c);
            for (size_t i = 0; i < f->nvals; i++) {
                if (i)
                    sql(g, ", ");
                sg_text(g, lowered(g, f->vals[i].s));
            }
            sql(g, ")");
        }
        break;
    case ROSTER_OP_SEARCH:
        roster_buf_printf(&g->sql, " AND %s(lower(%s.%s), lower(",
                          g->flavor == SG_PG ? "strpos" : "instr", tab, c);
        sg_text(g, f->vals[0].s ? f->vals[0].s : "");
        sql(g, ")) > 0");
        break;
    case ROSTER_OP_PREFIX: {
        /* a range, not LIKE, so that an index on the column can serve it */
        const char *lo = f->vals[0].s ? f->vals[0].s : "";
        const char *hi = prefix_end(lo, g->a);
        if (ci) {
            /* a superset through the lower() index: lower(x) starts with lower(lo) */
            const char *llo = lowered(g, lo), *lhi = prefix_end(llo, g->a);
            roster_buf_printf(&g->sql, " AND lower(%s.%s) >= ", tab, c);
            sg_text(g, llo);
            if (lhi) {
                roster_buf_printf(&g->sql, " AND lower(%s.%s) < ", tab, c);
                sg_text(g, lhi);
            }
        }
        roster_buf_printf(&g->sql, " AND %s.%s >= ", tab, c);
        sg_text(g, lo);
        if (hi) {
            roster_buf_printf(&g->sql, " AND %s.%s < ", tab, c);
            sg_text(g, hi);
        }
        break;
    }
    default:
        return roster_err_set(err, ROSTER_EINVAL, "unknown filter operator %d", f->op);
    }
    return 0;
}

int sg_filters(struct sg *g, const struct roster_query *q, const char *tab,
               const char *(*column)(int key), const char *what, struct roster_err *err)
{
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++) {
        int code = add_filter(g, &q->filters[i], tab, column, what, false, err);
        if (code)
            return code;
    }
    return 0;
}

/* --- the list statement --- */

/* The organisation's num_id: a parameter (SQLite), or a look-up of its id (PostgreSQL: the
 * statement needs no other round trip). */
static void org_ref(struct sg *g, const struct sg_org *org)
{
    if (!g->org_param) {
        if (org->id)
            sg_add(g, (struct sg_val){SG_TEXT, 0, org->id});
        else
            sg_add(g, (struct sg_val){SG_INT, org->num, NULL});
        g->org_param = g->nvals;
    }
    if (org->id) {
        sql(g, "(SELECT num_id FROM orgs WHERE id = ");
        sg_ref(g, g->org_param);
        sql(g, ")");
    } else {
        sg_ref(g, g->org_param);
    }
}

static void add_keyset(struct sg *g, const struct roster_query *q, const struct plan *p, int seg,
                       const struct roster_user *after)
{
    bool desc = q->nsorts ? q->sorts[q->nsorts - 1].desc : false;
    const char *op = desc ? " < " : " > ";
    const char *tb = tiebreak(p);
    if (q->nsorts == 0) {
        roster_buf_printf(&g->sql, " AND %s%s", tb, op);
        sg_text(g, after->id);
        return;
    }
    int k = q->sorts[0].key;
    if (k == RQ_STATE || k == RQ_ID || (k < RU_NFIELDS && seg_is_null(q, seg))) {
        roster_buf_printf(&g->sql, " AND %s%s", tb, op);
        sg_text(g, after->id);
        return;
    }
    if (k == RQ_NUM_ID) {
        sql(g, " AND ");
        ord(g, p, k);
        sql(g, op);
        sg_int(g, after->num_id);
        return;
    }
    if (ci_key(k)) {
        /* unique ignoring case (also among the members of a group): no tiebreak */
        sql(g, " AND ");
        ord(g, p, k);
        sql(g, op);
        sg_text(g, lowered(g, after->f[k]));
        return;
    }
    sql(g, " AND (");
    ord(g, p, k);
    roster_buf_printf(&g->sql, ", %s)%s(", tb, op);
    if (roster_qkey_is_int(k)) {
        int64_t v = k == RQ_CREATED ? after->created_ms : after->modified_ms;
        sg_int(g, v);
    } else {
        sg_text(g, after->f[k]);
    }
    sql(g, ", ");
    sg_text(g, after->id);
    sql(g, ")");
}

static void add_order(struct sg *g, const struct roster_query *q, const struct plan *p, int seg)
{
    sql(g, " ORDER BY ");
    bool desc = false;
    for (size_t i = 0; i < q->nsorts && i < ROSTER_QUERY_MAX_SORTS; i++) {
        int k = q->sorts[i].key;
        desc = q->sorts[i].desc;
        if (i == 0 && k == RQ_STATE)
            continue; /* one value in this segment */
        if (i == 0 && k < RU_NFIELDS && seg_is_null(q, seg)) {
            /* all NULL here; a full index on the field still lists them by id when the key
             * is named (PostgreSQL does not order by id after "IS NULL" otherwise) */
            bool full = k == RU_FIRST_NAME || k == RU_LAST_NAME; /* indexes with the NULLs */
            if ((p->driver == D_USERS && full) || p->driver == D_MEMBERS) {
                ord(g, p, k);
                sql(g, desc ? " DESC, " : " ASC, ");
            }
            continue;
        }
        ord(g, p, k);
        sql(g, desc ? " DESC" : " ASC");
        /* later keys may be NULL: NULL first ascending, as SQLite does */
        if (i > 0 && g->flavor == SG_PG && k < RU_NFIELDS)
            sql(g, desc ? " NULLS LAST" : " NULLS FIRST");
        sql(g, ", ");
    }
    /* num_id, employee id and (ignoring case) username and email are unique: their order
     * needs no tiebreak, and their indexes have none */
    int k0 = q->nsorts == 1 ? q->sorts[0].key : -1;
    bool unique = k0 == RQ_NUM_ID || ((ci_key(k0) || k0 == RU_EMPLOYEE_ID) && !seg_is_null(q, seg));
    if ((p->driver == D_USERS && unique) || (p->driver == D_MEMBERS && k0 == RQ_NUM_ID)) {
        g->sql.len -= 2; /* the ", " after the key */
        g->sql.data[g->sql.len] = '\0';
        return;
    }
    roster_buf_printf(&g->sql, "%s%s", tiebreak(p), desc ? " DESC" : " ASC");
}

/* The conditions of segment seg and, with after, of the rows after it. */
static void seg_and_keyset(struct sg *g, const struct roster_query *q, const struct plan *pp,
                           int seg, const struct roster_user *after)
{
    struct plan p = *pp;
    if (q->nsorts > 0) {
        int k = q->sorts[0].key;
        if (k == RQ_STATE) {
            int st = seg_state(q, seg);
            roster_buf_printf(&g->sql, " AND users.state = %d%s", st,
                              st != ROSTER_ACTIVATED ? " AND users.state <> 1" : "");
        } else if (k >= 0 && k < RU_NFIELDS) {
            bool null = seg_is_null(q, seg);
            if (p.driver == D_MEMBERS) {
                roster_buf_printf(&g->sql, " AND m0.%s IS %sNULL",
                                  k == RU_USERNAME ? "uname" : "dname", null ? "" : "NOT ");
            } else {
                const char *tab = p.driver == D_SPARSE && k == p.sparse_key ? "s" : "users";
                if (ci_key(k)) /* through the lower() index, both parts */
                    roster_buf_printf(&g->sql, " AND lower(%s.%s) IS %sNULL", tab,
                                      roster_store_user_column(k), null ? "" : "NOT ");
                else
                    roster_buf_printf(&g->sql, " AND %s.%s IS %sNULL", tab,
                                      roster_store_user_column(k), null ? "" : "NOT ");
            }
        }
    }
    if (after)
        add_keyset(g, q, &p, seg, after);
}

int sg_user_list(struct sg *g, const struct roster_query *q, const struct sg_org *org, int what,
                 int seg, const struct roster_user *after, struct roster_err *err)
{
    struct plan p = choose(q, g->flavor, what == SG_COUNT ? -1 : seg);
    if (what == SG_COUNT && p.driver == D_SPARSE && p.sparse_filter < 0)
        p.driver = D_USERS; /* counting needs no order */
    if (what == SG_COUNT) {
        sql(g, "SELECT count(*)");
    } else {
        sql(g, "SELECT ");
        sg_user_columns(&g->sql, g->flavor, "users");
    }
    bool inner_done = false;
    switch (p.driver) {
    case D_MEMBERS:
        if (g->flavor == SG_PG && what == SG_PAGE) {
            /* the members in order first (OFFSET 0 keeps PostgreSQL from flattening it: a
             * generic plan that misjudges the group's size would hash-join and sort), then
             * their users in that order */
            sql(g, " FROM (SELECT m0.user_num, m0.uname, m0.dname, m0.uid FROM group_members"
                   " AS m0 WHERE m0.group_num = ");
            sg_int(g, p.group);
            seg_and_keyset(g, q, &p, seg, after);
            add_order(g, q, &p, seg);
            sql(g, " OFFSET 0) AS m0 JOIN users ON users.num_id = m0.user_num"
                   " WHERE users.org_num = ");
            org_ref(g, org);
            inner_done = true;
            break;
        }
        roster_buf_printf(&g->sql,
                          " FROM group_members AS m0 %s users ON users.num_id = m0.user_num"
                          " WHERE m0.group_num = ",
                          g->flavor == SG_PG ? "JOIN" : "CROSS JOIN");
        sg_int(g, p.group);
        sql(g, " AND users.org_num = ");
        org_ref(g, org);
        break;
    case D_SPARSE:
        sql(g, " FROM user_sparse AS s CROSS JOIN users ON users.num_id = s.num_id"
               " WHERE s.org_num = ");
        org_ref(g, org);
        break;
    default:
        sql(g, " FROM users WHERE users.org_num = ");
        org_ref(g, org);
        break;
    }
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++) {
        const char *tab = p.driver == D_SPARSE && (int)i == p.sparse_filter ? "s" : "users";
        int code =
            add_filter(g, &q->filters[i], tab, roster_store_user_column, "user lists", true, err);
        if (code)
            return code;
    }
    if (q->search && q->search[0]) {
        static const int searched[] = {RU_USERNAME, RU_EMAIL, RU_FIRST_NAME, RU_LAST_NAME};
        sql(g, " AND (");
        size_t first = 0;
        for (size_t i = 0; i < sizeof(searched) / sizeof(searched[0]); i++) {
            roster_buf_printf(&g->sql, "%s%s(lower(users.%s), lower(", i ? " OR " : "",
                              g->flavor == SG_PG ? "strpos" : "instr",
                              roster_ufields[searched[i]].column);
            if (i == 0) {
                sg_text(g, q->search);
                first = g->nvals;
            } else {
                sg_ref(g, first);
            }
            sql(g, ")) > 0");
        }
        sql(g, ")");
    }
    for (size_t i = 0; i < q->nconds && i < ROSTER_QUERY_MAX_CONDS; i++) {
        if (p.driver == D_MEMBERS && i == p.cond_used)
            continue;
        roster_buf_printf(&g->sql,
                          " AND %sEXISTS (SELECT 1 FROM group_members AS m WHERE m.group_num = ",
                          q->conds[i].member ? "" : "NOT ");
        sg_int(g, q->conds[i].group_num_id);
        sql(g, " AND m.user_num = users.num_id)");
    }
    if (what == SG_COUNT)
        return 0;

    if (!inner_done)
        seg_and_keyset(g, q, &p, seg, after);
    add_order(g, q, &p, seg);
    return 0;
}

void sg_page(struct sg *g, int64_t limit, int64_t skip)
{
    sql(g, " LIMIT ");
    if (limit < 0) {
        if (g->flavor == SG_PG)
            sql(g, "ALL");
        else
            sg_int(g, -1);
    } else {
        sg_int(g, limit);
    }
    sql(g, " OFFSET ");
    sg_int(g, skip > 0 ? skip : 0);
}

bool sg_segment_next(struct sg *g, const char *base, size_t nbase, size_t got, int64_t *skip,
                     int64_t *remaining)
{
    if (got > 0) {
        *skip = 0;
        if (*remaining > 0)
            *remaining -= (int64_t)got;
        return false;
    }
    if (*skip <= 0)
        return false;
    g->nvals = nbase;
    roster_buf_reset(&g->sql);
    roster_buf_printf(&g->sql, "SELECT count(*) FROM (%s LIMIT ", base);
    sg_int(g, *skip);
    sql(g, g->flavor == SG_PG ? ") AS s" : ")");
    return true;
}
