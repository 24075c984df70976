"""The steady load: clients that do what a shop's clients do, through the
proxy host, and log every request with its time and outcome.

Each client (a thread with one keep-alive connection) mixes reads of
products, users and orders; orders with an Idempotency-Key; PATCHes of a
product with If-Match (and, after a success, the stale ETag again, which
must fail); PATCHes of the client's own user followed by a read with
Cache-Control: no-cache, which must show the write; new users.

An order whose outcome is unknown (timeout, reset, 5xx) goes to a resolver
that retries it with the same key and body until it gets a definite answer
(201, or 409 for no stock), bounded in time: the checker then knows for
every key whether exactly one order or none must exist.
"""

import http.client
import json
import random
import threading
import time
import uuid

TIMEOUT = 5.0
DEFINITE_ORDER = (201, 409, 422)


class Log:
    """Every request: t (s since the start), op, kind (read; fresh: a read
    with Cache-Control: no-cache, which only the primary serves; write), st (the
    status, or timeout/reset/refused), ms, and what the checker needs."""

    def __init__(self):
        self.t0 = time.time()
        self.rows = []

    def now(self):
        return time.time() - self.t0

    def add(self, **row):
        self.rows.append(row)  # list.append is atomic under the GIL

    def dump(self, path):
        with open(path, "w") as f:
            for row in self.rows:
                f.write(json.dumps(row, separators=(",", ":")) + "\n")


class Client:
    def __init__(self, host, port, log):
        self.host, self.port, self.log = host, port, log
        self.conn = None

    def call(self, op, kind, method, path, body=None, headers=None, **extra):
        """One request; returns (status or error word, headers, JSON body)."""
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        t = self.log.now()
        start = time.monotonic()
        st, rh, rb = "error", {}, None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self.conn.request(method, path, body=data, headers=hdrs)
            resp = self.conn.getresponse()
            raw = resp.read()
            st, rh = resp.status, {k.lower(): v for k, v in resp.getheaders()}
            try:
                rb = json.loads(raw) if raw else None
            except ValueError:
                rb = None
            if resp.will_close:
                self.close()
        except TimeoutError:
            st = "timeout"
            self.close()
        except ConnectionRefusedError:
            st = "refused"
            self.close()
        except (OSError, http.client.HTTPException):
            st = "reset"
            self.close()
        self.log.add(t=round(t, 4), op=op, kind=kind, st=st,
                     ms=round((time.monotonic() - start) * 1000, 2), **extra)
        return st, rh, rb

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def setup_data(client, run_id, n_products, n_users, stock):
    """Products and users through the API, retried until created; returns
    {product_id: initial stock} and [user ids]."""
    products, users = {}, []
    for i in range(n_products):
        # One product with little stock: orders sell it out, and overselling
        # would show there first.
        qty = 40 if i == 0 else stock
        body = {"name": f"bed-{run_id}-p{i}", "price": 10 + i, "stock_quantity": qty}
        products[_create(client, "/api/products", body)] = qty
    for i in range(n_users):
        body = {"username": f"bed{run_id}u{i}", "email": f"bed{run_id}u{i}@bed.test"}
        users.append(_create(client, "/api/users", body))
    return products, users


def _create(client, path, body):
    for _ in range(50):
        st, _h, rb = client.call("setup", "write", "POST", path, body)
        if st == 201:
            return rb["id"]
        if st == 409:  # created by an earlier try whose answer was lost
            raise RuntimeError(f"setup: {path} {body} exists; use a new run id")
        time.sleep(0.5)
    raise RuntimeError(f"setup: POST {path} kept failing")


class Load:
    """`workers` clients at about `rate` requests per second each."""

    def __init__(self, host, port, products, users, workers=8, rate=12.0):
        self.host, self.port = host, port
        self.products = list(products)
        self.users = users
        self.workers, self.rate = workers, rate
        self.log = Log()
        self.stop = threading.Event()
        self.unknown = []          # orders to resolve: (key, body)
        self.unknown_lock = threading.Lock()
        self.orders = {}           # key -> (body, final status, order id)
        self.acked = []            # order ids answered 201
        self.threads = []
        self.counter = 0

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._worker, args=(w,), daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self._resolver, daemon=True)
        t.start()
        self.threads.append(t)

    def finish(self, resolve_for=60.0):
        """Stops the clients, then resolves what is still unknown."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=TIMEOUT + 5)
        self._resolve_all(Client(self.host, self.port, self.log), deadline=resolve_for)

    def _worker(self, w):
        rnd = random.Random(w)
        c = Client(self.host, self.port, self.log)
        own_user = self.users[w % len(self.users)]
        n = 0
        while not self.stop.is_set():
            begin = time.monotonic()
            n += 1
            r = rnd.random()
            if r < 0.45:
                self._read(c, rnd)
            elif r < 0.65:
                self._order(c, rnd)
            elif r < 0.80:
                self._patch_product(c, rnd)
            elif r < 0.95:
                self._patch_user(c, own_user, f"bed{w}n{n}r{rnd.randrange(10**6)}")
            else:
                k = uuid.uuid4().hex[:12]
                c.call("user-create", "write", "POST", "/api/users",
                       {"username": f"nu{k}", "email": f"nu{k}@bed.test"})
            rest = 1.0 / self.rate - (time.monotonic() - begin)
            if rest > 0:
                self.stop.wait(rest)
        c.close()

    def _read(self, c, rnd):
        r = rnd.random()
        if r < 0.6:
            c.call("product-get", "read", "GET", f"/api/products/{rnd.choice(self.products)}")
        elif r < 0.8:
            c.call("product-list", "read", "GET", "/api/products?limit=20")
        elif self.acked:
            c.call("order-get", "read", "GET", f"/api/orders/{rnd.choice(self.acked)}")
        else:
            c.call("user-get", "read", "GET", f"/api/users/{rnd.choice(self.users)}")

    def _order(self, c, rnd):
        items = [{"product_id": p, "quantity": rnd.randint(1, 3)}
                 for p in rnd.sample(self.products, rnd.randint(1, 2))]
        body = {"user_id": rnd.choice(self.users), "items": items}
        key = uuid.uuid4().hex
        st, _h, rb = c.call("order", "write", "POST", "/api/orders", body,
                            {"Idempotency-Key": key}, key=key)
        self._settle(key, body, st, rb)

    def _settle(self, key, body, st, rb):
        if st in DEFINITE_ORDER:
            oid = rb.get("id") if st == 201 and isinstance(rb, dict) else None
            self.orders[key] = (body, st, oid)
            if oid:
                self.acked.append(oid)
        else:
            self.orders[key] = (body, "unknown", None)
            with self.unknown_lock:
                self.unknown.append((key, body))

    def _patch_product(self, c, rnd):
        pid = rnd.choice(self.products)
        st, h, _ = c.call("product-fresh", "fresh", "GET", f"/api/products/{pid}",
                          headers={"Cache-Control": "no-cache"})
        if st != 200 or "etag" not in h:
            return
        tag = h["etag"]
        body = {"price": round(rnd.uniform(1, 100), 2)}
        st, h2, _ = c.call("product-patch", "write", "PATCH", f"/api/products/{pid}", body,
                           {"If-Match": tag}, pid=pid, if_match=tag)
        if st == 200 and rnd.random() < 0.5:
            # The version just replaced: must never be written over again.
            c.call("product-stale", "write", "PATCH", f"/api/products/{pid}",
                   {"price": 1.0}, {"If-Match": tag}, pid=pid, if_match=tag)

    def _patch_user(self, c, uid, name):
        st, _h, _ = c.call("user-patch", "write", "PATCH", f"/api/users/{uid}",
                           {"username": name})
        if st != 200:
            return
        st, _h, rb = c.call("user-fresh", "fresh", "GET", f"/api/users/{uid}",
                            headers={"Cache-Control": "no-cache"})
        if st == 200:
            seen = rb.get("username") if isinstance(rb, dict) else None
            self.log.add(t=round(self.log.now(), 4), op="ryw", kind="check",
                         st="ok" if seen == name else "stale", uid=uid)

    def _resolver(self):
        c = Client(self.host, self.port, self.log)
        while not self.stop.is_set():
            self._resolve_all(c, deadline=2.0)
            self.stop.wait(0.5)
        c.close()

    def _resolve_all(self, c, deadline):
        """Retries each unknown order with its key until it is definite."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            with self.unknown_lock:
                if not self.unknown:
                    return
                key, body = self.unknown.pop(0)
            st, _h, rb = c.call("order-retry", "write", "POST", "/api/orders", body,
                                {"Idempotency-Key": key}, key=key)
            if st in DEFINITE_ORDER:
                oid = rb.get("id") if st == 201 and isinstance(rb, dict) else None
                self.orders[key] = (body, st, oid)
                if oid:
                    self.acked.append(oid)
            else:
                with self.unknown_lock:
                    self.unknown.append((key, body))
                time.sleep(0.2)
