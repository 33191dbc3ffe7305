"""The plugin's bookkeeping in ``ctx.records`` (no personal data: no names, no emails).

Vervoe's invite has no field for the hub's reference and its report webhook carries only the
``candidateAssessmentUuid``, so the plugin remembers which hub invitation each Vervoe candidate
assessment belongs to:

- ``uuid:<candidateAssessmentUuid>`` -> ``{"invitations": [hub invitation id, ...]}``: usually one;
  more when Vervoe answered "already invited" for the same email and assessment from another
  opportunity (then every one of them hears the news).
- ``invitation:<hub id>`` -> ``{"uuid", "round", "since"}``: the candidate assessment of the
  invitation's latest round, and when it was linked (a re-invite resets the same candidate
  assessment at Vervoe; events older than ``since`` belong to the earlier round).
- ``attempt:<hub id>:r<round>`` -> ``{"at", "mode" ("invite" | "reset"), "uuid"?, "url"?}``: written
  BEFORE calling Vervoe, completed after. An attempt without ``uuid`` means the outcome of the call
  is unknown: the next try looks the candidate up before sending again.
- ``hub-rejected:<candidateAssessmentUuid>`` -> ``{"at"}``: the hub's own reject (archive, cancel)
  landed on an assessment the candidate had just completed. That "rejected" is not a reviewer's
  decision: its report brings the result but no verdict (``rejected_by_hub``).
- ``sending:<hub id>`` -> ``{"at", "round"}``: the invitation is being sent (written before the
  lookup or POST that may create a candidate assessment at Vervoe, deleted once its ``uuid:`` link
  is written). Vervoe may report on what it created before the hub has linked it (the answer is
  late, unclear, or the webhook simply comes first): such a report is refused with a 503 while a
  send that could have created it is in flight, so Vervoe sends it again (``webhooks.py``).
- ``withdraw:<hub id>`` -> ``{"uuid", "at"}``: a send that raced a cancel must reject what it
  created at Vervoe; written before the reject, deleted once it is done. One whose reject failed
  is completed by the retry of its delivery, or else by ``reconcile``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hub.entities import PENDING

UUID_PREFIX = "uuid:"
INVITATION_PREFIX = "invitation:"
ATTEMPT_PREFIX = "attempt:"
HUB_REJECTED_PREFIX = "hub-rejected:"
SENDING_PREFIX = "sending:"
WITHDRAW_PREFIX = "withdraw:"
# how long a send's marker counts as in flight after its invitation stopped being pending (a send
# that raced a cancel holds the invitation's lease at most this long: invite.LOCK_TTL)
SENDING_WINDOW_SECONDS = 120.0


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def attempt_key(invitation: Any) -> str:
    return f"{ATTEMPT_PREFIX}{invitation.id}:r{invitation.round}"


def invitation_link(ctx: Any, invitation_id: int) -> dict[str, Any] | None:
    value = ctx.records.get(f"{INVITATION_PREFIX}{invitation_id}")
    return value if isinstance(value, dict) and value.get("uuid") else None


def invitations_for(ctx: Any, uuid: str) -> list[int]:
    value = ctx.records.get(f"{UUID_PREFIX}{uuid}")
    ids = value.get("invitations") if isinstance(value, dict) else None
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def link(ctx: Any, uuid: str, invitation: Any) -> None:
    """Remember that ``uuid`` is ``invitation``'s candidate assessment for its current round."""
    current = invitation_link(ctx, invitation.id)
    if not current or current.get("uuid") != uuid or current.get("round") != invitation.round:
        ctx.records.put(f"{INVITATION_PREFIX}{invitation.id}",
                        {"uuid": uuid, "round": invitation.round, "since": now_iso()})
    if invitation.id in invitations_for(ctx, uuid):
        return
    with ctx.lock(f"link:{uuid}", ttl=30.0, wait=10.0):  # two invitations may share one uuid
        ids = invitations_for(ctx, uuid)
        if invitation.id not in ids:
            ctx.records.put(f"{UUID_PREFIX}{uuid}", {"invitations": [*ids, invitation.id]})


def since_of(link_value: dict[str, Any] | None, field: str = "since") -> datetime | None:
    text = link_value.get(field) if isinstance(link_value, dict) else None
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def mark_rejected_by_hub(ctx: Any, uuid: str) -> None:
    ctx.records.put(f"{HUB_REJECTED_PREFIX}{uuid}", {"at": now_iso()})


def forget_rejected_by_hub(ctx: Any, uuid: str) -> None:
    ctx.records.delete(f"{HUB_REJECTED_PREFIX}{uuid}")


def rejected_by_hub(ctx: Any, uuid: str, link_value: dict[str, Any] | None) -> bool:
    """True when ``uuid``'s "rejected" is the hub's own, in the round ``link_value`` belongs to
    (a reset since then starts afresh)."""
    marked = since_of(ctx.records.get(f"{HUB_REJECTED_PREFIX}{uuid}"), "at")
    if marked is None:
        return False
    since = since_of(link_value)
    return since is None or marked >= since


# --------------------------------------------------------------------------- sends in flight


def mark_sending(ctx: Any, invitation: Any) -> None:
    ctx.records.put(f"{SENDING_PREFIX}{invitation.id}", {"at": now_iso(), "round": invitation.round})


def forget_sending(ctx: Any, invitation_id: int) -> None:
    ctx.records.delete(f"{SENDING_PREFIX}{invitation_id}")


def _record_id(key: str, prefix: str) -> int | None:
    text = key[len(prefix):]
    return int(text) if text.isascii() and text.isdigit() else None


def sends_in_flight(ctx: Any) -> list[Any]:
    """The invitations this plugin is sending (or will look up and send again after an unclear
    outcome): a ``sending:`` marker, and the invitation still ``pending``
    or the marker younger than ``SENDING_WINDOW_SECONDS`` (a send that raced a cancel)."""
    found = []
    now = datetime.now(timezone.utc)
    for key in ctx.records.keys(SENDING_PREFIX):
        invitation_id = _record_id(key, SENDING_PREFIX)
        invitation = ctx.invitations.get(invitation_id) if invitation_id is not None else None
        if invitation is None or invitation.provider != ctx.plugin_name:
            continue
        at = since_of(ctx.records.get(key), "at")
        fresh = at is not None and (now - at).total_seconds() < SENDING_WINDOW_SECONDS
        if invitation.status == PENDING or fresh:
            found.append(invitation)
    return found


def prune_sending(ctx: Any) -> int:
    """Delete the markers of sends that are over without a link (the invitation gone, failed or
    cancelled, and the marker older than ``SENDING_WINDOW_SECONDS``); returns how many."""
    in_flight = {invitation.id for invitation in sends_in_flight(ctx)}
    pruned = 0
    for key in ctx.records.keys(SENDING_PREFIX):
        if _record_id(key, SENDING_PREFIX) not in in_flight:
            ctx.records.delete(key)
            pruned += 1
    return pruned


# --------------------------------------------------------------------------- withdraws to complete


def withdraw_key(invitation_id: int) -> str:
    return f"{WITHDRAW_PREFIX}{invitation_id}"


def pending_withdraws(ctx: Any) -> list[tuple[int, str]]:
    """``(hub invitation id, candidateAssessmentUuid)`` of every withdraw still to complete."""
    found = []
    for key in ctx.records.keys(WITHDRAW_PREFIX):
        invitation_id = _record_id(key, WITHDRAW_PREFIX)
        value = ctx.records.get(key)
        uuid = value.get("uuid") if isinstance(value, dict) else None
        if invitation_id is None or not isinstance(uuid, str) or not uuid:
            ctx.records.delete(key)  # unusable: nothing to complete
            continue
        found.append((invitation_id, uuid))
    return found
