"""What a run measured: for each fault, how long writes and reads went
without a success and how long after the heal errors went on; per second,
throughput, errors and p99 latency (a CSV, and a PNG when matplotlib is
there); and the verdict against the targets.
"""

import csv
import json
import os


def failed(row):
    """No answer, 5xx, or 429: the service did not serve. 409/412/422 are
    answers (no stock, stale ETag, bad body)."""
    st = row["st"]
    return not isinstance(st, int) or st >= 500 or st == 429


def outage(rows, kind, start, end):
    """How long `kind` requests failed: the longest stretch between two
    successes (completed) in [start, end] in which a request failed. A
    stretch with no request at all is not counted: the clients were busy
    elsewhere, nothing was refused."""
    ok = sorted(r["t"] + r["ms"] / 1000 for r in rows
                if r["kind"] == kind and not failed(r) and start <= r["t"] <= end)
    bad = sorted(r["t"] for r in rows if r["kind"] == kind and failed(r) and start <= r["t"] <= end)
    points = [start, *ok, end]
    longest, i = 0.0, 0
    for a, b in zip(points, points[1:]):
        while i < len(bad) and bad[i] < a:
            i += 1
        if i < len(bad) and bad[i] <= b:
            longest = max(longest, b - a)
    return longest


def windows(rows, marks):
    out = []
    for m in marks:
        start, heal, end = m["start"], m["heal"], m["recovered"]
        inside = [r for r in rows if start <= r["t"] <= end and r["kind"] in ("read", "fresh", "write")]
        errors = [r for r in inside if failed(r)]
        during = [r["t"] for r in errors if r["t"] <= heal]
        after = [r["t"] for r in errors if r["t"] > heal]
        w = {
            "name": m["name"], "doc": m["doc"], "target": m["target"],
            "write_s": round(outage(rows, "write", start, end), 2),
            "read_s": round(outage(rows, "read", start, end), 2),
            "route_s": round(max(during) - start, 2) if during else 0.0,
            "errors_after_heal_s": round(max(after) - heal, 2) if after else 0.0,
            "errors": len(errors), "requests": len(inside),
            "primary_after": m.get("primary_after"),
        }
        w["verdict"] = verdict(w, m.get("expect"))
        out.append(w)
    return out


def verdict(w, expect):
    """'ok', or what missed its target ('reported' where none is set). A
    read target of 0 means "reads never stop": no stretch over 1 s."""
    if not expect:
        return "reported"
    missed = []
    for key, limit in expect.items():
        allowed = max(limit, 1.0) if limit == 0 else limit
        if w[key] > allowed:
            missed.append(f"{key} {w[key]} > {allowed}")
    return "ok" if not missed else "MISSED: " + ", ".join(missed)


def per_second(rows):
    buckets = {}
    for r in rows:
        if r["kind"] not in ("read", "fresh", "write"):
            continue
        b = buckets.setdefault(int(r["t"]), {"ok": 0, "err": 0, "lat": []})
        if failed(r):
            b["err"] += 1
        else:
            b["ok"] += 1
            b["lat"].append(r["ms"])
    series = []
    for s in range(min(buckets, default=0), max(buckets, default=-1) + 1):
        b = buckets.get(s, {"ok": 0, "err": 0, "lat": []})
        lat = sorted(b["lat"])
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None
        series.append({"second": s, "ok": b["ok"], "errors": b["err"], "p99_ms": p99})
    return series


def write_all(out_dir, rows, marks, checks, wins, price=None):
    os.makedirs(out_dir, exist_ok=True)
    series = per_second(rows)
    with open(os.path.join(out_dir, "per-second.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["second", "ok", "errors", "p99_ms"])
        w.writeheader()
        w.writerows(series)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"faults": marks, "windows": wins, "checks": checks.items,
                   "synchronous_commit_cost": price}, f, indent=1)
    return plot(out_dir, series, marks)


def plot(out_dir, series, marks):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    xs = [s["second"] for s in series]
    fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True)
    axes[0].plot(xs, [s["ok"] for s in series], color="tab:green", lw=1)
    axes[0].set_ylabel("answered / s")
    axes[1].plot(xs, [s["errors"] for s in series], color="tab:red", lw=1)
    axes[1].set_ylabel("failed / s")
    # A second with no answer has no p99: a gap in the line, not a zero.
    axes[2].plot(xs, [s["p99_ms"] if s["p99_ms"] is not None else float("nan") for s in series],
                 color="tab:blue", lw=1)
    axes[2].set_ylabel("p99 ms")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("seconds since the load started")
    for m in marks:
        for ax in axes:
            ax.axvspan(m["start"], m["heal"], color="orange", alpha=0.25)
        axes[0].annotate(m["name"], (m["start"], 1), xycoords=("data", "axes fraction"),
                         rotation=90, va="top", fontsize=8)
    fig.suptitle("shop on 9 hosts under faults: throughput, errors, p99 (faults shaded)")
    fig.tight_layout()
    path = os.path.join(out_dir, "faults.png")
    fig.savefig(path, dpi=90)
    return path


def print_all(say, wins, checks, total_rows, price=None):
    say(f"{total_rows} requests logged")
    say(f"{'fault':20} {'writes out':>10} {'reads out':>9} {'route':>6} "
        f"{'err>heal':>8} {'errors':>7}  verdict")
    for w in wins:
        say(f"{w['name']:20} {w['write_s']:>9.1f}s {w['read_s']:>8.1f}s {w['route_s']:>5.1f}s "
            f"{w['errors_after_heal_s']:>7.1f}s {w['errors']:>7}  {w['verdict']}")
    for c in checks.items:
        say(f"{'PASS' if c['ok'] else 'FAIL'}  {c['check']}: {c['detail']}")
    if price:
        on, local = price["on"], price["local"]
        say(f"an order's transaction, {price['clients']} clients on the primary: "
            f"{on['latency_ms']} ms ({on['tps']:.0f}/s) with synchronous commit, "
            f"{local['latency_ms']} ms ({local['tps']:.0f}/s) with synchronous_commit=local")
