/* A pull reader over JSON text that roster_json_scan (roster/jsonscan.h) has ALREADY
 * validated: it walks objects and arrays without building a document, hands out each value
 * as its type and raw text slice, and unescapes strings only when asked (no escapes: one
 * memcpy, or no copy at all). Hot paths (the job codec, the validator) use it instead of
 * jansson. Nothing is allocated except what a caller asks for in its arena.
 */
#ifndef ROSTER_JSONR_H
#define ROSTER_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"

/* PRECONDITION: the text given to roster_jsonr_parse was accepted by roster_json_scan (or
 * is a slice of such a text that holds one complete value). The reader does not re-check
 * UTF-8, number ranges or most of the grammar. On text that is NOT valid it still never reads
 * outside the given bytes and always terminates: a function either returns an error (-1)
 * where it notices the damage, or a meaningless but in-bounds result. */

enum roster_jsonr_type {
    ROSTER_JSONR_OBJECT = 1,
    ROSTER_JSONR_ARRAY,
    ROSTER_JSONR_STRING,
    ROSTER_JSONR_INTEGER, /* a number without '.', 'e' or 'E' (jansson's integer) */
    ROSTER_JSONR_REAL,    /* any other number */
    ROSTER_JSONR_TRUE,
    ROSTER_JSONR_FALSE,
    ROSTER_JSONR_NULL,
};

/* One value: its type and its text [raw, raw + len), borrowed from the input. For a string
 * the slice includes the quotes; for a container, the brackets and everything inside. */
struct roster_jsonr_val {
    int type; /* enum roster_jsonr_type */
    bool esc; /* strings: the text holds at least one backslash escape */
    const char *raw;
    size_t len;
};

/* A cursor over the members of an object or the elements of an array. */
struct roster_jsonr {
    const char *s; /* the container's text, brackets included */
    size_t len, pos;
    char close; /* '}' or ']' */
    bool first, done, failed;
};

/* Reads the one value that text[0..len) holds (whitespace around it allowed).
 * Returns 0, or -1 if the text is not one value. For an object or an array only the
 * brackets at both ends are checked here (the precondition vouches for the rest, and it
 * saves a pass over the text); roster_jsonr_next reports damage inside. */
int roster_jsonr_parse(const char *text, size_t len, struct roster_jsonr_val *out);

/* Starts iterating v, which must be an object or an array (else -1). */
int roster_jsonr_open(struct roster_jsonr *it, const struct roster_jsonr_val *v);

/* The next element (arrays) or member (objects; *key receives the key as a string value,
 * which may be NULL to skip it). Returns 1 with the value in *val, 0 at the end (and on
 * every call after it), -1 on malformed text. */
int roster_jsonr_next(struct roster_jsonr *it, struct roster_jsonr_val *key,
                      struct roster_jsonr_val *val);

/* The string, number, true, false or null starting exactly at text[i] (of text[0..len)),
 * and in *end the index after it; -1 on anything else (an object or array included) or
 * malformed text. For readers that walk containers themselves (roster_json_load). */
int roster_jsonr_scalar_at(const char *text, size_t len, size_t i, struct roster_jsonr_val *v,
                           size_t *end);

/* The value of the member named key (compared after unescaping) of object obj; with
 * duplicate keys the LAST one wins, as in jansson. Returns 1 found, 0 absent, -1 if obj is
 * not an object or is malformed. */
int roster_jsonr_get(const struct roster_jsonr_val *obj, const char *key,
                     struct roster_jsonr_val *out);

/* The unescaped value of obj's string member key as a copy in a; NULL when it is absent,
 * null, not a string or malformed. */
const char *roster_jsonr_get_str(const struct roster_jsonr_val *obj, const char *key,
                                 struct roster_arena *a);

/* --- strings (v must be ROSTER_JSONR_STRING, else -1) --- */

/* The unescaped string as a NUL-terminated copy in a (\u escapes, surrogate pairs
 * included, become UTF-8); *n (may be NULL) receives its length in bytes. -1 on a malformed
 * escape or \u0000 (which jansson and the scanner refuse too). */
int roster_jsonr_str(const struct roster_jsonr_val *v, struct roster_arena *a, const char **out,
                     size_t *n);
/* Like roster_jsonr_str, but without escapes *out points INTO the input text (not
 * NUL-terminated; nothing is allocated). */
int roster_jsonr_str_view(const struct roster_jsonr_val *v, struct roster_arena *a,
                          const char **out, size_t *n);
/* true if v is a string whose unescaped value is exactly s. Allocates nothing. */
bool roster_jsonr_str_eq(const struct roster_jsonr_val *v, const char *s);
/* Number of Unicode code points of the unescaped string into *n. Allocates nothing. */
int roster_jsonr_str_chars(const struct roster_jsonr_val *v, size_t *n);

/* --- other scalars --- */

/* v must be ROSTER_JSONR_INTEGER and fit int64; else -1. */
int roster_jsonr_int(const struct roster_jsonr_val *v, int64_t *out);
/* Any number (integers too, as json_number_value), converted with strtod like jansson
 * does (the locale's decimal point honoured). -1 if v is not a number. A number of 64 or
 * more characters is copied to the heap for strtod (the only heap use of the reader). */
int roster_jsonr_real(const struct roster_jsonr_val *v, double *out);
/* v must be true or false; else -1. */
int roster_jsonr_bool(const struct roster_jsonr_val *v, bool *out);

/* --- raw text --- */

/* Writes v's text without the whitespace between tokens (string contents are copied
 * byte for byte, escapes as they are) to out, which must hold v->len bytes; returns the
 * number of bytes written (no NUL is added). */
size_t roster_jsonr_compact_to(const struct roster_jsonr_val *v, char *out);
/* The same as a NUL-terminated copy in a; *n (may be NULL) receives its length. */
const char *roster_jsonr_compact(const struct roster_jsonr_val *v, struct roster_arena *a,
                                 size_t *n);

#endif
