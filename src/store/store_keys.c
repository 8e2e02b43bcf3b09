/* Facts and checks shared by the SQLite and PostgreSQL backends (see store_keys.h). */
#include "store/store_keys.h"

#include <string.h>

#include "roster/query.h"
#include "roster/schedule.h"

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

const char *roster_store_sched_column(int key)
{
    switch (key) {
    case RQ_ID:
        return "id";
    case RQ_USER_ID:
        return "user_id";
    case RQ_STATE:
        return "state";
    case RQ_DUE:
        return "due_ms";
    default:
        return NULL;
    }
}

void roster_store_sched_stored(struct roster_schedule *s, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        s[i].status = ROSTER_SCHED_PENDING;
        s[i].created_ms = now;
        s[i].done_ms = 0;
        s[i].outcome = "";
        s[i].message_id[0] = '\0';
        s[i].lease_token = 0;
    }
}

int roster_store_messages_ids(struct roster_message *m, size_t n, bool *made,
                              struct roster_err *err)
{
    int code = roster_store_messages_check(m, n, err);
    for (size_t i = 0; !code && i < n; i++) {
        made[i] = !m[i].id[0];
        if (made[i])
            roster_message_id_new(m[i].id);
    }
    return code;
}

void roster_store_messages_done(struct roster_message *m, size_t n, const bool *made, int code,
                                int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        if (code && made[i])
            m[i].id[0] = '\0';
        if (!code) {
            m[i].status = m[i].status ? m[i].status : "ENQUEUED";
            m[i].created_ms = now;
        }
    }
}

int roster_store_changes_want(int64_t since, int64_t until, int64_t keep,
                              struct roster_change **out, size_t *n, size_t *want,
                              struct roster_err *err)
{
    *out = NULL;
    *n = 0;
    *want = until > since ? (size_t)(until - since) : 0;
    if (until > since && until - since > keep)
        return roster_err_set(err, ROSTER_ESTALE, "list changes since %lld are not kept",
                              (long long)since);
    return 0;
}

int roster_store_messages_check(const struct roster_message *m, size_t n, struct roster_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!m[i].kind || !m[i].kind[0])
            return roster_err_set(err, ROSTER_EINVAL, "message kind is missing");
        if (strcmp(m[i].org_id, m[0].org_id) != 0)
            return roster_err_set(err, ROSTER_EINVAL, "messages of one call need one organization");
    }
    return 0;
}
