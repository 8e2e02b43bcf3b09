/* The table of user fields (store column, client-facing label, kind and limit) and the
 * names of user states. Dialects, core and stores map fields through this table instead
 * of code per field. */
#include "roster/user.h"

#include <string.h>

const struct roster_ufield_info roster_ufields[RU_NFIELDS] = {
    [RU_USERNAME] = {"username", "username", RU_KIND_STR, 1024, false},
    [RU_EMAIL] = {"email", "email", RU_KIND_STR, 1024, false},
    [RU_EMPLOYEE_ID] = {"employee_id", "employeeIdentifier", RU_KIND_STR, 256, false},
    [RU_FIRST_NAME] = {"first_name", "firstname", RU_KIND_STR, 1024, false},
    [RU_MIDDLE_NAME] = {"middle_name", "middlename", RU_KIND_STR, 1024, false},
    [RU_LAST_NAME] = {"last_name", "lastname", RU_KIND_STR, 1024, false},
    [RU_DISPLAY_NAME] = {"display_name", "displayname", RU_KIND_STR, 1024, false},
    [RU_DEPARTMENT] = {"department", "department", RU_KIND_STR, 1024, false},
    [RU_COST_CENTER] = {"cost_center", "costCenter", RU_KIND_STR, 1024, false},
    [RU_COMPANY] = {"company", "company", RU_KIND_STR, 1024, false},
    [RU_JOB_TITLE] = {"job_title", "jobTitle", RU_KIND_STR, 1024, false},
    [RU_LOCATION] = {"location", "location", RU_KIND_STR, 1024, false},
    [RU_MANAGER] = {"manager", "manager", RU_KIND_STR, 1024, false},
    [RU_COUNTRY_CODE] = {"country_code", "countryCode", RU_KIND_STR, 8, false},
    [RU_ALTERNATE_EMAIL] = {"alternate_email", "alternateEmail", RU_KIND_STR, 1024, false},
    [RU_DESCRIPTION] = {"description", "description", RU_KIND_STR, 1024, false},
    [RU_EMPLOYEE_TYPE] = {"employee_type", "employeeType", RU_KIND_STR, 1024, false},
    [RU_CUSTOM_DATA] = {"custom_data", "customData", RU_KIND_STR, 65536, false},
    [RU_EXTERNAL_ID] = {"external_id", "externalId", RU_KIND_STR, 1024, true},
    [RU_USER_TYPE] = {"user_type", "userType", RU_KIND_STR, 1024, true},
    [RU_PREFERRED_LANGUAGE] = {"preferred_language", "preferredLanguage", RU_KIND_STR, 256, true},
    [RU_LOCALE] = {"locale", "locale", RU_KIND_STR, 256, true},
    [RU_TIMEZONE] = {"timezone", "timezone", RU_KIND_STR, 256, true},
    [RU_PHONES] = {"phones", "phoneNumbers", RU_KIND_JSON_ARRAY, 0, false},
    [RU_ATTRIBUTES] = {"attributes", "attributes", RU_KIND_JSON_ARRAY, 0, false},
    [RU_ADDRESSES] = {"addresses", "addresses", RU_KIND_JSON_ARRAY, 0, false},
    [RU_EXTRA] = {"extra", "extra", RU_KIND_JSON_OBJECT, 0, false},
};

static const char *const state_names[] = {
    [ROSTER_STAGED] = "STAGED", [ROSTER_ACTIVATED] = "ACTIVATED", [ROSTER_SUSPENDED] = "SUSPENDED"};

const char *roster_state_name(int state)
{
    return ROSTER_ENUM_NAME(state_names, state, "UNKNOWN");
}

int roster_state_parse(const char *s, int *state)
{
    static const char *const names[] = {"STAGED", "ACTIVATED", "SUSPENDED"};
    for (int i = 0; i < 3; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *state = i;
            return 0;
        }
    }
    return -1;
}
