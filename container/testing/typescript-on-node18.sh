#!/usr/bin/env bash
# Proves that the TypeScript client's check (clients/typescript/check) passes
# on the Node.js that CI's job container installs: Debian 12's `nodejs`, an
# 18.x, where this machine has a newer Node. It runs the check in a fresh
# clone of HEAD inside the clean Debian 12 stand-in that ci-in-debian.sh
# uses, after installing only the packages the check calls (from
# .ci/packages), against this machine's runtime binary (both are Debian 12).
#
#   bash container/testing/typescript-on-node18.sh
#
# About 3.5 minutes, most of it apt-get; needs root and podman
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
name="shop-ts-node18-$$"
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git clone -q "$ROOT" "$work/src"
git -C "$work/src" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
cp "$RUNTIME_BIN" "$work/runtime"
# Only the lines of .ci/packages that the check needs: Node and npm, curl
# and python3 (clients/runtime.sh), PostgreSQL (the runtime's embedded one).
grep -E '^(nodejs|npm|curl|python3-venv|postgresql-15) ' "$ROOT/.ci/packages" >"$work/packages"

# The host's CA bundle for npm and apt behind this machine's proxy, as in
# ci-in-debian.sh (GitHub's runner needs none).
podman run --rm --name "$name" --network host \
  -v "$work:/work" -v "$HOST_CA:/etc/ssl/host-ca.crt:ro" \
  -e CI=true -e NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt \
  -e npm_config_cafile=/etc/ssl/host-ca.crt -e CURL_CA_BUNDLE=/etc/ssl/host-ca.crt \
  -e RUNTIME_BIN=/work/runtime -w /work/src "$IMAGE" bash -euo pipefail -c '
    if command -v node >/dev/null; then echo "the image already has node" >&2; exit 1; fi
    bash .ci/install-packages /work/packages
    version=$(node --version)
    echo "typescript-on-node18: node $version, npm $(npm --version)"
    case $version in v18.*) ;; *) echo "expected Debian 12 to install Node 18, got $version" >&2; exit 1 ;; esac
    bash clients/typescript/check
  '
echo "typescript-on-node18: clients/typescript/check passes on Debian 12's Node 18"
