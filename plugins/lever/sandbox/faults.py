"""Fault injection for the Lever sandbox (``POST /_sandbox/faults``).

Contract: ``FaultInjector.configure(settings)`` REPLACES the fault settings (keys not given
fall back to ``DEFAULTS``) and re-seeds the RNG with ``seed``, so a sequence of requests sees a
reproducible sequence of faults; unknown keys or out-of-range values raise ``ValueError``.
``clear()`` restores ``DEFAULTS``. Thread-safe.

Request faults (``/v1`` only), decided by ``for_request()`` in this order:
``down`` (every call 503) -> ``latency_ms`` (added to every call) -> ``error_rate`` (answer a
random code from ``error_codes``) -> ``timeout_rate`` (sleep ``timeout_seconds``, then answer
normally) -> ``reset_rate`` (close the connection without an answer).

Token-endpoint faults (``POST /oauth/token`` only, every grant type; ``/v1`` is not affected), decided
by ``for_token_request()`` in this order, before the request is read: ``token_down`` (every call
503) -> ``token_latency_ms`` (added to every call) -> ``token_error_rate`` (answer a random code from
``token_error_codes``, 429 or 500-599; default 500 and 503). A faulted request is not processed: a
code or refresh token it carries stays valid, as when Lever's token endpoint is unreachable. (A
grant revoked at Lever is not a fault: ``POST /_sandbox/oauth/revoke``, whose next refresh answers
``invalid_grant``.)

Webhook faults, read by the sender: ``webhook_drop_rate`` (an event delivery is never sent),
``webhook_duplicate_rate`` (the same body is sent twice), ``webhook_reorder`` (first attempts are
held and released in reverse order, in batches of ``webhook_reorder_batch`` or after
``webhook_reorder_window_ms``).

Webhook shapes Lever's documentation leaves open (lever.md §1.2, §1.3, §1.6), read by the sender
when it builds a body (booleans, all off by default):
``webhook_omit_id`` (no ``id`` in the body, as in both of Lever's examples),
``webhook_resign_retries`` (a retry carries a fresh ``token`` and its signature instead of the
same bytes), ``webhook_retry_new_timestamp`` (with it, the retry's ``triggeredAt`` is new too),
``webhook_distinct_candidate_id`` (``data.candidateId`` differs from ``opportunityId``, as in the
docs' example) and ``webhook_stage_change_on_create`` (creating a candidate also fires a
``candidateStageChange`` into its first stage, from no stage, after ``applicationCreated``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

DEFAULTS: dict = {
    "error_rate": 0.0,
    "error_codes": [500, 503, 429],
    "latency_ms": 0,
    "timeout_rate": 0.0,
    "timeout_seconds": 15.0,
    "reset_rate": 0.0,
    "webhook_drop_rate": 0.0,
    "webhook_duplicate_rate": 0.0,
    "webhook_reorder": False,
    "webhook_reorder_batch": 10,
    "webhook_reorder_window_ms": 250,
    "webhook_omit_id": False,
    "webhook_resign_retries": False,
    "webhook_retry_new_timestamp": False,
    "webhook_distinct_candidate_id": False,
    "webhook_stage_change_on_create": False,
    "down": False,
    "token_down": False,
    "token_error_rate": 0.0,
    "token_error_codes": [500, 503],
    "token_latency_ms": 0,
    "seed": 0,
}
SHAPE_KNOBS = ("webhook_omit_id", "webhook_resign_retries", "webhook_retry_new_timestamp",
               "webhook_distinct_candidate_id", "webhook_stage_change_on_create")
RATES = ("error_rate", "timeout_rate", "reset_rate", "webhook_drop_rate",
         "webhook_duplicate_rate", "token_error_rate")


@dataclass(frozen=True)
class RequestFault:
    """What to do to one API (or token) request: sleep first, then ``kind`` (None = answer
    normally)."""

    sleep: float = 0.0
    kind: str | None = None  # "down" | "error" | "reset"
    status: int | None = None


def _validated(raw: dict) -> dict:
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    out = {**DEFAULTS, **raw}
    for key in RATES:
        if not isinstance(out[key], (int, float)) or not 0.0 <= out[key] <= 1.0:
            raise ValueError(f"{key} must be a number between 0 and 1")
    codes = out["error_codes"]
    if (not isinstance(codes, list) or not codes
            or not all(isinstance(c, int) and 400 <= c <= 599 for c in codes)):
        raise ValueError("error_codes must be a non-empty list of HTTP codes 400-599")
    codes = out["token_error_codes"]
    if (not isinstance(codes, list) or not codes
            or not all(isinstance(c, int) and not isinstance(c, bool)
                       and (c == 429 or 500 <= c <= 599) for c in codes)):
        raise ValueError("token_error_codes must be a non-empty list of HTTP codes: 429 or 500-599")
    for key in ("latency_ms", "timeout_seconds", "webhook_reorder_window_ms", "token_latency_ms"):
        if not isinstance(out[key], (int, float)) or out[key] < 0:
            raise ValueError(f"{key} must be a number >= 0")
    if not isinstance(out["webhook_reorder_batch"], int) or out["webhook_reorder_batch"] < 1:
        raise ValueError("webhook_reorder_batch must be an integer >= 1")
    for key in ("down", "token_down", "webhook_reorder", *SHAPE_KNOBS):
        if not isinstance(out[key], bool):
            raise ValueError(f"{key} must be a boolean")
    return out


class FaultInjector:
    """Current fault settings plus the seeded RNG that draws from them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def configure(self, raw: dict) -> dict:
        settings = _validated(dict(raw))
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings["seed"])
        return self.settings()

    def clear(self) -> None:
        self.configure({})

    def settings(self) -> dict:
        with self._lock:
            return {**self._settings, "error_codes": list(self._settings["error_codes"]),
                    "token_error_codes": list(self._settings["token_error_codes"])}

    def get(self, key: str):
        with self._lock:
            return self._settings[key]

    def chance(self, rate_key: str) -> bool:
        """Draw once: True with the probability set under ``rate_key``."""
        with self._lock:
            rate = self._settings[rate_key]
            return rate > 0 and self._rng.random() < rate

    def for_request(self) -> RequestFault:
        """Decide the fault (if any) for one API request."""
        with self._lock:
            s, rng = self._settings, self._rng
            sleep = s["latency_ms"] / 1000.0
            if s["down"]:
                return RequestFault(sleep, "down", 503)
            if s["error_rate"] and rng.random() < s["error_rate"]:
                return RequestFault(sleep, "error", rng.choice(s["error_codes"]))
            if s["timeout_rate"] and rng.random() < s["timeout_rate"]:
                sleep += float(s["timeout_seconds"])
            if s["reset_rate"] and rng.random() < s["reset_rate"]:
                return RequestFault(sleep, "reset", 502)
            return RequestFault(sleep)

    def for_token_request(self) -> RequestFault:
        """Decide the fault (if any) for one request to the OAuth token endpoint."""
        with self._lock:
            s, rng = self._settings, self._rng
            sleep = s["token_latency_ms"] / 1000.0
            if s["token_down"]:
                return RequestFault(sleep, "down", 503)
            if s["token_error_rate"] and rng.random() < s["token_error_rate"]:
                return RequestFault(sleep, "error", rng.choice(s["token_error_codes"]))
            return RequestFault(sleep)
