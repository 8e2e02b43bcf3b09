/* Unit tests of the enum names that the dialects print (roster_enum_name and its users):
 * every value's name, and the fallback for values out of range or without a name.
 */
#include "roster/job.h"
#include "roster/schedule.h"
#include "roster/user.h"
#include "roster/util.h"
#include "test.h"

int main(void)
{
    static const char *const names[] = {[0] = "zero", [2] = "two"};
    CHECK_EQ_STR(ROSTER_ENUM_NAME(names, 0, "?"), "zero");
    CHECK_EQ_STR(ROSTER_ENUM_NAME(names, 1, "?"), "?"); /* no name */
    CHECK_EQ_STR(ROSTER_ENUM_NAME(names, 2, "?"), "two");
    CHECK_EQ_STR(ROSTER_ENUM_NAME(names, 3, "?"), "?");
    CHECK_EQ_STR(ROSTER_ENUM_NAME(names, -1, "?"), "?");

    CHECK_EQ_STR(roster_state_name(ROSTER_STAGED), "STAGED");
    CHECK_EQ_STR(roster_state_name(ROSTER_ACTIVATED), "ACTIVATED");
    CHECK_EQ_STR(roster_state_name(ROSTER_SUSPENDED), "SUSPENDED");
    CHECK_EQ_STR(roster_state_name(7), "UNKNOWN");
    CHECK_EQ_STR(roster_state_name(-1), "UNKNOWN");

    CHECK_EQ_STR(roster_sched_status_name(ROSTER_SCHED_PENDING), "pending");
    CHECK_EQ_STR(roster_sched_status_name(ROSTER_SCHED_APPLIED), "applied");
    CHECK_EQ_STR(roster_sched_status_name(ROSTER_SCHED_FAILED), "failed");
    CHECK_EQ_STR(roster_sched_status_name(ROSTER_SCHED_CANCELLED), "cancelled");
    CHECK_EQ_STR(roster_sched_status_name(4), "unknown");

    CHECK_EQ_STR(roster_item_status_name(ROSTER_ITEM_PENDING), "pending");
    CHECK_EQ_STR(roster_item_status_name(ROSTER_ITEM_SUCCEEDED), "succeeded");
    CHECK_EQ_STR(roster_item_status_name(ROSTER_ITEM_FAILED), "failed");
    CHECK_EQ_STR(roster_item_status_name(9), "pending");
    return test_finish();
}
