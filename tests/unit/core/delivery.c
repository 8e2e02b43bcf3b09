/* Unit tests of the delivery engine (src/core/delivery.c, src/core/dest_limits.c): the
 * per-destination bookkeeping alone and under threads, then the engine with fake channels
 * on a real SQLite store: never more than the limit of sends to one destination at once,
 * over-limit messages handed back without counting an attempt, one pool per channel (a
 * stalled channel does not stop another), and workers woken at once by a commit of new
 * messages (core_outbox_add / core_outbox_end) instead of the poll.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/worker.h"
#include "roster/core.h"
#include "roster/delivery.h"
#include "roster/store.h"
#include "test.h"
#include "unit/fixture.h"

static void test_limits_basic(void)
{
    struct roster_dest_limits l;
    roster_dest_limits_init(&l, 2);
    CHECK(roster_dest_limits_enter(&l, "a.example"));
    CHECK(roster_dest_limits_enter(&l, "a.example"));
    CHECK(!roster_dest_limits_enter(&l, "a.example")); /* a third: over the limit */
    CHECK(roster_dest_limits_enter(&l, "b.example"));  /* another destination is free */
    CHECK_EQ_INT(roster_dest_limits_count(&l, "a.example"), 2);
    CHECK_EQ_INT(roster_dest_limits_count(&l, "b.example"), 1);
    roster_dest_limits_leave(&l, "a.example");
    CHECK_EQ_INT(roster_dest_limits_count(&l, "a.example"), 1);
    CHECK(roster_dest_limits_enter(&l, "a.example"));
    roster_dest_limits_leave(&l, "a.example");
    roster_dest_limits_leave(&l, "a.example");
    roster_dest_limits_leave(&l, "b.example");
    /* a destination without sends leaves the table */
    CHECK_EQ_INT(l.n, 0);
    roster_dest_limits_leave(&l, "never.example"); /* harmless */
    CHECK_EQ_INT(roster_dest_limits_count(&l, "never.example"), 0);
    /* many destinations at once grow the table */
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "d%d", i);
        CHECK(roster_dest_limits_enter(&l, key));
    }
    CHECK_EQ_INT(l.n, 100);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "d%d", i);
        roster_dest_limits_leave(&l, key);
    }
    CHECK_EQ_INT(l.n, 0);
    roster_dest_limits_release(&l);
    roster_dest_limits_init(&l, 0); /* at least 1 */
    CHECK(roster_dest_limits_enter(&l, ""));
    CHECK(!roster_dest_limits_enter(&l, ""));
    roster_dest_limits_leave(&l, "");
    roster_dest_limits_release(&l);
}

#define LT_THREADS 8
#define LT_ROUNDS 20000
static struct roster_dest_limits lt;
static atomic_int lt_now[3], lt_max[3], lt_entered;

static void *limits_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    static const char *const keys[3] = {"x", "y", "z"};
    for (int i = 0; i < LT_ROUNDS; i++) {
        int k = (int)(rand_r(&seed) % 3);
        if (!roster_dest_limits_enter(&lt, keys[k]))
            continue;
        atomic_fetch_add(&lt_entered, 1);
        int now = atomic_fetch_add(&lt_now[k], 1) + 1;
        int m = atomic_load(&lt_max[k]);
        while (now > m && !atomic_compare_exchange_weak(&lt_max[k], &m, now))
            ;
        atomic_fetch_sub(&lt_now[k], 1);
        roster_dest_limits_leave(&lt, keys[k]);
    }
    return NULL;
}

/* Eight threads on three destinations with a limit of 2: never 3 at once on one. */
static void test_limits_threads(void)
{
    roster_dest_limits_init(&lt, 2);
    pthread_t t[LT_THREADS];
    for (int i = 0; i < LT_THREADS; i++)
        pthread_create(&t[i], NULL, limits_thread, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < LT_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 3; k++) {
        CHECK(atomic_load(&lt_max[k]) <= 2);
        CHECK(atomic_load(&lt_max[k]) >= 1);
    }
    CHECK(atomic_load(&lt_entered) > 0);
    CHECK_EQ_INT(lt.n, 0);
    roster_dest_limits_release(&lt);
}

/* --- the engine, with fake channels --- */

static struct test_store ts;
static struct roster_org org;

/* The "mail" channel: destination = recipient; each send takes 20 ms and is counted. */
#define DESTS 3
static atomic_int now_at[DESTS], max_at[DESTS], sent_at[DESTS];
static atomic_int stall; /* "hook" channel: sends block while set */
static atomic_int hook_sent;

static int dest_no(const struct roster_message *m)
{
    return m->recipient ? m->recipient[0] - 'a' : 0;
}

static const char *fake_destination(const struct roster_channel *ch, const struct roster_message *m,
                                    struct roster_arena *a)
{
    (void)ch;
    (void)a;
    return m->recipient;
}

static void *fake_open(const struct roster_channel *ch)
{
    (void)ch;
    return (void *)1;
}

static void fake_close(void *s)
{
    (void)s;
}

static enum roster_delivery_result mail_send(void *s, const struct roster_message *m,
                                             struct roster_arena *a, const char **reason,
                                             int64_t *retry_at_ms)
{
    (void)retry_at_ms;
    (void)s;
    (void)a;
    (void)reason;
    int k = dest_no(m);
    int now = atomic_fetch_add(&now_at[k], 1) + 1;
    int mx = atomic_load(&max_at[k]);
    while (now > mx && !atomic_compare_exchange_weak(&max_at[k], &mx, now))
        ;
    usleep(20000);
    atomic_fetch_sub(&now_at[k], 1);
    atomic_fetch_add(&sent_at[k], 1);
    return ROSTER_DELIVERY_SENT;
}

static enum roster_delivery_result hook_send(void *s, const struct roster_message *m,
                                             struct roster_arena *a, const char **reason,
                                             int64_t *retry_at_ms)
{
    (void)retry_at_ms;
    (void)s;
    (void)m;
    (void)a;
    (void)reason;
    while (atomic_load(&stall))
        usleep(1000);
    atomic_fetch_add(&hook_sent, 1);
    return ROSTER_DELIVERY_SENT;
}

static const struct roster_channel mail_ch = {
    .name = "email",
    .sessions = 8,
    .destination = fake_destination,
    .per_destination = 2,
    .session_open = fake_open,
    .session_close = fake_close,
    .send = mail_send,
};
static const struct roster_channel hook_ch = {
    .name = "webhook",
    .sessions = 2,
    .session_open = fake_open,
    .session_close = fake_close,
    .send = hook_send,
};

/* n messages of channel (NULL: email) to recipients a, b, c in turn, written as core does
 * and committed; returns when the commit is done. */
static void enqueue(const char *channel, int n)
{
    struct roster_err err = {0};
    struct roster_message *m = calloc((size_t)n, sizeof(*m));
    static const char *const to[DESTS] = {"a", "b", "c"};
    for (int i = 0; i < n; i++) {
        memcpy(m[i].org_id, org.id, sizeof(m[i].org_id));
        m[i].kind = "bulk_message";
        m[i].channel = channel;
        m[i].recipient = to[i % DESTS];
    }
    CHECK_EQ_INT(roster_store_begin(ts.conn, &err), 0);
    CHECK_EQ_INT(core_outbox_add(ts.conn, m, (size_t)n, &err), 0);
    int rc = roster_store_commit(ts.conn, &err);
    CHECK_EQ_INT(rc, 0);
    core_outbox_end(rc == 0);
    free(m);
}

static int total_sent(void)
{
    int t = 0;
    for (int k = 0; k < DESTS; k++)
        t += atomic_load(&sent_at[k]);
    return t;
}

/* Waits up to ms for cond(); whether it came true. */
static bool wait_for(int (*count)(void), int want, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (count() >= want)
            return true;
        usleep(1000);
    }
    return count() >= want;
}

static int hook_count(void)
{
    return atomic_load(&hook_sent);
}

static void test_engine(void)
{
    if (test_store_open(&ts, "delivery") != 0) {
        CHECK(false);
        return;
    }
    test_make_org(ts.conn, &org, "Delivery Org");
    struct roster_err err = {0};
    roster_channel_clear();
    CHECK_EQ_INT(roster_channel_register(&mail_ch), 0);
    CHECK_EQ_INT(roster_channel_register(&hook_ch), 0);
    struct roster_app app;
    memset(&app, 0, sizeof(app));
    app.store = ts.st;
    app.cfg.delivery_backoff_ms = 1000;
    struct roster_delivery *d = NULL;
    CHECK_EQ_INT(roster_delivery_start(&app, &d, &err), 0);
    CHECK(d != NULL);
    usleep(100000); /* the workers found nothing and sleep (the embedded poll is 2 s) */

    /* woken by the commit: the webhook channel sends at once, long before the poll */
    int64_t t0 = roster_monotonic_ms();
    enqueue("webhook", 4);
    CHECK(wait_for(hook_count, 4, 1500));
    int64_t woke_ms = roster_monotonic_ms() - t0;
    CHECK(woke_ms < 1000);
    fprintf(stderr, "    4 webhooks sent %lld ms after the commit\n", (long long)woke_ms);

    /* per destination: 8 mail workers, 3 destinations, at most 2 sends at once each; a
     * stalled webhook channel meanwhile stalls only itself */
    atomic_store(&stall, 1);
    enqueue("webhook", 2);
    enqueue(NULL, 60);
    CHECK(wait_for(total_sent, 60, 20000));
    CHECK_EQ_INT(total_sent(), 60);
    for (int k = 0; k < DESTS; k++) {
        CHECK(atomic_load(&max_at[k]) <= 2);
        CHECK_EQ_INT(atomic_load(&sent_at[k]), 20);
        fprintf(stderr, "    destination %c: 20 sent, at most %d at once\n", 'a' + k,
                atomic_load(&max_at[k]));
    }
    CHECK_EQ_INT(hook_count(), 4); /* still stalled */
    atomic_store(&stall, 0);
    CHECK(wait_for(hook_count, 6, 3000));
    roster_delivery_stop(d);
    roster_channel_clear();

    /* every message SENT with one attempt: hand-backs over the limit counted none */
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_message *v;
    size_t n;
    CHECK_EQ_INT(roster_store_message_list(ts.conn, org.id, NULL, NULL, 100, &a, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 66);
    int once = 0;
    for (size_t i = 0; i < n; i++)
        once += strcmp(v[i].status, "SENT") == 0 && v[i].attempts == 1;
    CHECK_EQ_INT(once, 66);
    roster_arena_release(&a);
}

int main(void)
{
    test_limits_basic();
    test_limits_threads();
    test_engine();
    test_store_close(&ts);
    return test_finish();
}
