"""Reconciliation: find what lost report webhooks missed, by asking Vervoe.

Open Vervoe invitations (invited/started) older than ``reconcile_after_minutes`` are read from
Vervoe (``GET /integration/user-assessments/{uuid}``), a page of ``OPEN_PAGE_SIZE`` a run: the page
after the one the last run read (``reconcile-open-after`` keeps its last id), from the first again
once past the last, so with more open invitations than a page each is still read in turn. Each is
mapped with ``events.events_for``, so the
external ids are the ones a webhook would have produced: the hub's deduplication and state machine
make repeated runs (and a webhook arriving after all) harmless. A completed assessment still
without a score after ``unscored_result_after_minutes`` is written back unscored (Vervoe's grading
may be manual and may never come). A report whose link or times break the rules a webhook's
report is held to (``wire.REPORT_RULES``) is logged and not recorded. Vervoe refusing to answer
for one invitation (a 4xx other than 404: ``VervoeError``, a 403 included: a permission for that
request, guide 04) is logged and that invitation skipped, here as in the verdict watch: it is asked
again next run, and the others are still asked. Vervoe struggling (unreachable, 5xx, 429:
``TemporaryError``) or refusing the credentials (401 after a new token, or its token endpoint
refusing the key pair: ``NeedsReauthorization``, the connection flagged by the client) stops the
run early, keeping what was found.

Completed invitations are watched for ``verdict_watch_days`` after completion (a setting, 14 days
by default): a reviewer's "hired" or "rejected" (the hub's thumbs up / down) set at Vervoe after the
candidate completed comes by report webhook only, and ``ctx.invitations.list_open`` lists open
invitations only, so without the watch a decision whose webhook was lost (the hub down past
Vervoe's retries) would never reach the ATS. ``on_assessment_completed`` (``remember_completion``)
writes ``verdict-watch:<hub id>`` -> ``{uuid, round, since, checked_at, verdict}`` (``since``: the
completion time); each run reads the due ones from Vervoe (``GET /integration/user-assessments/{uuid}``,
the same report as above, mapped by ``events.events_for`` with the same round and hub-reject rules)
and returns a decision the hub has not recorded. Due: never checked, then every tenth of the time
since completion (at least ``reconcile_after_minutes``, at most ``MAX_VERDICT_CHECK_INTERVAL``);
once the hub has a verdict, every ``MAX_VERDICT_CHECK_INTERVAL`` (a decision changed at Vervoe,
hired then rejected, can be lost too). At most ``MAX_VERDICT_CHECKS_PER_RUN`` per run, invitations
without a verdict first, each group the most overdue first. A watch past its window, or whose
invitation is no longer this round's completed one (re-invited, another candidate assessment), is
dropped without asking Vervoe. A first verdict's external id is the one an open invitation's
reconciliation gives (``vervoe:<uuid>:<hub id>:r<round>:hired|rejected:reconcile``); one replacing
the hub's verdict adds the run's time (a flip back, rejected -> hired -> rejected, is new each
time). Either way the hub's state machine records a verdict it already has as no change and tells
no plugin: the ATS gets it once even when the webhook arrives too. Completions recorded before the
watch existed (no record: their hook ran in an earlier version of the plugin) get one from
``fill_verdict_watches``: once, over this plugin's completed invitations, those completed less than
``verdict_watch_days`` ago, ``FILL_PAGES_PER_RUN`` pages a run (``verdict-watch-fill`` keeps where
it got to, then that it is done).

It also finishes what a send left undone: a withdraw (reject) of a send that raced a cancel whose
reject failed and whose delivery did not complete it (``invite.complete_withdraws``: under the
invitation's lease, skipped while someone holds it, dropped with a timeline line when Vervoe
refuses it for good), and markers of sends that are over without a link (``links.prune_sending``).
"""

from __future__ import annotations

import dataclasses

from datetime import datetime, timedelta, timezone
from typing import Any

from hub.entities import COMPLETED, AssessmentResult, InboundEvent, Verdict
from hub.errors import NeedsReauthorization, TemporaryError

from . import invite, links, wire
from .client import VervoeClient, VervoeError, VervoeNotFound
from .events import events_for, result_event
from .settings import VervoeSettings

VERDICT_WATCH_PREFIX = "verdict-watch:"
# the fill of watches for completions from before the watch existed: ``{after_id, done, at}``; not
# under ``VERDICT_WATCH_PREFIX`` (its ":"), so the watch's own listing never sees it
VERDICT_WATCH_FILL = "verdict-watch-fill"
FILL_PAGE_SIZE = 500  # completed invitations listed per page (``ctx.invitations.list_open``'s most)
FILL_PAGES_PER_RUN = 4
MAX_VERDICT_CHECK_INTERVAL = timedelta(hours=6)
MAX_VERDICT_CHECKS_PER_RUN = 200
OPEN_PAGE_SIZE = 500  # open invitations read from Vervoe per run (``ctx.invitations.list_open``'s most)
OPEN_CURSOR = "reconcile-open-after"  # ``{after_id}``: where the next run's page of open invitations starts


def reconcile(ctx: Any) -> list[InboundEvent]:
    settings = VervoeSettings.from_context(ctx)
    if not settings.api_key or not settings.api_secret:
        return []
    client = VervoeClient(ctx, settings, max_attempts=2)
    after = timedelta(minutes=settings.reconcile_after_minutes)
    unscored_after = timedelta(minutes=settings.unscored_result_after_minutes)
    now = _now()
    found: list[InboundEvent] = []
    try:
        invite.complete_withdraws(ctx)
    except (TemporaryError, NeedsReauthorization, VervoeError) as exc:
        ctx.log.warning("reconcile: a pending withdraw at Vervoe failed again, kept for the next run: %s", exc)
    links.prune_sending(ctx, settings.sending_window_seconds)
    fill_verdict_watches(ctx, settings, now)
    try:
        for invitation in _open_page(ctx, after):
            uuid = invitation.provider_invitation_id
            try:
                report = client.get_report(uuid)
            except VervoeNotFound:
                ctx.log.warning("reconcile: invitation %s (%s) is unknown at Vervoe", invitation.id, uuid)
                continue
            except VervoeError as exc:  # refused for this one (a 4xx): the others are still asked
                ctx.log.warning("reconcile: Vervoe refused to answer for invitation %s (%s), skipped: %s",
                                invitation.id, uuid, exc)
                continue
            if report["problems"]:  # the rules a webhook's report is held to (wire.REPORT_RULES)
                ctx.log.warning("reconcile: Vervoe's report of invitation %s (%s) has unusable values, not "
                                "recorded: %s", invitation.id, uuid, wire.describe_problems(report["problems"]))
                continue
            events, hub_rejected = _report_events(ctx, invitation, report, "reconcile")
            if ((report["kind"] == wire.KIND_COMPLETED or hub_rejected) and report["score"] is None
                    and report["completed_at"] is not None and now - report["completed_at"] >= unscored_after
                    and not any(isinstance(e.event, AssessmentResult) for e in events)):
                events.append(result_event(report, invitation, None))
            found.extend(events)
        _watch_verdicts(ctx, client, settings, now, found)
    except (TemporaryError, NeedsReauthorization) as exc:
        ctx.log.warning("reconcile stopped early: %s", exc)
    return found


def _open_page(ctx: Any, after: timedelta) -> list[Any]:
    """This run's page of open invitations created more than ``after`` ago: the one after the last
    run's (``OPEN_CURSOR``), or the first when that was the last (or nothing follows it). The
    cursor moves on before they are read: a run stopped early leaves the rest of its page for the
    next round of pages, never the page after it for good."""
    cursor = (ctx.records.get(OPEN_CURSOR) or {}).get("after_id")
    page = ctx.invitations.list_open(ctx.plugin_name, older_than=after, after_id=cursor, limit=OPEN_PAGE_SIZE)
    if not page and cursor is not None:
        page = ctx.invitations.list_open(ctx.plugin_name, older_than=after, limit=OPEN_PAGE_SIZE)
    next_after = page[-1].id if len(page) >= OPEN_PAGE_SIZE else None
    if next_after != cursor:
        ctx.records.put(OPEN_CURSOR, {"after_id": next_after})
    return page


def _report_events(ctx: Any, invitation: Any, report: dict[str, Any], verdict_tag: str) -> tuple[list[InboundEvent], bool]:
    """``events_for`` of ``report`` for ``invitation``, told its round by the plugin's link (as a
    webhook's report is), and whether a "rejected" in it is the hub's own reject."""
    uuid = invitation.provider_invitation_id
    link = links.invitation_link(ctx, invitation.id)
    linked, since = (links.report_round(ctx, invitation, link) if link and link.get("uuid") == uuid
                     else (True, None))
    hub_rejected = report["kind"] == wire.KIND_REJECTED and links.rejected_by_hub(ctx, uuid, link)
    events, _ = events_for(report, invitation, at=None, verdict_tag=verdict_tag, since=since,
                           linked=linked, rejected_by_hub=hub_rejected)
    return events, hub_rejected


# --------------------------------------------------------------------------- verdict watch


def remember_completion(ctx: Any, result: AssessmentResult) -> None:
    """``on_assessment_completed``: watch the invitation for a reviewer's decision at Vervoe (a
    first one, or a changed one) whose report webhook may be lost."""
    invitation = ctx.invitations.get(result.invitation_id)
    if invitation is None or invitation.provider != ctx.plugin_name or not invitation.provider_invitation_id:
        return
    record = _watch_record(invitation, result.completed_at or _now())
    key = VERDICT_WATCH_PREFIX + str(invitation.id)
    if ctx.records.put_if_absent(key, record):
        return
    existing = ctx.records.get(key) or {}
    if (existing.get("uuid"), existing.get("round")) != (record["uuid"], record["round"]):
        ctx.records.put(key, record)  # left over from an earlier round


def _watch_record(invitation: Any, since: datetime) -> dict[str, Any]:
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return {"uuid": invitation.provider_invitation_id, "round": invitation.round, "since": since.isoformat(),
            "checked_at": None, "verdict": invitation.verdict}


def fill_verdict_watches(ctx: Any, settings: VervoeSettings, now: datetime) -> None:
    """Start the watch of completions recorded before it existed (their ``on_assessment_completed``
    ran before this version of the plugin): once, over the plugin's completed invitations
    (``ctx.invitations.list_open`` with ``COMPLETED``, by id), those completed less than
    ``verdict_watch_days`` ago and not watched get a watch as the hook would have started it. At
    most ``FILL_PAGES_PER_RUN`` pages of ``FILL_PAGE_SIZE`` per run (the database only, no call to
    Vervoe): where it got to is kept in ``VERDICT_WATCH_FILL``, and once it read the last page it
    is done for good (later completions are watched by the hook)."""
    state = ctx.records.get(VERDICT_WATCH_FILL)
    state = state if isinstance(state, dict) else {}
    if state.get("done"):
        return
    after_id = state.get("after_id")
    after_id = after_id if isinstance(after_id, int) and not isinstance(after_id, bool) else None
    window = timedelta(days=settings.verdict_watch_days)
    done = False
    for _ in range(FILL_PAGES_PER_RUN):
        page = ctx.invitations.list_open(ctx.plugin_name, older_than=timedelta(0), statuses=(COMPLETED,),
                                         after_id=after_id, limit=FILL_PAGE_SIZE)
        for invitation in page:
            since = invitation.completed_at
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
            if since is not None and now - since <= window:
                ctx.records.put_if_absent(VERDICT_WATCH_PREFIX + str(invitation.id), _watch_record(invitation, since))
        if page:
            after_id = page[-1].id
        if len(page) < FILL_PAGE_SIZE:
            done = True
            break
    ctx.records.put(VERDICT_WATCH_FILL, {"after_id": after_id, "done": done, "at": now.isoformat()})


@dataclasses.dataclass
class _Watched:
    key: str
    record: dict[str, Any]
    overdue: timedelta


def _watch_verdicts(ctx: Any, client: VervoeClient, settings: VervoeSettings, now: datetime,
                    found: list[InboundEvent]) -> None:
    """The verdict watch (module docstring): only the records are read to choose (one query); a
    chosen one's invitation is read before Vervoe is asked."""
    window = timedelta(days=settings.verdict_watch_days)
    after = timedelta(minutes=settings.reconcile_after_minutes)
    due: list[_Watched] = []
    for key, record in ctx.records.items(VERDICT_WATCH_PREFIX).items():
        record = record if isinstance(record, dict) else {}
        since = links.since_of(record)
        if since is None or now - since > window:
            ctx.records.delete(key)  # watched long enough (or unreadable): not looked at again
            continue
        watched = _Watched(key, record, _overdue(record, since, now, after, record.get("verdict") is not None))
        if watched.overdue >= timedelta(0):
            due.append(watched)
    due.sort(key=lambda w: (w.record.get("verdict") is not None, -w.overdue, w.key))
    for watched in due[:MAX_VERDICT_CHECKS_PER_RUN]:
        _check_verdict(ctx, client, watched, now, after, found)


def _overdue(record: dict[str, Any], since: datetime, now: datetime, after: timedelta, has_verdict: bool) -> timedelta:
    """How long past its interval the watch ``record`` is (negative: not due yet)."""
    checked = links.since_of(record, "checked_at") or since
    if has_verdict:
        interval = MAX_VERDICT_CHECK_INTERVAL  # a change of mind is rare: the slowest pace
    else:
        interval = max(after, min((now - since) / 10, MAX_VERDICT_CHECK_INTERVAL))
    return now - checked - interval


def _check_verdict(ctx: Any, client: VervoeClient, watched: _Watched, now: datetime, after: timedelta,
                   found: list[InboundEvent]) -> None:
    record = watched.record
    suffix = watched.key[len(VERDICT_WATCH_PREFIX):]
    invitation = ctx.invitations.get(int(suffix)) if suffix.isascii() and suffix.isdigit() else None
    if (invitation is None or invitation.status != COMPLETED or invitation.provider != ctx.plugin_name
            or invitation.provider_invitation_id != record.get("uuid") or invitation.round != record.get("round")):
        _update_watch(ctx, watched, None)  # re-invited, or no longer this round's completion
        return
    since = links.since_of(record) or now
    if invitation.verdict is not None and record.get("verdict") is None \
            and _overdue(record, since, now, after, True) < timedelta(0):
        _update_watch(ctx, watched, {"verdict": invitation.verdict})  # its webhook came: the slow pace now
        return
    uuid = invitation.provider_invitation_id
    try:
        report = client.get_report(uuid)
    except VervoeNotFound:
        ctx.log.warning("reconcile: invitation %s (%s) is unknown at Vervoe; its verdict watch ends",
                        invitation.id, uuid)
        _update_watch(ctx, watched, None)
        return
    except VervoeError as exc:
        ctx.log.warning("reconcile: Vervoe refused to answer for invitation %s (%s), skipped: %s",
                        invitation.id, uuid, exc)
        return
    _update_watch(ctx, watched, {"checked_at": now.isoformat(), "verdict": invitation.verdict})
    if report["problems"]:
        ctx.log.warning("reconcile: Vervoe's report of invitation %s (%s) has unusable values, not "
                        "recorded: %s", invitation.id, uuid, wire.describe_problems(report["problems"]))
        return
    tag = "reconcile" if invitation.verdict is None else f"reconcile:{now.isoformat()}"
    events, _ = _report_events(ctx, invitation, report, tag)
    found.extend(e for e in events if isinstance(e.event, Verdict) and e.event.verdict != invitation.verdict)


def _update_watch(ctx: Any, watched: _Watched, changes: dict[str, Any] | None) -> None:
    """Apply ``changes`` to the watch record as it is now (None: delete it), unless a newer round's
    watch replaced it meanwhile (another uuid or round); a record gone stays gone."""
    current = ctx.records.get(watched.key)
    if not isinstance(current, dict) or (current.get("uuid"), current.get("round")) != (
            watched.record.get("uuid"), watched.record.get("round")):
        return
    if changes is None:
        ctx.records.delete(watched.key)
    else:
        ctx.records.put(watched.key, {**current, **changes})


def _now() -> datetime:
    return datetime.now(timezone.utc)
