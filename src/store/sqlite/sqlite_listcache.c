/* SQLite store: the list cache, which makes a deep page and the total of a user list cost
 * O(page) instead of O(offset) and O(matches). For one (organisation, filters) it keeps the
 * rowids of every matching user in id order and their count; a page at any offset is then
 * `limit` primary-key look-ups, and the total is the array's length.
 *
 * DESIGN
 * - Validity: a store-wide write generation (st->list_gen). The commit hook of every
 *   connection of this process (sq_wal_hook, which SQLite calls after the commit is
 *   visible and before the writer's call returns) bumps it, and so does a reader that sees
 *   the file changed behind its back (PRAGMA data_version differs from what its connection
 *   saw last: another process, e.g. an offline CLI command, committed). An entry is tagged
 *   with the generation its builder read BEFORE its read snapshot began, and is used only
 *   by a reader that read the same generation, also before its snapshot began. So an entry
 *   is never older than a write that was acknowledged before the reader started: that write
 *   bumped the generation before it was acknowledged, hence before the entry's builder read
 *   the generation, hence before the builder's snapshot began.
 * - A reader whose connection just noticed an outside change (data_version moved) neither
 *   uses nor stores an entry: it builds a private one from its own snapshot. A connection
 *   reads its first data_version when it is opened, and that check bumps the generation:
 *   outside commits from before it was opened, which no other connection may have noticed
 *   yet, void every entry once. A connection inside a transaction never comes here (its
 *   own uncommitted writes would leak); one inside a read span (sq_read_begin: no writes)
 *   does, with the generation and freshness of the span's snapshot.
 * - Threads: entries live in one list per store under lc_mu. An entry is immutable once
 *   built and reference-counted, so readers use its rowids without the lock while another
 *   thread evicts it. Only one thread builds an entry for a (key, generation); the others
 *   wait for it (lc_cv) instead of scanning the same rows at the same time.
 * - Memory: at most SQ_LC_MAX_BYTES of rowids and SQ_LC_MAX_ENTRIES entries; entries of an
 *   older generation are dropped first (they can never be valid again), then the least
 *   recently used. A larger result is built privately for its request and not kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define SQ_LC_MAX_ENTRIES 64
#define SQ_LC_MAX_BYTES (256u * 1024u * 1024u)

struct sq_list_entry {
    struct sq_list_entry *next;
    uint64_t gen; /* the generation it was built at */
    int64_t org_num;
    char *key; /* the filters: WHERE text and bound values */
    size_t keylen;
    int64_t n;       /* matching rows */
    int64_t *rowids; /* n rowids in id order */
    size_t cap;
    size_t charged; /* bytes counted in lc_bytes (0 until built) */
    int refs;       /* the cache's reference (while listed) + one per reader */
    bool building;  /* its builder has not finished yet */
    bool failed;    /* its build failed: waiters retry */
    bool listed;
    uint64_t used; /* lc_clock at the last use, for LRU eviction */
};

void sq_list_cache_init(struct sq_store *st)
{
    atomic_init(&st->list_gen, 1);
    pthread_mutex_init(&st->lc_mu, NULL);
    pthread_cond_init(&st->lc_cv, NULL);
    st->lc_head = NULL;
    st->lc_bytes = 0;
    st->lc_count = 0;
    st->lc_clock = 0;
    sq_render_cache_init(st); /* st->rc stays NULL when out of memory: nothing is kept */
}

static void entry_free(struct sq_list_entry *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->rowids);
    free(e);
}

void sq_list_cache_free(struct sq_store *st)
{
    struct sq_list_entry *e = st->lc_head;
    while (e) {
        struct sq_list_entry *next = e->next;
        entry_free(e);
        e = next;
    }
    st->lc_head = NULL;
    sq_render_cache_free(st);
    pthread_mutex_destroy(&st->lc_mu);
    pthread_cond_destroy(&st->lc_cv);
}

void sq_list_gen_bump(struct sq_store *st)
{
    atomic_fetch_add(&st->list_gen, 1);
}

uint64_t sq_list_gen(struct sq_store *st)
{
    return atomic_load(&st->list_gen);
}

int sq_list_check_version(struct sq_conn *c, bool *fresh, struct roster_err *err)
{
    sqlite3_stmt *s = sq_stmt(c, SQ_DATA_VERSION, err);
    if (!s)
        return err ? err->code : ROSTER_EIO;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        int code = sq_fail(c, rc, err);
        sqlite3_reset(s);
        return code;
    }
    int64_t dv = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    *fresh = dv == c->last_data_version;
    if (!*fresh) {
        c->last_data_version = dv;
        sq_list_gen_bump(c->store);
    }
    return 0;
}

/* A read span: one read transaction for several reads (a request's key, organisation and
 * list). The generation is read before the snapshot begins and the data_version check
 * starts the snapshot, exactly as for a single list, so lists inside the span use the
 * caches under the same rules. */
int sq_read_begin(struct roster_conn *pc, struct roster_err *err)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (c->rs_active || !c->store || !sqlite3_get_autocommit(c->db))
        return roster_err_set(err, ROSTER_EINVAL, "a transaction is already open");
    uint64_t gen = sq_list_gen(c->store);
    int code = sq_exec_cached(c, SQ_BEGIN_READ, err);
    if (code)
        return code;
    bool fresh = false;
    code = sq_list_check_version(c, &fresh, err);
    if (code) {
        sq_exec_cached(c, SQ_ROLLBACK, NULL);
        return code;
    }
    c->rs_active = true;
    c->rs_fresh = fresh;
    c->rs_gen = gen;
    return 0;
}

void sq_read_end(struct roster_conn *pc)
{
    struct sq_conn *c = sq_conn_of(pc);
    if (!c->rs_active)
        return;
    c->rs_active = false;
    if (!sqlite3_get_autocommit(c->db) && sq_exec_cached(c, SQ_COMMIT, NULL) != 0)
        sq_exec_cached(c, SQ_ROLLBACK, NULL);
}

/* Unlinks e from the list (lc_mu held) and drops the cache's reference. */
static void unlink_entry(struct sq_store *st, struct sq_list_entry *e)
{
    for (struct sq_list_entry **p = &st->lc_head; *p; p = &(*p)->next) {
        if (*p != e)
            continue;
        *p = e->next;
        e->listed = false;
        st->lc_bytes -= e->charged;
        e->charged = 0;
        st->lc_count--;
        if (--e->refs == 0)
            entry_free(e);
        return;
    }
}

/* Drops entries of generations before gen, then least recently used ones until one more
 * entry of `bytes` fits (lc_mu held). Entries being built are kept. */
static void make_room(struct sq_store *st, uint64_t gen, size_t bytes)
{
    struct sq_list_entry *e = st->lc_head;
    while (e) {
        struct sq_list_entry *next = e->next;
        if (e->gen < gen && !e->building)
            unlink_entry(st, e);
        e = next;
    }
    while (st->lc_count >= SQ_LC_MAX_ENTRIES || st->lc_bytes + bytes > SQ_LC_MAX_BYTES) {
        struct sq_list_entry *lru = NULL;
        for (e = st->lc_head; e; e = e->next)
            if (!e->building && (!lru || e->used < lru->used))
                lru = e;
        if (!lru)
            break;
        unlink_entry(st, lru);
    }
}

static int grow(struct sq_list_entry *e)
{
    size_t cap = e->cap ? 2 * e->cap : 1024;
    int64_t *v = realloc(e->rowids, cap * sizeof(*v));
    if (!v)
        return -1;
    e->rowids = v;
    e->cap = cap;
    return 0;
}

/* Runs "SELECT num_id FROM users WHERE org_num = ?<w's clauses> ORDER BY id", or w->ids_sql
 * when set (a grouped list), (parameters: org_num then w's values) and collects the rowids
 * into e. */
static int build(struct sq_conn *c, int64_t org_num, const struct sq_query *w,
                 struct sq_list_entry *e, struct roster_err *err)
{
    sqlite3_stmt *s = NULL;
    struct roster_buf sql;
    roster_buf_init(&sql);
    if (w->ids_sql)
        roster_buf_addstr(&sql, w->ids_sql);
    else
        roster_buf_printf(&sql, "SELECT num_id FROM users WHERE org_num = ?%s ORDER BY id",
                          w->where.data ? w->where.data : "");
    int code = sq_prepare(c, sql.data, &s, err);
    roster_buf_release(&sql);
    if (!code)
        code = sq_query_bind_all(c, s, org_num, w, err);
    int rc = SQLITE_DONE;
    while (!code && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)e->n == e->cap && grow(e) != 0) {
            code = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
            break;
        }
        e->rowids[e->n++] = sqlite3_column_int64(s, 0);
    }
    if (!code && rc != SQLITE_DONE)
        code = sq_fail(c, rc, err);
    sqlite3_finalize(s);
    return code;
}

/* The cache key of w: its WHERE text, then each bound value with its type and length
 * (integers and lengths as raw bytes: unambiguous, and no printf on every request). */
static char *make_key(const struct sq_query *w, size_t *len)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, w->where.data ? w->where.data : "");
    for (size_t i = 0; i < w->nbinds; i++) {
        const struct sq_qbind *v = &w->binds[i];
        roster_buf_addch(&b, '\0');
        if (v->is_int) {
            roster_buf_addch(&b, 'i');
            roster_buf_add(&b, &v->i, sizeof(v->i));
        } else if (!v->s) {
            roster_buf_addch(&b, 'n');
        } else {
            size_t n = strlen(v->s);
            roster_buf_addch(&b, 's');
            roster_buf_add(&b, &n, sizeof(n));
            roster_buf_add(&b, v->s, n);
        }
    }
    if (!b.data)
        roster_buf_addstr(&b, "");
    return roster_buf_detach(&b, len);
}

int sq_list_ids_get(struct sq_conn *c, uint64_t gen, bool fresh, int64_t org_num,
                    const struct sq_query *w, struct sq_list_entry **out, struct roster_err *err)
{
    struct sq_store *st = c->store;
    *out = NULL;
    struct sq_list_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    e->key = make_key(w, &e->keylen);
    e->gen = gen;
    e->org_num = org_num;
    e->refs = 1;
    if (!fresh) {
        /* private: this snapshot saw a change that other entries may not have */
        int code = build(c, org_num, w, e, err);
        if (code) {
            entry_free(e);
            return code;
        }
        *out = e;
        return 0;
    }

    pthread_mutex_lock(&st->lc_mu);
    for (;;) {
        struct sq_list_entry *hit = NULL;
        for (struct sq_list_entry *x = st->lc_head; x; x = x->next) {
            if (x->org_num == org_num && x->keylen == e->keylen &&
                memcmp(x->key, e->key, e->keylen) == 0) {
                hit = x;
                break;
            }
        }
        if (hit && hit->gen == gen && hit->building) {
            pthread_cond_wait(&st->lc_cv, &st->lc_mu);
            continue; /* look again: it may have failed or been evicted */
        }
        if (hit && hit->gen == gen) {
            hit->refs++;
            hit->used = ++st->lc_clock;
            pthread_mutex_unlock(&st->lc_mu);
            entry_free(e);
            *out = hit;
            return 0;
        }
        if (hit && hit->gen > gen) {
            /* a newer generation is cached: build ours privately, keep theirs */
            pthread_mutex_unlock(&st->lc_mu);
            int code = build(c, org_num, w, e, err);
            if (code) {
                entry_free(e);
                return code;
            }
            *out = e;
            return 0;
        }
        if (hit)
            unlink_entry(st, hit); /* an older generation: never valid again */
        break;
    }
    /* list the entry as being built, so that others with the same key wait for it */
    make_room(st, gen, 0);
    e->building = true;
    e->listed = true;
    e->refs = 2; /* the cache's and ours */
    e->used = ++st->lc_clock;
    e->next = st->lc_head;
    st->lc_head = e;
    st->lc_count++;
    pthread_mutex_unlock(&st->lc_mu);

    int code = build(c, org_num, w, e, err);

    if (!code && e->n > 0 && (size_t)e->n < e->cap) {
        int64_t *v = realloc(e->rowids, (size_t)e->n * sizeof(*v));
        if (v) {
            e->rowids = v;
            e->cap = (size_t)e->n;
        }
    }
    pthread_mutex_lock(&st->lc_mu);
    if (code) {
        e->failed = true;
        if (e->listed)
            unlink_entry(st, e); /* waiters find no entry and build themselves */
    } else if (e->listed) {
        size_t bytes = e->cap * sizeof(int64_t);
        make_room(st, gen, bytes); /* still marked building: not evicted itself */
        if (st->lc_bytes + bytes > SQ_LC_MAX_BYTES) {
            unlink_entry(st, e); /* too big to keep: serves this request only */
        } else {
            e->charged = bytes;
            st->lc_bytes += bytes;
        }
    }
    e->building = false;
    pthread_cond_broadcast(&st->lc_cv);
    if (code) {
        if (--e->refs == 0)
            entry_free(e);
        pthread_mutex_unlock(&st->lc_mu);
        return code;
    }
    pthread_mutex_unlock(&st->lc_mu);
    *out = e;
    return 0;
}

void sq_list_ids_release(struct sq_conn *c, struct sq_list_entry *e)
{
    if (!e)
        return;
    struct sq_store *st = c->store;
    pthread_mutex_lock(&st->lc_mu);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&st->lc_mu);
    if (last)
        entry_free(e);
}

int64_t sq_list_ids_count(const struct sq_list_entry *e)
{
    return e->n;
}

const int64_t *sq_list_ids_rowids(const struct sq_list_entry *e)
{
    return e->rowids;
}

/* --- rendered text ---
 *
 * The text a renderer (struct roster_user_render, a dialect's encoding of a user) made of a
 * user row, so that the next page with that user appends it instead of reading and
 * encoding the row again (sq_user_list_render).
 *
 * DESIGN
 * - Validity: the same write generation and the same rules as the rowid lists above. Text
 *   is kept only when rendered by a reader that may use the list cache (gen read before its
 *   snapshot began, its connection saw no outside change), and tagged with that gen; it is
 *   handed out only to such a reader of the same gen. The whole cache holds one generation:
 *   a put of a newer one drops every entry first (they can never be valid again), a put of
 *   an older one is ignored, a get of another generation misses.
 * - Key: (renderer address, rowid), checked against the organisation too. A rowid names one
 *   row of one organisation in one generation; the text depends only on that row (the
 *   renderer's contract in store.h).
 * - Threads: a rwlock. Readers copy hits into their output under the read lock, taken once
 *   per run of hits (released while a miss is read from SQLite); puts and evictions take the
 *   write lock once per page; freed entries are freed after it is released.
 * - Memory: at most SQ_RC_MAX_BYTES (text plus entry headers); evicts in insertion order,
 *   with a second chance for an entry that was hit since it was queued. A row is kept from
 *   its second rendering on (a doorkeeper bitset remembers the first): a walk through every
 *   user once neither pays for keeping 1,000,000 texts nor pushes out the pages that are
 *   read again and again.
 */

#define SQ_RC_MAX_BYTES (64u * 1024u * 1024u)
#define SQ_RC_MAX_TEXT (64u * 1024u) /* longer text is not kept */
#define SQ_RC_BUCKETS (1u << 17)
#define SQ_RC_SEEN_BITS (1u << 21) /* the doorkeeper: 256 KB */

struct sq_rtext {
    struct sq_rtext *hnext; /* hash chain */
    struct sq_rtext *qnext; /* insertion order */
    const void *rd;
    int64_t rowid, org_num;
    atomic_bool hit; /* read since it was queued: gets a second chance */
    uint32_t len;
    char text[];
};

/* organisations and API keys read inside read spans: see the end of this file */
#define SQ_ROW_SLOTS 32

struct sq_row_slot {
    bool used;
    bool is_key;
    char name[65];  /* the key's hash or the organisation's id */
    uint64_t clock; /* last use */
    char *strs;     /* the strings below point into this block */
    union {
        struct roster_key key;
        struct roster_org org;
    } v;
};

struct sq_row_cache {
    pthread_mutex_t mu;
    uint64_t gen, clock;
    struct sq_row_slot slot[SQ_ROW_SLOTS];
};

struct sq_render_cache {
    pthread_rwlock_t lock;
    uint64_t gen;
    struct sq_rtext **buckets; /* SQ_RC_BUCKETS, allocated by the first put */
    struct sq_rtext *qhead, *qtail;
    size_t bytes, count;
    /* The doorkeeper: a bit per (renderer, rowid) hash, set when a row is rendered without
     * being kept; the next rendering keeps it. Emptied when a quarter of it is set. Only
     * decides what is worth keeping, never what is valid. */
    _Atomic uint64_t *seen;
    atomic_size_t nseen;
    struct sq_row_cache rows;
};

static struct sq_row_cache *rows_of(struct sq_store *st)
{
    return &st->rc->rows;
}

static size_t rt_bucket(const void *rd, int64_t rowid)
{
    uint64_t h = ((uint64_t)rowid ^ ((uint64_t)(uintptr_t)rd >> 4)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 47) & (SQ_RC_BUCKETS - 1);
}

static size_t rt_charge(const struct sq_rtext *e)
{
    return sizeof(*e) + e->len;
}

int sq_render_cache_init(struct sq_store *st)
{
    struct sq_render_cache *rc = calloc(1, sizeof(*rc));
    if (rc)
        rc->seen = calloc(SQ_RC_SEEN_BITS / 64, sizeof(*rc->seen));
    if (!rc || !rc->seen || pthread_rwlock_init(&rc->lock, NULL) != 0) {
        if (rc)
            free((void *)rc->seen);
        free(rc);
        st->rc = NULL;
        return -1;
    }
    pthread_mutex_init(&rc->rows.mu, NULL);
    atomic_init(&rc->nseen, 0);
    st->rc = rc;
    return 0;
}

static void rt_free_list(struct sq_rtext *e)
{
    while (e) {
        struct sq_rtext *next = e->qnext;
        free(e);
        e = next;
    }
}

void sq_render_cache_free(struct sq_store *st)
{
    struct sq_render_cache *rc = st->rc;
    if (!rc)
        return;
    rt_free_list(rc->qhead);
    free(rc->buckets);
    free((void *)rc->seen);
    for (int i = 0; i < SQ_ROW_SLOTS; i++)
        free(rc->rows.slot[i].strs);
    pthread_mutex_destroy(&rc->rows.mu);
    pthread_rwlock_destroy(&rc->lock);
    free(rc);
    st->rc = NULL;
}

void sq_render_rdlock(struct sq_store *st)
{
    pthread_rwlock_rdlock(&st->rc->lock);
}

void sq_render_unlock(struct sq_store *st)
{
    pthread_rwlock_unlock(&st->rc->lock);
}

/* Whether (rd, rowid) was rendered before (since the doorkeeper was last emptied); marks
 * it rendered. */
static bool rt_seen_before(struct sq_render_cache *rc, const void *rd, int64_t rowid)
{
    uint64_t h = ((uint64_t)rowid ^ ((uint64_t)(uintptr_t)rd >> 4)) * 0xD6E8FEB86659FD93ull;
    size_t bit = (size_t)(h >> 40) & (SQ_RC_SEEN_BITS - 1);
    uint64_t mask = 1ull << (bit & 63);
    uint64_t old = atomic_fetch_or_explicit(&rc->seen[bit / 64], mask, memory_order_relaxed);
    if (old & mask)
        return true;
    if (atomic_fetch_add_explicit(&rc->nseen, 1, memory_order_relaxed) + 1 == SQ_RC_SEEN_BITS / 4) {
        /* one thread gets here per round: empty it */
        for (size_t i = 0; i < SQ_RC_SEEN_BITS / 64; i++)
            atomic_store_explicit(&rc->seen[i], 0, memory_order_relaxed);
        atomic_store_explicit(&rc->nseen, 0, memory_order_relaxed);
    }
    return false;
}

bool sq_render_get(struct sq_store *st, uint64_t gen, int64_t org_num, const void *rd,
                   int64_t rowid, struct roster_buf *out, bool *admit)
{
    struct sq_render_cache *rc = st->rc;
    if (rc->gen == gen && rc->buckets) {
        for (struct sq_rtext *e = rc->buckets[rt_bucket(rd, rowid)]; e; e = e->hnext) {
            if (e->rowid != rowid || e->rd != rd)
                continue;
            if (e->org_num != org_num)
                break; /* cannot happen (a rowid is one row); never hand it out */
            roster_buf_add(out, e->text, e->len);
            if (!atomic_load_explicit(&e->hit, memory_order_relaxed))
                atomic_store_explicit(&e->hit, true, memory_order_relaxed);
            return true;
        }
    }
    *admit = rt_seen_before(rc, rd, rowid);
    return false;
}

/* Unlinks e from its hash chain (write lock held). */
static void rt_unhash(struct sq_render_cache *rc, struct sq_rtext *e)
{
    for (struct sq_rtext **p = &rc->buckets[rt_bucket(e->rd, e->rowid)]; *p; p = &(*p)->hnext) {
        if (*p == e) {
            *p = e->hnext;
            return;
        }
    }
}

void sq_render_put(struct sq_store *st, uint64_t gen, int64_t org_num, const void *rd,
                   const char *base, const struct sq_rendered *v, size_t n)
{
    struct sq_render_cache *rc = st->rc;
    struct sq_rtext *dead = NULL, *dead_tail = NULL;
    if (!n)
        return;
    pthread_rwlock_wrlock(&rc->lock);
    if (gen < rc->gen)
        goto out; /* a newer generation is kept: this text is already void */
    if (gen > rc->gen) {
        /* drop everything: older generations are never valid again */
        for (struct sq_rtext *e = rc->qhead; e; e = e->qnext)
            rc->buckets[rt_bucket(e->rd, e->rowid)] = NULL;
        dead = rc->qhead;
        dead_tail = rc->qtail;
        rc->qhead = rc->qtail = NULL;
        rc->bytes = rc->count = 0;
        rc->gen = gen;
    }
    if (!rc->buckets && !(rc->buckets = calloc(SQ_RC_BUCKETS, sizeof(*rc->buckets))))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (v[i].len > SQ_RC_MAX_TEXT)
            continue;
        size_t b = rt_bucket(rd, v[i].rowid);
        bool have = false;
        for (struct sq_rtext *e = rc->buckets[b]; e && !have; e = e->hnext)
            have = e->rowid == v[i].rowid && e->rd == rd;
        if (have)
            continue; /* another reader of this generation put it: the same text */
        struct sq_rtext *e = malloc(sizeof(*e) + v[i].len);
        if (!e)
            break;
        e->rd = rd;
        e->rowid = v[i].rowid;
        e->org_num = org_num;
        atomic_init(&e->hit, false);
        e->len = (uint32_t)v[i].len;
        memcpy(e->text, base + v[i].off, v[i].len);
        e->hnext = rc->buckets[b];
        rc->buckets[b] = e;
        e->qnext = NULL;
        if (rc->qtail)
            rc->qtail->qnext = e;
        else
            rc->qhead = e;
        rc->qtail = e;
        rc->bytes += rt_charge(e);
        rc->count++;
    }
    /* evict in insertion order; an entry hit since it was queued goes to the back once */
    while (rc->bytes > SQ_RC_MAX_BYTES && rc->qhead) {
        struct sq_rtext *e = rc->qhead;
        rc->qhead = e->qnext;
        if (!rc->qhead)
            rc->qtail = NULL;
        e->qnext = NULL;
        if (atomic_load_explicit(&e->hit, memory_order_relaxed) && rc->qhead) {
            atomic_store_explicit(&e->hit, false, memory_order_relaxed);
            rc->qtail->qnext = e;
            rc->qtail = e;
            continue;
        }
        rt_unhash(rc, e);
        rc->bytes -= rt_charge(e);
        rc->count--;
        if (dead_tail)
            dead_tail->qnext = e;
        else
            dead = e;
        dead_tail = e;
    }
out:
    pthread_rwlock_unlock(&rc->lock);
    rt_free_list(dead);
}

/* --- organisations and API keys read inside a read span ---
 *
 * A request in a read span reads its API key (by hash) and its organisation (the Concur
 * company block) before its list; both are kept here, tagged with the span's generation
 * and handed out only to a span of the same generation whose connection saw no outside
 * change: the same rules as the lists and texts above, so a revoked key or a changed
 * company block shows in the first span that begins after the write was acknowledged.
 * A few slots (most recently used kept), under a mutex; a miss reads SQLite as usual. */

static const char *arena_copy(struct roster_arena *a, const char *s)
{
    return s ? roster_arena_strdup(a, s) : NULL;
}

/* The slot of (is_key, name), or NULL (mu held). */
static struct sq_row_slot *row_find(struct sq_row_cache *rc, bool is_key, const char *name)
{
    for (int i = 0; i < SQ_ROW_SLOTS; i++) {
        struct sq_row_slot *s = &rc->slot[i];
        if (s->used && s->is_key == is_key && strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

/* A free or the least recently used slot, emptied, for generation gen (mu held); NULL when
 * gen is older than what is kept. */
static struct sq_row_slot *row_slot_for(struct sq_row_cache *rc, uint64_t gen)
{
    if (gen < rc->gen)
        return NULL;
    if (gen > rc->gen) {
        for (int i = 0; i < SQ_ROW_SLOTS; i++) {
            free(rc->slot[i].strs);
            memset(&rc->slot[i], 0, sizeof(rc->slot[i]));
        }
        rc->gen = gen;
    }
    struct sq_row_slot *s = &rc->slot[0];
    for (int i = 0; i < SQ_ROW_SLOTS && s->used; i++)
        if (!rc->slot[i].used || rc->slot[i].clock < s->clock)
            s = &rc->slot[i];
    free(s->strs);
    memset(s, 0, sizeof(*s));
    return s;
}

/* Copies the n strings *p[i] into one block owned by the slot and points them at it. */
static bool row_own(struct sq_row_slot *s, const char **p[], int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += *p[i] ? strlen(*p[i]) + 1 : 0;
    s->strs = malloc(len ? len : 1);
    if (!s->strs)
        return false;
    char *d = s->strs;
    for (int i = 0; i < n; i++) {
        if (!*p[i])
            continue;
        size_t k = strlen(*p[i]) + 1;
        memcpy(d, *p[i], k);
        *p[i] = d;
        d += k;
    }
    return true;
}

bool sq_span_key_get(struct sq_store *st, uint64_t gen, const char *hash, struct roster_key *out,
                     struct roster_arena *a)
{
    struct sq_row_cache *rc = rows_of(st);
    bool hit = false;
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = rc->gen == gen ? row_find(rc, true, hash) : NULL;
    if (s) {
        *out = s->v.key;
        out->name = arena_copy(a, s->v.key.name);
        s->clock = ++rc->clock;
        hit = true;
    }
    pthread_mutex_unlock(&rc->mu);
    return hit;
}

void sq_span_key_put(struct sq_store *st, uint64_t gen, const struct roster_key *k)
{
    struct sq_row_cache *rc = rows_of(st);
    if (strlen(k->hash) >= sizeof(rc->slot[0].name))
        return;
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = row_find(rc, true, k->hash);
    if (!s || rc->gen != gen)
        s = row_slot_for(rc, gen);
    else
        s = NULL; /* already kept for this generation */
    if (s) {
        s->v.key = *k;
        const char **p[] = {&s->v.key.name};
        if (row_own(s, p, 1)) {
            s->used = true;
            s->is_key = true;
            snprintf(s->name, sizeof(s->name), "%s", k->hash);
            s->clock = ++rc->clock;
        }
    }
    pthread_mutex_unlock(&rc->mu);
}

bool sq_span_org_get(struct sq_store *st, uint64_t gen, const char *org_id, struct roster_org *out,
                     struct roster_arena *a)
{
    struct sq_row_cache *rc = rows_of(st);
    bool hit = false;
    if (!org_id)
        return false;
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = rc->gen == gen ? row_find(rc, false, org_id) : NULL;
    if (s) {
        const struct roster_org *o = &s->v.org;
        *out = *o;
        out->name = arena_copy(a, o->name);
        out->address = arena_copy(a, o->address);
        out->city = arena_copy(a, o->city);
        out->region = arena_copy(a, o->region);
        out->zip = arena_copy(a, o->zip);
        out->country = arena_copy(a, o->country);
        s->clock = ++rc->clock;
        hit = true;
    }
    pthread_mutex_unlock(&rc->mu);
    return hit;
}

void sq_span_org_put(struct sq_store *st, uint64_t gen, const struct roster_org *o)
{
    struct sq_row_cache *rc = rows_of(st);
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = row_find(rc, false, o->id);
    if (!s || rc->gen != gen)
        s = row_slot_for(rc, gen);
    else
        s = NULL;
    if (s) {
        s->v.org = *o;
        struct roster_org *v = &s->v.org;
        const char **p[] = {&v->name, &v->address, &v->city, &v->region, &v->zip, &v->country};
        if (row_own(s, p, 6)) {
            s->used = true;
            s->is_key = false;
            snprintf(s->name, sizeof(s->name), "%s", o->id);
            s->clock = ++rc->clock;
        }
    }
    pthread_mutex_unlock(&rc->mu);
}
