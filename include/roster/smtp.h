/* The SMTP e-mail channel of outbox delivery (src/channel/smtp.c, docs/delivery.md). */
#ifndef ROSTER_SMTP_H
#define ROSTER_SMTP_H

#include <stdbool.h>

#include "roster/err.h"

#define ROSTER_SMTP_SESSIONS_DEFAULT 4

struct roster_smtp_config {
    const char *url;  /* smtp://[user:pass@]host[:port] or smtps://...; kept, not copied */
    const char *from; /* the sender address (envelope and From) */
    bool require_tls; /* smtp://: refuse to send without STARTTLS */
    int sessions;     /* concurrent SMTP sessions; 0: ROSTER_SMTP_SESSIONS_DEFAULT */
    long timeout_s;   /* per message, connecting included; 0: 60 */
};

/* Checks cfg (ROSTER_EINVAL naming what is wrong: the URL's scheme, the sender address)
 * and registers the channel (roster_channel_register). Call once, before any thread
 * starts (it initialises libcurl). cfg must outlive the delivery engine. */
int roster_smtp_channel_init(const struct roster_smtp_config *cfg, struct roster_err *err);

#endif
