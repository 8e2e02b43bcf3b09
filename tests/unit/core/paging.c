/* Unit tests of the result pages of bulk jobs at the edges of int64 (issue 14, finding
 * 11): a skip of 2^63-1 (JumpCloud's results, a forged Courier cursor) or a limit that large
 * gives an empty or a whole page, never an overflowing from + limit (undefined behaviour,
 * which the ASan+UBSan build of this test turns into an abort). Against a real SQLite store
 * in a temp directory.
 */
#include "roster/core.h"
#include "roster/jsonscan.h"
#include "roster/store.h"
#include "test.h"
#include "unit/fixture.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static struct roster_store *st;
static struct roster_conn *conn;
static struct roster_arena A;
static struct roster_org org;

/* A job codec and a message codec that the pages never call (nothing runs here). */
static int no_item(const char *json, size_t len, int kind, struct roster_user *out,
                   struct roster_arena *a, struct roster_err *err)
{
    (void)json, (void)len, (void)kind, (void)out, (void)a;
    return roster_err_set(err, ROSTER_EINVAL, "not run in this test");
}

static int any_definition(const char *json, size_t len, struct roster_msg_def *out,
                          struct roster_arena *a, struct roster_err *err)
{
    (void)json, (void)len, (void)a, (void)err;
    memset(out, 0, sizeof(*out));
    return 0;
}

static const struct roster_msg_codec test_msg_codec = {"test", any_definition, NULL, NULL, "none"};

static void scan(const char *raw, struct roster_json_span **spans, size_t *n)
{
    struct roster_err err = {0};
    char top;
    CHECK_EQ_INT(roster_json_scan(raw, strlen(raw), &A, spans, n, &top, &err), 0);
}

static void test_user_job_pages(void)
{
    struct roster_ctx ctx = {.conn = conn, .arena = &A, .org_id = org.id};
    struct roster_err err = {0};
    const char *raw = "[{\"a\":1},{\"a\":2},{\"a\":3}]";
    struct roster_json_span *spans;
    size_t n;
    scan(raw, &spans, &n);
    struct roster_job_params params = {"test", ROSTER_ACTIVATED, NULL, false};
    struct roster_job job;
    CHECK_EQ_INT(
        roster_job_submit(&ctx, ROSTER_JOB_USERS_CREATE, raw, spans, n, &params, &job, &err), 0);
    struct roster_item_result *res;
    size_t got;
    struct roster_job j;
    CHECK_EQ_INT(roster_job_results(&ctx, job.id, INT64_MAX, 100, &j, &res, &got, &err), 0);
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(roster_job_results(&ctx, job.id, INT64_MAX - 1, INT64_MAX, &j, &res, &got, &err),
                 0);
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(roster_job_results(&ctx, job.id, 1, INT64_MAX, &j, &res, &got, &err), 0);
    CHECK_EQ_INT(got, 2);
    CHECK_EQ_INT(got ? res[0].index : -1, 1);
    CHECK_EQ_INT(roster_job_results(&ctx, job.id, 0, 2, &j, &res, &got, &err), 0);
    CHECK_EQ_INT(got, 2);
}

static void test_message_job_pages(void)
{
    struct roster_ctx ctx = {.conn = conn, .arena = &A, .org_id = org.id};
    struct roster_err err = {0};
    struct roster_job job;
    CHECK_EQ_INT(roster_msgjob_create(&ctx, "test", "{}", 2, &job, &err), 0);
    const char *raw = "[{\"x\":1},{\"x\":2}]";
    struct roster_json_span *spans;
    size_t n;
    scan(raw, &spans, &n);
    int64_t first = -1;
    CHECK_EQ_INT(roster_msgjob_add(&ctx, job.id, raw, spans, n, &first, &err), 0);
    struct roster_msg_item *items;
    size_t got;
    struct roster_job j;
    CHECK_EQ_INT(roster_msgjob_items(&ctx, job.id, INT64_MAX, 100, &j, &items, &got, &err), 0);
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(roster_msgjob_items(&ctx, job.id, 1, INT64_MAX, &j, &items, &got, &err), 0);
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(
        roster_msgjob_items(&ctx, job.id, INT64_MAX - 1, INT64_MAX, &j, &items, &got, &err), 0);
    CHECK_EQ_INT(got, 0);
}

int main(void)
{
    roster_arena_init(&A, 0);
    roster_job_codec_register("test", no_item);
    roster_msg_codec_register(&test_msg_codec);
    struct test_store ts;
    int rc = test_store_open(&ts, "paging");
    st = ts.st;
    conn = ts.conn;
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        test_make_org(conn, &org, "paging");
        test_user_job_pages();
        test_message_job_pages();
    }
    test_store_close(&ts);
    roster_arena_release(&A);
    return test_finish();
}
