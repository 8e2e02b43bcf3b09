/* Store contract suite (contract.h): organisations, API keys and service-account keys
 * (Voximplant JWT).
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- organisations --- */

void test_orgs(void)
{
    struct roster_err err = {0};
    struct roster_org got;

    need_orgs();
    /* the store answers (GET /readyz) */
    CHECK_EQ_INT(roster_store_ping(conn, &err), 0);
    CHECK(roster_id_valid(org_a.id));
    CHECK(org_a.num_id > 0);
    CHECK(org_a.created_ms > 0);
    CHECK(strcmp(org_a.id, org_b.id) != 0);
    CHECK(org_a.num_id != org_b.num_id);

    CHECK_EQ_INT(roster_store_org_get(conn, org_a.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, org_a.id);
    CHECK_EQ_INT(got.num_id, org_a.num_id);
    CHECK_EQ_STR(got.name, "Org A");
    CHECK(got.address == NULL);
    CHECK_EQ_INT(got.default_state_bulk, ROSTER_ACTIVATED);
    CHECK_EQ_INT(got.default_state_manual, ROSTER_ACTIVATED);
    CHECK_EQ_INT(got.created_ms, org_a.created_ms);

    /* a caller-chosen id is kept; the same id twice is a conflict */
    struct roster_org c = {0};
    roster_id_new(c.id);
    char chosen[ROSTER_ID_LEN + 1];
    memcpy(chosen, c.id, sizeof(chosen));
    c.name = "Org C";
    CHECK_EQ_INT(roster_store_org_create(conn, &c, &err), 0);
    CHECK_EQ_STR(c.id, chosen);
    struct roster_org dup = {0};
    memcpy(dup.id, chosen, sizeof(dup.id));
    dup.name = "dup";
    CHECK_EQ_INT(roster_store_org_create(conn, &dup, &err), ROSTER_ECONFLICT);

    /* update replaces name, company block and default states */
    c.name = "Org C renamed";
    c.address = "1 Main St";
    c.city = "Springfield";
    c.region = "IL";
    c.zip = "62701";
    c.country = "US";
    c.default_state_bulk = ROSTER_STAGED;
    c.default_state_app_import = ROSTER_SUSPENDED;
    c.default_state_manual = ROSTER_STAGED;
    CHECK_EQ_INT(roster_store_org_update(conn, &c, &err), 0);
    CHECK_EQ_INT(roster_store_org_get(conn, c.id, &got, &A, &err), 0);
    CHECK_EQ_STR(got.name, "Org C renamed");
    CHECK_EQ_STR(got.address, "1 Main St");
    CHECK_EQ_STR(got.city, "Springfield");
    CHECK_EQ_STR(got.region, "IL");
    CHECK_EQ_STR(got.zip, "62701");
    CHECK_EQ_STR(got.country, "US");
    CHECK_EQ_INT(got.default_state_bulk, ROSTER_STAGED);
    CHECK_EQ_INT(got.default_state_app_import, ROSTER_SUSPENDED);
    CHECK_EQ_INT(got.default_state_manual, ROSTER_STAGED);
    CHECK_EQ_INT(got.num_id, c.num_id);

    struct roster_org missing = {0};
    roster_id_new(missing.id);
    missing.name = "nobody";
    CHECK_EQ_INT(roster_store_org_update(conn, &missing, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_org_get(conn, missing.id, &got, &A, &err), ROSTER_ENOTFOUND);

    struct roster_org *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_org_list(conn, &A, &list, &n, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, org_a.id) == 0 && strcmp(list[i].name, "Org A") == 0)
            seen |= 1;
        if (strcmp(list[i].id, org_b.id) == 0 && list[i].num_id == org_b.num_id)
            seen |= 2;
        if (strcmp(list[i].id, c.id) == 0 && strcmp(list[i].name, "Org C renamed") == 0)
            seen |= 4;
    }
    CHECK_EQ_INT(seen, 7);
}

/* --- API keys --- */

void test_keys(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_key k = {0}, got;
    char secret[33];
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), k.hash);
    memcpy(k.org_id, org_a.id, sizeof(k.org_id));
    k.name = "ci key";
    k.all_orgs = true;
    CHECK_EQ_INT(roster_store_key_create(conn, &k, &err), 0);
    CHECK(roster_id_valid(k.id));
    CHECK(k.created_ms > 0);

    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), 0);
    CHECK_EQ_STR(got.id, k.id);
    CHECK_EQ_STR(got.org_id, org_a.id);
    CHECK_EQ_STR(got.name, "ci key");
    CHECK_EQ_STR(got.hash, k.hash);
    CHECK(got.all_orgs);
    CHECK_EQ_INT(got.revoked_ms, 0);
    CHECK_EQ_INT(got.created_ms, k.created_ms);

    char other[65];
    roster_sha256_hex("not a key", 9, other);
    CHECK_EQ_INT(roster_store_key_find(conn, other, &got, &A, &err), ROSTER_ENOTFOUND);

    /* the same secret twice is refused */
    struct roster_key dup = {0};
    memcpy(dup.hash, k.hash, sizeof(dup.hash));
    memcpy(dup.org_id, org_b.id, sizeof(dup.org_id));
    dup.name = "dup";
    CHECK_EQ_INT(roster_store_key_create(conn, &dup, &err), ROSTER_ECONFLICT);

    /* a key of a missing organisation is refused */
    struct roster_key orphan = {0};
    roster_sha256_hex("orphan", 6, orphan.hash);
    roster_id_new(orphan.org_id);
    orphan.name = "orphan";
    CHECK(roster_store_key_create(conn, &orphan, &err) != 0);

    /* a second key, then revoke it */
    struct roster_key k2 = {0};
    roster_id_new(secret);
    roster_sha256_hex(secret, strlen(secret), k2.hash);
    memcpy(k2.org_id, org_b.id, sizeof(k2.org_id));
    k2.name = "to revoke";
    CHECK_EQ_INT(roster_store_key_create(conn, &k2, &err), 0);
    CHECK(!k2.all_orgs);
    CHECK_EQ_INT(roster_store_key_find(conn, k2.hash, &got, &A, &err), 0);
    CHECK(!got.all_orgs);
    CHECK_EQ_INT(roster_store_key_revoke(conn, k2.id, &err), 0);
    CHECK_EQ_INT(roster_store_key_find(conn, k2.hash, &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_key_find(conn, k.hash, &got, &A, &err), 0);
    char missing[ROSTER_ID_LEN + 1];
    roster_id_new(missing);
    CHECK_EQ_INT(roster_store_key_revoke(conn, missing, &err), ROSTER_ENOTFOUND);

    struct roster_key *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(roster_store_key_list(conn, &A, &list, &n, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, k.id) == 0 && list[i].revoked_ms == 0)
            seen |= 1;
        if (strcmp(list[i].id, k2.id) == 0 && list[i].revoked_ms > 0 &&
            strcmp(list[i].org_id, org_b.id) == 0)
            seen |= 2;
    }
    CHECK_EQ_INT(seen, 3);
}

/* --- service-account keys (Voximplant JWT) --- */

void test_service_keys(void)
{
    struct roster_err err = {0};
    need_orgs();
    struct roster_sa_key k = {0}, f;
    snprintf(k.org_id, sizeof(k.org_id), "%s", org_a.id);
    k.name = "vox";
    k.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &k, &err), 0);
    CHECK(roster_id_valid(k.id));
    CHECK(k.created_ms > 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k.id, &f, &A, &err), 0);
    CHECK_EQ_STR(f.id, k.id);
    CHECK_EQ_STR(f.org_id, org_a.id);
    CHECK_EQ_STR(f.name, "vox");
    CHECK_EQ_STR(f.public_key_pem, k.public_key_pem);
    CHECK_EQ_INT(f.revoked_ms, 0);
    /* the same id again is a conflict; an unknown organisation is not found */
    struct roster_sa_key dup = k;
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &dup, &err), ROSTER_ECONFLICT);
    struct roster_sa_key orphan = {0};
    snprintf(orphan.org_id, sizeof(orphan.org_id), "%s", "0123456789abcdef01234567");
    orphan.public_key_pem = "x";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &orphan, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, "0123456789abcdef01234567", &f, &A, &err),
                 ROSTER_ENOTFOUND);
    /* the store works inside a caller's transaction after a failed create */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &dup, &err), ROSTER_ECONFLICT);
    struct roster_sa_key k2 = {0};
    snprintf(k2.org_id, sizeof(k2.org_id), "%s", org_b.id);
    k2.public_key_pem = "pem2";
    CHECK_EQ_INT(roster_store_sa_key_create(conn, &k2, &err), 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k2.id, &f, &A, &err), 0);
    CHECK_EQ_STR(f.org_id, org_b.id);
    /* revoked keys are not found; revoking twice is fine; unknown ids are not found */
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, k.id, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k.id, &f, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, k.id, &err), 0);
    CHECK_EQ_INT(roster_store_sa_key_revoke(conn, "0123456789abcdef01234567", &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_sa_key_find(conn, k2.id, &f, &A, &err), 0);
}
