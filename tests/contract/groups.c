/* Store contract suite (contract.h): typed groups (applications, skills, queues),
 * memberships and user password hashes.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"

/* --- typed groups, memberships, user password hashes --- */

/* "name,name" of the groups q lists in org_id */
static const char *glist(const char *org_id, const struct roster_group_query *q, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_group *v;
    size_t n;
    int rc = roster_store_group_list(conn, org_id, q, &A, &v, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s", i ? "," : "", v[i].name);
    const char *out = roster_arena_strdup(&A, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

/* "username,username" of the users of org_id matching q and conds */
static const char *glusers(const char *org_id, const struct roster_query *q,
                           const struct roster_group_cond *c, size_t nc, int64_t *total)
{
    struct roster_err err = {0};
    struct roster_user *v;
    size_t n;
    int rc = user_list_grouped(conn, org_id, q, c, nc, &A, &v, &n, total, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s", i ? "," : "", v[i].f[RU_USERNAME]);
    const char *out = roster_arena_strdup(&A, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

void test_groups(void)
{
    struct roster_err err = {0};
    struct roster_org og, oh;
    make_org(&og, "groups-org");
    make_org(&oh, "groups-other");
    struct roster_group app = mk_group(og.id, ROSTER_GROUP_APPLICATION, "app1", 0, 0);
    CHECK(app.num_id > 0);
    CHECK(app.created_ms > 0);
    CHECK_EQ_INT(app.modified_ms, app.created_ms);
    struct roster_group sk1 = mk_group(og.id, ROSTER_GROUP_SKILL, "English", 0, 0);
    struct roster_group sk2 = mk_group(og.id, ROSTER_GROUP_SKILL, "German", 0, 0);
    struct roster_group q1 = mk_group(og.id, ROSTER_GROUP_QUEUE, "sales", app.num_id, 0);
    CHECK(sk2.num_id > sk1.num_id);
    /* names are unique per organisation and kind */
    mk_group(og.id, ROSTER_GROUP_SKILL, "English", 0, ROSTER_ECONFLICT);
    mk_group(og.id, ROSTER_GROUP_QUEUE, "English", app.num_id, 0);
    mk_group(oh.id, ROSTER_GROUP_SKILL, "English", 0, 0);
    /* a parent of another organisation is not found */
    mk_group(oh.id, ROSTER_GROUP_QUEUE, "q-foreign", app.num_id, ROSTER_ENOTFOUND);
    mk_group("0123456789abcdef01234567", ROSTER_GROUP_SKILL, "x", 0, ROSTER_ENOTFOUND);

    struct roster_group_query gq = {0};
    gq.limit = -1;
    gq.want_total = true;
    int64_t total = -1;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "app1,English,German,sales,English");
    CHECK_EQ_INT(total, 5);
    gq.kind = ROSTER_GROUP_SKILL;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English,German");
    CHECK_EQ_STR(glist(oh.id, &gq, &total), "English");
    gq.name_part = "ERM";
    CHECK_EQ_STR(glist(og.id, &gq, &total), "German");
    gq.name_part = NULL;
    gq.name = "English";
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English");
    gq.name = NULL;
    gq.num_id = sk2.num_id;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "German");
    CHECK_EQ_STR(glist(oh.id, &gq, &total), ""); /* another org's id: nothing */
    CHECK_EQ_INT(total, 0);
    gq.num_id = 0;
    gq.kind = 0;
    gq.parent_num_id = app.num_id;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "sales,English");
    gq.parent_num_id = 0;
    gq.skip = 1;
    gq.limit = 2;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "English,German");
    CHECK_EQ_INT(total, 5);
    gq.limit = 0;
    CHECK_EQ_STR(glist(og.id, &gq, &total), "");
    CHECK_EQ_INT(total, 5);

    /* update: rename, conflicts, other organisations */
    struct roster_group up = sk2;
    up.name = "Deutsch";
    up.extra = "{\"k\":1}";
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), 0);
    CHECK(up.modified_ms >= sk2.modified_ms);
    gq = (struct roster_group_query){.kind = ROSTER_GROUP_SKILL, .num_id = sk2.num_id, .limit = 1};
    struct roster_group *gv;
    size_t gn;
    CHECK_EQ_INT(roster_store_group_list(conn, og.id, &gq, &A, &gv, &gn, NULL, &err), 0);
    CHECK_EQ_INT(gn, 1);
    if (gn == 1) {
        CHECK_EQ_STR(gv[0].name, "Deutsch");
        CHECK_EQ_STR(gv[0].extra, "{\"k\":1}");
        CHECK_EQ_INT(gv[0].kind, ROSTER_GROUP_SKILL);
        CHECK_EQ_STR(gv[0].org_id, og.id);
    }
    up.name = "English";
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), ROSTER_ECONFLICT);
    CHECK_EQ_STR(err.field, "name");
    up.name = "Deutsch2";
    CHECK_EQ_INT(roster_store_group_update(conn, oh.id, &up, &err), ROSTER_ENOTFOUND);
    up.kind = ROSTER_GROUP_QUEUE; /* the right id with the wrong kind */
    CHECK_EQ_INT(roster_store_group_update(conn, og.id, &up, &err), ROSTER_ENOTFOUND);

    /* users and memberships */
    struct roster_user u[4];
    const char *names[4] = {"gu-a", "gu-b", "gu-c", "gu-d"};
    int64_t un[4];
    for (int i = 0; i < 4; i++) {
        char *email = roster_arena_printf(&A, "%s@example.com", names[i]);
        make_user(&u[i], names[i], email);
        CHECK_EQ_INT(create(og.id, &u[i], &err), 0);
        un[i] = u[i].num_id;
    }
    struct roster_user foreign;
    make_user(&foreign, "gu-x", "gu-x@example.com");
    CHECK_EQ_INT(create(oh.id, &foreign, &err), 0);
    int64_t gapp[1] = {app.num_id}, gsk[2] = {sk1.num_id, sk2.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gapp, 1, un, 4, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 2, true, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, un + 2, 1, true, &err), 0);
    /* binding again is fine */
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, un + 2, 1, true, &err), 0);
    /* another organisation's user or group: not found, and nothing is written */
    int64_t mixed[2] = {un[3], foreign.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 1, mixed, 2, true, &err),
                 ROSTER_ENOTFOUND);
    int64_t fg[1] = {sk1.num_id};
    CHECK_EQ_INT(roster_store_group_bind(conn, oh.id, fg, 1, &foreign.num_id, 1, true, &err),
                 ROSTER_ENOTFOUND);
    struct roster_membership *mv;
    size_t mn;
    CHECK_EQ_INT(
        roster_store_group_memberships(conn, og.id, un, 4, ROSTER_GROUP_SKILL, &A, &mv, &mn, &err),
        0);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < mn; i++)
        roster_buf_printf(&b, "%s%lld:%s", i ? "," : "", (long long)(mv[i].user_num_id - un[0]),
                          mv[i].g.name);
    CHECK_EQ_STR(b.data ? b.data : "", "0:English,0:Deutsch,1:English,1:Deutsch,2:English");
    roster_buf_release(&b);
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un + 3, 1, ROSTER_GROUP_SKILL, &A, &mv,
                                                &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 0);
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un, 1, ROSTER_GROUP_APPLICATION, &A,
                                                &mv, &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 1);
    if (mn == 1)
        CHECK_EQ_STR(mv[0].g.name, "app1");
    /* the foreign org sees no memberships of og's users */
    CHECK_EQ_INT(
        roster_store_group_memberships(conn, oh.id, un, 4, ROSTER_GROUP_SKILL, &A, &mv, &mn, &err),
        0);
    CHECK_EQ_INT(mn, 0);

    /* user_list_grouped */
    struct roster_query q;
    qinit(&q);
    q.want_total = true;
    q.sorts[0] = (struct roster_sort){RU_USERNAME, false};
    q.nsorts = 1;
    struct roster_group_cond c[2] = {{app.num_id, true}, {sk1.num_id, true}};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, &total), "gu-a,gu-b,gu-c,gu-d");
    CHECK_EQ_INT(total, 4);
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-a,gu-b,gu-c");
    CHECK_EQ_INT(total, 3);
    c[1] = (struct roster_group_cond){sk2.num_id, false};
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-c,gu-d");
    q.sorts[0].desc = true;
    q.limit = 1;
    q.skip = 1;
    CHECK_EQ_STR(glusers(og.id, &q, c, 2, &total), "gu-c");
    CHECK_EQ_INT(total, 2);
    qinit(&q);
    q.want_total = true;
    qfilter(&q, RU_USERNAME, ROSTER_OP_SEARCH, svals(1, "U-B"), 1);
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, &total), "gu-b");
    /* the foreign org: its own users only, never og's group members */
    qinit(&q);
    q.want_total = true;
    CHECK_EQ_STR(glusers(oh.id, &q, c, 1, &total), "");
    CHECK_EQ_INT(total, 0);
    CHECK_EQ_STR(glusers(oh.id, &q, NULL, 0, &total), "gu-x");

    /* unbind */
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 1, false, &err), 0);
    CHECK_EQ_INT(roster_store_group_bind(conn, og.id, gsk, 2, un, 1, false, &err), 0);
    qinit(&q);
    c[0] = (struct roster_group_cond){sk1.num_id, true};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "gu-b,gu-c");

    /* password hashes: set, replace, clear, other organisations */
    const char *h = "x";
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[0].id, &A, &h, &err), 0);
    CHECK(h == NULL);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[0].id, "$y$h1", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[0].id, "$y$h2", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[0].id, &A, &h, &err), 0);
    CHECK_EQ_STR(h, "$y$h2");
    CHECK_EQ_INT(roster_store_user_secret_get(conn, oh.id, u[0].id, &A, &h, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, oh.id, u[0].id, "$y$h3", &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[1].id, "$y$b", &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_set(conn, og.id, u[1].id, NULL, &err), 0);
    CHECK_EQ_INT(roster_store_user_secret_get(conn, og.id, u[1].id, &A, &h, &err), 0);
    CHECK(h == NULL);

    /* deleting a user removes its memberships and hash */
    CHECK_EQ_INT(roster_store_user_delete(conn, og.id, u[0].id, &err), 0);
    qinit(&q);
    c[0] = (struct roster_group_cond){app.num_id, true};
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "gu-b,gu-c,gu-d");
    CHECK_EQ_INT(roster_store_group_memberships(conn, og.id, un, 1, ROSTER_GROUP_APPLICATION, &A,
                                                &mv, &mn, &err),
                 0);
    CHECK_EQ_INT(mn, 0);

    /* delete: another org's id is not found; an application takes its queues along */
    CHECK_EQ_INT(roster_store_group_delete(conn, oh.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_SKILL, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 0);
    CHECK_EQ_INT(roster_store_group_delete(conn, og.id, ROSTER_GROUP_APPLICATION, app.num_id, &err),
                 ROSTER_ENOTFOUND);
    gq = (struct roster_group_query){.limit = -1};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "English,Deutsch");
    CHECK_EQ_STR(glusers(og.id, &q, c, 1, NULL), "");
    (void)q1;
    /* a new group never reuses a deleted group's number */
    struct roster_group app2 = mk_group(og.id, ROSTER_GROUP_APPLICATION, "app2", 0, 0);
    CHECK(app2.num_id > q1.num_id);
    /* inside a caller's transaction a failed create leaves the transaction usable */
    CHECK_EQ_INT(roster_store_begin(conn, &err), 0);
    mk_group(og.id, ROSTER_GROUP_APPLICATION, "app2", 0, ROSTER_ECONFLICT);
    mk_group(og.id, ROSTER_GROUP_APPLICATION, "app3", 0, 0);
    CHECK_EQ_INT(roster_store_commit(conn, &err), 0);
    gq = (struct roster_group_query){.kind = ROSTER_GROUP_APPLICATION, .limit = -1};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "app2,app3");
}

/* --- bulk user creation (user_create_many) --- */

/* "username,username" of the members of group g of org_id after user num after, at most
 * limit */
static const char *gmembers(const char *org_id, int64_t g, int64_t after, int64_t limit)
{
    struct roster_err err = {0};
    struct roster_group_member *v;
    size_t n;
    int rc = roster_store_group_members(conn, org_id, g, after, limit, &A, &v, &n, &err);
    if (rc)
        return roster_arena_printf(&A, "error %d %s", rc, err.msg);
    struct roster_buf b;
    roster_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        roster_buf_printf(&b, "%s%s", i ? "," : "", v[i].username);
    const char *out = roster_arena_strdup(&A, b.data ? b.data : "");
    roster_buf_release(&b);
    return out;
}

/* the version of group g (kind) of org_id, -1 when it is missing */
static int64_t gversion(const char *org_id, int kind, int64_t g)
{
    struct roster_ctx ctx = {NULL, conn, &A, org_id, NULL};
    struct roster_group v;
    struct roster_err err = {0};
    return roster_group_get(&ctx, kind, g, &v, &err) ? -1 : v.version;
}

/* SCIM groups: plain groups with versions, member pages, member sets in one transaction
 * (core's roster_group_apply over the store's group methods), order by name */
void test_group_members(void)
{
    struct roster_err err = {0};
    struct roster_org og, oh;
    make_org(&og, "gm-org");
    make_org(&oh, "gm-other");
    struct roster_ctx ctx = {NULL, conn, &A, og.id, NULL};
    struct roster_ctx ctxh = {NULL, conn, &A, oh.id, NULL};
    struct roster_user u[5];
    const char *ids[5];
    for (int i = 0; i < 5; i++) {
        const char *name = roster_arena_printf(&A, "gm-%c", 'a' + i);
        make_user(&u[i], name, roster_arena_printf(&A, "%s@example.com", name));
        CHECK_EQ_INT(create(og.id, &u[i], &err), 0);
        ids[i] = u[i].id;
    }
    struct roster_user foreign;
    make_user(&foreign, "gm-x", "gm-x@example.com");
    CHECK_EQ_INT(create(oh.id, &foreign, &err), 0);

    /* create with members: one transaction, version counts the writes */
    struct roster_group g = {.kind = ROSTER_GROUP_PLAIN, .name = "Sales"};
    struct roster_group_step set3 = {ROSTER_GROUP_SET, NULL, ids, 3, NULL};
    CHECK_EQ_INT(roster_group_apply(&ctx, &g, true, 0, &set3, 1, &err), 0);
    CHECK(g.num_id > 0);
    CHECK(g.version >= 1);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-a,gm-b,gm-c");
    CHECK_EQ_STR(gmembers(oh.id, g.num_id, 0, -1), ""); /* another organisation: none */
    /* pages by user num_id */
    struct roster_group_member *mv;
    size_t mn;
    CHECK_EQ_INT(roster_group_members(&ctx, g.num_id, 0, 2, &mv, &mn, &err), 0);
    CHECK_EQ_INT(mn, 2);
    if (mn == 2) {
        CHECK_EQ_STR(mv[0].user_id, u[0].id);
        CHECK_EQ_STR(gmembers(og.id, g.num_id, mv[1].user_num_id, 2), "gm-c");
    }
    int64_t v1 = gversion(og.id, ROSTER_GROUP_PLAIN, g.num_id);
    CHECK_EQ_INT(v1, g.version);

    /* a failing step undoes the whole change: name, members, version */
    const char *bad[2] = {ids[3], foreign.id};
    struct roster_group_step steps[2] = {{ROSTER_GROUP_RENAME, "Sales2", NULL, 0, NULL},
                                         {ROSTER_GROUP_ADD, NULL, bad, 2, NULL}};
    struct roster_group h = {.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &h, false, 0, steps, 2, &err), ROSTER_EINVAL);
    CHECK_EQ_STR(err.field, "members");
    CHECK(strstr(err.msg, foreign.id) != NULL);
    CHECK_EQ_INT(gversion(og.id, ROSTER_GROUP_PLAIN, g.num_id), v1);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-a,gm-b,gm-c");
    struct roster_group_query gq = {.kind = ROSTER_GROUP_PLAIN, .name = "Sales", .limit = -1};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "Sales");

    /* a nested group is named as such */
    struct roster_group other = {.kind = ROSTER_GROUP_PLAIN, .name = "Other"};
    CHECK_EQ_INT(roster_group_apply(&ctx, &other, true, 0, NULL, 0, &err), 0);
    CHECK_EQ_INT(other.version, 1);
    const char *nested[1] = {roster_arena_printf(&A, "%lld", (long long)other.num_id)};
    struct roster_group_step addn = {ROSTER_GROUP_ADD, NULL, nested, 1, NULL};
    h = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &h, false, 0, &addn, 1, &err), ROSTER_EINVAL);
    CHECK(strstr(err.msg, "nested groups are not supported") != NULL);

    /* rename, add, remove, set: each write bumps the version */
    steps[1] = (struct roster_group_step){ROSTER_GROUP_ADD, NULL, &ids[3], 2, NULL};
    h = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &h, false, v1, steps, 2, &err), 0);
    CHECK_EQ_STR(h.name, "Sales2");
    CHECK(h.version > v1);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-a,gm-b,gm-c,gm-d,gm-e");
    /* a stale version is refused */
    struct roster_group_step rm = {ROSTER_GROUP_REMOVE, NULL, &ids[1], 2, NULL};
    struct roster_group k = {.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, v1, &rm, 1, &err), ROSTER_ESTALE);
    k = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, h.version, &rm, 1, &err), 0);
    CHECK(k.version > h.version);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-a,gm-d,gm-e");
    const char *set[4] = {ids[4], ids[1], ids[4], ids[0]}; /* repeats are fine */
    struct roster_group_step st = {ROSTER_GROUP_SET, NULL, set, 4, NULL};
    k = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, 0, &st, 1, &err), 0);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-a,gm-b,gm-e");
    st.n = 0; /* the empty set */
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, 0, &st, 1, &err), 0);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "");
    st.n = 2;
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, 0, &st, 1, &err), 0);
    int64_t before = gversion(og.id, ROSTER_GROUP_PLAIN, g.num_id);

    /* the groups a user is in */
    struct roster_membership *ms;
    size_t nms;
    CHECK_EQ_INT(
        roster_group_memberships(&ctx, &u[4].num_id, 1, ROSTER_GROUP_PLAIN, &ms, &nms, &err), 0);
    CHECK_EQ_INT(nms, 1);
    if (nms == 1)
        CHECK_EQ_STR(ms[0].g.name, "Sales2");

    /* deleting a member bumps its groups' versions */
    CHECK_EQ_INT(roster_store_user_delete(conn, og.id, u[4].id, &err), 0);
    CHECK(gversion(og.id, ROSTER_GROUP_PLAIN, g.num_id) > before);
    CHECK_EQ_STR(gmembers(og.id, g.num_id, 0, -1), "gm-b");

    /* a rename onto a taken name; another organisation's group is not found */
    struct roster_group_step ren = {ROSTER_GROUP_RENAME, "Other", NULL, 0, NULL};
    k = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctx, &k, false, 0, &ren, 1, &err), ROSTER_ECONFLICT);
    k = (struct roster_group){.kind = ROSTER_GROUP_PLAIN, .num_id = g.num_id};
    CHECK_EQ_INT(roster_group_apply(&ctxh, &k, false, 0, &ren, 1, &err), ROSTER_ENOTFOUND);
    CHECK_EQ_INT(gversion(oh.id, ROSTER_GROUP_PLAIN, g.num_id), -1);

    /* by name */
    struct roster_group alpha = {.kind = ROSTER_GROUP_PLAIN, .name = "Alpha"};
    CHECK_EQ_INT(roster_group_apply(&ctx, &alpha, true, 0, NULL, 0, &err), 0);
    gq = (struct roster_group_query){.kind = ROSTER_GROUP_PLAIN, .limit = -1, .by_name = true};
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "Alpha,Other,Sales2");
    gq.by_name = false;
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "Sales2,Other,Alpha");
    gq.by_name = true;
    gq.skip = 1;
    gq.limit = 1;
    CHECK_EQ_STR(glist(og.id, &gq, NULL), "Other");
}

/* core's roster_users_create_many (SCIM /Bulk): one transaction, per-item outcomes */
void test_core_create_many(void)
{
    struct roster_err err = {0};
    struct roster_org o;
    make_org(&o, "ccm-org");
    struct roster_ctx ctx = {NULL, conn, &A, o.id, NULL};
    struct roster_user pre;
    make_user(&pre, "ccm-taken", "ccm-taken@example.com");
    CHECK_EQ_INT(create(o.id, &pre, &err), 0);
    struct roster_user u[5];
    make_user(&u[0], "ccm-a", "ccm-a@example.com");
    make_user(&u[1], "ccm-taken", "ccm-b@example.com"); /* against the store */
    make_user(&u[2], "ccm-c", "ccm-c@example.com");
    make_user(&u[3], "CCM-C", "ccm-d@example.com"); /* against an earlier item */
    make_user(&u[4], "", "ccm-e@example.com");      /* invalid */
    const char *pw[5] = {"secret-one", NULL, NULL, NULL, NULL};
    int rcs[5];
    struct roster_err errs[5];
    CHECK_EQ_INT(roster_users_create_many(&ctx, u, 5, ROSTER_ACTIVATED, pw, rcs, errs, &err), 0);
    CHECK_EQ_INT(rcs[0], 0);
    CHECK_EQ_INT(rcs[1], ROSTER_ECONFLICT);
    CHECK_EQ_STR(errs[1].field, "username");
    CHECK_EQ_INT(rcs[2], 0);
    CHECK_EQ_INT(rcs[3], ROSTER_ECONFLICT);
    CHECK_EQ_INT(rcs[4], ROSTER_EINVAL);
    CHECK(u[0].num_id > 0 && u[2].num_id > u[0].num_id);
    const char *hash = NULL;
    CHECK_EQ_INT(roster_store_user_secret_get(conn, o.id, u[0].id, &A, &hash, &err), 0);
    CHECK(hash != NULL);
    struct roster_user got;
    CHECK_EQ_INT(roster_user_get(&ctx, u[2].id, &got, &err), 0);
    CHECK_EQ_STR(got.f[RU_USERNAME], "ccm-c");
}
