/* The HTTP side of `roster import --url`: a JumpCloud bulk job per batch of users
 * (POST /api/v2/bulk/users) and its results (GET /api/v2/bulk/users/{job}/results), with
 * libcurl. src/cli/import.c drives it.
 */
#ifndef ROSTER_CLI_IMPORT_REMOTE_H
#define ROSTER_CLI_IMPORT_REMOTE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct roster_remote;

/* A client of the server at url (http or https, without a trailing path) with the API
 * key; org: sent as x-org-id, or NULL. NULL when out of memory. */
struct roster_remote *roster_remote_open(const char *url, const char *key, const char *org);
void roster_remote_close(struct roster_remote *r);

/* Submits body (a JSON array of bulk-user-create objects): 0 and the job id, or -1 with
 * msg (the HTTP status and the server's message). */
int roster_remote_submit(struct roster_remote *r, const char *body, size_t len, char *job_id,
                         size_t id_cap, char *msg, size_t msg_cap);

/* The results [skip, skip + limit) of job_id (limit <= 100): 0 and the JSON array in
 * *out (json_decref it), or -1 with msg. */
int roster_remote_results(struct roster_remote *r, const char *job_id, int64_t skip, int64_t limit,
                          json_t **out, char *msg, size_t msg_cap);

#endif
