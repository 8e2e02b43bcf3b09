/* Unit tests of the job engine (src/core/jobs.c) with fake job kinds registered at run time
 * (roster_job_kind_register), against a real SQLite store in a temporary directory: every
 * chunk prepared and applied once, in chunk order within its job, with the state its
 * prepare made; the job's counts are what apply reported; roster_job_results goes to the
 * kind's results function (not found without one, or for another organisation); a chunk
 * whose apply fails is rolled back and applied again (at once with the same state, or after
 * its lease with a new one) and its effect is recorded once; a failed prepare is retried;
 * roster_jobs_run_chunk on a claimed chunk (stale lease, done twice, unknown kind).
 */
#include "core/jobkind.h"
#include "roster/core.h"
#include "roster/store.h"
#include "test.h"
#include "unit/fixture.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* kind numbers unused by enum roster_job_kind */
enum {
    K_RES = 99,   /* a results function */
    K_NORES = 98, /* none: its jobs are not found by roster_job_results */
    K_FAIL = 97,  /* apply and prepare fail on purpose (fail_apply, fail_prepare) */
    K_NONE = 96,  /* never registered */
    K_KEPT = 95,  /* keeps its input after the job finished (input_kept) */
};

#define MAX_EVENTS 256
#define MAX_CHUNKS 8

static struct roster_store *st;
static struct roster_conn *conn;
static struct roster_arena A;

/* What the fake kinds saw, in the order they saw it (seq), guarded by mu: prepare runs on
 * the preparer threads, apply on the applier. */
struct event {
    int kind;
    char job_id[ROSTER_ID_LEN + 1];
    int64_t chunk_no, first_idx, count;
    char items[256], params[64];
    int seq;          /* order of the calls, prepares and applies together */
    int state_no;     /* the prepared state: its serial number */
    int rc;           /* what the call returned */
    int64_t at_ms;    /* roster_now_ms() when it was called */
    bool state_match; /* apply: the state is the one prepared for this chunk */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct event prepares[MAX_EVENTS], applies[MAX_EVENTS];
static int nprepares, napplies, nreleases, nstates, nconflicts, nbad_items, nseq;

/* K_FAIL: how many of a chunk's first applies / prepares fail with ROSTER_EIO */
static const int fail_apply[MAX_CHUNKS] = {0, 1, 2, 0};
static const int fail_prepare[MAX_CHUNKS] = {0, 0, 0, 1};
static int fail_apply_seen[MAX_CHUNKS], fail_prepare_seen[MAX_CHUNKS];

/* What prepare makes (heap, freed by release). */
struct fake_state {
    int serial;
    char job_id[ROSTER_ID_LEN + 1];
    int64_t chunk_no;
    char *items;
    int64_t nok, nfailed;
};

static void reset_events(void)
{
    pthread_mutex_lock(&mu);
    nprepares = napplies = nreleases = nstates = nconflicts = nbad_items = nseq = 0;
    memset(fail_apply_seen, 0, sizeof(fail_apply_seen));
    memset(fail_prepare_seen, 0, sizeof(fail_prepare_seen));
    pthread_mutex_unlock(&mu);
}

static void fill_event(struct event *e, const struct roster_chunk *ch)
{
    memset(e, 0, sizeof(*e));
    e->kind = ch->kind;
    snprintf(e->job_id, sizeof(e->job_id), "%s", ch->job_id);
    e->chunk_no = ch->chunk_no;
    e->first_idx = ch->first_idx;
    e->count = ch->count;
    snprintf(e->items, sizeof(e->items), "%s", ch->items_json ? ch->items_json : "(null)");
    snprintf(e->params, sizeof(e->params), "%s", ch->params_json ? ch->params_json : "(null)");
    e->at_ms = roster_now_ms();
}

/* Items are JSON strings; those starting with "bad" are the chunk's failed items. */
static int fake_prepare(struct roster_conn *c, const struct roster_chunk *ch,
                        struct roster_arena *a, void **state, struct roster_err *err)
{
    (void)c;
    (void)a;
    pthread_mutex_lock(&mu);
    struct event *e = nprepares < MAX_EVENTS ? &prepares[nprepares++] : NULL;
    bool fail = ch->kind == K_FAIL && ch->chunk_no < MAX_CHUNKS &&
                fail_prepare_seen[ch->chunk_no]++ < fail_prepare[ch->chunk_no];
    int serial = fail ? 0 : ++nstates;
    int seq = ++nseq;
    pthread_mutex_unlock(&mu);
    if (e) {
        fill_event(e, ch);
        e->seq = seq;
        e->state_no = serial;
        e->rc = fail ? ROSTER_EIO : 0;
    }
    if (fail)
        return roster_err_set(err, ROSTER_EIO, "fake prepare failure");
    struct fake_state *s = calloc(1, sizeof(*s));
    char *items = strdup(ch->items_json ? ch->items_json : "");
    if (!s || !items) {
        free(s);
        free(items);
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    }
    s->serial = serial;
    snprintf(s->job_id, sizeof(s->job_id), "%s", ch->job_id);
    s->chunk_no = ch->chunk_no;
    s->items = items;
    json_t *v = json_loads(items, 0, NULL);
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        const char *item = json_string_value(json_array_get(v, i));
        if (item && strncmp(item, "bad", 3) == 0)
            s->nfailed++;
        else
            s->nok++;
    }
    if ((int64_t)n != ch->count) {
        pthread_mutex_lock(&mu);
        nbad_items++;
        pthread_mutex_unlock(&mu);
    }
    json_decref(v);
    *state = s;
    return 0;
}

/* Writes the chunk's effect (a user named after the job and chunk) and its results in the
 * engine's transaction; K_FAIL fails on purpose after writing the user. */
static int fake_apply(struct roster_conn *c, const struct roster_chunk *ch, struct roster_arena *a,
                      void *state, struct roster_err *err)
{
    const struct fake_state *s = state;
    pthread_mutex_lock(&mu);
    struct event *e = napplies < MAX_EVENTS ? &applies[napplies++] : NULL;
    bool fail = ch->kind == K_FAIL && ch->chunk_no < MAX_CHUNKS &&
                fail_apply_seen[ch->chunk_no]++ < fail_apply[ch->chunk_no];
    int seq = ++nseq;
    pthread_mutex_unlock(&mu);
    if (e) {
        fill_event(e, ch);
        e->seq = seq;
        e->state_no = s->serial;
        e->state_match = strcmp(s->job_id, ch->job_id) == 0 && s->chunk_no == ch->chunk_no &&
                         strcmp(s->items, ch->items_json) == 0;
    }
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    u.f[RU_USERNAME] = roster_arena_printf(a, "u-%s-%lld", ch->job_id, (long long)ch->chunk_no);
    u.f[RU_EMAIL] = roster_arena_printf(a, "%s@example.com", u.f[RU_USERNAME]);
    u.f[RU_FIRST_NAME] = "Chunk";
    u.f[RU_LAST_NAME] = u.f[RU_USERNAME];
    u.state = ROSTER_ACTIVATED;
    int rc = roster_store_user_create(c, ch->org_id, &u, err);
    if (rc == ROSTER_ECONFLICT) {
        /* the effect of this chunk is there already: a rolled back apply left it */
        pthread_mutex_lock(&mu);
        nconflicts++;
        pthread_mutex_unlock(&mu);
        roster_err_clear(err);
        rc = 0;
    }
    if (rc == 0 && fail)
        rc = roster_err_set(err, ROSTER_EIO, "fake apply failure");
    if (rc == 0) {
        const char *results = roster_arena_printf(a, "[\"chunk %lld\"]", (long long)ch->chunk_no);
        rc = roster_store_chunk_complete(c, ch, results, s->nok, s->nfailed, roster_now_ms(), err);
    }
    if (e)
        e->rc = rc;
    return rc;
}

static void fake_release(void *state)
{
    struct fake_state *s = state;
    pthread_mutex_lock(&mu);
    nreleases++;
    pthread_mutex_unlock(&mu);
    free(s->items);
    free(s);
}

/* K_RES's results: records its arguments and answers one item per asked index. */
static struct {
    int calls;
    char job_id[ROSTER_ID_LEN + 1];
    int kind, status;
    int64_t skip, limit, done;
} res_call;

static int fake_results(struct roster_ctx *ctx, const struct roster_job *job, int64_t skip,
                        int64_t limit, struct roster_item_result **out, size_t *n,
                        struct roster_err *err)
{
    (void)err;
    res_call.calls++;
    snprintf(res_call.job_id, sizeof(res_call.job_id), "%s", job->id);
    res_call.kind = job->kind;
    res_call.status = job->status;
    res_call.skip = skip;
    res_call.limit = limit;
    res_call.done = job->done;
    *out = roster_arena_zalloc(ctx->arena, (size_t)limit * sizeof(**out));
    for (int64_t i = 0; i < limit; i++) {
        (*out)[i].index = skip + i;
        (*out)[i].status = ROSTER_ITEM_SUCCEEDED;
        (*out)[i].message = "";
    }
    *n = (size_t)limit;
    return 0;
}

static const struct roster_job_kind_ops kind_res = {K_RES,        fake_prepare, fake_apply,
                                                    fake_release, fake_results, false};
static const struct roster_job_kind_ops kind_nores = {K_NORES,      fake_prepare, fake_apply,
                                                      fake_release, NULL,         false};
static const struct roster_job_kind_ops kind_fail = {K_FAIL,       fake_prepare, fake_apply,
                                                     fake_release, NULL,         false};
static const struct roster_job_kind_ops kind_dup = {K_RES,        fake_prepare, fake_apply,
                                                    fake_release, NULL,         false};
static const struct roster_job_kind_ops kind_builtin = {
    ROSTER_JOB_USERS_CREATE, fake_prepare, fake_apply, fake_release, NULL, false};
static const struct roster_job_kind_ops kind_kept = {K_KEPT,       fake_prepare, fake_apply,
                                                     fake_release, NULL,         true};
static struct roster_job_kind_ops kind_filler[64];

/* --- helpers --- */

static void make_org(struct roster_org *o, const char *name)
{
    test_make_org(conn, o, name);
}

/* The items of chunk c: two good ones and c bad ones. */
static const char *chunk_items(int c, int64_t *count)
{
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_printf(&b, "[\"ok-%d-a\",\"ok-%d-b\"", c, c);
    for (int i = 0; i < c; i++)
        roster_buf_printf(&b, ",\"bad-%d-%d\"", c, i);
    roster_buf_addch(&b, ']');
    const char *s = roster_arena_strndup(&A, b.data, b.len);
    roster_buf_release(&b);
    *count = 2 + c;
    return s;
}

/* Stores a job of kind with nchunks chunks (chunk_items) in org; its items are in items[]. */
static struct roster_job make_job(const struct roster_org *o, int kind, int nchunks,
                                  const char *params, const char **items, int64_t *counts)
{
    struct roster_err err = {0};
    struct roster_job job;
    memset(&job, 0, sizeof(job));
    snprintf(job.org_id, sizeof(job.org_id), "%s", o->id);
    job.kind = kind;
    job.params_json = params;
    for (int c = 0; c < nchunks; c++)
        items[c] = chunk_items(c, &counts[c]);
    int rc = roster_store_job_create(conn, &job, items, counts, (size_t)nchunks, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "    job_create: %s (%s)\n", err.msg, err.detail);
    return job;
}

static struct roster_job get_job(const struct roster_org *o, const char *id)
{
    struct roster_err err = {0};
    struct roster_job job;
    memset(&job, 0, sizeof(job));
    CHECK_EQ_INT(roster_store_job_get(conn, o->id, id, &job, &A, &err), 0);
    return job;
}

/* Polls the job until it is finished, for at most 10 s (sanitizers included). */
static struct roster_job wait_finished(const struct roster_org *o, const char *id)
{
    struct roster_arena scratch;
    roster_arena_init(&scratch, 0);
    struct roster_job job;
    memset(&job, 0, sizeof(job));
    int64_t deadline = roster_monotonic_ms() + 10000;
    for (;;) {
        struct roster_err err = {0};
        roster_arena_clear(&scratch);
        if (roster_store_job_get(conn, o->id, id, &job, &scratch, &err) != 0 ||
            job.status == ROSTER_JOB_FINISHED || roster_monotonic_ms() > deadline)
            break;
        usleep(10000);
    }
    roster_arena_release(&scratch);
    job.params_json = NULL;
    CHECK_EQ_INT(job.status, ROSTER_JOB_FINISHED);
    return job;
}

/* The users of o named after chunk c of job: how many. */
static int users_of_chunk(const struct roster_org *o, const char *job_id, int64_t c)
{
    struct roster_err err = {0};
    struct roster_query q;
    roster_query_init(&q);
    struct roster_user *rows = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_user_page(conn, o->id, &q, NULL, 0, -1, &A, &rows, &n, NULL, &err),
                 0);
    const char *name = roster_arena_printf(&A, "u-%s-%lld", job_id, (long long)c);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += rows[i].f[RU_USERNAME] && strcmp(rows[i].f[RU_USERNAME], name) == 0;
    return found;
}

static int64_t user_count(const struct roster_org *o)
{
    struct roster_err err = {0};
    struct roster_query q;
    roster_query_init(&q);
    int64_t count = -1;
    CHECK_EQ_INT(roster_store_user_count(conn, o->id, &q, &count, NULL, &err), 0);
    return count;
}

/* The events of job in ev[0..n), in the order they happened (they are recorded in order). */
static int events_of(const struct event *ev, int n, const char *job_id, const struct event **out,
                     int max)
{
    int k = 0;
    for (int i = 0; i < n && k < max; i++)
        if (strcmp(ev[i].job_id, job_id) == 0)
            out[k++] = &ev[i];
    return k;
}

static struct roster_jobs *start_engine(struct roster_app *app, int64_t lease_ms)
{
    struct roster_err err = {0};
    memset(app, 0, sizeof(*app));
    app->store = st;
    app->cfg.job_lease_ms = lease_ms;
    struct roster_jobs *jobs = NULL;
    CHECK_EQ_INT(roster_jobs_start(app, 2, &jobs, &err), 0);
    return jobs;
}

/* --- tests --- */

/* Registration: the fake kinds are found, a kind number in use (built-in or registered) is
 * refused, and the table of registered kinds has an end. */
static void test_register(void)
{
    CHECK(roster_job_kind_find(K_RES) == &kind_res);
    CHECK(roster_job_kind_find(K_NORES) == &kind_nores);
    CHECK(roster_job_kind_find(K_FAIL) == &kind_fail);
    CHECK(roster_job_kind_find(K_NONE) == NULL);
    CHECK_EQ_INT(roster_job_kind_register(&kind_dup), ROSTER_ECONFLICT);
    CHECK(roster_job_kind_find(K_RES) == &kind_res);
    CHECK_EQ_INT(roster_job_kind_register(&kind_builtin), ROSTER_ECONFLICT);
    CHECK(roster_job_kind_find(ROSTER_JOB_USERS_CREATE) == &roster_job_kind_users_create);
    CHECK(roster_job_kind_find(ROSTER_JOB_MESSAGE) == &roster_job_kind_message);
    /* fill the table: some are taken, then it is full */
    int taken = 0, rc = 0;
    size_t nfill = sizeof(kind_filler) / sizeof(kind_filler[0]);
    for (size_t i = 0; i < nfill; i++) {
        kind_filler[i] = kind_nores;
        kind_filler[i].kind = 1000 + (int)i;
        rc = roster_job_kind_register(&kind_filler[i]);
        if (rc != 0)
            break;
        taken++;
    }
    CHECK_EQ_INT(rc, ROSTER_ENOMEM);
    CHECK(taken >= 1);
    CHECK(roster_job_kind_find(1000) == &kind_filler[0]);
    CHECK(roster_job_kind_find(1000 + taken - 1) == &kind_filler[taken - 1]);
    CHECK(roster_job_kind_find(1000 + taken) == NULL);
    CHECK(roster_job_kind_find(K_FAIL) == &kind_fail);
}

/* Two jobs of two fake kinds, run by the engine: every chunk prepared and applied exactly
 * once, in chunk order within its job, each prepared before it is applied and only after
 * the previous chunk of its job was applied; apply gets the state prepared for its chunk;
 * the job's counts are what apply reported; every prepared state is released. */
static void test_engine(const struct roster_org *o, const struct roster_org *other)
{
    enum { NA = 5, NB = 3 };
    const char *items_a[NA], *items_b[NB];
    int64_t counts_a[NA], counts_b[NB];
    reset_events();
    struct roster_job ja = make_job(o, K_RES, NA, "{\"tag\":\"a\"}", items_a, counts_a);
    struct roster_job jb = make_job(o, K_NORES, NB, "{}", items_b, counts_b);
    CHECK_EQ_INT(get_job(o, ja.id).status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(get_job(o, ja.id).total, 2 * NA + NA * (NA - 1) / 2);

    struct roster_app app;
    struct roster_jobs *jobs = start_engine(&app, 0);
    roster_jobs_notify(jobs);
    struct roster_job fa = wait_finished(o, ja.id);
    struct roster_job fb = wait_finished(o, jb.id);
    roster_jobs_stop(jobs);

    /* counts: done = every item, ok and failed as apply reported (2 good and c bad items in
     * chunk c) */
    CHECK_EQ_INT(fa.total, 2 * NA + NA * (NA - 1) / 2);
    CHECK_EQ_INT(fa.done, fa.total);
    CHECK_EQ_INT(fa.ok, 2 * NA);
    CHECK_EQ_INT(fa.failed, NA * (NA - 1) / 2);
    CHECK_EQ_INT(fb.done, 2 * NB + NB * (NB - 1) / 2);
    CHECK_EQ_INT(fb.ok, 2 * NB);
    CHECK_EQ_INT(fb.failed, NB * (NB - 1) / 2);
    CHECK_EQ_INT(nbad_items, 0);

    for (int j = 0; j < 2; j++) {
        const struct roster_job *job = j ? &jb : &ja;
        int nch = j ? NB : NA;
        const char **items = j ? items_b : items_a;
        const int64_t *counts = j ? counts_b : counts_a;
        const struct event *p[MAX_EVENTS], *ap[MAX_EVENTS];
        int np = events_of(prepares, nprepares, job->id, p, MAX_EVENTS);
        int na = events_of(applies, napplies, job->id, ap, MAX_EVENTS);
        CHECK_EQ_INT(np, nch);
        CHECK_EQ_INT(na, nch);
        int64_t first = 0;
        for (int c = 0; c < nch && c < np && c < na; c++) {
            /* in order, with the chunk's input as stored */
            CHECK_EQ_INT(p[c]->chunk_no, c);
            CHECK_EQ_INT(ap[c]->chunk_no, c);
            CHECK_EQ_INT(p[c]->kind, job->kind);
            CHECK_EQ_STR(p[c]->items, items[c]);
            CHECK_EQ_INT(p[c]->count, counts[c]);
            CHECK_EQ_INT(p[c]->first_idx, first);
            CHECK_EQ_STR(p[c]->params, j ? "{}" : "{\"tag\":\"a\"}");
            CHECK_EQ_INT(p[c]->rc, 0);
            first += counts[c];
            /* applied with what its prepare made, and committed */
            CHECK(ap[c]->state_match);
            CHECK_EQ_INT(ap[c]->state_no, p[c]->state_no);
            CHECK_EQ_INT(ap[c]->rc, 0);
            CHECK(p[c]->seq < ap[c]->seq);
            /* a chunk is claimed only once the one before it is applied */
            if (c > 0)
                CHECK(p[c]->seq > ap[c - 1]->seq);
            CHECK_EQ_INT(users_of_chunk(o, job->id, c), 1);
        }
    }
    CHECK_EQ_INT(user_count(o), NA + NB);
    CHECK_EQ_INT(nconflicts, 0);
    /* every state prepared was released, once */
    CHECK_EQ_INT(nstates, NA + NB);
    CHECK_EQ_INT(nreleases, NA + NB);

    /* results: K_RES's function gets the job and the page asked for */
    struct roster_err err = {0};
    struct roster_ctx ctx = {.conn = conn, .arena = &A, .org_id = o->id};
    struct roster_job got;
    struct roster_item_result *res = NULL;
    size_t n = 0;
    memset(&res_call, 0, sizeof(res_call));
    CHECK_EQ_INT(roster_job_results(&ctx, ja.id, 3, 4, &got, &res, &n, &err), 0);
    CHECK_EQ_INT(res_call.calls, 1);
    CHECK_EQ_STR(res_call.job_id, ja.id);
    CHECK_EQ_INT(res_call.kind, K_RES);
    CHECK_EQ_INT(res_call.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(res_call.done, fa.total);
    CHECK_EQ_INT(res_call.skip, 3);
    CHECK_EQ_INT(res_call.limit, 4);
    CHECK_EQ_INT(n, 4);
    CHECK(res && res[0].index == 3 && res[3].index == 6);
    CHECK_EQ_STR(got.id, ja.id);
    CHECK_EQ_INT(got.ok, fa.ok);

    /* K_NORES has no results function: its job is not found there */
    CHECK_EQ_INT(roster_job_results(&ctx, jb.id, 0, 10, &got, &res, &n, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(err.msg, roster_arena_printf(&A, "job \"%s\" not found", jb.id));
    CHECK_EQ_INT(n, 0);
    /* nor is a job of another organisation, or an unknown one; the kind is not asked */
    struct roster_ctx octx = {.conn = conn, .arena = &A, .org_id = other->id};
    CHECK_EQ_INT(roster_job_results(&octx, ja.id, 0, 10, &got, &res, &n, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_job_results(&ctx, "0123456789abcdef01234567", 0, 10, &got, &res, &n, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(res_call.calls, 1);
}

/* The stored input of job's chunks, joined with "|". */
static const char *job_input(const struct roster_org *o, const struct roster_job *job)
{
    struct roster_err err = {0};
    struct roster_chunk_page *pages = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_job_chunks(conn, o->id, job->id, 0, job->total, &A, &pages, &n, &err),
                 0);
    const char *out = "";
    for (size_t i = 0; i < n; i++)
        out = roster_arena_printf(&A, "%s%s%s", out, i ? "|" : "", pages[i].items_json);
    return out;
}

/* Retention: a pass empties the input of jobs finished longer than the retention ago, of
 * every kind but those that keep it; the job still answers. */
static void test_retention(const struct roster_org *o)
{
    const char *items_a[2], *items_k[2];
    int64_t counts_a[2], counts_k[2];
    struct roster_job ja = make_job(o, K_NORES, 2, "{}", items_a, counts_a);
    struct roster_job jk = make_job(o, K_KEPT, 2, "{}", items_k, counts_k);
    struct roster_app app;
    struct roster_jobs *jobs = start_engine(&app, 0);
    roster_jobs_notify(jobs);
    wait_finished(o, ja.id);
    wait_finished(o, jk.id);
    roster_jobs_stop(jobs);
    const char *before = job_input(o, &ja);
    CHECK_EQ_STR(before, roster_arena_printf(&A, "%s|%s", items_a[0], items_a[1]));

    struct roster_err err = {0};
    size_t n = 99;
    app.cfg.job_input_retention_s = 60;
    int64_t now = roster_now_ms();
    CHECK_EQ_INT(roster_retention_pass(&app, conn, now, &n, &err), 0);
    CHECK_EQ_INT(n, 0); /* finished a moment ago */
    CHECK_EQ_STR(job_input(o, &ja), before);
    CHECK_EQ_INT(roster_retention_pass(&app, conn, now + 61000, &n, &err), 0);
    CHECK(n >= 2); /* ja's two chunks, and those of the jobs of the tests before */
    CHECK_EQ_STR(job_input(o, &ja), "[]|[]");
    CHECK_EQ_STR(job_input(o, &jk), roster_arena_printf(&A, "%s|%s", items_k[0], items_k[1]));
    CHECK_EQ_INT(roster_retention_pass(&app, conn, now + 61000, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    struct roster_job g = get_job(o, ja.id);
    CHECK_EQ_INT(g.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(g.done, ja.total);
}

/* Failures: K_FAIL's chunk 1 fails its first apply (rolled back, applied again at once with
 * the same state), chunk 2 its first two (left until its lease expires, then claimed,
 * prepared and applied again), chunk 3 its first prepare (claimed again later). The job
 * finishes and each chunk's effect is recorded exactly once. */
static void test_failures(const struct roster_org *o)
{
    enum { N = 4 };
    const int64_t lease_ms = 500;
    const char *items[N];
    int64_t counts[N];
    reset_events();
    struct roster_job job = make_job(o, K_FAIL, N, "{}", items, counts);
    struct roster_app app;
    struct roster_jobs *jobs = start_engine(&app, lease_ms);
    roster_jobs_notify(jobs);
    struct roster_job f = wait_finished(o, job.id);
    roster_jobs_stop(jobs);

    CHECK_EQ_INT(f.done, f.total);
    CHECK_EQ_INT(f.ok, 2 * N);
    CHECK_EQ_INT(f.failed, N * (N - 1) / 2);
    for (int c = 0; c < N; c++)
        CHECK_EQ_INT(users_of_chunk(o, job.id, c), 1);
    CHECK_EQ_INT(user_count(o), N);
    /* a rolled back apply left nothing behind */
    CHECK_EQ_INT(nconflicts, 0);
    CHECK_EQ_INT(nreleases, nstates);

    const struct event *ap[MAX_EVENTS], *p[MAX_EVENTS];
    int na = events_of(applies, napplies, job.id, ap, MAX_EVENTS);
    int np = events_of(prepares, nprepares, job.id, p, MAX_EVENTS);
    const struct event *by_chunk[N][8];
    int nby[N] = {0};
    for (int i = 0; i < na; i++)
        if (ap[i]->chunk_no >= 0 && ap[i]->chunk_no < N && nby[ap[i]->chunk_no] < 8)
            by_chunk[ap[i]->chunk_no][nby[ap[i]->chunk_no]++] = ap[i];
    /* chunk order holds through the retries: no chunk is applied before the one before it
     * succeeded, and none again after a later one did */
    int64_t highest = -1;
    bool ordered = true;
    for (int i = 0; i < na; i++) {
        if (ap[i]->chunk_no <= highest || ap[i]->chunk_no > highest + 1)
            ordered = false;
        if (ap[i]->rc == 0 && ap[i]->chunk_no > highest)
            highest = ap[i]->chunk_no;
    }
    CHECK(ordered);
    /* exactly one successful apply per chunk, the last one */
    for (int c = 0; c < N; c++) {
        int ok = 0;
        for (int i = 0; i < nby[c]; i++)
            ok += by_chunk[c][i]->rc == 0;
        CHECK_EQ_INT(ok, 1);
        CHECK(nby[c] >= 1 && by_chunk[c][nby[c] - 1]->rc == 0);
    }
    /* chunk 1: failed once, applied again at once with the state of the first try */
    CHECK_EQ_INT(nby[1], 2);
    if (nby[1] == 2) {
        CHECK_EQ_INT(by_chunk[1][0]->rc, ROSTER_EIO);
        CHECK_EQ_INT(by_chunk[1][1]->state_no, by_chunk[1][0]->state_no);
    }
    /* chunk 2: failed twice with one state; the third apply has a new state, prepared after
     * the lease of the failed ones ran out */
    CHECK_EQ_INT(nby[2], 3);
    if (nby[2] == 3) {
        CHECK_EQ_INT(by_chunk[2][0]->rc, ROSTER_EIO);
        CHECK_EQ_INT(by_chunk[2][1]->rc, ROSTER_EIO);
        CHECK_EQ_INT(by_chunk[2][1]->state_no, by_chunk[2][0]->state_no);
        CHECK(by_chunk[2][2]->state_no != by_chunk[2][0]->state_no);
        const struct event *again = NULL;
        for (int i = 0; i < np; i++)
            if (p[i]->state_no == by_chunk[2][2]->state_no)
                again = p[i];
        CHECK(again != NULL);
        if (again)
            CHECK(again->at_ms >= by_chunk[2][0]->at_ms + lease_ms);
        CHECK(by_chunk[2][2]->state_match);
    }
    /* chunk 3: its first prepare failed; it was prepared again and applied once */
    int p3 = 0, p3_failed = 0;
    for (int i = 0; i < np; i++) {
        if (p[i]->chunk_no == 3) {
            p3++;
            p3_failed += p[i]->rc != 0;
            if (p3 == 1)
                CHECK_EQ_INT(p[i]->rc, ROSTER_EIO);
        }
    }
    CHECK(p3 >= 2);
    CHECK_EQ_INT(p3_failed, 1);
    CHECK_EQ_INT(nby[3], 1);
}

/* roster_jobs_run_chunk on chunks claimed by the test: a stale lease token applies
 * nothing; the right one applies the chunk; running a done chunk again is refused and
 * changes nothing; a chunk of an unknown kind is refused. */
static void test_run_chunk(const struct roster_org *o)
{
    enum { N = 2 };
    const char *items[N];
    int64_t counts[N];
    struct roster_err err = {0};
    reset_events();
    struct roster_job job = make_job(o, K_RES, N, "{}", items, counts);

    struct roster_chunk ch;
    memset(&ch, 0, sizeof(ch));
    CHECK_EQ_INT(roster_store_chunk_claim(conn, roster_now_ms(), 60000, &ch, &A, &err), 0);
    CHECK_EQ_STR(ch.job_id, job.id);
    CHECK_EQ_INT(ch.chunk_no, 0);
    CHECK_EQ_INT(ch.kind, K_RES);

    /* someone else's lease: nothing is applied (the engine leaves a chunk whose lease is
     * gone out of its batch and still returns 0; ESTALE would do as well) */
    struct roster_chunk stale = ch;
    stale.lease_token = ch.lease_token + 1;
    int rc = roster_jobs_run_chunk(conn, &stale, &err);
    CHECK_EQ_INT(rc, ROSTER_ESTALE);
    CHECK_EQ_INT(napplies, 0);
    CHECK_EQ_INT(get_job(o, job.id).done, 0);
    CHECK_EQ_INT(users_of_chunk(o, job.id, 0), 0);

    /* the claimed chunk: applied and counted */
    CHECK_EQ_INT(roster_jobs_run_chunk(conn, &ch, &err), 0);
    CHECK_EQ_INT(napplies, 1);
    struct roster_job g = get_job(o, job.id);
    CHECK_EQ_INT(g.done, counts[0]);
    CHECK_EQ_INT(g.ok, 2);
    CHECK_EQ_INT(g.failed, 0);
    CHECK_EQ_INT(g.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(users_of_chunk(o, job.id, 0), 1);

    /* the same chunk again: refused, rolled back, counted once */
    CHECK_EQ_INT(roster_jobs_run_chunk(conn, &ch, &err), ROSTER_ESTALE);
    g = get_job(o, job.id);
    CHECK_EQ_INT(g.done, counts[0]);
    CHECK_EQ_INT(g.ok, 2);
    CHECK_EQ_INT(users_of_chunk(o, job.id, 0), 1);

    /* the next chunk: the job finishes */
    memset(&ch, 0, sizeof(ch));
    CHECK_EQ_INT(roster_store_chunk_claim(conn, roster_now_ms(), 60000, &ch, &A, &err), 0);
    CHECK_EQ_STR(ch.job_id, job.id);
    CHECK_EQ_INT(ch.chunk_no, 1);
    CHECK_EQ_INT(roster_jobs_run_chunk(conn, &ch, &err), 0);
    g = get_job(o, job.id);
    CHECK_EQ_INT(g.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(g.done, counts[0] + counts[1]);
    CHECK_EQ_INT(g.failed, 1);
    CHECK_EQ_INT(users_of_chunk(o, job.id, 1), 1);
    CHECK_EQ_INT(nreleases, nstates);

    /* a kind nobody registered */
    struct roster_job unknown = make_job(o, K_NONE, 1, "{}", items, counts);
    memset(&ch, 0, sizeof(ch));
    CHECK_EQ_INT(roster_store_chunk_claim(conn, roster_now_ms(), 60000, &ch, &A, &err), 0);
    CHECK_EQ_STR(ch.job_id, unknown.id);
    CHECK_EQ_INT(roster_jobs_run_chunk(conn, &ch, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.msg, "job kind 96 is unknown");
    CHECK_EQ_INT(get_job(o, unknown.id).done, 0);
}

int main(void)
{
    CHECK_EQ_INT(roster_job_kind_register(&kind_res), 0);
    CHECK_EQ_INT(roster_job_kind_register(&kind_nores), 0);
    CHECK_EQ_INT(roster_job_kind_register(&kind_fail), 0);
    CHECK_EQ_INT(roster_job_kind_register(&kind_kept), 0);

    roster_arena_init(&A, 0);
    struct test_store ts;
    int rc = test_store_open(&ts, "jobs");
    st = ts.st;
    conn = ts.conn;
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        struct roster_org o1, o2, o3, o4, o5;
        make_org(&o1, "jobs1");
        make_org(&o2, "jobs2");
        make_org(&o3, "jobs3");
        make_org(&o4, "jobs4");
        make_org(&o5, "jobs5");
        test_register();
        test_engine(&o1, &o2);
        test_failures(&o3);
        test_retention(&o5);
        test_run_chunk(&o4);
    }
    test_store_close(&ts);
    roster_arena_release(&A);
    return test_finish();
}
