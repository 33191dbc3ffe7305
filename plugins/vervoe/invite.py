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
archive (``archived:<id>``) and notes it on the invitation's timeline, leaving it open. One the
candidate already completed at Vervoe (the hub shows ``started`` while Vervoe grades it) is never
rejected: it stays open in the hub (noted ``cancel_skipped``) and its result is written back when
graded; rejecting it would throw the result away and come back as a "thumbs down" the hub caused.

Admin cancel (``on_invitation_status``, status ``cancelled`` by someone other than this plugin):
closed at Vervoe the same way (a completed one is left alone), under the invitation's lease, the row
read again under it: re-invited since, nothing is rejected (the new round's send resets this same
candidate assessment). Still cancelled, the candidate assessment the candidate may have open is
rejected (``_vervoe_uuid``): its current round's, or, when that round's reset is unclear or it never
reached Vervoe, the earlier round's one linked to the invitation (a reset reuses it), unless another
open invitation shares it (Vervoe's "already invited"). A busy lease defers the delivery
(``Deferred``: no attempt used); a cancel delivered inline inside the very send it races enters
that send's lease (``links.invitation_lease``). A send racing the cancel closes the candidate assessment it has just
created (``_record_sent``). That withdraw is recorded first (``links.withdraw_key``): when its
reject fails, the delivery fails, and its retry (which sends nothing any more) or else ``reconcile``
completes it (``complete_withdraws``), under the invitation's lease like a send (a re-invite racing
it must not have its new round rejected).

A send marks itself in flight (``links.mark_sending``) until what it created is linked, so that a
report Vervoe sends before that is refused with a 503 and sent again, not ignored (``webhooks.py``).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Any

from hub.entities import (
    CANCELLED, FAILED, OPEN_STATUSES, PENDING, ArchiveChange, Candidate, Invitation, InvitationProgress,
    ReinviteRequested, StageChange,
)
from hub.errors import Deferred, NeedsReauthorization, PermanentError, TemporaryError
from hub.kit import provider

from . import links, wire
from .client import (
    FORBIDDEN_MEANING, LookupExhausted, VervoeClient, VervoeError, VervoeForbidden, VervoeNotFound, VervoeRejected,
)
from .settings import VervoeSettings

ARCHIVED_PREFIX = "archived:"
# how long the invitation's lease lasts when taken outside a delivery (``reconcile``: a withdraw's read
# and reject with their inline retries); in a delivery it lives with the delivery's run (``ctx.lock``)
LOCK_TTL = 120.0
# how long an admin's cancel waits for the invitation's lease before its delivery is deferred: long
# enough for a webhook's look at a send's marker (``links.sends_in_flight``); a send holding it closes
# what it creates itself (``_record_sent``), so waiting for a whole send would only tie up a worker
CANCEL_WAIT_SECONDS = 5.0
COMPLETED_NOTE = "not rejected at Vervoe: the candidate already completed the assessment there"
ARCHIVE_LEFT_OPEN = "; left open: its result will follow"
CANCEL_KEPT = "; cancelled in the hub only: its result, when graded, is still recorded"


# --------------------------------------------------------------------------- on_stage_change


def handle_stage_change(ctx: Any, change: StageChange) -> None:
    if ctx.records.keys(links.WITHDRAW_PREFIX):
        # e.g. the retry of this very delivery: its send raced a cancel and could not reject what it
        # had created at Vervoe (the send itself is over: the row is cancelled). Failing again, it is
        # left to ``reconcile``: it must not hold back this candidate's other invitations
        try:
            complete_withdraws(ctx, {i.id for i in ctx.invitations.find(change.opportunity_id)})
        except (TemporaryError, NeedsReauthorization) as exc:
            ctx.log.warning("a pending withdraw at Vervoe failed again, left to reconciliation: %s", exc)
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
    complete_withdraws(ctx, {request.invitation_id})
    found = provider.pending_reinvite(ctx, request)
    if found is not None:
        invitation, candidate = found
        send(ctx, VervoeSettings.from_context(ctx), invitation, candidate)


# --------------------------------------------------------------------------- the one way to send


def send(ctx: Any, settings: VervoeSettings, invitation: Invitation, candidate: Candidate) -> None:
    """Send a pending invitation to Vervoe exactly once, or record why it cannot be sent."""

    def deliver(current: Invitation, email: str) -> None:
        try:
            with links.holding_lease(ctx, current.id):  # ``send_once`` took it
                deliver_once(current, email)
        except Exception:
            # this try ends without a link: its retry is awaited for ``sending_window_seconds`` from
            # now, not from when the try started (links.sends_in_flight)
            links.touch_sending(ctx, current)
            raise

    def deliver_once(current: Invitation, email: str) -> None:
        client = VervoeClient(ctx, settings)
        key = links.attempt_key(current)
        attempt = ctx.records.get(key) or {}
        uuid: str | None = attempt.get("uuid")
        url: str | None = attempt.get("url")
        if uuid is None:
            # what this creates at Vervoe may be reported before it is linked below: such a report
            # is answered 503 while this marker stands, and Vervoe sends it again (webhooks.py)
            links.mark_sending(ctx, current)
        if uuid is None and attempt.get("mode") == "invite":
            # an earlier POST's outcome is unknown: look before sending again
            try:
                found = client.find_report(email, current.assessment_id)
            except LookupExhausted:
                # not among the newest candidate assessments, where one this send created would be
                # (the list is newest first), in an account with more: the POST again is safe, since
                # Vervoe answers a second invitation of this email to this assessment with 400
                # "already sent" and the existing one (adopted below). Raising instead would repeat
                # this lookup on every retry and never send the invitation.
                ctx.log.info("invitation %s: not found among Vervoe's newest candidate assessments; "
                             "sending again (Vervoe refuses a duplicate)", current.id)
                found = None
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
            except (VervoeRejected, VervoeForbidden, VervoeNotFound) as exc:
                reason = refusal_text(exc, "Vervoe refused the invitation: ", "The invitation was not sent: ")
                reason = reason.replace(email, "<email>")
                ctx.records.delete(key)  # a clear refusal: nothing to look up later
                links.forget_sending(ctx, current.id)
                ctx.invitations.transition(current.id, FAILED, round=current.round, failure_reason=reason[:500])
                return
            if not created:
                ctx.log.info("invitation %s: Vervoe already had this candidate on %s", current.id,
                             current.assessment_id)
            ctx.records.put(key, {"at": links.now_iso(), "mode": "invite", "uuid": uuid, "url": url})
        links.link(ctx, uuid, current)  # first: from now on Vervoe's reports find their invitation
        links.forget_sending(ctx, current.id)
        if not url:
            url = client.candidate_url(uuid)
        _record_sent(ctx, current, uuid, url)

    provider.send_once(ctx, invitation, candidate, deliver, lock_ttl=LOCK_TTL)


def own_message(exc: VervoeError) -> str | None:
    """Vervoe's own error message when it answered with its JSON error (``wire.is_error_envelope``),
    else None: the answer was something else (a web server's HTML page at a wrong base URL, a bare
    text, nothing), whose words alone ("an HTML page, not its API's JSON: check the API base URL")
    lose the status."""
    return exc.vendor_message if wire.is_error_envelope(exc.body) else None


def refusal_text(exc: VervoeError, own: str, other: str) -> str:
    """What an admin reads of a refusal: ``own`` + Vervoe's message when it answered with its JSON
    error (for a 403, what it means after it: "Access denied (403 Forbidden: the API user lacks a
    permission this request needs)", guide 04); else ``other`` + the client's sentence, which has
    the status and names Vervoe already ("Vervoe answered 404 Not Found with an HTML page, not its
    API's JSON: check the API base URL")."""
    message = own_message(exc)
    if message is None:
        return other + str(exc)
    if isinstance(exc, VervoeForbidden):
        return f"{own}{message} (403 Forbidden: {FORBIDDEN_MEANING})"
    return own + message


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


def _record_sent(ctx: Any, current: Invitation, uuid: str, url: str | None) -> None:
    # A webhook may have moved the row on first (e.g. pending -> started): it keeps Vervoe's id and
    # link. Not an admin's Re-invite since (another round): that round's send resets it at Vervoe.
    invitation_id = current.id
    moved_on = provider.record_sent(ctx, invitation_id, uuid, url, round=current.round)
    if moved_on is not None and moved_on.status == CANCELLED:
        # an admin cancelled it while it was being sent: its on_invitation_status found nothing at
        # Vervoe yet, so what was just created is closed here. Recorded first: when the reject fails,
        # the delivery's retry (which no longer sends anything: the row is cancelled) or else
        # ``reconcile`` completes it (``complete_withdraws``)
        ctx.records.put(links.withdraw_key(invitation_id), {"uuid": uuid, "at": links.now_iso()})
        _complete_withdraw(ctx, VervoeClient(ctx), invitation_id, uuid)  # under this send's lease


def _complete_withdraw(ctx: Any, client: VervoeClient, invitation_id: int, uuid: str) -> None:
    """Reject ``uuid`` at Vervoe for the cancelled ``invitation_id`` (``_withdraw``: read first, so a
    retry after a reject that did land, or a completion meanwhile, rejects nothing), then forget the
    pending withdraw. Vervoe refusing it for good (a 4xx other than 404: 404 is "gone", done) drops
    it with a line on the timeline; any other failure keeps it, and is raised. The caller holds the
    invitation's lease."""
    invitation = ctx.invitations.get(invitation_id)
    if invitation is not None and invitation.status == CANCELLED:
        try:
            _withdraw(ctx, client, invitation, uuid, CANCEL_KEPT)
        except NeedsReauthorization:
            raise  # kept: done once the connection is repaired
        except PermanentError as exc:  # Vervoe refuses it for good: asking again cannot help
            ctx.invitations.note(invitation_id, "cancel_skipped", f"Vervoe refused to close it: {exc}")
            ctx.log.warning("invitation %s: Vervoe refused to close %s; left open there: %s", invitation_id, uuid, exc)
    # else: gone, or re-invited since (that send resets the same candidate assessment): nothing to close
    ctx.records.delete(links.withdraw_key(invitation_id))


def complete_withdraws(ctx: Any, invitation_ids: Any = None) -> None:
    """Complete the withdraws still pending (of ``invitation_ids`` only, when given); each failure is
    logged, and the most retryable one raised once the others had their turn."""
    pending = [(i, uuid) for i, uuid in links.pending_withdraws(ctx)
               if invitation_ids is None or i in invitation_ids]
    if pending:
        client = VervoeClient(ctx)
        provider.for_each(ctx, pending, lambda item: _complete_withdraw_if_free(ctx, client, *item))


def _complete_withdraw_if_free(ctx: Any, client: VervoeClient, invitation_id: int, uuid: str) -> None:
    """``_complete_withdraw`` under the invitation's lease, the one its sends hold: a re-invite's send
    resets this same candidate assessment at Vervoe, and a reject landing after that reset would
    close the new round. Under the lease the row is read again (re-invited meanwhile: nothing is
    rejected), and the reset waits until the reject is done. A lease held by someone else is not
    waited for: the withdraw is kept for the next try (the delivery's retry, or ``reconcile``)."""
    with links.lease_if_free(ctx, invitation_id, LOCK_TTL) as free:
        if not free:
            ctx.log.info("invitation %s: busy (being sent or closed); its withdraw at Vervoe is left for "
                         "the next try", invitation_id)
            return
        _complete_withdraw(ctx, client, invitation_id, uuid)


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
        uuid, earlier_than = _vervoe_uuid(ctx, client, current, email)
        if uuid is not None and not _withdraw(ctx, client, current, uuid, ARCHIVE_LEFT_OPEN, earlier_than):
            return  # completed at Vervoe: its result (and any reviewer's decision) will follow
        ctx.invitations.transition(current.id, CANCELLED, round=current.round, provider_invitation_id=uuid)


def _vervoe_uuid(ctx: Any, client: VervoeClient, invitation: Invitation,
                 email: str = "") -> tuple[str | None, datetime | None]:
    """The candidate assessment at Vervoe of ``invitation``'s current round, if that round (may have)
    reached Vervoe, and ``earlier_than`` (below): the one recorded on the row (a re-invite clears
    it), else this round's attempt's (``links.attempt_key``), else one found by email after an
    unclear POST of this round, else an earlier round's (``_earlier_round_uuid``) when this round's
    reset is unclear or this round sent nothing at all: a reset reuses the same candidate assessment,
    so that one is what the candidate may still have open.

    ``earlier_than`` is None when the assessment is this round's; for an earlier round's, the time
    before which a completion at Vervoe is that earlier round's (this round's reset, if it landed,
    cleared it): the start of this round's unclear reset, or now when this round sent nothing."""
    uuid = invitation.provider_invitation_id
    if uuid is not None:
        return uuid, None
    attempt = ctx.records.get(links.attempt_key(invitation)) or {}
    uuid = attempt.get("uuid")
    if uuid is not None:
        return uuid, None
    mode = attempt.get("mode")
    lookup_email = email or invitation.candidate_email or ""
    if mode == "invite":
        if not provider.valid_email(lookup_email):
            return None, None
        found = client.find_report(lookup_email, invitation.assessment_id)  # an unclear POST may have landed
        return (found["uuid"] if found else None), None
    if mode == "reset":
        return _earlier_round_uuid(ctx, invitation), links.since_of(attempt, "at") or _now()
    if not attempt:  # this round has not called Vervoe (the caller holds the lease: nor will it now)
        return _earlier_round_uuid(ctx, invitation), _now()
    return None, None


def _earlier_round_uuid(ctx: Any, invitation: Invitation) -> str | None:
    """The candidate assessment linked to ``invitation`` in an earlier round (``links.invitation_link``:
    the one this round's reset targets), or None when there is none, or when it may be another open
    invitation's too: Vervoe answered "already invited" to another opportunity, which shares it
    (``links.invitations_for``), and rejecting it would close that invitation's assessment. Its own
    round's cancel (the row's uuid) still rejects a shared one, as it always did; a guess about an
    earlier round does not."""
    earlier = links.invitation_link(ctx, invitation.id)
    if earlier is None or int(earlier.get("round") or 0) >= invitation.round:
        return None
    uuid = earlier["uuid"]
    sharing = links.invitations_for(ctx, uuid)
    if invitation.id not in sharing:
        return None
    for other_id in sharing:
        other = ctx.invitations.get(other_id) if other_id != invitation.id else None
        other_link = links.invitation_link(ctx, other_id) if other is not None else None
        if other_link and other_link.get("uuid") == uuid and other.status in OPEN_STATUSES:
            ctx.log.info("invitation %s: its earlier round's %s is shared with open invitation %s; not "
                         "rejected at Vervoe", invitation.id, uuid, other_id)
            return None
    return uuid


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- on_invitation_status


def handle_status(ctx: Any, progress: InvitationProgress) -> None:
    """An invitation of ours was cancelled in the hub by someone else (an admin): close it at Vervoe
    too. The plugin's own cancels (archive) already did, and Vervoe's "rejected" came from Vervoe.

    Under the invitation's lease, the one its sends hold: a re-invite's send resets this same
    candidate assessment at Vervoe, and a reject landing after that reset would close the new round
    (``_close_cancelled`` reads the row again under it). Still busy after ``CANCEL_WAIT_SECONDS``:
    ``Deferred``, and the delivery tries again later without using up an attempt. A send racing this
    cancel closes what it creates itself (``_record_sent``)."""
    if progress.status != CANCELLED or progress.by == ctx.plugin_name:
        return
    invitation = ctx.invitations.get(progress.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name or invitation.status != CANCELLED:
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(links.invitation_lease(ctx, invitation.id, LOCK_TTL, CANCEL_WAIT_SECONDS))
        except Deferred as exc:
            raise Deferred(f"invitation {invitation.id} is busy (being sent or closed at Vervoe); its cancel is "
                           "sent to Vervoe once that is over", retry_after=exc.retry_after) from exc
        _close_cancelled(ctx, VervoeClient(ctx), invitation.id)


def _close_cancelled(ctx: Any, client: VervoeClient, invitation_id: int) -> None:
    """Reject at Vervoe the candidate assessment of the cancelled round: the invitation's current
    round, read again here, if it is still cancelled. Re-invited since (pending, or sent again: a new
    round, whose send resets this same candidate assessment) or completed after all: nothing is
    rejected. Cancelled again in a later round: that round's is rejected, as its own cancel would;
    when that round's reset is unclear, or it never reached Vervoe, that is the earlier round's
    candidate assessment, the one the reset targets (``_vervoe_uuid``). The caller holds the
    invitation's lease: no send of this round can start meanwhile."""
    current = ctx.invitations.get(invitation_id)
    if current is None or current.status != CANCELLED:
        ctx.log.info("invitation %s is %s now; its cancel rejects nothing at Vervoe", invitation_id,
                     current.status if current else "gone")
        return
    uuid, earlier_than = _vervoe_uuid(ctx, client, current)
    if uuid is not None:
        _withdraw(ctx, client, current, uuid, CANCEL_KEPT, earlier_than)


def _withdraw(ctx: Any, client: VervoeClient, invitation: Invitation, uuid: str, then: str,
              earlier_than: datetime | None = None) -> bool:
    """Close the candidate assessment at Vervoe (reject: Vervoe cannot cancel); False when the
    candidate already completed it there, which is then left alone (noted on the timeline, with
    ``then``): rejecting it would throw the result away and come back as a reviewer's "thumbs down"
    the hub caused itself. With ``earlier_than`` (``uuid`` is an earlier round's: ``_vervoe_uuid``),
    a completion before that time is the earlier round's, not this one's: nothing to close, True.

    Vervoe's reject has no condition, so the report is read first; a completion landing between the
    read and the reject is seen in the reject's answer, remembered (``links.mark_rejected_by_hub``:
    the "rejected" report then brings the result without a verdict) and also answered False."""
    try:
        report = client.get_report(uuid)
    except VervoeNotFound:
        ctx.log.warning("invitation %s (%s) is unknown at Vervoe; closed in the hub only", invitation.id, uuid)
        return True
    if _completed(report) and _earlier_rounds(report, earlier_than):
        ctx.log.info("invitation %s (%s) was completed in an earlier round; nothing to close at Vervoe",
                     invitation.id, uuid)
        return True
    if _completed(report):
        ctx.invitations.note(invitation.id, "cancel_skipped", COMPLETED_NOTE + then)
        ctx.log.info("invitation %s (%s) is completed at Vervoe; not rejected there", invitation.id, uuid)
        return False
    if report["kind"] in (wire.KIND_REJECTED, wire.KIND_EXPIRED):
        return True  # already closed at Vervoe
    # marked before the call: Vervoe's "rejected" webhook may be read before the call returns, and
    # for an assessment completed meanwhile it must not pass for a reviewer's thumbs down (the mark
    # only changes how a rejected *and completed* report is read)
    links.mark_rejected_by_hub(ctx, uuid)
    try:
        answer = client.reject(uuid)
    except VervoeNotFound:
        ctx.log.warning("invitation %s (%s) is unknown at Vervoe; closed in the hub only", invitation.id, uuid)
        return True
    except Exception:
        links.forget_rejected_by_hub(ctx, uuid)  # not rejected (yet): a later "rejected" is a reviewer's
        raise
    if _completed(answer):  # completed just before the reject landed
        ctx.invitations.note(invitation.id, "cancel_skipped", COMPLETED_NOTE + " as the hub rejected it (not a "
                             "reviewer's decision: no verdict comes of it)" + then)
        ctx.log.warning("invitation %s (%s) was completed at Vervoe as the hub rejected it", invitation.id, uuid)
        return False
    return True


def _completed(report: dict[str, Any]) -> bool:
    return report["completed_at"] is not None or report["kind"] in (wire.KIND_COMPLETED, wire.KIND_HIRED)


def _earlier_rounds(report: dict[str, Any], earlier_than: datetime | None) -> bool:
    """True when the completion ``report`` shows came before ``earlier_than`` (None: never); one
    without a time counts as before (not rejected either way: it only decides which round it is)."""
    return earlier_than is not None and (report["completed_at"] is None or report["completed_at"] < earlier_than)
