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
- the init mount of ../sql into /docker-entrypoint-initdb.d, read-only, and
  sql/ holding the .sql files it runs;
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

Run from anywhere: python3 container/check_compose.py
Needs PyYAML (pip install pyyaml).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from checklib import fail, finish, import_yaml, ok, problems

yaml = import_yaml()

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMPOSE = HERE / "docker-compose.yml"
COMPOSE_FILES = (COMPOSE, HERE / "docker-compose.db-port.yml")
ENV_EXAMPLE = HERE / ".env.example"
README = ROOT / "README.md"
SECTION = "## Running with Docker Compose"
CONFIG_SECTION = "## Configuration"

# Runtime settings the compose file sets itself rather than passing through.
FIXED = {
    "HOST": "the container listens on 0.0.0.0, where the published port points",
    "PORT": "5000 inside the container; API_PORT chooses the port on the host",
}
# Runtime settings that mean nothing in the container, so it is not given them.
NOT_APPLICABLE = {
    "EMBEDDED_PG_DIR": "the image has no PostgreSQL to start: the API always gets a DATABASE_URL",
}
# Listed in .env.example commented out, because an empty value means something
# else than an unset one (see the compose file).
COMMENTED_IN_EXAMPLE = {"DATABASE_URL"}
SECRETS_DIR = "/run/secrets/"
UNSET_SECRET = "./unset-secret"
DB_IMAGE = re.compile(r"^postgres:15\.\d+(-[a-z]+)?$")

INIT_SOURCE = "../sql"
INIT_TARGET = "/docker-entrypoint-initdb.d"
DB_VOLUME = "postgres_data"
DB_DATA = "/var/lib/postgresql/data"
REQUIRED_SQL = ("01-schema.sql", "02-sample-data.sql")
REQUIRED_COMMANDS = (
    ("the start command from the root", "docker compose -f container/docker-compose.yml up"),
    ("the start command from container/", "cd container && docker compose up"),
    ("the .env step", "cp container/.env.example container/.env"),
    ("the monitoring profile", "--profile monitoring"),
)

def resolve(text: str) -> str:
    """${VAR:-default} / ${VAR-default} -> default; ${VAR:?msg} and ${VAR} -> VAR."""

    def sub(match: re.Match[str]) -> str:
        name, op, value = match.group(1), match.group(2), match.group(3)
        if op in (":-", "-"):
            return value or ""
        return f"<{name}>"

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}", sub, str(text))


def parse_compose_port(entry) -> tuple[str, str, str]:
    """(host_ip, host_port, container_port) from the short or long syntax."""
    if isinstance(entry, dict):
        return (
            resolve(entry.get("host_ip", "")),
            resolve(entry.get("published", "")),
            resolve(entry.get("target", "")),
        )
    text = resolve(entry).split("/")[0]
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", "", parts[0]


def parse_compose_volume(entry) -> tuple[str, str, bool]:
    """(source, target, read_only) from the short or long syntax."""
    if isinstance(entry, dict):
        return str(entry.get("source", "")), str(entry.get("target", "")), bool(entry.get("read_only", False))
    parts = resolve(entry).split(":")
    if len(parts) == 1:
        return "", parts[0], False
    mode = parts[2] if len(parts) > 2 else ""
    return parts[0], parts[1], "ro" in mode.split(",")


def is_named(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~"))


def strip_md(cell: str) -> str:
    return cell.replace("`", "").replace("**", "").strip()


def readme_section(text: str, heading: str = SECTION) -> str | None:
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        return None
    end, fenced = len(lines), False
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,2} ", lines[i]):
            end = i
            break
    return "\n".join(lines[start + 1 : end])


def readme_table(section: str) -> list[dict[str, str]]:
    rows: list[list[str]] = []
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            rows.append([c.strip() for c in line[1:-1].split("|")])
        elif rows:
            break
    if len(rows) < 3:
        return []
    header = [strip_md(c).lower() for c in rows[0]]
    return [dict(zip(header, row)) for row in rows[2:]]


def column(row: dict[str, str], *names: str) -> str:
    for key, value in row.items():
        if any(key.startswith(name) for name in names):
            return value
    return ""


def parse_readme_port(cell: str) -> tuple[str, str, str] | None:
    """'`5000` → `5000` (`API_PORT`)' -> ('', '5000', '5000'); 'not published' -> None."""
    text = strip_md(cell)
    if "not published" in text.lower():
        return None
    match = re.match(r"^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+)\s*(?:→|->)\s*(\d+)", text)
    if not match:
        return ("?", "?", text)
    return match.group(1) or "", match.group(2), match.group(3)


def parse_readme_mounts(cell: str) -> list[tuple[str, str, bool]]:
    mounts = []
    for part in re.split(r",\s*(?=`)", cell):
        text = strip_md(part)
        match = re.match(r"^(\S+)\s*(?:→|->)\s*(\S+)(.*)$", text)
        if match:
            mounts.append((match.group(1), match.group(2), "read-only" in match.group(3).lower()))
    return mounts


def readme_settings(readme: str) -> dict[str, str]:
    """README's configuration table: variable -> default ("unset", or the value)."""
    section = readme_section(readme, CONFIG_SECTION) or ""
    settings = {}
    for row in readme_table(section):
        name = strip_md(column(row, "variable"))
        cell = strip_md(column(row, "default"))
        raw = column(row, "default")
        if cell.lower().startswith("unset"):
            default = "unset"
        else:
            ticked = re.search(r"`([^`]*)`", raw)
            default = ticked.group(1) if ticked else cell
        if name:
            settings[name] = default
    return settings


def example_entries() -> dict[str, tuple[str, bool, str | None]]:
    """.env.example: NAME -> (value, commented out, last [default] of the comment above)."""
    entries = {}
    comment: list[str] = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match:
            stated = re.findall(r"\[([^\]]*)\]", " ".join(comment))
            entries[match.group(2)] = (match.group(3), bool(match.group(1)), stated[-1] if stated else None)
            comment = []
        elif line.startswith("#"):
            comment.append(line)
        else:
            comment = []
    return entries


def check_settings(compose: dict, api: dict, readme: str) -> None:
    settings = readme_settings(readme)
    if not settings:
        fail(f"README.md has no '{CONFIG_SECTION}' table")
        return
    environment = api.get("environment") or {}
    if not isinstance(environment, dict):
        fail("api: environment must be a mapping (NAME: value)")
        return
    service_secrets = {s if isinstance(s, str) else s.get("source") for s in api.get("secrets") or []}
    top_secrets = compose.get("secrets") or {}
    examples = example_entries()
    reached = 0
    for name, default in settings.items():
        value = environment.get(name)
        if name in NOT_APPLICABLE:
            if value is not None:
                fail(f"api: {name} is set, but {NOT_APPLICABLE[name]}")
            reached += 1
            continue
        if value is None:
            fail(f"api: {name} (README configuration table) never reaches the container: add it to environment:")
            continue
        value = str(value)
        if name in FIXED:
            if "${" in value:
                fail(f"api: {name} is meant to be fixed ({FIXED[name]}), found {value}")
            reached += 1
            continue
        if name.endswith("_FILE"):
            match = re.fullmatch(r"\$\{" + name + r":\+" + re.escape(SECRETS_DIR) + r"([a-z_]+)\}", value)
            if not match:
                fail(f"api: {name} must be ${{{name}:+{SECRETS_DIR}<secret>}} (a host file mounted as a secret), found {value}")
                continue
            secret = match.group(1)
            source = str((top_secrets.get(secret) or {}).get("file", ""))
            if secret not in service_secrets:
                fail(f"api: {name} points at secret {secret}, which the api service does not mount (secrets:)")
            elif not re.fullmatch(r"\$\{" + name + r":-" + re.escape(UNSET_SECRET) + r"\}", source):
                fail(f"secret {secret} must come from the file {name} names: file: ${{{name}:-{UNSET_SECRET}}} (found {source!r})")
            elif not (HERE / UNSET_SECRET).is_file():
                fail(f"container/{UNSET_SECRET[2:]} (mounted for an unset secret) does not exist")
            else:
                reached += 1
            continue
        match = re.match(r"^\$\{" + name + r"(?::?-(.*))?\}$", value, re.S)
        if not match:
            fail(f"api: {name} is set to {value}, so a value in .env never reaches the container; use ${{{name}:-}}")
            continue
        compose_default = match.group(1) or ""
        example_value = (examples.get(name) or ("", False, None))[0]
        if compose_default and "${" not in compose_default and compose_default not in (default, example_value):
            fail(f"api: {name} defaults to {compose_default!r}, neither the runtime's ({default}) nor .env.example's")
            continue
        reached += 1
    unknown = sorted(set(environment) - set(settings))
    if unknown:
        fail(f"api: environment sets {', '.join(unknown)}, which README's configuration table does not describe")
    if reached == len(settings) and not unknown:
        ok(f"all {len(settings)} settings of README's configuration table reach the api container")


def check_env_example(readme: str) -> None:
    settings = readme_settings(readme)
    examples = example_entries()
    used: set[str] = set()
    for path in COMPOSE_FILES:
        used |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", path.read_text()))
    missing = sorted(n for n in used if n not in examples or (examples[n][1] and n not in COMMENTED_IN_EXAMPLE))
    if missing:
        fail(f".env.example does not list {', '.join(missing)}, which the compose files use")
    else:
        ok(f".env.example lists all {len(used)} variables the compose files use")
    wrong = []
    for name, default in settings.items():
        if name in FIXED or name in NOT_APPLICABLE or name not in examples:
            continue
        stated = examples[name][2]
        if stated is None:
            wrong.append(f"{name} (no [default] in its comment; the runtime's is {default})")
        elif stated != default:
            wrong.append(f"{name} ([{stated}], the runtime's is {default})")
    if wrong:
        fail(".env.example states a wrong default for " + "; ".join(wrong))
    else:
        ok(".env.example states the runtime's default of every setting it lists")


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

    # --- service names and profiles
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

    # --- postgres_data
    db = services.get("db") or {}
    db_mounts = [parse_compose_volume(v) for v in db.get("volumes") or []]
    if DB_VOLUME not in (compose.get("volumes") or {}):
        fail(f"volume {DB_VOLUME} is not declared under the top-level volumes:")
    elif (DB_VOLUME, DB_DATA) not in [(s, t) for s, t, _ in db_mounts]:
        fail(f"db does not mount {DB_VOLUME} at {DB_DATA}")
    elif DB_VOLUME not in column(documented.get("db", {}), "volume", "mount"):
        fail(f"README's db row does not name the {DB_VOLUME} volume")
    else:
        ok(f"{DB_VOLUME} is declared, mounted at {DB_DATA}, and documented")

    # --- init mount of sql
    init = [m for m in db_mounts if m[1] == INIT_TARGET]
    readme_init = [m for m in parse_readme_mounts(column(documented.get("db", {}), "volume", "mount")) if m[1] == INIT_TARGET]
    sql_dir = (HERE / INIT_SOURCE).resolve()
    if len(init) != 1 or init[0][0] != INIT_SOURCE:
        fail(f"db must mount {INIT_SOURCE} at {INIT_TARGET} (found {init or 'nothing'})")
    elif not init[0][2]:
        fail(f"db's {INIT_TARGET} mount must be read-only (:ro)")
    elif [(s, t) for s, t, _ in readme_init] != [(INIT_SOURCE, INIT_TARGET)]:
        fail(f"README's db row must show {INIT_SOURCE} -> {INIT_TARGET} (found {readme_init or 'nothing'})")
    elif not all((sql_dir / f).is_file() for f in REQUIRED_SQL):
        fail(f"{sql_dir} must hold {', '.join(REQUIRED_SQL)}")
    else:
        ok(f"{INIT_SOURCE} is mounted read-only at {INIT_TARGET} ({', '.join(REQUIRED_SQL)}) and documented")

    # --- the API's published port (through the proxy) and health/dependency wiring
    api = services.get("api") or {}
    proxy = services.get("proxy") or {}
    proxy_ports = [parse_compose_port(p) for p in proxy.get("ports") or []]
    if api.get("ports"):
        fail("api must not publish a port: the proxy does, so that a deploy can start a second api container")
    elif [(h, c) for _, h, c in proxy_ports] != [("5000", "5000")]:
        fail(f"proxy must publish 5000 -> 5000 by default (found {proxy_ports})")
    elif "5000" not in strip_md(column(documented.get("proxy", {}), "published", "port")):
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


if __name__ == "__main__":
    sys.exit(main())
