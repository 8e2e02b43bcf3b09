// What the Node benchmarks in bench/ share: starting a `roster serve` and waiting until it
// listens, HTTP(S) requests over a caller's keep-alive agent, and readings of the machine
// and of a process (load average, CPU seconds, peak RSS), and wrk installed on demand.

import http from 'node:http';
import https from 'node:https';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Seconds since t0 (a process.hrtime.bigint() reading). */
export const secsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The machine's load averages (1, 5, 15 min) as "0.12 0.34 0.56". */
export function loadavg() {
    return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/**
 * One request to base (http:// or https://) through agent; resolves {status, text, ms}
 * (ms: from the call until the whole body was read).
 */
export function request(agent, base, method, p, headers, body) {
    return new Promise((resolve, reject) => {
        const u = new URL(base);
        const t0 = process.hrtime.bigint();
        const mod = u.protocol === 'https:' ? https : http;
        const req = mod.request({ host: u.hostname, port: u.port, method, path: p, agent, headers }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({
                status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'),
                ms: Number(process.hrtime.bigint() - t0) / 1e6,
            }));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
}

/** The address a server prints when it is ready ("listening http://..."), or null. */
export const listeningUrl = (out) => (out.match(/^listening (https?:\/\/\S+)\s*$/m) || [])[1] || null;

/**
 * Starts `bin args` (a `roster serve`) with env added to this process's environment and
 * resolves once ready(stdout so far) returns a value (default: the address it listens on),
 * within readyMs. stderr: 'pipe' keeps its last 4,000 bytes for the error message, 'inherit'
 * shows it. Resolves {ready, pid, stop}; stop() sends SIGTERM (SIGKILL after 15 s) and
 * resolves when the process has exited.
 */
export async function startRoster(bin, args, { env = {}, ready = listeningUrl, readyMs = 20000, stderr = 'pipe' } = {}) {
    const proc = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', stderr] });
    let out = '';
    let errTail = '';
    if (proc.stderr) proc.stderr.on('data', (d) => { errTail = (errTail + d).slice(-4000); });
    const exited = new Promise((r) => proc.on('exit', r));
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
    });
    return {
        ready: value, pid: proc.pid,
        stop: async () => {
            proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
            await exited;
            clearTimeout(t);
        },
    };
}

let clockTicks = null;
/**
 * CPU seconds (user + system, with its reaped children) of pid, NaN if it cannot be read;
 * with children, plus every live child (a PostgreSQL postmaster and its backends).
 */
export function cpuSeconds(pid, children = false) {
    if (clockTicks === null) {
        try {
            clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
        } catch {
            clockTicks = 100;
        }
    }
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
