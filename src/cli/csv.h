/* A streaming CSV reader (RFC 4180) for `roster import`: fields separated by commas,
 * records by CRLF or LF; a field in double quotes may hold commas, line breaks and
 * doubled quotes (""). A UTF-8 byte order mark at the start is skipped; an empty line
 * (also the one after the last line break) is no record. Memory is one read buffer and
 * the current record, whatever the size of the input.
 *
 * Choices where RFC 4180 leaves room (docs/import-export.md): a quote inside an unquoted
 * field is kept as a character; text after a closing quote other than a separator or the
 * end of the line is an error of that record; an unterminated quote at the end of the
 * input is an error. Bytes that are not UTF-8 make the record "bad" (its line number is
 * reported) without stopping the reader.
 */
#ifndef ROSTER_CLI_CSV_H
#define ROSTER_CLI_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct roster_csv;

/* A reader of f (not closed by it); NULL when out of memory. */
struct roster_csv *roster_csv_open(FILE *f);
void roster_csv_close(struct roster_csv *c);

/* A record of the input. */
struct roster_csv_rec {
    char **fields;     /* n NUL-terminated fields, valid until the next call */
    size_t *lens;      /* their lengths (a field may hold a NUL byte: then len > strlen) */
    size_t n;          /* number of fields (>= 1) */
    long line;         /* line number where the record starts (1 = first line) */
    long bad_line;     /* 0, or the line holding the first byte that is not UTF-8 */
    const char *error; /* NULL, or what is wrong with the record's syntax (it is then
                        * skipped up to the end of its line) */
};

/* Reads the next record into *rec: 1, or 0 at the end of the input, or -1 for a read
 * error of f or out of memory (then rec->error says which). */
int roster_csv_next(struct roster_csv *c, struct roster_csv_rec *rec);

/* Bytes consumed from f so far (for progress). */
int64_t roster_csv_offset(const struct roster_csv *c);

#endif
