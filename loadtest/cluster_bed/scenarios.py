"""A run: the data, the steady load, each scenario in turn under it, the
resolution of unknown orders, the checks and the report. Passes when every
check passes and every fault met its target.
"""

import json
import os
import time

import checker
import cost
import faults
import report
from hosts import addr
from load import Client, Load, setup_data
from services import PROXY_PORT


def run_all(bed, args, say):
    chosen = [s for s in faults.SCENARIOS
              if (not args.short or s.name in faults.SHORT)
              and (not args.only or s.name in args.only.split(","))]
    if not chosen:
        say("no scenario chosen")
        return False
    run_id = str(int(time.time()) % 100000)
    host = addr("proxy")
    products, users = setup_data(Client(host, PROXY_PORT, _Null()), run_id,
                                 n_products=10, n_users=12, stock=3000)
    say(f"data: {len(products)} products, {len(users)} users; load starts "
        f"({len(chosen)} scenarios: {', '.join(s.name for s in chosen)})")
    load = Load(host, PROXY_PORT, products, users)
    load.start()
    marks = []
    try:
        for scenario in chosen:
            marks.append(faults.run(bed, scenario, load.log, say))
        time.sleep(5)
    finally:
        say("load stops; unknown orders are retried with their keys")
        load.finish()
    checks = checker.check_all(bed, load, products)
    wins = report.windows(load.log.rows, marks)
    price = None
    if not args.short:
        say("the cost of synchronous commit per order (pgbench on the primary)")
        price = cost.measure(bed, bed.tmp)
    os.makedirs(args.out, exist_ok=True)
    load.log.dump(os.path.join(args.out, "requests.jsonl"))
    with open(os.path.join(args.out, "orders.json"), "w") as f:
        json.dump({k: [v[1], v[2]] for k, v in load.orders.items()}, f)
    png = report.write_all(args.out, load.log.rows, marks, checks, wins, price)
    report.print_all(say, wins, checks, len(load.log.rows), price)
    say(f"written to {args.out}/: requests.jsonl, per-second.csv, summary.json"
        + (", faults.png" if png else " (no matplotlib: no plot)"))
    met = all(w["verdict"] in ("ok", "reported") for w in wins)
    # The short form is CI's: it gates on what must never happen (an order
    # lost, duplicated or oversold, a lost update, a split brain). How long
    # a fault costs is a figure for the full run on a quiet machine; on a
    # loaded CI machine it is printed, and does not fail the run.
    if args.short and not met:
        say("timing targets missed (printed above; they gate the full run, not --short)")
    passed = checks.ok and (met or args.short)
    say("RESULT:", "pass" if passed else "FAIL")
    return passed


class _Null:
    """The set-up's requests are not part of the measured log."""

    def now(self):
        return 0.0

    def add(self, **_row):
        pass
