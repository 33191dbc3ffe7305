"""Reconciliation keeps going past one invitation Canditech refuses, stops (and flags the
connection) when the key is refused, takes the open invitations in turns with a bounded number of
GETs per run, and keeps watching verdicts after the first one, for a window that is a setting."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

import plugins.canditech.reconciliation as reconciliation
from hub.entities import AssessmentResult, Verdict
from plugins.canditech.reconciliation import forget_completion, reconcile, remember_completion

from .helpers import BASE_URL, FakeContext, FakeRecords, hub_invitation, wire_invitation

NOW = datetime.now(timezone.utc)
OPEN_CHECKED = "open_checked"  # the ctx.records key of when each open invitation was last read


def url(provider_id: str) -> str:
    return f"{BASE_URL}/v1/invitations/{provider_id}"


def open_invitation(hub_id: int, **overrides):
    return hub_invitation(hub_id, status="invited", provider_invitation_id=f"inv_{hub_id}",
                          created_at=NOW - timedelta(days=2), **overrides)


def completed_remote(hub_id: int, **overrides) -> dict:
    return wire_invitation(id=f"inv_{hub_id}", external_reference=f"hub-inv-{hub_id}", **overrides)


@pytest.fixture
def ctx():
    context = FakeContext()
    context.records = FakeRecords()
    context.statuses = []
    context.set_status = lambda status, message=None: context.statuses.append((status, message))
    context.open = [open_invitation(1), open_invitation(2), open_invitation(3)]
    context.invitations.list_open = lambda provider, older_than, **page: list(context.open)
    for invitation in context.open:
        context.invitations.rows[invitation.id] = invitation
    yield context
    context.close()


def error(status: int, code: str) -> dict:
    return {"status": status, "json": {"error": {"code": code, "message": f"{code} says Canditech"}}}


# --------------------------------------------------------------------------- one invitation's error


def test_a_refusal_for_one_invitation_is_skipped_and_the_others_are_still_found(ctx):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_1"), json=completed_remote(1))
        rsps.add("GET", url("inv_2"), **error(410, "gone"))
        rsps.add("GET", url("inv_3"), json=completed_remote(3, score=40))
        events = reconcile(ctx)
    assert [(e.external_id, e.event.score) for e in events] == [
        ("reconcile:inv_1:completed", 75.0), ("reconcile:inv_3:completed", 40.0)]
    assert ctx.statuses == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_the_run_keeps_what_was_found_and_asks_for_a_new_key(ctx, status):
    key_check = f"{BASE_URL}/v1/assessments"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", url("inv_1"), json=completed_remote(1))
        rsps.add("GET", url("inv_2"), **error(status, "unauthorized"))
        rsps.add("GET", key_check, **error(status, "unauthorized"))  # a 403 is the key's if it is refused too
        (event,) = reconcile(ctx)
        checked = [key_check] if status == 403 else []
        assert [c.request.url for c in rsps.calls] == [url("inv_1"), url("inv_2")] + checked  # inv_3 is not asked
    assert event.external_id == "reconcile:inv_1:completed"
    ((flag, message),) = ctx.statuses
    assert flag == "needs_reauthorization"
    assert "unauthorized says Canditech" in message and "Enter a new key in the settings" in message


# --------------------------------------------------------------------------- taking turns


def test_open_invitations_take_turns_and_each_run_is_bounded(ctx, monkeypatch):
    monkeypatch.setattr(reconciliation, "MAX_OPEN_CHECKS_PER_RUN", 2)
    still_invited = {"json": wire_invitation(status="invited", score=None, report_url=None, completed_at=None)}
    with responses.RequestsMock() as rsps:
        for hub_id in (1, 2, 3):
            rsps.add("GET", url(f"inv_{hub_id}"), **still_invited)
        assert reconcile(ctx) == []
        assert [c.request.url for c in rsps.calls] == [url("inv_1"), url("inv_2")]
        assert reconcile(ctx) == []  # the one never checked goes first; 1 and 2 are not due again yet
        assert [c.request.url for c in rsps.calls][2:] == [url("inv_3")]
        assert reconcile(ctx) == []  # all checked a moment ago: no GET at all
        assert len(rsps.calls) == 3
    assert set(ctx.records.get(OPEN_CHECKED)) == {"1", "2", "3"}

    # two days old: due again an hour after the last check, the longest unchecked first
    hour_ago = lambda minutes: (NOW - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    ctx.records.put(OPEN_CHECKED, {"1": hour_ago(61), "2": hour_ago(30), "3": hour_ago(90)})
    ctx.open = [open_invitation(1), open_invitation(2), open_invitation(3)]
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_3"), **still_invited)
        rsps.add("GET", url("inv_1"), **still_invited)
        assert reconcile(ctx) == []
        assert [c.request.url for c in rsps.calls] == [url("inv_3"), url("inv_1")]

    ctx.open = [open_invitation(2)]  # 1 and 3 closed: no longer remembered
    with responses.RequestsMock():
        assert reconcile(ctx) == []
    assert set(ctx.records.get(OPEN_CHECKED)) == {"2"}


def test_check_times_are_kept_when_canditech_stops_the_run(ctx):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_1"), json=wire_invitation(status="invited", score=None))
        rsps.add("GET", url("inv_2"), status=503, json={"error": {"code": "down", "message": "down"}})
        assert reconcile(ctx) == []
    assert set(ctx.records.get(OPEN_CHECKED)) == {"1"}  # 2 and 3 are next


# --------------------------------------------------------------------------- the verdict watch


def watched(ctx, verdict=None, verdict_at=None, days_ago=1.0, checked_hours_ago=None):
    """Invitation 7 completed ``days_ago``, with ``verdict`` in the hub, and its watch record."""
    ctx.open = []
    ctx.invitations.rows[7] = hub_invitation(7, status="completed", verdict=verdict, verdict_at=verdict_at)
    remember_completion(ctx, AssessmentResult(invitation_id=7, completed_at=NOW - timedelta(days=days_ago)))
    if checked_hours_ago is not None:
        key = "awaiting_verdict:7"
        ctx.records.put(key, {**ctx.records.get(key),
                              "checked_at": (NOW - timedelta(hours=checked_hours_ago)).isoformat()})


def test_the_watch_goes_on_after_a_verdict_and_finds_a_changed_one(ctx):
    first_at = datetime(2026, 3, 2, tzinfo=timezone.utc)
    watched(ctx, verdict="thumbs_up", verdict_at=first_at)
    forget_completion(ctx, Verdict(invitation_id=7, verdict="thumbs_up"))  # on_verdict
    assert ctx.records.keys("awaiting_verdict:") == ["awaiting_verdict:7"]
    with responses.RequestsMock():
        assert reconcile(ctx) == []  # just checked: the next look is hours away

    watched(ctx, verdict="thumbs_up", verdict_at=first_at, checked_hours_ago=7)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_abc"), json=wire_invitation(verdict="thumbs_down", verdict_at="2026-03-03T00:00:00Z"))
        (event,) = reconcile(ctx)
    assert event.event.verdict == "thumbs_down"
    assert event.external_id == "reconcile:inv_abc:verdict:thumbs_down:2026-03-03T00:00:00+00:00"


def test_after_a_verdict_the_watch_is_slow(ctx):
    watched(ctx, verdict="thumbs_up", checked_hours_ago=3)
    with responses.RequestsMock():
        assert reconcile(ctx) == []  # 3 h: not yet (without a verdict, a day-old one would be due)
    watched(ctx, verdict="thumbs_up", checked_hours_ago=6.1)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_abc"), json=wire_invitation(verdict="thumbs_up", verdict_at="2026-03-02T00:00:00Z"))
        assert reconcile(ctx) == []  # the same verdict: nothing new
        assert len(rsps.calls) == 1


def test_the_watch_window_is_a_setting(ctx):
    ctx.settings = {**ctx.settings, "verdict_watch_days": 30}
    watched(ctx, days_ago=20, checked_hours_ago=7)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_abc"), json=wire_invitation(verdict="thumbs_up", verdict_at="2026-03-02T00:00:00Z"))
        (event,) = reconcile(ctx)
    assert event.external_id == "reconcile:inv_abc:verdict:thumbs_up"

    ctx.settings = {**ctx.settings, "verdict_watch_days": 3}
    watched(ctx, days_ago=4, checked_hours_ago=7)
    with responses.RequestsMock():
        assert reconcile(ctx) == []
    assert ctx.records.keys("awaiting_verdict:") == []


def test_a_completion_with_its_verdict_already_recorded_is_still_watched(ctx):
    watched(ctx, verdict="thumbs_down")
    assert ctx.records.keys("awaiting_verdict:") == ["awaiting_verdict:7"]


def test_every_open_invitation_is_listed_past_the_first_page():
    """``list_open`` returns a page (500) at a time: the open invitations past the first page were
    never reconciled before the plugin asked for the next pages."""
    from types import SimpleNamespace

    from hub.context import LIST_OPEN_PAGE as OPEN_PAGE
    from plugins.canditech.reconciliation import _all_open

    ids = list(range(1, 2 * OPEN_PAGE + 8))
    calls = []

    def list_open(provider, older_than, after_id=None, limit=OPEN_PAGE):
        calls.append(after_id)
        later = [i for i in ids if after_id is None or i > after_id]
        return [SimpleNamespace(id=i) for i in later[:limit]]

    ctx = SimpleNamespace(plugin_name="canditech", invitations=SimpleNamespace(list_open=list_open))
    assert [i.id for i in _all_open(ctx, timedelta(minutes=30))] == ids
    assert calls == [None, OPEN_PAGE, 2 * OPEN_PAGE]


# --------------------------------------------------------------------------- bounded runs, fair turns


def watch(ctx, hub_id: int, verdict=None, completed_days_ago=1.0, checked_hours_ago=1.0) -> None:
    """Completed invitation ``hub_id`` (Canditech ``inv_<id>``) with ``verdict``, and its watch record."""
    ctx.invitations.rows[hub_id] = hub_invitation(hub_id, status="completed", provider_invitation_id=f"inv_{hub_id}",
                                                  verdict=verdict)
    ctx.records.put(f"awaiting_verdict:{hub_id}", {
        "provider_invitation_id": f"inv_{hub_id}", "verdict": verdict,
        "since": (NOW - timedelta(days=completed_days_ago)).isoformat(),
        "checked_at": (NOW - timedelta(hours=checked_hours_ago)).isoformat()})


def test_rechecks_after_a_verdict_do_not_starve_a_lost_first_verdict(ctx, monkeypatch):
    """Before, all watched invitations shared one cap, the longest unchecked first: re-checks (every
    6 h) always went ahead of one still awaiting its first verdict (checked more often)."""
    monkeypatch.setattr(reconciliation, "MAX_FIRST_VERDICT_CHECKS_PER_RUN", 2)
    monkeypatch.setattr(reconciliation, "MAX_VERDICT_RECHECKS_PER_RUN", 2)
    ctx.open = []
    for hub_id in (21, 22, 23):
        watch(ctx, hub_id, verdict="thumbs_up", checked_hours_ago=7)
    watch(ctx, 24, checked_hours_ago=3)  # a day after completion: due every 2.4 hours
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for hub_id in (21, 22, 23, 24):
            rsps.add("GET", url(f"inv_{hub_id}"), json=completed_remote(hub_id, verdict="thumbs_up"))
        events = reconcile(ctx)
        asked = [c.request.url for c in rsps.calls]
    assert asked[0] == url("inv_24") and len(asked) == 3  # the first verdict, then two re-checks
    assert [e.external_id for e in events] == ["reconcile:inv_24:verdict:thumbs_up"]


def test_the_most_overdue_is_asked_first_not_the_longest_unchecked(ctx, monkeypatch):
    monkeypatch.setattr(reconciliation, "MAX_FIRST_VERDICT_CHECKS_PER_RUN", 1)
    ctx.open = []
    watch(ctx, 31, completed_days_ago=10, checked_hours_ago=6.5)  # every 6 h: half an hour overdue
    watch(ctx, 32, completed_days_ago=1, checked_hours_ago=3.4)  # every 2.4 h: an hour overdue
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_32"), json=completed_remote(32, verdict=None, verdict_at=None))
        assert reconcile(ctx) == []
        assert [c.request.url for c in rsps.calls] == [url("inv_32")]


def test_a_watch_replaced_by_a_newer_round_during_the_run_is_not_overwritten(ctx):
    """Before, the run wrote back the record it had read at its start, with the old round's
    Canditech id: the next run then took the new round's watch for stale and deleted it."""
    ctx.open = []
    watch(ctx, 41, checked_hours_ago=5)
    new_round = {"provider_invitation_id": "inv_41b", "since": NOW.isoformat(), "checked_at": None, "verdict": None}

    def reinvited_meanwhile(request):
        ctx.records.put("awaiting_verdict:41", new_round)  # remember_completion of the new round
        return 200, {}, json.dumps(completed_remote(41, verdict=None, verdict_at=None))

    with responses.RequestsMock() as rsps:
        rsps.add_callback("GET", url("inv_41"), callback=reinvited_meanwhile)
        reconcile(ctx)
    assert ctx.records.get("awaiting_verdict:41") == new_round


def test_check_times_another_run_stored_meanwhile_are_kept(ctx, monkeypatch):
    monkeypatch.setattr(reconciliation, "MAX_OPEN_CHECKS_PER_RUN", 2)
    checked_elsewhere = NOW.isoformat()

    def other_run_checked_3(request):
        ctx.records.put(OPEN_CHECKED, {"3": checked_elsewhere})
        return 200, {}, json.dumps(wire_invitation(status="invited", score=None, report_url=None, completed_at=None))

    with responses.RequestsMock() as rsps:
        for hub_id in (1, 2):
            rsps.add_callback("GET", url(f"inv_{hub_id}"), callback=other_run_checked_3)
        assert reconcile(ctx) == []
    assert ctx.records.get(OPEN_CHECKED)["3"] == checked_elsewhere
    assert set(ctx.records.get(OPEN_CHECKED)) == {"1", "2", "3"}


def test_a_run_stops_reading_when_its_time_is_up_and_keeps_what_it_found(ctx, monkeypatch):
    """The hub's reconcile lock lasts 300 s and is not renewed: a run reads for 200 s at most, so
    two runs never overlap. Each GET here takes 60 s on a fake clock: the open invitations' share
    (45%, 90 s) ends after two, and the verdict watch still gets the rest."""
    clock = [1000.0]
    monkeypatch.setattr(reconciliation, "_monotonic", lambda: clock[0])
    watch(ctx, 51, checked_hours_ago=3)

    def slow(body):
        def answer(request):
            clock[0] += 60
            return 200, {}, json.dumps(body)
        return answer

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for hub_id in (1, 2, 3):
            rsps.add_callback("GET", url(f"inv_{hub_id}"), callback=slow(completed_remote(hub_id)))
        rsps.add_callback("GET", url("inv_51"), callback=slow(completed_remote(51, verdict="thumbs_down")))
        events = reconcile(ctx)
        asked = [c.request.url for c in rsps.calls]
    assert asked == [url("inv_1"), url("inv_2"), url("inv_51")]
    assert [e.external_id for e in events] == ["reconcile:inv_1:completed", "reconcile:inv_2:completed",
                                               "reconcile:inv_51:verdict:thumbs_down"]
    assert set(ctx.records.get(OPEN_CHECKED)) == {"1", "2"}  # 3 goes first next time


def test_a_run_s_reads_wait_briefly_for_the_rate_budget(ctx):
    """A worker's 60 s wait for a token, twice per read, could carry a read begun just before the
    run's budget ended past the 300 s reconcile lock: two runs would then overlap."""
    from plugins.canditech.reconciliation import RUN_BUDGET, Run
    from plugins.canditech.settings import CanditechSettings

    run = Run(ctx, CanditechSettings.from_context(ctx))
    worst_read = 2 * (run.client.limiter_wait + 15) + 5  # two tries, their HTTP timeouts, a pause
    assert RUN_BUDGET.total_seconds() + worst_read < 300
