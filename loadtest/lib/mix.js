// The realistic request mix shared by load.js, stress.js, spike.js and
// soak.js: one request per iteration, picked by weight.
//
//   30%  GET /api/products?limit=20         (catalogue page)
//   30%  GET /api/products/{id}
//    5%  GET /api/products?q=…&in_stock=true (search)
//   12%  GET /api/users/{id}
//    3%  GET /api/users?limit=20
//    5%  GET /api/users/{id}/orders
//   10%  GET /api/orders/{id}
//    5%  POST /api/orders (1-2 distinct products, quantity 1)
//
// Order creation needs products with ample stock. ORDER_PRODUCT_IDS names
// them; without it, PRODUCT_IDS is used when it is set explicitly (the bench
// data set gives every product 1,000,000,000); without either, setup()
// creates ORDER_PRODUCTS (default 4) products with that much stock.

import { check } from 'k6';
import http from 'k6/http';
import { Rate } from 'k6/metrics';
import {
  body, envInt, envStr, get, IdPool, isJson, ORDER_IDS, parseIdRanges, postJson, PRODUCT_IDS,
  uniqueSuffix, USER_IDS,
} from './common.js';

const SEARCH_TERMS = ['a', 'e', 'o', 'product', 'laptop', 'mouse', 'key'];

// Share of 429/503 answers (load shedding by the runtime, with Retry-After).
export const shedRate = new Rate('shed_responses');

// [weight, name, fn(ctx)]; names are the k6 `name` tags.
export const MIX = [
  [30, 'GET /api/products', () => get('/api/products?limit=20', 'GET /api/products')],
  [30, 'GET /api/products/{id}', () => {
    const id = PRODUCT_IDS.random();
    return [get(`/api/products/${id}`, 'GET /api/products/{id}'), id];
  }],
  [5, 'GET /api/products?q=', () => {
    const q = SEARCH_TERMS[Math.floor(Math.random() * SEARCH_TERMS.length)];
    return get(`/api/products?q=${q}&in_stock=true&limit=20`, 'GET /api/products?q=');
  }],
  [12, 'GET /api/users/{id}', () => {
    const id = USER_IDS.random();
    return [get(`/api/users/${id}`, 'GET /api/users/{id}'), id];
  }],
  [3, 'GET /api/users', () => get('/api/users?limit=20', 'GET /api/users')],
  [5, 'GET /api/users/{id}/orders', () => get(`/api/users/${USER_IDS.random()}/orders`, 'GET /api/users/{id}/orders')],
  [10, 'GET /api/orders/{id}', () => {
    const id = ORDER_IDS.random();
    return [get(`/api/orders/${id}`, 'GET /api/orders/{id}'), id];
  }],
  [5, 'POST /api/orders', (ctx) => {
    const products = ctx.orderProducts.distinct(Math.random() < 0.5 ? 1 : 2);
    const order = { user_id: USER_IDS.random(), items: products.map((id) => ({ product_id: id, quantity: 1 })) };
    return [postJson('/api/orders', order, 'POST /api/orders'), null, 201];
  }],
];

const TOTAL_WEIGHT = MIX.reduce((n, m) => n + m[0], 0);

export const MIX_NAMES = MIX.map((m) => m[1]);

function pick() {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const m of MIX) {
    r -= m[0];
    if (r < 0) return m;
  }
  return MIX[MIX.length - 1];
}

// setup() helper: the products that order creation may use, as id ranges.
export function setupOrderProducts() {
  const explicit = envStr('ORDER_PRODUCT_IDS', '') || envStr('PRODUCT_IDS', '');
  if (explicit) return { orderProductRanges: parseIdRanges(explicit, 'ORDER_PRODUCT_IDS') };
  const n = envInt('ORDER_PRODUCTS', 4);
  const ranges = [];
  const tag = uniqueSuffix();
  for (let i = 0; i < n; i++) {
    const res = postJson('/api/products', {
      name: `loadtest-${tag}-${i}`,
      description: 'created by a k6 load test for order creation',
      price: (10 + i).toFixed(2),
      stock_quantity: 1000000000,
    }, 'setup: POST /api/products');
    const b = body(res);
    if (res.status !== 201 || !b || !b.id) {
      throw new Error(`setup: could not create a product for orders: ${res.status} ${res.body}`);
    }
    ranges.push([b.id, b.id]);
  }
  return { orderProductRanges: ranges };
}

// The per-iteration context built from setup()'s data.
export function mixContext(data) {
  return { orderProducts: new IdPool((data && data.orderProductRanges) || parseIdRanges('2-3', 'ORDER_PRODUCT_IDS')) };
}

// One request of the mix, with checks. With opts.allowShed, 429 and 503
// answers (the runtime shedding load, with Retry-After) pass the checks and
// are counted in shed_responses instead; the script must also declare them
// expected (sheddingCallback) to keep them out of http_req_failed.
export function runMix(ctx, opts) {
  const o = opts || {};
  const [, name, fn] = pick();
  let out = fn(ctx);
  if (!Array.isArray(out)) out = [out];
  const [res, id, status] = out;
  const want = status || 200;
  const shed = res.status === 429 || res.status === 503;
  shedRate.add(shed);
  if (o.allowShed && shed) {
    check(res, { [`${name}: shed with Retry-After`]: (r) => !!(r.headers['Retry-After'] || r.headers['retry-after']) });
    return res;
  }
  const checks = {
    [`${name}: status ${want}`]: (r) => r.status === want,
    [`${name}: application/json`]: isJson,
  };
  if (id) {
    checks[`${name}: right id`] = (r) => {
      const b = body(r);
      return !!b && b.id === id;
    };
  } else if (want === 201) {
    checks[`${name}: created`] = (r) => {
      const b = body(r);
      return !!b && Number.isInteger(b.id) && Array.isArray(b.items) && b.items.length > 0;
    };
  }
  check(res, checks);
  return res;
}

// Statuses that are not failures when load shedding is acceptable.
export function sheddingCallback() {
  return http.expectedStatuses({ min: 200, max: 299 }, 429, 503);
}

// Per-endpoint p95 thresholds, so that the summary shows each endpoint.
export function endpointThresholds(p95, extraTags) {
  const t = {};
  const tags = extraTags ? `,${extraTags}` : '';
  for (const n of MIX_NAMES) t[`http_req_duration{name:${n}${tags}}`] = [`p(95)<${p95}`];
  return t;
}
