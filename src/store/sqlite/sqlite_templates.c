/* SQLite store: message templates per organisation (schema/0008_templates.sql). Every
 * statement is scoped by the organisation's num_id, so another organisation's template is
 * exactly as absent as a missing one.
 */
#include <string.h>

#include "roster/store.h"
#include "store/sqlite/sqlite_int.h"

static void read_template(sqlite3_stmt *s, void *row, const void *org_id, struct roster_arena *a)
{
    struct roster_template *t = row;
    memset(t, 0, sizeof(*t));
    memcpy(t->org_id, org_id, ROSTER_ID_LEN);
    t->name = sq_col_str(s, 0, a);
    t->content_json = sq_col_str(s, 1, a);
    t->updated_ms = sqlite3_column_int64(s, 2);
}

int sq_template_put(struct roster_conn *pc, struct roster_template *t, bool *created,
                    struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, t->org_id, &org_num, "organization", t->org_id, err);
    if (code)
        return code;
    int64_t now = roster_now_ms();
    code = sq_tx_start(c, err);
    if (code)
        return code;
    code =
        sq_write(c,
                 "UPDATE templates SET content_json = ?3, updated_ms = ?4"
                 " WHERE org_num = ?1 AND name = ?2",
                 SQ_ARGS(SQ_INT(org_num), SQ_TEXT(t->name), SQ_TEXT(t->content_json), SQ_INT(now)),
                 NULL, NULL, err);
    bool fresh = !code && sqlite3_changes(c->db) == 0;
    if (fresh) {
        const struct sq_item it = {"template", t->name, t->org_id};
        code = sq_write(
            c,
            "INSERT INTO templates (org_num, name, content_json, updated_ms)"
            " VALUES (?1, ?2, ?3, ?4)",
            SQ_ARGS(SQ_INT(org_num), SQ_TEXT(t->name), SQ_TEXT(t->content_json), SQ_INT(now)),
            sq_insert_fail, &it, err);
    }
    int end = sq_tx_end(c, code == 0, code ? NULL : err);
    code = code ? code : end;
    if (!code) {
        t->updated_ms = now;
        if (created)
            *created = fresh;
    }
    return code;
}

int sq_template_get(struct roster_conn *pc, const char *org_id, const char *name,
                    struct roster_template *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "template", name, err);
    if (code)
        return code;
    code =
        sq_select_one(c,
                      "SELECT name, content_json, updated_ms FROM templates"
                      " WHERE org_num = ?1 AND name = ?2",
                      SQ_ARGS(SQ_INT(org_num), SQ_TEXT(name)), read_template, org_id, out, a, err);
    if (code == ROSTER_ENOTFOUND)
        return sq_not_found(err, "template", name);
    return code;
}

int sq_template_list(struct roster_conn *pc, const char *org_id, struct roster_arena *a,
                     struct roster_template **out, size_t *n, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *out = NULL;
    *n = 0;
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "organization", org_id, err);
    if (code)
        return code;
    sqlite3_stmt *s = NULL;
    code = sq_prepare_args(c->db,
                           "SELECT name, content_json, updated_ms FROM templates"
                           " WHERE org_num = ?1 ORDER BY name",
                           SQ_ARGS(SQ_INT(org_num)), &s, err);
    if (!code) {
        void *rows;
        code = sq_rows(c, s, sizeof(**out), read_template, org_id, a, &rows, n, err);
        if (!code)
            *out = rows;
    }
    sqlite3_finalize(s);
    return code;
}

int sq_template_delete(struct roster_conn *pc, const char *org_id, const char *name,
                       struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num_for(c, org_id, &org_num, "template", name, err);
    if (code)
        return code;
    return sq_update(c, "DELETE FROM templates WHERE org_num = ?1 AND name = ?2",
                     SQ_ARGS(SQ_INT(org_num), SQ_TEXT(name)), "template", name, err);
}
