#!/usr/bin/env python3
"""Proves container/check_packages.py catches a program that a script calls
and nothing installs, in a throw-away git repository holding the real package
lists and requirements plus one script:

    .venv/bin/python container/test_check_packages.py      (container/lint.sh runs it)

Run with the venv's python (.ci/venv), as the check itself is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_packages  # noqa: E402
import checklib  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LISTS = (".ci/packages", ".ci/packages-containers", ".ci/requirements.txt", ".ci/requirements-wheels.txt",
         ".ci/requirements-clients.txt",
         "loadtest/requirements.txt")


class CheckPackages(unittest.TestCase):
    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="check-packages-"))
        self.addCleanup(shutil.rmtree, self.root)
        for name in LISTS:
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, self.root / name)
        subprocess.run(["git", "init", "-q", str(self.root)], check=True)
        checklib.problems.clear()

    def problems(self, name: str, text: str) -> list[str]:
        """The check's FAIL lines for a repository with one script NAME."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        subprocess.run(["git", "-C", str(self.root), "add", "-A"], check=True)
        checklib.problems.clear()
        check_packages.check_programs(self.root)
        return list(checklib.problems)

    def assert_missing(self, name: str, text: str, program: str) -> None:
        found = self.problems(name, text)
        self.assertTrue(any(f"runs {program}," in p for p in found), f"{program} not reported: {found}")

    def test_installed_programs_pass(self) -> None:
        script = "#!/usr/bin/env bash\nset -e\ncurl -fsS http://127.0.0.1/ | grep -q ok\nhadolint x\n"
        self.assertEqual(self.problems("tools/ok.sh", script), [])

    def test_a_missing_program_fails(self) -> None:
        self.assert_missing("tools/run.sh", "#!/bin/sh\nfrobnicate --all\n", "frobnicate")

    def test_inside_substitutions_pipes_and_wrappers(self) -> None:
        for line in ('x="$(frobnicate | head -1)"', "curl x | frobnicate", "nice -n 10 frobnicate",
                     "flock /tmp/l frobnicate", "if frobnicate; then :; fi", "trap 'rm x' EXIT; FOO=1 frobnicate"):
            with self.subTest(line=line):
                self.assert_missing("tools/run.sh", f"#!/usr/bin/env bash\n{line}\n", "frobnicate")

    def test_a_script_without_shebang_but_sh_suffix(self) -> None:
        self.assert_missing("lib/common.sh", "helper() {\n  frobnicate\n}\n", "frobnicate")

    def test_a_python_script(self) -> None:
        # Written through a variable, or this file would call it too.
        program = "frobnicate"
        self.assert_missing("tools/run.py", f'import subprocess\nsubprocess.run(["{program}", "-x"])\n', program)

    def test_what_is_not_a_program(self) -> None:
        script = (
            "#!/usr/bin/env bash\n"
            "# frobnicate in a comment\n"
            "helper() { echo 'frobnicate in quotes'; }\n"
            "helper\n"
            "cat <<'EOF'\nfrobnicate in a heredoc\nEOF\n"
            'case "$1" in\n  start) echo go ;;\nesac\n'
            "items=(frobnicate a b)\n"
            '"$BIN" --version\n./local-script\n'
        )
        self.assertEqual(self.problems("tools/ok.sh", script), [])

    def test_a_listed_package_provides_it(self) -> None:
        with (self.root / ".ci/packages").open("a") as handle:
            handle.write("frobnicate-tools  frobnicate\n")
        self.assertEqual(self.problems("tools/run.sh", "#!/bin/sh\nfrobnicate --all\n"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
