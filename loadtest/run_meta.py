"""What a results file says about its run, as the load-test tools record
it: when, the tree's and the binary's revision, the machine, and the
settings given. Prints one JSON object (Python 3 standard library only):

  python3 loadtest/run_meta.py BINARY BINARY-REVISION [KEY=VALUE ...]

Numbers among the values are written as numbers. The schema of the results
files is in loadtest/results/README.md.
"""

import datetime
import json
import os
import platform
import subprocess
import sys


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release()}


def git_rev(root):
    """The tree's short revision, +dirty with uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        rev = git("rev-parse", "--short", "HEAD") or "unknown"
        return rev + ("+dirty" if git("status", "--porcelain") else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def value(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def main():
    binary, binary_rev = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(json.dumps({
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        "git_rev": git_rev(root),
        "binary": binary,
        "binary_revision": binary_rev,
        "machine": machine(),
        "settings": {k: value(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])},
    }))


if __name__ == "__main__":
    main()
