/* Importing users from a file (roster/import.h): rows in batches through the validator
 * and the store's many-user calls, an index of the organisation's users by the match key
 * for overwrite and sync, and the users a sync did not see. */
#include "roster/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/import_keys.h"
#include "core/job_import.h"

/* --- the index: match key -> user id, state, and the line that matched it --- */

struct ix_entry {
    uint32_t key;  /* offset of the key in the pool */
    uint32_t line; /* 0: not in the file (yet); else the line of the row that matched it */
    unsigned char id[ROSTER_ID_LEN / 2];
    unsigned char state;
};

struct ix {
    struct ix_entry *e;
    size_t n, cap;
    uint32_t *slots; /* entry index + 1, 0: empty */
    size_t nslots;   /* a power of two */
    char *pool;
    size_t plen, pcap;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

static void id_pack(const char *hex, unsigned char *out)
{
    for (int i = 0; i < ROSTER_ID_LEN / 2; i++)
        out[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

static void id_unpack(const unsigned char *in, char *hex)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < ROSTER_ID_LEN / 2; i++) {
        hex[2 * i] = d[in[i] >> 4];
        hex[2 * i + 1] = d[in[i] & 15];
    }
    hex[ROSTER_ID_LEN] = '\0';
}

static void ix_free(struct ix *x)
{
    free(x->e);
    free(x->slots);
    free(x->pool);
    memset(x, 0, sizeof(*x));
}

/* The slot of key: its entry, or the empty slot where it would go. */
static size_t ix_slot(const struct ix *x, const char *key)
{
    size_t k = (size_t)key_hash(key) & (x->nslots - 1);
    while (x->slots[k] && strcmp(x->pool + x->e[x->slots[k] - 1].key, key) != 0)
        k = (k + 1) & (x->nslots - 1);
    return k;
}

static struct ix_entry *ix_find(const struct ix *x, const char *key)
{
    if (!x->nslots)
        return NULL;
    size_t k = ix_slot(x, key);
    return x->slots[k] ? &x->e[x->slots[k] - 1] : NULL;
}

static bool ix_grow(struct ix *x)
{
    size_t ns = x->nslots ? x->nslots * 2 : 1024;
    uint32_t *s = calloc(ns, sizeof(*s));
    if (!s)
        return false;
    free(x->slots);
    x->slots = s;
    x->nslots = ns;
    for (size_t i = 0; i < x->n; i++)
        x->slots[ix_slot(x, x->pool + x->e[i].key)] = (uint32_t)(i + 1);
    return true;
}

/* Adds key (not present) -> id; NULL when out of memory. */
static struct ix_entry *ix_add(struct ix *x, const char *key, const char *id, int state)
{
    if ((x->n + 1) * 2 > x->nslots && !ix_grow(x))
        return NULL;
    size_t len = strlen(key) + 1;
    if (x->plen + len > x->pcap) {
        size_t cap = x->pcap ? x->pcap * 2 : 1 << 20;
        while (cap < x->plen + len)
            cap *= 2;
        char *p = realloc(x->pool, cap);
        if (!p)
            return NULL;
        x->pool = p;
        x->pcap = cap;
    }
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4096;
        struct ix_entry *e = realloc(x->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        x->e = e;
        x->cap = cap;
    }
    memcpy(x->pool + x->plen, key, len);
    struct ix_entry *e = &x->e[x->n];
    e->key = (uint32_t)x->plen;
    e->line = 0;
    e->state = (unsigned char)state;
    id_pack(id, e->id);
    x->plen += len;
    x->n++;
    x->slots[ix_slot(x, key)] = (uint32_t)x->n;
    return e;
}

/* --- the import --- */

struct roster_import {
    struct roster_ctx *ctx;
    struct roster_import_opts o;
    int default_state;
    int match_field;         /* the ufield of --match */
    bool case_fold;          /* the key is unique ignoring ASCII case (username, email) */
    bool one_tx;             /* one transaction from begin to finish */
    bool loading;            /* the store loads without indexes (load_begin) */
    long load_line;          /* roster_import_bulk_load */
    struct import_keys keys; /* while loading: the unique keys written */
    bool tx_open;
    bool stopped;
    int64_t in_tx;   /* rows applied in the open transaction (modes that commit as they go) */
    int64_t rows;    /* rows of the file applied (with the resumed ones) */
    int64_t resumed; /* rows applied by an earlier run */
    struct ix ix;
    int64_t counts[RIA_N];
    char keybuf[4096];
    /* the job whose results are the rows' (not for dry runs, nor for a run resumed from a
     * progress record without one): its id from the start, created with the first rows */
    bool job_wanted;
    bool job_made;  /* it exists (committed, or written in the open transaction) */
    bool job_in_tx; /* it was written in the open transaction: a rollback takes it back */
    char job_id[ROSTER_ID_LEN + 1];
    struct roster_buf results; /* scratch for the results of a batch */
};

const char *roster_import_action_name(int action)
{
    static const char *const names[RIA_N] = {"created",  "updated",   "unchanged", "skipped",
                                             "rejected", "suspended", "deleted"};
    return action >= 0 && action < RIA_N ? names[action] : "unknown";
}

static bool is_store_failure(int rc)
{
    return rc == ROSTER_EIO || rc == ROSTER_EBUSY || rc == ROSTER_ENOMEM ||
           rc == ROSTER_EUNSUPPORTED;
}

/* The index key of u (normalised into im->keybuf), NULL when u has none. */
static const char *match_key(struct roster_import *im, const struct roster_user *u)
{
    const char *v = u->f[im->match_field];
    if (!v || !*v)
        return NULL;
    size_t n = strlen(v);
    if (n >= sizeof(im->keybuf))
        n = sizeof(im->keybuf) - 1;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        im->keybuf[i] = im->case_fold && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    im->keybuf[n] = '\0';
    return im->keybuf;
}

#define INDEX_PAGE 5000

/* Reads every user of the organisation into the index, a page at a time in num_id order. */
static int index_load(struct roster_import *im, struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    struct roster_query q;
    roster_query_init(&q);
    q.sorts[0] = (struct roster_sort){RQ_NUM_ID, false};
    q.nsorts = 1;
    struct roster_user last;
    bool have_last = false;
    for (;;) {
        struct roster_user *rows;
        size_t n;
        int rc = roster_store_user_page(ctx->conn, ctx->org_id, &q, have_last ? &last : NULL, 0,
                                        INDEX_PAGE, ctx->arena, &rows, &n, NULL, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            const char *key = match_key(im, &rows[i]);
            if (key && !ix_find(&im->ix, key) && !ix_add(&im->ix, key, rows[i].id, rows[i].state))
                return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        }
        if (n < INDEX_PAGE)
            return 0;
        last = rows[n - 1];
        last.set = 0;
        for (int f = 0; f < RU_NFIELDS; f++)
            last.f[f] = last.f[f] ? strdup(last.f[f]) : NULL;
        roster_arena_clear(ctx->arena);
        for (int f = 0; f < RU_NFIELDS; f++) {
            const char *s = last.f[f];
            last.f[f] = s ? roster_arena_strdup(ctx->arena, s) : NULL;
            free((void *)s);
        }
        have_last = true;
    }
}

/* The progress of an earlier run of this import, if any: its rows and counts. */
static int progress_load(struct roster_import *im, struct roster_err *err)
{
    struct roster_import_progress p;
    int rc = roster_store_import_progress_get(im->ctx->conn, im->ctx->org_id, im->o.file_key, &p,
                                              im->ctx->arena, err);
    if (rc == ROSTER_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    im->resumed = im->rows = p.rows_done;
    /* the same job goes on; a record from before import jobs had none: then no job */
    im->job_wanted = p.job_id[0] != '\0';
    im->job_made = im->job_wanted;
    memcpy(im->job_id, p.job_id, sizeof(im->job_id));
    const char *c = p.counts;
    for (int i = 0; i < RIA_N && c && *c; i++) {
        while (*c && (*c < '0' || *c > '9'))
            c++;
        im->counts[i] = strtoll(c, (char **)&c, 10);
    }
    return 0;
}

/* Writes the progress (rows_done < 0: removes it) in the open transaction. */
static int progress_put(struct roster_import *im, int64_t rows_done, struct roster_err *err)
{
    if (im->one_tx || !im->o.file_key)
        return 0;
    char counts[RIA_N * 24 + 2];
    size_t n = 0;
    counts[n++] = '[';
    for (int i = 0; i < RIA_N; i++)
        n += (size_t)snprintf(counts + n, sizeof(counts) - n, "%s%lld", i ? "," : "",
                              (long long)im->counts[i]);
    snprintf(counts + n, sizeof(counts) - n, "]");
    struct roster_import_progress p = {
        .file_key = im->o.file_key, .rows_done = rows_done, .counts = counts};
    snprintf(p.org_id, sizeof(p.org_id), "%s", im->ctx->org_id);
    if (im->job_made)
        memcpy(p.job_id, im->job_id, sizeof(p.job_id));
    return roster_store_import_progress_put(im->ctx->conn, &p, err);
}

int64_t roster_import_resumed(const struct roster_import *im)
{
    return im->resumed;
}

/* Whether the options make the import one transaction from begin to finish (a bulk load
 * makes it one too, while it lasts). */
static bool mode_one_tx(const struct roster_import_opts *o)
{
    return o->dry_run || o->mode == ROSTER_IMPORT_FAIL || o->mode == ROSTER_IMPORT_SYNC;
}

/* Into a store that holds no user at all, the rows go in with the store's indexes dropped
 * and built again at the end (roster_store_bulk_load): one transaction for the whole file.
 * The unique keys written are kept (import_keys) and the load ends early, the indexes built
 * for the rows so far, at the first row that may conflict: from there on the store sees the
 * conflicts as it always does. */
static int load_begin(struct roster_import *im, struct roster_err *err)
{
    struct roster_conn *conn = im->ctx->conn;
    int rc = 0;
    if (!im->tx_open && (rc = roster_store_begin(conn, err)) != 0)
        return rc;
    im->tx_open = true;
    struct roster_err e;
    roster_err_clear(&e);
    rc = roster_store_bulk_load(conn, ROSTER_BULK_LOAD_BEGIN, &e);
    if (rc == 0) {
        im->loading = true;
        im->load_line = -1;
        im->one_tx = true;
        return 0;
    }
    if (rc != ROSTER_ENOTFOUND) {
        *err = e;
        return rc;
    }
    /* the store holds users: the usual way (the check may have locked a table: let go) */
    roster_store_rollback(conn);
    im->tx_open = false;
    rc = 0;
    if (im->one_tx && (rc = roster_store_begin(conn, err)) == 0)
        im->tx_open = true;
    return rc;
}

/* Ends the load: the indexes are built for the rows written so far; the transaction goes
 * on (in the modes that commit as they go, their next commit ends it). */
static int load_end(struct roster_import *im, struct roster_err *err)
{
    im->loading = false;
    im->one_tx = mode_one_tx(&im->o);
    import_keys_free(&im->keys);
    int rc = roster_store_bulk_load(im->ctx->conn, ROSTER_BULK_LOAD_END, err);
    if (rc == ROSTER_ECONFLICT) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg);
        roster_err_set(err, rc,
                       "%s: nothing of the file was written (--no-bulk-load writes it with the "
                       "indexes in place)",
                       why);
    }
    return rc;
}

/* While loading: whether the rows to create may conflict with earlier ones (then the load
 * ends before they are written). */
static int load_check(struct roster_import *im, const struct roster_import_row *rows, size_t n,
                      struct roster_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i].rc != 0 || rows[i].action != RIA_CREATED)
            continue;
        int k = import_keys_add(&im->keys, &rows[i].u);
        if (k == ROSTER_ENOMEM)
            return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        if (k == IMPORT_KEYS_MAYBE_TAKEN) {
            im->load_line = rows[i].line > 0 ? rows[i].line : 1;
            return load_end(im, err);
        }
    }
    return 0;
}

const char *roster_import_job_id(const struct roster_import *im)
{
    return im->job_wanted ? im->job_id : "";
}

/* The job, created in the open transaction if it is not yet. */
static int job_ensure(struct roster_import *im, struct roster_err *err)
{
    if (!im->job_wanted || im->job_made)
        return 0;
    int rc = roster_import_job_create(im->ctx, im->job_id, err);
    if (rc == 0)
        im->job_made = im->job_in_tx = true;
    return rc;
}

/* The open transaction ended: committed (what it wrote stays) or rolled back. */
static void tx_ended(struct roster_import *im, bool committed)
{
    im->tx_open = false;
    if (!committed && im->job_in_tx)
        im->job_made = false;
    im->job_in_tx = false;
}

int roster_import_begin(struct roster_ctx *ctx, const struct roster_import_opts *o,
                        struct roster_import **out, struct roster_err *err)
{
    static const int fields[] = {
        [ROSTER_MATCH_USERNAME] = RU_USERNAME,
        [ROSTER_MATCH_EMAIL] = RU_EMAIL,
        [ROSTER_MATCH_EMPLOYEE_ID] = RU_EMPLOYEE_ID,
        [ROSTER_MATCH_EXTERNAL_ID] = RU_EXTERNAL_ID,
    };
    *out = NULL;
    if (o->match < 0 || o->match > ROSTER_MATCH_EXTERNAL_ID || fields[o->match] < 0)
        return roster_err_set(err, ROSTER_EUNSUPPORTED,
                              "--match externalid needs the externalId user field, which this "
                              "build does not have");
    struct roster_import *im = calloc(1, sizeof(*im));
    if (!im)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    im->ctx = ctx;
    im->o = *o;
    im->match_field = fields[o->match];
    im->case_fold = im->match_field == RU_USERNAME || im->match_field == RU_EMAIL;
    im->one_tx = mode_one_tx(o);
    roster_buf_init(&im->results);
    if (!o->dry_run) { /* a fresh import's job; a resumed one's replaces it (progress_load) */
        im->job_wanted = true;
        roster_id_new(im->job_id);
    }
    int rc = roster_default_state(ctx, ROSTER_ORIGIN_BULK, &im->default_state, err);
    if (rc == 0 && im->one_tx) {
        rc = roster_store_begin(ctx->conn, err);
        im->tx_open = rc == 0;
    }
    if (rc == 0 && !im->one_tx && o->file_key)
        rc = progress_load(im, err);
    if (rc == 0 && !o->dry_run && !o->no_bulk_load && im->resumed == 0)
        rc = load_begin(im, err);
    if (rc == 0 && (o->mode == ROSTER_IMPORT_OVERWRITE || o->mode == ROSTER_IMPORT_SYNC))
        rc = index_load(im, err);
    roster_arena_clear(ctx->arena);
    if (rc) {
        roster_import_free(im);
        return rc;
    }
    *out = im;
    return 0;
}

static void reject(struct roster_import_row *r, int rc, const struct roster_err *e)
{
    r->rc = rc ? rc : ROSTER_EINVAL;
    if (e && e != &r->err)
        r->err = *e;
    r->action = RIA_REJECTED;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !*a)
        return !b || !*b;
    return b && strcmp(a, b) == 0;
}

static bool user_same(const struct roster_user *a, const struct roster_user *b)
{
    if (a->state != b->state)
        return false;
    for (int f = 0; f < RU_NFIELDS; f++)
        if (!str_eq(a->f[f], b->f[f]))
            return false;
    return true;
}

/* Creates the rows marked RIA_CREATED (so far: "to create") in one store call. */
static int create_rows(struct roster_import *im, struct roster_import_row *rows, size_t n,
                       struct roster_err *err)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += rows[i].rc == 0 && rows[i].action == RIA_CREATED;
    if (!m)
        return 0;
    if (im->loading) {
        int lrc = load_check(im, rows, n, err);
        if (lrc)
            return lrc;
    }
    struct roster_user *u = malloc(m * sizeof(*u));
    int *rcs = malloc(m * sizeof(*rcs));
    struct roster_err *errs = malloc(m * sizeof(*errs));
    size_t *of = malloc(m * sizeof(*of));
    int rc = 0;
    if (!u || !rcs || !errs || !of) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].rc == 0 && rows[i].action == RIA_CREATED) {
            of[k] = i;
            u[k++] = rows[i].u;
        }
    rc = roster_store_user_create_many(im->ctx->conn, im->ctx->org_id, u, m, rcs, errs, err);
    if (rc)
        goto done;
    for (k = 0; k < m; k++) {
        struct roster_import_row *r = &rows[of[k]];
        if (rcs[k] == 0) {
            r->u = u[k];
            if (im->o.mode == ROSTER_IMPORT_OVERWRITE || im->o.mode == ROSTER_IMPORT_SYNC) {
                const char *key = match_key(im, &r->u);
                struct ix_entry *e = key ? ix_add(&im->ix, key, r->u.id, r->u.state) : NULL;
                if (key && !e) {
                    rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
                    goto done;
                }
                if (e)
                    e->line = (uint32_t)r->line;
            }
        } else if (is_store_failure(rcs[k])) {
            rc = rcs[k];
            *err = errs[k];
            goto done;
        } else if (rcs[k] == ROSTER_ECONFLICT && im->o.mode == ROSTER_IMPORT_SKIP) {
            r->action = RIA_SKIPPED;
            r->rc = rcs[k];
            r->err = errs[k];
        } else {
            reject(r, rcs[k], &errs[k]);
        }
    }
done:
    free(u);
    free(rcs);
    free(errs);
    free(of);
    return rc;
}

/* Updates the rows marked RIA_UPDATED (so far: "matched", u.id set) unless they change
 * nothing (RIA_UNCHANGED). */
static int update_rows(struct roster_import *im, struct roster_import_row *rows, size_t n,
                       struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += rows[i].rc == 0 && rows[i].action == RIA_UPDATED;
    if (!m)
        return 0;
    if (im->loading) { /* updates find users by their indexes */
        int lrc = load_end(im, err);
        if (lrc)
            return lrc;
    }
    const char **ids = malloc(m * sizeof(*ids));
    size_t *of = malloc(m * sizeof(*of));
    struct roster_user *cur = malloc(m * sizeof(*cur));
    struct roster_user *w = malloc(m * sizeof(*w));
    size_t *wof = malloc(m * sizeof(*wof));
    int *rcs = malloc(m * sizeof(*rcs));
    struct roster_err *errs = malloc(m * sizeof(*errs));
    int rc = 0;
    if (!ids || !of || !cur || !w || !wof || !rcs || !errs) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].rc == 0 && rows[i].action == RIA_UPDATED) {
            of[k] = i;
            ids[k++] = rows[i].u.id;
        }
    rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, m, cur, rcs, ctx->arena, err);
    if (rc)
        goto done;
    size_t nw = 0;
    for (k = 0; k < m; k++) {
        struct roster_import_row *r = &rows[of[k]];
        if (rcs[k] != 0) {
            r->rc = roster_err_set(&r->err, ROSTER_ENOTFOUND,
                                   "the user matched by this row was deleted meanwhile");
            r->action = RIA_REJECTED;
            continue;
        }
        w[nw] = cur[k];
        int prc =
            roster_user_prepare_update(ctx, &w[nw], &r->u, cur[k].state == ROSTER_STAGED, &r->err);
        if (prc) {
            reject(r, prc, NULL);
            continue;
        }
        if (user_same(&w[nw], &cur[k])) {
            r->action = RIA_UNCHANGED;
            r->u = cur[k];
            continue;
        }
        wof[nw++] = of[k];
    }
    rc = roster_store_user_update_many(ctx->conn, ctx->org_id, w, nw, rcs, errs, err);
    if (rc)
        goto done;
    for (k = 0; k < nw; k++) {
        struct roster_import_row *r = &rows[wof[k]];
        if (rcs[k] == 0) {
            w[k].set = 0;
            r->u = w[k];
        } else if (rcs[k] == ROSTER_ESTALE) {
            /* another writer changed it since the read: the single-user path reads again */
            struct roster_user updated;
            int urc = roster_user_update(ctx, r->u.id, &r->u, false, &updated, &r->err);
            if (urc == 0)
                r->u = updated;
            else if (is_store_failure(urc)) {
                *err = r->err;
                rc = urc;
                goto done;
            } else
                reject(r, urc, NULL);
        } else if (is_store_failure(rcs[k])) {
            rc = rcs[k];
            *err = errs[k];
            goto done;
        } else {
            reject(r, rcs[k], &errs[k]);
        }
    }
done:
    free(ids);
    free(of);
    free(cur);
    free(w);
    free(wof);
    free(rcs);
    free(errs);
    return rc;
}

static int batch_apply(struct roster_import *im, struct roster_import_row *rows, size_t n,
                       struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    bool matching = im->o.mode == ROSTER_IMPORT_OVERWRITE || im->o.mode == ROSTER_IMPORT_SYNC;
    for (size_t i = 0; i < n; i++) {
        struct roster_import_row *r = &rows[i];
        if (r->rc) {
            reject(r, r->rc, NULL);
            continue;
        }
        r->action = RIA_CREATED;
        if (matching) {
            const char *key = match_key(im, &r->u);
            if (!key) {
                r->rc = roster_err_set(&r->err, ROSTER_EINVAL,
                                       "%s is missing: it matches the row to a user (--match)",
                                       roster_ufields[im->match_field].label);
                r->err.field = roster_ufields[im->match_field].label;
                r->action = RIA_REJECTED;
                continue;
            }
            struct ix_entry *e = ix_find(&im->ix, key);
            if (e && e->line) {
                r->rc = roster_err_set(
                    &r->err, ROSTER_ECONFLICT, "%s \"%.200s\" is also on line %u of the file",
                    roster_ufields[im->match_field].label, r->u.f[im->match_field], e->line);
                r->err.field = roster_ufields[im->match_field].label;
                r->action = RIA_REJECTED;
                continue;
            }
            if (e) {
                e->line = (uint32_t)(r->line > 0 ? r->line : 1);
                id_unpack(e->id, r->u.id);
                r->action = RIA_UPDATED;
                continue;
            }
        }
        r->u.id[0] = '\0';
        int rc = roster_user_prepare_create(ctx, &r->u, im->default_state, &r->err);
        if (rc)
            reject(r, rc, NULL);
    }
    int rc = update_rows(im, rows, n, err);
    if (rc == 0)
        rc = create_rows(im, rows, n, err);
    return rc;
}

/* Rows per transaction in the modes that commit as they go: a file's keys come in random
 * order, so a transaction of 5,000 rows dirtied nearly every leaf page of every users
 * index (and SQLite wrote them all to the WAL at each commit); 100,000 rows write each
 * such page once for 20 times the rows (bench/import_export: 22,000 -> see bench/README). */
static int64_t commit_rows(const struct roster_import *im)
{
    return im->o.commit_rows > 0 ? im->o.commit_rows : 100000;
}

int roster_import_batch(struct roster_import *im, struct roster_import_row *rows, size_t n,
                        struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    int rc = 0;
    if (!im->tx_open) {
        if ((rc = roster_store_begin(ctx->conn, err)) != 0)
            return rc;
        im->tx_open = true;
        im->in_tx = 0;
    }
    int64_t saved[RIA_N];
    memcpy(saved, im->counts, sizeof(saved));
    rc = batch_apply(im, rows, n, err);
    /* the rows' results, in the transaction of the rows */
    if (rc == 0 && im->job_wanted)
        rc = job_ensure(im, err);
    if (rc == 0 && im->job_wanted)
        rc = roster_import_job_record(ctx, im->job_id, im->rows, rows, n, false, &im->results, err);
    im->in_tx += (int64_t)n;
    if (rc == 0) {
        im->rows += (int64_t)n;
        for (size_t i = 0; i < n; i++) {
            im->counts[rows[i].action]++;
            if (rows[i].action == RIA_REJECTED && im->o.mode == ROSTER_IMPORT_FAIL)
                im->stopped = true;
        }
    }
    if (rc == 0 && !im->one_tx && im->in_tx >= commit_rows(im)) {
        rc = progress_put(im, im->rows, err);
        if (rc == 0)
            rc = roster_store_commit(ctx->conn, err);
        if (rc == 0)
            tx_ended(im, true);
    }
    if (rc != 0) {
        roster_store_rollback(ctx->conn);
        tx_ended(im, false);
        memcpy(im->counts, saved, sizeof(saved));
    }
    roster_arena_clear(ctx->arena);
    return rc;
}

void roster_import_cancel(struct roster_import *im)
{
    im->stopped = true;
}

long roster_import_bulk_load(const struct roster_import *im)
{
    return im->load_line;
}

bool roster_import_stopped(const struct roster_import *im)
{
    return im->stopped;
}

void roster_import_counts(const struct roster_import *im, int64_t counts[RIA_N])
{
    memcpy(counts, im->counts, sizeof(im->counts));
}

#define MISSING_BATCH 1000

/* The users of the index not seen in the file: suspended or deleted. */
static int missing_apply(struct roster_import *im, struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    if (im->o.missing == ROSTER_MISSING_KEEP)
        return 0;
    char(*idbuf)[ROSTER_ID_LEN + 1] = malloc(MISSING_BATCH * sizeof(*idbuf));
    const char **ids = malloc(MISSING_BATCH * sizeof(*ids));
    struct roster_user *cur = malloc(MISSING_BATCH * sizeof(*cur));
    int *rcs = malloc(MISSING_BATCH * sizeof(*rcs));
    struct roster_err *errs = malloc(MISSING_BATCH * sizeof(*errs));
    int rc = 0;
    if (!idbuf || !ids || !cur || !rcs || !errs) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t i = 0;
    while (i < im->ix.n && rc == 0) {
        size_t m = 0;
        for (; i < im->ix.n && m < MISSING_BATCH; i++) {
            const struct ix_entry *e = &im->ix.e[i];
            if (e->line)
                continue;
            if (im->o.missing == ROSTER_MISSING_SUSPEND && e->state == ROSTER_SUSPENDED)
                continue;
            id_unpack(e->id, idbuf[m]);
            ids[m] = idbuf[m];
            m++;
        }
        if (!m)
            break;
        if (im->o.missing == ROSTER_MISSING_DELETE) {
            for (size_t k = 0; k < m && rc == 0; k++) {
                rc = roster_store_user_delete(ctx->conn, ctx->org_id, ids[k], err);
                if (rc == 0)
                    im->counts[RIA_DELETED]++;
                else if (rc == ROSTER_ENOTFOUND)
                    rc = 0; /* deleted meanwhile */
            }
            continue;
        }
        rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, m, cur, rcs, ctx->arena, err);
        if (rc)
            break;
        size_t nw = 0;
        for (size_t k = 0; k < m; k++) {
            if (rcs[k] != 0 || cur[k].state == ROSTER_SUSPENDED)
                continue;
            cur[nw] = cur[k];
            cur[nw].state = ROSTER_SUSPENDED;
            cur[nw].set = ROSTER_USET_STATE;
            nw++;
        }
        rc = roster_store_user_update_many(ctx->conn, ctx->org_id, cur, nw, rcs, errs, err);
        for (size_t k = 0; rc == 0 && k < nw; k++) {
            if (rcs[k] == 0)
                im->counts[RIA_SUSPENDED]++;
            else if (is_store_failure(rcs[k])) {
                rc = rcs[k];
                *err = errs[k];
            }
        }
        roster_arena_clear(ctx->arena);
    }
done:
    free(idbuf);
    free(ids);
    free(cur);
    free(rcs);
    free(errs);
    return rc;
}

int roster_import_finish(struct roster_import *im, int64_t max_changes, int *outcome,
                         struct roster_err *err)
{
    struct roster_ctx *ctx = im->ctx;
    int rc = 0;
    *outcome = ROSTER_IMPORT_COMMITTED;
    if (im->loading && !im->stopped) /* (a stopped import rolls back: the indexes with it) */
        rc = load_end(im, err);
    if (rc == 0 && im->o.mode == ROSTER_IMPORT_SYNC && !im->stopped)
        rc = missing_apply(im, err);
    int64_t changes = im->counts[RIA_CREATED] + im->counts[RIA_UPDATED] +
                      im->counts[RIA_SUSPENDED] + im->counts[RIA_DELETED];
    if (rc == 0 && max_changes >= 0 && changes > max_changes && im->o.mode == ROSTER_IMPORT_SYNC)
        *outcome = ROSTER_IMPORT_TOO_MANY;
    else if (rc == 0 && (im->o.dry_run || im->stopped))
        *outcome = ROSTER_IMPORT_ROLLED_BACK;
    if (rc == 0 && *outcome == ROSTER_IMPORT_COMMITTED &&
        (im->job_wanted || (!im->one_tx && im->o.file_key))) {
        /* done: the job finishes and the progress goes, with the last rows */
        if (!im->tx_open && (rc = roster_store_begin(ctx->conn, err)) == 0)
            im->tx_open = true;
        if (rc == 0 && im->job_wanted)
            rc = job_ensure(im, err);
        if (rc == 0 && im->job_wanted)
            rc = roster_import_job_record(ctx, im->job_id, im->rows, NULL, 0, true, &im->results,
                                          err);
        if (rc == 0)
            rc = progress_put(im, -1, err);
    }
    if (im->tx_open) {
        bool commit = rc == 0 && *outcome == ROSTER_IMPORT_COMMITTED;
        if (commit)
            rc = roster_store_commit(ctx->conn, err);
        else
            roster_store_rollback(ctx->conn);
        tx_ended(im, commit && rc == 0);
    }
    roster_arena_clear(ctx->arena);
    return rc;
}

void roster_import_free(struct roster_import *im)
{
    if (!im)
        return;
    if (im->tx_open)
        roster_store_rollback(im->ctx->conn);
    ix_free(&im->ix);
    import_keys_free(&im->keys);
    roster_buf_release(&im->results);
    free(im);
}
