/* Whether a user is in a list and where it sorts, with exactly the semantics of the SQL the
 * stores run for the same struct roster_query (src/store/sqlgen.c): text compares as bytes
 * (SQLite's BINARY, PostgreSQL's COLLATE "C"), NULL matches no comparison but `ne` and
 * sorts first, `search` and the free text fold ASCII case only, username and email sort
 * ignoring ASCII case. The list state of src/core/lists.c relies on these being the same
 * as the stores': the contract suite checks them against brute force on both stores.
 */
#include <stdio.h>
#include <string.h>

#include "roster/list.h"

static unsigned char lower1(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int roster_ascii_casecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (;; x++, y++) {
        unsigned char cx = lower1(*x), cy = lower1(*y);
        if (cx != cy)
            return cx < cy ? -1 : 1;
        if (!cx)
            return 0;
    }
}

bool roster_list_key_ci(int key)
{
    return key == RU_USERNAME || key == RU_EMAIL;
}

/* Whether needle (folded) occurs in hay (folded); an empty needle occurs in any text. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return true;
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && lower1((unsigned char)h[i]) == lower1((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static int bytecmp(const char *a, const char *b)
{
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

/* The text value of key in u (NULL when missing or when key is an integer key). */
static const char *str_of(const struct roster_user *u, int key)
{
    if (key >= 0 && key < RU_NFIELDS)
        return u->f[key];
    if (key == RQ_ID)
        return u->id;
    return NULL;
}

static int64_t int_of(const struct roster_user *u, int key)
{
    switch (key) {
    case RQ_NUM_ID:
        return u->num_id;
    case RQ_STATE:
        return u->state;
    case RQ_CREATED:
        return u->created_ms;
    case RQ_MODIFIED:
        return u->modified_ms;
    default:
        return 0;
    }
}

/* strcmp of a and b, folding ASCII case when ci */
static int cmp_text(const char *a, const char *b, bool ci)
{
    return ci ? roster_ascii_casecmp(a, b) : strcmp(a, b);
}

static bool has_prefix(const char *v, const char *x, bool ci)
{
    if (!ci)
        return strncmp(v, x, strlen(x)) == 0;
    for (; *x; v++, x++)
        if (!*v || lower1((unsigned char)*v) != lower1((unsigned char)*x))
            return false;
    return true;
}

static bool has_suffix(const char *v, const char *x, bool ci)
{
    size_t n = strlen(x), m = strlen(v);
    return m >= n && cmp_text(v + m - n, x, ci) == 0;
}

static bool contains(const char *hay, const char *needle, bool ci)
{
    return ci ? contains_ci(hay, needle) : strstr(hay, needle) != NULL;
}

static bool filter_match(const struct roster_filter *f, const struct roster_user *u)
{
    if (f->op == ROSTER_OP_PRESENT) {
        if (roster_qkey_is_int(f->key))
            return true;
        const char *v = str_of(u, f->key);
        return v && v[0];
    }
    if (!f->vals || f->nvals == 0)
        return false;
    if (roster_qkey_is_int(f->key)) {
        int64_t v = int_of(u, f->key);
        int64_t x = f->vals[0].i;
        switch (f->op) {
        case ROSTER_OP_EQ:
            return v == x;
        case ROSTER_OP_NE:
            return v != x;
        case ROSTER_OP_GT:
            return v > x;
        case ROSTER_OP_GE:
            return v >= x;
        case ROSTER_OP_LT:
            return v < x;
        case ROSTER_OP_LE:
            return v <= x;
        case ROSTER_OP_BETWEEN:
            return f->nvals >= 2 && v >= x && v <= f->vals[1].i;
        case ROSTER_OP_IN:
            for (size_t i = 0; i < f->nvals; i++)
                if (v == f->vals[i].i)
                    return true;
            return false;
        default:
            return false;
        }
    }
    const char *v = str_of(u, f->key);
    const char *x = f->vals[0].s ? f->vals[0].s : "";
    bool ci = f->ci;
    if (!v) /* SQL: NULL compares to nothing; only IS NOT / IS DISTINCT FROM holds */
        return f->op == ROSTER_OP_NE;
    switch (f->op) {
    case ROSTER_OP_EQ:
        return cmp_text(v, x, ci) == 0;
    case ROSTER_OP_NE:
        return cmp_text(v, x, ci) != 0;
    case ROSTER_OP_GT:
        return cmp_text(v, x, ci) > 0;
    case ROSTER_OP_GE:
        return cmp_text(v, x, ci) >= 0;
    case ROSTER_OP_LT:
        return cmp_text(v, x, ci) < 0;
    case ROSTER_OP_LE:
        return cmp_text(v, x, ci) <= 0;
    case ROSTER_OP_BETWEEN:
        return f->nvals >= 2 && cmp_text(v, x, ci) >= 0 &&
               cmp_text(v, f->vals[1].s ? f->vals[1].s : "", ci) <= 0;
    case ROSTER_OP_IN:
        for (size_t i = 0; i < f->nvals; i++)
            if (cmp_text(v, f->vals[i].s ? f->vals[i].s : "", ci) == 0)
                return true;
        return false;
    case ROSTER_OP_SEARCH:
        return contains_ci(v, x);
    case ROSTER_OP_PREFIX:
        return has_prefix(v, x, ci);
    case ROSTER_OP_CONTAINS:
        return contains(v, x, ci);
    case ROSTER_OP_SUFFIX:
        return has_suffix(v, x, ci);
    default:
        return false;
    }
}

bool roster_qnode_match(const struct roster_qnode *n, const struct roster_user *u)
{
    switch (n->kind) {
    case ROSTER_QN_FILTER:
        return filter_match(&n->f, u);
    case ROSTER_QN_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!roster_qnode_match(n->kids[i], u))
                return false;
        return true;
    case ROSTER_QN_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (roster_qnode_match(n->kids[i], u))
                return true;
        return false;
    case ROSTER_QN_NOT:
        return n->nkids < 1 || !roster_qnode_match(n->kids[0], u);
    case ROSTER_QN_TRUE:
        return true;
    default:
        return false;
    }
}

static bool in_groups(int64_t g, const int64_t *groups, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (groups[mid] == g)
            return true;
        if (groups[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool roster_list_match(const struct roster_query *q, const struct roster_user *u,
                       const int64_t *groups, size_t ngroups)
{
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++)
        if (!filter_match(&q->filters[i], u))
            return false;
    if (q->expr && !roster_qnode_match(q->expr, u))
        return false;
    if (q->search && q->search[0]) {
        static const int searched[] = {RU_USERNAME, RU_EMAIL, RU_FIRST_NAME, RU_LAST_NAME};
        bool any = false;
        for (size_t i = 0; i < sizeof(searched) / sizeof(searched[0]) && !any; i++)
            any = u->f[searched[i]] && contains_ci(u->f[searched[i]], q->search);
        if (!any)
            return false;
    }
    for (size_t i = 0; i < q->nconds && i < ROSTER_QUERY_MAX_CONDS; i++)
        if (in_groups(q->conds[i].group_num_id, groups, ngroups) != q->conds[i].member)
            return false;
    return true;
}

static int key_cmp(int key, const struct roster_user *a, const struct roster_user *b)
{
    if (roster_qkey_is_int(key)) {
        int64_t x = int_of(a, key), y = int_of(b, key);
        return x < y ? -1 : x > y;
    }
    const char *x = str_of(a, key), *y = str_of(b, key);
    if (!x || !y) /* NULL first */
        return x ? 1 : y ? -1 : 0;
    return roster_list_key_ci(key) ? roster_ascii_casecmp(x, y) : bytecmp(x, y);
}

int roster_list_cmp(const struct roster_query *q, const struct roster_user *a,
                    const struct roster_user *b)
{
    bool desc = false;
    for (size_t i = 0; i < q->nsorts && i < ROSTER_QUERY_MAX_SORTS; i++) {
        int c = key_cmp(q->sorts[i].key, a, b);
        desc = q->sorts[i].desc;
        if (c)
            return desc ? -c : c;
    }
    int c = bytecmp(a->id, b->id);
    return desc ? -c : c;
}

/* --- the key of a list --- */

static void add_str(struct roster_buf *b, const char *s)
{
    if (!s) {
        roster_buf_addstr(b, "~N");
        return;
    }
    /* length-prefixed: no value can fake a separator */
    roster_buf_printf(b, "%zu:", strlen(s));
    roster_buf_addstr(b, s);
}

static void add_filter_key(struct roster_buf *b, const struct roster_filter *f)
{
    roster_buf_printf(b, "F%d,%d%s,%zu", f->key, f->op, f->ci ? "i" : "", f->nvals);
    for (size_t j = 0; j < f->nvals; j++) {
        if (roster_qkey_is_int(f->key))
            roster_buf_printf(b, ",%lld", (long long)f->vals[j].i);
        else {
            roster_buf_addch(b, ',');
            add_str(b, f->vals[j].s);
        }
    }
    roster_buf_addch(b, ';');
}

/* The expression in prefix form: E<kind>,<nkids>( kids ) */
static void add_expr_key(struct roster_buf *b, const struct roster_qnode *n)
{
    if (n->kind == ROSTER_QN_FILTER) {
        add_filter_key(b, &n->f);
        return;
    }
    roster_buf_printf(b, "E%d,%zu(", n->kind, n->nkids);
    for (size_t i = 0; i < n->nkids; i++)
        add_expr_key(b, n->kids[i]);
    roster_buf_addch(b, ')');
}

char *roster_list_key(const struct roster_query *q, struct roster_arena *a, size_t *len)
{
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++)
        add_filter_key(&b, &q->filters[i]);
    if (q->expr) {
        roster_buf_addch(&b, 'X');
        add_expr_key(&b, q->expr);
        roster_buf_addch(&b, ';');
    }
    if (q->search && q->search[0]) {
        roster_buf_addch(&b, 'T');
        add_str(&b, q->search);
        roster_buf_addch(&b, ';');
    }
    for (size_t i = 0; i < q->nconds && i < ROSTER_QUERY_MAX_CONDS; i++)
        roster_buf_printf(&b, "G%c%lld;", q->conds[i].member ? '+' : '-',
                          (long long)q->conds[i].group_num_id);
    for (size_t i = 0; i < q->nsorts && i < ROSTER_QUERY_MAX_SORTS; i++)
        roster_buf_printf(&b, "S%c%d;", q->sorts[i].desc ? '-' : '+', q->sorts[i].key);
    char *out = roster_arena_strndup(a, b.data ? b.data : "", b.len);
    *len = b.len;
    roster_buf_release(&b);
    return out;
}
