/* The kinds of bulk job the engine runs (src/core/jobkind.h): one line per kind. */
#include <stddef.h>

#include "core/jobkind.h"

static const struct roster_job_kind_ops *const kinds[] = {
    &roster_job_kind_users_create,
    &roster_job_kind_users_update,
    &roster_job_kind_message,
};

const struct roster_job_kind_ops *roster_job_kind_find(int kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i]->kind == kind)
            return kinds[i];
    return NULL;
}
