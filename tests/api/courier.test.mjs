// Courier bulk message jobs through Courier's official Node client (@trycourier/courier,
// pinned in package-lock.json) against a real roster server: create a job, add users
// (invalid ones too), run it, poll it to COMPLETED, page through every user with the cursor
// and check each status and messageId against GET /messages/{id}; 404 (NotFoundError) for
// unknown and other organisations' jobs and messages; the error bodies; and kill -9 during
// the ingest and during a 20,000-user run: every acknowledged user is kept and every user
// ends with exactly one outcome.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Courier, { NotFoundError, BadRequestError, AuthenticationError } from '@trycourier/courier';
import { startServer, cleanup, cliOrg, cliKey, storeQuery, pollUntil, uniq, HEX24 } from './harness.mjs';

const KEY = 'courier-test-bootstrap-key-0123456789';
const MSG_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const PAGE = 100; // docs/courier.md
let srv;
let client;
let other; // a client of another organisation
const dir = {}; // directory users by name: {id, username, email}
const servers = [];

function courier(s, key = KEY, opts = {}) {
    return new Courier({ apiKey: key, baseURL: s.url, ...opts });
}

before(async () => {
    srv = await startServer({ bootstrapKey: KEY });
    servers.push(srv);
    client = courier(srv);
    const org = await cliOrg(srv.store, 'Other Org');
    other = courier(srv, await cliKey(srv.store, org));
    const p = uniq('cu');
    const people = [
        { username: `${p}alice`, email: `${p}alice@example.com`, firstname: 'Alice', lastname: 'Liddell',
            phoneNumbers: [{ type: 'mobile', number: '+1 555 0101' }] },
        { username: `${p}Bob`, email: `${p}bob@example.com`, firstname: 'Bob', lastname: 'Builder' },
        { username: `${p}carol`, email: `${p}carol@example.com`, firstname: 'Carol', lastname: 'Danvers' },
    ];
    const ids = await srv.api(KEY).createUsers(people);
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) {
        dir[name] = { id: ids[i], username: people[i].username, email: people[i].email };
    }
});

after(async () => {
    for (const s of servers) await cleanup(s);
});

/** Throws unless fn() rejects with an instance of cls and a Courier error body. */
async function rejects(fn, cls, status, msgRe) {
    let err;
    try {
        await fn();
    } catch (e) {
        err = e;
    }
    assert.ok(err, `expected ${cls.name}, nothing was thrown`);
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, status);
    assert.equal(err.error?.type, 'invalid_request_error', `error body: ${JSON.stringify(err.error)}`);
    assert.equal(typeof err.error?.message, 'string');
    if (msgRe) assert.match(err.error.message, msgRe);
    return err;
}

async function waitCompleted(c, jobId, timeoutMs = 120000) {
    return pollUntil(`job ${jobId} COMPLETED`, async () => {
        const { job } = await c.bulk.retrieveJob(jobId);
        return job.status === 'COMPLETED' ? job : null;
    }, { timeoutMs, intervalMs: 50 });
}

/** Every user of a job through the cursor; checks the page sizes and the last page. */
async function allUsers(c, jobId) {
    const out = [];
    let cursor = null; // the client sends ?cursor= for null: the first page
    for (let pages = 0; ; pages++) {
        const page = await c.bulk.listUsers(jobId, { cursor });
        assert.ok(Array.isArray(page.items) && typeof page.paging.more === 'boolean', JSON.stringify(page).slice(0, 300));
        out.push(...page.items);
        if (!page.paging.more) {
            assert.equal(page.paging.cursor, null, 'no cursor on the last page');
            assert.ok(page.items.length <= PAGE);
            break;
        }
        assert.equal(page.items.length, PAGE, `page ${pages} is full`);
        assert.equal(typeof page.paging.cursor, 'string');
        cursor = page.paging.cursor;
        assert.ok(pages < 10000, 'paging ends');
    }
    return out;
}

test('the bulk flow end to end with the official client', { timeout: 300000 }, async () => {
    const message = {
        event: 'welcome', brand: 'acme', data: { greeting: 'hi', n: 1 },
        locale: { fr: { greeting: 'salut' } }, override: { channel: { email: { from: 'x@acme.io' } } },
    };
    const { jobId } = await client.bulk.createJob({ message });
    assert.match(jobId, HEX24);
    let { job } = await client.bulk.retrieveJob(jobId);
    assert.deepEqual(job, { definition: message, enqueued: 0, failures: 0, received: 0, status: 'CREATED' });

    const users = [
        /* 0 */ { to: { user_id: dir.alice.id }, data: { n: 2 } },
        /* 1 */ { recipient: dir.bob.username.toUpperCase(), preferences: { notifications: {} } },
        /* 2 */ { recipient: 'ext-1', profile: { email: 'ext1@example.com', given_name: 'Ext' } },
        /* 3 */ { to: { email: 'direct@example.com' } },
        /* 4 */ {},
        /* 5 */ { recipient: 'ghost' },
        /* 6 */ { to: { user_id: dir.carol.username }, profile: { email: 'override@example.com' } },
        /* 7 */ { to: { phone_number: '+1 555 0199' }, data: { greeting: 'yo' } },
    ];
    const invalid = ['not a user', { profile: 'x' }, { to: { user_id: 5 } }, { data: [1] }, { recipient: 7 }];
    const r1 = await client.bulk.addUsers(jobId, { users: [...users.slice(0, 4), ...invalid, ...users.slice(4)] });
    assert.equal(r1.total, users.length, JSON.stringify(r1));
    assert.deepEqual(r1.errors.map((e) => e.user), invalid, 'errors echo the invalid users');
    assert.deepEqual(r1.errors.map((e) => e.error.match(/^users\[(\d+)\]/)?.[1]), ['4', '5', '6', '7', '8']);
    assert.match(r1.errors[1].error, /profile must be an object/);
    assert.match(r1.errors[2].error, /to\.user_id must be a string/);
    const more = [];
    for (let i = 0; i < 240; i++) more.push({ recipient: `bulk-${i}`, profile: { email: `bulk${i}@example.com` }, data: { i } });
    const r2 = await client.bulk.addUsers(jobId, { users: more });
    assert.deepEqual(r2, { total: 240, errors: [] });
    const all = [...users, ...more];

    // before the run: everything PENDING, echoed as given
    ({ job } = await client.bulk.retrieveJob(jobId));
    assert.equal(job.received, all.length);
    assert.equal(job.status, 'CREATED');
    const pending = await allUsers(client, jobId);
    assert.equal(pending.length, all.length);
    pending.forEach((it, i) => assert.deepEqual(it, { ...all[i], status: 'PENDING' }, `user ${i} before the run`));

    const ran = await client.bulk.runJob(jobId);
    assert.ok(ran === '' || ran == null, `runJob resolves empty, got ${JSON.stringify(ran)}`);
    job = await waitCompleted(client, jobId);
    assert.deepEqual(job, { definition: message, enqueued: all.length - 2, failures: 2, received: all.length, status: 'COMPLETED' });
    await client.bulk.runJob(jobId); // running again is harmless
    assert.equal((await client.bulk.retrieveJob(jobId)).job.enqueued, all.length - 2);

    const items = await allUsers(client, jobId);
    assert.equal(items.length, all.length);
    const ids = new Set();
    for (const [i, it] of items.entries()) {
        const { status, messageId, messageStatus, error, ...echo } = it;
        assert.deepEqual(echo, all[i], `user ${i} is echoed as ingested`);
        if (i === 4 || i === 5) {
            assert.equal(status, 'ERROR', `user ${i}`);
            assert.equal(messageId, undefined);
            assert.equal(messageStatus, undefined);
            assert.match(error, i === 4 ? /no recipient/ : /"ghost" is not a user of the directory/);
            continue;
        }
        assert.equal(status, 'ENQUEUED', `user ${i}: ${JSON.stringify(it)}`);
        assert.equal(messageStatus, 'ENQUEUED', 'no --smtp-url: the message waits in the outbox');
        assert.match(messageId, MSG_ID);
        assert.ok(!ids.has(messageId), 'message ids are unique');
        ids.add(messageId);
        const m = await client.messages.retrieve(messageId);
        assert.equal(m.id, messageId);
        assert.equal(m.status, 'ENQUEUED');
        assert.equal(m.event, 'welcome');
        assert.equal(m.jobId, jobId);
        assert.ok(Number.isInteger(m.enqueued) && Math.abs(m.enqueued - Date.now()) < 600000, `enqueued ${m.enqueued}`);
        assert.deepEqual(m.data, { greeting: 'hi', n: 1, ...(all[i].data || {}) }, `merged data of ${i}`);
        if (i >= 8) {
            assert.equal(m.recipient, `bulk-${i - 8}`);
            assert.deepEqual(m.to, { user_id: `bulk-${i - 8}`, email: `bulk${i - 8}@example.com` });
        }
    }
    const msg = async (i) => client.messages.retrieve(items[i].messageId);
    let m = await msg(0); // by directory id: the directory's profile, then `to`
    assert.equal(m.recipient, dir.alice.id);
    assert.equal(m.userId, dir.alice.id);
    assert.deepEqual(m.to, { user_id: dir.alice.id, username: dir.alice.username, email: dir.alice.email,
        phone_number: '+1 555 0101', given_name: 'Alice', family_name: 'Liddell' });
    m = await msg(1); // by username, any case
    assert.equal(m.recipient, dir.bob.id);
    assert.equal(m.to.email, dir.bob.email);
    m = await msg(2); // not in the directory: its own profile
    assert.equal(m.recipient, 'ext-1');
    assert.equal(m.userId, undefined);
    assert.deepEqual(m.to, { user_id: 'ext-1', email: 'ext1@example.com', given_name: 'Ext' });
    m = await msg(3);
    assert.equal(m.recipient, 'direct@example.com');
    m = await msg(6); // profile overrides the directory
    assert.equal(m.recipient, dir.carol.id);
    assert.equal(m.to.email, 'override@example.com');
    assert.equal(m.to.user_id, dir.carol.username, 'to.user_id as given');
    m = await msg(7);
    assert.equal(m.recipient, '+1 555 0199');
    assert.deepEqual(m.data, { greeting: 'yo', n: 1 });

    // users cannot be added once it ran; a page past a full listing is empty
    await rejects(() => client.bulk.addUsers(jobId, { users: [{ recipient: 'late' }] }), BadRequestError, 400,
        /already been run/);
    await rejects(() => client.bulk.addUsers(jobId, { users: [] }), BadRequestError, 400, /already been run/);
    assert.equal((await client.bulk.retrieveJob(jobId)).job.received, all.length);
});

test('a request adds at most 10,000 users: more is a 400 naming the cap (issue 14)', async () => {
    const { jobId } = await client.bulk.createJob({ message: { event: 'cap' } });
    const users = Array.from({ length: 10001 }, (_, i) => ({ recipient: `cap-${i}` }));
    await rejects(() => client.bulk.addUsers(jobId, { users }), BadRequestError, 400, /at most 10000 users/);
    assert.equal((await client.bulk.retrieveJob(jobId)).job.received, 0, 'nothing of a refused request is stored');
    await client.bulk.addUsers(jobId, { users: users.slice(0, 10000) });
    assert.equal((await client.bulk.retrieveJob(jobId)).job.received, 10000);
});

test('cursors: empty is the first page, stable while users are added, tampered or foreign is 400', async () => {
    const { jobId } = await client.bulk.createJob({ message: { event: 'e1' } });
    const users = Array.from({ length: 250 }, (_, i) => ({ to: { email: `c${i}@example.com` } }));
    await client.bulk.addUsers(jobId, { users: users.slice(0, 150) });
    const p1 = await client.bulk.listUsers(jobId, { cursor: '' });
    assert.equal(p1.items.length, PAGE);
    assert.deepEqual((await client.bulk.listUsers(jobId)).items, p1.items, 'no cursor = empty cursor');
    assert.equal(p1.paging.more, true);
    const c1 = p1.paging.cursor;
    await client.bulk.addUsers(jobId, { users: users.slice(150) }); // the job changes
    const p2 = await client.bulk.listUsers(jobId, { cursor: c1 });
    assert.equal(p2.items.length, PAGE);
    assert.deepEqual(p2.items.map((x) => x.to.email), users.slice(100, 200).map((u) => u.to.email));
    const p3 = await client.bulk.listUsers(jobId, { cursor: p2.paging.cursor });
    assert.equal(p3.items.length, 50);
    assert.equal(p3.paging.more, false);
    assert.equal(p3.paging.cursor, null);
    assert.deepEqual((await client.bulk.listUsers(jobId, { cursor: c1 })).items, p2.items, 'a cursor can be reused');

    // tampered: every character changed in turn is refused
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < c1.length; i++) {
        const ch = alphabet[(alphabet.indexOf(c1[i]) + 1) % 64];
        const bad = c1.slice(0, i) + ch + c1.slice(i + 1);
        await rejects(() => client.bulk.listUsers(jobId, { cursor: bad }), BadRequestError, 400, /not a cursor/);
    }
    for (const bad of ['x', c1.slice(1), `${c1}A`, 'null', '%%%', c1.toUpperCase()]) {
        await rejects(() => client.bulk.listUsers(jobId, { cursor: bad }), BadRequestError, 400);
    }
    // foreign: a cursor of another job of the same organisation
    const { jobId: job2 } = await client.bulk.createJob({ message: { event: 'e2' } });
    await client.bulk.addUsers(job2, { users: users.slice(0, 101) });
    const foreign = (await client.bulk.listUsers(job2)).paging.cursor;
    await rejects(() => client.bulk.listUsers(jobId, { cursor: foreign }), BadRequestError, 400, /another job/);
    // another organisation's job is 404 whatever the cursor
    await rejects(() => other.bulk.listUsers(jobId, { cursor: c1 }), NotFoundError, 404);
    await rejects(() => other.bulk.listUsers(jobId, { cursor: 'garbage' }), NotFoundError, 404);
});

test('404 for unknown jobs, other organisations\' jobs and messages, and JumpCloud jobs', async () => {
    const { jobId } = await client.bulk.createJob({ message: { template: 'tmpl' } });
    await client.bulk.addUsers(jobId, { users: [{ to: { email: 'a@example.com' } }] });
    await client.bulk.runJob(jobId);
    await waitCompleted(client, jobId);
    const [item] = (await client.bulk.listUsers(jobId)).items;
    assert.equal(item.status, 'ENQUEUED');
    const missing = '0123456789abcdef01234567';
    const jc = await srv.api(KEY).bulkCreate([{ username: uniq('jcj'), email: `${uniq('jcj')}@example.com` }]);
    for (const [c, id, what] of [[client, missing, 'unknown'], [client, 'not-a-job', 'malformed'],
        [other, jobId, 'another organisation\'s'], [client, jc, 'a JumpCloud job\'s']]) {
        const re = new RegExp(`job "${id}" not found`);
        await rejects(() => c.bulk.retrieveJob(id), NotFoundError, 404, re);
        await rejects(() => c.bulk.listUsers(id), NotFoundError, 404, re);
        await rejects(() => c.bulk.addUsers(id, { users: [{ recipient: 'x' }] }), NotFoundError, 404, re);
        await rejects(() => c.bulk.runJob(id), NotFoundError, 404, re);
        assert.ok(what);
    }
    // the other organisation's job is untouched
    assert.equal((await client.bulk.retrieveJob(jobId)).job.received, 1);
    await rejects(() => other.messages.retrieve(item.messageId), NotFoundError, 404, /not found/);
    await rejects(() => client.messages.retrieve('1-00000000-000000000000000000000000'), NotFoundError, 404);
    // a Courier job is not a JumpCloud job either
    const r = await srv.api(KEY).get(`/api/v2/bulk/users/${jobId}/results`);
    assert.equal(r.status, 404);
});

test('bad requests answer 400 with Courier\'s error body, bad keys 401', async () => {
    await rejects(() => client.bulk.createJob({}), BadRequestError, 400, /"message"/);
    await rejects(() => client.bulk.createJob({ message: 'welcome' }), BadRequestError, 400, /message must be an object/);
    await rejects(() => client.bulk.createJob({ message: { data: { a: 1 } } }), BadRequestError, 400, /"event", a "template" or "content"/);
    await rejects(() => client.bulk.createJob({ message: { event: 5 } }), BadRequestError, 400, /message\.event must be a string/);
    await rejects(() => client.bulk.createJob({ message: { event: 'e', data: [1] } }), BadRequestError, 400, /message\.data must be an object/);
    const { jobId } = await client.bulk.createJob({ message: { content: { title: 'Hi', body: 'Hello' } } });
    await rejects(() => client.bulk.addUsers(jobId, {}), BadRequestError, 400, /"users" array/);
    await rejects(() => client.bulk.addUsers(jobId, { users: {} }), BadRequestError, 400, /"users" array/);
    assert.deepEqual(await client.bulk.addUsers(jobId, { users: [] }), { total: 0, errors: [] });

    const raw = (path, init = {}) => fetch(srv.url + path, init).then(async (res) => ({
        status: res.status, headers: res.headers, json: await res.json().catch(() => undefined),
    }));
    const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    let res = await raw('/bulk', { method: 'POST', headers: auth, body: '{"message": {"event": "x"' });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /invalid JSON at line 1/);
    assert.equal(res.json.type, 'invalid_request_error');
    res = await raw('/bulk', { method: 'POST', headers: auth, body: '[]' });
    assert.equal(res.status, 400);
    res = await raw('/bulk', { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(res.status, 415);
    assert.equal(res.json.type, 'invalid_request_error');
    res = await raw('/bulk/nope/nothing-here');
    assert.equal(res.status, 404);
    assert.deepEqual(Object.keys(res.json).sort(), ['message', 'type']);
    res = await raw(`/bulk/${jobId}`, { method: 'DELETE', headers: auth });
    assert.equal(res.status, 405);
    assert.equal(res.json.type, 'invalid_request_error');

    res = await raw(`/bulk/${jobId}`);
    assert.equal(res.status, 401);
    assert.deepEqual(Object.keys(res.json).sort(), ['message', 'type']);
    assert.equal(res.headers.get('x-should-retry'), null);
    await rejects(() => courier(srv, 'wrong-key').bulk.retrieveJob(jobId), AuthenticationError, 401, /invalid api key/);
    // a JumpCloud x-api-key is no Courier credential
    res = await raw(`/bulk/${jobId}`, { headers: { 'x-api-key': KEY } });
    assert.equal(res.status, 401);
});

test('one add of 2,345 users is stored in order across chunks and runs completely', async () => {
    const { jobId } = await client.bulk.createJob({ message: { event: 'big' } });
    const users = Array.from({ length: 2345 }, (_, i) => ({ recipient: `big-${i}`, to: { email: `big${i}@example.com` } }));
    assert.deepEqual(await client.bulk.addUsers(jobId, { users }), { total: 2345, errors: [] });
    await client.bulk.runJob(jobId);
    const job = await waitCompleted(client, jobId);
    assert.equal(job.enqueued, 2345);
    const items = await allUsers(client, jobId);
    assert.deepEqual(items.map((x) => x.recipient), users.map((u) => u.recipient));
    assert.ok(items.every((x) => x.status === 'ENQUEUED'));
    assert.equal(new Set(items.map((x) => x.messageId)).size, 2345);
    for (const i of [0, 999, 1000, 2344]) {
        const m = await client.messages.retrieve(items[i].messageId);
        assert.equal(m.recipient, `big-${i}`);
        assert.equal(m.to.email, `big${i}@example.com`);
    }
});

test('legacy definitions with a nested message are stored as given and run', async () => {
    const message = {
        brand: 'b1', data: { b: 2 },
        message: { template: 'tmpl-legacy', data: { a: 1, b: 1 }, routing: { method: 'single', channels: ['email'] } },
    };
    const { jobId } = await client.bulk.createJob({ message });
    await client.bulk.addUsers(jobId, { users: [{ to: { email: 'legacy@example.com' }, data: { c: 3 } }] });
    await client.bulk.runJob(jobId);
    const job = await waitCompleted(client, jobId);
    assert.deepEqual(job.definition, message);
    const [item] = (await client.bulk.listUsers(jobId)).items;
    const m = await client.messages.retrieve(item.messageId);
    assert.equal(m.notification, 'tmpl-legacy');
    assert.equal(m.template, 'tmpl-legacy');
    assert.equal(m.brand, 'b1');
    assert.deepEqual(m.data, { a: 1, b: 2, c: 3 });
    // a job run without users completes at once
    const { jobId: empty } = await client.bulk.createJob({ message: { event: 'nobody' } });
    await client.bulk.runJob(empty);
    assert.deepEqual((await client.bulk.retrieveJob(empty)).job,
        { definition: { event: 'nobody' }, enqueued: 0, failures: 0, received: 0, status: 'COMPLETED' });
});

test('kill -9 during the ingest and during a 20,000-user run: nothing acknowledged lost, one outcome per user', { timeout: 900000 }, async (t) => {
    const s1 = await startServer({ bootstrapKey: KEY, workers: 1 });
    servers.push(s1);
    const c1 = courier(s1, KEY, { maxRetries: 0 });
    const { jobId } = await c1.bulk.createJob({ message: { event: 'crash', data: { k: 'v' } } });
    const batch = (b) => Array.from({ length: 1000 }, (_, i) => {
        const n = b * 1000 + i;
        // every 1,000th user has no address: ERROR
        return n % 1000 === 999 ? { recipient: `nobody-${n}` } : { recipient: `r${n}`, profile: { email: `r${n}@example.com` }, data: { n } };
    });
    for (let b = 0; b < 10; b++) assert.equal((await c1.bulk.addUsers(jobId, { users: batch(b) })).total, 1000);
    await s1.kill9(); // right after the 10th add was acknowledged

    const s2 = await startServer({ bootstrapKey: KEY, dir: s1.dir, workers: 1 });
    servers.push(s2);
    const c2 = courier(s2, KEY, { maxRetries: 0 });
    assert.equal((await c2.bulk.retrieveJob(jobId)).job.received, 10000, 'every acknowledged add survived');
    for (let b = 10; b < 20; b++) assert.equal((await c2.bulk.addUsers(jobId, { users: batch(b) })).total, 1000);
    await c2.bulk.runJob(jobId);
    let midway = false;
    await pollUntil('the run to start', async () => {
        const { job } = await c2.bulk.retrieveJob(jobId);
        midway = job.enqueued + job.failures < 20000;
        return job.enqueued > 0;
    }, { timeoutMs: 120000, intervalMs: 5 });
    await s2.kill9();
    t.diagnostic(midway ? 'killed part-way through the run' : 'the run had finished before the kill; still checking');

    const s3 = await startServer({ bootstrapKey: KEY, dir: s1.dir, workers: 2 });
    servers.push(s3);
    const c3 = courier(s3, KEY, { maxRetries: 0 });
    const job = await waitCompleted(c3, jobId, 600000);
    assert.deepEqual({ ...job, definition: undefined },
        { definition: undefined, received: 20000, enqueued: 19980, failures: 20, status: 'COMPLETED' });
    const items = await allUsers(c3, jobId);
    assert.equal(items.length, 20000, 'one item per user');
    const ids = new Set();
    items.forEach((it, n) => {
        if (n % 1000 === 999) {
            assert.equal(it.status, 'ERROR', `user ${n}`);
            assert.equal(it.recipient, `nobody-${n}`);
            return;
        }
        assert.equal(it.status, 'ENQUEUED', `user ${n}: ${JSON.stringify(it)}`);
        assert.equal(it.recipient, `r${n}`, `item ${n} is user ${n}`);
        ids.add(it.messageId);
    });
    assert.equal(ids.size, 19980, 'every ENQUEUED user has its own message');
    // the outbox holds exactly those messages: none from a chunk rolled back by the kill
    const [count] = await storeQuery(s3.store, `SELECT count(*) FROM messages WHERE source_id = '${jobId}'`);
    assert.equal(Number(count), 19980);
    for (const n of [0, 4321, 19998]) {
        const m = await c3.messages.retrieve(items[n].messageId);
        assert.equal(m.recipient, `r${n}`);
        assert.deepEqual(m.data, { k: 'v', n });
    }
});
