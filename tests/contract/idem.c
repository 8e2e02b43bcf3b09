/* Store contract suite (contract.h): idempotency keys (idem_stage, idem_get, idem_purge).
 * A staged key is written by the next effect (job_create, job_open, job_append,
 * schedule_create) in its transaction: both or neither; a live key of the same
 * organisation, scope and name makes that effect write nothing (ROSTER_ECONFLICT on
 * ROSTER_IDEM_FIELD), also when several connections race for it; an expired one is
 * replaced; keys are per organisation; the purge (and the retention thread's pass)
 * deletes expired keys only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "contract.h"

#define HOUR_MS INT64_C(3600000)

static void rec_init(struct roster_idem_rec *r, const char *org_id, const char *scope,
                     const char *key, const char *hash, const char *result, int64_t created_ms)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->org_id, sizeof(r->org_id), "%s", org_id);
    r->scope = scope;
    r->key = key;
    r->req_hash = hash;
    r->result = result;
    r->created_ms = created_ms;
    r->expires_ms = created_ms + HOUR_MS;
}

static bool idem_lost(int rc, const struct roster_err *err)
{
    return rc == ROSTER_ECONFLICT && err->field && strcmp(err->field, ROSTER_IDEM_FIELD) == 0;
}

/* A message job (never claimed) of org_id, opened on c with rec staged (NULL: none); the
 * staging's failure, else the opening's. Runs in the race's threads too: it checks
 * nothing itself (the counters of CHECK are the main thread's). */
static int open_job(struct roster_conn *c, const char *org_id, const struct roster_idem_rec *rec,
                    struct roster_job *j, struct roster_err *err)
{
    memset(j, 0, sizeof(*j));
    memcpy(j->org_id, org_id, sizeof(j->org_id));
    j->kind = ROSTER_JOB_MESSAGE;
    j->params_json = "{}";
    int rc = rec ? roster_store_idem_stage(c, rec, err) : 0;
    return rc ? rc : roster_store_job_open(c, j, err);
}

/* 0 and *out, or ROSTER_ENOTFOUND, for org_id's key at now. */
static int get(const char *org_id, const char *scope, const char *key, int64_t now,
               struct roster_idem_rec *out)
{
    struct roster_err err = {0};
    return roster_store_idem_get(conn, org_id, scope, key, now, out, &A, &err);
}

void test_idem_keys(void)
{
    struct roster_err err = {0};
    struct roster_idem_rec r, got;
    struct roster_job j, j2;
    need_orgs();
    int64_t now = roster_now_ms();
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now, &got), ROSTER_ENOTFOUND);

    /* job_open with a key: both stored, every field read back */
    rec_init(&r, org_a.id, "open", "k1", "h1", "result-1", now);
    CHECK_EQ_INT(open_job(conn, org_a.id, &r, &j, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &j2, &A, &err), 0);
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now, &got), 0);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_STR(got.scope, "open");
    CHECK_EQ_STR(got.key, "k1");
    CHECK_EQ_STR(got.req_hash, "h1");
    CHECK_EQ_STR(got.result, "result-1");
    CHECK_EQ_INT(got.created_ms, now);
    CHECK_EQ_INT(got.expires_ms, now + HOUR_MS);
    /* not at or after its expiry; not in another scope or organisation */
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now + HOUR_MS, &got), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(get(org_a.id, "other", "k1", now, &got), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(get(org_b.id, "open", "k1", now, &got), ROSTER_ENOTFOUND);

    /* the same key again: no job, the key unchanged */
    rec_init(&r, org_a.id, "open", "k1", "h2", "result-2", now + 1);
    roster_err_clear(&err);
    int rc = open_job(conn, org_a.id, &r, &j2, &err);
    CHECK(idem_lost(rc, &err));
    if (j2.id[0]) /* an id the store chose for the job it did not write */
        CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j2.id, &j2, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now + 1, &got), 0);
    CHECK_EQ_STR(got.req_hash, "h1");
    CHECK_EQ_STR(got.result, "result-1");

    /* the stage was consumed by that call: the next effect writes no key */
    CHECK_EQ_INT(open_job(conn, org_a.id, NULL, &j2, &err), 0);

    /* another organisation, same scope and name: its own key and job */
    rec_init(&r, org_b.id, "open", "k1", "hb", "result-b", now);
    CHECK_EQ_INT(open_job(conn, org_b.id, &r, &j2, &err), 0);
    CHECK_EQ_INT(get(org_b.id, "open", "k1", now, &got), 0);
    CHECK_EQ_STR(got.result, "result-b");
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now, &got), 0);
    CHECK_EQ_STR(got.result, "result-1");

    /* an expired key is replaced by the next request's */
    rec_init(&r, org_a.id, "open", "k1", "h3", "result-3", now + HOUR_MS);
    CHECK_EQ_INT(open_job(conn, org_a.id, &r, &j2, &err), 0);
    CHECK_EQ_INT(get(org_a.id, "open", "k1", now + HOUR_MS, &got), 0);
    CHECK_EQ_STR(got.req_hash, "h3");
    CHECK_EQ_STR(got.result, "result-3");

    /* job_append: the key with the items; a lost key appends nothing; a failed append
     * (a missing job) writes no key */
    const char *items[1] = {"[{\"to\":1},{\"to\":2}]"};
    int64_t counts[1] = {2}, first = -1;
    rec_init(&r, org_a.id, "append", "k1", "h1", j.id, now);
    CHECK_EQ_INT(roster_store_idem_stage(conn, &r, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, items, counts, 1, &first, &err), 0);
    CHECK_EQ_INT(first, 0);
    CHECK_EQ_INT(get(org_a.id, "append", "k1", now, &got), 0);
    CHECK_EQ_INT(roster_store_idem_stage(conn, &r, &err), 0);
    roster_err_clear(&err);
    rc = roster_store_job_append(conn, org_a.id, j.id, items, counts, 1, &first, &err);
    CHECK(idem_lost(rc, &err));
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &j2, &A, &err), 0);
    CHECK_EQ_INT(j2.total, 2);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    rec_init(&r, org_a.id, "append", "k2", "h1", missing, now);
    CHECK_EQ_INT(roster_store_idem_stage(conn, &r, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, missing, items, counts, 1, &first, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(get(org_a.id, "append", "k2", now, &got), ROSTER_ENOTFOUND);

    /* job_create (no items: finished at once, nothing left for the claim tests) */
    rec_init(&r, org_a.id, "create", "k1", "h1", "c", now);
    for (int round = 0; round < 2; round++) {
        memset(&j2, 0, sizeof(j2));
        memcpy(j2.org_id, org_a.id, sizeof(j2.org_id));
        j2.kind = ROSTER_JOB_USERS_CREATE;
        j2.params_json = "{}";
        roster_id_new(j2.id);
        CHECK_EQ_INT(roster_store_idem_stage(conn, &r, &err), 0);
        roster_err_clear(&err);
        rc = roster_store_job_create(conn, &j2, NULL, NULL, 0, &err);
        if (round == 0) {
            CHECK_EQ_INT(rc, 0);
        } else {
            CHECK(idem_lost(rc, &err));
            CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j2.id, &j2, &A, &err),
                         ROSTER_ENOTFOUND);
        }
    }
    CHECK_EQ_INT(get(org_a.id, "create", "k1", now, &got), 0);

    /* schedule_create: the key with the changes; a lost key stores none of them */
    struct roster_user u;
    char uname[32];
    snprintf(uname, sizeof(uname), "idem%lld", (long long)(now % 1000000));
    make_user(&u, uname, "idem-sched@example.com");
    CHECK_EQ_INT(create(org_a.id, &u, &err), 0);
    rec_init(&r, org_a.id, "sched", "k1", "h1", "ids", now);
    for (int round = 0; round < 2; round++) {
        struct roster_schedule s[2];
        memset(s, 0, sizeof(s));
        for (int i = 0; i < 2; i++) {
            memcpy(s[i].org_id, org_a.id, sizeof(s[i].org_id));
            memcpy(s[i].user_id, u.id, sizeof(s[i].user_id));
            s[i].state = ROSTER_SUSPENDED;
            s[i].due_ms = SCHED_D + 900000 + i;
            roster_id_new(s[i].id);
        }
        CHECK_EQ_INT(roster_store_idem_stage(conn, &r, &err), 0);
        roster_err_clear(&err);
        rc = roster_store_schedule_create(conn, s, 2, &err);
        struct roster_schedule back;
        if (round == 0) {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, s[1].id, &back, &A, &err), 0);
        } else {
            CHECK(idem_lost(rc, &err));
            CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, s[0].id, &back, &A, &err),
                         ROSTER_ENOTFOUND);
        }
    }
    CHECK_EQ_INT(get(org_a.id, "sched", "k1", now, &got), 0);
    CHECK_EQ_STR(got.result, "ids");
}

/* --- several connections race for one key --- */

#define IRACERS 4
static atomic_int iwon, ilost, ierrors;
static char irace_org[ROSTER_ID_LEN + 1];
static int64_t irace_now;

static void *iracer(void *arg)
{
    (void)arg;
    struct roster_arena a;
    struct roster_conn *c = worker_conn(&a, &ierrors);
    if (!c)
        return NULL;
    struct roster_err err = {0};
    struct roster_idem_rec r;
    struct roster_job j;
    rec_init(&r, irace_org, "race", "one", "h", "r", irace_now);
    int rc = open_job(c, irace_org, &r, &j, &err);
    if (rc == 0)
        atomic_fetch_add(&iwon, 1);
    else if (idem_lost(rc, &err))
        atomic_fetch_add(&ilost, 1);
    else {
        fprintf(stderr, "    idem race: %s (%s)\n", err.msg, err.detail);
        atomic_fetch_add(&ierrors, 1);
    }
    roster_conn_close(c);
    roster_arena_release(&a);
    return NULL;
}

void test_idem_race(void)
{
    need_orgs();
    for (int round = 0; round < 5; round++) {
        memcpy(irace_org, round % 2 ? org_b.id : org_a.id, sizeof(irace_org));
        irace_now = roster_now_ms() + round * 10 * HOUR_MS; /* the previous round's expired */
        atomic_store(&iwon, 0);
        atomic_store(&ilost, 0);
        atomic_store(&ierrors, 0);
        pthread_t th[IRACERS];
        int started = 0;
        for (int i = 0; i < IRACERS; i++)
            if (pthread_create(&th[i], NULL, iracer, NULL) == 0)
                started++;
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        CHECK_EQ_INT(started, IRACERS);
        CHECK_EQ_INT(atomic_load(&ierrors), 0);
        CHECK_EQ_INT(atomic_load(&iwon), 1);
        CHECK_EQ_INT(atomic_load(&ilost), IRACERS - 1);
    }
}

void test_idem_purge(void)
{
    struct roster_err err = {0};
    struct roster_idem_rec r, got;
    struct roster_job j;
    need_orgs();
    /* keys of a far future, so that those the other tests left are all older */
    int64_t t = roster_now_ms() + 1000 * HOUR_MS;
    char name[8];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        rec_init(&r, org_a.id, "purge", name, "h", "r", t + i * HOUR_MS);
        CHECK_EQ_INT(open_job(conn, org_a.id, &r, &j, &err), 0);
    }
    /* p0..p4 expire at t + 1..5 h: everything expired by t + 2 h goes (the earlier tests'
     * keys and p0, p1), two at a time */
    size_t n, total = 0;
    int calls = 0;
    do {
        CHECK_EQ_INT(roster_store_idem_purge(conn, t + 2 * HOUR_MS, 2, &n, &err), 0);
        CHECK(n <= 4); /* at most max from each place a backend keeps keys */
        total += n;
    } while (n > 0 && ++calls < 1000);
    CHECK(total >= 2);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        CHECK_EQ_INT(get(org_a.id, "purge", name, t, &got), i < 2 ? ROSTER_ENOTFOUND : 0);
    }
    /* nothing left to purge before that cut */
    CHECK_EQ_INT(roster_store_idem_purge(conn, t + 2 * HOUR_MS, 100, &n, &err), 0);
    CHECK_EQ_INT(n, 0);

    /* the retention thread's pass purges them too (a job input retention of ten years,
     * so that it empties no job's input here) */
    int64_t kept = capp.cfg.job_input_retention_s;
    capp.cfg.job_input_retention_s = 10 * 365 * 86400;
    /* p2 and p3 expire at t + 3 h and t + 4 h, p4 later */
    CHECK_EQ_INT(roster_retention_pass(&capp, conn, t + 4 * HOUR_MS, &n, &err), 0);
    capp.cfg.job_input_retention_s = kept;
    for (int i = 2; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        CHECK_EQ_INT(get(org_a.id, "purge", name, t, &got), i < 4 ? ROSTER_ENOTFOUND : 0);
    }
}
