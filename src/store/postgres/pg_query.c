/* PostgreSQL store: parameters of statements written by the shared translator
 * (src/store/sqlgen.c), pages and counts of lists.
 */
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/sqlgen.h"

void pg_args_sg(struct pg_args *p, const struct sg *g)
{
    for (size_t i = 0; i < g->nvals; i++) {
        if (g->vals[i].type == SG_INT)
            pg_arg_int(p, g->vals[i].i);
        else
            pg_arg_str(p, g->vals[i].s);
    }
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
