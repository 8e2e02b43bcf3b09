/* Store contract suite (contract.h): durability. What was written is there after the store
 * is closed and opened again, also through a second handle opened while the first is in use.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- durability and migrations --- */

void test_reopen(void)
{
    struct roster_err err = {0};
    /* a second handle on the same store, opened while the first is in use */
    struct roster_store *st2 = NULL;
    struct roster_conn *c2 = NULL;
    CHECK_EQ_INT(roster_store_open(url, &st2, &err), 0);
    if (st2) {
        CHECK_EQ_INT(roster_conn_open(st2, &c2, &err), 0);
        struct roster_user u;
        if (c2)
            CHECK_EQ_INT(roster_store_user_get(c2, org_a.id, kept_user, &u, &A, &err), 0);
        roster_conn_close(c2);
        roster_store_close(st2);
    }

    roster_conn_close(conn);
    conn = NULL;
    roster_store_close(st);
    st = NULL;
    int rc = roster_store_open(url, &st, &err);
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
    CHECK_EQ_INT(roster_store_org_get(conn, org_a.id, &o, &A, &err), 0);
    CHECK_EQ_STR(o.name, "Org A");
    struct roster_user u;
    CHECK_EQ_INT(roster_store_user_get(conn, org_a.id, kept_user, &u, &A, &err), 0);
    CHECK_EQ_STR(u.f[RU_USERNAME], "jdoe");
    CHECK_EQ_STR(u.f[RU_PHONES], "[{\"type\":\"work\",\"number\":\"+49 30 1234\"}]");
    struct roster_key k;
    CHECK_EQ_INT(roster_store_key_find(conn, kept_key_hash, &k, &A, &err), 0);
    struct roster_job j;
    CHECK_EQ_INT(roster_store_job_get(conn, org_a.id, kept_job, &j, &A, &err), 0);
    CHECK_EQ_INT(j.status, ROSTER_JOB_FINISHED);
    CHECK_EQ_INT(j.done, 6);
    /* a job still to do before the reopen can be claimed after it, with its input */
    if (kept_open_job[0]) {
        CHECK_EQ_INT(roster_store_lease_reset_all(conn, &err), 0);
        bool seen = false;
        struct roster_chunk ch;
        for (int i = 0; i < 1000 && !seen; i++) {
            if (roster_store_chunk_claim(conn, roster_now_ms(), 60000, &ch, &A, &err) != 0)
                break;
            seen = strcmp(ch.job_id, kept_open_job) == 0;
        }
        CHECK(seen);
        if (seen) {
            CHECK_EQ_STR(ch.items_json, "[\"w0\",\"w1\"]");
            CHECK_EQ_INT(ch.count, 2);
            CHECK_EQ_INT(ch.first_idx, 0);
        }
    }
    /* ids keep growing after a reopen */
    struct roster_user nu;
    make_user(&nu, "after-reopen", "after-reopen@example.com");
    CHECK_EQ_INT(create(org_a.id, &nu, &err), 0);
    CHECK(nu.num_id > u.num_id);
    /* scheduled changes and messages */
    struct roster_schedule sg;
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_a.id, kept_sched_done, &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_APPLIED);
    CHECK_EQ_STR(sg.outcome, "user state set to ACTIVATED");
    CHECK(sg.message_id[0] != '\0');
    CHECK_EQ_INT(sg.done_ms, SCHED_C + 1200);
    CHECK_EQ_INT(roster_store_schedule_get(conn, org_s.id, kept_sched_pending, &sg, &A, &err), 0);
    CHECK_EQ_INT(sg.status, ROSTER_SCHED_PENDING);
    CHECK_EQ_STR(sg.email_override, "first.last@example.com");
    CHECK(sg.send_activation_email);
    int64_t due = 0;
    CHECK_EQ_INT(roster_store_schedule_next_due(conn, &due, &err), 0);
    CHECK_EQ_INT(due, kept_next_due);
    struct roster_message mg;
    CHECK_EQ_INT(roster_store_message_get(conn, org_a.id, kept_message, &mg, &A, &err), 0);
    CHECK_EQ_STR(mg.recipient, "jdoe@example.com");
    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    int64_t total = 0;
    CHECK_EQ_STR(slist(org_s.id, &q, &total), "r2,r4,r3,r1,r5,r6,r7,r9,t2,t3,k1");
    CHECK_EQ_INT(total, 11);
}
