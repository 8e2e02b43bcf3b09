// roster import into a store without users: the bulk load (roster_store_bulk_load, docs/
// import-export.md "Into an empty store"). The same files go into fresh stores with and
// without --no-bulk-load; the outcomes (summary, report, users) must be the same, the
// store's unique indexes must be back afterwards, a failed or killed load must leave the
// store as it was. Each test starts fresh `roster serve` stores (SQLite, or PostgreSQL with
// ROSTER_TEST_STORE=postgres) and reads them through the JumpCloud API.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, cleanup, cliOrg, listAll, importCounts as counts, BIN, uniq } from './harness.mjs';

const servers = [];
after(async () => {
    for (const s of servers) await cleanup(s);
});

/** A fresh serving store with one organisation: {srv, org, api}. */
async function freshStore(tag) {
    const srv = await startServer();
    servers.push(srv);
    const org = await cliOrg(srv.store, uniq(tag));
    return { srv, org, api: srv.api(srv.adminKey).withOrg(org) };
}

/** roster import ARGS --store STORE; resolves {code, stdout, stderr}. */
function runImport(store, args) {
    return new Promise((resolve) => {
        execFile(BIN, ['import', ...args, '--store', store, '--no-progress'], {
            timeout: 120000, env: { ...process.env, CI: '' }, maxBuffer: 64 << 20,
        }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
    });
}

/** The users of an organisation as {username: [email, employeeIdentifier, state]}. */
async function usersOf(api) {
    const all = await listAll(api);
    return Object.fromEntries(all.map((u) => [u.username, [u.email, u.employeeIdentifier, u.state]]));
}

/** The same file into two fresh stores, with and without the bulk load: both outcomes. */
async function both(tag, csv, extra = []) {
    const out = [];
    for (const flags of [[], ['--no-bulk-load']]) {
        const s = await freshStore(tag);
        const f = path.join(s.srv.dir, `${uniq(tag)}.csv`);
        writeFileSync(f, csv);
        const rep = path.join(s.srv.dir, `${uniq('rep')}.csv`);
        const r = await runImport(s.srv.store, [f, '--org', s.org, '--report', rep, ...extra, ...flags]);
        out.push({ ...s, r, f, report: readFileSync(rep, 'utf8'), users: await usersOf(s.api) });
    }
    return out;
}

test('a clean file: the same users as without the bulk load, and the unique indexes are back', async () => {
    const rows = ['username,email,employeeIdentifier,firstname,lastname,department'];
    for (let i = 0; i < 3000; i++) rows.push(`c${(i * 7) % 3000},c${(i * 7) % 3000}@example.com,C${i},F${i % 97},L${i % 89},D${i % 5}`);
    const [load, plain] = await both('clean', rows.join('\n') + '\n');
    assert.equal(load.r.code, 0, load.r.stderr);
    assert.equal(plain.r.code, 0, plain.r.stderr);
    assert.deepEqual(counts(load.r.stdout), counts(plain.r.stdout));
    assert.equal(counts(load.r.stdout).created, 3000);
    assert.match(load.r.stderr, /the store holds no users: loading with its indexes built at the end/);
    assert.doesNotMatch(load.r.stderr, /bulk load ended/);
    assert.doesNotMatch(plain.r.stderr, /loading with its indexes/);
    assert.deepEqual(load.users, plain.users);
    // the load is a job like any import: one result per row, the last one the last row's user
    const job = (load.r.stdout.match(/; job ([0-9a-f]{24})/) || [])[1];
    assert.ok(job, `the summary names the job: ${load.r.stdout}`);
    const last = await load.api.get(`/api/v2/bulk/users/${job}/results?skip=2999&limit=10`);
    assert.equal(last.status, 200);
    assert.equal(last.json.length, 1, 'exactly 3,000 results');
    const lastUser = await load.api.get('/api/systemusers?filter=username:eq:c' + ((2999 * 7) % 3000));
    assert.equal(last.json[0].meta.userId, lastUser.json.results[0]._id);
    // the indexes are back: a second import of the same file finds every user, by each key
    const again = await runImport(load.srv.store, [load.f, '--org', load.org]);
    assert.equal(counts(again.stdout).skipped, 3000, again.stdout);
    assert.doesNotMatch(again.stderr, /loading with its indexes/, 'a store with users loads row by row');
    const clash = path.join(load.srv.dir, 'clash.csv');
    writeFileSync(clash, 'username,email,employeeIdentifier\nC5,new5@example.com,N5\nnew6,C6@EXAMPLE.com,N6\nnew7,new7@example.com,C7\n');
    const r = await runImport(load.srv.store, [clash, '--org', load.org]);
    assert.equal(counts(r.stdout).skipped, 3, `username, e-mail (any case) and employee id are unique again: ${r.stdout}`);
    // lists by the rebuilt indexes answer as they did
    const byLast = await load.api.get('/api/systemusers?filter=lastname:eq:L7&limit=100');
    const byLastPlain = await plain.api.get('/api/systemusers?filter=lastname:eq:L7&limit=100');
    assert.equal(byLast.status, 200);
    assert.equal(byLast.json.totalCount, byLastPlain.json.totalCount);
    assert.ok(byLast.json.totalCount > 0);
});

test('duplicates and non-ASCII keys end the load early: the same outcome, row by row, as without it', async () => {
    const rows = ['username,email,employeeIdentifier'];
    for (let i = 0; i < 2500; i++) {
        if (i === 1200) rows.push('D10,other10@example.com,X10'); // username of row 10, other case
        else if (i === 1500) rows.push(`d${i},D11@Example.COM,X${i}`); // e-mail of row 11
        else if (i === 1800) rows.push(`d${i},d${i}@example.com,E12`); // employee id of row 12
        else if (i === 2000) rows.push('émile,emile@example.com,X2000'); // a key outside ASCII
        else if (i === 2100) rows.push('Émile,emile2@example.com,X2100'); // the same one in PostgreSQL's lower()
        else if (i === 300) rows.push('bad,not-an-email,X300'); // rejected by the validator
        else rows.push(`d${i},d${i}@example.com,E${i}`);
    }
    const [load, plain] = await both('dups', rows.join('\n') + '\n');
    assert.equal(load.r.code, plain.r.code);
    assert.match(load.r.stderr, /the bulk load ended at line 1202 /, 'at the row that repeats row 10\'s username');
    assert.deepEqual(counts(load.r.stdout), counts(plain.r.stdout));
    assert.ok(counts(load.r.stdout).skipped >= 3, load.r.stdout);
    assert.equal(counts(load.r.stdout).rejected, 1);
    assert.equal(load.report, plain.report, 'the same report, line for line');
    assert.deepEqual(load.users, plain.users);
    const again = await runImport(load.srv.store, [load.f, '--org', load.org]);
    assert.equal(counts(again.stdout).created, 0, `nothing is new the second time: ${again.stdout}`);
});

test('fail mode with a bad row: nothing written, the store as it was (indexes too)', async () => {
    const s = await freshStore('fail');
    const rows = ['username,email'];
    for (let i = 0; i < 2000; i++) rows.push(`f${i},f${i}@example.com`);
    rows.push('broken,no-at-sign');
    const f = path.join(s.srv.dir, 'fail.csv');
    writeFileSync(f, rows.join('\n') + '\n');
    const r = await runImport(s.srv.store, [f, '--org', s.org, '--mode', 'fail']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal((await s.api.get('/api/systemusers?limit=1')).json.totalCount, 0);
    const good = path.join(s.srv.dir, 'good.csv');
    writeFileSync(good, rows.slice(0, -1).join('\n') + '\nF5,other@example.com\n');
    const g = await runImport(s.srv.store, [good, '--org', s.org]);
    assert.equal(counts(g.stdout).created, 2000, g.stdout);
    assert.equal(counts(g.stdout).skipped, 1, 'F5 is f5: the username index is in place');
});

test('kill -9 during a bulk load: nothing of it stays, and the same command then loads every row once', async () => {
    const s = await freshStore('kill');
    const rows = ['username,email,employeeIdentifier'];
    for (let i = 0; i < 300000; i++) rows.push(`k${i},k${i}@example.com,K${i}`);
    const f = path.join(s.srv.dir, 'kill.csv');
    writeFileSync(f, rows.join('\n') + '\n');
    const p = spawn(BIN, ['import', f, '--org', s.org, '--store', s.srv.store, '--no-progress'], { stdio: 'ignore' });
    const exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
    await new Promise((r) => setTimeout(r, 1000));
    p.kill('SIGKILL');
    const ex = await exited;
    assert.equal(ex.signal, 'SIGKILL', 'killed before it finished');
    assert.equal((await s.api.get('/api/systemusers?limit=1')).json.totalCount, 0, 'one transaction: nothing committed');
    const r = await runImport(s.srv.store, [f, '--org', s.org]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r.stdout).created, 300000);
    assert.equal((await s.api.get('/api/systemusers?limit=1')).json.totalCount, 300000);
    for (const n of [0, 150000, 299999]) {
        const u = await s.api.get(`/api/systemusers?filter=username:eq:k${n}`);
        assert.equal(u.json.totalCount, 1, `k${n} once`);
    }
    const dup = await s.api.post('/api/systemusers', { username: 'K7', email: 'x7@example.com' });
    assert.equal(dup.status, 409, 'the server sees the username index again');
});
