#!/usr/bin/env python3
"""Checks that CI installs every program the Rust tests start.

    python3 container/check_packages.py      (container/lint.sh runs it)

Fails (exit 1, one line per problem) unless:

- every program the workspace's Rust code starts (`Command::new("promtool")`,
  `Command::new(bin.join("initdb"))`, `Command::new(tool("pgbouncer"))`) is
  provided by a line of .ci/packages (a proof of that name), or is part of
  every Debian system (BASE below);
- .github/workflows/ci.yml runs the tests only through .ci/checks, in a
  Debian 12 container (the package names are Debian 12's), and .ci/checks
  runs .ci/install-packages before `cargo test`: so the list GitHub installs
  is the list `.ci/run` installs.

With CI=true the tests fail rather than skip when a program is missing, so a
program missing here would turn GitHub's CI red on its first run (issue 16).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok, problems

yaml = import_yaml()

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / ".ci/packages"
CHECKS = ROOT / ".ci/checks"
WORKFLOW = ROOT / ".github/workflows/ci.yml"
SOURCES = ("runtime", "test-support", "contract", "functions")
# Essential packages (coreutils, util-linux, bash) and what every build has.
BASE = {"chown", "chmod", "kill", "sh", "bash", "env", "id", "git", "runuser", "setsid"}
STARTS = re.compile(
    r"Command::new\(\s*(?:"
    r'"([^"]+)"'  # Command::new("promtool")
    r'|[A-Za-z_][\w.]*\.join\(\s*"([^"]+)"\s*\)'  # Command::new(bin.join("initdb"))
    r'|[A-Za-z_][\w:]*\(\s*"([^"]+)"\s*\)'  # Command::new(tool("pgbouncer"))
    r")"
)

def provided() -> dict[str, str]:
    """Program name -> the package of .ci/packages that provides it."""
    programs = {}
    for line in PACKAGES.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        for proof in fields[1:]:
            if not proof.startswith("python3:"):
                programs[Path(proof).name] = fields[0]
    return programs


def started() -> dict[str, str]:
    """Program name -> the first file that starts it."""
    programs: dict[str, str] = {}
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.rs")):
            if "target" in path.parts:
                continue
            for match in STARTS.finditer(path.read_text()):
                name = next(group for group in match.groups() if group)
                programs.setdefault(Path(name).name, str(path.relative_to(ROOT)))
    return programs


def check_programs() -> None:
    packages = provided()
    programs = started()
    for name, where in sorted(programs.items()):
        if name in BASE:
            continue
        if name in packages:
            ok(f"{name} ({where}) comes from {packages[name]}")
        else:
            fail(f"{where} starts {name}, which no line of .ci/packages provides: add its Debian package")


def check_workflow() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs_checks = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            script = str(step.get("run", ""))
            if re.search(r"\bcargo\s+(test|clippy|fmt)\b", script):
                fail(f"ci.yml job {job_name} runs cargo itself; run .ci/checks, as .ci/run does, so they cannot drift")
            if re.search(r"(^|\s)(bash\s+)?\.ci/checks\b", script):
                runs_checks.append((job_name, job))
    if not runs_checks:
        fail("no job of ci.yml runs .ci/checks")
    for job_name, job in runs_checks:
        container = job.get("container")
        image = container.get("image") if isinstance(container, dict) else container
        if not image or "bookworm" not in str(image):
            fail(f"ci.yml job {job_name} must run in a Debian 12 (bookworm) container: .ci/packages names Debian 12 packages")
        else:
            ok(f"ci.yml job {job_name} runs .ci/checks in {image}")
    checks = "\n".join(line for line in CHECKS.read_text().splitlines() if not line.lstrip().startswith("#"))
    install = checks.find(".ci/install-packages")
    test = checks.find("cargo test")
    if install < 0 or test < 0 or install > test:
        fail(".ci/checks must run .ci/install-packages before cargo test")
    else:
        ok(".ci/checks installs .ci/packages before cargo test")


def main() -> int:
    check_programs()
    check_workflow()
    return finish("check_packages", "CI installs every program the tests start")


if __name__ == "__main__":
    sys.exit(main())
