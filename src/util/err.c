/* The error struct: formatting client messages and log details. */
#include "roster/err.h"

#include <stdio.h>
#include <string.h>

int roster_err_set(struct roster_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->field = NULL;
    err->detail[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int roster_err_detail(struct roster_err *err, const char *fmt, ...)
{
    if (!err)
        return ROSTER_EIO;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return err->code;
}

void roster_err_clear(struct roster_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->field = NULL;
    err->msg[0] = '\0';
    err->detail[0] = '\0';
}

const char *roster_code_name(int code)
{
    static const char *const names[] = {
        "ok",    "invalid", "not_found", "conflict",  "unauthorized", "forbidden", "too_big",
        "stale", "busy",    "io",        "no_memory", "unsupported",  "quota",
    };
    if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[code];
}
