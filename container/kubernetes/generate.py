#!/usr/bin/env python3
"""Generates the split routing from the registry's routes and groups.json.

    python3 container/kubernetes/generate.py            # write the files
    python3 container/kubernetes/generate.py --check    # fail if they differ
    target/debug/runtime routes --format json > container/kubernetes/routes.json

Inputs: groups.json (group name -> function globs, replica bounds) and
routes.json (`runtime routes --format json`, committed so that the output can
be reproduced without a build; check.sh compares it with the binary's).

Outputs, all marked as generated:
  overlays/split/kustomization.yaml, overlays/split/groups/<group>/kustomization.yaml
  overlays/split/httproute.yaml
  overlays/knative/kustomization.yaml, overlays/knative/groups/<group>/kustomization.yaml
  proxy/haproxy.cfg

What goes where: grouping.py assigns each route its group; render_kustomize.py,
render_httproute.py and render_haproxy.py write the files; this one reads the
inputs, writes or compares, and removes a vanished group's directory.

Standard library only, so that it runs on a bare CI machine.
"""

import argparse
import json
import sys
from pathlib import Path

from grouping import GroupError, assign, functions_value
from render_haproxy import haproxy
from render_httproute import httproute
from render_kustomize import container_concurrency, knative_group, knative_kustomization, ksvc_workers, split_group, split_kustomization

HERE = Path(__file__).resolve().parent


def render(doc, routes):
    owner = assign(doc, routes)
    workers = ksvc_workers()
    groups = doc["groups"]
    out = {}
    out["overlays/split/kustomization.yaml"] = split_kustomization(groups)
    out["overlays/knative/kustomization.yaml"] = knative_kustomization(groups)
    for group in groups:
        value = functions_value(group["name"], routes, owner, doc)
        out[f"overlays/split/groups/{group['name']}/kustomization.yaml"] = split_group(group, value, doc)
        cc = container_concurrency(group["name"], routes, owner, doc, workers)
        out[f"overlays/knative/groups/{group['name']}/kustomization.yaml"] = knative_group(group, value, cc, doc)
    out["overlays/split/httproute.yaml"] = httproute(doc, routes, owner)
    out["proxy/haproxy.cfg"] = haproxy(doc, routes, owner)
    return out


def stale_group_dirs(root, out):
    """Group directories left behind by a group that no longer exists."""
    stale = []
    for overlay in ("split", "knative"):
        base = root / "overlays" / overlay / "groups"
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if f"overlays/{overlay}/groups/{d.name}/kustomization.yaml" not in out:
                    stale.append(d)
    return stale


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=Path, default=HERE / "groups.json")
    parser.add_argument("--routes", type=Path, default=HERE / "routes.json",
                        help="`runtime routes --format json` output (default: the committed snapshot)")
    parser.add_argument("--out", type=Path, default=HERE, help="directory the paths are relative to")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args()

    doc = json.loads(args.groups.read_text())
    routes = json.loads(args.routes.read_text())
    try:
        out = render(doc, routes)
    except GroupError as error:
        print(f"generate.py: {args.groups}:\n{error}", file=sys.stderr)
        return 1
    stale = stale_group_dirs(args.out, out)
    if args.check:
        differ = [p for p, text in out.items() if not (args.out / p).is_file() or (args.out / p).read_text() != text]
        for p in differ:
            print(f"generate.py --check: {p} differs from what groups.json and routes.json give", file=sys.stderr)
        for d in stale:
            print(f"generate.py --check: {d.relative_to(args.out)} belongs to no group in groups.json", file=sys.stderr)
        if differ or stale:
            print("run: python3 container/kubernetes/generate.py", file=sys.stderr)
            return 1
        print(f"generate.py --check: {len(out)} generated files up to date, every route has a group")
        return 0
    for p, text in out.items():
        target = args.out / p
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {p}")
    for d in stale:
        # Only the file this script wrote; rmdir then refuses to drop anything else.
        (d / "kustomization.yaml").unlink(missing_ok=True)
        d.rmdir()
        print(f"removed {d.relative_to(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
