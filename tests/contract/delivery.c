/* Store contract suite (contract.h): outbox delivery (message_claim, message_record, and
 * lease_reset_all for claimed messages). Claims take due messages of every organisation,
 * so each test first claims whatever earlier tests left due, with a lease that outlasts
 * the run, and then sees only its own messages.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

#define FOREVER INT64_C(1000000000000) /* a lease no test outlives */

/* Claims every message due at now for FOREVER; how many. */
static size_t drain(int64_t now)
{
    struct roster_err err = {0};
    size_t total = 0, n;
    do {
        struct roster_message *v;
        CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 500, &A, &v, &n, &err),
                     0);
        total += n;
    } while (n > 0);
    return total;
}

/* A new message of org_id to recipient (CHECKed). */
static void new_message(struct roster_message *m, const char *org_id, const char *recipient)
{
    struct roster_err err = {0};
    memset(m, 0, sizeof(*m));
    memcpy(m->org_id, org_id, sizeof(m->org_id));
    m->kind = "bulk_message";
    m->recipient = recipient;
    m->content_json = "{\"data\":{}}";
    CHECK_EQ_INT(roster_store_message_create(conn, m, &err), 0);
}

/* The index in v[0..n) of the message id, or -1. */
static int find(const struct roster_message *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return (int)i;
    return -1;
}

void test_delivery_claims(void)
{
    struct roster_err err = {0};
    need_orgs();
    int64_t now = roster_now_ms();
    drain(now);
    struct roster_message m[6];
    for (int i = 0; i < 5; i++)
        new_message(&m[i], i % 2 ? org_b.id : org_a.id, "someone@example.com");

    /* a claim takes the due messages of every organisation, with everything filled in */
    struct roster_message *v;
    size_t n;
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 100, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 5);
    int at[5];
    for (int i = 0; i < 5; i++) {
        at[i] = find(v, n, m[i].id);
        CHECK(at[i] >= 0);
        if (at[i] < 0)
            return;
        const struct roster_message *c = &v[at[i]];
        CHECK_EQ_STR(c->org_id, m[i].org_id);
        CHECK_EQ_STR(c->kind, "bulk_message");
        CHECK_EQ_STR(c->recipient, "someone@example.com");
        CHECK_EQ_STR(c->content_json, "{\"data\":{}}");
        CHECK_EQ_STR(c->status, "ENQUEUED");
        CHECK_EQ_INT(c->attempts, 0);
        CHECK(c->lease_token != 0);
        CHECK_EQ_INT(c->created_ms, m[i].created_ms);
    }
    /* claimed messages are not claimed again while the lease holds */
    struct roster_message *w;
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 1000, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 0);

    /* outcomes: sent, failed for good, to retry later, a lost claim, handed back untried */
    struct roster_message_outcome o[5] = {
        {m[0].id, v[at[0]].lease_token, "SENT", now + 5, 0, NULL, true},
        {m[1].id, v[at[1]].lease_token, "UNDELIVERABLE", 0, 0, "550 no such user", true},
        {m[2].id, v[at[2]].lease_token, "ENQUEUED", 0, now + 60000, "451 try later", true},
        {m[3].id, v[at[3]].lease_token + 1, "SENT", now, 0, NULL, true},
        {m[4].id, v[at[4]].lease_token, "ENQUEUED", 0, now, NULL, false},
    };
    size_t recorded = 99;
    CHECK_EQ_INT(roster_store_message_record(conn, o, 5, &recorded, &err), 0);
    CHECK_EQ_INT(recorded, 4);
    struct roster_message got;
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, m[0].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "SENT");
    CHECK_EQ_INT(got.sent_ms, now + 5);
    CHECK_EQ_INT(got.attempts, 1);
    CHECK(got.reason == NULL);
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, m[1].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "UNDELIVERABLE");
    CHECK_EQ_STR(got.reason, "550 no such user");
    CHECK_EQ_INT(got.attempts, 1);
    CHECK_EQ_INT(got.sent_ms, 0);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, m[2].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "ENQUEUED");
    CHECK_EQ_STR(got.reason, "451 try later");
    CHECK_EQ_INT(got.attempts, 1);
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, m[3].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "ENQUEUED");
    CHECK_EQ_INT(got.attempts, 0);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, m[4].id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.attempts, 0);

    /* the message handed back is due at once; the one to retry at its time; finished
     * ones never; a repeated outcome is not recorded twice */
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && strcmp(w[0].id, m[4].id) == 0);
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 59999, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 60000, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && strcmp(w[0].id, m[2].id) == 0 && w[0].attempts == 1);
    CHECK_EQ_INT(roster_store_message_record(conn, o, 1, &recorded, &err), 0);
    CHECK_EQ_INT(recorded, 0);

    /* an expired lease is taken over; the old claim's outcome is then refused */
    new_message(&m[5], org_a.id, "late@example.com");
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, 100, 100, &A, &w, &n, &err), 0);
    CHECK(n == 1 && strcmp(w[0].id, m[5].id) == 0);
    int64_t old_token = n == 1 ? w[0].lease_token : 0;
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 99, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 100, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK(n == 1 && strcmp(w[0].id, m[5].id) == 0 && w[0].lease_token != old_token);
    struct roster_message_outcome late = {m[5].id, old_token, "SENT", now, 0, NULL, true};
    CHECK_EQ_INT(roster_store_message_record(conn, &late, 1, &recorded, &err), 0);
    CHECK_EQ_INT(recorded, 0);
    late.lease_token = n == 1 ? w[0].lease_token : 0;
    CHECK_EQ_INT(roster_store_message_record(conn, &late, 1, &recorded, &err), 0);
    CHECK_EQ_INT(recorded, 1);

    /* lease_reset_all (a restart of an embedded store) makes claimed messages due again,
     * and leaves finished ones alone */
    CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 100000, &A, &w, &n, &err),
                 0);
    CHECK(find(w, n, m[3].id) >= 0);
    CHECK(find(w, n, m[4].id) >= 0);
    CHECK(find(w, n, m[0].id) < 0 && find(w, n, m[1].id) < 0 && find(w, n, m[5].id) < 0);
    drain(now);
}

#define CONC_MSGS 400
#define CONC_THREADS 4
static atomic_int conc_seen[CONC_MSGS], conc_errors;
static char conc_ids[CONC_MSGS][ROSTER_MESSAGE_ID_MAX];

static void *claimer(void *arg)
{
    (void)arg;
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &conc_errors);
    if (!c)
        return NULL;
    struct roster_err err = {0};
    int64_t now = *(const int64_t *)arg;
    for (;;) {
        struct roster_message *v;
        size_t n;
        if (roster_store_message_claim(c, "email", now, FOREVER, 7, &a, &v, &n, &err) != 0) {
            atomic_fetch_add(&conc_errors, 1);
            break;
        }
        if (n == 0)
            break;
        struct roster_message_outcome *o = roster_arena_zalloc(&a, n * sizeof(*o));
        for (size_t i = 0; i < n; i++) {
            for (int k = 0; k < CONC_MSGS; k++)
                if (strcmp(conc_ids[k], v[i].id) == 0)
                    atomic_fetch_add(&conc_seen[k], 1);
            o[i] = (struct roster_message_outcome){v[i].id, v[i].lease_token, "SENT", now, 0, NULL,
                                                   true};
        }
        size_t rec = 0;
        if (roster_store_message_record(c, o, n, &rec, &err) != 0 || rec != n)
            atomic_fetch_add(&conc_errors, 1);
        roster_arena_clear(&a);
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

/* Claims of several connections at once never hand out a message twice. */
void test_delivery_concurrent(void)
{
    need_orgs();
    int64_t now = roster_now_ms();
    drain(now);
    for (int i = 0; i < CONC_MSGS; i++) {
        struct roster_message m;
        new_message(&m, i % 2 ? org_a.id : org_b.id, "many@example.com");
        memcpy(conc_ids[i], m.id, sizeof(m.id));
        atomic_store(&conc_seen[i], 0);
    }
    pthread_t t[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_create(&t[i], NULL, claimer, &now);
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(atomic_load(&conc_errors), 0);
    int once = 0;
    for (int i = 0; i < CONC_MSGS; i++)
        once += atomic_load(&conc_seen[i]) == 1;
    CHECK_EQ_INT(once, CONC_MSGS);
}

/* Each channel claims only its own messages; a message created without one is "email". */
void test_delivery_channels(void)
{
    struct roster_err err = {0};
    need_orgs();
    int64_t now = roster_now_ms();
    drain(now);
    struct roster_message *w;
    size_t n;
    do
        CHECK_EQ_INT(
            roster_store_message_claim(conn, "webhook", now, FOREVER, 500, &A, &w, &n, &err), 0);
    while (n > 0);
    struct roster_message e, h, many[3];
    new_message(&e, org_a.id, "mail@example.com");
    memset(&h, 0, sizeof(h));
    memcpy(h.org_id, org_b.id, sizeof(h.org_id));
    h.kind = "event";
    h.channel = "webhook";
    h.recipient = "ep_1";
    CHECK_EQ_INT(roster_store_message_create(conn, &h, &err), 0);
    memset(many, 0, sizeof(many));
    for (int i = 0; i < 3; i++) {
        memcpy(many[i].org_id, org_a.id, sizeof(many[i].org_id));
        many[i].kind = "bulk_message";
        many[i].channel = i == 1 ? "webhook" : NULL;
    }
    CHECK_EQ_INT(roster_store_message_create_many(conn, many, 3, &err), 0);

    struct roster_message got;
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, e.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.channel, "email");
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, h.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.channel, "webhook");
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, many[1].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.channel, "webhook");

    CHECK_EQ_INT(roster_store_message_claim(conn, "webhook", now, FOREVER, 100, &A, &w, &n, &err),
                 0);
    CHECK_EQ_INT(n, 2);
    CHECK(find(w, n, h.id) >= 0 && find(w, n, many[1].id) >= 0);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_STR(w[i].channel, "webhook");
    CHECK_EQ_INT(roster_store_message_claim(conn, "sms", now, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 100, &A, &w, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    CHECK(find(w, n, e.id) >= 0 && find(w, n, many[0].id) >= 0 && find(w, n, many[2].id) >= 0);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_STR(w[i].channel, "email");
}

/* roster outbox: an organisation's messages newest first, paged by id, by status; retry. */
void test_delivery_outbox(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_org org;
    memset(&org, 0, sizeof(org));
    org.name = "Outbox Org";
    CHECK_EQ_INT(roster_store_org_create(conn, &org, &err), 0);
    int64_t now = roster_now_ms();
    drain(now);
    /* ids that sort as i; a message of another organisation in between */
    struct roster_message m[6];
    for (int i = 0; i < 6; i++) {
        memset(&m[i], 0, sizeof(m[i]));
        snprintf(m[i].id, sizeof(m[i].id), "1-6000000%d-%024d", i, i);
        memcpy(m[i].org_id, i == 3 ? org_a.id : org.id, sizeof(m[i].org_id));
        m[i].kind = "bulk_message";
        m[i].recipient = "x@example.com";
        CHECK_EQ_INT(roster_store_message_create(conn, &m[i], &err), 0);
    }
    struct roster_message *v;
    size_t n;
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, NULL, NULL, 100, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 5);
    const int order[5] = {5, 4, 2, 1, 0};
    for (size_t i = 0; i < n && i < 5; i++) {
        CHECK_EQ_STR(v[i].id, m[order[i]].id);
        CHECK_EQ_STR(v[i].org_id, org.id);
        CHECK_EQ_STR(v[i].channel, "email");
        CHECK_EQ_STR(v[i].status, "ENQUEUED");
    }
    /* paged: two, then the two after the second */
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, NULL, NULL, 2, &A, &v, &n, &err), 0);
    CHECK(n == 2 && strcmp(v[1].id, m[4].id) == 0);
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, NULL, m[4].id, 2, &A, &v, &n, &err), 0);
    CHECK(n == 2 && strcmp(v[0].id, m[2].id) == 0 && strcmp(v[1].id, m[1].id) == 0);
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, NULL, m[0].id, 2, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 0);

    /* outcomes: 0 sent, 1 undeliverable, 2 to retry in a minute; 4 stays claimed */
    struct roster_message *c;
    size_t nc;
    CHECK_EQ_INT(roster_store_message_claim(conn, "email", now, FOREVER, 100, &A, &c, &nc, &err),
                 0);
    CHECK_EQ_INT(nc, 6);
    struct roster_message_outcome o[4];
    const int who[4] = {0, 1, 2, 5};
    for (int i = 0; i < 4; i++) {
        int k = find(c, nc, m[who[i]].id);
        CHECK(k >= 0);
        if (k < 0)
            return;
        o[i] = (struct roster_message_outcome){
            m[who[i]].id, c[k].lease_token, "ENQUEUED", 0, now + 60000, NULL, true};
    }
    o[0].status = "SENT";
    o[0].at_ms = now;
    o[1].status = "UNDELIVERABLE";
    o[1].reason = "550 no such user";
    o[2].reason = "451 later";
    o[3].due_ms = now; /* 5: handed back, due now */
    o[3].attempted = false;
    size_t rec;
    CHECK_EQ_INT(roster_store_message_record(conn, o, 4, &rec, &err), 0);
    CHECK_EQ_INT(rec, 4);

    CHECK_EQ_INT(roster_store_message_list(conn, org.id, "SENT", NULL, 100, &A, &v, &n, &err), 0);
    CHECK(n == 1 && strcmp(v[0].id, m[0].id) == 0 && v[0].sent_ms == now && v[0].attempts == 1);
    CHECK_EQ_INT(
        roster_store_message_list(conn, org.id, "UNDELIVERABLE", NULL, 100, &A, &v, &n, &err), 0);
    CHECK(n == 1 && strcmp(v[0].id, m[1].id) == 0);
    CHECK(n == 1 && v[0].reason && strcmp(v[0].reason, "550 no such user") == 0);
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, "ENQUEUED", NULL, 100, &A, &v, &n, &err),
                 0);
    CHECK_EQ_INT(n, 3);
    CHECK(n == 3 && strcmp(v[0].id, m[5].id) == 0 && strcmp(v[2].id, m[2].id) == 0);
    CHECK(n == 3 && v[2].due_ms == now + 60000);
    CHECK_EQ_INT(roster_store_message_list(conn, org.id, "ENQUEUED", m[5].id, 1, &A, &v, &n, &err),
                 0);
    CHECK(n == 1 && strcmp(v[0].id, m[4].id) == 0);
    /* an unknown organisation */
    CHECK_EQ_INT(roster_store_message_list(conn, "ffffffffffffffffffffffff", NULL, NULL, 10, &A, &v,
                                           &n, &err),
                 ROSTER_ENOTFOUND);

    /* retry: undeliverable and waiting ones become due now, reason and attempts kept */
    struct roster_message got;
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, m[1].id, now + 1, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "ENQUEUED");
    CHECK_EQ_INT(got.due_ms, now + 1);
    CHECK_EQ_INT(got.attempts, 1);
    CHECK(got.reason && strcmp(got.reason, "550 no such user") == 0);
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, m[2].id, now + 1, NULL, NULL, &err), 0);
    CHECK_EQ_INT(
        roster_store_message_claim(conn, "email", now + 1, FOREVER, 100, &A, &c, &nc, &err), 0);
    CHECK_EQ_INT(nc, 3); /* 1, 2 and the handed-back 5 */
    CHECK(find(c, nc, m[1].id) >= 0 && find(c, nc, m[2].id) >= 0 && find(c, nc, m[5].id) >= 0);
    /* refused: sent, claimed right now (4, and now 1), another organisation's, missing */
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, m[0].id, now, NULL, NULL, &err),
                 ROSTER_ECONFLICT);
    CHECK(strstr(err.msg, "sent") != NULL);
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, m[4].id, now, NULL, NULL, &err),
                 ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, m[3].id, now, NULL, NULL, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_message_retry(conn, org.id, "1-nope", now, NULL, NULL, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_message_get(conn, org.id, m[0].id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.status, "SENT");
    drain(now + 1);
}
