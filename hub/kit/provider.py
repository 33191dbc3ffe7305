"""The invitation flow shared by assessment-provider plugins, around the vendor's own calls.

Every provider invites the same way (README.md, Guarantees, 4 and 5; docs/plugin-guide.md
``on_stage_change``): trust nothing in the webhook but ids, create the hub's invitation row
before calling the vendor, send only a ``pending`` row, hold a per-invitation lease so two workers
never call the vendor for the same row, and record the vendor's answer even when a webhook moved
the row on first. This module is that flow; the plugin supplies only what its vendor does (how to
create, find or close an invitation there). It uses nothing but ``ctx``, ``hub.entities`` and ``hub.errors``.

Contract of each function (``ctx`` is the hook's ``PluginContext``):

* ``candidate_in_stage(ctx, change)`` -> ``(attachments, candidate)`` or ``None``: this plugin's
  attachments of the stage the candidate entered, for the candidate's posting, and the candidate
  re-read from the source. ``None`` (logged) when nothing is attached, the opportunity is gone, the
  candidate is no longer in that stage (a stale event) or is archived; "nothing of this plugin is
  attached" (to the stage, named or found by the re-read, or to the candidate's posting), which
  most stage changes are, is logged at debug level, the rest at info. A change that names no
  stage (``to_stage_id == ""``: the source said the candidate entered one, e.g. Lever's
  ``applicationCreated``) is about the stage the re-read finds the candidate in; the candidate is
  read only when this plugin has an attachment at all.
* ``pending_reinvite(ctx, request)`` -> ``(invitation, candidate)`` or ``None``: the invitation an
  admin asked to re-invite, when it is this plugin's and still ``pending``, with its candidate
  re-read. A candidate gone from the source fails the invitation (``NO_CANDIDATE_REASON``).
* ``send_once(ctx, invitation, candidate, deliver, lock_ttl=...)``: the one way to send. A
  candidate without a valid email fails the invitation (``NO_EMAIL_REASON``, never the address)
  and the vendor is not called. Otherwise, under the lease ``invitation_lock(invitation.id)``, the
  row is read again and ``deliver(current, email)`` runs only if it is still ``pending``.
  ``deliver`` calls the vendor and ends with ``record_sent`` (or a ``FAILED`` transition).
* ``record_sent(ctx, invitation_id, provider_invitation_id, invite_url, *, round=None)`` -> ``None``
  when the row moved to ``invited`` (``LookupError`` when the workspace has no such invitation, as
  from ``ctx.invitations.transition``); else the row as it is now (a webhook or a cancel came
  first), which keeps the vendor's id and link all the same, in the round it was in when read
  (``ctx.invitations.transition``'s ``round``). ``round`` is the round that was sent (pass
  ``current.round`` from ``deliver``): when an admin's Re-invite started another round meanwhile,
  nothing is written and the row is returned as it is now (its ``round`` differs). The caller
  decides what a cancelled row needs at its vendor, and withdraws there what it just sent when the
  row is in another round (the admin's cancel may have found nothing at the vendor yet, and the new
  round sends its own invitation), by the vendor id it just got, never the row's.
* ``earlier_round_references(invitation)`` -> the external references of the invitation's earlier
  rounds, round 1 first (none in round 1): what ``external_reference`` was in each of rounds 1 to
  ``round - 1`` (the same invitation in that round). A Re-invite clears ``provider_invitation_id``,
  so these are how ``deliver`` finds, before it sends round N > 1, what an earlier round may have left
  open at the vendor (an admin's cancel that never got through to it, a send that reached it late),
  to withdraw it there: else the candidate has a stale test beside the new one, whose result the hub
  drops as an earlier round's. One finished or cancelled there, or not found, is left alone; the vendor
  unreachable raises a ``TemporaryError`` before anything of round N is sent, so the delivery is
  retried and starts over (docs/plugin-guide.md, ``on_reinvite_requested``).
* ``archived_open_invitations(ctx, change)`` -> ``(invitations, candidate)`` or ``None``: on an
  archive, this plugin's open invitations of the opportunity and the candidate re-read (``None``
  if the source no longer has them). ``None`` on an unarchive, when nothing is open, or when the
  candidate is not archived any more (a stale event).
* ``for_each(ctx, items, action)``: ``action(item)`` for every item even when one raises; then
  re-raises the first retryable failure (anything but ``PermanentError``), else the first one,
  so the delivery is retried for the invitations that need it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Iterable, Iterator

from hub.entities import (
    FAILED, INVITED, OPEN_STATUSES, PENDING, ArchiveChange, Attachment, Candidate, Invitation, ReinviteRequested,
    StageChange,
)
from hub.errors import PermanentError

NO_EMAIL_REASON = "candidate has no valid email address in the ATS"
NO_CANDIDATE_REASON = "the candidate no longer exists in the ATS"
DEFAULT_LOCK_TTL = 60.0

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def valid_email(value: str | None) -> bool:
    """A plausible single address (``x@y.z``, at most 254 characters); no DNS look-up."""
    return bool(value) and len(value) <= 254 and _EMAIL.match(value) is not None


def invitation_lock(invitation_id: int) -> str:
    """The name of the lease (``ctx.lock``) that guards one invitation at the vendor."""
    return f"invite:{invitation_id}"


def candidate_in_stage(ctx: Any, change: StageChange) -> tuple[list[Attachment], Candidate] | None:
    """This plugin's attachments for the stage the candidate entered (only ``change.attachment_id``
    when set: a backfill of that attachment), and the candidate (see above)."""
    if not change.to_stage_id:
        found = _in_current_stage(ctx, change)
    else:
        found = _in_named_stage(ctx, change)
    if found is None:
        return None
    attachments, candidate = found
    if candidate.archived:
        ctx.log.info("opportunity %s is archived; no invitation", change.opportunity_id)
        return None
    mine = [a for a in attachments if a.posting_id == candidate.posting_id]
    if not mine:
        ctx.log.debug("opportunity %s is on posting %s, where nothing of %s is attached to that stage; "
                      "no invitation", change.opportunity_id, candidate.posting_id, ctx.plugin_name)
        return None
    return mine, candidate


def _attachments_of(ctx: Any, change: StageChange, stage_id: str | None) -> list[Attachment]:
    """This plugin's attachments of ``stage_id`` (every stage when None), narrowed to
    ``change.attachment_id`` when set."""
    attachments = ctx.attachments.list(stage_id=stage_id, provider=ctx.plugin_name)
    if change.attachment_id is not None:
        attachments = [a for a in attachments if a.id == change.attachment_id]
    return attachments


def _reread(ctx: Any, change: StageChange) -> Candidate | None:
    candidate = ctx.source.get_candidate(change.opportunity_id)  # trust nothing in the webhook but ids
    if candidate is None:
        ctx.log.info("opportunity %s no longer exists at the source; no invitation", change.opportunity_id)
    return candidate


def _in_named_stage(ctx: Any, change: StageChange) -> tuple[list[Attachment], Candidate] | None:
    """The attachments of ``change.to_stage_id`` and the candidate, if still in that stage."""
    attachments = _attachments_of(ctx, change, change.to_stage_id)
    if not attachments:
        ctx.log.debug("nothing of %s is attached to stage %s; no invitation for opportunity %s",
                      ctx.plugin_name, change.to_stage_id, change.opportunity_id)
        return None
    candidate = _reread(ctx, change)
    if candidate is None:
        return None
    if candidate.stage_id != change.to_stage_id:
        ctx.log.info("stale stage change: opportunity %s is now in stage %s, not %s; no invitation",
                     change.opportunity_id, candidate.stage_id, change.to_stage_id)
        return None
    return attachments, candidate


def _in_current_stage(ctx: Any, change: StageChange) -> tuple[list[Attachment], Candidate] | None:
    """A change that names no stage: the attachments of the stage the candidate is in now."""
    attachments = _attachments_of(ctx, change, None)
    if not attachments:  # nothing of this plugin is attached anywhere: no read from the source
        ctx.log.debug("nothing of %s is attached; no invitation for opportunity %s", ctx.plugin_name,
                      change.opportunity_id)
        return None
    candidate = _reread(ctx, change)
    if candidate is None:
        return None
    here = [a for a in attachments if candidate.stage_id and a.stage_id == candidate.stage_id]
    if not here:
        ctx.log.debug("opportunity %s entered stage %s, where nothing of %s is attached; no invitation",
                      change.opportunity_id, candidate.stage_id or "(none)", ctx.plugin_name)
        return None
    return here, candidate


def pending_reinvite(ctx: Any, request: ReinviteRequested) -> tuple[Invitation, Candidate] | None:
    """The invitation to send again and its candidate, or ``None`` (see above)."""
    invitation = ctx.invitations.get(request.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name:
        return None
    if invitation.status != PENDING:
        ctx.log.info("re-invite of invitation %s: it is %s, not pending; nothing sent",
                     invitation.id, invitation.status)
        return None
    candidate = ctx.source.get_candidate(invitation.opportunity_id)
    if candidate is None:
        ctx.invitations.transition(invitation.id, FAILED, round=invitation.round, failure_reason=NO_CANDIDATE_REASON)
        return None
    return invitation, candidate


def send_once(ctx: Any, invitation: Invitation, candidate: Candidate,
              deliver: Callable[[Invitation, str], None], lock_ttl: float = DEFAULT_LOCK_TTL) -> None:
    """Call ``deliver(current, email)`` for a still-pending invitation, under its lease (see above).

    In a delivery the lease lives with the delivery's run (``ctx.lock``); called elsewhere, it is
    renewed while ``deliver`` runs, and ``lock_ttl`` is how long it outlives a holder that died."""
    email = (candidate.email or "").strip()
    if not valid_email(email):
        # the reason is shown to recruiters and mirrored to the ATS: never the address itself
        ctx.invitations.transition(invitation.id, FAILED, round=invitation.round, failure_reason=NO_EMAIL_REASON)
        return
    with ctx.lock(invitation_lock(invitation.id), ttl=lock_ttl):
        current = ctx.invitations.get(invitation.id)
        if current is None or current.status != PENDING:
            return  # another worker finished it meanwhile
        deliver(current, email)


def record_sent(ctx: Any, invitation_id: int, provider_invitation_id: str,
                invite_url: str | None, *, round: int | None = None) -> Invitation | None:
    """Mark the invitation ``invited`` with the vendor's id and link (see above); ``round``: the
    round that was sent (``current.round`` in ``deliver``)."""
    fields = {"provider_invitation_id": provider_invitation_id, "invite_url": invite_url}
    if ctx.invitations.transition(invitation_id, INVITED, round=round, **fields):
        return None
    # The row moved on meanwhile: a webhook (pending -> started), an admin's cancel, or a Re-invite.
    latest = ctx.invitations.get(invitation_id)
    if latest is None:
        return None
    if round is not None and latest.round != round:
        return latest  # another round now: what was sent is an earlier round's, not this one's
    if latest.provider_invitation_id is None:
        # keep the vendor's id anyway, only while the row is in the round read here: a Re-invite
        # landing in between would otherwise take the earlier round's id (and this status)
        ctx.invitations.transition(invitation_id, latest.status, round=latest.round, **fields)
    return latest


def earlier_round_references(invitation: Invitation) -> Iterator[str]:
    """The external references ``invitation`` had in its earlier rounds, round 1 first (see above)."""
    for earlier in range(1, invitation.round):
        yield dataclasses.replace(invitation, round=earlier).external_reference


def archived_open_invitations(ctx: Any, change: ArchiveChange) -> tuple[list[Invitation], Candidate | None] | None:
    """This plugin's open invitations of a candidate just archived, and the candidate (see above)."""
    if not change.archived:
        return None  # unarchiving re-opens nothing: a new stage change invites again if needed
    open_invitations = [i for i in ctx.invitations.find(change.opportunity_id)
                        if i.provider == ctx.plugin_name and i.status in OPEN_STATUSES]
    if not open_invitations:
        return None
    candidate = ctx.source.get_candidate(change.opportunity_id)
    if candidate is not None and not candidate.archived:
        ctx.log.info("stale archive event: opportunity %s is not archived now; its invitations stay open",
                     change.opportunity_id)
        return None
    return open_invitations, candidate


def for_each(ctx: Any, items: Iterable[Any], action: Callable[[Any], None]) -> None:
    """Run ``action`` on every item even if one fails; then raise the most retryable failure."""
    failures: list[Exception] = []
    for item in items:
        try:
            action(item)
        except Exception as exc:  # noqa: BLE001 - re-raised below, after the others had their turn
            ctx.log.warning("%s: %s: %s", ctx.plugin_name, type(exc).__name__, exc)
            failures.append(exc)
    if failures:
        retryable = [f for f in failures if not isinstance(f, PermanentError)]
        raise (retryable or failures)[0]


__all__ = [
    "NO_EMAIL_REASON", "NO_CANDIDATE_REASON", "DEFAULT_LOCK_TTL", "valid_email", "invitation_lock",
    "candidate_in_stage", "pending_reinvite", "send_once", "record_sent", "earlier_round_references",
    "archived_open_invitations", "for_each",
]
