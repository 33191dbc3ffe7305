"""Backfill: invite the candidates who are already in an attached stage.

A candidate is invited when they *enter* an attached stage (a stage-change webhook). Two kinds of
candidate therefore get nothing on their own: those already in the stage when the assessment was
attached, and those who entered it while the assessment's provider was disabled (no delivery was
made for it). Backfill is the admin's explicit "invite them now", per attachment; it is never
automatic, because inviting people who have been sitting in a stage for weeks is a decision.

How (the hub's normal durable path, so every guarantee of a webhook holds):

1. ``census``: the source lists the opportunity ids in the attachment's stage of its posting now
   (the optional hook ``source_list_stage_candidates``, synchronously, bounded to
   ``HUB_BACKFILL_MAX_CANDIDATES``, 1,000 by default: one to eleven list pages at Lever's rate, so
   a few seconds at most; at the setting's largest, 10,000, about ten seconds), with
   the candidates' names where it gives them, for the page to show; the
   hub sorts them (``classify``) into *already invited* (an invitation for this attachment
   exists, whatever its status), *already queued* (an earlier backfill's event is still being
   delivered: a delivery pending, running or waiting for a retry) and *to invite* (the rest,
   among them those whose earlier backfills all ended without an invitation: the provider failed
   for good, a disable cancelled the delivery, or the candidate was not in the stage when it was
   delivered).
2. ``run``: in ONE transaction with the audit entry, one synthetic ``StageChange`` per candidate
   to invite, ingested like a webhook's (``hub.engine.ingest.stage_events``) under the source name
   ``hub`` with a deterministic event id (``event_id``): ``backfill:<attachment id>:<opportunity
   id>`` the first time, and for a candidate whose earlier backfills all ended without an
   invitation the next *generation*, ``backfill:<attachment id>/<n>:<opportunity id>``, one more
   than the highest taken. Computed from what is stored, the id is the same for two admins
   clicking at once: the second click's event is a duplicate (and a click after the first one
   committed finds its candidates still being delivered). Its delivery goes to the attachment's
   provider only (another plugin must not take the admin's action for a move that did not
   happen), and the event names the attachment (``StageChange.attachment_id``): the provider acts
   for it alone, not for its other assessments attached to the same stage. The provider re-reads
   the candidate from the source and invites once per attachment (``hub.kit.provider``): a real
   stage-change webhook for the same candidate arriving as well still makes one invitation (the
   invitation is unique per workspace, opportunity and attachment). Vendor failures retry, dead
   deliveries show on Activity and can be replayed there, like any other; a later backfill
   invites such a candidate again under the next generation.

``run`` takes the count of candidates to invite the admin saw (``expected``): when more are to
invite now (the stage filled since), it refuses (``StageChanged``, 409) and queues nothing. Fewer
is no harm and goes ahead: a second click finds the first one's candidates still being
delivered, and a candidate a webhook invited meanwhile is already invited.

The provider must be able to invite now (enabled, connected, with credentials): otherwise the
events would reach nobody, and the admin would have to click again once it can.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

import sqlalchemy as sa

from hub import entities as e
from hub.config import MAXIMUM
from hub.engine.ingest import MAX_KEY_LENGTH, Staged, stage_events
from hub.errors import Conflict, HubError
from hub.extensions import db
from hub.links import web_link
from hub.store.attachments import get_attachment
from hub.store.models import (
    D_OPEN, Attachment, Delivery, Event, EventKey, Integration, Invitation, User, utcnow,
)
from hub.words import unexpected_failure

log = logging.getLogger("hub.engine.backfill")

HOOK = "source_list_stage_candidates"
SOURCE_NAME = "hub"  # the events' source: the hub itself, on an admin's request
_CHUNK = 500  # ids per IN (...) of the classification queries


class BackfillUnavailable(Conflict):
    code = "backfill_unavailable"


class TooManyCandidates(Conflict):
    code = "too_many_candidates"


class ProviderCannotInvite(Conflict):
    """The attachment's provider is disabled, not connected or revoked: a backfill would queue
    invitations it cannot send."""

    code = "provider_unavailable"


class StageChanged(Conflict):
    """The stage holds more candidates to invite than the admin confirmed (fewer is no harm: a
    second click, or a candidate a webhook invited meanwhile); ``census`` is what a backfill
    would do now."""

    code = "stage_changed"

    def __init__(self, census: "Census", expected: int):
        now = len(census.to_invite)
        super().__init__(f"The stage changed since you looked: {_count(now, 'candidate')} would be invited now, "
                         f"more than the {expected} you confirmed. Nothing was queued: review the list again.")
        self.census = census


PREFIX = "backfill:"


def event_id(attachment_id: int, opportunity_id: str, generation: int = 1) -> str:
    """The deterministic id of a candidate's backfill event for an attachment:
    ``backfill:<attachment id>:<opportunity id>`` for the first (``generation`` 1),
    ``backfill:<attachment id>/<generation>:<opportunity id>`` for a later one. The generation
    stands before the opportunity id, which may hold any character: no two candidates or
    generations share an id."""
    head = f"{attachment_id}" if generation == 1 else f"{attachment_id}/{generation}"
    return f"{PREFIX}{head}:{opportunity_id}"


def is_backfill_event(source_plugin: str, external_id: str | None) -> bool:
    """Was the event with this source and id made by a backfill (``run``)?"""
    return source_plugin == SOURCE_NAME and bool(external_id) and external_id.startswith(PREFIX)


def _generation(attachment_id: int, opportunity_id: str, external_id: str) -> int | None:
    """The generation of ``external_id`` if it is a backfill event id of this attachment and
    candidate (as stored: cut at ``MAX_KEY_LENGTH``), else None."""
    head = external_id[len(PREFIX):].split(":", 1)[0] if external_id.startswith(PREFIX) else ""
    attachment, _, generation = head.partition("/")
    if attachment != str(attachment_id) or not (generation == "" or generation.isascii() and generation.isdigit()):
        return None
    number = int(generation) if generation else 1
    return number if external_id == event_id(attachment_id, opportunity_id, number)[:MAX_KEY_LENGTH] else None


@dataclass
class Census:
    """Who is in the attachment's stage now, sorted by what backfill would do with them."""

    attachment_id: int
    source: str
    in_stage: list[str]
    already_invited: list[str]
    already_queued: list[str]
    to_invite: list[str]
    provider_problem: str | None = None  # why the provider cannot invite now (None: it can)
    again: list[str] = field(default_factory=list)  # of ``to_invite``: earlier backfills ended without an invitation
    people: dict[str, e.StageCandidate] = field(default_factory=dict)  # by id: the names the source gave
    limit: int = 0  # the most candidates one backfill handles (``max_candidates``)

    @property
    def again_ids(self) -> set[str]:
        return set(self.again)

    def candidates_to_invite(self) -> list[e.StageCandidate]:
        """``to_invite`` as the source named them (a bare id where it gave no name), in its order."""
        return [self.people.get(o) or e.StageCandidate(o) for o in self.to_invite]

    def as_dict(self) -> dict[str, Any]:
        return {"attachment_id": self.attachment_id, "available": True, "unavailable_reason": None,
                "provider_problem": self.provider_problem, "source": self.source, "in_stage": len(self.in_stage),
                "already_invited": len(self.already_invited), "already_queued": len(self.already_queued),
                "to_invite": len(self.to_invite), "invite_again": len(self.again),
                "opportunity_ids": list(self.to_invite),
                "candidates": _listed(self.candidates_to_invite()),
                "limit": self.limit}


def max_candidates(runtime) -> int:
    """The most candidates one backfill handles (``HUB_BACKFILL_MAX_CANDIDATES``); the source is
    asked for one more, to know when there are more."""
    return runtime.app.config["BACKFILL_MAX_CANDIDATES"]


def unavailable_dict(attachment_id: int, reason: str, limit: int) -> dict[str, Any]:
    """What ``Census.as_dict`` says when backfill is not available in the workspace."""
    return {"attachment_id": attachment_id, "available": False, "unavailable_reason": reason,
            "provider_problem": None, "source": None, "in_stage": None, "already_invited": None,
            "already_queued": None, "to_invite": None, "invite_again": None, "opportunity_ids": [],
            "candidates": [], "limit": limit}


@dataclass
class Outcome:
    """What one backfill did."""

    attachment_id: int
    queued: list[str] = field(default_factory=list)
    already_invited: int = 0
    already_queued: int = 0
    delivery_ids: list[int] = field(default_factory=list)
    people: dict[str, e.StageCandidate] = field(default_factory=dict)  # by id: the names the source gave

    def queued_candidates(self) -> list[e.StageCandidate]:
        """``queued`` as the source named them (a bare id where it gave no name), in its order."""
        return [self.people.get(o) or e.StageCandidate(o) for o in self.queued]

    def as_dict(self) -> dict[str, Any]:
        return {"attachment_id": self.attachment_id, "queued": len(self.queued),
                "already_invited": self.already_invited, "already_queued": self.already_queued,
                "opportunity_ids": list(self.queued), "candidates": _listed(self.queued_candidates()),
                "message": self.message()}

    def message(self) -> str:
        text = f"{_count(len(self.queued), 'invitation')} queued; {self.already_invited} already invited"
        if self.already_queued:
            text += f"; {self.already_queued} still being delivered from an earlier backfill (see Activity)"
        return text + "."


def _listed(candidates: list[e.StageCandidate]) -> list[dict[str, Any]]:
    """Candidates as the API lists them (``StageCandidateSchema``): null for what the source did not give."""
    return [{"opportunity_id": c.opportunity_id, "name": c.name or None, "profile_url": c.profile_url}
            for c in candidates]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --------------------------------------------------------------------------- checks


def unavailable_reason(runtime, workspace_id: int) -> str | None:
    """Why backfill cannot be offered in this workspace (no source, or a source without the
    hook), or None."""
    source = runtime.active_source(workspace_id)
    if source is None:
        return "No source (ATS) integration is enabled, so there is no stage to read candidates from."
    if not runtime.registry.implements(source, HOOK):
        title = runtime.registry.title(source)
        return (f"Backfill is not available for {title}: its integration cannot list the candidates in a "
                "stage. Candidates are invited when they enter the stage.")
    return None


def provider_problem(runtime, workspace_id: int, provider: str, lock: bool = False) -> str | None:
    """Why the attachment's provider cannot invite now, in words, or None. ``lock`` holds its
    integration row (shared) until the commit, so a disable or revoke cannot slip in between."""
    registry = runtime.registry
    title = registry.title(provider)
    if provider not in registry.specs:
        return f"{title} is not installed"
    query = sa.select(Integration).where(Integration.workspace_id == workspace_id, Integration.plugin == provider)
    row = db.session.scalar(query.with_for_update(read=True) if lock else query)
    spec = registry.specs[provider]
    if row is None:
        why = "is not connected"
    elif row.status == "revoked":
        why = "has its access revoked"
    elif not row.enabled:
        why = "is disabled"
    elif row.status == "needs_reauthorization":
        why = "needs reconnecting"
    elif spec.secret_fields and not row.secrets_encrypted:
        why = "has no credentials yet"
    elif not registry.implements(provider, "on_stage_change"):
        why = "does not invite on stage changes"
    else:
        return None
    return (f"{title} {why}: it cannot send invitations now. Enable and connect it first, then invite the "
            "candidates already in this stage.")


def _source(runtime, workspace_id: int) -> str:
    reason = unavailable_reason(runtime, workspace_id)
    if reason is not None:
        raise BackfillUnavailable(reason)
    return runtime.active_source(workspace_id)


# --------------------------------------------------------------------------- the source's list


def list_in_stage(runtime, workspace_id: int, source: str,
                  attachment: Attachment) -> tuple[list[str], dict[str, e.StageCandidate]]:
    """The opportunity ids the source has in the attachment's stage now, and by id the candidates
    it named (``StageCandidate`` items; a bare id names nobody); ``HubError`` (502) with a message
    naming the source when it fails, ``TooManyCandidates`` beyond ``max_candidates``."""
    title = runtime.registry.title(source)
    limit = max_candidates(runtime)
    posting_id, stage_id = attachment.posting_id, attachment.stage_id
    stage, posting = attachment.stage_name, attachment.posting_name
    try:
        ctx = runtime.context(workspace_id, source)  # commits: no transaction is held during the call
        found = runtime.registry.call(source, HOOK, ctx=ctx, posting_id=posting_id, stage_id=stage_id,
                                      limit=limit + 1)
    except HubError as exc:
        db.session.rollback()
        message = exc.message if exc.message.lower().startswith(title.lower()) else f"{title}: {exc.message}"
        raise HubError(message, status=502, code="vendor_error") from exc
    except Exception as exc:  # a plugin's unexpected failure is shown (by its type: its text may hold a secret), never a 500
        db.session.rollback()
        log.error("%s.%s failed for attachment %s", source, HOOK, attachment.id, exc_info=True,
                  extra={"workspace_id": workspace_id})
        raise HubError(unexpected_failure(title, exc), status=502, code="vendor_error") from exc
    if not isinstance(found, (list, tuple)) or not all(_listed_id(i) is not None for i in found):
        raise HubError(f"{title} failed: {HOOK} did not return a list of opportunity ids (or StageCandidate)",
                       status=502, code="vendor_error")
    ids = list(dict.fromkeys(i for i in map(_listed_id, found) if i))
    people = {}
    for item in found:
        if isinstance(item, e.StageCandidate) and item.opportunity_id and item.opportunity_id not in people:
            people[item.opportunity_id] = e.StageCandidate(
                item.opportunity_id, item.name.strip() if isinstance(item.name, str) else "", web_link(item.profile_url))
    if len(ids) > limit:
        operator = (", or ask your operator to raise HUB_BACKFILL_MAX_CANDIDATES"
                    if limit < MAXIMUM["BACKFILL_MAX_CANDIDATES"] else "")
        raise TooManyCandidates(
            f"More than {limit:,} candidates are in “{stage}” of {posting}: backfill invites at most "
            f"{limit:,} at once. Move some of them on in {title} first{operator}.")
    return ids, people


def _listed_id(item: Any) -> str | None:
    """The opportunity id of one item of the source's list (a str or a ``StageCandidate``), else None."""
    if isinstance(item, e.StageCandidate):
        item = item.opportunity_id
    return item if isinstance(item, str) else None


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


@dataclass
class Sorting:
    """``classify``'s answer, each list in the order of the ids given."""

    already_invited: list[str]
    already_queued: list[str]
    to_invite: list[str]
    again: list[str]  # of ``to_invite``: those whose earlier backfills all ended without an invitation
    event_ids: dict[str, str]  # each of ``to_invite`` -> the id of its backfill event (``event_id``)


def classify(workspace_id: int, attachment_id: int, ids: list[str]) -> Sorting:
    """Sort ``ids`` into already invited (an invitation for the attachment exists), already
    queued (a backfill event of theirs for it still has an open delivery) and to invite, and
    give each one to invite the id of its next backfill event: one more than the highest
    generation kept, as event or as remembered id (an event purged by retention leaves its id
    behind until the dedupe window ends, and only an event whose delivery ended is purged)."""
    invited: set[str] = set()
    queued: set[str] = set()
    generation: dict[str, int] = {}
    for chunk in _chunks(ids):
        invited |= set(db.session.scalars(sa.select(Invitation.opportunity_id).where(
            Invitation.workspace_id == workspace_id, Invitation.attachment_id == attachment_id,
            Invitation.opportunity_id.in_(chunk))))
        waiting, following = _next_generations(workspace_id, attachment_id, [o for o in chunk if o not in invited])
        queued |= waiting
        generation.update(following)
    to_invite = [o for o in ids if o in generation]
    return Sorting(already_invited=[o for o in ids if o in invited],
                   already_queued=[o for o in ids if o in queued], to_invite=to_invite,
                   again=[o for o in to_invite if generation[o] > 1],
                   event_ids={o: event_id(attachment_id, o, generation[o]) for o in to_invite})


def _next_generations(workspace_id: int, attachment_id: int, ids: list[str]) -> tuple[set[str], dict[str, int]]:
    """Of ``ids`` (without an invitation): those with a backfill event still being delivered, and
    each other one's next generation. A proposed id already remembered (its event purged, or
    staged by a concurrent backfill that committed since the events were read) sends its
    candidate round again: its events are read again after that, so a concurrent backfill's
    event, committed with its id, is then seen (still being delivered)."""
    queued: set[str] = set()
    found: dict[str, int] = {}
    floor = dict.fromkeys(ids, 0)  # the highest generation known taken, per candidate
    pending = list(ids)
    while pending:
        earlier = _earlier_events(workspace_id, attachment_id, pending)
        proposed: dict[str, int] = {}
        for opportunity_id in pending:
            highest, still_open = earlier.get(opportunity_id, (0, False))
            if still_open:
                queued.add(opportunity_id)
            else:
                proposed[opportunity_id] = max(highest, floor[opportunity_id]) + 1
        taken = _remembered(workspace_id, {event_id(attachment_id, o, g)[:MAX_KEY_LENGTH]: o
                                           for o, g in proposed.items()})
        for opportunity_id, number in proposed.items():
            if opportunity_id in taken:
                floor[opportunity_id] = number
            else:
                found[opportunity_id] = number
        pending = [o for o in pending if o in taken]
    return queued, found


def _earlier_events(workspace_id: int, attachment_id: int, ids: list[str]) -> dict[str, tuple[int, bool]]:
    """Each of ``ids`` with kept backfill events for the attachment -> (their highest generation,
    whether one of them still has a delivery pending, running or waiting for a retry)."""
    still_open = sa.select(Delivery.id).where(Delivery.event_id == Event.id, Delivery.status.in_(D_OPEN)).exists()
    rows = db.session.execute(sa.select(Event.subject, Event.external_id, still_open).where(
        Event.workspace_id == workspace_id, Event.source_plugin == SOURCE_NAME, Event.subject.in_(ids),
        Event.external_id.like(f"{PREFIX}%")))
    out: dict[str, tuple[int, bool]] = {}
    for subject, external_id, is_open in rows:
        number = _generation(attachment_id, subject, external_id)
        if number is not None:
            highest, any_open = out.get(subject, (0, False))
            out[subject] = (max(highest, number), any_open or bool(is_open))
    return out


def _remembered(workspace_id: int, keys: dict[str, str]) -> set[str]:
    """The values of ``keys`` (event id -> candidate) whose event id is remembered (``EventKey``)."""
    if not keys:
        return set()
    return {keys[k] for k in db.session.scalars(sa.select(EventKey.key).where(
        EventKey.workspace_id == workspace_id, EventKey.source_plugin == SOURCE_NAME,
        EventKey.key.in_(list(keys))))}


# --------------------------------------------------------------------------- what the page and the API call


def census(runtime, workspace_id: int, attachment_id: int) -> Census:
    """Read-only: who is in the stage and what a backfill would do (one live list at the source)."""
    attachment = get_attachment(workspace_id, attachment_id, fresh=True)
    source = _source(runtime, workspace_id)
    problem = provider_problem(runtime, workspace_id, attachment.provider)
    ids, people = list_in_stage(runtime, workspace_id, source, attachment)
    sorting = classify(workspace_id, attachment_id, ids)
    db.session.rollback()
    return _census(runtime, attachment_id, source, ids, sorting, problem, people)


def _census(runtime, attachment_id: int, source: str, ids: list[str], sorting: Sorting, problem: str | None,
            people: dict[str, e.StageCandidate]) -> Census:
    return Census(attachment_id, source, ids, sorting.already_invited, sorting.already_queued, sorting.to_invite,
                  problem, again=sorting.again, people=people, limit=max_candidates(runtime))


def run(runtime, workspace_id: int, attachment_id: int, actor: User | str | None,
        expected: int | None = None) -> Outcome:
    """Queue one invitation per candidate in the stage without one (see the module docstring);
    audited as ``attachment.backfill``. ``expected``: how many candidates to invite the admin
    confirmed (None: not checked). Raises ``NotFound``, ``BackfillUnavailable``, ``StageChanged``
    (409: more than ``expected`` candidates to invite now; nothing queued), ``ProviderCannotInvite``
    (the provider cannot invite now), ``TooManyCandidates`` or ``HubError`` (502: the source failed)."""
    from hub.services import audit

    attachment = get_attachment(workspace_id, attachment_id, fresh=True)
    source = _source(runtime, workspace_id)
    problem = provider_problem(runtime, workspace_id, attachment.provider)
    if problem:
        db.session.rollback()
        raise ProviderCannotInvite(problem)
    ids, people = list_in_stage(runtime, workspace_id, source, attachment)  # no transaction held meanwhile

    # one transaction from here: checks again, events and deliveries, audit entry
    attachment = get_attachment(workspace_id, attachment_id, fresh=True)  # detached meanwhile: 404
    problem = provider_problem(runtime, workspace_id, attachment.provider, lock=True)
    if problem:
        db.session.rollback()
        raise ProviderCannotInvite(problem)
    sorting = classify(workspace_id, attachment_id, ids)
    if expected is not None and len(sorting.to_invite) > expected:
        db.session.rollback()
        raise StageChanged(_census(runtime, attachment_id, source, ids, sorting, None, people), expected)
    to_invite = sorting.to_invite
    now = utcnow()
    items = [Staged(workspace_id, SOURCE_NAME, e.InboundEvent(
        external_id=sorting.event_ids[opportunity_id],
        event=e.StageChange(opportunity_id=opportunity_id, to_stage_id=attachment.stage_id, occurred_at=now,
                            attachment_id=attachment.id)))
        for opportunity_id in to_invite]
    # delivered to the attachment's provider only (checked enabled above, under the lock)
    outcomes = stage_events(runtime, items, enabled={workspace_id: {attachment.provider}})
    outcome = Outcome(attachment_id, already_invited=len(sorting.already_invited),
                      already_queued=len(sorting.already_queued), people=people)
    for opportunity_id, staged in zip(to_invite, outcomes):
        if staged.duplicate:  # a concurrent click staged it first
            outcome.already_queued += 1
        else:
            outcome.queued.append(opportunity_id)
            outcome.delivery_ids += staged.delivery_ids
    audit(workspace_id, actor, "attachment.backfill", f"attachment:{attachment_id}",
          posting=attachment.posting_name, stage=attachment.stage_name, assessment=attachment.assessment_name,
          in_stage=len(ids), queued=len(outcome.queued), already_invited=outcome.already_invited,
          already_queued=outcome.already_queued,
          invited_again=len(set(outcome.queued) & set(sorting.again)))
    db.session.commit()
    if outcome.delivery_ids:
        runtime.wake(outcome.delivery_ids)
    return outcome
