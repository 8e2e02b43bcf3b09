// v1 GET /api/systemusers listing against a real server: every filter operator (and the
// eq-prefix wildcard), repeated and comma-joined filters, sort (asc, desc, multi-key),
// fields projection, skip/limit paging (every user exactly once) and the search parameter.
// Expected answers are computed in JS from the seeded data set, never hard-coded.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, cliOrg, listAll, uniq } from './harness.mjs';

let srv;
let api;
const users = [];
const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank'];
const LAST = ['Smith', 'Jones', 'Brown', 'Taylor', 'Wilson'];
const DEPT = ['Sales', 'Eng', 'Ops'];

function seed(i) {
    const n = String(i).padStart(3, '0');
    let state = 'ACTIVATED';
    if (i % 7 === 0) state = 'SUSPENDED';
    else if (i % 11 === 0) state = 'STAGED';
    return {
        username: `user${n}`,
        email: `user${n}@${i % 4 === 0 ? 'alpha' : 'beta'}.test`,
        firstname: FIRST[i % FIRST.length],
        lastname: LAST[i % LAST.length],
        employeeIdentifier: `EMP${n}`,
        department: DEPT[i % DEPT.length],
        state,
    };
}

before(async () => {
    srv = await startServer({});
    const org = await cliOrg(srv.store, uniq('list'));
    api = srv.api(srv.adminKey, org);
    // two jobs, the second after the first finished, so `created` differs between them
    const a = Array.from({ length: 40 }, (_, i) => seed(i));
    const b = Array.from({ length: 23 }, (_, i) => seed(40 + i));
    for (const part of [a, b]) {
        const job = await api.bulkCreate(part);
        const rs = await api.finishedResults(job, part.length);
        rs.forEach((r, i) => {
            assert.equal(r.status, 'succeeded', JSON.stringify(r));
            users.push({ ...part[i], _id: r.persistedFields._id });
        });
    }
});
after(async () => {
    await cleanup(srv);
});

function qs(params) {
    const sp = new URLSearchParams();
    for (const [k, v] of params) sp.append(k, v);
    return `?${sp.toString()}`;
}

async function list(params) {
    const r = await api.get(`/api/systemusers${qs(params)}`);
    assert.equal(r.status, 200, `${qs(params)}: ${r.text}`);
    assert.equal(typeof r.json.totalCount, 'number');
    assert.ok(Array.isArray(r.json.results));
    return r.json;
}

const names = (rows) => rows.map((u) => u.username);
const sorted = (a) => [...a].sort();

/** Runs a filter (all rows, limit 100) and compares the username set with pred over the seed. */
async function checkFilter(filters, pred, opts = {}) {
    const params = [['limit', '100'], ...filters.map((f) => ['filter', f])];
    const got = await list(params);
    const want = users.filter(pred).map((u) => u.username);
    if (!opts.empty) assert.ok(want.length > 0, `test data should match something for ${filters}`);
    assert.deepEqual(sorted(names(got.results)), sorted(want), `filter ${filters.join(' & ')}`);
    assert.equal(got.totalCount, want.length, `totalCount for ${filters.join(' & ')}`);
}

describe('v1 list filters', () => {
    test('eq and ne', async () => {
        await checkFilter(['firstname:eq:Alice'], (u) => u.firstname === 'Alice');
        await checkFilter(['firstname:ne:Alice'], (u) => u.firstname !== 'Alice');
        await checkFilter(['email:eq:user003@beta.test'], (u) => u.email === 'user003@beta.test');
        await checkFilter(['employeeIdentifier:eq:EMP042'], (u) => u.employeeIdentifier === 'EMP042');
        await checkFilter(['department:eq:Eng'], (u) => u.department === 'Eng');
        await checkFilter(['username:eq:nosuchuser'], () => false, { empty: true });
    });

    test('eq is case-sensitive', async () => {
        await checkFilter(['firstname:eq:alice'], (u) => u.firstname === 'alice', { empty: true });
    });

    test('gt ge lt le', async () => {
        await checkFilter(['username:gt:user030'], (u) => u.username > 'user030');
        await checkFilter(['username:ge:user030'], (u) => u.username >= 'user030');
        await checkFilter(['username:lt:user030'], (u) => u.username < 'user030');
        await checkFilter(['username:le:user030'], (u) => u.username <= 'user030');
        await checkFilter(['lastname:lt:Smith'], (u) => u.lastname < 'Smith');
    });

    test('between (inclusive)', async () => {
        await checkFilter(['username:between:user010|user019'], (u) => u.username >= 'user010' && u.username <= 'user019');
    });

    test('in', async () => {
        await checkFilter(['username:in:user001|user005|nosuch'], (u) => ['user001', 'user005'].includes(u.username));
        await checkFilter(['state:in:STAGED|SUSPENDED'], (u) => u.state !== 'ACTIVATED');
    });

    test('search (case-insensitive substring)', async () => {
        await checkFilter(['lastname:search:ON'], (u) => u.lastname.toLowerCase().includes('on'));
        await checkFilter(['email:search:alpha'], (u) => u.email.includes('alpha'));
    });

    test('eq with trailing * is a prefix match', async () => {
        await checkFilter(['username:eq:user01*'], (u) => u.username.startsWith('user01'));
        await checkFilter(['firstname:eq:Ca*'], (u) => u.firstname.startsWith('Ca'));
    });

    test('state filters', async () => {
        await checkFilter(['state:eq:SUSPENDED'], (u) => u.state === 'SUSPENDED');
        await checkFilter(['state:eq:STAGED'], (u) => u.state === 'STAGED');
        await checkFilter(['state:ne:ACTIVATED'], (u) => u.state !== 'ACTIVATED');
    });

    test('repeated filter params AND; comma-joined the same', async () => {
        const pred = (u) => u.state === 'ACTIVATED' && u.username >= 'user030' && u.firstname !== 'Bob';
        await checkFilter(['state:eq:ACTIVATED', 'username:ge:user030', 'firstname:ne:Bob'], pred);
        await checkFilter(['state:eq:ACTIVATED,username:ge:user030,firstname:ne:Bob'], pred);
    });
});

describe('v1 list sort, fields, paging, search', () => {
    test('sort username / -username', async () => {
        const asc = await list([['limit', '100'], ['sort', 'username']]);
        assert.deepEqual(names(asc.results), sorted(users.map((u) => u.username)));
        const desc = await list([['limit', '100'], ['sort', '-username']]);
        assert.deepEqual(names(desc.results), sorted(users.map((u) => u.username)).reverse());
    });

    test('sort "lastname -username" (multi-key)', async () => {
        const got = await list([['limit', '100'], ['sort', 'lastname -username']]);
        const want = [...users].sort((a, b) => (a.lastname < b.lastname ? -1 : a.lastname > b.lastname ? 1
            : a.username < b.username ? 1 : a.username > b.username ? -1 : 0));
        assert.deepEqual(names(got.results), names(want));
    });

    test('sort "-created username"', async () => {
        const got = await list([['limit', '100'], ['sort', '-created username']]);
        assert.equal(got.results.length, users.length);
        for (let i = 1; i < got.results.length; i++) {
            const p = got.results[i - 1];
            const c = got.results[i];
            const tp = Date.parse(p.created);
            const tc = Date.parse(c.created);
            assert.ok(tp >= tc, `created descending at ${i}: ${p.created} then ${c.created}`);
            if (tp === tc) assert.ok(p.username < c.username, `username ascending within equal created at ${i}`);
        }
        // the second job's users were created after the first job's
        const firstJob = new Set(users.slice(0, 40).map((u) => u.username));
        const pos = got.results.findIndex((u) => firstJob.has(u.username));
        assert.ok(got.results.slice(pos).every((u) => firstJob.has(u.username)), 'newer job first');
    });

    test('fields "username email" -> only those plus _id', async () => {
        const got = await list([['limit', '5'], ['fields', 'username email'], ['sort', 'username']]);
        assert.equal(got.results.length, 5);
        for (const u of got.results) {
            assert.deepEqual(Object.keys(u).sort(), ['_id', 'email', 'username']);
        }
        assert.deepEqual(names(got.results), sorted(users.map((u) => u.username)).slice(0, 5));
        const one = users.find((u) => u.username === got.results[0].username);
        assert.equal(got.results[0]._id, one._id);
        assert.equal(got.results[0].email, one.email);
        const f2 = await list([['limit', '3'], ['fields', 'firstname'], ['filter', 'state:eq:STAGED']]);
        for (const u of f2.results) assert.deepEqual(Object.keys(u).sort(), ['_id', 'firstname']);
    });

    test('default limit 10 and default fields', async () => {
        const got = await list([]);
        assert.equal(got.results.length, 10);
        assert.equal(got.totalCount, users.length);
        for (const k of ['_id', 'username', 'email', 'firstname', 'lastname', 'state', 'attributes', 'phoneNumbers', 'created', 'activated', 'suspended']) {
            assert.ok(k in got.results[0], `default field ${k}`);
        }
    });

    for (const sort of [null, 'username', '-username', '-created username']) {
        test(`skip/limit paging sees every user exactly once (sort ${sort})`, async () => {
            const seen = [];
            let skip = 0;
            for (;;) {
                const params = [['limit', '7'], ['skip', String(skip)]];
                if (sort) params.push(['sort', sort]);
                const page = await list(params);
                assert.equal(page.totalCount, users.length);
                seen.push(...page.results.map((u) => u._id));
                if (page.results.length < 7) break;
                skip += 7;
            }
            assert.equal(seen.length, users.length);
            assert.deepEqual(sorted(seen), sorted(users.map((u) => u._id)));
            const beyond = await list([['limit', '7'], ['skip', String(users.length + 5)]]);
            assert.deepEqual(beyond.results, []);
            assert.equal(beyond.totalCount, users.length);
        });
    }

    test('paging a filtered list', async () => {
        const want = users.filter((u) => u.state === 'ACTIVATED').map((u) => u._id);
        const all = await listAll(api, `&filter=state:eq:ACTIVATED&sort=-username`, 6);
        assert.deepEqual(sorted(all.map((u) => u._id)), sorted(want));
    });

    test('search parameter matches username, email, first and last name (case-insensitive)', async () => {
        for (const term of ['ALICE', 'user00', 'alpha', 'wil']) {
            const got = await list([['limit', '100'], ['search', term]]);
            const t = term.toLowerCase();
            const want = users.filter((u) => [u.username, u.email, u.firstname, u.lastname].some((v) => v.toLowerCase().includes(t)));
            assert.ok(want.length > 0);
            assert.deepEqual(sorted(names(got.results)), sorted(names(want)), `search ${term}`);
            assert.equal(got.totalCount, want.length);
        }
        const both = await list([['limit', '100'], ['search', 'alice'], ['filter', 'state:eq:ACTIVATED']]);
        assert.deepEqual(sorted(names(both.results)),
            sorted(names(users.filter((u) => u.firstname === 'Alice' && u.state === 'ACTIVATED'))));
    });
});
