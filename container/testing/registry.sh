#!/usr/bin/env bash
# The first part of the deploy rehearsal: a real registry (Debian's
# docker-registry, distribution 2.8) on a loopback port of its own, the image
# pushed to it, and pulled back BY DIGEST into a separate podman storage root
# (as a server with its own storage would), where its revision label must be
# the one pushed. Everything it starts is stopped and removed at the end.
#
#   bash container/testing/registry.sh        (IMAGE=localhost/shop-api:ci)
#
# About 30 s. Needs root and the image (container/testing/image.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=container/testing/podman-env.sh
. container/testing/podman-env.sh
IMAGE=${IMAGE:-localhost/shop-api:ci}
podman image exists "$IMAGE" || { echo "no image $IMAGE: run container/testing/image.sh" >&2; exit 1; }

work=$(mktemp -d)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  podman --root "$work/server-storage" --runroot "$work/server-run" rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'registry: %s\n' "$*" >&2; }

port=$(free_port)
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
YAML
nice -n 10 docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
wait_until 30 "the registry answering on 127.0.0.1:$port" curl -fsS "http://127.0.0.1:$port/v2/"
say "docker-registry on 127.0.0.1:$port"

remote=127.0.0.1:$port/shop-api:ci
podman push --quiet --tls-verify=false --digestfile "$work/digest" "$IMAGE" "docker://$remote"
digest=$(cat "$work/digest")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { say "no digest from the push: $digest"; exit 1; }
say "pushed $remote@$digest"

# A pull by digest into storage the build never touched.
server=(podman --root "$work/server-storage" --runroot "$work/server-run")
"${server[@]}" pull --quiet --tls-verify=false "127.0.0.1:$port/shop-api@$digest" >/dev/null
pushed=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$IMAGE")
pulled=$("${server[@]}" image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "127.0.0.1:$port/shop-api@$digest")
[ "$pulled" = "$pushed" ] || { say "pulled revision '$pulled', pushed '$pushed'"; exit 1; }
say "pulled by digest into a separate storage root: revision $pulled"

# A digest the registry does not hold is refused, not silently replaced.
missing="sha256:$(printf '0%.0s' {1..64})"
if "${server[@]}" pull --quiet --tls-verify=false "127.0.0.1:$port/shop-api@$missing" >/dev/null 2>&1; then
  say "a pull of an unknown digest succeeded"
  exit 1
fi
say "an unknown digest is refused; all checks passed"
