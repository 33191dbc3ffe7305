"""Reconciliation's pure parts: which events a Canditech state implies, and the verdict watch's pace."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from hub.entities import AssessmentResult, InvitationProgress, Verdict
from plugins.canditech import wire
from plugins.canditech.client import CanditechClient
from plugins.canditech.reconciliation import Run, _watch_verdicts, missed_events, remember_completion
from plugins.canditech.settings import CanditechSettings

from .helpers import BASE_URL, FakeContext, FakeRecords, hub_invitation, wire_invitation


@pytest.fixture
def ctx():
    context = FakeContext(invitations=[hub_invitation(7, status="completed")])
    context.records = FakeRecords()
    yield context
    context.close()


def remote(**overrides):
    return wire.parse_invitation(wire_invitation(**overrides))


def test_missed_events_for_each_canditech_state():
    invited = hub_invitation(7, status="invited")
    started = remote(status="started", score=None)
    assert [(e.external_id, e.event.status) for e in missed_events(invited, started)] == \
        [("reconcile:inv_abc:started", "started")]
    assert missed_events(hub_invitation(7, status="started"), started) == []

    done = missed_events(invited, remote(verdict="thumbs_down", verdict_at="2026-03-02T00:00:00Z"))
    assert [e.external_id for e in done] == ["reconcile:inv_abc:completed", "reconcile:inv_abc:verdict:thumbs_down"]
    assert isinstance(done[0].event, AssessmentResult) and done[0].event.score == 75.0
    assert isinstance(done[1].event, Verdict) and done[1].event.verdict == "thumbs_down"

    for status in ("expired", "cancelled"):
        (event,) = missed_events(invited, remote(status=status, score=None))
        assert event.external_id == f"reconcile:inv_abc:{status}"
        assert event.event == InvitationProgress(invitation_id=7, status=status, round=1)
    assert missed_events(invited, remote(status="invited", score=None)) == []
    # each event names the round it was found for: the hub drops it if a re-invite lands first
    assert {e.event.round for e in done} == {1}
    assert missed_events(invited, remote(external_reference="hub-inv-7-r2")) == []  # another round's


def test_the_verdict_watch_slows_down_and_ends(ctx):
    now = datetime.now(timezone.utc)
    remember_completion(ctx, AssessmentResult(invitation_id=7, completed_at=now - timedelta(days=1)))
    key = "awaiting_verdict:7"
    assert ctx.records.get(key)["provider_invitation_id"] == "inv_abc"
    url = f"{BASE_URL}/v1/invitations/inv_abc"

    def watch():
        run = Run(ctx, CanditechSettings.from_context(ctx))
        run.client = CanditechClient(ctx, sleep=lambda s: None)
        found = []
        _watch_verdicts(run, found.append)
        return found

    with responses.RequestsMock() as rsps:
        rsps.add("GET", url, json=wire_invitation())
        assert watch() == []  # a day old, never checked: due
        assert len(rsps.calls) == 1
        # checked just now: the next check is a tenth of its age (2.4 h) away
        assert watch() == []
        assert len(rsps.calls) == 1

    ctx.records.put(key, {**ctx.records.get(key), "checked_at": (now - timedelta(hours=3)).isoformat()})
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url, json=wire_invitation(verdict="thumbs_up", verdict_at="2026-03-02T00:00:00Z"))
        (event,) = watch()
    assert event.external_id == "reconcile:inv_abc:verdict:thumbs_up" and event.event.verdict == "thumbs_up"

    ctx.records.put(key, {**ctx.records.get(key), "since": (now - timedelta(days=15)).isoformat()})
    assert watch() == []  # watched long enough: forgotten
    assert ctx.records.keys("awaiting_verdict:") == []


def test_a_leftover_record_of_an_earlier_round_is_replaced(ctx):
    ctx.records.put("awaiting_verdict:7", {"provider_invitation_id": "inv_round1", "since": "2026-01-01T00:00:00+00:00"})
    remember_completion(ctx, AssessmentResult(invitation_id=7))
    assert ctx.records.get("awaiting_verdict:7")["provider_invitation_id"] == "inv_abc"


def test_parse_invitation_keeps_broken_values_out_and_says_why():
    parsed = wire.parse_invitation(wire_invitation(score="NaN", max_score=0, completed_at="0001-01-01T00:00:00-23:59",
                                                   report_url="javascript:alert(1)", started_at="not a time"))
    assert (parsed["score"], parsed["max_score"], parsed["completed_at"], parsed["report_url"],
            parsed["started_at"]) == (None, None, None, None, None)
    assert set(parsed["problems"]) == {"score", "max_score", "completed_at", "report_url", "started_at"}
    assert wire.parse_invitation(wire_invitation())["problems"] == {}
    assert wire.parse_invitation(wire_invitation(score=None, report_url="", completed_at=None))["problems"] == {}
