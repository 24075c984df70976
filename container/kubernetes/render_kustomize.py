"""The kustomizations generate.py writes: overlays/split (a Deployment, Service,
HPA and PDB per function group) and overlays/knative (a Knative Service per
group), each an overlay file plus one directory per group.

Standard library only.
"""

import re
from pathlib import Path

from grouping import HEADER, RUNTIME_ROUTES, GroupError, comment, q

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------- split


def group_env(value: str, group: dict) -> str:
    """The JSON patch operations that give a group's container its FUNCTIONS
    and POOL_SIZE, the same in a Deployment and a Knative Service."""
    return f"""      - op: add
        path: /spec/template/spec/containers/0/env/-
        value:
          name: FUNCTIONS
          value: {q(value)}
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value:
          name: POOL_SIZE
          value: {q(str(group['pool_size']))}"""

def split_group(group, value, doc):
    name = group["name"]
    return (
        comment(HEADER)
        + comment(f"Group `{name}`: {group['about']}.")
        + f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../../base/workload
nameSuffix: -{name}
labels:
  - pairs:
      app.kubernetes.io/component: {name}
    includeSelectors: true
    includeTemplates: true
patches:
  - target:
      kind: Deployment
      name: shop-api
    patch: |-
{group_env(value, group)}
  - target:
      kind: HorizontalPodAutoscaler
      name: shop-api
    patch: |-
      - op: replace
        path: /spec/minReplicas
        value: {group['replicas']['min']}
      - op: replace
        path: /spec/maxReplicas
        value: {group['replicas']['max']}
"""
    )


def overlay_kustomization(groups, about, resources, tail):
    """An overlay of the shared objects plus one directory per group."""
    listed = "".join(f"  - groups/{g['name']}\n" for g in groups) + "".join(f"  - {r}\n" for r in resources)
    return (
        comment(HEADER)
        + comment(about)
        + "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        + "kind: Kustomization\n"
        + "resources:\n"
        + "  - ../../base/shared\n"
        + listed
        + "components:\n"
        + "  - ../../components/image\n"
        + tail
    )


def split_kustomization(groups):
    return overlay_kustomization(
        groups,
        "One Deployment, Service, HPA and PDB per function group, the shared\n"
        "ConfigMap, Secret and NetworkPolicy once, and the HTTPRoute that sends\n"
        "each method and path to its group.",
        ["httproute.yaml"],
        "# Teaches kustomize that HTTPRoute backendRefs name Services, so a namePrefix\n"
        "# or nameSuffix added on top of this overlay renames both together.\n"
        "configurations:\n"
        "  - httproute-names.yaml\n",
    )


# ---------------------------------------------------------------- knative

def ksvc_workers():
    """WORKERS of the Knative Service template, which containerConcurrency
    depends on: read from the file so that the two cannot disagree."""
    text = (HERE / "overlays/knative/ksvc/service.yaml").read_text()
    found = re.search(r'- name: WORKERS\n\s+value: "(\d+)"', text)
    if not found:
        raise GroupError("overlays/knative/ksvc/service.yaml sets no WORKERS (a number) on its container")
    return int(found.group(1))


def container_concurrency(group, routes, owner, doc, workers):
    """The most requests one pod may be handed at once: the smallest
    concurrency limit among the group's functions (a route may carry its own
    `concurrency`; otherwise the runtime's FUNCTION_CONCURRENCY default), times
    the workers per pod, because the runtime's limits apply per worker."""
    limits = [
        r.get("concurrency", doc["default_concurrency"])
        for r in routes
        if owner[r["function"]] == group and r["function"] not in RUNTIME_ROUTES
    ]
    return min(limits) * workers


def knative_group(group, value, concurrency, doc):
    name = group["name"]
    kn = group["knative"]
    return (
        comment(HEADER)
        + comment(
            f"Group `{name}`: {group['about']}.\n"
            f"min-scale {kn['min_scale']}: "
            + ("scales to zero; the first request waits for a pod (see docs/kubernetes.md)." if kn["min_scale"] == 0
               else "kept warm; a cold start on this path is not acceptable.")
        )
        + f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../ksvc
nameSuffix: -{name}
# JSON patches: kustomize has no schema for Knative's Service, and a
# strategic merge would replace the container list instead of merging it.
patches:
  - target:
      group: serving.knative.dev
      kind: Service
      name: shop-api
    patch: |-
      - op: add
        path: /metadata/labels/app.kubernetes.io~1component
        value: {name}
      - op: add
        path: /spec/template/metadata/labels/app.kubernetes.io~1component
        value: {name}
      - op: add
        path: /spec/template/metadata/annotations/autoscaling.knative.dev~1min-scale
        value: {q(str(kn['min_scale']))}
      - op: add
        path: /spec/template/metadata/annotations/autoscaling.knative.dev~1max-scale
        value: {q(str(kn['max_scale']))}
      - op: add
        path: /spec/template/spec/containerConcurrency
        value: {concurrency}
{group_env(value, group)}
"""
    )


def knative_kustomization(groups):
    return overlay_kustomization(
        groups,
        "Each function group as a Knative Service, with the shared ConfigMap and\n"
        "Secret; the NetworkPolicy is widened for Knative's data path.",
        [],
        "patches:\n  - path: networkpolicy-knative.yaml\n"
        "# Teaches kustomize that a Knative Service names the generated (hashed)\n"
        "# ConfigMaps and Secret, so it rewrites those names there too.\n"
        "configurations:\n  - knative-names.yaml\n",
    )
