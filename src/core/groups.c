/* Groups (Voximplant applications, skills and ACD queues) and their members, for the
 * dialects: every call is scoped to the caller's organisation, and a delete of several
 * groups is one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "core/tx.h"

int roster_group_list(struct roster_ctx *ctx, const struct roster_group_query *q,
                      struct roster_group **out, size_t *n, int64_t *total, struct roster_err *err)
{
    return roster_store_group_list(ctx->conn, ctx->org_id, q, ctx->arena, out, n, total, err);
}

int roster_group_create(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err)
{
    return roster_store_group_create(ctx->conn, ctx->org_id, g, err);
}

int roster_group_update(struct roster_ctx *ctx, struct roster_group *g, struct roster_err *err)
{
    return roster_store_group_update(ctx->conn, ctx->org_id, g, err);
}

int roster_groups_delete(struct roster_ctx *ctx, int kind, const int64_t *ids, size_t n,
                         struct roster_err *err)
{
    int rc = roster_store_begin(ctx->conn, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = roster_store_group_delete(ctx->conn, ctx->org_id, kind, ids[i], err);
        if (rc == ROSTER_ENOTFOUND && kind == ROSTER_GROUP_QUEUE)
            rc = 0; /* a queue that went with its application earlier in this list */
    }
    return core_tx_end(ctx, rc, err);
}

int roster_group_bind(struct roster_ctx *ctx, const int64_t *groups, size_t ng,
                      const int64_t *users, size_t nu, bool bind, struct roster_err *err)
{
    return roster_store_group_bind(ctx->conn, ctx->org_id, groups, ng, users, nu, bind, err);
}

int roster_group_memberships(struct roster_ctx *ctx, const int64_t *users, size_t nu, int kind,
                             struct roster_membership **out, size_t *n, struct roster_err *err)
{
    return roster_store_group_memberships(ctx->conn, ctx->org_id, users, nu, kind, ctx->arena, out,
                                          n, err);
}

int roster_group_get(struct roster_ctx *ctx, int kind, int64_t num_id, struct roster_group *out,
                     struct roster_err *err)
{
    struct roster_group_query q = {.kind = kind, .num_id = num_id, .limit = 1};
    struct roster_group *v = NULL;
    size_t n = 0;
    int rc = num_id > 0 ? roster_store_group_list(ctx->conn, ctx->org_id, &q, ctx->arena, &v, &n,
                                                  NULL, err)
                        : 0;
    if (rc)
        return rc;
    if (n != 1)
        return roster_err_set(err, ROSTER_ENOTFOUND, "group %lld not found", (long long)num_id);
    *out = v[0];
    return 0;
}

int roster_group_members(struct roster_ctx *ctx, int64_t num_id, int64_t after, int64_t limit,
                         struct roster_group_member **out, size_t *n, struct roster_err *err)
{
    return roster_store_group_members(ctx->conn, ctx->org_id, num_id, after, limit, ctx->arena, out,
                                      n, err);
}

/* true when s is a positive decimal number that fits an int64 (a group's num_id) */
static bool group_number(const char *s, int64_t *num)
{
    size_t len = strlen(s);
    if (!len || len > 18 || strspn(s, "0123456789") != len || s[0] == '0')
        return false;
    *num = strtoll(s, NULL, 10);
    return true;
}

/* The num ids of users ids[0..n) of ctx's organisation into nums[0..n); the first id that
 * is not one of its users is ROSTER_EINVAL, err->field "members", naming it. */
static int member_nums(struct roster_ctx *ctx, int kind, const char *const *ids, size_t n,
                       int64_t *nums, struct roster_err *err)
{
    if (!n)
        return 0;
    struct roster_user *u = roster_arena_zalloc(ctx->arena, n * sizeof(*u));
    int *rcs = roster_arena_zalloc(ctx->arena, n * sizeof(*rcs));
    int rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, n, u, rcs, ctx->arena, err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (rcs[i] == 0) {
            nums[i] = u[i].num_id;
            continue;
        }
        const char *id = ids[i] ? ids[i] : "";
        struct roster_group g;
        int64_t gnum = 0;
        if (group_number(id, &gnum) && roster_group_get(ctx, kind, gnum, &g, NULL) == 0)
            rc = roster_err_set(err, ROSTER_EINVAL,
                                "member \"%.64s\" is a group: nested groups are not supported", id);
        else
            rc = roster_err_set(err, ROSTER_EINVAL,
                                "member \"%.64s\" is not a user of this organization", id);
        if (err)
            err->field = "members";
    }
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The members of group g become exactly users[0..n) (num ids, may repeat): the current
 * members not among them leave, the others join. */
static int members_set(struct roster_ctx *ctx, int64_t g, int64_t *users, size_t n,
                       struct roster_err *err)
{
    struct roster_group_member *cur = NULL;
    size_t ncur = 0;
    int rc = roster_group_members(ctx, g, 0, -1, &cur, &ncur, err);
    if (rc)
        return rc;
    qsort(users, n, sizeof(*users), cmp_i64);
    int64_t *gone = roster_arena_alloc(ctx->arena, (ncur + 1) * sizeof(*gone));
    int64_t *join = roster_arena_alloc(ctx->arena, (n + 1) * sizeof(*join));
    size_t ngone = 0, njoin = 0, i = 0, j = 0;
    /* both in ascending order: cur by the store, users sorted above */
    while (i < ncur || j < n) {
        if (j < n && j > 0 && users[j] == users[j - 1]) {
            j++;
        } else if (j == n || (i < ncur && cur[i].user_num_id < users[j])) {
            gone[ngone++] = cur[i++].user_num_id;
        } else if (i == ncur || users[j] < cur[i].user_num_id) {
            join[njoin++] = users[j++];
        } else {
            i++;
            j++;
        }
    }
    if (ngone)
        rc = roster_store_group_bind(ctx->conn, ctx->org_id, &g, 1, gone, ngone, false, err);
    if (!rc && njoin)
        rc = roster_store_group_bind(ctx->conn, ctx->org_id, &g, 1, join, njoin, true, err);
    return rc;
}

static int group_step(struct roster_ctx *ctx, struct roster_group *g,
                      const struct roster_group_step *st, struct roster_err *err)
{
    if (st->op == ROSTER_GROUP_RENAME) {
        if (st->name)
            g->name = st->name;
        if (st->extra)
            g->extra = st->extra[0] ? st->extra : NULL;
        return roster_store_group_update(ctx->conn, ctx->org_id, g, err);
    }
    int64_t *nums = roster_arena_alloc(ctx->arena, (st->n + 1) * sizeof(*nums));
    int rc = member_nums(ctx, g->kind, st->users, st->n, nums, err);
    if (rc)
        return rc;
    if (st->op == ROSTER_GROUP_SET)
        return members_set(ctx, g->num_id, nums, st->n, err);
    if (!st->n)
        return 0;
    return roster_store_group_bind(ctx->conn, ctx->org_id, &g->num_id, 1, nums, st->n,
                                   st->op == ROSTER_GROUP_ADD, err);
}

int roster_group_apply(struct roster_ctx *ctx, struct roster_group *g, bool create,
                       int64_t expect_version, const struct roster_group_step *steps, size_t n,
                       struct roster_err *err)
{
    int rc = roster_store_begin(ctx->conn, err);
    if (rc)
        return rc;
    if (create) {
        rc = roster_store_group_create(ctx->conn, ctx->org_id, g, err);
    } else {
        struct roster_group cur;
        rc = roster_group_get(ctx, g->kind, g->num_id, &cur, err);
        if (!rc && expect_version > 0 && cur.version != expect_version)
            rc = roster_err_set(err, ROSTER_ESTALE, "group %lld is at version %lld, not %lld",
                                (long long)cur.num_id, (long long)cur.version,
                                (long long)expect_version);
        if (!rc)
            *g = cur;
    }
    for (size_t i = 0; !rc && i < n; i++)
        rc = group_step(ctx, g, &steps[i], err);
    if (!rc && n) /* the version and times as committed */
        rc = roster_group_get(ctx, g->kind, g->num_id, g, err);
    return core_tx_end(ctx, rc, err);
}
