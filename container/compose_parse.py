"""How container/check_compose.py reads its two sides: the compose file's
ports and volumes in their short and long syntax (with ${VAR:-default}
resolved), and README.md's sections and tables (the services table, the
configuration table). Parsing only; the checks are in check_compose.py and
compose_settings.py.
"""

from __future__ import annotations

import re

SECTION = "## Running with Docker Compose"
CONFIG_SECTION = "## Configuration"


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
