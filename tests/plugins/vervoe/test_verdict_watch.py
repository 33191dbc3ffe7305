"""The Vervoe plugin's verdict watch, in a real hub against the Vervoe sandbox over real HTTP: a
reviewer's decision (hired / rejected) set at Vervoe after the candidate completed, whose report
webhook is lost, still reaches the ATS once, through reconciliation, for ``verdict_watch_days``
after the completion; never twice when the webhook arrives too; and not looked for after that."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.engine.sweeper import reconcile_all
from .conftest import BACKEND_ANSWERS

VERDICT_WATCH_PREFIX = "verdict-watch:"  # plugins.vervoe.reconciliation's ``ctx.records`` key of a watch


def backdate(hub, inv, days: int) -> None:
    """Make ``inv``'s watch count its completion as ``days`` days old."""
    records = hub.ctx().records
    key = f"{VERDICT_WATCH_PREFIX}{inv.id}"
    assert records.get(key) is not None, "the completion is watched"
    since = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    records.put(key, {**records.get(key), "since": since})


def completed(hub, opportunity_id: str = "opp-1"):
    """Invite ``opportunity_id``'s candidate and have them complete at Vervoe, its webhooks delivered."""
    hub.candidate(opportunity_id, email=f"{opportunity_id}@example.com")
    hub.move(opportunity_id)
    inv = next(i for i in hub.invitations() if i.opportunity_id == opportunity_id)
    hub.sandbox.act(inv.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: next(i for i in hub.invitations() if i.id == inv.id).status == "completed",
                 what="the completion recorded")
    hub.sandbox.quiet()
    return next(i for i in hub.invitations() if i.id == inv.id)


def lose_webhooks(hub) -> None:
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)


def verdict_of(hub, invitation_id: int):
    return next(i for i in hub.invitations() if i.id == invitation_id).verdict


def report_reads(api_exchanges, uuid: str) -> int:
    return sum(1 for e in api_exchanges.exchanges
               if e.method == "GET" and e.url.split("?")[0].endswith(f"/integration/user-assessments/{uuid}"))


def test_a_rejection_after_completion_whose_webhook_is_lost_is_recorded_once_by_reconciliation(hub):
    inv = completed(hub)
    assert [r.score for r in hub.source.results] == [100.0] and hub.source.verdicts == []
    lose_webhooks(hub)
    hub.sandbox.act(inv.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    assert verdict_of(hub, inv.id) is None  # the webhook was lost (the hub was down past Vervoe's retries)

    reconcile_all(hub.runtime)
    assert verdict_of(hub, inv.id) == "thumbs_down"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]
    reconcile_all(hub.runtime)
    reconcile_all(hub.runtime)
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]  # written to the ATS once
    assert len(hub.source.results) == 1
    assert [kind for kind, _ in hub.timeline(inv.id)].count("verdict") == 1


def test_a_decision_found_by_reconciliation_and_by_its_late_webhook_is_written_once(hub):
    inv = completed(hub)
    hub.sandbox.hold_webhooks()  # the report webhook comes, but only after reconciliation found the decision
    try:
        hub.sandbox.act(inv.provider_invitation_id, "reject")
        reconcile_all(hub.runtime)
        assert verdict_of(hub, inv.id) == "thumbs_down"
        assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]
    finally:
        hub.sandbox.release_webhooks()
    assert hub.webhook_outcomes()[-1][1] == 200  # the webhook was taken: a decision the hub has already
    reconcile_all(hub.runtime)
    assert verdict_of(hub, inv.id) == "thumbs_down"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]
    assert [kind for kind, _ in hub.timeline(inv.id)].count("verdict") == 1


def test_the_webhook_first_then_reconciliation_writes_the_decision_once_and_a_changed_one_too(hub):
    inv = completed(hub)
    hub.sandbox.act(inv.provider_invitation_id, "hire")
    hub.wait_for(lambda: hub.source.verdicts, what="the hire's webhook")
    hub.sandbox.quiet()
    records = hub.ctx().records
    key = f"{VERDICT_WATCH_PREFIX}{inv.id}"
    assert (records.get(key) or {}).get("uuid") == inv.provider_invitation_id
    reconcile_all(hub.runtime)
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up"]

    # the reviewer changes their mind at Vervoe (un-hire, reject) while the hub is down; the watch
    # looks again at its slowest pace (here: its last check made older than that)
    lose_webhooks(hub)
    hub.sandbox.act(inv.provider_invitation_id, "unhire")
    hub.sandbox.act(inv.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    reconcile_all(hub.runtime)
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up"]  # not due yet
    old = (datetime.now(timezone.utc) - timedelta(hours=7)).isoformat()
    records.put(key, {**records.get(key), "checked_at": old})
    reconcile_all(hub.runtime)
    assert verdict_of(hub, inv.id) == "thumbs_down"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up", "thumbs_down"]


def test_a_decision_past_the_watch_window_is_not_looked_for(hub, api_exchanges):
    inside, outside = completed(hub, "opp-1"), completed(hub, "opp-2")
    lose_webhooks(hub)
    for inv in (inside, outside):
        hub.sandbox.act(inv.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    # ``outside`` completed 15 days ago (the window is 14 days by default), ``inside`` 13 days ago
    backdate(hub, inside, 13)
    backdate(hub, outside, 15)
    records = hub.ctx().records

    reconcile_all(hub.runtime)
    assert verdict_of(hub, inside.id) == "thumbs_down"
    assert verdict_of(hub, outside.id) is None
    assert report_reads(api_exchanges, inside.provider_invitation_id) >= 1
    assert report_reads(api_exchanges, outside.provider_invitation_id) == 0  # not asked about
    assert records.get(f"{VERDICT_WATCH_PREFIX}{outside.id}") is None  # forgotten
    reconcile_all(hub.runtime)
    assert report_reads(api_exchanges, outside.provider_invitation_id) == 0
    assert [v.invitation_id for v in hub.source.verdicts] == [inside.id]


def test_the_watch_window_is_the_setting(hub):
    inv = completed(hub)
    lose_webhooks(hub)
    hub.sandbox.act(inv.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    backdate(hub, inv, 15)
    hub.save_settings(verdict_watch_days=16)
    reconcile_all(hub.runtime)
    assert verdict_of(hub, inv.id) == "thumbs_down"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]


# --------------------------------------------------------------------------- completions from before the watch

VERDICT_WATCH_FILL = "verdict-watch-fill"  # plugins.vervoe.reconciliation's record of the one-time fill


def completed_before_the_watch(hub, opportunity_id: str, days_ago: float = 1):
    """A completion recorded by a version of the plugin without the watch: no watch record, and
    the one-time fill not run yet; completed ``days_ago`` days ago."""
    inv = completed(hub, opportunity_id)
    records = hub.ctx().records
    records.delete(f"{VERDICT_WATCH_PREFIX}{inv.id}")
    records.delete(VERDICT_WATCH_FILL)
    hub.update_invitation(inv.id, completed_at=datetime.now(timezone.utc) - timedelta(days=days_ago))
    return inv


def test_a_completion_from_before_the_watch_is_watched_inside_the_window(hub, api_exchanges):
    inside = completed_before_the_watch(hub, "opp-1", days_ago=13)
    outside = completed_before_the_watch(hub, "opp-2", days_ago=15)  # the window is 14 days by default
    lose_webhooks(hub)
    for inv in (inside, outside):
        hub.sandbox.act(inv.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    assert verdict_of(hub, inside.id) is None and verdict_of(hub, outside.id) is None

    reconcile_all(hub.runtime)
    assert verdict_of(hub, inside.id) == "thumbs_down"
    assert [v.invitation_id for v in hub.source.verdicts] == [inside.id]
    records = hub.ctx().records
    watch = records.get(f"{VERDICT_WATCH_PREFIX}{inside.id}")
    assert watch["uuid"] == inside.provider_invitation_id and watch["round"] == inside.round
    assert records.get(f"{VERDICT_WATCH_PREFIX}{outside.id}") is None
    assert report_reads(api_exchanges, outside.provider_invitation_id) == 0  # not asked about
    assert records.get(VERDICT_WATCH_FILL)["done"] is True

    reconcile_all(hub.runtime)
    assert [v.invitation_id for v in hub.source.verdicts] == [inside.id]  # written to the ATS once
    assert report_reads(api_exchanges, outside.provider_invitation_id) == 0


def test_the_fill_runs_once_a_few_pages_a_run(hub, monkeypatch):
    from plugins.vervoe import reconciliation

    monkeypatch.setattr(reconciliation, "FILL_PAGE_SIZE", 1, raising=False)
    monkeypatch.setattr(reconciliation, "FILL_PAGES_PER_RUN", 1, raising=False)
    first, second = completed(hub, "opp-1"), completed(hub, "opp-2")
    records = hub.ctx().records
    for inv in (first, second):
        records.delete(f"{VERDICT_WATCH_PREFIX}{inv.id}")
    records.delete(VERDICT_WATCH_FILL)
    lose_webhooks(hub)
    for inv in (first, second):
        hub.sandbox.act(inv.provider_invitation_id, "hire")
    hub.sandbox.quiet()

    reconcile_all(hub.runtime)  # one page of one: the first
    assert (verdict_of(hub, first.id), verdict_of(hub, second.id)) == ("thumbs_up", None)
    assert records.get(VERDICT_WATCH_FILL)["done"] is False
    reconcile_all(hub.runtime)  # the next page: the second
    assert (verdict_of(hub, first.id), verdict_of(hub, second.id)) == ("thumbs_up", "thumbs_up")
    reconcile_all(hub.runtime)  # an empty page: done
    assert records.get(VERDICT_WATCH_FILL)["done"] is True

    # done for good: a completion without a watch now is not looked for again (the hook watches new ones)
    hub.sandbox.faults()
    third = completed(hub, "opp-3")
    records.delete(f"{VERDICT_WATCH_PREFIX}{third.id}")
    reconcile_all(hub.runtime)
    assert records.get(f"{VERDICT_WATCH_PREFIX}{third.id}") is None
    assert [v.invitation_id for v in hub.source.verdicts] == [first.id, second.id]
