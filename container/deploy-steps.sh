# shellcheck shell=bash
# Sourced by container/remote-deploy.sh: the deploy itself, run detached on
# the server (`remote-deploy.sh run`): the checkout, container/.env, the
# images, the start (deploy-switch.sh when the stack runs: no request
# dropped) and the roll-back. Uses remote-deploy.sh's log, die, check_settings,
# RUN_DIR, ENV_TMP and COMPOSE_FILE_REL.

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
  if can_switch; then
    switch_to_new
    return
  fi
  log "starting the stack"
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
  if [ -n "$OLD_SERVING" ]; then
    # The new container never took the traffic from the old one.
    wait_healthy || return 1
    log "rolled back: ${previous_sha:0:12} kept serving throughout"
    return 0
  fi
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
  container=$(api_containers | head -1)
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

