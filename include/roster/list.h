/* User lists as core sees them: whether a user belongs to a list and where it sorts (the
 * same answers the stores' SQL gives, so that a list kept in memory can be brought up to
 * date by the changes a store records), the change records themselves, and the one core
 * operation through which every dialect lists users (src/core/lists.c). docs/lists.md has
 * the design: access paths, what is kept per list, and why it is never stale.
 */
#ifndef ROSTER_LIST_H
#define ROSTER_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/query.h"
#include "roster/user.h"
#include "roster/util.h"

/* --- matching and ordering (src/core/list_eval.c) --- */

/* Whether u (with its memberships groups[0..ngroups), ascending group num_ids) is in the
 * list q: every filter, the expression, the free-text search and every membership condition hold.
 */
bool roster_list_match(const struct roster_query *q, const struct roster_user *u,
                       const int64_t *groups, size_t ngroups);
/* <0, 0, >0 as a sorts before, with or after b in q's order (0 only for the same id). */
int roster_list_cmp(const struct roster_query *q, const struct roster_user *a,
                    const struct roster_user *b);
/* Whether user u satisfies the expression n (include/roster/query.h), as the SQL does. */
bool roster_qnode_match(const struct roster_qnode *n, const struct roster_user *u);
/* Text that names the list q (filters, expression, search, membership conditions, order;
 * not the page): two queries with the same text list the same users in the same order. */
char *roster_list_key(const struct roster_query *q, struct roster_arena *a, size_t *len);
/* Whether the key field of a list is a text compared ignoring ASCII case (username and
 * email in sorts). */
bool roster_list_key_ci(int key);
/* Compares a and b (NUL-terminated) as lower(a) and lower(b) bytewise, ASCII letters folded only
 * (SQLite's NOCASE, PostgreSQL's lower() under "C"). */
int roster_ascii_casecmp(const char *a, const char *b);

/* --- change records --- */

/* What a store records, in the same transaction, with every write that can change a user
 * list of an organisation; each write bumps the organisation's list version (ver). */
enum roster_change_kind {
    ROSTER_CHANGE_USER = 0,  /* one user: before and/or after image */
    ROSTER_CHANGE_RESET = 1, /* anything (a bulk write, a group deleted): forget every list */
};

struct roster_change {
    int64_t ver;
    int kind;
    /* the user before and after the write (NULL: did not exist / no longer exists); only
     * what a list can test or sort on is carried: id, num_id, state, created_ms,
     * modified_ms, version and the text fields (f[] of RU_KIND_STR) */
    const struct roster_user *before, *after;
    const int64_t *groups_before, *groups_after; /* memberships, ascending num_ids */
    size_t ngroups_before, ngroups_after;
};

/* The payload text of a USER change (ver and kind are kept beside it): encoded by the
 * stores (src/store/store_changes.c). */
void roster_change_encode(const struct roster_change *c, struct roster_buf *out);
/* Decodes a payload into c (strings in a); ROSTER_EINVAL when it is not one. */
int roster_change_decode(const char *text, size_t len, struct roster_change *c,
                         struct roster_arena *a, struct roster_err *err);

/* --- the core list operation (src/core/lists.c) --- */

/* How a user is turned into text by roster_users_list (a dialect's encoding of a user). A
 * static object: the text of a page may be kept under its address. render appends the
 * text of u to out (a for scratch); the text must depend on nothing but u. */
struct roster_user_render {
    void (*render)(const struct roster_user *u, struct roster_buf *out, struct roster_arena *a);
};

struct roster_list_result {
    struct roster_user *rows; /* without a renderer: the page, in the request's arena */
    size_t n;                 /* users in the page */
    int64_t total;            /* every match when q->want_total, else -1 */
};

struct roster_ctx;
struct roster_lists;

/* One page of the list q (q->skip, q->limit; limit < 0: every row) of ctx's organisation,
 * and its total when q->want_total. With rd, the users are rendered by rd into out with
 * sep between two of them and res->rows is NULL; without, res->rows holds them. Reads one
 * snapshot; never older than a write acknowledged before the call. */
int roster_users_list(struct roster_ctx *ctx, const struct roster_query *q,
                      const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                      struct roster_list_result *res, struct roster_err *err);

/* The per-process list state of app (totals, positions and pages of lists, brought up to
 * date by the store's change records); NULL lists are listed straight from the store. */
#define ROSTER_LISTS_MAX_BYTES (256u * 1024u * 1024u)
struct roster_lists *roster_lists_new(size_t max_bytes);
void roster_lists_free(struct roster_lists *l);
struct roster_lists_stats {
    uint64_t hits, misses, resets, changes_applied, pages_dropped;
    size_t entries, bytes;
};
void roster_lists_stats(struct roster_lists *l, struct roster_lists_stats *out);

/* --- a scan of a whole list in one snapshot (src/core/scan.c) --- */

#define ROSTER_SCAN_PAGE_DEFAULT 2000
/* Called with each page of a scan; rows are valid until it returns. Nonzero stops the
 * scan, which returns that code (err set by fn). */
typedef int (*roster_users_scan_fn)(void *arg, const struct roster_user *rows, size_t n,
                                    struct roster_err *err);
/* Every user of the list q (filters, search, membership conditions; no sort keys: the
 * order is the id; q's skip and limit are ignored) of ctx's organisation, handed to fn a
 * page of page_size users (0: ROSTER_SCAN_PAGE_DEFAULT) at a time. Every page is read in
 * one snapshot (SQLite: one read transaction; PostgreSQL: REPEATABLE READ), each a keyset
 * range after the last id of the page before (no OFFSET), so memory is two pages whatever
 * the number of users and the rows are one state of the organisation while writes go on.
 * total (may be NULL): the number of users of the list in that snapshot, set before the
 * first call of fn. ROSTER_EINVAL for a q with sort keys. */
int roster_users_scan(struct roster_ctx *ctx, const struct roster_query *q, size_t page_size,
                      int64_t *total, roster_users_scan_fn fn, void *arg, struct roster_err *err);

#endif
