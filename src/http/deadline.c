/* Deadlines that libmicrohttpd's idle timeout cannot give: a connection must finish its
 * request headers within --header-timeout of opening or of its previous answer, and a
 * request body within --body-timeout of its headers, however steadily the client trickles
 * bytes (the idle timeout restarts with every byte).
 *
 * DESIGN
 * - Each connection gets a small record (libmicrohttpd's socket context) on a list; its
 *   deadline is one atomic the connection's own thread sets as the request moves on
 *   (headers wanted -> body wanted -> none while the handler runs and the answer goes out).
 * - A sweeper thread wakes once a second and shuts down (shutdown(2), not close) the socket
 *   of every record past its deadline: the connection's thread then reads end-of-file and
 *   libmicrohttpd closes and cleans up as for any client that went away. The record leaves
 *   the list under the same mutex before libmicrohttpd closes the socket, so the sweeper
 *   never touches a descriptor that may have been reused.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "deadline.h"
#include "roster/log.h"
#include "roster/util.h"

struct dl_conn {
    struct dl_conn *prev, *next;
    int fd;
    int64_t header_ms, body_ms;  /* this connection's server's timeouts */
    _Atomic int64_t deadline_ms; /* monotonic; 0: none */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dl_conn *head;
    pthread_t sweeper;
    int users; /* servers started and not stopped: the sweeper runs while > 0 */
    bool running;
} dl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void sweep(void)
{
    int64_t now = roster_monotonic_ms();
    int shut = 0;
    pthread_mutex_lock(&dl.mu);
    for (struct dl_conn *c = dl.head; c; c = c->next) {
        int64_t d = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
        if (d && now > d) {
            shutdown(c->fd, SHUT_RDWR);
            atomic_store_explicit(&c->deadline_ms, 0, memory_order_relaxed);
            shut++;
        }
    }
    pthread_mutex_unlock(&dl.mu);
    if (shut)
        roster_log(ROSTER_LOG_WARN, "request headers or body too slow: connections closed",
                   "connections=%d", shut);
}

static void *sweeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl.mu);
    while (dl.running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&dl.cv, &dl.mu, &ts);
        if (!dl.running)
            break;
        pthread_mutex_unlock(&dl.mu);
        sweep();
        pthread_mutex_lock(&dl.mu);
    }
    pthread_mutex_unlock(&dl.mu);
    return NULL;
}

int roster_deadline_start(void)
{
    int rc = 0;
    pthread_mutex_lock(&dl.mu);
    if (dl.users++ == 0) {
        dl.running = true;
        rc = pthread_create(&dl.sweeper, NULL, sweeper_main, NULL);
        if (rc) {
            dl.running = false;
            dl.users = 0;
        }
    }
    pthread_mutex_unlock(&dl.mu);
    return rc;
}

void roster_deadline_stop(void)
{
    pthread_mutex_lock(&dl.mu);
    bool join = dl.users > 0 && --dl.users == 0;
    if (join) {
        dl.running = false;
        pthread_cond_signal(&dl.cv);
    }
    pthread_mutex_unlock(&dl.mu);
    if (join)
        pthread_join(dl.sweeper, NULL);
}

void *roster_deadline_open(int fd, int header_timeout_s, int body_timeout_s)
{
    struct dl_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL; /* this connection simply has no deadline */
    c->fd = fd;
    c->header_ms = (int64_t)header_timeout_s * 1000;
    c->body_ms = (int64_t)body_timeout_s * 1000;
    atomic_init(&c->deadline_ms, roster_monotonic_ms() + c->header_ms);
    pthread_mutex_lock(&dl.mu);
    c->next = dl.head;
    if (dl.head)
        dl.head->prev = c;
    dl.head = c;
    pthread_mutex_unlock(&dl.mu);
    return c;
}

void roster_deadline_close(void *ctx)
{
    struct dl_conn *c = ctx;
    if (!c)
        return;
    pthread_mutex_lock(&dl.mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        dl.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&dl.mu);
    free(c);
}

void roster_deadline_set(void *ctx, enum roster_deadline_phase phase)
{
    struct dl_conn *c = ctx;
    if (!c)
        return;
    int64_t d = 0;
    if (phase == ROSTER_DEADLINE_HEADERS)
        d = roster_monotonic_ms() + c->header_ms;
    else if (phase == ROSTER_DEADLINE_BODY)
        d = roster_monotonic_ms() + c->body_ms;
    atomic_store_explicit(&c->deadline_ms, d, memory_order_relaxed);
}
