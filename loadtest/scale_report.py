"""The output of loadtest/scale: the tables it prints while it measures,
the targets it judges, and `compare`, two sizes' JSON side by side as
Markdown. Python 3 standard library only.
"""

import json
import sys

# The targets, for a request through after= at the default size: they are
# reported, not enforced (a benchmark, not a test).
TARGET_MEDIAN_MS = 5.0
TARGET_P99_MS = 20.0
TARGET_GROWTH = 1.5

PAGES = ("first", "middle", "last")


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
