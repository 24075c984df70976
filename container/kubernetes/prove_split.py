#!/usr/bin/env python3
"""Proves the split deployment on loopback, with the real programs.

A throwaway PostgreSQL 15, two runtime processes per function group (each
with the FUNCTIONS value of its overlays/split group), and HAProxy loaded
with the generated proxy/haproxy.cfg in front, its server slots filled
through the runtime API the way an endpoints controller would. Then:

  routing    every 405 and 404 through the proxy equals a single process's
             (status, Allow), and loadtest/smoke.js passes through it;
  rolling    under a steady k6 load (rolling-load.js), every instance is
             replaced in turn as Kubernetes does it (out of rotation, SIGTERM,
             a new one started, in rotation once ready): no failed request,
             and the orders in the database are exactly those the clients
             were told were created;
  metrics    /metrics is not public through the proxy (prove_edges.py);
  cors       with CORS on, a browser's preflight for every method of every
             route is granted through the proxy (prove_edges.py);
  group-down every order-writes instance stopped: order POSTs and PATCHes get
             a 503 problem document from the proxy, every other group serves;
  cold-start time from spawning a process to its first 200 on
             GET /api/users/1 (a database route), median of 10.

Run through prove-split.sh, which installs k6 and HAProxy first. Everything
listens on 127.0.0.1 and stops before it returns. split_cluster.py starts and
stops the processes; prove_routing.py, prove_rollout.py and prove_edges.py
hold the steps; this file runs them in order. Standard library only.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import prove_edges
import prove_rollout
import prove_routing
from split_cluster import ROOT, Failed, Postgres, Split, log


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("RUNTIME_BIN", str(ROOT / "target/debug/runtime")))
    parser.add_argument("--k6", default=os.environ.get("K6", str(ROOT / ".venv/bin/k6")))
    parser.add_argument("--rate", type=int, default=40, help="requests/s of the rolling restart's load")
    parser.add_argument("--duration", type=int, default=45, help="seconds of load (must outlast the restarts)")
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--one-first", action="store_true",
                        help="let the first instance apply the schema before the others start")
    parser.add_argument("--steps", default="routing,rolling,metrics,cors,group-down,cold-start",
                        help="comma-separated subset, in this order")
    args = parser.parse_args()

    if not Path(args.bin).is_file():
        log(f"prove_split: no runtime binary at {args.bin} (set RUNTIME_BIN)")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="prove-split-"))
    tmp.chmod(0o755)  # the postgres user walks into it
    # A copy, so that a rebuild during the run changes nothing under it.
    binary = tmp / "runtime"
    shutil.copy2(args.bin, binary)
    # SIGTERM from CI's time limit: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    pg = Postgres(tmp)
    split = Split(binary, tmp, pg)
    results = {}
    try:
        pg.start()
        split.start(together=not args.one_first)
        log(f"split: {sum(len(s) for s in split.slots.values())} runtime processes ("
            + "; ".join(f"{g}: {e['FUNCTIONS']}" for g, e in split.env.items())
            + f") behind HAProxy on 127.0.0.1:{split.proxy.port}")
        steps = [
            ("routing", lambda: prove_routing.step_routing(split, binary, tmp, pg, args.k6)),
            ("rolling", lambda: prove_rollout.step_rolling(split, tmp, pg, args.k6, args.rate, args.duration)),
            ("metrics", lambda: prove_edges.step_metrics(split)),
            ("cors", lambda: prove_edges.step_cors(split)),
            ("group-down", lambda: prove_routing.step_group_down(split)),
            ("cold-start", lambda: prove_rollout.step_cold_start(binary, tmp, pg, args.cold_runs)),
        ]
        wanted = args.steps.split(",")
        for name, run in [(n, r) for n, r in steps if n in wanted]:
            log(f"--> {name}")
            began = time.monotonic()
            try:
                run()
                results[name] = True
                log(f"  ok ({time.monotonic() - began:.1f} s)")
            except Failed as error:
                results[name] = False
                log(f"  FAILED: {error}")
    except (Failed, subprocess.CalledProcessError) as error:
        log(f"setup FAILED: {error}")
        results["setup"] = False
    except KeyboardInterrupt:
        log("interrupted")
        results["interrupted"] = False
    finally:
        split.stop()
        pg.stop()
        if args.keep or not all(results.values()):
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(results.values())
    log(f"prove_split: {passed} passed, {len(results) - passed} failed")
    return 0 if results and all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
