// Voximplant Management API against a real roster over HTTPS, driven by the official client
// @voximplant/apiclient-nodejs (pinned in package-lock.json). The client only speaks https
// to a fixed /platform_api path, so the test makes a self-signed certificate with openssl and
// runs the client in a child process started with NODE_EXTRA_CA_CERTS=<that certificate>
// (this same file, in client mode: VOX_CLIENT_CHILD=1). Credentials come from
// `roster key create-service-account`. Also: the other transports (urlencoded, JSON, query
// string), hand-made tokens that must be refused with code 100, tenant isolation, and users
// shared with the JumpCloud dialect.

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

if (process.env.VOX_CLIENT_CHILD === '1') {
    // --- client mode: one VoximplantApiClient per credentials file, calls from the parent ---
    const VoximplantApiClient = require('@voximplant/apiclient-nodejs').default;
    const clients = new Map();
    const clientFor = (creds, host, accountId) => {
        const key = `${creds}|${host}|${accountId ?? ''}`;
        if (!clients.has(key)) {
            clients.set(key, new Promise((resolve) => {
                const opts = { pathToCredentials: creds, host };
                if (accountId !== undefined) opts.accountId = accountId;
                const c = new VoximplantApiClient(opts);
                c.onReady = () => resolve(c);
            }));
        }
        return clients.get(key);
    };
    process.on('message', async (m) => {
        try {
            const c = await clientFor(m.creds, m.host, m.accountId);
            const value = await c[m.group][m.method](m.args);
            process.send({ id: m.id, ok: true, value });
        } catch (e) {
            process.send({ id: m.id, ok: false, error: e.message, status: e.response?.status, data: e.response?.data });
        }
    });
    process.send({ ready: true });
} else {
    await runTests();
}

async function runTests() {
    const { test, before, after, describe } = await import('node:test');
    const assert = (await import('node:assert/strict')).default;
    const h = await import('./harness.mjs');
    const { startServer, cleanup, tempDir, tlsFiles, httpsRequest, storeQuery } = h;

    let srv;
    let dir;
    let tls;
    let child;
    let host;
    let credsA; // path of org A's (the bootstrap org's) credentials.json
    let credA; // its parsed content
    let orgB;
    let credsB;
    let credB;
    let seq = 0;
    const pending = new Map();

    /** Calls client[group][method](args) in the child; resolves the client's value. */
    function vox(group, method, args = {}, { creds = credsA, accountId } = {}) {
        const id = ++seq;
        return new Promise((resolve, reject) => {
            pending.set(id, { resolve, reject });
            child.send({ id, creds, host, accountId, group, method, args });
        });
    }
    async function voxOk(group, method, args, o) {
        const r = await vox(group, method, args, o);
        assert.ok(r.ok, `${method} threw: ${r.error} ${JSON.stringify(r.data)}`);
        assert.equal(r.value.error, undefined, `${method}: ${JSON.stringify(r.value.error)}`);
        return r.value;
    }
    async function voxErr(group, method, args, code, o) {
        const r = await vox(group, method, args, o);
        assert.ok(r.ok, `${method} threw: ${r.error} ${JSON.stringify(r.data)}`);
        assert.ok(r.value.error, `${method} should fail with code ${code}: ${JSON.stringify(r.value)}`);
        assert.equal(r.value.error.code, code, `${method}: ${JSON.stringify(r.value.error)}`);
        assert.equal(typeof r.value.error.msg, 'string');
        assert.ok(r.value.error.msg.length > 0);
        return r.value.error;
    }

    /** A raw request to the server (https, trusting the test certificate). */
    function raw(p, { method = 'POST', body, contentType, token } = {}) {
        const headers = {};
        if (token !== null) headers.authorization = `Bearer ${token ?? signToken(credA)}`;
        if (contentType) headers['content-type'] = contentType;
        return httpsRequest(`${srv.url}${p}`, { method, headers, body, ca: srv.ca });
    }

    const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
    /** A JWT like the client's: RS256 over {iss, iat, exp} with kid; pieces can be overridden. */
    function signToken(cred, { header = {}, claims = {}, key } = {}) {
        const now = Math.floor(Date.now() / 1000);
        const hd = { alg: 'RS256', typ: 'JWT', kid: cred.key_id, ...header };
        const pl = { iss: cred.account_id, iat: now, exp: now + 64, ...claims };
        const input = `${b64u(hd)}.${b64u(pl)}`;
        const sig = crypto.sign('sha256', Buffer.from(input), key ?? cred.private_key);
        return `${input}.${sig.toString('base64url')}`;
    }

    async function serviceAccount(org) {
        const r = await srv.cli('key', 'create-service-account', '--org', org);
        assert.equal(r.code, 0, r.stderr);
        const cred = JSON.parse(r.stdout);
        const file = path.join(dir, `creds-${org}-${cred.key_id}.json`);
        writeFileSync(file, r.stdout);
        return { file, cred };
    }

    async function orgNum(org) {
        const r = await srv.cli('org', 'list');
        const line = r.stdout.split('\n').find((l) => l.startsWith(org));
        return Number(line.split('\t')[1]);
    }

    before(async () => {
        dir = tempDir('vox');
        tls = tlsFiles(dir);
        srv = await startServer({ tls });
        host = `127.0.0.1:${srv.port}`;
        ({ file: credsA, cred: credA } = await serviceAccount(srv.orgId));
        const r = await srv.cli('org', 'create', 'other');
        orgB = r.stdout.trim();
        ({ file: credsB, cred: credB } = await serviceAccount(orgB));
        const env = { ...process.env, VOX_CLIENT_CHILD: '1', NODE_EXTRA_CA_CERTS: tls.cert };
        delete env.NODE_TEST_CONTEXT;
        delete env.NODE_OPTIONS;
        child = fork(fileURLToPath(import.meta.url), [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        await new Promise((resolve, reject) => {
            child.once('error', reject);
            child.on('message', (m) => {
                if (m.ready) return resolve();
                const p = pending.get(m.id);
                pending.delete(m.id);
                if (p) p.resolve(m);
            });
        });
    });
    after(async () => {
        if (child) child.kill();
        await cleanup(srv);
        if (!process.env.ROSTER_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    });

    describe('service accounts', () => {
        test('key create-service-account prints credentials.json as the client reads it', async () => {
            assert.deepEqual(Object.keys(credA).sort(), ['account_email', 'account_id', 'key_id', 'private_key']);
            assert.equal(credA.account_id, await orgNum(srv.orgId), 'account_id is the numeric org id');
            assert.equal(typeof credA.account_id, 'number');
            assert.match(credA.key_id, /^[0-9a-f]{24}$/);
            assert.match(credA.private_key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
            assert.match(credA.account_email, /@/);
            assert.notEqual(credA.key_id, credB.key_id);
        });

        test('the store keeps the public key only', async () => {
            const rows = await storeQuery(srv.store, `SELECT public_key FROM service_keys WHERE id = '${credA.key_id}'`);
            assert.equal(rows.length > 0, true);
            const pem = rows.join('\n');
            assert.match(pem, /BEGIN PUBLIC KEY/);
            assert.doesNotMatch(pem, /PRIVATE/);
            const pub = crypto.createPublicKey(credA.private_key).export({ type: 'spki', format: 'pem' });
            assert.equal(pem.trim(), pub.trim());
        });

        test('an unknown organization is refused', async () => {
            const r = await srv.cli('key', 'create-service-account', '--org', '0123456789abcdef01234567');
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /not found/);
        });
    });

    // fixtures made through the client, checked by the tests below
    const apps = {};
    const skills = {};
    const queues = {};
    const users = {}; // name -> user_id
    const AGENTS = [
        // name, display name, active, skills, queues
        ['anna', 'Anna Schmidt', true, ['English', 'German'], ['billing']],
        ['bob', 'Bob Jones', true, ['English'], ['billing', 'tech']],
        ['carla', 'Carla Jones', false, ['German'], []],
        ['dave', 'Dave Brown', true, [], ['tech']],
        ['erin', 'Erin Smith', true, ['French', 'English'], []],
    ];

    describe('applications, skills, queues, users (official client, HTTPS, chunked multipart)', () => {
        test('AddApplication and GetApplications', async () => {
            for (const name of ['support', 'sales']) {
                const r = await voxOk('Applications', 'addApplication', { applicationName: name });
                assert.equal(r.result, 1);
                assert.equal(r.applicationName, name);
                assert.ok(Number.isInteger(r.applicationId) && r.applicationId > 0);
                apps[name] = r.applicationId;
            }
            await voxErr('Applications', 'addApplication', { applicationName: 'support' }, 107);
            await voxErr('Applications', 'addApplication', { applicationName: 'Bad Name!' }, 107);
            const all = await voxOk('Applications', 'getApplications', {});
            assert.equal(all.totalCount, 2);
            assert.deepEqual(all.result.map((a) => a.applicationName), ['support', 'sales']);
            assert.match(all.result[0].modified.toISOString?.() ?? String(all.result[0].modified), /\d/);
            const one = await voxOk('Applications', 'getApplications', { applicationId: apps.sales });
            assert.deepEqual(one.result.map((a) => a.applicationId), [apps.sales]);
            const page = await voxOk('Applications', 'getApplications', { count: 1, offset: 1 });
            assert.equal(page.totalCount, 2);
            assert.equal(page.count, 1);
            assert.equal(page.result[0].applicationName, 'sales');
        });

        test('AddSkill, SetSkillInfo, GetSkills', async () => {
            for (const name of ['English', 'German', 'Frnch']) {
                const r = await voxOk('Skills', 'addSkill', { skillName: name });
                assert.equal(r.result, 1);
                skills[name] = r.skillId;
            }
            await voxOk('Skills', 'setSkillInfo', { skillId: skills.Frnch, newSkillName: 'French' });
            skills.French = skills.Frnch;
            delete skills.Frnch;
            await voxErr('Skills', 'addSkill', { skillName: 'English' }, 101);
            const all = await voxOk('Skills', 'getSkills', {});
            assert.equal(all.totalCount, 3);
            assert.deepEqual(all.result.map((s) => [s.skill_id ?? s.skillId, s.skill_name ?? s.skillName]),
                [[skills.English, 'English'], [skills.German, 'German'], [skills.French, 'French']]);
            const part = await voxOk('Skills', 'getSkills', { skillName: 'man' });
            assert.deepEqual(part.result.map((s) => s.skill_name ?? s.skillName), ['German']);
        });

        test('AddQueue and GetQueues', async () => {
            for (const name of ['billing', 'tech']) {
                const r = await voxOk('Queues', 'addQueue', { acdQueueName: name, applicationId: apps.support, acdQueuePriority: 5 });
                assert.equal(r.result, 1);
                queues[name] = r.acdQueueId;
            }
            await voxErr('Queues', 'addQueue', { acdQueueName: 'noapp' }, 101);
            const all = await voxOk('Queues', 'getQueues', { applicationId: apps.support });
            assert.equal(all.totalCount, 2);
            const q = all.result[0];
            assert.equal(q.acd_queue_name ?? q.acdQueueName, 'billing');
            assert.equal(q.application_id ?? q.applicationId, apps.support);
            assert.equal(q.acd_queue_priority ?? q.acdQueuePriority, 5);
            const none = await voxOk('Queues', 'getQueues', { applicationId: apps.sales });
            assert.equal(none.totalCount, 0);
        });

        test('AddUser binds each user to its application; bad input is refused', async () => {
            for (const [name, display, active] of AGENTS) {
                const r = await voxOk('Users', 'addUser', {
                    userName: name, userDisplayName: display, userPassword: 'Secr3t!pass',
                    applicationId: apps.support, userActive: active, userCustomData: `cd-${name}`,
                });
                assert.equal(r.result, 1);
                assert.ok(Number.isInteger(r.userId) && r.userId > 0);
                users[name] = r.userId;
            }
            const s = await voxOk('Users', 'addUser', {
                userName: 'sam', userDisplayName: 'Sam Sales', userPassword: 'Secr3t!pass', applicationName: 'sales',
            });
            users.sam = s.userId;
            await voxErr('Users', 'addUser', { userName: 'anna', userDisplayName: 'x', userPassword: 'Secr3t!pass', applicationId: apps.support }, 101);
            await voxErr('Users', 'addUser', { userName: 'weak', userDisplayName: 'x', userPassword: 'short', applicationId: apps.support }, 112);
            await voxErr('Users', 'addUser', { userName: 'Bad Name', userDisplayName: 'x', userPassword: 'Secr3t!pass', applicationId: apps.support }, 101);
            await voxErr('Users', 'addUser', { userName: 'noapp', userDisplayName: 'x', userPassword: 'Secr3t!pass' }, 101);
            await voxErr('Users', 'addUser', { userName: 'ghostapp', userDisplayName: 'x', userPassword: 'Secr3t!pass', applicationId: 999999 }, 101);
            // nothing half-made by the refused calls
            const all = await voxOk('Users', 'getUsers', { count: 100 });
            assert.deepEqual(all.result.map((u) => u.userName).filter((n) => !n.startsWith('jc')).sort(),
                ['anna', 'bob', 'carla', 'dave', 'erin', 'sam']);
        });

        test('passwords are stored as yescrypt hashes and never returned', async () => {
            const rows = await storeQuery(srv.store,
                `SELECT s.password_hash FROM user_secrets s JOIN users u ON u.num_id = s.user_num WHERE u.username = 'anna'`);
            assert.equal(rows.length, 1);
            assert.match(rows[0], /^\$y\$/);
            assert.doesNotMatch(rows[0], /Secr3t/);
            const r = await raw('/platform_api/GetUsers?user_name=anna&with_skills=true&with_queues=true', {});
            assert.doesNotMatch(r.text, /Secr3t|\$y\$|password/i);
        });

        test('BindSkill and BindUserToQueue', async () => {
            for (const [name, , , sk, qs] of AGENTS) {
                for (const s of sk) await voxOk('Skills', 'bindSkill', { skillId: skills[s], userId: users[name], applicationId: apps.support });
                if (qs.length) {
                    await voxOk('Queues', 'bindUserToQueue', {
                        applicationId: apps.support, userId: users[name], acdQueueId: qs.map((q) => queues[q]).join(';'),
                    });
                }
            }
            // by names, and unbinding
            await voxOk('Skills', 'bindSkill', { skillName: 'French', userName: 'dave', applicationName: 'support' });
            await voxOk('Skills', 'bindSkill', { skillName: 'French', userName: 'dave', applicationName: 'support', bind: false });
            // unknown skill / user: refused, nothing changes
            await voxErr('Skills', 'bindSkill', { skillId: 999999, userId: users.dave }, 101);
            await voxErr('Skills', 'bindSkill', { skillId: skills.French, userId: 999999 }, 101);
            await voxErr('Queues', 'bindUserToQueue', { userId: users.dave, acdQueueId: queues.tech }, 101); // application required
        });
    });

    const expectNames = (r, names) => assert.deepEqual(r.result.map((u) => u.userName), names);

    describe('GetUsers filters, ordering and paging', () => {
        test('UserInfoType fields, camelCased by the client', async () => {
            const r = await voxOk('Users', 'getUsers', { applicationId: apps.support, userId: users.anna, withSkills: true, withQueues: true });
            assert.equal(r.totalCount, 1);
            assert.equal(r.count, 1);
            const u = r.result[0];
            assert.equal(u.userId, users.anna);
            assert.equal(u.userName, 'anna');
            assert.equal(u.userDisplayName, 'Anna Schmidt');
            assert.equal(u.userActive, true);
            assert.equal(u.userCustomData, 'cd-anna');
            assert.equal(typeof u.parentAccounting, 'boolean');
            assert.equal(u.acdStatus, 'OFFLINE');
            assert.deepEqual(u.skills, [{ skill_id: skills.English, skill_name: 'English' }, { skill_id: skills.German, skill_name: 'German' }]);
            assert.deepEqual(u.acdQueues, [{ acd_queue_id: queues.billing, acd_queue_name: 'billing', auto_link: false }]);
            assert.deepEqual(u.applications.map((a) => [a.application_id, a.application_name]), [[apps.support, 'support']]);
            for (const k of ['created', 'modified']) {
                const v = u[k] instanceof Date ? u[k] : new Date(`${u[k]} GMT`);
                assert.ok(Math.abs(Date.now() - v.getTime()) < 600000, `${k} ${u[k]}`);
            }
            const rawr = await raw(`/platform_api/GetUsers?user_id=${users.anna}`, {});
            assert.match(rawr.json.result[0].created, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
        });

        test('application_id / application_name', async () => {
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support }), ['anna', 'bob', 'carla', 'dave', 'erin']);
            expectNames(await voxOk('Users', 'getUsers', { applicationName: 'sales' }), ['sam']);
            expectNames(await voxOk('Users', 'getUsers', { applicationName: 'nope' }), []);
        });

        test('skill_id and excluded_skill_id', async () => {
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, skillId: skills.English }), ['anna', 'bob', 'erin']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, excludedSkillId: skills.English }), ['carla', 'dave']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, skillId: skills.English, excludedSkillId: skills.German }), ['bob', 'erin']);
        });

        test('acd_queue_id and excluded_acd_queue_id', async () => {
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, acdQueueId: queues.tech }), ['bob', 'dave']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, excludedAcdQueueId: queues.billing }), ['carla', 'dave', 'erin']);
        });

        test('user_id, user_name and user_display_name (parts), user_active', async () => {
            expectNames(await voxOk('Users', 'getUsers', { userId: users.bob }), ['bob']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, userName: 'a' }), ['anna', 'carla', 'dave']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, userDisplayName: 'JONES' }), ['bob', 'carla']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, userActive: false }), ['carla']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, userActive: true, userDisplayName: 'jones' }), ['bob']);
        });

        test('acd_status: every roster user is OFFLINE', async () => {
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, acdStatus: 'OFFLINE' }), ['anna', 'bob', 'carla', 'dave', 'erin']);
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support, acdStatus: 'ONLINE;READY' }), []);
            await voxErr('Users', 'getUsers', { acdStatus: 'SLEEPING' }, 101);
        });

        test('with_skills, with_queues and showing_skill_id', async () => {
            const plain = await voxOk('Users', 'getUsers', { userId: users.erin });
            assert.equal(plain.result[0].skills, undefined);
            assert.equal(plain.result[0].acdQueues, undefined);
            const ws = await voxOk('Users', 'getUsers', { userId: users.erin, withSkills: true });
            assert.deepEqual(ws.result[0].skills.map((s) => s.skill_name), ['English', 'French']);
            const shown = await voxOk('Users', 'getUsers', { userId: users.erin, withSkills: true, showingSkillId: skills.French });
            assert.deepEqual(shown.result[0].skills.map((s) => s.skill_name), ['French']);
            const wq = await voxOk('Users', 'getUsers', { userId: users.bob, withQueues: true });
            assert.deepEqual(wq.result[0].acdQueues.map((q) => q.acd_queue_name), ['billing', 'tech']);
        });

        test('order_by user_id, user_name (default), user_display_name', async () => {
            const base = { applicationId: apps.support };
            expectNames(await voxOk('Users', 'getUsers', base), ['anna', 'bob', 'carla', 'dave', 'erin']);
            const byId = await voxOk('Users', 'getUsers', { ...base, orderBy: 'user_id' });
            assert.deepEqual(byId.result.map((u) => u.userId), [...byId.result.map((u) => u.userId)].sort((a, b) => a - b));
            expectNames(await voxOk('Users', 'getUsers', { ...base, orderBy: 'user_display_name' }), ['anna', 'bob', 'carla', 'dave', 'erin']);
            await voxOk('Users', 'setUserInfo', { userId: users.anna, userDisplayName: 'Zoe Anna' });
            expectNames(await voxOk('Users', 'getUsers', { ...base, orderBy: 'user_display_name' }), ['bob', 'carla', 'dave', 'erin', 'anna']);
            await voxErr('Users', 'getUsers', { orderBy: 'email' }, 101);
        });

        test('count (default 20) and offset, total_count', async () => {
            const base = { applicationId: apps.support };
            const p1 = await voxOk('Users', 'getUsers', { ...base, count: 2 });
            assert.equal(p1.totalCount, 5);
            assert.equal(p1.count, 2);
            expectNames(p1, ['anna', 'bob']);
            const p2 = await voxOk('Users', 'getUsers', { ...base, count: 2, offset: 2 });
            expectNames(p2, ['carla', 'dave']);
            const p3 = await voxOk('Users', 'getUsers', { ...base, count: 2, offset: 4 });
            expectNames(p3, ['erin']);
            assert.equal(p3.totalCount, 5);
            const past = await voxOk('Users', 'getUsers', { ...base, offset: 50 });
            assert.equal(past.count, 0);
            assert.equal(past.totalCount, 5);
            await voxErr('Users', 'getUsers', { count: -1 }, 101);
            await voxErr('Users', 'getUsers', { count: 'many' }, 101);
        });

        test('count defaults to 20', async () => {
            for (let i = 0; i < 18; i++) {
                await voxOk('Users', 'addUser', {
                    userName: `bulk${String(i).padStart(2, '0')}`, userDisplayName: `Bulk ${i}`,
                    userPassword: 'Secr3t!pass', applicationName: 'sales',
                });
            }
            const r = await voxOk('Users', 'getUsers', { applicationName: 'sales' });
            assert.equal(r.totalCount, 19);
            assert.equal(r.count, 19);
            const all = await voxOk('Users', 'getUsers', {});
            assert.equal(all.count, 20);
            assert.ok(all.totalCount >= 24);
        });
    });

    describe('SetUserInfo and DelUser', () => {
        test('SetUserInfo changes name, display name, activity, custom data and password', async () => {
            await voxOk('Users', 'setUserInfo', {
                userId: users.dave, newUserName: 'david', userDisplayName: 'David Brown', userActive: false,
                userCustomData: 'new', userPassword: 'N3w!passw0rd',
            });
            const r = await voxOk('Users', 'getUsers', { userId: users.dave });
            assert.equal(r.result[0].userName, 'david');
            assert.equal(r.result[0].userDisplayName, 'David Brown');
            assert.equal(r.result[0].userActive, false);
            assert.equal(r.result[0].userCustomData, 'new');
            // by user_name (needs the application); the old name is gone
            await voxErr('Users', 'setUserInfo', { userName: 'dave', applicationId: apps.support, userActive: true }, 101);
            await voxErr('Users', 'setUserInfo', { userName: 'david', userActive: true }, 101);
            await voxOk('Users', 'setUserInfo', { userName: 'david', applicationId: apps.support, userActive: true });
            assert.equal((await voxOk('Users', 'getUsers', { userId: users.dave })).result[0].userActive, true);
            await voxErr('Users', 'setUserInfo', { userId: users.dave, newUserName: 'bob' }, 101);
            await voxErr('Users', 'setUserInfo', { userId: users.dave, userPassword: 'weak' }, 112);
            await voxErr('Users', 'setUserInfo', { userId: 999999, userActive: true }, 101);
        });

        test('DelUser by id and by name; memberships go with the user', async () => {
            await voxOk('Users', 'delUser', { userId: users.erin });
            expectNames(await voxOk('Users', 'getUsers', { userId: users.erin }), []);
            expectNames(await voxOk('Users', 'getUsers', { skillId: skills.French }), []);
            await voxOk('Users', 'delUser', { userName: 'carla', applicationName: 'support' });
            expectNames(await voxOk('Users', 'getUsers', { applicationId: apps.support }), ['anna', 'bob', 'david']);
            await voxErr('Users', 'delUser', { userId: users.erin }, 101);
            await voxErr('Users', 'delUser', { userName: 'bob' }, 101); // application required
            await voxErr('Users', 'delUser', {}, 101);
        });
    });

    describe('authorization: every refusal is code 100 with HTTP 200', () => {
        const cmd = 'cmd=GetUsers';
        const form = 'application/x-www-form-urlencoded';
        const refused = async (token, why) => {
            const r = await raw('/platform_api', { body: cmd, contentType: form, token });
            assert.equal(r.status, 200, `${why}: HTTP ${r.status} ${r.text}`);
            assert.equal(r.json?.error?.code, 100, `${why}: ${r.text}`);
            assert.equal(r.json.result, undefined);
        };

        test('a good hand-made token is accepted (control)', async () => {
            const r = await raw('/platform_api', { body: cmd, contentType: form });
            assert.equal(r.status, 200);
            assert.ok(Array.isArray(r.json.result), r.text);
        });

        test('no token, garbage, tampered payload and tampered signature', async () => {
            await refused(null, 'no Authorization');
            await refused('not-a-jwt', 'garbage');
            const good = signToken(credA);
            const [hd, , sig] = good.split('.');
            const now = Math.floor(Date.now() / 1000);
            await refused(`${hd}.${b64u({ iss: credA.account_id, iat: now, exp: now + 3000 })}.${sig}`, 'tampered payload');
            const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
            await refused(`${good.split('.').slice(0, 2).join('.')}.${flipped}`, 'tampered signature');
        });

        test('expired, issued in the future, too long-lived, missing claims', async () => {
            const now = Math.floor(Date.now() / 1000);
            await refused(signToken(credA, { claims: { iat: now - 4000, exp: now - 3000 } }), 'expired');
            await refused(signToken(credA, { claims: { iat: now + 3000, exp: now + 3060 } }), 'future iat');
            await refused(signToken(credA, { claims: { iat: now, exp: now + 7200 } }), 'exp - iat > 3600');
            await refused(signToken(credA, { claims: { exp: undefined } }), 'no exp');
            await refused(signToken(credA, { claims: { iat: undefined } }), 'no iat');
        });

        test('alg none, HS256 with the public key as secret, unknown kid, no kid', async () => {
            const now = Math.floor(Date.now() / 1000);
            const pl = b64u({ iss: credA.account_id, iat: now, exp: now + 60 });
            await refused(`${b64u({ alg: 'none', typ: 'JWT', kid: credA.key_id })}.${pl}.`, 'alg none');
            const hsIn = `${b64u({ alg: 'HS256', typ: 'JWT', kid: credA.key_id })}.${pl}`;
            const pub = crypto.createPublicKey(credA.private_key).export({ type: 'spki', format: 'pem' });
            const hs = crypto.createHmac('sha256', pub).update(hsIn).digest('base64url');
            await refused(`${hsIn}.${hs}`, 'HS256 key confusion');
            await refused(signToken(credA, { header: { kid: '0123456789abcdef01234567' } }), 'unknown kid');
            await refused(signToken(credA, { header: { kid: undefined } }), 'no kid');
        });

        test("another organisation's key: signed by B, claiming A; and A's kid with B's key", async () => {
            await refused(signToken(credB, { claims: { iss: credA.account_id } }), "B's key claiming A");
            await refused(signToken(credA, { key: credB.private_key }), "A's kid signed by B's key");
            // the official client with B's credentials claiming A's account
            await voxErr('Users', 'getUsers', {}, 100, { creds: credsB, accountId: credA.account_id });
        });

        test('a revoked key is refused', async () => {
            const { cred } = await serviceAccount(srv.orgId);
            const ok = await raw('/platform_api', { body: cmd, contentType: form, token: signToken(cred) });
            assert.ok(Array.isArray(ok.json.result), ok.text);
            const r = await srv.cli('key', 'revoke', cred.key_id);
            assert.equal(r.code, 0, r.stderr);
            await refused(signToken(cred), 'revoked');
        });

        test("another organisation sees only its own users and groups", async () => {
            const b0 = await voxOk('Users', 'getUsers', {}, { creds: credsB });
            assert.equal(b0.totalCount, 0, JSON.stringify(b0));
            const apps0 = await voxOk('Applications', 'getApplications', {}, { creds: credsB });
            assert.equal(apps0.totalCount, 0);
            // B may use the same names as A
            const bapp = await voxOk('Applications', 'addApplication', { applicationName: 'support' }, { creds: credsB });
            await voxOk('Users', 'addUser', { userName: 'anna', userDisplayName: 'B Anna', userPassword: 'Secr3t!pass', applicationId: bapp.applicationId }, { creds: credsB });
            const b = await voxOk('Users', 'getUsers', {}, { creds: credsB });
            assert.equal(b.totalCount, 1);
            assert.equal(b.result[0].userDisplayName, 'B Anna');
            // A's ids answer exactly like missing ones
            await voxErr('Users', 'delUser', { userId: users.anna }, 101, { creds: credsB });
            await voxErr('Skills', 'bindSkill', { skillId: skills.English, userId: b.result[0].userId }, 101, { creds: credsB });
            expectNames(await voxOk('Users', 'getUsers', { skillId: skills.English }, { creds: credsB }), []);
            expectNames(await voxOk('Users', 'getUsers', { userId: users.anna }, { creds: credsB }), []);
        });
    });

    describe('transport', () => {
        test('x-www-form-urlencoded body (the Python client)', async () => {
            const r = await raw('/platform_api', {
                body: `cmd=GetUsers&application_id=${apps.support}&user_name=${encodeURIComponent('bo')}&with_skills=True`,
                contentType: 'application/x-www-form-urlencoded',
            });
            assert.deepEqual(r.json.result.map((u) => u.user_name), ['bob']);
            assert.ok(Array.isArray(r.json.result[0].skills));
        });

        test('JSON body and query string on /platform_api/{Method}', async () => {
            const j = await raw('/platform_api', { body: JSON.stringify({ cmd: 'GetUsers', user_id: users.bob }), contentType: 'application/json' });
            assert.deepEqual(j.json.result.map((u) => u.user_name), ['bob']);
            const q = await raw(`/platform_api/GetUsers?application_id=${apps.support}&count=1&order_by=user_name`,
                { body: '{}', contentType: 'application/json' });
            assert.deepEqual(q.json.result.map((u) => u.user_name), ['anna']);
            assert.equal(q.json.total_count, 3);
            const g = await raw(`/platform_api/GetSkills/?skill_name=Eng`, { method: 'GET' });
            assert.deepEqual(g.json.result.map((s) => s.skill_name), ['English']);
        });

        test('multipart with a Content-Length (not chunked)', async () => {
            const fd = new FormData();
            fd.append('cmd', 'GetUsers');
            fd.append('user_id', String(users.bob));
            const req = new Request('https://x/', { method: 'POST', body: fd });
            const body = Buffer.from(await req.arrayBuffer());
            const r = await raw('/platform_api', { body, contentType: req.headers.get('content-type') });
            assert.deepEqual(r.json.result.map((u) => u.user_name), ['bob']);
        });

        test('missing cmd: 102; unknown command: 103; bad values: 101', async () => {
            const none = await raw('/platform_api', { body: 'user_id=1', contentType: 'application/x-www-form-urlencoded' });
            assert.equal(none.status, 200);
            assert.equal(none.json.error.code, 102);
            const unk = await raw('/platform_api', { body: 'cmd=MakeCoffee', contentType: 'application/x-www-form-urlencoded' });
            assert.equal(unk.json.error.code, 103);
            assert.match(unk.json.error.msg, /MakeCoffee/);
            const path2 = await raw('/platform_api/MakeCoffee', { method: 'GET' });
            assert.equal(path2.json.error.code, 103);
            const bad = await raw('/platform_api/GetUsers?user_active=maybe', { method: 'GET' });
            assert.equal(bad.json.error.code, 101);
            assert.match(bad.json.error.msg, /user_active/);
            const badjson = await raw('/platform_api', { body: '[1,2]', contentType: 'application/json' });
            assert.equal(badjson.json.error.code, 101);
            const badmp = await raw('/platform_api', { body: 'x', contentType: 'multipart/form-data' });
            assert.equal(badmp.json.error.code, 101);
            const xml = await raw('/platform_api', { body: '<a/>', contentType: 'text/xml' });
            assert.equal(xml.json.error.code, 101);
        });

        test('multipart: bare-LF parts read, at most 1000 parts and 8 KiB of part headers (issue 14)', async () => {
            const ct = 'multipart/form-data; boundary=B0UND';
            const part = (name, value, extra = '') => `--B0UND\nContent-Disposition: form-data; name="${name}"\n${extra}\n${value}\n`;
            const ok = await raw('/platform_api', { body: `${part('cmd', 'GetUsers')}${part('user_id', String(users.bob))}--B0UND--\n`, contentType: ct });
            assert.deepEqual(ok.json.result?.map((u) => u.user_name), ['bob'], ok.text);
            const many = part('cmd', 'GetUsers') + Array.from({ length: 1000 }, (_, i) => part(`p${i}`, 'v')).join('') + '--B0UND--\n';
            const r1 = await raw('/platform_api', { body: many, contentType: ct });
            assert.equal(r1.json.error?.code, 101, r1.text.slice(0, 200));
            assert.match(r1.json.error.msg, /more than 1000 parts/);
            const long = `${part('cmd', 'GetUsers', `X-Pad: ${'a'.repeat(9000)}\n`)}--B0UND--\n`;
            const r2 = await raw('/platform_api', { body: long, contentType: ct });
            assert.equal(r2.json.error?.code, 101, r2.text.slice(0, 200));
            assert.match(r2.json.error.msg, /headers are longer than 8192 bytes/);
        });

        test('a NUL in a parameter is refused with 101 naming it, never cut short (issue 14)', async () => {
            const form = 'application/x-www-form-urlencoded';
            const bob = users.bob;
            const before = (await raw('/platform_api', { body: `cmd=GetUsers&user_id=${bob}`, contentType: form })).json.result[0];
            const u = await raw('/platform_api', { body: `cmd=SetUserInfo&user_id=${bob}&user_display_name=ok%00hidden`, contentType: form });
            assert.equal(u.json.error?.code, 101, u.text);
            assert.match(u.json.error.msg, /user_display_name/);
            const fd = new FormData();
            fd.append('cmd', 'SetUserInfo');
            fd.append('user_id', String(bob));
            fd.append('user_display_name', 'ok\u0000hidden');
            const req = new Request('https://x/', { method: 'POST', body: fd });
            const m = await raw('/platform_api', { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type') });
            assert.equal(m.json.error?.code, 101, m.text);
            assert.match(m.json.error.msg, /user_display_name/);
            const q = await raw(`/platform_api/SetUserInfo?user_id=${bob}&user_display_name=ok%00hidden`, { method: 'GET' });
            assert.equal(q.json.error?.code, 101, q.text);
            assert.match(q.json.error.msg, /user_display_name/);
            const after = (await raw('/platform_api', { body: `cmd=GetUsers&user_id=${bob}`, contentType: form })).json.result[0];
            assert.equal(after.user_display_name, before.user_display_name, 'nothing was written');
        });
    });

    describe('BindUser (legacy): existing directory users into an application', () => {
        test('bind and unbind by ids and names; unknown ids change nothing', async () => {
            const jc = srv.api(srv.adminKey);
            const c = await jc.post('/api/systemusers', { username: 'jcbind', email: 'jcbind@example.test' });
            assert.equal(c.status, 200, c.text);
            const id = (await voxOk('Users', 'getUsers', { userName: 'jcbind' })).result[0].userId;
            const form = 'application/x-www-form-urlencoded';
            let r = await raw('/platform_api', { body: `cmd=BindUser&user_id=${id}&application_name=sales`, contentType: form });
            assert.equal(r.json.result, 1, r.text);
            expectNames(await voxOk('Users', 'getUsers', { applicationName: 'sales', userName: 'jcbind' }), ['jcbind']);
            r = await raw('/platform_api', { body: `cmd=BindUser&user_name=jcbind&application_id=${apps.sales}&bind=false`, contentType: form });
            assert.equal(r.json.result, 1, r.text);
            expectNames(await voxOk('Users', 'getUsers', { applicationName: 'sales', userName: 'jcbind' }), []);
            r = await raw('/platform_api', { body: `cmd=BindUser&user_id=${id};999999&application_id=${apps.sales}`, contentType: form });
            assert.equal(r.json.error.code, 101);
            expectNames(await voxOk('Users', 'getUsers', { applicationName: 'sales', userName: 'jcbind' }), []);
            await jc.del(`/api/systemusers/${c.json._id}`);
        });
    });

    describe('one directory: JumpCloud and Voximplant see the same users', () => {
        test('a JumpCloud user appears in GetUsers; a Voximplant user in /api/systemusers', async () => {
            const jc = srv.api(srv.adminKey);
            const c = await jc.post('/api/systemusers', { username: 'jcuser', email: 'jcuser@example.test', displayname: 'JC User', state: 'SUSPENDED' });
            assert.equal(c.status, 200, c.text);
            const r = await voxOk('Users', 'getUsers', { userName: 'jcuser' });
            assert.equal(r.totalCount, 1);
            assert.equal(r.result[0].userDisplayName, 'JC User');
            assert.equal(r.result[0].userActive, false);
            const l = await jc.get('/api/systemusers?filter=username:eq:bob');
            assert.equal(l.json.totalCount, 1);
            assert.equal(l.json.results[0].displayname, 'Bob Jones');
            // a change through Voximplant is seen by JumpCloud
            await voxOk('Users', 'setUserInfo', { userId: r.result[0].userId, userActive: true });
            const g = await jc.get(`/api/systemusers/${c.json._id}`);
            assert.equal(g.json.state, 'ACTIVATED');
            // and a JumpCloud delete by Voximplant's DelUser
            await voxOk('Users', 'delUser', { userId: r.result[0].userId });
            assert.equal((await jc.get(`/api/systemusers/${c.json._id}`)).status, 404);
        });
    });
}
