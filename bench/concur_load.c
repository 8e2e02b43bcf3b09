/* Bench-only loader for bench/concur_list: creates an organisation (with a Concur company
 * block) and an API key, then inserts N deterministic users straight through the store in
 * large transactions (the store's bulk path, not N HTTP calls). Built by CMake as
 * build/concur_load; prints "org ID", "key SECRET" and the load rate.
 *
 * usage: concur_load STORE N [--key SECRET] [--seed S] [--batch B]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/cli.h"
#include "roster/store.h"
#include "roster/util.h"

static const char *const FIRST[] = {"Ada",     "Alan",      "Barbara", "Claude", "Donald",
                                    "Edsger",  "Frances",   "Grace",   "Hedy",   "Ivan",
                                    "John",    "Katherine", "Ken",     "Leslie", "Margaret",
                                    "Niklaus", "Radia",     "Shafi",   "Tim",    "Vint"};
/* 20 last names: each is carried by about 5% of the users ("a common name") */
static const char *const LAST[] = {"Lovelace", "Turing",  "Liskov",     "Shannon",     "Knuth",
                                   "Dijkstra", "Allen",   "Hopper",     "Lamarr",      "Sutherland",
                                   "McCarthy", "Johnson", "Thompson",   "Lamport",     "Hamilton",
                                   "Wirth",    "Perlman", "Goldwasser", "Berners-Lee", "Cerf"};
static const char *const MIDDLE[] = {"J", "Marie", "Lee", "Ann", "K"};
static const char *const DEPTS[] = {"Engineering", "Sales",      "Support",   "Finance",
                                    "Legal",       "Operations", "Marketing", "Research"};
static const char *const COUNTRIES[] = {"US", "US", "US", "US", "DE", "FR", "GB", "IN", "JP", "BR"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: deterministic, fast */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}
static size_t pick(size_t n)
{
    return (size_t)(rnd() % n);
}

static int fail(const char *what, const struct roster_err *err)
{
    fprintf(stderr, "concur_load: %s: %s %s\n", what, err->msg, err->detail);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: concur_load STORE N [--key SECRET] [--seed S] [--batch B]\n");
        return 2;
    }
    const char *url = argv[1];
    long long n = atoll(argv[2]);
    const char *given_key = NULL;
    long long seed = 1, batch = 20000;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--key") == 0)
            given_key = argv[i + 1];
        else if (strcmp(argv[i], "--seed") == 0)
            seed = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atoll(argv[i + 1]);
        else {
            fprintf(stderr, "concur_load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n < 0 || batch < 1) {
        fprintf(stderr, "concur_load: N must be >= 0 and --batch >= 1\n");
        return 2;
    }
    rnd_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)seed;

    struct roster_err err = {0};
    struct roster_store *st = NULL;
    struct roster_conn *c = NULL;
    if (roster_store_open(url, &st, &err) || roster_conn_open(st, &c, &err))
        return fail("open", &err);

    struct roster_org org = {0};
    org.name = "Bench Corp LLC";
    org.address = "601 108th ave NE";
    org.city = "Bellevue";
    org.region = "WA";
    org.zip = "98004";
    org.country = "US";
    org.default_state_bulk = org.default_state_app_import = org.default_state_manual =
        ROSTER_ACTIVATED;
    if (roster_store_org_create(c, &org, &err))
        return fail("org create", &err);
    char secret[41];
    struct roster_key key;
    if (roster_cli_make_key(c, org.id, "bench", 0, given_key, secret, &key, &err))
        return fail("key create", &err);
    printf("org %s\nkey %s\n", org.id, secret);
    fflush(stdout);

    int64_t t0 = roster_monotonic_ms();
    char username[96], email[128], emp[32], phones[160], alt[128];
    for (long long i = 0; i < n;) {
        if (roster_store_begin(c, &err))
            return fail("begin", &err);
        long long end = i + batch < n ? i + batch : n;
        for (; i < end; i++) {
            const char *first = FIRST[pick(N_OF(FIRST))];
            const char *last = LAST[pick(N_OF(LAST))];
            struct roster_user u;
            memset(&u, 0, sizeof(u));
            snprintf(username, sizeof(username), "%s.%s.%07lld", first, last, i);
            for (char *p = username; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            snprintf(email, sizeof(email), "%s@bench.example.com", username);
            snprintf(emp, sizeof(emp), "E%07lld", i);
            u.f[RU_USERNAME] = username;
            u.f[RU_EMAIL] = email;
            u.f[RU_EMPLOYEE_ID] = emp;
            u.f[RU_FIRST_NAME] = first;
            u.f[RU_LAST_NAME] = last;
            if (pick(4) == 0)
                u.f[RU_MIDDLE_NAME] = MIDDLE[pick(N_OF(MIDDLE))];
            u.f[RU_COUNTRY_CODE] = COUNTRIES[pick(N_OF(COUNTRIES))];
            u.f[RU_DEPARTMENT] = DEPTS[pick(N_OF(DEPTS))];
            size_t kind = pick(10);
            if (kind < 6)
                snprintf(phones, sizeof(phones),
                         "[{\"type\":\"work\",\"number\":\"+1 555 %07llu\"},"
                         "{\"type\":\"mobile\",\"number\":\"+1 555 %07llu\"}]",
                         (unsigned long long)(rnd() % 10000000),
                         (unsigned long long)(rnd() % 10000000));
            else if (kind < 9)
                snprintf(phones, sizeof(phones),
                         "[{\"type\":\"work\",\"number\":\"+1 555 %07llu\"}]",
                         (unsigned long long)(rnd() % 10000000));
            else
                phones[0] = '\0';
            u.f[RU_PHONES] = phones[0] ? phones : NULL;
            if (pick(3) == 0) {
                snprintf(alt, sizeof(alt), "%s@home.example.org", username);
                u.f[RU_ALTERNATE_EMAIL] = alt;
            }
            /* most users are active: 90% ACTIVATED, 7% SUSPENDED, 3% STAGED */
            size_t s = pick(100);
            u.state = s < 90 ? ROSTER_ACTIVATED : s < 97 ? ROSTER_SUSPENDED : ROSTER_STAGED;
            if (roster_store_user_create(c, org.id, &u, &err))
                return fail("user create", &err);
        }
        if (roster_store_commit(c, &err))
            return fail("commit", &err);
    }
    int64_t ms = roster_monotonic_ms() - t0;
    printf("users %lld in %.1f s (%.0f users/s)\n", n, (double)ms / 1000.0,
           ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0);
    roster_conn_close(c);
    roster_store_close(st);
    return 0;
}
