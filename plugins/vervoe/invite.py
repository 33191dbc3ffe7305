"""Inviting, re-inviting and closing: the event hooks that act on Vervoe.

Exactly once (README.md, Guarantees, 4) without an idempotency field: Vervoe's invite body has no
external reference, so

1. the hub's invitation row exists first (``get_or_create``: unique per workspace + opportunity +
   attachment), and only a ``pending`` row is ever sent; a per-invitation lease (``ctx.lock``) keeps
   two workers off the same row;
2. the attempt is recorded in ``ctx.records`` (``links.attempt_key``) BEFORE the POST, and
   completed with Vervoe's ``candidateAssessmentUuid`` after it;
3. a POST whose outcome is unclear (timeout, 5xx, a crash before the answer was recorded) is never
   repeated blindly: the next try finds the recorded attempt and first looks the candidate up by
   email + assessment (``GET /integration/user-assessments``, newest first); only when Vervoe has no
   such candidate assessment is the POST sent again;
4. and Vervoe itself refuses a second invitation of one email to one assessment (400 "already
   sent", with the existing uuid and URL): that answer is adopted as the same invitation.

Re-invite (an admin's, after failed/expired/cancelled/completed): when the invitation reached
Vervoe in an earlier round, the same candidate assessment is reset with a new deadline
(``PATCH .../reset``) and its login link read again; otherwise it is invited as above.

The vendor-neutral part of this (re-reading the candidate, the email check, the lease and the
re-check "still pending", recording the answer) is ``hub.kit.provider``; this module is what Vervoe
adds.

Archive: Vervoe cannot cancel an invitation; it can reject the candidate (``PATCH .../reject``),
which closes the assessment. With ``reject_on_archive`` (default) open invitations of an archived
candidate are rejected at Vervoe and cancelled in the hub; without it the plugin records the
archive (``archived:<id>``) and notes it on the invitation's timeline, leaving it open.
"""

from __future__ import annotations

from typing import Any

from hub.entities import (
    CANCELLED, FAILED, OPEN_STATUSES, PENDING, ArchiveChange, Candidate, Invitation, ReinviteRequested, StageChange,
)
from hub.kit import provider

from . import links, wire
from .client import VervoeClient, VervoeNotFound, VervoeRejected
from .settings import VervoeSettings

ARCHIVED_PREFIX = "archived:"
LOCK_TTL = 120.0


# --------------------------------------------------------------------------- on_stage_change


def handle_stage_change(ctx: Any, change: StageChange) -> None:
    found = provider.candidate_in_stage(ctx, change)
    if found is None:
        return
    attachments, candidate = found
    settings = VervoeSettings.from_context(ctx)
    provider.for_each(ctx, attachments, lambda attachment: _invite_for(ctx, settings, attachment, candidate))


def _invite_for(ctx: Any, settings: VervoeSettings, attachment: Any, candidate: Candidate) -> None:
    invitation, _created = ctx.invitations.get_or_create(attachment, candidate)
    if invitation.status != PENDING:
        ctx.log.info("invitation %s is %s; entering the stage again sends nothing", invitation.id, invitation.status)
        return
    send(ctx, settings, invitation, candidate)


# --------------------------------------------------------------------------- on_reinvite_requested


def handle_reinvite(ctx: Any, request: ReinviteRequested) -> None:
    found = provider.pending_reinvite(ctx, request)
    if found is not None:
        invitation, candidate = found
        send(ctx, VervoeSettings.from_context(ctx), invitation, candidate)


# --------------------------------------------------------------------------- the one way to send


def send(ctx: Any, settings: VervoeSettings, invitation: Invitation, candidate: Candidate) -> None:
    """Send a pending invitation to Vervoe exactly once, or record why it cannot be sent."""

    def deliver(current: Invitation, email: str) -> None:
        client = VervoeClient(ctx, settings)
        key = links.attempt_key(current)
        attempt = ctx.records.get(key) or {}
        uuid: str | None = attempt.get("uuid")
        url: str | None = attempt.get("url")
        if uuid is None and attempt.get("mode") == "invite":
            # an earlier POST's outcome is unknown: look before sending again
            found = client.find_report(email, current.assessment_id)
            if found is not None:
                uuid = found["uuid"]
                ctx.log.info("invitation %s: found at Vervoe after an unclear attempt", current.id)
        if uuid is None:
            earlier = links.invitation_link(ctx, current.id)
            if earlier is not None and int(earlier.get("round") or 0) < current.round:
                uuid, url = _reset(ctx, client, current, key, earlier["uuid"])
        if uuid is None:
            ctx.records.put(key, {"at": links.now_iso(), "mode": "invite"})
            body = wire.build_invite_body(email=email, first_name=candidate.first_name,
                                          last_name=candidate.last_name, send_email=settings.send_invitation_email,
                                          redirect_url=settings.redirect_candidate_url)
            try:
                uuid, url, created = client.invite(current.assessment_id, body)
            except (VervoeRejected, VervoeNotFound) as exc:
                reason = "Vervoe refused the invitation: " + exc.vendor_message.replace(email, "<email>")
                ctx.records.delete(key)  # a clear refusal: nothing to look up later
                ctx.invitations.transition(current.id, FAILED, failure_reason=reason[:500])
                return
            if not created:
                ctx.log.info("invitation %s: Vervoe already had this candidate on %s", current.id,
                             current.assessment_id)
            ctx.records.put(key, {"at": links.now_iso(), "mode": "invite", "uuid": uuid, "url": url})
        if not url:
            url = client.candidate_url(uuid)
        links.link(ctx, uuid, current)
        _record_sent(ctx, current.id, uuid, url)

    provider.send_once(ctx, invitation, candidate, deliver, lock_ttl=LOCK_TTL)


def _reset(ctx: Any, client: VervoeClient, invitation: Invitation, key: str, uuid: str) -> tuple[str | None, str | None]:
    """Re-invite by resetting the earlier round's candidate assessment at Vervoe (new deadline)."""
    ctx.records.put(key, {"at": links.now_iso(), "mode": "reset"})
    try:
        client.reset(uuid)
    except VervoeNotFound:
        ctx.log.warning("invitation %s: Vervoe no longer has %s; inviting afresh", invitation.id, uuid)
        ctx.records.delete(key)
        return None, None
    url = client.candidate_url(uuid)
    ctx.records.put(key, {"at": links.now_iso(), "mode": "reset", "uuid": uuid, "url": url})
    return uuid, url


def _record_sent(ctx: Any, invitation_id: int, uuid: str, url: str | None) -> None:
    # A webhook may have moved the row on first (e.g. pending -> started): it keeps Vervoe's id and link.
    provider.record_sent(ctx, invitation_id, uuid, url)


# --------------------------------------------------------------------------- on_archive_change


def handle_archive(ctx: Any, change: ArchiveChange) -> None:
    found = provider.archived_open_invitations(ctx, change)
    if found is None:
        return
    open_invitations, candidate = found
    settings = VervoeSettings.from_context(ctx)
    if not settings.reject_on_archive:
        for invitation in open_invitations:
            if ctx.records.put_if_absent(f"{ARCHIVED_PREFIX}{invitation.id}",
                                         {"at": links.now_iso(), "round": invitation.round}):
                ctx.invitations.note(invitation.id, "cancel_skipped",
                                     "candidate archived in the ATS; left open at Vervoe (reject on archive is off)")
        return
    client = VervoeClient(ctx, settings)
    email = (candidate.email if candidate is not None else None) or ""
    provider.for_each(ctx, open_invitations, lambda invitation: _close(ctx, client, invitation, email))


def _close(ctx: Any, client: VervoeClient, invitation: Invitation, email: str) -> None:
    with ctx.lock(provider.invitation_lock(invitation.id), ttl=LOCK_TTL):
        current = ctx.invitations.get(invitation.id)
        if current is None or current.status not in OPEN_STATUSES:
            return
        uuid = current.provider_invitation_id
        if uuid is None:
            attempt = ctx.records.get(links.attempt_key(current)) or {}
            uuid = attempt.get("uuid")
            lookup_email = email or current.candidate_email or ""
            if uuid is None and attempt.get("mode") == "invite" and provider.valid_email(lookup_email):
                found = client.find_report(lookup_email, current.assessment_id)  # an unclear POST may have landed
                uuid = found["uuid"] if found else None
        if uuid is not None:
            try:
                client.reject(uuid)
            except VervoeNotFound:
                ctx.log.warning("invitation %s (%s) is unknown at Vervoe; cancelled in the hub only", current.id, uuid)
        ctx.invitations.transition(current.id, CANCELLED, provider_invitation_id=uuid)
