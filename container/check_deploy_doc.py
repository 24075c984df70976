#!/usr/bin/env python3
"""Checks what can be checked here of the commands in docs/deploy.md:

    python3 container/check_deploy_doc.py [DOC]   (container/lint.sh runs it)

Fails (exit 1, one line per problem) unless:

- every ```sh block, and the command of every ```cron line, is valid bash
  (`bash -n`);
- no `sudo -u USER` / `sudo -iu USER` command has an unquoted `~` argument:
  the admin's shell expands it to the admin's home, not USER's;
- no pg_dump / pg_restore / psql names the user or database literally
  (`-U shop`): POSTGRES_USER and POSTGRES_DB are settings;
- Docker's apt repository is not named for one distribution only;
- every file a `docker compose -f FILE` names exists, and every service a
  compose command names (exec, logs, stop, up, kill, …) is in the compose files;
- every variable the doc names (`NAME`, `NAME=…`, $NAME, ${NAME}) is one
  something reads: a runtime setting (README.md), a compose variable
  (.env.example), a setting of container/remote-deploy.sh, a secret or
  variable of deploy.yml, Compose's own or the shell's;
- its table of GitHub settings lists every secret and variable deploy.yml
  reads;
- a key file is read only on the machine that made or received it (the
  prose before a block says whether it runs on the workstation);
- no `sudo -i` command passes an empty argument (sudo's login shell drops it);
- no advice to edit a file of the checkout, which every deploy's
  `git checkout --force` reverts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok, problems

yaml = import_yaml()

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs/deploy.md"
WORKFLOW = ROOT / ".github/workflows/deploy.yml"
COMPOSE_FILES = [HERE / "docker-compose.yml", HERE / "docker-compose.db-port.yml"]
# Read by Compose itself, by the shell, or set by /etc/os-release and GitHub.
OTHERS = {
    "COMPOSE_PROFILES", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
    "HOME", "PATH", "ID", "VERSION_CODENAME", "UBUNTU_CODENAME", "GITHUB_TOKEN",
}
# Not variables: the doc's placeholders (its introduction lists them) and words.
WORDS = {"OWNER", "REPO", "SERVER", "OLD_SHA", "YYYYMMDD", "KEY", "REINDEX"}
PG_TOOLS = re.compile(r"\b(pg_dump|pg_restore|psql|pg_dumpall)\b")
# Compose subcommands followed by service names, and their options that take a value.
SERVICE_COMMANDS = {"exec", "logs", "stop", "start", "restart", "up", "kill", "pull", "ps", "rm"}
OPTIONS_WITH_VALUE = {"-s", "--signal", "--wait-timeout", "--tail", "-u", "--user", "-w", "--workdir", "-e", "--env"}

def blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(first line number, body) of every fenced block of LANGUAGE."""
    found, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{language}":
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            found.append((start, "\n".join(body)))
        i += 1
    return found


def dedent(body: str) -> str:
    lines = body.splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n".join(l[indent:] for l in lines)


def commands(body: str) -> list[str]:
    """Logical lines: backslash-continued lines joined."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def unquoted_tilde(text: str) -> bool:
    """Whether a word of TEXT starts with a ~ outside quotes (tilde expansion)."""
    quote, word_start = "", True
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "~" and word_start:
            return True
        word_start = char.isspace()
    return False


def check_syntax(sh: list[tuple[int, str]], cron: list[tuple[int, str]]) -> None:
    scripts = [(f"line {line}", dedent(body)) for line, body in sh]
    for line, body in cron:
        for entry in dedent(body).splitlines():
            fields = entry.split(None, 5)
            if len(fields) == 6 and not entry.startswith("#"):
                scripts.append((f"cron line {line}", fields[5].replace("\\%", "%")))
    bad = 0
    for where, script in scripts:
        result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        if result.returncode != 0:
            bad += 1
            fail(f"docs/deploy.md {where}: not valid bash: {result.stderr.strip()}")
    if not bad:
        ok(f"{len(scripts)} shell blocks and cron commands are valid bash")


def check_commands(sh: list[tuple[int, str]], cron: list[tuple[int, str]], services: set[str]) -> None:
    lines = [c for _, body in sh + cron for c in commands(dedent(body))]
    before = len(problems)
    for line in lines:
        sudo = re.search(r"\bsudo\s+(?:-\w*u\s+|-u\s+)\S+\s+(.*)", line)
        if sudo and unquoted_tilde(sudo.group(1)):
            fail(f"`{line}`: the ~ is expanded by your shell, to your home, before sudo runs")
        for segment in re.split(r"&&|\|\||[|;]", line):
            if PG_TOOLS.search(segment):
                for value in re.findall(r"\s-[Ud]\s*[\"']?([^\s\"']+)", segment):
                    if not value.startswith("$"):
                        fail(f"`{line}`: {value} named literally; POSTGRES_USER and POSTGRES_DB are settings")
        if re.search(r"download\.docker\.com/linux/(debian|ubuntu)\b", line):
            fail(f"`{line}`: names one distribution; the doc is for Debian and Ubuntu (take ID from /etc/os-release)")
        for match in re.finditer(r"docker compose((?:\s+-f\s+\S+)+)\s+(\S+)((?:\s+[^|;&<>]*)?)", line):
            for path in re.findall(r"-f\s+(\S+)", match.group(1)):
                if not (ROOT / path).is_file():
                    fail(f"`{line}`: {path} does not exist")
            if match.group(2) in SERVICE_COMMANDS:
                words, skip = match.group(3).split(), False
                for word in words:
                    if skip:
                        skip = False
                    elif word in OPTIONS_WITH_VALUE:
                        skip = True
                    elif word.startswith("-"):
                        continue
                    elif match.group(2) == "exec" and word not in services:
                        break  # the command run in the container
                    elif word not in services:
                        fail(f"`{line}`: no service {word} in the compose files")
                    elif match.group(2) == "exec":
                        break
    if len(problems) == before:
        ok(f"{len(lines)} commands: no ~ across sudo, no literal database names, compose files and services exist")


def machine_of_blocks(doc: str) -> list[tuple[int, str, str]]:
    """(line, body, machine) of every sh block: `workstation` when the prose
    since the previous block says so, else `server`."""
    out, previous_end = [], 0
    for match in re.finditer(r"^ *```sh\n(.*?)^ *```", doc, re.M | re.S):
        prose = doc[previous_end : match.start()]
        machine = "workstation" if re.search(r"\bworkstation\b", prose) and not re.search(
            r"\bon the server\b", prose, re.I) else "server"
        out.append((doc[: match.start()].count("\n") + 2, match.group(1), machine))
        previous_end = match.end()
    return out


def check_machines(doc: str) -> None:
    """A key made by `ssh-keygen -f FILE` is read (`cat FILE`) only on the
    machine that made it or received it with `scp FILE SERVER:`."""
    has: dict[str, set[str]] = {}
    before = len(problems)
    for line, body, machine in machine_of_blocks(doc):
        for cmd in commands(dedent(body)):
            for made in re.findall(r"ssh-keygen\b.*?\s-f\s+(\S+)", cmd):
                has.setdefault(made, set()).add(machine)
                has.setdefault(made + ".pub", set()).add(machine)
            for sent in re.findall(r"\bscp\s+(?:-\S+\s+)*(\S+)\s+\S*SERVER:", cmd):
                has.setdefault(sent, set()).add("server")
            for read in re.findall(r"\bcat\s+([^\s)\"']+)", cmd):
                if read in has and machine not in has[read]:
                    fail(f"docs/deploy.md line {line}: reads {read} on the {machine}, but it was made on the "
                         f"{' and '.join(sorted(has[read]))} (copy it over first)")
    if len(problems) == before:
        ok("every key file is read on the machine that has it")


def check_sudo_login(sh: list[tuple[int, str]]) -> None:
    """`sudo -i` hands the command to a login shell as one escaped line, in
    which an empty argument (`-N ""`) disappears: ssh-keygen then takes the
    next option as the passphrase."""
    before = len(problems)
    for _, body in sh:
        for cmd in commands(dedent(body)):
            if re.search(r"\bsudo\s+-\w*i", cmd) and re.search(r"\s(\"\"|'')(\s|$)", cmd):
                fail(f"`{cmd}`: sudo -i drops the empty argument; use sudo -u USER -H with a full path")
    if len(problems) == before:
        ok("no empty argument passed through sudo -i")


def check_no_edits_of_checkout(doc: str) -> None:
    """No advice to edit a tracked file of the checkout by hand: every deploy
    runs `git checkout --force` there (remote-deploy.sh), which reverts it."""
    before = len(problems)
    for match in re.finditer(r"\bedit(?:ing)?\s+`([^`]+)`", doc):
        path = match.group(1)
        if (ROOT / path).is_file():
            fail(f"docs/deploy.md advises editing {path} on the server; the next deploy's checkout reverts it")
    if len(problems) == before:
        ok("no advice to edit a file the deploy's checkout reverts")


def known_variables() -> set[str]:
    known = OTHERS | WORDS
    readme = (ROOT / "README.md").read_text()
    known |= set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.M))
    known |= set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (HERE / ".env.example").read_text(), re.M))
    remote = (HERE / "remote-deploy.sh").read_text()
    settings = re.search(r"^SETTINGS=\(([^)]*)\)", remote, re.M | re.S)
    known |= set(settings.group(1).split()) if settings else set()
    known |= set(re.findall(r"\b(DEPLOY_STATE_DIR)\b", remote))
    known |= workflow_settings()
    return known


def workflow_settings() -> set[str]:
    text = WORKFLOW.read_text()
    return set(re.findall(r"\b(?:secrets|vars)\.([A-Z][A-Z0-9_]*)", text)) - {"GITHUB_TOKEN"}


def check_variables(doc: str) -> None:
    known = known_variables()
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})(?:=[^`]*)?`", doc))
    for _, body in blocks(doc, "sh") + blocks(doc, "cron"):
        named |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]{2,})", body))
        named |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]{2,})=", body, re.M))
    unknown = sorted(named - known)
    if unknown:
        fail(f"docs/deploy.md names variables nothing reads: {', '.join(unknown)}")
    else:
        ok(f"the {len(named)} variables docs/deploy.md names are all read by something")
    table = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "\n".join(l for l in doc.splitlines() if l.startswith("| `"))))
    missing = sorted(workflow_settings() - table)
    if missing:
        fail(f"deploy.yml reads {', '.join(missing)}, which docs/deploy.md's settings table does not list")
    else:
        ok("docs/deploy.md's settings table lists every secret and variable deploy.yml reads")


def main() -> int:
    doc = (Path(sys.argv[1]) if len(sys.argv) > 1 else DOC).read_text()
    services: set[str] = set()
    for path in COMPOSE_FILES:
        services |= set((yaml.safe_load(path.read_text()).get("services") or {}))
    sh, cron = blocks(doc, "sh"), blocks(doc, "cron")
    if not sh:
        fail("docs/deploy.md has no ```sh blocks")
    check_syntax(sh, cron)
    check_commands(sh, cron, services)
    check_variables(doc)
    check_machines(doc)
    check_sudo_login(sh)
    check_no_edits_of_checkout(doc)
    return finish("check_deploy_doc", "docs/deploy.md's commands pass")


if __name__ == "__main__":
    sys.exit(main())
