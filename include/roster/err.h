/* Error codes and the error struct every fallible roster function fills.
 * A function returns 0 on success or one of the ROSTER_E* codes, and writes a
 * message for the client (msg) and an optional detail for the log (detail).
 * Codes are mapped to HTTP statuses and vendor bodies only at the edges (dialects).
 */
#ifndef ROSTER_ERR_H
#define ROSTER_ERR_H

#include <stdarg.h>

enum roster_code {
    ROSTER_OK = 0,
    ROSTER_EINVAL = 1,    /* bad input: the message names the field and value */
    ROSTER_ENOTFOUND = 2, /* object missing or belongs to another organisation */
    ROSTER_ECONFLICT = 3, /* uniqueness violated (username, email, employee id) */
    ROSTER_EAUTH = 4,     /* missing or unknown credential */
    ROSTER_EFORBIDDEN = 5,
    ROSTER_ETOOBIG = 6, /* body or list over its limit */
    ROSTER_ESTALE = 7,  /* a lease or version no longer held */
    ROSTER_EBUSY = 8,   /* store busy; safe to retry */
    ROSTER_EIO = 9,     /* store or system failure */
    ROSTER_ENOMEM = 10,
    ROSTER_EUNSUPPORTED = 11,
    ROSTER_EQUOTA = 12, /* an organisation's quota is used up (open bulk jobs, pending items) */
};

#define ROSTER_ERR_MSG_MAX 512
#define ROSTER_ERR_DETAIL_MAX 512

struct roster_err {
    int code;
    /* for conflicts: the field that collided ("username", "email", "employeeIdentifier") */
    const char *field;
    char msg[ROSTER_ERR_MSG_MAX];       /* lower case, no trailing period, safe for clients */
    char detail[ROSTER_ERR_DETAIL_MAX]; /* for the log only */
};

/* Sets err->code and formats err->msg; returns code so callers can `return roster_err_set(...)`.
 * err may be NULL. */
int roster_err_set(struct roster_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats err->detail (log-only text); returns err->code. */
int roster_err_detail(struct roster_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void roster_err_clear(struct roster_err *err);
const char *roster_code_name(int code);

#endif
