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
#define GROUP_COLS "g.num_id, g.kind, g.name, g.parent_num, g.extra, g.created_ms, g.modified_ms"

static void read_sa(const PGresult *r, int row, struct roster_sa_key *k, struct roster_arena *a)
{
    memset(k, 0, sizeof(*k));
    pg_col_id(r, row, 0, k->id);
    pg_col_id(r, row, 1, k->org_id);
    k->name = pg_col_str(r, row, 2, a);
    k->public_key_pem = pg_col_str(r, row, 3, a);
    k->created_ms = pg_col_int(r, row, 4);
    k->revoked_ms = pg_col_int(r, row, 5);
}

int pg_sa_key_create(struct roster_conn *pc, struct roster_sa_key *k, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    if (!k->id[0])
        roster_id_new(k->id);
    int64_t now = roster_now_ms();
    pg_arg_str(&q.p, k->id);
    pg_arg_str(&q.p, k->org_id);
    pg_arg_str(&q.p, k->name);
    pg_arg_str(&q.p, k->public_key_pem ? k->public_key_pem : "");
    pg_arg_int(&q.p, now);
    int code = pg_call_write1(&q, -1,
                              "INSERT INTO service_keys (id, org_id, name, public_key, created_ms)"
                              " VALUES ($1, $2, $3, $4, $5)",
                              err);
    if (code) {
        const char *state = pg_sqlstate(q.res);
        if (!strcmp(state, "23503"))
            code =
                roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", k->org_id);
        else if (!strcmp(state, "23505"))
            code =
                roster_err_set(err, ROSTER_ECONFLICT, "service key \"%s\" already exists", k->id);
    } else {
        k->created_ms = now;
    }
    return pg_call_end(&q, code);
}

int pg_sa_key_find(struct roster_conn *pc, const char *key_id, struct roster_sa_key *out,
                   struct roster_arena *a, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    pg_arg_str(&q.p, key_id);
    int code = pg_call_run(
        &q, -1, "SELECT " SA_COLS " FROM service_keys WHERE id = $1 AND revoked_ms IS NULL", err);
    if (!code && PQntuples(q.res) == 1)
        read_sa(q.res, 0, out, a);
    else if (!code)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "service key not found");
    return pg_call_end(&q, code);
}

int pg_sa_key_revoke(struct roster_conn *pc, const char *key_id, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, key_id);
    pg_arg_int(&q.p, roster_now_ms());
    int code =
        pg_call_write1(&q, -1,
                       "UPDATE service_keys SET revoked_ms = coalesce(revoked_ms, $2::bigint)"
                       " WHERE id = $1",
                       err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "service key \"%s\" not found",
                              key_id ? key_id : "");
    return pg_call_end(&q, code);
}

/* --- groups --- */

static void read_group(const PGresult *r, int row, int col, const char *org_id,
                       struct roster_group *g, struct roster_arena *a)
{
    memset(g, 0, sizeof(*g));
    g->num_id = pg_col_int(r, row, col);
    snprintf(g->org_id, sizeof(g->org_id), "%s", org_id);
    g->kind = (int)pg_col_int(r, row, col + 1);
    g->name = pg_col_str(r, row, col + 2, a);
    g->parent_num_id = pg_col_int(r, row, col + 3);
    g->extra = pg_col_str(r, row, col + 4, a);
    g->created_ms = pg_col_int(r, row, col + 5);
    g->modified_ms = pg_col_int(r, row, col + 6);
}

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

/* Writes g with sql, a create or an update (update: g->num_id is $7), once the organisation
 * is found and owns g's parent: $1 org_num, $2 kind, $3 name, $4 parent_num, $5 extra, $6
 * now, the statement of q. A taken or missing name is mapped by group_write_fail. */
static int group_write(struct pg_call *q, const char *org_id, const struct roster_group *g,
                       bool update, const char *sql, int64_t now, struct roster_err *err)
{
    int64_t org_num;
    int code = org_num_of(q->c, org_id, &org_num, q->a, err);
    if (!code && g->parent_num_id)
        code = owned(q->c, "groups", org_num, g->parent_num_id, "group", q->a, err);
    if (code)
        return code;
    pg_arg_int(&q->p, org_num);
    pg_arg_int(&q->p, g->kind);
    pg_arg_str(&q->p, g->name);
    if (g->parent_num_id)
        pg_arg_int(&q->p, g->parent_num_id);
    else
        pg_arg_str(&q->p, NULL);
    pg_arg_str(&q->p, g->extra);
    pg_arg_int(&q->p, now);
    if (update)
        pg_arg_int(&q->p, g->num_id);
    code = pg_call_write1(q, -1, sql, err);
    return code ? group_write_fail(q->res, g, code, err) : 0;
}

int pg_group_create(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int64_t now = roster_now_ms();
    int code = group_write(&q, org_id, g, false,
                           "INSERT INTO groups (org_num, kind, name, parent_num, extra, created_ms,"
                           " modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING num_id",
                           now, err);
    if (!code) {
        g->num_id = pg_col_int(q.res, 0, 0);
        snprintf(g->org_id, sizeof(g->org_id), "%s", org_id);
        g->created_ms = g->modified_ms = now;
    }
    return pg_call_end(&q, code);
}

int pg_group_list(struct roster_conn *pc, const char *org_id, const struct roster_group_query *q,
                  struct roster_arena *a, struct roster_group **out, size_t *n, int64_t *total,
                  struct roster_err *err)
{
    struct roster_buf where, sql;
    struct pg_call r;
    pg_call_init(&r, pg_conn_of(pc), a);
    roster_buf_init(&where);
    roster_buf_init(&sql);
    *out = NULL;
    *n = 0;
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
    const char *w = where.data ? where.data : "";
    int code = 0;
    if (total && q->want_total) {
        roster_buf_printf(&sql,
                          "SELECT count(*) FROM groups AS g WHERE g.org_num ="
                          " (SELECT num_id FROM orgs WHERE id = $1)%s",
                          w);
        code = pg_count(r.c, sql.data, &r.p, total, err);
        if (code)
            goto done;
    }
    if (q->limit == 0)
        goto done;
    const char *page = pg_query_page(&r.p, q->limit, q->skip);
    roster_buf_reset(&sql);
    roster_buf_printf(&sql,
                      "SELECT " GROUP_COLS " FROM groups AS g WHERE g.org_num ="
                      " (SELECT num_id FROM orgs WHERE id = $1)%s ORDER BY g.num_id%s",
                      w, page);
    code = pg_call_run(&r, -1, sql.data, err);
    if (code)
        goto done;
    struct roster_group *v = pg_rows(r.res, a, sizeof(*v), n);
    for (size_t i = 0; i < *n; i++)
        read_group(r.res, (int)i, 0, org_id, &v[i], a);
    *out = v;
done:
    roster_buf_release(&sql);
    roster_buf_release(&where);
    return pg_call_end(&r, code);
}

int pg_group_update(struct roster_conn *pc, const char *org_id, struct roster_group *g,
                    struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int64_t now = roster_now_ms();
    int code = group_write(&q, org_id, g, true,
                           "UPDATE groups SET name = $3, parent_num = $4, extra = $5,"
                           " modified_ms = $6 WHERE org_num = $1 AND kind = $2 AND num_id = $7",
                           now, err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)g->num_id);
    else if (!code)
        g->modified_ms = now;
    return pg_call_end(&q, code);
}

int pg_group_delete(struct roster_conn *pc, const char *org_id, int kind, int64_t num_id,
                    struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, org_id);
    pg_arg_int(&q.p, kind);
    pg_arg_int(&q.p, num_id);
    int code = pg_tx_start(q.c, true, err);
    if (code)
        return pg_call_end(&q, code);
    code = pg_call_run(&q, -1,
                       "DELETE FROM groups WHERE org_num = (SELECT num_id FROM orgs WHERE id = $1)"
                       " AND kind = $2 AND num_id = $3",
                       err);
    if (!code && pg_call_none(&q))
        code = roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)num_id);
    if (!code) /* its memberships went with it: every list on it changed */
        code = pg_list_record(q.c, org_id, NULL, err);
    int end = pg_tx_end(q.c, true, code == 0, code ? NULL : err);
    if (!code)
        code = end;
    return pg_call_end(&q, code);
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
    int end = pg_tx_end(c, true, code == 0, code ? NULL : err);
    if (!code)
        code = end;
done:
    return pg_call_end(&q, code);
}

int pg_group_memberships(struct roster_conn *pc, const char *org_id, const int64_t *users,
                         size_t nu, int kind, struct roster_arena *a,
                         struct roster_membership **out, size_t *n, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    *out = NULL;
    *n = 0;
    pg_arg_str(&q.p, int_array(users, nu, a));
    pg_arg_str(&q.p, org_id);
    pg_arg_int(&q.p, kind);
    int code = pg_call_run(&q, -1,
                           "SELECT t.u, " GROUP_COLS " FROM unnest($1::bigint[]) WITH ORDINALITY"
                           " AS t (u, i) JOIN group_members AS m ON m.user_num = t.u"
                           " JOIN groups AS g ON g.num_id = m.group_num"
                           " WHERE g.org_num = (SELECT num_id FROM orgs WHERE id = $2)"
                           " AND g.kind = $3::integer ORDER BY t.i, g.num_id",
                           err);
    if (!code) {
        struct roster_membership *v = pg_rows(q.res, a, sizeof(*v), n);
        for (size_t i = 0; i < *n; i++) {
            v[i].user_num_id = pg_col_int(q.res, (int)i, 0);
            read_group(q.res, (int)i, 1, org_id, &v[i].g, a);
        }
        *out = v;
    }
    return pg_call_end(&q, code);
}

/* --- password hashes --- */

int pg_user_secret_set(struct roster_conn *pc, const char *org_id, const char *user_id,
                       const char *hash, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, user_id);
    pg_arg_str(&q.p, hash);
    /* one statement: the user's row (or none) drives both the write and the answer */
    int code = pg_call_write1(&q, -1,
                              hash ? "WITH u AS (SELECT num_id FROM users WHERE org_num ="
                                     " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2)"
                                     " , w AS (INSERT INTO user_secrets (user_num, password_hash)"
                                     " SELECT num_id, $3 FROM u ON CONFLICT (user_num) DO UPDATE"
                                     " SET password_hash = excluded.password_hash)"
                                     " SELECT count(*) FROM u"
                                   : "WITH u AS (SELECT num_id FROM users WHERE org_num ="
                                     " (SELECT num_id FROM orgs WHERE id = $1) AND id = $2)"
                                     " , w AS (DELETE FROM user_secrets WHERE user_num IN"
                                     " (SELECT num_id FROM u) AND $3::text IS NULL)"
                                     " SELECT count(*) FROM u",
                              err);
    if (!code && pg_col_int(q.res, 0, 0) == 0)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    return pg_call_end(&q, code);
}

int pg_user_secret_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                       struct roster_arena *a, const char **hash, struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    *hash = NULL;
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, user_id);
    int code = pg_call_run(&q, -1,
                           "SELECT s.password_hash FROM users AS u LEFT JOIN user_secrets AS s"
                           " ON s.user_num = u.num_id WHERE u.org_num ="
                           " (SELECT num_id FROM orgs WHERE id = $1) AND u.id = $2",
                           err);
    if (!code && PQntuples(q.res) == 1)
        *hash = pg_col_str(q.res, 0, 0, a);
    else if (!code)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    return pg_call_end(&q, code);
}
