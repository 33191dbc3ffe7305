"""Fixtures for the Vervoe plugin's tests: the Vervoe sandbox over real HTTP, every exchange with
its API recorded and validated against Vervoe's OpenAPI document, and a real hub (migrated SQLite,
workspace 1, deliveries inline, the plugin loaded from its entry point) served over HTTP too, so
the sandbox's signed report webhooks reach the hub's real ingress."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from hub import hookimpl
from hub.entities import Candidate, InboundEvent, IntegrationSpec, StageChange
from plugins.vervoe.sandbox import serve_in_thread

from .openapi import Exchange, VervoeOpenAPI

SANDBOX_KEY = "vervoe-sandbox-key"
SANDBOX_SECRET = "vervoe-sandbox-secret"
WEBHOOK_SECRET = "vervoe-webhook-secret-0001"
STAGE = "stage-vervoe"
OTHER_STAGE = "stage-phone-screen"
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


# --------------------------------------------------------------------------- a tiny source plugin


class FakeSource:
    """A tiny source (ATS) plugin: candidates from a dict; records what the hub tells sources."""

    def __init__(self) -> None:
        self.candidates: dict[str, Candidate] = {}
        self.statuses: list[Any] = []
        self.results: list[Any] = []
        self.verdicts: list[Any] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Fake ATS"))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        return self.candidates.get(opportunity_id)

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        self.statuses.append(progress)

    @hookimpl
    def on_assessment_completed(self, ctx, result):
        self.results.append(result)

    @hookimpl
    def on_verdict(self, ctx, verdict):
        self.verdicts.append(verdict)


@dataclass
class HubEnv:
    app: Any
    runtime: Any
    source: FakeSource
    sandbox: Sandbox
    attachment_id: int
    url: str
    events: list = field(default_factory=list)

    # ---- source side
    def candidate(self, opportunity_id: str = "opp-1", **overrides: Any) -> Candidate:
        current = self.source.candidates.get(opportunity_id) or Candidate(
            opportunity_id=opportunity_id, name="Ada Lovelace", email="ada@example.com", posting_id=POSTING,
            posting_title="Backend Engineer", stage_id=OTHER_STAGE)
        self.source.candidates[opportunity_id] = replace(current, **overrides)
        return self.source.candidates[opportunity_id]

    def ingest(self, event: Any, external_id: str | None = None):
        from hub.engine.ingest import ingest

        outcome = ingest(self.runtime, 1, "fakesource",
                         InboundEvent(external_id=external_id or uuid.uuid4().hex, event=event))
        self.events.append(outcome)
        return outcome

    def move(self, opportunity_id: str = "opp-1", stage: str = STAGE, external_id: str | None = None):
        """The candidate moves into ``stage`` at the source, and the source's webhook says so."""
        self.candidate(opportunity_id, stage_id=stage)
        return self.ingest(StageChange(opportunity_id=opportunity_id, to_stage_id=stage), external_id)

    def ctx(self):
        return self.runtime.context(1, "vervoe")

    def call(self, hook: str, **kwargs: Any) -> Any:
        return self.runtime.registry.call("vervoe", hook, ctx=self.ctx(), **kwargs)

    def secrets(self) -> dict:
        return self.ctx().secrets

    # ---- hub side
    def invitations(self) -> list:
        from hub.engine.invitations import to_entity
        from hub.extensions import db
        from hub.store.models import Invitation

        rows = [to_entity(r) for r in db.session.scalars(sa.select(Invitation).order_by(Invitation.id))]
        db.session.commit()
        return rows

    def invitation(self):
        (only,) = self.invitations()
        return only

    def update_invitation(self, invitation_id: int, **values: Any) -> None:
        from hub.extensions import db
        from hub.store.models import Invitation

        db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id).values(**values))
        db.session.commit()

    def timeline(self, invitation_id: int) -> list[tuple[str, str]]:
        from hub.extensions import db
        from hub.store.models import TimelineEntry

        rows = [(t.kind, t.detail) for t in db.session.scalars(
            sa.select(TimelineEntry).where(TimelineEntry.invitation_id == invitation_id).order_by(TimelineEntry.id))]
        db.session.commit()
        return rows

    def deliveries(self, plugin: str = "vervoe") -> dict[str, int]:
        from hub.extensions import db
        from hub.store.models import Delivery

        rows = db.session.execute(sa.select(Delivery.status, sa.func.count()).where(Delivery.plugin == plugin)
                                  .group_by(Delivery.status)).all()
        db.session.commit()
        return dict(rows)

    def webhook_outcomes(self) -> list[tuple[str, int, str]]:
        from hub.extensions import db
        from hub.store.models import WebhookLog

        rows = [(w.outcome, w.status_code, w.message) for w in
                db.session.scalars(sa.select(WebhookLog).where(WebhookLog.plugin == "vervoe").order_by(WebhookLog.id))]
        db.session.commit()
        return rows

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

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)


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
    from hub import services
    from hub.extensions import db
    from hub.runtime import get_runtime

    source = FakeSource()
    app = fast_app({"PLUGINS": "vervoe,fakesource"}, plugins=[("fakesource", source)], entry_points=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-http",
                              daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    context = app.app_context()
    context.push()
    try:
        runtime = get_runtime()
        services.set_enabled(runtime, 1, "fakesource", True, "test")
        services.set_enabled(runtime, 1, "vervoe", True, "test")
        services.save_settings(runtime, 1, "vervoe", vervoe_settings(sandbox), "test")
        attachment = services.save_attachment(1, {
            "posting_id": POSTING, "posting_name": "Backend Engineer", "stage_id": STAGE,
            "stage_name": "Vervoe Stage", "provider": "vervoe", "assessment_id": SLUG,
            "assessment_name": "Backend developer test"}, "test")
        attachment_id = attachment.id
        db.session.commit()
        env = HubEnv(app, runtime, source, sandbox, attachment_id, url)
        sandbox.config(webhook_url=url + env.webhook_path(), webhook_secret=WEBHOOK_SECRET)
        yield env
    finally:
        sandbox.quiet()
        db.session.remove()
        context.pop()
        server.shutdown()
        server.server_close()
        thread.join(5)
