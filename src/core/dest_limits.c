/* Per-destination send counts of the delivery engine (include/roster/delivery.h): a small
 * table under a mutex. A pool has at most a few dozen workers, each with at most one send
 * under way, so the table holds at most that many keys and a linear scan is the fastest
 * look-up; a key leaves the table when its last send is over.
 */
#include <stdlib.h>
#include <string.h>

#include "roster/delivery.h"

void roster_dest_limits_init(struct roster_dest_limits *l, int limit)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    l->limit = limit > 0 ? limit : 1;
}

void roster_dest_limits_release(struct roster_dest_limits *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    pthread_mutex_destroy(&l->mu);
    memset(l, 0, sizeof(*l));
}

static struct roster_dest_slot *find(struct roster_dest_limits *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

bool roster_dest_limits_enter(struct roster_dest_limits *l, const char *key)
{
    bool ok = true;
    pthread_mutex_lock(&l->mu);
    struct roster_dest_slot *s = find(l, key);
    if (s) {
        ok = s->count < l->limit;
        s->count += ok;
        goto done;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct roster_dest_slot *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            goto done; /* not counted: leave finds nothing */
        l->v = v;
        l->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        goto done;
    l->v[l->n++] = (struct roster_dest_slot){k, 1};
done:
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void roster_dest_limits_leave(struct roster_dest_limits *l, const char *key)
{
    pthread_mutex_lock(&l->mu);
    struct roster_dest_slot *s = find(l, key);
    if (s && --s->count <= 0) {
        free(s->key);
        *s = l->v[--l->n];
    }
    pthread_mutex_unlock(&l->mu);
}

int roster_dest_limits_count(struct roster_dest_limits *l, const char *key)
{
    pthread_mutex_lock(&l->mu);
    struct roster_dest_slot *s = find(l, key);
    int n = s ? s->count : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}
