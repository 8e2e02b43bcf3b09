/* The bulk job engine: job submission, per-item result pages, and the worker threads.
 *
 * DESIGN
 * - Submission stores the job and its input, cut into chunks of ROSTER_JOB_CHUNK items, in
 *   one transaction; the client gets the job id only after that commit.
 * - A worker leases one chunk (store chunk_claim), then in ONE transaction applies every
 *   item (user create/update through the same core path as single-user requests) and writes
 *   the chunk's results with chunk_complete, which fails if the lease was lost. So after a
 *   crash a chunk is either fully applied with its results or not at all, and it is simply
 *   claimed again: no item is lost or applied twice.
 * - An item's failure (decode, validation, conflict, unknown id) is a result, never an
 *   abort. Only store failures (I/O, busy) roll the chunk back for a later retry.
 * - Threads: each worker owns its store connection and arena. The only shared state is the
 *   wake-up condition (mutex + condvar + a generation counter) and the codec table, which is
 *   written before the workers start.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roster/core.h"
#include "roster/jsonutil.h"
#include "roster/jsonw.h"
#include "roster/log.h"

#define LEASE_MS 60000
#define IDLE_POLL_MS 1000
#define BATCH_CHUNKS 16   /* chunks applied in one transaction at most */
#define BATCH_ITEMS 10000 /* stop claiming once a batch has this many items */
#define MAX_CODECS 8

struct codec {
    const char *name;
    roster_item_decode_fn fn;
};
static struct codec codecs[MAX_CODECS];
static size_t ncodecs;

void roster_job_codec_register(const char *name, roster_item_decode_fn fn)
{
    for (size_t i = 0; i < ncodecs; i++) {
        if (strcmp(codecs[i].name, name) == 0) {
            codecs[i].fn = fn;
            return;
        }
    }
    if (ncodecs < MAX_CODECS)
        codecs[ncodecs++] = (struct codec){name, fn};
}

static roster_item_decode_fn codec_find(const char *name)
{
    for (size_t i = 0; name && i < ncodecs; i++)
        if (strcmp(codecs[i].name, name) == 0)
            return codecs[i].fn;
    return NULL;
}

const char *roster_item_status_name(int status)
{
    switch (status) {
    case ROSTER_ITEM_SUCCEEDED:
        return "succeeded";
    case ROSTER_ITEM_FAILED:
        return "failed";
    default:
        return "pending";
    }
}

/* --- submission --- */

int roster_job_submit(struct roster_ctx *ctx, int kind, const char *raw,
                      const struct roster_json_span *spans, size_t n, json_t *params,
                      struct roster_job *out, struct roster_err *err)
{
    if (n == 0)
        return roster_err_set(err, ROSTER_EINVAL, "a bulk job needs at least one item");
    if (!codec_find(json_string_value(json_object_get(params, "codec"))))
        return roster_err_set(err, ROSTER_EINVAL, "no codec for this job");
    size_t nchunks = (n + ROSTER_JOB_CHUNK - 1) / ROSTER_JOB_CHUNK;
    int rc = 0;
    char **texts = calloc(nchunks, sizeof(*texts));
    int64_t *counts = calloc(nchunks, sizeof(*counts));
    struct roster_buf params_text;
    roster_buf_init(&params_text);
    if (!texts || !counts || roster_json_dump_buf(params, &params_text) != 0) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t c = 0; c < nchunks; c++) {
        size_t first = c * ROSTER_JOB_CHUNK;
        size_t cnt = n - first < ROSTER_JOB_CHUNK ? n - first : ROSTER_JOB_CHUNK;
        counts[c] = (int64_t)cnt;
        if (nchunks == 1)
            continue; /* stored as received */
        /* "[" + the bytes from the chunk's first element to its last + "]" */
        size_t from = spans[first].start, to = spans[first + cnt - 1].end;
        texts[c] = malloc(to - from + 3);
        if (!texts[c]) {
            rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
            goto fail;
        }
        texts[c][0] = '[';
        memcpy(texts[c] + 1, raw + from, to - from);
        texts[c][to - from + 1] = ']';
        texts[c][to - from + 2] = '\0';
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->org_id, ctx->org_id, ROSTER_ID_LEN);
    out->kind = kind;
    out->status = ROSTER_JOB_PENDING;
    out->total = (int64_t)n;
    out->params_json = params_text.data;
    const char *single[1] = {raw};
    const char *const *chunk_texts = nchunks == 1 ? single : (const char *const *)texts;
    rc = roster_store_job_create(ctx->conn, out, chunk_texts, counts, nchunks, err);
    out->params_json = NULL; /* freed below; callers only need the id */
    if (rc == 0 && ctx->app)
        roster_jobs_notify(ctx->app->jobs);
fail:
    if (texts)
        for (size_t c = 0; c < nchunks; c++)
            free(texts[c]);
    free(texts);
    free(counts);
    roster_buf_release(&params_text);
    return rc;
}

/* --- result pages --- */

/* One entry of a chunk's results_json: [status, message, user_id, updated_ms, username,
 * email, field]. */
static void result_from_json(json_t *e, struct roster_item_result *r, struct roster_arena *a)
{
    r->status = (int)json_integer_value(json_array_get(e, 0));
    r->message = roster_arena_strdup(a, json_string_value(json_array_get(e, 1)));
    r->user_id = roster_arena_strdup(a, json_string_value(json_array_get(e, 2)));
    r->updated_ms = json_integer_value(json_array_get(e, 3));
    r->username = roster_arena_strdup(a, json_string_value(json_array_get(e, 4)));
    r->email = roster_arena_strdup(a, json_string_value(json_array_get(e, 5)));
    r->field = roster_arena_strdup(a, json_string_value(json_array_get(e, 6)));
    if (!r->message)
        r->message = "";
}

int roster_job_results(struct roster_ctx *ctx, const char *job_id, int64_t skip, int64_t limit,
                       struct roster_job *job, struct roster_item_result **out, size_t *n,
                       struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    int rc = roster_store_job_get(ctx->conn, ctx->org_id, job_id, job, ctx->arena, err);
    if (rc != 0)
        return rc;
    int64_t from = skip < 0 ? 0 : skip;
    int64_t to = limit < 0 ? job->total : from + limit;
    if (to > job->total)
        to = job->total;
    if (from >= to)
        return 0;
    struct roster_chunk_results *chunks;
    size_t nchunks;
    rc = roster_store_job_results(ctx->conn, ctx->org_id, job_id, from, to, ctx->arena, &chunks,
                                  &nchunks, err);
    if (rc != 0)
        return rc;
    struct roster_item_result *res =
        roster_arena_zalloc(ctx->arena, sizeof(*res) * (size_t)(to - from));
    size_t c = 0;
    json_t *parsed = NULL;
    size_t parsed_chunk = (size_t)-1;
    for (int64_t idx = from; idx < to; idx++) {
        struct roster_item_result *r = &res[idx - from];
        r->index = idx;
        r->status = ROSTER_ITEM_PENDING;
        r->message = "waiting to be processed";
        r->updated_ms = job->created_ms;
        while (c < nchunks && chunks[c].first_idx + chunks[c].count <= idx)
            c++;
        if (c >= nchunks || chunks[c].first_idx > idx || !chunks[c].results_json)
            continue;
        if (parsed_chunk != c) {
            json_decref(parsed);
            parsed = json_loads(chunks[c].results_json, 0, NULL);
            parsed_chunk = c;
        }
        json_t *e = json_array_get(parsed, (size_t)(idx - chunks[c].first_idx));
        if (e)
            result_from_json(e, r, ctx->arena);
    }
    json_decref(parsed);
    *out = res;
    *n = (size_t)(to - from);
    return 0;
}

/* --- running a chunk --- */

static bool is_store_failure(int rc)
{
    return rc == ROSTER_EIO || rc == ROSTER_EBUSY || rc == ROSTER_ENOMEM ||
           rc == ROSTER_EUNSUPPORTED;
}

/* One input item on its way through a chunk. */
struct item {
    int rc;                /* 0, or the item's failure */
    struct roster_err err; /* its message when rc != 0 */
    struct roster_user u;  /* decoded (create: validated) user or patch */
};

static void write_item_result(struct roster_jsonw *w, const struct item *it)
{
    roster_jsonw_arr_begin(w);
    roster_jsonw_int(w, it->rc == 0 ? ROSTER_ITEM_SUCCEEDED : ROSTER_ITEM_FAILED);
    roster_jsonw_str(w, it->rc == 0 ? "" : it->err.msg);
    if (it->u.id[0])
        roster_jsonw_str(w, it->u.id);
    else
        roster_jsonw_null(w);
    roster_jsonw_int(w, roster_now_ms());
    roster_jsonw_str(w, it->rc == 0 ? it->u.f[RU_USERNAME] : NULL);
    roster_jsonw_str(w, it->rc == 0 ? it->u.f[RU_EMAIL] : NULL);
    roster_jsonw_str(w, it->rc == 0 ? NULL : it->err.field);
    roster_jsonw_arr_end(w);
}

/* Phase 1, outside any transaction (workers run it in parallel): cut the chunk into its
 * items with the scanner (which also validates it: the codec reads only validated text),
 * then decode and, for creates, validate every item. No document is built. */
static void prepare_items(const struct roster_chunk *ch, struct roster_ctx *ctx, struct item *items)
{
    struct roster_err serr;
    roster_err_clear(&serr);
    struct roster_json_span *spans = NULL;
    size_t nspans = 0;
    char top = 0;
    const char *text = ch->items_json ? ch->items_json : "";
    int unreadable = roster_json_scan(text, strlen(text), ctx->arena, &spans, &nspans, &top, &serr);
    if (!unreadable && top != '[')
        unreadable = roster_err_set(&serr, ROSTER_EINVAL, "not a JSON array");
    json_t *params = json_loads(ch->params_json ? ch->params_json : "{}", 0, NULL);
    roster_item_decode_fn decode = codec_find(json_string_value(json_object_get(params, "codec")));
    int default_state = (int)json_integer_value(json_object_get(params, "default_state"));
    json_decref(params);
    for (int64_t i = 0; i < ch->count; i++) {
        struct item *it = &items[i];
        if (unreadable)
            it->rc = roster_err_set(&it->err, ROSTER_EINVAL, "stored job input is unreadable: %s",
                                    serr.msg);
        else if ((size_t)i >= nspans)
            it->rc = roster_err_set(&it->err, ROSTER_EINVAL, "stored job input has no item %lld",
                                    (long long)i);
        else if (!decode)
            it->rc = roster_err_set(&it->err, ROSTER_EINVAL, "no codec for this job");
        else
            it->rc = decode(text + spans[i].start, spans[i].end - spans[i].start, ch->kind, &it->u,
                            ctx->arena, &it->err);
        if (it->rc == 0 && ch->kind == ROSTER_JOB_USERS_CREATE)
            it->rc = roster_user_prepare_create(ctx, &it->u, default_state, &it->err);
        else if (it->rc == 0 && ch->kind != ROSTER_JOB_USERS_UPDATE)
            it->rc =
                roster_err_set(&it->err, ROSTER_EINVAL, "job kind %d is not a user job", ch->kind);
    }
}

/* Phase 2 for one chunk, inside the caller's transaction: apply every prepared item and
 * write the chunk's results. A store failure or a lost lease is returned (the caller rolls
 * the whole transaction back); item failures are results. */
static int apply_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                       struct roster_arena *a, struct item *items, struct roster_buf *results,
                       struct roster_err *err)
{
    struct roster_ctx ctx = {.conn = conn, .arena = a, .org_id = ch->org_id};
    struct roster_jsonw w;
    roster_buf_reset(results);
    roster_jsonw_init(&w, results);
    roster_jsonw_arr_begin(&w);
    int64_t nok = 0, nfailed = 0;
    for (int64_t i = 0; i < ch->count; i++) {
        struct item *it = &items[i];
        if (it->rc == 0 && ch->kind == ROSTER_JOB_USERS_CREATE) {
            it->rc = roster_store_user_create(conn, ch->org_id, &it->u, &it->err);
        } else if (it->rc == 0) {
            struct roster_user updated;
            it->rc = roster_user_update(&ctx, it->u.id, &it->u, false, &updated, &it->err);
            if (it->rc == 0)
                it->u = updated;
        }
        if (is_store_failure(it->rc)) {
            *err = it->err;
            return it->rc;
        }
        write_item_result(&w, it);
        if (it->rc == 0)
            nok++;
        else
            nfailed++;
    }
    roster_jsonw_arr_end(&w);
    return roster_store_chunk_complete(conn, ch, results->data, nok, nfailed, roster_now_ms(), err);
}

/* Runs chunks[0..n) in ONE transaction (group commit: one fsync for all of them). */
static int run_chunks(struct roster_conn *conn, const struct roster_chunk *chunks, size_t n,
                      struct roster_arena *a, struct roster_err *err)
{
    int rc = 0;
    bool in_tx = false;
    struct roster_buf results;
    roster_buf_init(&results);
    struct item **items = calloc(n, sizeof(*items));
    if (!items)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int64_t t_start = roster_monotonic_ms();
    for (size_t c = 0; c < n; c++) {
        items[c] = calloc((size_t)chunks[c].count, sizeof(struct item));
        if (!items[c]) {
            rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
            goto fail;
        }
        struct roster_ctx ctx = {.conn = conn, .arena = a, .org_id = chunks[c].org_id};
        prepare_items(&chunks[c], &ctx, items[c]);
    }
    int64_t t_prepared = roster_monotonic_ms();
    rc = roster_store_begin(conn, err);
    if (rc != 0)
        goto fail;
    in_tx = true;
    int64_t t_locked = roster_monotonic_ms();
    for (size_t c = 0; c < n && rc == 0; c++)
        rc = apply_chunk(conn, &chunks[c], a, items[c], &results, err);
    if (rc != 0)
        goto fail;
    int64_t t_applied = roster_monotonic_ms();
    rc = roster_store_commit(conn, err);
    in_tx = false;
    roster_log(ROSTER_LOG_DEBUG, "batch timing",
               "chunks=%zu prepare_ms=%lld lock_wait_ms=%lld apply_ms=%lld commit_ms=%lld", n,
               (long long)(t_prepared - t_start), (long long)(t_locked - t_prepared),
               (long long)(t_applied - t_locked), (long long)(roster_monotonic_ms() - t_applied));
fail:
    if (in_tx)
        roster_store_rollback(conn);
    roster_buf_release(&results);
    for (size_t c = 0; c < n; c++)
        free(items[c]);
    free(items);
    return rc;
}

int roster_jobs_run_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, struct roster_err *err)
{
    return run_chunks(conn, ch, 1, a, err);
}

/* --- workers --- */

struct roster_jobs {
    struct roster_app *app;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t generation; /* bumped by every notify */
    bool stop;
};

void roster_jobs_notify(struct roster_jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->mu);
    jobs->generation++;
    pthread_cond_broadcast(&jobs->cv);
    pthread_mutex_unlock(&jobs->mu);
}

static void *worker_main(void *arg)
{
    struct roster_jobs *jobs = arg;
    struct roster_err err = {0};
    struct roster_conn *conn = NULL;
    struct roster_arena arena;
    roster_arena_init(&arena, 256 * 1024);
    if (roster_conn_open(jobs->app->store, &conn, &err) != 0) {
        roster_log(ROSTER_LOG_ERROR, "job worker cannot open the store", "detail=\"%s\"",
                   err.detail);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&jobs->mu);
        bool stop = jobs->stop;
        uint64_t gen = jobs->generation;
        pthread_mutex_unlock(&jobs->mu);
        if (stop)
            break;

        /* claim a batch: at most one chunk per job (the store only offers a job's lowest
         * unfinished chunk), up to BATCH_ITEMS items, applied in one transaction */
        struct roster_chunk batch[BATCH_CHUNKS];
        size_t nbatch = 0;
        int64_t nitems = 0;
        int rc = 0;
        roster_err_clear(&err);
        while (nbatch < BATCH_CHUNKS && nitems < BATCH_ITEMS) {
            rc = roster_store_chunk_claim(conn, roster_now_ms(), LEASE_MS, &batch[nbatch], &arena,
                                          &err);
            if (rc != 0)
                break;
            nitems += batch[nbatch++].count;
        }
        if (rc != 0 && rc != ROSTER_ENOTFOUND)
            roster_log(ROSTER_LOG_WARN, "chunk claim failed", "code=%s detail=\"%s\"",
                       roster_code_name(rc), err.detail);
        if (nbatch > 0) {
            int64_t t0 = roster_monotonic_ms();
            rc = run_chunks(conn, batch, nbatch, &arena, &err);
            if (rc != 0 && nbatch > 1) {
                /* one chunk's trouble must not hold back the others: retry them one by one */
                roster_log(ROSTER_LOG_WARN, "batch rolled back; retrying its chunks one by one",
                           "chunks=%zu code=%s detail=\"%s\"", nbatch, roster_code_name(rc),
                           err.detail);
                for (size_t i = 0; i < nbatch; i++) {
                    rc = run_chunks(conn, &batch[i], 1, &arena, &err);
                    if (rc != 0)
                        roster_log(ROSTER_LOG_WARN, "chunk not applied; it will be retried",
                                   "job=%s chunk=%lld code=%s msg=\"%s\" detail=\"%s\"",
                                   batch[i].job_id, (long long)batch[i].chunk_no,
                                   roster_code_name(rc), err.msg, err.detail);
                }
            } else if (rc != 0) {
                roster_log(ROSTER_LOG_WARN, "chunk not applied; it will be retried",
                           "job=%s chunk=%lld code=%s msg=\"%s\" detail=\"%s\"", batch[0].job_id,
                           (long long)batch[0].chunk_no, roster_code_name(rc), err.msg, err.detail);
            } else {
                roster_log(ROSTER_LOG_DEBUG, "batch done", "chunks=%zu items=%lld ms=%lld", nbatch,
                           (long long)nitems, (long long)(roster_monotonic_ms() - t0));
            }
            roster_arena_clear(&arena);
            continue;
        }
        roster_arena_clear(&arena);
        /* idle (or backing off after a failure): wait for a notify or the poll interval */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait_ms = rc == ROSTER_ENOTFOUND ? IDLE_POLL_MS : 100;
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&jobs->mu);
        while (!jobs->stop && jobs->generation == gen) {
            if (pthread_cond_timedwait(&jobs->cv, &jobs->mu, &ts) != 0)
                break;
        }
        pthread_mutex_unlock(&jobs->mu);
    }
    roster_conn_close(conn);
    roster_arena_release(&arena);
    return NULL;
}

int roster_jobs_start(struct roster_app *app, int nworkers, struct roster_jobs **out,
                      struct roster_err *err)
{
    struct roster_jobs *jobs = calloc(1, sizeof(*jobs));
    if (!jobs)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    jobs->app = app;
    pthread_mutex_init(&jobs->mu, NULL);
    pthread_cond_init(&jobs->cv, NULL);
    if (nworkers < 1)
        nworkers = 1;
    jobs->threads = calloc((size_t)nworkers, sizeof(pthread_t));
    if (!jobs->threads) {
        free(jobs);
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    }
    for (int i = 0; i < nworkers; i++) {
        if (pthread_create(&jobs->threads[i], NULL, worker_main, jobs) != 0)
            break;
        jobs->nthreads++;
    }
    if (jobs->nthreads == 0) {
        free(jobs->threads);
        free(jobs);
        return roster_err_set(err, ROSTER_EIO, "cannot start job workers");
    }
    *out = jobs;
    return 0;
}

void roster_jobs_stop(struct roster_jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->mu);
    jobs->stop = true;
    pthread_cond_broadcast(&jobs->cv);
    pthread_mutex_unlock(&jobs->mu);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    pthread_mutex_destroy(&jobs->mu);
    pthread_cond_destroy(&jobs->cv);
    free(jobs->threads);
    free(jobs);
}
