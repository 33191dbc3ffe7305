"""``/api/v1/integrations``: list, read and change settings, enable, disable, test, register
webhooks, revoke, and read the webhook log (every request its webhook URL received). Secrets are
write-only here as on the page: never returned, only when and by whom they were set. Each integration says whether it is the ATS the hub reads from
(``active_source``, ``HubRuntime.active_source``): a workspace kept from before the one-ATS rule
may have two enabled, and the hub reads from the first set up only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify
from flask_login import current_user

from hub import services
from hub.errors import HubError, NotFound, ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration, WebhookLog, utcnow
from hub.web import queries
from hub.web.api import bp
from hub.web.api.common import (
    NOT_AN_OBJECT, describe, json_object_body, live_error, load_body, older_than, query_args, takes_query,
)
from hub.web.live import LiveError, connection_state, run_setup_webhooks, run_test
from hub.web.permissions import require
from hub.web.schemas import (
    ActionResultSchema, EmptySchema, IntegrationSchema, WebhookLogEntrySchema, WebhookLogQuerySchema,
)
from hub.web.ui.integration_consequences import cancelled_since, missed_while_disabled
from hub.web.ui.integrations import disabled_message, enabled_message, revoked_message

# where an API client finds the webhook log the page shows below its messages
RECENT_WEBHOOKS = "GET /api/v1/integrations/{plugin}/webhooks"
# how an API client does what the pages' buttons do after an enable: invite an attachment's
# candidates already in its stage (Pipeline's "Invite candidates already in stage"), replay the
# deliveries a disable or revoke cancelled (Activity's "Replay all")
BACKFILL = "POST /api/v1/attachments/<id>/backfill"
REPLAY_CANCELLED = 'POST /api/v1/deliveries/replay {{"status": "cancelled", "plugin": "{plugin}"}}'
# the 409 of webhooks/setup for a plugin whose vendor registers no webhooks through its API
NO_WEBHOOK_SETUP = ("{title} cannot register webhooks through its API: enter the hub's webhook URL at {title} "
                    "yourself: it is the webhook_url of GET /api/v1/integrations/{plugin}.")


def _spec(plugin: str):
    runtime = get_runtime()
    if plugin not in runtime.registry.specs:
        raise NotFound(f"no plugin named {plugin!r} is installed")
    return runtime.registry.spec(plugin)


def integration_dict(plugin: str, row: Integration | None, active_source: str | None) -> dict:
    """``active_source``: the workspace's active source (``HubRuntime.active_source``), or None."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    meta = (row.secrets_meta or {}) if row else {}
    return {
        "plugin": plugin, "title": spec.title, "kind": spec.kind,
        "version": spec.version or runtime.registry.versions.get(plugin, ""), "description": spec.description,
        "enabled": bool(row and row.enabled), "active_source": plugin == active_source,
        "status": row.status if row else "not_connected",
        "status_message": row.status_message if row else None,
        "supports_oauth": spec.supports_oauth, "supports_webhook_setup": spec.supports_webhook_setup,
        "hooks": runtime.registry.hooks_of(plugin),
        "webhook_url": runtime.webhook_url(plugin, row.webhook_key) if row else None,
        "verified_at": row.verified_at if row else None, "last_webhook_at": row.last_webhook_at if row else None,
        "settings": dict(row.settings or {}) if row else {},
        "secrets": {name: {"set": name in meta, "set_at": (meta.get(name) or {}).get("set_at"),
                           "set_by": (meta.get(name) or {}).get("set_by")} for name in spec.secret_fields},
        "connection": _connection(plugin, row),
    }


def _connection(plugin: str, row: Integration | None) -> dict:
    state = connection_state(current_user.workspace_id, plugin, row)
    return {"credentials_present": bool(state.credentials_present), "credentials_help": state.credentials_help,
            "oauth_available": state.oauth_available, "oauth_chosen": state.oauth_chosen,
            "webhooks": [{"event": w.event, "label": w.label, "url": w.url, "token_stored": w.token_stored}
                         for w in state.webhooks],
            "webhooks_missing": list(state.webhooks_missing), "warnings": list(state.warnings)}


def _current(plugin: str) -> dict:
    runtime = get_runtime()
    workspace_id = current_user.workspace_id
    return integration_dict(plugin, runtime.integration(workspace_id, plugin), runtime.active_source(workspace_id))


@bp.get("/integrations")
@require("integrations.view")
def list_integrations():
    runtime = get_runtime()
    rows = {row.plugin: row for row in db.session.scalars(
        sa.select(Integration).where(Integration.workspace_id == current_user.workspace_id))}
    active = runtime.active_source(current_user.workspace_id)
    items = [integration_dict(name, rows.get(name), active) for name in runtime.registry.names()]
    return jsonify({"items": IntegrationSchema(many=True).dump(items)})


@bp.get("/integrations/<plugin>")
@require("integrations.view")
def get_integration(plugin: str):
    _spec(plugin)
    return jsonify(IntegrationSchema().dump(_current(plugin)))


@bp.put("/integrations/<plugin>")
@require("integrations.manage")
def put_settings(plugin: str):
    _spec(plugin)
    body = json_object_body(NOT_AN_OBJECT + " of settings")
    try:
        services.save_settings(get_runtime(), current_user.workspace_id, plugin, body, current_user)
    except ValidationFailed as exc:
        raise ValidationFailed(describe(exc.fields), exc.fields) from None
    return jsonify(IntegrationSchema().dump(_current(plugin)))


@bp.get("/integrations/<plugin>/webhooks")
@require("integrations.view")
@takes_query(WebhookLogQuerySchema)
def webhook_log(plugin: str):
    """The integration's webhook log, newest first: every request its webhook URL received (the
    page's "Recent webhooks", all of it the retention period keeps), optionally of one ``outcome``.
    404 for a plugin that receives no webhooks."""
    spec = _spec(plugin)
    args = query_args()
    if not get_runtime().registry.implements(plugin, "verify_webhook"):
        raise NotFound(f"{spec.title} receives no webhooks: it has no webhook log")
    log = queries.webhook_log(current_user.workspace_id, plugin, args.get("outcome"))
    page = queries.paginate(older_than(log, WebhookLog.id, args), args["page"], args["per_page"])
    return jsonify({"items": WebhookLogEntrySchema(many=True).dump(page.items), "page": page.page,
                    "per_page": page.per_page, "total": page.total, "pages": page.pages})


def _result(plugin: str, message: str, warnings: list[str] | None = None):
    return jsonify(ActionResultSchema().dump({"message": message, "warnings": warnings or [],
                                              "integration": _current(plugin)}))


@bp.post("/integrations/<plugin>/enable")
@require("integrations.manage")
def enable(plugin: str):
    """Enable; the answer says what the page says: whether it is connected yet, and in ``warnings``
    what was missed while it was disabled or revoked (``missed_while_disabled``)."""
    spec = _spec(plugin)
    load_body(EmptySchema)
    ws = current_user.workspace_id
    before = get_runtime().integration(ws, plugin)
    was_off = before is not None and not before.enabled and before.enabled_at is not None
    was_revoked = before is not None and before.status == "revoked"
    row = services.set_enabled(get_runtime(), ws, plugin, True, current_user)
    missed = (missed_while_disabled(ws, plugin, revoked=was_revoked, recent=RECENT_WEBHOOKS.format(plugin=plugin),
                                    backfill=BACKFILL, replay=REPLAY_CANCELLED.format(plugin=plugin))
              if was_off else None)
    return _result(plugin, enabled_message(spec, connection_state(ws, plugin, row)),
                   [missed.striptags()] if missed else [])


@bp.post("/integrations/<plugin>/disable")
@require("integrations.manage")
def disable(plugin: str):
    """Disable; the answer counts the pending deliveries it cancelled, as the page does."""
    spec = _spec(plugin)
    load_body(EmptySchema)
    started = utcnow()
    services.set_enabled(get_runtime(), current_user.workspace_id, plugin, False, current_user)
    return _result(plugin, disabled_message(spec, cancelled_since(current_user.workspace_id, plugin, started)))


@bp.post("/integrations/<plugin>/test")
@require("integrations.test")
def test(plugin: str):
    _spec(plugin)
    load_body(EmptySchema)
    try:
        message = run_test(current_user.workspace_id, plugin, current_user)
    except LiveError as exc:
        raise live_error(exc) from None
    return _result(plugin, message)


@bp.post("/integrations/<plugin>/webhooks/setup")
@require("integrations.manage")
def setup_webhooks(plugin: str):
    """Register the hub's webhooks at the vendor. A plugin that cannot is told apart before
    ``run_setup_webhooks`` would say so in the pages' words ("see the integration's page"): an
    API client reads the URL to enter at the vendor from the integration's ``webhook_url``."""
    spec = _spec(plugin)
    load_body(EmptySchema)
    if not spec.supports_webhook_setup:
        services.get_integration(get_runtime(), current_user.workspace_id, plugin)  # so that it has a webhook_url
        raise HubError(NO_WEBHOOK_SETUP.format(title=spec.title, plugin=plugin), status=409, code="not_available")
    try:
        message = run_setup_webhooks(current_user.workspace_id, plugin, current_user)
    except LiveError as exc:
        raise live_error(exc) from None
    return _result(plugin, message)


@bp.post("/integrations/<plugin>/revoke")
@require("integrations.manage")
def revoke(plugin: str):
    spec = _spec(plugin)
    load_body(EmptySchema)
    started = utcnow()
    warnings = services.revoke(get_runtime(), current_user.workspace_id, plugin, current_user)
    return _result(plugin, revoked_message(spec, cancelled_since(current_user.workspace_id, plugin, started)),
                   warnings)
