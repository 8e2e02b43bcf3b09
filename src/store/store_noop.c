/* read_begin/read_end that do nothing, for the method table of a backend whose reads each
 * have their own snapshot (store_methods.def, read_begin). Only the tables use them: this
 * file calls nothing and store.c, which calls the tables, does not call it.
 */
#include "roster/store.h"

int roster_store_read_begin_noop(struct roster_conn *c, struct roster_err *err)
{
    (void)c;
    (void)err;
    return 0;
}

void roster_store_read_end_noop(struct roster_conn *c)
{
    (void)c;
}
