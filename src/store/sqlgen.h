/* The one translator of list queries (include/roster/query.h) into SQL, shared by the
 * SQLite and PostgreSQL backends: filters, the free-text search, membership conditions,
 * the order, positions to resume from (keyset) and pages, as text with numbered
 * parameters whose values are collected here and bound by each backend its own way. The
 * two flavours differ only in placeholders and a few spellings, and in where SQLite keeps
 * the indexes of rarely set text fields (the user_sparse table: an index on users costs
 * every insert, also of users without the field). docs/lists.md lists the access path of
 * every filter and order. Backend-private (include only from src/store/).
 */
#ifndef ROSTER_STORE_SQLGEN_H
#define ROSTER_STORE_SQLGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/query.h"
#include "roster/user.h"
#include "roster/util.h"

enum sg_flavor { SG_SQLITE, SG_PG };
enum sg_vtype { SG_INT, SG_TEXT };

struct sg_val {
    int type; /* enum sg_vtype */
    int64_t i;
    const char *s; /* SG_TEXT: NULL is SQL NULL */
};

/* A statement being written: its text and the values of its parameters 1..nvals. */
struct sg {
    int flavor;
    struct roster_buf sql;
    struct sg_val *vals;
    size_t nvals, cap;
    struct roster_arena *a;
    size_t org_param; /* the parameter that holds the organisation (0: none yet) */
};

void sg_init(struct sg *g, int flavor, struct roster_arena *a);
void sg_release(struct sg *g);
/* Adds a parameter with value v without writing its placeholder; returns its number. */
size_t sg_add(struct sg *g, struct sg_val v);
/* Appends the placeholder of a new parameter with that value to the text. */
void sg_int(struct sg *g, int64_t v);
void sg_text(struct sg *g, const char *s);
/* Appends the placeholder of an existing parameter n again. */
void sg_ref(struct sg *g, size_t n);

/* Whether field key is one of the rarely set text fields that SQLite indexes in its
 * user_sparse table (and PostgreSQL with partial indexes on users). */
bool sg_sparse(int key);

/* The organisation of a statement: SQLite binds its num_id, PostgreSQL looks its id up in
 * the statement (one round trip). */
struct sg_org {
    int64_t num; /* used when id is NULL */
    const char *id;
};

/* What to write for a user list. */
enum sg_what {
    SG_PAGE,  /* the users columns (SG_USER_COLUMNS order) of rows in the list's order */
    SG_COUNT, /* SELECT count(*) */
};

/* The column list of a SG_PAGE statement, as read by the backends' row readers:
 * num_id, id, then the roster_ufields columns, state, created_ms, modified_ms, version. */
void sg_user_columns(struct roster_buf *b, int flavor, const char *alias);

/* The columns of a whole users row as an INSERT or a COPY names them: num_id (with num_id),
 * id, org_num, the roster_ufields columns, state, created_ms, modified_ms, version. */
void sg_user_row_columns(struct roster_buf *b, bool num_id);

/* The number of statements ("segments") that list q in order, one after the other: an
 * order on a field whose index holds no NULLs (or on the state, whose index holds only
 * the inactive states) is read as one range per part. Counting is always one statement. */
int sg_segments(const struct roster_query *q, int flavor);
/* The segment that user u falls in (0 .. sg_segments - 1). */
int sg_segment_of(const struct roster_query *q, int flavor, const struct roster_user *u);
/* Whether positions in q's order can be resumed from a row (keyset): at most one sort
 * key. Otherwise a page is read with OFFSET from the start of its segment. */
bool sg_keyset_ok(const struct roster_query *q);

/* Writes, into g (fresh), the statement for segment seg of q: SG_COUNT (seg ignored: the
 * whole list) or SG_PAGE; with after (keyset_ok only, after in segment seg), only the rows
 * that follow after in q's order. The caller appends the page (sg_page). ROSTER_EINVAL for
 * an unknown key or operator. */
int sg_user_list(struct sg *g, const struct roster_query *q, const struct sg_org *org, int what,
                 int seg, const struct roster_user *after, struct roster_err *err);
/* Appends " LIMIT ? OFFSET ?" (limit < 0: no limit). */
void sg_page(struct sg *g, int64_t limit, int64_t skip);
/* A page read segment by segment: after segment g (its statement base, with nbase values,
 * then sg_page) gave got rows, *skip and *remaining (< 0: no limit) move on. Returns true
 * when the segment ended before the page began (no rows while *skip > 0): g is then
 * SELECT count(*) FROM (base LIMIT *skip), how much of the skip the segment took, which
 * the caller runs and subtracts from *skip. */
bool sg_segment_next(struct sg *g, const char *base, size_t nbase, size_t got, int64_t *skip,
                     int64_t *remaining);

/* Filters of a list of another table (scheduled changes): " AND tab.<col> <op> <value>"
 * for each filter, columns from column(key) (NULL: ROSTER_EINVAL via
 * roster_store_not_filterable with what). */
int sg_filters(struct sg *g, const struct roster_query *q, const char *tab,
               const char *(*column)(int key), const char *what, struct roster_err *err);

/* The rows a page of limit users is read into, allocated once: one array for the page, not
 * one per doubling (limit < 0: no limit, started at 64 rows and grown). */
static inline size_t sg_page_cap(int64_t limit)
{
    return limit < 0 ? 64 : limit < 1000 ? (size_t)limit : 1000;
}

#endif
