"""``/integrations``: installed plugins, their generated settings forms, connecting (OAuth or API
key), webhook URL and registration, test and verify, and revoking access.

Everyone with ``integrations.view`` (Super Admin, Admin) sees these pages; only a Super Admin
(``integrations.manage``) changes anything. Vendor calls never produce a 500: failures are shown.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from hub import services
from hub.errors import BadRequest, NotFound, ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_OPEN, Delivery, Integration, WebhookLog
from hub.web.live import LiveError, call_plugin, mark_connection, run_setup_webhooks, run_test
from hub.web.permissions import can, require
from hub.web.ui import bp
from hub.web.ui.settings_form import build_fields, form_to_data, submitted_values

log = logging.getLogger("hub.web.ui.integrations")

STATUS_LABELS = {
    "not_connected": "Not connected",
    "enabled": "Enabled, not configured",
    "configured": "Configured",
    "connected": "Connected",
    "needs_reauthorization": "Needs reconnecting",
    "error": "Error",
    "revoked": "Access revoked",
}


def _spec_or_404(plugin: str):
    runtime = get_runtime()
    if plugin not in runtime.registry.specs:
        raise NotFound(f"no plugin named {plugin!r} is installed")
    return runtime.registry.spec(plugin)


def _row(plugin: str) -> Integration | None:
    return get_runtime().integration(current_user.workspace_id, plugin)


def verification(row: Integration | None, title: str) -> dict:
    """The "verify connection" state as the admin sees it."""
    if row is None or row.verified_at is None:
        return {"verified": False, "label": f"Not verified yet: in {title} use Verify connection",
                "verified_at": None, "last_webhook_at": row.last_webhook_at if row else None}
    return {"verified": True, "label": "Verified", "verified_at": row.verified_at,
            "last_webhook_at": row.last_webhook_at}


def integration_summary(plugin: str, row: Integration | None) -> dict:
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    status = row.status if row else "not_connected"
    return {
        "plugin": plugin, "spec": spec, "row": row, "enabled": bool(row and row.enabled),
        "status": status, "status_label": STATUS_LABELS.get(status, status.replace("_", " ").capitalize()),
        "hooks": runtime.registry.hooks_of(plugin), "version": spec.version or runtime.registry.versions.get(plugin, ""),
    }


@bp.get("/integrations")
@require("integrations.view")
def integrations():
    runtime = get_runtime()
    rows = {row.plugin: row for row in db.session.scalars(
        sa.select(Integration).where(Integration.workspace_id == current_user.workspace_id))}
    items = [integration_summary(name, rows.get(name)) for name in runtime.registry.names()]
    return render_template("integrations/list.html", items=items)


def _render_detail(plugin: str, *, fields=None, errors=None, status: int = 200):
    runtime = get_runtime()
    spec = _spec_or_404(plugin)
    row = _row(plugin)
    if fields is None:
        fields = build_fields(spec.settings_schema, spec.secret_fields, row.settings if row else {},
                              row.secrets_meta if row else {})
    webhook_log = []
    if row is not None:
        webhook_log = list(db.session.scalars(sa.select(WebhookLog).where(
            WebhookLog.workspace_id == current_user.workspace_id, WebhookLog.plugin == plugin)
            .order_by(WebhookLog.id.desc()).limit(20)))
    context = {
        "item": integration_summary(plugin, row),
        "spec": spec,
        "row": row,
        "fields": fields,
        "errors": errors or {},
        "webhook_url": runtime.webhook_url(plugin, row.webhook_key) if row is not None else None,
        "accepts_webhooks": runtime.registry.implements(plugin, "verify_webhook"),
        "can_test": runtime.registry.implements(plugin, "test_connection"),
        "can_oauth": spec.supports_oauth and runtime.registry.implements(plugin, "oauth_authorize_url"),
        "can_setup_webhooks": spec.supports_webhook_setup and runtime.registry.implements(plugin, "setup_webhooks"),
        "verification": verification(row, spec.title),
        "webhook_log": webhook_log,
        "manage": can("integrations.manage"),
    }
    return render_template("integrations/detail.html", **context), status


@bp.get("/integrations/<plugin>")
@require("integrations.view")
def integrations_detail(plugin: str):
    return _render_detail(plugin)


@bp.post("/integrations/<plugin>/settings")
@require("integrations.manage")
def integrations_settings(plugin: str):
    spec = _spec_or_404(plugin)
    if spec.settings_schema is None:
        raise BadRequest(f"{spec.title} has no settings")
    row = services.get_integration(get_runtime(), current_user.workspace_id, plugin)
    views = build_fields(spec.settings_schema, spec.secret_fields, row.settings, row.secrets_meta)
    data, errors = form_to_data(views, request.form)
    if not errors:
        try:
            services.save_settings(get_runtime(), current_user.workspace_id, plugin, data, current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_schema": [exc.message]}
    if errors:
        retry = build_fields(spec.settings_schema, spec.secret_fields, row.settings, row.secrets_meta,
                             submitted=submitted_values(views, request.form))
        flash("Some settings need your attention; nothing was saved.", "error")
        return _render_detail(plugin, fields=retry, errors=errors, status=422)
    flash(f"{spec.title} settings saved.", "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.post("/integrations/<plugin>/enable")
@require("integrations.manage")
def integrations_enable(plugin: str):
    spec = _spec_or_404(plugin)
    services.set_enabled(get_runtime(), current_user.workspace_id, plugin, True, current_user)
    flash(f"{spec.title} is enabled.", "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.post("/integrations/<plugin>/disable")
@require("integrations.manage")
def integrations_disable(plugin: str):
    spec = _spec_or_404(plugin)
    services.set_enabled(get_runtime(), current_user.workspace_id, plugin, False, current_user)
    flash(f"{spec.title} is disabled: no new work goes to it, and its pending deliveries were cancelled.", "info")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.post("/integrations/<plugin>/test")
@require("integrations.test")
def integrations_test(plugin: str):
    spec = _spec_or_404(plugin)
    try:
        flash(f"{spec.title}: {run_test(current_user.workspace_id, plugin, current_user)}", "success")
    except LiveError as exc:
        flash(f"Connection test failed. {exc.message}", "error")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.post("/integrations/<plugin>/webhooks")
@require("integrations.manage")
def integrations_webhooks(plugin: str):
    spec = _spec_or_404(plugin)
    try:
        flash(run_setup_webhooks(current_user.workspace_id, plugin, current_user), "success")
    except LiveError as exc:
        flash(f"Registering webhooks with {spec.title} failed. {exc.message}", "error")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


def _callback_url(plugin: str) -> str:
    return get_runtime().public_url() + url_for("ui.integrations_oauth_callback", plugin=plugin)


def _state_key(plugin: str) -> str:
    return f"oauth_state:{plugin}"


@bp.post("/integrations/<plugin>/oauth/start")
@require("integrations.manage")
def integrations_oauth_start(plugin: str):
    spec = _spec_or_404(plugin)
    if not spec.supports_oauth:
        raise BadRequest(f"{spec.title} does not connect with OAuth; enter its API key in the settings")
    services.get_integration(get_runtime(), current_user.workspace_id, plugin)
    state = secrets.token_urlsafe(32)
    session[_state_key(plugin)] = state
    try:
        url = call_plugin(current_user.workspace_id, plugin, "oauth_authorize_url",
                          redirect_uri=_callback_url(plugin), state=state)
    except LiveError as exc:
        flash(f"Could not start connecting to {spec.title}. {exc.message}", "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    if urlsplit(str(url)).scheme not in ("http", "https"):
        flash(f"{spec.title} returned an authorize URL that is not http(s).", "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    return redirect(str(url))


@bp.get("/integrations/<plugin>/oauth/callback")
@require("integrations.manage")
def integrations_oauth_callback(plugin: str):
    spec = _spec_or_404(plugin)
    expected = session.pop(_state_key(plugin), None)
    given = request.args.get("state") or ""
    if not expected or not secrets.compare_digest(str(expected), given):
        raise BadRequest(f"This answer from {spec.title} does not match a connection you started here "
                         "(state mismatch). Start again with “Connect” on the integration's page.")
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args.get("error")
        flash(f"{spec.title} did not grant access: {reason}", "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    row = services.get_integration(get_runtime(), current_user.workspace_id, plugin)
    before = row.status
    try:
        message = call_plugin(current_user.workspace_id, plugin, "oauth_complete",
                              redirect_uri=_callback_url(plugin), params=request.args.to_dict(flat=True))
    except LiveError as exc:
        flash(f"Connecting {spec.title} failed. {exc.message}", "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    mark_connection(current_user.workspace_id, plugin, before, True, "")
    services.audit(current_user.workspace_id, current_user, "integration.connect", f"plugin:{plugin}")
    db.session.commit()
    flash(str(message or f"{spec.title} is connected."), "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


def revoke_consequences(workspace_id: int, plugin: str) -> list[str]:
    """Exactly what revoking will do, for the confirmation page and the API."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    row = runtime.integration(workspace_id, plugin)
    pending = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(
        Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status.in_(D_OPEN))) or 0
    secrets_set = sorted((row.secrets_meta or {}).keys()) if row else []
    lines = []
    if runtime.registry.implements(plugin, "disconnect"):
        lines.append(f"The hub asks {spec.title} to delete the webhooks it registered there and to revoke its "
                     "tokens where the vendor allows it.")
    else:
        lines.append(f"{spec.title} cannot undo anything at the vendor: delete the hub's webhooks there yourself.")
    lines.append("Every stored credential is forgotten" + (f" ({', '.join(secrets_set)})." if secrets_set else "."))
    lines.append(f"{pending} pending deliver{'y' if pending == 1 else 'ies'} to {spec.title} "
                 f"{'is' if pending == 1 else 'are'} cancelled.")
    lines.append("The integration is disabled and its webhook URL stops working at once; connecting again gives "
                 "a new URL.")
    lines.append("Settings, attachments and the history of invitations are kept.")
    return lines


@bp.route("/integrations/<plugin>/revoke", methods=["GET", "POST"])
@require("integrations.manage")
def integrations_revoke(plugin: str):
    spec = _spec_or_404(plugin)
    row = _row(plugin)
    if row is None:
        flash(f"{spec.title} has never been set up here; there is nothing to revoke.", "info")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    if request.method == "GET":
        return render_template("integrations/revoke.html", spec=spec, plugin=plugin,
                               consequences=revoke_consequences(current_user.workspace_id, plugin))
    warnings = services.revoke(get_runtime(), current_user.workspace_id, plugin, current_user)
    for warning in warnings:
        flash(warning, "warning")
    flash(f"Access to {spec.title} is revoked.", "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))
