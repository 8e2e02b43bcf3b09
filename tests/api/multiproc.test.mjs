// Several roster processes on one PostgreSQL database (issue 3), each started like a user
// would: `roster serve --store <the same URL>`. A 50,000-user bulk create survives kill -9 of
// the process it was sent to (the other one takes over its chunks when their leases expire);
// scheduled changes due while two processes run are applied exactly once; SIGTERM hands a
// job over without any lease to wait for; processes started together bootstrap an empty
// database once; a process whose database sessions are terminated carries on; and two
// processes delivering one outbox over SMTP send each message once.
// PostgreSQL only: scripts/test.sh runs this file in its PostgreSQL pass. Run on SQLite (one
// serving process per file) it fails at load instead of passing without testing anything.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
    PG, startServer, cleanup, cli, makeUsers, listAll, pollUntil, uniq, storeQuery, tempDir,
    pgTerminateBackends, pgAllowConnections, pgDropDatabase, assertError, HEX24,
} from './harness.mjs';
import { startSink } from './smtp_sink.mjs';
import Courier from '@trycourier/courier';

if (!PG) {
    throw new Error('multiproc.test.mjs needs ROSTER_TEST_STORE=postgres and ROSTER_TEST_PG_DIR:'
        + ' several processes share one store only on PostgreSQL');
}

const KEY = 'multiproc-bootstrap-key-0123456789';
const US = '/api/v2/bulk/userstates';
const iso = (ms) => new Date(ms).toISOString();

// The processes of the running test, stopped when it ends with their databases dropped:
// each holds a session per thread that used the store, and the next test starts its own
// (kept to the end of the file, they reached 98 of PostgreSQL's default 100 sessions).
const servers = [];
async function stopAll() {
    const stores = new Set(servers.map((s) => s.store));
    while (servers.length) await cleanup(servers.pop());
    // the databases are big: leave no autovacuum work behind for the next tests
    for (const store of stores) await pgDropDatabase(store);
}
afterEach(stopAll);

async function start(opts = {}) {
    // jobs of 20,000 users in one request, above the default cap of 10,000
    const s = await startServer({ bootstrapKey: KEY, workers: 2, bulkMaxItems: 20000, ...opts });
    servers.push(s);
    return s;
}

/** Two processes on one fresh database; the first one bootstraps it. */
async function pair(opts = {}) {
    const a = await start(opts);
    assert.equal(a.adminKey, KEY, 'the first process bootstraps the fresh database');
    const b = await start({ ...opts, dir: a.dir });
    assert.equal(b.adminKey, null, 'the second process finds the database bootstrapped');
    return [a, b];
}

/** The last `status` line index of one job: 0..total-1 all have a non-pending result. */
async function jobDone(api, jobId, total) {
    const [last] = await api.results(jobId, total - 1, 1);
    return last.status !== 'pending';
}

/**
 * Checks the outcome of bulk-create jobs (input split into `jobs` of `per` items each) read
 * through api: one non-pending result per item, exactly the expected items failed, the org
 * holds exactly the succeeded users, each once. Returns {succeeded, failed, results}.
 */
async function verifyJobs(api, jobs, items, per, { bad, pairs }) {
    const results = [];
    for (let j = 0; j < jobs.length; j++) {
        const n = Math.min(per, items.length - j * per);
        const rs = await api.finishedResults(jobs[j], n, 300000);
        assert.equal(rs.length, n, `job ${j}: one result per item`);
        results.push(...rs);
    }
    assert.equal(results.length, items.length, 'one result per input item');
    assert.equal(results.filter((r) => r.status === 'pending').length, 0, 'nothing pending');
    const ok = (i) => results[i].status === 'succeeded';
    for (const i of bad) assert.equal(results[i].status, 'failed', `bad item ${i}: ${JSON.stringify(results[i])}`);
    const expectFailed = new Set(bad);
    for (const [x, y] of pairs) {
        // the two run in different jobs, maybe in different processes: whichever commits
        // first wins, and exactly one of them does
        assert.equal(Number(ok(x)) + Number(ok(y)), 1,
            `exactly one of the duplicates ${x} and ${y} succeeded: ${results[x].status}, ${results[y].status}`);
        const loser = ok(x) ? y : x;
        assert.match(results[loser].statusMsg, /already exists/, `duplicate ${loser}: ${results[loser].statusMsg}`);
        expectFailed.add(loser);
    }
    const failed = results.map((r, i) => (r.status === 'failed' ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(failed, [...expectFailed].sort((a, b) => a - b), 'exactly the expected items failed');
    const okIds = new Set();
    results.forEach((r, i) => {
        if (r.status !== 'succeeded') return;
        assert.equal(r.persistedFields.username, items[i].username, `item ${i} wrote its own user`);
        okIds.add(r.persistedFields._id);
    });
    assert.equal(okIds.size, items.length - failed.length, 'one distinct user id per succeeded item');
    assert.equal(await api.totalCount(), okIds.size, 'users in the org == succeeded results');
    const all = await listAll(api);
    assert.equal(new Set(all.map((u) => u.username)).size, all.length, 'no username stored twice');
    assert.ok(all.every((u) => okIds.has(u._id)), 'every stored user belongs to a succeeded result');
    return { succeeded: okIds.size, failed: failed.length, results };
}

/** Input with deliberate duplicates across jobs and one invalid item. */
function input(n, prefix, dups) {
    const items = makeUsers(n, prefix);
    const pairs = [];
    for (const [field, x, y] of dups) {
        items[y] = { ...items[y], [field]: items[x][field] };
        pairs.push([x, y]);
    }
    const badIdx = Math.floor(n / 2) + 7;
    items[badIdx] = { ...items[badIdx], email: 'not-an-email' };
    return { items, bad: [badIdx], pairs };
}

test('kill -9 of the process a 50,000-user bulk create was sent to: the other process finishes it, one result per item',
    { timeout: 900000 }, async (t) => {
        const LEASE_MS = 4000;
        const [a, b] = await pair({ jobLeaseMs: LEASE_MS });
        const apiA = a.api(KEY);
        const apiB = b.api(KEY);
        const N = 50000;
        const PER = 1000;
        const { items, bad, pairs } = input(N, uniq('mk'), [
            ['username', 700, 1500], ['email', 20010, 49999], ['employeeIdentifier', 33333, 12345],
        ]);
        const jobs = [];
        for (let i = 0; i < N; i += PER) jobs.push(await apiA.bulkCreate(items.slice(i, i + PER)));
        // kill while it processes: some results exist, not all
        const seen = await pollUntil('some users created', async () => {
            const n = await apiA.totalCount();
            return n > 0 ? n : null;
        }, { timeoutMs: 120000, intervalMs: 10 });
        const leased = await storeQuery(a.store,
            `SELECT count(*) FROM chunks WHERE NOT done AND lease_until_ms > ${Date.now()}`);
        const r = await a.kill9();
        const killedAt = Date.now();
        assert.equal(r.signal, 'SIGKILL');
        assert.ok(seen < N - 4, `the test needs the job unfinished at the kill; ${seen} of ${N} users existed`);
        const unfinished = [];
        for (const j of jobs) if (!(await jobDone(apiB, j, PER))) unfinished.push(j);
        t.diagnostic(`killed with ${seen} users created, ${leased[0]} chunks leased and not done,`
            + ` ${unfinished.length} of ${jobs.length} jobs unfinished`);
        for (const j of jobs) await apiB.waitJob(j, PER, 300000);
        const doneMs = Date.now() - killedAt;
        const res = await verifyJobs(apiB, jobs, items, PER, { bad, pairs });
        t.diagnostic(`finished ${doneMs} ms after the kill (lease ${LEASE_MS} ms), checked in ${Date.now() - killedAt - doneMs} ms:`
            + ` ${res.succeeded} succeeded, ${res.failed} failed`);
        // every chunk is done once: no lease left to take over
        const chunks = await storeQuery(b.store, 'SELECT done, count(*) FROM chunks GROUP BY done');
        assert.deepEqual(chunks, ['t|50'], `every chunk done: ${chunks}`);
    });

test('changes due while two processes run are applied exactly once, each by one process', { timeout: 300000 }, async (t) => {
    const [a, b] = await pair({ logLevel: 'debug' });
    const apiA = a.api(KEY);
    const apiB = b.api(KEY);
    const N = 3000;
    const ids = await apiA.createUsers(makeUsers(N, uniq('ms')));
    const org = a.orgId;
    const versions = () => storeQuery(a.store, 'SELECT version, count(*) FROM users WHERE org_num ='
        + ` (SELECT num_id FROM orgs WHERE id = '${org}') GROUP BY version ORDER BY version`);
    assert.deepEqual(await versions(), [`1|${N}`], 'every user at version 1');
    // most changes due at the same millisecond, submitted to both processes; a few later
    const due = Math.ceil(Date.now() + 5000);
    const later = due + 1500;
    const scheduled = [];
    const plan = [[apiA, 0, 1000, due], [apiB, 1000, 2000, due], [apiA, 2000, 2990, due], [apiB, 2990, N, later]];
    for (const [api, from, to, at] of plan) {
        const r = await api.post(US, { user_ids: ids.slice(from, to), state: 'SUSPENDED', start_date: iso(at) });
        assert.equal(r.status, 201, r.text.slice(0, 300));
        assert.equal(r.json.length, to - from);
        scheduled.push(...r.json.map((e) => e.scheduledJobId));
    }
    t.diagnostic(`scheduled ${due - Date.now()} ms before the due time`);
    await pollUntil(`all ${N} changes applied`, async () => (await apiB.totalCount('&filter=state:eq:SUSPENDED')) === N,
        { timeoutMs: 60000, intervalMs: 50 });
    // each change applied once: every user updated exactly once, every schedule applied
    assert.deepEqual(await versions(), [`2|${N}`], 'every user updated exactly once');
    const st = await storeQuery(a.store, 'SELECT status, count(*) FROM schedules WHERE org_num ='
        + ` (SELECT num_id FROM orgs WHERE id = '${org}') GROUP BY status`);
    assert.deepEqual(st, [`1|${N}`], `every schedule applied: ${st}`);
    for (const [api, id] of [[apiA, scheduled[0]], [apiB, scheduled[1500]], [apiA, scheduled[N - 1]]]) {
        const r = await api.get(`${US}/${id}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.status, 'applied');
        assert.equal(r.json.outcome, 'user state set to SUSPENDED');
    }
    for (const api of [apiA, apiB]) {
        const r = await api.get(`${US}?limit=100`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, [], 'nothing pending on either process');
    }
    // ... and by one process only: one log line per change in the two logs together
    const applied = (s) => [...s.stderr().matchAll(/msg="scheduled change done" schedule=([0-9a-f]{24}) user=[0-9a-f]{24} status=applied/g)]
        .map((m) => m[1]);
    const byA = applied(a);
    const byB = applied(b);
    const count = new Map();
    for (const id of [...byA, ...byB]) count.set(id, (count.get(id) ?? 0) + 1);
    assert.equal(count.size, N, `every change logged as done: ${count.size} of ${N}`);
    assert.ok([...count.values()].every((c) => c === 1), 'no change applied by both processes');
    assert.deepEqual([...count.keys()].sort(), [...scheduled].sort(), 'exactly the scheduled changes');
    t.diagnostic(`applied by process 1: ${byA.length}, by process 2: ${byB.length}`);
});

test('SIGTERM of the process a job was sent to: the other finishes it at once; every process reads the same results',
    { timeout: 600000 }, async (t) => {
        // a lease far longer than the test may wait: a chunk left leased by the stopped
        // process would make the other one wait for it
        const LEASE_MS = 120000;
        const [a, b] = await pair({ jobLeaseMs: LEASE_MS, workers: 1 });
        const apiA = a.api(KEY);
        const apiB = b.api(KEY);
        const N = 20000;
        const { items, bad, pairs } = input(N, uniq('mt'), [['username', 10, 15010]]);
        const job = await apiA.bulkCreate(items);
        await pollUntil('first results', async () => (await apiA.results(job, 0, 1))[0].status !== 'pending',
            { timeoutMs: 120000, intervalMs: 5 });
        const r = await a.stop('SIGTERM');
        const stoppedAt = Date.now();
        assert.equal(r.code, 0, `SIGTERM exit code ${r.code} signal ${r.signal}`);
        const midway = !(await jobDone(apiB, job, N));
        t.diagnostic(midway ? 'stopped part-way' : 'the job had finished before the stop; still checking');
        await apiB.waitJob(job, N, LEASE_MS / 2);
        t.diagnostic(`finished ${Date.now() - stoppedAt} ms after the stop (lease ${LEASE_MS} ms)`);
        const res = await verifyJobs(apiB, [job], items, N, { bad, pairs });
        // a third process, started afterwards on the same database, reads the same
        const c = await start({ dir: a.dir });
        const apiC = c.api(KEY);
        assert.deepEqual(await apiC.allResults(job, N), res.results, 'results identical from another process');
        assert.equal(await apiC.totalCount(), res.succeeded);
        const u = res.results[0].persistedFields._id;
        const [ga, gc] = [await apiB.get(`/api/systemusers/${u}`), await apiC.get(`/api/systemusers/${u}`)];
        assert.equal(ga.status, 200);
        assert.deepEqual(gc.json, ga.json, 'a user reads the same from both processes');
    });

test('processes started together on an empty database bootstrap it once', { timeout: 120000 }, async () => {
    for (let round = 0; round < 3; round++) {
        const dir = tempDir('mpboot');
        // no ROSTER_BOOTSTRAP_KEY: each process would make its own random key
        const both = await Promise.all([0, 1].map(() => start({ dir, bootstrapKey: undefined, expectFresh: false })));
        const keys = both.map((s) => s.stdout().match(/^admin key (\S+) org ([0-9a-f]{24})$/m)).filter(Boolean);
        assert.equal(keys.length, 1, `round ${round}: exactly one process printed an admin key:\n`
            + both.map((s) => s.stdout()).join('\n---\n'));
        const [, key, org] = keys[0];
        const orgs = await cli(both[0].store, 'org', 'list');
        assert.equal(orgs.code, 0, orgs.stderr);
        const lines = orgs.stdout.split('\n').filter((l) => l.trim());
        assert.equal(lines.length, 1, `round ${round}: one organisation: ${orgs.stdout}`);
        assert.ok(lines[0].includes(org), `the organisation is the printed one: ${lines[0]}`);
        for (const s of both) {
            const r = await s.api(key).get('/api/systemusers?limit=1');
            assert.equal(r.status, 200, `the admin key works on both processes: ${r.text}`);
        }
        for (const s of both) await s.stop();
    }
});

test('sessions terminated with pg_terminate_backend: single-user calls, new bulk jobs and the scheduler carry on',
    { timeout: 300000 }, async (t) => {
        const [a, b] = await pair({ jobLeaseMs: 3000 });
        const api = a.api(KEY);
        const apiB = b.api(KEY);
        const ids = await api.createUsers(makeUsers(5, uniq('rc')));
        let killed = await pgTerminateBackends(a.store);
        assert.ok(killed >= 8, `both processes' sessions terminated (${killed})`);
        // single-user reads and writes, on both processes
        for (const x of [api, apiB]) {
            const g = await x.get(`/api/systemusers/${ids[0]}`);
            assert.equal(g.status, 200, `read after terminate: ${g.text}`);
        }
        await pgTerminateBackends(a.store);
        const put = await api.put(`/api/systemusers/${ids[1]}`, { firstname: 'Renamed' });
        assert.equal(put.status, 200, `write after terminate: ${put.text}`);
        assert.equal(put.json.firstname, 'Renamed');
        await pgTerminateBackends(a.store);
        const one = makeUsers(1, uniq('rcs'))[0];
        const created = await apiB.post('/api/systemusers', one);
        assert.equal(created.status, 200, `create after terminate: ${created.text}`);
        assert.match(created.json._id, HEX24);
        assert.equal((await api.get(`/api/systemusers/${created.json._id}`)).json.username, one.username);
        // the database refuses sessions for a while: 503 on both processes, then back to normal
        await pgAllowConnections(a.store, false);
        try {
            await pgTerminateBackends(a.store);
            for (const s of [a, b]) { // readiness follows the store; liveness does not
                const r = await fetch(`${s.url}/readyz`);
                assert.equal(r.status, 503, 'not ready while the database refuses sessions');
                assert.match((await r.json()).message, /store unavailable/);
                assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'still alive');
            }
            for (const x of [api, apiB]) {
                assertError(await x.get(`/api/systemusers/${ids[0]}`), 503, /store unavailable/);
                assertError(await x.req('POST', '/api/v2/bulk/users',
                    { body: makeUsers(1, uniq('rco')), headers: { 'creation-source': 'jumpcloud:bulk' } }), 503);
            }
        } finally {
            await pgAllowConnections(a.store, true);
        }
        for (const x of [api, apiB]) assert.equal((await x.get(`/api/systemusers/${ids[0]}`)).status, 200, 'back after the outage');
        for (const s of [a, b]) assert.equal((await fetch(`${s.url}/readyz`)).status, 200, 'ready again');
        // a new bulk job
        await pgTerminateBackends(a.store);
        const more = makeUsers(2000, uniq('rcj'));
        const newIds = await api.createUsers(more, 120000);
        assert.equal(newIds.length, 2000);
        // a scheduled change due after a terminate
        const due = Math.ceil(Date.now() + 1500);
        const sr = await api.post(US, { user_ids: [ids[2]], state: 'SUSPENDED', start_date: iso(due) });
        assert.equal(sr.status, 201, sr.text);
        await pgTerminateBackends(a.store);
        await pollUntil('scheduled change applied', async () => {
            const r = await apiB.get(`${US}/${sr.json[0].scheduledJobId}`);
            return r.json?.status === 'applied';
        }, { timeoutMs: 20000, intervalMs: 50 });
        assert.equal((await api.get(`/api/systemusers/${ids[2]}`)).json.state, 'SUSPENDED');
        // sessions terminated again and again while a 20,000-user job runs: nothing lost,
        // nothing doubled, no item failed for it
        const N = 20000;
        const { items, bad, pairs } = input(N, uniq('rcx'), []);
        const job = await api.bulkCreate(items);
        const before = await api.totalCount();
        for (let i = 0; i < 4 && !(await jobDone(api, job, N)); i++) {
            await pollUntil('progress', async () => (await api.totalCount()) > before + (i + 1) * 1000
                || jobDone(api, job, N),
                { timeoutMs: 120000, intervalMs: 20 });
            killed += await pgTerminateBackends(a.store);
        }
        const rs = await api.finishedResults(job, N, 300000);
        const failed = rs.map((r, i) => (r.status === 'failed' ? i : -1)).filter((i) => i >= 0);
        assert.deepEqual(failed, bad, 'only the invalid item failed');
        assert.equal(pairs.length, 0);
        assert.equal(await api.totalCount(), before + N - bad.length, 'each item applied once');
        // the same for a bulk update: a batch cut short is applied again, and every update
        // reported as succeeded is in the store
        // (in jobs of 1,000, so that a batch holds chunks of several jobs)
        const okIds = rs.filter((r) => r.status === 'succeeded').map((r) => r.persistedFields._id);
        const ujobs = [];
        for (let i = 0; i < okIds.length; i += 1000) {
            ujobs.push([await api.bulkUpdate(okIds.slice(i, i + 1000).map((id, k) => ({ id, department: `D${i + k}` }))),
                Math.min(1000, okIds.length - i)]);
        }
        const updated = async () => {
            let n = 0;
            for (const [j, cnt] of ujobs) if (await jobDone(api, j, cnt)) n += 1;
            return n;
        };
        for (let i = 0, seen = 0; i < 4 && seen < ujobs.length; i++) {
            await pollUntil('update progress', async () => (seen = await updated()) > i * 3 || seen === ujobs.length,
                { timeoutMs: 120000, intervalMs: 20 });
            killed += await pgTerminateBackends(a.store);
        }
        for (const [j, cnt] of ujobs) {
            const urs = await api.finishedResults(j, cnt, 300000);
            assert.equal(urs.filter((r) => r.status !== 'succeeded').length, 0, 'every update succeeded');
        }
        const stored = new Map((await listAll(apiB)).map((u) => [u._id, u.department]));
        const wrong = okIds.filter((id, i) => stored.get(id) !== `D${i}`);
        assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} users lack the update their result reports`);
        for (const s of [a, b]) {
            assert.match(s.stderr(), /store connection was lost; reconnected/, 'the reconnection is logged');
            assert.equal(s.exited, false, 'still running');
        }
        const lines = (re) => [a, b].reduce((n, s) => n + s.stderr().split('\n').filter((l) => re.test(l)).length, 0);
        t.diagnostic(`${killed} sessions terminated in all; batches rolled back: ${lines(/batch rolled back/)},`
            + ` chunks left for their lease to expire: ${lines(/chunk not applied/)}`);
    });

test('two processes deliver one outbox over SMTP: every message SENT, each Message-ID arrives once', { timeout: 120000 }, async () => {
    const sink = await startSink(['--light']); // Message-IDs only: thousands of messages
    try {
        // each process signs its Message-IDs with the domain of its own sender, so the sink
        // tells which process sent what
        const smtp = (who) => ['--smtp-url', sink.url, '--smtp-from', `noreply@${who}.multiproc.example`,
            '--smtp-sessions', '3'];
        const a = await start({ args: smtp('a') });
        assert.equal(a.adminKey, KEY, 'the first process bootstraps the fresh database');
        const b = await start({ args: smtp('b'), dir: a.dir });
        const N = 4000;
        const p = uniq('mpd');
        const users = [];
        for (let i = 0; i < N; i++) users.push({ profile: { email: `${p}m${i}@example.com` } });
        const client = new Courier({ apiKey: KEY, baseURL: a.url, maxRetries: 0 });
        const t0 = Date.now();
        const { jobId } = await client.bulk.createJob({ message: { content: { title: 'T', body: 'B' } } });
        await client.bulk.addUsers(jobId, { users });
        await client.bulk.runJob(jobId);
        const reader = new Courier({ apiKey: KEY, baseURL: b.url, maxRetries: 0 });
        const items = await pollUntil('every message SENT', async () => {
            if (sink.messages().length < N) return null;
            const out = [];
            let cursor = null;
            for (;;) {
                const page = await reader.bulk.listUsers(jobId, { cursor });
                out.push(...page.items);
                if (!page.paging.more) break;
                cursor = page.paging.cursor;
            }
            return out.length === N && out.every((it) => it.messageStatus === 'SENT') ? out : null;
        }, { timeoutMs: 90000, intervalMs: 250 });
        const secs = (Date.now() - t0) / 1000;
        const count = new Map();
        const by = { a: 0, b: 0 };
        for (const m of sink.messages()) {
            const [, id, who] = m.message_id.match(/^<(.+)@([ab])\.multiproc\.example>$/) || [];
            assert.ok(id, `Message-ID ${m.message_id}`);
            count.set(id, (count.get(id) || 0) + 1);
            by[who]++;
        }
        assert.equal(sink.messages().length, N, 'exactly one e-mail per message');
        assert.equal(count.size, N, 'one Message-ID per message');
        assert.ok([...count.values()].every((c) => c === 1), 'no message sent twice, by either process');
        for (const it of items) assert.ok(count.has(it.messageId), `message ${it.messageId} arrived`);
        assert.ok(by.a > 0 && by.b > 0, `both processes delivered: a ${by.a}, b ${by.b}`);
        console.log(`two processes delivered ${N} e-mails in ${secs.toFixed(1)} s: a ${by.a}, b ${by.b}`);
    } finally {
        sink.stop();
    }
});
