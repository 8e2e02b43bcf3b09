/* The HTTP edge: a request as handlers see it, the response they fill in, the route table
 * and the dialect descriptor (auth kind + error body encoder). No business rules here.
 *
 * A handler runs on one of libmicrohttpd's pool threads with the whole body read (and
 * already checked against --max-body), the caller authenticated, and ctx set to the
 * caller's organisation. It allocates from ctx.arena and frees nothing.
 */
#ifndef ROSTER_HTTP_H
#define ROSTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "roster/core.h"
#include "roster/jsonw.h"
#include "roster/util.h"

#define ROSTER_MAX_PATH_PARAMS 4 /* {x} captures of a route pattern at most (more: no match) */
#define ROSTER_MAX_RESP_HEADERS 8

struct roster_req;
struct roster_server;

enum roster_auth_kind {
    ROSTER_AUTH_NONE,
    ROSTER_AUTH_API_KEY, /* x-api-key header, optional x-org-id (JumpCloud) */
    ROSTER_AUTH_BEARER,  /* Authorization: Bearer <api key> (Courier, Concur) */
    ROSTER_AUTH_JWT,     /* Authorization: Bearer <RS256 JWT of a service account> (Voximplant) */
};

struct roster_dialect {
    const char *name;
    int auth; /* enum roster_auth_kind */
    /* Writes this vendor's error body with status; msg names what was wrong. */
    void (*error)(struct roster_req *r, int status, const char *msg);
};

/* No auth, error body {"message": "..."}: ops routes and paths of no dialect. */
extern const struct roster_dialect roster_plain_dialect;

typedef void (*roster_handler_fn)(struct roster_req *r);

#define ROSTER_ROUTE_JSON_BODY 0x1u /* the body must be JSON (415 otherwise) */
/* the handler only reads: auth and handler run in one store read span (read_begin) */
#define ROSTER_ROUTE_READ_SPAN 0x2u
/* the pattern's literal characters match without regard to ASCII case ("/scim/v2/users" as
 * "/scim/v2/Users": SCIM clients such as Entra ID); captures keep the case sent */
#define ROSTER_ROUTE_ICASE 0x4u

struct roster_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v2/bulk/users/{job_id}/results": {x} captures one segment */
    const struct roster_dialect *dialect;
    roster_handler_fn fn;
    unsigned flags;
    const char *summary;
};

/* The routes a server answers, in the order they are tried (the first match wins). The
 * HTTP layer knows no dialect: the table is the dialect layer's (src/dialect/dialects.h). */
struct roster_routes {
    const struct roster_route *v;
    size_t n;
};

struct roster_resp_header {
    const char *name, *value;
};

struct roster_req {
    struct roster_ctx ctx;
    const char *method;
    const char *path;                           /* decoded path, no query string */
    const char *params[ROSTER_MAX_PATH_PARAMS]; /* {x} captures, in order, URL-decoded */
    size_t nparams;
    const char *body; /* NUL-terminated; "" when there is none */
    size_t body_len;
    const struct roster_route *route;
    const struct roster_dialect *dialect; /* the route's, or the one owning an unmatched path */
    void *conn;                           /* the MHD connection; only http/ touches it */
    /* the authenticated credential ("key:<id>" or "sa:<kid>"), whose bucket a request takes
     * a token from; NULL before auth and on routes without it */
    const char *credential;
    /* set on a refusal that says when to come back (a rate limit's 429): the seconds of its
     * Retry-After header, which the dialect's error encoder may read (Courier lets its
     * client retry such a 429); 0 otherwise */
    int64_t retry_after_s;
    struct roster_server *server; /* the server it came to; only http/ touches it */

    /* response */
    int status;
    const char *content_type;
    struct roster_buf resp;
    struct roster_resp_header headers[ROSTER_MAX_RESP_HEADERS];
    size_t nheaders;
};

/* Request accessors (names are case-insensitive for headers, exact for query). */
const char *roster_req_header(struct roster_req *r, const char *name);
const char *roster_req_query(struct roster_req *r, const char *name);
/* All values of a repeated query parameter, in order; returns how many (up to max). */
size_t roster_req_query_all(struct roster_req *r, const char *name, const char **out, size_t max);
/* Calls fn for every query parameter (key, value may be NULL); stops when fn returns false. */
void roster_req_query_each(struct roster_req *r, bool (*fn)(void *ud, const char *k, const char *v),
                           void *ud);

/* Response helpers. roster_resp_json sets status and content type and returns a writer
 * over the response body. */
struct roster_jsonw *roster_resp_json(struct roster_req *r, int status, struct roster_jsonw *w);
void roster_resp_empty(struct roster_req *r, int status);
void roster_resp_header(struct roster_req *r, const char *name, const char *value);
/* Sends the route dialect's error body. */
void roster_resp_error(struct roster_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends a core or store failure in the route's dialect: status roster_http_status(code),
 * err->msg as the message. A 5xx (the store's or the server's trouble, not the caller's)
 * is also logged with err->detail. */
void roster_resp_fail(struct roster_req *r, int code, const struct roster_err *err);
/* Maps a core error code to an HTTP status: EINVAL 400, ENOTFOUND 404, ECONFLICT 409,
 * EAUTH 401, EFORBIDDEN 403, ETOOBIG 413, EQUOTA 429, EBUSY 503, else 500. */
int roster_http_status(int code);
/* The reason phrase of an HTTP status ("Not Found"). */
const char *roster_http_reason(int status);

/* Parses an integer query parameter in [min, max]; absent -> def. On a bad value sends
 * the dialect's 400 naming the parameter and returns -1. */
int roster_req_query_int(struct roster_req *r, const char *name, int64_t def, int64_t min,
                         int64_t max, int64_t *out);

/* Parses a rate: "N", "N/s", "N/m" or "N/h" (N a decimal number >= 0) into requests per
 * second; -1 when s is none of these. */
int roster_rate_parse(const char *s, double *per_s);
/* Appends what the HTTP layer of r's server counts, in the Prometheus text format:
 * requests by route and status, their durations by route, connections open and
 * accepted (GET /metrics; src/http/http_metrics.c). */
void roster_http_metrics_write(struct roster_req *r, struct roster_buf *out);

/* --- server --- */
int roster_server_start(struct roster_app *app, const struct roster_routes *routes,
                        struct roster_server **out, struct roster_err *err);
/* The port actually bound (useful with port 0). */
int roster_server_port(const struct roster_server *s);
void roster_server_stop(struct roster_server *s);

#endif
