/* Typed groups (Voximplant applications, skills and ACD queues; plain groups) with their
 * user memberships, and service-account keys (the public half of a key pair whose private
 * half signs RS256 JWTs). Stored by every backend (include/roster/store.h).
 */
#ifndef ROSTER_GROUP_H
#define ROSTER_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "roster/query.h"
#include "roster/util.h"

enum roster_group_kind {
    ROSTER_GROUP_PLAIN = 0,
    ROSTER_GROUP_APPLICATION = 1,
    ROSTER_GROUP_SKILL = 2,
    ROSTER_GROUP_QUEUE = 3,
};

struct roster_group {
    int64_t num_id; /* assigned by the store: application_id, skill_id, acd_queue_id */
    char org_id[ROSTER_ID_LEN + 1];
    int kind;              /* enum roster_group_kind */
    const char *name;      /* unique per organisation and kind */
    int64_t parent_num_id; /* a queue's application (0: none) */
    const char *extra;     /* JSON object of kind-specific settings, or NULL */
    int64_t created_ms, modified_ms;
    int64_t version; /* 1 at creation, bumped by every write to the group or its members */
};

/* Which groups group_list returns: all conditions ANDed; 0/NULL means "any". */
struct roster_group_query {
    int kind;
    int64_t num_id;
    const char *name;      /* exact name */
    const char *name_part; /* case-insensitive substring of the name */
    int64_t parent_num_id;
    int64_t skip;
    int64_t limit; /* < 0: no limit */
    bool want_total;
    bool by_name; /* ordered by name (then num_id) instead of num_id */
};

/* One member of a group, as group_members lists them. */
struct roster_group_member {
    int64_t user_num_id;
    char user_id[ROSTER_ID_LEN + 1];
    const char *username;
    const char *display_name; /* NULL when the user has none */
};

/* One membership: user user_num_id is in group g. */
struct roster_membership {
    int64_t user_num_id;
    struct roster_group g;
};

/* A service-account key: roster keeps only the public key (PEM SubjectPublicKeyInfo). */
struct roster_sa_key {
    char id[ROSTER_ID_LEN + 1]; /* the JWT "kid" and credentials.json key_id */
    char org_id[ROSTER_ID_LEN + 1];
    const char *name;
    const char *public_key_pem;
    int64_t created_ms;
    int64_t revoked_ms; /* 0 = active */
};

#endif
