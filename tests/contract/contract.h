/* What the files of the store contract suite share: the store under test, the helpers that
 * make organisations, users, lists and groups (fixture.c), and every test function (main.c
 * runs them from its table, in its order). Only the main thread calls CHECK.
 */
#ifndef ROSTER_CONTRACT_H
#define ROSTER_CONTRACT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/core.h"
#include "roster/list.h"
#include "roster/store.h"
#include "roster/util.h"
#define TEST_SHARED_COUNTERS
#include "test.h"

/* the store under test (main.c opens it; the reopen tests replace st and conn) */
extern const char *url;
extern struct roster_store *st;
extern struct roster_conn *conn;
extern struct roster_arena A; /* the tests' arena */

/* the lists kept by core (src/core/lists.c) for this store, as a server keeps them */
extern struct roster_app capp;

/* Organisations "Org A" and "Org B", made by the first test that calls need_orgs, for the
 * tests that need an organisation or two and count on nothing in them but what they wrote. */
extern struct roster_org org_a, org_b;
void need_orgs(void);
/* A worker thread's own connection to the store with an arena *a (initialised here); NULL,
 * counted in *errors, when it cannot connect. */
struct roster_conn *worker_conn(struct roster_arena *a, atomic_int *errors);

/* The scheduled changes the schedule tests leave (schedules.c), for the tests that expect
 * them: sched_fixture(stage) makes sure the store holds what test_schedule_create
 * (SCHED_CREATED), then test_schedule_list and test_schedule_next leave, making what those
 * that did not run would have made. sid(label) is a change's id, slist(org_id, q, total)
 * the labels of a list of pending changes. */
enum { SCHED_CREATED = 1, SCHED_LISTED, SCHED_NEXTED };
extern struct roster_org org_s;
void sched_fixture(int stage);
const char *sid(const char *label);
const char *slist(const char *org_id, const struct roster_query *q, int64_t *total);

/* virtual times of the schedule tests: the claim tests run at SCHED_C + x, the list tests'
 * rows are due at SCHED_D + x, far later, so that no claim ever takes them */
#define SCHED_C INT64_C(3000000000000)
#define SCHED_D INT64_C(4000000000000)

void sleep_ms(long ms);
/* Claims chunks until one of job_id comes; 0 and *out, or ROSTER_ENOTFOUND. Chunks of other
 * jobs (left open by the tests before in the same store) are completed on the way, as a
 * server would (messages.c; for the tests that run last). */
int claim_of(const char *job_id, int64_t now, int64_t lease_ms, struct roster_chunk *out);
/* Creates an organisation named name with every default state ACTIVATED (CHECKed). */
void make_org(struct roster_org *o, const char *name);
/* A user with only a username, an e-mail and the state ACTIVATED. */
void make_user(struct roster_user *u, const char *username, const char *email);
/* An explicit user id: the org id's first 12 hex chars + n, so that ids sort like n. */
void user_id_for(char out[ROSTER_ID_LEN + 1], const char *org_id, int n);
/* A list read straight from the store (count and page), as the list tests expect it. */
int user_list(struct roster_conn *c, const char *org_id, const struct roster_query *q,
              struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *total,
              struct roster_err *err);
/* user_list with membership conditions conds[0..ncond) */
int user_list_grouped(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                      const struct roster_group_cond *conds, size_t ncond, struct roster_arena *a,
                      struct roster_user **out, size_t *n, int64_t *total, struct roster_err *err);
/* A rendered list through core's list operation, on connection c (the kept list state of
 * the store: what a server answers). */
int list_render(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                const struct roster_user_render *rd, const char *sep, struct roster_buf *out,
                struct roster_arena *a, size_t *n, int64_t *total, struct roster_err *err);
/* user_create on conn; a failure other than a conflict is printed. */
int create(const char *org_id, struct roster_user *u, struct roster_err *err);
/* user_create_many on conn; a store failure is printed. */
int create_many(const char *org_id, struct roster_user *u, size_t n, int *rcs,
                struct roster_err *errs);
/* Creates a group in org_id and CHECKs that the store answers expect. */
struct roster_group mk_group(const char *org_id, int kind, const char *name, int64_t parent,
                             int expect);

/* queries: limit 100 and nothing else; values in A; one more filter */
void qinit(struct roster_query *q);
struct roster_qval *svals(int n, ...);
struct roster_qval *ivals(int n, ...);
void qfilter(struct roster_query *q, int key, int op, struct roster_qval *v, size_t n);

/* orgs.c */
void test_orgs(void);
void test_keys(void);
void test_service_keys(void);
/* users.c */
void test_user_crud(void);
void test_conflicts(void);
void test_scim_fields(void);
void test_isolation(void);
void test_state_only_update(void);
void test_transactions(void);
void test_user_create_many(void);
void test_user_create_many_ids(void);
void test_user_create_many_txn(void);
void test_user_create_many_big(void);
void test_user_create_many_race(void);
void test_user_get_many(void);
void test_user_update_many(void);
void test_user_update_many_big(void);
/* lists.c */
void test_list(void);
void test_list_paging_writes(void);
void test_grouped_list_writes(void);
/* lists_render.c */
void test_list_render(void);
void test_list_render_dense(void);
void test_read_span(void);
void test_users_scan(void); /* scan.c */
/* lists_exact.c */
void test_list_plans(void);
void test_list_exact(void);
void test_list_reader_writer(void);
void test_list_kept(void);
/* jobs.c */
void test_jobs(void);
void test_concurrent_claims(void);
void test_submit_during_write(void);
/* schedules.c */
void test_schedule_create(void);
void test_schedule_list(void);
void test_schedule_next(void);
void test_schedule_claim(void);
void test_schedule_concurrent(void);
void test_schedule_queue_stats(void);
/* messages.c */
void test_messages(void);
void test_message_jobs(void);
void test_job_input_purge(void);
/* quota.c */
void test_job_usage(void);
void test_delivery_claims(void);
void test_delivery_concurrent(void);
void test_webhooks(void);
void test_delivery_channels(void);
void test_delivery_outbox(void);
/* groups.c */
void test_groups(void);
void test_group_members(void);
void test_core_create_many(void);
/* faults.c */
void test_fault_bulk_job(void);
void test_fault_scheduler(void);
void test_fault_message_job(void);
/* reopen.c */
void test_reopen(void);
/* templates.c */
void test_templates(void);
void test_import_progress(void); /* import_progress.c */
void test_bulk_load(void);       /* import_progress.c */
void test_job_records(void);     /* job_records.c */

/* idem.c */
void test_idem_keys(void);
void test_idem_race(void);
void test_idem_purge(void);

#endif
