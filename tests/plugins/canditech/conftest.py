"""Fixtures for the Canditech plugin's hook tests: the Canditech sandbox over real HTTP, and a
real hub app (migrated SQLite, workspace 1, deliveries inline) served over HTTP too, so the
sandbox's signed webhooks reach the hub's real ingress."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

import plugins.canditech as canditech
from hub import hookimpl
from hub.entities import Candidate, InboundEvent, IntegrationSpec, StageChange
from plugins.canditech.sandbox import serve_in_thread

SANDBOX_KEY = "canditech-sandbox-key"
SANDBOX_SECRET = "sandbox-webhook-secret-0001"
STAGE = "stage-canditech"
OTHER_STAGE = "stage-phone-screen"
POSTING = "posting-backend"
# Answer key of the sandbox's seeded "Python Developer" (4 questions), written out independently.
PYTHON_ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}


class FakeSource:
    """A tiny source (ATS) plugin: candidates from a dict; records what the hub tells sources."""

    def __init__(self) -> None:
        self.candidates: dict[str, Candidate] = {}
        self.statuses: list[Any] = []
        self.results: list[Any] = []
        self.verdicts: list[Any] = []
        self.reads = 0

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Fake ATS"))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        self.reads += 1
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


class Sandbox:
    """The Canditech sandbox's control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, **kwargs) -> Any:
        response = requests.request(method, self.url + path, timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def invitations(self) -> list[dict]:
        return self._call("GET", "/_sandbox/invitations")["data"]

    def post_counts(self) -> dict[str, int]:
        return self._call("GET", "/_sandbox/invitations")["post_counts"]

    def api_calls(self) -> int:
        return sum(sum(c.values()) for route, c in self._call("GET", "/_sandbox/stats")["by_route"].items()
                   if " /v1/" in route)

    def complete(self, invitation_id: str, answers: dict) -> dict:
        return self._call("POST", f"/_sandbox/invitations/{invitation_id}/complete", json={"answers": answers})

    def verdict(self, invitation_id: str, verdict: str) -> dict:
        return self._call("POST", f"/_sandbox/invitations/{invitation_id}/verdict", json={"verdict": verdict})

    def faults(self, **settings: Any) -> None:
        self._call("POST", "/_sandbox/faults", json=settings)

    def flush(self) -> None:
        self._call("POST", "/_sandbox/webhooks/flush")

    def webhook_log(self) -> dict:
        return self._call("GET", "/_sandbox/webhook_log")

    def quiet(self, timeout: float = 3.0) -> None:
        """Wait until no webhook is queued or in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.webhook_log()
            if not log["pending"] and not log["in_flight"]:
                return
            time.sleep(0.02)


@dataclass
class HubEnv:
    app: Any
    runtime: Any
    source: FakeSource
    sandbox: Sandbox
    attachment_id: int
    events: list = field(default_factory=list)

    # ---- source side
    def candidate(self, opportunity_id: str = "opp-1", **overrides: Any) -> Candidate:
        current = self.source.candidates.get(opportunity_id) or Candidate(
            opportunity_id=opportunity_id, name="Ada Lovelace", email="ada@example.com", posting_id=POSTING,
            posting_title="Backend Engineer", stage_id=OTHER_STAGE)
        self.source.candidates[opportunity_id] = replace(current, **overrides)
        return self.source.candidates[opportunity_id]

    def ingest(self, event: Any, external_id: str | None = None, source: str = "fakesource"):
        from hub.engine.ingest import ingest

        outcome = ingest(self.runtime, 1, source, InboundEvent(external_id=external_id or uuid.uuid4().hex,
                                                              event=event))
        self.events.append(outcome)
        return outcome

    def move(self, opportunity_id: str = "opp-1", stage: str = STAGE, external_id: str | None = None):
        """The candidate moves into ``stage`` at the source, and the source's webhook says so."""
        self.candidate(opportunity_id, stage_id=stage)
        return self.ingest(StageChange(opportunity_id=opportunity_id, to_stage_id=stage), external_id)

    def call(self, hook: str, **kwargs: Any) -> Any:
        return self.runtime.registry.call("canditech", hook, ctx=self.runtime.context(1, "canditech"), **kwargs)

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

    def deliveries(self, plugin: str = "canditech") -> dict[str, int]:
        from hub.extensions import db
        from hub.store.models import Delivery

        rows = db.session.execute(sa.select(Delivery.status, sa.func.count()).where(Delivery.plugin == plugin)
                                  .group_by(Delivery.status)).all()
        db.session.commit()
        return dict(rows)

    def webhook_outcomes(self) -> list[tuple[str, str]]:
        from hub.extensions import db
        from hub.store.models import WebhookLog

        rows = [(w.outcome, w.message) for w in db.session.scalars(sa.select(WebhookLog).order_by(WebhookLog.id))]
        db.session.commit()
        return rows

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def sandbox_url():
    url, stop = serve_in_thread({"WEBHOOK_SECRET": SANDBOX_SECRET, "WEBHOOK_RETRY_DELAYS": [0.05, 0.1, 0.2],
                                 "RATE_LIMIT_PER_SECOND": 1000, "RATE_LIMIT_BURST": 1000})
    yield url
    stop()


@pytest.fixture
def sandbox(sandbox_url):
    box = Sandbox(sandbox_url)
    box._call("POST", "/_sandbox/reset", json={"config": True})
    return box


def canditech_settings(sandbox: Sandbox, **overrides: Any) -> dict:
    return {"base_url": sandbox.url, "api_key": SANDBOX_KEY, "webhook_secrets": SANDBOX_SECRET,
            "reconcile_after_minutes": 0, **overrides}


@pytest.fixture
def hub(make_app, sandbox):
    """The hub with the real Canditech plugin and a fake source, served over HTTP."""
    from hub import services
    from hub.extensions import db
    from hub.runtime import get_runtime

    source = FakeSource()
    app = make_app(plugins=[("canditech", canditech), ("fakesource", source)], entry_points=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-http", daemon=True)
    thread.start()
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    context = app.app_context()
    context.push()
    try:
        runtime = get_runtime()
        services.set_enabled(runtime, 1, "fakesource", True, "test")
        services.set_enabled(runtime, 1, "canditech", True, "test")
        services.save_settings(runtime, 1, "canditech", canditech_settings(sandbox), "test")
        attachment = services.save_attachment(1, {
            "posting_id": POSTING, "posting_name": "Backend Engineer", "stage_id": STAGE,
            "stage_name": "Canditech Stage", "provider": "canditech", "assessment_id": "asmt-python",
            "assessment_name": "Python Developer"}, "test")
        attachment_id = attachment.id
        db.session.commit()
        yield HubEnv(app, runtime, source, sandbox, attachment_id)
    finally:
        sandbox.quiet()
        db.session.remove()
        context.pop()
        server.shutdown()
        server.server_close()
        thread.join(5)
