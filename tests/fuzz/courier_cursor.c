/* Courier's cursors of GET /bulk/{job_id}/users (src/dialect/courier/cursor.c): a client
 * sends any text as ?cursor=. A text that decodes must be exactly the cursor roster would
 * write for that job and index (nothing else passes the check), and every cursor roster
 * writes, for a job id and an index taken from the input, decodes back to them. */
#include "dialect/courier/courier.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char job[ROSTER_ID_LEN + 1];
    int64_t index = 0;
    if (courier_cursor_decode(s, job, &index) == 0) {
        FUZZ_CHECK(roster_id_valid(job) && index >= 0);
        char again[COURIER_CURSOR_MAX];
        courier_cursor_encode(job, index, again);
        FUZZ_CHECK(strcmp(again, s) == 0);
    }
    /* encode -> decode: a job id of 24 hex digits and an index from the input bytes */
    if (size >= 8) {
        static const char hex[] = "0123456789abcdef";
        char id[ROSTER_ID_LEN + 1];
        for (size_t i = 0; i < ROSTER_ID_LEN; i++)
            id[i] = hex[data[i % size] >> (i % 2 ? 0 : 4) & 15];
        id[ROSTER_ID_LEN] = '\0';
        uint64_t u = 0;
        memcpy(&u, data, 8);
        int64_t want = (int64_t)(u & INT64_MAX);
        char cur[COURIER_CURSOR_MAX];
        courier_cursor_encode(id, want, cur);
        FUZZ_CHECK(courier_cursor_decode(cur, job, &index) == 0);
        FUZZ_CHECK(strcmp(job, id) == 0 && index == want);
    }
    free(s);
    return 0;
}
