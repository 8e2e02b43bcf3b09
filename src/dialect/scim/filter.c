/* The SCIM filter parser (filter.h): a recursive descent over the text, bounded in length,
 * depth and nodes, and the JSON dump of its AST in scim2-parse-filter's shape.
 */
#include "dialect/scim/filter.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

const char *const scim_cmpop_names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};

struct ps {
    const char *s;
    size_t i, n;
    int depth;
    size_t nodes;
    struct roster_arena *a;
    struct roster_err *err;
};

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The characters of a word (attribute paths, operators, keywords): those of
 * scim2-parse-filter's words, so that "and-x" is one (bad) word there and here. */
static bool is_word(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/' ||
           c == '%';
}

static void skip_ws(struct ps *p)
{
    while (p->i < p->n && is_space((unsigned char)p->s[p->i]))
        p->i++;
}

/* A short quote of the text at position i for messages. */
static const char *found(struct ps *p, size_t i)
{
    if (i >= p->n)
        return "the end of the filter";
    size_t len = 0;
    unsigned char c = (unsigned char)p->s[i];
    if (is_word(c)) {
        while (i + len < p->n && is_word((unsigned char)p->s[i + len]) && len < 40)
            len++;
    } else {
        len = 1;
    }
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addch(&b, '"');
    for (size_t k = 0; k < len; k++) {
        unsigned char ch = (unsigned char)p->s[i + k];
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' || ch >= 0x80)
            roster_buf_printf(&b, "\\x%02x", ch);
        else
            roster_buf_addch(&b, (char)ch);
    }
    roster_buf_addch(&b, '"');
    char *out = roster_arena_strndup(p->a, b.data, b.len);
    roster_buf_release(&b);
    return out;
}

static int fail(struct ps *p, size_t at, const char *expected)
{
    return roster_err_set(p->err, ROSTER_EINVAL,
                          "invalid filter at character %zu: expected %s, found %s", at + 1,
                          expected, found(p, at));
}

static struct scim_fnode *node(struct ps *p, int kind, size_t pos)
{
    if (++p->nodes > SCIM_FILTER_MAX_NODES)
        return NULL;
    struct scim_fnode *n = roster_arena_zalloc(p->a, sizeof(*n));
    n->kind = kind;
    n->pos = pos + 1;
    return n;
}

static int too_many(struct ps *p)
{
    return roster_err_set(p->err, ROSTER_EINVAL, "invalid filter: more than %d expressions",
                          SCIM_FILTER_MAX_NODES);
}

/* The word at i (length into *len, 0 when there is none). */
static size_t word_len(const struct ps *p, size_t i)
{
    size_t k = i;
    while (k < p->n && is_word((unsigned char)p->s[k]))
        k++;
    return k - i;
}

static bool word_is(const struct ps *p, size_t i, size_t len, const char *kw)
{
    return len == strlen(kw) && strncasecmp(p->s + i, kw, len) == 0;
}

/* ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_") */
static bool attr_name_ok(const char *s, size_t len)
{
    if (len == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t k = 1; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
            return false;
    }
    return true;
}

/* attrPath = [URI ":"] ATTRNAME ["." ATTRNAME]; the URI: a letter, then letters, digits and
 * ". - _ :" (a URN such as urn:ietf:params:scim:schemas:core:2.0:User). */
static bool attr_path(struct ps *p, size_t i, size_t len, struct scim_attrpath *ap)
{
    const char *w = p->s + i;
    size_t colon = len;
    for (size_t k = len; k > 0; k--)
        if (w[k - 1] == ':') {
            colon = k - 1;
            break;
        }
    size_t start = 0;
    memset(ap, 0, sizeof(*ap));
    if (colon < len) {
        if (colon == 0 || !is_alpha((unsigned char)w[0]))
            return false;
        for (size_t k = 0; k < colon; k++) {
            unsigned char c = (unsigned char)w[k];
            if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-' && c != '_' && c != ':')
                return false;
        }
        ap->uri = roster_arena_strndup(p->a, w, colon);
        start = colon + 1;
    }
    const char *dot = memchr(w + start, '.', len - start);
    size_t nlen = dot ? (size_t)(dot - (w + start)) : len - start;
    if (!attr_name_ok(w + start, nlen))
        return false;
    ap->name = roster_arena_strndup(p->a, w + start, nlen);
    if (dot) {
        size_t slen = len - start - nlen - 1;
        if (!attr_name_ok(dot + 1, slen))
            return false;
        ap->sub = roster_arena_strndup(p->a, dot + 1, slen);
    }
    ap->raw = roster_arena_strndup(p->a, w, len);
    return true;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int h = roster_hexval((unsigned char)s[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void put_utf8(struct roster_buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        roster_buf_addch(b, (char)cp);
    } else if (cp < 0x800) {
        roster_buf_addch(b, (char)(0xc0 | (cp >> 6)));
        roster_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        roster_buf_addch(b, (char)(0xe0 | (cp >> 12)));
        roster_buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        roster_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        roster_buf_addch(b, (char)(0xf0 | (cp >> 18)));
        roster_buf_addch(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        roster_buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        roster_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* The length of the well-formed UTF-8 sequence at s (up to end), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t min, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string at p->i (the opening quote): decoded into *out. */
static int string_value(struct ps *p, const char **out)
{
    size_t start = p->i;
    p->i++;
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addstr(&b, "");
    int rc = 0;
    for (;;) {
        if (p->i >= p->n) {
            rc = roster_err_set(p->err, ROSTER_EINVAL,
                                "invalid filter at character %zu: the string has no closing quote",
                                start + 1);
            break;
        }
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            rc = roster_err_set(p->err, ROSTER_EINVAL,
                                "invalid filter at character %zu: a control character in a "
                                "string (escape it as JSON does)",
                                p->i + 1);
            break;
        }
        if (c >= 0x80) {
            size_t l =
                utf8_len((const unsigned char *)p->s + p->i, (const unsigned char *)p->s + p->n);
            if (!l) {
                rc = roster_err_set(p->err, ROSTER_EINVAL,
                                    "invalid filter at character %zu: not UTF-8", p->i + 1);
                break;
            }
            roster_buf_add(&b, p->s + p->i, l);
            p->i += l;
            continue;
        }
        if (c != '\\') {
            roster_buf_addch(&b, (char)c);
            p->i++;
            continue;
        }
        size_t esc = p->i;
        char e = p->i + 1 < p->n ? p->s[p->i + 1] : '\0';
        p->i += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            roster_buf_addch(&b, e);
            continue;
        case 'b':
            roster_buf_addch(&b, '\b');
            continue;
        case 'f':
            roster_buf_addch(&b, '\f');
            continue;
        case 'n':
            roster_buf_addch(&b, '\n');
            continue;
        case 'r':
            roster_buf_addch(&b, '\r');
            continue;
        case 't':
            roster_buf_addch(&b, '\t');
            continue;
        case 'u': {
            int v = p->i + 4 <= p->n ? hex4(p->s + p->i) : -1;
            if (v < 0)
                break;
            p->i += 4;
            uint32_t cp = (uint32_t)v;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                break;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u'
                             ? hex4(p->s + p->i + 2)
                             : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    break;
                p->i += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            }
            if (cp == 0) {
                rc = roster_err_set(p->err, ROSTER_EINVAL,
                                    "invalid filter at character %zu: \\u0000 is not allowed in "
                                    "a string",
                                    esc + 1);
                goto done;
            }
            put_utf8(&b, cp);
            continue;
        }
        default:
            break;
        }
        rc = roster_err_set(p->err, ROSTER_EINVAL,
                            "invalid filter at character %zu: a bad escape in a string (JSON: "
                            "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, surrogates in pairs)",
                            esc + 1);
        break;
    }
done:
    if (rc == 0)
        *out = roster_arena_strndup(p->a, b.data, b.len);
    roster_buf_release(&b);
    return rc;
}

/* A JSON number at p->i; the literal into *out. */
static bool number_value(struct ps *p, const char **out)
{
    size_t k = p->i;
    if (k < p->n && p->s[k] == '-')
        k++;
    if (k >= p->n || !is_digit((unsigned char)p->s[k]))
        return false;
    if (p->s[k] == '0')
        k++;
    else
        while (k < p->n && is_digit((unsigned char)p->s[k]))
            k++;
    if (k < p->n && p->s[k] == '.') {
        k++;
        if (k >= p->n || !is_digit((unsigned char)p->s[k]))
            return false;
        while (k < p->n && is_digit((unsigned char)p->s[k]))
            k++;
    }
    if (k < p->n && (p->s[k] == 'e' || p->s[k] == 'E')) {
        k++;
        if (k < p->n && (p->s[k] == '+' || p->s[k] == '-'))
            k++;
        if (k >= p->n || !is_digit((unsigned char)p->s[k]))
            return false;
        while (k < p->n && is_digit((unsigned char)p->s[k]))
            k++;
    }
    if (k < p->n && is_word((unsigned char)p->s[k]))
        return false; /* "1x", "1.5.6", "007" */
    *out = roster_arena_strndup(p->a, p->s + p->i, k - p->i);
    p->i = k;
    return true;
}

static int comp_value(struct ps *p, struct scim_fnode *n)
{
    skip_ws(p);
    size_t at = p->i;
    const char *what = "a value (a JSON string, a number, true, false or null)";
    if (at >= p->n)
        return fail(p, at, what);
    char c = p->s[at];
    if (c == '"') {
        n->vtype = SCIM_V_STRING;
        return string_value(p, &n->text);
    }
    if (c == '-' || is_digit((unsigned char)c)) {
        n->vtype = SCIM_V_NUMBER;
        if (!number_value(p, &n->text))
            return fail(p, at, what);
        return 0;
    }
    size_t len = word_len(p, at);
    if (word_is(p, at, len, "true"))
        n->vtype = SCIM_V_TRUE;
    else if (word_is(p, at, len, "false"))
        n->vtype = SCIM_V_FALSE;
    else if (word_is(p, at, len, "null"))
        n->vtype = SCIM_V_NULL;
    else
        return fail(p, at, what);
    p->i += len;
    return 0;
}

/* After an attribute path: "pr" or a comparison operator and its value, into n. */
static int attr_exp(struct ps *p, struct scim_fnode *n)
{
    skip_ws(p);
    size_t at = p->i;
    size_t len = word_len(p, at);
    if (word_is(p, at, len, "pr")) {
        n->kind = SCIM_F_PR;
        p->i += len;
        return 0;
    }
    for (int op = SCIM_EQ; op <= SCIM_LE; op++) {
        if (word_is(p, at, len, scim_cmpop_names[op])) {
            n->kind = SCIM_F_CMP;
            n->op = op;
            p->i += len;
            return comp_value(p, n);
        }
    }
    return fail(p, at, "an operator (eq ne co sw ew gt ge lt le pr)");
}

static int parse_or(struct ps *p, bool in_valpath, struct scim_fnode **out);

/* "(" FILTER ")" with p->i at the "(". */
static int group(struct ps *p, bool in_valpath, struct scim_fnode **out)
{
    if (++p->depth > SCIM_FILTER_MAX_DEPTH)
        return roster_err_set(p->err, ROSTER_EINVAL,
                              "invalid filter at character %zu: nested more than %d deep", p->i + 1,
                              SCIM_FILTER_MAX_DEPTH);
    p->i++;
    int rc = parse_or(p, in_valpath, out);
    if (rc)
        return rc;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ')')
        return fail(p, p->i, "\")\" or a logical operator (and, or)");
    p->i++;
    p->depth--;
    return 0;
}

static int unary(struct ps *p, bool in_valpath, struct scim_fnode **out)
{
    skip_ws(p);
    size_t at = p->i;
    if (at < p->n && p->s[at] == '(')
        return group(p, in_valpath, out);
    size_t len = word_len(p, at);
    if (word_is(p, at, len, "not")) {
        p->i += len;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != '(')
            return fail(p, p->i, "\"(\" after not");
        struct scim_fnode *n = node(p, SCIM_F_NOT, at);
        if (!n)
            return too_many(p);
        n->kids = roster_arena_alloc(p->a, sizeof(*n->kids));
        n->nkids = 1;
        int rc = group(p, in_valpath, &n->kids[0]);
        if (rc)
            return rc;
        *out = n;
        return 0;
    }
    struct scim_fnode *n = node(p, SCIM_F_CMP, at);
    if (!n)
        return too_many(p);
    if (len == 0 || !attr_path(p, at, len, &n->path))
        return fail(p, at,
                    len ? "an attribute path ([URN:]name[.subAttribute])"
                        : "an attribute path, \"(\" or not");
    p->i += len;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '[') {
        if (in_valpath)
            return roster_err_set(p->err, ROSTER_EINVAL,
                                  "invalid filter at character %zu: a value path inside a value "
                                  "path",
                                  p->i + 1);
        if (n->path.sub)
            return fail(p, at, "an attribute without a sub-attribute before \"[\"");
        if (++p->depth > SCIM_FILTER_MAX_DEPTH)
            return roster_err_set(p->err, ROSTER_EINVAL,
                                  "invalid filter at character %zu: nested more than %d deep",
                                  p->i + 1, SCIM_FILTER_MAX_DEPTH);
        p->i++;
        n->kind = SCIM_F_VALPATH;
        n->kids = roster_arena_alloc(p->a, sizeof(*n->kids));
        n->nkids = 1;
        int rc = parse_or(p, true, &n->kids[0]);
        if (rc)
            return rc;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ']')
            return fail(p, p->i, "\"]\" or a logical operator (and, or)");
        p->i++;
        p->depth--;
        if (p->i < p->n && p->s[p->i] == '.') {
            /* "emails[type eq \"work\"].value eq \"x\"" (as Microsoft Entra ID sends) */
            p->i++;
            skip_ws(p);
            size_t sat = p->i, slen = word_len(p, sat);
            if (!attr_name_ok(p->s + sat, slen))
                return fail(p, sat, "a sub-attribute name after \"].\"");
            struct scim_fnode *s = node(p, SCIM_F_CMP, sat);
            if (!s)
                return too_many(p);
            s->path.uri = n->path.uri;
            s->path.name = n->path.name;
            s->path.sub = roster_arena_strndup(p->a, p->s + sat, slen);
            s->path.raw = roster_arena_printf(p->a, "%s.%s", n->path.raw, s->path.sub);
            p->i += slen;
            rc = attr_exp(p, s);
            if (rc)
                return rc;
            n->sub = s;
        }
        *out = n;
        return 0;
    }
    int rc = attr_exp(p, n);
    if (rc)
        return rc;
    *out = n;
    return 0;
}

/* One level: kids joined by the keyword kw ("and" over unary, "or" over "and"). */
static int chain(struct ps *p, bool in_valpath, bool is_or, struct scim_fnode **out)
{
    struct scim_fnode *first;
    size_t at = p->i;
    int rc = is_or ? chain(p, in_valpath, false, &first) : unary(p, in_valpath, &first);
    if (rc)
        return rc;
    struct scim_fnode **kids = NULL;
    size_t nk = 0, cap = 0;
    kids = roster_arena_grow(p->a, kids, nk, &cap, sizeof(*kids));
    kids[nk++] = first;
    const char *kw = is_or ? "or" : "and";
    for (;;) {
        size_t save = p->i;
        skip_ws(p);
        size_t len = word_len(p, p->i);
        if (!word_is(p, p->i, len, kw)) {
            p->i = save;
            break;
        }
        p->i += len;
        struct scim_fnode *k;
        rc = is_or ? chain(p, in_valpath, false, &k) : unary(p, in_valpath, &k);
        if (rc)
            return rc;
        kids = roster_arena_grow(p->a, kids, nk, &cap, sizeof(*kids));
        kids[nk++] = k;
    }
    if (nk == 1) {
        *out = first;
        return 0;
    }
    struct scim_fnode *n = node(p, is_or ? SCIM_F_OR : SCIM_F_AND, at);
    if (!n)
        return too_many(p);
    n->kids = kids;
    n->nkids = nk;
    *out = n;
    return 0;
}

static int parse_or(struct ps *p, bool in_valpath, struct scim_fnode **out)
{
    return chain(p, in_valpath, true, out);
}

int scim_filter_parse(const char *filter, struct roster_arena *a, struct scim_fnode **out,
                      struct roster_err *err)
{
    if (!filter)
        filter = "";
    size_t n = strlen(filter);
    if (n > SCIM_FILTER_MAX_LEN)
        return roster_err_set(err, ROSTER_EINVAL, "invalid filter: longer than %d bytes",
                              SCIM_FILTER_MAX_LEN);
    struct ps p = {filter, 0, n, 0, 0, a, err};
    skip_ws(&p);
    if (p.i >= p.n)
        return roster_err_set(err, ROSTER_EINVAL, "invalid filter: it is empty");
    struct scim_fnode *root = NULL;
    int rc = parse_or(&p, false, &root);
    if (rc)
        return rc;
    skip_ws(&p);
    if (p.i < p.n)
        return fail(&p, p.i, "a logical operator (and, or) or the end of the filter");
    *out = root;
    return 0;
}

/* --- the dump (by hand: trees nest deeper than roster_jsonw's 64 levels) --- */

static void jstr(struct roster_buf *b, const char *s)
{
    roster_buf_addch(b, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            roster_buf_addch(b, '\\');
            roster_buf_addch(b, (char)*c);
        } else if (*c < 0x20) {
            roster_buf_printf(b, "\\u%04x", *c);
        } else {
            roster_buf_addch(b, (char)*c);
        }
    }
    roster_buf_addch(b, '"');
}

static void dump_head(struct roster_buf *b, const char *op, const char *path)
{
    roster_buf_addstr(b, "{\"op\":");
    jstr(b, op);
    if (path) {
        roster_buf_addstr(b, ",\"attrPath\":");
        jstr(b, path);
    }
}

void scim_filter_put_value(struct roster_buf *b, const struct scim_fnode *n)
{
    switch (n->vtype) {
    case SCIM_V_TRUE:
        roster_buf_addstr(b, "true");
        break;
    case SCIM_V_FALSE:
        roster_buf_addstr(b, "false");
        break;
    case SCIM_V_NULL:
        roster_buf_addstr(b, "null");
        break;
    case SCIM_V_NUMBER:
        roster_buf_addstr(b, n->text);
        break;
    default:
        jstr(b, n->text);
        break;
    }
}

static void dump_leaf(const struct scim_fnode *n, struct roster_buf *b)
{
    if (n->kind == SCIM_F_PR) {
        dump_head(b, "pr", n->path.raw);
        roster_buf_addch(b, '}');
        return;
    }
    dump_head(b, scim_cmpop_names[n->op], n->path.raw);
    roster_buf_addstr(b, ",\"compValue\":");
    scim_filter_put_value(b, n);
    roster_buf_addch(b, '}');
}

void scim_filter_dump(const struct scim_fnode *n, struct roster_buf *b)
{
    switch (n->kind) {
    case SCIM_F_AND:
    case SCIM_F_OR:
        dump_head(b, n->kind == SCIM_F_AND ? "and" : "or", NULL);
        roster_buf_addstr(b, ",\"filters\":[");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                roster_buf_addch(b, ',');
            scim_filter_dump(n->kids[i], b);
        }
        roster_buf_addstr(b, "]}");
        break;
    case SCIM_F_NOT:
        dump_head(b, "not", NULL);
        roster_buf_addstr(b, ",\"filter\":");
        scim_filter_dump(n->kids[0], b);
        roster_buf_addch(b, '}');
        break;
    case SCIM_F_VALPATH:
        if (n->sub)
            roster_buf_addstr(b, "{\"op\":\"and\",\"filters\":[");
        dump_head(b, "[]", n->path.raw);
        roster_buf_addstr(b, ",\"valFilter\":");
        scim_filter_dump(n->kids[0], b);
        roster_buf_addch(b, '}');
        if (n->sub) {
            roster_buf_addch(b, ',');
            dump_leaf(n->sub, b);
            roster_buf_addstr(b, "]}");
        }
        break;
    default:
        dump_leaf(n, b);
        break;
    }
}
