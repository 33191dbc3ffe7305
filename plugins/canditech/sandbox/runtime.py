"""The Canditech sandbox's runtime: settings, store, faults, limits, stats and webhooks together.

Contract:

* One ``SandboxRuntime`` per Flask app, kept in ``app.extensions["canditech_sandbox"]``; get it
  with ``runtime()`` inside a request. Its settings live in the app's ``config`` mapping (the
  keys of ``DEFAULT_CONFIG``) and can change at run time through ``update_config`` (validated,
  under a lock).
* The transition methods (``start``, ``complete``, ``set_verdict``, ``expire``, ``cancel``)
  change the store and queue the implied webhooks (never blocking on the network), then return
  the invitation snapshot. Pages, the API and the control API all go through them, so a
  candidate submitting and ``/_sandbox/.../complete`` have the same effect.
* A webhook goes to the invitation's ``callback_url`` if it has one, else to ``WEBHOOK_URL``
  as configured when the event fires.
"""

from __future__ import annotations

import copy
import threading
import uuid
from urllib.parse import urlsplit

from flask import current_app

from . import wire
from .faults import Faults
from .limits import RateLimiter
from .state import Invitation, SandboxError, Store, to_wire
from .stats import Stats
from .webhooks import Dispatcher

EXTENSION_KEY = "canditech_sandbox"

DEFAULT_CONFIG: dict = {
    "API_KEYS": ["canditech-sandbox-key"],
    "WEBHOOK_URL": None,
    "WEBHOOK_SECRET": "canditech-sandbox-webhook-secret",
    # Canditech retries "for up to 3 days with growing gaps" (the team's notes): ~2.9 days in all
    "WEBHOOK_RETRY_DELAYS": [1, 5, 30, 120, 600, 3600, 10800, 21600, 43200, 86400, 86400],
    "WEBHOOK_TIMEOUT": 5.0,
    "WEBHOOK_WORKERS": 1,
    "RATE_LIMIT_PER_SECOND": 20,
    "RATE_LIMIT_BURST": 40,
    "PUBLIC_URL": None,
    "PAGE_SIZE": 2,
}

# Settings /_sandbox/config may change at run time (WEBHOOK_WORKERS is fixed at start).
RUNTIME_KEYS = tuple(k for k in DEFAULT_CONFIG if k != "WEBHOOK_WORKERS")


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_settings(mapping: dict) -> dict:
    """Upper-cased, checked copy of ``mapping``; ``SandboxError(400)`` names a bad key."""
    if not isinstance(mapping, dict):
        raise SandboxError(400, wire.ERR_VALIDATION, "config must be a JSON object")
    checked = {}
    for raw_key, value in mapping.items():
        key = str(raw_key).upper()
        ok = {
            "API_KEYS": lambda v: isinstance(v, list) and all(isinstance(k, str) and k for k in v),
            "WEBHOOK_URL": lambda v: v is None or is_http_url(v),
            "WEBHOOK_SECRET": lambda v: isinstance(v, str) and bool(v),
            "WEBHOOK_RETRY_DELAYS": lambda v: isinstance(v, list)
            and all(_is_number(d) and d >= 0 for d in v),
            "WEBHOOK_TIMEOUT": lambda v: _is_number(v) and v > 0,
            "WEBHOOK_WORKERS": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
            "RATE_LIMIT_PER_SECOND": lambda v: _is_number(v) and v >= 0,
            "RATE_LIMIT_BURST": lambda v: _is_number(v) and v >= 1,
            "PUBLIC_URL": lambda v: v is None or is_http_url(v),
            "PAGE_SIZE": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        }.get(key)
        if ok is None:
            raise SandboxError(400, wire.ERR_VALIDATION, f"{raw_key}: unknown setting")
        if not ok(value):
            raise SandboxError(400, wire.ERR_VALIDATION, f"{raw_key}: invalid value {value!r}")
        checked[key] = value.rstrip("/") if key == "PUBLIC_URL" and value else value
    return checked


class SandboxRuntime:
    """Everything the sandbox's blueprints share."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self._initial = {k: copy.deepcopy(config[k]) for k in RUNTIME_KEYS}
        self._lock = threading.Lock()
        self.store = Store()
        self.faults = Faults()
        self.limiter = RateLimiter()
        self.stats = Stats()
        self.dispatcher = Dispatcher(self._webhook_settings, self.faults,
                                     workers=config["WEBHOOK_WORKERS"])

    # --- settings ------------------------------------------------------------------------
    def setting(self, key: str):
        with self._lock:
            return copy.deepcopy(self.config[key])

    def update_config(self, mapping: dict) -> dict:
        checked = validate_settings(mapping)
        if "WEBHOOK_WORKERS" in checked:
            raise SandboxError(400, wire.ERR_VALIDATION, "WEBHOOK_WORKERS: fixed at start")
        with self._lock:
            self.config.update(checked)
        return self.config_snapshot()

    def config_snapshot(self) -> dict:
        with self._lock:
            return {k: copy.deepcopy(self.config[k]) for k in DEFAULT_CONFIG}

    def _webhook_settings(self) -> dict:
        with self._lock:
            return {"secret": self.config["WEBHOOK_SECRET"],
                    "retry_delays": list(self.config["WEBHOOK_RETRY_DELAYS"]),
                    "timeout": self.config["WEBHOOK_TIMEOUT"]}

    def reset(self, restore_config: bool = False) -> None:
        """Seed state, no faults, zeroed stats and buckets, empty webhook queue and log."""
        self.store.reset()
        self.faults.clear()
        self.limiter.reset()
        self.stats.reset()
        self.dispatcher.reset()
        if restore_config:
            with self._lock:
                self.config.update(copy.deepcopy(self._initial))

    def public_url(self, request_host_url: str) -> str:
        """Base of invite/report links: ``PUBLIC_URL`` or the URL the request came in on."""
        return self.setting("PUBLIC_URL") or request_host_url.rstrip("/")

    # --- transitions -----------------------------------------------------------------------
    def start(self, invitation_id: str) -> Invitation:
        inv, events = self.store.start(invitation_id)
        self._emit(events)
        return inv

    def complete(self, invitation_id: str, *, answers: dict | None = None,
                 score: int | None = None) -> Invitation:
        inv, events = self.store.complete(invitation_id, answers=answers, score=score)
        self._emit(events)
        return inv

    def set_verdict(self, invitation_id: str, verdict: str) -> Invitation:
        if verdict not in wire.VERDICTS:
            raise SandboxError(422, wire.ERR_VALIDATION,
                               f"verdict: must be one of {', '.join(wire.VERDICTS)}",
                               field="verdict")
        inv, events = self.store.set_verdict(invitation_id, verdict)
        self._emit(events)
        return inv

    def expire(self, invitation_id: str) -> Invitation:
        inv, events = self.store.expire(invitation_id)
        self._emit(events)
        return inv

    def cancel(self, invitation_id: str, finished_status: int = 409) -> Invitation:
        inv, events = self.store.cancel(invitation_id, finished_status)
        self._emit(events)
        return inv

    # --- webhooks --------------------------------------------------------------------------
    def event_body(self, event_type: str, inv: Invitation) -> dict:
        """The webhook body; ``thin_webhooks`` leaves only the invitation id in ``data``."""
        invitation = {"id": inv.id} if self.faults.get("thin_webhooks") else to_wire(inv)
        return {"id": str(uuid.uuid4()), "type": event_type, "created_at": wire.now_iso(),
                "data": {"invitation": invitation}}

    def _emit(self, events: list[tuple[str, Invitation]]) -> None:
        for event_type, inv in events:
            url = inv.callback_url or self.setting("WEBHOOK_URL")
            self.dispatcher.submit(self.event_body(event_type, inv), url)


def runtime() -> SandboxRuntime:
    """The runtime of the current app (inside a request or app context)."""
    return current_app.extensions[EXTENSION_KEY]
