# Sourced by loadtest/bench: running the workloads. Each workload is a
# warm-up and a measured wrk run against one implementation, with the CPU
# seconds of the server, of PostgreSQL (primary and replica), of the pooler
# and of wrk read around it; one JSON line per run goes to $RUNS. Also the
# runtime's peak memory and pgbench on the user_get query (the database's
# own ceiling). Needs bench's settings and common.sh.
# shellcheck shell=bash

# The Python side: /proc readings, wrk output parsing, the report.
py() { python3 "$HERE/bench_helper.py" "$@"; }

# Puts the data back as loaded after order_create added orders.
reset_data() {
    run_psql -d shop -c "DELETE FROM orders WHERE id > $BENCH_ORDERS" \
        -c "UPDATE products SET stock_quantity = 1000000000 WHERE stock_quantity <> 1000000000" >/dev/null
    run_psql -d shop -c "VACUUM ANALYZE" >/dev/null
}

LUA_ARGS=(users="$BENCH_USERS" products="$BENCH_PRODUCTS" orders="$BENCH_ORDERS")

run_workloads() { # impl url server-pid
    local w
    for w in $WORKLOADS; do
        run_workload "$1" "$2" "$3" "$w" 1
    done
    if [[ " $WORKLOADS " == *" order_create "* ]]; then reset_data; fi
}

# Each workload on the runtime and then at once on every peer, so that the
# two figures of a ratio are measured seconds apart, not minutes: on a
# shared machine the neighbours' load drifts by a third within minutes.
# With ROUNDS above 1 each workload runs that many times on each, the order
# turned round every other round (ours then the peers, the peers last to
# first then ours, ...: A B B A), so that neither side always runs first and
# a steady drift of the machine falls on both alike. order_create starts
# from the same data on each.
run_interleaved() { # impl url server-pid (the runtime's; the peers are in PEER_*)
    local w i k r order=() forward=(-1 "${!PEER_NAMES[@]}")   # -1 is ours, the others index PEER_*
    for w in $WORKLOADS; do
        for (( r = 1; r <= ${ROUNDS:-1}; r++ )); do
            order=()
            if (( r % 2 )); then order=("${forward[@]}")
            else for (( k = ${#forward[@]} - 1; k >= 0; k-- )); do order+=("${forward[k]}"); done
            fi
            for i in "${order[@]}"; do
                if [ "$i" = -1 ]; then
                    run_workload "$1" "$2" "$3" "$w" "$r"
                else
                    run_workload "${PEER_NAMES[$i]}" "${PEER_URLS[$i]}" "${PEER_PIDS[$i]}" "$w" "$r"
                fi
                [ "$w" != order_create ] || reset_data
            done
        done
    done
}

run_workload() { # impl url server-pid workload round (of ROUNDS)
    local impl="$1" url="$2" spid="$3" w="$4" round="$5" label="" out before after wcpu cpu_json extra f0 f1
    {
        local script="$HERE/wrk/$w.lua"
        if [ "$WARMUP_S" -gt 0 ]; then
            run_child /dev/null $(( WARMUP_S + 30 )) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP_S}s" \
                -s "$script" "$url" -- "${LUA_ARGS[@]}" || log "$impl $w: warm-up run failed"
        fi
        if ! ensure_pooler "$impl" "$w" warm-up; then
            # The runtime's idle connections to the dead pooler may fail a
            # request each before they are replaced: outside the measure.
            run_child /dev/null 35 wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s \
                -s "$script" "$url" -- "${LUA_ARGS[@]}" || true
            ensure_pooler "$impl" "$w" "second warm-up" || true
        fi
        out="$TMP/$impl-$w-round$round.wrk.txt"
        if [ -n "$REPLICA_DATA" ]; then f0="$(metric "$url" db_replica_fallback_reads_total)"; fi
        before="$(py cpus "$spid" "$(pg_pid)" "$(replica_pid)" "${POOLER_PID:-0}")"
        run_child "$out" $(( DURATION_S + 60 )) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION_S}s" --latency \
            -s "$script" "$url" -- "${LUA_ARGS[@]}" || log "$impl $w: wrk exited non-zero (see below)"
        wcpu="$CHILD_CPU"
        after="$(py cpus "$spid" "$(pg_pid)" "$(replica_pid)" "${POOLER_PID:-0}")"
        # db is every PostgreSQL process, the replica's included, as it
        # always was; the parts and the pooler are kept apart beside it.
        cpu_json="$(awk -v a="$before" -v b="$after" -v c="$wcpu" 'BEGIN {
            split(a, x, " "); split(b, y, " ")
            printf "{\"server\": %.2f, \"db\": %.2f, \"db_primary\": %.2f, \"db_replica\": %.2f, \"pooler\": %.2f, \"client\": %.2f}",
                y[1] - x[1], y[2] - x[2] + y[3] - x[3], y[2] - x[2], y[3] - x[3], y[4] - x[4], c }')"
        extra='{}'
        if ! ensure_pooler "$impl" "$w" "measured run"; then
            # Whether the CPU reading above came before or after it died
            # cannot be told: the pooler's figure for this run is unknown.
            extra='{"pooler_died_after": true}'
        fi
        if [ -n "$REPLICA_DATA" ]; then
            # Reads the runtime sent to the primary for want of a replica in
            # rotation. (That the others went to the replica shows in the
            # CPU columns: the replica's own count of transactions reaches
            # pg_stat_database only when idle backends flush it, up to 10 s
            # later, too late to count one run.)
            f1="$(metric "$url" db_replica_fallback_reads_total)"
            extra="{\"fallback_reads\": $(( f1 - f0 ))}"
            log "  $impl $w: $(( f1 - f0 )) reads fell back to the primary"
        fi
        [ "${ROUNDS:-1}" -eq 1 ] || label=" round $round"
        ROUND="$round" py wrk-run "$impl" "$w" "$out" "$cpu_json" "$extra" >>"$RUNS"
        grep -E "Requests/sec|Non-2xx|wrk-lua|Socket errors" "$out" | sed "s/^/  $impl $w$label: /" >&2 || true
    }
}

record_memory() { # impl pid
    local top total n
    read -r top total n < <(py hwm "$2")
    printf '{"kind": "memory", "impl": "%s", "hwm_kib": %s, "hwm_sum_kib": %s, "processes": %s}\n' \
        "$1" "$top" "$total" "$n" >>"$RUNS"
}

run_pgbench() {
    [ "${SKIP_PGBENCH:-0}" != 1 ] || return 0
    local db0 db1 pcpu
    log "pgbench: the database's own ceiling on the user_get query"
    cat >"$TMP/user_get.pgbench" <<SQL
\set id random(1, $BENCH_USERS)
SELECT id, username, email, created_at, updated_at FROM users WHERE id = :id;
SQL
    chmod 644 "$TMP/user_get.pgbench"
    db0="$(py cpu "$(pg_pid)")"
    run_child "$TMP/pgbench.txt" $(( DURATION_S + 60 )) "$PGBENCH" -n -M prepared -c "$CONNECTIONS" -j "$THREADS" \
        -T "$DURATION_S" -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$TMP/user_get.pgbench" shop \
        || { cat "$TMP/pgbench.txt" >&2; log "pgbench failed"; }
    pcpu="$CHILD_CPU"
    db1="$(py cpu "$(pg_pid)")"
    py pgbench-run "$TMP/pgbench.txt" "$(awk -v d0="$db0" -v d1="$db1" -v c="$pcpu" \
        'BEGIN { printf "{\"db\": %.2f, \"client\": %.2f}", d1 - d0, c }')" >>"$RUNS"
    grep -E "^tps|latency average" "$TMP/pgbench.txt" | sed 's/^/  pgbench: /' >&2 || true
}
