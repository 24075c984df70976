"""The Python side of loadtest/bench: /proc readings (CPU seconds of a
process tree, peak resident memory), wrk and pgbench output parsing, a free
port, and the report (bench_report.py). Python 3 standard library only.

  bench_helper.py cpu PID...          CPU seconds of the trees, summed
  bench_helper.py cpus PID...         one figure per tree (0: none running)
  bench_helper.py hwm PID             largest VmHWM, sum, process count
  bench_helper.py wrk-run IMPL WORKLOAD WRK-OUTPUT CPU-JSON [EXTRA-JSON]
  bench_helper.py pgbench-run PGBENCH-OUTPUT CPU-JSON
  bench_helper.py free-port
  bench_helper.py report RUNS.jsonl META.json OUT.json
"""

import glob
import json
import os
import re
import sys

from bench_report import report

TCK = os.sysconf("SC_CLK_TCK")

def stat_all():
    procs = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        pid = int(path.split("/")[2])
        # rest[0] is field 3 (state): ppid is field 4, utime..cstime 14..17
        procs[pid] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    return procs

def tree(root, procs):
    kids = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in procs:
            out.append(p)
            todo.extend(kids.get(p, []))
    return out

def cpu(roots, procs=None):
    # CPU seconds of the processes and all their descendants, counting the
    # children they have reaped (cutime/cstime): backends that exit in the
    # middle of a run are not lost.
    procs = procs if procs is not None else stat_all()
    seen = set()
    for r in roots:
        seen.update(tree(int(r), procs))
    return sum(procs[p][1] for p in seen) / TCK

def hwm(root):
    procs = stat_all()
    total, top = 0, 0
    for p in tree(int(root), procs):
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
        except OSError:
            continue
        if m:
            total += int(m.group(1)); top = max(top, int(m.group(1)))
    return top, total

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}

def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return round(float(m.group(1)) * UNIT[m.group(2)], 3) if m else None

def parse_wrk(path):
    with open(path) as f:
        t = f.read()
    r = {}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", t, re.M)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s+(\d+) requests in ([\d.]+\w+)", t, re.M)
    r["requests"] = int(m.group(1)) if m else None
    for q in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % q, t, re.M)
        r["p%s_ms" % q] = ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    r["wrk_non_2xx_or_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"wrk-lua: .*non_2xx=(\d+)", t)
    # The scripts' own count (any status outside 200-299) when present.
    r["non_2xx"] = int(m.group(1)) if m else r["wrk_non_2xx_or_3xx"]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r

def parse_pgbench(path):
    with open(path) as f:
        t = f.read()
    r = {}
    m = re.search(r"^tps = ([\d.]+)", t, re.M)
    r["tps"] = float(m.group(1)) if m else None
    m = re.search(r"^latency average = ([\d.]+) ms", t, re.M)
    r["latency_avg_ms"] = float(m.group(1)) if m else None
    m = re.search(r"^number of failed transactions: (\d+)", t, re.M)
    r["failed"] = int(m.group(1)) if m else 0
    return r


def main():
    cmd = sys.argv[1]
    if cmd == "cpu":
        print(f"{cpu(sys.argv[2:]):.2f}")
    elif cmd == "cpus":
        # One figure per root, each with its descendants, from one reading of
        # /proc; a root of 0 (nothing running) reads 0.
        procs = stat_all()
        print(" ".join(f"{cpu([r], procs) if r != '0' else 0:.2f}" for r in sys.argv[2:]))
    elif cmd == "hwm":
        top, total = hwm(sys.argv[2])
        print(top, total, len(tree(int(sys.argv[2]), stat_all())))
    elif cmd == "wrk-run":
        # impl workload wrk-output cpu-json
        r = parse_wrk(sys.argv[4])
        # ROUND: which of bench's ROUNDS this run belongs to.
        r.update(kind="wrk", impl=sys.argv[2], workload=sys.argv[3], cpu_s=json.loads(sys.argv[5]),
                 round=int(os.environ.get("ROUND", "1")))
        if len(sys.argv) > 6:
            r.update(json.loads(sys.argv[6]))
        if r.get("pooler_died_after"):
            r["cpu_s"]["pooler"] = None
        with open(sys.argv[4]) as f:
            r["wrk_output"] = f.read()
        print(json.dumps(r))
    elif cmd == "pgbench-run":
        r = parse_pgbench(sys.argv[2])
        r.update(kind="pgbench", cpu_s=json.loads(sys.argv[3]))
        print(json.dumps(r))
    elif cmd == "free-port":
        import socket
        s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown helper command {cmd}")


if __name__ == "__main__":
    main()
