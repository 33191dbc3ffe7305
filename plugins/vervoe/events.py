"""From a Vervoe candidate report (webhook body or API answer) to hub events, for one hub invitation.

Vervoe's report webhook has no event type and no event id: it is the candidate's report, sent
whenever something happened (started, completed, graded, re-graded, hired, un-hired, rejected,
un-rejected, expired, screening). The report's ``status`` says what the candidate's state is now:

============================  ==================================================================
Vervoe status                 hub event(s)
============================  ==================================================================
``in progress``               ``InvitationProgress(started)``
``complete`` with a score     ``AssessmentResult(score=<percentage>, max_score=100,
                              report_url=integrationCandidateCardUrl, completed_at)``
``complete`` without a score  ``InvitationProgress(started)`` only: Vervoe sends the report again
                              when it grades it ("the first time AI grades", "the first time
                              candidate gets a manual team score"); reconciliation writes an
                              unscored result back after ``unscored_result_after_minutes``
``hired``                     the result (if completed) + ``Verdict(thumbs_up)``
``rejected``                  the result + ``Verdict(thumbs_down)`` when completed (only the
                              result when the reject was the hub's own, landing just as the
                              candidate completed); before completing:
                              ``InvitationProgress(cancelled)`` (Vervoe closed it)
``expired``                   ``InvitationProgress(expired)``
invited, incomplete,          nothing (answered 200, logged)
screening*, unknown
============================  ==================================================================

External ids are deterministic per (candidate assessment, hub invitation, round, what happened):
``vervoe:<uuid>:<hub id>:r<round>:started|completed|expired|rejected``, so Vervoe's retries and a
reconciliation that finds the same thing are duplicates. A completion counts once: later
re-grades ("AI score is updated") do not change the score the hub recorded. A verdict's id adds the
webhook's signature time (``...:hired:<t>``): a decision changed back and forth at Vervoe (hired,
un-hired, rejected) is a new verdict each time; the hub keeps the latest by ``decided_at``.
Un-hire / un-reject come back as status ``complete``: the hub has no "verdict withdrawn", so they
change nothing there.
"""

from __future__ import annotations

import dataclasses

from datetime import datetime, timedelta
from typing import Any

from hub.entities import (
    CANCELLED, EXPIRED, STARTED, THUMBS_DOWN, THUMBS_UP, AssessmentResult, InboundEvent, InvitationProgress, Verdict,
)

from . import wire

MAX_SCORE = 100.0
REJECTED_BEFORE_COMPLETING = "rejected at Vervoe before completing the assessment"
# a re-invited candidate assessment (reset at Vervoe) ignores reports of its earlier round: their
# times are before the reset (allowing this much clock skew between Vervoe and the hub)
ROUND_SKEW = timedelta(seconds=30)


def external_id(report: dict[str, Any], invitation: Any, what: str) -> str:
    return f"vervoe:{report['uuid']}:{invitation.id}:r{invitation.round}:{what}"


def result_event(report: dict[str, Any], invitation: Any, fallback_at: datetime | None) -> InboundEvent:
    return InboundEvent(
        external_id=external_id(report, invitation, "completed"),
        event=AssessmentResult(invitation_id=invitation.id, score=report["score"],
                               max_score=MAX_SCORE if report["score"] is not None else None,
                               report_url=report["report_url"],
                               completed_at=report["completed_at"] or fallback_at))


def is_earlier_round(report: dict[str, Any], invitation: Any, since: datetime | None, *, linked: bool = True) -> bool:
    """True when ``report`` is about an earlier round of ``invitation`` than its current one: such a
    report must change nothing (the hub applies an event to the invitation as it is now, whatever
    round that is). A re-invite resets the same candidate assessment at Vervoe, and Vervoe's report
    names no round, so the round is told by the link and the report's own times:

    - ``linked`` (the ``invitation:<id>`` link is of the current round; ``since`` is when it was
      written, after the round's send reached Vervoe): the report is the current round's unless its
      times (start, completion) are all before ``since`` (``ROUND_SKEW`` allowed for the two clocks):
      an earlier round's start or completion reaching the hub late. A report without times (a
      decision or expiry before completing, re-read from Vervoe: its state now) is the current round's.
    - not ``linked`` (the link is an earlier round's: the current round is pending and its send has
      not reset the candidate assessment at Vervoe yet, or not recorded it): Vervoe's state is what
      the earlier round left (the hub's own reject of a cancelled round, a reviewer's decision, an
      expiry), so the report is the earlier round's, unless its own time (``own_time``: the
      completion, or the start of a candidate still taking it) is at or after ``since``, which is
      then when the current round's send last called Vervoe (``links.report_round``): the candidate
      took the reset assessment before its link was recorded. ``since`` None (the round has not
      called Vervoe): nothing there is this round's. A decision or expiry before completing carries
      no time of its own (its ``startedAt`` is when the candidate started, maybe in the earlier
      round): the earlier round's. (Were it the current round's, a reviewer deciding in the moment
      between the reset and its link, ``reconcile`` reads it again once the round is linked.)"""
    if not linked:
        own = own_time(report)
        return since is None or own is None or own < since - ROUND_SKEW
    stamps = [t for t in (report["completed_at"], report["started_at"]) if t is not None]
    if invitation.round <= 1 or since is None:
        return False
    return bool(stamps) and max(stamps) < since - ROUND_SKEW


def own_time(report: dict[str, Any]) -> datetime | None:
    """When what ``report`` tells happened, as far as its times say: the completion, else the start
    of a candidate taking it (in progress, or complete without a time); None for a decision or an
    expiry before completing (Vervoe's report has no time for them)."""
    if report["completed_at"] is not None:
        return report["completed_at"]
    return report["started_at"] if report["kind"] in (wire.KIND_STARTED, wire.KIND_COMPLETED) else None


def events_for(report: dict[str, Any], invitation: Any, *, at: datetime | None, verdict_tag: str,
               since: datetime | None = None, linked: bool = True,
               rejected_by_hub: bool = False) -> tuple[list[InboundEvent], str]:
    """``_events_for``, each event naming the round it was found to be about (``round``): the hub
    drops it if the invitation is re-invited before the event is stored."""
    found, note = _events_for(report, invitation, at=at, verdict_tag=verdict_tag, since=since, linked=linked,
                              rejected_by_hub=rejected_by_hub)
    return [dataclasses.replace(item, event=dataclasses.replace(item.event, round=invitation.round))
            for item in found], note


def _events_for(report: dict[str, Any], invitation: Any, *, at: datetime | None, verdict_tag: str,
                since: datetime | None = None, linked: bool = True,
                rejected_by_hub: bool = False) -> tuple[list[InboundEvent], str]:
    """The hub events ``report`` means for ``invitation``, and a note when there are none.

    ``at`` is when Vervoe sent it (the signature time), used where the report has no time of its
    own; ``verdict_tag`` makes a verdict's id (the signature time, or "reconcile"); ``since`` and
    ``linked`` tell whether the report is the current round's (``is_earlier_round``: an earlier
    round's gives no events);
    ``rejected_by_hub``: a "rejected" status is the hub's own reject (``links.rejected_by_hub``),
    not a reviewer's decision: the report is taken as ``complete`` (the result, no verdict)."""
    kind = report["kind"]
    if kind == wire.KIND_REJECTED and rejected_by_hub and report["completed_at"] is not None:
        kind = wire.KIND_COMPLETED  # not a reviewer's decision: the completion as it stands, no verdict
    if is_earlier_round(report, invitation, since, linked=linked):
        unlinked = "" if linked else f" (its round {invitation.round} has not reached Vervoe yet)"
        return [], f"report of an earlier round of invitation {invitation.id}{unlinked}; ignored"
    if kind == wire.KIND_STARTED:
        return [InboundEvent(external_id=external_id(report, invitation, "started"),
                             event=InvitationProgress(invitation_id=invitation.id, status=STARTED,
                                                      occurred_at=report["started_at"] or at))], ""
    if kind == wire.KIND_COMPLETED:
        if report["score"] is not None:
            return [result_event(report, invitation, at)], ""
        started = InboundEvent(external_id=external_id(report, invitation, "started"),
                               event=InvitationProgress(invitation_id=invitation.id, status=STARTED,
                                                        occurred_at=report["started_at"] or report["completed_at"]
                                                        or at))
        return [started], f"invitation {invitation.id} completed at Vervoe; waiting for its score"
    if kind == wire.KIND_EXPIRED:
        return [InboundEvent(external_id=external_id(report, invitation, "expired"),
                             event=InvitationProgress(invitation_id=invitation.id, status=EXPIRED,
                                                      occurred_at=at))], ""
    if kind in (wire.KIND_HIRED, wire.KIND_REJECTED):
        if report["completed_at"] is not None:
            verdict = THUMBS_UP if kind == wire.KIND_HIRED else THUMBS_DOWN
            return [result_event(report, invitation, at),
                    InboundEvent(external_id=external_id(report, invitation, f"{kind}:{verdict_tag}"),
                                 event=Verdict(invitation_id=invitation.id, verdict=verdict, decided_at=at))], ""
        if kind == wire.KIND_REJECTED:
            return [InboundEvent(external_id=external_id(report, invitation, "rejected"),
                                 event=InvitationProgress(invitation_id=invitation.id, status=CANCELLED,
                                                          reason=REJECTED_BEFORE_COMPLETING, occurred_at=at))], ""
        return [], f"invitation {invitation.id}: hired at Vervoe before completing; nothing to record"
    return [], f"invitation {invitation.id}: Vervoe status {report['raw_status']!r} is not used by the hub"
