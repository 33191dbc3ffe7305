"""Lever's token endpoint failing during a refresh, end to end over real HTTP: a hub connected to
the Lever sandbox with OAuth, its access token expired, runs a result note's write-back through
the delivery engine while the sandbox's token endpoint is down (``token_down``, an error rate) or
the grant is revoked at Lever (``/_sandbox/oauth/revoke``).

A transient failure is a retry later: the delivery retries, the connection is not "needs
re-authorization", the refresh token is kept, and once the endpoint is back the note is written
once after one refresh. A revoked grant is refused once: "needs re-authorization", the work
waits for a reconnection (no attempt spent) without offering the dead grant to Lever again, even
on a replay, and goes on at once when the admin connects again."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hub.engine.ingest import ingest
from hub.engine.runner import WAITING_FOR_RECONNECTION, replay, run_delivery
from hub.engine.sweeper import due_deliveries
from hub.entities import AssessmentResult, InboundEvent
from hub.extensions import db
from hub.store.models import D_DEAD, D_DONE, D_RETRY, Delivery

from .conftest import CLIENT_ID, oauth_connect
from .test_writeback import REPORT, make_invitation, note_texts, ref

DEADLINE = 60.0  # generous: a condition waited for, never a measured time


@pytest.fixture
def oauth_hub(make_hub, sandbox):
    """The hub connected to the sandbox with OAuth, retrying deliveries within milliseconds, and no
    queue: the test runs the due deliveries itself."""
    hub = make_hub(RETRY_BASE_SECONDS=0.01, RETRY_MAX_SECONDS=0.05, DELIVERY_MAX_ATTEMPTS=1000)
    oauth_connect(hub, sandbox)
    hub.runtime.queue = None
    return hub


def expire_access_token(hub, sandbox) -> None:
    """The access token ran out: at Lever, and as the hub stored it."""
    sandbox.control("POST", "/oauth/expire", json={"client_id": CLIENT_ID})
    hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_expires_at": time.time() - 1}))


def submit_result(hub, invitation_id: int) -> int:
    """A completed assessment, as the hub records it: one delivery to Lever's write-back."""
    with hub.app.app_context():
        ingest(hub.runtime, 1, "hub", InboundEvent(external_id=f"result-{invitation_id}", event=AssessmentResult(
            invitation_id=invitation_id, score=82.0, max_score=100.0, report_url=REPORT)))
        return db.session.scalars(sa.select(Delivery.id).where(Delivery.plugin == "lever")
                                  .order_by(Delivery.id.desc())).first()


def delivery(hub, delivery_id: int) -> Delivery:
    with hub.app.app_context():
        row = db.session.get(Delivery, delivery_id)
        db.session.expunge(row)
        db.session.rollback()
        return row


def run_until(hub, condition, what: str) -> None:
    """Run the due deliveries, as a worker does, until ``condition()`` holds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        with hub.app.app_context():
            for delivery_id in due_deliveries():
                run_delivery(hub.runtime, delivery_id)
        time.sleep(0.005)


def retried_or_ended(hub, delivery_id: int, attempts: int) -> bool:
    row = delivery(hub, delivery_id)
    return row.attempts >= attempts or row.status in (D_DONE, D_DEAD)


def token_stats(sandbox) -> tuple[int, dict, dict]:
    stats = sandbox.stats()
    return stats.get("oauth_token_requests", 0), stats.get("oauth_token_faults", {}), stats.get("oauth_refreshes", {})


@pytest.mark.parametrize("fault", [{"token_down": True},
                                   {"token_error_rate": 1.0, "token_error_codes": [500, 503]},
                                   {"token_error_rate": 1.0, "token_error_codes": [429]}],
                         ids=["down", "500-503", "429"])
def test_a_token_endpoint_down_for_a_while_delays_the_note_and_writes_it_once(oauth_hub, sandbox, fault):
    before = oauth_hub.secrets()
    invitation = make_invitation(oauth_hub)
    expire_access_token(oauth_hub, sandbox)
    requests_before, _, _ = token_stats(sandbox)
    sandbox.control("POST", "/faults", json=fault)

    note = submit_result(oauth_hub, invitation)
    run_until(oauth_hub, lambda: retried_or_ended(oauth_hub, note, 3), "three attempts of the note")
    waiting = delivery(oauth_hub, note)
    assert waiting.status == D_RETRY, (waiting.status, waiting.last_error)
    assert waiting.last_error.startswith("TemporaryError: Lever's token endpoint"), waiting.last_error
    assert "the hub tries again later" in waiting.last_error
    requests, faults, refreshes = token_stats(sandbox)
    assert refreshes == {} and sum(faults.values()) == requests - requests_before >= 3
    state = oauth_hub.integration()
    assert state["status"] == "connected", state  # not "needs re-authorization"
    during = oauth_hub.secrets()
    assert during["oauth_refresh_token"] == before["oauth_refresh_token"]
    assert "oauth_refused_grant" not in during
    assert sandbox.notes("opp-alice") == []

    sandbox.control("DELETE", "/faults")  # Lever's token endpoint is back
    run_until(oauth_hub, lambda: delivery(oauth_hub, note).status not in ("pending", "running", D_RETRY),
              "the note's delivery to end")
    assert delivery(oauth_hub, note).status == D_DONE
    (text,) = note_texts(sandbox)
    assert text.endswith(f"[ats-hub:{ref(oauth_hub, invitation)}]")
    assert sandbox.stats()["oauth_refreshes"] == {CLIENT_ID: 1}
    after = oauth_hub.secrets()
    assert after["oauth_refresh_token"] != before["oauth_refresh_token"]  # rotated once, and stored
    assert oauth_hub.integration()["status"] == "connected"


def waiting_for_reconnection(hub, delivery_id: int) -> bool:
    row = delivery(hub, delivery_id)
    return row.status == D_RETRY and row.last_error.startswith(WAITING_FOR_RECONNECTION)


def test_a_grant_revoked_at_lever_waits_for_a_reconnection_after_one_token_call(oauth_hub, sandbox):
    first, second = make_invitation(oauth_hub), make_invitation(oauth_hub, opportunity="opp-bob")
    expire_access_token(oauth_hub, sandbox)
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})  # the admin revoked the app
    requests_before, _, _ = token_stats(sandbox)

    deliveries = [submit_result(oauth_hub, first), submit_result(oauth_hub, second)]
    run_until(oauth_hub, lambda: all(waiting_for_reconnection(oauth_hub, d) for d in deliveries),
              "both notes' deliveries to wait for the reconnection")
    state = oauth_hub.integration()
    assert state["status"] == "needs_reauthorization", state
    assert "connect with OAuth again" in state["status_message"]
    for delivery_id in deliveries:
        row = delivery(oauth_hub, delivery_id)
        assert "connect with OAuth again" in row.last_error
        assert row.attempts == 0  # waiting spends no attempt: nothing ends dead for a reconnect not done yet
    assert sandbox.stats()["oauth_failures"] == {"invalid_grant": 1}
    assert token_stats(sandbox)[0] - requests_before == 1

    with oauth_hub.app.app_context():  # run again before reconnecting: the refused grant is not offered to Lever
        assert replay(deliveries[0], 1)
    run_until(oauth_hub, lambda: waiting_for_reconnection(oauth_hub, deliveries[0]), "the replay to wait again")
    assert token_stats(sandbox)[0] - requests_before == 1
    assert sandbox.notes("opp-alice") == [] and sandbox.notes("opp-bob") == []
    assert oauth_hub.integration()["status"] == "needs_reauthorization"

    oauth_connect(oauth_hub, sandbox)  # the admin connects with OAuth again: the waiting work goes on at once
    run_until(oauth_hub, lambda: all(delivery(oauth_hub, d).status == D_DONE for d in deliveries),
              "both notes to be written after the reconnection")
    assert [len(sandbox.notes(o)) for o in ("opp-alice", "opp-bob")] == [1, 1]
    assert oauth_hub.integration()["status"] == "connected"
