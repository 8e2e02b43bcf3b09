/* Idempotency-Key for the dialects (include/roster/idem.h, docs/idempotency.md): reading
 * the headers into a struct roster_idem, marking a replayed answer, and answering a key
 * that belongs to another request. */
#ifndef ROSTER_DIALECT_IDEM_H
#define ROSTER_DIALECT_IDEM_H

#include "roster/http.h"
#include "roster/idem.h"

/* Reads r's Idempotency-Key, and X-Idempotency-Expiration (Courier's: epoch milliseconds
 * or an ISO 8601 date-time), for the endpoint scope, and hashes the request: scope, the
 * path, parts[0..nparts) (what else changes what the request does: a header, a query
 * parameter; NULL when absent) and the body. Returns 1 with *idem filled when there is a
 * key, 0 when there is none (*idem untouched), -1 after answering 400 (a key that is
 * empty, longer than ROSTER_IDEM_KEY_MAX bytes or not printable ASCII; an expiration that
 * is neither). */
int roster_idem_read(struct roster_req *r, const char *scope, const char *const *parts,
                     size_t nparts, struct roster_idem *idem);

/* Hashes the request again into idem->hash as roster_idem_read does, with body[0..len)
 * for the body: for a body that must not be hashed as it came (JumpCloud's bulk users
 * without their passwords: no digest of a password is stored). */
void roster_idem_hash_req(struct roster_req *r, struct roster_idem *idem, const char *const *parts,
                          size_t nparts, const char *body, size_t len);

/* After a core _idem call that returned rc: when it says the key belongs to another
 * request, answers status (422) naming the key and returns true; else, on success of a
 * replay, adds the header Idempotent-Replayed: true, and returns false. idem may be NULL
 * (no key). */
bool roster_idem_answered(struct roster_req *r, const struct roster_idem *idem, int rc,
                          const struct roster_err *err, int status);

#endif
