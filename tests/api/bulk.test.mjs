// JumpCloud v2 bulk jobs against a real server: POST /api/v2/bulk/users (2,500 users in
// three requests, paged results, default and explicit states, creation-source), every kind
// of per-item failure with its statusMsg, PATCH bulk updates and their failures, and the
// request-level 400/404 errors. Each test works in its own org (created with the CLI).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, cleanup, assertError, makeUsers, uniq, listAll, storeQuery, PG, CREATION_SOURCES, HEX24,
} from './harness.mjs';

let srv;
let admin;

before(async () => {
    srv = await startServer({ workers: 2 });
    admin = srv.api(srv.adminKey);
});
after(async () => {
    await cleanup(srv);
});

/** Asserts a failed result whose statusMsg names the field and (optionally) the value. */
function assertFailed(r, field, value, extra) {
    assert.equal(r.status, 'failed', `item ${r.meta.index} should fail: ${JSON.stringify(r)}`);
    assert.ok(r.statusMsg.includes(field), `statusMsg of item ${r.meta.index} names ${field}: ${r.statusMsg}`);
    if (value !== undefined) {
        assert.ok(r.statusMsg.includes(`"${value}"`), `statusMsg of item ${r.meta.index} quotes "${value}": ${r.statusMsg}`);
    }
    if (extra) assert.match(r.statusMsg, extra, `statusMsg of item ${r.meta.index}`);
    assert.equal(r.meta.field, field, `meta.field of item ${r.meta.index}: ${JSON.stringify(r.meta)}`);
    assert.deepEqual(r.persistedFields, {});
}

describe('bulk create', () => {
    test('2,500 users in 3 requests: results, order, persistedFields, totalCount', async () => {
        const a = await admin.inNewOrg('big');
        const p = uniq('b');
        const users = makeUsers(2500, p);
        const batches = [users.slice(0, 1000), users.slice(1000, 2000), users.slice(2000)];
        const jobs = [];
        for (const b of batches) jobs.push(await a.bulkCreate(b));
        assert.equal(new Set(jobs).size, 3, 'distinct job ids');
        const seenIds = new Set();
        for (let j = 0; j < 3; j++) {
            const rs = await a.finishedResults(jobs[j], batches[j].length);
            rs.forEach((r, i) => {
                const u = batches[j][i];
                assert.equal(r.status, 'succeeded', `job ${j} item ${i}: ${JSON.stringify(r)}`);
                assert.equal(r.meta.operation, 'create');
                assert.equal(r.persistedFields.username, u.username);
                assert.equal(r.persistedFields.email, u.email);
                assert.ok(!seenIds.has(r.persistedFields._id), 'user ids unique');
                seenIds.add(r.persistedFields._id);
            });
            assert.equal(new Set(rs.map((r) => r.id)).size, rs.length, 'result ids unique within a job');
        }
        assert.equal(await a.totalCount(), 2500);
        // a sample of users reads back with what was sent
        const rs = await a.results(jobs[1], 500, 3);
        for (const r of rs) {
            const u = batches[1][r.meta.index];
            const g = await a.get(`/api/systemusers/${r.persistedFields._id}`);
            assert.equal(g.status, 200, g.text);
            for (const k of ['username', 'email', 'firstname', 'lastname', 'employeeIdentifier']) assert.equal(g.json[k], u[k], k);
            assert.deepEqual(g.json.attributes.map((x) => [x.name, x.value]), u.attributes.map((x) => [x.name, x.value]));
            assert.deepEqual(g.json.phoneNumbers.map((x) => [x.type, x.number]), u.phoneNumbers.map((x) => [x.type, x.number]));
            assert.equal(g.json.state, 'ACTIVATED', 'no state -> org default ACTIVATED');
        }
    });

    test('explicit states; default ACTIVATED; every creation-source accepted', async () => {
        const a = await admin.inNewOrg('states');
        const p = uniq('s');
        const items = [
            { username: `${p}a`, email: `${p}a@example.test`, state: 'STAGED' },
            { username: `${p}b`, email: `${p}b@example.test`, state: 'SUSPENDED' },
            { username: `${p}c`, email: `${p}c@example.test`, state: 'ACTIVATED' },
            { username: `${p}d`, email: `${p}d@example.test` },
        ];
        const job = await a.bulkCreate(items);
        const rs = await a.finishedResults(job, items.length);
        const want = ['STAGED', 'SUSPENDED', 'ACTIVATED', 'ACTIVATED'];
        for (let i = 0; i < items.length; i++) {
            assert.equal(rs[i].status, 'succeeded', JSON.stringify(rs[i]));
            const g = await a.get(`/api/systemusers/${rs[i].persistedFields._id}`);
            assert.equal(g.json.state, want[i], `item ${i} state`);
        }
        let n = 0;
        for (const src of CREATION_SOURCES) {
            const u = { username: `${p}src${n}`, email: `${p}src${n}@example.test` };
            n += 1;
            const j = await a.bulkCreate([u], { source: src });
            const [r] = await a.finishedResults(j, 1);
            assert.equal(r.status, 'succeeded', `${src}: ${JSON.stringify(r)}`);
        }
        // header omitted -> jumpcloud:bulk
        const r = await a.req('POST', '/api/v2/bulk/users', { body: [{ username: `${p}nohdr`, email: `${p}nohdr@example.test` }] });
        assert.equal(r.status, 201, `no creation-source header: ${r.text}`);
    });

    test('request errors: not an array, empty array, bad creation-source', async () => {
        const a = await admin.inNewOrg('reqerr');
        for (const body of [{ username: 'x', email: 'x@example.test' }, 'str', 5, null]) {
            const r = await a.req('POST', '/api/v2/bulk/users', { body, headers: { 'creation-source': 'jumpcloud:bulk' } });
            assertError(r, 400, /array/i);
        }
        assertError(await a.req('POST', '/api/v2/bulk/users', { body: [], headers: { 'creation-source': 'jumpcloud:bulk' } }), 400);
        for (const src of ['jumpcloud:nope', 'bulk', '', 'JUMPCLOUD:BULK']) {
            const r = await a.req('POST', '/api/v2/bulk/users', {
                body: [{ username: 'x', email: 'x@example.test' }], headers: { 'creation-source': src },
            });
            assertError(r, 400, /creation-source/i);
        }
        assert.equal(await a.totalCount(), 0, 'rejected requests create nothing');
    });

    test('per-item failures of every kind, each naming field and value', async () => {
        const a = await admin.inNewOrg('fail');
        const p = uniq('f');
        const existing = { username: `${p}exist`, email: `${p}exist@example.test`, employeeIdentifier: `${p}EMP` };
        const c = await a.post('/api/systemusers', existing);
        assert.equal(c.status, 200, c.text);
        const ok = (k) => ({ username: `${p}ok${k}`, email: `${p}ok${k}@example.test` });
        const items = [
            /* 0 */ ok(0),
            /* 1 */ { username: `${p}e1`, email: 'bad' },
            /* 2 */ { email: `${p}nouser@example.test` },
            /* 3 */ { username: existing.username, email: `${p}e3@example.test` },
            /* 4 */ { username: `${p}e4`, email: existing.email },
            /* 5 */ { username: `${p}e5`, email: `${p}e5@example.test`, employeeIdentifier: existing.employeeIdentifier },
            /* 6 */ { username: `${p}dupin`, email: `${p}dupin@example.test`, employeeIdentifier: `${p}DUPEMP` },
            /* 7 */ { username: `${p}dupin`, email: `${p}dupin2@example.test` },
            /* 8 */ { username: `${p}e8`, email: `${p}dupin@example.test` },
            /* 9 */ { username: `${p}e9`, email: `${p}e9@example.test`, employeeIdentifier: `${p}DUPEMP` },
            /* 10 */ { username: `${p}e10`, email: `${p}e10@example.test`, employeeIdentifier: 'E'.repeat(257) },
            /* 11 */ { username: `${p}e11`, email: `${p}e11@example.test`, lastname: 'L'.repeat(1025) },
            /* 12 */ { username: `${p}e12`, email: `${p}e12@example.test`, firstname: 123 },
            /* 13 */ { username: `${p}e13`, email: `${p}e13@example.test`, attributes: 'nope' },
            /* 14 */ { username: 77, email: `${p}e14@example.test` },
            /* 15 */ ok(15),
            /* 16 */ { username: `${p}e16`, email: `${p}e16@example.test`, employeeIdentifier: 'E'.repeat(256), lastname: 'L'.repeat(1024) },
            /* 17 */ { username: `${p}e17` },
            /* 18 */ { username: `${p}e18`, email: `${p}e18@example.test`, phoneNumbers: { number: '1' } },
        ];
        const job = await a.bulkCreate(items);
        const rs = await a.finishedResults(job, items.length);
        const okIdx = [0, 6, 15, 16];
        for (const i of okIdx) {
            assert.equal(rs[i].status, 'succeeded', `item ${i}: ${JSON.stringify(rs[i])}`);
            assert.equal(rs[i].persistedFields.username, items[i].username);
        }
        assertFailed(rs[1], 'email', 'bad', /valid/);
        assertFailed(rs[2], 'username');
        assertFailed(rs[3], 'username', existing.username, /already exists/);
        assertFailed(rs[4], 'email', existing.email, /already exists/);
        assertFailed(rs[5], 'employeeIdentifier', existing.employeeIdentifier, /already exists/);
        assertFailed(rs[7], 'username', `${p}dupin`, /already exists/);
        assertFailed(rs[8], 'email', `${p}dupin@example.test`, /already exists/);
        assertFailed(rs[9], 'employeeIdentifier', `${p}DUPEMP`, /already exists/);
        // over-long values are quoted (cut at 64 characters), wrong types show what was sent
        assertFailed(rs[10], 'employeeIdentifier', undefined, new RegExp(`"${'E'.repeat(64)}\\.\\.\\." is longer than 256 characters`));
        assertFailed(rs[11], 'lastname', undefined, new RegExp(`"${'L'.repeat(64)}\\.\\.\\." is longer than 1024 characters`));
        assertFailed(rs[12], 'firstname', undefined, /firstname must be a string, got 123/);
        assertFailed(rs[13], 'attributes', undefined, /attributes must be an array, got "nope"/);
        assertFailed(rs[14], 'username', undefined, /username must be a string, got 77/);
        assertFailed(rs[17], 'email');
        assertFailed(rs[18], 'phoneNumbers');
        for (const r of rs) {
            if (r.status === 'failed') assert.ok(r.statusMsg.length > 0);
            assert.equal(r.meta.operation, 'create');
        }
        assert.equal(await a.totalCount(), 1 + okIdx.length, 'only the good items were written');
        const all = await listAll(a);
        const names = all.map((u) => u.username).sort();
        assert.deepEqual(names, [existing.username, ...okIdx.map((i) => items[i].username)].sort());
    });

    test('duplicates across chunk boundaries and across jobs: the first occurrence wins', async () => {
        const a = await admin.inNewOrg('chunk');
        const p = uniq('c');
        const users = makeUsers(2100, p);
        users[1500] = { ...users[1500], username: users[10].username };
        users[2099] = { ...users[2099], email: users[1999].email };
        const job = await a.bulkCreate(users);
        const rs = await a.finishedResults(job, users.length);
        assertFailed(rs[1500], 'username', users[10].username, /already exists/);
        assertFailed(rs[2099], 'email', users[1999].email, /already exists/);
        assert.equal(rs[10].status, 'succeeded');
        assert.equal(rs[1999].status, 'succeeded');
        assert.equal(rs.filter((r) => r.status === 'succeeded').length, 2098);
        // a second job repeating users of the first fails item by item
        const job2 = await a.bulkCreate(users.slice(0, 5).concat(makeUsers(5, p, 5000)));
        const rs2 = await a.finishedResults(job2, 10);
        assert.deepEqual(rs2.map((r) => r.status), Array(5).fill('failed').concat(Array(5).fill('succeeded')));
        assert.equal(await a.totalCount(), 2103);
    });

    test('job results 404: unknown job, malformed id, other org', async () => {
        const a = await admin.inNewOrg('j404');
        assertError(await a.get('/api/v2/bulk/users/0123456789abcdef01234567/results'), 404);
        const r = await a.get('/api/v2/bulk/users/nope/results');
        assert.ok([400, 404].includes(r.status), `malformed job id -> ${r.status}`);
        assertError(r, r.status);
        const job = await a.bulkCreate([{ username: 'j404', email: 'j404@example.test' }]);
        await a.waitJob(job, 1);
        const other = await admin.inNewOrg('j404b');
        assertError(await other.get(`/api/v2/bulk/users/${job}/results`), 404);
    });

    test('passwords never reach the stored job input or a result (issue 14)', async () => {
        const a = await admin.inNewOrg('pw');
        const p = uniq('pw');
        const users = [
            { username: `${p}a`, email: `${p}a@example.test`, password: 'Plain-Secret-1' },
            { username: `${p}b`, email: `${p}b@example.test`, PWKEY: 'Plain-Secret-2' },
            { username: `${p}c`, email: `${p}c@example.test`, password: 987654321 },
            { username: `${p}d`, email: `${p}d@example.test`, password: { s: 'Plain-Secret-3' } },
        ];
        // the second one's key is written escaped, as a client may send it
        const body = JSON.stringify(users).replace('"PWKEY"', '"pass\\u0077ord"');
        assert.match(body, /"pass\\u0077ord":"Plain-Secret-2"/);
        const r = await a.req('POST', '/api/v2/bulk/users', { raw: body });
        assert.equal(r.status, 201, r.text);
        const job = r.json.jobId;
        const rs = await a.finishedResults(job, users.length);
        assert.deepEqual(rs.map((x) => x.status), ['succeeded', 'succeeded', 'failed', 'failed']);
        assert.match(rs[2].statusMsg, /password must be a string/);
        assert.match(rs[3].statusMsg, /password must be a string/);
        const stored = PG
            ? await storeQuery(srv.store, `SELECT items_json FROM chunks WHERE job_id = '${job}'`)
            : await storeQuery(`${srv.store}.jobs`, `SELECT items_json FROM chunk_inputs WHERE job_id = '${job}'`);
        assert.equal(stored.length, 1, 'the job input is stored');
        assert.match(stored.join('\n'), new RegExp(`${p}a`));
        assert.doesNotMatch(stored.join('\n'), /Plain-Secret|987654321/);
        assert.doesNotMatch(JSON.stringify(rs), /Plain-Secret|987654321/);
    });

    test('at most 10,000 users per request: more is a 400 naming the cap (issue 14)', async () => {
        const a = await admin.inNewOrg('cap');
        const p = uniq('cap');
        const over = await a.req('POST', '/api/v2/bulk/users', { body: makeUsers(10001, p) });
        assertError(over, 400, /at most 10000 users/);
        assert.equal(await a.totalCount(), 0, 'nothing of a refused request is stored');
        const ok = await a.req('POST', '/api/v2/bulk/users', { body: makeUsers(10000, p) });
        assert.equal(ok.status, 201, ok.text);
        await a.waitJob(ok.json.jobId, 10000);
        assert.equal(await a.totalCount(), 10000);
    });

    test('pending is a legal status; results are readable while a job runs', async () => {
        const a = await admin.inNewOrg('run');
        const p = uniq('r');
        const users = makeUsers(5000, p);
        const job = await a.bulkCreate(users);
        const first = await a.results(job, 0, 100);
        assert.equal(first.length, 100);
        first.forEach((r, i) => {
            assert.equal(r.meta.index, i);
            assert.ok(['pending', 'succeeded'].includes(r.status), r.status);
        });
        const rs = await a.finishedResults(job, users.length);
        assert.ok(rs.every((r) => r.status === 'succeeded'));
    });
});

describe('bulk update (PATCH)', () => {
    test('updates users and fails bad items individually', async () => {
        const a = await admin.inNewOrg('upd');
        const p = uniq('u');
        const users = makeUsers(8, p);
        users[2].state = 'ACTIVATED';
        const job = await a.bulkCreate(users);
        const created = await a.finishedResults(job, users.length);
        const ids = created.map((r) => r.persistedFields._id);
        const before = [];
        for (const id of ids) before.push((await a.get(`/api/systemusers/${id}`)).json);
        const items = [
            /* 0 */ { id: ids[0], firstname: 'Changed', state: 'SUSPENDED', attributes: [{ name: 'x', value: 'y' }] },
            /* 1 */ { id: '0123456789abcdef01234567', firstname: 'Ghost' },
            /* 2 */ { id: ids[2], state: 'STAGED' },
            /* 3 */ { id: ids[3], username: users[0].username },
            /* 4 */ { id: ids[4], email: 'not-valid' },
            /* 5 */ { id: ids[5], lastname: 'L'.repeat(1025) },
            /* 6 */ { id: ids[6], email: `${p}new6@example.test`, employeeIdentifier: `${p}NEW6` },
            /* 7 */ { firstname: 'NoId' },
            /* 8 */ { id: ids[7], employeeIdentifier: users[5].employeeIdentifier },
            /* 9 */ { id: ids[1], firstname: 99 },
            /* 10 */ { id: ids[1], lastname: 'Second' },
        ];
        const uj = await a.bulkUpdate(items);
        const rs = await a.finishedResults(uj, items.length);
        for (const r of rs) assert.equal(r.meta.operation, 'update');
        for (const i of [0, 6, 10]) assert.equal(rs[i].status, 'succeeded', `item ${i}: ${JSON.stringify(rs[i])}`);
        assert.equal(rs[0].persistedFields._id, ids[0]);
        assert.equal(rs[0].persistedFields.username, users[0].username);
        assert.equal(rs[6].persistedFields.email, `${p}new6@example.test`);
        assert.equal(rs[1].status, 'failed');
        assert.ok(rs[1].statusMsg.includes('0123456789abcdef01234567'), `unknown id named: ${rs[1].statusMsg}`);
        assertFailed(rs[2], 'state', 'STAGED');
        assert.equal(rs[2].meta.userId, ids[2]);
        assertFailed(rs[3], 'username', users[0].username, /already exists/);
        assertFailed(rs[4], 'email', 'not-valid');
        assertFailed(rs[5], 'lastname');
        assert.equal(rs[7].status, 'failed');
        assert.match(rs[7].statusMsg, /\bid\b/, `missing id: ${rs[7].statusMsg}`);
        assertFailed(rs[8], 'employeeIdentifier', users[5].employeeIdentifier, /already exists/);
        assertFailed(rs[9], 'firstname');

        const g = async (i) => (await a.get(`/api/systemusers/${ids[i]}`)).json;
        const u0 = await g(0);
        assert.equal(u0.firstname, 'Changed');
        assert.equal(u0.state, 'SUSPENDED');
        assert.equal(u0.lastname, before[0].lastname, 'partial update keeps other fields');
        assert.equal(u0.email, before[0].email);
        assert.equal(u0.employeeIdentifier, before[0].employeeIdentifier);
        assert.deepEqual(u0.phoneNumbers.map((x) => x.number), before[0].phoneNumbers.map((x) => x.number));
        assert.deepEqual(u0.attributes.map((x) => [x.name, x.value]), [['x', 'y']]);
        assert.equal((await g(2)).state, 'ACTIVATED', 'STAGED update not applied');
        assert.equal((await g(3)).username, users[3].username);
        assert.equal((await g(4)).email, users[4].email);
        assert.equal((await g(5)).lastname, users[5].lastname);
        const u6 = await g(6);
        assert.equal(u6.email, `${p}new6@example.test`);
        assert.equal(u6.employeeIdentifier, `${p}NEW6`);
        assert.equal((await g(7)).employeeIdentifier, users[7].employeeIdentifier);
        const u1 = await g(1);
        assert.equal(u1.firstname, users[1].firstname, 'failed item 9 changed nothing');
        assert.equal(u1.lastname, 'Second');
        assert.equal(await a.totalCount(), 8, 'updates never create users');
    });

    test('one job patching the same users several times applies the items in order', async () => {
        const a = await admin.inNewOrg('upd4');
        const p = uniq('t');
        const users = makeUsers(3, p);
        const rs = await a.finishedResults(await a.bulkCreate(users), 3);
        const ids = rs.map((r) => r.persistedFields._id);
        const items = [
            /* 0 */ { id: ids[0], username: `${p}renamed` },
            /* 1 */ { id: ids[1], username: users[0].username.toUpperCase() }, // freed by item 0
            /* 2 */ { id: ids[0], lastname: 'Again' }, // on top of item 0
            /* 3 */ { id: ids[2], username: `${p}renamed` }, // taken by item 0
            /* 4 */ { id: ids[0], username: users[2].username }, // u2 kept it (item 3 failed)
            /* 5 */ { id: ids[0], firstname: 'Third' },
            /* 6 */ { id: ids[2], username: users[1].username }, // freed by item 1
        ];
        const us = await a.finishedResults(await a.bulkUpdate(items), items.length);
        for (const i of [0, 1, 2, 5, 6]) assert.equal(us[i].status, 'succeeded', `item ${i}: ${JSON.stringify(us[i])}`);
        assertFailed(us[3], 'username', `${p}renamed`, /already exists/);
        assertFailed(us[4], 'username', users[2].username, /already exists/);
        const g = async (i) => (await a.get(`/api/systemusers/${ids[i]}`)).json;
        const u0 = await g(0);
        assert.equal(u0.username, `${p}renamed`);
        assert.equal(u0.lastname, 'Again');
        assert.equal(u0.firstname, 'Third');
        assert.equal((await g(1)).username, users[0].username.toUpperCase());
        assert.equal((await g(2)).username, users[1].username);
    });

    test('update to ACTIVATED from SUSPENDED, and STAGED -> ACTIVATED', async () => {
        const a = await admin.inNewOrg('upd2');
        const p = uniq('v');
        const job = await a.bulkCreate([
            { username: `${p}a`, email: `${p}a@example.test`, state: 'SUSPENDED' },
            { username: `${p}b`, email: `${p}b@example.test`, state: 'STAGED' },
        ]);
        const rs = await a.finishedResults(job, 2);
        const uj = await a.bulkUpdate(rs.map((r) => ({ id: r.persistedFields._id, state: 'ACTIVATED' })));
        const us = await a.finishedResults(uj, 2);
        for (const r of us) assert.equal(r.status, 'succeeded', JSON.stringify(r));
        for (const r of rs) assert.equal((await a.get(`/api/systemusers/${r.persistedFields._id}`)).json.state, 'ACTIVATED');
    });

    test('PATCH request errors: not an array, empty array', async () => {
        const a = await admin.inNewOrg('upderr');
        for (const body of [{ id: '0123456789abcdef01234567' }, 'x', 1]) {
            assertError(await a.patch('/api/v2/bulk/users', body), 400, /array/i);
        }
        assertError(await a.patch('/api/v2/bulk/users', []), 400);
    });

    test('update job results carry the job id and update ids', async () => {
        const a = await admin.inNewOrg('upd3');
        const p = uniq('w');
        const job = await a.bulkCreate(makeUsers(3, p));
        const rs = await a.finishedResults(job, 3);
        const uj = await a.bulkUpdate(rs.map((r) => ({ id: r.persistedFields._id, department: 'R&D' })));
        assert.notEqual(uj, job);
        assert.match(uj, HEX24);
        const us = await a.finishedResults(uj, 3);
        us.forEach((r, i) => {
            assert.equal(r.meta.jobId, uj);
            assert.equal(r.meta.userId, rs[i].persistedFields._id);
            assert.equal(r.status, 'succeeded');
        });
        const u = await a.get(`/api/systemusers/${rs[0].persistedFields._id}`);
        assert.equal(u.json.department, 'R&D');
    });
});

describe('job input retention (issue 14)', () => {
    test('--job-input-retention: a finished job\'s input is purged, its results stay', async () => {
        const s = await startServer({ workers: 2, args: ['--job-input-retention', '2'] });
        try {
            const a = await s.api(s.adminKey).inNewOrg('ret');
            const p = uniq('ret');
            const users = makeUsers(3, p);
            const job = await a.bulkCreate(users);
            const rs = await a.finishedResults(job, users.length);
            const input = () => (PG
                ? storeQuery(s.store, `SELECT items_json FROM chunks WHERE job_id = '${job}'`)
                : storeQuery(`${s.store}.jobs`, `SELECT items_json FROM chunk_inputs WHERE job_id = '${job}'`));
            const t0 = Date.now();
            assert.match((await input()).join('\n'), new RegExp(p), 'the input is stored while the job is young');
            let stored;
            do {
                await new Promise((r) => setTimeout(r, 250));
                stored = (await input()).join('\n');
            } while (stored !== '[]' && Date.now() - t0 < 15000);
            assert.equal(stored, '[]', 'the input was purged within 15 s (retention 2 s, a pass every second)');
            assert.deepEqual(await a.finishedResults(job, users.length), rs, 'the results are unchanged');
            assert.equal(await a.totalCount(), 3);
        } finally {
            await cleanup(s);
        }
    });
});
