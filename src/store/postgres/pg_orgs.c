/* PostgreSQL store: organisations and API keys. Small tables written by admin
 * commands and read on every request (key_find, through a prepared statement).
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

#define ORG_COLS                                                                                   \
    "num_id, id, name, address, city, region, zip, country, default_state_bulk,"                   \
    " default_state_app_import, default_state_manual, created_ms"
#define KEY_COLS "id, org_id, name, hash, all_orgs, created_ms, revoked_ms"

/* A failed insert (code, err set) of an org or key: duplicate id/hash, or a key for a
 * missing org; any other failure stays as it is. */
static int write_fail(const PGresult *res, const char *what, const char *id, const char *org_id,
                      int code, struct roster_err *err)
{
    const char *state = pg_sqlstate(res);
    if (!strcmp(state, "23505")) {
        const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        if (cons && strstr(cons, "hash"))
            roster_err_set(err, ROSTER_ECONFLICT, "%s with this secret already exists", what);
        else
            roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", what, id);
        if (err)
            err->field = "id";
        return roster_err_detail(err, "postgres: %s", PQresultErrorMessage(res));
    }
    if (!strcmp(state, "23503"))
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    return code;
}

#define O(kind, field) PG_COL(kind, struct roster_org, field)
static const struct pg_col org_cols[] = {O(PG_I64, num_id),
                                         O(PG_BUF, id),
                                         O(PG_STR, name),
                                         O(PG_STR, address),
                                         O(PG_STR, city),
                                         O(PG_STR, region),
                                         O(PG_STR, zip),
                                         O(PG_STR, country),
                                         O(PG_INT, default_state_bulk),
                                         O(PG_INT, default_state_app_import),
                                         O(PG_INT, default_state_manual),
                                         O(PG_I64, created_ms)};
#undef O
/* a row of ORG_COLS */
static const struct pg_rec org_rec = PG_REC(struct roster_org, org_cols, -1);

/* the values of name .. default_state_manual, as $2..$10 */
#define ORG_VALS(o)                                                                                \
    PG_S((o)->name), PG_S((o)->address), PG_S((o)->city), PG_S((o)->region), PG_S((o)->zip),       \
        PG_S((o)->country), PG_I((o)->default_state_bulk), PG_I((o)->default_state_app_import),    \
        PG_I((o)->default_state_manual)

int pg_org_create(struct roster_conn *pc, struct roster_org *org, struct roster_err *err)
{
    struct pg_call q;
    int64_t now = pg_call_create(&q, pg_conn_of(pc), org->id);
    int code = pg_call_stmt(&q,
                            PG_WRITE(-1,
                                     "INSERT INTO orgs (id, name, address, city, region, zip,"
                                     " country, default_state_bulk, default_state_app_import,"
                                     " default_state_manual, created_ms)"
                                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                                     " RETURNING num_id",
                                     PG_S(org->id), ORG_VALS(org), PG_I(now)),
                            err);
    if (code) {
        code = write_fail(q.res, "organization", org->id, NULL, code, err);
    } else {
        org->num_id = pg_col_int(q.res, 0, 0);
        org->created_ms = now;
    }
    return pg_call_end(&q, code);
}

int pg_org_get(struct roster_conn *pc, const char *org_id, struct roster_org *out,
               struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(-1, "SELECT " ORG_COLS " FROM orgs WHERE id = $1", PG_S(org_id)),
                  &org_rec, org_id, out, a, "organization", org_id ? org_id : "", err);
}

int pg_org_num(struct pg_conn *c, const char *org_id, int64_t *num, struct roster_arena *a,
               struct roster_err *err)
{
    *num = 0;
    for (size_t i = 0; i < sizeof(c->orgs) / sizeof(c->orgs[0]); i++)
        if (c->orgs[i].num && strcmp(c->orgs[i].id, org_id ? org_id : "") == 0) {
            *num = c->orgs[i].num;
            return 0;
        }
    struct pg_call q;
    pg_call_init(&q, c, a);
    pg_arg_str(&q.p, org_id);
    int code = pg_call_run(&q, PG_ORG_NUM, "SELECT num_id FROM orgs WHERE id = $1", err);
    if (!code && PQntuples(q.res) == 1)
        *num = pg_col_int(q.res, 0, 0);
    pg_call_end(&q, code);
    /* kept only when read outside a write transaction (it is committed, then) */
    bool committed = !c->method_txn && (!c->in_txn || c->snapshot);
    if (!code && *num && committed && strlen(org_id) <= ROSTER_ID_LEN) {
        unsigned k = c->org_next++ % (sizeof(c->orgs) / sizeof(c->orgs[0]));
        snprintf(c->orgs[k].id, sizeof(c->orgs[k].id), "%s", org_id);
        c->orgs[k].num = *num;
    }
    return code;
}

int pg_org_list(struct roster_conn *pc, struct roster_arena *a, struct roster_org **out, size_t *n,
                struct roster_err *err)
{
    int code;
    *out = pg_select(pg_conn_of(pc), PG_SQL(-1, "SELECT " ORG_COLS " FROM orgs ORDER BY num_id"),
                     &org_rec, NULL, a, n, &code, err);
    return code;
}

int pg_org_update(struct roster_conn *pc, const struct roster_org *org, struct roster_err *err)
{
    bool none;
    int code = pg_update(pg_conn_of(pc),
                         PG_WRITE(-1,
                                  "UPDATE orgs SET name = $2, address = $3, city = $4, region = $5,"
                                  " zip = $6, country = $7, default_state_bulk = $8,"
                                  " default_state_app_import = $9, default_state_manual = $10"
                                  " WHERE id = $1",
                                  PG_S(org->id), ORG_VALS(org)),
                         &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", org->id);
    return code;
}

#define K(kind, field) PG_COL(kind, struct roster_key, field)
static const struct pg_col key_cols[] = {K(PG_BUF, id),        K(PG_BUF, org_id),
                                         K(PG_STR, name),      K(PG_BUF, hash),
                                         K(PG_BOOL, all_orgs), K(PG_I64, created_ms),
                                         K(PG_I64, revoked_ms) /* NULL reads as 0 = active */};
#undef K
/* a row of KEY_COLS */
static const struct pg_rec key_rec = PG_REC(struct roster_key, key_cols, -1);

int pg_key_create(struct roster_conn *pc, struct roster_key *key, struct roster_err *err)
{
    struct pg_call q;
    int64_t now = pg_call_create(&q, pg_conn_of(pc), key->id);
    int code =
        pg_call_stmt(&q,
                     PG_WRITE(-1,
                              "INSERT INTO api_keys (id, org_id, name, hash, all_orgs,"
                              " created_ms, revoked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              PG_S(key->id), PG_S(key->org_id), PG_S(key->name), PG_S(key->hash),
                              PG_S(key->all_orgs ? "true" : "false"), PG_I(now),
                              key->revoked_ms ? PG_I(key->revoked_ms) : PG_S(NULL)),
                     err);
    if (code)
        code = write_fail(q.res, "key", key->id, key->org_id, code, err);
    else
        key->created_ms = now;
    return pg_call_end(&q, code);
}

int pg_key_find(struct roster_conn *pc, const char *hash_hex, struct roster_key *out,
                struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(PG_KEY_FIND,
                          "SELECT " KEY_COLS
                          " FROM api_keys WHERE hash = $1 AND revoked_ms IS NULL",
                          PG_S(hash_hex)),
                  &key_rec, NULL, out, a, "api key", NULL, err);
}

int pg_key_list(struct roster_conn *pc, struct roster_arena *a, struct roster_key **out, size_t *n,
                struct roster_err *err)
{
    int code;
    *out =
        pg_select(pg_conn_of(pc), PG_SQL(-1, "SELECT " KEY_COLS " FROM api_keys ORDER BY num_id"),
                  &key_rec, NULL, a, n, &code, err);
    return code;
}

/* Revoking a key that is already revoked succeeds and keeps the first
 * revocation time. */
int pg_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    bool none;
    int code = pg_update(
        pg_conn_of(pc),
        PG_WRITE(-1, "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $2) WHERE id = $1",
                 PG_S(key_id), PG_I(roster_now_ms())),
        &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "key \"%s\" not found", key_id ? key_id : "");
    return code;
}

int pg_ping(struct roster_conn *pc, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    roster_arena_init(&a, 256);
    struct pg_args p;
    pg_args_init(&p, &a);
    PGresult *res = NULL;
    int code = pg_run_dyn(c, "SELECT 1 FROM orgs LIMIT 1", &p, &res, err);
    PQclear(res);
    roster_arena_release(&a);
    return code;
}
