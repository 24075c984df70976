#!/usr/bin/env python3
"""Checks that the Compose stack's shutdown timings nest, so a restart or a
deploy never cuts a request the runtime admitted:

    python3 container/check_compose_timing.py   (container/lint.sh runs it)

- the api's SHUTDOWN_GRACE_MS (its compose default, else the runtime's from
  README's configuration table) is above REQUEST_TIMEOUT_MS (likewise): a
  request admitted just before SIGTERM runs to its own limit and still gets
  its answer before the drain gives up;
- stop_grace_period leaves at least 2 s past SHUTDOWN_GRACE_MS for the
  process to exit before Compose kills it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok

yaml = import_yaml()

HERE = Path(__file__).resolve().parent
COMPOSE = HERE / "docker-compose.yml"
README = HERE.parent / "README.md"
EXIT_MARGIN_MS = 2000


def effective_ms(environment: dict, readme: str, name: str) -> int | None:
    """The value the container gets with an empty .env: the compose default
    (`${NAME:-N}`), else the runtime's default from README's table."""
    value = str(environment.get(name, ""))
    match = re.fullmatch(r"\$\{" + name + r":?-(\d+)\}", value)
    if match:
        return int(match.group(1))
    row = re.search(r"^\| `" + name + r"` \| `(\d+)` \|", readme, re.M)
    return int(row.group(1)) if row else None


def duration_ms(text: str) -> int | None:
    """A Compose duration (`15s`, `1m30s`, `500ms`) in milliseconds."""
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}
    parts = re.findall(r"(\d+)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * units[u] for n, u in parts)


def main() -> int:
    api = yaml.safe_load(COMPOSE.read_text())["services"]["api"]
    readme = README.read_text()
    environment = api.get("environment") or {}
    grace = effective_ms(environment, readme, "SHUTDOWN_GRACE_MS")
    timeout = effective_ms(environment, readme, "REQUEST_TIMEOUT_MS")
    if grace is None or timeout is None:
        fail("cannot tell SHUTDOWN_GRACE_MS or REQUEST_TIMEOUT_MS (compose default or README's table)")
    elif grace <= timeout:
        fail(f"api: SHUTDOWN_GRACE_MS {grace} ms is not above REQUEST_TIMEOUT_MS {timeout} ms: "
             "a deploy cuts requests the runtime admitted; default it higher in the compose file")
    else:
        ok(f"api: SHUTDOWN_GRACE_MS {grace} ms is above REQUEST_TIMEOUT_MS {timeout} ms")
    stop = duration_ms(str(api.get("stop_grace_period", "10s")))
    if grace is not None and (stop is None or stop < grace + EXIT_MARGIN_MS):
        fail(f"api: stop_grace_period {api.get('stop_grace_period', '10s (Compose default)')} leaves "
             f"less than {EXIT_MARGIN_MS} ms past SHUTDOWN_GRACE_MS {grace} ms")
    elif grace is not None:
        ok(f"api: stop_grace_period {stop} ms leaves {stop - grace} ms past the drain")
    return finish("check_compose_timing", "shutdown timings nest")


if __name__ == "__main__":
    sys.exit(main())
