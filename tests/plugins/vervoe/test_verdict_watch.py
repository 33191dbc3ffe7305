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
