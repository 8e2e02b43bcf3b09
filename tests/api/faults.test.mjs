// A full disk and a failing disk under a running server (SQLite store): strace attaches to
// `roster serve` and makes every pwrite64 (how SQLite writes its database and WAL files)
// fail with ENOSPC, then EIO. While it does, writes answer 500/503 in JumpCloud's error
// shape naming the store's trouble, reads and /healthz still answer, and the server stays
// up; a bulk job acknowledged just before keeps its items. Once strace lets go (space
// returns) the same write succeeds, the job finishes with one result per item and no user
// exists twice. strace needs to ptrace the server (root in a container, or
// kernel.yama.ptrace_scope 0 for one's own processes). PostgreSQL keeps its files in
// another process: this file runs on SQLite only (the fault store of the contract suite
// covers a lost PostgreSQL connection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, cleanup, makeUsers, uniq, pollUntil, sleep, PG } from './harness.mjs';

// Attaches strace to every thread of pid, failing each pwrite64 with errno; resolves with
// the strace process once it is attached.
async function injectWrites(pid, errno) {
    const proc = spawn('strace', ['-f', '-p', String(pid), '-e', 'trace=pwrite64',
        '-e', `inject=pwrite64:error=${errno}`, '-o', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { err += d; });
    // strace reports each attached thread on stderr ("Process N attached")
    await pollUntil('strace attached', () => {
        if (proc.exitCode !== null) throw new Error(`strace exited ${proc.exitCode}: ${err}`);
        return /attached/.test(err);
    }, { timeoutMs: 10000 });
    await sleep(200); // the other threads' attach lines
    return proc;
}

async function detach(proc) {
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM'); // strace detaches and the syscalls run untouched again
    await done;
}

// A write that the store must refuse while the disk fails, in JumpCloud's error shape:
// a full disk 503 (over once space returns), an I/O error 500, each saying so.
const EXPECT = {
    ENOSPC: [503, /^store is out of disk space, try again later$/],
    EIO: [500, /^store I\/O error$/],
};
function assertStoreError(r, errno, what) {
    const [status, msg] = EXPECT[errno];
    assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.json?.code, status, `${what} body: ${r.text}`);
    assert.match(r.json?.message ?? '', msg, `${what} message: ${r.text}`);
}

for (const errno of PG ? [] : ['ENOSPC', 'EIO']) {
    test(`${errno} on the SQLite files: 5xx with a clear error, the server stays up and resumes`, async () => {
        const srv = await startServer({ jobLeaseMs: 1000 });
        let strace;
        try {
            const api = srv.api(srv.adminKey);
            const p = uniq('flt');
            const before = await api.post('/api/systemusers', { username: `${p}a`, email: `${p}a@example.test` });
            assert.equal(before.status, 200, before.text);
            // acknowledged before the fault; its chunks run into it
            const users = makeUsers(3000, `${p}b`);
            const job = await api.bulkCreate(users);

            strace = await injectWrites(srv.pid, errno);
            const during = await api.post('/api/systemusers', { username: `${p}c`, email: `${p}c@example.test` });
            assertStoreError(during, errno, `create during ${errno}`);
            const bulk = await api.req('POST', '/api/v2/bulk/users', {
                body: [{ username: `${p}d`, email: `${p}d@example.test` }],
                headers: { 'creation-source': 'jumpcloud:bulk' },
            });
            assertStoreError(bulk, errno, `bulk submit during ${errno}`);
            // reads and liveness still answer
            const got = await api.get(`/api/systemusers/${before.json._id}`);
            assert.equal(got.status, 200, got.text);
            assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
            assert.equal(srv.exited, false, 'server still running');
            await sleep(1500); // the job engine meets the fault too (lease 1 s)
            await detach(strace);
            strace = null;

            // space is back: the same write succeeds, nothing acknowledged is lost
            const after = await api.post('/api/systemusers', { username: `${p}c`, email: `${p}c@example.test` });
            assert.equal(after.status, 200, after.text);
            const rs = await api.finishedResults(job, users.length, 60000);
            rs.forEach((r, i) => assert.equal(r.status, 'succeeded', `item ${i}: ${JSON.stringify(r)}`));
            assert.equal(new Set(rs.map((r) => r.persistedFields._id)).size, users.length);
            // the organisation holds exactly a, the job's users and c (d was refused)
            assert.equal(await api.totalCount(), users.length + 2);
            for (const [u, n] of [['a', 1], ['c', 1], ['d', 0]])
                assert.equal(await api.totalCount(`&filter=username:eq:${p}${u}`), n, `users ${u}`);
            // the job engine met the fault and retried
            assert.match(srv.stderr(), /not applied|rolled back|not prepared|claim failed/);
            assert.equal(srv.exited, false, 'server still running');
        } finally {
            if (strace) await detach(strace);
            await cleanup(srv);
        }
    });
}
