// HTTPS: `roster serve --tls-cert/--tls-key` (and ROSTER_TLS_CERT/ROSTER_TLS_KEY) serves the
// same routes over TLS with a self-signed certificate this test makes with openssl; a
// client that does not trust it is refused, plain HTTP on the TLS port gets no answer, and
// a missing or mismatched key file stops the server at start.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
    startServer, cleanup, tempDir, tlsFiles, httpsRequest, uniq, assertError, BIN, HEX24,
} from './harness.mjs';

let srv;
let admin;
let tlsDir;
let tls;

before(async () => {
    tlsDir = tempDir('tls');
    tls = tlsFiles(tlsDir);
    srv = await startServer({ tls });
    admin = srv.api(srv.adminKey);
});
after(async () => {
    await cleanup(srv);
    if (!process.env.ROSTER_KEEP_TMP) rmSync(tlsDir, { recursive: true, force: true });
});

describe('HTTPS listener', () => {
    test('prints an https:// listening line', () => {
        assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    test('JumpCloud v1 create, get, list and delete work over TLS', async () => {
        const p = uniq('tls');
        const c = await admin.post('/api/systemusers', { username: `${p}u`, email: `${p}u@example.test` });
        assert.equal(c.status, 200, c.text);
        assert.match(c.json._id, HEX24);
        const g = await admin.get(`/api/systemusers/${c.json._id}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.username, `${p}u`);
        const l = await admin.get(`/api/systemusers?filter=username:eq:${p}u`);
        assert.equal(l.status, 200, l.text);
        assert.equal(l.json.totalCount, 1);
        const d = await admin.del(`/api/systemusers/${c.json._id}`);
        assert.equal(d.status, 200, d.text);
        assertError(await admin.get(`/api/systemusers/${c.json._id}`), 404);
    });

    test('a bulk job and its results work over TLS', async () => {
        const p = uniq('tlsb');
        const ids = await admin.createUsers([
            { username: `${p}a`, email: `${p}a@example.test` },
            { username: `${p}b`, email: `${p}b@example.test` },
        ]);
        assert.equal(ids.length, 2);
    });

    test('errors keep their vendor shape over TLS (401 without a key)', async () => {
        assertError(await admin.get('/api/systemusers', { key: null }), 401);
    });

    test('a client that does not trust the certificate is refused', async () => {
        await assert.rejects(httpsRequest(`${srv.url}/healthz`, {}), (e) =>
            ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN'].includes(e.code));
    });

    test('plain HTTP on the TLS port gets no HTTP answer', async () => {
        const url = srv.url.replace('https://', 'http://');
        await assert.rejects(fetch(`${url}/healthz`));
    });

    test('many requests on one kept-alive TLS connection', async () => {
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: srv.ca });
        try {
            for (let i = 0; i < 20; i++) {
                const status = await new Promise((resolve, reject) => {
                    const u = new URL(`${srv.url}/healthz`);
                    https.get({ host: u.hostname, port: u.port, path: u.pathname, agent }, (res) => {
                        res.resume();
                        res.on('end', () => resolve(res.statusCode));
                    }).on('error', reject);
                });
                assert.equal(status, 200);
            }
        } finally {
            agent.destroy();
        }
    });
});

/* What openssl s_client negotiates with a server: the protocol and cipher, or null when the
 * handshake fails. */
function negotiate(url, args) {
    const port = new URL(url).port;
    const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
        { input: '', encoding: 'utf8', timeout: 15000 });
    const m = /^New, (\S+), Cipher is (\S+)/m.exec(r.stdout);
    return m && m[2] !== '(NONE)' ? `${m[1]} ${m[2]}` : null;
}

describe('TLS versions and key exchanges (issue 14)', () => {
    test('TLS 1.0/1.1 and plain-RSA key exchange are refused; ECDHE and TLS 1.3 work', () => {
        assert.equal(negotiate(srv.url, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']), null);
        assert.equal(negotiate(srv.url, ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0']), null);
        assert.equal(negotiate(srv.url, ['-tls1_2', '-cipher', 'AES128-SHA']), null);
        assert.equal(negotiate(srv.url, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']), null);
        assert.equal(negotiate(srv.url, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']),
            'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
        assert.match(negotiate(srv.url, ['-tls1_3']) || '', /^TLSv1\.3 /);
    });

    test('--tls-priorities changes what is negotiated; a bad string stops the server', async () => {
        const s = await startServer({ tls, tlsPriorities: 'NORMAL:-VERS-ALL:+VERS-TLS1.2' });
        try {
            assert.equal(negotiate(s.url, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']),
                'TLSv1.2 AES128-GCM-SHA256');
            assert.equal(negotiate(s.url, ['-tls1_3']), null);
        } finally {
            await cleanup(s);
        }
        const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', path.join(tlsDir, 'prio.db'),
            '--tls-cert', tls.cert, '--tls-key', tls.key, '--tls-priorities', 'NOT-A-PRIORITY'],
        { encoding: 'utf8', timeout: 20000 });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /tls-priorities/);
    });
});

describe('TLS configuration', () => {
    test('ROSTER_TLS_CERT/ROSTER_TLS_KEY configure HTTPS too', async () => {
        const s = await startServer({ tls, useEnv: true });
        try {
            assert.match(s.url, /^https:\/\//);
            const r = await httpsRequest(`${s.url}/healthz`, { ca: s.ca });
            assert.equal(r.status, 200);
            assert.deepEqual(r.json, { status: 'ok' });
        } finally {
            await cleanup(s);
        }
    });

    let nrun = 0;
    const run = (args) => spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store',
        path.join(tlsDir, `bad${++nrun}.db`), ...args], { encoding: 'utf8', timeout: 20000 });

    test('--tls-cert without --tls-key is refused at start (exit 2)', () => {
        const r = run(['--tls-cert', tls.cert]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /--tls-cert and --tls-key go together/);
    });

    test('a missing key file is refused at start, naming the file', () => {
        const r = run(['--tls-cert', tls.cert, '--tls-key', path.join(tlsDir, 'nope.pem')]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /nope\.pem/);
    });

    test('a key that is not PEM stops the server with an error', () => {
        const bad = path.join(tlsDir, 'bad-key.pem');
        writeFileSync(bad, 'not a key\n');
        const r = run(['--tls-cert', tls.cert, '--tls-key', bad]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /TLS/);
    });
});
