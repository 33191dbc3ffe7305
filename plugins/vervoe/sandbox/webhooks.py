"""Signed report webhooks of the Vervoe sandbox, sent from a background thread with retries.

* ``submit(body, url)`` never blocks on the network: it serialises the report once (the body is
  byte-identical across attempts and copies) and queues it. ``url=None`` logs it as ``no_target``.
* Each attempt is ``POST url`` with ``Content-Type: application/json`` and
  ``Vervoe-Signature: t=<now>,hash=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (guide 03), signed
  afresh with the time and the secret current at that attempt. Only a 200 answer delivers it
  ("If response not equals to 200 Vervoe api will try to send the report"); anything else, or a
  connection error, schedules the next attempt after ``retry_delays[n]`` seconds; when the delays
  run out the event is ``failed``.
* Faults: see ``faults`` (drop first attempt / drop forever / duplicate / reorder).
* ``flush()`` makes scheduled retries due now; ``reset()`` forgets the queue and the log;
  ``stop()`` ends the worker; ``log()`` -> ``{"events", "attempts", "pending", "in_flight"}``.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import math
import threading
import time
import uuid as uuidlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

import requests

from .faults import Faults
from .state import iso, now

SIGNATURE_HEADER = "Vervoe-Signature"
MAX_LOGGED = 10000


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},hash={digest}"


@dataclass
class _Delivery:
    event_id: str
    url: str
    body: bytes
    copy: int = 0
    attempts: int = 0
    drop_attempts: float = 0
    generation: int = 0


class Dispatcher:
    def __init__(self, settings: Callable[[], dict], faults: Faults) -> None:
        self._settings = settings
        self._faults = faults
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, _Delivery]] = []
        self._held: list[_Delivery] = []
        self._held_since: float | None = None
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._in_flight = 0
        self._generation = 0
        self._events: OrderedDict[str, dict] = OrderedDict()
        self._attempts: deque = deque(maxlen=MAX_LOGGED)
        self._session: requests.Session | None = None

    # --- public ---------------------------------------------------------------------------
    def submit(self, body: dict, url: str | None) -> str:
        raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
        event_id = str(uuidlib.uuid4())
        record = {"id": event_id, "candidateAssessmentUuid": body.get("candidateAssessmentUuid"),
                  "status": body.get("status"), "url": url, "created_at": iso(now()), "delivery": "pending",
                  "attempts": 0, "copies": 1, "body": body}
        drop = 0.0
        if url and self._faults.roll("webhook_drop_rate"):
            drop = math.inf if self._faults.get("webhook_drop_forever") else 1
        copies = 2 if url and self._faults.roll("webhook_duplicate_rate") else 1
        with self._cv:
            self._events[event_id] = record
            while len(self._events) > MAX_LOGGED:
                self._events.popitem(last=False)
            if not url:
                record["delivery"] = "no_target"
                return event_id
            record["copies"] = copies
            deliveries = [_Delivery(event_id, url, raw, copy=n, drop_attempts=drop if n == 0 else 0,
                                    generation=self._generation) for n in range(copies)]
            if self._faults.get("webhook_reorder"):
                if not self._held:
                    self._held_since = time.monotonic()
                self._held.extend(deliveries)
                if len(self._held) >= self._faults.get("webhook_reorder_batch"):
                    self._release_held()
            else:
                for delivery in deliveries:
                    heapq.heappush(self._heap, (time.monotonic(), next(self._seq), delivery))
            self._ensure_worker()
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
        if self._thread is not None:
            self._thread.join(timeout)
        if self._session is not None:
            self._session.close()

    def log(self) -> dict:
        with self._cv:
            return {"events": [dict(e) for e in self._events.values()],
                    "attempts": [dict(a) for a in self._attempts],
                    "pending": len(self._heap) + len(self._held), "in_flight": self._in_flight}

    # --- worker (call with self._cv held unless stated) -----------------------------------
    def _release_held(self) -> None:
        due = time.monotonic()
        for delivery in reversed(self._held):
            heapq.heappush(self._heap, (due, next(self._seq), delivery))
        self._held.clear()
        self._held_since = None

    def _ensure_worker(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name="vervoe-sandbox-webhooks", daemon=True)
            self._thread.start()

    def _next(self) -> _Delivery | None:
        with self._cv:
            while not self._stopping:
                current = time.monotonic()
                wake = None
                if self._held:
                    hold = self._faults.get("webhook_reorder_hold_ms") / 1000.0
                    if not self._faults.get("webhook_reorder") or current - self._held_since >= hold:
                        self._release_held()
                    else:
                        wake = self._held_since + hold
                if self._heap and self._heap[0][0] <= current:
                    self._in_flight += 1
                    return heapq.heappop(self._heap)[2]
                if self._heap:
                    wake = min(wake, self._heap[0][0]) if wake is not None else self._heap[0][0]
                self._cv.wait(None if wake is None else max(0.0, wake - current))
            return None

    def _run(self) -> None:
        self._session = requests.Session()
        self._session.trust_env = False  # never through a proxy: the hub is on loopback in tests and demos
        while True:
            delivery = self._next()
            if delivery is None:
                return
            try:
                self._attempt(delivery)
            finally:
                with self._cv:
                    self._in_flight -= 1

    def _attempt(self, d: _Delivery) -> None:
        settings = self._settings()
        entry = {"event_id": d.event_id, "url": d.url, "attempt": d.attempts + 1, "copy": d.copy,
                 "at": iso(now()), "outcome": None, "status_code": None, "error": None, "signature": None}
        if d.attempts < d.drop_attempts:
            entry["outcome"] = "dropped"
        else:
            entry["signature"] = sign(settings["secret"], d.body, int(time.time()))
            try:
                response = self._session.post(d.url, data=d.body, timeout=settings["timeout"],
                                              headers={"Content-Type": "application/json",
                                                       SIGNATURE_HEADER: entry["signature"]})
                entry["status_code"] = response.status_code
                entry["outcome"] = "delivered" if response.status_code == 200 else "failed"
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
                record["delivery"] = "delivered"
            elif d.drop_attempts == math.inf:
                if record.get("delivery") == "pending":
                    record["delivery"] = "lost"
            elif d.attempts <= len(delays):
                entry["next_retry_in"] = delays[d.attempts - 1]
                heapq.heappush(self._heap, (time.monotonic() + delays[d.attempts - 1], next(self._seq), d))
                self._cv.notify_all()
            elif record.get("delivery") == "pending":
                record["delivery"] = "failed"
