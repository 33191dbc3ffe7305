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


def _remember_keys(session, workspace_id: int, source_plugin: str, keys: list[str]) -> bool:
    """Insert every key the event is known by; False if any was seen before (a duplicate).

    ``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite: no savepoint, one statement,
    and a concurrent twin waits on the unique index and then sees the conflict.
    """
    table = EventKey.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other databases: a savepoint per event
        try:
            with session.begin_nested():
                session.add_all([EventKey(workspace_id=workspace_id, source_plugin=source_plugin, key=k) for k in keys])
            return True
        except IntegrityError:
            return False
    now = utcnow()
    rows = [{"workspace_id": workspace_id, "source_plugin": source_plugin, "key": key, "seen_at": now} for key in keys]
    inserted = session.execute(insert(table).values(rows).on_conflict_do_nothing().returning(table.c.key)).all()
    return len(inserted) == len(keys)


def stage_event(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent) -> IngestOutcome:
    """Add ``inbound`` and its deliveries to the current transaction (the caller commits, then
    wakes workers for ``delivery_ids``)."""
    session = db.session
    keys = list(dict.fromkeys(k[:300] for k in (inbound.external_id, *inbound.alias_ids) if k))
    hub_event = inbound.event
    if not _remember_keys(session, workspace_id, source_plugin, keys):
        runtime.metrics.event_ingested(source_plugin, hub_event.type, "duplicate")
        return IngestOutcome("duplicate")

    outcome = _apply_owned_effects(session, workspace_id, source_plugin, hub_event)
    plugins: list[str] = []
    if outcome == "accepted":
        enabled = enabled_plugins(workspace_id)
        plugins = [p for p in runtime.registry.subscribers(hub_event.hook) if p in enabled]
        if not plugins:
            outcome = "no_subscribers"
    row = Event(workspace_id=workspace_id, source_plugin=source_plugin, type=hub_event.type,
                external_id=inbound.external_id[:300], subject=subject_of(hub_event),
                payload=e.to_payload(hub_event), outcome="delivered" if plugins else outcome)
    session.add(row)
    session.flush()
    deliveries = [Delivery(event_id=row.id, workspace_id=workspace_id, plugin=plugin, hook=hub_event.hook)
                  for plugin in plugins]
    if deliveries:
        session.add_all(deliveries)
        session.flush()
    delivery_ids = [d.id for d in deliveries]
    runtime.metrics.event_ingested(source_plugin, hub_event.type, "accepted")
    log.info("event %s ingested", row.id, extra={"event_id": row.id, "workspace_id": workspace_id,
                                                   "event_type": hub_event.type, "deliveries": delivery_ids})
    return IngestOutcome("accepted" if delivery_ids else outcome, row.id, delivery_ids)


def ingest(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent, *, wake: bool = True) -> IngestOutcome:
    """Store ``inbound`` and its deliveries durably in one transaction, then wake workers."""
    outcome = stage_event(runtime, workspace_id, source_plugin, inbound)
    db.session.commit()
    if wake and outcome.delivery_ids:
        runtime.wake(outcome.delivery_ids)
    return outcome


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
