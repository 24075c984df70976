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
#
# Detached, because a deploy tied to the SSH channel that started it stops
# wherever the connection drops: between the checkout and the restart, or in
# the middle of a rollback. container/deploy-over-ssh.sh (the deploy workflow's
# step) copies this file to ~/.shop-api-deploy/, runs `start` there with the
# settings in its environment, then `follow`s it, reconnecting when SSH drops.
#
# The deploy: fetch and check out DEPLOY_SHA in DEPLOY_PATH (refused unless it
# is on DEPLOY_BRANCH), write container/.env, keep the image that runs now as
# $API_IMAGE:previous (unless it already is DEPLOY_SHA: a re-run must not
# overwrite the rollback target), then either pull DEPLOY_IMAGE (the image CI
# built and tested, by digest) or build on this server, pull the other
# services' pinned images, start, and wait for /health and /db-check. If that
# fails: check out the previous commit, put its image back (a pull of its
# digest when it came from the registry, else :previous), start it, and exit
# non-zero. The postgres_data volume is never touched.
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

# One KEY=value line; refuses values that the .env format cannot hold as-is.
env_line() {
  local key=$1 value=$2
  case $value in
    *$'\n'* | *"'"*) die "$key contains a newline or a single quote; use another value" ;;
  esac
  printf "%s='%s'\n" "$key" "$value"
}

write_env() { # revision
  local revision=$1 line
  ENV_TMP=$(mktemp container/.env.XXXXXX) # mode 0600
  {
    echo "# Written by container/remote-deploy.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ); edits are overwritten."
    env_line POSTGRES_PASSWORD "$POSTGRES_PASSWORD"
    env_line POSTGRES_USER "${POSTGRES_USER:-shop}"
    env_line POSTGRES_DB "${POSTGRES_DB:-shop}"
    env_line API_PORT "${API_PORT:-5000}"
    env_line API_IMAGE "$API_IMAGE"
    env_line API_TAG "$API_TAG"
    env_line GIT_REVISION "$revision"
    if [ -n "${DEPLOY_ENV_EXTRA:-}" ]; then
      while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case $line in
          '' | '#'*) continue ;;
          [A-Za-z_]*=*) printf '%s\n' "$line" ;;
          *) die "DEPLOY_ENV_EXTRA: a line is not KEY=value" ;;
        esac
      done <<<"$DEPLOY_ENV_EXTRA"
    fi
  } >"$ENV_TMP"
  chmod 600 "$ENV_TMP"
  mv -f "$ENV_TMP" container/.env
  ENV_TMP=""
}

# The deploy's lock (descriptor 9) is not handed on: with podman behind
# `docker`, each container's monitor outlives the deploy and would hold
# the lock, refusing every later deploy as "another deploy is running".
compose() { docker compose -f "$COMPOSE_FILE_REL" "$@" 9>&-; }

api_base_url() {
  local port=${API_PORT:-5000}
  case $port in
    *:*) printf 'http://%s' "$port" ;; # ADDRESS:PORT form
    *) printf 'http://127.0.0.1:%s' "$port" ;;
  esac
}

# Polls /health, then /db-check, until both answer 200 or the time is up.
wait_healthy() {
  local base deadline path
  base=$(api_base_url)
  deadline=$((SECONDS + ${HEALTH_TIMEOUT_S:-120}))
  for path in /health /db-check; do
    until curl -fsS --max-time 5 -o /dev/null "$base$path"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "$path did not answer 200 within ${HEALTH_TIMEOUT_S:-120}s"
        return 1
      fi
      sleep 3
    done
    log "$path answers 200"
  done
}

checkout() { # sha
  git -c advice.detachedHead=false checkout --quiet --force --detach "$1"
}

revision_of() { # image
  docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$1" 2>/dev/null || true
}

# Pulls an image by digest, logging in first when a token was given (into a
# configuration of this run only, deleted when it ends).
registry_pull() { # ref
  local ref=$1 config=()
  if [ -n "${REGISTRY_TOKEN:-}" ]; then
    config=(env "DOCKER_CONFIG=$RUN_DIR/docker-config")
    if [ ! -d "$RUN_DIR/docker-config" ]; then
      install -d -m 700 "$RUN_DIR/docker-config"
      printf '%s' "$REGISTRY_TOKEN" |
        "${config[@]}" docker login --username "${REGISTRY_USER:-token}" --password-stdin "${ref%%/*}" >/dev/null ||
        return 1
    fi
  fi
  "${config[@]}" docker pull --quiet "$ref" >/dev/null
}

# The registry reference (by digest) a commit was deployed from, if it was.
deployed_ref() { # sha
  [ -f .deploy-history ] || return 0
  awk -v sha="$1" '$2 == sha && $3 ~ /@sha256:/ { ref = $3 } END { if (ref) print ref }' .deploy-history
}

# The new version. Runs under `if`, where `set -e` is off: every step checks.
deploy_new() {
  if [ -n "${DEPLOY_IMAGE:-}" ]; then
    log "pulling ${DEPLOY_IMAGE}"
    registry_pull "$DEPLOY_IMAGE" || return 1
    local revision
    revision=$(revision_of "$DEPLOY_IMAGE")
    if [ "$revision" != "$DEPLOY_SHA" ]; then
      log "the image was built from '${revision}', not ${DEPLOY_SHA}: refusing it"
      return 1
    fi
    docker image tag "$DEPLOY_IMAGE" "$API_IMAGE:$API_TAG" || return 1
  else
    log "building $API_IMAGE:$API_TAG at ${DEPLOY_SHA:0:12} on this server"
    compose build --pull api || return 1
  fi
  # The pinned PostgreSQL (and monitoring) images of this commit; a failure
  # here is not fatal while the image is already present, `up` says if not.
  compose pull --quiet --ignore-buildable || log "WARNING: pulling the other services' images failed"
  log "starting"
  compose up -d --no-build --wait --wait-timeout 180 --remove-orphans || return 1
  wait_healthy || return 1
}

rollback() {
  local image="$API_IMAGE:previous" ref
  if ! [[ $previous_sha =~ ^[0-9a-f]{40}$ ]]; then
    log "no previous version to roll back to (first deploy?); leaving the stack as it is"
    return 1
  fi
  log "rolling back to ${previous_sha:0:12}"
  ref=$(deployed_ref "$previous_sha")
  if [ -n "$ref" ] && registry_pull "$ref"; then
    image=$ref
  elif ! docker image inspect "$image" >/dev/null 2>&1; then
    log "neither $API_IMAGE:previous nor a registry image of ${previous_sha:0:12} is available"
    return 1
  fi
  log "image $image"
  checkout "$previous_sha" || return 1
  write_env "$previous_sha"
  docker image tag "$image" "$API_IMAGE:$API_TAG" || return 1
  compose up -d --no-build --wait --wait-timeout 180 --remove-orphans || return 1
  wait_healthy || return 1
  log "rolled back: ${previous_sha:0:12} is serving again"
}

deploy() {
  check_settings
  API_IMAGE=${API_IMAGE:-shop-api}
  API_TAG=${API_TAG:-latest}
  local path=${DEPLOY_PATH:-~/shop-api} branch=${DEPLOY_BRANCH-main}
  case $path in
    \~) path=$HOME ;; # a literal ~ (sent quoted over SSH)
    \~/*) path=$HOME/${path#\~/} ;;
  esac
  cd "$path" 2>/dev/null || die "$path does not exist: clone the repository there first (docs/deploy.md)"
  git rev-parse --git-dir >/dev/null 2>&1 || die "$path is not a git checkout"

  local head
  head=$(git rev-parse HEAD)
  log "fetching ${DEPLOY_SHA:0:12} (checked out now: ${head:0:12})"
  git fetch --quiet --prune origin
  if ! git cat-file -e "${DEPLOY_SHA}^{commit}" 2>/dev/null; then
    git fetch --quiet origin "$DEPLOY_SHA"
  fi
  if [ -n "$branch" ] && ! git merge-base --is-ancestor "$DEPLOY_SHA" "refs/remotes/origin/$branch"; then
    die "${DEPLOY_SHA:0:12} is not on origin/$branch: only commits of $branch are deployed (DEPLOY_BRANCH)"
  fi

  # What runs now: the api container's image, else the tag compose uses.
  local running="" running_revision="" container
  container=$(compose ps -q api 2>/dev/null || true)
  if [ -n "$container" ]; then
    running=$(docker inspect --format '{{.Image}}' "$container")
  elif docker image inspect "$API_IMAGE:$API_TAG" >/dev/null 2>&1; then
    running="$API_IMAGE:$API_TAG"
  fi
  [ -z "$running" ] || running_revision=$(revision_of "$running")

  checkout "$DEPLOY_SHA"
  write_env "$DEPLOY_SHA"

  # Keep what runs now as :previous, unless it is this very commit: re-running
  # a deploy would otherwise make :previous the new version and lose the
  # rollback target.
  previous_sha=""
  if [ -n "$running" ] && [ "$running_revision" != "$DEPLOY_SHA" ]; then
    docker image tag "$running" "$API_IMAGE:previous"
    if [[ $running_revision =~ ^[0-9a-f]{40}$ ]]; then previous_sha=$running_revision; else previous_sha=$head; fi
    log "tagged the running image as $API_IMAGE:previous (${previous_sha:0:12})"
  elif [ -n "$running" ]; then
    previous_sha=$(revision_of "$API_IMAGE:previous")
    log "${DEPLOY_SHA:0:12} already runs; $API_IMAGE:previous (${previous_sha:0:12}) stays the rollback target"
  fi

  if deploy_new; then
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$DEPLOY_SHA" "${DEPLOY_IMAGE:-built}" >>.deploy-history
    log "deployed ${DEPLOY_SHA:0:12}"
    compose ps
    return 0
  fi

  log "the new version is not healthy; its last log lines:"
  compose logs --no-color --tail 80 api || true
  if rollback; then
    die "deploy of ${DEPLOY_SHA:0:12} failed and was rolled back"
  fi
  compose ps -a || true
  die "deploy of ${DEPLOY_SHA:0:12} failed and the roll-back did not come up healthy either"
}

main() {
  case ${1:-} in
    start) start ;;
    follow) follow "${2:-}" ;;
    run) run "$2" ;;
    settings) printf '%s\n' "${SETTINGS[@]}" ;; # for deploy-over-ssh.sh
    '')
      local id
      id=$(start) || exit
      follow "$id"
      ;;
    *) die "usage: remote-deploy.sh [start | follow [ID] | run DIR | settings]" ;;
  esac
}

# Nothing inside reads stdin (fed through `ssh ... bash -s`, it is the rest of
# the input). `exit` on the same line: bash reads a script as it runs it, and
# a checkout may rewrite this very file.
main "$@" </dev/null; exit $?
