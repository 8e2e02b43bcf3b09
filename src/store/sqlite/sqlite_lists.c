/* SQLite store: user lists. The read side runs the statements of the shared translator
 * (src/store/sqlgen.c) one segment after the other; the write side keeps what the lists
 * read in step with the users table, in the writer's own transaction: the list version and
 * change record of the organisation (list_versions, list_changes), the copy of the rarely
 * set fields (user_sparse) and the sort keys of memberships (group_members.uname/dname).
 * docs/lists.md explains how core uses the change records.
 */
#include <stdio.h>
#include <string.h>

#include "roster/list.h"
#include "roster/util.h"
#include "store/sqlgen.h"
#include "store/store_keys.h"
#include "store/store_lists.h"
#include "store/sqlite/sqlite_int.h"

/* change records older than this many versions are pruned */
#define SQ_LIST_KEEP 4096

int sq_bind_sg(struct sq_conn *c, sqlite3_stmt *s, const struct sg *g, struct roster_err *err)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; rc == SQLITE_OK && i < g->nvals; i++) {
        const struct sg_val *v = &g->vals[i];
        if (v->type == SG_INT)
            rc = sqlite3_bind_int64(s, (int)i + 1, v->i);
        else
            rc = sq_bind_str(s, (int)i + 1, v->s);
    }
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, err);
}

/* --- the write side --- */

bool sq_list_wants_detail(struct sq_conn *c, int64_t org_num)
{
    if (c->lc_org != org_num)
        return true;
    return !c->lc_reset && c->lc_count < SQ_LIST_MAX_TXN_CHANGES;
}

int sq_list_record(struct sq_conn *c, int64_t org_num, const struct roster_change *ch,
                   struct roster_err *err)
{
    if (c->lc_org != org_num) {
        c->lc_org = org_num;
        c->lc_count = 0;
        c->lc_reset = false;
    }
    if (c->lc_reset)
        return 0; /* a reset of this transaction covers it */
    bool reset = !ch || c->lc_count >= SQ_LIST_MAX_TXN_CHANGES;
    sqlite3_stmt *s = sq_stmt(c, SQ_LIST_BUMP, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    int rc = sqlite3_step(s);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    struct roster_buf payload;
    roster_buf_init(&payload);
    if (!reset)
        roster_change_encode(ch, &payload);
    s = sq_stmt(c, SQ_LIST_RECORD, err);
    if (!s) {
        roster_buf_release(&payload);
        return err ? err->code : ROSTER_EIO;
    }
    sqlite3_bind_int64(s, 1, org_num);
    sqlite3_bind_int64(s, 2, v);
    sqlite3_bind_int(s, 3, reset ? ROSTER_CHANGE_RESET : ROSTER_CHANGE_USER);
    if (reset)
        sqlite3_bind_null(s, 4);
    else
        sqlite3_bind_text(s, 4, payload.data, (int)payload.len, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    roster_buf_release(&payload);
    if (rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    if (v % 256 == 0 && v > SQ_LIST_KEEP) {
        s = sq_stmt(c, SQ_LIST_PRUNE, err);
        if (!s)
            return err ? err->code : ROSTER_EIO;
        sqlite3_bind_int64(s, 1, org_num);
        sqlite3_bind_int64(s, 2, v - SQ_LIST_KEEP);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return sq_fail(c, rc, err);
    }
    c->lc_count++;
    if (reset)
        c->lc_reset = true;
    return 0;
}

int sq_user_image(struct sq_conn *c, int64_t org_num, const char *id, int64_t num_id,
                  struct roster_arena *a, struct roster_user **u, int64_t **groups, size_t *ng,
                  struct roster_err *err)
{
    *u = NULL;
    *groups = NULL;
    *ng = 0;
    sqlite3_stmt *s = sq_user_stmt(c, num_id ? SQ_USER_BY_NUM : SQ_USER_GET, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    if (num_id) {
        sqlite3_bind_int64(s, 1, num_id);
        sqlite3_bind_int64(s, 2, org_num);
    } else {
        sqlite3_bind_int64(s, 1, org_num);
        sq_bind_str(s, 2, id);
    }
    int rc = sqlite3_step(s);
    struct roster_user *img = NULL;
    if (rc == SQLITE_ROW) {
        img = roster_arena_alloc(a, sizeof(*img));
        sq_read_user(s, 0, "", img, a);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    if (!img)
        return ROSTER_ENOTFOUND;
    s = sq_stmt(c, SQ_USER_GROUPS, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, img->num_id);
    size_t cap = 8, n = 0;
    int64_t *g = roster_arena_alloc(a, cap * sizeof(*g));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        g = roster_arena_grow(a, g, n, &cap, sizeof(*g));
        g[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(c, rc, err);
    *u = img;
    *groups = g;
    *ng = n;
    return 0;
}

static bool has_sparse(const struct roster_user *u)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (sg_sparse(i) && u->f[i])
            return true;
    return false;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_sparse(const struct roster_user *a, const struct roster_user *b)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (sg_sparse(i) && !same_str(a->f[i], b->f[i]))
            return false;
    return true;
}

static int step_done(struct sq_conn *c, sqlite3_stmt *s, struct roster_err *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, rc, err);
}

int sq_user_side_write(struct sq_conn *c, int64_t org_num, const struct roster_user *before,
                       const struct roster_user *u, struct roster_err *err)
{
    bool is_new = before == NULL && u->version <= 1;
    if (is_new && c->sparse_deferred)
        return 0; /* sq_user_create_many copies them after the batch */
    bool has = has_sparse(u);
    if (!(before && same_sparse(before, u))) {
        sqlite3_stmt *s = NULL;
        if (has) {
            s = sq_stmt(c, SQ_SPARSE_UPSERT, err);
            if (!s)
                return err ? err->code : ROSTER_EIO;
            sqlite3_bind_int64(s, 1, u->num_id);
            sqlite3_bind_int64(s, 2, org_num);
            sqlite3_bind_text(s, 3, u->id, -1, SQLITE_STATIC);
            int p = 4;
            for (int i = 0; i < RU_NFIELDS; i++)
                if (sg_sparse(i))
                    sq_bind_str(s, p++, u->f[i]);
        } else if (!is_new && (!before || has_sparse(before))) {
            s = sq_stmt(c, SQ_SPARSE_DELETE, err);
            if (!s)
                return err ? err->code : ROSTER_EIO;
            sqlite3_bind_int64(s, 1, u->num_id);
        }
        int code = s ? step_done(c, s, err) : 0;
        if (code)
            return code;
    }
    return 0;
}

/* --- the read side --- */

int sq_snapshot_begin(struct roster_conn *pc, bool *began, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *began = false;
    if (c->rs_active || !sqlite3_get_autocommit(c->db))
        return 0;
    int code = sq_exec_cached(c, SQ_BEGIN_READ, err);
    if (!code)
        *began = true;
    return code;
}

void sq_snapshot_end(struct roster_conn *pc, bool began)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (began && !sqlite3_get_autocommit(c->db) && sq_exec_cached(c, SQ_COMMIT, NULL) != 0)
        sq_exec_cached(c, SQ_ROLLBACK, NULL);
}

static int read_version(struct sq_conn *c, int64_t org_num, int64_t *ver, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_LIST_VERSION, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    int rc = sqlite3_step(s);
    *ver = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(c, rc, err);
}

int sq_list_version(struct roster_conn *pc, const char *org_id, int64_t *ver,
                    struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *ver = 0;
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0;
    return code ? code : read_version(c, org_num, ver, err);
}

int sq_list_changes(struct roster_conn *pc, const char *org_id, int64_t since, int64_t until,
                    struct roster_arena *a, struct roster_change **out, size_t *n,
                    struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    size_t want, len = 0;
    int code = roster_store_changes_want(since, until, SQ_LIST_KEEP, out, n, &want, err);
    if (code || !want)
        return code;
    int64_t org_num;
    code = sq_org_num(c, org_id, &org_num, err);
    if (code)
        return code == ROSTER_ENOTFOUND ? roster_err_set(err, ROSTER_ESTALE, "no organisation")
                                        : code;
    sqlite3_stmt *s = sq_stmt(c, SQ_LIST_CHANGES, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, until);
    struct roster_change *v = roster_arena_zalloc(a, want * sizeof(*v));
    int rc;
    while (!code && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t ver = sqlite3_column_int64(s, 0);
        if (len >= want || ver != since + 1 + (int64_t)len) {
            code = roster_err_set(err, ROSTER_ESTALE, "list change %lld is not kept",
                                  (long long)(since + 1 + (int64_t)len));
            break;
        }
        struct roster_change *ch = &v[len++];
        ch->ver = ver;
        ch->kind = sqlite3_column_int(s, 1);
        if (ch->kind == ROSTER_CHANGE_USER) {
            const char *text = (const char *)sqlite3_column_text(s, 2);
            size_t tl = (size_t)sqlite3_column_bytes(s, 2);
            if (!text || roster_change_decode(text, tl, ch, a, err) != 0)
                ch->kind = ROSTER_CHANGE_RESET; /* unreadable: forget the lists */
        }
    }
    if (!code && rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    if (!code && len != want)
        code = roster_err_set(err, ROSTER_ESTALE, "list changes after %lld are not kept",
                              (long long)(since + (int64_t)len));
    if (code)
        return code;
    *out = v;
    *n = len;
    return 0;
}

int sq_count(struct sq_conn *c, const char *sql, const struct sg *g, int64_t *out,
             struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(c, sql, &s, err);
    if (!code)
        code = sq_bind_sg(c, s, g, err);
    if (!code) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(s, 0);
        else
            code = sq_fail(c, rc, err);
    }
    sqlite3_finalize(s);
    return code;
}

/* The list reads of one request (src/store/store_lists.c runs them). */
struct reader {
    struct sq_conn *c;
    const char *org_id;
    int64_t org_num;
    int64_t *ver; /* user_count: the list version, read in the same snapshot */
};

/* A page of one segment: g's statement, prepared for this request. */
static int page_rows(void *ctx, const struct sg *g, bool first, struct sl_page *p, size_t *got,
                     struct roster_err *err)
{
    struct reader *rd = ctx;
    sqlite3_stmt *s = NULL;
    (void)first;
    int code = sq_prepare(rd->c, g->sql.data, &s, err);
    if (!code)
        code = sq_bind_sg(rd->c, s, g, err);
    int rc = SQLITE_DONE;
    while (!code && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        sq_read_user(s, 0, rd->org_id, sl_page_add(p), p->a);
        (*got)++;
    }
    if (!code && rc != SQLITE_DONE)
        code = sq_fail(rd->c, rc, err);
    sqlite3_finalize(s);
    return code;
}

/* How much of the skip a segment took (a count). */
static int skip_count(void *ctx, const struct sg *g, int64_t *n, struct roster_err *err)
{
    struct reader *rd = ctx;
    return sq_count(rd->c, g->sql.data, g, n, err);
}

/* user_count's statement and the list version, in one snapshot. */
static int version_count(void *ctx, const struct sg *g, int64_t *n, struct roster_err *err)
{
    struct reader *rd = ctx;
    bool began;
    int code = sq_snapshot_begin(&rd->c->pub, &began, err);
    if (code)
        return code;
    if (rd->ver)
        code = read_version(rd->c, rd->org_num, rd->ver, err);
    if (!code)
        code = sq_count(rd->c, g->sql.data, g, n, err);
    sq_snapshot_end(&rd->c->pub, began);
    return code;
}

/* list_plan: EXPLAIN QUERY PLAN of g's statement (sql). */
static int explain(void *ctx, const struct sg *g, const char *sql, struct roster_buf *out,
                   struct roster_err *err)
{
    struct reader *rd = ctx;
    sqlite3_stmt *s = NULL;
    int code = sq_prepare(rd->c, sql, &s, err);
    if (!code)
        code = sq_bind_sg(rd->c, s, g, err);
    while (!code && sqlite3_step(s) == SQLITE_ROW)
        roster_buf_printf(out, "  %s\n", (const char *)sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
    return code;
}

int sq_user_page(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 const struct roster_user *after, int64_t skip, int64_t limit,
                 struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *ver,
                 struct roster_err *err)
{
    struct reader rd = {sq_conn_of(pc), org_id, 0, NULL};
    struct sl_runner run = {page_rows, skip_count, NULL, NULL, &rd};
    *out = NULL;
    *n = 0;
    if (ver)
        *ver = 0;
    if (after && !sg_keyset_ok(q))
        return roster_err_set(err, ROSTER_EINVAL, "a list with several sort keys has no keyset");
    int code = sq_org_num(rd.c, org_id, &rd.org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0; /* an unknown organisation has no users */
    bool began = false;
    if (!code)
        code = sq_snapshot_begin(pc, &began, err);
    if (!code && ver)
        code = read_version(rd.c, rd.org_num, ver, err);
    if (!code)
        code = sl_user_page(&run, SG_SQLITE, rd.org_num, q, after, skip, limit, a, out, n, err);
    sq_snapshot_end(pc, began);
    return code;
}

int sq_user_count(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                  int64_t *count, int64_t *ver, struct roster_err *err)
{
    struct reader rd = {sq_conn_of(pc), org_id, 0, ver};
    struct sl_runner run = {NULL, version_count, NULL, NULL, &rd};
    *count = 0;
    if (ver)
        *ver = 0;
    int code = sq_org_num(rd.c, org_id, &rd.org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return 0; /* an unknown organisation has no users */
    return code ? code : sl_user_count(&run, SG_SQLITE, rd.org_num, q, count, err);
}

int sq_list_plan(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 const struct roster_user *after, bool count, struct roster_arena *a,
                 const char **plan, struct roster_err *err)
{
    struct reader rd = {sq_conn_of(pc), org_id, 0, NULL};
    struct sl_runner run = {NULL, NULL, explain, "EXPLAIN QUERY PLAN ", &rd};
    *plan = "";
    int code = sq_org_num(rd.c, org_id, &rd.org_num, err);
    return code ? code : sl_list_plan(&run, SG_SQLITE, rd.org_num, q, after, count, a, plan, err);
}
