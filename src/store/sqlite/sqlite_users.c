/* SQLite store: users. create/get/update/delete run through the cached users statements
 * (sqlite_user_row.c, built from roster_ufields[]); user_list translates a struct
 * roster_query into SQL whose values are all bound parameters. Every statement is scoped by
 * the organisation (rows carry its num_id, org_num; see sq_org_num), so another
 * organisation's user is exactly as absent as a missing one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store_keys.h"

/* sq_read_user of a row that is a user of organisation org_id */
static void read_user_row(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    sq_read_user(s, 0, org_id, row, a);
}

static void bind_user(sqlite3_stmt *s, int64_t org_num, const struct roster_user *u, int64_t now)
{
    sqlite3_bind_text(s, 1, u->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, org_num);
    for (int i = 0; i < RU_NFIELDS; i++)
        sq_bind_str(s, UP_FIELDS + i, u->f[i]);
    sqlite3_bind_int(s, UP_STATE, u->state);
    sqlite3_bind_int64(s, UP_TIME, now);
}

/* Whether the UNIQUE failure message ("UNIQUE constraint failed: users.org_num,
 * users.username") names column. */
static bool names_column(const char *msg, const char *column)
{
    size_t n = strlen(column);
    for (const char *p = strstr(msg, "users."); p; p = strstr(p + 1, "users.")) {
        const char *col = p + strlen("users.");
        if (strncmp(col, column, n) == 0 && (col[n] == '\0' || col[n] == ','))
            return true;
    }
    return false;
}

int sq_user_write_fail(struct sq_conn *c, int rc, const struct roster_user *u, const char *org_id,
                       struct roster_err *err)
{
    static const int unique_fields[] = {RU_USERNAME, RU_EMAIL, RU_EMPLOYEE_ID};
    const char *msg = sqlite3_errmsg(c->db);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        for (size_t i = 0; i < sizeof(unique_fields) / sizeof(unique_fields[0]); i++) {
            const struct roster_ufield_info *f = &roster_ufields[unique_fields[i]];
            /* "users.username" (a column index) or "index 'users_org_username'" (an index
             * on lower(username)) */
            char ix[48];
            snprintf(ix, sizeof(ix), "'users_org_%s'", f->column);
            if (!names_column(msg, f->column) && !strstr(msg, ix))
                continue;
            const char *v = u->f[unique_fields[i]];
            roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", f->label, v ? v : "");
            return sq_conflict_on(c, f->label, err);
        }
        roster_err_set(err, ROSTER_ECONFLICT, "user id \"%s\" already exists", u->id);
        return sq_conflict_on(c, "id", err);
    }
    const struct sq_item it = {"user", u->id, org_id};
    return sq_insert_fail(c, rc, &it, err); /* a missing organisation, or a store failure */
}

/* Records the change of one user (before -> after) of org_num for the lists, and keeps
 * user_sparse and the membership sort keys in step; with no detail wanted (a bulk write:
 * a reset covers it) no before image is needed. */
static int user_written(struct sq_conn *c, int64_t org_num, const struct roster_user *before,
                        const int64_t *groups, size_t ng, const struct roster_user *after,
                        bool detail, struct roster_err *err)
{
    int code = after ? sq_user_side_write(c, org_num, before, after, err) : 0;
    if (code)
        return code;
    if (!detail)
        return sq_list_record(c, org_num, NULL, err);
    struct roster_change ch = {0, ROSTER_CHANGE_USER, before, after, groups, groups, ng, ng};
    return sq_list_record(c, org_num, &ch, err);
}

/* The body of a user write, in user_write's transaction: arg is the method's, a a scratch
 * arena (released after). */
typedef int user_write_fn(struct sq_conn *c, int64_t org_num, const char *org_id, void *arg,
                          struct roster_arena *a, struct roster_err *err);

/* The door of user_create, user_update and user_delete: org_id's num_id (a missing
 * organisation answers as sq_org_num_for with what and name), then write in their own
 * transaction or the caller's (sq_tx_start_or_join), ended with write's outcome. */
static int user_write(struct roster_conn *pc, const char *org_id, const char *what,
                      const char *name, user_write_fn *write, void *arg, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    bool own;
    int code = sq_org_num_for(c, org_id, &org_num, what, name, err);
    if (!code)
        code = sq_tx_start_or_join(c, &own, err);
    if (code)
        return code;
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    code = write(c, org_num, org_id, arg, &a, err);
    roster_arena_release(&a);
    return sq_tx_end_joined(c, own, code, err);
}

/* user_create's write: the insert, then its change for the lists (arg: the user). */
static int insert_user(struct sq_conn *c, int64_t org_num, const char *org_id, void *arg,
                       struct roster_arena *a, struct roster_err *err)
{
    struct roster_user *u = arg;
    (void)a;
    sqlite3_stmt *s = sq_user_stmt(c, SQ_USER_INSERT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    bool new_id = !u->id[0];
    if (new_id)
        roster_id_new(u->id);
    int64_t now = roster_now_ms();
    bind_user(s, org_num, u, now);
    int code = 0;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = sq_user_write_fail(c, rc, u, org_id, err);
        if (new_id)
            u->id[0] = '\0';
    } else {
        u->num_id = sqlite3_last_insert_rowid(c->db);
        snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
        u->created_ms = u->modified_ms = now;
        u->version = 1;
    }
    /* the reset ends the statement, so a failed insert leaves the caller's transaction
     * usable (SQLite only rolls back the statement) */
    sqlite3_reset(s);
    if (code)
        return code;
    return user_written(c, org_num, NULL, NULL, 0, u, sq_list_wants_detail(c, org_num), err);
}

int sq_user_create(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    return user_write(pc, org_id, "organization", org_id, insert_user, u, err);
}

/* Runs one(pc, org_id, &u[i], &errs[i]) for every item: an item's own failure (conflict,
 * not found, stale) is its outcome. Outside a transaction it opens one, so that a store
 * failure rolls every item back; inside the caller's, the caller does that (see
 * sq_tx_start_or_join: no savepoint). */
static int each_in_tx(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                      int (*one)(struct roster_conn *, const char *, struct roster_user *,
                                 struct roster_err *),
                      int *rcs, struct roster_err *errs, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    bool own;
    int code = sq_tx_start_or_join(c, &own, err);
    if (code)
        return code;
    for (size_t i = 0; i < n; i++) {
        roster_err_clear(&errs[i]);
        rcs[i] = one(pc, org_id, &u[i], &errs[i]);
        if (rcs[i] == ROSTER_EIO || rcs[i] == ROSTER_EBUSY || rcs[i] == ROSTER_ENOMEM) {
            code = rcs[i];
            if (err)
                *err = errs[i];
            if (own)
                sq_tx_end(c, false, NULL);
            return code;
        }
    }
    return own ? sq_tx_end(c, true, err) : 0;
}

/* The embedded store writes each row with the same cached statement as user_create:
 * there is no round trip to save, and one statement per row keeps every item's outcome
 * exact. */
/* Runs each_in_tx in a transaction that first records one reset for the lists of org_id:
 * a bulk write changes too many users to record them one by one. */
static int many_in_tx(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                      int (*one)(struct roster_conn *, const char *, struct roster_user *,
                                 struct roster_err *),
                      int *rcs, struct roster_err *errs, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (n < 2)
        return each_in_tx(pc, org_id, u, n, one, rcs, errs, err);
    bool own;
    int code = sq_tx_start_or_join(c, &own, err);
    if (code)
        return code;
    int64_t org_num;
    code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        code = 0; /* every item fails on its own */
    else if (!code)
        code = sq_list_record(c, org_num, NULL, err);
    if (!code)
        code = each_in_tx(pc, org_id, u, n, one, rcs, errs, err);
    return sq_tx_end_joined(c, own, code, err);
}

/* The user_sparse rows of the users created with num_id in [lo, hi] (all of them this
 * call's: rowids only grow within the write transaction), copied from their users rows in
 * one statement: the same values the per-row upsert binds (a NULL field stays NULL). */
static int sparse_copy(struct sq_conn *c, int64_t lo, int64_t hi, struct roster_err *err)
{
#define SPARSE_COLS                                                                                \
    "middle_name, display_name, department, cost_center, company, job_title, location, "           \
    "manager, country_code, alternate_email, description, employee_type, external_id, "            \
    "user_type, preferred_language, locale, timezone"
    return sq_write(
        c,
        "INSERT INTO user_sparse (num_id, org_num, id, " SPARSE_COLS ")"
        " SELECT num_id, org_num, id, " SPARSE_COLS " FROM users"
        " WHERE num_id BETWEEN ?1 AND ?2 AND (middle_name IS NOT NULL OR display_name IS NOT NULL"
        " OR department IS NOT NULL OR cost_center IS NOT NULL OR company IS NOT NULL"
        " OR job_title IS NOT NULL OR location IS NOT NULL OR manager IS NOT NULL"
        " OR country_code IS NOT NULL OR alternate_email IS NOT NULL OR description IS NOT NULL"
        " OR employee_type IS NOT NULL OR external_id IS NOT NULL OR user_type IS NOT NULL"
        " OR preferred_language IS NOT NULL OR locale IS NOT NULL OR timezone IS NOT NULL)",
        SQ_ARGS(SQ_INT(lo), SQ_INT(hi)), NULL, NULL, err);
#undef SPARSE_COLS
}

/* As many_in_tx with user_create, but the user_sparse rows of the batch are written by one
 * INSERT ... SELECT after it instead of one upsert per user (bench/import_export: half the
 * CPU time of an import went to the per-row upserts). */
int sq_user_create_many(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                        int *rcs, struct roster_err *errs, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (n < 2 || c->sparse_deferred)
        return many_in_tx(pc, org_id, u, n, sq_user_create, rcs, errs, err);
    bool own;
    int code = sq_tx_start_or_join(c, &own, err);
    if (code)
        return code;
    c->sparse_deferred = true;
    code = many_in_tx(pc, org_id, u, n, sq_user_create, rcs, errs, err);
    c->sparse_deferred = false;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; !code && i < n; i++)
        if (rcs[i] == 0) {
            lo = u[i].num_id < lo ? u[i].num_id : lo;
            hi = u[i].num_id > hi ? u[i].num_id : hi;
        }
    if (!code && lo <= hi)
        code = sparse_copy(c, lo, hi, err);
    return sq_tx_end_joined(c, own, code, err);
}

int sq_user_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                struct roster_user *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    return sq_org_row(c, sq_user_stmt(c, SQ_USER_GET, err), org_id, "user", user_id, read_user_row,
                      out, a, err);
}

/* The update itself (in the caller's transaction). */
static int update_user(struct sq_conn *c, int64_t org_num, const char *org_id,
                       struct roster_user *u, struct roster_err *err)
{
    bool state_only = u->set == ROSTER_USET_STATE;
    sqlite3_stmt *s = sq_user_stmt(c, state_only ? SQ_USER_UPDATE_STATE : SQ_USER_UPDATE, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    int64_t now = roster_now_ms();
    if (state_only) {
        sq_bind_str(s, 1, u->id);
        sqlite3_bind_int64(s, 2, org_num);
        sqlite3_bind_int(s, UP_STATE, u->state);
        sqlite3_bind_int64(s, UP_TIME, now);
    } else {
        bind_user(s, org_num, u, now);
    }
    sqlite3_bind_int64(s, UP_VERSION, u->version);
    int code = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        u->num_id = sqlite3_column_int64(s, 0);
        u->created_ms = sqlite3_column_int64(s, 1);
        u->version = sqlite3_column_int64(s, 2);
        u->modified_ms = now;
        snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
        sqlite3_reset(s);
        return code;
    }
    if (rc != SQLITE_DONE) {
        code = sq_user_write_fail(c, rc, u, org_id, err);
        sqlite3_reset(s);
        return code;
    }
    sqlite3_reset(s);
    /* no row changed: either there is no such user (here) or someone else wrote it first */
    int exists = sq_exists(c, SQ_USER_EXISTS, SQ_ARGS(SQ_INT(org_num), SQ_TEXT(u->id)), err);
    if (exists < 0)
        return -exists;
    if (exists)
        return roster_err_set(err, ROSTER_ESTALE, "user \"%s\" was changed by another request",
                              u->id);
    return sq_not_found(err, "user", u->id);
}

/* user_update's write (arg: the user), with its change for the lists. */
static int update_in_tx(struct sq_conn *c, int64_t org_num, const char *org_id, void *arg,
                        struct roster_arena *a, struct roster_err *err)
{
    struct roster_user *u = arg;
    bool detail = sq_list_wants_detail(c, org_num);
    struct roster_user *before = NULL, after;
    int64_t *groups = NULL;
    size_t ng = 0;
    int code = 0;
    if (detail) {
        code = sq_user_image(c, org_num, u->id, 0, a, &before, &groups, &ng, err);
        if (code == ROSTER_ENOTFOUND)
            code = sq_not_found(err, "user", u->id);
    }
    if (!code)
        code = update_user(c, org_num, org_id, u, err);
    if (!code && u->set == ROSTER_USET_STATE) {
        /* only the state was written: nothing else of the side tables changes */
        if (before) {
            after = *before;
            after.state = u->state;
            after.version = u->version;
            after.modified_ms = u->modified_ms;
            struct roster_change ch = {0, ROSTER_CHANGE_USER, before, &after, groups, groups, ng,
                                       ng};
            code = sq_list_record(c, org_num, &ch, err);
        } else {
            code = sq_list_record(c, org_num, NULL, err);
        }
    } else if (!code) {
        code = user_written(c, org_num, before, groups, ng, u, detail, err);
    }
    return code;
}

int sq_user_update(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    return user_write(pc, org_id, "user", u->id, update_in_tx, u, err);
}

/* user_delete's write (arg: the user's id), with its change for the lists. */
static int delete_in_tx(struct sq_conn *c, int64_t org_num, const char *org_id, void *arg,
                        struct roster_arena *a, struct roster_err *err)
{
    const char *user_id = arg;
    (void)org_id;
    bool detail = sq_list_wants_detail(c, org_num);
    struct roster_user *before = NULL;
    int64_t *groups = NULL;
    size_t ng = 0;
    int code = 0;
    if (detail) {
        code = sq_user_image(c, org_num, user_id ? user_id : "", 0, a, &before, &groups, &ng, err);
        if (code == ROSTER_ENOTFOUND)
            code = 0; /* the delete below says so */
    }
    sqlite3_stmt *s = code ? NULL : sq_stmt(c, SQ_USER_DELETE, err);
    if (!code && !s)
        code = err ? err->code : ROSTER_EIO;
    if (!code) {
        sqlite3_bind_int64(s, 1, org_num);
        sq_bind_str(s, 2, user_id);
        code = sq_step_changed(c, s, err);
        if (code == ROSTER_ENOTFOUND)
            code = sq_not_found(err, "user", user_id);
        sqlite3_reset(s);
    }
    if (!code)
        code = user_written(c, org_num, before, groups, ng, NULL, detail && before, err);
    return code;
}

int sq_user_delete(struct roster_conn *pc, const char *org_id, const char *user_id,
                   struct roster_err *err)
{
    return user_write(pc, org_id, "user", user_id, delete_in_tx, (void *)user_id, err);
}

/* As for creates: the cached statements of user_get / user_update, one per item. */
int sq_user_get_many(struct roster_conn *pc, const char *org_id, const char *const *ids, size_t n,
                     struct roster_user *out, int *rcs, struct roster_arena *a,
                     struct roster_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct roster_err e;
        roster_err_clear(&e);
        rcs[i] = sq_user_get(pc, org_id, ids[i], &out[i], a, &e);
        if (rcs[i] != 0 && rcs[i] != ROSTER_ENOTFOUND) {
            if (err)
                *err = e;
            return rcs[i];
        }
    }
    return 0;
}

int sq_user_update_many(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                        int *rcs, struct roster_err *errs, struct roster_err *err)
{
    return many_in_tx(pc, org_id, u, n, sq_user_update, rcs, errs, err);
}

/* roster import's connection (bulk_hint): a page cache large enough for the users
 * indexes that a file's random keys touch (measured in bench/import_export: with the
 * default 16 MiB a 1,000,000-user import slowed from 34,000 to 10,000 users/s as the
 * indexes outgrew it; pages are read back from the file at every miss). */
int sq_bulk_hint(struct roster_conn *pc, int64_t cache_bytes, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%lld", (long long)(cache_bytes / 1024));
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, err);
}

/* bulk_load. BEGIN keeps the CREATE statements of the indexes it drops in a temporary
 * table of the connection, created in the same transaction: a rollback discards it with
 * the drops, and END reads it back, builds each index and drops it. Indexes that a
 * constraint made (sqlite_autoindex_*, no sql) stay. */
static int bulk_load_begin(struct sq_conn *c, struct roster_err *err)
{
    sqlite3_stmt *s;
    int code = sq_prepare(c, "SELECT EXISTS (SELECT 1 FROM users)", &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    bool any = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return sq_fail(c, rc, err);
    if (any)
        return roster_err_set(err, ROSTER_ENOTFOUND, "the store holds users");
    /* the rows are appended and the indexes sorted at the end: the sorter, not the page
     * cache, needs the memory now (both are bounded by cache_size) */
    code = sq_prepare(c, "PRAGMA cache_size", &s, err);
    if (code)
        return code;
    c->bulk_cache = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -16384;
    sqlite3_finalize(s);
    if ((rc = sqlite3_exec(c->db, "PRAGMA cache_size = -65536", NULL, NULL, NULL)) != SQLITE_OK)
        return sq_fail(c, rc, err);
    code =
        sq_write(c,
                 "CREATE TEMP TABLE roster_bulk_indexes AS SELECT name, sql FROM main.sqlite_master"
                 " WHERE type = 'index' AND tbl_name IN ('users', 'user_sparse')"
                 " AND sql IS NOT NULL",
                 NULL, 0, NULL, NULL, err);
    if (code)
        return code;
    code = sq_prepare(c, "SELECT 'DROP INDEX main.\"' || name || '\"' FROM roster_bulk_indexes", &s,
                      err);
    if (code)
        return code;
    struct roster_buf sql;
    roster_buf_init(&sql);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        roster_buf_printf(&sql, "%s;", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    else if (sql.len && (rc = sqlite3_exec(c->db, sql.data, NULL, NULL, NULL)) != SQLITE_OK)
        code = sq_fail(c, rc, err);
    roster_buf_release(&sql);
    return code;
}

static int bulk_load_end(struct sq_conn *c, struct roster_err *err)
{
    sqlite3_stmt *s;
    int code = sq_prepare(c,
                          "SELECT name, sql FROM temp.sqlite_master"
                          " WHERE type = 'table' AND name = 'roster_bulk_indexes'",
                          &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE)
        return 0; /* no load began in this transaction */
    if (rc != SQLITE_ROW)
        return sq_fail(c, rc, err);
    code = sq_prepare(c, "SELECT name, sql FROM roster_bulk_indexes", &s, err);
    if (code)
        return code;
    /* name NUL sql NUL ..., read whole before the first CREATE runs */
    struct roster_buf all;
    roster_buf_init(&all);
    size_t n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int col = 0; col < 2; col++) {
            roster_buf_addstr(&all, (const char *)sqlite3_column_text(s, col));
            roster_buf_addch(&all, '\0');
        }
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    const char *p = all.data;
    for (size_t i = 0; !code && i < n; i++) {
        const char *name = p;
        const char *create = name + strlen(name) + 1;
        p = create + strlen(create) + 1;
        rc = sqlite3_exec(c->db, create, NULL, NULL, NULL);
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
            code = roster_err_set(err, ROSTER_ECONFLICT,
                                  "the users loaded are not unique (index %s)", name);
        else if (rc != SQLITE_OK)
            code = sq_fail(c, rc, err);
    }
    roster_buf_release(&all);
    if (!code)
        code = sq_write(c, "DROP TABLE temp.roster_bulk_indexes", NULL, 0, NULL, NULL, err);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld", (long long)c->bulk_cache);
    if (!code && (rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        code = sq_fail(c, rc, err);
    return code;
}

int sq_bulk_load(struct roster_conn *pc, int phase, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "bulk_load needs the caller's transaction");
    return phase == ROSTER_BULK_LOAD_BEGIN ? bulk_load_begin(c, err) : bulk_load_end(c, err);
}

static void read_progress(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    struct roster_import_progress *p = row;
    memset(p, 0, sizeof(*p));
    memcpy(p->org_id, org_id, ROSTER_ID_LEN);
    p->file_key = sq_col_str(s, 0, a);
    p->rows_done = sqlite3_column_int64(s, 1);
    p->counts = sq_col_str(s, 2, a);
    p->updated_ms = sqlite3_column_int64(s, 3);
    sq_col_id(s, 4, p->job_id);
}

int sq_import_progress_get(struct roster_conn *pc, const char *org_id, const char *file_key,
                           struct roster_import_progress *out, struct roster_arena *a,
                           struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "import progress", file_key, err);
    if (code)
        return code;
    code = sq_select_one(c,
                         "SELECT file_key, rows_done, counts, updated_ms, job_id"
                         " FROM import_progress WHERE org_num = ?1 AND file_key = ?2",
                         SQ_ARGS(SQ_INT(org_num), SQ_TEXT(file_key)), read_progress, org_id, out, a,
                         err);
    if (code == ROSTER_ENOTFOUND)
        return sq_not_found(err, "import progress", file_key);
    return code;
}

int sq_import_progress_put(struct roster_conn *pc, const struct roster_import_progress *p,
                           struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, p->org_id, &org_num, "organization", p->org_id, err);
    if (code)
        return code;
    if (p->rows_done < 0)
        return sq_write(c, "DELETE FROM import_progress WHERE org_num = ?1 AND file_key = ?2",
                        SQ_ARGS(SQ_INT(org_num), SQ_TEXT(p->file_key)), NULL, NULL, err);
    return sq_write(c,
                    "INSERT OR REPLACE INTO import_progress"
                    " (org_num, file_key, rows_done, counts, updated_ms, job_id)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, ''))",
                    SQ_ARGS(SQ_INT(org_num), SQ_TEXT(p->file_key), SQ_INT(p->rows_done),
                            SQ_TEXT(p->counts), SQ_INT(roster_now_ms()), SQ_TEXT(p->job_id)),
                    NULL, NULL, err);
}
