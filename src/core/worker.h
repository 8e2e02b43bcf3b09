/* Private to src/core: what the background threads (job engine, scheduler) share. */
#ifndef ROSTER_CORE_WORKER_H
#define ROSTER_CORE_WORKER_H

#include "roster/core.h"
#include "roster/log.h"
#include "roster/schedule.h"

/* The thread's own connection to app's store, or NULL after logging `failure` (which says
 * whose connection it is). */
static inline struct roster_conn *core_worker_conn(struct roster_app *app, const char *failure)
{
    struct roster_err err = {0};
    struct roster_conn *conn = NULL;
    if (roster_conn_open(app->store, &conn, &err) != 0) {
        roster_log(ROSTER_LOG_ERROR, failure, "detail=\"%s\"", err.detail);
        return NULL;
    }
    return conn;
}

/* The outbox (src/core/outbox.c): core writes messages only through core_outbox_add
 * (message_create for one, message_create_many for several, inside the caller's
 * transaction), and whoever ends such a transaction calls core_outbox_end (true: it
 * committed), which wakes the delivery workers when the thread wrote messages. */
int core_outbox_add(struct roster_conn *conn, struct roster_message *m, size_t n,
                    struct roster_err *err);
void core_outbox_end(bool committed);

#endif
