"""The split deployment's edges, proved through the generated HAProxy
configuration by prove_split.py (which starts the processes and the proxy):

  metrics  /metrics is not public: through the proxy every method gets the
           runtime's 404 problem, while each instance still serves it to a
           scraper that asks the instance itself.

Standard library only.
"""

import prove_split as ps


def step_metrics(split):
    """/metrics through the proxy is a 404 problem; on an instance, a scrape."""
    for method in ("GET", "HEAD", "POST"):
        status, headers, body = ps.request(split.proxy.port, method, "/metrics")
        if status != 404 or b"# TYPE" in body:
            raise ps.Failed(f"{method} /metrics through the proxy: {status}, {body[:120]!r} (public metrics)")
        if method == "GET" and headers.get("content-type") != "application/problem+json":
            raise ps.Failed(f"GET /metrics through the proxy: {headers.get('content-type')}, not the runtime's 404")
    instance = next(iter(split.slots["ops"].values()))
    status, _, body = ps.request(instance.port, "GET", "/metrics")
    if status != 200 or b"# TYPE" not in body:
        raise ps.Failed(f"GET /metrics on instance {instance.name}: {status}: the scrape itself broke")
    ps.log("  /metrics through the proxy: 404 for GET, HEAD, POST; on an instance: the exposition")
