/* PostgreSQL store: translation of the filters of a struct roster_query
 * (include/roster/query.h) into SQL " AND ..." clauses whose values are all
 * parameters, with the SQLite store's semantics: NE matches NULL, PREFIX
 * compares bytes, SEARCH folds ASCII case (the columns are COLLATE "C").
 */
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

/* Appends v as the next parameter; returns its SQL ("$n::bigint" or
 * "$n::text"). */
static const char *add_value(struct pg_query *q, int key, const struct roster_qval *v)
{
    if (roster_qkey_is_int(key)) {
        pg_arg_int(&q->args, v->i);
        return roster_arena_printf(q->a, "$%zu::bigint", q->args.n);
    }
    pg_arg_str(&q->args, v->s);
    return roster_arena_printf(q->a, "$%zu::text", q->args.n);
}

int pg_query_add_filter(struct pg_query *q, const struct roster_filter *f, struct roster_err *err)
{
    static const char *const cmp[] = {
        [ROSTER_OP_EQ] = "=", [ROSTER_OP_NE] = "IS DISTINCT FROM",
        [ROSTER_OP_GT] = ">", [ROSTER_OP_GE] = ">=",
        [ROSTER_OP_LT] = "<", [ROSTER_OP_LE] = "<=",
    };
    const char *col = q->column(f->key);
    if (!col)
        return roster_err_set(err, ROSTER_EINVAL, "unknown filter field %d", f->key);
    size_t need = f->op == ROSTER_OP_BETWEEN ? 2 : 1;
    if (f->nvals < need || !f->vals)
        return roster_err_set(err, ROSTER_EINVAL, "filter on \"%s\" needs %zu value%s", col, need,
                              need > 1 ? "s" : "");
    switch (f->op) {
    case ROSTER_OP_EQ:
    case ROSTER_OP_NE:
    case ROSTER_OP_GT:
    case ROSTER_OP_GE:
    case ROSTER_OP_LT:
    case ROSTER_OP_LE: {
        const char *v = add_value(q, f->key, &f->vals[0]);
        roster_buf_printf(&q->where, " AND %s %s %s", col, cmp[f->op], v);
        if (f->op == ROSTER_OP_EQ && (f->key == RU_USERNAME || f->key == RU_EMAIL))
            /* implied by the exact match; lets PostgreSQL use the unique lower() index */
            roster_buf_printf(&q->where, " AND lower(%s) = lower(%s)", col, v);
        break;
    }
    case ROSTER_OP_BETWEEN: {
        const char *lo = add_value(q, f->key, &f->vals[0]);
        const char *hi = add_value(q, f->key, &f->vals[1]);
        roster_buf_printf(&q->where, " AND %s BETWEEN %s AND %s", col, lo, hi);
        break;
    }
    case ROSTER_OP_IN:
        roster_buf_printf(&q->where, " AND %s IN (", col);
        for (size_t i = 0; i < f->nvals; i++)
            roster_buf_printf(&q->where, "%s%s", i ? ", " : "", add_value(q, f->key, &f->vals[i]));
        roster_buf_addch(&q->where, ')');
        break;
    case ROSTER_OP_SEARCH:
        if (roster_qkey_is_int(f->key))
            return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" does not support search", col);
        pg_arg_str(&q->args, f->vals[0].s ? f->vals[0].s : "");
        roster_buf_printf(&q->where, " AND strpos(lower(%s), lower($%zu::text)) > 0", col,
                          q->args.n);
        break;
    case ROSTER_OP_PREFIX:
        if (roster_qkey_is_int(f->key))
            return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" does not support prefix", col);
        pg_arg_str(&q->args, f->vals[0].s ? f->vals[0].s : "");
        roster_buf_printf(&q->where, " AND starts_with(%s, $%zu::text)", col, q->args.n);
        break;
    default:
        return roster_err_set(err, ROSTER_EINVAL, "unknown filter operator %d", f->op);
    }
    return 0;
}

const char *pg_query_page(struct pg_args *p, int64_t limit, int64_t skip)
{
    if (limit < 0)
        pg_arg_str(p, NULL); /* LIMIT NULL: no limit */
    else
        pg_arg_int(p, limit);
    pg_arg_int(p, skip > 0 ? skip : 0);
    return roster_arena_printf(p->a, " LIMIT $%zu::bigint OFFSET $%zu::bigint", p->n - 1, p->n);
}

int pg_count(struct pg_conn *c, const char *sql, const struct pg_args *p, int64_t *total,
             struct roster_err *err)
{
    PGresult *res = NULL;
    int code = pg_run(c, -1, sql, p, &res, err);
    if (!code)
        *total = pg_col_int(res, 0, 0);
    PQclear(res);
    return code;
}
