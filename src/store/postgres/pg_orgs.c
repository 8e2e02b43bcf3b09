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

static void read_org(const PGresult *r, int row, struct roster_org *o, struct roster_arena *a)
{
    memset(o, 0, sizeof(*o));
    o->num_id = pg_col_int(r, row, 0);
    pg_col_id(r, row, 1, o->id);
    o->name = pg_col_str(r, row, 2, a);
    o->address = pg_col_str(r, row, 3, a);
    o->city = pg_col_str(r, row, 4, a);
    o->region = pg_col_str(r, row, 5, a);
    o->zip = pg_col_str(r, row, 6, a);
    o->country = pg_col_str(r, row, 7, a);
    o->default_state_bulk = (int)pg_col_int(r, row, 8);
    o->default_state_app_import = (int)pg_col_int(r, row, 9);
    o->default_state_manual = (int)pg_col_int(r, row, 10);
    o->created_ms = pg_col_int(r, row, 11);
}

/* adds name .. default_state_manual as $2..$10 */
static void org_args(struct pg_args *p, const struct roster_org *o)
{
    pg_arg_str(p, o->name);
    pg_arg_str(p, o->address);
    pg_arg_str(p, o->city);
    pg_arg_str(p, o->region);
    pg_arg_str(p, o->zip);
    pg_arg_str(p, o->country);
    pg_arg_int(p, o->default_state_bulk);
    pg_arg_int(p, o->default_state_app_import);
    pg_arg_int(p, o->default_state_manual);
}

int pg_org_create(struct roster_conn *pc, struct roster_org *org, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    if (!org->id[0])
        roster_id_new(org->id);
    int64_t now = roster_now_ms();
    pg_arg_str(&q.p, org->id);
    org_args(&q.p, org);
    pg_arg_int(&q.p, now);
    int code = pg_call_write1(&q, -1,
                              "INSERT INTO orgs (id, name, address, city, region, zip, country,"
                              " default_state_bulk, default_state_app_import,"
                              " default_state_manual, created_ms)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                              " RETURNING num_id",
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
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, org_id);
    int code = pg_call_run(&q, -1, "SELECT " ORG_COLS " FROM orgs WHERE id = $1", err);
    if (!code && PQntuples(q.res) == 1)
        read_org(q.res, 0, out, a);
    else if (!code)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    return pg_call_end(&q, code);
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
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    *out = NULL;
    *n = 0;
    int code = pg_call_run(&q, -1, "SELECT " ORG_COLS " FROM orgs ORDER BY num_id", err);
    if (!code) {
        struct roster_org *v = pg_rows(q.res, a, sizeof(*v), n);
        for (size_t i = 0; i < *n; i++)
            read_org(q.res, (int)i, &v[i], a);
        *out = v;
    }
    return pg_call_end(&q, code);
}

int pg_org_update(struct roster_conn *pc, const struct roster_org *org, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, org->id);
    org_args(&q.p, org);
    int code = pg_call_write1(&q, -1,
                              "UPDATE orgs SET name = $2, address = $3, city = $4, region = $5,"
                              " zip = $6, country = $7, default_state_bulk = $8,"
                              " default_state_app_import = $9, default_state_manual = $10"
                              " WHERE id = $1",
                              err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", org->id);
    return pg_call_end(&q, code);
}

static void read_key(const PGresult *r, int row, struct roster_key *k, struct roster_arena *a)
{
    memset(k, 0, sizeof(*k));
    pg_col_id(r, row, 0, k->id);
    pg_col_id(r, row, 1, k->org_id);
    k->name = pg_col_str(r, row, 2, a);
    snprintf(k->hash, sizeof(k->hash), "%s", PQgetvalue(r, row, 3));
    k->all_orgs = pg_col_int(r, row, 4) != 0;
    k->created_ms = pg_col_int(r, row, 5);
    k->revoked_ms = pg_col_int(r, row, 6); /* NULL reads as 0 = active */
}

int pg_key_create(struct roster_conn *pc, struct roster_key *key, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    if (!key->id[0])
        roster_id_new(key->id);
    int64_t now = roster_now_ms();
    pg_arg_str(&q.p, key->id);
    pg_arg_str(&q.p, key->org_id);
    pg_arg_str(&q.p, key->name);
    pg_arg_str(&q.p, key->hash);
    pg_arg_str(&q.p, key->all_orgs ? "true" : "false");
    pg_arg_int(&q.p, now);
    if (key->revoked_ms)
        pg_arg_int(&q.p, key->revoked_ms);
    else
        pg_arg_str(&q.p, NULL);
    int code = pg_call_write1(&q, -1,
                              "INSERT INTO api_keys (id, org_id, name, hash, all_orgs, created_ms,"
                              " revoked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, hash_hex);
    int code = pg_call_run(
        &q, PG_KEY_FIND, "SELECT " KEY_COLS " FROM api_keys WHERE hash = $1 AND revoked_ms IS NULL",
        err);
    if (!code && PQntuples(q.res) == 1)
        read_key(q.res, 0, out, a);
    else if (!code)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "api key not found");
    return pg_call_end(&q, code);
}

int pg_key_list(struct roster_conn *pc, struct roster_arena *a, struct roster_key **out, size_t *n,
                struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    *out = NULL;
    *n = 0;
    int code = pg_call_run(&q, -1, "SELECT " KEY_COLS " FROM api_keys ORDER BY num_id", err);
    if (!code) {
        struct roster_key *v = pg_rows(q.res, a, sizeof(*v), n);
        for (size_t i = 0; i < *n; i++)
            read_key(q.res, (int)i, &v[i], a);
        *out = v;
    }
    return pg_call_end(&q, code);
}

/* Revoking a key that is already revoked succeeds and keeps the first
 * revocation time. */
int pg_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, key_id);
    pg_arg_int(&q.p, roster_now_ms());
    int code = pg_call_write1(
        &q, -1, "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $2) WHERE id = $1", err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "key \"%s\" not found", key_id ? key_id : "");
    return pg_call_end(&q, code);
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
