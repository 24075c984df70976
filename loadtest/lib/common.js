// Shared helpers for the k6 scripts: configuration from the environment,
// JSON request helpers, response checks, random ids, thresholds.
//
// Environment (all optional):
//   BASE_URL      service root, default http://localhost:5000
//   USER_IDS      ids to read, e.g. "1-3", "1-10000" or "1,2,7-9"  (default 1-3)
//   PRODUCT_IDS   product ids to read                              (default 1-3)
//   ORDER_IDS     order ids to read                                (default 1)
//   P95_MS, P99_MS, MAX_ERROR_RATE   threshold overrides (see thresholds())
// The defaults suit the sample data in sql/02-sample-data.sql; the bench data
// set (loadtest/bench) has USER_IDS=1-10000 PRODUCT_IDS=1-1000 ORDER_IDS=1-10000.

import http from 'k6/http';
import { check } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:5000').replace(/\/+$/, '');

export const JSON_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json',
};

// ------------------------------------------------------------------ env

export function envInt(name, dflt) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return dflt;
  const n = parseInt(raw, 10);
  if (Number.isNaN(n)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return n;
}

export function envFloat(name, dflt) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return dflt;
  const n = parseFloat(raw);
  if (Number.isNaN(n)) throw new Error(`${name} must be a number, got "${raw}"`);
  return n;
}

export function envStr(name, dflt) {
  const raw = __ENV[name];
  return raw === undefined || raw === '' ? dflt : raw;
}

// ------------------------------------------------------------- id ranges

// Parses "1-3", "5", "1-100,200-300" into [[lo, hi], ...] (inclusive).
export function parseIdRanges(spec, name) {
  const ranges = [];
  for (const part of String(spec).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?:\s*(?:-|\.\.)\s*(\d+))?$/.exec(p);
    if (!m) throw new Error(`${name}: cannot parse "${p}" (use e.g. 1-100 or 1,2,5-9)`);
    const lo = parseInt(m[1], 10);
    const hi = m[2] === undefined ? lo : parseInt(m[2], 10);
    if (lo < 1 || hi < lo) throw new Error(`${name}: bad range "${p}"`);
    ranges.push([lo, hi]);
  }
  if (ranges.length === 0) throw new Error(`${name} is empty`);
  return ranges;
}

// A picker of uniformly random ids over the union of the ranges.
export class IdPool {
  constructor(ranges) {
    this.ranges = ranges;
    this.size = ranges.reduce((n, [lo, hi]) => n + (hi - lo + 1), 0);
  }

  static fromEnv(name, dflt) {
    return new IdPool(parseIdRanges(envStr(name, dflt), name));
  }

  // The k-th id (0-based) of the union.
  at(k) {
    for (const [lo, hi] of this.ranges) {
      const n = hi - lo + 1;
      if (k < n) return lo + k;
      k -= n;
    }
    throw new Error('index out of range');
  }

  random() {
    return this.at(Math.floor(Math.random() * this.size));
  }

  // `count` distinct random ids (fewer if the pool is smaller).
  distinct(count) {
    const want = Math.min(count, this.size);
    const seen = {};
    const out = [];
    for (let guard = 0; out.length < want && guard < want * 50; guard++) {
      const id = this.random();
      if (!seen[id]) {
        seen[id] = true;
        out.push(id);
      }
    }
    return out;
  }
}

export const USER_IDS = IdPool.fromEnv('USER_IDS', '1-3');
export const PRODUCT_IDS = IdPool.fromEnv('PRODUCT_IDS', '1-3');
export const ORDER_IDS = IdPool.fromEnv('ORDER_IDS', '1');

export function randomUserId() {
  return USER_IDS.random();
}
export function randomProductId() {
  return PRODUCT_IDS.random();
}
export function randomOrderId() {
  return ORDER_IDS.random();
}

// A string unique to this run, VU and call: for usernames, emails, keys.
let uniqueCounter = 0;
export function uniqueSuffix() {
  uniqueCounter += 1;
  const vu = typeof __VU === 'number' ? __VU : 0;
  return `${Date.now().toString(36)}${vu.toString(36)}${uniqueCounter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

// ------------------------------------------------------------ requests

function merge(params, extra) {
  const out = Object.assign({}, params || {}, extra || {});
  out.headers = Object.assign({}, JSON_HEADERS, (params && params.headers) || {}, (extra && extra.headers) || {});
  out.tags = Object.assign({}, (params && params.tags) || {}, (extra && extra.tags) || {});
  return out;
}

// `name` tags the request (k6's `name` tag) so that /api/users/17 and
// /api/users/18 share one series in the summary.
export function get(path, name, params) {
  return http.get(`${BASE_URL}${path}`, merge(params, { tags: { name: name || path } }));
}

export function postJson(path, body, name, params) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return http.post(`${BASE_URL}${path}`, payload, merge(params, { tags: { name: name || path } }));
}

export function sendJson(method, path, body, name, params) {
  const payload = body === null || body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
  return http.request(method, `${BASE_URL}${path}`, payload, merge(params, { tags: { name: name || path } }));
}

// Params that make the given statuses "expected", so that a deliberate 404 or
// 422 does not count in http_req_failed.
export function expecting(...statuses) {
  return { responseCallback: http.expectedStatuses(...statuses) };
}

// --------------------------------------------------------------- checks

export function contentType(res) {
  return (res.headers['Content-Type'] || res.headers['content-type'] || '').toLowerCase();
}

export function isJson(res) {
  return /^application\/json\b/.test(contentType(res));
}

export function isProblem(res) {
  return /^application\/problem\+json\b/.test(contentType(res));
}

export function body(res) {
  try {
    return res.json();
  } catch (e) {
    return undefined;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function isTimestamp(v) {
  return typeof v === 'string' && RFC3339.test(v);
}

function isId(v) {
  return Number.isInteger(v) && v > 0;
}

// At most two decimals, as the contract says money goes out.
export function isMoney(v) {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && Math.abs(Math.round(v * 100) - v * 100) < 1e-6;
}

export function isUser(u) {
  return !!u && isId(u.id) && typeof u.username === 'string' && typeof u.email === 'string' &&
    isTimestamp(u.created_at) && isTimestamp(u.updated_at);
}

export function isProduct(p) {
  return !!p && isId(p.id) && typeof p.name === 'string' &&
    (p.description === null || typeof p.description === 'string') &&
    isMoney(p.price) && Number.isInteger(p.stock_quantity) && p.stock_quantity >= 0 &&
    isTimestamp(p.created_at) && isTimestamp(p.updated_at);
}

export const ORDER_STATUSES = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'];

export function isOrderItem(i) {
  return !!i && isId(i.id) && isId(i.product_id) && Number.isInteger(i.quantity) && i.quantity > 0 &&
    isMoney(i.price) && isMoney(i.subtotal) &&
    Math.round(i.price * 100) * i.quantity === Math.round(i.subtotal * 100);
}

export function isOrder(o) {
  if (!o || !isId(o.id) || !isId(o.user_id) || ORDER_STATUSES.indexOf(o.status) < 0) return false;
  if (!isMoney(o.total_amount) || !isTimestamp(o.created_at) || !isTimestamp(o.updated_at)) return false;
  if (!Array.isArray(o.items) || !o.items.every(isOrderItem)) return false;
  const cents = o.items.reduce((s, i) => s + Math.round(i.subtotal * 100), 0);
  return cents === Math.round(o.total_amount * 100);
}

export function isArrayOf(pred) {
  return (v) => Array.isArray(v) && v.every(pred);
}

// Checks status, JSON content type and (optionally) the body's shape.
// Returns true when all pass.
export function checkJson(res, status, what, shape) {
  const checks = {};
  checks[`${what}: status ${status}`] = (r) => r.status === status;
  checks[`${what}: application/json`] = (r) => isJson(r);
  if (shape) checks[`${what}: body shape`] = (r) => shape(body(r));
  return check(res, checks);
}

// Checks an RFC 9457 problem response: status, problem+json content type,
// and a body with type, title and the same status.
export function checkProblem(res, status, what, extra) {
  const checks = {};
  checks[`${what}: status ${status}`] = (r) => r.status === status;
  checks[`${what}: application/problem+json`] = (r) => isProblem(r);
  checks[`${what}: problem body`] = (r) => {
    const b = body(r);
    return !!b && typeof b.type === 'string' && typeof b.title === 'string' && b.status === status;
  };
  if (extra) Object.assign(checks, extra);
  return check(res, checks);
}

// -------------------------------------------------------- thresholds

// Thresholds for latency and errors, overridable by env:
//   P95_MS (default opts.p95 or 300), P99_MS (opts.p99 or 1000),
//   MAX_ERROR_RATE (opts.errorRate or 0.01), and a checks rate floor.
// opts.abortOnFail makes every threshold stop the run once broken
// (after opts.delayAbortEval, default 10s).
export function thresholds(opts) {
  const o = opts || {};
  const p95 = envFloat('P95_MS', o.p95 !== undefined ? o.p95 : 300);
  const p99 = envFloat('P99_MS', o.p99 !== undefined ? o.p99 : 1000);
  const errorRate = envFloat('MAX_ERROR_RATE', o.errorRate !== undefined ? o.errorRate : 0.01);
  const checksRate = o.checksRate !== undefined ? o.checksRate : 1 - errorRate;
  const t = (expr) =>
    o.abortOnFail ? { threshold: expr, abortOnFail: true, delayAbortEval: o.delayAbortEval || '10s' } : expr;
  return {
    http_req_duration: [t(`p(95)<${p95}`), t(`p(99)<${p99}`)],
    http_req_failed: [t(`rate<${errorRate}`)],
    checks: [t(`rate>=${checksRate}`)],
  };
}
