#!/usr/bin/env python3
"""Fails unless the promtool unit tests cover every alert both ways.

    python3 container/prometheus/test_coverage.py

Every alert of rules/*.yml needs, in tests/*.test.yml, an alert_rule_test
in which it fires (exp_alerts lists it) and one in which it must not (no
exp_alerts: promtool then fails if it fires). Needs PyYAML (.ci/venv).
"""

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def main():
    alerts = set()
    for path in sorted((HERE / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            alerts |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    fires, quiet = set(), set()
    for path in sorted((HERE / "tests").glob("*.test.yml")):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = [f"{name}: no test where it fires" for name in sorted(alerts - fires)]
    problems += [f"{name}: no test where it must not fire" for name in sorted(alerts - quiet)]
    problems += [f"{name}: tested but no rule defines it" for name in sorted((fires | quiet) - alerts)]
    for problem in problems:
        print(f"test_coverage.py: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{len(alerts)} alerts, each tested firing and not firing")


if __name__ == "__main__":
    main()
