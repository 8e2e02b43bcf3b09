// GET /metrics (issue 14, operator's view) against a real server: the Prometheus text
// format checked by promtool (Debian package prometheus, installed by scripts/deps.sh; a
// missing promtool fails the test), counters that move with the requests driven here (a
// 404, a 401, a bulk job with a failing item, a list read twice, scheduled changes due
// long ago and far ahead), the queue gauges, and --metrics open|key|off.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
    startServer, cleanup, cliOrg, cliKey, makeUsers, uniq, pollUntil, BIN,
} from './harness.mjs';

/** Runs `promtool check metrics` on text; asserts it exits 0 and reports nothing. */
function promtoolCheck(text) {
    let out;
    try {
        out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
        if (e.code === 'ENOENT') throw new Error('promtool is missing: scripts/deps.sh installs the Debian package prometheus');
        throw new Error(`promtool check metrics failed (exit ${e.status}):\n${e.stdout}${e.stderr}\n--- scraped text:\n${text}`);
    }
    assert.equal(out.trim(), '', `promtool reports problems:\n${out}`);
}

/** The samples of a scrape: "name{labels}" (labels as written) -> number. */
function parse(text) {
    const m = new Map();
    for (const line of text.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const sp = line.lastIndexOf(' ');
        m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    return m;
}

async function scrape(url, headers = {}) {
    const r = await fetch(`${url}/metrics`, { headers });
    const text = await r.text();
    return { status: r.status, type: r.headers.get('content-type'), text, m: r.status === 200 ? parse(text) : null };
}

const v = (m, series) => m.get(series) ?? 0;
const REQ = (method, route, status) => `roster_http_requests_total{method="${method}",route="${route}",status="${status}"}`;
const ITEMS = (kind, result) => `roster_bulk_items_applied_total{kind="${kind}",result="${result}"}`;

// three servers, started together: --metrics open (the default), key and off
let srv;
let keySrv;
let offSrv;
let admin;
before(async () => {
    [srv, keySrv, offSrv] = await Promise.all([startServer({ workers: 2 }),
        startServer({ workers: 1, args: ['--metrics', 'key'] }),
        startServer({ workers: 1, args: ['--metrics', 'off'] })]);
    admin = srv.api(srv.adminKey);
});
after(async () => {
    await Promise.all([srv, keySrv, offSrv].map((s) => cleanup(s)));
});

describe('GET /metrics, open (the default)', () => {

    test('is the Prometheus text format, promtool-clean, without auth', async () => {
        const s = await scrape(srv.url);
        assert.equal(s.status, 200, s.text);
        assert.match(s.type, /^text\/plain; version=0\.0\.4/);
        promtoolCheck(s.text);
        for (const family of ['roster_http_requests_total', 'roster_http_request_duration_seconds',
            'roster_http_connections_open', 'roster_bulk_jobs_queued', 'roster_bulk_items_queued',
            'roster_bulk_oldest_queued_age_seconds', 'roster_bulk_items_applied_total',
            'roster_scheduled_changes_pending', 'roster_scheduled_changes_overdue_seconds',
            'roster_scheduled_changes_done_total', 'roster_scheduled_changes_late_total',
            'roster_store_errors_total', 'roster_list_cache_lookups_total',
            'roster_rate_limited_requests_total', 'roster_store_up']) {
            assert.match(s.text, new RegExp(`^# TYPE ${family} (counter|gauge|histogram)$`, 'm'), `family ${family}`);
        }
        assert.equal(v(s.m, 'roster_store_up'), 1);
        assert.equal(v(s.m, 'roster_rate_limited_requests_total'), 0, 'no rate limiting yet');
        assert.ok(v(s.m, 'roster_http_connections_open') >= 1, 'this scrape\'s connection is open');
    });

    test('counters move with requests: 404, 401, a bulk job with a failing item, list cache hits', async () => {
        const api = await admin.inNewOrg('metrics');
        const m0 = (await scrape(srv.url)).m;

        assert.equal((await fetch(`${srv.url}/no/such/path/${uniq('p')}`)).status, 404);
        assert.equal((await api.get('/api/systemusers', { key: null })).status, 401);
        assert.equal((await api.get('/api/systemusers', { key: 'wrong-key' })).status, 401);

        const users = makeUsers(3, uniq('mu'));
        users[2].email = users[0].email; // the third item conflicts with the first
        const job = await api.bulkCreate(users);
        const rs = await api.finishedResults(job, 3);
        assert.deepEqual(rs.map((r) => r.status), ['succeeded', 'succeeded', 'failed']);

        for (let i = 0; i < 3; i++) assert.equal((await api.get('/api/systemusers?limit=2&skip=0')).status, 200);

        // the items are counted once their transaction committed, before the result is readable
        const s1 = await scrape(srv.url);
        assert.equal(s1.status, 200);
        promtoolCheck(s1.text);
        const m1 = s1.m;
        const d = (series) => v(m1, series) - v(m0, series);
        assert.equal(d('roster_http_requests_total{route="unmatched",status="404"}'), 1, 'the 404 (a path of no route)');
        assert.equal(d(REQ('GET', '/api/systemusers', 401)), 2, 'the two 401s, by route pattern');
        assert.equal(d(REQ('POST', '/api/v2/bulk/users', 201)), 1, 'the bulk submission');
        assert.ok(d(REQ('GET', '/api/v2/bulk/users/{job_id}/results', 200)) >= 1, 'result pages, by pattern (no job id in a label)');
        assert.ok(!s1.text.includes(job), 'no job id in any label');
        assert.equal(d(REQ('GET', '/api/systemusers', 200)), 3);
        assert.equal(d(ITEMS('users_create', 'succeeded')), 2);
        assert.equal(d(ITEMS('users_create', 'failed')), 1);
        assert.ok(d('roster_list_cache_lookups_total{result="hit"}') >= 1, 'the same page read again comes from the list cache');
        // the duration histogram of the route counts every request of it
        const hist = 'roster_http_request_duration_seconds_count{method="GET",route="/api/systemusers"}';
        assert.equal(d(hist), 5, 'two 401s and three 200s');
        assert.equal(v(m1, 'roster_http_request_duration_seconds_bucket{method="GET",route="/api/systemusers",le="+Inf"}'), v(m1, hist));
        assert.ok(v(m1, 'roster_http_request_duration_seconds_sum{method="GET",route="/api/systemusers"}') > 0);
        // the job is done: nothing queued
        assert.equal(v(m1, 'roster_bulk_jobs_queued'), 0);
        assert.equal(v(m1, 'roster_bulk_items_queued'), 0);
        assert.equal(v(m1, 'roster_bulk_oldest_queued_age_seconds'), 0);
        assert.equal(v(m1, 'roster_store_errors_total{code="io"}'), 0);
    });

    test('scheduled changes: pending ones counted, one due long ago applied late', async () => {
        const api = await admin.inNewOrg('msched');
        const ids = await api.createUsers(makeUsers(2, uniq('ms')));
        const m0 = (await scrape(srv.url)).m;
        const US = '/api/v2/bulk/userstates';
        const far = await api.post(US, { user_ids: [ids[0]], state: 'SUSPENDED', start_date: '2090-01-01T00:00:00Z' });
        assert.equal(far.status, 201, far.text);
        const past = await api.post(US, { user_ids: [ids[1]], state: 'SUSPENDED', start_date: '2001-02-03T04:05:06Z' });
        assert.equal(past.status, 201, past.text);
        const m1 = await pollUntil('the change due in 2001 counted as applied late', async () => {
            const s = await scrape(srv.url);
            return v(s.m, 'roster_scheduled_changes_late_total') > v(m0, 'roster_scheduled_changes_late_total') ? s.m : null;
        }, { timeoutMs: 20000, intervalMs: 100 });
        const d = (series) => v(m1, series) - v(m0, series);
        assert.equal(d('roster_scheduled_changes_late_total'), 1);
        assert.equal(d('roster_scheduled_changes_done_total{result="applied"}'), 1);
        assert.equal(d('roster_scheduled_changes_done_total{result="failed"}'), 0);
        assert.equal(v(m1, 'roster_scheduled_changes_pending'), 1, 'the change due in 2090 waits');
        assert.equal(v(m1, 'roster_scheduled_changes_overdue_seconds'), 0, 'and is not overdue');
        const del = await api.del(`${US}/${far.json[0].scheduledJobId}`);
        assert.ok(del.status < 300, del.text);
        assert.equal(v((await scrape(srv.url)).m, 'roster_scheduled_changes_pending'), 0, 'a cancelled change is not pending');
    });
});

describe('--metrics key and off', () => {

    test('key: only an all-organisations admin key as a bearer token reads it', async () => {
        let s = await scrape(keySrv.url);
        assert.equal(s.status, 401);
        assert.match(JSON.parse(s.text).message, /missing bearer token/);
        s = await scrape(keySrv.url, { authorization: 'Bearer not-a-key' });
        assert.equal(s.status, 401);
        assert.match(JSON.parse(s.text).message, /invalid api key/);
        const orgKey = await cliKey(keySrv.store, await cliOrg(keySrv.store, uniq('mk')));
        s = await scrape(keySrv.url, { authorization: `Bearer ${orgKey}` });
        assert.equal(s.status, 403);
        assert.match(JSON.parse(s.text).message, /all-organisations admin key/);
        s = await scrape(keySrv.url, { authorization: `Bearer ${keySrv.adminKey}` });
        assert.equal(s.status, 200, s.text);
        promtoolCheck(s.text);
        assert.equal(v(s.m, REQ('GET', '/metrics', 401)), 2, 'the refused scrapes are counted too');
        assert.equal(v(s.m, REQ('GET', '/metrics', 403)), 1);
    });

    test('off: 404 as for any unknown path', async () => {
        const s = await scrape(offSrv.url);
        assert.equal(s.status, 404);
        assert.match(JSON.parse(s.text).message, /no such endpoint: GET \/metrics/);
        assert.equal((await fetch(`${offSrv.url}/healthz`)).status, 200);
    });

    test('an unknown --metrics value is refused at start', () => {
        let err;
        try {
            execFileSync(BIN, ['serve', '--metrics', 'public', '--store', '/nonexistent/x.db'], { stdio: 'pipe', encoding: 'utf8' });
        } catch (e) {
            err = e;
        }
        assert.ok(err, 'roster serve must refuse');
        assert.equal(err.status, 2);
        assert.match(err.stderr, /--metrics "public" is not open, key or off/);
    });
});
