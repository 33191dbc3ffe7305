"""``CanditechClient`` against Canditech mocked at the transport (``responses``)."""

from __future__ import annotations

import json
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
import requests
from responses import matchers

from hub.entities import Assessment
from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from plugins.canditech import wire
from plugins.canditech.client import (
    CanditechAuthError, CanditechClient, CanditechConflict, CanditechNotFound, CanditechRejected,
)

from .helpers import API_KEY, BASE_URL, FakeContext, wire_invitation

INVITATIONS = f"{BASE_URL}/v1/invitations"


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def test_bearer_auth_base_url_and_pagination(ctx, rsps, client):
    rsps.add("GET", f"{BASE_URL}/v1/assessments", match=[matchers.query_param_matcher({})],
             json={"data": [{"id": "a1", "name": "Python", "duration_minutes": 45, "max_score": 100}],
                   "next_cursor": "c2"})
    rsps.add("GET", f"{BASE_URL}/v1/assessments", match=[matchers.query_param_matcher({"cursor": "c2"})],
             json={"data": [{"id": "a2", "name": "SQL", "duration_minutes": 20, "max_score": 50}],
                   "next_cursor": None})

    found = client.list_assessments()

    assert found == [Assessment("a1", "Python", 45, 100.0), Assessment("a2", "SQL", 20, 50.0)]
    assert len(rsps.calls) == 2
    assert all(c.request.headers["Authorization"] == f"Bearer {API_KEY}" for c in rsps.calls)
    assert ctx.limiter.acquired == 2
    assert ctx.limiter_args == ("api", wire.RATE_LIMIT_PER_SECOND, wire.RATE_LIMIT_BURST)
    assert ctx.vendor_calls == [("GET /v1/assessments", "200")] * 2


def test_base_url_is_a_setting(rsps, sleeps):
    ctx = FakeContext(settings={"base_url": "http://other.test:9000/"})
    rsps.add("GET", "http://other.test:9000/v1/assessments", json={"data": [], "next_cursor": None})
    try:
        assert CanditechClient(ctx, sleep=sleeps.append).list_assessments() == []
    finally:
        ctx.close()


def test_a_looping_cursor_stops(rsps, client):
    rsps.add("GET", f"{BASE_URL}/v1/assessments", json={"data": [], "next_cursor": "same"})
    with pytest.raises(PermanentError, match="loop"):
        client.list_assessments()
    assert len(rsps.calls) == 2


def test_create_invitation_sends_the_contract_body(rsps, client):
    created = wire_invitation(status="invited", score=None, report_url=None, completed_at=None)
    rsps.add("POST", INVITATIONS, status=201, json=created)

    found, was_created = client.create_invitation(
        assessment_id="asmt-python", first_name="Ada", last_name="Lovelace", email="ada@example.com",
        external_reference="hub-inv-7", callback_url="http://hub.test/webhooks/canditech/k")

    assert was_created is True
    assert found["id"] == "inv_abc" and found["invite_url"] == created["invite_url"]
    assert found["status"] == "invited"
    assert json.loads(rsps.calls[0].request.body) == {
        "assessment_id": "asmt-python",
        "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "external_reference": "hub-inv-7",
        "callback_url": "http://hub.test/webhooks/canditech/k",
    }


def test_409_returns_the_existing_invitation(rsps, client):
    existing = wire_invitation(status="started", id="inv_first")
    rsps.add("POST", INVITATIONS, status=409,
             json={**error("duplicate_external_reference", "already exists"), "invitation": existing})

    found, was_created = client.create_invitation(
        assessment_id="asmt-python", first_name="Ada", last_name="Lovelace", email="ada@example.com",
        external_reference="hub-inv-7", callback_url=None)

    assert (found["id"], was_created) == ("inv_first", False)
    assert len(rsps.calls) == 1


def test_409_without_the_invitation_looks_the_reference_up(rsps, client):
    rsps.add("POST", INVITATIONS, status=409, json=error("duplicate_external_reference", "exists"))
    rsps.add("GET", INVITATIONS, match=[matchers.query_param_matcher({"external_reference": "hub-inv-7"})],
             json={"data": [wire_invitation(id="inv_first")]})

    found, was_created = client.create_invitation(
        assessment_id="asmt-python", first_name="Ada", last_name="", email="ada@example.com",
        external_reference="hub-inv-7", callback_url=None)

    assert (found["id"], was_created) == ("inv_first", False)
    body = json.loads(rsps.calls[0].request.body)
    assert body["candidate"]["last_name"] == wire.NAME_PLACEHOLDER and "callback_url" not in body


def test_find_invitation_by_reference(rsps, client):
    rsps.add("GET", INVITATIONS, match=[matchers.query_param_matcher({"external_reference": "hub-inv-7"})],
             json={"data": [wire_invitation()]})
    rsps.add("GET", INVITATIONS, match=[matchers.query_param_matcher({"external_reference": "hub-inv-8"})],
             json={"data": []})
    assert client.find_invitation("hub-inv-7")["id"] == "inv_abc"
    assert client.find_invitation("hub-inv-8") is None


def test_429_with_a_long_retry_after_raises_temporary_with_retry_after(rsps, client, sleeps):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=429, headers={"Retry-After": "30"},
             json=error("rate_limited", "rate limit exceeded"))

    with pytest.raises(TemporaryError) as caught:
        client.get_invitation("inv_abc")

    assert caught.value.retry_after == 30
    assert "rate limit exceeded" in str(caught.value)
    assert len(rsps.calls) == 1 and sleeps == []


def test_429_with_a_short_retry_after_is_waited_out_inside_the_call(rsps, client, sleeps):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=429, headers={"Retry-After": "1"},
             json=error("rate_limited", "slow down"))
    rsps.add("GET", f"{INVITATIONS}/inv_abc", json=wire_invitation())

    assert client.get_invitation("inv_abc")["score"] == 75
    assert sleeps == [1.0]
    assert len(rsps.calls) == 2


def test_retry_after_as_an_http_date(rsps, client):
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)},
             json=error("rate_limited", "later"))
    with pytest.raises(TemporaryError) as caught:
        client.get_invitation("inv_abc")
    assert 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize("value", ["-5", "1e400", "nan", "soon"])
def test_a_retry_after_that_is_no_wait_leaves_the_backoff_to_the_client(rsps, client, sleeps, value):
    """Read by hub.kit.retry_after: a negative or non-finite wait is no answer, so the client backs off
    as if the header were absent (a "-5" used to mean 0: three calls in a row, no pause)."""
    rsps.add("POST", f"{INVITATIONS}/inv_abc/cancel", status=503, headers={"Retry-After": value},
             json=error("service_unavailable", "busy"))
    with pytest.raises(TemporaryError) as caught:
        client.cancel_invitation("inv_abc")
    assert caught.value.retry_after is None
    assert len(sleeps) == 2 and all(wait > 0 for wait in sleeps)


def test_5xx_is_retried_with_backoff_then_succeeds(ctx, rsps, client, sleeps):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=500, json=error("internal_error", "boom"))
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=502, body="<html>bad gateway</html>")
    rsps.add("GET", f"{INVITATIONS}/inv_abc", json=wire_invitation())

    assert client.get_invitation("inv_abc")["id"] == "inv_abc"
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2 and sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5
    assert [status for _, status in ctx.vendor_calls] == ["500", "502", "200"]


def test_5xx_every_time_raises_temporary_with_the_vendor_message(rsps, client, sleeps):
    rsps.add("POST", f"{INVITATIONS}/inv_abc/cancel", status=503, headers={"Retry-After": "1"},
             json=error("service_unavailable", "Canditech is down for maintenance"))

    with pytest.raises(TemporaryError) as caught:
        client.cancel_invitation("inv_abc")

    assert "Canditech is down for maintenance" in str(caught.value)
    assert caught.value.retry_after == 1
    assert len(rsps.calls) == 3 and sleeps == [1.0, 1.0]


def test_timeouts_are_retried_then_temporary(ctx, rsps, client, sleeps):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", body=requests.Timeout("read timed out"))
    rsps.add("GET", f"{INVITATIONS}/inv_abc", body=requests.ConnectionError("refused"))
    rsps.add("GET", f"{INVITATIONS}/inv_abc", body=requests.Timeout("read timed out"))

    with pytest.raises(TemporaryError, match="did not answer in time"):
        client.get_invitation("inv_abc")
    assert [status for _, status in ctx.vendor_calls] == ["timeout", "error", "timeout"]
    assert len(sleeps) == 2


@pytest.mark.parametrize("status, exc_type", [
    (400, CanditechRejected), (422, CanditechRejected), (401, CanditechAuthError),
    (404, CanditechNotFound), (409, CanditechConflict),
])
def test_4xx_is_not_retried_and_carries_canditech_message(rsps, client, sleeps, status, exc_type):
    rsps.add("POST", f"{INVITATIONS}/inv_abc/cancel", status=status,
             json=error("some_code", f"the message for {status}"))

    with pytest.raises(exc_type) as caught:
        client.cancel_invitation("inv_abc")

    assert isinstance(caught.value, PermanentError)
    assert caught.value.vendor_message == f"the message for {status}"
    assert caught.value.code == "some_code" and caught.value.status == status
    assert f"the message for {status}" in str(caught.value)
    assert len(rsps.calls) == 1 and sleeps == []


def test_a_refused_key_asks_for_reauthorization(rsps, client):
    rsps.add("GET", f"{BASE_URL}/v1/assessments", status=401, json=error("unauthorized", "missing or invalid API key"))
    with pytest.raises(NeedsReauthorization, match="missing or invalid API key"):
        client.list_assessments()


def test_an_error_without_json_body_is_summarised(rsps, client):
    rsps.add("POST", INVITATIONS, status=422, body="Unprocessable:   bad\n candidate")
    with pytest.raises(CanditechRejected) as caught:
        client.create_invitation(assessment_id="x", first_name="A", last_name="B", email="a@b.co",
                                 external_reference="hub-inv-1", callback_url=None)
    assert caught.value.vendor_message == "Unprocessable: bad candidate"


def test_no_api_key_needs_reauthorization():
    ctx = FakeContext(secrets={})
    try:
        with pytest.raises(NeedsReauthorization, match="no Canditech API key"):
            CanditechClient(ctx)
    finally:
        ctx.close()
