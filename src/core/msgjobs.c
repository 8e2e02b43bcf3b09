/* Message jobs (include/roster/msgjob.h): a job created empty, items added in several
 * requests, started, then run by the job engine, one outbox message per reachable item.
 * The definition and the items are decoded by the message codec of the dialect that
 * created the job (Courier's: src/dialect/courier/codec.c).
 *
 * DESIGN
 * - States: CREATED (takes items, never claimed) -> PENDING/RUNNING (chunks claimed and
 *   applied in order, like every job) -> FINISHED. Items are only ever added while CREATED
 *   (the store's job_append refuses once job_start has flipped the status, atomically), so
 *   a started job's item list is final and every item gets exactly one result.
 * - Each add request is stored in its own chunks (at most ROSTER_JOB_CHUNK items) in one
 *   transaction before it is answered: an answered add is durable.
 * - Running a chunk (the message job kind, src/core/jobkind.h): phase 1 (prepare, preparer
 *   threads, no transaction)
 *   resolves every recipient with one batch look-up (store user_resolve), merges the
 *   recipient's profile and the data, and builds the messages and the chunk's results;
 *   phase 2 (apply, the applier's transaction) writes the messages
 *   (message_create_many) and completes the chunk (chunk_complete, refused if the lease was
 *   lost). After a crash a chunk is either fully written with its results or not at all,
 *   and it is prepared again from scratch (new message ids): one outcome per item, never a
 *   message without its result.
 * - A recipient is resolved at phase 1, so a directory change that commits between the two
 *   phases of a chunk is not seen by it (as if the message had been sent a moment earlier).
 * - results_json of a message chunk (written and read only here): one entry per item,
 *   [1, "<message id>"] for ENQUEUED or [2, "<reason>"] for ERROR; an item naming a list
 *   (to.list_id) that became messages: [1, "<first message id>", <messages>, <skipped>].
 * - A list item is expanded at phase 1: its group is looked up by num_id or name, and its
 *   members are read ROSTER_MSG_LIST_PAGE at a time (keyset pages of the membership list),
 *   each becoming one message built as for an item naming that user, without the item's
 *   own profile and to (which would give every member one address) but with its data. The
 *   messages are written with the chunk's other messages in its one transaction, so a
 *   crash leaves all of them or none; a list is capped at ROSTER_MSG_LIST_MAX members, and
 *   so are the messages of one chunk (a list item that would pass it is the item's error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/mail.h"
#include "core/idem.h"
#include "roster/template.h"
#include "core/jobkind.h"
#include "core/worker.h"
#include "roster/jsonr.h"
#include "roster/jsonw.h"
#include "roster/webhook.h"

#define MSG_KIND "bulk_message"

/* --- message codecs --- */

#define MAX_MSG_CODECS 4
static const struct roster_msg_codec *codecs[MAX_MSG_CODECS];
static size_t ncodecs;

void roster_msg_codec_register(const struct roster_msg_codec *c)
{
    for (size_t i = 0; i < ncodecs; i++) {
        if (strcmp(codecs[i]->name, c->name) == 0) {
            codecs[i] = c;
            return;
        }
    }
    if (ncodecs < MAX_MSG_CODECS)
        codecs[ncodecs++] = c;
}

const struct roster_msg_codec *roster_msg_codec_find(const char *name)
{
    for (size_t i = 0; name && i < ncodecs; i++)
        if (strcmp(codecs[i]->name, name) == 0)
            return codecs[i];
    return NULL;
}

/* --- submission --- */

static bool is_message_job(const struct roster_job *job)
{
    return job->kind == ROSTER_JOB_MESSAGE;
}

int roster_msgjob_create(struct roster_ctx *ctx, const char *codec, const char *definition,
                         size_t len, struct roster_job *out, struct roster_err *err)
{
    return roster_msgjob_create_idem(ctx, codec, definition, len, NULL, out, err);
}

/* The record of a job creation or addition keeps the job id. */
static void replay_job_id(struct roster_job *out, const char *result)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", result);
}

int roster_msgjob_create_idem(struct roster_ctx *ctx, const char *codec, const char *definition,
                              size_t len, struct roster_idem *idem, struct roster_job *out,
                              struct roster_err *err)
{
    if (idem) {
        const char *result;
        int rc = core_idem_find(ctx, idem, &result, err);
        if (rc || result) {
            if (result)
                replay_job_id(out, result);
            return rc;
        }
    }
    const struct roster_msg_codec *c = roster_msg_codec_find(codec);
    if (!c)
        return roster_err_set(err, ROSTER_EINVAL, "no message codec \"%s\"", codec);
    struct roster_msg_def d;
    int rc = c->definition(definition, len, &d, ctx->arena, err);
    if (rc)
        return rc;
    rc = roster_job_quota_check(ctx, 1, 0, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    memcpy(out->org_id, ctx->org_id, ROSTER_ID_LEN);
    out->kind = ROSTER_JOB_MESSAGE;
    /* the definition exactly as given: GET /bulk/{id} shows it back */
    out->params_json = roster_arena_printf(ctx->arena, "{\"codec\":\"%s\",\"definition\":%.*s}",
                                           c->name, (int)len, definition);
    struct roster_idem_rec rec;
    if (idem) {
        roster_id_new(out->id); /* the record keeps it */
        rc = core_idem_stage(ctx, idem, out->id, &rec, err);
        if (rc)
            return rc;
    }
    const char *result;
    rc = core_idem_settle(ctx, idem, roster_store_job_open(ctx->conn, out, err), &result, err);
    if (result)
        replay_job_id(out, result); /* another request with this key committed first */
    return rc;
}

/* The definition's text inside a job's params_json, and (when codec is not NULL) its
 * codec. Jobs stored before codecs were named are all the first codec's (Courier's). */
static const char *params_definition(const char *params, struct roster_arena *a, size_t *len,
                                     const struct roster_msg_codec **codec)
{
    struct roster_jsonr_val obj, def;
    *len = 2;
    bool ok = params && roster_jsonr_parse(params, strlen(params), &obj) == 0;
    if (codec) {
        const char *s = ok ? roster_jsonr_get_str(&obj, "codec", a) : NULL;
        *codec = s ? roster_msg_codec_find(s) : ncodecs ? codecs[0] : NULL;
    }
    if (!ok || roster_jsonr_get(&obj, "definition", &def) != 1)
        return "{}";
    *len = def.len;
    return roster_arena_strndup(a, def.raw, def.len);
}

int roster_msgjob_get(struct roster_ctx *ctx, const char *job_id, struct roster_job *job,
                      const char **definition, struct roster_err *err)
{
    int rc = roster_store_job_get(ctx->conn, ctx->org_id, job_id, job, ctx->arena, err);
    if (rc == 0 && !is_message_job(job))
        rc = roster_err_set(err, ROSTER_ENOTFOUND, "job \"%s\" not found", job_id);
    if (rc == 0 && definition) {
        size_t len;
        *definition = params_definition(job->params_json, ctx->arena, &len, NULL);
    }
    return rc;
}

int roster_msgjob_add(struct roster_ctx *ctx, const char *job_id, const char *raw,
                      const struct roster_json_span *spans, size_t n, int64_t *first_idx,
                      struct roster_err *err)
{
    return roster_msgjob_add_idem(ctx, job_id, raw, spans, n, NULL, first_idx, err);
}

int roster_msgjob_add_idem(struct roster_ctx *ctx, const char *job_id, const char *raw,
                           const struct roster_json_span *spans, size_t n, struct roster_idem *idem,
                           int64_t *first_idx, struct roster_err *err)
{
    struct roster_job job;
    *first_idx = 0;
    if (idem) {
        const char *result;
        int rc = core_idem_find(ctx, idem, &result, err);
        if (result)
            *first_idx = -1;
        if (rc || result)
            return rc;
    }
    int rc = roster_msgjob_get(ctx, job_id, &job, NULL, err);
    /* a job that has started refuses the items anyway (the store's conflict) */
    if (rc == 0 && n > 0 && job.status == ROSTER_JOB_CREATED)
        rc = roster_job_quota_check(ctx, 0, (int64_t)n, err);
    if (rc)
        return rc;
    size_t nchunks = (n + ROSTER_JOB_CHUNK - 1) / ROSTER_JOB_CHUNK;
    const char **texts = roster_arena_alloc(ctx->arena, (nchunks ? nchunks : 1) * sizeof(*texts));
    int64_t *counts = roster_arena_alloc(ctx->arena, (nchunks ? nchunks : 1) * sizeof(*counts));
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t c = 0; c < nchunks; c++) {
        size_t first = c * ROSTER_JOB_CHUNK;
        size_t cnt = n - first < ROSTER_JOB_CHUNK ? n - first : ROSTER_JOB_CHUNK;
        /* "[" + the items, each exactly as received, joined by "," + "]" */
        roster_buf_reset(&b);
        roster_buf_addch(&b, '[');
        for (size_t i = first; i < first + cnt; i++) {
            if (i > first)
                roster_buf_addch(&b, ',');
            roster_buf_add(&b, raw + spans[i].start, spans[i].end - spans[i].start);
        }
        roster_buf_addch(&b, ']');
        texts[c] = roster_arena_strndup(ctx->arena, b.data, b.len);
        counts[c] = (int64_t)cnt;
    }
    roster_buf_release(&b);
    struct roster_idem_rec rec;
    if (idem) {
        rc = core_idem_stage(ctx, idem, job_id, &rec, err);
        if (rc)
            return rc;
    }
    const char *result;
    rc = roster_store_job_append(ctx->conn, ctx->org_id, job_id, texts, counts, nchunks, first_idx,
                                 err);
    rc = core_idem_settle(ctx, idem, rc, &result, err);
    if (result)
        *first_idx = -1;
    return rc;
}

int roster_msgjob_start(struct roster_ctx *ctx, const char *job_id, bool *started,
                        struct roster_err *err)
{
    struct roster_job job;
    *started = false;
    int rc = roster_msgjob_get(ctx, job_id, &job, NULL, err);
    if (rc)
        return rc;
    rc = roster_store_job_start(ctx->conn, ctx->org_id, job_id, roster_now_ms(), err);
    if (rc == ROSTER_ECONFLICT) {
        roster_err_clear(err);
        return 0; /* started before: running it again changes nothing */
    }
    if (rc)
        return rc;
    *started = true;
    roster_job_wake(ctx);
    return 0;
}

/* --- the item listing --- */

/* Fills r from one results entry ([1, "id"] or [2, "reason"]). */
static void item_result(const struct roster_jsonr_val *entry, struct roster_msg_item *r,
                        struct roster_arena *a)
{
    struct roster_jsonr it;
    struct roster_jsonr_val st, text;
    int64_t status;
    if (roster_jsonr_open(&it, entry) != 0 || roster_jsonr_next(&it, NULL, &st) != 1 ||
        roster_jsonr_int(&st, &status) != 0 || roster_jsonr_next(&it, NULL, &text) != 1 ||
        text.type != ROSTER_JSONR_STRING)
        return;
    const char *s = NULL;
    roster_jsonr_str(&text, a, &s, NULL);
    if (status == ROSTER_MSG_ENQUEUED) {
        r->status = ROSTER_MSG_ENQUEUED;
        r->message_id = s;
        /* a list item: [1, "<first id>", <messages>, <skipped members>] */
        struct roster_jsonr_val count, skipped;
        if (roster_jsonr_next(&it, NULL, &count) == 1 &&
            roster_jsonr_int(&count, &r->list_messages) == 0 &&
            roster_jsonr_next(&it, NULL, &skipped) == 1)
            roster_jsonr_int(&skipped, &r->list_skipped);
    } else if (status == ROSTER_MSG_ERROR) {
        r->status = ROSTER_MSG_ERROR;
        r->error = s;
    }
}

int roster_msgjob_items(struct roster_ctx *ctx, const char *job_id, int64_t from, int64_t limit,
                        struct roster_job *job, struct roster_msg_item **out, size_t *n,
                        struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    int rc = roster_msgjob_get(ctx, job_id, job, NULL, err);
    if (rc)
        return rc;
    if (from < 0)
        from = 0;
    int64_t to = roster_page_end(from, limit, job->total);
    if (from >= to)
        return 0;
    struct roster_chunk_page *chunks;
    size_t nchunks;
    rc = roster_store_job_chunks(ctx->conn, ctx->org_id, job_id, from, to, ctx->arena, &chunks,
                                 &nchunks, err);
    if (rc)
        return rc;
    struct roster_msg_item *items =
        roster_arena_zalloc(ctx->arena, sizeof(*items) * (size_t)(to - from));
    size_t got = 0;
    for (size_t c = 0; c < nchunks; c++) {
        const struct roster_chunk_page *ch = &chunks[c];
        struct roster_json_span *spans;
        size_t nspans;
        char top;
        const char *text = ch->items_json ? ch->items_json : "";
        if (roster_json_scan(text, strlen(text), ctx->arena, &spans, &nspans, &top, err) != 0 ||
            top != '[' || (int64_t)nspans != ch->count)
            return roster_err_set(err, ROSTER_EIO, "stored items of job \"%s\" are unreadable",
                                  job_id);
        struct roster_jsonr res;
        bool has_results = false;
        struct roster_jsonr_val arr;
        if (ch->results_json &&
            roster_jsonr_parse(ch->results_json, strlen(ch->results_json), &arr) == 0 &&
            roster_jsonr_open(&res, &arr) == 0)
            has_results = true;
        for (int64_t i = 0; i < ch->count; i++) {
            int64_t idx = ch->first_idx + i;
            struct roster_jsonr_val entry;
            bool has_entry = has_results && roster_jsonr_next(&res, NULL, &entry) == 1;
            if (idx < from || idx >= to)
                continue;
            struct roster_msg_item *r = &items[idx - from];
            r->index = idx;
            r->item_json = text + spans[i].start;
            r->item_len = spans[i].end - spans[i].start;
            r->status = ROSTER_MSG_PENDING;
            if (has_entry)
                item_result(&entry, r, ctx->arena);
            got++;
        }
    }
    if (got != (size_t)(to - from))
        return roster_err_set(err, ROSTER_EIO, "items %lld to %lld of job \"%s\" are missing",
                              (long long)from, (long long)to - 1, job_id);
    /* each message's delivery status (a page is at most a few hundred point reads) */
    for (size_t i = 0; i < got; i++) {
        struct roster_message m;
        if (items[i].message_id &&
            roster_store_message_get(ctx->conn, ctx->org_id, items[i].message_id, &m, ctx->arena,
                                     err) == 0)
            items[i].message_status = m.status;
    }
    *out = items;
    *n = got;
    return 0;
}

/* --- running a chunk ---
 *
 * Phase 1 builds every message's content by copying JSON tokens: members of the stored
 * users and of the definition are taken as raw text (the text was validated at ingest), so
 * nothing is unescaped and escaped again. A merge keeps a member of an earlier layer only if
 * no later layer has a member with the same key text; two spellings of one key ("a" and
 * "\u0061") would both be written, the later one last, which is how JSON parsers read a
 * repeated key anyway. */

struct roster_msg_prepared {
    struct roster_message *msgs; /* the messages of the ENQUEUED items */
    size_t nmsgs;
    const char *results_json;
    int64_t nok, nfailed;
};

/* One member as JSON text: the key token (quotes included) and the value. */
struct member {
    const char *key, *val;
    size_t klen, vlen;
    int type; /* enum roster_jsonr_type of the value */
};

/* The members of one layer of a merged object, in order. */
struct layer {
    struct member *m;
    size_t n;
};

/* The members of obj (an object value) into l, in a. */
static void layer_of(const struct roster_jsonr_val *obj, struct layer *l, struct roster_arena *a)
{
    struct roster_jsonr it;
    struct roster_jsonr_val key, val;
    size_t cap = 8;
    l->n = 0;
    l->m = roster_arena_alloc(a, cap * sizeof(*l->m));
    if (roster_jsonr_open(&it, obj) != 0)
        return;
    while (roster_jsonr_next(&it, &key, &val) == 1) {
        if (l->n == cap) {
            struct member *grown = roster_arena_alloc(a, 2 * cap * sizeof(*grown));
            memcpy(grown, l->m, l->n * sizeof(*grown));
            l->m = grown;
            cap *= 2;
        }
        l->m[l->n++] = (struct member){key.raw, val.raw, key.len, val.len, val.type};
    }
}

static bool same_key(const struct member *x, const char *key, size_t klen)
{
    return x->klen == klen && memcmp(x->key, key, klen) == 0;
}

/* The member named by the key token key[0..klen) in the merge of ls[0..nl) (the last layer
 * that has it), or NULL. */
static const struct member *merged_member(const struct layer *ls, size_t nl, const char *key,
                                          size_t klen)
{
    for (size_t i = nl; i-- > 0;)
        for (size_t k = ls[i].n; k-- > 0;)
            if (same_key(&ls[i].m[k], key, klen))
                return &ls[i].m[k];
    return NULL;
}

/* Appends the merge of ls[0..nl) to b: every member of every layer that no later layer
 * overrides, in layer order (a shallow merge: later wins). */
static void write_merged(struct roster_buf *b, const struct layer *ls, size_t nl)
{
    bool first = true;
    roster_buf_addch(b, '{');
    for (size_t i = 0; i < nl; i++) {
        for (size_t k = 0; k < ls[i].n; k++) {
            const struct member *m = &ls[i].m[k];
            bool overridden = false;
            for (size_t j = i + 1; j < nl && !overridden; j++)
                for (size_t q = 0; q < ls[j].n && !overridden; q++)
                    overridden = same_key(&ls[j].m[q], m->key, m->klen);
            /* a repeated key inside one layer: only its last member counts (jansson) */
            for (size_t q = k + 1; q < ls[i].n && !overridden; q++)
                overridden = same_key(&ls[i].m[q], m->key, m->klen);
            if (overridden)
                continue;
            if (!first)
                roster_buf_addch(b, ',');
            first = false;
            roster_buf_add(b, m->key, m->klen);
            roster_buf_addch(b, ':');
            roster_buf_add(b, m->val, m->vlen);
        }
    }
    roster_buf_addch(b, '}');
}

/* s as a JSON string token, in a. */
static const char *json_token(const char *s, struct roster_arena *a, size_t *len)
{
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_str(&w, s);
    const char *out = roster_arena_strndup(a, b.data, b.len);
    *len = b.len;
    roster_buf_release(&b);
    return out;
}

/* Unescaped value of a string member (NULL if it is not a non-empty string). */
static const char *member_text(const struct member *m, struct roster_arena *a)
{
    if (!m || m->type != ROSTER_JSONR_STRING || m->vlen <= 2)
        return NULL;
    struct roster_jsonr_val v;
    const char *s = NULL;
    if (roster_jsonr_parse(m->val, m->vlen, &v) != 0 || roster_jsonr_str(&v, a, &s, NULL) != 0)
        return NULL;
    return s && s[0] ? s : NULL;
}

/* The first "number" of a user's phones array, or NULL. */
static const char *first_phone(const char *phones, struct roster_arena *a)
{
    struct roster_jsonr_val arr, e;
    struct roster_jsonr it;
    if (!phones || roster_jsonr_parse(phones, strlen(phones), &arr) != 0 ||
        roster_jsonr_open(&it, &arr) != 0)
        return NULL;
    while (roster_jsonr_next(&it, NULL, &e) == 1) {
        const char *num =
            e.type == ROSTER_JSONR_OBJECT ? roster_jsonr_get_str(&e, "number", a) : NULL;
        if (num && num[0])
            return num;
    }
    return NULL;
}

/* The parts of the definition every message of a chunk copies, as JSON text. */
struct def_text {
    const char *no_recipient; /* the codec's */
    struct roster_buf head;   /* "\"event\":..,\"template\":..,\"brand\":..," */
    struct layer data[2];     /* the nested legacy message's data, the definition's data */
    size_t ndata;
};

static void def_text_init(struct def_text *t, const struct roster_msg_def *d,
                          struct roster_arena *a)
{
    roster_buf_init(&t->head);
    static const char *const names[] = {"event", "template", "brand"};
    const char *const vals[] = {d->event, d->template, d->brand};
    for (size_t i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        size_t len;
        const char *tok = json_token(vals[i], a, &len);
        roster_buf_printf(&t->head, "\"%s\":", names[i]);
        roster_buf_add(&t->head, tok, len);
        roster_buf_addch(&t->head, ',');
    }
    if (d->has_content) {
        size_t len;
        const char *text = roster_jsonr_compact(&d->content, a, &len);
        roster_buf_addstr(&t->head, "\"content\":");
        roster_buf_add(&t->head, text, len);
        roster_buf_addch(&t->head, ',');
    }
    t->ndata = 0;
    for (size_t i = 0; i < d->ndata && i < 2; i++)
        layer_of(&d->data[i], &t->data[t->ndata++], a);
}

/* A Courier-style message id, "1-<8 hex seconds>-<24 hex>", whose last part is a roster
 * object id (include/roster/util.h): ids made by one process increase, so a chunk's
 * messages are appended at the right edge of the outbox's id index instead of on random
 * pages, and no random bytes are drawn per message. Message ids are not secrets: every
 * read is scoped by organisation. */
static void message_id_new(char out[ROSTER_MESSAGE_ID_MAX])
{
    char oid[ROSTER_ID_LEN + 1];
    roster_id_new(oid);
    snprintf(out, ROSTER_MESSAGE_ID_MAX, "1-%.8s-%s", oid, oid);
}

/* The directory user's profile as a layer of members. */
static void directory_layer(const struct roster_user *dir, const char *key, struct layer *l,
                            struct roster_arena *a)
{
    static const char *const names[] = {"\"user_id\"",      "\"username\"",   "\"email\"",
                                        "\"phone_number\"", "\"given_name\"", "\"family_name\""};
    const char *vals[6] = {key};
    if (dir->id[0]) {
        vals[0] = dir->id;
        vals[1] = dir->f[RU_USERNAME];
        vals[2] = dir->f[RU_EMAIL];
        vals[3] = first_phone(dir->f[RU_PHONES], a);
        vals[4] = dir->f[RU_FIRST_NAME];
        vals[5] = dir->f[RU_LAST_NAME];
    }
    l->m = roster_arena_alloc(a, 6 * sizeof(*l->m));
    l->n = 0;
    for (size_t i = 0; i < 6; i++) {
        if (!vals[i])
            continue;
        struct member *m = &l->m[l->n++];
        m->key = names[i];
        m->klen = strlen(names[i]);
        m->val = json_token(vals[i], a, &m->vlen);
        m->type = ROSTER_JSONR_STRING;
    }
}

#define KEY_TOKEN(s) s, sizeof(s) - 1

/* Builds item p's message into m (its content in content) or returns the reason it has
 * none. */
static const char *build_message(const struct roster_chunk *ch, const struct def_text *d,
                                 const struct roster_msg_input *p, const struct roster_user *dir,
                                 struct roster_message *m, struct roster_buf *content,
                                 struct roster_arena *a)
{
    if (!p->readable)
        return "the stored user is not a JSON object";
    bool matched = dir->id[0] != '\0';
    struct layer to[3];
    size_t nto = 0;
    directory_layer(dir, p->key, &to[nto++], a);
    for (size_t i = 0; i < p->nto && i < 2; i++)
        layer_of(&p->to[i], &to[nto++], a);
    const char *email = member_text(merged_member(to, nto, KEY_TOKEN("\"email\"")), a);
    const char *phone = member_text(merged_member(to, nto, KEY_TOKEN("\"phone_number\"")), a);
    if (!email && !phone) {
        if (p->key && !matched)
            return roster_arena_printf(a,
                                       "recipient \"%.200s\" is not a user of the directory and "
                                       "no email or phone_number was given",
                                       p->key);
        if (matched)
            return roster_arena_printf(a, "recipient \"%.200s\" has no email or phone_number",
                                       p->key);
        return d->no_recipient;
    }
    struct layer data[3];
    size_t ndata = 0;
    for (size_t i = 0; i < d->ndata; i++)
        data[ndata++] = d->data[i];
    if (p->has_data)
        layer_of(&p->data, &data[ndata++], a);

    roster_buf_reset(content);
    roster_buf_addch(content, '{');
    roster_buf_add(content, d->head.data, d->head.len);
    roster_buf_addstr(content, "\"data\":");
    write_merged(content, data, ndata);
    roster_buf_addstr(content, ",\"to\":");
    write_merged(content, to, nto);
    roster_buf_addch(content, '}');

    memset(m, 0, sizeof(*m));
    message_id_new(m->id);
    memcpy(m->org_id, ch->org_id, sizeof(m->org_id));
    m->kind = MSG_KIND;
    m->source_id = ch->job_id;
    m->user_id = matched ? roster_arena_strdup(a, dir->id) : NULL;
    m->recipient = matched ? m->user_id : p->key ? p->key : email ? email : phone;
    m->content_json = roster_arena_strndup(a, content->data, content->len);
    m->status = "ENQUEUED";
    return NULL;
}

/* What a list item came to: its messages are p->msgs[first, first + count). */
struct list_out {
    size_t first, count, skipped;
};

/* Makes room for at least want messages in p->msgs (cap: its room). */
static void grow_msgs(struct roster_msg_prepared *p, size_t *cap, size_t want,
                      struct roster_arena *a)
{
    if (want <= *cap)
        return;
    size_t ncap = *cap * 2 > want ? *cap * 2 : want;
    struct roster_message *grown = roster_arena_zalloc(a, ncap * sizeof(*grown));
    memcpy(grown, p->msgs, p->nmsgs * sizeof(*grown));
    p->msgs = grown;
    *cap = ncap;
}

/* The group that list_id names in org_id: by num_id (all digits), else by name (of any
 * kind; the lowest num_id when several kinds share it). 0 with *num_id 0 when none. */
static int list_group(struct roster_conn *conn, const char *org_id, const char *list_id,
                      struct roster_arena *a, int64_t *num_id, struct roster_err *err)
{
    *num_id = 0;
    struct roster_group *g;
    size_t ng;
    int64_t total;
    size_t len = strlen(list_id);
    bool digits = len > 0 && len < 19 && strspn(list_id, "0123456789") == len;
    if (digits) {
        struct roster_group_query q = {.num_id = strtoll(list_id, NULL, 10), .limit = 1};
        int rc = roster_store_group_list(conn, org_id, &q, a, &g, &ng, &total, err);
        if (rc || ng > 0) {
            *num_id = rc ? 0 : g[0].num_id;
            return rc;
        }
    }
    struct roster_group_query q = {.name = list_id, .limit = 1};
    int rc = roster_store_group_list(conn, org_id, &q, a, &g, &ng, &total, err);
    if (!rc && ng > 0)
        *num_id = g[0].num_id;
    return rc;
}

/* Expands list item p (p->list_id) into one message per member of its group, appended to
 * out->msgs (lo: where and how many); *why: the item's error when it gives none (unknown
 * list, no members, too many, none reachable). Returns a store failure (the chunk is
 * retried), else 0. */
static int expand_list(struct roster_conn *conn, const struct roster_chunk *ch,
                       const struct def_text *d, const struct roster_msg_input *p,
                       struct roster_msg_prepared *out, size_t *cap, struct roster_buf *content,
                       struct roster_arena *a, struct list_out *lo, const char **why,
                       struct roster_err *err)
{
    *why = NULL;
    int64_t group;
    int rc = list_group(conn, ch->org_id, p->list_id, a, &group, err);
    if (rc)
        return rc;
    if (!group) {
        *why = roster_arena_printf(a, "list \"%.200s\" is not a group of this organization",
                                   p->list_id);
        return 0;
    }
    struct roster_query q;
    roster_query_init(&q);
    q.conds[0] = (struct roster_group_cond){group, true};
    q.nconds = 1;
    int64_t members;
    rc = roster_store_user_count(conn, ch->org_id, &q, &members, NULL, err);
    if (rc)
        return rc;
    if (members > ROSTER_MSG_LIST_MAX) {
        *why = roster_arena_printf(a,
                                   "list \"%.200s\" has %lld members, more than the %d a list "
                                   "item may have",
                                   p->list_id, (long long)members, ROSTER_MSG_LIST_MAX);
        return 0;
    }
    /* the chunk's messages are held until its transaction: bounded per chunk too */
    if ((int64_t)out->nmsgs + members > ROSTER_MSG_LIST_MAX) {
        *why = roster_arena_printf(a,
                                   "list \"%.200s\" (%lld members) with the %zu messages before "
                                   "it in its batch of users is more than %d: send large lists "
                                   "in jobs of their own",
                                   p->list_id, (long long)members, out->nmsgs, ROSTER_MSG_LIST_MAX);
        return 0;
    }
    /* each member as an item naming that user, with the list item's data only */
    struct roster_msg_input one = *p;
    one.nto = 0;
    one.list_id = NULL;
    struct roster_user last;
    bool more = true, any = false;
    while (more) {
        struct roster_user *u;
        size_t nu;
        rc = roster_store_user_page(conn, ch->org_id, &q, any ? &last : NULL, 0,
                                    ROSTER_MSG_LIST_PAGE, a, &u, &nu, NULL, err);
        if (rc)
            return rc;
        more = nu == ROSTER_MSG_LIST_PAGE;
        for (size_t k = 0; k < nu; k++) {
            if (lo->count + lo->skipped >= (size_t)members + ROSTER_MSG_LIST_PAGE) {
                /* the group grew while it was read: stop near what was counted */
                more = false;
                break;
            }
            grow_msgs(out, cap, out->nmsgs + 1, a);
            one.key = u[k].id;
            if (build_message(ch, d, &one, &u[k], &out->msgs[out->nmsgs], content, a)) {
                lo->skipped++;
                continue;
            }
            out->nmsgs++;
            lo->count++;
        }
        if (nu > 0) {
            last = u[nu - 1];
            any = true;
        }
    }
    if (lo->count == 0)
        *why = lo->skipped ? roster_arena_printf(a,
                                                 "none of the %zu members of list \"%.200s\" has "
                                                 "an email or phone_number",
                                                 lo->skipped, p->list_id)
                           : roster_arena_printf(a, "list \"%.200s\" has no members", p->list_id);
    return 0;
}

/* Turns the e-mail message m (its content rendered here) into one webhook message per
 * endpoint t[0..nt) of event message.created, written to out[0..nt) (out[0] keeps m's id,
 * which the item's result names); or returns why it cannot be rendered. The body is fixed
 * now: every resend of a message is byte-identical. */
static const char *webhook_messages(const struct roster_chunk *ch, const struct roster_message *m,
                                    const struct roster_webhook *t, size_t nt,
                                    struct roster_message *out, struct roster_arena *a)
{
    struct roster_mail_text text;
    const char *why = roster_mail_render(m->content_json, a, &text);
    if (why)
        return why;
    struct roster_jsonr_val root, data, to;
    if (roster_jsonr_parse(m->content_json, strlen(m->content_json), &root) != 0 ||
        roster_jsonr_get(&root, "data", &data) != 1 || roster_jsonr_get(&root, "to", &to) != 1)
        return "the message's content is unreadable";
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "message_id", m->id);
    roster_jsonw_kstr(&w, "job_id", ch->job_id);
    roster_jsonw_kstr(&w, "recipient", m->recipient);
    roster_jsonw_kraw(&w, "to", roster_arena_strndup(a, to.raw, to.len));
    roster_jsonw_kstr(&w, "title", text.subject);
    roster_jsonw_kstr(&w, "body", text.body);
    roster_jsonw_kraw(&w, "data", roster_arena_strndup(a, data.raw, data.len));
    roster_jsonw_obj_end(&w);
    const char *body = roster_webhook_body("message.created", roster_now_ms(),
                                           roster_arena_strndup(a, b.data, b.len), a);
    roster_buf_release(&b);
    for (size_t k = 0; k < nt; k++) {
        out[k] = *m;
        if (k > 0)
            message_id_new(out[k].id);
        out[k].kind = ROSTER_WEBHOOK_KIND;
        out[k].channel = ROSTER_WEBHOOK_KIND;
        out[k].recipient = roster_arena_strdup(a, t[k].id);
        out[k].content_json = body;
    }
    return NULL;
}

/* Phase 1 (jobkind.h: prepare): reads the chunk's items, looks every recipient up in the
 * directory with one batch look-up, merges profiles and data and builds each item's
 * message or failure, all in a. */
static int msgjob_prepare(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, void **out, struct roster_err *err)
{
    struct roster_msg_prepared *p = roster_arena_zalloc(a, sizeof(*p));
    *out = p;
    size_t n = ch->count > 0 ? (size_t)ch->count : 0;
    struct roster_msg_def d;
    memset(&d, 0, sizeof(d));
    size_t dlen;
    const struct roster_msg_codec *codec;
    const char *dtext = params_definition(ch->params_json, a, &dlen, &codec);
    struct roster_err derr;
    roster_err_clear(&derr);
    bool def_ok = codec ? codec->definition(dtext, dlen, &d, a, &derr) == 0
                        : roster_err_set(&derr, ROSTER_EINVAL, "no codec for this job") == 0;
    struct def_text dt;
    def_text_init(&dt, &d, a);
    dt.no_recipient = codec ? codec->no_recipient : "no recipient";

    /* the items: the stored array was validated when it was added, so it is read without
     * a second validation (jsonr never reads outside it whatever it holds) */
    struct roster_msg_input *items = roster_arena_zalloc(a, (n ? n : 1) * sizeof(*items));
    const char **keys = roster_arena_zalloc(a, (n ? n : 1) * sizeof(*keys));
    const char *text = ch->items_json ? ch->items_json : "";
    struct roster_jsonr_val arr, el;
    struct roster_jsonr it;
    if (codec && roster_jsonr_parse(text, strlen(text), &arr) == 0 &&
        roster_jsonr_open(&it, &arr) == 0)
        for (size_t i = 0; i < n && roster_jsonr_next(&it, NULL, &el) == 1; i++) {
            codec->item(&el, &items[i], a);
            keys[i] = items[i].key;
        }
    struct roster_user *dir = roster_arena_zalloc(a, (n ? n : 1) * sizeof(*dir));
    int rc = roster_store_user_resolve(conn, ch->org_id, keys, n, a, dir, err);
    if (rc) {
        roster_buf_release(&dt.head);
        return rc;
    }

    /* routed to webhooks: every endpoint that takes message.created gets each message */
    struct roster_webhook *hooks = NULL;
    size_t nhooks = 0;
    if (def_ok && d.webhook) {
        rc = roster_webhook_targets(conn, ch->org_id, "message.created", a, &hooks, &nhooks, err);
        if (rc) {
            roster_buf_release(&dt.head);
            return rc;
        }
    }
    size_t per = nhooks ? nhooks : 1;
    size_t cap = (n ? n : 1) * per;
    p->msgs = roster_arena_zalloc(a, cap * sizeof(*p->msgs));
    struct roster_message one;
    struct roster_buf content, results;
    roster_buf_init(&content);
    roster_buf_init(&results);
    struct roster_jsonw w;
    roster_jsonw_init(&w, &results);
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const char *why;
        struct list_out lo = {0};
        if (!def_ok) {
            why = roster_arena_printf(a, "the job's message is unreadable: %s", derr.msg);
        } else if (items[i].readable && items[i].list_id && d.webhook) {
            why = "a list is delivered by e-mail only: a job routed to webhooks cannot name one";
        } else if (items[i].readable && items[i].list_id) {
            lo.first = p->nmsgs;
            rc = expand_list(conn, ch, &dt, &items[i], p, &cap, &content, a, &lo, &why, err);
            if (rc) {
                roster_buf_release(&content);
                roster_buf_release(&results);
                roster_buf_release(&dt.head);
                return rc;
            }
        } else if (!d.webhook) {
            why = build_message(ch, &dt, &items[i], &dir[i], &p->msgs[p->nmsgs], &content, a);
        } else if (nhooks == 0) {
            why = "the message is routed to webhooks and no webhook endpoint of the "
                  "organization takes message.created";
        } else if (!(why = build_message(ch, &dt, &items[i], &dir[i], &one, &content, a))) {
            /* a named template is rendered now, like inline content (the body is fixed) */
            rc = roster_template_resolve(conn, &one, a, &one.content_json, &why, err);
            if (rc) {
                roster_buf_release(&content);
                roster_buf_release(&results);
                roster_buf_release(&dt.head);
                return rc;
            }
            if (!why) {
                grow_msgs(p, &cap, p->nmsgs + nhooks, a);
                why = webhook_messages(ch, &one, hooks, nhooks, &p->msgs[p->nmsgs], a);
            }
        }
        roster_jsonw_arr_begin(&w);
        if (lo.count > 0) {
            roster_jsonw_int(&w, ROSTER_MSG_ENQUEUED);
            roster_jsonw_str(&w, p->msgs[lo.first].id);
            roster_jsonw_int(&w, (int64_t)lo.count);
            roster_jsonw_int(&w, (int64_t)lo.skipped);
            p->nok++;
        } else if (why) {
            roster_jsonw_int(&w, ROSTER_MSG_ERROR);
            roster_jsonw_str(&w, why);
            p->nfailed++;
        } else {
            roster_jsonw_int(&w, ROSTER_MSG_ENQUEUED);
            roster_jsonw_str(&w, p->msgs[p->nmsgs].id);
            p->nmsgs += d.webhook ? nhooks : 1;
            p->nok++;
        }
        if (p->nmsgs == cap) /* room for the next item's message */
            grow_msgs(p, &cap, p->nmsgs + 1, a);
        roster_jsonw_arr_end(&w);
    }
    roster_jsonw_arr_end(&w);
    p->results_json = roster_arena_strndup(a, results.data, results.len);
    roster_buf_release(&content);
    roster_buf_release(&results);
    roster_buf_release(&dt.head);
    return 0;
}

/* Phase 2 (jobkind.h: apply): writes the prepared messages and completes the chunk. */
static int msgjob_apply(struct roster_conn *conn, const struct roster_chunk *ch,
                        struct roster_arena *a, void *state, struct roster_err *err)
{
    (void)a;
    const struct roster_msg_prepared *p = state;
    if (!p)
        return roster_err_set(err, ROSTER_EINVAL, "chunk %lld of job \"%s\" was not prepared",
                              (long long)ch->chunk_no, ch->job_id);
    int rc = core_outbox_add(conn, p->msgs, p->nmsgs, err);
    if (rc)
        return rc;
    return roster_job_chunk_complete(conn, ch, p->results_json, p->nok, p->nfailed, err);
}

/* Listed by roster_msgjob_items, not as user results: no results function. */
const struct roster_job_kind_ops roster_job_kind_message = {
    ROSTER_JOB_MESSAGE,
    msgjob_prepare,
    msgjob_apply,
    NULL,
    NULL,
    true, /* the job's messages are listed from its items */
};
