// The SMTP server of the delivery tests (not a test file itself): tests/smtp/sink.py, Debian's
// python3-aiosmtpd, on a free loopback port, recording what it accepts as JSON lines.

import { spawn } from 'node:child_process';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir, REPO } from './harness.mjs';

/**
 * Starts tests/smtp/sink.py (451 the first two times to recipients named temp*, 550 to
 * reject*); resolves {port, url, out, lines(), messages(), tries(address), stop()}:
 * messages() the accepted messages, tries(address) the RCPTs naming it; stop() ends the
 * sink and removes its directory.
 */
export async function startSink(extra = []) {
    const dir = tempDir('sink');
    const out = path.join(dir, 'sink.jsonl');
    const proc = spawn('/usr/bin/python3', [path.join(REPO, 'tests/smtp/sink.py'), '--out', out,
        '--temp', 'temp', '--reject', 'reject', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const port = await new Promise((resolve, reject) => {
        proc.stdout.on('data', (d) => {
            stdout += d;
            const m = stdout.match(/^listening (\d+)$/m);
            if (m) resolve(Number(m[1]));
        });
        proc.on('exit', (code) => reject(new Error(`sink exited ${code}: ${stderr}`)));
    });
    // complete lines only: the sink may be writing the last one while we read
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1)
        .filter(Boolean).map((l) => JSON.parse(l)) : []);
    const sink = {
        port, out, proc,
        url: `smtp://127.0.0.1:${port}`,
        lines,
        messages: () => lines().filter((x) => x.rcpt),
        tries: (addr) => lines().filter((x) => x.rcpt_try === addr).length,
        stop: () => {
            proc.kill('SIGTERM');
            if (!process.env.ROSTER_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
        },
    };
    return sink;
}

