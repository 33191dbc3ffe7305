"""Outbound webhook sender of the Lever sandbox.

Contract:
- ``WebhookSender.emit(events)`` never blocks on the network: for every active webhook
  subscribed to an event it builds one signed body (``signing.make_body``; one event ``id`` and
  ``triggeredAt`` shared by all targets of the same event, a token and signature per target)
  and queues it. Background worker threads (``concurrency``, default 1 so deliveries leave in
  order) POST the body with ``User-Agent: Lever-Webhooks`` and ``Content-Type:
  application/json``, without following redirects.
- Success is any 2xx (lever.md §1.6). Anything else, a timeout or a connection error schedules
  a retry after ``retry_delays[attempt-1]`` seconds: first attempt + ``len(retry_delays)``
  retries (Lever: "five times", growing gaps; its exact schedule is not documented).
  A retry resends the SAME bytes (same id, token, triggeredAt, signature). Lever does not say
  whether it re-signs; resending unchanged is the stricter case for receivers that reject
  reused tokens (lever.md §1.6 asks them to accept a reused token idempotently); the
  ``webhook_resign_retries`` knob makes a retry carry a fresh token instead (and
  ``webhook_retry_new_timestamp`` a new ``triggeredAt``). Retries stop when the webhook was
  deleted or disabled meanwhile.
- Faults (``FaultInjector``): drop, duplicate and reorder apply to first attempts of event
  deliveries; test requests are never faulted. The shape knobs (``faults.py``) are read when a
  body is built: ``webhook_omit_id``, ``webhook_distinct_candidate_id`` (``legacy_candidate_id``),
  and an event with ``only_with`` is sent only while its knob is on.
- ``send_test(hook)`` sends the "Verify connection" request synchronously, once, and returns
  its log entry. Every attempt (and every drop) is appended to a bounded log (``log()``).
- ``wait_idle(timeout)`` waits until nothing is queued, held or in flight; ``clear()`` drops
  queued work and the log; ``stop()`` ends the worker threads.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests

from .faults import FaultInjector
from .signing import make_body, resigned, test_body
from .state import Event, legacy_candidate_id, now_ms
from .stats import Stats

HEADERS = {"User-Agent": "Lever-Webhooks", "Content-Type": "application/json"}


@dataclass
class Delivery:
    """One body bound for one URL, possibly attempted several times."""

    delivery_id: str
    webhook_id: str
    event: str
    url: str
    body: bytes
    payload: dict
    kind: str = "event"  # "event" | "duplicate" | "test"
    attempt: int = 0
    signature_token: str | None = None


class WebhookSender:
    """Queue + worker threads that deliver, retry and log Lever webhooks."""

    def __init__(self, *, targets: Callable[[str, str | None], list[dict]],
                 is_active: Callable[[str], bool], faults: FaultInjector, stats: Stats,
                 retry_delays: Iterable[float], timeout: float = 10.0,
                 concurrency: int = 1, log_size: int = 1000) -> None:
        self._targets, self._is_active = targets, is_active
        self._faults, self._stats = faults, stats
        self.retry_delays = [float(d) for d in retry_delays]
        self.timeout = timeout
        self._concurrency = max(1, int(concurrency))
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._held: list[Delivery] = []
        self._held_deadline = 0.0
        self._inflight = 0
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._log: deque[dict] = deque(maxlen=log_size)

    # ------------------------------------------------------------------ API
    def emit(self, events: Iterable[Event]) -> int:
        """Queue deliveries for ``events``; returns how many bodies were queued."""
        queued = 0
        for event in events:
            if event.only_with and not self._faults.get(event.only_with):
                continue
            self._stats.incr("webhook_events", event.name)
            event_id, triggered_at = str(uuid.uuid4()), now_ms()
            with_id = not self._faults.get("webhook_omit_id")
            for hook in self._targets(event.name, event.origin):
                payload = make_body(event.name, self._shaped(event.data), hook["signatureToken"],
                                    event_id=event_id, triggered_at=triggered_at, with_id=with_id)
                queued += self._submit(self._delivery(hook, payload, "event"))
        return queued

    def send_test(self, hook: dict) -> dict:
        """Send Lever's "Verify connection" request now; return the log entry."""
        self._stats.incr("webhook_tests")
        delivery = self._delivery(hook, test_body(hook["signatureToken"]), "test")
        with requests.Session() as session:
            return self._attempt(delivery, session)

    def log(self, *, event: str | None = None, webhook_id: str | None = None,
            kind: str | None = None) -> list[dict]:
        with self._cond:
            entries = list(self._log)
        return [e for e in entries
                if (event is None or e["event"] == event)
                and (webhook_id is None or e["webhook_id"] == webhook_id)
                and (kind is None or e["kind"] == kind)]

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + len(self._held) + self._inflight

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: not (self._heap or self._held or self._inflight), timeout)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._held.clear()
            self._log.clear()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)

    # ------------------------------------------------------------ internals
    def _shaped(self, data: dict) -> dict:
        """``data`` as the ``webhook_distinct_candidate_id`` knob wants it."""
        if self._faults.get("webhook_distinct_candidate_id") and "opportunityId" in data:
            return {**data, "candidateId": legacy_candidate_id(data["opportunityId"])}
        return data

    @staticmethod
    def _delivery(hook: dict, payload: dict, kind: str) -> Delivery:
        return Delivery(str(uuid.uuid4()), hook["id"], payload["event"], hook["url"],
                        json.dumps(payload).encode(), payload, kind,
                        signature_token=hook["signatureToken"])

    def _resign_for_retry(self, delivery: Delivery) -> None:
        """With ``webhook_resign_retries``: the next attempt carries a fresh token (and, with
        ``webhook_retry_new_timestamp``, a new ``triggeredAt``), signed again."""
        if delivery.kind == "test" or not self._faults.get("webhook_resign_retries"):
            return
        triggered_at = now_ms() if self._faults.get("webhook_retry_new_timestamp") else None
        delivery.payload = resigned(delivery.payload, delivery.signature_token, triggered_at)
        delivery.body = json.dumps(delivery.payload).encode()

    def _submit(self, delivery: Delivery) -> int:
        if self._faults.chance("webhook_drop_rate"):
            self._stats.incr("webhook_dropped")
            self._record(delivery, None, "dropped by fault injection", 0.0, final=True)
            return 0
        copies = [delivery]
        if self._faults.chance("webhook_duplicate_rate"):
            self._stats.incr("webhook_duplicated")
            copies.append(Delivery(str(uuid.uuid4()), delivery.webhook_id, delivery.event,
                                   delivery.url, delivery.body, delivery.payload, "duplicate",
                                   signature_token=delivery.signature_token))
        with self._cond:
            self._start_workers()
            if self._faults.get("webhook_reorder"):
                if not self._held:
                    window = self._faults.get("webhook_reorder_window_ms") / 1000.0
                    self._held_deadline = time.monotonic() + window
                self._held.extend(copies)
                if len(self._held) >= self._faults.get("webhook_reorder_batch"):
                    self._release_held()
            else:
                for copy_ in copies:
                    self._push(copy_, time.monotonic())
            self._cond.notify_all()
        return len(copies)

    def _push(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), delivery))

    def _release_held(self) -> None:
        """Queue held deliveries newest first (caller holds the condition)."""
        now = time.monotonic()
        for delivery in reversed(self._held):
            self._push(delivery, now)
        self._held.clear()

    def _start_workers(self) -> None:
        if self._threads or self._stopped:
            return
        for i in range(self._concurrency):
            thread = threading.Thread(target=self._work, name=f"lever-sandbox-webhooks-{i}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _next(self) -> Delivery | None:
        """Block until a delivery is due (or the sender stops)."""
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                if self._held and now >= self._held_deadline:
                    self._release_held()
                if self._heap and self._heap[0][0] <= now:
                    self._inflight += 1
                    return heapq.heappop(self._heap)[2]
                waits = [1.0]
                if self._heap:
                    waits.append(self._heap[0][0] - now)
                if self._held:
                    waits.append(self._held_deadline - now)
                self._cond.wait(max(0.0, min(waits)))
            return None

    def _work(self) -> None:
        with requests.Session() as session:
            while (delivery := self._next()) is not None:
                try:
                    if delivery.attempt and not self._is_active(delivery.webhook_id):
                        self._record(delivery, None, "retry cancelled: webhook deleted or "
                                     "disabled", 0.0, final=True)
                    else:
                        self._attempt(delivery, session)
                finally:
                    with self._cond:
                        self._inflight -= 1
                        self._cond.notify_all()

    def _attempt(self, delivery: Delivery, session: requests.Session) -> dict:
        delivery.attempt += 1
        self._stats.incr("webhook_attempts")
        started = time.monotonic()
        status, error = None, None
        try:
            resp = session.post(delivery.url, data=delivery.body, headers=HEADERS,
                                timeout=self.timeout, allow_redirects=False)
            status = resp.status_code
            resp.close()
        except requests.RequestException as exc:
            error = self._describe(exc)
        ok = status is not None and 200 <= status < 300
        retry = (not ok and delivery.kind != "test"
                 and delivery.attempt <= len(self.retry_delays))
        if ok:
            self._stats.incr("webhook_delivered")
        else:
            self._stats.incr("webhook_failed_attempts")
            if not retry and delivery.kind != "test":
                self._stats.incr("webhook_gave_up")
        entry = self._record(delivery, status, error, time.monotonic() - started,
                             final=not retry)
        if retry:
            self._resign_for_retry(delivery)
            with self._cond:
                due = time.monotonic() + self.retry_delays[delivery.attempt - 1]
                self._push(delivery, due)
                self._cond.notify_all()
        return entry

    def _describe(self, exc: requests.RequestException) -> str:
        """A one-line reason for a failed attempt (e.g. "ConnectionError: Connection refused")."""
        if isinstance(exc, requests.Timeout):
            return f"{type(exc).__name__}: no answer within {self.timeout:g}s"
        match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
        detail = match.group(1) if match else str(exc)[:120]
        return f"{type(exc).__name__}: {detail}"

    def _record(self, delivery: Delivery, status: int | None, error: str | None,
                duration: float, *, final: bool) -> dict:
        entry = {
            "delivery_id": delivery.delivery_id, "event_id": delivery.payload.get("id"),
            "webhook_id": delivery.webhook_id, "event": delivery.event, "url": delivery.url,
            "kind": delivery.kind, "attempt": delivery.attempt, "status_code": status,
            "ok": status is not None and 200 <= status < 300, "error": error,
            "time": now_ms(), "duration_ms": round(duration * 1000, 1), "final": final,
            "payload": delivery.payload,
        }
        with self._cond:
            self._log.append(entry)
        return entry
