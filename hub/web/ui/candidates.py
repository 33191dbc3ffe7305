"""``/candidates``: every invitation the user may see (Limited Team Members: only postings they
are on), with filters, search and pagination; a detail page with the timeline, what the hub has
not delivered about the invitation (``undelivered``) and, for Admins, re-invite (not for a
candidate deleted in the ATS, whose data the hub erased) and cancel. Both refresh themselves: ``static/hub.js`` re-fetches their ``?fragment=1``
through the same view (so a Limited Team Member's visibility applies to every refresh).
An open invitation whose provider is not enabled says on both that its result cannot arrive
(``idle_providers``); a Limited Team Member's 404 says that the invitation does not exist or is on
a posting they are not on, alike for both (``NOT_VISIBLE``)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.entities import INVITATION_STATUSES
from hub.engine.runner import DEFERRED_PREFIX, WAITING_FOR_RECONNECTION, is_deferring, is_waiting_for_reconnection
from hub.errors import Conflict, NotFound
from hub.kit.provider import NO_EMAIL_REASON
from hub.runtime import get_runtime
from hub.store.models import utcnow
from hub.web import queries
from hub.web.live import LiveError, list_archive_reasons, list_stages, plugin_title
from hub.web.permissions import can, require, visibility_notice, visible_posting_ids
from hub.web.ui import bp
from hub.web.ui.activity import enabled_plugins, replay_check
from hub.web.ui.empty_states import no_invitations
from hub.web.ui.helpers import as_aware, humanize, relative_time, sentence, this_page_url
from hub.web.ui.list_filters import ListArgs


@bp.get("/candidates")
@require("candidates.view")
def candidates():
    """The list, the most recently updated invitation first, filtered by ``status``,
    ``assessment``, ``posting`` and the search ``q``, one page (``page``) at a time. A value it cannot use (a search too long, a choice not offered, a page
    that is no number) is replaced, with a notice in the filter area: the page still answers 200
    (``hub.web.ui.list_filters``). The refresh's fragment reads them the same way."""
    args = ListArgs()
    fragment = bool(request.args.get("fragment"))
    # the refresh (every few seconds per open tab) reads the options only to check a choice given
    needs_options = not fragment or request.args.get("assessment") or request.args.get("posting")
    options = (queries.invitation_filter_options(current_user, request.args.get("posting")) if needs_options
               else {"assessments": [], "postings": [], "posting_choices": []})
    filters = {
        "status": args.choice("status", INVITATION_STATUSES, "status", "every status"),
        "assessment": args.choice("assessment", [value for value, _ in options["assessments"]], "assessment",
                                  "every assessment"),
        "posting": args.choice("posting", [value for value, _ in options["posting_choices"]], "posting",
                               "every posting"),
        "q": args.text("q", "The search text"),
    }
    query = queries.invitations_query(current_user, status=filters["status"] or None,
                                      assessment=filters["assessment"] or None,
                                      posting=filters["posting"] or None, q=filters["q"] or None,
                                      by_update=True)
    page = queries.paginate(query, args.page(), count_limit=queries.COUNT_LIMIT)
    filtered = any(filters.values())
    context = {"page": page, "filters": filters, "posting_names": queries.posting_names(current_user.workspace_id),
               "filtered": filtered, "pending": _pending(),
               "idle": idle_providers(current_user.workspace_id, [row for row in page.items if row.status in OPEN]),
               "why_empty": None if page.total or (filtered and not _sees_no_posting())
               else no_invitations(current_user, "no-candidates", "empty")}
    if fragment:  # the list alone, re-fetched by static/hub.js: the same query, the same view
        return _fragment("candidates/_list.html", context)
    return render_template("candidates/list.html", statuses=INVITATION_STATUSES, options=options,
                           return_to=this_page_url(), notices=args.notices,
                           **context)


def _sees_no_posting() -> bool:
    """Whether the user sees the candidates of no posting at all: a Limited Team Member on none, or
    whose postings cannot be read now (``visibility_notice``). No filter can find anyone then, so
    the list says why it is empty, and whom to ask, with filters as without."""
    return not can("candidates.view_all") and (bool(visibility_notice()) or not visible_posting_ids())


def _pending() -> bool:
    """Work waiting anywhere in the workspace (the pages then refresh every 4 s, not 20): shown only
    to those who see every posting, so a Limited Team Member's page does not tell about others'."""
    return can("candidates.view_all") and queries.work_pending(current_user.workspace_id)


def _fragment(template: str, context: dict):
    """A refresh's fragment; 503 when the postings the user may see could not be read, so the page
    keeps what it shows (with its notice) instead of an empty list."""
    if visibility_notice():
        return visibility_notice(), 503, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    return render_template(template, **context)


@bp.get("/candidates/<int:invitation_id>")
@require("candidates.view")
def candidates_detail(invitation_id: int):
    try:
        row = queries.get_visible_invitation(current_user, invitation_id)
    except NotFound:
        if visibility_notice():
            return _unreadable()
        if not can("candidates.view_all"):  # the same words for one not on their postings as for none
            raise NotFound(NOT_VISIBLE) from None
        raise
    timeline = readable_timeline(row)
    erased = any(entry.kind == queries.ERASED for entry in timeline)
    found = queries.undone_deliveries(row)  # the one read of its deliveries: the Sending line's and the list's
    undone = undelivered(row, found)
    context = {"row": row, "timeline": timeline,
               "posting_names": queries.posting_names(current_user.workspace_id),
               "erased": erased, "reinvitable": row.status in services.REINVITABLE,
               "can_reinvite": row.status in services.REINVITABLE and not erased,
               "can_cancel": row.status in services.CANCELLABLE,
               "provider_state": services.provider_state(get_runtime(), current_user.workspace_id, row.provider),
               "sending": sending(row, found), "undelivered": undone,
               "undelivered_to": undelivered_to(undone), "pending": _pending(),
               "no_email_in": no_email_in(row, erased),
               "idle": idle_providers(current_user.workspace_id, [row] if row.status in OPEN else [])}
    context["cancel_confirm"] = cancel_confirm(row, context["provider_state"])
    context["reinvite_cautions"] = reinvite_cautions(row, timeline) if context["can_reinvite"] else []
    # a Replay of a plugin not enabled now would be refused: shown disabled, saying why (as on Activity)
    context["enabled"] = enabled_plugins(current_user.workspace_id) if undone else frozenset()
    context["replay_unavailable"] = replay_check(current_user.workspace_id)
    if request.args.get("fragment"):  # re-fetched by static/hub.js, through the same visibility check
        return _fragment("candidates/_detail.html", context)
    return render_template("candidates/detail.html", **context)


# a Limited Team Member's 404 for an invitation: said alike whether it does not exist or is on a
# posting they are not on, so it tells nothing of which invitations exist
NOT_VISIBLE = "no such invitation: it does not exist, or it is on a posting you are not on"

# the statuses of an open invitation: its provider has yet to send it, or to report its result
OPEN = services.CANCELLABLE
# why a provider is idle (``queries.idle_providers``, for one not enabled) -> what it waits for
IDLE_UNTIL = {
    "is disabled": "enabled again",
    "has its access revoked": "connected again",
    "is not connected": "enabled and connected",
    "is not installed": "installed again",
}


@dataclass(frozen=True)
class IdleProvider:
    """Why an open invitation's provider can neither send it nor report its result now."""

    plugin: str
    title: str
    why: str  # "is disabled", "has its access revoked"...
    until: str  # "enabled again"...
    installed: bool  # its integration page exists (the note links to it)


def idle_providers(workspace_id: int, rows) -> dict[str, IdleProvider]:
    """Of the providers of the open invitations ``rows``, those not enabled now -> why: the hub then
    refuses their webhooks (``hub.web.webhooks``) and sends them nothing, so such an invitation's
    result cannot arrive (nor, while pending, the invitation be sent) until the provider is enabled
    and connected again. Read from the database (``queries.idle_providers``), never the vendor.
    One enabled but failing (needs reconnecting, no credentials yet) is left out: its webhooks
    are still taken."""
    wanted = {row.provider for row in rows} - enabled_plugins(workspace_id) if rows else set()
    specs = get_runtime().registry.specs
    return {plugin: IdleProvider(plugin, plugin_title(plugin), why, IDLE_UNTIL.get(why, "enabled and connected"),
                                 plugin in specs)
            for plugin, why in queries.idle_providers(workspace_id, wanted).items()}


# the statuses in which the candidate has their link to the test: a cancel their provider is not
# told of leaves it working
LINK_SENT = ("invited", "started")


def not_told(title: str, status: str, candidate_name: str | None, tense: str = "will not be") -> str:
    """That the provider (``title``), disconnected, is not told of a cancel, and what follows for
    the candidate: with their link sent, they can still take the test."""
    text = f"{title} is disconnected, so it {tense} told"
    if status in LINK_SENT:
        text += f": {candidate_name or 'the candidate'} can still open their link and take the test"
    return text + "."


def cancel_confirm(row, provider_state: str) -> str:
    """What the Cancel button asks first: whether the invitation's provider is told (it withdraws
    the invitation where it can) or, disconnected, not, and then the candidate keeps their link."""
    title = plugin_title(row.provider)
    if provider_state == "gone":
        return "Cancel this invitation in the hub? " + not_told(title, row.status, row.candidate_name)
    return f"Cancel this invitation? {title} is told, and withdraws it if it supports withdrawing invitations."


# the timeline kind a source plugin notes when it archives the candidate itself (Lever, on a thumbs down)
ARCHIVED_KIND = "archived"


def reinvite_cautions(row, timeline) -> list[str]:
    """Why sending the assessment again may not be meant, as sentences for the Re-invite
    confirmation and the note beside it: the candidate is archived in the ATS (the latest archive
    change it reported, or, with none reported, the ATS plugin's note that it archived them), or
    the assessment is no longer attached to the invitation's stage. Re-inviting stays possible: it may be meant."""
    cautions = []
    archived = queries.archived_at_source(row.workspace_id, row.opportunity_id)
    noted = [entry for entry in timeline if entry.kind == ARCHIVED_KIND]
    if archived or (archived is None and noted):
        who = row.candidate_name or "The candidate"
        source = get_runtime().active_source(row.workspace_id)
        where = plugin_title(source) if source else "the ATS"
        cautions.append(f"{who} is archived in {where}" + (" (the hub archived them there)"
                                                            if archived is None else "") + ".")
    if row.attachment is not None and row.attachment.detached_at is not None:
        # that stage only: the same assessment may still be attached to another one
        cautions.append(f"{row.assessment_name} is no longer attached to “{row.attachment.stage_name}” "
                        f"({row.attachment.posting_name}).")
    return cautions


def no_email_in(row, erased: bool) -> str | None:
    """For an invitation that failed because the candidate has no valid email address in the ATS
    (``NO_EMAIL_REASON``), where to add it: the title of the workspace's ATS ("the ATS" when none
    is enabled now), for the next step the page gives beside the reason. None for any other
    invitation, or a candidate deleted in the ATS (there is no one to add it to)."""
    if row.status != "failed" or row.failure_reason != NO_EMAIL_REASON or erased:
        return None
    source = get_runtime().active_source(row.workspace_id)
    return plugin_title(source) if source else "the ATS"


def _unreadable():
    """A Limited Team Member's candidate while the postings they are on cannot be read: 503 with
    the notice the list shows (not 404: the candidate may well be theirs). Whatever the id, so the
    answer tells nothing of which invitations exist."""
    headers = {"Cache-Control": "no-store", "Retry-After": "60"}
    if request.args.get("fragment"):
        return visibility_notice(), 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}
    return render_template("candidates/unavailable.html", notice=visibility_notice()), 503, headers


@dataclass(frozen=True)
class Sending:
    """Where the sending of a pending invitation stands: the newest delivery to its provider of an
    event about the candidate (their stage change, a re-invite), and when it is tried again."""

    status: str
    attempts: int
    last_error: str | None
    next_attempt: str | None  # "in 2 minutes", "in a few seconds"; None unless status is "retry"


# the hooks whose deliveries send an invitation: a stage change into the attached stage, a re-invite
SENDING_HOOKS = ("on_stage_change", "on_reinvite_requested")


def sending(row, found: list | None = None) -> Sending | None:
    """For a ``pending`` invitation, how its sending is going (None for any other status, or when
    no delivery that could send it is open): so the page says "the hub tries again in 2 minutes"
    rather than a bare "Pending" while the vendor is failing.

    The deliveries that could send it: to its provider, of a stage change of its opportunity into
    its attachment's stage, or of a re-invite of it. An open (or dead) one is shown before a newer
    one that is done, which may be about something else (a stage change of another attachment).
    A stage change that names no stage (``to_stage_id`` empty: the candidate's current one, found
    by the provider's re-read) may be the one that sends it. ``found``: the invitation's deliveries
    not done (``queries.undone_deliveries``), when the caller has read them already."""
    if row.status != "pending":
        return None
    stage_id = row.attachment.stage_id if row.attachment is not None else None
    if found is None:
        found = queries.undone_deliveries(row)
    delivery = next((d for d, type_, payload in found
                     if d.plugin == row.provider and d.hook in SENDING_HOOKS
                     and (type_ != "stage_change" or (payload or {}).get("to_stage_id") in (stage_id, ""))), None)
    if delivery is None:
        return None
    return Sending(delivery.status, delivery.attempts, delivery.last_error, next_attempt_words(delivery))


def next_attempt_words(delivery) -> str | None:
    """When a delivery in ``retry`` runs again, in words ("in 2 minutes", "in a few seconds")."""
    if delivery.status != "retry":
        return None
    due = delivery.next_attempt_at
    soon = due is None or as_aware(due) - utcnow() < timedelta(seconds=45)  # "just now" would mislead
    return "in a few seconds" if soon else relative_time(due)


@dataclass(frozen=True)
class Undelivered:
    """A delivery about the invitation that is not done, as the candidate's page names it."""

    id: int
    plugin: str
    event_type: str
    carries: str  # what it carries, in words: "the result", "the verdict"...
    status: str  # dead, cancelled, retry, waiting (a retry whose last run deferred) or reconnecting
    # (a retry waiting for its plugin's connection to be reconnected)
    delivery_status: str  # as stored (dead, cancelled, retry): Activity's filter and the replay's label
    attempts: int
    last_error: str | None  # for a waiting or reconnecting one, what it waits for (without the engine's prefix)
    next_attempt: str | None


# what an event carries to a plugin, in words, by event type
CARRIES = {
    "assessment_completed": "the result",
    "verdict": "the verdict",
    "invitation_progress": "the invitation's status",
    "reinvite_requested": "the re-invite",
    "stage_change": "the invitation",
    "archive_change": "the archiving",
    "hired": "the hire",
    "candidate_deleted": "the candidate's deletion",
}
# the statuses of a delivery that are not done and not under way: what the page names
UNDONE = ("dead", "cancelled", "retry")


def undelivered(row, found: list) -> list[Undelivered]:
    """The deliveries about the invitation that are not done and not under way (dead, cancelled,
    retrying or waiting), newest first, from ``found`` (``queries.undone_deliveries``): so a
    result's note that never reached the ATS, or a verdict still waiting for it, is said on the
    page rather than only on Activity. Left out: the sending of the invitation to its provider
    (a stage change, a re-invite: the Sending line's, while it is pending; once it was sent, or
    cancelled, an undone one is moot), a stage change into another stage, and news of an earlier
    round (the engine cancels it as superseded; so would a replay)."""
    out = []
    for delivery, type_, payload in found:
        payload = payload if isinstance(payload, dict) else {}
        if delivery.status not in UNDONE:
            continue
        if delivery.plugin == row.provider and delivery.hook in SENDING_HOOKS:
            continue
        if payload.get("round") is not None and payload.get("round") != row.round:
            continue
        carries = CARRIES.get(type_) or f"the {humanize(type_).lower()}"
        if type_ == "invitation_progress" and isinstance(payload.get("status"), str) and payload["status"]:
            carries = f"{carries} ({humanize(payload['status']).lower()})"
        elif type_ == "archive_change" and payload.get("archived") is False:
            carries = "the return from the archive"
        error, status = delivery.last_error, delivery.status
        if is_deferring(delivery.status, error):
            error, status = error[len(DEFERRED_PREFIX):] or None, "waiting"
        elif is_waiting_for_reconnection(delivery.status, error):
            error, status = error[len(WAITING_FOR_RECONNECTION):] or None, "reconnecting"
        out.append(Undelivered(delivery.id, delivery.plugin, type_, carries, status,
                               delivery.status, delivery.attempts, error, next_attempt_words(delivery)))
    return out


def undelivered_to(undone: list[Undelivered]) -> dict[str, list[str]]:
    """Event type -> the plugins (names) that a delivery of it has not reached, in page order: so
    the score says "not delivered to Lever" next to itself."""
    out: dict[str, list[str]] = {}
    for item in undone:
        plugins = out.setdefault(item.event_type, [])
        if item.plugin not in plugins:
            plugins.append(item.plugin)
    return out


@dataclass(frozen=True)
class TimelineLine:
    """A timeline entry as the page shows it (``detail`` made readable)."""

    id: int
    at: datetime
    kind: str
    source: str
    detail: str


# The placeholders of a timeline entry's detail that its refs fill: the ref key, and which of the
# source's lists names it (``_names``)
PLACEHOLDERS = {"stage": "stages", "archive_reason": "archive_reasons"}
PLACEHOLDER = re.compile(r"\{(?P<ref>" + "|".join(PLACEHOLDERS) + r")\}")
# Only for entries without refs (written before refs existed, still in users' databases): the ids
# were in the Lever plugin's words. New entries carry refs; do not add patterns here.
ARCHIVE_REASON_ID = re.compile(r"\(reason (?P<id>[^()\s]+)\)")
STAGE_ID = re.compile(r"\bto stage (?P<id>\S+)")
NOTE_ID = re.compile(r"^(?P<title>\S.*?) note (?P<id>\S+)$")
NAMES_SECONDS = 60.0


def readable_timeline(row) -> list[TimelineLine]:
    """The invitation's timeline for people: the ``{stage}`` and ``{archive_reason}`` of an
    entry's detail filled from its refs with the name (read from the source, as on the Pipeline
    page; the id when the source does not know it or cannot be read), and no note id of the ATS."""
    runtime = get_runtime()
    source = runtime.active_source(row.workspace_id)
    posting_id = row.posting_id or (row.attachment.posting_id if row.attachment is not None else None)

    def names(ref: str) -> dict[str, str]:
        if source is None:
            return {}
        return _names(row.workspace_id, PLACEHOLDERS[ref], posting_id if ref == "stage" else None)

    lines = []
    for entry in queries.timeline(row):
        if entry.refs:
            detail = _filled(entry.detail or "", entry.refs, names)
        else:  # fallback, only for rows without refs (from before refs): the old regexes
            detail = _legacy_detail(entry, source, names)
        lines.append(TimelineLine(entry.id, entry.at, entry.kind, entry.source, detail))
    return lines


def _filled(detail: str, refs: dict, names) -> str:
    """``detail`` with each ``{stage}`` / ``{archive_reason}`` whose ref is given replaced by its
    name (the id when unnamed). Any other brace is shown as written; the source is asked only for
    the names used."""
    def fill(match: re.Match) -> str:
        value = refs.get(match.group("ref"))
        if not isinstance(value, str):
            return match.group(0)
        return names(match.group("ref")).get(value) or value

    return PLACEHOLDER.sub(fill, detail)


def _legacy_detail(entry, source: str | None, names) -> str:
    """The detail of an entry without refs, with the ids the Lever plugin once wrote in its words
    shown by name (and its note id left out); any other text as written."""
    runtime = get_runtime()
    detail = entry.detail or ""
    if entry.kind == "note_written" and (match := NOTE_ID.match(detail)):
        title = runtime.registry.title(entry.source) if entry.source in runtime.registry.specs \
            else match.group("title")
        return f"note with the result written to {title}"
    if entry.kind == ARCHIVED_KIND and entry.source == source and (match := ARCHIVE_REASON_ID.search(detail)):
        name = names("archive_reason").get(match.group("id"))
        if name:
            return detail[:match.start()] + f"(reason: {name})" + detail[match.end():]
    elif entry.kind == "stage_moved" and entry.source == source and (match := STAGE_ID.search(detail)):
        name = names("stage").get(match.group("id"))
        if name:
            return detail[:match.start("id")] + f"“{name}”" + detail[match.end("id"):]
    return detail


def _names(workspace_id: int, what: str, posting_id: str | None) -> dict[str, str]:
    """Id -> name of the source's archive reasons or a posting's stages; empty when the source
    cannot be read (never an error: the ids are shown instead). The page's own refreshes reuse
    what this process read in the last ``NAMES_SECONDS``, so an open page does not ask the ATS
    every few seconds."""
    key = (workspace_id, what, posting_id)
    known = current_app.extensions.setdefault("hub.timeline_names", {})
    if request.args.get("fragment") and key in known and known[key][0] > time.monotonic():
        return known[key][1]
    try:
        items = (list_archive_reasons(workspace_id) or []) if what == "archive_reasons" \
            else list_stages(workspace_id, posting_id)
    except LiveError:
        return {}
    names = {item.id: item.name for item in items}
    known[key] = (time.monotonic() + NAMES_SECONDS, names)
    return names


@bp.post("/candidates/<int:invitation_id>/reinvite")
@require("invitations.manage")
def candidates_reinvite(invitation_id: int):
    queries.get_visible_invitation(current_user, invitation_id)  # 404 for one the user cannot see
    try:
        services.reinvite_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
        flash("The invitation is being sent again.", "success")
    except Conflict as exc:
        flash(sentence(exc.message), "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))


@bp.post("/candidates/<int:invitation_id>/cancel")
@require("invitations.manage")
def candidates_cancel(invitation_id: int):
    row = queries.get_visible_invitation(current_user, invitation_id)
    runtime = get_runtime()
    gone = services.provider_state(runtime, current_user.workspace_id, row.provider) == "gone"
    was, name = row.status, row.candidate_name  # before the cancel changes them
    try:
        services.cancel_invitation(runtime, current_user.workspace_id, invitation_id, current_user)
        flash("The invitation is cancelled in the hub; " + not_told(plugin_title(row.provider), was, name, "was not")
              if gone else "The invitation is cancelled.", "success")
    except Conflict as exc:
        flash(sentence(exc.message), "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))
