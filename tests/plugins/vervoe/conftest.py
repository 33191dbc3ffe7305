"""Fixtures for the Vervoe plugin's tests: the Vervoe sandbox over real HTTP, every exchange with
its API recorded and validated against Vervoe's OpenAPI document, and a real hub (migrated SQLite,
workspace 1, deliveries inline, the plugin loaded from its entry point) served over HTTP too
(``hub.testing.ProviderHub``), so the sandbox's signed report webhooks reach the hub's real ingress."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from typing import Any

import pytest
import requests
import responses

from hub.testing import ProviderHub, RecordingSource, provider_hub
from plugins.vervoe.sandbox import serve_in_thread

from .openapi import Exchange, VervoeOpenAPI

SANDBOX_KEY = "vervoe-sandbox-key"
SANDBOX_SECRET = "vervoe-sandbox-secret"
WEBHOOK_SECRET = "vervoe-webhook-secret-0001"
STAGE = "stage-vervoe"
OTHER_STAGE = provider_hub.OTHER_STAGE  # where a new candidate starts
POSTING = "posting-backend"
SLUG = "backend-developer-test"
# The seeded "Backend developer test" answer key (4 questions), written out independently.
BACKEND_ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}


@pytest.fixture(scope="session")
def spec() -> VervoeOpenAPI:
    return VervoeOpenAPI()


# --------------------------------------------------------------------------- the sandbox


class Sandbox:
    """The Vervoe sandbox's control API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = url + "/api"

    def call(self, method: str, path: str, **kwargs) -> Any:
        response = requests.request(method, self.url + path, timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def user_assessments(self) -> list[dict]:
        return self.call("GET", "/_sandbox/user-assessments")["data"]

    def only(self) -> dict:
        (found,) = self.user_assessments()
        return found

    def stats(self) -> dict:
        return self.call("GET", "/_sandbox/stats")

    def invite_posts(self) -> dict[str, int]:
        return self.stats()["invite_posts"]

    def act(self, uuid: str, action: str, **body: Any) -> dict:
        return self.call("POST", f"/_sandbox/user-assessments/{uuid}/{action}", json=body)

    def config(self, **values: Any) -> dict:
        return self.call("POST", "/_sandbox/config", json=values)

    def faults(self, **settings: Any) -> dict:
        return self.call("POST", "/_sandbox/faults", json=settings)

    def webhook_log(self) -> dict:
        return self.call("GET", "/_sandbox/webhook_log")

    def hold_webhooks(self, **faults: Any) -> dict:
        """Hold every report webhook from now on (with other ``faults`` too: setting faults replaces
        them all) until ``release_webhooks``: the sandbox kit's reorder fault, with a batch and a hold
        time no test reaches."""
        return self.faults(webhook_reorder=True, webhook_reorder_batch=10000,
                           webhook_reorder_hold_ms=3_600_000, **faults)

    def release_webhooks(self, timeout: float = 5.0) -> None:
        """Clear the faults and send the held report webhooks now (in reverse order); wait for them."""
        self.faults()
        self.call("POST", "/_sandbox/webhooks/flush")
        self.quiet(timeout)

    def quiet(self, timeout: float = 5.0) -> None:
        """Wait until no webhook is queued or in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.webhook_log()
            if not log["pending"] and not log["in_flight"]:
                return
            time.sleep(0.02)
        raise AssertionError("the sandbox's webhooks did not settle")


@pytest.fixture(scope="module")
def sandbox_url():
    url, stop = serve_in_thread({"WEBHOOK_RETRY_DELAYS": [0.05, 0.1, 0.2], "PAGE_SIZE": 2})
    yield url
    stop()


@pytest.fixture
def sandbox(sandbox_url) -> Sandbox:
    box = Sandbox(sandbox_url)
    box.call("POST", "/_sandbox/reset", json={"config": True})
    return box


# --------------------------------------------------------------------------- the API recorder


class Recorder:
    """Every request sent to the sandbox's ``/api`` and its answer, as they went over the wire."""

    def __init__(self, spec: VervoeOpenAPI, api_prefix: str) -> None:
        self.spec = spec
        self.api_prefix = api_prefix
        self.exchanges: list[Exchange] = []
        self.checked = 0
        self._lock = threading.Lock()
        self._invalid_requests = False
        self._response_only: set[int] = set()

    def record(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        if not request.url.startswith(self.api_prefix):
            return
        body = request.body.encode() if isinstance(request.body, str) else request.body
        exchange = Exchange(request.method, request.url, dict(request.headers), body, response.status_code,
                            dict(response.headers), response.content)
        with self._lock:
            self.exchanges.append(exchange)
            if self._invalid_requests:
                self._response_only.add(id(exchange))

    @contextlib.contextmanager
    def invalid_requests(self):
        """Requests sent on purpose against the document (to see the sandbox's error answers): only
        their responses are validated."""
        self._invalid_requests = True
        try:
            yield
        finally:
            self._invalid_requests = False

    def operations(self) -> set[str]:
        return {self.spec.match(e.method, e.url).name for e in self.exchanges}

    def check(self) -> int:
        """Validate every exchange recorded so far; returns how many there were."""
        with self._lock:
            pending = self.exchanges[self.checked:]
            self.checked = len(self.exchanges)
        for exchange in pending:
            if id(exchange) not in self._response_only:
                self.spec.validate_request(exchange.method, exchange.url, exchange.headers, exchange.body)
            self.spec.validate_response(exchange.method, exchange.url, exchange.status, exchange.response_headers,
                                        exchange.response_body)
        return self.checked

    def clear(self) -> None:
        with self._lock:
            self.exchanges.clear()
            self._response_only.clear()
            self.checked = 0


@pytest.fixture(autouse=True)
def api_exchanges(request, spec, monkeypatch):
    """Records every exchange with a sandbox's API (any test using ``sandbox``) and validates them
    all against the OpenAPI document when the test ends."""
    if "sandbox_url" not in request.fixturenames:
        yield None
        return
    recorder = Recorder(spec, request.getfixturevalue("sandbox_url") + "/api/")
    original = requests.Session.send

    def send(self, prepared, **kwargs):
        response = original(self, prepared, **kwargs)
        recorder.record(prepared, response)
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    yield recorder
    recorder.check()


# --------------------------------------------------------------------------- the hub


class HubEnv(ProviderHub):
    """The hub (``hub.testing.ProviderHub``) with the Vervoe plugin, and the Vervoe sandbox."""

    sandbox: Sandbox

    def secrets(self) -> dict:
        return self.ctx().secrets

    def webhook_outcomes(self) -> list[tuple[str, int, str]]:
        return [(w.outcome, w.status_code, w.message) for w in self.webhook_log()]

    def integration(self):
        """The integration row, read in a transaction that is closed again (on SQLite the hub begins
        transactions IMMEDIATE: one left open here would block the hub's other threads)."""
        from hub.extensions import db

        row = self.runtime.integration(1, "vervoe")
        db.session.expunge(row)
        db.session.commit()
        return row

    def webhook_path(self) -> str:
        return f"/webhooks/vervoe/{self.integration().webhook_key}"


def vervoe_settings(sandbox: Sandbox, **overrides: Any) -> dict:
    return {"base_url": sandbox.api, "api_key": SANDBOX_KEY, "api_secret": SANDBOX_SECRET,
            "webhook_secret": WEBHOOK_SECRET, "reconcile_after_minutes": 0, **overrides}


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A migrated SQLite database with workspace 1, made once per session (migrating takes ~1 s)."""
    from hub.extensions import db
    from hub.testing import make_test_app

    folder = tmp_path_factory.mktemp("vervoe-hub-template")
    app = make_test_app(folder, {"PLUGINS": "none"}, entry_points=False)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # checkpoints SQLite's WAL into hub.db
    return folder / "hub.db"


@pytest.fixture
def fast_app(request, tmp_path, migrated_template, postgres_database):
    """``make_app``'s equivalent (same signature) that copies a migrated SQLite database instead of
    migrating one per test (0.1 s instead of 1 s); on PostgreSQL it IS ``make_app``."""
    if postgres_database is not None:
        yield request.getfixturevalue("make_app")
        return
    from hub.testing import make_test_app

    from tests.conftest import TEST_KEYS

    apps = []

    def factory(overrides: dict | None = None, plugins: list | None = None, entry_points: bool = True):
        folder = tmp_path / f"hub{len(apps)}"
        folder.mkdir()
        shutil.copy(migrated_template, folder / "hub.db")
        app = make_test_app(folder, {"ENCRYPTION_KEYS": TEST_KEYS, **(overrides or {})}, plugins or [],
                            entry_points, "sqlite:///" + str(folder / "hub.db"), migrate=False)
        apps.append(app)
        return app

    yield factory
    from hub.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def hub(fast_app, sandbox):
    """The hub with the Vervoe plugin (from its entry point) and a fake source, served over HTTP;
    the sandbox's report webhook points at it."""
    source = RecordingSource()
    app = fast_app({"PLUGINS": "vervoe,fakesource"}, plugins=[("fakesource", source)], entry_points=True)
    attachment = {"posting_id": POSTING, "posting_name": "Backend Engineer", "stage_id": STAGE,
                  "stage_name": "Vervoe Stage", "assessment_id": SLUG, "assessment_name": "Backend developer test"}
    with HubEnv.serve(app, "vervoe", source, settings=vervoe_settings(sandbox), attachment=attachment) as env:
        env.sandbox = sandbox
        try:
            sandbox.config(webhook_url=env.url + env.webhook_path(), webhook_secret=WEBHOOK_SECRET)
            yield env
        finally:
            sandbox.quiet()


@pytest.fixture
def rsps():
    """``responses`` for a client test that stands in for Vervoe's API (every registered answer must be asked for)."""
    with responses.RequestsMock() as mock:
        yield mock
