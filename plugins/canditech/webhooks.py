"""Webhook ingress: verify Canditech's signature, parse the event, turn it into a hub event.

Order of checks (each failure is a ``WebhookRejected`` the sender sees, never a 500):

1. signature header (name from settings) present, well formed, timestamp within the tolerance
   both ways, HMAC matching with one of the active secrets -> else 401;
2. body is a JSON object -> else 400 saying why it is not JSON (where the parser stopped, not
   UTF-8, nested too deeply, a NaN/Infinity literal); has ``id``, ``type`` and, for a known type,
   ``data.invitation.id`` -> else 422;
3. an unknown type is answered 2xx and ignored (``WebhookResult(note=...)``);
4. the fields the event uses meet their rules (``wire.VALUE_RULES``: finite scores, 0 <= score <=
   max_score, max_score > 0, an http(s) report URL, timestamps from the year 2000 on) -> else 422
   naming each field and its rule;
5. a thin or suspicious invitation (no external reference, no status, a completion without its
   score...) is re-read from Canditech (Canditech unreachable -> ``TemporaryError`` -> 503, and
   Canditech retries); the answer is held to the same rules (-> 422 naming the field);
6. an invitation the hub did not make, does not know (including a reference whose id is beyond
   any hub invitation id), or of an earlier round is ignored (2xx).

The hub deduplicates by the Canditech event ``id`` and applies the invitation state machine.
"""

from __future__ import annotations

import dataclasses

from datetime import datetime, timezone
from typing import Any

from hub.entities import (
    COMPLETED, EXPIRED, STARTED, VERDICTS, AssessmentResult, InboundEvent, InvitationProgress, Verdict, WebhookRequest,
    WebhookResult, parse_external_reference,
)
from hub.errors import PermanentError, TemporaryError, WebhookRejected

from . import wire
from .client import CanditechClient, CanditechNotFound
from .settings import CanditechSettings

STARTED_OR_LATER = (STARTED, COMPLETED, EXPIRED)
HUB_REFERENCE_PREFIX = "hub-inv-"  # what the hub's external references start with
# Hub invitation ids are 32-bit (the database's INTEGER): a larger one names no invitation.
MAX_INVITATION_ID = 2**31 - 1
MAX_REFERENCE_LENGTH = 100  # "hub-inv-<id>-<token>-r<round>" is far shorter
OUT_OF_RANGE = -1  # reference_id's answer for an id no hub invitation can have
# The sender is waiting for our answer: a slow re-read answers 503 (and Canditech retries) instead.
REREAD_TIMEOUT = 2.0


def verify(ctx: Any, request: WebhookRequest) -> WebhookResult:
    settings = CanditechSettings.from_context(ctx)
    if not settings.webhook_secrets:
        raise WebhookRejected("no webhook secret is configured for this Canditech connection", status=401,
                              code="no_webhook_secret")
    try:
        wire.verify_signature(request.header(settings.signature_header), request.body, settings.webhook_secrets,
                              now=_timestamp(request.received_at), tolerance=settings.signature_tolerance_seconds)
    except wire.SignatureError as exc:
        raise WebhookRejected(f"{settings.signature_header}: {exc}", status=401, code="invalid_signature") from None
    try:
        event = wire.parse_event(request.body)
    except wire.PayloadError as exc:
        if exc.missing:
            raise WebhookRejected(str(exc), status=422, code="missing_fields") from None
        if exc.invalid:
            raise WebhookRejected(str(exc), status=422, code="invalid_fields") from None
        raise WebhookRejected(str(exc), status=400, code="malformed_body") from None

    kind = event["kind"]
    if kind is None:
        return WebhookResult(note=f"ignored event type {event['type']!r}")
    invitation = event["invitation"]
    if needs_reread(kind, invitation):
        try:
            client = CanditechClient(ctx, settings, max_attempts=2, timeout=REREAD_TIMEOUT, max_inline_wait=1.0)
            invitation = client.get_invitation(invitation["id"])
        except CanditechNotFound:
            return WebhookResult(note=f"invitation {invitation['id']} is unknown at Canditech; ignored")
        except PermanentError as exc:
            # e.g. no API key, or it was refused: answer 503 so Canditech keeps the event and retries
            raise TemporaryError(f"cannot re-read invitation {invitation['id']} from Canditech: {exc}") from None

    reference = invitation["external_reference"] or ""
    hub_id = reference_id(reference)
    if hub_id is None:
        return WebhookResult(note=f"invitation {invitation['id']} was not made by the hub; ignored")
    if hub_id == OUT_OF_RANGE:
        return WebhookResult(note=f"the hub has no Canditech invitation {_shorten(reference)} (its id is beyond "
                                  f"any hub invitation id); ignored")
    known = ctx.invitations.get(hub_id)
    if known is None or known.provider != ctx.plugin_name:
        return WebhookResult(note=f"the hub has no Canditech invitation {hub_id}; ignored")
    if reference != known.external_reference:
        return WebhookResult(note=f"event of invitation {_shorten(reference)}, not the hub's current {hub_id} "
                                  f"(an earlier round, or another hub's invitation with the same id); ignored")
    problems = wire.invitation_problems(kind, invitation)  # the body's were checked: these are the re-read's
    if problems:
        raise WebhookRejected(f"Canditech's answer for invitation {invitation['id']}: "
                              + wire.describe_problems(problems), status=422, code="invalid_fields")

    hub_event = to_hub_event(kind, invitation, hub_id, event["created_at"])
    if hub_event is None:
        return WebhookResult(note=f"{event['type']} for invitation {hub_id} does not match Canditech's record; ignored")
    # the round matched above: the hub drops the event if a re-invite lands before it is stored
    hub_event = dataclasses.replace(hub_event, round=known.round)
    return WebhookResult(events=(InboundEvent(external_id=event["id"], event=hub_event),))


def reference_id(reference: str) -> int | None:
    """The hub invitation id in an external reference; None when it is not one the hub makes;
    ``OUT_OF_RANGE`` when its id is beyond ``MAX_INVITATION_ID`` (no invitation has it, and the
    database could not even be asked: its ids are 32-bit)."""
    if reference.startswith(HUB_REFERENCE_PREFIX) and len(reference) > MAX_REFERENCE_LENGTH:
        return OUT_OF_RANGE  # digits beyond any id (and too many for ``int`` to convert)
    try:
        hub_id = parse_external_reference(reference)
    except ValueError:
        return None
    if hub_id is None:
        return None
    return hub_id if hub_id <= MAX_INVITATION_ID else OUT_OF_RANGE


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def needs_reread(kind: str, invitation: dict[str, Any]) -> bool:
    """True when the webhook's invitation is too thin (or inconsistent) to be trusted as is."""
    if not invitation["external_reference"] or not invitation["status"]:
        return True
    if kind == wire.KIND_STARTED:
        return invitation["status"] not in STARTED_OR_LATER
    if kind == wire.KIND_COMPLETED:
        return (invitation["status"] != COMPLETED or invitation["score"] is None
                or not invitation["report_url"] or invitation["completed_at"] is None)
    if kind == wire.KIND_VERDICT:
        return invitation["verdict"] not in VERDICTS or invitation["status"] != COMPLETED
    if kind == wire.KIND_EXPIRED:
        return invitation["status"] != EXPIRED
    return True


def to_hub_event(kind: str, invitation: dict[str, Any], hub_id: int, fallback_at: datetime | None):
    """The hub event ``kind`` means for ``invitation`` (normalised), or None if it does not hold."""
    if kind == wire.KIND_STARTED and invitation["status"] in STARTED_OR_LATER:
        return InvitationProgress(invitation_id=hub_id, status=STARTED,
                                  occurred_at=invitation["started_at"] or fallback_at)
    if kind == wire.KIND_COMPLETED and invitation["status"] == COMPLETED and invitation["score"] is not None:
        return result_event(invitation, hub_id, fallback_at)
    if kind == wire.KIND_VERDICT and invitation["verdict"] in VERDICTS:
        return Verdict(invitation_id=hub_id, verdict=invitation["verdict"],
                       decided_at=invitation["verdict_at"] or fallback_at)
    if kind == wire.KIND_EXPIRED and invitation["status"] == EXPIRED:
        return InvitationProgress(invitation_id=hub_id, status=EXPIRED,
                                  occurred_at=invitation["expired_at"] or fallback_at)
    return None


def result_event(invitation: dict[str, Any], hub_id: int, fallback_at: datetime | None) -> AssessmentResult:
    return AssessmentResult(invitation_id=hub_id, score=invitation["score"], max_score=invitation["max_score"],
                            report_url=invitation["report_url"],
                            completed_at=invitation["completed_at"] or fallback_at)


def _timestamp(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
