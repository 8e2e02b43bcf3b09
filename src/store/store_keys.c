/* Query-key facts shared by the SQLite and PostgreSQL backends (see store_keys.h). */
#include "store/store_keys.h"

#include "roster/query.h"

const char *roster_store_user_column(int key)
{
    if (key >= 0 && key < RU_NFIELDS)
        return roster_ufields[key].column;
    switch (key) {
    case RQ_ID:
        return "id";
    case RQ_NUM_ID:
        return "num_id";
    case RQ_STATE:
        return "state";
    case RQ_CREATED:
        return "created_ms";
    case RQ_MODIFIED:
        return "modified_ms";
    default:
        return NULL;
    }
}

int roster_store_not_filterable(int key, const char *what, struct roster_err *err)
{
    const char *name = key == RQ_NUM_ID     ? "numeric id"
                       : key == RQ_CREATED  ? "created"
                       : key == RQ_MODIFIED ? "modified"
                                            : NULL;
    if (key >= 0 && key < RU_NFIELDS)
        name = roster_ufields[key].label;
    if (name)
        return roster_err_set(err, ROSTER_EINVAL, "field \"%s\" is not filterable on %s", name,
                              what);
    return roster_err_set(err, ROSTER_EINVAL, "field %d is not filterable", key);
}
