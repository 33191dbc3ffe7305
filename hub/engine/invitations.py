"""The invitation state machine: each transition is accepted once, stale ones are ignored.

Events arrive late, twice and out of order (README.md, Guarantees, 6). ``apply_event`` applies a
provider's news (``InvitationProgress``, ``AssessmentResult``, ``Verdict``) to the invitation row
and says whether anything changed; the engine only fans an event out to plugins when it did.
``transition`` is the same machine for changes a plugin makes itself (invited, failed, cancelled).
Callers own the transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Mapping

from hub import entities as e
from hub.store.models import Attachment, Invitation, TimelineEntry, utcnow

log = logging.getLogger("hub.engine.invitations")

ALLOWED: dict[str, set[str]] = {
    e.PENDING: {e.INVITED, e.STARTED, e.COMPLETED, e.FAILED, e.CANCELLED, e.EXPIRED},
    e.INVITED: {e.STARTED, e.COMPLETED, e.EXPIRED, e.CANCELLED},
    e.STARTED: {e.COMPLETED, e.EXPIRED, e.CANCELLED},
    e.EXPIRED: {e.COMPLETED},
    e.COMPLETED: set(),
    # a cancel made in the hub that reached the vendor too late: the candidate had completed, and
    # the vendor's result is kept rather than lost
    e.CANCELLED: {e.COMPLETED},
    e.FAILED: set(),
}

STAMP = {e.INVITED: "invited_at", e.STARTED: "started_at", e.COMPLETED: "completed_at"}

# Fields a plugin may set along with a transition. Never ``round``: that name is the guard of
# ``ctx.invitations.transition`` (``hub.context.InvitationStore.transition``), a keyword of its own.
SETTABLE = {"provider_invitation_id", "invite_url", "failure_reason", "score", "max_score", "report_url"}


# The keys of the ids a timeline entry may carry (``refs``): the public contract of
# ``ctx.invitations.note``, described in docs/plugin-guide.md. Ids of the workspace's source (ATS).
TIMELINE_REFS = frozenset({"stage", "archive_reason", "ats_note"})


def timeline_refs(refs: Mapping[str, str] | None) -> dict[str, str] | None:
    """``refs`` as stored: a plain dict, or None when there are none.

    Raises ``ValueError`` for anything but a mapping of the keys in ``TIMELINE_REFS`` to non-empty
    strings: it is a mistake in the calling plugin, to be seen at once rather than stored.
    """
    if refs is None:
        return None
    if not isinstance(refs, Mapping):
        raise ValueError(f"timeline refs must be a mapping of key to id, not {type(refs).__name__}")
    known = ", ".join(sorted(TIMELINE_REFS))
    for key, value in refs.items():
        if key not in TIMELINE_REFS:
            raise ValueError(f"unknown timeline ref {key!r}: use one of {known}")
        if not isinstance(value, str) or not value:
            raise ValueError(f"timeline ref {key!r} must be a non-empty string id, not {value!r}")
    return dict(refs) or None


def add_timeline(session, invitation: Invitation, kind: str, source: str, detail: str = "",
                 at: datetime | None = None, refs: Mapping[str, str] | None = None) -> None:
    """Add an entry to ``invitation``'s timeline; ``refs`` are checked by ``timeline_refs``."""
    entry = TimelineEntry(invitation_id=invitation.id, kind=kind, source=source, detail=detail, at=at or utcnow())
    stored = timeline_refs(refs)
    if stored is not None:  # left unset otherwise: SQL NULL, not a JSON null
        entry.refs = stored
    session.add(entry)


def fitting(name: str, value: Any) -> Any:
    """``value`` for the invitation's column ``name``, or None when it is text longer than the
    column holds: a link, id or address cut would point elsewhere, and refused by the database
    (PostgreSQL) it would fail the delivery on every attempt."""
    length = getattr(Invitation.__table__.c[name].type, "length", None)
    return None if isinstance(value, str) and length is not None and len(value) > length else value


def _storable(invitation: Invitation, name: str, value: Any) -> Any:
    """``fitting``, with a warning when a vendor's value is left out (the invitation moves on)."""
    kept = fitting(name, value)
    if kept is None and value is not None:
        log.warning("invitation %s: %s of %d characters left out", invitation.id, name, len(value),
                    extra={"workspace_id": invitation.workspace_id})
    return kept


def check_transition(status: str, fields: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``status`` is not an invitation status or ``fields`` names one
    not in ``SETTABLE``: a mistake in the calling plugin, seen even when nothing would change."""
    if status not in e.INVITATION_STATUSES:
        raise ValueError(f"unknown invitation status {status!r}")
    unknown = set(fields) - SETTABLE
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on an invitation")


def transition(session, invitation: Invitation, status: str, source: str, at: datetime | None = None,
               **fields: Any) -> bool:
    """Move ``invitation`` to ``status`` if the machine allows it; set ``fields``. True if it moved."""
    check_transition(status, fields)
    fields = {name: _storable(invitation, name, value) for name, value in fields.items()}
    if status == invitation.status:
        changed = False
        for name, value in fields.items():  # e.g. the provider id learnt on a retry
            if value is not None and getattr(invitation, name) is None:
                setattr(invitation, name, value)
                changed = True
        return changed
    if status not in ALLOWED[invitation.status]:
        return False
    invitation.status = status
    for name, value in fields.items():
        if value is not None:
            setattr(invitation, name, value)
    if status in STAMP:
        setattr(invitation, STAMP[status], at or utcnow())
    if status == e.COMPLETED:  # the result is judged by the threshold of this moment, for good
        invitation.pass_threshold = _current_threshold(session, invitation)
    detail = fields.get("failure_reason") or ""
    add_timeline(session, invitation, status, source, detail, at)
    return True


def _current_threshold(session, invitation: Invitation) -> float | None:
    attachment = session.get(Attachment, invitation.attachment_id)
    threshold = (attachment.options or {}).get("pass_threshold") if attachment is not None else None
    try:
        return float(threshold) if threshold is not None else None
    except (TypeError, ValueError):
        return None


def apply_event(session, invitation: Invitation, event: e.HubEvent, source: str) -> bool:
    """Apply a provider event to its invitation; True when it changed the invitation."""
    if isinstance(event, e.AssessmentResult):
        if invitation.status == e.COMPLETED:
            return False
        return transition(session, invitation, e.COMPLETED, source, at=event.completed_at,
                          score=event.score, max_score=event.max_score, report_url=event.report_url)
    if isinstance(event, e.Verdict):
        if invitation.verdict == event.verdict:
            return False
        if invitation.verdict_at and event.decided_at and event.decided_at < invitation.verdict_at:
            return False  # an older verdict arriving after a newer one
        invitation.verdict = event.verdict
        invitation.verdict_at = event.decided_at or utcnow()
        add_timeline(session, invitation, "verdict", source, event.verdict.replace("_", " "), event.decided_at)
        return True
    if isinstance(event, e.InvitationProgress):
        return transition(session, invitation, event.status, source, at=event.occurred_at,
                          failure_reason=event.reason if event.status == e.FAILED else None)
    raise TypeError(f"{type(event).__name__} is not an invitation event")


def to_entity(row: Invitation) -> e.Invitation:
    return e.Invitation(
        id=row.id,
        attachment_id=row.attachment_id,
        opportunity_id=row.opportunity_id,
        candidate_name=row.candidate_name,
        candidate_email=row.candidate_email,
        provider=row.provider,
        assessment_id=row.assessment_id,
        assessment_name=row.assessment_name,
        status=row.status,
        provider_invitation_id=row.provider_invitation_id,
        invite_url=row.invite_url,
        score=row.score,
        max_score=row.max_score,
        pass_threshold=row.pass_threshold,
        report_url=row.report_url,
        verdict=row.verdict,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        completed_at=row.completed_at,
        verdict_at=row.verdict_at,
        reference_token=row.reference_token,
        round=row.round,
    )
