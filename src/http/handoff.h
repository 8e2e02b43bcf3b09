/* The handler pool: requests with a body run on threads of their own, not on the
 * libmicrohttpd pool thread that holds their connection (server.c suspends the connection,
 * hands the request over, and the pool resumes it when the answer is ready).
 *
 * Why: libmicrohttpd keeps a connection on one pool thread for its whole life, and a
 * thread that accepts a burst of connections takes them all. Two clients posting bulk
 * requests then often shared one thread and ran one after the other while the other
 * threads idled (bench/scim --store postgres, 2 connections: 17,036 users/s when one
 * MHD thread had run both, 25,767 when they were on two). A handed-over request runs on
 * whichever pool thread is free. Requests without a body (reads, mostly small and
 * answered in microseconds) still run where they arrive: a hand-over costs two context
 * switches. */
#ifndef ROSTER_HTTP_HANDOFF_H
#define ROSTER_HTTP_HANDOFF_H

#include <stdbool.h>

struct handoff;

/* The work a pool thread does with an item, and what it does after (resume). */
typedef void handoff_fn(void *item);

/* Starts n threads that run run(item) then done(item) for each item given; NULL when no
 * thread could be started (the caller then runs everything itself). */
struct handoff *handoff_start(unsigned n, handoff_fn *run, handoff_fn *done);
/* Queues item; false when the pool is stopping or absent (the caller runs it itself). */
bool handoff_give(struct handoff *h, void *item);
/* Runs what is queued, then stops and joins the threads; handoff_give refuses from then
 * on. h stays allocated until handoff_free. */
void handoff_stop(struct handoff *h);
void handoff_free(struct handoff *h);

#endif
