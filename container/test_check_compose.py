#!/usr/bin/env python3
"""Proves container/check_compose.py catches the mistakes it is there for, on
a copy of the repository's files with one mistake each:

    python3 container/test_check_compose.py      (container/lint.sh runs it)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = "container/docker-compose.yml"
EXAMPLE = "container/.env.example"

# (what, file, pattern matching once, its replacement, the FAIL it must cause)
MISTAKES = [
    ("a setting that never reaches the container", COMPOSE, r"^      API_KEYS: .*\n", "",
     "API_KEYS (README configuration table) never reaches the container"),
    ("a setting fixed in the compose file", COMPOSE, r"^      WORKERS: .*$", '      WORKERS: "2"',
     "a value in .env never reaches the container"),
    ("a file setting passed as a host path", COMPOSE, r"^      API_KEYS_FILE: .*$", "      API_KEYS_FILE: ${API_KEYS_FILE:-}",
     "API_KEYS_FILE must be ${API_KEYS_FILE:+/run/secrets/<secret>}"),
    ("a secret the service does not mount", COMPOSE, r"^      - api_keys\n", "",
     "which the api service does not mount"),
    ("a compose default that is not the runtime's", COMPOSE, r"^      POOL_SIZE: .*$", "      POOL_SIZE: ${POOL_SIZE:-10}",
     "POOL_SIZE defaults to '10'"),
    ("a setting README does not describe", COMPOSE, r"^      POOL_SIZE: .*$", "      POOL_SIZE: ${POOL_SIZE:-}\n      POOL_SIZ: x",
     "environment sets POOL_SIZ"),
    # The mistake issue 10 found: .env.example said 4, the runtime's is 2.
    ("a wrong default in .env.example", EXAMPLE, r"POOL_SIZE \[2\]\.", "POOL_SIZE [4].",
     "DB_SHARED_CONNECTIONS ([4], the runtime's is 2)"),
    ("a default .env.example does not state", EXAMPLE, r"^# PostgreSQL connections at most \[20\]\.$",
     "# PostgreSQL connections at most.", "POOL_SIZE (no [default] in its comment"),
    ("a compose variable .env.example lacks", EXAMPLE, r"^FUNCTIONS=\n", "",
     ".env.example does not list FUNCTIONS"),
    ("the api published around the proxy", COMPOSE, r"^    # Not published: the proxy below is.*$",
     '    ports:\n      - "5001:5000"', "api must not publish a port"),
    ("a proxy that may start before the api is healthy", COMPOSE, r"^        condition: service_healthy\n(?=        restart: true\n    volumes:\n      # The directory)",
     "        condition: service_started\n", "proxy must depend on api with condition: service_healthy"),
    ("a floating PostgreSQL image", COMPOSE, r"^    image: postgres:.*$", "    image: postgres:15",
     "must be a pinned PostgreSQL 15 minor release"),
]


class CheckComposeTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="check-compose-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        shutil.copytree(ROOT / "container", self.tmp / "container")
        shutil.copytree(ROOT / "sql", self.tmp / "sql")
        shutil.copy(ROOT / "README.md", self.tmp / "README.md")

    def edit(self, name: str, pattern: str, replacement: str) -> None:
        path = self.tmp / name
        text, count = re.subn(pattern, replacement, path.read_text(), flags=re.M)
        self.assertEqual(count, 1, f"{pattern!r} must match once in {name}")
        path.write_text(text)

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(self.tmp / "container/check_compose.py")],
                              capture_output=True, text=True, timeout=60)

    def assertFails(self, message: str) -> None:
        result = self.check()
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(message, result.stdout)

    def test_the_repository_passes(self) -> None:
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_each_mistake_is_caught(self) -> None:
        for what, file, pattern, replacement, message in MISTAKES:
            with self.subTest(what):
                original = (self.tmp / file).read_text()
                self.edit(file, pattern, replacement)
                self.assertFails(message)
                (self.tmp / file).write_text(original)

if __name__ == "__main__":
    unittest.main(verbosity=2)
