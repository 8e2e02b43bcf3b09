/* Unit tests for RFC 3339 time parsing and formatting (roster_time_parse and
 * roster_time_format in src/util/util.c): accepted forms, rejected forms, round trips.
 */
#include "roster/util.h"
#include "test.h"

static void check_parse(const char *s, int64_t want, int line)
{
    int64_t got = -12345;
    int rc = roster_time_parse(s, &got);
    bool ok = rc == 0 && got == want;
    test_record_(ok, __FILE__, line, s);
    if (!ok)
        fprintf(stderr, "    rc %d, got %lld, want %lld\n", rc, (long long)got, (long long)want);
}
#define CHECK_PARSE(s, want) check_parse(s, want, __LINE__)

static void check_reject(const char *s, int line)
{
    int64_t got = 0;
    int rc = roster_time_parse(s, &got);
    test_record_(rc == -1, __FILE__, line, s ? s : "(null)");
    if (rc != -1)
        fprintf(stderr, "    accepted as %lld\n", (long long)got);
}
#define CHECK_REJECT(s) check_reject(s, __LINE__)

static void test_valid(void)
{
    const int64_t midnight_2020 = 1577836800000; /* 2020-01-01T00:00:00Z */
    CHECK_PARSE("2020-01-01T02:00:00", midnight_2020 + 2 * 3600000);
    CHECK_PARSE("2020-01-01T02:00:00Z", midnight_2020 + 2 * 3600000);
    CHECK_PARSE("2020-01-01t02:00:00z", midnight_2020 + 2 * 3600000);
    CHECK_PARSE("2020-01-01 02:00:00", midnight_2020 + 2 * 3600000);
    CHECK_PARSE("2020-01-01T02:00:00.123", midnight_2020 + 2 * 3600000 + 123);
    CHECK_PARSE("2020-01-01T02:00:00.1Z", midnight_2020 + 2 * 3600000 + 100);
    CHECK_PARSE("2020-01-01T02:00:00.123456789Z", midnight_2020 + 2 * 3600000 + 123);
    CHECK_PARSE("2020-01-01T02:00:00+02:00", midnight_2020);
    CHECK_PARSE("2020-01-01T02:00:00+0200", midnight_2020);
    CHECK_PARSE("2020-01-01T00:00:00.5+01:00", midnight_2020 - 3600000 + 500);
    CHECK_PARSE("2019-12-31T22:30:00-01:30", midnight_2020);
    CHECK_PARSE("2020-01-01T02:00", midnight_2020 + 2 * 3600000);
    CHECK_PARSE("2020-01-01", midnight_2020);
    CHECK_PARSE("2000-01-01T00:00:00.000Z", 946684800000);
    CHECK_PARSE("1970-01-01T00:00:00Z", 0);
    CHECK_PARSE("1969-12-31T23:59:59.999Z", -1);
    CHECK_PARSE("2024-02-29", 1709164800000);
    CHECK_PARSE("2000-02-29", 951782400000);
    CHECK_PARSE("2023-11-14T22:13:20.123Z", 1700000000123);
    CHECK_PARSE("9999-12-31T23:59:59.999Z", 253402300799999);
}

static void test_invalid(void)
{
    CHECK_REJECT(NULL);
    CHECK_REJECT("");
    CHECK_REJECT("2020");
    CHECK_REJECT("2020-13-01");
    CHECK_REJECT("2020-00-10");
    CHECK_REJECT("2020-02-30");
    CHECK_REJECT("2023-02-29");
    CHECK_REJECT("1900-02-29");
    CHECK_REJECT("2020-04-31");
    CHECK_REJECT("2020-01-00");
    CHECK_REJECT("2020-1-1");
    CHECK_REJECT("20-01-01");
    CHECK_REJECT("2020/01/01");
    CHECK_REJECT("2020-01-01x");
    CHECK_REJECT("2020-01-01T");
    CHECK_REJECT("2020-01-01T02");
    CHECK_REJECT("2020-01-01T02:00:00Zjunk");
    CHECK_REJECT("2020-01-01T02:00:00 ");
    CHECK_REJECT("2020-01-01T02:00:00.");
    CHECK_REJECT("2020-01-01T02:00:00.Z");
    CHECK_REJECT("2020-01-01T24:00:00");
    CHECK_REJECT("2020-01-01T02:60:00");
    CHECK_REJECT("2020-01-01T02:00:61");
    CHECK_REJECT("2020-01-01T02:00:00+2:00");
    CHECK_REJECT("2020-01-01T02:00:00+02:");
    CHECK_REJECT("2020-01-01T02:00:00+24:00");
    CHECK_REJECT("2020-01-01T02:00:00+02:60");
    CHECK_REJECT("garbage");
    CHECK_REJECT(" 2020-01-01");
}

static void test_format(void)
{
    char out[32];
    roster_time_format(1700000000123, out);
    CHECK_EQ_STR(out, "2023-11-14T22:13:20.123Z");
    roster_time_format(0, out);
    CHECK_EQ_STR(out, "1970-01-01T00:00:00.000Z");
    roster_time_format(-1, out);
    CHECK_EQ_STR(out, "1969-12-31T23:59:59.999Z");
    roster_time_format(951782400000, out);
    CHECK_EQ_STR(out, "2000-02-29T00:00:00.000Z");
    CHECK_EQ_INT(strlen(out), 24);
}

/* format then parse gives the same instant, across the whole 0000..9999 range */
static void test_roundtrip(void)
{
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % 315537897600000ull) - 62167219200000; /* 0000..9999 */
        char out[32];
        int64_t back = 0;
        roster_time_format(ms, out);
        if (roster_time_parse(out, &back) != 0 || back != ms) {
            if (bad++ < 3)
                fprintf(stderr, "    %lld -> %s -> %lld\n", (long long)ms, out, (long long)back);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    test_valid();
    test_invalid();
    test_format();
    test_roundtrip();
    return test_finish();
}
