/* Helpers shared by the JumpCloud dialect's endpoints: the check of a JSON object body, and
 * the filter= parameter (<field>:<operator>:<value>, repeated or comma-joined) parsed into
 * the query AST with each endpoint's own table of field names.
 */
#include <string.h>

#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/jsonscan.h"

int jc_body_object(struct roster_req *r)
{
    struct roster_err err;
    roster_err_clear(&err);
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(r->body, r->body_len, r->ctx.arena, &spans, &n, &top, &err)) {
        roster_resp_error(r, 400, "%s", err.msg);
        return -1;
    }
    if (top != '{') {
        roster_resp_error(r, 400, "body must be a JSON object");
        return -1;
    }
    return 0;
}

/* true if s starts with "<a field name of names>:" */
static bool starts_with_field(const char *s, const struct roster_qname *names)
{
    for (const struct roster_qname *n = names; n->name; n++) {
        size_t len = strlen(n->name);
        if (strncmp(s, n->name, len) == 0 && s[len] == ':')
            return true;
    }
    return false;
}

/* Rewrites a v1-style operator ("username:$eq:jdoe", "$gte", "$lte") into the v2 grammar
 * that roster_filter_parse reads; other expressions are returned unchanged. */
static const char *v1_operator(struct roster_arena *a, const char *expr)
{
    const char *c1 = strchr(expr, ':');
    if (!c1 || c1[1] != '$')
        return expr;
    const char *op = c1 + 2, *c2 = strchr(op, ':');
    if (!c2)
        return expr;
    size_t oplen = (size_t)(c2 - op);
    if (oplen == 3 && strncmp(op, "gte", 3) == 0)
        op = "ge", oplen = 2;
    else if (oplen == 3 && strncmp(op, "lte", 3) == 0)
        op = "le", oplen = 2;
    return roster_arena_printf(a, "%.*s:%.*s%s", (int)(c1 - expr), expr, (int)oplen, op, c2);
}

int jc_filter_add(struct roster_query *q, const char *val, const struct roster_qname *names,
                  unsigned flags, struct roster_arena *a, struct roster_err *err)
{
    const char *start = val;
    for (;;) {
        const char *comma = strchr(start, ',');
        while (comma && !starts_with_field(comma + 1, names))
            comma = strchr(comma + 1, ',');
        size_t n = comma ? (size_t)(comma - start) : strlen(start);
        if (n > 0) {
            const char *expr = roster_arena_strndup(a, start, n);
            if (flags & JC_FILTER_V1_OPS)
                expr = v1_operator(a, expr);
            int rc = roster_filter_parse(q, expr, names, a, err);
            if (rc)
                return rc;
        }
        if (!comma)
            return 0;
        start = comma + 1;
    }
}
