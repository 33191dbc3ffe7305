"""Webhook ingress: verify Canditech's signature, parse the event, turn it into a hub event.

Order of checks (each failure is a ``WebhookRejected`` the sender sees, never a 500):

1. signature header (name from settings) present, well formed, timestamp within the tolerance
   both ways, HMAC matching with one of the active secrets -> else 401;
2. body is a JSON object -> else 400 saying why it is not JSON (where the parser stopped, not
   UTF-8, nested too deeply, a NaN/Infinity literal); an ``id`` that is a string or an integer and
   a ``type`` that is a string -> else 422 ``invalid_fields`` naming the field ("type must be a
   string, not a number"); has ``id``, ``type`` and, for a known type, ``data.invitation.id`` ->
   else 422 ``missing_fields`` (null or blank counts as absent);
3. an unknown type is answered 2xx and ignored (``WebhookResult(note=...)``);
4. the time a start, verdict or expiry uses meets its rule (``wire.VALUE_RULES``: from the year
   2000 on) -> else 422 naming the field and its rule;
5. a thin or suspicious invitation (no external reference, no status, a completion without its
   score, report link or time...) is re-read from Canditech, once and briefly (Canditech
   unreachable, slow, 5xx or 429, or the connection's rate budget spent -> ``TemporaryError`` ->
   503, and Canditech retries; so does a refusal of the re-read, a 403 included: its key check, if
   it needs one, is one short try too); the answer is held to the same rules (-> 422 naming the field);
6. an invitation the hub did not make, does not know (including a reference whose id is beyond
   any hub invitation id), or of an earlier round is ignored (2xx).

A completion is never refused for its values (*plugin choice*): refused, it would be refused on
every retry and its result never recorded. A value that breaks its rule (a NaN or negative score,
a ``max_score`` below the score, a report URL that is not http(s), a time before 2000) is left
out of the ``AssessmentResult``; the result is recorded with the rest, and the invitation's
timeline says what was left out (``remember_left_out``, written by the plugin's
``on_assessment_completed``). A completion whose score Canditech has not given yet (``null``:
graded by hand later, say) is not a result yet: it is answered 2xx and ignored, and the graded
one (its webhook, or reconciliation) is recorded. The hub records one result per round and the
ATS's note is written once: a score-less result recorded first would keep the score out for good.

The hub deduplicates by the Canditech event ``id`` and applies the invitation state machine.
"""

from __future__ import annotations

import dataclasses

from datetime import datetime, timezone
from typing import Any

from hub.entities import (
    COMPLETED, EXPIRED, PENDING, STARTED, VERDICTS, AssessmentResult, InboundEvent, InvitationProgress, Verdict, WebhookRequest,
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
# The sender is waiting for our answer, so the re-read is one try (no backoff, no Retry-After
# waited out): at most REREAD_LIMITER_WAIT seconds for the connection's rate budget (a worker
# waits up to 60 s; a burst of webhooks would hold every request thread), then REREAD_TIMEOUT for
# Canditech. Anything slower answers 503, and Canditech sends the webhook again later.
REREAD_TIMEOUT = 2.0
REREAD_LIMITER_WAIT = 0.5


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
            client = CanditechClient(ctx, settings, max_attempts=1, timeout=REREAD_TIMEOUT,
                                     limiter_wait=REREAD_LIMITER_WAIT)
            invitation = client.get_invitation(invitation["id"])
        except CanditechNotFound:
            return WebhookResult(note=f"invitation {invitation['id']} is unknown at Canditech; ignored")
        except PermanentError as exc:
            # e.g. no API key, or it was refused, or Canditech refuses this invitation to the key it
            # takes (a 403 after the key check: CanditechForbidden): answer 503 so Canditech keeps
            # the event and retries (it is read again once the key may read it)
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

    if known.provider_invitation_id is None and known.status == PENDING:
        learn_provider_id(ctx, known, invitation)
    hub_event = to_hub_event(kind, invitation, hub_id, event["created_at"])
    if hub_event is None:
        return WebhookResult(note=f"{event['type']} for invitation {hub_id} does not match Canditech's record; ignored")
    # the round matched above: the hub drops the event if a re-invite lands before it is stored
    hub_event = dataclasses.replace(hub_event, round=known.round)
    if isinstance(hub_event, AssessmentResult) and known.status != COMPLETED:
        remember_left_out(ctx, known, invitation)
    return WebhookResult(events=(InboundEvent(external_id=event["id"], event=hub_event),))


def learn_provider_id(ctx: Any, known: Any, invitation: dict[str, Any]) -> None:
    """Keep Canditech's id (and invite link) of the hub's invitation ``known``, which has none yet.

    That happens when the create's answer was lost (the row stays ``pending``) and this webhook
    (the candidate opened the test, say) moves the row on before the engine's retry: the retry then
    finds the row no longer pending and, rightly, sends nothing, so its lookup never records the
    id. Without it the invitation is never reconciled (``ctx.invitations.list_open`` lists only
    invitations with one), so a lost completion webhook would never reach the ATS, and no verdict
    would be watched for. The reference matched this round's, so the id is this invitation's.

    ``known`` was read a moment ago, outside the invitation's lock: the row may have moved since (an
    admin's cancel, or a Re-invite starting the next round). So only a ``pending`` one is filled,
    with a transition to ``pending``, which the state machine never moves a row to: it fills what
    is still empty on a row still pending, and does nothing to any other. (The same-status
    transition of a ``cancelled`` or ``started`` read would move a re-invited row, pending again,
    to that status.) And only in ``known``'s round: a row cancelled and re-invited since, pending
    again in the next round, is not given this round's id."""
    if known.status != PENDING:
        return
    ctx.invitations.transition(known.id, PENDING, round=known.round, provider_invitation_id=invitation["id"],
                               invite_url=wire.parse_url(invitation["invite_url"]))


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
    if kind == wire.KIND_COMPLETED and invitation["status"] == COMPLETED and has_result(invitation):
        return result_event(invitation, hub_id, fallback_at)
    if kind == wire.KIND_VERDICT and invitation["verdict"] in VERDICTS:
        return Verdict(invitation_id=hub_id, verdict=invitation["verdict"],
                       decided_at=invitation["verdict_at"] or fallback_at)
    if kind == wire.KIND_EXPIRED and invitation["status"] == EXPIRED:
        return InvitationProgress(invitation_id=hub_id, status=EXPIRED,
                                  occurred_at=invitation["expired_at"] or fallback_at)
    return None


def has_result(invitation: dict[str, Any]) -> bool:
    """Whether completed ``invitation`` (normalised) has its result: a score, or one that broke its
    rule (recorded without it). A score not given yet (``null``) is no result yet."""
    return invitation["score"] is not None or "score" in wire.result_problems(invitation)


def result_event(invitation: dict[str, Any], hub_id: int, fallback_at: datetime | None) -> AssessmentResult:
    """The result of a completed ``invitation`` (normalised, ``has_result``): values that broke
    their rules are ``None`` in it (``left_out`` says which)."""
    return AssessmentResult(invitation_id=hub_id, score=invitation["score"], max_score=invitation["max_score"],
                            report_url=invitation["report_url"],
                            completed_at=invitation["completed_at"] or fallback_at)


# ``ctx.records`` key of what a completion of invitation <id> was recorded without, until the
# plugin's ``on_assessment_completed`` writes it to the invitation's timeline (``write_left_out``).
LEFT_OUT = "result_left_out:"
LEFT_OUT_KIND = "result_values_left_out"  # the timeline line's kind


def left_out(invitation: dict[str, Any]) -> str | None:
    """In words, what the result of completed ``invitation`` (normalised) is recorded without, and
    why; None when it has everything. Names fields and rules, never the candidate's values."""
    problems = wire.result_problems(invitation)
    return "; ".join(f"{name} left out: it {rule}" for name, rule in problems.items()) or None


def remember_left_out(ctx: Any, known: Any, invitation: dict[str, Any]) -> None:
    """Keep what the completion of hub invitation ``known`` (the hub's entity) is recorded without,
    for its timeline. Stored, not written at once: the note belongs to the completion the hub
    records, once, not to every copy of the event (a webhook's retry, reconciliation's next run)."""
    detail = left_out(invitation)
    if detail is not None:
        ctx.records.put(LEFT_OUT + str(known.id), {"round": known.round, "detail": detail,
                                                   "since": datetime.now(timezone.utc).isoformat()})


def write_left_out(ctx: Any, result: AssessmentResult, round_: int) -> None:
    """``on_assessment_completed``: note on the timeline what ``result`` was recorded without, if
    ``remember_left_out`` kept it for this round; then forget it."""
    key = LEFT_OUT + str(result.invitation_id)
    record = ctx.records.get(key)
    if not isinstance(record, dict):
        return
    if record.get("round") == round_ and record.get("detail"):
        ctx.invitations.note(result.invitation_id, LEFT_OUT_KIND,
                             "Canditech's result was recorded without some values: " + record["detail"])
    ctx.records.delete(key)


def _timestamp(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
