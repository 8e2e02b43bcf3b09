/* PostgreSQL store: users. create/get/update/delete run through prepared
 * statements built from roster_ufields[] (one column per field); user_list
 * translates a struct roster_query into SQL whose values are all parameters,
 * with the SQLite store's semantics (NE matches NULL, PREFIX in byte order,
 * SEARCH folds ASCII case, NULL first in ascending sorts). Every statement is
 * scoped by the organisation (rows carry its num_id), so another organisation's
 * user is exactly as absent as a missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/postgres/pg_int.h"
#include "store/sqlgen.h"
#include "store/store_keys.h"

/* parameters of PG_USER_INSERT / PG_USER_UPDATE: $1 id, $2 org id, $3.. fields,
 * then these */
enum {
    UP_FIELDS = 3,
    UP_STATE = UP_FIELDS + RU_NFIELDS,
    UP_TIME,    /* created_ms (insert) or modified_ms (update) */
    UP_VERSION, /* update: the version the caller read */
};

static void users_sql(int id, struct roster_buf *b)
{
    switch (id) {
    case PG_USER_INSERT:
        roster_buf_addstr(b, "INSERT INTO users (");
        sg_user_row_columns(b, false);
        roster_buf_addstr(b, ") SELECT $1, o.num_id");
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
        sg_user_columns(b, SG_PG, "users");
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
    case PG_USER_GET_MANY:
        roster_buf_addstr(b, "SELECT ");
        sg_user_columns(b, SG_PG, "users");
        roster_buf_addstr(b,
                          " FROM users WHERE org_num = " ORG_NUM_OF(1) " AND id = ANY($2::text[])");
        break;
    case PG_USER_EXISTS_MANY:
        roster_buf_addstr(
            b, "SELECT id FROM users WHERE org_num = " ORG_NUM_OF(1) " AND id = ANY($2::text[])");
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

/* Runs the prepared users statement id (its SQL built on first use) as q's statement. */
static int run_user(struct pg_call *q, int id, struct roster_err *err)
{
    struct roster_buf sql;
    roster_buf_init(&sql);
    users_sql(id, &sql);
    int code = pg_call_run(q, id, sql.data, err);
    roster_buf_release(&sql);
    return code;
}

static void read_user(const PGresult *r, int row, const char *org_id, void *u,
                      struct roster_arena *a)
{
    pg_read_user(r, row, 0, org_id, u, a);
}

/* a users row of PG_USER_GET */
static const struct pg_rec user_rec = {sizeof(struct roster_user), NULL, 0, -1, read_user};

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

/* The parameters of the update of u; returns its statement (a change of state alone
 * writes just that, see user_update in store.h). */
static int update_args(struct pg_args *p, const char *org_id, const struct roster_user *u,
                       int64_t now)
{
    bool state_only = u->set == ROSTER_USET_STATE;
    if (state_only) {
        pg_arg_str(p, u->id);
        pg_arg_str(p, org_id);
        pg_arg_int(p, u->state);
        pg_arg_int(p, now);
    } else {
        user_args(p, org_id, u, now);
    }
    pg_arg_int(p, u->version);
    return state_only ? PG_USER_UPDATE_STATE : PG_USER_UPDATE;
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
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    bool new_id = !u->id[0];
    if (new_id)
        roster_id_new(u->id);
    int64_t now = roster_now_ms();
    user_args(&q.p, org_id ? org_id : "", u, now);
    /* the row and its list change record in one transaction (a savepoint in the caller's) */
    int code = pg_tx_start(c, true, err);
    if (code)
        goto out;
    code = run_user(&q, PG_USER_INSERT, err);
    if (code && !strcmp(pg_sqlstate(q.res), "23505"))
        code = user_write_fail(c, q.res, u, err);
    else if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    if (code)
        goto done;
    u->num_id = pg_col_int(q.res, 0, 0);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    u->created_ms = u->modified_ms = now;
    u->version = 1;
    if (pg_list_wants_detail(c, org_id)) {
        struct roster_change ch = {0, ROSTER_CHANGE_USER, NULL, u, NULL, NULL, 0, 0};
        code = pg_list_record(c, org_id, &ch, err);
    } else {
        code = pg_list_record(c, org_id, NULL, err);
    }
done:;
    code = pg_tx_finish(c, code, err);
out:
    if (code && new_id)
        u->id[0] = '\0';
    return pg_call_end(&q, code);
}

int pg_user_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                struct roster_user *out, struct roster_arena *a, struct roster_err *err)
{
    struct roster_buf sql;
    roster_buf_init(&sql);
    users_sql(PG_USER_GET, &sql);
    int code = pg_get(pg_conn_of(pc), PG_STMT(PG_USER_GET, sql.data, PG_S(org_id), PG_S(user_id)),
                      &user_rec, org_id, out, a, "user", user_id ? user_id : "", err);
    roster_buf_release(&sql);
    return code;
}

/* Prepares the users statement id (as r<id>) on c unless done: pipelines can only
 * execute prepared statements. */
static int prepare_user(struct pg_conn *c, int id, int nparams, struct roster_err *err)
{
    if (c->prepared[id])
        return 0;
    char name[16];
    snprintf(name, sizeof(name), "r%d", id);
    struct roster_buf sql;
    roster_buf_init(&sql);
    users_sql(id, &sql);
    PGresult *pr = PQprepare(c->db, name, sql.data, nparams, NULL);
    roster_buf_release(&sql);
    int code = PQresultStatus(pr) == PGRES_COMMAND_OK ? 0 : pg_fail(c, pr, err);
    PQclear(pr);
    c->prepared[id] = code == 0;
    return code;
}

/* The result of the next query of a pipeline, and the NULL that ends it; *broken when
 * either is missing (the connection failed). */
static PGresult *pipeline_take(struct pg_conn *c, bool *broken)
{
    PGresult *r = PQgetResult(c->db);
    if (!r) {
        *broken = true;
        return NULL;
    }
    PGresult *end = PQgetResult(c->db);
    if (end) {
        PQclear(end);
        *broken = true;
    }
    return r;
}

/* Runs the prepared users statement id inside SAVEPOINT ... RELEASE, the three in one round
 * trip (pipeline mode) instead of three: a bulk update job sends one such statement per
 * item. On failure (*res holds the statement's error, or is NULL) the savepoint is rolled
 * back, so the caller's transaction stays usable. Only inside a caller's transaction. */
static int run_user_savepointed(struct pg_conn *c, int id, const struct pg_args *p, PGresult **res,
                                struct roster_err *err)
{
    char name[16];
    snprintf(name, sizeof(name), "r%d", id);
    *res = NULL;
    int prep = prepare_user(c, id, (int)p->n, err);
    if (prep)
        return prep;
    if (!PQenterPipelineMode(c->db))
        return pg_fail(c, NULL, err);
    bool broken =
        !PQsendQueryParams(c->db, "SAVEPOINT roster_m", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQsendQueryPrepared(c->db, name, (int)p->n, p->v, NULL, NULL, 0) ||
        !PQsendQueryParams(c->db, "RELEASE SAVEPOINT roster_m", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(c->db);
    PGresult *sp = NULL, *st = NULL, *rel = NULL;
    if (!broken) {
        sp = pipeline_take(c, &broken);
        st = broken ? NULL : pipeline_take(c, &broken);
        rel = broken ? NULL : pipeline_take(c, &broken);
        PGresult *sync = broken ? NULL : PQgetResult(c->db);
        broken = broken || !sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC;
        PQclear(sync);
    }
    PQexitPipelineMode(c->db);
    int code = 0;
    bool in_savepoint = !broken && PQresultStatus(sp) == PGRES_COMMAND_OK;
    if (broken)
        code = pg_fail(c, NULL, err);
    else if (!in_savepoint)
        code = pg_fail(c, sp, err); /* the transaction had already failed */
    else if (PQresultStatus(st) != PGRES_TUPLES_OK)
        code = pg_fail(c, st, err);
    else if (PQresultStatus(rel) != PGRES_COMMAND_OK)
        code = pg_fail(c, rel, err);
    PQclear(sp);
    PQclear(rel);
    *res = st;
    /* the statement failed inside our savepoint: take back only that */
    if (code && in_savepoint &&
        (pg_exec(c, "ROLLBACK TO SAVEPOINT roster_m", NULL) != 0 ||
         pg_exec(c, "RELEASE SAVEPOINT roster_m", NULL) != 0))
        return ROSTER_EIO;
    return code;
}

/* The image of user id of org_id before a write that changes it, when org_id's lists want
 * each change (detail; else nothing is read): the user (ROSTER_ENOTFOUND when it is not
 * there) and its groups. */
struct before {
    bool detail;
    struct roster_user *u;
    int64_t *groups;
    size_t ng;
};

static int read_before(struct pg_conn *c, const char *org_id, const char *id,
                       struct roster_arena *a, struct before *b, struct roster_err *err)
{
    *b = (struct before){pg_list_wants_detail(c, org_id), NULL, NULL, 0};
    return b->detail ? pg_user_image(c, org_id, id, 0, a, &b->u, &b->groups, &b->ng, err) : 0;
}

int pg_user_update(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_call q;
    pg_call_init(&q, c, NULL);
    int64_t now = roster_now_ms();
    int stmt = update_args(&q.p, org_id, u, now);
    /* in a caller's transaction the savepoint travels with the statement; else our own
     * transaction holds the row and its list change record */
    bool pipelined = c->in_txn;
    int code = pipelined ? 0 : pg_tx_start(c, true, err);
    if (code)
        goto out;
    struct before b;
    code = read_before(c, org_id, u->id, q.a, &b, err);
    if (code == ROSTER_ENOTFOUND)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", u->id);
    if (code)
        goto end;
    code = pipelined ? run_user_savepointed(c, stmt, &q.p, &q.res, err) : run_user(&q, stmt, err);
    if (code) {
        code = user_write_fail(c, q.res, u, err);
    } else if (PQntuples(q.res) == 1) {
        u->num_id = pg_col_int(q.res, 0, 0);
        u->created_ms = pg_col_int(q.res, 0, 1);
        u->version = pg_col_int(q.res, 0, 2);
        u->modified_ms = now;
        snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    } else {
        /* no row changed: either there is no such user (here) or someone else wrote
         * it */
        pg_args_init(&q.p, q.a);
        pg_arg_str(&q.p, org_id);
        pg_arg_str(&q.p, u->id);
        code = run_user(&q, PG_USER_EXISTS, err);
        if (!code && PQntuples(q.res) > 0)
            code = roster_err_set(err, ROSTER_ESTALE, "user \"%s\" was changed by another request",
                                  u->id);
        else if (!code)
            code = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", u->id);
    }
    if (!code && !b.detail) {
        code = pg_list_record(c, org_id, NULL, err);
    } else if (!code) {
        struct roster_user after = *u;
        if (u->set == ROSTER_USET_STATE) { /* only the state was written */
            after = *b.u;
            after.state = u->state;
            after.version = u->version;
            after.modified_ms = u->modified_ms;
        }
        struct roster_change ch = {0,        ROSTER_CHANGE_USER, b.u,  &after,
                                   b.groups, b.groups,           b.ng, b.ng};
        code = pg_list_record(c, org_id, &ch, err);
    }
end:
    if (!pipelined)
        code = pg_tx_finish(c, code, err);
out:
    return pg_call_end(&q, code);
}

int pg_user_delete(struct roster_conn *pc, const char *org_id, const char *user_id,
                   struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct pg_call q;
    int code = pg_call_tx(&q, c, err);
    if (code)
        goto out;
    pg_arg_str(&q.p, org_id);
    pg_arg_str(&q.p, user_id);
    struct before b;
    code = read_before(c, org_id, user_id ? user_id : "", q.a, &b, err);
    if (code == ROSTER_ENOTFOUND)
        code = 0; /* the delete says so */
    if (!code)
        code = run_user(&q, PG_USER_DELETE, err);
    if (!code && pg_call_none(&q))
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    if (!code && b.u) {
        struct roster_change ch = {0, ROSTER_CHANGE_USER, b.u, NULL, b.groups, NULL, b.ng, 0};
        code = pg_list_record(c, org_id, &ch, err);
    } else if (!code) {
        code = pg_list_record(c, org_id, NULL, err);
    }
    code = pg_tx_finish(c, code, err);
out:
    return pg_call_end(&q, code);
}

/* --- user_create_many: one INSERT for a whole batch --- */

/* Conflict precedence: the order in which PostgreSQL checks the unique indexes (by OID,
 * i.e. creation order in 0001_init.sql), so that a row colliding on two keys names the
 * same one as user_create would. */
enum { MK_ID, MK_USERNAME, MK_EMAIL, MK_EMPLOYEE_ID, MK_NONE };
static const int mk_field[] = {-1, RU_USERNAME, RU_EMAIL, RU_EMPLOYEE_ID};

/* The text of u[idx[k]]'s key or field: field -1 is the id. */
static const char *item_text(const struct roster_user *u, int field)
{
    return field < 0 ? u->id : u->f[field];
}

/* Array literals {..} of the given fields of u[idx[0..m)], one after another in b (each
 * NUL-terminated); off[k] receives the offset of the k-th. */
static void add_arrays(struct roster_buf *b, const struct roster_user *u, const size_t *idx,
                       size_t m, const int *fields, size_t nfields, size_t *off)
{
    for (size_t k = 0; k < nfields; k++) {
        off[k] = b->len;
        roster_buf_addch(b, '{');
        for (size_t j = 0; j < m; j++) {
            if (j)
                roster_buf_addch(b, ',');
            pg_array_elem(b, item_text(&u[idx[j]], fields[k]));
        }
        roster_buf_addch(b, '}');
        roster_buf_addch(b, '\0');
    }
}

static void many_sql(int id, struct roster_buf *b)
{
    if (id == PG_USER_INSERT_MANY) {
        /* ON CONFLICT DO NOTHING with every unique index as arbiter: a row colliding with
         * an existing one or with an earlier row of the statement (rows go in ord order)
         * is skipped, and concurrent inserts are waited for, not raised */
        roster_buf_addstr(b, "INSERT INTO users (");
        sg_user_row_columns(b, false);
        roster_buf_addstr(b, ") SELECT t.id, $1::bigint");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", t.c%d", i);
        roster_buf_addstr(b, ", t.state, $2::bigint, $2::bigint, 1 FROM unnest($3::text[]");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", $%d::text[]", 4 + i);
        roster_buf_printf(b, ", $%d::integer[]) WITH ORDINALITY AS t(id", 4 + RU_NFIELDS);
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", c%d", i);
        roster_buf_addstr(b, ", state, ord) ORDER BY t.ord ON CONFLICT DO NOTHING"
                             " RETURNING num_id, id");
    } else if (id == PG_USER_NUM_IDS) {
        /* MATERIALIZED: pulled up into the join, pg_get_serial_sequence (a catalog and
         * dependency look-up) ran once per row: 2.4-4.3 ms per 1,000 numbers, 0.4 ms now */
        roster_buf_addstr(b, "WITH q AS MATERIALIZED (SELECT pg_get_serial_sequence('users',"
                             " 'num_id')::regclass AS s) SELECT nextval(q.s) FROM q,"
                             " generate_series(1, $1::integer)");
    } else if (id == PG_USER_CONFLICTS) {
        /* every row holding a key of a skipped item, with which key (MK_*); the same
         * expressions and collation as the unique indexes */
        roster_buf_addstr(
            b, "WITH s AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])"
               " WITH ORDINALITY AS s(id, un, em, eid, ord))"
               " SELECT s.ord, 0, u.num_id FROM s JOIN users u"
               " ON u.org_num = $1::bigint AND u.id = (s.id COLLATE \"C\")"
               " UNION ALL SELECT s.ord, 1, u.num_id FROM s JOIN users u"
               " ON u.org_num = $1::bigint AND lower(u.username) = lower(s.un COLLATE \"C\")"
               " UNION ALL SELECT s.ord, 2, u.num_id FROM s JOIN users u"
               " ON u.org_num = $1::bigint AND lower(u.email) = lower(s.em COLLATE \"C\")"
               " UNION ALL SELECT s.ord, 3, u.num_id FROM s JOIN users u"
               " ON u.org_num = $1::bigint AND u.employee_id = (s.eid COLLATE \"C\")");
    }
}

static int run_many(struct pg_conn *c, int id, const struct pg_args *p, PGresult **res,
                    struct roster_err *err)
{
    struct roster_buf sql;
    roster_buf_init(&sql);
    many_sql(id, &sql);
    int code = pg_run(c, id, sql.data, p, res, err);
    roster_buf_release(&sql);
    return code;
}

/* a row inserted by this call: its num_id and the item it came from */
struct ins_row {
    int64_t num_id;
    size_t item;
};

static int cmp_ins(const void *a, const void *b)
{
    int64_t x = ((const struct ins_row *)a)->num_id, y = ((const struct ins_row *)b)->num_id;
    return (x > y) - (x < y);
}

/* an id and what it stands for (an item, or a result row), sorted by id (cmp_id_ref) to
 * map RETURNING rows back to items, or requested ids to result rows */
struct id_ref {
    const char *id;
    size_t item;
};

static int cmp_id_ref(const void *a, const void *b)
{
    return strcmp(((const struct id_ref *)a)->id, ((const struct id_ref *)b)->id);
}

static bool is_failure(int rc)
{
    return rc == ROSTER_EIO || rc == ROSTER_EBUSY || rc == ROSTER_ENOMEM;
}

/* The exact path: user_create for each item, each in its own savepoint (c->in_txn is set
 * by the caller). */
static int create_each(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                       int *rcs, struct roster_err *errs, struct roster_err *err)
{
    for (size_t i = 0; i < n; i++) {
        roster_err_clear(&errs[i]);
        rcs[i] = pg_user_create(pc, org_id, &u[i], &errs[i]);
        if (is_failure(rcs[i])) {
            if (err)
                *err = errs[i];
            return rcs[i];
        }
    }
    return 0;
}

/* Appends v as a field of COPY's text format (NULL -> \N). */
static void add_copy_field(struct roster_buf *b, const char *v)
{
    if (!v) {
        roster_buf_addstr(b, "\\N");
        return;
    }
    const char *run = v;
    for (const char *p = v; *p; p++) {
        char esc = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : 0;
        if (!esc)
            continue;
        roster_buf_add(b, run, (size_t)(p - run));
        roster_buf_addch(b, '\\');
        roster_buf_addch(b, esc);
        run = p + 1;
    }
    roster_buf_addstr(b, run);
}

/* Drains the results of a COPY; 0, or the mapped failure of the first failed one. */
static int copy_finish(struct pg_conn *c, struct roster_err *err)
{
    int code = 0;
    PGresult *r;
    while ((r = PQgetResult(c->db)) != NULL) {
        if (!code && PQresultStatus(r) != PGRES_COMMAND_OK)
            code = pg_fail(c, r, err);
        PQclear(r);
    }
    return code;
}

/* The fast path: every item in one COPY, with num_ids taken from the sequence first. It
 * has no conflict handling: any unique violation (with a row or between items) fails it
 * with ROSTER_ESTALE, and the caller rolls back to its savepoint and takes create_batch.
 * COPY instead of a multi-row INSERT: measured on 1,000-row batches, 24-28 ms against
 * 32-37 ms for INSERT ... SELECT FROM unnest() and 37-69 ms with ON CONFLICT DO NOTHING. */
static int copy_batch(struct pg_conn *c, int64_t org_num, struct roster_user *u, size_t n, int *rcs,
                      struct roster_arena *a, struct roster_err *err)
{
    struct pg_args p;
    PGresult *res = NULL;
    struct roster_buf rows, sql;
    roster_buf_init(&rows);
    roster_buf_init(&sql);
    pg_args_init(&p, a);
    pg_arg_int(&p, (int64_t)n);
    int code = run_many(c, PG_USER_NUM_IDS, &p, &res, err);
    if (code)
        goto done;
    if ((size_t)PQntuples(res) != n) {
        code = roster_err_set(err, ROSTER_EIO, "store returned %d user numbers for %zu users",
                              PQntuples(res), n);
        goto done;
    }
    int64_t now = roster_now_ms();
    char org_num_s[24], now_s[24];
    snprintf(org_num_s, sizeof(org_num_s), "%lld", (long long)org_num);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    for (size_t i = 0; i < n; i++) {
        u[i].num_id = pg_col_int(res, (int)i, 0);
        roster_buf_printf(&rows, "%lld\t", (long long)u[i].num_id);
        add_copy_field(&rows, u[i].id);
        roster_buf_addch(&rows, '\t');
        roster_buf_addstr(&rows, org_num_s);
        for (int f = 0; f < RU_NFIELDS; f++) {
            roster_buf_addch(&rows, '\t');
            add_copy_field(&rows, u[i].f[f]);
        }
        roster_buf_printf(&rows, "\t%d\t%s\t%s\t1\n", u[i].state, now_s, now_s);
    }
    PQclear(res);
    roster_buf_addstr(&sql, "COPY users (");
    sg_user_row_columns(&sql, true);
    roster_buf_addstr(&sql, ") FROM STDIN");
    res = PQexec(c->db, sql.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        code = pg_fail(c, res, err);
        goto done;
    }
    if (PQputCopyData(c->db, rows.data, (int)rows.len) != 1 || PQputCopyEnd(c->db, NULL) != 1) {
        code = roster_err_set(err, ROSTER_EIO, "store error");
        roster_err_detail(err, "postgres COPY: %s", PQerrorMessage(c->db));
        copy_finish(c, NULL);
        goto done;
    }
    code = copy_finish(c, err);
    if (code) {
        /* a unique violation, or a deadlock with a concurrent writer of the same keys:
         * the slower paths decide item by item (a lost connection fails them too) */
        if (PQstatus(c->db) == CONNECTION_OK)
            code = ROSTER_ESTALE;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        u[i].created_ms = u[i].modified_ms = now;
        u[i].version = 1;
        rcs[i] = 0;
    }
done:
    PQclear(res);
    roster_buf_release(&rows);
    roster_buf_release(&sql);
    return code;
}

/* One INSERT for all items, then, for the items it skipped, one query for the rows that
 * hold their keys. Returns 0 with every rcs[i] set; ROSTER_ESTALE when the outcome cannot
 * be stated exactly (an error in the INSERT, e.g. a unique violation raised by a
 * concurrent writer, or a skipped item whose colliding row is gone): the caller then rolls
 * back to its savepoint and takes the exact path; or a store failure. */
static int create_batch(struct pg_conn *c, int64_t org_num, struct roster_user *u, size_t n,
                        bool *new_id, int *rcs, struct roster_err *errs, struct roster_arena *a,
                        struct roster_err *err)
{
    int ins_fields[RU_NFIELDS + 1]; /* the id, then every field */
    size_t *idx = roster_arena_alloc(a, n * sizeof(*idx));
    struct id_ref *refs = roster_arena_alloc(a, n * sizeof(*refs));
    struct ins_row *ins = roster_arena_alloc(a, n * sizeof(*ins));
    unsigned char *best = roster_arena_alloc(a, n);
    size_t off[RU_NFIELDS + 2];
    struct roster_buf arr;
    struct pg_args p;
    PGresult *res = NULL;
    int code = 0;
    roster_buf_init(&arr);
    ins_fields[0] = -1;
    for (int i = 0; i < RU_NFIELDS; i++)
        ins_fields[i + 1] = i;
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        refs[i] = (struct id_ref){u[i].id, i};
        best[i] = MK_NONE;
    }
    /* RETURNING gives ids, so ids must tell the items apart (given ids may repeat) */
    qsort(refs, n, sizeof(*refs), cmp_id_ref);
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i - 1].id, refs[i].id) == 0) {
            code = ROSTER_ESTALE;
            goto done;
        }

    add_arrays(&arr, u, idx, n, ins_fields, RU_NFIELDS + 1, off);
    off[RU_NFIELDS + 1] = arr.len;
    roster_buf_addch(&arr, '{');
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&arr, "%s%d", i ? "," : "", u[i].state);
    roster_buf_addch(&arr, '}');
    roster_buf_addch(&arr, '\0');
    int64_t now = roster_now_ms();
    pg_args_init(&p, a);
    pg_arg_int(&p, org_num);
    pg_arg_int(&p, now);
    for (size_t k = 0; k < RU_NFIELDS + 2; k++)
        pg_arg_str(&p, arr.data + off[k]);
    code = run_many(c, PG_USER_INSERT_MANY, &p, &res, err);
    if (code) {
        code = PQstatus(c->db) == CONNECTION_OK ? ROSTER_ESTALE : code;
        goto done;
    }
    size_t nins = (size_t)PQntuples(res);
    bool *inserted = roster_arena_zalloc(a, n * sizeof(bool));
    for (size_t r = 0; r < nins; r++) {
        struct id_ref key = {PQgetvalue(res, (int)r, 1), 0};
        const struct id_ref *hit = bsearch(&key, refs, n, sizeof(*refs), cmp_id_ref);
        if (!hit || inserted[hit->item]) {
            code = roster_err_set(err, ROSTER_EIO, "store returned an unknown user id");
            goto done;
        }
        inserted[hit->item] = true;
        ins[r] = (struct ins_row){pg_col_int(res, (int)r, 0), hit->item};
        struct roster_user *w = &u[hit->item];
        w->num_id = ins[r].num_id;
        w->created_ms = w->modified_ms = now;
        w->version = 1;
        rcs[hit->item] = 0;
    }
    PQclear(res);
    res = NULL;
    qsort(ins, nins, sizeof(*ins), cmp_ins);
    c->many_conflicts = nins < n;

    if (nins < n) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!inserted[i])
                idx[m++] = i;
        roster_buf_reset(&arr);
        add_arrays(&arr, u, idx, m, mk_field, MK_NONE, off);
        pg_args_init(&p, a);
        pg_arg_int(&p, org_num);
        for (size_t k = 0; k < 4; k++)
            pg_arg_str(&p, arr.data + off[k]);
        code = run_many(c, PG_USER_CONFLICTS, &p, &res, err);
        if (code)
            goto done;
        for (int r = 0; r < PQntuples(res); r++) {
            int64_t ord = pg_col_int(res, r, 0);
            int key = (int)pg_col_int(res, r, 1);
            struct ins_row probe = {pg_col_int(res, r, 2), 0};
            if (ord < 1 || (size_t)ord > m || key < 0 || key >= MK_NONE)
                continue;
            size_t j = idx[ord - 1];
            /* a row this call inserted from a later item did not exist when item j was
             * (logically) created */
            const struct ins_row *mine = bsearch(&probe, ins, nins, sizeof(*ins), cmp_ins);
            if (mine && mine->item > j)
                continue;
            if (key < best[j])
                best[j] = (unsigned char)key;
        }
        for (size_t k = 0; k < m; k++) {
            size_t j = idx[k];
            if (best[j] == MK_NONE) {
                code = ROSTER_ESTALE; /* its colliding row is gone: decide one by one */
                goto done;
            }
            struct roster_err *e = &errs[j];
            if (best[j] == MK_ID) {
                rcs[j] =
                    roster_err_set(e, ROSTER_ECONFLICT, "user id \"%s\" already exists", u[j].id);
                e->field = "id";
            } else {
                const struct roster_ufield_info *f = &roster_ufields[mk_field[best[j]]];
                const char *v = u[j].f[mk_field[best[j]]];
                rcs[j] = roster_err_set(e, ROSTER_ECONFLICT, "%s \"%s\" already exists", f->label,
                                        v ? v : "");
                e->field = f->label;
            }
            if (new_id[j])
                u[j].id[0] = '\0';
            u[j].num_id = 0;
        }
    }
done:
    PQclear(res);
    roster_buf_release(&arr);
    return code;
}

/* The batch methods run their items in savepoints, as in a caller's transaction: when the
 * caller has none (*own), in a transaction of their own (opened by pg_tx_start, so that its
 * COMMIT never moves to a new connection), with c->in_txn set meanwhile. batch_end ends it
 * (commits when code is 0) and returns code, or the failure of the commit. */
static int batch_begin(struct pg_conn *c, bool *own, struct roster_err *err)
{
    *own = !c->in_txn;
    if (!*own)
        return 0;
    int code = pg_tx_start(c, true, err);
    if (!code)
        c->in_txn = true;
    return code;
}

static int batch_end(struct pg_conn *c, bool own, int code, struct roster_err *err)
{
    if (!own)
        return code;
    c->in_txn = false;
    return pg_tx_finish(c, code, err);
}

/* What a batch method does inside batch_run's savepoint roster_many: 0 or a failure (then
 * nothing of the call stays); *changed = false when it wrote nothing (no list change). */
typedef int batch_body(struct pg_conn *c, struct roster_conn *pc, const char *org_id,
                       struct roster_user *u, size_t n, int *rcs, struct roster_err *errs,
                       struct roster_arena *a, bool *changed, struct roster_err *err);

/* A batch method over u[0..n): body inside the savepoint roster_many of a transaction
 * (batch_begin), after preparing the update statements (updates: pipelines can only run
 * prepared statements), then one reset of org_id's lists and the organisation on every
 * item written; a failure rolls back to the savepoint, so the caller's transaction stays
 * usable. */
static int batch_run(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                     int *rcs, struct roster_err *errs, bool updates, batch_body *body,
                     struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    bool own, changed = true;
    if (n == 0)
        return 0;
    roster_arena_init(&a, 0);
    int code = batch_begin(c, &own, err);
    if (code)
        goto out;
    if (updates)
        code = prepare_user(c, PG_USER_UPDATE, UP_VERSION, err);
    if (updates && !code)
        code = prepare_user(c, PG_USER_UPDATE_STATE, 5, err);
    if (!code)
        code = pg_exec(c, "SAVEPOINT roster_many", err);
    if (code)
        goto end;
    code = body(c, pc, org_id, u, n, rcs, errs, &a, &changed, err);
    /* last: the organisation's list version stays locked from here until the commit */
    if (!code && changed)
        code = pg_list_record(c, org_id, NULL, err);
    for (size_t i = 0; !code && changed && i < n; i++)
        if (rcs[i] == 0)
            snprintf(u[i].org_id, sizeof(u[i].org_id), "%s", org_id);
    if (!code) {
        code = pg_exec(c, "RELEASE SAVEPOINT roster_many", err);
    } else if (pg_exec(c, "ROLLBACK TO SAVEPOINT roster_many", NULL) == 0) {
        /* nothing of this call stays; the caller's transaction stays usable */
        pg_exec(c, "RELEASE SAVEPOINT roster_many", NULL);
    }
end:
    code = batch_end(c, own, code, err);
out:
    roster_arena_release(&a);
    return code;
}

/* user_create_many's items: one COPY, else one INSERT for all, else user_create for each
 * (the exact path runs user_create in savepoints) */
static int create_items(struct pg_conn *c, struct roster_conn *pc, const char *org_id,
                        struct roster_user *u, size_t n, int *rcs, struct roster_err *errs,
                        struct roster_arena *a, bool *changed, struct roster_err *err)
{
    int64_t org_num;
    int code = pg_org_num(c, org_id ? org_id : "", &org_num, a, err);
    if (code)
        return code;
    if (!org_num) {
        for (size_t i = 0; i < n; i++) {
            roster_err_clear(&errs[i]);
            rcs[i] = roster_err_set(&errs[i], ROSTER_ENOTFOUND, "organization \"%s\" not found",
                                    org_id ? org_id : "");
        }
        *changed = false;
        return 0;
    }
    /* the items as given: the exact path starts from them again */
    struct roster_user *given = roster_arena_alloc(a, n * sizeof(*given));
    memcpy(given, u, n * sizeof(*given));
    bool *new_id = roster_arena_alloc(a, n * sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        roster_err_clear(&errs[i]);
        new_id[i] = !u[i].id[0];
        if (new_id[i])
            roster_id_new(u[i].id);
    }
    code = ROSTER_ESTALE;
    if (!c->many_conflicts) {
        code = copy_batch(c, org_num, u, n, rcs, a, err);
        if (code == ROSTER_ESTALE) {
            int rb = pg_exec(c, "ROLLBACK TO SAVEPOINT roster_many", err);
            if (rb)
                code = rb;
        }
    }
    if (code == ROSTER_ESTALE)
        code = create_batch(c, org_num, u, n, new_id, rcs, errs, a, err);
    if (code == ROSTER_ESTALE) {
        memcpy(u, given, n * sizeof(*u));
        code = pg_exec(c, "ROLLBACK TO SAVEPOINT roster_many", err);
        if (!code)
            code = create_each(pc, org_id, u, n, rcs, errs, err);
    }
    return code;
}

int pg_user_create_many(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                        int *rcs, struct roster_err *errs, struct roster_err *err)
{
    int code = batch_run(pc, org_id, u, n, rcs, errs, false, create_items, err);
    int64_t made = 0;
    for (size_t i = 0; !code && i < n; i++)
        made += rcs[i] == 0;
    pg_analyze_note((struct pg_store *)pc->st, made);
    return code;
}

/* --- user_get_many, user_update_many: bulk update jobs --- */

/* The array literal {..} of ids[0..n) in b. */
static const char *id_array(struct roster_buf *b, const char *const *ids, size_t n)
{
    roster_buf_addch(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            roster_buf_addch(b, ',');
        pg_array_elem(b, ids[i] ? ids[i] : "");
    }
    roster_buf_addch(b, '}');
    return b->data;
}

/* One SELECT ... WHERE id = ANY(ids) for all of them. */
int pg_user_get_many(struct roster_conn *pc, const char *org_id, const char *const *ids, size_t n,
                     struct roster_user *out, int *rcs, struct roster_arena *a,
                     struct roster_err *err)
{
    struct roster_buf arr;
    if (n == 0)
        return 0;
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), a);
    roster_buf_init(&arr);
    pg_arg_str(&q.p, org_id ? org_id : "");
    pg_arg_str(&q.p, id_array(&arr, ids, n));
    int code = run_user(&q, PG_USER_GET_MANY, err);
    if (code)
        goto done;
    const PGresult *res = q.res;
    size_t rows = (size_t)PQntuples(res);
    struct id_ref *by_id = roster_arena_alloc(a, (rows ? rows : 1) * sizeof(*by_id));
    for (size_t r = 0; r < rows; r++)
        by_id[r] = (struct id_ref){PQgetvalue(res, (int)r, 1 /* id */), r};
    qsort(by_id, rows, sizeof(*by_id), cmp_id_ref);
    for (size_t i = 0; i < n; i++) {
        struct id_ref key = {ids[i] ? ids[i] : "", 0};
        const struct id_ref *hit =
            rows ? bsearch(&key, by_id, rows, sizeof(*by_id), cmp_id_ref) : NULL;
        rcs[i] = hit ? 0 : ROSTER_ENOTFOUND;
        if (hit)
            read_user(res, (int)hit->item, org_id, &out[i], a);
    }
done:
    roster_buf_release(&arr);
    return pg_call_end(&q, code);
}

/* items per pipeline: its results (about 100 bytes an item) must fit the socket buffers,
 * since all of them are sent before any is read */
#define UPDATE_PIPELINE 200

/* Sends u[from..to) as SAVEPOINT, UPDATE, RELEASE each, and reads the outcomes in order.
 * *failed = the index of the first item whose UPDATE failed (the ones after it were not
 * run: the server skips the rest of a pipeline after an error), or to. Items that
 * matched no row get rcs = ROSTER_ESTALE for now (nothing was written for them). */
static int update_pipeline(struct pg_conn *c, const char *org_id, struct roster_user *u,
                           size_t from, size_t to, int64_t now, int *rcs, struct roster_err *errs,
                           size_t *failed, struct roster_arena *a, struct roster_err *err)
{
    *failed = to;
    if (!PQenterPipelineMode(c->db))
        return pg_fail(c, NULL, err);
    bool broken = false;
    for (size_t i = from; i < to && !broken; i++) {
        struct pg_args p;
        pg_args_init(&p, a);
        int stmt = update_args(&p, org_id, &u[i], now);
        char name[16];
        snprintf(name, sizeof(name), "r%d", stmt);
        broken =
            !PQsendQueryParams(c->db, "SAVEPOINT roster_m", 0, NULL, NULL, NULL, NULL, 0) ||
            !PQsendQueryPrepared(c->db, name, (int)p.n, p.v, NULL, NULL, 0) ||
            !PQsendQueryParams(c->db, "RELEASE SAVEPOINT roster_m", 0, NULL, NULL, NULL, NULL, 0);
    }
    broken = broken || !PQpipelineSync(c->db);
    int code = 0;
    for (size_t i = from; i < to && !broken; i++) {
        PGresult *sp = pipeline_take(c, &broken);
        PGresult *st = broken ? NULL : pipeline_take(c, &broken);
        PGresult *rel = broken ? NULL : pipeline_take(c, &broken);
        if (!broken && *failed == to) {
            if (PQresultStatus(sp) != PGRES_COMMAND_OK) {
                code = pg_fail(c, sp, err); /* the transaction had failed before */
            } else if (PQresultStatus(st) != PGRES_TUPLES_OK) {
                *failed = i;
                roster_err_clear(&errs[i]);
                rcs[i] = user_write_fail(c, st, &u[i], &errs[i]);
                if (rcs[i] != ROSTER_ECONFLICT) {
                    code = rcs[i];
                    if (err)
                        *err = errs[i];
                }
            } else if (PQresultStatus(rel) != PGRES_COMMAND_OK) {
                code = pg_fail(c, rel, err);
            } else if (PQntuples(st) == 1) {
                rcs[i] = 0;
                u[i].num_id = pg_col_int(st, 0, 0);
                u[i].created_ms = pg_col_int(st, 0, 1);
                u[i].version = pg_col_int(st, 0, 2);
                u[i].modified_ms = now;
                snprintf(u[i].org_id, sizeof(u[i].org_id), "%s", org_id);
            } else {
                rcs[i] = ROSTER_ESTALE;
            }
        }
        PQclear(sp);
        PQclear(st);
        PQclear(rel);
    }
    PGresult *sync = broken ? NULL : PQgetResult(c->db);
    broken = broken || !sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC;
    PQclear(sync);
    PQexitPipelineMode(c->db);
    if (broken && !code)
        code = pg_fail(c, NULL, err);
    return code;
}

/* The updates go in order through pipelines of SAVEPOINT/UPDATE/RELEASE (the server runs
 * them one after the other, so every item sees exactly the rows the previous ones left,
 * as with n user_update calls), a few hundred items a round trip. After a failed item the
 * server skips the rest of its pipeline: its savepoint is rolled back and the rest sent
 * again. Items that matched no row are then told apart (gone or changed) with one query. */
static int update_items(struct pg_conn *c, struct roster_conn *pc, const char *org_id,
                        struct roster_user *u, size_t n, int *rcs, struct roster_err *errs,
                        struct roster_arena *a, bool *changed, struct roster_err *err)
{
    (void)pc;
    (void)changed;
    int code = 0;
    int64_t now = roster_now_ms();
    for (size_t from = 0; from < n && !code;) {
        size_t to = n - from > UPDATE_PIPELINE ? from + UPDATE_PIPELINE : n, failed;
        code = update_pipeline(c, org_id, u, from, to, now, rcs, errs, &failed, a, err);
        if (!code && failed < to) {
            code = pg_exec(c, "ROLLBACK TO SAVEPOINT roster_m", err);
            if (!code)
                code = pg_exec(c, "RELEASE SAVEPOINT roster_m", err);
            from = failed + 1;
        } else {
            from = to;
        }
        roster_arena_clear(a);
    }
    /* items that matched no row: still there (changed since read) or gone */
    size_t nstale = 0;
    for (size_t i = 0; i < n && !code; i++)
        nstale += rcs[i] == ROSTER_ESTALE;
    if (!code && nstale) {
        const char **ids = roster_arena_alloc(a, nstale * sizeof(*ids));
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (rcs[i] == ROSTER_ESTALE)
                ids[k++] = u[i].id;
        struct roster_buf arr;
        struct pg_call q;
        pg_call_init(&q, c, a);
        roster_buf_init(&arr);
        pg_arg_str(&q.p, org_id);
        pg_arg_str(&q.p, id_array(&arr, ids, nstale));
        code = run_user(&q, PG_USER_EXISTS_MANY, err);
        if (!code) {
            const PGresult *res = q.res;
            size_t rows = (size_t)PQntuples(res);
            struct id_ref *by_id = roster_arena_alloc(a, (rows ? rows : 1) * sizeof(*by_id));
            for (size_t r = 0; r < rows; r++)
                by_id[r] = (struct id_ref){PQgetvalue(res, (int)r, 0), r};
            qsort(by_id, rows, sizeof(*by_id), cmp_id_ref);
            for (size_t i = 0; i < n; i++) {
                if (rcs[i] != ROSTER_ESTALE)
                    continue;
                struct id_ref key = {u[i].id, 0};
                if (rows && bsearch(&key, by_id, rows, sizeof(*by_id), cmp_id_ref))
                    roster_err_set(&errs[i], ROSTER_ESTALE,
                                   "user \"%s\" was changed by another request", u[i].id);
                else
                    rcs[i] = roster_err_set(&errs[i], ROSTER_ENOTFOUND, "user \"%s\" not found",
                                            u[i].id);
            }
        }
        pg_call_end(&q, code);
        roster_buf_release(&arr);
    }
    return code;
}

int pg_user_update_many(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                        int *rcs, struct roster_err *errs, struct roster_err *err)
{
    return batch_run(pc, org_id ? org_id : "", u, n, rcs, errs, true, update_items, err);
}

/* bulk_hint: the server's shared buffers serve every session; nothing to tune here. */
int pg_bulk_hint(struct roster_conn *pc, int64_t cache_bytes, struct roster_err *err)
{
    (void)pc;
    (void)cache_bytes;
    (void)err;
    return 0;
}

/* bulk_load. BEGIN keeps the definitions of the indexes it drops in a temporary table
 * created in the same transaction (ON COMMIT DROP; a rollback discards it with the drops);
 * END builds each of them again. The indexes of constraints (users_pkey) stay. */

/* The single text value of sql's result into out ("" for none or NULL). */
static int pg_value(struct pg_conn *c, const char *sql, char *out, size_t cap,
                    struct roster_err *err)
{
    PGresult *r = PQexec(c->db, sql);
    int code = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        code = pg_fail(c, r, err);
    else
        snprintf(out, cap, "%s", PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return code;
}

/* 0 when no organisation has a user; ROSTER_ENOTFOUND when one has. */
static int users_empty(struct pg_conn *c, struct roster_err *err)
{
    char any[8];
    int code = pg_value(c, "SELECT EXISTS (SELECT 1 FROM users)", any, sizeof(any), err);
    if (!code && any[0] == 't')
        code = roster_err_set(err, ROSTER_ENOTFOUND, "the store holds users");
    return code;
}

static int bulk_load_begin(struct pg_conn *c, struct roster_err *err)
{
    int code = users_empty(c, err);
    if (!code)
        code = pg_exec(c, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE", err);
    if (!code) /* again under the lock: another process may have written meanwhile */
        code = users_empty(c, err);
    if (code)
        return code;
    code = pg_exec(c,
                   "CREATE TEMP TABLE roster_bulk_indexes ON COMMIT DROP AS"
                   " SELECT i.indexrelid::regclass::text AS name,"
                   " pg_get_indexdef(i.indexrelid) AS def FROM pg_index AS i"
                   " WHERE i.indrelid = 'users'::regclass AND NOT EXISTS"
                   " (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)",
                   err);
    if (code)
        return code;
    PGresult *r = PQexec(c->db, "SELECT 'DROP INDEX ' || name FROM roster_bulk_indexes");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        code = pg_fail(c, r, err);
    for (int i = 0; !code && i < PQntuples(r); i++)
        code = pg_exec(c, PQgetvalue(r, i, 0), err);
    PQclear(r);
    return code;
}

static int bulk_load_end(struct pg_conn *c, struct roster_err *err)
{
    char table[64];
    int code = pg_value(c, "SELECT to_regclass('pg_temp.roster_bulk_indexes')::text", table,
                        sizeof(table), err);
    if (code || !table[0])
        return code; /* no load began in this transaction */
    /* a sort in memory for each index (the session's default is 64 MB) */
    code = pg_exec(c, "SET LOCAL maintenance_work_mem = '256MB'", err);
    if (code)
        return code;
    PGresult *r = PQexec(c->db, "SELECT name, def FROM roster_bulk_indexes");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        code = pg_fail(c, r, err);
    for (int i = 0; !code && i < PQntuples(r); i++) {
        PGresult *made = PQexec(c->db, PQgetvalue(r, i, 1));
        if (PQresultStatus(made) != PGRES_COMMAND_OK)
            code = !strcmp(pg_sqlstate(made), "23505")
                       ? roster_err_set(err, ROSTER_ECONFLICT,
                                        "the users loaded are not unique (index %s)",
                                        PQgetvalue(r, i, 0))
                       : pg_fail(c, made, err);
        PQclear(made);
    }
    PQclear(r);
    if (!code)
        code = pg_exec(c, "DROP TABLE roster_bulk_indexes", err);
    return code;
}

int pg_bulk_load(struct roster_conn *pc, int phase, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!c->in_txn)
        return roster_err_set(err, ROSTER_EINVAL, "bulk_load needs the caller's transaction");
    return phase == ROSTER_BULK_LOAD_BEGIN ? bulk_load_begin(c, err) : bulk_load_end(c, err);
}

#define P(kind, field) PG_COL(kind, struct roster_import_progress, field)
static const struct pg_col progress_cols[] = {P(PG_STR, file_key), P(PG_I64, rows_done),
                                              P(PG_STR, counts), P(PG_I64, updated_ms),
                                              P(PG_BUF, job_id)};
#undef P
static const struct pg_rec progress_rec = PG_REC(struct roster_import_progress, progress_cols,
                                                 offsetof(struct roster_import_progress, org_id));

int pg_import_progress_get(struct roster_conn *pc, const char *org_id, const char *file_key,
                           struct roster_import_progress *out, struct roster_arena *a,
                           struct roster_err *err)
{
    return pg_get(
        pg_conn_of(pc),
        PG_STMT(-1,
                "SELECT file_key, rows_done, counts, updated_ms, job_id"
                " FROM import_progress WHERE org_num = " ORG_NUM_OF(1) " AND file_key = $2",
                PG_S(org_id), PG_S(file_key)),
        &progress_rec, org_id, out, a, "import progress", file_key, err);
}

int pg_import_progress_put(struct roster_conn *pc, const struct roster_import_progress *p,
                           struct roster_err *err)
{
    bool none;
    if (p->rows_done < 0)
        return pg_update(pg_conn_of(pc),
                         PG_WRITE(-1,
                                  "DELETE FROM import_progress WHERE org_num = " ORG_NUM_OF(
                                      1) " AND file_key = $2",
                                  PG_S(p->org_id), PG_S(p->file_key)),
                         &none, err);
    return pg_update(
        pg_conn_of(pc),
        PG_WRITE(-1,
                 "INSERT INTO import_progress (org_num, file_key, rows_done, counts, updated_ms,"
                 " job_id) SELECT num_id, $2, $3, $4, $5, nullif($6, '') FROM orgs WHERE id = $1"
                 " ON CONFLICT (org_num, file_key) DO UPDATE SET rows_done = EXCLUDED.rows_done,"
                 " counts = EXCLUDED.counts, updated_ms = EXCLUDED.updated_ms,"
                 " job_id = EXCLUDED.job_id",
                 PG_S(p->org_id), PG_S(p->file_key), PG_I(p->rows_done), PG_S(p->counts),
                 PG_I(roster_now_ms()), PG_S(p->job_id)),
        &none, err);
}
