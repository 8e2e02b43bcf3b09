/* Unit tests of the per-credential token buckets (src/http/ratelimit.c): the burst, the
 * refill at the rate, the wait told to a refused caller, one bucket per key, the memory
 * bound (idle buckets dropped first, then the least recently used), and the rate syntax.
 */
#include <stdio.h>

#include "http/ratelimit.h"
#include "roster/http.h"
#include "test.h"

static int take(struct roster_ratelimit *rl, const char *key, int64_t now, int64_t *wait)
{
    return roster_ratelimit_take(rl, key, now, wait) ? 1 : 0;
}

int main(void)
{
    int64_t wait;
    CHECK(roster_ratelimit_new(0, 5, 0) == NULL); /* 0: no limit */
    CHECK(take(NULL, "key:a", 0, &wait) == 1);

    /* 2 a second, bursts of 3 */
    struct roster_ratelimit *rl = roster_ratelimit_new(2, 3, 0);
    CHECK(rl != NULL);
    int64_t t = 1000000;
    CHECK(take(rl, "key:a", t, &wait) + take(rl, "key:a", t, &wait) + take(rl, "key:a", t, &wait) ==
          3);
    CHECK(take(rl, "key:a", t, &wait) == 0);
    CHECK(wait >= 500 && wait <= 501);       /* one token comes in 500 ms */
    CHECK(take(rl, "key:b", t, &wait) == 1); /* its own bucket */
    CHECK(take(rl, "key:a", t + 250, &wait) == 0);
    CHECK(wait >= 250 && wait <= 251);
    CHECK(take(rl, "key:a", t + 500, &wait) == 1);
    CHECK(take(rl, "key:a", t + 500, &wait) == 0);
    /* a long pause refills to the burst, never above it */
    t += 60000;
    int n = 0;
    for (int i = 0; i < 10; i++)
        n += take(rl, "key:a", t, &wait);
    CHECK_EQ_INT(n, 3);
    /* a refused request takes nothing: steady asking at the rate is served */
    n = 0;
    for (int i = 1; i <= 20; i++)
        n += take(rl, "key:a", t + i * 500, &wait);
    CHECK_EQ_INT(n, 20);
    roster_ratelimit_free(rl);

    /* bounded memory: at most 640 buckets (10 a shard) whatever the number of keys */
    rl = roster_ratelimit_new(1, 1, 640);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        take(rl, key, t, &wait);
    }
    CHECK(roster_ratelimit_size(rl) <= 640);
    CHECK(roster_ratelimit_size(rl) >= 600);
    /* the newest keys are still held: refused at once */
    int refused = 0;
    for (int i = 99990; i < 100000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        refused += !take(rl, key, t, &wait);
    }
    CHECK_EQ_INT(refused, 10);
    /* once idle (refilled), buckets are dropped first: a later key finds room */
    t += 2000;
    take(rl, "key:late", t, &wait);
    CHECK(roster_ratelimit_size(rl) <= 640);
    CHECK(take(rl, "key:late", t, &wait) == 0);
    roster_ratelimit_free(rl);

    /* the rate syntax of --rate-limit */
    double r = -1;
    CHECK(roster_rate_parse("100", &r) == 0 && r == 100);
    CHECK(roster_rate_parse("100/s", &r) == 0 && r == 100);
    CHECK(roster_rate_parse("120/m", &r) == 0 && r == 2);
    CHECK(roster_rate_parse("0.5/s", &r) == 0 && r == 0.5);
    CHECK(roster_rate_parse("3600/h", &r) == 0 && r == 1);
    CHECK(roster_rate_parse("0", &r) == 0 && r == 0);
    CHECK(roster_rate_parse("", &r) != 0);
    CHECK(roster_rate_parse("-1", &r) != 0);
    CHECK(roster_rate_parse("fast", &r) != 0);
    CHECK(roster_rate_parse("5/d", &r) != 0);
    CHECK(roster_rate_parse("5/", &r) != 0);
    CHECK(roster_rate_parse("inf", &r) != 0);
    CHECK(roster_rate_parse("nan", &r) != 0);
    CHECK(roster_rate_parse("1e10", &r) != 0);
    return test_finish();
}
