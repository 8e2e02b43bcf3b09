/* The import job kind (src/core/jobkind.h, ROSTER_JOB_IMPORT): a local `roster import`
 * (src/core/import.c) as a job the API lists like a bulk job. The command applies its rows
 * itself, so the engine never runs one: the store keeps it out of every claim
 * (job_record_create, job_record_chunk), and prepare and apply here refuse. What this file
 * adds is the job's creation and each batch's per-row results, written by the import in
 * the transaction of the rows they describe, in the format of a user job's results (so the
 * JumpCloud results endpoint serves them as it serves a bulk create's).
 */
#include "core/job_import.h"

#include <stdio.h>
#include <string.h>

#include "core/jobkind.h"
#include "roster/jsonw.h"

int roster_import_job_create(struct roster_ctx *ctx, char job_id[ROSTER_ID_LEN + 1],
                             struct roster_err *err)
{
    struct roster_job job;
    memset(&job, 0, sizeof(job));
    memcpy(job.id, job_id, ROSTER_ID_LEN + 1);
    snprintf(job.org_id, sizeof(job.org_id), "%s", ctx->org_id);
    job.kind = ROSTER_JOB_IMPORT;
    job.params_json = "{\"source\":\"roster import\"}";
    int rc = roster_store_job_record_create(ctx->conn, &job, err);
    if (rc == 0)
        memcpy(job_id, job.id, ROSTER_ID_LEN + 1);
    return rc;
}

/* A succeeded row's message as stored (one character, or none for a created row) and as
 * shown (import_results); a created row's empty one is the dialect's "user created". */
static const char *const success_code[RIA_N] = {
    [RIA_CREATED] = "", [RIA_UPDATED] = "u", [RIA_UNCHANGED] = "="};
static const char *const success_msg[RIA_N] = {
    [RIA_CREATED] = "", [RIA_UPDATED] = "user updated", [RIA_UNCHANGED] = "user unchanged"};

/* One row's result, in the entry format of job_users.c ([status, message, user id,
 * updated_ms, username, email, field]) cut short, since an import writes one for every
 * row of files of millions: a success is [1, code, user id] (success_code), a failure
 * [2, reason] or [2, reason, null, null, null, null, field]. The time is the range's
 * (done_ms) and the username and e-mail are read with the page (import_results). A sync of
 * 200,000 users, 99% unchanged, wrote 19 MB of results in the full format: 10% more CPU
 * and 14% more time than without results (docs/import-export.md). */
static void write_row_result(struct roster_jsonw *w, const struct roster_import_row *r)
{
    bool ok = r->action == RIA_CREATED || r->action == RIA_UPDATED || r->action == RIA_UNCHANGED;
    roster_jsonw_arr_begin(w);
    roster_jsonw_int(w, ok ? ROSTER_ITEM_SUCCEEDED : ROSTER_ITEM_FAILED);
    if (ok) {
        roster_jsonw_str(w, success_code[r->action]);
        roster_jsonw_str(w, r->u.id[0] ? r->u.id : NULL);
    } else {
        roster_jsonw_str(w, r->err.msg);
        if (r->err.field) {
            for (int i = 0; i < 4; i++)
                roster_jsonw_null(w);
            roster_jsonw_str(w, r->err.field);
        }
    }
    roster_jsonw_arr_end(w);
}

int roster_import_job_record(struct roster_ctx *ctx, const char *job_id, int64_t first_idx,
                             const struct roster_import_row *rows, size_t n, bool finished,
                             struct roster_buf *buf, struct roster_err *err)
{
    int64_t now = roster_now_ms();
    size_t i = 0;
    do { /* a range of ROSTER_JOB_CHUNK rows at most: a page of results parses one or two */
        size_t end = n - i > ROSTER_JOB_CHUNK ? i + ROSTER_JOB_CHUNK : n;
        int64_t nok = 0, nfailed = 0;
        struct roster_jsonw w;
        roster_buf_reset(buf);
        roster_jsonw_init(&w, buf);
        roster_jsonw_arr_begin(&w);
        for (size_t k = i; k < end; k++) {
            write_row_result(&w, &rows[k]);
            if (rows[k].action == RIA_CREATED || rows[k].action == RIA_UPDATED ||
                rows[k].action == RIA_UNCHANGED)
                nok++;
            else
                nfailed++;
        }
        roster_jsonw_arr_end(&w);
        int rc = roster_store_job_record_chunk(
            ctx->conn, ctx->org_id, job_id, first_idx + (int64_t)i, (int64_t)(end - i), buf->data,
            nok, nfailed, finished && end == n, now, err);
        if (rc)
            return rc;
        i = end;
    } while (i < n);
    return 0;
}

/* The engine never claims an import's chunks (they are stored done); were one offered, it
 * is refused rather than applied. */
static int import_prepare(struct roster_conn *conn, const struct roster_chunk *ch,
                          struct roster_arena *a, void **state, struct roster_err *err)
{
    (void)conn;
    (void)a;
    *state = NULL;
    return roster_err_set(
        err, ROSTER_EINVAL,
        "job \"%s\" is a roster import, applied by the command, not by the server", ch->job_id);
}

static int import_apply(struct roster_conn *conn, const struct roster_chunk *ch,
                        struct roster_arena *a, void *state, struct roster_err *err)
{
    (void)conn;
    (void)a;
    (void)state;
    return roster_err_set(
        err, ROSTER_EINVAL,
        "job \"%s\" is a roster import, applied by the command, not by the server", ch->job_id);
}

/* The user jobs' result pages (jobkind.h), with each succeeded row's username and e-mail
 * as the user has them now (the stored entries leave them out; a user deleted since has
 * none). */
static int import_results(struct roster_ctx *ctx, const struct roster_job *job, int64_t skip,
                          int64_t limit, struct roster_item_result **out, size_t *n,
                          struct roster_err *err)
{
    int rc = roster_job_user_results(ctx, job, skip, limit, out, n, err);
    if (rc || *n == 0)
        return rc;
    struct roster_item_result *res = *out;
    const char **ids = roster_arena_alloc(ctx->arena, *n * sizeof(*ids));
    size_t *of = roster_arena_alloc(ctx->arena, *n * sizeof(*of));
    size_t m = 0;
    for (size_t i = 0; i < *n; i++) {
        if (res[i].status != ROSTER_ITEM_SUCCEEDED)
            continue;
        for (int a = 0; a < RIA_N; a++)
            if (success_code[a] && success_msg[a] && strcmp(res[i].message, success_code[a]) == 0)
                res[i].message = success_msg[a];
        if (res[i].user_id) {
            of[m] = i;
            ids[m++] = res[i].user_id;
        }
    }
    if (m == 0)
        return 0;
    struct roster_user *users = roster_arena_alloc(ctx->arena, m * sizeof(*users));
    int *rcs = roster_arena_alloc(ctx->arena, m * sizeof(*rcs));
    rc = roster_store_user_get_many(ctx->conn, ctx->org_id, ids, m, users, rcs, ctx->arena, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < m; k++)
        if (rcs[k] == 0) {
            res[of[k]].username = users[k].f[RU_USERNAME];
            res[of[k]].email = users[k].f[RU_EMAIL];
        }
    return 0;
}

const struct roster_job_kind_ops roster_job_kind_import = {
    ROSTER_JOB_IMPORT, import_prepare, import_apply, NULL,
    import_results,    false, /* no input is stored (results only): nothing for the purge to find */
};
