"""Fixtures for the Lever plugin's tests: a hub app that loads only the Lever plugin, a Lever
sandbox served over real HTTP, and helpers to configure the connection and call its hooks."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hub import services
from hub.runtime import get_runtime
from plugins.lever.sandbox import SEED, serve_in_thread

CLIENT_ID = SEED["oauth_client_id"]
CLIENT_SECRET = SEED["oauth_client_secret"]
API_KEY = SEED["api_key"]
WORKSPACE = 1


class Sandbox:
    """A running Lever sandbox and its control API."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def control(self, method: str, path: str, **kwargs):
        response = self.http.request(method, f"{self.base}/_sandbox{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def stats(self) -> dict:
        return self.control("GET", "/stats")

    def notes(self, opportunity_id: str) -> list[dict]:
        return self.control("GET", f"/opportunities/{opportunity_id}/notes")["data"]

    def tags(self, opportunity_id: str) -> list[str]:
        return self.control("GET", f"/opportunities/{opportunity_id}/tags")["data"]

    def opportunity(self, opportunity_id: str) -> dict:
        return self.control("GET", f"/opportunities/{opportunity_id}")

    def webhooks(self) -> list[dict]:
        return self.control("GET", "/webhooks")["data"]

    def route_count(self, route: str) -> int:
        return self.stats().get("requests_by_route", {}).get(route, 0)

    def consent(self, authorize_url: str, decision: str = "allow") -> dict[str, str]:
        """Drive the consent page like a browser; returns the callback's query parameters."""
        page = self.http.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        fields = {html.unescape(name): html.unescape(value) for name, value in
                  re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
        assert {"client_id", "redirect_uri", "state", "audience", "scope"} <= set(fields)
        answer = self.http.post(f"{self.base}/authorize", data={**fields, "decision": decision},
                                allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def sandbox():
    base, stop = serve_in_thread()
    handle = Sandbox(base)
    yield handle
    handle.close()
    stop()


class Hub:
    """A hub app with the Lever plugin only, and shortcuts to configure and call it."""

    def __init__(self, app):
        self.app = app

    @property
    def runtime(self):
        return get_runtime(self.app)

    def configure(self, settings: dict) -> None:
        with self.app.app_context():
            services.set_enabled(self.runtime, WORKSPACE, "lever", True, "test")
            services.save_settings(self.runtime, WORKSPACE, "lever", settings, "test")

    def call(self, hook: str, **kwargs):
        with self.app.app_context():
            ctx = self.runtime.context(WORKSPACE, "lever")
            return self.runtime.registry.call("lever", hook, ctx=ctx, **kwargs)

    def with_ctx(self, fn):
        """Run ``fn(ctx)`` inside an app context with a fresh context object."""
        with self.app.app_context():
            return fn(self.runtime.context(WORKSPACE, "lever"))

    def secrets(self) -> dict:
        return self.with_ctx(lambda ctx: ctx.secrets)

    def records(self, prefix: str = "") -> dict:
        return self.with_ctx(lambda ctx: {k: ctx.records.get(k) for k in ctx.records.keys(prefix)})

    def integration(self):
        with self.app.app_context():
            row = self.runtime.integration(WORKSPACE, "lever")
            return {"status": row.status, "status_message": row.status_message, "settings": dict(row.settings),
                    "verified_at": row.verified_at}


@pytest.fixture
def make_hub(make_app):
    def factory(**overrides) -> Hub:
        config = {"PLUGINS": "lever", "LEVER_CLIENT_ID": CLIENT_ID, "LEVER_CLIENT_SECRET": CLIENT_SECRET,
                  "LEVER_RETRY_BASE_SECONDS": 0.001, "LEVER_RETRY_MAX_SECONDS": 0.01}
        config.update(overrides)
        return Hub(make_app(overrides=config))

    return factory


@pytest.fixture
def hub(make_hub) -> Hub:
    return make_hub()


@pytest.fixture
def api_key_hub(hub, sandbox) -> Hub:
    """The hub connected to the sandbox with the sandbox's API key."""
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key", "api_key": API_KEY})
    return hub


def oauth_connect(hub: Hub, sandbox: Sandbox) -> dict[str, str]:
    """Connect ``hub`` to ``sandbox`` with OAuth through the consent page; returns the callback params."""
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    redirect = "http://hub.test/integrations/lever/oauth/callback"
    url = hub.call("oauth_authorize_url", redirect_uri=redirect, state="state-123")
    params = sandbox.consent(url)
    assert params["state"] == "state-123"
    hub.call("oauth_complete", redirect_uri=redirect, params=params)
    return params


@pytest.fixture
def oauth_hub(hub, sandbox) -> Hub:
    """The hub connected to the sandbox with OAuth (consent page driven over HTTP)."""
    oauth_connect(hub, sandbox)
    return hub
