/* Voximplant's user methods (AddUser, DelUser, SetUserInfo, GetUsers) over the directory
 * users every dialect sees. Choices where Voximplant's contract is open: docs/voximplant.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/voximplant/methods.h"
#include "roster/jsonutil.h"
#include "roster/list.h"

/* Voximplant's user_name rule: [a-z0-9][a-z0-9_-]{2,49} */
static bool user_name_ok(const char *s)
{
    return vox_name_ok(s, 3, 50, "_-");
}

/* Error 101 naming param unless s is a valid user_name. */
static int check_user_name(struct vox_call *c, const char *param, const char *s)
{
    if (!user_name_ok(s))
        return vox_fail(c, VOX_EINVAL,
                        "Invalid argument '%s': \"%.64s\" must be 3 to 50 of a-z, 0-9, '_' and "
                        "'-', starting with a letter or digit",
                        param, s);
    return 0;
}

/* At least 8 characters with an upper-case letter, a lower-case letter, a digit and a
 * character that is none of these. */
static bool password_ok(const char *s)
{
    bool up = false, low = false, dig = false, other = false;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        if (*p >= 'A' && *p <= 'Z')
            up = true;
        else if (*p >= 'a' && *p <= 'z')
            low = true;
        else if (*p >= '0' && *p <= '9')
            dig = true;
        else
            other = true;
    }
    return n >= 8 && up && low && dig && other;
}

static int check_password(struct vox_call *c, const char *pw)
{
    if (!password_ok(pw))
        return vox_fail(c, VOX_EPASSWORD,
                        "Invalid argument 'user_password': it must have at least 8 characters "
                        "with an upper-case letter, a lower-case letter, a digit and a special "
                        "character");
    return 0;
}

static int user_fields(struct vox_call *c, struct roster_user *u, bool update)
{
    const char *dn = vox_param(c, "user_display_name");
    if (dn) {
        if (strlen(dn) >= 256)
            return vox_fail(c, VOX_EINVAL,
                            "Invalid argument 'user_display_name': longer than 255 characters");
        u->f[RU_DISPLAY_NAME] = dn;
        u->set |= 1ull << RU_DISPLAY_NAME;
    }
    const char *cd = vox_param(c, "user_custom_data");
    if (cd) {
        u->f[RU_CUSTOM_DATA] = *cd ? cd : NULL;
        u->set |= 1ull << RU_CUSTOM_DATA;
    }
    bool active, has_active;
    if (vox_bool(c, "user_active", true, &active, &has_active) != 0)
        return -1;
    if (has_active || !update) {
        u->state = active ? ROSTER_ACTIVATED : ROSTER_SUSPENDED;
        u->set |= ROSTER_USET_STATE;
    }
    bool pa;
    return vox_bool(c, "parent_accounting", true, &pa, NULL); /* accepted; see docs */
}

static void vox_add_user(struct vox_call *c)
{
    const char *name = vox_param(c, "user_name");
    const char *dn = vox_param(c, "user_display_name");
    const char *pw = vox_param(c, "user_password");
    if (!name || !dn || !pw) {
        vox_fail(c, VOX_EINVAL, "Invalid arguments: %s is required",
                 !name ? "user_name"
                 : !dn ? "user_display_name"
                       : "user_password");
        return;
    }
    if (check_user_name(c, "user_name", name) != 0 || check_password(c, pw) != 0)
        return;
    struct roster_group app = {0};
    bool has_app;
    if (vox_application(c, true, &app, &has_app) != 0)
        return;
    struct roster_user u;
    memset(&u, 0, sizeof(u));
    u.f[RU_USERNAME] = name;
    /* the directory needs an e-mail address: a placeholder until another dialect sets one */
    u.f[RU_EMAIL] = roster_arena_printf(vox_arena(c), "%s@users.voximplant.invalid", name);
    if (user_fields(c, &u, false) != 0)
        return;
    u.set &= ROSTER_USET_STATE; /* the state given (user_active): not the org's default */
    struct roster_err err = {0};
    /* the user, its password and its application binding: all or nothing */
    struct roster_user_extras x = {pw, &app.num_id, 1};
    int rc = roster_user_create_with(&c->r->ctx, &u, ROSTER_ACTIVATED, &x, &err);
    if (rc != 0) {
        if (rc == ROSTER_ECONFLICT && err.field && strcmp(err.field, "username") == 0)
            vox_fail(c, VOX_EINVAL, "user_name \"%.64s\" is already used", name);
        else
            vox_fail_err(c, &err);
        return;
    }
    vox_ok1(c, "user_id", u.num_id);
}

/* The application a user_name list is scoped by: required with user_name. */
static int user_scope(struct vox_call *c, int64_t *app_num)
{
    struct roster_group app = {0};
    bool has_app;
    *app_num = 0;
    if (vox_application(c, false, &app, &has_app) != 0)
        return -1;
    if (has_app)
        *app_num = app.num_id;
    else if (vox_param(c, "user_name") && !vox_param(c, "user_id"))
        return vox_fail(c, VOX_EINVAL,
                        "application_id or application_name is required with user_name");
    return 0;
}

/* The users a DelUser or SetUserInfo names (user_id, or user_name in its application). */
static int chosen_users(struct vox_call *c, bool one, struct roster_user **u, size_t *n)
{
    int64_t app_num;
    bool has;
    if (user_scope(c, &app_num) != 0 || vox_some_users(c, app_num, u, n, &has) != 0)
        return -1;
    if (!has || (one && *n != 1))
        return vox_fail(c, VOX_EINVAL, "%suser_id or user_name is required", one ? "one " : "");
    return 0;
}

static void vox_del_user(struct vox_call *c)
{
    struct roster_user *u;
    size_t n;
    if (chosen_users(c, false, &u, &n) != 0)
        return;
    struct roster_err err = {0};
    const char **ids = roster_arena_alloc(vox_arena(c), (n ? n : 1) * sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = u[i].id;
    int rc = roster_users_delete(&c->r->ctx, ids, n, &err);
    vox_done(c, rc, &err, NULL, 0);
}

static void vox_set_user_info(struct vox_call *c)
{
    struct roster_user *u;
    size_t n;
    if (chosen_users(c, true, &u, &n) != 0)
        return;
    struct roster_user patch;
    memset(&patch, 0, sizeof(patch));
    const char *nn = vox_param(c, "new_user_name");
    if (nn) {
        if (check_user_name(c, "new_user_name", nn) != 0)
            return;
        patch.f[RU_USERNAME] = nn;
        patch.set |= 1ull << RU_USERNAME;
    }
    if (user_fields(c, &patch, true) != 0)
        return;
    const char *pw = vox_param(c, "user_password");
    struct roster_err err = {0};
    if (pw && check_password(c, pw) != 0)
        return;
    struct roster_user_extras x = {pw, NULL, 0};
    int rc = roster_user_update_with(&c->r->ctx, u[0].id, &patch, false, &x, &err);
    if (rc != 0) {
        if (rc == ROSTER_ECONFLICT && err.field && strcmp(err.field, "username") == 0)
            vox_fail(c, VOX_EINVAL, "new_user_name \"%.64s\" is already used", nn ? nn : "");
        else
            vox_fail_err(c, &err);
        return;
    }
    vox_ok1(c, NULL, 0);
}

static const char *const acd_statuses[] = {"OFFLINE",    "ONLINE",        "READY",   "BANNED",
                                           "IN_SERVICE", "AFTER_SERVICE", "TIMEOUT", "DND"};

/* constant JSON text appended as it is: lit must be a string literal (its sizeof is used) */
#define RAW(b, lit) roster_buf_add((b), "" lit, sizeof(lit) - 1)

/* one JSON string value, escaped */
static void put_str(struct roster_buf *b, const char *s)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, b);
    roster_jsonw_str(&w, s);
}

static void put_int(struct roster_buf *b, int64_t v)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, b);
    roster_jsonw_int(&w, v);
}

/* ,"<key>":[{"<id_key>": id, "<name_key>": name[, "auto_link": false]}, ...] of user's
 * memberships in m (only group `only` when it is not 0) */
static void write_groups(struct roster_buf *b, const char *key, const char *id_key,
                         const char *name_key, const struct roster_membership *m, size_t nm,
                         int64_t user, int64_t only, bool queue)
{
    roster_buf_addch(b, ',');
    struct roster_jsonw w;
    roster_jsonw_init(&w, b);
    roster_jsonw_key(&w, key);
    roster_jsonw_arr_begin(&w);
    for (size_t i = 0; i < nm; i++) {
        if (m[i].user_num_id != user || (only && m[i].g.num_id != only))
            continue;
        roster_jsonw_obj_begin(&w);
        roster_jsonw_kint(&w, id_key, m[i].g.num_id);
        roster_jsonw_kstr(&w, name_key, m[i].g.name);
        if (queue)
            roster_jsonw_kbool(&w, "auto_link", false);
        roster_jsonw_obj_end(&w);
    }
    roster_jsonw_arr_end(&w);
}

static void vox_get_users(struct vox_call *c)
{
    struct roster_query q;
    roster_query_init(&q);
    q.want_total = true;
    struct roster_group_cond *conds = q.conds;
    size_t nc = 0;
    struct roster_group app = {0};
    bool has_app = false;
    int64_t id = 0;
    bool has;
    /* application_id, else application_name (exact): a filter, optional here */
    if (vox_int(c, "application_id", 1, ID_MAX, &id, &has) != 0)
        return;
    const char *app_name = has ? NULL : vox_param(c, "application_name");
    if (has || app_name) {
        struct roster_err err = {0};
        struct roster_group_query gq = {
            .kind = ROSTER_GROUP_APPLICATION, .num_id = id, .name = app_name, .limit = 1};
        struct roster_group *gv;
        size_t gn;
        if (roster_group_list(&c->r->ctx, &gq, &gv, &gn, NULL, &err) != 0) {
            vox_fail_err(c, &err);
            return;
        }
        has_app = gn == 1;
        if (has_app)
            app = gv[0];
    }
    bool app_filter = has || app_name;
    static const struct {
        const char *param;
        bool member;
    } gparams[] = {{"skill_id", true},
                   {"excluded_skill_id", false},
                   {"acd_queue_id", true},
                   {"excluded_acd_queue_id", false}};
    for (size_t i = 0; i < sizeof(gparams) / sizeof(gparams[0]); i++) {
        if (vox_int(c, gparams[i].param, 1, ID_MAX, &id, &has) != 0)
            return;
        if (has)
            conds[nc++] = (struct roster_group_cond){id, gparams[i].member};
    }
    struct roster_qval *v;
    if (vox_int(c, "user_id", 1, ID_MAX, &id, &has) != 0)
        return;
    if (has) {
        v = roster_arena_zalloc(vox_arena(c), sizeof(*v));
        v->i = id;
        q.filters[q.nfilters++] = (struct roster_filter){RQ_NUM_ID, ROSTER_OP_EQ, v, 1, false};
    }
    static const struct {
        const char *param;
        int key;
    } parts[] = {{"user_name", RU_USERNAME}, {"user_display_name", RU_DISPLAY_NAME}};
    for (size_t i = 0; i < 2; i++) {
        const char *s = vox_param(c, parts[i].param);
        if (s && *s) {
            v = roster_arena_zalloc(vox_arena(c), sizeof(*v));
            v->s = s;
            q.filters[q.nfilters++] =
                (struct roster_filter){parts[i].key, ROSTER_OP_SEARCH, v, 1, false};
        }
    }
    bool active;
    if (vox_bool(c, "user_active", true, &active, &has) != 0)
        return;
    if (has) {
        v = roster_arena_zalloc(vox_arena(c), sizeof(*v));
        v->i = ROSTER_ACTIVATED;
        q.filters[q.nfilters++] =
            (struct roster_filter){RQ_STATE, active ? ROSTER_OP_EQ : ROSTER_OP_NE, v, 1, false};
    }
    /* acd_status: every roster user is OFFLINE (roster runs no ACD) */
    const char **st;
    size_t nst;
    if (vox_strlist(c, "acd_status", &st, &nst, &has) != 0)
        return;
    if (has) {
        bool offline = false;
        for (size_t i = 0; i < nst; i++) {
            bool known = false;
            for (size_t j = 0; j < sizeof(acd_statuses) / sizeof(acd_statuses[0]); j++)
                known = known || strcmp(st[i], acd_statuses[j]) == 0;
            if (!known) {
                vox_fail(c, VOX_EINVAL,
                         "Invalid argument 'acd_status': \"%.64s\" is not one of OFFLINE, "
                         "ONLINE, READY, BANNED, IN_SERVICE, AFTER_SERVICE, TIMEOUT, DND",
                         st[i]);
                return;
            }
            offline = offline || strcmp(st[i], "OFFLINE") == 0;
        }
        if (!offline)
            conds[nc++] = (struct roster_group_cond){-1, true}; /* nobody */
    }
    /* the application last: skills and queues are the small groups the store can start from */
    if (app_filter)
        conds[nc++] = (struct roster_group_cond){has_app ? app.num_id : -1, true};
    bool with_skills, with_queues, live;
    int64_t showing = 0;
    if (vox_bool(c, "with_skills", false, &with_skills, NULL) != 0 ||
        vox_bool(c, "with_queues", false, &with_queues, NULL) != 0 ||
        vox_bool(c, "return_live_balance", true, &live, NULL) != 0 ||
        vox_int(c, "showing_skill_id", 1, ID_MAX, &showing, &has) != 0)
        return;
    if (has)
        with_skills = true;
    const char *order = vox_param(c, "order_by");
    int sort_key = RU_USERNAME;
    if (order && strcmp(order, "user_id") == 0)
        sort_key = RQ_NUM_ID;
    else if (order && strcmp(order, "user_display_name") == 0)
        sort_key = RU_DISPLAY_NAME;
    else if (order && strcmp(order, "user_name") != 0) {
        vox_fail(c, VOX_EINVAL,
                 "Invalid argument 'order_by': \"%.64s\" is not user_id, user_name or "
                 "user_display_name",
                 order);
        return;
    }
    q.sorts[0] = (struct roster_sort){sort_key, false};
    q.nsorts = 1;
    if (vox_paging(c, &q.limit, &q.skip) != 0)
        return;

    q.nconds = nc;
    struct roster_err err = {0};
    struct roster_list_result res;
    if (roster_users_list(&c->r->ctx, &q, NULL, NULL, NULL, &res, &err) != 0) {
        vox_fail_err(c, &err);
        return;
    }
    struct roster_user *u = res.rows;
    size_t n = res.n;
    int64_t total = res.total;
    int64_t *nums = roster_arena_alloc(vox_arena(c), (n ? n : 1) * sizeof(*nums));
    for (size_t i = 0; i < n; i++)
        nums[i] = u[i].num_id;
    struct roster_membership *ms = NULL, *mq = NULL;
    size_t nms = 0, nmq = 0;
    if (with_skills && n &&
        roster_group_memberships(&c->r->ctx, nums, n, ROSTER_GROUP_SKILL, &ms, &nms, &err) != 0) {
        vox_fail_err(c, &err);
        return;
    }
    if (with_queues && n &&
        roster_group_memberships(&c->r->ctx, nums, n, ROSTER_GROUP_QUEUE, &mq, &nmq, &err) != 0) {
        vox_fail_err(c, &err);
        return;
    }
    /* The page is written with constant text pasted in (keys and fixed values need no
     * escaping): a page of 100 users is ~45 KB, and writing it token by token was a fifth
     * of the request. Strings from users still go through the escaping writer. */
    const char *apps = NULL;
    if (has_app) {
        struct roster_buf ab;
        roster_buf_init(&ab);
        struct roster_jsonw aw;
        roster_jsonw_init(&aw, &ab);
        roster_jsonw_arr_begin(&aw);
        roster_jsonw_obj_begin(&aw);
        vox_put_app_fields(&aw, &app);
        roster_jsonw_obj_end(&aw);
        roster_jsonw_arr_end(&aw);
        apps = roster_arena_strdup(vox_arena(c), ab.data);
        roster_buf_release(&ab);
    }
    struct roster_jsonw w;
    roster_resp_json(c->r, 200, &w);
    struct roster_buf *b = &c->r->resp;
    RAW(b, "{\"result\":[");
    for (size_t i = 0; i < n; i++) {
        const struct roster_user *x = &u[i];
        if (i)
            RAW(b, ",");
        RAW(b, "{\"user_id\":");
        put_int(b, x->num_id);
        RAW(b, ",\"user_name\":");
        put_str(b, x->f[RU_USERNAME]); /* null when absent, as before */
        RAW(b, ",\"user_display_name\":");
        put_str(b, x->f[RU_DISPLAY_NAME] ? x->f[RU_DISPLAY_NAME] : "");
        if (x->state == ROSTER_ACTIVATED)
            RAW(b, ",\"user_active\":true");
        else
            RAW(b, ",\"user_active\":false");
        RAW(b, ",\"parent_accounting\":true,\"live_balance\":0,\"balance\":0,"
               "\"fixed_balance\":0");
        if (x->f[RU_CUSTOM_DATA]) {
            RAW(b, ",\"user_custom_data\":");
            put_str(b, x->f[RU_CUSTOM_DATA]);
        }
        if (apps) {
            RAW(b, ",\"applications\":");
            roster_buf_addstr(b, apps);
        }
        if (with_skills)
            write_groups(b, "skills", "skill_id", "skill_name", ms, nms, x->num_id, showing, false);
        if (with_queues)
            write_groups(b, "acd_queues", "acd_queue_id", "acd_queue_name", mq, nmq, x->num_id, 0,
                         true);
        char t[VOX_TIME_LEN + 1];
        vox_time_buf(t, x->created_ms);
        RAW(b, ",\"acd_status\":\"OFFLINE\",\"acd_status_change_time\":\"");
        roster_buf_add(b, t, VOX_TIME_LEN);
        RAW(b, "\",\"created\":\"");
        roster_buf_add(b, t, VOX_TIME_LEN);
        vox_time_buf(t, x->modified_ms);
        RAW(b, "\",\"modified\":\"");
        roster_buf_add(b, t, VOX_TIME_LEN);
        RAW(b, "\",\"frozen\":false}");
    }
    RAW(b, "],\"total_count\":");
    put_int(b, total);
    RAW(b, ",\"count\":");
    put_int(b, (int64_t)n);
    RAW(b, "}");
}

const struct vox_method vox_user_methods[] = {
    {"AddUser", vox_add_user},
    {"DelUser", vox_del_user},
    {"SetUserInfo", vox_set_user_info},
    {"GetUsers", vox_get_users},
    {NULL, NULL},
};
