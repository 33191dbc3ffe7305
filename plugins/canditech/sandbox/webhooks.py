"""Signed outbound webhooks of the Canditech sandbox, sent from background threads with retries.

Contract:

* ``Dispatcher.submit(event, url)`` never blocks on the network: it serialises ``event`` once
  (the raw body stays byte-identical across attempts, so the event ``id`` too) and queues it for
  the worker thread(s). ``url=None`` records the event as ``no_target`` and sends nothing.
* Each attempt is ``POST url`` with ``Content-Type: application/json`` and
  ``Canditech-Signature: t=<now>,v1=<hmac>`` signed afresh with the current time and the secret
  current at that moment (``settings()["secret"]``). A 2xx answer delivers the event; any other
  answer or a connection error schedules the next attempt after
  ``settings()["retry_delays"][n]`` seconds (n = attempts so far - 1); when the delays run out the
  event is ``failed``.
* Faults (read from ``Faults`` at submit time): ``webhook_drop_rate`` drops the first attempt
  silently (logged as ``dropped``; the retry follows) or, with ``webhook_drop_forever``, loses the
  event; ``webhook_duplicate_rate`` queues a second, independent copy of the same event;
  ``webhook_reorder`` holds events and releases each batch (``webhook_reorder_batch`` events, or
  once the oldest is ``webhook_reorder_hold_ms`` old) in reverse order.
* ``flush()`` makes every scheduled retry and held event due now. ``reset()`` forgets the queue
  and the log (an attempt in flight finishes but is not retried). ``stop()`` ends the workers.
* ``log()`` -> ``{"events": [...], "attempts": [...], "pending": n, "in_flight": n}``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

import requests

from . import wire
from .faults import Faults

MAX_LOGGED_EVENTS = 20000
MAX_LOGGED_ATTEMPTS = 20000


@dataclass
class _Delivery:
    event_id: str
    event_type: str
    invitation_id: str | None
    url: str
    body: bytes
    copy: int = 0           # 0 for the original, 1 for an injected duplicate
    attempts: int = 0
    drop_attempts: float = 0  # attempts silently dropped: 0, 1 or math.inf
    generation: int = 0


class Dispatcher:
    """Queue, worker threads and delivery log of outbound webhooks."""

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
        self._stopping = False
        self._in_flight = 0
        self._generation = 0
        self._events: OrderedDict[str, dict] = OrderedDict()
        self._attempts: deque = deque(maxlen=MAX_LOGGED_ATTEMPTS)
        self._local = threading.local()

    # --- public API ----------------------------------------------------------------------
    def submit(self, event: dict, url: str | None) -> None:
        body = json.dumps(event, separators=(",", ":"), sort_keys=False).encode("utf-8")
        invitation_id = event.get("data", {}).get("invitation", {}).get("id")
        record = {"id": event["id"], "type": event["type"], "invitation_id": invitation_id,
                  "url": url, "created_at": event["created_at"], "status": "pending",
                  "attempts": 0, "copies": 1}
        drop = 0.0
        if url and self._faults.roll("webhook_drop_rate"):
            drop = math.inf if self._faults.get("webhook_drop_forever") else 1
        copies = 2 if url and self._faults.roll("webhook_duplicate_rate") else 1
        with self._cv:
            self._remember(record)
            if not url:
                record["status"] = "no_target"
                return
            record["copies"] = copies
            deliveries = [
                _Delivery(event["id"], event["type"], invitation_id, url, body, copy=n,
                          drop_attempts=drop if n == 0 else 0, generation=self._generation)
                for n in range(copies)
            ]
            if self._faults.get("webhook_reorder"):
                if not self._held:
                    self._held_since = time.monotonic()
                self._held.extend(deliveries)
                if len(self._held) >= self._faults.get("webhook_reorder_batch"):
                    self._release_held()
            else:
                for d in deliveries:
                    self._push(d, time.monotonic())
            self._ensure_workers()
            self._cv.notify_all()

    def flush(self) -> None:
        with self._cv:
            now = time.monotonic()
            self._heap = [(now, seq, d) for _, seq, d in self._heap]
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

    def log(self) -> dict:
        with self._cv:
            return {
                "events": [dict(e) for e in self._events.values()],
                "attempts": [dict(a) for a in self._attempts],
                "pending": len(self._heap) + len(self._held),
                "in_flight": self._in_flight,
            }

    # --- internals (call with self._cv held unless stated) -------------------------------
    def _remember(self, record: dict) -> None:
        self._events[record["id"]] = record
        while len(self._events) > MAX_LOGGED_EVENTS:
            self._events.popitem(last=False)

    def _push(self, delivery: _Delivery, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), delivery))

    def _release_held(self) -> None:
        now = time.monotonic()
        for delivery in reversed(self._held):
            self._push(delivery, now)
        self._held.clear()
        self._held_since = None

    def _ensure_workers(self) -> None:
        if self._threads or self._stopping:
            return
        for n in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"canditech-sandbox-webhooks-{n}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next_delivery(self) -> _Delivery | None:
        """Block until a delivery is due (returns it) or the dispatcher stops (None)."""
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
                    wake = min(wake, self._heap[0][0]) if wake else self._heap[0][0]
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
            session.trust_env = False  # never route the sandbox's webhooks through a proxy
            self._local.session = session
        return session

    def _attempt(self, d: _Delivery) -> None:
        """One attempt, outside the lock; then log it and schedule what follows."""
        settings = self._settings()
        entry = {"event_id": d.event_id, "type": d.event_type, "invitation_id": d.invitation_id,
                 "url": d.url, "attempt": d.attempts + 1, "copy": d.copy, "at": wire.now_iso(),
                 "outcome": None, "status_code": None, "error": None, "signature": None}
        if d.attempts < d.drop_attempts:
            entry["outcome"] = "dropped"
        else:
            timestamp = int(time.time())
            entry["signature"] = wire.sign(settings["secret"], d.body, timestamp)
            try:
                response = self._session().post(
                    d.url, data=d.body, timeout=settings["timeout"],
                    headers={"Content-Type": "application/json",
                             wire.SIGNATURE_HEADER: entry["signature"]},
                )
                entry["status_code"] = response.status_code
                entry["outcome"] = "delivered" if 200 <= response.status_code < 300 else "failed"
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
                record["status"] = "delivered"
            elif d.drop_attempts == math.inf:
                if record.get("status") == "pending":
                    record["status"] = "lost"
            elif d.attempts <= len(delays):
                entry["next_retry_in"] = delays[d.attempts - 1]
                self._push(d, time.monotonic() + delays[d.attempts - 1])
                self._cv.notify_all()
            elif record.get("status") == "pending":
                record["status"] = "failed"
