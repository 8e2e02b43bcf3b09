// Helpers for the SCIM 2.0 API tests (not a test file itself: no .test. in the name).
// A ScimClient sends requests as an IdP does: `Authorization: Bearer <api key>`,
// `application/scim+json` bodies, paths under /scim/v2 of a server started by harness.mjs
// (plain http, or https trusting the test certificate when the server runs with TLS).
// assertScimError checks the RFC 7644 §3.12 Error response.

import assert from 'node:assert/strict';
import { httpsRequest } from './harness.mjs';

export const SCIM = {
    USER: 'urn:ietf:params:scim:schemas:core:2.0:User',
    GROUP: 'urn:ietf:params:scim:schemas:core:2.0:Group',
    ENTERPRISE: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    LIST: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
    ERROR: 'urn:ietf:params:scim:api:messages:2.0:Error',
    PATCH: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
    BULK_REQ: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
    BULK_RESP: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
    SEARCH: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
};

export const SCIM_CT = 'application/scim+json';

/** A SCIM client of one server and one bearer token. base: the SCIM base path. */
export class ScimClient {
    constructor(srv, token, base = '/scim/v2') {
        this.srv = srv;
        this.token = token;
        this.base = base;
    }

    /**
     * req(method, path, {body, raw, contentType, accept, headers, auth})
     * path is relative to the base (starts with '/'); body is JSON-encoded, raw sent as is;
     * auth: the whole Authorization header value (null: none), default `Bearer <token>`.
     * Returns {status, headers (a Headers), text, json}.
     */
    async req(method, p, o = {}) {
        const headers = { accept: o.accept ?? SCIM_CT };
        const auth = 'auth' in o ? o.auth : `Bearer ${this.token}`;
        if (auth != null) headers.authorization = auth;
        let body;
        if (o.raw !== undefined) {
            body = o.raw;
            headers['content-type'] = o.contentType ?? SCIM_CT;
        } else if (o.body !== undefined) {
            body = JSON.stringify(o.body);
            headers['content-type'] = o.contentType ?? SCIM_CT;
        }
        Object.assign(headers, o.headers || {});
        const url = this.srv.url + this.base + p;
        let status;
        let h;
        let text;
        try {
            if (this.srv.ca) {
                const r = await httpsRequest(url, { method, headers, body, ca: this.srv.ca });
                ({ status, text } = r);
                h = r.headers;
            } else {
                const res = await fetch(url, { method, headers, body });
                status = res.status;
                h = res.headers;
                text = await res.text();
            }
        } catch (e) {
            const s = this.srv;
            throw new Error(`${method} ${p}: ${e.message} (${e.cause?.code || ''})`
                + `${s.exited ? `; server EXITED code ${s.exitCode} signal ${s.exitSignal}` : ''}\n${s.stderr().slice(-3000)}`);
        }
        let json;
        try {
            json = text.length ? JSON.parse(text) : undefined;
        } catch {
            json = undefined;
        }
        return { status, headers: h, text, json };
    }

    get(p, o) { return this.req('GET', p, o); }
    post(p, body, o = {}) { return this.req('POST', p, { ...o, body }); }
    put(p, body, o = {}) { return this.req('PUT', p, { ...o, body }); }
    patch(p, body, o = {}) { return this.req('PATCH', p, { ...o, body }); }
    del(p, o) { return this.req('DELETE', p, o); }

    /** PATCH with a PatchOp body made of these operations. */
    patchOps(p, ops, o = {}) {
        return this.patch(p, { schemas: [SCIM.PATCH], Operations: ops }, o);
    }

    /** POST /Users; asserts 201 and returns the created resource. */
    async createUser(user) {
        const r = await this.post('/Users', { schemas: [SCIM.USER], ...user });
        assert.equal(r.status, 201, `POST /Users ${JSON.stringify(user)}: ${r.status} ${r.text}`);
        return r.json;
    }

    /** POST /Groups; asserts 201 and returns the created resource. */
    async createGroup(group) {
        const r = await this.post('/Groups', { schemas: [SCIM.GROUP], ...group });
        assert.equal(r.status, 201, `POST /Groups ${JSON.stringify(group)}: ${r.status} ${r.text}`);
        return r.json;
    }
}

/** The filter query string part for a SCIM filter (encoded). */
export function filterQ(f) {
    return `filter=${encodeURIComponent(f)}`;
}

/** Asserts the response's Content-Type is application/scim+json (parameters allowed). */
export function assertScimType(r) {
    assert.match(r.headers.get('content-type') || '', /^application\/scim\+json\s*(;|$)/i,
        `content-type ${r.headers.get('content-type')} for ${r.status} ${r.text.slice(0, 200)}`);
}

/**
 * Asserts an RFC 7644 §3.12 Error response: the status, application/scim+json, schemas
 * exactly [Error], "status" the status as a string, scimType (when given: the exact value;
 * null: absent), a non-empty detail, matching detailRe when given.
 */
export function assertScimError(r, status, scimType, detailRe) {
    assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 400)}`);
    assertScimType(r);
    assert.ok(r.json && typeof r.json === 'object', `error body is JSON: ${r.text.slice(0, 300)}`);
    assert.deepEqual(r.json.schemas, [SCIM.ERROR], `error schemas: ${r.text}`);
    assert.equal(r.json.status, String(status), `error status must be the string "${status}": ${r.text}`);
    if (scimType === null) assert.equal(r.json.scimType, undefined, `no scimType expected: ${r.text}`);
    else if (scimType !== undefined) assert.equal(r.json.scimType, scimType, `scimType: ${r.text}`);
    assert.equal(typeof r.json.detail, 'string', `error detail: ${r.text}`);
    assert.ok(r.json.detail.length > 0, 'error detail not empty');
    if (detailRe) assert.match(r.json.detail, detailRe, `error detail: ${r.json.detail}`);
}

/** Asserts a ListResponse with these totals and returns its Resources (maybe absent when empty: []). */
export function assertList(r, { total, items } = {}) {
    assert.equal(r.status, 200, `list: ${r.status} ${r.text.slice(0, 400)}`);
    assertScimType(r);
    assert.deepEqual(r.json.schemas, [SCIM.LIST], `list schemas: ${r.text.slice(0, 300)}`);
    assert.equal(typeof r.json.totalResults, 'number', `totalResults: ${r.text.slice(0, 300)}`);
    const res = r.json.Resources ?? [];
    assert.ok(Array.isArray(res), 'Resources is an array');
    assert.equal(r.json.itemsPerPage, res.length, 'itemsPerPage = items returned');
    if (total !== undefined) assert.equal(r.json.totalResults, total, `totalResults: ${r.text.slice(0, 300)}`);
    if (items !== undefined) assert.equal(res.length, items, `items returned: ${r.text.slice(0, 300)}`);
    return res;
}
