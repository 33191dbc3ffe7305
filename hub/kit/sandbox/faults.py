"""Fault injection of a vendor sandbox, with a seeded random generator.

Contract:

* ``Faults(extra=None)``: the settings are ``DEFAULTS`` plus the sandbox's own ``extra`` ones
  (name -> default). A setting is checked by its kind: a name ending in ``_rate`` is a probability
  (0 to 1), a boolean default wants a boolean, any other number a number >= 0;
  ``error_codes`` (HTTP error statuses), ``webhook_reorder_batch`` (an integer >= 1) and ``seed``
  (an integer) are checked as such.
* ``configure(mapping)`` REPLACES the settings: every key not given goes back to its default, and
  the generator is reseeded with ``seed``, so the same settings followed by the same requests give
  the same faults. Unknown keys or bad values raise ``InvalidFaults`` (a ``ValueError``, message
  safe to show); the sandbox answers it with its own error body. Returns ``snapshot()``.
* ``clear()`` is ``configure({})``: no faults. ``snapshot()`` a copy of the settings; ``get(name)``
  one setting.
* ``api_fault()`` decides the random fault of one API request: ``None``, ``("error", status)``
  (a status from ``error_codes``), ``("timeout", seconds)`` or ``("reset",)``. The draws happen
  in that order under one lock; the timeout and reset draws only where the sandbox has the extra
  settings ``timeout_rate`` + ``timeout_seconds`` and ``reset_rate``. (``down``, ``latency_ms``
  and ``fault_after_processing`` are plain settings the sandbox's API reads with ``get``.)
* ``roll(name)`` is one Bernoulli draw with the rate setting ``name``.

The webhook settings (``webhook_*``) are read by ``hub.kit.sandbox.webhooks.WebhookSender``.
"""

from __future__ import annotations

import random
import threading
from typing import Any

DEFAULTS: dict[str, Any] = {
    "error_rate": 0.0,              # fraction of API calls answered with a code from error_codes
    "error_codes": [500, 503, 429],
    "latency_ms": 0,                # added to every API call
    "fault_after_processing": False,  # the error comes after the call took effect
    "down": False,                  # every API call answers 503
    "webhook_drop_rate": 0.0,       # fraction of events whose first attempt is silently dropped
    "webhook_drop_forever": False,  # ...and every later attempt too (the event is lost)
    "webhook_duplicate_rate": 0.0,  # fraction of events delivered twice (same event)
    "webhook_reorder": False,       # hold events and send each batch in reverse order
    "webhook_reorder_batch": 2,     # batch size that releases held events
    "webhook_reorder_hold_ms": 1000,  # or the age of the oldest held event that releases them
    "seed": 0,
}


class InvalidFaults(ValueError):
    """A fault setting that does not exist or has a bad value."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Faults:
    """Current fault settings and the seeded generator that applies them."""

    def __init__(self, extra: dict[str, Any] | None = None) -> None:
        self.defaults = {**DEFAULTS, **(extra or {})}
        self._lock = threading.Lock()
        self.configure({})

    def validate(self, mapping: dict) -> dict:
        """Defaults overlaid with ``mapping``, checked; raises ``InvalidFaults``."""
        if not isinstance(mapping, dict):
            raise InvalidFaults("faults must be a JSON object")
        unknown = sorted(set(mapping) - set(self.defaults))
        if unknown:
            raise InvalidFaults(f"unknown fault setting(s): {', '.join(unknown)}")
        settings = {**self.defaults, "error_codes": list(self.defaults["error_codes"]), **mapping}
        for key, default in self.defaults.items():
            value = settings[key]
            if key.endswith("_rate"):
                if not _is_number(value) or not 0 <= value <= 1:
                    raise InvalidFaults(f"{key}: must be a number between 0 and 1")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise InvalidFaults(f"{key}: must be true or false")
            elif _is_number(default) and key not in ("webhook_reorder_batch", "seed"):
                if not _is_number(value) or value < 0:
                    raise InvalidFaults(f"{key}: must be a number >= 0")
        codes = settings["error_codes"]
        if not isinstance(codes, list) or not codes or not all(
                isinstance(c, int) and not isinstance(c, bool) and 400 <= c <= 599 for c in codes):
            raise InvalidFaults("error_codes: must be a non-empty list of HTTP error statuses")
        batch = settings["webhook_reorder_batch"]
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidFaults("webhook_reorder_batch: must be an integer >= 1")
        if isinstance(settings["seed"], bool) or not isinstance(settings["seed"], int):
            raise InvalidFaults("seed: must be an integer")
        return settings

    def configure(self, mapping: dict) -> dict:
        settings = self.validate(mapping)
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings["seed"])
        return self.snapshot()

    def clear(self) -> dict:
        return self.configure({})

    def snapshot(self) -> dict:
        with self._lock:
            return {**self._settings, "error_codes": list(self._settings["error_codes"])}

    def get(self, name: str) -> Any:
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
            if s.get("timeout_rate", 0) > 0 and self._rng.random() < s["timeout_rate"]:
                return ("timeout", float(s["timeout_seconds"]))
            if s.get("reset_rate", 0) > 0 and self._rng.random() < s["reset_rate"]:
                return ("reset",)
            return None
