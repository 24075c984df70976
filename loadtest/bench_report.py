"""The report of loadtest/bench: its runs (one JSON line each) and settings
merged into the results JSON, and the tables it prints (each
implementation's figures, ours over each peer, the topologies side by
side). Python 3 standard library only; called through bench_helper.py.
"""

import json
import statistics

def per_request(seconds, run):
    # CPU per request in microseconds: the seconds the process used while
    # wrk measured, over the requests wrk counted in that time.
    if seconds is None or not run.get("requests"):
        return None
    return seconds * 1e6 / run["requests"]

def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)

def median_of_rounds(rounds):
    """One workload's figures over bench's ROUNDS: the median of each rate
    and latency, the sums of requests, errors and CPU seconds (so that CPU
    per request stays CPU over requests), and each round's own run kept
    under "rounds". A single round is its run as it is."""
    if len(rounds) == 1:
        return rounds[0]
    def med(key):
        vals = [r[key] for r in rounds if r.get(key) is not None]
        return statistics.median(vals) if len(vals) == len(rounds) else None
    def total(key):
        vals = [r.get(key) for r in rounds]
        return None if None in vals else sum(vals)
    merged = {k: v for k, v in rounds[0].items() if k not in ("wrk_output", "round")}
    merged.update({k: med(k) for k in ("rps", "p50_ms", "p75_ms", "p90_ms", "p99_ms")})
    merged.update({k: total(k) for k in ("requests", "non_2xx", "wrk_non_2xx_or_3xx", "socket_errors")})
    merged["cpu_s"] = {k: (None if None in [r["cpu_s"].get(k) for r in rounds]
                           else round(sum(r["cpu_s"][k] for r in rounds), 2))
                       for k in rounds[0]["cpu_s"]}
    merged["rounds"] = sorted(rounds, key=lambda r: r.get("round", 1))
    return merged

def round_ratios(a, b):
    """Ours over a peer in each round where both ran: the spread of these
    says how far the median's ratio can be trusted."""
    theirs = {r.get("round", 1): r["rps"] for r in b.get("rounds", [])}
    return [r["rps"] / theirs[r.get("round", 1)] for r in a.get("rounds", [])
            if r["rps"] and theirs.get(r.get("round", 1))]

def report(runs_path, meta_path, out_path):
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    meta = json.load(open(meta_path))
    impls = {}
    rounds = {}
    for r in runs:
        if r["kind"] == "wrk":
            rounds.setdefault((r["impl"], r["workload"]), []).append(r)
            impls.setdefault(r["impl"], {"workloads": {}})
        elif r["kind"] == "memory":
            impls.setdefault(r["impl"], {"workloads": {}})["memory"] = r
        elif r["kind"] == "pgbench":
            meta["pgbench_user_get"] = r
        elif r["kind"] == "pooler_crash":
            meta.setdefault("pooler_crashes", []).append(r)
    for (impl, workload), rs in rounds.items():
        impls[impl]["workloads"][workload] = median_of_rounds(rs)
    meta["implementations"] = impls
    with open(out_path, "w") as f:
        json.dump(meta, f, indent=2)

    lines = []
    for name, impl in impls.items():
        # A topology's own column: PgBouncer's CPU, or the part of the
        # database's that the replica used.
        extra = {"ours+pgbouncer": ("cpu pooler", "pooler"), "ours+replica": ("of which replica", "db_replica")}.get(name)
        head = ["workload", "req/s", "p50 ms", "p99 ms", "non-2xx", "cpu server", "cpu db",
                "server µs/req", "db µs/req"]
        head += [extra[0]] if extra else []
        head += ["cpu wrk"]
        rows = []
        for w in meta["workloads"]:
            r = impl["workloads"].get(w)
            if not r:
                continue
            c = r["cpu_s"]
            row = [w, fmt(r["rps"]), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2), fmt(r["non_2xx"]),
                   fmt(c["server"], 2), fmt(c["db"], 2),
                   fmt(per_request(c["server"], r), 1), fmt(per_request(c["db"], r), 1)]
            row += [fmt(c.get(extra[1]), 2)] if extra else []
            rows.append(row + [fmt(c["client"], 2)])
        if name == "ours" and "pgbench_user_get" in meta:
            p = meta["pgbench_user_get"]
            rows.append(["pgbench user_get", fmt(p["tps"]), "-", "-", fmt(p["failed"]), "-",
                         fmt(p["cpu_s"]["db"], 2), "-", "-"] + (["-"] if extra else []) + [fmt(p["cpu_s"]["client"], 2)])
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines.append("")
        label = LABELS.get(name, f"peer {name}")
        if name.startswith("ours"):
            label += f", LOG_LEVEL={meta.get('runtime_log_level', 'warn')}"
        lines.append(f"== {label}: {meta['duration_s']}s per workload, {meta['connections']} connections, "
                     f"{meta['threads']} threads (cpu in seconds"
                     + (f"; medians of {meta['rounds']} rounds, cpu and requests summed)" if meta.get("rounds", 1) > 1 else ")"))
        for row in [head] + rows:
            lines.append("  ".join(str(x).rjust(wd) if i else str(x).ljust(wd) for i, (x, wd) in enumerate(zip(row, widths))))
        mem = impl.get("memory")
        if mem:
            if mem["processes"] <= 1:
                lines.append(f"peak resident memory (VmHWM): {mem['hwm_kib'] / 1024:.1f} MiB")
            else:
                lines.append(f"peak resident memory (VmHWM): largest process {mem['hwm_kib'] / 1024:.1f} MiB, "
                             f"sum over its {mem['processes']} processes {mem['hwm_sum_kib'] / 1024:.1f} MiB")
    ours = impls.get("ours", {}).get("workloads", {})
    for name, impl in impls.items():
        if name in LABELS:
            continue
        lines.append("")
        lines.append(f"== ours / {name} (req/s ratio > 1: ours is faster; p99 ratio < 1: ours is faster)")
        head2 = ["workload", "ours req/s", "peer req/s", "ratio", "ours p99", "peer p99", "ratio",
                 "ours µs/req", "peer µs/req"]
        several = meta.get("rounds", 1) > 1
        if several:
            lines[-1] = lines[-1][:-1] + f"; medians of {meta['rounds']} rounds, then each round's own req/s ratio)"
            head2.append("rounds' ratios")
        rows = []
        for w in meta["workloads"]:
            a, b = ours.get(w), impl["workloads"].get(w)
            if not a or not b:
                continue
            rr = a["rps"] / b["rps"] if a["rps"] and b["rps"] else None
            pr = a["p99_ms"] / b["p99_ms"] if a["p99_ms"] and b["p99_ms"] else None
            rows.append([w, fmt(a["rps"]), fmt(b["rps"]), fmt(rr, 2), fmt(a["p99_ms"], 2), fmt(b["p99_ms"], 2), fmt(pr, 2),
                         fmt(per_request(a["cpu_s"]["server"], a), 1), fmt(per_request(b["cpu_s"]["server"], b), 1)]
                        + ([" ".join(f"{x:.2f}" for x in round_ratios(a, b))] if several else []))
        widths = [max(len(str(x)) for x in col) for col in zip(head2, *rows)]
        for row in [head2] + rows:
            lines.append("  ".join(str(x).rjust(wd) if i else str(x).ljust(wd) for i, (x, wd) in enumerate(zip(row, widths))))
    lines += topologies(impls, meta)
    crashes = meta.get("pooler_crashes", [])
    if crashes:
        lines.append("")
        lines.append(f"PgBouncer died {len(crashes)} time(s) when wrk closed its connections, and was restarted: "
                     + ", ".join(f"after {c['workload']}'s {c['after']}" for c in crashes)
                     + f" ({crashes[0]['fatal']}); a '-' for the pooler's CPU marks a run it died after")
    print("\n".join(lines))

# The runtime's runs, one per topology (TOPOLOGIES), by the name they are
# recorded under; "ours" stays the direct one, as before topologies.
TOPOLOGY_IMPL = {"direct": "ours", "unnamed": "ours+unnamed", "pgbouncer": "ours+pgbouncer", "replica": "ours+replica"}
LABELS = {
    "ours": "ours (runtime)",
    "ours+unnamed": "ours (runtime) direct with DB_STATEMENTS=unnamed",
    "ours+pgbouncer": "ours (runtime) through PgBouncer, transaction mode, DB_STATEMENTS=unnamed",
    "ours+replica": "ours (runtime) with its reads on a streaming replica (DATABASE_READ_URL)",
}

def topologies(impls, meta):
    """The topologies side by side, each workload's req/s over direct's."""
    ran = [t for t in meta.get("topologies", []) if TOPOLOGY_IMPL[t] in impls]
    if ran in ([], ["direct"]):
        return []
    direct = impls.get("ours", {}).get("workloads", {})
    head = ["workload", "topology", "req/s", "x direct", "p50 ms", "p99 ms", "non-2xx",
            "cpu server", "cpu primary", "cpu replica", "cpu pooler"]
    rows = []
    for w in meta["workloads"]:
        for t in ran:
            r = impls[TOPOLOGY_IMPL[t]]["workloads"].get(w)
            if not r:
                continue
            d = direct.get(w)
            ratio = r["rps"] / d["rps"] if d and d["rps"] and r["rps"] else None
            c = r["cpu_s"]
            rows.append([w, t, fmt(r["rps"]), fmt(ratio, 2), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2),
                         fmt(r["non_2xx"]), fmt(c["server"], 2), fmt(c.get("db_primary"), 2),
                         fmt(c.get("db_replica"), 2), fmt(c.get("pooler"), 2)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["", "== topologies (x direct: req/s over direct's; cpu in seconds: server = runtime, "
                 "primary and replica = PostgreSQL, pooler = PgBouncer)"]
    for row in [head] + rows:
        lines.append("  ".join(str(x).rjust(wd) if i > 1 else str(x).ljust(wd) for i, (x, wd) in enumerate(zip(row, widths))))
    return lines
