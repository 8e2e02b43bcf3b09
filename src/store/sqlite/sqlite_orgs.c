/* SQLite store: organisations and API keys. These are small tables written by admin
 * commands and read on every request (key_find, through a cached statement).
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define ORG_COLS SQ_ORG_COLS
#define KEY_COLS "id, org_id, name, hash, all_orgs, created_ms, revoked_ms"

/* A failed insert of an org or key: duplicate id/hash, or a key for a missing org. */
static int write_fail(struct sq_conn *c, int rc, const char *what, const char *id,
                      const char *org_id, struct roster_err *err)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        const char *msg = sqlite3_errmsg(c->db);
        if (strstr(msg, ".hash"))
            roster_err_set(err, ROSTER_ECONFLICT, "%s with this secret already exists", what);
        else
            roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", what, id);
        if (err)
            err->field = "id";
        return roster_err_detail(err, "sqlite: %s", msg);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    return sq_fail(c, rc, err);
}

static void read_org(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_org *o = row;
    (void)ctx;
    memset(o, 0, sizeof(*o));
    o->num_id = sqlite3_column_int64(s, 0);
    sq_col_id(s, 1, o->id);
    o->name = sq_col_str(s, 2, a);
    o->address = sq_col_str(s, 3, a);
    o->city = sq_col_str(s, 4, a);
    o->region = sq_col_str(s, 5, a);
    o->zip = sq_col_str(s, 6, a);
    o->country = sq_col_str(s, 7, a);
    o->default_state_bulk = sqlite3_column_int(s, 8);
    o->default_state_app_import = sqlite3_column_int(s, 9);
    o->default_state_manual = sqlite3_column_int(s, 10);
    o->created_ms = sqlite3_column_int64(s, 11);
}

/* binds name .. default_state_manual at 2..10 */
static void bind_org_fields(sqlite3_stmt *s, const struct roster_org *o)
{
    sq_bind_str(s, 2, o->name);
    sq_bind_str(s, 3, o->address);
    sq_bind_str(s, 4, o->city);
    sq_bind_str(s, 5, o->region);
    sq_bind_str(s, 6, o->zip);
    sq_bind_str(s, 7, o->country);
    sqlite3_bind_int(s, 8, o->default_state_bulk);
    sqlite3_bind_int(s, 9, o->default_state_app_import);
    sqlite3_bind_int(s, 10, o->default_state_manual);
}

int sq_org_create(struct roster_conn *pc, struct roster_org *org, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    if (!org->id[0])
        roster_id_new(org->id);
    int64_t now = roster_now_ms();
    int code = sq_prepare(c,
                          "INSERT INTO orgs (id, name, address, city, region, zip, country,"
                          " default_state_bulk, default_state_app_import, default_state_manual,"
                          " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                          &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, org->id);
    bind_org_fields(s, org);
    sqlite3_bind_int64(s, 11, now);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = write_fail(c, rc, "organization", org->id, NULL, err);
        goto fail;
    }
    org->num_id = sqlite3_last_insert_rowid(c->db);
    org->created_ms = now;
fail:
    sqlite3_finalize(s);
    return code;
}

int sq_org_get(struct roster_conn *pc, const char *org_id, struct roster_org *out,
               struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    /* read on every Concur list (the company block): kept for read spans */
    bool span = sq_span_caches(c);
    if (span && sq_span_org_get(c->store, c->rs_gen, org_id, out, a))
        return 0;
    sqlite3_stmt *s = sq_stmt(c, SQ_ORG_GET, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, org_id);
    int code = sq_row(c, s, read_org, NULL, out, a, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    if (!code && span)
        sq_span_org_put(c->store, c->rs_gen, out);
    return code;
}

int sq_org_list(struct roster_conn *pc, struct roster_arena *a, struct roster_org **out, size_t *n,
                struct roster_err *err)
{
    void *v = NULL;
    *out = NULL;
    *n = 0;
    int code = sq_select_rows(sq_conn_of(pc), "SELECT " ORG_COLS " FROM orgs ORDER BY num_id",
                              sizeof(**out), read_org, a, &v, n, err);
    *out = v;
    return code;
}

int sq_org_update(struct roster_conn *pc, const struct roster_org *org, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c,
                          "UPDATE orgs SET name = ?2, address = ?3, city = ?4, region = ?5,"
                          " zip = ?6, country = ?7, default_state_bulk = ?8,"
                          " default_state_app_import = ?9, default_state_manual = ?10"
                          " WHERE id = ?1",
                          &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, org->id);
    bind_org_fields(s, org);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    else if (sqlite3_changes(c->db) == 0)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", org->id);
fail:
    sqlite3_finalize(s);
    return code;
}

static void read_key(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_key *k = row;
    (void)ctx;
    memset(k, 0, sizeof(*k));
    sq_col_id(s, 0, k->id);
    sq_col_id(s, 1, k->org_id);
    k->name = sq_col_str(s, 2, a);
    const unsigned char *h = sqlite3_column_text(s, 3);
    snprintf(k->hash, sizeof(k->hash), "%s", h ? (const char *)h : "");
    k->all_orgs = sqlite3_column_int(s, 4) != 0;
    k->created_ms = sqlite3_column_int64(s, 5);
    k->revoked_ms = sqlite3_column_int64(s, 6); /* NULL reads as 0 = active */
}

int sq_key_create(struct roster_conn *pc, struct roster_key *key, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    if (!key->id[0])
        roster_id_new(key->id);
    int64_t now = roster_now_ms();
    int code = sq_prepare(c,
                          "INSERT INTO api_keys (id, org_id, name, hash, all_orgs, created_ms,"
                          " revoked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                          &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, key->id);
    sq_bind_str(s, 2, key->org_id);
    sq_bind_str(s, 3, key->name);
    sq_bind_str(s, 4, key->hash);
    sqlite3_bind_int(s, 5, key->all_orgs ? 1 : 0);
    sqlite3_bind_int64(s, 6, now);
    if (key->revoked_ms)
        sqlite3_bind_int64(s, 7, key->revoked_ms);
    else
        sqlite3_bind_null(s, 7);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = write_fail(c, rc, "key", key->id, key->org_id, err);
        goto fail;
    }
    key->created_ms = now;
fail:
    sqlite3_finalize(s);
    return code;
}

int sq_key_find(struct roster_conn *pc, const char *hash_hex, struct roster_key *out,
                struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    /* read on every request: kept for read spans (found keys only) */
    bool span = sq_span_caches(c) && hash_hex;
    if (span && sq_span_key_get(c->store, c->rs_gen, hash_hex, out, a))
        return 0;
    sqlite3_stmt *s = sq_stmt(c, SQ_KEY_FIND, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sq_bind_str(s, 1, hash_hex);
    int code = sq_row(c, s, read_key, NULL, out, a, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, ROSTER_ENOTFOUND, "api key not found");
    if (!code && span)
        sq_span_key_put(c->store, c->rs_gen, out);
    return code;
}

int sq_key_list(struct roster_conn *pc, struct roster_arena *a, struct roster_key **out, size_t *n,
                struct roster_err *err)
{
    void *v = NULL;
    *out = NULL;
    *n = 0;
    int code = sq_select_rows(sq_conn_of(pc), "SELECT " KEY_COLS " FROM api_keys ORDER BY num_id",
                              sizeof(**out), read_key, a, &v, n, err);
    *out = v;
    return code;
}

/* Revoking a key that is already revoked succeeds and keeps the first revocation time. */
int sq_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c,
                          "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, ?2)"
                          " WHERE id = ?1",
                          &s, err);
    if (code)
        goto fail;
    sq_bind_str(s, 1, key_id);
    sqlite3_bind_int64(s, 2, roster_now_ms());
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    else if (sqlite3_changes(c->db) == 0)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "key \"%s\" not found", key_id ? key_id : "");
fail:
    sqlite3_finalize(s);
    return code;
}

int sq_ping(struct roster_conn *pc, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, "SELECT 1 FROM orgs LIMIT 1", &s, err);
    if (!code) {
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
    }
    sqlite3_finalize(s);
    return code;
}
