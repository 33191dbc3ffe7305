"""``/``: the dashboard. Integration health (with the deliveries failing and retrying), this week's
invitations by status, and what needs someone's attention (more than one ATS enabled, dead
deliveries, deliveries cancelled by a disable or revoke of a plugin enabled again, failed
invitations)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from hub import services
from hub.engine.runner import DEFERRED_PREFIX
from hub.entities import INVITATION_STATUSES
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_CANCELLED, D_DEAD, D_RETRY, Delivery, Event, Integration
from hub.web import queries
from hub.web.live import assessment_plugins, plugin_title
from hub.web.permissions import can, require
from hub.web.ui import bp
from hub.web.ui.empty_states import no_invitations
from hub.web.ui.integrations import FAILING_STATUSES
from hub.web.ui.labels import connection_label, connection_meaning

# a message longer than this is cut at its last sentence end within it, the rest a click away
EXCERPT_LIMIT = 200
SENTENCE_END = re.compile(r"[.!?](?=\s)")
# "TemporaryError: " before a vendor's message in a delivery's last_error: the card says the message
ERROR_CLASS = re.compile(r"^[A-Z]\w*(?:Error|Exception): ")


def excerpt(text: str | None, limit: int = EXCERPT_LIMIT) -> tuple[str, bool]:
    """``text`` as the dashboard first shows it, and whether that is not all of it: whole when it is
    at most ``limit`` characters, or has no sentence end within them (it wraps); else its sentences
    up to the last one that ends within ``limit``: never cut mid-sentence."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text, False
    ends = [match.end() for match in SENTENCE_END.finditer(text, 0, limit + 1)]
    if not ends:
        return text, False
    return text[:ends[-1]], True


def retrying(workspace_id: int) -> dict[str, dict]:
    """Plugin -> its deliveries failing and waiting to retry (not those deferring on purpose, whose
    last error starts with ``DEFERRED_PREFIX``): how many, and the latest one's error without its
    exception's name ("Canditech is unreachable at ...")."""
    failing = sa.and_(Delivery.workspace_id == workspace_id, Delivery.status == D_RETRY, sa.or_(
        Delivery.last_error.is_(None), sa.not_(Delivery.last_error.startswith(DEFERRED_PREFIX, autoescape=True))))
    out = {}
    for plugin, count in db.session.execute(
            sa.select(Delivery.plugin, sa.func.count()).where(failing).group_by(Delivery.plugin)):
        error = db.session.scalar(sa.select(Delivery.last_error).where(failing, Delivery.plugin == plugin)
                                  .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(1))
        out[plugin] = {"count": count, "error": ERROR_CLASS.sub("", error or "", count=1) or None}
    return out


def cancelled_by_disable(workspace_id: int) -> list[dict]:
    """The plugins enabled again that have deliveries cancelled while they were disabled or revoked
    (never delivered: what "Replay all cancelled" on Activity replays), with how many, by title."""
    ids = services.bulk_replay_query(workspace_id, D_CANCELLED).subquery()
    rows = db.session.execute(sa.select(Delivery.plugin, sa.func.count()).where(Delivery.id.in_(sa.select(ids.c.id)))
                              .group_by(Delivery.plugin))
    return sorted(({"plugin": plugin, "title": plugin_title(plugin), "count": count} for plugin, count in rows),
                  key=lambda item: item["title"].lower())


def extra_sources(workspace_id: int) -> dict | None:
    """When more than one installed source (ATS) is enabled in the workspace (a workspace upgraded
    from before ``services.set_enabled`` refused a second one keeps them): ``active``, the one the
    hub reads postings, stages and candidates from (``runtime.active_source``: the first set up),
    and ``others``, the rest in the order they were set up, each a plugin and its title. Else None."""
    enabled = get_runtime().enabled_sources(workspace_id)
    if len(enabled) < 2:
        return None
    active, *others = enabled
    return {"active": {"plugin": active, "title": plugin_title(active)},
            "others": [{"plugin": name, "title": plugin_title(name)} for name in others]}


def ever_connected(workspace_id: int) -> bool:
    """Whether the workspace ever received an event or made a delivery: so, with nothing connected
    now, the dashboard does not say that nothing ever was (after every integration was revoked)."""
    return bool(db.session.scalar(sa.select(sa.or_(
        sa.exists().where(Delivery.workspace_id == workspace_id),
        sa.exists().where(Event.workspace_id == workspace_id)))))


def integration_health(workspace_id: int) -> list[dict]:
    runtime = get_runtime()
    rows = {row.plugin: row for row in db.session.scalars(
        sa.select(Integration).where(Integration.workspace_id == workspace_id))}
    failing = retrying(workspace_id)
    health = []
    for name in runtime.registry.names():
        spec = runtime.registry.spec(name)
        row = rows.get(name)
        status = row.status if row else "not_connected"
        health.append({
            "plugin": name, "title": spec.title, "kind": spec.kind,
            "enabled": bool(row and row.enabled), "status": status,
            "status_message": row.status_message if row else None,
            "verified_at": row.verified_at if row else None,
            "last_webhook_at": row.last_webhook_at if row else None,
            "status_label": connection_label(status), "status_meaning": connection_meaning(status),
            "accepts_webhooks": runtime.registry.implements(name, "verify_webhook"),
            "retrying": failing.get(name),
        })
    return health


@bp.get("/")
@require("dashboard.view")
def dashboard():
    ws = current_user.workspace_id
    counts = queries.invitation_counts_since(current_user, 7)
    by_status = [(status, counts.get(status, 0)) for status in INVITATION_STATUSES]
    context = {
        "by_status": by_status,
        "total_week": sum(counts.values()),
        "health": integration_health(ws) if can("integrations.view") else None,
        "extra_sources": extra_sources(ws) if can("integrations.view") else None,
        "dead": None,
        "dead_count": 0,
        "failed_invitations": [],
        "failed_count": 0,
        "cancelled": [],
        "cancelled_count": 0,
        "excerpt": excerpt,
    }
    if can("activity.view"):
        dead_query = (sa.select(Delivery).join(Event, Event.id == Delivery.event_id)
                      .where(Delivery.workspace_id == ws, Delivery.status == D_DEAD))
        context["dead_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(dead_query.subquery()))
        context["dead"] = list(db.session.scalars(dead_query.order_by(Delivery.id.desc()).limit(5)))
        context["cancelled"] = cancelled_by_disable(ws)
        context["cancelled_count"] = sum(item["count"] for item in context["cancelled"])
    failed = queries.invitations_query(current_user, status="failed")
    context["failed_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(
        failed.order_by(None).subquery()))
    context["failed_invitations"] = list(db.session.scalars(failed.limit(5)))
    runtime = get_runtime()
    context["has_source"] = runtime.active_source(ws) is not None
    context["has_provider"] = bool(assessment_plugins(ws))
    # asked only when the card says that nothing is connected: "yet", or "now" after a revoke
    context["ever_connected"] = (context["dead"] is not None and not context["dead"] and not context["has_source"]
                                 and not context["has_provider"] and ever_connected(ws))
    context["idle"] = []
    context["stranded_attachments"] = 0
    if can("pipeline.view"):
        rows = queries.attachments(ws)
        # no ATS connected (disabled or revoked): no stage change reaches the hub, whatever the providers
        context["stranded_attachments"] = 0 if context["has_source"] else len(rows)
        idle = queries.idle_providers(ws, {row.provider for row in rows})
        context["idle"] = [{"plugin": plugin, "title": plugin_title(plugin), "why": why,
                            "attachments": sum(1 for row in rows if row.provider == plugin)}
                           for plugin, why in sorted(idle.items())]
    # an enabled connection whose last test or use failed, not already named as idle above (a
    # source in "Error" refuses every note and read, and nothing else on the page said so)
    named = {item["plugin"] for item in context["idle"]}
    context["failing"] = [item for item in (context["health"] or [])
                          if item["enabled"] and item["status"] in FAILING_STATUSES and item["plugin"] not in named]
    # only what the user may see: a Limited Team Member is not told of other postings' invitations
    context["has_invitations"] = queries.has_visible_invitations(current_user)
    context["why_empty"] = (None if context["total_week"] or context["has_invitations"]
                            else no_invitations(current_user, "no-invitations", "dashboard"))
    return render_template("dashboard.html", **context)
