// The request sequences real identity providers send to a SCIM 2.0 service provider, against
// a real roster (both stores): Okta's user and group push provisioning and Microsoft Entra
// ID's provisioning service, each in its own fresh organisation. Requests are written from the
// clients' documentation, not from roster's code:
//  - Okta: "SCIM 2.0 protocol reference"
//    https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/ (user lookup by
//    userName eq with startIndex=1&count=100, POST, 409 on a duplicate, PUT with the whole
//    profile, PATCH {"op":"replace","value":{"active":false}} with no path; group push: POST
//    /Groups, PATCH add members, PATCH remove with path members[value eq "id"], PATCH replace
//    with value {"id", "displayName"} to rename, DELETE /Groups/{id}).
//  - Microsoft Entra ID: "Tutorial: Develop and plan provisioning for a SCIM endpoint in
//    Microsoft Entra ID" https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
//    (section "User operations" / "Group operations": the request bodies with "Replace",
//    "Add", "Remove", member removal as path members with a value list, group lookups by
//    displayName with excludedAttributes=members), and "Known issues and resolutions with
//    SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning service"
//    https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
//    (the default job's capitalised op names and "False"/"True" strings for booleans; with
//    the aadOptscim062020 flag: lower-case ops, a replace without path whose value carries
//    dotted and URN keys such as "name.givenName" and
//    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").
// Statuses, Error bodies (RFC 7644 §3.12: schemas, status as a string, scimType, detail) and
// resource contents are asserted. A successful PATCH answers 204 (issue 16: unless the
// request asks for attributes, then 200 with the resource).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, cliOrg, cliKey, RFC3339, uniq } from './harness.mjs';
import { ScimClient, SCIM, filterQ, assertScimError, assertScimType, assertList } from './scimlib.mjs';

let srv;

before(async () => {
    srv = await startServer({});
});
after(async () => {
    await cleanup(srv);
});

async function newTenant(tag) {
    const org = await cliOrg(srv.store, uniq(tag));
    const key = await cliKey(srv.store, org);
    return { org, key, scim: new ScimClient(srv, key) };
}

const emailOf = (u, type) => (u.emails || []).find((e) => e.type === type)?.value;

/** Checks the common shape of a User resource returned by roster. */
function checkUser(u, id) {
    assert.ok(Array.isArray(u.schemas) && u.schemas.includes(SCIM.USER), `schemas ${JSON.stringify(u.schemas)}`);
    if (id !== undefined) assert.equal(u.id, id);
    assert.equal(typeof u.id, 'string');
    assert.ok(u.id.length > 0);
    assert.equal(u.meta?.resourceType, 'User', `meta ${JSON.stringify(u.meta)}`);
    assert.match(u.meta.created, RFC3339);
    assert.match(u.meta.lastModified, RFC3339);
    assert.ok(u.meta.location.endsWith(`/Users/${u.id}`), `meta.location ${u.meta.location}`);
    assert.match(u.meta.version, /^W\/".+"$/, `meta.version ${u.meta.version}`);
    assert.equal(u.password, undefined, 'password is never returned (RFC 7643 §4.1.1 returned "never")');
}

describe('Okta: user provisioning', () => {
    let t;
    let id;
    let created;
    const login = `test.user.${process.pid}@okta.local`;

    before(async () => {
        t = await newTenant('okta-users');
    });

    test('lookup before create: GET /Users?filter=userName eq "x"&startIndex=1&count=100 finds nobody', async () => {
        const r = await t.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}&startIndex=1&count=100`);
        assertList(r, { total: 0, items: 0 });
        assert.equal(r.json.startIndex, 1);
    });

    test('POST /Users with the body Okta sends: 201, Location, the resource without its password', async () => {
        const body = {
            schemas: [SCIM.USER], userName: login,
            name: { givenName: 'Test', familyName: 'User' },
            emails: [{ primary: true, value: login, type: 'work' }],
            displayName: 'Test User', locale: 'en-US', externalId: '00ujl29u0le5T6Aj10h7',
            groups: [], password: '1mz050nq', active: true,
        };
        const r = await t.scim.post('/Users', body);
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
        created = r.json;
        id = created.id;
        checkUser(created);
        assert.equal(created.userName, login);
        assert.equal(created.name.givenName, 'Test');
        assert.equal(created.name.familyName, 'User');
        assert.equal(created.displayName, 'Test User');
        assert.equal(created.locale, 'en-US');
        assert.equal(created.externalId, '00ujl29u0le5T6Aj10h7');
        assert.equal(created.active, true);
        assert.equal(emailOf(created, 'work'), login);
        // RFC 7644 §3.3: the URI of the created resource in Location and meta.location
        assert.equal(r.headers.get('location'), created.meta.location);
        assert.equal(r.headers.get('etag'), created.meta.version);
    });

    test('the same POST again: 409 with the Error schema and scimType uniqueness', async () => {
        const r = await t.scim.post('/Users', {
            schemas: [SCIM.USER], userName: login, name: { givenName: 'Test', familyName: 'User' },
            emails: [{ primary: true, value: login, type: 'work' }], active: true,
        });
        assertScimError(r, 409, 'uniqueness');
        // userName is caseExact false (RFC 7643 §4.1.1): another case is the same userName
        const r2 = await t.scim.post('/Users', { schemas: [SCIM.USER], userName: login.toUpperCase() });
        assertScimError(r2, 409, 'uniqueness');
    });

    test('lookup after create finds the user; GET /Users/{id} returns it', async () => {
        const r = await t.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}&startIndex=1&count=100`);
        const res = assertList(r, { total: 1, items: 1 });
        assert.equal(res[0].id, id);
        checkUser(res[0], id);
        const g = await t.scim.get(`/Users/${id}`);
        assert.equal(g.status, 200, g.text);
        assertScimType(g);
        checkUser(g.json, id);
        assert.equal(g.json.userName, login);
    });

    test('PUT /Users/{id} with the whole profile (Okta profile push): replaced', async () => {
        const body = {
            schemas: [SCIM.USER], id, userName: login,
            name: { givenName: 'Another', middleName: 'Ron', familyName: 'User' },
            emails: [{ primary: true, value: login, type: 'work' }],
            displayName: 'Another User', locale: 'en-US', externalId: '00ujl29u0le5T6Aj10h7',
            groups: [], password: 't1meMa$heen', active: true,
            meta: { resourceType: 'User' },
        };
        const r = await t.scim.put(`/Users/${id}`, body);
        assert.equal(r.status, 200, r.text);
        assertScimType(r);
        checkUser(r.json, id);
        assert.equal(r.json.name.givenName, 'Another');
        assert.equal(r.json.name.middleName, 'Ron');
        assert.equal(r.json.name.familyName, 'User');
        assert.equal(r.json.displayName, 'Another User');
        assert.equal(r.json.meta.created, created.meta.created, 'created does not change');
        assert.notEqual(r.json.meta.version, created.meta.version, 'a new version');
        const g = await t.scim.get(`/Users/${id}`);
        assert.equal(g.json.name.givenName, 'Another');
        assert.equal(g.json.displayName, 'Another User');
    });

    test('PATCH {"op":"replace","value":{"active":false}} (no path): 204, the user stays readable, inactive', async () => {
        const r = await t.scim.patchOps(`/Users/${id}`, [{ op: 'replace', value: { active: false } }]);
        assert.equal(r.status, 204, r.text);
        assert.equal(r.text, '', '204 has no body');
        const g = await t.scim.get(`/Users/${id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.active, false);
        // active false is roster's SUSPENDED state, seen through JumpCloud with the same key
        const jc = srv.api(t.key);
        const j = await jc.get(`/api/systemusers/${id}`);
        assert.equal(j.status, 200, j.text);
        assert.equal(j.json.state, 'SUSPENDED');
        // deactivated users are still found by Okta's lookup (Okta reactivates them)
        const l = await t.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}&startIndex=1&count=100`);
        assertList(l, { total: 1 });
        assert.equal(l.json.Resources[0].active, false);
    });

    test('PATCH {"op":"replace","value":{"active":true}} reactivates; with ?attributes= it answers 200 and the resource', async () => {
        const r = await t.scim.patchOps(`/Users/${id}?attributes=active`, [{ op: 'replace', value: { active: true } }]);
        assert.equal(r.status, 200, r.text);
        assertScimType(r);
        assert.equal(r.json.id, id, 'id is always returned');
        assert.equal(r.json.active, true);
        assert.equal(r.json.userName, undefined, 'attributes=active returns active (and the always-returned attributes) only');
        const j = await srv.api(t.key).get(`/api/systemusers/${id}`);
        assert.equal(j.json.state, 'ACTIVATED');
    });

    test('PATCH {"op":"replace","value":{"password":"..."}} (Okta password sync): 204, never returned', async () => {
        const r = await t.scim.patchOps(`/Users/${id}`, [{ op: 'replace', value: { password: 'N3w-Passw0rd!' } }]);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/Users/${id}`);
        assert.equal(g.json.password, undefined);
    });

    test('userNames with "+", an apostrophe and non-ASCII letters: created, found by userName eq, returned as sent', async () => {
        for (const name of [`jane+okta.${process.pid}@example.com`, `o'brien.${process.pid}@example.com`, `jos\u00e9.m\u00fcller.${process.pid}@example.com`]) {
            const u = await t.scim.createUser({ userName: name, name: { givenName: 'Jos\u00e9', familyName: "O'Brien" } });
            assert.equal(u.userName, name);
            assert.equal(u.name.givenName, 'Jos\u00e9');
            const r = await t.scim.get(`/Users?${filterQ(`userName eq "${name}"`)}&startIndex=1&count=100`);
            const res = assertList(r, { total: 1, items: 1 });
            assert.equal(res[0].id, u.id, name);
            assert.equal(res[0].userName, name);
        }
    });

    test('a malformed PATCH answers 400 with a scimType and a detail naming what was wrong', async () => {
        const r = await t.scim.patchOps(`/Users/${id}`, [{ op: 'frobnicate', value: { active: false } }]);
        assertScimError(r, 400, undefined, /frobnicate|op/i);
        const r2 = await t.scim.patch(`/Users/${id}`, { schemas: [SCIM.PATCH] });
        assertScimError(r2, 400, undefined, /Operations/);
        const r3 = await t.scim.req('PATCH', `/Users/${id}`, { raw: '{"schemas":' });
        assertScimError(r3, 400, 'invalidSyntax');
        const g = await t.scim.get(`/Users/${id}`);
        assert.equal(g.json.active, true, 'nothing applied');
    });
});

describe('Okta: group push', () => {
    let t;
    let u1;
    let u2;
    let gid;
    const name = `Test SCIMv2 ${process.pid}`;

    before(async () => {
        t = await newTenant('okta-groups');
        u1 = await t.scim.createUser({ userName: 'member.one@okta.local', name: { givenName: 'Member', familyName: 'One' } });
        u2 = await t.scim.createUser({ userName: 'member.two@okta.local', name: { givenName: 'Member', familyName: 'Two' } });
    });

    test('POST /Groups {"displayName", "members": []}: 201 with the group', async () => {
        const r = await t.scim.post('/Groups', { schemas: [SCIM.GROUP], displayName: name, members: [] });
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
        gid = r.json.id;
        assert.equal(typeof gid, 'string');
        assert.ok(gid.length > 0);
        assert.ok(r.json.schemas.includes(SCIM.GROUP));
        assert.equal(r.json.displayName, name);
        assert.deepEqual(r.json.members ?? [], []);
        assert.equal(r.json.meta.resourceType, 'Group');
        assert.ok(r.json.meta.location.endsWith(`/Groups/${gid}`), r.json.meta.location);
        assert.equal(r.headers.get('location'), r.json.meta.location);
    });

    test('a second group with the same displayName: 409 uniqueness', async () => {
        const r = await t.scim.post('/Groups', { schemas: [SCIM.GROUP], displayName: name, members: [] });
        assertScimError(r, 409, 'uniqueness');
    });

    test('GET /Groups?filter=displayName eq "x"&startIndex=1&count=100 and GET /Groups/{id}', async () => {
        const r = await t.scim.get(`/Groups?${filterQ(`displayName eq "${name}"`)}&startIndex=1&count=100`);
        const res = assertList(r, { total: 1, items: 1 });
        assert.equal(res[0].id, gid);
        assert.equal(res[0].displayName, name);
        const g = await t.scim.get(`/Groups/${gid}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.displayName, name);
    });

    test('PATCH add members [{value, display}]: 204, the group lists both users', async () => {
        const r = await t.scim.patchOps(`/Groups/${gid}`, [{
            op: 'add', path: 'members',
            value: [{ value: u1.id, display: u1.userName }, { value: u2.id, display: u2.userName }],
        }]);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/Groups/${gid}`);
        assert.equal(g.status, 200, g.text);
        assert.deepEqual(g.json.members.map((m) => m.value).sort(), [u1.id, u2.id].sort());
        // adding a member already there changes nothing (RFC 7644 §3.5.2.1)
        const again = await t.scim.patchOps(`/Groups/${gid}`, [{ op: 'add', path: 'members', value: [{ value: u1.id }] }]);
        assert.equal(again.status, 204, again.text);
        const g2 = await t.scim.get(`/Groups/${gid}`);
        assert.equal(g2.json.members.length, 2);
    });

    test('PATCH remove with path members[value eq "id"]: 204, only that member goes', async () => {
        const r = await t.scim.patchOps(`/Groups/${gid}`, [{ op: 'remove', path: `members[value eq "${u1.id}"]` }]);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/Groups/${gid}`);
        assert.deepEqual(g.json.members.map((m) => m.value), [u2.id]);
    });

    test('PATCH replace with value {"id", "displayName"} (Okta rename): 204, renamed, members kept', async () => {
        const r = await t.scim.patchOps(`/Groups/${gid}`, [{ op: 'replace', value: { id: gid, displayName: `${name} renamed` } }]);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/Groups/${gid}`);
        assert.equal(g.json.displayName, `${name} renamed`);
        assert.deepEqual(g.json.members.map((m) => m.value), [u2.id]);
        const old = await t.scim.get(`/Groups?${filterQ(`displayName eq "${name}"`)}`);
        assertList(old, { total: 0 });
    });

    test('a member that is no user of the organisation: 400 naming it; nothing changed', async () => {
        const ghost = '0123456789abcdef01234567';
        const r = await t.scim.patchOps(`/Groups/${gid}`, [{ op: 'add', path: 'members', value: [{ value: ghost }] }]);
        assertScimError(r, 400, undefined, new RegExp(ghost));
        const g = await t.scim.get(`/Groups/${gid}`);
        assert.deepEqual(g.json.members.map((m) => m.value), [u2.id]);
    });

    test('DELETE /Groups/{id}: 204, then 404 for GET and DELETE; the users stay', async () => {
        const r = await t.scim.del(`/Groups/${gid}`);
        assert.equal(r.status, 204, r.text);
        assertScimError(await t.scim.get(`/Groups/${gid}`), 404);
        assertScimError(await t.scim.del(`/Groups/${gid}`), 404);
        assert.equal((await t.scim.get(`/Users/${u2.id}`)).status, 200);
    });
});

describe('Microsoft Entra ID: user provisioning', () => {
    let t;
    let id;
    const ext = '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef';
    const userName = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';
    const work = 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com';
    const ct = { contentType: 'application/scim+json' };

    before(async () => {
        t = await newTenant('entra-users');
    });

    test('Test Connection: a lookup of a user that does not exist answers an empty list; a bad token 401', async () => {
        const r = await t.scim.get(`/users?${filterQ('userName eq "non-existent user"')}`);
        assertList(r, { total: 0, items: 0 });
        const bad = await t.scim.get(`/users?${filterQ('userName eq "x"')}`, { auth: 'Bearer not-a-key' });
        assertScimError(bad, 401);
        const none = await t.scim.get('/users', { auth: null });
        assertScimError(none, 401);
    });

    test('lookup by externalId eq (the matching attribute) before create: none', async () => {
        const r = await t.scim.get(`/users?${filterQ(`externalId eq "${ext}"`)}`);
        assertList(r, { total: 0, items: 0 });
    });

    test('create user: POST /users with the tutorial body (enterprise schema, meta, roles [])', async () => {
        const r = await t.scim.post('/users', {
            schemas: [SCIM.USER, SCIM.ENTERPRISE],
            externalId: ext, userName, active: true,
            emails: [{ primary: true, type: 'work', value: work }],
            meta: { resourceType: 'User' },
            name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
            roles: [],
        }, ct);
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
        id = r.json.id;
        checkUser(r.json);
        assert.equal(r.json.externalId, ext);
        assert.equal(r.json.userName, userName);
        assert.equal(r.json.active, true);
        assert.equal(r.json.name.givenName, 'givenName');
        assert.equal(r.json.name.familyName, 'familyName');
        assert.equal(emailOf(r.json, 'work'), work);
    });

    test('lookups: externalId eq, userName eq, emails[type eq "work"].value eq; GET /users/{id}', async () => {
        for (const f of [`externalId eq "${ext}"`, `userName eq "${userName}"`, `emails[type eq "work"].value eq "${work}"`]) {
            const r = await t.scim.get(`/users?${filterQ(f)}`);
            const res = assertList(r, { total: 1, items: 1 });
            assert.equal(res[0].id, id, f);
        }
        // externalId is caseExact (RFC 7643 §3.1): another case is another value
        const other = await t.scim.get(`/users?${filterQ(`externalId eq "${ext.toUpperCase()}"`)}`);
        assertList(other, { total: 0 });
        const g = await t.scim.get(`/users/${id}`);
        assert.equal(g.status, 200, g.text);
        checkUser(g.json, id);
    });

    test('update multi-valued properties: Replace emails[type eq "work"].value and name.familyName: 204', async () => {
        const r = await t.scim.patchOps(`/users/${id}`, [
            { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
            { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/users/${id}`);
        assert.equal(emailOf(g.json, 'work'), 'updatedEmail@microsoft.com');
        assert.equal(g.json.name.familyName, 'updatedFamilyName');
        assert.equal(g.json.name.givenName, 'givenName', 'the other name part is kept');
        const l = await t.scim.get(`/users?${filterQ('emails[type eq "work"].value eq "updatedEmail@microsoft.com"')}`);
        assertList(l, { total: 1 });
    });

    test('update single-valued property: Replace userName: 204', async () => {
        const newName = '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com';
        const r = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'userName', value: newName }], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.userName, newName);
    });

    test('disable with the string "False", enable with "True" (Entra default job): 204 each', async () => {
        let r = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'active', value: 'False' }], ct);
        assert.equal(r.status, 204, r.text);
        let g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.active, false);
        r = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'active', value: 'True' }], ct);
        assert.equal(r.status, 204, r.text);
        g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.active, true);
        // the boolean itself, as the tutorial's "Disable user" sends it
        r = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'active', value: false }], ct);
        assert.equal(r.status, 204, r.text);
        g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.active, false);
        // a string that is no boolean is refused, naming it
        r = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'active', value: 'maybe' }], ct);
        assertScimError(r, 400, 'invalidValue', /maybe|active/);
    });

    test('Add with a path, capitalised (Entra default job): 204', async () => {
        const r = await t.scim.patchOps(`/users/${id}`, [
            { op: 'Add', path: 'title', value: 'Engineer' },
            { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' },
        ], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.title, 'Engineer');
        assert.equal(g.json[SCIM.ENTERPRISE]?.department, 'R&D', JSON.stringify(g.json));
    });

    test('aadOptscim062020: replace without path, value with dotted and URN keys: 204, each applied', async () => {
        const r = await t.scim.patchOps(`/users/${id}`, [{
            op: 'replace',
            value: {
                displayName: 'Pvs Updated',
                'name.givenName': 'Jane',
                'name.familyName': 'Doe',
                'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'E-1001',
                active: true,
            },
        }], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/users/${id}`);
        assert.equal(g.json.displayName, 'Pvs Updated');
        assert.equal(g.json.name.givenName, 'Jane');
        assert.equal(g.json.name.familyName, 'Doe');
        assert.equal(g.json[SCIM.ENTERPRISE]?.employeeNumber, 'E-1001', JSON.stringify(g.json));
        assert.equal(g.json.active, true);
        assert.equal(g.json.title, 'Engineer', 'what the value does not name is kept');
        assert.equal(g.json[SCIM.ENTERPRISE].department, 'R&D');
        // and the lower-case add without path
        const a = await t.scim.patchOps(`/users/${id}`, [{ op: 'add', value: { title: 'Staff Engineer' } }], ct);
        assert.equal(a.status, 204, a.text);
        assert.equal((await t.scim.get(`/users/${id}`)).json.title, 'Staff Engineer');
    });

    test('an unknown attribute in a no-path replace is ignored (docs/scim.md: unknown attributes in a body are ignored)', async () => {
        // RFC 7644 names no error for an attribute no schema defines inside a path-less
        // value; roster's documented choice is to ignore it, as for POST and PUT bodies.
        const before = (await t.scim.get(`/users/${id}`)).json;
        const r = await t.scim.patchOps(`/users/${id}`, [{ op: 'replace', value: { 'name.nosuch': 'x', nosuch: 'y' } }], ct);
        assert.equal(r.status, 204, r.text);
        const g = (await t.scim.get(`/users/${id}`)).json;
        assert.equal(g.nosuch, undefined);
        assert.equal(g.name.nosuch, undefined);
        assert.deepEqual(g.name, before.name);
        assert.equal(g.userName, before.userName);
        // a value filter that does not parse is refused, naming the problem
        const bad = await t.scim.patchOps(`/users/${id}`, [{ op: 'Replace', path: 'emails[type eq].value', value: 'x@y.test' }], ct);
        assert.equal(bad.status, 400, bad.text);
        assert.ok(['invalidFilter', 'invalidPath'].includes(bad.json.scimType), bad.text);
        assertScimError(bad, 400);
    });

    test('the default attribute mappings of Entra on update: Add/Replace by value paths, one PATCH', async () => {
        // The tutorial's default user mapping (telephoneNumber, mobile, facsimileTelephoneNumber
        // to phoneNumbers[type eq "..."].value; streetAddress, city, state, postalCode, country
        // to addresses[type eq "work"].*; companyName to the enterprise organization; manager
        // to the enterprise manager; preferredLanguage), sent as Entra sends changes: one PATCH
        // whose operations name value paths of elements that do not exist yet.
        const mgr = await t.scim.createUser({ userName: `manager.${process.pid}@contoso.test` });
        const E = SCIM.ENTERPRISE;
        const r = await t.scim.patchOps(`/users/${id}`, [
            { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 425 555 0100' },
            { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 425 555 0101' },
            { op: 'Add', path: 'phoneNumbers[type eq "fax"].value', value: '+1 425 555 0102' },
            { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Microsoft Way' },
            { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
            { op: 'Add', path: 'addresses[type eq "work"].region', value: 'WA' },
            { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' },
            { op: 'Add', path: 'addresses[type eq "work"].country', value: 'US' },
            { op: 'Add', path: 'preferredLanguage', value: 'en-US' },
            { op: 'Add', path: `${E}:organization`, value: 'Contoso' },
            { op: 'Add', path: `${E}:manager`, value: { value: mgr.id } },
        ], ct);
        assert.equal(r.status, 204, r.text);
        const g = (await t.scim.get(`/users/${id}`)).json;
        const phone = (type) => (g.phoneNumbers || []).find((p) => p.type === type)?.value;
        assert.equal(phone('work'), '+1 425 555 0100', JSON.stringify(g.phoneNumbers));
        assert.equal(phone('mobile'), '+1 425 555 0101');
        assert.equal(phone('fax'), '+1 425 555 0102');
        const addr = (g.addresses || []).filter((a) => a.type === 'work');
        assert.equal(addr.length, 1, `one work address made of the five operations: ${JSON.stringify(g.addresses)}`);
        assert.equal(addr[0].streetAddress, '1 Microsoft Way');
        assert.equal(addr[0].locality, 'Redmond');
        assert.equal(addr[0].region, 'WA');
        assert.equal(addr[0].postalCode, '98052');
        assert.equal(addr[0].country, 'US');
        assert.equal(g.preferredLanguage, 'en-US');
        assert.equal(g[E].organization, 'Contoso');
        assert.equal(g[E].manager?.value, mgr.id, JSON.stringify(g[E]));
        // and a Replace of one of them changes only that one
        const r2 = await t.scim.patchOps(`/users/${id}`, [
            { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 425 555 0199' },
            { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Bellevue' },
        ], ct);
        assert.equal(r2.status, 204, r2.text);
        const g2 = (await t.scim.get(`/users/${id}`)).json;
        assert.equal(g2.phoneNumbers.find((p) => p.type === 'mobile').value, '+1 425 555 0199');
        assert.equal(g2.phoneNumbers.find((p) => p.type === 'work').value, '+1 425 555 0100');
        assert.equal(g2.phoneNumbers.length, 3);
        const a2 = g2.addresses.filter((a) => a.type === 'work');
        assert.equal(a2.length, 1);
        assert.equal(a2[0].locality, 'Bellevue');
        assert.equal(a2[0].streetAddress, '1 Microsoft Way');
        // attributes cleared in Entra: Remove of the manager and of one phone
        const r3 = await t.scim.patchOps(`/users/${id}`, [
            { op: 'Remove', path: `${E}:manager` },
            { op: 'Remove', path: 'phoneNumbers[type eq "fax"]' },
        ], ct);
        assert.equal(r3.status, 204, r3.text);
        const g3 = (await t.scim.get(`/users/${id}`)).json;
        assert.equal(g3[E]?.manager, undefined, JSON.stringify(g3[E]));
        assert.equal(g3[E].organization, 'Contoso');
        assert.deepEqual(g3.phoneNumbers.map((p) => p.type).sort(), ['mobile', 'work']);
    });

    test('delete user: DELETE /users/{id} 204; then GET 404 and the lookup is empty', async () => {
        const r = await t.scim.del(`/users/${id}`);
        assert.equal(r.status, 204, r.text);
        assertScimError(await t.scim.get(`/users/${id}`), 404);
        assertScimError(await t.scim.del(`/users/${id}`), 404);
        assertList(await t.scim.get(`/users?${filterQ(`externalId eq "${ext}"`)}`), { total: 0 });
    });
});

describe('Microsoft Entra ID: group provisioning', () => {
    let t;
    let gid;
    let u1;
    let u2;
    const ext = '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159';
    const ct = { contentType: 'application/scim+json' };

    before(async () => {
        t = await newTenant('entra-groups');
        u1 = await t.scim.createUser({ userName: 'entra.one@contoso.test', externalId: 'e-1' });
        u2 = await t.scim.createUser({ userName: 'entra.two@contoso.test', externalId: 'e-2' });
    });

    test('lookup before create: GET /groups?excludedAttributes=members&filter=displayName eq "x": none', async () => {
        const r = await t.scim.get(`/groups?excludedAttributes=members&${filterQ('displayName eq "displayName"')}`);
        assertList(r, { total: 0, items: 0 });
    });

    test('create group: POST /groups with externalId and meta: 201', async () => {
        const r = await t.scim.post('/groups', {
            schemas: [SCIM.GROUP], externalId: ext, displayName: 'displayName',
            meta: { resourceType: 'Group' },
        }, ct);
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
        gid = r.json.id;
        assert.equal(r.json.displayName, 'displayName');
        assert.equal(r.json.externalId, ext);
        assert.deepEqual(r.json.members ?? [], []);
        assert.equal(r.json.meta.resourceType, 'Group');
    });

    test('add members: {"op":"Add","path":"members","value":[{"$ref":null,"value":"id"}]}: 204', async () => {
        const r = await t.scim.patchOps(`/groups/${gid}`, [{
            op: 'Add', path: 'members', value: [{ $ref: null, value: u1.id }, { $ref: null, value: u2.id }],
        }], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/groups/${gid}`);
        assert.deepEqual(g.json.members.map((m) => m.value).sort(), [u1.id, u2.id].sort());
    });

    test('get group with excludedAttributes=members, by id and by displayName: no members', async () => {
        const g = await t.scim.get(`/groups/${gid}?excludedAttributes=members`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.id, gid);
        assert.equal(g.json.displayName, 'displayName');
        assert.equal(g.json.members, undefined, 'members excluded');
        const r = await t.scim.get(`/groups?excludedAttributes=members&${filterQ('displayName eq "displayName"')}`);
        const res = assertList(r, { total: 1, items: 1 });
        assert.equal(res[0].id, gid);
        assert.equal(res[0].members, undefined, 'members excluded');
        assert.equal(res[0].displayName, 'displayName');
    });

    test('update group (non-member attribute): Replace displayName: 204', async () => {
        const r = await t.scim.patchOps(`/groups/${gid}`, [{
            op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
        }], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/groups/${gid}?excludedAttributes=members`);
        assert.equal(g.json.displayName, '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    });

    test('remove member: {"op":"Remove","path":"members","value":[{"value":"id"}]}: 204, only that one', async () => {
        const r = await t.scim.patchOps(`/groups/${gid}`, [{ op: 'Remove', path: 'members', value: [{ value: u1.id }] }], ct);
        assert.equal(r.status, 204, r.text);
        const g = await t.scim.get(`/groups/${gid}`);
        assert.deepEqual(g.json.members.map((m) => m.value), [u2.id]);
        // the same with the $ref the tutorial shows, lower-case op (aadOptscim062020)
        const r2 = await t.scim.patchOps(`/groups/${gid}`, [{ op: 'remove', path: 'members', value: [{ $ref: null, value: u2.id }] }], ct);
        assert.equal(r2.status, 204, r2.text);
        const g2 = await t.scim.get(`/groups/${gid}`);
        assert.deepEqual(g2.json.members ?? [], []);
    });

    test('delete group: 204, then 404; its former members remain', async () => {
        const r = await t.scim.del(`/groups/${gid}`);
        assert.equal(r.status, 204, r.text);
        assertScimError(await t.scim.get(`/groups/${gid}`), 404);
        assert.equal((await t.scim.get(`/users/${u1.id}`)).status, 200);
    });
});

describe('clients that send in parallel (Okta and Entra run several requests at once)', () => {
    let t;
    before(async () => {
        t = await newTenant('scim-parallel');
    });

    test('concurrent PATCH add members on one group, each without If-Match: every member is kept', async () => {
        const users = [];
        for (let i = 0; i < 16; i++) users.push(await t.scim.createUser({ userName: `par.${i}@example.com` }));
        const g = await t.scim.createGroup({ displayName: 'parallel-group' });
        const rs = await Promise.all(users.map((u, i) => t.scim.patchOps(`/Groups/${g.id}`, [{
            op: i % 2 ? 'Add' : 'add', path: 'members', value: [{ value: u.id }],
        }])));
        rs.forEach((r, i) => assert.equal(r.status, 204, `PATCH ${i}: ${r.status} ${r.text}`));
        const after = await t.scim.get(`/Groups/${g.id}`);
        assert.deepEqual(after.json.members.map((m) => m.value).sort(), users.map((u) => u.id).sort());
        // and concurrent removals of half of them
        const rm = await Promise.all(users.filter((_, i) => i % 2 === 0).map((u) => t.scim.patchOps(`/Groups/${g.id}`,
            [{ op: 'remove', path: `members[value eq "${u.id}"]` }])));
        rm.forEach((r, i) => assert.equal(r.status, 204, `remove ${i}: ${r.status} ${r.text}`));
        const left = await t.scim.get(`/Groups/${g.id}`);
        assert.deepEqual(left.json.members.map((m) => m.value).sort(), users.filter((_, i) => i % 2 === 1).map((u) => u.id).sort());
    });

    test('concurrent PATCHes of different attributes of one user, without If-Match: none is lost', async () => {
        // RFC 7644 §3.5.2: each PATCH changes only what it names. Three rounds of six at once.
        for (let round = 0; round < 3; round++) {
            const u = await t.scim.createUser({ userName: `par.attrs${round}@example.com` });
            const rs = await Promise.all([
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Replace', path: 'title', value: 'T' }]),
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Replace', path: 'displayName', value: 'D' }]),
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Replace', path: 'name.givenName', value: 'G' }]),
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Replace', path: 'name.familyName', value: 'F' }]),
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Add', path: 'emails', value: [{ value: `par.attrs${round}@example.com`, type: 'work' }] }]),
                t.scim.patchOps(`/Users/${u.id}`, [{ op: 'Replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'X' }]),
            ]);
            rs.forEach((r, i) => assert.equal(r.status, 204, `round ${round} PATCH ${i}: ${r.status} ${r.text}`));
            const g = (await t.scim.get(`/Users/${u.id}`)).json;
            const got = JSON.stringify(g);
            assert.equal(g.title, 'T', `round ${round}: ${got}`);
            assert.equal(g.displayName, 'D', `round ${round}: ${got}`);
            assert.equal(g.name?.givenName, 'G', `round ${round}: ${got}`);
            assert.equal(g.name?.familyName, 'F', `round ${round}: ${got}`);
            assert.equal(emailOf(g, 'work'), `par.attrs${round}@example.com`, `round ${round}: ${got}`);
            assert.equal(g[SCIM.ENTERPRISE]?.department, 'X', `round ${round}: ${got}`);
        }
    });

    test('the same POST /Users sent 8 times at once: one 201, seven 409 uniqueness', async () => {
        const rs = await Promise.all(Array.from({ length: 8 }, () => t.scim.post('/Users', { schemas: [SCIM.USER], userName: 'par.once@example.com' })));
        const created = rs.filter((r) => r.status === 201);
        assert.equal(created.length, 1, rs.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
        for (const r of rs.filter((x) => x.status !== 201)) assertScimError(r, 409, 'uniqueness');
        assertList(await t.scim.get(`/Users?${filterQ('userName eq "par.once@example.com"')}`), { total: 1 });
    });
});

describe('errors real clients meet', () => {
    let t;
    before(async () => {
        t = await newTenant('scim-errors');
    });

    test('a filter that does not parse: 400 invalidFilter naming the problem', async () => {
        const r = await t.scim.get(`/Users?${filterQ('userName eq')}`);
        assertScimError(r, 400, 'invalidFilter');
        const r2 = await t.scim.get(`/Users?${filterQ('userName zz "x"')}`);
        assertScimError(r2, 400, 'invalidFilter', /zz/);
    });

    test('startIndex/count that are no integers: 400 invalidValue', async () => {
        assertScimError(await t.scim.get('/Users?startIndex=abc'), 400, 'invalidValue', /startIndex/);
        assertScimError(await t.scim.get('/Users?count=1.5'), 400, 'invalidValue', /count/);
    });

    test('RFC 7644 §3.4.2.4 paging edges: startIndex < 1 is 1, count 0 gives only the total, a negative count is 0', async () => {
        await t.scim.createUser({ userName: 'page.a' });
        await t.scim.createUser({ userName: 'page.b' });
        const all = assertList(await t.scim.get('/Users'));
        const n = all.length;
        assert.ok(n >= 2);
        const z = await t.scim.get('/Users?startIndex=0&count=1');
        assertList(z, { total: n, items: 1 });
        assert.equal(z.json.startIndex, 1);
        assert.equal(z.json.Resources[0].id, all[0].id);
        const c0 = await t.scim.get('/Users?count=0');
        assertList(c0, { total: n, items: 0 });
        const neg = await t.scim.get('/Users?count=-5');
        assertList(neg, { total: n, items: 0 });
        const past = await t.scim.get(`/Users?startIndex=${n + 1}&count=10`);
        assertList(past, { total: n, items: 0 });
    });

    test('POST /Users without userName: 400 invalidValue naming userName; a body that is no JSON: invalidSyntax', async () => {
        assertScimError(await t.scim.post('/Users', { schemas: [SCIM.USER], name: { givenName: 'x' } }), 400, 'invalidValue', /userName/);
        assertScimError(await t.scim.req('POST', '/Users', { raw: '{not json' }), 400, 'invalidSyntax');
    });

    test('a user needs only userName: no e-mail is fine', async () => {
        const u = await t.scim.createUser({ userName: 'only.a.username' });
        assert.equal(u.userName, 'only.a.username');
        assert.deepEqual(u.emails ?? [], []);
    });

    test('application/json is accepted in and scim+json comes out', async () => {
        const r = await t.scim.post('/Users', { schemas: [SCIM.USER], userName: 'json.client' }, { contentType: 'application/json', accept: 'application/json' });
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
    });

    test('Content-Type application/scim+json; charset=utf-8 (Okta) is accepted', async () => {
        const r = await t.scim.post('/Users', { schemas: [SCIM.USER], userName: 'charset.client' },
            { contentType: 'application/scim+json; charset=utf-8' });
        assert.equal(r.status, 201, r.text);
        assertScimType(r);
    });

    test('ids: a user id and a group id that do not exist are 404 with the Error schema', async () => {
        assertScimError(await t.scim.get('/Users/ffffffffffffffffffffffff'), 404);
        assertScimError(await t.scim.get('/Groups/999999999'), 404);
        assertScimError(await t.scim.patchOps('/Users/ffffffffffffffffffffffff', [{ op: 'replace', value: { active: false } }]), 404);
        assertScimError(await t.scim.put('/Users/ffffffffffffffffffffffff', { schemas: [SCIM.USER], userName: 'x' }), 404);
        assertScimError(await t.scim.del('/Users/not-an-id'), 404);
    });
});
