"""``verify_webhook``: signature vectors computed here with ``hmac``, payload checks, thin re-reads."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import responses

from hub.entities import AssessmentResult, InvitationProgress, Verdict, WebhookRequest
from hub.errors import TemporaryError, WebhookRejected
from plugins.canditech import verify_webhook

from .helpers import BASE_URL, SECOND_SECRET, SECRET, FakeContext, event_body, hub_invitation, sign, wire_invitation

NOW = 1_772_000_000  # the "received at" of every request below


def request(body: bytes, header: str | None, name: str = "Canditech-Signature") -> WebhookRequest:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[name] = header
    return WebhookRequest(body=body, headers=headers, received_at=datetime.fromtimestamp(NOW, timezone.utc))


@pytest.fixture
def ctx():
    context = FakeContext(invitations=[hub_invitation(7), hub_invitation(8, status="pending", round=2,
                                                                        provider_invitation_id=None)])
    yield context
    context.close()


def rejected(ctx, req) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(ctx, req)
    assert SECRET not in caught.value.message and SECOND_SECRET not in caught.value.message
    return caught.value


def test_valid_completed_event(ctx):
    body = event_body("invitation.completed", wire_invitation(), event_id="evt_42")
    result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW - 10)))
    assert len(result.events) == 1
    inbound = result.events[0]
    assert inbound.external_id == "evt_42"
    assert inbound.event == AssessmentResult(
        invitation_id=7, score=75.0, max_score=100.0, report_url=f"{BASE_URL}/reports/inv_abc",
        completed_at=datetime(2026, 3, 1, 9, 55, tzinfo=timezone.utc))


def test_wrong_secret_is_401(ctx):
    body = event_body("invitation.completed", wire_invitation())
    error = rejected(ctx, request(body, sign("not-the-secret", body, NOW)))
    assert error.status == 401 and "does not match" in error.message


def test_any_active_secret_verifies(ctx):
    ctx.secrets["webhook_secrets"] = f"{SECRET}\n{SECOND_SECRET}"
    body = event_body("invitation.completed", wire_invitation())
    assert verify_webhook(ctx, request(body, sign(SECOND_SECRET, body, NOW))).events
    assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events


def test_tampered_body_is_401(ctx):
    body = event_body("invitation.completed", wire_invitation())
    header = sign(SECRET, body, NOW)
    tampered = body.replace(b'"score": 75', b'"score": 99')
    assert tampered != body
    assert rejected(ctx, request(tampered, header)).status == 401


@pytest.mark.parametrize("offset, ok", [(-301, False), (301, False), (-299, True), (299, True)])
def test_timestamp_window_both_ways(ctx, offset, ok):
    body = event_body("invitation.completed", wire_invitation())
    req = request(body, sign(SECRET, body, NOW + offset))
    if ok:
        assert verify_webhook(ctx, req).events
    else:
        error = rejected(ctx, req)
        assert error.status == 401 and "timestamp" in error.message


def test_tolerance_is_a_setting(ctx):
    ctx.settings["signature_tolerance_seconds"] = 10
    body = event_body("invitation.completed", wire_invitation())
    assert rejected(ctx, request(body, sign(SECRET, body, NOW - 11))).status == 401


@pytest.mark.parametrize("header", [None, "", "t=abc,v1=00", "garbage", "v1=" + "0" * 64])
def test_missing_or_malformed_header_is_401(ctx, header):
    body = event_body("invitation.completed", wire_invitation())
    error = rejected(ctx, request(body, header))
    assert error.status == 401 and "Canditech-Signature" in error.message


def test_header_name_is_a_setting(ctx):
    ctx.settings["signature_header"] = "X-Canditech-Sig"
    body = event_body("invitation.completed", wire_invitation())
    assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW), name="X-Canditech-Sig")).events
    assert rejected(ctx, request(body, sign(SECRET, body, NOW))).status == 401


def test_no_secret_configured_is_401(ctx):
    ctx.secrets.pop("webhook_secrets")
    body = event_body("invitation.completed", wire_invitation())
    assert rejected(ctx, request(body, sign(SECRET, body, NOW))).status == 401


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_malformed_body_is_400(ctx, body):
    error = rejected(ctx, request(body, sign(SECRET, body, NOW)))
    assert error.status == 400


@pytest.mark.parametrize("document, missing", [
    ({"type": "invitation.completed", "data": {"invitation": wire_invitation()}}, "id"),
    ({"id": "evt", "data": {"invitation": wire_invitation()}}, "type"),
    ({"id": "evt", "type": "invitation.completed", "data": {}}, "data.invitation"),
    ({"id": "evt", "type": "invitation.completed", "data": {"invitation": {"status": "completed"}}},
     "data.invitation.id"),
])
def test_missing_fields_are_422(ctx, document, missing):
    body = json.dumps(document).encode()
    error = rejected(ctx, request(body, sign(SECRET, body, NOW)))
    assert error.status == 422 and missing in error.message


def test_unknown_event_type_is_ignored(ctx):
    body = json.dumps({"id": "evt", "type": "candidate.deleted", "data": {}}).encode()
    result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and "candidate.deleted" in result.note


def test_started_verdict_and_expired_events(ctx):
    cases = [
        ("invitation.started", wire_invitation(status="started", score=None, report_url=None, completed_at=None),
         InvitationProgress(invitation_id=7, status="started",
                            occurred_at=datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc))),
        ("invitation.verdict", wire_invitation(verdict="thumbs_up", verdict_at="2026-03-02T10:00:00Z"),
         Verdict(invitation_id=7, verdict="thumbs_up", decided_at=datetime(2026, 3, 2, 10, tzinfo=timezone.utc))),
        ("invitation.expired", wire_invitation(status="expired", score=None, expired_at="2026-03-05T00:00:00Z"),
         InvitationProgress(invitation_id=7, status="expired",
                            occurred_at=datetime(2026, 3, 5, tzinfo=timezone.utc))),
    ]
    for event_type, invitation, expected in cases:
        body = event_body(event_type, invitation)
        assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events[0].event == expected


def test_thin_payload_is_reread_from_canditech(ctx):
    body = event_body("invitation.completed", {"id": "inv_abc"}, event_id="evt_thin")
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_abc", json=wire_invitation(score=40))
        result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
        assert rsps.calls[0].request.headers["Authorization"] == "Bearer test-api-key"
    assert result.events[0].external_id == "evt_thin"
    assert result.events[0].event.score == 40.0 and result.events[0].event.invitation_id == 7


def test_completed_without_score_is_reread(ctx):
    body = event_body("invitation.completed", wire_invitation(score=None))
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_abc", json=wire_invitation(score=90))
        assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events[0].event.score == 90.0


def test_thin_payload_with_canditech_down_is_temporary(ctx):
    body = event_body("invitation.completed", {"id": "inv_abc"})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_abc", status=503,
                 json={"error": {"code": "service_unavailable", "message": "down"}})
        with pytest.raises(TemporaryError):
            verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))


def test_reread_that_contradicts_the_event_is_ignored(ctx):
    body = event_body("invitation.completed", {"id": "inv_abc"})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_abc",
                 json=wire_invitation(status="started", score=None, report_url=None, completed_at=None))
        result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and "does not match" in result.note


@pytest.mark.parametrize("reference, note", [
    ("hub-inv-999", "no Canditech invitation 999"),
    ("someone-elses-ref", "not made by the hub"),
    ("hub-inv-8", "earlier round"),  # invitation 8 is in round 2: its reference is hub-inv-8-r2
])
def test_invitations_the_hub_does_not_know_are_ignored(ctx, reference, note):
    body = event_body("invitation.completed", wire_invitation(external_reference=reference))
    result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and note in result.note


def test_current_round_reference_is_accepted(ctx):
    body = event_body("invitation.started", wire_invitation(external_reference="hub-inv-8-r2", status="started"))
    assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events[0].event.invitation_id == 8


def test_thin_payload_without_an_api_key_is_temporary_not_a_500(ctx):
    ctx.secrets.pop("api_key")
    body = event_body("invitation.completed", {"id": "inv_abc"})
    with pytest.raises(TemporaryError, match="no Canditech API key"):
        verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))


def test_thin_payload_of_an_invitation_canditech_does_not_know_is_ignored(ctx):
    body = event_body("invitation.completed", {"id": "inv_gone"})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_gone", status=404,
                 json={"error": {"code": "not_found", "message": "invitation 'inv_gone' not found"}})
        result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and "unknown at Canditech" in result.note
