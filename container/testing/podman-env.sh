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
