/* The user list reads both store backends run the same way (see store_lists.h). */
#include "store/store_lists.h"

struct roster_user *sl_page_add(struct sl_page *p)
{
    p->v = roster_arena_grow(p->a, p->v, p->n, &p->cap, sizeof(*p->v));
    return &p->v[p->n++];
}

/* The rows of segment seg; *skip and *remaining are what is left after it. */
static int page_segment(const struct sl_runner *run, int flavor, int64_t org_num,
                        const struct roster_query *q, int seg, const struct roster_user *after,
                        bool first, int64_t *skip, int64_t *remaining, struct sl_page *p,
                        struct roster_err *err)
{
    struct sg g;
    sg_init(&g, flavor, p->a);
    struct sg_org org = {org_num, NULL};
    int code = sg_user_list(&g, q, &org, SG_PAGE, seg, after, err);
    if (!code) {
        char *base = roster_arena_strndup(p->a, g.sql.data, g.sql.len);
        size_t nbase = g.nvals, got = 0;
        sg_page(&g, *remaining, *skip);
        code = run->rows(run->ctx, &g, first, p, &got, err);
        int64_t taken = 0; /* of the skip, by a segment that ended before the page */
        if (!code && sg_segment_next(&g, base, nbase, got, skip, remaining))
            code = run->count(run->ctx, &g, &taken, err);
        *skip -= taken;
    }
    sg_release(&g);
    return code;
}

int sl_user_page(const struct sl_runner *run, int flavor, int64_t org_num,
                 const struct roster_query *q, const struct roster_user *after, int64_t skip,
                 int64_t limit, struct roster_arena *a, struct roster_user **out, size_t *n,
                 struct roster_err *err)
{
    struct sl_page p = {NULL, 0, sg_page_cap(limit), a};
    p.v = p.cap ? roster_arena_alloc(a, p.cap * sizeof(*p.v)) : NULL;
    int nseg = sg_segments(q, flavor);
    int seg0 = after ? sg_segment_of(q, flavor, after) : 0;
    int64_t remaining = limit < 0 ? -1 : limit;
    int code = 0;
    if (skip < 0)
        skip = 0;
    for (int seg = seg0; !code && seg < nseg && remaining != 0; seg++)
        code = page_segment(run, flavor, org_num, q, seg, seg == seg0 ? after : NULL, seg == seg0,
                            &skip, &remaining, &p, err);
    *out = code ? NULL : p.v;
    *n = code ? 0 : p.n;
    return code;
}

int sl_user_count(const struct sl_runner *run, int flavor, int64_t org_num,
                  const struct roster_query *q, int64_t *count, struct roster_err *err)
{
    struct roster_arena a;
    roster_arena_init(&a, 4096);
    struct sg g;
    sg_init(&g, flavor, &a);
    struct sg_org org = {org_num, NULL};
    int code = sg_user_list(&g, q, &org, SG_COUNT, 0, NULL, err);
    if (!code)
        code = run->count(run->ctx, &g, count, err);
    sg_release(&g);
    roster_arena_release(&a);
    return code;
}

int sl_list_plan(const struct sl_runner *run, int flavor, int64_t org_num,
                 const struct roster_query *q, const struct roster_user *after, bool count,
                 struct roster_arena *a, const char **plan, struct roster_err *err)
{
    struct roster_buf out;
    roster_buf_init(&out);
    int nseg = count ? 1 : sg_segments(q, flavor);
    int seg0 = after ? sg_segment_of(q, flavor, after) : 0;
    int code = 0;
    for (int seg = count ? 0 : seg0; !code && seg < nseg; seg++) {
        struct sg g;
        sg_init(&g, flavor, a);
        struct sg_org org = {org_num, NULL};
        code = sg_user_list(&g, q, &org, count ? SG_COUNT : SG_PAGE, seg,
                            seg == seg0 ? after : NULL, err);
        if (!code && !count)
            sg_page(&g, 100, 0);
        roster_buf_printf(&out, "segment %d: %s\n", seg, g.sql.data);
        if (!code) {
            const char *sql = roster_arena_printf(a, "%s%s", run->explain, g.sql.data);
            code = run->plan(run->ctx, &g, sql, &out, err);
        }
        sg_release(&g);
    }
    *plan = roster_arena_strdup(a, out.data ? out.data : "");
    roster_buf_release(&out);
    return code;
}
