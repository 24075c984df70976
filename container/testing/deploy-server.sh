# shellcheck shell=bash
# Sourced by container/testing/deploy.sh: the deploy rehearsal's "server", a
# host of its own. A network namespace (named i24-<pid>) with an address of
# its own in 198.18.0.0/15, joined to this host by a veth pair and with no
# other route, runs openssh-server (key-only, a throwaway key, logins get
# container/testing/server/login's environment) and podman with its own
# storage, network and registry settings under $SERVER_DIR. The host side of
# the pair is where the registry listens.
#
#   server_up WORK      sets NS HOST_ADDR SERVER_ADDR SERVER_DIR SSH_BIN
#   server_podman ARGS  podman on the server's storage (from the host)
#   server_down         removes everything server_up made

# server_up WORK: everything under WORK/server; `ssh` in $SSH_BIN logs in.
server_up() {
  local work=$1 octet base tries=0
  SERVER_DIR=$work/server
  NS=i24-$$
  # A /30 of 198.19.0.0/16 that no interface of this host uses yet.
  while :; do
    octet=$((RANDOM % 250 + 1)) base=$(((RANDOM % 60) * 4))
    HOST_ADDR=198.19.$octet.$((base + 1)) SERVER_ADDR=198.19.$octet.$((base + 2))
    ip -o addr | grep -qF " $HOST_ADDR/" || break
    tries=$((tries + 1))
    [ "$tries" -lt 20 ] || { echo "no free address in 198.19.0.0/16" >&2; return 1; }
  done
  ip netns add "$NS"
  SERVER_NS_MADE=1
  ip link add "i24h$$" type veth peer name "i24s$$"
  ip link set "i24s$$" netns "$NS"
  ip addr add "$HOST_ADDR/30" dev "i24h$$"
  ip link set "i24h$$" up
  ip -n "$NS" addr add "$SERVER_ADDR/30" dev "i24s$$"
  ip -n "$NS" link set "i24s$$" up
  ip -n "$NS" link set lo up

  mkdir -p "$SERVER_DIR"/{home,bin,storage,run,tmp,networks}
  cp container/testing/server/docker "$SERVER_DIR/bin/docker"
  sed -e "s|@SERVER_DIR@|$SERVER_DIR|" -e "s|@VENV_BIN@|$VENV/bin|" \
    container/testing/server/login >"$SERVER_DIR/login"
  chmod 755 "$SERVER_DIR/login" "$SERVER_DIR/bin/docker"
  # The rehearsal's podman settings, with state and networks of its own.
  cat "$CONTAINERS_CONF" - >"$SERVER_DIR/containers.conf" <<CONF

[network]
network_config_dir = "$SERVER_DIR/networks"
CONF
  sed -i "s|^\[engine\]|[engine]\ntmp_dir = \"$SERVER_DIR/tmp\"|" "$SERVER_DIR/containers.conf"
  cat >"$SERVER_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$SERVER_DIR/storage"
runroot = "$SERVER_DIR/run"
CONF
  # The registry speaks plain HTTP on the host's side of the veth pair.
  cat >"$SERVER_DIR/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "$HOST_ADDR:$REGISTRY_PORT"
insecure = true
CONF

  # sshd: its own host key, config and pid file; only the throwaway key.
  ssh-keygen -q -t ed25519 -N '' -f "$SERVER_DIR/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/deploy_key"
  cp "$work/deploy_key.pub" "$SERVER_DIR/authorized_keys"
  cat >"$SERVER_DIR/sshd_config" <<CONF
ListenAddress $SERVER_ADDR:22
HostKey $SERVER_DIR/host_key
PidFile $SERVER_DIR/sshd.pid
AuthorizedKeysFile $SERVER_DIR/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
UsePAM no
StrictModes no
ForceCommand $SERVER_DIR/login
ClientAliveInterval 5
ClientAliveCountMax 3
CONF
  # sshd's privilege separation directory, as the package's service makes it.
  mkdir -p /run/sshd
  /usr/sbin/sshd -t -f "$SERVER_DIR/sshd_config"
  # nsenter, not `ip netns exec`: that mounts a sysfs of its own, without
  # the cgroup mounts runc needs for the server's containers.
  nsenter --net="/run/netns/$NS" nice -n 10 /usr/sbin/sshd -D -e -f "$SERVER_DIR/sshd_config" 2>"$SERVER_DIR/sshd.log" &
  SSHD_PID=$!

  # The client side: what the deploy workflow's ~/.ssh/config holds.
  printf '%s %s\n' "$SERVER_ADDR" "$(cut -d' ' -f1-2 "$SERVER_DIR/host_key.pub")" >"$work/known_hosts"
  cat >"$work/ssh_config" <<CONF
Host deploy-target
  HostName $SERVER_ADDR
  User root
  IdentityFile $work/deploy_key
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 3
CONF
  SSH_BIN=$work/client-bin
  mkdir -p "$SSH_BIN"
  # Each client's pid goes to ssh-pids: the rehearsal cuts one mid-deploy.
  printf '#!/bin/sh\necho $$ >>%s\nexec /usr/bin/ssh -F %s "$@"\n' "$work/ssh-pids" "$work/ssh_config" >"$SSH_BIN/ssh"
  chmod 755 "$SSH_BIN/ssh"
  wait_until 20 "sshd accepting the key on $SERVER_ADDR" "$SSH_BIN/ssh" deploy-target true
}

# kill_tree PID: PID and every process below it (children found by their
# parent's pid in /proc, deepest first).
kill_tree() {
  local pid=$1 stat child
  for stat in /proc/[0-9]*/stat; do
    child=${stat#/proc/}
    child=${child%/stat}
    [ "$(cut -d' ' -f4 "$stat" 2>/dev/null)" = "$pid" ] && kill_tree "$child"
  done
  kill "$pid" 2>/dev/null || true
}

server_podman() {
  CONTAINERS_CONF="$SERVER_DIR/containers.conf" CONTAINERS_STORAGE_CONF="$SERVER_DIR/storage.conf" \
    CONTAINERS_REGISTRIES_CONF="$SERVER_DIR/registries.conf" timeout 120 podman "$@"
}

# server_down: the stack (volumes too), then sshd, the namespace and the veth pair.
server_down() {
  if [ -n "${SERVER_DIR:-}" ] && [ -d "$SERVER_DIR/home/shop-api" ]; then
    SSH_ORIGINAL_COMMAND='cd shop-api && docker compose -f container/docker-compose.yml down -v -t 5' \
      timeout 120 nsenter --net="/run/netns/$NS" "$SERVER_DIR/login" >/dev/null 2>&1 || true
  fi
  if [ -n "${SERVER_DIR:-}" ] && [ -f "$SERVER_DIR/storage.conf" ]; then
    server_podman rm -a -f -t 2 >/dev/null 2>&1 || true
    server_podman volume prune -f >/dev/null 2>&1 || true
    server_podman rmi -a -f >/dev/null 2>&1 || true
  fi
  # podman's overlay driver bind-mounts its directory onto itself.
  if [ -n "${SERVER_DIR:-}" ]; then umount "$SERVER_DIR/storage/overlay" 2>/dev/null || true; fi
  # With the sessions still open (a deploy the rehearsal follows).
  if [ -n "${SSHD_PID:-}" ]; then kill_tree "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null || true; fi
  if [ -n "${SERVER_NS_MADE:-}" ]; then ip netns del "$NS" 2>/dev/null || true; fi
  ip link del "i24h$$" 2>/dev/null || true
}
