"""The split deployment's edges, proved through the generated HAProxy
configuration by prove_split.py (which starts the processes and the proxy):

  metrics  /metrics is not public: through the proxy every method gets the
           runtime's 404 problem, while each instance still serves it to a
           scraper that asks the instance itself;
  cors     a browser-style preflight (Origin, Access-Control-Request-Method
           and -Headers) for every method of every route reaches the group
           serving it and is granted; a method the path does not serve is not.

Standard library only.
"""

import json
import re

from split_cluster import HERE, ORIGIN, Failed, log, request


def step_metrics(split):
    """/metrics through the proxy is a 404 problem; on an instance, a scrape."""
    for method in ("GET", "HEAD", "POST"):
        status, headers, body = request(split.proxy.port, method, "/metrics")
        if status != 404 or b"# TYPE" in body:
            raise Failed(f"{method} /metrics through the proxy: {status}, {body[:120]!r} (public metrics)")
        if method == "GET" and headers.get("content-type") != "application/problem+json":
            raise Failed(f"GET /metrics through the proxy: {headers.get('content-type')}, not the runtime's 404")
    instance = next(iter(split.slots["ops"].values()))
    status, _, body = request(instance.port, "GET", "/metrics")
    if status != 200 or b"# TYPE" not in body:
        raise Failed(f"GET /metrics on instance {instance.name}: {status}: the scrape itself broke")
    log("  /metrics through the proxy: 404 for GET, HEAD, POST; on an instance: the exposition")


def preflight(port, path, method):
    status, headers, _ = request(port, "OPTIONS", path, headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type, if-match",
    })
    granted = [m.strip() for m in headers.get("access-control-allow-methods", "").split(",") if m.strip()]
    return status, headers.get("access-control-allow-origin"), granted


def step_cors(split):
    """Every (method, path) of the registry: its preflight through the proxy
    is a 204 granting the origin and the method; an unserved method is not granted."""
    routes = json.loads((HERE / "routes.json").read_text())
    hidden = set(json.loads((HERE / "groups.json").read_text()).get("not_on_gateway", []))
    asked = 0
    for route in [r for r in routes if r["function"] not in hidden]:
        path = re.sub(r"\{[^}]+\}", "1", route["path"])
        for method in [m for m in route["methods"] if m != "HEAD"]:
            status, origin, granted = preflight(split.proxy.port, path, method)
            if status != 204 or origin != ORIGIN or method not in granted:
                raise Failed(f"preflight for {method} {path} through the proxy: {status}, "
                                f"origin {origin}, methods {granted}")
            asked += 1
    served = {m for r in routes if r["path"] == "/api/orders" for m in r["methods"]}
    status, _, granted = preflight(split.proxy.port, "/api/orders", "DELETE")
    if "DELETE" in served or "DELETE" in granted:
        raise Failed(f"preflight for DELETE /api/orders granted {granted} ({status})")
    log(f"  {asked} preflights (every method of every route) granted through the proxy; "
           "DELETE /api/orders not granted")
