// Idempotency keys (docs/idempotency.md) against a real server: Courier's official client
// sends Idempotency-Key as a per-request header, JumpCloud requests go out as plain HTTP.
// A repeat replays the first answer byte for byte (Idempotent-Replayed: true) and does
// nothing (jobs, items, users and scheduled changes are counted in the store); the same key
// with another body is 422; five concurrent repeats make one effect and five equal answers;
// keys expire (--idempotency-ttl, X-Idempotency-Expiration); another organisation's key of
// the same name is its own; and a server killed after the effect committed but before its
// answer left (strace turns the response's sendmsg into SIGKILL) answers the retry after
// the restart with the effect it made: one job, one set of users. Runs on both stores.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import Courier, { UnprocessableEntityError } from '@trycourier/courier';
import {
    startServer, cleanup, cliOrg, cliKey, storeQuery, pollUntil, sleep, uniq, makeUsers, HEX24, PG,
} from './harness.mjs';

const KEY = 'idem-test-bootstrap-key-0123456789';
const servers = [];
after(async () => {
    for (const s of servers) await cleanup(s);
});

async function start(opts = {}) {
    const s = await startServer({ bootstrapKey: KEY, ...opts });
    servers.push(s);
    return s;
}

function courier(s, key = KEY) {
    return new Courier({ apiKey: key, baseURL: s.url, maxRetries: 0 });
}

/** A fresh key, as a client makes one per operation. */
function ikey(tag) {
    return `${uniq(tag)}-${Math.random().toString(36).slice(2)}`;
}

/** The bulk jobs of org in the store (SQLite keeps them in the intake file <store>.jobs). */
async function jobCount(srv, org) {
    const rows = PG
        ? await storeQuery(srv.store, `SELECT count(*) FROM jobs WHERE org_id = '${org}'`)
        : await storeQuery(`${srv.store}.jobs`, `SELECT count(*) FROM job_inputs WHERE org_id = '${org}'`);
    return Number(rows[0]);
}

/** Courier request as the official client sends it, the raw Response back. */
async function courierRaw(promise) {
    const res = await promise.asResponse();
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text() };
}

/** A JumpCloud request with raw fetch: {status, replayed, text, json}. */
async function jc(srv, method, path, body, headers = {}, org) {
    const h = { 'x-api-key': KEY, 'content-type': 'application/json', ...headers };
    if (org) h['x-org-id'] = org;
    const res = await fetch(srv.url + path, { method, headers: h, body: JSON.stringify(body) });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text, json };
}

test('Courier: create and add replay byte for byte, one job and one set of items, another body is 422', async () => {
    const srv = await start();
    const client = courier(srv);
    const org = srv.orgId;
    const jobsBefore = await jobCount(srv, org);
    const k = ikey('cc');
    const message = { template: 'welcome', data: { n: 1 } };
    const first = await courierRaw(client.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.replayed, null, 'the first answer is no replay');
    const { jobId } = JSON.parse(first.text);
    assert.match(jobId, HEX24);
    const again = await courierRaw(client.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }));
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text, 'the same bytes');
    assert.equal(again.replayed, 'true');
    assert.equal(await jobCount(srv, org), jobsBefore + 1, 'one job');

    // the same key with another definition: 422, nothing created
    await assert.rejects(
        () => client.bulk.createJob({ message: { template: 'other' } }, { headers: { 'Idempotency-Key': k } }),
        (e) => e instanceof UnprocessableEntityError && e.status === 422
            && /Idempotency-Key .* was already used with another request/.test(e.error?.message ?? ''));
    assert.equal(await jobCount(srv, org), jobsBefore + 1, 'still one job');

    // adding users: a repeat adds nothing and answers the same (errors included)
    const users = [{ to: { email: 'a@example.com' } }, { to: { email: 'b@example.com' } }, 5];
    const ka = ikey('ca');
    const add1 = await courierRaw(client.bulk.addUsers(jobId, { users }, { headers: { 'Idempotency-Key': ka } }));
    assert.equal(add1.status, 200, add1.text);
    const body1 = JSON.parse(add1.text);
    assert.equal(body1.total, 2);
    assert.equal(body1.errors.length, 1);
    const add2 = await courierRaw(client.bulk.addUsers(jobId, { users }, { headers: { 'Idempotency-Key': ka } }));
    assert.equal(add2.text, add1.text);
    assert.equal(add2.replayed, 'true');
    let { job } = await client.bulk.retrieveJob(jobId);
    assert.equal(job.received, 2, 'the users were added once');
    // another job with the same add key is another request
    const { jobId: other } = await client.bulk.createJob({ message });
    await assert.rejects(
        () => client.bulk.addUsers(other, { users }, { headers: { 'Idempotency-Key': ka } }),
        (e) => e instanceof UnprocessableEntityError);
    assert.equal((await client.bulk.retrieveJob(other)).job.received, 0);
    // without a key, a repeat adds again (as before)
    await client.bulk.addUsers(jobId, { users: users.slice(0, 1) });
    await client.bulk.addUsers(jobId, { users: users.slice(0, 1) });
    ({ job } = await client.bulk.retrieveJob(jobId));
    assert.equal(job.received, 4);

    // after the run the add is still replayed (not "already run")
    await client.bulk.runJob(jobId);
    const add3 = await courierRaw(client.bulk.addUsers(jobId, { users }, { headers: { 'Idempotency-Key': ka } }));
    assert.equal(add3.status, 200);
    assert.equal(add3.text, add1.text);
    await pollUntil('job completed', async () => (await client.bulk.retrieveJob(jobId)).job.status === 'COMPLETED');
    ({ job } = await client.bulk.retrieveJob(jobId));
    assert.equal(job.received, 4);
});

test('bad keys and expirations are 400 in each dialect\'s shape', async () => {
    const srv = await start();
    const message = { template: 'x' };
    const cases = [
        ['x'.repeat(256), /at most 255/],
        ['', /must not be empty/],
        ['caf\u00e9', /printable ASCII/],
    ];
    for (const [k, re] of cases) {
        const res = await fetch(`${srv.url}/bulk`, {
            method: 'POST', body: JSON.stringify({ message }),
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': k },
        });
        const text = await res.text();
        assert.equal(res.status, 400, `${JSON.stringify(k.slice(0, 10))}: ${text}`);
        assert.match(JSON.parse(text).message, re);
        const r = await jc(srv, 'POST', '/api/v2/bulk/users', [{ username: 'u', email: 'u@example.com' }],
            { 'idempotency-key': k });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.code, 400);
        assert.match(r.json.message, re);
    }
    const okKey = 'k'.repeat(255);
    const r = await courierRaw(courier(srv).bulk.createJob({ message }, { headers: { 'Idempotency-Key': okKey } }));
    assert.equal(r.status, 200, '255 bytes is allowed');
    const bad = await fetch(`${srv.url}/bulk`, {
        method: 'POST', body: JSON.stringify({ message }),
        headers: {
            authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': ikey('e'),
            'x-idempotency-expiration': 'next tuesday',
        },
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /X-Idempotency-Expiration "next tuesday" is neither/);
});

test('JumpCloud bulk users and userstates: replay, one job and one set of users, 422 for another body', async () => {
    const srv = await start();
    const p = uniq('jb');
    const users = makeUsers(30, p);
    const k = ikey('jb');
    const h = { 'creation-source': 'jumpcloud:bulk', 'idempotency-key': k };
    const first = await jc(srv, 'POST', '/api/v2/bulk/users', users, h);
    assert.equal(first.status, 201, first.text);
    const again = await jc(srv, 'POST', '/api/v2/bulk/users', users, h);
    assert.equal(again.status, 201);
    assert.equal(again.text, first.text);
    assert.equal(again.replayed, 'true');
    const api = srv.api(KEY);
    await api.finishedResults(first.json.jobId, users.length);
    assert.equal(await api.totalCount(`&filter=username:eq:${p}*`), 30, 'each user once');
    // another body, another query or another creation-source with the same key: 422
    for (const [body, path, hh] of [
        [users.slice(1), '/api/v2/bulk/users', h],
        [users, '/api/v2/bulk/users?suppressEmail=true', h],
        [users, '/api/v2/bulk/users', { ...h, 'creation-source': 'jumpcloud:scim' }],
    ]) {
        const r = await jc(srv, 'POST', path, body, hh);
        assert.equal(r.status, 422, r.text);
        assert.equal(r.json.code, 422);
        assert.match(r.json.message, /Idempotency-Key .* was already used with another request/);
    }
    // PATCH is another endpoint: the same key names another request there
    const ids = (await api.results(first.json.jobId, 0, 2)).map((x) => x.persistedFields._id);
    const patch = ids.map((id, i) => ({ id, attributes: { firstname: `Renamed${i}` } }));
    const p1 = await jc(srv, 'PATCH', '/api/v2/bulk/users', patch, { 'idempotency-key': k });
    assert.equal(p1.status, 201, p1.text);
    assert.notEqual(p1.json.jobId, first.json.jobId);
    const p2 = await jc(srv, 'PATCH', '/api/v2/bulk/users', patch, { 'idempotency-key': k });
    assert.equal(p2.text, p1.text);

    // userstates: the same changes once
    const ks = ikey('us');
    const body = { user_ids: ids, state: 'SUSPENDED', start_date: '2031-01-01T00:00:00Z' };
    const s1 = await jc(srv, 'POST', '/api/v2/bulk/userstates', body, { 'idempotency-key': ks });
    assert.equal(s1.status, 201, s1.text);
    const s2 = await jc(srv, 'POST', '/api/v2/bulk/userstates', body, { 'idempotency-key': ks });
    assert.equal(s2.status, 201);
    assert.equal(s2.text, s1.text);
    assert.equal(s2.replayed, 'true');
    const listed = await jc(srv, 'GET', `/api/v2/bulk/userstates?limit=100&filter=systemUserId:eq:${ids[0]}`);
    assert.equal(listed.json.length, 1, listed.text);
    const s3 = await jc(srv, 'POST', '/api/v2/bulk/userstates', { ...body, state: 'ACTIVATED' }, { 'idempotency-key': ks });
    assert.equal(s3.status, 422, s3.text);
});

test('five concurrent repeats: one effect, five equal answers', async () => {
    const srv = await start();
    const org = srv.orgId;
    const client = courier(srv);
    for (let round = 0; round < 3; round++) {
        const before = await jobCount(srv, org);
        const k = ikey('cr');
        const message = { template: `t${round}` };
        const rs = await Promise.all(Array.from({ length: 5 },
            () => courierRaw(client.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }))));
        const ok = rs.filter((r) => r.status === 200);
        assert.ok(rs.every((r) => r.status === 200 || r.status === 409), rs.map((r) => r.status).join());
        assert.ok(ok.length >= 1);
        assert.equal(new Set(ok.map((r) => r.text)).size, 1, 'equal answers');
        assert.equal(rs.filter((r) => r.replayed === null && r.status === 200).length, 1, 'one first answer');
        assert.equal(await jobCount(srv, org), before + 1, 'one job');

        const p = uniq('cj');
        const users = makeUsers(20, p);
        const kj = ikey('cj');
        const js = await Promise.all(Array.from({ length: 5 }, () => jc(srv, 'POST', '/api/v2/bulk/users', users,
            { 'creation-source': 'jumpcloud:bulk', 'idempotency-key': kj })));
        assert.ok(js.every((r) => r.status === 201 || r.status === 409), js.map((r) => r.status).join());
        const jobIds = new Set(js.filter((r) => r.status === 201).map((r) => r.json.jobId));
        assert.equal(jobIds.size, 1);
        const api = srv.api(KEY);
        await api.finishedResults([...jobIds][0], users.length);
        assert.equal(await api.totalCount(`&filter=username:eq:${p}*`), 20);
    }
});

test('keys expire: --idempotency-ttl, and X-Idempotency-Expiration bounded by it', async () => {
    const srv = await start({ args: ['--idempotency-ttl', '2'] });
    const client = courier(srv);
    const message = { template: 'exp' };
    const k = ikey('ex');
    const opts = { headers: { 'Idempotency-Key': k } };
    const a = JSON.parse((await courierRaw(client.bulk.createJob({ message }, opts))).text).jobId;
    const b = await courierRaw(client.bulk.createJob({ message }, opts));
    assert.equal(JSON.parse(b.text).jobId, a, 'replayed while live');
    await sleep(2300);
    const c = await courierRaw(client.bulk.createJob({ message }, opts));
    assert.equal(c.replayed, null, 'expired: a new request');
    assert.notEqual(JSON.parse(c.text).jobId, a);
    // an expiration in the past is raised to the TTL: still replayed at once
    const k2 = ikey('ex');
    const past = { headers: { 'Idempotency-Key': k2, 'X-Idempotency-Expiration': String(Date.now() - 60000) } };
    const d = await courierRaw(client.bulk.createJob({ message }, past));
    const d2 = await courierRaw(client.bulk.createJob({ message }, past));
    assert.equal(d2.text, d.text);
    assert.equal(d2.replayed, 'true');
    // a later one (ISO 8601) keeps the key past the TTL
    const k3 = ikey('ex');
    const later = { headers: { 'Idempotency-Key': k3, 'X-Idempotency-Expiration': new Date(Date.now() + 8000).toISOString() } };
    const e = await courierRaw(client.bulk.createJob({ message }, later));
    await sleep(3000);
    const e2 = await courierRaw(client.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k3 } }));
    assert.equal(e2.text, e.text, 'kept past the 2 s TTL');
    assert.equal(e2.replayed, 'true');
});

test('another organisation using the same key string gets its own job', async () => {
    const srv = await start();
    const orgB = await cliOrg(srv.store, uniq('OrgB'));
    const keyB = await cliKey(srv.store, orgB);
    const a = courier(srv);
    const b = courier(srv, keyB);
    const k = ikey('tn');
    const message = { template: 'tenant' };
    const ra = await courierRaw(a.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }));
    const rb = await courierRaw(b.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }));
    assert.equal(rb.status, 200);
    assert.equal(rb.replayed, null, 'not a replay of org A');
    assert.notEqual(JSON.parse(rb.text).jobId, JSON.parse(ra.text).jobId);
    assert.equal(await jobCount(srv, orgB), 1);
    // with another body too: B's key space is its own
    const rb2 = await courierRaw(b.bulk.createJob({ message: { template: 'x' } }, { headers: { 'Idempotency-Key': ikey('tn') } }));
    assert.equal(rb2.status, 200);
    const ra2 = await courierRaw(a.bulk.createJob({ message }, { headers: { 'Idempotency-Key': k } }));
    assert.equal(ra2.text, ra.text);
    // JumpCloud: an all-organisations key selecting org B with x-org-id
    const users = makeUsers(3, uniq('tj'));
    const kj = ikey('tj');
    const ja = await jc(srv, 'POST', '/api/v2/bulk/users', users, { 'idempotency-key': kj });
    const jb = await jc(srv, 'POST', '/api/v2/bulk/users', users, { 'idempotency-key': kj }, orgB);
    assert.equal(jb.status, 201, jb.text);
    assert.equal(jb.replayed, null);
    assert.notEqual(jb.json.jobId, ja.json.jobId);
});

/** Attaches strace to pid so that the next sendmsg (how the server sends an answer) kills it
 * with SIGKILL before anything is sent; resolves once attached. */
async function killOnAnswer(pid) {
    const proc = spawn('strace', ['-f', '-p', String(pid), '-e', 'trace=sendmsg',
        '-e', 'inject=sendmsg:error=EPIPE:signal=SIGKILL', '-o', '/dev/null'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { err += d; });
    await pollUntil('strace attached', () => {
        if (proc.exitCode !== null) throw new Error(`strace exited ${proc.exitCode}: ${err}`);
        return /attached/.test(err);
    }, { timeoutMs: 10000 });
    await sleep(300); // the other threads' attach lines
    return proc;
}

/** Sends req() to a server that dies before answering; restarts it on the same store. */
async function crashAnswer(srv, req) {
    const strace = await killOnAnswer(srv.pid);
    try {
        await assert.rejects(req(), 'the answer never came');
        const r = await srv.exitPromise;
        assert.equal(r.signal, 'SIGKILL');
    } finally {
        if (strace.exitCode === null) strace.kill('SIGTERM');
    }
    const s2 = await start({ dir: srv.dir });
    assert.equal(s2.adminKey, null, 'the same store');
    return s2;
}

test('a crash between the effect and the answer: the retry after the restart answers that effect', { timeout: 120000 }, async () => {
    let srv = await start();
    const org = srv.orgId;

    // Courier: create
    const message = { template: 'crash' };
    const kc = ikey('kc');
    const before = await jobCount(srv, org);
    let s = srv;
    srv = await crashAnswer(s, () => courier(s).bulk.createJob({ message }, { headers: { 'Idempotency-Key': kc } }));
    assert.equal(await jobCount(srv, org), before + 1, 'the job was committed before the crash');
    const r1 = await courierRaw(courier(srv).bulk.createJob({ message }, { headers: { 'Idempotency-Key': kc } }));
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.replayed, 'true');
    assert.equal(await jobCount(srv, org), before + 1, 'no second job');
    const { jobId } = JSON.parse(r1.text);
    const { job } = await courier(srv).bulk.retrieveJob(jobId);
    assert.equal(job.status, 'CREATED');

    // Courier: add users
    const users = Array.from({ length: 50 }, (_, i) => ({ to: { email: `c${i}@example.com` } }));
    const ka = ikey('ka');
    s = srv;
    srv = await crashAnswer(s, () => courier(s).bulk.addUsers(jobId, { users }, { headers: { 'Idempotency-Key': ka } }));
    const r2 = await courierRaw(courier(srv).bulk.addUsers(jobId, { users }, { headers: { 'Idempotency-Key': ka } }));
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.replayed, 'true');
    assert.deepEqual(JSON.parse(r2.text), { total: 50, errors: [] });
    assert.equal((await courier(srv).bulk.retrieveJob(jobId)).job.received, 50, 'the users were added once');

    // JumpCloud: bulk users
    const p = uniq('kj');
    const jusers = makeUsers(40, p);
    const kj = ikey('kj');
    const jh = { 'creation-source': 'jumpcloud:bulk', 'idempotency-key': kj };
    s = srv;
    srv = await crashAnswer(s, () => jc(s, 'POST', '/api/v2/bulk/users', jusers, jh));
    const r3 = await jc(srv, 'POST', '/api/v2/bulk/users', jusers, jh);
    assert.equal(r3.status, 201, r3.text);
    assert.equal(r3.replayed, 'true');
    const api = srv.api(KEY);
    const rs = await api.finishedResults(r3.json.jobId, jusers.length);
    assert.ok(rs.every((x) => x.status === 'succeeded'));
    assert.equal(await api.totalCount(`&filter=username:eq:${p}*`), 40, 'one set of users');

    // JumpCloud: userstates
    const ids = rs.slice(0, 3).map((x) => x.persistedFields._id);
    const ks = ikey('ks');
    const body = { user_ids: ids, state: 'SUSPENDED', start_date: '2032-01-01T00:00:00Z' };
    s = srv;
    srv = await crashAnswer(s, () => jc(s, 'POST', '/api/v2/bulk/userstates', body, { 'idempotency-key': ks }));
    const r4 = await jc(srv, 'POST', '/api/v2/bulk/userstates', body, { 'idempotency-key': ks });
    assert.equal(r4.status, 201, r4.text);
    assert.equal(r4.replayed, 'true');
    assert.equal(r4.json.length, 3);
    for (const id of ids) {
        const l = await jc(srv, 'GET', `/api/v2/bulk/userstates?limit=100&filter=systemUserId:eq:${id}`);
        assert.equal(l.json.length, 1, `one change for ${id}: ${l.text}`);
    }
    assert.deepEqual(new Set(r4.json.map((x) => x.scheduledJobId)).size, 3);
});
