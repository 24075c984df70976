"""The split deployment's routing, proved through the generated HAProxy
configuration by prove_split.py (which starts the processes and the proxy):

  routing    every 405 and 404 through the proxy equals a single process's
             (status, Allow, type), and loadtest/smoke.js passes through it;
  group-down every order-writes instance stopped: order POSTs and PATCHes get
             a 503 problem document from the proxy, every other group serves.

Standard library only.
"""

import json
import os
import re
import subprocess
import time

from split_cluster import HERE, ROOT, Failed, Instance, log, request

# Smoke checks that fail through the split for a reason outside it, with the
# reason; anything else failing fails the proof. None today (GET / lists the
# whole registry in every process).
KNOWN_GAPS: dict[str, str] = {}


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
        log(f"  note: smoke check {name!r} passes now; drop it from KNOWN_GAPS in prove_routing.py")
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
