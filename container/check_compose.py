#!/usr/bin/env python3
"""Checks that container/docker-compose.yml and README.md agree.

README.md's section "## Running with Docker Compose" documents the stack in a
table (service, profile, image, published port, volumes and mounts) and gives
the commands to start it. This script parses both and fails (exit 1, one line
per problem) unless they agree on:

- the service names and their profiles;
- the published ports (host address, host port, container port), with
  ${VAR:-default} resolved to its default; "not published" means no ports;
- the named volumes each service mounts, among them postgres_data on the db
  service at /var/lib/postgresql/data, declared at the top level;
- (the schema's one path, the migrate service, is container/check_schema_path.py's);
- every bind mount the README lists existing in the compose file, and every
  bind-mount source and the build's Dockerfile existing on disk;
- the start commands, the .env step and the monitoring profile being given;
- the db image being a pinned PostgreSQL 15 minor release, as documented.

It also checks the api service against README.md's "## Configuration" table:

- every setting there reaches the container when it is set in container/.env:
  passed through as ${NAME...}, a *_FILE setting as a Compose secret mounted
  from the host file it names, or fixed by the compose file for a reason
  listed in FIXED below; nothing else is set;
- a default the compose file gives (${NAME:-default}) is the runtime's, or the
  value .env.example deliberately sets;
- container/.env.example lists every variable the compose files use, and
  states for each runtime setting the README's default, as "[default]" at the
  end of the comment above it.

This file checks the services; compose_settings.py the settings and
.env.example; compose_parse.py reads both files' syntax.

Run from anywhere: python3 container/check_compose.py
Needs PyYAML (pip install pyyaml).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok
from compose_parse import (SECTION, column, is_named, parse_compose_port, parse_compose_volume,
                           parse_readme_mounts, parse_readme_port, readme_section, readme_table, strip_md)
from compose_settings import check_env_example, check_settings

yaml = import_yaml()

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMPOSE = HERE / "docker-compose.yml"
README = ROOT / "README.md"
DB_IMAGE = re.compile(r"^postgres:15\.\d+(-[a-z]+)?$")

DB_VOLUME = "postgres_data"
DB_DATA = "/var/lib/postgresql/data"
REQUIRED_COMMANDS = (
    ("the start command from the root", "docker compose -f container/docker-compose.yml up"),
    ("the start command from container/", "cd container && docker compose up"),
    ("the .env step", "cp container/.env.example container/.env"),
    ("the monitoring profile", "--profile monitoring"),
)


def check_db_image(db: dict, row: dict[str, str]) -> None:
    image = str(db.get("image", ""))
    documented = strip_md(column(row, "image"))
    if not DB_IMAGE.match(image):
        fail(f"db image {image!r} must be a pinned PostgreSQL 15 minor release, e.g. postgres:15.20-bookworm")
    elif documented != image:
        fail(f"README's db row shows image {documented!r}, the compose file runs {image!r}")
    else:
        ok(f"db runs the pinned {image}, as documented")


def main() -> int:
    print(f"checking {COMPOSE.relative_to(ROOT)} against {README.name} '{SECTION}'")
    try:
        compose = yaml.safe_load(COMPOSE.read_text())
    except (OSError, yaml.YAMLError) as error:
        fail(f"cannot read {COMPOSE}: {error}")
        return 1
    try:
        readme = README.read_text()
    except OSError as error:
        fail(f"cannot read {README}: {error}")
        return 1

    section = readme_section(readme)
    if section is None:
        fail(f"README.md has no '{SECTION}' section")
        return 1
    table = readme_table(section)
    if not table:
        fail(f"README.md '{SECTION}' has no services table")
        return 1

    services: dict = compose.get("services") or {}
    documented = {strip_md(column(row, "service")): row for row in table}
    check_services(services, documented)
    db = services.get("db") or {}
    check_db(compose, db, documented.get("db", {}))
    api = services.get("api") or {}
    check_api(api, services.get("proxy") or {}, db, documented.get("proxy", {}), section)

    # --- the runtime's settings reach the container
    check_settings(compose, api, readme)
    check_env_example(readme)
    check_db_image(db, documented.get("db", {}))

    # --- the commands
    for what, command in REQUIRED_COMMANDS:
        if command in section:
            ok(f"README gives {what}: {command}")
        else:
            fail(f"README's section does not give {what} ({command})")

    return finish("check_compose", "compose file and README agree")


def check_services(services: dict, documented: dict[str, dict[str, str]]) -> None:
    """Names, profiles, published ports and volumes of each service, row by row."""
    if set(documented) == set(services):
        ok(f"services agree: {', '.join(sorted(services))}")
    else:
        missing = sorted(set(services) - set(documented))
        extra = sorted(set(documented) - set(services))
        if missing:
            fail(f"services in the compose file but not in the README table: {', '.join(missing)}")
        if extra:
            fail(f"services in the README table but not in the compose file: {', '.join(extra)}")

    for name in sorted(set(documented) & set(services)):
        row, service = documented[name], services[name] or {}
        profiles = sorted(service.get("profiles") or [])
        cell = strip_md(column(row, "profile")).lower()
        readme_profiles = [] if cell in ("", "default", "none", "-", "—") else sorted(
            p.strip() for p in cell.split(",")
        )
        if profiles == readme_profiles:
            ok(f"{name}: profile {', '.join(profiles) or 'default'}")
        else:
            fail(f"{name}: profiles {profiles or 'default'} in compose, {readme_profiles or 'default'} in README")

        # --- published ports
        compose_ports = sorted(parse_compose_port(p) for p in service.get("ports") or [])
        readme_port = parse_readme_port(column(row, "published", "port"))
        readme_ports = [] if readme_port is None else [readme_port]
        if compose_ports == readme_ports:
            shown = ", ".join(f"{(ip + ':') if ip else ''}{h}->{c}" for ip, h, c in compose_ports)
            ok(f"{name}: published ports {shown or 'none'}")
        else:
            fail(f"{name}: published ports {compose_ports or 'none'} in compose, {readme_ports or 'none'} in README")

        # --- volumes
        mounts = [parse_compose_volume(v) for v in service.get("volumes") or []]
        readme_mounts = parse_readme_mounts(column(row, "volume", "mount"))
        named = sorted(s for s, _, _ in mounts if is_named(s))
        readme_named = sorted(s for s, _, _ in readme_mounts if is_named(s))
        if named == readme_named:
            ok(f"{name}: named volumes {', '.join(named) or 'none'}")
        else:
            fail(f"{name}: named volumes {named or 'none'} in compose, {readme_named or 'none'} in README")
        for source, target, _ in readme_mounts:
            if not any(source == s and target == t for s, t, _ in mounts):
                fail(f"{name}: README lists {source} -> {target}, which the compose file does not mount")
        for source, _, _ in mounts:
            if source and not is_named(source) and not (HERE / source).exists():
                fail(f"{name}: bind-mount source {source} does not exist (relative to container/)")


def check_db(compose: dict, db: dict, row: dict[str, str]) -> None:
    """The db service keeps its data in postgres_data."""
    db_mounts = [parse_compose_volume(v) for v in db.get("volumes") or []]
    if DB_VOLUME not in (compose.get("volumes") or {}):
        fail(f"volume {DB_VOLUME} is not declared under the top-level volumes:")
    elif (DB_VOLUME, DB_DATA) not in [(s, t) for s, t, _ in db_mounts]:
        fail(f"db does not mount {DB_VOLUME} at {DB_DATA}")
    elif DB_VOLUME not in column(row, "volume", "mount"):
        fail(f"README's db row does not name the {DB_VOLUME} volume")
    else:
        ok(f"{DB_VOLUME} is declared, mounted at {DB_DATA}, and documented")


def check_api(api: dict, proxy: dict, db: dict, proxy_row: dict[str, str], section: str) -> None:
    """The API's published port (through the proxy), its wait for a healthy
    db, the required password, its build."""
    proxy_ports = [parse_compose_port(p) for p in proxy.get("ports") or []]
    if api.get("ports"):
        fail("api must not publish a port: the proxy does, so that a deploy can start a second api container")
    elif [(h, c) for _, h, c in proxy_ports] != [("5000", "5000")]:
        fail(f"proxy must publish 5000 -> 5000 by default (found {proxy_ports})")
    elif "5000" not in strip_md(column(proxy_row, "published", "port")):
        fail("README's proxy row does not show port 5000")
    elif "localhost:5000" not in section:
        fail("README section does not say where the API answers (localhost:5000)")
    else:
        ok("the API is published on 5000 through the proxy and documented")
    proxy_depends = (proxy.get("depends_on") or {}).get("api") if isinstance(proxy.get("depends_on"), dict) else None
    if not proxy_depends or proxy_depends.get("condition") != "service_healthy":
        fail("proxy must depend on api with condition: service_healthy")
    depends = (api.get("depends_on") or {}).get("db") if isinstance(api.get("depends_on"), dict) else None
    if not depends or depends.get("condition") != "service_healthy":
        fail("api must depend on db with condition: service_healthy")
    elif not (db.get("healthcheck") and api.get("healthcheck")):
        fail("api and db both need a healthcheck")
    else:
        ok("api waits for a healthy db; both have health checks")
    password = str((db.get("environment") or {}).get("POSTGRES_PASSWORD", ""))
    if not re.search(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", password):
        fail("db's POSTGRES_PASSWORD must be required: ${POSTGRES_PASSWORD:?message}")
    else:
        ok("POSTGRES_PASSWORD is required")

    build = api.get("build") or {}
    context = (HERE / str(build.get("context", "."))).resolve()
    dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
    if context != ROOT or not dockerfile.is_file():
        fail(f"api must build with the repository root as context and an existing Dockerfile (got {dockerfile})")
    else:
        ok(f"api builds {dockerfile.relative_to(ROOT)} with the repository root as context")


if __name__ == "__main__":
    sys.exit(main())
