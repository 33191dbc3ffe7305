"""Group commit: work submitted by many request threads, made durable several at a time.

A webhook may be acknowledged only once what it carries is committed (README.md, Guarantees, 1),
and a commit costs a disk flush and several database round trips. ``GroupCommit`` lets
concurrent requests share them, with no thread of its own (leader and followers):

- ``submit(job)`` queues the job. If fewer than ``committers`` commits are in flight, the calling
  thread becomes a leader at once: it takes the queued jobs (up to ``max_batch``, oldest first),
  runs ``handler(jobs)`` in a fresh app context and session, commits, and hands every job of the
  batch its result. A lone request therefore commits its own work, with no hand-off.
- Otherwise the caller waits. A leader whose own job is done hands the lead to the oldest job
  still queued, whose thread then commits everything queued by then: the webhooks that arrived
  during a commit share the next one.

Guarantees:

- ``submit`` returns the job's result only after the commit that made it durable returned.
- A job that fails does not fail the others: when a batch of several raises, each of its jobs is
  run again alone, and only the failing one gets the exception (the batch was rolled back, so
  nothing is staged twice). Except an error ``shared_failure`` says every job would meet alike
  (the database unreachable, a statement timeout): then every job of the batch gets it at once,
  rather than each waiting for it again alone.
- ``submit`` raises ``GroupCommitTimeout`` if its job is not committed within ``timeout``
  seconds. The job may still commit later: the caller must treat it as "outcome unknown" (a
  webhook answers 503, and the sender's retry is then a duplicate). A caller asked to lead
  leads, whatever the time.
- Works the same in every process (gunicorn forks its workers): no thread, no state shared
  with the parent.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from typing import Any, Callable, Generic, Sequence, TypeVar

from hub.extensions import db

log = logging.getLogger("hub.engine.group_commit")

Job = TypeVar("Job")


class GroupCommitTimeout(Exception):
    """The job was not committed in time; it may still be committed later."""


class _Ticket(Generic[Job]):
    __slots__ = ("job", "wake", "done", "finished", "lead", "result", "error")

    def __init__(self, job: Job):
        self.job = job
        self.wake = threading.Event()  # set when finished, or when asked to lead
        self.done = threading.Event()  # set when finished
        self.finished = False
        self.lead = False  # this ticket's thread holds one of the ``committers`` slots
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.finished = result, error, True
        self.done.set()
        self.wake.set()


class GroupCommit(Generic[Job]):
    """``handler(jobs) -> results`` (one result per job, in order) stages ``jobs`` in the current
    ``db.session`` (or makes them durable itself, as the webhook ingress does on PostgreSQL on a
    connection of its own, and raises if it could not); the leader commits, hands each job its
    result, then calls
    ``after_commit(jobs, results)`` (outside any transaction; its errors are logged and dropped,
    so it may only do what can be lost, such as waking workers the sweeper would wake anyway)."""

    def __init__(self, app, handler: Callable[[Sequence[Job]], list[Any]], *,
                 after_commit: Callable[[Sequence[Job], list[Any]], None] | None = None, max_batch: int = 100,
                 committers: int = 1, timeout: float = 10.0,
                 shared_failure: Callable[[BaseException], bool] = lambda exc: False):
        self.app = app
        self.handler = handler
        self.after_commit = after_commit
        self.max_batch = max(1, int(max_batch))
        self.committers = max(1, int(committers))
        self.timeout = float(timeout)
        self.shared_failure = shared_failure
        self._lock = threading.Lock()
        self._queued: collections.deque[_Ticket] = collections.deque()
        self._leaders = 0
        self._pid = os.getpid()
        self.batches = 0  # committed batches, for tests and benchmarks
        self.jobs = 0

    def submit(self, job: Job) -> Any:
        """Stage ``job`` in a shared transaction and return its result once committed."""
        ticket = _Ticket(job)
        with self._lock:
            if self._pid != os.getpid():  # a forked child: what the parent had queued is not ours
                self._pid, self._queued, self._leaders = os.getpid(), collections.deque(), 0
            self._queued.append(ticket)
            if self._leaders < self.committers:
                self._leaders += 1
                ticket.lead = True
        if not ticket.lead:
            ticket.wake.wait(self.timeout)
            with self._lock:  # under the lock: a leader cannot pick this ticket while it gives up
                if not ticket.finished and not ticket.lead:
                    try:
                        self._queued.remove(ticket)
                    except ValueError:
                        pass  # in a batch being committed: its outcome is unknown to this caller
                    raise GroupCommitTimeout(f"not committed within {self.timeout:g} s")
        if ticket.lead:  # even if another leader committed the job meanwhile: the slot must be passed on
            self._lead(ticket)
        # a leader's own job may sit in a batch another leader took before this one could: wait for it
        if not ticket.finished and not ticket.done.wait(self.timeout):
            raise GroupCommitTimeout(f"not committed within {self.timeout:g} s")
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    # ------------------------------------------------------------------ leading
    def _lead(self, own: _Ticket) -> None:
        """Commit queued batches until ``own`` is done (or is in a batch another leader took),
        then pass the lead on to a queued ticket that does not hold one already (or give it up)."""
        try:
            while not own.finished:
                with self._lock:
                    batch = [self._queued.popleft() for _ in range(min(self.max_batch, len(self._queued)))]
                if not batch:
                    break
                self._commit(batch)
        finally:
            with self._lock:
                # a ticket queued as a leader has a slot of its own: giving it this one would leak it
                successor = next((t for t in self._queued if not t.lead), None)
                if successor is not None:
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._leaders -= 1

    def _commit(self, batch: list[_Ticket]) -> None:
        try:
            results = self._stage_and_commit([t.job for t in batch])
        except Exception as exc:
            if len(batch) == 1 or self.shared_failure(exc):
                for ticket in batch:
                    ticket.finish(error=exc)
                return
            log.warning("a batch of %d failed (%s); committing its jobs one by one", len(batch), exc)
            for ticket in batch:
                self._commit([ticket])
            return
        except BaseException as exc:  # leave no caller waiting for a batch that will not end
            for ticket in batch:
                ticket.finish(error=exc)
            raise
        for ticket, result in zip(batch, results):
            ticket.finish(result)
        if self.after_commit is not None:
            try:
                self.after_commit([t.job for t in batch], results)
            except Exception:
                log.exception("after a committed batch of %d", len(batch))

    def _stage_and_commit(self, jobs: list[Job]) -> list[Any]:
        with self.app.app_context():  # a session of its own, whatever the caller's
            try:
                results = self.handler(jobs)
                if len(results) != len(jobs):
                    raise RuntimeError(f"group commit handler returned {len(results)} results for {len(jobs)} jobs")
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.close()
        with self._lock:
            self.batches += 1
            self.jobs += len(jobs)
        return results
