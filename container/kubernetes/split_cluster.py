"""The split deployment on loopback, for prove_split.py and its steps: a
throwaway PostgreSQL 15, runtime processes (a pod each) with the FUNCTIONS
and POOL_SIZE of their overlays/split group, and HAProxy loaded with the
generated proxy/haproxy.cfg, its server slots filled and emptied through the
runtime API as an endpoints controller would. Everything listens on
127.0.0.1 and stops when asked.

Standard library only.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# The origin every instance allows (loadtest/smoke.js's default ORIGIN).
ORIGIN = "https://smoke.example"


class Failed(Exception):
    pass


def log(message):
    print(message, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers with lower-case names, body) of one request on its own connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def as_postgres(cmd):
    # initdb refuses to run as root.
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


class Postgres:
    def __init__(self, tmp):
        self.dir = tmp / "pg"
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        data = self.dir / "data"
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
                       check=True, stdout=subprocess.DEVNULL)
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts,
                                    "-l", str(self.dir / "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def query(self, sql):
        out = subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-At", "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout.split()


class Instance:
    """One runtime process: a pod of a group."""

    def __init__(self, binary, tmp, db_url, name, extra_env=None):
        self.name, self.port = name, free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": db_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": "1",
            "POOL_SIZE": "5",
            "LOG_LEVEL": "warn",
            # CORS on, as for a browser-facing shop: the preflights are
            # routed too (prove_edges.py); smoke.js checks one with ORIGIN.
            "CORS_ALLOW_ORIGINS": ORIGIN,
            # The proof's throwaway database gets the sample data it asks
            # for by id (user 1, product 1), as the embedded start would.
            "SAMPLE_DATA": "true",
        }
        env.update(extra_env or {})
        self.log_path = tmp / f"{name}.log"
        self.log_file = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([str(binary)], env=env, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-2000:]

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if request(self.port, "GET", "/db-check", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise Failed(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout=20):
        """SIGTERM, as the kubelet sends it; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed(f"{self.name} did not stop within {timeout} s of SIGTERM")
        self.log_file.close()
        return self.proc.returncode


class HAProxy:
    def __init__(self, tmp):
        self.port = free_port()
        self.sock = tmp / "haproxy.sock"
        self.global_cfg = tmp / "global.cfg"
        self.global_cfg.write_text(f"global\n    stats socket {self.sock} mode 600 level admin\n    maxconn 4096\n")
        self.log = open(tmp / "haproxy.log", "wb")
        env = dict(os.environ, SHOP_PROXY_BIND=f"127.0.0.1:{self.port}")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.global_cfg), "-f", str(HERE / "proxy/haproxy.cfg")],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Failed("haproxy did not start: " + (tmp / "haproxy.log").read_text())
            time.sleep(0.05)

    def api(self, command):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.sock))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def status(self, backend, server):
        lines = self.api("show stat").splitlines()
        columns = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(columns, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == server:
                return row
        raise Failed(f"no server {backend}/{server}")

    def add(self, backend, slot, port, timeout=10):
        """Into rotation, once its health check (/db-check) passes."""
        server = f"srv{slot}"
        for command in (f"set server {backend}/{server} addr 127.0.0.1 port {port}",
                        f"set server {backend}/{server} state ready"):
            answer = self.api(command).strip()
            if answer and "changed" not in answer:
                raise Failed(f"haproxy: {command}: {answer}")
        deadline = time.monotonic() + timeout
        while self.status(backend, server)["status"] != "UP":
            if time.monotonic() > deadline:
                raise Failed(f"{backend}/{server} not UP after {timeout} s: {self.status(backend, server)['status']}")
            time.sleep(0.05)

    def remove(self, backend, slot):
        """Out of rotation: no new request; those in flight finish."""
        self.api(f"set server {backend}/srv{slot} state maint")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


def group_env():
    """Each group's environment (FUNCTIONS, POOL_SIZE), read from the
    committed split overlay: the proof runs what would be deployed."""
    groups = json.loads((HERE / "groups.json").read_text())["groups"]
    out = {}
    for group in groups:
        text = (HERE / "overlays/split/groups" / group["name"] / "kustomization.yaml").read_text()
        env = dict(re.findall(r'name: ([A-Z_]+)\n\s+value: "([^"]*)"', text))
        if "FUNCTIONS" not in env:
            raise Failed(f"no FUNCTIONS in overlays/split/groups/{group['name']}")
        out[group["name"]] = env
    return out


class Split:
    """Two instances per group behind HAProxy."""

    def __init__(self, binary, tmp, pg):
        self.binary, self.tmp, self.pg = binary, tmp, pg
        self.env = group_env()
        self.slots = {}  # group -> {slot: Instance}
        self.serial = 0
        self.proxy = None
        self.spawned = []  # every instance, for the clean-up

    def spawn(self, group):
        self.serial += 1
        instance = Instance(self.binary, self.tmp, self.pg.url, f"{group}-{self.serial}", self.env[group])
        self.spawned.append(instance)
        return instance

    def start(self, together=True):
        """All eight at once on the fresh database, as a first rollout
        starts them: one applies sql/ (CREATE INDEX CONCURRENTLY among it)
        while the others poll for the schema lock, which holds no snapshot
        the index build would wait for (an earlier blocking lock deadlocked
        here). --one-first lets the first migrate alone, as a Job would."""
        pending = []
        for group in self.env:
            for slot in (1, 2):
                pending.append((group, slot, self.spawn(group)))
                if not together and len(pending) == 1:
                    pending[0][2].wait_ready()
        for _, _, instance in pending:
            instance.wait_ready()
        self.proxy = HAProxy(self.tmp)
        for group, slot, instance in pending:
            self.proxy.add(group, slot, instance.port)
            self.slots.setdefault(group, {})[slot] = instance

    def next_slot(self, group):
        return max(self.slots[group]) + 1

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        for instance in self.spawned:
            try:
                instance.stop(5)
            except Failed:
                pass
