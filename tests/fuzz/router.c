/* The router (src/http/router.c) on any method and path: "<method> <path>" (the request
 * line as libmicrohttpd hands it over, the path already URL-decoded), matched against the
 * server's real route table, and "<pattern>\n<path>" against a table of one route made from
 * the input. A route found has the request's method, a pattern the path fits, and at most
 * ROSTER_MAX_PATH_PARAMS captures, each one non-empty segment of the path; the Allow list
 * of a matched path names the route's method; a path a real route has has an owning
 * dialect. */
#include "dialect/dialects.h"
#include "fuzz.h"
#include "http/router.h"

/* real: the server's table, whose patterns all start with a literal segment (so a path a
 * route has always has an owning dialect); a fuzzed pattern need not */
static void check(const struct roster_routes *routes, bool real, const char *method,
                  const char *path, struct roster_arena *a)
{
    struct roster_req r;
    memset(&r, 0, sizeof(r));
    bool matched = true;
    const struct roster_route *rt = roster_route_find(routes, method, path, &r, a, &matched);
    const char *allow = roster_route_allow(routes, path, a);
    FUZZ_CHECK(allow && (*allow != '\0') == matched);
    if (!rt) {
        FUZZ_CHECK(r.nparams == 0);
        (void)roster_route_owner(routes, path);
        return;
    }
    FUZZ_CHECK(matched && strcmp(rt->method, method) == 0 && strstr(allow, method));
    FUZZ_CHECK(r.nparams <= ROSTER_MAX_PATH_PARAMS);
    for (size_t i = 0; i < r.nparams; i++)
        FUZZ_CHECK(r.params[i] && *r.params[i] && !strchr(r.params[i], '/') &&
                   strstr(path, r.params[i]));
    FUZZ_CHECK(!real || roster_route_owner(routes, path) != NULL);
}

static void noop(struct roster_req *r)
{
    (void)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    char *line = fuzz_cstr(data, size);
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        check(&roster_dialect_routes, true, line, sp + 1, &a);
    }
    free(line);

    char *pattern;
    const uint8_t *rest;
    size_t rest_len;
    fuzz_split(data, size, &pattern, &rest, &rest_len);
    char *path = fuzz_cstr(rest, rest_len);
    struct roster_route one = {"GET", pattern, &roster_plain_dialect, noop, 0, "fuzzed"};
    struct roster_routes table = {&one, 1};
    check(&table, false, "GET", path, &a);
    free(path);
    free(pattern);
    roster_arena_release(&a);
    return 0;
}
