"""``/``: the dashboard. Integration health (with the deliveries failing and retrying), this week's
invitations by status, and what needs someone's attention (more than one ATS enabled, no ATS
enabled or connected, a connection failing, webhooks to register, webhooks refused with their work
lost, dead deliveries, deliveries cancelled by a disable or revoke of a plugin enabled again,
failed invitations)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import render_template, url_for
from flask_login import current_user

from hub import services
from hub.entities import ASSESSMENT, INVITATION_STATUSES, SOURCE
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_CANCELLED, D_DEAD, Delivery, Event, Integration, utcnow
from hub.web import queries
from hub.web.live import assessment_plugins, connection_state, plugin_title
from hub.web.permissions import can, require
from hub.web.ui import bp
from hub.web.ui.empty_states import idle_sources, no_invitations
from hub.web.ui.form_messages import and_list
from hub.web.ui.integrations import FAILING_STATUSES
from hub.web.ui.labels import connection_label, connection_meaning

# a message longer than this is cut at its last sentence end within it, the rest a click away
EXCERPT_LIMIT = 200
SENTENCE_END = re.compile(r"[.!?](?=\s)")


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


def cancelled_by_disable(workspace_id: int) -> list[dict]:
    """The plugins enabled again that have deliveries cancelled while they were disabled or revoked
    (never delivered: what "Replay all cancelled" on Activity replays), with how many, by title,
    and ``blocked``: why a replay of them is refused now, with the step before it (the plugin
    cannot sign in: enabled again after a revoke, its credentials not entered again), else None."""
    ids = services.bulk_replay_query(workspace_id, D_CANCELLED).subquery()
    rows = list(db.session.execute(sa.select(Delivery.plugin, sa.func.count())
                                   .where(Delivery.id.in_(sa.select(ids.c.id))).group_by(Delivery.plugin)))
    runtime = get_runtime()
    return sorted(({"plugin": plugin, "title": plugin_title(plugin), "count": count,
                    "blocked": services.refused_replay(runtime, workspace_id, plugin)} for plugin, count in rows),
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


def missing_source(workspace_id: int) -> dict:
    """Why no ATS is enabled, in the words of the integrations' cards (``CONNECTION_STATES``), for
    "Needs attention": ``headline`` ("No ATS is enabled" while one is set up but disabled, else
    "No ATS is connected"), ``reason`` ("disabled", "revoked" or None when none was ever set up),
    ``clause`` naming them ("Lever (Connection: Connected) is disabled in the hub"), and where to
    act: ``url`` (the integration's page when one is named, else the Integrations list) and
    ``name`` (its title, or "one")."""
    disabled, revoked = idle_sources(workspace_id)
    named = disabled or revoked
    gap = {"headline": "No ATS is enabled" if disabled else "No ATS is connected",
           "reason": "disabled" if disabled else "revoked" if revoked else None, "clause": "",
           "plugins": [row.plugin for row in named],
           "url": url_for("ui.integrations_detail", plugin=named[0].plugin) if len(named) == 1
           else url_for("ui.integrations"),
           "name": plugin_title(named[0].plugin) if len(named) == 1 else "one"}
    titles = [f"{plugin_title(row.plugin)} (Connection: {connection_label(row.status)})" for row in disabled]
    if disabled:
        gap["clause"] = f"{and_list(titles)} {'is' if len(titles) == 1 else 'are'} disabled in the hub"
    elif revoked:
        titles = [plugin_title(row.plugin) for row in revoked]
        whose = f"{titles[0]}'s access was" if len(titles) == 1 else f"the access of {and_list(titles)} was"
        gap["clause"] = f"{whose} revoked (Connection: {connection_label('revoked')})"
    return gap


# what an integration's webhooks carry, by its kind: what "no webhook" and "refused" lose
NOTHING_ARRIVES = {SOURCE: "no stage change reaches the hub, so nobody is invited",
                   ASSESSMENT: "no candidate's progress or result reaches the hub"}


def webhooks_unregistered(health: list[dict], workspace_id: int) -> list[dict]:
    """The enabled, connected integrations whose webhooks the hub should register (their page
    offers "Register webhooks in <title>": ``queries.webhook_registration``), each with
    ``headline`` and ``consequence`` in words. Only "connected": before that, the page's next step
    is testing or fixing the connection (``FAILING_STATUSES`` are named as failing)."""
    out = []
    for item in health:
        if not item["enabled"] or item["status"] != "connected":
            continue
        state = connection_state(workspace_id, item["plugin"])
        why = queries.webhook_registration(workspace_id, item["plugin"], state=state)
        if why is None:
            continue
        title = item["title"]
        consequence = NOTHING_ARRIVES.get(item["kind"], "none of its events reaches the hub")
        if why == "stale":
            headline = f"{title}'s webhooks are registered for an older URL of this connection"
        elif why == "missing":
            headline = f"{title} has no webhook registered for {and_list(list(state.webhooks_missing))}"
            consequence = "those events do not reach the hub"
        else:
            headline = f"{title} has no webhooks registered"
        out.append({"plugin": item["plugin"], "title": title, "headline": headline, "consequence": consequence})
    return out


# "Needs attention" names the webhooks refused with their work lost (``queries.LOST_REFUSALS``) in
# this window: a day, so whoever opens the Dashboard daily sees each refusal once, and a fixed
# cause (an integration enabled again) stops being named the next day; every refusal stays in the
# integration's Recent webhooks until the sweeper's retention
REFUSED_WINDOW = timedelta(hours=24)
REFUSED_WINDOW_WORDS = "in the last 24 hours"


def _lost(kind: str, count: int) -> str:
    """What ``count`` refused webhooks of an integration of ``kind`` carried that is lost, as a sentence."""
    one = count == 1
    if kind == SOURCE:
        return ("The stage change it carried was not processed, so nobody was invited for it." if one
                else "The stage changes they carried were not processed, so nobody was invited for them.")
    if kind == ASSESSMENT:
        return ("The candidate's progress or result it carried was not recorded." if one
                else "The candidates' progress and results they carried were not recorded.")
    return "What it carried was not processed." if one else "What they carried was not processed."


def refused(workspace_id: int) -> list[dict]:
    """The integrations with webhooks refused within ``REFUSED_WINDOW`` with their work lost, by title:
    each ``total``, ``last_at``, ``reasons`` (each ``count``, ``why`` in words and, for a webhook
    not proven to come from the vendor, the latest ``message``), ``lost`` (what they carried) and
    ``url`` (the integration's Recent webhooks, its rejected ones)."""
    registry = get_runtime().registry
    out = []
    for plugin, item in queries.refused_webhooks(workspace_id, utcnow() - REFUSED_WINDOW).items():
        spec = registry.specs.get(plugin)
        if spec is None:  # uninstalled since: it has no page to link to, and receives nothing now
            continue
        title = registry.title(plugin)
        reasons = []
        for reason, found in item["reasons"].items():
            if reason == "disabled":
                reasons.append({"count": found["count"], "why": f"because {title} was disabled in the hub",
                                "message": None})
            else:
                pronoun = "it" if found["count"] == 1 else "they"
                reasons.append({"count": found["count"], "message": found["message"],
                                "why": f"because the hub could not verify that {pronoun} came from {title}"})
        out.append({"plugin": plugin, "title": title, "total": item["total"], "last_at": item["last_at"],
                    "reasons": reasons, "lost": _lost(spec.kind, item["total"]),
                    "url": url_for("ui.integrations_detail", plugin=plugin, outcome="rejected", _anchor="webhook-log-card")})
    return sorted(out, key=lambda entry: entry["title"].lower())


def integration_health(workspace_id: int) -> list[dict]:
    runtime = get_runtime()
    rows = {row.plugin: row for row in db.session.scalars(
        sa.select(Integration).where(Integration.workspace_id == workspace_id))}
    failing = queries.retrying_deliveries(workspace_id)
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
            "waiting_on_it": queries.waiting_on_source(workspace_id, name) if row and spec.kind == "source" else None,
        })
    return health


def paused_invitations(workspace_id: int, has_source: bool) -> list[str]:
    """For a user who cannot see the pipeline: why candidates entering an attached stage are not
    invited now, one sentence per cause (no ATS enabled; an attached assessment's provider disabled
    or disconnected), without naming postings or stages. Empty when nothing is attached."""
    rows = queries.attachments(workspace_id)
    if not rows:
        return []
    if not has_source:
        return ["No ATS is enabled in the hub now, so candidates moved into a stage with an assessment are not "
                "invited."]
    idle = queries.idle_providers(workspace_id, {row.provider for row in rows})
    return [f"{plugin_title(plugin)} {why}, so candidates moved into a stage with one of its assessments are not "
            "invited." for plugin, why in sorted(idle.items())]


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
        "cancelled_replayable": 0,
        "excerpt": excerpt,
    }
    if can("activity.view"):
        dead_query = (sa.select(Delivery).join(Event, Event.id == Delivery.event_id)
                      .where(Delivery.workspace_id == ws, Delivery.status == D_DEAD))
        context["dead_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(dead_query.subquery()))
        context["dead"] = list(db.session.scalars(dead_query.order_by(Delivery.id.desc()).limit(5)))
        context["cancelled"] = cancelled_by_disable(ws)
        context["cancelled_count"] = sum(item["count"] for item in context["cancelled"])
        # what its "Replay all cancelled" would replay now: not those whose plugin cannot sign in
        context["cancelled_replayable"] = sum(item["count"] for item in context["cancelled"] if not item["blocked"])
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
    context["missing_source"] = None
    if can("pipeline.view"):
        rows = queries.attachments(ws)
        # no ATS enabled (disabled, revoked or never set up): no stage change reaches the hub, whatever the providers
        context["stranded_attachments"] = 0 if context["has_source"] else len(rows)
        if context["stranded_attachments"]:
            context["missing_source"] = missing_source(ws)
        idle = queries.idle_providers(ws, {row.provider for row in rows})
        context["idle"] = [{"plugin": plugin, "title": plugin_title(plugin), "why": why,
                            "attachments": sum(1 for row in rows if row.provider == plugin)}
                           for plugin, why in sorted(idle.items())]
    # those who cannot see the pipeline (Team Members) are told too that invitations are paused,
    # and whom to ask: a recruiter moving candidates would otherwise think they were invited
    context["paused"] = None if can("pipeline.view") else paused_invitations(ws, context["has_source"])
    # an enabled connection whose last test or use failed, not already named as idle above (a
    # source in "Error" refuses every note and read, and nothing else on the page said so)
    named = {item["plugin"] for item in context["idle"]}
    context["failing"] = [item for item in (context["health"] or [])
                          if item["enabled"] and item["status"] in FAILING_STATUSES and item["plugin"] not in named]
    # an enabled, connected integration whose webhooks are not registered receives nothing
    context["unregistered"] = [item for item in webhooks_unregistered(context["health"] or [], ws)
                               if item["plugin"] not in named]
    # webhooks refused with their work lost: one item per integration; one already named above (no
    # ATS, failing, webhooks to register, idle) has it said in its own item instead of a second one
    context["refused"] = {item["plugin"]: item for item in refused(ws)} if can("integrations.view") else {}
    named |= {item["plugin"] for item in context["failing"] + context["unregistered"]}
    named |= set(context["missing_source"]["plugins"] if context["missing_source"] else ())
    context["refused_alone"] = [item for plugin, item in context["refused"].items() if plugin not in named]
    context["refused_window"] = REFUSED_WINDOW_WORDS
    # only what the user may see: a Limited Team Member is not told of other postings' invitations
    context["has_invitations"] = queries.has_visible_invitations(current_user)
    context["why_empty"] = (None if context["total_week"] or context["has_invitations"]
                            else no_invitations(current_user, "no-invitations", "dashboard"))
    return render_template("dashboard.html", **context)
