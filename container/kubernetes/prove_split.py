#!/usr/bin/env python3
"""Proves the split deployment on loopback, with the real programs.

A throwaway PostgreSQL 15, two runtime processes per function group (each
with the FUNCTIONS value of its overlays/split group), and HAProxy loaded
with the generated proxy/haproxy.cfg in front, its server slots filled
through the runtime API the way an endpoints controller would. Then:

  routing    every 405 and 404 through the proxy equals a single process's
             (status, Allow), and loadtest/smoke.js passes through it;
  rolling    under a steady k6 load (rolling-load.js), every instance is
             replaced in turn as Kubernetes does it (out of rotation, SIGTERM,
             a new one started, in rotation once ready): no failed request,
             and the orders in the database are exactly those the clients
             were told were created;
  metrics    /metrics is not public through the proxy (prove_edges.py);
  cors       with CORS on, a browser's preflight for every method of every
             route is granted through the proxy (prove_edges.py);
  group-down every order-writes instance stopped: order POSTs and PATCHes get
             a 503 problem document from the proxy, every other group serves;
  cold-start time from spawning a process to its first 200 on
             GET /api/users/1 (a database route), median of 10.

Run through prove-split.sh, which installs k6 and HAProxy first. Everything
listens on 127.0.0.1 and stops before it returns. Standard library only.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

# Smoke-test checks that fail through the split for a reason outside this
# directory, each with the reason. Anything else failing fails the proof.
# Smoke checks that fail through the split for a reason outside it, with the
# reason; none today (GET / lists the whole registry in every process).
KNOWN_GAPS: dict[str, str] = {}
# The origin every instance allows (loadtest/smoke.js's default ORIGIN).
ORIGIN = "https://smoke.example"


class Failed(Exception):
    pass


def log(message):
    print(message, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers with lower-case names, body) of one request on its own connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def as_postgres(cmd):
    # initdb refuses to run as root.
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


class Postgres:
    def __init__(self, tmp):
        self.dir = tmp / "pg"
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        data = self.dir / "data"
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
                       check=True, stdout=subprocess.DEVNULL)
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts,
                                    "-l", str(self.dir / "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def query(self, sql):
        out = subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-At", "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout.split()


class Instance:
    """One runtime process: a pod of a group."""

    def __init__(self, binary, tmp, db_url, name, extra_env=None):
        self.name, self.port = name, free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": db_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": "1",
            "POOL_SIZE": "5",
            "LOG_LEVEL": "warn",
            # CORS on, as for a browser-facing shop: the preflights are
            # routed too (prove_edges.py); smoke.js checks one with ORIGIN.
            "CORS_ALLOW_ORIGINS": ORIGIN,
            # The proof's throwaway database gets the sample data it asks
            # for by id (user 1, product 1), as the embedded start would.
            "SAMPLE_DATA": "true",
        }
        env.update(extra_env or {})
        self.log_path = tmp / f"{name}.log"
        self.log_file = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([str(binary)], env=env, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-2000:]

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if request(self.port, "GET", "/db-check", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise Failed(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout=20):
        """SIGTERM, as the kubelet sends it; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed(f"{self.name} did not stop within {timeout} s of SIGTERM")
        self.log_file.close()
        return self.proc.returncode


class HAProxy:
    def __init__(self, tmp):
        self.port = free_port()
        self.sock = tmp / "haproxy.sock"
        self.global_cfg = tmp / "global.cfg"
        self.global_cfg.write_text(f"global\n    stats socket {self.sock} mode 600 level admin\n    maxconn 4096\n")
        self.log = open(tmp / "haproxy.log", "wb")
        env = dict(os.environ, SHOP_PROXY_BIND=f"127.0.0.1:{self.port}")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.global_cfg), "-f", str(HERE / "proxy/haproxy.cfg")],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Failed("haproxy did not start: " + (tmp / "haproxy.log").read_text())
            time.sleep(0.05)

    def api(self, command):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.sock))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def status(self, backend, server):
        lines = self.api("show stat").splitlines()
        columns = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(columns, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == server:
                return row
        raise Failed(f"no server {backend}/{server}")

    def add(self, backend, slot, port, timeout=10):
        """Into rotation, once its health check (/db-check) passes."""
        server = f"srv{slot}"
        for command in (f"set server {backend}/{server} addr 127.0.0.1 port {port}",
                        f"set server {backend}/{server} state ready"):
            answer = self.api(command).strip()
            if answer and "changed" not in answer:
                raise Failed(f"haproxy: {command}: {answer}")
        deadline = time.monotonic() + timeout
        while self.status(backend, server)["status"] != "UP":
            if time.monotonic() > deadline:
                raise Failed(f"{backend}/{server} not UP after {timeout} s: {self.status(backend, server)['status']}")
            time.sleep(0.05)

    def remove(self, backend, slot):
        """Out of rotation: no new request; those in flight finish."""
        self.api(f"set server {backend}/srv{slot} state maint")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


def group_env():
    """Each group's environment (FUNCTIONS, POOL_SIZE), read from the
    committed split overlay: the proof runs what would be deployed."""
    groups = json.loads((HERE / "groups.json").read_text())["groups"]
    out = {}
    for group in groups:
        text = (HERE / "overlays/split/groups" / group["name"] / "kustomization.yaml").read_text()
        env = dict(re.findall(r'name: ([A-Z_]+)\n\s+value: "([^"]*)"', text))
        if "FUNCTIONS" not in env:
            raise Failed(f"no FUNCTIONS in overlays/split/groups/{group['name']}")
        out[group["name"]] = env
    return out


class Split:
    """Two instances per group behind HAProxy."""

    def __init__(self, binary, tmp, pg):
        self.binary, self.tmp, self.pg = binary, tmp, pg
        self.env = group_env()
        self.slots = {}  # group -> {slot: Instance}
        self.serial = 0
        self.proxy = None
        self.spawned = []  # every instance, for the clean-up

    def spawn(self, group):
        self.serial += 1
        instance = Instance(self.binary, self.tmp, self.pg.url, f"{group}-{self.serial}", self.env[group])
        self.spawned.append(instance)
        return instance

    def start(self, together=True):
        """All eight at once on the fresh database, as a first rollout
        starts them: one applies sql/ (CREATE INDEX CONCURRENTLY among it)
        while the others poll for the schema lock, which holds no snapshot
        the index build would wait for (an earlier blocking lock deadlocked
        here). --one-first lets the first migrate alone, as a Job would."""
        pending = []
        for group in self.env:
            for slot in (1, 2):
                pending.append((group, slot, self.spawn(group)))
                if not together and len(pending) == 1:
                    pending[0][2].wait_ready()
        for _, _, instance in pending:
            instance.wait_ready()
        self.proxy = HAProxy(self.tmp)
        for group, slot, instance in pending:
            self.proxy.add(group, slot, instance.port)
            self.slots.setdefault(group, {})[slot] = instance

    def next_slot(self, group):
        return max(self.slots[group]) + 1

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        for instance in self.spawned:
            try:
                instance.stop(5)
            except Failed:
                pass


# ---------------------------------------------------------------- steps

def sample_path(template):
    return re.sub(r"\{[^}]+\}", "1", template)


def step_routing(split, binary, tmp, pg, k6):
    """405s and 404s equal a single process's; the smoke test passes."""
    # Paths kept off the gateway (/metrics) answer 404 there, by design:
    # prove_edges.py's metrics step covers them.
    hidden = set(json.loads((HERE / "groups.json").read_text()).get("not_on_gateway", []))
    routes = [r for r in json.loads((HERE / "routes.json").read_text()) if r["function"] not in hidden]
    reference = Instance(binary, tmp, pg.url, "reference")
    try:
        reference.wait_ready()
        compared = 0
        paths = sorted({r["path"] for r in routes}) + ["/no/such/route", "/api/users/1/nothing"]
        for path in paths:
            methods = {m for r in routes if r["path"] == path for m in r["methods"]}
            for method in [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in methods][:2] or ["GET"]:
                via_proxy = request(split.proxy.port, method, sample_path(path), body={} if method != "GET" else None)
                direct = request(reference.port, method, sample_path(path), body={} if method != "GET" else None)
                a = (via_proxy[0], via_proxy[1].get("allow"), via_proxy[1].get("content-type"))
                b = (direct[0], direct[1].get("allow"), direct[1].get("content-type"))
                if a != b:
                    raise Failed(f"{method} {sample_path(path)}: proxy {a}, one process {b}")
                compared += 1
        log(f"  {compared} wrong-method and unknown-path answers equal one process's (status, Allow, type)")
    finally:
        reference.stop()

    summary_dir = tmp / "smoke"
    summary_dir.mkdir()
    # /metrics is not public through the proxy: smoke.js scrapes an instance.
    scraped = next(iter(split.slots["ops"].values()))
    env = dict(os.environ, BASE_URL=f"http://127.0.0.1:{split.proxy.port}", SUMMARY_DIR=str(summary_dir),
               METRICS_URL=f"http://127.0.0.1:{scraped.port}/metrics")
    points = tmp / "smoke-points.json"
    run = subprocess.run([k6, "run", "-q", f"--out=json={points}", "loadtest/smoke.js"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=150)
    summaries = list(summary_dir.glob("smoke-*.json"))
    if not summaries:
        raise Failed(f"k6 smoke wrote no summary (exit {run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    data = json.loads(summaries[0].read_text())["summary"]
    failed = {}

    def walk(group):
        for c in group.get("checks", []) or []:
            if c.get("fails"):
                failed[c["name"]] = c["fails"]
        for g in group.get("groups", []) or []:
            walk(g)

    walk(data["root_group"])
    passed = data["metrics"]["checks"]["values"]["passes"]
    unexpected = {name: n for name, n in failed.items() if name not in KNOWN_GAPS}
    http_failed = data["metrics"]["http_req_failed"]["values"]["passes"]
    if unexpected or http_failed:
        raise Failed(f"smoke through the proxy: failed checks {unexpected}, unexpected responses: "
                     f"{unexpected_responses(points)}\n" + run.stdout[-3000:])
    for name in failed:
        log(f"  KNOWN GAP, not this proof's: smoke check {name!r} fails: {KNOWN_GAPS[name]}")
    for name in set(KNOWN_GAPS) - set(failed):
        log(f"  note: smoke check {name!r} passes now; drop it from KNOWN_GAPS in prove_split.py")
    log(f"  loadtest/smoke.js through the proxy: {passed} checks passed, "
        f"{sum(failed.values())} failed (known gaps above), 0 unexpected responses")


def unexpected_responses(points):
    """(name, status) of each request k6 counted as failed, from its JSON output."""
    out = []
    for line in points.read_text().splitlines():
        point = json.loads(line)
        if point.get("metric") == "http_req_failed" and point.get("type") == "Point" and point["data"]["value"]:
            tags = point["data"].get("tags", {})
            out.append((tags.get("name"), tags.get("status")))
    return out


def step_rolling(split, tmp, pg, k6, rate, duration):
    """Every instance replaced under load: no failure, no lost or extra order."""
    port = split.proxy.port
    suffix = f"{os.getpid()}{int(time.time())}"
    status, _, body = request(port, "POST", "/api/users", {"username": f"rolling_{suffix}",
                                                           "email": f"rolling_{suffix}@example.com"})
    if status != 201:
        raise Failed(f"creating the load's user: {status} {body[:200]}")
    user_id = json.loads(body)["id"]
    status, _, body = request(port, "POST", "/api/products", {"name": f"rolling-{suffix}", "price": "1.00",
                                                              "stock_quantity": 1000000000})
    if status != 201:
        raise Failed(f"creating the load's product: {status} {body[:200]}")
    product_id = json.loads(body)["id"]

    report_file = tmp / "rolling-report.json"
    k6_log = open(tmp / "rolling-k6.log", "w")
    env = dict(os.environ, BASE_URL=f"http://127.0.0.1:{port}", USER_ID=str(user_id), PRODUCT_ID=str(product_id),
               RATE=str(rate), DURATION=f"{duration}s", REPORT_FILE=str(report_file))
    load = subprocess.Popen([k6, "run", "-q", "--log-output=stdout", str(HERE / "rolling-load.js")], cwd=ROOT, env=env,
                            stdout=k6_log, stderr=subprocess.STDOUT)
    restarts = []
    try:
        time.sleep(3)
        for group in list(split.slots):
            for old_slot in sorted(split.slots[group]):
                old = split.slots[group][old_slot]
                began = time.perf_counter()
                # Kubernetes: the endpoint leaves the Service, preStop waits,
                # then SIGTERM; the runtime drains what is in flight.
                split.proxy.remove(group, old_slot)
                time.sleep(0.5)
                code = old.stop()
                if code != 0:
                    raise Failed(f"{old.name} exited with {code} after SIGTERM:\n{old.log_tail()}")
                del split.slots[group][old_slot]
                new = split.spawn(group)
                new.wait_ready()
                slot = split.next_slot(group) if split.slots[group] else old_slot + 2
                split.proxy.add(group, slot, new.port)
                split.slots[group][slot] = new
                restarts.append(time.perf_counter() - began)
                if load.poll() is not None:
                    raise Failed("the load ended before every instance was replaced: raise --duration")
        load.wait(timeout=duration + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        k6_log.close()
    output = (tmp / "rolling-k6.log").read_text()
    if not report_file.exists():
        raise Failed(f"k6 wrote no report (exit {load.returncode}):\n{output[-3000:]}")
    report = json.loads(report_file.read_text())
    seen = [int(n) for n in re.findall(r"created order (\d+)", output)]
    in_db = [int(n) for n in pg.query(f"SELECT id FROM orders WHERE user_id = {user_id}")]
    log(f"  {len(restarts)} instances replaced one by one under {rate} req/s "
        f"(each {min(restarts):.2f}-{max(restarts):.2f} s from out of rotation to its successor in rotation)")
    log(f"  k6: {report['requests']} requests, {report['failed_requests']} failed, {report['checks_failed']} "
        f"failed checks, {report['dropped_iterations']} dropped, p99 {report['p99_ms']:.1f} ms, "
        f"max {report['max_ms']:.1f} ms")
    log(f"  orders: {report['orders_created']} answered 201, {len(set(seen))} distinct ids logged, "
        f"{len(in_db)} rows in the database")
    problems = []
    if report["failed_requests"] or report["checks_failed"] or report["dropped_iterations"] or load.returncode:
        problems.append(f"k6 exit {load.returncode}: failed requests or checks or dropped iterations")
    if len(seen) != report["orders_created"] or len(set(seen)) != len(seen):
        problems.append("the logged order ids do not match the 201 count")
    if sorted(in_db) != sorted(seen):
        lost, extra = set(seen) - set(in_db), set(in_db) - set(seen)
        problems.append(f"orders lost: {sorted(lost)[:10]}, orders nobody was told of: {sorted(extra)[:10]}")
    if report["orders_created"] == 0:
        problems.append("no order was created")
    if problems:
        raise Failed("; ".join(problems) + "\n" + output[-2000:])


def step_group_down(split):
    """order-writes gone: a clean 503 for its routes, every other group serves."""
    port = split.proxy.port
    for instance in split.slots["order-writes"].values():
        instance.stop()
    deadline = time.monotonic() + 6
    counts = {"POST /api/orders 503": 0, "PATCH /api/orders/1 503": 0, "reads 200": 0, "other writes 201": 0,
              "ops 200": 0}
    n = 0
    while time.monotonic() < deadline:
        n += 1
        status, headers, body = request(port, "POST", "/api/orders",
                                        {"user_id": 1, "items": [{"product_id": 1, "quantity": 1}]})
        problem = json.loads(body) if headers.get("content-type") == "application/problem+json" else None
        if status != 503 or not problem or problem.get("status") != 503 or "retry-after" not in headers:
            raise Failed(f"POST /api/orders with order-writes down: {status} {headers} {body[:300]}")
        counts["POST /api/orders 503"] += 1
        status, headers, body = request(port, "PATCH", "/api/orders/1", {"status": "confirmed"})
        if status != 503 or headers.get("content-type") != "application/problem+json":
            raise Failed(f"PATCH /api/orders/1 with order-writes down: {status} {body[:300]}")
        counts["PATCH /api/orders/1 503"] += 1
        for path in ("/api/orders/1", "/api/users/1", "/api/products?limit=2", "/api/orders?limit=2"):
            status, _, body = request(port, "GET", path)
            if status != 200:
                raise Failed(f"GET {path} with order-writes down: {status} {body[:300]}")
            counts["reads 200"] += 1
        status, _, body = request(port, "POST", "/api/users", {"username": f"down_{os.getpid()}_{n}",
                                                               "email": f"down_{os.getpid()}_{n}@example.com"})
        if status != 201:
            raise Failed(f"POST /api/users with order-writes down: {status} {body[:300]}")
        counts["other writes 201"] += 1
        if request(port, "GET", "/health")[0] != 200:
            raise Failed("GET /health with order-writes down")
        counts["ops 200"] += 1
        time.sleep(0.2)
    state = [split.proxy.status("order-writes", f"srv{slot}")["status"] for slot in split.slots["order-writes"]]
    log("  for 6 s after both order-writes instances stopped (HAProxy's health checks marking them "
        f"{'/'.join(state)} meanwhile): " + ", ".join(f"{v} x {k}" for k, v in counts.items()))
    split.slots["order-writes"] = {}


def step_cold_start(binary, tmp, pg, runs):
    """Spawn to first 200 on a database route, against a database already set up."""
    times = []
    for i in range(runs):
        instance = Instance(binary, tmp, pg.url, f"cold-{i}")
        try:
            deadline = time.monotonic() + 30
            while True:
                if instance.proc.poll() is not None:
                    raise Failed(f"cold start {i}: exited {instance.proc.returncode}:\n{instance.log_tail()}")
                try:
                    if request(instance.port, "GET", "/api/users/1", timeout=2)[0] == 200:
                        times.append((time.perf_counter() - instance.started) * 1000)
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise Failed(f"cold start {i}: no 200 within 30 s")
                time.sleep(0.001)
        finally:
            instance.stop()
    log(f"  spawn to first 200 on GET /api/users/1, {runs} runs: median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f} ms, max {max(times):.1f} ms ({', '.join(f'{t:.1f}' for t in times)})")
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("RUNTIME_BIN", str(ROOT / "target/debug/runtime")))
    parser.add_argument("--k6", default=os.environ.get("K6", str(ROOT / ".venv/bin/k6")))
    parser.add_argument("--rate", type=int, default=40, help="requests/s of the rolling restart's load")
    parser.add_argument("--duration", type=int, default=45, help="seconds of load (must outlast the restarts)")
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--one-first", action="store_true",
                        help="let the first instance apply the schema before the others start")
    parser.add_argument("--steps", default="routing,rolling,metrics,cors,group-down,cold-start",
                        help="comma-separated subset, in this order")
    args = parser.parse_args()

    if not Path(args.bin).is_file():
        log(f"prove_split: no runtime binary at {args.bin} (set RUNTIME_BIN)")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="prove-split-"))
    tmp.chmod(0o755)  # the postgres user walks into it
    # A copy, so that a rebuild during the run changes nothing under it.
    binary = tmp / "runtime"
    shutil.copy2(args.bin, binary)
    # SIGTERM from CI's time limit: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    pg = Postgres(tmp)
    split = Split(binary, tmp, pg)
    results = {}
    try:
        pg.start()
        split.start(together=not args.one_first)
        log(f"split: {sum(len(s) for s in split.slots.values())} runtime processes ("
            + "; ".join(f"{g}: {e['FUNCTIONS']}" for g, e in split.env.items())
            + f") behind HAProxy on 127.0.0.1:{split.proxy.port}")
        steps = [
            ("routing", lambda: step_routing(split, binary, tmp, pg, args.k6)),
            ("rolling", lambda: step_rolling(split, tmp, pg, args.k6, args.rate, args.duration)),
            ("metrics", lambda: prove_edges.step_metrics(split)),
            ("cors", lambda: prove_edges.step_cors(split)),
            ("group-down", lambda: step_group_down(split)),
            ("cold-start", lambda: step_cold_start(binary, tmp, pg, args.cold_runs)),
        ]
        wanted = args.steps.split(",")
        for name, run in [(n, r) for n, r in steps if n in wanted]:
            log(f"--> {name}")
            began = time.monotonic()
            try:
                run()
                results[name] = True
                log(f"  ok ({time.monotonic() - began:.1f} s)")
            except Failed as error:
                results[name] = False
                log(f"  FAILED: {error}")
    except (Failed, subprocess.CalledProcessError) as error:
        log(f"setup FAILED: {error}")
        results["setup"] = False
    except KeyboardInterrupt:
        log("interrupted")
        results["interrupted"] = False
    finally:
        split.stop()
        pg.stop()
        if args.keep or not all(results.values()):
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(results.values())
    log(f"prove_split: {passed} passed, {len(results) - passed} failed")
    return 0 if results and all(results.values()) else 1


if __name__ == "__main__":
    # prove_edges.py's steps use this module's helpers: import it as
    # `prove_split`, not as a second copy under `__main__`.
    sys.modules.setdefault("prove_split", sys.modules[__name__])
    import prove_edges  # noqa: E402  (needs the alias above)

    sys.exit(main())
