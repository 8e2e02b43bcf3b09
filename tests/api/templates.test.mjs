// Stored message templates and Courier recipients by list (docs/templates.md) against a real
// server and a real SMTP server (tests/smtp/sink.py): template CRUD over the admin route and
// the CLI; a Courier job whose definition names a stored template (or event) delivers
// rendered e-mails; a missing template makes the message UNDELIVERABLE naming it; activation
// e-mails of scheduled JumpCloud activations arrive with the built-in template, then with the
// organisation's own; a job item with to.list_id sends one e-mail per member of the roster
// group of that name or id (groups made with the Voximplant API: AddSkill, BindSkill), 10,000
// members too; another organisation's templates and lists are invisible.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Courier from '@trycourier/courier';
import { startServer, cleanup, pollUntil, uniq, cliOrg, cliKey, makeUsers } from './harness.mjs';
import { startSink } from './smtp_sink.mjs';

const KEY = 'templates-test-bootstrap-key-0123456789';
const FROM = 'noreply@roster-test.example';
const servers = [];
const sinks = [];

after(async () => {
    for (const s of servers) await cleanup(s);
    for (const k of sinks) k.stop();
});

/** A sink and a server delivering to it; the bootstrap org's Courier client and admin calls. */
async function setup() {
    const sink = await startSink();
    sinks.push(sink);
    const srv = await startServer({
        bootstrapKey: KEY,
        args: ['--smtp-url', sink.url, '--smtp-from', FROM, '--delivery-backoff-ms', '200'],
    });
    servers.push(srv);
    return { sink, srv, client: courier(srv, KEY), api: srv.api(KEY) };
}

const courier = (s, key) => new Courier({ apiKey: key, baseURL: s.url, maxRetries: 0 });

/** A request to the admin API with a bearer key; {status, json, text, headers}. */
async function admin(srv, key, method, p, body) {
    const headers = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(srv.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, json, text, headers: res.headers };
}

/** A new organisation with its own API key. */
async function newOrg(srv, tag) {
    const org = await cliOrg(srv.store, uniq(tag));
    return { org, key: await cliKey(srv.store, org) };
}

async function runJob(client, message, users) {
    const { jobId } = await client.bulk.createJob({ message });
    await client.bulk.addUsers(jobId, { users });
    await client.bulk.runJob(jobId);
    return jobId;
}

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

/** The items of a completed job once every ENQUEUED one's message has an outcome. */
async function settled(client, jobId, n, timeoutMs = 120000) {
    return pollUntil(`job ${jobId} settled`, async () => {
        const { job } = await client.bulk.retrieveJob(jobId);
        if (job.status !== 'COMPLETED') return null;
        const items = await allItems(client, jobId);
        const done = items.every((it) => it.status === 'ERROR' || (it.messageStatus && it.messageStatus !== 'ENQUEUED'));
        return items.length === n && done ? items : null;
    }, { timeoutMs, intervalMs: 300 });
}

async function mailsTo(sink, pred, n, timeoutMs = 60000) {
    return pollUntil(`${n} e-mails`, async () => {
        let all;
        try {
            all = sink.messages();
        } catch {
            return null; // the sink's last line was being written: read again
        }
        const m = all.filter(pred);
        return m.length >= n ? m : null;
    }, { timeoutMs, intervalMs: 200 });
}

test('template CRUD over the admin route: 201/200/204, 400 naming the member, 404 for another org', async () => {
    const { srv } = await setup();
    const org = srv.orgId;
    const base = `/admin/orgs/${org}/templates`;
    let r = await admin(srv, KEY, 'GET', base);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { templates: [] });

    const welcome = { title: 'Hello {{name}}', body: 'Welcome, {{name}}.' };
    r = await admin(srv, KEY, 'POST', base, { name: 'welcome', content: welcome });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'welcome');
    assert.deepEqual(r.json.content, welcome);
    assert.ok(Date.parse(r.json.updated) > 0, r.text);
    assert.equal(r.headers.get('location'), `${base}/welcome`);
    r = await admin(srv, KEY, 'POST', base, { name: 'welcome', content: welcome });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, /already exists/);

    const elemental = { version: '2022-01-01', elements: [{ type: 'meta', title: 'Order {{order.id}}' }, { type: 'text', content: 'Shipped.' }] };
    r = await admin(srv, KEY, 'PUT', `${base}/${encodeURIComponent('order shipped')}`, { content: elemental });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'order shipped');
    assert.equal(r.headers.get('location'), `${base}/order%20shipped`);
    r = await admin(srv, KEY, 'PUT', `${base}/welcome`, { content: { title: 'Hi {{name}}', body: 'Again.' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.content, { title: 'Hi {{name}}', body: 'Again.' });
    r = await admin(srv, KEY, 'GET', `${base}/welcome`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.content, { title: 'Hi {{name}}', body: 'Again.' });
    r = await admin(srv, KEY, 'GET', base);
    assert.deepEqual(r.json.templates.map((t) => t.name), ['order shipped', 'welcome']);
    assert.deepEqual(r.json.templates[0].content, elemental);

    // bad content: 400 naming the member; nothing stored
    const bad = [
        [{ name: 'b', content: { title: 5, body: 'x' } }, /content\.title must be a string/],
        [{ name: 'b', content: { title: 'x' } }, /content\.body is missing/],
        [{ name: 'b', content: { elements: [{ type: 'text' }, 7] } }, /content\.elements\[1\] must be an object/],
        [{ name: 'b', content: { elements: [{ content: 'x' }] } }, /content\.elements\[0\]\.type must be a string/],
        [{ name: 'b', content: 'text' }, /content must be an object/],
        [{ name: 'b' }, /content is missing/],
        [{ content: welcome }, /name must be a string/],
        [{ name: '', content: welcome }, /name must be a non-empty string/],
        [{ name: 'b', content: welcome, extra: 1 }, /unknown member "extra"/],
    ];
    for (const [body, re] of bad) {
        r = await admin(srv, KEY, 'POST', base, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.json.message, re);
    }
    r = await admin(srv, KEY, 'PUT', `${base}/welcome`, { content: { body: 'x' } });
    assert.equal(r.status, 400, r.text);
    r = await admin(srv, KEY, 'GET', `${base}/b`);
    assert.equal(r.status, 404, r.text);
    assert.match(r.json.message, /template "b" not found/);

    // another organisation's key: the org and its templates are not there
    const other = await newOrg(srv, 'tplB');
    for (const [m, p, body] of [['GET', base], ['GET', `${base}/welcome`], ['DELETE', `${base}/welcome`],
        ['PUT', `${base}/welcome`, { content: welcome }], ['POST', base, { name: 'x', content: welcome }]]) {
        r = await admin(srv, other.key, m, p, body);
        assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
    }
    r = await admin(srv, other.key, 'GET', `/admin/orgs/${other.org}/templates/welcome`);
    assert.equal(r.status, 404, 'org B has no template "welcome"');

    // no key, an unknown key: 401 on every template route
    for (const [m, p] of [['GET', base], ['POST', base], ['GET', `${base}/welcome`], ['PUT', `${base}/welcome`], ['DELETE', `${base}/welcome`]]) {
        const body = m === 'POST' || m === 'PUT' ? JSON.stringify({ name: 'x', content: welcome }) : undefined;
        const none = await fetch(srv.url + p, { method: m, body, headers: body ? { 'content-type': 'application/json' } : {} });
        assert.equal(none.status, 401, `${m} ${p} without a key`);
        r = await admin(srv, 'not-a-real-key-0123456789abcdef', m, p, body ? JSON.parse(body) : undefined);
        assert.equal(r.status, 401, `${m} ${p} with an unknown key`);
    }

    r = await admin(srv, KEY, 'DELETE', `${base}/welcome`);
    assert.equal(r.status, 204, r.text);
    r = await admin(srv, KEY, 'DELETE', `${base}/welcome`);
    assert.equal(r.status, 404, r.text);
    r = await admin(srv, KEY, 'GET', base);
    assert.deepEqual(r.json.templates.map((t) => t.name), ['order shipped']);
});

test('template CLI: set from a file and stdin, list, get, remove; seen by the admin route', async () => {
    const { srv } = await setup();
    const org = srv.orgId;
    const file = path.join(srv.dir, 'tpl.json');
    writeFileSync(file, JSON.stringify({ title: 'From a file', body: 'Body {{x}}' }));
    let r = await srv.cli('template', 'set', 'filed', file, '--org', org);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /template "filed" created/);
    r = await srv.cli('template', 'set', 'filed', file, '--org', org);
    assert.match(r.stdout, /template "filed" replaced/);
    const piped = await new Promise((resolve) => {
        import('node:child_process').then(({ execFile }) => {
            const p = execFile(process.env.ROSTER_BIN || path.resolve('build/roster'),
                ['template', 'set', 'piped', '-', '--org', org, '--store', srv.store],
                (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
            p.stdin.end(JSON.stringify({ version: '2022-01-01', elements: [{ type: 'text', content: 'stdin' }] }));
        });
    });
    assert.equal(piped.code, 0, piped.stderr);
    r = await srv.cli('template', 'list', '--org', org);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['filed', 'piped']);
    r = await srv.cli('template', 'get', 'filed', '--org', org);
    assert.deepEqual(JSON.parse(r.stdout), { title: 'From a file', body: 'Body {{x}}' });
    const h = await admin(srv, KEY, 'GET', `/admin/orgs/${org}/templates/piped`);
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json.content.elements, [{ type: 'text', content: 'stdin' }]);
    writeFileSync(file, '{"title": 1, "body": "x"}');
    r = await srv.cli('template', 'set', 'bad', file, '--org', org);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /content\.title must be a string/);
    const other = await newOrg(srv, 'tplcli');
    r = await srv.cli('template', 'get', 'filed', '--org', other.org);
    assert.equal(r.code, 1, 'another org does not see it');
    assert.match(r.stderr, /template "filed" not found/);
    r = await srv.cli('template', 'remove', 'filed', '--org', org);
    assert.equal(r.code, 0, r.stderr);
    r = await srv.cli('template', 'get', 'filed', '--org', org);
    assert.equal(r.code, 1);
    r = await srv.cli('template', 'list', '--org', '0123456789abcdef01234567');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /organization "0123456789abcdef01234567" not found/);
});

test('a Courier job naming a stored template (or event) delivers rendered e-mails; a missing one is UNDELIVERABLE', async () => {
    const { sink, srv, client } = await setup();
    const org = srv.orgId;
    const p = uniq('tj');
    let r = await admin(srv, KEY, 'POST', `/admin/orgs/${org}/templates`, {
        name: 'welcome', content: { title: 'Welcome {{name}}', body: 'Dear {{ name }}, your code is {{code}}.{{missing}}' },
    });
    assert.equal(r.status, 201, r.text);
    r = await admin(srv, KEY, 'PUT', `/admin/orgs/${org}/templates/EVT-1`, {
        content: { version: '2022-01-01', elements: [{ type: 'meta', title: 'Event for {{given_name}}' }, { type: 'text', content: 'Order {{order.id}}' }] },
    });
    assert.equal(r.status, 201, r.text);
    // org B has a template that org A's jobs must not see
    const b = await newOrg(srv, 'tjB');
    r = await admin(srv, b.key, 'POST', `/admin/orgs/${b.org}/templates`, { name: 'only-b', content: { title: 'B', body: 'B' } });
    assert.equal(r.status, 201, r.text);

    const users = [0, 1, 2].map((i) => ({ profile: { email: `${p}u${i}@example.com`, given_name: `G${i}` }, data: { name: i === 1 ? 'Zoë <b>' : `N${i}` } }));
    const j1 = await runJob(client, { template: 'welcome', data: { code: 'C-7' } }, users);
    const j2 = await runJob(client, { event: 'EVT-1', data: { order: { id: 42 } } }, [{ profile: { email: `${p}ev@example.com`, given_name: 'Eve' } }]);
    const j3 = await runJob(client, { template: 'nope' }, [{ profile: { email: `${p}nope@example.com` } }]);
    const j4 = await runJob(client, { template: 'only-b' }, [{ profile: { email: `${p}b@example.com` } }]);
    const i1 = await settled(client, j1, 3);
    assert.deepEqual(i1.map((it) => it.messageStatus), ['SENT', 'SENT', 'SENT']);
    const mails = await mailsTo(sink, (m) => m.rcpt.startsWith(`${p}u`), 3);
    const byRcpt = new Map(mails.map((m) => [m.rcpt, m]));
    for (let i = 0; i < 3; i++) {
        const m = byRcpt.get(`${p}u${i}@example.com`);
        const name = users[i].data.name;
        assert.equal(m.subject, `Welcome ${name}`);
        assert.equal(m.text, `Dear ${name}, your code is C-7.`);
        assert.ok(m.html.includes(name.replace(/</g, '&lt;').replace(/>/g, '&gt;')), m.html);
        assert.equal(m.message_id, `<${i1[i].messageId}@roster-test.example>`);
    }
    const [e] = await settled(client, j2, 1);
    assert.equal(e.messageStatus, 'SENT');
    const [em] = await mailsTo(sink, (m) => m.rcpt === `${p}ev@example.com`, 1);
    assert.equal(em.subject, 'Event for Eve');
    assert.equal(em.text, 'Order 42');
    for (const [job, name] of [[j3, 'nope'], [j4, 'only-b']]) {
        const [it] = await settled(client, job, 1);
        assert.equal(it.messageStatus, 'UNDELIVERABLE');
        const msg = await client.messages.retrieve(it.messageId);
        assert.match(msg.error, new RegExp(`template "${name}" names no template stored in this organisation`));
        assert.equal(msg.attempts, 1);
    }
    assert.equal(sink.tries(`${p}nope@example.com`), 0, 'nothing sent for a missing template');
    assert.equal(sink.tries(`${p}b@example.com`), 0, "org B's template is not org A's");

    // a template stored later is used by the next messages (nothing is cached)
    r = await admin(srv, KEY, 'PUT', `/admin/orgs/${org}/templates/welcome`, { content: { title: 'Changed {{name}}', body: 'New body' } });
    assert.equal(r.status, 200, r.text);
    const j5 = await runJob(client, { template: 'welcome' }, [{ profile: { email: `${p}again@example.com` }, data: { name: 'Al' } }]);
    await settled(client, j5, 1);
    const [again] = await mailsTo(sink, (m) => m.rcpt === `${p}again@example.com`, 1);
    assert.equal(again.subject, 'Changed Al');
    assert.equal(again.text, 'New body');
});

test('activation e-mails of scheduled activations: the built-in template, then the organisation\'s own', async () => {
    const { sink, srv, api } = await setup();
    const p = uniq('act');
    const users = makeUsers(2, p).map((u) => ({ ...u, state: 'STAGED' }));
    users[1].firstname = undefined;
    users[1].lastname = undefined;
    const ids = await api.createUsers(users);
    const schedule = async (id) => {
        const r = await api.post('/api/v2/bulk/userstates', {
            user_ids: [id], state: 'ACTIVATED', start_date: new Date(Date.now() + 800).toISOString(), send_activation_emails: true,
        });
        assert.equal(r.status, 201, r.text);
    };
    await schedule(ids[0]);
    const [m0] = await mailsTo(sink, (m) => m.rcpt === users[0].email, 1, 30000);
    assert.equal(m0.subject, `Your account ${users[0].username} is now active`);
    assert.ok(m0.text.startsWith(`Hello ${users[0].firstname},`), m0.text);
    assert.ok(m0.text.includes(`Username: ${users[0].username}`), m0.text);
    assert.ok(m0.text.includes(`E-mail: ${users[0].email}`), m0.text);

    const r = await admin(srv, KEY, 'PUT', `/admin/orgs/${srv.orgId}/templates/activation`, {
        content: { title: 'Custom welcome for {{name}}', body: 'Sign in as {{username}} ({{fullname}}).' },
    });
    assert.equal(r.status, 201, r.text);
    await schedule(ids[1]);
    const [m1] = await mailsTo(sink, (m) => m.rcpt === users[1].email, 1, 30000);
    assert.equal(m1.subject, `Custom welcome for ${users[1].username}`, 'name falls back to the username');
    assert.equal(m1.text, `Sign in as ${users[1].username} ().`);
});

/** A service account of org and a function calling a Voximplant method with its JWT. */
async function voxFor(srv, org) {
    const r = await srv.cli('key', 'create-service-account', '--org', org);
    assert.equal(r.code, 0, r.stderr);
    const cred = JSON.parse(r.stdout);
    const b64u = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
    return async (method, params) => {
        const now = Math.floor(Date.now() / 1000);
        const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid: cred.key_id })}.${b64u({ iss: cred.account_id, iat: now, exp: now + 60 })}`;
        const sig = crypto.sign('sha256', Buffer.from(input), cred.private_key).toString('base64url');
        const res = await fetch(`${srv.url}/platform_api/${method}`, {
            method: 'POST', headers: { authorization: `Bearer ${input}.${sig}`, 'content-type': 'application/json' },
            body: JSON.stringify(params),
        });
        const j = await res.json();
        assert.equal(j.error, undefined, `${method}: ${JSON.stringify(j)}`);
        return j;
    };
}

test('to.list_id: one e-mail per member of the group of that name or id; unknown, empty and foreign lists', async () => {
    const { sink, srv, api } = await setup();
    const b = await newOrg(srv, 'lst');
    const apiB = api.withOrg(null);
    apiB.key = b.key;
    const p = uniq('ls');
    const N = 25;
    const users = makeUsers(N, p);
    await apiB.createUsers(users);
    const vox = await voxFor(srv, b.org);
    const team = await vox('AddSkill', { skill_name: `team${p}` });
    await vox('BindSkill', { skill_name: `team${p}`, user_id: 'all' });
    await vox('AddSkill', { skill_name: `empty${p}` });
    const client = courier(srv, b.key);
    const jobId = await runJob(client, { content: { title: 'Hi {{given_name}}', body: 'News: {{news}}' } }, [
        { to: { list_id: `team${p}` }, data: { news: 'by name' } },
        { to: { list_id: String(team.skill_id) }, profile: { email: 'everyone@example.com' }, data: { news: 'by id' } },
        { to: { list_id: 'no-such-list' } },
        { to: { list_id: `empty${p}` } },
        { profile: { email: `${p}single@example.com` } },
    ]);
    const items = await settled(client, jobId, 5);
    assert.equal(items[0].status, 'ENQUEUED', JSON.stringify(items[0]));
    assert.equal(items[0].listMessages, N);
    assert.equal(items[0].listSkipped, 0);
    assert.match(items[0].messageId, /^1-/);
    assert.equal(items[1].listMessages, N);
    assert.equal(items[2].status, 'ERROR');
    assert.match(items[2].error, /list "no-such-list" is not a group of this organization/);
    assert.equal(items[3].status, 'ERROR');
    assert.match(items[3].error, /has no members/);
    assert.equal(items[4].status, 'ENQUEUED');
    assert.equal(items[4].listMessages, undefined);
    const mails = await mailsTo(sink, (m) => m.rcpt.startsWith(p) && m.rcpt !== `${p}single@example.com`, 2 * N);
    assert.equal(mails.length, 2 * N, 'two e-mails per member: one per list item');
    for (let i = 0; i < N; i++) {
        const mine = mails.filter((m) => m.rcpt === users[i].email);
        assert.equal(mine.length, 2, `member ${i}`);
        assert.deepEqual(mine.map((m) => m.text).sort(), ['News: by id', 'News: by name']);
        assert.equal(mine[0].subject, `Hi ${users[i].firstname}`);
    }
    assert.equal(sink.tries('everyone@example.com'), 0, "the item's own profile is not every member's address");
    assert.equal(new Set(mails.map((m) => m.message_id)).size, 2 * N, 'each member has its own message');
    const first = await client.messages.retrieve(items[0].messageId);
    assert.equal(first.status, 'SENT');
    const { job } = await client.bulk.retrieveJob(jobId);
    assert.deepEqual([job.received, job.enqueued, job.failures], [5, 3, 2]);

    // org A (the bootstrap org) cannot send to org B's list
    const a = courier(srv, KEY);
    const ja = await runJob(a, { content: { title: 'x', body: 'y' } }, [{ to: { list_id: `team${p}` } }, { to: { list_id: String(team.skill_id) } }]);
    const ia = await settled(a, ja, 2);
    assert.deepEqual(ia.map((it) => it.status), ['ERROR', 'ERROR']);
    // a list_id that is not a string is refused at ingest
    const { jobId: jbad } = await a.bulk.createJob({ message: { content: { title: 'x', body: 'y' } } });
    const add = await fetch(`${srv.url}/bulk/${jbad}`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ users: [{ to: { list_id: 5 } }] }),
    });
    const added = await add.json();
    assert.equal(added.total, 0, JSON.stringify(added));
    assert.match(added.errors[0].error, /to\.list_id must be a string/);
});

test('to.list_id with 10,000 members: 10,000 messages, each delivered once', async () => {
    const { sink, srv, api } = await setup();
    const b = await newOrg(srv, 'big');
    const apiB = api.withOrg(null);
    apiB.key = b.key;
    const p = uniq('bg');
    const N = 10000;
    const users = makeUsers(N, p);
    for (let i = 0; i < N; i += 5000) await apiB.createUsers(users.slice(i, i + 5000), 120000);
    const vox = await voxFor(srv, b.org);
    await vox('AddSkill', { skill_name: 'everyone' });
    await vox('BindSkill', { skill_name: 'everyone', user_id: 'all' });
    const client = courier(srv, b.key);
    const jobId = await runJob(client, { content: { title: 'All hands {{username}}', body: 'Hello' } }, [{ to: { list_id: 'everyone' } }]);
    const [it] = await settled(client, jobId, 1, 300000);
    assert.equal(it.listMessages, N);
    const mails = await mailsTo(sink, (m) => m.rcpt.startsWith(p), N, 300000);
    assert.equal(mails.length, N);
    assert.equal(new Set(mails.map((m) => m.rcpt)).size, N, 'every member once');
    assert.equal(new Set(mails.map((m) => m.message_id)).size, N, 'unique Message-IDs');
});
