/* The kinds of bulk job the engine runs (src/core/jobkind.h): one line per kind, and a few
 * slots for kinds registered at run time. */
#include <stddef.h>

#include "core/jobkind.h"

static const struct roster_job_kind_ops *const kinds[] = {
    &roster_job_kind_users_create,
    &roster_job_kind_users_update,
    &roster_job_kind_message,
    &roster_job_kind_import,
};

#define EXTRA_KINDS_MAX 8
static const struct roster_job_kind_ops *extra[EXTRA_KINDS_MAX];
static size_t nextra;

const struct roster_job_kind_ops *roster_job_kind_find(int kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i]->kind == kind)
            return kinds[i];
    for (size_t i = 0; i < nextra; i++)
        if (extra[i]->kind == kind)
            return extra[i];
    return NULL;
}

const struct roster_job_kind_ops *roster_job_kind_at(size_t i)
{
    size_t nbuilt = sizeof(kinds) / sizeof(kinds[0]);
    if (i < nbuilt)
        return kinds[i];
    return i - nbuilt < nextra ? extra[i - nbuilt] : NULL;
}

int roster_job_kind_register(const struct roster_job_kind_ops *k)
{
    if (roster_job_kind_find(k->kind))
        return ROSTER_ECONFLICT;
    if (nextra == EXTRA_KINDS_MAX)
        return ROSTER_ENOMEM;
    extra[nextra++] = k;
    return 0;
}
