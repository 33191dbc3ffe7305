"""The sandbox's components, built from configuration and kept in ``app.extensions``.

Contract:
- ``DEFAULT_CONFIG`` lists every configuration key and its default; ``Sandbox.build(config)``
  merges a partial mapping over it (unknown keys are kept but unused).
- ``get_sandbox()`` returns the ``Sandbox`` of the current Flask app.
- ``Sandbox.settings`` holds the knobs the control API may change at run time
  (``SETTING_KEYS``); ``update_settings`` validates and applies them to the components.
- ``Sandbox.reset()`` re-seeds the store and clears faults, stats, the webhook queue and log,
  and (unless asked to keep them) webhooks and OAuth tokens; settings return to the config.
- ``Sandbox.base_url()`` is ``PUBLIC_URL`` when configured, else derived from the request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app, request

from .faults import FaultInjector
from .oauth_store import OAuthStore
from .ratelimit import TokenBucketLimiter
from .seed import ACCOUNT_ID, DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from .state import SandboxState
from .stats import Stats
from .webhooks import WebhookSender

EXTENSION_KEY = "lever_sandbox"

DEFAULT_CONFIG: dict = {
    "RATE_LIMIT_PER_SECOND": 10,
    "RATE_LIMIT_BURST": 20,
    "ACCESS_TOKEN_TTL": 3600,
    "WEBHOOK_RETRY_DELAYS": [1, 5, 30, 120, 600],
    "WEBHOOK_TIMEOUT": 10.0,        # seconds Lever waits for the receiver (not documented)
    "WEBHOOK_CONCURRENCY": 1,       # sender threads; 1 keeps deliveries in order
    "WEBHOOK_LOG_SIZE": 1000,       # Lever shows "up to 1,000 requests"
    "API_KEYS": [DEFAULT_API_KEY],
    "OAUTH_CLIENTS": {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET},
    "OAUTH_REDIRECT_URIS": None,    # client_id -> [uri]; None accepts any redirect_uri
    "PUBLIC_URL": None,
    "REQUIRE_TOGGLE": False,        # new API webhooks inactive until enabled (real Lever)
    "RETRY_AFTER_HEADER": False,    # add Retry-After to 429 (Lever documents none)
    "OAUTH_AUTO_APPROVE": False,    # GET /authorize redirects without the consent page
    "ENFORCE_SCOPES": False,        # 403 when a bearer token lacks the endpoint's scope
}

# run-time setting name -> accepted type(s)
SETTING_KEYS = {
    "require_toggle": bool, "retry_after_header": bool, "oauth_auto_approve": bool,
    "enforce_scopes": bool, "rate_limit_per_second": (int, float), "rate_limit_burst": int,
    "access_token_ttl": int, "webhook_retry_delays": list, "webhook_timeout": (int, float),
}


@dataclass
class Sandbox:
    """Everything one sandbox app needs, shared by its blueprints."""

    config: dict
    state: SandboxState
    oauth: OAuthStore
    limiter: TokenBucketLimiter
    faults: FaultInjector
    stats: Stats
    sender: WebhookSender
    secret: bytes

    @classmethod
    def build(cls, config: dict | None) -> Sandbox:
        cfg = {**DEFAULT_CONFIG, **(config or {})}
        secret = secrets.token_bytes(32)
        state, faults, stats = SandboxState(), FaultInjector(), Stats()
        sandbox = cls(
            config=cfg, state=state, faults=faults, stats=stats, secret=secret,
            oauth=OAuthStore(cfg["OAUTH_CLIENTS"], access_ttl=cfg["ACCESS_TOKEN_TTL"],
                             account_id=ACCOUNT_ID, signing_key=secret),
            limiter=TokenBucketLimiter(cfg["RATE_LIMIT_PER_SECOND"], cfg["RATE_LIMIT_BURST"]),
            sender=WebhookSender(targets=state.webhooks_for, is_active=state.webhook_active,
                                 faults=faults, stats=stats,
                                 retry_delays=cfg["WEBHOOK_RETRY_DELAYS"],
                                 timeout=cfg["WEBHOOK_TIMEOUT"],
                                 concurrency=cfg["WEBHOOK_CONCURRENCY"],
                                 log_size=cfg["WEBHOOK_LOG_SIZE"]),
        )
        sandbox._apply_config_settings()
        return sandbox

    def _apply_config_settings(self) -> None:
        cfg = self.config
        self.settings: dict = {}
        self.update_settings({
            "require_toggle": cfg["REQUIRE_TOGGLE"], "retry_after_header": cfg["RETRY_AFTER_HEADER"],
            "oauth_auto_approve": cfg["OAUTH_AUTO_APPROVE"], "enforce_scopes": cfg["ENFORCE_SCOPES"],
            "rate_limit_per_second": cfg["RATE_LIMIT_PER_SECOND"],
            "rate_limit_burst": cfg["RATE_LIMIT_BURST"],
            "access_token_ttl": cfg["ACCESS_TOKEN_TTL"],
            "webhook_retry_delays": list(cfg["WEBHOOK_RETRY_DELAYS"]),
            "webhook_timeout": cfg["WEBHOOK_TIMEOUT"],
        })

    def update_settings(self, raw: dict) -> dict:
        """Validate and apply run-time settings; raises ValueError on a bad key or value."""
        for key, value in raw.items():
            expected = SETTING_KEYS.get(key)
            if expected is None:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(SETTING_KEYS)}")
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise ValueError(f"setting {key!r} has the wrong type")
        delays = raw.get("webhook_retry_delays")
        if delays is not None and not all(
                isinstance(d, (int, float)) and not isinstance(d, bool) and d >= 0 for d in delays):
            raise ValueError("webhook_retry_delays must be a list of seconds >= 0")
        merged = {**self.settings, **raw}
        self.limiter.configure(merged["rate_limit_per_second"], merged["rate_limit_burst"])
        self.oauth.access_ttl = merged["access_token_ttl"]
        self.sender.retry_delays = [float(d) for d in merged["webhook_retry_delays"]]
        self.sender.timeout = float(merged["webhook_timeout"])
        self.settings = merged
        return dict(merged)

    def reset(self, *, keep_webhooks: bool = False, keep_oauth: bool = False) -> None:
        self.state.reseed(keep_webhooks=keep_webhooks)
        if not keep_oauth:
            self.oauth.reset()
        self.faults.clear()
        self.stats.reset()
        self.limiter.reset()
        self.sender.clear()
        self._apply_config_settings()

    def base_url(self) -> str:
        public = self.config.get("PUBLIC_URL")
        if public:
            return str(public).rstrip("/")
        return request.host_url.rstrip("/") + request.script_root

    def close(self) -> None:
        self.sender.stop()


def get_sandbox() -> Sandbox:
    """The ``Sandbox`` of the current app."""
    return current_app.extensions[EXTENSION_KEY]
