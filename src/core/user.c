/* The one user validator (single-user paths, every bulk path and the importer call it)
 * and patch application. The field table and state names live in user_fields.c.
 *
 * VALIDATION RULES (ROSTER_VALIDATE_CREATE and ROSTER_VALIDATE_UPDATE check the same thing:
 * for an update the caller passes the merged user, after roster_user_apply_patch):
 *   - Fields are checked in roster_ufields order; the first failure is reported. Messages
 *     name the field by its client label and quote the value (at most 64 characters, then
 *     "..."); err->field is set to that label.
 *   - Every string field, when set: valid UTF-8, at most roster_ufields[].max_len characters
 *     (Unicode code points, not bytes). Embedded NUL cannot occur: fields are C strings, and
 *     the JSON decoder rejects \u0000 in input.
 *   - username: required and non-empty; no whitespace (ASCII or Unicode White_Space) and no
 *     control characters (U+0000-U+001F, U+007F-U+009F).
 *   - email: optional (a SCIM user needs only a userName); when set, non-empty and
 *     local@domain with exactly one '@', a non-empty local
 *     part, a domain with at least one '.' and no empty label (no leading, trailing or
 *     doubled dot); no whitespace or control characters anywhere.
 *   - alternateEmail: when set and non-empty, the same syntax as email ("" means none).
 *   - state: STAGED, ACTIVATED or SUSPENDED.
 *   - phoneNumbers, attributes, addresses: when set and non-empty, a JSON array of objects.
 *       attributes[i]: "name" a non-empty string; "value" required, a string, number or
 *                      boolean; a string value has at most 1024 characters.
 *       phoneNumbers[i]: "number" a string of at most 1024 characters; "type" absent, null
 *                        or a string.
 *   - extra: when set and non-empty, a JSON object.
 *   ("" in a JSON field means no value, as the JSON writer prints it as null.)
 */
#include "roster/user.h"
#include "roster/jsonr.h"
#include "roster/jsonscan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_MAX_CHARS 64
#define ATTR_VALUE_MAX 1024
#define PHONE_NUMBER_MAX 1024

/* Decodes one UTF-8 code point at s (strict: no overlongs, surrogates or > U+10FFFF).
 * Returns its length in bytes and sets *cp, or 0 if the bytes are not valid UTF-8. */
static int utf8_decode(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL terminator */
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Number of code points in s, or -1 if s is not valid UTF-8. */
static long utf8_count(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned cp;
        if (*p < 0x80) {
            p++;
        } else {
            int len = utf8_decode(p, &cp);
            if (!len)
                return -1;
            p += len;
        }
        n++;
    }
    return n;
}

static bool is_space_or_control(unsigned cp)
{
    if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0))
        return true; /* C0 controls, space, DEL, C1 controls (incl. U+0085), NBSP */
    switch (cp) {
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

/* true if s (valid UTF-8) contains whitespace or a control character */
static bool has_space_or_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        int len = utf8_decode(p, &cp);
        if (!len || is_space_or_control(cp))
            return true;
        p += len;
    }
    return false;
}

/* Copies v into out for a message: at most QUOTE_MAX_CHARS characters then "...", control
 * characters shown as C escapes, invalid UTF-8 bytes as \xNN. */
static const char *quote(const char *v, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t o = 0;
    int chars = 0;
    while (*p && o + 8 < cap) {
        if (chars == QUOTE_MAX_CHARS) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned cp = 0;
        int len = utf8_decode(p, &cp);
        if (len == 1 && cp >= 0x20 && cp != 0x7F) {
            out[o++] = (char)cp;
        } else if (len > 1) {
            memcpy(out + o, p, (size_t)len);
            o += (size_t)len;
        } else {
            const char *esc = cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : cp == '\r' ? "\\r" : NULL;
            if (len && esc) {
                memcpy(out + o, esc, 2);
                o += 2;
            } else {
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
                len = 1;
            }
        }
        p += len;
        chars++;
    }
    out[o] = '\0';
    return out;
}

/* Fails with "<label> <what>" or, given a value, "<label> \"<value>\" <what>". */
static int reject(struct roster_err *err, int field, const char *value, const char *what)
{
    const char *label = roster_ufields[field].label;
    if (value) {
        char q[QUOTE_MAX_CHARS * 4 + 16];
        roster_err_set(err, ROSTER_EINVAL, "%s \"%s\" %s", label, quote(value, q, sizeof(q)), what);
    } else {
        roster_err_set(err, ROSTER_EINVAL, "%s %s", label, what);
    }
    if (err)
        err->field = label;
    return ROSTER_EINVAL;
}

static bool email_valid(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@'))
        return false;
    if (has_space_or_control(s))
        return false;
    const char *d = at + 1;
    bool dot = false;
    /* every label between dots must be non-empty */
    size_t label = 0;
    for (; *d; d++) {
        if (*d == '.') {
            if (label == 0)
                return false;
            dot = true;
            label = 0;
        } else {
            label++;
        }
    }
    return dot && label > 0;
}

static int check_string(const struct roster_user *u, int i, struct roster_err *err)
{
    const char *v = u->f[i];
    long n = utf8_count(v);
    if (n < 0)
        return reject(err, i, v, "is not valid UTF-8");
    if (roster_ufields[i].max_len && (unsigned long)n > roster_ufields[i].max_len) {
        char what[48];
        snprintf(what, sizeof(what), "is longer than %u characters", roster_ufields[i].max_len);
        return reject(err, i, v, what);
    }
    return 0;
}

/* Fails with "<label>[idx].<key> ..." for an element of a JSON array field. */
static int fail_elem(struct roster_err *err, int field, size_t idx, const char *key,
                     const char *what)
{
    roster_err_set(err, ROSTER_EINVAL, "%s[%zu]%s%s %s", roster_ufields[field].label, idx,
                   key ? "." : "", key ? key : "", what);
    if (err)
        err->field = roster_ufields[field].label;
    return ROSTER_EINVAL;
}

/* JSON fields are checked without a document: the scanner validates the text (the field
 * may hold anything) and gives the array's element spans; the pull reader then looks into
 * each element. */

static bool long_string(const struct roster_jsonr_val *s, size_t max)
{
    size_t n;
    return roster_jsonr_str_chars(s, &n) != 0 || n > max;
}

static bool is_null(const struct roster_jsonr_val *v)
{
    return v->type == ROSTER_JSONR_NULL;
}

/* The members k1 and k2 of element idx of field, el (the last of duplicates, as in jansson),
 * read in one pass: k1 must be a string; *h2 says whether k2 was there. 0, or the error. */
static int members(const struct roster_jsonr_val *el, int field, size_t idx, const char *k1,
                   struct roster_jsonr_val *v1, const char *k2, struct roster_jsonr_val *v2,
                   bool *h2, struct roster_err *err)
{
    struct roster_jsonr it;
    struct roster_jsonr_val k, v;
    int r;
    bool h1 = false;
    *h2 = false;
    if (roster_jsonr_open(&it, el) != 0)
        r = -1;
    else
        while ((r = roster_jsonr_next(&it, &k, &v)) == 1) {
            if (roster_jsonr_str_eq(&k, k1))
                *v1 = v, h1 = true;
            else if (roster_jsonr_str_eq(&k, k2))
                *v2 = v, *h2 = true;
        }
    if (r != 0)
        return reject(err, field, NULL, "is not valid JSON");
    if (!h1 || is_null(v1))
        return fail_elem(err, field, idx, k1, "is required");
    if (v1->type != ROSTER_JSONR_STRING)
        return fail_elem(err, field, idx, k1, "must be a string");
    return 0;
}

/* An element of attributes, by its members name (a string) and value. */
static int check_attribute(const struct roster_jsonr_val *name,
                           const struct roster_jsonr_val *value, bool has_value, size_t idx,
                           struct roster_err *err)
{
    if (name->len == 2) /* "": no escape makes an empty string (\u0000 is refused) */
        return fail_elem(err, RU_ATTRIBUTES, idx, "name", "must not be empty");
    if (!has_value)
        return fail_elem(err, RU_ATTRIBUTES, idx, "value", "is required");
    switch (value->type) {
    case ROSTER_JSONR_STRING:
        if (long_string(value, ATTR_VALUE_MAX))
            return fail_elem(err, RU_ATTRIBUTES, idx, "value", "is longer than 1024 characters");
        return 0;
    case ROSTER_JSONR_INTEGER:
    case ROSTER_JSONR_REAL:
    case ROSTER_JSONR_TRUE:
    case ROSTER_JSONR_FALSE:
        return 0;
    default:
        return fail_elem(err, RU_ATTRIBUTES, idx, "value", "must be a string, number or boolean");
    }
}

/* An element of phoneNumbers, by its members number (a string) and type. */
static int check_phone(const struct roster_jsonr_val *number, const struct roster_jsonr_val *type,
                       bool has_type, size_t idx, struct roster_err *err)
{
    if (long_string(number, PHONE_NUMBER_MAX))
        return fail_elem(err, RU_PHONES, idx, "number", "is longer than 1024 characters");
    if (has_type && !is_null(type) && type->type != ROSTER_JSONR_STRING)
        return fail_elem(err, RU_PHONES, idx, "type", "must be a string");
    return 0;
}

/* The scanner needs an arena for the element spans and the validator is given none: each
 * thread keeps a small one (released when the thread exits), cleared after every use. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_ok;

static void scratch_free(void *p)
{
    roster_arena_release(p);
    free(p);
}

static void scratch_init(void)
{
    scratch_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* This thread's scratch arena, or NULL if it cannot have one. */
static struct roster_arena *scratch(void)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_ok)
        return NULL;
    struct roster_arena *a = pthread_getspecific(scratch_key);
    if (!a && (a = malloc(sizeof(*a))) != NULL) {
        roster_arena_init(a, 32 * 1024); /* the spans of a 1,000-element array fit */
        if (pthread_setspecific(scratch_key, a) != 0) {
            free(a);
            a = NULL;
        }
    }
    return a;
}

static int check_json(const struct roster_user *u, int i, struct roster_err *err)
{
    const char *v = u->f[i];
    int rc = 0;
    struct roster_arena local, *a = scratch();
    if (!a) {
        roster_arena_init(&local, 0);
        a = &local;
    }
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (roster_json_scan(v, strlen(v), a, &spans, &n, &top, NULL) != 0) {
        rc = reject(err, i, v, "is not valid JSON");
        goto fail;
    }
    if (roster_ufields[i].kind == RU_KIND_JSON_OBJECT) {
        if (top != '{')
            rc = reject(err, i, NULL, "must be a JSON object");
        goto fail;
    }
    if (top != '[') {
        rc = reject(err, i, NULL, "must be an array of objects");
        goto fail;
    }
    for (size_t idx = 0; idx < n; idx++) {
        if (spans[idx].type != '{') {
            rc = fail_elem(err, i, idx, NULL, "must be an object");
            goto fail;
        }
        if (i != RU_ATTRIBUTES && i != RU_PHONES)
            continue;
        struct roster_jsonr_val el;
        if (roster_jsonr_parse(v + spans[idx].start, spans[idx].end - spans[idx].start, &el)) {
            rc = reject(err, i, v, "is not valid JSON");
            goto fail;
        }
        bool attr = i == RU_ATTRIBUTES;
        struct roster_jsonr_val first = {0}, second = {0};
        bool has_second;
        rc = members(&el, i, idx, attr ? "name" : "number", &first, attr ? "value" : "type",
                     &second, &has_second, err);
        if (rc == 0)
            rc = attr ? check_attribute(&first, &second, has_second, idx, err)
                      : check_phone(&first, &second, has_second, idx, err);
        if (rc)
            goto fail;
    }
fail:
    if (a == &local)
        roster_arena_release(&local);
    else
        roster_arena_clear(a);
    return rc;
}

int roster_user_validate(const struct roster_user *u, int mode, struct roster_err *err)
{
    (void)mode; /* create and update validate the same full user */
    int rc;
    for (int i = 0; i < RU_NFIELDS; i++) {
        const char *v = u->f[i];
        if (i == RU_USERNAME && (!v || !*v))
            return reject(err, i, NULL, "is required");
        if (i == RU_EMAIL && v && !*v)
            return reject(err, i, NULL, "must not be empty");
        if (!v)
            continue;
        if (roster_ufields[i].kind != RU_KIND_STR) {
            if (*v && (rc = check_json(u, i, err)) != 0)
                return rc;
            continue;
        }
        if ((rc = check_string(u, i, err)) != 0)
            return rc;
        if (i == RU_USERNAME && has_space_or_control(v))
            return reject(err, i, v, "must not contain whitespace or control characters");
        if ((i == RU_EMAIL || (i == RU_ALTERNATE_EMAIL && *v)) && !email_valid(v))
            return reject(err, i, v, "is not a valid email address");
    }
    if (u->state != ROSTER_STAGED && u->state != ROSTER_ACTIVATED && u->state != ROSTER_SUSPENDED) {
        roster_err_set(err, ROSTER_EINVAL, "state %d is not one of STAGED, ACTIVATED or SUSPENDED",
                       u->state);
        if (err)
            err->field = "state";
        return ROSTER_EINVAL;
    }
    return 0;
}

void roster_user_apply_patch(struct roster_user *u, const struct roster_user *patch)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (ROSTER_USER_FIELD_SET(patch, i))
            u->f[i] = patch->f[i];
    if (patch->set & ROSTER_USET_STATE)
        u->state = patch->state;
}
