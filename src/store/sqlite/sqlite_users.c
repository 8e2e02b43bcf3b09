/* SQLite store: users. create/get/update/delete run through cached statements built from
 * roster_ufields[] (one column per field); user_list translates a struct roster_query into
 * SQL whose values are all bound parameters. Every statement is scoped by the organisation
 * (rows carry its num_id, org_num; see sq_org_num), so another organisation's user is
 * exactly as absent as a missing one.
 */
#include <stdio.h>
#include <string.h>

#include "roster/store.h"
#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store_keys.h"

/* result columns of USER_SELECT */
enum {
    UC_NUM_ID = 0,
    UC_ID = 1,
    UC_ORG_NUM = 2,
    UC_FIELDS = 3, /* RU_NFIELDS columns */
    UC_STATE = UC_FIELDS + RU_NFIELDS,
    UC_CREATED,
    UC_MODIFIED,
    UC_VERSION,
};

/* parameters of SQ_USER_INSERT / SQ_USER_UPDATE: ?1 id, ?2 org_num, ?3.. fields, then these */
enum {
    UP_FIELDS = 3,
    UP_STATE = UP_FIELDS + RU_NFIELDS,
    UP_TIME,    /* created_ms (insert) or modified_ms (update) */
    UP_VERSION, /* update: the version the caller read */
};

static void add_columns(struct roster_buf *b)
{
    roster_buf_addstr(b, "num_id, id, org_num");
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_buf_printf(b, ", %s", roster_ufields[i].column);
    roster_buf_addstr(b, ", state, created_ms, modified_ms, version");
}

void sq_users_sql(int id, struct roster_buf *b)
{
    switch (id) {
    case SQ_USER_INSERT:
        roster_buf_addstr(b, "INSERT INTO users (id, org_num");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", %s", roster_ufields[i].column);
        roster_buf_addstr(b, ", state, created_ms, modified_ms, version) VALUES (?1, ?2");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", ?%d", UP_FIELDS + i);
        roster_buf_printf(b, ", ?%d, ?%d, ?%d, 1)", UP_STATE, UP_TIME, UP_TIME);
        break;
    case SQ_USER_GET:
        roster_buf_addstr(b, "SELECT ");
        add_columns(b);
        roster_buf_addstr(b, " FROM users WHERE org_num = ?1 AND id = ?2");
        break;
    case SQ_USER_BY_NUM:
        roster_buf_addstr(b, "SELECT ");
        add_columns(b);
        roster_buf_addstr(b, " FROM users WHERE num_id = ?1 AND org_num = ?2");
        break;
    case SQ_USER_UPDATE:
        roster_buf_addstr(b, "UPDATE users SET ");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, "%s = ?%d, ", roster_ufields[i].column, UP_FIELDS + i);
        roster_buf_printf(b,
                          "state = ?%d, modified_ms = ?%d, version = version + 1"
                          " WHERE org_num = ?2 AND id = ?1 AND version = ?%d"
                          " RETURNING num_id, created_ms, version",
                          UP_STATE, UP_TIME, UP_VERSION);
        break;
    case SQ_USER_UPDATE_STATE:
        /* a change of state alone leaves every index but none untouched */
        roster_buf_printf(b,
                          "UPDATE users SET state = ?%d, modified_ms = ?%d, version = version + 1"
                          " WHERE org_num = ?2 AND id = ?1 AND version = ?%d"
                          " RETURNING num_id, created_ms, version",
                          UP_STATE, UP_TIME, UP_VERSION);
        break;
    default:
        break;
    }
}

static void read_user(sqlite3_stmt *s, const char *org_id, struct roster_user *u,
                      struct roster_arena *a)
{
    memset(u, 0, sizeof(*u));
    u->num_id = sqlite3_column_int64(s, UC_NUM_ID);
    sq_col_id(s, UC_ID, u->id);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        u->f[i] = sq_col_str(s, UC_FIELDS + i, a);
    u->state = sqlite3_column_int(s, UC_STATE);
    u->created_ms = sqlite3_column_int64(s, UC_CREATED);
    u->modified_ms = sqlite3_column_int64(s, UC_MODIFIED);
    u->version = sqlite3_column_int64(s, UC_VERSION);
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
            if (!names_column(msg, f->column))
                continue;
            const char *v = u->f[unique_fields[i]];
            roster_err_set(err, ROSTER_ECONFLICT, "%s \"%s\" already exists", f->label, v ? v : "");
            if (err)
                err->field = f->label;
            return roster_err_detail(err, "sqlite: %s", msg);
        }
        roster_err_set(err, ROSTER_ECONFLICT, "user id \"%s\" already exists", u->id);
        if (err)
            err->field = "id";
        return roster_err_detail(err, "sqlite: %s", msg);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return roster_err_set(err, ROSTER_ENOTFOUND, "organization \"%s\" not found",
                              org_id ? org_id : "");
    return sq_fail(c, rc, err);
}

int sq_user_create(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, code, "organization \"%s\" not found", org_id ? org_id : "");
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_USER_INSERT, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    bool new_id = !u->id[0];
    if (new_id)
        roster_id_new(u->id);
    int64_t now = roster_now_ms();
    bind_user(s, org_num, u, now);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        code = sq_user_write_fail(c, rc, u, org_id, err);
        if (new_id)
            u->id[0] = '\0';
        goto done;
    }
    u->num_id = sqlite3_last_insert_rowid(c->db);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    u->created_ms = u->modified_ms = now;
    u->version = 1;
done:
    /* the reset ends the statement, so a failed insert leaves the caller's transaction
     * usable (SQLite only rolls back the statement) */
    sqlite3_reset(s);
    return code;
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
int sq_user_create_many(struct roster_conn *pc, const char *org_id, struct roster_user *u, size_t n,
                        int *rcs, struct roster_err *errs, struct roster_err *err)
{
    return each_in_tx(pc, org_id, u, n, sq_user_create, rcs, errs, err);
}

int sq_user_get(struct roster_conn *pc, const char *org_id, const char *user_id,
                struct roster_user *out, struct roster_arena *a, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, code, "user \"%s\" not found", user_id ? user_id : "");
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_USER_GET, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    sq_bind_str(s, 2, user_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_user(s, org_id, out, a);
    else if (rc == SQLITE_DONE)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    else
        code = sq_fail(c, rc, err);
    sqlite3_reset(s);
    return code;
}

/* 1 if the user exists in org_id, 0 if not, or a negative roster code. */
static int user_exists(struct sq_conn *c, int64_t org_num, const char *user_id,
                       struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_USER_EXISTS, err);
    if (!s)
        return -(err ? err->code : ROSTER_EIO);
    sqlite3_bind_int64(s, 1, org_num);
    sq_bind_str(s, 2, user_id);
    int rc = sqlite3_step(s);
    int res = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -sq_fail(c, rc, err);
    sqlite3_reset(s);
    return res;
}

int sq_user_update(struct roster_conn *pc, const char *org_id, struct roster_user *u,
                   struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, code, "user \"%s\" not found", u->id);
    if (code)
        return code;
    bool state_only = u->set == ROSTER_USET_STATE;
    sqlite3_stmt *s = sq_stmt(c, state_only ? SQ_USER_UPDATE_STATE : SQ_USER_UPDATE, err);
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
    int exists = user_exists(c, org_num, u->id, err);
    if (exists < 0)
        return -exists;
    if (exists)
        return roster_err_set(err, ROSTER_ESTALE, "user \"%s\" was changed by another request",
                              u->id);
    return roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", u->id);
}

int sq_user_delete(struct roster_conn *pc, const char *org_id, const char *user_id,
                   struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND)
        return roster_err_set(err, code, "user \"%s\" not found", user_id ? user_id : "");
    if (code)
        return code;
    sqlite3_stmt *s = sq_stmt(c, SQ_USER_DELETE, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    sqlite3_bind_int64(s, 1, org_num);
    sq_bind_str(s, 2, user_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    else if (sqlite3_changes(c->db) == 0)
        code =
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%s\" not found", user_id ? user_id : "");
    sqlite3_reset(s);
    return code;
}

/* --- user_list: struct roster_query -> SQL with bound parameters --- */

/* q's filters and search as " AND ..." clauses with bound values in w. */
static int build_where(const struct roster_query *q, struct sq_query *w, struct roster_err *err)
{
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++) {
        int code = sq_query_add_filter(w, &q->filters[i], err);
        if (code)
            return code;
    }
    if (q->search && q->search[0]) {
        roster_buf_addstr(&w->where, " AND (");
        static const int searched[] = {RU_USERNAME, RU_EMAIL, RU_FIRST_NAME, RU_LAST_NAME};
        for (size_t i = 0; i < sizeof(searched) / sizeof(searched[0]); i++) {
            roster_buf_printf(&w->where, "%sinstr(lower(%s), lower(?)) > 0", i ? " OR " : "",
                              roster_ufields[searched[i]].column);
            sq_query_add_bind(w, false, 0, q->search);
        }
        roster_buf_addch(&w->where, ')');
    }
    return 0;
}

/* One page of a list, read through the list cache (sqlite_listcache.c) in one read
 * transaction: the total is the length of the cached rowid array of these filters (and, for
 * a grouped list, its order), and the page, rowids[from..to), is that many primary-key
 * look-ups at any offset. */
struct sq_page {
    uint64_t gen; /* the write generation, read before the snapshot began */
    bool fresh;   /* this connection saw no outside change: cached data may be used */
    bool began;
    struct sq_list_entry *e;
    const int64_t *rowids;
    int64_t count, from, to;
};

static int page_begin(struct sq_conn *c, int64_t org_num, const struct sq_query *w,
                      const struct roster_query *q, struct sq_page *p, struct roster_err *err)
{
    memset(p, 0, sizeof(*p));
    int code;
    if (c->rs_active) {
        /* inside a read span: its snapshot, generation and freshness */
        p->gen = c->rs_gen;
        p->fresh = c->rs_fresh;
    } else {
        /* read before the snapshot begins: see the DESIGN comment of sqlite_listcache.c */
        p->gen = sq_list_gen(c->store);
        code = sq_exec_cached(c, SQ_BEGIN_READ, err);
        if (code)
            return code;
        p->began = true;
        code = sq_list_check_version(c, &p->fresh, err);
        if (code)
            return code;
    }
    code = sq_list_ids_get(c, p->gen, p->fresh, org_num, w, &p->e, err);
    if (code)
        return code;
    p->count = sq_list_ids_count(p->e);
    p->rowids = sq_list_ids_rowids(p->e);
    p->from = q->skip > 0 ? q->skip : 0;
    p->to = p->count;
    if (q->limit >= 0 && p->from < p->count && q->limit < p->count - p->from)
        p->to = p->from + q->limit;
    if (p->from > p->to)
        p->from = p->to;
    return 0;
}

/* Ends the page's read transaction (commit when code is 0) and returns code, or the
 * commit's failure. */
static int page_end(struct sq_conn *c, struct sq_page *p, int code, struct roster_err *err)
{
    sq_list_ids_release(c, p->e);
    p->e = NULL;
    if (!p->began)
        return code;
    p->began = false;
    if (code) {
        sq_exec_cached(c, SQ_ROLLBACK, NULL);
        return code;
    }
    return sq_exec_cached(c, SQ_COMMIT, err);
}

/* A page of a list through the list cache: the total and rowids[from..to) of w (page_begin),
 * that many primary-key look-ups. With rows (grouped lists), the page's users come from the
 * user row cache (sqlite_rowcache.c, same validity as the entry) where it has them, and the
 * ones read here are offered to it. */
static int list_page(struct sq_conn *c, int64_t org_num, const char *org_id,
                     const struct sq_query *w, bool rows, const struct roster_query *q,
                     struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
                     struct roster_err *err)
{
    struct sq_page p;
    int code = page_begin(c, org_num, w, q, &p, err); /* sets p before it can fail */
    if (code)
        goto done;
    if (total && q->want_total)
        *total = p.count;
    if (p.from >= p.to)
        goto done;
    size_t np = (size_t)(p.to - p.from), len = 0, nread = 0, hits = 0;
    struct roster_user *v = roster_arena_alloc(a, np * sizeof(*v));
    bool *hit = NULL;              /* v[i] came from the row cache */
    struct roster_user *rd = NULL; /* the users read here, for the row cache */
    if (rows && p.fresh) {
        hit = roster_arena_alloc(a, np * sizeof(*hit));
        hits = sq_urow_get(c->store, p.gen, org_num, org_id, p.rowids + p.from, np, v, hit, a);
        rd = hits < np ? roster_arena_alloc(a, (np - hits) * sizeof(*rd)) : NULL;
    }
    sqlite3_stmt *s = hits < np ? sq_stmt(c, SQ_USER_BY_NUM, err) : NULL;
    if (hits < np && !s) {
        code = err ? err->code : ROSTER_EIO;
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        if (hit && hit[i]) {
            if (len != i)
                v[len] = v[i];
            len++;
            continue;
        }
        sqlite3_bind_int64(s, 1, p.rowids[p.from + (int64_t)i]);
        sqlite3_bind_int64(s, 2, org_num);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            read_user(s, org_id, &v[len], a);
            if (rd)
                rd[nread++] = v[len];
            len++;
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            code = sq_fail(c, rc, err);
            goto done;
        }
    }
    if (nread)
        sq_urow_put(c->store, p.gen, org_num, rd, nread);
    *out = v;
    *n = len;
done:
    code = page_end(c, &p, code, err);
    if (code) {
        *out = NULL;
        *n = 0;
    }
    return code;
}

int sq_user_list(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                 struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
                 struct roster_err *err)
{
    return sq_user_list_grouped(pc, org_id, q, NULL, 0, a, out, n, total, err);
}

/* A page of a grouped list through the list cache (sqlite_listcache.c): ids_sql selects the
 * rowids of every match in the list's order; the entry is keyed by that whole statement and
 * its bound values (a copy of w whose WHERE text is ids_sql: it starts with "SELECT", so it
 * never equals the WHERE fragment of an id-ordered list). Validity is the store's write
 * generation, bumped by every commit to the main file, memberships included. The total is
 * the array's length; the page's users come from the user row cache (sqlite_rowcache.c,
 * same validity) or by primary key, all in one read snapshot (the read span's, if any). */
static int grouped_cached(struct sq_conn *c, int64_t org_num, const char *org_id,
                          const struct sq_query *w, const char *ids_sql,
                          const struct roster_query *q, struct roster_arena *a,
                          struct roster_user **out, size_t *n, int64_t *total,
                          struct roster_err *err)
{
    struct sq_query key = *w;
    roster_buf_init(&key.where);
    roster_buf_addstr(&key.where, ids_sql);
    key.ids_sql = ids_sql;
    int code = list_page(c, org_num, org_id, &key, true, q, a, out, n, total, err);
    roster_buf_release(&key.where);
    return code;
}

/* Whether group num_id has at most SMALL_GROUP members (a bounded count: cheap for big
 * groups too). Only a plan choice (which member condition drives the query), never a
 * result: the answer is remembered per thread for the store's write generation it was
 * counted at, so a repeated list (a cache hit) counts nothing. */
#define SMALL_GROUP 20000
#define SMALL_MEMO 64
struct small_memo {
    const struct sq_store *st; /* cppcheck-suppress unusedStructMember ; used below */
    uint64_t gen;
    int64_t group; /* cppcheck-suppress unusedStructMember */
    bool small;    /* cppcheck-suppress unusedStructMember */
};
static _Thread_local struct small_memo small_memo[SMALL_MEMO];

static bool group_is_small(struct sq_conn *c, int64_t num_id)
{
    uint64_t gen = c->store ? sq_list_gen(c->store) : 0;
    struct small_memo *m = &small_memo[(uint64_t)num_id % SMALL_MEMO];
    if (c->store && m->st == c->store && m->gen == gen && m->group == num_id)
        return m->small;
    sqlite3_stmt *s = NULL;
    bool small = false;
    if (sq_prepare(c,
                   "SELECT count(*) FROM (SELECT 1 FROM group_members WHERE group_num = ?1"
                   " LIMIT ?2)",
                   &s, NULL) == 0) {
        sqlite3_bind_int64(s, 1, num_id);
        sqlite3_bind_int64(s, 2, SMALL_GROUP + 1);
        small = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) <= SMALL_GROUP;
    }
    sqlite3_finalize(s);
    if (c->store)
        *m = (struct small_memo){c->store, gen, num_id, small};
    return small;
}

/* The ORDER BY terms of q, then id (the tiebreak). */
static int add_order(struct roster_buf *sql, const struct roster_query *q, struct roster_err *err)
{
    for (size_t i = 0; i < q->nsorts && i < ROSTER_QUERY_MAX_SORTS; i++) {
        const char *col = roster_store_user_column(q->sorts[i].key);
        if (!col)
            return roster_err_set(err, ROSTER_EINVAL, "unknown sort field %d", q->sorts[i].key);
        roster_buf_printf(sql, "%s%s, ", col, q->sorts[i].desc ? " DESC" : "");
    }
    roster_buf_addstr(sql, "id");
    return 0;
}

/* user_list with group membership conditions (sqlite_groups.c has the other group methods) */
int sq_user_list_grouped(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                         const struct roster_group_cond *conds, size_t ncond,
                         struct roster_arena *a, struct roster_user **out, size_t *n,
                         int64_t *total, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    struct sq_query w = {.a = a, .column = roster_store_user_column};
    struct roster_buf sql;
    sqlite3_stmt *s = NULL;
    int code = 0, rc;
    roster_buf_init(&w.where);
    roster_buf_init(&sql);
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    int64_t org_num;
    code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND) {
        /* an unknown organisation has no users */
        if (total && q->want_total)
            *total = 0;
        code = 0;
        goto done;
    }
    if (code)
        goto done;
    code = build_where(q, &w, err);
    if (code)
        goto done;
    /* Membership: a point lookup per candidate row (EXISTS), never a whole group read into
     * a temporary table. The first member condition on a small group drives the query
     * instead (its members joined to users): GetUsers by skill then reads a few thousand
     * rows, not every user of the organisation. */
    const char *from = "users";
    bool driven = false;
    for (size_t i = 0; i < ncond; i++) {
        if (!driven && conds[i].member && group_is_small(c, conds[i].group_num_id)) {
            driven = true;
            from = "group_members AS m0 CROSS JOIN users";
            roster_buf_addstr(&w.where, " AND m0.group_num = ? AND users.num_id = m0.user_num");
        } else {
            roster_buf_printf(&w.where,
                              " AND %sEXISTS (SELECT 1 FROM group_members AS m WHERE"
                              " m.group_num = ? AND m.user_num = users.num_id)",
                              conds[i].member ? "" : "NOT ");
        }
        sq_query_add_bind(&w, true, conds[i].group_num_id, NULL);
    }

    /* id order without a search or group conditions, outside a caller's transaction (a
     * read span is fine): through the list cache */
    if (q->nsorts == 0 && !(q->search && q->search[0]) && ncond == 0 && c->store &&
        (sqlite3_get_autocommit(c->db) || c->rs_active)) {
        code = list_page(c, org_num, org_id, &w, false, q, a, out, n, total, err);
        goto done;
    }

    /* a page (not "every match": those callers look users up to write them) with group
     * conditions, outside a caller's transaction: the ordered rowids of every match are
     * cached (a page and the total then read no other row) */
    if (ncond > 0 && q->limit >= 0 && c->store && (sqlite3_get_autocommit(c->db) || c->rs_active)) {
        roster_buf_printf(&sql, "SELECT users.num_id FROM %s WHERE org_num = ?%s ORDER BY ", from,
                          w.where.data ? w.where.data : "");
        code = add_order(&sql, q, err);
        if (!code)
            code = grouped_cached(c, org_num, org_id, &w, sql.data, q, a, out, n, total, err);
        goto done;
    }

    if (total && q->want_total) {
        roster_buf_printf(&sql, "SELECT count(*) FROM %s WHERE org_num = ?%s", from,
                          w.where.data ? w.where.data : "");
        code = sq_query_count(c, sql.data, org_num, &w, total, err);
        if (code)
            goto done;
    }
    if (q->limit == 0)
        goto done; /* count only */

    roster_buf_reset(&sql);
    roster_buf_addstr(&sql, "SELECT ");
    add_columns(&sql);
    roster_buf_printf(&sql, " FROM %s WHERE org_num = ?%s ORDER BY ", from,
                      w.where.data ? w.where.data : "");
    code = add_order(&sql, q, err);
    if (code)
        goto done;
    /* a negative limit means no limit (SQLite's LIMIT -1) */
    roster_buf_addstr(&sql, " LIMIT ? OFFSET ?");
    code = sq_prepare(c, sql.data, &s, err);
    if (code)
        goto done;
    code = sq_query_bind_all(c, s, org_num, &w, err);
    if (code)
        goto done;
    int nparams = sqlite3_bind_parameter_count(s);
    sqlite3_bind_int64(s, nparams - 1, q->limit < 0 ? -1 : q->limit);
    sqlite3_bind_int64(s, nparams, q->skip > 0 ? q->skip : 0);

    size_t cap = q->limit > 0 && q->limit < 256 ? (size_t)q->limit : 256, len = 0;
    struct roster_user *v = roster_arena_alloc(a, cap * sizeof(*v));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            struct roster_user *nv = roster_arena_alloc(a, 2 * cap * sizeof(*v));
            memcpy(nv, v, len * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        read_user(s, org_id, &v[len++], a);
    }
    if (rc != SQLITE_DONE) {
        code = sq_fail(c, rc, err);
        goto done;
    }
    *out = v;
    *n = len;
done:
    sqlite3_finalize(s);
    roster_buf_release(&sql);
    roster_buf_release(&w.where);
    return code;
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
    return each_in_tx(pc, org_id, u, n, sq_user_update, rcs, errs, err);
}

/* --- user_list_render: a page turned into text, reading only the renderer's columns --- */

/* The statement that reads users with the columns num_id, id, state and then each field of
 * mask in field order: one user by rowid (?1) in its organisation (?2), or (range) every
 * user of the organisation (?3) whose rowid is in [?1, ?2], in rowid order. Kept in one of
 * SQ_USER_RENDER_SLOTS per-connection slots. */
static sqlite3_stmt *render_stmt(struct sq_conn *c, uint64_t mask, bool range,
                                 struct roster_err *err)
{
    uint64_t key = mask | (range ? 1ull << 63 : 0);
    for (int i = 0; i < SQ_USER_RENDER_SLOTS; i++)
        if (c->stmts[SQ_USER_RENDER + i] && c->render_mask[i] == key)
            return c->stmts[SQ_USER_RENDER + i];
    int slot = (int)(c->render_next++ % SQ_USER_RENDER_SLOTS);
    sqlite3_stmt **s = &c->stmts[SQ_USER_RENDER + slot];
    sqlite3_finalize(*s);
    *s = NULL;
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "SELECT num_id, id, state");
    for (int i = 0; i < RU_NFIELDS; i++)
        if ((mask >> i) & 1u)
            roster_buf_printf(&b, ", %s", roster_ufields[i].column);
    /* "+org_num": without statistics the planner would rather scan the organisation's
     * index than the rowid range */
    roster_buf_addstr(&b, range ? " FROM users WHERE num_id BETWEEN ?1 AND ?2 AND +org_num = ?3"
                                  " ORDER BY num_id"
                                : " FROM users WHERE num_id = ?1 AND org_num = ?2");
    int rc = sqlite3_prepare_v3(c->db, b.data, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
    roster_buf_release(&b);
    if (rc != SQLITE_OK) {
        *s = NULL;
        sq_fail(c, rc, err);
        return NULL;
    }
    c->render_mask[slot] = key;
    return *s;
}

/* The user of render_stmt's current row; its strings point into SQLite's row (valid until
 * the statement is stepped or reset): nothing is copied. */
static void read_render_user(sqlite3_stmt *s, uint64_t mask, const char *org_id,
                             struct roster_user *u)
{
    memset(u, 0, sizeof(*u));
    u->num_id = sqlite3_column_int64(s, 0);
    const unsigned char *id = sqlite3_column_text(s, 1);
    int idn = sqlite3_column_bytes(s, 1);
    if (id)
        memcpy(u->id, id, idn < ROSTER_ID_LEN ? (size_t)idn : ROSTER_ID_LEN);
    memcpy(u->org_id, org_id, strnlen(org_id, ROSTER_ID_LEN));
    u->state = sqlite3_column_int(s, 2);
    int col = 3;
    for (int i = 0; i < RU_NFIELDS; i++)
        if ((mask >> i) & 1u)
            u->f[i] = (const char *)sqlite3_column_text(s, col++);
}

/* Whether rowids[from..to) ascend and lie close together: then one range scan reads them
 * (and the few rows between them) for less than a look-up each. Users created in bulk get
 * rowids in id order, so an unfiltered page usually qualifies. */
static bool page_is_dense(const int64_t *rowids, int64_t from, int64_t to)
{
    if (to - from < 16)
        return false;
    for (int64_t i = from + 1; i < to; i++)
        if (rowids[i] <= rowids[i - 1])
            return false;
    return rowids[to - 1] - rowids[from] < 2 * (to - from);
}

/* Reads the rows of a page for render_page: by look-up, or by one range scan (dense
 * pages). */
struct row_reader {
    sqlite3_stmt *s;
    bool range;
    bool scanning; /* the range scan was started */
    bool done;     /* it reached its end */
    int64_t org_num, last;
};

/* Positions r's statement on the row rowid: 1 when it is there, 0 when it is not (deleted
 * since the rowids were read), or a negative SQLite code. */
static int row_seek(struct row_reader *r, int64_t rowid)
{
    if (!r->range) {
        sqlite3_reset(r->s);
        sqlite3_bind_int64(r->s, 1, rowid);
        sqlite3_bind_int64(r->s, 2, r->org_num);
        int rc = sqlite3_step(r->s);
        return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -rc;
    }
    if (!r->scanning) {
        sqlite3_reset(r->s);
        sqlite3_bind_int64(r->s, 1, rowid);
        sqlite3_bind_int64(r->s, 2, r->last);
        sqlite3_bind_int64(r->s, 3, r->org_num);
        r->scanning = true;
        r->done = false;
        int rc = sqlite3_step(r->s);
        if (rc == SQLITE_DONE)
            r->done = true;
        else if (rc != SQLITE_ROW)
            return -rc;
    }
    while (!r->done && sqlite3_column_int64(r->s, 0) < rowid) {
        int rc = sqlite3_step(r->s);
        if (rc == SQLITE_DONE)
            r->done = true;
        else if (rc != SQLITE_ROW)
            return -rc;
    }
    return !r->done && sqlite3_column_int64(r->s, 0) == rowid;
}

/* Renders rowids[from..to) of p into out: kept text where there is some (p->fresh), else
 * the row read with only the renderer's columns. The rendered pieces that may be kept are
 * listed in *kept (arena). */
static int render_page(struct sq_conn *c, int64_t org_num, const char *org_id,
                       const struct sq_page *p, const struct roster_user_render *rd,
                       const char *sep, struct roster_buf *out, struct roster_arena *a, size_t *n,
                       struct sq_rendered **kept, size_t *nkept, struct roster_err *err)
{
    struct sq_store *st = c->store;
    struct row_reader rr = {.org_num = org_num, .last = p->rowids[p->to - 1]};
    rr.range = page_is_dense(p->rowids, p->from, p->to);
    rr.s = render_stmt(c, rd->fields, rr.range, err);
    if (!rr.s)
        return err ? err->code : ROSTER_EIO;
    bool cache = p->fresh && st->rc;
    bool locked = false;
    struct sq_rendered *v = NULL;
    size_t nv = 0;
    int code = 0;
    for (int64_t i = p->from; i < p->to && !code; i++) {
        int64_t rowid = p->rowids[i];
        size_t start = out->len;
        if (*n && sep)
            roster_buf_addstr(out, sep);
        size_t item = out->len;
        bool admit = false;
        if (cache) {
            if (!locked)
                sq_render_rdlock(st);
            locked = true;
            if (sq_render_get(st, p->gen, org_num, rd, rowid, out, &admit)) {
                (*n)++;
                continue;
            }
            sq_render_unlock(st); /* not while SQLite reads */
            locked = false;
        }
        int rc = row_seek(&rr, rowid);
        if (rc == 1) {
            struct roster_user u;
            read_render_user(rr.s, rd->fields, org_id, &u);
            rd->render(&u, out, a);
            (*n)++;
            if (admit) {
                if (!v)
                    v = roster_arena_alloc(a, (size_t)(p->to - i) * sizeof(*v));
                v[nv++] = (struct sq_rendered){rowid, item, out->len - item};
            }
        } else {
            /* gone since the cached rowids were read (a concurrent delete): skip it */
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            if (rc < 0)
                code = sq_fail(c, -rc, err);
        }
    }
    if (locked)
        sq_render_unlock(st);
    sqlite3_reset(rr.s);
    *kept = v;
    *nkept = nv;
    return code;
}

int sq_user_list_render(struct roster_conn *pc, const char *org_id, const struct roster_query *q,
                        const struct roster_user_render *rd, const char *sep,
                        struct roster_buf *out, struct roster_arena *a, size_t *n, int64_t *total,
                        struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    *n = 0;
    if (total)
        *total = -1;
    if (q->nsorts || (q->search && q->search[0]))
        return roster_err_set(err, ROSTER_EINVAL,
                              "a rendered list is in id order: no sorts, no search");
    /* inside the caller's transaction (its own writes show, nothing is cached) */
    if (!c->store || !(sqlite3_get_autocommit(c->db) || c->rs_active))
        return roster_store_user_list_render_generic(pc, org_id, q, rd, sep, out, a, n, total, err);
    int64_t org_num;
    int code = sq_org_num(c, org_id, &org_num, err);
    if (code == ROSTER_ENOTFOUND) {
        /* an unknown organisation has no users */
        if (total && q->want_total)
            *total = 0;
        return 0;
    }
    if (code)
        return code;
    struct sq_query w = {.a = a, .column = roster_store_user_column};
    roster_buf_init(&w.where);
    struct sq_page p;
    memset(&p, 0, sizeof(p));
    struct sq_rendered *kept = NULL;
    size_t nkept = 0;
    code = build_where(q, &w, err);
    if (!code)
        code = page_begin(c, org_num, &w, q, &p, err);
    if (!code && total && q->want_total)
        *total = p.count;
    if (!code && p.from < p.to)
        code = render_page(c, org_num, org_id, &p, rd, sep, out, a, n, &kept, &nkept, err);
    uint64_t gen = p.gen;
    code = page_end(c, &p, code, err);
    roster_buf_release(&w.where);
    if (code) {
        *n = 0;
        return code;
    }
    if (nkept)
        sq_render_put(c->store, gen, org_num, rd, out->data, kept, nkept);
    return 0;
}
