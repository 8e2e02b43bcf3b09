/* The store contract suite's shared state and helpers (declared in contract.h): the store
 * under test, organisations, users, queries and lists as the tests make and read them.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "contract.h"

const char *url;
struct roster_store *st;
struct roster_conn *conn;
struct roster_arena A;

struct roster_org org_a, org_b;

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void make_org(struct roster_org *o, const char *name)
{
    struct roster_err err = {0};
    memset(o, 0, sizeof(*o));
    o->name = name;
    o->default_state_bulk = ROSTER_ACTIVATED;
    o->default_state_app_import = ROSTER_ACTIVATED;
    o->default_state_manual = ROSTER_ACTIVATED;
    int rc = roster_store_org_create(conn, o, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    org_create: %s (%s)\n", err.msg, err.detail);
}

void need_orgs(void)
{
    if (!org_a.id[0])
        make_org(&org_a, "Org A");
    if (!org_b.id[0])
        make_org(&org_b, "Org B");
}

void make_user(struct roster_user *u, const char *username, const char *email)
{
    memset(u, 0, sizeof(*u));
    u->f[RU_USERNAME] = username;
    u->f[RU_EMAIL] = email;
    u->state = ROSTER_ACTIVATED;
}

/* An explicit user id: the org id's first 12 hex chars + n, so that ids sort like n. */
void user_id_for(char out[ROSTER_ID_LEN + 1], const char *org_id, int n)
{
    snprintf(out, ROSTER_ID_LEN + 1, "%.12s%012d", org_id, n);
}

/* A list read straight from the store (count and page), as the list tests expect it. */
int user_list(struct roster_conn *c, const char *org_id, const struct roster_query *q,
              struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
              struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    if (total)
        *total = -1;
    bool began = false;
    int code = roster_store_snapshot_begin(c, &began, err);
    if (!code && total && q->want_total)
        code = roster_store_user_count(c, org_id, q, total, NULL, err);
    if (!code && q->limit != 0)
        code = roster_store_user_page(c, org_id, q, NULL, q->skip, q->limit, a, out, n, NULL, err);
    roster_store_snapshot_end(c, began);
    return code;
}

/* user_list with membership conditions conds[0..ncond) */
int user_list_grouped(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                      const struct roster_group_cond *conds, size_t ncond, struct roster_arena *a,
                      struct roster_user **out, size_t *n, int64_t *total, struct roster_err *err)
{
    struct roster_query g = *q;
    for (size_t i = 0; i < ncond && g.nconds < ROSTER_QUERY_MAX_CONDS; i++)
        g.conds[g.nconds++] = conds[i];
    return user_list(c, org_id, &g, a, out, n, total, err);
}

struct roster_app capp;
static pthread_mutex_t capp_mu = PTHREAD_MUTEX_INITIALIZER;

/* A rendered list through core's list operation, on connection c (the kept list state of
 * the store: what a server answers). Worker threads call it too: capp is only written
 * (under capp_mu) when it changes, which no test does while its workers run, so they only
 * read it (ThreadSanitizer saw every reader thread write capp.store). */
int list_render(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                struct roster_arena *a, size_t *n, int64_t *total, struct roster_err *err)
{
    pthread_mutex_lock(&capp_mu);
    if (!capp.lists)
        capp.lists = roster_lists_new(ROSTER_LISTS_MAX_BYTES);
    if (capp.store != st)
        capp.store = st;
    pthread_mutex_unlock(&capp_mu);
    struct roster_ctx ctx = {&capp, c, a, org_id, NULL};
    struct roster_list_result res;
    int code = roster_users_list(&ctx, q, rd, sep, out, &res, err);
    *n = res.n;
    if (total)
        *total = res.total;
    return code;
}

int create(const char *org_id, struct roster_user *u, struct roster_err *err)
{
    roster_err_clear(err);
    int rc = roster_store_user_create(conn, org_id, u, err);
    if (rc && rc != ROSTER_ECONFLICT)
        fprintf(stderr, "    user_create %s: %s (%s)\n", u->f[RU_USERNAME] ? u->f[RU_USERNAME] : "",
                err->msg, err->detail);
    return rc;
}

void qinit(struct roster_query *q)
{
    memset(q, 0, sizeof(*q));
    q->limit = 100;
}

struct roster_qval *svals(int n, ...)
{
    struct roster_qval *v = roster_arena_zalloc(&A, (size_t)n * sizeof(*v));
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i].s = va_arg(ap, const char *);
    va_end(ap);
    return v;
}

struct roster_qval *ivals(int n, ...)
{
    struct roster_qval *v = roster_arena_zalloc(&A, (size_t)n * sizeof(*v));
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i].i = va_arg(ap, int64_t);
    va_end(ap);
    return v;
}

void qfilter(struct roster_query *q, int key, int op, struct roster_qval *v, size_t n)
{
    q->filters[q->nfilters++] = (struct roster_filter){key, op, v, n, false};
}

/* Calls user_create_many and reports a store failure. */
int create_many(const char *org_id, struct roster_user *u, size_t n, int *rcs,
                struct roster_err *errs)
{
    struct roster_err err = {0};
    for (size_t i = 0; i < n; i++)
        rcs[i] = -1;
    int rc = roster_store_user_create_many(conn, org_id, u, n, rcs, errs, &err);
    if (rc)
        fprintf(stderr, "    user_create_many: %s (%s)\n", err.msg, err.detail);
    return rc;
}

struct roster_group mk_group(const char *org_id, int kind, const char *name, int64_t parent,
                             int expect)
{
    struct roster_err err = {0};
    struct roster_group g = {0};
    g.kind = kind;
    g.name = name;
    g.parent_num_id = parent;
    int rc = roster_store_group_create(conn, org_id, &g, &err);
    CHECK_EQ_INT(rc, expect);
    if (rc != expect)
        fprintf(stderr, "    group_create %s: %s (%s)\n", name, err.msg, err.detail);
    return g;
}

struct roster_conn *worker_conn(struct roster_arena *a, atomic_int *errors)
{
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    roster_arena_init(a, 0);
    if (roster_conn_open(st, &c, &err) != 0) {
        fprintf(stderr, "    worker connection: %s (%s)\n", err.msg, err.detail);
        atomic_fetch_add(errors, 1);
        return NULL;
    }
    return c;
}
