"""``/activity``: inbound events, newest first, each with its deliveries per plugin (status,
attempts, last error) and its payload with secrets redacted; retry and replay for Admins, one
delivery at a time or all the dead (or cancelled by a disable or revoke) ones at once.
While work is pending, ``static/hub.js`` re-fetches the list fragment every few seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.engine import backfill
from hub.entities import StageChange
from hub.engine.runner import is_deferring
from hub.errors import Conflict, HubError
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import (
    D_CANCELLED, D_DEAD, DELIVERY_STATUSES, Attachment, Delivery, Integration, Invitation, parse_table_id,
)
from hub.web import queries
from hub.web.permissions import can, require
from hub.web.redirects import safe_next
from hub.web.schemas import BULK_REPLAY_LIMIT, MAX_FILTER_LENGTH
from hub.web.ui import bp
from hub.web.live import plugin_title
from hub.web.ui.empty_states import no_events
from hub.web.ui.helpers import as_aware, humanize, sentence, this_page_url
from hub.web.ui.labels import hook_label
from hub.web.ui.list_filters import ListArgs


def event_title(event) -> tuple[str, str]:
    """An event's heading on Activity: what it is, and where it came from. An event the hub made
    up on an admin's request is named for that request (a backfill's stage change is no move
    the ATS reported)."""
    if backfill.is_backfill_event(event.source_plugin, event.external_id):
        return "Backfill request: candidate already in stage", "on an admin's request"
    if made_by_hub(event):
        return humanize(event.type), "from the hub"  # its own events (invitation progress, re-invites)
    return humanize(event.type), f"from {plugin_title(event.source_plugin)}"


def made_by_hub(event) -> bool:
    """The hub made the event itself (a backfill, a re-invite, an invitation's progress): its source
    is ``hub``, and no plugin of that name is installed."""
    return event.source_plugin == "hub" and event.source_plugin not in get_runtime().registry.specs


def external_id_label(event) -> tuple[str, str]:
    """What an event's ``external_id`` is, for Activity: the id its sender gave it, or, for an
    event the hub made, the hub's own key (an internal key shown as a sender's id misled)."""
    if made_by_hub(event):
        return "hub's id", "The hub made this event itself; this id keeps it from being done twice"
    return "sender's id", "The id the sender gave this event"


@dataclass(frozen=True)
class Subject:
    """Whom an event is about, for people: a candidate's name and the page of their invitation."""

    text: str
    url: str | None = None


# the event types whose subject is ``invitation:<id>`` (``hub.engine.ingest.subject_of``); every
# other event's subject is an opportunity id of the source, whatever it looks like
INVITATION_SUBJECTS = queries.INVITATION_SUBJECTS


def invitation_of(event) -> int | None:
    """The hub invitation id an event about an invitation names, or None (an opportunity's event,
    or a subject that is no invitation id: the page shows it as written, never a 500)."""
    kind, _, key = (event.subject or "").partition(":")
    if event.type not in INVITATION_SUBJECTS or kind != "invitation":
        return None
    return parse_table_id(key)


def event_subjects(events) -> dict[int, Subject]:
    """Event id -> whom it is about. An event names an invitation (``invitation:<id>``) or an
    opportunity of the source (its id); both are shown as the candidate's name, linked to their
    invitation (an opportunity's newest), read in one query in the viewer's workspace. An
    opportunity no invitation knows yet keeps its id, said to be the source's ("candidate opp-7
    in Lever"): the hub has no name for it."""
    named = {event.id: invitation_of(event) for event in events}
    invitation_ids = {i for i in named.values() if i is not None}
    opportunity_ids = {event.subject for event in events if event.subject and event.type not in INVITATION_SUBJECTS}
    ws = current_user.workspace_id
    # a union, one index each (SQLite read an OR of the two from the workspace's every invitation)
    wanted = sa.union_all(sa.select(Invitation.id).where(Invitation.workspace_id == ws, Invitation.id.in_(invitation_ids)),
                          sa.select(Invitation.id).where(Invitation.workspace_id == ws,
                                                         Invitation.opportunity_id.in_(opportunity_ids)))
    rows = list(db.session.scalars(sa.select(Invitation).where(Invitation.id.in_(wanted))
                                   .order_by(Invitation.id))) if invitation_ids or opportunity_ids else []
    by_id = {row.id: row for row in rows}
    by_opportunity = {row.opportunity_id: row for row in rows}  # ordered by id: the newest wins
    out = {}
    for event in events:
        if event.type in INVITATION_SUBJECTS:
            row = by_id.get(named[event.id])
        else:
            row = by_opportunity.get(event.subject)
        if row is not None:
            out[event.id] = Subject(row.candidate_name or "Unknown candidate",
                                    url_for("ui.candidates_detail", invitation_id=row.id))
        elif event.subject and event.type not in INVITATION_SUBJECTS:
            out[event.id] = Subject(f"candidate {event.subject} in {plugin_title(event.source_plugin)}")
        elif event.subject:
            out[event.id] = Subject(f"invitation {event.subject.partition(':')[2] or event.subject}")
    return out


def delivery_words(delivery, subjects: dict[int, Subject] | None = None) -> str:
    """A delivery as the Activity page shows it, for a message or the Audit log: the step its
    plugin runs (``hook_label``, the Step column), whom its event is about (``event_subjects``;
    ``subjects`` when the caller read them for several) and the plugin's title, never its id:
    "“Invite on the stage change” for Ada Lovelace (Canditech)". An event about no one is named
    by its number, as its card on Activity is ("event 12")."""
    event = delivery.event
    if subjects is None:
        subjects = event_subjects([event]) if event is not None else {}
    subject = subjects.get(delivery.event_id)
    about = subject.text if subject is not None else f"event {delivery.event_id}"
    return f"“{hook_label(delivery.hook, delivery.plugin)}” for {about} ({plugin_title(delivery.plugin)})"


# why an event reached no plugin (its ``outcome``, ``hub.engine.ingest``): the badge, and the sentence under it
NOT_DELIVERED = {
    "no_subscribers": ("Not acted on", "none enabled takes this kind of event"),
    "no_change": (None, "it changed nothing on its invitation (already recorded, or a status the invitation "
                        "cannot go back to)"),
    "unknown_invitation": (None, "it names an invitation this workspace does not have"),
    "not_the_provider": (None, "it came from a provider that did not send this invitation"),
    "earlier_round": (None, "it is about an earlier round of an invitation sent again since"),
}


@dataclass(frozen=True)
class NotDelivered:
    """What Activity says of an event no plugin was given: ``text`` (a sentence), and whether to
    point to the backfill (``stage_change``: a candidate who entered a stage while no assessment
    provider was enabled was invited by nobody)."""

    text: str
    backfill_hint: bool = False


def not_delivered(event) -> NotDelivered:
    """Why no integration acted on ``event``, in plain words, from its outcome (an outcome without
    words of its own is named by its code in words)."""
    why = NOT_DELIVERED.get(event.outcome, (None, ""))[1]
    if not why and event.outcome not in ("delivered", "accepted"):
        why = humanize(event.outcome).lower()
    text = "No integration acted on this event" + (f": {why}." if why else ".")
    return NotDelivered(text, event.type == StageChange.type and event.outcome == "no_subscribers")


@dataclass(frozen=True)
class StageNote:
    """What Activity says under a source's stage change: the stage's name, and why it invited no
    one when that can be told from the hub's own records (``stage_notes``)."""

    stage: str  # the stage, for people: its name in quotes where an attachment knows it, else its id
    search: str  # what finds the stage's attachments on the Pipeline page (its name, or its id)
    nobody: str | None = None  # why nobody was invited for it, or None
    backfill: bool = False  # an assessment is attached to the stage now: backfill may invite them
    never_attached: bool = False  # no attachment ever had the stage: nothing was to be invited there


def stage_notes(workspace_id: int, events) -> dict[int, StageNote]:
    """Event id -> ``StageNote`` for the stage changes a source reported (not a backfill's), read
    from the attachments of their stages, detached ones included, in one query. A delivery that is
    "done" only says that a provider looked: one that found no assessment attached to the stage, or
    a provider that was disabled (so got no delivery), invited nobody, and Activity showed
    "Delivered". Told here: no attachment of the stage was live when the event arrived
    (``created_at`` to ``detached_at``), or an attached assessment's provider got no delivery. A
    stage no attachment ever had (most of a pipeline's stages) is said plainly, not as a warning:
    nothing was to be invited there."""
    moves = {event.id: (event, (event.payload or {}).get("to_stage_id")) for event in events
             if event.type == StageChange.type and not made_by_hub(event)}
    stages = {stage for _, stage in moves.values() if isinstance(stage, str) and stage}
    if not stages:
        return {}
    rows = list(db.session.scalars(sa.select(Attachment).where(
        Attachment.workspace_id == workspace_id, Attachment.stage_id.in_(sorted(stages))).order_by(Attachment.id)))
    notes = {}
    for event_id, (event, stage) in moves.items():
        if stage not in stages:
            continue
        of_stage = [row for row in rows if row.stage_id == stage]
        if not of_stage:
            notes[event_id] = StageNote(f"stage {stage}", stage, never_attached=True)
            continue
        search = of_stage[-1].stage_name
        name = f"“{search}”"
        then = as_aware(event.received_at)
        live = [row for row in of_stage if as_aware(row.created_at) <= then
                and (row.detached_at is None or as_aware(row.detached_at) > then)]
        attached_now = any(row.detached_at is None for row in of_stage)
        if not live:
            notes[event_id] = StageNote(name, search, f"No assessment was attached to {name} when this arrived: "
                                                      "nobody was invited for it.", attached_now)
            continue
        delivered = {delivery.plugin for delivery in event.deliveries}
        missed = sorted({row.provider for row in live} - delivered)
        if missed:
            names = ", ".join(plugin_title(plugin) for plugin in missed)
            notes[event_id] = StageNote(name, search, f"{names} got no delivery of it ("
                                                      f"{'it was' if len(missed) == 1 else 'they were'} not enabled when "
                                                      f"it arrived): its assessment attached to {name} invited nobody "
                                                      "for it.", attached_now)
        else:
            notes[event_id] = StageNote(name, search)
    return notes


def event_summary(event) -> tuple[str, str | None]:
    """An event's badge on Activity, as (status, label): what its deliveries say together, never
    more than they do. Any dead: it needs attention; any failing and waiting to retry (a deferring
    one waits on purpose, ``is_deferring``): retrying; any pending, running or deferring: in
    progress; then delivered only when every delivery is done, cancelled when every one is, and
    "N of M cancelled" when some were delivered and some cancelled (a plugin disabled or revoked
    meanwhile: it never got the event). No delivery: the event's outcome, labelled "Not acted on"
    when no enabled plugin takes its kind of event (else label None: the outcome in words)."""
    deliveries = list(event.deliveries)
    if not deliveries:
        return event.outcome, NOT_DELIVERED.get(event.outcome, (None,))[0]
    states = [d.status for d in deliveries]
    if "dead" in states:
        return "dead", "Needs attention"
    if any(d.status == "retry" and not is_deferring(d.status, d.last_error) for d in deliveries):
        return "retry", "Retrying"
    if any(state in ("pending", "running", "retry") for state in states):
        return "running", "In progress"
    cancelled = states.count(D_CANCELLED)
    if not cancelled:
        return "done", "Delivered"
    if cancelled == len(states):
        return "cancelled", "Cancelled"
    return "cancelled", f"{cancelled} of {len(states)} cancelled"


# the deliveries "Replay all" takes, by the status it is given (``services.bulk_replay_query``)
BULK_LABELS = {D_DEAD: "dead", D_CANCELLED: "cancelled"}


def bulk_counts(workspace_id: int, plugin: str, status: str) -> dict[str, int]:
    """How many deliveries each "Replay all" button of Activity would replay under its filters:
    dead ones, and ones cancelled by a disable or revoke of a plugin enabled again, of the events
    the plugin filter shows, but not those of a plugin that is disabled or cannot sign in to its
    vendor now (skipped by the replay: ``services.refused_replay``, asked once per plugin); a
    button only while the status filter is empty or its status."""
    counts = {}
    enabled = enabled_plugins(workspace_id)
    blocked: dict[str, bool] = {}
    for wanted in BULK_LABELS:
        if status and status != wanted:
            continue
        ids = services.bulk_replay_query(workspace_id, wanted, plugin or None).order_by(None).subquery()
        counts[wanted] = 0
        for delivered_to, count in db.session.execute(sa.select(Delivery.plugin, sa.func.count()).where(
                Delivery.id.in_(sa.select(ids.c.id))).group_by(Delivery.plugin)):
            if delivered_to not in blocked:
                blocked[delivered_to] = delivered_to not in enabled or services.refused_replay(
                    get_runtime(), workspace_id, delivered_to) is not None
            counts[wanted] += 0 if blocked[delivered_to] else count
    return counts


def enabled_plugins(workspace_id: int) -> frozenset[str]:
    """The plugins enabled in the workspace, read once for the page (not per delivery)."""
    return frozenset(db.session.scalars(sa.select(Integration.plugin).where(
        Integration.workspace_id == workspace_id, Integration.enabled.is_(True))))


def replay_unavailable(plugin: str, enabled: frozenset[str]) -> str | None:
    """Why a delivery of ``plugin`` cannot be replayed now (its Replay is then shown disabled, with
    this note), or None. The replay itself still refuses one (``services.replay_delivery``): this
    only spares the click that would end in that refusal."""
    if plugin in enabled:
        return None
    if plugin not in get_runtime().registry.specs:
        return f"{plugin_title(plugin)} is not installed"
    return f"Enable {plugin_title(plugin)} to replay"


def replay_check(workspace_id: int) -> Callable[..., str | None]:
    """``replay_unavailable`` for one page, which also names a plugin enabled but unable to sign in
    to its vendor (``services.refused_replay``: enabled again after a revoke, its credentials not
    entered again; or refused), asked once per plugin of the page; ``waiting`` for a delivery that
    waits for that plugin's reconnection (it goes on by itself after the step named)."""
    asked: dict[tuple[str, bool], str | None] = {}

    def check(plugin: str, enabled: frozenset[str], waiting: bool = False) -> str | None:
        reason = replay_unavailable(plugin, enabled)
        if reason is None:
            if (plugin, waiting) not in asked:
                asked[plugin, waiting] = services.refused_replay(get_runtime(), workspace_id, plugin, waiting)
            reason = asked[plugin, waiting]
        return reason

    return check


def source_webhook_log(workspace_id: int) -> dict | None:
    """The ATS's refused webhooks (its integration page's Recent webhooks, rejected ones), for an
    Activity search about a candidate that found nothing: ``title`` and ``url``; None without an
    enabled ATS, or for a viewer who cannot open integration pages."""
    source = get_runtime().active_source(workspace_id)
    if source is None or not can("integrations.view"):
        return None
    return {"title": plugin_title(source),
            "url": url_for("ui.integrations_detail", plugin=source, outcome="rejected", _anchor="webhook-log-card")}


def _plugin_choices(workspace_id: int, wanted: str) -> list[str]:
    return queries.plugin_choices(workspace_id, get_runtime().registry.names(), wanted)


@bp.get("/activity")
@require("activity.view")
def activity():
    """The events, filtered by ``plugin``, delivery ``status``, the hub's ``event`` number and
    ``about`` (an opportunity id or page address, or a sender's event id:
    ``hub.web.queries.about_clause``), one page (``page``) at a time. A
    value it cannot use (a plugin it knows nothing of, a status that is none, a page that is no
    number) is replaced, with a notice in the filter area: the page still answers 200
    (``hub.web.ui.list_filters``). A plugin no longer installed is known while the workspace has
    events of it (the Dashboard links to its dead deliveries): it is offered in the filter."""
    ws = current_user.workspace_id
    args = ListArgs()
    plugins = _plugin_choices(ws, request.args.get("plugin") or "")
    filters = {"plugin": args.choice("plugin", plugins, "plugin", "every plugin's events"),
               "status": args.choice("status", DELIVERY_STATUSES, "delivery status", "every status")}
    event_id = args.whole_number("event", "event number")
    filters["event"] = event_id or ""
    filters["about"] = args.text("about", "The opportunity or webhook id")
    about = queries.opportunity_or_event_id(filters["about"], ws) if filters["about"] else None
    page = queries.paginate(queries.events_query(ws, plugin=filters["plugin"] or None,
                                                 status=filters["status"] or None, event_id=event_id, about=about),
                            args.page(),
                            count_limit=queries.COUNT_LIMIT)
    context = {"page": page, "filters": filters, "statuses": DELIVERY_STATUSES, "notices": args.notices,
               "plugins": plugins, "pending": queries.work_pending(ws),
               "redact": queries.redact, "event_title": event_title, "external_id_label": external_id_label, "filtered": any(filters.values()),
               "subjects": event_subjects(page.items), "event_summary": event_summary,
               "stage_notes": stage_notes(ws, page.items),
               "not_delivered": not_delivered, "hook_label": hook_label,
               "enabled": enabled_plugins(ws), "replay_unavailable": replay_check(ws),
               # the buttons are in the page's header, not in the fragment it re-fetches
               "bulk": bulk_counts(ws, filters["plugin"], filters["status"])
               # not for one event: "Replay all dead" would act beyond what the page shows
               if can("deliveries.replay") and not request.args.get("fragment") and event_id is None else {},
               "return_to": this_page_url(),
               "webhook_log": source_webhook_log(ws) if filters["about"] else None,
               "why_empty": None if page.total or any(filters.values()) else no_events(current_user, "no-activity",
                                                                                          "activity")}
    if request.args.get("fragment"):
        return render_template("activity/_events.html", **context)
    return render_template("activity/list.html", **context)


@bp.post("/activity/deliveries/<id64:delivery_id>/replay")
@require("deliveries.replay")
def activity_replay(delivery_id: int):
    ws = current_user.workspace_id
    delivery = queries.get_delivery(ws, delivery_id)
    was = delivery.status
    named = delivery_words(delivery)  # before the replay: its commit expires the rows
    try:
        services.replay_delivery(get_runtime(), ws, delivery_id, current_user)
        # queued, not done: a worker runs it (Activity, or the candidate's page, shows how it went)
        flash(sentence(f"{named} is queued to run now, without waiting for its next retry" if was == "retry"
                       else f"{named} is queued to run again"), "success")
    except Conflict as exc:
        flash(sentence(exc.message), "error")
    # back to Activity, or to the candidate page whose "Not delivered" card the replay came from
    back = request.form.get("next")
    return redirect(safe_next(back, within="/activity") or safe_next(back, within="/candidates")
                    or url_for("ui.activity"))


# replayed per click (as per API call): each costs two commits, and the request must end well within
# the server's timeout
BULK_LIMIT = BULK_REPLAY_LIMIT


@bp.post("/activity/deliveries/replay-all")
@require("deliveries.replay")
def activity_replay_all():
    """Replay every dead delivery (``status=dead``) or every one cancelled by a disable or revoke of
    a plugin enabled again (``status=cancelled``), of the events Activity's ``plugin`` filter shows
    (all without one), as ``hub deliveries replay --all-dead`` does (``services.replay_all``): one of
    a disabled plugin is skipped with the reason; the flash counts both."""
    ws = current_user.workspace_id
    back = safe_next(request.form.get("next"), within="/activity") or url_for("ui.activity")
    status = request.form.get("status") or ""
    plugin = request.form.get("plugin") or ""
    if status not in BULK_LABELS:
        flash("Only the dead deliveries, or the cancelled ones, can be replayed all at once.", "error")
        return redirect(back)
    if plugin and plugin not in _plugin_choices(ws, plugin):
        flash(f"No plugin named “{plugin[:MAX_FILTER_LENGTH]}” has events here; nothing was replayed.", "error")
        return redirect(back)
    try:
        result = services.replay_all(get_runtime(), ws, status, current_user, plugin=plugin or None,
                                     limit=BULK_LIMIT)
    except HubError as exc:
        flash(sentence(exc.message), "error")
        return redirect(back)
    message, category = bulk_message(result, BULK_LABELS[status], plugin_title(plugin) if plugin else None)
    flash(message, category)
    return redirect(back)


def bulk_message(result: services.BulkReplay, what: str, plugin: str | None) -> tuple[str, str]:
    """The flash of a "Replay all": how many were replayed, and how many were not and why."""
    scope = f" of {plugin}" if plugin else ""
    if not result.replayed and not result.skipped:
        return f"There is no {what} delivery{scope} to replay.", "info"
    count = len(result.replayed)
    text = f"{count} {what} deliver{'y' if count == 1 else 'ies'}{scope} replayed."
    for reason, skipped in result.reasons().items():
        text += f" {skipped} not replayed: {sentence(reason)}"
    if result.remaining:
        text += f" {result.remaining} more {'is' if result.remaining == 1 else 'are'} left: replay all again to go on."
    return text, "warning" if result.skipped else "success"
