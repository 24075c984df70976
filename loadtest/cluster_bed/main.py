"""loadtest/cluster's orchestrator: builds the bed from nothing, runs the
scenarios under load, checks, reports, and tears everything down (on
success, on failure, and on SIGINT/SIGTERM).

    main.py up                 the bed, until Ctrl-C (for trying things by hand)
    main.py run [--short]      every scenario (or the CI's few), then the checks
    main.py down PREFIX        what a killed run left behind
"""

import argparse
import glob
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from database import Databases  # noqa: E402
from hosts import Net, enter, wait_for  # noqa: E402
from services import Services  # noqa: E402


def say(*args):
    print(f"[{time.strftime('%H:%M:%S')}] cluster:", *args, flush=True)


class Bed:
    """Everything one run made, so that `close` can take all of it down."""

    def __init__(self, prefix, runtime_bin):
        self.net = Net(prefix)
        self.tmp = tempfile.mkdtemp(prefix=f"shop-bed-{prefix}-")
        os.chmod(self.tmp, 0o755)
        self.db = Databases(self.net, self.tmp)
        self.svc = Services(self.net, self.tmp, runtime_bin)

    def up(self):
        t0 = time.monotonic()
        say("hosts: network namespaces", self.net.prefix + "-*", "on 198.18.0.0/24")
        self.net.up()
        enter(self.net, "load")
        say("db1..db3: etcd (3 members) and Patroni with PostgreSQL 15, synchronous_mode")
        self.db.setup()
        self.db.create_database()
        say("primary:", self.db.primary())
        say("pgb: HAProxy on Patroni's /primary and /replica, PgBouncer (transaction mode)")
        self.svc.start_db_access()
        say("rt1..rt3: the runtime;  proxy: HAProxy in front of them")
        self.svc.start_runtimes()
        self.svc.start_front()
        say(f"ready in {time.monotonic() - t0:.0f} s: http://198.18.0.40/ from the load host")

    def close(self, keep_logs_in=None):
        if keep_logs_in:
            copy_logs(self.tmp, keep_logs_in)
        self.svc.stop_all()
        self.net.down()
        shutil.rmtree(self.tmp, ignore_errors=True)


def copy_logs(tmp, dest):
    """The daemons' logs beside the report (for a failed run's post-mortem)."""
    os.makedirs(dest, exist_ok=True)
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            if name.endswith(".log"):
                host = os.path.relpath(root, tmp).split(os.sep)[0]
                try:
                    shutil.copy(os.path.join(root, name), os.path.join(dest, f"{host}-{name}"))
                except OSError:
                    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "run", "down"])
    parser.add_argument("prefix", nargs="?")
    parser.add_argument("--short", action="store_true", help="the CI's few scenarios")
    parser.add_argument("--bin", default=os.environ.get("BIN", "target/debug/runtime"))
    parser.add_argument("--out", default=os.environ.get("OUT", "loadtest/results/cluster"))
    parser.add_argument("--only", help="comma-separated scenario names")
    args = parser.parse_args()

    if args.command == "down":
        Net(args.prefix).down()
        for leftover in glob.glob(os.path.join(tempfile.gettempdir(), f"shop-bed-{args.prefix}-*")):
            shutil.rmtree(leftover, ignore_errors=True)
        return 0
    prefix = args.prefix or f"sb{os.getpid()}"
    bed = Bed(prefix, args.bin)

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    ok = False
    try:
        bed.up()
        if args.command == "up":
            say("Ctrl-C tears it down")
            wait_for("Ctrl-C", lambda: False, timeout=3600, every=5)
            ok = True
        else:
            from scenarios import run_all
            ok = run_all(bed, args, say)
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        # A second Ctrl-C (or timeout's forwarded one) must not cut the
        # tear-down short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("tearing down")
        bed.close(keep_logs_in=None if ok else os.path.join(args.out, "logs"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
