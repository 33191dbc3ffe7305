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
from flask import flash, get_flashed_messages, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from hub import services
from hub.engine import backfill
from hub.entities import ASSESSMENT, OPEN_STATUSES, SOURCE, SourceUser
from hub.errors import BadRequest, Conflict, NotFound, ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.setting_labels import field_label
from hub.store.models import (D_CANCELLED, D_OPEN, D_RUNNING, LIMITED_TEAM_MEMBER, ROLE_LABELS, ROLES, Attachment,
                              AuditEntry, Delivery, Integration, Invitation, User, WebhookLog, utcnow)
from hub.web.live import (LiveError, assessment_plugins, call_plugin, connection_state, mark_connection,
                          run_setup_webhooks, run_test, titled)
from hub.web import queries
from hub.web.errors import json_error
from hub.web.permissions import PERMISSIONS, can, require
from hub.web.webhooks import DISABLED_MESSAGE
from hub.web.ui import bp
from hub.web.ui.helpers import parse_iso, sentence
from hub.web.ui.form_messages import and_list, friendly_errors, in_sentence, refused_save
from hub.web.ui.labels import connection_label
from hub.web.ui.settings_form import (SUGGEST_SOURCE_USERS, build_fields, cleared_secrets, form_to_data,
                                     schema_errors, submitted_values, typed_secrets)

log = logging.getLogger("hub.web.ui.integrations")

# the last test or use of the connection failed: its credentials (or a setting) must be fixed
# before anything else that calls the vendor (registering webhooks) can work
FAILING_STATUSES = ("needs_reauthorization", "error")
# credentials stored and not refused by the vendor: a settings field may offer the ATS's users
SUGGESTING_STATUSES = ("configured", "connected", "error")


def _spec_or_404(plugin: str):
    runtime = get_runtime()
    if plugin not in runtime.registry.specs:
        raise NotFound(f"no plugin named {plugin!r} is installed")
    return runtime.registry.spec(plugin)


def _row(plugin: str) -> Integration | None:
    return get_runtime().integration(current_user.workspace_id, plugin)


def verification_help(spec) -> str:
    """How this plugin's connection becomes verified (the plugin's own words, or the hub's default)."""
    return spec.verification_help or f"The first signed webhook from {spec.title} verifies the connection."


def verification(row: Integration | None, spec) -> dict:
    """The "verified" state as the admin sees it: verified once the vendor's ping or first signed
    webhook is accepted."""
    if row is None or row.verified_at is None:
        return {"verified": False, "label": f"Not verified yet. {verification_help(spec)}",
                "verified_at": None, "last_webhook_at": row.last_webhook_at if row else None}
    return {"verified": True, "label": "Verified", "verified_at": row.verified_at,
            "last_webhook_at": row.last_webhook_at}


def connection_set_up(row: Integration | None) -> bool:
    """Whether the integration's connection is set up: it worked (connected, or connected and now
    failing), enabled or not. The Integrations list then offers "Manage", else "Set up" (nothing
    connected yet, or its access revoked: its credentials are forgotten)."""
    return row is not None and row.status in ("connected", "needs_reauthorization", "error")


def integration_summary(plugin: str, row: Integration | None) -> dict:
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    status = row.status if row else "not_connected"
    return {
        "plugin": plugin, "spec": spec, "row": row, "enabled": bool(row and row.enabled),
        "status": status, "status_label": connection_label(status), "set_up": connection_set_up(row),
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


def secret_source(meta: dict | None, plugin_title: str) -> str | None:
    """Who stored a secret, in words: a person, "hub demo", or the plugin itself (and for whom)."""
    meta = meta or {}
    who, via = meta.get("set_by"), meta.get("via")
    if who and str(who).startswith("plugin:"):
        return f"the {plugin_title} plugin"
    if who and via:
        return f"{who} (stored by the {plugin_title} plugin)"
    return who


def credentials_how(spec, state) -> str:
    """How to give the integration its credentials (the plugin's words, or the hub's default)."""
    if state.credentials_help:
        return state.credentials_help
    if state.oauth_available and state.oauth_chosen:
        return f"connect with {spec.title}"
    return "enter its credentials in the settings and save"


def credential_labels(spec) -> list[str]:
    """The labels of the secret settings the connection depends on (``metadata={"connection": True}``)
    in the plugin's schema order: ["API key"], ["API key", "API secret"]; empty when it marks none."""
    if spec.settings_schema is None:
        return []
    secret = set(spec.secret_fields)
    views = build_fields(spec.settings_schema, spec.secret_fields, {}, {})
    return [view.label for view in views
            if view.connection and (view.attribute in secret or view.name in secret)]


def fix_credentials(spec, row: Integration, state) -> str:
    """What to do when the last test or use failed (``FAILING_STATUSES``), in the plugin's words:
    its title, its credentials' labels and its ``credentials_help``."""
    title = spec.title
    how = credentials_how(spec, state)
    oauth = bool(state.oauth_chosen and state.oauth_available)
    # an OAuth connection's credentials are its grant, no setting; else the secrets it depends on
    labels = [] if state.oauth_chosen else [in_sentence(label) for label in credential_labels(spec)]
    if row.status == "needs_reauthorization":  # the vendor refused the credentials
        if oauth:
            return f"{how} again: {title} no longer accepts the hub's access."
        if labels:
            return (f"paste a valid {and_list(labels)} from {title} in the settings below, save, "
                    "then test the connection.")
        return f"{how}, then test the connection."
    what = f"the {and_list(labels)}" if labels else "the credentials"
    if row.status_message:
        return f"fix what the message above names ({what} or another setting), save, then test the connection again."
    return f"check {what} and the other settings, save, then test the connection again."


def next_step(spec, row: Integration | None, state, manage: bool, webhook_ready: bool) -> dict | None:
    """The one thing to do next on this page (``title``, ``text``, alert ``kind``; ``action``
    "test" when it is pressing Test connection), or None when nothing is left to do on it (once
    it is ``set_up``, ``after_setup`` says what comes next elsewhere). Only someone who can act
    (``integrations.manage``) gets instructions.

    A connection whose last test or use failed (``FAILING_STATUSES``) comes before its webhooks:
    registering them calls the vendor with the same credentials."""
    title = spec.title
    enabled = bool(row and row.enabled)
    revoked = row is not None and row.status == "revoked"
    if not manage:
        if revoked:
            return {"kind": "warning", "title": "Access revoked.",
                    "text": f"The hub forgot {title}'s credentials. A Super Admin can connect it again."}
        if not enabled or not state.credentials_present:
            return {"kind": "info", "title": "Not set up yet.",
                    "text": f"A Super Admin enables {title} and enters its credentials here."}
        return None
    if not state.credentials_present:
        how = credentials_how(spec, state)
        if revoked:
            first = "" if enabled else f"enable {title}, then "
            return {"kind": "warning", "title": "Access revoked.",
                    "text": f"The hub forgot {title}'s credentials, and the old webhook URL no longer works. "
                            f"To reconnect: {first}{how}."}
        if not enabled:
            then = "enter its credentials in the settings below" if row is None else how
            return {"kind": "info", "title": "First step:",
                    "text": f"enable {title} with the button above. Then {then}."}
        return {"kind": "info", "title": "Next step:", "text": f"{how}."}
    if not enabled:
        return {"kind": "info", "title": "Next step:",
                "text": f"{title} has credentials but is disabled: enable it to receive and send work."}
    if row.status in FAILING_STATUSES:
        return {"kind": "warning", "title": "Next step:", "text": fix_credentials(spec, row, state)}
    if row.status in ("not_connected", "enabled", "configured"):
        return {"kind": "info", "title": "Next step:", "text": "test the connection.", "action": "test"}
    if webhook_ready:
        return {"kind": "info", "title": "Next step:", "text": f"register the webhooks in {title}."}
    return None


# what an integration of each kind works with: an ATS's stages get the assessments of a provider
OTHER_KIND = {SOURCE: ASSESSMENT, ASSESSMENT: SOURCE}
KIND_WORDS = {SOURCE: "your ATS", ASSESSMENT: "an assessment provider"}


def set_up(spec, row: Integration | None, state, webhook_ready: bool, accepts_webhooks: bool) -> bool:
    """Everything this page asks of the integration is done: enabled, its last test or use worked,
    no webhook left to register, no warning about the connection, and for a source that receives
    webhooks, verified (its events reach the hub)."""
    if row is None or not row.enabled or not state.credentials_present or row.status != "connected":
        return False
    if webhook_ready or state.warnings:
        return False
    return not (spec.kind == SOURCE and accepts_webhooks and row.verified_at is None)


def _enabled_kinds(workspace_id: int) -> dict[str, bool]:
    """Whether the workspace has a source and an assessment provider to attach with, as Pipeline reads them."""
    return {SOURCE: get_runtime().active_source(workspace_id) is not None,
            ASSESSMENT: bool(assessment_plugins(workspace_id))}


def _installed_titles(kind: str) -> list[str]:
    """The titles of the installed plugins of ``kind`` that Pipeline can use (a provider lists its assessments)."""
    registry = get_runtime().registry
    return [registry.title(name) for name in registry.of_kind(kind)
            if kind != ASSESSMENT or registry.implements(name, "list_assessments")]


def who_can(permission: str) -> str:
    """The roles holding ``permission``, for a sentence: "a Super Admin or an Admin"."""
    labels = [ROLE_LABELS.get(role, role) for role in ROLES if role in PERMISSIONS[permission]]
    return " or ".join(f"{'an' if label[:1] in 'AEIOU' else 'a'} {label}" for label in labels)


def after_setup(spec, workspace_id: int, manage: bool) -> dict | None:
    """The next step once the integration is ``set_up``, leading out of this page: connecting the
    other side it works with (``OTHER_KIND``: an assessment provider for an ATS, an ATS for a
    provider) when none is enabled, else attaching an assessment to a posting's stage in Pipeline.
    None once an assessment is attached (nothing new to say), or when no plugin of the other kind
    is installed. ``link`` (``url``, ``label``) follows ``text``, then ``after``; the attach link
    only for someone who can manage the pipeline."""
    other = OTHER_KIND.get(spec.kind)
    if other is None:
        return None
    attached = db.session.scalar(sa.select(sa.exists().where(
        Attachment.workspace_id == workspace_id, Attachment.detached_at.is_(None))))
    if attached:
        return None
    enabled = _enabled_kinds(workspace_id)
    if not enabled[spec.kind]:  # this integration cannot take part in an attachment (e.g. lists no assessment)
        return None
    if not enabled[other]:
        titles = _installed_titles(other)
        if not titles:
            return None
        what = f"{KIND_WORDS[other]} ({', '.join(titles)})"
        text = f"connect {what} in " if manage else f"{who_can('integrations.manage')} can connect {what} in "
        return {"kind": "info", "title": "Next step:", "text": text,
                "link": {"url": url_for("ui.integrations"), "label": "Integrations"}, "after": "."}
    if not can("pipeline.manage"):
        return {"kind": "info", "title": "Next step:",
                "text": f"{who_can('pipeline.manage')} can attach an assessment to a posting's stage in Pipeline."}
    return {"kind": "info", "title": "Next step:", "text": "",
            "link": {"url": url_for("ui.pipeline_new"), "label": "attach an assessment to a posting's stage"},
            "after": " in Pipeline."}


def offers_users(row: Integration | None) -> bool:
    """Whether the integration may be asked for its users: enabled, with credentials the vendor has
    not refused (``SUGGESTING_STATUSES``)."""
    return row is not None and row.enabled and row.status in SUGGESTING_STATUSES


def offer_source_users(fields, plugin: str, row: Integration | None) -> None:
    """Point the fields that hold one of the ATS's user ids (``metadata["suggest"] ==
    "source_users"``) at the list of users to pick from (``integrations_suggestions``), which the
    page's script reads when the field is first used: the page itself never waits on the vendor.
    Only for someone who may change the settings, once the integration is enabled with credentials
    the vendor has not refused (``SUGGESTING_STATUSES``): saving this very field takes a connection
    back to "not tested yet", and a wrong user id makes the test fail, when the list is most needed."""
    if not can("integrations.manage") or not offers_users(row):
        return
    for f in fields:
        if f.suggest == SUGGEST_SOURCE_USERS:
            f.suggestions_url = url_for("ui.integrations_suggestions", plugin=plugin, field=f.name)


@bp.get("/integrations/<plugin>/suggestions/<field>")
@require("integrations.manage")
def integrations_suggestions(plugin: str, field: str):
    """The values to offer for a settings field marked ``suggest="source_users"``: the plugin's own
    ``source_list_users``, as JSON ``{"items": [{"value", "label"}]}`` sorted by label; 404 for a
    field without suggestions, 409 while the connection is not connected, 502 with a message when
    the vendor or the plugin fails (the page then says the id can still be typed)."""
    spec = _spec_or_404(plugin)
    row = _row(plugin)
    views = build_fields(spec.settings_schema, spec.secret_fields, {}, {})
    if not any(v.name == field and v.suggest == SUGGEST_SOURCE_USERS for v in views):
        return json_error(404, "not_found", f"{spec.title} has no setting {field!r} with values to pick from")
    if not offers_users(row):
        return json_error(409, "not_connected", f"{spec.title} has no credentials it accepts: save (and test) them "
                                                 "first, then its users can be listed")
    try:
        users = call_plugin(current_user.workspace_id, plugin, "source_list_users")
        if not isinstance(users, (list, tuple)):
            raise LiveError(f"{spec.title} failed: it returned {type(users).__name__}, not a list of users")
    except LiveError as exc:
        return json_error(exc.status, "vendor_error", exc.message)
    items = sorted(({"value": str(u.id), "label": f"{u.name} <{u.email}>" if u.email else str(u.name or u.id)}
                    for u in users if isinstance(u, SourceUser) and u.id), key=lambda item: item["label"].lower())
    return jsonify({"items": items})


def _render_detail(plugin: str, *, fields=None, errors=None, status: int = 200):
    runtime = get_runtime()
    spec = _spec_or_404(plugin)
    row = _row(plugin)
    if fields is None:
        fields = build_fields(spec.settings_schema, spec.secret_fields, row.settings if row else {},
                              row.secrets_meta if row else {})
    for f in fields:
        if f.secret and row is not None:
            meta = (row.secrets_meta or {}).get(f.attribute) or (row.secrets_meta or {}).get(f.name)
            f.secret_set_by = secret_source(meta, spec.title) if meta else f.secret_set_by
    state = connection_state(current_user.workspace_id, plugin, row)
    manage = can("integrations.manage")
    can_setup_webhooks = spec.supports_webhook_setup and runtime.registry.implements(plugin, "setup_webhooks")
    webhooks_registered = [w for w in state.webhooks]
    webhook_url = runtime.webhook_url(plugin, row.webhook_key) if row is not None else None
    stale = [w for w in webhooks_registered if w.url and w.url != webhook_url]
    needs_registration = queries.webhooks_to_register(current_user.workspace_id, plugin, row, state)
    # registering (or checking) webhooks calls the vendor with the credentials that just failed:
    # not offered until a test or a use works again
    failing = row is not None and row.status in FAILING_STATUSES
    oauth_ok = bool(state.oauth_available and state.oauth_chosen and row is not None and row.enabled)
    other_secrets = []
    if row is not None:
        field_names = {f.attribute for f in fields} | {f.name for f in fields}
        for name, meta in sorted((row.secrets_meta or {}).items()):
            if name not in field_names and isinstance(meta, dict):
                other_secrets.append({"name": name, "label": field_label(name, None), "set_at": parse_iso(meta.get("set_at")),
                                      "set_by": secret_source(meta, spec.title)})
    offer_source_users(fields, plugin, row)
    accepts_webhooks = runtime.registry.implements(plugin, "verify_webhook")
    step = next_step(spec, row, state, manage, needs_registration)
    if step is None and set_up(spec, row, state, needs_registration, accepts_webhooks):
        step = after_setup(spec, current_user.workspace_id, manage)
    webhook_log = []
    if row is not None:
        webhook_log = list(db.session.scalars(sa.select(WebhookLog).where(
            WebhookLog.workspace_id == current_user.workspace_id, WebhookLog.plugin == plugin)
            .order_by(WebhookLog.id.desc()).limit(20)))
    # the flash of a test (or webhook registration) just run often says what the status says
    status_said = bool(row is not None and row.status_message and any(
        row.status_message.strip() in str(message) for _, message in get_flashed_messages(with_categories=True)))
    context = {
        "status_said": status_said,
        "item": integration_summary(plugin, row),
        "spec": spec,
        "row": row,
        "fields": fields,
        "errors": errors or {},
        "webhook_url": webhook_url,
        "accepts_webhooks": accepts_webhooks,
        "can_test": runtime.registry.implements(plugin, "test_connection") and state.credentials_present,
        "state": state,
        "oauth_ok": oauth_ok,
        "can_setup_webhooks": can_setup_webhooks,
        "needs_registration": needs_registration,
        "connection_failing": failing,
        "webhooks_registered": webhooks_registered,
        "stale_webhooks": stale,
        "other_secrets": other_secrets,
        "revoked": row is not None and row.status == "revoked",
        "can_revoke": row is not None and (row.enabled or state.credentials_present or bool(row.secrets_meta)),
        "revoke_summary": revoke_summary(spec, plugin),
        "next_step": step,
        "verification": verification(row, spec),
        "webhook_log": webhook_log,
        "manage": manage,
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
    choices = {key: view.choices for view in views for key in (view.name, view.attribute) if view.choices}
    if errors:
        # refused before the schema ran (a required field left empty): what the schema says of the
        # other fields shows too, so every error is on the page at once
        stored = [name for name in spec.secret_fields if name in (row.secrets_meta or {})]
        errors = {**friendly_errors(schema_errors(spec.settings_schema, data, row.settings, stored), choices),
                  **errors}
    else:
        try:
            services.save_settings(get_runtime(), current_user.workspace_id, plugin, data, current_user,
                                   clear=cleared_secrets(views, request.form))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = friendly_errors(exc.fields or {"_schema": [exc.message]}, choices)
    if errors:
        retry = build_fields(spec.settings_schema, spec.secret_fields, row.settings, row.secrets_meta,
                             submitted=submitted_values(views, request.form))
        # secrets are never shown back: one typed in is gone, and the admin must know to paste it again
        flash(refused_save([in_sentence(label) for label in typed_secrets(views, request.form)]), "error")
        return _render_detail(plugin, fields=retry, errors=errors, status=422)
    flash(f"{spec.title} settings saved.", "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


def refused_while_disabled(workspace_id: int, plugin: str, title: str) -> int:
    """How many webhooks the hub refused because ``plugin`` was disabled (``DISABLED_MESSAGE`` in
    its webhook log) since it was last disabled or revoked (the audit log says when)."""
    since = db.session.scalar(sa.select(sa.func.max(AuditEntry.at)).where(
        AuditEntry.workspace_id == workspace_id, AuditEntry.target == f"plugin:{plugin}",
        AuditEntry.action.in_(("integration.disable", "integration.revoke"))))
    if since is None:
        return 0
    return _count(sa.select(sa.func.count(WebhookLog.id)).where(
        WebhookLog.workspace_id == workspace_id, WebhookLog.plugin == plugin, WebhookLog.outcome == "rejected",
        WebhookLog.message == DISABLED_MESSAGE.format(title=title), WebhookLog.received_at >= since))


def missed_while_disabled(workspace_id: int, plugin: str, revoked: bool = False) -> Markup | None:
    """What did not happen while ``plugin`` was disabled (or ``revoked``) and enabling it does not
    make up for, said once it is enabled again: its refused webhooks, the candidates who entered
    attached stages meanwhile and were not invited (the backfill invites them), the deliveries its
    disabling cancelled (replayed from Activity). None when there is nothing to say."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    title = spec.title
    parts: list[Markup] = []
    # a revoked connection's old URL refuses without a line in the log (its key is unknown now)
    refused = 0 if revoked else refused_while_disabled(workspace_id, plugin, title)
    off = "revoked" if revoked else "disabled"
    pipeline = _pipeline_link()
    if spec.kind == SOURCE:
        if runtime.registry.implements(plugin, "verify_webhook") and not revoked:
            parts.append(Markup("{} {} sent while it was disabled {} refused (listed as rejected under Recent webhooks "
                                "below).").format(_n(refused, "webhook"), title, "was" if refused == 1 else "were")
                         if refused else Markup("No webhook from {} arrived while it was disabled.").format(title))
        attachments = live_attachments(workspace_id) if runtime.active_source(workspace_id) == plugin else 0
        if attachments:
            text = Markup("Candidates who entered {} on {} meanwhile were not invited").format(
                _stages_of("the", attachments), pipeline)
            if not revoked:  # a revoked connection's webhooks are gone: nothing sent again reaches the hub
                text += Markup(", unless {} sends their stage change again").format(title)
            parts.append(text + (Markup(": “Invite candidates already in stage” there invites them.")
                                 if _backfill_offered(workspace_id, plugin) else "."))
        if runtime.registry.implements(plugin, "verify_webhook") and not revoked:
            parts.append(Markup("Recent webhooks below shows whether its webhooks arrive again."))
    else:
        attachments = live_attachments(workspace_id, plugin)
        if attachments:
            text = Markup("Candidates who entered {} while it was {} were not invited").format(
                _stages_of("its", attachments), off)
            parts.append(text + (Markup(": to invite them, use “Invite candidates already in stage” on {}.").format(
                pipeline) if _backfill_offered(workspace_id) else "."))
        if refused:
            parts.append(Markup("{} {} sent meanwhile {} refused (listed under Recent webhooks below); {} may send "
                                "{} again.").format(_n(refused, "webhook"), title, "was" if refused == 1 else "were",
                                                    title, "it" if refused == 1 else "them"))
    cancelled = _count(sa.select(sa.func.count(Delivery.id)).where(
        Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status == D_CANCELLED,
        Delivery.last_error == services.CANCELLED_BY_DISABLE))
    if cancelled:
        parts.append(Markup("{} to {} cancelled by a disable or revoke {} never sent: replay {} on {}.").format(
            _n(cancelled, "delivery", "deliveries"), title, "was" if cancelled == 1 else "were",
            "it" if cancelled == 1 else "them", _activity_link(plugin)))
    return Markup(" ").join(parts) if parts else None


@bp.post("/integrations/<plugin>/enable")
@require("integrations.manage")
def integrations_enable(plugin: str):
    spec = _spec_or_404(plugin)
    before = _row(plugin)
    # it had been enabled and is disabled (or revoked) now: what it missed meanwhile is said below
    was_off = before is not None and not before.enabled and before.enabled_at is not None
    was_revoked = before is not None and before.status == "revoked"
    try:
        row = services.set_enabled(get_runtime(), current_user.workspace_id, plugin, True, current_user)
    except Conflict as exc:  # another ATS is enabled
        flash(sentence(exc.message), "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    state = connection_state(current_user.workspace_id, plugin, row)
    if state.credentials_present:
        flash(f"{spec.title} is enabled.", "success")
    else:
        how = credentials_how(spec, state)
        flash(f"{spec.title} is enabled, but not connected yet: {how}, then test the connection.", "info")
    missed = missed_while_disabled(current_user.workspace_id, plugin, revoked=was_revoked) if was_off else None
    if missed:
        flash(missed, "warning")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.route("/integrations/<plugin>/disable", methods=["GET", "POST"])
@require("integrations.manage")
def integrations_disable(plugin: str):
    """GET: what disabling does now, with this workspace's counts, and the button that does it.
    POST: disable (``services.set_enabled``: its open deliveries are cancelled)."""
    spec = _spec_or_404(plugin)
    if request.method == "GET":
        row = _row(plugin)
        if row is None or not row.enabled:
            flash(f"{spec.title} is not enabled; there is nothing to disable.", "info")
            return redirect(url_for("ui.integrations_detail", plugin=plugin))
        return render_template("integrations/disable.html", spec=spec, plugin=plugin,
                               consequences=disable_consequences(current_user.workspace_id, plugin))
    started = utcnow()
    services.set_enabled(get_runtime(), current_user.workspace_id, plugin, False, current_user)
    # the deliveries this disable cancelled (``services.set_enabled``, and a worker finding it disabled)
    pending = _count(sa.select(sa.func.count(Delivery.id)).where(
        Delivery.workspace_id == current_user.workspace_id, Delivery.plugin == plugin,
        Delivery.status == D_CANCELLED, Delivery.last_error == services.CANCELLED_BY_DISABLE,
        Delivery.finished_at >= started))
    cancelled = (f", and its {_n(pending, 'pending delivery', 'pending deliveries')} "
                 f"{'was' if pending == 1 else 'were'} cancelled") if pending else ""
    flash(f"{spec.title} is disabled: no new work goes to it{cancelled}.", "info")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


@bp.post("/integrations/<plugin>/test")
@require("integrations.test")
def integrations_test(plugin: str):
    spec = _spec_or_404(plugin)
    try:
        flash(titled(spec.title, run_test(current_user.workspace_id, plugin, current_user)), "success")
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
        message = call_plugin(current_user.workspace_id, plugin, "oauth_complete", actor=current_user,
                              redirect_uri=_callback_url(plugin), params=request.args.to_dict(flat=True))
    except LiveError as exc:
        flash(f"Connecting {spec.title} failed. {exc.message}", "error")
        return redirect(url_for("ui.integrations_detail", plugin=plugin))
    mark_connection(current_user.workspace_id, plugin, before, True, "")
    services.audit(current_user.workspace_id, current_user, "integration.connect", f"plugin:{plugin}")
    db.session.commit()
    flash(str(message or f"{spec.title} is connected."), "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))


def revoke_summary(spec, plugin: str) -> str:
    """What revoking undoes at the vendor, true for this plugin: its own words (``revoke_help``),
    else the hub's default from whether it implements ``disconnect``."""
    if spec.revoke_help:
        return spec.revoke_help
    if get_runtime().registry.implements(plugin, "disconnect"):
        return (f"The hub asks the {spec.title} plugin to undo what it set up at {spec.title} (its disconnect step); "
                f"anything you configured at {spec.title} yourself stays: remove it there.")
    return (f"Nothing is undone at {spec.title}: the plugin has no disconnect step. Remove the hub's webhook URL "
            f"at {spec.title} yourself if you entered it there.")


# the hooks through which a source (ATS) writes what the providers report back to the ATS
WRITE_BACK_HOOKS = ("on_invitation_status", "on_assessment_completed", "on_verdict")
NAMED_CANDIDATES = 5  # how many open invitations a confirmation names


def _count(query) -> int:
    return db.session.scalar(query) or 0


def _n(count: int, one: str, many: str | None = None) -> str:
    """ "1 attachment", "2 attachments"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _stages_of(whose: str, attachments: int) -> str:
    """ "the stage of its attachment", "the stages of its 2 attachments"."""
    if attachments == 1:
        return f"the stage of {whose} attachment"
    return f"the stages of {whose} {attachments} attachments"


def live_attachments(workspace_id: int, provider: str | None = None) -> int:
    """How many attachments Pipeline lists (not detached): of ``provider``, or all of them."""
    query = sa.select(sa.func.count(Attachment.id)).where(Attachment.workspace_id == workspace_id,
                                                         Attachment.detached_at.is_(None))
    return _count(query if provider is None else query.where(Attachment.provider == provider))


def open_invitations(workspace_id: int, provider: str | None = None) -> tuple[int, str]:
    """How many invitations are open (pending, invited or started), of ``provider`` or of every
    provider, and the first ``NAMED_CANDIDATES`` candidates' names for a sentence: "Ada Lovelace,
    Grace Hopper and 3 more" (a candidate whose name the hub erased counts among the "more")."""
    where = [Invitation.workspace_id == workspace_id, Invitation.status.in_(OPEN_STATUSES)]
    if provider is not None:
        where.append(Invitation.provider == provider)
    count = _count(sa.select(sa.func.count(Invitation.id)).where(*where))
    names = list(db.session.scalars(sa.select(Invitation.candidate_name).where(
        *where, Invitation.candidate_name.is_not(None), Invitation.candidate_name != "")
        .order_by(Invitation.id).limit(NAMED_CANDIDATES)))
    more = count - len(names)
    return count, and_list(names + ([f"{more} more"] if more else [])) if names else ""


def _open_deliveries(workspace_id: int, plugin: str) -> tuple[int, int]:
    """The plugin's deliveries a disable or revoke cancels (pending, running or waiting for a
    retry), and how many of them are running right now."""
    where = (Delivery.workspace_id == workspace_id, Delivery.plugin == plugin)
    return (_count(sa.select(sa.func.count(Delivery.id)).where(*where, Delivery.status.in_(D_OPEN))),
            _count(sa.select(sa.func.count(Delivery.id)).where(*where, Delivery.status == D_RUNNING)))


def secret_labels(spec, names) -> list[str]:
    """The stored secrets ``names`` as people read them: a settings field's label (its schema
    order first), else the name in words ("webhook_tokens" -> "Webhook tokens", as the settings
    form words a field without a label)."""
    names = set(names)
    labels, seen = [], set()
    for view in build_fields(spec.settings_schema, spec.secret_fields, {}, {}):
        if view.secret and (view.attribute in names or view.name in names):
            labels.append(view.label)
            seen |= {view.attribute, view.name}
    return labels + [field_label(name, None) for name in sorted(names - seen)]


def _activity_link(plugin: str) -> Markup:
    return Markup('<a href="{}">Activity</a>').format(url_for("ui.activity", plugin=plugin, status=D_CANCELLED))


def _pipeline_link() -> Markup:
    return Markup('<a href="{}">Pipeline</a>').format(url_for("ui.pipeline"))


def _backfill_offered(workspace_id: int, source: str | None = None) -> bool:
    """Whether Pipeline offers "Invite candidates already in stage": now, or with ``source`` as
    the workspace's ATS (it lists a stage's candidates)."""
    runtime = get_runtime()
    if source is not None:
        return runtime.registry.implements(source, backfill.HOOK)
    return backfill.unavailable_reason(runtime, workspace_id) is None


def _attachment_lines(workspace_id: int, spec, plugin: str, until: str, revoking: bool = False) -> list[Markup]:
    """What stops while ``plugin`` is not enabled (disabled, or ``revoking`` until it is
    reconnected), for Pipeline's attachments: a provider's own, or for the ATS the hub reads
    from, all of them."""
    title = spec.title
    pipeline = _pipeline_link()
    if spec.kind == ASSESSMENT:
        count = live_attachments(workspace_id, plugin)
        if not count:
            return [Markup("No attachment on {} uses {}, so no candidate misses an invitation from it.").format(
                pipeline, title)]
        tail = (Markup("; then “Invite candidates already in stage” on {} invites them.").format(pipeline)
                if _backfill_offered(workspace_id) else ".")
        return [Markup("{} on {} {} inviting: candidates who enter {} meanwhile are not invited, not even after {}{}")
                .format(_n(count, "attachment"), pipeline, "stops" if count == 1 else "stop",
                        "its stage" if count == 1 else "their stages", until, tail)]
    if get_runtime().active_source(workspace_id) != plugin:
        return []
    count = live_attachments(workspace_id)
    if not count:
        return []
    text = Markup("{} on {} {} inviting: candidates who enter {} in {} meanwhile are not invited").format(
        _n(count, "attachment"), pipeline, "stops" if count == 1 else "stop",
        "its stage" if count == 1 else "their stages", title)
    if revoking:  # its webhooks are gone (or go to the old URL): nothing it sends again reaches the hub
        return [text + Markup(", not even after {}{}").format(until, Markup(
            "; then “Invite candidates already in stage” on {} invites them.").format(pipeline)
            if _backfill_offered(workspace_id, plugin) else ".")]
    tail = (Markup("; “Invite candidates already in stage” on {} invites the others then.").format(pipeline)
            if _backfill_offered(workspace_id, plugin) else ".")
    return [text + Markup(", unless {} sends their stage change again after {}{}").format(title, until, tail)]


def _invitation_line(workspace_id: int, spec, plugin: str, revoking: bool) -> list[Markup]:
    """What becomes of the open invitations: a provider's own (its webhooks about them refused),
    or for an ATS that writes results back, every provider's (nothing written back)."""
    runtime = get_runtime()
    title = spec.title
    if spec.kind == ASSESSMENT:
        count, names = open_invitations(workspace_id, plugin)
        if not count:
            return []
        text = Markup("{} {} open ({})").format(_n(count, "invitation"), "is" if count == 1 else "are", names)
        one = count == 1
        if runtime.registry.implements(plugin, "verify_webhook"):
            if revoking:
                text += Markup(": what {} sends about {} to the old webhook URL is refused from now on").format(
                    title, "it" if one else "them")
            else:
                text += Markup(": the progress and results {} sends about {} while it is disabled are refused, and "
                               "{} may send them again later").format(title, "it" if one else "them", title)
        if revoking:
            return [text + Markup(". {} can still be cancelled in the hub, but {} is not told: a candidate who has "
                                  "their link can still open it and take the test.").format(
                "It" if one else "They", title)]
        row = runtime.integration(workspace_id, plugin)
        if row is not None and row.status not in ("revoked", "not_connected"):  # services.provider_state: "disabled"
            text += Markup(". {} cannot be cancelled from the hub until you enable {} again").format(
                "It" if one else "They", title)
        return [text + "."]
    if not any(runtime.registry.implements(plugin, hook) for hook in WRITE_BACK_HOOKS):
        return []
    count, names = open_invitations(workspace_id)
    if not count:
        return []
    return [Markup("{} {} open ({}): what the assessment providers report about {} {} (progress, results, "
                   "verdicts) is shown in the hub but not written to {}, not even after {}.").format(
        _n(count, "invitation"), "is" if count == 1 else "are", names, "it" if count == 1 else "them",
        "from now on" if revoking else "while it is disabled", title,
        "you connect it again" if revoking else "you enable it again")]


def _delivery_lines(workspace_id: int, spec, plugin: str, until: str) -> list[Markup]:
    """The deliveries a disable or revoke cancels, and what to do about them."""
    pending, running = _open_deliveries(workspace_id, plugin)
    if not pending:
        return []
    one = pending == 1
    lines = [Markup("{} to {} {} cancelled. Replay {} on {} after {}.").format(
        _n(pending, "pending delivery", "pending deliveries"), spec.title, "is" if one else "are",
        "it" if one else "them", _activity_link(plugin), until)]
    if running:  # a run in flight stops at its next vendor call; what it already sent stays sent
        lines.append(Markup("{} of them {} running right now: what {} already sent to {} stays sent, and shows as "
                            "cancelled on Activity; replay it after {} to have it recorded.").format(
            running, "is" if running == 1 else "are", "it has" if running == 1 else "they have", spec.title, until))
    return lines


def disable_consequences(workspace_id: int, plugin: str) -> list[Markup]:
    """Exactly what disabling ``plugin`` does now, with this workspace's counts, for the
    confirmation page. While disabled: its webhooks are refused (``hub.web.webhooks``: 404, logged
    as rejected), no delivery is made for it (``hub.engine.ingest``: deliveries go to enabled
    plugins only, and none is made for it later), and its open deliveries are cancelled
    (``services.set_enabled``)."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    title = spec.title
    until = "you enable it again"
    lines: list[Markup] = []
    accepts = runtime.registry.implements(plugin, "verify_webhook")
    if spec.kind == SOURCE and accepts:
        lines.append(Markup("Webhooks {} sends while it is disabled (stage changes among them) are refused: the "
                            "hub answers 404 and lists them as rejected under Recent webhooks. {} may send them "
                            "again later.").format(title, title))
    lines += _attachment_lines(workspace_id, spec, plugin, until)
    lines += _invitation_line(workspace_id, spec, plugin, revoking=False)
    if spec.kind == SOURCE and runtime.active_source(workspace_id) == plugin:
        limited = _count(sa.select(sa.func.count(User.id)).where(
            User.workspace_id == workspace_id, User.role == LIMITED_TEAM_MEMBER, User.active.is_(True)))
        if limited:
            lines.append(Markup("{} {} no candidates meanwhile: the hub cannot read from {} which postings they are "
                                "on.").format(_n(limited, ROLE_LABELS[LIMITED_TEAM_MEMBER]),
                                              "sees" if limited == 1 else "see", title))
    lines += _delivery_lines(workspace_id, spec, plugin, until)
    kept = "settings, credentials and webhook URL" if accepts else "settings and credentials"
    lines.append(Markup("Nothing is deleted: its {} are kept, and so are attachments and invitations. “Enable {}” "
                        "turns it back on.").format(kept, title))
    return lines


def revoke_consequences(workspace_id: int, plugin: str) -> list[Markup]:
    """Exactly what revoking will do, for the confirmation page."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    row = runtime.integration(workspace_id, plugin)
    until = "you connect it again"
    labels = secret_labels(spec, (row.secrets_meta or {}).keys()) if row else []
    lines = [Markup("{}").format(revoke_summary(spec, plugin))]
    lines.append(Markup("Every stored credential is forgotten{}.").format(f": {', '.join(labels)}" if labels else ""))
    if row is not None and row.enabled:  # revoking disables: what stops while it is not enabled
        lines += _attachment_lines(workspace_id, spec, plugin, until, revoking=True)
    lines += _invitation_line(workspace_id, spec, plugin, revoking=True)
    lines += _delivery_lines(workspace_id, spec, plugin, until)
    lines.append(Markup("The integration is disabled and its webhook URL stops working at once; connecting again "
                        "gives a new URL."))
    lines.append(Markup("Settings, attachments and the history of invitations are kept."))
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
