#!/usr/bin/env python3
"""Tests of the deploy path without a server, Docker or GitHub:

    python3 container/test_remote_deploy.py      (container/lint.sh runs it)

Each test builds a throwaway world in a temporary directory: a bare git
repository as `origin` with a few commits on main (and one on a branch), the
server's checkout cloned from it in a fake $HOME, and stand-ins on PATH for
`docker` / `docker compose` and `curl` (container/testing/fake-docker,
fake-curl: they record every call and keep a little state: images, tags, the
api container, a registry) and for `ssh` (fake-ssh: runs the command here, in
a session of its own, and can drop the connection). The deploy then runs
exactly as the workflow runs it, through container/deploy-over-ssh.sh, or by
hand through remote-deploy.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REMOTE_DEPLOY = HERE / "remote-deploy.sh"
OVER_SSH = HERE / "deploy-over-ssh.sh"
FAKES = HERE / "testing"
DIGEST = "ghcr.io/owner/shop-api@sha256:{}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"},
    ).stdout.strip()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class World:
    """origin, the server's checkout, the fakes, and helpers to deploy."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.state = root / "docker"
        self.bin = root / "bin"
        for directory in (self.home, self.state, self.bin):
            directory.mkdir()
        for fake, name in (("fake-docker", "docker"), ("fake-curl", "curl"), ("fake-ssh", "ssh")):
            (self.bin / name).symlink_to(FAKES / fake)

        origin = root / "origin.git"
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
        work = root / "work"
        git(root, "clone", "--quiet", str(origin), str(work))
        self.sha = {}
        (work / "container/grafana/provisioning").mkdir(parents=True)
        self.commit(work, "A", {"container/prometheus.yml": "a\n", "container/grafana/provisioning/x.yml": "a\n"})
        self.commit(work, "B", {"container/prometheus.yml": "b\n", "container/grafana/dashboards/new.json": "{}\n"})
        self.commit(work, "C", {"container/prometheus.yml": "c\n"})
        git(work, "push", "--quiet", "origin", "main")
        git(work, "checkout", "--quiet", "-b", "feature")
        self.commit(work, "F", {"container/prometheus.yml": "f\n"})
        git(work, "push", "--quiet", "origin", "feature")

        self.checkout = self.home / "shop-api"
        subprocess.run(["bash", "-c", f"umask 022 && git clone --quiet {origin} {self.checkout}"], check=True)
        git(self.checkout, "checkout", "--quiet", "--detach", self.sha["A"])

    def commit(self, work: Path, name: str, files: dict[str, str]) -> None:
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", name)
        self.sha[name] = git(work, "rev-parse", "HEAD")

    def env(self, **settings: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.home),
            "FAKE_DOCKER_STATE": str(self.state),
            "POSTGRES_PASSWORD": "s3cret-password",
            "HEALTH_TIMEOUT_S": "2",
            "RECONNECT_DELAY_S": "0.2",
            **settings,
        }

    def fake(self, **knobs) -> None:
        """Sets knobs of the fake docker (unhealthy, up_seconds, registry)."""
        path = self.state / "state.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        state.update(knobs)
        path.write_text(json.dumps(state))

    def docker_state(self) -> dict:
        return json.loads((self.state / "state.json").read_text())

    def calls(self) -> list[str]:
        path = self.state / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def deploy(self, name: str, umask: str = "022", **settings: str) -> subprocess.CompletedProcess:
        """Deploys commit NAME as the workflow does (deploy-over-ssh.sh)."""
        env = self.env(DEPLOY_SHA=self.sha.get(name, name), **settings)
        return subprocess.run(
            ["bash", "-c", f"umask {umask} && exec bash {OVER_SSH}"],
            env=env, capture_output=True, text=True, timeout=120,
        )

    def running_revision(self) -> str:
        """The revision of the one api container (a deploy leaves no other)."""
        state = self.docker_state()
        containers = list(state["containers"].values())
        self.assert_one(containers)
        return state["images"][containers[0]["image"]]["revision"]

    @staticmethod
    def assert_one(containers: list) -> None:
        if len(containers) != 1:
            raise AssertionError(f"expected one api container, not {len(containers)}")

    def tagged_revision(self, tag: str) -> str | None:
        state = self.docker_state()
        image = state["tags"].get(tag)
        return state["images"][image]["revision"] if image else None

    def head(self) -> str:
        return git(self.checkout, "rev-parse", "HEAD")

    def env_file(self) -> str:
        return (self.checkout / "container/.env").read_text()


class RemoteDeployTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="remote-deploy-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.world = World(self.tmp)

    def assertDeployed(self, result: subprocess.CompletedProcess) -> None:
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_a_deploy_builds_starts_and_records(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("B"))
        self.assertEqual(w.head(), w.sha["B"])
        self.assertEqual(w.running_revision(), w.sha["B"])
        calls = w.calls()
        build = calls.index("compose -f container/docker-compose.yml build --pull api")
        pull = calls.index("compose -f container/docker-compose.yml pull --quiet --ignore-buildable")
        up = calls.index("compose -f container/docker-compose.yml up -d --no-build --wait --wait-timeout 180 --remove-orphans")
        self.assertLess(build, pull)
        self.assertLess(pull, up)
        self.assertIn(f"GIT_REVISION='{w.sha['B']}'", w.env_file())
        history = (w.checkout / ".deploy-history").read_text().split()
        self.assertEqual(history[1:], [w.sha["B"], "built"])
        # The first deploy of a stack found nothing running: no :previous.
        self.assertIsNone(w.tagged_revision("shop-api:previous"))
        # The password travelled on stdin only: in no call, and gone from the
        # run's directory once the deploy read it.
        self.assertNotIn("s3cret-password", "\n".join(calls))
        runs = list((w.home / ".shop-api-deploy/runs").iterdir())
        self.assertEqual(len(runs), 1)
        self.assertFalse((runs[0] / "params").exists())
        self.assertEqual((runs[0] / "status").read_text().strip(), "0")

    def test_the_running_image_becomes_previous_once(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("A"))
        self.assertDeployed(w.deploy("B"))
        self.assertEqual(w.tagged_revision("shop-api:previous"), w.sha["A"])
        # Deploying B again must keep A as the rollback target.
        result = w.deploy("B")
        self.assertDeployed(result)
        self.assertEqual(w.tagged_revision("shop-api:previous"), w.sha["A"])
        self.assertIn("stays the rollback target", result.stdout)

    def test_an_unhealthy_version_is_rolled_back(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("A"))
        self.assertDeployed(w.deploy("B"))
        w.fake(unhealthy=[w.sha["C"]])
        result = w.deploy("C")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("failed and was rolled back", result.stdout)
        self.assertEqual(w.running_revision(), w.sha["B"])
        self.assertEqual(w.head(), w.sha["B"])
        self.assertIn(f"GIT_REVISION='{w.sha['B']}'", w.env_file())
        self.assertIn("image tag shop-api:previous shop-api:latest", w.calls())
        self.assertNotIn(w.sha["C"], (w.checkout / ".deploy-history").read_text())

    def test_a_new_version_takes_the_traffic_only_once_healthy(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("A"))
        old = next(iter(w.docker_state()["containers"]))
        before = len(w.calls())
        self.assertDeployed(w.deploy("B"))
        calls = w.calls()[before:]
        self.assertFalse([c for c in calls if " up " in c and "--no-deps" not in c], "the stack was restarted")
        beside = calls.index("compose -f container/docker-compose.yml up -d --no-build --no-deps --no-recreate --scale api=2 api")
        health = [i for i, c in enumerate(calls) if "{{.State.Health.Status}}" in c]
        # pinned to the old container, moved to the new one, back to the service's name
        pin, switch, unpin = [i for i, c in enumerate(calls) if "proxy.sh switch" in c]
        stop = calls.index(f"stop -t 15 {old}")
        self.assertLess(pin, beside)
        self.assertLess(beside, min(health))
        self.assertLess(max(health), switch)
        # /health and /db-check through the proxy on the new container, then the old one goes.
        self.assertTrue([c for c in calls[switch:stop] if c.startswith("curl ")])
        self.assertLess(switch, stop)
        self.assertLess(stop, unpin)
        self.assertTrue(calls[unpin].endswith("switch api"))
        state = w.docker_state()
        self.assertIsNone(state["upstream"])
        self.assertEqual(w.running_revision(), w.sha["B"])

    def test_an_unhealthy_new_container_never_takes_the_traffic(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("B"))
        old = next(iter(w.docker_state()["containers"]))
        w.fake(unhealthy=[w.sha["C"]])
        before = len(w.calls())
        result = w.deploy("C")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("kept serving throughout", result.stdout)
        calls = w.calls()[before:]
        switches = [c.split()[-1] for c in calls if "proxy.sh switch" in c]
        self.assertEqual(switches[-1], "api", "the proxy is left pinned")
        self.assertEqual(len(switches), 2, "pinned to the old container, then back to the name: never to the new one")
        self.assertFalse([c for c in calls if c.endswith(old) and c.startswith(("stop", "rm"))], "the old container was stopped")
        self.assertEqual(list(w.docker_state()["containers"]), [old])
        self.assertEqual(w.head(), w.sha["B"])

    def test_a_failed_first_deploy_has_nothing_to_roll_back_to(self) -> None:
        w = self.world
        w.fake(unhealthy=[w.sha["B"]])
        result = w.deploy("B")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no previous version to roll back to", result.stdout)

    def test_files_the_checkout_writes_stay_readable(self) -> None:
        w = self.world
        # A session mask of 077 (a hardened server) must not leak into the
        # checkout: Prometheus (nobody) and Grafana (472) read these mounts.
        self.assertDeployed(w.deploy("B", umask="077"))
        self.assertEqual(mode(w.checkout / "container/prometheus.yml"), 0o644)
        self.assertEqual(mode(w.checkout / "container/grafana/dashboards"), 0o755)
        self.assertEqual(mode(w.checkout / "container/grafana/dashboards/new.json"), 0o644)
        # ... while the secrets are the deploy user's only.
        self.assertEqual(mode(w.checkout / "container/.env"), 0o600)
        self.assertEqual(mode(w.home / ".shop-api-deploy"), 0o700)
        run = next((w.home / ".shop-api-deploy/runs").iterdir())
        self.assertEqual(mode(run), 0o700)

    def test_a_dropped_connection_does_not_stop_the_deploy(self) -> None:
        w = self.world
        self.assertDeployed(w.deploy("A"))
        calls_before = len(w.calls())
        # The connection drops in the middle of the 2-second `up`.
        w.fake(up_seconds=2)
        result = w.deploy("B", FAKE_SSH_DROP="up")
        self.assertDeployed(result)
        self.assertIn("SSH connection dropped", result.stdout)
        self.assertIn("deployed " + w.sha["B"][:12], result.stdout)
        self.assertEqual(w.running_revision(), w.sha["B"])
        ups = [c for c in w.calls()[calls_before:] if "--scale api=2" in c]
        self.assertEqual(len(ups), 1, "the deploy ran once, not again on reconnecting")

    def test_a_second_deploy_waits_for_the_lock(self) -> None:
        w = self.world
        w.fake(up_seconds=3)
        env = w.env(DEPLOY_SHA=w.sha["B"])
        first = subprocess.Popen(["bash", str(REMOTE_DEPLOY)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.addCleanup(lambda: first.poll() is None and os.killpg(first.pid, signal.SIGKILL))
        deadline = time.monotonic() + 20
        while not any(" up " in c for c in w.calls()):
            self.assertLess(time.monotonic(), deadline, "the first deploy never reached `up`")
            time.sleep(0.1)
        second = subprocess.run(["bash", str(REMOTE_DEPLOY), "start"], env=env, capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(second.returncode, 1)
        self.assertIn("another deploy is running", second.stderr)
        output, _ = first.communicate(timeout=60)
        self.assertEqual(first.returncode, 0, output)

    def test_an_image_from_the_registry_is_pulled_by_digest(self) -> None:
        w = self.world
        refs = {name: DIGEST.format(str(i) * 64) for i, name in enumerate("ABC", 1)}
        w.fake(registry={refs[n]: w.sha[n] for n in "ABC"}, unhealthy=[w.sha["C"]])
        token = {"REGISTRY_USER": "github-actions", "REGISTRY_TOKEN": "ghs_t0ken"}
        self.assertDeployed(w.deploy("A", DEPLOY_IMAGE=refs["A"], **token))
        self.assertDeployed(w.deploy("B", DEPLOY_IMAGE=refs["B"], **token))
        calls = w.calls()
        self.assertFalse([c for c in calls if " build " in c], "nothing is built on the server")
        self.assertIn(f"pull --quiet {refs['B']} [DOCKER_CONFIG]", calls)
        self.assertIn(f"image tag {refs['B']} shop-api:latest", calls)
        self.assertIn("login --username github-actions --password-stdin ghcr.io [DOCKER_CONFIG]", calls)
        # C fails: the rollback pulls B's digest again (it may have been
        # pruned) and runs it.
        before = len(calls)
        result = w.deploy("C", DEPLOY_IMAGE=refs["C"], **token)
        self.assertEqual(result.returncode, 1, result.stdout)
        rollback = w.calls()[before:]
        self.assertIn(f"pull --quiet {refs['B']} [DOCKER_CONFIG]", rollback)
        self.assertIn(f"image tag {refs['B']} shop-api:latest", rollback)
        self.assertEqual(w.running_revision(), w.sha["B"])
        self.assertNotIn("ghs_t0ken", "\n".join(w.calls()))
        for run in (w.home / ".shop-api-deploy/runs").iterdir():
            self.assertFalse((run / "docker-config").exists(), "the registry login outlived its deploy")

    def test_an_image_of_another_commit_is_refused(self) -> None:
        w = self.world
        ref = DIGEST.format("a" * 64)
        w.fake(registry={ref: w.sha["A"]})
        self.assertDeployed(w.deploy("A", DEPLOY_IMAGE=ref))
        result = w.deploy("B", DEPLOY_IMAGE=ref)
        self.assertEqual(result.returncode, 1)
        self.assertIn("refusing it", result.stdout)
        self.assertEqual(w.running_revision(), w.sha["A"])

    def test_only_commits_of_main_are_deployed(self) -> None:
        w = self.world
        result = w.deploy("F")
        self.assertEqual(result.returncode, 1)
        self.assertIn("is not on origin/main", result.stdout)
        self.assertEqual(w.head(), w.sha["A"])
        self.assertFalse([c for c in w.calls() if " up " in c])

    def test_a_deploy_without_api_keys_says_writes_are_open(self) -> None:
        w = self.world
        result = w.deploy("B")
        self.assertDeployed(result)
        self.assertIn("WARNING: OPEN WRITES", result.stderr)  # at start
        self.assertIn("WARNING: OPEN WRITES", result.stdout)  # in the run's log
        for extra in ("API_KEYS=k1,k2", "API_KEYS_FILE=/home/deploy/secrets/api_keys"):
            result = w.deploy("B", DEPLOY_ENV_EXTRA=f"POOL_SIZE=5\n{extra}\n")
            self.assertDeployed(result)
            self.assertNotIn("OPEN WRITES", result.stdout + result.stderr, extra)
        result = w.deploy("B", DEPLOY_ENV_EXTRA="API_KEYS=''\n")
        self.assertIn("WARNING: OPEN WRITES", result.stderr)

    def test_bad_settings_are_refused_before_anything_starts(self) -> None:
        w = self.world
        for settings, message in (
            ({"DEPLOY_SHA": "main"}, "full 40-character commit sha"),
            ({"POSTGRES_PASSWORD": ""}, "POSTGRES_PASSWORD is empty"),
            ({"DEPLOY_IMAGE": "ghcr.io/owner/shop-api:latest"}, "by digest"),
        ):
            env = w.env(DEPLOY_SHA=w.sha["B"])
            env.update(settings)
            result = subprocess.run(["bash", str(OVER_SSH)], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 1, settings)
            self.assertIn(message, result.stderr)
            self.assertIn("did not start", result.stdout)
        self.assertFalse([c for c in w.calls() if c.startswith("compose -f")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
