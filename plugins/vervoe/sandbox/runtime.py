"""The Vervoe sandbox's runtime: settings, store, faults, webhooks and request counts together.

* One ``SandboxRuntime`` per Flask app, in ``app.extensions["vervoe_sandbox"]`` (``runtime()``
  inside a request). Settings are the keys of ``DEFAULT_CONFIG``; ``update_config`` changes them
  at run time (validated, any case: ``webhook_url`` = ``WEBHOOK_URL``).
* Transitions (``start``, ``complete``, ``grade``, ``hire``, ``unhire``, ``reject``, ``unreject``,
  ``expire``, ``reset``) go through here from the API, the pages and the control API alike: they
  change the store, then queue the report webhook(s) to ``WEBHOOK_URL`` (Vervoe's dashboard
  setting) without blocking.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, defaultdict
from urllib.parse import urlsplit

from flask import current_app

from .faults import Faults
from .state import SandboxError, Store, UserAssessment, webhook_json
from .webhooks import Dispatcher

EXTENSION_KEY = "vervoe_sandbox"

DEFAULT_CONFIG: dict = {
    "API_CREDENTIALS": [{"api_key": "vervoe-sandbox-key", "api_secret": "vervoe-sandbox-secret"}],
    "WEBHOOK_URL": None,
    "WEBHOOK_SECRET": "vervoe-sandbox-webhook-secret",
    "WEBHOOK_RETRY_DELAYS": [1, 5, 30, 120, 600, 3600],
    "WEBHOOK_TIMEOUT": 5.0,
    "TOKEN_TTL_SECONDS": 600,
    "AUTO_GRADE": True,
    "PAGE_SIZE": 10,
    "PUBLIC_URL": None,
}


def is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _credentials(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(c, dict) and isinstance(c.get("api_key"), str) and c["api_key"]
        and isinstance(c.get("api_secret"), str) and c["api_secret"] for c in value)


_CHECKS = {
    "API_CREDENTIALS": _credentials,
    "WEBHOOK_URL": lambda v: v is None or is_http_url(v),
    "WEBHOOK_SECRET": lambda v: isinstance(v, str) and bool(v),
    "WEBHOOK_RETRY_DELAYS": lambda v: isinstance(v, list) and all(_number(d) and d >= 0 for d in v),
    "WEBHOOK_TIMEOUT": lambda v: _number(v) and v > 0,
    "TOKEN_TTL_SECONDS": lambda v: _number(v) and v > 0,
    "AUTO_GRADE": lambda v: isinstance(v, bool),
    "PAGE_SIZE": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "PUBLIC_URL": lambda v: v is None or is_http_url(v),
}


def validate_settings(mapping: dict) -> dict:
    if not isinstance(mapping, dict):
        raise SandboxError(400, "config must be a JSON object")
    checked = {}
    for raw_key, value in mapping.items():
        key = str(raw_key).upper()
        check = _CHECKS.get(key)
        if check is None:
            raise SandboxError(400, f"{raw_key}: unknown setting")
        if not check(value):
            raise SandboxError(400, f"{raw_key}: invalid value")
        checked[key] = value.rstrip("/") if key == "PUBLIC_URL" and value else value
    return checked


class SandboxRuntime:
    def __init__(self, config: dict) -> None:
        self.config = config
        self._initial = {k: copy.deepcopy(config[k]) for k in DEFAULT_CONFIG}
        self._lock = threading.Lock()
        self.store = Store()
        self.faults = Faults()
        self.dispatcher = Dispatcher(self._webhook_settings, self.faults)
        self._counts: defaultdict[str, Counter] = defaultdict(Counter)

    # --- settings -------------------------------------------------------------------------
    def setting(self, key: str):
        with self._lock:
            return copy.deepcopy(self.config[key])

    def update_config(self, mapping: dict) -> dict:
        checked = validate_settings(mapping)
        with self._lock:
            self.config.update(checked)
        return self.config_snapshot()

    def config_snapshot(self) -> dict:
        with self._lock:
            return {k.lower(): copy.deepcopy(self.config[k]) for k in DEFAULT_CONFIG}

    def _webhook_settings(self) -> dict:
        with self._lock:
            return {"secret": self.config["WEBHOOK_SECRET"], "retry_delays": list(self.config["WEBHOOK_RETRY_DELAYS"]),
                    "timeout": self.config["WEBHOOK_TIMEOUT"]}

    def reset(self, restore_config: bool = False) -> None:
        self.store.reset()
        self.faults.clear()
        self.dispatcher.reset()
        with self._lock:
            self._counts.clear()
            if restore_config:
                self.config.update(copy.deepcopy(self._initial))

    def base_url(self, request_host_url: str) -> str:
        return self.setting("PUBLIC_URL") or request_host_url.rstrip("/")

    # --- request counts -------------------------------------------------------------------
    def count(self, route: str, status: int) -> None:
        with self._lock:
            self._counts[route][str(status)] += 1

    def stats(self) -> dict:
        with self._lock:
            by_route = {route: dict(c) for route, c in self._counts.items()}
        return {"by_route": by_route, "tokens_issued": self.store.tokens_issued,
                "invite_posts": {f"{email}|{slug}": n for (email, slug), n in self.store.invite_posts.items()}}

    # --- transitions ----------------------------------------------------------------------
    def _emit(self, events: list[UserAssessment]) -> None:
        for ua in events:
            self.dispatcher.submit(webhook_json(ua), self.setting("WEBHOOK_URL"))

    def _run(self, result) -> UserAssessment:
        snapshot, events = result
        self._emit(events)
        return snapshot

    def start(self, uuid: str) -> UserAssessment:
        return self._run(self.store.start(uuid))

    def complete(self, uuid: str, *, answers: dict | None = None, score: int | None = None) -> UserAssessment:
        return self._run(self.store.complete(uuid, answers=answers, score=score, auto_grade=self.setting("AUTO_GRADE")))

    def grade(self, uuid: str, score: int) -> UserAssessment:
        return self._run(self.store.grade(uuid, score))

    def hire(self, uuid: str) -> UserAssessment:
        return self._run(self.store.hire(uuid))

    def unhire(self, uuid: str) -> UserAssessment:
        return self._run(self.store.unhire(uuid))

    def reject(self, uuid: str) -> UserAssessment:
        return self._run(self.store.reject(uuid))

    def unreject(self, uuid: str) -> UserAssessment:
        return self._run(self.store.unreject(uuid))

    def expire(self, uuid: str) -> UserAssessment:
        return self._run(self.store.expire(uuid))

    def reset_assessment(self, uuid: str) -> UserAssessment:
        return self._run(self.store.reset_assessment(uuid))


def runtime() -> SandboxRuntime:
    return current_app.extensions[EXTENSION_KEY]
