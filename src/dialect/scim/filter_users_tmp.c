/* TEMPORARY (the lead deletes this file when scimfilter's filter_users.c is merged): a
 * minimal scim_users_filter that understands only `<attr> eq "<value>"` for userName,
 * externalId, id and emails.value, so that /Users lists work before the filter parser. */
#include "dialect/scim/scim.h"

#include <string.h>
#include <strings.h>

int scim_users_filter(struct roster_query *q, const char *filter, struct roster_arena *a,
                      struct roster_err *err)
{
    static const struct roster_qname names[] = {
        {"userName", RU_USERNAME},  {"externalId", RU_EXTERNAL_ID}, {"id", RQ_ID},
        {"emails.value", RU_EMAIL}, {"emails", RU_EMAIL},           {NULL, 0},
    };
    const char *p = filter;
    while (*p == ' ')
        p++;
    const char *attr = p;
    while (*p && *p != ' ')
        p++;
    size_t alen = (size_t)(p - attr);
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "eq ", 3) != 0)
        return roster_err_set(err, ROSTER_EINVAL, "filter \"%.128s\" is not supported", filter);
    p += 3;
    while (*p == ' ')
        p++;
    size_t vlen = strlen(p);
    while (vlen && p[vlen - 1] == ' ')
        vlen--;
    if (vlen < 2 || p[0] != '"' || p[vlen - 1] != '"' || memchr(p + 1, '"', vlen - 2))
        return roster_err_set(err, ROSTER_EINVAL, "filter \"%.128s\" is not supported", filter);
    const struct roster_qname *n = names;
    while (n->name && !(strlen(n->name) == alen && strncasecmp(n->name, attr, alen) == 0))
        n++;
    if (!n->name || q->nfilters == ROSTER_QUERY_MAX_FILTERS)
        return roster_err_set(err, ROSTER_EINVAL, "filter \"%.128s\" is not supported", filter);
    struct roster_qval *v = roster_arena_zalloc(a, sizeof(*v));
    v->s = roster_arena_strndup(a, p + 1, vlen - 2);
    q->filters[q->nfilters++] = (struct roster_filter){n->key, ROSTER_OP_EQ, v, 1};
    return 0;
}
