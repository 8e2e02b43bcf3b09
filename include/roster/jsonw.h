/* Streaming JSON writer: responses are written straight from rows into a buffer,
 * without building a DOM. The writer tracks nesting and inserts commas itself.
 * Strings are escaped per RFC 8259 (", \, control chars as \uXXXX or short escapes);
 * invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
 */
#ifndef ROSTER_JSONW_H
#define ROSTER_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/util.h"

#define ROSTER_JSONW_MAX_DEPTH 64

struct roster_jsonw {
    struct roster_buf *out;
    int depth;
    /* per level: true once a value was written at that level (a comma is needed next) */
    bool has_item[ROSTER_JSONW_MAX_DEPTH];
    bool after_key; /* a key was just written; the next value needs no comma */
};

void roster_jsonw_init(struct roster_jsonw *w, struct roster_buf *out);

void roster_jsonw_obj_begin(struct roster_jsonw *w);
void roster_jsonw_obj_end(struct roster_jsonw *w);
void roster_jsonw_arr_begin(struct roster_jsonw *w);
void roster_jsonw_arr_end(struct roster_jsonw *w);
void roster_jsonw_key(struct roster_jsonw *w, const char *key);
/* A key that needs no escaping (a literal of printable ASCII without '"' or '\\'), n
 * bytes: copied as is, for encoders that write the same keys millions of times. */
void roster_jsonw_key_lit(struct roster_jsonw *w, const char *key, size_t n);
#define ROSTER_JSONW_KEY_LIT(w, lit) roster_jsonw_key_lit((w), (lit), sizeof(lit) - 1)

void roster_jsonw_str(struct roster_jsonw *w, const char *s); /* NULL writes null */
void roster_jsonw_strn(struct roster_jsonw *w, const char *s, size_t n);
void roster_jsonw_int(struct roster_jsonw *w, int64_t v);
void roster_jsonw_double(struct roster_jsonw *w, double v);
void roster_jsonw_bool(struct roster_jsonw *w, bool v);
void roster_jsonw_null(struct roster_jsonw *w);
/* Inserts already-serialised JSON text as one value (e.g. a stored JSON column).
 * NULL or "" writes null. The caller guarantees it is valid JSON. */
void roster_jsonw_raw(struct roster_jsonw *w, const char *json);

/* key + value shorthands */
void roster_jsonw_kstr(struct roster_jsonw *w, const char *key, const char *s);
void roster_jsonw_kint(struct roster_jsonw *w, const char *key, int64_t v);
void roster_jsonw_kbool(struct roster_jsonw *w, const char *key, bool v);
void roster_jsonw_knull(struct roster_jsonw *w, const char *key);
void roster_jsonw_kraw(struct roster_jsonw *w, const char *key, const char *json);
/* RFC 3339 time from ms since epoch; ms <= 0 writes null */
void roster_jsonw_ktime(struct roster_jsonw *w, const char *key, int64_t ms);

#endif
