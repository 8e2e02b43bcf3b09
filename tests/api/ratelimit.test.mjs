// Rate limiting per credential (issue 14): a token bucket per API key and per
// service-account key (--rate-limit / --rate-burst, ROSTER_RATE_LIMIT / ROSTER_RATE_BURST).
// Over the limit every dialect answers in its own shape: JumpCloud, Courier, Concur and the
// admin API with 429 and Retry-After, Voximplant with its error object, code 340. Courier's
// official client waits for Retry-After and its retry succeeds; one key's bucket leaves
// another key's alone; a refused request is not run; bad flags are refused at start.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Courier, { RateLimitError } from '@trycourier/courier';
import { startServer, cleanup, cliOrg, cliKey, assertError, tempDir, sleep, BIN } from './harness.mjs';

const KEY = 'ratelimit-test-bootstrap-key-0123456789';
const servers = [];

after(async () => {
    for (const s of servers) await cleanup(s);
});

async function serve(opts) {
    const s = await startServer({ bootstrapKey: KEY, ...opts });
    servers.push(s);
    return s;
}

function bearer(s, p, key = KEY, init = {}) {
    return fetch(s.url + p, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers || {}) } });
}

/** Retry-After of a refusal: whole seconds, at least 1, at most max. */
function retryAfter(res, max) {
    const v = res.headers.get('retry-after');
    assert.match(v || '', /^\d+$/, `Retry-After header: ${v}`);
    const n = Number(v);
    assert.ok(n >= 1 && n <= max, `Retry-After ${n} within 1..${max}`);
    return n;
}

/** Sends req() until it is refused (at most n times); returns the refused response. */
async function untilRefused(req, isRefused, n = 10) {
    for (let i = 0; i < n; i++) {
        const r = await req();
        if (await isRefused(r)) return r;
    }
    assert.fail(`no refusal within ${n} requests`);
}

describe('a limit of 2 a second, bursts of 2', () => {
    let srv;
    before(async () => {
        srv = await serve({ rateLimit: '2/s', rateBurst: 2 });
    });

    test('JumpCloud: the third request at once gets 429 in its error shape with Retry-After; after it, 200', async () => {
        const api = srv.api(KEY);
        await sleep(1100); // a full bucket
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await api.get('/api/systemusers')).status);
        assert.deepEqual(statuses, [200, 200, 429]);
        const r = await api.get('/api/systemusers');
        assertError(r, 429, /too many requests with this key: at most 2 a second \(bursts of 2\)/);
        const wait = retryAfter(r, 1);
        await sleep(wait * 1000);
        assert.equal((await api.get('/api/systemusers')).status, 200);
    });

    test('another key has its own bucket; a refused request is not run', async () => {
        const api = srv.api(KEY);
        const other = await cliKey(srv.store, srv.orgId);
        await untilRefused(() => api.get('/api/systemusers'), (r) => r.status === 429);
        const r = await srv.api(other).get('/api/systemusers');
        assert.equal(r.status, 200, r.text);
        // a create refused by the limit stores nothing
        await untilRefused(() => api.get('/api/systemusers'), (r) => r.status === 429);
        const name = `rl-refused-${Date.now()}`;
        const c = await api.post('/api/systemusers', { username: name, email: `${name}@example.com` });
        assertError(c, 429);
        await sleep(1100);
        const list = await srv.api(other).get(`/api/systemusers?filter=username:$eq:${name}`);
        assert.equal(list.status, 200, list.text);
        assert.equal(list.json.totalCount, 0, 'the refused create stored nothing');
    });

    test('Courier: 429 with Retry-After, its error body, and no x-should-retry: false', async () => {
        const r = await untilRefused(() => bearer(srv, '/bulk/nosuchjob'), (res) => res.status === 429);
        retryAfter(r, 1);
        assert.notEqual(r.headers.get('x-should-retry'), 'false');
        assert.deepEqual(await r.json(), {
            message: 'too many requests with this key: at most 2 a second (bursts of 2); try again in 1 s',
            type: 'invalid_request_error',
        });
        await sleep(1100);
    });

    test("Courier's official client retries the 429 after Retry-After and succeeds", async () => {
        const seen = [];
        const recording = async (url, init) => {
            const res = await fetch(url, init);
            seen.push(res.status);
            return res;
        };
        const client = new Courier({ apiKey: KEY, baseURL: srv.url, fetch: recording });
        const message = { event: 'rate-limited', data: { n: 1 } };
        // empty the bucket with requests of the same key
        await untilRefused(() => bearer(srv, '/bulk/nosuchjob'), (res) => res.status === 429);
        const t0 = Date.now();
        const { jobId } = await client.bulk.createJob({ message });
        const took = Date.now() - t0;
        assert.ok(jobId, 'the job was created');
        assert.deepEqual(seen, [429, 200], `statuses the client saw: ${seen}`);
        assert.ok(took >= 900, `the client waited for Retry-After (${took} ms)`);
        const { job } = await client.bulk.retrieveJob(jobId);
        assert.equal(job.status, 'CREATED');
        // without retries the client throws its RateLimitError: the retry above was needed
        await sleep(1100);
        const once = new Courier({ apiKey: KEY, baseURL: srv.url, maxRetries: 0 });
        await untilRefused(() => bearer(srv, '/bulk/nosuchjob'), (res) => res.status === 429);
        let err;
        try {
            await once.bulk.retrieveJob(jobId);
        } catch (e) {
            err = e;
        }
        assert.ok(err instanceof RateLimitError, `RateLimitError expected, got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 429);
        await sleep(1100);
    });

    test('Concur and the admin API: 429 in their error shapes with Retry-After', async () => {
        const c = await untilRefused(() => bearer(srv, '/users?limit=1'), (res) => res.status === 429);
        retryAfter(c, 1);
        const cb = await c.json();
        assert.equal(cb.code, 429);
        assert.equal(cb.error, 'too_many_requests');
        assert.match(cb.error_description, /too many requests with this key/);
        await sleep(1100);
        const a = await untilRefused(() => bearer(srv, `/admin/orgs/${srv.orgId}`), (res) => res.status === 429);
        retryAfter(a, 1);
        const ab = await a.json();
        assert.equal(ab.code, 429);
        assert.match(ab.message, /too many requests with this key/);
        await sleep(1100);
    });

    test('Voximplant: per service-account key, its error object with code 340 (HTTP 200)', async () => {
        const r = await srv.cli('key', 'create-service-account', '--org', srv.orgId);
        assert.equal(r.code, 0, r.stderr);
        const cred = JSON.parse(r.stdout);
        const b64u = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
        const token = () => {
            const now = Math.floor(Date.now() / 1000);
            const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid: cred.key_id })}.${b64u({ iss: cred.account_id, iat: now, exp: now + 64 })}`;
            return `${input}.${crypto.sign('sha256', Buffer.from(input), cred.private_key).toString('base64url')}`;
        };
        const call = () => fetch(`${srv.url}/platform_api/GetUsers`, {
            method: 'POST', headers: { authorization: `Bearer ${token()}` },
        });
        const bodies = [];
        for (let i = 0; i < 3; i++) {
            const res = await call();
            assert.equal(res.status, 200);
            bodies.push({ res, body: await res.json() });
        }
        assert.ok(Array.isArray(bodies[0].body.result), JSON.stringify(bodies[0].body));
        assert.ok(Array.isArray(bodies[1].body.result), JSON.stringify(bodies[1].body));
        const refused = bodies[2];
        assert.equal(refused.body.error?.code, 340, JSON.stringify(refused.body));
        assert.match(refused.body.error.msg, /too many requests with this key/);
        retryAfter(refused.res, 1);
        // the API key of the same organisation has its own bucket
        assert.equal((await srv.api(KEY).get('/api/systemusers')).status, 200);
        await sleep(1100);
    });

    test('health probes carry no key and are never limited', async () => {
        for (let i = 0; i < 10; i++) assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    });
});

test('configured by environment: ROSTER_RATE_LIMIT=1/m gives a Retry-After near a minute', async () => {
    const srv = await serve({ useEnv: true, rateLimit: '1/m' });
    const api = srv.api(KEY);
    assert.equal((await api.get('/api/systemusers')).status, 200);
    const r = await api.get('/api/systemusers');
    assertError(r, 429, /at most 0\.0166667 a second \(bursts of 1\)/);
    assert.ok(retryAfter(r, 60) >= 59, `Retry-After ${r.headers.get('retry-after')}`);
    // another organisation's key is not held back
    const org = await cliOrg(srv.store, 'rl-env-other');
    assert.equal((await srv.api(await cliKey(srv.store, org)).get('/api/systemusers')).status, 200);
});

test('--rate-limit 0 turns the limit off', async () => {
    const srv = await serve({ rateLimit: 0 });
    const api = srv.api(KEY);
    for (let i = 0; i < 50; i++) assert.equal((await api.get('/api/systemusers?limit=1')).status, 200);
});

test('the default limit is not met by a burst of requests', async () => {
    const srv = await serve({});
    const api = srv.api(KEY);
    const rs = await Promise.all(Array.from({ length: 200 }, () => api.get('/api/systemusers?limit=1')));
    assert.deepEqual([...new Set(rs.map((r) => r.status))], [200]);
});

test('a bad --rate-limit, --rate-burst, --max-open-jobs or --max-pending-items is refused at start (exit 2)', () => {
    const dir = tempDir('ratelimit-flags');
    try {
        for (const [flag, value, re] of [['--rate-limit', 'fast', /--rate-limit "fast" is not a rate/],
            ['--rate-limit', '5/d', /--rate-limit "5\/d" is not a rate/],
            ['--rate-limit', '-1', /--rate-limit "-1" is not a rate/],
            ['--rate-burst', '0', /--rate-burst "0" must be an integer >= 1/],
            ['--max-open-jobs', '0', /--max-open-jobs "0" must be an integer >= 1/],
            ['--max-pending-items', 'many', /--max-pending-items "many" must be an integer >= 1/]]) {
            const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', path.join(dir, 'r.db'), flag, value],
                { encoding: 'utf8', timeout: 20000 });
            assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
            assert.match(r.stderr, re);
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

describe('refusals are counted in GET /metrics', () => {
    test('roster_rate_limited_requests_total counts each 429 of the limit', async () => {
        const s = await serve({ rateLimit: '1/m', rateBurst: 1 });
        const count = async () => {
            const text = await (await fetch(`${s.url}/metrics`)).text();
            const m = text.match(/^roster_rate_limited_requests_total (\d+)$/m);
            assert.ok(m, 'the counter is exposed');
            return Number(m[1]);
        };
        assert.equal(await count(), 0);
        const api = s.api(KEY);
        assert.equal((await api.get('/api/systemusers')).status, 200);
        for (let i = 0; i < 3; i++) assertError(await api.get('/api/systemusers'), 429);
        assert.equal(await count(), 3);
    });
});
