/* The filter grammar: JumpCloud's filter= parameter (jc_filter_add: repeated or comma-joined
 * <field>:<operator>:<value> expressions, with and without the v1 "$eq" spellings) and its
 * sort= parameter (roster_sort_parse), over the field names of /api/systemusers. Input: the
 * filter value, '\n', the sort spec. Either each call succeeds with a query inside its
 * bounds, or it answers ROSTER_EINVAL naming what was wrong. */
#include "dialect/jumpcloud/jumpcloud.h"
#include "fuzz.h"

static void check_query(const struct roster_query *q)
{
    FUZZ_CHECK(q->nfilters <= ROSTER_QUERY_MAX_FILTERS && q->nsorts <= ROSTER_QUERY_MAX_SORTS);
    for (size_t i = 0; i < q->nfilters; i++) {
        const struct roster_filter *f = &q->filters[i];
        FUZZ_CHECK(f->key >= 0 && f->key < RQ_NKEYS);
        FUZZ_CHECK(f->op >= ROSTER_OP_EQ && f->op <= ROSTER_OP_PREFIX);
        FUZZ_CHECK(f->nvals >= 1 && f->vals);
        FUZZ_CHECK(f->op != ROSTER_OP_BETWEEN || f->nvals == 2);
        for (size_t k = 0; k < f->nvals; k++)
            FUZZ_CHECK(roster_qkey_is_int(f->key) || f->vals[k].s);
    }
    for (size_t i = 0; i < q->nsorts; i++)
        FUZZ_CHECK(q->sorts[i].key >= 0 && q->sorts[i].key < RQ_NKEYS);
}

static void expect_einval(int rc, const struct roster_err *err)
{
    FUZZ_CHECK(rc == 0 || (rc == ROSTER_EINVAL && err->code == ROSTER_EINVAL && err->msg[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *filter;
    const uint8_t *rest;
    size_t rest_len;
    fuzz_split(data, size, &filter, &rest, &rest_len);
    char *sort = fuzz_cstr(rest, rest_len);
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    for (unsigned flags = 0; flags <= JC_FILTER_V1_OPS; flags++) {
        struct roster_query q;
        roster_query_init(&q);
        struct roster_err err = {0};
        int rc = jc_filter_add(&q, filter, jc_user_qnames, flags, &a, &err);
        expect_einval(rc, &err);
        check_query(&q);
        struct roster_err err2 = {0};
        rc = roster_sort_parse(&q, sort, jc_user_qnames, &a, &err2);
        expect_einval(rc, &err2);
        check_query(&q);
    }
    /* the raw grammar of one expression, without the comma splitting */
    struct roster_query q;
    roster_query_init(&q);
    struct roster_err err = {0};
    expect_einval(roster_filter_parse(&q, filter, jc_user_qnames, &a, &err), &err);
    check_query(&q);
    roster_arena_release(&a);
    free(filter);
    free(sort);
    return 0;
}
