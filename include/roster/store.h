/* The store interface: one versioned table of functions (like SQLite's sqlite3_vfs) that
 * each backend fills in. Methods are only ever appended; a NULL method means "not supported"
 * and the wrapper returns ROSTER_EUNSUPPORTED. Callers use the roster_store_* wrappers,
 * never the table. Capabilities are flags (ROSTER_STORE_*), never backend-name checks.
 *
 * Threads: a struct roster_store is shared by all threads; each thread opens its own
 * struct roster_conn and never shares it. Every method that reads or writes organisation
 * data takes the caller's org id and never sees another organisation's rows: an object of
 * another organisation is ROSTER_ENOTFOUND, exactly like a missing one.
 *
 * Memory: outputs (strings inside returned structs, arrays) are allocated in the caller's
 * arena and live until it is cleared. Inputs are only read during the call.
 *
 * Transactions: every method is atomic on its own. A caller may group calls with
 * begin/commit/rollback (the job engine does, to write an item's effect and its result
 * together); a failing user_create/user_update inside such a transaction (conflict,
 * not found) leaves the transaction usable for the next call.
 */
#ifndef ROSTER_STORE_H
#define ROSTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/arena.h"
#include "roster/err.h"
#include "roster/group.h"
#include "roster/job.h"
#include "roster/list.h"
#include "roster/query.h"
#include "roster/schedule.h"
#include "roster/user.h"

#define ROSTER_STORE_VERSION 1

/* capability flags */
#define ROSTER_STORE_MULTI_NODE 0x1u /* several roster processes may share it */
#define ROSTER_STORE_EMBEDDED 0x2u   /* one file, one serving process (leases reset on start) */

struct roster_store;
struct roster_conn;

struct roster_store_methods {
    int version; /* ROSTER_STORE_VERSION this table was written for */
    const char *name;
    unsigned flags;

    /* --- lifecycle --- */
    /* url: a file path (sqlite) or postgres:// URL. Applies schema migrations. */
    int (*open)(const char *url, struct roster_store **out, struct roster_err *err);
    void (*close)(struct roster_store *st);
    int (*conn_open)(struct roster_store *st, struct roster_conn **out, struct roster_err *err);
    void (*conn_close)(struct roster_conn *c);
    int (*begin)(struct roster_conn *c, struct roster_err *err);
    int (*commit)(struct roster_conn *c, struct roster_err *err);
    void (*rollback)(struct roster_conn *c);

    /* --- organisations --- */
    /* Assigns id (if empty), num_id and created_ms in *org. */
    int (*org_create)(struct roster_conn *c, struct roster_org *org, struct roster_err *err);
    int (*org_get)(struct roster_conn *c, const char *org_id, struct roster_org *out,
                   struct roster_arena *a, struct roster_err *err);
    int (*org_list)(struct roster_conn *c, struct roster_arena *a, struct roster_org **out,
                    size_t *n, struct roster_err *err);
    /* Replaces name, company block and default states of org->id. */
    int (*org_update)(struct roster_conn *c, const struct roster_org *org, struct roster_err *err);

    /* --- API keys --- */
    /* Assigns id (if empty) and created_ms in *key. */
    int (*key_create)(struct roster_conn *c, struct roster_key *key, struct roster_err *err);
    /* Finds an active (not revoked) key by its SHA-256 hex; ROSTER_ENOTFOUND otherwise. */
    int (*key_find)(struct roster_conn *c, const char *hash_hex, struct roster_key *out,
                    struct roster_arena *a, struct roster_err *err);
    int (*key_list)(struct roster_conn *c, struct roster_arena *a, struct roster_key **out,
                    size_t *n, struct roster_err *err);
    int (*key_revoke)(struct roster_conn *c, const char *key_id, struct roster_err *err);

    /* --- users --- */
    /* Inserts u (already validated) into org_id. Assigns id (if empty), num_id, created_ms,
     * modified_ms (= created), version 1. Conflicts: ROSTER_ECONFLICT with err->field set to
     * the ufield label and a message naming the value. */
    int (*user_create)(struct roster_conn *c, const char *org_id, struct roster_user *u,
                       struct roster_err *err);
    int (*user_get)(struct roster_conn *c, const char *org_id, const char *user_id,
                    struct roster_user *out, struct roster_arena *a, struct roster_err *err);
    /* Writes every field of u (a full user, already validated) where id = u->id and
     * version = u->version; sets modified_ms and version+1 in *u. When u->set is exactly
     * ROSTER_USET_STATE the caller promises that only the state changed, and the store may
     * write just that (a scheduled activation must not rewrite every index). A version mismatch is
     * ROSTER_ESTALE; a missing user ROSTER_ENOTFOUND; uniqueness ROSTER_ECONFLICT. */
    int (*user_update)(struct roster_conn *c, const char *org_id, struct roster_user *u,
                       struct roster_err *err);
    int (*user_delete)(struct roster_conn *c, const char *org_id, const char *user_id,
                       struct roster_err *err);
    /* --- bulk jobs --- */
    /* Stores the job row and its chunks (chunk i holds items_json[i], counts[i] items) in
     * one transaction. Assigns job->id (if empty) and timestamps. */
    int (*job_create)(struct roster_conn *c, struct roster_job *job, const char *const *items_json,
                      const int64_t *counts, size_t nchunks, struct roster_err *err);
    int (*job_get)(struct roster_conn *c, const char *org_id, const char *job_id,
                   struct roster_job *out, struct roster_arena *a, struct roster_err *err);
    /* Leases the next runnable chunk (not done, lease expired, and the lowest not-done chunk
     * of its job) for lease_ms; ROSTER_ENOTFOUND when there is none. */
    int (*chunk_claim)(struct roster_conn *c, int64_t now_ms, int64_t lease_ms,
                       struct roster_chunk *out, struct roster_arena *a, struct roster_err *err);
    /* Marks the chunk done with its results and adds the counts to its job, if the lease
     * token still holds (else ROSTER_ESTALE). Meant to run inside the caller's transaction
     * that also wrote the items' effects. */
    int (*chunk_complete)(struct roster_conn *c, const struct roster_chunk *ch,
                          const char *results_json, int64_t nok, int64_t nfailed, int64_t now_ms,
                          struct roster_err *err);
    /* Extends the lease of a chunk still being worked on; ROSTER_ESTALE if lost. */
    int (*chunk_renew)(struct roster_conn *c, const struct roster_chunk *ch, int64_t until_ms,
                       struct roster_err *err);
    /* The chunks of job_id (in org_id) that overlap items [from, to), in order. */
    int (*job_results)(struct roster_conn *c, const char *org_id, const char *job_id, int64_t from,
                       int64_t to, struct roster_arena *a, struct roster_chunk_results **out,
                       size_t *n, struct roster_err *err);
    /* Drops every lease (embedded stores, at server start: the previous process is gone). */
    int (*lease_reset_all)(struct roster_conn *c, struct roster_err *err);

    /* --- scheduled state changes (include/roster/schedule.h) --- appended in version 1 */
    /* Stores s[0..n) (all of one organisation, s[i].org_id) pending, all or nothing. Assigns
     * each id (if empty) and created_ms. Does not check that the users exist. */
    int (*schedule_create)(struct roster_conn *c, struct roster_schedule *s, size_t n,
                           struct roster_err *err);
    /* Pending schedules of org_id matching q (filters on RQ_ID, RQ_USER_ID, RQ_STATE, RQ_DUE,
     * ANDed; q->sorts ignored), ordered by due time then id, from q->skip, at most
     * q->limit; *total = all matching when q->want_total (else -1). */
    int (*schedule_list)(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                         struct roster_arena *a, struct roster_schedule **out, size_t *n,
                         int64_t *total, struct roster_err *err);
    /* One schedule of org_id, whatever its status. */
    int (*schedule_get)(struct roster_conn *c, const char *org_id, const char *id,
                        struct roster_schedule *out, struct roster_arena *a,
                        struct roster_err *err);
    /* Pending -> cancelled; ROSTER_ENOTFOUND if missing, of another org, or not pending. */
    int (*schedule_cancel)(struct roster_conn *c, const char *org_id, const char *id,
                           int64_t now_ms, struct roster_err *err);
    /* For each of user_ids[0..nusers): its next pending ACTIVATED and its next pending
     * SUSPENDED change (earliest due, then lowest id), all of them ordered by due then id. */
    int (*schedule_next)(struct roster_conn *c, const char *org_id, const char *const *user_ids,
                         size_t nusers, struct roster_arena *a, struct roster_schedule **out,
                         size_t *n, struct roster_err *err);
    /* Leases up to max pending schedules (any organisation) due at or before now_ms whose
     * lease is free or expired, earliest due first; *n = 0 when none. */
    int (*schedule_claim_due)(struct roster_conn *c, int64_t now_ms, int64_t lease_ms, size_t max,
                              struct roster_arena *a, struct roster_schedule **out, size_t *n,
                              struct roster_err *err);
    /* Records the outcome of a claimed schedule (status APPLIED or FAILED, outcome text,
     * s->message_id) if its lease token still holds, else ROSTER_ESTALE. Meant to run in the
     * caller's transaction that also wrote the user update. */
    int (*schedule_finish)(struct roster_conn *c, const struct roster_schedule *s, int status,
                           const char *outcome, int64_t now_ms, struct roster_err *err);
    /* The earliest due time of any pending schedule (any organisation); ROSTER_ENOTFOUND
     * when there is none. */
    int (*schedule_next_due)(struct roster_conn *c, int64_t *due_ms, struct roster_err *err);

    /* --- message outbox --- */
    /* Stores m; assigns id (if empty) and created_ms. */
    int (*message_create)(struct roster_conn *c, struct roster_message *m, struct roster_err *err);
    int (*message_get)(struct roster_conn *c, const char *org_id, const char *id,
                       struct roster_message *out, struct roster_arena *a, struct roster_err *err);

    /* --- service-account keys (include/roster/group.h) --- */
    /* Stores k (org must exist: else ROSTER_ENOTFOUND); assigns id (if empty), created_ms. */
    int (*sa_key_create)(struct roster_conn *c, struct roster_sa_key *k, struct roster_err *err);
    /* An active (not revoked) key by id; ROSTER_ENOTFOUND otherwise. */
    int (*sa_key_find)(struct roster_conn *c, const char *key_id, struct roster_sa_key *out,
                       struct roster_arena *a, struct roster_err *err);
    /* Revokes key_id (again: keeps the first time); ROSTER_ENOTFOUND if there is none. */
    int (*sa_key_revoke)(struct roster_conn *c, const char *key_id, struct roster_err *err);

    /* --- typed groups and memberships (include/roster/group.h) --- */
    /* Stores g in org_id; assigns num_id, created_ms, modified_ms. A name already used by a
     * group of the same kind: ROSTER_ECONFLICT (err->field "name"). */
    int (*group_create)(struct roster_conn *c, const char *org_id, struct roster_group *g,
                        struct roster_err *err);
    /* Groups of org_id matching q, ordered by num_id, from q->skip, at most q->limit;
     * *total = all matching when q->want_total (else -1). */
    int (*group_list)(struct roster_conn *c, const char *org_id, const struct roster_group_query *q,
                      struct roster_arena *a, struct roster_group **out, size_t *n, int64_t *total,
                      struct roster_err *err);
    /* Writes name, parent and extra of the group (g->num_id, g->kind) of org_id and sets
     * g->modified_ms; ROSTER_ENOTFOUND, ROSTER_ECONFLICT as for create. */
    int (*group_update)(struct roster_conn *c, const char *org_id, struct roster_group *g,
                        struct roster_err *err);
    /* Deletes the group (num_id of kind in org_id), its memberships, and the groups whose
     * parent it is with theirs; ROSTER_ENOTFOUND if there is no such group. */
    int (*group_delete)(struct roster_conn *c, const char *org_id, int kind, int64_t num_id,
                        struct roster_err *err);
    /* Adds (bind) or removes (!bind) every pair of groups[0..ng) x users[0..nu) (num ids),
     * all or nothing; already in / not in is fine. A group or user that is not org_id's:
     * ROSTER_ENOTFOUND naming it. */
    int (*group_bind)(struct roster_conn *c, const char *org_id, const int64_t *groups, size_t ng,
                      const int64_t *users, size_t nu, bool bind, struct roster_err *err);
    /* The memberships of users[0..nu) (num ids) in groups of kind, ordered by user (in the
     * order of users) then group num_id. */
    int (*group_memberships)(struct roster_conn *c, const char *org_id, const int64_t *users,
                             size_t nu, int kind, struct roster_arena *a,
                             struct roster_membership **out, size_t *n, struct roster_err *err);
    /* --- user password hashes --- */
    /* Sets (hash) or removes (NULL) the password hash of user user_id (24 hex) of org_id;
     * ROSTER_ENOTFOUND for a missing user. Deleted with the user. */
    int (*user_secret_set)(struct roster_conn *c, const char *org_id, const char *user_id,
                           const char *hash, struct roster_err *err);
    /* The hash (*hash = NULL when none is set); ROSTER_ENOTFOUND for a missing user. */
    int (*user_secret_get)(struct roster_conn *c, const char *org_id, const char *user_id,
                           struct roster_arena *a, const char **hash, struct roster_err *err);
    /* --- bulk user creation --- appended in version 1 */
    /* Inserts u[0..n) (already validated) into org_id in order, with exactly the effects
     * and outcomes of n user_create calls: for each i, rcs[i] is 0 (u[i] got its id if
     * empty, num_id, created_ms, modified_ms and version 1) or what user_create would
     * return, with errs[i] filled: ROSTER_ECONFLICT (errs[i].field and the same message)
     * when u[i] collides with an existing row or with an earlier item of this call (the
     * first one wins), ROSTER_ENOTFOUND when the organisation is missing. Such items do
     * not stop the others. Returns non-zero (err set; nothing written; u, rcs and errs
     * undefined) only for a store failure; the caller then rolls its transaction back.
     * Atomic on its own outside a transaction. */
    int (*user_create_many)(struct roster_conn *c, const char *org_id, struct roster_user *u,
                            size_t n, int *rcs, struct roster_err *errs, struct roster_err *err);
    /* Reads the users ids[0..n) of org_id into out[i] (strings in a), as n user_get calls
     * would: rcs[i] is 0 or ROSTER_ENOTFOUND (missing, or of another organisation). An id
     * may repeat. Returns non-zero (err set) only for a store failure. */
    int (*user_get_many)(struct roster_conn *c, const char *org_id, const char *const *ids,
                         size_t n, struct roster_user *out, int *rcs, struct roster_arena *a,
                         struct roster_err *err);
    /* Writes u[0..n) (full users, already validated, each with the version it was read at)
     * in order, with exactly the effects and outcomes of n user_update calls: rcs[i] is 0
     * (u[i] gets modified_ms, version + 1, num_id, created_ms) or what user_update would
     * return, with errs[i] filled: ROSTER_ESTALE, ROSTER_ENOTFOUND, ROSTER_ECONFLICT (a
     * key held by another row at that point of the sequence). Such items do not stop the
     * others. Returns non-zero (err set; nothing written; u, rcs and errs undefined) only
     * for a store failure. Atomic on its own outside a transaction. */
    int (*user_update_many)(struct roster_conn *c, const char *org_id, struct roster_user *u,
                            size_t n, int *rcs, struct roster_err *errs, struct roster_err *err);
    /* --- message jobs (include/roster/job.h) --- appended in version 1
     * job_open, job_append and job_start are atomic and durable on their own, like
     * job_create; they are not meant to run inside a caller's transaction (a backend may
     * keep job input apart from it). */
    /* Stores job (org_id, kind, params_json) with no items in status ROSTER_JOB_CREATED, in
     * which it is never claimed. Assigns id (if empty), status, total 0 and timestamps. */
    int (*job_open)(struct roster_conn *c, struct roster_job *job, struct roster_err *err);
    /* Appends chunks (chunk i holds items_json[i], counts[i] > 0 items) to job_id of org_id
     * after its existing ones and adds their items to its total, in one transaction;
     * *first_idx receives the index of the first appended item. Only while the job is
     * ROSTER_JOB_CREATED: ROSTER_ECONFLICT once started, ROSTER_ENOTFOUND for a missing or
     * foreign job (nchunks == 0 only checks that). Appends to one job are serialised: the
     * items of two of them never interleave. */
    int (*job_append)(struct roster_conn *c, const char *org_id, const char *job_id,
                      const char *const *items_json, const int64_t *counts, size_t nchunks,
                      int64_t *first_idx, struct roster_err *err);
    /* ROSTER_JOB_CREATED -> ROSTER_JOB_PENDING (ROSTER_JOB_FINISHED when it has no items),
     * after which its chunks are claimed like any job's. ROSTER_ECONFLICT if it was started
     * before (nothing changes), ROSTER_ENOTFOUND for a missing or foreign job. */
    int (*job_start)(struct roster_conn *c, const char *org_id, const char *job_id, int64_t now_ms,
                     struct roster_err *err);
    /* The chunks of job_id (in org_id) that overlap items [from, to), in order, with their
     * input and results; ROSTER_ENOTFOUND for a missing or foreign job. */
    int (*job_chunks)(struct roster_conn *c, const char *org_id, const char *job_id, int64_t from,
                      int64_t to, struct roster_arena *a, struct roster_chunk_page **out, size_t *n,
                      struct roster_err *err);
    /* For each keys[i] (i < n): the user of org_id whose id is keys[i], else the one whose
     * username equals it ignoring ASCII case, into out[i]; out[i].id is "" when none
     * matches or keys[i] is NULL. Only id, org_id and the fields username, email,
     * first/last name and phones are filled in. */
    int (*user_resolve)(struct roster_conn *c, const char *org_id, const char *const *keys,
                        size_t n, struct roster_arena *a, struct roster_user *out,
                        struct roster_err *err);
    /* Stores m[0..n) as message_create does each one, all or nothing: after a failure none
     * of them is stored and the caller's transaction is still usable. */
    int (*message_create_many)(struct roster_conn *c, struct roster_message *m, size_t n,
                               struct roster_err *err);

    /* --- user lists (include/roster/list.h, docs/lists.md) --- */
    /* The list version of org_id: 0 until its first write, then bumped by every committed
     * write that can change one of its user lists (users, memberships, groups). */
    int (*list_version)(struct roster_conn *c, const char *org_id, int64_t *ver,
                        struct roster_err *err);
    /* The change records of org_id with since < ver <= until, in version order (strings in
     * a); ROSTER_ESTALE when some of them are no longer kept (the caller starts afresh). */
    int (*list_changes)(struct roster_conn *c, const char *org_id, int64_t since, int64_t until,
                        struct roster_arena *a, struct roster_change **out, size_t *n,
                        struct roster_err *err);
    /* The users of the list q (filters, search, membership conditions, order; q's own skip
     * and limit are ignored) that follow `after` in q's order (NULL: from the first; only
     * with at most one sort key), from the skip-th on, at most limit (< 0: all); *ver the
     * list version the rows were read at (may be NULL). Rows have every field. */
    int (*user_page)(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                     const struct roster_user *after, int64_t skip, int64_t limit,
                     struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *ver,
                     struct roster_err *err);
    /* The number of users in the list q; *ver as for user_page. */
    int (*user_count)(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                      int64_t *count, int64_t *ver, struct roster_err *err);
    /* The plan the database chose for the statements of the list q (count: the count; else
     * its page, after `after` as user_page): each segment's plan, one step a line (SQLite:
     * EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN of the generic plan of the prepared statement,
     * as list requests run it). For tests and operators (docs/lists.md). */
    int (*list_plan)(struct roster_conn *c, const char *org_id, const struct roster_query *q,
                     const struct roster_user *after, bool count, struct roster_arena *a,
                     const char **plan, struct roster_err *err);
    /* Makes the reads until snapshot_end share one snapshot: *began is true when this call
     * started one (SQLite: a read transaction; PostgreSQL: REPEATABLE READ, READ ONLY),
     * false inside a transaction or read span, whose snapshot they already share. */
    int (*snapshot_begin)(struct roster_conn *c, bool *began, struct roster_err *err);
    void (*snapshot_end)(struct roster_conn *c, bool began);

    /* --- read spans --- appended in version 1 */
    /* Starts a read-only span on c, ended by read_end (always, also after a failed read):
     * the reads in between may share one snapshot, so that a request's key, organisation
     * and list are read at one moment and cost one snapshot instead of one each (SQLite: one
     * read transaction). No writes in between. ROSTER_EINVAL inside a transaction or span.
     * A backend may do nothing (roster_store_read_begin_noop): each read then has its own
     * snapshot, as outside a span. */
    int (*read_begin)(struct roster_conn *c, struct roster_err *err);
    void (*read_end)(struct roster_conn *c);
};

struct roster_store {
    const struct roster_store_methods *m;
};
struct roster_conn {
    const struct roster_store_methods *m;
    struct roster_store *st;
};

/* Picks the backend for url ("postgres://" / "postgresql://" -> postgres, else a SQLite file
 * path) and opens it. */
int roster_store_open(const char *url, struct roster_store **out, struct roster_err *err);
void roster_store_close(struct roster_store *st);
static inline unsigned roster_store_flags(const struct roster_store *st)
{
    return st->m->flags;
}

static inline int roster_conn_open(struct roster_store *st, struct roster_conn **out,
                                   struct roster_err *err)
{
    return st->m->conn_open(st, out, err);
}
static inline void roster_conn_close(struct roster_conn *c)
{
    if (c)
        c->m->conn_close(c);
}
static inline int roster_store_begin(struct roster_conn *c, struct roster_err *err)
{
    return c->m->begin(c, err);
}
static inline int roster_store_commit(struct roster_conn *c, struct roster_err *err)
{
    return c->m->commit(c, err);
}
static inline void roster_store_rollback(struct roster_conn *c)
{
    c->m->rollback(c);
}

#define ROSTER_STORE_WRAP(ret_name, method, params, args)                                          \
    static inline int ret_name params                                                              \
    {                                                                                              \
        if (!c->m->method)                                                                         \
            return roster_err_set(err, ROSTER_EUNSUPPORTED, "store does not support " #method);    \
        return c->m->method args;                                                                  \
    }

ROSTER_STORE_WRAP(roster_store_org_create, org_create,
                  (struct roster_conn * c, struct roster_org *org, struct roster_err *err),
                  (c, org, err))
ROSTER_STORE_WRAP(roster_store_org_get, org_get,
                  (struct roster_conn * c, const char *org_id, struct roster_org *out,
                   struct roster_arena *a, struct roster_err *err),
                  (c, org_id, out, a, err))
ROSTER_STORE_WRAP(roster_store_org_list, org_list,
                  (struct roster_conn * c, struct roster_arena *a, struct roster_org **out,
                   size_t *n, struct roster_err *err),
                  (c, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_org_update, org_update,
                  (struct roster_conn * c, const struct roster_org *org, struct roster_err *err),
                  (c, org, err))
ROSTER_STORE_WRAP(roster_store_key_create, key_create,
                  (struct roster_conn * c, struct roster_key *key, struct roster_err *err),
                  (c, key, err))
ROSTER_STORE_WRAP(roster_store_key_find, key_find,
                  (struct roster_conn * c, const char *hash_hex, struct roster_key *out,
                   struct roster_arena *a, struct roster_err *err),
                  (c, hash_hex, out, a, err))
ROSTER_STORE_WRAP(roster_store_key_list, key_list,
                  (struct roster_conn * c, struct roster_arena *a, struct roster_key **out,
                   size_t *n, struct roster_err *err),
                  (c, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_key_revoke, key_revoke,
                  (struct roster_conn * c, const char *key_id, struct roster_err *err),
                  (c, key_id, err))
ROSTER_STORE_WRAP(roster_store_user_create, user_create,
                  (struct roster_conn * c, const char *org_id, struct roster_user *u,
                   struct roster_err *err),
                  (c, org_id, u, err))
ROSTER_STORE_WRAP(roster_store_user_get, user_get,
                  (struct roster_conn * c, const char *org_id, const char *user_id,
                   struct roster_user *out, struct roster_arena *a, struct roster_err *err),
                  (c, org_id, user_id, out, a, err))
ROSTER_STORE_WRAP(roster_store_user_update, user_update,
                  (struct roster_conn * c, const char *org_id, struct roster_user *u,
                   struct roster_err *err),
                  (c, org_id, u, err))
ROSTER_STORE_WRAP(roster_store_user_delete, user_delete,
                  (struct roster_conn * c, const char *org_id, const char *user_id,
                   struct roster_err *err),
                  (c, org_id, user_id, err))
ROSTER_STORE_WRAP(roster_store_job_create, job_create,
                  (struct roster_conn * c, struct roster_job *job, const char *const *items_json,
                   const int64_t *counts, size_t nchunks, struct roster_err *err),
                  (c, job, items_json, counts, nchunks, err))
ROSTER_STORE_WRAP(roster_store_job_get, job_get,
                  (struct roster_conn * c, const char *org_id, const char *job_id,
                   struct roster_job *out, struct roster_arena *a, struct roster_err *err),
                  (c, org_id, job_id, out, a, err))
ROSTER_STORE_WRAP(roster_store_chunk_claim, chunk_claim,
                  (struct roster_conn * c, int64_t now_ms, int64_t lease_ms,
                   struct roster_chunk *out, struct roster_arena *a, struct roster_err *err),
                  (c, now_ms, lease_ms, out, a, err))
ROSTER_STORE_WRAP(roster_store_chunk_complete, chunk_complete,
                  (struct roster_conn * c, const struct roster_chunk *ch, const char *results_json,
                   int64_t nok, int64_t nfailed, int64_t now_ms, struct roster_err *err),
                  (c, ch, results_json, nok, nfailed, now_ms, err))
ROSTER_STORE_WRAP(roster_store_chunk_renew, chunk_renew,
                  (struct roster_conn * c, const struct roster_chunk *ch, int64_t until_ms,
                   struct roster_err *err),
                  (c, ch, until_ms, err))
ROSTER_STORE_WRAP(roster_store_job_results, job_results,
                  (struct roster_conn * c, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_results **out, size_t *n,
                   struct roster_err *err),
                  (c, org_id, job_id, from, to, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_lease_reset_all, lease_reset_all,
                  (struct roster_conn * c, struct roster_err *err), (c, err))

ROSTER_STORE_WRAP(roster_store_schedule_create, schedule_create,
                  (struct roster_conn * c, struct roster_schedule *s, size_t n,
                   struct roster_err *err),
                  (c, s, n, err))
ROSTER_STORE_WRAP(roster_store_schedule_list, schedule_list,
                  (struct roster_conn * c, const char *org_id, const struct roster_query *q,
                   struct roster_arena *a, struct roster_schedule **out, size_t *n, int64_t *total,
                   struct roster_err *err),
                  (c, org_id, q, a, out, n, total, err))
ROSTER_STORE_WRAP(roster_store_schedule_get, schedule_get,
                  (struct roster_conn * c, const char *org_id, const char *id,
                   struct roster_schedule *out, struct roster_arena *a, struct roster_err *err),
                  (c, org_id, id, out, a, err))
ROSTER_STORE_WRAP(roster_store_schedule_cancel, schedule_cancel,
                  (struct roster_conn * c, const char *org_id, const char *id, int64_t now_ms,
                   struct roster_err *err),
                  (c, org_id, id, now_ms, err))
ROSTER_STORE_WRAP(roster_store_schedule_next, schedule_next,
                  (struct roster_conn * c, const char *org_id, const char *const *user_ids,
                   size_t nusers, struct roster_arena *a, struct roster_schedule **out, size_t *n,
                   struct roster_err *err),
                  (c, org_id, user_ids, nusers, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_schedule_claim_due, schedule_claim_due,
                  (struct roster_conn * c, int64_t now_ms, int64_t lease_ms, size_t max,
                   struct roster_arena *a, struct roster_schedule **out, size_t *n,
                   struct roster_err *err),
                  (c, now_ms, lease_ms, max, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_schedule_finish, schedule_finish,
                  (struct roster_conn * c, const struct roster_schedule *s, int status,
                   const char *outcome, int64_t now_ms, struct roster_err *err),
                  (c, s, status, outcome, now_ms, err))
ROSTER_STORE_WRAP(roster_store_schedule_next_due, schedule_next_due,
                  (struct roster_conn * c, int64_t *due_ms, struct roster_err *err),
                  (c, due_ms, err))
ROSTER_STORE_WRAP(roster_store_message_create, message_create,
                  (struct roster_conn * c, struct roster_message *m, struct roster_err *err),
                  (c, m, err))
ROSTER_STORE_WRAP(roster_store_message_get, message_get,
                  (struct roster_conn * c, const char *org_id, const char *id,
                   struct roster_message *out, struct roster_arena *a, struct roster_err *err),
                  (c, org_id, id, out, a, err))

ROSTER_STORE_WRAP(roster_store_sa_key_create, sa_key_create,
                  (struct roster_conn * c, struct roster_sa_key *k, struct roster_err *err),
                  (c, k, err))
ROSTER_STORE_WRAP(roster_store_sa_key_find, sa_key_find,
                  (struct roster_conn * c, const char *key_id, struct roster_sa_key *out,
                   struct roster_arena *a, struct roster_err *err),
                  (c, key_id, out, a, err))
ROSTER_STORE_WRAP(roster_store_sa_key_revoke, sa_key_revoke,
                  (struct roster_conn * c, const char *key_id, struct roster_err *err),
                  (c, key_id, err))
ROSTER_STORE_WRAP(roster_store_group_create, group_create,
                  (struct roster_conn * c, const char *org_id, struct roster_group *g,
                   struct roster_err *err),
                  (c, org_id, g, err))
ROSTER_STORE_WRAP(roster_store_group_list, group_list,
                  (struct roster_conn * c, const char *org_id, const struct roster_group_query *q,
                   struct roster_arena *a, struct roster_group **out, size_t *n, int64_t *total,
                   struct roster_err *err),
                  (c, org_id, q, a, out, n, total, err))
ROSTER_STORE_WRAP(roster_store_group_update, group_update,
                  (struct roster_conn * c, const char *org_id, struct roster_group *g,
                   struct roster_err *err),
                  (c, org_id, g, err))
ROSTER_STORE_WRAP(roster_store_group_delete, group_delete,
                  (struct roster_conn * c, const char *org_id, int kind, int64_t num_id,
                   struct roster_err *err),
                  (c, org_id, kind, num_id, err))
ROSTER_STORE_WRAP(roster_store_group_bind, group_bind,
                  (struct roster_conn * c, const char *org_id, const int64_t *groups, size_t ng,
                   const int64_t *users, size_t nu, bool bind, struct roster_err *err),
                  (c, org_id, groups, ng, users, nu, bind, err))
ROSTER_STORE_WRAP(roster_store_group_memberships, group_memberships,
                  (struct roster_conn * c, const char *org_id, const int64_t *users, size_t nu,
                   int kind, struct roster_arena *a, struct roster_membership **out, size_t *n,
                   struct roster_err *err),
                  (c, org_id, users, nu, kind, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_user_secret_set, user_secret_set,
                  (struct roster_conn * c, const char *org_id, const char *user_id,
                   const char *hash, struct roster_err *err),
                  (c, org_id, user_id, hash, err))
ROSTER_STORE_WRAP(roster_store_user_secret_get, user_secret_get,
                  (struct roster_conn * c, const char *org_id, const char *user_id,
                   struct roster_arena *a, const char **hash, struct roster_err *err),
                  (c, org_id, user_id, a, hash, err))
ROSTER_STORE_WRAP(roster_store_user_create_many, user_create_many,
                  (struct roster_conn * c, const char *org_id, struct roster_user *u, size_t n,
                   int *rcs, struct roster_err *errs, struct roster_err *err),
                  (c, org_id, u, n, rcs, errs, err))
ROSTER_STORE_WRAP(roster_store_user_get_many, user_get_many,
                  (struct roster_conn * c, const char *org_id, const char *const *ids, size_t n,
                   struct roster_user *out, int *rcs, struct roster_arena *a,
                   struct roster_err *err),
                  (c, org_id, ids, n, out, rcs, a, err))
ROSTER_STORE_WRAP(roster_store_user_update_many, user_update_many,
                  (struct roster_conn * c, const char *org_id, struct roster_user *u, size_t n,
                   int *rcs, struct roster_err *errs, struct roster_err *err),
                  (c, org_id, u, n, rcs, errs, err))
ROSTER_STORE_WRAP(roster_store_job_open, job_open,
                  (struct roster_conn * c, struct roster_job *job, struct roster_err *err),
                  (c, job, err))
ROSTER_STORE_WRAP(roster_store_job_append, job_append,
                  (struct roster_conn * c, const char *org_id, const char *job_id,
                   const char *const *items_json, const int64_t *counts, size_t nchunks,
                   int64_t *first_idx, struct roster_err *err),
                  (c, org_id, job_id, items_json, counts, nchunks, first_idx, err))
ROSTER_STORE_WRAP(roster_store_job_start, job_start,
                  (struct roster_conn * c, const char *org_id, const char *job_id, int64_t now_ms,
                   struct roster_err *err),
                  (c, org_id, job_id, now_ms, err))
ROSTER_STORE_WRAP(roster_store_job_chunks, job_chunks,
                  (struct roster_conn * c, const char *org_id, const char *job_id, int64_t from,
                   int64_t to, struct roster_arena *a, struct roster_chunk_page **out, size_t *n,
                   struct roster_err *err),
                  (c, org_id, job_id, from, to, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_user_resolve, user_resolve,
                  (struct roster_conn * c, const char *org_id, const char *const *keys, size_t n,
                   struct roster_arena *a, struct roster_user *out, struct roster_err *err),
                  (c, org_id, keys, n, a, out, err))
ROSTER_STORE_WRAP(roster_store_message_create_many, message_create_many,
                  (struct roster_conn * c, struct roster_message *m, size_t n,
                   struct roster_err *err),
                  (c, m, n, err))

ROSTER_STORE_WRAP(roster_store_list_version, list_version,
                  (struct roster_conn * c, const char *org_id, int64_t *ver,
                   struct roster_err *err),
                  (c, org_id, ver, err))
ROSTER_STORE_WRAP(roster_store_list_changes, list_changes,
                  (struct roster_conn * c, const char *org_id, int64_t since, int64_t until,
                   struct roster_arena *a, struct roster_change **out, size_t *n,
                   struct roster_err *err),
                  (c, org_id, since, until, a, out, n, err))
ROSTER_STORE_WRAP(roster_store_user_page, user_page,
                  (struct roster_conn * c, const char *org_id, const struct roster_query *q,
                   const struct roster_user *after, int64_t skip, int64_t limit,
                   struct roster_arena *a, struct roster_user **out, size_t *n, int64_t *ver,
                   struct roster_err *err),
                  (c, org_id, q, after, skip, limit, a, out, n, ver, err))
ROSTER_STORE_WRAP(roster_store_user_count, user_count,
                  (struct roster_conn * c, const char *org_id, const struct roster_query *q,
                   int64_t *count, int64_t *ver, struct roster_err *err),
                  (c, org_id, q, count, ver, err))
ROSTER_STORE_WRAP(roster_store_list_plan, list_plan,
                  (struct roster_conn * c, const char *org_id, const struct roster_query *q,
                   const struct roster_user *after, bool count, struct roster_arena *a,
                   const char **plan, struct roster_err *err),
                  (c, org_id, q, after, count, a, plan, err))
ROSTER_STORE_WRAP(roster_store_snapshot_begin, snapshot_begin,
                  (struct roster_conn * c, bool *began, struct roster_err *err), (c, began, err))
static inline void roster_store_snapshot_end(struct roster_conn *c, bool began)
{
    if (c->m->snapshot_end)
        c->m->snapshot_end(c, began);
}

ROSTER_STORE_WRAP(roster_store_read_begin, read_begin,
                  (struct roster_conn * c, struct roster_err *err), (c, err))
static inline void roster_store_read_end(struct roster_conn *c)
{
    if (c->m->read_end)
        c->m->read_end(c);
}
/* read_begin/read_end that do nothing (src/store/store.c). */
int roster_store_read_begin_noop(struct roster_conn *c, struct roster_err *err);
void roster_store_read_end_noop(struct roster_conn *c);

/* backends */
extern const struct roster_store_methods roster_store_sqlite;
extern const struct roster_store_methods roster_store_postgres; /* ROSTER_STORE_MULTI_NODE */

#endif
