/* Idempotency keys (docs/idempotency.md): a POST that creates or adds, sent again with the
 * same Idempotency-Key, gets the first request's answer instead of a second effect. The key
 * is stored with the request's effect, in the transaction of that effect, so a crash never
 * leaves one without the other.
 *
 * Layers: a dialect reads the headers into a struct roster_idem and passes it to a core
 * operation's _idem variant (below); core looks the key up (store idem_get), and either
 * fills the operation's outputs from the stored record (a replay: no effect) or stages a
 * record (store idem_stage) that the store writes with the effect. Only the store knows
 * where the record lives (SQLite: the file of the effect; PostgreSQL: one table).
 */
#ifndef ROSTER_IDEM_H
#define ROSTER_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"
#include "roster/util.h"

#define ROSTER_IDEM_KEY_MAX 255               /* bytes of an Idempotency-Key at most */
#define ROSTER_IDEM_TTL_S_DEFAULT 86400L      /* 24 h, as Courier's */
#define ROSTER_IDEM_TTL_S_MAX (365L * 86400L) /* 1 year, Courier's upper bound */
/* err->field of the ROSTER_ECONFLICT that says "this key belongs to another request" (core)
 * or "another transaction holds this key" (the store, to core) */
#define ROSTER_IDEM_FIELD "Idempotency-Key"

/* A stored key (store methods idem_stage, idem_get, idem_purge). */
struct roster_idem_rec {
    char org_id[ROSTER_ID_LEN + 1];
    const char *scope;    /* the endpoint, e.g. "courier POST /bulk" */
    const char *key;      /* the client's Idempotency-Key */
    const char *req_hash; /* SHA-256 hex of what the request asked (struct roster_idem) */
    const char *result;   /* what the effect produced, as core writes it (ids) */
    int64_t created_ms, expires_ms;
};

/* An Idempotency-Key as a dialect passes it to core. */
struct roster_idem {
    const char *scope;
    const char *key;
    char hash[65];      /* SHA-256 hex of the request (roster_idem_hash) */
    int64_t expires_ms; /* when the key may be used for another request; 0: now + the TTL */
    bool replayed;      /* out: the outputs are the first request's, nothing was done */
};

/* The hash of a request: of scope, then each of parts[0..n) (NULL counts as absent, not as
 * ""), then the body, each length-prefixed so that no two requests share one. */
void roster_idem_hash(struct roster_idem *idem, const char *const *parts, size_t nparts,
                      const char *body, size_t body_len);

/* The _idem variants of the core operations that create or add; each is the plain
 * operation when idem is NULL. With idem: when the organisation has a live key
 * (idem->scope, idem->key) of the same hash, the outputs are filled from it, nothing is
 * done and idem->replayed is set (even if the operation would fail now: the job has been
 * run, the user deleted); a live key of another hash is ROSTER_ECONFLICT with
 * err->field = ROSTER_IDEM_FIELD; else the operation runs and stores the key with its
 * effect. A request that races another with the same key waits for it (the store's lock)
 * and then replays it. Declared here, defined beside the plain ones (msgjobs.c,
 * job_users.c, scheduler.c). */
struct roster_ctx;
struct roster_job;
struct roster_job_params;
struct roster_json_span;
struct roster_schedule;
int roster_msgjob_create_idem(struct roster_ctx *ctx, const char *codec, const char *definition,
                              size_t len, struct roster_idem *idem, struct roster_job *out,
                              struct roster_err *err);
/* On a replay *first_idx is -1 (the record keeps no item index). */
int roster_msgjob_add_idem(struct roster_ctx *ctx, const char *job_id, const char *raw,
                           const struct roster_json_span *spans, size_t n, struct roster_idem *idem,
                           int64_t *first_idx, struct roster_err *err);
/* On a replay only out->id is filled. */
int roster_job_submit_idem(struct roster_ctx *ctx, int kind, const char *raw,
                           const struct roster_json_span *spans, size_t n,
                           const struct roster_job_params *params, struct roster_idem *idem,
                           struct roster_job *out, struct roster_err *err);
/* On a replay s[i].id (and org_id) are filled from the record, in order. */
int roster_schedule_submit_idem(struct roster_ctx *ctx, struct roster_schedule *s, size_t n,
                                struct roster_idem *idem, struct roster_err *err);

/* The key's expiry for a request at now_ms with TTL ttl_s (0: the default) and the
 * optional expiration the client asked for (Courier's X-Idempotency-Expiration, already
 * parsed to ms; 0: none), bounded to [now + ttl, now + ROSTER_IDEM_TTL_S_MAX]. */
int64_t roster_idem_expiry(int64_t now_ms, int64_t ttl_s, int64_t asked_ms);

#endif
