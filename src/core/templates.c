/* Message templates (include/roster/template.h, docs/templates.md): the checks and
 * operations behind the admin route and `roster template`, the built-in activation
 * template, and the look-up the delivery engine does before it hands a message that names
 * a template to its channel. Nothing is cached: a put is seen by the next message taken.
 */
#include <string.h>

#include "roster/core.h"
#include "roster/jsonr.h"
#include "roster/template.h"

/* The activation e-mail of a scheduled JumpCloud activation (src/core/scheduler.c writes
 * the variables as the message's data), unless the organisation stores "activation". */
static const char builtin_activation[] =
    "{\"title\":\"Your account {{username}} is now active\","
    "\"body\":\"Hello {{name}},\\n\\n"
    "your account {{username}} has been activated and you can sign in now.\\n\\n"
    "Username: {{username}}\\nE-mail: {{email}}\\n\\n"
    "If you did not expect this message, please contact your administrator.\"}";

const char *roster_template_builtin(const char *name, const char *kind)
{
    if (name && kind && strcmp(name, "activation") == 0 && strcmp(kind, "activation_email") == 0)
        return builtin_activation;
    return NULL;
}

static int bad(struct roster_err *err, const char *what)
{
    return roster_err_set(err, ROSTER_EINVAL, "%s", what);
}

int roster_template_check(const char *content, size_t len, struct roster_arena *a,
                          struct roster_err *err)
{
    struct roster_json_span *spans;
    size_t n;
    char top;
    if (!content)
        return bad(err, "content must be an object");
    if (roster_json_scan(content, len, a, &spans, &n, &top, err) != 0) {
        char *m = roster_arena_printf(a, "content: %s", err->msg);
        return roster_err_set(err, ROSTER_EINVAL, "%s", m);
    }
    struct roster_jsonr_val obj, v, el;
    if (roster_jsonr_parse(content, len, &obj) != 0 || obj.type != ROSTER_JSONR_OBJECT)
        return bad(err, "content must be an object");
    int has_elements = roster_jsonr_get(&obj, "elements", &v);
    if (has_elements == 1) {
        if (v.type != ROSTER_JSONR_ARRAY)
            return bad(err, "content.elements must be an array");
        struct roster_jsonr it;
        roster_jsonr_open(&it, &v);
        for (size_t i = 0; roster_jsonr_next(&it, NULL, &el) == 1; i++) {
            struct roster_jsonr_val type;
            if (el.type != ROSTER_JSONR_OBJECT)
                return roster_err_set(err, ROSTER_EINVAL, "content.elements[%zu] must be an object",
                                      i);
            if (roster_jsonr_get(&el, "type", &type) != 1 || type.type != ROSTER_JSONR_STRING)
                return roster_err_set(err, ROSTER_EINVAL,
                                      "content.elements[%zu].type must be a string", i);
        }
        if (roster_jsonr_get(&obj, "version", &v) == 1 && v.type != ROSTER_JSONR_STRING)
            return bad(err, "content.version must be a string");
        return 0;
    }
    static const char *const sugar[] = {"title", "body"};
    for (size_t i = 0; i < 2; i++) {
        int got = roster_jsonr_get(&obj, sugar[i], &v);
        if (got != 1)
            return roster_err_set(err, ROSTER_EINVAL,
                                  "content.%s is missing: give \"title\" and \"body\", or "
                                  "\"elements\"",
                                  sugar[i]);
        if (v.type != ROSTER_JSONR_STRING)
            return roster_err_set(err, ROSTER_EINVAL, "content.%s must be a string", sugar[i]);
    }
    return 0;
}

/* Whether s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF). */
static bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        size_t more = c < 0x80             ? 0
                      : (c & 0xE0) == 0xC0 ? 1
                      : (c & 0xF0) == 0xE0 ? 2
                      : (c & 0xF8) == 0xF0 ? 3
                                           : 9;
        if (more == 9 || (size_t)(end - p) < more)
            return false;
        unsigned cp = more == 0 ? c : c & (0x3Fu >> more);
        for (size_t i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3Fu);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

/* 0 when name is a template name (template.h), else ROSTER_EINVAL saying why. */
static int name_check(const char *name, struct roster_err *err)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0)
        return bad(err, "name must be a non-empty string");
    if (len > ROSTER_TEMPLATE_NAME_MAX)
        return roster_err_set(err, ROSTER_EINVAL, "name must be at most %d bytes",
                              ROSTER_TEMPLATE_NAME_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return bad(err, "name must not hold control characters");
    if (!utf8_valid(name, len))
        return bad(err, "name must be UTF-8");
    return 0;
}

int roster_template_put(struct roster_ctx *ctx, const char *name, const char *content, size_t len,
                        bool *created, struct roster_template *out, struct roster_err *err)
{
    int rc = name_check(name, err);
    if (!rc && len > ROSTER_TEMPLATE_MAX)
        rc = roster_err_set(err, ROSTER_EINVAL, "content must be at most %d bytes",
                            ROSTER_TEMPLATE_MAX);
    if (!rc)
        rc = roster_template_check(content, len, ctx->arena, err);
    if (rc)
        return rc;
    struct roster_jsonr_val v;
    roster_jsonr_parse(content, len, &v);
    struct roster_template t;
    memset(&t, 0, sizeof(t));
    memcpy(t.org_id, ctx->org_id, ROSTER_ID_LEN);
    t.name = roster_arena_strdup(ctx->arena, name);
    t.content_json = roster_jsonr_compact(&v, ctx->arena, NULL);
    rc = roster_store_template_put(ctx->conn, &t, created, err);
    if (!rc && out)
        *out = t;
    return rc;
}

int roster_template_get(struct roster_ctx *ctx, const char *name, struct roster_template *out,
                        struct roster_err *err)
{
    return roster_store_template_get(ctx->conn, ctx->org_id, name ? name : "", out, ctx->arena,
                                     err);
}

int roster_template_list(struct roster_ctx *ctx, struct roster_template **out, size_t *n,
                         struct roster_err *err)
{
    return roster_store_template_list(ctx->conn, ctx->org_id, ctx->arena, out, n, err);
}

int roster_template_delete(struct roster_ctx *ctx, const char *name, struct roster_err *err)
{
    return roster_store_template_delete(ctx->conn, ctx->org_id, name ? name : "", err);
}

/* root (an object) with its member "content" (if any) replaced by content. */
static const char *with_content(const struct roster_jsonr_val *root, const char *content,
                                struct roster_arena *a)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addch(&b, '{');
    struct roster_jsonr it;
    struct roster_jsonr_val key, val;
    roster_jsonr_open(&it, root);
    while (roster_jsonr_next(&it, &key, &val) == 1) {
        if (roster_jsonr_str_eq(&key, "content"))
            continue;
        roster_buf_add(&b, key.raw, key.len);
        roster_buf_addch(&b, ':');
        roster_buf_add(&b, val.raw, val.len);
        roster_buf_addch(&b, ',');
    }
    roster_buf_addstr(&b, "\"content\":");
    roster_buf_addstr(&b, content);
    roster_buf_addch(&b, '}');
    const char *out = roster_arena_strndup(a, b.data, b.len);
    roster_buf_release(&b);
    return out;
}

int roster_template_resolve(struct roster_conn *conn, const struct roster_message *m,
                            struct roster_arena *a, const char **content_json, const char **reason,
                            struct roster_err *err)
{
    struct roster_jsonr_val root, v;
    *content_json = m->content_json;
    *reason = NULL;
    if (!m->content_json ||
        roster_jsonr_parse(m->content_json, strlen(m->content_json), &root) != 0 ||
        root.type != ROSTER_JSONR_OBJECT)
        return 0; /* the channel says what is wrong with it */
    if (roster_jsonr_get(&root, "content", &v) == 1 && v.type == ROSTER_JSONR_OBJECT)
        return 0; /* inline content: no look-up */
    const char *what = "template";
    const char *name = roster_jsonr_get_str(&root, "template", a);
    if (!name || !name[0]) {
        what = "event";
        name = roster_jsonr_get_str(&root, "event", a);
    }
    if (!name || !name[0])
        return 0;
    struct roster_template t;
    int rc = roster_store_template_get(conn, m->org_id, name, &t, a, err);
    if (rc == 0) {
        *content_json = with_content(&root, t.content_json, a);
        return 0;
    }
    if (rc != ROSTER_ENOTFOUND)
        return rc;
    roster_err_clear(err);
    const char *builtin = roster_template_builtin(name, m->kind);
    if (builtin) {
        *content_json = with_content(&root, builtin, a);
        return 0;
    }
    *reason = roster_arena_printf(a,
                                  "%s \"%.200s\" names no template stored in this organisation "
                                  "(store one with PUT /admin/orgs/{id}/templates/{name} or "
                                  "`roster template set`)",
                                  what, name);
    return 0;
}
