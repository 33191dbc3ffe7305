"""Queries shared by the admin pages and the JSON API, each scoped to the user's workspace
(and, for Limited Team Members, to the postings they are on)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Iterable, TypeVar
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hub.engine import ingest
from hub.engine.runner import DEFERRED_PREFIX, source_failed, source_needs_reauthorization
from hub.entities import EVENT_TYPES
from hub.errors import NotFound, readable_error
from hub.extensions import db
from hub.store import attachments as attachment_store
from hub.store.search_text import fold
from hub.store.models import (
    D_DONE, D_OPEN, D_RETRY, Attachment, AuditEntry, Delivery, Event, Invitation, TimelineEntry, User, utcnow,
)
from hub.web.permissions import visible_posting_ids
from hub.web.schemas import MAX_FILTER_LENGTH

T = TypeVar("T")

PAGE_SIZE = 25
REDACT_MARKERS = ("token", "secret", "signature", "password", "key")


# the list pages count matching rows up to this many, then say "more than" it: a count of every
# row of a large history (run again by each open tab's refresh) costs more than the page itself
COUNT_LIMIT = 10_000


@dataclass
class Page(Generic[T]):
    """One page of a list. ``total`` is every matching row, or ``COUNT_LIMIT`` when
    ``total_capped`` (there are more: the page number is then the only position shown)."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_capped: bool = False
    more: bool | None = None  # rows after this page (read with it); None: known from ``total``

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.more if self.more is not None else self.page < self.pages


def paginate(query: sa.Select, page: int, per_page: int = PAGE_SIZE, count_limit: int | None = None) -> Page:
    """Page ``page`` of ``query``, ``per_page`` rows (1-200). With ``count_limit``, rows are counted
    only up to it (``Page.total_capped`` past it), and whether a next page exists is read with the
    page's rows, so "Next" stays right beyond the count."""
    page = max(1, int(page or 1))
    per_page = max(1, min(200, int(per_page or PAGE_SIZE)))
    counted = query.order_by(None) if count_limit is None else query.order_by(None).limit(count_limit + 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted.subquery())) or 0
    fetch = per_page if count_limit is None else per_page + 1
    items = list(db.session.scalars(query.limit(fetch).offset((page - 1) * per_page)).unique())
    if count_limit is None:
        return Page(items, page, per_page, total)
    return Page(items[:per_page], page, per_page, min(total, count_limit), total > count_limit,
                more=len(items) > per_page)


# the highest page a list page asks for (hub.web.ui.list_filters; the API checks its own)
MAX_PAGE = 1_000_000


# --------------------------------------------------------------------------- invitations


POSTING_OF = sa.func.coalesce(Invitation.posting_id, Attachment.posting_id)


def _visible(query: sa.Select, user) -> sa.Select:
    visible = visible_posting_ids(user)
    if visible is None:
        return query
    if not visible:
        return query.where(sa.false())
    return query.where(POSTING_OF.in_(sorted(visible)))


def invitations_query(user, status: str | None = None, assessment: str | None = None,
                      posting: str | None = None, q: str | None = None, by_update: bool = False) -> sa.Select:
    """Invitations the user may see, newest first; with ``by_update``, the most recently updated
    first (the Candidates page: a row that changes moves up, so paging through it while invitations
    change may show a row twice or skip one; the API keeps the stable order). ``assessment`` is
    ``"provider:assessment_id"``."""
    query = (sa.select(Invitation).join(Attachment, Attachment.id == Invitation.attachment_id)
             .where(Invitation.workspace_id == user.workspace_id)
             .options(selectinload(Invitation.attachment)))
    query = _visible(query, user)
    if status:
        query = query.where(Invitation.status == status)
    if assessment:
        provider, _, assessment_id = assessment.partition(":")
        query = query.where(Invitation.provider == provider, Invitation.assessment_id == assessment_id)
    if posting:
        query = query.where(POSTING_OF == posting)
    if q and q.strip():
        query = query.where(search_matches(q))
    if by_update:
        return query.order_by(Invitation.updated_at.desc(), Invitation.id.desc())
    return query.order_by(Invitation.id.desc())


def search_matches(text: str) -> sa.ColumnElement:
    """Invitations whose candidate's name or email holds ``text``, whatever the case and the
    accents of either: the term folded as ``Invitation.search_text`` is (``hub.store.search_text``),
    then a ``LIKE '%term%'`` over it, which PostgreSQL answers from the trigram index of migration
    2d7f4b9e6a15. An erased candidate (no name, no email) matches nothing."""
    needle = fold(text.strip())
    if not needle:  # only marks that fold away (a lone combining accent): it names no one
        return sa.false()
    return Invitation.search_text.contains(needle, autoescape=True)


def get_visible_invitation(user, invitation_id: int) -> Invitation:
    """The invitation, if it is in the user's workspace and on a posting they may see; else 404."""
    query = (sa.select(Invitation).join(Attachment, Attachment.id == Invitation.attachment_id)
             .where(Invitation.id == invitation_id, Invitation.workspace_id == user.workspace_id))
    row = db.session.scalar(_visible(query, user))
    if row is None:
        raise NotFound("no such invitation")
    return row


def timeline(invitation: Invitation) -> list[TimelineEntry]:
    return list(db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.invitation_id == invitation.id)
                                   .order_by(TimelineEntry.at, TimelineEntry.id)))


# the kind of the timeline entry ``hub.engine.ingest.erase_candidate`` writes: the candidate was
# deleted at the source and the hub erased their name and email (no column says so)
ERASED = ingest.ERASED  # the timeline kind of a candidate erased at the source


# how many not-done deliveries a candidate's page reads at most (newest first)
UNDONE_LIMIT = 50


def archived_at_source(workspace_id: int, opportunity_id: str) -> bool | None:
    """What the latest archive change the source reported about the opportunity says: archived
    (True), taken out of the archive (False), or None when it reported none."""
    payload = db.session.scalar(sa.select(Event.payload).where(
        Event.workspace_id == workspace_id, Event.subject == opportunity_id, Event.type == "archive_change")
        .order_by(Event.id.desc()).limit(1))
    return None if payload is None else bool((payload or {}).get("archived", True))


def undone_deliveries(invitation: Invitation, limit: int = UNDONE_LIMIT) -> list[sa.Row]:
    """The deliveries not done of the events about ``invitation``, newest first, in one query:
    rows of ``Delivery``, its event's ``type`` and ``payload``. About it: every event whose subject
    is ``invitation:<id>`` (its progress, result, verdict, re-invite), to any plugin; and the
    events of its opportunity (``Event.subject`` is the source's id: stage and archive changes,
    hire) delivered to its provider. The caller sorts out which matter (a stage change into
    another stage, news of an earlier round)."""
    return list(db.session.execute(undone_deliveries_query(invitation, limit)))


def undone_deliveries_query(invitation: Invitation, limit: int) -> sa.Select:
    """The statement of ``undone_deliveries``."""
    about = f"invitation:{invitation.id}"
    return (sa.select(Delivery, Event.type, Event.payload).join(Event, Delivery.event_id == Event.id)
            .where(Event.workspace_id == invitation.workspace_id, Delivery.status != D_DONE,
                   # the IN lets the database use ix_events_workspace_subject; the OR says which of the two
                   Event.subject.in_((about, invitation.opportunity_id)),
                   sa.or_(Event.subject == about,
                          sa.and_(Event.subject == invitation.opportunity_id, Delivery.plugin == invitation.provider)))
            .order_by(Delivery.id.desc()).limit(limit))


def told_apart(labels: dict[str, str]) -> dict[str, str]:
    """``labels`` (id -> label) with each label that two ids share ended by the last characters of
    its id ("QA Engineer (…a1b2c3)"): postings of one name, told apart in a select."""
    counts = Counter(labels.values())
    return {key: f"{label} (…{key[-6:]})" if counts[label] > 1 else label for key, label in labels.items()}


def invitation_filter_options(user, chosen_posting: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The assessments and postings to offer in the candidates filters (only what the user may see).

    ``postings`` offers the postings with invitations (and ``chosen_posting``, the filter's value,
    when it is one of ``posting_choices``): a large account attaches to many postings, and a
    select of every one, most with nobody invited, hid those that matter. ``posting_choices`` are
    the values the filter takes: every posting with an attachment (a link right after a backfill
    names one whose invitations are still being sent). Names two postings share end with the last
    characters of their id."""
    base = (sa.select(Invitation.provider, Invitation.assessment_id, Invitation.assessment_name)
            .join(Attachment, Attachment.id == Invitation.attachment_id)
            .where(Invitation.workspace_id == user.workspace_id).distinct())
    assessments = sorted({(f"{p}:{a}", name or a) for p, a, name in db.session.execute(_visible(base, user))},
                         key=lambda item: item[1].lower())
    postings_query = (sa.select(Attachment.posting_id, Attachment.posting_name)
                      .where(Attachment.workspace_id == user.workspace_id).distinct())
    visible = visible_posting_ids(user)
    names: dict[str, str] = {}
    for pid, name in db.session.execute(postings_query):
        if visible is None or pid in visible:
            names.setdefault(pid, name or pid)
    invited = set(db.session.scalars(_visible(
        sa.select(POSTING_OF).join(Attachment, Attachment.id == Invitation.attachment_id)
        .where(Invitation.workspace_id == user.workspace_id).distinct(), user)))
    offered = {pid for pid in names if pid in invited or pid == chosen_posting}
    labelled = told_apart(names)
    postings = sorted(((pid, labelled[pid]) for pid in offered), key=lambda item: item[1].lower())
    choices = sorted(labelled.items(), key=lambda item: item[1].lower())
    return {"assessments": assessments, "postings": postings, "posting_choices": choices}


def posting_names(workspace_id: int) -> dict[str, str]:
    rows = db.session.execute(sa.select(Attachment.posting_id, Attachment.posting_name)
                              .where(Attachment.workspace_id == workspace_id))
    return {pid: name for pid, name in rows}


def invitation_counts_since(user, days: int = 7) -> dict[str, int]:
    since = utcnow() - timedelta(days=days)
    query = (sa.select(Invitation.status, sa.func.count(Invitation.id))
             .join(Attachment, Attachment.id == Invitation.attachment_id)
             .where(Invitation.workspace_id == user.workspace_id, Invitation.created_at >= since)
             .group_by(Invitation.status))
    return {status: count for status, count in db.session.execute(_visible(query, user))}


# --------------------------------------------------------------------------- attachments


def attachments(workspace_id: int) -> list[Attachment]:
    """The workspace's live attachments by posting, stage and id."""
    return list(db.session.scalars(sa.select(Attachment).where(
        Attachment.workspace_id == workspace_id, Attachment.detached_at.is_(None))
        .order_by(Attachment.posting_name, Attachment.stage_name, Attachment.id)))


def matching_attachments(rows: list[Attachment], q: str) -> list[Attachment]:
    """The ``rows`` (``attachments``) whose posting, stage or assessment name holds ``q``, whatever
    the case and the accents (the Pipeline page's search). Compared in Python, folded as the
    Candidates search folds (SQLite's ``lower()`` knows ASCII only): a workspace has hundreds of
    attachments, not the invitations' hundreds of thousands."""
    needle = fold(q.strip())
    return [row for row in rows if needle and any(
        needle in fold(name or "") for name in (row.posting_name, row.stage_name, row.assessment_name))]


def page_of(rows: list[T], page: int, per_page: int = PAGE_SIZE) -> Page[T]:
    """``paginate`` for a list already read."""
    page = max(1, int(page or 1))
    return Page(rows[(page - 1) * per_page:page * per_page], page, per_page, len(rows))


def visible_attachments(user) -> list[Attachment]:
    """The live attachments of the postings ``user`` may see (every one but a Limited Team
    Member's), so what a page says of them tells nothing about other postings."""
    rows = attachments(user.workspace_id)
    visible = visible_posting_ids(user)
    return rows if visible is None else [row for row in rows if row.posting_id in visible]


def stage_count(rows) -> int:
    """How many stages (of postings) ``rows`` (attachments) are attached to."""
    return len({(row.posting_id, row.stage_id) for row in rows})


def has_visible_invitations(user) -> bool:
    query = invitations_query(user).order_by(None).limit(1)
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) > 0


def idle_providers(workspace_id: int, providers) -> dict[str, str]:
    """Of ``providers`` (plugin names), those that invite nobody now -> why, in words ("is disabled",
    "has its access revoked"...). Their attachments stay, but a candidate entering the stage gets
    nothing: the engine delivers only to enabled plugins, and one without its credentials fails."""
    from hub.runtime import get_runtime
    from hub.store.models import Integration

    wanted = set(providers)
    if not wanted:
        return {}
    registry = get_runtime().registry
    rows = {row.plugin: row for row in db.session.scalars(sa.select(Integration).where(
        Integration.workspace_id == workspace_id, Integration.plugin.in_(wanted)))}
    idle: dict[str, str] = {}
    for plugin in sorted(wanted):
        row = rows.get(plugin)
        spec = registry.specs.get(plugin)
        if spec is None:
            idle[plugin] = "is not installed"
        elif row is None:
            idle[plugin] = "is not connected"
        elif row.status == "revoked":
            idle[plugin] = "has its access revoked"
        elif not row.enabled:
            idle[plugin] = "is disabled"
        elif row.status == "needs_reauthorization":
            idle[plugin] = "needs reconnecting"
        elif spec.secret_fields and not row.secrets_encrypted:
            idle[plugin] = "has no credentials yet"
    return idle


# --------------------------------------------------------------------------- webhooks

# The refusals (``WebhookLog`` lines "rejected") after which what the webhook carried is lost until
# its sender sends it again, whatever it retries, while nobody changes the hub: "disabled", refused
# because the integration was disabled (404 with ``hub.web.webhooks.DISABLED_MESSAGE``: a plugin's
# own 404 is not one); "unverified", 401 or 403, not proven to come from the vendor (no secret to
# check it with, a signature that does not match, too old). Left out: a malformed or invalid body
# (400, 413, 422: that one request's content), a plugin's other refusals, and 5xx (the hub or the
# plugin failed: the sender retries). A request at an unknown key (an old URL after a revoke) is
# refused before any workspace is known, so it has no line here (only the metric ``unknown_url``).
LOST_REFUSALS = ("disabled", "unverified")


def refused_while_disabled():
    """The ``WebhookLog`` lines of webhooks refused because their integration was disabled (by
    the ingress's own 404 and message, whatever the integration's title was then)."""
    from hub.store.models import WebhookLog
    from hub.web.webhooks import DISABLED_MESSAGE

    suffix = DISABLED_MESSAGE.format(title="")
    return sa.and_(WebhookLog.outcome == "rejected", WebhookLog.status_code == 404,
                   WebhookLog.message.like("%" + suffix))


def refused_webhooks(workspace_id: int, since) -> dict[str, dict]:
    """Plugin -> the webhooks refused since ``since`` with their work lost (``LOST_REFUSALS``):
    ``total``, ``last_at``, and ``reasons``, each reason -> ``count`` and ``message`` (its
    latest line's), in the order of ``LOST_REFUSALS``. A refusal whose body the sender sent again
    later and the hub took (a retry after the integration was enabled again: any outcome but
    rejected, by ``WebhookLog.body_digest``) lost nothing and is not counted; a sender that signs
    its retries into the body (a new timestamp there) makes a new body, so its refusals stay."""
    from hub.store.models import WebhookLog

    from sqlalchemy.orm import aliased

    later = aliased(WebhookLog)
    taken_again = sa.exists().where(later.workspace_id == WebhookLog.workspace_id, later.plugin == WebhookLog.plugin,
                                    later.body_digest == WebhookLog.body_digest, later.outcome != "rejected",
                                    later.id > WebhookLog.id)
    reason = sa.case((refused_while_disabled(), "disabled"),
                     (WebhookLog.status_code.in_((401, 403)), "unverified"), else_=None).label("reason")
    counted = (sa.select(WebhookLog.plugin, reason, sa.func.count().label("n"),
                         sa.func.max(WebhookLog.id).label("last_id"),
                         sa.func.max(WebhookLog.received_at).label("last_at"))
               .where(WebhookLog.workspace_id == workspace_id, WebhookLog.outcome == "rejected",
                      WebhookLog.status_code.in_((401, 403, 404)), WebhookLog.received_at >= since,
                      sa.or_(WebhookLog.body_digest.is_(None), sa.not_(taken_again)))
               .group_by(WebhookLog.plugin, reason).subquery())
    rows = db.session.execute(
        sa.select(counted.c.plugin, counted.c.reason, counted.c.n, counted.c.last_at, WebhookLog.message)
        .join(WebhookLog, WebhookLog.id == counted.c.last_id).where(counted.c.reason.is_not(None)))
    out: dict[str, dict] = {}
    for plugin, why, count, last_at, message in rows:
        item = out.setdefault(plugin, {"total": 0, "last_at": None, "reasons": {}})
        item["total"] += count
        item["last_at"] = max(filter(None, (item["last_at"], last_at)), default=None)
        item["reasons"][why] = {"count": count, "message": message}
    for item in out.values():
        item["reasons"] = {why: item["reasons"][why] for why in LOST_REFUSALS if why in item["reasons"]}
    return out


def webhook_registration(workspace_id: int, plugin: str, row=None, state=None) -> str | None:
    """Why the hub should register the integration's webhooks at its vendor (its page then offers
    "Register webhooks in <title>"), or None: the plugin can register them, the integration is
    enabled with its credentials, and "stale" (some registered ones are for an older URL of this
    connection), "missing" (some events have none registered) or "none" (none is registered, and
    nothing makes them unneeded: they were not set up by hand, with the signing secret the plugin
    names pasted, nor are they arriving: never verified, none received). ``row`` and ``state`` (its
    ``connection_state``) are read when not given."""
    from hub.runtime import get_runtime
    from hub.services import connection_state

    runtime = get_runtime()
    row = row if row is not None else runtime.integration(workspace_id, plugin)
    if row is None or not row.enabled:
        return None
    registry = runtime.registry
    if not (registry.spec(plugin).supports_webhook_setup and registry.implements(plugin, "setup_webhooks")):
        return None
    state = state if state is not None else connection_state(workspace_id, plugin, row)
    if not state.credentials_present:
        return None
    registered = list(state.webhooks)
    if registered:
        if stale_webhooks(plugin, row, registered):
            return "stale"
        return "missing" if state.webhooks_missing else None
    # webhooks set up by hand (their signing secret pasted) or already arriving need no registration:
    # registering on top of them would make the vendor send every event twice
    manual = bool(state.manual_secret_field and state.manual_secret_field in (row.secrets_meta or {}))
    arriving = bool(row.verified_at or row.last_webhook_at)
    return None if manual or arriving else "none"


def stale_webhooks(plugin: str, row, registered) -> list:
    """The webhooks registered at the vendor (``connection_state(...).webhooks``) whose URL is not
    this connection's webhook URL: left from an earlier connection, they reach no workspace."""
    from hub.runtime import get_runtime

    webhook_url = get_runtime().webhook_url(plugin, row.webhook_key) if row is not None else None
    return [w for w in registered if w.url and w.url != webhook_url]


def webhooks_to_register(workspace_id: int, plugin: str, row=None, state=None) -> bool:
    """Whether the integration's page offers "Register webhooks in <title>" (``webhook_registration``)."""
    return webhook_registration(workspace_id, plugin, row, state) is not None


def get_attachment(workspace_id: int, attachment_id: int) -> Attachment:
    """The workspace's attachment (``hub.store.attachments.get_attachment``): ``NotFound`` when it
    is missing, another workspace's or detached."""
    return attachment_store.get_attachment(workspace_id, attachment_id)


# --------------------------------------------------------------------------- activity


# event types about one of the hub's invitations (subject ``invitation:<id>``), not about an opportunity
INVITATION_SUBJECTS = frozenset(name for name, cls in EVENT_TYPES.items()
                                if "invitation_id" in cls.__dataclass_fields__
                                and "opportunity_id" not in cls.__dataclass_fields__)


def opportunity_or_event_id(text: str, workspace_id: int | None = None) -> str:
    """What Activity's search looks for in ``text``: the text itself, or for a page's address
    (``https://...``, as copied from the ATS's candidate page) the opportunity whose page it is:
    the one an invitation of ``workspace_id`` recorded with that ``profile_url`` (the address the
    source gave, whatever its shape; when invitations of several opportunities have it, none of
    them), else the last part of the address's path, which is the
    opportunity's id at Lever (``https://hire.lever.co/candidates/<id>``)."""
    text = text.strip()
    if not text.lower().startswith(("http://", "https://")):
        return text
    if workspace_id is not None:
        pages = {text, text.rstrip("/"), text.rstrip("/") + "/"}
        # the address of exactly one opportunity; one the source gave several (a shared page) names none
        known = db.session.scalars(opportunities_at_query(workspace_id, pages)).all()
        if len(known) == 1:
            return known[0]
    try:
        path = urlsplit(text).path
    except ValueError:  # a host urlsplit refuses ("http://[", half an IPv6 address): the path is still after it
        path = "/" + text.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0].partition("/")[2]
    parts = [part for part in path.split("/") if part]
    return unquote(parts[-1]) if parts else text


def opportunities_at_query(workspace_id: int, pages: Iterable[str]):
    """At most two of the opportunities whose invitations in the workspace recorded one of
    ``pages`` as the candidate's page (``profile_url``), read from ``ix_invitations_profile_url``."""
    # the workspace compared as an expression ("+ 0"), which no index serves: SQLite's planner,
    # without statistics, would otherwise take the unique index that starts with the workspace
    # and read all of the workspace's invitations instead of the few with this address
    return sa.select(Invitation.opportunity_id).distinct().where(
        Invitation.profile_url.in_(sorted(pages)), Invitation.workspace_id + 0 == workspace_id).limit(2)


def about_clause(workspace_id: int, about: str):
    """Events about ``about``, an opportunity id of the source or the id a sender gave an event:
    the events whose subject is that opportunity (stage changes, archives), the events about its
    invitations (the vendor's progress, results, verdicts: the candidate's whole path), and the
    event the sender sent under that id (as Lever's webhook history shows it)."""
    from hub.engine.backfill import SOURCE_NAME as backfill_source
    from hub.store.models import Integration

    invitations = [f"invitation:{i}" for i in db.session.scalars(sa.select(Invitation.id).where(
        Invitation.workspace_id == workspace_id, Invitation.opportunity_id == about))]
    # every source of the workspace's events: its integrations, and the hub itself (backfill)
    sources = sorted({*db.session.scalars(sa.select(Integration.plugin).where(Integration.workspace_id == workspace_id)),
                      backfill_source})
    def ids(*where):
        return sa.select(Event.id).where(Event.workspace_id == workspace_id, *where)

    # one SELECT per index (a union: SQLite's planner, without statistics, read an OR of them from
    # the workspace's every event)
    found = [ids(Event.subject == about)]
    if invitations:
        found.append(ids(Event.subject.in_(invitations), Event.type.in_(sorted(INVITATION_SUBJECTS))))
    # the sources named, so that the lookup uses uq_event_external (workspace, source, id)
    found.append(ids(Event.source_plugin.in_(sources), Event.external_id == about))
    return Event.id.in_(sa.union_all(*found))


def events_query(workspace_id: int, plugin: str | None = None, status: str | None = None,
                 event_id: int | None = None, about: str | None = None) -> sa.Select:
    """The workspace's events, newest first, with their deliveries; filtered by a plugin (its
    events and those delivered to it), a delivery status, the hub's event number (``event_id``,
    as log lines carry it) and ``about`` (``about_clause``)."""
    query = (sa.select(Event).where(Event.workspace_id == workspace_id)
             .options(selectinload(Event.deliveries)))
    if event_id is not None:  # one event, by the number its log lines carry (event_id)
        query = query.where(Event.id == event_id)
    if about:
        query = query.where(about_clause(workspace_id, about))
    if plugin:
        query = query.where(sa.or_(Event.source_plugin == plugin,
                                   Event.deliveries.any(Delivery.plugin == plugin)))
    if status:  # an IN, not EXISTS per event: one pass over ix_deliveries_workspace_status
        query = query.where(Event.id.in_(sa.select(Delivery.event_id).where(
            Delivery.workspace_id == workspace_id, Delivery.status == status)))
    return query.order_by(Event.id.desc())


def plugin_choices(workspace_id: int, installed: list[str], wanted: str) -> list[str]:
    """The plugins Activity's filter (and "Replay all") take: those ``installed``, and ``wanted`` if
    it is not but the workspace has events of it (a plugin uninstalled since)."""
    if wanted and wanted not in installed and len(wanted) <= MAX_FILTER_LENGTH \
            and plugin_has_events(workspace_id, wanted):
        return [*installed, wanted]
    return list(installed)


def plugin_has_events(workspace_id: int, plugin: str) -> bool:
    """Whether the workspace has an event from ``plugin`` or delivered to it (what Activity's plugin
    filter finds), e.g. of a plugin no longer installed."""
    query = sa.select(Event.id).where(Event.workspace_id == workspace_id, sa.or_(
        Event.source_plugin == plugin, Event.deliveries.any(Delivery.plugin == plugin))).limit(1)
    return db.session.scalar(query) is not None


def work_pending(workspace_id: int) -> bool:
    return bool(db.session.scalar(work_pending_query(workspace_id)))


def work_pending_query(workspace_id: int) -> sa.Select:
    """Whether the workspace has a delivery open (read on every Activity and Candidates refresh)."""
    return sa.select(sa.exists().where(Delivery.workspace_id == workspace_id, Delivery.status.in_(D_OPEN)))


def get_delivery(workspace_id: int, delivery_id: int) -> Delivery:
    row = db.session.get(Delivery, delivery_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such delivery")
    return row


def redact(value: Any) -> Any:
    """A copy of ``value`` with every key that names a secret masked (nested dicts and lists too)."""
    if isinstance(value, dict):
        return {k: ("[redacted]" if any(m in str(k).lower() for m in REDACT_MARKERS) else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


# --------------------------------------------------------------------------- users and audit


def users(workspace_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.workspace_id == workspace_id)
                                   .order_by(User.active.desc(), User.email)))


def get_user(workspace_id: int, user_id: int) -> User:
    row = db.session.get(User, user_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such user")
    return row


# Audit's "Who" for the entries no signed-in user made (the command line, the hub itself, a kit)
NO_USER = "none"


def audit_query(workspace_id: int, action: str | None = None, user: int | str | None = None) -> sa.Select:
    """The workspace's audit entries, newest first; those whose action starts with ``action``, and
    those made by ``user`` (a user's id; ``NO_USER``: by no signed-in user)."""
    query = sa.select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if user == NO_USER:
        query = query.where(AuditEntry.user_id.is_(None))
    elif user is not None:
        query = query.where(AuditEntry.user_id == user)
    return query.order_by(AuditEntry.id.desc())


def webhook_log(workspace_id: int, plugin: str, outcome: str | None = None) -> sa.Select:
    """A plugin's webhook log in a workspace, newest first; only ``outcome``'s lines if given (the
    integration page's Recent webhooks, and the API's)."""
    from hub.store.models import WebhookLog

    query = (sa.select(WebhookLog).where(WebhookLog.workspace_id == workspace_id, WebhookLog.plugin == plugin)
             .order_by(WebhookLog.id.desc()))
    return query.where(WebhookLog.outcome == outcome) if outcome else query


def retrying_deliveries(workspace_id: int) -> dict[str, dict]:
    """The Dashboard's and the integration page's "Retrying": plugin -> its deliveries failing and
    waiting to retry (not those deferring on purpose, whose last error starts with
    ``DEFERRED_PREFIX``): how many, and the latest one's error without its
    exception's name when it is the hub's or a plugin's error (``readable_error``: "Canditech is
    unreachable at ...")."""
    failing = sa.and_(Delivery.workspace_id == workspace_id, Delivery.status == D_RETRY, sa.or_(
        Delivery.last_error.is_(None), sa.not_(Delivery.last_error.startswith(DEFERRED_PREFIX, autoescape=True))))
    out = {}
    for plugin, count in db.session.execute(
            sa.select(Delivery.plugin, sa.func.count()).where(failing).group_by(Delivery.plugin)):
        error = db.session.scalar(sa.select(Delivery.last_error).where(failing, Delivery.plugin == plugin)
                                  .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(1))
        out[plugin] = {"count": count, "error": readable_error(error) or None}
    return out


def waiting_on_source(workspace_id: int, source_plugin: str) -> dict | None:
    """The source's integration page and Dashboard card: other plugins' deliveries retrying
    because their read of ``source_plugin`` failed (``hub.engine.runner.source_failed``) or was
    refused for its credentials (``source_needs_reauthorization``: they wait for its reconnection;
    the work is theirs, so ``retrying_deliveries`` counts it under them): how many, and what the
    source answered the latest one (without the hub's words around it). None when there are none."""
    prefixes = (f"TemporaryError: {source_failed(source_plugin)}: ",
                f"TemporaryError: {source_needs_reauthorization(source_plugin)}: ")
    waiting = sa.and_(Delivery.workspace_id == workspace_id, Delivery.status == D_RETRY,
                      Delivery.plugin != source_plugin,
                      sa.or_(*(Delivery.last_error.startswith(prefix, autoescape=True) for prefix in prefixes)))
    count = db.session.scalar(sa.select(sa.func.count()).where(waiting))
    if not count:
        return None
    latest = db.session.scalar(sa.select(Delivery.last_error).where(waiting)
                                .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(1))
    prefix = next((prefix for prefix in prefixes if latest.startswith(prefix)), "")
    return {"count": count, "error": latest[len(prefix):] or None}
