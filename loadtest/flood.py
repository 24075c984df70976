"""The measuring half of loadtest/flood: latency of the cheap reads alone,
then while FLOODERS threads send slow searches, then long query strings.

    python3 loadtest/flood.py BASE_URL FLOODERS SECONDS [RESULTS.json [META-JSON]]

RESULTS.json gets {"meta": META, "phases": [...]} (loadtest/results/README.md).

Standard library only; every loop is bounded by time and count.
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

PROBES = ["/api/users/1", "/health"]
SLOW_SEARCH = "/api/products?q=" + "%25" * 200
LONG_QUERY = "/api/products?" + "&".join(str(i) for i in range(12_000))
MAX_REQUESTS = 100_000


def get(conn, path):
    """One GET on a keep-alive connection: (status, seconds)."""
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - started


def connect(base):
    url = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


def flood(base, path, stop, statuses):
    """Sends `path` over and over until `stop` is set."""
    conn = connect(base)
    for _ in range(MAX_REQUESTS):
        if stop.is_set():
            return
        try:
            status, _ = get(conn, path)
            statuses[status] = statuses.get(status, 0) + 1
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = connect(base)


def probe(base, seconds):
    """Latencies of each probe path, one after another, for `seconds`."""
    conn = connect(base)
    times = {path: [] for path in PROBES}
    deadline = time.monotonic() + seconds
    for _ in range(MAX_REQUESTS):
        if time.monotonic() > deadline:
            break
        for path in PROBES:
            status, took = get(conn, path)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            times[path].append(took * 1000)
    return {
        path: {
            "median_ms": round(statistics.median(ms), 2),
            "p99_ms": round(sorted(ms)[int(len(ms) * 0.99) - 1], 2),
            "requests": len(ms),
        }
        for path, ms in times.items()
    }


def phase(base, name, path, flooders, seconds):
    stop, statuses = threading.Event(), {}
    threads = [
        threading.Thread(target=flood, args=(base, path, stop, statuses), daemon=True)
        for _ in range(flooders if path else 0)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1 if threads else 0)
    measured = probe(base, seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return {"phase": name, "probes": measured, "flood_statuses": statuses}


def main():
    base, flooders, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    results = [
        phase(base, "alone", None, flooders, seconds),
        phase(base, f"{flooders} slow searches", SLOW_SEARCH, flooders, seconds),
        phase(base, f"{flooders} long query strings", LONG_QUERY, flooders, seconds),
    ]
    print(f"{'phase':<28} {'path':<14} {'median ms':>10} {'p99 ms':>8}  flood answers")
    for result in results:
        for path, figures in result["probes"].items():
            print(
                f"{result['phase']:<28} {path:<14} {figures['median_ms']:>10} "
                f"{figures['p99_ms']:>8}  {result['flood_statuses'] or ''}"
            )
    if len(sys.argv) > 4 and sys.argv[4]:
        meta = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
        with open(sys.argv[4], "w", encoding="utf-8") as out:
            json.dump({"meta": meta, "phases": results}, out, indent=2)


if __name__ == "__main__":
    main()
