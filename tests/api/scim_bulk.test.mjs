// SCIM 2.0 /Bulk (RFC 7644 section 3.7) against a real server, on the store
// ROSTER_TEST_STORE selects: BulkRequest/BulkResponse shapes, bulkId references in data and
// paths (also forward), circular and failed references, failOnErrors, the limits
// (maxOperations 1000, maxPayloadSize 1 MiB: 413), per-operation statuses for runs of
// POST /Users (duplicates in the batch and against the store: 409 uniqueness each), versions
// as If-Match, and the users of /Bulk and of a JumpCloud bulk job seen by both dialects.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, uniq, cliOrg, cliKey, makeUsers } from './harness.mjs';

const KEY = 'scim-bulk-test-bootstrap-key-0123456789ab';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const BULK_REQ = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESP = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let srv;
after(async () => cleanup(srv));

async function server() {
    if (!srv) srv = await startServer({ bootstrapKey: KEY });
    return srv;
}

async function req(s, method, p, body, headers = {}, key = KEY) {
    const h = { authorization: `Bearer ${key}`, accept: 'application/scim+json', ...headers };
    if (body !== undefined) h['content-type'] = 'application/scim+json';
    const res = await fetch(`${s.url}/scim/v2${p}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
        json = text ? JSON.parse(text) : undefined;
    } catch {
        json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
}

const bulk = (s, ops, extra = {}, key = KEY) => req(s, 'POST', '/Bulk', { schemas: [BULK_REQ], ...extra, Operations: ops }, {}, key);
const user = (name, more = {}) => ({ schemas: [USER], userName: name, ...more });

/** the BulkResponse's operations, checked for shape */
function opsOf(r) {
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') || '', /^application\/scim\+json/);
    assert.deepEqual(r.json.schemas, [BULK_RESP]);
    for (const o of r.json.Operations) {
        assert.equal(typeof o.status, 'string', 'status is a string');
        if (o.status !== '400') assert.ok(['POST', 'PUT', 'PATCH', 'DELETE'].includes(o.method), o.method);
        if (Number(o.status) >= 400) {
            assert.deepEqual(o.response.schemas, [ERROR]);
            assert.equal(o.response.status, o.status);
            assert.ok(o.response.detail);
        }
    }
    return r.json.Operations;
}

test('/Bulk: users and a group with forward bulkId references, then PATCH, PUT and DELETE by reference', async () => {
    const s = await server();
    const p = uniq('bk');
    const ops = opsOf(await bulk(s, [
        { method: 'POST', path: '/Groups', bulkId: 'team', data: { displayName: `${p}team`, members: [{ value: 'bulkId:ann' }, { value: 'bulkId:bob' }] } },
        { method: 'POST', path: '/Users', bulkId: 'ann', data: user(`${p}ann`, { emails: [{ value: `${p}ann@example.com`, type: 'work', primary: true }], name: { givenName: 'Ann', familyName: 'A' } }) },
        { method: 'POST', path: '/Users', bulkId: 'bob', data: user(`${p}bob`) },
        { method: 'PATCH', path: '/Groups/bulkId:team', data: { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members[value eq "bulkId:bob"]' }] } },
        { method: 'PATCH', path: '/Users/bulkId:bob', data: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] } },
    ]));
    assert.deepEqual(ops.map((o) => [o.method, o.bulkId, o.status]), [
        ['POST', 'team', '201'], ['POST', 'ann', '201'], ['POST', 'bob', '201'], ['PATCH', undefined, '200'], ['PATCH', undefined, '200']]);
    const [team, ann, bob] = ops;
    assert.match(ann.location, new RegExp(`^${s.url}/scim/v2/Users/[0-9a-f]{24}$`));
    assert.match(team.location, new RegExp(`^${s.url}/scim/v2/Groups/\\d+$`));
    for (const o of ops) assert.match(o.version, /^W\/"\d+"$/);
    const annId = ann.location.split('/').pop();
    const bobId = bob.location.split('/').pop();
    const teamId = team.location.split('/').pop();
    assert.equal(ops[3].location, team.location);
    // what the operations did
    const g = (await req(s, 'GET', `/Groups/${teamId}`)).json;
    assert.deepEqual(g.members.map((m) => m.value), [annId], 'bulkId references in a value filter are resolved too');
    const b = (await req(s, 'GET', `/Users/${bobId}`)).json;
    assert.equal(b.active, false);
    const a = (await req(s, 'GET', `/Users/${annId}`)).json;
    assert.equal(a.userName, `${p}ann`);
    assert.equal(a.name.givenName, 'Ann');
    // the version of an operation is its If-Match: stale 412, current passes
    const ops2 = opsOf(await bulk(s, [
        { method: 'PUT', path: `/Groups/${teamId}`, version: team.version, data: { displayName: `${p}stale` } },
        { method: 'PUT', path: `/Groups/${teamId}`, version: ops[3].version, data: { displayName: `${p}team2`, members: [{ value: bobId }] } },
        { method: 'DELETE', path: `/Users/${annId}`, version: 'W/"999"' },
        { method: 'DELETE', path: `/Users/${annId}` },
        { method: 'DELETE', path: `/Groups/${teamId}` },
        { method: 'DELETE', path: `/Groups/${teamId}` },
    ]));
    assert.deepEqual(ops2.map((o) => o.status), ['412', '200', '412', '204', '204', '404']);
    assert.equal((await req(s, 'GET', `/Users/${annId}`)).status, 404);
});

test('/Bulk POST /Users runs: duplicates in the batch and in the store are 409 each, the rest created', async () => {
    const s = await server();
    const p = uniq('dup');
    const first = opsOf(await bulk(s, [{ method: 'POST', path: '/Users', bulkId: 'x', data: user(`${p}taken`) }]));
    assert.equal(first[0].status, '201');
    const ops = opsOf(await bulk(s, [
        { method: 'POST', path: '/Users', bulkId: 'u0', data: user(`${p}a`) },
        { method: 'POST', path: '/Users', bulkId: 'u1', data: user(`${p}TAKEN`) },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: user(`${p}b`) },
        { method: 'POST', path: '/Users', bulkId: 'u3', data: user(`${p}A`) },
        { method: 'POST', path: '/Users', bulkId: 'u4', data: { schemas: [USER] } },
        { method: 'POST', path: '/Users', bulkId: 'u5', data: user(`${p}c`, { active: 'nope' }) },
        { method: 'POST', path: '/Users', bulkId: 'u6', data: user(`${p}d`, { externalId: 'e-1' }) },
    ]));
    assert.deepEqual(ops.map((o) => o.status), ['201', '409', '201', '409', '400', '400', '201']);
    assert.equal(ops[1].response.scimType, 'uniqueness');
    assert.equal(ops[3].response.scimType, 'uniqueness');
    assert.match(ops[4].response.detail, /userName/);
    assert.equal(ops[1].location, undefined, 'a failed POST has no location');
    // the created ones are there, the refused are not
    const list = await req(s, 'GET', `/Users?filter=${encodeURIComponent(`userName sw "${p}"`)}&count=100`);
    if (list.status === 200) assert.deepEqual(list.json.Resources.map((u) => u.userName).sort(), [`${p}a`, `${p}b`, `${p}d`, `${p}taken`].sort());
    for (const i of [0, 2, 6]) assert.equal((await req(s, 'GET', new URL(ops[i].location).pathname.replace('/scim/v2', ''))).status, 200);
});

test('/Bulk references: circular, undefined, to a failed operation; repeated bulkIds', async () => {
    const s = await server();
    const p = uniq('ref');
    const ops = opsOf(await bulk(s, [
        { method: 'POST', path: '/Groups', bulkId: 'c1', data: { displayName: `${p}c1`, members: [{ value: 'bulkId:c2' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'c2', data: { displayName: `${p}c2`, members: [{ value: 'bulkId:c1' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'g3', data: { displayName: `${p}g3`, members: [{ value: 'bulkId:nobody' }] } },
        { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [USER] } },
        { method: 'POST', path: '/Groups', bulkId: 'g4', data: { displayName: `${p}g4`, members: [{ value: 'bulkId:bad' }] } },
        { method: 'POST', path: '/Users', bulkId: 'ok', data: user(`${p}ok`) },
        { method: 'POST', path: '/Users', bulkId: 'ok', data: user(`${p}ok2`) },
        { method: 'DELETE', path: '/Groups/bulkId:self', bulkId: 'self' },
    ]));
    const by = ops.map((o) => [o.bulkId, o.status]);
    assert.deepEqual(by, [['c1', '409'], ['c2', '409'], ['g3', '409'], ['bad', '400'], ['g4', '409'], ['ok', '201'], ['ok', '400'], ['self', '409']]);
    assert.match(ops[0].response.detail, /circular/);
    assert.match(ops[2].response.detail, /bulkId "nobody" is not defined/);
    assert.match(ops[4].response.detail, /bulkId "bad" refers to an operation that failed/);
    assert.match(ops[6].response.detail, /bulkId "ok" is used by an earlier operation/);
    const groups = await req(s, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${p}c1"`)}`);
    assert.equal(groups.json.totalResults, 0, 'no group of a cycle was made');
});

test('/Bulk failOnErrors: processing stops after that many errors, the rest is not in the answer', async () => {
    const s = await server();
    const p = uniq('foe');
    const ops = [
        { method: 'POST', path: '/Users', bulkId: 'a', data: user(`${p}a`) },
        { method: 'POST', path: '/Users', bulkId: 'b', data: user(`${p}a`) },
        { method: 'POST', path: '/Users', bulkId: 'c', data: user(`${p}c`) },
        { method: 'POST', path: '/Users', bulkId: 'd', data: user(`${p}c`) },
        { method: 'POST', path: '/Users', bulkId: 'e', data: user(`${p}e`) },
    ];
    const one = opsOf(await bulk(s, ops, { failOnErrors: 1 }));
    assert.deepEqual(one.map((o) => [o.bulkId, o.status]), [['a', '201'], ['b', '409']]);
    assert.equal((await req(s, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${p}c"`)}`)).json.totalResults, 0, 'c never ran');
    const q = uniq('foe2');
    const two = opsOf(await bulk(s, ops.map((o) => ({ ...o, data: user(o.data.userName.replace(p, q)) })), { failOnErrors: 2 }));
    assert.deepEqual(two.map((o) => o.status), ['201', '409', '201', '409']);
    const q3 = uniq('foe3');
    const all = opsOf(await bulk(s, ops.map((o) => ({ ...o, data: user(o.data.userName.replace(p, q3)) }))));
    assert.deepEqual(all.map((o) => o.status), ['201', '409', '201', '409', '201'], 'no failOnErrors: every operation');
    const r = await bulk(s, ops, { failOnErrors: 0 });
    assert.equal(r.status, 400);
    assert.equal(r.json.scimType, 'invalidValue');
});

test('/Bulk limits and malformed requests: 413 tooMany, 400 with the Error schema, bad operations', async () => {
    const s = await server();
    const many = Array.from({ length: 1001 }, (_, i) => ({ method: 'DELETE', path: `/Users/${i}` }));
    let r = await bulk(s, many);
    assert.equal(r.status, 413, r.text);
    assert.deepEqual(r.json.schemas, [ERROR]);
    assert.equal(r.json.status, '413');
    assert.equal(r.json.scimType, 'tooMany');
    assert.match(r.json.detail, /maxOperations \(1000\)/);
    const big = [{ method: 'POST', path: '/Users', bulkId: 'x', data: user('big', { title: 'x'.repeat(1048576) }) }];
    r = await bulk(s, big);
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.match(r.json.detail, /maxPayloadSize \(1048576\)/);
    // exactly 1000 operations are fine
    const p = uniq('lim');
    const thousand = Array.from({ length: 1000 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: user(`${p}${i}`) }));
    const ok = opsOf(await bulk(s, thousand));
    assert.equal(ok.length, 1000);
    assert.deepEqual(ok.filter((o) => o.status !== '201').slice(0, 3), [], 'all 1000 created');
    assert.equal(new Set(ok.map((o) => o.location)).size, 1000);
    // the request itself
    r = await req(s, 'POST', '/Bulk', { Operations: [] });
    assert.equal(r.status, 400);
    assert.match(r.json.detail, /schemas/);
    r = await req(s, 'POST', '/Bulk', { schemas: [BULK_REQ], Operations: {} });
    assert.equal(r.status, 400);
    assert.equal(r.json.scimType, 'invalidSyntax');
    r = await req(s, 'POST', '/Bulk', '{"schemas": [');
    assert.equal(r.status, 400);
    assert.equal(r.json.scimType, 'invalidSyntax');
    // a key repeated in one object is refused (as POST /Users refuses it), naming the key and
    // where it repeats; nothing of the request is applied
    const dupName = uniq('dupkey');
    const line3 = `{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "${dupName}b", "userName": "${dupName}c"}}]}`;
    r = await req(s, 'POST', '/Bulk', `{"schemas": ["${BULK_REQ}"], "Operations": [
{"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "${dupName}a"}},
${line3}`);
    assert.equal(r.status, 400);
    assert.equal(r.json.scimType, 'invalidSyntax');
    const col = line3.lastIndexOf('"userName"') + 1;
    assert.match(r.json.detail, new RegExp(`line 3 column ${col}: duplicate object key "userName"`));
    r = await req(s, 'GET', `/Users?filter=${encodeURIComponent(`userName sw "${dupName}"`)}`);
    assert.equal(r.json.totalResults, 0);
    // bad operations answer one by one
    const ops = opsOf(await bulk(s, [
        { method: 'GET', path: '/Users' },
        { method: 'POST', path: '/Users', data: user(uniq('nobulkid')) },
        { method: 'POST', path: '/Things', bulkId: 't', data: {} },
        { method: 'PUT', path: '/Users', data: {} },
        { method: 'POST', path: '/Users/abc', bulkId: 'q', data: {} },
        { method: 'PATCH', path: '/Groups/1' },
        'nonsense',
        { method: 'DELETE', path: '/groups/424242' },
    ]));
    assert.deepEqual(ops.map((o) => o.method), ['GET', 'POST', 'POST', 'PUT', 'POST', 'PATCH', undefined, 'DELETE'], 'methods as given');
    assert.deepEqual(ops.map((o) => [o.status, o.response?.scimType]), [
        ['400', 'invalidSyntax'], ['400', 'invalidSyntax'], ['400', 'invalidPath'], ['400', 'invalidPath'],
        ['400', 'invalidPath'], ['400', 'invalidSyntax'], ['400', 'invalidSyntax'], ['404', undefined]]);
    // auth
    const noKey = await fetch(`${s.url}/scim/v2/Bulk`, { method: 'POST', body: '{}' });
    assert.equal(noKey.status, 401);
});

test('/Bulk users are everyone\'s users: JumpCloud sees them, and SCIM lists a JumpCloud bulk job\'s users', async () => {
    const s = await server();
    const org = await cliOrg(s.store, uniq('both'));
    const key = await cliKey(s.store, org);
    const p = uniq('bo');
    const ops = opsOf(await bulk(s, [0, 1, 2].map((i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: user(`${p}s${i}`, { emails: [{ value: `${p}s${i}@example.com` }] }) })), {}, key));
    assert.ok(ops.every((o) => o.status === '201'));
    const api = s.api(key, null);
    for (const [i, o] of ops.entries()) {
        const jc = await api.get(`/api/systemusers/${o.location.split('/').pop()}`);
        assert.equal(jc.status, 200, jc.text);
        assert.equal(jc.json.username, `${p}s${i}`);
        assert.equal(jc.json.email, `${p}s${i}@example.com`);
    }
    // a JumpCloud bulk job's users in SCIM GET /Users
    const jcUsers = makeUsers(4, `${p}j`);
    const ids = await api.createUsers(jcUsers);
    const list = await req(s, 'GET', `/Users?count=1000`, undefined, {}, key);
    assert.equal(list.status, 200, list.text);
    const seen = new Map(list.json.Resources.map((u) => [u.id, u]));
    for (const [i, id] of ids.entries()) {
        assert.ok(seen.has(id), `JumpCloud user ${id} in the SCIM list`);
        assert.equal(seen.get(id).userName, jcUsers[i].username);
    }
    assert.equal(list.json.totalResults, 7);
    // and the other organisation sees none of them
    const mine = await req(s, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${p}s0"`)}`);
    assert.equal(mine.json.totalResults, 0);
});
