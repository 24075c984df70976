"""The measuring of loadtest/scale: one keep-alive client, CPU readings from
/proc, each page timed and its first response checked against the database,
the deep `offset=` pages, wrk on deep keyset pages, and the plans of slow
statements from auto_explain. Python 3 standard library only.
"""

import http.client
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

from scale_cases import Database, expected_ids, make_cases, plan_pages
from scale_report import print_case_row

HERE = os.path.dirname(os.path.abspath(__file__))


class Client:
    """One keep-alive connection, one request at a time."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        """(status, headers, body, milliseconds); status 0 when the
        connection failed."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.perf_counter()
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, {}, str(e).encode(), (time.perf_counter() - t0) * 1000
                continue   # a keep-alive connection the server closed: once more, fresh
            ms = (time.perf_counter() - t0) * 1000
            return resp.status, dict(resp.getheaders()), body, ms


TICK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid, reaped=True):
    """utime + stime of a process (all its threads), and with `reaped` the
    children it has waited for (cutime + cstime); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    # fields[0] is field 3 (state): utime..cstime are fields 14..17
    return sum(int(x) for x in fields[11:15 if reaped else 13])


def postgres_children(postmaster):
    kids = []
    for path in os.listdir("/proc"):
        if path.isdigit():
            try:
                with open(f"/proc/{path}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        kids.append(int(path))
            except (OSError, IndexError, ValueError):
                pass
    return kids


class CpuMeter:
    """CPU seconds over an interval: the whole machine's (/proc/stat), and
    this run's own: this process with what it ran (psql, wrk), the runtime,
    and PostgreSQL (the postmaster, its live backends, the ones it reaped).
    The rest is other work on the machine, which makes the figures noise."""

    def __init__(self, runtime_pid, postmaster_pid):
        self.runtime, self.postmaster = runtime_pid, postmaster_pid

    def sample(self):
        with open("/proc/stat") as f:
            # user nice system idle iowait irq softirq steal (guest time is
            # already in user)
            t = [int(x) for x in f.readline().split()[1:9]]
        machine = sum(t) - t[3] - t[4]
        ours = sum(os.times()[:4]) * TICK
        if self.runtime:
            ours += proc_ticks(self.runtime)
        if self.postmaster:
            ours += proc_ticks(self.postmaster)
            ours += sum(proc_ticks(k, reaped=False) for k in postgres_children(self.postmaster))
        return machine, ours, time.monotonic()

    @staticmethod
    def cores(before, after):
        """(ours, other): average cores busy between the two samples."""
        secs = max(after[2] - before[2], 1e-9)
        ours = (after[1] - before[1]) / TICK / secs
        machine = (after[0] - before[0]) / TICK / secs
        return ours, max(machine - ours, 0.0)


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


class Run:
    def __init__(self, args):
        self.args = args
        self.db = Database(args.psql, args.pg_port)
        self.client = Client(args.port)
        self.failures = []

    def failed(self, what):
        self.failures.append(what)
        if len(self.failures) <= 20:
            print(f"FAILED: {what}", file=sys.stderr, flush=True)

    def check_page(self, case, after, status, headers, body):
        """The first response of each page: is it the page the database
        says, with a Link exactly when more follow?"""
        limit = self.args.limit
        url = case.url(after, limit)
        if status != 200:
            return
        want = expected_ids(self.db, case, after, limit)
        more = len(want) > limit
        want = want[:limit]
        try:
            got = [item["id"] for item in json.loads(body)]
        except (ValueError, TypeError, KeyError) as e:
            self.failed(f"{url}: body is not a JSON array of items with ids ({e})")
            return
        if got != want:
            self.failed(f"{url}: ids {got[:3]}…{got[-3:]} ({len(got)}), the database says "
                        f"{want[:3]}…{want[-3:]} ({len(want)})")
        link = headers.get("Link") or headers.get("link")
        if more and not (link and f"after={want[-1]}" in link and 'rel="next"' in link):
            self.failed(f"{url}: more rows follow but Link is {link!r} (want after={want[-1]})")
        if not more and link:
            self.failed(f"{url}: last page but Link is {link!r}")

    def time_url(self, url, n, warmup, check=None):
        times = []
        for i in range(warmup + n):
            status, headers, body, ms = self.client.get(url)
            if status != 200:
                self.failed(f"GET {url}: status {status} {body[:200]!r}")
            if i == 0 and check:
                check(status, headers, body)
            if i >= warmup:
                times.append(ms)
        return {"n": n, "p50_ms": round(statistics.median(times), 3), "p99_ms": round(percentile(times, 99), 3)}

    def measure_cases(self):
        limit = self.args.limit
        cases = make_cases(self.db)
        out = []
        for case in cases:
            plan_pages(self.db, case, limit)
            entry = {"key": case.key, "label": case.label(), "note": case.note, "rows": case.rows, "pages": {}}
            for page, after in case.afters.items():
                url = case.url(after, limit)
                r = self.time_url(url, self.args.requests, self.args.warmup,
                                  check=lambda s, h, b, c=case, a=after: self.check_page(c, a, s, h, b))
                r.update(after=after, url=url)
                entry["pages"][page] = r
            out.append(entry)
            print_case_row(entry, flush=True)
        return out

    def measure_offset(self, cases):
        """The deepest page asked the old way, beside the same page through
        after=: offset makes the database walk every row it skips."""
        n = max(3, min(self.args.requests, self.args.offset_requests))
        out = []
        for c in cases:
            if c["key"] not in ("users", "orders") or "last" not in c["pages"]:
                continue
            last = c["pages"]["last"]
            start = self.args.limit * ((c["rows"] - 1) // self.args.limit)
            url = f"{c['label']}?offset={start}&limit={self.args.limit}"
            r = self.time_url(url, n, 1)
            r.update(url=url, after_p50_ms=last["p50_ms"], after_url=last["url"])
            out.append(r)
        return out

    def measure_wrk(self, sizes):
        out = []
        for path, key in (("/api/users", "users"), ("/api/products", "products"), ("/api/orders", "orders")):
            cmd = ["wrk", "-t", str(self.args.threads), "-c", str(self.args.connections),
                   "-d", f"{self.args.wrk_duration}s", "--latency",
                   "-s", os.path.join(HERE, "wrk", "keyset_deep.lua"), f"http://127.0.0.1:{self.args.port}",
                   "--", f"path={path}", f"max={sizes[key]}", f"limit={self.args.limit}"]
            try:
                text = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                      timeout=self.args.wrk_duration + 60).stdout
            except subprocess.TimeoutExpired:
                self.failed(f"wrk {path}: did not finish")
                continue
            r = parse_wrk(text)
            r["path"] = path
            out.append(r)
            if r["rps"] is None:
                self.failed(f"wrk {path}: no result\n{text}")
            elif r["non_2xx"] or r["socket_errors"]:
                self.failed(f"wrk {path}: {r['non_2xx']} responses not 2xx, {r['socket_errors']} socket errors")
        return out


class SlowPlans:
    """The plans the runtime's statements actually got (prepared, generic
    or custom: what psql's EXPLAIN of the same text may not show), for
    those slower than the median target, from auto_explain (loaded by
    loadtest/scale, off until `start`). Only while the pages are measured:
    under wrk every statement waits its turn and would be logged."""

    ENTRY = re.compile(r"LOG:  duration: ([\d.]+) ms  plan:\n((?:\t.*\n?)*)")

    def __init__(self, db, log_path, threshold_ms):
        self.db, self.log_path, self.threshold_ms = db, log_path, threshold_ms
        self.offset = 0

    def _set(self, value):
        self.db.rows(f"ALTER SYSTEM SET auto_explain.log_min_duration = {value}")
        self.db.rows("SELECT pg_reload_conf()")
        time.sleep(0.5)   # the backends pick up the reload between statements

    def start(self):
        if not self.log_path:
            return
        self.offset = os.path.getsize(self.log_path)
        self._set(f"'{self.threshold_ms:g}ms'")

    def stop(self):
        """Distinct plans, most frequent first: [{count, max_ms, query, plan}]."""
        if not self.log_path:
            return []
        self._set("-1")
        with open(self.log_path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        seen = {}
        for m in self.ENTRY.finditer(text):
            # "Query Text: <the statement, over several lines>", then the
            # plan, whose first line is the top node's, with its cost.
            lines = [line[1:] for line in m.group(2).splitlines()]
            top = next((i for i, l in enumerate(lines) if "  (cost=" in l), len(lines))
            query = " ".join(" ".join(lines[:top]).removeprefix("Query Text:").split())
            plan = "\n".join(l for l in lines[top:] if l.strip())
            # One entry per plan shape: the costs differ from call to call.
            shape = re.sub(r"\(cost=[^)]*\)", "", plan)
            e = seen.setdefault((query, shape), {"count": 0, "max_ms": 0.0, "query": query, "plan": plan})
            e["count"] += 1
            e["max_ms"] = max(e["max_ms"], float(m.group(1)))
        return sorted(seen.values(), key=lambda e: -e["count"])


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    def ms(v):
        m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
        return round(float(m.group(1)) * UNIT[m.group(2)], 3) if m else None
    r = {}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    r["rps"] = float(m.group(1)) if m else None
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % q, text, re.M)
        r[f"p{q}_ms"] = ms(m.group(1)) if m else None
    m = re.search(r"wrk-lua: .*non_2xx=(\d+) socket_errors=(\d+)", text)
    r["non_2xx"], r["socket_errors"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    return r
