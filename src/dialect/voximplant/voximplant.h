/* The Voximplant Management API dialect (docs/voximplant.md): POST /platform_api with a cmd
 * parameter, and GET/POST /platform_api/{Method}, authenticated by a service account's RS256
 * JWT (src/http/server.c). Parameters come from the query string and the body
 * (multipart/form-data, x-www-form-urlencoded or a JSON object); answers are HTTP 200 JSON,
 * errors {"error": {"msg", "code"}}. Never touches SQL, never decides business rules.
 */
#ifndef ROSTER_DIALECT_VOXIMPLANT_H
#define ROSTER_DIALECT_VOXIMPLANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/group.h"
#include "roster/http.h"

extern const struct roster_dialect roster_voximplant_dialect;

/* the route handler of every /platform_api path */
void vox_platform_api(struct roster_req *r);

/* Voximplant error codes (voximplant.com/docs/references/httpapi/errors) */
enum vox_code {
    VOX_EINTERNAL = 2,
    VOX_EAUTH = 100,
    VOX_EINVAL = 101,
    VOX_ENOCMD = 102,
    VOX_EUNKNOWN = 103,
    VOX_EAPPNAME = 107,
    VOX_EPASSWORD = 112,
    VOX_ERATELIMIT = 340, /* "Rate limit exceed" (APIErrorCode.RATE_LIMIT_EXCEED of the client) */
};

/* One call: its parameters (query string first, then the body; the first value of a name
 * wins) and the request. */
struct vox_call {
    struct roster_req *r;
    const char **k, **v;
    size_t n, cap;
    bool failed; /* an error body was written */
};

/* Adds the parameters of a request body body[0..len) of content type ct (NULL: urlencoded)
 * to c: multipart/form-data, application/x-www-form-urlencoded or a JSON object. 0, or -1
 * with error 101 written (a malformed body, a NUL in a value, an unsupported type). */
int vox_body_params(struct vox_call *c, const char *ct, const char *body, size_t len);

/* Writes {"error": {"msg", "code"}} with HTTP 200; returns -1. */
int vox_fail(struct vox_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a core/store error to a Voximplant code and writes it; returns -1. */
int vox_fail_err(struct vox_call *c, const struct roster_err *err);

/* Parameter readers: absent -> *has = false (and the default); a bad value writes error 101
 * naming the parameter and returns -1. */
const char *vox_param(struct vox_call *c, const char *name);
int vox_int(struct vox_call *c, const char *name, int64_t min, int64_t max, int64_t *out,
            bool *has);
int vox_bool(struct vox_call *c, const char *name, bool def, bool *out, bool *has);
/* "1;2;3" or "all" (*all = true, no ids) */
int vox_intlist(struct vox_call *c, const char *name, int64_t **out, size_t *n, bool *all,
                bool *has);
/* "a;b;c" */
int vox_strlist(struct vox_call *c, const char *name, const char ***out, size_t *n, bool *has);

/* "YYYY-MM-DD HH:mm:ss" UTC in the arena, or in out (VOX_TIME_LEN characters and a NUL) */
#define VOX_TIME_LEN 19
const char *vox_time(struct roster_arena *a, int64_t ms);
void vox_time_buf(char out[VOX_TIME_LEN + 1], int64_t ms);

typedef void (*vox_method_fn)(struct vox_call *c);
struct vox_method {
    const char *name;
    vox_method_fn fn;
};
/* The method named name (methods.c), or NULL when roster has none of that name. */
vox_method_fn vox_method_find(const char *name);

#endif
