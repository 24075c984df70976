#!/usr/bin/env bash
# The delivery rehearsal in one command, as .ci/checks runs it: the checks'
# tools in a clean Debian 12, the TypeScript client's check on its Node 18,
# the image built and checked, the Compose stack
# run, the image pushed to a registry and pulled by digest, the proxy's
# switch under load, and the image deployed over SSH to a server in a
# network namespace of its own. Each part prints
# its own timings; see README.md ("Rehearsing the delivery locally").
#
#   bash container/testing/rehearse.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-packages .ci/packages-containers
for part in ci-in-debian image compose registry proxy-switch deploy; do
  started=$SECONDS
  bash "container/testing/$part.sh"
  echo "rehearse: $part took $((SECONDS - started)) s"
done
