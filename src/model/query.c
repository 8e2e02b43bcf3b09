/* Facts of the query AST (include/roster/query.h) that the store needs as much as core: an
 * empty query and which keys hold integers. The parsers are core's (src/core/query.c).
 */
#include <string.h>

#include "roster/query.h"

void roster_query_init(struct roster_query *q)
{
    memset(q, 0, sizeof(*q));
    q->limit = 10; /* JumpCloud's default page; dialects set their own */
}

bool roster_qkey_is_int(int key)
{
    return key == RQ_NUM_ID || key == RQ_STATE || key == RQ_CREATED || key == RQ_MODIFIED ||
           key == RQ_DUE;
}
