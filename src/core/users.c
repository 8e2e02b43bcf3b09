/* The single-user core operations: create (default state, validate, store) and update
 * (load, patch, validate, store, retried on a concurrent write). Every dialect's
 * single-user paths and the bulk job engine go through these, so the rules live here once.
 */
#include "core/tx.h"
#include "roster/core.h"
#include "roster/jsonutil.h"
#include "roster/password.h"
#include "roster/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPDATE_ATTEMPTS 5

int roster_user_prepare_create(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                               struct roster_err *err)
{
    if (!(u->set & ROSTER_USET_STATE))
        u->state = default_state;
    snprintf(u->org_id, sizeof(u->org_id), "%s", ctx->org_id);
    return roster_user_validate(u, ROSTER_VALIDATE_CREATE, err);
}

int roster_user_create(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                       struct roster_err *err)
{
    int rc = roster_user_prepare_create(ctx, u, default_state, err);
    if (rc)
        return rc;
    return roster_store_user_create(ctx->conn, ctx->org_id, u, err);
}

/* The extra object of a patch is merged into the stored one key by key (a JSON merge patch,
 * RFC 7386, one level deep): a patch that sets only "sudo" must not drop "unix_uid", and
 * a key whose patch value is null is removed. *out is allocated in a (NULL when empty). */
static int merge_extra(struct roster_arena *a, const char *cur, const char *patch, const char **out,
                       struct roster_err *err)
{
    int rc = 0;
    json_t *base = NULL, *delta = NULL;
    *out = NULL;
    if (!patch || !*patch)
        goto fail; /* the patch clears the whole object */
    delta = json_loads(patch, 0, NULL);
    if (!json_is_object(delta)) {
        rc = roster_err_set(err, ROSTER_EINVAL, "extra must be a JSON object");
        goto fail;
    }
    base = cur && *cur ? json_loads(cur, 0, NULL) : NULL;
    if (!json_is_object(base)) {
        json_decref(base);
        base = json_object();
    }
    const char *key;
    json_t *val;
    json_object_foreach(delta, key, val)
    {
        if (json_is_null(val))
            json_object_del(base, key);
        else
            json_object_set(base, key, val);
    }
    if (json_object_size(base) == 0)
        goto fail;
    *out = roster_json_dump_arena(base, a);
    if (!*out)
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
fail:
    json_decref(base);
    json_decref(delta);
    return rc;
}

int roster_user_prepare_update(struct roster_ctx *ctx, struct roster_user *cur,
                               const struct roster_user *patch, bool allow_staged,
                               struct roster_err *err)
{
    if ((patch->set & ROSTER_USET_STATE) && patch->state == ROSTER_STAGED &&
        cur->state != ROSTER_STAGED && !allow_staged) {
        int rc = roster_err_set(err, ROSTER_EINVAL,
                                "state \"STAGED\" is not allowed for updates (use ACTIVATED or "
                                "SUSPENDED)");
        if (err)
            err->field = "state";
        return rc;
    }
    struct roster_user p = *patch;
    if (ROSTER_USER_FIELD_SET(patch, RU_EXTRA)) {
        int rc = merge_extra(ctx->arena, cur->f[RU_EXTRA], patch->f[RU_EXTRA], &p.f[RU_EXTRA], err);
        if (rc)
            return rc;
    }
    roster_user_apply_patch(cur, &p);
    int rc = roster_user_validate(cur, ROSTER_VALIDATE_UPDATE, err);
    if (rc)
        return rc;
    cur->set = p.set; /* tells the store which fields changed (see user_update) */
    return 0;
}

int roster_user_update(struct roster_ctx *ctx, const char *user_id, const struct roster_user *patch,
                       bool allow_staged, struct roster_user *out, struct roster_err *err)
{
    int rc = 0;
    if (!roster_id_valid(user_id)) {
        rc = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", user_id);
        goto fail;
    }
    for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        struct roster_user cur;
        memset(&cur, 0, sizeof(cur));
        rc = roster_store_user_get(ctx->conn, ctx->org_id, user_id, &cur, ctx->arena, err);
        if (rc == ROSTER_ENOTFOUND)
            rc = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", user_id);
        if (rc)
            goto fail;
        rc = roster_user_prepare_update(ctx, &cur, patch, allow_staged, err);
        if (rc)
            goto fail;
        rc = roster_store_user_update(ctx->conn, ctx->org_id, &cur, err);
        cur.set = 0;
        if (rc == ROSTER_ESTALE)
            continue;               /* another writer got there first: reload and re-apply */
        if (rc == ROSTER_ENOTFOUND) /* deleted between our read and write */
            rc = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", user_id);
        if (rc == 0 && out)
            *out = cur;
        goto fail;
    }
    /* EBUSY, not ESTALE: the job engine reads ESTALE as "lease lost"; this one is retryable */
    rc = roster_err_set(err, ROSTER_EBUSY,
                        "user \"%.64s\" is being changed by other requests, retry the update",
                        user_id);
fail:
    return rc;
}

int roster_user_update_from(struct roster_ctx *ctx, const struct roster_user *cur_in,
                            const struct roster_user *patch, bool allow_staged,
                            struct roster_user *out, struct roster_err *err)
{
    struct roster_user cur = *cur_in;
    int rc = roster_user_prepare_update(ctx, &cur, patch, allow_staged, err);
    if (rc)
        return rc;
    rc = roster_store_user_update(ctx->conn, ctx->org_id, &cur, err);
    cur.set = 0;
    if (rc == ROSTER_ENOTFOUND) /* deleted since the caller's read */
        rc = roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", cur.id);
    else if (rc == ROSTER_ESTALE)
        rc = roster_err_set(err, ROSTER_ESTALE, "user \"%.64s\" was changed by another request",
                            cur.id);
    if (rc == 0 && out)
        *out = cur;
    return rc;
}

int roster_user_get(struct roster_ctx *ctx, const char *user_id, struct roster_user *out,
                    struct roster_err *err)
{
    int rc = ROSTER_ENOTFOUND;
    if (roster_id_valid(user_id))
        rc = roster_store_user_get(ctx->conn, ctx->org_id, user_id, out, ctx->arena, err);
    if (rc == ROSTER_ENOTFOUND)
        roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", user_id);
    return rc;
}

int roster_users_delete(struct roster_ctx *ctx, const char *const *ids, size_t n,
                        struct roster_err *err)
{
    int rc = roster_store_begin(ctx->conn, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = roster_store_user_delete(ctx->conn, ctx->org_id, ids[i], err);
        if (rc == ROSTER_ENOTFOUND) /* deleted by someone else in between */
            roster_err_set(err, ROSTER_ENOTFOUND, "user \"%.64s\" not found", ids[i]);
    }
    return core_tx_end(ctx, rc, err);
}

/* The extras of a user written in the caller's open transaction; hash: the password's
 * (made before the transaction: hashing is slow on purpose and must not hold a write lock) */
static int write_extras(struct roster_ctx *ctx, const char *user_id, int64_t user_num,
                        const struct roster_user_extras *x, const char *hash,
                        struct roster_err *err)
{
    int rc = 0;
    if (hash)
        rc = roster_store_user_secret_set(ctx->conn, ctx->org_id, user_id, hash, err);
    if (rc == 0 && x && x->ngroups)
        rc = roster_store_group_bind(ctx->conn, ctx->org_id, x->groups, x->ngroups, &user_num, 1,
                                     true, err);
    return rc;
}

/* Hashes x's password, if any, then begins the transaction. */
static int begin_with_hash(struct roster_ctx *ctx, const struct roster_user_extras *x,
                           const char **hash, struct roster_err *err)
{
    *hash = NULL;
    int rc = x && x->password ? roster_password_hash(x->password, ctx->arena, hash, err) : 0;
    return rc ? rc : roster_store_begin(ctx->conn, err);
}

int roster_user_create_with(struct roster_ctx *ctx, struct roster_user *u, int default_state,
                            const struct roster_user_extras *x, struct roster_err *err)
{
    const char *hash;
    int rc = begin_with_hash(ctx, x, &hash, err);
    if (rc)
        return rc;
    rc = roster_user_create(ctx, u, default_state, err);
    if (rc == 0)
        rc = write_extras(ctx, u->id, u->num_id, x, hash, err);
    return core_tx_end(ctx, rc, err);
}

int roster_user_update_with(struct roster_ctx *ctx, const char *user_id,
                            const struct roster_user *patch, bool allow_staged,
                            const struct roster_user_extras *x, struct roster_err *err)
{
    const char *hash;
    int rc = begin_with_hash(ctx, x, &hash, err);
    if (rc)
        return rc;
    /* the user's number only matters for group bindings: read it only then */
    struct roster_user cur = {0};
    snprintf(cur.id, sizeof(cur.id), "%s", user_id);
    if (patch->set)
        rc = roster_user_update(ctx, user_id, patch, allow_staged, &cur, err);
    else if (x && x->ngroups)
        rc = roster_user_get(ctx, user_id, &cur, err);
    if (rc == 0)
        rc = write_extras(ctx, cur.id, cur.num_id, x, hash, err);
    return core_tx_end(ctx, rc, err);
}

int roster_users_create_many(struct roster_ctx *ctx, struct roster_user *u, size_t n,
                             int default_state, const char *const *passwords, int *rcs,
                             struct roster_err *errs, struct roster_err *err)
{
    if (!n)
        return 0;
    /* the valid ones, packed for the store; map[k] = their index in u */
    size_t *map = roster_arena_alloc(ctx->arena, n * sizeof(*map));
    struct roster_user *v = malloc(n * sizeof(*v));
    int *vrcs = malloc(n * sizeof(*vrcs));
    struct roster_err *verrs = malloc(n * sizeof(*verrs));
    const char **hashes = roster_arena_zalloc(ctx->arena, n * sizeof(*hashes));
    int rc = 0;
    if (!v || !vrcs || !verrs) {
        rc = roster_err_set(err, ROSTER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        roster_err_clear(&errs[i]);
        rcs[i] = roster_user_prepare_create(ctx, &u[i], default_state, &errs[i]);
        if (!rcs[i] && passwords && passwords[i])
            rcs[i] = roster_password_hash(passwords[i], ctx->arena, &hashes[i], &errs[i]);
        if (!rcs[i]) {
            map[k] = i;
            v[k++] = u[i];
        }
    }
    if (!k)
        goto done;
    rc = roster_store_begin(ctx->conn, err);
    if (rc)
        goto done;
    rc = roster_store_user_create_many(ctx->conn, ctx->org_id, v, k, vrcs, verrs, err);
    for (size_t j = 0; !rc && j < k; j++) {
        size_t i = map[j];
        rcs[i] = vrcs[j];
        if (vrcs[j]) {
            errs[i] = verrs[j];
            continue;
        }
        u[i] = v[j];
        if (hashes[i])
            rc = roster_store_user_secret_set(ctx->conn, ctx->org_id, u[i].id, hashes[i], err);
    }
    rc = core_tx_end(ctx, rc, err);
done:
    free(v);
    free(vrcs);
    free(verrs);
    return rc;
}
