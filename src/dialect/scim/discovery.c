/* Discovery of the SCIM dialect (RFC 7644 §4, RFC 7643 §5-7): /ServiceProviderConfig,
 * /ResourceTypes and /Schemas (and each by id), true to what is implemented: the limits
 * come from scim.h, the schemas list the attributes roster keeps (docs/scim.md). */
#include "dialect/scim/scim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- schema attribute definitions --- */

enum {
    A_MULTI = 1,
    A_REQ = 2,
    A_EXACT = 4,
    A_RO = 8,
    A_WO = 16,
    A_ALWAYS = 32,
    A_NEVER = 64,
    A_UNIQUE = 128,
    A_IMMUTABLE = 256
};

static json_t *attr(const char *name, const char *type, unsigned f, const char *desc, json_t *subs)
{
    json_t *a = json_object();
    json_object_set_new(a, "name", json_string(name));
    json_object_set_new(a, "type", json_string(type));
    json_object_set_new(a, "multiValued", json_boolean(f & A_MULTI));
    json_object_set_new(a, "description", json_string(desc));
    json_object_set_new(a, "required", json_boolean(f & A_REQ));
    if (strcmp(type, "string") == 0 || strcmp(type, "reference") == 0)
        json_object_set_new(a, "caseExact", json_boolean(f & A_EXACT));
    json_object_set_new(a, "mutability",
                        json_string(f & A_RO          ? "readOnly"
                                    : f & A_WO        ? "writeOnly"
                                    : f & A_IMMUTABLE ? "immutable"
                                                      : "readWrite"));
    json_object_set_new(a, "returned",
                        json_string(f & A_ALWAYS  ? "always"
                                    : f & A_NEVER ? "never"
                                                  : "default"));
    json_object_set_new(a, "uniqueness", json_string(f & A_UNIQUE ? "server" : "none"));
    if (strcmp(type, "reference") == 0) {
        json_t *rt = json_array();
        json_array_append_new(rt, json_string("User"));
        json_object_set_new(a, "referenceTypes", rt);
    }
    if (subs)
        json_object_set_new(a, "subAttributes", subs);
    return a;
}

#define END ((json_t *)0) /* the end of subs()'s list */
static json_t *subs(json_t *first, ...) __attribute__((sentinel));
static json_t *subs(json_t *first, ...)
{
    json_t *arr = json_array();
    va_list ap;
    va_start(ap, first);
    for (json_t *a = first; a; a = va_arg(ap, json_t *))
        json_array_append_new(arr, a);
    va_end(ap);
    return arr;
}

/* value, type, primary of a multi-valued attribute */
static json_t *multi(const char *name, const char *desc)
{
    return attr(name, "complex", A_MULTI, desc,
                subs(attr("value", "string", 0, "the value", NULL),
                     attr("type", "string", 0, "a label: work, home, other...", NULL),
                     attr("primary", "boolean", 0, "the primary value", NULL), END));
}

static json_t *schema_meta(json_t *s, const char *id, const char *base)
{
    json_t *m = json_object();
    json_object_set_new(m, "resourceType", json_string("Schema"));
    char loc[SCIM_LOCATION_MAX];
    snprintf(loc, sizeof(loc), "%s/Schemas/%s", base, id);
    json_object_set_new(m, "location", json_string(loc));
    json_object_set_new(s, "meta", m);
    return s;
}

static json_t *user_schema(const char *base)
{
    json_t *attrs =
        subs(attr("userName", "string", A_REQ | A_UNIQUE,
                  "unique per organisation, compared without regard to case", NULL),
             attr("name", "complex", 0, "the components of the user's name",
                  subs(attr("formatted", "string", 0, "the full name", NULL),
                       attr("familyName", "string", 0, "family name", NULL),
                       attr("givenName", "string", 0, "given name", NULL),
                       attr("middleName", "string", 0, "middle name", NULL),
                       attr("honorificPrefix", "string", 0, "e.g. Ms.", NULL),
                       attr("honorificSuffix", "string", 0, "e.g. III", NULL), END)),
             attr("displayName", "string", 0, "the name to display", NULL),
             attr("nickName", "string", 0, "casual name", NULL),
             attr("profileUrl", "reference", 0, "profile page", NULL),
             attr("title", "string", 0, "job title", NULL),
             attr("userType", "string", 0, "e.g. Employee, Contractor", NULL),
             attr("preferredLanguage", "string", 0, "e.g. en-US", NULL),
             attr("locale", "string", 0, "e.g. en-US", NULL),
             attr("timezone", "string", 0, "e.g. America/Los_Angeles", NULL),
             attr("active", "boolean", 0, "false: the user is SUSPENDED", NULL),
             attr("password", "string", A_WO | A_NEVER, "stored only as a one-way hash", NULL),
             multi("emails", "at most two: the primary one and one other"),
             multi("phoneNumbers", "phone numbers"),
             attr("addresses", "complex", A_MULTI, "postal addresses",
                  subs(attr("formatted", "string", 0, "the full address", NULL),
                       attr("streetAddress", "string", 0, "street", NULL),
                       attr("locality", "string", 0, "city", NULL),
                       attr("region", "string", 0, "state or region", NULL),
                       attr("postalCode", "string", 0, "zip code", NULL),
                       attr("country", "string", 0, "country", NULL),
                       attr("type", "string", 0, "work, home, other", NULL),
                       attr("primary", "boolean", 0, "the primary address", NULL), END)),
             multi("ims", "instant messaging addresses (kept as given)"),
             multi("photos", "photo URLs (kept as given)"),
             multi("entitlements", "entitlements (kept as given)"),
             multi("roles", "roles (kept as given)"),
             multi("x509Certificates", "certificates (kept as given)"),
             attr("groups", "complex", A_MULTI | A_RO, "the groups the user is a member of",
                  subs(attr("value", "string", A_RO, "the group's id", NULL),
                       attr("display", "string", A_RO, "the group's displayName", NULL), END)),
             END);
    json_t *s = json_pack("{s:s,s:s,s:s,s:o}", "id", SCIM_SCHEMA_USER, "name", "User",
                          "description", "User Account", "attributes", attrs);
    json_t *sch = json_array();
    json_array_append_new(sch, json_string(SCIM_SCHEMA_SCHEMA));
    json_object_set_new(s, "schemas", sch);
    return schema_meta(s, SCIM_SCHEMA_USER, base);
}

static json_t *enterprise_schema(const char *base)
{
    json_t *attrs =
        subs(attr("employeeNumber", "string", A_UNIQUE, "unique per organisation", NULL),
             attr("costCenter", "string", 0, "cost center", NULL),
             attr("organization", "string", 0, "organisation (roster's company)", NULL),
             attr("division", "string", 0, "division", NULL),
             attr("department", "string", 0, "department", NULL),
             attr("manager", "complex", 0, "the user's manager",
                  subs(attr("value", "string", 0, "the manager's id", NULL),
                       attr("$ref", "reference", A_RO, "the manager's URI", NULL), END)),
             END);
    json_t *s = json_pack("{s:s,s:s,s:s,s:o}", "id", SCIM_SCHEMA_ENTERPRISE, "name",
                          "EnterpriseUser", "description", "Enterprise User", "attributes", attrs);
    json_t *sch = json_array();
    json_array_append_new(sch, json_string(SCIM_SCHEMA_SCHEMA));
    json_object_set_new(s, "schemas", sch);
    return schema_meta(s, SCIM_SCHEMA_ENTERPRISE, base);
}

static json_t *group_schema(const char *base)
{
    json_t *attrs =
        subs(attr("displayName", "string", A_REQ | A_UNIQUE, "unique per organisation", NULL),
             attr("members", "complex", A_MULTI, "the group's members",
                  subs(attr("value", "string", A_IMMUTABLE, "the member's id", NULL),
                       attr("$ref", "reference", A_IMMUTABLE, "the member's URI", NULL),
                       attr("display", "string", A_RO, "the member's name", NULL),
                       attr("type", "string", A_IMMUTABLE, "User or Group", NULL), END)),
             END);
    json_t *s = json_pack("{s:s,s:s,s:s,s:o}", "id", SCIM_SCHEMA_GROUP, "name", "Group",
                          "description", "Group", "attributes", attrs);
    json_t *sch = json_array();
    json_array_append_new(sch, json_string(SCIM_SCHEMA_SCHEMA));
    json_object_set_new(s, "schemas", sch);
    return schema_meta(s, SCIM_SCHEMA_GROUP, base);
}

/* --- resource types --- */

static json_t *resource_type(const char *id, const char *base)
{
    bool user = strcmp(id, "User") == 0;
    json_t *rt = json_pack("{s:[s],s:s,s:s,s:s,s:s,s:s}", "schemas", SCIM_SCHEMA_RESOURCE_TYPE,
                           "id", id, "name", id, "endpoint", user ? "/Users" : "/Groups",
                           "description", user ? "User Account" : "Group", "schema",
                           user ? SCIM_SCHEMA_USER : SCIM_SCHEMA_GROUP);
    if (user)
        json_object_set_new(
            rt, "schemaExtensions",
            json_pack("[{s:s,s:b}]", "schema", SCIM_SCHEMA_ENTERPRISE, "required", 0));
    char loc[SCIM_LOCATION_MAX];
    snprintf(loc, sizeof(loc), "%s/ResourceTypes/%s", base, id);
    json_object_set_new(rt, "meta",
                        json_pack("{s:s,s:s}", "resourceType", "ResourceType", "location", loc));
    return rt;
}

/* --- answers --- */

static void send_json(struct roster_req *r, int status, json_t *j)
{
    struct scim_out o;
    scim_out_init(&o);
    scim_out_json(&o, status, j);
    scim_out_send(r, &o);
    scim_out_release(&o);
    json_decref(j);
}

static void send_list(struct roster_req *r, json_t *items)
{
    json_t *l = json_pack("{s:[s],s:I,s:I,s:i,s:o}", "schemas", SCIM_MSG_LIST, "totalResults",
                          (json_int_t)json_array_size(items), "itemsPerPage",
                          (json_int_t)json_array_size(items), "startIndex", 1, "Resources", items);
    send_json(r, 200, l);
}

void scim_service_provider_config(struct roster_req *r)
{
    const char *base = scim_base_url(r);
    char loc[SCIM_LOCATION_MAX];
    snprintf(loc, sizeof(loc), "%s/ServiceProviderConfig", base);
    json_t *c = json_pack(
        "{s:[s],s:s,s:{s:b},s:{s:b,s:i,s:i},s:{s:b,s:i},s:{s:b},s:{s:b},s:{s:b},"
        "s:[{s:s,s:s,s:s,s:b}],s:{s:s,s:s}}",
        "schemas", SCIM_SCHEMA_SPC, "documentationUri", "docs/scim.md", "patch", "supported", 1,
        "bulk", "supported", 1, "maxOperations", SCIM_BULK_MAX_OPERATIONS, "maxPayloadSize",
        SCIM_BULK_MAX_PAYLOAD, "filter", "supported", 1, "maxResults", SCIM_FILTER_MAX_RESULTS,
        "changePassword", "supported", 1, "sort", "supported", 1, "etag", "supported", 1,
        "authenticationSchemes", "type", "oauthbearertoken", "name", "OAuth Bearer Token",
        "description", "Authorization: Bearer <a roster API key of the organisation>", "primary", 1,
        "meta", "resourceType", "ServiceProviderConfig", "location", loc);
    send_json(r, 200, c);
}

void scim_resource_types(struct roster_req *r)
{
    const char *base = scim_base_url(r);
    json_t *items = json_array();
    json_array_append_new(items, resource_type("User", base));
    json_array_append_new(items, resource_type("Group", base));
    send_list(r, items);
}

void scim_resource_type(struct roster_req *r)
{
    const char *id = r->nparams ? r->params[0] : "";
    if (strcasecmp(id, "User") == 0 || strcasecmp(id, "Group") == 0) {
        send_json(r, 200,
                  resource_type(strcasecmp(id, "User") == 0 ? "User" : "Group", scim_base_url(r)));
        return;
    }
    scim_error(r, 404, NULL, "ResourceType \"%.64s\" not found", id);
}

void scim_schemas(struct roster_req *r)
{
    const char *base = scim_base_url(r);
    json_t *items = json_array();
    json_array_append_new(items, user_schema(base));
    json_array_append_new(items, enterprise_schema(base));
    json_array_append_new(items, group_schema(base));
    send_list(r, items);
}

void scim_schema(struct roster_req *r)
{
    const char *id = r->nparams ? r->params[0] : "";
    const char *base = scim_base_url(r);
    json_t *s = strcasecmp(id, SCIM_SCHEMA_USER) == 0         ? user_schema(base)
                : strcasecmp(id, SCIM_SCHEMA_ENTERPRISE) == 0 ? enterprise_schema(base)
                : strcasecmp(id, SCIM_SCHEMA_GROUP) == 0      ? group_schema(base)
                                                              : NULL;
    if (!s) {
        scim_error(r, 404, NULL, "Schema \"%.128s\" not found", id);
        return;
    }
    send_json(r, 200, s);
}
