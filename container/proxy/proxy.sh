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
#                            configuration does not pass `nginx -t`
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
    nginx -s reload -c "$CONF"
    ;;
  upstream) cat "$UPSTREAM" ;;
  *)
    echo 'usage: proxy.sh start | switch ADDRESS | upstream' >&2
    exit 2
    ;;
esac
