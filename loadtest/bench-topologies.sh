# Sourced by loadtest/bench: the database topologies besides a direct
# connection. PgBouncer in transaction mode (started, watched for its
# known crash and restarted) and a streaming replica, each running only
# while its topology is measured. Needs bench's settings, common.sh and py.
# shellcheck shell=bash
# The URLs and pids set here are read by loadtest/bench and bench-workloads.sh.
# shellcheck disable=SC2034

POOLER_PID=""     # PgBouncer's process and port while the pgbouncer topology runs
POOLER_PORT=""
REPLICA_DATA=""   # the replica's data directory while the replica topology runs
REPLICA_PORT=""

replica_pid() { if [ -n "$REPLICA_DATA" ]; then head -1 "$REPLICA_DATA/postmaster.pid"; else echo 0; fi; }

metric() { # base-url name: an unlabelled metric's value (0 when absent)
    curl -fsS -m 5 "$1/metrics" | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

# PgBouncer in transaction mode in front of the cluster, as a managed
# platform puts one in front of serverless functions. Its pool matches the
# runtime's POOL_SIZE, so neither side queues for the other's sake. Sets
# POOLER_PORT and POOLER_URL, and (launch_pgbouncer) POOLER_PID and POOLER_PGID.
start_pgbouncer() {
    local dir="$TMP/pgbouncer"
    POOLER_PORT="$(free_port)"
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
shop = host=127.0.0.1 port=$PG_PORT dbname=shop
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = ${POOL_SIZE:-20}
max_client_conn = 1000
; a server login that failed is retried after 1 s, not the default 15 s
server_login_retry = 1
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    printf '"postgres" ""\n' >"$dir/users.txt"
    # PgBouncer refuses to run as root.
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
    log "PgBouncer ($("$PGBOUNCER" --version | head -1)) on 127.0.0.1:$POOLER_PORT, transaction mode, pool ${POOL_SIZE:-20}"
    launch_pgbouncer
    POOLER_URL="postgres://postgres@127.0.0.1:$POOLER_PORT/shop"
}

launch_pgbouncer() {
    local dir="$TMP/pgbouncer" cmd
    cmd=("$PGBOUNCER" "$dir/pgbouncer.ini")
    if [ "$(id -u)" = 0 ]; then cmd=(runuser -u postgres -- "${cmd[@]}"); fi
    start_server pgbouncer "$TMP/pgbouncer.out" "${cmd[@]}"
    POOLER_PGID=$STARTED_PGID
    POOLER_PID=$STARTED_PID
    for _ in $(seq 1 40); do
        if "$PSQL" -X -qtA -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d shop -c "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    cat "$TMP/pgbouncer.out" "$dir/pgbouncer.log" >&2 2>/dev/null
    die "PgBouncer did not let a query through within 10 s"
}

pooler_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$POOLER_PORT") 2>/dev/null; }

# PgBouncer 1.18 dies now and then when a run ends ("FATAL ...
# disconnect_client(): bad client state: 0", pgbouncer/pgbouncer#801): wrk
# closes its connections with requests in flight, the runtime cancels those
# requests' statements, and a cancel request whose client is gone before
# PgBouncer has passed it on trips its cancel handling. It is restarted on
# the same port, as a supervisor would, each crash recorded; the runtime
# replaces the connections that broke by itself. Returns 1 when it had died.
ensure_pooler() { # impl workload phase
    [ -n "$POOLER_PORT" ] || return 0
    # The crash comes a moment after wrk closes its connections.
    sleep 0.5
    pooler_listening && return 0
    local fatal
    fatal="$(grep -m1 FATAL "$TMP/pgbouncer/pgbouncer.log" 2>/dev/null | sed 's/^.*FATAL //')"
    cat "$TMP/pgbouncer/pgbouncer.log" >>"$TMP/pgbouncer/pgbouncer.crashes.log" 2>/dev/null
    : >"$TMP/pgbouncer/pgbouncer.log"
    log "  $1 $2: PgBouncer died after the $3 (${fatal:-no FATAL line}); restarting it"
    printf '{"kind": "pooler_crash", "impl": "%s", "workload": "%s", "after": "%s", "fatal": "%s"}\n' \
        "$1" "$2" "$3" "${fatal//\"/\'}" >>"$RUNS"
    stop_group "$POOLER_PGID"
    launch_pgbouncer
    return 1
}

stop_pgbouncer() {
    stop_group "$POOLER_PGID"
    POOLER_PID=""
    POOLER_PORT=""
}

# A streaming replica of the cluster, as it is now (pg_basebackup -R), on
# another port with the same settings (a hot standby needs max_connections
# at least the primary's). Sets REPLICA_DATA, REPLICA_PORT and REPLICA_URL.
start_replica() {
    local state=""
    REPLICA_DATA="$TMP/replica"
    REPLICA_PORT="$(free_port)"
    mkdir -p "$REPLICA_DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$REPLICA_DATA"; fi
    chmod 700 "$REPLICA_DATA"
    # HOME: libpq looks for ~/.pgpass, which the postgres user may not read in root's.
    as_pg env HOME="$TMP" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$REPLICA_DATA" \
        -R -X stream -c fast --no-sync >"$TMP/basebackup.log" 2>&1 \
        || { cat "$TMP/basebackup.log" >&2; die "pg_basebackup failed"; }
    CLUSTERS+=("$REPLICA_DATA")
    as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_DATA/server.log" \
        -o "-p $REPLICA_PORT -k $REPLICA_DATA -c listen_addresses=127.0.0.1 $PG_EXTRA" -t 60 -w start >/dev/null 9>&- \
        || { tail -20 "$REPLICA_DATA/server.log" >&2; die "the replica did not start"; }
    for _ in $(seq 1 40); do
        state="$("$PSQL" -X -qtA -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres \
            -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)"
        [ "$state" != streaming ] || break
        sleep 0.25
    done
    [ "$state" = streaming ] || { tail -20 "$REPLICA_DATA/server.log" >&2; die "the replica is not streaming (${state:-no WAL receiver})"; }
    log "replica: $REPLICA_DATA, port $REPLICA_PORT, streaming from the cluster"
    REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/shop"
}

stop_replica() {
    stop_cluster "$REPLICA_DATA"
    rm -rf "$REPLICA_DATA"
    REPLICA_DATA=""
    REPLICA_PORT=""
}
