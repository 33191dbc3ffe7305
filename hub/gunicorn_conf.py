"""gunicorn's settings for the hub's web processes, installed with the package:
``gunicorn -c python:hub.gunicorn_conf hub.wsgi:app`` from any directory. The repository root's
``gunicorn.conf.py`` imports them, so ``gunicorn -c gunicorn.conf.py wsgi:app`` there is the same
(gunicorn also reads that file by itself when started in the repository root).

Threaded workers (``gthread``): a webhook spends most of its time in the commit it shares with the
webhooks of other threads of its process (``hub.engine.group_commit``), so several threads per
process let those commits hold several webhooks each. Any setting can be overridden
on the command line (``-w 8``) or in ``GUNICORN_CMD_ARGS``.
"""

import math
import os


def cpus_available(proc_cgroup: str = "/proc/self/cgroup", cgroup_root: str = "/sys/fs/cgroup") -> int:
    """The CPUs this process may use: those of its CPU affinity (``taskset``, a cpuset), fewer when
    its cgroup's CPU quota (a container's CPU limit, systemd's ``CPUQuota=``) allows fewer, rounded
    up. ``multiprocessing.cpu_count()`` counts the machine's: a pod limited to 2 CPUs on a 64-core
    node started 64 processes, each with its threads' database connections."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(proc_cgroup, cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


def cgroup_cpu_quota(proc_cgroup: str = "/proc/self/cgroup", cgroup_root: str = "/sys/fs/cgroup") -> float | None:
    """The CPU quota, in CPUs, of this process's cgroup and the cgroups above it (the least), or None
    when none sets one (or it cannot be read). cgroup v2: ``cpu.max`` ("150000 100000": 1.5 CPUs;
    "max 100000": none); v1: ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none). A container
    sees its own cgroup at the root of ``cgroup_root``, which is read too."""
    try:
        with open(proc_cgroup) as lines:
            entries = [line.rstrip("\n").split(":", 2) for line in lines if line.count(":") >= 2]
    except OSError:
        return None
    quotas = []
    for _, controllers, path in entries:
        if controllers == "":  # v2: one hierarchy, mounted at cgroup_root
            base, read = cgroup_root, _v2_quota
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own hierarchy
            base = os.path.join(cgroup_root, controllers)
            if not os.path.isdir(base):
                base = os.path.join(cgroup_root, "cpu")
            read = _v1_quota
        else:
            continue
        parts = [part for part in path.split("/") if part]
        for depth in range(len(parts), -1, -1):  # the process's cgroup, then each one above it
            quota = read(os.path.join(base, *parts[:depth]))
            if quota is not None:
                quotas.append(quota)
    return min(quotas) if quotas else None


def _v2_quota(folder: str) -> float | None:
    try:
        with open(os.path.join(folder, "cpu.max")) as file:
            quota, _, period = file.read().strip().partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100000)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder: str) -> float | None:
    try:
        with open(os.path.join(folder, "cpu.cfs_quota_us")) as quota:
            microseconds = int(quota.read().strip())
        with open(os.path.join(folder, "cpu.cfs_period_us")) as period:
            every = int(period.read().strip())
        return None if microseconds <= 0 or every <= 0 else microseconds / every
    except (OSError, ValueError):
        return None


workers = max(2, cpus_available())
worker_class = "gthread"
threads = 16
# keep-alive connections tie a thread up while the client idles; the senders (Lever, vendors) open
# one connection per webhook
keepalive = 2

try:  # gunicorn 25.1+ listens for `gunicornc` on a control socket, by default at one path per user
    from gunicorn.config import ControlSocket
except ImportError:
    pass
else:  # ... which every other gunicorn master of the user takes over: one per master instead
    control_socket = os.path.join(os.path.dirname(ControlSocket.default), f"gunicorn-{os.getpid()}.ctl")


def _log_format(server):
    from hub.config import instance_settings
    from hub.logging_setup import json_requested, redact_gunicorn_logs, use_for_gunicorn

    redact_gunicorn_logs(server.log)  # no webhook URL's key in its access log nor its own
    # gunicorn's lines in the hub's JSON format too, as the environment or the instance's hub.cfg asks
    if json_requested(os.environ, instance_settings(os.environ)):
        use_for_gunicorn(server.log)


def on_starting(server):
    _log_format(server)
    _refuse_a_configuration_that_cannot_work(server)


def _refuse_a_configuration_that_cannot_work(server):
    """Stop the master, before it forks a worker, when the hub's configuration cannot work (a bad
    ``HUB_*`` value or ``hub.cfg``, a ``HUB_PLUGINS`` name no plugin has): said in gunicorn's own
    words for a failed start ("Shutting down", "Reason: <what the hub command would print>"),
    instead of each worker's traceback of ``create_app`` before "Worker failed to boot".

    The check runs in a child process (``hub.app.configuration_problem``): in the master, its
    imports (Flask, SQLAlchemy, the hub) doubled the master's memory (42 -> 89 MiB peak RSS in
    ``bench/ingest.py``) for as long as it runs. A child that fails itself (a plugin module that
    cannot be imported) refuses nothing: the workers then report it, as before."""
    import subprocess
    import sys

    check = ("import sys\nfrom hub.app import configuration_problem\n"
             "sys.stdout.write(configuration_problem() or '')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))  # gunicorn's --pythonpath too
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    problem = done.stdout.strip() if done.returncode == 0 else ""
    if not problem:
        return
    server.log.error("Shutting down: %s", server.master_name)
    server.log.error("Reason: %s", problem)
    if server.pidfile is not None:
        server.pidfile.unlink()
    sys.exit(2)


def on_reload(server):  # a HUP sets gunicorn's loggers up afresh
    _log_format(server)


def post_fork(server, worker):
    import sys

    _log_format(server)

    # A thread committing webhooks for others releases the GIL at each database round trip and
    # must get it back while request threads compute; with Python's default 5 ms switch interval
    # each round trip could cost up to 5 ms of waiting. A shorter one keeps commits (and acks) prompt.
    sys.setswitchinterval(0.0005)


def post_worker_init(worker):
    import gc

    # The worker has just loaded the app (no preload: each worker imports it after the fork).
    # Its modules, routes, table metadata and plugins live as long as the process; freezing them
    # keeps them out of every later collection. A full collection stops every thread of the
    # worker: it took 190-200 ms with them, 17-22 ms without (docs/performance.md, fifth set).
    gc.freeze()
