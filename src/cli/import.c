/* `roster import FILE|-`: users from a CSV, NDJSON/JSONL or JSON array file into one
 * organisation of the store, in batches through core (roster/import.h). This file reads
 * and decodes the file (CSV cells by a header of field names, JSON objects with the
 * JumpCloud bulk-user-create decoder), shows progress, writes the report and the summary.
 * docs/import-export.md describes the command.
 */
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/csv.h"
#include "cli/import_remote.h"
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/cli.h"
#include "roster/import.h"
#include "roster/jsonw.h"
#include "roster/store.h"

#define BATCH 10000
#define MAX_SHOWN_ERRORS 10

enum { EXIT_OK = 0, EXIT_REJECTED = 1, EXIT_USAGE = 2, EXIT_TOO_MANY = 3, EXIT_STORE = 4 };
enum { FMT_NONE, FMT_CSV, FMT_NDJSON, FMT_JSON };

/* CSV columns that are not user fields */
enum { COL_STATE = RU_NFIELDS, COL_IGNORE, COL_PASSWORD };

/* Header names besides each field's store column and JumpCloud label (any case, with
 * '_', '-' and ' ' ignored): docs/import-export.md lists them. */
static const struct {
    const char *name;
    int col;
} aliases[] = {
    {"user", RU_USERNAME},
    {"login", RU_USERNAME},
    {"uid", RU_USERNAME},
    {"mail", RU_EMAIL},
    {"emailaddress", RU_EMAIL},
    {"employeeid", RU_EMPLOYEE_ID},
    {"employeenumber", RU_EMPLOYEE_ID},
    {"givenname", RU_FIRST_NAME},
    {"surname", RU_LAST_NAME},
    {"familyname", RU_LAST_NAME},
    {"sn", RU_LAST_NAME},
    {"title", RU_JOB_TITLE},
    {"phonenumbers", RU_PHONES},
    {"costcentre", RU_COST_CENTER},
    {"country", RU_COUNTRY_CODE},
    {"status", COL_STATE},
    {"state", COL_STATE},
    {"password", COL_PASSWORD},
    /* what `roster export` writes besides the fields: read-only, ignored on import */
    {"id", COL_IGNORE},
    {"created", COL_IGNORE},
    {"modified", COL_IGNORE},
    {"version", COL_IGNORE},
    {"numid", COL_IGNORE},
    {"organization", COL_IGNORE},
    {"activated", COL_IGNORE},
    {"suspended", COL_IGNORE},
};

/* name folded: lower case, without '_', '-', ' ' */
static void fold(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (*s != '_' && *s != '-' && *s != ' ')
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

static int column_of(const char *name)
{
    char f[128], g[128];
    fold(name, f, sizeof(f));
    for (int i = 0; i < RU_NFIELDS; i++) {
        fold(roster_ufields[i].column, g, sizeof(g));
        if (strcmp(f, g) == 0)
            return i;
        fold(roster_ufields[i].label, g, sizeof(g));
        if (strcmp(f, g) == 0)
            return i;
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(f, aliases[i].name) == 0)
            return aliases[i].col;
    return -1;
}

struct opts {
    const char *file, *store, *org, *format, *mode, *match, *missing, *report, *max_changes;
    const char *url, *key, *commit_rows;
    const char *maps[64];
    int nmaps;
    int dry_run, force, quiet, no_progress, no_bulk_load;
};

/* --- reading rows --- */

struct reader {
    int format;
    FILE *f;
    int64_t size; /* bytes, or -1 when unknown */
    /* csv */
    struct roster_csv *csv;
    int *cols;
    size_t ncols;
    /* json */
    char *buf;
    size_t cap;
    long line;
    int64_t offset;
    bool in_array, array_done;
};

static int64_t reader_offset(const struct reader *r)
{
    return r->format == FMT_CSV ? roster_csv_offset(r->csv) : r->offset;
}

static int row_fail(struct roster_import_row *row, const char *field, const char *fmt,
                    const char *a, const char *b)
{
    row->rc = roster_err_set(&row->err, ROSTER_EINVAL, fmt, a, b);
    row->err.field = field;
    return 1;
}

/* Reads the header row and maps its columns (--map first). 0, or prints the error. */
static int csv_header(struct reader *r, const struct opts *o)
{
    struct roster_csv_rec rec;
    int got = roster_csv_next(r->csv, &rec);
    if (got == 0) {
        fprintf(stderr, "roster import: the file is empty (a CSV file starts with a header row "
                        "of field names)\n");
        return -1;
    }
    if (got < 0 || rec.error || rec.bad_line) {
        fprintf(stderr, "roster import: line 1: the header row is not readable: %s\n",
                rec.error ? rec.error : "not UTF-8");
        return -1;
    }
    r->ncols = rec.n;
    r->cols = calloc(rec.n, sizeof(int));
    if (!r->cols)
        return -1;
    for (size_t i = 0; i < rec.n; i++) {
        const char *name = rec.fields[i];
        int col = -1;
        bool mapped = false;
        for (int m = 0; m < o->nmaps; m++) {
            const char *eq = strchr(o->maps[m], '=');
            if (eq && (size_t)(eq - o->maps[m]) == strlen(name) &&
                strncmp(o->maps[m], name, strlen(name)) == 0) {
                mapped = true;
                col = strcmp(eq + 1, "-") == 0 ? COL_IGNORE : column_of(eq + 1);
                if (col < 0) {
                    fprintf(stderr, "roster import: --map %s: \"%s\" is not a user field\n",
                            o->maps[m], eq + 1);
                    return -1;
                }
            }
        }
        if (!mapped)
            col = column_of(name);
        if (col < 0) {
            fprintf(stderr,
                    "roster import: line 1: unknown column \"%s\" in the header (column %zu): "
                    "not a user field (roster or JumpCloud name, see docs/import-export.md); "
                    "--map '%s=FIELD' names its field, --map '%s=-' ignores it\n",
                    name, i + 1, name, name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (r->cols[j] == col && col != COL_IGNORE) {
                fprintf(stderr, "roster import: line 1: columns %zu and %zu are the same field\n",
                        j + 1, i + 1);
                return -1;
            }
        r->cols[i] = col;
    }
    return 0;
}

static void csv_row(struct reader *r, const struct roster_csv_rec *rec,
                    struct roster_import_row *row, struct roster_arena *a)
{
    char lb[32];
    snprintf(lb, sizeof(lb), "%ld", rec->bad_line);
    if (rec->error) {
        row_fail(row, NULL, "%s%s", "not CSV: ", rec->error);
        return;
    }
    if (rec->bad_line) {
        row_fail(row, NULL, "line %s is not UTF-8%s", lb, "");
        return;
    }
    if (rec->n != r->ncols) {
        char a1[32], a2[32];
        snprintf(a1, sizeof(a1), "%zu", rec->n);
        snprintf(a2, sizeof(a2), "%zu", r->ncols);
        row_fail(row, NULL, "the row has %s fields, the header %s", a1, a2);
        return;
    }
    struct roster_user *u = &row->u;
    for (size_t i = 0; i < rec->n; i++) {
        int col = r->cols[i];
        const char *v = rec->fields[i];
        if (col == COL_IGNORE || col == COL_PASSWORD)
            continue;
        if (strlen(v) != rec->lens[i]) {
            row_fail(row, col < RU_NFIELDS ? roster_ufields[col].label : "state",
                     "%s holds a NUL byte%s",
                     col < RU_NFIELDS ? roster_ufields[col].label : "state", "");
            return;
        }
        if (col == COL_STATE) {
            if (!*v)
                continue;
            char up[16];
            size_t n = 0;
            for (; v[n] && n + 1 < sizeof(up); n++)
                up[n] = (char)toupper((unsigned char)v[n]);
            up[n] = '\0';
            if (roster_state_parse(up, &u->state) != 0) {
                row_fail(row, "state",
                         "state \"%.64s\" is not one of STAGED, ACTIVATED, SUSPENDED%s", v, "");
                return;
            }
            u->set |= ROSTER_USET_STATE;
            continue;
        }
        if (*v && roster_ufields[col].kind != RU_KIND_STR) {
            struct roster_json_span *spans;
            size_t nspans;
            char top;
            struct roster_err jerr = {0};
            bool arr = roster_ufields[col].kind == RU_KIND_JSON_ARRAY;
            if (roster_json_scan(v, rec->lens[i], a, &spans, &nspans, &top, &jerr) != 0 ||
                top != (arr ? '[' : '{')) {
                row_fail(row, roster_ufields[col].label, "%s must be a JSON %s",
                         roster_ufields[col].label, arr ? "array" : "object");
                u->f[col] = roster_arena_strndup(a, v, rec->lens[i]);
                return;
            }
        }
        u->f[col] = *v ? roster_arena_strndup(a, v, rec->lens[i]) : NULL;
        u->set |= 1ull << col;
    }
}

/* A JSON object text into a row, through the JumpCloud bulk-user-create decoder. */
static void json_row(const char *text, size_t len, struct roster_import_row *row,
                     struct roster_arena *a)
{
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(text, len, a, &spans, &n, &top, &row->err) != 0) {
        row->rc = ROSTER_EINVAL;
        return;
    }
    if (top != '{') {
        row_fail(row, NULL, "a user must be a JSON object%s%s", "", "");
        return;
    }
    row->rc = jc_user_decode(text, len, JC_DECODE_CREATE, &row->u, a, &row->err);
}

static bool buf_put(struct reader *r, size_t len, int ch)
{
    if (len + 2 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 65536;
        char *b = realloc(r->buf, cap);
        if (!b)
            return false;
        r->buf = b;
        r->cap = cap;
    }
    r->buf[len] = (char)ch;
    return true;
}

static int rd(struct reader *r)
{
    int ch = getc(r->f);
    if (ch >= 0) {
        r->offset++;
        if (ch == '\n')
            r->line++;
    }
    return ch;
}

/* The next element of a top-level JSON array, as text in r->buf: 1, 0 at its end, -1 for a
 * file that is not a JSON array (printed). */
static int json_array_next(struct reader *r, size_t *len, long *line)
{
    int ch;
    if (!r->in_array) {
        r->line = 1;
        while ((ch = rd(r)) >= 0 && isspace(ch))
            ;
        if (ch == 0xEF) { /* a BOM */
            rd(r);
            rd(r);
            while ((ch = rd(r)) >= 0 && isspace(ch))
                ;
        }
        if (ch != '[') {
            fprintf(stderr, "roster import: line %ld: a JSON file must hold an array of users\n",
                    r->line);
            return -1;
        }
        r->in_array = true;
    }
    if (r->array_done)
        return 0;
    while ((ch = rd(r)) >= 0 && (isspace(ch) || ch == ','))
        ;
    if (ch == ']') {
        r->array_done = true;
        return 0;
    }
    if (ch < 0) {
        fprintf(stderr, "roster import: line %ld: the JSON array is not closed\n", r->line);
        return -1;
    }
    *line = r->line;
    size_t n = 0;
    int depth = 0;
    bool str = false, esc = false;
    for (;;) {
        if (!buf_put(r, n, ch))
            return -1;
        n++;
        if (str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                str = false;
        } else if (ch == '"') {
            str = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
        if (depth < 0) {
            fprintf(stderr, "roster import: line %ld: unbalanced JSON\n", r->line);
            return -1;
        }
        if (!str && depth == 0) {
            if (ch == '}' || ch == ']' || ch == '"')
                break;
            int next = getc(r->f); /* a number, true, false or null ends before it */
            if (next >= 0)
                ungetc(next, r->f);
            if (next < 0 || next == ',' || next == ']' || isspace(next))
                break;
        }
        ch = rd(r);
        if (ch < 0) {
            fprintf(stderr, "roster import: line %ld: the JSON array is not closed\n", r->line);
            return -1;
        }
    }
    r->buf[n] = '\0';
    *len = n;
    return 1;
}

/* Fills rows[0..*n) with up to max rows: 0, or -1 for a file that cannot be read on. */
static int read_batch(struct reader *r, struct roster_import_row *rows, size_t max, size_t *n,
                      struct roster_arena *a)
{
    *n = 0;
    while (*n < max) {
        struct roster_import_row *row = &rows[*n];
        memset(&row->u, 0, sizeof(row->u));
        row->rc = 0;
        row->err.code = 0;
        row->err.field = NULL;
        row->err.msg[0] = '\0';
        row->action = 0;
        if (r->format == FMT_CSV) {
            struct roster_csv_rec rec;
            int got = roster_csv_next(r->csv, &rec);
            if (got == 0)
                return 0;
            if (got < 0) {
                fprintf(stderr, "roster import: %s\n", rec.error);
                return -1;
            }
            row->line = rec.line;
            csv_row(r, &rec, row, a);
        } else if (r->format == FMT_NDJSON) {
            ssize_t len;
            size_t cap = r->cap;
            do {
                len = getline(&r->buf, &cap, r->f);
                r->cap = cap;
                if (len < 0)
                    return 0;
                r->offset += len;
                r->line++;
                while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
                    r->buf[--len] = '\0';
                if (r->line == 1 && len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
                    memmove(r->buf, r->buf + 3, (size_t)len - 2);
                    len -= 3;
                }
            } while (len == 0);
            row->line = r->line;
            json_row(r->buf, (size_t)len, row, a);
        } else {
            size_t len;
            long line = 0;
            int got = json_array_next(r, &len, &line);
            if (got <= 0)
                return got;
            row->line = line;
            json_row(r->buf, len, row, a);
        }
        (*n)++;
    }
    return 0;
}

/* --- progress --- */

struct progress {
    bool bar, plain, quiet;
    double start, last;
    int64_t size;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_show(struct progress *p, int64_t rows, int64_t bytes, bool last)
{
    if (p->quiet || (!p->bar && !p->plain))
        return;
    double t = now_s();
    if (!last && t - p->last < (p->bar ? 0.2 : 5.0))
        return;
    p->last = t;
    double el = t - p->start;
    double rate = el > 0 ? (double)rows / el : 0;
    if (p->bar) {
        char tail[128] = "";
        int pct = -1;
        if (p->size > 0 && bytes > 0) {
            pct = (int)((double)bytes * 100.0 / (double)p->size);
            double eta = rate > 0 ? el * ((double)p->size / (double)bytes - 1.0) : 0;
            int64_t total = (int64_t)((double)rows * (double)p->size / (double)bytes);
            snprintf(tail, sizeof(tail), "/~%lld %3d%% %.0f rows/s ETA %.0fs", (long long)total,
                     pct, rate, eta);
        } else {
            snprintf(tail, sizeof(tail), " %.0f rows/s", rate);
        }
        char bar[31];
        int fill = pct < 0 ? 0 : pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %lld%s\033[K%s", bar, (long long)rows, tail, last ? "\n" : "");
    } else {
        if (p->size > 0 && bytes > 0)
            fprintf(stderr, "import: %lld rows, %d%% of the file, %.0f rows/s\n", (long long)rows,
                    (int)((double)bytes * 100.0 / (double)p->size), rate);
        else
            fprintf(stderr, "import: %lld rows, %.0f rows/s\n", (long long)rows, rate);
    }
    fflush(stderr);
}

/* --- the report --- */

struct report {
    FILE *f;
    bool jsonl;
    int shown;
};

static void csv_cell(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *row_value(const struct roster_import_row *row)
{
    if (!row->err.field)
        return NULL;
    for (int i = 0; i < RU_NFIELDS; i++)
        if (strcmp(roster_ufields[i].label, row->err.field) == 0)
            return row->u.f[i];
    if (strcmp(row->err.field, "state") == 0 && (row->u.set & ROSTER_USET_STATE))
        return roster_state_name(row->u.state);
    return NULL;
}

static void report_row(struct report *rp, const struct roster_import_row *row, bool quiet)
{
    const char *value = row_value(row);
    const char *action = roster_import_action_name(row->action);
    if (rp->shown < MAX_SHOWN_ERRORS && row->action == RIA_REJECTED && !quiet)
        fprintf(stderr, "line %ld: %s%s%s\n", row->line, row->err.field ? row->err.field : "",
                row->err.field ? ": " : "", row->err.msg);
    if (row->action == RIA_REJECTED)
        rp->shown++;
    if (!rp->f)
        return;
    if (rp->jsonl) {
        struct roster_buf b;
        roster_buf_init(&b);
        struct roster_jsonw w;
        roster_jsonw_init(&w, &b);
        roster_jsonw_obj_begin(&w);
        roster_jsonw_key(&w, "line");
        roster_jsonw_int(&w, row->line);
        roster_jsonw_key(&w, "action");
        roster_jsonw_str(&w, action);
        roster_jsonw_key(&w, "field");
        roster_jsonw_str(&w, row->err.field);
        roster_jsonw_key(&w, "value");
        roster_jsonw_str(&w, value);
        roster_jsonw_key(&w, "reason");
        roster_jsonw_str(&w, row->err.msg);
        roster_jsonw_obj_end(&w);
        fwrite(b.data, 1, b.len, rp->f);
        fputc('\n', rp->f);
        roster_buf_release(&b);
    } else {
        fprintf(rp->f, "%ld,%s,", row->line, action);
        csv_cell(rp->f, row->err.field);
        fputc(',', rp->f);
        csv_cell(rp->f, value);
        fputc(',', rp->f);
        csv_cell(rp->f, row->err.msg);
        fputc('\n', rp->f);
    }
}

/* --- the command --- */

static const char *const usage_text =
    "usage: roster import FILE|- [--store PATH|URL | --url URL --key KEY] [--org ORG_ID]\n"
    "         [--format csv|ndjson|jsonl|json] [--map COLUMN=FIELD]...\n"
    "         [--mode skip|fail|overwrite|sync] [--match username|email|employeeid|externalid]\n"
    "         [--missing suspend|delete|keep] [--max-changes N] [--force] [--dry-run]\n"
    "         [--no-bulk-load]\n"
    "         [--report FILE.csv|FILE.jsonl] [--quiet] [--no-progress]\n"
    "exit status: 0 every row applied, 1 rows rejected, 2 usage or unreadable file,\n"
    "             3 sync refused by --max-changes, 4 store failure\n";

static int pick(const char *v, const char *const *names, int n, int def, const char *flag)
{
    if (!v)
        return def;
    for (int i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    fprintf(stderr, "roster import: %s \"%s\" is not one of", flag, v);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, "\n");
    return -1;
}

static int format_of(const char *flag, const char *file)
{
    const char *ext = flag;
    if (!ext) {
        ext = strrchr(file, '.');
        if (!ext)
            return FMT_NONE;
        ext++;
    }
    if (strcasecmp(ext, "csv") == 0)
        return FMT_CSV;
    if (strcasecmp(ext, "ndjson") == 0 || strcasecmp(ext, "jsonl") == 0)
        return FMT_NDJSON;
    if (strcasecmp(ext, "json") == 0)
        return FMT_JSON;
    return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"store", required_argument, NULL, 's'},
        {"org", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"mode", required_argument, NULL, 'm'},
        {"match", required_argument, NULL, 'M'},
        {"missing", required_argument, NULL, 'x'},
        {"report", required_argument, NULL, 'r'},
        {"max-changes", required_argument, NULL, 'c'},
        {"map", required_argument, NULL, 'p'},
        {"url", required_argument, NULL, 'u'},
        {"key", required_argument, NULL, 'k'},
        {"dry-run", no_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'F'},
        {"no-bulk-load", no_argument, NULL, 'B'},
        {"quiet", no_argument, NULL, 'q'},
        {"no-progress", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"commit-rows", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->store = optarg;
            break;
        case 'o':
            o->org = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'm':
            o->mode = optarg;
            break;
        case 'M':
            o->match = optarg;
            break;
        case 'x':
            o->missing = optarg;
            break;
        case 'r':
            o->report = optarg;
            break;
        case 'c':
            o->max_changes = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'C':
            o->commit_rows = optarg;
            break;
        case 'd':
            o->dry_run = 1;
            break;
        case 'F':
            o->force = 1;
            break;
        case 'B':
            o->no_bulk_load = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'n':
            o->no_progress = 1;
            break;
        case 'p':
            if (o->nmaps == (int)(sizeof(o->maps) / sizeof(o->maps[0])) || !strchr(optarg, '=')) {
                fprintf(stderr, "roster import: --map takes COLUMN=FIELD (at most 64)\n");
                return -1;
            }
            o->maps[o->nmaps++] = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        default:
            fputs(usage_text, stderr);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fputs(usage_text, stderr);
        return -1;
    }
    o->file = argv[optind];
    return 0;
}

/* The organisation: --org, or the store's only one. */
static int pick_org(struct roster_conn *c, const char *flag, struct roster_arena *a, char *out)
{
    struct roster_err err = {0};
    if (flag) {
        struct roster_org org;
        if (!roster_id_valid(flag) || roster_store_org_get(c, flag, &org, a, &err) != 0) {
            fprintf(stderr, "roster import: organisation \"%s\" not found\n", flag);
            return -1;
        }
        snprintf(out, ROSTER_ID_LEN + 1, "%s", flag);
        return 0;
    }
    struct roster_org *orgs;
    size_t n;
    if (roster_store_org_list(c, a, &orgs, &n, &err) != 0) {
        fprintf(stderr, "roster import: cannot list the organisations: %s\n", err.msg);
        return -1;
    }
    if (n != 1) {
        fprintf(stderr, "roster import: the store has %zu organisations: name one with --org\n", n);
        return -1;
    }
    snprintf(out, ROSTER_ID_LEN + 1, "%s", orgs[0].id);
    return 0;
}

/* --- remote (--url): the rows through the callbacks of import_remote.h --- */

struct remote_src {
    struct reader *r;
    const struct opts *o;
    struct report *rp;
    struct progress *pg;
};

static int remote_read(void *ctx, struct roster_import_row *rows, size_t max, size_t *n,
                       struct roster_arena *a)
{
    struct remote_src *s = ctx;
    return read_batch(s->r, rows, max, n, a);
}

/* Back to the first row: the file again from its start, the CSV header read again. */
static int remote_rewind(void *ctx)
{
    struct remote_src *s = ctx;
    struct reader *r = s->r;
    if (fseek(r->f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "roster import: cannot read the file again: %s\n", strerror(errno));
        return -1;
    }
    r->offset = 0;
    r->line = 0;
    r->in_array = r->array_done = false;
    if (r->format == FMT_CSV) {
        roster_csv_close(r->csv);
        free(r->cols);
        r->cols = NULL;
        r->csv = roster_csv_open(r->f);
        if (!r->csv || csv_header(r, s->o) != 0)
            return -1;
    }
    return 0;
}

static void remote_report(void *ctx, const struct roster_import_row *row)
{
    struct remote_src *s = ctx;
    report_row(s->rp, row, s->o->quiet);
}

static void remote_progress(void *ctx, int64_t rows, bool last)
{
    struct remote_src *s = ctx;
    progress_show(s->pg, rows, reader_offset(s->r), last);
}

/* `roster import --url`: header, report, progress and summary as on a store. */
static int import_remote_cmd(const struct opts *o, const struct roster_import_opts *io,
                             int64_t max_changes, struct reader *r, struct report *rp)
{
    if (r->f == stdin) { /* some modes read the rows twice: standard input is kept */
        FILE *t = tmpfile();
        char buf[65536];
        size_t n;
        while (t && (n = fread(buf, 1, sizeof(buf), stdin)) > 0)
            if (fwrite(buf, 1, n, t) != n) {
                fclose(t);
                t = NULL;
            }
        if (!t || ferror(stdin) || fseek(t, 0, SEEK_SET) != 0) {
            fprintf(stderr, "roster import: cannot keep standard input in a temporary file\n");
            if (t)
                fclose(t);
            return EXIT_USAGE;
        }
        r->f = t;
    }
    if (r->format == FMT_CSV) {
        r->csv = roster_csv_open(r->f);
        if (!r->csv || csv_header(r, o) != 0)
            return EXIT_USAGE;
    }
    struct roster_remote_opts ro = {
        .url = o->url,
        .key = o->key,
        .org = o->org,
        .mode = io->mode,
        .match = io->match,
        .missing = io->missing,
        .dry_run = io->dry_run,
        .quiet = o->quiet,
        .max_changes = max_changes,
        .file_key = io->file_key,
    };
    struct roster_remote_import *im = NULL;
    int code = roster_remote_import_begin(&ro, &im);
    if (code)
        return code;
    int64_t resumed = roster_remote_import_resumed(im);
    if (o->report) {
        const char *ext = strrchr(o->report, '.');
        rp->jsonl = ext && (strcasecmp(ext, ".jsonl") == 0 || strcasecmp(ext, ".ndjson") == 0 ||
                            strcasecmp(ext, ".json") == 0);
        rp->f = fopen(o->report, resumed ? "a" : "w");
        if (!rp->f) {
            fprintf(stderr, "roster import: cannot write %s: %s\n", o->report, strerror(errno));
            roster_remote_import_free(im);
            return EXIT_USAGE;
        }
        if (!rp->jsonl && !resumed)
            fputs("line,action,field,value,reason\n", rp->f);
    }
    const char *ci = getenv("CI");
    struct progress pg = {0};
    pg.quiet = o->quiet;
    pg.bar = !o->no_progress && !(ci && *ci) && isatty(2);
    pg.plain = !pg.bar;
    pg.start = pg.last = now_s();
    pg.size = r->size;
    struct remote_src s = {r, o, rp, &pg};
    struct roster_remote_src src = {&s, remote_read, remote_rewind, remote_report, remote_progress};
    int64_t c[RIA_N] = {0}, done = 0;
    int outcome = 0;
    code = roster_remote_import_run(im, &src, c, &done, &outcome);
    if (done > 0 || pg.bar)
        progress_show(&pg, done, reader_offset(r), true);
    static const char *const prefixes[] = {
        [ROSTER_REMOTE_APPLIED] = "",
        [ROSTER_REMOTE_DRY_RUN] = "dry run, would have ",
        [ROSTER_REMOTE_NOTHING_WRITTEN] =
            "nothing written (a row was rejected in --mode fail), would have ",
        [ROSTER_REMOTE_REFUSED] = "refused, would have ",
    };
    printf("%screated %lld, updated %lld, unchanged %lld, skipped %lld, suspended %lld, "
           "deleted %lld, rejected %lld; %lld rows in %.2fs\n",
           prefixes[outcome], (long long)c[RIA_CREATED], (long long)c[RIA_UPDATED],
           (long long)c[RIA_UNCHANGED], (long long)c[RIA_SKIPPED], (long long)c[RIA_SUSPENDED],
           (long long)c[RIA_DELETED], (long long)c[RIA_REJECTED], (long long)done,
           now_s() - pg.start);
    fflush(stdout);
    if (code == 0 && c[RIA_REJECTED] > 0)
        code = EXIT_REJECTED;
    roster_remote_import_free(im);
    return code;
}

int roster_cmd_import(int argc, char **argv)
{
    struct opts o = {0};
    int prc = parse_opts(argc, argv, &o);
    if (prc)
        return prc > 0 ? 0 : EXIT_USAGE;
    static const char *const modes[] = {"skip", "fail", "overwrite", "sync"};
    static const char *const matches[] = {"username", "email", "employeeid", "externalid"};
    static const char *const missings[] = {"suspend", "delete", "keep"};
    struct roster_import_opts io = {0};
    io.mode = pick(o.mode, modes, 4, ROSTER_IMPORT_SKIP, "--mode");
    io.match = pick(o.match, matches, 4, ROSTER_MATCH_USERNAME, "--match");
    io.missing = pick(o.missing, missings, 3, ROSTER_MISSING_SUSPEND, "--missing");
    io.dry_run = o.dry_run;
    io.no_bulk_load = o.no_bulk_load;
    if (io.mode < 0 || io.match < 0 || io.missing < 0)
        return EXIT_USAGE;
    int64_t max_changes = -1;
    if (o.max_changes) {
        char *end;
        errno = 0;
        long long v = strtoll(o.max_changes, &end, 10);
        if (errno || *end || v < 0) {
            fprintf(stderr, "roster import: --max-changes takes a number >= 0\n");
            return EXIT_USAGE;
        }
        max_changes = v;
    }
    if (o.force)
        max_changes = -1;
    if (o.commit_rows) {
        io.commit_rows = strtoll(o.commit_rows, NULL, 10);
        if (io.commit_rows <= 0) {
            fprintf(stderr, "roster import: --commit-rows takes a number > 0\n");
            return EXIT_USAGE;
        }
    }
    bool is_stdin = strcmp(o.file, "-") == 0;
    int format = format_of(o.format, is_stdin ? "" : o.file);
    if (format < 0) {
        fprintf(stderr, "roster import: unknown format \"%s\" (csv, ndjson, jsonl or json)\n",
                o.format ? o.format : strrchr(o.file, '.'));
        return EXIT_USAGE;
    }
    struct reader r = {0};
    r.f = is_stdin ? stdin : fopen(o.file, "rb");
    if (!r.f) {
        fprintf(stderr, "roster import: cannot open %s: %s\n", o.file, strerror(errno));
        return EXIT_USAGE;
    }
    struct stat sb;
    r.size = fstat(fileno(r.f), &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
    char file_key[PATH_MAX + 64];
    char *real = r.size >= 0 && !is_stdin ? realpath(o.file, NULL) : NULL;
    if (real) { /* a file's identity: resumable (stdin is not) */
        snprintf(file_key, sizeof(file_key), "%s|%lld|%lld.%09ld", real, (long long)sb.st_size,
                 (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
        io.file_key = file_key;
        free(real);
    }
    if (format == FMT_NONE) { /* stdin or no extension: by the first byte */
        int ch;
        while ((ch = getc(r.f)) >= 0 && isspace(ch))
            ;
        if (ch >= 0)
            ungetc(ch, r.f);
        format = ch == '[' ? FMT_JSON : ch == '{' ? FMT_NDJSON : FMT_CSV;
    }
    r.format = format;
    if (o.url && o.store) {
        fprintf(stderr, "roster import: --url and --store exclude each other\n");
        if (r.f != stdin)
            fclose(r.f);
        return EXIT_USAGE;
    }

    int code = EXIT_OK;
    struct roster_store *st = NULL;
    struct roster_conn *conn = NULL;
    struct roster_import *im = NULL;
    struct roster_import_row *rows = NULL;
    struct report rp = {0};
    struct roster_arena core_arena, row_arena;
    roster_arena_init(&core_arena, 1 << 20);
    roster_arena_init(&row_arena, 1 << 20);
    struct roster_err err = {0};
    const char *url = roster_cli_store_url(o.store);
    char shown[1024];
    roster_url_redact(url, shown, sizeof(shown));
    if (o.url) {
        code = import_remote_cmd(&o, &io, max_changes, &r, &rp);
        goto out;
    }
    if (roster_store_open(url, &st, &err) != 0 || roster_conn_open(st, &conn, &err) != 0) {
        fprintf(stderr, "roster import: cannot open store %s: %s\n", shown, err.msg);
        code = EXIT_STORE;
        goto out;
    }
    /* a page cache for the users indexes; with the index of a sync it stays under 256 MB */
    roster_store_bulk_hint(conn, (int64_t)128 << 20, &err);
    char org_id[ROSTER_ID_LEN + 1];
    if (pick_org(conn, o.org, &core_arena, org_id) != 0) {
        code = EXIT_USAGE;
        goto out;
    }
    if (format == FMT_CSV) {
        r.csv = roster_csv_open(r.f);
        if (!r.csv || csv_header(&r, &o) != 0) {
            code = EXIT_USAGE;
            goto out;
        }
    }
    struct roster_app app = {0};
    app.store = st;
    struct roster_ctx ctx = {.app = &app, .conn = conn, .arena = &core_arena, .org_id = org_id};
    rows = calloc(BATCH, sizeof(*rows));
    if (!rows) {
        code = EXIT_STORE;
        goto out;
    }
    if (roster_import_begin(&ctx, &io, &im, &err) != 0) {
        fprintf(stderr, "roster import: %s\n", err.msg);
        code = err.code == ROSTER_EUNSUPPORTED ? EXIT_USAGE : EXIT_STORE;
        goto out;
    }
    int64_t resumed = roster_import_resumed(im);
    const char *job_id = roster_import_job_id(im);
    if (*job_id && !o.quiet)
        fprintf(stderr, "roster import: job %s\n", job_id);
    if (o.report) {
        const char *ext = strrchr(o.report, '.');
        rp.jsonl = ext && (strcasecmp(ext, ".jsonl") == 0 || strcasecmp(ext, ".ndjson") == 0 ||
                           strcasecmp(ext, ".json") == 0);
        rp.f = fopen(o.report, resumed ? "a" : "w");
        if (!rp.f) {
            fprintf(stderr, "roster import: cannot write %s: %s\n", o.report, strerror(errno));
            code = EXIT_USAGE;
            goto out;
        }
        if (!rp.jsonl && !resumed)
            fputs("line,action,field,value,reason\n", rp.f);
    }
    if (roster_import_bulk_load(im) && !o.quiet)
        fprintf(stderr, "roster import: the store holds no users: loading with its indexes "
                        "built at the end, in one transaction (--no-bulk-load: not so)\n");
    if (resumed > 0 && !o.quiet)
        fprintf(stderr,
                "roster import: resuming after row %lld (an earlier run of this import "
                "ended there)\n",
                (long long)resumed);
    const char *ci = getenv("CI");
    struct progress pg = {0};
    pg.quiet = o.quiet;
    pg.bar = !o.no_progress && !(ci && *ci) && isatty(2);
    pg.plain = !pg.bar;
    pg.start = pg.last = now_s();
    pg.size = r.size;
    int64_t done = 0;
    for (;;) {
        size_t n = 0;
        size_t want = BATCH;
        if (done < resumed && resumed - done < BATCH)
            want = (size_t)(resumed - done);
        int rrc = read_batch(&r, rows, want, &n, &row_arena);
        if (done < resumed) { /* applied by the earlier run: read again, not applied */
            done += (int64_t)n;
            roster_arena_clear(&row_arena);
            if (rrc != 0 || n < want) {
                code = EXIT_USAGE;
                fprintf(stderr,
                        "roster import: the file ends before row %lld, where the earlier "
                        "run of this import ended\n",
                        (long long)resumed);
                break;
            }
            continue;
        }
        if (n > 0) {
            if (roster_import_batch(im, rows, n, &err) != 0) {
                fprintf(stderr, "roster import: store failure: %s\n", err.msg);
                code = EXIT_STORE;
                goto out;
            }
            for (size_t i = 0; i < n; i++)
                if (rows[i].action == RIA_REJECTED || rows[i].action == RIA_SKIPPED)
                    report_row(&rp, &rows[i], o.quiet);
            done += (int64_t)n;
            roster_arena_clear(&row_arena);
            progress_show(&pg, done, reader_offset(&r), false);
        }
        if (rrc != 0) {
            code = EXIT_USAGE;
            break;
        }
        if (n < want || roster_import_stopped(im))
            break;
    }
    if (done > 0 || pg.bar)
        progress_show(&pg, done, reader_offset(&r), true);
    int outcome = 0;
    if (code == EXIT_USAGE)
        roster_import_cancel(im); /* an unreadable file: the open transaction is not kept */
    if (roster_import_finish(im, max_changes, &outcome, &err) != 0) {
        fprintf(stderr, "roster import: store failure: %s\n", err.msg);
        code = EXIT_STORE;
        goto out;
    }
    if (roster_import_bulk_load(im) > 0 && !o.quiet)
        fprintf(stderr,
                "roster import: the bulk load ended at line %ld (a key that may repeat an "
                "earlier row's, or one outside ASCII); the rows from there went in one by one\n",
                roster_import_bulk_load(im));
    int64_t c[RIA_N];
    roster_import_counts(im, c);
    const char *prefix = "";
    if (outcome == ROSTER_IMPORT_TOO_MANY) {
        int64_t changes = c[RIA_CREATED] + c[RIA_UPDATED] + c[RIA_SUSPENDED] + c[RIA_DELETED];
        fprintf(stderr,
                "roster import: refused: the sync would change %lld users, more than "
                "--max-changes %lld; nothing was written (--force to apply it)\n",
                (long long)changes, (long long)max_changes);
        prefix = "refused, would have ";
        if (code == EXIT_OK)
            code = EXIT_TOO_MANY;
    } else if (o.dry_run) {
        prefix = "dry run, would have ";
    } else if (outcome == ROSTER_IMPORT_ROLLED_BACK && code == EXIT_USAGE) {
        prefix = "stopped at an unreadable part of the file, not written since the last commit: ";
    } else if (outcome == ROSTER_IMPORT_ROLLED_BACK) {
        prefix = "nothing written (a row was rejected in --mode fail), would have ";
    }
    printf("%screated %lld, updated %lld, unchanged %lld, skipped %lld, suspended %lld, "
           "deleted %lld, rejected %lld; %lld rows in %.2fs",
           prefix, (long long)c[RIA_CREATED], (long long)c[RIA_UPDATED],
           (long long)c[RIA_UNCHANGED], (long long)c[RIA_SKIPPED], (long long)c[RIA_SUSPENDED],
           (long long)c[RIA_DELETED], (long long)c[RIA_REJECTED], (long long)done,
           now_s() - pg.start);
    if (outcome == ROSTER_IMPORT_COMMITTED && *job_id)
        printf("; job %s", job_id);
    putchar('\n');
    fflush(stdout);
    if (code == EXIT_OK && c[RIA_REJECTED] > 0)
        code = EXIT_REJECTED;
out:
    roster_import_free(im);
    free(rows);
    if (rp.f && fclose(rp.f) != 0 && code == EXIT_OK)
        code = EXIT_USAGE;
    roster_csv_close(r.csv);
    free(r.cols);
    free(r.buf);
    if (r.f && r.f != stdin)
        fclose(r.f);
    roster_arena_release(&core_arena);
    roster_arena_release(&row_arena);
    if (conn)
        roster_conn_close(conn);
    if (st)
        roster_store_close(st);
    return code;
}
