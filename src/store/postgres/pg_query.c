/* PostgreSQL store: parameters of statements written by the shared translator
 * (src/store/sqlgen.c), pages and counts of lists, and the methods of one statement
 * (pg_get, pg_select, pg_update), which most methods are.
 */
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/sqlgen.h"

void pg_args_sg(struct pg_args *p, const struct sg *g)
{
    pg_args_vals(p, g->nvals, g->vals);
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

int pg_call_stmt(struct pg_call *q, const struct pg_stmt *s, struct roster_err *err)
{
    pg_args_init(&q->p, q->a);
    pg_args_vals(&q->p, s->n, s->v);
    return s->write ? pg_call_write1(q, s->id, s->sql, err) : pg_call_run(q, s->id, s->sql, err);
}

int64_t pg_call_create(struct pg_call *q, struct pg_conn *c, char id[ROSTER_ID_LEN + 1])
{
    pg_call_init(q, c, NULL);
    if (!id[0])
        roster_id_new(id);
    return roster_now_ms();
}

int pg_get(struct pg_conn *c, const struct pg_stmt *s, const struct pg_rec *rec, const char *org_id,
           void *out, struct roster_arena *a, const char *what, const char *id,
           struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    int code = pg_call_stmt(&q, s, err);
    if (!code && PQntuples(q.res) != 1)
        code = !what ? ROSTER_ENOTFOUND
               : id  ? roster_err_set(err, ROSTER_ENOTFOUND, "%s \"%s\" not found", what, id)
                     : roster_err_set(err, ROSTER_ENOTFOUND, "%s not found", what);
    if (!code && rec)
        pg_read_rec(rec, q.res, 0, org_id, out, q.a);
    return pg_call_end(&q, code);
}

void *pg_select(struct pg_conn *c, const struct pg_stmt *s, const struct pg_rec *rec,
                const char *org_id, struct roster_arena *a, size_t *n, int *code,
                struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, a);
    *n = 0;
    *code = pg_call_stmt(&q, s, err);
    void *v = *code ? NULL : pg_read_rows(q.res, rec, org_id, a, n);
    pg_call_end(&q, *code);
    return v;
}

int pg_update(struct pg_conn *c, const struct pg_stmt *s, bool *none, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    int code = pg_call_stmt(&q, s, err);
    *none = !code && pg_call_none(&q);
    return pg_call_end(&q, code);
}

int pg_insert_fail(const PGresult *res, int code, const char *what, const char *id,
                   const char *org_id, struct roster_err *err)
{
    const char *state = pg_sqlstate(res);
    if (!strcmp(state, "23505"))
        return roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", what, id);
    if (org_id && !strcmp(state, "23503"))
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", org_id);
    return code;
}

void *pg_page_rows(struct pg_call *q, const struct pg_page *page, const struct pg_rec *rec,
                   const char *org_id, size_t *n, int *code, struct roster_err *err)
{
    struct roster_buf sql;
    roster_buf_init(&sql);
    void *v = NULL;
    *n = 0;
    *code = 0;
    if (page->total) {
        roster_buf_printf(&sql, "SELECT count(*) FROM %s", page->from);
        *code = pg_count(q->c, sql.data, &q->p, page->total, err);
    }
    if (!*code && page->limit != 0) {
        const char *lim = pg_query_page(&q->p, page->limit, page->skip);
        roster_buf_reset(&sql);
        roster_buf_printf(&sql, "SELECT %s FROM %s ORDER BY %s%s", page->cols, page->from,
                          page->order, lim);
        *code = pg_call_run(q, -1, sql.data, err);
        if (!*code)
            v = pg_read_rows(q->res, rec, org_id, q->a, n);
    }
    roster_buf_release(&sql);
    return v;
}
