/* The webhook channel (include/roster/webhook.h, docs/webhooks.md) with libcurl: a POST of
 * the message's body (fixed when the event was written) to its endpoint, signed as the
 * Standard Webhooks specification says. One session is one curl easy handle, whose
 * connections libcurl keeps open between messages (keep-alive reuse, per host).
 *
 * The endpoint (url, secret) comes with the message: core fills it in after the claim
 * (roster_webhook_attach); this channel never reads the store.
 *
 * Outcomes: 2xx SENT; 410 GONE (core disables the endpoint); 408, 429 (with Retry-After, in
 * seconds or as an HTTP date, passed on as the next due time), 5xx, 3xx (redirects are
 * not followed), a connection that cannot be made or breaks, a timeout: TEMPORARY; any
 * other 4xx PERMANENT with the status in the reason.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/delivery.h"
#include "roster/util.h"
#include "roster/webhook.h"
#include "roster/webhook_channel.h"

bool roster_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                         size_t len, char out[64])
{
    unsigned char key[256];
    size_t klen;
    out[0] = '\0';
    if (!roster_webhook_secret_key(secret, key, sizeof(key), &klen))
        return false;
    char head[128];
    int hl = snprintf(head, sizeof(head), "%s.%lld.", id, (long long)timestamp);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        return false;
    /* HMAC() wants the signed content in one piece: "<id>.<timestamp>.<body>" */
    unsigned char *msg = malloc((size_t)hl + len + 1);
    if (!msg)
        return false;
    memcpy(msg, head, (size_t)hl);
    memcpy(msg + hl, body, len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    bool ok = HMAC(EVP_sha256(), key, (int)klen, msg, (size_t)hl + len, mac, &mlen) != NULL;
    free(msg);
    if (!ok)
        return false;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mlen); /* 44 chars and NUL */
    return true;
}

struct session {
    const struct roster_webhook_config *cfg;
    CURL *h;
    int64_t retry_at_ms; /* from this response's Retry-After, or 0 */
    char errbuf[CURL_ERROR_SIZE];
};

/* The response body is not kept. */
static size_t discard_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    (void)buf;
    (void)arg;
    return size * nitems;
}

/* Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct session *s = arg;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && n < 200 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char v[200];
        size_t k = 0;
        for (size_t i = sizeof(name) - 1; i < n; i++)
            if (buf[i] != '\r' && buf[i] != '\n')
                v[k++] = buf[i];
        v[k] = '\0';
        char *p = v;
        while (*p == ' ' || *p == '\t')
            p++;
        char *end;
        long long secs = strtoll(p, &end, 10);
        int64_t now = roster_now_ms();
        if (end != p && *end == '\0' && secs >= 0)
            s->retry_at_ms = now + (secs > 100000000LL ? 100000000LL : secs) * 1000;
        else {
            time_t t = curl_getdate(p, NULL);
            if (t > 0)
                s->retry_at_ms = (int64_t)t * 1000 > now ? (int64_t)t * 1000 : now;
        }
    }
    return n;
}

/* The destination of a webhook message: its endpoint (the message's recipient), so that
 * one slow endpoint holds at most the per-destination limit of this process's senders. */
static const char *webhook_destination(const struct roster_channel *ch,
                                       const struct roster_message *m, struct roster_arena *a)
{
    (void)ch;
    (void)a;
    return m->recipient;
}

static void *webhook_open(const struct roster_channel *ch)
{
    const struct roster_webhook_config *cfg = ch->cfg;
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->h = curl_easy_init();
    if (!s->h) {
        free(s);
        return NULL;
    }
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    long timeout = cfg->timeout_s > 0 ? cfg->timeout_s : 30L;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 10L ? timeout : 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "roster-webhooks/1");
    return s;
}

static void webhook_close(void *arg)
{
    struct session *s = arg;
    curl_easy_cleanup(s->h);
    free(s);
}

static enum roster_delivery_result webhook_send(void *arg, const struct roster_message *m,
                                                struct roster_arena *a, const char **reason,
                                                int64_t *retry_at_ms)
{
    struct session *s = arg;
    const struct roster_webhook *w = m->webhook;
    if (!w) {
        *reason = roster_arena_printf(a, "webhook endpoint \"%.64s\" was removed",
                                      m->recipient ? m->recipient : "");
        return ROSTER_DELIVERY_PERMANENT;
    }
    if (w->disabled_ms) {
        *reason = roster_arena_printf(a, "webhook endpoint \"%s\" is disabled: %s", w->id,
                                      w->disabled_reason ? w->disabled_reason : "");
        return ROSTER_DELIVERY_PERMANENT;
    }
    const char *body = m->content_json ? m->content_json : "{}";
    size_t len = strlen(body);
    int64_t ts = roster_now_ms() / 1000;
    char sig[64];
    if (!roster_webhook_sign(w->secret, m->id, ts, body, len, sig)) {
        *reason = "the webhook endpoint's secret is unusable";
        return ROSTER_DELIVERY_PERMANENT;
    }
    char hid[ROSTER_MESSAGE_ID_MAX + 16], hts[48], hsig[96];
    snprintf(hid, sizeof(hid), "webhook-id: %s", m->id);
    snprintf(hts, sizeof(hts), "webhook-timestamp: %lld", (long long)ts);
    snprintf(hsig, sizeof(hsig), "webhook-signature: %s", sig);
    struct curl_slist *hdr = NULL, *t;
    const char *lines[] = {"content-type: application/json", hid, hts, hsig, "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        t = curl_slist_append(hdr, lines[i]);
        if (!t) {
            curl_slist_free_all(hdr);
            *reason = "out of memory";
            return ROSTER_DELIVERY_TEMPORARY;
        }
        hdr = t;
    }
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    s->errbuf[0] = '\0';
    s->retry_at_ms = 0;
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        *reason = roster_arena_printf(a, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        return ROSTER_DELIVERY_TEMPORARY;
    }
    if (code >= 200 && code < 300)
        return ROSTER_DELIVERY_SENT;
    *reason = roster_arena_printf(a, "the endpoint answered HTTP %ld", code);
    if (code == 410)
        return ROSTER_DELIVERY_GONE;
    if (code == 408 || code == 429 || code >= 500 || code < 400) {
        if (code == 408 || code == 429 || code == 503)
            *retry_at_ms = s->retry_at_ms;
        return ROSTER_DELIVERY_TEMPORARY;
    }
    return ROSTER_DELIVERY_PERMANENT;
}

static struct roster_channel webhook_channel = {
    .name = "webhook",
    .batch = ROSTER_WEBHOOK_BATCH,
    .destination = webhook_destination,
    .session_open = webhook_open,
    .session_close = webhook_close,
    .send = webhook_send,
};

int roster_webhook_channel_init(const struct roster_webhook_config *cfg, struct roster_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return roster_err_set(err, ROSTER_EIO, "libcurl cannot start");
    webhook_channel.cfg = (void *)cfg;
    webhook_channel.sessions = cfg->sessions > 0 ? cfg->sessions : ROSTER_WEBHOOK_SESSIONS_DEFAULT;
    if (roster_channel_register(&webhook_channel) != 0)
        return roster_err_set(err, ROSTER_ENOMEM, "too many delivery channels");
    return 0;
}
