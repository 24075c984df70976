// Steady load for prove_split.py's rolling restart: a constant arrival rate
// through the proxy, touching every function group, with strict accounting.
// Every request must get its expected status (no threshold slack), and each
// created order's id is logged (`created order N`) so that the caller can
// compare the ids the clients saw with the rows in the database.
//
//   BASE_URL=http://127.0.0.1:PORT USER_ID=… PRODUCT_ID=… k6 run rolling-load.js
//
// RATE (requests/s, default 40) and DURATION (default 40s) shape it;
// USER_ID and PRODUCT_ID name the user the orders are for and a product with
// ample stock, both created beforehand so that the orders of this run can be
// told apart from any others.

import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const USER_ID = Number(__ENV.USER_ID);
const PRODUCT_ID = Number(__ENV.PRODUCT_ID);
const RATE = Number(__ENV.RATE || 40);

const ordersCreated = new Counter('orders_created');

export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || '40s',
      // All allocated up front: k6 drops an iteration whenever no VU is
      // free and makes one only afterwards, so a second's stall of the
      // machine (seen once in CI, with no request failing) would count as
      // dropped load. 60 VUs carry 40 requests a second through 1.5 s.
      preAllocatedVUs: 60,
      maxVUs: 60,
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    dropped_iterations: ['count==0'],
  },
  summaryTrendStats: ['med', 'p(95)', 'p(99)', 'max'],
};

const json = { headers: { 'Content-Type': 'application/json' } };

function expect(res, status, what) {
  return check(res, { [`${what}: ${status}`]: (r) => r.status === status });
}

export default function () {
  const pick = Math.random();
  if (pick < 0.45) {
    // reads
    const paths = ['/api/users/1', '/api/products/1', '/api/orders/1', '/api/products?limit=5', `/api/users/${USER_ID}/orders?limit=1`];
    const path = paths[Math.floor(Math.random() * paths.length)];
    expect(http.get(`${BASE_URL}${path}`, { tags: { name: 'read' } }), 200, 'read');
  } else if (pick < 0.75) {
    // order writes: a key per order, as a well-behaved client sends, so that
    // a retry (by k6's HTTP client or anyone else) cannot create a second one.
    const key = `rolling-${__VU}-${__ITER}-${Date.now()}`;
    const res = http.post(
      `${BASE_URL}/api/orders`,
      JSON.stringify({ user_id: USER_ID, items: [{ product_id: PRODUCT_ID, quantity: 1 }] }),
      { headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, tags: { name: 'POST /api/orders' } },
    );
    if (expect(res, 201, 'POST /api/orders')) {
      ordersCreated.add(1);
      console.log(`created order ${res.json('id')}`);
    }
  } else if (pick < 0.9) {
    // other writes: a product's description, rewritten in place
    const res = http.patch(
      `${BASE_URL}/api/products/${PRODUCT_ID}`,
      JSON.stringify({ description: `rolling ${__ITER}` }),
      Object.assign({ tags: { name: 'PATCH /api/products/{id}' } }, json),
    );
    expect(res, 200, 'PATCH /api/products/{id}');
  } else {
    // ops
    const path = Math.random() < 0.5 ? '/health' : '/';
    expect(http.get(`${BASE_URL}${path}`, { tags: { name: 'ops' } }), 200, 'ops');
  }
}

export function handleSummary(data) {
  const m = data.metrics;
  const count = (name) => (m[name] ? m[name].values.count || 0 : 0);
  const failed = m.http_req_failed ? m.http_req_failed.values.passes : 0;
  const report = {
    requests: count('http_reqs'),
    failed_requests: failed,
    checks_failed: m.checks ? m.checks.values.fails : 0,
    orders_created: count('orders_created'),
    dropped_iterations: count('dropped_iterations'),
    p99_ms: m.http_req_duration ? m.http_req_duration.values['p(99)'] : null,
    max_ms: m.http_req_duration ? m.http_req_duration.values.max : null,
  };
  const out = { stdout: `rolling-load: ${JSON.stringify(report)}\n` };
  if (__ENV.REPORT_FILE) out[__ENV.REPORT_FILE] = JSON.stringify(report);
  return out;
}
