"""What disabling, enabling again and revoking an integration do, said with this workspace's
counts: the confirmation pages' lists (``disable_consequences``, ``revoke_consequences``) and what
an integration missed while it was off (``missed_while_disabled``). Each sentence rests on what the
hub does: while disabled, its webhooks are refused (``hub.web.webhooks``: 404, logged as rejected),
no delivery is made for it, then or later (``hub.engine.ingest``), and its open deliveries are
cancelled (``services.set_enabled``)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from markupsafe import Markup

from hub import services
from hub.engine import backfill
from hub.entities import ASSESSMENT, OPEN_STATUSES, SOURCE
from hub.extensions import db
from hub.runtime import get_runtime
from hub.setting_labels import field_label
from hub.store.models import (D_CANCELLED, D_OPEN, D_RUNNING, LIMITED_TEAM_MEMBER, ROLE_LABELS, Attachment,
                              AuditEntry, Delivery, Invitation, User, WebhookLog, utcnow)
from hub.web import queries
from hub.web.ui.form_messages import NAMED_PEOPLE, some_named
from hub.web.ui.settings_form import build_fields


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


def unused_credentials(spec, row, state) -> dict[str, str]:
    """The stored credentials the plugin says the chosen way of authenticating does not use
    (``ConnectionState.unused_secrets``), kept unused (switching back uses them again; only
    revoking forgets them): their names -> the label a person reads, a settings field's label
    ("API key") while OAuth is chosen, "OAuth tokens" (the plugin's own secrets) while it is not."""
    if row is None or not spec.supports_oauth or state.oauth_chosen is None:
        return {}
    stored = set(row.secrets_meta or {})
    unused = [name for name in state.unused_secrets if name in stored]
    if state.oauth_chosen:
        views = build_fields(spec.settings_schema, spec.secret_fields, {}, {}) if spec.settings_schema else []
        labels = {view.attribute: view.label for view in views}
        return {name: labels.get(name, name) for name in unused}
    return {name: "OAuth tokens" for name in unused}


# the hooks through which a source (ATS) writes what the providers report back to the ATS
WRITE_BACK_HOOKS = ("on_invitation_status", "on_assessment_completed", "on_verdict")


def _count(query) -> int:
    return db.session.scalar(query) or 0


def counted(count: int, one: str, many: str | None = None) -> str:
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
    provider, and the first candidates' names for a sentence (``some_named``): "Ada Lovelace,
    Grace Hopper and 3 more" (a candidate whose name the hub erased counts among the "more")."""
    where = [Invitation.workspace_id == workspace_id, Invitation.status.in_(OPEN_STATUSES)]
    if provider is not None:
        where.append(Invitation.provider == provider)
    count = _count(sa.select(sa.func.count(Invitation.id)).where(*where))
    names = list(db.session.scalars(sa.select(Invitation.candidate_name).where(
        *where, Invitation.candidate_name.is_not(None), Invitation.candidate_name != "")
        .order_by(Invitation.id).limit(NAMED_PEOPLE)))
    return count, some_named(names, count)


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
        if get_runtime().active_source(workspace_id) is None:  # they invite nobody already: nothing "stops"
            return [Markup("{} on {} {} nobody now anyway (no ATS is enabled): {} {} changes nothing there.").format(
                counted(count, "attachment"), pipeline, "invites" if count == 1 else "invite",
                "revoking" if revoking else "disabling", title)]
        tail = (Markup("; then “Invite candidates already in stage” on {} invites them.").format(pipeline)
                if _backfill_offered(workspace_id) else ".")
        return [Markup("{} on {} {} inviting: candidates who enter {} meanwhile are not invited, not even after {}{}")
                .format(counted(count, "attachment"), pipeline, "stops" if count == 1 else "stop",
                        "its stage" if count == 1 else "their stages", until, tail)]
    if get_runtime().active_source(workspace_id) != plugin:
        return []
    count = live_attachments(workspace_id)
    if not count:
        return []
    text = Markup("{} on {} {} inviting: candidates who enter {} in {} meanwhile are not invited").format(
        counted(count, "attachment"), pipeline, "stops" if count == 1 else "stop",
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
        text = Markup("{} {} open ({})").format(counted(count, "invitation"), "is" if count == 1 else "are", names)
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
        counted(count, "invitation"), "is" if count == 1 else "are", names, "it" if count == 1 else "them",
        "from now on" if revoking else "while it is disabled", title,
        "you connect it again" if revoking else "you enable it again")]


def _delivery_lines(workspace_id: int, spec, plugin: str, until: str) -> list[Markup]:
    """The deliveries a disable or revoke cancels, and what to do about them."""
    pending, running = _open_deliveries(workspace_id, plugin)
    if not pending:
        return []
    one = pending == 1
    lines = [Markup("{} to {} {} cancelled. Replay {} on {} after {}.").format(
        counted(pending, "pending delivery", "pending deliveries"), spec.title, "is" if one else "are",
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
                                "on.").format(counted(limited, ROLE_LABELS[LIMITED_TEAM_MEMBER]),
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
    unused = list(dict.fromkeys(unused_credentials(spec, row, services.connection_state(workspace_id, plugin, row))
                                .values())) if row is not None and spec.supports_oauth else []
    if unused:  # kept as a fallback while the other way is chosen: forgotten too
        if unused == ["OAuth tokens"]:
            lines.append(Markup("The OAuth tokens are not in use (the API key is chosen under Authentication), and "
                                "they are forgotten too: to use OAuth after reconnecting, connect with {} again.")
                         .format(spec.title))
        else:
            lines.append(Markup("The {} {} not in use (OAuth is chosen under Authentication), and forgotten too: to "
                                "use {} after reconnecting, enter {} again.").format(
                " and ".join(unused), "is" if len(unused) == 1 else "are", "it" if len(unused) == 1 else "them",
                "it" if len(unused) == 1 else "them"))
    if row is not None and row.enabled:  # revoking disables: what stops while it is not enabled
        lines += _attachment_lines(workspace_id, spec, plugin, until, revoking=True)
    lines += _invitation_line(workspace_id, spec, plugin, revoking=True)
    lines += _delivery_lines(workspace_id, spec, plugin, until)
    lines.append(Markup("The integration is disabled and its webhook URL stops working at once; connecting again "
                        "gives a new URL."))
    lines.append(Markup("Settings, attachments and the history of invitations are kept."))
    return lines


def refused_while_disabled(workspace_id: int, plugin: str) -> tuple[int, bool]:
    """How many webhooks the hub refused because ``plugin`` was disabled (``queries.refused_while_disabled``)
    since it was last disabled or revoked (the audit log says when), and whether that count covers
    all that time: not when the webhook log's older lines are purged already (``RETENTION_DAYS``), nor
    when the audit log does not say when."""
    since = db.session.scalar(sa.select(sa.func.max(AuditEntry.at)).where(
        AuditEntry.workspace_id == workspace_id, AuditEntry.target == f"plugin:{plugin}",
        AuditEntry.action.in_(("integration.disable", "integration.revoke"))))
    if since is None:
        return 0, False
    count = _count(sa.select(sa.func.count(WebhookLog.id)).where(
        WebhookLog.workspace_id == workspace_id, WebhookLog.plugin == plugin, queries.refused_while_disabled(),
        WebhookLog.received_at >= since))
    return count, since >= utcnow() - timedelta(days=current_app.config["RETENTION_DAYS"])


def _refused_count(refused: int, whole: bool, what: str) -> str:
    """ "3 webhooks", or "3 webhooks (of the last 30 days: older lines are purged)"."""
    if whole:
        return counted(refused, what)
    return f"{counted(refused, what)} (of the last {current_app.config['RETENTION_DAYS']} days: older ones are not kept)"


def missed_while_disabled(workspace_id: int, plugin: str, revoked: bool = False,
                          recent: str = "Recent webhooks below", backfill: str | None = None,
                          replay: str | None = None) -> Markup | None:
    """What did not happen while ``plugin`` was disabled (or ``revoked``) and enabling it does not
    make up for, said once it is enabled again: its refused webhooks, the candidates who entered
    attached stages meanwhile and were not invited (the backfill invites them), the deliveries its
    disabling cancelled (replayed from Activity). None when there is nothing to say. ``recent``
    names where the webhook log is (the integration's page shows it below the message). For an
    API client, which has no page to go to, ``backfill`` names the request that invites an
    attachment's candidates already in its stage (``POST /api/v1/attachments/<id>/backfill``) and
    ``replay`` the one that replays the cancelled deliveries; left out, the pages' buttons are
    named: “Invite candidates already in stage” on Pipeline, and Activity."""
    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    title = spec.title
    parts: list[Markup] = []
    # a revoked connection's old URL refuses without a line in the log (its key is unknown now)
    refused, whole = (0, True) if revoked else refused_while_disabled(workspace_id, plugin)
    off = "revoked" if revoked else "disabled"
    pipeline = _pipeline_link()
    if spec.kind == SOURCE:
        if runtime.registry.implements(plugin, "verify_webhook") and not revoked:
            if refused:
                parts.append(Markup("{} {} sent while it was disabled {} refused (listed as rejected under {})."
                                    ).format(_refused_count(refused, whole, "webhook"), title,
                                             "was" if refused == 1 else "were", recent))
            elif whole:  # never "none arrived" from a log whose older lines are gone
                parts.append(Markup("No webhook from {} arrived while it was disabled.").format(title))
        attachments = live_attachments(workspace_id) if runtime.active_source(workspace_id) == plugin else 0
        if attachments:
            text = Markup("Candidates who entered {}{} meanwhile were not invited").format(
                _stages_of("the", attachments), Markup(" on {}").format(pipeline) if backfill is None else "")
            if not revoked:  # a revoked connection's webhooks are gone: nothing sent again reaches the hub
                text += Markup(", unless {} sends their stage change again").format(title)
            if not _backfill_offered(workspace_id, plugin):
                parts.append(text + ".")
            elif backfill is None:
                parts.append(text + Markup(": “Invite candidates already in stage” there invites them."))
            else:
                parts.append(text + Markup(": to invite them, use {} for each attachment.").format(backfill))
        if runtime.registry.implements(plugin, "verify_webhook") and not revoked:
            parts.append(Markup("{} shows whether its webhooks arrive again.").format(recent))
    else:
        attachments = live_attachments(workspace_id, plugin)
        if attachments:
            text = Markup("Candidates who entered {} while it was {} were not invited").format(
                _stages_of("its", attachments), off)
            if not _backfill_offered(workspace_id):
                parts.append(text + ".")
            elif backfill is None:
                parts.append(text + Markup(": to invite them, use “Invite candidates already in stage” on {}.").format(
                    pipeline))
            else:
                parts.append(text + Markup(": to invite them, use {} for each of its attachments.").format(backfill))
        if refused:
            parts.append(Markup("{} {} sent meanwhile {} refused (listed under {}); {} may send {} again.").format(
                _refused_count(refused, whole, "webhook"), title, "was" if refused == 1 else "were", recent, title,
                "it" if refused == 1 else "them"))
    cancelled = _count(sa.select(sa.func.count(Delivery.id)).where(
        Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status == D_CANCELLED,
        Delivery.last_error == services.CANCELLED_BY_DISABLE))
    if cancelled:
        where = Markup("on {}").format(_activity_link(plugin)) if replay is None else Markup("with {}").format(replay)
        # enabled again without its credentials (after a revoke): a replay now is refused, so the
        # step before it is said first
        unready = services.cannot_authenticate(runtime, workspace_id, plugin)
        first = Markup("{}, then replay").format(unready[1]) if unready else "replay"
        parts.append(Markup("{} to {} cancelled by a disable or revoke {} never sent: {} {} {}.").format(
            counted(cancelled, "delivery", "deliveries"), title, "was" if cancelled == 1 else "were", first,
            "it" if cancelled == 1 else "them", where))
    return Markup(" ").join(parts) if parts else None


def cancelled_since(workspace_id: int, plugin: str, started) -> int:
    """How many of the plugin's deliveries a disable or revoke cancelled since ``started``."""
    return _count(sa.select(sa.func.count(Delivery.id)).where(
        Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status == D_CANCELLED,
        Delivery.last_error == services.CANCELLED_BY_DISABLE, Delivery.finished_at >= started))
