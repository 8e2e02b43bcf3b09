/* A validating JSON scanner that builds no document: it checks a whole text against
 * RFC 8259 (and the limits jansson enforces: UTF-8, no \u0000, no lone surrogates, integers
 * that fit int64, finite reals) and, for a top-level array, records where each element
 * starts and ends. Bulk endpoints use it to accept 1,000-item bodies without a DOM and to
 * cut them into chunks by byte ranges.
 */
#ifndef ROSTER_JSONSCAN_H
#define ROSTER_JSONSCAN_H

#include <stddef.h>

#include "roster/arena.h"
#include "roster/err.h"

struct roster_json_span {
    size_t start, end; /* [start, end) byte offsets of one element in the text */
    char type;         /* first byte of the element: '{', '[', '"', 't', 'f', 'n', '-' or a digit */
};

/* Validates text[0..len). If the top-level value is an array, *spans receives its elements
 * (allocated in a) and *n their count; otherwise *n = 0 and *top is its first byte.
 * Errors: ROSTER_EINVAL with a message "invalid JSON at line L column C: <what>". */
int roster_json_scan(const char *text, size_t len, struct roster_arena *a,
                     struct roster_json_span **spans, size_t *n, char *top, struct roster_err *err);
/* The line and column (both from 1; a column is a UTF-8 character) of text[pos], as the
 * scanner's error messages name them. pos must be at most the text's length. */
void roster_json_line_col(const char *text, size_t pos, size_t *line, size_t *col);
/* roster_json_scan that stops at the element after the max-th of a top-level array:
 * ROSTER_ETOOBIG "the array has more than <max> elements" (the rest is not read, and the
 * spans never take more than max entries). */
int roster_json_scan_max(const char *text, size_t len, struct roster_arena *a,
                         struct roster_json_span **spans, size_t *n, char *top, size_t max,
                         struct roster_err *err);

#endif
