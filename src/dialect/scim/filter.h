/* SCIM 2.0 filters (RFC 7644 section 3.4.2.2): the parser of the whole grammar into an AST,
 * its JSON dump in the shape of the npm package scim2-parse-filter's parse() (used by the
 * differential test), and the translation of a filter into a core list query for Users and
 * Groups. docs/scim.md, section "Filter", lists the choices and the deviations.
 *
 * Grammar (operators, keywords and the literals false/null/true case-insensitive):
 *     FILTER    = OR
 *     OR        = AND *("or" AND)
 *     AND       = UNARY *("and" UNARY)
 *     UNARY     = "(" FILTER ")" / "not" "(" FILTER ")" / attrExp / valuePath
 *     valuePath = attrPath "[" valFilter "]" ["." attrName (SP "pr" / SP compareOp SP compValue)]
 *     attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
 *     attrPath  = [URI ":"] attrName ["." attrName]
 * valFilter is FILTER without value paths. Whitespace (space, tab, CR, LF) may be repeated
 * and may be left out where the tokens are delimited anyway ("not(", "eq\"x\"").
 */
#ifndef ROSTER_DIALECT_SCIM_FILTER_H
#define ROSTER_DIALECT_SCIM_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/query.h"
#include "roster/util.h"

#define SCIM_FILTER_MAX_LEN 8192 /* bytes of filter text */
#define SCIM_FILTER_MAX_DEPTH 32 /* nested parentheses, not and value paths */
#define SCIM_FILTER_MAX_NODES 512

enum scim_fkind {
    SCIM_F_CMP,     /* path op value */
    SCIM_F_PR,      /* path pr */
    SCIM_F_AND,     /* kids[0..nkids), nkids >= 2 */
    SCIM_F_OR,      /* kids[0..nkids), nkids >= 2 */
    SCIM_F_NOT,     /* kids[0] */
    SCIM_F_VALPATH, /* path[kids[0]], and with sub: path[...].sub (sub->path) */
};

enum scim_cmpop { SCIM_EQ, SCIM_NE, SCIM_CO, SCIM_SW, SCIM_EW, SCIM_GT, SCIM_GE, SCIM_LT, SCIM_LE };

enum scim_vtype { SCIM_V_FALSE, SCIM_V_TRUE, SCIM_V_NULL, SCIM_V_NUMBER, SCIM_V_STRING };

struct scim_attrpath {
    const char *raw;  /* as written ("urn:...:User:name.givenName", "emails.value") */
    const char *uri;  /* the schema URN without the last ':' or NULL */
    const char *name; /* the attribute name */
    const char *sub;  /* the sub-attribute or NULL */
};

struct scim_fnode {
    int kind;   /* enum scim_fkind */
    size_t pos; /* 1-based character position where the node starts */
    struct scim_attrpath path;
    int op;           /* SCIM_F_CMP: enum scim_cmpop */
    int vtype;        /* SCIM_F_CMP: enum scim_vtype */
    const char *text; /* SCIM_V_STRING: the decoded string; SCIM_V_NUMBER: the literal */
    struct scim_fnode **kids;
    size_t nkids;
    struct scim_fnode *sub; /* SCIM_F_VALPATH "path[...].attr op value": that CMP or PR */
};

extern const char *const scim_cmpop_names[]; /* "eq" ... "le" */

/* Parses filter into *out (allocated in a). Errors: ROSTER_EINVAL with a message naming
 * the character position and what was expected there (the dialect answers 400
 * invalidFilter with it). */
int scim_filter_parse(const char *filter, struct roster_arena *a, struct scim_fnode **out,
                      struct roster_err *err);

/* Appends n as JSON in the shape scim2-parse-filter's parse() returns:
 * {"op":"eq","attrPath":"userName","compValue":"x"}, {"op":"pr","attrPath":...},
 * {"op":"and"|"or","filters":[...]}, {"op":"not","filter":...},
 * {"op":"[]","attrPath":...,"valFilter":...}; "a[f].b op v" as
 * {"op":"and","filters":[{"op":"[]",...},{"op":..,"attrPath":"a.b",...}]}. */
void scim_filter_dump(const struct scim_fnode *n, struct roster_buf *out);
/* Appends the value of a comparison n as the JSON literal of its type: true, false, null,
 * the number's text, or a string (the same text in a filter and in the dump). */
void scim_filter_put_value(struct roster_buf *b, const struct scim_fnode *n);

/* Adds the SCIM filter text of a /Users list to q (the caller's roster_query_init'ed query):
 * attribute names are those of docs/scim.md (case-insensitive, with or without the core
 * or enterprise URN). Errors: ROSTER_EINVAL naming the unknown attribute, the unsupported
 * operator or value, or the syntax error. q->expr must be NULL (the filter sets it). */
int scim_users_filter(struct roster_query *q, const char *filter, struct roster_arena *a,
                      struct roster_err *err);

/* What a /Groups filter selects: roster groups have an exact name, a name substring and
 * ids only. */
struct scim_group_filter {
    const char *id;          /* id eq: the 24-hex group id */
    const char *name;        /* displayName eq: the exact name */
    const char *name_substr; /* displayName co (case-insensitive substring) */
    bool none;               /* a filter no group can match (e.g. id eq "not-an-id") */
};

/* Parses a /Groups filter: `displayName eq "x"` (the exact name), `displayName co "x"`,
 * `id eq "x"` (the caller interprets the id), alone or joined by "and" (two different values
 * of one attribute set none). Anything else: ROSTER_EINVAL naming what is not supported. */
int scim_groups_filter(struct scim_group_filter *g, const char *filter, struct roster_arena *a,
                       struct roster_err *err);

#endif
