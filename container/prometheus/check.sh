#!/usr/bin/env bash
# Checks of the alerting and recording rules, for CI (.ci/checks):
#   1. rules/slo.yml and the Kubernetes PrometheusRule are what slos.json
#      gives (generate.py --check), metrics.txt is what the rules and the
#      dashboards query (metric_names.py --check);
#   2. promtool check rules on every rule file;
#   3. promtool test rules: the unit tests on synthetic series, and every
#      alert tested firing and not firing (test_coverage.py);
#   4. every alert's summary, description and runbook section (docs/alerts.md);
#   5. amtool check-config on the Alertmanager configuration.
# The metrics of metrics.txt are checked against a real runtime by
# runtime/tests/alert_metrics.rs (cargo test). Needs promtool and amtool
# (.ci/packages) and PyYAML (.ci/venv). About 10 s.
#
#   bash container/prometheus/check.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
py="${PYTHON:-python3}"
step() { printf -- '--> %s\n' "$*"; }

step "generated rules and metric list up to date"
"$py" generate.py --check
"$py" metric_names.py --check

step "promtool check rules"
promtool check rules rules/*.yml

step "promtool test rules"
promtool test rules tests/*.test.yml
"$py" test_coverage.py

step "every alert has a summary, a description and a runbook in docs/alerts.md"
"$py" check_runbooks.py

step "amtool check-config"
amtool check-config alertmanager.yml

echo "container/prometheus/check.sh: all checks passed"
