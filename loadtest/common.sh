# shellcheck shell=bash
# The benchmark scripts' shell helpers (sourced by loadtest/bench and
# loadtest/scale, not run): a throwaway PostgreSQL in a temporary directory,
# servers in process groups of their own, bounded child runs, and the
# clean-up that stops all of it on exit, error or Ctrl-C.
#
# The sourcing script sets SCRIPT (its name, for messages) and PG_BIN before
# using these, then calls `setup_tmp` once. `find_psql` sets PSQL;
# `start_postgres` sets PG_DATA, PG_PORT, PG_OPTS and DATABASE_URL; a script
# that starts more clusters (a replica) adds their data directories to
# CLUSTERS, and the clean-up stops them before the primary. Only loopback
# addresses are used; every wait is bounded.

die() { echo "$SCRIPT: $*" >&2; exit 1; }
log() { echo "$SCRIPT: $*" >&2; }

secs() { # "10", "10s", "2m" -> seconds
    local v="$1"
    case "$v" in
        *m) echo $(( ${v%m} * 60 )) ;;
        *s) echo "${v%s}" ;;
        *) echo "$v" ;;
    esac
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One benchmark at a time on a machine: two would measure each other. Every
# benchmark script takes this same lock.
take_bench_lock() {
    local lock_file="${TMPDIR:-/tmp}/shop-bench.lock"
    command -v flock >/dev/null || return 0
    exec 9>>"$lock_file"
    if ! flock -n 9; then
        log "another benchmark (loadtest/bench or the like) is running; waiting for it (up to ${LOCK_WAIT:-900}s)"
        flock -w "${LOCK_WAIT:-900}" 9 || die "gave up waiting for the other benchmark ($lock_file)"
    fi
}

# ------------------------------------------------------------ clean-up

TMP=""
PG_DATA=""
CLUSTERS=()         # more clusters to stop (a replica), by data directory
GROUPS_TO_KILL=()   # process groups started with setsid (servers, peers)
CHILDREN=()         # wrk / pgbench / measurement runs (each under timeout)

stop_group() { # pgid: TERM, wait up to 10s, then KILL
    local g="$1"
    # Never our own group (setsid gives each server a group of its own).
    [ "$g" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] || return 0
    kill -0 -- "-$g" 2>/dev/null || return 0
    kill -TERM -- "-$g" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 -- "-$g" 2>/dev/null || return 0
        sleep 0.1
    done
    log "process group $g did not stop on TERM; killing it"
    kill -KILL -- "-$g" 2>/dev/null || true
}

as_pg() { # run a PostgreSQL tool as the postgres user when root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_cluster() { # data-directory: fast shutdown, KILL if it does not stop within 30 s
    local dir="$1" pm
    [ -f "$dir/postmaster.pid" ] || return 0
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -t 30 -w stop >/dev/null 2>&1
    if [ -f "$dir/postmaster.pid" ]; then
        pm="$(head -1 "$dir/postmaster.pid" 2>/dev/null)"
        [ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null
    fi
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    local g c
    for c in "${CHILDREN[@]}"; do kill -TERM "$c" 2>/dev/null; done
    for c in "${CHILDREN[@]}"; do wait "$c" 2>/dev/null; done
    for g in "${GROUPS_TO_KILL[@]}"; do stop_group "$g"; done
    for c in "${CLUSTERS[@]}"; do stop_cluster "$c"; done
    [ -z "$PG_DATA" ] || stop_cluster "$PG_DATA"
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}

# Creates the temporary directory (readable by the postgres user, which
# owns the cluster inside it when we run as root) and installs the traps.
setup_tmp() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    TMP="$(mktemp -d "/tmp/shop-$SCRIPT.XXXXXX")"
    chmod 755 "$TMP"
}

# ------------------------------------------------------- child processes

# Sets CCPU to the CPU seconds (user + system) of this shell's reaped
# children so far. Call it directly, not in $(...): `times` in a subshell
# would report the subshell's own children.
children_cpu() {
    times >"$TMP/times.txt"
    CCPU="$(awk 'NR == 2 {
        n = split($0, f, " "); t = 0
        for (i = 1; i <= n; i++) { split(f[i], p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
        printf "%.3f", t }' "$TMP/times.txt")"
}

# Runs a command in the background under `timeout` (so a signal to this
# script is handled at once: `wait` returns, the trap cleans up), waits for
# it, and sets CHILD_CPU to the CPU seconds it used. With out-file "-" the
# output goes to this script's stdout and stderr.
run_child() { # out-file limit-seconds command...
    local out="$1" limit="$2" pid rc=0 t0 c left=()
    shift 2
    children_cpu; t0="$CCPU"
    if [ "$out" = - ]; then
        timeout -k 5 "$limit" "$@" < /dev/null 9>&- &
    else
        timeout -k 5 "$limit" "$@" >"$out" 2>&1 < /dev/null 9>&- &
    fi
    pid=$!
    CHILDREN+=("$pid")
    wait "$pid" || rc=$?
    for c in "${CHILDREN[@]}"; do [ "$c" = "$pid" ] || left+=("$c"); done
    CHILDREN=("${left[@]}")
    children_cpu
    # shellcheck disable=SC2034  # for the caller
    CHILD_CPU="$(awk -v a="$t0" -v b="$CCPU" 'BEGIN { printf "%.2f", b - a }')"
    return "$rc"
}

# Up means serving: /health answers from the moment the runtime listens,
# /db-check stops answering 503 once it has its database and schema. Asked
# after /health: asked before, it could find nothing listening yet (000)
# and /health then find the server just started, not yet ready. A peer
# without /db-check answers 404 there, which counts as ready.
wait_health() { # url pgid timeout-seconds name
    local url="$1" g="$2" limit="$3" name="$4" ready
    for _ in $(seq 1 $(( limit * 4 ))); do
        if curl -fsS -m 2 -o /dev/null "$url/health" 2>/dev/null; then
            ready=$(curl -sS -m 2 -o /dev/null -w '%{http_code}' "$url/db-check" 2>/dev/null || true)
            if [ "$ready" != 000 ] && [ "$ready" != 503 ]; then return 0; fi
        fi
        kill -0 -- "-$g" 2>/dev/null || { log "$name exited before it answered /health"; return 1; }
        sleep 0.25
    done
    log "$name did not answer $url/health within ${limit}s"
    return 1
}

start_server() { # name log-file command... ; sets STARTED_PGID, STARTED_PID
    local name="$1" logf="$2"; shift 2
    setsid "$@" >"$logf" 2>&1 < /dev/null 9>&- &
    STARTED_PID=$!
    STARTED_PGID=$STARTED_PID   # setsid (not forking: no job control here) makes it a group leader
    GROUPS_TO_KILL+=("$STARTED_PGID")
}

# ------------------------------------------------------------ PostgreSQL

find_psql() {
    for b in initdb pg_ctl postgres; do [ -x "$PG_BIN/$b" ] || die "$PG_BIN/$b is missing (set PG_BIN)"; done
    PSQL="$PG_BIN/psql"; [ -x "$PSQL" ] || PSQL="$(command -v psql)" || die "psql is missing"
}

# initdb in $TMP/pg, start on a free loopback port (PG_PORT if set) with the
# given server options added, create the database `shop`; sets PG_DATA,
# PG_PORT and DATABASE_URL.
start_postgres() { # extra -c options...
    PG_DATA="$TMP/pg"
    PG_PORT="${PG_PORT:-$(free_port)}"
    mkdir -p "$PG_DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DATA"; fi
    chmod 700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1 \
        || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
    PG_OPTS="-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1 $*"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -o "$PG_OPTS" -t 60 -w start >/dev/null 9>&- \
        || { tail -20 "$PG_DATA/server.log" >&2; die "PostgreSQL did not start"; }
    run_psql -d postgres -c "CREATE DATABASE shop"
    # shellcheck disable=SC2034  # for the caller
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/shop"
    # The workloads read the sample rows by id; a start with a DATABASE_URL
    # loads them only when asked. Exported: every runtime started here sees it.
    export SAMPLE_DATA=true
}

pg_pid() { head -1 "$PG_DATA/postmaster.pid"; }

run_psql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
