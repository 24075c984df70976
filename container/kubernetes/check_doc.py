#!/usr/bin/env python3
"""Checks the commands of docs/kubernetes.md against the manifests they act on;
check.sh runs it with each overlay rendered by `kubectl kustomize`:

    python3 check_doc.py single=single.yaml split=split.yaml knative=knative.yaml

Fails (exit 1, one line per problem) unless:

- every ```sh block is valid bash (`bash -n`);
- no command runs `kustomize` itself (kubectl has `kubectl kustomize`, but
  no `kustomize edit`; the standalone program is not among the Needs);
- `kubectl create namespace NS` comes before the first command in NS;
- a block that applies an overlay waits for exactly that overlay's
  workloads: `rollout status` of each of its Deployments and of nothing
  else (a `for VAR in ...` loop is expanded), or a `wait` on `ksvc` for
  Knative Services.
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[2] / "docs/kubernetes.md"


def sh_blocks(text):
    """(line number, body) of every ```sh block."""
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(r"^ *```sh\n(.*?)^ *```", text, re.M | re.S)]


def commands(body):
    """The block's commands: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def expand_loops(body):
    """`for V in a b; do ... $V ...; done` spelled out once per value."""
    def spell(match):
        var, values, inner = match.group(1), match.group(2).split(), match.group(3)
        return "\n".join(re.sub(r"\$\{?" + var + r"\}?", value, inner) for value in values)
    return re.sub(r"for (\w+) in ([^;\n]+); do\n(.*?)\n\s*done", spell, body, flags=re.S)


def main():
    rendered = {}
    for arg in sys.argv[1:]:
        name, path = arg.split("=", 1)
        rendered[name] = [o for o in yaml.safe_load_all(Path(path).read_text()) if o]
    text = DOC.read_text()
    problems = []
    created, used_first = {}, {}
    for line, body in sh_blocks(text):
        where = f"docs/kubernetes.md:{line}"
        syntax = subprocess.run(["bash", "-n"], input=body, text=True, capture_output=True)
        if syntax.returncode:
            problems.append(f"{where}: not valid bash: {syntax.stderr.strip()}")
        cmds = commands(expand_loops(body))
        for i, cmd in enumerate(cmds):
            if re.search(r"(^|[;&|(]\s*)kustomize\s", cmd):
                problems.append(f"{where}: runs `kustomize` itself ({cmd}); use `kubectl kustomize` or edit the file")
            made = re.search(r"kubectl create namespace (\S+)", cmd)
            if made:
                created.setdefault(made.group(1), (line, i))
            used = re.search(r"kubectl (?:-n|--namespace)[ =](\S+)", cmd)
            if used:
                used_first.setdefault(used.group(1), (line, i))
        applied = [m for cmd in cmds for m in re.findall(r"apply -k \S*overlays/(\w+)", cmd)]
        if len(applied) > 1:
            problems.append(f"{where}: applies {', '.join(applied)} in one block: one overlay each, with its own wait")
        if len(applied) != 1 or applied[0] not in rendered:
            continue
        overlay = applied[0]
        deployments = {o["metadata"]["name"] for o in rendered[overlay] if o.get("kind") == "Deployment"}
        waited = {name for cmd in cmds for name in re.findall(r"rollout status \"?(?:deploy|deployment)/([\w-]+)", cmd)}
        if waited != deployments:
            problems.append(f"{where}: applies overlays/{overlay} but waits for {sorted(waited) or 'nothing'}; "
                            f"its Deployments are {sorted(deployments) or 'none'}")
        knative = any(o.get("kind") == "Service" and o.get("apiVersion", "").startswith("serving.knative.dev")
                      for o in rendered[overlay])
        if knative and not any(re.search(r"kubectl .*wait .*\bksvc\b", cmd) for cmd in cmds):
            problems.append(f"{where}: applies overlays/{overlay} (Knative Services) without waiting for them (wait ... ksvc)")
    for ns, first in used_first.items():
        if ns not in created or created[ns] > first:
            problems.append(f"docs/kubernetes.md:{first[0]}: uses namespace {ns} before `kubectl create namespace {ns}`")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"docs/kubernetes.md: {len(sh_blocks(text))} sh blocks agree with the overlays")
    return 0


if __name__ == "__main__":
    sys.exit(main())
