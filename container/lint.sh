#!/usr/bin/env bash
# Lints the container, CI and deploy files without Docker, and tests the
# deploy scripts against stand-ins:
#   bash container/lint.sh
#
# Installs what it needs when missing (the Debian packages of .ci/packages,
# for promtool; the pinned Python tools into .venv/ through .ci/venv), then
# runs every check, prints one PASS/FAIL line per check (with the tool's
# output on failure) and exits 1 if any failed. Idempotent; about a minute,
# most of it container/test_remote_deploy.py.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

say() { printf '%s\n' "$*"; }

# --- tools --------------------------------------------------------------------
install_tools() {
  say "== installing tools (quiet)"
  if ! bash .ci/install-packages >/tmp/lint-apt.log 2>&1; then
    say "FAIL install: bash .ci/install-packages; see /tmp/lint-apt.log"
    exit 1
  fi
  local venv
  if ! venv=$(bash .ci/venv); then
    say "FAIL install: bash .ci/venv"
    exit 1
  fi
  export PATH="$venv/bin:$PATH"
  PY="$venv/bin/python"
  local tool
  for tool in hadolint actionlint check-jsonschema yamllint promtool shellcheck; do
    command -v "$tool" >/dev/null 2>&1 || { say "FAIL install: $tool is not on PATH"; exit 1; }
  done
}

# --- checks -------------------------------------------------------------------
failed=()
passed=0
OUT=$(mktemp)
trap 'rm -f "$OUT" "${RULES:-}"' EXIT

# check NAME COMMAND...: runs it, prints PASS/FAIL, shows the output on failure.
check() {
  local name=$1 started=$SECONDS
  shift
  if "$@" >"$OUT" 2>&1; then
    say "PASS $name ($((SECONDS - started))s)"
    passed=$((passed + 1))
  else
    say "FAIL $name"
    sed 's/^/    /' "$OUT"
    failed+=("$name")
  fi
}

workflows=(.github/workflows/*.yml)
shell_scripts=(.ci/run .ci/checks .ci/venv .ci/install-packages .ci/fuzz-api
  .github/ssh-setup.sh container/*.sh container/prometheus/*.sh container/testing/*.sh
  container/testing/fake-ssh container/testing/server/docker container/testing/server/login
  container/kubernetes/*.sh
  loadtest/bench loadtest/bench-*.sh loadtest/common.sh loadtest/flood loadtest/scale loadtest/slo-burn loadtest/peers/*/start)

compose_schema() {
  check-jsonschema --builtin-schema vendor.compose-spec \
    container/docker-compose.yml container/docker-compose.db-port.yml
}

workflow_schema() {
  local file status=0
  for file in "${workflows[@]}"; do
    check-jsonschema --builtin-schema vendor.github-workflows "$file" || status=1
  done
  return $status
}

# Every PromQL query of the Grafana dashboard must parse: write them as
# recording rules (Grafana variables replaced) and let promtool check them.
dashboard_queries() {
  RULES=$(mktemp --suffix=.yml)
  "$PY" - "$RULES" <<'PY' || return 1
import json, sys
from pathlib import Path
exprs = []
for path in sorted(Path("container/grafana/dashboards").glob("*.json")):
    dashboard = json.loads(path.read_text())
    def walk(panels):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))
    for panel in walk(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                exprs.append((path.name, panel.get("title"), target["expr"]))
if not exprs:
    sys.exit("no dashboard queries found")
subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$function": ".*", "$job": "shop-api"}
with open(sys.argv[1], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (_, _, expr) in enumerate(exprs):
        for key, value in subst.items():
            expr = expr.replace(key, value)
        out.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(expr)}\n")
print(f"{len(exprs)} queries")
PY
  promtool check rules "$RULES"
}

# No file may point at the workplace's own folders beside the repository:
# a user's clone has none (the patterns are written so as not to match
# themselves).
no_outside_paths() {
  ! git grep -nE '[.][.]/shared/|/wor[k]/shared'
}

# Every page of docs/ is reachable from README.md: a reader starts there.
docs_linked() {
  local page status=0
  for page in docs/*.md; do
    grep -qF "]($page" README.md || { say "README.md does not link $page"; status=1; }
  done
  return $status
}

main() {
  install_tools
  say "== checks"
  check "hadolint container/Dockerfile" hadolint --no-color container/Dockerfile
  check "actionlint ${workflows[*]}" actionlint "${workflows[@]}"
  check "check-jsonschema compose-spec container/docker-compose*.yml" compose_schema
  check "check-jsonschema github-workflows ${workflows[*]}" workflow_schema
  check "yamllint (.yamllint.yml) .github/ container/" \
    yamllint --strict -c .yamllint.yml .yamllint.yml .github container
  check "promtool check config container/prometheus.yml" promtool check config container/prometheus.yml
  check "promtool: Grafana dashboard queries parse" dashboard_queries
  check "json: Grafana dashboards" "$PY" -c '
import json, pathlib, sys
files = sorted(pathlib.Path("container/grafana/dashboards").glob("*.json"))
if not files: sys.exit("no dashboard JSON")
for f in files: json.loads(f.read_text())
'
  check "shellcheck (.ci/, container/, loadtest/)" shellcheck -x "${shell_scripts[@]}"
  check "no file refers to folders outside the repository" no_outside_paths
  check "README.md links every docs/*.md" docs_linked
  check "check_compose.py (compose file vs README and .env.example)" "$PY" container/check_compose.py
  check "test_check_compose.py (it catches what it should)" "$PY" container/test_check_compose.py
  check "check_schema_path.py (sql/ by the migrate service only, no sample data)" "$PY" container/check_schema_path.py
  check "check_schema_path.py --self-test (it catches what it should)" "$PY" container/check_schema_path.py --self-test
  check "check_packages.py (every program the tests and scripts run is installed)" "$PY" container/check_packages.py
  check "test_check_packages.py (it catches a program nothing installs)" "$PY" container/test_check_packages.py
  check "check_deploy_doc.py (docs/deploy.md's commands)" "$PY" container/check_deploy_doc.py
  check "check_compose_timing.py (shutdown drain above the request timeout)" "$PY" container/check_compose_timing.py
  check "test_remote_deploy.py (deploy, rollback, re-tag, modes, dropped SSH)" "$PY" container/test_remote_deploy.py

  say "lint: $passed passed, ${#failed[@]} failed"
  if [ "${#failed[@]}" -gt 0 ]; then
    local name
    for name in "${failed[@]}"; do say "   failed: $name"; done
    return 1
  fi
}

main "$@"
