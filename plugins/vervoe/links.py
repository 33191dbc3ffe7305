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
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

UUID_PREFIX = "uuid:"
INVITATION_PREFIX = "invitation:"
ATTEMPT_PREFIX = "attempt:"
HUB_REJECTED_PREFIX = "hub-rejected:"


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
