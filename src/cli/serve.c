/* `roster serve`: configuration (flags over environment over defaults), first-start
 * bootstrap (default organisation + admin key), job workers, the HTTP listener, and a
 * clean stop on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dialect/dialects.h"
#include "roster/cli.h"
#include "roster/delivery.h"
#include "roster/http.h"
#include "roster/log.h"
#include "roster/smtp.h"
#include "roster/webhook_channel.h"
#include "roster/store.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int parse_size(const char *what, const char *s, int64_t min, int64_t *out)
{
    if (roster_parse_i64(s, out) != 0 || *out < min) {
        fprintf(stderr, "roster: %s \"%s\" must be an integer >= %lld\n", what, s, (long long)min);
        return -1;
    }
    return 0;
}

/* Raises the open-file limit to what conns connections need (each one a descriptor, plus the
 * store's files, the listening socket and the job engine's connections), as far as the hard
 * limit allows; says so when it cannot. */
static void raise_nofile(int conns)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)conns + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || want < need)
        roster_log(ROSTER_LOG_WARN, "open-file limit below what --max-conns needs",
                   "limit=%llu need=%llu", (unsigned long long)want, (unsigned long long)need);
}

/* Reads a whole (small) file into a NUL-terminated heap string; prints what failed. */
static char *read_file(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "roster: cannot read %s %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    struct roster_buf b;
    roster_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
        roster_buf_add(&b, chunk, n);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || b.len == 0 || b.len >= (1u << 20)) {
        fprintf(stderr, "roster: %s %s is %s\n", what, path,
                bad     ? "unreadable"
                : b.len ? "too large"
                        : "empty");
        roster_buf_release(&b);
        return NULL;
    }
    return roster_buf_detach(&b, NULL);
}

/* One serving process per SQLite file: a second one would reset the first one's leases. */
static int lock_embedded_store(const char *url)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s.lock", url);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "roster: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "roster: another roster serve is using %s\n", url);
        close(fd);
        return -1;
    }
    return fd; /* held until the process exits */
}

/* The id of the first admin key. Fixed, so that two processes bootstrapping an empty
 * multi-node store at the same moment collide on it: the second one's insert waits for the
 * first one's transaction and then fails, and it rolls back its organisation and key. */
#define BOOTSTRAP_KEY_ID "000000000000000000000001"

/* What is wrong with a ROSTER_BOOTSTRAP_KEY (an all-organisations admin key: as hard to
 * guess as the 40 random hex characters roster makes), or NULL when it is fine or unset. */
#define BOOTSTRAP_KEY_MIN 32
#define BOOTSTRAP_KEY_MAX 256
static const char *bootstrap_key_fault(const char *key)
{
    if (!key || !*key)
        return NULL;
    size_t n = strlen(key);
    if (n < BOOTSTRAP_KEY_MIN || n > BOOTSTRAP_KEY_MAX)
        return "must be 32 to 256 characters long";
    for (size_t i = 0; i < n; i++)
        if (key[i] <= ' ' || key[i] > '~')
            return "must be printable ASCII without spaces (it is sent in a header)";
    return NULL;
}

/* On an empty store: the default organisation and its first admin key, printed once, in one
 * transaction. */
static int bootstrap(struct roster_conn *c)
{
    struct roster_err err = {0};
    struct roster_arena a;
    roster_arena_init(&a, 0);
    struct roster_org *orgs;
    size_t n;
    int rc = roster_store_begin(c, &err);
    if (rc != 0)
        goto done;
    rc = roster_store_org_list(c, &a, &orgs, &n, &err);
    if (rc != 0 || n > 0)
        goto rollback;
    struct roster_org org = {0};
    org.name = "default";
    org.default_state_bulk = org.default_state_app_import = org.default_state_manual =
        ROSTER_ACTIVATED;
    rc = roster_store_org_create(c, &org, &err);
    if (rc != 0)
        goto rollback;
    const char *given = getenv("ROSTER_BOOTSTRAP_KEY");
    char secret[41];
    if (given && *given) {
        snprintf(secret, sizeof(secret), "%s", given);
    } else {
        unsigned char raw[20];
        roster_random(raw, sizeof(raw));
        roster_hex(raw, sizeof(raw), secret);
        given = secret;
    }
    struct roster_key key;
    memset(&key, 0, sizeof(key));
    snprintf(key.id, sizeof(key.id), "%s", BOOTSTRAP_KEY_ID);
    snprintf(key.org_id, sizeof(key.org_id), "%s", org.id);
    key.name = "bootstrap admin";
    key.all_orgs = true;
    roster_sha256_hex(given, strlen(given), key.hash);
    rc = roster_store_key_create(c, &key, &err);
    if (rc != 0)
        goto rollback;
    rc = roster_store_commit(c, &err);
    if (rc != 0)
        goto done;
    printf("admin key %s org %s\n", given, org.id);
    fflush(stdout);
    roster_log(ROSTER_LOG_INFO, "created the default organization and its admin key",
               "org=%s key_id=%s", org.id, key.id);
    goto done;
rollback:
    roster_store_rollback(c);
    if (rc == ROSTER_ECONFLICT) {
        /* another process sharing the store bootstrapped it meanwhile */
        roster_log(ROSTER_LOG_INFO, "the store was bootstrapped by another process", NULL);
        rc = 0;
    }
done:
    if (rc != 0)
        fprintf(stderr, "roster: bootstrap failed: %s %s\n", err.msg, err.detail);
    roster_arena_release(&a);
    return rc;
}

int roster_cmd_serve(int argc, char **argv)
{
    struct roster_app app;
    memset(&app, 0, sizeof(app));
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *listen = env_or("ROSTER_LISTEN", "127.0.0.1:8080");
    const char *store = NULL;
    const char *workers = env_or("ROSTER_WORKERS", NULL);
    const char *max_body = env_or("ROSTER_MAX_BODY", "33554432");
    const char *level = env_or("ROSTER_LOG_LEVEL", "info");
    const char *http_threads = env_or("ROSTER_HTTP_THREADS", NULL);
    const char *tls_cert = env_or("ROSTER_TLS_CERT", NULL);
    const char *tls_key = env_or("ROSTER_TLS_KEY", NULL);
    const char *tls_priorities = env_or("ROSTER_TLS_PRIORITIES", NULL);
    const char *max_conns = env_or("ROSTER_MAX_CONNS", NULL);
    const char *max_conns_ip = env_or("ROSTER_MAX_CONNS_PER_IP", NULL);
    const char *body_timeout = env_or("ROSTER_BODY_TIMEOUT", NULL);
    const char *header_timeout = env_or("ROSTER_HEADER_TIMEOUT", NULL);
    const char *retention = env_or("ROSTER_JOB_INPUT_RETENTION", NULL);
    const char *bulk_max = env_or("ROSTER_BULK_MAX_ITEMS", NULL);
    const char *job_lease = env_or("ROSTER_JOB_LEASE_MS", NULL);
    const char *rate_limit = env_or("ROSTER_RATE_LIMIT", NULL);
    const char *max_open_jobs = env_or("ROSTER_MAX_OPEN_JOBS", NULL);
    const char *max_pending = env_or("ROSTER_MAX_PENDING_ITEMS", NULL);
    const char *rate_burst = env_or("ROSTER_RATE_BURST", NULL);
    const char *metrics = env_or("ROSTER_METRICS", "open");
    static struct roster_smtp_config smtp; /* outlives the delivery engine */
    smtp.url = env_or("ROSTER_SMTP_URL", NULL);
    smtp.from = env_or("ROSTER_SMTP_FROM", "roster@localhost");
    int require_tls = env_or("ROSTER_SMTP_REQUIRE_TLS", NULL) != NULL;
    const char *smtp_sessions = env_or("ROSTER_SMTP_SESSIONS", NULL);
    const char *dl_lifetime = env_or("ROSTER_DELIVERY_LIFETIME", NULL);
    const char *dl_backoff = env_or("ROSTER_DELIVERY_BACKOFF_MS", NULL);
    const char *dl_lease = env_or("ROSTER_DELIVERY_LEASE_MS", NULL);
    const char *idem_ttl = env_or("ROSTER_IDEMPOTENCY_TTL", NULL);
    const char *webhooks = env_or("ROSTER_WEBHOOKS", "on");
    const char *webhook_sessions = env_or("ROSTER_WEBHOOK_SESSIONS", NULL);
    static struct roster_webhook_config webhook; /* outlives the delivery engine */
    const char *dl_per_dest = env_or("ROSTER_DELIVERY_PER_DESTINATION", NULL);
    const struct roster_cli_opt opts[] = {
        {"listen", &listen, NULL},
        {"store", &store, NULL},
        {"workers", &workers, NULL},
        {"max-body", &max_body, NULL},
        {"log-level", &level, NULL},
        {"http-threads", &http_threads, NULL},
        {"tls-cert", &tls_cert, NULL},
        {"tls-key", &tls_key, NULL},
        {"tls-priorities", &tls_priorities, NULL},
        {"max-conns", &max_conns, NULL},
        {"max-conns-per-ip", &max_conns_ip, NULL},
        {"body-timeout", &body_timeout, NULL},
        {"header-timeout", &header_timeout, NULL},
        {"job-input-retention", &retention, NULL},
        {"bulk-max-items", &bulk_max, NULL},
        {"job-lease-ms", &job_lease, NULL},
        {"rate-limit", &rate_limit, NULL},
        {"rate-burst", &rate_burst, NULL},
        {"max-open-jobs", &max_open_jobs, NULL},
        {"max-pending-items", &max_pending, NULL},
        {"metrics", &metrics, NULL},
        {"smtp-url", &smtp.url, NULL},
        {"smtp-from", &smtp.from, NULL},
        {"smtp-require-tls", NULL, &require_tls},
        {"smtp-sessions", &smtp_sessions, NULL},
        {"delivery-lifetime", &dl_lifetime, NULL},
        {"delivery-backoff-ms", &dl_backoff, NULL},
        {"delivery-lease-ms", &dl_lease, NULL},
        {"idempotency-ttl", &idem_ttl, NULL},
        {"webhooks", &webhooks, NULL},
        {"webhook-sessions", &webhook_sessions, NULL},
        {"delivery-per-destination", &dl_per_dest, NULL},
    };
    int parsed = roster_cli_options(argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (parsed == 1) {
        printf("usage: roster serve [--listen HOST:PORT] [--store PATH|URL] [--workers N] "
               "[--max-body BYTES] [--log-level debug|info|warn|error] "
               "[--http-threads N] [--tls-cert PEM_FILE --tls-key PEM_FILE] "
               "[--tls-priorities GNUTLS_PRIORITIES] [--max-conns N] "
               "[--max-conns-per-ip N] [--body-timeout SECONDS] [--header-timeout SECONDS] "
               "[--bulk-max-items N] [--job-input-retention SECONDS] "
               "[--job-lease-ms MS] [--rate-limit N[/s|/m|/h]] [--rate-burst N] "
               "[--max-open-jobs N] [--max-pending-items N] [--metrics open|key|off] "
               "[--smtp-url smtp[s]://[USER:PASS@]HOST[:PORT]] "
               "[--smtp-from ADDRESS] [--smtp-require-tls] [--smtp-sessions N] "
               "[--delivery-lifetime SECONDS] [--delivery-backoff-ms MS] "
               "[--delivery-lease-ms MS] [--delivery-per-destination N] "
               "[--idempotency-ttl SECONDS] [--webhooks on|off] [--webhook-sessions N]\n");
        return 0;
    }
    if (parsed != 0)
        return 2;
    smtp.require_tls = require_tls != 0;
    int64_t v;
    app.cfg.listen = listen;
    app.cfg.tls_priorities = tls_priorities;
    app.cfg.store_url = roster_cli_store_url(store);
    app.cfg.workers = ncpu > 0 ? (int)ncpu : 2;
    if (workers) {
        if (parse_size("--workers", workers, 1, &v) != 0)
            return 2;
        app.cfg.workers = (int)v;
    }
    if (parse_size("--max-body", max_body, 1, &v) != 0)
        return 2;
    app.cfg.max_body = (size_t)v;
    struct {
        const char *flag, *value;
        int *out;
        int64_t max;
    } limits[] = {
        {"--max-conns", max_conns, &app.cfg.max_conns, 1000000},
        {"--max-conns-per-ip", max_conns_ip, &app.cfg.max_conns_per_ip, 1000000},
        {"--body-timeout", body_timeout, &app.cfg.body_timeout_s, 86400},
        {"--header-timeout", header_timeout, &app.cfg.header_timeout_s, 86400},
        {"--bulk-max-items", bulk_max, &app.cfg.bulk_max_items, 1000000},
        {"--max-open-jobs", max_open_jobs, &app.cfg.max_open_jobs, 1000000000},
        {"--max-pending-items", max_pending, &app.cfg.max_pending_items, 1000000000},
    };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        if (!limits[i].value)
            continue;
        if (parse_size(limits[i].flag, limits[i].value, 1, &v) != 0)
            return 2;
        if (v > limits[i].max) {
            fprintf(stderr, "roster: %s is at most %lld\n", limits[i].flag,
                    (long long)limits[i].max);
            return 2;
        }
        *limits[i].out = (int)v;
    }
    app.cfg.http_threads = ncpu > 2 ? (int)ncpu * 2 : 4;
    if (http_threads) {
        if (parse_size("--http-threads", http_threads, 1, &v) != 0)
            return 2;
        app.cfg.http_threads = (int)v;
    }
    if (job_lease) {
        /* another process takes over a chunk of a crashed one after this long: keep it
         * well above the time a batch of chunks takes to apply */
        if (parse_size("--job-lease-ms", job_lease, 100, &v) != 0)
            return 2;
        app.cfg.job_lease_ms = v;
    }
    if (retention) {
        if (parse_size("--job-input-retention", retention, 1, &v) != 0)
            return 2;
        app.cfg.job_input_retention_s = v;
    }
    if (idem_ttl) {
        /* how long an Idempotency-Key is kept (roster/idem.h); short ones are for tests */
        if (parse_size("--idempotency-ttl", idem_ttl, 1, &v) != 0)
            return 2;
        if (v > ROSTER_IDEM_TTL_S_MAX) {
            fprintf(stderr, "roster: --idempotency-ttl is at most %ld\n", ROSTER_IDEM_TTL_S_MAX);
            return 2;
        }
        app.cfg.idempotency_ttl_s = v;
    }
    app.cfg.rate_limit_per_s = ROSTER_RATE_LIMIT_DEFAULT;
    if (rate_limit && roster_rate_parse(rate_limit, &app.cfg.rate_limit_per_s) != 0) {
        fprintf(stderr,
                "roster: --rate-limit \"%s\" is not a rate: N, N/s, N/m or N/h (0: no limit)\n",
                rate_limit);
        return 2;
    }
    if (rate_burst) {
        if (parse_size("--rate-burst", rate_burst, 1, &v) != 0)
            return 2;
        app.cfg.rate_burst = v;
    }
    if (strcmp(metrics, "open") == 0)
        app.cfg.metrics = ROSTER_METRICS_OPEN;
    else if (strcmp(metrics, "key") == 0)
        app.cfg.metrics = ROSTER_METRICS_KEY;
    else if (strcmp(metrics, "off") == 0)
        app.cfg.metrics = ROSTER_METRICS_OFF;
    else {
        fprintf(stderr, "roster: --metrics \"%s\" is not open, key or off\n", metrics);
        return 2;
    }
    int64_t per_dest = 0;
    struct {
        const char *flag, *value;
        int64_t min, max, *out;
    } delivery[] = {
        {"--delivery-lifetime", dl_lifetime, 1, 365 * 86400, &app.cfg.delivery_lifetime_s},
        {"--delivery-backoff-ms", dl_backoff, 1, 86400000, &app.cfg.delivery_backoff_ms},
        {"--delivery-lease-ms", dl_lease, 200, 86400000, &app.cfg.delivery_lease_ms},
        {"--delivery-per-destination", dl_per_dest, 1, ROSTER_DELIVERY_PER_DESTINATION_MAX,
         &per_dest},
    };
    for (size_t i = 0; i < sizeof(delivery) / sizeof(delivery[0]); i++) {
        if (!delivery[i].value)
            continue;
        if (parse_size(delivery[i].flag, delivery[i].value, delivery[i].min, &v) != 0)
            return 2;
        if (v > delivery[i].max) {
            fprintf(stderr, "roster: %s is at most %lld\n", delivery[i].flag,
                    (long long)delivery[i].max);
            return 2;
        }
        *delivery[i].out = v;
    }
    app.cfg.delivery_per_destination = (int)per_dest;
    if (smtp_sessions) {
        if (parse_size("--smtp-sessions", smtp_sessions, 1, &v) != 0)
            return 2;
        if (v > 64) {
            fprintf(stderr, "roster: --smtp-sessions is at most 64\n");
            return 2;
        }
        smtp.sessions = (int)v;
    }
    if (smtp.url) {
        /* a send never outlasts a quarter of the lease (a worker starts none past half of
         * it), so no claim expires under a message being sent */
        int64_t lease = app.cfg.delivery_lease_ms > 0 ? app.cfg.delivery_lease_ms
                                                      : ROSTER_DELIVERY_LEASE_MS_DEFAULT;
        smtp.timeout_s = lease / 4000 < 1 ? 1 : lease / 4000 > 60 ? 60 : (long)(lease / 4000);
        struct roster_err serr = {0};
        if (roster_smtp_channel_init(&smtp, &serr) != 0) {
            fprintf(stderr, "roster: %s\n", serr.msg);
            return 2;
        }
    }
    if (strcmp(webhooks, "on") != 0 && strcmp(webhooks, "off") != 0) {
        fprintf(stderr, "roster: --webhooks is on or off, not \"%s\"\n", webhooks);
        return 2;
    }
    if (webhook_sessions) {
        if (parse_size("--webhook-sessions", webhook_sessions, 1, &v) != 0)
            return 2;
        if (v > 64) {
            fprintf(stderr, "roster: --webhook-sessions is at most 64\n");
            return 2;
        }
        webhook.sessions = (int)v;
    }
    if (strcmp(webhooks, "on") == 0) {
        /* as for SMTP: a request never outlasts a quarter of the lease, at most 30 s */
        int64_t lease = app.cfg.delivery_lease_ms > 0 ? app.cfg.delivery_lease_ms
                                                      : ROSTER_DELIVERY_LEASE_MS_DEFAULT;
        webhook.timeout_s = lease / 4000 < 1 ? 1 : lease / 4000 > 30 ? 30 : (long)(lease / 4000);
        struct roster_err werr = {0};
        if (roster_webhook_channel_init(&webhook, &werr) != 0) {
            fprintf(stderr, "roster: %s\n", werr.msg);
            return 2;
        }
    }
    app.cfg.log_level = roster_log_level_parse(level);
    if (app.cfg.log_level < 0) {
        fprintf(stderr, "roster: --log-level \"%s\" is not debug, info, warn or error\n", level);
        return 2;
    }
    roster_log_set_level(app.cfg.log_level);
    if ((tls_cert != NULL) != (tls_key != NULL)) {
        fprintf(stderr, "roster: --tls-cert and --tls-key go together (one of them is missing)\n");
        return 2;
    }
    const char *why = bootstrap_key_fault(getenv("ROSTER_BOOTSTRAP_KEY"));
    if (why) {
        fprintf(stderr, "roster: ROSTER_BOOTSTRAP_KEY %s\n", why);
        return 2;
    }
    char *cert_pem = NULL, *key_pem = NULL;
    if (tls_cert) {
        cert_pem = read_file("--tls-cert", tls_cert);
        key_pem = cert_pem ? read_file("--tls-key", tls_key) : NULL;
        if (!key_pem) {
            free(cert_pem);
            return 2;
        }
        app.cfg.tls_cert_pem = cert_pem;
        app.cfg.tls_key_pem = key_pem;
    }

    /* Block the stop signals in every thread; the main thread waits for them below. */
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct roster_err err = {0};
    struct roster_conn *c = NULL;
    struct roster_server *srv = NULL;
    int rc = 1;
    char shown[1024]; /* the URL as logs show it: no password */
    roster_url_redact(app.cfg.store_url, shown, sizeof(shown));
    if (roster_store_open(app.cfg.store_url, &app.store, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        free(cert_pem);
        free(key_pem);
        return 1;
    }
    if ((roster_store_flags(app.store) & ROSTER_STORE_EMBEDDED) &&
        lock_embedded_store(app.cfg.store_url) < 0)
        goto done;
    if (roster_conn_open(app.store, &c, &err) != 0) {
        fprintf(stderr, "roster: cannot open store %s: %s %s\n", shown, err.msg, err.detail);
        goto done;
    }
    if (bootstrap(c) != 0)
        goto done;
    /* an embedded store has exactly one server: leases of a previous (crashed) run are void */
    if ((roster_store_flags(app.store) & ROSTER_STORE_EMBEDDED) &&
        roster_store_lease_reset_all(c, &err) != 0) {
        fprintf(stderr, "roster: cannot reset job leases: %s %s\n", err.msg, err.detail);
        goto done;
    }
    roster_dialects_init();
    /* user lists kept between requests (src/core/lists.c); without memory, none are */
    app.lists = roster_lists_new(ROSTER_LISTS_MAX_BYTES);
    if (roster_jobs_start(&app, app.cfg.workers, &app.jobs, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        goto done;
    }
    if (roster_scheduler_start(&app, &app.scheduler, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        goto done;
    }
    if (roster_retention_start(&app, &app.retention, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        goto done;
    }
    if (roster_delivery_start(&app, &app.delivery, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        goto done;
    }
    if (smtp.url) {
        char relay[1024];
        roster_url_redact(smtp.url, relay, sizeof(relay));
        roster_log(ROSTER_LOG_INFO, "smtp delivery", "relay=%s from=%s sessions=%d", relay,
                   smtp.from, smtp.sessions > 0 ? smtp.sessions : ROSTER_SMTP_SESSIONS_DEFAULT);
    }
    raise_nofile(app.cfg.max_conns > 0 ? app.cfg.max_conns : ROSTER_MAX_CONNS_DEFAULT);
    if (roster_server_start(&app, &roster_dialect_routes, &srv, &err) != 0) {
        fprintf(stderr, "roster: %s\n", err.msg);
        goto done;
    }
    char host[256];
    snprintf(host, sizeof(host), "%s", app.cfg.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    if (!host[0] || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    printf("listening %s://%s:%d\n", cert_pem ? "https" : "http", host, roster_server_port(srv));
    fflush(stdout);
    roster_log(ROSTER_LOG_INFO, "listening", "addr=%s:%d store=%s workers=%d", host,
               roster_server_port(srv), shown, app.cfg.workers);

    int sig = 0;
    sigwait(&stop_sigs, &sig);
    roster_log(ROSTER_LOG_INFO, "stopping", "signal=%d", sig);
    rc = 0;
done:
    roster_server_stop(srv); /* first: no new work is accepted */
    roster_delivery_stop(app.delivery);
    roster_retention_stop(app.retention);
    roster_scheduler_stop(app.scheduler); /* then: the current batch commits or rolls back */
    roster_jobs_stop(app.jobs);           /* and workers finish or roll back their chunk */
    roster_conn_close(c);
    roster_store_close(app.store);
    roster_lists_free(app.lists);
    free(cert_pem);
    free(key_pem);
    if (rc == 0)
        roster_log(ROSTER_LOG_INFO, "stopped", "exit=%d", rc);
    return rc;
}
