"""The whole product as separate processes over real HTTP on loopback: every plugin's sandbox,
the hub (embedded: ``hub run``; production shape: gunicorn with 2 workers plus 2 ``hub worker``
processes on Redis), connected through the same ``connect_sandbox`` hooks ``hub demo`` uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from hub.demo import connect_workspace, sandbox_specs
from hub.runtime import get_runtime
from tests.support.processes import ROOT, free_port, hub_env, kill, start_hub, wait_for

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FAST_ENGINE = {
    "HUB_SWEEP_INTERVAL_SECONDS": "0.3",
    "HUB_RETRY_BASE_SECONDS": "0.2",
    "HUB_RETRY_MAX_SECONDS": "2",
    "HUB_RECONCILE_INTERVAL_SECONDS": "2",
    "HUB_LEASE_SECONDS": "20",
    "HUB_DELIVERY_MAX_ATTEMPTS": "30",
}



def start_sandbox(module: str, log_path: Path, extra_args: list[str]) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0", *extra_args],
                                   stdout=subprocess.PIPE, stderr=log, cwd=str(ROOT), env=env,
                                   start_new_session=True)
    line = process.stdout.readline().decode().strip()
    if "_SANDBOX_URL=" not in line:
        kill(process)
        raise AssertionError(f"sandbox {module} did not start: {line!r} (see {log_path})")
    return process, line.split("=", 1)[1]


@dataclass
class Stack:
    app: object
    hub_url: str
    sandbox_urls: dict[str, str]
    processes: list = field(default_factory=list)
    logs: Path | None = None
    env: dict = field(default_factory=dict)

    def url(self, plugin: str) -> str:
        return self.sandbox_urls[plugin]

    def stop(self) -> None:
        for process in reversed(self.processes):
            kill(process)

    def diagnosis(self, lines: int = 40) -> str:
        """What a failed story needs to be understood after its processes are gone: each
        delivery's state, and the end of every process's log."""
        import sqlalchemy as sa

        from hub.extensions import db
        from hub.store.models import Delivery, Event

        parts = []
        with self.app.app_context():
            rows = db.session.execute(sa.select(Event.type, Delivery.plugin, Delivery.hook, Delivery.status,
                                                Delivery.attempts, Delivery.last_error)
                                      .join(Event, Event.id == Delivery.event_id).order_by(Delivery.id)).all()
            db.session.rollback()
        parts.append("deliveries:\n" + "\n".join(f"  {tuple(row)}" for row in rows))
        for path in sorted(self.logs.glob("*.log")) if self.logs else ():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)


def start_stack(make_app, tmp_path: Path, topology: str = "embedded", overrides: dict | None = None,
                env_overrides: dict | None = None) -> Stack:
    """``topology``: "embedded" (`hub run`), "production" (gunicorn + 2 `hub worker`, Redis) or
    "split" (`hub run --no-worker`; the caller starts workers with ``stack.env``)."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    port = free_port()
    config = {"QUEUE_IMMEDIATE": False, "PUBLIC_URL": f"http://127.0.0.1:{port}",
              "QUEUE_NAME": f"hub-e2e-{uuid.uuid4().hex[:8]}", **(overrides or {})}
    if topology == "production":
        config["REDIS_URL"] = REDIS_URL
    app = make_app(config)
    runtime = get_runtime(app)
    stack = Stack(app=app, hub_url=config["PUBLIC_URL"], sandbox_urls={}, logs=logs)
    try:
        for name, spec in sandbox_specs(runtime.registry).items():
            process, url = start_sandbox(spec.module, logs / f"{name}-sandbox.log", ["--retry-delays", "0.3,0.6,1,2,3"])
            stack.processes.append(process)
            stack.sandbox_urls[name] = url
        env = hub_env(app.config, **{**FAST_ENGINE, **(env_overrides or {})})
        stack.env = env
        if topology == "split":  # web only; the test runs (and kills) the workers itself
            stack.processes.append(start_hub(["run", "--port", str(port), "--no-worker"], env, logs / "hub.log"))
        elif topology == "production":
            env["HUB_ENV"] = "production"
            env["HUB_SESSION_COOKIE_SECURE"] = "false"
            metrics_dir = tmp_path / "metrics"  # /metrics sums every process's figures (docs/operations.md)
            metrics_dir.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            with open(logs / "gunicorn.log", "ab") as log:
                stack.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{port}",
                     "wsgi:app"],
                    env=env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            for index in range(2):
                stack.processes.append(start_hub(["worker", "--workers", "4"], env, logs / f"worker{index}.log"))
        else:
            stack.processes.append(start_hub(["run", "--port", str(port), "--workers", "4"], env, logs / "hub.log"))
        wait_for(lambda: _ready(stack.hub_url), 60, message="the hub to answer /readyz")
        with app.app_context():
            connect_workspace(runtime, 1, stack.sandbox_urls, actor="e2e")
    except BaseException:
        stack.stop()
        raise
    return stack


def all_settled(app) -> bool:
    """True when no delivery is pending, running or waiting for a retry."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.store.models import D_OPEN, Delivery

    with app.app_context():
        open_count = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status.in_(D_OPEN)))
        db.session.rollback()
    return open_count == 0


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def eventually(check, timeout: float = 60.0, message: str = "condition"):
    """Poll ``check`` (which may raise AssertionError) until it passes."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value is not False and value is not None:
                return value
        except (AssertionError, requests.RequestException) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}: {last}")
