// What the Node benchmarks in bench/ share: starting a `roster serve` and waiting until it
// listens, HTTP(S) requests over a caller's keep-alive agent, and readings of the machine
// and of a process (load average, CPU seconds, peak RSS), wrk installed on demand and run
// (its figures parsed), a throwaway PostgreSQL cluster, and a seeded random generator.

import http from 'node:http';
import https from 'node:https';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const libDir = path.dirname(fileURLToPath(import.meta.url));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Seconds since t0 (a process.hrtime.bigint() reading). */
export const secsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The machine's load averages (1, 5, 15 min) as "0.12 0.34 0.56". */
export function loadavg() {
    return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/**
 * One request to base (http:// or https://) through agent; resolves {status, text, ms}
 * (ms: from the call until the whole body was read). timeoutMs (optional): the whole
 * exchange, from the call to the last byte; when it passes the request is aborted and the
 * promise rejects.
 */
export function request(agent, base, method, p, headers, body, { timeoutMs = 0 } = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(base);
        const t0 = process.hrtime.bigint();
        const mod = u.protocol === 'https:' ? https : http;
        let timer = null;
        const done = (f, v) => {
            if (timer) clearTimeout(timer);
            f(v);
        };
        const req = mod.request({ host: u.hostname, port: u.port, method, path: p, agent, headers }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => done(resolve, {
                status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'),
                ms: Number(process.hrtime.bigint() - t0) / 1e6,
            }));
            res.on('error', (e) => done(reject, e));
        });
        if (timeoutMs > 0) {
            timer = setTimeout(() => req.destroy(new Error(`${method} ${p.slice(0, 120)}: no answer within ${timeoutMs / 1000} s`)),
                timeoutMs);
        }
        req.on('error', (e) => done(reject, e));
        req.end(body);
    });
}

/** The address a server prints when it is ready ("listening http://..."), or null. */
export const listeningUrl = (out) => (out.match(/^listening (https?:\/\/\S+)\s*$/m) || [])[1] || null;

/**
 * Starts `bin args` (a `roster serve`) with env added to this process's environment and
 * resolves once ready(stdout so far) returns a value (default: the address it listens on),
 * within readyMs. stderr: 'pipe' keeps its last 4,000 bytes for the error message, 'inherit'
 * shows it. Resolves {ready, pid, stop, stderrTail, exitStatus}; stop() sends SIGTERM
 * (SIGKILL after 15 s) and resolves when the process has exited; stderrTail() is the last
 * 4,000 bytes of its stderr so far (with 'pipe'); exitStatus() is null while it runs, else
 * its exit code or signal.
 */
export async function startRoster(bin, args, { env = {}, ready = listeningUrl, readyMs = 20000, stderr = 'pipe' } = {}) {
    const proc = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', stderr] });
    let out = '';
    let errTail = '';
    let status = null;
    if (proc.stderr) proc.stderr.on('data', (d) => { errTail = (errTail + d).slice(-4000); });
    const exited = new Promise((r) => proc.on('exit', (c, sig) => {
        status = c ?? sig;
        r();
    }));
    const value = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server not ready in ${readyMs / 1000} s\n${out}\n${errTail}`)), readyMs);
        proc.stdout.on('data', (d) => {
            out += d;
            const v = ready(out);
            if (v) {
                clearTimeout(t);
                resolve(v);
            }
        });
        proc.on('exit', (c, s) => {
            clearTimeout(t);
            reject(new Error(`server exited (${c ?? s}) before ready\n${out}\n${errTail}`));
        });
        proc.on('error', (e) => {
            clearTimeout(t);
            reject(new Error(`cannot start ${bin}: ${e.message}`));
        });
    });
    return {
        ready: value, pid: proc.pid,
        stderrTail: () => errTail,
        exitStatus: () => status,
        stop: async () => {
            if (status !== null) return;
            proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
            await exited;
            clearTimeout(t);
        },
    };
}

let clockTicks = null;
/** Clock ticks per second of /proc/<pid>/stat's times (getconf CLK_TCK, else 100). */
function clkTck() {
    if (clockTicks === null) {
        try {
            clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
        } catch {
            clockTicks = 100;
        }
    }
    return clockTicks;
}

/**
 * CPU seconds (user + system, with its reaped children) of pid, NaN if it cannot be read;
 * with children, plus every live child (a PostgreSQL postmaster and its backends).
 */
export function cpuSeconds(pid, children = false) {
    clkTck();
    const read = (p) => {
        try {
            const f = readFileSync(`/proc/${p}/stat`, 'utf8');
            /* after "pid (comm) ": state ppid ... utime(14) stime cutime cstime */
            const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
            return { ppid: Number(v[1]), ticks: Number(v[11]) + Number(v[12]) + Number(v[13]) + Number(v[14]) };
        } catch {
            return null;
        }
    };
    const own = read(pid);
    if (!own) return NaN;
    let ticks = own.ticks;
    if (children) {
        for (const d of readdirSync('/proc')) {
            if (!/^\d+$/.test(d)) continue;
            const c = read(d);
            if (c && c.ppid === pid) ticks += c.ticks;
        }
    }
    return ticks / clockTicks;
}

/** Peak resident set (VmHWM) of pid in MB, or null. */
export function peakRssMb(pid) {
    if (!pid) return null;
    try {
        const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+)\s+kB/m);
        return m ? Number(m[1]) / 1024 : null;
    } catch {
        return null;
    }
}

/** Installs Debian's wrk (apt-get, with sudo unless root) when it is missing; die(msg) on failure. */
export function ensureWrk(name, die) {
    if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0) return;
    console.error(`${name}: wrk is missing; installing the Debian package`);
    const sudo = process.getuid && process.getuid() === 0 ? [] : ['sudo'];
    const run = (args) => spawnSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit' });
    if (run(['apt-get', 'install', '-y', 'wrk']).status !== 0) {
        run(['apt-get', 'update']);
        if (run(['apt-get', 'install', '-y', 'wrk']).status !== 0) die('cannot install wrk (apt-get install wrk)');
    }
}

const wrkMs = (x) => {
    const m = x && x.match(/^([\d.]+)(us|ms|s|m|h)$/);
    return m ? Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[m[2]] : NaN;
};

/**
 * Runs `wrk args` (asynchronously: this process's event loop keeps running beside it) and
 * resolves its figures: {requests, seconds, requests_per_s, p50_ms, p99_ms, non_2xx,
 * socket_errors: {connect, read, write, timeout}, bytes, cpu_s (wrk's own user + system
 * CPU), output}. Rejects when wrk fails. Pass --latency for the percentiles.
 */
export async function runWrk(args) {
    // the shell's cutime/cstime after wrk exits = wrk's CPU time
    const child = spawn('sh', ['-c', 'wrk "$@" || exit 1; read -r l < /proc/$$/stat; echo "STAT $l"', 'sh', ...args]);
    const r = await new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    if (r.status !== 0) throw new Error(`wrk ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    const out = r.stdout;
    const stat = (out.match(/^STAT .*\) (.*)$/m) || [])[1];
    const st = stat ? stat.split(' ') : null;
    const reqs = out.match(/(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read/);
    const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
    return {
        requests: reqs ? Number(reqs[1]) : 0,
        seconds: reqs ? wrkMs(`${reqs[2]}${reqs[3]}`) / 1000 : NaN,
        requests_per_s: Number((out.match(/Requests\/sec:\s+([\d.]+)/) || [])[1]),
        p50_ms: wrkMs((out.match(/^\s+50%\s+(\S+)/m) || [])[1]),
        p99_ms: wrkMs((out.match(/^\s+99%\s+(\S+)/m) || [])[1]),
        non_2xx: Number((out.match(/Non-2xx or 3xx responses: (\d+)/) || [0, 0])[1]),
        socket_errors: sock ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
            : { connect: 0, read: 0, write: 0, timeout: 0 },
        bytes: reqs ? Number(reqs[4]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[reqs[5]] : NaN,
        cpu_s: st ? (Number(st[13]) + Number(st[14])) / clkTck() : NaN,
        output: out,
    };
}

/**
 * A throwaway PostgreSQL cluster made with `scripts/pg.sh start` in its own temp directory
 * (pg.sh hands it to the postgres user, which could not enter a caller's 0700 directory).
 * Returns {url, pid (the postmaster's), dir, stop(remove = true)}; throws with pg.sh's
 * stderr when it cannot start one.
 */
export function startPgCluster() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-bench-pg-'));
    const pgSh = path.join(libDir, '..', 'scripts', 'pg.sh');
    const stop = (remove = true) => {
        try {
            execFileSync(pgSh, ['stop', dir], { stdio: 'ignore' });
        } finally {
            if (remove) rmSync(dir, { recursive: true, force: true });
        }
    };
    let url;
    try {
        url = execFileSync(pgSh, ['start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
        stop();
        throw new Error(`scripts/pg.sh start failed: ${String(e.stderr || e.message).slice(-2000)}`);
    }
    return { url, pid: pgPostmasterPid(dir), dir, stop };
}

/**
 * The postmaster pid of a pg.sh cluster: from its directory, or from a store URL whose
 * host parameter is that directory (`postgresql:///roster?host=/tmp/pg&user=roster`);
 * null when there is no readable postmaster.pid there.
 */
export function pgPostmasterPid(dirOrUrl) {
    let dir = dirOrUrl;
    if (/^postgres(ql)?:\/\//.test(dirOrUrl)) {
        try {
            dir = new URL(dirOrUrl).searchParams.get('host');
        } catch {
            dir = null;
        }
    }
    if (!dir) return null;
    try {
        const pid = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
        return pid > 0 ? pid : null;
    } catch {
        return null;
    }
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same sequence. */
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
