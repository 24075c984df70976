"""The measuring half of loadtest/scale (which starts PostgreSQL and the
runtime, loads the data and then runs `scale.py measure`); Python 3 standard
library only.

  scale.py measure --port P --pg-port Q [--psql PATH] [--requests N] ...
      For every list endpoint, with and without each filter, the latency of
      the first, a middle and the last page reached through `after=`, one
      request at a time on one keep-alive connection; the old `offset=` deep
      page beside it; wrk throughput of deep keyset pages. Prints a table,
      writes JSON (--json), exits 1 when any request was not a 200 or a page
      was not the one the database says it is.
  scale.py compare A.json[,A2.json...] B.json[,B2.json...]
      Two sizes side by side (a smaller and a larger data set): medians, p99
      and how much each median grew, as a Markdown table; several runs of a
      size count as their best (lowest) figures.

Its parts: scale_cases.py (the requests, and what the database says they
must answer), scale_measure.py (timing, checking, CPU, wrk, slow plans) and
scale_report.py (the tables, the targets, compare).
"""

import argparse
import json
import signal
import sys
import time

from scale_measure import CpuMeter, Run, SlowPlans
from scale_report import (TARGET_MEDIAN_MS, TARGET_P99_MS, compare, print_case_header, print_offset,
                          print_plans, print_wrk, target_misses)


def fail_on_term(*_):
    # SIGTERM (loadtest/scale's clean-up, or its timeout) unwinds like an
    # exception, so a running wrk is killed on the way out.
    raise SystemExit(143)


def measure(args):
    signal.signal(signal.SIGTERM, fail_on_term)
    run = Run(args)
    sizes = {k: int(run.db.value(f"SELECT count(*) FROM {k}")) for k in ("users", "products", "orders")}
    slow = SlowPlans(run.db, args.pg_log, args.slow_ms)
    print_case_header(args.requests)
    started = time.monotonic()
    meter = CpuMeter(args.runtime_pid, args.pg_pid)
    cpu_before = meter.sample()
    slow.start()
    cases = run.measure_cases()
    plans = slow.stop()
    cpu_ours, cpu_other = CpuMeter.cores(cpu_before, meter.sample())
    offsets = run.measure_offset(cases)
    print_offset(offsets)
    wrk_runs = run.measure_wrk(sizes) if args.wrk_duration > 0 else []
    if wrk_runs:
        print_wrk(wrk_runs, args)
    # Other work on the machine (a build, tests) takes cores from the
    # runtime and PostgreSQL: the p99s first, then the medians, are partly
    # its. A run that says so is not a measurement of the data's size.
    print(f"\nCPU while the pages were measured: this run {cpu_ours:.2f} cores (client, runtime, PostgreSQL), "
          f"other work {cpu_other:.2f} cores"
          + (": the machine was not idle, the figures are noisy" if cpu_other > 0.2 else ""))
    misses = target_misses(cases)
    head = (f"\ntargets (for the default size: every page median <= {TARGET_MEDIAN_MS:g} ms, "
            f"p99 <= {TARGET_P99_MS:g} ms): ")
    if args.smoke:
        # A handful of requests to a possibly unoptimised build: the smoke
        # run checks that every page answers, and what it holds, not speed.
        print(head + "not judged in a smoke run")
    else:
        print(head + ("all met" if not misses else f"{len(misses)} missed"))
        for m in misses:
            print(f"  missed: {m}")
        print_plans(plans, args.slow_ms)
    if args.json:
        meta = json.loads(args.meta) if args.meta else {}
        meta.update(sizes=sizes, requests_per_page=args.requests, warmup=args.warmup, limit=args.limit,
                    measure_seconds=round(time.monotonic() - started, 1),
                    cpu_cores_pages={"ours": round(cpu_ours, 2), "other": round(cpu_other, 2)})
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "cases": cases, "offset": offsets, "wrk": wrk_runs,
                       "target_misses": misses, "slow_plans": plans, "failures": run.failures}, f, indent=2)
    if run.failures:
        print(f"\n{len(run.failures)} failed requests or wrong pages (the first are listed above)")
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--port", type=int, required=True, help="the runtime's port on 127.0.0.1")
    m.add_argument("--pg-port", type=int, required=True)
    m.add_argument("--psql", default="psql")
    m.add_argument("--runtime-pid", type=int, help="for the CPU it uses")
    m.add_argument("--pg-pid", type=int, help="the postmaster's, for the CPU PostgreSQL uses")
    m.add_argument("--pg-log", help="PostgreSQL's log, with auto_explain loaded: plans of slow statements")
    m.add_argument("--slow-ms", type=int, default=TARGET_MEDIAN_MS,
                   help="statements slower than this get their plan shown (default: the median target)")
    m.add_argument("--requests", type=int, default=200, help="measured requests per page")
    m.add_argument("--warmup", type=int, default=5, help="requests per page before measuring")
    m.add_argument("--offset-requests", type=int, default=20)
    m.add_argument("--limit", type=int, default=50)
    m.add_argument("--wrk-duration", type=int, default=10, help="seconds per wrk run (0: no wrk)")
    m.add_argument("--connections", type=int, default=64)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--smoke", action="store_true", help="do not judge the targets (tiny data, few requests)")
    m.add_argument("--json", help="write the results here")
    m.add_argument("--meta", help="JSON object to put in the results' meta")
    c = sub.add_parser("compare")
    c.add_argument("a", help="the smaller size's run(s): A.json or A1.json,A2.json (best of them)")
    c.add_argument("b", help="the larger size's run(s), likewise")
    args = p.parse_args()
    if args.cmd == "measure":
        if args.requests < 1 or args.warmup < 0:
            p.error("--requests must be at least 1, --warmup at least 0")
        sys.exit(measure(args))
    compare(args.a, args.b)


if __name__ == "__main__":
    main()
