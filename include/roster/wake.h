/* A wake-up signal between threads: a generation counter under a mutex and a condition
 * variable. Notifiers bump the generation; a waiter remembers the generation it saw before
 * looking for work, and sleeps only if nothing was notified since (no lost wake-ups).
 * Used by the job engine, the scheduler and the SQLite store's writers.
 */
#ifndef ROSTER_WAKE_H
#define ROSTER_WAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct roster_wake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t generation;
    bool stop; /* set by roster_wake_stop: every wait returns at once from then on */
};

void roster_wake_init(struct roster_wake *w);
void roster_wake_release(struct roster_wake *w);
/* The generation to pass to roster_wake_wait (read it BEFORE looking for work). */
uint64_t roster_wake_generation(struct roster_wake *w);
bool roster_wake_stopped(struct roster_wake *w);
/* Bumps the generation and wakes every waiter. */
void roster_wake_notify(struct roster_wake *w);
void roster_wake_stop(struct roster_wake *w);
/* Sleeps until the generation differs from gen, the signal is stopped, or wait_ms passed
 * (wait_ms <= 0: returns at once). */
void roster_wake_wait(struct roster_wake *w, uint64_t gen, int64_t wait_ms);

/* *ts = now (CLOCK_REALTIME, as pthread_cond_timedwait wants) + ms. */
void roster_deadline_after(struct timespec *ts, int64_t ms);

#endif
