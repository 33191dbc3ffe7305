"""``/``: the dashboard. Integration health, this week's invitations by status, and the failures
that need someone's attention (dead deliveries, failed invitations)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from hub.entities import INVITATION_STATUSES
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_DEAD, Delivery, Event, Integration
from hub.web import queries
from hub.web.live import assessment_plugins, plugin_title
from hub.web.permissions import can, require
from hub.web.ui import bp
from hub.web.ui.empty_states import no_invitations

TOKEN_STATES = {
    "connected": ("Credentials accepted", "success"),
    "configured": ("Credentials saved, not tested yet", "info"),
    "enabled": ("No credentials yet", "warning"),
    "not_connected": ("Not connected", "neutral"),
    "needs_reauthorization": ("Needs reconnecting: the vendor refused the token", "danger"),
    "error": ("Error", "danger"),
    "revoked": ("Access revoked", "neutral"),
}


def integration_health(workspace_id: int) -> list[dict]:
    runtime = get_runtime()
    rows = {row.plugin: row for row in db.session.scalars(
        sa.select(Integration).where(Integration.workspace_id == workspace_id))}
    health = []
    for name in runtime.registry.names():
        spec = runtime.registry.spec(name)
        row = rows.get(name)
        status = row.status if row else "not_connected"
        token_label, token_tone = TOKEN_STATES.get(status, (status.replace("_", " ").capitalize(), "neutral"))
        health.append({
            "plugin": name, "title": spec.title, "kind": spec.kind,
            "enabled": bool(row and row.enabled), "status": status,
            "status_message": row.status_message if row else None,
            "verified_at": row.verified_at if row else None,
            "last_webhook_at": row.last_webhook_at if row else None,
            "token_label": token_label, "token_tone": token_tone,
            "accepts_webhooks": runtime.registry.implements(name, "verify_webhook"),
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
        "dead": None,
        "dead_count": 0,
        "failed_invitations": [],
        "failed_count": 0,
    }
    if can("activity.view"):
        dead_query = (sa.select(Delivery).join(Event, Event.id == Delivery.event_id)
                      .where(Delivery.workspace_id == ws, Delivery.status == D_DEAD))
        context["dead_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(dead_query.subquery()))
        context["dead"] = list(db.session.scalars(dead_query.order_by(Delivery.id.desc()).limit(5)))
    failed = queries.invitations_query(current_user, status="failed")
    context["failed_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(
        failed.order_by(None).subquery()))
    context["failed_invitations"] = list(db.session.scalars(failed.limit(5)))
    runtime = get_runtime()
    context["has_source"] = runtime.active_source(ws) is not None
    context["has_provider"] = bool(assessment_plugins(ws))
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
    # only what the user may see: a Limited Team Member is not told of other postings' invitations
    context["has_invitations"] = queries.has_visible_invitations(current_user)
    context["why_empty"] = (None if context["total_week"] or context["has_invitations"]
                            else no_invitations(current_user, "no-invitations", "dashboard"))
    return render_template("dashboard.html", **context)
