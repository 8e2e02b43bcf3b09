/* The Courier dialect: bulk message jobs (/bulk, /bulk/{job_id}, /bulk/{job_id}/run,
 * /bulk/{job_id}/users) and outbox messages (/messages/{message_id}), as Courier's official
 * client @trycourier/courier sends them. Decodes Courier JSON into core message-job calls
 * (include/roster/job.h) and encodes the results in Courier's shapes; never touches SQL,
 * never decides business rules. docs/courier.md describes the dialect.
 */
#ifndef ROSTER_DIALECT_COURIER_H
#define ROSTER_DIALECT_COURIER_H

#include <stdint.h>

#include "roster/http.h"

extern const struct roster_dialect roster_courier_dialect;

/* Items per page of GET /bulk/{job_id}/users (Courier does not document its own). */
#define COURIER_USERS_PAGE 100

/* Cursors of GET /bulk/{job_id}/users: an opaque, integrity-checked token naming a job and
 * the index of the next item (base64url of a version byte, the index, the job id and a
 * 48-bit SHA-256 check over them). Items are only ever appended to a job, so a cursor means
 * the same position however the job changes. */
#define COURIER_CURSOR_MAX 64
void courier_cursor_encode(const char *job_id, int64_t index, char out[COURIER_CURSOR_MAX]);
/* 0 and the job id and index, or -1 when s is not a cursor roster wrote (malformed, or
 * changed in any way). */
int courier_cursor_decode(const char *s, char job_id[ROSTER_ID_LEN + 1], int64_t *index);

/* Courier's bulk job definition and users as message-job input (codec.c) */
extern const struct roster_msg_codec courier_msg_codec;
/* Checks one user of a bulk job, json[0..len): ROSTER_EINVAL naming the member when it is
 * not an object or a member roster reads has the wrong type. */
int courier_item_check(const char *json, size_t len, struct roster_err *err);

/* Handlers (bulk.c, messages.c) */
void courier_bulk_create(struct roster_req *r);
void courier_bulk_add_users(struct roster_req *r);
void courier_bulk_run(struct roster_req *r);
void courier_bulk_get(struct roster_req *r);
void courier_bulk_users(struct roster_req *r);
void courier_message_get(struct roster_req *r);

#endif
