// bench/export.mjs: the export part of bench/import_export (issue 17). Loads --users users
// into a fresh SQLite store and (unless --skip-pg) a throwaway PostgreSQL cluster with the
// store's bulk loader (build/concur_load: deterministic users with names, e-mails, employee
// ids, departments, country codes and two phone numbers each), then times
// `roster export` of the whole organisation to a file:
//   jsonl     the floor: 1,000,000 users in <= 5 s
//   csv       the same users as CSV
//   filtered  --filter lastname:eq:Knuth (about 5% of the users) to JSONL
// each with its peak RSS (floor 256 MB, GNU time's %M) and the load average around it.
// Run it alone (`node bench/export.mjs [--users N] [--json] [--skip-pg]`) or from
// bench/import_export (runExportBench).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, startPgCluster } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Loads n users into store with concur_load; returns the organisation id. */
function load(loader, store, n, log) {
    const t0 = process.hrtime.bigint();
    const out = execFileSync(loader, [store, String(n)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const org = (out.match(/^org ([0-9a-f]{24})$/m) || [])[1];
    if (!org) throw new Error(`concur_load printed no org: ${out}`);
    log(`loaded ${n} users in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
    return org;
}

/** One export to file; {secs, users, users_per_s, rss_mb, mb, load}. */
function timed(bin, store, org, file, args) {
    const load = loadavg();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', 'peak_rss_kb=%M cpu=%U+%S', bin, 'export', '--store', store,
        '--org', org, '--output', file, '--no-progress', ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`roster export ${args.join(' ')}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    const users = Number((r.stderr.match(/^exported (\d+) users/m) || [])[1]);
    const rss = Number((r.stderr.match(/peak_rss_kb=(\d+)/) || [])[1] || 0) / 1024;
    const cpu = (r.stderr.match(/cpu=([\d.]+)\+([\d.]+)/) || [0, 0, 0]).slice(1).reduce((a, b) => a + Number(b), 0);
    const mb = statSync(file).size / 1e6;
    rmSync(file, { force: true });
    return { secs: Number(secs.toFixed(2)), cpu_s: Number(cpu.toFixed(2)), users, users_per_s: Math.round(users / secs), rss_mb: Math.round(rss), mb: Math.round(mb), load };
}

function runAll(bin, store, org, dir, users, label, log) {
    const res = {};
    for (const [name, args, ext] of [
        ['jsonl', ['--format', 'jsonl'], 'jsonl'],
        ['csv', ['--format', 'csv'], 'csv'],
        ['filtered', ['--format', 'jsonl', '--filter', 'lastname:eq:Knuth'], 'jsonl'],
    ]) {
        const r = timed(bin, store, org, path.join(dir, `out.${ext}`), args);
        if (name !== 'filtered' && r.users !== users) throw new Error(`${label} ${name}: exported ${r.users} of ${users}`);
        res[name] = r;
        log(`${label} export ${name}: ${r.users} users in ${r.secs} s, CPU ${r.cpu_s} s (${r.users_per_s} users/s, ${r.mb} MB), peak RSS ${r.rss_mb} MB, load ${r.load}`);
    }
    return res;
}

export async function runExportBench({ users = 1000000, bin, loader, skipPg = false, log = console.error } = {}) {
    bin = bin || process.env.ROSTER_BIN || path.join(here, '..', 'build', 'roster');
    loader = loader || path.join(path.dirname(bin), 'concur_load');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-bench-export-'));
    const res = { users, load_before: loadavg() };
    try {
        const store = path.join(dir, 'roster.db');
        const org = load(loader, store, users, log);
        res.sqlite = runAll(bin, store, org, dir, users, 'SQLite', log);
        rmSync(dir, { recursive: true, force: true });
        if (!skipPg) {
            const pg = startPgCluster();
            try {
                const porg = load(loader, pg.url, users, log);
                res.postgres = runAll(bin, pg.url, porg, mkdtempSync(path.join(os.tmpdir(), 'roster-bench-export-')), users, 'PostgreSQL', log);
            } finally {
                pg.stop();
            }
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    res.load_after = loadavg();
    return res;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const argv = process.argv.slice(2);
    const opt = (name, def) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : def;
    };
    const res = await runExportBench({ users: Number(opt('--users', 1000000)), skipPg: argv.includes('--skip-pg') });
    if (argv.includes('--json')) console.log(JSON.stringify(res));
}
