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
from flask import current_app, flash, get_flashed_messages, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from hub import services
from hub.services import credentials_how
from hub.entities import ASSESSMENT, SOURCE, SourceUser
from hub.errors import BadRequest, Conflict, NotFound, ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.setting_labels import field_label
from hub.store.models import ROLE_LABELS, ROLES, WEBHOOK_OUTCOMES, Attachment, Integration, utcnow
from hub.web.live import (LiveError, assessment_plugins, call_plugin, connection_state, mark_connection,
                          run_setup_webhooks, run_test, titled)
from hub.web import queries
from hub.web.errors import json_error
from hub.web.permissions import PERMISSIONS, can, require
from hub.web.ui import bp
from hub.web.ui.helpers import parse_iso, sentence
from hub.web.ui.list_filters import ListArgs, quoted_values
from hub.web.ui.integration_consequences import (cancelled_since, counted, disable_consequences,
                                                 missed_while_disabled, revoke_consequences, revoke_summary,
                                                 unused_credentials)
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


def enabled_message(spec, state) -> str:
    """What enabling said: enabled, or enabled but not connected yet and how to connect it."""
    if state.credentials_present:
        return f"{spec.title} is enabled."
    if state.oauth_available and state.oauth_chosen:  # connecting tests the connection itself
        return f"{spec.title} is enabled, but not connected yet: {credentials_how(spec, state)}."
    return f"{spec.title} is enabled, but not connected yet: {credentials_how(spec, state)}, then test the connection."


def _and_cancelled(cancelled: int) -> str:
    """", and its 2 pending deliveries were cancelled" (nothing for none): what a disable or a
    revoke did to the plugin's open work."""
    return (f", and its {counted(cancelled, 'pending delivery', 'pending deliveries')} "
            f"{'was' if cancelled == 1 else 'were'} cancelled") if cancelled else ""


def disabled_message(spec, cancelled: int) -> str:
    """What disabling did: no new work goes to it, and the pending deliveries it cancelled."""
    return f"{spec.title} is disabled: no new work goes to it{_and_cancelled(cancelled)}."


def revoked_message(spec, cancelled: int) -> str:
    """What revoking did, with the pending deliveries it cancelled."""
    return f"Access to {spec.title} is revoked{_and_cancelled(cancelled)}."


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
        return read_only_step(title, row, state)
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


def read_only_step(title: str, row: Integration | None, state) -> dict | None:
    """``next_step`` for someone who sees the page read-only (an Admin): the state, and who can
    change it (``who_can``), never what to fill in, save or enable. None when nothing is amiss."""
    holders = who_can("integrations.manage")
    who = holders[:1].upper() + holders[1:]
    enabled = bool(row and row.enabled)
    if row is not None and row.status == "revoked":
        return {"kind": "warning", "title": "Access revoked.",
                "text": f"The hub forgot {title}'s credentials. {who} can connect it again."}
    if not enabled and not state.credentials_present:
        return {"kind": "info", "title": "Not set up yet.",
                "text": f"{who} enables {title} and enters its credentials here."}
    if not state.credentials_present:
        return {"kind": "info", "title": "Not connected yet.",
                "text": f"{title} is enabled but has no credentials: {holders} can enter them."}
    if not enabled:
        return {"kind": "info", "title": "Disabled.",
                "text": f"{title} has credentials but is disabled: it receives and sends no work until "
                        f"{holders} enables it."}
    if row is not None and row.status in FAILING_STATUSES:
        return {"kind": "warning", "title": "Connection failing.",
                "text": f"The last test or use of the connection failed: {holders} can change its credentials "
                        "and settings."}
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


WEBHOOK_LOG_PAGE = 20  # lines of the webhook log per page of the integration's page


def _webhook_log(plugin: str, row: Integration | None) -> tuple[queries.Page | None, str, list]:
    """The integration's webhook log, newest first: the page (``page``) of lines with the outcome
    ``outcome`` (or all) the query asks for, read leniently as the list pages read theirs
    (``ListArgs``: a wrong value is replaced, with a notice). None before the integration exists."""
    args = ListArgs()
    outcome = args.choice("outcome", WEBHOOK_OUTCOMES, "outcome", "every outcome") if request.method == "GET" else ""
    number = args.page() if request.method == "GET" else 1
    if row is None:
        return None, outcome, args.notices
    query = queries.webhook_log(current_user.workspace_id, plugin, outcome)
    page = queries.paginate(query, number, WEBHOOK_LOG_PAGE, count_limit=queries.COUNT_LIMIT)
    return page, outcome, args.notices


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
    stale = queries.stale_webhooks(plugin, row, webhooks_registered)
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
    item = integration_summary(plugin, row)
    # settings saved, but the way of authenticating they choose has no credentials stored (OAuth
    # chosen and not connected yet, or an API key chosen and none entered): there is nothing to
    # test, and the page's next step says what to do (connect, or enter the key): the status
    # message only repeats it ("... changed since the connection was last tested: connect with
    # Lever"), or, stored when the plugin's answer could not be written (a save by someone else in
    # between), says "test the connection again". The badge keeps the stored state's one name, as
    # the Dashboard and the Integrations list show it.
    no_credentials = bool(row is not None and row.status == "configured" and not state.credentials_present)
    unused = unused_credentials(spec, row, state)
    step = next_step(spec, row, state, manage, needs_registration)
    if step is None and set_up(spec, row, state, needs_registration, accepts_webhooks):
        step = after_setup(spec, current_user.workspace_id, manage)
    webhook_log, log_outcome, log_notices = _webhook_log(plugin, row)
    # the flash of a test (or webhook registration) just run often says what the status says
    status_said = bool(row is not None and row.status_message and any(
        row.status_message.strip() in str(message) for _, message in get_flashed_messages(with_categories=True)))
    context = {
        "status_said": status_said,
        "status_moot": no_credentials,
        "item": item,
        "unused_credentials": unused,
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
        # a vendor down does not change the connection's status: its work retrying says so
        "retrying": queries.retrying_deliveries(current_user.workspace_id).get(plugin) if row is not None else None,
        # a source down holds up the other plugins' work that reads from it: this page says so too
        "waiting_on_it": (queries.waiting_on_source(current_user.workspace_id, plugin)
                          if row is not None and spec.kind == "source" else None),
        "webhook_log": webhook_log,
        "log_outcome": log_outcome,
        "log_outcomes": WEBHOOK_OUTCOMES,
        "retention_days": current_app.config["RETENTION_DAYS"],
        "notices": log_notices,
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
    flash(enabled_message(spec, state), "success" if state.credentials_present else "info")
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
    flash(disabled_message(spec, cancelled_since(current_user.workspace_id, plugin, started)), "info")
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
    # a parameter given twice (two codes, two states): which one the vendor meant cannot be told, and
    # none is taken silently; the state is spent, as after a mismatch
    twice = [name for name, values in request.args.lists() if len(values) > 1]
    if twice:
        raise BadRequest(f"This answer from {spec.title} gives {quoted_values(twice)} more than once, so the hub cannot tell which "
                         "is meant and connected nothing. Start again with “Connect” on the integration's page.")
    given = request.args.get("state") or ""
    if not expected:  # the back button, a reload, or another browser's answer: nothing to match
        raise BadRequest(f"This answer from {spec.title} does not match a connection you started here (state "
                         "mismatch): it was used already, or the connection was started in another browser or "
                         "tab. Nothing was changed. Start again with “Connect” on the integration's page.")
    if not secrets.compare_digest(str(expected), given):
        raise BadRequest(f"This answer from {spec.title} does not match a connection you started here "
                         "(state mismatch). Nothing was changed. Start again with “Connect” on the integration's "
                         "page.")
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args.get("error")
        flash(f"{spec.title} did not grant access: {reason}. Nothing was changed: to connect, start again and "
              "allow the access it asks for.", "error")
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
    started = utcnow()
    warnings = services.revoke(get_runtime(), current_user.workspace_id, plugin, current_user)
    for warning in warnings:
        flash(warning, "warning")
    flash(revoked_message(spec, cancelled_since(current_user.workspace_id, plugin, started)), "success")
    return redirect(url_for("ui.integrations_detail", plugin=plugin))
