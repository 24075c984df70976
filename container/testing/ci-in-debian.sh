#!/usr/bin/env bash
# Proves that the repository installs every program its checks call, in a
# clean Debian 12 container that stands in for GitHub's CI job image
# (rust:1.95.0-bookworm: Debian 12 plus the Rust toolchain and nothing else;
# built by stand-in-images.sh from Debian's packages and this machine's
# toolchain).
#
#   bash container/testing/ci-in-debian.sh
#
# In a fresh clone of HEAD inside the container, as CI's job runs it:
#   1. .ci/install-packages and .ci/venv, from nothing;
#   2. container/check_packages.py --installed: every program that a script
#      or test runs is now on PATH (this is the proof: the whole .ci/checks
#      would add half an hour of compiling and testing that the machine's
#      own run already does, without proving more about what is installed);
#   3. container/kubernetes/check.sh, the step that called kubectl and npm
#      without installing them (with this machine's runtime binary, which
#      the container's glibc runs: both are Debian 12);
#   4. clients/typescript/check on the Node.js Debian 12 installs, an 18.x
#      (this machine has a newer one), against the same runtime binary;
#   5. cargo fmt --check: the toolchain works in the container.
# About 8 minutes, most of it apt-get and pip; needs root and podman
# (.ci/packages-containers). The container is removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=container/testing/podman-env.sh
. "$ROOT/container/testing/podman-env.sh"
IMAGE=docker.io/library/rust:1.95.0-bookworm
RUNTIME_BIN=${RUNTIME_BIN:-$ROOT/target/debug/runtime}

bash "$ROOT/.ci/install-packages" "$ROOT/.ci/packages-containers" >&2
bash "$ROOT/container/testing/stand-in-images.sh" debian rust
[ -x "$RUNTIME_BIN" ] || { echo "no $RUNTIME_BIN: cargo build -p runtime first" >&2; exit 1; }

work=$(mktemp -d)
name="shop-ci-in-debian-$$"
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git clone -q "$ROOT" "$work/src"
git -C "$work/src" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
cp "$RUNTIME_BIN" "$work/runtime"

# This machine reaches the registries through a proxy with its own CA: the
# host's bundle is handed to pip, npm and curl (GitHub's runner needs none).
podman run --rm --name "$name" --network host \
  -v "$work:/work" -v "$HOST_CA:/etc/ssl/host-ca.crt:ro" \
  -e CI=true -e PIP_CERT=/etc/ssl/host-ca.crt -e NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt \
  -e npm_config_cafile=/etc/ssl/host-ca.crt -e CURL_CA_BUNDLE=/etc/ssl/host-ca.crt \
  -e RUNTIME_BIN=/work/runtime -w /work/src "$IMAGE" bash -euo pipefail -c '
    started=$SECONDS
    lap() { echo "ci-in-debian: $1 ($((SECONDS - started)) s)"; started=$SECONDS; }
    test ! -e .venv
    for tool in kubectl node npm haproxy promtool; do
      if command -v "$tool" >/dev/null; then echo "the image already has $tool" >&2; exit 1; fi
    done
    bash .ci/install-packages
    lap ".ci/install-packages"
    VENV=$(bash .ci/venv)
    export PATH="$VENV/bin:$PATH"
    lap ".ci/venv"
    "$VENV/bin/python" container/check_packages.py --installed | grep -v "^ok"
    lap "check_packages.py --installed"
    bash container/kubernetes/check.sh | tail -1
    lap "container/kubernetes/check.sh"
    version=$(node --version)
    case $version in v18.*) ;; *) echo "expected Debian 12 to install Node 18, got $version" >&2; exit 1 ;; esac
    bash clients/typescript/check | tail -1
    lap "clients/typescript/check on node $version, npm $(npm --version)"
    cargo fmt --all --check
    lap "cargo fmt --check"
  '
echo "ci-in-debian: the repository installs what its checks call, in a clean Debian 12; the TypeScript client passes on its Node 18"
