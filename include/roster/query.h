/* Filters, sorting and paging of user lists as a small AST. Dialects parse their query
 * syntax into it (with the generic <field>:<operator>:<value> parser below and a table of
 * the field names they expose); store backends translate it into SQL.
 */
#ifndef ROSTER_QUERY_H
#define ROSTER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/user.h"

/* Queryable keys: every string field of enum roster_ufield, plus these. */
enum roster_qkey {
    RQ_ID = RU_NFIELDS, /* 24-hex object id */
    RQ_NUM_ID,          /* integer */
    RQ_STATE,           /* integer enum roster_state */
    RQ_CREATED,         /* ms since epoch */
    RQ_MODIFIED,        /* ms since epoch */
    /* keys of scheduled state changes (schedule_list); RQ_ID and RQ_STATE apply there too */
    RQ_USER_ID, /* the 24-hex user a schedule is for */
    RQ_DUE,     /* ms since epoch: when a schedule is due */
    RQ_NKEYS
};
bool roster_qkey_is_int(int key); /* RQ_NUM_ID, RQ_STATE, RQ_CREATED, RQ_MODIFIED, RQ_DUE */

enum roster_op {
    ROSTER_OP_EQ,
    ROSTER_OP_NE,
    ROSTER_OP_GT,
    ROSTER_OP_GE,
    ROSTER_OP_LT,
    ROSTER_OP_LE,
    ROSTER_OP_BETWEEN,  /* two values: lo, hi (inclusive) */
    ROSTER_OP_SEARCH,   /* case-insensitive substring */
    ROSTER_OP_IN,       /* one or more values */
    ROSTER_OP_PREFIX,   /* eq with a trailing '*' wildcard: value is the prefix */
    ROSTER_OP_CONTAINS, /* substring (case as the filter's ci says; SEARCH is always ci) */
    ROSTER_OP_SUFFIX,   /* the value ends the field */
    ROSTER_OP_PRESENT,  /* no value: the field is set and not empty (integer keys: always) */
};

struct roster_qval {
    const char *s; /* the text value (string keys) */
    int64_t i;     /* the parsed value (integer keys) */
};

struct roster_filter {
    int key; /* enum roster_ufield or enum roster_qkey */
    int op;  /* enum roster_op */
    struct roster_qval *vals;
    size_t nvals;
    /* text keys: compare ignoring ASCII case (lower() of both sides), e.g. SCIM's
     * caseExact false; an eq, in or prefix on username or email is then served by their
     * lower() indexes alone */
    bool ci;
};

/* A boolean expression over filters (SCIM's and/or/not): a tree in an arena. A leaf's
 * filter never yields SQL's unknown: a missing value matches no filter but `ne`, so
 * NOT (title eq "x") holds for a user without a title. */
enum roster_qnode_kind {
    ROSTER_QN_FILTER, /* f */
    ROSTER_QN_AND,    /* every kid (none: true) */
    ROSTER_QN_OR,     /* any kid (none: false) */
    ROSTER_QN_NOT,    /* kids[0] does not hold */
    ROSTER_QN_TRUE,
    ROSTER_QN_FALSE,
};

struct roster_qnode {
    int kind; /* enum roster_qnode_kind */
    struct roster_filter f;
    struct roster_qnode **kids;
    size_t nkids;
};

#define ROSTER_QUERY_MAX_NODES 256 /* nodes of an expression */
#define ROSTER_QUERY_MAX_DEPTH 40  /* its depth */

struct roster_sort {
    int key;
    bool desc;
};

/* A membership condition on a user list: the user is (member) or is not (!member) in the
 * group group_num_id (include/roster/group.h). A group that does not exist has no members. */
struct roster_group_cond {
    int64_t group_num_id;
    bool member;
};

#define ROSTER_QUERY_MAX_FILTERS 32
#define ROSTER_QUERY_MAX_SORTS 8
#define ROSTER_QUERY_MAX_CONDS 8

/* A user list and one page of it. The order is the sorts, then the id as the tiebreak in
 * the direction of the last sort (ascending without sorts). Text keys compare as bytes,
 * except username and email, which sort ignoring ASCII case (they are unique that way);
 * a missing value (NULL) sorts before every value. docs/lists.md has the access paths. */
struct roster_query {
    struct roster_filter filters[ROSTER_QUERY_MAX_FILTERS]; /* ANDed */
    size_t nfilters;
    struct roster_sort sorts[ROSTER_QUERY_MAX_SORTS];
    size_t nsorts;
    struct roster_group_cond conds[ROSTER_QUERY_MAX_CONDS]; /* ANDed with the filters */
    size_t nconds;
    const struct roster_qnode *expr; /* ANDed with the filters (NULL: none) */
    const char *search;              /* free text: substring of username, email, first, last name */
    int64_t skip;
    int64_t limit;   /* 0 = no rows (count only); < 0: every row */
    bool want_total; /* compute the number of matching rows */
    /* set by core for a first page it expects to be small (a look-up by a key): the store
     * may read it with one statement outside a snapshot and with a cached plan */
    bool direct;
};

/* A dialect's field-name table entry: name as the client writes it -> key. */
struct roster_qname {
    const char *name;
    int key;
};

void roster_query_init(struct roster_query *q);

/* Parses one filter expression "<field>:<operator>:<value>" (the JumpCloud grammar) and
 * appends it to q. Field names are looked up in names[] (NULL-terminated by name).
 * Values: `in` and `between` take values separated by '|'; an `eq` value ending in '*'
 * becomes a prefix match; for RQ_STATE the value is a state name, for RQ_CREATED,
 * RQ_MODIFIED and RQ_DUE an RFC 3339 time, for RQ_NUM_ID an integer. Strings are allocated in a.
 * Errors: ROSTER_EINVAL naming the expression and what is wrong. */
int roster_filter_parse(struct roster_query *q, const char *expr, const struct roster_qname *names,
                        struct roster_arena *a, struct roster_err *err);

/* Parses a JumpCloud sort spec: space- or comma-separated field names, '-' prefix for
 * descending (e.g. "-created username"). Errors name the unknown field. */
int roster_sort_parse(struct roster_query *q, const char *spec, const struct roster_qname *names,
                      struct roster_arena *a, struct roster_err *err);

#endif
