/* Webhooks (include/roster/webhook.h, docs/webhooks.md): an organisation's endpoints, the
 * events written for them, and what the delivery engine needs of them.
 *
 * DESIGN
 * - An event is written inside the transaction of what causes it (roster_webhook_emit):
 *   one read of the organisation's endpoints (the store's index of them: an organisation
 *   without endpoints costs that read and nothing more), then one outbox message per
 *   enabled endpoint that takes the type, all with the same body, fixed now. A rolled back
 *   cause takes its events with it; a committed one has them: never lost nor invented.
 * - message.sent/failed are written where an outcome is recorded (roster_outbox_record),
 *   only for the messages whose outcome was recorded (their lease still held) and never
 *   for webhook messages (no event about an event).
 * - The webhook channel never reads the store: after a claim, core looks up each webhook
 *   message's endpoint (roster_webhook_attach, one read per endpoint and batch) and hands
 *   it over in the message; an endpoint that answered 410 is disabled through core in the
 *   transaction that records the outcome.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/worker.h"
#include "roster/core.h"
#include "roster/jsonw.h"
#include "roster/log.h"
#include "roster/store.h"
#include "roster/webhook.h"

const char *const roster_webhook_types[] = {
    "job.completed",
    "schedule.applied",
    "schedule.failed",
    "message.sent",
    "message.failed",
    "message.created",
    NULL,
};

bool roster_webhook_type_known(const char *type, size_t len)
{
    for (size_t i = 0; roster_webhook_types[i]; i++)
        if (strlen(roster_webhook_types[i]) == len &&
            memcmp(roster_webhook_types[i], type, len) == 0)
            return true;
    return false;
}

bool roster_webhook_takes(const struct roster_webhook *w, const char *type)
{
    if (w->disabled_ms)
        return false;
    if (!w->events)
        return true;
    size_t tl = strlen(type);
    for (const char *p = w->events; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == tl && memcmp(p, type, len) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

bool roster_webhook_secret_key(const char *secret, unsigned char *key, size_t cap, size_t *len)
{
    *len = 0;
    if (!secret || strncmp(secret, "whsec_", 6) != 0)
        return false;
    const char *s = secret + 6;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n == 0 || n % 4 == 1 || strlen(s) - n > 2)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out == cap)
                return false;
            key[out++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *len = out;
    return out >= 16;
}

/* A new secret: whsec_ + base64 of 24 random bytes, in a. */
static const char *new_secret(struct roster_arena *a)
{
    unsigned char key[24];
    char b64[48];
    roster_random(key, sizeof(key));
    EVP_EncodeBlock((unsigned char *)b64, key, (int)sizeof(key));
    return roster_arena_printf(a, "whsec_%s", b64);
}

/* --- the endpoints --- */

static bool url_ok(const char *url)
{
    if (!url)
        return false;
    size_t skip = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    if (skip == 0 || !url[skip] || url[skip] == '/' || strlen(url) > 2048)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

int roster_webhook_add(struct roster_ctx *ctx, struct roster_webhook *w, struct roster_err *err)
{
    if (!url_ok(w->url))
        return roster_err_set(err, ROSTER_EINVAL,
                              "url \"%.200s\" must be an http:// or https:// URL with a host",
                              w->url ? w->url : "");
    if (w->events) {
        /* "a,b,c": each a known type; an empty list is refused (it would take nothing) */
        const char *p = w->events;
        if (!*p)
            return roster_err_set(err, ROSTER_EINVAL,
                                  "events must name at least one event type (or be left out "
                                  "for all of them)");
        for (;;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!roster_webhook_type_known(p, len))
                return roster_err_set(err, ROSTER_EINVAL,
                                      "unknown event type \"%.*s\" (known: job.completed, "
                                      "schedule.applied, schedule.failed, message.sent, "
                                      "message.failed, message.created)",
                                      (int)(len > 100 ? 100 : len), p);
            if (!e)
                break;
            p = e + 1;
        }
    }
    if (w->secret) {
        unsigned char key[256];
        size_t len;
        if (!roster_webhook_secret_key(w->secret, key, sizeof(key), &len))
            return roster_err_set(err, ROSTER_EINVAL,
                                  "secret must be whsec_ followed by the base64 of 16 to 256 "
                                  "bytes");
    } else {
        w->secret = new_secret(ctx->arena);
    }
    roster_id_new(w->id);
    memcpy(w->org_id, ctx->org_id, ROSTER_ID_LEN);
    w->org_id[ROSTER_ID_LEN] = '\0';
    w->created_ms = roster_now_ms();
    w->disabled_ms = 0;
    w->disabled_reason = NULL;
    return roster_store_webhook_create(ctx->conn, w, err);
}

int roster_webhook_list(struct roster_ctx *ctx, struct roster_webhook **out, size_t *n,
                        struct roster_err *err)
{
    return roster_store_webhook_list(ctx->conn, ctx->org_id, ctx->arena, out, n, err);
}

int roster_webhook_get(struct roster_ctx *ctx, const char *id, struct roster_webhook *out,
                       struct roster_err *err)
{
    if (!roster_id_valid(id))
        return roster_err_set(err, ROSTER_ENOTFOUND, "webhook \"%.64s\" not found", id);
    return roster_store_webhook_get(ctx->conn, ctx->org_id, id, out, ctx->arena, err);
}

int roster_webhook_remove(struct roster_ctx *ctx, const char *id, struct roster_err *err)
{
    if (!roster_id_valid(id))
        return roster_err_set(err, ROSTER_ENOTFOUND, "webhook \"%.64s\" not found", id);
    return roster_store_webhook_end(ctx->conn, ctx->org_id, id, true,
                                    "the webhook endpoint was removed", roster_now_ms(), err);
}

/* --- events --- */

const char *roster_webhook_body(const char *type, int64_t at_ms, const char *data_json,
                                struct roster_arena *a)
{
    char ts[32];
    roster_time_format(at_ms, ts);
    return roster_arena_printf(a, "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":%s}", type, ts,
                               data_json);
}

/* The endpoints of all[0..nall) that take type, in a; *n of them. */
static struct roster_webhook *takers(const struct roster_webhook *all, size_t nall,
                                     const char *type, struct roster_arena *a, size_t *n)
{
    struct roster_webhook *t = roster_arena_alloc(a, (nall ? nall : 1) * sizeof(*t));
    *n = 0;
    for (size_t i = 0; i < nall; i++)
        if (roster_webhook_takes(&all[i], type))
            t[(*n)++] = all[i];
    return t;
}

int roster_webhook_targets(struct roster_conn *conn, const char *org_id, const char *type,
                           struct roster_arena *a, struct roster_webhook **out, size_t *n,
                           struct roster_err *err)
{
    struct roster_webhook *all;
    size_t nall, k = 0;
    *out = NULL;
    *n = 0;
    int rc = roster_store_webhook_list(conn, org_id, a, &all, &nall, err);
    if (rc || nall == 0)
        return rc;
    for (size_t i = 0; i < nall; i++)
        if (roster_webhook_takes(&all[i], type))
            all[k++] = all[i];
    *out = all;
    *n = k;
    return 0;
}

/* One message per target of the event with body, written on conn. */
static int write_event(struct roster_conn *conn, const struct roster_webhook *t, size_t n,
                       const char *source_id, const char *user_id, const char *body,
                       struct roster_arena *a, struct roster_err *err)
{
    struct roster_message *m = roster_arena_zalloc(a, n * sizeof(*m));
    int64_t now = roster_now_ms();
    for (size_t i = 0; i < n; i++) {
        roster_message_id_new(m[i].id);
        memcpy(m[i].org_id, t[i].org_id, sizeof(m[i].org_id));
        m[i].kind = ROSTER_WEBHOOK_KIND;
        m[i].channel = ROSTER_WEBHOOK_KIND;
        m[i].source_id = source_id;
        m[i].user_id = user_id;
        m[i].recipient = roster_arena_strdup(a, t[i].id);
        m[i].content_json = body;
        m[i].status = "ENQUEUED";
        m[i].created_ms = now;
    }
    return core_outbox_add(conn, m, n, err); /* wakes the workers once committed */
}

int roster_webhook_emit(struct roster_conn *conn, const char *org_id, const char *type,
                        const char *source_id, const char *user_id, const char *data_json,
                        struct roster_arena *a, size_t *written, struct roster_err *err)
{
    struct roster_webhook *t;
    size_t n;
    if (written)
        *written = 0;
    int rc = roster_webhook_targets(conn, org_id, type, a, &t, &n, err);
    if (rc || n == 0)
        return rc;
    const char *body = roster_webhook_body(type, roster_now_ms(), data_json, a);
    rc = write_event(conn, t, n, source_id, user_id, body, a, err);
    if (rc == 0 && written)
        *written = n;
    return rc;
}

/* --- what causes events --- */

static const char *job_kind_name(int kind)
{
    switch (kind) {
    case ROSTER_JOB_USERS_CREATE:
        return "users.create";
    case ROSTER_JOB_USERS_UPDATE:
        return "users.update";
    case ROSTER_JOB_MESSAGE:
        return "message";
    default:
        return "other";
    }
}

int roster_webhook_job_chunk_done(struct roster_conn *conn, const struct roster_chunk *ch,
                                  struct roster_err *err)
{
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_webhook *t;
    size_t n;
    struct roster_job job;
    int rc = roster_webhook_targets(conn, ch->org_id, "job.completed", &a, &t, &n, err);
    if (rc || n == 0)
        goto done;
    /* only the chunk whose completion finished the job (its own write is seen here, and a
     * concurrent chunk's transaction waits on the job's row) */
    rc = roster_store_job_get(conn, ch->org_id, ch->job_id, &job, &a, err);
    if (rc || job.done < job.total)
        goto done;
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "job_id", job.id);
    roster_jsonw_kstr(&w, "kind", job_kind_name(job.kind));
    roster_jsonw_kstr(&w, "status", "completed");
    roster_jsonw_kint(&w, "total", job.total);
    roster_jsonw_kint(&w, "processed", job.done);
    roster_jsonw_kint(&w, "succeeded", job.ok);
    roster_jsonw_kint(&w, "failed", job.failed);
    roster_jsonw_ktime(&w, "created", job.created_ms);
    roster_jsonw_obj_end(&w);
    const char *data = roster_arena_strndup(&a, b.data, b.len);
    roster_buf_release(&b);
    const char *body = roster_webhook_body("job.completed", roster_now_ms(), data, &a);
    rc = write_event(conn, t, n, job.id, NULL, body, &a, err);
done:
    roster_arena_release(&a);
    return rc;
}

int roster_webhook_schedule_done(struct roster_conn *conn, const struct roster_schedule *s,
                                 bool applied, const char *outcome,
                                 struct roster_webhook_seen *seen, struct roster_arena *a,
                                 struct roster_err *err)
{
    const char *type = applied ? "schedule.applied" : "schedule.failed";
    struct roster_webhook_seen own = {{0}, NULL, 0};
    if (!seen)
        seen = &own;
    if (strcmp(seen->org_id, s->org_id) != 0) {
        int rc = roster_store_webhook_list(conn, s->org_id, a, &seen->w, &seen->n, err);
        if (rc)
            return rc;
        snprintf(seen->org_id, sizeof(seen->org_id), "%s", s->org_id);
    }
    size_t n;
    struct roster_webhook *t = takers(seen->w, seen->n, type, a, &n);
    if (n == 0)
        return 0;
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "schedule_id", s->id);
    roster_jsonw_kstr(&w, "user_id", s->user_id);
    roster_jsonw_kstr(&w, "state", roster_state_name(s->state));
    roster_jsonw_ktime(&w, "due", s->due_ms);
    roster_jsonw_kstr(&w, "outcome", outcome);
    if (s->message_id[0])
        roster_jsonw_kstr(&w, "message_id", s->message_id);
    roster_jsonw_obj_end(&w);
    const char *data = roster_arena_strndup(a, b.data, b.len);
    roster_buf_release(&b);
    const char *body = roster_webhook_body(type, roster_now_ms(), data, a);
    return write_event(conn, t, n, s->id, s->user_id, body, a, err);
}

/* message.sent / message.failed for the final outcome o of m (not a webhook message), to
 * those of the organisation's endpoints all[0..nall) that take it. */
static int message_event(struct roster_conn *conn, const struct roster_message *m,
                         const struct roster_message_outcome *o, const struct roster_webhook *all,
                         size_t nall, struct roster_arena *a, struct roster_err *err)
{
    bool sent = strcmp(o->status, "SENT") == 0;
    const char *type = sent ? "message.sent" : "message.failed";
    size_t n;
    struct roster_webhook *t = takers(all, nall, type, a, &n);
    if (n == 0)
        return 0;
    struct roster_buf b;
    struct roster_jsonw w;
    roster_buf_init(&b);
    roster_jsonw_init(&w, &b);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "message_id", m->id);
    roster_jsonw_kstr(&w, "kind", m->kind);
    roster_jsonw_kstr(&w, "channel", m->channel ? m->channel : "email");
    roster_jsonw_kstr(&w, "recipient", m->recipient);
    if (m->user_id)
        roster_jsonw_kstr(&w, "user_id", m->user_id);
    if (m->source_id)
        roster_jsonw_kstr(&w, "source_id", m->source_id);
    roster_jsonw_kstr(&w, "status", o->status);
    roster_jsonw_kint(&w, "attempts", m->attempts + (o->attempted ? 1 : 0));
    if (sent)
        roster_jsonw_ktime(&w, "sent", o->at_ms);
    else
        roster_jsonw_kstr(&w, "reason", o->reason);
    roster_jsonw_obj_end(&w);
    const char *data = roster_arena_strndup(a, b.data, b.len);
    roster_buf_release(&b);
    const char *body = roster_webhook_body(type, roster_now_ms(), data, a);
    return write_event(conn, t, n, m->id, m->user_id, body, a, err);
}

static bool is_webhook(const struct roster_message *m)
{
    return m->kind && strcmp(m->kind, ROSTER_WEBHOOK_KIND) == 0;
}

static bool is_final(const struct roster_message_outcome *o)
{
    return o->status && strcmp(o->status, "ENQUEUED") != 0;
}

/* The events and endpoint ends of the recorded outcomes (ok[i]: o[i] was recorded). The
 * endpoints of each organisation are read once per batch. */
static int after_record(struct roster_conn *conn, const struct roster_message *m,
                        const struct roster_message_outcome *o, const bool *gone, const bool *ok,
                        size_t n, struct roster_arena *a, struct roster_err *err)
{
    struct org_hooks {
        const char *org_id;
        struct roster_webhook *w;
        size_t n;
    } *orgs = roster_arena_zalloc(a, n * sizeof(*orgs));
    size_t norgs = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!ok[i] || !is_final(&o[i]))
            continue;
        if (!is_webhook(&m[i])) {
            size_t k = 0;
            while (k < norgs && strcmp(orgs[k].org_id, m[i].org_id) != 0)
                k++;
            if (k == norgs) {
                orgs[k].org_id = m[i].org_id;
                rc = roster_store_webhook_list(conn, m[i].org_id, a, &orgs[k].w, &orgs[k].n, err);
                norgs++;
            }
            if (rc == 0 && orgs[k].n > 0)
                rc = message_event(conn, &m[i], &o[i], orgs[k].w, orgs[k].n, a, err);
        } else if (gone && gone[i] && m[i].recipient) {
            rc = roster_store_webhook_end(
                conn, m[i].org_id, m[i].recipient, false,
                roster_arena_printf(a, "the endpoint answered 410 Gone and was disabled: %s",
                                    o[i].reason ? o[i].reason : ""),
                roster_now_ms(), err);
            if (rc == ROSTER_ENOTFOUND) { /* removed meanwhile */
                roster_err_clear(err);
                rc = 0;
            }
            if (rc == 0)
                roster_log(ROSTER_LOG_WARN, "webhook endpoint disabled (410 Gone)",
                           "org=%s webhook=%s", m[i].org_id, m[i].recipient);
        }
    }
    return rc;
}

int roster_outbox_record(struct roster_conn *conn, const struct roster_message *m,
                         const struct roster_message_outcome *o, const bool *gone, size_t n,
                         size_t *recorded, struct roster_arena *a, struct roster_err *err)
{
    *recorded = 0;
    if (n == 0)
        return 0;
    bool *ok = roster_arena_zalloc(a, n * sizeof(*ok));
    size_t done = 0;
    int rc = roster_store_begin(conn, err);
    if (rc)
        return rc;
    rc = roster_store_message_record(conn, o, n, &done, err);
    if (rc == 0 && done < n) {
        /* some claim was lost: find out which outcomes hold, one by one, so that no event
         * is written for an outcome that was not recorded */
        roster_store_rollback(conn);
        rc = roster_store_begin(conn, err);
        if (rc)
            return rc;
        done = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            size_t one = 0;
            rc = roster_store_message_record(conn, &o[i], 1, &one, err);
            ok[i] = one == 1;
            done += one;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            ok[i] = true;
    }
    if (rc == 0)
        rc = after_record(conn, m, o, gone, ok, n, a, err);
    if (rc) {
        roster_store_rollback(conn);
        return rc;
    }
    rc = roster_store_commit(conn, err);
    if (rc == 0)
        *recorded = done;
    return rc;
}

int roster_webhook_attach(struct roster_conn *conn, struct roster_message *m, size_t n,
                          struct roster_arena *a, struct roster_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_webhook(&m[i]) || !m[i].recipient)
            continue;
        /* the batch's earlier message of the same endpoint, if any */
        for (size_t j = 0; j < i && !m[i].webhook; j++)
            if (m[j].webhook && is_webhook(&m[j]) && strcmp(m[j].recipient, m[i].recipient) == 0)
                m[i].webhook = m[j].webhook;
        if (m[i].webhook || !roster_id_valid(m[i].recipient))
            continue;
        struct roster_webhook *w = roster_arena_zalloc(a, sizeof(*w));
        int rc = roster_store_webhook_get(conn, m[i].org_id, m[i].recipient, w, a, err);
        if (rc == 0)
            m[i].webhook = w;
        else if (rc == ROSTER_ENOTFOUND)
            roster_err_clear(err); /* removed: the channel says so */
        else
            return rc;
    }
    return 0;
}
