"""The split deployment's rollouts, proved through the generated HAProxy
configuration by prove_split.py (which starts the processes and the proxy):

  rolling    under a steady k6 load (rolling-load.js), every instance is
             replaced in turn as Kubernetes does it (out of rotation, SIGTERM,
             a new one started, in rotation once ready): no failed request,
             and the orders in the database are exactly those the clients
             were told were created;
  cold-start time from spawning a process to its first 200 on
             GET /api/users/1 (a database route), median of several.

Standard library only.
"""

import json
import os
import re
import statistics
import subprocess
import time

from split_cluster import HERE, ROOT, Failed, Instance, log, request


def step_rolling(split, tmp, pg, k6, rate, duration):
    """Every instance replaced under load: no failure, no lost or extra order."""
    port = split.proxy.port
    suffix = f"{os.getpid()}{int(time.time())}"
    status, _, body = request(port, "POST", "/api/users", {"username": f"rolling_{suffix}",
                                                           "email": f"rolling_{suffix}@example.com"})
    if status != 201:
        raise Failed(f"creating the load's user: {status} {body[:200]}")
    user_id = json.loads(body)["id"]
    status, _, body = request(port, "POST", "/api/products", {"name": f"rolling-{suffix}", "price": "1.00",
                                                              "stock_quantity": 1000000000})
    if status != 201:
        raise Failed(f"creating the load's product: {status} {body[:200]}")
    product_id = json.loads(body)["id"]

    report_file = tmp / "rolling-report.json"
    k6_log = open(tmp / "rolling-k6.log", "w")
    env = dict(os.environ, BASE_URL=f"http://127.0.0.1:{port}", USER_ID=str(user_id), PRODUCT_ID=str(product_id),
               RATE=str(rate), DURATION=f"{duration}s", REPORT_FILE=str(report_file))
    load = subprocess.Popen([k6, "run", "-q", "--log-output=stdout", str(HERE / "rolling-load.js")], cwd=ROOT, env=env,
                            stdout=k6_log, stderr=subprocess.STDOUT)
    restarts = []
    try:
        time.sleep(3)
        for group in list(split.slots):
            for old_slot in sorted(split.slots[group]):
                old = split.slots[group][old_slot]
                began = time.perf_counter()
                # Kubernetes: the endpoint leaves the Service, preStop waits,
                # then SIGTERM; the runtime drains what is in flight.
                split.proxy.remove(group, old_slot)
                time.sleep(0.5)
                code = old.stop()
                if code != 0:
                    raise Failed(f"{old.name} exited with {code} after SIGTERM:\n{old.log_tail()}")
                del split.slots[group][old_slot]
                new = split.spawn(group)
                new.wait_ready()
                slot = split.next_slot(group) if split.slots[group] else old_slot + 2
                split.proxy.add(group, slot, new.port)
                split.slots[group][slot] = new
                restarts.append(time.perf_counter() - began)
                if load.poll() is not None:
                    raise Failed("the load ended before every instance was replaced: raise --duration")
        load.wait(timeout=duration + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        k6_log.close()
    output = (tmp / "rolling-k6.log").read_text()
    if not report_file.exists():
        raise Failed(f"k6 wrote no report (exit {load.returncode}):\n{output[-3000:]}")
    report = json.loads(report_file.read_text())
    seen = [int(n) for n in re.findall(r"created order (\d+)", output)]
    in_db = [int(n) for n in pg.query(f"SELECT id FROM orders WHERE user_id = {user_id}")]
    log(f"  {len(restarts)} instances replaced one by one under {rate} req/s "
        f"(each {min(restarts):.2f}-{max(restarts):.2f} s from out of rotation to its successor in rotation)")
    log(f"  k6: {report['requests']} requests, {report['failed_requests']} failed, {report['checks_failed']} "
        f"failed checks, {report['dropped_iterations']} dropped, p99 {report['p99_ms']:.1f} ms, "
        f"max {report['max_ms']:.1f} ms")
    log(f"  orders: {report['orders_created']} answered 201, {len(set(seen))} distinct ids logged, "
        f"{len(in_db)} rows in the database")
    problems = []
    if report["failed_requests"] or report["checks_failed"] or report["dropped_iterations"] or load.returncode:
        problems.append(f"k6 exit {load.returncode}: failed requests or checks or dropped iterations")
    if len(seen) != report["orders_created"] or len(set(seen)) != len(seen):
        problems.append("the logged order ids do not match the 201 count")
    if sorted(in_db) != sorted(seen):
        lost, extra = set(seen) - set(in_db), set(in_db) - set(seen)
        problems.append(f"orders lost: {sorted(lost)[:10]}, orders nobody was told of: {sorted(extra)[:10]}")
    if report["orders_created"] == 0:
        problems.append("no order was created")
    if problems:
        raise Failed("; ".join(problems) + "\n" + output[-2000:])


def step_cold_start(binary, tmp, pg, runs):
    """Spawn to first 200 on a database route, against a database already set up."""
    times = []
    for i in range(runs):
        instance = Instance(binary, tmp, pg.url, f"cold-{i}")
        try:
            deadline = time.monotonic() + 30
            while True:
                if instance.proc.poll() is not None:
                    raise Failed(f"cold start {i}: exited {instance.proc.returncode}:\n{instance.log_tail()}")
                try:
                    if request(instance.port, "GET", "/api/users/1", timeout=2)[0] == 200:
                        times.append((time.perf_counter() - instance.started) * 1000)
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise Failed(f"cold start {i}: no 200 within 30 s")
                time.sleep(0.001)
        finally:
            instance.stop()
    log(f"  spawn to first 200 on GET /api/users/1, {runs} runs: median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f} ms, max {max(times):.1f} ms ({', '.join(f'{t:.1f}' for t in times)})")
    return statistics.median(times)
