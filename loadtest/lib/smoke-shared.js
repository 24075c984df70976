// The smoke test's checks of what every endpoint shares rather than of one
// resource: problem responses (404, 405, 400, 415, 422, 413 as
// application/problem+json) and the HTTP conventions (ETags with 304 and
// 412, the CORS preflight, the served OpenAPI document). Used by
// loadtest/smoke.js, which runs them after the resources.

import { check, group } from 'k6';
import http from 'k6/http';
import {
  BASE_URL, body, checkJson, checkProblem, expecting, get, isProduct, postJson, sendJson, uniqueSuffix,
} from './common.js';

export function errors() {
  group('problem responses', () => {
    let r = get('/no/such/route', 'GET unknown route', expecting(404));
    checkProblem(r, 404, 'unknown route');

    r = get('/api/users/9007199254740991', 'GET /api/users/{id} (missing)', expecting(404));
    checkProblem(r, 404, 'missing user');
    r = get('/api/products/9007199254740991', 'GET /api/products/{id} (missing)', expecting(404));
    checkProblem(r, 404, 'missing product');
    r = get('/api/orders/9007199254740991', 'GET /api/orders/{id} (missing)', expecting(404));
    checkProblem(r, 404, 'missing order');

    r = http.del(`${BASE_URL}/api/orders/1`, null, Object.assign({ tags: { name: 'DELETE /api/orders/{id} (405)' } }, expecting(405)));
    checkProblem(r, 405, 'DELETE /api/orders/{id}', {
      'DELETE /api/orders/{id}: Allow lists GET and PATCH': (x) => {
        const allow = (x.headers.Allow || x.headers.allow || '').toUpperCase();
        return /\bGET\b/.test(allow) && /\bPATCH\b/.test(allow) && !/\bDELETE\b/.test(allow);
      },
    });
    r = postJson('/health', {}, 'POST /health (405)', expecting(405));
    checkProblem(r, 405, 'POST /health', {
      'POST /health: Allow lists GET': (x) => /\bGET\b/.test((x.headers.Allow || x.headers.allow || '').toUpperCase()),
    });

    r = get('/api/users/abc', 'GET /api/users/abc', expecting(400));
    checkProblem(r, 400, 'non-numeric id');
    r = get('/api/users/0', 'GET /api/users/0', expecting(400));
    checkProblem(r, 400, 'id 0');
    r = get('/api/users?limit=abc', 'GET /api/users?limit=abc', expecting(400));
    checkProblem(r, 400, 'malformed limit');
    r = get('/api/products?min_price=cheap', 'GET /api/products?min_price=cheap', expecting(400));
    checkProblem(r, 400, 'malformed min_price');

    r = postJson('/api/users', '{"username": "x", ', 'POST /api/users (bad JSON)', expecting(400));
    checkProblem(r, 400, 'body that is not JSON');

    r = postJson('/api/users', 'username=x&email=y', 'POST /api/users (form)',
      Object.assign({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, expecting(415)));
    checkProblem(r, 415, 'non-JSON Content-Type');

    r = postJson('/api/users', { username: '', email: 'not-an-email' }, 'POST /api/users (invalid)', expecting(422));
    checkProblem(r, 422, 'invalid user', {
      'invalid user: errors name username and email': (x) => {
        const b = body(x);
        if (!b || !Array.isArray(b.errors)) return false;
        const fields = b.errors.map((e) => e.field);
        return b.errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string') &&
          fields.indexOf('username') >= 0 && fields.indexOf('email') >= 0;
      },
    });

    r = postJson('/api/users', { username: `u_${uniqueSuffix()}`, email: 'u@example.com', admin: true }, 'POST /api/users (unknown field)', expecting(422));
    checkProblem(r, 422, 'unknown field');

    r = postJson('/api/users', { email: 'only@example.com' }, 'POST /api/users (missing field)', expecting(422));
    checkProblem(r, 422, 'missing field');

    r = postJson('/api/products', { name: 'neg', price: -1, stock_quantity: 1 }, 'POST /api/products (negative)', expecting(422));
    checkProblem(r, 422, 'negative price');

    r = postJson('/api/products', { name: 'bad', price: 1, stock_quantity: 'many' }, 'POST /api/products (wrong type)', expecting(422));
    checkProblem(r, 422, 'wrong type');

    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024), price: 1, stock_quantity: 1 });
    r = postJson('/api/products', big, 'POST /api/products (too large)', expecting(413));
    checkProblem(r, 413, 'body over 64 KiB');
  });
}

// ETags (304, 412), the CORS preflight and the served OpenAPI document.
// The preflight is checked either way: with CORS_ALLOW_ORIGINS naming
// ORIGIN (as CI's stack does) the grants must be there; with CORS off,
// OPTIONS stays 405, as documented.
export function conventions(ctx) {
  group('conventions', () => {
    let r = get('/openapi.json', 'GET /openapi.json');
    checkJson(r, 200, 'GET /openapi.json', (b) => !!b && typeof b.openapi === 'string' && !!b.paths['/api/orders']);
    if (!ctx.product) {
      check(null, { 'conventions: a product was created': () => false });
      return;
    }
    const path = `/api/products/${ctx.product.id}`;
    r = get(path, 'GET /api/products/{id}');
    const tag = r.headers.Etag || r.headers.ETag || r.headers.etag || '';
    check(r, { 'GET /api/products/{id}: strong ETag': () => /^"[^"]+"$/.test(tag) });
    r = get(path, 'GET /api/products/{id} (If-None-Match)', { headers: { 'If-None-Match': tag } });
    check(r, {
      'If-None-Match with the current ETag: 304': (x) => x.status === 304,
      '304: no body': (x) => !x.body,
    });

    r = sendJson('PATCH', path, { stock_quantity: 4 }, 'PATCH /api/products/{id} (If-Match)', { headers: { 'If-Match': tag } });
    checkJson(r, 200, 'PATCH with the current If-Match', (b) => isProduct(b) && b.stock_quantity === 4);
    r = sendJson('PATCH', path, { stock_quantity: 99 }, 'PATCH /api/products/{id} (stale If-Match)',
      Object.assign({ headers: { 'If-Match': tag } }, expecting(412)));
    checkProblem(r, 412, 'PATCH with a stale If-Match');
    r = get(path, 'GET /api/products/{id}');
    checkJson(r, 200, 'a 412 writes nothing', (b) => isProduct(b) && b.stock_quantity === 4);

    const origin = __ENV.ORIGIN || 'https://smoke.example';
    r = http.options(`${BASE_URL}${path}`, null, {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'if-match, content-type' },
      tags: { name: 'OPTIONS /api/products/{id} (preflight)' },
      responseCallback: http.expectedStatuses(204, 405),
    });
    if (r.status === 405) {
      check(r, { 'preflight with CORS off: 405 with Allow': (x) => !!(x.headers.Allow || x.headers.allow) });
    } else {
      check(r, {
        'preflight: 204': (x) => x.status === 204,
        'preflight: the origin is allowed': (x) => x.headers['Access-Control-Allow-Origin'] === origin || x.headers['Access-Control-Allow-Origin'] === '*',
        'preflight: PATCH is allowed': (x) => (x.headers['Access-Control-Allow-Methods'] || '').indexOf('PATCH') >= 0,
        'preflight: If-Match may be sent': (x) => (x.headers['Access-Control-Allow-Headers'] || '').indexOf('If-Match') >= 0,
      });
    }
  });
}
