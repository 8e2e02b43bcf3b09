/* PostgreSQL store: idempotency keys (include/roster/idem.h). A key is written by the effect
 * it was staged for, in that effect's transaction. Its primary key (org_id, scope,
 * idem_key) decides between two requests with one key: the second one's INSERT ... ON
 * CONFLICT waits for the first one's transaction, then finds its row live and writes
 * nothing (the effect then rolls back and core replays the first answer). An expired row
 * is replaced in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

int pg_idem_stage(struct roster_conn *pc, const struct roster_idem_rec *rec, struct roster_err *err)
{
    (void)err;
    pg_conn_of(pc)->idem = rec;
    return 0;
}

const struct roster_idem_rec *pg_idem_take(struct pg_conn *c)
{
    const struct roster_idem_rec *rec = c->idem;
    c->idem = NULL;
    return rec;
}

int pg_idem_write(struct pg_conn *c, const struct roster_idem_rec *rec, struct roster_err *err)
{
    if (!rec)
        return 0;
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    int code = pg_call_stmt(
        &q,
        PG_STMT(-1,
                "INSERT INTO idem_keys (org_id, scope, idem_key, req_hash, result, created_ms,"
                " expires_ms) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::bigint)"
                " ON CONFLICT (org_id, scope, idem_key) DO UPDATE SET req_hash = EXCLUDED.req_hash,"
                " result = EXCLUDED.result, created_ms = EXCLUDED.created_ms,"
                " expires_ms = EXCLUDED.expires_ms"
                " WHERE idem_keys.expires_ms <= EXCLUDED.created_ms",
                PG_S(rec->org_id), PG_S(rec->scope), PG_S(rec->key), PG_S(rec->req_hash),
                PG_S(rec->result ? rec->result : ""), PG_I(rec->created_ms), PG_I(rec->expires_ms)),
        err);
    if (!code && strcmp(PQcmdTuples(q.res), "0") == 0) {
        code = roster_err_set(err, ROSTER_ECONFLICT,
                              "Idempotency-Key \"%.64s\" is held by another request", rec->key);
        if (err)
            err->field = ROSTER_IDEM_FIELD;
    }
    return pg_call_end(&q, code);
}

int pg_idem_get(struct roster_conn *pc, const char *org_id, const char *scope, const char *key,
                int64_t now_ms, struct roster_idem_rec *out, struct roster_arena *a,
                struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_call q;
    pg_call_init(&q, c, a);
    int code = pg_call_stmt(&q,
                            PG_STMT(-1,
                                    "SELECT req_hash, result, created_ms, expires_ms FROM idem_keys"
                                    " WHERE org_id = $1 AND scope = $2 AND idem_key = $3"
                                    " AND expires_ms > $4::bigint",
                                    PG_S(org_id), PG_S(scope), PG_S(key), PG_I(now_ms)),
                            err);
    if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "Idempotency-Key \"%.64s\" not found", key);
    if (!code) {
        memset(out, 0, sizeof(*out));
        snprintf(out->org_id, sizeof(out->org_id), "%s", org_id);
        out->scope = roster_arena_strdup(a, scope);
        out->key = roster_arena_strdup(a, key);
        out->req_hash = pg_col_str(q.res, 0, 0, a);
        out->result = pg_col_str(q.res, 0, 1, a);
        out->created_ms = pg_col_int(q.res, 0, 2);
        out->expires_ms = pg_col_int(q.res, 0, 3);
        if (!out->result)
            out->result = "";
    }
    return pg_call_end(&q, code);
}

int pg_idem_purge(struct roster_conn *pc, int64_t before_ms, size_t max, size_t *n,
                  struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    *n = 0;
    int code = pg_call_stmt(
        &q,
        PG_WRITE(-1,
                 "DELETE FROM idem_keys WHERE (org_id, scope, idem_key) IN"
                 " (SELECT org_id, scope, idem_key FROM idem_keys WHERE expires_ms <= $1::bigint"
                 " LIMIT $2::bigint FOR UPDATE SKIP LOCKED)",
                 PG_I(before_ms), PG_I((int64_t)max)),
        err);
    if (!code)
        *n = (size_t)strtoull(PQcmdTuples(q.res), NULL, 10);
    return pg_call_end(&q, code);
}
