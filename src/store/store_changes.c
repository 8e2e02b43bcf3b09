/* The payload of a list change record (include/roster/list.h), written by both backends
 * in the transaction of the write it describes and read back by core's list state:
 *   {"b": USER|null, "a": USER|null, "gb": [group, ...], "ga": [group, ...]}
 *   USER = [num_id, "id", state, created_ms, modified_ms, version, f0, f1, ...]
 * with one entry per field of roster_ufields (null for a missing value and for the JSON
 * fields, which no list tests or sorts on). */
#include <string.h>

#include "roster/jsonr.h"
#include "roster/jsonw.h"
#include "roster/list.h"

static void put_user(struct roster_jsonw *w, const struct roster_user *u)
{
    if (!u) {
        roster_jsonw_null(w);
        return;
    }
    roster_jsonw_arr_begin(w);
    roster_jsonw_int(w, u->num_id);
    roster_jsonw_str(w, u->id);
    roster_jsonw_int(w, u->state);
    roster_jsonw_int(w, u->created_ms);
    roster_jsonw_int(w, u->modified_ms);
    roster_jsonw_int(w, u->version);
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_jsonw_str(w, roster_ufields[i].kind == RU_KIND_STR ? u->f[i] : NULL);
    roster_jsonw_arr_end(w);
}

static void put_groups(struct roster_jsonw *w, const int64_t *g, size_t n)
{
    roster_jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        roster_jsonw_int(w, g[i]);
    roster_jsonw_arr_end(w);
}

void roster_change_encode(const struct roster_change *c, struct roster_buf *out)
{
    struct roster_jsonw w;
    roster_jsonw_init(&w, out);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_key(&w, "b");
    put_user(&w, c->before);
    roster_jsonw_key(&w, "a");
    put_user(&w, c->after);
    roster_jsonw_key(&w, "gb");
    put_groups(&w, c->groups_before, c->ngroups_before);
    roster_jsonw_key(&w, "ga");
    put_groups(&w, c->groups_after, c->ngroups_after);
    roster_jsonw_obj_end(&w);
}

static int get_int(struct roster_jsonr *it, int64_t *out)
{
    struct roster_jsonr_val v;
    return roster_jsonr_next(it, NULL, &v) == 1 && roster_jsonr_int(&v, out) == 0 ? 0 : -1;
}

static int get_user(const struct roster_jsonr_val *v, struct roster_arena *a,
                    const struct roster_user **out)
{
    *out = NULL;
    if (v->type == ROSTER_JSONR_NULL)
        return 0;
    struct roster_jsonr it;
    if (roster_jsonr_open(&it, v) != 0)
        return -1;
    struct roster_user *u = roster_arena_zalloc(a, sizeof(*u));
    int64_t state = 0;
    struct roster_jsonr_val e;
    const char *id;
    size_t n;
    if (get_int(&it, &u->num_id) || roster_jsonr_next(&it, NULL, &e) != 1 ||
        roster_jsonr_str(&e, a, &id, &n) != 0 || n > ROSTER_ID_LEN || get_int(&it, &state) ||
        get_int(&it, &u->created_ms) || get_int(&it, &u->modified_ms) || get_int(&it, &u->version))
        return -1;
    memcpy(u->id, id, n + 1);
    u->state = (int)state;
    for (int i = 0; i < RU_NFIELDS; i++) {
        int more = roster_jsonr_next(&it, NULL, &e);
        if (more == 0)
            break; /* a record written before fields were added: the rest are NULL */
        if (more != 1)
            return -1;
        if (e.type == ROSTER_JSONR_NULL)
            continue;
        if (roster_jsonr_str(&e, a, &u->f[i], NULL) != 0)
            return -1;
    }
    *out = u;
    return 0;
}

static int get_groups(const struct roster_jsonr_val *v, struct roster_arena *a, const int64_t **out,
                      size_t *n)
{
    struct roster_jsonr it;
    if (roster_jsonr_open(&it, v) != 0)
        return -1;
    size_t cap = 8, len = 0;
    int64_t *g = roster_arena_alloc(a, cap * sizeof(*g));
    struct roster_jsonr_val e;
    int rc;
    while ((rc = roster_jsonr_next(&it, NULL, &e)) == 1) {
        if (len == cap) {
            int64_t *ng = roster_arena_alloc(a, 2 * cap * sizeof(*ng));
            memcpy(ng, g, len * sizeof(*ng));
            g = ng;
            cap *= 2;
        }
        if (roster_jsonr_int(&e, &g[len++]) != 0)
            return -1;
    }
    *out = g;
    *n = len;
    return rc;
}

int roster_change_decode(const char *text, size_t len, struct roster_change *c,
                         struct roster_arena *a, struct roster_err *err)
{
    struct roster_jsonr_val root, b, af, gb, ga;
    if (roster_jsonr_parse(text, len, &root) != 0 || root.type != ROSTER_JSONR_OBJECT ||
        roster_jsonr_get(&root, "b", &b) != 1 || roster_jsonr_get(&root, "a", &af) != 1 ||
        roster_jsonr_get(&root, "gb", &gb) != 1 || roster_jsonr_get(&root, "ga", &ga) != 1 ||
        get_user(&b, a, &c->before) != 0 || get_user(&af, a, &c->after) != 0 ||
        get_groups(&gb, a, &c->groups_before, &c->ngroups_before) != 0 ||
        get_groups(&ga, a, &c->groups_after, &c->ngroups_after) != 0)
        return roster_err_set(err, ROSTER_EINVAL, "list change %lld: malformed payload",
                              (long long)c->ver);
    return 0;
}
