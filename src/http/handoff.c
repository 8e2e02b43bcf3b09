/* The handler pool (handoff.h): a FIFO of items under one mutex, n threads taking them. */
#include <pthread.h>
#include <stdlib.h>

#include "http/handoff.h"

struct hitem {
    void *item;
    struct hitem *next;
};

struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hitem *head, *tail;
    bool stopping;
    handoff_fn *run, *done;
    unsigned n;
    pthread_t th[];
};

static void *worker(void *arg)
{
    struct handoff *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->head && !h->stopping)
            pthread_cond_wait(&h->cv, &h->mu);
        struct hitem *it = h->head;
        if (!it)
            break; /* stopping, and nothing left */
        h->head = it->next;
        if (!h->head)
            h->tail = NULL;
        pthread_mutex_unlock(&h->mu);
        h->run(it->item);
        h->done(it->item);
        free(it);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

struct handoff *handoff_start(unsigned n, handoff_fn *run, handoff_fn *done)
{
    if (n == 0)
        return NULL;
    struct handoff *h = calloc(1, sizeof(*h) + n * sizeof(pthread_t));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->run = run;
    h->done = done;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&h->th[i], NULL, worker, h) != 0)
            break;
        h->n++;
    }
    if (h->n == 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    return h;
}

bool handoff_give(struct handoff *h, void *item)
{
    if (!h)
        return false;
    struct hitem *it = malloc(sizeof(*it));
    if (!it)
        return false;
    it->item = item;
    it->next = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->stopping) {
        pthread_mutex_unlock(&h->mu);
        free(it);
        return false;
    }
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return true;
}

void handoff_stop(struct handoff *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (unsigned i = 0; i < h->n; i++)
        pthread_join(h->th[i], NULL);
    h->n = 0;
}

void handoff_free(struct handoff *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
