/* Voximplant transport: where parameters come from (query string, multipart/form-data,
 * x-www-form-urlencoded or JSON body; chunked bodies arrive decoded from libmicrohttpd),
 * the cmd dispatch, value readers, and the error body. HTTP status is always 200: the
 * official client returns an {"error"} body of a 2xx answer to the caller and throws on
 * anything else.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialect/voximplant/voximplant.h"
#include "roster/jsonutil.h"

static void write_error(struct roster_req *r, int code, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "error");
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "msg", msg);
    roster_jsonw_kint(&w, "code", code);
    roster_jsonw_obj_end(&w);
    roster_jsonw_obj_end(&w);
}

/* Errors raised by the HTTP layer (auth, body size, unknown path) in this dialect. */
static void vox_error(struct roster_req *r, int status, const char *msg)
{
    int code = VOX_EINVAL;
    if (status == 401 || status == 403)
        code = VOX_EAUTH;
    else if (status == 404 || status == 405)
        code = VOX_EUNKNOWN;
    else if (status == 429)
        code = VOX_ERATELIMIT;
    else if (status >= 500)
        code = VOX_EINTERNAL;
    write_error(r, code, msg);
}

const struct roster_dialect roster_voximplant_dialect = {"voximplant", ROSTER_AUTH_JWT, vox_error};

int vox_fail(struct vox_call *c, int code, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    write_error(c->r, code, msg);
    c->failed = true;
    return -1;
}

int vox_fail_err(struct vox_call *c, const struct roster_err *err)
{
    int code = VOX_EINVAL;
    if (err->code == ROSTER_EAUTH || err->code == ROSTER_EFORBIDDEN)
        code = VOX_EAUTH;
    else if (err->code == ROSTER_EIO || err->code == ROSTER_ENOMEM || err->code == ROSTER_EBUSY ||
             err->code == ROSTER_EUNSUPPORTED)
        code = VOX_EINTERNAL;
    return vox_fail(c, code, "%s", err->msg[0] ? err->msg : "internal error");
}

static void add_param(struct vox_call *c, const char *k, const char *v)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        const char **nk = roster_arena_alloc(c->r->ctx.arena, cap * sizeof(*nk));
        const char **nv = roster_arena_alloc(c->r->ctx.arena, cap * sizeof(*nv));
        if (c->n) {
            memcpy(nk, c->k, c->n * sizeof(*nk));
            memcpy(nv, c->v, c->n * sizeof(*nv));
        }
        c->k = nk;
        c->v = nv;
        c->cap = cap;
    }
    c->k[c->n] = k;
    c->v[c->n] = v;
    c->n++;
}

const char *vox_param(struct vox_call *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->k[i], name) == 0)
            return c->v[i];
    return NULL;
}

static bool query_cb(void *ud, const char *k, const char *v)
{
    struct vox_call *c = ud;
    add_param(c, roster_arena_strdup(c->r->ctx.arena, k),
              roster_arena_strdup(c->r->ctx.arena, v ? v : ""));
    return true;
}

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte; *nul is set when a %00
 * was decoded (the value would end there as a C string). */
static char *form_decode(const char *s, size_t n, struct roster_arena *a, bool *nul)
{
    char *o = roster_arena_alloc(a, n + 1), *p = o;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *p++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && roster_hexval(s[i + 1]) >= 0 &&
                   roster_hexval(s[i + 2]) >= 0) {
            *p = (char)(roster_hexval(s[i + 1]) * 16 + roster_hexval(s[i + 2]));
            *nul = *nul || *p == '\0';
            p++;
            i += 2;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    return o;
}

/* A parameter whose name or value holds a NUL: refused, never cut short at it. */
static int refuse_nul(struct vox_call *c, const char *name)
{
    return vox_fail(c, VOX_EINVAL, "Invalid argument '%.64s': contains a NUL character", name);
}

static int parse_urlencoded(struct vox_call *c, const char *b, size_t n)
{
    struct roster_arena *a = c->r->ctx.arena;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && b[j] != '&')
            j++;
        if (j > i) {
            bool nul = false;
            const char *eq = memchr(b + i, '=', j - i);
            size_t kl = eq ? (size_t)(eq - (b + i)) : j - i;
            const char *v = eq ? form_decode(eq + 1, (size_t)(b + j - eq - 1), a, &nul) : "";
            const char *k = form_decode(b + i, kl, a, &nul);
            if (nul)
                return refuse_nul(c, k);
            add_param(c, k, v);
        }
        i = j + 1;
    }
    return 0;
}

/* The value of parameter name of a header value ("multipart/form-data; boundary=x"). */
static const char *header_param(const char *h, const char *name, struct roster_arena *a)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(h, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nl) != 0 || q[nl] != '=')
            continue;
        q += nl + 1;
        if (*q == '"') {
            const char *e = strchr(q + 1, '"');
            return e ? roster_arena_strndup(a, q + 1, (size_t)(e - q - 1)) : NULL;
        }
        return roster_arena_strndup(a, q, strcspn(q, "; \t"));
    }
    return NULL;
}

static const char *memfind(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    for (const char *p = h; p + nn <= h + hn; p++) {
        p = memchr(p, n[0], (size_t)(h + hn - p));
        if (!p || p + nn > h + hn)
            return NULL;
        if (memcmp(p, n, nn) == 0)
            return p;
    }
    return NULL;
}

/* The headers of a multipart part end within this many bytes, and a body has at most this
 * many parts: each part's headers are looked for in a window of their own, so a body of
 * many parts is read once, not once per part (issue 14). */
#define MP_HEADERS_MAX 8192
#define MP_PARTS_MAX 1000

/* The end of a part's headers (the blank line, CRLF or bare LF) within the first
 * MP_HEADERS_MAX bytes of p, and the separator's length; NULL when there is none. */
static const char *headers_end(const char *p, size_t left, size_t *sep)
{
    size_t win = left < MP_HEADERS_MAX + 4 ? left : MP_HEADERS_MAX + 4;
    const char *crlf = memfind(p, win, "\r\n\r\n", 4);
    const char *lf = memfind(p, crlf ? (size_t)(crlf - p) + 2 : win, "\n\n", 2);
    *sep = lf ? 2 : 4;
    return lf ? lf : crlf;
}

/* multipart/form-data (RFC 7578): every part with a Content-Disposition name is one
 * parameter; its body is the value. */
static int parse_multipart(struct vox_call *c, const char *ct, const char *b, size_t n)
{
    struct roster_arena *a = c->r->ctx.arena;
    const char *boundary = header_param(ct, "boundary", a);
    if (!boundary || !*boundary || strlen(boundary) > 200)
        return vox_fail(c, VOX_EINVAL, "multipart/form-data body without a boundary");
    const char *delim = roster_arena_printf(a, "--%s", boundary);
    size_t dl = strlen(delim);
    const char *end = b + n;
    const char *p = memfind(b, n, delim, dl);
    if (!p)
        return vox_fail(c, VOX_EINVAL, "multipart/form-data body without its boundary");
    for (size_t parts = 0;; parts++) {
        p += dl;
        size_t left = (size_t)(end - p);
        if (left >= 2 && memcmp(p, "--", 2) == 0)
            return 0; /* closing delimiter */
        while (left > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            left--;
        }
        if (left >= 2 && memcmp(p, "\r\n", 2) == 0)
            p += 2;
        else if (left >= 1 && *p == '\n')
            p++;
        else
            break;
        if (parts == MP_PARTS_MAX)
            return vox_fail(c, VOX_EINVAL, "multipart/form-data body with more than %d parts",
                            MP_PARTS_MAX);
        size_t sep;
        const char *hend = headers_end(p, (size_t)(end - p), &sep);
        if (!hend && (size_t)(end - p) > MP_HEADERS_MAX)
            return vox_fail(c, VOX_EINVAL,
                            "multipart/form-data part whose headers are longer than %d bytes",
                            MP_HEADERS_MAX);
        if (!hend)
            break;
        const char *headers = roster_arena_strndup(a, p, (size_t)(hend - p));
        const char *val = hend + sep;
        const char *next = memfind(val, (size_t)(end - val), delim, dl);
        if (!next)
            break;
        const char *vend = next;
        if (vend > val && vend[-1] == '\n')
            vend--;
        if (vend > val && vend[-1] == '\r')
            vend--;
        const char *name = NULL;
        for (const char *h = headers; h && *h;) {
            const char *eol = strchr(h, '\n');
            size_t len = eol ? (size_t)(eol - h) : strlen(h);
            const char *line = roster_arena_strndup(a, h, len);
            if (strncasecmp(line, "content-disposition:", 20) == 0)
                name = header_param(line, "name", a);
            h = eol ? eol + 1 : NULL;
        }
        if (name && memchr(val, '\0', (size_t)(vend - val)))
            return refuse_nul(c, name);
        if (name)
            add_param(c, name, roster_arena_strndup(a, val, (size_t)(vend - val)));
        p = next;
    }
    return vox_fail(c, VOX_EINVAL, "malformed multipart/form-data body");
}

/* A JSON object: strings as they are, numbers and booleans as text, arrays of scalars
 * joined with ';', null skipped. */
static int parse_json(struct vox_call *c, const char *b, size_t n)
{
    struct roster_arena *a = c->r->ctx.arena;
    json_error_t je;
    json_t *o = json_loadb(b, n, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return vox_fail(c, VOX_EINVAL, "the JSON body must be an object of parameters");
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, k, v)
    {
        struct roster_buf buf;
        roster_buf_init(&buf);
        json_t *items = json_is_array(v) ? v : NULL;
        size_t cnt = items ? json_array_size(items) : 1;
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            json_t *x = items ? json_array_get(items, i) : v;
            if (i)
                roster_buf_addch(&buf, ';');
            if (json_is_string(x))
                roster_buf_addstr(&buf, json_string_value(x));
            else if (json_is_integer(x))
                roster_buf_printf(&buf, "%lld", (long long)json_integer_value(x));
            else if (json_is_real(x))
                roster_buf_printf(&buf, "%.17g", json_real_value(x));
            else if (json_is_boolean(x))
                roster_buf_addstr(&buf, json_is_true(x) ? "true" : "false");
            else if (json_is_null(x) && !items)
                break;
            else
                rc = vox_fail(c, VOX_EINVAL, "parameter %.64s has an unsupported JSON value", k);
        }
        if (rc == 0 && !json_is_null(v))
            add_param(c, roster_arena_strdup(a, k),
                      roster_arena_strdup(a, buf.data ? buf.data : ""));
        roster_buf_release(&buf);
        if (rc)
            break;
    }
    json_decref(o);
    return rc;
}

int vox_body_params(struct vox_call *c, const char *ct, const char *body, size_t len)
{
    if (len == 0)
        return 0;
    if (!ct)
        ct = "application/x-www-form-urlencoded";
    while (*ct == ' ')
        ct++;
    size_t tl = strcspn(ct, "; \t");
    if (tl == 19 && strncasecmp(ct, "multipart/form-data", 19) == 0)
        return parse_multipart(c, ct, body, len);
    if (tl == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        return parse_urlencoded(c, body, len);
    if (tl == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return parse_json(c, body, len);
    return vox_fail(c, VOX_EINVAL,
                    "content type \"%.64s\" is not supported (send multipart/form-data, "
                    "application/x-www-form-urlencoded or application/json)",
                    ct);
}

void vox_platform_api(struct roster_req *r)
{
    struct vox_call c = {.r = r};
    roster_req_query_each(r, query_cb, &c);
    if (vox_body_params(&c, roster_req_header(r, "Content-Type"), r->body, r->body_len) != 0)
        return;
    const char *cmd = r->nparams > 0 ? r->params[0] : vox_param(&c, "cmd");
    if (!cmd || !*cmd) {
        vox_fail(&c, VOX_ENOCMD, "Missing 'cmd' parameter");
        return;
    }
    vox_method_fn fn = vox_method_find(cmd);
    if (fn) {
        fn(&c);
        return;
    }
    vox_fail(&c, VOX_EUNKNOWN, "Unknown command '%.64s'", cmd);
}

/* --- value readers --- */

int vox_int(struct vox_call *c, const char *name, int64_t min, int64_t max, int64_t *out, bool *has)
{
    const char *v = vox_param(c, name);
    if (has)
        *has = v != NULL;
    if (!v)
        return 0;
    int64_t x;
    if (roster_parse_i64(v, &x) != 0 || x < min || x > max)
        return vox_fail(c, VOX_EINVAL,
                        "Invalid argument '%s': \"%.64s\" is not an integer from %lld to %lld",
                        name, v, (long long)min, (long long)max);
    *out = x;
    return 0;
}

int vox_bool(struct vox_call *c, const char *name, bool def, bool *out, bool *has)
{
    const char *v = vox_param(c, name);
    if (has)
        *has = v != NULL;
    *out = def;
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return vox_fail(c, VOX_EINVAL, "Invalid argument '%s': \"%.64s\" is not true or false",
                        name, v);
    return 0;
}

/* The items of "a;b;c" (empty ones included), copied into a. */
static const char **split_list(const char *v, struct roster_arena *a, size_t *n)
{
    size_t cnt = 1;
    for (const char *p = v; *p; p++)
        cnt += *p == ';';
    const char **items = roster_arena_alloc(a, cnt * sizeof(*items));
    const char *p = v;
    for (size_t i = 0; i < cnt; i++) {
        size_t len = strcspn(p, ";");
        items[i] = roster_arena_strndup(a, p, len);
        p += len + (p[len] ? 1 : 0);
    }
    *n = cnt;
    return items;
}

int vox_intlist(struct vox_call *c, const char *name, int64_t **out, size_t *n, bool *all,
                bool *has)
{
    const char *v = vox_param(c, name);
    *has = v != NULL;
    *all = false;
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (strcmp(v, "all") == 0) {
        *all = true;
        return 0;
    }
    size_t cnt;
    const char **items = split_list(v, c->r->ctx.arena, &cnt);
    int64_t *ids = roster_arena_alloc(c->r->ctx.arena, cnt * sizeof(*ids));
    for (size_t i = 0; i < cnt; i++)
        if (roster_parse_i64(items[i], &ids[i]) != 0 || ids[i] < 1)
            return vox_fail(c, VOX_EINVAL,
                            "Invalid argument '%s': \"%.64s\" is not a list of ids separated by "
                            "';' or 'all'",
                            name, v);
    *out = ids;
    *n = cnt;
    return 0;
}

int vox_strlist(struct vox_call *c, const char *name, const char ***out, size_t *n, bool *has)
{
    const char *v = vox_param(c, name);
    *has = v != NULL;
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    size_t cnt;
    const char **items = split_list(v, c->r->ctx.arena, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (!*items[i])
            return vox_fail(c, VOX_EINVAL, "Invalid argument '%s': empty item in \"%.64s\"", name,
                            v);
    *out = items;
    *n = cnt;
    return 0;
}

/* days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's algorithm) */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void vox_time_buf(char out[VOX_TIME_LEN + 1], int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    unsigned sod = (unsigned)(secs - days * 86400);
    /* the date of the previous call, per thread: a page's users mostly share a few days */
    static _Thread_local int64_t last_days = INT64_MIN;
    static _Thread_local char last_date[11];
    if (days != last_days) {
        int64_t y;
        unsigned m, d;
        civil(days, &y, &m, &d);
        if (y < 0 || y > 9999) {
            snprintf(out, VOX_TIME_LEN + 1, "%s",
                     y < 0 ? "0000-01-01 00:00:00" : "9999-12-31 23:59:59");
            return;
        }
        /* "YYYY-MM-DD " */
        put2(last_date, (unsigned)(y / 100));
        put2(last_date + 2, (unsigned)(y % 100));
        last_date[4] = '-';
        put2(last_date + 5, m);
        last_date[7] = '-';
        put2(last_date + 8, d);
        last_date[10] = ' ';
        last_days = days;
    }
    memcpy(out, last_date, 11);
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);
    out[19] = '\0';
}

const char *vox_time(struct roster_arena *a, int64_t ms)
{
    char buf[VOX_TIME_LEN + 1];
    vox_time_buf(buf, ms);
    return roster_arena_strdup(a, buf);
}
