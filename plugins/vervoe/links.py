"""The plugin's bookkeeping in ``ctx.records`` (no personal data: no names, no emails).

Vervoe's invite has no field for the hub's reference and its report webhook carries only the
``candidateAssessmentUuid``, so the plugin remembers which hub invitation each Vervoe candidate
assessment belongs to:

- ``uuid:<candidateAssessmentUuid>`` -> ``{"invitations": [hub invitation id, ...]}``: usually one;
  more when Vervoe answered "already invited" for the same email and assessment from another
  opportunity (then every one of them hears the news).
- ``invitation:<hub id>`` -> ``{"uuid", "round", "since"}``: the candidate assessment of the
  invitation's latest round, and when it was linked (a re-invite resets the same candidate
  assessment at Vervoe; events older than ``since`` belong to the earlier round, and while
  ``round`` is below the invitation's, the re-invite's round is not linked yet: what Vervoe reports
  then is the earlier round's, ``report_round``).
- ``attempt:<hub id>:r<round>`` -> ``{"at", "mode" ("invite" | "reset"), "uuid"?, "url"?}``: written
  BEFORE calling Vervoe, completed after. An attempt without ``uuid`` means the outcome of the call
  is unknown: the next try looks the candidate up before sending again.
- ``hub-rejected:<candidateAssessmentUuid>`` -> ``{"at"}``: the hub's own reject (archive, cancel)
  landed on an assessment the candidate had just completed. That "rejected" is not a reviewer's
  decision: its report brings the result but no verdict (``rejected_by_hub``).
- ``sending:<hub id>`` -> ``{"at", "round"}``: the invitation is being sent (written before the
  lookup or POST that may create a candidate assessment at Vervoe, stamped again when that try
  ends without a link, deleted once its ``uuid:`` link is written). Vervoe may report on what it
  created before the hub has linked it (the answer is late, unclear, or the webhook simply comes
  first): such a report is refused with a 503 while a send that could have created it is in
  flight, so Vervoe sends it again (``webhooks.py``). When a send counts as in flight, and when
  its marker is deleted: ``sends_in_flight``.
- ``withdraw:<hub id>`` -> ``{"uuid", "at"}``: a send that raced a cancel must reject what it
  created at Vervoe; written before the reject, deleted once it is done. One whose reject failed
  is completed by the retry of its delivery, or else by ``reconcile``.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone
from typing import Any, Iterator

from hub.entities import COMPLETED, PENDING, STARTED
from hub.errors import Deferred
from hub.kit import provider

UUID_PREFIX = "uuid:"
INVITATION_PREFIX = "invitation:"
ATTEMPT_PREFIX = "attempt:"
HUB_REJECTED_PREFIX = "hub-rejected:"
SENDING_PREFIX = "sending:"
WITHDRAW_PREFIX = "withdraw:"
# how long the invitation's lease is taken to look at a send's marker (a few reads and a delete); it
# bounds how long a holder that dies meanwhile keeps the invitation's sends waiting
PROBE_LEASE_SECONDS = 30.0
# the invitation leases the code running in this context (thread) holds, as (workspace, plugin, id)
_HELD_LEASES: contextvars.ContextVar[frozenset[tuple[int, str, int]]] = contextvars.ContextVar(
    "vervoe_held_invitation_leases", default=frozenset())


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


def report_round(ctx: Any, invitation: Any, link_value: dict[str, Any] | None) -> tuple[bool, datetime | None]:
    """``(linked, since)`` for telling whether a report of ``link_value``'s candidate assessment is
    ``invitation``'s current round's (``events.is_earlier_round``, where the rule is).

    ``linked``: the link is of the invitation's current round (or of a later one, never seen), and
    ``since`` is when it was written. Otherwise the current round is not linked yet (its send has not
    reached Vervoe, or has not recorded Vervoe's answer) and ``since`` is when that round's send
    last called Vervoe (its attempt's ``at``, written again by every try; the reset reuses this same
    candidate assessment), or None when it has not called Vervoe at all. Except a round a report of
    it already moved on (started, completed): it counts as linked from that call, since its send,
    which only sends a pending invitation, will never record the link."""
    link_round = link_value.get("round") if isinstance(link_value, dict) else None
    if not isinstance(link_round, int) or link_round >= invitation.round:
        return True, since_of(link_value)
    attempt_at = since_of(ctx.records.get(attempt_key(invitation)), "at")
    if invitation.status in (STARTED, COMPLETED) and attempt_at is not None:
        # the current round reached Vervoe and a report of it moved the invitation on (a reset whose
        # answer was lost, then the candidate opened it): its send, which only sends a pending
        # invitation, will never record the link, so the round counts as linked from its send's call
        return True, attempt_at
    return False, attempt_at


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


# --------------------------------------------------------------------------- the invitation's lease


def _lease_key(ctx: Any, invitation_id: int) -> tuple[int, str, int]:
    return (ctx.workspace_id, ctx.plugin_name, invitation_id)


@contextlib.contextmanager
def holding_lease(ctx: Any, invitation_id: int) -> Iterator[None]:
    """Declare that the code inside runs under the invitation's lease, which the caller holds (e.g.
    ``provider.send_once`` took it), so that ``invitation_lease`` asked for inside enters at once."""
    token = _HELD_LEASES.set(_HELD_LEASES.get() | {_lease_key(ctx, invitation_id)})
    try:
        yield
    finally:
        _HELD_LEASES.reset(token)


@contextlib.contextmanager
def invitation_lease(ctx: Any, invitation_id: int, ttl: float, wait: float) -> Iterator[None]:
    """Hold the invitation's lease (``provider.invitation_lock``, the one its sends hold); still busy
    after ``wait`` seconds: ``Deferred`` (``ctx.lock``: the delivery waits without using up an attempt).

    Entered at once when the code around it already holds the lease (``holding_lease``): with
    deliveries run inline, the hub runs the delivery of an event inside the call that caused it (an
    admin's cancel made while the invitation is being sent runs inside that send). It runs there
    while the holder is paused, so nobody else can enter; waiting for a lease its own caller holds
    could only end in ``Deferred``. Taken in a delivery the lease lives as long as the delivery's run;
    elsewhere it is renewed while held, and outlives a holder that died by ``ttl`` seconds."""
    if _lease_key(ctx, invitation_id) in _HELD_LEASES.get():
        yield
        return
    with ctx.lock(provider.invitation_lock(invitation_id), ttl=ttl, wait=wait), holding_lease(ctx, invitation_id):
        yield


@contextlib.contextmanager
def lease_if_free(ctx: Any, invitation_id: int, ttl: float) -> Iterator[bool]:
    """Hold the invitation's lease (``provider.invitation_lock``, the one its sends hold) if it is free
    now, yielding True; yield False, holding nothing, when someone holds it (never waits).

    The hub's contract has no "is this lock held?": taking it without waiting is how to ask. Outside
    a delivery the lease is renewed while held (``ttl``: how long it outlives a holder that died); in
    one it lives with the delivery's run."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(ctx.lock(provider.invitation_lock(invitation_id), ttl=ttl, wait=0.0))
            free = True
        except Deferred:
            free = False
        yield free


# --------------------------------------------------------------------------- sends in flight


def mark_sending(ctx: Any, invitation: Any) -> None:
    ctx.records.put(f"{SENDING_PREFIX}{invitation.id}", {"at": now_iso(), "round": invitation.round})


def touch_sending(ctx: Any, invitation: Any) -> None:
    """Stamp the marker again as a try ends without a link (only if it is still there): the window
    in which its retry is awaited counts from the end of the try, however long the try took."""
    if ctx.records.get(f"{SENDING_PREFIX}{invitation.id}") is not None:
        mark_sending(ctx, invitation)


def forget_sending(ctx: Any, invitation_id: int) -> None:
    ctx.records.delete(f"{SENDING_PREFIX}{invitation_id}")


def _record_id(key: str, prefix: str) -> int | None:
    text = key[len(prefix):]
    return int(text) if text.isascii() and text.isdigit() else None


def sends_in_flight(ctx: Any, window_seconds: float) -> list[Any]:
    """The invitations this plugin is sending, or will look up and link on the send's retry after
    an unclear outcome; deletes the markers of sends found over.

    A send's tries run under the invitation's lease (``provider.send_once``): each writes the marker
    before calling Vervoe, and either links what it created and deletes the marker, or stamps the
    marker again as it ends without a link (``touch_sending``), before it lets the lease go. In a
    delivery that lease lives as long as the delivery's run (renewed while the worker runs, freed
    when a dead worker's lease runs out), not for a fixed time. So a marker counts while

    - its invitation is ``pending`` and the marker is younger than ``window_seconds`` (the setting
      ``sending_window_seconds``): the last try ended without a link (or died) and the delivery's
      retry, which looks Vervoe up and links, is awaited. No lease is taken for these;
    - or else the invitation's lease is held: a try is running now (a send that raced a cancel,
      or one that has run longer than the window), and it links before it lets go.

    Otherwise the send is over, provably: the lease is free, so no try is running. An invitation
    that is no longer ``pending`` is never sent again by that send (``send_once`` checks under the
    lease; a re-invite's send writes a marker of its own), and a pending one has had no try for
    longer than the window: its delivery is dead (a replay starts a try that marks afresh) or waits
    longer than that. Such a marker is deleted while the lease is held, so a try starting meanwhile
    (it marks under the same lease) never loses its marker. A report refused no more is answered
    "not sent by the hub": if a late retry does link the send, ``reconcile`` reads the invitation's
    state from Vervoe and brings the news late, not never.
    """
    found = []
    for key in ctx.records.keys(SENDING_PREFIX):
        invitation_id = _record_id(key, SENDING_PREFIX)
        invitation = ctx.invitations.get(invitation_id) if invitation_id is not None else None
        if invitation is None or invitation.provider != ctx.plugin_name:
            ctx.records.delete(key)  # nothing of ours to send any more
            continue
        if _awaiting_retry(ctx.records.get(key), invitation, window_seconds):
            found.append(invitation)
            continue
        with lease_if_free(ctx, invitation.id, PROBE_LEASE_SECONDS) as free:
            if not free:
                found.append(invitation)  # a try is running
                continue
            current = ctx.invitations.get(invitation.id)  # as it is now that no try can start
            if current is not None and _awaiting_retry(ctx.records.get(key), current, window_seconds):
                found.append(current)  # a try ended just before the lease was taken
                continue
            ctx.records.delete(key)
            ctx.log.info("invitation %s: its send is over without a link; no longer waited for", invitation.id)
    return found


def _awaiting_retry(marker: Any, invitation: Any, window_seconds: float) -> bool:
    at = since_of(marker, "at")
    return (invitation.status == PENDING and at is not None
            and (datetime.now(timezone.utc) - at).total_seconds() < window_seconds)


def prune_sending(ctx: Any, window_seconds: float) -> None:
    """Delete the markers of sends that are over (see ``sends_in_flight``)."""
    sends_in_flight(ctx, window_seconds)


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
