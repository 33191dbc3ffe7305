"""The sandbox's own signed webhooks, delivered over real HTTP to a hub served on loopback, after
``connect_sandbox`` set the connection up the way an admin would."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from hub.extensions import db
from hub.store.models import Event, WebhookLog
from tests.support.processes import free_port



@pytest.fixture
def served_hub(make_hub):
    port = free_port()
    hub = make_hub(PUBLIC_URL=f"http://127.0.0.1:{port}")
    server = make_server("127.0.0.1", port, hub.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_sandbox_webhooks_reach_the_hub_verified(served_hub, sandbox):
    hub = served_hub
    with hub.app.app_context():
        from hub import services

        services.set_enabled(hub.runtime, 1, "lever", True, "test")
    message = hub.call("connect_sandbox", sandbox_url=sandbox.base)
    assert "connected to the Lever sandbox" in message and "Super Admin" in message
    assert hub.integration()["settings"]["environment"] == "custom"

    stage_hook = next(w for w in sandbox.webhooks() if w["event"] == "candidateStageChange")
    test = sandbox.control("POST", f"/webhooks/{stage_hook['id']}/test")  # Lever's "Verify connection"
    assert test["ok"] and test["status_code"] == 200
    assert hub.integration()["verified_at"] is not None

    sandbox.control("POST", "/faults", json={"webhook_duplicate_rate": 1.0})
    sandbox.control("POST", "/opportunities/opp-alice/move", json={"stage_id": "stage-canditech"})
    assert sandbox.control("POST", "/webhooks/wait_idle", json={"timeout": 10})["idle"]
    deliveries = sandbox.control("GET", "/webhook_log?event=candidateStageChange")["data"]
    assert len(deliveries) == 2 and all(d["status_code"] == 200 for d in deliveries)

    with hub.app.app_context():
        events = db.session.scalars(sa.select(Event)).all()
        outcomes = [row.outcome for row in db.session.scalars(sa.select(WebhookLog).order_by(WebhookLog.id))]
    assert [(e.type, e.external_id, e.payload["to_stage_id"]) for e in events] == [
        ("stage_change", deliveries[0]["payload"]["id"], "stage-canditech")]
    assert outcomes == ["ping", "accepted", "duplicate"]


def test_a_webhook_lever_does_not_sign_is_refused_saying_what_to_do(served_hub, sandbox):
    """A webhook configured in Lever's UI before a signing token was generated carries no
    ``signature`` (lever.md §1.4): refused, saying to generate one and paste it; once pasted, the
    webhook's requests are taken."""
    hub = served_hub
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "k"})
    url = hub.with_ctx(lambda ctx: ctx.webhook_url)
    hook = sandbox.control("POST", "/manual_webhooks", json={"url": url, "event": "candidateStageChange",
                                                             "signed": False})
    test = sandbox.control("POST", f"/webhooks/{hook['id']}/test")
    assert test["status_code"] == 401
    with hub.app.app_context():
        (logged,) = db.session.scalars(sa.select(WebhookLog)).all()
    assert logged.outcome == "rejected" and "carries no signature" in logged.message
    assert "Generate one in Lever" in logged.message

    token = sandbox.control("POST", f"/manual_webhooks/{hook['id']}/regenerate")["signatureToken"]
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "k", "signature_tokens": token})
    again = sandbox.control("POST", f"/webhooks/{hook['id']}/test")
    assert again["ok"] and again["status_code"] == 200
    assert hub.integration()["verified_at"] is not None
