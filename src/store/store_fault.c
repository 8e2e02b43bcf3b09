/* The fault-injecting store (include/roster/store_fault.h): a table of functions generated
 * from roster/store_methods.def, each of which counts its call, may fail it on purpose, and
 * otherwise passes it to the wrapped store's connection.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "roster/store_fault.h"
#include "roster/util.h"

/* the methods' numbers and names, from the list */
enum {
#define ROSTER_STORE_METHOD(ret, name, params, args) FM_##name,
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args)
#include "roster/store_methods.def"
    FM_COUNT
};
static const char *const method_names[FM_COUNT] = {
#define ROSTER_STORE_METHOD(ret, name, params, args) [FM_##name] = #name,
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args)
#include "roster/store_methods.def"
};

/* Methods that open a transaction, snapshot or read span: an "after" fault fails them
 * before the call instead, since a caller told that one failed never ends it. */
static const bool opens[FM_COUNT] = {
    [FM_begin] = true, [FM_snapshot_begin] = true, [FM_read_begin] = true};

struct fault_store {
    struct roster_store base; /* first: a struct roster_store * is a struct fault_store * */
    struct roster_store_methods table;
    struct roster_store *real;
    pthread_mutex_t mu; /* guards everything below */
    bool armed;
    int method; /* FM_*, or -1: any */
    long nth, count;
    int kind, when;
    long calls[FM_COUNT], total, fired;
    const char *last;
};

struct fault_conn {
    struct roster_conn base;
    struct roster_conn *real;
};

static struct fault_store *fault_of(struct roster_conn *c)
{
    return (struct fault_store *)c->st;
}

/* Counts a call of method m; the fault's kind when this call is to fail (when: before or
 * after the real call), else 0. */
static int fault_count(struct fault_store *fs, int m, int when)
{
    pthread_mutex_lock(&fs->mu);
    if (when == ROSTER_FAULT_BEFORE) {
        fs->calls[m]++;
        fs->total++;
    }
    long n = fs->method < 0 ? fs->total : fs->calls[m];
    int kind = 0;
    int fwhen = opens[m] ? ROSTER_FAULT_BEFORE : fs->when;
    if (fs->armed && fwhen == when && (fs->method < 0 || fs->method == m) && n >= fs->nth &&
        (fs->count == 0 || n < fs->nth + fs->count)) {
        kind = fs->kind;
        fs->fired++;
        fs->last = method_names[m];
    }
    pthread_mutex_unlock(&fs->mu);
    return kind;
}

/* Fails the call of method m with kind (see store_fault.h), on fc, before or after the
 * real call (when). A commit that fails ends its transaction, as the backends' do. */
static int fault_fail(struct fault_conn *fc, int m, int kind, int when, struct roster_err *err)
{
    if (m == FM_commit && when == ROSTER_FAULT_BEFORE && kind != ROSTER_FAULT_LOST && fc->real)
        fc->real->m->rollback(fc->real);
    if (kind == ROSTER_FAULT_EBUSY)
        return roster_err_set(err, ROSTER_EBUSY, "injected busy store in %s", method_names[m]);
    if (kind == ROSTER_FAULT_LOST) {
        /* the session ends without a commit; the next call gets a new one (a failed reopen
         * leaves none, and every call then fails until the store is reopened) */
        struct roster_store *real = fault_of(&fc->base)->real;
        if (fc->real)
            real->m->conn_close(fc->real);
        fc->real = NULL;
        struct roster_err oerr = {0};
        if (real->m->conn_open(real, &fc->real, &oerr) != 0)
            fc->real = NULL;
        roster_err_set(err, ROSTER_EIO, "injected lost connection in %s", method_names[m]);
        return ROSTER_EIO;
    }
    return roster_err_set(err, ROSTER_EIO, "injected I/O error in %s", method_names[m]);
}

/* One function per method of the list: count, maybe fail before, call the real
 * connection's method (the parameter c is re-pointed at it, so that the list's argument
 * list can be used as it is), maybe fail after. Local names end in _ so that they cannot
 * clash with a method's parameters. */
#define FAULT_int(name, params, args)                                                              \
    static int fault_##name params                                                                 \
    {                                                                                              \
        struct fault_conn *f_conn_ = (struct fault_conn *)c;                                       \
        struct fault_store *f_store_ = fault_of(c);                                                \
        int f_kind_ = fault_count(f_store_, FM_##name, ROSTER_FAULT_BEFORE);                       \
        if (f_kind_)                                                                               \
            return fault_fail(f_conn_, FM_##name, f_kind_, ROSTER_FAULT_BEFORE, err);              \
        if (!f_conn_->real)                                                                        \
            return roster_err_set(err, ROSTER_EIO, "store connection lost");                       \
        c = f_conn_->real;                                                                         \
        int f_rc_ = c->m->name args;                                                               \
        if (f_rc_ == 0 && (f_kind_ = fault_count(f_store_, FM_##name, ROSTER_FAULT_AFTER)) != 0)   \
            return fault_fail(f_conn_, FM_##name, f_kind_, ROSTER_FAULT_AFTER, err);               \
        return f_rc_;                                                                              \
    }
#define FAULT_void(name, params, args)                                                             \
    static void fault_##name params                                                                \
    {                                                                                              \
        struct fault_conn *f_conn_ = (struct fault_conn *)c;                                       \
        fault_count(fault_of(c), FM_##name, ROSTER_FAULT_BEFORE);                                  \
        if (!f_conn_->real)                                                                        \
            return;                                                                                \
        c = f_conn_->real;                                                                         \
        c->m->name args;                                                                           \
    }
#define ROSTER_STORE_METHOD(ret, name, params, args) FAULT_##ret(name, params, args)
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args)
#include "roster/store_methods.def"

/* --- lifecycle --- */

static void fault_close(struct roster_store *st)
{
    struct fault_store *fs = (struct fault_store *)st;
    roster_store_close(fs->real);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

static int fault_conn_open(struct roster_store *st, struct roster_conn **out,
                           struct roster_err *err)
{
    struct fault_store *fs = (struct fault_store *)st;
    *out = NULL;
    struct fault_conn *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int rc = roster_conn_open(fs->real, &fc->real, err);
    if (rc) {
        free(fc);
        return rc;
    }
    fc->base.m = &fs->table;
    fc->base.st = st;
    *out = &fc->base;
    return 0;
}

static void fault_conn_close(struct roster_conn *c)
{
    struct fault_conn *fc = (struct fault_conn *)c;
    roster_conn_close(fc->real);
    free(fc);
}

static int fault_open(const char *url, struct roster_store **out, struct roster_err *err)
{
    (void)url;
    *out = NULL;
    return roster_err_set(err, ROSTER_EUNSUPPORTED, "a fault store wraps an open store");
}

int roster_store_fault_wrap(struct roster_store *real, struct roster_store **out,
                            struct roster_err *err)
{
    *out = NULL;
    struct fault_store *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    fs->table.version = ROSTER_STORE_VERSION;
    fs->table.name = real->m->name;
    fs->table.flags = real->m->flags;
    fs->table.open = fault_open;
    fs->table.close = fault_close;
    fs->table.conn_open = fault_conn_open;
    fs->table.conn_close = fault_conn_close;
    /* a method the backend leaves out stays out (its wrapper answers unsupported) */
#define ROSTER_STORE_METHOD(ret, name, params, args)                                               \
    fs->table.name = real->m->name ? fault_##name : NULL;
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args)
#include "roster/store_methods.def"
    fs->real = real;
    fs->method = -1;
    pthread_mutex_init(&fs->mu, NULL);
    fs->base.m = &fs->table;
    *out = &fs->base;
    return 0;
}

bool roster_store_is_fault(const struct roster_store *st)
{
    return st && st->m->close == fault_close;
}

void roster_store_fault_arm(struct roster_store *st, const char *method, long nth, long count,
                            int kind, int when)
{
    struct fault_store *fs = (struct fault_store *)st;
    int m = -1;
    for (int i = 0; method && i < FM_COUNT; i++)
        if (strcmp(method_names[i], method) == 0)
            m = i;
    pthread_mutex_lock(&fs->mu);
    /* an unknown method name arms nothing rather than every method */
    fs->armed = !method || m >= 0;
    fs->method = m;
    fs->nth = nth;
    fs->count = count;
    fs->kind = kind;
    fs->when = when;
    memset(fs->calls, 0, sizeof(fs->calls));
    fs->total = fs->fired = 0;
    fs->last = "";
    pthread_mutex_unlock(&fs->mu);
}

void roster_store_fault_disarm(struct roster_store *st)
{
    struct fault_store *fs = (struct fault_store *)st;
    pthread_mutex_lock(&fs->mu);
    fs->armed = false;
    pthread_mutex_unlock(&fs->mu);
}

long roster_store_fault_calls(const struct roster_store *st, const char *method)
{
    struct fault_store *fs = (struct fault_store *)st;
    long n = 0;
    pthread_mutex_lock(&fs->mu);
    if (!method)
        n = fs->total;
    for (int i = 0; method && i < FM_COUNT; i++)
        if (strcmp(method_names[i], method) == 0)
            n = fs->calls[i];
    pthread_mutex_unlock(&fs->mu);
    return n;
}

long roster_store_fault_fired(const struct roster_store *st)
{
    struct fault_store *fs = (struct fault_store *)st;
    pthread_mutex_lock(&fs->mu);
    long n = fs->fired;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

const char *roster_store_fault_last(const struct roster_store *st)
{
    struct fault_store *fs = (struct fault_store *)st;
    pthread_mutex_lock(&fs->mu);
    const char *s = fs->last ? fs->last : "";
    pthread_mutex_unlock(&fs->mu);
    return s;
}

static const char *const kind_names[] = {
    [ROSTER_FAULT_EIO] = "eio", [ROSTER_FAULT_EBUSY] = "ebusy", [ROSTER_FAULT_LOST] = "lost"};

const char *roster_fault_kind_name(int kind)
{
    return ROSTER_ENUM_NAME(kind_names, kind, "none");
}
