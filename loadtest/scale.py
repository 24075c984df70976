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
"""

import argparse
import http.client
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))

# The targets (issue 11), for a request through after= at the
# default size: they are reported, not enforced (a benchmark, not a test).
TARGET_MEDIAN_MS = 5.0
TARGET_P99_MS = 20.0
TARGET_GROWTH = 1.5

PAGES = ("first", "middle", "last")


def fail_on_term(*_):
    # SIGTERM (loadtest/scale's clean-up, or its timeout) unwinds like an
    # exception, so a running wrk is killed on the way out.
    raise SystemExit(143)


class Database:
    """psql, for the facts a page is checked against (counts, ids)."""

    def __init__(self, psql, port):
        self.cmd = [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "shop"]
        # Our own counting queries are not the API's: auto_explain leaves
        # them out of the slow-statement log.
        self.env = dict(os.environ, PGOPTIONS="-c auto_explain.log_min_duration=-1")

    def rows(self, sql):
        out = subprocess.run(self.cmd + ["-c", sql], check=True, capture_output=True, text=True,
                             timeout=600, stdin=subprocess.DEVNULL, env=self.env).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


class Case:
    """One list request shape: path and filters, and the same question in
    SQL (`where` over `table`), which says what each page must hold."""

    def __init__(self, key, path, params, table, where, note=""):
        self.key = key          # stable across data sizes (for compare)
        self.path = path
        self.params = params
        self.table = table
        self.where = where
        self.note = note
        self.rows = 0
        self.afters = {}        # page -> after id (None: no after=)

    def label(self):
        # For reading, not for sending: `q=monitor ab` as typed.
        q = "&".join(f"{k}={v}" for k, v in self.params.items())
        return self.path + ("?" + q if q else "")

    def url(self, after, limit):
        params = dict(self.params)
        if after is not None:
            params["after"] = after
        params["limit"] = limit
        return self.path + "?" + urllib.parse.urlencode(params)


def make_cases(db):
    # The busiest user (scale-data.sql skews orders towards user 1) has
    # pages to walk; a user with exactly one order is the case of a
    # filter that finds almost nothing.
    busiest, busiest_n = db.rows("SELECT user_id, count(*) FROM orders GROUP BY user_id "
                                 "ORDER BY count(*) DESC, user_id LIMIT 1")[0]
    single = db.value("SELECT user_id FROM orders GROUP BY user_id HAVING count(*) = 1 "
                      "ORDER BY user_id DESC LIMIT 1")
    status = "shipped"
    cases = [
        Case("users", "/api/users", {}, "users", "true"),
        Case("products", "/api/products", {}, "products", "true"),
        Case("products in_stock", "/api/products", {"in_stock": "true"}, "products", "stock_quantity > 0"),
        Case("products min_price (selective)", "/api/products", {"min_price": "1900"}, "products", "price >= 1900"),
        Case("products max_price", "/api/products", {"max_price": "2"}, "products", "price <= 2"),
    ]
    for q, what in (("monitor", "common word"), ("monitor ab", "word and code"), ("zzzz", "in no name")):
        # The API's meaning of q: the name contains it, case-insensitive,
        # `%` and `_` literal.
        cases.append(Case(f"products q ({what})", "/api/products", {"q": q}, "products",
                          f"strpos(lower(name), lower({sql_text(q)})) > 0"))
    cases += [
        Case("orders", "/api/orders", {}, "orders", "true"),
        Case("orders user_id (busiest)", "/api/orders", {"user_id": busiest}, "orders",
             f"user_id = {int(busiest)}", f"busiest user, {int(busiest_n):,} orders"),
    ]
    if single:
        cases.append(Case("orders user_id (one order)", "/api/orders", {"user_id": single}, "orders",
                          f"user_id = {int(single)}", "a user with one order"))
    cases += [
        Case("orders status", "/api/orders", {"status": status}, "orders", f"status = {sql_text(status)}"),
        Case("orders status and user_id", "/api/orders", {"status": status, "user_id": busiest}, "orders",
             f"status = {sql_text(status)} AND user_id = {int(busiest)}"),
        Case("user's orders (busiest)", f"/api/users/{busiest}/orders", {}, "orders",
             f"user_id = {int(busiest)}", "busiest user"),
    ]
    if single:
        cases.append(Case("user's orders (one order)", f"/api/users/{single}/orders", {}, "orders",
                          f"user_id = {int(single)}", "a user with one order"))
    return cases


def plan_pages(db, case, limit):
    """The pages a client following `Link` would get: the first, the one
    holding the middle row, and the last (which may be short). A list of one
    page has no middle or last page of its own."""
    case.rows = int(db.value(f"SELECT count(*) FROM {case.table} WHERE {case.where}"))
    case.afters = {"first": None}
    if case.rows <= limit:
        return
    for page, start in (("middle", limit * ((case.rows // 2) // limit)),
                        ("last", limit * ((case.rows - 1) // limit))):
        if start == 0:
            continue    # the first page again (fewer than two pages of rows)
        # after = the id of the row just before the page: row `start` (1-based).
        case.afters[page] = int(db.value(f"SELECT id FROM {case.table} WHERE {case.where} "
                                         f"ORDER BY id OFFSET {start - 1} LIMIT 1"))


def expected_ids(db, case, after, limit):
    rows = db.rows(f"SELECT id FROM {case.table} WHERE {case.where} AND id > {after or 0} "
                   f"ORDER BY id LIMIT {limit + 1}")
    return [int(r[0]) for r in rows]


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


# ------------------------------------------------------------------ output

def fmt_ms(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


ROW = "{:<46} {:>10}  {:>7} {:>7}  {:>7} {:>7}  {:>7} {:>7}"


def print_case_header(requests):
    print(f"\nlatency in ms, one request at a time, {requests} requests per page (after warm-up); "
          f"pages through after=, limit 50")
    print("{:<46} {:>10}  {:^15}  {:^15}  {:^15}".format("", "", "first page", "middle page", "last page"))
    print(ROW.format("list", "rows", "p50", "p99", "p50", "p99", "p50", "p99"))


def print_case_row(c, flush=False):
    cells = []
    for page in PAGES:
        r = c["pages"].get(page)
        cells += [fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"])] if r else ["-", "-"]
    print(ROW.format(c["label"][:46], f"{c['rows']:,}", *cells), flush=flush)


def print_offset(offsets):
    if not offsets:
        return
    parts = [f"{o['url']} p50 {fmt_ms(o['p50_ms'])} ms, p99 {fmt_ms(o['p99_ms'])} ms "
             f"(the same page through after=: p50 {fmt_ms(o['after_p50_ms'])} ms)" for o in offsets]
    print("\noffset is the slow way: " + "; ".join(parts))


def print_wrk(runs, args):
    print(f"\nwrk, deep keyset pages (after= random in the last tenth of the ids, limit 50), "
          f"{args.connections} connections, {args.threads} threads, {args.wrk_duration}s each")
    print("{:<16} {:>10} {:>8} {:>8}".format("list", "req/s", "p50 ms", "p99 ms"))
    for r in runs:
        rps = "-" if r["rps"] is None else f"{r['rps']:,.0f}"
        print("{:<16} {:>10} {:>8} {:>8}".format(r["path"], rps, fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"])))


def print_plans(plans, slow_ms, most=5):
    if not plans:
        return
    total = sum(p["count"] for p in plans)
    print(f"\n{total} statements took over {slow_ms:g} ms while the pages were measured "
          f"(warm-ups included); their plans, as auto_explain logged them (most frequent first):")
    for p in plans[:most]:
        print(f"\n  {p['count']}x, up to {p['max_ms']:.1f} ms: {p['query'][:300]}")
        for line in p["plan"].splitlines():
            print("    " + line)
    if len(plans) > most:
        print(f"\n  … and {len(plans) - most} more plans (all in the JSON)")


def target_misses(cases):
    misses = []
    for c in cases:
        for page, r in c["pages"].items():
            if r["p50_ms"] > TARGET_MEDIAN_MS or r["p99_ms"] > TARGET_P99_MS:
                misses.append(f"{r['url']} ({page} page): p50 {fmt_ms(r['p50_ms'])} ms, p99 {fmt_ms(r['p99_ms'])} ms")
    return misses


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
    head = (f"\ntargets (issue 11, for the default size: every page median <= {TARGET_MEDIAN_MS:g} ms, "
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


def best_of(paths):
    """Runs of one size (comma-separated JSON files) as one: each page's
    lowest median and lowest p99. Noise on a shared machine only ever adds
    time, so the lowest of a few runs is the closest to the data's own
    cost."""
    runs = [json.load(open(p)) for p in paths.split(",")]
    sizes = runs[0]["meta"]["sizes"]
    if any(r["meta"]["sizes"] != sizes for r in runs):
        sys.exit(f"{paths}: runs of different sizes")
    cases = {}
    for run in runs:
        for c in run["cases"]:
            best = cases.setdefault(c["key"], {"label": c["label"], "rows": c["rows"], "pages": {}})
            for page, r in c["pages"].items():
                b = best["pages"].setdefault(page, {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]})
                b["p50_ms"], b["p99_ms"] = min(b["p50_ms"], r["p50_ms"]), min(b["p99_ms"], r["p99_ms"])
    return sizes, len(runs), cases


def compare(a_paths, b_paths):
    """Markdown: each case and page of size A beside size B, and B/A."""
    (sa, na, a), (sb, nb, b) = best_of(a_paths), best_of(b_paths)
    runs = lambda n: f" (best of {n} runs)" if n > 1 else ""
    print(f"A: {sa['users']:,} users, {sa['products']:,} products, {sa['orders']:,} orders{runs(na)}; "
          f"B: {sb['users']:,} users, {sb['products']:,} products, {sb['orders']:,} orders{runs(nb)} "
          f"(latency in ms; growth = B median / A median, target <= {TARGET_GROWTH:g})\n")
    print("| list | page | A rows | A p50 | A p99 | B rows | B p50 | B p99 | growth |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = []
    for key, cb in b.items():
        ca = a.get(key)
        for page in PAGES:
            rb = cb["pages"].get(page)
            ra = ca["pages"].get(page) if ca else None
            if not rb and not ra:
                continue
            growth = rb["p50_ms"] / ra["p50_ms"] if ra and rb else None
            if growth is not None and growth > TARGET_GROWTH:
                worst.append(f"{key} {page}: {growth:.2f}x")
            print(f"| `{cb['label']}` | {page} | {ca['rows'] if ca else 0:,} | "
                  f"{fmt_ms(ra['p50_ms']) if ra else '-'} | {fmt_ms(ra['p99_ms']) if ra else '-'} | "
                  f"{cb['rows']:,} | {fmt_ms(rb['p50_ms']) if rb else '-'} | {fmt_ms(rb['p99_ms']) if rb else '-'} | "
                  f"{f'{growth:.2f}×' if growth is not None else '-'} |")
    print()
    print("growth over the target: " + (", ".join(worst) if worst else "none"))


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
