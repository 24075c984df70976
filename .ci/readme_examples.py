#!/usr/bin/env python3
"""Runs the examples of README.md's "## HTTP conventions" as a reader pastes
them, against a real runtime, and fails unless each prints what it says:

    python3 .ci/readme_examples.py [README]      (.ci/checks runs it)
    RUNTIME_BIN=target/release/runtime python3 .ci/readme_examples.py

The runtime (RUNTIME_BIN, default target/debug/runtime) starts as the Quick
start's `cargo run` does: no DATABASE_URL, so it starts its own PostgreSQL,
here with a fresh data directory, as on a new machine. Then every ```sh
block of the section, in order:

- a block of one `[NAME=value ...] cargo run ... -p runtime` line stops the
  service (SIGINT, as Ctrl-C) and starts it again with those settings, over
  the same data;
- any other block runs in one bash (`set -e`: a failing command, or a grep
  that finds nothing, fails it); when a ```text block follows it (blank
  lines between at most), each of its lines is one the output must hold,
  in order, `…` standing for any text. (Not `#` comments in the block: a
  zsh, macOS's shell, runs a pasted `#` line as a command.)

The one change to the commands: localhost:5000 becomes the free port the
runtime listens on, so that the check can run beside anything else.
Standard library only; about 20 s with a debug build.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## HTTP conventions"
START = re.compile(r"^((?:[A-Z_][A-Z0-9_]*=\S+ )*)cargo run (?:--release )?-p runtime$")
MARK = "@@readme-example-command-done@@"


def section_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, body, lines shown as its output) of each ```sh block
    from SECTION to the next `## `."""
    lines, blocks, language, body, first = text.splitlines(), [], None, [], 0
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        raise SystemExit(f"readme_examples: no '{SECTION}' section")
    after_sh = False  # only blank lines since the end of an sh block
    for number, line in enumerate(lines[start + 1:], start + 2):
        if language is None and line.startswith("## "):
            break
        if language is None and line.startswith("```"):
            language, body, first = line.strip()[3:], [], number + 1
        elif language is not None and line.strip() == "```":
            if language == "sh":
                blocks.append((first, "\n".join(body), []))
            elif language == "text" and after_sh:
                blocks[-1][2].extend(body)
            after_sh, language = language == "sh", None
        elif language is not None:
            body.append(line)
        elif line.strip():
            after_sh = False
    return blocks


def commands(body: str) -> list[str]:
    """The commands of a block, a line each once `\\` has joined lines."""
    out: list[str] = []
    pending = ""
    for line in body.splitlines():
        if pending or (line.strip() and not line.lstrip().startswith("#")):
            pending += line + "\n"
            if not line.endswith("\\"):
                out.append(pending.rstrip("\n"))
                pending = ""
    return out


def expected(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("…")) + "$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """The runtime as a reader runs it: a process in the foreground, stopped with Ctrl-C."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary, self.work, self.port, self.proc = binary, work, free_port(), None
        self.log = open(work / "runtime.log", "ab")

    def start(self, settings: dict[str, str]) -> None:
        self.stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "OTEL_", "RATE_", "CORS_"))}
        env.update(settings, PORT=str(self.port), EMBEDDED_PG_DIR=str(self.work / "data"), LOG_LEVEL="warn")
        self.proc = subprocess.Popen([self.binary], env=env, cwd=self.work, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"readme_examples: the runtime exited with {self.proc.returncode}:\n{self.tail()}")
            # The port opens before the database and the schema are ready, and
            # until then everything but /health is 503. The probe asks a path no
            # function serves: 404 once the service is ready, and no function's
            # call, so it spends none of a RATE_LIMIT the reader's examples count.
            if self.status("/readme-examples-probe") == 404:
                return
            time.sleep(0.2)
        raise SystemExit(f"readme_examples: the runtime did not listen within 90 s:\n{self.tail()}")

    def status(self, path: str) -> int | None:
        """The status of `GET path`, or None while nothing answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                head = conn.recv(64).decode(errors="replace").split(" ")
                return int(head[1]) if len(head) > 1 and head[1].isdigit() else None
        except OSError:
            return None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self) -> str:
        self.log.flush()
        return (self.work / "runtime.log").read_text(errors="replace")[-3000:]


def run_block(body: str, wants: list[str], port: int, work: Path) -> list[str]:
    """Runs one block; returns its problems."""
    steps = commands(body)
    script = "set -e\n" + "".join(f"{command}\necho {MARK}\n" for command in steps)
    script = script.replace("localhost:5000", f"localhost:{port}")
    result = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=120)
    outputs = result.stdout.replace("\r", "").split(MARK + "\n")
    problems = []
    if result.returncode != 0:
        failed = steps[min(len(outputs) - 1, len(steps) - 1)]
        problems.append(f"exit {result.returncode} at `{failed}`: {result.stdout[-500:]}{result.stderr[-500:]}")
    printed = "".join(outputs)
    lines = printed.splitlines()
    for want in wants:
        pattern = expected(want)
        found = next((i for i, line in enumerate(lines) if pattern.match(line.rstrip())), None)
        if found is None:
            problems.append(f"it printed no line `{want}` (after those before it); it printed:\n"
                            + "\n".join(f"      {line}" for line in printed.splitlines()[:30]))
            break
        lines = lines[found + 1:]
    return problems


def main() -> int:
    readme = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "README.md"
    binary = os.environ.get("RUNTIME_BIN", str(ROOT / "target/debug/runtime"))
    if not Path(binary).is_file():
        print(f"readme_examples: no runtime binary at {binary} (cargo build -p runtime, or set RUNTIME_BIN)")
        return 2
    blocks = section_blocks(readme.read_text())
    failures, work = 0, Path(tempfile.mkdtemp(prefix="readme-examples-"))
    work.chmod(0o755)  # as root, the runtime runs PostgreSQL as `postgres`, which must reach its data
    service = Service(str(Path(binary).resolve()), work)
    try:
        service.start({})
        for number, body, wants in blocks:
            start = START.match(body.strip())
            if start:
                settings = dict(pair.split("=", 1) for pair in shlex.split(start.group(1)))
                service.start(settings)
                print(f"ok:   README.md:{number}: started with {settings or 'no settings'}")
                continue
            problems = run_block(body, wants, service.port, work)
            for problem in problems:
                print(f"FAIL: README.md:{number}: {problem}")
            if not problems:
                print(f"ok:   README.md:{number}: {len(commands(body))} command(s), {len(wants)} line(s) as shown")
            failures += bool(problems)
    finally:
        service.stop()
        if failures:
            print(f"runtime log (last lines):\n{service.tail()}")
        subprocess.run(["rm", "-rf", str(work)], check=False)
    if failures:
        print(f"readme_examples: {failures} of {len(blocks)} blocks of '{SECTION}' do not do what README.md shows")
        return 1
    print(f"readme_examples: all {len(blocks)} blocks of '{SECTION}' do what README.md shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
