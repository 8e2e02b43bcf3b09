/* Ids, clocks, RFC 3339 times, SHA-256, growable buffers and number parsing. */
#include "roster/util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void oom(void)
{
    fputs("roster: out of memory\n", stderr);
    abort();
}

void roster_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            perror("getrandom");
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}

void roster_hex(const void *data, size_t n, char *out)
{
    static const char hexdigits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[p[i] >> 4];
        out[2 * i + 1] = hexdigits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int roster_b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = len;
    return 0;
}

/* MongoDB ObjectId layout: 4 bytes of seconds, 5 random bytes fixed per process, 3 bytes of
 * a counter that starts at a random value. Ids made by one process increase, so inserts land
 * at the right edge of every id index instead of on random pages (measured: fewer dirty
 * pages per bulk commit); they are not secrets (every access is scoped by organisation). */
static unsigned char id_process[5];
static _Atomic uint32_t id_counter;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_init(void)
{
    uint32_t start;
    roster_random(id_process, sizeof(id_process));
    roster_random(&start, sizeof(start));
    id_counter = start;
}

void roster_id_new(char out[ROSTER_ID_LEN + 1])
{
    pthread_once(&id_once, id_init);
    unsigned char b[12];
    uint32_t secs = (uint32_t)(roster_now_ms() / 1000);
    uint32_t n = id_counter++;
    b[0] = (unsigned char)(secs >> 24);
    b[1] = (unsigned char)(secs >> 16);
    b[2] = (unsigned char)(secs >> 8);
    b[3] = (unsigned char)secs;
    memcpy(b + 4, id_process, sizeof(id_process));
    b[9] = (unsigned char)(n >> 16);
    b[10] = (unsigned char)(n >> 8);
    b[11] = (unsigned char)n;
    roster_hex(b, sizeof(b), out);
}

bool roster_id_valid(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= ROSTER_ID_LEN || !isxdigit((unsigned char)s[i]))
            return false;
    return i == ROSTER_ID_LEN;
}

int64_t roster_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t roster_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void roster_time_format(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* years outside 0..9999 are clamped so the text always has the RFC 3339 shape */
    int year = tm.tm_year + 1900;
    year = year < 0 ? 0 : year > 9999 ? 9999 : year;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, frac % 1000);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int roster_time_parse(const char *s, int64_t *ms)
{
    if (!s)
        return -1;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    int64_t frac_ms = 0;
    int64_t offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -1;
            if (*p == '.') {
                p++;
                int n = 0;
                if (!isdigit((unsigned char)*p))
                    return -1;
                while (isdigit((unsigned char)*p)) {
                    if (n < 3)
                        frac_ms = frac_ms * 10 + (*p - '0');
                    n++;
                    p++;
                }
                for (; n < 3; n++)
                    frac_ms *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (digits(&p, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 23 || om > 59)
                return -1;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    int yy = y - (mo <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

/* SHA256() looks the algorithm up in OpenSSL's provider store on every call (and takes its
 * locks): ~1-3 us, on every authenticated request. The digest fetched once costs ~0.4 us. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void roster_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned int len = 0;
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || !EVP_Digest(data, n, md, &len, sha256_md, NULL) || len != sizeof(md))
        SHA256(data, n, md);
    roster_hex(md, sizeof(md), out);
}

bool roster_ct_equal(const char *a, const char *b, size_t n)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

void roster_buf_init(struct roster_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void roster_buf_release(struct roster_buf *b)
{
    free(b->data);
    roster_buf_init(b);
}

void roster_buf_reset(struct roster_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void grow(struct roster_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        oom();
    b->data = p;
    b->cap = cap;
}

void roster_buf_reserve(struct roster_buf *b, size_t n)
{
    grow(b, n);
}

void roster_buf_add(struct roster_buf *b, const void *p, size_t n)
{
    grow(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void roster_buf_addstr(struct roster_buf *b, const char *s)
{
    roster_buf_add(b, s, strlen(s));
}

void roster_buf_addch(struct roster_buf *b, char c)
{
    grow(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void roster_buf_printf(struct roster_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *roster_buf_detach(struct roster_buf *b, size_t *len)
{
    grow(b, 0);
    char *p = b->data;
    if (len)
        *len = b->len;
    roster_buf_init(b);
    return p;
}

int roster_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

const char *roster_enum_name(const char *const *names, size_t n, int v, const char *other)
{
    return v >= 0 && (size_t)v < n && names[v] ? names[v] : other;
}

int64_t roster_page_end(int64_t from, int64_t limit, int64_t total)
{
    if (limit < 0 || from >= total || limit >= total - from)
        return total;
    return from + limit;
}

char *roster_url_redact(const char *url, char *out, size_t cap)
{
    struct roster_buf b;
    roster_buf_init(&b);
    const char *p = url ? url : "";
    const char *scheme = strstr(p, "://");
    if (scheme) {
        const char *host = scheme + 3;
        size_t alen = strcspn(host, "/?#");
        const char *at = memchr(host, '@', alen);
        const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
        if (colon) { /* user:password@ */
            roster_buf_add(&b, p, (size_t)(colon + 1 - p));
            roster_buf_addstr(&b, "***");
            p = at;
        }
        const char *q = strchr(p, '?');
        while (q) { /* every password= of the query */
            const char *name = q + 1;
            size_t nlen = strcspn(name, "&#");
            if (strncmp(name, "password=", 9) == 0) {
                roster_buf_add(&b, p, (size_t)(name + 9 - p));
                roster_buf_addstr(&b, "***");
                p = name + nlen;
            }
            q = name[nlen] == '&' ? name + nlen : NULL;
        }
    }
    roster_buf_addstr(&b, p);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}
