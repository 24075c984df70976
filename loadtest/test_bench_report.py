"""Test of bench's report over several rounds (ROUNDS): each figure is the
median of the rounds, requests and CPU seconds are summed (so CPU per
request stays CPU over requests), every round's run is kept, and the ratio
table shows each round's own ratio beside the medians' one. A single round
is reported as the run it is. Standard library only, runs in a second:

  python3 loadtest/test_bench_report.py
"""

import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_report import report  # noqa: E402


def measured(impl, rnd, rps, p99, requests, server_cpu):
    return {"kind": "wrk", "impl": impl, "workload": "user_get", "round": rnd, "rps": rps,
            "requests": requests, "p50_ms": p99 / 4, "p75_ms": None, "p90_ms": None, "p99_ms": p99,
            "non_2xx": 1, "wrk_non_2xx_or_3xx": 1, "socket_errors": 0, "wrk_output": "...",
            "cpu_s": {"server": server_cpu, "db": 1.0, "db_primary": 1.0, "db_replica": 0.0,
                      "pooler": 0.0, "client": 0.5}}


def render(runs, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, n) for n in ("runs.jsonl", "meta.json", "out.json")]
        with open(paths[0], "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in runs)
        with open(paths[1], "w") as f:
            json.dump({"workloads": ["user_get"], "rounds": rounds, "duration_s": 8,
                       "connections": 64, "threads": 2, "topologies": ["direct"]}, f)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            report(*paths)
        with open(paths[2]) as f:
            return json.load(f), printed.getvalue()


def main():
    # Ours ran first in rounds 1 and 4, the baseline first in 2 and 3.
    runs = [measured("ours", 1, 1000.0, 8.0, 8000, 2.0), measured("baseline", 1, 1100.0, 9.0, 8800, 2.2),
            measured("baseline", 2, 1000.0, 7.0, 8000, 2.0), measured("ours", 2, 1200.0, 6.0, 9600, 2.4),
            measured("baseline", 3, 900.0, 10.0, 7200, 1.8), measured("ours", 3, 1100.0, 7.0, 8800, 2.2),
            measured("ours", 4, 900.0, 9.0, 7200, 1.8), measured("baseline", 4, 1000.0, 8.0, 8000, 2.0)]
    out, printed = render(runs, 4)
    ours = out["implementations"]["ours"]["workloads"]["user_get"]
    assert ours["rps"] == 1050.0, ours["rps"]            # median of 1000, 1200, 1100, 900
    assert ours["p99_ms"] == 7.5, ours["p99_ms"]          # median of 8, 6, 7, 9
    assert ours["requests"] == 33600, ours["requests"]    # summed
    assert ours["non_2xx"] == 4, ours["non_2xx"]
    assert ours["cpu_s"]["server"] == 8.4, ours["cpu_s"]  # summed: 8.4 s over 33,600 requests
    assert [r["round"] for r in ours["rounds"]] == [1, 2, 3, 4], ours["rounds"]
    assert "wrk_output" in ours["rounds"][0] and "wrk_output" not in ours
    base = out["implementations"]["baseline"]["workloads"]["user_get"]
    assert base["rps"] == 1000.0, base["rps"]
    assert out["rounds"] == 4
    ratio_line = next(line for line in printed.splitlines() if line.startswith("user_get") and "0.91" in line)
    # The medians' ratio, then each round's own: 1000/1100, 1200/1000, 1100/900, 900/1000.
    assert " 1.05 " in ratio_line, ratio_line
    assert ratio_line.rstrip().endswith("0.91 1.20 1.22 0.90"), ratio_line
    assert "medians of 4 rounds" in printed, printed

    # One round: the run as it was, no rounds column.
    out, printed = render([measured("ours", 1, 1000.0, 8.0, 8000, 2.0), measured("baseline", 1, 800.0, 9.0, 6400, 2.2)], 1)
    ours = out["implementations"]["ours"]["workloads"]["user_get"]
    assert ours["rps"] == 1000.0 and ours["wrk_output"] == "..." and "rounds" not in ours, ours
    assert "rounds' ratios" not in printed and "medians of" not in printed, printed
    print("bench report over rounds: ok")


if __name__ == "__main__":
    main()
