/* Unit tests of the scheduler (src/core/scheduler.c) against a real SQLite store in a
 * temporary directory: submission checks, roster_scheduler_run_due (due/not due, applied
 * exactly once, deleted users, cancelled changes, activation e-mails in the outbox, batches,
 * changes leased by someone else) and the thread (start, notify, applied on time, stop).
 */
#include "roster/core.h"
#include "roster/store.h"
#include "test.h"
#include "unit/fixture.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static struct roster_store *st;
static struct roster_conn *conn;
static struct roster_arena A;
static struct roster_org org, org2;

static void make_org(struct roster_org *o, const char *name)
{
    test_make_org(conn, o, name);
}

static struct roster_ctx ctx_for(const struct roster_org *o, struct roster_app *app)
{
    struct roster_ctx c = {.app = app, .conn = conn, .arena = &A, .org_id = o->id};
    return c;
}

/* Creates a user in o; returns its id (arena copy). */
static const char *make_user(const struct roster_org *o, const char *name, int state)
{
    struct roster_err err = {0};
    struct roster_ctx c = ctx_for(o, NULL);
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    u.f[RU_USERNAME] = name;
    u.f[RU_EMAIL] = roster_arena_printf(&A, "%s@example.com", name);
    u.f[RU_FIRST_NAME] = "First";
    u.f[RU_LAST_NAME] = name;
    u.state = state;
    u.set = ROSTER_USET_STATE;
    CHECK_EQ_INT(roster_user_create(&c, &u, ROSTER_ACTIVATED, &err), 0);
    return roster_arena_strdup(&A, u.id);
}

static struct roster_user get_user(const struct roster_org *o, const char *id)
{
    struct roster_err err = {0};
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    CHECK_EQ_INT(roster_store_user_get(conn, o->id, id, &u, &A, &err), 0);
    return u;
}

static struct roster_schedule get_sched(const struct roster_org *o, const char *id)
{
    struct roster_err err = {0};
    struct roster_schedule s;
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(roster_store_schedule_get(conn, o->id, id, &s, &A, &err), 0);
    return s;
}

static void fill(struct roster_schedule *s, const char *user, int state, int64_t due)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->user_id, sizeof(s->user_id), "%s", user);
    s->state = state;
    s->due_ms = due;
}

static size_t run_due(int64_t now, size_t max)
{
    struct roster_err err = {0};
    size_t done = 12345;
    int rc = roster_scheduler_run_due(conn, now, max, &A, &done, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    run_due: %s (%s)\n", err.msg, err.detail);
    return done;
}

static int64_t pending_count(const struct roster_org *o)
{
    struct roster_err err = {0};
    struct roster_query q;
    roster_query_init(&q);
    q.limit = 0;
    q.want_total = true;
    struct roster_schedule *rows;
    size_t n;
    int64_t total = -1;
    CHECK_EQ_INT(roster_store_schedule_list(conn, o->id, &q, &A, &rows, &n, &total, &err), 0);
    return total;
}

static void test_submit_checks(void)
{
    struct roster_err err = {0};
    struct roster_ctx c = ctx_for(&org, NULL);
    const char *u = make_user(&org, "checks", ROSTER_ACTIVATED);
    const char *foreign = make_user(&org2, "foreign", ROSTER_ACTIVATED);
    struct roster_schedule s[3];
    int64_t now = roster_now_ms();

    /* an unknown id after a good one: nothing is stored, the message names it */
    fill(&s[0], u, ROSTER_SUSPENDED, now + 100000);
    fill(&s[1], "0123456789abcdef01234567", ROSTER_SUSPENDED, now + 100000);
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 2, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "user \"0123456789abcdef01234567\" not found");
    CHECK_EQ_STR(err.field, "user_ids");
    CHECK_EQ_INT(pending_count(&org), 0);

    /* another organisation's user is unknown too, and so is a malformed id */
    fill(&s[1], foreign, ROSTER_SUSPENDED, now + 100000);
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 2, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, roster_arena_printf(&A, "user \"%s\" not found", foreign));
    fill(&s[1], "nope", ROSTER_SUSPENDED, now + 100000);
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 2, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "user \"nope\" not found");

    /* STAGED is not a state to schedule */
    fill(&s[1], u, ROSTER_STAGED, now + 100000);
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 2, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "state \"STAGED\" is not one of ACTIVATED, SUSPENDED");
    CHECK_EQ_INT(pending_count(&org), 0);

    /* a good request: ids, org and created time filled */
    fill(&s[1], u, ROSTER_ACTIVATED, now + 200000);
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 2, &err), 0);
    CHECK(roster_id_valid(s[0].id) && roster_id_valid(s[1].id) && strcmp(s[0].id, s[1].id) != 0);
    CHECK_EQ_STR(s[0].org_id, org.id);
    CHECK(s[0].created_ms >= now);
    CHECK_EQ_INT(s[0].status, ROSTER_SCHED_PENDING);
    CHECK_EQ_INT(pending_count(&org), 2);
    CHECK_EQ_INT(pending_count(&org2), 0);
    /* clean up for the next tests */
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org.id, s[0].id, now, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org.id, s[1].id, now, &err), 0);
}

static void test_run_due(void)
{
    struct roster_err err = {0};
    struct roster_ctx c = ctx_for(&org, NULL);
    const char *alice = make_user(&org, "alice", ROSTER_STAGED);
    const char *bob = make_user(&org, "bob", ROSTER_ACTIVATED);
    const char *carol = make_user(&org, "carol", ROSTER_ACTIVATED);
    const char *dave = make_user(&org, "dave", ROSTER_SUSPENDED);
    int64_t now = roster_now_ms(), due = now + 50000;
    struct roster_user alice0 = get_user(&org, alice);

    struct roster_schedule s[5];
    fill(&s[0], alice, ROSTER_ACTIVATED, due);
    s[0].send_activation_email = true;
    fill(&s[1], bob, ROSTER_SUSPENDED, due);
    fill(&s[2], carol, ROSTER_SUSPENDED, due + 1); /* cancelled below */
    fill(&s[3], dave, ROSTER_ACTIVATED, due);
    s[3].send_activation_email = true;
    s[3].email_override = "override@example.org";
    fill(&s[4], carol, ROSTER_SUSPENDED, due + 100000); /* later */
    CHECK_EQ_INT(roster_schedule_submit(&c, s, 5, &err), 0);
    CHECK_EQ_INT(roster_store_schedule_cancel(conn, org.id, s[2].id, now, &err), 0);
    CHECK_EQ_INT(roster_store_user_delete(conn, org.id, bob, &err), 0);

    /* not due yet: nothing happens */
    CHECK_EQ_INT(run_due(due - 1, 100), 0);
    CHECK_EQ_INT(get_user(&org, alice).state, ROSTER_STAGED);
    CHECK_EQ_INT(get_sched(&org, s[0].id).status, ROSTER_SCHED_PENDING);

    /* due: alice, bob (deleted) and dave are finished; carol's cancelled one is not run */
    CHECK_EQ_INT(run_due(due, 100), 3);
    struct roster_user a1 = get_user(&org, alice);
    CHECK_EQ_INT(a1.state, ROSTER_ACTIVATED);
    CHECK_EQ_INT(a1.version, alice0.version + 1);
    CHECK(a1.modified_ms >= now);
    CHECK_EQ_INT(get_user(&org, dave).state, ROSTER_ACTIVATED);
    CHECK_EQ_INT(get_user(&org, carol).state, ROSTER_ACTIVATED);

    struct roster_schedule g = get_sched(&org, s[0].id);
    CHECK_EQ_INT(g.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(g.outcome, "user state set to ACTIVATED");
    CHECK(g.done_ms >= now);
    CHECK(g.message_id[0] != '\0');
    struct roster_message m;
    CHECK_EQ_INT(roster_store_message_get(conn, org.id, g.message_id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.kind, "activation_email");
    CHECK_EQ_STR(m.recipient, "alice@example.com");
    CHECK_EQ_STR(m.user_id, alice);
    CHECK_EQ_STR(m.source_id, s[0].id);
    CHECK_EQ_STR(m.status, "ENQUEUED");
    json_t *content = json_loads(m.content_json ? m.content_json : "", 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(content, "template")), "activation");
    json_t *cu = json_object_get(content, "user");
    CHECK_EQ_STR(json_string_value(json_object_get(cu, "id")), alice);
    CHECK_EQ_STR(json_string_value(json_object_get(cu, "username")), "alice");
    CHECK_EQ_STR(json_string_value(json_object_get(cu, "email")), "alice@example.com");
    CHECK_EQ_STR(json_string_value(json_object_get(cu, "firstname")), "First");
    CHECK_EQ_STR(json_string_value(json_object_get(cu, "lastname")), "alice");
    json_decref(content);
    /* another organisation does not see the message */
    CHECK_EQ_INT(roster_store_message_get(conn, org2.id, g.message_id, &m, &A, &err),
                 ROSTER_ENOTFOUND);

    g = get_sched(&org, s[1].id);
    CHECK_EQ_INT(g.status, ROSTER_SCHED_FAILED);
    CHECK_EQ_STR(g.outcome, roster_arena_printf(&A, "user \"%s\" not found", bob));
    CHECK_EQ_STR(g.message_id, "");

    g = get_sched(&org, s[3].id);
    CHECK_EQ_INT(g.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_INT(roster_store_message_get(conn, org.id, g.message_id, &m, &A, &err), 0);
    CHECK_EQ_STR(m.recipient, "override@example.org");

    CHECK_EQ_INT(get_sched(&org, s[2].id).status, ROSTER_SCHED_CANCELLED);
    CHECK_EQ_INT(get_sched(&org, s[4].id).status, ROSTER_SCHED_PENDING);

    /* exactly once: running again applies nothing, the user is not written again */
    CHECK_EQ_INT(run_due(due + 10, 100), 0);
    CHECK_EQ_INT(get_user(&org, alice).version, a1.version);

    /* a SUSPENDED change never sends mail, even when asked */
    struct roster_schedule t;
    fill(&t, alice, ROSTER_SUSPENDED, due);
    t.send_activation_email = true;
    CHECK_EQ_INT(roster_schedule_submit(&c, &t, 1, &err), 0);
    CHECK_EQ_INT(run_due(due + 20, 100), 1);
    g = get_sched(&org, t.id);
    CHECK_EQ_INT(g.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(g.outcome, "user state set to SUSPENDED");
    CHECK_EQ_STR(g.message_id, "");
    CHECK_EQ_INT(get_user(&org, alice).state, ROSTER_SUSPENDED);

    /* the later change of carol stays pending until its time */
    CHECK_EQ_INT(run_due(due + 100000, 100), 1);
    CHECK_EQ_INT(get_user(&org, carol).state, ROSTER_SUSPENDED);
    CHECK_EQ_INT(pending_count(&org), 0);
}

/* Many changes due at once are applied in batches of at most max, earliest first. */
static void test_batches(void)
{
    struct roster_err err = {0};
    struct roster_ctx c = ctx_for(&org2, NULL);
    enum { NU = 50, NS = 2500 };
    const char *users[NU];
    for (int i = 0; i < NU; i++)
        users[i] = make_user(&org2, roster_arena_printf(&A, "batch%d", i), ROSTER_ACTIVATED);
    int64_t due = roster_now_ms() + 300000;
    struct roster_schedule *s = roster_arena_zalloc(&A, NS * sizeof(*s));
    for (int i = 0; i < NS; i++)
        fill(&s[i], users[i % NU], i % 2 ? ROSTER_ACTIVATED : ROSTER_SUSPENDED, due + i / 1000);
    /* one submission holds at most 1,000 (the HTTP limit), the core takes any number */
    CHECK_EQ_INT(roster_schedule_submit(&c, s, NS, &err), 0);
    CHECK_EQ_INT(run_due(due, 1000), 1000); /* only the first 1,000 are due at due */
    CHECK_EQ_INT(run_due(due, 1000), 0);
    CHECK_EQ_INT(run_due(due + 2, 1000), 1000);
    CHECK_EQ_INT(run_due(due + 2, 1000), 500);
    CHECK_EQ_INT(run_due(due + 2, 1000), 0);
    CHECK_EQ_INT(pending_count(&org2), 0);
    /* the last change of each user wins: user i got changes i, i+50, ...; the last one's
     * parity is that of i + 2450 */
    int right = 0;
    for (int i = 0; i < NU; i++)
        right += get_user(&org2, users[i]).state ==
                 ((i + NS - NU) % 2 ? ROSTER_ACTIVATED : ROSTER_SUSPENDED);
    CHECK_EQ_INT(right, NU);
    int applied = 0;
    for (int i = 0; i < NS; i += 97)
        applied += get_sched(&org2, s[i].id).status == ROSTER_SCHED_APPLIED;
    CHECK_EQ_INT(applied, (NS + 96) / 97);
}

/* A change leased by another scheduler (another process sharing the store) is left alone
 * until its lease expires. */
static void test_leased_elsewhere(void)
{
    struct roster_err err = {0};
    struct roster_ctx c = ctx_for(&org, NULL);
    const char *u = make_user(&org, "leased", ROSTER_ACTIVATED);
    int64_t due = roster_now_ms() + 400000;
    struct roster_schedule s;
    fill(&s, u, ROSTER_SUSPENDED, due);
    CHECK_EQ_INT(roster_schedule_submit(&c, &s, 1, &err), 0);

    struct roster_conn *other = NULL;
    CHECK_EQ_INT(roster_conn_open(st, &other, &err), 0);
    struct roster_schedule *claimed = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_schedule_claim_due(other, due, 60000, 10, &A, &claimed, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(run_due(due + 1, 100), 0);
    CHECK_EQ_INT(get_user(&org, u).state, ROSTER_ACTIVATED);
    /* the other scheduler died: once its lease is over, this one applies the change */
    CHECK_EQ_INT(run_due(due + 60001, 100), 1);
    CHECK_EQ_INT(get_user(&org, u).state, ROSTER_SUSPENDED);
    /* and the late finish of the dead one is refused */
    CHECK_EQ_INT(roster_store_schedule_finish(other, &claimed[0], ROSTER_SCHED_APPLIED, "x",
                                              due + 60002, &err),
                 ROSTER_ESTALE);
    roster_conn_close(other);
}

/* The thread: a change submitted with the app set is applied at (not before) its due
 * time, well within a second on an idle store; stop joins the thread. */
static void test_thread(void)
{
    struct roster_err err = {0};
    struct roster_app app;
    memset(&app, 0, sizeof(app));
    app.store = st;
    CHECK_EQ_INT(roster_scheduler_start(&app, &app.scheduler, &err), 0);
    struct roster_ctx c = ctx_for(&org, &app);
    const char *u = make_user(&org, "threaded", ROSTER_STAGED);
    struct roster_schedule s;
    fill(&s, u, ROSTER_ACTIVATED, roster_now_ms() + 300);
    CHECK_EQ_INT(roster_schedule_submit(&c, &s, 1, &err), 0);
    struct roster_schedule g;
    memset(&g, 0, sizeof(g));
    for (int i = 0; i < 500; i++) { /* at most 5 s, even under sanitizers */
        if (roster_store_schedule_get(conn, org.id, s.id, &g, &A, &err) != 0 ||
            g.status != ROSTER_SCHED_PENDING)
            break;
        usleep(10000);
    }
    CHECK_EQ_INT(g.status, ROSTER_SCHED_APPLIED);
    CHECK(g.done_ms >= s.due_ms);
    CHECK(g.done_ms - s.due_ms < 1000);
    CHECK_EQ_INT(get_user(&org, u).state, ROSTER_ACTIVATED);
    roster_scheduler_notify(NULL); /* allowed */
    roster_scheduler_stop(app.scheduler);
    roster_scheduler_stop(NULL);
}

int main(void)
{
    roster_arena_init(&A, 0);
    struct test_store ts;
    int rc = test_store_open(&ts, "sched");
    st = ts.st;
    conn = ts.conn;
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        make_org(&org, "sched");
        make_org(&org2, "sched2");
        test_submit_checks();
        test_run_due();
        test_batches();
        test_leased_elsewhere();
        test_thread();
    }
    test_store_close(&ts);
    roster_arena_release(&A);
    return test_finish();
}
