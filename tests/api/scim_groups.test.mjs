// SCIM 2.0 /Groups (RFC 7643 section 4.2, RFC 7644 section 3) against a real server, on the
// store ROSTER_TEST_STORE selects: create, read, replace, patch (Okta's and Microsoft Entra
// ID's forms), delete, lists with filters, paging and sorting, attributes and
// excludedAttributes, ETags with If-Match/If-None-Match, the errors with the SCIM Error
// schema, another organisation's groups as missing ones, and a SCIM group as a Courier list.
// Users come from a JumpCloud bulk job (they are roster users like any other).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Courier from '@trycourier/courier';
import { startServer, cleanup, uniq, cliOrg, cliKey, makeUsers, pollUntil, RFC3339 } from './harness.mjs';

const KEY = 'scim-groups-test-bootstrap-key-0123456789';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let srv;
after(async () => cleanup(srv));

async function server() {
    if (!srv) srv = await startServer({ bootstrapKey: KEY });
    return srv;
}

/** A SCIM client with key: req(method, path, body, headers) -> {status, headers, json, text}. */
function scim(s, key = KEY) {
    const req = async (method, p, body, headers = {}) => {
        const h = { authorization: `Bearer ${key}`, accept: 'application/scim+json', ...headers };
        if (body !== undefined) h['content-type'] = h['content-type'] || 'application/scim+json';
        const res = await fetch(`${s.url}/scim/v2${p}`, {
            method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        const text = await res.text();
        let json;
        try {
            json = text ? JSON.parse(text) : undefined;
        } catch {
            json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
    };
    return {
        req,
        get: (p, h) => req('GET', p, undefined, h),
        post: (p, b, h) => req('POST', p, b, h),
        put: (p, b, h) => req('PUT', p, b, h),
        patch: (p, b, h) => req('PATCH', p, b, h),
        del: (p, h) => req('DELETE', p, undefined, h),
    };
}

/** Asserts a SCIM error: status, the Error schema, status as a string, scimType, detail. */
function assertScimError(r, status, scimType, detailRe) {
    assert.equal(r.status, status, `expected ${status}: ${r.status} ${r.text}`);
    assert.match(r.headers.get('content-type') || '', /^application\/scim\+json/);
    assert.deepEqual(r.json.schemas, [ERROR]);
    assert.equal(r.json.status, String(status));
    assert.equal(r.json.scimType, scimType ?? undefined, r.text);
    if (detailRe) assert.match(r.json.detail, detailRe);
}

/** n users created with a JumpCloud bulk job in the org of key; their ids. */
async function users(s, n, key = KEY) {
    const api = s.api(key, null);
    return api.createUsers(makeUsers(n, uniq('sg')));
}

const patchOp = (...ops) => ({ schemas: [PATCH], Operations: ops });
const memberIds = (g) => (g.members || []).map((m) => m.value).sort();

test('POST /Groups: 201 with Location, ETag, the resource and its members; GET it back', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 3);
    const name = uniq('Sales');
    const r = await c.post('/Groups', { schemas: [GROUP], displayName: name, externalId: 'ext-1', members: ids.slice(0, 2).map((value) => ({ value })) });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type'), /^application\/scim\+json/);
    const g = r.json;
    assert.deepEqual(g.schemas, [GROUP]);
    assert.match(g.id, /^[1-9][0-9]*$/, 'a group id is its number');
    assert.equal(g.displayName, name);
    assert.equal(g.externalId, 'ext-1');
    assert.deepEqual(memberIds(g), ids.slice(0, 2).sort());
    for (const m of g.members) {
        assert.equal(m.type, 'User');
        assert.ok(m.display, 'a member has a display');
        assert.equal(m.$ref, `${s.url}/scim/v2/Users/${m.value}`);
    }
    assert.equal(g.meta.resourceType, 'Group');
    assert.match(g.meta.created, RFC3339);
    assert.match(g.meta.lastModified, RFC3339);
    assert.equal(g.meta.location, `${s.url}/scim/v2/Groups/${g.id}`);
    assert.match(g.meta.version, /^W\/"\d+"$/);
    assert.equal(r.headers.get('location'), g.meta.location);
    assert.equal(r.headers.get('etag'), g.meta.version);

    const got = await c.get(`/Groups/${g.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, g);
    assert.equal(got.headers.get('etag'), g.meta.version);
    // resource endpoints without regard to case (Entra)
    const lower = await c.get(`/groups/${g.id}`);
    assert.equal(lower.status, 200);
    assert.equal(lower.json.id, g.id);
    assert.equal((await c.get(`/GROUPS?filter=${encodeURIComponent(`id eq "${g.id}"`)}`)).json.totalResults, 1);
    // If-None-Match with the current version: 304; with another: the group
    const nm = await c.get(`/Groups/${g.id}`, { 'if-none-match': g.meta.version });
    assert.equal(nm.status, 304);
    const nm2 = await c.get(`/Groups/${g.id}`, { 'if-none-match': 'W/"999999"' });
    assert.equal(nm2.status, 200);
    // excludedAttributes=members (Entra) and attributes=displayName
    const ex = await c.get(`/Groups/${g.id}?excludedAttributes=members`);
    assert.equal(ex.json.members, undefined);
    assert.equal(ex.json.displayName, name);
    const at = await c.get(`/Groups/${g.id}?attributes=displayName`);
    assert.deepEqual(Object.keys(at.json).sort(), ['displayName', 'id', 'schemas']);
    // application/json is accepted as well
    const js = await c.post('/Groups', JSON.stringify({ displayName: uniq('json') }), { 'content-type': 'application/json' });
    assert.equal(js.status, 201, js.text);
});

test('POST /Groups errors: uniqueness, missing displayName, bad JSON, unknown and nested members', async () => {
    const s = await server();
    const c = scim(s);
    const [u] = await users(s, 1);
    const name = uniq('Dup');
    assert.equal((await c.post('/Groups', { displayName: name })).status, 201);
    assertScimError(await c.post('/Groups', { displayName: name }), 409, 'uniqueness', new RegExp(name));
    assertScimError(await c.post('/Groups', { schemas: [GROUP] }), 400, 'invalidValue', /displayName/);
    assertScimError(await c.post('/Groups', { displayName: 7 }), 400, 'invalidValue', /displayName/);
    assertScimError(await c.post('/Groups', '{"displayName": '), 400, 'invalidSyntax', /JSON/);
    assertScimError(await c.post('/Groups', '[1]'), 400, 'invalidSyntax', /Group resource/);
    assertScimError(await c.post('/Groups', { displayName: uniq('m'), members: [{ value: 'ffffffffffffffffffffffff' }] }), 400, 'invalidValue', /member "ffffffffffffffffffffffff" is not a user/);
    assertScimError(await c.post('/Groups', { displayName: uniq('m'), members: [{ display: 'x' }] }), 400, 'invalidValue', /members\[0\] needs a "value"/);
    assertScimError(await c.post('/Groups', { displayName: uniq('m'), members: 'x' }), 400, 'invalidValue', /members must be an array/);
    assertScimError(await c.post('/Groups', { displayName: uniq('m'), externalId: 5 }), 400, 'invalidValue', /externalId/);
    // nested groups: by type, or by naming a group's id
    const parent = await c.post('/Groups', { displayName: uniq('parent') });
    assertScimError(await c.post('/Groups', { displayName: uniq('n'), members: [{ value: parent.json.id, type: 'Group' }] }), 400, 'invalidValue', /nested groups are not supported/);
    assertScimError(await c.post('/Groups', { displayName: uniq('n'), members: [{ value: u }, { value: parent.json.id }] }), 400, 'invalidValue', /nested groups are not supported/);
    // nothing of a refused create was kept
    const l = await c.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
    assert.equal(l.json.totalResults, 1);
    // auth: no key, a bad key
    const noKey = await fetch(`${s.url}/scim/v2/Groups`);
    assert.equal(noKey.status, 401);
    assertScimError(await scim(s, 'not-a-key-at-all-0123456789012345678901').get('/Groups'), 401, undefined);
});

test('GET /Groups: filters (displayName, id, externalId), paging, sorting, errors', async () => {
    const s = await server();
    const { key } = await newOrg(s, 'list');
    const c = scim(s, key);
    const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
    const made = [];
    for (const [i, n] of names.entries()) made.push((await c.post('/Groups', { displayName: n, externalId: `x${i % 2}` })).json);
    const all = await c.get('/Groups');
    assert.equal(all.status, 200);
    assert.deepEqual(all.json.schemas, [LIST]);
    assert.equal(all.json.totalResults, 5);
    assert.equal(all.json.startIndex, 1);
    assert.equal(all.json.itemsPerPage, 5);
    assert.deepEqual(all.json.Resources.map((g) => g.displayName), names, 'created order by default');
    // Entra: displayName eq with excludedAttributes=members
    const f = await c.get(`/Groups?filter=${encodeURIComponent('displayName eq "echo"')}&excludedAttributes=members`);
    assert.equal(f.json.totalResults, 1);
    assert.equal(f.json.Resources[0].displayName, 'echo');
    assert.equal(f.json.Resources[0].members, undefined);
    const none = await c.get(`/Groups?filter=${encodeURIComponent('displayName eq "ECHO"')}`);
    assert.equal(none.json.totalResults, 0, 'displayName eq is exact');
    assert.deepEqual(none.json.Resources, []);
    const byId = await c.get(`/Groups?filter=${encodeURIComponent(`id eq "${made[2].id}"`)}`);
    assert.deepEqual(byId.json.Resources.map((g) => g.displayName), ['echo']);
    const badId = await c.get(`/Groups?filter=${encodeURIComponent('id eq "not-a-number"')}`);
    assert.equal(badId.json.totalResults, 0);
    const ext = await c.get(`/Groups?filter=${encodeURIComponent('externalId eq "x0"')}&sortBy=displayName`);
    assert.deepEqual(ext.json.Resources.map((g) => g.displayName), ['bravo', 'delta', 'echo']);
    const both = await c.get(`/Groups?filter=${encodeURIComponent('externalId eq "x1" and displayName eq "charlie"')}`);
    assert.deepEqual(both.json.Resources.map((g) => g.displayName), ['charlie']);
    // paging: 1-based startIndex, itemsPerPage = items returned
    const p2 = await c.get('/Groups?startIndex=2&count=2&sortBy=displayName');
    assert.deepEqual(p2.json.Resources.map((g) => g.displayName), ['bravo', 'charlie']);
    assert.equal(p2.json.totalResults, 5);
    assert.equal(p2.json.startIndex, 2);
    assert.equal(p2.json.itemsPerPage, 2);
    const last = await c.get('/Groups?startIndex=5&count=2&sortBy=displayName');
    assert.deepEqual(last.json.Resources.map((g) => g.displayName), ['echo']);
    assert.equal(last.json.itemsPerPage, 1);
    const past = await c.get('/Groups?startIndex=9');
    assert.equal(past.json.itemsPerPage, 0);
    const zero = await c.get('/Groups?count=0');
    assert.equal(zero.json.totalResults, 5);
    assert.equal(zero.json.itemsPerPage, 0);
    const below = await c.get('/Groups?startIndex=0&count=1&sortBy=displayName');
    assert.deepEqual(below.json.Resources.map((g) => g.displayName), ['alpha'], 'startIndex < 1 is 1');
    const desc = await c.get('/Groups?sortBy=displayName&sortOrder=descending&count=2&startIndex=2');
    assert.deepEqual(desc.json.Resources.map((g) => g.displayName), ['delta', 'charlie']);
    const descAll = await c.get('/Groups?sortBy=displayName&sortOrder=descending');
    assert.deepEqual(descAll.json.Resources.map((g) => g.displayName), ['echo', 'delta', 'charlie', 'bravo', 'alpha']);
    // errors
    assertScimError(await c.get(`/Groups?filter=${encodeURIComponent('displayName eq')}`), 400, 'invalidFilter');
    assertScimError(await c.get(`/Groups?filter=${encodeURIComponent('members pr')}`), 400, 'invalidFilter', /displayName eq/);
    assertScimError(await c.get(`/Groups?filter=${encodeURIComponent('displayName co "a"')}`), 400, 'invalidFilter');
    assertScimError(await c.get('/Groups?startIndex=abc'), 400, 'invalidValue', /startIndex/);
    assertScimError(await c.get('/Groups?count=1.5'), 400, 'invalidValue', /count/);
    assertScimError(await c.get('/Groups?sortBy=members'), 400, 'invalidValue', /sortBy/);
    assertScimError(await c.get('/Groups?sortBy=displayName&sortOrder=up'), 400, 'invalidValue', /sortOrder/);
});

test('PATCH /Groups: Okta forms (no-path replace with id, add members, remove members[value eq])', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 3);
    const g = (await c.post('/Groups', { displayName: uniq('okta') })).json;
    const v0 = Number(g.meta.version.match(/\d+/)[0]);
    const rename = uniq('okta-renamed');
    let r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', value: { id: g.id, displayName: rename } }));
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: ids.map((value) => ({ value, display: 'x' })) }));
    assert.equal(r.status, 204, r.text);
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${ids[1]}"]` }));
    assert.equal(r.status, 204, r.text);
    const got = (await c.get(`/Groups/${g.id}`)).json;
    assert.equal(got.displayName, rename);
    assert.deepEqual(memberIds(got), [ids[0], ids[2]].sort());
    assert.ok(Number(got.meta.version.match(/\d+/)[0]) > v0, 'every change bumps the version');
    assert.ok(got.meta.lastModified >= g.meta.lastModified);
    // adding a member twice and removing one that is not there are fine
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: ids[0] }] }, { op: 'remove', path: `members[value eq "${ids[1]}"]` }));
    assert.equal(r.status, 204, r.text);
    // attributes asked for: 200 with the resource
    r = await c.patch(`/Groups/${g.id}?attributes=members`, patchOp({ op: 'remove', path: `members[value eq "${ids[0]}" or value eq "${ids[2]}"]` }));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.members, []);
    assert.equal(r.json.displayName, undefined);
});

test('PATCH /Groups: Microsoft Entra ID forms (capitalised ops, path members with a value list)', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 4);
    const g = (await c.post('/Groups', { displayName: uniq('entra'), externalId: 'aad-1' })).json;
    let r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'Add', path: 'members', value: ids.map((value) => ({ value })) }));
    assert.equal(r.status, 204, r.text);
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: ids[0] }, { value: ids[3] }] }));
    assert.equal(r.status, 204, r.text);
    const name = uniq('entra2');
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'Replace', path: 'displayName', value: name }, { op: 'Replace', path: 'externalId', value: 'aad-2' }));
    assert.equal(r.status, 204, r.text);
    let got = (await c.get(`/Groups/${g.id}`)).json;
    assert.equal(got.displayName, name);
    assert.equal(got.externalId, 'aad-2');
    assert.deepEqual(memberIds(got), [ids[1], ids[2]].sort());
    // replace members: the set; remove members without a value: all
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: ids[3] }] }));
    assert.equal(r.status, 204, r.text);
    assert.deepEqual(memberIds((await c.get(`/Groups/${g.id}`)).json), [ids[3]]);
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' }));
    assert.equal(r.status, 204, r.text);
    assert.deepEqual(memberIds((await c.get(`/Groups/${g.id}`)).json), []);
    // a no-path add of members and a URN-qualified attribute
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', value: { members: [{ value: ids[0] }], [`${GROUP}:displayName`]: `${name}-x` } }));
    assert.equal(r.status, 204, r.text);
    got = (await c.get(`/Groups/${g.id}`)).json;
    assert.equal(got.displayName, `${name}-x`);
    assert.deepEqual(memberIds(got), [ids[0]]);
    // remove externalId
    r = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'externalId' }));
    assert.equal(r.status, 204, r.text);
    assert.equal((await c.get(`/Groups/${g.id}`)).json.externalId, undefined);
});

test('PATCH /Groups errors: all or nothing, bad ops, paths and values, If-Match', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 2);
    const taken = (await c.post('/Groups', { displayName: uniq('taken') })).json;
    const g = (await c.post('/Groups', { displayName: uniq('pe'), members: [{ value: ids[0] }] })).json;
    const before = (await c.get(`/Groups/${g.id}`)).json;
    // a failing second op undoes the first
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: ids[1] }] }, { op: 'add', path: 'members', value: [{ value: 'bogus' }] })), 400, 'invalidValue', /member "bogus"/);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: ids[1] }] }, { op: 'replace', path: 'displayName', value: taken.displayName })), 409, 'uniqueness');
    assert.deepEqual((await c.get(`/Groups/${g.id}`)).json, before, 'refused patches changed nothing');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'move', path: 'members' })), 400, 'invalidSyntax', /op must be/);
    assertScimError(await c.patch(`/Groups/${g.id}`, { schemas: [PATCH], Operations: [] }), 400, 'invalidSyntax', /Operations/);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'owner', value: 'x' })), 400, 'invalidPath', /owner/);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members[display eq "x"]' })), 400, 'invalidPath');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members[value eq' })), 400, 'invalidPath');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'displayName' })), 400, 'mutability');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: '' })), 400, 'invalidValue');
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members' })), 400, 'invalidValue', /needs a value/);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', value: 'x' })), 400, 'invalidValue', /object/);
    assertScimError(await c.patch('/Groups/999999', patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404, undefined, /group "999999" not found/);
    // If-Match: a stale version is 412, the current one passes
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: uniq('im') }), { 'if-match': 'W/"1"' }), 412);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: uniq('im') }), { 'if-match': 'garbage' }), 412);
    const ok = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: uniq('im') }), { 'if-match': before.meta.version });
    assert.equal(ok.status, 204, ok.text);
    const star = await c.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: uniq('im') }), { 'if-match': '*' });
    assert.equal(star.status, 204, star.text);
});

test('PUT /Groups: full replace (name, members, externalId), If-Match, errors', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 3);
    const g = (await c.post('/Groups', { displayName: uniq('put'), externalId: 'e', members: [{ value: ids[0] }, { value: ids[1] }] })).json;
    const name = uniq('put2');
    let r = await c.put(`/Groups/${g.id}`, { schemas: [GROUP], id: g.id, displayName: name, members: [{ value: ids[2] }] }, { 'if-match': g.meta.version });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.displayName, name);
    assert.deepEqual(memberIds(r.json), [ids[2]]);
    assert.equal(r.json.externalId, undefined, 'PUT replaces: no externalId given, none kept');
    assert.equal(r.headers.get('etag'), r.json.meta.version);
    assert.notEqual(r.json.meta.version, g.meta.version);
    assertScimError(await c.put(`/Groups/${g.id}`, { displayName: name }, { 'if-match': g.meta.version }), 412);
    r = await c.put(`/Groups/${g.id}`, { displayName: name });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.members, [], 'no members given: none');
    assertScimError(await c.put(`/Groups/${g.id}`, { members: [] }), 400, 'invalidValue', /displayName/);
    assertScimError(await c.put('/Groups/424242', { displayName: 'x' }), 404);
    assertScimError(await c.put('/Groups/abc', { displayName: 'x' }), 404);
});

test('DELETE /Groups; a deleted member leaves its groups; another organisation sees nothing', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 2);
    const g = (await c.post('/Groups', { displayName: uniq('del'), members: ids.map((value) => ({ value })) })).json;
    // JumpCloud deletes a user: it leaves the group and the group's version moves
    const api = s.api(KEY, null);
    assert.equal((await api.del(`/api/systemusers/${ids[0]}`)).status, 200);
    const after1 = (await c.get(`/Groups/${g.id}`)).json;
    assert.deepEqual(memberIds(after1), [ids[1]]);
    assert.notEqual(after1.meta.version, g.meta.version);
    // another organisation: 404 for every operation, absent from lists
    const other = await newOrg(s, 'iso');
    const o = scim(s, other.key);
    assertScimError(await o.get(`/Groups/${g.id}`), 404, undefined, new RegExp(`group "${g.id}" not found`));
    assertScimError(await o.put(`/Groups/${g.id}`, { displayName: 'x' }), 404);
    assertScimError(await o.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
    assertScimError(await o.del(`/Groups/${g.id}`), 404);
    assert.equal((await o.get(`/Groups?filter=${encodeURIComponent(`id eq "${g.id}"`)}`)).json.totalResults, 0);
    // a user of another organisation cannot be a member
    const [foreign] = await users(s, 1, other.key);
    assertScimError(await c.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: foreign }] })), 400, 'invalidValue', new RegExp(foreign));
    // delete: If-Match stale 412, then 204, then 404
    assertScimError(await c.del(`/Groups/${g.id}`, { 'if-match': g.meta.version }), 412);
    const d = await c.del(`/Groups/${g.id}`);
    assert.equal(d.status, 204);
    assertScimError(await c.get(`/Groups/${g.id}`), 404);
    assertScimError(await c.del(`/Groups/${g.id}`), 404);
});

async function newOrg(s, tag) {
    const org = await cliOrg(s.store, uniq(tag));
    return { org, key: await cliKey(s.store, org) };
}

test('a SCIM group is a Courier list: to.list_id with the group id reaches every member', async () => {
    const s = await server();
    const c = scim(s);
    const ids = await users(s, 3);
    const g = (await c.post('/Groups', { displayName: uniq('news'), members: ids.map((value) => ({ value })) })).json;
    const client = new Courier({ apiKey: KEY, baseURL: s.url, maxRetries: 0 });
    const { jobId } = await client.bulk.createJob({ message: { content: { title: 'Hi', body: 'News' } } });
    await client.bulk.addUsers(jobId, { users: [{ to: { list_id: g.id } }, { to: { list_id: g.displayName } }] });
    await client.bulk.runJob(jobId);
    const items = await pollUntil(`job ${jobId}`, async () => {
        const { job } = await client.bulk.retrieveJob(jobId);
        if (job.status !== 'COMPLETED') return null;
        return (await client.bulk.listUsers(jobId, {})).items;
    }, { timeoutMs: 60000, intervalMs: 200 });
    assert.deepEqual(items.map((it) => [it.status, it.listMessages]), [['ENQUEUED', 3], ['ENQUEUED', 3]]);
});
