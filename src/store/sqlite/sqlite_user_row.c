/* SQLite store: the users table's rows. The cached users statements, whose SQL is built
 * from roster_ufields[] (one column per field), and the reader of a users row: shared by
 * the user methods (sqlite_users.c) and the list reads and change records
 * (sqlite_lists.c), which both call here and not each other.
 */
#include <stdio.h>
#include <string.h>

#include "roster/util.h"
#include "store/sqlite/sqlite_int.h"

/* result columns of USER_SELECT */
enum {
    UC_NUM_ID = 0,
    UC_ID = 1,
    UC_ORG_NUM = 2,
    UC_FIELDS = 3, /* RU_NFIELDS columns */
    UC_STATE = UC_FIELDS + RU_NFIELDS,
    UC_CREATED,
    UC_MODIFIED,
    UC_VERSION,
};

static void add_columns(struct roster_buf *b)
{
    roster_buf_addstr(b, "num_id, id, org_num");
    for (int i = 0; i < RU_NFIELDS; i++)
        roster_buf_printf(b, ", %s", roster_ufields[i].column);
    roster_buf_addstr(b, ", state, created_ms, modified_ms, version");
}

/* Appends the SQL of the users statement id (built from roster_ufields[]) to b. */
static void users_sql(int id, struct roster_buf *b)
{
    switch (id) {
    case SQ_USER_INSERT:
        roster_buf_addstr(b, "INSERT INTO users (id, org_num");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", %s", roster_ufields[i].column);
        roster_buf_addstr(b, ", state, created_ms, modified_ms, version) VALUES (?1, ?2");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, ", ?%d", UP_FIELDS + i);
        roster_buf_printf(b, ", ?%d, ?%d, ?%d, 1)", UP_STATE, UP_TIME, UP_TIME);
        break;
    case SQ_USER_GET:
        roster_buf_addstr(b, "SELECT ");
        add_columns(b);
        roster_buf_addstr(b, " FROM users WHERE org_num = ?1 AND id = ?2");
        break;
    case SQ_USER_BY_NUM:
        roster_buf_addstr(b, "SELECT ");
        add_columns(b);
        roster_buf_addstr(b, " FROM users WHERE num_id = ?1 AND org_num = ?2");
        break;
    case SQ_USER_UPDATE:
        roster_buf_addstr(b, "UPDATE users SET ");
        for (int i = 0; i < RU_NFIELDS; i++)
            roster_buf_printf(b, "%s = ?%d, ", roster_ufields[i].column, UP_FIELDS + i);
        roster_buf_printf(b,
                          "state = ?%d, modified_ms = ?%d, version = version + 1"
                          " WHERE org_num = ?2 AND id = ?1 AND version = ?%d"
                          " RETURNING num_id, created_ms, version",
                          UP_STATE, UP_TIME, UP_VERSION);
        break;
    case SQ_USER_UPDATE_STATE:
        /* a change of state alone leaves every index but none untouched */
        roster_buf_printf(b,
                          "UPDATE users SET state = ?%d, modified_ms = ?%d, version = version + 1"
                          " WHERE org_num = ?2 AND id = ?1 AND version = ?%d"
                          " RETURNING num_id, created_ms, version",
                          UP_STATE, UP_TIME, UP_VERSION);
        break;
    default:
        break;
    }
}

sqlite3_stmt *sq_user_stmt(struct sq_conn *c, int id, struct roster_err *err)
{
    return sq_stmt_built(c, id, users_sql, err);
}

void sq_read_user(sqlite3_stmt *s, int col, const char *org_id, struct roster_user *u,
                  struct roster_arena *a)
{
    memset(u, 0, sizeof(*u));
    u->num_id = sqlite3_column_int64(s, col + UC_NUM_ID);
    sq_col_id(s, col + UC_ID, u->id);
    snprintf(u->org_id, sizeof(u->org_id), "%s", org_id);
    for (int i = 0; i < RU_NFIELDS; i++)
        u->f[i] = sq_col_str(s, col + UC_FIELDS + i, a);
    u->state = sqlite3_column_int(s, col + UC_STATE);
    u->created_ms = sqlite3_column_int64(s, col + UC_CREATED);
    u->modified_ms = sqlite3_column_int64(s, col + UC_MODIFIED);
    u->version = sqlite3_column_int64(s, col + UC_VERSION);
}
