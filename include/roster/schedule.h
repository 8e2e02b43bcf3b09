/* Scheduled user state changes and the message outbox.
 *
 * A schedule is one durable "set user U to state S at time T" (JumpCloud
 * /bulk/userstates): created pending, then exactly once either applied or failed by the
 * scheduler (through the same core path as every user update), or cancelled by the client.
 * The scheduler leases due schedules like job chunks, and writes the user update, the
 * schedule's outcome and any activation e-mail in one transaction that is refused if the
 * lease was lost, so a change is applied once whichever process runs it.
 *
 * The outbox (struct roster_message) holds every message roster sends: activation e-mails
 * recorded by the scheduler, the messages of Courier bulk jobs and webhook events. The
 * delivery engine (include/roster/delivery.h, docs/delivery.md) reads it and records each
 * message's outcome there.
 */
#ifndef ROSTER_SCHEDULE_H
#define ROSTER_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/util.h"

struct roster_webhook;

enum roster_sched_status {
    ROSTER_SCHED_PENDING = 0,
    ROSTER_SCHED_APPLIED = 1,
    ROSTER_SCHED_FAILED = 2,    /* e.g. the user was deleted before the due time */
    ROSTER_SCHED_CANCELLED = 3, /* deleted by the client while pending */
};
const char *roster_sched_status_name(int status); /* "pending", "applied", "failed", "cancelled" */

#define ROSTER_MESSAGE_ID_MAX 64

struct roster_schedule {
    char id[ROSTER_ID_LEN + 1]; /* scheduledJobId */
    char org_id[ROSTER_ID_LEN + 1];
    char user_id[ROSTER_ID_LEN + 1]; /* systemUserId */
    int state;                       /* ROSTER_ACTIVATED or ROSTER_SUSPENDED */
    int64_t due_ms;                  /* scheduledDate */
    bool send_activation_email;
    const char *email_override; /* activation_email_override, or NULL */
    int status;                 /* enum roster_sched_status */
    int64_t created_ms;
    int64_t done_ms;     /* when applied/failed/cancelled; 0 while pending */
    const char *outcome; /* "" while pending; what happened ("user state set to ACTIVATED",
                            or the failure naming the user) */
    char message_id[ROSTER_MESSAGE_ID_MAX]; /* the activation e-mail's outbox id, or "" */
    int64_t lease_token; /* set by schedule_claim_due, checked by schedule_finish */
};

struct roster_message {
    char id[ROSTER_MESSAGE_ID_MAX]; /* Courier-style "1-<8 hex>-<24 hex>"; assigned if empty */
    char org_id[ROSTER_ID_LEN + 1];
    const char *kind;         /* "activation_email", "bulk_message", ... */
    const char *channel;      /* delivery channel: "email" when NULL, or "webhook" */
    const char *source_id;    /* the schedule or bulk job that made it, or NULL */
    const char *user_id;      /* directory user it is for, or NULL */
    const char *recipient;    /* address or recipient JSON as text */
    const char *content_json; /* JSON object: what would be sent (template/event, data) */
    const char *status;       /* "ENQUEUED" when created, then "SENT" or "UNDELIVERABLE" */
    int64_t created_ms;
    /* delivery (src/core/delivery.c): read by message_get and message_claim, ignored by
     * the creating methods */
    int64_t sent_ms;     /* SENT: when the relay accepted it; else 0 */
    int64_t attempts;    /* delivery attempts whose outcome was recorded */
    const char *reason;  /* the last failure (UNDELIVERABLE: why), or NULL */
    int64_t lease_token; /* message_claim: the claim, checked by message_record */
    /* kind "webhook": its endpoint (url, secret), filled by core after the claim; NULL
     * when the endpoint is gone (src/core/webhooks.c) */
    const struct roster_webhook *webhook;
    int64_t due_ms; /* ENQUEUED: not claimed before this (message_list fills it) */
};

/* The outcome of one delivery attempt of a claimed message (store method message_record). */
struct roster_message_outcome {
    const char *id;      /* the message */
    int64_t lease_token; /* of its claim: the outcome is dropped if the claim was lost */
    const char *status;  /* "SENT", "UNDELIVERABLE", or "ENQUEUED" to try again */
    int64_t at_ms;       /* SENT: when; else ignored */
    int64_t due_ms;      /* ENQUEUED: not claimed again before this */
    const char *reason;  /* the failure, or NULL */
    bool attempted;      /* counts as an attempt (false: handed back untried) */
};

/* Writes a new Courier-style message id ("1-" + 8 hex seconds + "-" + 24 random hex). */
void roster_message_id_new(char out[ROSTER_MESSAGE_ID_MAX]);

/* --- core operations (src/core/scheduler.c) --- */

struct roster_app;
struct roster_ctx;
struct roster_conn;
struct roster_arena;
struct roster_err;
struct roster_scheduler;

/* Schedules s[0..n) for ctx's organisation, all or nothing: every user must exist in the
 * organisation (ROSTER_EINVAL naming the first unknown id otherwise), the state must be
 * ACTIVATED or SUSPENDED. Fills ids and created_ms, then wakes the scheduler. */
int roster_schedule_submit(struct roster_ctx *ctx, struct roster_schedule *s, size_t n,
                           struct roster_err *err);

/* Applies up to max schedules due at now_ms on conn, each with its user update and outcome
 * in the same transaction; *done = how many were finished (applied or failed). Exposed for
 * tests; the scheduler thread calls it in a loop. */
int roster_scheduler_run_due(struct roster_conn *conn, int64_t now_ms, size_t max,
                             struct roster_arena *a, size_t *done, struct roster_err *err);

/* The scheduler thread: applies due changes as soon as they are due (it sleeps until the
 * next due time, or until notified of new schedules). */
int roster_scheduler_start(struct roster_app *app, struct roster_scheduler **out,
                           struct roster_err *err);
void roster_scheduler_notify(struct roster_scheduler *s); /* s may be NULL */
void roster_scheduler_stop(struct roster_scheduler *s);   /* finishes the current batch */

#endif
