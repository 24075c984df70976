#!/usr/bin/env bash
# Builds the real container/Dockerfile with podman (its build stage compiles
# the workspace inside the rust:1.95-bookworm stand-in) and checks the image
# as an operator relies on it: it runs as uid 65532, holds no shell, keeps
# its HEALTHCHECK, and its binary answers --version with this commit.
#
#   bash container/testing/image.sh            (prints the image's name)
#   IMAGE=localhost/shop-api:mine bash container/testing/image.sh
#
# The build holds /tmp/shop-build.lock (one heavy build at a time on the
# machine). A rebuild reuses the cargo caches of the Dockerfile's cache
# mounts. About 5 minutes the first time, 1-2 after a source change.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=container/testing/podman-env.sh
. container/testing/podman-env.sh
IMAGE=${IMAGE:-localhost/shop-api:ci}
REVISION=$(git rev-parse HEAD)

bash .ci/install-packages .ci/packages-containers >&2
bash container/testing/stand-in-images.sh rust distroless >&2

started=$SECONDS
echo "image: podman build -f container/Dockerfile -t $IMAGE (waits for $BUILD_LOCK)" >&2
flock "$BUILD_LOCK" nice -n 10 podman build "${BUILD_ARGS[@]}" --quiet \
  -f container/Dockerfile --build-arg GIT_REVISION="$REVISION" -t "$IMAGE" . >&2
echo "image: built in $((SECONDS - started)) s" >&2

problems=0
check() { # description command...
  if "${@:2}" >/dev/null 2>&1; then echo "image: ok   $1" >&2; else echo "image: FAIL $1" >&2; problems=$((problems + 1)); fi
}
inspect() { podman image inspect --format "$1" "$IMAGE"; }

check "runs as 65532:65532 (not root)" test "$(inspect '{{.Config.User}}')" = 65532:65532
check "keeps its HEALTHCHECK (runtime healthcheck)" \
  grep -q '"/app/runtime","healthcheck"' <<<"$(inspect '{{json .Config.Healthcheck}}')"
check "is labelled with this commit" test "$(inspect '{{index .Labels "org.opencontainers.image.revision"}}')" = "$REVISION"
check "answers --version with this commit" \
  grep -q "revision $REVISION" <<<"$(podman run --rm --no-healthcheck "$IMAGE" --version)"
check "refuses an unknown argument" bash -c "! podman run --rm --no-healthcheck '$IMAGE' --no-such-flag"

# No shell at any usual path: list the file system of a created container.
container=$(podman create --no-healthcheck "$IMAGE")
files=$(podman export "$container" | tar -t)
podman rm -f "$container" >/dev/null
check "holds no shell" bash -c "! grep -qE '(^|/)(usr/)?bin/(sh|bash|dash|ash|busybox)$' <<<'$files'"
check "cannot exec a shell" bash -c "! podman run --rm --no-healthcheck --entrypoint /bin/sh '$IMAGE' -c true"
size=$(inspect '{{.Size}}')
echo "image: $IMAGE, $((size / 1000000)) MB" >&2
[ "$problems" -eq 0 ] || { echo "image: $problems check(s) failed" >&2; exit 1; }
echo "$IMAGE"
