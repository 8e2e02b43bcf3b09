/* PostgreSQL store: service-account keys, typed groups (applications, skills, ACD queues)
 * with their memberships, and user password hashes (schema/0002_groups_service_keys.sql),
 * with the SQLite store's semantics. Every group statement is scoped by the organisation's
 * num_id; memberships and hashes go with their user or group (ON DELETE CASCADE). Writes
 * run inside a SAVEPOINT when the caller has a transaction open, so a failure leaves it
 * usable.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"

#define SA_COLS "id, org_id, name, public_key, created_ms, revoked_ms"
#define GROUP_COLS                                                                                 \
    "g.num_id, g.kind, g.name, g.parent_num, g.extra, g.created_ms, g.modified_ms, g.version"

#define K(kind, field) PG_COL(kind, struct roster_sa_key, field)
static const struct pg_col sa_cols[] = {K(PG_BUF, id),         K(PG_BUF, org_id),
                                        K(PG_STR, name),       K(PG_STR, public_key_pem),
                                        K(PG_I64, created_ms), K(PG_I64, revoked_ms)};
#undef K
/* a row of SA_COLS */
static const struct pg_rec sa_rec = PG_REC(struct roster_sa_key, sa_cols, -1);

int pg_sa_key_create(struct roster_conn *pc, struct roster_sa_key *k, struct roster_err *err)
{
    struct pg_call q;
    int64_t now = pg_call_create(&q, pg_conn_of(pc), k->id);
    int code =
        pg_call_stmt(&q,
                     PG_WRITE(-1,
                              "INSERT INTO service_keys (id, org_id, name, public_key, created_ms)"
                              " VALUES ($1, $2, $3, $4, $5)",
                              PG_S(k->id), PG_S(k->org_id), PG_S(k->name),
                              PG_S(k->public_key_pem ? k->public_key_pem : ""), PG_I(now)),
                     err);
    if (code)
        code = pg_insert_fail(q.res, code, "service key", k->id, k->org_id, err);
    else
        k->created_ms = now;
    return pg_call_end(&q, code);
}

int pg_sa_key_find(struct roster_conn *pc, const char *key_id, struct roster_sa_key *out,
                   struct roster_arena *a, struct roster_err *err)
{
    return pg_get(
        pg_conn_of(pc),
        PG_STMT(-1, "SELECT " SA_COLS " FROM service_keys WHERE id = $1 AND revoked_ms IS NULL",
                PG_S(key_id)),
        &sa_rec, NULL, out, a, "service key", NULL, err);
}

int pg_sa_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    bool none;
    int code = pg_update(pg_conn_of(pc),
                         PG_WRITE(-1,
                                  "UPDATE service_keys SET revoked_ms = coalesce(revoked_ms,"
                                  " $2::bigint) WHERE id = $1",
                                  PG_S(key_id), PG_I(roster_now_ms())),
                         &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "service key \"%s\" not found",
                              key_id ? key_id : "");
    return code;
}

/* --- groups --- */

/* the fields of GROUP_COLS in a struct T whose group is at P (empty, or a member and a dot) */
#define GROUP_FIELDS(T, P)                                                                         \
    PG_COL(PG_I64, T, P num_id), PG_COL(PG_INT, T, P kind), PG_COL(PG_STR, T, P name),             \
        PG_COL(PG_I64, T, P parent_num_id), PG_COL(PG_STR, T, P extra),                            \
        PG_COL(PG_I64, T, P created_ms), PG_COL(PG_I64, T, P modified_ms),                         \
        PG_COL(PG_I64, T, P version)
static const struct pg_col group_cols[] = {GROUP_FIELDS(struct roster_group, )};
static const struct pg_rec group_rec =
    PG_REC(struct roster_group, group_cols, offsetof(struct roster_group, org_id));
/* a group of a user: the user's num_id, then the group */
static const struct pg_col membership_cols[] = {
    PG_COL(PG_I64, struct roster_membership, user_num_id),
    GROUP_FIELDS(struct roster_membership, g.)};
static const struct pg_rec membership_rec =
    PG_REC(struct roster_membership, membership_cols, offsetof(struct roster_membership, g.org_id));

/* pg_org_num, with a missing organisation ROSTER_ENOTFOUND (err set naming it). */
static int org_num_of(struct pg_conn *c, const char *org_id, int64_t *num, struct roster_arena *a,
                      struct roster_err *err)
{
    int code = pg_org_num(c, org_id, num, a, err);
    if (!code && !*num)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    return code;
}

/* 0 when row num_id of table (groups or users) belongs to org_num, else ROSTER_ENOTFOUND
 * naming what. */
static int owned(struct pg_conn *c, const char *table, int64_t org_num, int64_t num_id,
                 const char *what, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE num_id = $1 AND org_num = $2", table);
    pg_call_init(&q, c, a);
    pg_arg_int(&q.p, num_id);
    pg_arg_int(&q.p, org_num);
    int code = pg_call_run(&q, -1, sql, err);
    if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "%s %lld not found", what, (long long)num_id);
    return pg_call_end(&q, code);
}

static int group_write_fail(const PGresult *res, const struct roster_group *g, int code,
                            struct roster_err *err)
{
    const char *state = pg_sqlstate(res);
    if (!strcmp(state, "23505")) {
        roster_err_set(err, ROSTER_ECONFLICT, "name \"%.64s\" is already used", g->name);
        if (err)
            err->field = "name";
        return ROSTER_ECONFLICT;
    }
    if (!strcmp(state, "23502"))
        return roster_err_set(err, ROSTER_EINVAL, "a group needs a name");
    return code;
}

/* the values of g's row, once its organisation is found: $1 org_num, $2 kind, $3 name, $4
 * parent_num, $5 extra, $6 now */
#define GROUP_VALS(org_num, g, now)                                                                \
    PG_I(org_num), PG_I((g)->kind), PG_S((g)->name),                                               \
        (g)->parent_num_id ? PG_I((g)->parent_num_id) : PG_S(NULL), PG_S((g)->extra), PG_I(now)

/* Creates g, or with update writes it over its row (by g->num_id), once the organisation is
 * found and owns g's parent. A taken or missing name is mapped by group_write_fail. */
static int group_write(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                       bool update, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int64_t now = roster_now_ms(), org_num;
    int code = org_num_of(q.c, org_id, &org_num, q.a, err);
    if (!code && g->parent_num_id)
        code = owned(q.c, "groups", org_num, g->parent_num_id, "group", q.a, err);
    if (!code)
        code = pg_call_stmt(
            &q,
            update ? PG_WRITE(-1,
                              "UPDATE groups SET name = $3, parent_num = $4, extra = $5,"
                              " modified_ms = $6, version = version + 1"
                              " WHERE org_num = $1 AND kind = $2 AND num_id = $7 RETURNING version",
                              GROUP_VALS(org_num, g, now), PG_I(g->num_id))
                   : PG_WRITE(-1,
                              "INSERT INTO groups (org_num, kind, name, parent_num, extra,"
                              " created_ms, modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)"
                              " RETURNING num_id",
                              GROUP_VALS(org_num, g, now)),
            err);
    if (code) {
        code = group_write_fail(q.res, g, code, err);
    } else if (update && pg_call_none(&q)) {
        code = roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)g->num_id);
    } else if (update) {
        g->modified_ms = now;
        g->version = pg_col_int(q.res, 0, 0);
    } else {
        g->num_id = pg_col_int(q.res, 0, 0);
        g->version = 1;
        snprintf(g->org_id, sizeof(g->org_id), "%s", org_id);
        g->created_ms = g->modified_ms = now;
    }
    return pg_call_end(&q, code);
}

int pg_group_create(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    return group_write(pc, org_id, g, false, err);
}

int pg_group_list(struct roster_conn *pc, const char *org_id, const struct roster_group_query *q,
                  struct roster_arena *a, struct roster_group **out, size_t *n, int64_t *total,
                  struct roster_err *err)
{
    struct roster_buf where, from;
    struct pg_call r;
    pg_call_init(&r, pg_conn_of(pc), a);
    roster_buf_init(&where);
    roster_buf_init(&from);
    if (total)
        *total = q->want_total ? 0 : -1;
    pg_arg_str(&r.p, org_id);
    if (q->kind) {
        pg_arg_int(&r.p, q->kind);
        roster_buf_printf(&where, " AND g.kind = $%zu::integer", r.p.n);
    }
    if (q->num_id) {
        pg_arg_int(&r.p, q->num_id);
        roster_buf_printf(&where, " AND g.num_id = $%zu::bigint", r.p.n);
    }
    if (q->name) {
        pg_arg_str(&r.p, q->name);
        roster_buf_printf(&where, " AND g.name = $%zu::text", r.p.n);
    }
    if (q->name_part && q->name_part[0]) {
        pg_arg_str(&r.p, q->name_part);
        roster_buf_printf(&where, " AND strpos(lower(g.name), lower($%zu::text)) > 0", r.p.n);
    }
    if (q->parent_num_id) {
        pg_arg_int(&r.p, q->parent_num_id);
        roster_buf_printf(&where, " AND g.parent_num = $%zu::bigint", r.p.n);
    }
    roster_buf_printf(&from,
                      "groups AS g WHERE g.org_num = (SELECT num_id FROM orgs WHERE id = $1)%s",
                      where.data ? where.data : "");
    struct pg_page page = {GROUP_COLS,
                           from.data,
                           q->by_name ? "g.name, g.num_id" : "g.num_id",
                           total && q->want_total ? total : NULL,
                           q->limit,
                           q->skip};
    int code;
    *out = pg_page_rows(&r, &page, &group_rec, org_id, n, &code, err);
    roster_buf_release(&from);
    roster_buf_release(&where);
    return pg_call_end(&r, code);
}

int pg_group_update(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    return group_write(pc, org_id, g, true, err);
}

int pg_group_delete(struct roster_conn *pc, const char *org_id, int kind, int64_t num_id,
                    struct roster_err *err)
{
    struct pg_call q;
    int code = pg_call_tx(&q, pg_conn_of(pc), err);
    if (code)
        return pg_call_end(&q, code);
    code = pg_call_stmt(&q,
                        PG_STMT(-1,
                                "DELETE FROM groups WHERE org_num ="
                                " (SELECT num_id FROM orgs WHERE id = $1)"
                                " AND kind = $2 AND num_id = $3",
                                PG_S(org_id), PG_I(kind), PG_I(num_id)),
                        err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)num_id);
    if (!code) /* its memberships went with it: every list on it changed */
        code = pg_list_record(q.c, org_id, NULL, err);
    return pg_call_end(&q, pg_tx_finish(q.c, code, err));
}

/* "{1,2,3}": an int64 array as a PostgreSQL array literal, in the arena. */
static const char *int_array(const int64_t *v, size_t n, struct roster_arena *a)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addch(&b, '{');
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%lld", i ? "," : "", (long long)v[i]);
    roster_buf_addch(&b, '}');
    const char *s = roster_arena_strdup(a, b.data);
    roster_buf_release(&b);
    return s;
}

/* The first of ids[0..n) that is not a row of table in org_num (0: all are). */
static int first_missing(struct pg_conn *c, const char *table, int64_t org_num, const int64_t *ids,
                         size_t n, int64_t *missing, struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT x FROM unnest($1::bigint[]) WITH ORDINALITY AS t (x, i) WHERE NOT EXISTS"
             " (SELECT 1 FROM %s WHERE num_id = x AND org_num = $2) ORDER BY i LIMIT 1",
             table);
    pg_call_init(&q, c, a);
    pg_arg_str(&q.p, int_array(ids, n, a));
    pg_arg_int(&q.p, org_num);
    *missing = 0;
    int code = pg_call_run(&q, -1, sql, err);
    if (!code && PQntuples(q.res) == 1)
        *missing = pg_col_int(q.res, 0, 0);
    return pg_call_end(&q, code);
}

/* binds of at most this many (group, user) pairs are recorded user by user */
#define BIND_DETAIL_MAX 16

int pg_group_bind(struct roster_conn *pc, const char *org_id, const int64_t *groups, size_t ng,
                  const int64_t *users, size_t nu, bool bind, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    struct roster_arena *a = q.a;
    int64_t org_num, missing = 0;
    int code = org_num_of(c, org_id, &org_num, a, err);
    if (code == ROSTER_ENOTFOUND && ng)
        code = roster_err_set(err, code, "group %lld not found", (long long)groups[0]);
    if (!code)
        code = first_missing(c, "groups", org_num, groups, ng, &missing, a, err);
    if (!code && missing)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)missing);
    if (!code)
        code = first_missing(c, "users", org_num, users, nu, &missing, a, err);
    if (!code && missing)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "user %lld not found", (long long)missing);
    if (code)
        goto done;
    code = pg_tx_start(c, true, err);
    if (code)
        goto done;
    /* the lists: each user's change when there are few, else one reset */
    bool detail = ng * nu <= BIND_DETAIL_MAX && pg_list_wants_detail(c, org_id);
    struct roster_user **img = roster_arena_zalloc(a, (nu + 1) * sizeof(*img));
    int64_t **gb = roster_arena_zalloc(a, (nu + 1) * sizeof(*gb));
    size_t *ngb = roster_arena_zalloc(a, (nu + 1) * sizeof(*ngb));
    for (size_t j = 0; !code && detail && j < nu; j++)
        code = pg_user_image(c, org_id, NULL, users[j], a, &img[j], &gb[j], &ngb[j], err);
    if (!code) {
        pg_arg_str(&q.p, int_array(groups, ng, a));
        pg_arg_str(&q.p, int_array(users, nu, a));
        code =
            pg_call_run(&q, -1,
                        bind ? "INSERT INTO group_members (group_num, user_num, uname, dname, uid)"
                               " SELECT g, x.num_id, lower(x.username), x.display_name, x.id"
                               " FROM unnest($1::bigint[]) AS g, unnest($2::bigint[]) AS u"
                               " JOIN users AS x ON x.num_id = u"
                               " ON CONFLICT DO NOTHING"
                             : "DELETE FROM group_members WHERE group_num = ANY ($1::bigint[])"
                               " AND user_num = ANY ($2::bigint[])",
                        err);
    }
    if (!code && nu) { /* the groups' ETags: each changed (or may have) with its members */
        pg_args_init(&q.p, q.a);
        pg_arg_str(&q.p, int_array(groups, ng, a));
        pg_arg_int(&q.p, roster_now_ms());
        code = pg_call_run(&q, -1,
                           "UPDATE groups SET version = version + 1, modified_ms = $2"
                           " WHERE num_id = ANY ($1::bigint[])",
                           err);
    }
    for (size_t j = 0; !code && j < nu; j++) {
        if (!detail) {
            code = pg_list_record(c, org_id, NULL, err);
            break;
        }
        struct roster_user *now = NULL;
        int64_t *ga = NULL;
        size_t nga = 0;
        code = pg_user_image(c, org_id, NULL, users[j], a, &now, &ga, &nga, err);
        if (!code) {
            struct roster_change ch = {0, ROSTER_CHANGE_USER, img[j], now, gb[j], ga, ngb[j], nga};
            code = pg_list_record(c, org_id, &ch, err);
        }
    }
    code = pg_tx_finish(c, code, err);
done:
    return pg_call_end(&q, code);
}

int pg_group_memberships(struct roster_conn *pc, const char *org_id, const int64_t *users,
                         size_t nu, int kind, struct roster_arena *a,
                         struct roster_membership **out, size_t *n, struct roster_err *err)
{
    int code;
    *out = pg_select(pg_conn_of(pc),
                     PG_STMT(-1,
                             "SELECT t.u, " GROUP_COLS " FROM unnest($1::bigint[]) WITH ORDINALITY"
                             " AS t (u, i) JOIN group_members AS m ON m.user_num = t.u"
                             " JOIN groups AS g ON g.num_id = m.group_num"
                             " WHERE g.org_num = (SELECT num_id FROM orgs WHERE id = $2)"
                             " AND g.kind = $3::integer ORDER BY t.i, g.num_id",
                             PG_S(int_array(users, nu, a)), PG_S(org_id), PG_I(kind)),
                     &membership_rec, org_id, a, n, &code, err);
    return code;
}

/* a member of a group: user num_id, id, username, display name */
static const struct pg_col member_cols[] = {
    PG_COL(PG_I64, struct roster_group_member, user_num_id),
    PG_COL(PG_BUF, struct roster_group_member, user_id),
    PG_COL(PG_STR, struct roster_group_member, username),
    PG_COL(PG_STR, struct roster_group_member, display_name)};
static const struct pg_rec member_rec = PG_REC(struct roster_group_member, member_cols, -1);

int pg_group_members(struct roster_conn *pc, const char *org_id, int64_t group_num, int64_t after,
                     int64_t limit, struct roster_arena *a, struct roster_group_member **out,
                     size_t *n, struct roster_err *err)
{
    int code;
    *out = pg_select(pg_conn_of(pc),
                     PG_STMT(-1,
                             "SELECT u.num_id, u.id, u.username, u.display_name FROM groups AS g"
                             " JOIN group_members AS m ON m.group_num = g.num_id"
                             " JOIN users AS u ON u.num_id = m.user_num"
                             " WHERE g.num_id = $1 AND g.org_num ="
                             " (SELECT num_id FROM orgs WHERE id = $2) AND m.user_num > $3"
                             " ORDER BY m.user_num LIMIT $4",
                             PG_I(group_num), PG_S(org_id), PG_I(after),
                             PG_I(limit < 0 ? INT64_MAX : limit)),
                     &member_rec, org_id, a, n, &code, err);
    return code;
}

/* --- password hashes --- */

/* a password hash (or NULL) */
static const struct pg_col hash_cols[] = {{PG_STR, 0, sizeof(const char *)}};
static const struct pg_rec hash_rec = PG_REC(const char *, hash_cols, -1);

int pg_user_secret_set(struct roster_conn *pc, const char *org_id, const char *user_id,
                       const char *hash, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    /* one statement: the user's row (or none) drives both the write and the answer */
    int code = pg_call_stmt(&q,
                            PG_WRITE(-1,
                                     hash ? "WITH u AS (SELECT num_id FROM users WHERE org_num ="
                                            " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2)"
                                            " , w AS (INSERT INTO user_secrets (user_num,"
                                            " password_hash) SELECT num_id, $3 FROM u"
                                            " ON CONFLICT (user_num) DO UPDATE"
                                            " SET password_hash = excluded.password_hash)"
                                            " SELECT count(*) FROM u"
                                          : "WITH u AS (SELECT num_id FROM users WHERE org_num ="
                                            " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2)"
                                            " , w AS (DELETE FROM user_secrets WHERE user_num IN"
                                            " (SELECT num_id FROM u) AND $3::text IS NULL)"
                                            " SELECT count(*) FROM u",
                                     PG_S(org_id), PG_S(user_id), PG_S(hash)),
                            err);
    if (!code && pg_col_int(q.res, 0, 0) == 0)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    return pg_call_end(&q, code);
}

int pg_user_secret_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                       struct roster_arena *a, const char **hash, struct roster_err *err)
{
    *hash = NULL;
    return pg_get(pg_conn_of(pc),
                  PG_STMT(-1,
                          "SELECT s.password_hash FROM users AS u LEFT JOIN user_secrets AS s"
                          " ON s.user_num = u.num_id WHERE u.org_num ="
                          " (SELECT num_id FROM orgs WHERE id = $1) AND u.id = $2",
                          PG_S(org_id), PG_S(user_id)),
                  &hash_rec, NULL, hash, a, "user", user_id ? user_id : "", err);
}
