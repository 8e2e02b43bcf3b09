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

/* A failed insert of an org or key (ctx: its struct sq_item): a duplicate id or hash, else
 * as sq_insert_fail (a key for a missing org). */
static int write_fail(struct sq_conn *c, int rc, const void *ctx, struct roster_err *err)
{
    const struct sq_item *it = ctx;
    if (rc != SQLITE_CONSTRAINT_UNIQUE && rc != SQLITE_CONSTRAINT_PRIMARYKEY)
        return sq_insert_fail(c, rc, it, err);
    if (strstr(sqlite3_errmsg(c->db), ".hash"))
        roster_err_set(err, ROSTER_ECONFLICT, "%s with this secret already exists", it->what);
    else
        roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", it->what, it->id);
    return sq_conflict_on(c, "id", err);
}

static void read_org(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_org *o = row;
    (void)ctx;
    memset(o, 0, sizeof(*o));
    o->num_id = sqlite3_column_int64(s, 0);
    sq_col_id(s, 1, o->id);
    const char **strs[] = {&o->name, &o->address, &o->city, &o->region, &o->zip, &o->country};
    sq_col_strs(s, 2, strs, 6, a);
    o->default_state_bulk = sqlite3_column_int(s, 8);
    o->default_state_app_import = sqlite3_column_int(s, 9);
    o->default_state_manual = sqlite3_column_int(s, 10);
    o->created_ms = sqlite3_column_int64(s, 11);
}

/* The parameters of an organisation's writes: ?1 id, ?2..?10 name .. default_state_manual,
 * ?11 the time (create only). */
#define ORG_NARGS 11
static void org_args(const struct roster_org *o, int64_t now, struct sq_arg args[ORG_NARGS])
{
    const struct sq_arg v[ORG_NARGS] = {SQ_TEXT(o->id),
                                        SQ_TEXT(o->name),
                                        SQ_TEXT(o->address),
                                        SQ_TEXT(o->city),
                                        SQ_TEXT(o->region),
                                        SQ_TEXT(o->zip),
                                        SQ_TEXT(o->country),
                                        SQ_INT(o->default_state_bulk),
                                        SQ_INT(o->default_state_app_import),
                                        SQ_INT(o->default_state_manual),
                                        SQ_INT(now)};
    memcpy(args, v, sizeof(v));
}

int sq_org_create(struct roster_conn *pc, struct roster_org *org, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!org->id[0])
        roster_id_new(org->id);
    int64_t now = roster_now_ms();
    struct sq_arg args[ORG_NARGS];
    org_args(org, now, args);
    const struct sq_item it = {"organization", org->id, NULL};
    int code = sq_write(c,
                        "INSERT INTO orgs (id, name, address, city, region, zip, country,"
                        " default_state_bulk, default_state_app_import, default_state_manual,"
                        " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        args, ORG_NARGS, write_fail, &it, err);
    if (!code) {
        org->num_id = sqlite3_last_insert_rowid(c->db);
        org->created_ms = now;
    }
    return code;
}

/* The row of cached statement id whose ?1 is name (an API key's hash when is_key, else an
 * organisation's id), through what read spans keep (sq_span_get) when this span may use it:
 * both are read on every request. ROSTER_ENOTFOUND as sq_row. */
static int span_row(struct sq_conn *c, int id, bool is_key, const char *name, sq_reader *read,
                    void *out, struct roster_arena *a, struct roster_err *err)
{
    bool span = sq_span_caches(c) && name;
    if (span && sq_span_get(c->store, c->rs_gen, is_key, name, out, a))
        return 0;
    int code = sq_row_args(c, id, SQ_ARGS(SQ_TEXT(name)), read, NULL, out, a, err);
    if (!code && span)
        sq_span_put(c->store, c->rs_gen, is_key, out);
    return code;
}

int sq_org_get(struct roster_conn *pc, const char *org_id, struct roster_org *out,
               struct roster_arena *a, struct roster_err *err)
{
    /* the Concur company block */
    int code = span_row(sq_conn_of(pc), SQ_ORG_GET, false, org_id, read_org, out, a, err);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, "organization", org_id) : code;
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
    struct sq_arg args[ORG_NARGS];
    org_args(org, 0, args);
    return sq_update(sq_conn_of(pc),
                     "UPDATE orgs SET name = ?2, address = ?3, city = ?4, region = ?5,"
                     " zip = ?6, country = ?7, default_state_bulk = ?8,"
                     " default_state_app_import = ?9, default_state_manual = ?10"
                     " WHERE id = ?1",
                     args, ORG_NARGS - 1, "organization", org->id, err);
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
    if (!key->id[0])
        roster_id_new(key->id);
    int64_t now = roster_now_ms();
    const struct sq_item it = {"key", key->id, key->org_id};
    int code = sq_write(c,
                        "INSERT INTO api_keys (id, org_id, name, hash, all_orgs, created_ms,"
                        " revoked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        SQ_ARGS(SQ_TEXT(key->id), SQ_TEXT(key->org_id), SQ_TEXT(key->name),
                                SQ_TEXT(key->hash), SQ_INT(key->all_orgs ? 1 : 0), SQ_INT(now),
                                key->revoked_ms ? SQ_INT(key->revoked_ms) : SQ_TEXT(NULL)),
                        write_fail, &it, err);
    if (!code)
        key->created_ms = now;
    return code;
}

int sq_key_find(struct roster_conn *pc, const char *hash_hex, struct roster_key *out,
                struct roster_arena *a, struct roster_err *err)
{
    int code = span_row(sq_conn_of(pc), SQ_KEY_FIND, true, hash_hex, read_key, out, a, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, ROSTER_ENOTFOUND, "api key not found");
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
    return sq_update(sq_conn_of(pc),
                     "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
                     SQ_ARGS(SQ_TEXT(key_id), SQ_INT(roster_now_ms())), "key", key_id, err);
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
