/* `roster export`: the users of one organisation to CSV, JSONL or a JSON array, on stdout or
 * into a file (docs/import-export.md, "Export").
 *
 * - One snapshot, constant memory: core's roster_users_scan reads the users in id order, a
 *   keyset page at a time, inside one read transaction (SQLite) or REPEATABLE READ
 *   transaction (PostgreSQL), so the file is one state of the organisation while the
 *   server keeps writing, and memory is two pages whatever the number of users. Each page
 *   is encoded into one buffer and written out before the next is read.
 * - Field names are the JumpCloud ones that `roster import` and the JumpCloud
 *   bulk-user-create object accept: a JSONL line is such an object (its settings kept in
 *   the extra object written back as top-level keys), so `roster export | roster import`
 *   gives every field back. CSV cells hold the text of string fields and the JSON text of
 *   the JSON-valued ones (phoneNumbers, attributes, addresses); RFC 4180 quoting, CRLF.
 * - Filters are the JumpCloud list's (`--filter lastname:eq:Doe`, roster_filter_parse with
 *   the JumpCloud field names), `--state` one more filter.
 * - A file is written under a temporary name and renamed when complete: a failed export
 *   leaves no partial file behind.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/progress.h"
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/cli.h"
#include "roster/core.h"
#include "roster/jsonr.h"
#include "roster/jsonw.h"
#include "roster/list.h"
#include "roster/query.h"
#include "roster/store.h"

static const char usage[] =
    "usage: roster export --org ORG_ID [--store PATH|URL] [--format csv|jsonl|json]\n"
    "                     [--fields NAME,...] [--filter FIELD:OP:VALUE]... [--state STATE]\n"
    "                     [--output FILE|-] [--no-progress] [--quiet] [--page-size N]\n"
    "  Writes the organisation's users (one snapshot) to FILE or stdout (-, the default).\n"
    "  Format: --format, else the extension of FILE (.csv, .jsonl/.ndjson, .json), else jsonl.\n"
    "  Fields: JumpCloud names (username, email, firstname, ..., state, _id, created, extra (the\n"
    "  JumpCloud settings: a JSON object in CSV, keys in JSON), or one setting such as mfa);\n"
    "  default: every field. Filters: as filter= of GET /api/systemusers.\n";

enum fmt { F_CSV, F_JSONL, F_JSON };

/* What a column holds */
enum col_kind { C_FIELD, C_STATE, C_ID, C_CREATED, C_SETTING, C_EXTRA };

struct col {
    int kind;         /* enum col_kind */
    int field;        /* C_FIELD: enum roster_ufield */
    const char *name; /* the header / key */
    size_t name_len;
};

#define MAX_COLS 96

struct export
{
    int fmt;
    struct col cols[MAX_COLS];
    size_t ncols;
    bool need_extra; /* a C_SETTING column: the extra object is read per user */
    FILE *out;
    struct roster_buf buf;
    struct roster_arena scratch;
    int64_t rows;
    struct roster_progress prog;
    bool io_failed;
    int64_t total; /* the scan's count, known from its first page on */
};

static int parse_format(const char *s, int *fmt)
{
    if (strcasecmp(s, "csv") == 0)
        *fmt = F_CSV;
    else if (strcasecmp(s, "jsonl") == 0 || strcasecmp(s, "ndjson") == 0)
        *fmt = F_JSONL;
    else if (strcasecmp(s, "json") == 0)
        *fmt = F_JSON;
    else
        return -1;
    return 0;
}

/* The format named by a file's extension, or -1. */
static int format_of_path(const char *path, int *fmt)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && slash > dot))
        return -1;
    return parse_format(dot + 1, fmt);
}

static void col_add(struct export *x, int kind, int field, const char *name)
{
    if (x->ncols == MAX_COLS)
        return;
    x->cols[x->ncols++] = (struct col){kind, field, name, strlen(name)};
}

static void default_cols(struct export *x)
{
    /* CSV: every field (roster import reads the SCIM ones too); JSON: the JumpCloud object,
     * without the SCIM-only fields that JumpCloud neither reads nor shows */
    for (int i = 0; i < RU_NFIELDS; i++)
        if (i != RU_EXTRA && (x->fmt == F_CSV || !roster_ufields[i].scim_only))
            col_add(x, C_FIELD, i, roster_ufields[i].label);
    col_add(x, C_STATE, 0, "state");
    col_add(x, C_EXTRA, 0, "extra");
}

/* One name of --fields: a JumpCloud label (or the store column name, an alias), state,
 * _id (or id), created, or a JumpCloud setting. */
static int add_named(struct export *x, const char *name, struct roster_arena *a)
{
    for (int i = 0; i < RU_NFIELDS; i++) {
        if (i == RU_EXTRA)
            continue;
        if (strcmp(name, roster_ufields[i].label) == 0 ||
            strcmp(name, roster_ufields[i].column) == 0) {
            col_add(x, C_FIELD, i, roster_ufields[i].label);
            return 0;
        }
    }
    if (strcmp(name, "state") == 0)
        col_add(x, C_STATE, 0, "state");
    else if (strcmp(name, "_id") == 0 || strcmp(name, "id") == 0)
        col_add(x, C_ID, 0, "_id");
    else if (strcmp(name, "created") == 0)
        col_add(x, C_CREATED, 0, "created");
    else if (strcmp(name, "extra") == 0)
        col_add(x, C_EXTRA, 0, "extra");
    else if (jc_user_setting(name)) {
        col_add(x, C_SETTING, 0, roster_arena_strdup(a, name));
        x->need_extra = true;
    } else
        return -1;
    return 0;
}

static int parse_fields(struct export *x, const char *spec, struct roster_arena *a)
{
    char *copy = roster_arena_strdup(a, spec), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t n = strlen(t);
        while (n && t[n - 1] == ' ')
            t[--n] = '\0';
        if (!*t)
            continue;
        if (x->ncols == MAX_COLS) {
            fprintf(stderr, "roster: --fields names more than %d fields\n", MAX_COLS);
            return -1;
        }
        if (add_named(x, t, a) != 0) {
            fprintf(stderr,
                    "roster: --fields: unknown field \"%.80s\" (use JumpCloud names: username, "
                    "email, firstname, lastname, employeeIdentifier, ..., state, _id, created, "
                    "or a JumpCloud setting such as mfa)\n",
                    t);
            return -1;
        }
    }
    if (x->ncols == 0) {
        fprintf(stderr, "roster: --fields names no field\n");
        return -1;
    }
    return 0;
}

/* --- CSV --- */

static void csv_cell(struct roster_buf *b, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        roster_buf_add(b, s, n);
        return;
    }
    roster_buf_addch(b, '"');
    const char *p = s, *end = s + n;
    for (const char *q; (q = memchr(p, '"', (size_t)(end - p))) != NULL; p = q + 1) {
        roster_buf_add(b, p, (size_t)(q - p) + 1);
        roster_buf_addch(b, '"');
    }
    roster_buf_add(b, p, (size_t)(end - p));
    roster_buf_addch(b, '"');
}

static void csv_header(struct export *x)
{
    for (size_t i = 0; i < x->ncols; i++) {
        if (i)
            roster_buf_addch(&x->buf, ',');
        csv_cell(&x->buf, x->cols[i].name, x->cols[i].name_len);
    }
    roster_buf_add(&x->buf, "\r\n", 2);
}

/* The value of setting name in the extra object text of u: 1 found (*v), else 0. */
static int setting_of(const struct roster_user *u, const char *name, struct roster_jsonr_val *v)
{
    const char *extra = u->f[RU_EXTRA];
    struct roster_jsonr_val obj;
    if (!extra || !*extra || roster_jsonr_parse(extra, strlen(extra), &obj) != 0 ||
        obj.type != ROSTER_JSONR_OBJECT)
        return 0;
    return roster_jsonr_get(&obj, name, v) == 1 && v->type != ROSTER_JSONR_NULL;
}

static void csv_row(struct export *x, const struct roster_user *u)
{
    struct roster_buf *b = &x->buf;
    for (size_t i = 0; i < x->ncols; i++) {
        const struct col *c = &x->cols[i];
        if (i)
            roster_buf_addch(b, ',');
        switch (c->kind) {
        case C_FIELD: {
            const char *v = u->f[c->field];
            if (v)
                csv_cell(b, v, strlen(v));
            break;
        }
        case C_STATE:
            roster_buf_addstr(b, roster_state_name(u->state));
            break;
        case C_ID:
            roster_buf_addstr(b, u->id);
            break;
        case C_CREATED: {
            char t[32];
            roster_time_format(u->created_ms, t);
            roster_buf_addstr(b, t);
            break;
        }
        case C_EXTRA: { /* every setting: the JSON object text */
            const char *v = u->f[RU_EXTRA];
            if (v && *v && strcmp(v, "{}") != 0)
                csv_cell(b, v, strlen(v));
            break;
        }
        default: { /* C_SETTING: a string as its text, any other value as its JSON text */
            struct roster_jsonr_val v;
            if (!setting_of(u, c->name, &v))
                break;
            const char *s;
            size_t n;
            if (v.type == ROSTER_JSONR_STRING && roster_jsonr_str(&v, &x->scratch, &s, &n) == 0)
                csv_cell(b, s, n);
            else
                csv_cell(b, v.raw, v.len);
            break;
        }
        }
    }
    roster_buf_add(b, "\r\n", 2);
}

/* --- JSON --- */

/* Appends the members of u's extra object (a comma first when more is true); whether any. */
static bool splice_extra(struct export *x, const struct roster_user *u, bool more)
{
    const char *extra = u->f[RU_EXTRA];
    struct roster_jsonr_val obj, k, v;
    struct roster_jsonr it;
    bool any = false;
    if (!extra || extra[0] != '{' || roster_jsonr_parse(extra, strlen(extra), &obj) != 0 ||
        roster_jsonr_open(&it, &obj) != 0)
        return false;
    while (roster_jsonr_next(&it, &k, &v) == 1) {
        if (roster_jsonr_str_eq(&k, ROSTER_EXTRA_SCIM))
            continue; /* the SCIM dialect's attributes: not a JumpCloud key */
        if (more || any)
            roster_buf_addch(&x->buf, ',');
        roster_buf_add(&x->buf, k.raw, k.len);
        roster_buf_addch(&x->buf, ':');
        roster_buf_add(&x->buf, v.raw, v.len);
        any = true;
    }
    return any;
}

static void json_user(struct export *x, const struct roster_user *u)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, &x->buf);
    roster_jsonw_obj_begin(&w);
    bool any = false;
    for (size_t i = 0; i < x->ncols; i++) {
        const struct col *c = &x->cols[i];
        switch (c->kind) {
        case C_FIELD: {
            const char *v = u->f[c->field];
            if (!v)
                continue; /* absent: no key (bulk-user-create leaves it unset) */
            roster_jsonw_key_lit(&w, c->name, c->name_len);
            if (roster_ufields[c->field].kind == RU_KIND_STR)
                roster_jsonw_str(&w, v);
            else
                roster_jsonw_raw(&w, *v ? v : "[]");
            break;
        }
        case C_STATE:
            roster_jsonw_key_lit(&w, c->name, c->name_len);
            roster_jsonw_str(&w, roster_state_name(u->state));
            break;
        case C_ID:
            roster_jsonw_key_lit(&w, c->name, c->name_len);
            roster_jsonw_str(&w, u->id);
            break;
        case C_CREATED:
            roster_jsonw_ktime(&w, c->name, u->created_ms);
            break;
        case C_EXTRA:
            /* every setting the user has, as top-level keys (bulk-user-create's shape): the
             * extra object's members as stored (compact JSON written by the decoder) */
            if (!splice_extra(x, u, any))
                continue;
            w.has_item[w.depth] = true; /* the writer's next key needs a comma */
            break;
        default: {
            struct roster_jsonr_val v;
            if (!setting_of(u, c->name, &v))
                continue;
            roster_jsonw_key(&w, c->name);
            roster_jsonw_raw(&w, roster_arena_strndup(&x->scratch, v.raw, v.len));
            break;
        }
        }
        any = true;
    }
    roster_buf_addch(&x->buf, '}');
}

/* --- the scan --- */

static int flush_buf(struct export *x, struct roster_err *err)
{
    if (x->buf.len && fwrite(x->buf.data, 1, x->buf.len, x->out) != x->buf.len) {
        x->io_failed = true;
        return roster_err_set(err, ROSTER_EIO, "cannot write the output: %s", strerror(errno));
    }
    roster_buf_reset(&x->buf);
    return 0;
}

static int on_page(void *arg, const struct roster_user *rows, size_t n, struct roster_err *err)
{
    struct export *x = arg;
    for (size_t i = 0; i < n; i++) {
        const struct roster_user *u = &rows[i];
        switch (x->fmt) {
        case F_CSV:
            csv_row(x, u);
            break;
        case F_JSONL:
            json_user(x, u);
            roster_buf_addch(&x->buf, '\n');
            break;
        default: /* an element of the array, one a line */
            if (x->rows + (int64_t)i > 0)
                roster_buf_addch(&x->buf, ',');
            roster_buf_addch(&x->buf, '\n');
            json_user(x, u);
            break;
        }
    }
    x->rows += (int64_t)n;
    x->prog.total = x->total;
    roster_arena_clear(&x->scratch);
    int code = flush_buf(x, err);
    roster_progress_update(&x->prog, x->rows, 0);
    return code;
}

/* Repeated --filter: getopt_long by hand (roster_cli_options keeps one value per option). */
struct opts {
    const char *store, *org, *format, *fields, *state, *output, *page_size;
    const char *filters[ROSTER_QUERY_MAX_FILTERS];
    size_t nfilters;
    int quiet, no_progress;
};

static int read_opts(int argc, char **argv, struct opts *o)
{
    enum { O_STORE = 256, O_ORG, O_FORMAT, O_FIELDS, O_FILTER, O_STATE, O_OUTPUT, O_PAGE };
    static const struct option longopts[] = {
        {"store", required_argument, NULL, O_STORE},
        {"org", required_argument, NULL, O_ORG},
        {"format", required_argument, NULL, O_FORMAT},
        {"fields", required_argument, NULL, O_FIELDS},
        {"filter", required_argument, NULL, O_FILTER},
        {"state", required_argument, NULL, O_STATE},
        {"output", required_argument, NULL, O_OUTPUT},
        {"page-size", required_argument, NULL, O_PAGE},
        {"quiet", no_argument, NULL, 'q'},
        {"no-progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:q", longopts, NULL)) != -1) {
        switch (ch) {
        case O_STORE:
            o->store = optarg;
            break;
        case O_ORG:
            o->org = optarg;
            break;
        case O_FORMAT:
            o->format = optarg;
            break;
        case O_FIELDS:
            o->fields = optarg;
            break;
        case O_FILTER:
            if (o->nfilters == ROSTER_QUERY_MAX_FILTERS) {
                fprintf(stderr, "roster: more than %d --filter options\n",
                        ROSTER_QUERY_MAX_FILTERS);
                return -1;
            }
            o->filters[o->nfilters++] = optarg;
            break;
        case O_STATE:
            o->state = optarg;
            break;
        case 'o':
        case O_OUTPUT:
            o->output = optarg;
            break;
        case O_PAGE:
            o->page_size = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'P':
            o->no_progress = 1;
            break;
        case 'h':
            return 1;
        default:
            return -1;
        }
    }
    return 0;
}

/* The query of the options: the filters and --state. 0, or 2 after a message. */
static int build_query(const struct opts *o, struct roster_query *q, struct roster_arena *a)
{
    roster_query_init(q);
    q->limit = -1;
    struct roster_err err = {0};
    for (size_t i = 0; i < o->nfilters; i++) {
        if (roster_filter_parse(q, o->filters[i], jc_user_qnames, a, &err) != 0) {
            fprintf(stderr, "roster: --filter: %s\n", err.msg);
            return 2;
        }
    }
    if (o->state) {
        char up[16];
        size_t n = strlen(o->state);
        int st;
        for (size_t i = 0; i < n && i < sizeof(up) - 1; i++)
            up[i] =
                (char)(o->state[i] >= 'a' && o->state[i] <= 'z' ? o->state[i] - 32 : o->state[i]);
        up[n < sizeof(up) - 1 ? n : sizeof(up) - 1] = '\0';
        if (n >= sizeof(up) || roster_state_parse(up, &st) != 0) {
            fprintf(stderr,
                    "roster: --state \"%.40s\" is not one of STAGED, ACTIVATED, SUSPENDED\n",
                    o->state);
            return 2;
        }
        char expr[32];
        snprintf(expr, sizeof(expr), "state:eq:%s", up);
        if (roster_filter_parse(q, expr, jc_user_qnames, a, &err) != 0) {
            fprintf(stderr, "roster: --state: %s\n", err.msg);
            return 2;
        }
    }
    return 0;
}

static const char *const fmt_names[] = {"csv", "jsonl", "json"};

/* The export itself on an open store: 0, 1 on failure (message printed). */
static int run(struct export *x, const struct opts *o, const struct roster_query *q,
               struct roster_conn *c, struct roster_arena *a, size_t page)
{
    struct roster_ctx ctx = {.conn = c, .arena = a, .org_id = o->org};
    struct roster_err err = {0};
    struct roster_org org;
    if (!roster_id_valid(o->org) || roster_org_get(&ctx, o->org, &org, &err) != 0) {
        if (err.code && err.code != ROSTER_ENOTFOUND)
            fprintf(stderr, "roster: %s %s\n", err.msg, err.detail);
        else
            fprintf(stderr, "roster: organization \"%.80s\" not found\n", o->org);
        return 1;
    }
    if (x->fmt == F_CSV)
        csv_header(x);
    else if (x->fmt == F_JSON)
        roster_buf_addch(&x->buf, '[');
    /* the progress starts with the first page: the total is counted in the scan's snapshot */
    roster_progress_start(&x->prog, roster_progress_mode(o->quiet, o->no_progress), "export",
                          "users", -1, -1);
    int code = roster_users_scan(&ctx, q, page, &x->total, on_page, x, &err);
    x->prog.total = x->total;
    if (!code) {
        if (x->fmt == F_JSON)
            roster_buf_add(&x->buf, x->rows ? "\n]\n" : "]\n", x->rows ? 3 : 2);
        code = flush_buf(x, &err);
    }
    if (!code && fflush(x->out) != 0)
        code = roster_err_set(&err, ROSTER_EIO, "cannot write the output: %s", strerror(errno));
    roster_progress_update(&x->prog, x->rows, 0);
    roster_progress_end(&x->prog);
    if (code) {
        fprintf(stderr, "roster: export failed after %lld users: %s %s\n", (long long)x->rows,
                err.msg, err.detail);
        return 1;
    }
    double secs = (double)roster_progress_elapsed_ms(&x->prog) / 1000.0;
    fprintf(stderr, "exported %lld users (%s) in %.2f s\n", (long long)x->rows, fmt_names[x->fmt],
            secs);
    return 0;
}

int roster_cmd_export(int argc, char **argv)
{
    struct opts o = {0};
    int parsed = read_opts(argc, argv, &o);
    if (parsed == 1) {
        printf("%s", usage);
        return 0;
    }
    if (parsed != 0 || optind < argc || !o.org) {
        if (parsed == 0 && optind < argc)
            fprintf(stderr, "roster: unexpected argument \"%.80s\"\n", argv[optind]);
        else if (parsed == 0)
            fprintf(stderr, "roster: --org is required\n");
        fprintf(stderr, "%s", usage);
        return 2;
    }
    struct export x = {0};
    const char *path = o.output && strcmp(o.output, "-") != 0 ? o.output : NULL;
    if (o.format) {
        if (parse_format(o.format, &x.fmt) != 0) {
            fprintf(stderr, "roster: --format \"%.40s\" is not one of csv, jsonl, json\n",
                    o.format);
            return 2;
        }
    } else if (!path || format_of_path(path, &x.fmt) != 0) {
        x.fmt = F_JSONL;
    }
    size_t page = 0;
    if (o.page_size) {
        int64_t v;
        if (roster_parse_i64(o.page_size, &v) != 0 || v < 1 || v > 100000) {
            fprintf(stderr, "roster: --page-size \"%.40s\" is not a number from 1 to 100000\n",
                    o.page_size);
            return 2;
        }
        page = (size_t)v;
    }
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_query q;
    int rc = build_query(&o, &q, &a);
    if (!rc && o.fields && parse_fields(&x, o.fields, &a) != 0)
        rc = 2;
    if (!rc && !o.fields)
        default_cols(&x);
    if (rc) {
        roster_arena_release(&a);
        return rc;
    }

    struct roster_err err = {0};
    const char *url = roster_cli_store_url(o.store);
    char shown[1024];
    roster_url_redact(url, shown, sizeof(shown));
    struct roster_store *st = NULL;
    struct roster_conn *c = NULL;
    if (roster_store_open(url, &st, &err) != 0 || roster_conn_open(st, &c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        if (st)
            roster_store_close(st);
        roster_arena_release(&a);
        return 1;
    }
    char *tmp = NULL;
    if (path) {
        tmp = roster_arena_printf(&a, "%s.tmp-%ld", path, (long)getpid());
        x.out = fopen(tmp, "wb");
        if (!x.out) {
            fprintf(stderr, "roster: cannot write %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    } else {
        x.out = stdout;
    }
    roster_buf_init(&x.buf);
    roster_arena_init(&x.scratch, 0);
    if (!rc)
        rc = run(&x, &o, &q, c, &a, page);
    if (path && x.out) {
        if (fclose(x.out) != 0 && !rc) {
            fprintf(stderr, "roster: cannot write %s: %s\n", path, strerror(errno));
            rc = 1;
        }
        if (!rc && rename(tmp, path) != 0) {
            fprintf(stderr, "roster: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
            rc = 1;
        }
        if (rc)
            unlink(tmp);
    }
    roster_buf_release(&x.buf);
    roster_arena_release(&x.scratch);
    roster_arena_release(&a);
    roster_conn_close(c);
    roster_store_close(st);
    return rc;
}
