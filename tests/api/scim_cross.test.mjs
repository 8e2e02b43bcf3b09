// SCIM and the other dialects share one directory (issue 16), against a real roster over
// HTTPS (the Voximplant dialect's clients only speak https), on both stores:
//  - a user created over SCIM appears in JumpCloud GET /api/systemusers, Concur GET /users
//    and Voximplant GetUsers, its attributes mapped as docs/scim.md writes down; a SCIM user
//    without an e-mail shows there as those dialects show any missing optional field
//    (JumpCloud: an unset string field is "", docs/jumpcloud.md "Returned users"; Concur:
//    null, and Emails [], docs/concur.md "Field mapping"; Voximplant's user has no e-mail);
//  - a change through SCIM (PATCH active false, PUT) is seen by the others, and a change
//    through JumpCloud is seen by SCIM;
//  - the users of a JumpCloud bulk job (POST /api/v2/bulk/users, waited for) appear in SCIM
//    GET /Users, by filter and in the paged list;
//  - tenant isolation: another organisation's SCIM user and group answer 404 exactly like
//    missing ones (the bodies compared, the id in a detail replaced by a placeholder), its
//    users cannot be made members, and no list or filter shows them.
// The Voximplant calls are raw requests with a JWT signed like the official client's
// (RS256 over {iss, iat, exp}, kid = key id of `roster key create-service-account`), as
// tests/api/voximplant.test.mjs does.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, cleanup, cliOrg, cliKey, tempDir, tlsFiles, httpsRequest, makeUsers, uniq, pollUntil } from './harness.mjs';
import { ScimClient, SCIM, filterQ, assertScimError, assertList } from './scimlib.mjs';

let srv;
let dir;
const A = {};
const B = {};

const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
function signToken(cred) {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid: cred.key_id })}.${b64u({ iss: cred.account_id, iat: now, exp: now + 64 })}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), cred.private_key).toString('base64url')}`;
}

async function tenant(t, tag) {
    t.org = await cliOrg(srv.store, uniq(tag));
    t.key = await cliKey(srv.store, t.org);
    t.scim = new ScimClient(srv, t.key);
    t.jc = srv.api(t.key);
    const r = await srv.cli('key', 'create-service-account', '--org', t.org);
    assert.equal(r.code, 0, r.stderr);
    t.vox = JSON.parse(r.stdout);
}

/** Concur GET <path> with the tenant's key as Bearer. */
async function concur(t, p) {
    const r = await httpsRequest(srv.url + p, { headers: { authorization: `Bearer ${t.key}`, accept: 'application/json' }, ca: srv.ca });
    assert.equal(r.status, 200, `concur ${p}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
}
/** Concur's item of a user id (walks the listing: no id filter in Concur's bulk listing). */
async function concurItem(t, id) {
    for (let offset = 0; ; offset += 100) {
        const page = await concur(t, `/users?limit=100&offset=${offset}`);
        const hit = page.Items.find((i) => i.ID === id);
        if (hit) return hit;
        if (page.Items.length < 100) return undefined;
    }
}
/** Voximplant GetUsers with these form parameters; returns the decoded answer. */
async function voxGetUsers(t, params) {
    const body = new URLSearchParams({ cmd: 'GetUsers', ...params }).toString();
    const r = await httpsRequest(`${srv.url}/platform_api`, {
        method: 'POST', body, ca: srv.ca,
        headers: { authorization: `Bearer ${signToken(t.vox)}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 200, `GetUsers: ${r.status} ${r.text.slice(0, 300)}`);
    assert.equal(r.json.error, undefined, `GetUsers: ${r.text.slice(0, 300)}`);
    return r.json;
}

/** A Courier request (Bearer key) over https; asserts the status and returns the JSON. */
async function courier(t, method, p, body, status = 200) {
    const headers = { authorization: `Bearer ${t.key}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // (run reads no body: sent without one, as the client does)
    const r = await httpsRequest(srv.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ca: srv.ca });
    assert.equal(r.status, status, `courier ${method} ${p}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
}

before(async () => {
    dir = tempDir('scimx');
    srv = await startServer({ dir, tls: tlsFiles(dir) });
    await tenant(A, 'scimx-a');
    await tenant(B, 'scimx-b');
});
after(async () => {
    await cleanup(srv);
});

describe('a SCIM user in the other dialects', () => {
    let full;
    let bare;
    const login = `jane.cross.${process.pid}@corp.test`;

    before(async () => {
        full = await A.scim.createUser({
            schemas: [SCIM.USER, SCIM.ENTERPRISE],
            userName: login, externalId: 'ext-jane-1',
            name: { givenName: 'Jane', middleName: 'Q', familyName: 'Cross' },
            displayName: 'Jane Cross', title: 'Engineer',
            emails: [{ value: login, type: 'work', primary: true }],
            phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
            active: true,
            [SCIM.ENTERPRISE]: { employeeNumber: 'E-777', department: 'R&D', costCenter: 'CC-9', organization: 'Corp' },
        });
        bare = await A.scim.createUser({ userName: `bare.${process.pid}` });
    });

    test('JumpCloud GET /api/systemusers/{id} and the username filter show the SCIM user', async () => {
        const r = await A.jc.get(`/api/systemusers/${full.id}`);
        assert.equal(r.status, 200, r.text);
        const u = r.json;
        assert.equal(u._id, full.id, 'the SCIM id is the directory id');
        assert.equal(u.username, login);
        assert.equal(u.email, login);
        assert.equal(u.firstname, 'Jane');
        assert.equal(u.middlename, 'Q');
        assert.equal(u.lastname, 'Cross');
        assert.equal(u.displayname, 'Jane Cross');
        assert.equal(u.jobTitle, 'Engineer');
        assert.equal(u.employeeIdentifier, 'E-777');
        assert.equal(u.department, 'R&D');
        assert.equal(u.costCenter, 'CC-9');
        assert.equal(u.company, 'Corp');
        assert.equal(u.state, 'ACTIVATED');
        assert.ok(u.phoneNumbers.some((p) => p.type === 'mobile' && p.number === '+1 555 0100'), JSON.stringify(u.phoneNumbers));
        const l = await A.jc.get(`/api/systemusers?filter=username:eq:${encodeURIComponent(login)}`);
        assert.equal(l.status, 200, l.text);
        assert.equal(l.json.totalCount, 1);
        assert.equal(l.json.results[0]._id, full.id);
    });

    test('Concur GET /users shows the SCIM user', async () => {
        const i = await concurItem(A, full.id);
        assert.ok(i, 'listed by Concur');
        assert.equal(i.LoginID, login);
        assert.equal(i.PrimaryEmail, login);
        assert.deepEqual(i.Emails, [login]);
        assert.equal(i.FirstName, 'Jane');
        assert.equal(i.MiddleName, 'Q');
        assert.equal(i.LastName, 'Cross');
        assert.equal(i.EmployeeID, 'E-777');
        assert.equal(i.OrganizationUnit, 'R&D');
        assert.equal(i.CellPhoneNumber, '+1 555 0100');
        assert.equal(i.Active, true);
    });

    test('Voximplant GetUsers shows the SCIM user', async () => {
        const r = await voxGetUsers(A, { user_name: login });
        assert.equal(r.total_count, 1, JSON.stringify(r));
        const v = r.result[0];
        assert.equal(v.user_name, login);
        assert.equal(v.user_display_name, 'Jane Cross');
        assert.equal(v.user_active, true);
    });

    test('a SCIM user without e-mail: JumpCloud email "", Concur PrimaryEmail null and Emails [], Voximplant lists it', async () => {
        const r = await A.jc.get(`/api/systemusers/${bare.id}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.username, bare.userName);
        assert.equal(r.json.email, '', 'an unset string field is "" in JumpCloud');
        assert.equal(r.json.firstname, '');
        const l = await A.jc.get('/api/systemusers?limit=100');
        assert.equal(l.status, 200, l.text);
        assert.ok(l.json.results.some((u) => u._id === bare.id), 'listed by JumpCloud');
        const i = await concurItem(A, bare.id);
        assert.ok(i, 'listed by Concur');
        assert.equal(i.LoginID, bare.userName);
        assert.equal(i.PrimaryEmail, null, 'a field with no value is null in Concur');
        assert.deepEqual(i.Emails, []);
        assert.equal(i.FirstName, null);
        const v = await voxGetUsers(A, { user_name: bare.userName });
        assert.equal(v.total_count, 1);
        assert.equal(v.result[0].user_name, bare.userName);
    });

    test('Courier bulk messages reach SCIM users by id and by username; one without e-mail or phone is an ERROR', async () => {
        const { jobId } = await courier(A, 'POST', '/bulk', { message: { content: { title: 'Hi', body: 'Welcome' } } });
        await courier(A, 'POST', `/bulk/${jobId}`, {
            users: [{ to: { user_id: full.id } }, { recipient: login.toUpperCase() }, { to: { user_id: bare.id } }],
        });
        await courier(A, 'POST', `/bulk/${jobId}/run`, undefined, 202);
        const items = await pollUntil(`courier job ${jobId}`, async () => {
            const j = await courier(A, 'GET', `/bulk/${jobId}`);
            if (j.job.status !== 'COMPLETED') return null;
            return (await courier(A, 'GET', `/bulk/${jobId}/users`)).items;
        }, { timeoutMs: 60000, intervalMs: 100 });
        assert.deepEqual(items.map((i) => i.status), ['ENQUEUED', 'ENQUEUED', 'ERROR'], JSON.stringify(items));
        assert.match(items[2].error, /no email or phone_number/, items[2].error);
        for (const i of items.slice(0, 2)) {
            const m = await courier(A, 'GET', `/messages/${i.messageId}`);
            assert.equal(m.userId, full.id);
            assert.equal(m.to.user_id, full.id);
            assert.equal(m.to.username, login);
            assert.equal(m.to.email, login);
            assert.equal(m.to.given_name, 'Jane');
            assert.equal(m.to.family_name, 'Cross');
            assert.equal(m.to.phone_number, '+1 555 0100');
        }
    });

    test('SCIM changes are seen by the other dialects: active false, then a PUT', async () => {
        let r = await A.scim.patchOps(`/Users/${full.id}`, [{ op: 'replace', value: { active: false } }]);
        assert.equal(r.status, 204, r.text);
        assert.equal((await A.jc.get(`/api/systemusers/${full.id}`)).json.state, 'SUSPENDED');
        assert.equal((await concurItem(A, full.id)).Active, false);
        assert.equal((await voxGetUsers(A, { user_name: login })).result[0].user_active, false);
        r = await A.scim.put(`/Users/${full.id}`, {
            schemas: [SCIM.USER], userName: login, name: { givenName: 'Janet', familyName: 'Cross' },
            displayName: 'Janet Cross', emails: [{ value: login, type: 'work', primary: true }], active: true,
        });
        assert.equal(r.status, 200, r.text);
        const j = (await A.jc.get(`/api/systemusers/${full.id}`)).json;
        assert.equal(j.firstname, 'Janet');
        assert.equal(j.displayname, 'Janet Cross');
        assert.equal(j.state, 'ACTIVATED');
        assert.equal((await voxGetUsers(A, { user_name: login })).result[0].user_display_name, 'Janet Cross');
    });

    test('a JumpCloud change is seen by SCIM', async () => {
        const r = await A.jc.put(`/api/systemusers/${full.id}`, { lastname: 'Crossley', state: 'SUSPENDED' });
        assert.equal(r.status, 200, r.text);
        const g = await A.scim.get(`/Users/${full.id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.name.familyName, 'Crossley');
        assert.equal(g.json.active, false);
    });
});

describe('deletes seen across dialects', () => {
    test('a SCIM DELETE removes the user from JumpCloud, Concur and Voximplant', async () => {
        const u = await A.scim.createUser({ userName: `gone.${process.pid}@corp.test`, emails: [{ value: `gone.${process.pid}@corp.test`, type: 'work' }] });
        assert.equal((await A.jc.get(`/api/systemusers/${u.id}`)).status, 200);
        const d = await A.scim.del(`/Users/${u.id}`);
        assert.equal(d.status, 204, d.text);
        assert.equal((await A.jc.get(`/api/systemusers/${u.id}`)).status, 404);
        assert.equal(await concurItem(A, u.id), undefined, 'Concur no longer lists it');
        assert.equal((await voxGetUsers(A, { user_name: u.userName })).total_count, 0);
    });

    test('a JumpCloud DELETE is seen by SCIM: the user is 404 and leaves its SCIM groups', async () => {
        const u = await A.scim.createUser({ userName: `jcgone.${process.pid}@corp.test` });
        const keep = await A.scim.createUser({ userName: `jckeep.${process.pid}@corp.test` });
        const g = await A.scim.createGroup({ displayName: `jc-del-${process.pid}`, members: [{ value: u.id }, { value: keep.id }] });
        const before = await A.scim.get(`/Groups/${g.id}`);
        const d = await A.jc.del(`/api/systemusers/${u.id}`);
        assert.equal(d.status, 200, d.text);
        assertScimError(await A.scim.get(`/Users/${u.id}`), 404);
        assertList(await A.scim.get(`/Users?${filterQ(`userName eq "${u.userName}"`)}`), { total: 0 });
        const after = await A.scim.get(`/Groups/${g.id}`);
        assert.equal(after.status, 200, after.text);
        assert.deepEqual(after.json.members.map((m) => m.value), [keep.id]);
        assert.notEqual(after.json.meta.version, before.json.meta.version, 'the group\'s version moved');
    });
});

describe('JumpCloud bulk job users in SCIM', () => {
    const N = 30;
    let prefix;
    let seed;
    let ids;

    before(async () => {
        prefix = uniq('jcb').toLowerCase();
        seed = makeUsers(N, prefix);
        ids = await A.jc.createUsers(seed);
    });

    test('each user of the job is found by SCIM userName eq, with its name and e-mail', async () => {
        for (let i = 0; i < N; i += 7) {
            const r = await A.scim.get(`/Users?${filterQ(`userName eq "${seed[i].username}"`)}`);
            const res = assertList(r, { total: 1, items: 1 });
            const u = res[0];
            assert.equal(u.id, ids[i]);
            assert.equal(u.userName, seed[i].username);
            assert.equal(u.name.givenName, seed[i].firstname);
            assert.equal(u.name.familyName, seed[i].lastname);
            assert.ok(u.emails.some((e) => e.value === seed[i].email), JSON.stringify(u.emails));
            assert.equal(u.active, true);
            assert.equal(u[SCIM.ENTERPRISE]?.employeeNumber, seed[i].employeeIdentifier, JSON.stringify(u));
            const g = await A.scim.get(`/Users/${ids[i]}`);
            assert.equal(g.status, 200, g.text);
            assert.equal(g.json.userName, seed[i].username);
        }
    });

    test('the job\'s users are all in the paged SCIM list, each once', async () => {
        const seen = new Map();
        let total;
        for (let start = 1; ; start += 10) {
            const r = await A.scim.get(`/Users?startIndex=${start}&count=10`);
            const res = assertList(r);
            assert.equal(r.json.startIndex, start);
            if (total === undefined) total = r.json.totalResults;
            assert.equal(r.json.totalResults, total, 'totalResults stable across pages');
            for (const u of res) {
                assert.ok(!seen.has(u.id), `user ${u.id} listed twice`);
                seen.set(u.id, u.userName);
            }
            if (res.length < 10) break;
        }
        assert.equal(seen.size, total);
        for (let i = 0; i < N; i++) assert.equal(seen.get(ids[i]), seed[i].username, `bulk user ${i} in the SCIM list`);
        const sw = await A.scim.get(`/Users?${filterQ(`userName sw "${prefix}"`)}&count=100`);
        const res = assertList(sw, { total: N, items: N });
        assert.deepEqual(res.map((u) => u.id).sort(), [...ids].sort());
    });
});

describe('tenant isolation', () => {
    let userA;
    let groupA;
    const login = `iso.${process.pid}@corp.test`;

    /** The body with `id` replaced by a placeholder in its detail (which may name it). */
    const maskDetail = (body, id) => {
        const out = JSON.parse(JSON.stringify(body));
        const re = new RegExp(`(?<![0-9A-Za-z])${id}(?![0-9A-Za-z])`, 'g');
        (function walk(o) {
            for (const k of Object.keys(o)) {
                if (k === 'detail' && typeof o[k] === 'string') o[k] = o[k].replace(re, '<id>');
                else if (o[k] && typeof o[k] === 'object') walk(o[k]);
            }
        })(out);
        return out;
    };
    const masked = (r, id) => maskDetail(r.json, id);
    /** Flips hex digits: a 24-hex id of the same form that no one has. */
    const missingUserId = (id) => id.replace(/[0-9a-f]/g, (c) => ((parseInt(c, 16) + 7) % 16).toString(16));

    before(async () => {
        userA = await A.scim.createUser({ userName: login, name: { givenName: 'Iso', familyName: 'Lated' }, emails: [{ value: login, type: 'work' }] });
        groupA = await A.scim.createGroup({ displayName: `iso-group-${process.pid}`, members: [{ value: userA.id }] });
    });

    test("another organisation's user: GET, PUT, PATCH, DELETE answer exactly like a missing user", async () => {
        const missing = missingUserId(userA.id);
        const put = { schemas: [SCIM.USER], userName: 'taken.over' };
        const patch = { schemas: [SCIM.PATCH], Operations: [{ op: 'replace', value: { active: false } }] };
        for (const [what, call] of [
            ['GET', (id) => B.scim.get(`/Users/${id}`)],
            ['PUT', (id) => B.scim.put(`/Users/${id}`, put)],
            ['PATCH', (id) => B.scim.patch(`/Users/${id}`, patch)],
            ['DELETE', (id) => B.scim.del(`/Users/${id}`)],
        ]) {
            const theirs = await call(userA.id);
            const none = await call(missing);
            assertScimError(theirs, 404);
            assertScimError(none, 404);
            assert.deepEqual(masked(theirs, userA.id), masked(none, missing), `${what}: the same answer`);
            assert.equal(theirs.headers.get('content-type'), none.headers.get('content-type'));
        }
        const g = await A.scim.get(`/Users/${userA.id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.userName, login, 'unchanged');
        assert.equal(g.json.active, true, 'unchanged');
    });

    test("another organisation's group: GET, PUT, PATCH, DELETE answer exactly like a missing group", async () => {
        // group ids are opaque strings; a missing one is made by changing the last digit(s)
        const missing = /^\d+$/.test(groupA.id) ? String(Number(groupA.id) + 1000003) : missingUserId(groupA.id);
        const put = { schemas: [SCIM.GROUP], displayName: 'taken over' };
        const patch = { schemas: [SCIM.PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'taken over' }] };
        for (const [what, call] of [
            ['GET', (id) => B.scim.get(`/Groups/${id}`)],
            ['PUT', (id) => B.scim.put(`/Groups/${id}`, put)],
            ['PATCH', (id) => B.scim.patch(`/Groups/${id}`, patch)],
            ['DELETE', (id) => B.scim.del(`/Groups/${id}`)],
        ]) {
            const theirs = await call(groupA.id);
            const none = await call(missing);
            assertScimError(theirs, 404);
            assertScimError(none, 404);
            assert.deepEqual(masked(theirs, groupA.id), masked(none, missing), `${what}: the same answer`);
        }
        const g = await A.scim.get(`/Groups/${groupA.id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.displayName, groupA.displayName, 'unchanged');
        assert.deepEqual(g.json.members.map((m) => m.value), [userA.id]);
    });

    test("another organisation's user cannot be made a member: the same 400 as an unknown id", async () => {
        const missing = missingUserId(userA.id);
        const theirs = await B.scim.post('/Groups', { schemas: [SCIM.GROUP], displayName: 'b-group-1', members: [{ value: userA.id }] });
        const none = await B.scim.post('/Groups', { schemas: [SCIM.GROUP], displayName: 'b-group-1', members: [{ value: missing }] });
        assertScimError(theirs, 400);
        assertScimError(none, 400);
        assert.deepEqual(masked(theirs, userA.id), masked(none, missing));
        const own = await B.scim.createGroup({ displayName: 'b-group-2' });
        const p1 = await B.scim.patchOps(`/Groups/${own.id}`, [{ op: 'add', path: 'members', value: [{ value: userA.id }] }]);
        const p2 = await B.scim.patchOps(`/Groups/${own.id}`, [{ op: 'add', path: 'members', value: [{ value: missing }] }]);
        assertScimError(p1, 400);
        assertScimError(p2, 400);
        assert.deepEqual(masked(p1, userA.id), masked(p2, missing));
        const g = await B.scim.get(`/Groups/${own.id}`);
        assert.deepEqual(g.json.members ?? [], []);
    });

    test("no list, filter or search shows another organisation's users and groups", async () => {
        for (const q of ['/Users', '/Users?count=1000', `/Users?${filterQ(`userName eq "${login}"`)}`,
            `/Users?${filterQ(`id eq "${userA.id}"`)}`, `/Users?${filterQ('userName pr')}`]) {
            const r = await B.scim.get(q);
            const res = assertList(r);
            assert.ok(!res.some((u) => u.id === userA.id || u.userName === login), `${q} shows A's user`);
        }
        const f = await B.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}`);
        assertList(f, { total: 0, items: 0 });
        const s = await B.scim.post('/Users/.search', { schemas: [SCIM.SEARCH], filter: `userName eq "${login}"` });
        assertList(s, { total: 0, items: 0 });
        for (const q of ['/Groups', `/Groups?${filterQ(`displayName eq "${groupA.displayName}"`)}`]) {
            const r = await B.scim.get(q);
            const res = assertList(r);
            assert.ok(!res.some((g) => g.id === groupA.id || g.displayName === groupA.displayName), `${q} shows A's group`);
        }
        // and A's own lists show them
        assertList(await A.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}`), { total: 1 });
        assertList(await A.scim.get(`/Groups?${filterQ(`displayName eq "${groupA.displayName}"`)}`), { total: 1 });
    });

    test("/Bulk: operations on another organisation's user and group answer 404 like missing ones", async () => {
        const missing = missingUserId(userA.id);
        const r = await B.scim.post('/Bulk', {
            schemas: [SCIM.BULK_REQ],
            Operations: [
                { method: 'PATCH', path: `/Users/${userA.id}`, data: { schemas: [SCIM.PATCH], Operations: [{ op: 'replace', value: { active: false } }] } },
                { method: 'PATCH', path: `/Users/${missing}`, data: { schemas: [SCIM.PATCH], Operations: [{ op: 'replace', value: { active: false } }] } },
                { method: 'DELETE', path: `/Groups/${groupA.id}` },
                { method: 'DELETE', path: `/Users/${userA.id}` },
            ],
        });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.schemas, [SCIM.BULK_RESP]);
        const ops = r.json.Operations;
        assert.equal(ops.length, 4, r.text);
        for (const o of ops) {
            assert.equal(String(o.status), '404', JSON.stringify(o));
            // RFC 7644 §3.7.3: a failed operation's response is the Error body
            assert.deepEqual(o.response?.schemas, [SCIM.ERROR], JSON.stringify(o));
            assert.equal(o.response.status, '404');
        }
        assert.deepEqual(maskDetail(ops[0].response ?? {}, userA.id), maskDetail(ops[1].response ?? {}, missing), 'the same answer');
        const g = await A.scim.get(`/Users/${userA.id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.active, true, 'unchanged');
        assert.equal((await A.scim.get(`/Groups/${groupA.id}`)).status, 200);
    });

    test('uniqueness is per organisation: B may use A\'s userName and group displayName', async () => {
        const u = await B.scim.createUser({ userName: login });
        assert.notEqual(u.id, userA.id);
        const g = await B.scim.createGroup({ displayName: groupA.displayName });
        assert.notEqual(g.id, groupA.id);
        // each sees its own
        const ra = assertList(await A.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}`), { total: 1 });
        const rb = assertList(await B.scim.get(`/Users?${filterQ(`userName eq "${login}"`)}`), { total: 1 });
        assert.equal(ra[0].id, userA.id);
        assert.equal(rb[0].id, u.id);
    });
});
