/* The user list reads both store backends run the same way (store_lists.c): a page read
 * segment by segment (sqlgen.h's segments, skip and keyset), a count, the plans of a list;
 * the backend runs each statement and reads its rows through a struct sl_runner.
 * Backend-private (include only from src/store/).
 */
#ifndef ROSTER_STORE_LISTS_H
#define ROSTER_STORE_LISTS_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/query.h"
#include "roster/user.h"
#include "roster/util.h"
#include "store/sqlgen.h"

/* The users of a page being read, in an array of a that grows. */
struct sl_page {
    struct roster_user *v;
    size_t n, cap;
    struct roster_arena *a;
};
/* Where to read the page's next user into. */
struct roster_user *sl_page_add(struct sl_page *p);

/* How a backend runs the statements of a list read; each returns 0 or a store error.
 * rows: g's statement, a page of one segment (first: the first segment read), its users
 * read into p (sl_page_add) and *got of them.
 * count: g's statement, a SELECT count(*), into *n.
 * plan: the plan of g's statement, whose text with explain before it is sql, appended to
 * out, one "  <line>\n" a line. */
struct sl_runner {
    int (*rows)(void *ctx, const struct sg *g, bool first, struct sl_page *p, size_t *got,
                struct roster_err *err);
    int (*count)(void *ctx, const struct sg *g, int64_t *n, struct roster_err *err);
    int (*plan)(void *ctx, const struct sg *g, const char *sql, struct roster_buf *out,
                struct roster_err *err);
    const char *explain;
    void *ctx;
};

/* user_page of the organisation org_num once it is found and the keyset checked: the page
 * of q's list (after: from the row after it; else skip rows, < 0 is 0) of limit users (< 0:
 * no limit), read segment by segment with run's rows, and count where a segment ends before
 * the page begins. *out and *n: the users (NULL and 0 on failure). */
int sl_user_page(const struct sl_runner *run, int flavor, int64_t org_num,
                 const struct roster_query *q, const struct roster_user *after, int64_t skip,
                 int64_t limit, struct roster_arena *a, struct roster_user **out, size_t *n,
                 struct roster_err *err);
/* user_count: the count statement of q's list of org_num, run by run's count. */
int sl_user_count(const struct sl_runner *run, int flavor, int64_t org_num,
                  const struct roster_query *q, int64_t *count, struct roster_err *err);
/* list_plan: "segment <n>: <statement>\n" then run's plan of it, for each segment a page
 * of q's list reads (from after's on; count: the one count statement), into *plan. */
int sl_list_plan(const struct sl_runner *run, int flavor, int64_t org_num,
                 const struct roster_query *q, const struct roster_user *after, bool count,
                 struct roster_arena *a, const char **plan, struct roster_err *err);

#endif
