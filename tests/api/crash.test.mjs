// Durability of bulk jobs against a real server: kill -9 while a 20,000-item job runs
// (right after the 201, and once it is part-way done), restart on the same store and check
// that every item has exactly one result, none stays pending, only the deliberately bad
// items failed and the directory holds exactly the succeeded users. Also: a completed job's
// results survive a SIGTERM restart, and a SIGTERM in the middle of a job exits 0 and resumes.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, makeUsers, listAll, pollUntil, uniq } from './harness.mjs';

const KEY = 'crash-test-bootstrap-key-0123456789';
const servers = [];
after(async () => {
    for (const s of servers) await cleanup(s);
});

async function start(opts) {
    // jobs of 20,000 users in one request, above the default cap of 10,000
    const s = await startServer({ bootstrapKey: KEY, bulkMaxItems: 20000, ...opts });
    servers.push(s);
    return s;
}

/** 20,000 users with deliberate duplicates / bad values; returns {items, bad:Set}. */
function input(n, p) {
    const items = makeUsers(n, p);
    const bad = new Set();
    const dup = (i, field, from) => {
        items[i] = { ...items[i], [field]: items[from][field] };
        bad.add(i);
    };
    dup(999, 'username', 0);
    dup(1000, 'email', 5);
    dup(10500, 'employeeIdentifier', 10499);
    dup(n - 1, 'username', 12345);
    dup(7777, 'email', 7776);
    items[15000] = { ...items[15000], email: 'bad' };
    bad.add(15000);
    return { items, bad };
}

async function verify(api, jobId, items, bad) {
    const total = items.length;
    const rs = await api.finishedResults(jobId, total, 600000);
    assert.equal(rs.length, total, 'one result per item');
    assert.equal(new Set(rs.map((r) => r.id)).size, total, 'result ids unique');
    const pending = rs.filter((r) => r.status === 'pending').length;
    assert.equal(pending, 0, 'no pending left');
    const failed = rs.filter((r) => r.status === 'failed').map((r) => r.meta.index);
    assert.deepEqual(failed, [...bad].sort((a, b) => a - b), 'exactly the deliberate bad items failed');
    let succeeded = 0;
    for (const r of rs) {
        if (r.status !== 'succeeded') continue;
        succeeded += 1;
        assert.equal(r.persistedFields.username, items[r.meta.index].username, `item ${r.meta.index} wrote its own user`);
    }
    assert.equal(await api.totalCount(), succeeded, 'totalCount == succeeded results');
    const all = await listAll(api);
    assert.equal(new Set(all.map((u) => u.username)).size, all.length, 'no user written twice');
    const okIds = new Set(rs.filter((r) => r.status === 'succeeded').map((r) => r.persistedFields._id));
    assert.ok(all.every((u) => okIds.has(u._id)), 'every stored user belongs to a succeeded result');
    return { succeeded, failed: failed.length };
}

async function postJob(srv, items) {
    const t0 = Date.now();
    const job = await srv.api(KEY).bulkCreate(items);
    return { job, acceptMs: Date.now() - t0 };
}

test('kill -9 right after the 201, restart, job completes exactly once per item', { timeout: 900000 }, async (t) => {
    const s1 = await start({ workers: 2 });
    const { items, bad } = input(20000, uniq('k'));
    const { job } = await postJob(s1, items);
    const r = await s1.kill9();
    assert.equal(r.signal, 'SIGKILL');
    const s2 = await start({ dir: s1.dir, workers: 2 });
    assert.equal(s2.adminKey, null, 'no new admin key on an existing store');
    const res = await verify(s2.api(KEY), job, items, bad);
    t.diagnostic(`succeeded ${res.succeeded}, failed ${res.failed}`);
});

test('kill -9 part-way through a 20,000-item job, restart, exactly one result per item', { timeout: 900000 }, async (t) => {
    const s1 = await start({ workers: 1 });
    const { items, bad } = input(20000, uniq('m'));
    const { job, acceptMs } = await postJob(s1, items);
    const api1 = s1.api(KEY);
    let midway = false;
    await pollUntil('first results', async () => {
        const [first] = await api1.results(job, 0, 1);
        if (first.status === 'pending') return false;
        const [last] = await api1.results(job, items.length - 1, 1);
        midway = last.status === 'pending';
        return true;
    }, { timeoutMs: 120000, intervalMs: 5 });
    await s1.kill9();
    t.diagnostic(midway ? `killed part-way (accept ${acceptMs} ms)` : 'job had already finished before the kill; still checking the result');
    const s2 = await start({ dir: s1.dir, workers: 2 });
    const res = await verify(s2.api(KEY), job, items, bad);
    t.diagnostic(`succeeded ${res.succeeded}, failed ${res.failed}`);
    // a second kill/restart cycle after completion changes nothing
    await s2.kill9();
    const s3 = await start({ dir: s1.dir, workers: 2 });
    await verify(s3.api(KEY), job, items, bad);
});

test('SIGTERM in the middle of a job exits 0 and the job resumes after restart', { timeout: 900000 }, async () => {
    const s1 = await start({ workers: 1 });
    const { items, bad } = input(20000, uniq('t'));
    const { job } = await postJob(s1, items);
    const r = await s1.stop('SIGTERM');
    assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
    const s2 = await start({ dir: s1.dir, workers: 2 });
    await verify(s2.api(KEY), job, items, bad);
});

test("a completed job's results and users survive a SIGTERM restart", { timeout: 300000 }, async () => {
    const s1 = await start({ workers: 2 });
    const api1 = s1.api(KEY);
    const items = makeUsers(300, uniq('r'));
    items[150] = { ...items[150], username: items[3].username };
    const job = await api1.bulkCreate(items);
    const rs1 = await api1.finishedResults(job, items.length);
    assert.equal(rs1[150].status, 'failed');
    const list1 = await listAll(api1, '&sort=username');
    const r = await s1.stop('SIGTERM');
    assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
    const s2 = await start({ dir: s1.dir, workers: 2 });
    const api2 = s2.api(KEY);
    const rs2 = await api2.allResults(job, items.length);
    assert.deepEqual(rs2, rs1, 'results identical after restart');
    const list2 = await listAll(api2, '&sort=username');
    assert.deepEqual(list2, list1, 'users identical after restart');
    const u = rs1[0].persistedFields._id;
    assert.equal((await api2.get(`/api/systemusers/${u}`)).status, 200);
});
