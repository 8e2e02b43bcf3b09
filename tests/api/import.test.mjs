// roster import (docs/import-export.md): CSV edge cases, NDJSON and JSON arrays, every
// mode, dry runs, the report file, exit codes, progress output; run on the store of a
// real `roster serve` (SQLite or PostgreSQL, ROSTER_TEST_STORE) while it serves, and
// checked through the JumpCloud API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, cleanup, cliOrg, cliKey, listAll, BIN, uniq, HEX24, Api, assertError, checkResultShape, storeQuery, PG, importCounts as counts } from './harness.mjs';

let srv;
let api;

before(async () => {
    srv = await startServer();
    api = srv.api(srv.adminKey);
});
after(async () => {
    await cleanup(srv);
});

/** Runs roster import; resolves {code, stdout, stderr}. */
function runImport(args, { input, env } = {}) {
    return new Promise((resolve) => {
        const p = execFile(BIN, ['import', ...args, '--store', srv.store], {
            timeout: 120000, env: { ...process.env, CI: '', ...(env || {}) }, maxBuffer: 64 << 20,
        }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
        if (input !== undefined) p.stdin.end(input);
    });
}

function file(name, content) {
    const f = path.join(srv.dir, `${uniq('f')}-${name}`);
    writeFileSync(f, content);
    return f;
}

async function newOrg(tag) {
    const org = await cliOrg(srv.store, uniq(tag));
    return { org, api: api.withOrg(org) };
}

async function users(a) {
    const all = await listAll(a);
    return Object.fromEntries(all.map((u) => [u.username, u]));
}

test('CSV: quoted commas, doubled quotes, embedded newlines, BOM, CRLF, empty trailing line', async () => {
    const { org, api: a } = await newOrg('csv');
    const csv = '\uFEFFusername,email,firstname,lastname,description,employeeIdentifier\r\n' +
        'ann,ann@example.com,"Ann, Jr.","O""Neil","line one\r\nline two",E1\r\n' +
        'bob,bob@example.com,Bob,Smith,,E2\r\n\r\n';
    const r = await runImport([file('u.csv', csv), '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { created: 2, updated: 0, unchanged: 0, skipped: 0, suspended: 0, deleted: 0, rejected: 0 });
    const u = await users(a);
    assert.equal(u.ann.firstname, 'Ann, Jr.');
    assert.equal(u.ann.lastname, "O'Neil".replace("'", '"'));
    assert.equal(u.ann.description, 'line one\r\nline two');
    assert.equal(u.ann.employeeIdentifier, 'E1');
    assert.equal(u.bob.lastname, 'Smith');
    assert.ok(!u.bob.description, 'an empty cell is no value');
});

test('CSV: invalid UTF-8 is rejected with its line number; the other rows are written', async () => {
    const { org, api: a } = await newOrg('utf');
    const csv = Buffer.concat([
        Buffer.from('username,email,description\nok1,ok1@example.com,"multi\nline"\n'),
        Buffer.from('bad,bad@example.com,caf'), Buffer.from([0xe9]), Buffer.from('\nok2,ok2@example.com,x\n'),
    ]);
    const rep = path.join(srv.dir, `${uniq('rep')}.csv`);
    const r = await runImport([file('u.csv', csv), '--org', org, '--report', rep]);
    assert.equal(r.code, 1, 'a rejected row: exit 1');
    assert.equal(counts(r.stdout).created, 2);
    assert.equal(counts(r.stdout).rejected, 1);
    assert.match(r.stderr, /line 4: .*line 4 is not UTF-8/);
    const lines = readFileSync(rep, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'line,action,field,value,reason');
    assert.equal(lines.length, 2);
    assert.match(lines[1], /^4,rejected,,,line 4 is not UTF-8$/);
    assert.deepEqual(Object.keys(await users(a)).sort(), ['ok1', 'ok2']);
});

test('CSV: an unknown header column is a clear error (exit 2, nothing written); --map names or ignores it', async () => {
    const { org, api: a } = await newOrg('hdr');
    const csv = 'login,mail,Shoe Size\nzed,zed@example.com,44\n';
    const f = file('u.csv', csv);
    let r = await runImport([f, '--org', org]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown column "Shoe Size" in the header \(column 3\)/);
    assert.equal((await listAll(a)).length, 0);
    r = await runImport([f, '--org', org, '--map', 'Shoe Size=-']);
    assert.equal(r.code, 0, r.stderr);
    r = await runImport([f, '--org', org, '--map', 'Shoe Size=department', '--mode', 'overwrite']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r.stdout).updated, 1);
    const u = await users(a);
    assert.equal(u.zed.email, 'zed@example.com', 'aliases: login, mail');
    assert.equal(u.zed.department, '44');
    r = await runImport([f, '--org', org, '--map', 'Shoe Size=nosuchfield']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"nosuchfield" is not a user field/);
});

test('NDJSON, JSONL from stdin, and a JSON array go through the JumpCloud decoder', async () => {
    const { org, api: a } = await newOrg('json');
    const nd = '{"username":"j1","email":"j1@example.com","attributes":[{"name":"k","value":"v"}]}\n' +
        '\n{"username":"j2","email":"not-an-email"}\n[1,2]\n{"username":"j3","email":"j3@example.com","state":"SUSPENDED"}\n';
    let r = await runImport([file('u.ndjson', nd), '--org', org]);
    assert.equal(r.code, 1);
    assert.deepEqual([counts(r.stdout).created, counts(r.stdout).rejected], [2, 2]);
    assert.match(r.stderr, /line 3: email: .*not-an-email/);
    assert.match(r.stderr, /line 4: a user must be a JSON object/);
    r = await runImport(['-', '--org', org, '--format', 'jsonl'], { input: '{"username":"j4","email":"j4@example.com"}\n' });
    assert.equal(r.code, 0, r.stderr);
    const arr = JSON.stringify([{ username: 'j5', email: 'j5@example.com' }, { username: 'j6', email: 'j6@example.com', firstname: 'Six' }], null, 2);
    r = await runImport([file('u.json', arr), '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r.stdout).created, 2);
    r = await runImport(['-', '--org', org], { input: '[{"username":"j7","email":"j7@example.com"}]' });
    assert.equal(r.code, 0, 'stdin without --format: sniffed as a JSON array');
    const u = await users(a);
    assert.deepEqual(Object.keys(u).sort(), ['j1', 'j3', 'j4', 'j5', 'j6', 'j7']);
    assert.deepEqual(u.j1.attributes, [{ name: 'k', value: 'v' }]);
    assert.equal(u.j3.suspended, true);
    assert.equal(u.j6.firstname, 'Six');
});

test('modes: skip reports existing users; fail writes nothing after a bad row; overwrite updates by --match', async () => {
    const { org, api: a } = await newOrg('modes');
    const base = 'username,email,employeeIdentifier,firstname\nu1,u1@example.com,E1,One\nu2,u2@example.com,E2,Two\n';
    let r = await runImport([file('a.csv', base), '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    const rep = path.join(srv.dir, `${uniq('rep')}.jsonl`);
    r = await runImport([file('b.csv', base + 'u3,u3@example.com,E3,Three\n'), '--org', org, '--report', rep]);
    assert.equal(r.code, 0, 'existing users are skipped, not rejected');
    assert.deepEqual([counts(r.stdout).created, counts(r.stdout).skipped], [1, 2]);
    const entries = readFileSync(rep, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => [e.line, e.action]), [[2, 'skipped'], [3, 'skipped']]);
    assert.ok(['username', 'email'].includes(entries[0].field), 'the field that collided');
    assert.equal(entries[0].value, entries[0].field === 'email' ? 'u1@example.com' : 'u1');

    r = await runImport([file('c.csv', 'username,email\nf1,f1@example.com\nf2,bad\nf3,f3@example.com\n'), '--org', org, '--mode', 'fail']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /nothing written/);
    assert.ok(!('f1' in await users(a)), 'fail: the rows before the bad one are not kept');

    r = await runImport([file('d.csv', 'email,firstname\nU2@example.com,Deux\nnew@example.com,New\n'), '--org', org, '--mode', 'overwrite', '--match', 'email']);
    assert.equal(r.code, 1, 'a new user without a username is rejected');
    assert.deepEqual([counts(r.stdout).updated, counts(r.stdout).rejected], [1, 1]);
    r = await runImport([file('e.csv', 'employeeid,firstname,username,email\nE1,Uno,u1,u1@example.com\nE9,Nine,u9,u9@example.com\n'), '--org', org, '--mode', 'overwrite', '--match', 'employeeid']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([counts(r.stdout).updated, counts(r.stdout).created], [1, 1]);
    const u = await users(a);
    assert.equal(u.u2.firstname, 'Deux', 'matched by e-mail ignoring case');
    assert.equal(u.u1.firstname, 'Uno');
    assert.equal(u.u9.firstname, 'Nine');
    assert.equal(u.u2.email, 'U2@example.com', "the file's spelling is written");
});

test('sync: removed, changed and added rows give exactly those actions; --max-changes refuses; a second run changes nothing', async () => {
    const { org, api: a } = await newOrg('sync');
    const other = await newOrg('syncother');
    await runImport([file('o.csv', 'username,email\nkeepme,keepme@example.com\n'), '--org', other.org]);
    let rows = ['username,email,employeeIdentifier,department,state'];
    for (let i = 0; i < 20; i++) rows.push(`s${i},s${i}@example.com,E${i},D1,ACTIVATED`);
    let r = await runImport([file('s0.csv', rows.join('\n') + '\n'), '--org', org, '--mode', 'sync']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r.stdout).created, 20);
    // the HR file of the next night: s0-s2 gone, s3-s4 changed, n1 added
    rows = ['username,email,employeeIdentifier,department,state'];
    for (let i = 3; i < 20; i++) rows.push(`s${i},s${i}@example.com,E${i},${i < 5 ? 'D2' : 'D1'},ACTIVATED`);
    rows.push('n1,n1@example.com,E100,D1,ACTIVATED');
    const f = file('s1.csv', rows.join('\n') + '\n');
    r = await runImport([f, '--org', org, '--mode', 'sync', '--match', 'employeeid', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dry run/);
    assert.deepEqual(counts(r.stdout), { created: 1, updated: 2, unchanged: 15, skipped: 0, suspended: 3, deleted: 0, rejected: 0 });
    r = await runImport([f, '--org', org, '--mode', 'sync', '--match', 'employeeid', '--max-changes', '5']);
    assert.equal(r.code, 3, 'refused by --max-changes');
    assert.match(r.stderr, /would change 6 users, more than --max-changes 5/);
    let u = await users(a);
    assert.equal(u.s0.suspended, false, 'refused: nothing written');
    assert.ok(!('n1' in u));
    r = await runImport([f, '--org', org, '--mode', 'sync', '--match', 'employeeid', '--max-changes', '6']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { created: 1, updated: 2, unchanged: 15, skipped: 0, suspended: 3, deleted: 0, rejected: 0 });
    u = await users(a);
    for (const n of ['s0', 's1', 's2']) assert.equal(u[n].suspended, true, `${n} suspended`);
    assert.equal(u.s3.department, 'D2');
    assert.equal(u.s5.department, 'D1');
    assert.equal(u.n1.suspended, false);
    r = await runImport([f, '--org', org, '--mode', 'sync', '--match', 'employeeid']);
    assert.equal(r.code, 0);
    assert.deepEqual(counts(r.stdout), { created: 0, updated: 0, unchanged: 18, skipped: 0, suspended: 0, deleted: 0, rejected: 0 });
    // --missing delete, and keep
    r = await runImport([file('s2.csv', 'username,email\ns5,s5@example.com\n'), '--org', org, '--mode', 'sync', '--missing', 'keep']);
    assert.equal(counts(r.stdout).suspended, 0);
    r = await runImport([file('s3.csv', 'username,email\ns5,s5@example.com\n'), '--org', org, '--mode', 'sync', '--missing', 'delete', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r.stdout).deleted, 20, 's0-s19 and n1 but s5');
    assert.deepEqual(Object.keys(await users(a)), ['s5']);
    assert.deepEqual(Object.keys(await users(other.api)), ['keepme'], 'another organisation is untouched');
});

test('dry run writes nothing; exit codes for usage errors', async () => {
    const { org, api: a } = await newOrg('dry');
    let r = await runImport([file('u.csv', 'username,email\nd1,d1@example.com\nd2,x\n'), '--org', org, '--dry-run']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^dry run, would have created 1, .* rejected 1;/);
    assert.equal((await listAll(a)).length, 0);
    r = await runImport([file('u.csv', 'username\n'), '--org', org, '--mode', 'nope']);
    assert.equal(r.code, 2);
    r = await runImport([path.join(srv.dir, 'missing.csv'), '--org', org]);
    assert.equal(r.code, 2);
    r = await runImport([file('u.txt', 'x'), '--org', org, '--format', 'xml']);
    assert.equal(r.code, 2);
    r = await runImport([file('u.csv', 'username,email\n'), '--org', '0123456789abcdef01234567']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /organisation "0123456789abcdef01234567" not found/);
});

test('progress: a pipe gets plain lines only; a terminal (script) gets the bar', async () => {
    const { org } = await newOrg('prog');
    const rows = ['username,email'];
    for (let i = 0; i < 3000; i++) rows.push(`p${i},p${i}@example.com`);
    const f = file('p.csv', rows.join('\n') + '\n');
    let r = await runImport([f, '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^import: 3000 rows, 100% of the file, \d+ rows\/s$/m);
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), 'no bar on a pipe');
    r = await runImport([f, '--org', org, '--quiet']);
    assert.equal(r.stderr, '', '--quiet: only the summary (on stdout)');
    const cmd = [BIN, 'import', f, '--org', org, '--store', srv.store, '--mode', 'overwrite']
        .map((s) => `'${s.replace(/'/g, "'\\''")}'`).join(' ');
    const out = await new Promise((resolve) => {
        execFile('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, CI: '' } }, (err, stdout) => resolve(stdout));
    });
    assert.match(out, /\r\[#+\.*\] 3000\/~3000 100% \d+ rows\/s ETA/);
    r = await runImport([f, '--org', org, '--mode', 'overwrite'], { env: { CI: 'true' } });
    assert.ok(!r.stderr.includes('\r'));
});

test('kill -9 in the middle of a 200,000-row import, then the same command: every row exactly once', async () => {
    const { org, api: a } = await newOrg('kill');
    // the store must hold users (here: of another organisation), else the import would be a
    // bulk load, one transaction (tests/api/import_load.test.mjs kills one of those)
    const seed = await newOrg('seed');
    assert.equal((await runImport([file('seed.csv', 'username,email\nseed1,seed1@example.com\n'), '--org', seed.org])).code, 0);
    const rows = ['username,email,employeeIdentifier'];
    for (let i = 0; i < 200000; i++) rows.push(`k${i},k${i}@example.com,K${i}`);
    const f = file('k.csv', rows.join('\n') + '\n');
    const args = ['import', f, '--org', org, '--store', srv.store, '--commit-rows', '10000', '--no-progress'];
    const { spawn } = await import('node:child_process');
    const p = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    p.stderr.on('data', (d) => { firstErr += d; });
    const exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
    let seen = 0;
    for (let i = 0; i < 1200 && seen < 30000; i++) {
        const r = await a.get('/api/systemusers?limit=1');
        seen = r.json.totalCount;
        if (seen < 30000) await new Promise((res) => setTimeout(res, 50));
    }
    p.kill('SIGKILL');
    const ex = await exited;
    assert.equal(ex.signal, 'SIGKILL', 'killed before it finished');
    const mid = (await a.get('/api/systemusers?limit=1')).json.totalCount;
    assert.ok(mid >= 30000 && mid < 200000, `part of the file was committed (${mid})`);
    assert.equal(mid % 10000, 0, 'whole transactions only');
    const r = await runImport([f, '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`resuming after row ${mid}\\b`));
    assert.deepEqual(counts(r.stdout), { created: 200000, updated: 0, unchanged: 0, skipped: 0, suspended: 0, deleted: 0, rejected: 0 });
    assert.equal((await a.get('/api/systemusers?limit=1')).json.totalCount, 200000);
    for (const n of [0, mid - 1, mid, 199999]) {
        const u = await a.get(`/api/systemusers?filter=username:eq:k${n}`);
        assert.equal(u.json.totalCount, 1, `k${n} once`);
    }
    // one job across both runs, its results counting each row exactly once
    const job = (firstErr.match(/roster import: job ([0-9a-f]{24})/) || [])[1];
    assert.match(job || '', HEX24, `the killed run named its job: ${firstErr}`);
    assert.match(r.stderr, new RegExp(`roster import: job ${job}\\b`), 'the resumed run continues the same job');
    assert.match(r.stdout, new RegExp(`; job ${job}$`, 'm'));
    const ranges = PG
        ? await storeQuery(srv.store, `SELECT first_idx, count FROM chunks WHERE job_id = '${job}' ORDER BY first_idx`)
        : await storeQuery(srv.store, `SELECT first_idx, count FROM record_results WHERE job_id = '${job}' ORDER BY first_idx`);
    let next = 0;
    for (const line of ranges) {
        const [first, count] = line.split('|').map(Number);
        assert.equal(first, next, `results ranges follow each other without a gap or overlap (${line})`);
        next = first + count;
    }
    assert.equal(next, 200000, 'one result per row');
    const kapi = srv.api(await cliKey(srv.store, org));
    for (const n of [0, mid - 1, mid, 199999]) {
        const res = await kapi.get(`/api/v2/bulk/users/${job}/results?skip=${n}&limit=1`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.length, 1);
        checkResultShape(res.json[0], n, job);
        assert.equal(res.json[0].status, 'succeeded');
        assert.equal(res.json[0].persistedFields.username, `k${n}`);
        const u = await a.get(`/api/systemusers?filter=username:eq:k${n}`);
        assert.equal(res.json[0].meta.userId, u.json.results[0]._id, `row ${n}: the user's id`);
    }
    const past = await kapi.get(`/api/v2/bulk/users/${job}/results?skip=200000&limit=10`);
    assert.deepEqual(past.json, [], 'no result past the last row');
    const again = await runImport([f, '--org', org]);
    assert.equal(counts(again.stdout).skipped, 200000, 'a finished import starts afresh: every user exists');
    assert.doesNotMatch(again.stderr, new RegExp(job), 'a new import, a new job');
});

test('the import is a job: GET /api/v2/bulk/users/{job}/results has one result per row, in row order; other organisations get 404', async () => {
    const { org, api: a } = await newOrg('job');
    let r = await runImport([file('first.csv', 'username,email\ndup,dup@example.com\n'), '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    const csv = 'username,email,employeeIdentifier,phoneNumbers\n' +
        'j1,j1@example.com,E1,\n' +          // 0 created
        'j2,not-an-email,E2,\n' +            // 1 rejected (validator)
        'dup,other@example.com,E3,\n' +      // 2 skipped (exists)
        'j4,j4@example.com,E4,[oops\n' +     // 3 rejected (decoding)
        'j5,j5@example.com,E1,\n' +          // 4 skipped (employee id of row 0)
        'j6,j6@example.com,E6,\n';           // 5 created
    const rep = path.join(srv.dir, `${uniq('rep')}.jsonl`);
    r = await runImport([file('j.csv', csv), '--org', org, '--report', rep]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(counts(r.stdout), { created: 2, updated: 0, unchanged: 0, skipped: 2, suspended: 0, deleted: 0, rejected: 2 });
    const job = (r.stderr.match(/^roster import: job ([0-9a-f]{24})$/m) || [])[1];
    assert.match(job || '', HEX24, r.stderr);
    assert.match(r.stdout, new RegExp(`rows in [0-9.]+s; job ${job}\n$`), 'the summary names the job');
    const reasons = readFileSync(rep, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const byLine = Object.fromEntries(reasons.map((x) => [x.line, x]));

    const key = await cliKey(srv.store, org);
    const own = srv.api(key);
    const res = await own.get(`/api/v2/bulk/users/${job}/results?limit=100`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.length, 6, 'one result per row');
    res.json.forEach((x, i) => checkResultShape(x, i, job));
    const u = await users(a);
    const want = [
        ['succeeded', 'user created', 'j1'], ['failed', null, null], ['failed', null, null],
        ['failed', null, null], ['failed', null, null], ['succeeded', 'user created', 'j6'],
    ];
    want.forEach(([status, msg, name], i) => {
        const x = res.json[i];
        assert.equal(x.status, status, `row ${i}: ${JSON.stringify(x)}`);
        if (name) {
            assert.equal(x.statusMsg, msg);
            assert.equal(x.meta.userId, u[name]._id, `row ${i}: the user's id`);
            assert.equal(x.persistedFields.username, name);
        } else {
            const line = i + 2;
            assert.ok(byLine[line], `the report lists line ${line}`);
            assert.equal(x.statusMsg, byLine[line].reason, `row ${i}: the report's reason`);
        }
    });
    assert.match(res.json[1].statusMsg, /not-an-email/);
    assert.equal(res.json[1].meta.field, 'email');
    assert.match(res.json[2].statusMsg, /"dup" already exists/);
    assert.match(res.json[3].statusMsg, /phoneNumbers/);
    const page = await own.get(`/api/v2/bulk/users/${job}/results?skip=4&limit=10`);
    assert.deepEqual(page.json.map((x) => x.meta.index), [4, 5]);

    // tenant isolation: another organisation's key gets the 404 of a missing job
    const other = await cliOrg(srv.store, uniq('other'));
    const foreign = srv.api(await cliKey(srv.store, other));
    const f404 = await foreign.get(`/api/v2/bulk/users/${job}/results`);
    assertError(f404, 404);
    const missing = 'ffffffffffffffffffffffff';
    const m404 = await foreign.get(`/api/v2/bulk/users/${missing}/results`);
    assertError(m404, 404);
    assert.deepEqual(f404.json, JSON.parse(m404.text.replaceAll(missing, job)), 'the same answer as a missing job');

    // a dry run makes no job; a fail import that rolls back leaves none; a sync commits one
    r = await runImport([file('d.csv', 'username,email\nd1,d1@example.com\n'), '--org', org, '--dry-run']);
    assert.doesNotMatch(r.stderr + r.stdout, /job [0-9a-f]{24}/);
    r = await runImport([file('f.csv', 'username,email\nf1,f1@example.com\nf2,bad\n'), '--org', org, '--mode', 'fail']);
    assert.equal(r.code, 1);
    const fjob = (r.stderr.match(/roster import: job ([0-9a-f]{24})/) || [])[1];
    assert.match(fjob || '', HEX24);
    assert.doesNotMatch(r.stdout, /; job /, 'nothing written: no job in the summary');
    assertError(await own.get(`/api/v2/bulk/users/${fjob}/results`), 404);
    r = await runImport([file('s.csv', 'username,email,department\nj1,j1@example.com,Ops\nnew,new@example.com,\n'),
        '--org', org, '--mode', 'sync', '--missing', 'keep']);
    assert.equal(r.code, 0, r.stderr);
    const sjob = (r.stdout.match(/; job ([0-9a-f]{24})$/m) || [])[1];
    const sres = await own.get(`/api/v2/bulk/users/${sjob}/results`);
    assert.deepEqual(sres.json.map((x) => [x.status, x.statusMsg, x.meta.userId]),
        [['succeeded', 'user updated', u.j1._id], ['succeeded', 'user created', (await users(a)).new._id]]);
});

/** roster import FILE --url --key (the server's JumpCloud API); resolves {code, stdout, stderr}. */
function runRemote(args, { org, key, url, env, input } = {}) {
    return new Promise((resolve) => {
        const a = ['import', ...args, '--url', url || srv.url, '--key', key || srv.adminKey, '--no-progress'];
        if (org) a.push('--org', org);
        const p = execFile(BIN, a, {
            timeout: 300000, maxBuffer: 64 << 20,
            env: { ...process.env, CI: '', XDG_STATE_HOME: path.join(srv.dir, 'state'), ...(env || {}) },
        }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
        if (input !== undefined) p.stdin.end(input);
    });
}

const NONE = { created: 0, updated: 0, unchanged: 0, skipped: 0, suspended: 0, deleted: 0, rejected: 0 };

test('remote (--url --key): through the JumpCloud bulk API, skip mode, report; bad key and unreachable server', async () => {
    const { org, api: a } = await newOrg('remote');
    const rows = ['username,email,phoneNumbers,state'];
    for (let i = 0; i < 2500; i++) rows.push(`r${i},r${i}@example.com,"[{""type"":""work"",""number"":""+1${i}""}]",${i % 2 ? 'SUSPENDED' : ''}`);
    rows.push('rbad,not-an-email,,');
    rows.push('rjson,rjson@example.com,[oops,');
    const f = file('r.csv', rows.join('\n') + '\n');
    const rep = path.join(srv.dir, `${uniq('rep')}.csv`);
    let r = await runRemote([f, '--report', rep], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual([counts(r.stdout).created, counts(r.stdout).rejected], [2500, 2]);
    const lines = readFileSync(rep, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^2502,rejected,.*not-an-email/);
    assert.match(lines[2], /^2503,rejected,phoneNumbers,\[oops,phoneNumbers must be a JSON array$/);
    const u = await users(a);
    assert.equal(Object.keys(u).length, 2500);
    assert.deepEqual(u.r7.phoneNumbers, [{ type: 'work', number: '+17' }]);
    assert.equal(u.r7.suspended, true);
    assert.equal(u.r8.suspended, false);
    r = await runRemote([f], { org });
    assert.equal(counts(r.stdout).skipped, 2500, 'existing users are skipped remotely too');
    r = await runRemote([f, '--mode', 'sync'], { key: 'wrong-key-wrong-key-wrong-key' });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /HTTP 401/);
    r = await runRemote([f], { key: 'wrong-key-wrong-key-wrong-key' });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /refused the bulk request: HTTP 401/);
    r = await runRemote([f, '--mode', 'overwrite'], { url: 'http://127.0.0.1:1', org });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /cannot read the organisation's users: http:\/\/127\.0\.0\.1:1\/api\/systemusers.*(connect|Connect)/);
    r = await runRemote([f, '--mode', 'sync', '--match', 'externalid'], { org });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--match externalid is not available with --url/);
    r = await runRemote([f, '--store', srv.store], { org });
    assert.equal(r.code, 2);
});

test('remote: a server answering garbage, 500 or malformed job results gives exit 4 and a message', async () => {
    const http = (await import('node:http')).default;
    let mode = '';
    const fake = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            const answer = {
                garbage: [200, '{"results": [{"_id": 12}'],
                baduser: [200, '{"totalCount":1,"results":[{"_id":"zz","state":"ACTIVATED"}]}'],
                e500: [500, '{"message":"boom"}'],
                nojob: [201, '{"jobId": 5}'],
                jobs: req.method === 'POST' ? [201, '{"jobId":"0123456789abcdef01234567"}'] : [200, '[{"nostatus":true}]'],
            }[mode];
            res.writeHead(answer[0], { 'content-type': 'application/json' });
            res.end(answer[1]);
        });
    });
    await new Promise((r) => fake.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${fake.address().port}`;
    const f = file('g.csv', 'username,email\ng1,g1@example.com\n');
    const cases = [
        ['garbage', ['--mode', 'overwrite'], /cannot read the organisation's users: GET \/api\/systemusers: the answer has no results array/],
        ['baduser', ['--mode', 'sync'], /a user without a valid _id or state/],
        ['e500', ['--dry-run'], /HTTP 500: boom/],
        ['e500', [], /the server refused the bulk request: HTTP 500: boom/],
        ['nojob', [], /no valid jobId/],
        ['jobs', [], /job 0123456789abcdef01234567: a result without a status/], // (the pending jobs of the nojob run first)
    ];
    try {
        for (const [m, args, re] of cases) {
            mode = m;
            const r = await runRemote([f, ...args], { url });
            assert.equal(r.code, 4, `${m}: ${r.stderr}`);
            assert.match(r.stderr, re);
        }
    } finally {
        fake.close();
    }
});

test('remote overwrite by each --match kind: username and e-mail ignore case, employee id exact; a second run changes nothing', async () => {
    const { org, api: a } = await newOrg('rover');
    let r = await runRemote([file('a.csv', 'username,email,employeeIdentifier,firstname,department\n' +
        'ann,ann@example.com,E1,Ann,Sales\nbob,bob@example.com,E2,Bob,Sales\ncat,cat@example.com,E3,Cat,Ops\n')], { org });
    assert.equal(r.code, 0, r.stderr);
    const byUser = 'username,email,firstname\nANN,ann@example.com,Annie\nbob,bob@example.com,Bob\ndan,dan@example.com,Dan\nann,ann@example.com,X\n';
    const f1 = file('u.csv', byUser);
    r = await runRemote([f1, '--mode', 'overwrite'], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1, updated: 1, unchanged: 1, rejected: 1 });
    assert.match(r.stderr, /line 5: username: username "ann" is also on line 2 of the file/);
    let u = await users(a);
    assert.equal(u.ANN.firstname, 'Annie');
    assert.equal(u.ANN.department, 'Sales', 'fields the row does not give are kept');
    assert.equal(u.dan.firstname, 'Dan');
    assert.equal(Object.keys(u).length, 4);
    r = await runRemote([f1, '--mode', 'overwrite'], { org });
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 3, rejected: 1 }, 'a second run changes nothing');

    r = await runRemote([file('e.jsonl', '{"email":"BOB@example.com","department":"Ops"}\n{"email":"cat@EXAMPLE.com","department":"Ops"}\n{"email":"nobody@example.com","department":"Ops"}\n'),
        '--mode', 'overwrite', '--match', 'email'], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, updated: 2, unchanged: 0, rejected: 1 }, r.stderr);
    u = await users(a);
    assert.equal(u.bob.department, 'Ops');
    assert.equal(u.bob.email, 'BOB@example.com');
    assert.equal(u.cat.department, 'Ops');

    const f3 = file('i.csv', 'employeeIdentifier,username,email,jobTitle\nE3,cat,cat@EXAMPLE.com,Boss\ne2,eve,eve@example.com,Intern\n,fay,fay@example.com,\n');
    r = await runRemote([f3, '--mode', 'overwrite', '--match', 'employeeid'], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1, updated: 1, rejected: 1 }, r.stderr);
    assert.match(r.stderr, /line 4: employeeIdentifier: employeeIdentifier is missing/);
    u = await users(a);
    assert.equal(u.cat.jobTitle, 'Boss');
    assert.equal(u.eve.employeeIdentifier, 'e2', 'e2 is not E2');
    assert.equal(u.bob.employeeIdentifier, 'E2');
    r = await runRemote([f3, '--mode', 'overwrite', '--match', 'employeeid'], { org });
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 2, rejected: 1 });
});

test('remote sync: removed, changed and added rows; the same sync again changes nothing; --max-changes, --missing keep and delete; dry runs write nothing', async () => {
    const { org, api: a } = await newOrg('rsync');
    const head = 'username,email,firstname,state\n';
    let r = await runRemote([file('s.csv', head + 's1,s1@example.com,One,\ns2,s2@example.com,Two,\ns3,s3@example.com,Three,\ns4,s4@example.com,Four,SUSPENDED\ns5,s5@example.com,Five,\n')], { org });
    assert.equal(r.code, 0, r.stderr);
    const snapshot = async () => JSON.stringify((await listAll(a, '&sort=username')).map((x) => [x.username, x.firstname, x.state, x.email]));
    const before = await snapshot();
    const f = file('s2.csv', 'username,email,firstname\ns1,s1@example.com,One\ns2,s2@example.com,Deux\ns5,s5@example.com,Five\ns6,s6@example.com,Six\n');
    const expected = { ...NONE, created: 1, updated: 1, unchanged: 2, suspended: 1 };
    r = await runRemote([f, '--mode', 'sync', '--dry-run'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dry run, would have /);
    assert.deepEqual(counts(r.stdout), expected);
    assert.equal(await snapshot(), before, 'a dry run writes nothing');
    r = await runRemote([f, '--mode', 'sync', '--max-changes', '2'], { org });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^refused, would have /);
    assert.match(r.stderr, /would change 3 users, more than --max-changes 2/);
    assert.equal(await snapshot(), before, 'a refused sync writes nothing');
    r = await runRemote([f, '--mode', 'sync', '--max-changes', '2', '--force'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), expected);
    let u = await users(a);
    assert.equal(u.s2.firstname, 'Deux');
    assert.equal(u.s3.state, 'SUSPENDED');
    assert.equal(u.s4.state, 'SUSPENDED');
    assert.equal(u.s6.firstname, 'Six');
    assert.equal(u.s1.state, 'ACTIVATED');
    r = await runRemote([f, '--mode', 'sync'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 4 }, 'the same sync again changes nothing');

    const one = file('one.csv', 'username,email,firstname\ns1,s1@example.com,One\n');
    r = await runRemote([one, '--mode', 'sync', '--missing', 'keep'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 1 });
    const kept = await snapshot();
    r = await runRemote([one, '--mode', 'sync', '--missing', 'delete', '--dry-run'], { org });
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 1, deleted: 5 });
    assert.equal(await snapshot(), kept, 'a dry run deletes nothing');
    r = await runRemote([one, '--mode', 'sync', '--missing', 'delete'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 1, deleted: 5 });
    u = await users(a);
    assert.deepEqual(Object.keys(u), ['s1']);

    // dry runs of skip and overwrite
    const f2 = file('d.csv', 'username,email,firstname\ns1,s1@example.com,Uno\ns7,s7@example.com,Seven\ns8,bad,Eight\n');
    r = await runRemote([f2, '--dry-run'], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1, skipped: 1, rejected: 1 });
    r = await runRemote([f2, '--dry-run', '--mode', 'overwrite'], { org });
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1, updated: 1, rejected: 1 });
    assert.equal((await listAll(a)).length, 1, 'dry runs write nothing');
    assert.equal((await users(a)).s1.firstname, 'One');
});

test('remote from standard input (kept for the second pass): a JSON array synced, settings and SCIM fields not sent', async () => {
    const { org, api: a } = await newOrg('rstdin');
    let r = await runRemote(['-'], { org, input: '{"username":"p1","email":"p1@example.com"}\n{"username":"p2","email":"p2@example.com"}\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 2 });
    const arr = JSON.stringify([
        { username: 'p1', email: 'p1@example.com', sudo: true, phoneNumbers: [{ type: 'work', number: '1' }] },
        { username: 'p3', email: 'p3@example.com', addresses: [] },
    ]);
    r = await runRemote(['-', '--mode', 'sync'], { org, input: arr });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1, updated: 1, suspended: 1 });
    r = await runRemote(['-', '--mode', 'sync'], { org, input: arr.replace('"number":"1"', '"number" : "1"') });
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 2 }, 'JSON compared as JSON, sudo not compared');
    const u = await users(a);
    assert.equal(u.p1.sudo, false, 'JumpCloud settings of a row are not sent');
    assert.deepEqual(u.p1.phoneNumbers, [{ type: 'work', number: '1' }]);
    assert.equal(u.p2.state, 'SUSPENDED');
    r = await runRemote([file('c.csv', 'username,email,externalId,phoneNumbers\np1,p1@example.com,X1,\n'), '--mode', 'overwrite'], { org });
    assert.deepEqual(counts(r.stdout), { ...NONE, updated: 1 }, 'an empty cell clears the phones; externalId is not compared');
    assert.deepEqual((await users(a)).p1.phoneNumbers, []);
});

test('remote fail mode: one bad row writes nothing; a good file is written', async () => {
    const { org, api: a } = await newOrg('rfail');
    let r = await runRemote([file('x.csv', 'username,email\nold,old@example.com\n')], { org });
    assert.equal(r.code, 0, r.stderr);
    const rows = ['username,email'];
    for (let i = 0; i < 1500; i++) rows.push(`f${i},f${i}@example.com`);
    const good = rows.join('\n') + '\n';
    const rep = path.join(srv.dir, `${uniq('rep')}.jsonl`);
    r = await runRemote([file('bad.csv', good + 'fbad,not-an-email\nOLD,x@example.com\nf3,f3b@example.com\n'), '--mode', 'fail', '--report', rep], { org });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^nothing written \(a row was rejected in --mode fail\), would have /);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1500, rejected: 3 });
    const rep1 = readFileSync(rep, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rep1.map((x) => [x.line, x.field]), [[1502, 'email'], [1503, 'username'], [1504, 'username']]);
    assert.match(rep1[1].reason, /username "OLD" already exists/);
    assert.match(rep1[2].reason, /also on line 5 of the file/);
    assert.equal((await listAll(a)).length, 1, 'nothing written');
    r = await runRemote([file('good.csv', good), '--mode', 'fail'], { org });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { ...NONE, created: 1500 });
    assert.equal((await listAll(a)).length, 1501);
});

test('remote: kill -9 in the middle, then the same command: every row exactly once', async () => {
    for (const mode of ['skip', 'sync', 'fail', 'overwrite']) {
        const { org, api: a } = await newOrg(`rkill${mode}`);
        const rows = ['username,email,employeeIdentifier'];
        for (let i = 0; i < 6000; i++) rows.push(`k${i},k${i}@example.com,K${i}`);
        const f = file('k.csv', rows.join('\n') + '\n');
        const state = path.join(srv.dir, `state-${mode}`);
        const args = ['import', f, '--org', org, '--url', srv.url, '--key', srv.adminKey, '--no-progress', '--mode', mode];
        const { spawn } = await import('node:child_process');
        const p = spawn(BIN, args, { stdio: 'ignore', env: { ...process.env, XDG_STATE_HOME: state } });
        const exited = new Promise((res) => p.on('exit', (code, signal) => res({ code, signal })));
        let seen = 0;
        for (let i = 0; i < 2400 && seen < 2500; i++) {
            seen = (await a.get('/api/systemusers?limit=1')).json.totalCount;
            if (seen < 2500) await new Promise((res) => setTimeout(res, 25));
        }
        p.kill('SIGKILL');
        const ex = await exited;
        assert.equal(ex.signal, 'SIGKILL', 'killed before it finished');
        const r = await runRemote([f, '--mode', mode], { org, env: { XDG_STATE_HOME: state } });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /resuming after row [1-9]\d*000\b/);
        assert.deepEqual(counts(r.stdout), { ...NONE, created: 6000 }, 'the interrupted batch is counted from its jobs');
        const all = await listAll(a);
        assert.equal(all.length, 6000);
        assert.equal(new Set(all.map((x) => x.username)).size, 6000, 'each user once');
        const again = await runRemote([f, '--mode', mode], { org, env: { XDG_STATE_HOME: state } });
        assert.doesNotMatch(again.stderr, /resuming/, 'a finished import starts afresh');
        if (mode === 'fail') assert.equal(counts(again.stdout).rejected, 6000, 'fail mode: every user exists');
        else assert.equal(counts(again.stdout)[mode === 'skip' ? 'skipped' : 'unchanged'], 6000);
    }
});

test('remote: kill -9 while a sync suspends the missing users, then the same command: each suspended once, counts whole', async () => {
    const { org, api: a } = await newOrg('rkillmiss');
    const rows = ['username,email'];
    for (let i = 0; i < 8000; i++) rows.push(`m${i},m${i}@example.com`);
    let r = await runRemote([file('all.csv', rows.join('\n') + '\n')], { org });
    assert.equal(r.code, 0, r.stderr);
    const f = file('one.csv', 'username,email\nm0,m0@example.com\n');
    const state = path.join(srv.dir, 'state-miss');
    const { spawn } = await import('node:child_process');
    const p = spawn(BIN, ['import', f, '--org', org, '--url', srv.url, '--key', srv.adminKey, '--no-progress', '--mode', 'sync'],
        { stdio: 'ignore', env: { ...process.env, XDG_STATE_HOME: state } });
    const exited = new Promise((res) => p.on('exit', (code, signal) => res({ code, signal })));
    let seen = 0;
    for (let i = 0; i < 4000 && seen < 1000; i++) {
        seen = (await a.get('/api/systemusers?limit=1&filter=state:eq:SUSPENDED')).json.totalCount;
        if (seen < 1000) await new Promise((res) => setTimeout(res, 10));
    }
    p.kill('SIGKILL');
    const ex = await exited;
    assert.equal(ex.signal, 'SIGKILL', 'killed before it finished');
    r = await runRemote([f, '--mode', 'sync'], { org, env: { XDG_STATE_HOME: state } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming after row 1\b/);
    assert.deepEqual(counts(r.stdout), { ...NONE, unchanged: 1, suspended: 7999 });
    assert.equal((await a.get('/api/systemusers?limit=1&filter=state:eq:SUSPENDED')).json.totalCount, 7999);
});

test('overwrite and sync matched by --match externalid (case-exact)', async () => {
    const { org, api: a } = await newOrg('ext');
    let r = await runImport([file('x.csv', 'externalId,username,email,firstname\nHR-1,x1,x1@example.com,One\nHR-2,x2,x2@example.com,Two\n'), '--org', org]);
    assert.equal(r.code, 0, r.stderr);
    r = await runImport([file('y.csv', 'external_id,username,email,firstname\nHR-1,x1,x1@example.com,Uno\nhr-2,x3,x3@example.com,Three\n'),
        '--org', org, '--mode', 'sync', '--match', 'externalid']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r.stdout), { created: 1, updated: 1, unchanged: 0, skipped: 0, suspended: 1, deleted: 0, rejected: 0 });
    const u = await users(a);
    assert.equal(u.x1.firstname, 'Uno');
    assert.equal(u.x2.suspended, true, 'HR-2 is not hr-2');
    assert.equal(u.x3.firstname, 'Three');
});
