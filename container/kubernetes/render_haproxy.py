"""proxy/haproxy.cfg, written by generate.py: the same routing as the
HTTPRoute for HAProxy 2.6, with the registry's 405s answered by the proxy
itself, its own errors as problem documents, and a backend of empty server
slots per group (prove_split.py fills them).

Standard library only.
"""

import json

from grouping import HEADER, NOT_PUBLIC_PREFIX, PREFLIGHT_HEADER, allow_by_path, comment, is_literal, path_regex, preflights


def problem(status, title, detail):
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}, separators=(",", ":"))


def haproxy(doc, routes, owner):
    skip = set(doc.get("not_on_gateway", []))
    hidden = [r["path"] for r in routes if r["function"] in skip]
    routes = [r for r in routes if r["function"] not in skip]
    allow = allow_by_path(routes)
    lines = []
    add = lines.append
    add(comment(HEADER).rstrip("\n"))
    add(comment(
        "HAProxy 2.6: every method and path of the registry to its group's backend.\n"
        "Load it after a file with your `global` section (stats socket at level\n"
        "admin): haproxy -f global.cfg -f haproxy.cfg, with SHOP_PROXY_BIND set\n"
        "(e.g. 127.0.0.1:8080). Each backend has empty server slots; give each\n"
        "instance one through the runtime API, as an endpoints controller would:\n"
        "  set server reads/srv1 addr 10.0.0.7 port 5000\n"
        "  set server reads/srv1 state ready      (state maint to take it out)\n"
        "prove_split.py does exactly that."
    ).rstrip("\n"))
    add("")
    add("defaults shop")
    add("    mode http")
    add("    timeout connect 2s")
    add("    timeout client 30s")
    add("    # Above REQUEST_TIMEOUT_MS (10 s): the runtime's own 504 arrives first.")
    add("    timeout server 15s")
    add("    timeout http-request 10s")
    add("    timeout http-keep-alive 10s")
    add("    timeout queue 2s")
    add("    # A refused connection (an instance just stopped) is retried on another one;")
    add("    # nothing was sent, so this is safe for POST too.")
    add("    retries 3")
    add("    option redispatch 1")
    add("    http-reuse safe")
    add("    # The proxy's own errors as problem documents, like the runtime's.")
    for status, title, detail in [
        (502, "Bad Gateway", "the function group answered with something that is not HTTP"),
        (503, "Service Unavailable", "no instance of the function group serving this route is available"),
        (504, "Gateway Timeout", "the function group did not answer in time"),
    ]:
        extra = " hdr Retry-After 1" if status == 503 else ""
        add(f"    http-error status {status} content-type \"application/problem+json\" "
            f"string '{problem(status, title, detail)}'{extra} hdr X-Request-Id \"%[req.hdr(x-request-id)]\"")
    add("")
    add("frontend shop")
    add('    bind "${SHOP_PROXY_BIND}"')
    add("    # One id per request, through the proxy's answers and the runtime's logs.")
    add("    http-request set-header X-Request-Id %[uuid] unless { req.hdr(x-request-id) -m found }")
    add("")
    for path in hidden:
        add(f"    # Not public ({path} is scraped from each instance): the runtime's 404.")
        add(f"    http-request set-path {NOT_PUBLIC_PREFIX}%[path] if {{ path {path} }}")
    add("")
    add("    # A known path with a method no group serves: 405 with the whole")
    add("    # registry's Allow, as one process serving everything would answer.")
    for path, methods in allow.items():
        # OPTIONS goes on to a group: with CORS on the runtime answers it.
        accepted = [m for r in routes if r["path"] == path for m in r["methods"]] + ["OPTIONS"]
        cond = f"{{ path {path} }}" if is_literal(path) else f"{{ path_reg {path_regex(path)} }}"
        body = problem(405, "Method Not Allowed", f"this path serves {methods} only")
        add(f"    http-request return status 405 content-type \"application/problem+json\" string '{body}' "
            f"hdr Allow \"{methods}\" hdr X-Request-Id \"%[req.hdr(x-request-id)]\" "
            f"if {cond} !{{ method {' '.join(accepted)} }}")
    add("")
    for group in doc["groups"]:
        mine = [r for r in routes if owner[r["function"]] == group["name"]]
        add(f"    # {group['name']}: {', '.join(r['function'] for r in mine)}")
        for r in mine:
            cond = f"{{ path {r['path']} }}" if is_literal(r["path"]) else f"{{ path_reg {path_regex(r['path'])} }}"
            add(f"    use_backend {group['name']} if {{ method {' '.join(r['methods'])} }} {cond}")
        for method, path in preflights(routes, owner, group["name"]):
            cond = f"{{ path {path} }}" if is_literal(path) else f"{{ path_reg {path_regex(path)} }}"
            add(f"    use_backend {group['name']} if {{ method OPTIONS }} "
                f"{{ req.hdr({PREFLIGHT_HEADER.lower()}) -m str {method} }} {cond}")
    # Any other OPTIONS on a known path (no or an unserved requested method):
    # the group serving the path's first route, as the HTTPRoute does.
    add("    # Other OPTIONS on a known path: the group of the path's first route.")
    seen = set()
    for r in routes:
        if r["path"] in seen:
            continue
        seen.add(r["path"])
        cond = f"{{ path {r['path']} }}" if is_literal(r["path"]) else f"{{ path_reg {path_regex(r['path'])} }}"
        add(f"    use_backend {owner[r['function']]} if {{ method OPTIONS }} {cond}")
    add("    # Unknown paths: the runtime's 404 problem document.")
    add(f"    default_backend {doc['fallback_group']}")
    for group in doc["groups"]:
        add("")
        add(f"backend {group['name']}")
        add("    balance leastconn")
        add("    # Readiness, as in Kubernetes: out of rotation while it cannot reach PostgreSQL.")
        add("    option httpchk")
        add("    http-check send meth GET uri /db-check")
        add("    http-check expect status 200")
        add("    default-server check inter 2s fall 2 rise 1")
        add(f"    server-template srv 1-{doc['proxy_slots']} 127.0.0.1:5000 disabled")
    return "\n".join(lines) + "\n"
