/* PostgreSQL store: message templates per organisation (schema/0008_templates.sql), with
 * the SQLite store's semantics. Every statement is scoped by the organisation's num_id. A
 * put is one upsert statement, so two processes storing the same name never conflict.
 */
#include <string.h>

#include "roster/store.h"
#include "store/postgres/pg_int.h"

#define T(kind, field) PG_COL(kind, struct roster_template, field)
static const struct pg_col template_cols[] = {T(PG_STR, name), T(PG_STR, content_json),
                                              T(PG_I64, updated_ms)};
#undef T
static const struct pg_rec template_rec =
    PG_REC(struct roster_template, template_cols, offsetof(struct roster_template, org_id));

int pg_template_put(struct roster_conn *pc, struct roster_template *t, bool *created,
                    struct roster_err *err)
{
    struct pg_call q;
    pg_call_init(&q, pg_conn_of(pc), NULL);
    int64_t now = roster_now_ms();
    /* xmax is 0 on a row this statement inserted, the updating transaction's id otherwise */
    int code = pg_call_stmt(
        &q,
        PG_WRITE(-1,
                 "INSERT INTO templates (org_num, name, content_json, updated_ms)"
                 " SELECT num_id, $2, $3, $4 FROM orgs WHERE id = $1"
                 " ON CONFLICT (org_num, name) DO UPDATE SET content_json = EXCLUDED.content_json,"
                 " updated_ms = EXCLUDED.updated_ms RETURNING (xmax = 0)",
                 PG_S(t->org_id), PG_S(t->name), PG_S(t->content_json), PG_I(now)),
        err);
    if (!code && PQntuples(q.res) != 1)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found", t->org_id);
    if (!code) {
        t->updated_ms = now;
        if (created)
            *created = strcmp(PQgetvalue(q.res, 0, 0), "t") == 0;
    }
    return pg_call_end(&q, code);
}

int pg_template_get(struct roster_conn *pc, const char *org_id, const char *name,
                    struct roster_template *out, struct roster_arena *a, struct roster_err *err)
{
    return pg_get(pg_conn_of(pc),
                  PG_STMT(-1,
                          "SELECT name, content_json, updated_ms FROM templates"
                          " WHERE org_num = " ORG_NUM_OF(1) " AND name = $2",
                          PG_S(org_id), PG_S(name)),
                  &template_rec, org_id, out, a, "template", name ? name : "", err);
}

int pg_template_list(struct roster_conn *pc, const char *org_id, struct roster_arena *a,
                     struct roster_template **out, size_t *n, struct roster_err *err)
{
    int code;
    *out = pg_select(pg_conn_of(pc),
                     PG_STMT(-1,
                             "SELECT name, content_json, updated_ms FROM templates"
                             " WHERE org_num = " ORG_NUM_OF(1) " ORDER BY name",
                             PG_S(org_id)),
                     &template_rec, org_id, a, n, &code, err);
    return code;
}

int pg_template_delete(struct roster_conn *pc, const char *org_id, const char *name,
                       struct roster_err *err)
{
    bool none;
    int code = pg_update(
        pg_conn_of(pc),
        PG_WRITE(-1, "DELETE FROM templates WHERE org_num = " ORG_NUM_OF(1) " AND name = $2",
                 PG_S(org_id), PG_S(name)),
        &none, err);
    if (!code && none)
        code = roster_err_set(err, ROSTER_ENOTFOUND, "template \"%s\" not found", name ? name : "");
    return code;
}
