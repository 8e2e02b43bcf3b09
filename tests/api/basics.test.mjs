// API basics against a real server: health, authentication and x-org-id, the JumpCloud
// error body, 404/405/413/415/400 handling, query-parameter validation, the v1
// /api/systemusers single-user CRUD paths and configuration through ROSTER_* env vars.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import {
    startServer, cleanup, cliOrg, cliKey, assertError, rawRequest, uniq, tempDir, BIN, HEX24, RFC3339,
} from './harness.mjs';

let srv;
let admin;
const MAX_BODY = 256 * 1024;

before(async () => {
    srv = await startServer({ maxBody: MAX_BODY });
    admin = srv.api(srv.adminKey);
});
after(async () => {
    await cleanup(srv);
});

function newUser(tag) {
    const p = uniq(tag);
    return { username: `${p}u`, email: `${p}u@example.test`, firstname: 'Ada', lastname: 'Lovelace' };
}

describe('server startup', () => {
    test('prints listening line and admin key line on a fresh store', () => {
        assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(srv.port > 0);
        assert.ok(srv.adminKey && srv.adminKey.length >= 16, 'admin key printed');
        assert.match(srv.orgId, HEX24);
    });

    test('GET /healthz -> 200 {"status":"ok"} without auth', async () => {
        const r = await fetch(`${srv.url}/healthz`);
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { status: 'ok' });
    });

    test('GET /readyz -> 200 {"status":"ready"} while the store answers, without auth', async () => {
        const r = await fetch(`${srv.url}/readyz`);
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { status: 'ready' });
    });
});

describe('authentication', () => {
    const routes = [
        ['GET', '/api/systemusers'],
        ['POST', '/api/systemusers'],
        ['GET', '/api/systemusers/0123456789abcdef01234567'],
        ['PUT', '/api/systemusers/0123456789abcdef01234567'],
        ['DELETE', '/api/systemusers/0123456789abcdef01234567'],
        ['POST', '/api/v2/bulk/users'],
        ['PATCH', '/api/v2/bulk/users'],
        ['GET', '/api/v2/bulk/users/0123456789abcdef01234567/results'],
    ];
    for (const [m, p] of routes) {
        test(`${m} ${p}: missing x-api-key -> 401`, async () => {
            const body = m === 'GET' || m === 'DELETE' ? undefined : (p.includes('bulk') ? [] : {});
            const r = await admin.req(m, p, { key: null, body });
            assertError(r, 401);
        });
        test(`${m} ${p}: unknown x-api-key -> 401`, async () => {
            const body = m === 'GET' || m === 'DELETE' ? undefined : (p.includes('bulk') ? [] : {});
            const r = await admin.req(m, p, { key: 'not-a-real-key-0123456789abcdef', body });
            assertError(r, 401);
        });
    }

    test('admin key without x-org-id acts for its own org', async () => {
        const r = await admin.get('/api/systemusers');
        assert.equal(r.status, 200, r.text);
        assert.equal(typeof r.json.totalCount, 'number');
        assert.ok(Array.isArray(r.json.results));
    });

    test('x-org-id not 24 hex chars -> 400', async () => {
        for (const bad of ['xyz', '0123456789abcdef0123456', '0123456789abcdef012345678', 'g123456789abcdef01234567']) {
            const r = await admin.get('/api/systemusers', { org: bad });
            assertError(r, 400, /x-org-id|org/i);
            const r2 = await admin.get('/api/v2/bulk/users/0123456789abcdef01234567/results', { org: bad });
            assertError(r2, 400, /x-org-id|org/i);
        }
    });

    test('x-org-id of no such org -> 404', async () => {
        const r = await admin.get('/api/systemusers', { org: 'ffffffffffffffffffffffff' });
        assertError(r, 404);
    });

    test('admin key may select another org; org key only its own', async () => {
        const orgB = await cliOrg(srv.store, uniq('orgb'));
        const keyB = await cliKey(srv.store, orgB);
        const r1 = await admin.get('/api/systemusers', { org: orgB });
        assert.equal(r1.status, 200, r1.text);
        assert.equal(r1.json.totalCount, 0);
        const b = srv.api(keyB);
        const r2 = await b.get('/api/systemusers');
        assert.equal(r2.status, 200, r2.text);
        const r3 = await b.get('/api/systemusers', { org: orgB });
        assert.equal(r3.status, 200, `org key with its own x-org-id: ${r3.text}`);
        const r4 = await b.get('/api/systemusers', { org: srv.orgId });
        assertError(r4, 404);
    });

    test('revoked key -> 401 (CLI key list / key revoke)', async () => {
        const org = await cliOrg(srv.store, uniq('orgrev'));
        const before1 = await srv.cli('key', 'list');
        assert.equal(before1.code, 0, before1.stderr);
        const key = await cliKey(srv.store, org);
        const k = srv.api(key);
        assert.equal((await k.get('/api/systemusers')).status, 200);
        const after1 = await srv.cli('key', 'list');
        assert.equal(after1.code, 0, after1.stderr);
        const old = new Set(before1.stdout.split('\n'));
        const added = after1.stdout.split('\n').filter((l) => l.trim() && !old.has(l));
        assert.equal(added.length, 1, `key list should show exactly one new line:\n${after1.stdout}`);
        assert.ok(!added[0].includes(key), 'key list must not show the secret');
        const tokens = added[0].split(/[\s,;|]+/).filter(Boolean);
        const keyId = tokens.find((t) => HEX24.test(t) && t !== org) ?? tokens[0];
        const rv = await srv.cli('key', 'revoke', keyId);
        assert.equal(rv.code, 0, `key revoke ${keyId}: ${rv.stderr}`);
        const r = await k.get('/api/systemusers');
        assertError(r, 401);
    });

    test('org list shows created orgs', async () => {
        const name = uniq('listed');
        const id = await cliOrg(srv.store, name);
        const r = await srv.cli('org', 'list');
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stdout.includes(id), 'org list contains the id');
        assert.ok(r.stdout.includes(name), 'org list contains the name');
    });
});

describe('routing and body errors', () => {
    test('unknown paths -> 404 with error body', async () => {
        for (const p of ['/api/nope', '/api/v2/nope', '/api/v2/bulk/users/0123456789abcdef01234567/nope',
            '/api/systemusers/0123456789abcdef01234567/extra']) {
            const r = await admin.get(p);
            assertError(r, 404);
        }
        const r = await fetch(`${srv.url}/nope`);
        assert.equal(r.status, 404);
    });

    test('wrong method on a known path -> 405', async () => {
        const cases = [
            ['DELETE', '/api/systemusers'],
            ['PUT', '/api/systemusers'],
            ['POST', '/api/systemusers/0123456789abcdef01234567'],
            ['PATCH', '/api/systemusers/0123456789abcdef01234567'],
            ['GET', '/api/v2/bulk/users'],
            ['DELETE', '/api/v2/bulk/users'],
            ['PUT', '/api/v2/bulk/users'],
            ['POST', '/api/v2/bulk/users/0123456789abcdef01234567/results'],
            ['DELETE', '/api/v2/bulk/users/0123456789abcdef01234567/results'],
        ];
        for (const [m, p] of cases) {
            const r = await admin.req(m, p, { body: m === 'GET' || m === 'DELETE' ? undefined : [] });
            assertError(r, 405);
        }
        // RFC 9110: a 405 names the methods that are allowed
        const a = await fetch(`${srv.url}/api/v2/bulk/users`, { method: 'DELETE', headers: { 'x-api-key': srv.adminKey } });
        assert.equal(a.status, 405);
        assert.equal(a.headers.get('allow'), 'POST, PATCH');
        const h = await fetch(`${srv.url}/healthz`, { method: 'POST' });
        assert.equal(h.status, 405, 'POST /healthz');
    });

    test('body over --max-body -> 413', async () => {
        const big = JSON.stringify([{ username: 'x', email: 'x@example.test', description: 'a'.repeat(MAX_BODY) }]);
        const r = await rawRequest(srv.url, {
            path: '/api/v2/bulk/users',
            headers: {
                'x-api-key': srv.adminKey, 'content-type': 'application/json',
                'content-length': Buffer.byteLength(big), 'creation-source': 'jumpcloud:bulk',
            },
            body: big,
        });
        assertError(r, 413);
        const r2 = await rawRequest(srv.url, {
            path: '/api/systemusers',
            headers: { 'x-api-key': srv.adminKey, 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) },
            body: big,
        });
        assertError(r2, 413);
        // still serving afterwards
        assert.equal((await admin.get('/api/systemusers')).status, 200);
    });

    test('chunked body over --max-body -> 413', async () => {
        const big = JSON.stringify([{ username: 'x', email: 'x@example.test', description: 'a'.repeat(MAX_BODY) }]);
        const r = await rawRequest(srv.url, {
            path: '/api/v2/bulk/users',
            headers: { 'x-api-key': srv.adminKey, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
            body: big,
        });
        assertError(r, 413);
    });

    test('non-JSON content type -> 415', async () => {
        const u = newUser('ct');
        const cases = [
            ['POST', '/api/systemusers', JSON.stringify(u)],
            ['POST', '/api/v2/bulk/users', JSON.stringify([u])],
            ['PATCH', '/api/v2/bulk/users', JSON.stringify([{ id: '0123456789abcdef01234567', firstname: 'x' }])],
        ];
        for (const [m, p, raw] of cases) {
            const r = await admin.req(m, p, { raw, contentType: 'text/plain' });
            assertError(r, 415);
            const r2 = await admin.req(m, p, { raw, contentType: 'application/x-www-form-urlencoded' });
            assertError(r2, 415);
        }
        const created = await admin.post('/api/systemusers', u);
        assert.equal(created.status, 200, created.text);
        const r = await admin.req('PUT', `/api/systemusers/${created.json._id}`, { raw: '{"firstname":"x"}', contentType: 'text/plain' });
        assertError(r, 415);
    });

    test('application/json with charset is accepted', async () => {
        const r = await admin.post('/api/systemusers', newUser('cs'), { contentType: 'application/json; charset=utf-8' });
        assert.equal(r.status, 200, r.text);
    });

    test('malformed JSON -> 400 naming line and column', async () => {
        const cases = [
            ['POST', '/api/systemusers', '{"username": "a",\n "email": }'],
            ['POST', '/api/v2/bulk/users', '[{"username": "a"'],
            ['PATCH', '/api/v2/bulk/users', '[{"id": "0123456789abcdef01234567",, }]'],
        ];
        for (const [m, p, raw] of cases) {
            const r = await admin.req(m, p, { raw, headers: { 'creation-source': 'jumpcloud:bulk' } });
            assertError(r, 400, /line\s*\d+/i);
            assert.match(r.json.message, /col(umn)?\s*\d+/i, `message should give a column: ${r.json.message}`);
        }
        const r = await admin.req('POST', '/api/systemusers', { raw: '{"username": "a",\n "email": }' });
        assert.match(r.json.message, /line\s*2\b/i, `error is on line 2: ${r.json.message}`);
    });

    test('empty body on JSON routes -> 400', async () => {
        for (const [m, p] of [['POST', '/api/systemusers'], ['POST', '/api/v2/bulk/users'], ['PATCH', '/api/v2/bulk/users']]) {
            const r = await admin.req(m, p, { raw: '' });
            assertError(r, 400);
        }
    });
});

describe('v1 /api/systemusers CRUD', () => {
    test('POST creates a user -> 200 user object', async () => {
        const u = { ...newUser('post'), employeeIdentifier: uniq('emp'), attributes: [{ name: 'a', value: 'b' }],
            phoneNumbers: [{ type: 'mobile', number: '+15551234' }] };
        const r = await admin.post('/api/systemusers', u);
        assert.equal(r.status, 200, r.text);
        assert.match(r.headers.get('content-type'), /^application\/json/);
        const o = r.json;
        assert.match(o._id, HEX24);
        assert.equal(o.username, u.username);
        assert.equal(o.email, u.email);
        assert.equal(o.firstname, 'Ada');
        assert.equal(o.lastname, 'Lovelace');
        assert.equal(o.employeeIdentifier, u.employeeIdentifier);
        assert.ok(['STAGED', 'ACTIVATED', 'SUSPENDED'].includes(o.state), `state ${o.state}`);
        assert.equal(o.attributes.length, 1);
        assert.equal(o.attributes[0].name, 'a');
        assert.equal(o.attributes[0].value, 'b');
        assert.equal(o.phoneNumbers.length, 1);
        assert.equal(o.phoneNumbers[0].number, '+15551234');
        assert.equal(o.phoneNumbers[0].type, 'mobile');
        assert.match(o.created, RFC3339);
        assert.ok(Math.abs(Date.parse(o.created) - Date.now()) < 10 * 60 * 1000, `created ${o.created} near now`);
        assert.equal(typeof o.activated, 'boolean');
        assert.equal(typeof o.suspended, 'boolean');
        const g = await admin.get(`/api/systemusers/${o._id}`);
        assert.equal(g.status, 200);
        assert.deepEqual(g.json, o);
    });

    test('POST with explicit state is kept', async () => {
        for (const st of ['STAGED', 'ACTIVATED', 'SUSPENDED']) {
            const r = await admin.post('/api/systemusers', { ...newUser('st'), state: st });
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.state, st);
        }
    });

    test('POST without email or username -> 400 naming the field', async () => {
        const u = newUser('req');
        const r1 = await admin.post('/api/systemusers', { username: u.username });
        assertError(r1, 400, /email/);
        const r2 = await admin.post('/api/systemusers', { email: u.email });
        assertError(r2, 400, /username/);
        const r3 = await admin.post('/api/systemusers', { username: u.username, email: 'not-an-email' });
        assertError(r3, 400, /email/);
        assert.ok(r3.json.message.includes('not-an-email'), `message quotes the value: ${r3.json.message}`);
        const r4 = await admin.post('/api/systemusers', [u]);
        assertError(r4, 400);
        const r5 = await admin.post('/api/systemusers', { ...u, firstname: 42 });
        assertError(r5, 400, /firstname/);
        const r6 = await admin.post('/api/systemusers', { ...u, lastname: 'x'.repeat(1025) });
        assertError(r6, 400, /lastname/);
        // nothing of those was created
        const l = await admin.get(`/api/systemusers?filter=username:eq:${u.username}`);
        assert.equal(l.json.totalCount, 0);
    });

    test('duplicate username / email / employeeIdentifier in the same org -> 409', async () => {
        const u = { ...newUser('dup'), employeeIdentifier: uniq('E') };
        assert.equal((await admin.post('/api/systemusers', u)).status, 200);
        const o = newUser('dup2');
        const r1 = await admin.post('/api/systemusers', { ...o, username: u.username });
        assertError(r1, 409, /username/);
        assert.ok(r1.json.message.includes(u.username), r1.json.message);
        const r2 = await admin.post('/api/systemusers', { ...o, email: u.email });
        assertError(r2, 409, /email/);
        assert.ok(r2.json.message.includes(u.email), r2.json.message);
        // the same username or e-mail in other letter case is the same person
        const r1c = await admin.post('/api/systemusers', { ...o, username: u.username.toUpperCase() });
        assertError(r1c, 409, /username/);
        const r2c = await admin.post('/api/systemusers', { ...o, email: u.email.toUpperCase() });
        assertError(r2c, 409, /email/);
        const r3 = await admin.post('/api/systemusers', { ...o, employeeIdentifier: u.employeeIdentifier });
        assertError(r3, 409, /employeeIdentifier/);
        assert.ok(r3.json.message.includes(u.employeeIdentifier), r3.json.message);
        // the same username is fine in another org
        const orgB = await cliOrg(srv.store, uniq('dupb'));
        const rb = await admin.withOrg(orgB).post('/api/systemusers', u);
        assert.equal(rb.status, 200, `same username in another org: ${rb.text}`);
    });

    test('GET unknown id -> 404; malformed id -> 400 or 404', async () => {
        assertError(await admin.get('/api/systemusers/0123456789abcdef01234567'), 404);
        const r = await admin.get('/api/systemusers/not-an-id');
        assert.ok([400, 404].includes(r.status), `malformed id: ${r.status}`);
        assertError(r, r.status);
    });

    test('PUT is a partial update', async () => {
        const u = { ...newUser('put'), employeeIdentifier: uniq('E'), attributes: [{ name: 'k', value: 'v' }] };
        const c = await admin.post('/api/systemusers', u);
        assert.equal(c.status, 200, c.text);
        const id = c.json._id;
        const r = await admin.put(`/api/systemusers/${id}`, { firstname: 'Grace', state: 'SUSPENDED' });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json._id, id);
        assert.equal(r.json.firstname, 'Grace');
        assert.equal(r.json.state, 'SUSPENDED');
        assert.equal(r.json.lastname, 'Lovelace');
        assert.equal(r.json.username, u.username);
        assert.equal(r.json.email, u.email);
        assert.equal(r.json.employeeIdentifier, u.employeeIdentifier);
        assert.deepEqual(r.json.attributes.map((a) => [a.name, a.value]), [['k', 'v']]);
        assert.equal(r.json.created, c.json.created);
        const g = await admin.get(`/api/systemusers/${id}`);
        assert.equal(g.json.firstname, 'Grace');
        assert.equal(g.json.state, 'SUSPENDED');
        assert.equal(g.json.lastname, 'Lovelace');
    });

    test('PUT errors: 404 unknown id, 409 duplicate, 400 invalid', async () => {
        const a = (await admin.post('/api/systemusers', newUser('pa'))).json;
        const b = (await admin.post('/api/systemusers', newUser('pb'))).json;
        assertError(await admin.put('/api/systemusers/0123456789abcdef01234567', { firstname: 'x' }), 404);
        const r1 = await admin.put(`/api/systemusers/${b._id}`, { username: a.username });
        assertError(r1, 409, /username/);
        const r2 = await admin.put(`/api/systemusers/${b._id}`, { email: 'bad' });
        assertError(r2, 400, /email/);
        const r3 = await admin.put(`/api/systemusers/${b._id}`, [1]);
        assertError(r3, 400);
        const r4 = await admin.req('PUT', `/api/systemusers/${b._id}`, { raw: '{"firstname": ' });
        assertError(r4, 400, /line\s*\d+/i);
        const g = await admin.get(`/api/systemusers/${b._id}`);
        assert.equal(g.json.username, b.username, 'failed PUTs change nothing');
        assert.equal(g.json.email, b.email);
    });

    test('DELETE returns the deleted user; then 404', async () => {
        const c = (await admin.post('/api/systemusers', newUser('del'))).json;
        const d = await admin.del(`/api/systemusers/${c._id}`);
        assert.equal(d.status, 200, d.text);
        assert.equal(d.json._id, c._id);
        assert.equal(d.json.username, c.username);
        assert.equal(d.json.email, c.email);
        assertError(await admin.get(`/api/systemusers/${c._id}`), 404);
        assertError(await admin.del(`/api/systemusers/${c._id}`), 404);
        assertError(await admin.put(`/api/systemusers/${c._id}`, { firstname: 'x' }), 404);
        // the username is free again
        const again = await admin.post('/api/systemusers', { username: c.username, email: c.email });
        assert.equal(again.status, 200, `re-create after delete: ${again.text}`);
    });
});

describe('query parameter validation', () => {
    test('limit: default 10, max 100, 101 -> 400, non-number -> 400', async () => {
        const org = await cliOrg(srv.store, uniq('lim'));
        const a = admin.withOrg(org);
        const jobId = await a.bulkCreate(Array.from({ length: 15 }, (_, i) => ({ username: `lim${i}`, email: `lim${i}@example.test` })));
        await a.waitJob(jobId, 15);
        const r = await a.get('/api/systemusers');
        assert.equal(r.status, 200);
        assert.equal(r.json.totalCount, 15);
        assert.equal(r.json.results.length, 10, 'default limit 10');
        assert.equal((await a.get('/api/systemusers?limit=100')).status, 200);
        assertError(await a.get('/api/systemusers?limit=101'), 400, /limit/);
        assertError(await a.get('/api/systemusers?limit=abc'), 400, /limit/);
        assertError(await a.get('/api/systemusers?limit=-1'), 400, /limit/);
        assertError(await a.get('/api/systemusers?skip=-1'), 400, /skip/);
        assertError(await a.get('/api/systemusers?skip=x'), 400, /skip/);
        const p = `/api/v2/bulk/users/${jobId}/results`;
        const rr = await a.get(p);
        assert.equal(rr.status, 200);
        assert.equal(rr.json.length, 10, 'results default limit 10');
        assert.equal((await a.get(`${p}?limit=100`)).json.length, 15);
        assertError(await a.get(`${p}?limit=101`), 400, /limit/);
        assertError(await a.get(`${p}?skip=-1`), 400, /skip/);
        assertError(await a.get(`${p}?limit=zz`), 400, /limit/);
    });

    test('bad filter and sort -> 400 naming them', async () => {
        assertError(await admin.get('/api/systemusers?filter=nosuchfield:eq:x'), 400, /nosuchfield/);
        assertError(await admin.get('/api/systemusers?filter=username:nosuchop:x'), 400, /nosuchop/);
        assertError(await admin.get('/api/systemusers?filter=username'), 400);
        assertError(await admin.get('/api/systemusers?sort=nosuchfield'), 400, /nosuchfield/);
    });
});

/* Sends only the request line and headers (a large body announced, none sent) and resolves
 * the first thing the server writes back (within 5 s), or '' when it writes nothing. */
function headersOnly(url, lines) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
        const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`${lines.join('\r\n')}\r\n\r\n`));
        let got = '';
        const t = setTimeout(() => { sock.destroy(); resolve(got); }, 5000);
        sock.on('data', (d) => { got += d; if (/\r\n\r\n/.test(got)) { clearTimeout(t); sock.destroy(); resolve(got); } });
        sock.on('error', (e) => { clearTimeout(t); reject(e); });
    });
}

describe('answers decided before the body (issue 14)', () => {
    // a body the limit allows (MAX_BODY is 256 KiB here), announced but never sent
    const big = ['Content-Type: application/json', 'Content-Length: 200000', 'Expect: 100-continue'];
    test('401, 404, 405, 413 and 415 come without reading the body and without 100 Continue', async () => {
        const cases = [
            [['POST /api/v2/bulk/users HTTP/1.1', 'Host: x', ...big], 401],
            [['POST /api/v2/bulk/users HTTP/1.1', 'Host: x', 'x-api-key: wrong-key', ...big], 401],
            [['POST /nope HTTP/1.1', 'Host: x', ...big], 404],
            [['DELETE /api/v2/bulk/users HTTP/1.1', 'Host: x', `x-api-key: ${srv.adminKey}`, ...big], 405],
            [['POST /api/v2/bulk/users HTTP/1.1', 'Host: x', `x-api-key: ${srv.adminKey}`, 'Content-Type: application/json',
                `Content-Length: ${MAX_BODY + 1}`, 'Expect: 100-continue'], 413],
            [['POST /api/v2/bulk/users HTTP/1.1', 'Host: x', `x-api-key: ${srv.adminKey}`, 'Content-Type: text/plain',
                'Content-Length: 1000', 'Expect: 100-continue'], 415],
        ];
        for (const [lines, status] of cases) {
            const got = await headersOnly(srv.url, lines);
            assert.match(got, new RegExp(`^HTTP/1\\.1 ${status} `), `${lines[0]} -> ${JSON.stringify(got.slice(0, 80))}`);
        }
    });

    test('a request that will be read gets its 100 Continue', async () => {
        const got = await headersOnly(srv.url, ['POST /api/v2/bulk/users HTTP/1.1', 'Host: x', `x-api-key: ${srv.adminKey}`,
            'Content-Type: application/json', 'Content-Length: 1000', 'Expect: 100-continue']);
        assert.match(got, /^HTTP\/1\.1 100 /);
    });
});

/* A server started with these extra flags on a fresh store; resolves {url, key, stop}. */
async function startWith(flags) {
    const dir = tempDir('limits');
    const key = 'limits-test-bootstrap-key-0123456789abcdef';
    const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', path.join(dir, 'r.db'), ...flags],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROSTER_BOOTSTRAP_KEY: key } });
    const url = await new Promise((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20000);
        proc.stdout.on('data', (d) => {
            out += d;
            const m = /listening (http:\/\/\S+)/.exec(out);
            if (m) { clearTimeout(t); resolve(m[1]); }
        });
        proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${out}`)); });
    });
    const stop = async () => {
        proc.kill('SIGTERM');
        await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.on('exit', resolve)));
        rmSync(dir, { recursive: true, force: true });
    };
    return { url, key, stop };
}

/* Opens a connection and resolves it once connected. */
function connect(url) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
        const sock = net.connect(Number(u.port), u.hostname, () => resolve(sock));
        sock.on('error', reject);
    });
}

/* Whether the server answers a /healthz request on sock within 3 s. */
function answers(sock) {
    return new Promise((resolve) => {
        let got = '';
        const t = setTimeout(() => resolve(false), 3000);
        sock.on('data', (d) => { got += d; if (/\r\n\r\n/.test(got)) { clearTimeout(t); resolve(/^HTTP\/1\.1 200 /.test(got)); } });
        sock.on('close', () => { clearTimeout(t); resolve(/^HTTP\/1\.1 200 /.test(got)); });
        sock.on('error', () => {});
        sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
}

describe('connection limits (issue 14)', () => {
    test('--max-conns-per-ip: the connection past the limit is closed; a freed slot is reused', async () => {
        const s = await startWith(['--max-conns-per-ip', '4']);
        const socks = [];
        try {
            for (let i = 0; i < 4; i++) socks.push(await connect(s.url));
            const fifth = await connect(s.url);
            socks.push(fifth);
            assert.equal(await answers(fifth), false, 'the fifth connection from one address is refused');
            assert.equal(await answers(socks[0]), true, 'the first four are served');
            socks[1].destroy();
            await new Promise((r) => setTimeout(r, 200));
            const again = await connect(s.url);
            socks.push(again);
            assert.equal(await answers(again), true, 'a freed slot takes a new connection');
        } finally {
            socks.forEach((k) => k.destroy());
            await s.stop();
        }
    });

    test('--body-timeout: a body still arriving after the deadline loses its connection', async () => {
        const s = await startWith(['--body-timeout', '1']);
        try {
            const sock = await connect(s.url);
            const closed = new Promise((resolve) => { sock.on('close', () => resolve(true)); sock.on('error', () => {}); });
            let got = '';
            sock.on('data', (d) => { got += d; });
            sock.write(`POST /api/v2/bulk/users HTTP/1.1\r\nHost: x\r\nx-api-key: ${s.key}\r\n` +
                'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[');
            // one byte every 300 ms: never idle, but slower than the deadline allows
            for (let i = 0; i < 10 && !sock.destroyed; i++) {
                await new Promise((r) => setTimeout(r, 300));
                if (!sock.destroyed) sock.write(' ');
            }
            const done = await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 5000))]);
            assert.equal(done, true, 'the server closed the connection');
            assert.doesNotMatch(got, /^HTTP\/1\.1 201/, 'the request was not accepted');
        } finally {
            await s.stop();
        }
    });

    /* Resolves the seconds until the server closed sock, or null when it was still open after
     * waitMs; meanwhile calls trickle() every 300 ms (a byte at a time: never idle). */
    async function secondsUntilClosed(sock, trickle, waitMs) {
        const t0 = Date.now();
        const closed = new Promise((resolve) => { sock.on('close', () => resolve(true)); sock.on('error', () => {}); });
        let open = true;
        closed.then(() => { open = false; });
        while (open && Date.now() - t0 < waitMs) {
            await new Promise((r) => setTimeout(r, 300));
            if (open && trickle) trickle();
        }
        return open ? null : (Date.now() - t0) / 1000;
    }

    test('--header-timeout: headers trickling in byte by byte lose their connection at the deadline', async () => {
        const s = await startWith(['--header-timeout', '2']);
        try {
            const sock = await connect(s.url);
            let got = '';
            sock.on('data', (d) => { got += d; });
            sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
            let n = 0;
            const secs = await secondsUntilClosed(sock, () => sock.write(`X-Slow-${n++}: a\r\n`), 8000);
            assert.notEqual(secs, null, 'the server closed the connection (idle timeout is 30 s)');
            assert.ok(secs >= 1.5 && secs < 5, `closed after ${secs} s, deadline 2 s`);
            assert.equal(got, '', 'no answer to an unfinished request');
            const again = await connect(s.url);
            assert.equal(await answers(again), true, 'the server still answers');
            again.destroy();
        } finally {
            await s.stop();
        }
    });

    test('--header-timeout: a kept-alive connection must start its next request within the deadline', async () => {
        const s = await startWith(['--header-timeout', '2']);
        try {
            const sock = await connect(s.url);
            assert.equal(await answers(sock), true);
            const secs = await secondsUntilClosed(sock, null, 8000);
            assert.notEqual(secs, null, 'the idle kept-alive connection was closed');
            assert.ok(secs >= 1.5 && secs < 5, `closed after ${secs} s, deadline 2 s`);
        } finally {
            await s.stop();
        }
    });

    test('--body-timeout: a body that stops arriving loses its connection at the deadline, not at the idle timeout', async () => {
        const s = await startWith(['--body-timeout', '2']);
        try {
            const sock = await connect(s.url);
            let got = '';
            sock.on('data', (d) => { got += d; });
            sock.write(`POST /api/v2/bulk/users HTTP/1.1\r\nHost: x\r\nx-api-key: ${s.key}\r\n` +
                'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[');
            const secs = await secondsUntilClosed(sock, null, 8000);
            assert.notEqual(secs, null, 'the server closed the connection (idle timeout is 30 s)');
            assert.ok(secs >= 1.5 && secs < 5, `closed after ${secs} s, deadline 2 s`);
            assert.doesNotMatch(got, /^HTTP\/1\.1 201/, 'the request was not accepted');
        } finally {
            await s.stop();
        }
    });
});

describe('configuration through environment variables', () => {
    test('ROSTER_* env and ROSTER_BOOTSTRAP_KEY', async () => {
        const key = 'bootstrap-key-0123456789abcdef-env';
        const s = await startServer({ useEnv: true, bootstrapKey: key, maxBody: 4096 });
        try {
            assert.equal(s.adminKey, key, 'admin key line shows the bootstrap key');
            const a = s.api(key);
            const r = await a.get('/api/systemusers');
            assert.equal(r.status, 200, r.text);
            const big = JSON.stringify({ username: 'x', email: 'x@example.test', description: 'a'.repeat(5000) });
            const r2 = await rawRequest(s.url, {
                path: '/api/systemusers',
                headers: { 'x-api-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) },
                body: big,
            });
            assertError(r2, 413);
            const ok = await a.post('/api/systemusers', { username: 'small', email: 'small@example.test' });
            assert.equal(ok.status, 200, ok.text);
        } finally {
            await cleanup(s);
        }
    });

    test('a short or unprintable ROSTER_BOOTSTRAP_KEY is refused at start (exit 2)', () => {
        const dir = tempDir('bootkey');
        const run = (key) => spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', path.join(dir, 'r.db')],
            { encoding: 'utf8', timeout: 20000, env: { ...process.env, ROSTER_BOOTSTRAP_KEY: key } });
        try {
            for (const key of ['short', 'x'.repeat(31), 'x'.repeat(257), 'with a space 0123456789abcdef012345', 'tab\t0123456789abcdef0123456789abcdef']) {
                const r = run(key);
                assert.equal(r.status, 2, `${JSON.stringify(key)}: ${r.stderr}`);
                assert.match(r.stderr, /ROSTER_BOOTSTRAP_KEY must be/);
                assert.equal(existsSync(path.join(dir, 'r.db')), false, 'nothing stored with a refused key');
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('store passwords never appear in errors (serve and the admin commands)', () => {
        // nothing listens on port 1: the connection fails and the URL is shown in the error
        const url = 'postgresql://alice:S3cretPw@127.0.0.1:1/roster?sslmode=disable&password=Pw2Secret';
        const serve = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', url],
            { encoding: 'utf8', timeout: 20000 });
        const org = spawnSync(BIN, ['org', 'list', '--store', url], { encoding: 'utf8', timeout: 20000 });
        for (const r of [serve, org]) {
            assert.equal(r.status, 1, r.stderr);
            assert.match(r.stderr, /cannot open store postgresql:\/\/alice:\*\*\*@127\.0\.0\.1:1\/roster\?sslmode=disable&password=\*\*\*/);
            assert.doesNotMatch(r.stderr + r.stdout, /S3cretPw|Pw2Secret/);
        }
    });

    test('store files are private: directories 0700, files 0600', async () => {
        const dir = tempDir('modes');
        const store = path.join(dir, 'data', 'sub', 'r.db');
        const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', store], { stdio: ['ignore', 'pipe', 'pipe'] });
        try {
            await new Promise((resolve, reject) => {
                let out = '';
                const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20000);
                proc.stdout.on('data', (d) => { out += d; if (/listening/.test(out)) { clearTimeout(t); resolve(); } });
                proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${out}`)); });
            });
            const mode = (p) => (statSync(p).mode & 0o777).toString(8);
            assert.equal(mode(path.join(dir, 'data')), '700');
            assert.equal(mode(path.join(dir, 'data', 'sub')), '700');
            for (const f of ['r.db', 'r.db-wal', 'r.db-shm', 'r.db.jobs'])
                assert.equal(mode(path.join(dir, 'data', 'sub', f)), '600', f);
        } finally {
            proc.kill('SIGTERM');
            await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.on('exit', resolve)));
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('SIGTERM -> exit code 0', async () => {
        const s = await startServer({});
        try {
            const r = await s.stop('SIGTERM');
            assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
        } finally {
            await cleanup(s);
        }
    });
});

