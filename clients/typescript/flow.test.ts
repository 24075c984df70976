// The whole HTTP contract, driven through openapi-fetch with the types
// openapi-typescript generated from the running server's /openapi.json
// (generated/shop.d.ts, written by clients/typescript/check, which also
// type-checks this file with tsc --strict and points SHOP_URL at a runtime
// whose `health` function has a small rate limit of its own, for the 429).
// Every test makes the rows it changes; the rate limit runs last.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import createClient from "openapi-fetch";

import type { components, paths } from "./generated/shop.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"] | Schemas["ValidationProblem"];

const baseUrl = process.env.SHOP_URL;
if (!baseUrl) throw new Error("SHOP_URL names the runtime to test");
const client = createClient<paths>({ baseUrl });

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 12)}`;

/** The typed body of a success, or a failed test. */
function ok<T>(answer: { data?: T; error?: unknown; response: Response }, status: number): T {
  assert.equal(answer.response.status, status, JSON.stringify(answer.error));
  assert.ok(answer.data !== undefined);
  return answer.data;
}

/** The typed problem of a failure, or a failed test. */
function problem(answer: { error?: Problem; response: Response }, status: number): Problem {
  assert.equal(answer.response.status, status);
  assert.equal(answer.response.headers.get("content-type"), "application/problem+json");
  assert.ok(answer.error !== undefined);
  assert.equal(answer.error.status, status);
  return answer.error;
}

async function newUser(): Promise<{ user: Schemas["User"]; tag: string }> {
  const username = unique("ts");
  const created = await client.POST("/api/users", { body: { username, email: `${username}@example.com` } });
  return { user: ok(created, 201), tag: created.response.headers.get("etag") ?? "" };
}

async function newProduct(stock: number): Promise<Schemas["Product"]> {
  const body = { name: unique("ts-product"), price: "12.50", stock_quantity: stock };
  return ok(await client.POST("/api/products", { body }), 201);
}

test("the service's operations", async () => {
  const info = ok(await client.GET("/"), 200);
  assert.equal(info.routes.length, 36);
  assert.equal(info.openapi.json, "/openapi.json");
  assert.equal(ok(await client.GET("/health"), 200).status, "healthy");
  assert.equal(ok(await client.GET("/db-check"), 200).database, "connected");
  assert.match(ok(await client.GET("/metrics", { parseAs: "text" }), 200), /# TYPE /);
  const document = await client.GET("/openapi.json");
  assert.equal(ok(document, 200).openapi, "3.0.3");
  const tag = document.response.headers.get("etag") ?? "";
  const again = await client.GET("/openapi.json", { params: { header: { "If-None-Match": tag } } });
  assert.equal(again.response.status, 304);
  assert.match(ok(await client.GET("/openapi.yaml", { parseAs: "text" }), 200), /^#/);
  for (const path of ["/", "/health", "/db-check", "/metrics", "/openapi.json", "/openapi.yaml"] as const) {
    const head = await client.HEAD(path);
    assert.equal(head.response.status, 200, path);
  }
});

test("a user: create, read, 304, update, a stale If-Match is 412, delete", async () => {
  const { user, tag } = await newUser();
  const id = user.id;
  assert.deepEqual(ok(await client.GET("/api/users/{id}", { params: { path: { id } } }), 200), user);
  const notModified = { params: { path: { id }, header: { "If-None-Match": tag } } };
  assert.equal((await client.GET("/api/users/{id}", notModified)).response.status, 304);
  assert.equal((await client.HEAD("/api/users/{id}", notModified)).response.status, 304);
  const username = unique("ts-renamed");
  const put = await client.PUT("/api/users/{id}", {
    params: { path: { id }, header: { "If-Match": tag } },
    body: { username },
  });
  assert.equal(ok(put, 200).username, username);
  const stale = await client.PATCH("/api/users/{id}", {
    params: { path: { id }, header: { "If-Match": tag } },
    body: { email: "x@example.com" },
  });
  problem(stale, 412);
  assert.equal(stale.response.headers.get("etag"), put.response.headers.get("etag"));
  const email = `${username}@example.org`;
  const patched = await client.PATCH("/api/users/{id}", {
    params: { path: { id }, header: { "If-Match": "*" } },
    body: { email },
  });
  assert.equal(ok(patched, 200).email, email);
  assert.deepEqual(ok(await client.GET("/api/users/{id}/orders", { params: { path: { id } } }), 200), []);
  assert.equal((await client.HEAD("/api/users/{id}/orders", { params: { path: { id } } })).response.status, 200);
  const staleDelete = await client.DELETE("/api/users/{id}", { params: { path: { id }, header: { "If-Match": tag } } });
  problem(staleDelete, 412);
  const current = patched.response.headers.get("etag") ?? "";
  const deleted = await client.DELETE("/api/users/{id}", { params: { path: { id }, header: { "If-Match": current } } });
  assert.equal(deleted.response.status, 204);
  assert.equal(problem(await client.GET("/api/users/{id}", { params: { path: { id } } }), 404).title, "Not Found");
});

test("a product: create with a decimal string, change, clear, filter, delete", async () => {
  const product = await newProduct(5);
  assert.equal(product.price, 12.5);
  assert.equal(product.description, null);
  const id = product.id;
  const got = await client.GET("/api/products/{id}", { params: { path: { id } } });
  const tag = got.response.headers.get("etag") ?? "";
  assert.deepEqual(ok(got, 200), product);
  const head = await client.HEAD("/api/products/{id}", { params: { path: { id }, header: { "If-None-Match": tag } } });
  assert.equal(head.response.status, 304);
  const put = await client.PUT("/api/products/{id}", {
    params: { path: { id }, header: { "If-Match": tag } },
    body: { description: "described", price: 20 },
  });
  assert.equal(ok(put, 200).description, "described");
  const cleared = ok(await client.PATCH("/api/products/{id}", { params: { path: { id } }, body: { description: null } }), 200);
  assert.equal(cleared.description, null);
  assert.equal(cleared.price, 20);
  const query = { q: product.name, min_price: "19.99", in_stock: true };
  const found = ok(await client.GET("/api/products", { params: { query } }), 200);
  assert.deepEqual(found.map((p) => p.id), [id]);
  assert.equal((await client.HEAD("/api/products", { params: { query } })).response.status, 200);
  problem(await client.DELETE("/api/products/{id}", { params: { path: { id }, header: { "If-Match": tag } } }), 412);
  assert.equal((await client.DELETE("/api/products/{id}", { params: { path: { id } } })).response.status, 204);
});

test("an order: create, replay, 409 on oversell, 304, filters, status moves", async () => {
  const { user } = await newUser();
  const product = await newProduct(3);
  const body = { user_id: user.id, items: [{ product_id: product.id, quantity: 2 }] };
  const header = { "Idempotency-Key": unique("key") };
  const order = ok(await client.POST("/api/orders", { params: { header }, body }), 201);
  assert.equal(order.total_amount, 25);
  assert.equal(order.status, "pending");
  const replayed = await client.POST("/api/orders", { params: { header }, body });
  assert.equal(ok(replayed, 201).id, order.id);
  assert.equal(replayed.response.headers.get("idempotent-replayed"), "true");
  // One left: two more is 409, and nothing is taken.
  problem(await client.POST("/api/orders", { body }), 409);
  const stock = ok(await client.GET("/api/products/{id}", { params: { path: { id: product.id } } }), 200);
  assert.equal(stock.stock_quantity, 1);
  const id = order.id;
  const got = await client.GET("/api/orders/{id}", { params: { path: { id } } });
  const tag = got.response.headers.get("etag") ?? "";
  const again = await client.GET("/api/orders/{id}", { params: { path: { id }, header: { "If-None-Match": tag } } });
  assert.equal(again.response.status, 304);
  assert.equal((await client.HEAD("/api/orders/{id}", { params: { path: { id } } })).response.status, 200);
  const mine = ok(await client.GET("/api/orders", { params: { query: { user_id: user.id, status: "pending" } } }), 200);
  assert.deepEqual(mine.map((o) => o.id), [id]);
  assert.equal((await client.HEAD("/api/orders", { params: { query: { user_id: user.id } } })).response.status, 200);
  const change = { params: { path: { id }, header: { "If-Match": tag } }, body: { status: "confirmed" as const } };
  assert.equal(ok(await client.PATCH("/api/orders/{id}", change), 200).status, "confirmed");
  problem(await client.PATCH("/api/orders/{id}", change), 412);
  const back = await client.PATCH("/api/orders/{id}", { params: { path: { id } }, body: { status: "pending" } });
  assert.equal(problem(back, 409).title, "Conflict");
});

test("a 422 is a typed problem that names the field", async () => {
  const bad = await client.POST("/api/users", { body: { username: unique("ts"), email: "not-an-email" } });
  const rules = problem(bad, 422);
  assert.deepEqual(rules.errors?.map((error) => error.field), ["email"]);
  const unknown = { user_id: 9_000_000_000, items: [{ product_id: 1, quantity: 1 }] };
  assert.equal(problem(await client.POST("/api/orders", { body: unknown }), 422).errors?.[0]?.field, "user_id");
});

test("pagination follows Link by after", async () => {
  for (let i = 0; i < 3; i++) await newUser();
  const everyone = ok(await client.GET("/api/users", { params: { query: { limit: 1000 } } }), 200).map((u) => u.id);
  const seen: number[] = [];
  let after = 0;
  for (let page = 0; page <= everyone.length; page++) {
    const answer = await client.GET("/api/users", { params: { query: { limit: 2, after } } });
    seen.push(...ok(answer, 200).map((u) => u.id));
    const link = answer.response.headers.get("link");
    if (link === null) break;
    const next = /^<[^>]*[?&]limit=2&after=([0-9]+)>; rel="next"$/.exec(link);
    assert.ok(next?.[1], link);
    after = Number(next[1]);
  }
  assert.deepEqual(seen, everyone);
  assert.ok(seen.length >= 6);
});

test("over the rate limit: a typed 429 with Retry-After", async () => {
  let answer = await client.GET("/health");
  for (let i = 0; i < 20 && answer.response.status !== 429; i++) answer = await client.GET("/health");
  assert.equal(problem(answer, 429).title, "Too Many Requests");
  assert.ok(Number(answer.response.headers.get("retry-after")) >= 0);
  assert.match(answer.response.headers.get("ratelimit-policy") ?? "", /^"health";/);
});
