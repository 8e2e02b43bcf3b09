/* The schema migrations of both backends, embedded at build time: CMakeLists.txt
 * (roster_embed_migrations) turns each src/store/<backend>/schema/NNNN_*.sql into one, in
 * file-name order, the list ended by {NULL, NULL}. The version of a migration is the number
 * its name starts with. Backend-private (include only from src/store/).
 */
#ifndef ROSTER_STORE_MIGRATION_H
#define ROSTER_STORE_MIGRATION_H

#include <stdint.h>

#include "roster/err.h"

struct roster_store_migration {
    const char *name; /* "0001_init" */
    const char *sql;
};
extern const struct roster_store_migration roster_sqlite_migrations[];
extern const struct roster_store_migration roster_pg_migrations[];

/* Applies, in order, the migrations of list (ended by {NULL, NULL}) newer than a store's
 * schema version current: apply(ctx, m, its version) runs one and records it. 0, or the
 * failure of one (the caller rolls back its transaction); ROSTER_EIO when current is newer
 * than every migration of list (a newer roster made the store), before applying any.
 * (store_migrate.c) */
int roster_store_migrate(const struct roster_store_migration *list, int64_t current,
                         int (*apply)(void *ctx, const struct roster_store_migration *m,
                                      int64_t version, struct roster_err *err),
                         void *ctx, struct roster_err *err);

#endif
