"""``verify_webhook``: signature vectors computed here with ``hmac``, payload checks, thin re-reads."""

from __future__ import annotations

import dataclasses

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
        completed_at=datetime(2026, 3, 1, 9, 55, tzinfo=timezone.utc), round=1)  # the round it matched


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


@pytest.mark.parametrize("header", [None, "", "t=abc,v1=00", "garbage", "v1=" + "0" * 64,
                                    # digits to str.isdigit() but not to int(): a header read as Latin-1
                                    pytest.param("t=\xb2,v1=" + "0" * 64, id="superscript-timestamp"),
                                    pytest.param("t=\u0661\u0662,v1=" + "0" * 64, id="arabic-indic-timestamp")])
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
        assert verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events[0].event == \
            dataclasses.replace(expected, round=1)


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


# --------------------------------------------------------------------------- bodies that are not JSON


@pytest.mark.parametrize("body, words", [
    (b"[" * 50_000, "nested too deeply"),  # Python's parser would raise RecursionError
    (b'{"id": "evt", "type": "invitation.completed", "data": ' + b"[" * 50_000, "nested too deeply"),
    (b"not json", "at line 1 column 1"),
    (b'{"id": "evt",', "line 1 column 14"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"id": "evt", "type": "invitation.completed", "score": NaN}', "NaN is not a JSON value"),
    (b'{"id": "evt", "type": "invitation.completed", "score": -Infinity}', "-Infinity is not a JSON value"),
    (b'{"id": ' + b"9" * 5000 + b"}", "more than 100 digits"),
    (b'{"id": "evt", "type": "invitation.completed", "score": 1e400}', "the number 1e400 is too large"),
])
def test_a_body_that_is_not_json_is_400_saying_why_in_words(ctx, body, words):
    error = rejected(ctx, request(body, sign(SECRET, body, NOW)))
    assert (error.status, error.code) == (400, "malformed_body")
    assert error.message.startswith("body is not valid JSON: ") and words in error.message
    assert "Error" not in error.message and "Exception" not in error.message  # no Python class names


def test_an_unsigned_deeply_nested_body_is_401_before_it_is_parsed(ctx):
    body = b"[" * 50_000
    error = rejected(ctx, request(body, None))
    assert error.status == 401 and "Canditech-Signature" in error.message


# --------------------------------------------------------------------------- references beyond any hub id


@pytest.mark.parametrize("reference", [
    "hub-inv-1000000000000000000000000000000",
    "hub-inv-2147483648",  # ID32_MAX + 1
    "hub-inv-2147483648-r2",
    "hub-inv-" + "9" * 5000,  # more digits than int() converts
])
def test_a_reference_beyond_any_hub_invitation_id_is_an_unknown_invitation(ctx, reference):
    asked = []
    ctx.invitations.get = lambda hub_id: asked.append(hub_id)  # the database cannot be asked about such an id
    body = event_body("invitation.completed", wire_invitation(external_reference=reference))
    result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and "the hub has no Canditech invitation" in result.note
    assert "beyond any hub invitation id" in result.note and len(result.note) < 200
    assert asked == []


def test_the_largest_hub_invitation_id_is_still_looked_up(ctx):
    body = event_body("invitation.completed", wire_invitation(external_reference="hub-inv-2147483647"))
    result = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert result.events == () and "no Canditech invitation 2147483647; ignored" in result.note


# --------------------------------------------------------------------------- values the hub cannot use


def test_a_created_at_that_is_not_a_timestamp_is_422(ctx):
    body = json.dumps({"id": "evt", "type": "invitation.completed", "created_at": "0001-01-01T00:00:00Z",
                       "data": {"invitation": wire_invitation()}}).encode()
    error = rejected(ctx, request(body, sign(SECRET, body, NOW)))
    assert error.status == 422 and "created_at must be an ISO 8601 timestamp" in error.message


def test_the_timestamp_an_event_uses_is_checked(ctx):
    body = event_body("invitation.started", wire_invitation(status="started", score=None, report_url=None,
                                                            completed_at=None, started_at="0200-01-01T00:00:00Z"))
    error = rejected(ctx, request(body, sign(SECRET, body, NOW)))
    assert error.status == 422 and "data.invitation.started_at must be" in error.message


@pytest.mark.parametrize("overrides, score, max_score", [
    ({"score": 0}, 0.0, 100.0),
    ({"score": 100, "max_score": 100}, 100.0, 100.0),
    ({"score": "42.5", "max_score": "50"}, 42.5, 50.0),
    ({"score": 7, "max_score": None}, 7.0, None),  # no max score: nothing to compare with
    ({"score": 7, "max_score": 10, "report_url": "HTTP://canditech.test/r/1"}, 7.0, 10.0),
])
def test_valid_edge_values_are_accepted(ctx, overrides, score, max_score):
    body = event_body("invitation.completed", wire_invitation(**overrides))
    (inbound,) = verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events
    assert (inbound.event.score, inbound.event.max_score) == (score, max_score)


def test_fields_an_event_does_not_use_are_not_held_against_it(ctx):
    body = event_body("invitation.verdict", wire_invitation(score="NaN", report_url="javascript:alert(1)",
                                                            verdict="thumbs_up", verdict_at="2026-03-02T10:00:00Z"))
    (inbound,) = verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events
    assert inbound.event == Verdict(invitation_id=7, verdict="thumbs_up",
                                    decided_at=datetime(2026, 3, 2, 10, tzinfo=timezone.utc), round=1)


def test_a_reread_answer_nested_too_deeply_is_temporary_not_a_500(ctx):
    body = event_body("invitation.completed", {"id": "inv_abc"})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE_URL}/v1/invitations/inv_abc", body="[" * 50_000, content_type="application/json")
        with pytest.raises(TemporaryError):
            verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
