/* The SMTP e-mail channel (include/roster/smtp.h) with libcurl. One session is one curl
 * easy handle: libcurl keeps its connection open between messages, so a worker sends
 * message after message on one SMTP connection (STARTTLS when the relay offers it, or
 * required with require_tls; smtps:// is TLS from the start; AUTH from the URL's user and
 * password). The message is roster_mail_build's, sent through a read callback.
 *
 * Outcomes: the relay's 2xx to DATA is SENT; a 5xx reply is UNDELIVERABLE at once (the
 * message as it is will never go); a 4xx, a connection that cannot be made or breaks,
 * a timeout, or TLS and AUTH trouble (the relay's configuration, not the message's fault)
 * are temporary and retried.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "channel/mail.h"
#include "roster/delivery.h"
#include "roster/jsonr.h"
#include "roster/log.h"
#include "roster/smtp.h"
#include "roster/util.h"

struct session {
    const struct roster_smtp_config *cfg;
    CURL *h;
    struct roster_buf msg;
    size_t pos; /* read callback's position in msg */
    char errbuf[CURL_ERROR_SIZE];
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct session *s = arg;
    size_t want = size * nitems, left = s->msg.len - s->pos;
    size_t n = want < left ? want : left;
    memcpy(buf, s->msg.data + s->pos, n);
    s->pos += n;
    return n;
}

static void *smtp_open(const struct roster_channel *ch)
{
    const struct roster_smtp_config *cfg = ch->cfg;
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->h = curl_easy_init();
    if (!s->h) {
        free(s);
        return NULL;
    }
    roster_buf_init(&s->msg);
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_URL, cfg->url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, cfg->from);
    curl_easy_setopt(h, CURLOPT_USE_SSL, cfg->require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long timeout = cfg->timeout_s > 0 ? cfg->timeout_s : 60L;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 15L ? timeout : 15L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    return s;
}

static void smtp_close(void *arg)
{
    struct session *s = arg;
    curl_easy_cleanup(s->h);
    roster_buf_release(&s->msg);
    free(s);
}

/* The address the message goes to: its content's "to"."email", else its recipient when
 * that is an address. */
static const char *address_of(const struct roster_message *m, struct roster_arena *a)
{
    const char *addr = NULL;
    struct roster_jsonr_val root, to;
    if (m->content_json &&
        roster_jsonr_parse(m->content_json, strlen(m->content_json), &root) == 0 &&
        root.type == ROSTER_JSONR_OBJECT && roster_jsonr_get(&root, "to", &to) == 1 &&
        to.type == ROSTER_JSONR_OBJECT)
        addr = roster_jsonr_get_str(&to, "email", a);
    if (!addr && m->recipient && strchr(m->recipient, '@'))
        addr = m->recipient;
    return addr;
}

/* The destination of an e-mail: its address's domain, in lower case (a relay, or the
 * domain's own servers behind it, may limit concurrent deliveries per domain, as Postfix
 * does); NULL (the channel as a whole) without an address. */
static const char *smtp_destination(const struct roster_channel *ch, const struct roster_message *m,
                                    struct roster_arena *a)
{
    (void)ch;
    const char *to = address_of(m, a);
    const char *at = to ? strrchr(to, '@') : NULL;
    if (!at)
        return NULL;
    char *dom = roster_arena_strdup(a, at + 1);
    for (char *p = dom; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return dom;
}

static bool id_ok(const char *id)
{
    if (!id[0])
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-'))
            return false;
    return true;
}

static enum roster_delivery_result smtp_send(void *arg, const struct roster_message *m,
                                             struct roster_arena *a, const char **reason,
                                             int64_t *retry_at_ms)
{
    (void)retry_at_ms;
    struct session *s = arg;
    const char *to = address_of(m, a);
    if (!to) {
        *reason = "the recipient has no e-mail address";
        return ROSTER_DELIVERY_PERMANENT;
    }
    if (!roster_mail_addr_ok(to)) {
        *reason = roster_arena_printf(a, "\"%.100s\" is not an e-mail address roster sends to", to);
        return ROSTER_DELIVERY_PERMANENT;
    }
    if (!id_ok(m->id)) {
        *reason = "the message id cannot be a Message-ID";
        return ROSTER_DELIVERY_PERMANENT;
    }
    struct roster_mail_text t;
    const char *why = roster_mail_render(m->content_json, a, &t);
    if (why) {
        *reason = why;
        return ROSTER_DELIVERY_PERMANENT;
    }
    roster_buf_reset(&s->msg);
    roster_mail_build(&s->msg, s->cfg->from, to, m->id, &t, roster_now_ms());
    s->pos = 0;
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!rcpt) {
        *reason = "out of memory";
        return ROSTER_DELIVERY_TEMPORARY;
    }
    curl_easy_setopt(s->h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(s->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->msg.len);
    s->errbuf[0] = '\0';
    CURLcode rc = curl_easy_perform(s->h);
    long code = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(s->h, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK)
        return ROSTER_DELIVERY_SENT;
    *reason = roster_arena_printf(a, "%s (SMTP %ld)",
                                  s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc), code);
    bool tls_or_auth = rc == CURLE_USE_SSL_FAILED || rc == CURLE_LOGIN_DENIED ||
                       rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
    if (code >= 500 && code < 600 && !tls_or_auth)
        return ROSTER_DELIVERY_PERMANENT;
    return ROSTER_DELIVERY_TEMPORARY;
}

/* the messages whose channel is "email" (every message created without a channel) */
static struct roster_channel smtp_channel = {
    .name = "email",
    .destination = smtp_destination,
    .session_open = smtp_open,
    .session_close = smtp_close,
    .send = smtp_send,
};

int roster_smtp_channel_init(const struct roster_smtp_config *cfg, struct roster_err *err)
{
    if (!cfg->url ||
        (strncmp(cfg->url, "smtp://", 7) != 0 && strncmp(cfg->url, "smtps://", 8) != 0))
        return roster_err_set(err, ROSTER_EINVAL, "--smtp-url must start with smtp:// or smtps://");
    if (!roster_mail_addr_ok(cfg->from))
        return roster_err_set(err, ROSTER_EINVAL,
                              "--smtp-from \"%.100s\" is not a plain e-mail address",
                              cfg->from ? cfg->from : "");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return roster_err_set(err, ROSTER_EIO, "libcurl cannot start");
    smtp_channel.cfg = (void *)cfg;
    smtp_channel.sessions = cfg->sessions > 0 ? cfg->sessions : ROSTER_SMTP_SESSIONS_DEFAULT;
    if (roster_channel_register(&smtp_channel) != 0)
        return roster_err_set(err, ROSTER_ENOMEM, "too many delivery channels");
    return 0;
}
