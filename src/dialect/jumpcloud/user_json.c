/* The JumpCloud user codec: decodes bulk-user-create, bulk-user-update, systemuserputpost
 * and systemuserput objects into core users or patches, and encodes core users as
 * systemuserreturn. Shared by the v1 handlers (systemusers.c) and the v2 bulk jobs (job
 * codec "jumpcloud"). docs/jumpcloud.md ("v1 system users") describes the mapping.
 */
#include "dialect/jumpcloud/jumpcloud.h"
#include "roster/jsonr.h"
#include "roster/jsonutil.h"

#include <jansson.h>
#include <pthread.h>
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

/* Decoding reads the text with the pull reader (roster/jsonr.h): no document is built,
 * strings are copied once into the arena and JSON-valued fields keep their text. Keys are
 * matched in two passes so that duplicates behave as in jansson, which the decoder used
 * before: each known key is handled once, at the place of its first occurrence, with the
 * value of its last one. */

/* Ids of the keys the decoder acts on: a field of roster_ufields (its index), one of these,
 * or K_XFIELD0 + the index in xfields. */
enum { K_STATE = RU_NFIELDS, K_SUSPENDED, K_ACTIVATED, K_PASSWORD, K_ID, K_XFIELD0 };
#define K_MAX (K_XFIELD0 + NXFIELDS)
_Static_assert(K_MAX <= 64, "key ids must fit a 64-bit set");

#define KEY_MAX_LEN 40 /* longer keys are none of ours */
#define KEYS_PER_LEN 8

static struct {
    const char *name;
    int id;
} known[KEY_MAX_LEN + 1][KEYS_PER_LEN]; /* by name length */
static int nknown[KEY_MAX_LEN + 1];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void key_add(const char *name, int id)
{
    size_t len = strlen(name);
    if (len > KEY_MAX_LEN || nknown[len] == KEYS_PER_LEN)
        abort(); /* a table above outgrew the index: raise the limits */
    known[len][nknown[len]].name = name;
    known[len][nknown[len]++].id = id;
}

static void keys_build(void)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (i != RU_EXTRA && !roster_ufields[i].scim_only)
            key_add(roster_ufields[i].label, i);
    key_add("state", K_STATE);
    key_add("suspended", K_SUSPENDED);
    key_add("activated", K_ACTIVATED);
    key_add("password", K_PASSWORD);
    key_add("id", K_ID);
    for (size_t i = 0; i < NXFIELDS; i++)
        key_add(xfields[i].name, K_XFIELD0 + (int)i);
}

/* The id of key k, or -1 for a key the decoder ignores. */
static int key_id(const struct roster_jsonr_val *k, struct roster_arena *a)
{
    const char *s;
    size_t n;
    if (roster_jsonr_str_view(k, a, &s, &n) != 0 || n > KEY_MAX_LEN)
        return -1;
    for (int i = 0; i < nknown[n]; i++)
        if (memcmp(known[n][i].name, s, n) == 0)
            return known[n][i].id;
    return -1;
}

/* "<field> must be <what>, got <the value as sent>" (the value cut at 64 bytes). */
static int bad_type(struct roster_err *err, const char *field, const char *what,
                    const struct roster_jsonr_val *got)
{
    int n = got ? (int)(got->len > 64 ? 64 : got->len) : 0;
    roster_err_set(err, ROSTER_EINVAL, "%s must be %s, got %.*s%s", field, what, n,
                   got ? got->raw : "", got && got->len > 64 ? "..." : "");
    if (err)
        err->field = field;
    return ROSTER_EINVAL;
}

/* Text that the scanner should have refused: only reached when the precondition of
 * jc_user_decode was broken. */
static int bad_json(struct roster_err *err)
{
    return roster_err_set(err, ROSTER_EINVAL, "user is not valid JSON");
}

/* Index of the string or JSON-array field labelled key, or -1. */
static int ufield_by_label(const char *key)
{
    for (int i = 0; i < RU_NFIELDS; i++)
        if (i != RU_EXTRA && !roster_ufields[i].scim_only &&
            strcmp(roster_ufields[i].label, key) == 0)
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

static bool is_type(const struct roster_jsonr_val *v, int type)
{
    return v->type == type;
}

static bool is_bool(const struct roster_jsonr_val *v)
{
    return v->type == ROSTER_JSONR_TRUE || v->type == ROSTER_JSONR_FALSE;
}

/* Checks the JSON type of an extra field's value (not null). */
static int check_xfield(const struct xfield *x, const struct roster_jsonr_val *v,
                        struct roster_arena *a, struct roster_err *err)
{
    switch (x->type) {
    case X_BOOL:
        return is_bool(v) ? 0 : bad_type(err, x->name, "a boolean", v);
    case X_STR:
        return is_type(v, ROSTER_JSONR_STRING) ? 0 : bad_type(err, x->name, "a string", v);
    case X_TIME: {
        int64_t ms;
        const char *s;
        if (!is_type(v, ROSTER_JSONR_STRING))
            return bad_type(err, x->name, "a string", v);
        if (roster_jsonr_str(v, a, &s, NULL) != 0)
            return bad_json(err);
        if (roster_time_parse(s, &ms) == 0)
            return 0;
        roster_err_set(err, ROSTER_EINVAL, "%s \"%.64s\" is not a date-time (use RFC 3339)",
                       x->name, s);
        if (err)
            err->field = x->name;
        return ROSTER_EINVAL;
    }
    case X_INT: {
        int64_t i;
        if (!is_type(v, ROSTER_JSONR_INTEGER))
            return bad_type(err, x->name, "an integer", v);
        if (roster_jsonr_int(v, &i) != 0)
            return bad_json(err);
        if (i < 1 || i > UINT32_MAX) {
            roster_err_set(err, ROSTER_EINVAL, "%s %lld is out of range (1 to %u)", x->name,
                           (long long)i, (unsigned)UINT32_MAX);
            if (err)
                err->field = x->name;
            return ROSTER_EINVAL;
        }
        return 0;
    }
    case X_OBJ:
        return is_type(v, ROSTER_JSONR_OBJECT) ? 0 : bad_type(err, x->name, "an object", v);
    case X_ARR:
        return is_type(v, ROSTER_JSONR_ARRAY) ? 0 : bad_type(err, x->name, "an array", v);
    default: /* X_OBJ_OR_ARR */
        return is_type(v, ROSTER_JSONR_OBJECT) || is_type(v, ROSTER_JSONR_ARRAY)
                   ? 0
                   : bad_type(err, x->name, "an object or an array", v);
    }
}

/* id: the value of "id", or NULL if the body has none. */
static int decode_id(const struct roster_jsonr_val *id, struct roster_user *out,
                     struct roster_arena *a, struct roster_err *err)
{
    const char *s;
    size_t n;
    if (!id || id->type == ROSTER_JSONR_NULL) {
        roster_err_set(err, ROSTER_EINVAL, "id is required");
        goto fail;
    }
    if (id->type != ROSTER_JSONR_STRING)
        return bad_type(err, "id", "a string", id);
    if (roster_jsonr_str(id, a, &s, &n) != 0)
        return bad_json(err);
    if (!roster_id_valid(s)) {
        roster_err_set(err, ROSTER_EINVAL, "id \"%.64s\" is not a valid user id", s);
        goto fail;
    }
    memcpy(out->id, s, ROSTER_ID_LEN + 1);
    return 0;
fail:
    if (err)
        err->field = "id";
    return ROSTER_EINVAL;
}

/* One top-level field of roster_ufields. */
static int decode_ufield(int f, const struct roster_jsonr_val *v, bool patch,
                         struct roster_user *out, struct roster_arena *a, struct roster_err *err)
{
    bool str = roster_ufields[f].kind == RU_KIND_STR;
    if (v->type == ROSTER_JSONR_NULL) {
        if (!patch)
            return 0; /* absent, on a create */
        out->f[f] = NULL;
    } else if (str && v->type == ROSTER_JSONR_STRING) {
        if (roster_jsonr_str(v, a, &out->f[f], NULL) != 0)
            return bad_json(err);
    } else if (!str && v->type == ROSTER_JSONR_ARRAY) {
        out->f[f] = roster_jsonr_compact(v, a, NULL); /* kept as text, not re-serialised */
    } else {
        return bad_type(err, roster_ufields[f].label, str ? "a string" : "an array", v);
    }
    out->set |= 1ull << f;
    return 0;
}

static int decode_state(const struct roster_jsonr_val *v, struct roster_user *out,
                        struct roster_arena *a, struct roster_err *err)
{
    if (v->type == ROSTER_JSONR_NULL)
        return 0; /* a state cannot be cleared: treat as absent */
    if (v->type != ROSTER_JSONR_STRING)
        return bad_type(err, "state", "a string", v);
    for (int s = ROSTER_STAGED; s <= ROSTER_SUSPENDED; s++) {
        if (roster_jsonr_str_eq(v, roster_state_name(s))) {
            out->state = s;
            out->set |= ROSTER_USET_STATE;
            return 0;
        }
    }
    const char *s;
    if (roster_jsonr_str(v, a, &s, NULL) != 0)
        return bad_json(err);
    roster_err_set(err, ROSTER_EINVAL, "state \"%.64s\" is not one of STAGED, ACTIVATED, SUSPENDED",
                   s);
    if (err)
        err->field = "state";
    return ROSTER_EINVAL;
}

int jc_user_require_email(const struct roster_user *u, bool patch, struct roster_err *err)
{
    if ((patch && !ROSTER_USER_FIELD_SET(u, RU_EMAIL)) || (u->f[RU_EMAIL] && *u->f[RU_EMAIL]))
        return 0;
    if (!patch || ROSTER_USER_FIELD_SET(u, RU_USERNAME)) {
        struct roster_user probe;
        memset(&probe, 0, sizeof(probe));
        probe.f[RU_USERNAME] = u->f[RU_USERNAME];
        probe.f[RU_EMAIL] = "a@b.c";
        probe.state = ROSTER_ACTIVATED;
        int rc = roster_user_validate(&probe, ROSTER_VALIDATE_CREATE, err);
        if (rc)
            return rc;
    }
    roster_err_set(err, ROSTER_EINVAL, "email is required");
    if (err)
        err->field = roster_ufields[RU_EMAIL].label;
    return ROSTER_EINVAL;
}

int jc_user_decode(const char *json, size_t len, int mode, struct roster_user *out,
                   struct roster_arena *a, struct roster_err *err)
{
    bool patch = mode != JC_DECODE_CREATE, suspend = false;
    memset(out, 0, sizeof(*out));
    out->state = ROSTER_STAGED;
    struct roster_jsonr_val obj;
    if (roster_jsonr_parse(json, len, &obj) != 0)
        return bad_json(err);
    if (obj.type != ROSTER_JSONR_OBJECT)
        return roster_err_set(err, ROSTER_EINVAL, "user must be a JSON object");
    pthread_once(&keys_once, keys_build);

    /* pass 1: the known keys in order of first occurrence, each with its last value */
    struct roster_jsonr_val vals[K_MAX], k, v;
    unsigned char order[K_MAX];
    size_t norder = 0;
    uint64_t seen = 0;
    struct roster_jsonr it;
    int r;
    roster_jsonr_open(&it, &obj);
    while ((r = roster_jsonr_next(&it, &k, &v)) == 1) {
        int id = key_id(&k, a);
        if (id < 0)
            continue; /* unknown, or read-only like _id, created, organization: ignored */
        if (!(seen >> id & 1)) {
            seen |= 1ull << id;
            order[norder++] = (unsigned char)id;
        }
        vals[id] = v;
    }
    if (r < 0)
        return bad_json(err);

    int rc;
    if (mode == JC_DECODE_UPDATE &&
        (rc = decode_id(seen >> K_ID & 1 ? &vals[K_ID] : NULL, out, a, err)) != 0)
        return rc;

    /* pass 2 */
    size_t nextra = 0, extra_len = 2;
    unsigned char extra[NXFIELDS];
    for (size_t o = 0; o < norder; o++) {
        int id = order[o];
        const struct roster_jsonr_val *val = &vals[id];
        if (id < RU_NFIELDS) {
            if ((rc = decode_ufield(id, val, patch, out, a, err)) != 0)
                return rc;
            continue;
        }
        switch (id) {
        case K_STATE:
            if ((rc = decode_state(val, out, a, err)) != 0)
                return rc;
            continue;
        case K_SUSPENDED:
        case K_ACTIVATED:
            /* both are derived from state on output; "suspended": true alone suspends */
            if (val->type != ROSTER_JSONR_NULL && !is_bool(val))
                return bad_type(err, id == K_SUSPENDED ? "suspended" : "activated", "a boolean",
                                val);
            suspend |= id == K_SUSPENDED && val->type == ROSTER_JSONR_TRUE;
            continue;
        case K_PASSWORD:
            /* Never stored in plain text: dropped until password hashing exists. */
            if (val->type != ROSTER_JSONR_NULL && val->type != ROSTER_JSONR_STRING)
                return bad_type(err, "password", "a string", val);
            continue;
        case K_ID:
            continue; /* read above in update mode; ignored otherwise */
        default:
            break;
        }
        const struct xfield *x = &xfields[id - K_XFIELD0];
        if (!(x->flags & X_DECODE))
            continue; /* only ever returned: ignored */
        if (val->type == ROSTER_JSONR_NULL) {
            if (!patch)
                continue;
        } else if ((rc = check_xfield(x, val, a, err)) != 0) {
            return rc;
        }
        extra[nextra++] = (unsigned char)id; /* a null stays: the merge removes that key */
        extra_len += strlen(x->name) + 4 + val->len;
    }
    if (suspend && !(out->set & ROSTER_USET_STATE)) {
        out->state = ROSTER_SUSPENDED;
        out->set |= ROSTER_USET_STATE;
    }
    if (nextra) {
        /* {"name":value,...}: the names need no escaping, the values are valid JSON text */
        char *p = roster_arena_alloc(a, extra_len + 1), *start = p;
        *p++ = '{';
        for (size_t e = 0; e < nextra; e++) {
            const char *name = xfields[extra[e] - K_XFIELD0].name;
            size_t n = strlen(name);
            if (e)
                *p++ = ',';
            *p++ = '"';
            memcpy(p, name, n);
            p += n;
            *p++ = '"';
            *p++ = ':';
            p += roster_jsonr_compact_to(&vals[extra[e]], p);
        }
        *p++ = '}';
        *p = '\0';
        out->f[RU_EXTRA] = start;
        out->set |= 1ull << RU_EXTRA;
    }
    return 0;
}

int jc_item_decode(const char *json, size_t len, int kind, struct roster_user *out,
                   struct roster_arena *a, struct roster_err *err)
{
    int rc;
    switch (kind) {
    case ROSTER_JOB_USERS_CREATE:
        rc = jc_user_decode(json, len, JC_DECODE_CREATE, out, a, err);
        return rc ? rc : jc_user_require_email(out, false, err);
    case ROSTER_JOB_USERS_UPDATE:
        rc = jc_user_decode(json, len, JC_DECODE_UPDATE, out, a, err);
        return rc ? rc : jc_user_require_email(out, true, err);
    default:
        return roster_err_set(err, ROSTER_EINVAL, "job kind %d has no jumpcloud user codec", kind);
    }
}
bool jc_user_setting(const char *name)
{
    const struct xfield *x = xfield_find(name);
    return x && (x->flags & X_DECODE);
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
 * decoder never produces) is not written twice. The SCIM dialect's own object
 * (ROSTER_EXTRA_SCIM) is not JumpCloud's and is never written either. */
static bool own_key(const char *key)
{
    if (strcmp(key, ROSTER_EXTRA_SCIM) == 0)
        return true;
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
        if (i == RU_EXTRA || roster_ufields[i].scim_only || !want(&p, label))
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
