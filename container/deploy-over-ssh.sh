#!/usr/bin/env bash
# Runs ON THE GITHUB RUNNER (.github/workflows/deploy.yml): deploys through
# container/remote-deploy.sh on the server, without tying the deploy to the
# SSH connection.
#
#   1. copies remote-deploy.sh and the files it sources to ~/.shop-api-deploy/
#      on the server;
#   2. runs its `start` there, the settings travelling as `export` lines on
#      ssh's stdin (never on a command line, never in a log); the deploy runs
#      detached on the server and `start` prints its id;
#   3. follows the deploy's log until it ends and exits with its status. When
#      the connection drops (ssh exits 255) the deploy carries on; this
#      reconnects and follows it again, up to FOLLOW_ATTEMPTS times.
#
# Environment: SSH_TARGET (an ssh host, default deploy-target, which the
# workflow's ~/.ssh/config defines) and the settings remote-deploy.sh reads
# (`remote-deploy.sh settings` lists them; unset ones are not sent).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET=${SSH_TARGET:-deploy-target}
ATTEMPTS=${FOLLOW_ATTEMPTS:-10}
DELAY=${RECONNECT_DELAY_S:-15}
REMOTE=.shop-api-deploy/remote-deploy.sh # relative to the deploy user's home

mapfile -t files < <(bash "$HERE/remote-deploy.sh" files)
tar -C "$HERE" -cf - "${files[@]}" |
  ssh "$TARGET" 'umask 077 && mkdir -p .shop-api-deploy && tar -xf - -C .shop-api-deploy'

id=$( {
  while read -r name; do
    if [ -n "${!name+set}" ]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
  done < <(bash "$HERE/remote-deploy.sh" settings)
  printf 'exec bash %s start\n' "$REMOTE"
} | ssh "$TARGET" 'bash -s') || id=""
if ! [[ $id =~ ^[A-Za-z0-9_-]+$ ]]; then
  # Not retried: had the connection dropped after the start, a second one
  # would deploy twice. The lock refuses one while another runs.
  echo "::error::the deploy did not start (see above); if SSH dropped, check on the server: bash ~/$REMOTE follow"
  exit 1
fi
echo "deploy $id is running on the server"

for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
  status=0
  # shellcheck disable=SC2029 # both are checked words: expanded here on purpose
  ssh "$TARGET" "bash $REMOTE follow $id" || status=$?
  if [ "$status" -ne 255 ]; then
    exit "$status"
  fi
  echo "::warning::the SSH connection dropped (attempt $attempt of $ATTEMPTS); the deploy carries on, following it again"
  sleep "$DELAY"
done
echo "::error::lost the server; the deploy may still be running: ssh to it and run: bash ~/$REMOTE follow $id"
exit 1
