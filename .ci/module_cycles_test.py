#!/usr/bin/env python3
"""Tests of module_cycles.py on tiny synthetic crates: a cycle fails, a
tree without one passes, and what is not an import is not an edge."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).with_name("module_cycles.py")


def crate(root: Path, files: dict[str, str]) -> Path:
    (root / "Cargo.toml").write_text('[package]\nname = "t"\n', encoding="utf-8")
    for name, text in files.items():
        path = root / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


class ModuleCycles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def test_a_cycle_fails_with_its_path(self):
        crate(self.root, {
            "lib.rs": "mod room;\nmod config;\n",
            "config.rs": "use crate::room::{limits::{Rate, Limiter as L}};\n",
            "room/mod.rs": "pub mod limits;\n",
            "room/limits.rs": "pub fn f() -> crate::config::Settings { todo!() }\n",
        })
        result = check(self.root)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("crate::config -> crate::room::limits -> crate::config", result.stdout)

    def test_a_parent_and_a_child_taking_from_each_other_is_a_cycle(self):
        crate(self.root, {
            "lib.rs": "mod db;\n",
            "db/mod.rs": "mod pool;\npub use pool::Pool;\npub struct Error;\n",
            "db/pool.rs": "use super::Error;\npub struct Pool;\n",
        })
        self.assertEqual(check(self.root).returncode, 1)

    def test_a_tree_without_cycle_passes(self):
        crate(self.root, {
            "lib.rs": "mod config;\nmod server;\nuse crate::server::serve;\n",
            "config.rs": "// use crate::server::Thing; in a comment\n"
                         "pub const NAME: &str = \"crate::server::x\";\n",
            "server/mod.rs": "mod router;\npub use router::serve;\n",
            "server/router.rs": "use crate::config::NAME;\npub fn serve() {}\n"
                                "#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        })
        result = check(self.root)
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_a_known_cycle_passes_until_it_is_gone(self):
        crate(self.root, {
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use crate::a::A;\npub struct B;\n",
        })
        known = self.root / "known"
        known.write_text("src/lib.rs: crate::a -> crate::b -> crate::a\n", encoding="utf-8")
        self.assertEqual(check(self.root, str(known)).returncode, 0)
        (self.root / "src" / "b.rs").write_text("pub struct B;\n", encoding="utf-8")
        result = check(self.root, str(known))
        self.assertEqual(result.returncode, 1)
        self.assertIn("no longer a cycle", result.stdout)


if __name__ == "__main__":
    unittest.main()
