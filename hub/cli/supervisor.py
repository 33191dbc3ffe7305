"""``hub worker --processes N``: a supervising process that forks N worker processes and keeps N
running, replacing one that dies.

Contract:

* The supervisor has created the app and checked the database and the queue (``hub worker``'s
  ``require_tables`` and ``require_queue``) before it forks; it then closes its own database and
  queue connections and runs no thread of its own, so a child imports nothing and starts in
  milliseconds, with connections of its own. Each child runs ``Worker(app, threads)`` (consumer
  threads and the sweeper) as a single ``hub worker`` process does, and logs "worker started"
  and, when it stops, "worker stopped".
* A child that dies while the supervisor runs (SIGKILL, the kernel's out-of-memory killer, a crash)
  is replaced at once by a new fork, with a warning saying how it ended. Its running deliveries are
  taken over after their lease, as those of any dead worker. A child that ends before it has
  started its workers (an error at start) is replaced, and a fork that fails (out of memory) is
  tried again, only after a pause, 1 s doubling up to 60 s while that goes on (``next_pause``), so
  a broken environment does not fork in a loop.
* SIGTERM or SIGINT (Ctrl-C) to the supervisor: it sends SIGTERM to every child, each stops
  gracefully (takes no new delivery, lets the running ones finish), and the supervisor exits when
  all have. SIGKILL stops a child at once.
* The supervisor gone (killed itself): each child notices within a second (its parent changed)
  and stops gracefully.
* A thread running in the supervisor when it would fork (one a plugin started while the app was
  created) is a ``SupervisorError`` before any fork: a fork copies the locks such a thread may
  hold, not the thread.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
import time

log = logging.getLogger("hub.cli.supervisor")

FIRST_PAUSE, MAX_PAUSE = 1.0, 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SupervisorError(RuntimeError):
    """The supervisor cannot fork safely (a thread is running in it)."""


def next_pause(previous: float, started: bool) -> float:
    """Seconds to wait before replacing a child that ended: none if it had started its workers,
    else ``FIRST_PAUSE`` doubling from ``previous`` up to ``MAX_PAUSE``."""
    if started:
        return 0.0
    return min(MAX_PAUSE, max(FIRST_PAUSE, previous * 2))


def supervise(app, processes: int, threads: int | None) -> None:
    """Fork ``processes`` worker processes of ``threads`` threads each (None: ``HUB_WORKERS``) and
    keep that many running until SIGTERM or SIGINT; returns when every child has stopped."""
    _Supervisor(app, processes, threads).run()


def describe(status: int) -> str:
    """How a child ended, from its ``waitpid`` status: "was killed by SIGKILL", "exited with status 1"."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Supervisor:
    def __init__(self, app, processes: int, threads: int | None):
        self.app, self.processes, self.threads = app, processes, threads
        self.children: dict[int, int] = {}  # pid -> read end of the pipe it writes to once started
        self.stopping = False
        self.pause = 0.0
        self.fork_at = 0.0  # when the next replacement may be forked (time.monotonic)

    def run(self) -> None:
        _release_connections(self.app)
        others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        if others:  # a fork copies no thread but every lock a thread may hold
            raise SupervisorError(f"cannot fork worker processes while threads run: {', '.join(others)}")
        self.wake_read, self.wake_write = os.pipe()
        for fd in (self.wake_read, self.wake_write):
            os.set_blocking(fd, False)
        previous_wakeup = signal.set_wakeup_fd(self.wake_write)  # a signal wakes the select below
        previous = {sig: signal.signal(sig, self._on_stop) for sig in STOP_SIGNALS}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler: else no wake-up
        try:
            self._loop()
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self.wake_read)
            os.close(self.wake_write)

    def _on_stop(self, signum, frame) -> None:
        self.stopping = True  # only a flag: the loop sends the SIGTERMs (a handler may run mid-fork)

    def _loop(self) -> None:
        told: set[int] = set()
        while True:
            self._reap()
            if self.stopping:
                for pid in set(self.children) - told:
                    _signal(pid, signal.SIGTERM)
                    told.add(pid)
                if not self.children:
                    return
                timeout = 1.0
            elif len(self.children) < self.processes:
                timeout = self.fork_at - time.monotonic()
                if timeout <= 0:
                    try:
                        self._fork()
                    except OSError as exc:  # out of memory or processes: as a child failing at start
                        self.pause = next_pause(self.pause, started=False)
                        self.fork_at = time.monotonic() + self.pause
                        log.error("cannot fork a worker process (%s); trying again in %.0f s", exc, self.pause)
                    continue
            else:
                timeout = 1.0
            select.select([self.wake_read], [], [], timeout)
            try:
                while os.read(self.wake_read, 512):
                    pass
            except BlockingIOError:
                pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            started_fd = self.children.pop(pid, None)
            if started_fd is None:
                continue
            try:
                started = os.read(started_fd, 1) == b"1"
            except BlockingIOError:
                started = False
            os.close(started_fd)
            if self.stopping:
                continue
            self.pause = next_pause(self.pause, started)
            self.fork_at = time.monotonic() + self.pause
            if started:
                log.warning("worker process %s %s; starting another", pid, describe(status))
            else:
                log.error("worker process %s %s before it started its workers; starting another in %.0f s",
                          pid, describe(status), self.pause)

    def _fork(self) -> None:
        started_read, started_write = os.pipe()
        os.set_blocking(started_read, False)
        for stream in (sys.stdout, sys.stderr):  # else a child would write the buffered text again
            stream.flush()
        # A stop signal is held from the fork until the child has its own handlers: arriving in
        # between, it would run the supervisor's handler in the child and be lost there.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            os.close(started_read)
            os.close(started_write)
            raise
        if pid == 0:
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (self.wake_read, self.wake_write, started_read, *self.children.values()):
                    os.close(fd)
                code = _child(self.app, self.threads, os.getppid(), started_write)
            except BaseException:
                log.exception("worker process %s failed", os.getpid())
            finally:
                logging.shutdown()  # flush the handlers: os._exit skips it
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        os.close(started_write)
        self.children[pid] = started_read
        log.info("worker process %s forked", pid)


def _child(app, threads: int | None, parent: int, started_write: int) -> int:
    """A child's life: the workers until SIGTERM/SIGINT or until the supervisor is gone."""
    from hub.engine.queue import Worker

    stop = threading.Event()
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: stop.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held since the fork: delivered now
    worker = Worker(app, threads)
    worker.start()
    os.write(started_write, b"1")
    os.close(started_write)
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("the supervising process %s is gone; stopping", parent)
            break
        time.sleep(0.5)
    worker.stop()
    return 0


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _release_connections(app) -> None:
    """Close the supervisor's database and queue connections: a child must open its own."""
    from flask import has_app_context

    from hub.extensions import db
    from hub.runtime import get_runtime

    if has_app_context():  # the command's own session (``hub worker`` runs in an app context)
        db.session.remove()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    storage = get_runtime(app).queue.huey.storage
    storage.close()  # Huey on SQLite: its connection
    pool = getattr(storage, "pool", None)  # Huey on Redis: its connection pool
    if pool is not None:
        pool.disconnect()
