"""Group commit: work submitted by many request threads, made durable several at a time.

A webhook may be acknowledged only once what it carries is committed (DESIGN.md guarantee 1),
and a commit costs a disk flush. ``GroupCommit`` lets concurrent requests share one: each
request thread calls ``submit(job)``, which blocks until ``handler(jobs)`` (run by a committer
thread, in its own app context and session) has staged that job together with the others waiting
at the time, and the transaction has committed. No timer: a batch is whatever
arrived while the previous commit was in flight, so a lone request waits for no one.

Guarantees:

- ``submit`` returns the job's result only after the commit that made it durable returned.
- A job that fails does not fail the others: when a batch of several raises, each of its jobs is
  run again alone, and only the failing one gets the exception (the batch was rolled back, so
  nothing is staged twice).
- ``submit`` raises ``GroupCommitTimeout`` if its job is not committed within ``timeout``
  seconds. The job may still commit later: the caller must treat it as "outcome unknown" (a
  webhook answers 503, and the sender's retry is then a duplicate).
- Up to ``committers`` committer threads per process (each commits its own batches, so a commit
  in flight does not hold up the next one), started as work arrives (so also in each forked
  gunicorn worker), each ending after ``idle_seconds`` without work and holding no database
  connection between batches.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Any, Callable, Generic, Sequence, TypeVar

from hub.extensions import db

log = logging.getLogger("hub.engine.group_commit")

Job = TypeVar("Job")


class GroupCommitTimeout(Exception):
    """The job was not committed in time; it may still be committed later."""


class _Ticket(Generic[Job]):
    __slots__ = ("job", "done", "result", "error")

    def __init__(self, job: Job):
        self.job = job
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Job]):
    """``handler(jobs) -> results`` (one result per job, in order) stages ``jobs`` in the current
    ``db.session``; the committer commits, hands each job its result, then calls
    ``after_commit(jobs, results)`` (outside any transaction; its errors are logged and dropped,
    so it may only do what can be lost, such as waking workers the sweeper would wake anyway)."""

    def __init__(self, app, handler: Callable[[Sequence[Job]], list[Any]], *,
                 after_commit: Callable[[Sequence[Job], list[Any]], None] | None = None, max_batch: int = 100,
                 committers: int = 1, timeout: float = 10.0, idle_seconds: float = 30.0,
                 name: str = "hub-group-commit"):
        self.app = app
        self.handler = handler
        self.after_commit = after_commit
        self.max_batch = max(1, int(max_batch))
        self.committers = max(1, int(committers))
        self.timeout = float(timeout)
        self.idle_seconds = float(idle_seconds)
        self.name = name
        self._queue: queue.SimpleQueue[_Ticket] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._pid = 0
        self.batches = 0  # committed batches, for tests and benchmarks
        self.jobs = 0

    def submit(self, job: Job) -> Any:
        """Stage ``job`` in a shared transaction and return its result once committed."""
        ticket = _Ticket(job)
        with self._lock:  # the same lock under which an idle committer decides to end
            if self._pid != os.getpid():  # first use, or a forked child: the parent's threads are not ours
                self._pid, self._queue, self._threads = os.getpid(), queue.SimpleQueue(), set()
            self._queue.put(ticket)
            self._threads = {t for t in self._threads if t.is_alive()}
            if len(self._threads) < self.committers:  # start committers as work arrives, up to the limit
                thread = threading.Thread(target=self._run, name=f"{self.name}-{len(self._threads) + 1}",
                                          daemon=True)
                self._threads.add(thread)
                thread.start()
        if not ticket.done.wait(self.timeout):
            raise GroupCommitTimeout(f"not committed within {self.timeout:g} s")
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    # ------------------------------------------------------------------ the committer thread
    def _run(self) -> None:
        with self.app.app_context():
            while True:
                try:
                    first = self._queue.get(timeout=self.idle_seconds)
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():
                            self._threads.discard(threading.current_thread())
                            return
                    continue
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                self._commit(batch)

    def _commit(self, batch: list[_Ticket]) -> None:
        try:
            results = self._stage_and_commit([t.job for t in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            log.warning("a batch of %d failed (%s); committing its jobs one by one", len(batch), exc)
            for ticket in batch:
                self._commit([ticket])
            return
        for ticket, result in zip(batch, results):
            ticket.result = result
            ticket.done.set()
        if self.after_commit is not None:
            try:
                self.after_commit([t.job for t in batch], results)
            except Exception:
                log.exception("after a committed batch of %d", len(batch))

    def _stage_and_commit(self, jobs: list[Job]) -> list[Any]:
        try:
            results = self.handler(jobs)
            if len(results) != len(jobs):
                raise RuntimeError(f"group commit handler returned {len(results)} results for {len(jobs)} jobs")
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.close()  # give the connection back to the pool between batches
        self.batches += 1
        self.jobs += len(jobs)
        return results

