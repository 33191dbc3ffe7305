"""Reconciliation: find what lost report webhooks missed, by asking Vervoe.

Every open Vervoe invitation (invited/started) older than ``reconcile_after_minutes`` is read from
Vervoe (``GET /integration/user-assessments/{uuid}``) and mapped with ``events.events_for``, so the
external ids are the ones a webhook would have produced: the hub's deduplication and state machine
make repeated runs (and a webhook arriving after all) harmless. A completed assessment still
without a score after ``unscored_result_after_minutes`` is written back unscored (Vervoe's grading
may be manual and may never come). A report whose link or times break the rules a webhook's
report is held to (``wire.REPORT_RULES``) is logged and not recorded. Vervoe failing stops the run
early, keeping what was found.

It also finishes what a send left undone: a withdraw (reject) of a send that raced a cancel whose
reject failed and whose delivery did not complete it (``invite.complete_withdraws``: under the
invitation's lease, skipped while someone holds it, dropped with a timeline line when Vervoe
refuses it for good), and markers of sends that are over without a link (``links.prune_sending``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hub.entities import AssessmentResult, InboundEvent
from hub.errors import NeedsReauthorization, TemporaryError

from . import invite, links, wire
from .client import VervoeClient, VervoeError, VervoeNotFound
from .events import events_for, result_event
from .settings import VervoeSettings


def reconcile(ctx: Any) -> list[InboundEvent]:
    settings = VervoeSettings.from_context(ctx)
    if not settings.api_key or not settings.api_secret:
        return []
    client = VervoeClient(ctx, settings, max_attempts=2)
    after = timedelta(minutes=settings.reconcile_after_minutes)
    unscored_after = timedelta(minutes=settings.unscored_result_after_minutes)
    now = datetime.now(timezone.utc)
    found: list[InboundEvent] = []
    try:
        invite.complete_withdraws(ctx)
    except (TemporaryError, NeedsReauthorization, VervoeError) as exc:
        ctx.log.warning("reconcile: a pending withdraw at Vervoe failed again, kept for the next run: %s", exc)
    links.prune_sending(ctx, settings.sending_window_seconds)
    try:
        for invitation in ctx.invitations.list_open(ctx.plugin_name, older_than=after):
            uuid = invitation.provider_invitation_id
            try:
                report = client.get_report(uuid)
            except VervoeNotFound:
                ctx.log.warning("reconcile: invitation %s (%s) is unknown at Vervoe", invitation.id, uuid)
                continue
            if report["problems"]:  # the rules a webhook's report is held to (wire.REPORT_RULES)
                ctx.log.warning("reconcile: Vervoe's report of invitation %s (%s) has unusable values, not "
                                "recorded: %s", invitation.id, uuid, wire.describe_problems(report["problems"]))
                continue
            link = links.invitation_link(ctx, invitation.id)
            linked, since = (links.report_round(ctx, invitation, link) if link and link.get("uuid") == uuid
                             else (True, None))
            hub_rejected = report["kind"] == wire.KIND_REJECTED and links.rejected_by_hub(ctx, uuid, link)
            events, _ = events_for(report, invitation, at=None, verdict_tag="reconcile", since=since,
                                   linked=linked, rejected_by_hub=hub_rejected)
            if ((report["kind"] == wire.KIND_COMPLETED or hub_rejected) and report["score"] is None
                    and report["completed_at"] is not None and now - report["completed_at"] >= unscored_after
                    and not any(isinstance(e.event, AssessmentResult) for e in events)):
                events.append(result_event(report, invitation, None))
            found.extend(events)
    except (TemporaryError, NeedsReauthorization) as exc:
        ctx.log.warning("reconcile stopped early: %s", exc)
    return found
