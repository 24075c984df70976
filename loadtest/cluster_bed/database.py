"""The database hosts: on each, an etcd member (three in all, the v3 API)
and a Patroni that runs PostgreSQL 15 and holds the leader lock in etcd.

Patroni runs with `synchronous_mode`: a commit is acknowledged only once a
synchronous standby has it, and Patroni promotes only a standby that was
synchronous, so an acknowledged order survives the loss of the primary.
The timings (ttl 8 s, loop_wait 1 s, retry_timeout 3 s) put a failover
after a primary's death at about ttl + loop_wait; Patroni's defaults
(30/10/10) would take up to 40 s.

STALE: Patroni 3.0 reads etcd with serializable (non-quorum) reads. A
member that was cut off serves its stale view for a moment after it is
back, and the bed saw what that does: the old primary, rejoining, read
from its own host's member that it still held the leader key, promoted
itself onto the timeline the new primary had already taken, and the
orders acknowledged meanwhile were lost (later Patroni releases compare
etcd's raft term to skip stale members). So each Patroni is given only
the etcd members of the *other* database hosts, with `use_proxies` (else
Patroni discovers and uses every member): a host that was cut off then
reads from members that stayed in the majority, and its own stale member
is never asked.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request

from hosts import DB_HOSTS, addr, wait_for

PG_BIN = "/usr/lib/postgresql/15/bin"
SCOPE = "shop"
PATRONI_CONF = """\
scope: {scope}
name: {name}
log:
  level: INFO
  dir: {dir}
restapi:
  listen: {ip}:8008
  connect_address: {ip}:8008
etcd3:
  hosts: {etcd_hosts}
  # Only these members, no discovery of the others (see STALE).
  use_proxies: true
bootstrap:
  dcs:
    ttl: 8
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_connections: 200
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        log_line_prefix: '%m [%p] '
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth: trust
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host all all 198.18.0.0/24 trust
    - host replication all 198.18.0.0/24 trust
postgresql:
  listen: {ip},127.0.0.1:5432
  connect_address: {ip}:5432
  data_dir: {dir}/data
  bin_dir: {pg_bin}
  pgpass: {dir}/pgpass
  authentication:
    superuser: {{username: postgres, password: bed}}
    replication: {{username: postgres, password: bed}}
    rewind: {{username: postgres, password: bed}}
  parameters:
    unix_socket_directories: {dir}
"""


class Databases:
    def __init__(self, net, tmp):
        self.net = net
        self.tmp = tmp

    def dir(self, host):
        return os.path.join(self.tmp, host)

    def _spawn(self, host, name, args):
        """A daemon of `host` as the postgres user (PostgreSQL refuses root),
        its output in a file, in a session of its own."""
        log = open(os.path.join(self.dir(host), f"{name}.log"), "ab")
        cmd = self.net.exec_args(host, "runuser", "-u", "postgres", "--",
                                 "nice", "-n", "10", *args)
        subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)

    def start_etcd(self, host):
        ip = addr(host)
        cluster = ",".join(f"{h}=http://{addr(h)}:2380" for h in DB_HOSTS)
        self._spawn(host, "etcd", [
            "etcd", "--name", host, "--data-dir", f"{self.dir(host)}/etcd",
            "--listen-client-urls", f"http://{ip}:2379",
            "--advertise-client-urls", f"http://{ip}:2379",
            "--listen-peer-urls", f"http://{ip}:2380",
            "--initial-advertise-peer-urls", f"http://{ip}:2380",
            "--initial-cluster", cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "shop-bed",
            "--heartbeat-interval", "100", "--election-timeout", "1000",
            # A member cut off does not keep raising its term, so when it is
            # back it follows the leader at once instead of forcing an
            # election (during which it serves stale reads).
            "--pre-vote",
        ])

    def start_patroni(self, host):
        conf = os.path.join(self.dir(host), "patroni.yml")
        self._spawn(host, "patroni-stdout", ["patroni", conf])

    def setup(self):
        for host in DB_HOSTS:
            # Patroni asks only the other hosts' etcd members: see STALE.
            etcd_hosts = ",".join(f"{addr(h)}:2379" for h in DB_HOSTS if h != host)
            d = self.dir(host)
            os.makedirs(d, mode=0o700)
            with open(os.path.join(d, "patroni.yml"), "w") as f:
                f.write(PATRONI_CONF.format(scope=SCOPE, name=host, ip=addr(host),
                                            etcd_hosts=etcd_hosts, dir=d, pg_bin=PG_BIN))
            subprocess.run(["chown", "-R", "postgres:postgres", d], check=True)
        for host in DB_HOSTS:
            self.start_etcd(host)
        wait_for("etcd's three members healthy", lambda: all(
            self.etcd_healthy(h) for h in DB_HOSTS), timeout=60)
        for host in DB_HOSTS:
            self.start_patroni(host)
        wait_for("a primary and two streaming standbys, one synchronous",
                 self.settled, timeout=180, every=1)

    def restart_host(self, host):
        """A killed database host boots again: etcd, then Patroni, which
        rewinds the old primary if needed and rejoins it as a standby."""
        self.start_etcd(host)
        self.start_patroni(host)

    def etcd_healthy(self, host):
        with urllib.request.urlopen(f"http://{addr(host)}:2379/health", timeout=2) as r:
            return json.load(r).get("health") == "true"

    def rest(self, host, path, timeout=2):
        """GET on a Patroni's REST API (the bed's Python runs in the load
        host's namespace), the JSON body whatever the status."""
        try:
            with urllib.request.urlopen(f"http://{addr(host)}:8008{path}", timeout=timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as error:
            try:
                return json.load(error)
            except ValueError:
                return None
        except (OSError, ValueError):
            return None

    def cluster(self):
        """Patroni's view: [{name, role, state, timeline, lag}], from any node."""
        for host in DB_HOSTS:
            c = self.rest(host, "/cluster")
            if c and "members" in c:
                return c["members"]
        return []

    def primary(self):
        for m in self.cluster():
            if m.get("role") == "leader" and m.get("state") == "running":
                return m["name"]
        return None

    def settled(self):
        members = self.cluster()
        roles = sorted(m.get("role") for m in members if m.get("state") in ("running", "streaming"))
        return roles == ["leader", "replica", "sync_standby"]

    def psql(self, host, sql, timeout=20):
        """One statement on `host` from the load host, rows as lists."""
        out = self.net.sh("load", f"{PG_BIN}/psql", "-X", "-At", "-F", "\t", "-v",
                          "ON_ERROR_STOP=1", "-h", addr(host), "-U", "postgres",
                          "-d", "shop", "-c", sql, timeout=timeout)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def create_database(self):
        """CREATE DATABASE on the primary; retried, bounded, should the
        young cluster's leadership move meanwhile (a loaded machine)."""
        def create():
            leader = self.primary()
            if leader is None:
                return False
            out = self.net.sh("load", f"{PG_BIN}/psql", "-X", "-h", addr(leader), "-U",
                              "postgres", "-d", "postgres", "-c", "CREATE DATABASE shop",
                              check=False)
            return out.returncode == 0 or "already exists" in out.stderr
        wait_for("the shop database created on the primary", create, timeout=90, every=1)
        wait_for("a settled cluster", self.settled, timeout=90, every=1)

    def history(self, host):
        """The timelines the node has been through, from Patroni's /history
        (which reads PostgreSQL's timeline history files)."""
        return self.rest(host, "/history") or []
