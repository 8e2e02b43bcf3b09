// Shared harness for the API tests (node:test): starts a real `roster serve` on a free
// port with a fresh temp store, runs the offline CLI on the same store, and wraps the HTTP
// API (global fetch) with helpers that check the JumpCloud error shape and poll bulk jobs.
// Binary: $ROSTER_BIN, else <repo>/build/roster. Not a test file itself (no .test. in name).
// ROSTER_TEST_STORE=postgres with ROSTER_TEST_PG_DIR=<cluster dir> (scripts/pg.sh start):
// each new data dir gets a fresh PostgreSQL database instead of a SQLite file.

import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const BIN = process.env.ROSTER_BIN || path.join(REPO, 'build', 'roster');

export const HEX24 = /^[0-9a-f]{24}$/;
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
export const RESULT_KEYS = ['createdAt', 'id', 'meta', 'persistedFields', 'status', 'statusMsg', 'updatedAt'];
export const CREATION_SOURCES = [
    'jumpcloud:gapps', 'jumpcloud:o365', 'jumpcloud:workday',
    'jumpcloud:scim', 'jumpcloud:bulk', 'jumpcloud:custom_integration',
];

// Safety net: never leave a server behind, even when the test process is interrupted.
const live = new Set();
process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
        for (const p of live) p.kill('SIGKILL');
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

export function tempDir(tag = 'api') {
    return mkdtempSync(path.join(os.tmpdir(), `roster-${tag}-`));
}

export const PG = process.env.ROSTER_TEST_STORE === 'postgres';
if (PG && !process.env.ROSTER_TEST_PG_DIR) throw new Error('ROSTER_TEST_STORE=postgres needs ROSTER_TEST_PG_DIR');

/**
 * The store of a data dir: SQLite mode: <dir>/roster.db. PostgreSQL mode: the URL kept in
 * <dir>/pg-url, made on first use with `scripts/pg.sh newdb` (a restart on the same dir gets
 * the same database). Returns {store, fresh}.
 */
function storeFor(dir) {
    if (!PG) {
        const store = path.join(dir, 'roster.db');
        return { store, fresh: !existsSync(store) };
    }
    const file = path.join(dir, 'pg-url');
    if (existsSync(file)) return { store: readFileSync(file, 'utf8').trim(), fresh: false };
    const name = `api_${process.pid}_${path.basename(dir).replace(/[^A-Za-z0-9]/g, '_')}`.toLowerCase();
    const url = execFileSync(path.join(REPO, 'scripts', 'pg.sh'), ['newdb', process.env.ROSTER_TEST_PG_DIR, name],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    writeFileSync(file, url + '\n');
    return { store: url, fresh: true };
}

/** Polls fn() until it returns a truthy value or the deadline passes (then throws with what). */
export async function pollUntil(what, fn, { timeoutMs = 60000, intervalMs = 50 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        last = await fn();
        if (last) return last;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(intervalMs);
    }
}

/**
 * Starts `roster serve` and resolves once it prints `listening http://...`.
 * opts: dir (data dir, default fresh temp), workers, maxBody, logLevel, env (extra env),
 *       tlsPriorities (--tls-priorities), bulkMaxItems (--bulk-max-items), bootstrapKey (sets ROSTER_BOOTSTRAP_KEY), useEnv (configure via ROSTER_* env, no flags),
 *       expectFresh (wait for the `admin key` line too; default: true when the store file is new),
 *       jobLeaseMs (--job-lease-ms / ROSTER_JOB_LEASE_MS), args (more flags, appended as they are).
 *       jobLeaseMs (--job-lease-ms / ROSTER_JOB_LEASE_MS), rateLimit and rateBurst (--rate-limit,
 *       --rate-burst / ROSTER_RATE_LIMIT, ROSTER_RATE_BURST).
 * Several servers on one store: pass the first one's dir (a PostgreSQL data dir keeps its
 * database URL, so they share the database).
 */
export async function startServer(opts = {}) {
    const dir = opts.dir || tempDir();
    const { store, fresh } = storeFor(dir);
    const expectFresh = opts.expectFresh ?? fresh;
    const env = { ...process.env, ...(opts.env || {}) };
    for (const k of ['ROSTER_LISTEN', 'ROSTER_STORE', 'ROSTER_WORKERS', 'ROSTER_MAX_BODY',
        'ROSTER_LOG_LEVEL', 'ROSTER_BOOTSTRAP_KEY', 'ROSTER_TLS_CERT', 'ROSTER_TLS_KEY',
        'ROSTER_JOB_LEASE_MS', 'ROSTER_TLS_PRIORITIES', 'ROSTER_MAX_CONNS', 'ROSTER_MAX_CONNS_PER_IP',
        'ROSTER_BODY_TIMEOUT', 'ROSTER_BULK_MAX_ITEMS', 'ROSTER_HEADER_TIMEOUT', 'ROSTER_JOB_INPUT_RETENTION',
        'ROSTER_RATE_LIMIT', 'ROSTER_RATE_BURST', 'ROSTER_MAX_OPEN_JOBS', 'ROSTER_MAX_PENDING_ITEMS', 'ROSTER_METRICS',
        'ROSTER_SMTP_URL', 'ROSTER_SMTP_FROM', 'ROSTER_SMTP_REQUIRE_TLS', 'ROSTER_SMTP_SESSIONS',
        'ROSTER_DELIVERY_LIFETIME', 'ROSTER_DELIVERY_BACKOFF_MS', 'ROSTER_DELIVERY_LEASE_MS',
        'ROSTER_WEBHOOKS', 'ROSTER_WEBHOOK_SESSIONS']) {
        if (!(opts.env && k in opts.env)) delete env[k];
    }
    if (opts.bootstrapKey) env.ROSTER_BOOTSTRAP_KEY = opts.bootstrapKey;
    const settings = {
        listen: '127.0.0.1:0', store, workers: String(opts.workers ?? 2),
        maxBody: String(opts.maxBody ?? 64 * 1024 * 1024), logLevel: opts.logLevel ?? 'info',
    };
    let args = ['serve'];
    if (opts.useEnv) {
        Object.assign(env, {
            ROSTER_LISTEN: settings.listen, ROSTER_STORE: settings.store,
            ROSTER_WORKERS: settings.workers, ROSTER_MAX_BODY: settings.maxBody,
            ROSTER_LOG_LEVEL: settings.logLevel,
        });
        if (opts.tls) Object.assign(env, { ROSTER_TLS_CERT: opts.tls.cert, ROSTER_TLS_KEY: opts.tls.key });
        if (opts.jobLeaseMs !== undefined) env.ROSTER_JOB_LEASE_MS = String(opts.jobLeaseMs);
        if (opts.bulkMaxItems !== undefined) env.ROSTER_BULK_MAX_ITEMS = String(opts.bulkMaxItems);
        if (opts.rateLimit !== undefined) env.ROSTER_RATE_LIMIT = String(opts.rateLimit);
        if (opts.rateBurst !== undefined) env.ROSTER_RATE_BURST = String(opts.rateBurst);
    } else {
        args = args.concat(['--listen', settings.listen, '--store', settings.store,
            '--workers', settings.workers, '--max-body', settings.maxBody,
            '--log-level', settings.logLevel]);
        if (opts.tls) args = args.concat(['--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key]);
        if (opts.jobLeaseMs !== undefined) args.push('--job-lease-ms', String(opts.jobLeaseMs));
        if (opts.tlsPriorities !== undefined) args.push('--tls-priorities', opts.tlsPriorities);
        if (opts.bulkMaxItems !== undefined) args.push('--bulk-max-items', String(opts.bulkMaxItems));
        if (opts.rateLimit !== undefined) args.push('--rate-limit', String(opts.rateLimit));
        if (opts.rateBurst !== undefined) args.push('--rate-burst', String(opts.rateBurst));
    }
    if (opts.args) args = args.concat(opts.args);
    const proc = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.on('exit', () => live.delete(proc));
    let stdout = '';
    let stderr = '';
    const srv = {
        proc, pid: proc.pid, dir, store, url: null, port: null, adminKey: null, orgId: null,
        ca: opts.tls ? readFileSync(opts.tls.cert, 'utf8') : null, // trusted by Api over https
        exited: false, exitCode: null, exitSignal: null,
        stdout: () => stdout, stderr: () => stderr,
    };
    const exitPromise = new Promise((resolve) => {
        proc.on('exit', (code, signal) => {
            srv.exited = true;
            srv.exitCode = code;
            srv.exitSignal = signal;
            resolve({ code, signal });
        });
    });
    srv.exitPromise = exitPromise;
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    proc.stdout.setEncoding('utf8');
    const ready = new Promise((resolve, reject) => {
        const check = () => {
            const m = stdout.match(/^listening (https?:\/\/[^\s:]+:(\d+))\s*$/m);
            const a = stdout.match(/^admin key (\S+) org ([0-9a-f]{24})\s*$/m);
            if (m && (!expectFresh || a)) {
                srv.url = m[1];
                srv.port = Number(m[2]);
                if (a) {
                    srv.adminKey = a[1];
                    srv.orgId = a[2];
                }
                resolve();
            }
        };
        proc.stdout.on('data', (d) => {
            stdout += d;
            check();
        });
        proc.on('error', reject);
        exitPromise.then(({ code, signal }) => reject(new Error(
            `roster serve exited before ready (code ${code}, signal ${signal})\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`)));
    });
    const timer = new Promise((_, reject) => {
        const t = setTimeout(() => reject(new Error(
            `roster serve not ready within 20 s\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`)), 20000);
        ready.finally(() => clearTimeout(t)).catch(() => {});
    });
    try {
        await Promise.race([ready, timer]);
    } catch (e) {
        if (!srv.exited) proc.kill('SIGKILL');
        if (!opts.dir && !process.env.ROSTER_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
        throw e;
    }
    srv.stop = async (signal = 'SIGTERM', timeoutMs = 15000) => {
        if (srv.exited) return { code: srv.exitCode, signal: srv.exitSignal };
        proc.kill(signal);
        const t = setTimeout(() => {
            if (!srv.exited) proc.kill('SIGKILL');
        }, timeoutMs);
        const r = await exitPromise;
        clearTimeout(t);
        return r;
    };
    srv.kill9 = () => srv.stop('SIGKILL');
    srv.api = (key, org) => new Api(srv.url, key, org, srv);
    srv.cli = (...a) => cli(store, ...a);
    return srv;
}

/** Stops the server (if running) and removes its data dir unless ROSTER_KEEP_TMP is set. */
export async function cleanup(srv) {
    if (!srv) return;
    try {
        await srv.stop('SIGTERM');
    } catch {
        /* already gone */
    }
    if (!process.env.ROSTER_KEEP_TMP) rmSync(srv.dir, { recursive: true, force: true });
}

/** Runs `roster <args> --store <store>`; resolves {code, stdout, stderr}. */
export function cli(store, ...args) {
    return new Promise((resolve) => {
        execFile(BIN, [...args, '--store', store], { timeout: 30000 }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
    });
}

/**
 * White-box read of a SQLite store with the sqlite3 CLI (read-only; the server may be
 * running): resolves the output lines of `sql`. scripts/deps.sh installs the sqlite3 CLI; a
 * missing one is an error, never a silently skipped check.
 * A PostgreSQL store (postgresql:// URL) is read with psql in the same output format
 * (unaligned, `|` between columns, no headers).
 * Only for facts the API does not expose (e.g. a user's version counter).
 */
export function storeQuery(store, sql) {
    if (/^postgres(ql)?:/.test(store)) {
        return new Promise((resolve, reject) => {
            execFile('psql', ['-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', store, '-c', sql],
                { timeout: 30000 }, (err, stdout, stderr) => {
                    if (err && err.code === 'ENOENT') reject(new Error('the psql command is missing (install postgresql-client)'));
                    else if (err) reject(new Error(`psql ${sql}: ${stderr || err.message}`));
                    else resolve(stdout.split('\n').filter((l) => l.length > 0));
                });
        });
    }
    return new Promise((resolve, reject) => {
        execFile('sqlite3', ['-readonly', '-batch', store, sql], { timeout: 30000 }, (err, stdout, stderr) => {
            if (err && err.code === 'ENOENT') reject(new Error('the sqlite3 command is missing (scripts/deps.sh installs it)'));
            else if (err) reject(new Error(`sqlite3 ${sql}: ${stderr || err.message}`));
            else resolve(stdout.split('\n').filter((l) => l.length > 0));
        });
    });
}

/**
 * PostgreSQL stores only: the store's database name and the URL of the cluster's
 * maintenance database (postgres), for statements about the store's database from outside.
 */
function pgAdmin(store) {
    const u = new URL(store);
    assert.match(u.protocol, /^postgres(ql)?:$/, 'a PostgreSQL store is needed');
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    assert.match(db, /^[a-z0-9_]+$/, `database name ${db}`);
    u.pathname = '/postgres';
    return { db, admin: u.toString() };
}

/**
 * PostgreSQL stores only: terminates every session on the store's database (the sessions of
 * the roster processes using it) with pg_terminate_backend, and waits until those backends
 * have exited. Resolves the number of sessions terminated.
 */
export async function pgTerminateBackends(store) {
    const { db, admin } = pgAdmin(store);
    const pids = await storeQuery(admin, 'WITH s AS MATERIALIZED (SELECT pid FROM pg_stat_activity'
        + ` WHERE datname = '${db}' AND pid <> pg_backend_pid())`
        + ' SELECT pid FROM s WHERE pg_terminate_backend(pid)');
    if (pids.length > 0) {
        await pollUntil('terminated backends gone', async () => {
            const left = await storeQuery(admin, `SELECT count(*) FROM pg_stat_activity WHERE pid IN (${pids.join(',')})`);
            return left[0] === '0';
        }, { timeoutMs: 10000, intervalMs: 20 });
    }
    return pids.length;
}

/**
 * PostgreSQL stores only: drops the store's database (its sessions are ended first), so that
 * a big test database leaves no background work (autovacuum) behind in the shared cluster.
 */
export async function pgDropDatabase(store) {
    const { db, admin } = pgAdmin(store);
    await storeQuery(admin, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
}

/** PostgreSQL stores only: lets the store's database accept new sessions, or not. */
export async function pgAllowConnections(store, allow) {
    const { db, admin } = pgAdmin(store);
    await storeQuery(admin, `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
}

/** Creates an org with the CLI and returns its id. */
export async function cliOrg(store, name) {
    const r = await cli(store, 'org', 'create', name);
    assert.equal(r.code, 0, `roster org create failed: ${r.stderr}`);
    const id = r.stdout.trim();
    assert.match(id, HEX24, `org create should print the id alone, got ${JSON.stringify(r.stdout)}`);
    return id;
}

/** Creates an API key for org with the CLI and returns it. */
export async function cliKey(store, org) {
    const r = await cli(store, 'key', 'create', '--org', org);
    assert.equal(r.code, 0, `roster key create failed: ${r.stderr}`);
    const key = r.stdout.trim();
    assert.ok(key.length >= 16 && !/\s/.test(key), `key create should print the key alone, got ${JSON.stringify(r.stdout)}`);
    return key;
}

export class Api {
    constructor(url, key, org, srv) {
        this.url = url;
        this.key = key;
        this.org = org;
        this.srv = srv; // for diagnostics when a request fails at the transport level
    }

    withOrg(org) {
        return new Api(this.url, this.key, org, this.srv);
    }

    /** This key on a new org (made with the CLI on the server's store, named uniq(tag)). */
    async inNewOrg(tag) {
        return this.withOrg(await cliOrg(this.srv.store, uniq(tag)));
    }

    /**
     * req(method, path, {body, raw, contentType, headers, key, org, noKey})
     * body: JSON-encoded; raw: sent as is. Returns {status, headers, text, json}.
     */
    async req(method, p, o = {}) {
        const headers = { accept: 'application/json' };
        const key = 'key' in o ? o.key : this.key;
        const org = 'org' in o ? o.org : this.org;
        if (key != null) headers['x-api-key'] = key;
        if (org != null) headers['x-org-id'] = org;
        let body;
        if (o.raw !== undefined) {
            body = o.raw;
            if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
        } else if (o.body !== undefined) {
            body = JSON.stringify(o.body);
            headers['content-type'] = o.contentType ?? 'application/json';
        }
        Object.assign(headers, o.headers || {});
        let res;
        let text;
        try {
            if (this.srv?.ca) {
                // https with the test's self-signed certificate as the only trusted CA
                const r = await httpsRequest(this.url + p, { method, headers, body, ca: this.srv.ca });
                res = { status: r.status, headers: r.headers };
                text = r.text;
            } else {
                res = await fetch(this.url + p, { method, headers, body });
                text = await res.text();
            }
        } catch (e) {
            const s = this.srv;
            await sleep(200); // let an exit event arrive
            const state = !s ? '' : s.exited
                ? `; server pid ${s.pid} EXITED code ${s.exitCode} signal ${s.exitSignal}`
                : `; server pid ${s.pid} still running`;
            const tail = s ? `\nserver stderr tail:\n${s.stderr().slice(-3000)}` : '';
            throw new Error(`${method} ${p}: ${e.message} (${e.cause?.code || e.cause?.message || ''})${state}${tail}`);
        }
        let json;
        try {
            json = text.length ? JSON.parse(text) : undefined;
        } catch {
            json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
    }

    get(p, o) { return this.req('GET', p, o); }
    post(p, body, o = {}) { return this.req('POST', p, { ...o, body }); }
    put(p, body, o = {}) { return this.req('PUT', p, { ...o, body }); }
    patch(p, body, o = {}) { return this.req('PATCH', p, { ...o, body }); }
    del(p, o) { return this.req('DELETE', p, o); }

    /** POST /api/v2/bulk/users; asserts 201 + jobId, returns the job id. */
    async bulkCreate(users, o = {}) {
        const headers = { 'creation-source': o.source ?? 'jumpcloud:bulk', ...(o.headers || {}) };
        const r = await this.req('POST', '/api/v2/bulk/users', { body: users, headers });
        assert.equal(r.status, 201, `bulk create: ${r.status} ${r.text}`);
        assert.match(r.json?.jobId ?? '', HEX24, `bulk create jobId: ${r.text}`);
        return r.json.jobId;
    }

    /** PATCH /api/v2/bulk/users; asserts 201 + jobId, returns the job id. */
    async bulkUpdate(items) {
        const r = await this.req('PATCH', '/api/v2/bulk/users', { body: items });
        assert.equal(r.status, 201, `bulk update: ${r.status} ${r.text}`);
        assert.match(r.json?.jobId ?? '', HEX24, `bulk update jobId: ${r.text}`);
        return r.json.jobId;
    }

    async results(jobId, skip = 0, limit = 100) {
        const r = await this.get(`/api/v2/bulk/users/${jobId}/results?limit=${limit}&skip=${skip}`);
        assert.equal(r.status, 200, `results ${jobId} skip ${skip}: ${r.status} ${r.text}`);
        assert.ok(Array.isArray(r.json), `results must be an array: ${r.text.slice(0, 200)}`);
        return r.json;
    }

    /** Waits until the last item of a job has a result (jobs apply items in order). */
    async waitJob(jobId, total, timeoutMs = 120000) {
        await pollUntil(`job ${jobId} item ${total - 1}`, async () => {
            const page = await this.results(jobId, total - 1, 1);
            return page.length === 1 && page[0].status !== 'pending';
        }, { timeoutMs, intervalMs: 50 });
    }

    /** Reads all results of a job with limit=100 pages. */
    async allResults(jobId, total) {
        const out = [];
        for (let skip = 0; skip < total; skip += 100) {
            const page = await this.results(jobId, skip, 100);
            assert.equal(page.length, Math.min(100, total - skip), `page at skip ${skip} of job ${jobId}`);
            out.push(...page);
        }
        const after = await this.results(jobId, total, 100);
        assert.deepEqual(after, [], 'no results past the end');
        return out;
    }

    /** Waits for a job, reads every result, asserts none pending and the index order. */
    async finishedResults(jobId, total, timeoutMs) {
        await this.waitJob(jobId, total, timeoutMs);
        const all = await pollUntil(`job ${jobId} all non-pending`, async () => {
            const rs = await this.allResults(jobId, total);
            return rs.every((x) => x.status !== 'pending') ? rs : null;
        }, { timeoutMs: 30000, intervalMs: 100 });
        all.forEach((r, i) => checkResultShape(r, i, jobId));
        return all;
    }

    /**
     * Creates users with one bulk job, waits for it and asserts every item succeeded;
     * returns the new user ids in input order.
     */
    async createUsers(users, timeoutMs) {
        const job = await this.bulkCreate(users);
        const rs = await this.finishedResults(job, users.length, timeoutMs);
        rs.forEach((r, i) => assert.equal(r.status, 'succeeded', `creating user ${i}: ${JSON.stringify(r)}`));
        return rs.map((r) => r.persistedFields._id);
    }

    async totalCount(query = '') {
        const r = await this.get(`/api/systemusers?limit=1${query}`);
        assert.equal(r.status, 200, r.text);
        return r.json.totalCount;
    }
}

/** Asserts the JumpCloud error body: {code, message, status} with application/json. */
const REASONS = {
    413: ['Payload Too Large', 'Content Too Large', 'Request Entity Too Large'],
    422: ['Unprocessable Entity', 'Unprocessable Content'],
};
export function assertError(r, status, msgRe) {
    assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json\b/i,
        `error content-type: ${r.headers.get('content-type')}`);
    assert.ok(r.json && typeof r.json === 'object', `error body is JSON: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.code, status, `error body code: ${r.text}`);
    assert.equal(typeof r.json.message, 'string', `error body message: ${r.text}`);
    assert.ok(r.json.message.length > 0, 'error message not empty');
    const reasons = REASONS[status] || [http.STATUS_CODES[status]];
    assert.ok(reasons.includes(r.json.status), `error body status ${JSON.stringify(r.json.status)} should be one of ${reasons}`);
    if (msgRe) assert.match(r.json.message, msgRe, `error message: ${r.json.message}`);
}

export function checkResultShape(r, index, jobId) {
    assert.deepEqual(Object.keys(r).sort(), RESULT_KEYS, `result ${index} keys: ${JSON.stringify(r)}`);
    assert.equal(typeof r.id, 'string');
    assert.ok(['pending', 'succeeded', 'failed'].includes(r.status), `status ${r.status}`);
    assert.equal(typeof r.statusMsg, 'string');
    assert.match(r.createdAt, RFC3339, `createdAt ${r.createdAt}`);
    assert.match(r.updatedAt, RFC3339, `updatedAt ${r.updatedAt}`);
    assert.equal(r.meta.index, index, `meta.index at position ${index}: ${JSON.stringify(r.meta)}`);
    assert.equal(r.meta.jobId, jobId);
    assert.ok(['create', 'update'].includes(r.meta.operation), `meta.operation ${r.meta.operation}`);
    if (r.status === 'succeeded') {
        assert.deepEqual(Object.keys(r.persistedFields).sort(), ['_id', 'email', 'username'],
            `persistedFields of ${index}: ${JSON.stringify(r.persistedFields)}`);
        assert.match(r.persistedFields._id, HEX24);
        assert.equal(r.meta.userId, r.persistedFields._id, `meta.userId of ${index}`);
    } else {
        assert.deepEqual(r.persistedFields, {}, `persistedFields of non-succeeded ${index}`);
    }
}

/** Lists every user of the current org via skip/limit pages (sort optional). */
export async function listAll(api, query = '', pageSize = 100) {
    const out = [];
    let total;
    for (let skip = 0; ; skip += pageSize) {
        const r = await api.get(`/api/systemusers?limit=${pageSize}&skip=${skip}${query}`);
        assert.equal(r.status, 200, r.text);
        if (total === undefined) total = r.json.totalCount;
        assert.equal(r.json.totalCount, total, 'totalCount stable across pages');
        out.push(...r.json.results);
        if (r.json.results.length < pageSize) break;
    }
    assert.equal(out.length, total, 'paged rows == totalCount');
    return out;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** n deterministic bulk-user-create objects with a unique prefix. */
export function makeUsers(n, prefix, start = 0) {
    const out = [];
    for (let i = start; i < start + n; i++) {
        const id = String(i).padStart(6, '0');
        out.push({
            username: `${prefix}${id}`,
            email: `${prefix}${id}@example.test`,
            firstname: `First${id}`,
            lastname: `Last${id}`,
            employeeIdentifier: `${prefix}-E${id}`,
            attributes: [{ name: 'n', value: `v${i}` }],
            phoneNumbers: [{ type: 'work', number: `+1555${id}` }],
        });
    }
    return out;
}

/** Unique-ish prefix per call, so tests sharing a server never collide. */
let seq = 0;
export function uniq(tag) {
    seq += 1;
    return `${tag}${process.pid.toString(36)}x${seq}x`;
}

/** Reads a node:http(s) response to its end: {status, headers (as given), text, json}. */
function readReply(res, headers) {
    return new Promise((resolve, reject) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
            let json;
            try { json = JSON.parse(text); } catch { json = undefined; }
            resolve({ status: res.statusCode, headers, text, json });
        });
        res.on('error', reject);
    });
}

/** Raw node:http request (for cases where fetch would abort, e.g. 413 before the body is read). */
export function rawRequest(url, { method = 'POST', path: p, headers = {}, body }) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = http.request({ host: u.hostname, port: u.port, method, path: p, headers }, (res) => {
            readReply(res, new Headers(res.headers)).then(resolve, reject);
        });
        req.on('error', (e) => {
            // the server may close the socket after answering early; a reply already read wins
            if (!req.res) reject(e);
        });
        if (body) req.end(body); else req.end();
    });
}

/**
 * A self-signed certificate for 127.0.0.1 (SAN IP:127.0.0.1 and DNS:localhost) made with the
 * openssl command in dir: {cert, key} file paths and certPem (its text, to trust it).
 */
export function tlsFiles(dir) {
    const cert = path.join(dir, 'tls-cert.pem');
    const key = path.join(dir, 'tls-key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
        '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cert, key, certPem: readFileSync(cert, 'utf8') };
}

/** One https request trusting only ca; resolves {status, headers (a Headers), text, json}. */
export function httpsRequest(url, { method = 'GET', headers = {}, body, ca }) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = https.request({
            host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers, ca,
            agent: false,
        }, (res) => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
            readReply(res, h).then(resolve, reject);
        });
        req.on('error', reject);
        if (body !== undefined) req.end(body); else req.end();
    });
}

/** The counts of a `roster import` summary line ("created 3, updated 0, ..."), each asserted
 * present: {created, updated, unchanged, skipped, suspended, deleted, rejected}. */
export function importCounts(stdout) {
    const m = {};
    for (const k of ['created', 'updated', 'unchanged', 'skipped', 'suspended', 'deleted', 'rejected']) {
        const r = stdout.match(new RegExp(`${k} (\\d+)`));
        assert.ok(r, `summary names ${k}: ${stdout}`);
        m[k] = Number(r[1]);
    }
    return m;
}
