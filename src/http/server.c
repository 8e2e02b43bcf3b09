/* The libmicrohttpd glue: listener, request bodies (counted against --max-body while they
 * stream in), routing through the route table, authentication, and sending what the
 * handler wrote.
 *
 * DESIGN
 * - libmicrohttpd runs a pool of threads, each with its own epoll set; a connection stays
 *   on one thread for its whole life, so a request's state (struct pending) is only ever
 *   touched by one thread. Handlers run synchronously on that thread.
 * - Each pool thread lazily opens its own store connection (thread-local, closed by a
 *   pthread key destructor when the thread exits).
 * - Order of checks: route (404/405) -> body size (413, as soon as Content-Length or the
 *   streamed bytes exceed the limit) -> auth (401/400/404) -> the credential's rate limit
 *   (429, ratelimit.c) -> content type (415) -> handler.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "http/handoff.h"
#include "ratelimit.h"
#include "http/http_metrics.h"
#include "router.h"
#include "roster/http.h"
#include "roster/jwt.h"
#include "roster/log.h"

struct roster_server {
    struct roster_app *app;
    struct roster_routes routes; /* the dialect layer's table */
    struct MHD_Daemon *daemon;
    struct roster_ratelimit *ratelimit; /* NULL: no rate limit */
    int port;
    struct http_metrics *metrics; /* GET /metrics: requests, durations, connections */
    struct handoff *pool;         /* runs the requests with a body (handoff.h); NULL: inline */
};

/* One request in flight. */
struct pending {
    struct roster_req req;
    struct roster_arena arena;
    struct roster_buf body;
    bool too_big;
    bool path_matched;  /* some route has this path (for 405 vs 404) */
    bool checked;       /* refuse_early passed: the body may be read */
    bool auth_later;    /* no body announced: auth and the rest in dispatch (in the read span) */
    int64_t started_ms; /* monotonic: when the headers were in (the body deadline runs from it) */
    int64_t started_us; /* the same, in microseconds, for the request duration metric */
    /* the hand-over to the handler pool: the connection is suspended from HANDED until the
     * pool has run the handler (DONE) and resumed it; INLINE: run it on this thread */
    enum { STAGE_NEW, STAGE_HANDED, STAGE_DONE, STAGE_INLINE } stage;
};

static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

static void conn_destroy(void *p)
{
    roster_app_conn_close(p);
}

static void conn_key_init(void)
{
    pthread_key_create(&conn_key, conn_destroy);
}

/* Store connections opened at start, one per pool thread, handed to each thread on its
 * first request: opening one later costs that request milliseconds, and on SQLite voids
 * the list caches once (sqlite_listcache.c). */
#define PREOPEN_MAX 64
static pthread_mutex_t preopen_mu = PTHREAD_MUTEX_INITIALIZER;
static struct roster_conn *preopen[PREOPEN_MAX];
static size_t npreopen;

static struct roster_conn *thread_conn(struct roster_app *app, struct roster_err *err)
{
    struct roster_conn *c = pthread_getspecific(conn_key);
    if (c)
        return c;
    pthread_mutex_lock(&preopen_mu);
    if (npreopen)
        c = preopen[--npreopen];
    pthread_mutex_unlock(&preopen_mu);
    if (!c && roster_app_conn_open(app, &c, err) != 0)
        return NULL;
    pthread_setspecific(conn_key, c);
    return c;
}

static void preopen_conns(struct roster_app *app, unsigned n)
{
    pthread_mutex_lock(&preopen_mu);
    while (npreopen < n && npreopen < PREOPEN_MAX) {
        struct roster_err err = {0};
        struct roster_conn *c = NULL;
        if (roster_app_conn_open(app, &c, &err) != 0)
            break; /* the threads open their own then */
        preopen[npreopen++] = c;
    }
    pthread_mutex_unlock(&preopen_mu);
}

static void preopen_close(void)
{
    pthread_mutex_lock(&preopen_mu);
    while (npreopen)
        roster_app_conn_close(preopen[--npreopen]);
    pthread_mutex_unlock(&preopen_mu);
}

/* --- request accessors --- */

const char *roster_req_header(struct roster_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *roster_req_query(struct roster_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_all {
    const char *name;
    const char **out;
    size_t max, n;
};

static enum MHD_Result query_all_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    struct query_all *qa = cls;
    if (strcmp(key, qa->name) == 0 && qa->n < qa->max)
        qa->out[qa->n++] = value ? value : "";
    return MHD_YES;
}

size_t roster_req_query_all(struct roster_req *r, const char *name, const char **out, size_t max)
{
    struct query_all qa = {name, out, max, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_all_cb, &qa);
    return qa.n;
}

struct query_each {
    bool (*fn)(void *ud, const char *k, const char *v);
    void *ud;
    bool stopped;
};

static enum MHD_Result query_each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct query_each *qe = cls;
    if (qe->stopped)
        return MHD_NO;
    if (!qe->fn(qe->ud, key, value)) {
        qe->stopped = true;
        return MHD_NO;
    }
    return MHD_YES;
}

void roster_req_query_each(struct roster_req *r, bool (*fn)(void *ud, const char *k, const char *v),
                           void *ud)
{
    struct query_each qe = {fn, ud, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_each_cb, &qe);
}

/* The first query parameter whose name or value holds a NUL (%00): as a C string it would
 * be cut short there, so it is refused instead (NULL: none). */
static enum MHD_Result nul_cb(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                              const char *value, size_t value_size)
{
    (void)kind;
    const char **bad = cls;
    if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

static const char *query_nul(struct roster_req *r)
{
    const char *bad = NULL;
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, nul_cb, &bad);
    return bad;
}

/* --- response helpers --- */

struct roster_jsonw *roster_resp_json(struct roster_req *r, int status, struct roster_jsonw *w)
{
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    roster_buf_reset(&r->resp);
    roster_jsonw_init(w, &r->resp);
    return w;
}

void roster_resp_empty(struct roster_req *r, int status)
{
    r->status = status;
    r->content_type = NULL;
    roster_buf_reset(&r->resp);
}

void roster_resp_header(struct roster_req *r, const char *name, const char *value)
{
    if (r->nheaders < ROSTER_MAX_RESP_HEADERS) {
        r->headers[r->nheaders].name = name;
        r->headers[r->nheaders].value = value;
        r->nheaders++;
    }
}

/* A plain error body for paths that belong to no dialect (and for ops routes). */
static void plain_error(struct roster_req *r, int status, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "message", msg);
    roster_jsonw_obj_end(&w);
}

const struct roster_dialect roster_plain_dialect = {"plain", ROSTER_AUTH_NONE, plain_error};

void roster_resp_error(struct roster_req *r, int status, const char *fmt, ...)
{
    char msg[ROSTER_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* unmatched paths answer in the dialect that owns their prefix (/api -> JumpCloud) */
    const struct roster_dialect *d = r->route     ? r->route->dialect
                                     : r->dialect ? r->dialect
                                                  : &roster_plain_dialect;
    r->nheaders = 0;
    d->error(r, status, msg);
}

void roster_resp_fail(struct roster_req *r, int code, const struct roster_err *err)
{
    int status = roster_http_status(code);
    if (status >= 500)
        roster_log(ROSTER_LOG_ERROR, "request failed",
                   "method=%s path=\"%.200s\" code=%s detail=\"%s\"", r->method, r->path,
                   roster_code_name(code), err->detail);
    roster_resp_error(r, status, "%s", err->msg);
}

int roster_http_status(int code)
{
    switch (code) {
    case ROSTER_OK:
        return 200;
    case ROSTER_EINVAL:
        return 400;
    case ROSTER_ENOTFOUND:
        return 404;
    case ROSTER_ECONFLICT:
        return 409;
    case ROSTER_EAUTH:
        return 401;
    case ROSTER_EFORBIDDEN:
        return 403;
    case ROSTER_ETOOBIG:
        return 413;
    case ROSTER_EBUSY:
        return 503;
    case ROSTER_EQUOTA:
        return 429;
    default:
        return 500;
    }
}

const char *roster_http_reason(int status)
{
    return MHD_get_reason_phrase_for((unsigned)status);
}

int roster_req_query_int(struct roster_req *r, const char *name, int64_t def, int64_t min,
                         int64_t max, int64_t *out)
{
    const char *v = roster_req_query(r, name);
    if (!v) {
        *out = def;
        return 0;
    }
    int64_t n;
    if (roster_parse_i64(v, &n) != 0 || n < min || n > max) {
        if (max == INT64_MAX)
            roster_resp_error(r, 400, "query parameter %s \"%.64s\" must be an integer >= %lld",
                              name, v, (long long)min);
        else
            roster_resp_error(r, 400,
                              "query parameter %s \"%.64s\" must be an integer from %lld to %lld",
                              name, v, (long long)min, (long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

/* --- routing --- */

static void find_route(const struct roster_routes *routes, struct pending *pd, const char *method,
                       const char *path)
{
    struct roster_req *r = &pd->req;
    r->route = roster_route_find(routes, method, path, r, &pd->arena, &pd->path_matched);
    r->dialect = r->route ? r->route->dialect : roster_route_owner(routes, path);
    if (!r->dialect)
        r->dialect = &roster_plain_dialect;
}

/* --- auth --- */

/* The token of "Authorization: Bearer <token>", or NULL when there is none. */
static const char *bearer_token(struct roster_req *r)
{
    const char *h = roster_req_header(r, "Authorization");
    return h && strncasecmp(h, "Bearer ", 7) == 0 && h[7] ? h + 7 : NULL;
}

/* Bearer JWT of a service account (Voximplant): only RS256; the key found by kid (active,
 * not revoked); iss = the numeric id of the key's organisation; iat and exp present with
 * 0 < exp - iat <= 3600; not expired and not issued in the future beyond the clock skew.
 * Every refusal is a 401 in the route's dialect (Voximplant: code 100). */
#define JWT_MAX_LIFETIME_S 3600
#define JWT_CLOCK_SKEW_S 60

static int jwt_refuse(struct roster_req *r, const char *why)
{
    roster_resp_error(r, 401, "authorization failed: %s", why);
    return -1;
}

static int authenticate_jwt(struct roster_req *r)
{
    const char *token = bearer_token(r);
    if (!token)
        return jwt_refuse(r, "missing bearer token in the Authorization header");
    struct roster_err err = {0};
    struct roster_jwt t;
    if (roster_jwt_parse(token, r->ctx.arena, &t, &err) != 0)
        return jwt_refuse(r, err.msg);
    if (!t.alg || strcmp(t.alg, "RS256") != 0)
        return jwt_refuse(r, "the token must be signed with RS256");
    if (!t.kid || !*t.kid)
        return jwt_refuse(r, "the token has no kid header");
    if (!t.has_iat || !t.has_exp)
        return jwt_refuse(r, "the token needs integer iat and exp claims");
    /* exp - iat as an unsigned difference (exp > iat, so it is exact): iat = -2^63 must
     * not wrap into a short lifetime; the clock checks compare without adding to exp */
    if (t.exp <= t.iat || (uint64_t)t.exp - (uint64_t)t.iat > JWT_MAX_LIFETIME_S)
        return jwt_refuse(r, "the token's exp must be after iat by at most 3600 seconds");
    int64_t now = roster_now_ms() / 1000;
    if (t.exp < now - JWT_CLOCK_SKEW_S)
        return jwt_refuse(r, "the token has expired");
    if (t.iat > now + JWT_CLOCK_SKEW_S)
        return jwt_refuse(r, "the token is issued in the future");
    struct roster_sa_key key;
    struct roster_org org;
    int rc = roster_sa_key_get(&r->ctx, t.kid, &key, &org, &err);
    if (rc == ROSTER_ENOTFOUND)
        return jwt_refuse(r, "unknown or revoked key");
    if (rc != 0) {
        roster_resp_fail(r, rc, &err);
        return -1;
    }
    int64_t iss = -1;
    if (t.iss_is_int)
        iss = t.iss;
    else if (!t.iss_str || roster_parse_i64(t.iss_str, &iss) != 0)
        iss = -1;
    if (iss != org.num_id)
        return jwt_refuse(r, "the token's iss is not the account of its key");
    if (roster_jwt_verify_rs256(&t, key.public_key_pem, &err) != 0)
        return jwt_refuse(r, err.msg);
    r->ctx.key = NULL;
    r->ctx.org_id = roster_arena_strdup(r->ctx.arena, key.org_id);
    r->credential = roster_arena_printf(r->ctx.arena, "sa:%s", key.id);
    return 0;
}

static int authenticate(struct roster_req *r)
{
    const struct roster_dialect *d = r->route->dialect;
    const char *secret = NULL;
    if (d->auth == ROSTER_AUTH_NONE)
        return 0;
    if (d->auth == ROSTER_AUTH_JWT)
        return authenticate_jwt(r);
    if (d->auth == ROSTER_AUTH_API_KEY) {
        secret = roster_req_header(r, "x-api-key");
        if (!secret || !*secret) {
            roster_resp_error(r, 401, "missing x-api-key header");
            return -1;
        }
    } else {
        secret = bearer_token(r);
        if (!secret) {
            roster_resp_error(r, 401, "missing bearer token in the Authorization header");
            return -1;
        }
    }
    struct roster_err err = {0};
    struct roster_key *key = roster_arena_zalloc(r->ctx.arena, sizeof(*key));
    int rc = roster_key_authenticate(&r->ctx, secret, key, &err);
    if (rc == ROSTER_ENOTFOUND) {
        roster_resp_error(r, 401, "invalid api key");
        return -1;
    }
    if (rc != 0) {
        roster_resp_fail(r, rc, &err);
        return -1;
    }
    r->ctx.key = key;
    r->ctx.org_id = key->org_id;
    r->credential = roster_arena_printf(r->ctx.arena, "key:%s", key->id);
    if (d->auth != ROSTER_AUTH_API_KEY)
        return 0;
    const char *org = roster_req_header(r, "x-org-id");
    if (!org || !*org || strcmp(org, key->org_id) == 0)
        return 0;
    if (!roster_id_valid(org)) {
        roster_resp_error(r, 400, "x-org-id \"%.64s\" is not a valid organization id", org);
        return -1;
    }
    struct roster_org o;
    rc = key->all_orgs ? roster_org_get(&r->ctx, org, &o, &err) : ROSTER_ENOTFOUND;
    if (rc == ROSTER_ENOTFOUND) {
        roster_resp_error(r, 404, "organization \"%s\" not found", org);
        return -1;
    }
    if (rc != 0) {
        roster_resp_fail(r, rc, &err);
        return -1;
    }
    r->ctx.org_id = roster_arena_strdup(r->ctx.arena, org);
    return 0;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return true; /* clients that send no type get the benefit of the doubt */
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    /* application/<something>+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* The bucket size of cfg's rate limit: --rate-burst, or the rate per second rounded up. */
static int64_t ratelimit_burst(const struct roster_config *cfg)
{
    if (cfg->rate_burst > 0)
        return cfg->rate_burst;
    int64_t b = (int64_t)cfg->rate_limit_per_s;
    return b < cfg->rate_limit_per_s ? b + 1 : b > 0 ? b : 1;
}

/* --- sending --- */

static enum MHD_Result send_response(struct MHD_Connection *mc, struct roster_req *r)
{
    size_t len = r->resp.len;
    char *data = len ? roster_buf_detach(&r->resp, NULL) : NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data, data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Sends what r holds and counts it (route, status, time since its headers). */
static enum MHD_Result answer(const struct roster_server *s, struct MHD_Connection *mc,
                              struct pending *pd)
{
    http_metrics_request(s->metrics, pd->req.route, pd->req.status,
                         http_metrics_now_us() - pd->started_us);
    return send_response(mc, &pd->req);
}

void roster_http_metrics_write(struct roster_req *r, struct roster_buf *out)
{
    http_metrics_write(r->server ? r->server->metrics : NULL, out);
}

/* This thread's store connection into r, or a 503. */
static bool attach_conn(struct roster_app *app, struct roster_req *r)
{
    struct roster_err err = {0};
    r->ctx.conn = thread_conn(app, &err);
    if (r->ctx.conn)
        return true;
    roster_log(ROSTER_LOG_ERROR, "store connection failed", "detail=\"%s\"", err.detail);
    roster_resp_error(r, 503, "store unavailable");
    return false;
}

/* A token from the caller's bucket, or the dialect's answer to too many requests (429
 * with Retry-After; Voximplant: its error object, code 340); true when r holds the
 * refusal. */
static bool refuse_rate(const struct roster_server *s, struct roster_req *r)
{
    int64_t wait_ms;
    if (roster_ratelimit_take(s->ratelimit, r->credential, roster_monotonic_ms(), &wait_ms))
        return false;
    roster_ratelimit_hit(r->route->dialect->name);
    r->retry_after_s = (wait_ms + 999) / 1000;
    const struct roster_config *cfg = &s->app->cfg;
    roster_resp_error(r, 429,
                      "too many requests with this key: at most %g a second (bursts of %lld); "
                      "try again in %lld s",
                      cfg->rate_limit_per_s, (long long)ratelimit_burst(cfg),
                      (long long)r->retry_after_s);
    roster_resp_header(r, "Retry-After",
                       roster_arena_printf(r->ctx.arena, "%lld", (long long)r->retry_after_s));
    return true;
}

/* The caller's key (401, 404 for a foreign x-org-id), its rate limit (429), a NUL in the
 * query (400) and the content type (415); non-zero when r holds the refusal. */
static int admit(const struct roster_server *s, struct roster_req *r)
{
    if (authenticate(r) != 0 || refuse_rate(s, r))
        return -1;
    const char *nul = query_nul(r);
    if (nul) {
        roster_resp_error(r, 400, "query parameter \"%.64s\" contains a NUL character", nul);
        return -1;
    }
    if ((r->route->flags & ROSTER_ROUTE_JSON_BODY) &&
        !is_json_type(roster_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        roster_resp_error(r, 415, "content type \"%.64s\" is not supported; send application/json",
                          roster_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE));
        return -1;
    }
    return 0;
}

/* 413 for a body above --max-body; returns true (r holds the refusal). */
static bool refuse_too_big(struct roster_req *r, const struct roster_app *app)
{
    roster_resp_error(r, 413, "request body is larger than the limit of %zu bytes",
                      app->cfg.max_body);
    return true;
}

/* What is decided from the request line and the headers alone, before any byte of the body
 * is accepted: no route (404, 405), a declared body above the limit (413), the caller's
 * key (401, 404 for a foreign x-org-id), a NUL in the query (400) and the content type
 * (415). Returns true when r holds the refusal: it is sent at once, so neither a
 * "100 Continue" nor a read of the body happens for it. */
static bool refuse_early(const struct roster_server *s, struct pending *pd)
{
    struct roster_app *app = s->app;
    struct roster_req *r = &pd->req;
    if (!r->route) {
        if (pd->path_matched) {
            const char *allow = roster_route_allow(&s->routes, r->path, &pd->arena);
            roster_resp_error(r, 405, "method %s is not allowed on %s (allowed: %s)", r->method,
                              r->path, allow);
            roster_resp_header(r, "Allow", allow);
        } else
            roster_resp_error(r, 404, "no such endpoint: %s %s", r->method, r->path);
        return true;
    }
    const char *cl = roster_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n = 0;
    bool has_len = cl && roster_parse_i64(cl, &n) == 0;
    if (has_len && n > (int64_t)app->cfg.max_body) {
        pd->too_big = true;
        return refuse_too_big(r, app);
    }
    /* A request without a body costs nothing to receive: its key is checked in dispatch,
     * in the same read span as its data (one snapshot instead of two). */
    pd->auth_later =
        !roster_req_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) && (!cl || (has_len && n == 0));
    if (pd->auth_later)
        return false;
    return !attach_conn(app, r) || admit(s, r) != 0;
}

/* The request after its body: the route's handler (refuse_early has passed). */
static void dispatch(const struct roster_server *s, struct pending *pd)
{
    struct roster_app *app = s->app;
    struct roster_req *r = &pd->req;
    if (pd->too_big) { /* a body without a Content-Length that grew past the limit */
        refuse_too_big(r, app);
        return;
    }
    if (!attach_conn(app, r))
        return;
    /* a read-only route reads its key, organisation and data in one snapshot (one read
     * transaction on SQLite instead of one per statement); without a span, each read has
     * its own, which is also right */
    bool span = (r->route->flags & ROSTER_ROUTE_READ_SPAN) && roster_read_begin(&r->ctx);
    if (!pd->auth_later || admit(s, r) == 0) {
        r->body = pd->body.data ? pd->body.data : "";
        r->body_len = pd->body.len;
        r->route->fn(r);
    }
    if (span)
        roster_read_end(&r->ctx);
}

/* The connection's deadline record (deadline.c), or NULL. */
static void *conn_deadline(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A connection opens or closes: its deadline record comes and goes with it. */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    const struct roster_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_metrics_conn(s->metrics, 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        const struct roster_config *cfg = &s->app->cfg;
        *socket_context =
            ci ? roster_deadline_open(ci->connect_fd,
                                      cfg->header_timeout_s > 0 ? cfg->header_timeout_s
                                                                : ROSTER_HEADER_TIMEOUT_S_DEFAULT,
                                      cfg->body_timeout_s > 0 ? cfg->body_timeout_s
                                                              : ROSTER_BODY_TIMEOUT_S_DEFAULT)
               : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_metrics_conn(s->metrics, -1);
        roster_deadline_close(*socket_context);
        *socket_context = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    const struct roster_server *s = cls;
    struct roster_app *app = s->app;
    struct pending *pd = *con_cls;
    if (!pd) {
        pd = calloc(1, sizeof(*pd));
        if (!pd)
            return MHD_NO;
        roster_arena_init(&pd->arena, 16 * 1024);
        roster_buf_init(&pd->body);
        roster_buf_init(&pd->req.resp);
        pd->req.ctx.app = app;
        pd->req.ctx.arena = &pd->arena;
        pd->req.conn = mc;
        pd->req.server = (struct roster_server *)s;
        pd->req.method = roster_arena_strdup(&pd->arena, method);
        pd->req.path = roster_arena_strdup(&pd->arena, url);
        pd->req.status = 500;
        pd->started_ms = roster_monotonic_ms();
        pd->started_us = http_metrics_now_us();
        find_route(&s->routes, pd, method, url);
        *con_cls = pd;
        roster_deadline_set(conn_deadline(mc), ROSTER_DEADLINE_BODY);
        pd->checked = !refuse_early(s, pd);
        if (!pd->checked)
            return answer(s, mc, pd); /* before any body byte */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!pd->checked)
            return MHD_NO; /* a refused request's body is never read */
        int64_t deadline_s =
            app->cfg.body_timeout_s > 0 ? app->cfg.body_timeout_s : ROSTER_BODY_TIMEOUT_S_DEFAULT;
        if (roster_monotonic_ms() - pd->started_ms > deadline_s * 1000) {
            roster_log(ROSTER_LOG_WARN, "request body too slow: connection closed",
                       "method=%s path=\"%.200s\" body_timeout_s=%lld received=%zu", pd->req.method,
                       pd->req.path, (long long)deadline_s, pd->body.len);
            return MHD_NO; /* a body trickling in byte by byte holds no thread for long */
        }
        if (!pd->too_big && pd->body.len + *upload_data_size <= app->cfg.max_body)
            roster_buf_add(&pd->body, upload_data, *upload_data_size);
        else
            pd->too_big = true; /* keep reading and discarding; answer 413 at the end */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!pd->checked)
        return MHD_NO; /* answered on the first call */
    if (pd->stage == STAGE_DONE)
        return answer(s, mc, pd); /* resumed by the pool */
    if (pd->stage == STAGE_HANDED)
        return MHD_YES;
    roster_deadline_set(conn_deadline(mc), ROSTER_DEADLINE_NONE);
    if (pd->stage == STAGE_NEW && !pd->auth_later && s->pool) {
        /* suspended before it is handed over: the pool may resume it at once */
        pd->stage = STAGE_HANDED;
        MHD_suspend_connection(mc);
        if (handoff_give(s->pool, pd))
            return MHD_YES;
        pd->stage = STAGE_INLINE; /* the pool is stopping: called again after the resume */
        MHD_resume_connection(mc);
        return MHD_YES;
    }
    dispatch(s, pd);
    return answer(s, mc, pd);
}

/* The handler pool's side of a handed-over request (handoff.h). */
static void pool_run(void *item)
{
    struct pending *pd = item;
    dispatch(pd->req.server, pd);
}

static void pool_done(void *item)
{
    struct pending *pd = item;
    pd->stage = STAGE_DONE;
    MHD_resume_connection(pd->req.conn);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    roster_deadline_set(conn_deadline(mc), ROSTER_DEADLINE_HEADERS); /* the next request's */
    struct pending *pd = *con_cls;
    if (!pd)
        return;
    roster_buf_release(&pd->body);
    roster_buf_release(&pd->req.resp);
    roster_arena_release(&pd->arena);
    free(pd);
    *con_cls = NULL;
}

/* Parses "host:port", "[v6]:port" or ":port" into a sockaddr. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                        struct roster_err *err)
{
    char host[256];
    const char *colon;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return roster_err_set(err, ROSTER_EINVAL, "listen address \"%s\" is not [host]:port",
                                  s);
        snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return roster_err_set(err, ROSTER_EINVAL, "listen address \"%s\" is not host:port", s);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    int64_t port;
    if (roster_parse_i64(colon + 1, &port) != 0 || port < 0 || port > 65535)
        return roster_err_set(err, ROSTER_EINVAL, "listen port \"%s\" is not a port number",
                              colon + 1);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
    } else {
        return roster_err_set(err, ROSTER_EINVAL, "listen host \"%s\" is not an IP address", host);
    }
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    roster_log(ROSTER_LOG_WARN, "http", "detail=\"%s\"", msg);
}

int roster_server_start(struct roster_app *app, const struct roster_routes *routes,
                        struct roster_server **out, struct roster_err *err)
{
    /* Response bodies are tens to hundreds of KB, allocated and freed by every request on
     * the pool threads. glibc would give the freed top of a thread's heap back to the
     * kernel (madvise) at every free above 128 KB and fault it in again for the next
     * response (measured: 13% of a Concur page's server CPU), and would mmap every block
     * from 128 KB up. Keep up to 16 MB of free top per arena, and take blocks up to 4 MB
     * from the heaps. */
    mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    pthread_once(&conn_key_once, conn_key_init);
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_listen(app->cfg.listen, &ss, &sslen, err) != 0)
        return err->code;
    struct roster_server *s = calloc(1, sizeof(*s));
    if (!s)
        return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    s->app = app;
    s->routes = *routes;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned threads = app->cfg.http_threads > 0 ? (unsigned)app->cfg.http_threads : 4;
    /* TLS (libmicrohttpd's GnuTLS): the PEM texts stay in app->cfg for the daemon's life.
     * Without TLS the two options are skipped (MHD_OPTION_ARRAY of nothing). */
    bool tls = app->cfg.tls_cert_pem && app->cfg.tls_key_pem;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)app->cfg.tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)app->cfg.tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0,
         (void *)(app->cfg.tls_priorities ? app->cfg.tls_priorities
                                          : ROSTER_TLS_PRIORITIES_DEFAULT)},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            free(s);
            return roster_err_set(err, ROSTER_EUNSUPPORTED,
                                  "this libmicrohttpd was built without TLS support");
        }
        flags |= MHD_USE_TLS;
    }
    if (app->cfg.rate_limit_per_s > 0) {
        s->ratelimit =
            roster_ratelimit_new(app->cfg.rate_limit_per_s, ratelimit_burst(&app->cfg), 0);
        if (!s->ratelimit) {
            free(s);
            return roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        }
    }
    preopen_conns(app, threads);
    if (roster_deadline_start() != 0) {
        preopen_close();
        roster_ratelimit_free(s->ratelimit);
        free(s);
        return roster_err_set(err, ROSTER_ENOMEM, "cannot start the deadline thread");
    }
    s->metrics = http_metrics_new(&s->routes); /* NULL (out of memory): nothing counted */
    /* half as many as the MHD threads (at least 2): each opens a store connection of its
     * own, and on PostgreSQL every connection is a server process (max_connections) */
    s->pool = handoff_start(threads / 2 > 2 ? threads / 2 : 2, pool_run, pool_done);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ROSTER_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(app->cfg.max_conns > 0 ? app->cfg.max_conns : ROSTER_MAX_CONNS_DEFAULT),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(app->cfg.max_conns_per_ip > 0 ? app->cfg.max_conns_per_ip
                                                 : ROSTER_MAX_CONNS_PER_IP_DEFAULT),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!s->daemon) {
        handoff_stop(s->pool);
        handoff_free(s->pool);
        roster_deadline_stop();
        preopen_close();
        roster_ratelimit_free(s->ratelimit);
        http_metrics_free(s->metrics);
        free(s);
        if (tls)
            return roster_err_set(err, ROSTER_EIO,
                                  "cannot listen on %s with TLS (is the key the certificate's, "
                                  "both PEM? is the --tls-priorities string valid?)",
                                  app->cfg.listen);
        return roster_err_set(err, ROSTER_EIO, "cannot listen on %s", app->cfg.listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

int roster_server_port(const struct roster_server *s)
{
    return s->port;
}

void roster_server_stop(struct roster_server *s)
{
    if (!s)
        return;
    /* the pool answers what it holds and resumes those connections (a daemon must not
     * stop with suspended ones); requests coming after run inline */
    handoff_stop(s->pool);
    MHD_stop_daemon(s->daemon);
    handoff_free(s->pool);
    roster_deadline_stop();
    preopen_close();
    roster_ratelimit_free(s->ratelimit);
    http_metrics_free(s->metrics);
    free(s);
}
