# shellcheck shell=bash
# Sourced by container/remote-deploy.sh: the start of a new version without
# dropping a request, while an api container and the proxy run (the way Kamal
# deploys over SSH):
#   1. the other services are brought to this commit's configuration without
#      touching the api (`up --no-deps`): an unchanged one keeps running;
#   2. the proxy is pinned to the running container's address (a graceful
#      nginx reload): a new container joins the `api` name in the network's
#      DNS as soon as it starts, before it is ready; then a second api
#      container from the new image starts beside the running one (`up
#      --scale api=2 --no-recreate`: the old one is left as it is);
#   3. its health check, until healthy: an unhealthy one, or one that keeps
#      exiting, fails at once;
#   4. the proxy is switched to it (container/proxy/proxy.sh: a graceful
#      nginx reload; the old workers finish the requests they hold);
#   5. /health and /db-check through the proxy; failing, the proxy is
#      switched back to the old container;
#   6. the old container is stopped: SIGTERM, it drains what it still holds
#      within SHUTDOWN_GRACE_MS, then it is removed, and the proxy goes back
#      to the `api` name (then one container), which it looks up again every
#      few seconds: an api container restarted later, at another address,
#      is found.
# Until 6 the old container serves: a failure removes the new one, and
# OLD_SERVING tells the roll-back that nothing needs starting.
#
# Without a running api container or proxy (the first deploy, a stopped
# stack) deploy-steps.sh starts the stack as a whole instead.

# shellcheck disable=SC2034 # read by rollback in deploy-steps.sh
OLD_SERVING=""
# The api's stop_grace_period in container/docker-compose.yml: longer than
# SHUTDOWN_GRACE_MS, so the old container drains and exits by itself.
STOP_GRACE_S=15

# The api containers running now, one id a line.
api_containers() { compose ps -q api 2>/dev/null || true; }

# can_switch: exactly one api container and the proxy run.
can_switch() {
  local api proxy
  api=$(api_containers)
  proxy=$(compose ps -q proxy 2>/dev/null || true)
  [ -n "$api" ] && [ "$(wc -l <<<"$api")" -eq 1 ] && [ -n "$proxy" ]
}

# A container's address on the compose network (it has only that one).
container_address() { # id
  docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }'
}

# Waits for a container's own health check. Nothing here runs it: the
# engine does, every `interval` (Docker; a podman server without systemd runs
# it when asked, which its `docker` does on this inspect).
wait_container_healthy() { # id
  local id=$1 deadline health restarts
  deadline=$((SECONDS + ${HEALTH_TIMEOUT_S:-120}))
  while :; do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null || true)
    case $health in
      healthy) return 0 ;;
      unhealthy)
        log "the new api container is unhealthy"
        return 1
        ;;
    esac
    restarts=$(docker inspect --format '{{.RestartCount}}' "$id" 2>/dev/null || echo 0)
    if [ "${restarts:-0}" -ge 3 ]; then
      log "the new api container keeps exiting (restarted $restarts times)"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "the new api container is not healthy within ${HEALTH_TIMEOUT_S:-120}s"
      return 1
    fi
    sleep 2
  done
}

# Points the proxy at one api container (a graceful reload). The lock is not
# handed on (see compose in deploy-steps.sh).
proxy_switch() { # address
  local proxy
  proxy=$(compose ps -q proxy) && [ -n "$proxy" ] || return 1
  docker exec "$proxy" sh /etc/nginx/shop/proxy.sh switch "$1" 9>&-
}

# Back to the service's name once a single api container runs.
unpin() {
  proxy_switch api || log "WARNING: the proxy could not be switched back to the api service's name"
}

# SIGTERM, the grace to drain, then gone. Checked, and tried again: a
# container that keeps exiting may be in the middle of its restart policy's
# restart, and one left behind would be started again by the next deploy.
remove_container() { # id
  local try
  docker stop -t "$STOP_GRACE_S" "$1" >/dev/null 9>&- || true
  for try in 1 2 3 4 5; do
    docker rm -f "$1" >/dev/null 9>&- || true
    docker inspect --format '{{.Image}}' "$1" >/dev/null 2>&1 || return 0
    sleep "$try"
  done
  log "WARNING: the api container ${1:0:12} could not be removed"
}

# The new version beside the old one, then the traffic moved to it. Runs
# under `if` (set -e off): every step checks.
switch_to_new() {
  local old new address old_address others
  old=$(api_containers)
  old_address=$(container_address "$old")
  OLD_SERVING=1
  # The long-running services only: the one-shot migrate runs on its own
  # below, its exit status read, rather than through `--wait` (which has
  # treated a completed one-shot differently across Compose versions).
  mapfile -t others < <(compose config --services | grep -vxE 'api|migrate')
  log "bringing ${others[*]} to this commit; the api container ${old:0:12} ($old_address) keeps serving"
  compose up -d --no-build --no-deps --wait --wait-timeout 180 "${others[@]}" || return 1
  log "applying the new commit's sql/ (migrate) while ${old:0:12} serves"
  compose run --rm --no-deps migrate || return 1

  # A stopped api container left behind would be started again, old image
  # and all, instead of a new one being made.
  local stale
  for stale in $(compose ps -a -q api 2>/dev/null | grep -vx "$old"); do
    log "removing the stopped api container ${stale:0:12}"
    remove_container "$stale"
  done
  log "pinning the proxy to ${old:0:12}, then starting the new api container beside it"
  proxy_switch "$old_address" || return 1
  compose up -d --no-build --no-deps --no-recreate --scale api=2 api || true
  # -a: one that exits at once is between restarts, not running, right now.
  new=$(compose ps -a -q api 2>/dev/null | grep -vx "$old" | head -1)
  if [ -z "$new" ]; then
    log "the new api container did not start"
    unpin
    return 1
  fi
  local revision
  revision=$(revision_of "$(docker inspect --format '{{.Image}}' "$new")")
  if [ "$revision" != "$DEPLOY_SHA" ]; then
    log "the new api container ${new:0:12} runs '${revision}', not ${DEPLOY_SHA:0:12}"
    remove_container "$new"
    unpin
    return 1
  fi
  if ! wait_container_healthy "$new"; then
    compose logs --no-color --tail 80 api || true
    remove_container "$new"
    unpin
    return 1
  fi
  address=$(container_address "$new")
  log "the new api container ${new:0:12} ($address) is healthy; moving the traffic to it"
  if ! proxy_switch "$address"; then
    remove_container "$new"
    unpin
    return 1
  fi
  if ! wait_healthy; then
    log "switching the proxy back to ${old:0:12}"
    proxy_switch "$old_address" || log "ERROR: the proxy could not be switched back"
    remove_container "$new"
    unpin
    return 1
  fi
  log "stopping the old api container ${old:0:12} (it drains its requests)"
  # shellcheck disable=SC2034 # read by rollback in deploy-steps.sh
  OLD_SERVING=""
  remove_container "$old"
  unpin
}
