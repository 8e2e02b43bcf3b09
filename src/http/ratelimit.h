/* Per-credential token buckets (see ratelimit.c). */
#ifndef ROSTER_HTTP_RATELIMIT_H
#define ROSTER_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct roster_ratelimit;

#define ROSTER_RATELIMIT_KEYS_DEFAULT 65536

/* A limiter of per_s requests per second with bursts of burst per key, holding at most
 * max_keys buckets (0: ROSTER_RATELIMIT_KEYS_DEFAULT); NULL when per_s is 0 (no limit) or
 * memory ran out. */
struct roster_ratelimit *roster_ratelimit_new(double per_s, int64_t burst, size_t max_keys);
void roster_ratelimit_free(struct roster_ratelimit *rl);
/* Takes one token from key's bucket at now_ms (monotonic). true: allowed; false: refused,
 * *wait_ms = how long until a token is there again. rl may be NULL (always allowed). */
bool roster_ratelimit_take(struct roster_ratelimit *rl, const char *key, int64_t now_ms,
                           int64_t *wait_ms);
/* Buckets held now (for tests of the memory bound). */
size_t roster_ratelimit_size(struct roster_ratelimit *rl);
/* The one place a refusal is counted: called once per refused request, with the dialect's
 * name (the metrics counter hooks in here). */
void roster_ratelimit_hit(const char *dialect);

#endif
