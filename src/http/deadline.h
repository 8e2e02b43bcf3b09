/* Header and body deadlines per connection (see deadline.c). */
#ifndef ROSTER_HTTP_DEADLINE_H
#define ROSTER_HTTP_DEADLINE_H

enum roster_deadline_phase {
    ROSTER_DEADLINE_HEADERS, /* waiting for a request's headers */
    ROSTER_DEADLINE_BODY,    /* headers in, waiting for the body */
    ROSTER_DEADLINE_NONE,    /* handling and answering: only the idle timeout applies */
};

/* A server starts using deadlines (the first starts the sweeper thread); 0 or an errno
 * value. Each start is paired with a stop (the last stops the thread). */
int roster_deadline_start(void);
void roster_deadline_stop(void);
/* A new connection on socket fd with its server's timeouts: its record (the headers
 * deadline running), or NULL. */
void *roster_deadline_open(int fd, int header_timeout_s, int body_timeout_s);
void roster_deadline_close(void *ctx);
/* The connection's thread moves its request to phase (ctx may be NULL). */
void roster_deadline_set(void *ctx, enum roster_deadline_phase phase);

#endif
