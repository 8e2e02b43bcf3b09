/* The CSV reader of roster import (src/cli/csv.c): RFC 4180 quoting, line ends, BOM,
 * empty lines, invalid UTF-8 with its line, syntax errors, records larger than a buffer. */
#include <stdlib.h>
#include <string.h>

#include "cli/csv.h"
#include "test.h"

/* Reads every record of text; rows[i] joins the fields of record i with '|', errors as
 * "!error", bad UTF-8 as "~line"; returns the number of records. */
static size_t read_all(const char *text, size_t len, char rows[][256], long *lines, size_t max)
{
    FILE *f = tmpfile();
    fwrite(text, 1, len, f);
    rewind(f);
    struct roster_csv *c = roster_csv_open(f);
    struct roster_csv_rec r;
    size_t n = 0;
    while (n < max && roster_csv_next(c, &r) == 1) {
        char *o = rows[n];
        o[0] = 0;
        for (size_t i = 0; i < r.n; i++) {
            if (i)
                strcat(o, "|");
            strncat(o, r.fields[i], 200 - strlen(o));
        }
        if (r.error)
            strcat(o, "!error");
        if (r.bad_line)
            sprintf(o + strlen(o), "~%ld", r.bad_line);
        lines[n] = r.line;
        n++;
    }
    roster_csv_close(c);
    fclose(f);
    return n;
}

#define T(text) text, sizeof(text) - 1

int main(void)
{
    char rows[16][256];
    long lines[16];
    size_t n;

    n = read_all(T("a,b,c\n1,2,3\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(rows[0], "a|b|c");
    CHECK_EQ_STR(rows[1], "1|2|3");

    /* quoted commas, doubled quotes, embedded newlines (the next record's line counts them) */
    n = read_all(T("x,\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",y\nlast,z"), rows, lines, 16);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(rows[0], "x|a,b|say \"hi\"");
    CHECK_EQ_STR(rows[1], "two\nlines|y");
    CHECK_EQ_STR(rows[2], "last|z");
    CHECK_EQ_INT(lines[2], 4);

    /* BOM, CRLF, empty trailing line, empty fields */
    n = read_all(T("\xEF\xBB\xBFh1,h2\r\na,\r\n,b\r\n\r\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(rows[0], "h1|h2");
    CHECK_EQ_STR(rows[1], "a|");
    CHECK_EQ_STR(rows[2], "|b");

    /* an empty quoted field, a CRLF inside quotes kept */
    n = read_all(T("\"\",\"a\r\nb\"\r\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(rows[0], "|a\r\nb");

    /* invalid UTF-8: the line of the bad byte, the reader goes on */
    n = read_all(T("h\nok\n\"multi\nline \xFF\"\nafter\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(rows[2], "multi\nline \xFF~4");
    CHECK_EQ_INT(lines[2], 3);
    CHECK_EQ_STR(rows[3], "after");
    n = read_all(T("a\n\xC3\x28\n\xE2\x82\xAC\n"), rows, lines, 16);
    CHECK_EQ_STR(rows[1], "\xC3\x28~2");
    CHECK_EQ_STR(rows[2], "\xE2\x82\xAC");

    /* text after a closing quote: an error of that record only */
    n = read_all(T("\"a\"b,c\nnext\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 2);
    CHECK(strstr(rows[0], "!error") != NULL);
    CHECK_EQ_STR(rows[1], "next");
    CHECK_EQ_INT(lines[1], 2);

    /* an unterminated quote */
    n = read_all(T("a\n\"open,b\n"), rows, lines, 16);
    CHECK_EQ_INT(n, 2);
    CHECK(strstr(rows[1], "!error") != NULL);

    /* a quote inside an unquoted field is a character */
    n = read_all(T("ab\"c,d\n"), rows, lines, 16);
    CHECK_EQ_STR(rows[0], "ab\"c|d");

    /* lone CR line ends, and a record larger than the read buffer */
    n = read_all(T("a\rb\r"), rows, lines, 16);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(rows[1], "b");
    {
        size_t big = 600 * 1024;
        char *t = malloc(big + 16);
        memcpy(t, "\"", 1);
        memset(t + 1, 'x', big);
        memcpy(t + 1 + big, "\",y\n", 4);
        FILE *f = fmemopen(t, big + 5, "r");
        struct roster_csv *c = roster_csv_open(f);
        struct roster_csv_rec r;
        CHECK_EQ_INT(roster_csv_next(c, &r), 1);
        CHECK_EQ_INT(r.n, 2);
        CHECK_EQ_INT(r.lens[0], big);
        CHECK_EQ_STR(r.fields[1], "y");
        CHECK_EQ_INT(roster_csv_next(c, &r), 0);
        CHECK_EQ_INT(roster_csv_offset(c), (long long)(big + 5));
        roster_csv_close(c);
        fclose(f);
        free(t);
    }
    /* empty input, only a BOM */
    n = read_all(T(""), rows, lines, 16);
    CHECK_EQ_INT(n, 0);
    n = read_all(T("\xEF\xBB\xBF"), rows, lines, 16);
    CHECK_EQ_INT(n, 0);
    return test_finish();
}
