/* The webhook channel of outbox delivery (src/channel/webhook.c, docs/webhooks.md). */
#ifndef ROSTER_WEBHOOK_CHANNEL_H
#define ROSTER_WEBHOOK_CHANNEL_H

#include "roster/err.h"

#define ROSTER_WEBHOOK_SESSIONS_DEFAULT 8
/* messages a webhook worker claims and records at once: one store commit for the claim and
 * one for the outcomes of 64 POSTs (bench/delivery --webhooks) */
#define ROSTER_WEBHOOK_BATCH 64

struct roster_webhook_config {
    int sessions;   /* concurrent POSTs (one worker and one curl handle each); 0: default */
    long timeout_s; /* per request, connecting (at most 10 s) included; 0: 30 */
};

/* Registers the channel (roster_channel_register). Call once, before any thread starts
 * (it initialises libcurl). cfg must outlive the delivery engine. */
int roster_webhook_channel_init(const struct roster_webhook_config *cfg, struct roster_err *err);

#endif
