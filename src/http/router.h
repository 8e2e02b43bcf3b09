/* Routing: matching a request's method and path against the route table (router.c). Apart
 * from server.c so that the fuzz target tests/fuzz/router.c drives it without a server. */
#ifndef ROSTER_HTTP_ROUTER_H
#define ROSTER_HTTP_ROUTER_H

#include <stdbool.h>

#include "roster/http.h"

/* The first route of routes whose method is method and whose pattern matches path (each
 * {x} matches one non-empty segment; a pattern of more than ROSTER_MAX_PATH_PARAMS of them
 * matches nothing), its captures in r->params and r->nparams (copies in
 * a); NULL when there is none. *path_matched: some route of any method matches the path
 * (405 rather than 404). */
const struct roster_route *roster_route_find(const struct roster_routes *routes, const char *method,
                                             const char *path, struct roster_req *r,
                                             struct roster_arena *a, bool *path_matched);
/* The dialect of the first route whose first path segment is path's (/api -> JumpCloud,
 * /bulk -> Courier), for the error shape of a path no route has; NULL when none. */
const struct roster_dialect *roster_route_owner(const struct roster_routes *routes,
                                                const char *path);
/* "GET, POST": the methods of the routes matching path, for the Allow header of a 405. */
const char *roster_route_allow(const struct roster_routes *routes, const char *path,
                               struct roster_arena *a);

#endif
