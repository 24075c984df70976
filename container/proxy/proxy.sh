#!/bin/sh
# Runs inside the proxy container (nginx; mounted with nginx.conf at
# /etc/nginx/shop). POSIX sh: the official image's shell is dash.
#
#   proxy.sh start           the container's command: the upstream is the
#                            `api` service (every api container, looked up
#                            through the network's DNS), then nginx in the
#                            foreground
#   proxy.sh switch ADDRESS  send the next requests to ADDRESS:5000 only (one
#                            API container), by a graceful reload; the
#                            previous upstream stays when the new
#                            configuration does not pass `nginx -t`.
#                            Returns once the workers of the previous
#                            configuration have finished and exited: from
#                            then on no request goes to the previous upstream
#   proxy.sh upstream        print the upstream in use
set -eu
CONF=/etc/nginx/shop/nginx.conf
UPSTREAM=/tmp/upstream.conf

# upstream NAME-OR-ADDRESS: the lines nginx.conf includes. The resolver is the
# container's own (Docker's 127.0.0.11, or the network's gateway): a name is
# looked up again once its answer is 5 s old.
upstream() {
  resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
  case $resolver in *:*) resolver="[$resolver]" ;; esac
  # shellcheck disable=SC2016 # nginx's variable, literally
  printf 'resolver %s valid=5s ipv6=off;\nset $api_address %s;\n' "${resolver:-127.0.0.11}" "$1"
}

# The master's worker processes now, by their parent (POSIX sh and /proc:
# the official image has no ps).
workers() {
  master=$(cat /tmp/nginx.pid)
  for status in /proc/[0-9]*/status; do
    if awk -v m="$master" '$1 == "PPid:" { child = ($2 == m) } END { exit !child }' "$status" 2>/dev/null; then
      pid=${status#/proc/}
      echo "${pid%/status}"
    fi
  done
}

# Whether a process runs (a zombie, exited and not yet reaped, does not).
running() { # pid
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# `nginx -s reload` only signals the master, which then starts new workers
# and tells the old ones to finish: a caller that went on at once (to stop
# the container the old workers still send to) would race them. Waits for
# the old workers to exit, at most 35 s: above proxy_read_timeout, so any
# request they held has had its answer.
reload_and_wait() {
  old=$(workers)
  nginx -s reload -c "$CONF"
  waited=0
  for pid in $old; do
    while running "$pid"; do
      if [ "$waited" -ge 350 ]; then
        echo "proxy: a worker of the previous configuration (pid $pid) still runs after 35 s; going on" >&2
        return 0
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  done
}

case ${1:-} in
  start)
    upstream api >"$UPSTREAM"
    exec nginx -c "$CONF" -g 'daemon off;'
    ;;
  switch)
    address=${2:?usage: proxy.sh switch ADDRESS}
    cp "$UPSTREAM" "$UPSTREAM.previous"
    upstream "$address" >"$UPSTREAM"
    if ! nginx -t -q -c "$CONF"; then
      mv -f "$UPSTREAM.previous" "$UPSTREAM"
      echo "proxy: the configuration with $address does not pass nginx -t; upstream unchanged" >&2
      exit 1
    fi
    reload_and_wait
    ;;
  upstream) cat "$UPSTREAM" ;;
  *)
    echo 'usage: proxy.sh start | switch ADDRESS | upstream' >&2
    exit 2
    ;;
esac
