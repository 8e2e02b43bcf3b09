// Tenant isolation against a real server: org B's key (made with the CLI) sees none of org
// A's users or jobs (list empty, GET/PUT/DELETE 404, job results 404, bulk update of A's ids
// fails per item), uniqueness is per org, and the admin key with x-org-id B sees only B.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, cliOrg, cliKey, assertError, makeUsers, listAll } from './harness.mjs';

let srv;
let adminA; // admin key acting for its own (bootstrap) org A
let keyB;
let apiB;
let orgB;
const usersA = [];
let jobA;

before(async () => {
    srv = await startServer({});
    adminA = srv.api(srv.adminKey);
    orgB = await cliOrg(srv.store, 'tenant-b');
    keyB = await cliKey(srv.store, orgB);
    apiB = srv.api(keyB);
    const seed = makeUsers(30, 'ta');
    jobA = await adminA.bulkCreate(seed);
    const rs = await adminA.finishedResults(jobA, seed.length);
    rs.forEach((r, i) => {
        assert.equal(r.status, 'succeeded');
        usersA.push({ ...seed[i], _id: r.persistedFields._id });
    });
});
after(async () => {
    await cleanup(srv);
});

test("org B's key lists none of A's users", async () => {
    const r = await apiB.get('/api/systemusers?limit=100');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.totalCount, 0);
    assert.deepEqual(r.json.results, []);
    const f = await apiB.get(`/api/systemusers?filter=username:eq:${usersA[0].username}`);
    assert.equal(f.json.totalCount, 0);
    const s = await apiB.get('/api/systemusers?search=ta0000');
    assert.equal(s.json.totalCount, 0);
});

test("org B's key cannot GET/PUT/DELETE A's users (404) and A's users are unchanged", async () => {
    const u = usersA[0];
    assertError(await apiB.get(`/api/systemusers/${u._id}`), 404);
    assertError(await apiB.put(`/api/systemusers/${u._id}`, { firstname: 'Hacked' }), 404);
    assertError(await apiB.del(`/api/systemusers/${u._id}`), 404);
    const g = await adminA.get(`/api/systemusers/${u._id}`);
    assert.equal(g.status, 200);
    assert.equal(g.json.firstname, u.firstname);
});

test("org B's key cannot read A's job results (404)", async () => {
    assertError(await apiB.get(`/api/v2/bulk/users/${jobA}/results`), 404);
    assertError(await apiB.get(`/api/v2/bulk/users/${jobA}/results?limit=100&skip=0`), 404);
});

test("org B's key cannot select org A with x-org-id (404)", async () => {
    assertError(await apiB.get('/api/systemusers', { org: srv.orgId }), 404);
    assertError(await apiB.get(`/api/v2/bulk/users/${jobA}/results`, { org: srv.orgId }), 404);
    assertError(await apiB.get(`/api/systemusers/${usersA[0]._id}`, { org: srv.orgId }), 404);
    assertError(await apiB.req('POST', '/api/v2/bulk/users', {
        org: srv.orgId, body: [{ username: 'sneak', email: 'sneak@example.test' }],
        headers: { 'creation-source': 'jumpcloud:bulk' },
    }), 404);
    assertError(await apiB.req('PATCH', '/api/v2/bulk/users', {
        org: srv.orgId, body: [{ id: usersA[0]._id, firstname: 'Sneak' }],
    }), 404);
    assertError(await apiB.post('/api/systemusers', { username: 'sneak2', email: 'sneak2@example.test' }, { org: srv.orgId }), 404);
    assert.equal(await adminA.totalCount(), usersA.length, 'nothing was created in A');
});

test("a bulk update from B naming A's ids fails per item and changes nothing", async () => {
    const items = usersA.slice(0, 3).map((u) => ({ id: u._id, firstname: 'FromB' }));
    const job = await apiB.bulkUpdate(items);
    const rs = await apiB.finishedResults(job, items.length);
    for (const r of rs) {
        assert.equal(r.status, 'failed', JSON.stringify(r));
        assert.ok(r.statusMsg.includes(items[r.meta.index].id), `statusMsg names the id: ${r.statusMsg}`);
    }
    for (const u of usersA.slice(0, 3)) {
        assert.equal((await adminA.get(`/api/systemusers/${u._id}`)).json.firstname, u.firstname);
    }
    // and A cannot read B's job
    assertError(await adminA.get(`/api/v2/bulk/users/${job}/results`), 404);
});

test('uniqueness is per org: B may reuse A usernames/emails/employee ids', async () => {
    const u = usersA[1];
    const r = await apiB.post('/api/systemusers', {
        username: u.username, email: u.email, employeeIdentifier: u.employeeIdentifier,
    });
    assert.equal(r.status, 200, r.text);
    const job = await apiB.bulkCreate([usersA[2]].map(({ _id, ...rest }) => rest));
    const [res] = await apiB.finishedResults(job, 1);
    assert.equal(res.status, 'succeeded', JSON.stringify(res));
});

test('admin key with x-org-id B sees only B; without it only A', async () => {
    const bList = await listAll(srv.api(srv.adminKey, orgB));
    const mine = await listAll(apiB);
    assert.deepEqual(bList.map((u) => u._id).sort(), mine.map((u) => u._id).sort());
    assert.ok(bList.length >= 1);
    const aIds = new Set(usersA.map((u) => u._id));
    assert.ok(bList.every((u) => !aIds.has(u._id)), "no A user in B's list");
    const aList = await listAll(adminA);
    const bIds = new Set(bList.map((u) => u._id));
    assert.ok(aList.every((u) => !bIds.has(u._id)), "no B user in A's list");
    assert.equal(aList.length, usersA.length);
    // admin acting for B can read B's users but not A's by id
    const asB = srv.api(srv.adminKey, orgB);
    assert.equal((await asB.get(`/api/systemusers/${bList[0]._id}`)).status, 200);
    assertError(await asB.get(`/api/systemusers/${usersA[0]._id}`), 404);
    // and admin with x-org-id A (explicit) sees A
    const asA = srv.api(srv.adminKey, srv.orgId);
    assert.equal((await asA.get('/api/systemusers?limit=1')).json.totalCount, usersA.length);
});

test("B's deletes and creates do not touch A's counts", async () => {
    const before = await adminA.totalCount();
    const c = await apiB.post('/api/systemusers', { username: 'only-in-b', email: 'only-in-b@example.test' });
    assert.equal(c.status, 200, c.text);
    assert.equal((await apiB.del(`/api/systemusers/${c.json._id}`)).status, 200);
    assert.equal(await adminA.totalCount(), before);
    assertError(await adminA.get(`/api/systemusers/${c.json._id}`), 404);
});
