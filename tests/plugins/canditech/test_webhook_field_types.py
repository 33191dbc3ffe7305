"""A signed Canditech webhook whose ``type`` is not a string is refused (422 ``invalid_fields``
naming the field and what came), not answered 200 as an unknown type ("ignored event type '5'");
an ``id`` of a type no event id has (a boolean, a fraction, an array, an object) is refused the
same way instead of being called missing. An integer ``id`` is still taken (as its digits)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hub.entities import WebhookRequest
from hub.errors import WebhookRejected
from plugins.canditech import verify_webhook

from .helpers import SECRET, FakeContext, hub_invitation, sign, wire_invitation

NOW = 1_772_000_000


@pytest.fixture
def ctx():
    context = FakeContext(invitations=[hub_invitation(7)])
    yield context
    context.close()


def _verify(ctx, document: dict):
    body = json.dumps(document).encode()
    return verify_webhook(ctx, WebhookRequest(body=body, headers={"Canditech-Signature": sign(SECRET, body, NOW)},
                                              received_at=datetime.fromtimestamp(NOW, timezone.utc)))


def _refused(ctx, document: dict) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        _verify(ctx, document)
    return caught.value


WRONG = [(5, "a number"), (1.5, "a decimal number"), (2.0, "a decimal number"), (True, "a boolean"), (["invitation.completed"], "an array"),
         ({"name": "invitation.completed"}, "an object")]


def test_the_audits_numeric_type_is_a_422_saying_type_must_be_a_string(ctx):
    error = _refused(ctx, {"id": "e3", "type": 5})
    assert (error.status, error.code, error.message) == (422, "invalid_fields", "type must be a string, not a number")
    for value, words in WRONG:  # with or without an invitation
        for data in ({}, {"invitation": wire_invitation()}):
            error = _refused(ctx, {"id": "e3", "type": value, "data": data})
            assert (error.status, error.code, error.message) == (
                422, "invalid_fields", f"type must be a string, not {words}"), value


def test_an_id_of_no_id_type_is_a_422_saying_what_it_must_be(ctx):
    for value, words in WRONG:
        if isinstance(value, int) and not isinstance(value, bool):
            continue
        error = _refused(ctx, {"id": value, "type": "invitation.completed", "data": {"invitation": wire_invitation()}})
        assert (error.status, error.code, error.message) == (
            422, "invalid_fields", f"id must be a string or an integer, not {words}"), value
    # both wrong: both named
    error = _refused(ctx, {"id": False, "type": 7})
    assert error.message == "id must be a string or an integer, not a boolean; type must be a string, not a number"
    # absent, null or blank is still "missing"
    for document in ({"type": "invitation.completed"}, {"id": None, "type": "invitation.completed"},
                     {"id": "e3", "type": " "}):
        error = _refused(ctx, document)
        assert (error.status, error.code) == (422, "missing_fields") and "missing field(s)" in error.message
    # an integer id is an id; an unknown type that is a string is still ignored
    assert _verify(ctx, {"id": 42, "type": "invitation.completed",
                         "data": {"invitation": wire_invitation()}}).events[0].external_id == "42"
    assert "ignored event type 'candidate.deleted'" in _verify(ctx, {"id": "e3", "type": "candidate.deleted"}).note
