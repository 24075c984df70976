#!/usr/bin/env bash
# Runs ON THE GITHUB RUNNER (deploy.yml, both jobs): writes the deploy key,
# the server's host key and a `deploy-target` entry in ~/.ssh/config, then
# checks that the server answers.
#
# Environment: SSH_HOST, SSH_USER, SSH_KEY (required; the SERVER_* secrets),
# SSH_PORT (default 22), SSH_KNOWN_HOSTS (recommended).
set -euo pipefail
for name in SSH_HOST SSH_USER SSH_KEY; do
  if [ -z "${!name:-}" ]; then
    echo "::error::secret for $name is not set (SERVER_HOST, SERVER_USER, SERVER_SSH_KEY)"
    exit 1
  fi
done
port=${SSH_PORT:-22}
umask 077
install -d -m 700 ~/.ssh
printf '%s\n' "$SSH_KEY" >~/.ssh/deploy_key
if [ -n "${SSH_KNOWN_HOSTS:-}" ]; then
  printf '%s\n' "$SSH_KNOWN_HOSTS" >~/.ssh/known_hosts
else
  # Trust on first use: whoever answers for SSH_HOST now, a machine in the
  # middle included, receives the deploy and its secrets. Say so loudly.
  ssh-keyscan -T 20 -p "$port" "$SSH_HOST" >~/.ssh/known_hosts 2>/dev/null || true
  echo "::warning title=Server host key not pinned::SERVER_KNOWN_HOSTS is not set, so this run trusts" \
    "whatever host key answered for the server now (trust on first use), and sends it the deploy and its" \
    "secrets. Pin the key: docs/deploy.md, step 4. The keys trusted by this run:"
  ssh-keygen -lf ~/.ssh/known_hosts || true
fi
if [ ! -s ~/.ssh/known_hosts ]; then
  echo "::error::no host key for the server"
  exit 1
fi
cat >~/.ssh/config <<CONFIG
Host deploy-target
  HostName ${SSH_HOST}
  User ${SSH_USER}
  Port ${port}
  IdentityFile ~/.ssh/deploy_key
  IdentitiesOnly yes
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 20
  ServerAliveInterval 15
  ServerAliveCountMax 4
CONFIG
ssh deploy-target true
