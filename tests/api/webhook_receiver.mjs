// The webhook receiver of the webhook tests (not a test file itself): an HTTP server on a
// free loopback port that verifies every request with npm `standardwebhooks` (the Standard
// Webhooks reference library) against the secret of the endpoint it was sent to, records
// it, and answers as told per endpoint (200 by default; a plan of answers such as 500 then
// 200, 429 with Retry-After, 410).

import http from 'node:http';
import { Webhook } from 'standardwebhooks';

/**
 * Starts a receiver; resolves {url(path), secret(path, whsec), plan(path, answers), got(path),
 * all(), stop()}. Endpoints are paths (e.g. "/a"): url('/a') is what to register, and
 * secret('/a', s) tells the receiver the secret roster gave it. plan('/a', [500, {status:
 * 429, headers: {'retry-after': '2'}}]) answers the next requests in that order, then 200.
 * got('/a') lists what arrived: {id, timestamp, signature, body, json, verified, error, at,
 * status}; a request that fails verification is recorded with verified false (and 401).
 */
export async function startReceiver() {
    const endpoints = new Map();
    const records = [];
    const ep = (p) => {
        if (!endpoints.has(p)) endpoints.set(p, { wh: null, answers: [] });
        return endpoints.get(p);
    };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const path = req.url;
            const e = ep(path);
            const rec = {
                path, at: Date.now(), method: req.method, body,
                id: req.headers['webhook-id'], timestamp: req.headers['webhook-timestamp'],
                signature: req.headers['webhook-signature'],
                contentType: req.headers['content-type'], verified: false, error: null, json: null,
            };
            try {
                if (!e.wh) throw new Error(`no secret for ${path}`);
                rec.json = e.wh.verify(body, {
                    'webhook-id': rec.id, 'webhook-timestamp': rec.timestamp,
                    'webhook-signature': rec.signature,
                });
                rec.verified = true;
            } catch (err) {
                rec.error = String(err.message || err);
            }
            let answer = rec.verified ? (e.answers.length ? e.answers.shift() : 200) : 401;
            if (typeof answer === 'number') answer = { status: answer };
            rec.status = answer.status;
            records.push(rec);
            res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.headers || {}) });
            res.end(rec.verified ? 'ok' : rec.error);
        });
    });
    server.keepAliveTimeout = 60000;
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${server.address().port}`;
    return {
        base,
        url: (p) => base + p,
        secret: (p, s) => { ep(p).wh = new Webhook(s); },
        plan: (p, answers) => { ep(p).answers.push(...answers); },
        got: (p) => records.filter((r) => r.path === p),
        all: () => records.slice(),
        stop: () => new Promise((resolve) => {
            server.closeAllConnections?.();
            server.close(() => resolve());
        }),
    };
}
