/* Store contract suite (contract.h): webhook endpoints (webhook_create, _list, _get, _end)
 * and the claim of the webhook channel's messages apart from the e-mails (message_claim by
 * channel).
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

#define FOREVER INT64_C(1000000000000)

static void new_hook(struct roster_webhook *w, const char *org_id, const char *url,
                     const char *events)
{
    struct roster_err err = {0};
    memset(w, 0, sizeof(*w));
    roster_id_new(w->id);
    memcpy(w->org_id, org_id, sizeof(w->org_id));
    w->url = url;
    w->secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    w->events = events;
    w->created_ms = roster_now_ms();
    CHECK_EQ_INT(roster_store_webhook_create(conn, w, &err), 0);
}

/* Claims everything due of channel; how many. */
static size_t drain(const char *channel, int64_t now)
{
    struct roster_err err = {0};
    size_t total = 0, n;
    do {
        struct roster_message *v;
        CHECK_EQ_INT(roster_store_message_claim(conn, channel, now, FOREVER, 500, &A, &v, &n, &err),
                     0);
        total += n;
    } while (n > 0);
    return total;
}

static void new_message(struct roster_message *m, const char *org_id, const char *kind,
                        const char *recipient)
{
    struct roster_err err = {0};
    memset(m, 0, sizeof(*m));
    memcpy(m->org_id, org_id, sizeof(m->org_id));
    m->kind = kind;
    m->channel = strcmp(kind, "webhook") == 0 ? "webhook" : NULL; /* NULL: e-mail */
    m->recipient = recipient;
    m->content_json = "{\"type\":\"job.completed\",\"timestamp\":\"x\",\"data\":{}}";
    CHECK_EQ_INT(roster_store_message_create(conn, m, &err), 0);
}

void test_webhooks(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_webhook a1, a2, b1, got, *v;
    size_t n;
    /* an organisation without endpoints lists none, an unknown one too */
    struct roster_org fresh;
    make_org(&fresh, "hookless");
    CHECK_EQ_INT(roster_store_webhook_list(conn, fresh.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(roster_store_webhook_list(conn, "0123456789abcdef01234567", &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 0);

    new_hook(&a1, org_a.id, "http://127.0.0.1:1/a1", NULL);
    new_hook(&a2, org_a.id, "https://example.com/a2", "job.completed,message.sent");
    new_hook(&b1, org_b.id, "http://127.0.0.1:1/b1", NULL);
    CHECK_EQ_INT(roster_store_webhook_list(conn, org_a.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_STR(v[0].id, a1.id);
        CHECK_EQ_STR(v[0].org_id, org_a.id);
        CHECK_EQ_STR(v[0].url, "http://127.0.0.1:1/a1");
        CHECK_EQ_STR(v[0].secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        CHECK(v[0].events == NULL);
        CHECK_EQ_INT(v[0].disabled_ms, 0);
        CHECK_EQ_STR(v[1].id, a2.id);
        CHECK_EQ_STR(v[1].events, "job.completed,message.sent");
        CHECK_EQ_INT(v[1].created_ms, a2.created_ms);
    }
    /* a taken id, a missing organisation */
    struct roster_webhook dup = a1;
    CHECK_EQ_INT(roster_store_webhook_create(conn, &dup, &err), ROSTER_ECONFLICT);
    roster_id_new(dup.id);
    memcpy(dup.org_id, "0123456789abcdef01234567", sizeof(dup.org_id));
    CHECK_EQ_INT(roster_store_webhook_create(conn, &dup, &err), ROSTER_ENOTFOUND);

    /* tenant isolation: another organisation's endpoint answers like a missing one */
    CHECK_EQ_INT(roster_store_webhook_get(conn, org_a.id, a2.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.url, "https://example.com/a2");
    CHECK_EQ_INT(roster_store_webhook_get(conn, org_b.id, a2.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_b.id, a2.id, true, "x", 1, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_b.id, a2.id, false, "x", 1, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_webhook_get(conn, org_a.id, a2.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.disabled_ms, 0);

    /* the webhook channel claims only webhook messages, the e-mail channel only the rest */
    int64_t now = roster_now_ms();
    drain("webhook", now);
    drain("email", now);
    struct roster_message w1, w2, w3, e1, mb;
    new_message(&w1, org_a.id, "webhook", a1.id);
    new_message(&e1, org_a.id, "bulk_message", "someone@example.com");
    new_message(&w2, org_a.id, "webhook", a2.id);
    new_message(&w3, org_a.id, "webhook", a2.id);
    new_message(&mb, org_b.id, "webhook", b1.id);
    struct roster_message *c;
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now + 1, FOREVER, 100, &A, &c, &n, &err),
                 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK_EQ_STR(c[0].id, e1.id);
    CHECK_EQ_INT(roster_store_message_claim(conn, "webhook", now + 1, 1000, 100, &A, &c, &n, &err),
                 0);
    CHECK_EQ_INT(n, 4);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_STR(c[i].kind, "webhook");
        CHECK_EQ_STR(c[i].channel, "webhook");
    }

    /* disabling a2 ends its waiting messages (claimed ones too: their outcome is then not
     * recorded) and keeps the first disabling */
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_a.id, a2.id, false, "gone: 410", 1234, &err),
                 0);
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_a.id, a2.id, false, "again", 5678, &err), 0);
    CHECK_EQ_INT(roster_store_webhook_get(conn, org_a.id, a2.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.disabled_ms, 1234);
    CHECK_EQ_STR(got.disabled_reason, "gone: 410");
    struct roster_message m;
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, w2.id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.status, "UNDELIVERABLE");
    CHECK_EQ_STR(m.reason, "gone: 410");
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, w3.id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.status, "UNDELIVERABLE");
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, w1.id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.status, "ENQUEUED");
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, mb.id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.status, "ENQUEUED");
    struct roster_message_outcome o = {.id = w2.id,
                                       .lease_token = c[0].lease_token,
                                       .status = "SENT",
                                       .at_ms = now,
                                       .attempted = true};
    size_t rec = 9;
    CHECK_EQ_INT(roster_store_message_record(conn, &o, 1, &rec, &err), 0);
    CHECK_EQ_INT(rec, 0);

    /* removing: gone, its waiting message ended, a second remove finds nothing */
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_a.id, a1.id, true, "removed", 1, &err), 0);
    CHECK_EQ_INT(roster_store_webhook_get(conn, org_a.id, a1.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_webhook_end(conn, org_a.id, a1.id, true, "removed", 1, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, w1.id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.status, "UNDELIVERABLE");
    CHECK_EQ_STR(m.reason, "removed");
    CHECK_EQ_INT(roster_store_webhook_list(conn, org_a.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(roster_store_webhook_list(conn, org_b.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    drain("webhook", now + 2 * FOREVER);
}
