/* /Users of the SCIM dialect (scim.h): the User resource (core schema and the enterprise
 * extension) decoded into core users and encoded from them, the single-user operations
 * (POST, GET, PUT, PATCH, DELETE) written into struct scim_out so that /Bulk runs them too,
 * and the list (GET /Users, POST /Users/.search) through core's list operation.
 * The attribute mapping and every choice: docs/scim.md. */
#include "dialect/scim/scim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "roster/list.h"

/* SCIM attributes kept verbatim in the SCIM object of the user's extra (ROSTER_EXTRA_SCIM):
 * simple ones, then multi-valued ones roster has no field for. */
static const char *const kept_simple[] = {"nickName", "profileUrl"};
static const char *const kept_multi[] = {"ims", "photos", "entitlements", "roles",
                                         "x509Certificates"};
static const char *const kept_name[] = {"formatted", "honorificPrefix", "honorificSuffix"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The fields a SCIM User sets (a PUT replaces exactly these; the others, such as
 * JumpCloud's description or location, are left as they are). */
static const int mapped[] = {
    RU_USERNAME,    RU_EMAIL,     RU_ALTERNATE_EMAIL, RU_EMPLOYEE_ID,        RU_FIRST_NAME,
    RU_MIDDLE_NAME, RU_LAST_NAME, RU_DISPLAY_NAME,    RU_DEPARTMENT,         RU_COST_CENTER,
    RU_COMPANY,     RU_JOB_TITLE, RU_MANAGER,         RU_EXTERNAL_ID,        RU_USER_TYPE,
    RU_LOCALE,      RU_TIMEZONE,  RU_PHONES,          RU_PREFERRED_LANGUAGE, RU_ADDRESSES,
    RU_EXTRA,
};

/* --- small JSON helpers --- */

/* The member of obj named name, ignoring ASCII case (SCIM attribute names are
 * case-insensitive); *real gets the member's own spelling. */
static json_t *get_ci(json_t *obj, const char *name, const char **real)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *v = json_object_get(obj, name);
    if (v) {
        if (real)
            *real = name;
        return v;
    }
    const char *k;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, name) == 0) {
            if (real)
                *real = k;
            return v;
        }
    }
    return NULL;
}

static void set_str(json_t *obj, const char *key, const char *v)
{
    if (v)
        json_object_set_new(obj, key, json_string(v));
}

/* --- encoding --- */

json_t *scim_user_json(const struct roster_user *u, const char *base)
{
    json_t *scim = NULL;
    if (u->f[RU_EXTRA] && *u->f[RU_EXTRA]) {
        json_t *extra = json_loads(u->f[RU_EXTRA], 0, NULL);
        json_t *s = json_object_get(extra, ROSTER_EXTRA_SCIM);
        if (json_is_object(s))
            scim = json_incref(s);
        json_decref(extra);
    }
    json_t *o = json_object();
    json_t *schemas = json_array();
    json_array_append_new(schemas, json_string(SCIM_SCHEMA_USER));
    json_object_set_new(o, "schemas", schemas);
    json_object_set_new(o, "id", json_string(u->id));
    set_str(o, "externalId", u->f[RU_EXTERNAL_ID]);
    set_str(o, "userName", u->f[RU_USERNAME]);

    json_t *name = json_object();
    json_t *sname = scim ? json_object_get(scim, "name") : NULL;
    for (size_t i = 0; i < NELEM(kept_name); i++) {
        json_t *v = json_object_get(sname, kept_name[i]);
        if (json_is_string(v))
            json_object_set(name, kept_name[i], v);
    }
    set_str(name, "familyName", u->f[RU_LAST_NAME]);
    set_str(name, "givenName", u->f[RU_FIRST_NAME]);
    set_str(name, "middleName", u->f[RU_MIDDLE_NAME]);
    if (json_object_size(name))
        json_object_set_new(o, "name", name);
    else
        json_decref(name);

    set_str(o, "displayName", u->f[RU_DISPLAY_NAME]);
    for (size_t i = 0; i < NELEM(kept_simple); i++) {
        json_t *v = scim ? json_object_get(scim, kept_simple[i]) : NULL;
        if (json_is_string(v))
            json_object_set(o, kept_simple[i], v);
    }
    set_str(o, "title", u->f[RU_JOB_TITLE]);
    set_str(o, "userType", u->f[RU_USER_TYPE]);
    set_str(o, "preferredLanguage", u->f[RU_PREFERRED_LANGUAGE]);
    set_str(o, "locale", u->f[RU_LOCALE]);
    set_str(o, "timezone", u->f[RU_TIMEZONE]);
    json_object_set_new(o, "active", json_boolean(u->state == ROSTER_ACTIVATED));

    json_t *emails = json_array();
    const char *t0 = scim ? json_string_value(json_object_get(scim, "emailType")) : NULL;
    const char *t1 = scim ? json_string_value(json_object_get(scim, "alternateEmailType")) : NULL;
    if (u->f[RU_EMAIL] && *u->f[RU_EMAIL])
        json_array_append_new(emails, json_pack("{s:s,s:s,s:b}", "value", u->f[RU_EMAIL], "type",
                                                t0 ? t0 : "work", "primary", 1));
    if (u->f[RU_ALTERNATE_EMAIL] && *u->f[RU_ALTERNATE_EMAIL])
        json_array_append_new(emails, json_pack("{s:s,s:s}", "value", u->f[RU_ALTERNATE_EMAIL],
                                                "type", t1 ? t1 : "other"));
    if (json_array_size(emails))
        json_object_set_new(o, "emails", emails);
    else
        json_decref(emails);

    if (u->f[RU_PHONES] && *u->f[RU_PHONES]) {
        json_t *ph = json_loads(u->f[RU_PHONES], 0, NULL), *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(ph, i, e)
        {
            const char *num = json_string_value(json_object_get(e, "number"));
            if (!num)
                continue;
            json_t *p = json_object();
            json_object_set_new(p, "value", json_string(num));
            json_t *t = json_object_get(e, "type");
            if (json_is_string(t))
                json_object_set(p, "type", t);
            json_t *pr = json_object_get(e, "primary");
            if (json_is_boolean(pr))
                json_object_set(p, "primary", pr);
            json_array_append_new(out, p);
        }
        json_decref(ph);
        if (json_array_size(out))
            json_object_set_new(o, "phoneNumbers", out);
        else
            json_decref(out);
    }
    if (u->f[RU_ADDRESSES] && *u->f[RU_ADDRESSES]) {
        json_t *ad = json_loads(u->f[RU_ADDRESSES], 0, NULL);
        if (json_is_array(ad) && json_array_size(ad))
            json_object_set_new(o, "addresses", ad);
        else
            json_decref(ad);
    }
    for (size_t i = 0; i < NELEM(kept_multi); i++) {
        json_t *v = scim ? json_object_get(scim, kept_multi[i]) : NULL;
        if (json_is_array(v))
            json_object_set(o, kept_multi[i], v);
    }

    json_t *ent = json_object();
    set_str(ent, "employeeNumber", u->f[RU_EMPLOYEE_ID]);
    set_str(ent, "costCenter", u->f[RU_COST_CENTER]);
    set_str(ent, "organization", u->f[RU_COMPANY]);
    json_t *div = scim ? json_object_get(scim, "division") : NULL;
    if (json_is_string(div))
        json_object_set(ent, "division", div);
    set_str(ent, "department", u->f[RU_DEPARTMENT]);
    if (u->f[RU_MANAGER]) {
        json_t *m = json_object();
        json_object_set_new(m, "value", json_string(u->f[RU_MANAGER]));
        if (base) {
            char ref[SCIM_LOCATION_MAX];
            snprintf(ref, sizeof(ref), "%s/Users/%s", base, u->f[RU_MANAGER]);
            json_object_set_new(m, "$ref", json_string(ref));
        }
        json_object_set_new(ent, "manager", m);
    }
    if (json_object_size(ent)) {
        json_array_append_new(schemas, json_string(SCIM_SCHEMA_ENTERPRISE));
        json_object_set_new(o, SCIM_SCHEMA_ENTERPRISE, ent);
    } else {
        json_decref(ent);
    }
    if (base)
        json_object_set_new(
            o, "meta",
            scim_meta("User", base, "Users", u->id, u->created_ms, u->modified_ms, u->version));
    json_decref(scim);
    return o;
}

/* Writes u as scim_user_json(u, base) would print it (JSON_COMPACT): straight from the
 * fields for a user without SCIM extras, phone numbers or addresses (most users of a list),
 * through scim_user_json otherwise. */
void scim_user_write(struct roster_jsonw *w, const struct roster_user *u, const char *base)
{
    bool plain =
        !(u->f[RU_PHONES] && *u->f[RU_PHONES] && strcmp(u->f[RU_PHONES], "[]") != 0) &&
        !(u->f[RU_ADDRESSES] && *u->f[RU_ADDRESSES] && strcmp(u->f[RU_ADDRESSES], "[]") != 0) &&
        !(u->f[RU_EXTRA] && strstr(u->f[RU_EXTRA], "\"" ROSTER_EXTRA_SCIM "\""));
    if (!plain) {
        json_t *j = scim_user_json(u, base);
        char *text = json_dumps(j, JSON_COMPACT);
        roster_jsonw_raw(w, text);
        free(text);
        json_decref(j);
        return;
    }
    bool ent = u->f[RU_EMPLOYEE_ID] || u->f[RU_COST_CENTER] || u->f[RU_COMPANY] ||
               u->f[RU_DEPARTMENT] || u->f[RU_MANAGER];
    roster_jsonw_obj_begin(w);
    roster_jsonw_key(w, "schemas");
    roster_jsonw_arr_begin(w);
    roster_jsonw_str(w, SCIM_SCHEMA_USER);
    if (ent)
        roster_jsonw_str(w, SCIM_SCHEMA_ENTERPRISE);
    roster_jsonw_arr_end(w);
    roster_jsonw_kstr(w, "id", u->id);
#define OPT(key, field)                                                                            \
    do {                                                                                           \
        if (u->f[field])                                                                           \
            roster_jsonw_kstr(w, key, u->f[field]);                                                \
    } while (0)
    OPT("externalId", RU_EXTERNAL_ID);
    OPT("userName", RU_USERNAME);
    if (u->f[RU_LAST_NAME] || u->f[RU_FIRST_NAME] || u->f[RU_MIDDLE_NAME]) {
        roster_jsonw_key(w, "name");
        roster_jsonw_obj_begin(w);
        OPT("familyName", RU_LAST_NAME);
        OPT("givenName", RU_FIRST_NAME);
        OPT("middleName", RU_MIDDLE_NAME);
        roster_jsonw_obj_end(w);
    }
    OPT("displayName", RU_DISPLAY_NAME);
    OPT("title", RU_JOB_TITLE);
    OPT("userType", RU_USER_TYPE);
    OPT("preferredLanguage", RU_PREFERRED_LANGUAGE);
    OPT("locale", RU_LOCALE);
    OPT("timezone", RU_TIMEZONE);
    roster_jsonw_kbool(w, "active", u->state == ROSTER_ACTIVATED);
    bool e0 = u->f[RU_EMAIL] && *u->f[RU_EMAIL],
         e1 = u->f[RU_ALTERNATE_EMAIL] && *u->f[RU_ALTERNATE_EMAIL];
    if (e0 || e1) {
        roster_jsonw_key(w, "emails");
        roster_jsonw_arr_begin(w);
        if (e0) {
            roster_jsonw_obj_begin(w);
            roster_jsonw_kstr(w, "value", u->f[RU_EMAIL]);
            roster_jsonw_kstr(w, "type", "work");
            roster_jsonw_kbool(w, "primary", true);
            roster_jsonw_obj_end(w);
        }
        if (e1) {
            roster_jsonw_obj_begin(w);
            roster_jsonw_kstr(w, "value", u->f[RU_ALTERNATE_EMAIL]);
            roster_jsonw_kstr(w, "type", "other");
            roster_jsonw_obj_end(w);
        }
        roster_jsonw_arr_end(w);
    }
    if (ent) {
        roster_jsonw_key(w, SCIM_SCHEMA_ENTERPRISE);
        roster_jsonw_obj_begin(w);
        OPT("employeeNumber", RU_EMPLOYEE_ID);
        OPT("costCenter", RU_COST_CENTER);
        OPT("organization", RU_COMPANY);
        OPT("department", RU_DEPARTMENT);
        if (u->f[RU_MANAGER]) {
            roster_jsonw_key(w, "manager");
            roster_jsonw_obj_begin(w);
            roster_jsonw_kstr(w, "value", u->f[RU_MANAGER]);
            if (base) {
                char ref[SCIM_LOCATION_MAX];
                snprintf(ref, sizeof(ref), "%s/Users/%s", base, u->f[RU_MANAGER]);
                roster_jsonw_kstr(w, "$ref", ref);
            }
            roster_jsonw_obj_end(w);
        }
        roster_jsonw_obj_end(w);
    }
#undef OPT
    if (base) {
        char created[32], modified[32], etag[SCIM_ETAG_MAX], loc[SCIM_LOCATION_MAX];
        roster_time_format(u->created_ms, created);
        roster_time_format(u->modified_ms ? u->modified_ms : u->created_ms, modified);
        scim_etag(etag, u->version);
        snprintf(loc, sizeof(loc), "%s/Users/%s", base, u->id);
        roster_jsonw_key(w, "meta");
        roster_jsonw_obj_begin(w);
        roster_jsonw_kstr(w, "resourceType", "User");
        roster_jsonw_kstr(w, "created", created);
        roster_jsonw_kstr(w, "lastModified", modified);
        roster_jsonw_kstr(w, "location", loc);
        roster_jsonw_kstr(w, "version", etag);
        roster_jsonw_obj_end(w);
    }
    roster_jsonw_obj_end(w);
}

/* --- decoding --- */

struct dec {
    struct roster_user *u;
    struct roster_arena *a;
    struct roster_err *err;
    json_t *scim; /* the SCIM object of extra being built */
    int active;   /* -1 absent, 0, 1 */
};

static int bad(struct dec *d, const char *attr, const char *what)
{
    roster_err_set(d->err, ROSTER_EINVAL, "%s %s", attr, what);
    if (d->err)
        d->err->field = attr;
    return ROSTER_EINVAL;
}

/* A string attribute (null: no value) into field f. */
static int dec_str(struct dec *d, const char *attr, json_t *v, int f)
{
    if (json_is_null(v)) {
        d->u->f[f] = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return bad(d, attr, "must be a string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return bad(d, attr, "must not contain a NUL character");
    d->u->f[f] = *s || f == RU_USERNAME ? roster_arena_strdup(d->a, s) : NULL;
    return 0;
}

/* A string kept in the SCIM object under key. */
static int dec_kept_str(struct dec *d, json_t *obj, const char *attr, json_t *v, const char *key)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(d, attr, "must be a string");
    if (json_string_length(v))
        json_object_set(obj, key, v);
    return 0;
}

/* A boolean, also as the strings "True" / "False" (any case: Microsoft Entra ID sends them). */
static int dec_bool(struct dec *d, const char *attr, json_t *v, int *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        if (strcasecmp(json_string_value(v), "true") == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(json_string_value(v), "false") == 0) {
            *out = 0;
            return 0;
        }
    }
    return bad(d, attr, "must be a boolean");
}

static int dec_name(struct dec *d, json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return bad(d, "name", "must be an object");
    json_t *kept = json_object();
    const char *k;
    json_t *x;
    int rc = 0;
    json_object_foreach(v, k, x)
    {
        if (strcasecmp(k, "givenName") == 0)
            rc = dec_str(d, "name.givenName", x, RU_FIRST_NAME);
        else if (strcasecmp(k, "familyName") == 0)
            rc = dec_str(d, "name.familyName", x, RU_LAST_NAME);
        else if (strcasecmp(k, "middleName") == 0)
            rc = dec_str(d, "name.middleName", x, RU_MIDDLE_NAME);
        else
            for (size_t i = 0; i < NELEM(kept_name) && !rc; i++)
                if (strcasecmp(k, kept_name[i]) == 0)
                    rc = dec_kept_str(d, kept, kept_name[i], x, kept_name[i]);
        if (rc)
            break;
    }
    if (!rc && json_object_size(kept))
        json_object_set(d->scim, "name", kept);
    json_decref(kept);
    return rc;
}

/* emails: the primary one (or else the first) is the user's e-mail, the next the alternate
 * e-mail; roster keeps two. Types are kept in the SCIM object. */
static int dec_emails(struct dec *d, json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad(d, "emails", "must be an array");
    size_t n = json_array_size(v), primary = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_object(e))
            return bad(d, "emails", "must be an array of objects");
        json_t *val = get_ci(e, "value", NULL), *p = get_ci(e, "primary", NULL),
               *t = get_ci(e, "type", NULL);
        if (!json_is_string(val))
            return bad(d, "emails.value", "must be a string");
        if (t && !json_is_null(t) && !json_is_string(t))
            return bad(d, "emails.type", "must be a string");
        int is_primary = 0;
        if (p && !json_is_null(p) && dec_bool(d, "emails.primary", p, &is_primary))
            return ROSTER_EINVAL;
        if (is_primary && primary == n)
            primary = i;
    }
    if (n > 2)
        return bad(d, "emails",
                   "has more than two values (roster keeps a primary and one other "
                   "address)");
    if (n == 0)
        return 0;
    if (primary == n)
        primary = 0;
    for (size_t k = 0; k < n; k++) {
        json_t *e = json_array_get(v, k);
        int f = k == primary ? RU_EMAIL : RU_ALTERNATE_EMAIL;
        const char *s = json_string_value(get_ci(e, "value", NULL));
        d->u->f[f] = *s ? roster_arena_strdup(d->a, s) : NULL;
        json_t *t = get_ci(e, "type", NULL);
        const char *dflt = f == RU_EMAIL ? "work" : "other"; /* what is returned without one */
        if (json_is_string(t) && strcmp(json_string_value(t), dflt) != 0)
            json_object_set(d->scim, f == RU_EMAIL ? "emailType" : "alternateEmailType", t);
    }
    return 0;
}

static int dec_phones(struct dec *d, json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad(d, "phoneNumbers", "must be an array");
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        json_t *val = get_ci(e, "value", NULL), *t = get_ci(e, "type", NULL),
               *p = get_ci(e, "primary", NULL);
        if (!json_is_object(e) || !json_is_string(val)) {
            json_decref(out);
            return bad(d, "phoneNumbers.value", "must be a string");
        }
        if (t && !json_is_null(t) && !json_is_string(t)) {
            json_decref(out);
            return bad(d, "phoneNumbers.type", "must be a string");
        }
        json_t *ph = json_object();
        json_object_set_new(ph, "type", json_is_string(t) ? json_incref(t) : json_null());
        json_object_set(ph, "number", val);
        int pr = 0;
        if (p && !json_is_null(p)) {
            if (dec_bool(d, "phoneNumbers.primary", p, &pr)) {
                json_decref(ph);
                json_decref(out);
                return ROSTER_EINVAL;
            }
            json_object_set_new(ph, "primary", json_boolean(pr));
        }
        json_array_append_new(out, ph);
    }
    if (json_array_size(out)) {
        char *text = json_dumps(out, JSON_COMPACT);
        d->u->f[RU_PHONES] = roster_arena_strdup(d->a, text);
        free(text);
    }
    json_decref(out);
    return 0;
}

static int dec_addresses(struct dec *d, json_t *v)
{
    static const char *const keys[] = {"type",       "streetAddress", "locality", "region",
                                       "postalCode", "country",       "formatted"};
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad(d, "addresses", "must be an array");
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_object(e)) {
            json_decref(out);
            return bad(d, "addresses", "must be an array of objects");
        }
        json_t *ad = json_object();
        for (size_t k = 0; k < NELEM(keys); k++) {
            json_t *x = get_ci(e, keys[k], NULL);
            if (!x || json_is_null(x))
                continue;
            if (!json_is_string(x)) {
                json_decref(ad);
                json_decref(out);
                roster_err_set(d->err, ROSTER_EINVAL, "addresses.%s must be a string", keys[k]);
                return ROSTER_EINVAL;
            }
            json_object_set(ad, keys[k], x);
        }
        json_t *p = get_ci(e, "primary", NULL);
        int pr = 0;
        if (p && !json_is_null(p)) {
            if (dec_bool(d, "addresses.primary", p, &pr)) {
                json_decref(ad);
                json_decref(out);
                return ROSTER_EINVAL;
            }
            json_object_set_new(ad, "primary", json_boolean(pr));
        }
        json_array_append_new(out, ad);
    }
    if (json_array_size(out)) {
        char *text = json_dumps(out, JSON_COMPACT);
        d->u->f[RU_ADDRESSES] = roster_arena_strdup(d->a, text);
        free(text);
    }
    json_decref(out);
    return 0;
}

static int dec_enterprise(struct dec *d, json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return bad(d, SCIM_SCHEMA_ENTERPRISE, "must be an object");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int rc = 0;
        if (strcasecmp(k, "employeeNumber") == 0)
            rc = dec_str(d, "employeeNumber", x, RU_EMPLOYEE_ID);
        else if (strcasecmp(k, "costCenter") == 0)
            rc = dec_str(d, "costCenter", x, RU_COST_CENTER);
        else if (strcasecmp(k, "organization") == 0)
            rc = dec_str(d, "organization", x, RU_COMPANY);
        else if (strcasecmp(k, "department") == 0)
            rc = dec_str(d, "department", x, RU_DEPARTMENT);
        else if (strcasecmp(k, "division") == 0)
            rc = dec_kept_str(d, d->scim, "division", x, "division");
        else if (strcasecmp(k, "manager") == 0) {
            /* {"value": id} (RFC 7643); a bare string (some clients) is taken as the id */
            json_t *mv = json_is_object(x) ? get_ci(x, "value", NULL) : x;
            if (json_is_object(x) && !mv)
                mv = json_null();
            rc = dec_str(d, "manager.value", mv, RU_MANAGER);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int scim_user_decode_json(json_t *doc, bool put, struct roster_user *out, const char **password,
                          struct roster_arena *a, struct roster_err *err)
{
    memset(out, 0, sizeof(*out));
    if (password)
        *password = NULL;
    struct dec d = {out, a, err, json_object(), -1};
    int rc = 0;
    if (!json_is_object(doc)) {
        json_decref(d.scim);
        return roster_err_set(err, ROSTER_EINVAL, "a User must be a JSON object");
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcasecmp(k, "userName") == 0)
            rc = dec_str(&d, "userName", v, RU_USERNAME);
        else if (strcasecmp(k, "externalId") == 0)
            rc = dec_str(&d, "externalId", v, RU_EXTERNAL_ID);
        else if (strcasecmp(k, "name") == 0)
            rc = dec_name(&d, v);
        else if (strcasecmp(k, "displayName") == 0)
            rc = dec_str(&d, "displayName", v, RU_DISPLAY_NAME);
        else if (strcasecmp(k, "title") == 0)
            rc = dec_str(&d, "title", v, RU_JOB_TITLE);
        else if (strcasecmp(k, "userType") == 0)
            rc = dec_str(&d, "userType", v, RU_USER_TYPE);
        else if (strcasecmp(k, "preferredLanguage") == 0)
            rc = dec_str(&d, "preferredLanguage", v, RU_PREFERRED_LANGUAGE);
        else if (strcasecmp(k, "locale") == 0)
            rc = dec_str(&d, "locale", v, RU_LOCALE);
        else if (strcasecmp(k, "timezone") == 0)
            rc = dec_str(&d, "timezone", v, RU_TIMEZONE);
        else if (strcasecmp(k, "active") == 0) {
            if (!json_is_null(v))
                rc = dec_bool(&d, "active", v, &d.active);
        } else if (strcasecmp(k, "password") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v) || !json_string_length(v))
                rc = bad(&d, "password", "must be a non-empty string");
            else if (password)
                *password = roster_arena_strdup(a, json_string_value(v));
        } else if (strcasecmp(k, "emails") == 0)
            rc = dec_emails(&d, v);
        else if (strcasecmp(k, "phoneNumbers") == 0)
            rc = dec_phones(&d, v);
        else if (strcasecmp(k, "addresses") == 0)
            rc = dec_addresses(&d, v);
        else if (strcasecmp(k, SCIM_SCHEMA_ENTERPRISE) == 0)
            rc = dec_enterprise(&d, v);
        else {
            for (size_t i = 0; i < NELEM(kept_simple) && !rc; i++)
                if (strcasecmp(k, kept_simple[i]) == 0)
                    rc = dec_kept_str(&d, d.scim, kept_simple[i], v, kept_simple[i]);
            for (size_t i = 0; i < NELEM(kept_multi) && !rc; i++) {
                if (strcasecmp(k, kept_multi[i]) != 0 || json_is_null(v))
                    continue;
                if (!json_is_array(v))
                    rc = bad(&d, kept_multi[i], "must be an array");
                else if (json_array_size(v))
                    json_object_set(d.scim, kept_multi[i], v);
            }
            /* id, meta, groups, schemas and unknown attributes are ignored */
        }
        if (rc)
            break;
    }
    if (!rc && (!out->f[RU_USERNAME] || !*out->f[RU_USERNAME]))
        rc = bad(&d, "userName", "is required");
    if (!rc) {
        if (json_object_size(d.scim)) {
            json_t *extra = json_object();
            json_object_set(extra, ROSTER_EXTRA_SCIM, d.scim);
            char *text = json_dumps(extra, JSON_COMPACT);
            out->f[RU_EXTRA] = roster_arena_strdup(a, text);
            free(text);
            json_decref(extra);
        } else if (put) {
            out->f[RU_EXTRA] = roster_arena_strdup(a, "{\"" ROSTER_EXTRA_SCIM "\":null}");
        }
        out->state = d.active == 0 ? ROSTER_SUSPENDED : ROSTER_ACTIVATED;
        if (d.active >= 0 || !put)
            out->set |= ROSTER_USET_STATE;
        if (put)
            for (size_t i = 0; i < NELEM(mapped); i++)
                out->set |= 1ull << mapped[i];
    }
    json_decref(d.scim);
    return rc;
}

int scim_user_decode(const char *json, size_t len, bool put, struct roster_user *out,
                     struct roster_arena *a, struct roster_err *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return roster_err_set(err, ROSTER_EINVAL, "a User is not valid JSON: %s", jerr.text);
    int rc = scim_user_decode_json(doc, put, out, NULL, a, err);
    json_decref(doc);
    return rc;
}

/* --- the single-user operations --- */

/* The answer with the user u: status, its representation (projected by the request's
 * attributes / excludedAttributes), Location and ETag. */
static int answer_user(struct roster_req *r, const struct roster_user *u, int status,
                       struct scim_out *o)
{
    const char *base = scim_base_url(r);
    json_t *j = scim_user_json(u, base);
    struct scim_proj p;
    scim_proj_of_req(&p, r, SCIM_SCHEMA_USER);
    scim_project(j, &p);
    scim_out_json(o, status, j);
    json_decref(j);
    snprintf(o->location, sizeof(o->location), "%s/Users/%s", base, u->id);
    scim_etag(o->etag, u->version);
    return 0;
}

static int load(struct roster_req *r, const char *id, struct roster_user *u, struct scim_out *o)
{
    struct roster_err err = {0};
    int rc = roster_user_get(&r->ctx, id, u, &err);
    if (rc == ROSTER_ENOTFOUND)
        return scim_out_error(o, 404, NULL, "User \"%.64s\" not found", id);
    return rc ? scim_out_fail(o, rc, &err) : 0;
}

/* The SCIM error of a core failure of a user write. The validator and the store name
 * roster's fields by their JumpCloud labels; the message is given the SCIM name instead. */
static int write_fail(struct scim_out *o, int rc, struct roster_err *err)
{
    static const struct {
        const char *label, *scim;
    } names[] = {
        {"username", "userName"},
        {"email", "emails.value"},
        {"alternateEmail", "emails.value"},
        {"employeeIdentifier", "employeeNumber"},
        {"firstname", "name.givenName"},
        {"middlename", "name.middleName"},
        {"lastname", "name.familyName"},
        {"displayname", "displayName"},
        {"jobTitle", "title"},
        {"company", "organization"},
        {"manager", "manager.value"},
        {"phoneNumbers", "phoneNumbers"},
    };
    if (err->field && (rc == ROSTER_ECONFLICT || rc == ROSTER_EINVAL)) {
        for (size_t i = 0; i < NELEM(names); i++) {
            size_t n = strlen(names[i].label);
            if (strcmp(err->field, names[i].label) != 0 ||
                strncmp(err->msg, names[i].label, n) != 0)
                continue;
            const char *type = rc == ROSTER_ECONFLICT ? "uniqueness" : "invalidValue";
            return scim_out_error(o, rc == ROSTER_ECONFLICT ? 409 : 400, type, "%s%s",
                                  names[i].scim, err->msg + n);
        }
    }
    return scim_out_fail(o, rc, err);
}

int scim_users_post(struct roster_req *r, const char *body, size_t len, struct scim_out *o)
{
    json_t *doc;
    if (scim_parse_body(body, len, &doc, o))
        return -1;
    struct roster_user u;
    const char *password = NULL;
    struct roster_err err = {0};
    int rc = scim_user_decode_json(doc, false, &u, &password, r->ctx.arena, &err);
    json_decref(doc);
    if (rc)
        return scim_out_error(o, 400, "invalidValue", "%s", err.msg);
    struct roster_user_extras x = {password, NULL, 0};
    rc = roster_user_create_with(&r->ctx, &u, ROSTER_ACTIVATED, &x, &err);
    if (rc)
        return write_fail(o, rc, &err);
    return answer_user(r, &u, 201, o);
}

int scim_users_get(struct roster_req *r, const char *id, const char *if_none_match,
                   struct scim_out *o)
{
    struct roster_user u;
    if (load(r, id, &u, o))
        return -1;
    if (if_none_match && *if_none_match) {
        struct scim_out tmp;
        scim_out_init(&tmp);
        bool same = scim_precondition(NULL, if_none_match, u.version, &tmp) != 0;
        scim_out_release(&tmp);
        if (same) { /* RFC 7232 §3.2: a GET whose tag matches is 304 Not Modified */
            o->status = 304;
            roster_buf_reset(&o->body);
            scim_etag(o->etag, u.version);
            return 0;
        }
    }
    return answer_user(r, &u, 200, o);
}

/* Whether the decoded state only restates the current one: a STAGED user is not active, and
 * stays STAGED (not SUSPENDED) when a replacement says active false. */
static void keep_state(struct roster_user *p, const struct roster_user *cur)
{
    if ((p->set & ROSTER_USET_STATE) &&
        (p->state == ROSTER_ACTIVATED) == (cur->state == ROSTER_ACTIVATED))
        p->set &= ~ROSTER_USET_STATE;
}

/* Writes the replacement p (from a PUT or a patched document) over cur. */
static int replace(struct roster_req *r, const struct roster_user *cur, struct roster_user *p,
                   const char *password, int status, struct scim_out *o)
{
    struct roster_err err = {0};
    keep_state(p, cur);
    struct roster_user out;
    int rc;
    if (password) {
        struct roster_user_extras x = {password, NULL, 0};
        rc = roster_user_update_with(&r->ctx, cur->id, p, false, &x, &err);
        if (!rc)
            rc = roster_user_get(&r->ctx, cur->id, &out, &err);
    } else {
        rc = roster_user_update(&r->ctx, cur->id, p, false, &out, &err);
    }
    if (rc == ROSTER_ENOTFOUND)
        return scim_out_error(o, 404, NULL, "User \"%.64s\" not found", cur->id);
    if (rc)
        return write_fail(o, rc, &err);
    if (status == 204) {
        o->status = 204;
        roster_buf_reset(&o->body);
        scim_etag(o->etag, out.version);
        return 0;
    }
    return answer_user(r, &out, status, o);
}

int scim_users_put(struct roster_req *r, const char *id, const char *body, size_t len,
                   const char *if_match, struct scim_out *o)
{
    struct roster_user cur;
    if (load(r, id, &cur, o) || scim_precondition(if_match, NULL, cur.version, o))
        return -1;
    json_t *doc;
    if (scim_parse_body(body, len, &doc, o))
        return -1;
    struct roster_user p;
    const char *password = NULL;
    struct roster_err err = {0};
    int rc = scim_user_decode_json(doc, true, &p, &password, r->ctx.arena, &err);
    json_decref(doc);
    if (rc)
        return scim_out_error(o, 400, "invalidValue", "%s", err.msg);
    return replace(r, &cur, &p, password, 200, o);
}

/* PATCH is a read-modify-write of the user's SCIM representation: the write is made against
 * the version read (roster_user_update_from), and when another request changed the user in
 * between, the user is read again and the operations re-applied, so concurrent PATCHes of
 * different attributes all take effect. With If-Match, a change in between is 412. */
#define PATCH_ATTEMPTS 8
int scim_users_patch(struct roster_req *r, const char *id, const char *body, size_t len,
                     const char *if_match, struct scim_out *o)
{
    struct roster_user cur;
    if (load(r, id, &cur, o) || scim_precondition(if_match, NULL, cur.version, o))
        return -1;
    json_t *patch;
    if (scim_parse_body(body, len, &patch, o))
        return -1;
    struct scim_proj proj;
    scim_proj_of_req(&proj, r, SCIM_SCHEMA_USER);
    int status = scim_proj_empty(&proj) ? 204 : 200;
    int rc = 0;
    for (int attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
        if (attempt && load(r, id, &cur, o)) {
            rc = -1;
            break;
        }
        json_t *doc = scim_user_json(&cur, NULL);
        if (scim_patch_apply(doc, patch, SCIM_SCHEMA_USER, o)) {
            json_decref(doc);
            rc = -1;
            break;
        }
        struct roster_user p;
        const char *password = NULL;
        struct roster_err err = {0};
        rc = scim_user_decode_json(doc, true, &p, &password, r->ctx.arena, &err);
        json_decref(doc);
        if (rc) {
            rc = scim_out_error(o, 400, "invalidValue", "%s", err.msg);
            break;
        }
        if (password) { /* with the password's hash, in core's one transaction */
            rc = replace(r, &cur, &p, password, status, o);
            break;
        }
        keep_state(&p, &cur);
        struct roster_user out;
        rc = roster_user_update_from(&r->ctx, &cur, &p, false, &out, &err);
        if (rc == ROSTER_ESTALE && !(if_match && *if_match))
            continue; /* another request wrote the user since our read: read and apply again */
        if (rc == ROSTER_ESTALE) {
            rc = scim_out_error(o, 412, NULL, "User \"%.64s\" was changed by another request",
                                cur.id);
        } else if (rc == ROSTER_ENOTFOUND) {
            rc = scim_out_error(o, 404, NULL, "User \"%.64s\" not found", cur.id);
        } else if (rc) {
            rc = write_fail(o, rc, &err);
        } else if (status == 204) {
            o->status = 204;
            roster_buf_reset(&o->body);
            scim_etag(o->etag, out.version);
        } else {
            rc = answer_user(r, &out, status, o);
        }
        break;
    }
    json_decref(patch);
    if (rc == ROSTER_ESTALE) /* every attempt met another writer */
        rc = scim_out_error(o, 503, NULL,
                            "User \"%.64s\" is being changed by other requests, retry the PATCH",
                            cur.id);
    return rc;
}

int scim_users_delete(struct roster_req *r, const char *id, const char *if_match,
                      struct scim_out *o)
{
    struct roster_user cur;
    if (load(r, id, &cur, o) || scim_precondition(if_match, NULL, cur.version, o))
        return -1;
    struct roster_err err = {0};
    const char *ids[] = {cur.id};
    int rc = roster_users_delete(&r->ctx, ids, 1, &err);
    if (rc == ROSTER_ENOTFOUND)
        return scim_out_error(o, 404, NULL, "User \"%.64s\" not found", id);
    if (rc)
        return scim_out_fail(o, rc, &err);
    o->status = 204;
    roster_buf_reset(&o->body);
    return 0;
}

/* --- HTTP handlers of single users --- */

static const char *path_id(struct roster_req *r)
{
    return r->nparams ? r->params[0] : "";
}

#define RUN(call)                                                                                  \
    do {                                                                                           \
        struct scim_out o;                                                                         \
        scim_out_init(&o);                                                                         \
        (void)(call);                                                                              \
        scim_out_send(r, &o);                                                                      \
        scim_out_release(&o);                                                                      \
    } while (0)

void scim_users_create_h(struct roster_req *r)
{
    RUN(scim_users_post(r, r->body, r->body_len, &o));
}

void scim_users_get_h(struct roster_req *r)
{
    RUN(scim_users_get(r, path_id(r), roster_req_header(r, "If-None-Match"), &o));
}

void scim_users_put_h(struct roster_req *r)
{
    RUN(scim_users_put(r, path_id(r), r->body, r->body_len, roster_req_header(r, "If-Match"), &o));
}

void scim_users_patch_h(struct roster_req *r)
{
    RUN(scim_users_patch(r, path_id(r), r->body, r->body_len, roster_req_header(r, "If-Match"),
                         &o));
}

void scim_users_delete_h(struct roster_req *r)
{
    RUN(scim_users_delete(r, path_id(r), roster_req_header(r, "If-Match"), &o));
}

/* --- lists --- */

/* sortBy attribute -> key */
static const struct roster_qname sort_names[] = {
    {"userName", RU_USERNAME},
    {"externalId", RU_EXTERNAL_ID},
    {"id", RQ_ID},
    {"displayName", RU_DISPLAY_NAME},
    {"name.givenName", RU_FIRST_NAME},
    {"name.familyName", RU_LAST_NAME},
    {"name.middleName", RU_MIDDLE_NAME},
    {"emails", RU_EMAIL},
    {"emails.value", RU_EMAIL},
    {"title", RU_JOB_TITLE},
    {"userType", RU_USER_TYPE},
    {"locale", RU_LOCALE},
    {"preferredLanguage", RU_PREFERRED_LANGUAGE},
    {"timezone", RU_TIMEZONE},
    {"active", RQ_STATE},
    {"meta.created", RQ_CREATED},
    {"meta.lastModified", RQ_MODIFIED},
    {SCIM_SCHEMA_ENTERPRISE ":employeeNumber", RU_EMPLOYEE_ID},
    {SCIM_SCHEMA_ENTERPRISE ":department", RU_DEPARTMENT},
    {SCIM_SCHEMA_ENTERPRISE ":costCenter", RU_COST_CENTER},
    {SCIM_SCHEMA_ENTERPRISE ":organization", RU_COMPANY},
    {NULL, 0},
};

struct list_args {
    const char *filter, *sort_by, *sort_order;
    int64_t start, count;
    struct scim_proj proj;
};

/* Parses an integer parameter; -1 with a 400 invalidValue in o when it is not one. */
static int int_param(const char *name, const char *s, int64_t *out, struct scim_out *o)
{
    if (!s)
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || s[0] == ' ')
        return scim_out_error(o, 400, "invalidValue", "%s \"%.64s\" is not an integer", name, s);
    *out = v;
    return 0;
}

static void send_list(struct roster_req *r, struct list_args *la)
{
    struct scim_out o;
    scim_out_init(&o);
    struct roster_query q;
    roster_query_init(&q);
    struct roster_err err = {0};
    if (la->filter && *la->filter) {
        int rc = scim_users_filter(&q, la->filter, r->ctx.arena, &err);
        if (rc) {
            scim_out_error(&o, 400, "invalidFilter", "%s", err.msg);
            goto done;
        }
    }
    if (la->sort_by && *la->sort_by) {
        const char *name = la->sort_by;
        size_t ul = strlen(SCIM_SCHEMA_USER);
        if (strncasecmp(name, SCIM_SCHEMA_USER ":", ul + 1) == 0)
            name += ul + 1;
        const struct roster_qname *n = sort_names;
        while (n->name && strcasecmp(n->name, name) != 0)
            n++;
        if (!n->name) {
            scim_out_error(&o, 400, "invalidValue", "sortBy \"%.64s\" is not a sortable attribute",
                           la->sort_by);
            goto done;
        }
        bool desc = false;
        if (la->sort_order && *la->sort_order) {
            if (strcasecmp(la->sort_order, "descending") == 0)
                desc = true;
            else if (strcasecmp(la->sort_order, "ascending") != 0) {
                scim_out_error(&o, 400, "invalidValue",
                               "sortOrder \"%.64s\" is neither ascending nor descending",
                               la->sort_order);
                goto done;
            }
        }
        q.sorts[q.nsorts++] = (struct roster_sort){n->key, desc};
    }
    /* RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0 */
    int64_t start = la->start < 1 ? 1 : la->start;
    int64_t count = la->count < 0 ? 0 : la->count;
    if (count > SCIM_FILTER_MAX_RESULTS)
        count = SCIM_FILTER_MAX_RESULTS;
    q.skip = start - 1;
    q.limit = count;
    q.want_total = true;
    struct roster_list_result res;
    int rc = roster_users_list(&r->ctx, &q, NULL, NULL, NULL, &res, &err);
    if (rc) {
        scim_out_fail(&o, rc, &err);
        goto done;
    }
    const char *base = scim_base_url(r);
    json_t *list = json_object();
    json_t *schemas = json_array();
    json_array_append_new(schemas, json_string(SCIM_MSG_LIST));
    json_object_set_new(list, "schemas", schemas);
    json_object_set_new(list, "totalResults", json_integer(res.total));
    json_object_set_new(list, "startIndex", json_integer(start));
    json_object_set_new(list, "itemsPerPage", json_integer((json_int_t)res.n));
    if (scim_proj_empty(&la->proj)) {
        /* the users written straight into the body (jansson only for the few with SCIM
         * extras): a page of 1,000 users costs a third of building it as one document */
        json_object_set_new(list, "Resources", json_array());
        scim_out_json(&o, 200, list);
        json_decref(list);
        o.body.len -= 3; /* drops "[]}" */
        struct roster_jsonw w;
        roster_jsonw_init(&w, &o.body);
        roster_jsonw_arr_begin(&w);
        for (size_t i = 0; i < res.n; i++)
            scim_user_write(&w, &res.rows[i], base);
        roster_jsonw_arr_end(&w);
        roster_buf_addch(&o.body, '}');
        goto done;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < res.n; i++) {
        json_t *j = scim_user_json(&res.rows[i], base);
        scim_project(j, &la->proj);
        json_array_append_new(items, j);
    }
    json_object_set_new(list, "Resources", items);
    scim_out_json(&o, 200, list);
    json_decref(list);
done:
    scim_out_send(r, &o);
    scim_out_release(&o);
}

void scim_users_list(struct roster_req *r)
{
    struct list_args la = {0};
    la.filter = roster_req_query(r, "filter");
    la.sort_by = roster_req_query(r, "sortBy");
    la.sort_order = roster_req_query(r, "sortOrder");
    la.start = 1;
    la.count = SCIM_DEFAULT_COUNT;
    scim_proj_of_req(&la.proj, r, SCIM_SCHEMA_USER);
    struct scim_out o;
    scim_out_init(&o);
    if (int_param("startIndex", roster_req_query(r, "startIndex"), &la.start, &o) ||
        int_param("count", roster_req_query(r, "count"), &la.count, &o)) {
        scim_out_send(r, &o);
        scim_out_release(&o);
        return;
    }
    scim_out_release(&o);
    send_list(r, &la);
}

/* A SearchRequest's "attributes" / "excludedAttributes": an array of strings (or one
 * comma-separated string), joined for scim_proj_parse. */
static int join_names(json_t *v, const char *what, struct roster_arena *a, const char **out,
                      struct scim_out *o)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        *out = roster_arena_strdup(a, json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return scim_out_error(o, 400, "invalidValue", "%s must be an array of strings", what);
    struct roster_buf b;
    roster_buf_init(&b);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            roster_buf_release(&b);
            return scim_out_error(o, 400, "invalidValue", "%s must be an array of strings", what);
        }
        if (i)
            roster_buf_addch(&b, ',');
        roster_buf_addstr(&b, json_string_value(e));
    }
    *out = roster_arena_strdup(a, b.data ? b.data : "");
    roster_buf_release(&b);
    return 0;
}

static int str_member(json_t *doc, const char *name, const char **out, struct roster_arena *a,
                      struct scim_out *o)
{
    json_t *v = get_ci(doc, name, NULL);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return scim_out_error(o, 400, "invalidValue", "%s must be a string", name);
    *out = roster_arena_strdup(a, json_string_value(v));
    return 0;
}

static int int_member(json_t *doc, const char *name, int64_t *out, struct scim_out *o)
{
    json_t *v = get_ci(doc, name, NULL);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return scim_out_error(o, 400, "invalidValue", "%s must be an integer", name);
    *out = json_integer_value(v);
    return 0;
}

void scim_users_search(struct roster_req *r)
{
    struct scim_out o;
    scim_out_init(&o);
    json_t *doc = NULL;
    struct list_args la = {0};
    la.start = 1;
    la.count = SCIM_DEFAULT_COUNT;
    const char *attrs = NULL, *excl = NULL;
    struct roster_arena *a = r->ctx.arena;
    if (scim_parse_body(r->body, r->body_len, &doc, &o) ||
        join_names(get_ci(doc, "attributes", NULL), "attributes", a, &attrs, &o) ||
        join_names(get_ci(doc, "excludedAttributes", NULL), "excludedAttributes", a, &excl, &o) ||
        str_member(doc, "filter", &la.filter, a, &o) ||
        str_member(doc, "sortBy", &la.sort_by, a, &o) ||
        str_member(doc, "sortOrder", &la.sort_order, a, &o) ||
        int_member(doc, "startIndex", &la.start, &o) || int_member(doc, "count", &la.count, &o)) {
        json_decref(doc);
        scim_out_send(r, &o);
        scim_out_release(&o);
        return;
    }
    json_decref(doc);
    scim_out_release(&o);
    scim_proj_parse(&la.proj, attrs, excl, SCIM_SCHEMA_USER, a);
    send_list(r, &la);
}
