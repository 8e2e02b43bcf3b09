/* The store interface: one versioned table of functions (like SQLite's sqlite3_vfs) that
 * each backend fills in, its methods listed once, with their contracts, in
 * roster/store_methods.def. Methods are only ever appended; a NULL method means "not
 * supported" and the wrapper returns ROSTER_EUNSUPPORTED. Callers use the roster_store_*
 * wrappers, never the table. Capabilities are flags (ROSTER_STORE_*), never backend-name
 * checks.
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
#include "roster/idem.h"
#include "roster/job.h"
#include "roster/list.h"
#include "roster/query.h"
#include "roster/schedule.h"
#include "roster/template.h"
#include "roster/user.h"
#include "roster/webhook.h"

#define ROSTER_STORE_VERSION 1

/* capability flags */
#define ROSTER_STORE_MULTI_NODE 0x1u /* several roster processes may share it */
#define ROSTER_STORE_EMBEDDED 0x2u   /* one file, one serving process (leases reset on start) */

struct roster_store;
struct roster_conn;

/* What waits in the store's queues, for GET /metrics (store method queue_stats). */
struct roster_queue_stats {
    int64_t jobs_open;         /* bulk jobs started and not finished (message jobs still
                                  taking items are not counted) */
    int64_t items_open;        /* their items without a result yet */
    int64_t oldest_job_ms;     /* created_ms of the oldest of them; 0 when there is none */
    int64_t schedules_pending; /* scheduled state changes not applied, failed or cancelled */
    int64_t earliest_due_ms;   /* the earliest due time among them; 0 when there is none */
};

/* The phases of roster_store_bulk_load. */
enum roster_bulk_load_phase {
    ROSTER_BULK_LOAD_BEGIN = 0,
    ROSTER_BULK_LOAD_END = 1,
};

/* The progress of a `roster import` that commits as it goes (roster/import.h): rows of
 * file_key applied so far, the counts of their actions (a JSON array text), and the job
 * that holds their results (empty: none, a record from before jobs). */
struct roster_import_progress {
    char org_id[ROSTER_ID_LEN + 1];
    char job_id[ROSTER_ID_LEN + 1];
    const char *file_key;
    int64_t rows_done;
    const char *counts;
    int64_t updated_ms;
};

struct roster_store_methods {
    int version; /* ROSTER_STORE_VERSION this table was written for */
    const char *name;
    unsigned flags;
    /* the methods, in the order of roster/store_methods.def, which documents each */
#define ROSTER_STORE_METHOD(ret, name, params, args) ret(*name) params;
#include "roster/store_methods.def"
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

int roster_conn_open(struct roster_store *st, struct roster_conn **out, struct roster_err *err);
void roster_conn_close(struct roster_conn *c); /* c may be NULL */

/* The wrappers: for every ROSTER_STORE_METHOD(ret, name, (parameters), (arguments)) of
 * roster/store_methods.def, `ret roster_store_<name>(parameters)` (src/store/store.c),
 * e.g. int roster_store_user_get(struct roster_conn *c, const char *org_id,
 * const char *user_id, struct roster_user *out, struct roster_arena *a,
 * struct roster_err *err). It calls c's backend, or answers ROSTER_EUNSUPPORTED ("store
 * does not support <name>") when the backend leaves the method NULL; a void method then
 * does nothing. The declarations are generated from the list, like the table, so that the
 * two cannot disagree; the entry in the list is where to read a method's contract (ctags
 * finds roster_store_<name> there through .ctags.d/roster.ctags, and clangd goes there
 * too, since it expands the list). */
#define ROSTER_STORE_METHOD(ret, name, params, args) ret roster_store_##name params;
#define ROSTER_STORE_LIFECYCLE(ret, name, params, args)
#include "roster/store_methods.def"

/* read_begin/read_end that do nothing, for a backend's table (src/store/store_noop.c). */
int roster_store_read_begin_noop(struct roster_conn *c, struct roster_err *err);
void roster_store_read_end_noop(struct roster_conn *c);

/* backends */
extern const struct roster_store_methods roster_store_sqlite;
extern const struct roster_store_methods roster_store_postgres; /* ROSTER_STORE_MULTI_NODE */

#endif
