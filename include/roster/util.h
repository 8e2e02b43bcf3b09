/* Small shared helpers: ids, clocks, time formatting, hashing, growable buffers.
 * All functions are thread-safe.
 */
#ifndef ROSTER_UTIL_H
#define ROSTER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROSTER_ID_LEN 24 /* object ids are 24 lower-case hex chars (JumpCloud style) */

/* Writes a new 24-hex id + NUL into out[25], laid out like a MongoDB ObjectId: 4 bytes of
 * seconds, 5 random bytes per process, a 3-byte counter. Ids of one process increase. */
void roster_id_new(char out[ROSTER_ID_LEN + 1]);
/* true if s is exactly 24 hex characters */
bool roster_id_valid(const char *s);

/* Fills buf with n cryptographically random bytes (getrandom). */
void roster_random(void *buf, size_t n);

int64_t roster_now_ms(void);       /* wall clock, ms since epoch */
int64_t roster_monotonic_ms(void); /* monotonic clock */

/* Formats ms-since-epoch as RFC 3339 UTC with milliseconds: 2026-11-23T03:30:29.123Z.
 * out must hold 25 bytes. */
void roster_time_format(int64_t ms, char out[32]);
/* Parses RFC 3339 / ISO 8601 date-time ("2020-01-01T02:00:00", optional fraction, "Z" or
 * +hh:mm offset; no zone means UTC). Returns 0 and sets *ms, or -1. */
int roster_time_parse(const char *s, int64_t *ms);

/* SHA-256 of data as 64 lower-case hex chars + NUL. */
void roster_sha256_hex(const void *data, size_t n, char out[65]);
void roster_hex(const void *data, size_t n, char *out); /* out holds 2n+1 */
/* The value of the hex digit c (0-9, a-f, A-F), or -1 when it is none. */
static inline int roster_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
/* Decodes base64url (RFC 4648 section 5; trailing '=' padding tolerated) s[0..n) into out,
 * which holds n * 3 / 4 bytes; *outlen = the bytes written. -1 on a character outside the
 * alphabet or a length no encoding has. */
int roster_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen);

/* Constant-time comparison of two equal-length strings. */
bool roster_ct_equal(const char *a, const char *b, size_t n);

/* Growable byte buffer (heap). */
struct roster_buf {
    char *data;
    size_t len, cap;
};
void roster_buf_init(struct roster_buf *b);
void roster_buf_release(struct roster_buf *b);
void roster_buf_reset(struct roster_buf *b); /* len = 0, keeps memory */
/* Makes room for n more bytes (and the NUL) without reallocating until then. */
void roster_buf_reserve(struct roster_buf *b, size_t n);
void roster_buf_add(struct roster_buf *b, const void *p, size_t n);
void roster_buf_addstr(struct roster_buf *b, const char *s);
void roster_buf_addch(struct roster_buf *b, char c);
void roster_buf_printf(struct roster_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated data and leaves b empty; caller frees with free(). */
char *roster_buf_detach(struct roster_buf *b, size_t *len);

/* Parses a base-10 int64 with no trailing garbage; returns 0 or -1. */
int roster_parse_i64(const char *s, int64_t *out);

/* url with its passwords replaced by "***" (the password of user:password@ and every
 * password= parameter of the query), for logs and error messages; in out[cap] (truncated
 * to fit). A path without "://" is copied as it is. Returns out. */
char *roster_url_redact(const char *url, char *out, size_t cap);

/* The end of the page [from, from + limit) of total items, at most total, without
 * overflowing whatever from (>= 0) and limit are (limit < 0: no limit). */
int64_t roster_page_end(int64_t from, int64_t limit, int64_t total);

/* names[v] for an enum value v in [0, n) that has a name, else other. */
const char *roster_enum_name(const char *const *names, size_t n, int v, const char *other);
#define ROSTER_ENUM_NAME(names, v, other)                                                          \
    roster_enum_name((names), sizeof(names) / sizeof((names)[0]), (v), (other))

#endif
