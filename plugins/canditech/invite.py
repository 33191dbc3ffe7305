"""Inviting, re-inviting and cancelling: the event hooks that act on Canditech.

Exactly once (README.md, Guarantees, 4): the hub's invitation row exists (``get_or_create``, unique
per workspace + opportunity + attachment) before Canditech is called, with the row's
``external_reference``. A pending row (new, or an earlier attempt whose outcome is unknown) is
first looked up at Canditech by that reference, and only created when not found; a 409 carries the
invitation that already exists. A create whose answer was lost is not re-sent in the same run: the
engine's retry, seconds later, starts with the lookup again (``CanditechClient.create_invitation``),
so this holds even if Canditech does not deduplicate by reference. Either way it is the same
invitation, never a second one. A per-invitation lease (``ctx.lock``) keeps two workers from
racing on the same row. The vendor-neutral part of this (re-reading the candidate, the email
check, the lease and the re-check "still pending", recording the answer) is ``hub.kit.provider``;
this module is what Canditech adds.

Round N > 1 (an admin's re-invite): before it is sent, what an earlier round may have left open at
Canditech is withdrawn there (``_withdraw_earlier_rounds``), so the candidate never has a stale
test beside the new one. The hub's cancel of that round may never have got through to Canditech
(Canditech down while its delivery ran, and the re-invite made its retry find the row no longer
cancelled). Canditech unreachable meanwhile leaves the invitation pending and raises a
``TemporaryError``: nothing of the new round is sent, and the retry starts over.

Re-entry (the candidate moves out of the stage and back): an invitation that exists is never sent
again whatever its state; only an admin's re-invite (a new round, so a new reference) or a new
attachment makes a new one. With ``remind_on_reentry`` an invited candidate would get a reminder,
but the assumed Canditech API has no reminder call, so the plugin notes it on the timeline.
"""

from __future__ import annotations

import re
from typing import Any

from hub.entities import (
    CANCELLED, COMPLETED, EXPIRED, FAILED, INVITED, OPEN_STATUSES, PENDING, ArchiveChange, Candidate, Invitation,
    InvitationProgress, ReinviteRequested, StageChange,
)
from hub.kit import provider

from . import reconciliation, wire
from .client import (
    FORBIDDEN_WORDS, CanditechAuthError, CanditechClient, CanditechError, CanditechForbidden, CanditechNotFound,
)
from .settings import CanditechSettings

# how long the invitation's lease outlives a holder outside a delivery that died (in a delivery it
# lives with the run; elsewhere it is renewed while held). A worker that dies holding it delays
# the invitation (a delivery finding it busy waits without using up an attempt), it does not fail it.
LOCK_TTL = 120.0
# not a status: what ``_status_there`` says when Canditech refuses to show the invitation (a 403 while
# the key works), after refusing to cancel it
UNREADABLE = "unreadable"


# --------------------------------------------------------------------------- on_stage_change


def handle_stage_change(ctx: Any, change: StageChange) -> None:
    found = provider.candidate_in_stage(ctx, change)
    if found is None:
        return
    attachments, candidate = found
    settings = CanditechSettings.from_context(ctx)
    provider.for_each(ctx, attachments, lambda attachment: _invite_for(ctx, settings, attachment, candidate))


def _invite_for(ctx: Any, settings: CanditechSettings, attachment: Any, candidate: Candidate) -> None:
    invitation, created = ctx.invitations.get_or_create(attachment, candidate)
    if invitation.status == PENDING:
        send(ctx, settings, invitation, candidate)
        return
    remind = attachment.options.get("remind_on_reentry", settings.remind_on_reentry)
    if invitation.status == INVITED and remind:
        ctx.invitations.note(invitation.id, "reminder_skipped",
                             "candidate re-entered the stage; Canditech's API offers no reminder call")
        ctx.log.info("invitation %s: re-entry while invited; reminder not supported by Canditech's API",
                     invitation.id)
        return
    ctx.log.info("invitation %s is %s; re-entering the stage sends nothing", invitation.id, invitation.status)


# --------------------------------------------------------------------------- on_reinvite_requested


def handle_reinvite(ctx: Any, request: ReinviteRequested) -> None:
    found = provider.pending_reinvite(ctx, request)
    if found is not None:
        invitation, candidate = found
        send(ctx, CanditechSettings.from_context(ctx), invitation, candidate)


# --------------------------------------------------------------------------- the one way to send


def send(ctx: Any, settings: CanditechSettings, invitation: Invitation, candidate: Candidate) -> None:
    """Send a pending invitation to Canditech exactly once, or record why it cannot be sent.

    Canditech refusing it (any 4xx but 401 and a 403 whose key check was refused too, which ask
    for re-authorization, 429, which is retried, and 409, which says it exists: 400/422
    validation, a 404 "unknown assessment", a 403 while the key works, ``CanditechForbidden``) makes
    it ``failed`` with Canditech's message (for an answer that is not Canditech's JSON error, such
    as a web server's HTML page at a wrong base URL, the client's sentence with the status:
    ``refusal_text``), the email scrubbed from it in any letter case: the reason is shown on the
    candidate page and mirrored to the source. Everything else (a 409 whose
    invitation cannot be found included) leaves it ``pending`` and raises, so the delivery is
    retried (or waits for re-authorization). In round N > 1, what earlier rounds left open at
    Canditech is withdrawn first (``_withdraw_earlier_rounds``)."""

    def deliver(current: Invitation, email: str) -> None:
        client = CanditechClient(ctx, settings)
        _withdraw_earlier_rounds(ctx, client, current)  # not a refusal of this round: never FAILED below
        try:
            found = _find_or_create(ctx, client, current, candidate, email)
        except CanditechAuthError:
            raise
        except CanditechError as exc:
            reason = scrub_email(refusal_text(exc, "Canditech refused the invitation: ",
                                              "The invitation was not sent: "), email)
            ctx.invitations.transition(current.id, FAILED, round=current.round, failure_reason=reason[:500])
            return
        _record_sent(ctx, client, current, found)

    provider.send_once(ctx, invitation, candidate, deliver, lock_ttl=LOCK_TTL)


def refusal_text(exc: CanditechError, own: str, other: str) -> str:
    """What an admin reads of a refusal: ``own`` + Canditech's message when it answered with its
    JSON error (for a ``CanditechForbidden``, what it was after it: "... (403 Forbidden, although
    the API key works)"); else ``other`` + the client's sentence, which has the status the words
    alone lose and names Canditech already ("Canditech answered 404 Not Found with an HTML page, not
    its API's JSON: check the API base URL"; a ``CanditechForbidden``'s: "Canditech refused this
    request (403 Forbidden) although the API key works: ...")."""
    if not wire.is_error_envelope(exc.body):
        return other + str(exc)
    if isinstance(exc, CanditechForbidden):
        return f"{own}{exc.vendor_message} ({FORBIDDEN_WORDS}, although the API key works)"
    return own + exc.vendor_message


def scrub_email(message: str, email: str) -> str:
    """``message`` with every occurrence of ``email`` replaced by ``<email>``, in any letter case
    (Canditech may echo the address lower-cased, or as the candidate typed it)."""
    return re.sub(re.escape(email), "<email>", message, flags=re.IGNORECASE) if email else message


def _find_or_create(ctx: Any, client: CanditechClient, current: Invitation, candidate: Candidate,
                    email: str) -> dict:
    """The invitation at Canditech for ``current``'s reference: found, else created."""
    reference = current.external_reference
    found = client.find_invitation(reference)
    if found is not None:
        ctx.log.info("invitation %s already exists at Canditech as %s (%s)", current.id, found["id"], reference)
        return found
    found, created = client.create_invitation(
        assessment_id=current.assessment_id, first_name=candidate.first_name, last_name=candidate.last_name,
        email=email, external_reference=reference, callback_url=ctx.webhook_url)
    if not created:
        ctx.log.info("invitation %s: Canditech already had %s", current.id, reference)
    return found


def _withdraw_earlier_rounds(ctx: Any, client: CanditechClient, current: Invitation) -> None:
    """Withdraw at Canditech each earlier round of ``current`` (round N > 1) still open there, before
    round N is sent; nothing in round 1.

    The hub no longer has their Canditech ids (a re-invite clears them), so each is looked up by the
    reference it had (``provider.earlier_round_references``). One never made at Canditech, or
    completed, expired or cancelled there, is left alone; one still open is cancelled and noted
    ``earlier_round_withdrawn``. Canditech unreachable raises ``CanditechUnavailable`` (a
    ``TemporaryError``): nothing of round N is sent, the delivery is retried and starts over here
    (cancelling again is a no-op). A refusal to cancel one that is still open afterwards, or whose
    state Canditech refuses to show (a 403 while the key works), is noted ``cancel_failed`` and
    raised (a ``PermanentError``): round N is not sent while the candidate could still take the
    earlier test. So is a lookup Canditech refuses (unnoted: the delivery's error says it)."""
    for earlier, reference in enumerate(provider.earlier_round_references(current), start=1):
        found = client.find_invitation(reference)
        if found is None or found["status"] in (COMPLETED, EXPIRED, CANCELLED):
            continue
        ctx.log.info("invitation %s: round %s is still %s at Canditech as %s; withdrawing it before round %s "
                     "is sent", current.id, earlier, found["raw_status"], found["id"], current.round)
        if _cancel_earlier_round(ctx, client, current, earlier, found["id"]):
            ctx.invitations.note(current.id, "earlier_round_withdrawn",
                                 f"round {earlier}'s invitation, still open at Canditech, withdrawn there before "
                                 f"round {current.round} was sent")


def _cancel_earlier_round(ctx: Any, client: CanditechClient, current: Invitation, earlier: int,
                          provider_id: str) -> bool:
    """Cancel round ``earlier``'s ``provider_id`` at Canditech: True when cancelled, False when it
    finished or went away meanwhile (a refusal settled by re-reading it, as ``_withdraw`` does)."""
    try:
        client.cancel_invitation(provider_id)
        return True
    except CanditechAuthError:
        raise
    except CanditechError as refusal:
        try:
            status = _status_there(client, provider_id)
        except CanditechNotFound:
            return False
        if status in (COMPLETED, EXPIRED, CANCELLED):
            return False
        if status == UNREADABLE:
            why = refusal_text(refusal, f"Canditech refused to withdraw round {earlier}'s invitation, and to show "
                                        "its state: ",
                               f"Round {earlier}'s invitation was not withdrawn at Canditech, which did not show its "
                               "state either: ")
        else:
            state = f"still {status}" if status else "in a state the hub does not know"
            why = refusal_text(refusal, f"Canditech refused to withdraw round {earlier}'s invitation, which is "
                                        f"{state} there: ",
                               f"Round {earlier}'s invitation was not withdrawn at Canditech, where it is {state}: ")
        ctx.invitations.note(current.id, "cancel_failed", f"{why}. Round {current.round} is not sent while it is "
                                                          "open: cancel it in Canditech, then replay the delivery.")
        raise refusal


def _record_sent(ctx: Any, client: CanditechClient, current: Invitation, found: dict) -> None:
    moved_on = provider.record_sent(ctx, current.id, found["id"], found["invite_url"], round=current.round)
    if moved_on is None:
        return
    if moved_on.round != current.round:
        # an admin cancelled and re-invited while this round was at Canditech: the cancel may have
        # found nothing there yet, and the next round sends its own invitation (its own reference),
        # so this one is withdrawn, never the next round's (a different Canditech id)
        if moved_on.provider_invitation_id != found["id"]:
            ctx.log.info("invitation %s: round %s reached Canditech as %s after the re-invite (round %s); "
                         "withdrawing it there", current.id, current.round, found["id"], moved_on.round)
            _withdraw(ctx, client, moved_on, found["id"])
        return
    if moved_on.status == CANCELLED:
        _withdraw(ctx, client, moved_on, found["id"])  # an admin cancelled it while we were sending


# --------------------------------------------------------------------------- on_archive_change


def handle_archive(ctx: Any, change: ArchiveChange) -> None:
    found = provider.archived_open_invitations(ctx, change)
    if found is None:
        return
    open_invitations, _candidate = found
    settings = CanditechSettings.from_context(ctx)
    client = CanditechClient(ctx, settings)
    provider.for_each(ctx, open_invitations, lambda invitation: _cancel(ctx, client, invitation))


def _cancel(ctx: Any, client: CanditechClient, invitation: Invitation) -> None:
    with ctx.lock(provider.invitation_lock(invitation.id), ttl=LOCK_TTL):
        current = ctx.invitations.get(invitation.id)
        if current is None or current.status not in OPEN_STATUSES:
            return
        provider_id = current.provider_invitation_id
        if provider_id is None:  # pending: an earlier attempt may have reached Canditech
            found = client.find_invitation(current.external_reference)
            provider_id = found["id"] if found else None
        if provider_id is not None and not _withdraw(ctx, client, current, provider_id):
            return  # already finished at Canditech: its result or expiry will follow
        ctx.invitations.transition(current.id, CANCELLED, round=current.round, provider_invitation_id=provider_id)


# --------------------------------------------------------------------------- on_invitation_status


def handle_status(ctx: Any, progress: InvitationProgress) -> None:
    """An invitation of ours was cancelled in the hub (an admin, or this plugin itself): make sure
    it is withdrawn at Canditech too. Cancelling twice is a no-op at Canditech, so no lease is
    taken here (this may run inside the transition that cancelled it)."""
    if progress.status != CANCELLED:
        return
    invitation = ctx.invitations.get(progress.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name or invitation.status != CANCELLED:
        return
    client = CanditechClient(ctx)
    provider_id = invitation.provider_invitation_id
    if provider_id is None:  # cancelled while pending: an earlier attempt may have reached Canditech
        found = client.find_invitation(invitation.external_reference)
        provider_id = found["id"] if found else None
    if provider_id is not None and not _withdraw(ctx, client, invitation, provider_id):
        # finished at Canditech before the cancel reached it: a completion is kept (the hub moves
        # cancelled -> completed), from its webhook or, if that was lost, from reconciliation
        reconciliation.watch_for_result(ctx, invitation, provider_id)


def _withdraw(ctx: Any, client: CanditechClient, invitation: Invitation, provider_id: str) -> bool:
    """Cancel at Canditech; True when it is cancelled there (or unknown there), False when it is
    already finished there (completed, expired: noted ``cancel_skipped`` on the timeline).

    Which 4xx Canditech uses to refuse a cancel is not known (the sandbox's 409 is a guess), so any
    refusal but the key's (``CanditechAuthError``) is settled by re-reading the invitation and
    deciding from its status; a 403 while the key works (``CanditechForbidden``) too. One still
    open after a refusal, or that Canditech refuses to show as well (a ``CanditechForbidden`` to the
    re-read), raises the refusal (a ``PermanentError``: the delivery is dead and shown to an admin),
    noted ``cancel_failed`` on the timeline."""
    try:
        client.cancel_invitation(provider_id)
        return True
    except CanditechAuthError:
        raise
    except CanditechError as refusal:
        return _settle_refused_cancel(ctx, client, invitation, provider_id, refusal)


def _settle_refused_cancel(ctx: Any, client: CanditechClient, invitation: Invitation, provider_id: str,
                           refusal: CanditechError) -> bool:
    """``_withdraw``'s answer after Canditech refused the cancel, from the invitation's status there."""
    try:
        status = _status_there(client, provider_id)
    except CanditechNotFound:
        ctx.log.warning("invitation %s (%s) is unknown at Canditech", invitation.id, provider_id)
        return True
    if status == CANCELLED:
        return True
    if status in (COMPLETED, EXPIRED):
        ctx.invitations.note(invitation.id, "cancel_skipped", f"not cancelled at Canditech: it is already "
                             f"{status} there ({refusal_text(refusal, '', '')})")
        ctx.log.info("invitation %s cannot be cancelled at Canditech: it is %s", invitation.id, status)
        return False
    if status == UNREADABLE:
        why = refusal_text(refusal, "Canditech refused to cancel the invitation, and to show its state: ",
                           "The invitation was not cancelled at Canditech, which did not show its state either: ")
    else:
        state = f"still {status}" if status else "in a state the hub does not know"
        why = refusal_text(refusal, f"Canditech refused to cancel the invitation, which is {state} there: ",
                           f"The invitation was not cancelled at Canditech, where it is {state}: ")
    ctx.invitations.note(invitation.id, "cancel_failed", f"{why}. Cancel it in Canditech, or replay the delivery.")
    raise refusal


def _status_there(client: CanditechClient, provider_id: str) -> str | None:
    """The invitation's status at Canditech, re-read after a refused cancel: a hub status, None for
    one the hub does not know, ``UNREADABLE`` when Canditech refuses to show it
    (``CanditechForbidden``: the state stays unknown, so the cancel is not taken as done). Raises
    ``CanditechNotFound``, and whatever else the read raises."""
    try:
        return client.get_invitation(provider_id)["status"]
    except CanditechForbidden:
        return UNREADABLE
