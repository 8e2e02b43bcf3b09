/* The streaming CSV reader of `roster import` (csv.h). */
#include "cli/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF (256 * 1024)

struct roster_csv {
    FILE *f;
    unsigned char *buf;
    size_t pos, len;
    bool eof;
    int64_t consumed; /* bytes of f before buf[0] */
    long line;        /* the current line number */
    bool started;     /* the byte order mark check is done */
    char *rec;        /* the record's fields, each NUL-terminated */
    size_t rlen, rcap;
    size_t *starts, *lens;
    char **fields;
    size_t nf, fcap;
    bool read_error;
};

struct roster_csv *roster_csv_open(FILE *f)
{
    struct roster_csv *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->f = f;
    c->buf = malloc(CSV_BUF);
    c->rcap = 4096;
    c->rec = malloc(c->rcap);
    c->fcap = 64;
    c->starts = malloc(c->fcap * sizeof(*c->starts));
    c->lens = malloc(c->fcap * sizeof(*c->lens));
    c->fields = malloc(c->fcap * sizeof(*c->fields));
    c->line = 1;
    if (!c->buf || !c->rec || !c->starts || !c->lens || !c->fields) {
        roster_csv_close(c);
        return NULL;
    }
    return c;
}

void roster_csv_close(struct roster_csv *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c->rec);
    free(c->starts);
    free(c->lens);
    free(c->fields);
    free(c);
}

int64_t roster_csv_offset(const struct roster_csv *c)
{
    return c->consumed + (int64_t)c->pos;
}

static bool refill(struct roster_csv *c)
{
    if (c->eof)
        return false;
    c->consumed += (int64_t)c->len;
    c->pos = 0;
    c->len = fread(c->buf, 1, CSV_BUF, c->f);
    if (c->len == 0) {
        if (ferror(c->f))
            c->read_error = true;
        c->eof = true;
        return false;
    }
    return true;
}

/* The next byte, or -1 at the end of the input. */
static inline int get(struct roster_csv *c)
{
    if (c->pos >= c->len && !refill(c))
        return -1;
    return c->buf[c->pos++];
}

static inline int peek(struct roster_csv *c)
{
    if (c->pos >= c->len && !refill(c))
        return -1;
    return c->buf[c->pos];
}

static bool put(struct roster_csv *c, char ch)
{
    if (c->rlen + 1 >= c->rcap) {
        size_t cap = c->rcap * 2;
        char *r = realloc(c->rec, cap);
        if (!r)
            return false;
        c->rec = r;
        c->rcap = cap;
    }
    c->rec[c->rlen++] = ch;
    return true;
}

static bool field_begin(struct roster_csv *c)
{
    if (c->nf == c->fcap) {
        size_t cap = c->fcap * 2;
        size_t *s = realloc(c->starts, cap * sizeof(*s));
        if (s)
            c->starts = s;
        size_t *l = realloc(c->lens, cap * sizeof(*l));
        if (l)
            c->lens = l;
        char **f = realloc(c->fields, cap * sizeof(*f));
        if (f)
            c->fields = f;
        if (!s || !l || !f)
            return false;
        c->fcap = cap;
    }
    c->starts[c->nf++] = c->rlen;
    return true;
}

static bool field_end(struct roster_csv *c)
{
    c->lens[c->nf - 1] = c->rlen - c->starts[c->nf - 1];
    return put(c, '\0');
}

/* Consumes a line end whose first byte ch was read; counts the line. */
static void line_end(struct roster_csv *c, int ch)
{
    if (ch == '\r' && peek(c) == '\n')
        c->pos++;
    c->line++;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The line of the first byte of the record that is not UTF-8, 0 when all are. */
static long first_bad_line(const struct roster_csv *c, long first_line)
{
    const unsigned char *p = (const unsigned char *)c->rec;
    long line = first_line;
    for (size_t i = 0; i < c->rlen;) {
        if (p[i] < 0x80) {
            line += p[i] == '\n';
            i++;
            continue;
        }
        size_t l = utf8_len(p + i, c->rlen - i);
        if (!l)
            return line;
        i += l;
    }
    return 0;
}

/* Skips to the end of the current line (after a syntax error). */
static void skip_line(struct roster_csv *c)
{
    int ch;
    while ((ch = get(c)) >= 0)
        if (ch == '\n' || ch == '\r') {
            line_end(c, ch);
            return;
        }
}

int roster_csv_next(struct roster_csv *c, struct roster_csv_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    if (!c->started) {
        c->started = true;
        if (peek(c) == 0xEF && c->len - c->pos >= 3 && c->buf[c->pos + 1] == 0xBB &&
            c->buf[c->pos + 2] == 0xBF)
            c->pos += 3;
    }
    for (;;) {
        c->rlen = 0;
        c->nf = 0;
        rec->line = c->line;
        int ch = get(c);
        if (ch < 0) {
            if (c->read_error) {
                rec->error = "read error";
                return -1;
            }
            return 0;
        }
        if (ch == '\n' || ch == '\r') { /* an empty line: no record */
            line_end(c, ch);
            continue;
        }
        bool done = false;
        while (!done) {
            if (!field_begin(c))
                goto nomem;
            if (ch == '"') {
                for (;;) {
                    ch = get(c);
                    if (ch < 0) {
                        rec->error = "a quoted field is not closed before the end of the input";
                        field_end(c);
                        done = true;
                        break;
                    }
                    if (ch == '"') {
                        if (peek(c) == '"') {
                            c->pos++;
                            if (!put(c, '"'))
                                goto nomem;
                            continue;
                        }
                        break;
                    }
                    if (ch == '\n')
                        c->line++;
                    if (!put(c, (char)ch))
                        goto nomem;
                }
                if (done)
                    break;
                if (!field_end(c))
                    goto nomem;
                ch = get(c);
                if (ch == ',') {
                    ch = get(c);
                    if (ch < 0 || ch == '\n' || ch == '\r') { /* a last empty field */
                        if (!field_begin(c) || !field_end(c))
                            goto nomem;
                        if (ch >= 0)
                            line_end(c, ch);
                        done = true;
                    }
                    continue;
                }
                if (ch < 0 || ch == '\n' || ch == '\r') {
                    if (ch >= 0)
                        line_end(c, ch);
                    done = true;
                    continue;
                }
                rec->error = "text after the closing quote of a field (a quote inside a quoted "
                             "field is written \"\")";
                skip_line(c);
                done = true;
                continue;
            }
            /* unquoted: up to a comma or the end of the line */
            while (ch >= 0 && ch != ',' && ch != '\n' && ch != '\r') {
                if (!put(c, (char)ch))
                    goto nomem;
                ch = get(c);
            }
            if (!field_end(c))
                goto nomem;
            if (ch == ',') {
                ch = get(c);
                if (ch < 0 || ch == '\n' || ch == '\r') {
                    if (!field_begin(c) || !field_end(c))
                        goto nomem;
                    if (ch >= 0)
                        line_end(c, ch);
                    done = true;
                }
                continue;
            }
            if (ch >= 0)
                line_end(c, ch);
            done = true;
        }
        for (size_t i = 0; i < c->nf; i++)
            c->fields[i] = c->rec + c->starts[i];
        rec->fields = c->fields;
        rec->lens = c->lens;
        rec->n = c->nf;
        rec->bad_line = first_bad_line(c, rec->line);
        return 1;
    }
nomem:
    rec->error = "out of memory";
    return -1;
}
