/* The user job kinds (src/core/jobkind.h): bulk creates and bulk updates of users, as
 * JumpCloud's bulk API submits them, their submission and their per-item results.
 *
 * - Submission stores the job and its input, cut into chunks of ROSTER_JOB_CHUNK items, in
 *   one transaction; the client gets the job id only after that commit.
 * - Phase 1 (prepare) decodes and validates a chunk's items with the codec the job names,
 *   without touching the store. Phase 2 (apply) applies every item in the applier's
 *   transaction (creates with one store user_create_many call per chunk; updates with one
 *   user_get_many and one user_update_many per run of distinct users, patched and
 *   validated by the same core code as single-user requests) and writes the chunk's
 *   results with chunk_complete.
 * - An item's failure (decode, validation, conflict, unknown id) is a result, never an
 *   abort. Only store failures (I/O, busy) roll the chunk back for a later retry.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idem.h"
#include "core/jobkind.h"
#include "roster/jsonr.h"
#include "roster/jsonw.h"

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

static const char *const item_status_names[] = {
    [ROSTER_ITEM_SUCCEEDED] = "succeeded", [ROSTER_ITEM_FAILED] = "failed"};

const char *roster_item_status_name(int status)
{
    return ROSTER_ENUM_NAME(item_status_names, status, "pending");
}

/* --- submission --- */

/* The job's parameters as stored with it: roster's own JSON, read back by params_read. */
static void params_write(const struct roster_job_params *p, struct roster_buf *out)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, out);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "codec", p->codec);
    roster_jsonw_kint(&w, "default_state", p->default_state);
    if (p->creation_source)
        roster_jsonw_kstr(&w, "creation_source", p->creation_source);
    roster_jsonw_key(&w, "suppress_email");
    roster_jsonw_bool(&w, p->suppress_email);
    roster_jsonw_obj_end(&w);
}

static void params_read(const char *text, struct roster_arena *a, struct roster_job_params *p)
{
    memset(p, 0, sizeof(*p));
    json_t *o = json_loads(text ? text : "{}", 0, NULL);
    const char *codec = json_string_value(json_object_get(o, "codec"));
    const char *source = json_string_value(json_object_get(o, "creation_source"));
    p->codec = codec ? roster_arena_strdup(a, codec) : NULL;
    p->creation_source = source ? roster_arena_strdup(a, source) : NULL;
    p->default_state = (int)json_integer_value(json_object_get(o, "default_state"));
    p->suppress_email = json_is_true(json_object_get(o, "suppress_email"));
    json_decref(o);
}

int roster_job_submit(struct roster_ctx *ctx, int kind, const char *raw,
                      const struct roster_json_span *spans, size_t n,
                      const struct roster_job_params *params, struct roster_job *out,
                      struct roster_err *err)
{
    return roster_job_submit_idem(ctx, kind, raw, spans, n, params, NULL, out, err);
}

int roster_job_submit_idem(struct roster_ctx *ctx, int kind, const char *raw,
                           const struct roster_json_span *spans, size_t n,
                           const struct roster_job_params *params, struct roster_idem *idem,
                           struct roster_job *out, struct roster_err *err)
{
    const char *result;
    if (idem) {
        int rc = core_idem_find(ctx, idem, &result, err);
        if (rc || result) {
            memset(out, 0, sizeof(*out));
            if (result)
                snprintf(out->id, sizeof(out->id), "%s", result);
            return rc;
        }
    }
    if (n == 0)
        return roster_err_set(err, ROSTER_EINVAL, "a bulk job needs at least one item");
    if (kind != ROSTER_JOB_USERS_CREATE && kind != ROSTER_JOB_USERS_UPDATE)
        return roster_err_set(err, ROSTER_EINVAL, "job kind %d is not a user job", kind);
    if (!codec_find(params->codec))
        return roster_err_set(err, ROSTER_EINVAL, "no codec for this job");
    int qrc = roster_job_quota_check(ctx, 1, (int64_t)n, err);
    if (qrc)
        return qrc;
    size_t nchunks = (n + ROSTER_JOB_CHUNK - 1) / ROSTER_JOB_CHUNK;
    int rc = 0;
    char **texts = calloc(nchunks, sizeof(*texts));
    int64_t *counts = calloc(nchunks, sizeof(*counts));
    struct roster_buf params_text;
    roster_buf_init(&params_text);
    if (texts && counts)
        params_write(params, &params_text);
    if (!texts || !counts || !params_text.data) {
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
    struct roster_idem_rec rec;
    if (idem) {
        roster_id_new(out->id); /* the record keeps it */
        rc = core_idem_stage(ctx, idem, out->id, &rec, err);
        if (rc)
            goto fail;
    }
    rc = roster_store_job_create(ctx->conn, out, chunk_texts, counts, nchunks, err);
    out->params_json = NULL; /* freed below; callers only need the id */
    if (rc == 0)
        roster_job_wake(ctx);
    rc = core_idem_settle(ctx, idem, rc, &result, err);
    if (result) /* another request with this key committed first */
        snprintf(out->id, sizeof(out->id), "%s", result);
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

/* Results of a user job (jobkind.h: results); also the import kind's (job_import.c). */
int roster_job_user_results(struct roster_ctx *ctx, const struct roster_job *job, int64_t skip,
                            int64_t limit, struct roster_item_result **out, size_t *n,
                            struct roster_err *err)
{
    const char *job_id = job->id;
    int rc;
    int64_t from = skip < 0 ? 0 : skip;
    int64_t to = roster_page_end(from, limit, job->total);
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
        r->updated_ms = chunks[c].done_ms; /* an entry without its own time (imports') */
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
    struct roster_job_params params;
    params_read(ch->params_json, ctx->arena, &params);
    roster_item_decode_fn decode = codec_find(params.codec);
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
            it->rc = roster_user_prepare_create(ctx, &it->u, params.default_state, &it->err);
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
                       struct roster_arena *a, void *state, struct roster_err *err)
{
    const struct item *items = state;
    struct roster_buf buf;
    roster_buf_init(&buf);
    struct roster_buf *results = &buf;
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
    if (rc == 0) {
        roster_jsonw_arr_end(&w);
        rc = roster_job_chunk_complete(conn, ch, results->data, nok, nfailed, err);
    }
    roster_buf_release(&buf);
    return rc;
}

/* Phase 1 (jobkind.h: prepare): the items, decoded and (creates) validated. */
static int prepare_chunk(struct roster_conn *conn, const struct roster_chunk *ch,
                         struct roster_arena *a, void **state, struct roster_err *err)
{
    struct item *items = calloc(ch->count > 0 ? (size_t)ch->count : 1, sizeof(struct item));
    if (!items)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    struct roster_ctx ctx = {.conn = conn, .arena = a, .org_id = ch->org_id};
    prepare_items(ch, &ctx, items);
    *state = items;
    return 0;
}

const struct roster_job_kind_ops roster_job_kind_users_create = {
    ROSTER_JOB_USERS_CREATE, prepare_chunk, apply_chunk, free,
    roster_job_user_results, false, /* the users as sent: purged after the retention */
};

const struct roster_job_kind_ops roster_job_kind_users_update = {
    ROSTER_JOB_USERS_UPDATE, prepare_chunk, apply_chunk, free,
    roster_job_user_results, false, /* the users as sent: purged after the retention */
};
