"""The faults, each one scenario: what breaks, for how long, and how it heals.

A scenario's `inject` returns a description of what it hit; `heal` undoes
it. Hosts are picked by their role at the moment (the primary moves from
one scenario to the next).
"""

import signal
import time

from hosts import RUNTIME_HOSTS, wait_for


class Scenario:
    def __init__(self, name, doc, hold, inject, heal, expect):
        self.name, self.doc, self.hold = name, doc, hold
        self.inject, self.heal = inject, heal
        # What the figures must show: {"write_s": max write outage,
        # "read_s": max read outage, "route_s": ...}; None = only reported.
        self.expect = expect


def _role(bed, role):
    for m in bed.db.cluster():
        if m.get("role") == role:
            return m["name"]
    raise RuntimeError(f"no {role} in the cluster")


def runtime_kill(bed):
    bed.svc.signal_runtime("rt2", signal.SIGKILL)
    return "rt2"


def runtime_restart(bed, host):
    bed.svc.start_runtime(host)


def runtime_pause(bed):
    bed.svc.signal_runtime("rt3", signal.SIGSTOP)
    return "rt3"


def runtime_resume(bed, host):
    bed.svc.signal_runtime(host, signal.SIGCONT)


def primary_kill(bed):
    host = _role(bed, "leader")
    bed.net.link(host, "down")  # a dead host answers nothing, not even RST
    bed.net.kill_host(host)
    return host


def db_host_boot(bed, host):
    bed.net.link(host, "up")
    bed.db.restart_host(host)


def link_down(role):
    def inject(bed):
        host = _role(bed, role)
        bed.net.link(host, "down")
        return host
    return inject


def link_up(bed, host):
    bed.net.link(host, "up")


def primary_deaf(bed):
    """The primary hears nothing (every packet to it dropped) while what it
    sends still goes out: a one-way partition."""
    host = _role(bed, "leader")
    bed.net.drop(host, "in")
    return host


def undrop(bed, host):
    bed.net.undrop(host)


def pgb_kill(bed):
    bed.net.kill_host("pgb")
    return "pgb"


def pgb_boot(bed, _host):
    bed.svc.start_pgb_processes()


def slow_link(bed):
    bed.svc.set_delay(100)
    return "pgb->primary +100 ms each way"


def fast_link(bed, _what):
    bed.svc.set_delay(0)


def proxy_kill(bed):
    bed.net.kill_host("proxy")
    return "proxy"


def proxy_boot(bed, _host):
    bed.svc.start_front()


SCENARIOS = [
    Scenario("runtime-kill", "a runtime host's process SIGKILLed, restarted 5 s later",
             5, runtime_kill, runtime_restart, {"route_s": 2.0}),
    Scenario("runtime-pause", "a runtime host's process SIGSTOPped for 10 s",
             10, runtime_pause, runtime_resume, {"route_s": 2.0}),
    Scenario("primary-kill", "the primary's host: every process killed, link down; back after 25 s",
             25, primary_kill, db_host_boot, {"write_s": 15.0, "read_s": 0.0}),
    Scenario("primary-partition", "the primary's link down (both ways) for 25 s",
             25, link_down("leader"), link_up, {"write_s": 15.0, "read_s": 0.0}),
    Scenario("primary-one-way", "nftables on the primary drops all it receives for 25 s",
             25, primary_deaf, undrop, {"write_s": 15.0}),
    Scenario("replica-cut", "the synchronous standby's link down for 15 s",
             15, link_down("sync_standby"), link_up, {"write_s": 15.0}),
    Scenario("pgbouncer-kill", "the PgBouncer host killed, its services back after 5 s",
             5, pgb_kill, pgb_boot, None),
    Scenario("slow-link", "100 ms added each way between PgBouncer and the primary for 20 s",
             20, slow_link, fast_link, {"write_s": 0.0, "read_s": 0.0}),
    Scenario("proxy-restart", "the proxy host killed, HAProxy started again after 2 s",
             2, proxy_kill, proxy_boot, None),
]
SHORT = ("runtime-kill", "primary-kill", "primary-one-way")


def recovered(bed):
    """The bed is whole again: three database members (a leader, a
    synchronous standby, a replica), every runtime answering /db-check."""
    return bed.db.settled() and all(bed.svc.runtime_ready(h) for h in RUNTIME_HOSTS)


def run(bed, scenario, log, say, before=5.0, after=10.0):
    """Steady load for `before` s, the fault for its hold time, the heal,
    `after` s of watching, and the wait for a whole bed; returns the marks."""
    time.sleep(before)
    mark = {"name": scenario.name, "doc": scenario.doc, "expect": scenario.expect}
    mark["start"] = log.now()
    mark["target"] = scenario.inject(bed)
    say(f"{scenario.name}: {scenario.doc} [{mark['target']}]")
    time.sleep(scenario.hold)
    mark["heal"] = log.now()
    scenario.heal(bed, mark["target"])
    time.sleep(after)
    wait_for(f"the bed whole again after {scenario.name}", lambda: recovered(bed), 180, every=1)
    mark["recovered"] = log.now()
    mark["primary_after"] = bed.db.primary()
    say(f"{scenario.name}: healed; whole again {mark['recovered'] - mark['heal']:.1f} s "
        f"after the heal; primary now {mark['primary_after']}")
    return mark
