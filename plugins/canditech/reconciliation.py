"""Reconciliation: find what lost webhooks missed, by asking Canditech.

1. Open invitations (invited/started) older than ``reconcile_after_minutes``: read from Canditech
   and return the events the hub has not seen (started, completed with its result and any
   verdict, expired, cancelled). Each is checked again less and less often (every tenth of its
   age, at least every ``reconcile_after_minutes``, at most every ``MAX_OPEN_CHECK_INTERVAL``), at
   most ``MAX_OPEN_CHECKS_PER_RUN`` per run, the most overdue first (never checked, then by how
   long past its interval), so the GETs of a run are bounded and every listed invitation takes its
   turn. When each was last checked is kept in ``ctx.records`` (key ``OPEN_CHECKED``: ``{hub id:
   ISO time}`` of the invitations listed now; merged with what another run stored meanwhile).
2. Invitations an admin cancelled in the hub after the candidate had completed at Canditech (the
   cancel was refused there): ``ctx.records`` key ``result_after_cancel:<id>``, written by the
   ``on_invitation_status`` hook. Their result is read until it is recorded (the hub moves
   cancelled -> completed), for ``verdict_watch_days`` at most: their completion webhook may be lost.
3. Completed invitations, for ``verdict_watch_days`` after completion (a setting):
   ``ctx.invitations.list_open`` does not list completed ones, so the plugin remembers them itself
   (``ctx.records`` key ``awaiting_verdict:<id>``, written by its ``on_assessment_completed``
   hook) and asks Canditech for the verdict at a slowing pace. The watch goes on after the first
   verdict, at the slowest pace (``MAX_VERDICT_CHECK_INTERVAL``): a reviewer may change it (thumbs
   up, then down), and that webhook can be lost too. Each run asks for at most
   ``MAX_FIRST_VERDICT_CHECKS_PER_RUN`` first verdicts and, apart from them,
   ``MAX_VERDICT_RECHECKS_PER_RUN`` changed ones, each the most overdue first, so re-checks cannot
   starve the recovery of a lost first verdict. The record carries what the schedule needs (the
   hub's verdict as last seen): only a due one costs reading its invitation. A record is re-read
   right before it is written or deleted, and left alone when it now names another Canditech
   invitation (a newer round's watch).

Each run reads for at most ``RUN_BUDGET`` (it runs on a worker's sweeper thread, whose other work
waits meanwhile; the hub's reconcile lock is renewed while it lasts), shared between the parts (``PART_SHARES``,
what one part leaves goes to the next). A part whose time is up stops reading and keeps what it
found and when it checked; the next part still gets its share.

A completed invitation is recorded even when some of its result breaks the rules a completion is
held to (``wire.VALUE_RULES``): without those values, and with a line on the invitation's timeline
saying what was left out (``webhooks.remember_left_out``). One without a score yet (``null``) is
not recorded: a later run finds it graded (``webhooks.has_result``).

External ids are deterministic (``reconcile:<canditech id>:<status>``,
``reconcile:<canditech id>:verdict:<verdict>``, and for a
verdict that replaces another ``...:verdict:<verdict>:<verdict_at>``), so the hub's deduplication
and state machine make repeated runs harmless.

Canditech failing for one invitation (a 4xx such as 404 or 410, or a 403 while the API key works:
``client.CanditechForbidden``) is logged and the run goes on with the next; it is asked again at its
next turn. Canditech struggling (unreachable, 5xx, 429, or no answer to the key check after a 403)
stops the run early, and so does the API key being refused (a 401, or a 403 the key check got
too), which also flags the connection for re-authorization; either way the events found so far are
returned.
"""

from __future__ import annotations

import dataclasses
import time

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from hub.context import LIST_OPEN_PAGE
from hub.entities import (
    CANCELLED, COMPLETED, EXPIRED, INVITED, STARTED, VERDICTS, AssessmentResult, InboundEvent, InvitationProgress,
    Verdict,
)
from hub.errors import TemporaryError

from . import wire
from .client import CanditechAuthError, CanditechClient, CanditechError, CanditechNotFound
from .settings import CanditechSettings
from .webhooks import LEFT_OUT, has_result, remember_left_out, result_event, write_left_out

AWAITING_VERDICT = "awaiting_verdict:"
RESULT_AFTER_CANCEL = "result_after_cancel:"
OPEN_CHECKED = "open_checked"
MAX_OPEN_CHECK_INTERVAL = timedelta(hours=1)
MAX_OPEN_CHECKS_PER_RUN = 100
MAX_VERDICT_CHECK_INTERVAL = timedelta(hours=6)
MAX_AFTER_CANCEL_CHECKS_PER_RUN = 50
NEVER_CHECKED = timedelta(days=36500)  # how overdue an invitation never checked counts: before all others
LEFT_OUT_KEPT = timedelta(days=1)  # a left-out record no completion used by then is stale
REAUTHORIZE = "needs_reauthorization"


# a read begun just before the budget ends can take ~45 s more (two tries of 15 s, a pause, and at
# most READ_LIMITER_WAIT for the rate budget each), and the events found are ingested after the run:
# a run holds the sweeper's thread of its worker for about four minutes at most
RUN_BUDGET = timedelta(seconds=200)
READ_LIMITER_WAIT = 5.0  # a worker's 60 s wait for a token would hold the sweeper's thread that long
MAX_FIRST_VERDICT_CHECKS_PER_RUN = 200
MAX_VERDICT_RECHECKS_PER_RUN = 100


class RunStopped(Exception):
    """Nothing more can be read from Canditech in this run (it struggles, or refused the key)."""


class TimeUp(Exception):
    """The current part of the run has used its share of ``RUN_BUDGET``: it stops reading."""


class Run:
    """One reconciliation run: the client, the settings, and the rule for one invitation's read."""

    def __init__(self, ctx: Any, settings: CanditechSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.after = timedelta(minutes=settings.reconcile_after_minutes)
        self.watch = timedelta(days=settings.verdict_watch_days)
        self.client = CanditechClient(ctx, settings, max_attempts=2, limiter_wait=READ_LIMITER_WAIT)
        self.now = _now()
        self.deadline = _monotonic() + RUN_BUDGET.total_seconds()
        self.part_deadline = self.deadline

    def start_part(self, share: float) -> None:
        """The next part may read for ``share`` of the run's time left."""
        now = _monotonic()
        self.part_deadline = now + max(0.0, self.deadline - now) * share

    def read(self, provider_id: str, hub_id: int) -> dict[str, Any] | None:
        """Canditech's invitation ``provider_id`` (normalised), or None when Canditech refused to
        answer for it (logged; a 403 while the key works, ``CanditechForbidden``, included). Raises
        ``CanditechNotFound`` (the caller decides what that means), and ``RunStopped`` when no more
        can be read this run: Canditech struggling, or the API key refused (the connection is then
        flagged for re-authorization, as a delivery would be).
        Raises ``TimeUp`` instead of reading when the part's share of the run's time is used up."""
        if _monotonic() >= self.part_deadline:
            raise TimeUp(f"{RUN_BUDGET.total_seconds():.0f} seconds per run")
        try:
            return self.client.get_invitation(provider_id)
        except CanditechNotFound:
            raise
        except CanditechAuthError as exc:
            self.ctx.set_status(REAUTHORIZE, _refused_key_status(exc))
            raise RunStopped(f"the API key was refused: {exc}") from None
        except CanditechError as exc:
            self.ctx.log.warning("reconcile: Canditech refused to answer for invitation %s (hub invitation %s), "
                                 "skipped: %s", provider_id, hub_id, exc)
            return None
        except TemporaryError as exc:
            raise RunStopped(f"Canditech is struggling: {exc}") from None


def _refused_key_status(exc: CanditechAuthError) -> str:
    """The status line after the key was refused while reconciling (a 401, or a 403 the key check
    got too): Canditech's own message when it answered with its JSON error; else the client's
    sentence, which keeps the status the words alone would lose ("Canditech answered 401
    Unauthorized with an HTML page, not its API's JSON: check the API base URL"), and so the advice
    names the base URL too."""
    if wire.is_error_envelope(exc.body):
        return (f"Canditech refused the API key while reconciling: {exc.vendor_message}. "
                "Enter a new key in the settings and save.")
    return f"While reconciling, {exc}. Correct the API base URL or enter a new key in the settings, and save."


PART_SHARES = (0.45, 0.2, 1.0)  # of the time left: open ~45%, after a cancel ~10%, the verdict watch the rest


def reconcile(ctx: Any) -> list[InboundEvent]:
    settings = CanditechSettings.from_context(ctx)
    if not settings.api_key:
        return []
    run = Run(ctx, settings)
    events: list[InboundEvent] = []
    for part, share in zip((_check_open, _results_after_cancel, _watch_verdicts), PART_SHARES):
        run.start_part(share)
        try:
            part(run, events.append)
        except TimeUp as exc:
            ctx.log.info("reconcile: %s used its share of the run's time (%s); the rest waits for the next run",
                         part.__name__.lstrip("_"), exc)
        except RunStopped as exc:
            ctx.log.warning("reconcile stopped early, keeping what it found: %s", exc)
            break
    _forget_stale_left_out(ctx, run.now)
    return events


# --------------------------------------------------------------------------- open invitations


def _check_open(run: Run, found: Callable[[InboundEvent], None]) -> None:
    """Part 1 of the module docstring; the check times are stored even when the run stops."""
    ctx = run.ctx
    listed = _all_open(ctx, run.after)
    stored = ctx.records.get(OPEN_CHECKED) or {}
    checked = {str(i.id): stored[str(i.id)] for i in listed if str(i.id) in stored}  # closed ones are dropped
    overdue = {i.id: _open_overdue(i, checked.get(str(i.id)), run) for i in listed}
    due = sorted((i for i in listed if overdue[i.id] >= timedelta(0)), key=lambda i: (-overdue[i.id], i.id))
    try:
        for invitation in due[:MAX_OPEN_CHECKS_PER_RUN]:
            remote = _read_open(run, invitation)
            checked[str(invitation.id)] = run.now.isoformat()
            if remote is not None:
                _found_events(ctx, invitation, remote, found)
    finally:
        _store_open_checked(ctx, stored, checked, listed)


def _store_open_checked(ctx: Any, stored: dict, checked: dict, listed: list[Any]) -> None:
    """Store when each invitation listed now was last checked, keeping a later time another run
    stored meanwhile (runs must not overlap, but a lost update would cost extra GETs)."""
    latest = ctx.records.get(OPEN_CHECKED) or {}
    merged = {}
    for hub_id in (str(i.id) for i in listed):
        times = [t for t in (checked.get(hub_id), latest.get(hub_id)) if _parse(t) is not None]
        if times:
            merged[hub_id] = max(times, key=_parse)
    if merged != stored:
        ctx.records.put(OPEN_CHECKED, merged)


def _all_open(ctx: Any, older_than: timedelta) -> list[Any]:
    """Every open invitation of this plugin created more than ``older_than`` ago, page by page
    (``list_open`` returns at most a page: the invitations past the first were never checked)."""
    listed: list[Any] = []
    after_id = None
    while True:
        page = ctx.invitations.list_open(ctx.plugin_name, older_than=older_than, after_id=after_id)
        listed += page
        if len(page) < LIST_OPEN_PAGE:
            return listed
        after_id = page[-1].id


def _open_overdue(invitation: Any, checked_at: str | None, run: Run) -> timedelta:
    """How long past its interval open ``invitation``'s next check is (negative: not due yet);
    never checked: the most overdue of all."""
    last = _parse(checked_at)
    if last is None:
        return NEVER_CHECKED
    created = invitation.created_at or last
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    interval = max(run.after, min((run.now - created) / 10, MAX_OPEN_CHECK_INTERVAL))
    return run.now - last - interval


def _read_open(run: Run, invitation: Any) -> dict[str, Any] | None:
    try:
        return run.read(invitation.provider_invitation_id, invitation.id)
    except CanditechNotFound:
        run.ctx.log.warning("reconcile: invitation %s (%s) is unknown at Canditech",
                            invitation.id, invitation.provider_invitation_id)
        return None


def _found_events(ctx: Any, invitation: Any, remote: dict[str, Any], found: Callable[[InboundEvent], None]) -> None:
    """Pass on ``missed_events``; for a completion, keep what its result is recorded without."""
    events = missed_events(invitation, remote)
    for event in events:
        found(event)
    if events and remote["status"] == COMPLETED:
        remember_left_out(ctx, invitation, remote)


def missed_events(invitation: Any, remote: dict[str, Any]) -> list[InboundEvent]:
    """The events that bring the hub's ``invitation`` up to Canditech's ``remote`` state."""
    provider_id = remote["id"]
    if remote["external_reference"] and remote["external_reference"] != invitation.external_reference:
        return []  # not this round's invitation
    hub_id = invitation.id
    status = remote["status"]
    found: list[InboundEvent] = []

    def add(suffix: str, event: Any) -> None:
        # the round read here: the hub drops the event if a re-invite lands before it is stored
        found.append(InboundEvent(external_id=f"reconcile:{provider_id}:{suffix}",
                                  event=dataclasses.replace(event, round=invitation.round)))

    if status == STARTED and invitation.status == INVITED:
        add(STARTED, InvitationProgress(invitation_id=hub_id, status=STARTED, occurred_at=remote["started_at"]))
    elif status == COMPLETED and has_result(remote):
        add(COMPLETED, result_event(remote, hub_id, None))
        if remote["verdict"] in VERDICTS:
            add(f"verdict:{remote['verdict']}",
                Verdict(invitation_id=hub_id, verdict=remote["verdict"], decided_at=remote["verdict_at"]))
    elif status == EXPIRED:
        add(EXPIRED, InvitationProgress(invitation_id=hub_id, status=EXPIRED, occurred_at=remote["expired_at"]))
    elif status == CANCELLED:
        add(CANCELLED, InvitationProgress(invitation_id=hub_id, status=CANCELLED,
                                          occurred_at=remote["cancelled_at"]))
    return found


# --------------------------------------------------------------------------- results after a cancel


def watch_for_result(ctx: Any, invitation: Any, provider_id: str) -> None:
    """``on_invitation_status``: the hub cancelled ``invitation`` but Canditech had finished it."""
    ctx.records.put(RESULT_AFTER_CANCEL + str(invitation.id),
                    {"provider_invitation_id": provider_id, "since": _now().isoformat()})


def _results_after_cancel(run: Run, found: Callable[[InboundEvent], None]) -> None:
    ctx, checks = run.ctx, 0
    for key, record in sorted(ctx.records.items(RESULT_AFTER_CANCEL).items()):
        record = record or {}
        invitation = _invitation(ctx, key[len(RESULT_AFTER_CANCEL):])
        since = _parse(record.get("since")) or run.now
        if invitation is None or invitation.status != CANCELLED or run.now - since > run.watch:
            ctx.records.delete(key)  # recorded (completed), re-invited, or given up
            continue
        if checks >= MAX_AFTER_CANCEL_CHECKS_PER_RUN:
            continue
        checks += 1
        try:
            remote = run.read(record.get("provider_invitation_id") or "", invitation.id)
        except CanditechNotFound:
            ctx.records.delete(key)
            continue
        if remote is None:
            continue
        if remote["status"] == COMPLETED:
            _found_events(ctx, invitation, remote, found)
        elif remote["status"] in (EXPIRED, CANCELLED):
            ctx.records.delete(key)  # it did not complete after all: nothing to recover


# --------------------------------------------------------------------------- verdict watch


def remember_completion(ctx: Any, result: AssessmentResult) -> None:
    """``on_assessment_completed``: note on the timeline what the result was recorded without (if
    anything), and watch the invitation for a verdict (a first one, or a changed one) a lost
    webhook could miss."""
    invitation = ctx.invitations.get(result.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name:
        return
    write_left_out(ctx, result, invitation.round)
    if not invitation.provider_invitation_id:
        return
    key = AWAITING_VERDICT + str(invitation.id)
    since = result.completed_at or _now()
    record = {"provider_invitation_id": invitation.provider_invitation_id, "since": since.isoformat(),
              "checked_at": None, "verdict": invitation.verdict}
    if ctx.records.put_if_absent(key, record):
        return
    existing = ctx.records.get(key) or {}
    if existing.get("provider_invitation_id") != invitation.provider_invitation_id:
        ctx.records.put(key, record)  # left over from an earlier round


def forget_completion(ctx: Any, verdict: Verdict) -> None:
    """``on_verdict``: a verdict was recorded. The watch goes on (a reviewer may change it), now at
    its slowest pace, counted from now. (The name is the hook's historic one: nothing is forgotten.)"""
    key = AWAITING_VERDICT + str(verdict.invitation_id)
    record = ctx.records.get(key)
    if isinstance(record, dict):
        ctx.records.put(key, {**record, "checked_at": _now().isoformat(), "verdict": verdict.verdict})


@dataclasses.dataclass
class _Watched:
    key: str
    record: dict[str, Any]
    overdue: timedelta


def _watch_verdicts(run: Run, found: Callable[[InboundEvent], None]) -> None:
    """Part 3 of the module docstring: first verdicts, then changed ones, each the most overdue
    first and within its own cap. Only the records are read to choose (in one query); a chosen
    one's invitation is read before Canditech is asked."""
    first: list[_Watched] = []
    again: list[_Watched] = []
    for key, record in run.ctx.records.items(AWAITING_VERDICT).items():
        record = record if isinstance(record, dict) else {}
        since = _parse(record.get("since")) or run.now
        if run.now - since > run.watch:
            run.ctx.records.delete(key)
            continue
        watched = _Watched(key, record, _verdict_overdue(run, record, record.get("verdict") is not None))
        if watched.overdue >= timedelta(0):
            (first if record.get("verdict") is None else again).append(watched)
    for queue, cap in ((first, MAX_FIRST_VERDICT_CHECKS_PER_RUN), (again, MAX_VERDICT_RECHECKS_PER_RUN)):
        queue.sort(key=lambda w: (-w.overdue, w.key))
        for watched in queue[:cap]:
            _check_verdict(run, watched, found)


def _verdict_overdue(run: Run, record: dict[str, Any], has_verdict: bool) -> timedelta:
    """How long past its interval the watch ``record`` is (negative: not due yet)."""
    since = _parse(record.get("since")) or run.now
    checked = _parse(record.get("checked_at")) or since
    if has_verdict:
        interval = MAX_VERDICT_CHECK_INTERVAL  # a change of mind is rare: the slowest pace
    else:
        interval = max(run.after, min((run.now - since) / 10, MAX_VERDICT_CHECK_INTERVAL))
    return run.now - checked - interval


def _check_verdict(run: Run, watched: _Watched, found: Callable[[InboundEvent], None]) -> None:
    """Ask Canditech for ``watched``'s verdict, unless its invitation shows the watch is over (not
    completed any more, or another round) or, having a verdict the record did not know of, that
    it is not due yet."""
    ctx, record = run.ctx, watched.record
    invitation = _invitation(ctx, watched.key[len(AWAITING_VERDICT):])
    if (invitation is None or invitation.status != COMPLETED
            or invitation.provider_invitation_id != record.get("provider_invitation_id")):
        _update_watch(ctx, watched, None)
        return
    if invitation.verdict is not None and record.get("verdict") is None \
            and _verdict_overdue(run, record, True) < timedelta(0):
        _update_watch(ctx, watched, {"verdict": invitation.verdict})  # a record from before it kept the verdict
        return
    try:
        remote = run.read(invitation.provider_invitation_id, invitation.id)
    except CanditechNotFound:
        _update_watch(ctx, watched, None)
        return
    _update_watch(ctx, watched, {"checked_at": run.now.isoformat(), "verdict": invitation.verdict})
    if remote is not None and remote["verdict"] in VERDICTS and remote["verdict"] != invitation.verdict:
        found(_verdict_event(invitation, remote))


def _update_watch(ctx: Any, watched: _Watched, changes: dict[str, Any] | None) -> None:
    """Apply ``changes`` to the watch record as it is now (None: delete it). Re-read first: when it
    now names another Canditech invitation, a newer round's watch replaced it meanwhile and is
    left alone; when it is gone, it stays gone."""
    current = ctx.records.get(watched.key)
    if not isinstance(current, dict) or \
            current.get("provider_invitation_id") != watched.record.get("provider_invitation_id"):
        return
    if changes is None:
        ctx.records.delete(watched.key)
    else:
        ctx.records.put(watched.key, {**current, **changes})


def _verdict_event(invitation: Any, remote: dict[str, Any]) -> InboundEvent:
    """The verdict Canditech has and the hub has not. A first verdict keeps reconciliation's usual
    id; one replacing another carries its time too, so a flip back (up, down, up) is not taken for
    a duplicate of the first."""
    external_id = f"reconcile:{remote['id']}:verdict:{remote['verdict']}"
    if invitation.verdict is not None and remote["verdict_at"] is not None:
        external_id += f":{remote['verdict_at'].isoformat()}"
    return InboundEvent(external_id=external_id,
                        event=Verdict(invitation_id=invitation.id, verdict=remote["verdict"],
                                      decided_at=remote["verdict_at"], round=invitation.round))


# --------------------------------------------------------------------------- helpers


def _forget_stale_left_out(ctx: Any, now: datetime) -> None:
    """Drop what a completion was to be noted without when no completion used it within a day
    (its event was a duplicate, or of an earlier round)."""
    for key, record in ctx.records.items(LEFT_OUT).items():
        since = _parse(record.get("since")) if isinstance(record, dict) else None
        if since is None or now - since > LEFT_OUT_KEPT:
            ctx.records.delete(key)


def _invitation(ctx: Any, suffix: str) -> Any:
    """The hub invitation whose id is ``suffix`` (a records key's end), or None."""
    return ctx.invitations.get(int(suffix)) if suffix.isascii() and suffix.isdigit() else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _monotonic() -> float:
    return time.monotonic()


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
