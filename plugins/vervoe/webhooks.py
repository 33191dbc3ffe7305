"""Webhook ingress: verify Vervoe's report webhook and turn it into hub events (see ``events``).

Order of checks (each failure is a ``WebhookRejected`` the sender sees, never a 500):

1. ``Vervoe-Signature: t=<unix>,hash=<hex>`` present and well formed, ``t`` within
   ``signature_tolerance_seconds`` of the arrival time (both ways), and the HMAC-SHA256 of
   ``"<t>.<raw body>"`` matching with one of the configured webhook secrets (constant-time) -> else
   401 (no secret configured: 401 too);
2. the body is a JSON object -> else 400 saying why it is not JSON (where the parser stopped, not
   UTF-8, nested too deeply, a NaN/Infinity literal); it has ``candidateAssessmentUuid`` -> else
   422 "missing"; a non-empty string -> else 422 "must be a string"; ``status``, when present and
   not null, a string -> else 422 "status must be a string, not a number"; its report links are
   ``http``/``https`` URLs and its ``startedAt``/``completedAt`` timestamps from the year 2000 on
   (``wire.REPORT_RULES``) -> else 422 naming each field and its rule (a score that is not a number
   from 0 to 100, NaN and Infinity included, is no score: Vervoe sends the report again when graded);
3. a candidate assessment the hub has not linked (no ``uuid:`` record): while the hub is sending an
   invitation that could have created it (a ``sending:`` marker of a send not over yet,
   ``links.sends_in_flight``: Vervoe may report on what it created before the hub has recorded
   Vervoe's answer, or when that answer was lost) -> ``TemporaryError`` -> 503, and Vervoe sends
   the report again, by when the link is there. "Could have created it": the same candidate email
   (case-insensitive) and assessment slug, read from the body or else from Vervoe
   (``GET /integration/user-assessments/{uuid}``; unknown there -> ignored; unreachable -> 503).
   Vervoe's report has no better key (no candidate id, no reference of the hub's; its uuid is what
   the send is waiting to learn), so a candidate whose email at Vervoe differs from the hub
   invitation's is not recognised (README.md, "Unknown candidate assessments"). Otherwise the hub
   did not send it: answered 200 and ignored;
4. the body is re-read from Vervoe (``GET /integration/user-assessments/{uuid}``) when it is thin
   (no usable status), for a decision (hired / rejected) and for an expiry, so a delayed retry of
   something that changed since at Vervoe (un-hired, reset) is not taken for the current state:
   the re-read report is what is mapped (held to the same rules: -> else 422). Vervoe unreachable
   -> ``TemporaryError`` -> 503, and Vervoe sends the report again.

5. each linked invitation (read with its link BEFORE the re-read) gets the events of the report's
   round only (``events.is_earlier_round``, with ``links.report_round``: a re-invite not linked yet
   hears nothing of the earlier round's state); an invitation re-invited or re-linked while the
   report was being read -> ``TemporaryError`` -> 503, and the report is read again later;
6. an invitation of the report's round still ``pending`` without Vervoe's uuid (its send's answer
   was lost, and this report moves it on before the send's retry) keeps the uuid, and the login
   link read once (``learn_provider_id``; the uuid alone when that read fails).

The hub deduplicates by the deterministic external ids of ``events`` and applies the invitation
state machine.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hub.entities import PENDING, WebhookRequest, WebhookResult
from hub.errors import Deferred, NeedsReauthorization, TemporaryError, WebhookRejected

from . import links, wire
from .client import VervoeClient, VervoeError, VervoeNotFound
from .events import events_for
from .settings import VervoeSettings

# a decision can be changed back at Vervoe, and an expiry's body has no time of its own (a late retry
# of an earlier round's expiry must not expire a reset candidate assessment): confirm them first
REREAD_KINDS = (wire.KIND_HIRED, wire.KIND_REJECTED, wire.KIND_EXPIRED)



# a re-read inside Vervoe's webhook request makes one short try (503 otherwise: Vervoe sends the
# report again): at most REREAD_LIMITER_WAIT seconds for the connection's rate budget (a worker
# waits up to 60 s; a burst of reports would hold every request thread), REREAD_TIMEOUT for Vervoe.
# A token fetched first (none cached) has the same budget (``VervoeClient.token_budget``): one try
# of the token endpoint, REREAD_TIMEOUT, REREAD_LIMITER_WAIT for the rate budget and for another
# worker's refresh (a worker waits up to 30 s for it, and tries the token endpoint three times)
REREAD_TIMEOUT = 2.0
REREAD_LIMITER_WAIT = 0.5


def _rereading_client(ctx, settings) -> VervoeClient:
    return VervoeClient(ctx, settings, max_attempts=1, max_inline_wait=0.0, timeout=REREAD_TIMEOUT,
                        limiter_wait=REREAD_LIMITER_WAIT)

def verify(ctx: Any, request: WebhookRequest) -> WebhookResult:
    settings = VervoeSettings.from_context(ctx)
    if not settings.webhook_secrets:
        raise WebhookRejected("no webhook secret is configured for this Vervoe connection", status=401,
                              code="no_webhook_secret")
    try:
        signed_at = wire.verify_signature(request.header(wire.SIGNATURE_HEADER), request.body,
                                          settings.webhook_secrets, now=_timestamp(request.received_at),
                                          tolerance=settings.signature_tolerance_seconds)
    except wire.SignatureError as exc:
        raise WebhookRejected(f"{wire.SIGNATURE_HEADER}: {exc}", status=401, code="invalid_signature") from None
    try:
        body = wire.parse_json(request.body)
    except wire.BodyError as exc:
        raise WebhookRejected(str(exc), status=400, code="malformed_body") from None
    if not isinstance(body, dict):
        raise WebhookRejected("the body is not a JSON object", status=400, code="malformed_body")
    raw_uuid = body.get("candidateAssessmentUuid")
    if raw_uuid is None:
        raise WebhookRejected("candidateAssessmentUuid is missing", status=422, code="missing_fields")
    if not isinstance(raw_uuid, str) or not raw_uuid.strip():
        raise WebhookRejected(f"candidateAssessmentUuid must be a non-empty string, not {_json_type(raw_uuid)}",
                              status=422, code="invalid_fields")
    raw_status = body.get("status")
    if raw_status is not None and not isinstance(raw_status, str):
        # not a report without a status (re-read): Vervoe's report API documents a string
        raise WebhookRejected(f"status must be a string, not {_json_type(raw_status)}", status=422,
                              code="invalid_fields")
    report = wire.parse_report(body)
    uuid = report["uuid"]
    if uuid is None:  # the string "null"
        raise WebhookRejected("candidateAssessmentUuid is missing", status=422, code="missing_fields")
    if report["problems"]:
        raise WebhookRejected(wire.describe_problems(report["problems"]), status=422, code="invalid_fields")

    hub_ids = links.invitations_for(ctx, uuid)
    if not hub_ids:
        _refuse_while_it_may_be_being_sent(ctx, settings, uuid, report)
        # read again: a send writes its link before it takes its "in flight" marker away, so one
        # that ended while the markers were read has left its link by now
        hub_ids = links.invitations_for(ctx, uuid)
    if not hub_ids:
        return WebhookResult(note=f"candidate assessment {uuid} was not sent by the hub; ignored")
    # what the report is mapped against is read BEFORE Vervoe is asked again: see ``_round_moved``
    targets, notes = _targets(ctx, uuid, hub_ids)
    if not targets:
        return WebhookResult(note="; ".join(notes))
    if needs_reread(report):
        try:
            report = _rereading_client(ctx, settings).get_report(uuid)
        except VervoeNotFound:
            return WebhookResult(note=f"candidate assessment {uuid} is unknown at Vervoe; ignored")
        except (VervoeError, NeedsReauthorization) as exc:
            # answer 503 so Vervoe keeps the report and sends it again
            raise TemporaryError(f"cannot re-read candidate assessment {uuid} from Vervoe: {exc}") from None
        if report["problems"]:
            raise WebhookRejected(f"Vervoe's report of candidate assessment {uuid}: "
                                  + wire.describe_problems(report["problems"]), status=422, code="invalid_fields")

    at = datetime.fromtimestamp(signed_at, timezone.utc)
    found, current_round = [], []
    for invitation, link in targets:
        linked, since = links.report_round(ctx, invitation, link)
        hub_rejected = report["kind"] == wire.KIND_REJECTED and links.rejected_by_hub(ctx, uuid, link)
        events, note = events_for(report, invitation, at=at, verdict_tag=str(signed_at), since=since,
                                  linked=linked, rejected_by_hub=hub_rejected)
        found.extend(events)
        if events:
            current_round.append(invitation)
        if note:
            notes.append(note)
    moved = [invitation.id for invitation, link in targets if _round_moved(ctx, invitation, link)]
    if moved:
        raise TemporaryError(f"invitation {moved[0]} was re-invited while Vervoe's report of candidate "
                             f"assessment {uuid} was being read; send the report again")
    for invitation in current_round:
        # only a row still pending can be filled (``learn_provider_id``): for any other the login
        # link's read would be thrown away, at a request thread's and the rate budget's cost
        if invitation.provider_invitation_id is None and invitation.status == PENDING:
            learn_provider_id(ctx, settings, invitation, uuid)
    return WebhookResult(events=tuple(found), note="; ".join(notes))


def learn_provider_id(ctx: Any, settings: VervoeSettings, invitation: Any, uuid: str) -> None:
    """Keep ``uuid`` (and its login link) as the Vervoe id of ``invitation``, which has none yet
    although this report is of its current round.

    That happens when the send's outcome was lost after the uuid was linked (a re-invite's reset
    answered 5xx after it landed, or a retry linked what its lookup found and then failed reading
    the login link) and this report (the candidate opened the test) moves the row on before the
    send's retry: the retry then finds the row no longer pending and, rightly, sends nothing, so it
    never records the uuid. Without it the invitation is never reconciled
    (``ctx.invitations.list_open`` lists only invitations with one): a lost completion report would
    never reach the ATS. The login link is read once (the report does not carry it); Vervoe failing
    that, the uuid is kept alone. Only a row still pending is filled, and only where empty, so a
    send recording it meanwhile wins."""
    try:
        url = _rereading_client(ctx, settings).candidate_url(uuid)
    except (VervoeError, NeedsReauthorization, TemporaryError, Deferred) as exc:
        # Deferred: another worker's token refresh holds the token lock; the report is not refused for it
        ctx.log.warning("invitation %s: Vervoe's login link of %s could not be read: %s", invitation.id, uuid, exc)
        url = None
    current = ctx.invitations.get(invitation.id)
    if current is None or current.round != invitation.round or current.provider_invitation_id is not None \
            or current.status != PENDING:
        return
    # to pending, which the state machine never moves a row back to: it fills what is still empty on
    # a row still pending, and leaves alone one an admin cancelled or re-invited since this read
    # (round: nor one cancelled and re-invited, pending again in the next round, since that read)
    ctx.invitations.transition(current.id, PENDING, round=invitation.round, provider_invitation_id=uuid,
                               invite_url=url)


def _targets(ctx: Any, uuid: str, hub_ids: list[int]) -> tuple[list[tuple[Any, dict[str, Any]]], list[str]]:
    """The hub invitations ``uuid`` is the candidate assessment of, each with its link
    (``links.invitation_link``), and notes about those it no longer is."""
    targets, notes = [], []
    for hub_id in hub_ids:
        invitation = ctx.invitations.get(hub_id)
        if invitation is None or invitation.provider != ctx.plugin_name:
            notes.append(f"the hub has no Vervoe invitation {hub_id}")
            continue
        link = links.invitation_link(ctx, hub_id)
        if link is None or link.get("uuid") != uuid:
            notes.append(f"{uuid} is no longer the candidate assessment of invitation {hub_id}")
            continue
        targets.append((invitation, link))
    return targets, notes


def _round_moved(ctx: Any, invitation: Any, link: dict[str, Any]) -> bool:
    """True when ``invitation`` has moved to another round, or had its link rewritten, since it and
    ``link`` were read. Vervoe's answer to the re-read came in between: read before a re-invite's
    reset landed, it is the earlier round's state, while the round (and link) read after it would
    be the new one's, and the earlier round's reject would cancel the new round. Such a report is
    refused (503): Vervoe sends it again, and it is read afresh against the round as it is then."""
    current = ctx.invitations.get(invitation.id)
    return (current is None or current.round != invitation.round
            or links.invitation_link(ctx, invitation.id) != link)


def _refuse_while_it_may_be_being_sent(ctx: Any, settings: VervoeSettings, uuid: str,
                                       report: dict[str, Any]) -> None:
    """Raise ``TemporaryError`` (503: Vervoe sends the report again) when ``uuid`` may be what one of
    the hub's sends in flight has just created at Vervoe, not linked yet; return when it cannot be."""
    sending = links.sends_in_flight(ctx, settings.sending_window_seconds)
    if not sending:
        return
    email, slug = report["email"], report["slug"]
    if email is None or slug is None:  # Vervoe's report webhook carries neither: its report API does
        try:
            full = _rereading_client(ctx, settings).get_report(uuid)
        except VervoeNotFound:
            return
        except (VervoeError, NeedsReauthorization) as exc:
            raise TemporaryError(f"candidate assessment {uuid} is not linked to an invitation, and the hub "
                                 f"is sending one: cannot read it from Vervoe to tell: {exc}") from None
        email, slug = email or full["email"], slug or full["slug"]
    wanted = (email or "").strip().lower()
    for invitation in sending:
        if (slug is None or invitation.assessment_id == slug) and \
                (email is None or (invitation.candidate_email or "").strip().lower() == wanted):
            raise TemporaryError(f"candidate assessment {uuid} may be what the hub is sending for invitation "
                                 f"{invitation.id}, not recorded yet: send the report again")


def needs_reread(report: dict[str, Any]) -> bool:
    """True when the body is too thin to use, or carries a decision to confirm."""
    return report["raw_status"] is None or report["kind"] in REREAD_KINDS


def _json_type(value: Any) -> str:
    """The JSON type of ``value``, in words (for messages: never a Python class name)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _timestamp(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
