/* Store contract suite (contract.h): the job engine, the scheduler and message jobs under
 * injected store faults (include/roster/store_fault.h). For each fault (an I/O error or a
 * busy store before the call, a lost connection, an I/O error after the call took effect),
 * each test runs its work once per store call it makes, N = 1, 2, ..., with call N failing,
 * then drives the engine to completion as it would (a failed chunk or batch is claimed
 * again once its lease is over: here by moving the clock on) and checks the promises:
 * every acknowledged job or change survives and runs, every item gets exactly one result,
 * no user is created twice, each change is applied once. A run in which the fault no
 * longer fires (N is past the last call) ends the loop.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "dialect/dialects.h"
#include "roster/jsonscan.h"
#include "roster/msgjob.h"
#include "roster/schedule.h"
#include "roster/store_fault.h"

static const struct {
    int kind, when;
} modes[] = {
    {ROSTER_FAULT_EIO, ROSTER_FAULT_BEFORE},  {ROSTER_FAULT_EBUSY, ROSTER_FAULT_BEFORE},
    {ROSTER_FAULT_LOST, ROSTER_FAULT_BEFORE}, {ROSTER_FAULT_EIO, ROSTER_FAULT_AFTER},
    {ROSTER_FAULT_LOST, ROSTER_FAULT_AFTER},
};
enum { NMODES = sizeof(modes) / sizeof(modes[0]), MAX_N = 400, MAX_ROUNDS = 40 };

static struct roster_store *fst;  /* the fault store, on the store under test */
static struct roster_conn *fconn; /* its connection: the code under test runs on it */
static int64_t vclock;            /* the engine's clock: moved on past every lease */

/* Opens the fault store over a second opening of the store under test (once). */
static bool fault_open(void)
{
    if (fst)
        return true;
    struct roster_err err = {0};
    struct roster_store *real = NULL;
    int rc = roster_store_open(url, &real, &err);
    if (rc == 0)
        rc = roster_store_fault_wrap(real, &fst, &err);
    else
        real = NULL;
    if (rc == 0)
        rc = roster_conn_open(fst, &fconn, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "    fault store: %s (%s)\n", err.msg, err.detail);
        roster_store_close(fst ? fst : real);
        fst = NULL;
        return false;
    }
    roster_dialects_init(); /* the JumpCloud item codec and the Courier message codec */
    vclock = roster_now_ms() + 3600 * 1000;
    return true;
}

static void fault_close(void)
{
    roster_conn_close(fconn);
    roster_store_close(fst);
    fconn = NULL;
    fst = NULL;
}

static void tag(char *out, size_t len, const char *what, int mode, long nth)
{
    snprintf(out, len, "%s %s/%s N=%ld", what, roster_fault_kind_name(modes[mode].kind),
             modes[mode].when == ROSTER_FAULT_AFTER ? "after" : "before", nth);
}

/* Runs every claimable chunk to completion on fconn as the engine does (a chunk whose
 * claim, prepare or apply fails is claimed again once its lease is over), until no chunk
 * is left; false if some still were after MAX_ROUNDS tries. */
static bool engine_drain(void)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        struct roster_err err = {0};
        struct roster_chunk ch;
        vclock += 120 * 1000; /* past every lease taken so far (60 s) */
        roster_arena_clear(&A);
        int rc = roster_store_chunk_claim(fconn, vclock, 60000, &ch, &A, &err);
        if (rc == ROSTER_ENOTFOUND)
            return true;
        if (rc == 0)
            roster_jobs_run_chunk(fconn, &ch, &err); /* a failure: claimed again later */
    }
    return false;
}

/* Ends a run's fault: whether it fired (*failed: the method it failed); CHECKs that the
 * engine ran dry (drained), else prints what was left. */
static bool fault_end(const char *what, bool drained, const char *left, const char **failed)
{
    bool fired = roster_store_fault_fired(fst) > 0;
    *failed = roster_store_fault_last(fst);
    roster_store_fault_disarm(fst);
    if (!drained)
        fprintf(stderr, "    %s (%s): %s\n", what, *failed, left);
    CHECK(drained);
    return fired;
}

static int64_t users_in(const char *org_id)
{
    struct roster_err err = {0};
    struct roster_query q;
    qinit(&q);
    int64_t count = -1;
    CHECK_EQ_INT(roster_store_user_count(conn, org_id, &q, &count, NULL, &err), 0);
    return count;
}

/* --- a bulk job of user creates --- */

enum { BULK_ITEMS = ROSTER_JOB_CHUNK + 3 }; /* two chunks */

/* The job's items: user k is "fk-<k>"; item 5 repeats item 4's username (a conflict),
 * item 7 has no username (invalid). */
static const char *bulk_body(const char *run, struct roster_json_span **spans, size_t *n)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_addch(&b, '[');
    for (int k = 0; k < BULK_ITEMS; k++) {
        char item[160];
        int u = k == 5 ? 4 : k;
        if (k == 7)
            snprintf(item, sizeof(item), "%s{\"email\":\"none-%s@example.com\"}", k ? "," : "",
                     run);
        else
            snprintf(item, sizeof(item),
                     "%s{\"username\":\"fk-%s-%d\",\"email\":\"fk-%s-%d-%d@example.com\"}",
                     k ? "," : "", run, u, run, u, k);
        roster_buf_addstr(&b, item);
    }
    roster_buf_addch(&b, ']');
    const char *raw = roster_arena_strndup(&A, b.data, b.len);
    roster_buf_release(&b);
    struct roster_err err = {0};
    char top;
    if (roster_json_scan(raw, strlen(raw), &A, spans, n, &top, &err) != 0)
        *n = 0;
    return raw;
}

/* One run with call nth failing; false when the fault did not fire (nth is past the
 * run's last call). */
static bool bulk_run(int mode, long nth)
{
    struct roster_err err = {0};
    char what[96], run[32];
    tag(what, sizeof(what), "bulk", mode, nth);
    snprintf(run, sizeof(run), "%d-%ld", mode, nth);
    struct roster_org o;
    make_org(&o, "faults bulk");
    struct roster_json_span *spans;
    size_t n;
    roster_arena_clear(&A);
    const char *raw = bulk_body(run, &spans, &n);
    CHECK_EQ_INT(n, BULK_ITEMS);
    roster_store_fault_arm(fst, NULL, nth, 1, modes[mode].kind, modes[mode].when);
    struct roster_ctx ctx = {NULL, fconn, &A, o.id, NULL};
    struct roster_job_params params = {"jumpcloud", ROSTER_ACTIVATED, NULL, true};
    struct roster_job job;
    int acked =
        roster_job_submit(&ctx, ROSTER_JOB_USERS_CREATE, raw, spans, n, &params, &job, &err) == 0;
    const char *failed;
    bool fired = fault_end(what, engine_drain(), "chunks still claimable", &failed);
    /* no user twice, whatever happened: the job ran whole or (not acknowledged) not at all */
    int64_t users = users_in(o.id);
    if (users != (acked ? BULK_ITEMS - 2 : users ? BULK_ITEMS - 2 : 0))
        fprintf(stderr, "    %s (%s): %lld users\n", what, failed, (long long)users);
    CHECK(users == BULK_ITEMS - 2 || (!acked && users == 0));
    if (!acked)
        return fired;
    /* the acknowledged job: finished, one result per item, the right ones */
    struct roster_ctx c2 = {NULL, conn, &A, o.id, NULL};
    struct roster_item_result *res = NULL;
    size_t nres = 0;
    struct roster_job got;
    CHECK_EQ_INT(roster_job_results(&c2, job.id, 0, BULK_ITEMS, &got, &res, &nres, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, BULK_ITEMS);
    CHECK_EQ_INT(got.ok, BULK_ITEMS - 2);
    CHECK_EQ_INT(got.failed, 2);
    CHECK_EQ_INT(nres, BULK_ITEMS);
    int wrong = 0;
    for (size_t i = 0; i < nres; i++) {
        int want = i == 5 || i == 7 ? ROSTER_ITEM_FAILED : ROSTER_ITEM_SUCCEEDED;
        if (res[i].index != (int64_t)i || res[i].status != want ||
            (want == ROSTER_ITEM_SUCCEEDED && (!res[i].user_id || !res[i].user_id[0])))
            wrong++;
    }
    if (wrong)
        fprintf(stderr, "    %s (%s): %d wrong results (done %lld ok %lld)\n", what, failed, wrong,
                (long long)got.done, (long long)got.ok);
    CHECK_EQ_INT(wrong, 0);
    return fired;
}

/* --- scheduled state changes --- */

/* Three users (ACTIVATED, STAGED, and one deleted before its change is due) and a change
 * for each: suspend, activate with an activation e-mail, activate. */
static bool sched_run(int mode, long nth)
{
    struct roster_err err = {0};
    char what[96], name[64];
    tag(what, sizeof(what), "scheduler", mode, nth);
    struct roster_org o;
    make_org(&o, "faults scheduler");
    struct roster_user u[3];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "fs-%d-%ld-%d", mode, nth, i);
        make_user(&u[i], roster_arena_strdup(&A, name),
                  roster_arena_printf(&A, "%s@example.com", name));
        u[i].state = i == 1 ? ROSTER_STAGED : ROSTER_ACTIVATED;
        CHECK_EQ_INT(create(o.id, &u[i], &err), 0);
    }
    struct roster_schedule s[3];
    memset(s, 0, sizeof(s));
    int64_t due = roster_now_ms() - 1000;
    const int states[3] = {ROSTER_SUSPENDED, ROSTER_ACTIVATED, ROSTER_ACTIVATED};
    for (int i = 0; i < 3; i++) {
        memcpy(s[i].user_id, u[i].id, sizeof(s[i].user_id));
        s[i].state = states[i];
        s[i].due_ms = due;
    }
    s[1].send_activation_email = true;
    roster_store_fault_arm(fst, NULL, nth, 1, modes[mode].kind, modes[mode].when);
    struct roster_ctx ctx = {NULL, fconn, &A, o.id, NULL};
    int acked = roster_schedule_submit(&ctx, s, 3, &err) == 0;
    /* the third user goes before the scheduler runs (through the store under test) */
    CHECK_EQ_INT(roster_store_user_delete(conn, o.id, u[2].id, &err), 0);
    /* the scheduler thread's loop: batches until none is due, retrying failed ones */
    bool drained = false;
    for (int round = 0; round < MAX_ROUNDS && !drained; round++) {
        size_t done = 0;
        roster_err_clear(&err);
        roster_arena_clear(&A);
        int rc = roster_scheduler_run_due(fconn, roster_now_ms(), 1000, &A, &done, &err);
        int64_t next;
        struct roster_err e2 = {0};
        drained = rc == 0 && done == 0 &&
                  (roster_store_schedule_next_due(conn, &next, &e2) == ROSTER_ENOTFOUND ||
                   next > roster_now_ms());
    }
    const char *failed;
    bool fired = fault_end(what, drained, "changes still due", &failed);
    roster_arena_clear(&A);
    struct roster_user now[2];
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(roster_store_user_get(conn, o.id, u[i].id, &now[i], &A, &err), 0);
        /* applied once (version 2) if acknowledged, else untouched or applied once */
        int want_state = acked ? states[i] : now[i].state;
        if (now[i].state != want_state || (now[i].version != (acked ? 2 : now[i].version)) ||
            now[i].version > 2)
            fprintf(stderr, "    %s (%s): user %d state %d version %lld\n", what, failed, i,
                    now[i].state, (long long)now[i].version);
        CHECK_EQ_INT(now[i].state, want_state);
        CHECK(now[i].version == 2 || (!acked && now[i].version == 1));
    }
    if (!acked)
        return fired;
    const int want_status[3] = {ROSTER_SCHED_APPLIED, ROSTER_SCHED_APPLIED, ROSTER_SCHED_FAILED};
    for (int i = 0; i < 3; i++) {
        struct roster_schedule g;
        CHECK_EQ_INT(roster_store_schedule_get(conn, o.id, s[i].id, &g, &A, &err), 0);
        if (g.status != want_status[i])
            fprintf(stderr, "    %s (%s): change %d status %d\n", what, failed, i, g.status);
        CHECK_EQ_INT(g.status, want_status[i]);
        if (i == 1) {
            /* the activation e-mail: recorded with the change, in the outbox */
            struct roster_message m;
            CHECK(g.message_id[0] != '\0');
            CHECK_EQ_INT(roster_store_message_get(conn, o.id, g.message_id, &m, &A, &err), 0);
        }
    }
    return fired;
}

/* --- a message job --- */

enum { MSG_ITEMS = 4 };

/* A Courier message job: created, two adds of two items, started; items 0 and 1 name a
 * user of the directory (a message each), item 2 a recipient that is not in it and item 3
 * none (an error each). Each step
 * the client is not told succeeded is sent again once, as a client would. */
static bool msg_run(int mode, long nth)
{
    struct roster_err err = {0};
    char what[96];
    tag(what, sizeof(what), "message job", mode, nth);
    struct roster_org o;
    make_org(&o, "faults messages");
    struct roster_user u;
    char name[64];
    snprintf(name, sizeof(name), "fm-%d-%ld", mode, nth);
    make_user(&u, roster_arena_strdup(&A, name), roster_arena_printf(&A, "%s@example.com", name));
    CHECK_EQ_INT(create(o.id, &u, &err), 0);
    const char *def = "{\"event\":\"welcome\",\"data\":{\"x\":1}}";
    const char *adds[2];
    adds[0] = roster_arena_printf(&A, "[{\"recipient\":\"%s\"},{\"to\":{\"user_id\":\"%s\"}}]",
                                  name, u.id);
    adds[1] = "[{\"recipient\":\"nobody-here\"},{\"data\":{\"y\":2}}]";

    roster_store_fault_arm(fst, NULL, nth, 1, modes[mode].kind, modes[mode].when);
    struct roster_ctx ctx = {NULL, fconn, &A, o.id, NULL};
    struct roster_job job;
    int rc = roster_msgjob_create(&ctx, "courier", def, strlen(def), &job, &err);
    if (rc)
        rc = roster_msgjob_create(&ctx, "courier", def, strlen(def), &job, &err);
    CHECK_EQ_INT(rc, 0); /* one fault: the second try gets through */
    int64_t acked_items = 0;
    for (int a = 0; a < 2 && rc == 0; a++) {
        struct roster_json_span *spans;
        size_t n;
        char top;
        CHECK_EQ_INT(roster_json_scan(adds[a], strlen(adds[a]), &A, &spans, &n, &top, &err), 0);
        int64_t first;
        int arc = roster_msgjob_add(&ctx, job.id, adds[a], spans, n, &first, &err);
        if (arc)
            arc = roster_msgjob_add(&ctx, job.id, adds[a], spans, n, &first, &err);
        CHECK_EQ_INT(arc, 0);
        if (arc == 0)
            acked_items += (int64_t)n;
    }
    bool started = false;
    if (rc == 0) {
        int src = roster_msgjob_start(&ctx, job.id, &started, &err);
        if (src)
            src = roster_msgjob_start(&ctx, job.id, &started, &err);
        CHECK_EQ_INT(src, 0);
    }
    const char *failed;
    bool fired = fault_end(what, engine_drain(), "chunks still claimable", &failed);
    if (rc)
        return fired;
    /* every acknowledged item is there (an add whose answer was lost after it was stored
     * and that was sent again is there twice: the client asked twice) and has one result */
    struct roster_ctx c2 = {NULL, conn, &A, o.id, NULL};
    struct roster_job got;
    struct roster_msg_item *items = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_msgjob_items(&c2, job.id, 0, 100, &got, &items, &n, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(acked_items, MSG_ITEMS);
    CHECK(got.total >= acked_items && got.total <= 2 * acked_items);
    CHECK_EQ_INT(got.done, got.total);
    CHECK_EQ_INT((int64_t)n, got.total);
    int wrong = 0, enq = 0;
    for (size_t i = 0; i < n; i++) {
        /* a message for the directory user, an error for the other two */
        bool user = strstr(items[i].item_json, name) || strstr(items[i].item_json, u.id);
        int want = user ? ROSTER_MSG_ENQUEUED : ROSTER_MSG_ERROR;
        if (items[i].status != want) {
            fprintf(stderr, "    %s: item %zu %.*s: status %d (%s)\n", what, i,
                    (int)items[i].item_len, items[i].item_json, items[i].status,
                    items[i].error ? items[i].error : "");
            wrong++;
        }
        if (items[i].status == ROSTER_MSG_ENQUEUED) {
            struct roster_message m;
            enq++;
            if (roster_store_message_get(conn, o.id, items[i].message_id, &m, &A, &err) != 0)
                wrong++;
            for (size_t j = 0; j < i; j++)
                if (items[j].message_id && strcmp(items[j].message_id, items[i].message_id) == 0)
                    wrong++;
        }
    }
    if (wrong)
        fprintf(stderr, "    %s (%s): total %lld, %d wrong items\n", what, failed,
                (long long)got.total, wrong);
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(got.ok, enq);
    return fired;
}

/* Runs run(mode, N) for N = 1, 2, ... in every mode until the fault no longer fires. */
static void each_fault(const char *what, bool (*run)(int, long))
{
    if (!fault_open())
        return;
    for (int mode = 0; mode < NMODES; mode++) {
        long nth = 1;
        while (nth < MAX_N && run(mode, nth))
            nth++;
        CHECK(nth < MAX_N);
        printf("  %s, %s %s: %ld faults\n", what, roster_fault_kind_name(modes[mode].kind),
               modes[mode].when == ROSTER_FAULT_AFTER ? "after" : "before", nth - 1);
    }
    fault_close();
}

void test_fault_bulk_job(void)
{
    each_fault("bulk job", bulk_run);
}

void test_fault_scheduler(void)
{
    each_fault("scheduler", sched_run);
}

void test_fault_message_job(void)
{
    each_fault("message job", msg_run);
}
