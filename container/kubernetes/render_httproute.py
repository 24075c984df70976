"""overlays/split/httproute.yaml, written by generate.py: the Gateway API
HTTPRoute sending each method and path of the registry to its group's
Service, CORS preflights by the method they ask for, other methods on a known
path to the runtime's 405, and what is not public to the runtime's 404.

Standard library only.
"""

from grouping import HEADER, NOT_PUBLIC_PREFIX, PREFLIGHT_HEADER, GroupError, comment, is_literal, path_regex, preflights, q

# Gateway API limits per HTTPRoute rule (the CRD's maxItems).
MATCHES_PER_RULE = 8


def httproute(doc, routes, owner):
    skip = set(doc.get("not_on_gateway", []))
    service = {g["name"]: f"shop-api-{g['name']}" for g in doc["groups"]}

    def path_match(template):
        if is_literal(template):
            return f"type: Exact\n            value: {q(template)}"
        return f"type: RegularExpression\n            value: {q(path_regex(template))}"

    def rule(matches, group, why=None):
        lines = ["    - matches:"]
        for method, template, *preflight in matches:
            lines.append("        - path:")
            lines.append("            " + path_match(template))
            if method:
                lines.append(f"          method: {method}")
            if preflight:
                lines.append("          headers:")
                lines.append(f"            - name: {PREFLIGHT_HEADER}")
                lines.append(f"              value: {preflight[0]}")
        lines.append("      backendRefs:")
        lines.append(f"        - name: {service[group]}")
        lines.append("          port: 5000")
        text = "\n".join(lines) + "\n"
        return (comment(why, "    #") if why else "") + text

    rules = []
    for group in doc["groups"]:
        matches = [
            (method, r["path"])
            for r in routes
            if owner[r["function"]] == group["name"] and r["function"] not in skip
            for method in r["methods"]
        ] + [("OPTIONS", path, method) for method, path in preflights(routes, owner, group["name"], skip)]
        for start in range(0, len(matches), MATCHES_PER_RULE):
            why = f"{group['name']}: {group['about']}" if start == 0 else None
            rules.append(rule(matches[start : start + MATCHES_PER_RULE], group["name"], why))
    # Any other method on a known path goes to the group serving its first
    # route, so the client gets the runtime's 405 problem instead of the
    # gateway's plain 404 (see docs/kubernetes.md for the Allow header).
    # Method matches outrank these at equal path type, and list order breaks
    # the remaining ties, so they stay below the method rules.
    catch = []
    seen = set()
    for r in routes:
        if r["function"] in skip or r["path"] in seen:
            continue
        seen.add(r["path"])
        catch.append((owner[r["function"]], r["path"]))
    by_group = {}
    for group, path in catch:
        by_group.setdefault(group, []).append((None, path))
    first = True
    for group in [g["name"] for g in doc["groups"]]:
        matches = by_group.get(group, [])
        for start in range(0, len(matches), MATCHES_PER_RULE):
            why = "Other methods on known paths: the runtime's 405." if first else None
            first = False
            rules.append(rule(matches[start : start + MATCHES_PER_RULE], group, why))
    fallback = doc["fallback_group"]
    for r in [r for r in routes if r["function"] in skip]:
        # Exact outranks the catch-all below, which would forward it as is.
        rules.append(
            f"    # Not public: {r['function']} is rewritten to a path nothing serves (the runtime's 404).\n"
            "    - matches:\n"
            "        - path:\n"
            "            type: Exact\n"
            f"            value: {q(r['path'])}\n"
            "      filters:\n"
            "        - type: URLRewrite\n"
            "          urlRewrite:\n"
            "            path:\n"
            "              type: ReplaceFullPath\n"
            f"              replaceFullPath: {q(NOT_PUBLIC_PREFIX + r['path'])}\n"
            "      backendRefs:\n"
            f"        - name: {service[fallback]}\n"
            "          port: 5000\n"
        )
    rules.append(
        "    # Anything else: the runtime's 404 problem document.\n"
        "    - matches:\n"
        "        - path:\n"
        "            type: PathPrefix\n"
        "            value: /\n"
        "      backendRefs:\n"
        f"        - name: {service[fallback]}\n"
        "          port: 5000\n"
    )
    if len(rules) > 16:
        raise GroupError(f"the HTTPRoute needs {len(rules)} rules; Gateway API allows 16: split it")
    parents = "".join(
        f"    - name: {p['name']}\n" + (f"      namespace: {p['namespace']}\n" if p.get("namespace") else "")
        for p in doc["gateway"]["parent_refs"]
    )
    hostnames = "".join(f"    - {q(h)}\n" for h in doc["gateway"].get("hostnames", []))
    return (
        comment(HEADER)
        + comment(
            "Method and path of every registry route to its group's Service.\n"
            "Templates like /api/users/{id} become RegularExpression matches, which\n"
            "Gateway API leaves to the implementation (Envoy-based gateways, NGINX\n"
            "Gateway Fabric and others support them)."
            + ("\nNot public: " + ", ".join(sorted(skip)) + " (scraped from each pod), rewritten to a path"
               "\nnothing serves; URLRewrite is Extended support, which the implementations"
               "\nabove have." if skip else "")
        )
        + f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop-api
  labels:
    app.kubernetes.io/name: shop-api
spec:
  parentRefs:
{parents}"""
        + (f"  hostnames:\n{hostnames}" if hostnames else "")
        + "  rules:\n"
        + "".join(rules)
    )
