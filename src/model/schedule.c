/* Small helpers of scheduled state changes and the message outbox (include/roster/schedule.h):
 * status names and Courier-style message ids.
 */
#include <stdio.h>

#include "roster/schedule.h"
#include "roster/util.h"

static const char *const sched_status_names[] = {[ROSTER_SCHED_PENDING] = "pending",
                                                 [ROSTER_SCHED_APPLIED] = "applied",
                                                 [ROSTER_SCHED_FAILED] = "failed",
                                                 [ROSTER_SCHED_CANCELLED] = "cancelled"};

const char *roster_sched_status_name(int status)
{
    return ROSTER_ENUM_NAME(sched_status_names, status, "unknown");
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
