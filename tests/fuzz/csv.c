/* The CSV reader of roster import (src/cli/csv.c) on any bytes: it ends, every record has
 * at least one field, each field is NUL-terminated at its length, records start on
 * increasing lines, a bad UTF-8 line is never before its record's line, and the offset
 * never passes the input. Written back with RFC 4180 quoting, records without errors read
 * again the same. */
#include "cli/csv.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct roster_csv *c = roster_csv_open(f);
    FUZZ_CHECK(c != NULL);
    char *out = NULL;
    size_t out_len = 0;
    FILE *o = open_memstream(&out, &out_len);
    struct roster_csv_rec r;
    long last = 0;
    size_t clean = 0;
    int got;
    while ((got = roster_csv_next(c, &r)) == 1) {
        FUZZ_CHECK(r.n >= 1);
        FUZZ_CHECK(r.line > last);
        last = r.line;
        FUZZ_CHECK(r.bad_line == 0 || r.bad_line >= r.line);
        for (size_t i = 0; i < r.n; i++)
            FUZZ_CHECK(r.fields[i][r.lens[i]] == '\0');
        FUZZ_CHECK(roster_csv_offset(c) <= (int64_t)size);
        if (r.error)
            continue;
        clean++;
        for (size_t i = 0; i < r.n; i++) {
            fputs(i ? ",\"" : "\"", o);
            for (size_t k = 0; k < r.lens[i]; k++) {
                if (r.fields[i][k] == '"')
                    fputc('"', o);
                fputc(r.fields[i][k], o);
            }
            fputc('"', o);
        }
        fputs("\r\n", o);
    }
    FUZZ_CHECK(got == 0);
    roster_csv_close(c);
    fclose(f);
    fclose(o);
    /* the clean records, written back quoted, read again as as many records */
    if (out_len > 0) {
        FILE *g = fmemopen(out, out_len, "r");
        struct roster_csv *c2 = roster_csv_open(g);
        size_t again = 0;
        while (roster_csv_next(c2, &r) == 1) {
            FUZZ_CHECK(r.error == NULL);
            again++;
        }
        FUZZ_CHECK(again == clean);
        roster_csv_close(c2);
        fclose(g);
    }
    free(out);
    return 0;
}
