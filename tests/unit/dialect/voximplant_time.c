/* Unit tests of Voximplant's time format (vox_time_buf in src/dialect/voximplant/transport.c,
 * "YYYY-MM-DD HH:mm:ss" UTC, computed without gmtime): against gmtime_r + strftime over
 * leap days, month and year ends, times before 1970 and far ahead, and fractions of a
 * second (dropped: the second that contains the instant).
 */
#include "dialect/voximplant/voximplant.h"
#include "test.h"

#include <time.h>

static void check_against_libc(int64_t ms, int line)
{
    char got[VOX_TIME_LEN + 1], want[64];
    vox_time_buf(got, ms);
    int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S", &tm);
    bool ok = strcmp(got, want) == 0;
    test_record_(ok, __FILE__, line, "vox_time_buf == strftime");
    if (!ok)
        fprintf(stderr, "    ms %lld: got \"%s\", want \"%s\"\n", (long long)ms, got, want);
}

int main(void)
{
    char b[VOX_TIME_LEN + 1];
    vox_time_buf(b, 0);
    CHECK_EQ_STR(b, "1970-01-01 00:00:00");
    vox_time_buf(b, 951782400000 + 999); /* 2000-02-29 00:00:00.999 */
    CHECK_EQ_STR(b, "2000-02-29 00:00:00");
    vox_time_buf(b, 1795417882836);
    CHECK_EQ_STR(b, "2026-11-23 07:11:22");
    vox_time_buf(b, -1);
    CHECK_EQ_STR(b, "1969-12-31 23:59:59");
    vox_time_buf(b, -719162 * 86400000LL); /* four digits, where strftime's %Y writes "1" */
    CHECK_EQ_STR(b, "0001-01-01 00:00:00");
    static const int64_t days[] = {
        0,     59, 60,   365,  730,    789,   790,   10957, 11016,   11017,
        11382, -1, -365, -366, -25567, 47482, 47540, 47541, 2932896,
    };
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++)
        for (int64_t sod = 0; sod < 86400; sod += 3599)
            check_against_libc((days[i] * 86400 + sod) * 1000 + 123, __LINE__);
    /* every day of 1999-2001 and every 97th day from 1900 to 2200, at 23:59:59 */
    bool ok = true;
    for (int64_t d = 10592; d < 11688 && ok; d++) {
        char g[VOX_TIME_LEN + 1], w[64];
        int64_t ms = (d * 86400 + 86399) * 1000;
        vox_time_buf(g, ms);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w, sizeof(w), "%Y-%m-%d %H:%M:%S", &tm);
        ok = strcmp(g, w) == 0;
    }
    for (int64_t d = -25567; d < 84000 && ok; d += 97) {
        char g[VOX_TIME_LEN + 1], w[64];
        int64_t ms = d * 86400 * 1000 - 1;
        vox_time_buf(g, ms);
        time_t t = (time_t)((ms - 999) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w, sizeof(w), "%Y-%m-%d %H:%M:%S", &tm);
        ok = strcmp(g, w) == 0;
        if (!ok)
            fprintf(stderr, "    day %lld: got \"%s\", want \"%s\"\n", (long long)d, g, w);
    }
    CHECK(ok);
    return test_finish();
}
