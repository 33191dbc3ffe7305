"""A stand-in for the plugin context, just enough for Vervoe's client and its token (``auth``),
for the client tests that talk to ``responses`` instead of the sandbox."""

from __future__ import annotations

import contextlib
import time

import requests

from plugins.vervoe import auth
from plugins.vervoe.settings import VervoeSettings

BASE = "https://vervoe.test/api"


class FakeCtx:
    """Just enough of the plugin context for the client and the token, with a usable token cached."""

    def __init__(self, token: bool = True):
        self.settings = {"base_url": BASE}
        self.secrets = {"api_key": "k", "api_secret": "s"}
        if token:
            settings = VervoeSettings.from_context(self)
            self.secrets.update({auth.TOKEN: "tok", auth.EXPIRES_AT: time.time() + 600,
                                 auth.KEY_ID: auth.key_id(settings)})
        self.http = requests.Session()
        self.statuses: list[tuple[str, str]] = []

    def rate_limiter(self, name, rate, burst):
        return self

    def acquire(self, timeout=None):
        return True

    def record_vendor_call(self, endpoint, status, seconds):
        pass

    def lock(self, name, ttl=None, wait=None):
        return contextlib.nullcontext()

    def reload(self):
        pass

    def update_secrets(self, values):
        self.secrets.update(values)

    def set_status(self, status, message):
        self.statuses.append((status, message))
