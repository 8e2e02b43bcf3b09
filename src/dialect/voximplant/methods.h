/* Private to src/dialect/voximplant: the methods (users.c, groups.c) and what they share
 * (lookup.c).
 */
#ifndef ROSTER_DIALECT_VOXIMPLANT_METHODS_H
#define ROSTER_DIALECT_VOXIMPLANT_METHODS_H

#include "dialect/voximplant/voximplant.h"
#include "roster/core.h"
#include "roster/password.h"
#include "roster/query.h"

#define VOX_COUNT_DEFAULT 20
#define VOX_COUNT_MAX 1000
#define ID_MAX INT64_MAX

static inline struct roster_arena *vox_arena(struct vox_call *c)
{
    return c->r->ctx.arena;
}

/* --- lookup.c --- */
/* {"result": 1}, plus "<key>": id when key is not NULL (the id of what was added) */
void vox_ok1(struct vox_call *c, const char *key, int64_t id);
/* After a core call that returned rc: its failure (vox_fail_err), else vox_ok1(c, key, id) */
void vox_done(struct vox_call *c, int rc, const struct roster_err *err, const char *key,
              int64_t id);
/* count (default 20, 1..1000) and offset (default 0) */
int vox_paging(struct vox_call *c, int64_t *count, int64_t *offset);
/* "application", "skill" or "ACD queue": the word of error messages */
const char *vox_kind_name(int kind);
/* Every group of kind (optionally with parent), in num_id order. */
int vox_all_groups(struct vox_call *c, int kind, int64_t parent, struct roster_group **out,
                   size_t *n);
/* The group of kind named by <id_param> (an id) or <name_param> (an exact name); *has =
 * false when neither is given. A missing one: error 101 naming it. */
int vox_one_group(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                  struct roster_group *out, bool *has);
/* Groups of kind chosen by <id_param> (ids or "all") or <name_param> (names); *has = false
 * when neither is given. Every id and name must exist (else error 101 naming it). */
int vox_some_groups(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                    int64_t parent, int64_t **out, size_t *n, bool *has);
/* The application of application_id / application_name. */
int vox_application(struct vox_call *c, bool required, struct roster_group *out, bool *has);
/* The users chosen by user_id (ids or "all") or user_name (names), in the application app
 * when app_num != 0 (required with user_name, as in Voximplant). Every id and name must
 * exist (else error 101 naming it). */
int vox_some_users(struct vox_call *c, int64_t app_num, struct roster_user **out, size_t *n,
                   bool *has);
/* The members of an application object (GetApplications, and GetUsers' applications). */
void vox_put_app_fields(struct roster_jsonw *w, const struct roster_group *g);

/* A Voximplant name: min..max characters, the first a lower-case letter or digit, the
 * others too or one of the characters of more. */
bool vox_name_ok(const char *s, size_t min, size_t max, const char *more);

/* The methods of users.c and groups.c by name, each table ended by {NULL, NULL} */
extern const struct vox_method vox_user_methods[];
extern const struct vox_method vox_group_methods[];

#endif
