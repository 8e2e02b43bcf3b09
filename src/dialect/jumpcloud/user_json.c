/* The JumpCloud user codec: decodes bulk-user-create, bulk-user-update, systemuserputpost
 * and systemuserput objects into core users or patches, and encodes core users as
 * systemuserreturn. Shared by the v1 handlers (systemusers.c) and the v2 bulk jobs (job
 * codec "jumpcloud"). docs/jumpcloud.md ("v1 system users") describes the mapping.
 */
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/jsonutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* JSON types of the JumpCloud fields kept verbatim in the extra object */
enum xtype { X_BOOL, X_STR, X_TIME, X_INT, X_OBJ, X_ARR, X_OBJ_OR_ARR };

#define X_DECODE 0x1u /* accepted from request bodies (else only ever returned) */

/* Fields of systemuserreturn that roster keeps in the extra object (or only returns), with
 * the value returned when the user has none (NULL: the key is left out). */
static const struct xfield {
    const char *name;
    int type; /* enum xtype */
    unsigned flags;
    const char *dflt; /* JSON text */
} xfields[] = {
    {"account_locked", X_BOOL, X_DECODE, "false"},
    {"account_locked_date", X_STR, 0, "null"},
    {"allow_public_key", X_BOOL, X_DECODE, "true"},
    {"badLoginAttempts", X_INT, 0, "0"},
    {"creationSource", X_STR, 0, NULL},
    {"delegatedAuthority", X_OBJ, X_DECODE, "null"},
    {"disableDeviceMaxLoginAttempts", X_BOOL, X_DECODE, "false"},
    {"enable_managed_uid", X_BOOL, X_DECODE, "false"},
    {"enable_user_portal_multifactor", X_BOOL, X_DECODE, "false"},
    {"external_dn", X_STR, X_DECODE, "\"\""},
    {"external_password_expiration_date", X_TIME, X_DECODE, NULL},
    {"external_source_type", X_STR, X_DECODE, "\"\""},
    {"externally_managed", X_BOOL, X_DECODE, "false"},
    {"ldap_binding_user", X_BOOL, X_DECODE, "false"},
    {"managedAppleId", X_STR, X_DECODE, "\"\""},
    {"mfa", X_OBJ, X_DECODE, "{\"configured\":false,\"exclusion\":false}"},
    {"password_expired", X_BOOL, 0, "false"},
    {"password_never_expires", X_BOOL, X_DECODE, "false"},
    {"passwordless_sudo", X_BOOL, X_DECODE, "false"},
    {"public_key", X_STR, X_DECODE, "\"\""},
    {"recoveryEmail", X_OBJ, X_DECODE, NULL},
    {"relationships", X_ARR, X_DECODE, "[]"},
    {"restrictedFields", X_OBJ_OR_ARR, X_DECODE, "[]"}, /* an object in v2, an array in v1 */
    {"samba_service_user", X_BOOL, X_DECODE, "false"},
    {"ssh_keys", X_ARR, X_DECODE, "[]"},
    {"sudo", X_BOOL, X_DECODE, "false"},
    {"totp_enabled", X_BOOL, 0, "false"},
    {"unix_guid", X_INT, X_DECODE, NULL},
    {"unix_uid", X_INT, X_DECODE, NULL},
};
#define NXFIELDS (sizeof(xfields) / sizeof(xfields[0]))

/* How an absent string field is returned. JumpCloud returns "" for an empty profile
 * string, but null for the fields that are unique or references when unset. */
enum absent { A_EMPTY, A_NULL, A_OMIT };
static int absent_as(int field)
{
    switch (field) {
    case RU_EMPLOYEE_ID:
    case RU_MANAGER:
    case RU_ALTERNATE_EMAIL:
        return A_NULL;
    case RU_COUNTRY_CODE: /* roster fields that JumpCloud does not have */
    case RU_CUSTOM_DATA:
        return A_OMIT;
    default:
        return A_EMPTY;
    }
}

const struct roster_qname jc_user_qnames[] = {
    {"username", RU_USERNAME},
    {"email", RU_EMAIL},
    {"firstname", RU_FIRST_NAME},
    {"lastname", RU_LAST_NAME},
    {"middlename", RU_MIDDLE_NAME},
    {"displayname", RU_DISPLAY_NAME},
    {"employeeIdentifier", RU_EMPLOYEE_ID},
    {"department", RU_DEPARTMENT},
    {"costCenter", RU_COST_CENTER},
    {"company", RU_COMPANY},
    {"jobTitle", RU_JOB_TITLE},
    {"location", RU_LOCATION},
    {"manager", RU_MANAGER},
    {"employeeType", RU_EMPLOYEE_TYPE},
    {"alternateEmail", RU_ALTERNATE_EMAIL},
    {"description", RU_DESCRIPTION},
    {"state", RQ_STATE},
    {"_id", RQ_ID},
    {"created", RQ_CREATED},
    {NULL, 0},
};

/* --- decoding --- */

static int bad_type(struct roster_err *err, const char *field, const char *what)
{
    roster_err_set(err, ROSTER_EINVAL, "%s must be %s", field, what);
    if (err)
        err->field = field;
    return ROSTER_EINVAL;
}

/* Index of the string or JSON-array field labelled key, or -1. */
static int ufield_by_label(const char *key)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (i != RU_EXTRA && strcmp(roster_ufields[i].label, key) == 0)
            return i;
    return -1;
}

static const struct xfield *xfield_find(const char *key)
{
    for (size_t i = 0; i < NXFIELDS; i++)
        if (strcmp(xfields[i].name, key) == 0)
            return &xfields[i];
    return NULL;
}

/* Checks the JSON type of an extra field's value (not null). */
static int check_xfield(const struct xfield *x, json_t *v, struct roster_err *err)
{
    switch (x->type) {
    case X_BOOL:
        return json_is_boolean(v) ? 0 : bad_type(err, x->name, "a boolean");
    case X_STR:
        return json_is_string(v) ? 0 : bad_type(err, x->name, "a string");
    case X_TIME: {
        int64_t ms;
        if (!json_is_string(v))
            return bad_type(err, x->name, "a string");
        if (roster_time_parse(json_string_value(v), &ms) == 0)
            return 0;
        roster_err_set(err, ROSTER_EINVAL, "%s \"%.64s\" is not a date-time (use RFC 3339)",
                       x->name, json_string_value(v));
        if (err)
            err->field = x->name;
        return ROSTER_EINVAL;
    }
    case X_INT:
        if (!json_is_integer(v))
            return bad_type(err, x->name, "an integer");
        if (json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX) {
            roster_err_set(err, ROSTER_EINVAL,
                           "%s %" JSON_INTEGER_FORMAT " is out of range (1 to %u)", x->name,
                           json_integer_value(v), (unsigned)UINT32_MAX);
            if (err)
                err->field = x->name;
            return ROSTER_EINVAL;
        }
        return 0;
    case X_OBJ:
        return json_is_object(v) ? 0 : bad_type(err, x->name, "an object");
    case X_ARR:
        return json_is_array(v) ? 0 : bad_type(err, x->name, "an array");
    default: /* X_OBJ_OR_ARR */
        return json_is_object(v) || json_is_array(v)
                   ? 0
                   : bad_type(err, x->name, "an object or an array");
    }
}

/* Compact JSON text of v, copied into a. */
static const char *dump_into(json_t *v, struct roster_arena *a, struct roster_err *err)
{
    const char *copy = roster_json_dump_arena(v, a);
    if (!copy)
        roster_err_set(err, ROSTER_ENOMEM, "out of memory");
    return copy;
}

static int decode_id(json_t *obj, struct roster_user *out, struct roster_err *err)
{
    json_t *id = json_object_get(obj, "id");
    if (!id || json_is_null(id)) {
        roster_err_set(err, ROSTER_EINVAL, "id is required");
        goto fail;
    }
    if (!json_is_string(id))
        return bad_type(err, "id", "a string");
    if (!roster_id_valid(json_string_value(id))) {
        roster_err_set(err, ROSTER_EINVAL, "id \"%.64s\" is not a valid user id",
                       json_string_value(id));
        goto fail;
    }
    memcpy(out->id, json_string_value(id), ROSTER_ID_LEN + 1);
    return 0;
fail:
    if (err)
        err->field = "id";
    return ROSTER_EINVAL;
}

int jc_user_decode(json_t *obj, int mode, struct roster_user *out, struct roster_arena *a,
                   struct roster_err *err)
{
    int rc = 0;
    json_t *extra = NULL;
    bool patch = mode != JC_DECODE_CREATE, suspend = false;
    memset(out, 0, sizeof(*out));
    out->state = ROSTER_STAGED;
    if (!json_is_object(obj)) {
        rc = roster_err_set(err, ROSTER_EINVAL, "user must be a JSON object");
        goto fail;
    }
    if (mode == JC_DECODE_UPDATE && (rc = decode_id(obj, out, err)) != 0)
        goto fail;

    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int f = ufield_by_label(key);
        if (f >= 0) {
            bool str = roster_ufields[f].kind == RU_KIND_STR;
            if (json_is_null(v)) {
                if (!patch)
                    continue; /* absent, on a create */
                out->f[f] = NULL;
            } else if (str && json_is_string(v)) {
                out->f[f] = roster_arena_strdup(a, json_string_value(v));
            } else if (!str && json_is_array(v)) {
                if (!(out->f[f] = dump_into(v, a, err))) {
                    rc = ROSTER_ENOMEM;
                    goto fail;
                }
            } else {
                rc = bad_type(err, roster_ufields[f].label, str ? "a string" : "an array");
                goto fail;
            }
            out->set |= 1ull << f;
            continue;
        }
        if (strcmp(key, "state") == 0) {
            if (json_is_null(v))
                continue; /* a state cannot be cleared: treat as absent */
            if (!json_is_string(v)) {
                rc = bad_type(err, "state", "a string");
                goto fail;
            }
            if (roster_state_parse(json_string_value(v), &out->state)) {
                rc = roster_err_set(err, ROSTER_EINVAL,
                                    "state \"%.64s\" is not one of STAGED, ACTIVATED, SUSPENDED",
                                    json_string_value(v));
                if (err)
                    err->field = "state";
                goto fail;
            }
            out->set |= ROSTER_USET_STATE;
            continue;
        }
        bool suspended = strcmp(key, "suspended") == 0;
        if (suspended || strcmp(key, "activated") == 0) {
            /* both are derived from state on output; "suspended": true alone suspends */
            if (!json_is_null(v) && !json_is_boolean(v)) {
                rc = bad_type(err, suspended ? "suspended" : "activated", "a boolean");
                goto fail;
            }
            suspend |= suspended && json_is_true(v);
            continue;
        }
        if (strcmp(key, "password") == 0) {
            /* Never stored in plain text: dropped until password hashing exists. */
            if (!json_is_null(v) && !json_is_string(v)) {
                rc = bad_type(err, "password", "a string");
                goto fail;
            }
            continue;
        }
        const struct xfield *x = xfield_find(key);
        if (!x || !(x->flags & X_DECODE))
            continue; /* read-only (_id, created, organization, ...) or unknown: ignored */
        if (json_is_null(v)) {
            if (!patch)
                continue;
        } else if ((rc = check_xfield(x, v, err)) != 0) {
            goto fail;
        }
        if (!extra)
            extra = json_object();
        json_object_set(extra, key, v); /* a null stays: the merge removes that key */
    }
    if (suspend && !(out->set & ROSTER_USET_STATE)) {
        out->state = ROSTER_SUSPENDED;
        out->set |= ROSTER_USET_STATE;
    }
    if (extra) {
        if (!(out->f[RU_EXTRA] = dump_into(extra, a, err))) {
            rc = ROSTER_ENOMEM;
            goto fail;
        }
        out->set |= 1ull << RU_EXTRA;
    }
fail:
    json_decref(extra);
    return rc;
}

int jc_item_decode(json_t *item, int kind, struct roster_user *out, struct roster_arena *a,
                   struct roster_err *err)
{
    switch (kind) {
    case ROSTER_JOB_USERS_CREATE:
        return jc_user_decode(item, JC_DECODE_CREATE, out, a, err);
    case ROSTER_JOB_USERS_UPDATE:
        return jc_user_decode(item, JC_DECODE_UPDATE, out, a, err);
    default:
        return roster_err_set(err, ROSTER_EINVAL, "job kind %d has no jumpcloud user codec", kind);
    }
}

/* --- encoding --- */

struct projection {
    const char *const *fields;
    size_t n;
};

static bool want(const struct projection *p, const char *key)
{
    if (p->n == 0)
        return true;
    for (size_t i = 0; i < p->n; i++)
        if (p->fields[i] && strcmp(p->fields[i], key) == 0)
            return true;
    return false;
}

static void write_value(struct roster_jsonw *w, const char *key, json_t *v)
{
    struct roster_buf b;
    roster_buf_init(&b);
    if (roster_json_dump_buf(v, &b) == 0 && b.data)
        roster_jsonw_kraw(w, key, b.data);
    else
        roster_jsonw_knull(w, key);
    roster_buf_release(&b);
}

/* Keys written from the user's own fields; an extra key with one of these names (which the
 * decoder never produces) is not written twice. */
static bool own_key(const char *key)
{
    static const char *const keys[] = {"_id",       "state",   "activated",
                                       "suspended", "created", "organization"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return ufield_by_label(key) >= 0 || xfield_find(key) != NULL;
}

void jc_user_encode(struct roster_jsonw *w, const struct roster_user *u, const char *const *fields,
                    size_t nfields)
{
    struct projection p = {fields, nfields};
    json_t *extra = NULL;
    if (u->f[RU_EXTRA] && *u->f[RU_EXTRA]) {
        extra = json_loads(u->f[RU_EXTRA], 0, NULL);
        if (!json_is_object(extra)) {
            json_decref(extra);
            extra = NULL;
        }
    }

    roster_jsonw_obj_begin(w);
    roster_jsonw_kstr(w, "_id", u->id);
    for (int i = 0; i < RU_NFIELDS; i++) {
        const char *label = roster_ufields[i].label, *v = u->f[i];
        if (i == RU_EXTRA || !want(&p, label))
            continue;
        if (roster_ufields[i].kind != RU_KIND_STR) {
            roster_jsonw_kraw(w, label, v && *v ? v : "[]");
        } else if (v) {
            roster_jsonw_kstr(w, label, v);
        } else if (absent_as(i) == A_NULL) {
            roster_jsonw_knull(w, label);
        } else if (absent_as(i) == A_EMPTY) {
            roster_jsonw_kstr(w, label, "");
        }
    }
    if (want(&p, "state"))
        roster_jsonw_kstr(w, "state", roster_state_name(u->state));
    if (want(&p, "activated"))
        roster_jsonw_kbool(w, "activated", u->state == ROSTER_ACTIVATED);
    if (want(&p, "suspended"))
        roster_jsonw_kbool(w, "suspended", u->state == ROSTER_SUSPENDED);
    if (want(&p, "created"))
        roster_jsonw_ktime(w, "created", u->created_ms);
    if (want(&p, "organization") && u->org_id[0])
        roster_jsonw_kstr(w, "organization", u->org_id);
    for (size_t i = 0; i < NXFIELDS; i++) {
        const struct xfield *x = &xfields[i];
        if (!want(&p, x->name))
            continue;
        json_t *v = extra ? json_object_get(extra, x->name) : NULL;
        if (v)
            write_value(w, x->name, v);
        else if (x->dflt)
            roster_jsonw_kraw(w, x->name, x->dflt);
    }
    if (extra) {
        const char *key;
        json_t *v;
        json_object_foreach(extra, key, v)
        {
            if (!own_key(key) && want(&p, key))
                write_value(w, key, v);
        }
    }
    roster_jsonw_obj_end(w);
    json_decref(extra);
}
