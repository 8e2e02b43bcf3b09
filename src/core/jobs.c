/* The bulk job engine: job submission, per-item result pages, and the worker threads.
 *
 * DESIGN
 * - Submission stores the job and its input, cut into chunks of ROSTER_JOB_CHUNK items, in
 *   one transaction; the client gets the job id only after that commit.
 * - A preparer thread leases one chunk (store chunk_claim) and decodes and validates its
 *   items without touching the store. An applier thread then, in ONE transaction, renews
 *   the chunk's lease (a chunk that another process sharing the store took over while it
 *   waited is left out), applies every item (creates with one store user_create_many call
 *   per chunk; updates with one user_get_many and one user_update_many per run of distinct
 *   users, patched and validated by the same core code as single-user requests) and
 *   writes the chunk's results with chunk_complete, which fails if the lease was lost. So
 *   after a crash a chunk is either fully applied with its results or not at all, and it
 *   is simply claimed again: no item is lost or applied twice. An applier puts the chunks
 *   that are ready into the same transaction (group commit: up to BATCH_CHUNKS on an
 *   embedded store, MULTI_NODE_BATCH_CHUNKS on a multi-node one). There is one applier on
 *   an embedded store, --workers of them on a multi-node one.
 * - An item's failure (decode, validation, conflict, unknown id) is a result, never an
 *   abort. Only store failures (I/O, busy) roll the chunk back for a later retry.
 * - Threads: each preparer and applier owns its store connection. A prepared chunk
 *   (with its arena) moves from a preparer to an applier through a bounded queue under the
 *   engine mutex; the other shared state is the wake-up condition (condvar + generation
 *   counter) and the codec table, which is written before the threads start.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/msgjobs.h"
#include "roster/core.h"
#include "roster/jsonr.h"
#include "roster/jsonutil.h"
#include "roster/jsonw.h"
#include "roster/log.h"
#include "roster/wake.h"

#define LEASE_MS 60000 /* default of --job-lease-ms */
#define IDLE_POLL_MS 1000
#define BATCH_CHUNKS 16           /* chunks applied in one transaction at most (embedded store) */
#define BATCH_ITEMS 10000         /* stop claiming once a batch has this many items */
#define MULTI_NODE_BATCH_CHUNKS 2 /* the same on a multi-node store (see "threads") */
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

/* One entry of a chunk's results_json (written by write_item_result, so valid JSON):
 * [status, message, user_id, updated_ms, username, email, field]. */
static void result_from_json(const struct roster_jsonr_val *entry, struct roster_item_result *r,
                             struct roster_arena *a)
{
    struct roster_jsonr it;
    struct roster_jsonr_val v;
    const char **strs[7] = {NULL,         &r->message, &r->user_id, NULL,
                            &r->username, &r->email,   &r->field};
    if (roster_jsonr_open(&it, entry) != 0)
        return;
    for (int i = 0; i < 7 && roster_jsonr_next(&it, NULL, &v) == 1; i++) {
        int64_t n;
        if (i == 0 && roster_jsonr_int(&v, &n) == 0)
            r->status = (int)n;
        else if (i == 3 && roster_jsonr_int(&v, &n) == 0)
            r->updated_ms = n;
        else if (strs[i] && v.type == ROSTER_JSONR_STRING)
            roster_jsonr_str(&v, a, strs[i], NULL);
    }
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
    if (rc == 0 && job->kind == ROSTER_JOB_MESSAGE) /* listed by roster_msgjob_items */
        rc = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id);
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
    /* walk each chunk's results once, without a document: a poll for one item of a
     * 1,000-item chunk must not build 1,000 entries */
    size_t c = 0;
    struct roster_jsonr it;
    int64_t next_idx = -1; /* index of the entry `it` yields next; -1: no chunk open */
    for (int64_t idx = from; idx < to; idx++) {
        struct roster_item_result *r = &res[idx - from];
        r->index = idx;
        r->status = ROSTER_ITEM_PENDING;
        r->message = "waiting to be processed";
        r->updated_ms = job->created_ms;
        while (c < nchunks && chunks[c].first_idx + chunks[c].count <= idx) {
            c++;
            next_idx = -1;
        }
        if (c >= nchunks || chunks[c].first_idx > idx || !chunks[c].results_json)
            continue;
        if (next_idx < 0) {
            struct roster_jsonr_val arr;
            const char *text = chunks[c].results_json;
            if (roster_jsonr_parse(text, strlen(text), &arr) != 0 ||
                roster_jsonr_open(&it, &arr) != 0)
                continue;
            next_idx = chunks[c].first_idx;
        }
        struct roster_jsonr_val entry;
        int got = 0;
        while (next_idx <= idx && (got = roster_jsonr_next(&it, NULL, &entry)) == 1)
            next_idx++;
        if (got == 1 && next_idx == idx + 1)
            result_from_json(&entry, r, ctx->arena);
    }
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

/* The chunk's valid create items in one store call (on PostgreSQL one statement instead of
 * a round trip and a savepoint per user), with the same per-item outcomes as one
 * user_create each. */
static int create_items(struct roster_conn *conn, const struct roster_chunk *ch, struct item *items,
                        struct roster_err *err)
{
    size_t n = 0;
    for (int64_t i = 0; i < ch->count; i++)
        n += items[i].rc == 0;
    if (n == 0)
        return 0;
    /* transient (about 1 KB an item): not in the chunk's arena, which lives until commit */
    struct roster_user *u = malloc(n * sizeof(*u));
    int *rcs = malloc(n * sizeof(*rcs));
    struct roster_err *errs = malloc(n * sizeof(*errs));
    int rc = 0;
    if (!u || !rcs || !errs) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (int64_t i = 0; i < ch->count; i++)
        if (items[i].rc == 0)
            u[k++] = items[i].u;
    rc = roster_store_user_create_many(conn, ch->org_id, u, n, rcs, errs, err);
    if (rc != 0)
        goto done;
    k = 0;
    for (int64_t i = 0; i < ch->count; i++) {
        struct item *it = &items[i];
        if (it->rc != 0)
            continue;
        it->u = u[k];
        it->rc = rcs[k];
        if (rcs[k] != 0)
            it->err = errs[k];
        k++;
    }
done:
    free(u);
    free(rcs);
    free(errs);
    return rc;
}

/* The end of the run of update items from `from` whose user ids are all different: an
 * item that patches a user already patched in the run must start from that patch's
 * outcome, so it opens the next run. */
static size_t distinct_run(const struct item *items, size_t from, size_t n, const char **slots,
                           size_t nslots)
{
    memset(slots, 0, nslots * sizeof(*slots));
    for (size_t i = from; i < n; i++) {
        if (items[i].rc != 0)
            continue;
        const char *id = items[i].u.id;
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (const char *p = id; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        size_t k = (size_t)h & (nslots - 1);
        while (slots[k] && strcmp(slots[k], id) != 0)
            k = (k + 1) & (nslots - 1);
        if (slots[k])
            return i;
        slots[k] = id;
    }
    return n;
}

/* Update items[0..n) (patches with distinct ids) with one read and one write call to the
 * store, with the outcomes of roster_user_update on each in turn: the users are read
 * together, each patch is applied and validated as roster_user_update does, and the
 * writes go in order in one user_update_many. An item whose user changed after the read
 * (another writer) takes the single-user path, which reads it again. */
static int update_run(struct roster_ctx *ctx, struct item *items, size_t n, struct roster_err *err)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (it->rc == 0 && !roster_id_valid(it->u.id))
            it->rc =
                roster_err_set(&it->err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", it->u.id);
        m += it->rc == 0;
    }
    if (m == 0)
        return 0;
    const char **ids = malloc(m * sizeof(*ids));
    size_t *of = malloc(m * sizeof(*of)); /* item of each read */
    struct roster_user *cur = malloc(m * sizeof(*cur));
    int *rcs = malloc(m * sizeof(*rcs));
    size_t *wof = malloc(m * sizeof(*wof)); /* item of each write */
    struct roster_user *w = malloc(m * sizeof(*w));
    struct roster_err *errs = malloc(m * sizeof(*errs));
    int rc = 0;
    if (!ids || !of || !cur || !rcs || !wof || !w || !errs) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].rc == 0) {
            of[k] = i;
            ids[k++] = items[i].u.id;
        }
    rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, m, cur, rcs, ctx->arena, err);
    if (rc != 0)
        goto done;
    size_t nw = 0;
    for (k = 0; k < m; k++) {
        struct item *it = &items[of[k]];
        if (rcs[k] == ROSTER_ENOTFOUND) {
            it->rc =
                roster_err_set(&it->err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", it->u.id);
            continue;
        }
        w[nw] = cur[k];
        it->rc = roster_user_prepare_update(ctx, &w[nw], &it->u, false, &it->err);
        if (it->rc == 0)
            wof[nw++] = of[k];
    }
    rc = roster_store_user_update_many(ctx->conn, ctx->org_id, w, nw, rcs, errs, err);
    if (rc != 0)
        goto done;
    for (k = 0; k < nw; k++) {
        struct item *it = &items[wof[k]];
        if (rcs[k] == 0) {
            w[k].set = 0;
            it->u = w[k];
        } else if (rcs[k] == ROSTER_ESTALE) {
            struct roster_user updated;
            it->rc = roster_user_update(ctx, it->u.id, &it->u, false, &updated, &it->err);
            if (it->rc == 0)
                it->u = updated;
            else if (is_store_failure(it->rc))
                break; /* the chunk is rolled back */
        } else if (rcs[k] == ROSTER_ENOTFOUND) {
            it->rc =
                roster_err_set(&it->err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", it->u.id);
        } else {
            it->rc = rcs[k];
            it->err = errs[k];
        }
    }
done:
    free(ids);
    free(of);
    free(cur);
    free(rcs);
    free(wof);
    free(w);
    free(errs);
    return rc;
}

static int update_items(struct roster_ctx *ctx, struct item *items, int64_t count,
                        struct roster_err *err)
{
    size_t n = (size_t)count, nslots = 16;
    while (nslots < 2 * n)
        nslots *= 2;
    const char **slots = malloc(nslots * sizeof(*slots));
    if (!slots)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t from = 0; from < n && rc == 0;) {
        size_t to = distinct_run(items, from, n, slots, nslots);
        rc = update_run(ctx, items + from, to - from, err);
        from = to;
    }
    free(slots);
    return rc;
}

/* Phase 2 for one chunk, inside the caller's transaction: apply every prepared item and
 * write the chunk's results. A store failure or a lost lease is returned (the caller rolls
 * the whole transaction back); item failures are results. */
static int apply_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                       struct roster_arena *a, const struct item *items, struct roster_buf *results,
                       struct roster_err *err)
{
    struct roster_ctx ctx = {.conn = conn, .arena = a, .org_id = ch->org_id};
    struct roster_jsonw w;
    roster_buf_reset(results);
    roster_jsonw_init(&w, results);
    roster_jsonw_arr_begin(&w);
    int64_t nok = 0, nfailed = 0;
    /* a copy: the prepared items must survive this attempt unchanged, since a rolled-back
     * batch is applied again chunk by chunk (an item's outcome replaces it) */
    size_t count = (size_t)ch->count;
    struct item *work = malloc((count ? count : 1) * sizeof(*work));
    if (!work)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    if (count)
        memcpy(work, items, count * sizeof(*work));
    int rc = ch->kind == ROSTER_JOB_USERS_CREATE ? create_items(conn, ch, work, err)
                                                 : update_items(&ctx, work, ch->count, err);
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct item *it = &work[i];
        if (is_store_failure(it->rc)) {
            *err = it->err;
            rc = it->rc;
            break;
        }
        write_item_result(&w, it);
        if (it->rc == 0)
            nok++;
        else
            nfailed++;
    }
    free(work);
    if (rc != 0)
        return rc;
    roster_jsonw_arr_end(&w);
    return roster_store_chunk_complete(conn, ch, results->data, nok, nfailed, roster_now_ms(), err);
}

/* A claimed chunk, prepared by a preparer thread and waiting for the applier. It owns its
 * arena (the chunk's strings and the decoded users) and is freed by the applier. */
struct prepared {
    struct prepared *next;
    struct roster_arena arena;
    struct roster_chunk ch;
    struct item *items;
    bool lost; /* its lease was taken over while it waited (see renew_leases) */
    struct roster_msg_prepared *msg; /* message chunks (core/msgjobs.c), in arena */
};

static void prepared_free(struct prepared *p)
{
    if (!p)
        return;
    free(p->items);
    roster_arena_release(&p->arena);
    free(p);
}

/* Phase 1 for a claimed chunk (no store access but the codec's). */
static int prepare_chunk(struct prepared *p, struct roster_conn *conn, struct roster_err *err)
{
    if (p->ch.kind == ROSTER_JOB_MESSAGE)
        return roster_msgjob_prepare(conn, &p->ch, &p->arena, &p->msg, err);
    p->items = calloc((size_t)p->ch.count, sizeof(struct item));
    if (!p->items)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    struct roster_ctx ctx = {.conn = conn, .arena = &p->arena, .org_id = p->ch.org_id};
    prepare_items(&p->ch, &ctx, p->items);
    return 0;
}

/* Inside the batch's transaction, extends the lease of every chunk of p[0..n) (by lease_ms
 * from now) and marks those whose lease is gone. A chunk may wait in the queue for longer
 * than its lease, and another process sharing the store may then have claimed it: such a
 * chunk is left out of the batch instead of making its commit fail. On a multi-node store
 * the renewal also locks the chunk's row until the commit, so that no other process can
 * claim it while it is being applied. */
static int renew_leases(struct roster_conn *conn, struct prepared **p, size_t n, int64_t lease_ms,
                        struct roster_err *err)
{
    int64_t until = roster_now_ms() + lease_ms;
    for (size_t c = 0; c < n; c++) {
        int rc = roster_store_chunk_renew(conn, &p[c]->ch, until, err);
        p[c]->lost = rc == ROSTER_ESTALE;
        if (p[c]->lost) {
            roster_log(ROSTER_LOG_WARN,
                       "chunk waited longer than its lease and another worker took it over",
                       "job=%s chunk=%lld lease_ms=%lld", p[c]->ch.job_id,
                       (long long)p[c]->ch.chunk_no, (long long)lease_ms);
            roster_err_clear(err);
        } else if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Phase 2 for p[0..n) in ONE transaction (group commit: one fsync for all of them). */
static int apply_batch(struct roster_conn *conn, struct prepared **p, size_t n, int64_t lease_ms,
                       struct roster_err *err)
{
    int rc = 0;
    struct roster_buf results;
    roster_buf_init(&results);
    int64_t t0 = roster_monotonic_ms();
    rc = roster_store_begin(conn, err);
    if (rc != 0)
        goto done;
    int64_t t_locked = roster_monotonic_ms();
    rc = renew_leases(conn, p, n, lease_ms, err);
    for (size_t c = 0; c < n && rc == 0; c++)
        if (!p[c]->lost)
            rc = p[c]->ch.kind == ROSTER_JOB_MESSAGE
                     ? roster_msgjob_apply(conn, &p[c]->ch, p[c]->msg, err)
                     : apply_chunk(conn, &p[c]->ch, &p[c]->arena, p[c]->items, &results, err);
    if (rc != 0) {
        roster_store_rollback(conn);
        goto done;
    }
    int64_t t_applied = roster_monotonic_ms();
    rc = roster_store_commit(conn, err);
    roster_log(ROSTER_LOG_DEBUG, "batch timing",
               "chunks=%zu lock_wait_ms=%lld apply_ms=%lld commit_ms=%lld", n,
               (long long)(t_locked - t0), (long long)(t_applied - t_locked),
               (long long)(roster_monotonic_ms() - t_applied));
done:
    roster_buf_release(&results);
    return rc;
}

int roster_jobs_run_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, struct roster_err *err)
{
    (void)a;
    struct prepared *p = calloc(1, sizeof(*p));
    if (!p)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    roster_arena_init(&p->arena, 64 * 1024);
    p->ch = *ch;
    int rc = prepare_chunk(p, conn, err);
    if (rc == 0)
        rc = apply_batch(conn, &p, 1, LEASE_MS, err);
    prepared_free(p);
    return rc;
}

/* --- threads --- */

/* Preparers (--workers of them) claim chunks and decode/validate them in parallel; on an
 * embedded store ONE applier writes them, as many as are ready in one transaction. A
 * single writing connection keeps its page cache warm (SQLite drops a connection's cache
 * whenever another connection has committed) and batches grow by themselves when writes
 * are the bottleneck. Measured (bench/bulk_create, 100,000 users, random usernames): two
 * workers that each prepared and wrote reached 29-31k users/s, one such worker 41-44k.
 * A multi-node store runs each applier's transaction in its own server process, so there
 * --workers appliers write in parallel (PostgreSQL, 1 roster process, alternating runs:
 * 16-31k users/s with two appliers, 12-18k with one). There a commit is one WAL flush, so
 * each applier takes at most MULTI_NODE_BATCH_CHUNKS and never lingers: when the first to
 * wake took every ready chunk, the other appliers' server processes sat idle (median
 * 41,955 -> 46,092 users/s with batches of two). */
#define QUEUE_MAX BATCH_CHUNKS /* prepared chunks waiting for the applier (bounds memory) */
#define BATCH_LINGER_MS 100

struct roster_jobs {
    struct roster_app *app;
    pthread_t *threads; /* preparers */
    int nthreads;
    pthread_t *appliers;
    int nappliers;
    struct roster_wake wake; /* new work stored (a job, or a chunk became claimable), stop */
    pthread_mutex_t mu;      /* guards the queue and stop */
    pthread_cond_t queue_cv; /* queue changed (item added or removed), or stop */
    struct prepared *head, *tail;
    int queued;
    bool stop;
    bool preparers_done; /* set once every preparer has exited: nothing more gets queued */
    size_t batch_chunks; /* chunks an applier takes for one transaction at most */
    int64_t linger_ms;   /* how long a batch may grow after the previous commit */
};

static int64_t job_lease_ms(const struct roster_jobs *jobs)
{
    return jobs->app->cfg.job_lease_ms > 0 ? jobs->app->cfg.job_lease_ms : LEASE_MS;
}

void roster_jobs_notify(struct roster_jobs *jobs)
{
    if (jobs)
        roster_wake_notify(&jobs->wake);
}

static void *preparer_main(void *arg)
{
    struct roster_jobs *jobs = arg;
    struct roster_err err = {0};
    struct roster_conn *conn = NULL;
    if (roster_conn_open(jobs->app->store, &conn, &err) != 0) {
        roster_log(ROSTER_LOG_ERROR, "job worker cannot open the store", "detail=\"%s\"",
                   err.detail);
        return NULL;
    }
    struct prepared *p = NULL;
    for (;;) {
        pthread_mutex_lock(&jobs->mu);
        while (!jobs->stop && jobs->queued >= QUEUE_MAX)
            pthread_cond_wait(&jobs->queue_cv, &jobs->mu);
        bool stop = jobs->stop;
        pthread_mutex_unlock(&jobs->mu);
        uint64_t gen = roster_wake_generation(&jobs->wake);
        if (stop)
            break;
        if (!p) {
            p = calloc(1, sizeof(*p));
            if (!p) {
                roster_wake_wait(&jobs->wake, gen, 100);
                continue;
            }
            roster_arena_init(&p->arena, 64 * 1024);
        }
        roster_err_clear(&err);
        int rc = roster_store_chunk_claim(conn, roster_now_ms(), job_lease_ms(jobs), &p->ch,
                                          &p->arena, &err);
        if (rc == 0)
            rc = prepare_chunk(p, conn, &err);
        if (rc == 0) {
            pthread_mutex_lock(&jobs->mu);
            if (jobs->tail)
                jobs->tail->next = p;
            else
                jobs->head = p;
            jobs->tail = p;
            jobs->queued++;
            pthread_cond_broadcast(&jobs->queue_cv);
            pthread_mutex_unlock(&jobs->mu);
            p = NULL;
            continue;
        }
        if (rc != ROSTER_ENOTFOUND)
            roster_log(ROSTER_LOG_WARN, "chunk claim failed", "code=%s detail=\"%s\"",
                       roster_code_name(rc), err.detail);
        roster_arena_clear(&p->arena);
        free(p->items);
        p->items = NULL;
        p->msg = NULL;
        /* idle (or backing off after a failure): wait for a notify or the poll interval */
        roster_wake_wait(&jobs->wake, gen, rc == ROSTER_ENOTFOUND ? IDLE_POLL_MS : 100);
    }
    prepared_free(p);
    roster_conn_close(conn);
    return NULL;
}

static void log_chunk_failure(const struct roster_chunk *ch, int rc, const struct roster_err *err)
{
    roster_log(ROSTER_LOG_WARN, "chunk not applied; it will be retried when its lease expires",
               "job=%s chunk=%lld code=%s msg=\"%s\" detail=\"%s\"", ch->job_id,
               (long long)ch->chunk_no, roster_code_name(rc), err->msg, err->detail);
}

static void *applier_main(void *arg)
{
    struct roster_jobs *jobs = arg;
    struct roster_err err = {0};
    struct roster_conn *conn = NULL;
    if (roster_conn_open(jobs->app->store, &conn, &err) != 0) {
        roster_log(ROSTER_LOG_ERROR, "job applier cannot open the store", "detail=\"%s\"",
                   err.detail);
        return NULL;
    }
    struct prepared *batch[BATCH_CHUNKS];
    int64_t last_commit_ms = 0;
    for (;;) {
        size_t n = 0;
        int64_t items = 0;
        pthread_mutex_lock(&jobs->mu);
        /* on stop, whatever is already prepared is still applied, including what a
         * preparer is still preparing: its chunk is claimed, and a chunk left claimed
         * would hold up every other process sharing the store until its lease expires */
        while (!jobs->head && !(jobs->stop && jobs->preparers_done))
            pthread_cond_wait(&jobs->queue_cv, &jobs->mu);
        /* Under load, let a batch grow for up to BATCH_LINGER_MS after the previous commit
         * (embedded store only): with random usernames and e-mails a commit rewrites most
         * pages of those indexes whatever its size, so fewer, larger commits write far
         * less. An idle server (last commit long ago) commits at once. */
        struct timespec linger;
        roster_deadline_after(&linger, last_commit_ms + jobs->linger_ms - roster_monotonic_ms());
        while (!jobs->stop && (size_t)jobs->queued < jobs->batch_chunks / 2 &&
               roster_monotonic_ms() < last_commit_ms + jobs->linger_ms)
            if (pthread_cond_timedwait(&jobs->queue_cv, &jobs->mu, &linger) != 0)
                break;
        while (jobs->head && n < jobs->batch_chunks && items < BATCH_ITEMS) {
            struct prepared *p = jobs->head;
            jobs->head = p->next;
            if (!jobs->head)
                jobs->tail = NULL;
            jobs->queued--;
            p->next = NULL;
            items += p->ch.count;
            batch[n++] = p;
        }
        bool stop = jobs->stop && jobs->preparers_done;
        pthread_cond_broadcast(&jobs->queue_cv);
        pthread_mutex_unlock(&jobs->mu);
        if (n == 0 && stop)
            break;
        roster_err_clear(&err);
        int rc = apply_batch(conn, batch, n, job_lease_ms(jobs), &err);
        last_commit_ms = roster_monotonic_ms();
        if (rc != 0) {
            /* one chunk's trouble must not hold back the others: retry them one by one (also
             * a batch of one: a dropped store connection is back by now, and the chunk would
             * otherwise wait for its lease to expire) */
            roster_log(ROSTER_LOG_WARN, "batch rolled back; retrying its chunks one by one",
                       "chunks=%zu code=%s detail=\"%s\"", n, roster_code_name(rc), err.detail);
            for (size_t i = 0; i < n; i++) {
                roster_err_clear(&err);
                rc = apply_batch(conn, &batch[i], 1, job_lease_ms(jobs), &err);
                if (rc != 0)
                    log_chunk_failure(&batch[i]->ch, rc, &err);
            }
        }
        for (size_t i = 0; i < n; i++)
            prepared_free(batch[i]);
        /* the next chunk of these jobs became claimable */
        roster_jobs_notify(jobs);
    }
    roster_conn_close(conn);
    return NULL;
}

int roster_jobs_start(struct roster_app *app, int nworkers, struct roster_jobs **out,
                      struct roster_err *err)
{
    struct roster_jobs *jobs = calloc(1, sizeof(*jobs));
    if (!jobs)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    jobs->app = app;
    roster_wake_init(&jobs->wake);
    pthread_mutex_init(&jobs->mu, NULL);
    pthread_cond_init(&jobs->queue_cv, NULL);
    if (nworkers < 1)
        nworkers = 1;
    jobs->threads = calloc((size_t)nworkers, sizeof(pthread_t));
    if (!jobs->threads)
        goto fail;
    /* Several appliers only where several writers make sense: an embedded store has one
     * writer at a time (and keeps its page cache warm with one), a multi-node store takes
     * each applier's transaction in its own server process. */
    bool multi_node = roster_store_flags(app->store) & ROSTER_STORE_MULTI_NODE;
    int nappliers = multi_node ? nworkers : 1;
    jobs->batch_chunks = multi_node ? MULTI_NODE_BATCH_CHUNKS : BATCH_CHUNKS;
    jobs->linger_ms = multi_node ? 0 : BATCH_LINGER_MS;
    jobs->appliers = calloc((size_t)nappliers, sizeof(pthread_t));
    if (!jobs->appliers)
        goto fail;
    for (int i = 0; i < nappliers; i++) {
        if (pthread_create(&jobs->appliers[i], NULL, applier_main, jobs) != 0)
            break;
        jobs->nappliers++;
    }
    if (jobs->nappliers == 0)
        goto fail;
    for (int i = 0; i < nworkers; i++) {
        if (pthread_create(&jobs->threads[i], NULL, preparer_main, jobs) != 0)
            break;
        jobs->nthreads++;
    }
    if (jobs->nthreads == 0)
        goto fail;
    *out = jobs;
    return 0;
fail:
    roster_jobs_stop(jobs);
    return roster_err_set(err, ROSTER_EIO, "cannot start job workers");
}

void roster_jobs_stop(struct roster_jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->mu);
    jobs->stop = true;
    pthread_cond_broadcast(&jobs->queue_cv);
    pthread_mutex_unlock(&jobs->mu);
    roster_wake_stop(&jobs->wake);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    pthread_mutex_lock(&jobs->mu);
    jobs->preparers_done = true;
    pthread_cond_broadcast(&jobs->queue_cv);
    pthread_mutex_unlock(&jobs->mu);
    for (int i = 0; i < jobs->nappliers; i++)
        pthread_join(jobs->appliers[i], NULL);
    /* prepared but unapplied chunks (only if the applier could not start) */
    while (jobs->head) {
        struct prepared *p = jobs->head;
        jobs->head = p->next;
        prepared_free(p);
    }
    roster_wake_release(&jobs->wake);
    pthread_mutex_destroy(&jobs->mu);
    pthread_cond_destroy(&jobs->queue_cv);
    free(jobs->threads);
    free(jobs->appliers);
    free(jobs);
}
