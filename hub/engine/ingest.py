"""Ingest: a verified event becomes durable work (DESIGN.md guarantee 1).

In ONE transaction: remember every id the event is known by (a redelivery is a no-op reported as
"duplicate"), store the event, apply what the hub itself owns (the invitation state machine,
erasing a deleted candidate's personal data), and create one delivery per enabled plugin that
implements the event's hook. Commit; only then wake workers. If the database is down the caller
gets the exception and answers 503, so the sender retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub import entities as e
from hub.engine import invitations as machine
from hub.extensions import db
from hub.store.models import Delivery, Event, EventKey, Integration, Invitation, TimelineEntry, utcnow

log = logging.getLogger("hub.engine.ingest")

INVITATION_EVENTS = (e.InvitationProgress, e.AssessmentResult, e.Verdict)


@dataclass
class IngestOutcome:
    outcome: str  # "accepted", "duplicate", or why nothing was delivered ("no_change", "unknown_invitation"...)
    event_id: int | None = None
    delivery_ids: list[int] = field(default_factory=list)

    @property
    def duplicate(self) -> bool:
        return self.outcome == "duplicate"


def enabled_plugins(workspace_id: int) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(Integration.plugin).where(Integration.workspace_id == workspace_id, Integration.enabled.is_(True))
        )
    )


def subject_of(event: e.HubEvent) -> str | None:
    if hasattr(event, "opportunity_id"):
        return event.opportunity_id
    if hasattr(event, "invitation_id"):
        return f"invitation:{event.invitation_id}"
    return None


def ingest(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent, *, wake: bool = True) -> IngestOutcome:
    """Store ``inbound`` and its deliveries durably; see the module docstring."""
    session = db.session
    keys = [inbound.external_id, *[a for a in inbound.alias_ids if a and a != inbound.external_id]]
    try:
        with session.begin_nested():
            for key in keys:
                session.add(EventKey(workspace_id=workspace_id, source_plugin=source_plugin, key=key[:300]))
            session.flush()
    except IntegrityError:
        session.rollback()
        runtime.metrics.event_ingested(source_plugin, inbound.event.type, "duplicate")
        return IngestOutcome("duplicate")

    hub_event = inbound.event
    row = Event(
        workspace_id=workspace_id,
        source_plugin=source_plugin,
        type=hub_event.type,
        external_id=inbound.external_id[:300],
        subject=subject_of(hub_event),
        payload=e.to_payload(hub_event),
    )
    session.add(row)
    session.flush()

    outcome = _apply_owned_effects(session, workspace_id, source_plugin, hub_event)
    delivery_ids: list[int] = []
    if outcome == "accepted":
        enabled = enabled_plugins(workspace_id)
        for plugin in runtime.registry.subscribers(hub_event.hook):
            if plugin in enabled:
                delivery = Delivery(event_id=row.id, workspace_id=workspace_id, plugin=plugin, hook=hub_event.hook)
                session.add(delivery)
                session.flush()
                delivery_ids.append(delivery.id)
        if not delivery_ids:
            outcome = "no_subscribers"
    row.outcome = "delivered" if delivery_ids else outcome
    event_id = row.id
    session.commit()
    runtime.metrics.event_ingested(source_plugin, hub_event.type, "accepted")
    log.info("event %s ingested", event_id, extra={"event_id": event_id, "workspace_id": workspace_id,
                                                     "event_type": hub_event.type, "deliveries": delivery_ids})
    if wake and delivery_ids:
        runtime.wake(delivery_ids)
    return IngestOutcome("accepted" if delivery_ids else outcome, event_id, delivery_ids)


def _apply_owned_effects(session, workspace_id: int, source_plugin: str, event: e.HubEvent) -> str:
    """What the hub does itself before any plugin sees the event; returns "accepted" or why not."""
    if isinstance(event, INVITATION_EVENTS):
        invitation = session.scalar(
            sa.select(Invitation).where(Invitation.id == event.invitation_id, Invitation.workspace_id == workspace_id)
            .with_for_update()
        )
        if invitation is None:
            return "unknown_invitation"
        if source_plugin != "hub" and invitation.provider != source_plugin:
            return "not_the_provider"
        if source_plugin == "hub":
            return "accepted"  # the change was already applied by ``ctx.invitations.transition``
        return "accepted" if machine.apply_event(session, invitation, event, source_plugin) else "no_change"
    if isinstance(event, e.CandidateDeleted):
        erase_candidate(session, workspace_id, event.opportunity_id)
    return "accepted"


def erase_candidate(session, workspace_id: int, opportunity_id: str) -> int:
    """Forget a deleted candidate's name and email everywhere the hub keeps them; keep the counts."""
    rows = list(session.scalars(
        sa.select(Invitation).where(Invitation.workspace_id == workspace_id, Invitation.opportunity_id == opportunity_id)
    ))
    for invitation in rows:
        invitation.candidate_name = None
        invitation.candidate_email = None
        invitation.invite_url = None
        session.add(TimelineEntry(invitation_id=invitation.id, kind="erased", source="hub",
                                  detail="candidate deleted at the source: personal data erased", at=utcnow()))
    return len(rows)
