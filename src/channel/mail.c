/* An outbox message as an e-mail (src/channel/mail.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "channel/mail.h"
#include "roster/jsonr.h"

/* The value of the dotted name[0..len) in the JSON object text json, as text (see
 * roster_mail_subst), or NULL when missing. */
static const char *lookup(const char *json, const char *name, size_t len, struct roster_arena *a)
{
    if (!json)
        return NULL;
    struct roster_jsonr_val v;
    if (roster_jsonr_parse(json, strlen(json), &v) != 0)
        return NULL;
    const char *p = name, *end = name + len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *seg_end = dot ? dot : end;
        char *key = roster_arena_strndup(a, p, (size_t)(seg_end - p));
        struct roster_jsonr_val next;
        if (v.type != ROSTER_JSONR_OBJECT || roster_jsonr_get(&v, key, &next) != 1)
            return NULL;
        v = next;
        p = dot ? dot + 1 : end;
    }
    const char *s = NULL;
    switch (v.type) {
    case ROSTER_JSONR_STRING:
        return roster_jsonr_str(&v, a, &s, NULL) == 0 ? s : "";
    case ROSTER_JSONR_INTEGER:
    case ROSTER_JSONR_REAL:
    case ROSTER_JSONR_TRUE:
    case ROSTER_JSONR_FALSE:
        return roster_arena_strndup(a, v.raw, v.len);
    default:
        return "";
    }
}

const char *roster_mail_subst(const char *tpl, const char *data_json, const char *profile_json,
                              struct roster_arena *a)
{
    struct roster_buf b;
    roster_buf_init(&b);
    const char *p = tpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            roster_buf_addstr(&b, p);
            break;
        }
        roster_buf_add(&b, p, (size_t)(open - p));
        const char *n = open + 2, *e = close;
        while (n < e && (*n == ' ' || *n == '\t'))
            n++;
        while (e > n && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > n) {
            const char *v = lookup(data_json, n, (size_t)(e - n), a);
            if (!v)
                v = lookup(profile_json, n, (size_t)(e - n), a);
            if (v)
                roster_buf_addstr(&b, v);
        }
        p = close + 2;
    }
    const char *out = roster_arena_strndup(a, b.data ? b.data : "", b.len);
    roster_buf_release(&b);
    return out;
}

/* s with CR, LF and other control characters (tab aside) replaced by spaces. */
static const char *one_line(const char *s, struct roster_arena *a)
{
    char *o = roster_arena_strdup(a, s);
    for (char *q = o; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = ' ';
    return o;
}

const char *roster_mail_render(const char *content_json, struct roster_arena *a,
                               struct roster_mail_text *out)
{
    struct roster_jsonr_val root, content, v;
    memset(out, 0, sizeof(*out));
    if (!content_json || roster_jsonr_parse(content_json, strlen(content_json), &root) != 0 ||
        root.type != ROSTER_JSONR_OBJECT)
        return "the message has no readable content";
    const char *data = NULL, *profile = NULL;
    if (roster_jsonr_get(&root, "data", &v) == 1 && v.type == ROSTER_JSONR_OBJECT)
        data = roster_jsonr_compact(&v, a, NULL);
    if (roster_jsonr_get(&root, "to", &v) == 1 && v.type == ROSTER_JSONR_OBJECT)
        profile = roster_jsonr_compact(&v, a, NULL);
    if (roster_jsonr_get(&root, "content", &content) != 1 || content.type != ROSTER_JSONR_OBJECT) {
        const char *name = roster_jsonr_get_str(&root, "template", a);
        const char *what = "template";
        if (!name) {
            name = roster_jsonr_get_str(&root, "event", a);
            what = "event";
        }
        if (name)
            return roster_arena_printf(a,
                                       "%s \"%.200s\" names a template that was not looked up "
                                       "(core resolves stored templates before delivery)",
                                       what, name);
        return "the message has no content to send";
    }
    const char *title = roster_jsonr_get_str(&content, "title", a);
    const char *body = roster_jsonr_get_str(&content, "body", a);
    struct roster_jsonr_val elements;
    if (roster_jsonr_get(&content, "elements", &elements) == 1 &&
        elements.type == ROSTER_JSONR_ARRAY) {
        struct roster_buf b;
        roster_buf_init(&b);
        if (body)
            roster_buf_addstr(&b, body);
        struct roster_jsonr it;
        struct roster_jsonr_val el;
        roster_jsonr_open(&it, &elements);
        while (roster_jsonr_next(&it, NULL, &el) == 1) {
            if (el.type != ROSTER_JSONR_OBJECT)
                continue;
            const char *type = roster_jsonr_get_str(&el, "type", a);
            if (type && strcmp(type, "meta") == 0 && !title) {
                title = roster_jsonr_get_str(&el, "title", a);
            } else if (type && strcmp(type, "text") == 0) {
                const char *t = roster_jsonr_get_str(&el, "content", a);
                if (t) {
                    if (b.len)
                        roster_buf_addstr(&b, "\n\n");
                    roster_buf_addstr(&b, t);
                }
            }
        }
        body = roster_arena_strndup(a, b.data ? b.data : "", b.len);
        roster_buf_release(&b);
    }
    out->subject = one_line(roster_mail_subst(title ? title : "", data, profile, a), a);
    out->body = roster_mail_subst(body ? body : "", data, profile, a);
    return NULL;
}

bool roster_mail_addr_ok(const char *addr)
{
    if (!addr)
        return false;
    size_t len = strlen(addr);
    const char *at = strrchr(addr, '@');
    if (len == 0 || len > 254 || !at || at == addr || !at[1])
        return false;
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || strchr("<>\",;()[]\\", c))
            return false;
    }
    return true;
}

/* Quoted-printable (RFC 2045 6.7) of s, with CRLF line ends and soft breaks before 76. */
static void qp(struct roster_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            roster_buf_addstr(b, "\r\n");
            col = 0;
            continue;
        }
        bool trailing_space = (*p == ' ' || *p == '\t') && (p[1] == '\n' || p[1] == '\r' || !p[1]);
        bool plain = *p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0);
        plain = plain || ((*p == ' ' || *p == '\t') && !trailing_space);
        size_t w = plain ? 1 : 3;
        if (col + w > 75) {
            roster_buf_addstr(b, "=\r\n");
            col = 0;
        }
        if (plain) {
            roster_buf_addch(b, (char)*p);
        } else {
            roster_buf_addch(b, '=');
            roster_buf_addch(b, hex[*p >> 4]);
            roster_buf_addch(b, hex[*p & 15]);
        }
        col += w;
    }
    roster_buf_addstr(b, "\r\n");
}

static void html_escape(struct roster_buf *b, const char *s)
{
    static const char *const entity[256] = {
        ['&'] = "&amp;",  ['<'] = "&lt;",    ['>'] = "&gt;", ['"'] = "&quot;",
        ['\''] = "&#39;", ['\n'] = "<br>\n", ['\r'] = "",
    };
    for (; *s; s++) {
        const char *e = entity[(unsigned char)*s];
        if (e)
            roster_buf_addstr(b, e);
        else
            roster_buf_addch(b, *s);
    }
}

/* The subject as a header value: as it is when printable ASCII, else RFC 2047 encoded
 * words (base64 of UTF-8, each at most 45 input bytes, never splitting a character). */
static void subject_value(struct roster_buf *b, const char *s)
{
    bool ascii = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            ascii = false;
    if (ascii && strlen(s) < 900) {
        roster_buf_addstr(b, s);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    bool first = true;
    while (len > 0) {
        size_t n = len < 45 ? len : 45;
        while (n < len && n > 0 && (p[n] & 0xC0) == 0x80) /* no split inside a character */
            n--;
        if (n == 0)
            n = len < 45 ? len : 45;
        if (!first)
            roster_buf_addstr(b, "\r\n ");
        first = false;
        roster_buf_addstr(b, "=?UTF-8?B?");
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)p[i] << 16;
            if (i + 1 < n)
                v |= (uint32_t)p[i + 1] << 8;
            if (i + 2 < n)
                v |= p[i + 2];
            roster_buf_addch(b, b64[(v >> 18) & 63]);
            roster_buf_addch(b, b64[(v >> 12) & 63]);
            roster_buf_addch(b, i + 1 < n ? b64[(v >> 6) & 63] : '=');
            roster_buf_addch(b, i + 2 < n ? b64[v & 63] : '=');
        }
        roster_buf_addstr(b, "?=");
        p += n;
        len -= n;
    }
}

void roster_mail_build(struct roster_buf *b, const char *from, const char *to,
                       const char *message_id, const struct roster_mail_text *t, int64_t now_ms)
{
    const char *at = strrchr(from, '@');
    const char *domain = at && at[1] ? at + 1 : "roster";
    char date[64];
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* the boundary: from the message id, which no body line can hold after QP */
    roster_buf_printf(b, "From: <%s>\r\nTo: <%s>\r\nSubject: ", from, to);
    subject_value(b, t->subject ? t->subject : "");
    roster_buf_printf(b,
                      "\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/alternative; boundary=\"=_roster_%s\"\r\n\r\n",
                      date, message_id, domain, message_id);
    roster_buf_printf(b,
                      "--=_roster_%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                      message_id);
    qp(b, t->body ? t->body : "");
    struct roster_buf html;
    roster_buf_init(&html);
    roster_buf_addstr(&html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    html_escape(&html, t->subject ? t->subject : "");
    roster_buf_addstr(&html, "</title></head><body><p>");
    html_escape(&html, t->body ? t->body : "");
    roster_buf_addstr(&html, "</p></body></html>");
    roster_buf_addch(&html, '\0');
    roster_buf_printf(b,
                      "--=_roster_%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                      message_id);
    qp(b, html.data);
    roster_buf_release(&html);
    roster_buf_printf(b, "--=_roster_%s--\r\n", message_id);
}
