/* The core list operation (include/roster/list.h): every dialect lists users through
 * roster_users_list, which reads them through the store's index-served list statements
 * (src/store/sqlgen.c) and keeps, per list, what makes the next request cheap.
 *
 * DESIGN (docs/lists.md has the whole story)
 * - What is kept per list (an entry: organisation + filters, conditions and order): the
 *   number of users in it, positions (a key K and the number of users at or before K in
 *   the list's order, every STRIDE users along the pages read), and pages (skip, limit ->
 *   the rows, and the text a dialect rendered of them). Deep pages resume from the nearest
 *   position (the store's keyset: "the users after K") instead of skipping every user
 *   before them; totals are not counted again.
 * - Exactness: every entry is tagged with the organisation's list version. The store bumps
 *   the version with every write that can change a list, and records in the same
 *   transaction what changed (a user's image before and after, its memberships; or a reset
 *   for bulk writes). A request reads the version in its snapshot; an entry at an older
 *   version is brought up to date with the records in between, each applied exactly: the
 *   total moves by [after is in the list] - [before was]; a position (K, n) by the same
 *   test restricted to keys <= K; a page is dropped if the change falls at or before its
 *   last row (any change in the list, for the last page). So a write costs the lists it
 *   does not touch nothing, and the ones it touches a few comparisons. A reset, or records
 *   no longer kept, start the entry afresh. What is handed out is never older than the
 *   reader's snapshot, which is never older than a write acknowledged before the request.
 * - Fast path: one read of the version (on PostgreSQL one round trip); when the entry is
 *   at that version and holds the page, nothing else is read.
 * - Threads: one mutex; pages are immutable and reference-counted, so their rows and text
 *   are copied out without it. Entries are found again by key after each unlock (another
 *   thread may have dropped them meanwhile).
 * - Memory: at most max_bytes of rows and keys, at most MAX_ENTRIES lists and PAGES_PER
 *   pages each; the least recently used go first.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/core.h"
#include "roster/list.h"
#include "roster/store.h"

#define STRIDE 256      /* users between two kept positions */
#define MAX_ENTRIES 256 /* lists kept */
#define PAGES_PER 32    /* pages kept per list */
#define MAX_TEXTS 2     /* rendered texts kept per page (renderer and separator) */

struct lc_text {
    const struct roster_user_render *rd;
    char *sep; /* "" for none */
    char *text;
    size_t len;
};

struct lc_page {
    atomic_int refs;
    int64_t skip, limit;
    size_t n;
    struct roster_user *rows; /* in blob */
    char *blob;
    size_t bytes;
    struct lc_text txt[MAX_TEXTS]; /* set once each, under the mutex */
    uint64_t used;
};

struct lc_pos {
    int64_t off; /* users with key <= key */
    struct roster_user key;
    char *blob;
};

struct lc_entry {
    struct lc_entry *next;
    char *key;
    size_t keylen;
    char org_id[ROSTER_ID_LEN + 1];
    struct roster_query q; /* a copy (strings in qa) */
    struct roster_arena qa;
    int64_t ver;
    int64_t total; /* -1: not known */
    struct lc_pos *pos;
    size_t npos, cappos;
    struct lc_page *pages[PAGES_PER];
    size_t npages;
    size_t bytes;
    uint64_t used;
};

struct roster_lists {
    pthread_mutex_t mu;
    struct lc_entry *head;
    size_t count, bytes, max_bytes;
    uint64_t clock;
    struct roster_lists_stats st;
};

struct roster_lists *roster_lists_new(size_t max_bytes)
{
    struct roster_lists *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->max_bytes = max_bytes;
    return l;
}

static void page_unref(struct lc_page *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (int i = 0; i < MAX_TEXTS; i++) {
        free(p->txt[i].sep);
        free(p->txt[i].text);
    }
    free(p->blob);
    free(p);
}

static void entry_clear(struct roster_lists *l, struct lc_entry *e)
{
    for (size_t i = 0; i < e->npages; i++)
        page_unref(e->pages[i]);
    e->npages = 0;
    for (size_t i = 0; i < e->npos; i++)
        free(e->pos[i].blob);
    e->npos = 0;
    l->bytes -= e->bytes;
    e->bytes = 0;
    e->total = -1;
}

static void entry_free(struct roster_lists *l, struct lc_entry *e)
{
    entry_clear(l, e);
    free(e->pos);
    free(e->key);
    roster_arena_release(&e->qa);
    free(e);
    l->count--;
}

void roster_lists_free(struct roster_lists *l)
{
    if (!l)
        return;
    while (l->head) {
        struct lc_entry *e = l->head;
        l->head = e->next;
        entry_free(l, e);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void roster_lists_stats(struct roster_lists *l, struct roster_lists_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    *out = l->st;
    out->entries = l->count;
    out->bytes = l->bytes;
    pthread_mutex_unlock(&l->mu);
}

/* --- copies of users --- */

/* The bytes a deep copy of u takes (fields: all, or only the sort keys of q). */
static size_t user_size(const struct roster_user *u, const struct roster_query *keys_of)
{
    size_t n = 0;
    for (int i = 0; i < RU_NFIELDS; i++) {
        if (!u->f[i])
            continue;
        bool want = !keys_of;
        for (size_t k = 0; keys_of && k < keys_of->nsorts; k++)
            want = want || keys_of->sorts[k].key == i;
        if (want)
            n += strlen(u->f[i]) + 1;
    }
    return n;
}

static char *copy_user(struct roster_user *dst, const struct roster_user *u,
                       const struct roster_query *keys_of, char *p)
{
    *dst = *u;
    for (int i = 0; i < RU_NFIELDS; i++) {
        dst->f[i] = NULL;
        if (!u->f[i])
            continue;
        bool want = !keys_of;
        for (size_t k = 0; keys_of && k < keys_of->nsorts; k++)
            want = want || keys_of->sorts[k].key == i;
        if (!want)
            continue;
        size_t len = strlen(u->f[i]) + 1;
        memcpy(p, u->f[i], len);
        dst->f[i] = p;
        p += len;
    }
    return p;
}

static void copy_user_arena(struct roster_user *dst, const struct roster_user *u,
                            struct roster_arena *a)
{
    *dst = *u;
    for (int i = 0; i < RU_NFIELDS; i++)
        dst->f[i] = u->f[i] ? roster_arena_strdup(a, u->f[i]) : NULL;
}

static struct lc_page *page_new(int64_t skip, int64_t limit, const struct roster_user *rows,
                                size_t n)
{
    size_t bytes = n * sizeof(struct roster_user);
    for (size_t i = 0; i < n; i++)
        bytes += user_size(&rows[i], NULL);
    struct lc_page *p = calloc(1, sizeof(*p));
    char *blob = malloc(bytes ? bytes : 1);
    if (!p || !blob) {
        free(p);
        free(blob);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->skip = skip;
    p->limit = limit;
    p->n = n;
    p->blob = blob;
    p->rows = (struct roster_user *)(void *)blob;
    char *s = blob + n * sizeof(struct roster_user);
    for (size_t i = 0; i < n; i++)
        s = copy_user(&p->rows[i], &rows[i], NULL, s);
    p->bytes = sizeof(*p) + bytes;
    return p;
}

/* --- entries --- */

static struct roster_qval *vals_copy(const struct roster_filter *f, struct roster_arena *a)
{
    struct roster_qval *v = roster_arena_zalloc(a, (f->nvals ? f->nvals : 1) * sizeof(*v));
    for (size_t j = 0; j < f->nvals; j++) {
        v[j].i = f->vals[j].i;
        v[j].s = f->vals[j].s ? roster_arena_strdup(a, f->vals[j].s) : NULL;
    }
    return v;
}

static struct roster_qnode *expr_copy(const struct roster_qnode *n, struct roster_arena *a)
{
    struct roster_qnode *c = roster_arena_alloc(a, sizeof(*c));
    *c = *n;
    if (n->kind == ROSTER_QN_FILTER)
        c->f.vals = vals_copy(&n->f, a);
    c->kids = n->nkids ? roster_arena_alloc(a, n->nkids * sizeof(*c->kids)) : NULL;
    for (size_t i = 0; i < n->nkids; i++)
        c->kids[i] = expr_copy(n->kids[i], a);
    return c;
}

static void query_copy(struct roster_query *dst, const struct roster_query *q,
                       struct roster_arena *a)
{
    *dst = *q;
    for (size_t i = 0; i < q->nfilters && i < ROSTER_QUERY_MAX_FILTERS; i++)
        dst->filters[i].vals = vals_copy(&q->filters[i], a);
    dst->expr = q->expr ? expr_copy(q->expr, a) : NULL;
    dst->search = q->search ? roster_arena_strdup(a, q->search) : NULL;
    dst->skip = 0;
    dst->limit = 0;
    dst->want_total = false;
}

static struct lc_entry *find(struct roster_lists *l, const char *key, size_t keylen)
{
    for (struct lc_entry *e = l->head; e; e = e->next)
        if (e->keylen == keylen && memcmp(e->key, key, keylen) == 0) {
            e->used = ++l->clock;
            return e;
        }
    return NULL;
}

/* Drops the least recently used entries until there is room (mu held). */
static void make_room(struct roster_lists *l, const struct lc_entry *keep)
{
    while (l->count > MAX_ENTRIES || (l->bytes > l->max_bytes && l->count > 1)) {
        struct lc_entry **victim = NULL;
        for (struct lc_entry **pp = &l->head; *pp; pp = &(*pp)->next)
            if (*pp != keep && (!victim || (*pp)->used < (*victim)->used))
                victim = pp;
        if (!victim)
            return;
        struct lc_entry *e = *victim;
        *victim = e->next;
        entry_free(l, e);
    }
}

static struct lc_entry *create(struct roster_lists *l, const char *key, size_t keylen,
                               const char *org_id, const struct roster_query *q, int64_t ver)
{
    struct lc_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->key = malloc(keylen);
    if (!e->key) {
        free(e);
        return NULL;
    }
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    snprintf(e->org_id, sizeof(e->org_id), "%s", org_id);
    roster_arena_init(&e->qa, 1024);
    query_copy(&e->q, q, &e->qa);
    e->ver = ver;
    e->total = -1;
    e->used = ++l->clock;
    e->next = l->head;
    l->head = e;
    l->count++;
    make_room(l, e);
    return e;
}

static void charge(struct roster_lists *l, struct lc_entry *e, ptrdiff_t bytes)
{
    e->bytes = (size_t)((ptrdiff_t)e->bytes + bytes);
    l->bytes = (size_t)((ptrdiff_t)l->bytes + bytes);
}

static void drop_page(struct roster_lists *l, struct lc_entry *e, size_t i)
{
    charge(l, e, -(ptrdiff_t)e->pages[i]->bytes);
    page_unref(e->pages[i]);
    e->pages[i] = e->pages[--e->npages];
    l->st.pages_dropped++;
}

static struct lc_page *page_find(struct lc_entry *e, int64_t skip, int64_t limit, uint64_t clock)
{
    for (size_t i = 0; i < e->npages; i++)
        if (e->pages[i]->skip == skip && e->pages[i]->limit == limit) {
            e->pages[i]->used = clock;
            return e->pages[i];
        }
    return NULL;
}

static void page_put(struct roster_lists *l, struct lc_entry *e, struct lc_page *p)
{
    for (size_t i = 0; i < e->npages; i++)
        if (e->pages[i]->skip == p->skip && e->pages[i]->limit == p->limit) {
            drop_page(l, e, i);
            break;
        }
    if (e->npages == PAGES_PER) {
        size_t old = 0;
        for (size_t i = 1; i < e->npages; i++)
            if (e->pages[i]->used < e->pages[old]->used)
                old = i;
        drop_page(l, e, old);
    }
    atomic_fetch_add(&p->refs, 1);
    p->used = ++l->clock;
    e->pages[e->npages++] = p;
    charge(l, e, (ptrdiff_t)p->bytes);
    make_room(l, e);
}

/* Keeps position (off, key) in e (sorted by off; one per offset). */
static void pos_put(struct roster_lists *l, struct lc_entry *e, int64_t off,
                    const struct roster_user *key)
{
    size_t i = 0;
    while (i < e->npos && e->pos[i].off < off)
        i++;
    if (i < e->npos && e->pos[i].off == off)
        return;
    if (e->npos == e->cappos) {
        size_t cap = e->cappos ? 2 * e->cappos : 16;
        struct lc_pos *np = realloc(e->pos, cap * sizeof(*np));
        if (!np)
            return;
        e->pos = np;
        e->cappos = cap;
    }
    size_t bytes = user_size(key, &e->q);
    char *blob = malloc(bytes ? bytes : 1);
    if (!blob)
        return;
    memmove(&e->pos[i + 1], &e->pos[i], (e->npos - i) * sizeof(*e->pos));
    e->pos[i].off = off;
    e->pos[i].blob = blob;
    copy_user(&e->pos[i].key, key, &e->q, blob);
    e->npos++;
    charge(l, e, (ptrdiff_t)(bytes + sizeof(struct lc_pos)));
}

/* Applies one change to e (see DESIGN). */
static void apply(struct roster_lists *l, struct lc_entry *e, const struct roster_change *ch)
{
    l->st.changes_applied++;
    if (ch->kind != ROSTER_CHANGE_USER) {
        entry_clear(l, e);
        l->st.resets++;
        return;
    }
    const struct roster_user *b = ch->before, *a = ch->after;
    bool mb = b && roster_list_match(&e->q, b, ch->groups_before, ch->ngroups_before);
    bool ma = a && roster_list_match(&e->q, a, ch->groups_after, ch->ngroups_after);
    if (!mb && !ma)
        return;
    if (e->total >= 0)
        e->total += (int64_t)ma - (int64_t)mb;
    for (size_t i = 0; i < e->npos; i++) {
        const struct roster_user *k = &e->pos[i].key;
        e->pos[i].off += (int64_t)(ma && roster_list_cmp(&e->q, a, k) <= 0) -
                         (int64_t)(mb && roster_list_cmp(&e->q, b, k) <= 0);
    }
    for (size_t i = 0; i < e->npages;) {
        const struct lc_page *p = e->pages[i];
        bool hit;
        if (p->n < (size_t)p->limit || p->n == 0) {
            hit = true; /* the end of the list: any change in it may show */
        } else {
            const struct roster_user *last = &p->rows[p->n - 1];
            hit = (mb && roster_list_cmp(&e->q, b, last) <= 0) ||
                  (ma && roster_list_cmp(&e->q, a, last) <= 0);
        }
        if (hit)
            drop_page(l, e, i);
        else
            i++;
    }
}

/* --- the operation --- */

struct req {
    struct roster_ctx *ctx;
    const struct roster_query *q;
    struct roster_lists *l;
    char *key;
    size_t keylen;
    int64_t ver;
};

/* Hands page p (rows) to the caller: rendered into out, or copied into its arena. */
static void emit_rows(struct roster_ctx *ctx, const struct roster_user *rows, size_t n,
                      const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                      struct roster_list_result *res)
{
    res->n = n;
    if (!rd) {
        res->rows = roster_arena_alloc(ctx->arena, (n ? n : 1) * sizeof(*res->rows));
        for (size_t i = 0; i < n; i++)
            copy_user_arena(&res->rows[i], &rows[i], ctx->arena);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i && sep)
            roster_buf_addstr(out, sep);
        rd->render(&rows[i], out, ctx->arena);
    }
}

static bool same_sep(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Emits a kept page; with a renderer, its text is kept on the page from the first time. */
static void emit_page(struct roster_lists *l, struct roster_ctx *ctx, struct lc_page *p,
                      const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                      struct roster_list_result *res)
{
    if (!rd) {
        emit_rows(ctx, p->rows, p->n, NULL, NULL, out, res);
        return;
    }
    const struct lc_text *t = NULL;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < MAX_TEXTS && !t; i++)
        if (p->txt[i].rd == rd && same_sep(p->txt[i].sep, sep))
            t = &p->txt[i];
    pthread_mutex_unlock(&l->mu);
    res->n = p->n;
    if (t) {
        roster_buf_add(out, t->text, t->len);
        return;
    }
    size_t start = out->len;
    emit_rows(ctx, p->rows, p->n, rd, sep, out, res);
    size_t len = out->len - start;
    char *text = malloc(len ? len : 1);
    char *s = strdup(sep ? sep : "");
    if (!text || !s) {
        free(text);
        free(s);
        return;
    }
    if (len)
        memcpy(text, out->data + start, len);
    pthread_mutex_lock(&l->mu);
    struct lc_text *slot = NULL;
    for (int i = 0; i < MAX_TEXTS && !slot; i++)
        if (!p->txt[i].rd)
            slot = &p->txt[i];
    if (slot) {
        slot->sep = s;
        slot->text = text;
        slot->len = len;
        slot->rd = rd;
        /* the page's charge in its entry is not raised: texts are bounded by the rows */
    }
    pthread_mutex_unlock(&l->mu);
    if (!slot) {
        free(text);
        free(s);
    }
}

/* Rows read for this request only (in its arena): rendered, or handed out as they are. */
static void hand_out(struct roster_ctx *ctx, struct roster_user *rows, size_t n,
                     const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                     struct roster_list_result *res)
{
    if (rd)
        emit_rows(ctx, rows, n, rd, sep, out, res);
    else {
        res->rows = rows;
        res->n = n;
    }
}

/* The list straight from the store, in one snapshot (no list state). */
static int uncached(struct roster_ctx *ctx, const struct roster_query *q,
                    const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                    struct roster_list_result *res, struct roster_err *err)
{
    struct roster_conn *c = ctx->conn;
    bool began = false;
    int code = roster_store_snapshot_begin(c, &began, err);
    if (code)
        return code;
    if (q->want_total)
        code = roster_store_user_count(c, ctx->org_id, q, &res->total, NULL, err);
    struct roster_user *rows = NULL;
    size_t n = 0;
    if (!code && q->limit != 0)
        code = roster_store_user_page(c, ctx->org_id, q, NULL, q->skip, q->limit, ctx->arena, &rows,
                                      &n, NULL, err);
    roster_store_snapshot_end(c, began);
    if (code)
        return code;
    hand_out(ctx, rows, n, rd, sep, out, res);
    return 0;
}

/* Brings the entry of r up to r->ver (creating it); false when it cannot be (it is newer
 * than the reader's snapshot, or memory ran out): the caller reads uncached. */
static int sync_entry(struct req *r, bool *usable, struct roster_err *err)
{
    struct roster_lists *l = r->l;
    *usable = false;
    pthread_mutex_lock(&l->mu);
    struct lc_entry *e = find(l, r->key, r->keylen);
    if (!e)
        e = create(l, r->key, r->keylen, r->ctx->org_id, r->q, r->ver);
    int64_t ev = e ? e->ver : -1;
    pthread_mutex_unlock(&l->mu);
    if (!e || ev > r->ver)
        return 0;
    if (ev == r->ver) {
        *usable = true;
        return 0;
    }
    struct roster_arena a;
    roster_arena_init(&a, 16384);
    struct roster_change *ch = NULL;
    size_t n = 0;
    struct roster_err e2 = {0};
    int code =
        roster_store_list_changes(r->ctx->conn, r->ctx->org_id, ev, r->ver, &a, &ch, &n, &e2);
    bool stale = code == ROSTER_ESTALE;
    if (code && !stale) {
        roster_arena_release(&a);
        if (err)
            *err = e2;
        return code;
    }
    pthread_mutex_lock(&l->mu);
    e = find(l, r->key, r->keylen);
    if (e && e->ver == ev) {
        if (stale) {
            entry_clear(l, e);
            l->st.resets++;
        } else {
            for (size_t i = 0; i < n; i++)
                apply(l, e, &ch[i]);
        }
        e->ver = r->ver;
    }
    *usable = e && e->ver == r->ver;
    pthread_mutex_unlock(&l->mu);
    roster_arena_release(&a);
    return 0;
}

/* The position to start the page at skip from: the nearest kept one at or before it
 * (copied into a), walking forward STRIDE users at a time when it is far. */
static int start_pos(struct req *r, int64_t skip, struct roster_arena *a, int64_t *off,
                     struct roster_user **key, struct roster_err *err)
{
    struct roster_lists *l = r->l;
    *off = 0;
    *key = NULL;
    pthread_mutex_lock(&l->mu);
    struct lc_entry *e = find(l, r->key, r->keylen);
    if (e && e->ver == r->ver) {
        for (size_t i = 0; i < e->npos && e->pos[i].off <= skip; i++) {
            if (e->pos[i].off > *off) {
                *off = e->pos[i].off;
                if (!*key)
                    *key = roster_arena_alloc(a, sizeof(**key));
                copy_user_arena(*key, &e->pos[i].key, a);
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    while (skip - *off >= STRIDE) {
        struct roster_user *rows = NULL;
        size_t n = 0;
        int64_t v = 0;
        int code = roster_store_user_page(r->ctx->conn, r->ctx->org_id, r->q, *key, STRIDE - 1, 1,
                                          a, &rows, &n, &v, err);
        if (code)
            return code;
        if (n == 0 || v != r->ver)
            break; /* the list ends before skip (or moved on: read from here) */
        *off += STRIDE;
        *key = &rows[0];
        pthread_mutex_lock(&l->mu);
        e = find(l, r->key, r->keylen);
        if (e && e->ver == r->ver)
            pos_put(l, e, *off, &rows[0]);
        pthread_mutex_unlock(&l->mu);
    }
    return 0;
}

/* How selective q is by one of its ANDed filters, an eq of one value on an indexed key:
 * 2 when it matches at most one user whatever else it says (the id, the numeric id, the
 * username or the e-mail, which are unique ignoring case, so an exact or a case-folded eq
 * finds at most one; the employee id only exactly), 1 on a key that is indexed but not
 * unique (the SCIM externalId), 0 otherwise. SCIM clients look users up this way
 * (userName eq "x", externalId eq "x") before every write. */
static int selective(const struct roster_query *q)
{
    int best = 0;
    for (size_t i = 0; i < q->nfilters; i++) {
        const struct roster_filter *f = &q->filters[i];
        if (f->op != ROSTER_OP_EQ || f->nvals != 1)
            continue;
        if (f->key == RQ_ID || f->key == RQ_NUM_ID || f->key == RU_USERNAME || f->key == RU_EMAIL ||
            (f->key == RU_EMPLOYEE_ID && !f->ci))
            return 2;
        if (f->key == RU_EXTERNAL_ID && !f->ci)
            best = 1;
    }
    return best;
}

/* A look-up by a key from its first page: one statement reads the users it finds through
 * the key's index (the store may skip the snapshot: q->direct). For a unique key the total
 * is what it found; for another key too when the page is not full, and a full page (more
 * users share the key than a page holds) goes the way of any list (*done false). No count,
 * no snapshot (one statement is consistent by itself), and no entry in the list state: a
 * look-up of one key is not a list that is read again page after page, and each distinct
 * key would take an entry. */
static int point(struct roster_ctx *ctx, const struct roster_query *q, bool unique,
                 const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                 struct roster_list_result *res, bool *done, struct roster_err *err)
{
    struct roster_query dq = *q;
    dq.direct = true;
    struct roster_user *rows = NULL;
    size_t n = 0;
    *done = false;
    int code = roster_store_user_page(ctx->conn, ctx->org_id, &dq, NULL, 0, q->limit, ctx->arena,
                                      &rows, &n, NULL, err);
    if (code)
        return code;
    if (!unique && q->limit > 0 && (int64_t)n >= q->limit)
        return 0;
    *done = true;
    res->total = q->want_total ? (int64_t)n : -1;
    hand_out(ctx, rows, n, rd, sep, out, res);
    return 0;
}

int roster_users_list(struct roster_ctx *ctx, const struct roster_query *q,
                      const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                      struct roster_list_result *res, struct roster_err *err)
{
    res->rows = NULL;
    res->n = 0;
    res->total = -1;
    struct roster_lists *l = ctx->app ? ctx->app->lists : NULL;
    if (!l || q->limit < 0)
        return uncached(ctx, q, rd, sep, out, res, err);
    int sel = q->skip <= 0 && q->limit != 0 ? selective(q) : 0;
    if (sel) {
        bool done;
        int code = point(ctx, q, sel == 2, rd, sep, out, res, &done, err);
        if (code || done)
            return code;
    }
    struct roster_conn *c = ctx->conn;
    struct req r = {ctx, q, l, NULL, 0, 0};
    size_t qlen;
    char *qkey = roster_list_key(q, ctx->arena, &qlen);
    r.key = roster_arena_printf(ctx->arena, "%s|%s", ctx->org_id ? ctx->org_id : "", qkey);
    r.keylen = strlen(ctx->org_id ? ctx->org_id : "") + 1 + qlen;
    int64_t skip = q->skip > 0 ? q->skip : 0;

    /* the fast path: the version, then what is kept */
    int code = roster_store_list_version(c, ctx->org_id, &r.ver, err);
    if (code)
        return code;
    struct lc_page *p = NULL;
    pthread_mutex_lock(&l->mu);
    struct lc_entry *e = find(l, r.key, r.keylen);
    if (e && e->ver == r.ver && (!q->want_total || e->total >= 0)) {
        p = q->limit == 0 ? NULL : page_find(e, skip, q->limit, ++l->clock);
        if (p || q->limit == 0) {
            res->total = q->want_total ? e->total : -1;
            if (p)
                atomic_fetch_add(&p->refs, 1);
            l->st.hits++;
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (p || (q->limit == 0 && res->total >= 0)) {
        if (p)
            emit_page(l, ctx, p, rd, sep, out, res);
        page_unref(p);
        return 0;
    }

    /* the slow path, in one snapshot */
    bool began = false;
    code = roster_store_snapshot_begin(c, &began, err);
    if (code)
        return code;
    code = roster_store_list_version(c, ctx->org_id, &r.ver, err);
    bool usable = false;
    if (!code)
        code = sync_entry(&r, &usable, err);
    if (code || !usable) {
        roster_store_snapshot_end(c, began);
        return code ? code : uncached(ctx, q, rd, sep, out, res, err);
    }
    pthread_mutex_lock(&l->mu);
    l->st.misses++;
    e = find(l, r.key, r.keylen);
    int64_t total = e && e->ver == r.ver ? e->total : -1;
    p = e && e->ver == r.ver && q->limit != 0 ? page_find(e, skip, q->limit, ++l->clock) : NULL;
    if (p)
        atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&l->mu);
    if (q->want_total && total < 0) {
        int64_t v = 0;
        code = roster_store_user_count(c, ctx->org_id, q, &total, &v, err);
        if (!code && v == r.ver) {
            pthread_mutex_lock(&l->mu);
            e = find(l, r.key, r.keylen);
            if (e && e->ver == r.ver)
                e->total = total;
            pthread_mutex_unlock(&l->mu);
        }
    }
    res->total = q->want_total ? total : -1;
    struct roster_arena a;
    roster_arena_init(&a, 16384);
    if (!code && !p && q->limit != 0) {
        int64_t off = 0;
        struct roster_user *key = NULL;
        struct roster_user *rows = NULL;
        size_t n = 0;
        int64_t v = 0;
        bool keyset = q->nsorts <= 1;
        if (keyset)
            code = start_pos(&r, skip, &a, &off, &key, err);
        if (!code)
            code = roster_store_user_page(c, ctx->org_id, q, keyset ? key : NULL,
                                          keyset ? skip - off : skip, q->limit, &a, &rows, &n, &v,
                                          err);
        if (!code) {
            p = page_new(skip, q->limit, rows, n);
            if (p && v == r.ver) {
                pthread_mutex_lock(&l->mu);
                e = find(l, r.key, r.keylen);
                if (e && e->ver == r.ver) {
                    page_put(l, e, p);
                    if (keyset && n > 0)
                        pos_put(l, e, skip + (int64_t)n, &p->rows[n - 1]);
                }
                pthread_mutex_unlock(&l->mu);
            } else if (!p) {
                emit_rows(ctx, rows, n, rd, sep, out, res);
            }
        }
    }
    roster_store_snapshot_end(c, began);
    if (!code && p)
        emit_page(l, ctx, p, rd, sep, out, res);
    page_unref(p);
    roster_arena_release(&a);
    return code;
}
