/* PATCH of SCIM resources (RFC 7644 §3.5.2) applied to the JSON of a resource (scim.h:
 * scim_patch_apply). The caller decodes the patched document as a replacement, so the rules
 * of a resource (what is mutable, types, required attributes) live in its decoder only.
 *
 * Accepted forms, as the clients send them (docs/scim.md):
 * - op add / replace / remove in any case ("Replace": Microsoft Entra ID);
 * - no path: value is an object of attributes; its keys may be dotted ("name.givenName")
 *   or URN-qualified ("urn:...:enterprise:2.0:User:employeeNumber", Entra's
 *   aadOptscim062020 mode); a complex attribute's sub-attributes are merged;
 * - path: attr, attr.sub, URN:attr, attr[filter], attr[filter].sub; the value filter is
 *   `sub op value` terms joined by and / or (eq ne co sw ew pr gt ge lt le; string
 *   comparisons ignore case);
 * - add to a multi-valued attribute appends; replace of attr[filter].sub with no match adds
 *   an element made from the filter's eq terms (Entra replaces emails[type eq "work"].value
 *   of users that have no work address yet);
 * - remove with a value on a multi-valued attribute removes the elements whose "value"
 *   equals one of the given ones (Entra's member removal).
 */
#include "dialect/scim/scim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { OP_ADD, OP_REPLACE, OP_REMOVE };

static json_t *get_ci(json_t *obj, const char *name, const char **real)
{
    if (!json_is_object(obj))
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, name) == 0) {
            if (real)
                *real = k;
            return v;
        }
    }
    return NULL;
}

/* Sets obj[name] (an existing member of any case keeps its spelling). */
static void set_ci(json_t *obj, const char *name, json_t *v)
{
    const char *real = NULL;
    if (get_ci(obj, name, &real))
        json_object_set_new(obj, real, v);
    else
        json_object_set_new(obj, name, v);
}

static void del_ci(json_t *obj, const char *name)
{
    const char *real = NULL;
    if (get_ci(obj, name, &real))
        json_object_del(obj, real);
}

/* --- value filters --- */

struct term {
    char attr[128];
    char op[3];
    json_t *val; /* NULL for pr */
};

#define MAX_TERMS 8

struct vfilter {
    struct term t[MAX_TERMS];
    bool or_after[MAX_TERMS]; /* t[i] is joined to t[i+1] by or (else and) */
    size_t n;
};

static void vfilter_free(struct vfilter *f)
{
    for (size_t i = 0; i < f->n; i++)
        json_decref(f->t[i].val);
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses "sub op value (and|or sub op value)*" of [s, end); 0 or -1. */
static int vfilter_parse(const char *s, const char *end, struct vfilter *f)
{
    memset(f, 0, sizeof(*f));
    const char *p = skip_ws(s);
    while (p < end) {
        if (f->n == MAX_TERMS)
            return -1;
        struct term *t = &f->t[f->n];
        const char *a = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p == a || (size_t)(p - a) >= sizeof(t->attr))
            return -1;
        memcpy(t->attr, a, (size_t)(p - a));
        p = skip_ws(p);
        if (end - p < 2)
            return -1;
        memcpy(t->op, p, 2);
        for (int i = 0; i < 2; i++)
            t->op[i] = (char)(t->op[i] | 0x20);
        static const char *const ops[] = {"eq", "ne", "co", "sw", "ew",
                                          "pr", "gt", "ge", "lt", "le"};
        bool known = false;
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            known = known || memcmp(t->op, ops[i], 2) == 0;
        if (!known || (p + 2 < end && p[2] != ' ' && p[2] != '\t'))
            return -1;
        p = skip_ws(p + 2);
        f->n++;
        if (strcmp(t->op, "pr") != 0) {
            const char *v = p;
            if (p < end && *p == '"') {
                p++;
                while (p < end && *p != '"')
                    p += *p == '\\' && p + 1 < end ? 2 : 1;
                if (p >= end)
                    return -1;
                p++;
            } else {
                while (p < end && *p != ' ' && *p != '\t')
                    p++;
            }
            json_error_t jerr;
            t->val = json_loadb(v, (size_t)(p - v), JSON_DECODE_ANY, &jerr);
            if (!t->val || json_is_object(t->val) || json_is_array(t->val))
                return -1;
            p = skip_ws(p);
        }
        if (p >= end)
            break;
        if (end - p > 3 && strncasecmp(p, "and", 3) == 0 && (p[3] == ' ' || p[3] == '\t')) {
            p = skip_ws(p + 3);
        } else if (end - p > 2 && strncasecmp(p, "or", 2) == 0 && (p[2] == ' ' || p[2] == '\t')) {
            f->or_after[f->n - 1] = true;
            p = skip_ws(p + 2);
        } else {
            return -1;
        }
        if (p >= end)
            return -1;
    }
    return f->n ? 0 : -1;
}

static bool term_match(const struct term *t, json_t *elem)
{
    json_t *v = get_ci(elem, t->attr, NULL);
    if (strcmp(t->op, "pr") == 0)
        return v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v));
    if (!v)
        return strcmp(t->op, "ne") == 0;
    if (json_is_string(v) && json_is_string(t->val)) {
        const char *a = json_string_value(v), *b = json_string_value(t->val);
        size_t la = strlen(a), lb = strlen(b);
        int c = strcasecmp(a, b);
        if (strcmp(t->op, "eq") == 0)
            return c == 0;
        if (strcmp(t->op, "ne") == 0)
            return c != 0;
        if (strcmp(t->op, "sw") == 0)
            return la >= lb && strncasecmp(a, b, lb) == 0;
        if (strcmp(t->op, "ew") == 0)
            return la >= lb && strcasecmp(a + la - lb, b) == 0;
        if (strcmp(t->op, "co") == 0) {
            for (size_t i = 0; i + lb <= la; i++)
                if (strncasecmp(a + i, b, lb) == 0)
                    return true;
            return false;
        }
        return strcmp(t->op, "gt") == 0   ? c > 0
               : strcmp(t->op, "ge") == 0 ? c >= 0
               : strcmp(t->op, "lt") == 0 ? c < 0
                                          : c <= 0;
    }
    if (json_is_string(v) && json_is_boolean(t->val)) /* "True" strings of Entra */
        return (strcasecmp(json_string_value(v), json_is_true(t->val) ? "true" : "false") == 0) ==
               (strcmp(t->op, "eq") == 0);
    bool eq = json_equal(v, t->val);
    if (strcmp(t->op, "eq") == 0)
        return eq;
    if (strcmp(t->op, "ne") == 0)
        return !eq;
    if (json_is_number(v) && json_is_number(t->val)) {
        double a = json_number_value(v), b = json_number_value(t->val);
        return strcmp(t->op, "gt") == 0   ? a > b
               : strcmp(t->op, "ge") == 0 ? a >= b
               : strcmp(t->op, "lt") == 0 ? a < b
               : strcmp(t->op, "le") == 0 ? a <= b
                                          : false;
    }
    return false;
}

/* and binds tighter than or */
static bool vfilter_match(const struct vfilter *f, json_t *elem)
{
    bool any = false, all = true;
    for (size_t i = 0; i < f->n; i++) {
        all = all && term_match(&f->t[i], elem);
        if (i + 1 == f->n || f->or_after[i]) {
            any = any || all;
            all = true;
        }
    }
    return any;
}

/* --- paths --- */

struct path {
    json_t *container; /* the object holding attr (the resource or an extension object) */
    char attr[128];
    bool has_filter;
    struct vfilter filter;
    char sub[128];
};

static int path_error(struct scim_out *o, const char *path, const char *why)
{
    return scim_out_error(o, 400, "invalidPath", "path \"%.128s\" %s", path, why);
}

/* The extension schemas of the resource types (their objects sit at the top level). */
static const char *const extensions[] = {SCIM_SCHEMA_ENTERPRISE};

/* Parses path against resource; for add/replace an absent extension object is created. */
static int path_parse(json_t *res, const char *path, const char *core_urn, bool create,
                      struct path *p, struct scim_out *o)
{
    memset(p, 0, sizeof(*p));
    p->container = res;
    const char *s = path;
    if (strncasecmp(s, "urn:", 4) == 0) {
        size_t cl = strlen(core_urn);
        bool found = false;
        if (strncasecmp(s, core_urn, cl) == 0 && s[cl] == ':') {
            s += cl + 1;
            found = true;
        }
        for (size_t i = 0; !found && i < sizeof(extensions) / sizeof(extensions[0]); i++) {
            size_t el = strlen(extensions[i]);
            if (strncasecmp(s, extensions[i], el) != 0 || (s[el] != ':' && s[el] != '\0'))
                continue;
            const char *real = NULL;
            json_t *ext = get_ci(res, extensions[i], &real);
            if (!json_is_object(ext)) {
                if (!create && s[el] == ':')
                    return 1; /* nothing to remove */
                ext = json_object();
                json_object_set_new(res, extensions[i], ext);
            }
            if (s[el] == '\0') { /* the extension itself */
                snprintf(p->attr, sizeof(p->attr), "%s", extensions[i]);
                return 0;
            }
            p->container = ext;
            s += el + 1;
            found = true;
        }
        if (!found)
            return path_error(o, path, "names no schema of this resource");
    }
    const char *a = s;
    while (*s && *s != '[' && *s != '.')
        s++;
    if (s == a || (size_t)(s - a) >= sizeof(p->attr))
        return path_error(o, path, "has no attribute name");
    memcpy(p->attr, a, (size_t)(s - a));
    if (*s == '[') {
        const char *f = s + 1, *e = f;
        bool q = false;
        while (*e && (q || *e != ']')) {
            if (*e == '"' && (e == f || e[-1] != '\\'))
                q = !q;
            e++;
        }
        if (*e != ']')
            return path_error(o, path, "has an unclosed value filter");
        if (vfilter_parse(f, e, &p->filter) != 0) {
            vfilter_free(&p->filter);
            return scim_out_error(o, 400, "invalidFilter",
                                  "value filter of path \"%.128s\" is not valid", path);
        }
        p->has_filter = true;
        s = e + 1;
    }
    const char *bad = NULL;
    if (*s == '.') {
        s++;
        if (!*s || strlen(s) >= sizeof(p->sub) || strpbrk(s, ".[]"))
            bad = "has no valid sub-attribute";
        else
            snprintf(p->sub, sizeof(p->sub), "%s", s);
    } else if (*s) {
        bad = "is not an attribute path";
    }
    if (bad) {
        if (p->has_filter)
            vfilter_free(&p->filter);
        p->has_filter = false;
        return path_error(o, path, bad);
    }
    return 0;
}

static bool read_only(const char *attr)
{
    return strcasecmp(attr, "id") == 0 || strcasecmp(attr, "meta") == 0 ||
           strcasecmp(attr, "schemas") == 0;
}

/* Merges the members of src into dst (complex attributes: the given sub-attributes replace,
 * the others stay). */
static void merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        set_ci(dst, k, json_incref(v));
    }
}

/* add/replace of value at attr of container (no filter, no sub) */
static void put_attr(json_t *container, const char *attr, json_t *value, int op)
{
    json_t *cur = get_ci(container, attr, NULL);
    if (op == OP_ADD && json_is_array(cur)) {
        if (json_is_array(value))
            json_array_extend(cur, value);
        else
            json_array_append(cur, value);
        return;
    }
    if (json_is_object(cur) && json_is_object(value)) {
        merge(cur, value);
        return;
    }
    set_ci(container, attr, json_incref(value));
}

/* A path-less add/replace: value is an object of attributes. */
static int apply_no_path(json_t *res, json_t *value, int op, const char *core_urn,
                         struct scim_out *o)
{
    if (!json_is_object(value))
        return scim_out_error(o, 400, "invalidValue",
                              "an operation without a path needs an object value");
    const char *k;
    json_t *v;
    json_object_foreach(value, k, v)
    {
        if (read_only(k))
            continue; /* read-only attributes are ignored, as in a PUT */
        bool urn = strncasecmp(k, "urn:", 4) == 0;
        if (!urn && !strchr(k, '.')) {
            put_attr(res, k, v, op);
            continue;
        }
        struct path p;
        int rc = path_parse(res, k, core_urn, true, &p, o);
        if (rc < 0)
            return -1;
        if (p.has_filter) {
            vfilter_free(&p.filter);
            return path_error(o, k, "as a key of a value must not have a value filter");
        }
        if (p.sub[0]) {
            json_t *c = get_ci(p.container, p.attr, NULL);
            if (!json_is_object(c)) {
                c = json_object();
                set_ci(p.container, p.attr, c);
            }
            set_ci(c, p.sub, json_incref(v));
        } else {
            put_attr(p.container, p.attr, v, op);
        }
    }
    return 0;
}

/* A filter's eq terms as a new element (the replace of attr[filter].sub with no match). */
static json_t *element_of(const struct vfilter *f)
{
    json_t *e = json_object();
    for (size_t i = 0; i < f->n; i++) {
        if (f->or_after[i])
            return (json_decref(e), NULL); /* an or names no one element */
        if (strcmp(f->t[i].op, "eq") != 0 || strchr(f->t[i].attr, '.'))
            return (json_decref(e), NULL);
        json_object_set(e, f->t[i].attr, f->t[i].val);
    }
    return e;
}

static int apply_path(json_t *res, const char *path, json_t *value, int op, const char *core_urn,
                      struct scim_out *o)
{
    struct path p;
    int rc = path_parse(res, path, core_urn, op != OP_REMOVE, &p, o);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return 0; /* remove of something that is not there */
    if (read_only(p.attr)) {
        if (p.has_filter)
            vfilter_free(&p.filter);
        return scim_out_error(o, 400, "mutability", "attribute \"%.128s\" is read-only", p.attr);
    }
    if (op != OP_REMOVE && !value) {
        if (p.has_filter)
            vfilter_free(&p.filter);
        return scim_out_error(o, 400, "invalidValue", "operation on \"%.128s\" has no value", path);
    }
    json_t *cur = get_ci(p.container, p.attr, NULL);
    if (!p.has_filter) {
        if (op == OP_REMOVE) {
            if (p.sub[0]) {
                if (json_is_object(cur))
                    del_ci(cur, p.sub);
                else if (json_is_array(cur)) {
                    size_t i;
                    json_t *e;
                    json_array_foreach(cur, i, e)
                    {
                        del_ci(e, p.sub);
                    }
                }
            } else if (value && json_is_array(cur)) {
                /* remove the elements whose value is one of the given ones */
                json_t *vals = json_is_array(value) ? value : NULL;
                for (size_t i = json_array_size(cur); i-- > 0;) {
                    json_t *ev = get_ci(json_array_get(cur, i), "value", NULL);
                    bool hit = false;
                    if (vals) {
                        size_t k;
                        json_t *x;
                        json_array_foreach(vals, k, x)
                        {
                            hit = hit || (ev && json_equal(ev, get_ci(x, "value", NULL)));
                        }
                    } else {
                        hit = ev && json_equal(ev, get_ci(value, "value", NULL));
                    }
                    if (hit)
                        json_array_remove(cur, i);
                }
            } else {
                del_ci(p.container, p.attr);
            }
            return 0;
        }
        if (p.sub[0]) {
            if (json_is_array(cur)) {
                /* attr.sub of a multi-valued attribute: every element */
                size_t i;
                json_t *e;
                json_array_foreach(cur, i, e)
                {
                    set_ci(e, p.sub, json_incref(value));
                }
                return 0;
            }
            if (!json_is_object(cur)) {
                cur = json_object();
                set_ci(p.container, p.attr, cur);
            }
            set_ci(cur, p.sub, json_incref(value));
            return 0;
        }
        if (op == OP_REPLACE && json_is_array(cur)) {
            set_ci(p.container, p.attr, json_incref(value));
            return 0;
        }
        put_attr(p.container, p.attr, value, op);
        return 0;
    }
    /* attr[filter] or attr[filter].sub */
    size_t matched = 0;
    if (json_is_array(cur)) {
        for (size_t i = json_array_size(cur); i-- > 0;) {
            json_t *e = json_array_get(cur, i);
            if (!json_is_object(e) || !vfilter_match(&p.filter, e))
                continue;
            matched++;
            if (op == OP_REMOVE) {
                if (p.sub[0])
                    del_ci(e, p.sub);
                else
                    json_array_remove(cur, i);
            } else if (p.sub[0]) {
                set_ci(e, p.sub, json_incref(value));
            } else if (json_is_object(value)) {
                merge(e, value);
            } else {
                vfilter_free(&p.filter);
                return scim_out_error(o, 400, "invalidValue",
                                      "the value for \"%.128s\" must be an object", path);
            }
        }
    }
    if (!matched && op != OP_REMOVE) {
        json_t *e = element_of(&p.filter);
        if (!e) {
            vfilter_free(&p.filter);
            return scim_out_error(o, 400, "noTarget", "no value of \"%.128s\" matches the filter",
                                  path);
        }
        if (p.sub[0])
            set_ci(e, p.sub, json_incref(value));
        else if (json_is_object(value))
            merge(e, value);
        if (!json_is_array(cur)) {
            cur = json_array();
            set_ci(p.container, p.attr, cur);
        }
        json_array_append_new(cur, e);
    }
    vfilter_free(&p.filter);
    return 0;
}

int scim_patch_apply(json_t *res, json_t *patch, const char *core_urn, struct scim_out *o)
{
    json_t *schemas = get_ci(patch, "schemas", NULL);
    if (schemas) {
        bool ok = false;
        size_t i;
        json_t *s;
        json_array_foreach(schemas, i, s)
        {
            ok = ok || (json_is_string(s) && strcasecmp(json_string_value(s), SCIM_MSG_PATCH) == 0);
        }
        if (!ok)
            return scim_out_error(o, 400, "invalidSyntax", "schemas must contain %s",
                                  SCIM_MSG_PATCH);
    }
    json_t *ops = get_ci(patch, "Operations", NULL);
    if (!json_is_array(ops) || json_array_size(ops) == 0)
        return scim_out_error(o, 400, "invalidSyntax", "Operations must be a non-empty array");
    size_t i;
    json_t *e;
    json_array_foreach(ops, i, e)
    {
        if (!json_is_object(e))
            return scim_out_error(o, 400, "invalidSyntax", "Operations[%zu] must be an object", i);
        const char *name = json_string_value(get_ci(e, "op", NULL));
        int op;
        if (name && strcasecmp(name, "add") == 0)
            op = OP_ADD;
        else if (name && strcasecmp(name, "replace") == 0)
            op = OP_REPLACE;
        else if (name && strcasecmp(name, "remove") == 0)
            op = OP_REMOVE;
        else
            return scim_out_error(o, 400, "invalidSyntax",
                                  "Operations[%zu].op must be add, replace or remove", i);
        json_t *path = get_ci(e, "path", NULL), *value = get_ci(e, "value", NULL);
        if (path && !json_is_null(path) && !json_is_string(path))
            return scim_out_error(o, 400, "invalidPath", "Operations[%zu].path must be a string",
                                  i);
        const char *ps = json_string_value(path);
        int rc;
        if (!ps || !*ps) {
            if (op == OP_REMOVE)
                return scim_out_error(o, 400, "noTarget", "Operations[%zu]: remove needs a path",
                                      i);
            rc = apply_no_path(res, value, op, core_urn, o);
        } else {
            rc = apply_path(res, ps, value, op, core_urn, o);
        }
        if (rc)
            return -1;
    }
    return 0;
}
