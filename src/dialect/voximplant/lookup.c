/* What the Voximplant methods share: the {"result": 1} answer, paging parameters, and the
 * look-up of the applications, skills, queues and users a request names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/voximplant/methods.h"

/* {"result": 1}, plus "<key>": id when key is not NULL (the id of what was added) */
void vox_ok1(struct vox_call *c, const char *key, int64_t id)
{
    struct roster_jsonw w;
    roster_resp_json(c->r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kint(&w, "result", 1);
    if (key)
        roster_jsonw_kint(&w, key, id);
    roster_jsonw_obj_end(&w);
}

void vox_done(struct vox_call *c, int rc, const struct roster_err *err, const char *key, int64_t id)
{
    if (rc != 0)
        vox_fail_err(c, err);
    else
        vox_ok1(c, key, id);
}

/* count (default 20, 1..1000) and offset (default 0) */
int vox_paging(struct vox_call *c, int64_t *count, int64_t *offset)
{
    *count = VOX_COUNT_DEFAULT;
    *offset = 0;
    if (vox_int(c, "count", 0, VOX_COUNT_MAX, count, NULL) != 0)
        return -1;
    return vox_int(c, "offset", 0, ID_MAX, offset, NULL);
}

/* --- groups --- */

static const char *const kind_names[] = {
    [ROSTER_GROUP_APPLICATION] = "application", [ROSTER_GROUP_SKILL] = "skill"};

const char *vox_kind_name(int kind)
{
    return ROSTER_ENUM_NAME(kind_names, kind, "ACD queue");
}

/* Every group of kind (optionally with parent), in num_id order. */
int vox_all_groups(struct vox_call *c, int kind, int64_t parent, struct roster_group **out,
                   size_t *n)
{
    struct roster_err err = {0};
    struct roster_group_query q = {.kind = kind, .parent_num_id = parent, .limit = -1};
    if (roster_group_list(&c->r->ctx, &q, out, n, NULL, &err) != 0)
        return vox_fail_err(c, &err);
    return 0;
}

/* The group of kind named by <id_param> (an id) or <name_param> (an exact name); *has =
 * false when neither is given. A missing one: error 101 naming it. */
int vox_one_group(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                  struct roster_group *out, bool *has)
{
    int64_t id = 0;
    bool has_id;
    if (vox_int(c, id_param, 1, ID_MAX, &id, &has_id) != 0)
        return -1;
    const char *name = has_id ? NULL : vox_param(c, name_param);
    *has = has_id || name;
    if (!*has)
        return 0;
    struct roster_err err = {0};
    struct roster_group_query q = {.kind = kind, .num_id = id, .name = name, .limit = 1};
    struct roster_group *v;
    size_t n;
    if (roster_group_list(&c->r->ctx, &q, &v, &n, NULL, &err) != 0)
        return vox_fail_err(c, &err);
    if (n == 0) {
        if (has_id)
            return vox_fail(c, VOX_EINVAL, "%s %s=%lld not found", vox_kind_name(kind), id_param,
                            (long long)id);
        return vox_fail(c, VOX_EINVAL, "%s %s=\"%.64s\" not found", vox_kind_name(kind), name_param,
                        name);
    }
    *out = v[0];
    return 0;
}

/* Groups of kind chosen by <id_param> (ids or "all") or <name_param> (names); *has = false
 * when neither is given. Every id and name must exist (else error 101 naming it). */
int vox_some_groups(struct vox_call *c, int kind, const char *id_param, const char *name_param,
                    int64_t parent, int64_t **out, size_t *n, bool *has)
{
    int64_t *ids;
    size_t nids, nnames;
    bool all, has_ids, has_names;
    const char **names;
    if (vox_intlist(c, id_param, &ids, &nids, &all, &has_ids) != 0 ||
        vox_strlist(c, name_param, &names, &nnames, &has_names) != 0)
        return -1;
    *has = has_ids || has_names;
    *out = NULL;
    *n = 0;
    if (!*has)
        return 0;
    struct roster_group *g;
    size_t ng;
    if (vox_all_groups(c, kind, parent, &g, &ng) != 0)
        return -1;
    if (all) {
        int64_t *v = roster_arena_alloc(vox_arena(c), (ng ? ng : 1) * sizeof(*v));
        for (size_t i = 0; i < ng; i++)
            v[i] = g[i].num_id;
        *out = v;
        *n = ng;
        return 0;
    }
    size_t cnt = has_ids ? nids : nnames;
    int64_t *v = roster_arena_alloc(vox_arena(c), cnt * sizeof(*v));
    for (size_t i = 0; i < cnt; i++) {
        size_t j = 0;
        while (j < ng && (has_ids ? g[j].num_id != ids[i] : strcmp(g[j].name, names[i]) != 0))
            j++;
        if (j == ng) {
            if (has_ids)
                return vox_fail(c, VOX_EINVAL, "%s %s=%lld not found", vox_kind_name(kind),
                                id_param, (long long)ids[i]);
            return vox_fail(c, VOX_EINVAL, "%s %s=\"%.64s\" not found", vox_kind_name(kind),
                            name_param, names[i]);
        }
        v[i] = g[j].num_id;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* The application of application_id / application_name. */
int vox_application(struct vox_call *c, bool required, struct roster_group *out, bool *has)
{
    if (vox_one_group(c, ROSTER_GROUP_APPLICATION, "application_id", "application_name", out,
                      has) != 0)
        return -1;
    if (required && !*has)
        return vox_fail(c, VOX_EINVAL, "application_id or application_name is required");
    return 0;
}

/* --- users --- */

/* The users chosen by user_id (ids or "all") or user_name (names), in the application app
 * when app_num != 0 (required with user_name, as in Voximplant). Every id and name must
 * exist (else error 101 naming it). */
int vox_some_users(struct vox_call *c, int64_t app_num, struct roster_user **out, size_t *n,
                   bool *has)
{
    int64_t *ids;
    size_t nids, nnames;
    bool all, has_ids, has_names;
    const char **names;
    if (vox_intlist(c, "user_id", &ids, &nids, &all, &has_ids) != 0 ||
        vox_strlist(c, "user_name", &names, &nnames, &has_names) != 0)
        return -1;
    *has = has_ids || has_names;
    *out = NULL;
    *n = 0;
    if (!*has)
        return 0;
    struct roster_query q;
    roster_query_init(&q);
    q.limit = -1;
    size_t cnt = has_ids ? nids : nnames;
    if (!all) {
        struct roster_qval *vals = roster_arena_zalloc(vox_arena(c), cnt * sizeof(*vals));
        for (size_t i = 0; i < cnt; i++) {
            if (has_ids)
                vals[i].i = ids[i];
            else
                vals[i].s = names[i];
        }
        q.filters[0] = (struct roster_filter){has_ids ? RQ_NUM_ID : RU_USERNAME, ROSTER_OP_IN, vals,
                                              cnt, false};
        q.nfilters = 1;
    }
    if (app_num)
        q.conds[q.nconds++] = (struct roster_group_cond){app_num, true};
    struct roster_err err = {0};
    struct roster_list_result res;
    if (roster_users_list(&c->r->ctx, &q, NULL, NULL, NULL, &res, &err) != 0)
        return vox_fail_err(c, &err);
    struct roster_user *u = res.rows;
    size_t nu = res.n;
    if (!all) {
        for (size_t i = 0; i < cnt; i++) {
            bool found = false;
            for (size_t j = 0; j < nu && !found; j++)
                found =
                    has_ids ? u[j].num_id == ids[i] : strcmp(u[j].f[RU_USERNAME], names[i]) == 0;
            if (!found) {
                if (has_ids)
                    return vox_fail(c, VOX_EINVAL, "user user_id=%lld not found",
                                    (long long)ids[i]);
                return vox_fail(c, VOX_EINVAL, "user user_name=\"%.64s\" not found", names[i]);
            }
        }
    }
    *out = u;
    *n = nu;
    return 0;
}

static bool extra_bool(const char *extra, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof(pat), "\"%s\":true", key);
    return extra && strstr(extra, pat);
}

/* The members of an application object (GetApplications, and GetUsers' applications). */
void vox_put_app_fields(struct roster_jsonw *w, const struct roster_group *g)
{
    char modified[VOX_TIME_LEN + 1];
    vox_time_buf(modified, g->modified_ms);
    roster_jsonw_kint(w, "application_id", g->num_id);
    roster_jsonw_kstr(w, "application_name", g->name);
    roster_jsonw_kstr(w, "modified", modified);
    roster_jsonw_kbool(w, "secure_record_storage", extra_bool(g->extra, "secure_record_storage"));
}

bool vox_name_ok(const char *s, size_t min, size_t max, const char *more)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || !strchr(more, ch)))
            return false;
    }
    return true;
}
