/* PostgreSQL store: the reader of a users row, shared by the user methods (pg_users.c) and
 * the list reads and change records (pg_lists.c), which both call here and not each other.
 */
#include <stdio.h>
#include <string.h>

#include "store/postgres/pg_int.h"

void pg_read_user(const PGresult *r, int row, int col, const char *org_id, struct roster_user *u,
                  struct roster_arena *a)
{
    memset(u, 0, sizeof(*u));
    u->num_id = pg_col_int(r, row, col++);
    pg_col_id(r, row, col++, u->id);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        u->f[i] = pg_col_str(r, row, col++, a);
    u->state = (int)pg_col_int(r, row, col++);
    u->created_ms = pg_col_int(r, row, col++);
    u->modified_ms = pg_col_int(r, row, col++);
    u->version = pg_col_int(r, row, col);
}
