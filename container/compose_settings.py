"""The runtime's settings against the compose file and container/.env.example,
for container/check_compose.py:

- every setting of README.md's "## Configuration" table reaches the api
  container when it is set in container/.env (passed through as ${NAME...},
  a *_FILE setting as a Compose secret mounted from the host file it names,
  or fixed by the compose file for a reason in FIXED); nothing else is set;
- a default the compose file gives is the runtime's or .env.example's;
- container/.env.example lists every variable the compose files use and
  states each runtime setting's default as "[default]" in its comment.
"""

from __future__ import annotations

import re
from pathlib import Path

from checklib import fail, ok
from compose_parse import CONFIG_SECTION, readme_settings

HERE = Path(__file__).resolve().parent
COMPOSE_FILES = (HERE / "docker-compose.yml", HERE / "docker-compose.db-port.yml")
ENV_EXAMPLE = HERE / ".env.example"

# Runtime settings the compose file sets itself rather than passing through.
FIXED = {
    "HOST": "the container listens on 0.0.0.0, where the published port points",
    "PORT": "5000 inside the container; API_PORT chooses the port on the host",
    "MIGRATE": "skip: the migrate service applies sql/ before the api starts",
}
# Runtime settings that mean nothing in the container, so it is not given them.
NOT_APPLICABLE = {
    "EMBEDDED_PG_DIR": "the image has no PostgreSQL to start: the API always gets a DATABASE_URL",
    "SAMPLE_DATA": "the migrate service loads it; the api (MIGRATE=skip) applies nothing",
}
# Listed in .env.example commented out, because an empty value means something
# else than an unset one (see the compose file).
COMMENTED_IN_EXAMPLE = {"DATABASE_URL"}
SECRETS_DIR = "/run/secrets/"
UNSET_SECRET = "./unset-secret"


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
