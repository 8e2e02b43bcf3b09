/* Voximplant's applications, skills and ACD queues (typed groups) and the bindings of users
 * to them. Choices where Voximplant's contract is open: docs/voximplant.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/voximplant/methods.h"
#include "roster/jsonutil.h"

/* --- applications --- */

/* Voximplant's short application names: a letter or digit, then letters, digits, '-' and
 * '.', 64 characters at most (lower case). */
static bool app_name_ok(const char *s)
{
    return vox_name_ok(s, 1, 64, "-.");
}

static void vox_add_application(struct vox_call *c)
{
    const char *name = vox_param(c, "application_name");
    if (!name) {
        vox_fail(c, VOX_EINVAL, "Invalid arguments: application_name is required");
        return;
    }
    if (!app_name_ok(name)) {
        vox_fail(c, VOX_EAPPNAME,
                 "Invalid application name \"%.64s\": 1 to 64 of a-z, 0-9, '-' and '.', "
                 "starting with a letter or digit",
                 name);
        return;
    }
    bool srs;
    if (vox_bool(c, "secure_record_storage", false, &srs, NULL) != 0)
        return;
    struct roster_group g = {0};
    g.kind = ROSTER_GROUP_APPLICATION;
    g.name = name;
    g.extra = srs ? "{\"secure_record_storage\":true}" : "{\"secure_record_storage\":false}";
    struct roster_err err = {0};
    int rc = roster_group_create(&c->r->ctx, &g, &err);
    if (rc == ROSTER_ECONFLICT) {
        vox_fail(c, VOX_EAPPNAME, "Invalid application name \"%.64s\": it is already used", name);
        return;
    }
    if (rc != 0) {
        vox_fail_err(c, &err);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(c->r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "result", 1);
    roster_jsonw_kint(&w, "application_id", g.num_id);
    roster_jsonw_kstr(&w, "application_name", g.name);
    roster_jsonw_kbool(&w, "secure_record_storage", srs);
    roster_jsonw_obj_end(&w);
}

/* GetApplications, GetSkills, GetQueues: a page of groups of kind */
static void list_groups(struct vox_call *c, int kind, const char *id_param, const char *name_param)
{
    struct roster_group_query q = {.kind = kind, .want_total = true};
    if (vox_int(c, id_param, 1, ID_MAX, &q.num_id, NULL) != 0 ||
        vox_paging(c, &q.limit, &q.skip) != 0)
        return;
    q.name_part = vox_param(c, name_param);
    if (kind == ROSTER_GROUP_QUEUE) {
        struct roster_group app = {0};
        bool has_app;
        if (vox_application(c, false, &app, &has_app) != 0)
            return;
        if (has_app)
            q.parent_num_id = app.num_id;
    }
    struct roster_err err = {0};
    struct roster_group *g;
    size_t n;
    int64_t total = 0;
    if (roster_group_list(&c->r->ctx, &q, &g, &n, &total, &err) != 0) {
        vox_fail_err(c, &err);
        return;
    }
    struct roster_jsonw w;
    roster_resp_json(c->r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "result");
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        roster_jsonw_obj_begin(&w);
        if (kind == ROSTER_GROUP_APPLICATION) {
            vox_put_app_fields(&w, &g[i]);
        } else if (kind == ROSTER_GROUP_SKILL) {
            roster_jsonw_kint(&w, "skill_id", g[i].num_id);
            roster_jsonw_kstr(&w, "skill_name", g[i].name);
        } else {
            roster_jsonw_kint(&w, "acd_queue_id", g[i].num_id);
            roster_jsonw_kstr(&w, "acd_queue_name", g[i].name);
            roster_jsonw_kint(&w, "application_id", g[i].parent_num_id);
            /* the settings given to AddQueue, as stored */
            json_t *x = g[i].extra ? json_loads(g[i].extra, 0, NULL) : NULL;
            const char *k;
            json_t *v;
            json_object_foreach(x, k, v)
            {
                if (json_is_integer(v))
                    roster_jsonw_kint(&w, k, json_integer_value(v));
                else if (json_is_boolean(v))
                    roster_jsonw_kbool(&w, k, json_is_true(v));
            }
            json_decref(x);
            roster_jsonw_kstr(&w, "created", vox_time(vox_arena(c), g[i].created_ms));
            roster_jsonw_kstr(&w, "modified", vox_time(vox_arena(c), g[i].modified_ms));
        }
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
    roster_jsonw_kint(&w, "total_count", total);
    roster_jsonw_kint(&w, "count", (int64_t)n);
    roster_jsonw_obj_end(&w);
}

static void vox_get_applications(struct vox_call *c)
{
    list_groups(c, ROSTER_GROUP_APPLICATION, "application_id", "application_name");
}

/* Groups of kind chosen by <id_param> or <name_param> (vox_some_groups), one of which is
 * required; -1 after answering the error. */
static int chosen_groups(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                         int64_t **ids, size_t *n)
{
    bool has;
    if (vox_some_groups(c, kind, id_param, name_param, 0, ids, n, &has) != 0)
        return -1;
    if (!has) {
        vox_fail(c, VOX_EINVAL, "Invalid arguments: %s or %s is required", id_param, name_param);
        return -1;
    }
    return 0;
}

/* DelApplication, DelSkill, DelQueue */
static void del_groups(struct vox_call *c, int kind, const char *id_param, const char *name_param)
{
    int64_t *ids;
    size_t n;
    if (chosen_groups(c, kind, id_param, name_param, &ids, &n) != 0)
        return;
    struct roster_err err = {0};
    int rc = roster_groups_delete(&c->r->ctx, kind, ids, n, &err);
    vox_done(c, rc, &err, NULL, 0);
}

static void vox_del_application(struct vox_call *c)
{
    del_groups(c, ROSTER_GROUP_APPLICATION, "application_id", "application_name");
}

/* Creates g; answers with its id as id_key, or the failure. */
static void create_group(struct vox_call *c, struct roster_group *g, const char *id_key)
{
    struct roster_err err = {0};
    int rc = roster_group_create(&c->r->ctx, g, &err);
    vox_done(c, rc, &err, id_key, g->num_id);
}

/* --- skills --- */

static void vox_add_skill(struct vox_call *c)
{
    const char *name = vox_param(c, "skill_name");
    if (!name || !*name || strlen(name) >= 512) {
        vox_fail(c, VOX_EINVAL, "Invalid argument 'skill_name': 1 to 511 characters required");
        return;
    }
    struct roster_group g = {.kind = ROSTER_GROUP_SKILL, .name = name};
    create_group(c, &g, "skill_id");
}

static void vox_del_skill(struct vox_call *c)
{
    del_groups(c, ROSTER_GROUP_SKILL, "skill_id", "skill_name");
}

static void vox_set_skill_info(struct vox_call *c)
{
    struct roster_group g = {0};
    bool has;
    if (vox_one_group(c, ROSTER_GROUP_SKILL, "skill_id", "skill_name", &g, &has) != 0)
        return;
    const char *nn = vox_param(c, "new_skill_name");
    if (!has || !nn) {
        vox_fail(c, VOX_EINVAL, "Invalid arguments: %s is required",
                 !has ? "skill_id or skill_name" : "new_skill_name");
        return;
    }
    if (!*nn || strlen(nn) >= 512) {
        vox_fail(c, VOX_EINVAL, "Invalid argument 'new_skill_name': 1 to 511 characters required");
        return;
    }
    g.name = nn;
    struct roster_err err = {0};
    int rc = roster_group_update(&c->r->ctx, &g, &err);
    vox_done(c, rc, &err, NULL, 0);
}

static void vox_get_skills(struct vox_call *c)
{
    list_groups(c, ROSTER_GROUP_SKILL, "skill_id", "skill_name");
}

/* The end of every Bind method: the users of user_id / user_name (in the application
 * app_num when it is not 0) bound to (or unbound from) the groups. */
static void bind_chosen_users(struct vox_call *c, const int64_t *groups, size_t ng, int64_t app_num,
                              bool bind)
{
    struct roster_user *u;
    size_t nu;
    bool has;
    if (vox_some_users(c, app_num, &u, &nu, &has) != 0)
        return;
    if (!has) {
        vox_fail(c, VOX_EINVAL, "Invalid arguments: user_id or user_name is required");
        return;
    }
    int64_t *nums = roster_arena_alloc(vox_arena(c), (nu ? nu : 1) * sizeof(*nums));
    for (size_t i = 0; i < nu; i++)
        nums[i] = u[i].num_id;
    struct roster_err err = {0};
    int rc = ng && nu ? roster_group_bind(&c->r->ctx, groups, ng, nums, nu, bind, &err) : 0;
    vox_done(c, rc, &err, NULL, 0);
}

/* BindSkill (skills x users) and BindUserToQueue (queues x users) */
static void bind_users(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                       bool app_required)
{
    bool bind;
    if (vox_bool(c, "bind", true, &bind, NULL) != 0)
        return;
    struct roster_group app = {0};
    bool has_app;
    if (vox_application(c, app_required, &app, &has_app) != 0)
        return;
    if (!has_app && vox_param(c, "user_name") && !vox_param(c, "user_id")) {
        vox_fail(c, VOX_EINVAL, "application_id or application_name is required with user_name");
        return;
    }
    if (kind == ROSTER_GROUP_SKILL &&
        (vox_param(c, "acd_queue_id") || vox_param(c, "acd_queue_name"))) {
        vox_fail(c, VOX_EINVAL, "binding skills to ACD queues is not supported by roster");
        return;
    }
    int64_t *groups;
    size_t ng;
    if (chosen_groups(c, kind, id_param, name_param, &groups, &ng) != 0)
        return;
    bind_chosen_users(c, groups, ng, has_app ? app.num_id : 0, bind);
}

/* BindUser (legacy docs): binds users (user_id ids or "all" / user_name names) to
 * applications (application_id ids or "all" / application_name names), or unbinds them. */
static void vox_bind_user(struct vox_call *c)
{
    bool bind;
    if (vox_bool(c, "bind", true, &bind, NULL) != 0)
        return;
    int64_t *apps;
    size_t na;
    bool has;
    if (vox_some_groups(c, ROSTER_GROUP_APPLICATION, "application_id", "application_name", 0, &apps,
                        &na, &has) != 0)
        return;
    if (!has) {
        vox_fail(c, VOX_EINVAL,
                 "Invalid arguments: application_id or application_name is required");
        return;
    }
    bind_chosen_users(c, apps, na, 0, bind);
}

static void vox_bind_skill(struct vox_call *c)
{
    bind_users(c, ROSTER_GROUP_SKILL, "skill_id", "skill_name", false);
}

/* --- ACD queues --- */

static void vox_add_queue(struct vox_call *c)
{
    const char *name = vox_param(c, "acd_queue_name");
    if (!name || !*name || strlen(name) > 255) {
        vox_fail(c, VOX_EINVAL, "Invalid argument 'acd_queue_name': 1 to 255 characters required");
        return;
    }
    struct roster_group app = {0};
    bool has_app;
    if (vox_application(c, true, &app, &has_app) != 0)
        return;
    /* the queue settings are kept as given (integers and auto_binding) */
    static const char *const ints[] = {"acd_queue_priority", "service_probability",
                                       "max_queue_size", "max_waiting_time",
                                       "average_service_time"};
    json_t *extra = json_object();
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        int64_t v;
        bool has;
        if (vox_int(c, ints[i], 0, ID_MAX, &v, &has) != 0) {
            json_decref(extra);
            return;
        }
        if (has)
            json_object_set_new(extra, ints[i], json_integer(v));
    }
    bool ab, has_ab;
    if (vox_bool(c, "auto_binding", false, &ab, &has_ab) != 0) {
        json_decref(extra);
        return;
    }
    json_object_set_new(extra, "auto_binding", json_boolean(ab));
    struct roster_group g = {.kind = ROSTER_GROUP_QUEUE,
                             .name = name,
                             .parent_num_id = app.num_id,
                             .extra = roster_json_dump_arena(extra, vox_arena(c))};
    json_decref(extra);
    create_group(c, &g, "acd_queue_id");
}

static void vox_get_queues(struct vox_call *c)
{
    list_groups(c, ROSTER_GROUP_QUEUE, "acd_queue_id", "acd_queue_name");
}

static void vox_del_queue(struct vox_call *c)
{
    del_groups(c, ROSTER_GROUP_QUEUE, "acd_queue_id", "acd_queue_name");
}

static void vox_bind_user_to_queue(struct vox_call *c)
{
    bind_users(c, ROSTER_GROUP_QUEUE, "acd_queue_id", "acd_queue_name", true);
}

const struct vox_method vox_group_methods[] = {
    {"AddApplication", vox_add_application},
    {"GetApplications", vox_get_applications},
    {"DelApplication", vox_del_application},
    {"BindUser", vox_bind_user},
    {"AddSkill", vox_add_skill},
    {"DelSkill", vox_del_skill},
    {"SetSkillInfo", vox_set_skill_info},
    {"GetSkills", vox_get_skills},
    {"BindSkill", vox_bind_skill},
    {"AddQueue", vox_add_queue},
    {"GetQueues", vox_get_queues},
    {"DelQueue", vox_del_queue},
    {"BindUserToQueue", vox_bind_user_to_queue},
    {NULL, NULL},
};
