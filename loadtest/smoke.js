// Smoke test: one VU, one pass over every endpoint of the contract
// (the project's openapi.yaml), with strict
// checks on status, content type and body shape, the problem+json errors
// included. Safe to repeat against the same database: it creates its own
// users, products and orders under unique names.
//
//   k6 run loadtest/smoke.js                       # BASE_URL=http://localhost:5000
//   BASE_URL=http://127.0.0.1:5077 k6 run loadtest/smoke.js
//
// METRICS_URL (default BASE_URL/metrics) is where /metrics is checked: behind
// a gateway or proxy that keeps it private, an instance's own address.
//
// Passes only if every check passes and no request fails unexpectedly
// (deliberate 4xx are declared with expectedStatuses and do not count).
//
// The resources are checked here; problem responses and the HTTP
// conventions every endpoint shares are in lib/smoke-shared.js.

import { check, group } from 'k6';
import http from 'k6/http';
import {
  BASE_URL, body, checkJson, checkProblem, contentType, expecting, get, isArrayOf, isJson,
  isOrder, isProduct, isUser, postJson, sendJson, uniqueSuffix,
} from './lib/common.js';
import { conventions, errors } from './lib/smoke-shared.js';
import { makeHandleSummary, SUMMARY_TREND_STATS } from './lib/summary.js';

export const options = {
  scenarios: {
    smoke: { executor: 'shared-iterations', vus: 1, iterations: 1, maxDuration: '2m' },
  },
  thresholds: {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

// Location must name the created resource.
function checkLocation(res, prefix, id, what) {
  return check(res, {
    [`${what}: Location ${prefix}{id}`]: (r) => {
      const loc = r.headers.Location || r.headers.location || '';
      return loc === `${prefix}${id}` || loc.endsWith(`${prefix}${id}`);
    },
  });
}

function hasNextLink(res) {
  const link = res.headers.Link || res.headers.link || '';
  return /<[^>]+>\s*;\s*rel="?next"?/.test(link);
}

// No error body may leak internals.
function noLeak(res) {
  const t = res.body || '';
  return !/(stack backtrace|panicked at|\bSELECT\b|\bINSERT INTO\b|postgres(ql)?:\/\/)/i.test(t);
}

function service() {
  group('service', () => {
    let r = get('/', 'GET /');
    checkJson(r, 200, 'GET /', (b) =>
      !!b && typeof b.service === 'string' && typeof b.version === 'string' && Array.isArray(b.routes) &&
      b.routes.every((x) => typeof x.function === 'string' && typeof x.method === 'string' && typeof x.path === 'string') &&
      b.routes.some((x) => x.method === 'POST' && x.path === '/api/orders') &&
      b.routes.some((x) => x.method === 'PATCH' && /^\/api\/orders\/[{:]/.test(x.path)));

    r = get('/health', 'GET /health');
    checkJson(r, 200, 'GET /health', (b) => !!b && b.status === 'healthy');

    r = get('/db-check', 'GET /db-check');
    checkJson(r, 200, 'GET /db-check', (b) => !!b && b.status === 'success' && b.database === 'connected');

    r = http.get(__ENV.METRICS_URL || `${BASE_URL}/metrics`, { headers: { Accept: 'text/plain' }, tags: { name: 'GET /metrics' } });
    check(r, {
      'GET /metrics: status 200': (x) => x.status === 200,
      'GET /metrics: text/plain': (x) => /^text\/plain\b/.test(contentType(x)),
      'GET /metrics: exposition format': (x) => /^# (HELP|TYPE) /m.test(x.body || ''),
    });
  });
}

function users(ctx) {
  group('users', () => {
    const sfx = uniqueSuffix();
    const username = `smoke_${sfx}`;
    const email = `smoke_${sfx}@example.com`;
    let r = postJson('/api/users', { username, email }, 'POST /api/users');
    const created = checkJson(r, 201, 'POST /api/users', (b) => isUser(b) && b.username === username && b.email === email);
    if (!created) return;
    const user = body(r);
    ctx.user = user;
    checkLocation(r, '/api/users/', user.id, 'POST /api/users');

    r = postJson('/api/users', { username, email: `other_${email}` }, 'POST /api/users (taken)', expecting(409));
    checkProblem(r, 409, 'POST /api/users with a taken username');

    r = get(`/api/users/${user.id}`, 'GET /api/users/{id}');
    checkJson(r, 200, 'GET /api/users/{id}', (b) => isUser(b) && b.id === user.id && b.username === username);

    r = get('/api/users?limit=1', 'GET /api/users?limit=1');
    checkJson(r, 200, 'GET /api/users?limit=1', (b) => isArrayOf(isUser)(b) && b.length === 1);
    check(r, { 'GET /api/users?limit=1: Link rel=next': hasNextLink });

    r = get('/api/users?limit=1000', 'GET /api/users?limit=1000');
    checkJson(r, 200, 'GET /api/users?limit=1000', (b) =>
      isArrayOf(isUser)(b) && b.every((u, i) => i === 0 || b[i - 1].id < u.id));

    const username2 = `smoke_put_${sfx}`;
    const email2 = `smoke_put_${sfx}@example.com`;
    r = sendJson('PUT', `/api/users/${user.id}`, { username: username2, email: email2 }, 'PUT /api/users/{id}');
    checkJson(r, 200, 'PUT /api/users/{id}', (b) => isUser(b) && b.id === user.id && b.username === username2 && b.email === email2);

    const email3 = `smoke_patch_${sfx}@example.com`;
    r = sendJson('PATCH', `/api/users/${user.id}`, { email: email3 }, 'PATCH /api/users/{id}');
    checkJson(r, 200, 'PATCH /api/users/{id}', (b) => isUser(b) && b.username === username2 && b.email === email3);

    r = get(`/api/users/${user.id}/orders`, 'GET /api/users/{id}/orders');
    checkJson(r, 200, 'GET /api/users/{id}/orders (none yet)', (b) => Array.isArray(b) && b.length === 0);

    // A user without orders can be deleted.
    const other = postJson('/api/users', { username: `smoke_del_${sfx}`, email: `smoke_del_${sfx}@example.com` }, 'POST /api/users');
    if (checkJson(other, 201, 'POST /api/users (to delete)', isUser)) {
      const id = body(other).id;
      r = http.del(`${BASE_URL}/api/users/${id}`, null, { tags: { name: 'DELETE /api/users/{id}' } });
      check(r, {
        'DELETE /api/users/{id}: status 204': (x) => x.status === 204,
        'DELETE /api/users/{id}: empty body': (x) => !x.body || x.body.length === 0,
      });
      r = get(`/api/users/${id}`, 'GET /api/users/{id} (deleted)', expecting(404));
      checkProblem(r, 404, 'GET /api/users/{id} after DELETE');
    }
  });
}

function products(ctx) {
  group('products', () => {
    const sfx = uniqueSuffix();
    const name = `smoke-product-${sfx}`;
    let r = postJson('/api/products', { name, description: 'k6 smoke test', price: 12.34, stock_quantity: 5 }, 'POST /api/products');
    const ok = checkJson(r, 201, 'POST /api/products', (b) =>
      isProduct(b) && b.name === name && b.description === 'k6 smoke test' && b.price === 12.34 && b.stock_quantity === 5);
    if (!ok) return;
    const product = body(r);
    ctx.product = product;
    checkLocation(r, '/api/products/', product.id, 'POST /api/products');

    // Money may come in as a decimal string; description is optional.
    r = postJson('/api/products', { name: `${name}-b`, price: '0.10', stock_quantity: 0 }, 'POST /api/products');
    const okB = checkJson(r, 201, 'POST /api/products (string price, no description)', (b) =>
      isProduct(b) && b.price === 0.1 && b.description === null && b.stock_quantity === 0);
    const productB = okB ? body(r) : null;

    r = get(`/api/products/${product.id}`, 'GET /api/products/{id}');
    checkJson(r, 200, 'GET /api/products/{id}', (b) => isProduct(b) && b.id === product.id && b.name === name);

    r = get('/api/products?limit=1', 'GET /api/products?limit=1');
    checkJson(r, 200, 'GET /api/products?limit=1', (b) => isArrayOf(isProduct)(b) && b.length === 1);
    check(r, { 'GET /api/products?limit=1: Link rel=next': hasNextLink });

    r = get(`/api/products?q=${encodeURIComponent(name.toUpperCase())}`, 'GET /api/products?q=');
    checkJson(r, 200, 'GET /api/products?q= (case-insensitive)', (b) =>
      isArrayOf(isProduct)(b) && b.length === 2 && b.every((p) => p.name.indexOf(name) === 0));

    r = get(`/api/products?q=${encodeURIComponent(name)}&in_stock=true`, 'GET /api/products?in_stock=true');
    checkJson(r, 200, 'GET /api/products?in_stock=true', (b) =>
      isArrayOf(isProduct)(b) && b.length === 1 && b[0].id === product.id);

    r = get('/api/products?min_price=10&max_price=100&limit=1000', 'GET /api/products?min_price&max_price');
    checkJson(r, 200, 'GET /api/products?min_price=10&max_price=100', (b) =>
      isArrayOf(isProduct)(b) && b.every((p) => p.price >= 10 && p.price <= 100) && b.some((p) => p.id === product.id));

    r = sendJson('PUT', `/api/products/${product.id}`,
      { name, description: 'k6 smoke test (put)', price: 20, stock_quantity: 6 }, 'PUT /api/products/{id}');
    checkJson(r, 200, 'PUT /api/products/{id}', (b) =>
      isProduct(b) && b.description === 'k6 smoke test (put)' && b.price === 20 && b.stock_quantity === 6);

    r = sendJson('PATCH', `/api/products/${product.id}`, { price: '15.50', stock_quantity: 5 }, 'PATCH /api/products/{id}');
    checkJson(r, 200, 'PATCH /api/products/{id}', (b) =>
      isProduct(b) && b.name === name && b.price === 15.5 && b.stock_quantity === 5);

    // A product no order points at can be deleted.
    if (productB) {
      const bId = productB.id;
      r = http.del(`${BASE_URL}/api/products/${bId}`, null, { tags: { name: 'DELETE /api/products/{id}' } });
      check(r, { 'DELETE /api/products/{id}: status 204': (x) => x.status === 204 });
      r = get(`/api/products/${bId}`, 'GET /api/products/{id} (deleted)', expecting(404));
      checkProblem(r, 404, 'GET /api/products/{id} after DELETE');
    }
  });
}

function orders(ctx) {
  group('orders', () => {
    if (!ctx.user || !ctx.product) {
      check(null, { 'orders: prerequisites (user and product) created': () => false });
      return;
    }
    const user = ctx.user;
    const product = ctx.product; // stock 5, price 15.50 after the products group
    const key = `smoke-${uniqueSuffix()}`;
    const order = { user_id: user.id, items: [{ product_id: product.id, quantity: 2 }] };
    const headers = { 'Idempotency-Key': key };

    let r = postJson('/api/orders', order, 'POST /api/orders', { headers });
    const ok = checkJson(r, 201, 'POST /api/orders', (b) =>
      isOrder(b) && b.user_id === user.id && b.status === 'pending' && b.total_amount === 31 &&
      b.items.length === 1 && b.items[0].product_id === product.id && b.items[0].quantity === 2 &&
      b.items[0].price === 15.5 && b.items[0].subtotal === 31);
    if (!ok) return;
    const created = body(r);
    checkLocation(r, '/api/orders/', created.id, 'POST /api/orders');

    // The retry with the same Idempotency-Key returns the first order.
    r = postJson('/api/orders', order, 'POST /api/orders (retry)', { headers });
    check(r, {
      'POST /api/orders retry: status 200 or 201': (x) => x.status === 200 || x.status === 201,
      'POST /api/orders retry: application/json': isJson,
      'POST /api/orders retry: same order id': (x) => { const b = body(x); return !!b && b.id === created.id; },
    });
    r = get(`/api/products/${product.id}`, 'GET /api/products/{id}');
    checkJson(r, 200, 'stock decremented once (5 - 2 = 3)', (b) => isProduct(b) && b.stock_quantity === 3);

    r = get(`/api/orders/${created.id}`, 'GET /api/orders/{id}');
    checkJson(r, 200, 'GET /api/orders/{id}', (b) => isOrder(b) && b.id === created.id && b.total_amount === 31);

    r = get(`/api/orders?user_id=${user.id}`, 'GET /api/orders?user_id=');
    checkJson(r, 200, 'GET /api/orders?user_id=', (b) => isArrayOf(isOrder)(b) && b.length === 1 && b[0].id === created.id);

    r = get('/api/orders?status=pending&limit=5', 'GET /api/orders?status=');
    checkJson(r, 200, 'GET /api/orders?status=pending', (b) => isArrayOf(isOrder)(b) && b.length >= 1 && b.every((o) => o.status === 'pending'));

    r = get('/api/orders?limit=1', 'GET /api/orders?limit=1');
    checkJson(r, 200, 'GET /api/orders?limit=1', (b) => isArrayOf(isOrder)(b) && b.length === 1);

    r = get(`/api/users/${user.id}/orders`, 'GET /api/users/{id}/orders');
    checkJson(r, 200, 'GET /api/users/{id}/orders', (b) => isArrayOf(isOrder)(b) && b.length === 1 && b[0].id === created.id);

    r = postJson('/api/orders', { user_id: user.id, items: [{ product_id: product.id, quantity: 4 }] },
      'POST /api/orders (no stock)', expecting(409));
    checkProblem(r, 409, 'POST /api/orders beyond stock');

    r = postJson('/api/orders', { user_id: 9007199254740991, items: [{ product_id: product.id, quantity: 1 }] },
      'POST /api/orders (unknown user)', expecting(422));
    checkProblem(r, 422, 'POST /api/orders for an unknown user');

    r = postJson('/api/orders', { user_id: user.id, items: [{ product_id: 9007199254740991, quantity: 1 }] },
      'POST /api/orders (unknown product)', expecting(422));
    checkProblem(r, 422, 'POST /api/orders with an unknown product');

    r = postJson('/api/orders', { user_id: user.id, items: [{ product_id: product.id, quantity: 0 }] },
      'POST /api/orders (quantity 0)', expecting(422));
    checkProblem(r, 422, 'POST /api/orders with quantity 0');

    r = sendJson('PATCH', `/api/orders/${created.id}`, { status: 'confirmed' }, 'PATCH /api/orders/{id}');
    checkJson(r, 200, 'PATCH /api/orders/{id} pending -> confirmed', (b) => isOrder(b) && b.status === 'confirmed');

    r = sendJson('PATCH', `/api/orders/${created.id}`, { status: 'cancelled' }, 'PATCH /api/orders/{id}');
    checkJson(r, 200, 'PATCH /api/orders/{id} confirmed -> cancelled', (b) => isOrder(b) && b.id === created.id && b.status === 'cancelled');

    r = get(`/api/products/${product.id}`, 'GET /api/products/{id}');
    checkJson(r, 200, 'cancel puts the stock back (3 + 2 = 5)', (b) => isProduct(b) && b.stock_quantity === 5);

    r = sendJson('PATCH', `/api/orders/${created.id}`, { status: 'shipped' }, 'PATCH /api/orders/{id} (forbidden)', expecting(409));
    checkProblem(r, 409, 'PATCH /api/orders/{id} cancelled -> shipped');

    r = sendJson('PATCH', `/api/orders/${created.id}`, { status: 'lost' }, 'PATCH /api/orders/{id} (bad status)', expecting(422));
    checkProblem(r, 422, 'PATCH /api/orders/{id} with an unknown status');

    // Rows that others point at cannot be deleted.
    r = http.del(`${BASE_URL}/api/users/${user.id}`, null, Object.assign({ tags: { name: 'DELETE /api/users/{id} (has orders)' } }, expecting(409)));
    checkProblem(r, 409, 'DELETE /api/users/{id} while it has orders');
    r = http.del(`${BASE_URL}/api/products/${product.id}`, null, Object.assign({ tags: { name: 'DELETE /api/products/{id} (ordered)' } }, expecting(409)));
    checkProblem(r, 409, 'DELETE /api/products/{id} while order items point at it');
  });
}

export default function () {
  const ctx = {};
  service();
  users(ctx);
  products(ctx);
  orders(ctx);
  conventions(ctx);
  errors();
  group('no leaks in error bodies', () => {
    const r = postJson('/api/orders', '{"user_id": 1, "items": [', 'POST /api/orders (bad JSON)', expecting(400));
    check(r, { 'error bodies carry no stack trace, SQL or connection string': noLeak });
  });
}

export const handleSummary = makeHandleSummary('smoke');
