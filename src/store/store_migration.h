/* The schema migrations of both backends, embedded at build time: CMakeLists.txt
 * (roster_embed_migrations) turns each src/store/<backend>/schema/NNNN_*.sql into one, in
 * file-name order, the list ended by {NULL, NULL}. The version of a migration is the number
 * its name starts with. Backend-private (include only from src/store/).
 */
#ifndef ROSTER_STORE_MIGRATION_H
#define ROSTER_STORE_MIGRATION_H

struct roster_store_migration {
    const char *name; /* "0001_init" */
    const char *sql;
};
extern const struct roster_store_migration roster_sqlite_migrations[];
extern const struct roster_store_migration roster_pg_migrations[];

#endif
