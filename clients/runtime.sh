#!/usr/bin/env bash
# Sourced by the client checks: starts the debug build of the runtime on a
# free loopback port over its own embedded PostgreSQL (the sample data),
# waits until it answers, and stops it (and removes its data) when the
# sourcing script exits.
#
#   source clients/runtime.sh
#   start_runtime FUNCTION_LIMITS=health=rate:2/m   # extra environment
#   curl "$RUNTIME_URL/health"
#
# Sets RUNTIME_URL and RUNTIME_WORK (a scratch directory, removed at exit).
# RUNTIME_BIN names a runtime binary already built (a container that has no
# toolchain cache); without it, the debug build is built and run.

start_runtime() {
    local binary=${RUNTIME_BIN:-}
    if [ -z "$binary" ]; then
        cargo build --quiet -p runtime
        binary=target/debug/runtime
    fi
    RUNTIME_WORK="$(mktemp -d)"
    # The embedded PostgreSQL runs as another user when started by root.
    chmod 755 "$RUNTIME_WORK"
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    env EMBEDDED_PG_DIR="$RUNTIME_WORK/pg" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warn WORKERS=1 "$@" \
        "$binary" >"$RUNTIME_WORK/runtime.log" 2>&1 &
    RUNTIME_PID=$!
    trap stop_runtime EXIT
    RUNTIME_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 120); do
        if curl -fsS "$RUNTIME_URL/health" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$RUNTIME_PID" 2>/dev/null; then break; fi
        sleep 0.5
    done
    echo "the runtime did not answer on $RUNTIME_URL:" >&2
    cat "$RUNTIME_WORK/runtime.log" >&2
    return 1
}

stop_runtime() {
    kill -TERM "$RUNTIME_PID" 2>/dev/null || true
    wait "$RUNTIME_PID" 2>/dev/null || true
    if grep -q "panic" "$RUNTIME_WORK/runtime.log" 2>/dev/null; then
        echo "the runtime logged a panic:" >&2
        grep "panic" "$RUNTIME_WORK/runtime.log" >&2
    fi
    rm -rf "$RUNTIME_WORK"
}
