/* Store contract suite (contract.h): message templates (template_put, template_get,
 * template_list, template_delete): replace in place, order by name, isolation between
 * organisations, inside a caller's transaction.
 */
#include <string.h>

#include "contract.h"

static void put(const char *org_id, const char *name, const char *content, bool want_created)
{
    struct roster_err err = {0};
    struct roster_template t = {0};
    memcpy(t.org_id, org_id, ROSTER_ID_LEN);
    t.name = name;
    t.content_json = content;
    bool created = !want_created;
    int64_t before = roster_now_ms();
    CHECK_EQ_INT(roster_store_template_put(conn, &t, &created, &err), 0);
    CHECK(created == want_created);
    CHECK(t.updated_ms >= before && t.updated_ms <= roster_now_ms());
}

void test_templates(void)
{
    struct roster_err err = {0};
    struct roster_template got, *v;
    size_t n = 99;
    need_orgs();
    /* a fresh organisation: nothing stored yet */
    struct roster_org o;
    make_org(&o, "Templates");
    CHECK_EQ_INT(roster_store_template_list(conn, o.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "welcome", &got, &A, &err),
                 ROSTER_ENOTFOUND);
    CHECK(strstr(err.msg, "welcome") != NULL);

    put(o.id, "welcome", "{\"title\":\"Hi {{name}}\",\"body\":\"B\"}", true);
    put(o.id, "activation", "{\"version\":\"2022-01-01\",\"elements\":[]}", true);
    put(o.id, "Zo\xc3\xab \"quoted\"", "{\"title\":\"t\",\"body\":\"b\"}", true);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "welcome", &got, &A, &err), 0);
    CHECK_EQ_STR(got.org_id, o.id);
    CHECK_EQ_STR(got.name, "welcome");
    CHECK_EQ_STR(got.content_json, "{\"title\":\"Hi {{name}}\",\"body\":\"B\"}");
    int64_t first = got.updated_ms;

    /* a second put replaces the content: not created, one row */
    sleep_ms(2);
    put(o.id, "welcome", "{\"title\":\"Hello\",\"body\":\"again\"}", false);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "welcome", &got, &A, &err), 0);
    CHECK_EQ_STR(got.content_json, "{\"title\":\"Hello\",\"body\":\"again\"}");
    CHECK(got.updated_ms > first);

    /* names are exact (case matters) and listed in byte order */
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "Welcome", &got, &A, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_list(conn, o.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(v[0].name, "Zo\xc3\xab \"quoted\"");
        CHECK_EQ_STR(v[1].name, "activation");
        CHECK_EQ_STR(v[2].name, "welcome");
        CHECK_EQ_STR(v[2].content_json, "{\"title\":\"Hello\",\"body\":\"again\"}");
        CHECK_EQ_STR(v[1].org_id, o.id);
    }

    /* isolation: org A's template of the same name is its own; another org's is absent */
    CHECK_EQ_INT(roster_store_template_get(conn, org_b.id, "welcome", &got, &A, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_delete(conn, org_b.id, "welcome", &err), ROSTER_ENOTFOUND);
    put(org_b.id, "welcome", "{\"title\":\"B's\",\"body\":\"own\"}", true);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "welcome", &got, &A, &err), 0);
    CHECK_EQ_STR(got.content_json, "{\"title\":\"Hello\",\"body\":\"again\"}");
    CHECK_EQ_INT(roster_store_template_list(conn, org_b.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 1);

    /* a missing organisation */
    char nowhere[ROSTER_ID_LEN + 1];
    roster_id_new(nowhere);
    struct roster_template t = {0};
    memcpy(t.org_id, nowhere, ROSTER_ID_LEN);
    t.name = "x";
    t.content_json = "{}";
    CHECK_EQ_INT(roster_store_template_put(conn, &t, NULL, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_get(conn, nowhere, "welcome", &got, &A, &err),
                 ROSTER_ENOTFOUND);

    /* delete: gone, a second delete is not found, the others stay */
    CHECK_EQ_INT(roster_store_template_delete(conn, o.id, "welcome", &err), 0);
    CHECK_EQ_INT(roster_store_template_delete(conn, o.id, "welcome", &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "welcome", &got, &A, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_get(conn, org_b.id, "welcome", &got, &A, &err), 0);
    CHECK_EQ_INT(roster_store_template_list(conn, o.id, &A, &v, &n, &err), 0);
    CHECK_EQ_INT(n, 2);

    /* inside a caller's transaction: a rollback takes the put back, a failure (missing
     * organisation) leaves the transaction usable */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    put(o.id, "rolled", "{\"title\":\"r\",\"body\":\"r\"}", true);
    CHECK_EQ_INT(roster_store_template_put(conn, &t, NULL, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "rolled", &got, &A, &err), 0);
    roster_store_rollback(conn);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "rolled", &got, &A, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    put(o.id, "kept", "{\"title\":\"k\",\"body\":\"k\"}", true);
    CHECK_EQ_INT(roster_store_template_put(conn, &t, NULL, &err), ROSTER_ENOTFOUND);
    put(o.id, "kept", "{\"title\":\"k2\",\"body\":\"k\"}", false);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    CHECK_EQ_INT(roster_store_template_get(conn, o.id, "kept", &got, &A, &err), 0);
    CHECK_EQ_STR(got.content_json, "{\"title\":\"k2\",\"body\":\"k\"}");
}
