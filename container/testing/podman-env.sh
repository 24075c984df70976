# shellcheck shell=bash
# Sourced by the container rehearsals: podman's settings for this kind of
# machine (containers.conf beside this file) and the host's CA bundle, which
# builds mount so that HTTPS from inside a build trusts what the host trusts
# (some networks reach the package registries only through a proxy with its
# own CA).
#
#   . container/testing/podman-env.sh
TESTING_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF="$TESTING_DIR/containers.conf"
HOST_CA=/etc/ssl/certs/ca-certificates.crt
# shellcheck disable=SC2034 # used by the scripts that source this file
# Every build of the rehearsals: Docker's image format (keeps HEALTHCHECK)
# and the host's CA bundle.
BUILD_ARGS=(--format docker -v "$HOST_CA:$HOST_CA:ro")
# shellcheck disable=SC2034
# Builds compile the workspace: one heavy build at a time on the machine.
BUILD_LOCK=${BUILD_LOCK:-/tmp/shop-build.lock}

# free_port: a TCP port on loopback that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# library_image NAME: the Compose file's image of Docker Hub's library by
# that name (postgres, nginx), as podman names it.
library_image() { sed -n "s/^ *image: *\\($1:.*\\)/docker.io\\/library\\/\\1/p" container/docker-compose.yml; }

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every second until it
# succeeds; fails naming WHAT after SECONDS.
wait_until() {
  local limit=$1 what=$2 started=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $((SECONDS - started)) -ge "$limit" ]; then
      echo "not within ${limit}s: $what" >&2
      return 1
    fi
    sleep 1
  done
}
