/* PostgreSQL store: users. create/get/update/delete run through prepared
 * statements built from roster_ufields[] (one column per field); user_list
 * translates a struct roster_query into SQL whose values are all parameters,
 * with the SQLite store's semantics (NE matches NULL, PREFIX in byte order,
 * SEARCH folds ASCII case, NULL first in ascending sorts). Every statement is
 * scoped by the organisation (rows carry its num_id), so another organisation's
 * user is exactly as absent as a missing one.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/store_keys.h"

/* result columns of the user SELECT */
enum {
    UC_NUM_ID = 0,
    UC_ID = 1,
    UC_FIELDS = 2, /* RU_NFIELDS columns */
    UC_STATE = UC_FIELDS + RU_NFIELDS,
    UC_CREATED,
    UC_MODIFIED,
    UC_VERSION,
};

/* parameters of PG_USER_INSERT / PG_USER_UPDATE: $1 id, $2 org id, $3.. fields,
 * then these */
enum {
    UP_FIELDS = 3,
    UP_STATE = UP_FIELDS + RU_NFIELDS,
    UP_TIME,    /* created_ms (insert) or modified_ms (update) */
    UP_VERSION, /* update: the version the caller read */
};

#define ORG_NUM_OF(n) "(SELECT num_id FROM orgs WHERE id = $" #n ")"

static void add_columns(struct roster_buf *b)
{
    roster_buf_addstr(b, "num_id, id");
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_buf_printf(b, ", %s", roster_ufields[i].column);
    roster_buf_addstr(b, ", state, created_ms, modified_ms, version");
}

static void users_sql(int id, struct roster_buf *b)
{
    switch (id) {
    case PG_USER_INSERT:
        roster_buf_addstr(b, "INSERT INTO users (id, org_num");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", %s", roster_ufields[i].column);
        roster_buf_addstr(b, ", state, created_ms, modified_ms, version) SELECT $1, o.num_id");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", $%d", UP_FIELDS + i);
        roster_buf_printf(b,
                          ", $%d::integer, $%d::bigint, $%d::bigint, 1 FROM orgs o "
                          "WHERE o.id = $2"
                          " RETURNING num_id",
                          UP_STATE, UP_TIME, UP_TIME);
        break;
    case PG_USER_GET:
        roster_buf_addstr(b, "SELECT ");
        add_columns(b);
        roster_buf_addstr(b, " FROM users WHERE org_num = " ORG_NUM_OF(1) " AND id = $2");
        break;
    case PG_USER_UPDATE:
        roster_buf_addstr(b, "UPDATE users SET ");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, "%s = $%d, ", roster_ufields[i].column, UP_FIELDS + i);
        roster_buf_printf(
            b,
            "state = $%d, modified_ms = $%d, version = version + 1"
            " WHERE org_num = " ORG_NUM_OF(2) " AND id = $1 AND version = $%d"
                                              " RETURNING num_id, created_ms, version",
            UP_STATE, UP_TIME, UP_VERSION);
        break;
    case PG_USER_UPDATE_STATE:
        /* a change of state alone leaves every index untouched */
        roster_buf_addstr(
            b, "UPDATE users SET state = $3, modified_ms = $4, version = version + 1"
               " WHERE org_num = " ORG_NUM_OF(2) " AND id = $1 AND version = $5"
                                                 " RETURNING num_id, created_ms, version");
        break;
    case PG_USER_EXISTS:
        roster_buf_addstr(b, "SELECT 1 FROM users WHERE org_num = " ORG_NUM_OF(1) " AND id = $2");
        break;
    case PG_USER_DELETE:
        roster_buf_addstr(b, "DELETE FROM users WHERE org_num = " ORG_NUM_OF(1) " AND id = $2");
        break;
    default:
        break;
    }
}

/* Runs the prepared users statement id (its SQL built on first use). */
static int run_user(struct pg_conn *c, int id, const struct pg_args *p, PGresult **res,
                    struct roster_err *err)
{
    struct roster_buf sql;
    roster_buf_init(&sql);
    users_sql(id, &sql);
    int code = pg_run(c, id, sql.data, p, res, err);
    roster_buf_release(&sql);
    return code;
}

static void read_user(const PGresult *r, int row, const char *org_id, struct roster_user *u,
                      struct roster_arena *a)
{
    memset(u, 0, sizeof(*u));
    u->num_id = pg_col_int(r, row, UC_NUM_ID);
    pg_col_id(r, row, UC_ID, u->id);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        u->f[i] = pg_col_str(r, row, UC_FIELDS + i, a);
    u->state = (int)pg_col_int(r, row, UC_STATE);
    u->created_ms = pg_col_int(r, row, UC_CREATED);
    u->modified_ms = pg_col_int(r, row, UC_MODIFIED);
    u->version = pg_col_int(r, row, UC_VERSION);
}

static void user_args(struct pg_args *p, const char *org_id, const struct roster_user *u,
                      int64_t now)
{
    pg_arg_str(p, u->id);
    pg_arg_str(p, org_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        pg_arg_str(p, u->f[i]);
    pg_arg_int(p, u->state);
    pg_arg_int(p, now);
}

/* Maps a failed write of u: a unique index -> ROSTER_ECONFLICT naming the
 * field. */
static int user_write_fail(struct pg_conn *c, const PGresult *res, const struct roster_user *u,
                           struct roster_err *err)
{
    static const struct {
        const char *index;
        int field;
    } uniq[] = {
        {"users_org_username", RU_USERNAME},
        {"users_org_email", RU_EMAIL},
        {"users_org_employee_id", RU_EMPLOYEE_ID},
    };
    if (strcmp(pg_sqlstate(res), "23505") != 0)
        return pg_fail(c, res, err);
    const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    for (size_t i = 0; cons && i < sizeof(uniq) / sizeof(uniq[0]); i++) {
        if (strcmp(cons, uniq[i].index) != 0)
            continue;
        const struct roster_ufield_info *f = &roster_ufields[uniq[i].field];
        const char *v = u->f[uniq[i].field];
        roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", f->label, v ? v : "");
        if (err)
            err->field = f->label;
        return roster_err_detail(err, "postgres: %s", PQresultErrorMessage(res));
    }
    roster_err_set(err, ROSTER_ECONFLICT, "user id \"%s\" already exists", u->id);
    if (err)
        err->field = "id";
    return roster_err_detail(err, "postgres: %s", PQresultErrorMessage(res));
}

int pg_user_create(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    struct pg_args p;
    PGresult *res = NULL;
    roster_arena_init(&a, 0);
    pg_args_init(&p, &a);
    bool new_id = !u->id[0];
    if (new_id)
        roster_id_new(u->id);
    int64_t now = roster_now_ms();
    user_args(&p, org_id ? org_id : "", u, now);
    int code = pg_tx_start(c, false, err);
    if (code)
        goto done;
    code = run_user(c, PG_USER_INSERT, &p, &res, err);
    if (code)
        code = user_write_fail(c, res, u, err);
    else if (PQntuples(res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    int end = pg_tx_end(c, false, code == 0, err);
    if (!code)
        code = end;
    if (code)
        goto done;
    u->num_id = pg_col_int(res, 0, 0);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    u->created_ms = u->modified_ms = now;
    u->version = 1;
done:
    if (code && new_id)
        u->id[0] = '\0';
    PQclear(res);
    roster_arena_release(&a);
    return code;
}

int pg_user_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                struct roster_user *out, struct roster_arena *a, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_args p;
    PGresult *res = NULL;
    pg_args_init(&p, a);
    pg_arg_str(&p, org_id);
    pg_arg_str(&p, user_id);
    int code = run_user(c, PG_USER_GET, &p, &res, err);
    if (code)
        goto done;
    if (PQntuples(res) == 1)
        read_user(res, 0, org_id, out, a);
    else
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
done:
    PQclear(res);
    return code;
}

int pg_user_update(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    struct pg_args p;
    PGresult *res = NULL;
    roster_arena_init(&a, 0);
    pg_args_init(&p, &a);
    bool state_only = u->set == ROSTER_USET_STATE;
    int64_t now = roster_now_ms();
    if (state_only) {
        pg_arg_str(&p, u->id);
        pg_arg_str(&p, org_id);
        pg_arg_int(&p, u->state);
        pg_arg_int(&p, now);
    } else {
        user_args(&p, org_id, u, now);
    }
    pg_arg_int(&p, u->version);
    int code = pg_tx_start(c, false, err);
    if (code)
        goto done;
    code = run_user(c, state_only ? PG_USER_UPDATE_STATE : PG_USER_UPDATE, &p, &res, err);
    if (code) {
        code = user_write_fail(c, res, u, err);
    } else if (PQntuples(res) == 1) {
        u->num_id = pg_col_int(res, 0, 0);
        u->created_ms = pg_col_int(res, 0, 1);
        u->version = pg_col_int(res, 0, 2);
        u->modified_ms = now;
        snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    } else {
        /* no row changed: either there is no such user (here) or someone else wrote
         * it */
        PQclear(res);
        res = NULL;
        struct pg_args e;
        pg_args_init(&e, &a);
        pg_arg_str(&e, org_id);
        pg_arg_str(&e, u->id);
        code = run_user(c, PG_USER_EXISTS, &e, &res, err);
        if (!code && PQntuples(res) > 0)
            code = roster_err_set(err, ROSTER_ESTALE, "user \"%s\" was changed by another request",
                                  u->id);
        else if (!code)
            code = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", u->id);
    }
    int end = pg_tx_end(c, false, code == 0, err);
    if (!code)
        code = end;
done:
    PQclear(res);
    roster_arena_release(&a);
    return code;
}

int pg_user_delete(struct roster_conn *pc, const char *org_id, const char *user_id,
                   struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    struct pg_args p;
    PGresult *res = NULL;
    roster_arena_init(&a, 0);
    pg_args_init(&p, &a);
    pg_arg_str(&p, org_id);
    pg_arg_str(&p, user_id);
    int code = pg_tx_start(c, false, err);
    if (code)
        goto done;
    code = run_user(c, PG_USER_DELETE, &p, &res, err);
    if (!code && strcmp(PQcmdTuples(res), "0") == 0)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    int end = pg_tx_end(c, false, code == 0, err);
    if (!code)
        code = end;
done:
    PQclear(res);
    roster_arena_release(&a);
    return code;
}

/* --- user_list: struct roster_query -> SQL with parameters --- */

int pg_user_list(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
                 struct roster_err *err)
{
    return pg_user_list_grouped(pc, org_id, q, NULL, 0, a, out, n, total, err);
}

/* user_list with group membership conditions (pg_groups.c has the other group methods) */
int pg_user_list_grouped(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                         const struct roster_group_cond *conds, size_t ncond,
                         struct roster_arena *a, struct roster_user **out, size_t *n,
                         int64_t *total, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_query w = {.a = a, .column = roster_store_user_column};
    struct roster_buf sql;
    PGresult *res = NULL;
    int code = 0;
    roster_buf_init(&w.where);
    roster_buf_init(&sql);
    pg_args_init(&w.args, a);
    pg_arg_str(&w.args, org_id);
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;

    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++) {
        code = pg_query_add_filter(&w, &q->filters[i], err);
        if (code)
            goto done;
    }
    if (q->search && q->search[0]) {
        pg_arg_str(&w.args, q->search);
        roster_buf_addstr(&w.where, " AND (");
        static const int searched[] = {RU_USERNAME, RU_EMAIL, RU_FIRST_NAME, RU_LAST_NAME};
        for (size_t i = 0; i < sizeof(searched) / sizeof(searched[0]); i++)
            roster_buf_printf(&w.where, "%sstrpos(lower(%s), lower($%zu::text)) > 0",
                              i ? " OR " : "", roster_ufields[searched[i]].column, w.args.n);
        roster_buf_addch(&w.where, ')');
    }
    for (size_t i = 0; i < ncond; i++) {
        pg_arg_int(&w.args, conds[i].group_num_id);
        roster_buf_printf(&w.where,
                          " AND %sEXISTS (SELECT 1 FROM group_members AS m"
                          " WHERE m.group_num = $%zu::bigint AND m.user_num = users.num_id)",
                          conds[i].member ? "" : "NOT ", w.args.n);
    }
    const char *where = w.where.data ? w.where.data : "";

    if (total && q->want_total) {
        roster_buf_printf(&sql, "SELECT count(*) FROM users WHERE org_num = " ORG_NUM_OF(1) "%s",
                          where);
        code = pg_run(c, -1, sql.data, &w.args, &res, err);
        if (code)
            goto done;
        *total = pg_col_int(res, 0, 0);
        PQclear(res);
        res = NULL;
    }
    if (q->limit == 0)
        goto done; /* count only */

    roster_buf_reset(&sql);
    roster_buf_addstr(&sql, "SELECT ");
    add_columns(&sql);
    roster_buf_printf(&sql, " FROM users WHERE org_num = " ORG_NUM_OF(1) "%s ORDER BY ", where);
    for (size_t i = 0; i < q->nsorts && i < ROSTER_QUERY_MAX_SORTS; i++) {
        const char *col = roster_store_user_column(q->sorts[i].key);
        if (!col) {
            code = roster_err_set(err, ROSTER_EINVAL, "unknown sort field %d", q->sorts[i].key);
            goto done;
        }
        /* like SQLite: NULL sorts before every value */
        roster_buf_printf(&sql, "%s%s, ", col,
                          q->sorts[i].desc ? " DESC NULLS LAST" : " ASC NULLS FIRST");
    }
    /* a negative limit means no limit (LIMIT NULL) */
    if (q->limit < 0)
        pg_arg_str(&w.args, NULL);
    else
        pg_arg_int(&w.args, q->limit);
    pg_arg_int(&w.args, q->skip > 0 ? q->skip : 0);
    roster_buf_printf(&sql, "id LIMIT $%zu::bigint OFFSET $%zu::bigint", w.args.n - 1, w.args.n);
    code = pg_run(c, -1, sql.data, &w.args, &res, err);
    if (code)
        goto done;
    int rows = PQntuples(res);
    struct roster_user *v = roster_arena_alloc(a, (size_t)(rows ? rows : 1) * sizeof(*v));
    for (int i = 0; i < rows; i++)
        read_user(res, i, org_id, &v[i], a);
    *out = v;
    *n = (size_t)rows;
done:
    PQclear(res);
    roster_buf_release(&sql);
    roster_buf_release(&w.where);
    return code;
}
