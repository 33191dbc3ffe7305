"""Verifying and parsing Lever's webhooks (lever.md §1.2-§1.6).

Lever signs ``token + triggeredAt`` (not the body) with HMAC-SHA256 keyed by the webhook's
signature token, hex. Every active token is tried: those of webhooks the hub registered through
the API (one per webhook) and those an admin pasted (manual mode). The timestamp must be at most
``max_webhook_age_hours`` old (Lever retries for an undocumented while, possibly with the same
token and timestamp) and at most ``max_clock_skew_minutes`` in the future. Replays inside the
window are duplicates for the hub: each event carries Lever's ``id`` (when present) as its
external id and the delivery ``token`` as an alias (without an ``id``, the token is the external
id), all remembered by the hub's deduplication.
A signed request without an event (a ping, an event the hub does not use, a body refused for its
content) leaves its token with the hub too (``seen_ids``): the body is not signed, so its token
must not come back with another one.

The body's ``data`` is not signed and carries ids only; nothing acts on it without re-reading the
opportunity from Lever (``source_get_candidate``).

Without an ``id`` a retry that Lever signed afresh (a new ``token``; undocumented, lever.md §1.6)
would be a new event, so such an event is also known by what the signed part of it pins down: its
kind, opportunity and ``triggeredAt`` (``retry_key``, stored as a short hash). An event with an
``id`` needs no such key: a retry keeps its id.

``applicationCreated`` names no stage: it becomes a ``StageChange`` with an empty ``to_stage_id``
("entered its current stage"), and the assessment providers find the stage when they re-read the
candidate in the worker (``hub.kit.provider.candidate_in_stage``). Nothing here calls Lever: the
webhook's answer never waits for Lever or for the connection's rate budget. If Lever also announces
the creation as a ``candidateStageChange`` from no stage, both are handed on and the invitation,
unique per opportunity and attachment, is sent once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from hub.entities import (
    ArchiveChange,
    CandidateDeleted,
    CandidateHired,
    HubEvent,
    InboundEvent,
    StageChange,
    WebhookRequest,
    WebhookResult,
)
from hub.errors import WebhookRejected

from .settings import LeverSettings, active_signature_tokens

MAX_BODY_BYTES = 256 * 1024  # Lever's bodies carry ids only (well under 1 KiB)
MAX_TOKEN_LENGTH = 256
MAX_ID_LENGTH = 200
SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")

APPLICATION_CREATED = "applicationCreated"
STAGE_CHANGE = "candidateStageChange"
ARCHIVE_CHANGE = "candidateArchiveChange"
DELETED = "candidateDeleted"
HIRED = "candidateHired"
HANDLED_EVENTS = (APPLICATION_CREATED, STAGE_CHANGE, ARCHIVE_CHANGE, DELETED, HIRED)

NO_TOKEN_MESSAGE = "no signature token configured: register webhooks or paste the token"
NO_SIGNATURE_MESSAGE = ("The request carries no signature: Lever signs a webhook only once a signing token has "
                        "been generated for it. Generate one in Lever (Settings > Integrations and API > "
                        "Webhooks) and paste it into the hub's settings (signature_tokens), or let the hub "
                        "register its webhooks through Lever's API.")


def signature(signature_token: str, token: str, triggered_at: int) -> str:
    """Lever's signature: hex HMAC-SHA256 of ``token + triggeredAt``, keyed by the signature token."""
    return hmac.new(signature_token.encode("utf-8"), f"{token}{triggered_at}".encode("utf-8"),
                    hashlib.sha256).hexdigest()


def _reject(message: str, status: int) -> WebhookRejected:
    return WebhookRejected(message, status=status)


def _parse(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise _reject(f"body too large ({len(body)} bytes; a Lever webhook is under {MAX_BODY_BYTES})", 413)
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _reject("body is not valid JSON", 400) from None
    if not isinstance(parsed, dict):
        raise _reject("body must be a JSON object", 400)
    return parsed


def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if name not in body or body[name] is None:
        raise _reject(f"missing field {name!r}", 422)
    value = body[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _reject(f"field {name!r} must be {what}", 422)
    return value


def _check_envelope(body: Mapping[str, Any]) -> tuple[str, int, str, str, dict]:
    if "signature" not in body:  # Lever sends none while the webhook has no signing token (lever.md §1.4)
        raise _reject(NO_SIGNATURE_MESSAGE, 401)
    token = _field(body, "token", str, "a string")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _reject(f"field 'token' must be a non-empty string of at most {MAX_TOKEN_LENGTH} characters", 422)
    triggered_at = _field(body, "triggeredAt", int, "an integer (milliseconds since the epoch)")
    sig = _field(body, "signature", str, "a string")
    if not SIGNATURE_RE.match(sig):
        raise _reject("field 'signature' must be 64 hexadecimal characters", 422)
    event = _field(body, "event", str, "a string")
    if not event:
        raise _reject("field 'event' must not be empty", 422)
    data = _field(body, "data", dict, "an object")
    return token, triggered_at, sig.lower(), event, data


def _signed_by_any(tokens: list[str], token: str, triggered_at: int, sig: str) -> bool:
    matched = False
    for candidate in tokens:  # no early exit: every token costs the same
        matched |= hmac.compare_digest(signature(candidate, token, triggered_at), sig)
    return matched


def _check_time(triggered_at: int, received_at: datetime, settings: LeverSettings) -> datetime:
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=timezone.utc)
    now_ms = int(received_at.timestamp() * 1000)
    age_ms = now_ms - triggered_at
    if age_ms > settings.max_webhook_age_hours * 3_600_000:
        raise _reject(f"stale webhook: triggeredAt is more than {settings.max_webhook_age_hours} hours old", 401)
    if -age_ms > settings.max_clock_skew_minutes * 60_000:
        raise _reject(f"webhook from the future: triggeredAt is more than {settings.max_clock_skew_minutes} "
                      "minutes ahead of the hub's clock", 401)
    try:
        return datetime.fromtimestamp(triggered_at / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _reject("field 'triggeredAt' is not a usable timestamp", 422) from None


def _opportunity_id(data: Mapping[str, Any]) -> str | None:
    """``data.opportunityId`` (``candidateId`` is its deprecated alias, lever.md §1.3)."""
    for key in ("opportunityId", "candidateId"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise _reject(f"field 'data.{key}' must be a non-empty string", 422)
        return value
    return None


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise _reject(f"field 'data.{key}' must be a string", 422)
    return value or None


def _archived(data: Mapping[str, Any]) -> bool:
    """Only an explicit ``"toArchived": null`` means unarchived; the field list is reconstructed
    (lever.md §1.3), so a body without the key counts as archived, and the providers re-read the
    candidate before closing anything (``hub.kit.provider.archived_open_invitations``)."""
    return not ("toArchived" in data and data["toArchived"] is None)


def _event(event: str, opportunity_id: str, data: Mapping[str, Any], occurred_at: datetime) -> HubEvent:
    if event == APPLICATION_CREATED:  # names no stage: "the stage it is in", found by the providers' re-read
        return StageChange(opportunity_id=opportunity_id, to_stage_id="", occurred_at=occurred_at)
    if event == STAGE_CHANGE:
        to_stage = _optional_str(data, "toStageId")
        if not to_stage:
            raise _reject("field 'data.toStageId' is missing", 422)
        return StageChange(opportunity_id=opportunity_id, to_stage_id=to_stage,
                           from_stage_id=_optional_str(data, "fromStageId"), occurred_at=occurred_at)
    if event == ARCHIVE_CHANGE:
        to_archived = data.get("toArchived")
        reason = None
        if isinstance(to_archived, Mapping) and isinstance(to_archived.get("reason"), str):
            reason = to_archived["reason"] or None
        return ArchiveChange(opportunity_id=opportunity_id, archived=_archived(data), reason=reason,
                             occurred_at=occurred_at)
    if event == DELETED:
        return CandidateDeleted(opportunity_id=opportunity_id, occurred_at=occurred_at)
    return CandidateHired(opportunity_id=opportunity_id, occurred_at=occurred_at)


RETRY_KEY_PREFIX = "lever:retry:"


def retry_key(event: str, hub_event: HubEvent, triggered_at: int) -> str:
    """The event as the signed ``triggeredAt`` pins it down, whatever token a retry carries: its
    kind, opportunity, time and (for a stage or archive change) where it went; two real events of
    one opportunity never share all of these. Hashed (``lever:retry:`` and 32 hex digits), so the
    key costs the hub's dedupe index little."""
    if isinstance(hub_event, StageChange):
        where = f"{hub_event.from_stage_id or ''}>{hub_event.to_stage_id}"
    elif isinstance(hub_event, ArchiveChange):
        where = "archived" if hub_event.archived else "unarchived"
    else:
        where = ""
    content = f"{event}\n{hub_event.opportunity_id}\n{triggered_at}\n{where}"
    return RETRY_KEY_PREFIX + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def _alias_ids(event_id: str | None, event: str, hub_event: HubEvent, token: str,
               triggered_at: int) -> tuple[str, ...]:
    """The event's other ids: with an ``id``, the delivery ``token``; without one (the token is
    then the external id), the ``retry_key``."""
    if event_id:
        return (token,)
    return (retry_key(event, hub_event, triggered_at),)


def verify(ctx, request: WebhookRequest, settings: LeverSettings) -> WebhookResult:
    body = _parse(request.body)
    token, triggered_at, sig, event, data = _check_envelope(body)
    tokens = active_signature_tokens(ctx.secrets)
    if not tokens:
        raise _reject(NO_TOKEN_MESSAGE, 401)
    if not _signed_by_any(tokens, token, triggered_at, sig):
        raise _reject("signature does not match any active signature token", 401)
    occurred_at = _check_time(triggered_at, request.received_at, settings)
    # The signature covers the token, not the body: once a token has been seen, any body with it
    # is a replay. Every signed request leaves its token with the hub (``seen_ids``, or as the
    # event's alias), whatever it carried, so none can come back with another event.
    try:
        return _parse_signed(body, token, triggered_at, event, data, occurred_at, settings)
    except WebhookRejected as exc:
        raise WebhookRejected(exc.message, status=exc.status, code=exc.code, seen_ids=(token,)) from None


def _parse_signed(body: Mapping[str, Any], token: str, triggered_at: int, event: str,
                  data: Mapping[str, Any], occurred_at: datetime, settings: LeverSettings) -> WebhookResult:
    if not data:
        # Lever's "Verify connection" test: signed, with empty data (lever.md §1.5).
        return WebhookResult(ping=True, note=f"verify connection request ({event})", seen_ids=(token,))
    if event not in HANDLED_EVENTS:  # answered 200 whatever its data holds (lever.md §1.6)
        return WebhookResult(note=f"ignored event {event}", seen_ids=(token,))
    opportunity_id = _opportunity_id(data)
    if opportunity_id is None:  # a test request with data that names no opportunity
        return WebhookResult(ping=True, note=f"verify connection request ({event})", seen_ids=(token,))
    if event == APPLICATION_CREATED and not settings.invite_on_creation:
        # off by default: each creation would cost every assessment integration a Lever read
        return WebhookResult(note=f"ignored event {event}: switch on \"Invite candidates created directly in an "
                                  "attached stage\" in the Lever settings to act on it", seen_ids=(token,))

    event_id = body.get("id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > MAX_ID_LENGTH:
        event_id = None  # documented but absent from Lever's own examples (lever.md §1.2)
    hub_event = _event(event, opportunity_id, data, occurred_at)
    inbound = InboundEvent(external_id=event_id or token, event=hub_event,
                           alias_ids=_alias_ids(event_id, event, hub_event, token, triggered_at))
    return WebhookResult(events=(inbound,))
