"""Ingest: a verified event becomes durable work (README.md, Guarantees, 1).

In ONE transaction: remember every id the event is known by (a redelivery is a no-op reported as
"duplicate"), store the event, apply what the hub itself owns (the invitation state machine,
erasing a deleted candidate's personal data), and create one delivery per enabled plugin that
implements the event's hook. Commit; only then wake workers. If the database is down the caller
gets the exception and answers 503, so the sender retries.

``stage_events`` takes any number of events (from one webhook or, through the webhook
ingress's group commit, from many) and stages them with a fixed number of statements
(``hub.store.bulk``): one for their ids, one for the enabled plugins, one for the events, one for
their deliveries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import sqlalchemy as sa

from hub import entities as e
from hub.engine import invitations as machine
from hub.extensions import db
from hub.store.bulk import insert_rows
from hub.store.models import (
    D_PENDING, Delivery, Event, EventKey, Integration, Invitation, TimelineEntry, is_table_id, utcnow,
)

log = logging.getLogger("hub.engine.ingest")

INVITATION_EVENTS = (e.InvitationProgress, e.AssessmentResult, e.Verdict)
MAX_KEY_LENGTH = 300


@dataclass
class IngestOutcome:
    outcome: str  # "accepted", "duplicate", or why nothing was delivered ("no_change", "unknown_invitation"...)
    event_id: int | None = None
    delivery_ids: list[int] = field(default_factory=list)

    @property
    def duplicate(self) -> bool:
        return self.outcome == "duplicate"


@dataclass(frozen=True)
class Staged:
    """One event to stage: who sent it (workspace, source plugin) and the event."""

    workspace_id: int
    source_plugin: str
    inbound: e.InboundEvent

    @property
    def keys(self) -> list[str]:
        """Every id the event is known by (external id first), each at most 300 characters."""
        ids = (self.inbound.external_id, *self.inbound.alias_ids)
        return list(dict.fromkeys(k[:MAX_KEY_LENGTH] for k in ids if k))


def subject_of(event: e.HubEvent) -> str | None:
    if hasattr(event, "opportunity_id"):
        return event.opportunity_id
    if hasattr(event, "invitation_id"):
        return f"invitation:{event.invitation_id}"
    return None


_EVENT_KEYS, _EVENTS, _DELIVERIES, _INTEGRATIONS = (EventKey.__table__, Event.__table__, Delivery.__table__,
                                                    Integration.__table__)
# built once: building and compiling a statement costs more than running it
_WORKSPACE_INTEGRATIONS = sa.select(_INTEGRATIONS.c.id, _INTEGRATIONS.c.workspace_id, _INTEGRATIONS.c.plugin,
                                    _INTEGRATIONS.c.enabled, _INTEGRATIONS.c.webhook_key,
                                    _INTEGRATIONS.c.updated_at).where(
    _INTEGRATIONS.c.workspace_id.in_(sa.bindparam("workspaces", expanding=True)))


def _remember_keys(session, items: Sequence[Staged]) -> list[bool]:
    """Insert every key of every item; an item is new (True) only if all its keys were unknown
    and no earlier item of ``items`` claimed one of them.

    ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: no savepoint, and a concurrent twin waits on
    the unique index and then sees the conflict. Rows go in sorted order, so two transactions
    holding some of the same keys take their index entries in the same order and cannot deadlock.
    """
    now = utcnow()
    keys = [{(item.workspace_id, item.source_plugin, key) for key in item.keys} for item in items]
    rows = sorted({key for mine in keys for key in mine})
    values = [{"workspace_id": w, "source_plugin": s, "key": k, "seen_at": now} for (w, s, k) in rows]
    inserted = set(insert_rows(session.connection(), _EVENT_KEYS, values, skip_conflicts=True,
                               returning=("workspace_id", "source_plugin", "key")))
    claimed: set[tuple] = set()
    fresh = []
    for mine in keys:
        is_new = bool(mine) and mine <= inserted and not (mine & claimed)
        claimed |= mine
        fresh.append(is_new)
    return fresh


def workspace_integrations(session, workspace_ids) -> list[sa.Row]:
    """Every integration of ``workspace_ids``, in one read: rows of ``id``, ``workspace_id``,
    ``plugin``, ``enabled``, ``webhook_key`` and ``updated_at``."""
    return list(session.connection().execute(_WORKSPACE_INTEGRATIONS, {"workspaces": sorted(set(workspace_ids))}))


def enabled_plugins(rows, workspace_ids) -> dict[int, set[str]]:
    """Each of ``workspace_ids`` -> the plugins enabled in it, from ``workspace_integrations`` rows."""
    enabled: dict[int, set[str]] = {w: set() for w in workspace_ids}
    for row in rows:
        if row.enabled and row.workspace_id in enabled:
            enabled[row.workspace_id].add(row.plugin)
    return enabled


def stage_events(runtime, items: Sequence[Staged], enabled: dict[int, set[str]] | None = None) -> list[IngestOutcome]:
    """Add ``items`` and their deliveries to the current transaction; one outcome per item, in
    order. The caller commits, then wakes workers for the outcomes' ``delivery_ids``.
    ``enabled``: the enabled plugins of the items' workspaces (``enabled_plugins``), if the
    caller has read them in this transaction already."""
    if not items:
        return []
    session = db.session
    fresh = _remember_keys(session, items)
    outcomes: list[IngestOutcome | None] = [None] * len(items)
    for index, item in enumerate(items):
        if not fresh[index]:
            runtime.metrics.event_ingested(item.source_plugin, item.inbound.event.type, "duplicate")
            outcomes[index] = IngestOutcome("duplicate")
    new = [i for i, is_new in enumerate(fresh) if is_new]
    if not new:
        return outcomes  # type: ignore[return-value]

    why = {i: _apply_owned_effects(session, items[i].workspace_id, items[i].source_plugin, items[i].inbound.event)
           for i in new}
    if enabled is None:
        workspaces = {items[i].workspace_id for i in new}
        enabled = enabled_plugins(workspace_integrations(session, workspaces), workspaces)
    subscribers = {i: [p for p in runtime.registry.subscribers(items[i].inbound.event.hook)
                       if p in enabled[items[i].workspace_id]] if why[i] == "accepted" else [] for i in new}
    event_rows = []
    for i in new:
        item, event = items[i], items[i].inbound.event
        if why[i] == "accepted" and not subscribers[i]:
            why[i] = "no_subscribers"
        event_rows.append({"workspace_id": item.workspace_id, "source_plugin": item.source_plugin,
                           "type": event.type, "external_id": item.inbound.external_id[:MAX_KEY_LENGTH],
                           "subject": subject_of(event), "payload": e.to_payload(event),
                           "outcome": "delivered" if subscribers[i] else why[i], "received_at": utcnow()})
    # RETURNING's order is not guaranteed: map the ids back by the event's unique key
    event_ids = {(w, s, x): id_ for id_, w, s, x in insert_rows(
        session.connection(), _EVENTS, event_rows, returning=("id", "workspace_id", "source_plugin", "external_id"))}
    for i in new:
        item = items[i]
        event_id = event_ids[(item.workspace_id, item.source_plugin, item.inbound.external_id[:MAX_KEY_LENGTH])]
        outcomes[i] = IngestOutcome(why[i], event_id)

    now = utcnow()
    delivery_rows = [{"event_id": outcomes[i].event_id, "workspace_id": items[i].workspace_id, "plugin": plugin,
                      "hook": items[i].inbound.event.hook, "status": D_PENDING, "attempts": 0, "deferrals": 0,
                      "next_attempt_at": now, "created_at": now, "updated_at": now}
                     for i in new for plugin in subscribers[i]]
    if delivery_rows:
        delivery_ids = {(event_id, plugin): id_ for id_, event_id, plugin in insert_rows(
            session.connection(), _DELIVERIES, delivery_rows, returning=("id", "event_id", "plugin"))}
        for i in new:
            outcomes[i].delivery_ids = [delivery_ids[(outcomes[i].event_id, p)] for p in subscribers[i]]
    for i in new:
        item, outcome = items[i], outcomes[i]
        runtime.metrics.event_ingested(item.source_plugin, item.inbound.event.type, "accepted")
        log.info("event %s ingested", outcome.event_id,
                 extra={"event_id": outcome.event_id, "workspace_id": item.workspace_id,
                        "event_type": item.inbound.event.type, "deliveries": outcome.delivery_ids})
    return outcomes  # type: ignore[return-value]


def stage_event(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent) -> IngestOutcome:
    """``stage_events`` for one event."""
    return stage_events(runtime, [Staged(workspace_id, source_plugin, inbound)])[0]


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
        if not is_table_id(event.invitation_id):
            return "unknown_invitation"
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
