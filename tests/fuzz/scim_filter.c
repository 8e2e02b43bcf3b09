/* The SCIM filter grammar (src/dialect/scim/filter.c) and its translations: any bytes either
 * parse or answer ROSTER_EINVAL naming what was wrong. A parsed filter, printed back as
 * filter text (canonical: parentheses around every and/or operand), parses again to the
 * same tree (the same dump). The /Users translation either fails with ROSTER_EINVAL or
 * gives a query inside its bounds (filters, expression nodes and depth, keys, operators,
 * values); the /Groups one likewise. */
#include "dialect/scim/filter.h"
#include "fuzz.h"
#include "roster/list.h"

static void expect_einval(int rc, const struct roster_err *err)
{
    FUZZ_CHECK(rc == 0 || (rc == ROSTER_EINVAL && err->code == ROSTER_EINVAL && err->msg[0]));
}

static void put_leaf(struct roster_buf *b, const struct scim_fnode *n)
{
    roster_buf_addstr(b, n->path.raw);
    if (n->kind == SCIM_F_PR) {
        roster_buf_addstr(b, " pr");
        return;
    }
    roster_buf_printf(b, " %s ", scim_cmpop_names[n->op]);
    scim_filter_put_value(b, n);
}

static void print(struct roster_buf *b, const struct scim_fnode *n)
{
    switch (n->kind) {
    case SCIM_F_AND:
    case SCIM_F_OR:
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                roster_buf_addstr(b, n->kind == SCIM_F_AND ? " and " : " or ");
            bool paren = n->kids[i]->kind == SCIM_F_AND || n->kids[i]->kind == SCIM_F_OR;
            if (paren)
                roster_buf_addch(b, '(');
            print(b, n->kids[i]);
            if (paren)
                roster_buf_addch(b, ')');
        }
        break;
    case SCIM_F_NOT:
        roster_buf_addstr(b, "not (");
        print(b, n->kids[0]);
        roster_buf_addch(b, ')');
        break;
    case SCIM_F_VALPATH: {
        roster_buf_printf(b, "%s[", n->path.raw);
        print(b, n->kids[0]);
        roster_buf_addch(b, ']');
        if (n->sub) {
            roster_buf_printf(b, ".%s", n->sub->path.sub);
            /* the leaf without its path */
            struct roster_buf t;
            roster_buf_init(&t);
            put_leaf(&t, n->sub);
            const char *sp = strchr(t.data, ' ');
            roster_buf_addstr(b, sp ? sp : "");
            roster_buf_release(&t);
        }
        break;
    }
    default:
        put_leaf(b, n);
        break;
    }
}

static size_t expr_check(const struct roster_qnode *n, int depth)
{
    FUZZ_CHECK(depth <= ROSTER_QUERY_MAX_DEPTH);
    FUZZ_CHECK(n->kind >= ROSTER_QN_FILTER && n->kind <= ROSTER_QN_FALSE);
    size_t count = 1;
    if (n->kind == ROSTER_QN_FILTER) {
        const struct roster_filter *f = &n->f;
        FUZZ_CHECK(f->key >= 0 && f->key < RQ_NKEYS);
        FUZZ_CHECK(f->op >= ROSTER_OP_EQ && f->op <= ROSTER_OP_PRESENT);
        FUZZ_CHECK(f->op == ROSTER_OP_PRESENT || (f->nvals == 1 && f->vals));
        FUZZ_CHECK(f->op == ROSTER_OP_PRESENT || roster_qkey_is_int(f->key) || f->vals[0].s);
        FUZZ_CHECK(n->nkids == 0);
    }
    if (n->kind == ROSTER_QN_NOT)
        FUZZ_CHECK(n->nkids == 1);
    for (size_t i = 0; i < n->nkids; i++)
        count += expr_check(n->kids[i], depth + 1);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct roster_err err = {0};
    struct scim_fnode *root = NULL;
    int rc = scim_filter_parse(text, &a, &root, &err);
    expect_einval(rc, &err);
    if (rc == 0) {
        FUZZ_CHECK(root);
        struct roster_buf d1, printed, d2;
        roster_buf_init(&d1);
        roster_buf_init(&printed);
        roster_buf_init(&d2);
        scim_filter_dump(root, &d1);
        print(&printed, root);
        roster_buf_addch(&printed, '\0');
        struct scim_fnode *again = NULL;
        struct roster_err err2 = {0};
        int rc2 = scim_filter_parse(printed.data, &a, &again, &err2);
        if (rc2 != 0)
            fprintf(stderr, "reparse of \"%s\": %s\n", printed.data, err2.msg);
        /* the canonical text may nest deeper than the input (its parentheses) or be longer */
        FUZZ_CHECK(rc2 == 0 || strstr(err2.msg, "nested more than") ||
                   strstr(err2.msg, "longer than"));
        if (rc2 == 0) {
            scim_filter_dump(again, &d2);
            FUZZ_CHECK(d1.len == d2.len && memcmp(d1.data, d2.data, d1.len) == 0);
        }
        roster_buf_release(&d1);
        roster_buf_release(&printed);
        roster_buf_release(&d2);
    }
    /* /Users: a query inside its bounds */
    struct roster_query q;
    roster_query_init(&q);
    struct roster_err err3 = {0};
    rc = scim_users_filter(&q, text, &a, &err3);
    expect_einval(rc, &err3);
    if (rc == 0) {
        FUZZ_CHECK(q.nfilters <= ROSTER_QUERY_MAX_FILTERS);
        for (size_t i = 0; i < q.nfilters; i++) {
            struct roster_qnode leaf = {ROSTER_QN_FILTER, q.filters[i], NULL, 0};
            expr_check(&leaf, 0);
        }
        if (q.expr)
            FUZZ_CHECK(expr_check(q.expr, 0) <= ROSTER_QUERY_MAX_NODES);
        /* the in-memory test of a list runs on any user */
        struct roster_user u;
        memset(&u, 0, sizeof(u));
        u.f[RU_USERNAME] = "bob";
        (void)roster_list_match(&q, &u, NULL, 0);
        size_t klen = 0;
        FUZZ_CHECK(roster_list_key(&q, &a, &klen) != NULL);
    }
    /* /Groups */
    struct scim_group_filter g;
    struct roster_err err4 = {0};
    expect_einval(scim_groups_filter(&g, text, &a, &err4), &err4);
    roster_arena_release(&a);
    free(text);
    return 0;
}
