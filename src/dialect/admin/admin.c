/* roster admin API: GET and PATCH /admin/orgs/{id} (name and company block). A handler
 * decodes, calls the store's org_get/org_update and encodes; a key of another organisation
 * gets 404, exactly like a missing organisation. */
#include "dialect/admin/admin.h"

#include "dialect/answer.h"

#include <jansson.h>
#include <string.h>

/* {"code": <status>, "message": "..."} */
static void admin_error(struct roster_req *r, int status, const char *msg)
{
    roster_answer_code_error(r, status, msg, NULL);
}

const struct roster_dialect roster_admin_dialect = {"admin", ROSTER_AUTH_BEARER, admin_error};

/* Loads the {id} of the path if the caller's key may reach it; else sends 404. */
static int load_org(struct roster_req *r, struct roster_org *org)
{
    const char *id = roster_path_param(r);
    struct roster_err err = {0};
    bool allowed = roster_id_valid(id) && r->ctx.key &&
                   (r->ctx.key->all_orgs || strcmp(id, r->ctx.key->org_id) == 0);
    int rc = allowed ? roster_org_get(&r->ctx, id, org, &err) : ROSTER_ENOTFOUND;
    if (rc) {
        roster_answer_fail(r, rc, &err, "organization", id);
        return -1;
    }
    return 0;
}

static void send_org(struct roster_req *r, const struct roster_org *o)
{
    struct roster_jsonw w;
    roster_resp_json(r, 200, &w);
    roster_jsonw_obj_begin(&w);
    roster_jsonw_kstr(&w, "id", o->id);
    roster_put_company(&w, o);
    roster_jsonw_ktime(&w, "created", o->created_ms);
    roster_jsonw_obj_end(&w);
}

void admin_org_get(struct roster_req *r)
{
    struct roster_org org;
    if (load_org(r, &org) == 0)
        send_org(r, &org);
}

void admin_org_patch(struct roster_req *r)
{
    struct roster_org org;
    if (load_org(r, &org) != 0)
        return;
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!body || !json_is_object(body)) {
        if (body)
            roster_resp_error(r, 400, "body must be a JSON object");
        else
            roster_resp_error(r, 400, "invalid JSON at line %d column %d: %s", jerr.line,
                              jerr.column, jerr.text);
        json_decref(body);
        return;
    }
    struct {
        const char *name;
        const char **field;
    } fields[] = {
        {"name", &org.name},    {"address", &org.address}, {"city", &org.city},
        {"state", &org.region}, {"zip", &org.zip},         {"country", &org.country},
    };
    const size_t nfields = sizeof(fields) / sizeof(fields[0]);
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        size_t i = 0;
        while (i < nfields && strcmp(key, fields[i].name) != 0)
            i++;
        if (i == nfields) {
            roster_resp_error(r, 400,
                              "unknown field \"%.64s\" (known: name, address, city, state, zip, "
                              "country)",
                              key);
            goto done;
        }
        if (json_is_null(val)) {
            *fields[i].field = NULL;
        } else if (json_is_string(val) && json_string_length(val) <= 1024 &&
                   strlen(json_string_value(val)) == json_string_length(val)) {
            *fields[i].field = roster_arena_strdup(r->ctx.arena, json_string_value(val));
        } else {
            roster_resp_error(r, 400, "%s must be a string of at most 1024 characters or null",
                              fields[i].name);
            goto done;
        }
    }
    struct roster_err err;
    roster_err_clear(&err);
    if (roster_org_update(&r->ctx, &org, &err) != 0) {
        roster_resp_fail(r, err.code, &err);
        goto done;
    }
    send_org(r, &org);
done:
    json_decref(body);
}
