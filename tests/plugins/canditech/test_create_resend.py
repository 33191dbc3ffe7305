"""``CanditechClient.create_invitation`` never sends a create again when Canditech may have acted on
the first (DESIGN, Guarantees, 4): Canditech deduplicating by ``external_reference`` is an
assumption, so a second POST could mean a second invitation email. After a lost answer (a read
timeout, a connection lost, a 5xx) the create ends with a ``TemporaryError`` and the engine's next
delivery, seconds later, looks the reference up first; only a create Canditech surely did not act
on (a 429, a connect timeout) is sent again inside the call. A 409 says the invitation exists, so
it never fails the invitation."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers

import plugins.canditech.invite as invite
from hub.entities import PENDING, Candidate
from hub.errors import PermanentError, TemporaryError
from plugins.canditech.client import CanditechClient, CanditechUnavailable

from .helpers import BASE_URL, hub_invitation, wire_invitation

INVITATIONS = f"{BASE_URL}/v1/invitations"
REFERENCE = "hub-inv-7-abcdefghij"
LOOKUP = [matchers.query_param_matcher({"external_reference": REFERENCE})]


def create(client):
    return client.create_invitation(assessment_id="asmt-python", first_name="Ada", last_name="Lovelace",
                                    email="ada@example.com", external_reference=REFERENCE, callback_url=None)


def invitation(**overrides):
    return wire_invitation(status="invited", external_reference=REFERENCE, **overrides)


def sent(rsps):
    return [(c.request.method, c.request.url.split("?")[0]) for c in rsps.calls]


# --------------------------------------------------------------------------- an answer lost


@pytest.mark.parametrize("lost", [
    {"status": 500, "json": {"error": {"code": "internal_error", "message": "boom"}}},
    {"status": 503, "json": {"error": {"code": "service_unavailable", "message": "down"}}},
    {"status": 502, "body": "<html>bad gateway</html>"},
    {"body": requests.ReadTimeout("read timed out")},
    {"body": requests.ConnectionError("connection reset")},
], ids=["500", "503", "502", "read-timeout", "reset"])
def test_a_create_whose_answer_was_lost_is_left_to_the_engine_without_a_lookup_or_a_re_send(rsps, client, sleeps,
                                                                                            lost):
    """The POST may still be running at Canditech: a lookup now would miss it."""
    rsps.add("POST", INVITATIONS, **lost)
    rsps.add("GET", INVITATIONS, match=LOOKUP, json={"data": []})  # not there yet
    rsps.add("POST", INVITATIONS, status=201, json=invitation(id="inv_second"))  # a Canditech that does not dedupe

    with pytest.raises(TemporaryError) as caught:
        create(client)

    # not a CanditechUnavailable: nothing may catch it and POST again without a lookup
    assert not isinstance(caught.value, CanditechUnavailable)
    assert "looks it up before it sends it again" in str(caught.value)
    assert sent(rsps) == [("POST", INVITATIONS)] and sleeps == []


def test_canditech_s_retry_after_on_a_lost_create_reaches_the_engine(rsps, client):
    rsps.add("POST", INVITATIONS, status=503, headers={"Retry-After": "20"},
             json={"error": {"code": "service_unavailable", "message": "down"}})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    assert caught.value.retry_after == 20 and len(rsps.calls) == 1


class SlowCanditech:
    """A Canditech that does not deduplicate by reference, where a POST whose answer timed out
    creates its invitation ``lands_after`` seconds later (it was still running). Time is a fake
    clock, moved on by the client's pauses and by the engine's backoff (``advance``)."""

    def __init__(self, lands_after: float) -> None:
        self.lands_after = lands_after
        self.now = 0.0
        self.posts = 0
        self.created: list[tuple[float, dict]] = []  # (when it becomes visible, invitation)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def visible(self) -> list[dict]:
        return [inv for when, inv in self.created if when <= self.now]

    def post(self, request):
        self.posts += 1
        created = invitation(id=f"inv_{self.posts}")
        if self.posts == 1:  # the first one outlives the client's timeout
            self.created.append((self.now + self.lands_after, created))
            return requests.ReadTimeout("read timed out")
        self.created.append((self.now, created))
        return 201, {}, json.dumps(created)

    def lookup(self, request):
        return 200, {}, json.dumps({"data": self.visible()})


def test_a_slow_create_that_timed_out_gives_one_invitation_without_dedup(ctx):
    """The first delivery's POST times out while Canditech is still creating the invitation (it
    lands half a second later). An inline lookup after a 0.125-0.25 s pause missed it, and the
    re-sent POST made a second invitation. Now the engine's backoff (at least 1 s with the default
    ``RETRY_BASE_SECONDS``) passes before the next delivery's lookup, which finds it."""
    canditech = SlowCanditech(lands_after=0.5)
    client = CanditechClient(ctx, sleep=canditech.advance)
    current = hub_invitation(status=PENDING, provider_invitation_id=None, reference_token="abcdefghij")
    assert current.external_reference == REFERENCE
    candidate = Candidate(opportunity_id="opp-1", name="Ada Lovelace", email="ada@example.com", posting_id="p")

    def delivery():
        return invite._find_or_create(ctx, client, current, candidate, "ada@example.com")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback("POST", INVITATIONS, callback=canditech.post)
        rsps.add_callback("GET", INVITATIONS, callback=canditech.lookup)
        try:
            found = delivery()
        except TemporaryError:
            canditech.advance(1.0)  # the engine's shortest first backoff: 2 s x 0.5
            found = delivery()

    assert [inv["id"] for _, inv in canditech.created] == ["inv_1"]  # one invitation email
    assert found["id"] == "inv_1" and canditech.posts == 1


# --------------------------------------------------------------------------- nothing was done


@pytest.mark.parametrize("refused", [
    {"status": 429, "json": {"error": {"code": "rate_limited", "message": "slow down"}}},
    {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "rate_limited", "message": "1 s"}}},
    {"body": requests.ConnectTimeout("connect timed out")},
], ids=["429", "429-retry-after-1", "connect-timeout"])
def test_a_create_canditech_surely_did_not_act_on_is_sent_again_at_once(rsps, client, sleeps, refused):
    rsps.add("POST", INVITATIONS, **refused)
    rsps.add("POST", INVITATIONS, status=201, json=invitation())

    found, created = create(client)

    assert (found["id"], created) == ("inv_abc", True)
    assert sent(rsps) == [("POST", INVITATIONS)] * 2 and len(sleeps) == 1


def test_a_create_refused_429_on_every_try_is_left_to_the_engine(rsps, client):
    rsps.add("POST", INVITATIONS, status=429, json={"error": {"code": "rate_limited", "message": "slow down"}})

    with pytest.raises(TemporaryError, match="slow down"):
        create(client)

    assert sent(rsps) == [("POST", INVITATIONS)] * 3


def test_a_long_retry_after_on_create_is_left_to_the_engine_without_a_re_send(rsps, client, sleeps):
    rsps.add("POST", INVITATIONS, status=429, headers={"Retry-After": "30"},
             json={"error": {"code": "rate_limited", "message": "slow down"}})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    assert caught.value.retry_after == 30
    assert len(rsps.calls) == 1 and sleeps == []


# --------------------------------------------------------------------------- 409: it exists


def test_a_409_without_its_invitation_that_the_lookup_misses_is_temporary_not_a_refusal(rsps, client):
    """A 409 says Canditech has the invitation (its candidate was emailed): failing it for good
    would drop its result. The next delivery looks it up again."""
    rsps.add("POST", INVITATIONS, status=409, json={"error": {"code": "duplicate_external_reference",
                                                              "message": "exists"}})
    rsps.add("GET", INVITATIONS, match=LOOKUP, json={"data": []})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    assert not isinstance(caught.value, (PermanentError, CanditechUnavailable))
    assert "409" in str(caught.value) and REFERENCE in str(caught.value)
    assert sent(rsps) == [("POST", INVITATIONS), ("GET", INVITATIONS)]


def test_a_failing_lookup_after_a_409_sends_nothing_more_and_leaves_the_retry_to_the_engine(rsps, client):
    rsps.add("POST", INVITATIONS, status=409, json={"error": {"code": "duplicate_external_reference",
                                                              "message": "exists"}})
    rsps.add("GET", INVITATIONS, match=LOOKUP, status=503,
             json={"error": {"code": "service_unavailable", "message": "down"}})

    with pytest.raises(TemporaryError) as caught:
        create(client)

    assert not isinstance(caught.value, CanditechUnavailable)
    assert [m for m, _ in sent(rsps)] == ["POST", "GET", "GET", "GET"]  # the lookup's own retries, one POST
