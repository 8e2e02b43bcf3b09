/* SQLite store: read spans (one read transaction for a request's key, organisation and
 * list) and the API keys and organisations kept for them.
 *
 * DESIGN
 * - Validity: a store-wide write generation (st->list_gen). The commit hook of every
 *   connection of this process (sq_wal_hook, which SQLite calls after the commit is
 *   visible and before the writer's call returns) bumps it, and so does a reader that sees
 *   the file changed behind its back (PRAGMA data_version differs from what its connection
 *   saw last: another process, e.g. an offline CLI command, committed). A span reads the
 *   generation BEFORE its snapshot begins; a key or organisation is kept tagged with that
 *   generation and handed out only to a span of the same generation whose connection saw
 *   no outside change. So nothing older than a write acknowledged before the span began is
 *   ever handed out: that write bumped the generation before it was acknowledged.
 * - User lists are not kept here: core keeps them (src/core/lists.c), brought up to date
 *   by the change records the store writes with every user write (sqlite_lists.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

void sq_spans_init(struct sq_store *st)
{
    atomic_init(&st->list_gen, 1);
    pthread_mutex_init(&st->rows.mu, NULL);
}

void sq_spans_free(struct sq_store *st)
{
    for (int i = 0; i < SQ_ROW_SLOTS; i++)
        free(st->rows.slot[i].strs);
    pthread_mutex_destroy(&st->rows.mu);
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

/* The strings of v, a kept row (an API key when is_key, else an organisation), into p; how
 * many (SPAN_STRS at most). */
#define SPAN_STRS 6
static int row_strs(bool is_key, void *v, const char **p[SPAN_STRS])
{
    if (is_key) {
        p[0] = &((struct roster_key *)v)->name;
        return 1;
    }
    struct roster_org *o = v;
    const char **strs[SPAN_STRS] = {&o->name,   &o->address, &o->city,
                                    &o->region, &o->zip,     &o->country};
    memcpy(p, strs, sizeof(strs));
    return SPAN_STRS;
}

static size_t row_size(bool is_key)
{
    return is_key ? sizeof(struct roster_key) : sizeof(struct roster_org);
}

bool sq_span_get(struct sq_store *st, uint64_t gen, bool is_key, const char *name, void *out,
                 struct roster_arena *a)
{
    struct sq_row_cache *rc = &st->rows;
    bool hit = false;
    if (!name)
        return false;
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = rc->gen == gen ? row_find(rc, is_key, name) : NULL;
    if (s) {
        memcpy(out, &s->v, row_size(is_key));
        const char **p[SPAN_STRS];
        for (int i = 0, n = row_strs(is_key, out, p); i < n; i++)
            *p[i] = arena_copy(a, *p[i]);
        s->clock = ++rc->clock;
        hit = true;
    }
    pthread_mutex_unlock(&rc->mu);
    return hit;
}

void sq_span_put(struct sq_store *st, uint64_t gen, bool is_key, const void *row)
{
    struct sq_row_cache *rc = &st->rows;
    const char *name =
        is_key ? ((const struct roster_key *)row)->hash : ((const struct roster_org *)row)->id;
    if (strlen(name) >= sizeof(rc->slot[0].name))
        return;
    pthread_mutex_lock(&rc->mu);
    struct sq_row_slot *s = row_find(rc, is_key, name);
    if (!s || rc->gen != gen)
        s = row_slot_for(rc, gen);
    else
        s = NULL; /* already kept for this generation */
    if (s) {
        memcpy(&s->v, row, row_size(is_key));
        const char **p[SPAN_STRS];
        int n = row_strs(is_key, &s->v, p);
        if (row_own(s, p, n)) {
            s->used = true;
            s->is_key = is_key;
            snprintf(s->name, sizeof(s->name), "%s", name);
            s->clock = ++rc->clock;
        }
    }
    pthread_mutex_unlock(&rc->mu);
}
