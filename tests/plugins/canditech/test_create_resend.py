"""``CanditechClient.create_invitation`` never re-sends a POST whose answer was lost without first
looking its reference up (DESIGN, Guarantees, 4): Canditech deduplicating by ``external_reference``
is an assumption, so a second POST could mean a second invitation email."""

from __future__ import annotations

import pytest
import requests
import responses
from responses import matchers

from hub.errors import TemporaryError
from plugins.canditech.client import CanditechClient, CanditechUnavailable

from .helpers import BASE_URL, FakeContext, wire_invitation

INVITATIONS = f"{BASE_URL}/v1/invitations"
REFERENCE = "hub-inv-7-abcdefghij"
LOOKUP = [matchers.query_param_matcher({"external_reference": REFERENCE})]


@pytest.fixture
def ctx():
    context = FakeContext()
    yield context
    context.close()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(ctx, sleeps):
    return CanditechClient(ctx, sleep=sleeps.append)


def create(client):
    return client.create_invitation(assessment_id="asmt-python", first_name="Ada", last_name="Lovelace",
                                    email="ada@example.com", external_reference=REFERENCE, callback_url=None)


def invitation(**overrides):
    return wire_invitation(status="invited", external_reference=REFERENCE, **overrides)


def sent(rsps):
    return [(c.request.method, c.request.url.split("?")[0]) for c in rsps.calls]


@pytest.mark.parametrize("lost", [
    {"status": 500, "json": {"error": {"code": "internal_error", "message": "boom"}}},
    {"status": 503, "json": {"error": {"code": "service_unavailable", "message": "down"}}},
    {"status": 429, "json": {"error": {"code": "rate_limited", "message": "slow down"}}},
    {"body": requests.Timeout("read timed out")},
    {"body": requests.ConnectionError("connection reset")},
], ids=["500", "503", "429", "timeout", "reset"])
def test_a_create_whose_answer_was_lost_is_looked_up_and_not_sent_again(rsps, client, sleeps, lost):
    rsps.add("POST", INVITATIONS, **lost)  # Canditech created it, but the answer never arrived
    rsps.add("GET", INVITATIONS, match=LOOKUP, json={"data": [invitation()]})
    rsps.add("POST", INVITATIONS, status=201, json=invitation(id="inv_second"))  # a Canditech that does not dedupe

    found, created = create(client)

    assert (found["id"], created) == ("inv_abc", False)
    assert sent(rsps) == [("POST", INVITATIONS), ("GET", INVITATIONS)]
    assert len(sleeps) == 1  # the usual pause before trying again


def test_a_create_not_found_by_the_lookup_is_sent_again(rsps, client):
    rsps.add("POST", INVITATIONS, status=502, body="<html>bad gateway</html>")  # refused before acting
    rsps.add("GET", INVITATIONS, match=LOOKUP, json={"data": []})
    rsps.add("POST", INVITATIONS, status=201, json=invitation())

    found, created = create(client)

    assert (found["id"], created) == ("inv_abc", True)
    assert sent(rsps) == [("POST", INVITATIONS), ("GET", INVITATIONS), ("POST", INVITATIONS)]


def test_every_re_send_is_preceded_by_a_lookup_until_the_attempts_run_out(ctx, rsps, client):
    rsps.add("POST", INVITATIONS, status=500, json={"error": {"code": "internal_error", "message": "boom"}})
    rsps.add("GET", INVITATIONS, match=LOOKUP, json={"data": []})

    with pytest.raises(TemporaryError, match="boom"):
        create(client)

    assert sent(rsps) == [("POST", INVITATIONS), ("GET", INVITATIONS)] * 2 + [("POST", INVITATIONS)]


def test_a_failing_lookup_sends_nothing_more_and_leaves_the_retry_to_the_engine(rsps, client):
    rsps.add("POST", INVITATIONS, body=requests.Timeout("read timed out"))
    rsps.add("GET", INVITATIONS, match=LOOKUP, status=503,
             json={"error": {"code": "service_unavailable", "message": "down"}})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    # not a CanditechUnavailable: nothing may catch it and POST again without a lookup
    assert not isinstance(caught.value, CanditechUnavailable)
    assert [m for m, _ in sent(rsps)] == ["POST", "GET", "GET", "GET"]  # the lookup's own retries, one POST


def test_a_long_retry_after_on_create_is_left_to_the_engine_without_a_re_send(rsps, client, sleeps):
    rsps.add("POST", INVITATIONS, status=429, headers={"Retry-After": "30"},
             json={"error": {"code": "rate_limited", "message": "slow down"}})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    assert caught.value.retry_after == 30
    assert len(rsps.calls) == 1 and sleeps == []
