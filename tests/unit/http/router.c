/* Unit tests of the HTTP server (src/http/server.c) with a route table of its own: the
 * server runs on 127.0.0.1 (port 0) over a real SQLite store in a temporary directory and
 * the test talks HTTP to it over sockets. Covers path captures (URL-decoded), the first
 * matching route winning, 404 in the error shape of the dialect owning the path prefix,
 * 405 with Allow, 415, 413 (Content-Length and chunked), API key auth (missing, wrong,
 * revoked, x-org-id with and without an all-organisations key, malformed x-org-id),
 * bearer auth, service-account JWT auth (a valid RS256 token and each refusal) and routes
 * without auth, and a pattern of more captures than a request holds.
 */
#include "http/router.h"
#include "roster/http.h"
#include "roster/jwt.h"
#include "roster/store.h"
#include "jwt_sign.h"
#include "test.h"
#include "unit/fixture.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_BODY 256

static struct roster_store *st;
static struct roster_conn *conn;
static struct roster_arena A;
static struct roster_org org_a, org_b;
static int port;

/* secrets of the keys (all of organisation A but key_b) */
static const char *key_a = "router-test-key-a";
static const char *key_all = "router-test-key-all-orgs";
static const char *key_b = "router-test-key-b";
static const char *key_revoked = "router-test-key-revoked";
/* a service account of organisation B: its key id (the JWT kid) and private key */
static struct roster_sa_key sa_b;
static char *sa_priv, *sa_pub, *other_priv, *other_pub;

/* --- the route table under test --- */

/* Three error shapes, so that a test sees whose error it got. */
static void key_error(struct roster_req *r, int status, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "error");
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "status", status);
    roster_jsonw_kstr(&w, "text", msg);
    roster_jsonw_obj_end(&w);
    roster_jsonw_obj_end(&w);
}

static void bearer_error(struct roster_req *r, int status, const char *msg)
{
    struct roster_jsonw w;
    roster_resp_json(r, status, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "fault", msg);
    roster_jsonw_kint(&w, "code", status);
    roster_jsonw_obj_end(&w);
}

static void open_error(struct roster_req *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = "text/plain";
    roster_buf_reset(&r->resp);
    roster_buf_printf(&r->resp, "open error %d: %s", status, msg);
}

static const struct roster_dialect key_dialect = {"keyd", ROSTER_AUTH_API_KEY, key_error};
static const struct roster_dialect bearer_dialect = {"bearerd", ROSTER_AUTH_BEARER, bearer_error};
static const struct roster_dialect open_dialect = {"opend", ROSTER_AUTH_NONE, open_error};
static const struct roster_dialect jwt_dialect = {"jwtd", ROSTER_AUTH_JWT, bearer_error};

/* Answers what the handler was given: the route (its summary), method, path, captures,
 * organisation, key, query parameter q and body. */
static void echo(struct roster_req *r)
{
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "route", r->route->summary);
    roster_jsonw_kstr(&w, "method", r->method);
    roster_jsonw_kstr(&w, "path", r->path);
    roster_jsonw_key(&w, "params");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < r->nparams; i++)
        roster_jsonw_str(&w, r->params[i]);
    roster_jsonw_arr_end(&w);
    roster_jsonw_kstr(&w, "org", r->ctx.org_id);
    if (r->ctx.key)
        roster_jsonw_kbool(&w, "all_orgs", r->ctx.key->all_orgs);
    else
        roster_jsonw_knull(&w, "all_orgs");
    roster_jsonw_kstr(&w, "q", roster_req_query(r, "q"));
    roster_jsonw_key(&w, "body");
    roster_jsonw_strn(&w, r->body, r->body_len);
    roster_jsonw_obj_end(&w);
    roster_resp_header(r, "X-Echo", "yes");
}

/* A read span route: the organisation's name, read through the request's context. */
static void org_name(struct roster_req *r)
{
    struct roster_err err = {0};
    struct roster_org o;
    int rc = roster_org_get(&r->ctx, r->ctx.org_id, &o, &err);
    if (rc != 0) {
        roster_resp_fail(r, rc, &err);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "route", r->route->summary);
    roster_jsonw_kstr(&w, "name", o.name);
    roster_jsonw_obj_end(&w);
}

#define KEY (&key_dialect)
#define BEARER (&bearer_dialect)
#define OPEN (&open_dialect)
#define JSON ROSTER_ROUTE_JSON_BODY

static const struct roster_route routes[] = {
    {"GET", "/k/items/fixed", KEY, echo, 0, "fixed"},
    {"GET", "/k/items/{id}", KEY, echo, 0, "item get"},
    {"POST", "/k/items/{id}", KEY, echo, JSON, "item post"},
    {"GET", "/k/items/{id}/tags/{tag}", KEY, echo, 0, "tag get"},
    {"DELETE", "/k/items/{id}/tags/{tag}", KEY, echo, 0, "tag delete"},
    {"GET", "/k/shadow/{id}", KEY, echo, 0, "shadow capture"},
    {"GET", "/k/shadow/literal", KEY, echo, 0, "shadow literal"}, /* never reached */
    {"GET", "/k/org", KEY, org_name, ROSTER_ROUTE_READ_SPAN, "org name"},
    {"GET", "/b/things", BEARER, echo, 0, "things get"},
    {"POST", "/b/things", BEARER, echo, JSON, "things post"},
    {"GET", "/j/me", &jwt_dialect, echo, 0, "jwt me"},
    {"GET", "/open/ping", OPEN, echo, 0, "ping"},
    {"PUT", "/open/upload", OPEN, echo, JSON, "upload"},
    {"GET", "/healthz", &roster_plain_dialect, echo, 0, "health"},
};

/* --- a small blocking HTTP/1.1 client --- */

struct resp {
    int status;
    char *head; /* status line and headers */
    char *body;
    size_t body_len;
    json_t *json; /* the body, when it is JSON */
};

static void resp_free(struct resp *r)
{
    free(r->head);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* The value of header name in r (arena copy), or NULL. */
static const char *resp_header(const struct resp *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ')
                v++;
            const char *end = strstr(v, "\r\n");
            return roster_arena_strndup(&A, v, end ? (size_t)(end - v) : strlen(v));
        }
    }
    return NULL;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Sends one request (Connection: close) and reads the whole response. headers: extra
 * header lines, each ending in \r\n. A body goes with Content-Length, or chunked (in
 * chunks of at most 100 bytes). Returns the status, or -1 when the exchange failed. */
static int http(const char *method, const char *target, const char *headers, const char *body,
                size_t body_len, bool chunked, struct resp *out)
{
    memset(out, 0, sizeof(*out));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    struct roster_buf req;
    roster_buf_init(&req);
    roster_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method,
                      target, headers ? headers : "");
    if (body && chunked) {
        roster_buf_addstr(&req, "Transfer-Encoding: chunked\r\n\r\n");
        for (size_t off = 0; off < body_len; off += 100) {
            size_t n = body_len - off < 100 ? body_len - off : 100;
            roster_buf_printf(&req, "%zx\r\n", n);
            roster_buf_add(&req, body + off, n);
            roster_buf_addstr(&req, "\r\n");
        }
        roster_buf_addstr(&req, "0\r\n\r\n");
    } else if (body) {
        roster_buf_printf(&req, "Content-Length: %zu\r\n\r\n", body_len);
        roster_buf_add(&req, body, body_len);
    } else {
        roster_buf_addstr(&req, "\r\n");
    }
    bool sent = send_all(fd, req.data, req.len);
    roster_buf_release(&req);
    struct roster_buf in;
    roster_buf_init(&in);
    char chunk[4096];
    ssize_t n;
    while (sent && (n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        roster_buf_add(&in, chunk, (size_t)n);
    close(fd);
    roster_buf_addch(&in, '\0');
    const char *end = strstr(in.data, "\r\n\r\n");
    int status = -1;
    if (!sent || !end || sscanf(in.data, "HTTP/1.%*d %d", &status) != 1) {
        roster_buf_release(&in);
        return -1;
    }
    out->status = status;
    out->head = strndup(in.data, (size_t)(end - in.data) + 2);
    size_t blen = in.len - 1 - (size_t)(end + 4 - in.data);
    const char *cl = resp_header(out, "Content-Length");
    if (cl && (size_t)atol(cl) < blen)
        blen = (size_t)atol(cl);
    out->body = strndup(end + 4, blen);
    out->body_len = blen;
    const char *ct = resp_header(out, "Content-Type");
    if (ct && strstr(ct, "json"))
        out->json = json_loadb(out->body, blen, 0, NULL);
    roster_buf_release(&in);
    return status;
}

/* GET target with extra headers; the response in *r (freed by the next call). */
static int get(const char *target, const char *headers, struct resp *r)
{
    resp_free(r);
    return http("GET", target, headers, NULL, 0, false, r);
}

static const char *jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* "x-api-key: <secret>\r\n" */
static const char *api_key(const char *secret)
{
    return roster_arena_printf(&A, "x-api-key: %s\r\n", secret);
}

/* The message of a key dialect error body, or NULL when r is not one of status. */
static const char *key_error_text(const struct resp *r, int status)
{
    json_t *e = json_object_get(r->json, "error");
    if (json_integer_value(json_object_get(e, "status")) != status)
        return NULL;
    return jstr(e, "text");
}

/* params of an echo as "a|b|c" */
static const char *params_of(const struct resp *r)
{
    json_t *p = json_object_get(r->json, "params");
    if (!json_is_array(p))
        return NULL;
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < json_array_size(p); i++) {
        if (i)
            roster_buf_addch(&b, '|');
        roster_buf_addstr(&b, json_string_value(json_array_get(p, i)));
    }
    const char *s = roster_arena_strndup(&A, b.data ? b.data : "", b.len);
    roster_buf_release(&b);
    return s;
}

/* --- tests --- */

static void test_captures(void)
{
    struct resp r = {0};
    const char *k = api_key(key_a);
    CHECK_EQ_INT(get("/k/items/42", k, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "item get");
    CHECK_EQ_STR(jstr(r.json, "method"), "GET");
    CHECK_EQ_STR(jstr(r.json, "path"), "/k/items/42");
    CHECK_EQ_STR(params_of(&r), "42");
    CHECK_EQ_STR(resp_header(&r, "X-Echo"), "yes");
    CHECK(resp_header(&r, "Content-Type") &&
          strstr(resp_header(&r, "Content-Type"), "application/json"));

    /* a capture is URL-decoded; the query string is not part of the path */
    CHECK_EQ_INT(get("/k/items/a%20b%C3%A9?q=x%26y", k, &r), 200);
    CHECK_EQ_STR(params_of(&r), "a b\xc3\xa9");
    CHECK_EQ_STR(jstr(r.json, "path"), "/k/items/a b\xc3\xa9");
    CHECK_EQ_STR(jstr(r.json, "q"), "x&y");

    /* two captures, with literal segments between them; the method picks the route */
    CHECK_EQ_INT(get("/k/items/7/tags/red", k, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "tag get");
    CHECK_EQ_STR(params_of(&r), "7|red");
    resp_free(&r);
    CHECK_EQ_INT(http("DELETE", "/k/items/x-1/tags/blue", k, NULL, 0, false, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "tag delete");
    CHECK_EQ_STR(params_of(&r), "x-1|blue");

    /* a capture is one whole, non-empty segment */
    CHECK_EQ_INT(get("/k/items/", k, &r), 404);
    CHECK_EQ_INT(get("/k/items/1/2", k, &r), 404);
    CHECK_EQ_INT(get("/k/items/7/tags/", k, &r), 404);
    resp_free(&r);
}

static void test_first_match(void)
{
    struct resp r = {0};
    const char *k = api_key(key_a);
    /* a literal route listed before a capture route takes its path... */
    CHECK_EQ_INT(get("/k/items/fixed", k, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "fixed");
    CHECK_EQ_STR(params_of(&r), "");
    /* ...but only for GET: POST goes to the capture route */
    resp_free(&r);
    CHECK_EQ_INT(http("POST", "/k/items/fixed", k, "{}", 2, false, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "item post");
    CHECK_EQ_STR(params_of(&r), "fixed");
    /* a capture route listed first shadows a later literal one */
    CHECK_EQ_INT(get("/k/shadow/literal", k, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "shadow capture");
    CHECK_EQ_STR(params_of(&r), "literal");
    resp_free(&r);
}

static void test_not_found(void)
{
    struct resp r = {0};
    /* under a prefix of the key dialect: its error shape, and no key is asked for first */
    CHECK_EQ_INT(get("/k/nothing", NULL, &r), 404);
    CHECK_EQ_STR(key_error_text(&r, 404), "no such endpoint: GET /k/nothing");
    CHECK_EQ_INT(get("/k/items/1/2/3", api_key(key_a), &r), 404);
    CHECK_EQ_STR(key_error_text(&r, 404), "no such endpoint: GET /k/items/1/2/3");
    /* the bearer dialect's prefix */
    resp_free(&r);
    CHECK_EQ_INT(http("POST", "/b/nope", NULL, "{}", 2, false, &r), 404);
    CHECK_EQ_STR(jstr(r.json, "fault"), "no such endpoint: POST /b/nope");
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "code")), 404);
    /* the open dialect's (not JSON) */
    CHECK_EQ_INT(get("/open/none", NULL, &r), 404);
    CHECK_EQ_STR(r.body, "open error 404: no such endpoint: GET /open/none");
    /* no dialect's prefix: the plain shape; a prefix only counts as a whole segment */
    CHECK_EQ_INT(get("/nothing", NULL, &r), 404);
    CHECK_EQ_STR(jstr(r.json, "message"), "no such endpoint: GET /nothing");
    CHECK_EQ_INT(get("/kk/items/1", NULL, &r), 404);
    CHECK_EQ_STR(jstr(r.json, "message"), "no such endpoint: GET /kk/items/1");
    CHECK_EQ_INT(get("/", NULL, &r), 404);
    CHECK_EQ_STR(jstr(r.json, "message"), "no such endpoint: GET /");
    resp_free(&r);
}

static void test_method_not_allowed(void)
{
    struct resp r = {0};
    const char *k = api_key(key_a);
    CHECK_EQ_INT(http("PUT", "/k/items/42", k, "{}", 2, false, &r), 405);
    CHECK_EQ_STR(resp_header(&r, "Allow"), "GET, POST");
    CHECK_EQ_STR(key_error_text(&r, 405),
                 "method PUT is not allowed on /k/items/42 (allowed: GET, POST)");
    /* a 405 needs no credentials either */
    resp_free(&r);
    CHECK_EQ_INT(http("DELETE", "/b/things", NULL, NULL, 0, false, &r), 405);
    CHECK_EQ_STR(resp_header(&r, "Allow"), "GET, POST");
    CHECK_EQ_STR(jstr(r.json, "fault"),
                 "method DELETE is not allowed on /b/things (allowed: GET, POST)");
    resp_free(&r);
    CHECK_EQ_INT(http("POST", "/k/items/7/tags/red", k, "{}", 2, false, &r), 405);
    CHECK_EQ_STR(resp_header(&r, "Allow"), "GET, DELETE");
    /* a path two routes match: the methods of both */
    resp_free(&r);
    CHECK_EQ_INT(http("PATCH", "/k/items/fixed", k, "{}", 2, false, &r), 405);
    /* each method once, in route order */
    CHECK_EQ_STR(resp_header(&r, "Allow"), "GET, POST");
    resp_free(&r);
}

static void test_content_type(void)
{
    struct resp r = {0};
    const char *k = api_key(key_a);
    const char *body = "{\"a\":1}";
    const char *h = roster_arena_printf(&A, "%sContent-Type: text/plain\r\n", k);
    CHECK_EQ_INT(http("POST", "/k/items/1", h, body, strlen(body), false, &r), 415);
    CHECK_EQ_STR(key_error_text(&r, 415),
                 "content type \"text/plain\" is not supported; send application/json");
    /* the credentials are checked first */
    resp_free(&r);
    CHECK_EQ_INT(
        http("POST", "/k/items/1", "Content-Type: text/plain\r\n", body, strlen(body), false, &r),
        401);
    /* JSON types, with parameters or +json, and no type at all, are taken */
    const char *types[] = {
        "Content-Type: application/json\r\n", "Content-Type: application/json; charset=utf-8\r\n",
        "Content-Type: Application/JSON\r\n", "Content-Type: application/merge-patch+json\r\n", ""};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        resp_free(&r);
        h = roster_arena_printf(&A, "%s%s", k, types[i]);
        CHECK_EQ_INT(http("POST", "/k/items/1", h, body, strlen(body), false, &r), 200);
        CHECK_EQ_STR(jstr(r.json, "route"), "item post");
        CHECK_EQ_STR(jstr(r.json, "body"), body);
    }
    /* near misses are not */
    const char *bad[] = {"Content-Type: application/jsonx\r\n", "Content-Type: text/json\r\n",
                         "Content-Type: application/x-www-form-urlencoded\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        resp_free(&r);
        h = roster_arena_printf(&A, "%s%s", k, bad[i]);
        CHECK_EQ_INT(http("POST", "/k/items/1", h, body, strlen(body), false, &r), 415);
    }
    /* a route without the JSON flag takes any type */
    resp_free(&r);
    CHECK_EQ_INT(http("GET", "/open/ping", "Content-Type: text/plain\r\n", "hi", 2, false, &r),
                 200);
    resp_free(&r);
}

static void test_body_limit(void)
{
    struct resp r = {0};
    const char *ct = "Content-Type: application/json\r\n";
    char body[MAX_BODY + 2];
    memset(body, 'x', sizeof(body));
    body[0] = '"';
    body[MAX_BODY - 1] = '"';
    /* exactly the limit: taken whole */
    CHECK_EQ_INT(http("PUT", "/open/upload", ct, body, MAX_BODY, false, &r), 200);
    CHECK_EQ_INT(strlen(jstr(r.json, "body") ? jstr(r.json, "body") : ""), MAX_BODY);
    resp_free(&r);
    CHECK_EQ_INT(http("PUT", "/open/upload", ct, body, MAX_BODY, true, &r), 200);
    CHECK_EQ_INT(strlen(jstr(r.json, "body") ? jstr(r.json, "body") : ""), MAX_BODY);
    /* one byte more, announced or streamed: 413 in the route's dialect */
    const char *msg = "open error 413: request body is larger than the limit of 256 bytes";
    resp_free(&r);
    CHECK_EQ_INT(http("PUT", "/open/upload", ct, body, MAX_BODY + 1, false, &r), 413);
    CHECK_EQ_STR(r.body, msg);
    resp_free(&r);
    CHECK_EQ_INT(http("PUT", "/open/upload", ct, body, MAX_BODY + 1, true, &r), 413);
    CHECK_EQ_STR(r.body, msg);
    /* the size is checked before the credentials */
    resp_free(&r);
    CHECK_EQ_INT(http("POST", "/k/items/1", ct, body, MAX_BODY + 2, false, &r), 413);
    CHECK_EQ_STR(key_error_text(&r, 413), "request body is larger than the limit of 256 bytes");
    resp_free(&r);
}

static void test_api_key(void)
{
    struct resp r = {0};
    CHECK_EQ_INT(get("/k/items/1", NULL, &r), 401);
    CHECK_EQ_STR(key_error_text(&r, 401), "missing x-api-key header");
    CHECK_EQ_INT(get("/k/items/1", "x-api-key: \r\n", &r), 401);
    CHECK_EQ_STR(key_error_text(&r, 401), "missing x-api-key header");
    CHECK_EQ_INT(get("/k/items/1", api_key("not-a-key"), &r), 401);
    CHECK_EQ_STR(key_error_text(&r, 401), "invalid api key");
    CHECK_EQ_INT(get("/k/items/1", api_key(key_revoked), &r), 401);
    CHECK_EQ_STR(key_error_text(&r, 401), "invalid api key");
    /* a bearer token is not an x-api-key */
    CHECK_EQ_INT(
        get("/k/items/1", roster_arena_printf(&A, "Authorization: Bearer %s\r\n", key_a), &r), 401);
    CHECK_EQ_STR(key_error_text(&r, 401), "missing x-api-key header");

    /* the key's organisation */
    CHECK_EQ_INT(get("/k/items/1", api_key(key_a), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_a.id);
    CHECK(json_is_false(json_object_get(r.json, "all_orgs")));
    CHECK_EQ_INT(get("/k/items/1", api_key(key_b), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_b.id);
    /* the handler reads through its context, in a read span */
    CHECK_EQ_INT(get("/k/org", api_key(key_b), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "name"), "router B");

    /* x-org-id: its own organisation is fine, another one is not found for a plain key */
    const char *own = roster_arena_printf(&A, "%sx-org-id: %s\r\n", api_key(key_a), org_a.id);
    CHECK_EQ_INT(get("/k/items/1", own, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_a.id);
    const char *other = roster_arena_printf(&A, "%sx-org-id: %s\r\n", api_key(key_a), org_b.id);
    CHECK_EQ_INT(get("/k/items/1", other, &r), 404);
    CHECK_EQ_STR(key_error_text(&r, 404),
                 roster_arena_printf(&A, "organization \"%s\" not found", org_b.id));
    CHECK_EQ_INT(get("/k/org", other, &r), 404);
    /* malformed */
    CHECK_EQ_INT(
        get("/k/items/1", roster_arena_printf(&A, "%sx-org-id: nope\r\n", api_key(key_a)), &r),
        400);
    CHECK_EQ_STR(key_error_text(&r, 400), "x-org-id \"nope\" is not a valid organization id");
    /* an all-organisations key selects any existing one */
    CHECK_EQ_INT(get("/k/items/1", api_key(key_all), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_a.id);
    CHECK(json_is_true(json_object_get(r.json, "all_orgs")));
    const char *sel = roster_arena_printf(&A, "%sx-org-id: %s\r\n", api_key(key_all), org_b.id);
    CHECK_EQ_INT(get("/k/items/1", sel, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_b.id);
    CHECK_EQ_INT(get("/k/org", sel, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "name"), "router B");
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(get("/k/items/1",
                     roster_arena_printf(&A, "%sx-org-id: %s\r\n", api_key(key_all), missing), &r),
                 404);
    CHECK_EQ_STR(key_error_text(&r, 404),
                 roster_arena_printf(&A, "organization \"%s\" not found", missing));
    CHECK_EQ_INT(
        get("/k/items/1", roster_arena_printf(&A, "%sx-org-id: bad id\r\n", api_key(key_all)), &r),
        400);
    resp_free(&r);
}

static void test_bearer(void)
{
    struct resp r = {0};
    const char *missing = "missing bearer token in the Authorization header";
    CHECK_EQ_INT(get("/b/things", NULL, &r), 401);
    CHECK_EQ_STR(jstr(r.json, "fault"), missing);
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "code")), 401);
    CHECK_EQ_INT(get("/b/things", "Authorization: Basic dXNlcjpwYXNz\r\n", &r), 401);
    CHECK_EQ_STR(jstr(r.json, "fault"), missing);
    CHECK_EQ_INT(get("/b/things", "Authorization: Bearer \r\n", &r), 401);
    CHECK_EQ_STR(jstr(r.json, "fault"), missing);
    CHECK_EQ_INT(get("/b/things", api_key(key_a), &r), 401);
    CHECK_EQ_STR(jstr(r.json, "fault"), missing);
    CHECK_EQ_INT(get("/b/things", "Authorization: Bearer not-a-key\r\n", &r), 401);
    CHECK_EQ_STR(jstr(r.json, "fault"), "invalid api key");
    CHECK_EQ_INT(
        get("/b/things", roster_arena_printf(&A, "Authorization: Bearer %s\r\n", key_revoked), &r),
        401);
    CHECK_EQ_STR(jstr(r.json, "fault"), "invalid api key");

    CHECK_EQ_INT(
        get("/b/things", roster_arena_printf(&A, "Authorization: Bearer %s\r\n", key_a), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "things get");
    CHECK_EQ_STR(jstr(r.json, "org"), org_a.id);
    CHECK_EQ_INT(
        get("/b/things", roster_arena_printf(&A, "Authorization: bearer %s\r\n", key_b), &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_b.id);
    /* x-org-id belongs to API key dialects: a bearer route stays in the key's organisation */
    CHECK_EQ_INT(get("/b/things",
                     roster_arena_printf(&A, "Authorization: Bearer %s\r\nx-org-id: %s\r\n",
                                         key_all, org_b.id),
                     &r),
                 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_a.id);
    resp_free(&r);
    const char *h = roster_arena_printf(
        &A, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", key_a);
    CHECK_EQ_INT(http("POST", "/b/things", h, "[1,2]", 5, false, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "things post");
    CHECK_EQ_STR(jstr(r.json, "body"), "[1,2]");
    resp_free(&r);
}

/* "Authorization: Bearer <header>.<payload>.<RS256 signature with private_pem>\r\n" */
static const char *jwt_auth(const char *private_pem, const char *header, const char *payload)
{
    int ok;
    const char *t = test_jwt_sign(&A, private_pem, header, payload, &ok);
    CHECK(ok);
    return roster_arena_printf(&A, "Authorization: Bearer %s\r\n", t);
}

static const char *jwt_header(const char *alg, const char *kid)
{
    return kid ? roster_arena_printf(&A, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
                                     kid)
               : roster_arena_printf(&A, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
}

static const char *jwt_claims(int64_t iss, int64_t iat, int64_t exp)
{
    return roster_arena_printf(&A, "{\"iss\":%lld,\"iat\":%lld,\"exp\":%lld}", (long long)iss,
                               (long long)iat, (long long)exp);
}

/* The fault of a 401 of the JWT route with these headers. */
static const char *jwt_refusal(const char *headers)
{
    struct resp r = {0};
    int status = get("/j/me", headers, &r);
    const char *msg = status == 401 && jstr(r.json, "fault")
                          ? roster_arena_strdup(&A, jstr(r.json, "fault"))
                          : roster_arena_printf(&A, "(status %d)", status);
    resp_free(&r);
    return msg;
}

static void test_jwt(void)
{
    CHECK(sa_priv && other_priv && sa_b.id[0]);
    if (!sa_priv || !other_priv || !sa_b.id[0])
        return;
    struct resp r = {0};
    int64_t now = roster_now_ms() / 1000;
    const char *hdr = jwt_header("RS256", sa_b.id);
    const char *good = jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, now, now + 600));
    /* a valid token: the organisation of its key, no API key */
    CHECK_EQ_INT(get("/j/me", good, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "jwt me");
    CHECK_EQ_STR(jstr(r.json, "org"), org_b.id);
    CHECK(json_is_null(json_object_get(r.json, "all_orgs")));
    /* again (the verification is cached): the same answer */
    CHECK_EQ_INT(get("/j/me", good, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "org"), org_b.id);
    resp_free(&r);

    CHECK_EQ_STR(jwt_refusal(NULL),
                 "authorization failed: missing bearer token in the Authorization header");
    CHECK_EQ_STR(jwt_refusal(api_key(key_b)),
                 "authorization failed: missing bearer token in the Authorization header");
    /* an API key is no JWT */
    const char *msg = jwt_refusal(roster_arena_printf(&A, "Authorization: Bearer %s\r\n", key_b));
    CHECK(strncmp(msg, "authorization failed: ", 22) == 0);
    CHECK_EQ_STR(jwt_refusal(jwt_auth(sa_priv, jwt_header("HS256", sa_b.id),
                                      jwt_claims(org_b.num_id, now, now + 600))),
                 "authorization failed: the token must be signed with RS256");
    CHECK_EQ_STR(jwt_refusal(jwt_auth(sa_priv, jwt_header("RS256", NULL),
                                      jwt_claims(org_b.num_id, now, now + 600))),
                 "authorization failed: the token has no kid header");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr,
                             roster_arena_printf(&A, "{\"iss\":%lld,\"iat\":%lld}",
                                                 (long long)org_b.num_id, (long long)now))),
        "authorization failed: the token needs integer iat and exp claims");
    CHECK_EQ_STR(jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, now, now + 3601))),
                 "authorization failed: the token's exp must be after iat by at most 3600 seconds");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, now - 7200, now - 3600))),
        "authorization failed: the token has expired");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, now + 3600, now + 4000))),
        "authorization failed: the token is issued in the future");
    /* lifetimes whose arithmetic would overflow (issue 14): refused, not accepted */
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, INT64_MIN, now + 315360000))),
        "authorization failed: the token's exp must be after iat by at most 3600 seconds");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, INT64_MIN, INT64_MAX))),
        "authorization failed: the token's exp must be after iat by at most 3600 seconds");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, INT64_MAX - 600, INT64_MAX))),
        "authorization failed: the token is issued in the future");
    CHECK_EQ_STR(
        jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_b.num_id, INT64_MIN, INT64_MIN + 600))),
        "authorization failed: the token has expired");
    char unknown[ROSTER_ID_LEN + 1];
    roster_id_new(unknown);
    CHECK_EQ_STR(jwt_refusal(jwt_auth(sa_priv, jwt_header("RS256", unknown),
                                      jwt_claims(org_b.num_id, now, now + 600))),
                 "authorization failed: unknown or revoked key");
    /* the key is B's: a token claiming A's account is refused */
    CHECK_EQ_STR(jwt_refusal(jwt_auth(sa_priv, hdr, jwt_claims(org_a.num_id, now, now + 600))),
                 "authorization failed: the token's iss is not the account of its key");
    /* signed with another key */
    msg = jwt_refusal(jwt_auth(other_priv, hdr, jwt_claims(org_b.num_id, now, now + 600)));
    CHECK(strncmp(msg, "authorization failed: ", 22) == 0);
    /* a revoked key: the token that worked is refused */
    struct roster_err err = {0};
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, sa_b.id, &err), 0);
    CHECK_EQ_STR(jwt_refusal(good), "authorization failed: unknown or revoked key");
}

static void test_no_auth(void)
{
    struct resp r = {0};
    CHECK_EQ_INT(get("/open/ping?q=1", NULL, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "ping");
    CHECK(json_is_null(json_object_get(r.json, "org")));
    CHECK(json_is_null(json_object_get(r.json, "all_orgs")));
    CHECK_EQ_STR(jstr(r.json, "q"), "1");
    /* a key sent anyway changes nothing */
    CHECK_EQ_INT(get("/open/ping", api_key(key_a), &r), 200);
    CHECK(json_is_null(json_object_get(r.json, "org")));
    CHECK_EQ_INT(get("/healthz", NULL, &r), 200);
    CHECK_EQ_STR(jstr(r.json, "route"), "health");
    resp_free(&r);
}

static void make_org(struct roster_org *o, const char *name)
{
    test_make_org(conn, o, name);
}

static void make_key(const struct roster_org *o, const char *secret, bool all_orgs,
                     struct roster_key *key)
{
    struct roster_err err = {0};
    memset(key, 0, sizeof(*key));
    snprintf(key->org_id, sizeof(key->org_id), "%s", o->id);
    key->name = secret;
    key->all_orgs = all_orgs;
    roster_sha256_hex(secret, strlen(secret), key->hash);
    CHECK_EQ_INT(roster_store_key_create(conn, key, &err), 0);
}

/* A pattern of more captures than r->params holds matches no path: the router counted all
 * five into r->nparams, past the end of the array of four (found by tests/fuzz/router.c). */
static void test_too_many_captures(void)
{
    static const struct roster_route t[] = {
        {"GET", "/f/{a}/{b}/{c}/{d}/{e}", &key_dialect, echo, 0, "five"},
        {"GET", "/f/{a}/{b}/{c}/{d}", &key_dialect, echo, 0, "four"},
    };
    struct roster_routes table = {t, sizeof(t) / sizeof(t[0])};
    struct roster_req r;
    memset(&r, 0, sizeof(r));
    bool matched = true;
    CHECK(roster_route_find(&table, "GET", "/f/1/2/3/4/5", &r, &A, &matched) == NULL);
    CHECK(!matched);
    CHECK(r.nparams <= ROSTER_MAX_PATH_PARAMS);
    CHECK_EQ_STR(roster_route_allow(&table, "/f/1/2/3/4/5", &A), "");
    /* four captures still match */
    CHECK(roster_route_find(&table, "GET", "/f/1/2/3/4", &r, &A, &matched) == &t[1]);
    CHECK(matched);
    CHECK_EQ_INT(r.nparams, 4);
    CHECK_EQ_STR(r.params[3], "4");
}

/* ROSTER_ROUTE_ICASE: the pattern's literal characters ignore ASCII case; captures keep the
 * case sent; a route without the flag stays exact */
static void test_icase(void)
{
    static const struct roster_route t[] = {
        {"GET", "/scim/v2/Users", &key_dialect, echo, ROSTER_ROUTE_ICASE, "users"},
        {"GET", "/scim/v2/Users/{id}", &key_dialect, echo, ROSTER_ROUTE_ICASE, "user"},
        {"PUT", "/scim/v2/Users/{id}", &key_dialect, echo, ROSTER_ROUTE_ICASE, "user put"},
        {"GET", "/exact/Path", &key_dialect, echo, 0, "exact"},
    };
    struct roster_routes table = {t, sizeof(t) / sizeof(t[0])};
    struct roster_req r;
    memset(&r, 0, sizeof(r));
    bool matched = false;
    CHECK(roster_route_find(&table, "GET", "/scim/v2/Users", &r, &A, &matched) == &t[0]);
    CHECK(roster_route_find(&table, "GET", "/scim/v2/users", &r, &A, &matched) == &t[0]);
    CHECK(roster_route_find(&table, "GET", "/SCIM/V2/USERS", &r, &A, &matched) == &t[0]);
    CHECK(roster_route_find(&table, "GET", "/scim/v2/uSeRs/AbC", &r, &A, &matched) == &t[1]);
    CHECK_EQ_INT(r.nparams, 1);
    CHECK_EQ_STR(r.params[0], "AbC");
    CHECK(roster_route_find(&table, "GET", "/scim/v2/Userz", &r, &A, &matched) == NULL);
    CHECK(!matched);
    /* 405 with the methods of the path in any case */
    CHECK(roster_route_find(&table, "POST", "/scim/v2/users/x", &r, &A, &matched) == NULL);
    CHECK(matched);
    CHECK_EQ_STR(roster_route_allow(&table, "/scim/v2/users/x", &A), "GET, PUT");
    CHECK(roster_route_find(&table, "GET", "/exact/Path", &r, &A, &matched) == &t[3]);
    CHECK(roster_route_find(&table, "GET", "/exact/path", &r, &A, &matched) == NULL);
    CHECK(!matched);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    roster_arena_init(&A, 0);
    struct test_store ts;
    int rc = test_store_open(&ts, "router");
    st = ts.st;
    conn = ts.conn;
    CHECK_EQ_INT(rc, 0);
    const char *url = roster_arena_printf(&A, "%s/r.db", ts.dir);
    struct roster_err err = {0};
    struct roster_app app;
    memset(&app, 0, sizeof(app));
    app.cfg.listen = "127.0.0.1:0";
    app.cfg.store_url = url;
    app.cfg.max_body = MAX_BODY;
    app.cfg.http_threads = 2;
    struct roster_server *srv = NULL;
    if (rc == 0) {
        app.store = st;
        make_org(&org_a, "router A");
        make_org(&org_b, "router B");
        struct roster_key k;
        make_key(&org_a, key_a, false, &k);
        make_key(&org_a, key_all, true, &k);
        make_key(&org_b, key_b, false, &k);
        make_key(&org_a, key_revoked, true, &k);
        CHECK_EQ_INT(roster_store_key_revoke(conn, k.id, &err), 0);
        CHECK_EQ_INT(roster_rsa_keypair(2048, &sa_priv, &sa_pub, &err), 0);
        CHECK_EQ_INT(roster_rsa_keypair(2048, &other_priv, &other_pub, &err), 0);
        snprintf(sa_b.org_id, sizeof(sa_b.org_id), "%s", org_b.id);
        sa_b.name = "router test";
        sa_b.public_key_pem = sa_pub;
        CHECK_EQ_INT(roster_store_sa_key_create(conn, &sa_b, &err), 0);
        struct roster_routes table = {routes, sizeof(routes) / sizeof(routes[0])};
        rc = roster_server_start(&app, &table, &srv, &err);
        CHECK_EQ_INT(rc, 0);
        if (rc != 0)
            fprintf(stderr, "cannot start the server: %s\n", err.msg);
    }
    if (rc == 0) {
        port = roster_server_port(srv);
        CHECK(port > 0);
        test_captures();
        test_first_match();
        test_not_found();
        test_method_not_allowed();
        test_content_type();
        test_body_limit();
        test_api_key();
        test_bearer();
        test_jwt();
        test_no_auth();
    }
    test_too_many_captures();
    test_icase();
    roster_server_stop(srv);
    test_store_close(&ts);
    free(sa_priv);
    free(sa_pub);
    free(other_priv);
    free(other_pub);
    roster_arena_release(&A);
    return test_finish();
}
