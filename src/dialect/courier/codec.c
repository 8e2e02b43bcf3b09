/* Courier's message formats, decoded for core's message jobs (include/roster/msgjob.h): the
 * bulk job definition (InboundBulkMessage, or the legacy shape with a nested send-API
 * "message") and the job's users (InboundBulkMessageUser: optional "to" (object:
 * "user_id", "email", "phone_number", ...), "recipient" (string), "profile" (object),
 * "data" (object) and "preferences" (object)). Values point into the stored text: nothing
 * is unescaped but the few strings roster reads.
 */
#include <string.h>

#include "dialect/courier/courier.h"
#include "roster/jsonr.h"

/* The parts of a definition that a message carries. */
struct courier_def {
    struct roster_jsonr_val obj;
    const char *event, *template, *brand; /* unescaped, or NULL */
    bool has_data, has_nested_data;
    struct roster_jsonr_val data, nested_data; /* objects */
};

/* What a user of a bulk job names. */
struct courier_item {
    struct roster_jsonr_val to, profile, data;
    bool has_to, has_profile, has_data;
};

static bool member_obj(const struct roster_jsonr_val *obj, const char *key,
                       struct roster_jsonr_val *out)
{
    return roster_jsonr_get(obj, key, out) == 1 && out->type == ROSTER_JSONR_OBJECT;
}

/* Checks that member key of obj, if present and not null, has JSON type want. */
static int check_type(const struct roster_jsonr_val *obj, const char *path, const char *key,
                      int want, struct roster_err *err)
{
    struct roster_jsonr_val v;
    int got = roster_jsonr_get(obj, key, &v);
    if (got != 1 || v.type == ROSTER_JSONR_NULL || v.type == want)
        return 0;
    return roster_err_set(err, ROSTER_EINVAL, "%s%s must be %s", path, key,
                          want == ROSTER_JSONR_STRING ? "a string" : "an object");
}

/* Whether obj routes to the webhook channel: routing.channels whose first channel (the one
 * method "single" takes first) is "webhook". */
static bool routes_to_webhook(const struct roster_jsonr_val *obj, struct roster_arena *a)
{
    struct roster_jsonr_val routing, channels, first;
    struct roster_jsonr it;
    if (!member_obj(obj, "routing", &routing) ||
        roster_jsonr_get(&routing, "channels", &channels) != 1 ||
        channels.type != ROSTER_JSONR_ARRAY || roster_jsonr_open(&it, &channels) != 0 ||
        roster_jsonr_next(&it, NULL, &first) != 1 || first.type != ROSTER_JSONR_STRING)
        return false;
    const char *s = NULL;
    return roster_jsonr_str(&first, a, &s, NULL) == 0 && s && strcmp(s, "webhook") == 0;
}

/* The definition (a bulk job's "message"): Courier's InboundBulkMessage, or the legacy shape
 * with a send-API message nested in it. */
static int definition_read(const char *text, size_t len, struct roster_msg_def *out,
                           struct roster_arena *a, struct roster_err *err)
{
    struct courier_def def, *d = &def;
    memset(d, 0, sizeof(*d));
    memset(out, 0, sizeof(*out));
    if (roster_jsonr_parse(text, len, &d->obj) != 0 || d->obj.type != ROSTER_JSONR_OBJECT)
        return roster_err_set(err, ROSTER_EINVAL, "message must be an object");
    static const char *const strs[] = {"event", "template", "brand"};
    static const char *const objs[] = {"data", "locale", "override", "content", "message"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (check_type(&d->obj, "message.", strs[i], ROSTER_JSONR_STRING, err))
            return err->code;
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        if (check_type(&d->obj, "message.", objs[i], ROSTER_JSONR_OBJECT, err))
            return err->code;
    d->event = roster_jsonr_get_str(&d->obj, "event", a);
    d->template = roster_jsonr_get_str(&d->obj, "template", a);
    d->brand = roster_jsonr_get_str(&d->obj, "brand", a);
    d->has_data = member_obj(&d->obj, "data", &d->data);
    struct roster_jsonr_val nested, v;
    bool has_content = member_obj(&d->obj, "content", &v);
    if (has_content) {
        out->content = v;
        out->has_content = true;
    }
    if (member_obj(&d->obj, "message", &nested)) {
        /* the legacy shape: a send-API message nested in the definition */
        if (check_type(&nested, "message.message.", "template", ROSTER_JSONR_STRING, err) ||
            check_type(&nested, "message.message.", "data", ROSTER_JSONR_OBJECT, err) ||
            check_type(&nested, "message.message.", "content", ROSTER_JSONR_OBJECT, err))
            return err->code;
        if (!d->template)
            d->template = roster_jsonr_get_str(&nested, "template", a);
        if (!has_content && member_obj(&nested, "content", &v)) {
            has_content = true;
            out->content = v;
            out->has_content = true;
        }
        d->has_nested_data = member_obj(&nested, "data", &d->nested_data);
        out->webhook = routes_to_webhook(&nested, a);
    }
    if (routes_to_webhook(&d->obj, a))
        out->webhook = true;
    bool named = (d->event && d->event[0]) || (d->template && d->template[0]) || has_content;
    if (!named)
        return roster_err_set(err, ROSTER_EINVAL,
                              "message needs an \"event\", a \"template\" or \"content\" (or a "
                              "nested legacy \"message\" with a \"template\" or \"content\")");
    out->event = d->event;
    out->template = d->template;
    out->brand = d->brand;
    /* the nested legacy message's data first: the definition's own wins */
    if (d->has_nested_data)
        out->data[out->ndata++] = d->nested_data;
    if (d->has_data)
        out->data[out->ndata++] = d->data;
    return 0;
}

/* A member that must have one JSON type (null allowed: "not given"). */
struct typed_member {
    const char *name;
    int type;
};

/* One pass over the members of obj: each member named in want[0..n) must have its type.
 * (One pass, not a look-up per name: ingest checks every user of every request.) */
static int check_members(const struct roster_jsonr_val *obj, const char *path,
                         const struct typed_member *want, size_t n, struct roster_err *err)
{
    struct roster_jsonr it;
    struct roster_jsonr_val key, val;
    if (roster_jsonr_open(&it, obj) != 0)
        return roster_err_set(err, ROSTER_EINVAL, "%s must be an object", path);
    int got;
    while ((got = roster_jsonr_next(&it, &key, &val)) == 1) {
        if (val.type == ROSTER_JSONR_NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (!roster_jsonr_str_eq(&key, want[i].name))
                continue;
            if (val.type != want[i].type)
                return roster_err_set(
                    err, ROSTER_EINVAL, "%s%s%s must be %s", path, path[0] ? "." : "", want[i].name,
                    want[i].type == ROSTER_JSONR_STRING ? "a string" : "an object");
            static const struct typed_member addr[] = {{"email", ROSTER_JSONR_STRING},
                                                       {"phone_number", ROSTER_JSONR_STRING},
                                                       {"user_id", ROSTER_JSONR_STRING},
                                                       {"list_id", ROSTER_JSONR_STRING}};
            /* the members of profile and to that run reads */
            if (!path[0] && strcmp(want[i].name, "profile") == 0 &&
                check_members(&val, "profile", addr, 2, err))
                return err->code;
            if (!path[0] && strcmp(want[i].name, "to") == 0 &&
                check_members(&val, "to", addr, 4, err))
                return err->code;
            break;
        }
    }
    if (got < 0)
        return roster_err_set(err, ROSTER_EINVAL, "%s is not valid JSON", path[0] ? path : "user");
    return 0;
}

int courier_item_check(const char *json, size_t len, struct roster_err *err)
{
    static const struct typed_member top[] = {
        {"recipient", ROSTER_JSONR_STRING},   {"profile", ROSTER_JSONR_OBJECT},
        {"to", ROSTER_JSONR_OBJECT},          {"data", ROSTER_JSONR_OBJECT},
        {"preferences", ROSTER_JSONR_OBJECT},
    };
    struct roster_jsonr_val item;
    if (roster_jsonr_parse(json, len, &item) != 0 || item.type != ROSTER_JSONR_OBJECT)
        return roster_err_set(err, ROSTER_EINVAL, "a user must be an object");
    return check_members(&item, "", top, sizeof(top) / sizeof(top[0]), err);
}

/* One pass over the item's members (the last of a repeated name wins, as in jansson). */
static void read_item(const struct roster_jsonr_val *obj, struct roster_msg_input *out,
                      struct roster_arena *a)
{
    struct courier_item item, *p = &item;
    memset(p, 0, sizeof(*p));
    memset(out, 0, sizeof(*out));
    struct roster_jsonr it;
    struct roster_jsonr_val key, val, recipient = {0};
    if (obj->type != ROSTER_JSONR_OBJECT || roster_jsonr_open(&it, obj) != 0)
        return;
    out->readable = true;
    while (roster_jsonr_next(&it, &key, &val) == 1) {
        bool isobj = val.type == ROSTER_JSONR_OBJECT;
        if (roster_jsonr_str_eq(&key, "to")) {
            p->has_to = isobj;
            p->to = val;
        } else if (roster_jsonr_str_eq(&key, "profile")) {
            p->has_profile = isobj;
            p->profile = val;
        } else if (roster_jsonr_str_eq(&key, "data")) {
            p->has_data = isobj;
            p->data = val;
        } else if (roster_jsonr_str_eq(&key, "recipient")) {
            recipient = val;
        }
    }
    const char *k = p->has_to ? roster_jsonr_get_str(&p->to, "user_id", a) : NULL;
    if ((!k || !k[0]) && recipient.type == ROSTER_JSONR_STRING)
        roster_jsonr_str(&recipient, a, &k, NULL);
    out->key = k && k[0] ? k : NULL;
    const char *list = p->has_to ? roster_jsonr_get_str(&p->to, "list_id", a) : NULL;
    out->list_id = list && list[0] ? list : NULL;
    /* the recipient: the directory's profile, then the item's profile, then its "to" */
    if (p->has_profile)
        out->to[out->nto++] = p->profile;
    if (p->has_to)
        out->to[out->nto++] = p->to;
    out->data = p->data;
    out->has_data = p->has_data;
}

const struct roster_msg_codec courier_msg_codec = {
    "courier",
    definition_read,
    courier_item_check,
    read_item,
    "no recipient: give to.user_id or recipient (a user of the directory), or an email or "
    "phone_number in profile or to",
};
