"""The signed webhook sender of a vendor sandbox: a queue, background worker threads, retries,
the delivery faults of ``hub.kit.sandbox.faults`` and a bounded log.

A sandbox subclasses ``WebhookSender`` with its vendor's details: ``signature_header`` and
``sign(secret, body, timestamp)`` (required), ``delivered(status_code)`` (default: any 2xx),
``now_iso()`` (the timestamps of its log), ``status_field`` (the log's name for the delivery
state, default ``"status"``), ``name`` (of the threads) and ``max_logged``.

Contract:

* ``WebhookSender(settings, faults, workers=1)``: ``settings()`` is called at every attempt and
  returns ``{"secret", "retry_delays", "timeout"}`` as they are then (so a changed secret or
  schedule applies to the next attempt); ``faults`` is the sandbox's ``Faults``.
* ``queue(body, url, *, event_id=None, log=None, attempt_log=None) -> event_id`` never blocks on
  the network: it serialises ``body`` once (compact JSON; byte-identical across attempts and
  copies) and queues it for the worker thread(s), started on first use. ``event_id`` defaults to
  a new UUID. ``log`` joins the event's log record, ``attempt_log`` each attempt's entry (names
  other than the record's own). ``url=None`` logs the event as ``no_target`` and sends nothing.
* Each attempt is ``POST url`` with ``Content-Type: application/json`` and
  ``<signature_header>: sign(secret, body, now)``, signed afresh with the time and the secret of
  that attempt. ``delivered(status)`` delivers the event; any other answer or a connection error
  schedules the next attempt after ``retry_delays[n]`` seconds (n = attempts so far - 1); when the
  delays run out the event is ``failed``.
* Faults (read at ``queue`` time): ``webhook_drop_rate`` drops the first attempt silently (logged
  as ``dropped``; the retry follows) or, with ``webhook_drop_forever``, every attempt (the event
  is ``lost``); ``webhook_duplicate_rate`` queues a second, independent copy of the same body;
  ``webhook_reorder`` holds events and releases each batch (``webhook_reorder_batch`` deliveries,
  or once the oldest is ``webhook_reorder_hold_ms`` old) in reverse order.
* ``flush()`` makes every scheduled retry and held event due now. ``reset()`` forgets the queue
  and the log (an attempt in flight finishes but is neither logged nor retried). ``stop()`` ends
  the workers and closes their HTTP sessions.
* ``log()`` -> ``{"events": [...], "attempts": [...], "pending": n, "in_flight": n}``; an event
  record is ``{"id", "url", "created_at", <status_field>, "attempts", "copies", **log}`` with the
  delivery state ``pending``, ``delivered``, ``failed``, ``lost`` or ``no_target``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import requests

from .faults import Faults


@dataclass
class _Delivery:
    event_id: str
    url: str
    body: bytes
    attempt_log: dict = field(default_factory=dict)
    copy: int = 0             # 0 for the original, 1 for an injected duplicate
    attempts: int = 0
    drop_attempts: float = 0  # attempts silently dropped: 0, 1 or math.inf
    generation: int = 0


class WebhookSender:
    """Queue, worker threads and delivery log of a sandbox's outbound webhooks."""

    name = "sandbox"
    signature_header = ""
    status_field = "status"
    max_logged = 20000

    def __init__(self, settings: Callable[[], dict], faults: Faults, workers: int = 1) -> None:
        self._settings = settings
        self._faults = faults
        self._workers = max(1, int(workers))
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, _Delivery]] = []
        self._held: list[_Delivery] = []
        self._held_since: float | None = None
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._sessions: list[requests.Session] = []
        self._local = threading.local()
        self._stopping = False
        self._in_flight = 0
        self._generation = 0
        self._events: OrderedDict[str, dict] = OrderedDict()
        self._attempts: deque = deque(maxlen=self.max_logged)

    # --- what a sandbox says about its vendor -----------------------------------------------
    def sign(self, secret: str, body: bytes, timestamp: int) -> str:
        """The value of ``signature_header`` for ``body`` sent at ``timestamp`` (unix seconds)."""
        raise NotImplementedError("a sandbox's WebhookSender implements sign()")

    def delivered(self, status_code: int) -> bool:
        """Whether the receiver's answer delivers the event (no retry)."""
        return 200 <= status_code < 300

    def now_iso(self) -> str:
        return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # --- public -----------------------------------------------------------------------------
    def queue(self, body: dict, url: str | None, *, event_id: str | None = None, log: dict | None = None,
              attempt_log: dict | None = None) -> str:
        raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
        event_id = event_id or str(uuid.uuid4())
        record = {"id": event_id, "url": url, "created_at": self.now_iso(), self.status_field: "pending",
                  "attempts": 0, "copies": 1, **(log or {})}
        drop = 0.0
        if url and self._faults.roll("webhook_drop_rate"):
            drop = math.inf if self._faults.get("webhook_drop_forever") else 1
        copies = 2 if url and self._faults.roll("webhook_duplicate_rate") else 1
        with self._cv:
            self._events[event_id] = record
            while len(self._events) > self.max_logged:
                self._events.popitem(last=False)
            if not url:
                record[self.status_field] = "no_target"
                return event_id
            record["copies"] = copies
            deliveries = [_Delivery(event_id, url, raw, dict(attempt_log or {}), copy=n,
                                    drop_attempts=drop if n == 0 else 0, generation=self._generation)
                          for n in range(copies)]
            if self._faults.get("webhook_reorder"):
                if not self._held:
                    self._held_since = time.monotonic()
                self._held.extend(deliveries)
                if len(self._held) >= self._faults.get("webhook_reorder_batch"):
                    self._release_held()
            else:
                for delivery in deliveries:
                    self._push(delivery, time.monotonic())
            self._ensure_workers()
            self._cv.notify_all()
        return event_id

    def flush(self) -> None:
        with self._cv:
            due = time.monotonic()
            self._heap = [(due, seq, d) for _, seq, d in self._heap]
            heapq.heapify(self._heap)
            self._release_held()
            self._cv.notify_all()

    def reset(self) -> None:
        with self._cv:
            self._generation += 1
            self._heap.clear()
            self._held.clear()
            self._held_since = None
            self._events.clear()
            self._attempts.clear()
            self._cv.notify_all()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        for session in self._sessions:
            session.close()

    def log(self) -> dict:
        with self._cv:
            return {"events": [dict(e) for e in self._events.values()],
                    "attempts": [dict(a) for a in self._attempts],
                    "pending": len(self._heap) + len(self._held), "in_flight": self._in_flight}

    # --- workers (call with self._cv held unless stated) ------------------------------------
    def _push(self, delivery: _Delivery, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), delivery))

    def _release_held(self) -> None:
        due = time.monotonic()
        for delivery in reversed(self._held):
            self._push(delivery, due)
        self._held.clear()
        self._held_since = None

    def _ensure_workers(self) -> None:
        if self._threads or self._stopping:
            return
        for n in range(self._workers):
            suffix = f"-{n}" if self._workers > 1 else ""
            thread = threading.Thread(target=self._run, name=f"{self.name}-webhooks{suffix}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next_delivery(self) -> _Delivery | None:
        """Block until a delivery is due (returns it) or the sender stops (None)."""
        with self._cv:
            while not self._stopping:
                now = time.monotonic()
                wake = None
                if self._held:
                    hold = self._faults.get("webhook_reorder_hold_ms") / 1000.0
                    if not self._faults.get("webhook_reorder") or now - self._held_since >= hold:
                        self._release_held()
                    else:
                        wake = self._held_since + hold
                if self._heap and self._heap[0][0] <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._heap)[2]
                if self._heap:
                    wake = min(wake, self._heap[0][0]) if wake is not None else self._heap[0][0]
                self._cv.wait(None if wake is None else max(0.0, wake - now))
            return None

    def _run(self) -> None:
        while True:
            delivery = self._next_delivery()
            if delivery is None:
                return
            try:
                self._attempt(delivery)
            finally:
                with self._cv:
                    self._in_flight -= 1

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never through a proxy: the receiver is on loopback in tests and demos
            self._local.session = session
            with self._cv:
                self._sessions.append(session)
        return session

    def _attempt(self, d: _Delivery) -> None:
        """One attempt, outside the lock; then log it and schedule what follows."""
        settings = self._settings()
        entry = {"event_id": d.event_id, **d.attempt_log, "url": d.url, "attempt": d.attempts + 1, "copy": d.copy,
                 "at": self.now_iso(), "outcome": None, "status_code": None, "error": None, "signature": None}
        if d.attempts < d.drop_attempts:
            entry["outcome"] = "dropped"
        else:
            entry["signature"] = self.sign(settings["secret"], d.body, int(time.time()))
            try:
                response = self._session().post(d.url, data=d.body, timeout=settings["timeout"],
                                                headers={"Content-Type": "application/json",
                                                         self.signature_header: entry["signature"]})
                entry["status_code"] = response.status_code
                entry["outcome"] = "delivered" if self.delivered(response.status_code) else "failed"
                response.close()
            except requests.RequestException as exc:
                entry["outcome"], entry["error"] = "failed", f"{type(exc).__name__}: {exc}"
        d.attempts += 1
        delays = list(settings["retry_delays"])
        with self._cv:
            if d.generation != self._generation:
                return  # reset while in flight: forget it
            self._attempts.append(entry)
            record = self._events.get(d.event_id, {})
            record["attempts"] = record.get("attempts", 0) + 1
            if entry["outcome"] == "delivered":
                record[self.status_field] = "delivered"
            elif d.drop_attempts == math.inf:
                if record.get(self.status_field) == "pending":
                    record[self.status_field] = "lost"
            elif d.attempts <= len(delays):
                entry["next_retry_in"] = delays[d.attempts - 1]
                self._push(d, time.monotonic() + delays[d.attempts - 1])
                self._cv.notify_all()
            elif record.get(self.status_field) == "pending":
                record[self.status_field] = "failed"


