/* The generation-counter wake-up signal (see include/roster/wake.h). */
#include "roster/wake.h"

void roster_deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    if (ms < 0)
        ms = 0;
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

void roster_wake_init(struct roster_wake *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->generation = 0;
    w->stop = false;
}

void roster_wake_release(struct roster_wake *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

uint64_t roster_wake_generation(struct roster_wake *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t gen = w->generation;
    pthread_mutex_unlock(&w->mu);
    return gen;
}

bool roster_wake_stopped(struct roster_wake *w)
{
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

void roster_wake_notify(struct roster_wake *w)
{
    pthread_mutex_lock(&w->mu);
    w->generation++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void roster_wake_stop(struct roster_wake *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void roster_wake_wait(struct roster_wake *w, uint64_t gen, int64_t wait_ms)
{
    if (wait_ms <= 0)
        return;
    struct timespec ts;
    roster_deadline_after(&ts, wait_ms);
    pthread_mutex_lock(&w->mu);
    while (!w->stop && w->generation == gen)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&w->mu);
}
