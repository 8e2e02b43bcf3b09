/* Small helpers of scheduled state changes and the message outbox (include/roster/schedule.h):
 * status names and Courier-style message ids.
 */
#include <stdio.h>

#include "roster/schedule.h"
#include "roster/util.h"

const char *roster_sched_status_name(int status)
{
    switch (status) {
    case ROSTER_SCHED_PENDING:
        return "pending";
    case ROSTER_SCHED_APPLIED:
        return "applied";
    case ROSTER_SCHED_FAILED:
        return "failed";
    case ROSTER_SCHED_CANCELLED:
        return "cancelled";
    default:
        return "unknown";
    }
}

void roster_message_id_new(char out[ROSTER_MESSAGE_ID_MAX])
{
    unsigned char rnd[12];
    char hex[2 * sizeof(rnd) + 1];
    roster_random(rnd, sizeof(rnd));
    roster_hex(rnd, sizeof(rnd), hex);
    /* "1-" + 8 hex digits of the unix seconds + "-" + 24 random hex: 35 chars */
    snprintf(out, ROSTER_MESSAGE_ID_MAX, "1-%08x-%s", (unsigned)(roster_now_ms() / 1000), hex);
}
