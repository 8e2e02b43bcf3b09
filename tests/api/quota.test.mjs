// Per-organisation quotas of bulk work (issue 14): --max-open-jobs (bulk jobs created and
// not finished: JumpCloud user jobs, Courier jobs taking users or running) and
// --max-pending-items (their users without a result). Over a cap: JumpCloud's bulk
// endpoints and Courier's create/add answer 429 in their error shapes naming the cap and its
// flag, store nothing, and Courier says x-should-retry: false (its client does not retry);
// another organisation is not held back; once jobs finish, the work is taken again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Courier, { RateLimitError } from '@trycourier/courier';
import { startServer, cleanup, cliOrg, cliKey, assertError, pollUntil, uniq } from './harness.mjs';

const KEY = 'quota-test-bootstrap-key-0123456789abcdef';
let srv;
let api;

before(async () => {
    srv = await startServer({ bootstrapKey: KEY, env: { ROSTER_MAX_OPEN_JOBS: '2', ROSTER_MAX_PENDING_ITEMS: '5' } });
    api = srv.api(KEY);
});

after(async () => {
    await cleanup(srv);
});

function courier(key = KEY, opts = {}) {
    return new Courier({ apiKey: key, baseURL: srv.url, ...opts });
}

function bearer(p, body, key = KEY) {
    return fetch(srv.url + p, {
        method: 'POST', body: JSON.stringify(body),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
}

const message = { event: 'quota', data: { n: 1 } };
const people = (n, tag) => Array.from({ length: n }, (_, i) => ({ profile: { email: `${tag}${i}@example.com` } }));
const jcUsers = (n, tag) => Array.from({ length: n }, (_, i) => ({ username: `${tag}${i}`, email: `${tag}${i}@example.com` }));

test('caps on open jobs and pending items, in each dialect, and the work taken again after', { timeout: 120000 }, async () => {
    const client = courier();
    const tag = uniq('q');
    // one Courier job holding 4 users (open while it takes users)
    const { jobId: first } = await client.bulk.createJob({ message });
    await client.bulk.addUsers(first, { users: people(4, `${tag}a`) });

    // pending items: 4 + 2 > 5
    const jc = await api.post('/api/v2/bulk/users', jcUsers(2, `${tag}j`));
    assertError(jc, 429, /4 items still to do, and 2 more would pass the most it may have \(--max-pending-items 5\)/);
    assert.equal(jc.headers.get('retry-after'), null, 'a quota says no time to come back');
    const add = await bearer(`/bulk/${first}`, { users: people(2, `${tag}b`) });
    assert.equal(add.status, 429);
    assert.equal(add.headers.get('x-should-retry'), 'false');
    const addBody = await add.json();
    assert.equal(addBody.type, 'invalid_request_error');
    assert.match(addBody.message, /--max-pending-items 5/);
    // nothing of the refused add was stored; one more user still fits
    let { job } = await client.bulk.retrieveJob(first);
    assert.equal(job.received, 4);
    await client.bulk.addUsers(first, { users: people(1, `${tag}c`) });
    ({ job } = await client.bulk.retrieveJob(first));
    assert.equal(job.received, 5);

    // open jobs: a second Courier job is the second open job, a third is refused; so is a
    // JumpCloud job (PATCH too), whatever its size
    const { jobId: second } = await client.bulk.createJob({ message });
    const seen = [];
    const once = courier(KEY, { fetch: async (url, init) => { const r = await fetch(url, init); seen.push(r.status); return r; } });
    let err;
    try {
        await once.bulk.createJob({ message });
    } catch (e) {
        err = e;
    }
    assert.ok(err instanceof RateLimitError, `RateLimitError expected, got ${err?.constructor?.name}: ${err?.message}`);
    assert.match(err.message, /the organization has 2 open bulk jobs, the most it may have \(--max-open-jobs 2\)/);
    assert.deepEqual(seen, [429], 'the client did not retry the quota (x-should-retry: false)');
    assertError(await api.post('/api/v2/bulk/users', jcUsers(1, `${tag}k`)), 429, /--max-open-jobs 2/);
    assertError(await api.patch('/api/v2/bulk/users', [{ id: '0123456789abcdef01234567', firstname: 'x' }]), 429, /--max-open-jobs 2/);

    // another organisation is not held back
    const org = await cliOrg(srv.store, uniq('q-other'));
    const otherKey = await cliKey(srv.store, org);
    const r = await srv.api(otherKey).post('/api/v2/bulk/users', jcUsers(3, `${tag}o`));
    assert.equal(r.status, 201, r.text);

    // the first job runs and finishes: one job and its 5 users leave the counts
    await client.bulk.runJob(first);
    await pollUntil('the first Courier job completes', async () => (await client.bulk.retrieveJob(first)).job.status === 'COMPLETED');
    const ok = await api.post('/api/v2/bulk/users', jcUsers(2, `${tag}m`));
    assert.equal(ok.status, 201, ok.text);
    await client.bulk.runJob(second); // empty: finished at once
});
