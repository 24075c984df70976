#!/usr/bin/env bash
# Runs ON THE SERVER: deploys one commit of shop-api with Docker Compose, and
# rolls back to what ran before when the new version does not come up healthy.
#
#   remote-deploy.sh            start, then follow: the way to run it by hand
#   remote-deploy.sh start      check the settings, take the deploy lock, start
#                               the deploy detached (its own session, stdin from
#                               /dev/null, output to a log file) and print its id
#   remote-deploy.sh follow [ID]  print that run's log (default: the latest) as
#                               it grows; exit with the deploy's status once it
#                               ended. Safe to repeat after a dropped connection.
#   remote-deploy.sh run DIR    the deploy itself (what `start` launches)
#   remote-deploy.sh settings   the names of the settings below, one a line
#   remote-deploy.sh files      the files a deploy needs (this one and its libs)
#
# Detached, because a deploy tied to the SSH channel that started it stops
# wherever the connection drops: between the checkout and the restart, or in
# the middle of a rollback. container/deploy-over-ssh.sh (the deploy workflow's
# step) copies this file to ~/.shop-api-deploy/, runs `start` there with the
# settings in its environment, then `follow`s it, reconnecting when SSH drops.
#
# The deploy (deploy-steps.sh): fetch and check out DEPLOY_SHA in DEPLOY_PATH
# (refused unless it is on DEPLOY_BRANCH), write container/.env, keep the
# image that runs now as $API_IMAGE:previous (unless it already is
# DEPLOY_SHA: a re-run must not overwrite the rollback target), then either
# pull DEPLOY_IMAGE (the image CI built and tested, by digest) or build on
# this server, and pull the other services' pinned images. With an api
# container and the proxy running, the new api container starts beside the
# old one and takes the traffic only once healthy (deploy-switch.sh: no
# request is dropped); otherwise the stack starts as a whole. Then /health
# and /db-check through the proxy. If anything fails: the old container
# keeps serving (or the previous commit's image is started again), the
# previous commit is checked out, and the exit status is non-zero. The
# postgres_data volume is never touched.
#
# This file, deploy-steps.sh and deploy-switch.sh travel together (`start`
# copies the three into the run's directory, which a checkout never touches).
#
# Environment (values never printed):
#   DEPLOY_SHA         full commit sha to deploy (required)
#   POSTGRES_PASSWORD  required (used only when the database is first created;
#                      see docs/deploy.md for changing it)
#   DEPLOY_PATH        the git checkout (default ~/shop-api)
#   DEPLOY_BRANCH      DEPLOY_SHA must be on origin/DEPLOY_BRANCH (default
#                      main; empty: no check)
#   DEPLOY_IMAGE       REGISTRY/NAME@sha256:DIGEST to pull instead of building
#   REGISTRY_USER, REGISTRY_TOKEN  credentials for that pull (a GitHub job
#                      token); kept in the run's directory, deleted at its end
#   POSTGRES_USER, POSTGRES_DB, API_PORT, API_IMAGE, API_TAG   optional
#   DEPLOY_ENV_EXTRA   extra KEY=value lines for container/.env
#   HEALTH_TIMEOUT_S   how long to wait for /health and /db-check (default 120)
#   DEPLOY_STATE_DIR   lock, logs and run state (default ~/.shop-api-deploy)

set -Eeuo pipefail
# Files the checkout writes must stay readable by the containers that mount
# them (Prometheus runs as nobody, Grafana as uid 472), whatever mask the SSH
# session brings; only the secret files are written under 077, below.
umask 022

SETTINGS=(DEPLOY_SHA POSTGRES_PASSWORD DEPLOY_PATH DEPLOY_BRANCH DEPLOY_IMAGE
  REGISTRY_USER REGISTRY_TOKEN POSTGRES_USER POSTGRES_DB API_PORT API_IMAGE
  API_TAG DEPLOY_ENV_EXTRA HEALTH_TIMEOUT_S)
STATE=${DEPLOY_STATE_DIR:-$HOME/.shop-api-deploy}
COMPOSE_FILE_REL=container/docker-compose.yml
RUN_DIR=""
ENV_TMP=""
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIBS=(deploy-steps.sh deploy-switch.sh)
# shellcheck source=container/deploy-steps.sh
. "$HERE/deploy-steps.sh"
# shellcheck source=container/deploy-switch.sh
. "$HERE/deploy-switch.sh"

log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# --- start, follow ------------------------------------------------------------

# Without API keys every write is open to whoever reaches the API: said
# loudly when a deploy starts and in its log, never silently.
warn_open_writes() {
  local line value
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      API_KEYS=* | API_KEYS_FILE=*)
        value=${line#*=}
        value=${value//[\'\"]/}
        [ -z "$value" ] || return 0
        ;;
    esac
  done <<<"${DEPLOY_ENV_EXTRA:-}"
  log "WARNING: OPEN WRITES: no API_KEYS or API_KEYS_FILE in DEPLOY_ENV_EXTRA, so every POST, PUT, PATCH and DELETE is accepted from anyone who reaches the API (docs/deploy.md, 'Before going public')" >&2
}

check_settings() {
  [[ ${DEPLOY_SHA:-} =~ ^[0-9a-f]{40}$ ]] || die "DEPLOY_SHA must be a full 40-character commit sha"
  [ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD is empty (set the GitHub secret)"
  if [ -n "${DEPLOY_IMAGE:-}" ] && ! [[ $DEPLOY_IMAGE =~ ^[a-z0-9][a-z0-9./:_-]*@sha256:[0-9a-f]{64}$ ]]; then
    die "DEPLOY_IMAGE must name an image by digest: REGISTRY/NAME@sha256:<64 hex>"
  fi
  command -v docker >/dev/null || die "docker is not installed"
  docker compose version >/dev/null || die "the docker compose plugin is not installed"
  command -v curl >/dev/null || die "curl is not installed"
  command -v flock >/dev/null || die "flock (util-linux) is not installed"
  command -v setsid >/dev/null || die "setsid (util-linux) is not installed"
  warn_open_writes
}

start() {
  check_settings
  install -d -m 700 "$STATE" "$STATE/runs"
  # The lock is taken here, so a second deploy is refused at once, and held
  # by the detached run, which inherits descriptor 9, until it ends.
  exec 9>>"$STATE/lock"
  flock -n 9 || die "another deploy is running (bash $STATE/remote-deploy.sh follow)"

  local id dir waited=0
  id="$(date -u +%Y%m%dT%H%M%SZ)-${DEPLOY_SHA:0:12}-$$"
  dir="$STATE/runs/$id"
  install -d -m 700 "$dir"
  cp "${BASH_SOURCE[0]}" "$dir/remote-deploy.sh"
  local lib
  for lib in "${LIBS[@]}"; do cp "$HERE/$lib" "$dir/$lib"; done
  (
    umask 077
    local name
    for name in "${SETTINGS[@]}"; do
      if [ -n "${!name+set}" ]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
    done >"$dir/params"
  )
  : >"$dir/log"
  setsid bash "$dir/remote-deploy.sh" run "$dir" </dev/null >>"$dir/log" 2>&1 &
  exec 9>&-
  ln -sfn "runs/$id" "$STATE/latest"
  # Old runs: keep the latest 20.
  find "$STATE/runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -20 | xargs -r rm -rf --
  until [ -s "$dir/pid" ] || [ -e "$dir/status" ]; do
    [ "$waited" -lt 100 ] || die "the deploy did not start; see $dir/log"
    sleep 0.1
    waited=$((waited + 1))
  done
  log "started deploy $id (pid $(cat "$dir/pid" 2>/dev/null || echo '?'), log $dir/log)" >&2
  printf '%s\n' "$id"
}

follow() { # [id]
  local id=${1:-latest} dir status
  if [ "$id" = latest ]; then
    dir=$(readlink -f "$STATE/latest" 2>/dev/null) || die "no deploy has run yet"
  else
    [[ $id =~ ^[A-Za-z0-9_-]+$ ]] || die "not a deploy id: $id"
    dir="$STATE/runs/$id"
  fi
  [ -d "$dir" ] || die "no such deploy: $id"
  if [ -e "$dir/status" ]; then
    cat "$dir/log"
  else
    # tail --pid ends once the deploy's process has ended.
    tail -n +1 -f -s 0.3 --pid="$(cat "$dir/pid")" "$dir/log"
  fi
  if [ -e "$dir/status" ]; then
    status=$(cat "$dir/status")
  else
    log "ERROR: the deploy's process ended without an exit status (killed?); see $dir/log" >&2
    status=1
  fi
  # 255 is what ssh itself exits with when the connection fails: the workflow
  # reconnects on it, so a deploy's own status must never be 255.
  [ "$status" -ne 255 ] || status=1
  return "$status"
}

# --- the deploy -----------------------------------------------------------------

run() { # dir
  RUN_DIR=$1
  trap '' HUP
  trap on_exit EXIT
  printf '%s\n' "$$" >"$RUN_DIR/pid"
  # shellcheck source=/dev/null
  . "$RUN_DIR/params"
  rm -f "$RUN_DIR/params"
  deploy
}

# shellcheck disable=SC2329 # the EXIT trap of run
on_exit() {
  local status=$?
  [ -z "$ENV_TMP" ] || rm -f "$ENV_TMP"
  if [ -n "$RUN_DIR" ]; then
    rm -rf "$RUN_DIR/docker-config"
    printf '%s\n' "$status" >"$RUN_DIR/status.tmp" && mv -f "$RUN_DIR/status.tmp" "$RUN_DIR/status"
  fi
}

main() {
  case ${1:-} in
    start) start ;;
    follow) follow "${2:-}" ;;
    run) run "$2" ;;
    settings) printf '%s\n' "${SETTINGS[@]}" ;; # for deploy-over-ssh.sh
    files) printf '%s\n' remote-deploy.sh "${LIBS[@]}" ;; # what deploy-over-ssh.sh copies
    '')
      local id
      id=$(start) || exit
      follow "$id"
      ;;
    *) die "usage: remote-deploy.sh [start | follow [ID] | run DIR | settings | files]" ;;
  esac
}

# Nothing inside reads stdin (fed through `ssh ... bash -s`, it is the rest of
# the input). `exit` on the same line: bash reads a script as it runs it, and
# a checkout may rewrite this very file.
main "$@" </dev/null; exit $?
