/* Private to src/channel: an outbox message as an e-mail (src/channel/mail.c). Rendering of
 * roster's message content (include/roster/msgjob.h) into a subject and a text, and the
 * RFC 5322 message that carries them (multipart/alternative: text/plain and text/html,
 * quoted-printable), with no way for a value to add a header line.
 */
#ifndef ROSTER_CHANNEL_MAIL_H
#define ROSTER_CHANNEL_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/util.h"

/* What an e-mail says: subject and text with every {{variable}} substituted. */
struct roster_mail_text {
    const char *subject; /* one line (CR and LF became spaces) */
    const char *body;    /* plain text, lines separated by "\n" */
};

/* Renders content_json (roster's message content: "content" with "title"/"body" or
 * "elements" of type "meta" (title) and "text" (content); "data" and "to" for the
 * variables). Returns NULL, or why the message cannot be rendered (e.g. it has no
 * content: core puts a stored template's content in before the channel gets the message,
 * roster_template_resolve). */
const char *roster_mail_render(const char *content_json, struct roster_arena *a,
                               struct roster_mail_text *out);

/* Substitutes {{name}} (spaces inside the braces allowed; a dotted name walks nested
 * objects) in tpl with the value from data, else from profile (either may be NULL):
 * strings as they are, numbers and booleans as their JSON text, anything else or a missing
 * name as nothing. */
const char *roster_mail_subst(const char *tpl, const char *data_json, const char *profile_json,
                              struct roster_arena *a);

/* Whether addr is a plain address to put in an envelope and a header: local@domain, no
 * spaces, control characters, quotes, angle brackets or commas, at most 254 bytes. */
bool roster_mail_addr_ok(const char *addr);

/* The complete message (headers and body, CRLF line ends, ready for SMTP DATA) into b:
 * From, To, Subject (RFC 2047 encoded when not ASCII), Date (now_ms), Message-ID
 * <message_id@domain> (domain: from's, else "roster"), MIME-Version, and a
 * multipart/alternative body of text/plain and text/html (HTML-escaped), both UTF-8
 * quoted-printable. from and to must pass roster_mail_addr_ok. */
void roster_mail_build(struct roster_buf *b, const char *from, const char *to,
                       const char *message_id, const struct roster_mail_text *t, int64_t now_ms);

#endif
