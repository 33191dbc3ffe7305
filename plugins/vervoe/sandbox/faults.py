"""Fault injection of the Vervoe sandbox, with a seeded random generator.

* ``Faults.configure(mapping)`` REPLACES the settings (keys not given go back to ``DEFAULTS``) and
  reseeds the generator with ``seed``: the same settings and requests give the same faults.
  Unknown keys or bad values raise ``SandboxError(400)``.
* ``api_fault()`` decides one ``/api`` request's fault: None or ``("error", status)``.
  ``down`` answers 503 to every ``/api`` call; ``latency_ms`` delays each.
  With ``fault_after_processing`` the error is answered AFTER the call took effect (an invitation
  created, then 500: the client cannot know).
* Webhooks: ``webhook_drop_rate`` drops an event's first attempt silently (the retry follows) or,
  with ``webhook_drop_forever``, every attempt (the event is lost); ``webhook_duplicate_rate``
  sends an event twice; ``webhook_reorder`` holds events and sends each batch of
  ``webhook_reorder_batch`` (or whatever is held once the oldest is ``webhook_reorder_hold_ms``
  old) in reverse order. The keys are the Canditech sandbox's, so one fault setting fits both.
"""

from __future__ import annotations

import random
import threading

from .state import SandboxError

DEFAULTS: dict = {
    "error_rate": 0.0,
    "error_codes": [500, 503, 429],
    "latency_ms": 0,
    "fault_after_processing": False,
    "down": False,
    "webhook_drop_rate": 0.0,
    "webhook_drop_forever": False,
    "webhook_duplicate_rate": 0.0,
    "webhook_reorder": False,
    "webhook_reorder_batch": 2,
    "webhook_reorder_hold_ms": 1000,
    "seed": 0,
}
_RATES = ("error_rate", "webhook_drop_rate", "webhook_duplicate_rate")
_BOOLS = ("fault_after_processing", "down", "webhook_drop_forever", "webhook_reorder")


def validate(mapping: dict) -> dict:
    if not isinstance(mapping, dict):
        raise SandboxError(400, "faults must be a JSON object")
    unknown = sorted(set(mapping) - set(DEFAULTS))
    if unknown:
        raise SandboxError(400, f"unknown fault setting(s): {', '.join(unknown)}")
    settings = {**DEFAULTS, "error_codes": list(DEFAULTS["error_codes"]), **mapping}
    for key in _RATES:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise SandboxError(400, f"{key}: must be a number between 0 and 1")
    for key in _BOOLS:
        if not isinstance(settings[key], bool):
            raise SandboxError(400, f"{key}: must be true or false")
    for key in ("latency_ms", "webhook_reorder_hold_ms"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SandboxError(400, f"{key}: must be a number >= 0")
    batch = settings["webhook_reorder_batch"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SandboxError(400, "webhook_reorder_batch: must be an integer >= 1")
    codes = settings["error_codes"]
    if not isinstance(codes, list) or not codes or not all(
            isinstance(c, int) and not isinstance(c, bool) and 400 <= c <= 599 for c in codes):
        raise SandboxError(400, "error_codes: must be a non-empty list of HTTP error statuses")
    if isinstance(settings["seed"], bool) or not isinstance(settings["seed"], int):
        raise SandboxError(400, "seed: must be an integer")
    return settings


class Faults:
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
            return None
