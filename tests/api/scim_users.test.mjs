// SCIM 2.0 /Users and discovery (docs/scim.md) against a real server, with plain fetch as
// identity providers talk to it: every operation and error (RFC 7644 §3.12 Error schema),
// Okta's provisioning sequence, Microsoft Entra ID's PATCH forms, ETags with If-Match /
// If-None-Match, case-insensitive resource paths, tenant isolation, and a SCIM user without
// an e-mail address as the JumpCloud, Concur and Voximplant dialects show it.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, cleanup, cliOrg, cliKey, uniq, storeQuery, HEX24, RFC3339 } from './harness.mjs';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PATCHOP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let srv;
let key;
let keyB;
let p; // a unique prefix of this run's user names

async function call(method, path, { body, headers = {}, token = key, raw } = {}) {
    const h = { ...headers };
    if (token !== null) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-type'] = h['content-type'] || 'application/scim+json';
    const res = await fetch(`${srv.url}${path}`, {
        method, headers: h, body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, text, json };
}

const scim = {
    get: (path, o) => call('GET', `/scim/v2${path}`, o),
    post: (path, body, o = {}) => call('POST', `/scim/v2${path}`, { ...o, body }),
    put: (path, body, o = {}) => call('PUT', `/scim/v2${path}`, { ...o, body }),
    patch: (path, body, o = {}) => call('PATCH', `/scim/v2${path}`, { ...o, body }),
    del: (path, o) => call('DELETE', `/scim/v2${path}`, o),
};

/** Asserts an RFC 7644 §3.12 Error: status as a string, scimType, a detail matching re. */
function assertError(r, status, scimType, re) {
    assert.equal(r.status, status, r.text);
    assert.match(r.headers.get('content-type') || '', /^application\/scim\+json/);
    assert.deepEqual(r.json.schemas, [ERROR]);
    assert.equal(r.json.status, String(status));
    if (scimType) assert.equal(r.json.scimType, scimType, r.text);
    else assert.equal(r.json.scimType, undefined, r.text);
    assert.equal(typeof r.json.detail, 'string');
    if (re) assert.match(r.json.detail, re);
}

function newUser(tag, extra = {}) {
    return {
        schemas: [USER, ENT],
        userName: `${p}${tag}@example.com`,
        externalId: `ext-${p}${tag}`,
        name: { givenName: 'Ada', familyName: 'Lovelace', middleName: 'K', formatted: 'Ada K Lovelace', honorificPrefix: 'Ms.' },
        displayName: 'Ada Lovelace',
        nickName: 'ada',
        title: 'Engineer',
        userType: 'Employee',
        preferredLanguage: 'en-GB',
        locale: 'en-GB',
        timezone: 'Europe/London',
        active: true,
        emails: [{ value: `${p}${tag}@work.example.com`, type: 'work', primary: true }, { value: `${p}${tag}@home.example.com`, type: 'home' }],
        phoneNumbers: [{ value: '+44 20 1234', type: 'work' }],
        addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'London', postalCode: 'N1', country: 'GB', primary: true }],
        [ENT]: { employeeNumber: `E-${p}${tag}`, costCenter: 'CC1', organization: 'Acme', division: 'R&D', department: 'Eng' },
        password: 'Secr3t-passw0rd!',
        ...extra,
    };
}

before(async () => {
    srv = await startServer({});
    key = srv.adminKey;
    p = uniq('scim');
    const orgB = await cliOrg(srv.store, uniq('scim-b'));
    keyB = await cliKey(srv.store, orgB);
});

after(async () => {
    await cleanup(srv);
});

describe('discovery', () => {
    test('ServiceProviderConfig is true to what is implemented', async () => {
        const r = await scim.get('/ServiceProviderConfig');
        assert.equal(r.status, 200, r.text);
        assert.match(r.headers.get('content-type'), /^application\/scim\+json/);
        const c = r.json;
        assert.deepEqual(c.schemas, ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
        assert.equal(c.patch.supported, true);
        assert.deepEqual(c.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
        assert.deepEqual(c.filter, { supported: true, maxResults: 1000 });
        assert.equal(c.sort.supported, true);
        assert.equal(c.etag.supported, true);
        assert.equal(c.changePassword.supported, true);
        assert.equal(c.authenticationSchemes[0].type, 'oauthbearertoken');
        assert.equal(c.meta.resourceType, 'ServiceProviderConfig');
    });

    test('ResourceTypes and Schemas, each by id; unknown ids are 404', async () => {
        const rt = await scim.get('/ResourceTypes');
        assert.equal(rt.status, 200);
        assert.deepEqual(rt.json.schemas, [LIST]);
        assert.deepEqual(rt.json.Resources.map((x) => x.id).sort(), ['Group', 'User']);
        const u = await scim.get('/ResourceTypes/User');
        assert.equal(u.json.endpoint, '/Users');
        assert.equal(u.json.schema, USER);
        assert.deepEqual(u.json.schemaExtensions, [{ schema: ENT, required: false }]);
        assertError(await scim.get('/ResourceTypes/Nope'), 404, null, /Nope/);
        const s = await scim.get('/Schemas');
        assert.deepEqual(s.json.Resources.map((x) => x.id).sort(), [USER, 'urn:ietf:params:scim:schemas:core:2.0:Group', ENT].sort());
        const us = await scim.get(`/Schemas/${USER}`);
        assert.equal(us.status, 200);
        const names = us.json.attributes.map((a) => a.name);
        for (const n of ['userName', 'name', 'emails', 'active', 'password', 'externalId' === 'x' ? 'x' : 'locale', 'timezone', 'userType', 'preferredLanguage'])
            assert.ok(names.includes(n), n);
        const pw = us.json.attributes.find((a) => a.name === 'password');
        assert.equal(pw.mutability, 'writeOnly');
        assert.equal(pw.returned, 'never');
        assertError(await scim.get('/Schemas/urn:nope'), 404);
    });

    test('an unknown endpoint is 404, a wrong method 405, a non-JSON body 415: all in the Error schema', async () => {
        assertError(await scim.get('/Nope'), 404);
        const m = await scim.del('/Users');
        assertError(m, 405);
        assert.match(m.headers.get('allow') || '', /GET/);
        assertError(await call('POST', '/scim/v2/Users', { raw: 'userName=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    });

    test('auth: no bearer token or a wrong one is 401 in the Error schema', async () => {
        const r = await scim.get('/Users', { token: null });
        assertError(r, 401);
        assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
        assertError(await scim.get('/Users', { token: 'nope-nope-nope-nope' }), 401);
    });
});

describe('Users', () => {
    test('POST creates (201, Location, ETag, meta); GET returns it; password is never returned', async () => {
        const body = newUser('create');
        const r = await scim.post('/Users', body);
        assert.equal(r.status, 201, r.text);
        const u = r.json;
        assert.match(u.id, HEX24);
        assert.deepEqual(u.schemas, [USER, ENT]);
        assert.equal(u.userName, body.userName);
        assert.equal(u.externalId, body.externalId);
        assert.deepEqual(u.name, body.name);
        assert.equal(u.displayName, 'Ada Lovelace');
        assert.equal(u.nickName, 'ada');
        assert.equal(u.title, 'Engineer');
        assert.equal(u.userType, 'Employee');
        assert.equal(u.preferredLanguage, 'en-GB');
        assert.equal(u.locale, 'en-GB');
        assert.equal(u.timezone, 'Europe/London');
        assert.equal(u.active, true);
        assert.deepEqual(u.emails, [{ value: body.emails[0].value, type: 'work', primary: true }, { value: body.emails[1].value, type: 'home' }]);
        assert.deepEqual(u.phoneNumbers, [{ value: '+44 20 1234', type: 'work' }]);
        assert.deepEqual(u.addresses, body.addresses);
        assert.deepEqual(u[ENT], body[ENT]);
        assert.equal(u.password, undefined);
        assert.equal(u.meta.resourceType, 'User');
        assert.match(u.meta.created, RFC3339);
        assert.match(u.meta.lastModified, RFC3339);
        assert.equal(u.meta.version, 'W/"1"');
        assert.equal(u.meta.location, `${srv.url}/scim/v2/Users/${u.id}`);
        assert.equal(r.headers.get('location'), u.meta.location);
        assert.equal(r.headers.get('etag'), 'W/"1"');
        const g = await scim.get(`/Users/${u.id}`);
        assert.equal(g.status, 200);
        assert.deepEqual(g.json, u);
        // the password went through core's hashing: only a yescrypt hash is stored
        const hash = await storeQuery(srv.store, `SELECT s.password_hash FROM user_secrets AS s JOIN users AS u ON u.num_id = s.user_num WHERE u.id = '${u.id}'`);
        assert.equal(hash.length, 1);
        assert.match(hash[0], /^\$y\$/);
        assert.ok(!hash[0].includes(body.password));
        assert.equal(g.headers.get('etag'), 'W/"1"');
    });

    test('a user needs only a userName; a missing userName or a wrong type is 400 invalidValue', async () => {
        const r = await scim.post('/Users', { schemas: [USER], userName: `${p}bare` });
        assert.equal(r.status, 201, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), ['active', 'id', 'meta', 'schemas', 'userName']);
        assertError(await scim.post('/Users', { schemas: [USER] }), 400, 'invalidValue', /userName is required/);
        assertError(await scim.post('/Users', { userName: 5 }), 400, 'invalidValue', /userName must be a string/);
        assertError(await scim.post('/Users', { userName: `${p}x`, active: 'maybe' }), 400, 'invalidValue', /active must be a boolean/);
        assertError(await scim.post('/Users', { userName: `${p}x`, emails: [{ value: 'not-an-email' }] }), 400, 'invalidValue',
            /^emails\.value "not-an-email" is not a valid email address$/);
        assertError(await scim.post('/Users', { userName: `${p}x y` }), 400, 'invalidValue', /^userName "\S+x y" must not contain whitespace/);
        assertError(await call('POST', '/scim/v2/Users', { raw: '{"userName":', headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidSyntax');
        assertError(await call('POST', '/scim/v2/Users', { raw: '[1]', headers: { 'content-type': 'application/json' } }), 400, 'invalidSyntax', /object/);
    });

    test('a duplicate userName is 409 uniqueness (case-insensitive); externalId is not unique', async () => {
        const a = await scim.post('/Users', { userName: `${p}dup`, externalId: 'same-ext' });
        assert.equal(a.status, 201);
        const d = await scim.post('/Users', { userName: `${p}DUP`, externalId: 'other' });
        assertError(d, 409, 'uniqueness', /userName/);
        const e1 = await scim.post('/Users', { userName: `${p}en1`, [ENT]: { employeeNumber: `${p}EN` } });
        assert.equal(e1.status, 201, e1.text);
        assertError(await scim.post('/Users', { userName: `${p}en2`, [ENT]: { employeeNumber: `${p}EN` } }), 409, 'uniqueness',
            /^employeeNumber "\S+EN" already exists$/);
        const b = await scim.post('/Users', { userName: `${p}dup2`, externalId: 'same-ext' });
        assert.equal(b.status, 201, b.text);
        const l = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "same-ext"')}`);
        assert.equal(l.status, 200);
        assert.equal(l.json.totalResults, 2);
        assert.deepEqual(l.json.Resources.map((x) => x.id).sort(), [a.json.id, b.json.id].sort());
    });

    test('GET of a missing or malformed id is 404', async () => {
        assertError(await scim.get('/Users/0123456789abcdef01234567'), 404, null, /not found/);
        assertError(await scim.get('/Users/nope'), 404, null, /not found/);
    });

    test('resource paths are matched without regard to case', async () => {
        const r = await scim.post('/users', { userName: `${p}case` });
        assert.equal(r.status, 201, r.text);
        const g = await call('GET', `/scim/v2/USERS/${r.json.id}`);
        assert.equal(g.status, 200);
        assert.equal(g.json.userName, `${p}case`);
        assert.equal((await scim.get('/serviceproviderconfig')).status, 200);
        assert.equal((await scim.get('/schemas')).status, 200);
    });

    test('PUT replaces: absent attributes are cleared, read-only ones ignored, version moves', async () => {
        const c = await scim.post('/Users', newUser('put'));
        const id = c.json.id;
        const r = await scim.put(`/Users/${id}`, {
            schemas: [USER], id: 'ignored', meta: { version: 'W/"99"' }, userName: `${p}put2`, externalId: 'x-put',
            name: { givenName: 'Grace' }, active: true, emails: [{ value: `${p}put2@example.com`, primary: true }],
        });
        assert.equal(r.status, 200, r.text);
        const u = r.json;
        assert.equal(u.id, id);
        assert.equal(u.userName, `${p}put2`);
        assert.deepEqual(u.name, { givenName: 'Grace' });
        assert.equal(u.displayName, undefined);
        assert.equal(u.title, undefined);
        assert.equal(u.nickName, undefined);
        assert.equal(u[ENT], undefined);
        assert.deepEqual(u.schemas, [USER]);
        assert.deepEqual(u.emails, [{ value: `${p}put2@example.com`, type: 'work', primary: true }]);
        assert.equal(u.meta.version, 'W/"2"');
        assert.equal(r.headers.get('etag'), 'W/"2"');
        assertError(await scim.put('/Users/0123456789abcdef01234567', { userName: `${p}ghost` }), 404);
        assertError(await scim.put(`/Users/${id}`, { displayName: 'x' }), 400, 'invalidValue', /userName is required/);
    });

    test('ETags: If-Match mismatch is 412, a match goes on; If-None-Match on GET is 304', async () => {
        const c = await scim.post('/Users', { userName: `${p}etag` });
        const id = c.json.id;
        assertError(await scim.put(`/Users/${id}`, { userName: `${p}etag` }, { headers: { 'if-match': 'W/"7"' } }), 412, null, /precondition/);
        assertError(await scim.patch(`/Users/${id}`, { schemas: [PATCHOP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
            { headers: { 'if-match': 'W/"7"' } }), 412);
        assertError(await scim.del(`/Users/${id}`, { headers: { 'if-match': '"5"' } }), 412);
        const ok = await scim.put(`/Users/${id}`, { userName: `${p}etag`, title: 'T' }, { headers: { 'if-match': 'W/"1"' } });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.headers.get('etag'), 'W/"2"');
        const star = await scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'title', value: 'U' }] }, { headers: { 'if-match': '*' } });
        assert.equal(star.status, 204);
        assert.equal(star.headers.get('etag'), 'W/"3"');
        const nm = await scim.get(`/Users/${id}`, { headers: { 'if-none-match': 'W/"3"' } });
        assert.equal(nm.status, 304);
        const changed = await scim.get(`/Users/${id}`, { headers: { 'if-none-match': 'W/"2"' } });
        assert.equal(changed.status, 200);
        assert.equal(changed.json.title, 'U');
    });

    test('PATCH add/replace/remove with and without path; 204 unless attributes asked', async () => {
        const c = await scim.post('/Users', newUser('patch'));
        const id = c.json.id;
        let r = await scim.patch(`/Users/${id}`, {
            schemas: [PATCHOP],
            Operations: [
                { op: 'replace', path: 'name.givenName', value: 'Augusta' },
                { op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0100', type: 'mobile' }] },
                { op: 'remove', path: 'nickName' },
                { op: 'replace', value: { displayName: 'A. Lovelace', title: 'Countess' } },
                { op: 'replace', path: `${ENT}:department`, value: 'Math' },
                { op: 'add', path: `${ENT}:manager`, value: { value: c.json.id } },
            ],
        });
        assert.equal(r.status, 204, r.text);
        assert.equal(r.text, '');
        assert.equal(r.headers.get('etag'), 'W/"2"');
        const g = (await scim.get(`/Users/${id}`)).json;
        assert.equal(g.name.givenName, 'Augusta');
        assert.equal(g.name.familyName, 'Lovelace');
        assert.deepEqual(g.phoneNumbers, [{ value: '+44 20 1234', type: 'work' }, { value: '+1 555 0100', type: 'mobile' }]);
        assert.equal(g.nickName, undefined);
        assert.equal(g.displayName, 'A. Lovelace');
        assert.equal(g.title, 'Countess');
        assert.equal(g[ENT].department, 'Math');
        assert.equal(g[ENT].manager.value, id);
        r = await scim.patch(`/Users/${id}?attributes=userName,title`, { schemas: [PATCHOP], Operations: [{ op: 'replace', path: 'title', value: 'Lady' }] });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), ['id', 'schemas', 'title', 'userName']);
        assert.equal(r.json.title, 'Lady');
        // value paths
        r = await scim.patch(`/Users/${id}`, { Operations: [
            { op: 'replace', path: 'emails[type eq "work"].value', value: `${p}patched@work.example.com` },
            { op: 'remove', path: 'phoneNumbers[type eq "mobile"]' },
            { op: 'remove', path: 'addresses' },
        ] });
        assert.equal(r.status, 204, r.text);
        const h = (await scim.get(`/Users/${id}`)).json;
        assert.equal(h.emails.find((e) => e.type === 'work').value, `${p}patched@work.example.com`);
        assert.deepEqual(h.phoneNumbers, [{ value: '+44 20 1234', type: 'work' }]);
        assert.equal(h.addresses, undefined);
    });

    test('PATCH errors: bad op, no Operations, bad path, read-only attribute, remove without path', async () => {
        const c = await scim.post('/Users', { userName: `${p}patcherr` });
        const id = c.json.id;
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'move', path: 'title' }] }), 400, 'invalidSyntax', /op/);
        assertError(await scim.patch(`/Users/${id}`, { schemas: [PATCHOP] }), 400, 'invalidSyntax', /Operations/);
        assertError(await scim.patch(`/Users/${id}`, { schemas: ['urn:x'], Operations: [{ op: 'add', path: 'title', value: 'x' }] }), 400, 'invalidSyntax');
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'add', path: 'urn:nope:attr', value: 'x' }] }), 400, 'invalidPath');
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'emails[type eq]', value: 'x' }] }), 400, 'invalidFilter');
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'id', value: 'x' }] }), 400, 'mutability');
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'remove' }] }), 400, 'noTarget');
        assertError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'remove', path: 'userName' }] }), 400, 'invalidValue', /userName is required/);
        assertError(await scim.patch('/Users/0123456789abcdef01234567', { Operations: [{ op: 'remove', path: 'title' }] }), 404);
    });

    test('active false is SUSPENDED (GET still returns it), true activates again', async () => {
        const c = await scim.post('/Users', { userName: `${p}active`, emails: [{ value: `${p}active@example.com` }] });
        const id = c.json.id;
        const r = await scim.patch(`/Users/${id}`, { schemas: [PATCHOP], Operations: [{ op: 'replace', value: { active: false } }] });
        assert.equal(r.status, 204, r.text);
        const g = await scim.get(`/Users/${id}`);
        assert.equal(g.status, 200);
        assert.equal(g.json.active, false);
        const jc = await call('GET', `/api/systemusers/${id}`, { token: null, headers: { 'x-api-key': key } });
        assert.equal(jc.json.state, 'SUSPENDED');
        await scim.patch(`/Users/${id}`, { Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
        assert.equal((await scim.get(`/Users/${id}`)).json.active, true);
    });

    test('DELETE is 204, then 404', async () => {
        const c = await scim.post('/Users', { userName: `${p}del` });
        const r = await scim.del(`/Users/${c.json.id}`);
        assert.equal(r.status, 204);
        assertError(await scim.get(`/Users/${c.json.id}`), 404);
        assertError(await scim.del(`/Users/${c.json.id}`), 404);
    });

    test('tenant isolation: another organisation\'s user answers exactly like a missing one', async () => {
        const c = await scim.post('/Users', { userName: `${p}iso` });
        const id = c.json.id;
        const missing = '0123456789abcdef01234567';
        for (const [m, body] of [['GET'], ['PUT', { userName: 'x' }], ['PATCH', { Operations: [{ op: 'remove', path: 'title' }] }], ['DELETE']]) {
            const other = await call(m, `/scim/v2/Users/${id}`, { token: keyB, body });
            const none = await call(m, `/scim/v2/Users/${missing}`, { token: keyB, body });
            assertError(other, 404);
            assert.equal(other.json.detail.replace(id, missing), none.json.detail, m);
        }
        const l = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${p}iso"`)}`, { token: keyB });
        assert.equal(l.json.totalResults, 0);
        assert.equal((await scim.get(`/Users/${id}`)).status, 200, 'still there for its own organisation');
    });
});

describe('lists', () => {
    const ids = [];
    before(async () => {
        for (let i = 0; i < 7; i++) {
            const r = await scim.post('/Users', { userName: `${p}list${i}`, externalId: `lx${i % 2}`, title: `T${6 - i}` });
            ids.push(r.json.id);
        }
    });

    test('filter userName eq, startIndex/count paging, itemsPerPage = items returned', async () => {
        const f = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${p}list3"`)}`);
        assert.equal(f.status, 200);
        assert.deepEqual(f.json.schemas, [LIST]);
        assert.equal(f.json.totalResults, 1);
        assert.equal(f.json.itemsPerPage, 1);
        assert.equal(f.json.startIndex, 1);
        assert.equal(f.json.Resources[0].id, ids[3]);
        const all = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "lx0"')}&startIndex=2&count=2`);
        assert.equal(all.json.totalResults, 4);
        assert.equal(all.json.startIndex, 2);
        assert.equal(all.json.itemsPerPage, 2);
        assert.deepEqual(all.json.Resources.map((x) => x.id), [ids[2], ids[4]]);
        const zero = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "lx0"')}&count=0`);
        assert.equal(zero.json.totalResults, 4);
        assert.equal(zero.json.itemsPerPage, 0);
        assert.deepEqual(zero.json.Resources, []);
        const past = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "lx1"')}&startIndex=10`);
        assert.equal(past.json.totalResults, 3);
        assert.equal(past.json.itemsPerPage, 0);
    });

    test('startIndex / count must be integers: 400 invalidValue', async () => {
        assertError(await scim.get('/Users?startIndex=abc'), 400, 'invalidValue', /startIndex/);
        assertError(await scim.get('/Users?count=1.5'), 400, 'invalidValue', /count/);
        const low = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "lx1"')}&startIndex=0&count=-3`);
        assert.equal(low.status, 200);
        assert.equal(low.json.startIndex, 1);
        assert.equal(low.json.itemsPerPage, 0);
    });

    test('sortBy / sortOrder; attributes and excludedAttributes', async () => {
        const s = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "lx1"')}&sortBy=title&sortOrder=descending`);
        assert.deepEqual(s.json.Resources.map((x) => x.title), ['T5', 'T3', 'T1']);
        assertError(await scim.get('/Users?sortBy=nope'), 400, 'invalidValue', /sortBy/);
        assertError(await scim.get('/Users?sortBy=userName&sortOrder=up'), 400, 'invalidValue', /sortOrder/);
        const a = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${p}list1"`)}&attributes=userName,${USER}:title`);
        assert.deepEqual(Object.keys(a.json.Resources[0]).sort(), ['id', 'schemas', 'title', 'userName']);
        const e = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${p}list1"`)}&excludedAttributes=meta,title,externalId`);
        assert.deepEqual(Object.keys(e.json.Resources[0]).sort(), ['active', 'id', 'schemas', 'userName']);
    });

    test('POST /Users/.search', async () => {
        const r = await scim.post('/Users/.search', {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
            filter: 'externalId eq "lx1"', sortBy: 'userName', sortOrder: 'ascending', startIndex: 1, count: 2, attributes: ['userName'],
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.totalResults, 3);
        assert.deepEqual(r.json.Resources, [{ schemas: [USER], id: ids[1], userName: `${p}list1` }, { schemas: [USER], id: ids[3], userName: `${p}list3` }]);
        assertError(await scim.post('/Users/.search', { count: 'x' }), 400, 'invalidValue', /count/);
    });

    test('a malformed filter is 400 invalidFilter', async () => {
        assertError(await scim.get(`/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter');
    });
});

describe('what real clients send', () => {
    test('Okta: filter by userName, POST, 409 on a duplicate, PUT, PATCH active false', async () => {
        const userName = `${p}okta@example.com`;
        const f = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`);
        assert.equal(f.status, 200);
        assert.equal(f.json.totalResults, 0);
        assert.deepEqual(f.json.Resources, []);
        const body = {
            schemas: [USER], userName, name: { givenName: 'Okta', familyName: 'User' },
            emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Okta User', locale: 'en-US',
            externalId: '00u1abcdEFGH', groups: [], password: '1mP@ssw0rd', active: true,
        };
        const c = await scim.post('/Users', body);
        assert.equal(c.status, 201, c.text);
        const id = c.json.id;
        assertError(await scim.post('/Users', body), 409, 'uniqueness');
        const f2 = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
        assert.equal(f2.json.totalResults, 1);
        const put = await scim.put(`/Users/${id}`, { ...body, id, name: { givenName: 'Okta', familyName: 'Renamed' } });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.json.name.familyName, 'Renamed');
        const d = await scim.patch(`/Users/${id}`, { schemas: [PATCHOP], Operations: [{ op: 'replace', value: { active: false } }] });
        assert.equal(d.status, 204, d.text);
        const g = await scim.get(`/Users/${id}`);
        assert.equal(g.json.active, false);
    });

    test('Entra ID: capitalised ops, "False" strings, dotted and URN keys, externalId lookup, emails[type eq "work"].value', async () => {
        const c = await scim.post('/Users', {
            schemas: [USER, ENT], externalId: `${p}entra-oid`, userName: `${p}entra@contoso.com`, active: true,
            displayName: 'Entra User', emails: [{ primary: true, type: 'work', value: `${p}entra@contoso.com` }],
            name: { formatted: 'Entra User', familyName: 'User', givenName: 'Entra' },
        });
        assert.equal(c.status, 201, c.text);
        const id = c.json.id;
        const l = await scim.get(`/Users?filter=${encodeURIComponent(`externalId eq "${p}entra-oid"`)}`);
        assert.equal(l.json.totalResults, 1);
        assert.equal(l.json.Resources[0].id, id);
        let r = await scim.patch(`/Users/${id}`, { schemas: [PATCHOP], Operations: [
            { op: 'Replace', value: { 'name.givenName': 'Entra2', 'name.familyName': 'User2', [`${ENT}:employeeNumber`]: `${p}EN1`, [`${ENT}:manager`]: 'mgr-1' } },
            { op: 'Add', path: 'emails[type eq "work"].value', value: `${p}entra2@contoso.com` },
            { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 425 555 0100' },
            { op: 'Add', path: 'title', value: 'PM' },
        ] });
        assert.equal(r.status, 204, r.text);
        let g = (await scim.get(`/Users/${id}`)).json;
        assert.equal(g.name.givenName, 'Entra2');
        assert.equal(g.name.familyName, 'User2');
        assert.equal(g.name.formatted, 'Entra User');
        assert.equal(g[ENT].employeeNumber, `${p}EN1`);
        assert.equal(g[ENT].manager.value, 'mgr-1');
        assert.equal(g.emails.find((e) => e.type === 'work').value, `${p}entra2@contoso.com`);
        assert.deepEqual(g.phoneNumbers, [{ value: '+1 425 555 0100', type: 'mobile' }]);
        assert.equal(g.title, 'PM');
        r = await scim.patch(`/Users/${id}`, { schemas: [PATCHOP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
        assert.equal(r.status, 204, r.text);
        g = (await scim.get(`/Users/${id}`)).json;
        assert.equal(g.active, false);
        r = await scim.patch(`/Users/${id}`, { Operations: [{ op: 'Replace', value: { active: 'True' } }] });
        assert.equal((await scim.get(`/Users/${id}`)).json.active, true);
        r = await scim.patch(`/Users/${id}`, { Operations: [{ op: 'Remove', path: `${ENT}:manager` }] });
        assert.equal(r.status, 204, r.text);
        assert.equal((await scim.get(`/Users/${id}`)).json[ENT].manager, undefined);
    });
});

describe('a SCIM user without e-mail in the other dialects', () => {
    let id;
    before(async () => {
        const c = await scim.post('/Users', { userName: `${p}noemail`, name: { givenName: 'No', familyName: 'Mail' }, externalId: 'hidden-ext', locale: 'fr-FR' });
        assert.equal(c.status, 201, c.text);
        id = c.json.id;
    });

    test('JumpCloud /api/systemusers shows it with email "" and none of the SCIM-only fields', async () => {
        const r = await call('GET', `/api/systemusers/${id}`, { token: null, headers: { 'x-api-key': key } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.username, `${p}noemail`);
        assert.equal(r.json.email, '');
        for (const k of ['externalId', 'locale', 'userType', 'timezone', 'preferredLanguage', 'scim']) assert.equal(r.json[k], undefined, k);
        const l = await call('GET', `/api/systemusers?filter=${encodeURIComponent(`username:eq:${p}noemail`)}`, { token: null, headers: { 'x-api-key': key } });
        assert.equal(l.json.totalCount, 1);
        assert.equal(l.json.results[0].email, '');
    });

    test('JumpCloud still requires an e-mail of its own creates: 400 "email is required"', async () => {
        const r = await call('POST', '/api/systemusers', { token: null, headers: { 'x-api-key': key, 'content-type': 'application/json' }, raw: JSON.stringify({ username: `${p}jcnomail` }) });
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /email is required/);
        // and a JumpCloud update of the SCIM user that does not touch the e-mail works
        const u = await call('PUT', `/api/systemusers/${id}`, { token: null, headers: { 'x-api-key': key, 'content-type': 'application/json' }, raw: JSON.stringify({ department: 'Ops' }) });
        assert.equal(u.status, 200, u.text);
        assert.equal((await scim.get(`/Users/${id}`)).json[ENT].department, 'Ops');
        assert.equal((await scim.get(`/Users/${id}`)).json.locale, 'fr-FR');
    });

    test('Concur GET /users shows PrimaryEmail null and no Emails', async () => {
        const r = await call('GET', `/users?loginid=${encodeURIComponent(`${p}noemail`)}`);
        assert.equal(r.status, 200, r.text);
        const item = r.json.Items.find((x) => x.ID === id);
        assert.ok(item, r.text);
        assert.equal(item.PrimaryEmail, null);
        assert.deepEqual(item.Emails, []);
        assert.equal(item.FirstName, 'No');
    });

    test('Voximplant GetUsers lists it', async () => {
        const r = await srv.cli('key', 'create-service-account', '--org', srv.orgId);
        assert.equal(r.code, 0, r.stderr);
        const cred = JSON.parse(r.stdout);
        const b64u = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid: cred.key_id })}.${b64u({ iss: cred.account_id, iat: now, exp: now + 64 })}`;
        const token = `${input}.${crypto.sign('sha256', Buffer.from(input), cred.private_key).toString('base64url')}`;
        const g = await call('POST', '/platform_api/GetUsers', { token, headers: { 'content-type': 'application/x-www-form-urlencoded' }, raw: `user_name=${encodeURIComponent(`${p}noemail`)}` });
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.result.length, 1, g.text);
        assert.equal(g.json.result[0].user_name, `${p}noemail`);
    });
});
