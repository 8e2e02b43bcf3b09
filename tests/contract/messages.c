/* Store contract suite (contract.h): outbox messages and message jobs (job_open,
 * job_append, job_start, job_chunks, user_resolve, message_create_many), also across a
 * reopen of the store.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"

void test_messages(void)
{
    struct roster_err err = {0};
    struct roster_message m = {0}, got;
    char source[ROSTER_ID_LEN + 1], user[ROSTER_ID_LEN + 1]; /* a scheduled change's, a user's */
    roster_id_new(source);
    roster_id_new(user);
    need_orgs();
    memcpy(m.org_id, org_a.id, sizeof(m.org_id));
    m.kind = "activation_email";
    m.source_id = source;
    m.user_id = user;
    m.recipient = "jdoe@example.com";
    m.content_json = "{\"template\":\"activation\",\"data\":{\"name\":\"J\\u00f6rg\"}}";
    int64_t before = roster_now_ms();
    CHECK_EQ_INT(roster_store_message_create(conn, &m, &err), 0);
    CHECK(m.created_ms >= before && m.created_ms <= roster_now_ms());
    CHECK_EQ_STR(m.status, "ENQUEUED");
    /* "1-" + 8 hex seconds + "-" + 24 hex */
    int shape = strlen(m.id) == 35 && strncmp(m.id, "1-", 2) == 0 && m.id[10] == '-';
    for (int i = 2; i < 35; i++)
        if (i != 10 && !strchr("0123456789abcdef", m.id[i]))
            shape = 0;
    CHECK(shape);
    unsigned long secs = strtoul(m.id + 2, NULL, 16);
    CHECK(secs >= (unsigned long)(before / 1000) &&
          secs <= (unsigned long)(roster_now_ms() / 1000));

    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, m.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, m.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_STR(got.kind, "activation_email");
    CHECK_EQ_STR(got.source_id, source);
    CHECK_EQ_STR(got.user_id, user);
    CHECK_EQ_STR(got.recipient, "jdoe@example.com");
    CHECK_EQ_STR(got.content_json, m.content_json);
    CHECK_EQ_STR(got.status, "ENQUEUED");
    CHECK_EQ_INT(got.created_ms, m.created_ms);

    /* another organisation's message is not found, like a missing one */
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, m.id, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, "1-00000000-000000000000000000000000",
                                          &got, &A, &err),
                 ROSTER_ENOTFOUND);
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    CHECK_EQ_INT(roster_store_message_get(conn, nowhere, m.id, &got, &A, &err), ROSTER_ENOTFOUND);

    /* optional fields stay NULL; a given status and id are kept; an id is unique */
    struct roster_message b = {0};
    memcpy(b.org_id, org_b.id, sizeof(b.org_id));
    snprintf(b.id, sizeof(b.id), "1-%08x-%s", 0x61e9dd53u, "b5bb6c863b7ffbe83ad4b28d");
    b.kind = "bulk_message";
    b.status = "SENT";
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), 0);
    CHECK_EQ_STR(b.id, "1-61e9dd53-b5bb6c863b7ffbe83ad4b28d");
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, b.id, &got, &A, &err), 0);
    CHECK(got.source_id == NULL && got.user_id == NULL && got.recipient == NULL &&
          got.content_json == NULL);
    CHECK_EQ_STR(got.status, "SENT");
    CHECK_EQ_STR(got.kind, "bulk_message");
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), ROSTER_ECONFLICT);

    /* two new ids differ */
    struct roster_message c = {0};
    memcpy(c.org_id, org_a.id, sizeof(c.org_id));
    c.kind = "activation_email";
    CHECK_EQ_INT(roster_store_message_create(conn, &c, &err), 0);
    CHECK(strcmp(c.id, m.id) != 0);

    /* an unknown organisation takes none; a rolled back one is gone */
    struct roster_message x = {0};
    memcpy(x.org_id, nowhere, sizeof(x.org_id));
    x.kind = "activation_email";
    CHECK_EQ_INT(roster_store_message_create(conn, &x, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(x.id, "");
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    memcpy(x.org_id, org_a.id, sizeof(x.org_id));
    CHECK_EQ_INT(roster_store_message_create(conn, &x, &err), 0);
    CHECK_EQ_INT(roster_store_message_create(conn, &b, &err), ROSTER_ECONFLICT); /* goes on */
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, x.id, &got, &A, &err), ROSTER_ENOTFOUND);
}

/* --- message jobs (appended methods: job_open, job_append, job_start, job_chunks,
 * user_resolve, message_create_many) --- */

/* Claims chunks until one of job_id comes; 0 and *out, or ROSTER_ENOTFOUND. Chunks of
 * other jobs (left open by the tests that ran before in the same store: this one runs last)
 * are completed on the way, as a server would, so that they stop standing in the way of
 * later claims. */
int claim_of(const char *job_id, int64_t now, int64_t lease_ms, struct roster_chunk *out)
{
    struct roster_err err = {0};
    for (int i = 0; i < 100000; i++) {
        int rc = roster_store_chunk_claim(conn, now, lease_ms, out, &A, &err);
        if (rc)
            return rc;
        if (strcmp(out->job_id, job_id) == 0)
            return 0;
        roster_store_chunk_complete(conn, out, "[]", 0, out->count, now, &err);
    }
    return ROSTER_ENOTFOUND;
}

#define MAPPENDS 20
static struct roster_job mjob_conc;
static atomic_int mappend_errors;

/* appends MAPPENDS chunks of 2 items ("[t,t]" with t = the thread's tag) one by one */
static void *mappender(void *arg)
{
    const char *items = arg;
    struct roster_conn *c = NULL;
    struct roster_err err = {0};
    if (roster_conn_open(st, &c, &err) != 0) {
        atomic_fetch_add(&mappend_errors, 1);
        return NULL;
    }
    const int64_t two = 2;
    for (int i = 0; i < MAPPENDS; i++) {
        int64_t first;
        if (roster_store_job_append(c, mjob_conc.org_id, mjob_conc.id, &items, &two, 1, &first,
                                    &err) != 0)
            atomic_fetch_add(&mappend_errors, 1);
    }
    roster_conn_close(c);
    return NULL;
}

void test_message_jobs(void)
{
    struct roster_err err = {0};
    struct roster_job j, got;
    need_orgs();
    memset(&j, 0, sizeof(j));
    memcpy(j.org_id, org_a.id, sizeof(j.org_id));
    j.kind = ROSTER_JOB_MESSAGE;
    j.params_json = "{\"definition\":{\"event\":\"welcome\"}}";
    CHECK_EQ_INT(roster_store_job_open(conn, &j, &err), 0);
    CHECK(roster_id_valid(j.id));
    CHECK_EQ_INT(j.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(got.kind, ROSTER_JOB_MESSAGE);
    CHECK_EQ_INT(got.total, 0);
    CHECK_EQ_STR(got.params_json, j.params_json);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, j.id, &got, &A, &err), ROSTER_ENOTFOUND);
    struct roster_job nowhere = j;
    nowhere.id[0] = '\0';
    roster_id_new(nowhere.org_id);
    CHECK_EQ_INT(roster_store_job_open(conn, &nowhere, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_STR(nowhere.id, "");

    /* appends: chunks after the existing ones, indexes continue, total grows */
    const char *c1[] = {"[{\"recipient\":\"a\"}, {\"recipient\":\"b\"}]",
                        "[{\"recipient\":\"c\"}]"};
    const int64_t n1[] = {2, 1};
    int64_t first = -1;
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c1, n1, 2, &first, &err), 0);
    CHECK_EQ_INT(first, 0);
    const char *c2[] = {"[{\"to\":{\"email\":\"d@x.io\"}},{}]"};
    const int64_t n2[] = {2};
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, n2, 1, &first, &err), 0);
    CHECK_EQ_INT(first, 3);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, NULL, NULL, 0, &first, &err), 0);
    CHECK_EQ_INT(first, 5);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 5);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    /* another organisation's or a missing job takes nothing; malformed chunks are refused */
    CHECK_EQ_INT(roster_store_job_append(conn, org_b.id, j.id, c2, n2, 1, &first, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, nowhere.org_id, c2, n2, 1, &first, &err),
                 ROSTER_ENOTFOUND);
    const int64_t zero[] = {0};
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, zero, 1, &first, &err),
                 ROSTER_EINVAL);

    struct roster_chunk_page *pg;
    size_t npg;
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 0, 5, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 3);
    if (npg == 3) {
        CHECK_EQ_INT(pg[0].first_idx, 0);
        CHECK_EQ_INT(pg[0].count, 2);
        CHECK_EQ_STR(pg[0].items_json, c1[0]); /* as given, whitespace and all */
        CHECK_EQ_INT(pg[1].first_idx, 2);
        CHECK_EQ_STR(pg[1].items_json, c1[1]);
        CHECK_EQ_INT(pg[2].first_idx, 3);
        CHECK_EQ_STR(pg[2].items_json, c2[0]);
        CHECK(pg[0].results_json == NULL && pg[2].results_json == NULL);
    }
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 3, 4, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 1);
    CHECK_EQ_INT(npg ? pg[0].first_idx : -1, 3);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 1, 3, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 2);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 5, 9, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 0);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_b.id, j.id, 0, 5, &A, &pg, &npg, &err),
                 ROSTER_ENOTFOUND);

    /* a CREATED job is never claimed */
    const int64_t T = 5000000000000;
    struct roster_chunk ch[4];
    CHECK_EQ_INT(claim_of(j.id, T, 1000, &ch[0]), ROSTER_ENOTFOUND);

    /* start: once; then no more items */
    CHECK_EQ_INT(roster_store_job_start(conn, org_b.id, j.id, T, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, j.id, T, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_PENDING);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, j.id, T, &err), ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, c2, n2, 1, &first, &err),
                 ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, j.id, NULL, NULL, 0, &first, &err),
                 ROSTER_ECONFLICT);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 5);

    /* a message job's chunks are claimed at once, in any order, each once */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(claim_of(j.id, T, 1000, &ch[i]), 0);
    CHECK(ch[0].chunk_no != ch[1].chunk_no && ch[1].chunk_no != ch[2].chunk_no &&
          ch[0].chunk_no != ch[2].chunk_no);
    CHECK_EQ_INT(claim_of(j.id, T + 10, 1000, &ch[3]), ROSTER_ENOTFOUND);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(ch[i].kind, ROSTER_JOB_MESSAGE);
        CHECK_EQ_STR(ch[i].org_id, org_a.id);
        CHECK_EQ_STR(ch[i].params_json, j.params_json);
    }
    /* complete the later ones, lose the first one's lease: it comes back */
    int first_chunk = ch[0].chunk_no == 0 ? 0 : ch[1].chunk_no == 0 ? 1 : 2;
    for (int i = 0; i < 3; i++) {
        if (i == first_chunk)
            continue;
        char res[64];
        snprintf(res, sizeof(res), "[[1,\"m%lld\"]]", (long long)ch[i].chunk_no);
        CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[i], res, ch[i].count, 0, T + 20, &err),
                     0);
    }
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.done, 5 - ch[first_chunk].count);
    CHECK_EQ_INT(claim_of(j.id, T + 500, 1000, &ch[3]), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(claim_of(j.id, T + 2000, 1000, &ch[3]), 0);
    CHECK_EQ_INT(ch[3].chunk_no, 0);
    CHECK_EQ_STR(ch[3].items_json, c1[0]);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[first_chunk], "[[2,\"x\"],[2,\"y\"]]", 0, 2,
                                             T + 2100, &err),
                 ROSTER_ESTALE);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &ch[3], "[[1,\"a\"],[2,\"no address\"]]", 1, 1,
                                             T + 2100, &err),
                 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, j.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.done, 5);
    CHECK_EQ_INT(got.ok, 4);
    CHECK_EQ_INT(got.failed, 1);
    CHECK_EQ_INT(roster_store_job_chunks(conn, org_a.id, j.id, 0, 5, &A, &pg, &npg, &err), 0);
    CHECK_EQ_INT(npg, 3);
    if (npg == 3) {
        CHECK_EQ_STR(pg[0].results_json, "[[1,\"a\"],[2,\"no address\"]]");
        CHECK_EQ_STR(pg[2].results_json, "[[1,\"m2\"]]");
        CHECK_EQ_INT(pg[0].done_ms, T + 2100);
    }

    /* a job started without items is finished at once */
    struct roster_job empty;
    memset(&empty, 0, sizeof(empty));
    memcpy(empty.org_id, org_b.id, sizeof(empty.org_id));
    empty.kind = ROSTER_JOB_MESSAGE;
    empty.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_open(conn, &empty, &err), 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_b.id, empty.id, T, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, empty.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(got.total, 0);

    /* concurrent appends never interleave: every chunk is one append's, indexes contiguous */
    memset(&mjob_conc, 0, sizeof(mjob_conc));
    memcpy(mjob_conc.org_id, org_b.id, sizeof(mjob_conc.org_id));
    mjob_conc.kind = ROSTER_JOB_MESSAGE;
    mjob_conc.params_json = "{}";
    CHECK_EQ_INT(roster_store_job_open(conn, &mjob_conc, &err), 0);
    pthread_t th[2];
    static const char *tags[2] = {"[1,1]", "[2,2]"};
    int started = 0;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, mappender, (void *)tags[i]) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(started, 2);
    CHECK_EQ_INT(atomic_load(&mappend_errors), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_b.id, mjob_conc.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.total, 2 * 2 * MAPPENDS);
    CHECK_EQ_INT(
        roster_store_job_chunks(conn, org_b.id, mjob_conc.id, 0, got.total, &A, &pg, &npg, &err),
        0);
    CHECK_EQ_INT(npg, 2 * MAPPENDS);
    int contiguous = 1, ones = 0;
    for (size_t i = 0; i < npg; i++) {
        contiguous &= pg[i].first_idx == (int64_t)(2 * i) && pg[i].count == 2;
        ones += strcmp(pg[i].items_json, tags[0]) == 0;
    }
    CHECK(contiguous);
    CHECK_EQ_INT(ones, MAPPENDS);

    /* user_resolve: by id, else by username ignoring case; only the organisation's users */
    struct roster_user ua, ub;
    make_user(&ua, "Resolve.Me", "resolve.me@example.com");
    ua.f[RU_FIRST_NAME] = "Res";
    ua.f[RU_PHONES] = "[{\"type\":\"work\",\"number\":\"+1 555 0100\"}]";
    CHECK_EQ_INT(create(org_a.id, &ua, &err), 0);
    make_user(&ub, "resolve.other", "resolve.other@example.com");
    CHECK_EQ_INT(create(org_b.id, &ub, &err), 0);
    const char *keys[] = {ua.id, "RESOLVE.ME", "nobody", NULL, ub.id, "resolve.other", ""};
    struct roster_user out[7];
    CHECK_EQ_INT(roster_store_user_resolve(conn, org_a.id, keys, 7, &A, out, &err), 0);
    CHECK_EQ_STR(out[0].id, ua.id);
    CHECK_EQ_STR(out[0].f[RU_EMAIL], "resolve.me@example.com");
    CHECK_EQ_STR(out[0].f[RU_FIRST_NAME], "Res");
    CHECK_EQ_STR(out[0].f[RU_PHONES], ua.f[RU_PHONES]);
    CHECK_EQ_STR(out[0].org_id, org_a.id);
    CHECK_EQ_STR(out[1].id, ua.id);
    CHECK_EQ_STR(out[1].f[RU_USERNAME], "Resolve.Me");
    CHECK_EQ_STR(out[2].id, "");
    CHECK_EQ_STR(out[3].id, "");
    CHECK_EQ_STR(out[4].id, "");
    CHECK_EQ_STR(out[5].id, "");
    CHECK_EQ_STR(out[6].id, "");
    /* a username that is another user's id: the id wins; an id of no user of the
     * organisation still matches a username */
    struct roster_user uc, ud;
    make_user(&uc, ua.id, "looks-like-an-id@example.com");
    CHECK_EQ_INT(create(org_a.id, &uc, &err), 0);
    make_user(&ud, ub.id, "looks-like-b@example.com");
    CHECK_EQ_INT(create(org_a.id, &ud, &err), 0);
    const char *k2[] = {ua.id, ub.id, uc.id};
    CHECK_EQ_INT(roster_store_user_resolve(conn, org_a.id, k2, 3, &A, out, &err), 0);
    CHECK_EQ_STR(out[0].id, ua.id);
    CHECK_EQ_STR(out[1].id, ud.id);
    CHECK_EQ_STR(out[2].id, uc.id);

    /* message_create_many: all or nothing */
    struct roster_message ms[3], mg;
    memset(ms, 0, sizeof(ms));
    const char *recips[3] = {"a@x.io", "b@x.io", "c\"d\\e@x.io"};
    for (int i = 0; i < 3; i++) {
        memcpy(ms[i].org_id, org_a.id, sizeof(ms[i].org_id));
        ms[i].kind = "bulk_message";
        ms[i].source_id = j.id;
        ms[i].recipient = recips[i];
        ms[i].content_json = "{\"event\":\"welcome\",\"data\":{\"n\":\"\\u00e9\"}}";
    }
    ms[1].user_id = ua.id;
    CHECK_EQ_INT(roster_store_message_create_many(conn, ms, 3, &err), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, ms[i].id, &mg, &A, &err), 0);
        CHECK_EQ_STR(mg.recipient, recips[i]);
        CHECK_EQ_STR(mg.kind, "bulk_message");
        CHECK_EQ_STR(mg.source_id, j.id);
        CHECK_EQ_STR(mg.status, "ENQUEUED");
        CHECK_EQ_STR(mg.content_json, ms[i].content_json);
        CHECK_EQ_STR(mg.user_id, i == 1 ? ua.id : NULL);
        CHECK(mg.created_ms > 0);
    }
    CHECK_EQ_INT(roster_store_message_get(conn, org_b.id, ms[0].id, &mg, &A, &err),
                 ROSTER_ENOTFOUND);
    struct roster_message dup[2];
    memset(dup, 0, sizeof(dup));
    for (int i = 0; i < 2; i++) {
        memcpy(dup[i].org_id, org_a.id, sizeof(dup[i].org_id));
        dup[i].kind = "bulk_message";
    }
    memcpy(dup[1].id, ms[2].id, sizeof(dup[1].id)); /* taken */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_message_create_many(conn, dup, 2, &err), ROSTER_ECONFLICT);
    struct roster_message after = {0};
    memcpy(after.org_id, org_a.id, sizeof(after.org_id));
    after.kind = "bulk_message";
    CHECK_EQ_INT(roster_store_message_create_many(conn, &after, 1, &err), 0); /* goes on */
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, after.id, &mg, &A, &err), 0);
    CHECK_EQ_STR(dup[0].id, ""); /* the id made up for it was taken back */
    CHECK_EQ_STR(dup[1].id, ms[2].id);
    CHECK_EQ_INT(roster_store_message_create_many(conn, ms, 0, &err), 0);

    /* after a restart: a job still taking items is not run, a started one whose later
     * chunk was done first still has its first chunk to run */
    struct roster_job held, half;
    const char *one[] = {"[{\"recipient\":\"h\"}]", "[{\"recipient\":\"i\"}]"};
    const int64_t ones1[] = {1, 1};
    memset(&held, 0, sizeof(held));
    memcpy(held.org_id, org_a.id, sizeof(held.org_id));
    held.kind = ROSTER_JOB_MESSAGE;
    held.params_json = "{}";
    half = held;
    CHECK_EQ_INT(roster_store_job_open(conn, &held, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, held.id, one, ones1, 2, &first, &err), 0);
    CHECK_EQ_INT(roster_store_job_open(conn, &half, &err), 0);
    CHECK_EQ_INT(roster_store_job_append(conn, org_a.id, half.id, one, ones1, 2, &first, &err), 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, half.id, T, &err), 0);
    const int64_t R = T + 100000;
    struct roster_chunk h0, h1;
    CHECK_EQ_INT(claim_of(half.id, R, 60000, &h0), 0);
    CHECK_EQ_INT(claim_of(half.id, R, 60000, &h1), 0);
    struct roster_chunk *later = h0.chunk_no == 1 ? &h0 : &h1;
    CHECK_EQ_INT(later->chunk_no, 1);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, later, "[[1,\"x\"]]", 1, 0, R, &err), 0);
    roster_conn_close(conn);
    conn = NULL;
    roster_store_close(st);
    st = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st, &err), 0);
    if (!st || roster_conn_open(st, &conn, &err) != 0) {
        CHECK(0);
        return;
    }
    if (roster_store_flags(st) & ROSTER_STORE_EMBEDDED) /* as roster serve does */
        CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, held.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_CREATED);
    CHECK_EQ_INT(got.total, 2);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, half.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_RUNNING);
    CHECK_EQ_INT(got.done, 1);
    const int64_t R2 = R + 120000; /* past the old leases */
    CHECK_EQ_INT(claim_of(half.id, R2, 60000, &h0), 0);
    CHECK_EQ_INT(h0.chunk_no, 0);
    /* (claim_of completes every other chunk it meets: the held job's would be lost) */
    CHECK_EQ_INT(claim_of(half.id, R2, 60000, &h1), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_chunk_complete(conn, &h0, "[[1,\"y\"]]", 1, 0, R2, &err), 0);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, half.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, held.id, &got, &A, &err), 0);
    CHECK_EQ_INT(got.done, 0);
    CHECK_EQ_INT(roster_store_job_start(conn, org_a.id, held.id, R2, &err), 0);
    CHECK_EQ_INT(claim_of(held.id, R2, 60000, &h0), 0);
    CHECK_EQ_INT(h0.chunk_no, 0);

    /* larger batches (a backend may write them in groups): all, or none whichever message
     * fails, and the ids it made up are taken back */
    enum { NBIG = 41 };
    static struct roster_message big[NBIG];
    static char bigrecip[NBIG][16];
    for (int fail_at = -1; fail_at < NBIG; fail_at += fail_at < 0 ? 6 : 17) {
        memset(big, 0, sizeof(big));
        for (int i = 0; i < NBIG; i++) {
            memcpy(big[i].org_id, org_b.id, sizeof(big[i].org_id));
            big[i].kind = "bulk_message";
            snprintf(bigrecip[i], sizeof(bigrecip[i]), "r%d", i);
            big[i].recipient = bigrecip[i];
            big[i].content_json = "{}";
        }
        if (fail_at >= 0)
            memcpy(big[fail_at].id, ms[0].id, sizeof(big[fail_at].id)); /* taken (org_a's) */
        int rc = roster_store_message_create_many(conn, big, NBIG, &err);
        CHECK_EQ_INT(rc, fail_at < 0 ? 0 : ROSTER_ECONFLICT);
        int stored = 0, cleared = 0;
        for (int i = 0; i < NBIG; i++) {
            if (i == fail_at)
                continue;
            cleared += big[i].id[0] == '\0';
            if (big[i].id[0] &&
                roster_store_message_get(conn, org_b.id, big[i].id, &mg, &A, &err) == 0)
                stored += mg.recipient && strcmp(mg.recipient, bigrecip[i]) == 0;
        }
        CHECK_EQ_INT(stored, fail_at < 0 ? NBIG : 0);
        CHECK_EQ_INT(cleared, fail_at < 0 ? 0 : NBIG - 1);
    }
}
