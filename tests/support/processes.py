"""Starting hub processes (``hub worker``, ``hub run``) for tests over real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    if process.poll() is None:
        os.killpg(process.pid, sig)
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
