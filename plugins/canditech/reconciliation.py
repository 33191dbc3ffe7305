"""Reconciliation: find what lost webhooks missed, by asking Canditech.

1. Open invitations (invited/started) older than ``reconcile_after_minutes``: read each from
   Canditech and return the events the hub has not seen (started, completed with its result and
   any verdict, expired, cancelled).
2. Invitations an admin cancelled in the hub after the candidate had completed at Canditech (the
   cancel was refused there): ``ctx.records`` key ``result_after_cancel:<id>``, written by the
   ``on_invitation_status`` hook. Their result is read until it is recorded (the hub moves
   cancelled -> completed), for ``VERDICT_WATCH_DAYS`` at most: their completion webhook may be lost.
3. Completed invitations still waiting for a verdict: ``ctx.invitations.list_open`` does not list
   completed ones, so the plugin remembers them itself (``ctx.records`` key ``awaiting_verdict:<id>``,
   written by its ``on_assessment_completed`` hook, removed by its ``on_verdict`` hook) and asks
   Canditech about them at a slowing pace for ``VERDICT_WATCH_DAYS``.

A completed invitation whose result breaks the rules a completion webhook is held to (finite
scores, 0 <= score <= max_score, an http(s) report URL, a completion time from 2000 on:
``wire.VALUE_RULES``) is logged and not recorded.

External ids are deterministic (``reconcile:<canditech id>:<status>``,
``reconcile:<canditech id>:verdict:<verdict>``), so the hub's deduplication and state machine make
repeated runs harmless. Canditech failing stops the run early, keeping what was found so far.
"""

from __future__ import annotations

import dataclasses

from datetime import datetime, timedelta, timezone
from typing import Any

from hub.entities import (
    CANCELLED, COMPLETED, EXPIRED, INVITED, STARTED, VERDICTS, AssessmentResult, InboundEvent, InvitationProgress,
    Verdict,
)
from hub.errors import TemporaryError

from . import wire
from .client import CanditechClient, CanditechNotFound
from .settings import CanditechSettings
from .webhooks import result_event

AWAITING_VERDICT = "awaiting_verdict:"
RESULT_AFTER_CANCEL = "result_after_cancel:"
VERDICT_WATCH_DAYS = 14
MAX_VERDICT_CHECK_INTERVAL = timedelta(hours=6)
MAX_VERDICT_CHECKS_PER_RUN = 200


def reconcile(ctx: Any) -> list[InboundEvent]:
    settings = CanditechSettings.from_context(ctx)
    if not settings.api_key:
        return []
    after = timedelta(minutes=settings.reconcile_after_minutes)
    client = CanditechClient(ctx, settings, max_attempts=2)
    events: list[InboundEvent] = []
    try:
        for invitation in ctx.invitations.list_open(ctx.plugin_name, older_than=after):
            try:
                remote = client.get_invitation(invitation.provider_invitation_id)
            except CanditechNotFound:
                ctx.log.warning("reconcile: invitation %s (%s) is unknown at Canditech",
                                invitation.id, invitation.provider_invitation_id)
                continue
            problems = wire.invitation_problems(wire.KIND_COMPLETED, remote) if remote["status"] == COMPLETED else {}
            if problems:  # the same rules as a completion webhook's (wire.VALUE_RULES)
                ctx.log.warning("reconcile: Canditech's invitation %s (hub invitation %s) is completed with "
                                "unusable values, not recorded: %s", invitation.provider_invitation_id,
                                invitation.id, wire.describe_problems(problems))
                continue
            events.extend(missed_events(invitation, remote))
        events.extend(_results_after_cancel(ctx, client))
        events.extend(_watch_verdicts(ctx, client, after))
    except TemporaryError as exc:
        ctx.log.warning("reconcile stopped early, Canditech is struggling: %s", exc)
    return events


def missed_events(invitation: Any, remote: dict[str, Any]) -> list[InboundEvent]:
    """The events that bring the hub's ``invitation`` up to Canditech's ``remote`` state."""
    provider_id = remote["id"]
    if remote["external_reference"] and remote["external_reference"] != invitation.external_reference:
        return []  # not this round's invitation
    hub_id = invitation.id
    status = remote["status"]
    found: list[InboundEvent] = []

    def add(suffix: str, event: Any) -> None:
        # the round read here: the hub drops the event if a re-invite lands before it is stored
        found.append(InboundEvent(external_id=f"reconcile:{provider_id}:{suffix}",
                                  event=dataclasses.replace(event, round=invitation.round)))

    if status == STARTED and invitation.status == INVITED:
        add(STARTED, InvitationProgress(invitation_id=hub_id, status=STARTED, occurred_at=remote["started_at"]))
    elif status == COMPLETED and remote["score"] is not None:
        add(COMPLETED, result_event(remote, hub_id, None))
        if remote["verdict"] in VERDICTS:
            add(f"verdict:{remote['verdict']}",
                Verdict(invitation_id=hub_id, verdict=remote["verdict"], decided_at=remote["verdict_at"]))
    elif status == EXPIRED:
        add(EXPIRED, InvitationProgress(invitation_id=hub_id, status=EXPIRED, occurred_at=remote["expired_at"]))
    elif status == CANCELLED:
        add(CANCELLED, InvitationProgress(invitation_id=hub_id, status=CANCELLED,
                                          occurred_at=remote["cancelled_at"]))
    return found


# --------------------------------------------------------------------------- results after a cancel


def watch_for_result(ctx: Any, invitation: Any, provider_id: str) -> None:
    """``on_invitation_status``: the hub cancelled ``invitation`` but Canditech had finished it."""
    ctx.records.put(RESULT_AFTER_CANCEL + str(invitation.id),
                    {"provider_invitation_id": provider_id, "since": _now().isoformat()})


def _results_after_cancel(ctx: Any, client: CanditechClient) -> list[InboundEvent]:
    now = _now()
    found: list[InboundEvent] = []
    for key in sorted(ctx.records.keys(RESULT_AFTER_CANCEL)):
        record = ctx.records.get(key) or {}
        suffix = key[len(RESULT_AFTER_CANCEL):]
        invitation = ctx.invitations.get(int(suffix)) if suffix.isascii() and suffix.isdigit() else None
        since = _parse(record.get("since")) or now
        if invitation is None or invitation.status != CANCELLED or now - since > timedelta(days=VERDICT_WATCH_DAYS):
            ctx.records.delete(key)  # recorded (completed), re-invited, or given up
            continue
        try:
            remote = client.get_invitation(record.get("provider_invitation_id") or "")
        except CanditechNotFound:
            ctx.records.delete(key)
            continue
        if remote["status"] == COMPLETED and not wire.invitation_problems(wire.KIND_COMPLETED, remote):
            found.extend(missed_events(invitation, remote))
        elif remote["status"] in (EXPIRED, CANCELLED):
            ctx.records.delete(key)  # it did not complete after all: nothing to recover
    return found


# --------------------------------------------------------------------------- verdict watch


def remember_completion(ctx: Any, result: AssessmentResult) -> None:
    """``on_assessment_completed``: watch the invitation for a verdict a lost webhook could miss."""
    invitation = ctx.invitations.get(result.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name or invitation.verdict is not None:
        return
    if not invitation.provider_invitation_id:
        return
    key = AWAITING_VERDICT + str(invitation.id)
    since = result.completed_at or _now()
    record = {"provider_invitation_id": invitation.provider_invitation_id, "since": since.isoformat(),
              "checked_at": None}
    if ctx.records.put_if_absent(key, record):
        return
    existing = ctx.records.get(key) or {}
    if existing.get("provider_invitation_id") != invitation.provider_invitation_id:
        ctx.records.put(key, record)  # left over from an earlier round


def forget_completion(ctx: Any, verdict: Verdict) -> None:
    """``on_verdict``: the verdict arrived; stop watching."""
    ctx.records.delete(AWAITING_VERDICT + str(verdict.invitation_id))


def _watch_verdicts(ctx: Any, client: CanditechClient, after: timedelta) -> list[InboundEvent]:
    now = _now()
    found: list[InboundEvent] = []
    checks = 0
    for key in sorted(ctx.records.keys(AWAITING_VERDICT)):
        record = ctx.records.get(key) or {}
        suffix = key[len(AWAITING_VERDICT):]
        hub_id = int(suffix) if suffix.isascii() and suffix.isdigit() else None
        invitation = ctx.invitations.get(hub_id) if hub_id is not None else None
        since = _parse(record.get("since")) or now
        if (invitation is None or invitation.status != COMPLETED or invitation.verdict is not None
                or invitation.provider_invitation_id != record.get("provider_invitation_id")
                or now - since > timedelta(days=VERDICT_WATCH_DAYS)):
            ctx.records.delete(key)
            continue
        checked = _parse(record.get("checked_at")) or since
        interval = max(after, min((now - since) / 10, MAX_VERDICT_CHECK_INTERVAL))
        if now - checked < interval or checks >= MAX_VERDICT_CHECKS_PER_RUN:
            continue
        checks += 1
        try:
            remote = client.get_invitation(invitation.provider_invitation_id)
        except CanditechNotFound:
            ctx.records.delete(key)
            continue
        ctx.records.put(key, {**record, "checked_at": now.isoformat()})
        if remote["verdict"] in VERDICTS:
            found.append(InboundEvent(
                external_id=f"reconcile:{remote['id']}:verdict:{remote['verdict']}",
                event=Verdict(invitation_id=invitation.id, verdict=remote["verdict"],
                              decided_at=remote["verdict_at"], round=invitation.round)))
    return found


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
