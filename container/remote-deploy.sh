#!/usr/bin/env bash
# Runs ON THE SERVER. .github/workflows/deploy.yml feeds it over SSH on stdin,
# after a few `export NAME=value` lines; by hand (docs/deploy.md):
#
#   DEPLOY_SHA=<40-hex sha> POSTGRES_PASSWORD=... bash container/remote-deploy.sh
#
# It checks out DEPLOY_SHA in DEPLOY_PATH, writes container/.env, tags the
# image now running as :previous, builds and starts the new one, and waits
# for /health and /db-check. If the new version does not come up healthy it
# checks out the previous commit, re-tags :previous and brings that back up,
# then exits non-zero. The postgres_data volume is never touched.
#
# Environment (values never printed):
#   DEPLOY_SHA         full commit sha to deploy (required)
#   DEPLOY_PATH        the git checkout on the server (default ~/shop-api)
#   POSTGRES_PASSWORD  required (only used on the very first start of the
#                      database; changing it later does not change the role's
#                      password, see docs/deploy.md)
#   POSTGRES_USER, POSTGRES_DB, API_PORT, API_IMAGE, API_TAG   optional
#   DEPLOY_ENV_EXTRA   optional extra KEY=value lines for container/.env
#   HEALTH_TIMEOUT_S   how long to wait for /health and /db-check (default 120)

set -Eeuo pipefail
umask 077
ENV_TMP=""
trap '[ -z "$ENV_TMP" ] || rm -f "$ENV_TMP"' EXIT

log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

COMPOSE_FILE_REL=container/docker-compose.yml

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
  ENV_TMP=$(mktemp container/.env.XXXXXX)
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

compose() { docker compose -f "$COMPOSE_FILE_REL" "$@"; }

api_base_url() {
  local port=${API_PORT:-5000}
  case $port in
    *:*) printf 'http://%s' "$port" ;;       # ADDRESS:PORT form
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

# The new version. Runs under `if`, where `set -e` is off: every step checks.
deploy_new() {
  log "building $API_IMAGE:$API_TAG at ${DEPLOY_SHA:0:12}"
  compose build --pull api || return 1
  log "starting"
  compose up -d --wait --wait-timeout 180 --remove-orphans || return 1
  wait_healthy || return 1
}

rollback() {
  if [ -z "$previous_image" ]; then
    log "no previous image to roll back to (first deploy?); leaving the stack as it is"
    return 1
  fi
  log "rolling back to ${previous_sha:0:12} (image $API_IMAGE:previous)"
  checkout "$previous_sha" || return 1
  write_env "$previous_sha"
  docker image tag "$API_IMAGE:previous" "$API_IMAGE:$API_TAG" || return 1
  compose up -d --no-build --wait --wait-timeout 180 --remove-orphans || return 1
  wait_healthy || return 1
  log "rolled back: ${previous_sha:0:12} is serving again"
}

main() {
  [[ ${DEPLOY_SHA:-} =~ ^[0-9a-f]{40}$ ]] || die "DEPLOY_SHA must be a full 40-character commit sha"
  [ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD is empty (set the GitHub secret)"
  command -v docker >/dev/null || die "docker is not installed"
  docker compose version >/dev/null || die "the docker compose plugin is not installed"
  command -v curl >/dev/null || die "curl is not installed"

  API_IMAGE=${API_IMAGE:-shop-api}
  API_TAG=${API_TAG:-latest}
  local path=${DEPLOY_PATH:-~/shop-api}
  case $path in
    \~) path=$HOME ;;             # a literal ~ (sent quoted over SSH)
    \~/*) path=$HOME/${path#\~/} ;;
  esac
  cd "$path" 2>/dev/null || die "$path does not exist: clone the repository there first (docs/deploy.md)"
  git rev-parse --git-dir >/dev/null 2>&1 || die "$path is not a git checkout"

  previous_sha=$(git rev-parse HEAD)
  log "fetching ${DEPLOY_SHA:0:12} (checked out now: ${previous_sha:0:12})"
  git fetch --quiet --prune origin
  if ! git cat-file -e "${DEPLOY_SHA}^{commit}" 2>/dev/null; then
    git fetch --quiet origin "$DEPLOY_SHA"
  fi
  checkout "$DEPLOY_SHA"
  write_env "$DEPLOY_SHA"

  # Keep what runs now as :previous (the container's image, else the tag).
  previous_image=""
  local container
  container=$(compose ps -q api 2>/dev/null || true)
  if [ -n "$container" ]; then
    previous_image=$(docker inspect --format '{{.Image}}' "$container")
  elif docker image inspect "$API_IMAGE:$API_TAG" >/dev/null 2>&1; then
    previous_image="$API_IMAGE:$API_TAG"
  fi
  if [ -n "$previous_image" ]; then
    docker image tag "$previous_image" "$API_IMAGE:previous"
    local revision
    revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$API_IMAGE:previous" 2>/dev/null || true)
    if [[ $revision =~ ^[0-9a-f]{40}$ ]]; then previous_sha=$revision; fi
    log "tagged the running image as $API_IMAGE:previous (${previous_sha:0:12})"
  fi

  if deploy_new; then
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$DEPLOY_SHA" >>.deploy-history
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

# stdin is the script itself when fed through `ssh ... bash -s`: keep every
# command inside main from reading (and eating) it. `exit` on the same line:
# run as a file, the checkout may rewrite this very file while bash reads it.
main "$@" </dev/null; exit $?
