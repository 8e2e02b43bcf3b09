/* Cursors of GET /bulk/{job_id}/users (see courier.h): 27 bytes, base64url without padding
 * (36 characters): version 1, the item index (8 bytes, big-endian), the job id (12 bytes)
 * and the first 6 bytes of SHA-256("roster courier cursor" + the 21 bytes before). The check
 * catches a changed or truncated cursor; it is not a secret (the cursor only says where the
 * next page starts, and the job is still looked up in the caller's organisation).
 */
#include <stdio.h>
#include <string.h>

#include "dialect/courier/courier.h"

#define RAW_LEN 27
#define BODY_LEN 21
#define CHECK_LEN 6

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void check_bytes(const unsigned char *body, unsigned char out[CHECK_LEN])
{
    static const char domain[] = "roster courier cursor";
    unsigned char buf[sizeof(domain) - 1 + BODY_LEN];
    memcpy(buf, domain, sizeof(domain) - 1);
    memcpy(buf + sizeof(domain) - 1, body, BODY_LEN);
    char hex[65];
    roster_sha256_hex(buf, sizeof(buf), hex);
    for (int i = 0; i < CHECK_LEN; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void courier_cursor_encode(const char *job_id, int64_t index, char out[COURIER_CURSOR_MAX])
{
    unsigned char raw[RAW_LEN] = {1};
    uint64_t idx = (uint64_t)index;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)(idx >> (56 - 8 * i));
    for (int i = 0; i < ROSTER_ID_LEN / 2 && roster_id_valid(job_id); i++)
        raw[9 + i] = (unsigned char)(hexval(job_id[2 * i]) << 4 | hexval(job_id[2 * i + 1]));
    check_bytes(raw, raw + BODY_LEN);
    size_t o = 0;
    for (size_t i = 0; i < RAW_LEN; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

int courier_cursor_decode(const char *s, char job_id[ROSTER_ID_LEN + 1], int64_t *index)
{
    unsigned char raw[RAW_LEN];
    size_t len;
    if (!s || strlen(s) != RAW_LEN / 3 * 4 ||
        roster_b64url_decode(s, RAW_LEN / 3 * 4, raw, &len) != 0 || len != RAW_LEN)
        return -1;
    unsigned char check[CHECK_LEN];
    check_bytes(raw, check);
    if (raw[0] != 1 || memcmp(check, raw + BODY_LEN, CHECK_LEN) != 0)
        return -1;
    uint64_t idx = 0;
    for (int i = 0; i < 8; i++)
        idx = idx << 8 | raw[1 + i];
    if (idx > (uint64_t)INT64_MAX)
        return -1;
    roster_hex(raw + 9, ROSTER_ID_LEN / 2, job_id);
    *index = (int64_t)idx;
    return 0;
}
