/* scim_filter_dump: reads SCIM filters, one per line on stdin, and writes one JSON line per
 * filter: the tree scim_filter_parse built, in the shape of scim2-parse-filter's parse()
 * (scim_filter_dump), or {"error":"<message>"}. With --json each input line is a JSON
 * string holding the filter (so that a filter may hold a newline or any byte).
 * Used by tests/api/scim_filter_diff.test.mjs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/scim/filter.h"

static void put_error(const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = json_dumps(o, JSON_COMPACT);
    printf("%s\n", s ? s : "{\"error\":\"?\"}");
    free(s);
    json_decref(o);
}

int main(int argc, char **argv)
{
    int json_mode = argc > 1 && strcmp(argv[1], "--json") == 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        const char *filter = line;
        json_t *j = NULL;
        if (json_mode) {
            json_error_t je;
            j = json_loadb(line, (size_t)len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            if (!j || !json_is_string(j)) {
                put_error("scim_filter_dump: the line is not a JSON string");
                json_decref(j);
                continue;
            }
            filter = json_string_value(j);
            if (strlen(filter) != json_string_length(j)) {
                put_error("invalid filter: a NUL byte");
                json_decref(j);
                continue;
            }
        }
        struct scim_fnode *root = NULL;
        struct roster_err err = {0};
        if (scim_filter_parse(filter, &a, &root, &err)) {
            put_error(err.msg);
        } else {
            struct roster_buf b;
            roster_buf_init(&b);
            scim_filter_dump(root, &b);
            printf("%.*s\n", (int)b.len, b.data);
            roster_buf_release(&b);
        }
        json_decref(j);
        roster_arena_clear(&a);
        fflush(stdout);
    }
    free(line);
    roster_arena_release(&a);
    return 0;
}
