"""The hosts in front of the databases, each started in its own namespace:

- pgb: HAProxy that health-checks every Patroni's REST API (Patroni's own
  recommendation): port 5000 leads to whichever node answers 200 on
  /primary, port 5001 to those that answer 200 on /replica; PgBouncer in
  transaction mode on 6432 in front of port 5000, through a delaying proxy
  (0 ms until the slow-link fault sets it);
- rt1..rt3: the runtime, writes through PgBouncer, reads on port 5001;
- proxy: HAProxy in front of the three runtimes, checking /health twice a
  second, so a dead or frozen runtime leaves the rotation within ~1.5 s.
"""

import os
import shutil
import signal
import subprocess

from hosts import DB_HOSTS, RUNTIME_HOSTS, addr, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_PORT = 8080
PROXY_PORT = 80

DB_HAPROXY = """\
# Patroni's recommended HAProxy set-up: a node is in `primary` while its
# REST API answers 200 on /primary, in `replicas` while it answers 200 on
# /replica. on-marked-down shutdown-sessions cuts the connections to a node
# that lost the role, so no client keeps writing to a demoted primary.
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen primary
    bind {ip}:5000
    bind 127.0.0.1:5000
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
listen replicas
    bind {ip}:5001
    balance roundrobin
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""

FRONT_HAPROXY = """\
# The shop's entry: round robin over the runtimes. A runtime leaves the
# rotation after two failed /health checks 500 ms apart (a killed one at
# once: its connections are refused), and a request that could not even
# connect is sent to another (retry-on conn-failure: never a request that
# reached a runtime, which may have acted on it).
global
    maxconn 4000
defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 10s
    timeout check 400ms
    retries 2
    retry-on conn-failure
    option redispatch 1
    option http-keep-alive
frontend shop
    bind {ip}:{port}
    default_backend runtimes
backend runtimes
    balance roundrobin
    option httpchk GET /health
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""

PGBOUNCER_INI = """\
[databases]
shop = host=127.0.0.1 port=5400 dbname=shop
[pgbouncer]
listen_addr = {ip}
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
server_login_retry = 1
server_connect_timeout = 2
query_wait_timeout = 10
pidfile = {dir}/pgbouncer.pid
"""


class Services:
    def __init__(self, net, tmp, runtime_bin):
        self.net = net
        self.tmp = tmp
        # A copy in the bed's directory: the user it runs as (nobody) may not
        # be able to reach the build's folder (a clone under /root).
        self.runtime_bin = os.path.join(tmp, "runtime")
        shutil.copy(runtime_bin, self.runtime_bin)
        os.chmod(self.runtime_bin, 0o755)
        self.procs = {}

    def _dir(self, host):
        d = os.path.join(self.tmp, host)
        os.makedirs(d, exist_ok=True)
        return d

    def _spawn(self, host, name, args, env=None, user=None):
        log = open(os.path.join(self._dir(host), f"{name}.log"), "ab")
        prefix = ["runuser", "-u", user, "--"] if user else []
        cmd = self.net.exec_args(host, *prefix, "nice", "-n", "10", *args)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.procs[(host, name)] = proc
        return proc

    def start_db_access(self):
        """HAProxy, the delaying proxy and PgBouncer on the pgb host."""
        d = self._dir("pgb")
        servers = "\n".join(f"    server {h} {addr(h)}:5432 check port 8008" for h in DB_HOSTS)
        with open(f"{d}/haproxy.cfg", "w") as f:
            f.write(DB_HAPROXY.format(ip=addr("pgb"), servers=servers))
        self.set_delay(0)
        with open(f"{d}/pgbouncer.ini", "w") as f:
            f.write(PGBOUNCER_INI.format(ip=addr("pgb"), dir=d))
        with open(f"{d}/users.txt", "w") as f:
            f.write('"postgres" ""\n')
        subprocess.run(["chown", "-R", "postgres:postgres", d], check=True)
        self.start_pgb_processes()

    def start_pgb_processes(self):
        d = self._dir("pgb")
        self._spawn("pgb", "haproxy", ["haproxy", "-f", f"{d}/haproxy.cfg"])
        self._spawn("pgb", "delay", ["python3", f"{HERE}/delayproxy.py", "127.0.0.1:5400",
                                     "127.0.0.1:5000", f"{d}/delay_ms"])
        self._spawn("pgb", "pgbouncer-stdout", ["pgbouncer", f"{d}/pgbouncer.ini"], user="postgres")
        wait_for("PgBouncer", lambda: self._port_open("pgb", 6432), timeout=20)

    def set_delay(self, ms):
        """Latency the delaying proxy adds each way between PgBouncer and
        the primary (read from this file on every chunk)."""
        path = os.path.join(self._dir("pgb"), "delay_ms")
        with open(path + ".new", "w") as f:
            f.write(str(ms))
        os.replace(path + ".new", path)

    def runtime_env(self, host):
        pgb = addr("pgb")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        env.update({
            "HOST": addr(host), "PORT": str(RUNTIME_PORT), "WORKERS": "1",
            "DATABASE_URL": f"postgres://postgres@{pgb}:6432/shop",
            "DB_STATEMENTS": "unnamed",
            "DATABASE_SCHEMA_URL": f"postgres://postgres@{pgb}:5000/shop",
            "DATABASE_READ_URL": f"postgres://postgres@{pgb}:5001/shop",
            "POOL_SIZE": "16", "POOL_TIMEOUT_MS": "2000", "REQUEST_TIMEOUT_MS": "4000",
            "LOG_LEVEL": "warn", "OTEL_SDK_DISABLED": "true",
            "SHUTDOWN_GRACE_MS": "2000",
        })
        return env

    def start_runtime(self, host):
        # As nobody: the runtime needs no privilege.
        self._spawn(host, "runtime", [self.runtime_bin], env=self.runtime_env(host), user="nobody")

    def runtime_ready(self, host):
        return self._http_ok(host, RUNTIME_PORT, "/db-check")

    def start_runtimes(self):
        # One first: it applies sql/ while the others would wait for its lock.
        self.start_runtime(RUNTIME_HOSTS[0])
        wait_for("the first runtime ready", lambda: self.runtime_ready(RUNTIME_HOSTS[0]), 120)
        for host in RUNTIME_HOSTS[1:]:
            self.start_runtime(host)
        for host in RUNTIME_HOSTS[1:]:
            wait_for(f"{host} ready", lambda h=host: self.runtime_ready(h), 120)

    def signal_runtime(self, host, sig):
        """`sig` to the runtime process itself (not runuser around it)."""
        for pid in self.net.pids(host):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "runtime":
                        os.kill(pid, sig)
            except (FileNotFoundError, ProcessLookupError):
                pass

    def start_front(self):
        d = self._dir("proxy")
        servers = "\n".join(f"    server {h} {addr(h)}:{RUNTIME_PORT} check" for h in RUNTIME_HOSTS)
        with open(f"{d}/haproxy.cfg", "w") as f:
            f.write(FRONT_HAPROXY.format(ip=addr("proxy"), port=PROXY_PORT, servers=servers))
        self._spawn("proxy", "haproxy", ["haproxy", "-f", f"{d}/haproxy.cfg"])
        wait_for("the proxy", lambda: self._http_ok("proxy", PROXY_PORT, "/db-check"), 20)

    def _port_open(self, host, port):
        import socket
        with socket.create_connection((addr(host), port), timeout=1):
            return True

    def _http_ok(self, host, port, path):
        import urllib.request
        with urllib.request.urlopen(f"http://{addr(host)}:{port}{path}", timeout=2) as r:
            return r.status == 200

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
