// bench/import.mjs: the import part of bench/import_export (issue 17). Generates a CSV of
// --users users (keys in a scrambled order, as an HR export has them) and times
// `roster import` on it:
//   fresh     into a fresh SQLite store (floor 80,000 users/s)
//   sync      a sync of the same organisation with 1% of the rows changed (floor 15 s)
//   loaded    another --users users into the store that holds the first ones (floor 40,000/s)
//   postgres  into a fresh PostgreSQL database (floor 50,000 users/s)
// each with its peak RSS (floor 256 MB, GNU time's %M). Run it alone
// (`node bench/import.mjs [--users N] [--json] [--skip-pg]`) or from bench/import_export.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, startPgCluster } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes n users to file; changed: rows whose department differs (1 in every 1/changed). */
async function writeCsv(file, n, { offset = 0, changed = 0 } = {}) {
    const out = createWriteStream(file);
    const write = (s) => (out.write(s) ? null : new Promise((r) => out.once('drain', r)));
    await write('username,email,firstname,lastname,employeeIdentifier,department,jobTitle,location,state\n');
    const step = changed > 0 ? Math.round(1 / changed) : 0;
    let buf = '';
    for (let i = 0; i < n; i++) {
        const k = offset + ((i * 7919 + 13) % n); // a permutation of 0..n-1 (7919 is prime)
        const dept = step && i % step === 0 ? `Moved${k % 50}` : `Dept${k % 50}`;
        buf += `u${k},u${k}@example.com,First${k % 9973},Last${(k * 31) % 50021},E${k},${dept},Title${k % 300},Site${k % 40},ACTIVATED\n`;
        if (buf.length > 1 << 20) {
            const p = write(buf);
            buf = '';
            if (p) await p;
        }
    }
    out.end(buf);
    await new Promise((r) => out.on('finish', r));
}

function timed(bin, args) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', 'peak_rss_kb=%M', bin, 'import', ...args, '--no-progress'],
        { encoding: 'utf8', maxBuffer: 64 << 20 });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`roster import ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr.slice(-2000)}`);
    const rss = Number((r.stderr.match(/peak_rss_kb=(\d+)/) || [])[1] || 0) / 1024;
    return { secs, rssMb: Math.round(rss), summary: r.stdout.trim() };
}

export async function runImportBench({ users = 1000000, bin, skipPg = false, log = console.error } = {}) {
    bin = bin || process.env.ROSTER_BIN || path.join(here, '..', 'build', 'roster');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-bench-import-'));
    const res = { users, load_before: loadavg() };
    try {
        const f1 = path.join(dir, 'users.csv');
        const f1c = path.join(dir, 'users-1pct.csv');
        const f2 = path.join(dir, 'more.csv');
        await writeCsv(f1, users);
        await writeCsv(f1c, users, { changed: 0.01 });
        await writeCsv(f2, users, { offset: users });
        const store = path.join(dir, 'roster.db');
        const org = execFileSync(bin, ['org', 'create', 'bench', '--store', store], { encoding: 'utf8' }).trim();
        let r = timed(bin, [f1, '--store', store, '--org', org]);
        res.fresh = { users_per_s: Math.round(users / r.secs), secs: r.secs, rss_mb: r.rssMb };
        log(`fresh SQLite: ${res.fresh.users_per_s} users/s (${r.secs.toFixed(1)} s, peak RSS ${r.rssMb} MB): ${r.summary}`);
        r = timed(bin, [f1c, '--store', store, '--org', org, '--mode', 'sync', '--match', 'employeeid']);
        res.sync = { secs: r.secs, rss_mb: r.rssMb };
        log(`sync, 1% changed: ${r.secs.toFixed(1)} s (peak RSS ${r.rssMb} MB): ${r.summary}`);
        r = timed(bin, [f2, '--store', store, '--org', org]);
        res.loaded = { users_per_s: Math.round(users / r.secs), secs: r.secs, rss_mb: r.rssMb };
        log(`into a store of ${users}: ${res.loaded.users_per_s} users/s (${r.secs.toFixed(1)} s, peak RSS ${r.rssMb} MB): ${r.summary}`);
        if (!skipPg) {
            const pg = startPgCluster();
            try {
                const porg = execFileSync(bin, ['org', 'create', 'bench', '--store', pg.url], { encoding: 'utf8' }).trim();
                r = timed(bin, [f1, '--store', pg.url, '--org', porg]);
                res.postgres = { users_per_s: Math.round(users / r.secs), secs: r.secs, rss_mb: r.rssMb };
                log(`fresh PostgreSQL: ${res.postgres.users_per_s} users/s (${r.secs.toFixed(1)} s, peak RSS ${r.rssMb} MB): ${r.summary}`);
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
    const res = await runImportBench({ users: Number(opt('--users', 1000000)), skipPg: argv.includes('--skip-pg') });
    if (argv.includes('--json')) console.log(JSON.stringify(res));
}
