/* SQLite store: translation of the filters of a struct roster_query (include/roster/query.h)
 * into SQL " AND ..." clauses whose values are all bound parameters. Shared by user_list
 * and schedule_list; each passes its own mapping of query keys to columns.
 */
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

void sq_query_add_bind(struct sq_query *q, bool is_int, int64_t i, const char *s)
{
    if (q->nbinds == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        struct sq_qbind *nb = roster_arena_alloc(q->a, cap * sizeof(*nb));
        if (q->nbinds)
            memcpy(nb, q->binds, q->nbinds * sizeof(*nb));
        q->binds = nb;
        q->cap = cap;
    }
    q->binds[q->nbinds++] = (struct sq_qbind){is_int, i, s};
}

static void add_value(struct sq_query *q, int key, const struct roster_qval *v)
{
    if (roster_qkey_is_int(key))
        sq_query_add_bind(q, true, v->i, NULL);
    else
        sq_query_add_bind(q, false, 0, v->s);
}

/* The smallest string greater than every string that starts with prefix (binary order):
 * the prefix with its last byte below 0xff incremented; NULL if there is none. */
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

int sq_query_add_filter(struct sq_query *q, const struct roster_filter *f, struct roster_err *err)
{
    static const char *const cmp[] = {
        [ROSTER_OP_EQ] = "=",  [ROSTER_OP_NE] = "IS NOT", [ROSTER_OP_GT] = ">",
        [ROSTER_OP_GE] = ">=", [ROSTER_OP_LT] = "<",      [ROSTER_OP_LE] = "<=",
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
    case ROSTER_OP_LE:
        roster_buf_printf(&q->where, " AND %s %s ?", col, cmp[f->op]);
        add_value(q, f->key, &f->vals[0]);
        if (f->op == ROSTER_OP_EQ && (f->key == RU_USERNAME || f->key == RU_EMAIL)) {
            /* implied by the exact match; lets SQLite find the row through the unique
             * NOCASE index of the column instead of scanning the organisation */
            roster_buf_printf(&q->where, " AND %s = ? COLLATE NOCASE", col);
            add_value(q, f->key, &f->vals[0]);
        }
        break;
    case ROSTER_OP_BETWEEN:
        roster_buf_printf(&q->where, " AND %s BETWEEN ? AND ?", col);
        add_value(q, f->key, &f->vals[0]);
        add_value(q, f->key, &f->vals[1]);
        break;
    case ROSTER_OP_IN:
        roster_buf_printf(&q->where, " AND %s IN (", col);
        for (size_t i = 0; i < f->nvals; i++) {
            roster_buf_addstr(&q->where, i ? ", ?" : "?");
            add_value(q, f->key, &f->vals[i]);
        }
        roster_buf_addch(&q->where, ')');
        break;
    case ROSTER_OP_SEARCH:
        if (roster_qkey_is_int(f->key))
            return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" does not support search", col);
        roster_buf_printf(&q->where, " AND instr(lower(%s), lower(?)) > 0", col);
        sq_query_add_bind(q, false, 0, f->vals[0].s ? f->vals[0].s : "");
        break;
    case ROSTER_OP_PREFIX: {
        if (roster_qkey_is_int(f->key))
            return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" does not support prefix", col);
        /* a range, not LIKE, so that an index on the column can serve it */
        const char *lo = f->vals[0].s ? f->vals[0].s : "";
        const char *hi = prefix_end(lo, q->a);
        roster_buf_printf(&q->where, " AND %s >= ?", col);
        sq_query_add_bind(q, false, 0, lo);
        if (hi) {
            roster_buf_printf(&q->where, " AND %s < ?", col);
            sq_query_add_bind(q, false, 0, hi);
        }
        break;
    }
    default:
        return roster_err_set(err, ROSTER_EINVAL, "unknown filter operator %d", f->op);
    }
    return 0;
}

int sq_query_bind_all(struct sq_conn *c, sqlite3_stmt *s, int64_t org_num, const struct sq_query *q,
                      struct roster_err *err)
{
    int rc = sqlite3_bind_int64(s, 1, org_num);
    for (size_t i = 0; rc == SQLITE_OK && i < q->nbinds; i++) {
        const struct sq_qbind *b = &q->binds[i];
        rc = b->is_int ? sqlite3_bind_int64(s, (int)i + 2, b->i) : sq_bind_str(s, (int)i + 2, b->s);
    }
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, err);
}

int sq_query_count(struct sq_conn *c, const char *sql, int64_t org_num, const struct sq_query *q,
                   int64_t *total, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, sql, &s, err);
    if (!code)
        code = sq_query_bind_all(c, s, org_num, q, err);
    if (!code) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            *total = sqlite3_column_int64(s, 0);
        else
            code = sq_fail(c, rc, err);
    }
    sqlite3_finalize(s);
    return code;
}
