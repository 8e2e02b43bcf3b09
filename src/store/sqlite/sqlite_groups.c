/* SQLite store: service-account keys, typed groups (applications, skills, ACD queues) with
 * their memberships, and user password hashes (schema/0004_groups_service_keys.sql).
 * Every group statement is scoped by the organisation's num_id, so another organisation's
 * group or user is exactly as absent as a missing one. Memberships and hashes go with their
 * user or group (ON DELETE CASCADE; the store runs with foreign_keys on).
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlgen.h"
#include "store/sqlite/sqlite_int.h"

#define SA_COLS SQ_SA_COLS
#define GROUP_COLS SQ_GROUP_COLS

static void read_sa(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_sa_key *k = row;
    (void)ctx;
    memset(k, 0, sizeof(*k));
    sq_col_id(s, 0, k->id);
    sq_col_id(s, 1, k->org_id);
    k->name = sq_col_str(s, 2, a);
    k->public_key_pem = sq_col_str(s, 3, a);
    k->created_ms = sqlite3_column_int64(s, 4);
    k->revoked_ms = sqlite3_column_int64(s, 5);
}

int sq_sa_key_create(struct roster_conn *pc, struct roster_sa_key *k, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!k->id[0])
        roster_id_new(k->id);
    int64_t now = roster_now_ms();
    const struct sq_item it = {"service key", k->id, k->org_id};
    int code = sq_write(c,
                        "INSERT INTO service_keys (id, org_id, name, public_key, created_ms)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
                        SQ_ARGS(SQ_TEXT(k->id), SQ_TEXT(k->org_id), SQ_TEXT(k->name),
                                SQ_TEXT(k->public_key_pem ? k->public_key_pem : ""), SQ_INT(now)),
                        sq_insert_fail, &it, err);
    if (!code)
        k->created_ms = now;
    return code;
}

int sq_sa_key_find(struct roster_conn *pc, const char *key_id, struct roster_sa_key *out,
                   struct roster_arena *a, struct roster_err *err)
{
    /* cached: runs on every JWT request */
    int code = sq_row_args(sq_conn_of(pc), SQ_SA_KEY_FIND, SQ_ARGS(SQ_TEXT(key_id)), read_sa, NULL,
                           out, a, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, ROSTER_ENOTFOUND, "service key not found");
    return code;
}

int sq_sa_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    return sq_update(sq_conn_of(pc),
                     "UPDATE service_keys SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
                     SQ_ARGS(SQ_TEXT(key_id), SQ_INT(roster_now_ms())), "service key", key_id, err);
}

/* --- groups --- */

static void read_group(sqlite3_stmt *s, int col, const char *org_id, struct roster_group *g,
                       struct roster_arena *a)
{
    memset(g, 0, sizeof(*g));
    g->num_id = sqlite3_column_int64(s, col);
    snprintf(g->org_id, sizeof(g->org_id), "%s", org_id);
    g->kind = sqlite3_column_int(s, col + 1);
    g->name = sq_col_str(s, col + 2, a);
    g->parent_num_id = sqlite3_column_int64(s, col + 3);
    g->extra = sq_col_str(s, col + 4, a);
    g->created_ms = sqlite3_column_int64(s, col + 5);
    g->modified_ms = sqlite3_column_int64(s, col + 6);
    g->version = sqlite3_column_int64(s, col + 7);
}

/* read_group of a row that is a group of organisation org_id */
static void read_group_row(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    read_group(s, 0, org_id, row, a);
}

/* 0 when row num_id exists in table (groups or users) for org_num, else ROSTER_ENOTFOUND
 * naming what. */
static int owned(struct sq_conn *c, sqlite3_stmt *s, int64_t org_num, int64_t num_id,
                 const char *what, struct roster_err *err)
{
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, num_id);
    sqlite3_bind_int64(s, 2, org_num);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return roster_err_set(err, ROSTER_ENOTFOUND, "%s %lld not found", what, (long long)num_id);
    return sq_fail(c, rc, err);
}

static int parent_check(struct sq_conn *c, int64_t org_num, const struct roster_group *g,
                        struct roster_err *err)
{
    if (!g->parent_num_id)
        return 0;
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, "SELECT 1 FROM groups WHERE num_id = ?1 AND org_num = ?2", &s, err);
    if (!code)
        code = owned(c, s, org_num, g->parent_num_id, "group", err);
    sqlite3_finalize(s);
    return code;
}

static int group_missing(struct roster_err *err, int64_t num_id)
{
    return roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)num_id);
}

static int group_write_fail(struct sq_conn *c, int rc, const struct roster_group *g,
                            struct roster_err *err)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        roster_err_set(err, ROSTER_ECONFLICT, "name \"%.64s\" is already used", g->name);
        if (err)
            err->field = "name";
        return ROSTER_ECONFLICT;
    }
    if (rc == SQLITE_CONSTRAINT_NOTNULL)
        return roster_err_set(err, ROSTER_EINVAL, "a group needs a name");
    return sq_fail(c, rc, err);
}

/* group_create (update false) and group_update: finds the organisation, checks the parent
 * (when one is set) and writes g (?1 org_num, ?2 kind, ?3 name, ?4 parent or NULL, ?5 extra,
 * ?6 now; the update's ?7 g->num_id). The row the write returns gives g->num_id; none (an
 * update of a missing group) answers "group <num_id> not found". */
static int group_write(struct sq_conn *c, const char *org_id, struct roster_group *g, bool update,
                       int64_t now, struct roster_err *err)
{
    int64_t org_num = 0;
    sqlite3_stmt *s = NULL;
    int code = sq_org_num_for(c, org_id, &org_num, "organization", org_id, err);
    if (!code)
        code = parent_check(c, org_num, g, err);
    const struct sq_arg args[] = {
        SQ_INT(org_num),   SQ_INT(g->kind),
        SQ_TEXT(g->name),  g->parent_num_id ? SQ_INT(g->parent_num_id) : SQ_TEXT(NULL),
        SQ_TEXT(g->extra), SQ_INT(now),
        SQ_INT(g->num_id)};
    if (!code)
        code = sq_prepare_args(c->db,
                               update ? "UPDATE groups SET name = ?3, parent_num = ?4, extra = ?5,"
                                        " modified_ms = ?6, version = version + 1"
                                        " WHERE org_num = ?1 AND kind = ?2"
                                        " AND num_id = ?7 RETURNING num_id, version"
                                      : "INSERT INTO groups (org_num, kind, name, parent_num,"
                                        " extra, created_ms, modified_ms)"
                                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                                        " RETURNING num_id, version",
                               args, update ? 7 : 6, &s, err);
    if (code)
        return code;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        g->num_id = sqlite3_column_int64(s, 0);
        g->version = sqlite3_column_int64(s, 1);
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
    } else if (rc == SQLITE_DONE) {
        code = group_missing(err, g->num_id);
    } else {
        code = group_write_fail(c, rc, g, err);
    }
    sqlite3_finalize(s);
    return code;
}

int sq_group_create(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    int64_t now = roster_now_ms();
    int code = group_write(sq_conn_of(pc), org_id, g, false, now, err);
    if (!code) {
        snprintf(g->org_id, sizeof(g->org_id), "%s", org_id);
        g->created_ms = g->modified_ms = now;
    }
    return code;
}

/* group_list of one group by num_id and kind (a cached statement: GetUsers looks its
 * application up on every request) */
static int group_get(struct sq_conn *c, int64_t org_num, const char *org_id,
                     const struct roster_group_query *q, struct roster_arena *a,
                     struct roster_group **out, size_t *n, struct roster_err *err)
{
    struct roster_group *v = roster_arena_alloc(a, sizeof(*v));
    int code =
        sq_row_args(c, SQ_GROUP_GET, SQ_ARGS(SQ_INT(org_num), SQ_INT(q->num_id), SQ_INT(q->kind)),
                    read_group_row, org_id, v, a, err);
    if (code == ROSTER_ENOTFOUND)
        return 0; /* no group: an empty list */
    if (!code) {
        *out = v;
        *n = 1;
    }
    return code;
}

int sq_group_list(struct roster_conn *pc, const char *org_id, const struct roster_group_query *q,
                  struct roster_arena *a, struct roster_group **out, size_t *n, int64_t *total,
                  struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct sg w;
    sg_init(&w, SG_SQLITE, a);
    struct roster_buf sql;
    sqlite3_stmt *s = NULL;
    roster_buf_init(&sql);
    *out = NULL;
    *n = 0;
    if (total)
        *total = q->want_total ? 0 : -1;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND) {
        code = 0; /* an unknown organisation has no groups */
        goto done;
    }
    if (code)
        goto done;
    if (q->kind && q->num_id && !q->name && !(q->name_part && q->name_part[0]) &&
        !q->parent_num_id && !(total && q->want_total) && q->limit != 0 && q->skip <= 0) {
        code = group_get(c, org_num, org_id, q, a, out, n, err);
        goto done;
    }
    roster_buf_addstr(&w.sql, "g.org_num = ");
    sg_int(&w, org_num);
    if (q->kind) {
        roster_buf_addstr(&w.sql, " AND g.kind = ");
        sg_int(&w, q->kind);
    }
    if (q->num_id) {
        roster_buf_addstr(&w.sql, " AND g.num_id = ");
        sg_int(&w, q->num_id);
    }
    if (q->name) {
        roster_buf_addstr(&w.sql, " AND g.name = ");
        sg_text(&w, q->name);
    }
    if (q->name_part && q->name_part[0]) {
        roster_buf_addstr(&w.sql, " AND instr(lower(g.name), lower(");
        sg_text(&w, q->name_part);
        roster_buf_addstr(&w.sql, ")) > 0");
    }
    if (q->parent_num_id) {
        roster_buf_addstr(&w.sql, " AND g.parent_num = ");
        sg_int(&w, q->parent_num_id);
    }
    const char *where = w.sql.data;
    if (total && q->want_total) {
        roster_buf_printf(&sql, "SELECT count(*) FROM groups AS g WHERE %s", where);
        code = sq_count(c, sql.data, &w, total, err);
        if (code)
            goto done;
    }
    if (q->limit == 0)
        goto done;
    roster_buf_reset(&sql);
    roster_buf_printf(&sql,
                      "SELECT " GROUP_COLS " FROM groups AS g WHERE %s"
                      " ORDER BY %s LIMIT ?%zu OFFSET ?%zu",
                      where, q->by_name ? "g.name, g.num_id" : "g.num_id", w.nvals + 1,
                      w.nvals + 2);
    code = sq_prepare(c, sql.data, &s, err);
    if (!code)
        code = sq_bind_sg(c, s, &w, err);
    if (code)
        goto done;
    sqlite3_bind_int64(s, (int)w.nvals + 1, q->limit < 0 ? -1 : q->limit);
    sqlite3_bind_int64(s, (int)w.nvals + 2, q->skip > 0 ? q->skip : 0);
    void *v = NULL;
    code = sq_rows(c, s, sizeof(**out), read_group_row, org_id, a, &v, n, err);
    if (!code)
        *out = v;
done:
    sqlite3_finalize(s);
    roster_buf_release(&sql);
    sg_release(&w);
    return code;
}

int sq_group_update(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    int64_t now = roster_now_ms();
    int code = group_write(sq_conn_of(pc), org_id, g, true, now, err);
    if (!code)
        g->modified_ms = now;
    return code;
}

int sq_group_delete(struct roster_conn *pc, const char *org_id, int kind, int64_t num_id,
                    struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return group_missing(err, num_id);
    if (!code)
        code = sq_prepare_args(
            c->db, "DELETE FROM groups WHERE org_num = ?1 AND kind = ?2 AND num_id = ?3",
            SQ_ARGS(SQ_INT(org_num), SQ_INT(kind), SQ_INT(num_id)), &s, err);
    bool own = false;
    if (!code)
        code = sq_tx_start_or_join(c, &own, err);
    if (code)
        goto done;
    code = sq_step_changed(c, s, err);
    if (code == ROSTER_ENOTFOUND)
        code = group_missing(err, num_id);
    else if (!code) /* its memberships went with it: every list on it changed */
        code = sq_list_record(c, org_num, NULL, err);
    sqlite3_reset(s);
    code = sq_tx_end_joined(c, own, code, err);
done:
    sqlite3_finalize(s);
    return code;
}

/* binds of at most this many (group, user) pairs are recorded user by user */
#define BIND_DETAIL_MAX 16

int sq_group_bind(struct roster_conn *pc, const char *org_id, const int64_t *groups, size_t ng,
                  const int64_t *users, size_t nu, bool bind, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *gs = NULL, *us = NULL, *ws = NULL;
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "organization", org_id, err);
    if (code == ROSTER_ENOTFOUND && ng)
        return group_missing(err, groups[0]);
    if (code)
        return code;
    code = sq_tx_start(c, err);
    if (code)
        return code;
    code = sq_prepare(c, "SELECT 1 FROM groups WHERE num_id = ?1 AND org_num = ?2", &gs, err);
    if (!code)
        code = sq_prepare(c, "SELECT 1 FROM users WHERE num_id = ?1 AND org_num = ?2", &us, err);
    if (!code)
        code = sq_prepare(c,
                          bind ? "INSERT OR IGNORE INTO group_members (group_num, user_num,"
                                 " uname, dname, uid) SELECT ?1, num_id, lower(username),"
                                 " display_name, id FROM users WHERE num_id = ?2"
                               : "DELETE FROM group_members WHERE group_num = ?1 AND user_num = ?2",
                          &ws, err);
    for (size_t i = 0; !code && i < ng; i++)
        code = owned(c, gs, org_num, groups[i], "group", err);
    for (size_t j = 0; !code && j < nu; j++)
        code = owned(c, us, org_num, users[j], "user", err);
    /* the lists: each user's change when there are few, else one reset */
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    bool detail = ng * nu <= BIND_DETAIL_MAX && sq_list_wants_detail(c, org_num);
    struct roster_user **img = detail ? roster_arena_zalloc(&a, (nu + 1) * sizeof(*img)) : NULL;
    int64_t **gb = detail ? roster_arena_zalloc(&a, (nu + 1) * sizeof(*gb)) : NULL;
    size_t *ngb = detail ? roster_arena_zalloc(&a, (nu + 1) * sizeof(*ngb)) : NULL;
    for (size_t j = 0; !code && detail && j < nu; j++)
        code = sq_user_image(c, org_num, NULL, users[j], &a, &img[j], &gb[j], &ngb[j], err);
    for (size_t i = 0; !code && i < ng; i++) {
        for (size_t j = 0; !code && j < nu; j++) {
            sqlite3_reset(ws);
            sqlite3_bind_int64(ws, 1, groups[i]);
            sqlite3_bind_int64(ws, 2, users[j]);
            int rc = sqlite3_step(ws);
            if (rc != SQLITE_DONE)
                code = sq_fail(c, rc, err);
        }
    }
    /* the groups' ETags: each changed (or may have) with its members */
    int64_t now_ms = roster_now_ms();
    for (size_t i = 0; !code && nu && i < ng; i++)
        code = sq_write(c,
                        "UPDATE groups SET version = version + 1, modified_ms = ?2"
                        " WHERE num_id = ?1",
                        SQ_ARGS(SQ_INT(groups[i]), SQ_INT(now_ms)), NULL, NULL, err);
    for (size_t j = 0; !code && j < nu; j++) {
        if (!detail) {
            code = sq_list_record(c, org_num, NULL, err);
            break;
        }
        size_t nga = 0;
        int64_t *ga = NULL;
        struct roster_user *now = NULL;
        code = sq_user_image(c, org_num, NULL, users[j], &a, &now, &ga, &nga, err);
        if (!code) {
            struct roster_change ch = {0, ROSTER_CHANGE_USER, img[j], now, gb[j], ga, ngb[j], nga};
            code = sq_list_record(c, org_num, &ch, err);
        }
    }
    roster_arena_release(&a);
    sqlite3_finalize(gs);
    sqlite3_finalize(us);
    sqlite3_finalize(ws);
    int end = sq_tx_end(c, code == 0, err);
    return code ? code : end;
}

int sq_group_memberships(struct roster_conn *pc, const char *org_id, const int64_t *users,
                         size_t nu, int kind, struct roster_arena *a,
                         struct roster_membership **out, size_t *n, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0;
    if (!code)
        code = sq_prepare(c,
                          "SELECT " GROUP_COLS " FROM group_members AS m JOIN groups AS g"
                          " ON g.num_id = m.group_num WHERE m.user_num = ?1 AND g.org_num = ?2"
                          " AND g.kind = ?3 ORDER BY g.num_id",
                          &s, err);
    if (code)
        return code;
    size_t cap = 16, len = 0;
    struct roster_membership *v = roster_arena_alloc(a, cap * sizeof(*v));
    for (size_t i = 0; !code && i < nu; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, users[i]);
        sqlite3_bind_int64(s, 2, org_num);
        sqlite3_bind_int(s, 3, kind);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            v = roster_arena_grow(a, v, len, &cap, sizeof(*v));
            v[len].user_num_id = users[i];
            read_group(s, 0, org_id, &v[len].g, a);
            len++;
        }
        if (rc != SQLITE_DONE)
            code = sq_fail(c, rc, err);
    }
    sqlite3_finalize(s);
    if (!code) {
        *out = v;
        *n = len;
    }
    return code;
}

static void read_member(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    struct roster_group_member *m = row;
    (void)ctx;
    memset(m, 0, sizeof(*m));
    m->user_num_id = sqlite3_column_int64(s, 0);
    sq_col_id(s, 1, m->user_id);
    m->username = sq_col_str(s, 2, a);
    m->display_name = sq_col_str(s, 3, a);
}

int sq_group_members(struct roster_conn *pc, const char *org_id, int64_t group_num, int64_t after,
                     int64_t limit, struct roster_arena *a, struct roster_group_member **out,
                     size_t *n, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    sqlite3_stmt *s = NULL;
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0;
    if (!code)
        code = sq_prepare_args(c->db,
                               "SELECT u.num_id, u.id, u.username, u.display_name"
                               " FROM groups AS g JOIN group_members AS m ON m.group_num = g.num_id"
                               " JOIN users AS u ON u.num_id = m.user_num"
                               " WHERE g.num_id = ?1 AND g.org_num = ?2 AND m.user_num > ?3"
                               " ORDER BY m.user_num LIMIT ?4",
                               SQ_ARGS(SQ_INT(group_num), SQ_INT(org_num), SQ_INT(after),
                                       SQ_INT(limit < 0 ? -1 : limit)),
                               &s, err);
    if (code)
        return code;
    void *v = NULL;
    code = sq_rows(c, s, sizeof(**out), read_member, NULL, a, &v, n, err);
    if (!code)
        *out = v;
    sqlite3_finalize(s);
    return code;
}

/* --- password hashes --- */

static int user_num_of(struct sq_conn *c, const char *org_id, const char *user_id, int64_t *num,
                       struct roster_err *err)
{
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (!code)
        code = sq_select_one(c, "SELECT num_id FROM users WHERE org_num = ?1 AND id = ?2",
                             SQ_ARGS(SQ_INT(org_num), SQ_TEXT(user_id)), sq_read_int, NULL, num,
                             NULL, err);
    return code == ROSTER_ENOTFOUND ? sq_not_found(err, "user", user_id) : code;
}

int sq_user_secret_set(struct roster_conn *pc, const char *org_id, const char *user_id,
                       const char *hash, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t num = 0;
    int code = user_num_of(c, org_id, user_id, &num, err);
    const struct sq_arg args[] = {SQ_INT(num), SQ_TEXT(hash)};
    if (!code)
        code = sq_write(c,
                        hash ? "INSERT INTO user_secrets (user_num, password_hash) VALUES (?1, ?2)"
                               " ON CONFLICT (user_num) DO UPDATE SET password_hash = ?2"
                             : "DELETE FROM user_secrets WHERE user_num = ?1",
                        args, hash ? 2 : 1, NULL, NULL, err);
    return code;
}

static void read_str(sqlite3_stmt *s, void *row, const void *ctx, struct roster_arena *a)
{
    (void)ctx;
    *(const char **)row = sq_col_str(s, 0, a);
}

int sq_user_secret_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                       struct roster_arena *a, const char **hash, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t num;
    *hash = NULL;
    int code = user_num_of(c, org_id, user_id, &num, err);
    if (code)
        return code;
    code = sq_select_one(c, "SELECT password_hash FROM user_secrets WHERE user_num = ?1",
                         SQ_ARGS(SQ_INT(num)), read_str, NULL, hash, a, err);
    return code == ROSTER_ENOTFOUND ? 0 : code; /* no password */
}
