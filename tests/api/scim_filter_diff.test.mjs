// The SCIM filter parser (src/dialect/scim/filter.c) against the npm package
// scim2-parse-filter (0.2.10): thousands of generated filters (random grammar trees of RFC 7644
// section 3.4.2.2, their mutations, and garbage) go through build/scim_filter_dump (the C
// parser's tree as scim2-parse-filter's parse() shapes it) and through parse(); both must
// accept and reject the same filters and build the same trees.
//
// Where the package deviates from the RFC roster follows the RFC; docs/scim.md ("Filter")
// lists each deviation, and excuse() below excuses exactly those, by name, counted and
// printed. Everything else that differs fails the test. Seed: SCIM_DIFF_SEED (default fixed).
// No server: the dump binary is beside $ROSTER_BIN (build/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BIN } from './harness.mjs';

const require = createRequire(import.meta.url);
const { parse } = require('scim2-parse-filter');
const { tokenizer } = require('scim2-parse-filter/lib/src/parser.js');

const DUMP = path.join(path.dirname(BIN), 'scim_filter_dump');

let seed = Number(process.env.SCIM_DIFF_SEED || 20261206);
function rnd() {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;

// --- the generator of valid filters (RFC grammar) ---

const ATTRS = [
  'userName', 'displayName', 'title', 'active', 'emails', 'emails.value', 'name.givenName',
  'name.familyName', 'meta.lastModified', 'meta.created', 'externalId', 'id', 'x-y_z9',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
  'and', 'or', 'pr', 'eq',
];
const SUBS = ['type', 'value', 'primary', 'display', 'x1'];
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const STR_CHARS = ['a', 'B', ' ', '@', '.', '-', 'é', '日', '😀', "'", '\\"', '(', ')', '[', ']',
  'and', 'or', 'not', 'eq', '0', ':', '/', '%', '*'];

const casing = (w) => (chance(0.7) ? w : [...w].map((c) => (chance(0.5) ? c.toUpperCase() : c)).join(''));
const ws = () => (chance(0.85) ? ' ' : pick(['  ', '\t', ' \n ', '\r\n']));

function genValue() {
  const r = rnd();
  if (r < 0.6) {
    let s = '';
    const n = Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) s += pick(STR_CHARS);
    return `"${s}"`;
  }
  if (r < 0.8) {
    const neg = chance(0.05) ? '-' : '';
    const int = chance(0.2) ? '0' : String(1 + Math.floor(rnd() * 100000));
    const frac = chance(0.3) ? '.' + Math.floor(rnd() * 1000) : '';
    const exp = chance(0.15) ? pick(['e', 'E']) + pick(['', '', '+', '-']) + Math.floor(rnd() * 20) : '';
    return neg + int + frac + exp;
  }
  return pick(['true', 'false', 'null']);
}

function genAttrExp(attrs) {
  const a = pick(attrs);
  if (chance(0.15)) return `${a}${ws()}${casing('pr')}`;
  return `${a}${ws()}${casing(pick(OPS))}${ws()}${genValue()}`;
}

function genFilter(depth, inVal) {
  const r = rnd();
  if (depth > 4 || r < 0.35) {
    if (!inVal && chance(0.15)) {
      // a value path, sometimes with a sub-attribute (Entra)
      const base = pick(['emails', 'members', 'addresses', 'x', 'urn:ietf:params:scim:schemas:core:2.0:User:emails']);
      let s = `${base}[${chance(0.2) ? ' ' : ''}${genFilter(depth + 1, true)}${chance(0.2) ? ' ' : ''}]`;
      if (chance(0.3)) s += `.${pick(SUBS)}${ws()}${chance(0.2) ? casing('pr') : `${casing(pick(OPS))}${ws()}${genValue()}`}`;
      return s;
    }
    return genAttrExp(inVal ? SUBS : ATTRS);
  }
  if (r < 0.5) return `(${genFilter(depth + 1, inVal)})`;
  if (r < 0.6) return `${casing('not')}${chance(0.5) ? ' ' : ''}(${genFilter(depth + 1, inVal)})`;
  const n = 2 + Math.floor(rnd() * 3);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(genFilter(depth + 1, inVal));
  // mixed and/or chains: precedence decides the tree
  return parts.reduce((acc, p) => `${acc}${ws()}${casing(pick(['and', 'or']))}${ws()}${p}`);
}

// --- mutations and garbage ---

const MUT = ['(', ')', '[', ']', '"', ' ', '\\', '.', '-', ':', 'a', 'A', '0', '9', ' eq ', ' and ',
  ' or ', 'not', ' pr', '].', 'e', 'true', 'null', '\u00a0', '\u000b', '!', '{', ',', '_', '%', '/'];

// Edits by code point (a UTF-16 slice could leave half a surrogate pair, which no UTF-8 holds).
function mutate(text) {
  let s = [...text];
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rnd() * (s.length + 1));
    const r = rnd();
    if (r < 0.35) s = [...s.slice(0, i), ...s.slice(i + 1)];
    else if (r < 0.75) s = [...s.slice(0, i), pick(MUT), ...s.slice(i)];
    else if (r < 0.9) s = s.slice(0, i);
    else {
      const j = Math.floor(rnd() * (s.length + 1));
      const lo = Math.min(i, j);
      const hi = Math.max(i, j);
      s = [...s.slice(0, lo), ...s.slice(hi), ...s.slice(lo, hi)];
    }
  }
  return s.join('');
}

function garbage() {
  let s = '';
  const n = Math.floor(rnd() * 12);
  for (let i = 0; i < n; i++) s += pick([...MUT, 'userName', 'emails', '"x"', '1', '-1', ' ']);
  return s;
}

// --- the excused deviations of scim2-parse-filter from the RFC (docs/scim.md) ---

const RFC_PATH = /^(?:[A-Za-z][A-Za-z0-9._:-]*:)?[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)?$/;
const RFC_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function tokens(s) {
  try {
    return tokenizer(s);
  } catch {
    return null;
  }
}

// Outside quoted strings (the package's string token).
function outsideStrings(s) {
  return s.replace(/"(?:[^"\\]|\\.|\n)*"/g, '""');
}

function treeFacts(t, facts, inVal) {
  if (!t || typeof t !== 'object') return;
  if (t.op === '[]') {
    if (inVal) facts.nested = true;
    if (!RFC_PATH.test(t.attrPath) || t.attrPath.slice(t.attrPath.lastIndexOf(':') + 1).includes('.')) facts.badPath = true;
    treeFacts(t.valFilter, facts, true);
    return;
  }
  if (t.op === 'not') {
    if (t.filters) facts.infixNot = true;
    if (t.filter) treeFacts(t.filter, facts, inVal);
    (t.filters || []).forEach((f) => treeFacts(f, facts, inVal));
    return;
  }
  if (t.filters) {
    t.filters.forEach((f) => treeFacts(f, facts, inVal));
    return;
  }
  if (typeof t.attrPath === 'string' && !RFC_PATH.test(t.attrPath)) facts.badPath = true;
}

// The name of the package deviation that explains the difference, or null.
function excuse(input, c, js) {
  const toks = tokens(input);
  const quoted = toks ? toks.filter((t) => t.type === 'Quoted').map((t) => t.literal) : [];
  // the package does not decode JSON escapes other than \" (it doubles every other backslash)
  if (/\\[^"]/.test(input) && (quoted.some((q) => /\\\\[^"]|\\\\$/.test(q)) || !toks || c.error)) return 'escapes';
  const out = outsideStrings(input);
  if (c.error === undefined && js.error !== undefined) {
    // the package cannot tokenize a negative number, or one with an exponent of a "+" sign,
    // that a space or ")" follows
    if (/-\d|\d[eE]\+/.test(out) && /^unexpected token/.test(js.error)) return 'signed number';
    // true/false/null are case-insensitive in the ABNF; the package JSON.parses them
    if (toks && toks.some((t) => t.type === 'Word' && /^(true|false|null)$/i.test(t.literal) && !/^(true|false|null)$/.test(t.literal))) return 'literal case';
    return null;
  }
  if (c.error !== undefined && js.error === undefined) {
    const facts = {};
    treeFacts(js, facts, false);
    if (facts.nested) return 'nested value path';
    if (facts.infixNot) return 'infix not';
    if (facts.badPath) return 'attribute path';
    if (toks) {
      for (let i = 0; i < toks.length; i++) {
        const t = toks[i];
        if (t.type === 'Word' && t.literal.toLowerCase() === 'not' && toks[i + 1]?.literal !== '(') return 'not without parentheses';
        if (t.literal === '].' && toks[i + 1]?.type !== 'Word') return 'value path with a trailing dot';
        if (t.literal === '].' && toks[i + 1]?.type === 'Word' && !RFC_NAME.test(toks[i + 1].literal)) return 'attribute path';
      }
    }
    if (/[^\S \t\r\n]/.test(out)) return 'whitespace';
    return null;
  }
  if (c.error === undefined && js.error === undefined) {
    // a Word value such as 1e5 the package JSON.parses: same number; only escapes differ
    return null;
  }
  return null;
}

function runDump(filters) {
  const input = filters.map((f) => JSON.stringify(f)).join('\n') + '\n';
  const r = spawnSync(DUMP, ['--json'], { input, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `scim_filter_dump failed: ${r.stderr}`);
  const lines = r.stdout.toString().split('\n');
  lines.pop();
  assert.equal(lines.length, filters.length);
  return lines.map((l) => JSON.parse(l));
}

function jsParse(f) {
  try {
    return parse(f);
  } catch (e) {
    return { error: e.message };
  }
}

function compare(name, filters, { mustAccept }) {
  const cs = runDump(filters);
  const stats = { same: 0, bothReject: 0, excused: {}, sameTree: 0 };
  const bad = [];
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    const c = cs[i];
    const js = jsParse(f);
    if (mustAccept && c.error !== undefined) {
      bad.push(`C rejected a valid filter ${JSON.stringify(f)}: ${c.error}`);
      continue;
    }
    const cOk = c.error === undefined;
    const jsOk = js.error === undefined;
    if (!cOk && !jsOk) {
      stats.bothReject++;
      continue;
    }
    if (cOk && jsOk && JSON.stringify(c) === JSON.stringify(js)) {
      stats.sameTree++;
      continue;
    }
    const why = excuse(f, c, js);
    if (why) {
      stats.excused[why] = (stats.excused[why] || 0) + 1;
      continue;
    }
    bad.push(`${JSON.stringify(f)}\n    C:  ${JSON.stringify(c)}\n    js: ${JSON.stringify(js)}`);
  }
  console.log(`${name}: ${filters.length} filters, ${stats.sameTree} same tree, ${stats.bothReject} both rejected, excused ${JSON.stringify(stats.excused)}`);
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} differences`);
  return stats;
}

test('valid filters: the same trees as scim2-parse-filter', () => {
  const filters = [];
  for (let i = 0; i < 4000; i++) filters.push(genFilter(0, false));
  const st = compare('valid', filters, { mustAccept: true });
  // most valid filters are compared tree for tree (the rest are the listed deviations)
  assert.ok(st.sameTree > 2500, `only ${st.sameTree} trees compared`);
});

test('mutated filters: the same accept/reject and trees', () => {
  const filters = [];
  for (let i = 0; i < 4000; i++) filters.push(mutate(genFilter(0, false)));
  const st = compare('mutated', filters, { mustAccept: false });
  assert.ok(st.sameTree > 300 && st.bothReject > 1000, JSON.stringify(st));
});

test('garbage: the same accept/reject', () => {
  const filters = ['', ' ', '(', ')', '[]', 'not', 'not ()', 'a', 'a eq', 'a pr pr', '"x"', 'a eq "x" and'];
  for (let i = 0; i < 3000; i++) filters.push(garbage());
  const st = compare('garbage', filters, { mustAccept: false });
  assert.ok(st.bothReject > 1000, JSON.stringify(st));
});

test('the RFC 7644 examples and what Okta and Entra send', () => {
  const filters = [
    'userName eq "bjensen"',
    'name.familyName co "O\'Malley"',
    'userName sw "J"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    'title pr',
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    'externalId eq "5a1c0a4e-2c1b-4b54-a0d5-1a7b77f1a9b1"',
    'emails[type eq "work"].value eq "bjensen@example.com"',
    'displayName eq "Group One"',
    'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
  ];
  const st = compare('examples', filters, { mustAccept: true });
  assert.equal(st.sameTree, filters.length);
});
