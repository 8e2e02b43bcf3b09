// Outbox delivery over SMTP (docs/delivery.md) against a real SMTP server: tests/smtp/sink.py
// (Debian python3-aiosmtpd) on a free loopback port, recording every message it accepts,
// answering 451 (the first two times) to recipients named temp* and 550 to reject*. Jobs are
// made and read with Courier's official client: a job of 2,000 users gives exactly 2,000
// e-mails to the right recipients with rendered subject and body and unique Message-IDs,
// all SENT; 451 recipients arrive after retries, 550 ones are UNDELIVERABLE at once, a
// message that needs a stored template is UNDELIVERABLE naming it; `roster outbox` lists and
// retries; kill -9 while delivering 20,000 and a restart: every message ends SENT, and the
// Message-IDs seen twice are only those in flight at the kill (accepted by the sink but not
// recorded SENT, read with `roster outbox list` before the restart; at most a batch per
// session).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Courier from '@trycourier/courier';
import { startServer, cleanup, pollUntil, uniq, cli, PG } from './harness.mjs';
import { startSink } from './smtp_sink.mjs';

const KEY = 'delivery-test-bootstrap-key-0123456789';
const FROM = 'noreply@roster-test.example';
const SESSIONS = 4;
const BATCH = 16; // DELIVERY_BATCH in src/core/delivery.c: messages a worker claims at once
const servers = [];
const sinks = [];

function smtpArgs(sink, more = []) {
    return ['--smtp-url', sink.url, '--smtp-from', FROM, '--smtp-sessions', String(SESSIONS),
        '--delivery-backoff-ms', '200', ...more];
}

async function server(sink, opts = {}) {
    const s = await startServer({ bootstrapKey: KEY, ...opts, args: smtpArgs(sink, opts.more) });
    servers.push(s);
    return s;
}

const courier = (s) => new Courier({ apiKey: KEY, baseURL: s.url, maxRetries: 0 });

/** A new sink, a server delivering to it (opts as server's) and its Courier client. */
async function setup(opts = {}) {
    const sink = await startSink(opts.sinkArgs);
    sinks.push(sink);
    const srv = await server(sink, opts);
    return { sink, srv, client: courier(srv) };
}

/** Creates, fills and runs a Courier job; returns its id. */
async function runJob(client, message, users) {
    const { jobId } = await client.bulk.createJob({ message });
    for (let i = 0; i < users.length; i += 10000) {
        await client.bulk.addUsers(jobId, { users: users.slice(i, i + 10000) });
    }
    await client.bulk.runJob(jobId);
    return jobId;
}

/** Every item of a job (its users, with messageId and messageStatus). */
async function allItems(client, jobId) {
    const out = [];
    let cursor = null;
    for (;;) {
        const page = await client.bulk.listUsers(jobId, { cursor });
        out.push(...page.items);
        if (!page.paging.more) return out;
        cursor = page.paging.cursor;
    }
}

async function waitStatuses(client, jobId, n, ok = (it) => it.messageStatus === 'SENT', timeoutMs = 180000) {
    return pollUntil(`${n} items of job ${jobId} delivered`, async () => {
        const { job } = await client.bulk.retrieveJob(jobId);
        if (job.status !== 'COMPLETED') return null;
        const items = await allItems(client, jobId);
        return items.length === n && items.every(ok) ? items : null;
    }, { timeoutMs, intervalMs: 500 });
}

after(async () => {
    for (const s of servers) await cleanup(s);
    for (const k of sinks) k.stop();
});

test('a job of 2,000 users: exactly 2,000 e-mails, rendered, unique Message-IDs, all SENT', async () => {
    const { sink, client } = await setup();
    const p = uniq('dl');
    const N = 2000;
    const users = [];
    for (let i = 0; i < N; i++) {
        users.push({ profile: { email: `${p}u${i}@example.com`, given_name: `Given${i}` },
            data: { name: i % 10 === 0 ? `Zoë <${i}> & co` : `Name${i}` } });
    }
    const message = {
        content: { title: 'Hello {{name}}', body: 'Dear {{ name }} ({{given_name}}), code {{code}}.{{missing}}' },
        data: { code: 'C-42' },
    };
    const jobId = await runJob(client, message, users);
    const items = await waitStatuses(client, jobId, N);
    const msgs = await pollUntil('2,000 e-mails', async () => {
        const m = sink.messages();
        return m.length >= N ? m : null;
    }, { timeoutMs: 60000, intervalMs: 500 });
    assert.equal(msgs.length, N, 'exactly one e-mail per user');
    const ids = new Set(msgs.map((m) => m.message_id));
    assert.equal(ids.size, N, 'unique Message-IDs');
    const byRcpt = new Map(msgs.map((m) => [m.rcpt, m]));
    assert.equal(byRcpt.size, N, 'one e-mail per recipient');
    for (let i = 0; i < N; i++) {
        const m = byRcpt.get(`${p}u${i}@example.com`);
        assert.ok(m, `e-mail for user ${i}`);
        const name = users[i].data.name;
        assert.equal(m.subject, `Hello ${name}`);
        assert.equal(m.text, `Dear ${name} (Given${i}), code C-42.`);
        const esc = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
        assert.ok(m.html.includes(`Dear ${esc} (Given${i}), code C-42.`), m.html);
        assert.equal(m.from, FROM);
        assert.equal(m.content_type, 'multipart/alternative');
        assert.equal(m.message_id, `<${items[i].messageId}@roster-test.example>`);
    }
    const one = await client.messages.retrieve(items[0].messageId);
    assert.equal(one.status, 'SENT');
    assert.equal(typeof one.sent, 'number');
    assert.ok(one.sent >= one.enqueued);
    assert.equal(one.attempts, 1);
});

test('451 recipients arrive after retries; 550 is UNDELIVERABLE at once; a stored template is missing', async () => {
    const { sink, client } = await setup();
    const p = uniq('rt');
    const users = [
        { profile: { email: `ok${p}@example.com` } },
        { profile: { email: `temp${p}@example.com` } },
        { profile: { email: `reject${p}@example.com` } },
        { profile: { email: 'not an address' } },
    ];
    const jobId = await runJob(client, { content: { title: 'T', body: 'B' } }, users);
    const items = await waitStatuses(client, jobId, 4, (it) => it.messageStatus && it.messageStatus !== 'ENQUEUED');
    assert.deepEqual(items.map((it) => it.messageStatus), ['SENT', 'SENT', 'UNDELIVERABLE', 'UNDELIVERABLE']);
    const temp = await client.messages.retrieve(items[1].messageId);
    assert.equal(temp.attempts, 3, 'two 451 answers, then accepted');
    assert.equal(sink.tries(`temp${p}@example.com`), 3);
    const rej = await client.messages.retrieve(items[2].messageId);
    assert.equal(rej.status, 'UNDELIVERABLE');
    assert.equal(rej.reason, 'BOUNCED');
    assert.match(rej.error, /550/);
    assert.equal(rej.attempts, 1);
    const bad = await client.messages.retrieve(items[3].messageId);
    assert.equal(bad.reason, 'FAILED');
    assert.match(bad.error, /not an address/);
    // no retry of the permanent failure, however long we wait
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.tries(`reject${p}@example.com`), 1);
    assert.equal((await client.messages.retrieve(items[2].messageId)).attempts, 1);
    assert.equal(sink.messages().filter((m) => m.rcpt === `temp${p}@example.com`).length, 1);

    const tj = await runJob(client, { template: 'welcome-tpl' }, [{ profile: { email: `ok2${p}@example.com` } }]);
    const [t] = await waitStatuses(client, tj, 1, (it) => it.messageStatus === 'UNDELIVERABLE');
    const tm = await client.messages.retrieve(t.messageId);
    assert.match(tm.error, /template "welcome-tpl"/);
    assert.equal(sink.tries(`ok2${p}@example.com`), 0, 'nothing was sent');
});

test('no header injection, the relay password is not logged, --smtp-require-tls waits for STARTTLS', async () => {
    const sink = await startSink();
    sinks.push(sink);
    const s = await startServer({ bootstrapKey: KEY, args: ['--smtp-url', `smtp://mailer:s3cret-pw@127.0.0.1:${sink.port}`,
        '--smtp-from', FROM, '--delivery-backoff-ms', '200'] });
    servers.push(s);
    const client = courier(s);
    const p = uniq('hi');
    const users = [
        { profile: { email: `ok${p}@example.com` }, data: { name: 'x\r\nBcc: evil@example.com' } },
        { profile: { email: `ok${p}@example.com\r\nBcc: evil@example.com` } },
    ];
    const jobId = await runJob(client, { content: { title: 'Hi {{name}}', body: 'B' } }, users);
    const items = await waitStatuses(client, jobId, 2, (it) => it.messageStatus && it.messageStatus !== 'ENQUEUED');
    assert.deepEqual(items.map((it) => it.messageStatus), ['SENT', 'UNDELIVERABLE']);
    const got = sink.messages();
    assert.equal(got.length, 1);
    assert.equal(got[0].rcpt, `ok${p}@example.com`);
    assert.equal(got[0].subject, 'Hi x  Bcc: evil@example.com');
    assert.ok(!got[0].header_names.some((h) => h.toLowerCase() === 'bcc'), got[0].header_names.join());
    assert.equal(sink.tries('evil@example.com'), 0);
    assert.match(s.stderr(), /relay=smtp:\/\/mailer:\*\*\*@127\.0\.0\.1/);
    assert.ok(!s.stderr().includes('s3cret-pw'), 'the password is not in the log');

    // the sink offers no STARTTLS: with --smtp-require-tls nothing is sent, the message waits
    const tls = await server(sink, { more: ['--smtp-require-tls'] });
    const tc = courier(tls);
    const tj = await runJob(tc, { content: { title: 'T', body: 'B' } }, [{ profile: { email: `tls${p}@example.com` } }]);
    const [it] = await waitStatuses(tc, tj, 1, (x) => x.messageId);
    const m = await pollUntil('a failed attempt', async () => {
        const r = await tc.messages.retrieve(it.messageId);
        return r.attempts >= 2 ? r : null;
    }, { timeoutMs: 30000, intervalMs: 200 });
    assert.equal(m.status, 'ENQUEUED', 'retried, not given up');
    assert.match(m.error, /SSL|TLS/i);
    assert.equal(sink.tries(`tls${p}@example.com`), 0, 'no RCPT without TLS');
});

test('roster outbox: list by status, paged; retry an undeliverable one; a sent one is refused', async () => {
    const { sink, srv, client } = await setup();
    const p = uniq('ob');
    const users = [{ profile: { email: `ok${p}@example.com` } }, { profile: { email: `reject${p}@example.com` } }];
    const jobId = await runJob(client, { content: { title: 'T', body: 'B' } }, users);
    const items = await waitStatuses(client, jobId, 2, (it) => it.messageStatus && it.messageStatus !== 'ENQUEUED');
    const [ok, rej] = items.map((it) => it.messageId);
    const rows = (out) => out.split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));

    let r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--status', 'UNDELIVERABLE');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], 'ID\tKIND\tCHANNEL\tRECIPIENT\tSTATUS\tATTEMPTS\tDUE_OR_SENT\tREASON');
    let got = rows(r.stdout);
    assert.deepEqual(got.map((x) => [x[0], x[2], x[4], x[5], x[6]]), [[rej, 'email', 'UNDELIVERABLE', '1', '-']]);
    assert.match(got[0][7], /550/);
    // newest first, one a page: the second page follows --after the first's id
    r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--limit', '1');
    assert.equal(r.code, 0, r.stderr);
    const first = rows(r.stdout)[0][0];
    assert.match(r.stderr, new RegExp(`more: --after ${first}`));
    r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--limit', '1', '--after', first);
    const second = rows(r.stdout)[0][0];
    assert.deepEqual([first, second].sort(), [ok, rej].sort());
    assert.ok(first > second, 'descending ids');
    r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--status', 'SENT');
    got = rows(r.stdout);
    assert.deepEqual(got.map((x) => [x[0], x[4]]), [[ok, 'SENT']]);
    assert.match(got[0][6], /^\d{4}-\d\d-\d\dT/, 'the sent time');
    r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--status', 'LOST');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /status "LOST" is not one of/);

    // a sent message cannot be retried; another organisation's is not found
    r = await cli(srv.store, 'outbox', 'retry', ok, '--org', srv.orgId);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was sent/);
    const other = (await cli(srv.store, 'org', 'create', 'other')).stdout.trim();
    r = await cli(srv.store, 'outbox', 'retry', rej, '--org', other);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found/);
    // the undeliverable one is tried again (the relay still says 550): a second attempt
    r = await cli(srv.store, 'outbox', 'retry', rej, '--org', srv.orgId);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`retrying ${rej}`));
    await pollUntil('the retried message tried again', async () => sink.tries(`reject${p}@example.com`) === 2 || null,
        { timeoutMs: 10000, intervalMs: 100 });
    const m = await pollUntil('its outcome', async () => {
        const x = await client.messages.retrieve(rej);
        return x.status === 'UNDELIVERABLE' && x.attempts === 2 ? x : null;
    }, { timeoutMs: 10000, intervalMs: 100 });
    assert.match(m.error, /550/);

    // the same through the admin API; its retry runs in the server and wakes the workers
    const admin = async (method, pth) => {
        const res = await fetch(`${srv.url}${pth}`, { method, headers: { authorization: `Bearer ${KEY}` } });
        return { status: res.status, json: await res.json() };
    };
    const base = `/admin/orgs/${srv.orgId}/outbox`;
    let a = await admin('GET', `${base}?status=UNDELIVERABLE`);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.deepEqual(a.json.messages.map((x) => [x.id, x.channel, x.status, x.attempts, x.due, x.sent]),
        [[rej, 'email', 'UNDELIVERABLE', 2, null, null]]);
    assert.match(a.json.messages[0].reason, /550/);
    assert.equal(a.json.next, null);
    a = await admin('GET', `${base}?limit=1`);
    assert.equal(a.json.messages.length, 1);
    assert.equal(a.json.next, a.json.messages[0].id);
    const b = await admin('GET', `${base}?limit=1&after=${a.json.next}`);
    assert.deepEqual([a.json.messages[0].id, b.json.messages[0].id].sort(), [ok, rej].sort());
    assert.equal((await admin('GET', `${base}?status=nope`)).status, 400);
    assert.equal((await admin('GET', '/admin/orgs/ffffffffffffffffffffffff/outbox')).status, 404);
    a = await admin('POST', `${base}/${ok}/retry`);
    assert.equal(a.status, 409, JSON.stringify(a.json));
    assert.match(a.json.message, /was sent/);
    assert.equal((await admin('POST', `${base}/1-00000000-000000000000000000000000/retry`)).status, 404);
    const t0 = Date.now();
    a = await admin('POST', `${base}/${rej}/retry`);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.status, 'ENQUEUED');
    assert.equal(a.json.attempts, 2);
    await pollUntil('the retried message tried a third time', async () => sink.tries(`reject${p}@example.com`) === 3 || null,
        { timeoutMs: 10000, intervalMs: 20 });
    console.log(`admin retry: tried again ${Date.now() - t0} ms later (the workers were woken; their poll is 2 s on SQLite)`);
});

test('kill -9 during delivery of 20,000, restart: every message SENT, duplicates only those in flight', async () => {
    const N = 20000;
    const lease = ['--delivery-lease-ms', '3000'];
    const { sink, srv, client } = await setup({ more: lease, sinkArgs: ['--light'] });
    const p = uniq('kd');
    const users = [];
    for (let i = 0; i < N; i++) users.push({ profile: { email: `${p}k${i}@example.com` }, data: { n: i } });
    const t0 = Date.now();
    const jobId = await runJob(client, { content: { title: 'K {{n}}', body: 'kill test {{n}}' } }, users);
    const tRun = Date.now();
    await pollUntil('a third delivered', async () => sink.messages().length >= N / 3 || null,
        { timeoutMs: 120000, intervalMs: 200 });
    await srv.kill9();
    await new Promise((r) => setTimeout(r, 300)); // the sink writes down what it accepted
    const atKill = sink.messages().length;
    assert.ok(atKill < N, `the kill came during delivery (${atKill} of ${N} sent)`);
    // in flight at the kill: accepted by the sink, but not recorded SENT (roster outbox list)
    const recorded = new Set();
    for (let after = null; ;) {
        const args = ['outbox', 'list', '--org', srv.orgId, '--status', 'SENT', '--limit', '1000'];
        const r = await cli(srv.store, ...args, ...(after ? ['--after', after] : []));
        assert.equal(r.code, 0, r.stderr);
        const ids = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]);
        for (const id of ids) recorded.add(`<${id}@roster-test.example>`);
        if (ids.length < 1000) break;
        after = ids[ids.length - 1];
    }
    const inFlight = new Set(sink.messages().map((m) => m.message_id).filter((id) => !recorded.has(id)));
    assert.ok(inFlight.size <= SESSIONS * BATCH, `${inFlight.size} in flight, at most ${SESSIONS * BATCH} (each session's batch)`);

    const tKill = Date.now();
    const again = await server(sink, { dir: srv.dir, more: lease });
    // done when no message waits (cheap: one row of `roster outbox list`), then read them all
    await pollUntil('nothing left to deliver', async () => {
        const r = await cli(srv.store, 'outbox', 'list', '--org', srv.orgId, '--status', 'ENQUEUED', '--limit', '1');
        return r.code === 0 && r.stdout.split('\n').filter(Boolean).length === 1 ? true : null;
    }, { timeoutMs: 120000, intervalMs: 250 });
    const tDone = Date.now();
    const items = await allItems(courier(again), jobId);
    assert.equal(items.length, N);
    assert.ok(items.every((it) => it.messageStatus === 'SENT'), 'every message SENT');
    const msgs = sink.messages();
    const count = new Map();
    for (const m of msgs) count.set(m.message_id, (count.get(m.message_id) || 0) + 1);
    for (const it of items) {
        assert.ok(count.has(`<${it.messageId}@roster-test.example>`), `message ${it.messageId} arrived`);
    }
    assert.equal(count.size, N, 'no message lost, none unknown');
    assert.ok([...count.values()].every((c) => c <= 2), 'none sent more than twice');
    const twice = [...count.entries()].filter(([, c]) => c > 1).map(([id]) => id);
    for (const id of twice) assert.ok(inFlight.has(id), `${id} arrived twice but was recorded SENT before the kill`);
    console.log(`kill -9 after ${atKill} of ${N} e-mails: ${inFlight.size} in flight, ${twice.length} Message-IDs seen twice (bound ${SESSIONS * BATCH})${PG ? ' [postgres]' : ''}; job made in ${((tRun - t0) / 1000).toFixed(1)} s, killed ${((tKill - tRun) / 1000).toFixed(1)} s later, the rest delivered ${((tDone - tKill) / 1000).toFixed(1)} s after the kill`);
});
