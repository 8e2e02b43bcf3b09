/* PostgreSQL store: user lists. The read side runs the statements of the shared translator
 * (src/store/sqlgen.c), each prepared once per connection (pg_run_dyn), with the list
 * version read in the same statement: a page or a count is one round trip. The write side
 * records list changes in the writer's transaction: the organisation's list_versions row is
 * locked by the first write until commit, so versions commit in order and a reader that
 * sees version v sees every record up to v. docs/lists.md explains how core uses them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/list.h"
#include "store/postgres/pg_int.h"
#include "store/sqlgen.h"
#include "store/store_keys.h"
#include "store/store_lists.h"

#define PG_LIST_KEEP 4096

#define ORG_OF_PARAM(n) "(SELECT num_id FROM orgs WHERE id = $" #n "::text)"
#define VERSION_OF(org) "coalesce((SELECT v FROM list_versions WHERE org_num = " org "), 0)"

/* --- the write side --- */

void pg_list_txn_end(struct pg_conn *c, bool all)
{
    c->lc_org[0] = '\0';
    c->lc_count = 0;
    c->lc_reset = false;
    if (all)
        c->lc_deferred[0] = '\0';
}

static int record(struct pg_conn *c, const char *org_id, const struct roster_change *ch,
                  struct roster_err *err);

int pg_list_flush(struct pg_conn *c, struct roster_err *err)
{
    if (!c->lc_deferred[0])
        return 0;
    char org[ROSTER_ID_LEN + 1];
    snprintf(org, sizeof(org), "%s", c->lc_deferred);
    c->lc_deferred[0] = '\0';
    return record(c, org, NULL, err);
}

bool pg_list_wants_detail(struct pg_conn *c, const char *org_id)
{
    if (strcmp(c->lc_org, org_id ? org_id : "") != 0)
        return true;
    return !c->lc_reset && c->lc_count < PG_LIST_MAX_TXN_CHANGES;
}

int pg_list_record(struct pg_conn *c, const char *org_id, const struct roster_change *ch,
                   struct roster_err *err)
{
    org_id = org_id ? org_id : "";
    if (strcmp(c->lc_org, org_id) != 0) {
        snprintf(c->lc_org, sizeof(c->lc_org), "%s", org_id);
        c->lc_count = 0;
        c->lc_reset = false;
    }
    if (c->lc_reset)
        return 0;
    bool reset = !ch || c->lc_count >= PG_LIST_MAX_TXN_CHANGES;
    if (reset && c->in_txn && (!c->lc_deferred[0] || !strcmp(c->lc_deferred, org_id))) {
        snprintf(c->lc_deferred, sizeof(c->lc_deferred), "%s", org_id);
        c->lc_reset = true;
        return 0;
    }
    int code = record(c, org_id, reset ? NULL : ch, err);
    if (code)
        return code;
    c->lc_count++;
    if (reset)
        c->lc_reset = true;
    return 0;
}

/* Writes one record: bumps the version, inserts the change (ch NULL: a reset). */
static int record(struct pg_conn *c, const char *org_id, const struct roster_change *ch,
                  struct roster_err *err)
{
    bool reset = !ch;
    struct roster_arena a;
    roster_arena_init(&a, 1024);
    struct roster_buf payload;
    roster_buf_init(&payload);
    if (!reset)
        roster_change_encode(ch, &payload);
    struct pg_args p;
    pg_args_init(&p, &a);
    pg_arg_str(&p, org_id);
    pg_arg_int(&p, reset ? ROSTER_CHANGE_RESET : ROSTER_CHANGE_USER);
    pg_arg_str(&p, reset ? NULL : payload.data);
    PGresult *res = NULL;
    int code = pg_run_dyn(c,
                          "WITH b AS (INSERT INTO list_versions (org_num, v)"
                          " SELECT num_id, 1 FROM orgs WHERE id = $1::text"
                          " ON CONFLICT (org_num) DO UPDATE SET v = list_versions.v + 1"
                          " RETURNING org_num, v)"
                          " INSERT INTO list_changes (org_num, v, kind, payload)"
                          " SELECT org_num, v, $2::integer, $3::text FROM b RETURNING v",
                          &p, &res, err);
    int64_t v = !code && PQntuples(res) == 1 ? pg_col_int(res, 0, 0) : 0;
    PQclear(res);
    res = NULL;
    if (!code && v % 256 == 0 && v > PG_LIST_KEEP) {
        struct pg_args d;
        pg_args_init(&d, &a);
        pg_arg_str(&d, org_id);
        pg_arg_int(&d, v - PG_LIST_KEEP);
        code = pg_run_dyn(
            c, "DELETE FROM list_changes WHERE org_num = " ORG_OF_PARAM(1) " AND v <= $2::bigint",
            &d, &res, err);
        PQclear(res);
    }
    roster_buf_release(&payload);
    roster_arena_release(&a);
    return code;
}

/* "{1,2,3}" -> ascending num_ids in a */
static void parse_groups(const char *s, struct roster_arena *a, int64_t **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; p && *p; p++)
        cap += *p == ',';
    int64_t *g = roster_arena_alloc(a, cap * sizeof(*g));
    size_t len = 0;
    for (const char *p = s && *s == '{' ? s + 1 : s; p && *p && *p != '}';) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        g[len++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    *out = g;
    *n = len;
}

int pg_user_image(struct pg_conn *c, const char *org_id, const char *id, int64_t num_id,
                  struct roster_arena *a, struct roster_user **u, int64_t **groups, size_t *ng,
                  struct roster_err *err)
{
    *u = NULL;
    *groups = NULL;
    *ng = 0;
    struct roster_buf sql;
    roster_buf_init(&sql);
    roster_buf_addstr(&sql, "SELECT ");
    sg_user_columns(&sql, SG_PG, "users");
    roster_buf_printf(
        &sql,
        ", ARRAY(SELECT group_num FROM group_members WHERE user_num = users.num_id"
        " ORDER BY group_num)::text FROM users WHERE org_num = " ORG_OF_PARAM(1) " AND %s",
        id ? "id = $2::text" : "num_id = $2::bigint");
    struct pg_args p;
    pg_args_init(&p, a);
    pg_arg_str(&p, org_id);
    if (id)
        pg_arg_str(&p, id);
    else
        pg_arg_int(&p, num_id);
    PGresult *res = NULL;
    int code = pg_run_dyn(c, sql.data, &p, &res, err);
    roster_buf_release(&sql);
    if (!code && PQntuples(res) != 1)
        code = ROSTER_ENOTFOUND;
    if (!code) {
        struct roster_user *img = roster_arena_alloc(a, sizeof(*img));
        pg_read_user(res, 0, 0, org_id, img, a);
        int gcol = PQnfields(res) - 1;
        parse_groups(PQgetvalue(res, 0, gcol), a, groups, ng);
        *u = img;
    }
    PQclear(res);
    return code;
}

/* --- the read side --- */

int pg_snapshot_begin(struct roster_conn *pc, bool *began, struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    *began = false;
    if (c->in_txn || c->method_txn)
        return 0;
    /* custom plans: a list statement is planned for its values (the size of the group, of
     * the organisation); a generic plan, which guesses an average, would sort a big group's
     * members instead of reading them in order. Planning costs ~0.1 ms, and only a request
     * that the kept list state cannot answer runs these statements. */
    int code = pg_exec(c,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;"
                       " SET LOCAL plan_cache_mode = force_custom_plan",
                       err);
    if (code)
        return code;
    c->in_txn = true; /* no statement moves to another session until the end */
    c->snapshot = true;
    *began = true;
    return 0;
}

void pg_snapshot_end(struct roster_conn *pc, bool began)
{
    struct pg_conn *c = pg_conn_of(pc);
    if (!began)
        return;
    c->in_txn = false;
    c->snapshot = false;
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE) {
        PGresult *r =
            PQexec(c->db, PQtransactionStatus(c->db) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT");
        PQclear(r);
    }
}

int pg_list_version(struct roster_conn *pc, const char *org_id, int64_t *ver,
                    struct roster_err *err)
{
    struct pg_conn *c = pg_conn_of(pc);
    struct roster_arena a;
    roster_arena_init(&a, 256);
    struct pg_args p;
    pg_args_init(&p, &a);
    pg_arg_str(&p, org_id ? org_id : "");
    PGresult *res = NULL;
    int code = pg_run_dyn(c, "SELECT " VERSION_OF(ORG_OF_PARAM(1)), &p, &res, err);
    *ver = !code && PQntuples(res) == 1 ? pg_col_int(res, 0, 0) : 0;
    PQclear(res);
    roster_arena_release(&a);
    return code;
}

int pg_list_changes(struct roster_conn *pc, const char *org_id, int64_t since, int64_t until,
                    struct roster_arena *a, struct roster_change **out, size_t *n,
                    struct roster_err *err)
{
    size_t want;
    int code = roster_store_changes_want(since, until, PG_LIST_KEEP, out, n, &want, err);
    if (code || !want)
        return code;
    struct pg_args p;
    pg_args_init(&p, a);
    pg_arg_str(&p, org_id ? org_id : "");
    pg_arg_int(&p, since);
    pg_arg_int(&p, until);
    PGresult *res = NULL;
    code = pg_run_dyn(pg_conn_of(pc),
                      "SELECT v, kind, payload FROM list_changes WHERE org_num = " ORG_OF_PARAM(
                          1) " AND v > $2::bigint AND v <= $3::bigint ORDER BY v",
                      &p, &res, err);
    if (code) {
        PQclear(res);
        return code;
    }
    size_t rows = (size_t)PQntuples(res);
    if (rows != want) {
        PQclear(res);
        return roster_err_set(err, ROSTER_ESTALE, "list changes after %lld are not kept",
                              (long long)since);
    }
    struct roster_change *v = roster_arena_zalloc(a, want * sizeof(*v));
    for (size_t i = 0; i < rows; i++) {
        struct roster_change *ch = &v[i];
        ch->ver = pg_col_int(res, (int)i, 0);
        ch->kind = (int)pg_col_int(res, (int)i, 1);
        if (ch->kind == ROSTER_CHANGE_USER) {
            const char *text = PQgetvalue(res, (int)i, 2);
            if (PQgetisnull(res, (int)i, 2) ||
                roster_change_decode(text, strlen(text), ch, a, NULL) != 0)
                ch->kind = ROSTER_CHANGE_RESET;
        }
    }
    PQclear(res);
    *out = v;
    *n = rows;
    return 0;
}

/* Wraps the statement in g so that its first column is the list version (one row with
 * NULL users columns when it has no rows). */
static void with_version(const struct sg *g, struct roster_buf *out)
{
    roster_buf_printf(
        out,
        "SELECT lv.v, p.* FROM (SELECT " VERSION_OF("$%zu::bigint") " AS v) AS lv"
                                                                    " LEFT JOIN "
                                                                    "LATERAL (%s) AS p "
                                                                    "ON true",
        g->org_param, g->sql.data);
}

/* The list reads of one request (src/store/store_lists.c runs them): its connection, its
 * organisation and the list version read with the first statement. */
struct reader {
    struct pg_conn *c;
    const char *org_id;
    int64_t ver;
};

/* Runs g's statement (prepared once per connection) with its values; *res is cleared by
 * the caller. */
static int run_sg(struct pg_conn *c, const struct sg *g, const char *sql, PGresult **res,
                  struct roster_err *err)
{
    struct pg_args p;
    pg_args_init(&p, g->a);
    pg_args_sg(&p, g);
    return pg_run_dyn(c, sql, &p, res, err);
}

/* A page of one segment; the first one read also reads the list version. */
static int page_rows(void *ctx, const struct sg *g, bool first, struct sl_page *p, size_t *got,
                     struct roster_err *err)
{
    struct reader *rd = ctx;
    struct roster_buf sql;
    roster_buf_init(&sql);
    if (first)
        with_version(g, &sql);
    else
        roster_buf_addstr(&sql, g->sql.data);
    PGresult *res = NULL;
    int code = run_sg(rd->c, g, sql.data, &res, err);
    int col = first ? 1 : 0;
    for (int i = 0; !code && i < PQntuples(res); i++) {
        if (first && i == 0)
            rd->ver = pg_col_int(res, 0, 0);
        if (PQgetisnull(res, i, col))
            continue; /* the version's row of an empty page */
        pg_read_user(res, i, col, rd->org_id, sl_page_add(p), p->a);
        (*got)++;
    }
    PQclear(res);
    roster_buf_release(&sql);
    return code;
}

/* How much of the skip a segment took (a count). */
static int skip_count(void *ctx, const struct sg *g, int64_t *n, struct roster_err *err)
{
    struct reader *rd = ctx;
    PGresult *res = NULL;
    int code = run_sg(rd->c, g, g->sql.data, &res, err);
    if (!code)
        *n = pg_col_int(res, 0, 0);
    PQclear(res);
    return code;
}

/* user_count's statement with the list version: both in one round trip. */
static int version_count(void *ctx, const struct sg *g, int64_t *n, struct roster_err *err)
{
    struct reader *rd = ctx;
    struct roster_buf sql;
    roster_buf_init(&sql);
    roster_buf_printf(&sql, "SELECT " VERSION_OF("$%zu::bigint") ", (%s)", g->org_param,
                      g->sql.data);
    PGresult *res = NULL;
    int code = run_sg(rd->c, g, sql.data, &res, err);
    if (!code) {
        rd->ver = pg_col_int(res, 0, 0);
        *n = pg_col_int(res, 0, 1);
    }
    PQclear(res);
    roster_buf_release(&sql);
    return code;
}

/* list_plan: the custom plan of g's statement for its values, as list requests run them
 * (pg_snapshot_begin): prepare (sql), EXPLAIN EXECUTE with the values as literals. */
static int explain(void *ctx, const struct sg *g, const char *prepare, struct roster_buf *out,
                   struct roster_err *err)
{
    struct reader *rd = ctx;
    int code = pg_exec(rd->c, prepare, err);
    struct roster_buf sql;
    roster_buf_init(&sql);
    roster_buf_addstr(&sql, "EXPLAIN EXECUTE roster_plan (");
    for (size_t i = 0; i < g->nvals; i++) {
        if (i)
            roster_buf_addstr(&sql, ", ");
        if (g->vals[i].type == SG_INT)
            roster_buf_printf(&sql, "%lld", (long long)g->vals[i].i);
        else if (!g->vals[i].s)
            roster_buf_addstr(&sql, "NULL");
        else {
            char *lit = PQescapeLiteral(rd->c->db, g->vals[i].s, strlen(g->vals[i].s));
            roster_buf_addstr(&sql, lit ? lit : "NULL");
            PQfreemem(lit);
        }
    }
    roster_buf_addch(&sql, ')');
    PGresult *res = NULL;
    if (!code)
        code = pg_run(rd->c, -1, sql.data, NULL, &res, err);
    for (int i = 0; !code && i < PQntuples(res); i++)
        roster_buf_printf(out, "  %s\n", PQgetvalue(res, i, 0));
    PQclear(res);
    if (!code)
        code = pg_exec(rd->c, "DEALLOCATE roster_plan", err);
    roster_buf_release(&sql);
    return code;
}

int pg_user_page(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 const struct roster_user *after, int64_t skip, int64_t limit,
                 struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *ver,
                 struct roster_err *err)
{
    struct reader rd = {pg_conn_of(pc), org_id ? org_id : "", 0};
    struct sl_runner run = {page_rows, skip_count, NULL, NULL, &rd};
    *out = NULL;
    *n = 0;
    if (after && !sg_keyset_ok(q))
        return roster_err_set(err, ROSTER_EINVAL, "a list with several sort keys has no keyset");
    /* one snapshot, custom plans; a direct read of one statement needs neither: a
     * statement is consistent by itself, and the plan of a key look-up is the same for
     * every key (2 round trips and a planning of ~1 ms fewer a SCIM userName look-up) */
    bool began = false;
    bool direct = q->direct && !after && skip <= 0 && sg_segments(q, SG_PG) == 1;
    int code = direct ? 0 : pg_snapshot_begin(pc, &began, err);
    if (code)
        return code;
    int64_t org_num = 0;
    struct roster_arena oa;
    roster_arena_init(&oa, 256);
    code = pg_org_num(rd.c, rd.org_id, &org_num, &oa, err);
    roster_arena_release(&oa);
    if (!code && !org_num) {
        pg_snapshot_end(pc, began); /* an unknown organisation has no users */
        return 0;
    }
    if (!code)
        code = sl_user_page(&run, SG_PG, org_num, q, after, skip, limit, a, out, n, err);
    pg_snapshot_end(pc, began);
    if (!code && ver)
        *ver = rd.ver;
    return code;
}

int pg_user_count(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                  int64_t *count, int64_t *ver, struct roster_err *err)
{
    struct reader rd = {pg_conn_of(pc), org_id ? org_id : "", 0};
    struct sl_runner run = {NULL, version_count, NULL, NULL, &rd};
    *count = 0;
    if (ver)
        *ver = 0;
    struct roster_arena a;
    roster_arena_init(&a, 256);
    int64_t org_num = 0;
    int code = pg_org_num(rd.c, rd.org_id, &org_num, &a, err);
    roster_arena_release(&a);
    if (!code && org_num) /* an unknown organisation has no users */
        code = sl_user_count(&run, SG_PG, org_num, q, count, err);
    if (!code && org_num && ver)
        *ver = rd.ver;
    return code;
}

int pg_list_plan(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 const struct roster_user *after, bool count, struct roster_arena *a,
                 const char **plan, struct roster_err *err)
{
    struct reader rd = {pg_conn_of(pc), org_id, 0};
    struct sl_runner run = {NULL, NULL, explain, "PREPARE roster_plan AS ", &rd};
    int64_t org_num = 0;
    *plan = "";
    /* with current statistics and visibility map, as autovacuum keeps them on a running
     * store; the custom plan for these values, as list requests run them
     * (pg_snapshot_begin) */
    int code = pg_exec(rd.c, "VACUUM ANALYZE users", err);
    if (!code)
        code = pg_exec(rd.c, "VACUUM ANALYZE group_members", err);
    if (!code)
        code = pg_exec(rd.c, "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan", err);
    if (!code)
        code = pg_org_num(rd.c, org_id, &org_num, a, err);
    if (!code)
        code = sl_list_plan(&run, SG_PG, org_num, q, after, count, a, plan, err);
    PQclear(PQexec(rd.c->db, "ROLLBACK"));
    return code;
}
