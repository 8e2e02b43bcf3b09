/* Private to src/core: the unique keys of the users an import writes while the store loads
 * without indexes (roster_store_bulk_load), to see a possible conflict before the store
 * would have to. */
#ifndef ROSTER_CORE_IMPORT_KEYS_H
#define ROSTER_CORE_IMPORT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "roster/user.h"

/* A set of 64-bit hashes of (field, key): a hash seen twice may be two different keys, so
 * a "taken" answer is a maybe, never a no that is wrong. */
struct import_keys {
    uint64_t *slots; /* 0: empty */
    size_t nslots;   /* a power of two */
    size_t n;
};

enum { IMPORT_KEYS_NEW = 0, IMPORT_KEYS_MAYBE_TAKEN = 1 };

/* Adds the unique keys of u (its id when set, username and e-mail without regard to ASCII
 * case, employee id exactly): IMPORT_KEYS_NEW when none was in the set; MAYBE_TAKEN when
 * one may be, or when a username or e-mail holds a byte outside ASCII (where the stores
 * fold case differently: SQLite's lower() folds only ASCII, PostgreSQL's follows the
 * database's locale); ROSTER_ENOMEM. */
int import_keys_add(struct import_keys *k, const struct roster_user *u);
void import_keys_free(struct import_keys *k);

#endif
