/* Unit tests of the pure parts of idempotency keys (include/roster/idem.h): the expiry of a
 * key (the TTL, a client's X-Idempotency-Expiration and its bounds) and the request hash
 * (every part counts, and none can be moved into its neighbour).
 */
#include <string.h>

#include "roster/idem.h"
#include "test.h"

#define S 1000
#define DAY (86400 * INT64_C(1000))

static void test_expiry(void)
{
    int64_t now = INT64_C(1700000000000);
    CHECK_EQ_INT(roster_idem_expiry(now, 0, 0), now + DAY); /* the default: 24 h */
    CHECK_EQ_INT(roster_idem_expiry(now, 2, 0), now + 2 * S);
    /* asked earlier than the TTL (or in the past): the TTL */
    CHECK_EQ_INT(roster_idem_expiry(now, 0, now + 5 * S), now + DAY);
    CHECK_EQ_INT(roster_idem_expiry(now, 2, now - 60 * S), now + 2 * S);
    /* asked within [TTL, 1 year]: as asked */
    CHECK_EQ_INT(roster_idem_expiry(now, 0, now + 3 * DAY), now + 3 * DAY);
    CHECK_EQ_INT(roster_idem_expiry(now, 2, now + 8 * S), now + 8 * S);
    /* later than a year: a year */
    CHECK_EQ_INT(roster_idem_expiry(now, 0, now + 400 * DAY), now + 365 * DAY);
    CHECK_EQ_INT(roster_idem_expiry(now, 0, INT64_C(253402300799000)), now + 365 * DAY);
    /* a TTL over a year is a year */
    CHECK_EQ_INT(roster_idem_expiry(now, 1000 * 86400, 0), now + 365 * DAY);
}

static void hash(struct roster_idem *h, const char *scope, const char *const *parts, size_t n,
                 const char *body)
{
    memset(h, 0, sizeof(*h));
    h->scope = scope;
    roster_idem_hash(h, parts, n, body, strlen(body));
}

static void test_hash(void)
{
    struct roster_idem a, b;
    const char *p1[] = {"/bulk", "x"};
    hash(&a, "s", p1, 2, "{}");
    CHECK_EQ_INT(strlen(a.hash), 64);
    hash(&b, "s", p1, 2, "{}");
    CHECK_EQ_STR(a.hash, b.hash); /* deterministic */
    hash(&b, "s", p1, 2, "{ }");
    CHECK(strcmp(a.hash, b.hash) != 0); /* the body byte for byte */
    hash(&b, "t", p1, 2, "{}");
    CHECK(strcmp(a.hash, b.hash) != 0); /* the scope */
    const char *p2[] = {"/bulk", "y"};
    hash(&b, "s", p2, 2, "{}");
    CHECK(strcmp(a.hash, b.hash) != 0); /* a part */
    /* an absent part is not an empty one */
    const char *p3[] = {"/bulk", NULL}, *p4[] = {"/bulk", ""};
    hash(&a, "s", p3, 2, "{}");
    hash(&b, "s", p4, 2, "{}");
    CHECK(strcmp(a.hash, b.hash) != 0);
    /* no text moves between parts, or from a part into the body */
    const char *p5[] = {"ab", "c"}, *p6[] = {"a", "bc"};
    hash(&a, "s", p5, 2, "");
    hash(&b, "s", p6, 2, "");
    CHECK(strcmp(a.hash, b.hash) != 0);
    const char *p7[] = {"ab"}, *p8[] = {"a"};
    hash(&a, "s", p7, 1, "c");
    hash(&b, "s", p8, 1, "bc");
    CHECK(strcmp(a.hash, b.hash) != 0);
}

int main(void)
{
    test_expiry();
    test_hash();
    return test_finish();
}
