"""Webhook ingress: verify Vervoe's report webhook and turn it into hub events (see ``events``).

Order of checks (each failure is a ``WebhookRejected`` the sender sees, never a 500):

1. ``Vervoe-Signature: t=<unix>,hash=<hex>`` present and well formed, ``t`` within
   ``signature_tolerance_seconds`` of the arrival time (both ways), and the HMAC-SHA256 of
   ``"<t>.<raw body>"`` matching with one of the configured webhook secrets (constant-time) -> else
   401 (no secret configured: 401 too);
2. the body is a JSON object -> else 400; it has ``candidateAssessmentUuid`` -> else 422;
3. a candidate assessment the hub did not send (no ``uuid:`` record) is answered 200 and ignored;
4. the body is re-read from Vervoe (``GET /integration/user-assessments/{uuid}``) when it is thin
   (no usable status), for a decision (hired / rejected) and for an expiry, so a delayed retry of
   something that changed since at Vervoe (un-hired, reset) is not taken for the current state:
   the re-read report is what is mapped. Vervoe unreachable ->
   ``TemporaryError`` -> 503, and Vervoe sends the report again.

The hub deduplicates by the deterministic external ids of ``events`` and applies the invitation
state machine.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from hub.entities import WebhookRequest, WebhookResult
from hub.errors import NeedsReauthorization, TemporaryError, WebhookRejected

from . import links, wire
from .client import VervoeClient, VervoeError, VervoeNotFound
from .events import events_for
from .settings import VervoeSettings

# a decision can be changed back at Vervoe, and an expiry's body has no time of its own (a late retry
# of an earlier round's expiry must not expire a reset candidate assessment): confirm them first
REREAD_KINDS = (wire.KIND_HIRED, wire.KIND_REJECTED, wire.KIND_EXPIRED)


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
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("the body is not JSON", status=400, code="malformed_body") from None
    if not isinstance(body, dict):
        raise WebhookRejected("the body is not a JSON object", status=400, code="malformed_body")
    report = wire.parse_report(body)
    uuid = report["uuid"]
    if uuid is None:
        raise WebhookRejected("candidateAssessmentUuid is missing", status=422, code="missing_fields")

    hub_ids = links.invitations_for(ctx, uuid)
    if not hub_ids:
        return WebhookResult(note=f"candidate assessment {uuid} was not sent by the hub; ignored")
    if needs_reread(report):
        try:
            report = VervoeClient(ctx, settings, max_attempts=2).get_report(uuid)
        except VervoeNotFound:
            return WebhookResult(note=f"candidate assessment {uuid} is unknown at Vervoe; ignored")
        except (VervoeError, NeedsReauthorization) as exc:
            # answer 503 so Vervoe keeps the report and sends it again
            raise TemporaryError(f"cannot re-read candidate assessment {uuid} from Vervoe: {exc}") from None

    at = datetime.fromtimestamp(signed_at, timezone.utc)
    found, notes = [], []
    for hub_id in hub_ids:
        invitation = ctx.invitations.get(hub_id)
        if invitation is None or invitation.provider != ctx.plugin_name:
            notes.append(f"the hub has no Vervoe invitation {hub_id}")
            continue
        link = links.invitation_link(ctx, hub_id)
        if link is None or link.get("uuid") != uuid:
            notes.append(f"{uuid} is no longer the candidate assessment of invitation {hub_id}")
            continue
        events, note = events_for(report, invitation, at=at, verdict_tag=str(signed_at), since=links.since_of(link))
        found.extend(events)
        if note:
            notes.append(note)
    return WebhookResult(events=tuple(found), note="; ".join(notes))


def needs_reread(report: dict[str, Any]) -> bool:
    """True when the body is too thin to use, or carries a decision to confirm."""
    return report["raw_status"] is None or report["kind"] in REREAD_KINDS


def _timestamp(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
