"""Canditech refusing a create or a cancel with a 4xx other than the sandbox's usual choice: the
invitation is never stranded. A refused create fails the invitation with Canditech's message
(shown on the candidate page, mirrored to the source), the candidate's email scrubbed from it; a
409 says the invitation exists, so it never fails it; a refused cancel is settled by re-reading
the invitation at Canditech. The real hub and the Canditech sandbox over real HTTP."""

from __future__ import annotations

import pytest

from hub.entities import ArchiveChange
from plugins.canditech.client import CanditechClient, CanditechRejected

from .conftest import PYTHON_ANSWERS, invited

# Seeded: the sandbox draws one fault per /v1 call, in order. FIRST_PASSES lets the first call
# through and faults the second (the create, after the lookup); FIRST_FAULTED faults the first
# call (the cancel) and lets the next three through (the re-read, then the cancel and re-read of
# the plugin's own on_invitation_status once the hub has cancelled the row).
FIRST_PASSES = {"error_rate": 0.5, "seed": 22}
FIRST_FAULTED = {"error_rate": 0.5, "seed": 13}


def candidate_page(hub, invitation_id: int) -> str:
    from hub import services

    services.create_user(1, "reviewer@example.com", "admin", password="a long enough password 1")
    from hub.extensions import db

    db.session.commit()
    client = hub.app.test_client()
    signed = client.post("/sign-in", data={"email": "reviewer@example.com", "password": "a long enough password 1"})
    assert signed.status_code == 302
    page = client.get(f"/candidates/{invitation_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


# --------------------------------------------------------------------------- create


@pytest.mark.parametrize("status, expected", [
    (404, "Canditech refused the invitation: injected fault: HTTP 404"),
    (400, "Canditech refused the invitation: injected fault: HTTP 400"),
])
def test_any_4xx_refusing_the_create_fails_the_invitation_with_canditechs_message(hub, status, expected):
    hub.sandbox.faults(error_codes=[status], **FIRST_PASSES)
    hub.move()
    hub.sandbox.faults()

    inv = hub.invitation()
    assert inv.status == "failed" and inv.failure_reason == expected
    assert [(s.status, s.reason) for s in hub.source.statuses] == [("failed", expected)]  # mirrored
    assert hub.sandbox.invitations() == []
    assert set(hub.deliveries()) == {"done"}  # not a dead delivery with the row left pending
    assert f'<dd id="failure-reason">{expected}</dd>' in candidate_page(hub, inv.id)


def test_a_409_without_its_invitation_that_the_lookup_misses_leaves_it_pending_and_retried(hub):
    """A 409 says Canditech has the invitation (its candidate was emailed): a ``failed`` one is
    final, and its result would be dropped. It stays pending, and the retry looks it up again."""
    hub.sandbox.faults(error_codes=[409], **FIRST_PASSES)  # the create's 409 carries no invitation
    hub.move()
    hub.sandbox.faults()

    inv = hub.invitation()
    assert inv.status == "pending" and inv.failure_reason is None
    assert hub.source.statuses == []  # nothing failed mirrored to the source
    assert hub.deliveries() == {"retry": 1}
    routes = hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]
    assert routes["POST /v1/invitations"] == {"409": 1}
    assert routes["GET /v1/invitations"] == {"200": 2}  # looked up before the create, and after the 409


def test_the_email_is_scrubbed_from_canditechs_refusal_in_any_letter_case(hub, monkeypatch):
    """Canditech may echo the address as it stores it (here upper-cased): it must reach neither
    the candidate page's reason, the timeline nor the source (Lever's note)."""
    def refuse(self, **fields):
        assert fields["email"] == "ada@example.com"
        message = "candidate.email: ADA@Example.COM bounced; ada@example.com cannot be invited"
        raise CanditechRejected(422, "validation_error", message,
                                {"error": {"code": "validation_error", "message": message}})  # as the client does

    monkeypatch.setattr(CanditechClient, "create_invitation", refuse)
    hub.move()

    inv = hub.invitation()
    expected = "Canditech refused the invitation: candidate.email: <email> bounced; <email> cannot be invited"
    assert inv.status == "failed" and inv.failure_reason == expected
    assert [(s.status, s.reason) for s in hub.source.statuses] == [("failed", expected)]
    shown = [inv.failure_reason] + [detail for _, detail in hub.timeline(inv.id)]
    assert not [text for text in shown if "ada@example.com" in (text or "").lower()]


def test_a_refused_key_still_asks_for_reauthorization_instead_of_failing_the_invitation(hub):
    hub.sandbox.faults(error_codes=[401], **FIRST_PASSES)
    hub.move()
    hub.sandbox.faults()

    assert hub.invitation().status == "pending"
    assert hub.source.statuses == []
    assert hub.runtime.integration(1, "canditech").status == "needs_reauthorization"


# --------------------------------------------------------------------------- cancel


def test_archive_leaves_an_invitation_canditech_completed_when_it_refuses_with_422(hub):
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True, cancel_finished_status=422)
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))

    assert hub.invitation().status == "invited"  # its result comes by reconciliation
    assert hub.sandbox.invitations()[0]["status"] == "completed"
    skipped = [detail for kind, detail in hub.timeline(inv.id) if kind == "cancel_skipped"]
    assert len(skipped) == 1 and "already completed" in skipped[0]
    assert set(hub.deliveries()) == {"done"}
    routes = hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]
    assert routes["POST /v1/invitations/<invitation_id>/cancel"] == {"422": 1}


def test_an_admin_cancel_refused_with_422_after_the_completion_keeps_the_result(hub):
    from hub.engine.sweeper import reconcile_all
    from hub.extensions import db

    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True, cancel_finished_status=422)
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.cancel(inv.id)

    assert hub.invitation().status == "cancelled"
    assert "cancel_skipped" in [kind for kind, _ in hub.timeline(inv.id)]
    assert set(hub.deliveries()) == {"done"}
    hub.sandbox.quiet()
    with hub.app.app_context():
        assert reconcile_all(hub.runtime) == 1  # watched for its result, which the lost webhook did not bring
        db.session.commit()
    hub.wait_for(lambda: hub.source.results, what="the result at the source")
    assert hub.invitation().status == "completed" and len(hub.source.results) == 1


def test_a_cancel_refused_with_a_4xx_that_took_effect_all_the_same_is_done(hub):
    inv, remote = invited(hub)
    hub.sandbox.faults(error_codes=[400], fault_after_processing=True, **FIRST_FAULTED)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))
    hub.sandbox.faults()

    assert hub.sandbox.invitations()[0]["status"] == "cancelled"
    assert hub.invitation().status == "cancelled"  # re-read: cancelled there
    assert set(hub.deliveries()) == {"done"}


def test_a_cancel_refused_while_still_open_is_noted_and_shown_as_a_dead_delivery(hub):
    inv, remote = invited(hub)
    hub.sandbox.faults(error_codes=[400], **FIRST_FAULTED)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))
    hub.sandbox.faults()

    assert hub.sandbox.invitations()[0]["status"] == "invited"
    assert hub.invitation().status == "invited"  # not pretended cancelled: the candidate can still take it
    failed = [detail for kind, detail in hub.timeline(inv.id) if kind == "cancel_failed"]
    assert len(failed) == 1 and "still invited" in failed[0] and "injected fault: HTTP 400" in failed[0]
    assert hub.deliveries()["dead"] == 1
