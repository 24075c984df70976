#!/usr/bin/env python3
"""Fails unless every alert has a summary, a description and a runbook
section that exists in docs/alerts.md.

    python3 container/prometheus/check_runbooks.py

An alert's `runbook` annotation is `docs/alerts.md#<anchor>`; the anchor
must be that of a heading of the file as GitHub renders it (lower case,
spaces to hyphens, punctuation dropped). Needs PyYAML (.ci/venv).
"""

import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DOC = HERE.parent.parent / "docs" / "alerts.md"


def anchors(markdown):
    found = set()
    for line in markdown.split("\n"):
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading[1].strip().lower())
            found.add(text.replace(" ", "-"))
    return found


def main():
    known = anchors(DOC.read_text())
    problems, count = [], 0
    for path in sorted((HERE / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                count += 1
                notes = rule.get("annotations", {})
                for key in ("summary", "description", "runbook"):
                    if not notes.get(key):
                        problems.append(f"{rule['alert']}: no {key}")
                runbook = notes.get("runbook", "")
                page, _, anchor = runbook.partition("#")
                if runbook and (page != "docs/alerts.md" or anchor not in known):
                    problems.append(f"{rule['alert']}: runbook {runbook} is no heading of docs/alerts.md")
    for problem in problems:
        print(f"check_runbooks.py: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{count} alerts, each with a summary, a description and a runbook section")


if __name__ == "__main__":
    main()
