/* The directory user, the organisation and the credential: the core model shared by
 * every dialect and both store backends, plus the one validator that the single-user
 * paths, every bulk path and the importer call.
 *
 * String fields live in one array indexed by enum roster_ufield so that dialects and
 * stores can map them with tables instead of code per field. A NULL entry means "no value".
 * JSON-valued fields (phones, attributes, addresses, extra) hold compact JSON text.
 */
#ifndef ROSTER_USER_H
#define ROSTER_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/err.h"
#include "roster/util.h"

enum roster_ufield {
    RU_USERNAME,
    RU_EMAIL,
    RU_EMPLOYEE_ID,
    RU_FIRST_NAME,
    RU_MIDDLE_NAME,
    RU_LAST_NAME,
    RU_DISPLAY_NAME,
    RU_DEPARTMENT,
    RU_COST_CENTER,
    RU_COMPANY,
    RU_JOB_TITLE,
    RU_LOCATION,
    RU_MANAGER,
    RU_COUNTRY_CODE,
    RU_ALTERNATE_EMAIL,
    RU_DESCRIPTION,
    RU_EMPLOYEE_TYPE,
    RU_CUSTOM_DATA,
    /* SCIM-only fields (roster_ufield_info.scim_only): no other dialect reads or shows them */
    RU_EXTERNAL_ID,        /* SCIM externalId: the client's id; indexed, not unique */
    RU_USER_TYPE,          /* SCIM userType */
    RU_PREFERRED_LANGUAGE, /* SCIM preferredLanguage */
    RU_LOCALE,             /* SCIM locale */
    RU_TIMEZONE,           /* SCIM timezone */
    RU_PHONES,             /* JSON array of {"type","number"} */
    RU_ATTRIBUTES,         /* JSON array of {"name","value"} */
    RU_ADDRESSES,          /* JSON array of address objects */
    RU_EXTRA,              /* JSON object of dialect-specific fields kept verbatim (and
                            * ROSTER_EXTRA_SCIM) */
    RU_NFIELDS
};

enum roster_ufield_kind { RU_KIND_STR, RU_KIND_JSON_ARRAY, RU_KIND_JSON_OBJECT };

struct roster_ufield_info {
    const char *column; /* store column name, also the canonical name in logs */
    const char *label;  /* the name clients know (JumpCloud spelling), used in messages */
    int kind;           /* enum roster_ufield_kind */
    unsigned max_len;   /* max characters for strings, 0 = unlimited */
    bool scim_only;     /* only the SCIM dialect reads and writes it (RU_EXTERNAL_ID...) */
};
extern const struct roster_ufield_info roster_ufields[RU_NFIELDS];

/* The key of the RU_EXTRA object under which the SCIM dialect keeps the SCIM attributes that
 * have no field of their own (nickName, profileUrl, name.formatted, ...): an object that no
 * other dialect shows. */
#define ROSTER_EXTRA_SCIM "scim"

enum roster_state { ROSTER_STAGED = 0, ROSTER_ACTIVATED = 1, ROSTER_SUSPENDED = 2 };
const char *roster_state_name(int state);          /* "STAGED" ... */
int roster_state_parse(const char *s, int *state); /* 0 or -1; exact upper case */

/* Bits of roster_user.set for fields that are not in f[] */
#define ROSTER_USET_STATE (1ull << 40)

struct roster_user {
    char id[ROSTER_ID_LEN + 1];
    int64_t num_id; /* numeric id (Voximplant user_id), assigned by the store */
    char org_id[ROSTER_ID_LEN + 1];
    const char *f[RU_NFIELDS];
    int state; /* enum roster_state */
    int64_t created_ms, modified_ms;
    int64_t version; /* starts at 1, +1 on every update */
    /* In a patch: bit (1ull << field) or ROSTER_USET_STATE for every field that was given
     * (a given field with f[x] == NULL clears it). Unused on full users. */
    uint64_t set;
};

#define ROSTER_USER_FIELD_SET(u, field) (((u)->set >> (field)) & 1u)

enum roster_validate_mode {
    ROSTER_VALIDATE_CREATE, /* username required (email optional); state may be STAGED */
    ROSTER_VALIDATE_UPDATE, /* the merged user after a patch; same rules as create */
};

/* Checks u against the directory rules: required fields, lengths, e-mail syntax,
 * characters allowed in username, JSON field shapes and attribute value lengths.
 * On failure returns ROSTER_EINVAL and a message naming the field and value. */
int roster_user_validate(const struct roster_user *u, int mode, struct roster_err *err);

/* Applies the fields set in patch onto u (shallow: pointers are copied). */
void roster_user_apply_patch(struct roster_user *u, const struct roster_user *patch);

/* Normalises fields in place before validation/storage: trims nothing, but lower-cases
 * nothing either (JumpCloud keeps case); returns nothing. Present for symmetry. */

struct roster_org {
    char id[ROSTER_ID_LEN + 1];
    int64_t num_id; /* Voximplant account_id */
    const char *name;
    /* company block (Concur) */
    const char *address, *city, *region, *zip, *country;
    /* default state of new users by creation path (JumpCloud newSystemUserStateDefaults) */
    int default_state_bulk;       /* creation-source jumpcloud:bulk (csvImport) */
    int default_state_app_import; /* other creation sources (applicationImport) */
    int default_state_manual;     /* single-user POST (manualEntry) */
    int64_t created_ms;
};

struct roster_key {
    char id[ROSTER_ID_LEN + 1];
    char org_id[ROSTER_ID_LEN + 1];
    const char *name;
    char hash[65]; /* SHA-256 hex of the secret; the secret itself is never stored */
    bool all_orgs; /* may select any organisation with x-org-id */
    int64_t created_ms;
    int64_t revoked_ms; /* 0 = active */
};

#endif
