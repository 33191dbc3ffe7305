"""Starting hub processes (``hub worker``, ``hub run``) for tests over real processes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Ports a test chooses before starting the process that will listen on them. Taken below Linux's
# ephemeral range (32768-60999), so no ``bind(port 0)`` or outgoing connection can take one in the
# meantime, and split between pytest-xdist workers, so two workers never choose the same one.
_PORTS_LOW, _PORTS_HIGH = 20000, 32000


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a process about to be started."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    span = (_PORTS_HIGH - _PORTS_LOW) // count
    low = _PORTS_LOW + index * span
    for _ in range(200):
        port = random.randrange(low, low + span)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{low + span}")


def hub_env(config: dict, **extra: str) -> dict:
    """Environment for a subprocess that must see the same database, queue and keys as ``config``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "REDIS_URL", "QUEUE_NAME", "PUBLIC_URL"):
        if config.get(key):
            env[f"HUB_{key}"] = str(config[key])
    env["HUB_INSTANCE_PATH"] = str(config["INSTANCE_PATH"])
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_hub(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, stdout=handle,
                                stderr=subprocess.STDOUT, cwd=str(ROOT), start_new_session=True)


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Stop ``process`` and its process group with ``sig``. A graceful stop (SIGTERM) still running
    after 20 s is killed: on 2 shared, busy cores a supervisor's workers may take that long to finish
    their deliveries, and how long a stop takes is tests/cli/test_serve_signals.py's to judge, not
    every test's that ends a process."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            if sig == signal.SIGKILL:
                raise
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started that are still its children (from /proc), oldest first."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except (FileNotFoundError, ProcessLookupError):
        return []
    return sorted(found, key=lambda child: (_start_time(child), child))


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (exited, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _start_time(pid: int) -> int:
    """When ``pid`` started (clock ticks since boot: /proc/<pid>/stat field 22); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError):
        return 0
