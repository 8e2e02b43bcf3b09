/* Store contract suite (contract.h): durability. What was written is there after the store
 * is closed and opened again, also through a second handle opened while the first is in use.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- durability and migrations --- */

/* Claims due chunks until one of job_id comes (chunks of other jobs stay leased until the
 * leases are reset); 0 and *ch, or not 0. */
static int claim_job(const char *job_id, struct roster_chunk *ch)
{
    struct roster_err err = {0};
    for (int i = 0; i < 1000; i++) {
        int rc = roster_store_chunk_claim(conn, roster_now_ms(), 60000, ch, &A, &err);
        if (rc)
            return rc;
        if (strcmp(ch->job_id, job_id) == 0)
            return 0;
    }
    return ROSTER_ENOTFOUND;
}

void test_reopen(void)
{
    struct roster_err err = {0};
    /* what is looked for after the reopen, written before it: an organisation with a user,
     * a key, a finished job and one still to do, a message, a finished scheduled change,
     * and the pending changes of the schedule tests */
    struct roster_org org;
    make_org(&org, "Org Reopen");
    struct roster_user kept;
    make_user(&kept, "jdoe", "jdoe@example.com");
    kept.f[RU_PHONES] = "[{\"type\":\"work\",\"number\":\"+49 30 1234\"}]";
    CHECK_EQ_INT(create(org.id, &kept, &err), 0);
    struct roster_key key = {0};
    char secret[33];
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), key.hash);
    memcpy(key.org_id, org.id, sizeof(key.org_id));
    key.name = "reopen key";
    CHECK_EQ_INT(roster_store_key_create(conn, &key, &err), 0);
    const char *items6[] = {"[\"a0\",\"a1\",\"a2\",\"a3\",\"a4\",\"a5\"]"};
    const char *items2[] = {"[\"w0\",\"w1\"]"};
    const int64_t six[] = {6}, two[] = {2};
    struct roster_job done = {0}, open = {0};
    memcpy(done.org_id, org.id, sizeof(done.org_id));
    done.kind = ROSTER_JOB_USERS_CREATE;
    done.params_json = "{}";
    open = done;
    CHECK_EQ_INT(roster_store_job_create(conn, &done, items6, six, 1, &err), 0);
    struct roster_chunk ch;
    int rc = claim_job(done.id, &ch);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0)
        CHECK_EQ_INT(
            roster_store_chunk_complete(conn, &ch, "[1,1,1,1,1,1]", 6, 0, roster_now_ms(), &err),
            0);
    CHECK_EQ_INT(roster_store_job_create(conn, &open, items2, two, 1, &err), 0);
    struct roster_message msg = {0};
    memcpy(msg.org_id, org.id, sizeof(msg.org_id));
    msg.kind = "activation_email";
    msg.user_id = kept.id;
    msg.recipient = "jdoe@example.com";
    msg.content_json = "{\"template\":\"activation\"}";
    CHECK_EQ_INT(roster_store_message_create(conn, &msg, &err), 0);
    /* a change claimed and finished with an outcome and the message (due later than the
     * changes the schedule tests claim: in a whole run the only one due then) */
    const int64_t due_at = SCHED_C + 600000, done_at = SCHED_C + 601200;
    struct roster_schedule sd = {0};
    memcpy(sd.org_id, org.id, sizeof(sd.org_id));
    snprintf(sd.user_id, sizeof(sd.user_id), "%s", kept.id);
    sd.state = ROSTER_ACTIVATED;
    sd.due_ms = due_at;
    CHECK_EQ_INT(roster_store_schedule_create(conn, &sd, 1, &err), 0);
    bool finished = false;
    struct roster_schedule *due_rows = NULL;
    size_t ndue = 0;
    CHECK_EQ_INT(
        roster_store_schedule_claim_due(conn, due_at, 60000, 1000, &A, &due_rows, &ndue, &err), 0);
    for (size_t i = 0; i < ndue && !finished; i++) {
        if (strcmp(due_rows[i].id, sd.id) != 0)
            continue;
        snprintf(due_rows[i].message_id, sizeof(due_rows[i].message_id), "%s", msg.id);
        CHECK_EQ_INT(roster_store_schedule_finish(conn, &due_rows[i], ROSTER_SCHED_APPLIED,
                                                  "user state set to ACTIVATED", done_at, &err),
                     0);
        finished = true;
    }
    CHECK(finished);
    sched_fixture(SCHED_NEXTED);
    int64_t due_before = 0;
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due_before, &err), 0);

    /* a second handle on the same store, opened while the first is in use */
    struct roster_store *st2 = NULL;
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st2, &err), 0);
    if (st2) {
        CHECK_EQ_INT(roster_conn_open(st2, &c2, &err), 0);
        struct roster_user u;
        if (c2)
            CHECK_EQ_INT(roster_store_user_get(c2, org.id, kept.id, &u, &A, &err), 0);
        roster_conn_close(c2);
        roster_store_close(st2);
    }

    roster_conn_close(conn);
    conn = NULL;
    roster_store_close(st);
    st = NULL;
    rc = roster_store_open(url, &st, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "    reopen: %s (%s)\n", err.msg, err.detail);
        return;
    }
    CHECK((roster_store_flags(st) & (ROSTER_STORE_EMBEDDED | ROSTER_STORE_MULTI_NODE)) != 0);
    CHECK_EQ_INT(roster_conn_open(st, &conn, &err), 0);
    if (!conn)
        return;
    struct roster_org o;
    CHECK_EQ_INT(roster_store_org_get(conn, org.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org Reopen");
    struct roster_user u;
    CHECK_EQ_INT(roster_store_user_get(conn, org.id, kept.id, &u, &A, &err), 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "jdoe");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"+49 30 1234\"}]");
    struct roster_key k;
    CHECK_EQ_INT(roster_store_key_find(conn, key.hash, &k, &A, &err), 0);
    struct roster_job j;
    CHECK_EQ_INT(roster_store_job_get(conn, org.id, done.id, &j, &A, &err), 0);
    CHECK_EQ_INT(j.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(j.done, 6);
    /* a job still to do before the reopen can be claimed after it, with its input */
    CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
    bool seen = claim_job(open.id, &ch) == 0;
    CHECK(seen);
    if (seen) {
        CHECK_EQ_STR(ch.items_json, "[\"w0\",\"w1\"]");
        CHECK_EQ_INT(ch.count, 2);
        CHECK_EQ_INT(ch.first_idx, 0);
    }
    /* ids keep growing after a reopen */
    struct roster_user nu;
    make_user(&nu, "after-reopen", "after-reopen@example.com");
    CHECK_EQ_INT(create(org.id, &nu, &err), 0);
    CHECK(nu.num_id > u.num_id);
    /* scheduled changes and messages */
    struct roster_schedule sg;
    CHECK_EQ_INT(roster_store_schedule_get(conn, org.id, sd.id, &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(sg.outcome, "user state set to ACTIVATED");
    CHECK(sg.message_id[0] != '\0');
    CHECK_EQ_INT(sg.done_ms, done_at);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, sid("k1"), &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_STR(sg.email_override, "first.last@example.com");
    CHECK(sg.send_activation_email);
    int64_t due = 0;
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, due_before);
    struct roster_message mg;
    CHECK_EQ_INT(roster_store_message_get(conn, org.id, msg.id, &mg, &A, &err), 0);
    CHECK_EQ_STR(mg.recipient, "jdoe@example.com");
    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    int64_t total = 0;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r2,r4,r3,r1,r5,r6,r7,r9,t2,t3,k1");
    CHECK_EQ_INT(total, 11);
}
