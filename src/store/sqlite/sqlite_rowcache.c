/* SQLite store: the user row cache. A page of a cached list (sqlite_users.c) is `limit`
 * primary-key look-ups, and each costs 3-5 us of SQLite work (statement step, record
 * decoding, a copy of every column): for GetUsers' pages of 100 that was most of a
 * request. This cache keeps a copy of users read by those pages, one heap block each, and
 * a later page copies the block into its arena with one memcpy.
 *
 * DESIGN
 * - Validity: the list cache's write generation (sqlite_listcache.c explains it). A row is
 *   tagged with the generation its reader read before its snapshot began, and is used only
 *   by a reader that read the same generation and saw no outside change (fresh), exactly as
 *   a list entry. Every commit to the main file moves the generation, so a write to a user,
 *   its memberships or anything else makes every cached row invalid at once; nothing here
 *   tracks which rows a write touched.
 * - Layout: a direct-mapped table of SQ_RC_SLOTS slots indexed by num_id (consecutive ids
 *   never collide); a put replaces what the slot held. Rows of an older generation are
 *   freed when their slot is reused, or all at once when the byte budget is reached.
 * - Tenant isolation: a row also carries its org_num and answers only a reader of that
 *   organisation (the rowids come from org-scoped lists anyway).
 * - Threads: one mutex per store; a get copies every hit of a page under one lock.
 */
#include <stdlib.h>
#include <string.h>

#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

#define SQ_RC_SLOTS (1u << 17)
#define SQ_RC_MAX_BYTES (64u * 1024u * 1024u)
#define RC_NULL UINT32_MAX

struct sq_rc_row {
    uint64_t gen;
    int64_t org_num;
    int64_t num_id;
    char id[ROSTER_ID_LEN + 1];
    int state;
    int64_t created_ms, modified_ms, version;
    uint32_t off[RU_NFIELDS]; /* offset of field i in data, RC_NULL for NULL */
    size_t len;               /* bytes of data */
    char data[];              /* the fields' text, each NUL-terminated */
};

struct sq_urow_cache {
    pthread_mutex_t mu;
    struct sq_rc_row **slots;
    size_t bytes;     /* of every row held */
    uint64_t top_gen; /* the newest generation put */
    size_t top_bytes; /* of the rows of top_gen */
};

static size_t row_size(const struct sq_rc_row *r)
{
    return sizeof(*r) + r->len;
}

int sq_urow_init(struct sq_store *st)
{
    struct sq_urow_cache *rc = calloc(1, sizeof(*rc));
    if (!rc)
        return -1;
    rc->slots = calloc(SQ_RC_SLOTS, sizeof(*rc->slots));
    if (!rc->slots) {
        free(rc);
        return -1;
    }
    pthread_mutex_init(&rc->mu, NULL);
    st->urows = rc;
    return 0;
}

void sq_urow_free(struct sq_store *st)
{
    struct sq_urow_cache *rc = st->urows;
    if (!rc)
        return;
    for (size_t i = 0; i < SQ_RC_SLOTS; i++)
        free(rc->slots[i]);
    free(rc->slots);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
    st->urows = NULL;
}

static void copy_out(const struct sq_rc_row *r, const char *org_id, struct roster_user *u,
                     struct roster_arena *a)
{
    memset(u, 0, sizeof(*u));
    char *data = r->len ? roster_arena_alloc(a, r->len) : NULL;
    if (r->len)
        memcpy(data, r->data, r->len);
    u->num_id = r->num_id;
    memcpy(u->id, r->id, sizeof(r->id));
    size_t ol = strnlen(org_id, ROSTER_ID_LEN);
    memcpy(u->org_id, org_id, ol);
    u->org_id[ol] = '\0';
    for (int i = 0; i < RU_NFIELDS; i++)
        u->f[i] = r->off[i] == RC_NULL ? NULL : data + r->off[i];
    u->state = r->state;
    u->created_ms = r->created_ms;
    u->modified_ms = r->modified_ms;
    u->version = r->version;
}

size_t sq_urow_get(struct sq_store *st, uint64_t gen, int64_t org_num, const char *org_id,
                   const int64_t *rowids, size_t n, struct roster_user *out, bool *hit,
                   struct roster_arena *a)
{
    struct sq_urow_cache *rc = st->urows;
    size_t hits = 0;
    memset(hit, 0, n * sizeof(*hit));
    if (!rc)
        return 0;
    pthread_mutex_lock(&rc->mu);
    for (size_t i = 0; i < n; i++) {
        const struct sq_rc_row *r = rc->slots[(uint64_t)rowids[i] & (SQ_RC_SLOTS - 1)];
        if (!r || r->num_id != rowids[i] || r->gen != gen || r->org_num != org_num)
            continue;
        copy_out(r, org_id, &out[i], a);
        hit[i] = true;
        hits++;
    }
    pthread_mutex_unlock(&rc->mu);
    return hits;
}

/* Frees the row of a slot (mu held). */
static void drop(struct sq_urow_cache *rc, struct sq_rc_row **slot)
{
    rc->bytes -= row_size(*slot);
    if ((*slot)->gen == rc->top_gen)
        rc->top_bytes -= row_size(*slot);
    free(*slot);
    *slot = NULL;
}

/* Frees every row older than top_gen (mu held): one pass over the table, only when the
 * budget is reached and such rows exist. */
static void drop_old(struct sq_urow_cache *rc)
{
    for (size_t i = 0; i < SQ_RC_SLOTS && rc->bytes > rc->top_bytes; i++)
        if (rc->slots[i] && rc->slots[i]->gen != rc->top_gen)
            drop(rc, &rc->slots[i]);
}

void sq_urow_put(struct sq_store *st, uint64_t gen, int64_t org_num,
                 const struct roster_user *users, size_t n)
{
    struct sq_urow_cache *rc = st->urows;
    if (!rc || n == 0)
        return;
    /* build the rows outside the lock */
    struct sq_rc_row **rows = calloc(n, sizeof(*rows));
    if (!rows)
        return;
    for (size_t k = 0; k < n; k++) {
        const struct roster_user *u = &users[k];
        size_t len = 0;
        for (int i = 0; i < RU_NFIELDS; i++)
            if (u->f[i])
                len += strlen(u->f[i]) + 1;
        if (len >= RC_NULL)
            continue;
        struct sq_rc_row *r = malloc(sizeof(*r) + len);
        if (!r)
            continue;
        r->gen = gen;
        r->org_num = org_num;
        r->num_id = u->num_id;
        memcpy(r->id, u->id, sizeof(r->id));
        r->state = u->state;
        r->created_ms = u->created_ms;
        r->modified_ms = u->modified_ms;
        r->version = u->version;
        r->len = len;
        size_t off = 0;
        for (int i = 0; i < RU_NFIELDS; i++) {
            if (!u->f[i]) {
                r->off[i] = RC_NULL;
                continue;
            }
            size_t fl = strlen(u->f[i]) + 1;
            memcpy(r->data + off, u->f[i], fl);
            r->off[i] = (uint32_t)off;
            off += fl;
        }
        rows[k] = r;
    }
    pthread_mutex_lock(&rc->mu);
    if (gen > rc->top_gen) {
        rc->top_gen = gen;
        rc->top_bytes = 0;
    }
    for (size_t k = 0; k < n; k++) {
        struct sq_rc_row *r = rows[k];
        if (!r)
            continue;
        struct sq_rc_row **slot = &rc->slots[(uint64_t)r->num_id & (SQ_RC_SLOTS - 1)];
        if (*slot && (*slot)->gen > gen) {
            free(r); /* a newer generation is cached there: keep it */
            continue;
        }
        if (*slot)
            drop(rc, slot);
        if (rc->bytes + row_size(r) > SQ_RC_MAX_BYTES && gen == rc->top_gen)
            drop_old(rc);
        if (rc->bytes + row_size(r) > SQ_RC_MAX_BYTES) {
            free(r); /* full of rows of newer or this generation */
            continue;
        }
        *slot = r;
        rc->bytes += row_size(r);
        if (gen == rc->top_gen)
            rc->top_bytes += row_size(r);
    }
    pthread_mutex_unlock(&rc->mu);
    free(rows);
}
