// JumpCloud scheduled user state changes (/api/v2/bulk/userstates) against a real server:
// POST validation and response shape, the pending list (paging, userid, filters), DELETE,
// eventlist/next, the scheduler (on time, exactly once, past dates, deleted users,
// activation e-mails in the outbox and GET /api/v2/messages/{id}), changes due while the
// server is down (SIGTERM and kill -9), and tenant isolation. Contract:
// /work/helpers/userstates-contract.md (issue 4). Timing is checked with deadlines, never sleeps.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, cleanup, cliOrg, cliKey, assertError, makeUsers, uniq, pollUntil, sleep, storeQuery,
    HEX24, RFC3339,
} from './harness.mjs';

const US = '/api/v2/bulk/userstates';
const RESULT_KEYS = ['scheduledDate', 'scheduledJobId', 'state', 'systemUserId'];
const EXT_KEYS = ['activationEmail', 'completedAt', 'createdAt', 'outcome', 'scheduledDate',
    'scheduledJobId', 'state', 'status', 'systemUserId'];
const MESSAGE_KEYS = ['attempts', 'content', 'createdAt', 'id', 'kind', 'lastError', 'recipient', 'sentAt', 'status', 'userId'];
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MESSAGE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/; // include/roster/schedule.h
const UNKNOWN_ID = '0123456789abcdef01234567';
const MAX_LAG_MS = 1500; // due -> visible in GET /api/systemusers/{id}, idle server

const iso = (ms) => new Date(ms).toISOString();
const FAR = Date.UTC(2090, 0, 1);
/** A far-future due date, `min` minutes after 2090-01-01 (never executes during the tests). */
const far = (min) => iso(FAR + min * 60000);
/** A due time `ms` from now, on a whole millisecond. */
const soon = (ms) => Math.ceil(Date.now() + ms);

let srv;
let admin;

before(async () => {
    srv = await startServer({ workers: 2 });
    admin = srv.api(srv.adminKey);
});
after(async () => {
    await cleanup(srv);
});

/** A new org holding n users (overrides applied to every user); returns {api, ids, users}. */
async function orgWithUsers(tag, n, overrides = {}) {
    const api = await admin.inNewOrg(tag);
    const users = makeUsers(n, uniq(tag)).map((u) => ({ ...u, ...overrides }));
    const ids = await api.createUsers(users);
    return { api, ids, users };
}

function checkEntry(e, userId, state, date, where = '') {
    assert.deepEqual(Object.keys(e).sort(), RESULT_KEYS, `keys ${where}: ${JSON.stringify(e)}`);
    assert.match(e.scheduledJobId, HEX24, `scheduledJobId ${where}`);
    assert.equal(e.systemUserId, userId, `systemUserId ${where}`);
    assert.equal(e.state, state, `state ${where}`);
    assert.match(e.scheduledDate, ISO_MS, `scheduledDate ${where}`);
    if (date !== undefined) assert.equal(e.scheduledDate, date, `scheduledDate ${where}`);
}

/** POST /bulk/userstates; asserts 201 and the response shape; returns the entries. */
async function schedule(api, body) {
    const r = await api.post(US, body);
    assert.equal(r.status, 201, `schedule: ${r.status} ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json\b/i);
    assert.ok(Array.isArray(r.json), `201 body is an array: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.length, body.user_ids.length, 'one entry per user id');
    const date = ISO_MS.test(body.start_date) ? body.start_date : undefined;
    r.json.forEach((e, i) => checkEntry(e, body.user_ids[i], body.state, date, `entry ${i}`));
    assert.equal(new Set(r.json.map((e) => e.scheduledJobId)).size, r.json.length, 'one job id per change');
    return r.json;
}

/** GET /bulk/userstates with a query string (no leading ?); asserts 200 + array. */
async function listRaw(api, query = '') {
    const r = await api.get(`${US}${query ? `?${query}` : ''}`);
    assert.equal(r.status, 200, `list ?${query}: ${r.status} ${r.text.slice(0, 300)}`);
    assert.ok(Array.isArray(r.json), `list is an array: ${r.text.slice(0, 200)}`);
    r.json.forEach((e, i) => assert.deepEqual(Object.keys(e).sort(), RESULT_KEYS, `list entry ${i}`));
    return r.json;
}

/** Every pending change (pages of 100), optionally with extra query parameters. */
async function listPending(api, extra = '') {
    const out = [];
    for (let skip = 0; ; skip += 100) {
        const page = await listRaw(api, `limit=100&skip=${skip}${extra ? `&${extra}` : ''}`);
        out.push(...page);
        if (page.length < 100) return out;
    }
}

const byDateThenId = (a, b) => (a.scheduledDate < b.scheduledDate ? -1 : a.scheduledDate > b.scheduledDate ? 1
    : a.scheduledJobId < b.scheduledJobId ? -1 : a.scheduledJobId > b.scheduledJobId ? 1 : 0);

/** The roster extension GET /bulk/userstates/{id}; asserts 200 and its shape. */
async function getJob(api, id) {
    const r = await api.get(`${US}/${id}`);
    assert.equal(r.status, 200, `GET ${US}/${id}: ${r.status} ${r.text.slice(0, 300)}`);
    const j = r.json;
    assert.deepEqual(Object.keys(j).sort(), EXT_KEYS, `extension keys: ${r.text}`);
    assert.equal(j.scheduledJobId, id);
    assert.ok(['pending', 'applied', 'failed', 'cancelled'].includes(j.status), `status ${j.status}`);
    assert.match(j.createdAt, RFC3339, `createdAt ${j.createdAt}`);
    assert.match(j.scheduledDate, ISO_MS);
    assert.equal(typeof j.outcome, 'string');
    if (j.status === 'pending') {
        assert.equal(j.completedAt, null, 'completedAt null while pending');
        assert.equal(j.outcome, '', 'outcome empty while pending');
    } else {
        assert.match(j.completedAt ?? '', RFC3339, `completedAt once ${j.status}: ${r.text}`);
    }
    if (j.activationEmail !== null) {
        assert.deepEqual(Object.keys(j.activationEmail).sort(),
            ['attempts', 'lastError', 'messageId', 'queuedAt', 'recipient', 'sentAt', 'status'],
            `activationEmail keys: ${r.text}`);
        assert.match(j.activationEmail.messageId, MESSAGE_ID);
        assert.match(j.activationEmail.queuedAt, RFC3339);
        // no relay in these tests: the e-mail waits, untried
        assert.equal(j.activationEmail.status, 'ENQUEUED', r.text);
        assert.equal(j.activationEmail.sentAt, null, r.text);
        assert.equal(j.activationEmail.attempts, 0, r.text);
        assert.equal(j.activationEmail.lastError, null, r.text);
    }
    return j;
}

/** Polls the extension GET until the change is no longer pending. */
function waitFinished(api, id, timeoutMs = 10000) {
    return pollUntil(`scheduled job ${id} finished`, async () => {
        const j = await getJob(api, id);
        return j.status === 'pending' ? null : j;
    }, { timeoutMs, intervalMs: 25 });
}

async function getUser(api, id) {
    const r = await api.get(`/api/systemusers/${id}`);
    assert.equal(r.status, 200, `GET user ${id}: ${r.status} ${r.text.slice(0, 200)}`);
    return r.json;
}

/**
 * Polls GET /api/systemusers/{id} until it shows `state`. Fails if a response received
 * before dueMs already shows it (applied early) or if it is not visible maxLagMs after due.
 * Returns the lag in ms (response received - due).
 */
async function waitApplied(api, userId, state, dueMs, maxLagMs = MAX_LAG_MS) {
    for (;;) {
        const u = await getUser(api, userId);
        const at = Date.now();
        if (u.state === state) {
            assert.ok(at >= dueMs, `user ${userId} was ${state} ${dueMs - at} ms BEFORE its due time`);
            assert.ok(at - dueMs <= maxLagMs, `user ${userId} became ${state} only ${at - dueMs} ms after due (max ${maxLagMs})`);
            assert.equal(u.activated, state === 'ACTIVATED', 'activated flag follows state');
            assert.equal(u.suspended, state === 'SUSPENDED', 'suspended flag follows state');
            return at - dueMs;
        }
        if (at - dueMs > maxLagMs) assert.fail(`user ${userId} still ${u.state} ${at - dueMs} ms after due (wanted ${state})`);
        await sleep(20);
    }
}

/**
 * Scheduler barrier: schedules a change of the dedicated user `userId` due just after
 * max(atMs, now) and waits until it is finished. The scheduler works in due order, so
 * every change due at or before atMs has been dealt with when this returns.
 */
async function barrier(api, userId, atMs, state = 'SUSPENDED') {
    const due = Math.max(atMs, Date.now()) + 200;
    const [e] = await schedule(api, { user_ids: [userId], state, start_date: iso(due) });
    const j = await waitFinished(api, e.scheduledJobId, 10000);
    assert.equal(j.status, 'applied', `barrier change: ${JSON.stringify(j)}`);
}

/** The user's version counter read from the store (white-box). */
async function version(store, userId) {
    const rows = await storeQuery(store, `SELECT version FROM users WHERE id = '${userId}'`);
    assert.equal(rows.length, 1, `one stored row for user ${userId}: ${rows}`);
    return Number(rows[0]);
}

function msg(s) {
    return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

// ---------------------------------------------------------------------------------------

describe('POST /api/v2/bulk/userstates', () => {
    test('201: one entry per user in request order, exact keys, dates normalised to UTC ms', async () => {
        const { api, ids } = await orgWithUsers('post', 4);
        const order = [ids[2], ids[0], ids[3]];
        const body = { user_ids: order, state: 'SUSPENDED', start_date: '2090-01-02T03:04:05Z' };
        const r = await api.post(US, body);
        assert.equal(r.status, 201, r.text);
        assert.ok(Array.isArray(r.json) && r.json.length === 3, r.text);
        r.json.forEach((e, i) => checkEntry(e, order[i], 'SUSPENDED', '2090-01-02T03:04:05.000Z', `entry ${i}`));
        assert.equal(new Set(r.json.map((e) => e.scheduledJobId)).size, 3, 'distinct scheduledJobIds');
        const made = [...r.json];
        const cases = [
            ['2090-01-02T05:04:05.5+02:00', '2090-01-02T03:04:05.500Z'],
            ['2090-01-01T23:59:59.123456Z', '2090-01-01T23:59:59.123Z'],
            ['2090-06-30T12:00:00-07:30', '2090-06-30T19:30:00.000Z'],
            ['2090-03-04T05:06:07.089Z', '2090-03-04T05:06:07.089Z'],
        ];
        for (const [given, want] of cases) {
            const [e] = await schedule(api, { user_ids: [ids[1]], state: 'ACTIVATED', start_date: given });
            assert.equal(e.scheduledDate, want, `start_date ${given}`);
            made.push(e);
        }
        const [e] = await schedule(api, {
            user_ids: [ids[1]], state: 'ACTIVATED', start_date: far(1),
            send_activation_emails: true, activation_email_override: 'someone.else@example.test',
        });
        made.push(e);
        // every change is pending and listed with the same four fields
        const all = await listPending(api);
        assert.deepEqual(all, [...made].sort(byDateThenId), 'pending list == what POST returned, by date then id');
        // the extension view of a fresh change
        const t = Date.now();
        const j = await getJob(api, made[0].scheduledJobId);
        assert.equal(j.status, 'pending');
        assert.equal(j.systemUserId, ids[2]);
        assert.equal(j.state, 'SUSPENDED');
        assert.equal(j.scheduledDate, '2090-01-02T03:04:05.000Z');
        assert.equal(j.activationEmail, null);
        assert.ok(Math.abs(Date.parse(j.createdAt) - t) < 60000, `createdAt ${j.createdAt} is about now`);
    });

    test('400 for every invalid request, naming the offending value; nothing is stored', async () => {
        const { api, ids } = await orgWithUsers('p400', 3);
        const other = await orgWithUsers('p400o', 1);
        const good = { user_ids: [ids[0], ids[1]], state: 'SUSPENDED', start_date: far(1) };
        const one = { user_ids: [ids[0]], state: 'ACTIVATED', start_date: far(1) };
        const override = 'elsewhere@example.test';
        const cases = [
            ['user_ids missing', { ...good, user_ids: undefined }, /user_ids/],
            ['user_ids a string', { ...good, user_ids: ids[0] }, /user_ids/],
            ['user_ids an object', { ...good, user_ids: { a: ids[0] } }, /user_ids/],
            ['user_ids empty', { ...good, user_ids: [] }, /user_ids/],
            ['user id a number', { ...good, user_ids: [ids[0], 7] }, /user_ids/],
            ['user id null', { ...good, user_ids: [ids[0], null] }, /user_ids/],
            ['user id twice', { ...good, user_ids: [ids[0], ids[1], ids[0]] }, msg(`user id "${ids[0]}" is listed twice`)],
            ['malformed user id', { ...good, user_ids: [ids[0], 'nope'] }, msg('user "nope" not found')],
            ['unknown user id', { ...good, user_ids: [ids[0], UNKNOWN_ID] }, msg(`user "${UNKNOWN_ID}" not found`)],
            ["other org's user id", { ...good, user_ids: [ids[0], other.ids[0]] }, msg(`user "${other.ids[0]}" not found`)],
            ['state missing', { ...good, state: undefined }, /state/],
            ['state STAGED', { ...good, state: 'STAGED' }, msg('state "STAGED" is not one of ACTIVATED, SUSPENDED')],
            ['state lower case', { ...good, state: 'suspended' }, msg('state "suspended"')],
            ['state a number', { ...good, state: 2 }, /state/],
            ['start_date missing', { ...good, start_date: undefined }, /start_date/],
            ['start_date tomorrow', { ...good, start_date: 'tomorrow' }, msg('start_date "tomorrow" is not an RFC 3339 date-time')],
            ['start_date month 13', { ...good, start_date: '2090-13-01T00:00:00Z' }, msg('start_date "2090-13-01T00:00:00Z"')],
            ['start_date date only', { ...good, start_date: '2090-01-01' }, msg('start_date "2090-01-01"')],
            ['start_date a number', { ...good, start_date: 3786912000000 }, /start_date/],
            ['send_activation_emails a string', { ...one, send_activation_emails: 'yes' }, /send_activation_emails/],
            ['send_activation_emails a number', { ...one, send_activation_emails: 1 }, /send_activation_emails/],
            ['override not a string', { ...one, send_activation_emails: true, activation_email_override: 5 }, /activation_email_override/],
            ['override with two users', { ...good, state: 'ACTIVATED', send_activation_emails: true, activation_email_override: override },
                msg('activation_email_override needs exactly one user and state ACTIVATED')],
            ['override with SUSPENDED', { ...one, state: 'SUSPENDED', send_activation_emails: true, activation_email_override: override },
                msg('activation_email_override needs exactly one user and state ACTIVATED')],
            ['override with two users, send_activation_emails omitted', { ...good, state: 'ACTIVATED', activation_email_override: override },
                msg('activation_email_override needs exactly one user and state ACTIVATED')],
            ['override not an e-mail', { ...one, send_activation_emails: true, activation_email_override: 'not-an-email' },
                msg('activation_email_override "not-an-email"')],
        ];
        const wrong = []; // every case is tried, so one run lists every disagreement
        for (const [name, body, re] of cases) {
            const r = await api.post(US, body);
            try {
                assertError(r, 400, re);
            } catch (e) {
                wrong.push(`${name}: ${e.message.split('\n')[0]}`);
            }
        }
        assert.deepEqual(wrong, [], 'cases answered wrongly');
        for (const body of [[], [good], 'text', 5, null, true]) {
            assertError(await api.post(US, body), 400);
        }
        for (const raw of ['{"user_ids": [', '{"state": "ACTIVATED",}', '{} x', '']) {
            const r = await api.req('POST', US, { raw });
            assertError(r, 400);
            if (raw) assert.match(r.json.message, /invalid JSON at line \d+ column \d+/, `raw ${JSON.stringify(raw)}`);
        }
        assertError(await api.req('POST', US, { raw: JSON.stringify(good), contentType: 'text/plain' }), 415);
        assertError(await api.req('POST', US, { raw: JSON.stringify(good), contentType: 'application/x-www-form-urlencoded' }), 415);
        // nothing from any rejected request was stored
        assert.deepEqual(await listPending(api), [], 'no pending change after rejected requests');
        for (const id of ids) assert.deepEqual(await listRaw(api, `userid=${id}`), []);
        const ev = await api.get(`${US}/eventlist/next?users=${ids.join(',')}`);
        assert.equal(ev.status, 200, ev.text);
        assert.equal(ev.json.events_count, 0);
        assert.deepEqual(await listPending(other.api), [], "nothing in the other org's list either");
    });

    test('send_activation_emails null is not a boolean -> 400, nothing stored', async () => {
        const { api, ids } = await orgWithUsers('pnull', 1);
        const r = await api.post(US, { user_ids: ids, state: 'ACTIVATED', start_date: far(1), send_activation_emails: null });
        assertError(r, 400, /send_activation_emails/);
        assert.deepEqual(await listPending(api), []);
    });

    test('activation_email_override is ignored when send_activation_emails is false', async () => {
        const { api, ids } = await orgWithUsers('p201', 2);
        for (const ov of ['x@example.test', 'not-an-email']) {
            await schedule(api, {
                user_ids: ids, state: 'SUSPENDED', start_date: far(2),
                send_activation_emails: false, activation_email_override: ov,
            });
        }
        // and a valid override with one user / ACTIVATED, flag omitted, is fine
        await schedule(api, { user_ids: [ids[0]], state: 'ACTIVATED', start_date: far(3), activation_email_override: 'y@example.test' });
        assert.equal((await listPending(api)).length, 5);
    });

    test('1,000 user ids accepted, 1,001 rejected', async () => {
        const { api, ids } = await orgWithUsers('k1', 1001);
        const r = await api.post(US, { user_ids: ids, state: 'SUSPENDED', start_date: far(5) });
        assertError(r, 400, /user_ids/);
        assert.match(r.json.message, /1,?000/, `message names the limit: ${r.json.message}`);
        assert.deepEqual(await listRaw(api, 'limit=1'), [], 'nothing stored from the 1,001-id request');
        const es = await schedule(api, { user_ids: ids.slice(0, 1000), state: 'SUSPENDED', start_date: far(5) });
        assert.equal(es.length, 1000);
        const all = await listPending(api);
        assert.equal(all.length, 1000);
        assert.deepEqual(all, [...es].sort(byDateThenId));
    });
});

// ---------------------------------------------------------------------------------------

describe('GET /api/v2/bulk/userstates', () => {
    let api;
    let ids;
    let all; // every pending change, in the expected order
    let cancelled;

    before(async () => {
        ({ api, ids } = await orgWithUsers('list', 6));
        const batches = [
            [[0, 1, 2], 'SUSPENDED', 10],
            [[3, 4], 'ACTIVATED', 5],
            [[0], 'ACTIVATED', 20],
            [[5, 1], 'SUSPENDED', 15],
            [[2, 3, 4, 5], 'ACTIVATED', 10], // same date as the first batch: ordered by job id
            [[0], 'SUSPENDED', 30],
        ];
        all = [];
        for (const [who, state, min] of batches) {
            all.push(...await schedule(api, { user_ids: who.map((i) => ids[i]), state, start_date: far(min) }));
        }
        all.sort(byDateThenId);
        [cancelled] = await schedule(api, { user_ids: [ids[1]], state: 'ACTIVATED', start_date: far(1) });
        assert.equal((await api.del(`${US}/${cancelled.scheduledJobId}`)).status, 204);
        assert.equal(all.length, 13);
    });

    test('default limit 10; limit 100 gives every pending change by date then id', async () => {
        assert.deepEqual(await listRaw(api), all.slice(0, 10));
        const got = await listRaw(api, 'limit=100');
        assert.deepEqual(got, all);
        assert.ok(!got.some((e) => e.scheduledJobId === cancelled.scheduledJobId), 'cancelled change not listed');
    });

    test('skip/limit paging', async () => {
        const seen = [];
        for (let skip = 0; skip < 20; skip += 4) seen.push(...await listRaw(api, `limit=4&skip=${skip}`));
        assert.deepEqual(seen, all);
        assert.deepEqual(await listRaw(api, 'skip=5&limit=3'), all.slice(5, 8));
        assert.deepEqual(await listRaw(api, 'skip=12'), all.slice(12));
        assert.deepEqual(await listRaw(api, 'skip=13'), []);
        assert.deepEqual(await listRaw(api, 'skip=1000'), []);
        assert.deepEqual(await listRaw(api, 'limit=1'), all.slice(0, 1));
        await listRaw(api, 'limit=0'); // allowed (0..100)
    });

    test('bad limit/skip -> 400', async () => {
        for (const q of ['limit=101', 'limit=-1', 'limit=abc', 'skip=-1', 'skip=x']) {
            const r = await api.get(`${US}?${q}`);
            try {
                assertError(r, 400);
            } catch (e) {
                e.message = `${q}: ${e.message}`;
                throw e;
            }
        }
    });

    test('userid: only that user\'s changes', async () => {
        for (const [i, id] of ids.entries()) {
            const want = all.filter((e) => e.systemUserId === id);
            assert.ok(want.length > 0, `user ${i} has changes`);
            assert.deepEqual(await listRaw(api, `userid=${id}&limit=100`), want, `userid of user ${i}`);
        }
        assert.deepEqual(await listRaw(api, `userid=${ids[0]}&limit=1&skip=1`), all.filter((e) => e.systemUserId === ids[0]).slice(1, 2));
        assert.deepEqual(await listRaw(api, `userid=${UNKNOWN_ID}`), []);
    });

    async function checkFilter(filters, pred, extra = '') {
        const q = new URLSearchParams([['limit', '100'], ...filters.map((f) => ['filter', f])]).toString();
        const got = await listRaw(api, `${q}${extra}`);
        const want = all.filter(pred);
        assert.deepEqual(got, want, `filter ${filters.join(' & ')}${extra}`);
        return want.length;
    }

    test('filters on state, systemUserId, scheduledDate and scheduledJobId, every operator', async () => {
        const [u0, u1, u3] = [ids[0], ids[1], ids[3]];
        const d10 = far(10);
        const d15 = far(15);
        const mid = all[6].scheduledJobId;
        const nonEmpty = [
            await checkFilter(['state:eq:ACTIVATED'], (e) => e.state === 'ACTIVATED'),
            await checkFilter(['state:ne:ACTIVATED'], (e) => e.state !== 'ACTIVATED'),
            await checkFilter(['state:in:ACTIVATED|SUSPENDED'], () => true),
            await checkFilter([`systemUserId:eq:${u1}`], (e) => e.systemUserId === u1),
            await checkFilter([`systemUserId:ne:${u0}`], (e) => e.systemUserId !== u0),
            await checkFilter([`systemUserId:in:${u1}|${u3}|${UNKNOWN_ID}`], (e) => [u1, u3].includes(e.systemUserId)),
            await checkFilter([`scheduledDate:eq:${d10}`], (e) => e.scheduledDate === d10),
            await checkFilter([`scheduledDate:ne:${d10}`], (e) => e.scheduledDate !== d10),
            await checkFilter([`scheduledDate:gt:${d10}`], (e) => e.scheduledDate > d10),
            await checkFilter([`scheduledDate:ge:${d10}`], (e) => e.scheduledDate >= d10),
            await checkFilter([`scheduledDate:lt:${d15}`], (e) => e.scheduledDate < d15),
            await checkFilter([`scheduledDate:le:${d15}`], (e) => e.scheduledDate <= d15),
            await checkFilter([`scheduledDate:between:${far(5)}|${d15}`], (e) => e.scheduledDate >= far(5) && e.scheduledDate <= d15),
            await checkFilter([`scheduledDate:in:${far(5)}|${far(30)}`], (e) => [far(5), far(30)].includes(e.scheduledDate)),
            await checkFilter([`scheduledJobId:eq:${mid}`], (e) => e.scheduledJobId === mid),
            await checkFilter([`scheduledJobId:in:${all[0].scheduledJobId}|${mid}`], (e) => [all[0].scheduledJobId, mid].includes(e.scheduledJobId)),
            await checkFilter([`scheduledJobId:gt:${mid}`], (e) => e.scheduledJobId > mid),
            await checkFilter([`scheduledJobId:le:${mid}`], (e) => e.scheduledJobId <= mid),
            await checkFilter([`systemUserId:search:${u1.slice(14)}`], (e) => e.systemUserId.includes(u1.slice(14))),
            await checkFilter([`scheduledJobId:search:${mid.slice(12)}`], (e) => e.scheduledJobId.includes(mid.slice(12))),
        ];
        assert.ok(nonEmpty.every((n) => n > 0), `every filter matched something: ${nonEmpty}`);
        await checkFilter(['state:eq:STAGED'], () => false);
        await checkFilter([`systemUserId:eq:${UNKNOWN_ID}`], () => false);
        // repeated and comma-joined filters AND together; combined with userid
        const pred = (e) => e.state === 'ACTIVATED' && e.scheduledDate >= d10;
        assert.ok(await checkFilter(['state:eq:ACTIVATED', `scheduledDate:ge:${d10}`], pred) > 0);
        await checkFilter([`state:eq:ACTIVATED,scheduledDate:ge:${d10}`], pred);
        await checkFilter(['state:eq:SUSPENDED'], (e) => e.state === 'SUSPENDED' && e.systemUserId === u0, `&userid=${u0}`);
    });

    test('search is for text fields only: state and scheduledDate -> 400', async () => {
        for (const f of ['state:search:ACTIV', 'scheduledDate:search:2090']) {
            const r = await api.get(`${US}?filter=${encodeURIComponent(f)}`);
            assertError(r, 400, /search is only supported on text fields/);
        }
    });

    test('unknown filter field or operator -> 400', async () => {
        for (const f of ['nofield:eq:x', 'username:eq:x', 'state:like:ACTIVATED', 'state:xx:ACTIVATED', 'state']) {
            const r = await api.get(`${US}?filter=${encodeURIComponent(f)}`);
            try {
                assertError(r, 400);
            } catch (e) {
                e.message = `filter ${f}: ${e.message}`;
                throw e;
            }
        }
    });
});

// ---------------------------------------------------------------------------------------

describe('DELETE /api/v2/bulk/userstates/{id}', () => {
    test('204, then 404; unknown and malformed ids 404; another org gets 404 and the change stays', async () => {
        const { api, ids } = await orgWithUsers('del', 2);
        const [j0, j1] = await schedule(api, { user_ids: ids, state: 'SUSPENDED', start_date: far(1) });
        const r = await api.del(`${US}/${j0.scheduledJobId}`);
        assert.equal(r.status, 204, r.text);
        assert.equal(r.text, '', '204 has an empty body');
        assertError(await api.del(`${US}/${j0.scheduledJobId}`), 404, msg(`scheduled job "${j0.scheduledJobId}" not found`));
        const c = await getJob(api, j0.scheduledJobId);
        assert.equal(c.status, 'cancelled');
        assert.deepEqual(await listPending(api), [j1]);
        assertError(await api.del(`${US}/${UNKNOWN_ID}`), 404, msg(`scheduled job "${UNKNOWN_ID}" not found`));
        assertError(await api.del(`${US}/nope`), 404);
        assertError(await api.get(`${US}/${UNKNOWN_ID}`), 404);
        const other = await admin.inNewOrg('delb');
        assertError(await other.del(`${US}/${j1.scheduledJobId}`), 404, msg(`scheduled job "${j1.scheduledJobId}" not found`));
        assertError(await other.get(`${US}/${j1.scheduledJobId}`), 404);
        assert.deepEqual(await listPending(api), [j1], 'still pending for its owner');
        assert.equal((await getJob(api, j1.scheduledJobId)).status, 'pending');
    });

    test('a cancelled change is never applied', async () => {
        const { api, ids } = await orgWithUsers('delx', 2);
        const [target, bar] = ids;
        const v0 = await version(srv.store, target);
        const due = soon(1500);
        const [e] = await schedule(api, { user_ids: [target], state: 'SUSPENDED', start_date: iso(due) });
        assert.equal((await api.del(`${US}/${e.scheduledJobId}`)).status, 204);
        await barrier(api, bar, due);
        assert.ok(Date.now() > due);
        assert.equal((await getUser(api, target)).state, 'ACTIVATED', 'cancelled change not applied');
        const j = await getJob(api, e.scheduledJobId);
        assert.equal(j.status, 'cancelled');
        assert.equal(j.activationEmail, null);
        assert.equal(await version(srv.store, target), v0, 'user never updated');
    });
});

// ---------------------------------------------------------------------------------------

describe('GET /api/v2/bulk/userstates/eventlist/next', () => {
    const EV = `${US}/eventlist/next`;

    async function events(api, query) {
        const r = await api.get(`${EV}?${query}`);
        assert.equal(r.status, 200, `eventlist ?${query}: ${r.status} ${r.text.slice(0, 300)}`);
        assert.deepEqual(Object.keys(r.json).sort(), ['events_count', 'results'], r.text.slice(0, 200));
        assert.equal(typeof r.json.events_count, 'number');
        assert.ok(Array.isArray(r.json.results));
        r.json.results.forEach((e) => assert.deepEqual(Object.keys(e).sort(), RESULT_KEYS));
        return r.json;
    }

    test('next ACTIVATED and next SUSPENDED per user, events_count, limit/skip', async () => {
        const { api, ids } = await orgWithUsers('ev', 4);
        const [a, b, c, d] = ids;
        const other = await orgWithUsers('evx', 1);
        const x = other.ids[0];
        const s = (who, state, min) => schedule(api, { user_ids: who, state, start_date: far(min) });
        const [aAct40] = await s([a], 'ACTIVATED', 40);
        const [aAct10, cAct10] = await s([a, c], 'ACTIVATED', 10);
        const [aSus20] = await s([a], 'SUSPENDED', 20);
        const [aSus5] = await s([a], 'SUSPENDED', 5);
        const [bSus25] = await s([b], 'SUSPENDED', 25);
        const [bSus15] = await s([b], 'SUSPENDED', 15);
        const [cSus50] = await s([c], 'SUSPENDED', 50);
        const [aSus1] = await s([a], 'SUSPENDED', 1);
        assert.equal((await api.del(`${US}/${aSus1.scheduledJobId}`)).status, 204); // cancelled: not an event
        await schedule(other.api, { user_ids: [x], state: 'ACTIVATED', start_date: far(1) });
        const want = [aSus5, aAct10, cAct10, bSus15, cSus50];
        want.sort(byDateThenId);
        assert.ok(![aAct40, aSus20, bSus25].some((e) => want.includes(e)));

        const ev = await events(api, `users=${[a, b, c, d, x].join(',')}`);
        assert.equal(ev.events_count, 5);
        assert.deepEqual(ev.results, want);
        assert.deepEqual(await events(api, `users=${[x, d, c, b, a].join(',')}`), ev, 'order of users does not matter');
        const page = async (q) => (await events(api, `users=${[a, b, c, d].join(',')}&${q}`));
        let p = await page('limit=2');
        assert.equal(p.events_count, 5);
        assert.deepEqual(p.results, want.slice(0, 2));
        p = await page('limit=2&skip=2');
        assert.equal(p.events_count, 5);
        assert.deepEqual(p.results, want.slice(2, 4));
        p = await page('skip=4');
        assert.deepEqual(p.results, want.slice(4));
        p = await page('skip=5');
        assert.equal(p.events_count, 5);
        assert.deepEqual(p.results, []);
        assert.deepEqual(await events(api, `users=${b}`), { events_count: 1, results: [bSus15] });
        assert.deepEqual(await events(api, `users=${d}`), { events_count: 0, results: [] });
        assert.deepEqual(await events(api, `users=${x}`), { events_count: 0, results: [] }, "another org's user contributes nothing");
        assert.equal((await events(other.api, `users=${x}`)).events_count, 1);
        // cancelling the next event moves the next one up
        assert.equal((await api.del(`${US}/${aSus5.scheduledJobId}`)).status, 204);
        const ev2 = await events(api, `users=${a}`);
        assert.deepEqual(ev2, { events_count: 2, results: [aAct10, aSus20] });
    });

    test('default limit 10, limit 100 max; users missing, empty or over 100 -> 400', async () => {
        const { api, ids } = await orgWithUsers('evl', 6);
        const acts = await schedule(api, { user_ids: ids, state: 'ACTIVATED', start_date: far(1) });
        const sus = await schedule(api, { user_ids: ids, state: 'SUSPENDED', start_date: far(2) });
        const want = [...acts.sort(byDateThenId), ...sus.sort(byDateThenId)];
        const q = `users=${ids.join(',')}`;
        let ev = await events(api, q);
        assert.equal(ev.events_count, 12);
        assert.deepEqual(ev.results, want.slice(0, 10), 'default limit 10');
        ev = await events(api, `${q}&limit=100`);
        assert.deepEqual(ev.results, want);
        // 100 ids are fine (unknown ones contribute nothing), 101 are not
        const fillers = Array.from({ length: 99 }, (_, i) => `ffffffffffffffff${String(i).padStart(8, '0')}`);
        ev = await events(api, `users=${[ids[0], ...fillers].join(',')}`);
        assert.equal(ev.events_count, 2);
        assertError(await api.get(`${EV}?users=${[ids[0], ids[1], ...fillers].join(',')}`), 400, /users/);
        assertError(await api.get(EV), 400, /users/);
        assertError(await api.get(`${EV}?users=`), 400, /users/);
        assertError(await api.get(`${EV}?users=${ids[0]}&limit=101`), 400);
        assertError(await api.get(`${EV}?users=${ids[0]}&skip=-1`), 400);
    });
});

// ---------------------------------------------------------------------------------------

describe('scheduler', () => {
    test('changes due in 2 s are applied on time and exactly once; a later manual PUT stands', async (t) => {
        const { api, ids } = await orgWithUsers('run', 4);
        const targets = ids.slice(0, 3);
        const bar = ids[3];
        const v0 = await Promise.all(targets.map((id) => version(srv.store, id)));
        const due = soon(2000);
        const es = await schedule(api, { user_ids: targets, state: 'SUSPENDED', start_date: iso(due) });
        assert.equal(es[0].scheduledDate, iso(due));
        const lags = await Promise.all(targets.map((id) => waitApplied(api, id, 'SUSPENDED', due)));
        t.diagnostic(`due -> visible: ${lags.join(', ')} ms`);
        for (const e of es) {
            const j = await waitFinished(api, e.scheduledJobId, 2000);
            assert.equal(j.status, 'applied', JSON.stringify(j));
            assert.equal(j.outcome, 'user state set to SUSPENDED');
            assert.equal(j.activationEmail, null);
            assert.ok(Date.parse(j.completedAt) >= due, `completedAt ${j.completedAt} not before due ${iso(due)}`);
            assert.ok(Date.parse(j.createdAt) < due, `createdAt ${j.createdAt} before due`);
            assertError(await api.del(`${US}/${e.scheduledJobId}`), 404, msg(`scheduled job "${e.scheduledJobId}" not found`));
        }
        assert.deepEqual(await listPending(api), [], 'applied changes are no longer listed');
        const v1 = await Promise.all(targets.map((id) => version(srv.store, id)));
        assert.deepEqual(v1, v0.map((v) => v + 1), 'each user updated exactly once');
        // a manual change afterwards is not overridden by the scheduler
        const put = await api.put(`/api/systemusers/${targets[0]}`, { state: 'ACTIVATED' });
        assert.equal(put.status, 200, put.text);
        await barrier(api, bar, Date.now());
        assert.equal((await getUser(api, targets[0])).state, 'ACTIVATED', 'manual PUT stands');
        assert.equal((await getUser(api, targets[1])).state, 'SUSPENDED');
        if (v0[0] !== null) {
            const v2 = await Promise.all(targets.map((id) => version(srv.store, id)));
            assert.deepEqual(v2, [v0[0] + 2, v0[1] + 1, v0[2] + 1], 'only the PUT changed anything since');
        }
        assert.equal((await getJob(api, es[0].scheduledJobId)).status, 'applied');
    });

    test('changes for one user at different times apply in order', async () => {
        const { api, ids } = await orgWithUsers('seq', 1);
        const [u] = ids;
        const d1 = soon(1500);
        const d2 = d1 + 1200;
        const [e2] = await schedule(api, { user_ids: [u], state: 'ACTIVATED', start_date: iso(d2) });
        const [e1] = await schedule(api, { user_ids: [u], state: 'SUSPENDED', start_date: iso(d1) });
        await waitApplied(api, u, 'SUSPENDED', d1);
        await waitApplied(api, u, 'ACTIVATED', d2);
        for (const e of [e1, e2]) assert.equal((await waitFinished(api, e.scheduledJobId, 2000)).status, 'applied');
    });

    test('a start_date in the past is applied as soon as possible', async () => {
        const { api, ids } = await orgWithUsers('past', 2, { state: 'SUSPENDED' });
        const es = await schedule(api, { user_ids: ids, state: 'ACTIVATED', start_date: '2001-02-03T04:05:06Z' });
        const t = Date.now();
        assert.equal(es[0].scheduledDate, '2001-02-03T04:05:06.000Z');
        for (const id of ids) await waitApplied(api, id, 'ACTIVATED', t);
        for (const e of es) {
            const j = await waitFinished(api, e.scheduledJobId, 2000);
            assert.equal(j.status, 'applied');
            assert.equal(j.outcome, 'user state set to ACTIVATED');
            assert.equal(j.activationEmail, null, 'no e-mail without send_activation_emails');
        }
    });

    test('user deleted before the due time: the change fails naming the user; nothing else happens', async () => {
        const { api, ids } = await orgWithUsers('gone', 2);
        const [gone, keep] = ids;
        const due = soon(1500);
        const [eg, ek] = await schedule(api, {
            user_ids: [gone, keep], state: 'ACTIVATED', start_date: iso(due), send_activation_emails: true,
        });
        const d = await api.del(`/api/systemusers/${gone}`);
        assert.equal(d.status, 200, d.text);
        const j = await waitFinished(api, eg.scheduledJobId, due - Date.now() + 5000);
        assert.equal(j.status, 'failed', JSON.stringify(j));
        assert.ok(j.outcome.includes(`user "${gone}" not found`), `outcome names the user: ${j.outcome}`);
        assert.ok(Date.parse(j.completedAt) >= due, `failed at its due time, not before: ${j.completedAt}`);
        assert.equal(j.activationEmail, null, 'no e-mail for a failed change');
        assertError(await api.get(`/api/systemusers/${gone}`), 404);
        assert.equal(await api.totalCount(), 1, 'the deleted user was not re-created');
        const k = await waitFinished(api, ek.scheduledJobId, 2000);
        assert.equal(k.status, 'applied', 'the other user of the same request is applied');
        assert.ok(k.activationEmail, 'its e-mail is recorded');
        assertError(await api.del(`${US}/${eg.scheduledJobId}`), 404);
    });

    test('activation e-mails: user address, override, none without the flag or for SUSPENDED; /messages', async () => {
        const { api, ids, users } = await orgWithUsers('mail', 6, { state: 'SUSPENDED' });
        const [uMail, uOver, uNoFlag, uFalse, uSus, uMail2] = ids;
        const byId = new Map(ids.map((id, i) => [id, users[i]]));
        const over = 'Other.Address@example.test';
        const due = soon(1500);
        const d = iso(due);
        const [eMail, eMail2] = await schedule(api, { user_ids: [uMail, uMail2], state: 'ACTIVATED', start_date: d, send_activation_emails: true });
        const [eOver] = await schedule(api, { user_ids: [uOver], state: 'ACTIVATED', start_date: d, send_activation_emails: true, activation_email_override: over });
        const [eNoFlag] = await schedule(api, { user_ids: [uNoFlag], state: 'ACTIVATED', start_date: d });
        const [eFalse] = await schedule(api, { user_ids: [uFalse], state: 'ACTIVATED', start_date: d, send_activation_emails: false, activation_email_override: over });
        const put = await api.put(`/api/systemusers/${uSus}`, { state: 'ACTIVATED' });
        assert.equal(put.status, 200, put.text);
        const [eSus] = await schedule(api, { user_ids: [uSus], state: 'SUSPENDED', start_date: d, send_activation_emails: true });
        const done = {};
        for (const e of [eMail, eMail2, eOver, eNoFlag, eFalse, eSus]) {
            const j = await waitFinished(api, e.scheduledJobId, due - Date.now() + 5000);
            assert.equal(j.status, 'applied', JSON.stringify(j));
            done[e.systemUserId] = j;
        }
        for (const id of [uNoFlag, uFalse, uSus]) assert.equal(done[id].activationEmail, null, `no e-mail for ${id}`);
        assert.equal((await getUser(api, uSus)).state, 'SUSPENDED');
        const expectRecipient = { [uMail]: byId.get(uMail).email, [uMail2]: byId.get(uMail2).email, [uOver]: over };
        const msgIds = new Set();
        for (const [id, recipient] of Object.entries(expectRecipient)) {
            assert.equal((await getUser(api, id)).state, 'ACTIVATED');
            const ae = done[id].activationEmail;
            assert.ok(ae, `activationEmail for ${id}: ${JSON.stringify(done[id])}`);
            assert.equal(ae.recipient, recipient);
            msgIds.add(ae.messageId);
            const r = await api.get(`/api/v2/messages/${ae.messageId}`);
            assert.equal(r.status, 200, r.text);
            const m = r.json;
            assert.deepEqual(Object.keys(m).sort(), MESSAGE_KEYS, r.text);
            assert.equal(m.id, ae.messageId);
            assert.equal(m.kind, 'activation_email');
            assert.equal(m.userId, id);
            assert.equal(m.recipient, recipient);
            assert.equal(m.status, 'ENQUEUED');
            assert.equal(m.sentAt, null);
            assert.equal(m.attempts, 0);
            assert.equal(m.lastError, null);
            assert.equal(ae.status, 'ENQUEUED');
            assert.match(m.createdAt, RFC3339);
            assert.equal(Date.parse(m.createdAt), Date.parse(ae.queuedAt), 'queuedAt is the message createdAt');
            const u = byId.get(id);
            const full = [u.firstname, u.lastname].filter(Boolean).join(' ') || null;
            assert.deepEqual(m.content, {
                template: 'activation',
                user: { id, username: u.username, email: u.email, firstname: u.firstname, lastname: u.lastname },
                // the variables of the activation template (docs/templates.md)
                data: {
                    user_id: id, username: u.username, email: recipient, firstname: u.firstname ?? null,
                    lastname: u.lastname ?? null, fullname: full, name: u.firstname || full || u.username,
                },
            }, 'message content');
        }
        assert.equal(msgIds.size, 3, 'one message per e-mail');
        const other = await admin.inNewOrg('mailx');
        assertError(await other.get(`/api/v2/messages/${done[uMail].activationEmail.messageId}`), 404);
        assertError(await api.get('/api/v2/messages/1-00000000-0123456789abcdef01234567'), 404);
        assertError(await api.get('/api/v2/messages/nope'), 404);
    });
});

// ---------------------------------------------------------------------------------------

describe('tenant isolation', () => {
    test("org B cannot list, read, delete or eventlist A's schedules, nor schedule A's users", async () => {
        const { api: a, ids } = await orgWithUsers('tena', 2);
        const es = await schedule(a, { user_ids: ids, state: 'SUSPENDED', start_date: far(1) });
        const orgB = await cliOrg(srv.store, uniq('tenb'));
        const b = srv.api(await cliKey(srv.store, orgB));
        assert.deepEqual(await listRaw(b, 'limit=100'), []);
        assert.deepEqual(await listRaw(b, `userid=${ids[0]}`), []);
        assert.deepEqual(await listRaw(b, `filter=scheduledJobId:eq:${es[0].scheduledJobId}`), []);
        for (const e of es) {
            assertError(await b.del(`${US}/${e.scheduledJobId}`), 404);
            assertError(await b.get(`${US}/${e.scheduledJobId}`), 404);
        }
        const ev = await b.get(`${US}/eventlist/next?users=${ids.join(',')}`);
        assert.equal(ev.status, 200, ev.text);
        assert.deepEqual(ev.json, { events_count: 0, results: [] });
        assertError(await b.post(US, { user_ids: [ids[0]], state: 'ACTIVATED', start_date: far(2) }), 400,
            msg(`user "${ids[0]}" not found`));
        // B's key cannot pick A with x-org-id
        const aOrg = a.org;
        assertError(await b.get(US, { org: aOrg }), 404);
        assertError(await b.del(`${US}/${es[0].scheduledJobId}`, { org: aOrg }), 404);
        assertError(await b.req('POST', US, { org: aOrg, body: { user_ids: [ids[0]], state: 'ACTIVATED', start_date: far(2) } }), 404);
        // A's changes are untouched
        assert.deepEqual(await listPending(a), [...es].sort(byDateThenId));
        // and B's own schedule is invisible to A
        const [bu] = await b.createUsers(makeUsers(1, uniq('tb')));
        const [eb] = await schedule(b, { user_ids: [bu], state: 'SUSPENDED', start_date: far(3) });
        assertError(await a.get(`${US}/${eb.scheduledJobId}`), 404);
        assertError(await a.del(`${US}/${eb.scheduledJobId}`), 404);
        assert.equal((await listPending(a)).length, 2);
        assert.deepEqual(await listPending(b), [eb]);
    });

    test('missing or unknown x-api-key -> 401 on every route', async () => {
        const routes = [
            ['POST', US], ['GET', US], ['DELETE', `${US}/${UNKNOWN_ID}`], ['GET', `${US}/${UNKNOWN_ID}`],
            ['GET', `${US}/eventlist/next?users=${UNKNOWN_ID}`], ['GET', '/api/v2/messages/1-00000000-0123456789abcdef01234567'],
        ];
        for (const [m, p] of routes) {
            const body = m === 'POST' ? { user_ids: [UNKNOWN_ID], state: 'ACTIVATED', start_date: far(1) } : undefined;
            assertError(await admin.req(m, p, { key: null, body }), 401);
            assertError(await admin.req(m, p, { key: 'not-a-real-key-0123456789abcdef', body }), 401);
        }
    });
});

// ---------------------------------------------------------------------------------------

describe('changes due while the server is down', () => {
    const servers = [];
    after(async () => {
        for (const s of servers) await cleanup(s);
    });
    async function start(opts) {
        const s = await startServer({ workers: 2, ...opts });
        servers.push(s);
        return s;
    }

    for (const [how, stop] of [['SIGTERM', (s) => s.stop('SIGTERM')], ['kill -9', (s) => s.kill9()]]) {
        test(`stopped with ${how} before the due time: applied right after the next start`, { timeout: 60000 }, async (t) => {
            const s1 = await start();
            const key = s1.adminKey;
            const api1 = s1.api(key);
            const ids = await api1.createUsers(makeUsers(3, uniq('rs')));
            const v0 = await Promise.all(ids.map((id) => version(s1.store, id)));
            const due1 = soon(3000);
            const due2 = due1 + 4000;
            const [e1] = await schedule(api1, { user_ids: [ids[0]], state: 'SUSPENDED', start_date: iso(due1) });
            const [e2] = await schedule(api1, { user_ids: [ids[1]], state: 'SUSPENDED', start_date: iso(due2) });
            const r = await stop(s1);
            const stoppedAt = Date.now();
            if (how === 'SIGTERM') assert.equal(r.code, 0, `SIGTERM exit code ${r.code} signal ${r.signal}`);
            else assert.equal(r.signal, 'SIGKILL');
            assert.ok(stoppedAt < due1, `server stopped ${stoppedAt - due1} ms after the due time; test needs it down earlier`);
            await sleep(due1 + 700 - Date.now()); // setup: stay down past the due time
            const s2 = await start({ dir: s1.dir });
            const startedAt = Date.now();
            const api2 = s2.api(key);
            const lag = await waitApplied(api2, ids[0], 'SUSPENDED', startedAt, MAX_LAG_MS);
            t.diagnostic(`applied ${lag} ms after the restart was ready (${startedAt - due1} ms after due)`);
            const j1 = await waitFinished(api2, e1.scheduledJobId, 2000);
            assert.equal(j1.status, 'applied');
            assert.ok(Date.parse(j1.completedAt) >= stoppedAt, `completedAt ${j1.completedAt} after the stop`);
            // the next change still happens at its own time, not earlier
            assert.equal((await getJob(api2, e2.scheduledJobId)).status, 'pending');
            await waitApplied(api2, ids[1], 'SUSPENDED', due2);
            assert.equal((await waitFinished(api2, e2.scheduledJobId, 2000)).status, 'applied');
            assert.equal((await getUser(api2, ids[2])).state, 'ACTIVATED');
            if (v0[0] !== null) {
                const v1 = await Promise.all(ids.map((id) => version(s2.store, id)));
                assert.deepEqual(v1, [v0[0] + 1, v0[1] + 1, v0[2]], 'each change applied exactly once');
            }
        });
    }

    test('kill -9 while 5,000 due changes are being applied: each applied exactly once', { timeout: 120000 }, async (t) => {
        const s1 = await start();
        const key = s1.adminKey;
        const api1 = s1.api(key);
        const N = 5000;
        const ids = await api1.createUsers(makeUsers(N, uniq('kc')));
        const due = soon(1500);
        for (let i = 0; i < N; i += 1000) await schedule(api1, { user_ids: ids.slice(i, i + 1000), state: 'SUSPENDED', start_date: iso(due) });
        await sleep(Math.max(0, due - Date.now())); // setup: reach the due time
        const seen = await pollUntil('first change applied', async () => {
            const n = await api1.totalCount('&filter=state:eq:SUSPENDED');
            return n > 0 ? n : null;
        }, { timeoutMs: MAX_LAG_MS + 1000, intervalMs: 2 });
        await s1.kill9();
        t.diagnostic(`killed with ${seen} of ${N} applied (last count seen before the kill)`);
        const s2 = await start({ dir: s1.dir });
        const api2 = s2.api(key);
        // a deadline, not a speed check (bench/userstates measures that): PostgreSQL applies
        // the changes row by row, which takes several seconds on a loaded 2-core machine
        await pollUntil(`all ${N} applied after restart`, async () => (await api2.totalCount('&filter=state:eq:SUSPENDED')) === N,
            { timeoutMs: 30000, intervalMs: 20 });
        assert.deepEqual(await listPending(api2), []);
        const rows = await storeQuery(s2.store,
            `SELECT version, count(*) FROM users WHERE org_num = (SELECT num_id FROM orgs WHERE id = '${s1.orgId}') GROUP BY version`);
        const v1 = await version(s2.store, ids[0]); // created with version 1 -> 2 after one update
        assert.deepEqual(rows, [`${v1}|${N}`], `every user has the same version (one update each): ${rows}`);
        assert.equal(v1, 2, 'created at version 1, updated once');
        const st = await storeQuery(s2.store,
            `SELECT status, count(*) FROM schedules WHERE org_num = (SELECT num_id FROM orgs WHERE id = '${s1.orgId}') GROUP BY status`);
        assert.deepEqual(st, [`1|${N}`], `every schedule applied once: ${st}`);
    });
});
