/* Filter and sort parsing into the query AST (include/roster/query.h). The grammar is
 * JumpCloud's <field>:<operator>:<value>; each dialect supplies its own table of field names,
 * so the same parser serves every dialect. Values are checked here (states, times,
 * integers, wildcards) so stores only translate a well-formed AST into SQL.
 */
#include "roster/query.h"

#include <string.h>

static const struct {
    const char *name;
    int op;
} ops[] = {
    {"eq", ROSTER_OP_EQ},           {"ne", ROSTER_OP_NE},         {"gt", ROSTER_OP_GT},
    {"ge", ROSTER_OP_GE},           {"lt", ROSTER_OP_LT},         {"le", ROSTER_OP_LE},
    {"between", ROSTER_OP_BETWEEN}, {"search", ROSTER_OP_SEARCH}, {"in", ROSTER_OP_IN},
};

/* JSON-valued user fields (phones, attributes, ...) cannot be compared or ordered. */
static bool key_queryable(int key)
{
    if (key >= 0 && key < RU_NFIELDS)
        return roster_ufields[key].kind == RU_KIND_STR;
    return key >= RQ_ID && key < RQ_NKEYS;
}

/* Looks up the n bytes at name in the dialect's table; -1 if absent. */
static int lookup(const struct roster_qname *names, const char *name, size_t n)
{
    for (; names && names->name; names++)
        if (strlen(names->name) == n && memcmp(names->name, name, n) == 0)
            return names->key;
    return -1;
}

/* Parses the text of one value of an integer key into v->i. */
static int parse_int_value(int key, const char *s, int64_t *out)
{
    if (key == RQ_STATE) {
        int st;
        if (roster_state_parse(s, &st))
            return -1;
        *out = st;
        return 0;
    }
    if (key == RQ_CREATED || key == RQ_MODIFIED || key == RQ_DUE)
        return roster_time_parse(s, out);
    return roster_parse_i64(s, out);
}

static const char *int_value_hint(int key)
{
    switch (key) {
    case RQ_STATE:
        return "is not a state (use STAGED, ACTIVATED or SUSPENDED)";
    case RQ_CREATED:
    case RQ_MODIFIED:
    case RQ_DUE:
        return "is not a date-time (use RFC 3339, e.g. 2020-01-01T02:00:00Z)";
    default:
        return "is not an integer";
    }
}

int roster_filter_parse(struct roster_query *q, const char *expr, const struct roster_qname *names,
                        struct roster_arena *a, struct roster_err *err)
{
    if (!expr)
        expr = "";
    const char *c1 = strchr(expr, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c1 == expr || c2 == c1 + 1)
        return roster_err_set(err, ROSTER_EINVAL,
                              "filter \"%s\" must look like <field>:<operator>:<value>", expr);
    if (q->nfilters >= ROSTER_QUERY_MAX_FILTERS)
        return roster_err_set(err, ROSTER_EINVAL, "filter \"%s\": too many filters (at most %d)",
                              expr, ROSTER_QUERY_MAX_FILTERS);

    int key = lookup(names, expr, (size_t)(c1 - expr));
    if (key < 0 || !key_queryable(key))
        return roster_err_set(err, ROSTER_EINVAL, "filter \"%s\": unknown field \"%.*s\"", expr,
                              (int)(c1 - expr), expr);

    const char *opname = c1 + 1, *value = c2 + 1;
    size_t oplen = (size_t)(c2 - opname);
    int op = -1;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strlen(ops[i].name) == oplen && memcmp(ops[i].name, opname, oplen) == 0)
            op = ops[i].op;
    if (op < 0)
        return roster_err_set(err, ROSTER_EINVAL,
                              "filter \"%s\": unknown operator \"%.*s\" (use eq, ne, gt, ge, lt, "
                              "le, between, search or in)",
                              expr, (int)oplen, opname);
    bool is_int = roster_qkey_is_int(key);
    if (op == ROSTER_OP_SEARCH && is_int)
        return roster_err_set(err, ROSTER_EINVAL,
                              "filter \"%s\": search is only supported on text fields", expr);

    /* wildcards: only one '*', at the very end of an eq value on a text field */
    const char *star = strchr(value, '*');
    if (star) {
        if (star[1] != '\0' || strchr(value, '*') != star)
            return roster_err_set(err, ROSTER_EINVAL,
                                  "filter \"%s\": wildcards are only supported at the end of a "
                                  "value",
                                  expr);
        if (op != ROSTER_OP_EQ || is_int)
            return roster_err_set(err, ROSTER_EINVAL,
                                  "filter \"%s\": wildcards are only supported with eq on text "
                                  "fields",
                                  expr);
        op = ROSTER_OP_PREFIX;
    }
    size_t vlen = star ? (size_t)(star - value) : strlen(value);

    size_t nvals = 1;
    if (op == ROSTER_OP_IN || op == ROSTER_OP_BETWEEN)
        for (size_t i = 0; i < vlen; i++)
            nvals += value[i] == '|';
    if (op == ROSTER_OP_IN && vlen == 0)
        return roster_err_set(err, ROSTER_EINVAL,
                              "filter \"%s\": in needs at least one value (separate values with "
                              "'|')",
                              expr);
    if (op == ROSTER_OP_BETWEEN && nvals != 2)
        return roster_err_set(err, ROSTER_EINVAL,
                              "filter \"%s\": between needs exactly two values separated by '|'",
                              expr);

    struct roster_qval *vals = roster_arena_zalloc(a, nvals * sizeof(*vals));
    const char *p = value;
    for (size_t i = 0; i < nvals; i++) {
        const char *bar = nvals > 1 ? memchr(p, '|', (size_t)(value + vlen - p)) : NULL;
        size_t n = bar ? (size_t)(bar - p) : (size_t)(value + vlen - p);
        vals[i].s = roster_arena_strndup(a, p, n);
        if (is_int && parse_int_value(key, vals[i].s, &vals[i].i))
            return roster_err_set(err, ROSTER_EINVAL, "filter \"%s\": \"%s\" %s", expr, vals[i].s,
                                  int_value_hint(key));
        p += n + 1;
    }

    struct roster_filter *f = &q->filters[q->nfilters++];
    f->key = key;
    f->op = op;
    f->vals = vals;
    f->nvals = nvals;
    return 0;
}

int roster_sort_parse(struct roster_query *q, const char *spec, const struct roster_qname *names,
                      struct roster_arena *a, struct roster_err *err)
{
    (void)a; /* nothing to allocate: keys and directions fit in q */
    const char *p = spec ? spec : "";
    for (;;) {
        p += strspn(p, " ,\t");
        if (!*p)
            break;
        size_t n = strcspn(p, " ,\t");
        bool desc = *p == '-';
        int key = desc ? lookup(names, p + 1, n - 1) : lookup(names, p, n);
        if (key < 0 || !key_queryable(key))
            return roster_err_set(err, ROSTER_EINVAL, "sort field \"%.*s\" is not sortable", (int)n,
                                  p);
        if (q->nsorts >= ROSTER_QUERY_MAX_SORTS)
            return roster_err_set(err, ROSTER_EINVAL, "too many sort fields (at most %d)",
                                  ROSTER_QUERY_MAX_SORTS);
        q->sorts[q->nsorts].key = key;
        q->sorts[q->nsorts].desc = desc;
        q->nsorts++;
        p += n;
    }
    return 0;
}
