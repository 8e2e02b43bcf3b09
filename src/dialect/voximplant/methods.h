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

/* --- the methods --- */
void vox_add_user(struct vox_call *c);
void vox_del_user(struct vox_call *c);
void vox_set_user_info(struct vox_call *c);
void vox_get_users(struct vox_call *c);
void vox_add_application(struct vox_call *c);
void vox_get_applications(struct vox_call *c);
void vox_del_application(struct vox_call *c);
/* BindUser (legacy docs): binds users (user_id ids or "all" / user_name names) to
 * applications (application_id ids or "all" / application_name names), or unbinds them. */
void vox_bind_user(struct vox_call *c);
void vox_add_skill(struct vox_call *c);
void vox_del_skill(struct vox_call *c);
void vox_set_skill_info(struct vox_call *c);
void vox_get_skills(struct vox_call *c);
void vox_bind_skill(struct vox_call *c);
void vox_add_queue(struct vox_call *c);
void vox_get_queues(struct vox_call *c);
void vox_del_queue(struct vox_call *c);
void vox_bind_user_to_queue(struct vox_call *c);

#endif
