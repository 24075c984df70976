#!/usr/bin/env python3
"""Properties of the rendered manifests that an operator relies on and that
schemas cannot see; check.sh runs it on `kubectl kustomize` of each overlay.

    python3 check_rendered.py single.yaml split.yaml knative.yaml

Each check names the overlay file and the object it faults. Needs PyYAML
(in .venv, .ci/requirements.txt).
"""

import json
import re
import sys
from pathlib import Path

import yaml


def pod_specs(objects):
    """(object name, pod spec) of every workload: Deployments and Knative Services."""
    for obj in objects:
        if obj.get("kind") in ("Deployment", "Service") and obj["spec"].get("template"):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def check_database_ca(objects):
    """Every container sets DATABASE_CA_FILE to a file of a mounted volume
    that holds the ConfigMap the overlay ships (TLS to a privately signed
    PostgreSQL would otherwise crash-loop the pods)."""
    problems = []
    configmaps = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "ConfigMap"}
    for name, spec in pod_specs(objects):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            path = env.get("DATABASE_CA_FILE")
            if not path:
                problems.append(f"{name}: container {container['name']} sets no DATABASE_CA_FILE")
                continue
            mounts = [m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
            if not mounts:
                problems.append(f"{name}: DATABASE_CA_FILE {path} is on no mounted volume")
                continue
            source = volumes.get(mounts[0]["name"], {}).get("configMap", {}).get("name")
            key = path[len(mounts[0]["mountPath"].rstrip("/")) + 1 :]
            if source not in configmaps or key not in configmaps[source].get("data", {}):
                problems.append(f"{name}: DATABASE_CA_FILE {path} is not key {key} of a ConfigMap of the overlay")
    return problems


def scrape_paths(objects):
    """The paths Prometheus scrapes on the pods (their prometheus.io/path)."""
    for obj in objects:
        if obj.get("kind") in ("Deployment", "Service") and obj["spec"].get("template"):
            annotations = obj["spec"]["template"].get("metadata", {}).get("annotations", {})
            if "prometheus.io/path" in annotations:
                yield annotations["prometheus.io/path"]


def check_metrics_not_public(objects):
    """No HTTPRoute forwards a scraped path as it is: the gateway would
    publish every pod's metrics. A gateway picks an Exact path match over any
    prefix or expression, so the path needs an Exact rule that rewrites it
    away; otherwise a catch-all (PathPrefix /) forwards it."""
    problems = []
    for path in set(scrape_paths(objects)):
        for route in [o for o in objects if o.get("kind") == "HTTPRoute"]:
            exact = []
            for rule in route["spec"].get("rules", []):
                for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
                    if match.get("path", {}).get("type") == "Exact" and match["path"]["value"] == path:
                        exact.append(rule)
            rewritten = [
                f["urlRewrite"]["path"].get("replaceFullPath")
                for rule in exact
                for f in rule.get("filters", [])
                if f.get("type") == "URLRewrite" and "path" in f.get("urlRewrite", {})
            ]
            if not exact or not rewritten or any(r in (None, path) for r in rewritten):
                problems.append(f"HTTPRoute {route['metadata']['name']} forwards {path} (scraped) to the public")
    return problems


def gateway_pick(route, method, path, headers):
    """The backend an HTTPRoute sends a request to, by Gateway API's
    precedence: an Exact path, then the longest prefix, a method match, the
    most header matches, then list order. RegularExpression precedence is
    left to implementations; it is put between Exact and PathPrefix here, as
    the generated rules assume (list order settles the rest)."""
    best = None
    for index, rule in enumerate(route["spec"].get("rules", [])):
        for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
            kind, value = match["path"]["type"], match["path"]["value"]
            if kind == "Exact" and path != value:
                continue
            if kind == "PathPrefix" and not (path + "/").startswith(value.rstrip("/") + "/"):
                continue
            if kind == "RegularExpression" and not re.fullmatch(value, path):
                continue
            if match.get("method", method) != method:
                continue
            wanted = {h["name"].lower(): h["value"] for h in match.get("headers", [])}
            if any(headers.get(name) != value for name, value in wanted.items()):
                continue
            rank = ({"Exact": 2, "RegularExpression": 1}.get(kind, 0), len(value) if kind == "PathPrefix" else 0,
                    "method" in match, len(wanted), -index)
            if best is None or rank > best[0]:
                best = (rank, rule["backendRefs"][0]["name"])
    return best[1] if best else None


def check_preflight_to_owner(objects):
    """A CORS preflight for each method of each route of routes.json reaches
    the Service that serves that method on that path: only it grants the
    method (each group's router knows its own functions)."""
    routes = json.loads((Path(__file__).resolve().parent / "routes.json").read_text())
    hidden = set(scrape_paths(objects))
    problems = []
    for route in [o for o in objects if o.get("kind") == "HTTPRoute"]:
        for r in [r for r in routes if r["path"] not in hidden]:
            path = re.sub(r"\{[^}]+\}", "1", r["path"])
            for method in [m for m in r["methods"] if m != "HEAD"]:
                owner = gateway_pick(route, method, path, {})
                asked = gateway_pick(route, "OPTIONS", path, {"access-control-request-method": method})
                if owner != asked:
                    problems.append(f"HTTPRoute {route['metadata']['name']}: the preflight for {method} {path} "
                                    f"goes to {asked}, {method} itself to {owner}")
    return problems


def check_spread(objects):
    """Every Deployment spreads its pods over nodes (hard) so that the HPA's
    minimum of two survives a node, counting only its own current revision."""
    problems = []
    for obj in [o for o in objects if o.get("kind") == "Deployment"]:
        spec, selector = obj["spec"]["template"]["spec"], obj["spec"]["selector"]["matchLabels"]
        hard = [
            c for c in spec.get("topologySpreadConstraints", [])
            if c.get("topologyKey") == "kubernetes.io/hostname" and c.get("whenUnsatisfiable") == "DoNotSchedule"
            and c.get("labelSelector", {}).get("matchLabels") == selector
            and "pod-template-hash" in c.get("matchLabelKeys", [])
        ]
        if not hard:
            problems.append(f"Deployment {obj['metadata']['name']}: no hard spread over kubernetes.io/hostname "
                            "of its own pods (one node may hold both minimum replicas)")
    return problems


# Egress the pods need besides PostgreSQL: (what, protocol, port, peer test).
NEEDED_EGRESS = [
    ("cluster DNS", "UDP", 53, lambda peer: peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns"),
    ("NodeLocal DNSCache", "UDP", 53, lambda peer: peer.get("ipBlock", {}).get("cidr") == "169.254.20.10/32"),
    ("OTLP/HTTP trace export", "TCP", 4318, lambda peer: True),
]


def check_egress(objects):
    """The NetworkPolicy lets the pods reach what their settings may name:
    DNS through cluster DNS or NodeLocal DNSCache, an OTLP collector."""
    problems = []
    for policy in [o for o in objects if o.get("kind") == "NetworkPolicy"]:
        rules = policy["spec"].get("egress", [])
        for what, protocol, port, peer_ok in NEEDED_EGRESS:
            allowed = any(
                any(p.get("protocol", "TCP") == protocol and p.get("port") == port for p in rule.get("ports", []))
                and (not rule.get("to") or any(peer_ok(peer) for peer in rule["to"]))
                for rule in rules
            )
            if not allowed:
                problems.append(f"NetworkPolicy {policy['metadata']['name']}: no egress for {what} ({protocol} {port})")
    return problems


def check_rolls_on_change(objects):
    """Every ConfigMap and Secret a workload reads exists in the overlay under
    a content-hashed name (kustomize's generators), so that changing it
    changes the pod template and the next apply rolls the pods."""
    problems = []
    present = {(o["kind"], o["metadata"]["name"]) for o in objects if o.get("kind") in ("ConfigMap", "Secret")}
    for name, spec in pod_specs(objects):
        refs = [("ConfigMap", e["configMapRef"]["name"]) for c in spec["containers"]
                for e in c.get("envFrom", []) if "configMapRef" in e]
        refs += [("ConfigMap", v["configMap"]["name"]) for v in spec.get("volumes", []) if "configMap" in v]
        refs += [("Secret", v["secret"]["secretName"]) for v in spec.get("volumes", []) if "secret" in v]
        for kind, ref in refs:
            if (kind, ref) not in present:
                problems.append(f"{name}: reads {kind} {ref}, which the overlay does not hold")
            elif not re.search(r"-[a-z0-9]{10}$", ref):
                problems.append(f"{name}: reads {kind} {ref}, whose name has no content hash: "
                                "a change to it would roll no pod (use a generator)")
    return problems


def check_schema_path(objects):
    """sql/ has one path: every Deployment runs `runtime migrate` as an init
    container and its server waits for it (MIGRATE=skip) behind a startup
    probe on /health; nothing turns SAMPLE_DATA on (production holds no
    sample data)."""
    problems = []
    for obj in objects:
        data = (obj.get("data") or {}) if obj.get("kind") == "ConfigMap" else {}
        if str(data.get("SAMPLE_DATA", "")).lower() == "true":
            problems.append(f"ConfigMap {obj['metadata']['name']} sets SAMPLE_DATA=true")
    for obj in objects:
        if obj.get("kind") not in ("Deployment", "Service") or not obj["spec"].get("template"):
            continue
        name, spec = obj["metadata"]["name"], obj["spec"]["template"]["spec"]
        every = spec.get("initContainers", []) + spec["containers"]
        for container in every:
            env = {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}
            if env.get("SAMPLE_DATA", "").lower() == "true":
                problems.append(f"{name}: container {container['name']} sets SAMPLE_DATA=true")
        if obj["kind"] != "Deployment":
            continue
        migrate = [c for c in spec.get("initContainers", []) if (c.get("command", []) + c.get("args", []))[-1:] == ["migrate"]]
        if len(migrate) != 1:
            problems.append(f"{name}: no init container runs `runtime migrate`")
        for container in spec["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if env.get("MIGRATE") != "skip":
                problems.append(f"{name}: container {container['name']} would migrate itself (MIGRATE is not skip)")
            probe = (container.get("startupProbe") or {}).get("httpGet") or {}
            if probe.get("path") != "/health":
                problems.append(f"{name}: container {container['name']} has no startupProbe on /health")
    return problems


CHECKS = [check_database_ca, check_metrics_not_public, check_preflight_to_owner, check_spread, check_egress,
          check_rolls_on_change, check_schema_path]


def main():
    failed = False
    for path in sys.argv[1:]:
        objects = [o for o in yaml.safe_load_all(Path(path).read_text()) if o]
        for check in CHECKS:
            for problem in check(objects):
                print(f"{path}: {check.__name__}: {problem}", file=sys.stderr)
                failed = True
    if failed:
        return 1
    print(f"{len(CHECKS)} checks passed on {len(sys.argv) - 1} overlays")
    return 0


if __name__ == "__main__":
    sys.exit(main())
