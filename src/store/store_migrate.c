/* The order of a store's schema migrations, shared by both backends (see
 * store_migration.h). */
#include <stdlib.h>

#include "store/store_migration.h"

int roster_store_migrate(const struct roster_store_migration *list, int64_t current,
                         int (*apply)(void *ctx, const struct roster_store_migration *m,
                                      int64_t version, struct roster_err *err),
                         void *ctx, struct roster_err *err)
{
    int64_t newest = 0;
    for (const struct roster_store_migration *m = list; m->name; m++) {
        int64_t v = strtoll(m->name, NULL, 10);
        newest = v > newest ? v : newest;
    }
    if (current > newest)
        return roster_err_set(err, ROSTER_EIO,
                              "store schema version %lld is newer than this roster (%lld)",
                              (long long)current, (long long)newest);
    for (const struct roster_store_migration *m = list; m->name; m++) {
        int64_t v = strtoll(m->name, NULL, 10);
        int code = v > current ? apply(ctx, m, v, err) : 0;
        if (code)
            return code;
    }
    return 0;
}
