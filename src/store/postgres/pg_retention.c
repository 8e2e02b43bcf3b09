/* PostgreSQL store: purging the input of finished bulk jobs (job_input_purge). A job's
 * chunks hold its input and its results in one row; the input becomes "[]". Chunks already
 * purged are told apart by the size of their input, which PostgreSQL reads from the value's
 * header without fetching a TOASTed value. */
#include <stdlib.h>

#include "store/postgres/pg_int.h"

int pg_job_input_purge(struct roster_conn *pc, int kind, int64_t before_ms, size_t max, size_t *n,
                       struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    *n = 0;
    pg_arg_int(&q.p, kind);
    pg_arg_int(&q.p, before_ms);
    pg_arg_int(&q.p, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    int code = pg_call_write1(
        &q, -1,
        "UPDATE chunks SET items_json = '[]' WHERE (job_id, chunk_no) IN ("
        " SELECT ch.job_id, ch.chunk_no FROM jobs AS j JOIN chunks AS ch ON ch.job_id = j.id"
        " WHERE j.kind = $1::int AND j.status = 2 AND j.updated_ms < $2::bigint"
        " AND octet_length(ch.items_json) > 2 LIMIT $3::bigint)",
        err);
    if (!code)
        *n = (size_t)strtoull(PQcmdTuples(q.res), NULL, 10);
    return pg_call_end(&q, code);
}
