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
from datetime import timedelta
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


def key_rows(items: Sequence[Staged], seen: set[tuple] = frozenset()) -> tuple[list[set[tuple]], list[dict]]:
    """Each item's dedupe keys, and the ``event_keys`` rows to insert for all of them and for
    ``seen`` (keys of requests without events, ``seen_keys``), sorted: two transactions holding
    some of the same keys take their index entries in the same order and cannot deadlock."""
    now = utcnow()
    keys = [{(item.workspace_id, item.source_plugin, key) for key in item.keys} for item in items]
    rows = sorted({key for mine in keys for key in mine} | set(seen))
    return keys, [{"workspace_id": w, "source_plugin": s, "key": k, "seen_at": now} for (w, s, k) in rows]


def seen_keys(workspace_id: int, source_plugin: str, ids: Sequence[str]) -> set[tuple]:
    """The dedupe keys of ids a request was known by although it carried no event (a signed
    ping): remembered like events' keys, so a later event naming one is a duplicate."""
    return {(workspace_id, source_plugin, k[:MAX_KEY_LENGTH]) for k in ids if k}


def claim(keys: Sequence[set[tuple]], inserted: set[tuple], seen: set[tuple] = frozenset()) -> list[bool]:
    """An item is new (True) only if all its keys were inserted just now and neither an earlier
    item of the batch nor a request without events in it (``seen``) claimed one of them."""
    claimed: set[tuple] = set(seen)
    fresh = []
    for mine in keys:
        fresh.append(bool(mine) and mine <= inserted and not (mine & claimed))
        claimed |= mine
    return fresh


KEY_COLUMNS = ("workspace_id", "source_plugin", "key")


def dedupe_window(config) -> timedelta:
    """How long an inbound event id is remembered (a redelivery within it is a duplicate):
    ``DEDUPE_DAYS``, at least 7 days, and at least as long as events are kept (``RETENTION_DAYS``):
    an event still kept is recognised by every id it was known by."""
    return timedelta(days=max(float(config["DEDUPE_DAYS"]), 7.0, float(config["RETENTION_DAYS"])))


def _remember_keys(session, items: Sequence[Staged]) -> list[bool]:
    """Insert every key of every item (``INSERT ... ON CONFLICT DO NOTHING RETURNING``: no
    savepoint, and a concurrent twin waits on the unique index and then sees the conflict);
    which items are new (``claim``)."""
    keys, rows = key_rows(items)
    inserted = set(insert_rows(session.connection(), _EVENT_KEYS, rows, skip_conflicts=True, returning=KEY_COLUMNS))
    return claim(keys, inserted)


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


def has_owned_effects(event: e.HubEvent) -> bool:
    """Does the hub itself act on ``event`` before any plugin sees it (``_apply_owned_effects``)?"""
    return isinstance(event, (*INVITATION_EVENTS, e.CandidateDeleted))


@dataclass
class Plan:
    """What ``plan`` decided for a batch of items: every item's outcome (a new item's
    ``event_id`` and ``delivery_ids`` are filled in once its rows are written), the new items
    (indexes into the batch), each new item's event row and subscribing plugins."""

    outcomes: list[IngestOutcome]
    new: list[int]
    event_rows: list[dict]
    subscribers: dict[int, list[str]]

    def delivery_rows(self, items: Sequence[Staged]) -> list[dict]:
        """One ``deliveries`` row per new item and subscriber, in order; call once the new items'
        event ids are set."""
        now = utcnow()
        return [{"event_id": self.outcomes[i].event_id, "workspace_id": items[i].workspace_id, "plugin": plugin,
                 "hook": items[i].inbound.event.hook, "status": D_PENDING, "attempts": 0, "deferrals": 0,
                 "next_attempt_at": now, "created_at": now, "updated_at": now}
                for i in self.new for plugin in self.subscribers[i]]


def plan(runtime, items: Sequence[Staged], fresh: Sequence[bool], why: dict[int, str],
         enabled: dict[int, set[str]], providers: dict[int, str] | None = None) -> Plan:
    """Decide the outcome, event row and deliveries of each item. ``fresh``: which items are new
    (``claim``); ``why``: each new item's owned-effects answer ("accepted" or why not);
    ``enabled``: the enabled plugins of the items' workspaces; ``providers``: the provider of the
    invitation an item is about (``INVITATION_EVENTS``), so that a plugin registered with
    ``own_invitations_only`` gets no delivery of another provider's invitation."""
    outcomes = [IngestOutcome("duplicate") for _ in items]
    new = [i for i, is_new in enumerate(fresh) if is_new]
    providers = providers or {}
    specs = runtime.registry.specs

    def hears(plugin: str, i: int) -> bool:
        if plugin not in enabled[items[i].workspace_id]:
            return False
        owner = providers.get(i)
        if owner is None or owner == plugin:
            return True
        spec = specs.get(plugin)  # another provider's invitation: unless it asked for its own only
        return not (spec is not None and spec.kind == e.ASSESSMENT and spec.own_invitations_only)

    subscribers = {i: [p for p in runtime.registry.subscribers(items[i].inbound.event.hook) if hears(p, i)]
                   if why[i] == "accepted" else [] for i in new}
    event_rows = []
    for i in new:
        item, event = items[i], items[i].inbound.event
        outcome = "no_subscribers" if why[i] == "accepted" and not subscribers[i] else why[i]
        outcomes[i] = IngestOutcome(outcome)
        event_rows.append({"workspace_id": item.workspace_id, "source_plugin": item.source_plugin,
                           "type": event.type, "external_id": item.inbound.external_id[:MAX_KEY_LENGTH],
                           "subject": subject_of(event), "payload": e.to_payload(event),
                           "outcome": "delivered" if subscribers[i] else outcome, "received_at": utcnow()})
    return Plan(outcomes, new, event_rows, subscribers)


def report(runtime, items: Sequence[Staged], staged: Plan) -> None:
    """Metrics and the "event ingested" log line of a staged batch."""
    new = set(staged.new)
    for index, item in enumerate(items):
        if index not in new:
            runtime.metrics.event_ingested(item.source_plugin, item.inbound.event.type, "duplicate")
    for i in staged.new:
        item, outcome = items[i], staged.outcomes[i]
        runtime.metrics.event_ingested(item.source_plugin, item.inbound.event.type, "accepted")
        log.info("event %s ingested", outcome.event_id,
                 extra={"event_id": outcome.event_id, "workspace_id": item.workspace_id,
                        "event_type": item.inbound.event.type, "deliveries": outcome.delivery_ids})


def stage_events(runtime, items: Sequence[Staged], enabled: dict[int, set[str]] | None = None) -> list[IngestOutcome]:
    """Add ``items`` and their deliveries to the current transaction; one outcome per item, in
    order. The caller commits, then wakes workers for the outcomes' ``delivery_ids``.
    ``enabled``: the enabled plugins of the items' workspaces (``enabled_plugins``), if the
    caller has read them in this transaction already."""
    if not items:
        return []
    session = db.session
    fresh = _remember_keys(session, items)
    new = [i for i, is_new in enumerate(fresh) if is_new]
    why = {i: _apply_owned_effects(session, items[i].workspace_id, items[i].source_plugin, items[i].inbound.event)
           for i in new}
    if new and enabled is None:
        workspaces = {items[i].workspace_id for i in new}
        enabled = enabled_plugins(workspace_integrations(session, workspaces), workspaces)
    # the invitations are in the session already (locked by _apply_owned_effects): no query
    providers = {i: row.provider for i in new if isinstance(items[i].inbound.event, INVITATION_EVENTS)
                 and why[i] == "accepted"
                 and (row := session.get(Invitation, items[i].inbound.event.invitation_id)) is not None}
    staged = plan(runtime, items, fresh, why, enabled or {}, providers)
    if new:
        # RETURNING's order is not guaranteed: map the ids back by the event's unique key
        event_ids = {(w, s, x): id_ for id_, w, s, x in insert_rows(
            session.connection(), _EVENTS, staged.event_rows,
            returning=("id", "workspace_id", "source_plugin", "external_id"))}
        for i, row in zip(new, staged.event_rows):
            staged.outcomes[i].event_id = event_ids[(row["workspace_id"], row["source_plugin"], row["external_id"])]
        delivery_rows = staged.delivery_rows(items)
        if delivery_rows:
            delivery_ids = {(event_id, plugin): id_ for id_, event_id, plugin in insert_rows(
                session.connection(), _DELIVERIES, delivery_rows, returning=("id", "event_id", "plugin"))}
            for i in new:
                outcome = staged.outcomes[i]
                outcome.delivery_ids = [delivery_ids[(outcome.event_id, p)] for p in staged.subscribers[i]]
    report(runtime, items, staged)
    return staged.outcomes


def stage_event(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent) -> IngestOutcome:
    """``stage_events`` for one event."""
    return stage_events(runtime, [Staged(workspace_id, source_plugin, inbound)])[0]


def ingest(runtime, workspace_id: int, source_plugin: str, inbound: e.InboundEvent, *, wake: bool = True) -> IngestOutcome:
    """Store ``inbound`` and its deliveries durably in one transaction, with whatever the caller
    staged in the session before (a change and the event announcing it commit together), then wake
    workers."""
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
        if event.round is not None and event.round != invitation.round:
            return "earlier_round"  # re-invited since the provider matched it (``hub.entities._check_round``)
        if source_plugin == "hub":
            return "accepted"  # the change was already applied by ``ctx.invitations.transition``
        return "accepted" if machine.apply_event(session, invitation, event, source_plugin) else "no_change"
    if isinstance(event, e.CandidateDeleted):
        erase_candidate(session, workspace_id, event.opportunity_id)
    return "accepted"


ERASED = "erased"  # the timeline kind of an invitation whose candidate was deleted at the source


def is_erased(session, invitation_id: int) -> bool:
    """Whether the invitation's candidate was deleted at the source (their data erased by the hub)."""
    return session.scalar(sa.select(TimelineEntry.id).where(
        TimelineEntry.invitation_id == invitation_id, TimelineEntry.kind == ERASED).limit(1)) is not None


def erase_candidate(session, workspace_id: int, opportunity_id: str) -> int:
    """Forget a deleted candidate's name and email everywhere the hub keeps them; keep the counts."""
    rows = list(session.scalars(
        sa.select(Invitation).where(Invitation.workspace_id == workspace_id, Invitation.opportunity_id == opportunity_id)
    ))
    for invitation in rows:
        invitation.candidate_name = None
        invitation.candidate_email = None
        invitation.invite_url = None
        session.add(TimelineEntry(invitation_id=invitation.id, kind=ERASED, source="hub",
                                  detail="candidate deleted at the source: personal data erased", at=utcnow()))
    return len(rows)
