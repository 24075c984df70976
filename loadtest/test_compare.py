"""Test of loadtest/compare on runs recorded in loadtest/results/: the
table holds each endpoint's figures of both runs and their ratio as the
files say, a peer of the same run compares as a run, scale runs compare by
list and page, the plot is an SVG naming both runs, and a file that is not
a run is refused. Runs in a few seconds (the plot needs matplotlib, which
the checks' venv has):

  python3 loadtest/test_compare.py
"""

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
BENCH_A = os.path.join(RESULTS, "2026-11-26T1459-bench-0d517b8.json")
BENCH_B = os.path.join(RESULTS, "2026-11-26T1727-bench-9d4fd4e.json")
SCALE_A = os.path.join(RESULTS, "2026-11-26T1500-scale-100000-0d517b8.json")
SCALE_B = os.path.join(RESULTS, "2026-11-26T1503-scale-1000000-0d517b8.json")


def compare(*args, ok=True):
    r = subprocess.run([sys.executable, os.path.join(HERE, "compare"), *args],
                       capture_output=True, text=True, timeout=120)
    if ok and r.returncode != 0:
        raise AssertionError(f"compare {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def table(stdout):
    """{(endpoint, figure): (A, B, ratio)} from the Markdown table."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 5 and cells[0] != "endpoint":
            rows[(cells[0], cells[1])] = tuple(cells[2:])
    return rows


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def test_bench_pair(tmp):
    svg = os.path.join(tmp, "bench.svg")
    out = compare(BENCH_A, BENCH_B, "--plot", svg, "--markdown").stdout
    rows = table(out)
    a = json.load(open(BENCH_A))["implementations"]["ours"]["workloads"]
    b = json.load(open(BENCH_B))["implementations"]["ours"]["workloads"]
    for w in ("health", "user_get", "product_list", "order_get", "order_create"):
        want = (f"{a[w]['rps']:,}", f"{b[w]['rps']:,}", f"{b[w]['rps'] / a[w]['rps']:.2f}×")
        check(rows.get((w, "req/s")) == want, f"{w} req/s row is {want} (got {rows.get((w, 'req/s'))})")
    check(rows[("order_create", "req/s")][2] == "1.53×", "order creation: 1,186 then 1,816 req/s, 1.53×")
    check(rows[("order_create", "server µs/req")] == ("283.3", "136.7", "0.48×"), "CPU per order, both runs")
    check(rows[("pgbench user_get", "req/s")] == ("15,697", "-", "-"), "a figure of one run only shows '-'")
    check("A: 2026-11-26T1459-bench-0d517b8 (2026-11-26 14:59 UTC, revision 0d517b8)" in out, "run A is named")
    root = ET.parse(svg).getroot()
    check(root.tag.endswith("svg"), "the plot is an SVG")
    text = " ".join(t for t in root.itertext())
    check("2026-11-26T1727-bench-9d4fd4e" in text and "user_get" in text, "the plot names run B and the endpoints")


def test_peer_of_same_run():
    rows = table(compare(BENCH_A, BENCH_A + "@axum-sqlx", "--no-plot", "--markdown").stdout)
    check(rows[("health", "req/s")] == ("44,308", "52,708", "1.19×"), "ours against axum in the same run")


def test_scale_pair():
    rows = table(compare(SCALE_A, SCALE_B, "--no-plot", "--markdown").stdout)
    check(rows[("users (last)", "p99 ms")] == ("1.22", "3.08", "2.52×"), "a list page's p99 at both sizes")
    check(rows[("products q (word and code) (first)", "p50 ms")] == ("1.51", "2.36", "1.56×"),
          "a filter's page, matched by its key across sizes")


def test_refusals(tmp):
    bad = os.path.join(tmp, "not-a-run.json")
    with open(bad, "w") as f:
        json.dump({"hello": 1}, f)
    r = compare(bad, BENCH_A, "--no-plot", ok=False)
    check(r.returncode != 0 and "not a run" in r.stderr, "a file that is not a run is refused")
    r = compare(BENCH_A, BENCH_A + "@no-such-peer", "--no-plot", ok=False)
    check(r.returncode != 0 and "no-such-peer" in r.stderr, "an unknown implementation is refused")
    plain = compare(BENCH_A, BENCH_B, "--no-plot").stdout.splitlines()
    check(any(l.split() == ["user_get", "req/s", "18,599", "16,304", "0.88×"] for l in plain),
          "the plain table holds the same row")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_bench_pair(tmp)
        test_peer_of_same_run()
        test_scale_pair()
        test_refusals(tmp)
    print("test_compare: all passed")


if __name__ == "__main__":
    main()
