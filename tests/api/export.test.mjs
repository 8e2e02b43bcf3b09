// roster export (docs/import-export.md, "Export"): every format checked field by field
// against what the JumpCloud API answers for the same users, --fields, --filter, --state,
// errors and exit codes, another organisation's users never exported, progress on a
// terminal and on a pipe, one consistent snapshot while the server writes, and the round
// trip `roster export | roster import` into another store. Runs on SQLite and (with
// ROSTER_TEST_STORE=postgres) PostgreSQL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BIN, startServer, cleanup, Api, HEX24, tempDir } from './harness.mjs';

let srv;
let api;
let org;
let users; // what was sent, by username
let apiUsers; // GET /api/systemusers answers, by username

const PROFILE = ['username', 'email', 'employeeIdentifier', 'firstname', 'middlename', 'lastname',
    'displayname', 'department', 'costCenter', 'company', 'jobTitle', 'location', 'manager',
    'countryCode', 'alternateEmail', 'description', 'employeeType', 'customData'];
const JSONV = ['phoneNumbers', 'attributes', 'addresses'];
const SCIM = ['externalId', 'userType', 'preferredLanguage', 'locale', 'timezone'];
const CSV_HEADER = [...PROFILE, ...SCIM, ...JSONV, 'state', 'extra'];
const SETTINGS = ['mfa', 'sudo', 'unix_uid'];
const STATES = ['STAGED', 'ACTIVATED', 'SUSPENDED'];

function mkUser(i, tag = 'exp') {
    const u = {
        username: `${tag}${String(i).padStart(3, '0')}`,
        email: `${tag}${i}@example.com`,
        firstname: i % 3 === 0 ? 'Ann, "the" 2nd' : `First${i}`,
        lastname: i % 4 === 0 ? 'Doe' : `Roe${i}`,
        state: STATES[i % 3],
    };
    if (i % 2 === 0) u.displayname = `Zoë Ünïcødé 日本 ${i}`;
    if (i % 5 === 0) u.description = 'line1\nline2, "quoted"\r\nend';
    if (i % 3 !== 2) u.employeeIdentifier = tag === 'exp' ? `E${i}` : `${tag}-E${i}`;
    if (i % 2 === 1) u.department = 'Engineering';
    if (i % 7 === 0) u.company = 'Acme, Inc.';
    if (i % 6 === 1) u.costCenter = 'CC-1';
    if (i % 4 === 1) u.jobTitle = 'Engineer';
    if (i % 5 === 2) u.location = 'Berlin';
    if (i % 8 === 3) u.employeeType = 'contractor';
    if (i % 9 === 4) u.alternateEmail = `alt${i}@example.org`;
    if (i % 3 === 1) u.countryCode = 'DE';
    if (i % 10 === 6) u.customData = '{"k": "v, \\"x\\""}';
    if (i % 2 === 0) u.phoneNumbers = [{ type: 'work', number: `+1 555 ${i}` }, { type: 'mobile', number: '+49 30 1' }];
    if (i % 3 === 0) u.attributes = [{ name: 'team', value: 'a,b "c"' }];
    if (i % 11 === 5) u.addresses = [{ type: 'work', streetAddress: '1 Main St\nFloor 2', locality: 'Springfield', country: 'US' }];
    if (i % 4 === 2) u.mfa = { configured: true, exclusion: false };
    if (i % 5 === 3) u.sudo = true;
    if (i % 6 === 4) u.unix_uid = 5000 + i;
    return u;
}

const N = 40;

async function allApiUsers(a) {
    const out = new Map();
    for (let skip = 0; ; skip += 100) {
        const r = await a.get(`/api/systemusers?limit=100&skip=${skip}`);
        assert.equal(r.status, 200, r.text);
        for (const u of r.json.results) out.set(u.username, u);
        if (r.json.results.length < 100) break;
    }
    return out;
}

function run(args, { env = {}, input } = {}) {
    return new Promise((resolve) => {
        const p = execFile(BIN, args, { env: { ...process.env, ...env }, maxBuffer: 256 << 20, timeout: 120000 },
            (err, stdout, stderr) => resolve({
                code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr,
            }));
        if (input !== undefined) p.stdin.end(input);
    });
}

const exportArgs = (...more) => ['export', '--store', srv.store, '--org', org, ...more];

function jsonl(text) {
    assert.ok(text === '' || text.endsWith('\n'), 'JSONL ends with a newline');
    return text.split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
}

// RFC 4180: quoted cells (with "" for a quote, commas and line breaks inside), CRLF rows.
function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = '';
    let i = 0;
    let quoted = false;
    while (i < text.length) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
            if (c === '"') { quoted = false; i++; continue; }
            cell += c; i++; continue;
        }
        if (c === '"' && cell === '') { quoted = true; i++; continue; }
        if (c === ',') { row.push(cell); cell = ''; i++; continue; }
        if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 2; continue; }
        assert.notEqual(c, '\n', `a bare LF outside quotes at ${i}`);
        assert.notEqual(c, '"', `a quote inside an unquoted cell at ${i}`);
        cell += c; i++;
    }
    assert.equal(cell, '', 'the last row ends with CRLF');
    assert.equal(row.length, 0, 'the last row ends with CRLF');
    return rows;
}

// A JSONL object against the API's user: every key it has equals the API's value, and every
// profile value the API has (not "", null or []) is there.
function checkJsonUser(line, apiU, sent) {
    for (const [k, v] of Object.entries(line)) assert.deepEqual(v, apiU[k], `${line.username}: ${k}`);
    for (const k of [...PROFILE, ...JSONV]) {
        const want = apiU[k];
        const empty = want === undefined || want === null || want === '' || (Array.isArray(want) && want.length === 0);
        if (!empty) assert.deepEqual(line[k], want, `${line.username}: ${k} missing`);
    }
    assert.equal(line.state, apiU.state);
    for (const k of ['mfa', 'sudo', 'unix_uid']) {
        if (k in sent) assert.deepEqual(line[k], sent[k], `${line.username}: setting ${k}`);
    }
    for (const k of Object.keys(sent)) assert.deepEqual(line[k], sent[k], `${line.username}: ${k} as sent`);
}

before(async () => {
    srv = await startServer();
    const base = new Api(srv.url, srv.adminKey, null, srv);
    api = await base.inNewOrg('export');
    org = api.org;
    const list = [];
    for (let i = 0; i < N; i++) list.push(mkUser(i));
    await api.createUsers(list);
    users = new Map(list.map((u) => [u.username, u]));
    apiUsers = await allApiUsers(api);
    assert.equal(apiUsers.size, N);
    // another organisation with users of the same names: never in this one's export
    const other = await base.inNewOrg('export-other');
    await other.createUsers([mkUser(0), mkUser(1), { username: 'stranger', email: 'stranger@example.com' }]);
});

after(async () => {
    await cleanup(srv);
});

test('JSONL (the default on stdout): one bulk-user-create object a line, every field as the API has it', async () => {
    const r = await run(exportArgs());
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonl(r.stdout);
    assert.equal(lines.length, N);
    const names = lines.map((l) => l.username);
    assert.deepEqual(new Set(names), new Set(users.keys()), 'exactly this organisation\'s users');
    for (const line of lines) {
        assert.ok(!('_id' in line) && !('created' in line) && !('organization' in line), 'no read-only keys by default');
        checkJsonUser(line, apiUsers.get(line.username), users.get(line.username));
    }
    // in id order: the order the bulk job created them
    const ids = names.map((n) => apiUsers.get(n)._id);
    assert.deepEqual(ids, [...ids].sort());
    assert.match(r.stderr, /^exported 40 users \(jsonl\) in \d+\.\d\d s$/m);
});

test('JSON: an array of the same objects', async () => {
    const r = await run(exportArgs('--format', 'json'));
    assert.equal(r.code, 0, r.stderr);
    const arr = JSON.parse(r.stdout);
    const lines = jsonl((await run(exportArgs('--format', 'jsonl'))).stdout);
    assert.deepEqual(arr, lines);
});

test('CSV: RFC 4180, a header of JumpCloud names, JSON-valued fields as JSON text', async () => {
    const r = await run(exportArgs('--format', 'csv'));
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], CSV_HEADER);
    assert.equal(rows.length, N + 1);
    for (const row of rows.slice(1)) {
        assert.equal(row.length, CSV_HEADER.length);
        const rec = Object.fromEntries(CSV_HEADER.map((h, i) => [h, row[i]]));
        const a = apiUsers.get(rec.username);
        assert.ok(a, rec.username);
        for (const k of PROFILE) assert.equal(rec[k], a[k] ?? '', `${rec.username}: ${k}`);
        for (const k of SCIM) assert.equal(rec[k], '', `${rec.username}: ${k} (none set through JumpCloud)`);
        for (const k of JSONV) {
            if (rec[k] === '') assert.deepEqual(a[k], [], `${rec.username}: ${k}`);
            else assert.deepEqual(JSON.parse(rec[k]), a[k], `${rec.username}: ${k}`);
        }
        assert.equal(rec.state, a.state);
        const sent = users.get(rec.username);
        const settings = Object.fromEntries(SETTINGS.filter((k) => k in sent).map((k) => [k, sent[k]]));
        if (rec.extra === '') assert.deepEqual(settings, {}, `${rec.username}: extra`);
        else assert.deepEqual(JSON.parse(rec.extra), settings, `${rec.username}: extra, the settings as a JSON object`);
    }
    const sent = users.get('exp000');
    const row0 = rows.find((x) => x[0] === 'exp000');
    assert.equal(row0[CSV_HEADER.indexOf('description')], sent.description, 'CR, LF, quotes and commas kept');
    assert.equal(row0[CSV_HEADER.indexOf('firstname')], sent.firstname);
});

test('the format from the output file\'s extension; a file is complete or absent', async () => {
    const dir = tempDir('export-out');
    for (const [ext, check] of [
        ['csv', (t) => assert.deepEqual(parseCsv(t)[0], CSV_HEADER)],
        ['jsonl', (t) => assert.equal(jsonl(t).length, N)],
        ['ndjson', (t) => assert.equal(jsonl(t).length, N)],
        ['json', (t) => assert.equal(JSON.parse(t).length, N)],
    ]) {
        const file = path.join(dir, `users.${ext}`);
        const r = await run(exportArgs('--output', file));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, '', 'nothing on stdout with --output');
        check(readFileSync(file, 'utf8'));
    }
    // --format wins over the extension
    const f = path.join(dir, 'x.json');
    assert.equal((await run(exportArgs('--format', 'csv', '-o', f))).code, 0);
    assert.deepEqual(parseCsv(readFileSync(f, 'utf8'))[0], CSV_HEADER);
    // a failed export (an unknown organisation) leaves no file, not even a temporary one
    const bad = path.join(dir, 'bad.csv');
    const r = await run(['export', '--store', srv.store, '--org', '0123456789abcdef01234567', '-o', bad]);
    assert.equal(r.code, 1);
    assert.ok(!existsSync(bad));
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('--fields: those columns / keys in that order, _id, created and settings on request', async () => {
    let r = await run(exportArgs('--format', 'csv', '--fields', 'email,lastname,state,_id,created,mfa,phoneNumbers'));
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], ['email', 'lastname', 'state', '_id', 'created', 'mfa', 'phoneNumbers']);
    for (const row of rows.slice(1)) {
        const a = [...apiUsers.values()].find((u) => u.email === row[0]);
        assert.equal(row[1], a.lastname);
        assert.equal(row[2], a.state);
        assert.equal(row[3], a._id);
        assert.equal(row[4], a.created);
        const sent = users.get(a.username);
        assert.equal(row[5], sent.mfa ? JSON.stringify(sent.mfa) : '', 'a setting: its JSON text, empty when unset');
    }
    r = await run(exportArgs('--fields', 'extra,username'));
    assert.equal(r.code, 0, r.stderr);
    for (const line of jsonl(r.stdout)) {
        const sent = users.get(line.username);
        const settings = SETTINGS.filter((k) => k in sent);
        assert.deepEqual(Object.keys(line).sort(), [...settings, 'username'].sort(), 'extra: every setting as a key');
    }
    r = await run(exportArgs('--fields', 'username, first_name ,sudo,_id'));
    assert.equal(r.code, 0, r.stderr);
    for (const line of jsonl(r.stdout)) {
        const sent = users.get(line.username);
        const keys = ['username', 'firstname', ...(sent.sudo ? ['sudo'] : []), '_id'];
        assert.deepEqual(Object.keys(line), keys, 'store column names are aliases; unset settings left out');
        assert.equal(line.firstname, sent.firstname);
        assert.match(line._id, HEX24);
    }
});

test('--filter (the JumpCloud list grammar) and --state: the same users as the API lists', async () => {
    const cases = [
        [['--filter', 'lastname:eq:Doe'], 'filter=lastname:eq:Doe'],
        [['--filter', 'department:eq:Engineering', '--filter', 'lastname:eq:Doe'], 'filter=department:eq:Engineering&filter=lastname:eq:Doe'],
        [['--filter', 'username:eq:exp01*'], 'filter=username:eq:exp01*'],
        [['--filter', 'employeeIdentifier:in:E3|E4|E99'], 'filter=employeeIdentifier:in:E3|E4|E99'],
        [['--state', 'suspended'], 'filter=state:eq:SUSPENDED'],
        [['--state', 'STAGED', '--filter', 'lastname:eq:Doe'], 'filter=state:eq:STAGED&filter=lastname:eq:Doe'],
        [['--filter', 'lastname:eq:Nobody'], 'filter=lastname:eq:Nobody'],
    ];
    for (const [args, query] of cases) {
        const r = await run(exportArgs(...args, '--fields', 'username'));
        assert.equal(r.code, 0, `${args}: ${r.stderr}`);
        const got = jsonl(r.stdout).map((l) => l.username);
        const l = await api.get(`/api/systemusers?limit=100&${query}`);
        assert.equal(l.status, 200, l.text);
        assert.deepEqual(got.sort(), l.json.results.map((u) => u.username).sort(), args.join(' '));
    }
    const r = await run(exportArgs('--filter', 'lastname:eq:Doe', '--format', 'csv', '--fields', 'username'));
    assert.deepEqual(parseCsv(r.stdout).slice(1).map((x) => x[0]).sort(),
        [...users.values()].filter((u) => u.lastname === 'Doe').map((u) => u.username).sort());
});

test('bad input: a message naming what is wrong, exit 2 (usage) or 1 (not found)', async () => {
    const cases = [
        [['--filter', 'nosuch:eq:x'], 2, /--filter: .*unknown field "nosuch"/],
        [['--filter', 'lastname:like:x'], 2, /--filter: .*lastname:like:x/],
        [['--state', 'ACTIVE'], 2, /--state "ACTIVE" is not one of STAGED, ACTIVATED, SUSPENDED/],
        [['--format', 'xml'], 2, /--format "xml" is not one of csv, jsonl, json/],
        [['--fields', 'username,nosuch'], 2, /--fields: unknown field "nosuch"/],
        [['--page-size', '0'], 2, /--page-size "0"/],
        [['--bogus'], 2, /usage: roster export/],
        [['extra-arg'], 2, /unexpected argument "extra-arg"/],
    ];
    for (const [args, code, re] of cases) {
        const r = await run(exportArgs(...args));
        assert.equal(r.code, code, `${args}: ${r.stderr}`);
        assert.match(r.stderr, re, args.join(' '));
        assert.equal(r.stdout, '', `${args}: nothing on stdout`);
    }
    let r = await run(['export', '--store', srv.store]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--org is required/);
    for (const bad of ['0123456789abcdef01234567', 'not-an-id']) {
        r = await run(['export', '--store', srv.store, '--org', bad]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`organization "${bad}" not found`));
        assert.equal(r.stdout, '');
    }
    r = await run(['export', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: roster export/);
});

test('an empty organisation: an empty file of the format', async () => {
    const empty = await api.inNewOrg('export-empty');
    const args = (...m) => ['export', '--store', srv.store, '--org', empty.org, ...m];
    assert.equal((await run(args())).stdout, '');
    assert.equal((await run(args('--format', 'json'))).stdout, '[]\n');
    assert.equal((await run(args('--format', 'csv'))).stdout, CSV_HEADER.join(',') + '\r\n');
});

test('progress: plain lines on a pipe (and with CI), a bar on a terminal, only the summary with --quiet', async () => {
    const env = { ROSTER_PROGRESS_INTERVAL_MS: '0', CI: '' };
    // a pipe: one plain line at a time, never a carriage return
    let r = await run(exportArgs('--page-size', '2', '-o', path.join(tempDir('exp-prog'), 'a.jsonl')), { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes('\r'), 'no bar on a pipe');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('export: '));
    assert.ok(lines.length >= 2, `plain progress lines: ${r.stderr}`);
    for (const l of lines) assert.match(l, /^export: \d+\/40 users \(\d+\.\d%\), \d+ users\/s, ETA \S+( s)?$/);
    assert.match(r.stderr, /^exported 40 users \(jsonl\)/m);
    // --quiet: the summary alone
    r = await run(exportArgs('--page-size', '2', '--quiet', '--format', 'csv'), { env });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^exported 40 users \(csv\) in \d+\.\d\d s\n$/);
    // a terminal (script gives the command a pty): the bar, redrawn in place
    const cmd = [BIN, ...exportArgs('--page-size', '1', '-o', path.join(tempDir('exp-tty'), 'b.csv'))]
        .map((a) => `'${a}'`).join(' ');
    const tty = await new Promise((resolve) => {
        execFile('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, CI: '', ROSTER_PROGRESS_INTERVAL_MS: '' } },
            (err, stdout) => resolve({ code: err ? err.code : 0, out: stdout }));
    });
    assert.equal(tty.code, 0, tty.out);
    assert.match(tty.out, /\r\[[#.]{30}\] +\d+\.\d% \d+\/40 users, \d+ users\/s, ETA /, 'a bar on a terminal');
    assert.match(tty.out, /\[#{30}\] 100\.0% 40\/40 users/, 'the bar ends full');
    assert.ok(!/^export: /m.test(tty.out), 'no plain lines on a terminal');
    // a terminal with CI set, or --no-progress: plain lines
    for (const [extra, e] of [[[], { CI: 'true' }], [['--no-progress'], { CI: '' }]]) {
        const c = [BIN, ...exportArgs('--page-size', '4', ...extra, '-o', path.join(tempDir('exp-ci'), 'c.csv'))]
            .map((a) => `'${a}'`).join(' ');
        const out = await new Promise((resolve) => {
            execFile('script', ['-qfec', c, '/dev/null'], { env: { ...process.env, ...e, ROSTER_PROGRESS_INTERVAL_MS: '0' } },
                (err, stdout) => resolve(stdout));
        });
        assert.match(out, /^export: \d+\/40 users/m, `plain lines (${extra} ${JSON.stringify(e)})`);
        assert.ok(!out.includes('\r['), 'no bar');
    }
});

test('one snapshot: writes during a long export are not in it, the state before them is', async () => {
    const snap = await api.inNewOrg('export-snap');
    const M = 1500;
    const list = [];
    for (let i = 0; i < M; i++) list.push(mkUser(i, 'snap'));
    const ids = await snap.createUsers(list);
    const args = ['export', '--store', srv.store, '--org', snap.org, '--page-size', '25'];
    const beforeText = (await run(args)).stdout;
    assert.equal(jsonl(beforeText).length, M);

    // start the export and stop reading its output: it blocks on the full pipe, in the middle
    // of its scan, holding its snapshot
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    let got = 0;
    const first = new Promise((resolve) => {
        p.stdout.once('data', (c) => {
            chunks.push(c);
            got += c.length;
            p.stdout.pause();
            resolve();
        });
    });
    const exited = new Promise((resolve) => p.on('exit', (code) => resolve(code)));
    const closed = new Promise((resolve) => p.stdout.on('close', resolve));
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    await first;
    // writes while it waits: updates of users early and late in the id order, deletions,
    // new users
    const putR = await Promise.all([ids[1], ids[700], ids[M - 1]].map((id) => snap.put(`/api/systemusers/${id}`, { lastname: 'Changed' })));
    for (const r of putR) assert.equal(r.status, 200, r.text);
    for (const id of [ids[2], ids[800], ids[M - 2]]) {
        const r = await snap.del(`/api/systemusers/${id}`);
        assert.equal(r.status, 200, r.text);
    }
    await snap.createUsers([mkUser(0, 'late'), mkUser(1, 'late')]);
    assert.equal(p.exitCode, null, 'the export was still running during the writes');
    const afterText = (await run(args)).stdout;
    assert.notEqual(afterText, beforeText, 'the writes changed the organisation');
    assert.equal(jsonl(afterText).length, M - 3 + 2);

    p.stdout.on('data', (c) => { chunks.push(c); got += c.length; });
    p.stdout.resume();
    assert.equal(await exited, 0, stderr);
    await closed;
    const during = Buffer.concat(chunks).toString('utf8');
    assert.ok(got > 0);
    assert.equal(during, beforeText, 'the export is the state before the writes, whole');
});

test('round trip: roster export | roster import --store other gives back every field', async (t) => {
    const probe = await run(['import', '--help']);
    if (probe.code !== 0) {
        t.todo(`roster import is not in this build yet (import --help: exit ${probe.code})`);
        return;
    }
    const other = await startServer();
    try {
        const base = new Api(other.url, other.adminKey, null, other);
        const dest = await base.inNewOrg('roundtrip');
        const cmd = `'${BIN}' export --store '${srv.store}' --org ${org} --quiet | `
            + `'${BIN}' import - --format jsonl --store '${other.store}' --org ${dest.org} --quiet`;
        const r = await new Promise((resolve) => {
            execFile('sh', ['-c', cmd], { timeout: 120000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
        });
        assert.equal(r.code, 0, r.stderr);
        const a = jsonl((await run(exportArgs())).stdout).sort((x, y) => x.username.localeCompare(y.username));
        const b = jsonl((await run(['export', '--store', other.store, '--org', dest.org])).stdout)
            .sort((x, y) => x.username.localeCompare(y.username));
        assert.deepEqual(b, a, 'every field of every user');
        // and the CSV of both is the same too
        const ca = parseCsv((await run(exportArgs('--format', 'csv'))).stdout).sort();
        const cb = parseCsv((await run(['export', '--store', other.store, '--org', dest.org, '--format', 'csv'])).stdout).sort();
        assert.deepEqual(cb, ca);
        // the same through CSV: every field of every user, the settings in the extra column
        const dest2 = await base.inNewOrg('roundtrip-csv');
        const cmd2 = `'${BIN}' export --store '${srv.store}' --org ${org} --format csv --quiet | `
            + `'${BIN}' import - --format csv --store '${other.store}' --org ${dest2.org} --quiet`;
        const r2 = await new Promise((resolve) => {
            execFile('sh', ['-c', cmd2], { timeout: 120000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
        });
        assert.equal(r2.code, 0, r2.stderr);
        const c = jsonl((await run(['export', '--store', other.store, '--org', dest2.org])).stdout)
            .sort((x, y) => x.username.localeCompare(y.username));
        assert.deepEqual(c, a, 'every field of every user, through CSV');
    } finally {
        await cleanup(other);
    }
});

