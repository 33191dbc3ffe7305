"""Template filters and globals shared by every page: relative and exact times, status badges,
the permission check for hiding navigation, and small request helpers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for
from flask_login import current_user

from hub.links import web_link
from hub.store.models import ROLE_LABELS
from hub.web.errors import who_may
from hub.web.permissions import can, visibility_notice
from hub.web.schemas import MAX_FILTER_LENGTH
from hub.web.ui import bp

# status -> badge colour (the text is always shown too: colour is never the only signal)
BADGE_TONES = {
    # invitations
    "pending": "neutral", "invited": "info", "started": "info", "completed": "success",
    "expired": "warning", "cancelled": "neutral", "failed": "danger",
    # deliveries
    "running": "info", "retry": "warning", "done": "success", "dead": "danger",
    # integrations
    "connected": "success", "configured": "info", "enabled": "warning", "not_connected": "neutral",
    "needs_reauthorization": "danger", "error": "danger", "revoked": "neutral", "disabled": "neutral",
    # webhook log
    "accepted": "success", "duplicate": "neutral", "ping": "success", "ignored": "neutral", "rejected": "danger",
    # events
    "delivered": "success", "no_subscribers": "neutral", "no_change": "neutral",
    # verdicts and users
    "thumbs_up": "success", "thumbs_down": "danger", "active": "success", "inactive": "neutral",
}


def as_aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    seconds = (now - as_aware(value)).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    for limit, size, unit in ((3600, 60, "minute"), (86400, 3600, "hour"), (86400 * 30, 86400, "day"),
                              (86400 * 365, 86400 * 30, "month")):
        if seconds < limit:
            count = max(1, round(seconds / size))
            break
    else:
        count, unit = max(1, round(seconds / (86400 * 365))), "year"
    text = f"{count} {unit}{'s' if count != 1 else ''}"
    return f"in {text}" if future else f"{text} ago"


def exact_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return as_aware(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_time(value: datetime | None) -> str:
    return as_aware(value).isoformat() if value else ""


def parse_iso(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def badge_tone(status: str | None) -> str:
    return BADGE_TONES.get(status or "", "neutral")


def humanize(value: Any) -> str:
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def this_page_url(drop: tuple[str, ...] = ("fragment",), add: tuple[tuple[str, Any], ...] = ()) -> str:
    """The current page's path and query string without the ``drop`` parameters and with ``add``,
    kept relative. (Not ``url_for(endpoint, **request.args)``: a query parameter named ``_method``,
    ``_external``, ``_anchor`` or ``endpoint`` would steer ``url_for`` itself, or fail it.)"""
    kept = [(name, value) for name, value in request.args.items(multi=True) if name not in drop] + list(add)
    return request.path + ("?" + urlencode(kept) if kept else "")


def queried() -> bool:
    """The page was asked for with a query (filters applied, another page of a list, a posting
    chosen: a GET form sent, or a link to what one finds), not visited plainly. Its templates then
    mark what was asked for ``data-focus-result``, where ``static/hub.js`` puts the keyboard focus,
    instead of leaving it at the top of the page. The list fragment's own ``fragment`` is no query."""
    return any(name != "fragment" for name in request.args)


def page_url(page: int) -> str:
    """The current URL with ``page`` replaced, keeping the filters."""
    return this_page_url(drop=("fragment", "page"), add=(("page", page),))


@bp.app_template_filter("score")
def score_filter(value) -> str:
    """A score without a pointless ".0" (81.0 -> "81", 72.5 -> "72.5")."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else str(rounded)


@bp.app_template_filter("passed")
def passed_filter(invitation) -> bool | None:
    """Whether ``invitation``'s score reaches the pass threshold (a percent of the maximum) its
    attachment had when the result was recorded; None without a score, a maximum or a threshold."""
    threshold = invitation.pass_threshold
    if invitation.score is None or not invitation.max_score or threshold is None:
        return None
    return 100 * invitation.score / invitation.max_score >= float(threshold)


# a webhook log line of a request whose events were stored: "<event type>:<outcome>" per event
_STORED_EVENTS = re.compile(r"[a-z][a-z0-9_]*:[a-z_]+(, [a-z][a-z0-9_]*:[a-z_]+)*")


@bp.app_template_filter("webhook_message")
def webhook_message_filter(message: str | None) -> str:
    """A webhook log line's message as admins read it: the events a request carried, in words
    ("stage_change:accepted, archive_change:duplicate" as "Stage change accepted; Archive change
    already received"); any other message as recorded. The API answers it as recorded."""
    if not message or not _STORED_EVENTS.fullmatch(message):
        return message or ""
    words = {"accepted": "accepted", "duplicate": "already received", "no_change": "changed nothing",
             "unknown_invitation": "about no invitation of the hub"}
    parts = []
    for item in message.split(", "):
        kind, _, outcome = item.partition(":")
        parts.append(f"{humanize(kind)} {words.get(outcome, humanize(outcome).lower())}")
    return "; ".join(parts)


@bp.app_template_filter("readable_error")
def readable_error_filter(text: str | None) -> str | None:
    """A delivery's ``last_error`` as admins read it (``hub.errors.readable_error``)."""
    from hub.errors import readable_error

    return readable_error(text)


@bp.app_template_test("waiting_for_reconnection")
def waiting_for_reconnection_test(delivery) -> bool:
    """``{% if d is waiting_for_reconnection %}``: the delivery waits for its plugin's connection to
    be reconnected (``hub.engine.runner.is_waiting_for_reconnection``)."""
    from hub.engine.runner import is_waiting_for_reconnection

    return is_waiting_for_reconnection(delivery.status, delivery.last_error)


@bp.app_template_filter("plugin_title")
def plugin_title_filter(plugin: str) -> str:
    from hub.web.live import plugin_title

    return plugin_title(plugin)


@bp.app_template_filter("number")
def number_filter(value) -> str:
    """A number as typed, without a useless ".0" (70.0 -> "70", 72.55 -> "72.55"); other values as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def sentence(message) -> str:
    """A message as a full sentence: a capital first letter and a final full stop."""
    text = str(message or "").strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


@bp.app_template_filter("sentence")
def _sentence(value):
    return sentence(value)


# Timeline kinds a vendor reports (through its webhook or the source's), as opposed to what the
# hub itself does for a plugin (creating the invitation, sending it, writing back to the ATS).
REPORTED_KINDS = {"stage_change", "started", "completed", "expired", "verdict", "cancelled"}


def timeline_by(entry) -> str:
    """Who a timeline entry is from, in words: "reported by Lever", "by the hub (for Canditech)",
    "by the hub", or the person (an email) as recorded."""
    from hub.runtime import get_runtime

    source = entry.source or ""
    if source in ("hub", "source", ""):
        return "by the hub"
    specs = get_runtime().registry.specs
    spec = specs.get(source)
    if spec is None:  # a person (their email) or a command such as "hub demo"
        return f"by {source}"
    if entry.kind in REPORTED_KINDS:
        return f"reported by {spec.title}"
    return f"by the hub (for {spec.title})"


@bp.app_template_filter("reltime")
def _reltime(value):
    return relative_time(value)


@bp.app_template_filter("exact")
def _exact(value):
    return exact_time(value)


@bp.app_template_filter("iso")
def _iso(value):
    return iso_time(value)


@bp.app_template_filter("tone")
def _tone(value):
    return badge_tone(value)


@bp.app_template_filter("humanize")
def _humanize(value):
    return humanize(value)


@bp.app_template_filter("http_url")
def _http_url(value):
    """Only http(s) links from vendor data are rendered (never ``javascript:``)."""
    return web_link(str(value or ""))


@bp.app_template_filter("parse_iso")
def _parse_iso(value):
    return parse_iso(value)


@bp.record_once
def _template_globals(state):
    # globals (not context) so that macros imported without context can use them too
    state.app.add_template_global(can, "can")
    state.app.add_template_global(page_url, "page_url")
    state.app.add_template_global(queried, "queried")
    state.app.add_template_global(visibility_notice, "visibility_notice")
    state.app.add_template_global(timeline_by, "timeline_by")
    state.app.add_template_global(who_may, "who_may")  # whom to ask: the roles holding a permission, as a 403 names them
    state.app.add_template_global(MAX_FILTER_LENGTH, "max_filter_length")


@bp.app_context_processor
def _globals():
    return {
        "role_labels": ROLE_LABELS,
        "nav": _nav() if getattr(current_user, "is_authenticated", False) else [],
    }


NAV = (
    ("dashboard", "Dashboard", "ui.dashboard", "dashboard.view"),
    ("integrations", "Integrations", "ui.integrations", "integrations.view"),
    ("pipeline", "Pipeline", "ui.pipeline", "pipeline.view"),
    ("candidates", "Candidates", "ui.candidates", "candidates.view"),
    ("activity", "Activity", "ui.activity", "activity.view"),
    ("users", "Users", "ui.users", "users.view"),
    ("audit", "Audit log", "ui.audit", "audit.view"),
    ("api-tokens", "API tokens", "ui.api_tokens", "api_tokens.manage"),
)


def _nav() -> list[dict]:
    endpoint = request.endpoint or ""
    items = []
    for key, label, target, permission in NAV:
        if not can(permission):
            continue
        area = target.split(".", 1)[1].split("_")[0]
        current = endpoint == target or endpoint.startswith(f"ui.{area}")
        items.append({"id": f"nav-{key}", "label": label, "url": url_for(target), "current": current})
    return items


@bp.after_request
def _no_store(response):
    """Pages show workspace data (and, once, new tokens and passwords), and so do the JSON answers
    the pages' script reads (the ATS's users, names and emails, that a setting offers): never cache
    any of them. The assets (CSS, JavaScript, icon) set their own caching, which is kept."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response
