#!/usr/bin/env python3
"""Fails when the modules of any crate of the workspace import each other in
a circle.

For every crate root (src/lib.rs, src/main.rs, src/bin/*.rs of each member)
it walks the `mod name;` declarations to the module files, and draws an edge
from a module to each module its code names: `use crate::...`, `use
super::...`, `use self::...` (braces expanded) and `crate::a::b` paths
anywhere in code. A path leads to the deepest module it names; naming an
item of a module is naming the module; a `mod name;` declaration alone is
not an edge, but a parent that re-exports from its child and a child that
takes from its parent are a circle. A file's inline modules (its `mod
tests`) are part of the file. Comments and string literals are skipped.

Usage: module_cycles.py [ROOT [KNOWN]]   (ROOT: the workspace, default the cwd)
Exit status 1 and one line per cycle, with its path, when there is one.
KNOWN lists cycles (as printed) that are known and being removed: they do
not fail the check, but a listed cycle that is gone does, so the list
only shrinks.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MOD_DECL = re.compile(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(?:r#)?({IDENT})\s*;", re.M)
USE_STMT = re.compile(r"\buse\s+([^;]+);")
PUB_USE = re.compile(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);")
CRATE_PATH = re.compile(rf"(?<![A-Za-z0-9_:])crate((?:\s*::\s*{IDENT})+)")
Module = tuple[str, ...]
SKIPPED = {"target", "node_modules"}


def strip_code(text: str) -> str:
    """The code without comments, string and char literals (kept as
    blanks), so that neither a doc line nor a message reads as a path."""
    out, i, n = [], 0, len(text)
    while i < n:
        two = text[i : i + 2]
        if two == "//":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif two == "/*":
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif re.match(r'r#*"', text[i : i + 10]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = len(re.match(r"r(#*)", text[i:]).group(1))
            end = text.find('"' + "#" * hashes, i + 2 + hashes)
            i = n if end < 0 else end + 1 + hashes
            out.append('""')
        elif text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif text[i] == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i : i + 12]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i : i + 12]).group(0))
            out.append("' '")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def inline_modules(code: str) -> list[tuple[int, int]]:
    """The spans of `mod name { ... }` blocks in a file."""
    spans = []
    for found in re.finditer(rf"\bmod\s+{IDENT}\s*\{{", code):
        depth, k = 0, found.end() - 1
        while k < len(code):
            depth += code[k] == "{"
            depth -= code[k] == "}"
            if depth == 0:
                break
            k += 1
        spans.append((found.start(), k))
    return spans


def expand_use(tree: str) -> list[list[str]]:
    """`a::{b, c::{d, e as f}}` → [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    paths: list[list[str]] = []

    def walk(prefix: list[str], text: str) -> None:
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(text):
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                parts.append(text[start:k])
                start = k + 1
        parts.append(text[start:])
        for part in filter(None, parts):
            brace = part.find("{")
            if brace >= 0:
                head = [s for s in part[:brace].split("::") if s]
                walk(prefix + head, part[brace + 1 : part.rfind("}")])
            else:
                segments = [s for s in part.split("::") if s]
                paths.append(prefix + segments)

    walk([], tree)
    return paths


class Crate:
    def __init__(self, root: Path):
        self.root = root
        self.files: dict[Module, Path] = {}
        self.children: dict[Module, set[str]] = {}
        self._load((), root, root.parent)
        self.reexports: dict[Module, dict[str, list[str]]] = {
            module: {
                segments[-1]: segments
                for use in PUB_USE.finditer(strip_code(path.read_text(encoding="utf-8")))
                for segments in expand_use(use.group(1))
                if segments and segments[-1] != "*"
            }
            for module, path in self.files.items()
        }

    def _load(self, module: Module, path: Path, directory: Path) -> None:
        self.files[module] = path
        code = strip_code(path.read_text(encoding="utf-8"))
        self.children[module] = set()
        for name in MOD_DECL.findall(code):
            for candidate in (directory / f"{name}.rs", directory / name / "mod.rs"):
                if candidate.is_file():
                    self.children[module].add(name)
                    self._load(module + (name,), candidate, directory / name)
                    break

    def resolve(self, module: Module, segments: list[str], depth: int = 0) -> Module | None:
        """The deepest module of this crate that `segments` names, seen
        from `module`; None for another crate's path."""
        if not segments:
            return None
        if segments[0] == "crate":
            base: Module = ()
        elif module + (segments[0],) in self.files:
            # `use child::x` names a submodule of this one (2018 paths).
            return self.resolve(module, ["self", *segments], depth)
        elif segments[0] in ("self", "super"):
            base = module
            while segments and segments[0] in ("self", "super"):
                if segments[0] == "super":
                    if not base:
                        return None
                    base = base[:-1]
                segments = segments[1:]
            segments = ["crate", *base, *segments]
            base = ()
        else:
            return None
        found = base
        for segment in segments[1:]:
            if found + (segment,) in self.files:
                found = found + (segment,)
            elif segment in self.reexports.get(found, {}) and depth < 8:
                # An item a module re-exports is named where it is defined.
                return self.resolve(found, self.reexports[found][segment], depth + 1) or found
            else:
                break
        return found

    def edges(self) -> dict[Module, set[Module]]:
        graph: dict[Module, set[Module]] = {}
        for module, path in self.files.items():
            code = strip_code(path.read_text(encoding="utf-8"))
            inline = inline_modules(code)
            paths = []
            for use in USE_STMT.finditer(code):
                depth = sum(start < use.start() < end for start, end in inline)
                for segments in expand_use(use.group(1)):
                    # `super` inside an inline module (`mod tests`) first
                    # leaves that module, which is still this file.
                    while depth and segments and segments[0] == "super":
                        segments, depth = ["self", *segments[1:]], depth - 1
                    paths.append(segments)
            paths += [["crate", *re.sub(r"\s+", "", m).split("::")[1:]] for m in CRATE_PATH.findall(code)]
            targets = set()
            for segments in paths:
                target = self.resolve(module, segments)
                if target is not None and target != module:
                    targets.add(target)
            graph[module] = targets
        return graph


def cycles(graph: dict[Module, set[Module]]) -> list[list[Module]]:
    """One cycle per strongly connected component (Tarjan), with its path."""
    index: dict[Module, int] = {}
    low: dict[Module, int] = {}
    stack: list[Module] = []
    on_stack: set[Module] = set()
    found: list[list[Module]] = []
    counter = [0]

    def connect(node: Module) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(path_within(graph, set(component)))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def path_within(graph: dict[Module, set[Module]], members: set[Module]) -> list[Module]:
    """A shortest way from the component's first module back to itself."""
    start = min(members)
    previous: dict[Module, Module] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    way = [node]
                    while way[-1] != start:
                        way.append(previous[way[-1]])
                    return [start, *reversed(way[:-1]), start] if node != start else [start, start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start]


def crate_roots(workspace: Path) -> list[Path]:
    """Every crate root under `workspace`, skipping build output, VCS and
    dependency folders without walking them."""
    roots = []
    for directory, folders, files in os.walk(workspace):
        folders[:] = sorted(f for f in folders if f not in SKIPPED and not f.startswith("."))
        if "Cargo.toml" in files:
            src = Path(directory) / "src"
            roots += [p for p in (src / "lib.rs", src / "main.rs") if p.is_file()]
            roots += sorted((src / "bin").glob("*.rs")) if (src / "bin").is_dir() else []
    return roots


def found_cycles(workspace: Path) -> list[str]:
    """One line per cycle: the crate root and the cycle's path."""
    lines = []
    for root in crate_roots(workspace):
        for cycle in cycles(Crate(root).edges()):
            names = " -> ".join("crate" + "".join("::" + s for s in m) for m in cycle)
            lines.append(f"{root.relative_to(workspace)}: {names}")
    return lines


def main(argv: list[str]) -> int:
    workspace = Path(argv[1] if len(argv) > 1 else ".").resolve()
    known_file = Path(argv[2]) if len(argv) > 2 else None
    known = set()
    if known_file is not None and known_file.is_file():
        known = {
            line.strip()
            for line in known_file.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        }
    found = found_cycles(workspace)
    new = [line for line in found if line not in known]
    gone = sorted(known - set(found))
    for line in new:
        print(f"module cycle: {line}")
    for line in gone:
        print(f"{known_file}: no longer a cycle, remove the line: {line}")
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
