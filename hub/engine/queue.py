"""The task queue (Huey) that wakes workers, and the worker loop around it.

Huey only carries "run delivery N" nudges; the database rows are the truth (a worker killed
mid-task loses its Huey task, and the sweeper re-dispatches the delivery after its lease).

- Embedded default: ``SqliteHuey`` under ``instance/``; consumer threads inside the hub process.
- Production: ``RedisHuey`` when ``HUB_REDIS_URL`` is set; any number of ``hub worker`` processes.
- ``HUB_QUEUE_IMMEDIATE``: run inline (tests of things other than the queue).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from huey import RedisHuey, SqliteHuey
from huey.storage import RedisStorage
from huey.consumer import Consumer

from hub.logging_setup import RepeatLimiter, failure_cause

log = logging.getLogger("hub.engine.queue")
# with the broker down, the sweeper's every pass (each 5 s, in each worker) fails to enqueue
log.addFilter(RepeatLimiter())


class Queue:
    def __init__(self, app, runtime):
        self.app = app
        self.runtime = runtime
        config = app.config
        immediate = bool(config.get("QUEUE_IMMEDIATE"))
        if config.get("REDIS_URL"):
            self.huey = RedisHuey(config["QUEUE_NAME"], url=config["REDIS_URL"], immediate=immediate,
                                  results=False)
        else:
            path = os.path.join(app.instance_path, "queue.db")
            os.makedirs(app.instance_path, exist_ok=True)
            self.huey = SqliteHuey("ats-hub", filename=path, immediate=immediate, results=False, timeout=30)
        self._task = self.huey.task(name="run_delivery")(self._run)

    def _run(self, delivery_id: int) -> str:
        from hub.engine.runner import run_delivery

        with self.app.app_context():
            return run_delivery(self.runtime, delivery_id, contain_errors=True)

    def enqueue(self, delivery_ids: list[int], delay: float | None = None) -> None:
        if not delivery_ids:
            return
        if not delay and not self.huey.immediate and isinstance(self.huey.storage, RedisStorage):
            try:  # one round trip for the lot (a group commit wakes a whole batch at once)
                storage = self.huey.storage
                pipe = storage.conn.pipeline(transaction=False)
                for delivery_id in delivery_ids:
                    pipe.lpush(storage.queue_key, self.huey.serialize_task(self._task.s(delivery_id)))
                pipe.execute()
                return
            except Exception:  # the sweeper will find the deliveries anyway
                log.exception("could not enqueue deliveries %s; the sweeper will pick them up", delivery_ids)
                return
        for delivery_id in delivery_ids:
            try:
                if delay and self.huey.immediate:
                    continue  # inline mode cannot wait: the sweeper (or run_deliveries) runs it when due
                if delay:
                    self._task.schedule(args=(delivery_id,), delay=delay)
                else:
                    self._task(delivery_id)
            except Exception:  # the sweeper will find the delivery anyway
                log.exception("could not enqueue delivery %s; the sweeper will pick it up", delivery_id)

    def pending_count(self) -> int:
        return self.huey.pending_count()

    def ping(self) -> None:
        """Raise if the queue's storage cannot be reached."""
        self.huey.pending_count()


def init_queue(app, runtime) -> Queue:
    queue = Queue(app, runtime)
    runtime.queue = queue
    return queue


def _signal_handlers() -> dict:
    import signal

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}


def _restore_signal_handlers(saved: dict) -> None:
    import signal

    for sig, handler in saved.items():
        signal.signal(sig, handler)


class Worker:
    """Huey consumer threads plus the periodic sweeper, started and stopped together."""

    def __init__(self, app, workers: int | None = None):
        from hub.runtime import get_runtime

        self.app = app
        self.runtime = get_runtime(app)
        count = int(workers or app.config["WORKERS"])
        self.consumer = Consumer(self.runtime.queue.huey, workers=count, worker_type="thread",
                                 periodic=False, check_worker_health=True, scheduler_interval=1,
                                 initial_delay=0.05, backoff=1.15, max_delay=0.5)
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="hub-sweeper", daemon=True)

    def start(self) -> None:
        # Huey's Consumer.start() installs its own SIGINT/SIGTERM/SIGHUP handlers, meant for its
        # run() loop, which the hub does not use: they would swallow Ctrl-C. Keep ours.
        saved = _signal_handlers()
        self.runtime.stopping.clear()
        self.consumer.start()
        _restore_signal_handlers(saved)
        self._sweeper.start()
        log.info("worker started")

    def stop(self) -> None:
        self._stop.set()
        self.runtime.stopping.set()  # a run waiting for the database gives up: its lease brings it back
        self.consumer.stop(graceful=True)
        self._sweeper.join(timeout=10)
        log.info("worker stopped")

    def _sweep_loop(self) -> None:
        from hub.engine.sweeper import periodic_work

        interval = float(self.app.config["SWEEP_INTERVAL_SECONDS"])
        failing_since = None  # when periodic work started failing (an outage): its end is logged too
        while not self._stop.is_set():
            with self.app.app_context():
                try:
                    periodic_work(self.runtime)
                except Exception as exc:
                    failing_since = failing_since or time.monotonic()
                    log.exception("periodic work failed%s; trying again in %gs", failure_cause(exc), interval)
                else:
                    if failing_since is not None:
                        log.warning("periodic work runs again, after %.0fs of failures",
                                    time.monotonic() - failing_since)
                        failing_since = None
            self._stop.wait(interval)

    def run_forever(self) -> None:
        """Start and block until SIGINT/SIGTERM (for ``hub worker``)."""
        import signal

        self.start()
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        try:
            while not self._stop.is_set():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        self.stop()
