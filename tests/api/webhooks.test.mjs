// Webhooks (docs/webhooks.md) against a real receiver (tests/api/webhook_receiver.mjs) that
// verifies every request with npm `standardwebhooks`, and a real SMTP sink for the e-mails:
// a Courier job of 2,000 users made with Courier's official client gives job.completed
// exactly once with the right counts, and one message.sent (or message.failed, for the
// recipients the sink refuses) per e-mail; a JumpCloud bulk job gives job.completed;
// scheduled changes give schedule.applied / schedule.failed; a 500 is retried with the same
// webhook-id and body; a 429's Retry-After is honoured; a 410 disables the endpoint; the
// --events filter; tenant isolation; the CLI and the admin route; a Courier message routed
// to the webhook channel arrives rendered as message.created.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Courier from '@trycourier/courier';
import {
    startServer, cleanup, pollUntil, uniq, sleep, cliOrg, cliKey, makeUsers, cli, storeQuery, HEX24, RFC3339,
} from './harness.mjs';
import { startSink } from './smtp_sink.mjs';
import { startReceiver } from './webhook_receiver.mjs';

const KEY = 'webhooks-test-bootstrap-key-0123456789';
const FROM = 'noreply@roster-test.example';
let srv;
let sink;
let rcv;

before(async () => {
    sink = await startSink();
    rcv = await startReceiver();
    srv = await startServer({
        bootstrapKey: KEY,
        args: ['--smtp-url', sink.url, '--smtp-from', FROM, '--delivery-backoff-ms', '200'],
    });
});

after(async () => {
    await cleanup(srv);
    sink?.stop();
    await rcv?.stop();
});

/** An admin API request with a bearer key (the all-organisations bootstrap key by default). */
async function admin(method, path, body, key = KEY) {
    const res = await fetch(srv.url + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, text, json };
}

/** Registers receiver path p for org (events: array or undefined for all); returns the endpoint. */
async function hook(org, p, events, extra = {}) {
    const r = await admin('POST', `/admin/orgs/${org}/webhooks`, { url: rcv.url(p), ...(events ? { events } : {}), ...extra });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.id, HEX24);
    assert.match(r.json.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    rcv.secret(p, r.json.secret);
    return r.json;
}

/** A new organisation and its own API key. */
async function newOrg(tag) {
    const org = await cliOrg(srv.store, uniq(tag));
    return { org, key: await cliKey(srv.store, org) };
}

/** Waits until receiver path p has n verified requests answered 2xx; returns them. */
async function delivered(p, n, timeoutMs = 60000) {
    return pollUntil(`${n} webhooks at ${p}`, () => {
        const got = rcv.got(p).filter((r) => r.status >= 200 && r.status < 300);
        return got.length >= n ? got : null;
    }, { timeoutMs, intervalMs: 100 });
}

function checkSigned(r) {
    assert.equal(r.verified, true, `signature of ${r.id}: ${r.error}`);
    assert.equal(r.method, 'POST');
    assert.equal(r.contentType, 'application/json');
    assert.match(r.id, /^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    assert.match(r.timestamp, /^\d+$/);
    assert.ok(Math.abs(Number(r.timestamp) - r.at / 1000) < 60, 'timestamp of the attempt');
    const j = JSON.parse(r.body);
    assert.deepEqual(Object.keys(j), ['type', 'timestamp', 'data']);
    assert.match(j.timestamp, RFC3339);
    return j;
}

test('a Courier job of 2,000 users: job.completed once with the counts, one message.sent/failed per e-mail, nothing to another organisation', async () => {
    const { org, key } = await newOrg('wc');
    const other = await newOrg('wx');
    await hook(org, '/t1/jobs', ['job.completed']);
    await hook(org, '/t1/msgs', ['message.sent', 'message.failed']);
    await hook(other.org, '/t1/other'); // every type, of another organisation
    const client = new Courier({ apiKey: key, baseURL: srv.url, maxRetries: 0 });
    const p = uniq('wc');
    const N = 2000;
    const users = [];
    for (let i = 0; i < N; i++) {
        const local = i % 400 === 7 ? `reject${p}u${i}` : `${p}u${i}`;
        users.push({ profile: { email: `${local}@example.com` }, data: { n: i } });
    }
    const { jobId } = await client.bulk.createJob({ message: { content: { title: 'Hi {{n}}', body: 'Body {{n}}' } } });
    await client.bulk.addUsers(jobId, { users: users.slice(0, 1000) });
    await client.bulk.addUsers(jobId, { users: users.slice(1000) });
    await client.bulk.runJob(jobId);

    const [done] = await delivered('/t1/jobs', 1);
    const msgs = await delivered('/t1/msgs', N, 180000);
    await sleep(1500); // nothing more comes
    assert.equal(rcv.got('/t1/jobs').length, 1, 'job.completed exactly once');
    const j = checkSigned(done);
    assert.equal(j.type, 'job.completed');
    assert.deepEqual(j.data, {
        job_id: jobId, kind: 'message', status: 'completed', total: N, processed: N,
        succeeded: N, failed: 0, created: j.data.created,
    });
    const { job } = await client.bulk.retrieveJob(jobId);
    assert.equal(job.status, 'COMPLETED');

    assert.equal(rcv.got('/t1/msgs').length, N, 'one event per e-mail, no more');
    const byMsg = new Map();
    for (const r of msgs) {
        const e = checkSigned(r);
        assert.ok(['message.sent', 'message.failed'].includes(e.type), e.type);
        byMsg.set(e.data.message_id, e);
    }
    assert.equal(byMsg.size, N, 'one event per message');
    assert.equal(new Set(msgs.map((r) => r.id)).size, N, 'unique webhook-ids');
    const failed = [...byMsg.values()].filter((e) => e.type === 'message.failed');
    assert.equal(failed.length, 5);
    for (const e of failed) {
        assert.match(e.data.recipient + JSON.stringify(e.data), /reject/);
        assert.match(e.data.reason, /550/);
        assert.equal(e.data.status, 'UNDELIVERABLE');
    }
    const sent = [...byMsg.values()].find((e) => e.type === 'message.sent');
    assert.equal(sent.data.status, 'SENT');
    assert.equal(sent.data.channel, 'email');
    assert.equal(sent.data.source_id, jobId);
    assert.match(sent.data.sent, RFC3339);
    const m = await client.messages.retrieve(sent.data.message_id);
    assert.equal(m.status, 'SENT');
    // the --events filter: each endpoint got only its types; the other organisation nothing
    assert.ok(rcv.got('/t1/jobs').every((r) => JSON.parse(r.body).type === 'job.completed'));
    assert.equal(rcv.got('/t1/other').length, 0, 'another organisation never gets these events');
});

test('a JumpCloud bulk job: job.completed with its counts', async () => {
    const { org } = await newOrg('wj');
    await hook(org, '/t2');
    const api = srv.api(KEY, org);
    const p = uniq('wj');
    const users = makeUsers(30, p);
    users[5].email = 'not an address';
    const jobId = await api.bulkCreate(users);
    const [r] = await delivered('/t2', 1);
    const j = checkSigned(r);
    assert.equal(j.type, 'job.completed');
    assert.equal(j.data.job_id, jobId);
    assert.equal(j.data.kind, 'users.create');
    assert.equal(j.data.total, 30);
    assert.equal(j.data.succeeded, 29);
    assert.equal(j.data.failed, 1);
    await sleep(800);
    assert.equal(rcv.got('/t2').length, 1);
});

test('scheduled changes: schedule.applied and schedule.failed', async () => {
    const { org } = await newOrg('ws');
    await hook(org, '/t3', ['schedule.applied', 'schedule.failed']);
    const api = srv.api(KEY, org);
    const p = uniq('ws');
    const a = await api.post('/api/systemusers', { username: `${p}a`, email: `${p}a@example.com`, state: 'STAGED' });
    assert.equal(a.status, 200, a.text);
    const b = await api.post('/api/systemusers', { username: `${p}b`, email: `${p}b@example.com`, state: 'STAGED' });
    assert.equal(b.status, 200, b.text);
    // b is deleted before the due time (a margin for a loaded machine), so its change fails
    const dueMs = Date.now() + 4000;
    const due = new Date(dueMs).toISOString();
    const s1 = await api.post('/api/v2/bulk/userstates', { user_ids: [a.json._id], state: 'ACTIVATED', start_date: due });
    assert.equal(s1.status, 201, s1.text);
    const s2 = await api.post('/api/v2/bulk/userstates', { user_ids: [b.json._id], state: 'ACTIVATED', start_date: due });
    assert.equal(s2.status, 201, s2.text);
    const d = await api.del(`/api/systemusers/${b.json._id}`);
    assert.equal(d.status, 200, d.text);
    assert.ok(Date.now() < dueMs, 'b was deleted before the due time');
    const got = await delivered('/t3', 2);
    const byType = Object.fromEntries(got.map((r) => { const j = checkSigned(r); return [j.type, j]; }));
    assert.equal(byType['schedule.applied'].data.schedule_id, s1.json[0].scheduledJobId);
    assert.equal(byType['schedule.applied'].data.user_id, a.json._id);
    assert.equal(byType['schedule.applied'].data.state, 'ACTIVATED');
    assert.equal(byType['schedule.failed'].data.schedule_id, s2.json[0].scheduledJobId);
    assert.match(byType['schedule.failed'].data.outcome, /not found/);
});

test('500 then 200: retried with the same webhook-id and body', async () => {
    const { org, key } = await newOrg('wr');
    await hook(org, '/t4');
    rcv.plan('/t4', [500]);
    await srv.api(KEY, org).bulkCreate(makeUsers(2, uniq('wr')));
    await delivered('/t4', 1);
    const all = rcv.got('/t4');
    assert.equal(all.length, 2);
    assert.deepEqual(all.map((r) => r.status), [500, 200]);
    assert.equal(all[0].id, all[1].id, 'same webhook-id');
    assert.equal(all[0].body, all[1].body, 'byte-identical body');
    all.forEach(checkSigned);
    const client = new Courier({ apiKey: key, baseURL: srv.url, maxRetries: 0 });
    const m = await pollUntil('SENT recorded', async () => {
        const x = await client.messages.retrieve(all[0].id);
        return x.status === 'SENT' ? x : null;
    });
    assert.equal(m.status, 'SENT');
});

test('429 with Retry-After: the next attempt waits as told', async () => {
    const { org } = await newOrg('wt');
    await hook(org, '/t5');
    rcv.plan('/t5', [{ status: 429, headers: { 'retry-after': '2' } }]);
    await srv.api(KEY, org).bulkCreate(makeUsers(1, uniq('wt')));
    await delivered('/t5', 1);
    const all = rcv.got('/t5');
    assert.deepEqual(all.map((r) => r.status), [429, 200]);
    assert.equal(all[0].id, all[1].id);
    const gap = all[1].at - all[0].at;
    assert.ok(gap >= 1900, `retried ${gap} ms after the 429 (Retry-After: 2; the backoff alone is ~200 ms)`);
});

test('410 Gone disables the endpoint: nothing more is written for it', async () => {
    const { org } = await newOrg('wg');
    const h = await hook(org, '/t6');
    rcv.plan('/t6', [410]);
    const api = srv.api(KEY, org);
    await api.bulkCreate(makeUsers(1, uniq('wg')));
    const w = await pollUntil('endpoint disabled', async () => {
        const r = await admin('GET', `/admin/orgs/${org}/webhooks/${h.id}`);
        return r.json?.disabled ? r.json : null;
    });
    assert.match(w.disabled_reason, /410/);
    assert.match(w.disabled_at, RFC3339);
    await api.bulkCreate(makeUsers(1, uniq('wg')));
    const control = await hook(org, '/t6b');
    await api.bulkCreate(makeUsers(1, uniq('wg')));
    await delivered('/t6b', 1);
    await sleep(500);
    assert.equal(rcv.got('/t6').length, 1, 'only the request answered 410');
    assert.ok(control.id);
    const list = await admin('GET', `/admin/orgs/${org}/webhooks`);
    assert.deepEqual(list.json.data.map((x) => [x.id, x.disabled]), [[h.id, true], [control.id, false]]);
});

test('a Courier message routed to the webhook channel arrives rendered as message.created', async () => {
    const { org, key } = await newOrg('wm');
    await hook(org, '/t7', ['message.created']);
    await hook(org, '/t7b', ['job.completed']);
    const client = new Courier({ apiKey: key, baseURL: srv.url, maxRetries: 0 });
    const p = uniq('wm');
    const { jobId } = await client.bulk.createJob({
        message: {
            content: { title: 'Hi {{name}}', body: 'Dear {{name}}, code {{code}}' },
            data: { code: 'X1' },
            routing: { method: 'single', channels: ['webhook'] },
        },
    });
    const users = [0, 1, 2].map((i) => ({ profile: { email: `${p}${i}@example.com` }, data: { name: `N${i}` } }));
    await client.bulk.addUsers(jobId, { users });
    await client.bulk.runJob(jobId);
    const got = await delivered('/t7', 3);
    const items = (await client.bulk.listUsers(jobId)).items;
    const byId = new Map(got.map((r) => { const j = checkSigned(r); return [j.data.message_id, { r, j }]; }));
    for (let i = 0; i < 3; i++) {
        const x = byId.get(items[i].messageId);
        assert.ok(x, `message.created for item ${i}`);
        assert.equal(x.j.type, 'message.created');
        assert.equal(x.r.id, items[i].messageId, 'the webhook-id is the message id');
        assert.equal(x.j.data.title, `Hi N${i}`);
        assert.equal(x.j.data.body, `Dear N${i}, code X1`);
        assert.equal(x.j.data.to.email, `${p}${i}@example.com`);
        assert.equal(x.j.data.data.code, 'X1');
        assert.equal(x.j.data.job_id, jobId);
    }
    await delivered('/t7b', 1);
    await pollUntil('SENT', async () => {
        const m = await client.messages.retrieve(items[0].messageId);
        return m.status === 'SENT' ? m : null;
    });
    assert.equal(rcv.got('/t7b').length, 1);
    // no e-mail for them
    assert.equal(sink.messages().filter((m) => m.rcpt.startsWith(p)).length, 0);
});

test('roster webhook add / list / remove', async () => {
    const { org } = await newOrg('wl');
    const add = await cli(srv.store, 'webhook', 'add', '--org', org, '--url', rcv.url('/t8'), '--events', 'job.completed');
    assert.equal(add.code, 0, add.stderr);
    const [id, secret] = add.stdout.trim().split(' ');
    assert.match(id, HEX24);
    assert.match(secret, /^whsec_/);
    rcv.secret('/t8', secret);
    const given = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const add2 = await cli(srv.store, 'webhook', 'add', '--org', org, '--url', rcv.url('/t8b'), '--secret', given);
    assert.equal(add2.code, 0, add2.stderr);
    assert.equal(add2.stdout.trim().split(' ')[1], given);
    rcv.secret('/t8b', given);
    const list = await cli(srv.store, 'webhook', 'list', '--org', org);
    assert.equal(list.code, 0);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines[0].startsWith(`${id}\t${rcv.url('/t8')}\tjob.completed\t`), lines[0]);
    await srv.api(KEY, org).bulkCreate(makeUsers(1, uniq('wl')));
    checkSigned((await delivered('/t8', 1))[0]);
    checkSigned((await delivered('/t8b', 1))[0]);
    const bad = await cli(srv.store, 'webhook', 'add', '--org', org, '--url', rcv.url('/x'), '--events', 'job.completed,job.exploded');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown event type "job.exploded"/);
    const rm = await cli(srv.store, 'webhook', 'remove', id, '--org', org);
    assert.equal(rm.code, 0, rm.stderr);
    const again = await cli(srv.store, 'webhook', 'remove', id, '--org', org);
    assert.equal(again.code, 1);
    const list2 = await cli(srv.store, 'webhook', 'list', '--org', org);
    assert.equal(list2.stdout.trim().split('\n').length, 1);
});

test('admin route: validation, secrets shown only on one endpoint, another organisation is 404', async () => {
    const a = await newOrg('wa');
    const b = await newOrg('wb');
    for (const [body, re] of [
        [{ url: 'ftp://example.com/x' }, /http/],
        [{ url: 'http://' }, /url/],
        [{}, /url is required/],
        [{ url: 'http://h/x', events: ['job.completed', 'nope.nope'] }, /unknown event type "nope.nope"/],
        [{ url: 'http://h/x', events: 'job.completed' }, /events must be an array/],
        [{ url: 'http://h/x', secret: 'whsec_short' }, /secret/],
        [{ url: 'http://h/x', colour: 'red' }, /unknown field "colour"/],
    ]) {
        const r = await admin('POST', `/admin/orgs/${a.org}/webhooks`, body, a.key);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.json.message, re);
    }
    const r = await admin('POST', `/admin/orgs/${a.org}/webhooks`, { url: 'https://example.com/h', events: ['job.completed', 'message.sent'] }, a.key);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['created', 'disabled', 'events', 'id', 'secret', 'url']);
    assert.deepEqual(r.json.events, ['job.completed', 'message.sent']);
    const list = await admin('GET', `/admin/orgs/${a.org}/webhooks`, undefined, a.key);
    assert.equal(list.status, 200);
    assert.equal(list.json.data.length, 1);
    assert.equal(list.json.data[0].secret, undefined, 'no secrets in the list');
    const one = await admin('GET', `/admin/orgs/${a.org}/webhooks/${r.json.id}`, undefined, a.key);
    assert.equal(one.json.secret, r.json.secret);
    // tenant isolation: b's key cannot see a, and a's endpoint is not b's
    for (const [m, path] of [['GET', `/admin/orgs/${a.org}/webhooks`], ['GET', `/admin/orgs/${a.org}/webhooks/${r.json.id}`],
        ['DELETE', `/admin/orgs/${a.org}/webhooks/${r.json.id}`], ['POST', `/admin/orgs/${a.org}/webhooks`]]) {
        const x = await admin(m, path, m === 'POST' ? { url: 'http://h/x' } : undefined, b.key);
        assert.equal(x.status, 404, `${m} ${path} with another org's key: ${x.text}`);
    }
    const x = await admin('GET', `/admin/orgs/${b.org}/webhooks/${r.json.id}`, undefined, b.key);
    assert.equal(x.status, 404);
    assert.match(x.json.message, /webhook ".*" not found/);
    const d = await admin('DELETE', `/admin/orgs/${b.org}/webhooks/${r.json.id}`, undefined, b.key);
    assert.equal(d.status, 404);
    const del = await admin('DELETE', `/admin/orgs/${a.org}/webhooks/${r.json.id}`, undefined, a.key);
    assert.equal(del.status, 204);
    const gone = await admin('GET', `/admin/orgs/${a.org}/webhooks/${r.json.id}`, undefined, a.key);
    assert.equal(gone.status, 404);
});

test('--webhooks off: webhook messages are written and wait ENQUEUED, nothing is sent', async () => {
    const off = await startServer({ bootstrapKey: KEY, args: ['--webhooks', 'off', '--delivery-backoff-ms', '200'] });
    try {
        const org = off.orgId;
        const r = await fetch(`${off.url}/admin/orgs/${org}/webhooks`, {
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ url: rcv.url('/t10') }),
        });
        assert.equal(r.status, 201);
        rcv.secret('/t10', (await r.json()).secret);
        await off.api(KEY, org).bulkCreate(makeUsers(1, uniq('wo')));
        const id = await pollUntil('the event written', async () => {
            const c = new Courier({ apiKey: KEY, baseURL: off.url, maxRetries: 0 });
            const rows = await storeQuery(off.store, "SELECT id FROM messages WHERE kind = 'webhook'");
            if (!rows.length) return null;
            const m = await c.messages.retrieve(rows[0]);
            return m.status === 'ENQUEUED' ? rows[0] : null;
        });
        assert.ok(id);
        await sleep(1000);
        assert.equal(rcv.got('/t10').length, 0, 'nothing sent');
    } finally {
        await cleanup(off);
    }
});
