"""A completion is recorded without the values that break their rules, never refused for them.

Refused (422), Canditech would retry the same values for three days and the result would never
reach the ATS; reconciliation would skip it on every run. So the result is recorded with what is
usable, and the invitation's timeline says what was left out and why.
"""

from __future__ import annotations

import json
import time

import pytest
import responses

from hub.entities import AssessmentResult
from plugins.canditech import verify_webhook, wire
from plugins.canditech.reconciliation import missed_events, reconcile, remember_completion

from .helpers import (
    BASE_URL, SECRET, FakeContext, FakeInvitations, FakeRecords, event_body, hub_invitation, sign, wire_invitation,
)
from .test_hooks import invited, signed
from .test_webhooks import NOW, request

URL = f"{BASE_URL}/v1/invitations/inv_abc"
LEFT_OUT = "result_left_out:"  # the ctx.records key of what a result is recorded without
LEFT_OUT_KIND = "result_values_left_out"  # the timeline line saying it


class NotingInvitations(FakeInvitations):
    """``ctx.invitations`` that keeps the timeline lines the plugin adds."""

    def __init__(self, invitations) -> None:
        super().__init__(invitations)
        self.notes: list[tuple[int, str, str]] = []

    def note(self, invitation_id: int, kind: str, detail: str = "", *, refs=None) -> None:
        self.notes.append((invitation_id, kind, detail))


@pytest.fixture
def ctx():
    context = FakeContext()
    context.invitations = NotingInvitations([hub_invitation(7)])
    context.records = FakeRecords()
    yield context
    context.close()


def accept_completion(ctx, **overrides) -> AssessmentResult:
    """Post a signed completion webhook; Canditech answers a re-read with the same invitation."""
    body = event_body("invitation.completed", wire_invitation(**overrides))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", URL, json=wire_invitation(**overrides))
        (inbound,) = verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events
    assert inbound.external_id == "evt_1"
    return inbound.event


def timeline_after_delivery(ctx, result: AssessmentResult) -> list[str]:
    """What ``on_assessment_completed`` adds to the timeline once the hub recorded ``result``."""
    ctx.invitations.rows[7] = hub_invitation(7, status="completed")
    remember_completion(ctx, result)
    assert ctx.records.keys(LEFT_OUT) == []  # noted once, then forgotten
    return [detail for _, kind, detail in ctx.invitations.notes if kind == LEFT_OUT_KIND]


@pytest.mark.parametrize("overrides, field, words", [
    ({"score": "NaN"}, "score", "must be a finite number"),
    ({"score": "seventy"}, "score", "must be a finite number"),
    ({"score": True}, "score", "must be a finite number"),
    ({"score": {"value": 70}}, "score", "must be a finite number"),
    ({"score": -50}, "score", "at least 0"),
    ({"max_score": "Infinity"}, "max_score", "must be a finite number greater than 0"),
    ({"max_score": 0}, "max_score", "greater than 0"),
    ({"max_score": -10}, "max_score", "greater than 0"),
    ({"completed_at": "0001-01-01T00:00:00-23:59"}, "completed_at", "from the year 2000"),
    ({"completed_at": "9999-12-31T23:00:00-05:00"}, "completed_at", "to 9999"),  # past 9999 in UTC
    ({"completed_at": "yesterday"}, "completed_at", "ISO 8601 timestamp"),
    ({"report_url": "javascript:alert(1)"}, "report_url", "must be an http or https URL"),
    ({"report_url": "ftp://canditech.test/r/1"}, "report_url", "http or https"),
    ({"report_url": "https://canditech.test/r/" + "a" * 2000}, "report_url", "at most 2000 characters"),
])
def test_a_completion_is_recorded_without_the_value_that_breaks_its_rule(ctx, overrides, field, words):
    result = accept_completion(ctx, **overrides)
    expected = {"score": 75.0, "max_score": 100.0, "report_url": f"{BASE_URL}/reports/inv_abc", field: None}
    assert {name: getattr(result, name) for name in ("score", "max_score", "report_url")} == \
        {name: expected[name] for name in ("score", "max_score", "report_url")}
    if field == "completed_at":
        assert result.completed_at is not None  # the event's time stands in
    (note,) = timeline_after_delivery(ctx, result)
    assert f"{field} left out: it " in note and words in note


def test_a_score_above_max_score_keeps_the_score_and_leaves_the_maximum_out(ctx):
    # a percentage (85) with a points maximum (40): not on one scale
    result = accept_completion(ctx, score=85, max_score=40)
    assert (result.score, result.max_score) == (85.0, None)
    (note,) = timeline_after_delivery(ctx, result)
    assert "max_score left out: it must be at least the score (40 is below it" in note
    assert "85" not in note  # the candidate's score is on the invitation, not repeated in notes or records


def test_a_completion_without_a_score_yet_is_no_result_until_the_graded_one(ctx):
    """A score not given yet (``null``: graded by hand later) is no result: recorded, it would keep
    the graded score out for good (one result per round, one note in the ATS)."""
    body = event_body("invitation.completed", wire_invitation(score=None))
    with responses.RequestsMock() as rsps:  # thin: re-read, and Canditech has no score yet either
        rsps.add("GET", URL, json=wire_invitation(score=None))
        answer = verify_webhook(ctx, request(body, sign(SECRET, body, NOW)))
    assert answer.events == () and "ignored" in answer.note
    assert ctx.records.keys(LEFT_OUT) == []
    graded = event_body("invitation.completed", wire_invitation(score=64), event_id="evt_graded")
    (inbound,) = verify_webhook(ctx, request(graded, sign(SECRET, graded, NOW))).events
    assert (inbound.event.score, inbound.event.report_url) == (64.0, f"{BASE_URL}/reports/inv_abc")


def test_a_reread_answer_with_broken_values_is_recorded_without_them(ctx):
    body = event_body("invitation.completed", {"id": "inv_abc"})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, json=wire_invitation(score=-1, report_url="javascript:x"))
        (inbound,) = verify_webhook(ctx, request(body, sign(SECRET, body, NOW))).events
    assert (inbound.event.score, inbound.event.report_url) == (None, None)
    (note,) = timeline_after_delivery(ctx, inbound.event)
    assert "score left out: it must be a finite number, at least 0" in note
    assert "report_url left out: it must be an http or https URL" in note


def test_a_complete_result_adds_no_timeline_line(ctx):
    result = accept_completion(ctx)
    assert result.score == 75.0 and ctx.records.keys(LEFT_OUT) == []
    assert timeline_after_delivery(ctx, result) == []


def test_a_left_out_note_of_an_earlier_round_is_not_written(ctx):
    ctx.records.put(LEFT_OUT + "7", {"round": 1, "detail": "report_url left out", "since": "2026-03-01T00:00:00+00:00"})
    ctx.invitations.rows[7] = hub_invitation(7, status="completed", round=2)
    remember_completion(ctx, AssessmentResult(invitation_id=7, score=1.0))
    assert ctx.invitations.notes == [] and ctx.records.keys(LEFT_OUT) == []


def test_reconciliation_records_a_completion_with_broken_values_but_not_one_without_a_score_yet(ctx):
    started = hub_invitation(7, status="started")
    ctx.invitations.list_open = lambda provider, older_than, **page: [started]
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, json=wire_invitation(score="NaN", max_score="Infinity", report_url="javascript:alert(1)"))
        (event,) = reconcile(ctx)
    assert event.external_id == "reconcile:inv_abc:completed"
    assert (event.event.score, event.event.max_score, event.event.report_url) == (None, None, None)
    assert event.event.completed_at is not None
    (note,) = timeline_after_delivery(ctx, event.event)
    for field in ("score", "max_score", "report_url"):
        assert f"{field} left out" in note

    # not graded yet: nothing to record, a later run finds the score
    assert missed_events(started, wire.parse_invitation(wire_invitation(score=None))) == []


# --------------------------------------------------------------------------- through the hub


def test_a_percentage_score_reaches_the_source_and_the_timeline_says_the_maximum_was_left_out(hub):
    inv, remote = invited(hub)
    client = hub.app.test_client()
    url = f"/webhooks/canditech/{hub.runtime.integration(1, 'canditech').webhook_key}"
    invitation = {"id": remote["id"], "status": "completed", "external_reference": inv.external_reference,
                  "score": 85, "max_score": 40, "report_url": "https://canditech.test/reports/1",
                  "completed_at": "2026-03-01T09:55:00Z"}
    body = json.dumps({"id": "evt-percent", "type": "invitation.completed", "created_at": "2026-03-01T10:00:00Z",
                       "data": {"invitation": invitation}}).encode()

    answer = client.post(url, data=body, headers=signed(body, at=int(time.time())))
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted"
    hub.wait_for(lambda: hub.source.results, what="the result delivered to the source")
    done = hub.invitation()
    assert (done.status, done.score, done.max_score, done.report_url) == (
        "completed", 85.0, None, "https://canditech.test/reports/1")
    assert [(r.score, r.max_score) for r in hub.source.results] == [(85.0, None)]
    hub.wait_for(lambda: any(kind == LEFT_OUT_KIND for kind, _ in hub.timeline(inv.id)), what="the timeline line")
    (note,) = [detail for kind, detail in hub.timeline(inv.id) if kind == LEFT_OUT_KIND]
    assert note == ("Canditech's result was recorded without some values: max_score left out: it must be at least "
                    "the score (40 is below it: not on the score's scale)")
    assert hub.runtime.context(1, "canditech").records.keys(LEFT_OUT) == []
