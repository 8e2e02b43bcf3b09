/* A fault-injecting store for tests, like SQLite's test VFS: it wraps a real store (SQLite or
 * PostgreSQL), passes every call through, counts the calls, and makes call N (of one method,
 * or of any method) fail with a chosen error kind. Its function table is generated from
 * roster/store_methods.def like the real ones, so a new method needs no edit here.
 *
 * A fault fires
 *   - ROSTER_FAULT_BEFORE: instead of the call (nothing of it happens), or
 *   - ROSTER_FAULT_AFTER: after the call ran and returned 0 (its effect stays: a commit
 *     that reached the disk but whose answer was lost), with the fault's code. The methods
 *     that open something the caller must end (begin, snapshot_begin, read_begin) fail
 *     before the call instead: told that they failed, a caller never ends what they opened.
 *     A commit that fails before the call ends its transaction, as the backends' do.
 * The kinds:
 *   - ROSTER_FAULT_EIO: ROSTER_EIO "injected I/O error in <method>" (a disk error);
 *   - ROSTER_FAULT_EBUSY: ROSTER_EBUSY "injected busy store in <method>" (a lock timeout);
 *   - ROSTER_FAULT_LOST: the connection is lost: the real connection is closed (its open
 *     transaction, if any, ends without committing: SQLite rolls it back, PostgreSQL aborts
 *     the session's transaction) and a new one opened, and the call fails with ROSTER_EIO
 *     "injected lost connection in <method>". Calls after it go to the new connection.
 * A fault fires on calls nth .. nth + count - 1 of the armed method (count 0: on every
 * call from nth on, until disarmed: a disk that stays full). Calls are counted from the
 * last arm, on every connection of the store together (the store is shared by threads;
 * counting is locked). Void methods (rollback, snapshot_end, read_end) are counted but
 * never fail: they cannot report it.
 */
#ifndef ROSTER_STORE_FAULT_H
#define ROSTER_STORE_FAULT_H

#include <stdbool.h>

#include "roster/store.h"

enum roster_fault_kind {
    ROSTER_FAULT_EIO = 1,
    ROSTER_FAULT_EBUSY = 2,
    ROSTER_FAULT_LOST = 3,
};

enum roster_fault_when {
    ROSTER_FAULT_BEFORE = 0,
    ROSTER_FAULT_AFTER = 1,
};

/* Wraps real (which the fault store then owns: closing it closes real) into *out, with no
 * fault armed. Its flags and its name's backend are real's. */
int roster_store_fault_wrap(struct roster_store *real, struct roster_store **out,
                            struct roster_err *err);
/* Whether st is a fault store. */
bool roster_store_is_fault(const struct roster_store *st);

/* Arms the fault on the nth call (1-based) of method (its name in store_methods.def, e.g.
 * "commit"; NULL: any method), for count calls (0: every one from nth on); resets the call
 * counts and the fired count. */
void roster_store_fault_arm(struct roster_store *st, const char *method, long nth, long count,
                            int kind, int when);
/* No fault any more (the counts go on). */
void roster_store_fault_disarm(struct roster_store *st);
/* Calls since the last arm: of method, or of every method (NULL). */
long roster_store_fault_calls(const struct roster_store *st, const char *method);
/* How many calls failed on purpose since the last arm, and the method of the last one
 * ("" when none). */
long roster_store_fault_fired(const struct roster_store *st);
const char *roster_store_fault_last(const struct roster_store *st);
/* The name of a fault kind ("eio", "ebusy", "lost"). */
const char *roster_fault_kind_name(int kind);

#endif
