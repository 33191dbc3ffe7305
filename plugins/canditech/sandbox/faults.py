"""Fault injection settings of the Canditech sandbox, with a seeded random generator.

Contract:

* ``Faults.configure(mapping)`` REPLACES the settings: every key not given goes back to its
  default from ``DEFAULTS``, and the generator is reseeded with ``seed`` (default 0), so the
  same configuration followed by the same requests gives the same faults. Unknown keys or bad
  values raise ``SandboxError(400, "validation_error")``.
* ``Faults.clear()`` is ``configure({})``: no faults.
* ``Faults.api_fault()`` decides the random fault of one ``/v1`` request: ``None``, or one of
  ``("error", status)``, ``("timeout", seconds)``, ``("reset",)``. Rolls happen in a fixed order
  (error, timeout, reset) under the lock. (``down`` is a plain switch, read with ``get``.)
* ``Faults.roll(name)`` is one Bernoulli draw with the rate setting ``name``.
"""

from __future__ import annotations

import random
import threading

from . import wire
from .state import SandboxError

DEFAULTS: dict = {
    "error_rate": 0.0,             # fraction of /v1 calls answered with a code from error_codes
    "error_codes": [500, 503, 429],
    "latency_ms": 0,               # added to every /v1 call
    "latency_after_ms": 0,         # added after a /v1 call took effect, before its answer
    "timeout_rate": 0.0,           # fraction of /v1 calls that stall for timeout_seconds
    "timeout_seconds": 10.0,
    "reset_rate": 0.0,             # fraction of /v1 calls whose connection is closed unanswered
    "fault_after_processing": False,  # error/timeout/reset after the call took effect
    "webhook_drop_rate": 0.0,      # fraction of events whose first attempt is silently dropped
    "webhook_drop_forever": False,  # ...and every later attempt too (the event is lost)
    "webhook_duplicate_rate": 0.0,  # fraction of events delivered twice (same event id)
    "webhook_reorder": False,      # hold events and send each batch in reverse order
    "webhook_reorder_batch": 2,    # batch size that releases held events
    "webhook_reorder_hold_ms": 1000,  # or the age of the oldest held event that releases them
    "thin_webhooks": False,        # data carries only {"invitation": {"id": ...}}
    "down": False,                 # every /v1 call answers 503
    "seed": 0,
}

_RATES = ("error_rate", "timeout_rate", "reset_rate", "webhook_drop_rate",
          "webhook_duplicate_rate")
_BOOLS = ("fault_after_processing", "webhook_drop_forever", "webhook_reorder",
          "thin_webhooks", "down")
_NUMBERS = ("latency_ms", "latency_after_ms", "timeout_seconds", "webhook_reorder_hold_ms")


def _invalid(message: str) -> SandboxError:
    return SandboxError(400, wire.ERR_VALIDATION, message)


def validate(mapping: dict) -> dict:
    """Defaults overlaid with ``mapping``, checked; raises ``SandboxError`` on bad input."""
    if not isinstance(mapping, dict):
        raise _invalid("faults must be a JSON object")
    unknown = sorted(set(mapping) - set(DEFAULTS))
    if unknown:
        raise _invalid(f"unknown fault setting(s): {', '.join(unknown)}")
    settings = {**DEFAULTS, "error_codes": list(DEFAULTS["error_codes"]), **mapping}
    for key in _RATES:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise _invalid(f"{key}: must be a number between 0 and 1")
    for key in _BOOLS:
        if not isinstance(settings[key], bool):
            raise _invalid(f"{key}: must be true or false")
    for key in _NUMBERS:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _invalid(f"{key}: must be a number >= 0")
    codes = settings["error_codes"]
    if (not isinstance(codes, list) or not codes
            or not all(isinstance(c, int) and 400 <= c <= 599 for c in codes)):
        raise _invalid("error_codes: must be a non-empty list of HTTP error statuses")
    batch = settings["webhook_reorder_batch"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise _invalid("webhook_reorder_batch: must be an integer >= 1")
    if isinstance(settings["seed"], bool) or not isinstance(settings["seed"], int):
        raise _invalid("seed: must be an integer")
    return settings


class Faults:
    """Current fault settings and the seeded generator that applies them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({})

    def configure(self, mapping: dict) -> dict:
        settings = validate(mapping)
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings["seed"])
        return self.snapshot()

    def clear(self) -> dict:
        return self.configure({})

    def snapshot(self) -> dict:
        with self._lock:
            return {**self._settings, "error_codes": list(self._settings["error_codes"])}

    def get(self, name: str):
        with self._lock:
            return self._settings[name]

    def roll(self, name: str) -> bool:
        with self._lock:
            rate = self._settings[name]
            return rate > 0 and self._rng.random() < rate

    def api_fault(self) -> tuple | None:
        with self._lock:
            s = self._settings
            if s["error_rate"] > 0 and self._rng.random() < s["error_rate"]:
                return ("error", self._rng.choice(s["error_codes"]))
            if s["timeout_rate"] > 0 and self._rng.random() < s["timeout_rate"]:
                return ("timeout", float(s["timeout_seconds"]))
            if s["reset_rate"] > 0 and self._rng.random() < s["reset_rate"]:
                return ("reset",)
            return None
