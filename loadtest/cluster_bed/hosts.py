"""Hosts of the test bed: one Linux network namespace per host, each with one
address in 198.18.0.0/24 (a range reserved for network tests, RFC 2544),
joined by veth links to a bridge that lives in a namespace of its own, so
that nothing of the bed touches the machine's own network.

Faults act on these hosts the way they happen to real ones: every process
of a host killed at once, a link set down, nftables dropping packets in one
direction only.
"""

import os
import subprocess
import time

# name -> last octet of the host's address
HOSTS = {
    "db1": 11, "db2": 12, "db3": 13,
    "pgb": 20,
    "rt1": 31, "rt2": 32, "rt3": 33,
    "proxy": 40,
    "load": 50,
}
DB_HOSTS = ("db1", "db2", "db3")
RUNTIME_HOSTS = ("rt1", "rt2", "rt3")
SUBNET = "198.18.0"


def addr(host):
    return f"{SUBNET}.{HOSTS[host]}"


def run(*args, check=True, timeout=30, **kwargs):
    """Runs a command, bounded in time; its output comes back as text."""
    return subprocess.run(list(args), check=check, timeout=timeout, text=True,
                          capture_output=True, **kwargs)


class Net:
    """The namespaces of one bed, named after a prefix unique to the run so
    that two beds (or other tests) on one machine never meet."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.switch = f"{prefix}-sw"

    def ns(self, host):
        return f"{self.prefix}-{host}"

    def exec_args(self, host, *args):
        return ["ip", "netns", "exec", self.ns(host), *args]

    def sh(self, host, *args, check=True, timeout=30):
        return run(*self.exec_args(host, *args), check=check, timeout=timeout)

    def up(self):
        run("ip", "netns", "add", self.switch)
        run("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", "br0", "up")
        run("ip", "-n", self.switch, "link", "set", "lo", "up")
        for host in HOSTS:
            ns = self.ns(host)
            run("ip", "netns", "add", ns)
            # eth0 inside the host, v-<host> on the bridge's side.
            run("ip", "link", "add", "eth0", "netns", ns, "type", "veth",
                "peer", "name", f"v-{host}", "netns", self.switch)
            run("ip", "-n", self.switch, "link", "set", f"v-{host}", "master", "br0")
            run("ip", "-n", self.switch, "link", "set", f"v-{host}", "up")
            run("ip", "-n", ns, "addr", "add", f"{addr(host)}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        # Reachability is proven by what comes next: etcd's members must
        # see each other before anything else starts.

    def namespaces(self):
        out = run("ip", "netns", "list", check=False).stdout
        names = [line.split()[0] for line in out.splitlines() if line.strip()]
        return [n for n in names if n.startswith(self.prefix + "-")]

    def pids(self, host):
        out = run("ip", "netns", "pids", self.ns(host), check=False).stdout
        # Never this process: the orchestrator lives in the load host.
        return [int(p) for p in out.split() if p.strip().isdigit() and int(p) != os.getpid()]

    def kill_host(self, host):
        """Every process of the host, SIGKILL, at once: a power cut."""
        for _ in range(10):
            pids = self.pids(host)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    def link(self, host, state):
        """The host's cable: "down" cuts it both ways, "up" mends it."""
        run("ip", "-n", self.switch, "link", "set", f"v-{host}", state)

    def drop(self, host, direction, peers=None):
        """nftables in the host drops what it sends ("out") or receives
        ("in"), to every other host of the bed or only to `peers`."""
        hook = "output" if direction == "out" else "input"
        match = "daddr" if direction == "out" else "saddr"
        targets = [addr(p) for p in peers] if peers else [f"{SUBNET}.0/24"]
        rules = "\n".join(f"    ip {match} {t} drop" for t in targets)
        ruleset = (f"table inet bedfault {{\n  chain c {{\n"
                   f"    type filter hook {hook} priority 0; policy accept;\n"
                   f"{rules}\n  }}\n}}\n")
        subprocess.run(self.exec_args(host, "nft", "-f", "-"), input=ruleset,
                       text=True, check=True, timeout=10)

    def undrop(self, host):
        self.sh(host, "nft", "delete", "table", "inet", "bedfault", check=False)

    def down(self):
        """Kills every process left in the bed's namespaces and deletes them:
        safe to call twice, and after a half-built bed."""
        for ns in self.namespaces():
            host = ns[len(self.prefix) + 1:]
            if host != "sw":
                self.kill_host(host)
        for ns in self.namespaces():
            run("ip", "netns", "del", ns, check=False)


def wait_for(what, test, timeout, every=0.5):
    """Polls `test` until it returns something true, at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = test()
        except Exception:  # noqa: BLE001 - a test that fails is "not yet"
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def enter(net, host):
    """Moves this process into `host`'s namespace (setns through libc, as
    Python 3.11 has no os.setns): the orchestrator then talks to the bed's
    addresses directly, as the load generator's host."""
    import ctypes
    clone_newnet = 0x40000000
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{net.ns(host)}", os.O_RDONLY)
    try:
        if libc.setns(fd, clone_newnet) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
    finally:
        os.close(fd)
