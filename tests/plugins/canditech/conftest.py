"""Fixtures for the Canditech plugin's hook tests: the Canditech sandbox over real HTTP, and a
real hub app (migrated SQLite, workspace 1, deliveries inline) served over HTTP too
(``hub.testing.ProviderHub``), so the sandbox's signed webhooks reach the hub's real ingress."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import responses

import plugins.canditech as canditech
from hub.testing import ProviderHub, RecordingSource, provider_hub
from plugins.canditech.client import CanditechClient
from plugins.canditech.sandbox import serve_in_thread

from .helpers import FakeContext

SANDBOX_KEY = "canditech-sandbox-key"
SANDBOX_SECRET = "sandbox-webhook-secret-0001"
STAGE = "stage-canditech"
OTHER_STAGE = provider_hub.OTHER_STAGE  # where a new candidate starts
POSTING = "posting-backend"
# Answer key of the sandbox's seeded "Python Developer" (4 questions), written out independently.
PYTHON_ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}


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


def invited(hub):
    """Move opp-1 into the attached stage; return (hub invitation, sandbox invitation)."""
    hub.move()
    inv = hub.invitation()
    assert inv.status == "invited"
    (remote,) = hub.sandbox.invitations()
    return inv, remote


@pytest.fixture
def ctx():
    """A fake plugin context for one client's unit tests (``helpers.FakeContext``)."""
    context = FakeContext()
    yield context
    context.close()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps():
    """The pauses a ``client`` took, instead of sleeping."""
    return []


@pytest.fixture
def client(ctx, sleeps):
    return CanditechClient(ctx, sleep=sleeps.append)


class HubEnv(ProviderHub):
    """The hub (``hub.testing.ProviderHub``) with the Canditech plugin, and the Canditech sandbox."""

    sandbox: Sandbox

    def webhook_outcomes(self) -> list[tuple[str, str]]:
        return [(w.outcome, w.message) for w in self.webhook_log(plugin=None)]


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
    source = RecordingSource()
    app = make_app(plugins=[("canditech", canditech), ("fakesource", source)], entry_points=False)
    attachment = {"posting_id": POSTING, "posting_name": "Backend Engineer", "stage_id": STAGE,
                  "stage_name": "Canditech Stage", "assessment_id": "asmt-python",
                  "assessment_name": "Python Developer"}
    with HubEnv.serve(app, "canditech", source, settings=canditech_settings(sandbox), attachment=attachment) as env:
        env.sandbox = sandbox
        try:
            yield env
        finally:
            sandbox.quiet()
