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
#include <stdint.h>

#include "roster/util.h"

#define ROSTER_TEMPLATE_NAME_MAX 200 /* bytes of a template's name */
#define ROSTER_TEMPLATE_MAX (256 * 1024) /* bytes of its content (JSON text) */

struct roster_template {
    char org_id[ROSTER_ID_LEN + 1];
    const char *name;         /* unique per organisation; 1..ROSTER_TEMPLATE_NAME_MAX bytes */
    const char *content_json; /* a JSON object (checked by core before it is stored) */
    int64_t updated_ms;       /* set by the store at each put */
};

#endif
