// SAP Concur bulk user listing (GET /users, /users/) against a real server, with plain fetch
// as Concur integrations use it (there is no official client): response shape and field
// mapping, every parameter and filter (totals computed in JS from the seeded users), paging
// through a few thousand users (each seen exactly once), every 400 case with its body,
// Bearer auth, the company block (set with `roster org set` while serving) and tenant
// isolation. Users are created through the JumpCloud API of the same server; later writes
// through it must show in the very next Concur page (no stale total or page).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cleanup, cliOrg, cliKey, uniq } from './harness.mjs';

const N = 2600;
const LAST = ['Smith', 'Jones', 'Brown', 'Taylor', 'Wilson', 'Garcia', 'Miller'];
const COUNTRIES = ['US', 'DE', 'FR', 'IN'];
const TOP_KEYS = ['total', 'offset', 'limit', 'company', 'Items'];
const COMPANY_KEYS = ['name', 'address', 'city', 'state', 'zip', 'country'];
const ITEM_KEYS = ['ID', 'Active', 'CountryCode', 'CellPhoneNumber', 'PrimaryEmail', 'EmployeeID',
    'OrganizationUnit', 'FirstName', 'MiddleName', 'LastName', 'LoginID', 'Emails'];

let srv;
let keyA;
let orgA;
let orgB;
let keyB;
let prefix;
const seeded = []; // the JumpCloud bodies, with _id once created
const seededB = [];

function seed(i) {
    const n = String(i).padStart(5, '0');
    const u = {
        username: `${prefix}u${n}`,
        email: `${prefix}u${n}@corp.test`,
        firstname: `First${n}`,
        lastname: LAST[i % LAST.length],
        state: i % 10 === 3 ? 'SUSPENDED' : i % 25 === 7 ? 'STAGED' : 'ACTIVATED',
    };
    if (i % 9 !== 4) u.employeeIdentifier = `${prefix}E${n}`;
    if (i % 6 !== 5) u.countryCode = COUNTRIES[i % COUNTRIES.length];
    if (i % 4 === 1) u.middlename = `M${n}`;
    if (i % 5 !== 2) u.department = `Dept${i % 3}`;
    if (i % 3 === 0) u.alternateEmail = `${prefix}alt${n}@home.test`;
    if (i % 4 === 0) u.phoneNumbers = [{ type: 'work', number: `+1 555 ${n}` }, { type: 'mobile', number: `+1 666 ${n}` }];
    else if (i % 4 === 2) u.phoneNumbers = [{ type: 'home', number: `+1 777 ${n}` }];
    else if (i % 8 === 1) u.phoneNumbers = [{ type: 'Cell', number: `+1 888 ${n}` }];
    else if (i % 8 === 3) u.phoneNumbers = [{ type: 'MOBILE', number: `+1 "999" \\ ${n} \u00e9\u2603` }];
    return u;
}

/** The Concur User roster must return for a seeded JumpCloud body. */
function expectedItem(u) {
    const cell = (u.phoneNumbers || []).find((p) => /^(mobile|cell)$/i.test(p.type));
    const emails = [u.email];
    if (u.alternateEmail) emails.push(u.alternateEmail);
    return {
        ID: u._id,
        Active: u.state === 'ACTIVATED',
        CountryCode: u.countryCode ?? null,
        CellPhoneNumber: cell ? cell.number : null,
        PrimaryEmail: u.email,
        EmployeeID: u.employeeIdentifier ?? null,
        OrganizationUnit: u.department ?? null,
        FirstName: u.firstname,
        MiddleName: u.middlename ?? null,
        LastName: u.lastname,
        LoginID: u.username,
        Emails: emails,
    };
}

async function get(path, key = keyA, headers = {}) {
    const h = { accept: 'application/json', ...headers };
    if (key !== null) h.authorization = `Bearer ${key}`;
    const res = await fetch(srv.url + path, { headers: h });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
}

async function page(query, key = keyA) {
    const r = await get(`/users/${query ? `?${query}` : ''}`, key);
    assert.equal(r.status, 200, `GET /users/?${query}: ${r.status} ${r.text.slice(0, 300)}`);
    assert.deepEqual(Object.keys(r.json), TOP_KEYS, `top-level keys of ?${query}`);
    return r.json;
}

/** Reads every page of a filtered listing in order; asserts total is stable. */
async function walk(filter, limit, key = keyA) {
    const out = [];
    let total;
    for (let offset = 0; ; offset += limit) {
        const p = await page(`${filter ? `${filter}&` : ''}offset=${offset}&limit=${limit}`, key);
        if (total === undefined) total = p.total;
        assert.equal(p.total, total, `total stable across pages of ${filter}`);
        assert.equal(p.offset, offset);
        assert.equal(p.limit, limit);
        out.push(...p.Items);
        if (p.Items.length < limit) break;
    }
    assert.equal(out.length, total, `paged items == total for ${filter}`);
    return { items: out, total };
}

function assertError(r, status, param, msgRe) {
    assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json\b/i);
    assert.equal(r.json?.code, status, `error body code: ${r.text}`);
    assert.equal(typeof r.json.error, 'string');
    assert.ok(r.json.error.length > 0);
    assert.equal(typeof r.json.error_description, 'string');
    if (param !== undefined) {
        assert.equal(r.json.parameter, param, `error names the parameter: ${r.text}`);
        assert.ok(r.json.error_description.includes(param), `description names ${param}: ${r.text}`);
    }
    if (msgRe) assert.match(r.json.error_description, msgRe);
}

const byId = (a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
const expectedWhere = (pred) => seeded.filter(pred).map(expectedItem).sort(byId);

before(async () => {
    srv = await startServer({});
    keyA = srv.adminKey;
    orgA = srv.orgId;
    prefix = uniq('cc');
    const jc = srv.api(keyA);
    const bodies = Array.from({ length: N }, (_, i) => seed(i));
    const ids = await jc.createUsers(bodies, 300000);
    bodies.forEach((b, i) => seeded.push({ ...b, _id: ids[i] }));

    orgB = await cliOrg(srv.store, uniq('concur-b'));
    keyB = await cliKey(srv.store, orgB);
    const bBodies = [0, 1, 2].map((i) => ({ ...seed(i), username: `${prefix}b${i}`, email: `${prefix}b${i}@b.test` }));
    const bIds = await srv.api(keyB).createUsers(bBodies);
    bBodies.forEach((b, i) => seededB.push({ ...b, _id: bIds[i] }));
});
after(async () => {
    await cleanup(srv);
});

test('defaults: offset 0, limit 100, total of the organisation, users in id order', async () => {
    const p = await page('');
    assert.equal(p.total, N);
    assert.equal(p.offset, 0);
    assert.equal(p.limit, 100);
    assert.equal(p.Items.length, 100);
    assert.deepEqual(p.Items, expectedWhere(() => true).slice(0, 100));
    const noSlash = await get('/users');
    assert.equal(noSlash.status, 200);
    assert.deepEqual(noSlash.json, p, '/users and /users/ answer the same');
});

test('every field maps from the roster user, with exact casing and null for no value', async () => {
    const { items } = await walk('', 1000);
    const want = expectedWhere(() => true);
    assert.equal(items.length, want.length);
    for (let i = 0; i < items.length; i++) {
        assert.deepEqual(Object.keys(items[i]), ITEM_KEYS, `keys of item ${i}`);
        assert.deepEqual(items[i], want[i], `item ${i}`);
    }
    // the data set covers each case at least once
    assert.ok(items.some((u) => u.CellPhoneNumber === null) && items.some((u) => u.CellPhoneNumber?.startsWith('+1 888')));
    assert.ok(items.some((u) => u.CellPhoneNumber?.startsWith('+1 "999" \\ ') && u.CellPhoneNumber.endsWith(' \u00e9\u2603')));
    assert.ok(items.some((u) => u.Emails.length === 2) && items.some((u) => u.Active === false));
    assert.ok(items.some((u) => u.MiddleName === null) && items.some((u) => u.OrganizationUnit === null));
});

test('paging with offset and limit sees each user exactly once, in the same order', async () => {
    const all = expectedWhere(() => true).map((u) => u.ID);
    for (const limit of [1000, 333, 7]) {
        if (limit === 7) {
            // a short stretch only: 7 is slow over 2,600 users, the offsets are what matter
            const ids = [];
            for (let offset = 1200; offset < 1270; offset += 7) {
                const p = await page(`offset=${offset}&limit=7`);
                ids.push(...p.Items.map((u) => u.ID));
            }
            assert.deepEqual(ids, all.slice(1200, 1270));
            continue;
        }
        const { items } = await walk('', limit);
        const ids = items.map((u) => u.ID);
        assert.equal(new Set(ids).size, ids.length, `no user twice with limit ${limit}`);
        assert.deepEqual(ids, all, `every user once, in id order, with limit ${limit}`);
    }
    const last = await page(`offset=${N - 3}&limit=1000`);
    assert.deepEqual(last.Items.map((u) => u.ID), all.slice(N - 3));
    const past = await page(`offset=${N + 10}`);
    assert.equal(past.total, N);
    assert.deepEqual(past.Items, []);
    const huge = await page('offset=999999999999');
    assert.deepEqual(huge.Items, []);
    const none = await page('limit=0');
    assert.equal(none.total, N);
    assert.deepEqual(none.Items, []);
});

test('each filter matches exactly, and total is right under each', async () => {
    const cases = [
        ['isactive=true', (u) => u.state === 'ACTIVATED'],
        ['isactive=false', (u) => u.state !== 'ACTIVATED'],
        ['isactive=TRUE', (u) => u.state === 'ACTIVATED'],
        ['lastname=Garcia', (u) => u.lastname === 'Garcia'],
        ['lastname=garcia', () => false], // exact: case matters
        ['lastname=Garc', () => false], // exact: no partial match
        ['countrycode=DE', (u) => u.countryCode === 'DE'],
        [`loginid=${seeded[17].username}`, (u) => u.username === seeded[17].username],
        [`loginid=${seeded[17].username.toUpperCase()}`, () => false],
        [`employeeid=${seeded[33].employeeIdentifier}`, (u) => u.employeeIdentifier === seeded[33].employeeIdentifier],
        [`primaryemail=${encodeURIComponent(seeded[41].email)}`, (u) => u.email === seeded[41].email],
        [`primaryemail=${encodeURIComponent(seeded[42].alternateEmail ?? 'none@x.test')}`, () => false],
        [`id=${seeded[55]._id}`, (u) => u._id === seeded[55]._id],
        [`id=${seeded[55]._id.toUpperCase()}`, (u) => u._id === seeded[55]._id],
        ['id=not-an-id', () => false],
        ['lastname=Smith&isactive=true', (u) => u.lastname === 'Smith' && u.state === 'ACTIVATED'],
        ['lastname=Smith&countrycode=US&isactive=false',
            (u) => u.lastname === 'Smith' && u.countryCode === 'US' && u.state !== 'ACTIVATED'],
        [`lastname=Jones&loginid=${seeded[1].username}`, (u) => u.lastname === 'Jones' && u.username === seeded[1].username],
        [`lastname=Smith&loginid=${seeded[1].username}`, () => false],
    ];
    for (const [q, pred] of cases) {
        const want = expectedWhere(pred);
        const p = await page(`${q}&limit=1000`);
        assert.equal(p.total, want.length, `total of ${q}`);
        assert.deepEqual(p.Items, want.slice(0, 1000), `items of ${q}`);
    }
    // a filtered walk with a small page: offsets count matching users only
    const want = expectedWhere((u) => u.lastname === 'Brown' && u.state === 'ACTIVATED');
    const { items, total } = await walk('lastname=Brown&isactive=true', 50);
    assert.equal(total, want.length);
    assert.deepEqual(items, want);
});

test('400 for unknown, wrongly-cased or repeated parameters and bad values, naming the parameter', async () => {
    const cases = [
        ['Limit=10', 'Limit', /case-sensitive.*"limit"/],
        ['OFFSET=1', 'OFFSET', /case-sensitive/],
        ['LastName=Smith', 'LastName', /case-sensitive.*"lastname"/],
        ['isActive=true', 'isActive', /case-sensitive/],
        ['foo=1', 'foo', /not one of offset, limit/],
        ['uuid=x', 'uuid', /not one of/],
        ['offset=abc', 'offset', /non-negative integer/],
        ['offset=-1', 'offset', /non-negative integer/],
        ['offset=1.5', 'offset', /non-negative integer/],
        ['offset=', 'offset', /non-negative integer/],
        ['offset=%201', 'offset', /non-negative integer/],
        ['offset=99999999999999999999', 'offset', /non-negative integer/],
        ['limit=abc', 'limit', /from 0 to 1000/],
        ['limit=-5', 'limit', /from 0 to 1000/],
        ['limit=1001', 'limit', /from 0 to 1000/],
        ['limit=10e2', 'limit', /from 0 to 1000/],
        ['isactive=yes', 'isactive', /true or false/],
        ['isactive=1', 'isactive', /true or false/],
        ['isactive=', 'isactive', /true or false/],
        ['limit=5&limit=6', 'limit', /more than once/],
        ['lastname=a&lastname=b', 'lastname', /more than once/],
        ['lastname=', 'lastname', /must not be empty/],
        ['countrycode', 'countrycode', /must not be empty/],
    ];
    for (const [q, param, re] of cases) {
        for (const path of ['/users/', '/users']) {
            const r = await get(`${path}?${q}`);
            assertError(r, 400, param, re);
            assert.equal(r.json.error, 'invalid_query_params', q);
        }
    }
});

test('Authorization: Bearer <api key>; missing or bad -> 401', async () => {
    const cases = [
        [null, {}],
        ['0000000000000000000000000000000000000000', {}],
        [null, { authorization: `Basic ${keyA}` }],
        [null, { authorization: 'Bearer ' }],
        [null, { 'x-api-key': keyA }], // the JumpCloud header is not Concur's
    ];
    for (const [key, headers] of cases) {
        const r = await get('/users/?limit=1', key, headers);
        assertError(r, 401);
        assert.equal(r.json.error, 'unauthorized');
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    const lower = await get('/users/?limit=1', null, { authorization: `bearer ${keyA}` });
    assert.equal(lower.status, 200, 'the scheme name is case-insensitive');
});

test('other methods and paths answer in the Concur error shape', async () => {
    const post = await fetch(`${srv.url}/users/`, { method: 'POST', headers: { authorization: `Bearer ${keyA}` } });
    const pj = await post.json();
    assert.equal(post.status, 405);
    assert.equal(pj.code, 405);
    assert.equal(pj.error, 'method_not_allowed');
    const nf = await get('/users/abc');
    assertError(nf, 404);
    assert.equal(nf.json.error, 'not_found');
});

test('the company block comes from the organisation and follows roster org set at once', async () => {
    let p = await page('limit=1');
    assert.deepEqual(Object.keys(p.company), COMPANY_KEYS);
    const set = await srv.cli('org', 'set', orgA, '--name', 'Company Name LLC', '--address', '601 108th ave NE',
        '--city', 'Bellevue', '--state', 'WA', '--zip', '98004', '--country', 'US');
    assert.equal(set.code, 0, set.stderr);
    p = await page('limit=1');
    assert.deepEqual(p.company, {
        name: 'Company Name LLC', address: '601 108th ave NE', city: 'Bellevue', state: 'WA', zip: '98004', country: 'US',
    });
    const clear = await srv.cli('org', 'set', orgA, '--state', '', '--zip', '');
    assert.equal(clear.code, 0, clear.stderr);
    p = await page('limit=1');
    assert.equal(p.company.state, null);
    assert.equal(p.company.zip, null);
    assert.equal(p.company.city, 'Bellevue', 'fields not given are kept');
    const bad = await srv.cli('org', 'set', '0123456789abcdef01234567', '--city', 'X');
    assert.notEqual(bad.code, 0);
    const none = await srv.cli('org', 'set', orgA);
    assert.equal(none.code, 2, 'org set needs at least one field');
    // org B has its own (empty) company block
    const pb = await page('limit=1', keyB);
    assert.deepEqual(pb.company, { name: pb.company.name, address: null, city: null, state: null, zip: null, country: null });
    assert.notEqual(pb.company.name, 'Company Name LLC');
});

test("tenant isolation: a key sees only its organisation's users", async () => {
    const b = await page('limit=1000', keyB);
    assert.equal(b.total, seededB.length);
    assert.deepEqual(b.Items.map((u) => u.ID), seededB.map((u) => u._id).sort());
    for (const q of [`id=${seeded[0]._id}`, `loginid=${seeded[0].username}`, `primaryemail=${encodeURIComponent(seeded[0].email)}`]) {
        const x = await page(q, keyB);
        assert.equal(x.total, 0, `org B must not see A's user through ${q}`);
        assert.deepEqual(x.Items, []);
    }
    const a = await page(`id=${seededB[0]._id}`);
    assert.equal(a.total, 0, "org A must not see B's user");
    const all = await page('limit=0');
    assert.equal(all.total, N, 'B users are not counted in A');
});

test('writes show in the very next page and total (nothing stale)', async () => {
    const jc = srv.api(keyA);
    const before = await page('isactive=true&limit=0');
    const beforeAll = await page('limit=0');
    const target = seeded.find((u) => u.state === 'ACTIVATED' && u.lastname === 'Wilson');
    const beforeWilson = await page('lastname=Wilson&limit=1000');
    assert.ok(beforeWilson.Items.some((u) => u.ID === target._id));

    // suspend one user through JumpCloud: one fewer active, one more inactive
    let r = await jc.put(`/api/systemusers/${target._id}`, { state: 'SUSPENDED' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await page('isactive=true&limit=0')).total, before.total - 1);
    const w = await page('lastname=Wilson&limit=1000');
    assert.equal(w.Items.find((u) => u.ID === target._id).Active, false, 'the page shows the new state');

    // rename: the old last name no longer matches, the new one does
    r = await jc.put(`/api/systemusers/${target._id}`, { lastname: 'Zebra', state: 'ACTIVATED' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await page('lastname=Wilson&limit=0')).total, beforeWilson.total - 1);
    const z = await page('lastname=Zebra');
    assert.deepEqual(z.Items.map((u) => u.ID), [target._id]);
    assert.equal((await page('isactive=true&limit=0')).total, before.total);

    // create and delete
    const created = await jc.post('/api/systemusers', { username: `${prefix}new`, email: `${prefix}new@corp.test`, lastname: 'Zebra' });
    assert.equal(created.status, 200, created.text);
    assert.equal((await page('limit=0')).total, beforeAll.total + 1);
    assert.equal((await page('lastname=Zebra&limit=0')).total, 2);
    const lastPage = await page(`offset=${beforeAll.total}&limit=10`);
    assert.deepEqual(lastPage.Items.map((u) => u.ID), [created.json._id], 'the newest id is last');
    r = await jc.del(`/api/systemusers/${created.json._id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal((await page('limit=0')).total, beforeAll.total);
    assert.deepEqual((await page(`offset=${beforeAll.total}&limit=10`)).Items, []);
    assert.equal((await page('lastname=Zebra&limit=0')).total, 1);

    // a bulk job: every user it creates is counted as soon as the job is done
    const more = Array.from({ length: 30 }, (_, i) => ({ username: `${prefix}bulk${i}`, email: `${prefix}bulk${i}@corp.test`, lastname: 'Zebra' }));
    await jc.createUsers(more);
    assert.equal((await page('lastname=Zebra&limit=0')).total, 31);
    assert.equal((await page('limit=0')).total, beforeAll.total + 30);
});

test('the company block through the admin API: PATCH /admin/orgs/{id}, own organisation only', async () => {
    const call = async (method, path, body, key = keyA) => {
        const res = await fetch(srv.url + path, {
            method,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
    };
    let r = await call('PATCH', `/admin/orgs/${orgA}`, { name: 'Acme Travel', address: '1 Main St', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, orgA);
    assert.equal(r.json.city, 'Springfield');
    let p = await page('limit=1');
    assert.deepEqual(p.company, { name: 'Acme Travel', address: '1 Main St', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' });
    r = await call('PATCH', `/admin/orgs/${orgA}`, { zip: null, city: 'Chicago' });
    assert.equal(r.status, 200, r.text);
    p = await page('limit=1');
    assert.deepEqual(p.company, { name: 'Acme Travel', address: '1 Main St', city: 'Chicago', state: 'IL', zip: null, country: 'US' });
    r = await call('GET', `/admin/orgs/${orgA}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.city, 'Chicago');
    assert.equal(r.json.zip, null);

    for (const [body, re] of [[{ zip: 5 }, /zip must be a string/], [{ street: 'x' }, /unknown field "street"/], ['[1]', /JSON object/], ['{', /invalid JSON/]]) {
        r = await call('PATCH', `/admin/orgs/${orgA}`, body);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.code, 400);
        assert.match(r.json.message, re);
    }
    // another organisation's key: 404, as if it did not exist, and nothing changes
    r = await call('PATCH', `/admin/orgs/${orgA}`, { name: 'Hijacked' }, keyB);
    assert.equal(r.status, 404, r.text);
    assert.equal((await call('GET', `/admin/orgs/${orgA}`, undefined, keyB)).status, 404);
    assert.equal((await call('GET', '/admin/orgs/0123456789abcdef01234567')).status, 404);
    assert.equal((await page('limit=1')).company.name, 'Acme Travel');
    r = await call('PATCH', `/admin/orgs/${orgB}`, { name: 'B Corp' }, keyB);
    assert.equal(r.status, 200, r.text);
    assert.equal((await page('limit=1', keyB)).company.name, 'B Corp');
    const noKey = await fetch(`${srv.url}/admin/orgs/${orgA}`);
    assert.equal(noKey.status, 401);
});
