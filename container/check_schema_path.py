#!/usr/bin/env python3
"""Checks that the Compose stack applies sql/ by one path and, as shipped,
writes no sample data:

    python3 container/check_schema_path.py   (container/lint.sh runs it)
    python3 container/check_schema_path.py --self-test

- the db service mounts nothing at /docker-entrypoint-initdb.d (PostgreSQL's
  image would run sql/ itself, sample data included, on a new volume);
- a one-shot `migrate` service runs `runtime migrate` (the api's image),
  restart "no", after a healthy db;
- the api waits for it (`service_completed_successfully`) and a healthy db,
  and is fixed to MIGRATE=skip, so it never migrates itself;
- SAMPLE_DATA is not on: the compose default and .env.example leave it unset
  or false, and the api is not given it.

The Kubernetes overlays' side is container/kubernetes/check_rendered.py's
(check_schema_path). --self-test breaks a copy of the compose file once per
rule and expects each to be caught.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok

yaml = import_yaml()

HERE = Path(__file__).resolve().parent
COMPOSE = HERE / "docker-compose.yml"
ENV_EXAMPLE = HERE / ".env.example"
INITDB = "/docker-entrypoint-initdb.d"


def targets(service: dict) -> list[str]:
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out.append(str(volume.get("target", "")))
        else:
            parts = str(volume).split(":")
            out.append(parts[1] if len(parts) > 1 else parts[0])
    return out


def problems_of(compose: dict, example: str) -> list[str]:
    """Every rule the compose file (parsed) and .env.example text break."""
    found = []
    services = compose.get("services") or {}
    db, api, migrate = (services.get(n) or {} for n in ("db", "api", "migrate"))
    if any(t.rstrip("/") == INITDB for t in targets(db)):
        found.append(f"db mounts {INITDB}: PostgreSQL's image would apply sql/ (and the sample data) itself")
    if not migrate:
        found.append("no migrate service")
    else:
        command = migrate.get("command") or []
        if list(command)[-1:] != ["migrate"]:
            found.append(f"migrate runs {command}, not `runtime migrate`")
        if migrate.get("image") != api.get("image"):
            found.append("migrate must run the api's image (the same sql/)")
        if str(migrate.get("restart", "no")) != "no":
            found.append("migrate must be one-shot (restart: \"no\")")
        if ((migrate.get("depends_on") or {}).get("db") or {}).get("condition") != "service_healthy":
            found.append("migrate must wait for a healthy db")
    depends = api.get("depends_on") or {}
    if (depends.get("migrate") or {}).get("condition") != "service_completed_successfully":
        found.append("api must depend on migrate with condition: service_completed_successfully")
    if (depends.get("db") or {}).get("condition") != "service_healthy":
        found.append("api must depend on db with condition: service_healthy")
    if str((api.get("environment") or {}).get("MIGRATE")) != "skip":
        found.append("api must be fixed to MIGRATE: skip (the migrate service applies sql/)")
    if "SAMPLE_DATA" in (api.get("environment") or {}):
        found.append("api is given SAMPLE_DATA; only the migrate service loads sample data")
    sample = str((migrate.get("environment") or {}).get("SAMPLE_DATA", ""))
    default = re.fullmatch(r"\$\{SAMPLE_DATA:?-([^}]*)\}", sample)
    if sample and not (default and default.group(1) in ("", "false")):
        found.append(f"migrate's SAMPLE_DATA is {sample!r}: unset or false unless .env asks")
    line = re.search(r"^SAMPLE_DATA=(.*)$", example, re.M)
    if line and line.group(1).strip().lower() not in ("", "false"):
        found.append(f".env.example sets SAMPLE_DATA={line.group(1)}: a copy of it would seed production")
    return found


def self_test(compose: dict, example: str) -> int:
    def broken(edit):
        c = copy.deepcopy(compose)
        edit(c)
        return c

    s = lambda c: c["services"]  # noqa: E731
    cases = [
        ("the initdb mount", broken(lambda c: s(c)["db"].setdefault("volumes", []).append(f"../sql:{INITDB}:ro")), example),
        ("no migrate service", broken(lambda c: s(c).pop("migrate")), example),
        ("api not waiting", broken(lambda c: s(c)["api"]["depends_on"].pop("migrate")), example),
        ("api migrating itself", broken(lambda c: s(c)["api"]["environment"].pop("MIGRATE")), example),
        ("sample data on", broken(lambda c: s(c)["migrate"]["environment"].update(SAMPLE_DATA="${SAMPLE_DATA:-true}")), example),
        ("sample data in .env.example", compose, re.sub(r"^SAMPLE_DATA=.*$", "SAMPLE_DATA=true", example, flags=re.M)),
    ]
    missed = [what for what, c, e in cases if not problems_of(c, e)]
    for what in missed:
        fail(f"self-test: {what} was not caught")
    if not missed:
        ok(f"self-test: each of {len(cases)} broken copies is caught")
    return finish("check_schema_path --self-test", "every mistake caught")


def main() -> int:
    compose = yaml.safe_load(COMPOSE.read_text())
    example = ENV_EXAMPLE.read_text()
    if problems_of(compose, example):
        for problem in problems_of(compose, example):
            fail(problem)
    elif "--self-test" in sys.argv[1:]:
        return self_test(compose, example)
    else:
        ok("sql/ is applied by the one-shot migrate service only; the api waits for it")
        ok("SAMPLE_DATA is off as shipped")
    return finish("check_schema_path", "one path for the schema, no sample data")


if __name__ == "__main__":
    sys.exit(main())
