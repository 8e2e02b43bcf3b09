/* Rate limiting per credential: one token bucket per API key or service-account key.
 *
 * DESIGN
 * - A bucket holds up to `burst` tokens and gains `per_s` tokens a second; a request takes
 *   one, and one that finds less than one token is refused with the time until there is
 *   one (the dialect's 429 and Retry-After). A new key starts with a full bucket.
 * - Lock-light: the buckets live in RL_SHARDS shards chosen by the key's hash, each a
 *   small chained hash table under its own mutex, so two pool threads contend only when
 *   their keys share a shard, and then only for a few dozen instructions.
 * - Bounded memory: each shard holds at most max_keys / RL_SHARDS buckets. A bucket that
 *   has refilled completely says nothing a new full bucket would not, so when a shard is
 *   full such idle buckets are dropped first; if none is idle, the least recently used one
 *   goes (its key then starts again from a full bucket: a leniency, never a wrong refusal).
 * - Buckets are per process: with several roster processes on one PostgreSQL store, a key
 *   may send the limit to each of them (documented in README.md).
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/http.h"
#include "roster/log.h"
#include "roster/metrics.h"

#define RL_SHARDS 64
#define RL_HEADS 256 /* chain heads per shard */
#define RL_KEY_MAX 40

struct rl_bucket {
    struct rl_bucket *next;
    double tokens;
    int64_t last_ms; /* when tokens was last brought up to date */
    char key[RL_KEY_MAX + 1];
};

struct rl_shard {
    pthread_mutex_t mu;
    struct rl_bucket *heads[RL_HEADS];
    size_t n;
};

struct roster_ratelimit {
    double per_ms; /* tokens gained per millisecond */
    double burst;
    size_t shard_cap;
    struct rl_shard shards[RL_SHARDS];
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct roster_ratelimit *roster_ratelimit_new(double per_s, int64_t burst, size_t max_keys)
{
    if (!(per_s > 0))
        return NULL;
    struct roster_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->per_ms = per_s / 1000.0;
    rl->burst = burst > 0 ? (double)burst : 1.0;
    if (!max_keys)
        max_keys = ROSTER_RATELIMIT_KEYS_DEFAULT;
    rl->shard_cap = max_keys / RL_SHARDS ? max_keys / RL_SHARDS : 1;
    for (size_t i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].mu, NULL);
    return rl;
}

void roster_ratelimit_free(struct roster_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < RL_SHARDS; i++) {
        for (size_t h = 0; h < RL_HEADS; h++) {
            struct rl_bucket *b = rl->shards[i].heads[h];
            while (b) {
                struct rl_bucket *next = b->next;
                free(b);
                b = next;
            }
        }
        pthread_mutex_destroy(&rl->shards[i].mu);
    }
    free(rl);
}

/* The bucket's tokens at now_ms (at most burst). */
static double refilled(const struct roster_ratelimit *rl, const struct rl_bucket *b, int64_t now_ms)
{
    double t = b->tokens + (double)(now_ms - b->last_ms) * rl->per_ms;
    return t < rl->burst ? t : rl->burst;
}

/* Makes room for one more bucket in a full shard: drops every bucket that has refilled
 * (idle), or else the least recently used one. */
static void shard_evict(const struct roster_ratelimit *rl, struct rl_shard *sh, int64_t now_ms)
{
    struct rl_bucket **lru = NULL;
    for (size_t h = 0; h < RL_HEADS; h++) {
        struct rl_bucket **pp = &sh->heads[h];
        while (*pp) {
            struct rl_bucket *b = *pp;
            if (refilled(rl, b, now_ms) >= rl->burst) {
                *pp = b->next;
                free(b);
                sh->n--;
                continue;
            }
            if (!lru || b->last_ms < (*lru)->last_ms)
                lru = pp;
            pp = &b->next;
        }
    }
    if (sh->n >= rl->shard_cap && lru) {
        struct rl_bucket *b = *lru;
        *lru = b->next;
        free(b);
        sh->n--;
    }
}

bool roster_ratelimit_take(struct roster_ratelimit *rl, const char *key, int64_t now_ms,
                           int64_t *wait_ms)
{
    *wait_ms = 0;
    if (!rl || !key)
        return true;
    char kb[RL_KEY_MAX + 1]; /* credential ids are 24 characters; a longer key is cut */
    snprintf(kb, sizeof(kb), "%s", key);
    key = kb;
    uint64_t hash = key_hash(key);
    struct rl_shard *sh = &rl->shards[hash % RL_SHARDS];
    size_t head = (size_t)(hash / RL_SHARDS) % RL_HEADS;
    bool ok = true;
    pthread_mutex_lock(&sh->mu);
    struct rl_bucket *b = sh->heads[head];
    while (b && strcmp(b->key, key) != 0)
        b = b->next;
    if (b) {
        double t = refilled(rl, b, now_ms);
        b->last_ms = now_ms;
        if (t >= 1.0)
            b->tokens = t - 1.0;
        else {
            b->tokens = t;
            ok = false;
            double w = (1.0 - t) / rl->per_ms;
            *wait_ms = (int64_t)w + 1; /* rounded up, and at least 1 */
        }
    } else {
        if (sh->n >= rl->shard_cap)
            shard_evict(rl, sh, now_ms);
        b = calloc(1, sizeof(*b));
        if (b) { /* out of memory: the request goes through unlimited */
            memcpy(b->key, kb, sizeof(b->key));
            b->tokens = rl->burst - 1.0;
            b->last_ms = now_ms;
            b->next = sh->heads[head];
            sh->heads[head] = b;
            sh->n++;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

size_t roster_ratelimit_size(struct roster_ratelimit *rl)
{
    size_t n = 0;
    if (!rl)
        return 0;
    for (size_t i = 0; i < RL_SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].mu);
        n += rl->shards[i].n;
        pthread_mutex_unlock(&rl->shards[i].mu);
    }
    return n;
}

void roster_ratelimit_hit(const char *dialect)
{
    roster_metrics_rate_limited(); /* roster_rate_limited_requests_total of GET /metrics */
    /* a debug line only: a warning per refusal would let one client flood the log */
    roster_log(ROSTER_LOG_DEBUG, "rate limited", "dialect=%s", dialect);
}

int roster_rate_parse(const char *s, double *per_s)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    double n = strtod(s, &end);
    if (end == s || !(n >= 0) || n > 1e9)
        return -1;
    double per = 1.0;
    if (*end == '/') {
        end++;
        if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
            per = 1.0;
        else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
            per = 60.0;
        else if (strcmp(end, "h") == 0)
            per = 3600.0;
        else
            return -1;
    } else if (*end)
        return -1;
    *per_s = n / per;
    return 0;
}
