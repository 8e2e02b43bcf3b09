/* `roster import --url`: the import through a server's JumpCloud API (import_remote.h).
 *
 * DESIGN
 * - Reads: the organisation's users once, GET /api/systemusers in pages of 100 in _id order
 *   (a keyset filter _id:gt:LAST, never a growing skip), only the profile fields and the
 *   state. They are indexed by username and e-mail (ASCII case folded, as the server's
 *   unique indexes) and by employee id (exact), the keys of src/core/import.c.
 * - Plan: each row is classified against that index exactly as the local import does
 *   (roster_user_prepare_create / _update, the same validator, and the JumpCloud rule that
 *   an e-mail is required): created, updated (with the fields that differ), unchanged,
 *   skipped or rejected. Fail, sync and dry runs plan the whole file first (a second pass
 *   reads it again; standard input is kept in a temporary file by the command) and write
 *   nothing when a row is bad (fail), the sync is too big (--max-changes) or it is a dry run.
 * - Writes: per batch of REMOTE_BATCH rows one POST (creates) and one PATCH (changed
 *   fields of matched users) /api/v2/bulk/users job, each with an Idempotency-Key, then
 *   their results; sync's missing users: PATCH jobs of {"id","state":"SUSPENDED"}, or
 *   DELETE /api/systemusers/{id} one by one.
 * - Resuming: before a batch's jobs are sent their bodies and keys go to a pending file;
 *   after their results the state file (rows done, counts) is replaced and the pending file
 *   removed. A rerun first sends the pending jobs again with the same keys (the server
 *   answers with the first job, or makes it if the first request never arrived), waits for
 *   them, reads the users afresh and goes on after the rows done. Rows of the interrupted
 *   batch then plan as unchanged (overwrite, sync) or skipped (skip): nothing is written
 *   twice, and the counts add up to the rows of the file.
 * One thread; nothing here is shared.
 */
#include "cli/import_remote.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/arena.h"
#include "roster/core.h"
#include "roster/jsonw.h"
#include "roster/util.h"

enum { EXIT_USAGE = 2, EXIT_TOO_MANY = 3, EXIT_SERVER = 4 };

#define FETCH_PAGE 100
#define RESULTS_PAGE 100

/* --- HTTP --- */

struct http {
    CURL *curl;
    char *url;
    const struct roster_remote_opts *o;
    struct roster_buf body;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    roster_buf_add(arg, p, size * n);
    return size * n;
}

/* One request (body NULL: none; idem: an Idempotency-Key or NULL). 0 with *status and the
 * answer in h->body (NUL-terminated), or -1 with msg (the connection failed). */
static int http_do(struct http *h, const char *method, const char *path, const char *body,
                   size_t len, const char *idem, long *status, char *msg, size_t cap)
{
    char url[4096], hd[1024];
    snprintf(url, sizeof(url), "%s%s", h->url, path);
    struct curl_slist *headers = NULL;
    snprintf(hd, sizeof(hd), "x-api-key: %s", h->o->key ? h->o->key : "");
    headers = curl_slist_append(headers, hd);
    if (h->o->org) {
        snprintf(hd, sizeof(hd), "x-org-id: %s", h->o->org);
        headers = curl_slist_append(headers, hd);
    }
    if (idem) {
        snprintf(hd, sizeof(hd), "idempotency-key: %s", idem);
        headers = curl_slist_append(headers, hd);
    }
    headers = curl_slist_append(headers, "content-type: application/json");
    headers = curl_slist_append(headers, "accept: application/json");
    roster_buf_reset(&h->body);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cc = curl_easy_perform(h->curl);
    curl_slist_free_all(headers);
    if (cc != CURLE_OK) {
        snprintf(msg, cap, "%.300s: %s", url, curl_easy_strerror(cc));
        return -1;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    roster_buf_addstr(&h->body, ""); /* NUL-terminated, also when empty */
    return 0;
}

static const char *body_text(const struct http *h)
{
    return h->body.data ? h->body.data : "";
}

/* The server's message of an error answer (JumpCloud: {"message": ...}). */
static void error_of(struct http *h, long status, char *msg, size_t cap)
{
    json_t *j = json_loads(body_text(h), 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    snprintf(msg, cap, "HTTP %ld: %.300s", status, m ? m : body_text(h));
    json_decref(j);
}

/* Submits a bulk job (method POST or PATCH): 0 and its id, or -1 with msg. */
static int job_submit(struct http *h, const char *method, const char *body, size_t len,
                      const char *idem, char job_id[ROSTER_ID_LEN + 1], char *msg, size_t cap)
{
    long status = 0;
    if (http_do(h, method, "/api/v2/bulk/users", body, len, idem, &status, msg, cap) != 0)
        return -1;
    if (status != 201) {
        error_of(h, status, msg, cap);
        return -1;
    }
    json_t *j = json_loads(body_text(h), 0, NULL);
    const char *id = json_string_value(json_object_get(j, "jobId"));
    int rc = id && roster_id_valid(id) ? 0 : -1;
    if (rc == 0)
        snprintf(job_id, ROSTER_ID_LEN + 1, "%s", id);
    else
        snprintf(msg, cap, "the answer to the bulk request has no valid jobId: %.200s",
                 body_text(h));
    json_decref(j);
    return rc;
}

/* Results [skip, skip + limit) of a job: 0 and the array in *out, or -1 with msg. */
static int job_page(struct http *h, const char *job_id, size_t skip, size_t limit, json_t **out,
                    char *msg, size_t cap)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v2/bulk/users/%s/results?limit=%zu&skip=%zu", job_id, limit,
             skip);
    long status = 0;
    *out = NULL;
    if (http_do(h, "GET", path, NULL, 0, NULL, &status, msg, cap) != 0)
        return -1;
    if (status != 200) {
        error_of(h, status, msg, cap);
        return -1;
    }
    *out = json_loads(body_text(h), 0, NULL);
    if (!json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(msg, cap, "the results of job %s are not a JSON array", job_id);
        return -1;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits for job_id (of m items) to finish and returns its m results in *out (an array of
 * objects), or -1 with msg. A job applies its items in order: its last result comes last. */
static int job_results(struct http *h, const char *job_id, size_t m, json_t **out, char *msg,
                       size_t cap)
{
    *out = NULL;
    for (long wait = 10;;) {
        json_t *res;
        if (job_page(h, job_id, m - 1, 1, &res, msg, cap) != 0)
            return -1;
        json_t *last = json_array_get(res, 0);
        const char *st = json_string_value(json_object_get(last, "status"));
        bool pending = !last || (st && strcmp(st, "pending") == 0);
        json_decref(res);
        if (!pending && !st) {
            snprintf(msg, cap, "job %s: a result without a status", job_id);
            return -1;
        }
        if (!pending)
            break;
        sleep_ms(wait);
        wait = wait < 200 ? wait * 2 : 200;
    }
    json_t *all = json_array();
    for (size_t k = 0; k < m; k += RESULTS_PAGE) {
        json_t *res;
        if (job_page(h, job_id, k, RESULTS_PAGE, &res, msg, cap) != 0) {
            json_decref(all);
            return -1;
        }
        json_array_extend(all, res);
        json_decref(res);
    }
    if (json_array_size(all) != m) {
        snprintf(msg, cap, "job %s answered %zu results for %zu users", job_id,
                 json_array_size(all), m);
        json_decref(all);
        return -1;
    }
    *out = all;
    return 0;
}

/* --- the organisation's users, and keys --- */

/* key -> value (index + 1 of a user, or a line) by open addressing; keys in an arena */
struct kmap {
    const char **keys;
    uint32_t *vals;
    size_t n, cap; /* cap: a power of two */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t kmap_slot(const struct kmap *m, const char *key)
{
    size_t k = (size_t)hash_str(key) & (m->cap - 1);
    while (m->keys[k] && strcmp(m->keys[k], key) != 0)
        k = (k + 1) & (m->cap - 1);
    return k;
}

static uint32_t kmap_get(const struct kmap *m, const char *key)
{
    if (!m->cap)
        return 0;
    size_t k = kmap_slot(m, key);
    return m->keys[k] ? m->vals[k] : 0;
}

/* Adds key -> val unless key is there; -1 when out of memory. */
static int kmap_put(struct kmap *m, struct roster_arena *a, const char *key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        const char **keys = calloc(cap, sizeof(*keys));
        uint32_t *vals = calloc(cap, sizeof(*vals));
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -1;
        }
        struct kmap g = {keys, vals, 0, cap};
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t k = kmap_slot(&g, m->keys[i]);
                g.keys[k] = m->keys[i];
                g.vals[k] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        g.n = m->n;
        *m = g;
    }
    size_t k = kmap_slot(m, key);
    if (m->keys[k])
        return 0;
    m->keys[k] = roster_arena_strdup(a, key);
    m->vals[k] = val;
    m->n++;
    return 0;
}

static void kmap_free(struct kmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* The unique fields and their key prefixes; username and e-mail fold ASCII case. */
static const struct {
    int field;
    char prefix;
    bool fold;
} ukeys[] = {{RU_USERNAME, 'u', true}, {RU_EMAIL, 'e', true}, {RU_EMPLOYEE_ID, 'i', false}};

/* The key of value v of ukeys[k] into buf ("u:jdoe"), NULL when v is empty. */
static const char *key_of(int k, const char *v, char *buf, size_t cap)
{
    if (!v || !*v)
        return NULL;
    size_t n = 0;
    buf[n++] = ukeys[k].prefix;
    buf[n++] = ':';
    for (; *v && n + 1 < cap; v++)
        buf[n++] = ukeys[k].fold && *v >= 'A' && *v <= 'Z' ? (char)(*v - 'A' + 'a') : *v;
    buf[n] = '\0';
    return buf;
}

struct roster_remote_import {
    struct roster_remote_opts o;
    struct http h;
    int match_k; /* index in ukeys of --match */
    /* the organisation's users */
    struct roster_user *users;
    uint32_t *line; /* per user: the line of the row that matched it, 0 none */
    size_t nusers, cap;
    struct kmap by_key; /* every user by each of its unique keys */
    struct kmap in_file;
    struct roster_arena dir_arena, file_arena, tmp;
    struct roster_ctx ctx;
    /* resuming */
    char *state_path, *pending_path, *identity;
    char run_id[20];
    int64_t resumed, counts[RIA_N];
    char msg[1024];
};

static bool is_empty_value(const char *s)
{
    return !s || !*s || strcmp(s, "[]") == 0 || strcmp(s, "{}") == 0;
}

/* Reads every user of the organisation into im->users and im->by_key: 0, or EXIT_SERVER. */
static int fetch_users(struct roster_remote_import *im)
{
    struct roster_buf fields;
    roster_buf_init(&fields);
    for (int f = 0; f < RU_NFIELDS; f++)
        if (f != RU_EXTRA && !roster_ufields[f].scim_only)
            roster_buf_printf(&fields, "%s,", roster_ufields[f].label);
    roster_buf_addstr(&fields, "state");
    char last[ROSTER_ID_LEN + 1] = "";
    int code = 0;
    for (;;) {
        char path[2048];
        snprintf(path, sizeof(path), "/api/systemusers?limit=%d&sort=_id&fields=%s%s%s", FETCH_PAGE,
                 fields.data, last[0] ? "&filter=_id:gt:" : "", last);
        long status = 0;
        if (http_do(&im->h, "GET", path, NULL, 0, NULL, &status, im->msg, sizeof(im->msg)) != 0) {
            code = EXIT_SERVER;
            break;
        }
        if (status != 200) {
            error_of(&im->h, status, im->msg, sizeof(im->msg));
            code = EXIT_SERVER;
            break;
        }
        json_t *j = json_loads(body_text(&im->h), 0, NULL);
        json_t *res = json_object_get(j, "results");
        if (!json_is_array(res)) {
            snprintf(im->msg, sizeof(im->msg),
                     "GET /api/systemusers: the answer has no results "
                     "array");
            json_decref(j);
            code = EXIT_SERVER;
            break;
        }
        size_t n = json_array_size(res);
        for (size_t i = 0; i < n && !code; i++) {
            json_t *e = json_array_get(res, i);
            const char *id = json_string_value(json_object_get(e, "_id"));
            const char *state = json_string_value(json_object_get(e, "state"));
            struct roster_user u;
            memset(&u, 0, sizeof(u));
            if (!id || !roster_id_valid(id) || !state || roster_state_parse(state, &u.state)) {
                snprintf(im->msg, sizeof(im->msg),
                         "GET /api/systemusers: a user without a valid _id or state");
                code = EXIT_SERVER;
                break;
            }
            if (strcmp(id, last) <= 0) {
                snprintf(im->msg, sizeof(im->msg),
                         "GET /api/systemusers: the users are not in _id order");
                code = EXIT_SERVER;
                break;
            }
            snprintf(u.id, sizeof(u.id), "%s", id);
            snprintf(last, sizeof(last), "%s", id);
            for (int f = 0; f < RU_NFIELDS; f++) {
                if (f == RU_EXTRA || roster_ufields[f].scim_only)
                    continue;
                json_t *v = json_object_get(e, roster_ufields[f].label);
                const char *s = NULL;
                char *dump = NULL;
                if (json_is_string(v))
                    s = json_string_value(v);
                else if (json_is_array(v) || json_is_object(v))
                    s = dump = json_dumps(v, JSON_COMPACT);
                if (!is_empty_value(s))
                    u.f[f] = roster_arena_strdup(&im->dir_arena, s);
                free(dump);
            }
            if (im->nusers == im->cap) {
                size_t cap = im->cap ? im->cap * 2 : 1024;
                struct roster_user *us = realloc(im->users, cap * sizeof(*us));
                uint32_t *ln = us ? realloc(im->line, cap * sizeof(*ln)) : NULL;
                if (us)
                    im->users = us;
                if (!us || !ln) {
                    snprintf(im->msg, sizeof(im->msg), "out of memory");
                    code = EXIT_SERVER;
                    break;
                }
                im->line = ln;
                im->cap = cap;
            }
            im->users[im->nusers] = u;
            im->line[im->nusers] = 0;
            im->nusers++;
            for (size_t k = 0; k < sizeof(ukeys) / sizeof(ukeys[0]); k++) {
                char kb[1100];
                const char *key = key_of((int)k, u.f[ukeys[k].field], kb, sizeof(kb));
                if (key && kmap_put(&im->by_key, &im->dir_arena, key, (uint32_t)im->nusers) != 0) {
                    snprintf(im->msg, sizeof(im->msg), "out of memory");
                    code = EXIT_SERVER;
                    break;
                }
            }
        }
        json_decref(j);
        if (code || n < FETCH_PAGE)
            break;
    }
    roster_buf_release(&fields);
    if (code)
        fprintf(stderr, "roster import: cannot read the organisation's users: %s\n", im->msg);
    return code;
}

/* --- planning a row --- */

/* Which fields of a row are sent (and compared): the profile fields JumpCloud reads */
static bool sent_field(int f)
{
    return f != RU_EXTRA && !roster_ufields[f].scim_only;
}

static bool value_same(int f, const char *a, const char *b)
{
    if (is_empty_value(a) || is_empty_value(b))
        return is_empty_value(a) && is_empty_value(b);
    if (roster_ufields[f].kind == RU_KIND_STR)
        return strcmp(a, b) == 0;
    json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
    bool same = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

/* The fields (bits as roster_user.set) of the row that differ from cur */
static uint64_t changed_fields(const struct roster_user *cur, const struct roster_user *row)
{
    uint64_t mask = 0;
    for (int f = 0; f < RU_NFIELDS; f++)
        if (sent_field(f) && ROSTER_USER_FIELD_SET(row, f) && !value_same(f, cur->f[f], row->f[f]))
            mask |= 1ull << f;
    if ((row->set & ROSTER_USET_STATE) && row->state != cur->state)
        mask |= ROSTER_USET_STATE;
    return mask;
}

struct plan {
    uint32_t target; /* index + 1 of the matched user, 0 none */
    uint64_t changed;
};

static void reject(struct roster_import_row *row, int rc, const char *field)
{
    row->rc = rc ? rc : ROSTER_EINVAL;
    if (field)
        row->err.field = field;
    row->action = RIA_REJECTED;
}

/* A new user: the validator on a copy of the row (the row keeps only what it gives). */
static bool valid_create(struct roster_remote_import *im, struct roster_import_row *row)
{
    struct roster_user c = row->u;
    int rc = roster_user_prepare_create(&im->ctx, &c, ROSTER_ACTIVATED, &row->err);
    if (rc == 0)
        rc = jc_user_require_email(&row->u, false, &row->err);
    if (rc)
        reject(row, rc, NULL);
    return rc == 0;
}

/* Fail mode, and skip mode's dry run: a row whose unique key is taken by a user or by an
 * earlier row of the file. */
static void plan_create_only(struct roster_remote_import *im, struct roster_import_row *row)
{
    if (!valid_create(im, row))
        return;
    char kb[1100];
    for (size_t k = 0; k < sizeof(ukeys) / sizeof(ukeys[0]); k++) {
        int f = ukeys[k].field;
        const char *key = key_of((int)k, row->u.f[f], kb, sizeof(kb));
        if (!key)
            continue;
        uint32_t ln = kmap_get(&im->in_file, key);
        if (kmap_get(&im->by_key, key))
            roster_err_set(&row->err, ROSTER_ECONFLICT, "%s \"%.200s\" already exists",
                           roster_ufields[f].label, row->u.f[f]);
        else if (ln)
            roster_err_set(&row->err, ROSTER_ECONFLICT,
                           "%s \"%.200s\" is also on line %u of the file", roster_ufields[f].label,
                           row->u.f[f], ln);
        else
            continue;
        row->err.field = roster_ufields[f].label;
        row->rc = ROSTER_ECONFLICT;
        row->action = im->o.mode == ROSTER_IMPORT_FAIL ? RIA_REJECTED : RIA_SKIPPED;
        return;
    }
    for (size_t k = 0; k < sizeof(ukeys) / sizeof(ukeys[0]); k++) {
        const char *key = key_of((int)k, row->u.f[ukeys[k].field], kb, sizeof(kb));
        if (key)
            kmap_put(&im->in_file, &im->file_arena, key, (uint32_t)row->line);
    }
}

/* Overwrite and sync: matched by --match, updated where it differs, or created. */
static void plan_match(struct roster_remote_import *im, struct roster_import_row *row,
                       struct plan *p)
{
    int f = ukeys[im->match_k].field;
    const char *label = roster_ufields[f].label;
    char kb[1100];
    const char *key = key_of(im->match_k, row->u.f[f], kb, sizeof(kb));
    if (!key) {
        roster_err_set(&row->err, ROSTER_EINVAL,
                       "%s is missing: it matches the row to a user (--match)", label);
        reject(row, ROSTER_EINVAL, label);
        return;
    }
    uint32_t ln = kmap_get(&im->in_file, key);
    if (ln) {
        roster_err_set(&row->err, ROSTER_ECONFLICT, "%s \"%.200s\" is also on line %u of the file",
                       label, row->u.f[f], ln);
        reject(row, ROSTER_ECONFLICT, label);
        return;
    }
    kmap_put(&im->in_file, &im->file_arena, key, (uint32_t)(row->line > 0 ? row->line : 1));
    uint32_t t = kmap_get(&im->by_key, key);
    if (!t) {
        if (valid_create(im, row))
            row->action = RIA_CREATED;
        return;
    }
    const struct roster_user *cur = &im->users[t - 1];
    im->line[t - 1] = (uint32_t)(row->line > 0 ? row->line : 1);
    struct roster_user merged = *cur;
    int rc = roster_user_prepare_update(&im->ctx, &merged, &row->u, cur->state == ROSTER_STAGED,
                                        &row->err);
    if (rc == 0)
        rc = jc_user_require_email(&row->u, true, &row->err);
    roster_arena_clear(&im->tmp);
    if (rc) {
        reject(row, rc, NULL);
        return;
    }
    p->target = t;
    p->changed = changed_fields(cur, &row->u);
    row->action = p->changed ? RIA_UPDATED : RIA_UNCHANGED;
}

/* Classifies a row: its action (created, updated: to be sent), or rejected with err. */
static void plan_row(struct roster_remote_import *im, struct roster_import_row *row, struct plan *p)
{
    p->target = 0;
    p->changed = 0;
    row->action = RIA_CREATED;
    if (row->rc) {
        reject(row, row->rc, NULL);
        return;
    }
    /* not sent: JumpCloud's settings (extra) and the SCIM-only fields */
    for (int f = 0; f < RU_NFIELDS; f++)
        if (!sent_field(f)) {
            row->u.f[f] = NULL;
            row->u.set &= ~(1ull << f);
        }
    switch (im->o.mode) {
    case ROSTER_IMPORT_OVERWRITE:
    case ROSTER_IMPORT_SYNC:
        plan_match(im, row, p);
        break;
    case ROSTER_IMPORT_FAIL:
        plan_create_only(im, row);
        break;
    default: /* skip: the server decides, except in a dry run */
        if (im->o.dry_run)
            plan_create_only(im, row);
        break;
    }
}

/* The users of a sync that no row matched and that --missing changes (index + 1 each) */
static size_t missing_users(struct roster_remote_import *im, uint32_t **out)
{
    *out = NULL;
    if (im->o.mode != ROSTER_IMPORT_SYNC || im->o.missing == ROSTER_MISSING_KEEP)
        return 0;
    uint32_t *ids = malloc((im->nusers + 1) * sizeof(*ids));
    size_t n = 0;
    int f = ukeys[im->match_k].field;
    for (size_t i = 0; ids && i < im->nusers; i++) {
        const struct roster_user *u = &im->users[i];
        if (im->line[i] || !u->f[f] || !*u->f[f])
            continue; /* in the file, or no key: never matched, left alone */
        if (im->o.missing == ROSTER_MISSING_SUSPEND && u->state == ROSTER_SUSPENDED)
            continue;
        /* a user that shares the key with an earlier one is not the one matched */
        char kb[1100];
        if (kmap_get(&im->by_key, key_of(im->match_k, u->f[f], kb, sizeof(kb))) != i + 1)
            continue;
        ids[n++] = (uint32_t)(i + 1);
    }
    *out = ids;
    return n;
}

/* --- the state file --- */

static char *state_dir(void)
{
    const char *x = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char d[4096];
    if (x && *x)
        snprintf(d, sizeof(d), "%s/roster", x);
    else if (home && *home)
        snprintf(d, sizeof(d), "%s/.local/state/roster", home);
    else
        return NULL;
    /* mkdir -p */
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(d, 0700);
            *p = '/';
        }
    if (mkdir(d, 0700) != 0 && errno != EEXIST)
        return NULL;
    return strdup(d);
}

/* Writes text to path through a temporary file and a rename: a reader finds the old file
 * or the new one, whole. */
static int write_file(const char *path, const char *text, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok; /* on disk before the rename: a power cut keeps it */
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    /* and the rename itself: the directory's entry */
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    return 0;
}

static void state_save(struct roster_remote_import *im, int64_t rows)
{
    if (!im->state_path)
        return;
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_printf(&b, "roster-import-remote 1\nidentity %s\nrows %lld\ncounts", im->identity,
                      (long long)rows);
    for (int i = 0; i < RIA_N; i++)
        roster_buf_printf(&b, " %lld", (long long)im->counts[i]);
    roster_buf_addstr(&b, "\n");
    if (write_file(im->state_path, b.data, b.len) != 0 && !im->o.quiet)
        fprintf(stderr, "roster import: cannot write %s: %s (this import will not resume)\n",
                im->state_path, strerror(errno));
    roster_buf_release(&b);
}

static void state_load(struct roster_remote_import *im)
{
    FILE *f = fopen(im->state_path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool mine = false;
    int64_t rows = -1, counts[RIA_N] = {0};
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (strncmp(line, "identity ", 9) == 0)
            mine = strcmp(line + 9, im->identity) == 0;
        else if (strncmp(line, "rows ", 5) == 0)
            rows = strtoll(line + 5, NULL, 10);
        else if (strncmp(line, "counts", 6) == 0) {
            char *p = line + 6;
            for (int i = 0; i < RIA_N; i++)
                counts[i] = strtoll(p, &p, 10);
        }
    }
    free(line);
    fclose(f);
    if (!mine || rows < 0)
        return;
    im->resumed = rows;
    memcpy(im->counts, counts, sizeof(counts));
}

/* One bulk job of a batch: its method, kind ('c' creates, 'u' updates, 's' a sync's
 * suspensions), body, and the line of the file of each item (0 for suspensions) */
struct pjob {
    const char *method;
    char kind;
    char key[128];
    const struct roster_buf *body;
    long *lines;
    size_t m;
};

/* The batch being sent, before it is: what the state will be after it (rows_end, the
 * counts without the jobs' items) and its jobs with their keys:
 * "job <method> <key> <kind> <items> <length>\n<lines>\n<body>\n" each. */
static void pending_save(struct roster_remote_import *im, int64_t rows_end,
                         const int64_t base[RIA_N], const struct pjob *jobs, size_t n)
{
    if (!im->pending_path)
        return;
    struct roster_buf b;
    roster_buf_init(&b);
    roster_buf_printf(&b, "roster-import-pending 2\nrows %lld\ncounts", (long long)rows_end);
    for (int i = 0; i < RIA_N; i++)
        roster_buf_printf(&b, " %lld", (long long)base[i]);
    roster_buf_addstr(&b, "\n");
    for (size_t i = 0; i < n; i++) {
        roster_buf_printf(&b, "job %s %s %c %zu %zu\n", jobs[i].method, jobs[i].key, jobs[i].kind,
                          jobs[i].m, jobs[i].body->len);
        for (size_t k = 0; k < jobs[i].m; k++)
            roster_buf_printf(&b, "%s%ld", k ? " " : "", jobs[i].lines[k]);
        roster_buf_addstr(&b, "\n");
        roster_buf_add(&b, jobs[i].body->data, jobs[i].body->len);
        roster_buf_addstr(&b, "\n");
    }
    if (write_file(im->pending_path, b.data, b.len) != 0 && !im->o.quiet)
        fprintf(stderr, "roster import: cannot write %s: %s\n", im->pending_path, strerror(errno));
    roster_buf_release(&b);
}

static void pending_clear(struct roster_remote_import *im)
{
    if (im->pending_path)
        unlink(im->pending_path);
}

static void apply_results(struct roster_remote_import *im, json_t *res,
                          struct roster_import_row *rows, const size_t *of, size_t m, bool create);

/* The rows of one job's results: counted into add, failures reported (lines: of each item) */
static void tally_job(struct roster_remote_import *im, const struct roster_remote_src *src,
                      char kind, json_t *res, const long *lines, size_t m, int64_t add[RIA_N])
{
    for (size_t k = 0; k < m; k++) {
        if (kind == 's') {
            const char *st = json_string_value(json_object_get(json_array_get(res, k), "status"));
            add[RIA_SUSPENDED] += st && strcmp(st, "succeeded") == 0;
            continue;
        }
        struct roster_import_row row;
        memset(&row, 0, sizeof(row));
        row.line = lines[k];
        size_t zero = 0;
        json_t *one = json_array();
        json_array_append(one, json_array_get(res, k));
        apply_results(im, one, &row, &zero, 1, kind == 'c');
        json_decref(one);
        add[row.action]++;
        if (row.action == RIA_REJECTED || row.action == RIA_SKIPPED)
            src->report(src->ctx, &row);
    }
}

/* The batch an interrupted run was sending: its jobs sent again with their keys (the
 * server answers with the first job, or makes it now if the first request never came),
 * their results counted and reported, and the state moved past the batch. 0, or
 * EXIT_SERVER (the pending file stays for the next run). */
static int pending_finish(struct roster_remote_import *im, const struct roster_remote_src *src)
{
    FILE *f = im->pending_path ? fopen(im->pending_path, "rb") : NULL;
    if (!f)
        return 0;
    char head[512];
    int code = 0;
    long long rows_end = -1;
    int64_t base[RIA_N] = {0}, add[RIA_N] = {0};
    bool ok = fgets(head, sizeof(head), f) && strcmp(head, "roster-import-pending 2\n") == 0 &&
              fgets(head, sizeof(head), f) && sscanf(head, "rows %lld", &rows_end) == 1 &&
              rows_end >= 0 && fgets(head, sizeof(head), f) && strncmp(head, "counts", 6) == 0;
    if (ok) {
        char *p = head + 6;
        for (int i = 0; i < RIA_N; i++)
            base[i] = strtoll(p, &p, 10);
    }
    if (ok && !im->o.quiet)
        fprintf(stderr, "roster import: finishing the bulk jobs of the interrupted run\n");
    char method[16], key[128], kind;
    size_t m, len;
    while (ok && code == 0 && fgets(head, sizeof(head), f) &&
           sscanf(head, "job %15s %127s %c %zu %zu", method, key, &kind, &m, &len) == 5) {
        bool sane = m <= REMOTE_BATCH && len < ((size_t)1 << 30);
        long *lines = sane ? calloc(m + 1, sizeof(*lines)) : NULL;
        char *body = sane ? malloc(len + 1) : NULL;
        bool whole = lines && body;
        for (size_t k = 0; whole && k < m; k++)
            whole = fscanf(f, "%ld", &lines[k]) == 1;
        whole = whole && fgetc(f) == '\n' && fread(body, 1, len, f) == len && fgetc(f) == '\n';
        json_t *res = NULL;
        if (whole && m > 0) {
            char job[ROSTER_ID_LEN + 1];
            body[len] = '\0';
            if (job_submit(&im->h, method, body, len, key, job, im->msg, sizeof(im->msg)) != 0 ||
                job_results(&im->h, job, m, &res, im->msg, sizeof(im->msg)) != 0) {
                fprintf(stderr, "roster import: the interrupted run's bulk job: %s\n", im->msg);
                code = EXIT_SERVER;
            } else {
                tally_job(im, src, kind, res, lines, m, add);
            }
        }
        json_decref(res);
        free(body);
        free(lines);
        if (!whole) { /* cut short by the crash: written before any job was sent */
            ok = false;
            memset(add, 0, sizeof(add));
        }
    }
    fclose(f);
    if (code)
        return code;
    if (ok) {
        for (int i = 0; i < RIA_N; i++)
            im->counts[i] = base[i] + add[i];
        im->resumed = rows_end;
        state_save(im, rows_end);
    }
    pending_clear(im);
    return 0;
}

/* --- applying a batch --- */

static void encode_create(struct roster_jsonw *w, const struct roster_user *u)
{
    roster_jsonw_obj_begin(w);
    for (int f = 0; f < RU_NFIELDS; f++) {
        if (!sent_field(f) || !ROSTER_USER_FIELD_SET(u, f) || !u->f[f])
            continue;
        roster_jsonw_key(w, roster_ufields[f].label);
        if (roster_ufields[f].kind == RU_KIND_STR)
            roster_jsonw_str(w, u->f[f]);
        else
            roster_jsonw_raw(w, u->f[f]);
    }
    if (u->set & ROSTER_USET_STATE)
        roster_jsonw_kstr(w, "state", roster_state_name(u->state));
    roster_jsonw_obj_end(w);
}

/* A bulk-user-update item: the id and the fields that changed (null clears one) */
static void encode_update(struct roster_jsonw *w, const char *id, const struct roster_user *u,
                          uint64_t changed)
{
    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "id", id);
    for (int f = 0; f < RU_NFIELDS; f++) {
        if (!(changed >> f & 1))
            continue;
        roster_jsonw_key(w, roster_ufields[f].label);
        if (!u->f[f] || (!*u->f[f] && roster_ufields[f].kind != RU_KIND_STR))
            roster_jsonw_null(w);
        else if (roster_ufields[f].kind == RU_KIND_STR)
            roster_jsonw_str(w, u->f[f]);
        else
            roster_jsonw_raw(w, u->f[f]);
    }
    if (changed & ROSTER_USET_STATE)
        roster_jsonw_kstr(w, "state", roster_state_name(u->state));
    roster_jsonw_obj_end(w);
}

static const char *field_label(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < RU_NFIELDS; i++)
        if (strcmp(roster_ufields[i].label, name) == 0)
            return roster_ufields[i].label;
    return strcmp(name, "state") == 0 ? "state" : NULL;
}

/* Sets the action of each row of a job from its result. */
static void apply_results(struct roster_remote_import *im, json_t *res,
                          struct roster_import_row *rows, const size_t *of, size_t m, bool create)
{
    for (size_t j = 0; j < m; j++) {
        json_t *e = json_array_get(res, j);
        struct roster_import_row *row = &rows[of[j]];
        const char *st = json_string_value(json_object_get(e, "status"));
        const char *smsg = json_string_value(json_object_get(e, "statusMsg"));
        if (st && strcmp(st, "succeeded") == 0) {
            row->action = create ? RIA_CREATED : RIA_UPDATED;
            continue;
        }
        row->err.field =
            field_label(json_string_value(json_object_get(json_object_get(e, "meta"), "field")));
        row->rc = roster_err_set(&row->err, ROSTER_EINVAL, "%s",
                                 smsg ? smsg : "the server's result names no reason");
        row->action = create && im->o.mode == ROSTER_IMPORT_SKIP && smsg && strstr(smsg, "already")
                          ? RIA_SKIPPED
                          : RIA_REJECTED;
    }
}

/* Sends a batch's jobs (creates, updates; or suspensions) and waits for each: 0, or
 * EXIT_SERVER. rows/ofs: the rows of each job's items (rows NULL for suspensions, ofs then
 * the users' index + 1); rows_end and base: the state after the batch, for the pending
 * file. */
static int send_jobs(struct roster_remote_import *im, const char *tag, struct pjob *jobs, int njobs,
                     const size_t *const *ofs, struct roster_import_row *rows, int64_t rows_end,
                     const int64_t base[RIA_N])
{
    for (int j = 0; j < njobs; j++)
        snprintf(jobs[j].key, sizeof(jobs[j].key), "roster-import-%s-%s-%d", im->run_id, tag, j);
    pending_save(im, rows_end, base, jobs, (size_t)njobs);
    for (int j = 0; j < njobs; j++) {
        char job[ROSTER_ID_LEN + 1];
        json_t *res = NULL;
        if (job_submit(&im->h, jobs[j].method, jobs[j].body->data, jobs[j].body->len, jobs[j].key,
                       job, im->msg, sizeof(im->msg)) != 0) {
            fprintf(stderr, "roster import: the server refused the bulk request: %s\n", im->msg);
            return EXIT_SERVER;
        }
        if (job_results(&im->h, job, jobs[j].m, &res, im->msg, sizeof(im->msg)) != 0) {
            fprintf(stderr, "roster import: results of job %s: %s\n", job, im->msg);
            return EXIT_SERVER;
        }
        if (rows)
            apply_results(im, res, rows, ofs[j], jobs[j].m, jobs[j].kind == 'c');
        else { /* the suspensions of a sync */
            for (size_t k = 0; k < jobs[j].m; k++) {
                json_t *e = json_array_get(res, k);
                const char *st = json_string_value(json_object_get(e, "status"));
                const char *smsg = json_string_value(json_object_get(e, "statusMsg"));
                if (st && strcmp(st, "succeeded") == 0)
                    im->counts[RIA_SUSPENDED]++;
                else if (!(smsg && strstr(smsg, "not found")))
                    fprintf(stderr, "roster import: user \"%s\" was not suspended: %s\n",
                            im->users[ofs[j][k] - 1].f[RU_USERNAME], smsg ? smsg : "failed");
            }
        }
        json_decref(res);
    }
    return 0;
}

/* Sends the rows planned as created or updated (one job each kind): 0, or EXIT_SERVER.
 * rows_end: the rows of the file done after this batch. */
static int apply_batch(struct roster_remote_import *im, struct roster_import_row *rows,
                       const struct plan *plans, size_t n, int64_t batch_no, int64_t rows_end)
{
    struct roster_buf cb, ub;
    roster_buf_init(&cb);
    roster_buf_init(&ub);
    struct roster_jsonw cw, uw;
    roster_jsonw_init(&cw, &cb);
    roster_jsonw_init(&uw, &ub);
    roster_jsonw_arr_begin(&cw);
    roster_jsonw_arr_begin(&uw);
    size_t *cof = malloc((n + 1) * sizeof(*cof)), *uof = malloc((n + 1) * sizeof(*uof));
    long *cl = malloc((n + 1) * sizeof(*cl)), *ul = malloc((n + 1) * sizeof(*ul));
    size_t nc = 0, nu = 0;
    int code = 0;
    int64_t base[RIA_N];
    memcpy(base, im->counts, sizeof(base));
    if (!cof || !uof || !cl || !ul) {
        fprintf(stderr, "roster import: out of memory\n");
        code = EXIT_SERVER;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].action == RIA_CREATED) {
            encode_create(&cw, &rows[i].u);
            cl[nc] = rows[i].line;
            cof[nc++] = i;
        } else if (rows[i].action == RIA_UPDATED) {
            encode_update(&uw, im->users[plans[i].target - 1].id, &rows[i].u, plans[i].changed);
            ul[nu] = rows[i].line;
            uof[nu++] = i;
        } else {
            base[rows[i].action]++;
        }
    }
    roster_jsonw_arr_end(&cw);
    roster_jsonw_arr_end(&uw);
    struct pjob jobs[2];
    const size_t *ofs[2];
    int nj = 0;
    if (nc) {
        jobs[nj] = (struct pjob){"POST", 'c', "", &cb, cl, nc};
        ofs[nj++] = cof;
    }
    if (nu) {
        jobs[nj] = (struct pjob){"PATCH", 'u', "", &ub, ul, nu};
        ofs[nj++] = uof;
    }
    char tag[32];
    snprintf(tag, sizeof(tag), "b%lld", (long long)batch_no);
    if (nj)
        code = send_jobs(im, tag, jobs, nj, ofs, rows, rows_end, base);
out:
    free(cof);
    free(uof);
    free(cl);
    free(ul);
    roster_buf_release(&cb);
    roster_buf_release(&ub);
    return code;
}

/* Sync: the users no row matched get --missing (suspend: PATCH jobs; delete: one DELETE
 * each). The state file follows each step. 0, or EXIT_SERVER. */
static int apply_missing(struct roster_remote_import *im, const uint32_t *ids, size_t n,
                         int64_t rows)
{
    int code = 0;
    if (im->o.missing == ROSTER_MISSING_DELETE) {
        for (size_t i = 0; i < n && !code; i++) {
            char path[128];
            long status = 0;
            snprintf(path, sizeof(path), "/api/systemusers/%s", im->users[ids[i] - 1].id);
            if (http_do(&im->h, "DELETE", path, NULL, 0, NULL, &status, im->msg, sizeof(im->msg)) !=
                0) {
                code = EXIT_SERVER;
            } else if (status == 200) {
                im->counts[RIA_DELETED]++;
                state_save(im, rows);
            } else if (status != 404) { /* 404: deleted meanwhile */
                error_of(&im->h, status, im->msg, sizeof(im->msg));
                code = EXIT_SERVER;
            }
            if (code)
                fprintf(stderr, "roster import: cannot delete user \"%s\": %s\n",
                        im->users[ids[i] - 1].f[RU_USERNAME], im->msg);
        }
        return code;
    }
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n && !code; i += REMOTE_BATCH) {
        size_t m = n - i;
        if (m > REMOTE_BATCH)
            m = REMOTE_BATCH;
        roster_buf_reset(&b);
        struct roster_jsonw w;
        roster_jsonw_init(&w, &b);
        roster_jsonw_arr_begin(&w);
        for (size_t k = 0; k < m; k++) {
            roster_jsonw_obj_begin(&w);
            roster_jsonw_kstr(&w, "id", im->users[ids[i + k] - 1].id);
            roster_jsonw_kstr(&w, "state", "SUSPENDED");
            roster_jsonw_obj_end(&w);
        }
        roster_jsonw_arr_end(&w);
        /* the user of each item, for send_jobs' messages (index + 1, as ids) */
        size_t *of = malloc(m * sizeof(*of));
        long *lines = calloc(m, sizeof(*lines));
        if (!of || !lines) {
            free(of);
            free(lines);
            code = EXIT_SERVER;
            break;
        }
        for (size_t k = 0; k < m; k++)
            of[k] = ids[i + k];
        struct pjob job = {"PATCH", 's', "", &b, lines, m};
        const size_t *ofs[1] = {of};
        char tag[32];
        snprintf(tag, sizeof(tag), "m%zu", i / REMOTE_BATCH);
        code = send_jobs(im, tag, &job, 1, ofs, NULL, rows, im->counts);
        free(of);
        free(lines);
        if (!code) {
            state_save(im, rows);
            pending_clear(im);
        }
    }
    roster_buf_release(&b);
    return code;
}

/* --- the run --- */

int roster_remote_import_begin(const struct roster_remote_opts *o,
                               struct roster_remote_import **out)
{
    *out = NULL;
    if (o->match == ROSTER_MATCH_EXTERNAL_ID &&
        (o->mode == ROSTER_IMPORT_OVERWRITE || o->mode == ROSTER_IMPORT_SYNC)) {
        fprintf(stderr, "roster import: --match externalid is not available with --url: the "
                        "JumpCloud API neither shows nor sets externalId (use --store, or "
                        "another --match)\n");
        return EXIT_USAGE;
    }
    struct roster_remote_import *im = calloc(1, sizeof(*im));
    if (!im)
        return EXIT_SERVER;
    im->o = *o;
    im->match_k = o->match == ROSTER_MATCH_EMAIL ? 1 : o->match == ROSTER_MATCH_EMPLOYEE_ID ? 2 : 0;
    roster_arena_init(&im->dir_arena, 1 << 20);
    roster_arena_init(&im->file_arena, 1 << 20);
    roster_arena_init(&im->tmp, 1 << 16);
    im->ctx.arena = &im->tmp;
    im->ctx.org_id = o->org ? o->org : "";
    roster_buf_init(&im->h.body);
    im->h.o = &im->o;
    size_t n = strlen(o->url);
    while (n > 0 && o->url[n - 1] == '/')
        n--;
    im->h.url = strndup(o->url, n);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    im->h.curl = curl_easy_init();
    if (!im->h.url || !im->h.curl) {
        roster_remote_import_free(im);
        return EXIT_SERVER;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(im->run_id, sizeof(im->run_id), "%08x%08x", (unsigned)ts.tv_sec,
             (unsigned)(ts.tv_nsec ^ ((long)getpid() << 12)));
    if (o->file_key && !o->dry_run) {
        struct roster_buf id;
        roster_buf_init(&id);
        roster_buf_printf(&id, "%.*s|%s|%d|%d|%d|%s", (int)n, o->url, o->org ? o->org : "", o->mode,
                          o->match, o->missing, o->file_key);
        for (char *p = id.data; *p; p++)
            if (*p == '\n')
                *p = ' ';
        im->identity = roster_buf_detach(&id, NULL);
        char *dir = state_dir();
        if (dir && im->identity) {
            size_t cap = strlen(dir) + 64;
            im->state_path = malloc(cap);
            im->pending_path = malloc(cap);
            if (im->state_path && im->pending_path) {
                unsigned long long h = (unsigned long long)hash_str(im->identity);
                snprintf(im->state_path, cap, "%s/import-%016llx.state", dir, h);
                snprintf(im->pending_path, cap, "%s/import-%016llx.pending", dir, h);
                state_load(im);
            }
        } else if (!o->quiet) {
            fprintf(stderr, "roster import: no state directory ($XDG_STATE_HOME or $HOME): "
                            "this import will not resume after a crash\n");
        }
        free(dir);
    }
    *out = im;
    return 0;
}

int64_t roster_remote_import_resumed(const struct roster_remote_import *im)
{
    return im->resumed;
}

/* One pass over the file planning every row, nothing sent: the counts of what the run
 * would do (rows in *rows); rejected and skipped rows reported when report is set. 0, or
 * EXIT_USAGE (the file cannot be read on). */
static int plan_pass(struct roster_remote_import *im, const struct roster_remote_src *src,
                     struct roster_import_row *rows, struct plan *plans, bool report,
                     int64_t counts[RIA_N], int64_t *nrows)
{
    struct roster_arena a;
    roster_arena_init(&a, 1 << 20);
    int code = 0;
    for (;;) {
        size_t n = 0;
        int rrc = src->read(src->ctx, rows, REMOTE_BATCH, &n, &a);
        for (size_t i = 0; i < n; i++) {
            /* rows an earlier run applied: counted in its state already; fail mode would
             * find them taken (by themselves), sync needs their matches */
            bool earlier = *nrows + (int64_t)i < im->resumed;
            if (earlier && im->o.mode == ROSTER_IMPORT_FAIL)
                continue;
            plan_row(im, &rows[i], &plans[i]);
            if (earlier)
                continue;
            counts[rows[i].action]++;
            if (report && (rows[i].action == RIA_REJECTED || rows[i].action == RIA_SKIPPED))
                src->report(src->ctx, &rows[i]);
        }
        *nrows += (int64_t)n;
        roster_arena_clear(&a);
        if (rrc != 0) {
            code = EXIT_USAGE;
            break;
        }
        if (n < REMOTE_BATCH)
            break;
    }
    roster_arena_release(&a);
    return code;
}

/* Forgets what a pass saw of the file: its keys, and which users it matched */
static void file_forget(struct roster_remote_import *im)
{
    kmap_free(&im->in_file);
    roster_arena_clear(&im->file_arena);
    if (im->nusers)
        memset(im->line, 0, im->nusers * sizeof(*im->line));
}

int roster_remote_import_run(struct roster_remote_import *im, const struct roster_remote_src *src,
                             int64_t counts[RIA_N], int64_t *nrows, int *outcome)
{
    const struct roster_remote_opts *o = &im->o;
    *outcome = ROSTER_REMOTE_APPLIED;
    *nrows = 0;
    memset(counts, 0, RIA_N * sizeof(*counts));
    struct roster_import_row *rows = calloc(REMOTE_BATCH, sizeof(*rows));
    struct plan *plans = calloc(REMOTE_BATCH, sizeof(*plans));
    uint32_t *missing = NULL;
    struct roster_arena a;
    roster_arena_init(&a, 1 << 20);
    int code = 0;
    if (!rows || !plans) {
        code = EXIT_SERVER;
        goto out;
    }
    if (!o->dry_run && (code = pending_finish(im, src)) != 0)
        goto out;
    if (o->dry_run || o->mode != ROSTER_IMPORT_SKIP) {
        if ((code = fetch_users(im)) != 0)
            goto out;
    }
    if (o->dry_run || o->mode == ROSTER_IMPORT_FAIL || o->mode == ROSTER_IMPORT_SYNC) {
        int64_t plan[RIA_N] = {0}, n = 0;
        code =
            plan_pass(im, src, rows, plans, o->dry_run || o->mode == ROSTER_IMPORT_FAIL, plan, &n);
        if (code)
            goto out;
        size_t nmissing = missing_users(im, &missing);
        plan[o->missing == ROSTER_MISSING_DELETE ? RIA_DELETED : RIA_SUSPENDED] +=
            (int64_t)nmissing;
        int64_t changes =
            plan[RIA_CREATED] + plan[RIA_UPDATED] + plan[RIA_SUSPENDED] + plan[RIA_DELETED];
        bool stop = true;
        if (o->dry_run) {
            *outcome = ROSTER_REMOTE_DRY_RUN;
        } else if (o->mode == ROSTER_IMPORT_FAIL && plan[RIA_REJECTED] > 0) {
            *outcome = ROSTER_REMOTE_NOTHING_WRITTEN;
        } else if (o->mode == ROSTER_IMPORT_SYNC && o->max_changes >= 0 &&
                   changes > o->max_changes) {
            *outcome = ROSTER_REMOTE_REFUSED;
            fprintf(stderr,
                    "roster import: refused: the sync would change %lld users, more than "
                    "--max-changes %lld; nothing was written (--force to apply it)\n",
                    (long long)changes, (long long)o->max_changes);
            code = EXIT_TOO_MANY;
        } else {
            stop = false;
        }
        if (stop) {
            for (int i = 0; i < RIA_N; i++)
                counts[i] = im->counts[i] + plan[i];
            *nrows = n;
            goto out;
        }
        free(missing);
        missing = NULL;
        file_forget(im);
        if (src->rewind(src->ctx) != 0) {
            code = EXIT_USAGE;
            goto out;
        }
    }
    if (im->resumed > 0 && !o->quiet)
        fprintf(stderr,
                "roster import: resuming after row %lld (an earlier run of this import ended "
                "there)\n",
                (long long)im->resumed);
    int64_t done = 0;
    for (;;) {
        size_t n = 0, want = REMOTE_BATCH;
        bool replay = done < im->resumed;
        if (replay && im->resumed - done < REMOTE_BATCH)
            want = (size_t)(im->resumed - done);
        int rrc = src->read(src->ctx, rows, want, &n, &a);
        for (size_t i = 0; i < n; i++)
            plan_row(im, &rows[i], &plans[i]);
        if (replay) { /* applied by the earlier run: planned (sync's matches), not sent */
            done += (int64_t)n;
            roster_arena_clear(&a);
            if (rrc != 0 || n < want) {
                fprintf(stderr,
                        "roster import: the file ends before row %lld, where the earlier run of "
                        "this import ended\n",
                        (long long)im->resumed);
                code = EXIT_USAGE;
                break;
            }
            continue;
        }
        if (n > 0 &&
            (code = apply_batch(im, rows, plans, n, done / REMOTE_BATCH, done + (int64_t)n)) != 0)
            break;
        for (size_t i = 0; i < n; i++) {
            im->counts[rows[i].action]++;
            if (rows[i].action == RIA_REJECTED || rows[i].action == RIA_SKIPPED)
                src->report(src->ctx, &rows[i]);
        }
        done += (int64_t)n;
        state_save(im, done);
        pending_clear(im);
        roster_arena_clear(&a);
        src->progress(src->ctx, done, false);
        if (rrc != 0) {
            code = EXIT_USAGE;
            break;
        }
        if (n < want)
            break;
    }
    *nrows = done;
    if (code == 0 && o->mode == ROSTER_IMPORT_SYNC) {
        size_t nmissing = missing_users(im, &missing);
        code = apply_missing(im, missing, nmissing, done);
    }
    memcpy(counts, im->counts, RIA_N * sizeof(*counts));
    if (code == 0 && im->state_path) { /* done: a next run starts afresh */
        unlink(im->state_path);
        pending_clear(im);
    }
out:
    free(rows);
    free(plans);
    free(missing);
    roster_arena_release(&a);
    return code;
}

void roster_remote_import_free(struct roster_remote_import *im)
{
    if (!im)
        return;
    if (im->h.curl)
        curl_easy_cleanup(im->h.curl);
    free(im->h.url);
    roster_buf_release(&im->h.body);
    free(im->users);
    free(im->line);
    kmap_free(&im->by_key);
    kmap_free(&im->in_file);
    roster_arena_release(&im->dir_arena);
    roster_arena_release(&im->file_arena);
    roster_arena_release(&im->tmp);
    free(im->state_path);
    free(im->pending_path);
    free(im->identity);
    free(im);
}
