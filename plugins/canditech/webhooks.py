"""Webhook ingress: verify Canditech's signature, parse the event, turn it into a hub event.

Order of checks (each failure is a ``WebhookRejected`` the sender sees, never a 500):

1. signature header (name from settings) present, well formed, timestamp within the tolerance
   both ways, HMAC matching with one of the active secrets -> else 401;
2. body is a JSON object -> else 400; has ``id``, ``type`` and, for a known type,
   ``data.invitation.id`` -> else 422;
3. an unknown type is answered 2xx and ignored (``WebhookResult(note=...)``);
4. a thin or suspicious invitation (no external reference, no status, a completion without its
   score...) is re-read from Canditech (Canditech unreachable -> ``TemporaryError`` -> 503, and
   Canditech retries);
5. an invitation the hub did not make, does not know, or of an earlier round is ignored (2xx).

The hub deduplicates by the Canditech event ``id`` and applies the invitation state machine.
"""

from __future__ import annotations

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

    reference = invitation["external_reference"]
    hub_id = parse_external_reference(reference or "")
    if hub_id is None:
        return WebhookResult(note=f"invitation {invitation['id']} was not made by the hub; ignored")
    known = ctx.invitations.get(hub_id)
    if known is None or known.provider != ctx.plugin_name:
        return WebhookResult(note=f"the hub has no Canditech invitation {hub_id}; ignored")
    if reference != known.external_reference:
        return WebhookResult(note=f"event of an earlier round of invitation {hub_id} ({reference}); ignored")

    hub_event = to_hub_event(kind, invitation, hub_id, event["created_at"])
    if hub_event is None:
        return WebhookResult(note=f"{event['type']} for invitation {hub_id} does not match Canditech's record; ignored")
    return WebhookResult(events=(InboundEvent(external_id=event["id"], event=hub_event),))


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
