/* Routing (router.h): the route table searched in order, the first match winning. */
#include <string.h>

#include "router.h"

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Matches path against pattern (its literal characters ignoring ASCII case when icase);
 * captures {x} segments into r->params (arena copies). A
 * pattern of more than ROSTER_MAX_PATH_PARAMS captures matches no path (r->nparams counted
 * them all, past the end of r->params: found by tests/fuzz/router.c). */
static bool route_match(const char *pattern, bool icase, const char *path, struct roster_req *r,
                        struct roster_arena *a)
{
    const char *p = pattern, *s = path;
    size_t np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            if (!se)
                se = s + strlen(s);
            if (se == s || !pe)
                return false;
            if (np == ROSTER_MAX_PATH_PARAMS)
                return false; /* more captures than r->params holds: never matches */
            if (r)
                r->params[np] = roster_arena_strndup(a, s, (size_t)(se - s));
            np++;
            p = pe + 1;
            s = se;
            continue;
        }
        if (*p != *s && !(icase && ascii_lower(*p) == ascii_lower(*s)))
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    if (r)
        r->nparams = np;
    return true;
}

static bool icase_of(const struct roster_route *rt)
{
    return (rt->flags & ROSTER_ROUTE_ICASE) != 0;
}

const struct roster_dialect *roster_route_owner(const struct roster_routes *routes,
                                                const char *path)
{
    for (size_t i = 0; i < routes->n; i++) {
        const struct roster_route *rt = &routes->v[i];
        /* the dialect of the first route whose first path segment is the path's (/api ->
         * JumpCloud, /bulk -> Courier) */
        const char *brace = strchr(rt->pattern, '{');
        size_t lit = brace ? (size_t)(brace - rt->pattern) : strlen(rt->pattern);
        const char *slash = memchr(rt->pattern + 1, '/', lit > 1 ? lit - 1 : 0);
        size_t first = slash ? (size_t)(slash - rt->pattern) : lit;
        if (strncmp(path, rt->pattern, first) == 0 && (path[first] == '/' || path[first] == '\0'))
            return rt->dialect;
    }
    return NULL;
}

const char *roster_route_allow(const struct roster_routes *routes, const char *path,
                               struct roster_arena *a)
{
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < routes->n; i++) {
        if (!route_match(routes->v[i].pattern, icase_of(&routes->v[i]), path, NULL, NULL))
            continue;
        bool seen = false; /* two routes of one method may match the path */
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(routes->v[k].method, routes->v[i].method) == 0 &&
                   route_match(routes->v[k].pattern, icase_of(&routes->v[k]), path, NULL, NULL);
        if (seen)
            continue;
        if (b.len)
            roster_buf_addstr(&b, ", ");
        roster_buf_addstr(&b, routes->v[i].method);
    }
    const char *out = roster_arena_strdup(a, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

const struct roster_route *roster_route_find(const struct roster_routes *routes, const char *method,
                                             const char *path, struct roster_req *r,
                                             struct roster_arena *a, bool *path_matched)
{
    *path_matched = false;
    for (size_t i = 0; i < routes->n; i++) {
        const struct roster_route *rt = &routes->v[i];
        if (!route_match(rt->pattern, icase_of(rt), path, NULL, NULL))
            continue;
        *path_matched = true;
        if (strcmp(rt->method, method) == 0) {
            route_match(rt->pattern, icase_of(rt), path, r, a);
            return rt;
        }
    }
    return NULL;
}
