"""What the container/check_*.py scripts share: one line per finding (FAIL:
or ok:), a count, and the exit status (1 when anything failed)."""

from __future__ import annotations

import sys

problems: list[str] = []


def fail(message: str) -> None:
    problems.append(message)
    print(f"FAIL: {message}")


def ok(message: str) -> None:
    print(f"ok:   {message}")


def finish(name: str, passed: str) -> int:
    """Prints the verdict of check NAME; returns the exit status."""
    if problems:
        print(f"{name}: {len(problems)} problem(s)")
        return 1
    print(f"{name}: {passed}")
    return 0


def import_yaml():
    """PyYAML, which .ci/venv installs; a FAIL line and exit 1 without it."""
    try:
        import yaml
    except ImportError:  # pragma: no cover
        print("FAIL: PyYAML is not installed (bash .ci/venv installs it into .venv/)")
        sys.exit(1)
    return yaml
