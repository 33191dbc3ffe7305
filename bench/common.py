"""Helpers shared by the benchmark scripts in ``bench/``.

Every script builds a throw-away world (a fresh PostgreSQL database ``bench_<random>`` or a SQLite
file with ``--embedded``, a unique Huey queue name, its own sandboxes, hub processes) inside a
``Workspace`` and tears all of it down on exit, also on Ctrl-C or SIGTERM. Benchmarks print
figures; they never assert timings. Their last lines are ``RESULT name=value`` for the docs.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/x.py`` puts bench/ first; the hub lives at the root
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

DEFAULT_PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEFAULT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


# --------------------------------------------------------------------------- command line


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option (except ``None``: such an option's help says what applies);
    the script's docstring kept as written."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark shares (``description``: the docstring)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=_HelpFormatter)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server (any database on it); a fresh bench_<random> database is "
                             "created there and dropped at the end (env BENCH_PG_URL)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help="Redis server; the benchmark uses a database index of it that holds no keys "
                             "(append /N to force one), so its rate-limit buckets are its own "
                             "(env BENCH_REDIS_URL)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (process logs) instead of deleting it")
    return parser


# --------------------------------------------------------------------------- output


def result_block(name: str, values: dict[str, Any]) -> None:
    """Print the final block the docs quote: one ``RESULT key=value`` line per figure."""
    print(f"\n== {name}: results ==")
    for key, value in values.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
        print(f"RESULT {key}={value}")
    sys.stdout.flush()


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(p / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_processes(processes: list[subprocess.Popen], grace: float = 10.0) -> None:
    """SIGTERM every process's group at once, then SIGKILL those still running after ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(p) for p in handle.read().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU time (user + system, seconds) each of ``pids`` has used so far, from /proc; processes
    that are gone are left out."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``cpu_seconds`` snapshots (a process started in between
    counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def vm_hwm_kib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of ``pid`` in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class PeakRssSampler:
    """Samples VmHWM of a process and its children in the background; keeps the max per pid."""

    def __init__(self, root_pid: int, interval: float = 0.5):
        self.root_pid = root_pid
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def start(self) -> "PeakRssSampler":
        self._thread.start()
        return self

    def sample(self) -> None:
        for pid in [self.root_pid, *child_pids(self.root_pid)]:
            hwm = vm_hwm_kib(pid)
            if hwm is not None:
                self.peaks[pid] = max(hwm, self.peaks.get(pid, 0))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> dict[int, int]:
        self.sample()
        self._stop.set()
        self._thread.join(timeout=5)
        return dict(self.peaks)


def parallel_map(function: Callable[[Any], Any], items: Iterable[Any], threads: int) -> list[Any]:
    """``[function(item) for item in items]`` on ``threads`` threads, in order; on an error or
    Ctrl-C the work not yet started is cancelled (instead of run to the end)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(threads)
    try:
        results = list(pool.map(function, items))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


# --------------------------------------------------------------------------- HTTP


def wait_until(predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {message}")


def answers_200(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def api(url: str, method: str = "GET", session: requests.Session | None = None, **kwargs) -> Any:
    """A JSON call to a sandbox's control API; raises on an HTTP error."""
    answer = (session or requests).request(method, url, timeout=30, **kwargs)
    answer.raise_for_status()
    return answer.json()


# --------------------------------------------------------------------------- the world of one run


@dataclass
class Workspace:
    """Everything one benchmark run creates, removed by ``close()`` in reverse order."""

    path: Path
    keep: bool = False
    processes: list[subprocess.Popen] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        folder = self.path / "logs"
        folder.mkdir(exist_ok=True)
        return folder

    def on_close(self, closer: Callable[[], None]) -> None:
        self.closers.append(closer)

    def start(self, args: list[str], env: dict, log_name: str) -> subprocess.Popen:
        """Start a process in its own session (so its whole group can be stopped), logging to a file."""
        with open(self.logs / log_name, "ab") as log:
            process = subprocess.Popen(args, env=env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def start_sandbox(self, module: str, extra_args: Iterable[str] = ()) -> str:
        """Start ``python -m <module> --port 0``; returns the URL it prints (``..._SANDBOX_URL=...``)."""
        name = module.split(".")[-2] if module.endswith(".sandbox") else module
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(self.logs / f"{name}-sandbox.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0",
                                        *extra_args], stdout=subprocess.PIPE, stderr=log, cwd=str(ROOT),
                                       env=env, start_new_session=True)
        self.processes.append(process)
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().decode().strip() if ready else ""
        if "_SANDBOX_URL=" not in line:
            raise RuntimeError(f"{module} did not start: {line!r} (see {self.logs})")
        return line.split("=", 1)[1]

    def stop_processes(self, processes: list[subprocess.Popen] | None = None, grace: float = 10.0) -> None:
        """Stop ``processes`` (default: every process still running), newest first."""
        chosen = list(self.processes if processes is None else processes)
        self.processes = [p for p in self.processes if p not in chosen]
        stop_processes(chosen[::-1], grace)

    def close(self) -> None:
        self.stop_processes()
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception as exc:  # cleanup goes on; say what could not be undone
                print(f"cleanup: {exc}", file=sys.stderr)
        if self.keep:
            print(f"kept the working directory {self.path}", file=sys.stderr)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def _raise_system_exit(signum, _frame):
    raise SystemExit(128 + signum)


@contextmanager
def workspace(keep: bool = False):
    """A ``Workspace`` in a fresh temporary directory; SIGTERM/SIGHUP also run the cleanup."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_system_exit)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    space = Workspace(Path(tempfile.mkdtemp(prefix="hub-bench-")), keep=keep)
    try:
        yield space
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        raise SystemExit(130)
    finally:
        # a second Ctrl-C must not leave processes or the database behind
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            space.close()
        finally:
            signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------- databases and Redis


def create_database(space: Workspace, pg_url: str, prefix: str = "bench") -> str:
    """Create ``<prefix>_<random>`` on the server of ``pg_url``; dropped when ``space`` closes."""
    url = sa.engine.make_url(pg_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()

    space.on_close(drop)
    return url.set(database=name).render_as_string(hide_password=False)


def database_url(space: Workspace, args: argparse.Namespace, embedded: bool) -> str:
    """A fresh PostgreSQL database, or a SQLite file in the workspace when ``embedded``."""
    if embedded:
        return "sqlite:///" + str(space.path / "hub.db")
    return create_database(space, args.pg_url)


def redis_url(space: Workspace, base_url: str, queue_name: str) -> str:
    """A Redis URL on a database index holding no keys (the hub's rate-limit keys are not
    namespaced per hub, so sharing an index with another hub would share its vendor buckets).
    The queue's keys are deleted at the end; the buckets expire by themselves."""
    import redis

    parsed = base_url.rstrip("/")
    tail = parsed.rsplit("/", 1)[-1]
    if tail.isdigit():
        chosen = parsed
    else:
        indexes = list(range(1, 16))
        random.shuffle(indexes)
        chosen = None
        for index in indexes:
            if redis.Redis.from_url(f"{parsed}/{index}").dbsize() == 0:
                chosen = f"{parsed}/{index}"
                break
        chosen = chosen or f"{parsed}/0"
    client = redis.Redis.from_url(chosen)

    huey_name = re.sub("[^A-Za-z0-9_]", "", queue_name)  # how Huey names its Redis keys

    def clean() -> None:
        keys = list(client.scan_iter(match=f"huey*{huey_name}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()

    space.on_close(clean)
    return chosen


def huey_queue_length(url: str | None, queue_name: str) -> int | None:
    """Tasks waiting in the hub's Huey queue on Redis (None without Redis)."""
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.llen("huey.redis." + re.sub("[^A-Za-z0-9_]", "", queue_name)))
    finally:
        client.close()


# --------------------------------------------------------------------------- hub apps and processes


def hub_config(space: Workspace, db_url: str, plugins: str, **overrides: Any) -> dict[str, Any]:
    """The configuration shared by the in-process setup app and the hub processes."""
    config = {
        "INSTANCE_PATH": str(space.path / "instance"),
        "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": db_url,
        "QUEUE_NAME": f"hub-bench-{uuid.uuid4().hex[:10]}",
        "PLUGINS": plugins,
        "QUEUE_IMMEDIATE": False,
        "PUBLIC_URL": "http://127.0.0.1:9",
    }
    config.update(overrides)
    return config


def setup_app(space: Workspace, config: dict[str, Any], plugins: list[tuple[str, Any]] = (),
              entry_points: bool = True):
    """The in-process hub app that prepares the data (migrated database, workspace 1)."""
    from hub.testing import make_test_app

    app = make_test_app(space.path, dict(config), plugins=list(plugins), entry_points=entry_points,
                        database_url=config["DATABASE_URL"])

    def dispose() -> None:
        from hub.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    space.on_close(dispose)
    return app


def hub_env(config: dict[str, Any], production: bool, **extra: str) -> dict[str, str]:
    """Environment for hub processes that see the same database, queue, keys and plugins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "QUEUE_NAME", "PUBLIC_URL",
                "PLUGINS", "INSTANCE_PATH"):
        if config.get(key):
            env[f"HUB_{key}"] = str(config[key])
    if production:
        env["HUB_ENV"] = "production"
        env["HUB_SESSION_COOKIE_SECURE"] = "false"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_gunicorn(space: Workspace, env: dict, port: int, workers: int, threads: int | None = None,
                   app: str = "wsgi:app") -> subprocess.Popen:
    """``python -m gunicorn -c gunicorn.conf.py -w N [--threads T] -b 127.0.0.1:PORT wsgi:app``
    (the repository's production settings: threaded workers; ``app``: another WSGI app);
    returns once every worker answers."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(workers),
               *(["--threads", str(threads)] if threads else []), "-b", f"127.0.0.1:{port}", app]
    process = space.start(command, env, "gunicorn.log")
    wait_until(lambda: process.poll() is None and len(child_pids(process.pid)) >= workers, 60,
               "gunicorn's workers to start")
    wait_until(lambda: answers_200(f"http://127.0.0.1:{port}/healthz"), 60, "gunicorn to answer /healthz")
    return process


def start_hub(space: Workspace, args: list[str], env: dict, log_name: str) -> subprocess.Popen:
    """``python -m hub <args>`` (``worker``, ``run``...)."""
    return space.start([sys.executable, "-m", "hub", *args], env, log_name)


def count_rows(app, model, *where) -> int:
    """``SELECT count(*)`` of ``model`` through the setup app."""
    from hub.extensions import db

    with app.app_context():
        value = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.rollback()
        return int(value or 0)

