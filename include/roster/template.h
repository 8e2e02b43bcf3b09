/* Message templates stored per organisation (docs/templates.md): a name and what a message
 * says, in the shapes a Courier definition's "content" takes ({"title","body"}, or elemental
 * {"version","elements":[...]}), which src/channel/mail.c renders. A message whose content
 * names a "template" (or an "event") and has no inline content is rendered from the stored
 * template of that name in its organisation (src/core/templates.c resolves it when the
 * delivery engine takes the message; the channel never reads the store).
 */
#ifndef ROSTER_TEMPLATE_H
#define ROSTER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/util.h"

#define ROSTER_TEMPLATE_NAME_MAX 200     /* bytes of a template's name */
#define ROSTER_TEMPLATE_MAX (256 * 1024) /* bytes of its content (JSON text) */

struct roster_template {
    char org_id[ROSTER_ID_LEN + 1];
    const char *name;         /* unique per organisation; 1..ROSTER_TEMPLATE_NAME_MAX bytes */
    const char *content_json; /* a JSON object (checked by core before it is stored) */
    int64_t updated_ms;       /* set by the store at each put */
};

struct roster_ctx;
struct roster_conn;
struct roster_message;

/* --- core operations (src/core/templates.c), scoped to ctx's organisation --- */

/* Checks content[0..len) as a template's content: valid JSON, an object that is either
 * {"title": string, "body": string} or {"version"?: string, "elements": [objects, each
 * with a string "type"]} (other members are kept). ROSTER_EINVAL naming the bad member
 * ("content.title must be a string"). */
int roster_template_check(const char *content, size_t len, struct roster_arena *a,
                          struct roster_err *err);

/* Stores (creates or replaces) the template name with content[0..len) (checked by
 * roster_template_check, stored compacted). The name: 1..ROSTER_TEMPLATE_NAME_MAX bytes of
 * UTF-8 without control characters (ROSTER_EINVAL "name ..." otherwise). *created (may be
 * NULL): true when there was none; *out (may be NULL) the stored template. */
int roster_template_put(struct roster_ctx *ctx, const char *name, const char *content, size_t len,
                        bool *created, struct roster_template *out, struct roster_err *err);
/* The template name; ROSTER_ENOTFOUND when missing (or another organisation's). */
int roster_template_get(struct roster_ctx *ctx, const char *name, struct roster_template *out,
                        struct roster_err *err);
/* Every template of the organisation, by name. */
int roster_template_list(struct roster_ctx *ctx, struct roster_template **out, size_t *n,
                         struct roster_err *err);
/* Deletes the template name; ROSTER_ENOTFOUND as roster_template_get. */
int roster_template_delete(struct roster_ctx *ctx, const char *name, struct roster_err *err);

/* The built-in content of template name for messages of kind (NULL when roster has none):
 * "activation" for "activation_email" messages (docs/templates.md). */
const char *roster_template_builtin(const char *name, const char *kind);

/* For the delivery engine: what message m says. When m's content names a "template" (else
 * an "event") and has no "content" object, *content_json is m's content with "content" set
 * to the stored template of that name in m's organisation (or the built-in one, when the
 * organisation stored none); otherwise it is m's content as it is. A template that is
 * neither stored nor built in: 0 with *reason naming it (the message is undeliverable as
 * it is). A store failure: its code (err set; try again later). Strings in a. Reads the
 * store on conn, so the channel never has to. */
int roster_template_resolve(struct roster_conn *conn, const struct roster_message *m,
                            struct roster_arena *a, const char **content_json, const char **reason,
                            struct roster_err *err);

#endif
